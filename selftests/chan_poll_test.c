// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * A channel fd in event loops: poll(2) readiness as documented (EPOLLIN
 * when a receive would not wait, closed included; EPOLLOUT when a send
 * would not wait; EPOLLHUP once closed), epoll woken by fast-path sends
 * from another process, edge-triggered epoll missing no edge (also after
 * a short non-blocking batch receive), and a
 * fast-path peer talking to a read(2)/write(2) peer on one channel.
 */
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gosync_test.h"
#include "chan_test.h"

static short revents(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

FIXTURE(ev) {
	struct gosync_chan *ch;
	int fd;
};

FIXTURE_SETUP(ev)
{
	int ret = gosync_chan_make(&self->ch, sizeof(uint64_t), 2, 0);

	self->ch = ret ? NULL : self->ch;
	if (ret == -ENODEV)
		SKIP(return, "gosync.ko not loaded");
	ASSERT_EQ(0, ret);
	self->fd = gosync_chan_fd(self->ch);
}

FIXTURE_TEARDOWN(ev)
{
	gosync_chan_free(self->ch);
}

TEST_F(ev, poll_readiness)
{
	uint64_t v = 1;

	EXPECT_EQ(POLLOUT, revents(self->fd));
	ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(POLLIN | POLLOUT, revents(self->fd));
	ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(POLLIN, revents(self->fd));
	ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	/* Closed: one element left, then drained; sends fail at once. */
	EXPECT_EQ(POLLIN | POLLOUT | POLLHUP, revents(self->fd));
	ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(POLLIN | POLLOUT | POLLHUP, revents(self->fd));
}

/* Unbuffered: writable only while a receiver waits; readable when a sender waits. */
TEST_F(ev, poll_unbuffered)
{
	struct gosync_chan *u;
	uint64_t v = 5;
	int fd, i;
	pid_t pid;

	ASSERT_EQ(0, gosync_chan_make(&u, sizeof(v), 0, 0));
	fd = gosync_chan_fd(u);
	EXPECT_EQ(0, revents(fd));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(gosync_chan_recv(u, &v, test_ms(20000)) == 1 ? 0 : 1);
	for (i = 0; i < 1000 && !(revents(fd) & POLLOUT); i++)
		test_sleep_ms(5);
	EXPECT_EQ(POLLOUT, revents(fd));
	ASSERT_EQ(0, gosync_chan_send(u, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(0, revents(fd));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(gosync_chan_send(u, &v, test_ms(20000)) ? 1 : 0);
	for (i = 0; i < 1000 && !(revents(fd) & POLLIN); i++)
		test_sleep_ms(5);
	EXPECT_EQ(POLLIN, revents(fd) & POLLIN);
	ASSERT_EQ(1, gosync_chan_recv(u, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, test_wait(pid));
	gosync_chan_free(u);
}

/* A blocking poll(2) is woken by a fast-path send in another process. */
TEST_F(ev, poll_woken_by_fast_path_send)
{
	struct pollfd p = { .fd = self->fd, .events = POLLIN };
	uint64_t v = 9;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		test_sleep_ms(100);
		_exit(gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK) ? 1 : 0);
	}
	EXPECT_EQ(1, poll(&p, 1, 20000));
	EXPECT_EQ(POLLIN, p.revents);
	EXPECT_EQ(0, test_wait(pid));
	/* And by close. */
	ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		test_sleep_ms(100);
		_exit(gosync_chan_close(self->ch) ? 1 : 0);
	}
	EXPECT_EQ(1, poll(&p, 1, 20000));
	EXPECT_EQ(POLLIN | POLLHUP, p.revents);
	EXPECT_EQ(0, test_wait(pid));
}

/*
 * Edge-triggered epoll with the consumer draining through the fast path:
 * every element another process sends through its fast path, at moments
 * of its choosing, must produce an edge.
 */
TEST_F_TIMEOUT(ev, epoll_et_misses_no_edge, 240)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLET };
	const int rounds = 300;
	int ep, got = 0, waits = 0;
	uint64_t v;
	pid_t pid;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &e));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (uint64_t i = 0; i < (uint64_t)rounds; i++) {
			/* Vary the timing: now, soon, later. */
			if (i % 3)
				usleep((i * 7919) % 3000);
			if (gosync_chan_send(self->ch, &i, test_ms(20000)))
				_exit(1);
		}
		_exit(0);
	}
	while (got < rounds) {
		int n = epoll_wait(ep, &e, 1, 20000);

		ASSERT_EQ(1, n) TH_LOG("no edge after %d elements", got);
		waits++;
		/* Drain until EAGAIN: only then may the next edge be expected. */
		while (gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK) == 1) {
			EXPECT_EQ((uint64_t)got, v);
			got++;
		}
	}
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_LE(1, waits);
	close(ep);
}

/*
 * A non-blocking batch receive that returns fewer than asked for has
 * drained the channel, as a short read(2) has drained a stream: an
 * edge-triggered poller may wait for the next edge right away.
 */
TEST_F(ev, epoll_et_short_batch_counts_as_drained)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLET };
	uint64_t v = 1, out[2];
	int ep;
	pid_t pid;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &e));
	ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	ASSERT_EQ(1, epoll_wait(ep, &e, 1, 5000));
	ASSERT_EQ(1, gosync_chan_recv_n(self->ch, out, 2, GOSYNC_NONBLOCK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		v = 2;
		usleep(50000);
		_exit(gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK) ? 1 : 0);
	}
	EXPECT_EQ(1, epoll_wait(ep, &e, 1, 5000)) TH_LOG("the edge was lost");
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(2, v);
	close(ep);
}

/*
 * A close that comes with the last elements makes one edge only
 * (EPOLLIN | EPOLLHUP): the batch that takes them is short, no edge
 * follows, and only the next call says closed (0).  So an edge-triggered
 * consumer calls until -EAGAIN or 0, as gosync_chan_recv_n(3) says; the
 * loop below is that consumer, against a producer in another process.
 */
TEST_F(ev, epoll_et_close_with_the_last_elements)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLET };
	struct gosync_chan *ch;
	uint64_t v, out[16];
	int ep, fd, ret, got = 0, edges = 0;
	pid_t pid;

	ASSERT_EQ(0, gosync_chan_make(&ch, sizeof(uint64_t), 4, 0));
	fd = gosync_chan_fd(ch);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e));
	for (v = 0; v < 4; v++)
		ASSERT_EQ(0, gosync_chan_send(ch, &v, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, gosync_chan_close(ch));
	ASSERT_EQ(1, epoll_wait(ep, &e, 1, 5000));
	EXPECT_EQ(EPOLLIN | EPOLLHUP, e.events & (EPOLLIN | EPOLLHUP));
	EXPECT_EQ(4, gosync_chan_recv_n(ch, out, 16, GOSYNC_NONBLOCK));
	/* short, yet no further edge comes: waiting for one hangs */
	EXPECT_EQ(0, epoll_wait(ep, &e, 1, 300));
	EXPECT_EQ(0, gosync_chan_recv_n(ch, out, 16, GOSYNC_NONBLOCK));
	gosync_chan_free(ch);

	/* The documented consumer, the producer in another process. */
	for (int round = 0; round < 20; round++) {
		ASSERT_EQ(0, gosync_chan_make(&ch, sizeof(uint64_t), 4, 0));
		fd = gosync_chan_fd(ch);
		e.events = EPOLLIN | EPOLLET;
		ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			for (v = 0; v < 10; v++)
				if (gosync_chan_send(ch, &v, test_ms(20000)))
					_exit(1);
			_exit(gosync_chan_close(ch) ? 1 : 0);
		}
		got = 0;
		for (;;) {
			ASSERT_EQ(1, epoll_wait(ep, &e, 1, 20000))
				TH_LOG("round %d: no edge after %d elements", round, got);
			edges++;
			while ((ret = gosync_chan_recv_n(ch, out, 16,
							 GOSYNC_NONBLOCK)) > 0)
				got += ret;
			if (ret == 0)
				break;
			ASSERT_EQ(-EAGAIN, ret);
		}
		EXPECT_EQ(10, got);
		EXPECT_EQ(0, test_wait(pid));
		ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL));
		gosync_chan_free(ch);
	}
	close(ep);
}

/* Level-triggered epoll on the send side: woken when room appears. */
TEST_F(ev, epoll_out_woken_by_fast_path_recv)
{
	struct epoll_event e = { .events = EPOLLOUT };
	uint64_t v = 1;
	int ep;
	pid_t pid;

	ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &e));
	EXPECT_EQ(0, epoll_wait(ep, &e, 1, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		test_sleep_ms(100);
		_exit(gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK) == 1 ? 0 : 1);
	}
	EXPECT_EQ(1, epoll_wait(ep, &e, 1, 20000));
	EXPECT_EQ(EPOLLOUT, e.events);
	EXPECT_EQ(0, test_wait(pid));
	close(ep);
}

/* A process with only read(2)/write(2) and one on the fast path. */
TEST_F_TIMEOUT(ev, fast_path_and_read_write_peers, 120)
{
	const uint64_t n = 2000;
	uint64_t v, buf[7];
	pid_t pid;

	/* write(2) in the child, library receives here. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (uint64_t i = 0; i < n; i++)
			if (write(self->fd, &i, sizeof(i)) != sizeof(i))
				_exit(1);
		_exit(0);
	}
	for (uint64_t i = 0; i < n; i++) {
		ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, test_ms(20000)));
		ASSERT_EQ(i, v);
	}
	EXPECT_EQ(0, test_wait(pid));

	/* Library sends here, read(2) in the child, in batches. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t want = 0;

		while (want < n) {
			ssize_t r = read(self->fd, buf, sizeof(buf));

			if (r <= 0 || r % sizeof(uint64_t))
				_exit(1);
			for (ssize_t k = 0; k < r / (ssize_t)sizeof(uint64_t); k++)
				if (buf[k] != want++)
					_exit(2);
		}
		/* Then the close, as end of file. */
		_exit(read(self->fd, buf, sizeof(buf)) == 0 ? 0 : 3);
	}
	for (uint64_t i = 0; i < n; i++)
		ASSERT_EQ(0, gosync_chan_send(self->ch, &i, test_ms(20000)));
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	EXPECT_EQ(0, test_wait(pid));
}

TEST_HARNESS_MAIN
