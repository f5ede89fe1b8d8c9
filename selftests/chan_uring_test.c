// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Channels through io_uring: sends and receives as IORING_OP_URING_CMD
 * completing at once or when the channel lets them (inline, queued,
 * unbuffered), their deadlines, close completing every queued command,
 * a submitter killed with commands queued (every command completes, the
 * module's references come back, so rmmod works), IORING_OP_POLL_ADD on
 * a channel fd, and one ring driving a thousand channels.  And the
 * submitter's own calls meeting its queued commands: a blocking send,
 * write(2) or select send on an unbuffered channel whose receiver is the
 * same thread's queued receive completes; signals and deadlines end a
 * wait while that thread's task work keeps coming; a non-blocking send
 * is not held by a queued receive whose submitter is stopped.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include <limits.h>

#include "kselftest_harness.h"
#include "chan_test.h"
#include "gosync_uring.h"

FIXTURE(ur) {
	struct io_uring ring;
	struct gosync_chan *ch;
	bool ring_ok;
};

FIXTURE_SETUP(ur)
{
	int ret = gosync_chan_make(&self->ch, sizeof(uint64_t), 2, 0);

	self->ring_ok = false;
	self->ch = ret ? NULL : self->ch;
	if (ret == -ENODEV)
		SKIP(return, "gosync.ko not loaded");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, io_uring_queue_init(64, &self->ring, 0));
	self->ring_ok = true;
}

FIXTURE_TEARDOWN(ur)
{
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	gosync_chan_free(self->ch);
}

static int submit(struct io_uring *ring, struct gosync_chan *ch, bool send,
		  void *elem, int64_t deadline, uint64_t tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int ret;

	if (!sqe)
		return -EBUSY;
	ret = send ? gosync_prep_send(sqe, ch, elem, deadline) :
		     gosync_prep_recv(sqe, ch, elem, deadline);
	if (ret)
		return ret;
	io_uring_sqe_set_data64(sqe, tag);
	return io_uring_submit(ring) == 1 ? 0 : -EIO;
}

/* Wait for one CQE (up to 10 s): its res, its tag in *tag. */
static int reap(struct io_uring *ring, uint64_t *tag)
{
	struct __kernel_timespec ts = { .tv_sec = 10 };
	struct io_uring_cqe *cqe;
	int ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);

	if (ret)
		return -1000 + ret;	/* no completion */
	ret = cqe->res;
	if (tag)
		*tag = io_uring_cqe_get_data64(cqe);
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* Is a CQE there within @ms? */
static bool cqe_within(struct io_uring *ring, long ms)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000,
					.tv_nsec = (ms % 1000) * 1000000 };
	struct io_uring_cqe *cqe;

	return io_uring_wait_cqe_timeout(ring, &cqe, &ts) == 0;
}

static long module_refs(void)
{
	FILE *f = fopen("/sys/module/gosync/refcnt", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/*
 * Run @fn(@arg) in a child and return its exit status, or 124 when it has
 * not finished within @ms (it is killed then): the calls under test never
 * returned at all before their fixes.
 */
static int run_bounded(int (*fn)(void *arg), void *arg, long ms)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	for (long waited = 0; waited < ms; waited += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		test_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return 124;
}

TEST_F(ur, complete_at_once)
{
	uint64_t v = 41, w = 0, tag;

	ASSERT_EQ(0, submit(&self->ring, self->ch, true, &v, GOSYNC_FOREVER, 1));
	EXPECT_EQ(1, reap(&self->ring, &tag));
	EXPECT_EQ(1, tag);
	ASSERT_EQ(0, submit(&self->ring, self->ch, false, &w, GOSYNC_FOREVER, 2));
	EXPECT_EQ(1, reap(&self->ring, &tag));
	EXPECT_EQ(41, w);
	/* Not waiting: EAGAIN, at once. */
	ASSERT_EQ(0, submit(&self->ring, self->ch, false, &w, GOSYNC_NONBLOCK, 3));
	EXPECT_EQ(-EAGAIN, reap(&self->ring, &tag));
	EXPECT_EQ(3, tag);
}

TEST_F(ur, queued_receive_completes_on_a_send)
{
	uint64_t v = 0, x = 77;

	ASSERT_EQ(0, submit(&self->ring, self->ch, false, &v, GOSYNC_FOREVER, 1));
	EXPECT_FALSE(cqe_within(&self->ring, 100));
	/* A fast-path send from another process. */
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(gosync_chan_send(self->ch, &x, GOSYNC_NONBLOCK) ? 1 : 0);
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(1, reap(&self->ring, NULL));
	EXPECT_EQ(77, v);
}

TEST_F(ur, queued_send_completes_when_room_appears)
{
	uint64_t v = 1, w;

	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	v = 3;
	ASSERT_EQ(0, submit(&self->ring, self->ch, true, &v, GOSYNC_FOREVER, 1));
	EXPECT_FALSE(cqe_within(&self->ring, 100));
	ASSERT_EQ(1, gosync_chan_recv(self->ch, &w, GOSYNC_NONBLOCK));
	EXPECT_EQ(1, reap(&self->ring, NULL));
	ASSERT_EQ(1, gosync_chan_recv(self->ch, &w, GOSYNC_NONBLOCK));
	ASSERT_EQ(1, gosync_chan_recv(self->ch, &w, GOSYNC_NONBLOCK));
	EXPECT_EQ(3, w);
}

TEST_F(ur, deadline)
{
	uint64_t v;
	int64_t start = gosync_now();

	ASSERT_EQ(0, submit(&self->ring, self->ch, false, &v, test_ms(50), 1));
	EXPECT_EQ(-ETIMEDOUT, reap(&self->ring, NULL));
	EXPECT_LE(start + 50000000, gosync_now());
}

/*
 * A ring a peer keeps busy for a moment (here: a tail one beyond a free
 * head slot, written over the shared words, which makes every receive
 * attempt -EBUSY) has a queued receive poll it every millisecond; once
 * the ring is quiet again its deadline still ends it.  The poll used to
 * take the deadline's timer for good: the receive waited on past its
 * deadline until an element or a close came.
 */
TEST_F(ur, deadline_holds_after_a_busy_ring)
{
	int fd = gosync_chan_fd(self->ch);
	struct gosync_chan_info info = { 0 };
	int64_t start, deadline;
	uint64_t *tail, v;
	char *m;

	ASSERT_EQ(0, ioctl(fd, GOSYNC_CHAN_IOC_INFO, &info));
	m = mmap(NULL, info.map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	tail = (uint64_t *)(m + info.off_tail);
	ASSERT_EQ(0, __atomic_load_n(tail, __ATOMIC_ACQUIRE));
	__atomic_store_n(tail, 1 << 1, __ATOMIC_RELEASE);	/* busy */

	start = gosync_now();
	deadline = start + 300000000;
	ASSERT_EQ(0, submit(&self->ring, self->ch, false, &v, deadline, 1));
	EXPECT_FALSE(cqe_within(&self->ring, 50));	/* polling, not done */
	__atomic_store_n(tail, 0, __ATOMIC_RELEASE);	/* quiet, empty */

	EXPECT_EQ(-ETIMEDOUT, reap(&self->ring, NULL));
	EXPECT_LE(deadline, gosync_now());
	/* Timer slack and TCG, not a lost deadline: that was 10 s. */
	EXPECT_GT(deadline + 3000000000LL, gosync_now());
	munmap(m, info.map_size);
}

TEST_F(ur, close_completes_queued_commands)
{
	struct gosync_chan *full;
	uint64_t v[4] = { 0 }, x = 9, tag;
	int res[4];

	ASSERT_EQ(0, gosync_chan_make(&full, sizeof(x), 1, 0));
	ASSERT_EQ(0, gosync_chan_send(full, &x, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, submit(&self->ring, self->ch, false, &v[0], GOSYNC_FOREVER, 0));
	ASSERT_EQ(0, submit(&self->ring, self->ch, false, &v[1], GOSYNC_FOREVER, 1));
	ASSERT_EQ(0, submit(&self->ring, full, true, &v[2], GOSYNC_FOREVER, 2));
	ASSERT_EQ(0, submit(&self->ring, full, true, &v[3], GOSYNC_FOREVER, 3));
	EXPECT_FALSE(cqe_within(&self->ring, 100));
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	ASSERT_EQ(0, gosync_chan_close(full));
	for (int i = 0; i < 4; i++) {
		int r = reap(&self->ring, &tag);

		ASSERT_GT(4, tag);
		res[tag] = r;
	}
	EXPECT_EQ(0, res[0]);
	EXPECT_EQ(0, res[1]);
	EXPECT_EQ(-EPIPE, res[2]);
	EXPECT_EQ(-EPIPE, res[3]);
	/* The element sent before close is still received. */
	EXPECT_EQ(1, gosync_chan_recv(full, &x, GOSYNC_NONBLOCK));
	gosync_chan_free(full);
}

/* An unbuffered send completes once a receiver took it, else withdraws. */
TEST_F(ur, unbuffered_send)
{
	struct gosync_chan *u;
	uint64_t v = 5, got = 0;
	pid_t pid;

	ASSERT_EQ(0, gosync_chan_make(&u, sizeof(v), 0, 0));
	ASSERT_EQ(0, submit(&self->ring, u, true, &v, test_ms(50), 1));
	EXPECT_EQ(-ETIMEDOUT, reap(&self->ring, NULL));
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(u, &got, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, submit(&self->ring, u, true, &v, GOSYNC_NONBLOCK, 2));
	EXPECT_EQ(-EAGAIN, reap(&self->ring, NULL));

	ASSERT_EQ(0, submit(&self->ring, u, true, &v, GOSYNC_FOREVER, 3));
	EXPECT_FALSE(cqe_within(&self->ring, 100));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(gosync_chan_recv(u, &got, test_ms(10000)) == 1 && got == 5 ?
		      0 : 1);
	EXPECT_EQ(1, reap(&self->ring, NULL));
	EXPECT_EQ(0, test_wait(pid));
	gosync_chan_free(u);
}

TEST_F(ur, bad_commands)
{
	struct io_uring_sqe *sqe;
	uint64_t v;

	/* Unknown command. */
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_EQ(0, gosync_prep_recv(sqe, self->ch, &v, GOSYNC_FOREVER));
	sqe->cmd_op = 0x1234;
	io_uring_submit(&self->ring);
	EXPECT_EQ(-EINVAL, reap(&self->ring, NULL));
	/* Bad deadline. */
	ASSERT_EQ(0, submit(&self->ring, self->ch, false, &v, -5, 1));
	EXPECT_EQ(-EINVAL, reap(&self->ring, NULL));
	/* Bad element: nothing sent, nothing taken. */
	v = 8;
	ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, submit(&self->ring, self->ch, false, (void *)8,
			    GOSYNC_FOREVER, 2));
	EXPECT_EQ(-EFAULT, reap(&self->ring, NULL));
	ASSERT_EQ(0, submit(&self->ring, self->ch, true, (void *)8,
			    GOSYNC_FOREVER, 3));
	EXPECT_EQ(-EFAULT, reap(&self->ring, NULL));
	EXPECT_EQ(1, gosync_chan_len(self->ch));
	/* Standalone channels have no kernel behind them. */
	struct gosync_chan *sa;

	ASSERT_EQ(0, gosync_chan_make(&sa, 8, 1, GOSYNC_STANDALONE));
	sqe = io_uring_get_sqe(&self->ring);
	EXPECT_EQ(-EOPNOTSUPP, gosync_prep_send(sqe, sa, &v, GOSYNC_FOREVER));
	io_uring_prep_nop(sqe);
	io_uring_submit(&self->ring);
	reap(&self->ring, NULL);
	gosync_chan_free(sa);
}


/*
 * A submitter killed with commands queued: the module completes them
 * itself, and every reference they held comes back (rmmod would work).
 */
TEST_F_TIMEOUT(ur, submitter_killed_with_commands_queued, 60)
{
	long before = module_refs();
	int sync[2];
	pid_t pid;
	char c;

	ASSERT_LT(0, before);
	ASSERT_EQ(0, pipe(sync));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct io_uring ring;
		struct gosync_chan *u;
		static uint64_t v[16];

		if (io_uring_queue_init(64, &ring, 0))
			_exit(1);
		if (gosync_chan_make(&u, 8, 0, 0))
			_exit(2);
		for (int i = 0; i < 8; i++)
			if (submit(&ring, self->ch, false, &v[i], GOSYNC_FOREVER, i))
				_exit(3);
		for (int i = 8; i < 16; i++)
			if (submit(&ring, u, true, &v[i], GOSYNC_FOREVER, i))
				_exit(4);
		if (write(sync[1], "q", 1) != 1)
			_exit(5);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(sync[0], &c, 1));
	EXPECT_LT(before, module_refs());
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, test_wait(pid));
	/* The reaper notices within its period; io_uring then lets go. */
	for (int i = 0; i < 200 && module_refs() != before; i++)
		test_sleep_ms(50);
	EXPECT_EQ(before, module_refs());
	/* And the channel works on. */
	uint64_t v = 6;

	EXPECT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(6, v);
	close(sync[0]);
	close(sync[1]);
}

/* A queued receive is a blocked receiver: an unbuffered send meets it. */
TEST_F(ur, queued_receive_is_a_waiting_receiver)
{
	struct gosync_chan *u;
	uint64_t got = 0, v = 12;

	ASSERT_EQ(0, gosync_chan_make(&u, sizeof(v), 0, 0));
	ASSERT_EQ(0, submit(&self->ring, u, false, &got, GOSYNC_FOREVER, 1));
	/*
	 * Go's select-with-default send, from another process (the receive
	 * completes in this thread, which must be free to run it): it
	 * succeeds only into a waiting receiver, and this one is.
	 */
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(gosync_chan_send(u, &v, GOSYNC_NONBLOCK) ? 1 : 0);
	EXPECT_EQ(1, reap(&self->ring, NULL));
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(12, got);
	gosync_chan_free(u);
}

/* An inline success is a success: a linked request runs after it. */
TEST_F(ur, inline_success_keeps_links)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);
	uint64_t v = 4, tag;
	int res[2] = { -1, -1 };

	ASSERT_EQ(0, gosync_prep_send(sqe, self->ch, &v, GOSYNC_FOREVER));
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, 0);
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, 1);
	ASSERT_EQ(2, io_uring_submit(&self->ring));
	for (int i = 0; i < 2; i++) {
		int r = reap(&self->ring, &tag);

		ASSERT_GT(2, tag);
		res[tag] = r;
	}
	EXPECT_EQ(1, res[0]);
	EXPECT_EQ(0, res[1]);
}

/* execve() with a command queued: the command ends, the exec goes on. */
TEST_F_TIMEOUT(ur, exec_with_a_command_queued, 60)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct io_uring ring;
		static uint64_t v;

		if (io_uring_queue_init(8, &ring, 0) ||
		    submit(&ring, self->ch, false, &v, GOSYNC_FOREVER, 1))
			_exit(1);
		execl("/bin/true", "true", (char *)NULL);
		_exit(2);
	}
	EXPECT_EQ(0, test_wait(pid));
}

/*
 * The ring closed under a live task: its commands end, and let go of the
 * channel (the module reference its file holds comes back once the
 * channel's last user, io_uring, drops it).
 */
TEST_F_TIMEOUT(ur, ring_closed_with_commands_queued, 60)
{
	long before = module_refs();
	struct gosync_chan *c;
	struct io_uring ring;
	uint64_t v[4];

	ASSERT_EQ(0, gosync_chan_make(&c, sizeof(uint64_t), 1, 0));
	EXPECT_EQ(before + 1, module_refs());
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, submit(&ring, c, false, &v[i], GOSYNC_FOREVER, i));
	io_uring_queue_exit(&ring);
	gosync_chan_free(c);
	for (int i = 0; i < 200 && module_refs() != before; i++)
		test_sleep_ms(50);
	EXPECT_EQ(before, module_refs());
}

TEST_F(ur, poll_add_on_a_channel_fd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);
	uint64_t v = 1;

	io_uring_prep_poll_add(sqe, gosync_chan_fd(self->ch), POLLIN);
	io_uring_submit(&self->ring);
	EXPECT_FALSE(cqe_within(&self->ring, 100));
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK) ? 1 : 0);
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(POLLIN, reap(&self->ring, NULL) & (POLLIN | POLLHUP));

	/* And POLLHUP on close. */
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_poll_add(sqe, gosync_chan_fd(self->ch), POLLHUP);
	io_uring_submit(&self->ring);
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	EXPECT_EQ(POLLHUP, reap(&self->ring, NULL) & POLLHUP);
}

/* One ring, one thread, a thousand channels. */
TEST_F_TIMEOUT(ur, one_ring_many_channels, 120)
{
	enum { N = 1000 };
	struct gosync_chan **ch = calloc(N, sizeof(*ch));
	uint64_t *got = calloc(N, sizeof(*got));
	struct io_uring ring;
	pid_t pid;

	ASSERT_NE(NULL, ch);
	ASSERT_NE(NULL, got);
	ASSERT_EQ(0, io_uring_queue_init(N, &ring, 0));
	for (int i = 0; i < N; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		ASSERT_EQ(0, gosync_chan_make(&ch[i], sizeof(uint64_t), 1, 0));
		ASSERT_NE(NULL, sqe);
		ASSERT_EQ(0, gosync_prep_recv(sqe, ch[i], &got[i], test_ms(60000)));
		io_uring_sqe_set_data64(sqe, i);
	}
	ASSERT_EQ(N, io_uring_submit(&ring));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (uint64_t i = N; i-- > 0;) {
			uint64_t v = i * 3;

			if (gosync_chan_send(ch[i], &v, GOSYNC_NONBLOCK))
				_exit(1);
		}
		_exit(0);
	}
	for (int k = 0; k < N; k++) {
		uint64_t tag;

		ASSERT_EQ(1, reap(&ring, &tag));
		ASSERT_GT(N, tag);
		EXPECT_EQ(tag * 3, got[tag]);
	}
	EXPECT_EQ(0, test_wait(pid));
	io_uring_queue_exit(&ring);
	for (int i = 0; i < N; i++)
		gosync_chan_free(ch[i]);
	free(ch);
	free(got);
}

/* ---- the submitter's own calls meeting its own queued commands ---- */

enum own_how { OWN_SEND, OWN_WRITE, OWN_SELECT, OWN_DEFER };

/*
 * In one thread: queue a receive on an unbuffered channel, then send on
 * that channel with @how.  The only receiver is the queued receive, which
 * runs as this thread's task work: the send must let it take the element
 * (once), not withdraw and redo it for ever.
 */
static int own_receive(void *arg)
{
	enum own_how how = (enum own_how)(long)arg;
	struct gosync_chan *u;
	struct io_uring ring;
	uint64_t got = 0, v = 21;
	int ret;

	/*
	 * OWN_DEFER: a DEFER_TASKRUN ring runs its completions only inside
	 * io_uring_enter(), so the kick sets no TIF_NOTIFY_SIGNAL at all.
	 */
	if (io_uring_queue_init(8, &ring, how == OWN_DEFER ?
				IORING_SETUP_SINGLE_ISSUER |
				IORING_SETUP_DEFER_TASKRUN : 0))
		return 10;
	if (gosync_chan_make(&u, 8, 0, 0))
		return 1;
	if (submit(&ring, u, false, &got, GOSYNC_FOREVER, 1))
		return 2;
	if (how == OWN_SEND || how == OWN_DEFER) {
		ret = gosync_chan_send(u, &v, test_ms(5000));
	} else if (how == OWN_WRITE) {
		ret = write(gosync_chan_fd(u), &v, 8) == 8 ? 0 : -errno;
	} else {
		struct gosync_case c = { .ch = u, .op = GOSYNC_SEND, .elem = &v };

		ret = gosync_select(&c, 1, test_ms(5000));
	}
	if (ret)
		return 3;
	if (reap(&ring, NULL) != 1 || got != 21)
		return 4;
	/* Exactly once: nothing else is left in the channel. */
	if (gosync_chan_recv(u, &got, GOSYNC_NONBLOCK) != -EAGAIN)
		return 5;
	return 0;
}

TEST_F_TIMEOUT(ur, blocking_send_meets_own_queued_receive, 60)
{
	EXPECT_EQ(0, run_bounded(own_receive, (void *)(long)OWN_SEND, 15000));
}

TEST_F_TIMEOUT(ur, send_meets_own_receive_on_a_defer_taskrun_ring, 60)
{
	int r = run_bounded(own_receive, (void *)(long)OWN_DEFER, 15000);

	if (r == 10)
		SKIP(return, "no IORING_SETUP_DEFER_TASKRUN");
	EXPECT_EQ(0, r);
}

TEST_F_TIMEOUT(ur, write_meets_own_queued_receive, 60)
{
	EXPECT_EQ(0, run_bounded(own_receive, (void *)(long)OWN_WRITE, 15000));
}

TEST_F_TIMEOUT(ur, select_send_meets_own_queued_receive, 60)
{
	EXPECT_EQ(0, run_bounded(own_receive, (void *)(long)OWN_SELECT, 15000));
}

/*
 * A blocking send with no receiver, in a thread whose queued receive on
 * another channel is kicked over and over (a peer loops on
 * GOSYNC_CHAN_IOC_WAKE there): task work keeps arriving, and the send
 * keeps restarting to let it run (the module cannot run it).  The send
 * must still end: at its deadline, or with EINTR when a signal handler
 * (no SA_RESTART) interrupts it; a signal that lands in a restart's
 * instant in user space runs its handler between two calls, and the
 * send goes on to its deadline.  Before, it restarted for ever and never
 * even reached its deadline.
 */
static int alarms;

static void on_alarm(int sig)
{
	(void)sig;
	__atomic_add_fetch(&alarms, 1, __ATOMIC_SEQ_CST);
}

static int task_work_storm(void *arg)
{
	bool with_signal = arg != NULL;
	struct gosync_chan *u, *d;
	struct gosync_chan_wake w = { .flags = GOSYNC_WAKE_RECV };
	struct io_uring ring;
	uint64_t got, v = 3;
	struct sigaction sa = { .sa_handler = on_alarm };
	int64_t start;
	pid_t peer;
	int ret;

	if (io_uring_queue_init(8, &ring, 0) || gosync_chan_make(&u, 8, 0, 0) ||
	    gosync_chan_make(&d, 8, 1, 0))
		return 1;
	if (submit(&ring, d, false, &got, GOSYNC_FOREVER, 1))
		return 2;
	peer = fork();
	if (peer < 0)
		return 3;
	if (peer == 0) {
		/* Gone with us, even if we are killed (run_bounded). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			ioctl(gosync_chan_fd(d), GOSYNC_CHAN_IOC_WAKE, &w);
	}
	test_sleep_ms(100);
	if (with_signal) {
		sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART */
		alarm(1);
	}
	start = gosync_now();
	ret = gosync_chan_send(u, &v, test_ms(with_signal ? 3000 : 1000));
	kill(peer, SIGKILL);
	waitpid(peer, NULL, 0);
	if (with_signal && !__atomic_load_n(&alarms, __ATOMIC_SEQ_CST))
		return 7;
	if (ret != -ETIMEDOUT && !(with_signal && ret == -EINTR)) {
		fprintf(stderr, "# the send returned %d (%s) after %lld ms\n", ret,
			strerror(-ret), (long long)((gosync_now() - start) / 1000000));
		return 4;
	}
	if (gosync_now() - start > 5000000000LL)
		return 5;
	/* Nothing was left behind in the channel. */
	return gosync_chan_recv(u, &got, GOSYNC_NONBLOCK) == -EAGAIN ? 0 : 6;
}

TEST_F_TIMEOUT(ur, signal_ends_send_while_task_work_keeps_coming, 60)
{
	EXPECT_EQ(0, run_bounded(task_work_storm, (void *)1, 15000));
}

TEST_F_TIMEOUT(ur, deadline_ends_send_while_task_work_keeps_coming, 60)
{
	EXPECT_EQ(0, run_bounded(task_work_storm, NULL, 15000));
}

/*
 * A receive queued by a process that is then stopped stays a registered
 * receiver, but can take nothing until it runs again.  A non-blocking
 * send on that unbuffered channel must still return (EAGAIN), not wait
 * for the stopped process.
 */
static int nonblocking_send(void *arg)
{
	uint64_t v = 8;

	return gosync_chan_send(arg, &v, GOSYNC_NONBLOCK) == -EAGAIN ? 0 : 1;
}

TEST_F_TIMEOUT(ur, nonblocking_send_not_held_by_stopped_receiver, 60)
{
	struct gosync_chan *u;
	int sync[2], st;
	pid_t stopped;
	char c;

	ASSERT_EQ(0, gosync_chan_make(&u, 8, 0, 0));
	ASSERT_EQ(0, pipe(sync));
	stopped = fork();
	ASSERT_LE(0, stopped);
	if (stopped == 0) {
		struct io_uring ring;
		static uint64_t got;

		if (io_uring_queue_init(8, &ring, 0) ||
		    submit(&ring, u, false, &got, GOSYNC_FOREVER, 1) ||
		    write(sync[1], "q", 1) != 1)
			_exit(1);
		raise(SIGSTOP);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(sync[0], &c, 1));
	ASSERT_EQ(stopped, waitpid(stopped, &st, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(st));
	EXPECT_EQ(0, run_bounded(nonblocking_send, u, 10000));
	kill(stopped, SIGKILL);
	kill(stopped, SIGCONT);
	EXPECT_EQ(128 + SIGKILL, test_wait(stopped));
	close(sync[0]);
	close(sync[1]);
	gosync_chan_free(u);
}

/*
 * A non-blocking batch (one SEND of eight) on an unbuffered channel whose
 * receivers are eight queued receives of stopped processes, continued one
 * every 40 ms: each element waits for the next to run, and the batch must
 * spend one 100 ms hand-off bound on all of them.  With a bound per
 * element it waited out every continue and sent all eight (320 ms).
 * Whatever it reports sent went to exactly that many receivers; blocking
 * sends of the rest then reach the others, each element once.
 */
TEST_F_TIMEOUT(ur, nonblocking_batch_shares_one_hand_off_bound, 60)
{
	uint64_t v[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct gosync_chan *u;
	pid_t pid[8], waker;
	int go[2], st, ret, sent, seen = 0;
	char c = 'g';

	ASSERT_EQ(0, gosync_chan_make(&u, 8, 0, 0));
	ASSERT_EQ(0, pipe(go));
	for (int k = 0; k < 8; k++) {
		pid[k] = fork();
		ASSERT_LE(0, pid[k]);
		if (pid[k] == 0) {
			struct io_uring ring;
			static uint64_t got;

			/* gone with the test, whatever fails */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (io_uring_queue_init(4, &ring, 0) ||
			    submit(&ring, u, false, &got, GOSYNC_FOREVER, 1))
				_exit(100);
			raise(SIGSTOP);		/* queued: a registered receiver */
			ret = reap(&ring, NULL);
			_exit(ret == 1 && got >= 1 && got <= 8 ? (int)got : 101);
		}
		ASSERT_EQ(pid[k], waitpid(pid[k], &st, WUNTRACED));
		ASSERT_TRUE(WIFSTOPPED(st));
	}
	waker = fork();
	ASSERT_LE(0, waker);
	if (waker == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* the 40 ms steps count from the batch's start */
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		for (int k = 0; k < 8; k++) {
			test_sleep_ms(40);
			kill(pid[k], SIGCONT);
		}
		_exit(0);
	}
	ASSERT_EQ(1, write(go[1], &c, 1));
	ret = gosync_chan_send_n(u, v, 8, GOSYNC_NONBLOCK);
	/* by 100 ms at most three run; an element the bound withdraws as one
	 * of them takes it still counts: six leaves room, the old code sent 8 */
	EXPECT_TRUE(ret == -EAGAIN || (ret >= 1 && ret <= 6))
		TH_LOG("the batch returned %d", ret);
	EXPECT_EQ(0, test_wait(waker));
	sent = ret > 0 ? ret : 0;
	for (int i = sent; i < 8; i++)
		ASSERT_EQ(0, gosync_chan_send(u, &v[i], test_ms(20000)));
	for (int k = 0; k < 8; k++) {
		st = test_wait(pid[k]);
		EXPECT_TRUE(st >= 1 && st <= 8) TH_LOG("receiver %d: %d", k, st);
		if (st >= 1 && st <= 8) {
			EXPECT_FALSE(seen & 1 << (st - 1));
			seen |= 1 << (st - 1);
		}
	}
	EXPECT_EQ(0xff, seen);
	close(go[0]);
	close(go[1]);
	gosync_chan_free(u);
}

/*
 * A non-blocking select over ten unbuffered send cases, each with a
 * registered receiver that cannot take (a queued receive of a stopped
 * process): the select must return EAGAIN within one hand-off bound for
 * the whole call, not one per case and round (2 s before).
 */
static int nonblocking_select(void *arg)
{
	struct gosync_chan **u = arg;
	struct gosync_case c[10];
	uint64_t v = 1;
	int64_t start = gosync_now();
	int ret;

	for (int i = 0; i < 10; i++)
		c[i] = (struct gosync_case){ .ch = u[i], .op = GOSYNC_SEND, .elem = &v };
	ret = gosync_select(c, 10, GOSYNC_NONBLOCK);
	if (ret != -EAGAIN)
		return 1;
	return gosync_now() - start < 1000000000LL ? 0 : 2;
}

TEST_F_TIMEOUT(ur, nonblocking_select_bounded_with_stopped_receivers, 60)
{
	struct gosync_chan *u[10];
	int sync[2], st;
	pid_t stopped;
	char c;

	for (int i = 0; i < 10; i++)
		ASSERT_EQ(0, gosync_chan_make(&u[i], 8, 0, 0));
	ASSERT_EQ(0, pipe(sync));
	stopped = fork();
	ASSERT_LE(0, stopped);
	if (stopped == 0) {
		struct io_uring ring;
		static uint64_t got[10];

		if (io_uring_queue_init(16, &ring, 0))
			_exit(1);
		for (int i = 0; i < 10; i++)
			if (submit(&ring, u[i], false, &got[i], GOSYNC_FOREVER, i))
				_exit(2);
		if (write(sync[1], "q", 1) != 1)
			_exit(3);
		raise(SIGSTOP);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(sync[0], &c, 1));
	ASSERT_EQ(stopped, waitpid(stopped, &st, WUNTRACED));
	EXPECT_EQ(0, run_bounded(nonblocking_select, u, 30000));
	kill(stopped, SIGKILL);
	kill(stopped, SIGCONT);
	EXPECT_EQ(128 + SIGKILL, test_wait(stopped));
	close(sync[0]);
	close(sync[1]);
	for (int i = 0; i < 10; i++)
		gosync_chan_free(u[i]);
}

/*
 * IORING_OP_READ / IORING_OP_WRITE (and READV, WRITEV) on a channel fd:
 * refused at once with EINVAL, whether the channel is ready or not and
 * whether the request is issued inline or from io-wq (IOSQE_ASYNC); the
 * channel commands are io_uring's way in.  Before, 6.1's io_uring
 * retried them from the submitter's task work after every poll that said
 * ready, for ever: a task spinning in the kernel that SIGKILL could not
 * end (found by the fuzzer).  Refusing with EOPNOTSUPP was not enough:
 * io_uring turns that into EAGAIN on a non-blocking issue, so a read on
 * an empty channel stayed queued as a poll, and the spin came back
 * through io-wq's re-arming (found by review).
 */
static int plain_rw_batch(struct io_uring *ring, int fd, bool write_ops)
{
	static uint64_t buf[2];
	struct iovec iov = { .iov_base = buf, .iov_len = 8 };
	struct io_uring_sqe *sqe;
	int n = 0;

	for (int async = 0; async < 2; async++) {
		for (int vec = 0; vec < 2; vec++) {
			sqe = io_uring_get_sqe(ring);
			if (write_ops && vec)
				io_uring_prep_writev(sqe, fd, &iov, 1, 0);
			else if (write_ops)
				io_uring_prep_write(sqe, fd, buf, 8, 0);
			else if (vec)
				io_uring_prep_readv(sqe, fd, &iov, 1, 0);
			else
				io_uring_prep_read(sqe, fd, buf, 8, 0);
			if (async)
				sqe->flags |= IOSQE_ASYNC;
			n++;
		}
	}
	if (io_uring_submit(ring) != n)
		return -1;
	for (int i = 0; i < n; i++) {
		int res = reap(ring, NULL);

		if (res != -EINVAL) {
			fprintf(stderr, "# %s %d: %d, want %d\n",
				write_ops ? "write" : "read", i, res, -EINVAL);
			return -1;
		}
	}
	return 0;
}

static int plain_rw(void *arg)
{
	struct gosync_chan *c;
	struct io_uring ring;
	uint64_t v = 5, w = 0;
	int fd;

	(void)arg;
	if (io_uring_queue_init(16, &ring, 0) || gosync_chan_make(&c, 8, 2, 0))
		return 1;
	fd = gosync_chan_fd(c);
	/* Empty: reads that would wait; writes that could go. */
	if (plain_rw_batch(&ring, fd, false) || plain_rw_batch(&ring, fd, true))
		return 2;
	/* Readable and full: reads that could go, writes that would wait. */
	if (write(fd, &v, 8) != 8 || write(fd, &v, 8) != 8)
		return 3;
	if (plain_rw_batch(&ring, fd, false) || plain_rw_batch(&ring, fd, true))
		return 4;
	/* Nothing taken, nothing put: read(2) and write(2) are unchanged. */
	for (int i = 0; i < 2; i++)
		if (read(fd, &w, 8) != 8 || w != 5)
			return 5;
	if (write(fd, &v, 8) != 8 || read(fd, &w, 8) != 8)
		return 6;
	/* Wakes and new elements after the refusals find nothing queued. */
	for (int i = 0; i < 200; i++) {
		struct gosync_chan_wake wk = { .flags = GOSYNC_WAKE_RECV };

		ioctl(fd, GOSYNC_CHAN_IOC_WAKE, &wk);
	}
	if (write(fd, &v, 8) != 8 || cqe_within(&ring, 200))
		return 7;
	io_uring_queue_exit(&ring);
	gosync_chan_free(c);
	return 0;
}

TEST_F_TIMEOUT(ur, plain_read_write_ops_refused, 120)
{
	EXPECT_EQ(0, run_bounded(plain_rw, NULL, 60000));
}

/*
 * The same on the other pollable files, while their poll says ready: a
 * WaitGroup at zero and a done context.  Without FMODE_NOWAIT io_uring
 * punted each with EAGAIN, polled, found it ready and punted again in
 * the submitter's task work for ever (gosync_install_fd()).
 */
static int plain_rw_others(void *arg)
{
	struct gosync_ctx *ctx;
	struct gosync_wg *wg;
	struct io_uring ring;
	struct pollfd p[2];

	(void)arg;
	if (io_uring_queue_init(16, &ring, 0) || gosync_wg_make(&wg, 0) ||
	    gosync_ctx_make(&ctx, NULL, 0) || gosync_ctx_cancel(ctx, 0))
		return 1;
	p[0] = (struct pollfd){ .fd = gosync_wg_fd(wg), .events = POLLIN };
	p[1] = (struct pollfd){ .fd = gosync_ctx_fd(ctx), .events = POLLIN };
	if (poll(p, 2, 0) != 2)
		return 2;	/* both must be ready, or this shows nothing */
	for (int i = 0; i < 2; i++)
		if (plain_rw_batch(&ring, p[i].fd, false) ||
		    plain_rw_batch(&ring, p[i].fd, true))
			return 3 + i;
	io_uring_queue_exit(&ring);
	gosync_ctx_free(ctx);
	gosync_wg_free(wg);
	return 0;
}

TEST_F_TIMEOUT(ur, plain_read_write_ops_on_sync_and_ctx_fds_refused, 120)
{
	EXPECT_EQ(0, run_bounded(plain_rw_others, NULL, 60000));
}

/* ------------------------------------------------- batched receive -- */

/* Submit a RECV_N of @n into @elems; @x must outlive the CQE. */
static int submit_n(struct io_uring *ring, struct gosync_chan *ch, void *elems,
		    size_t n, int64_t deadline, struct gosync_chan_xfer *x,
		    uint64_t tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int ret;

	if (!sqe)
		return -EBUSY;
	ret = gosync_prep_recv_n(sqe, ch, elems, n, deadline, x);
	if (ret) {
		io_uring_prep_nop(sqe);
		io_uring_submit(ring);
		reap(ring, NULL);
		return ret;
	}
	io_uring_sqe_set_data64(sqe, tag);
	return io_uring_submit(ring) == 1 ? 0 : -EIO;
}

static void send_seq(struct __test_metadata *_metadata, struct gosync_chan *ch,
		     uint64_t from, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t v = from + i;

		ASSERT_EQ(0, gosync_chan_send(ch, &v, GOSYNC_NONBLOCK));
	}
}

TEST_F(ur, recv_n_feature_reported)
{
	struct gosync_info info;

	ASSERT_EQ(0, gosync_info(&info));
	EXPECT_TRUE(info.features & GOSYNC_FEAT_URING_RECV_N);
}

/* It takes what is there, in order, up to the count, and no more. */
TEST_F(ur, recv_n_takes_what_is_there)
{
	struct gosync_chan_xfer x;
	struct gosync_chan *ch;
	uint64_t got[8] = { 0 };

	ASSERT_EQ(0, gosync_chan_make(&ch, 8, 16, 0));
	send_seq(_metadata, ch, 100, 5);
	ASSERT_EQ(0, submit_n(&self->ring, ch, got, 8, GOSYNC_FOREVER, &x, 1));
	EXPECT_EQ(5, reap(&self->ring, NULL));
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(100 + i, got[i]);
	EXPECT_EQ(0, got[5]);
	/* Bounded by the count: three of five, two left. */
	send_seq(_metadata, ch, 200, 5);
	ASSERT_EQ(0, submit_n(&self->ring, ch, got, 3, GOSYNC_FOREVER, &x, 2));
	EXPECT_EQ(3, reap(&self->ring, NULL));
	EXPECT_EQ(202, got[2]);
	EXPECT_EQ(2, gosync_chan_len(ch));
	ASSERT_EQ(0, submit_n(&self->ring, ch, got, 8, GOSYNC_NONBLOCK, &x, 3));
	EXPECT_EQ(2, reap(&self->ring, NULL));
	EXPECT_EQ(203, got[0]);
	EXPECT_EQ(204, got[1]);
	/* Empty: non-blocking, EAGAIN at once. */
	ASSERT_EQ(0, submit_n(&self->ring, ch, got, 8, GOSYNC_NONBLOCK, &x, 4));
	EXPECT_EQ(-EAGAIN, reap(&self->ring, NULL));
	gosync_chan_free(ch);
}

/* Queued on an empty channel: the first element completes it. */
TEST_F(ur, recv_n_queued_completes_on_a_send)
{
	struct gosync_chan_xfer x;
	uint64_t got[4] = { 0 }, v = 9;
	int res;

	ASSERT_EQ(0, submit_n(&self->ring, self->ch, got, 4, GOSYNC_FOREVER, &x, 1));
	EXPECT_FALSE(cqe_within(&self->ring, 100));
	/* The arguments were read at issue: scribbling on them now is harmless. */
	memset(&x, 0xff, sizeof(x));
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK) ? 1 : 0);
	EXPECT_EQ(0, test_wait(pid));
	res = reap(&self->ring, NULL);
	EXPECT_EQ(1, res);
	EXPECT_EQ(9, got[0]);
}

TEST_F(ur, recv_n_deadline_and_close)
{
	struct gosync_chan_xfer x;
	uint64_t got[4];
	int64_t start = gosync_now();

	ASSERT_EQ(0, submit_n(&self->ring, self->ch, got, 4, test_ms(50), &x, 1));
	EXPECT_EQ(-ETIMEDOUT, reap(&self->ring, NULL));
	EXPECT_LE(start + 50000000, gosync_now());
	/* Closed with two left: those, then 0. */
	send_seq(_metadata, self->ch, 7, 2);
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	ASSERT_EQ(0, submit_n(&self->ring, self->ch, got, 4, GOSYNC_FOREVER, &x, 2));
	EXPECT_EQ(2, reap(&self->ring, NULL));
	EXPECT_EQ(8, got[1]);
	ASSERT_EQ(0, submit_n(&self->ring, self->ch, got, 4, GOSYNC_FOREVER, &x, 3));
	EXPECT_EQ(0, reap(&self->ring, NULL));
}

/* A receive queued before the close completes with 0 when it comes. */
TEST_F(ur, recv_n_queued_completes_on_close)
{
	struct gosync_chan_xfer x;
	uint64_t got[4];

	ASSERT_EQ(0, submit_n(&self->ring, self->ch, got, 4, GOSYNC_FOREVER, &x, 1));
	EXPECT_FALSE(cqe_within(&self->ring, 50));
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	EXPECT_EQ(0, reap(&self->ring, NULL));
}

TEST_F(ur, recv_n_bad_arguments)
{
	struct gosync_chan_xfer x;
	struct io_uring_sqe *sqe;
	struct gosync_uring_cmd cmd;
	struct gosync_chan *ro, *wo;
	uint64_t got[4];
	long page = sysconf(_SC_PAGESIZE);
	char *two;

	/* The library's own checks. */
	sqe = io_uring_get_sqe(&self->ring);
	EXPECT_EQ(-EINVAL, gosync_prep_recv_n(sqe, self->ch, got, 0, GOSYNC_FOREVER, &x));
	EXPECT_EQ(-EINVAL, gosync_prep_recv_n(sqe, self->ch, got, 1, GOSYNC_FOREVER, NULL));
	EXPECT_EQ(-EINVAL, gosync_prep_recv_n(sqe, self->ch, got,
					      GOSYNC_URING_RECV_N_MAX + 1,
					      GOSYNC_FOREVER, &x));
	EXPECT_EQ(-EINVAL, gosync_prep_recv_n(sqe, self->ch, NULL, 1, GOSYNC_FOREVER, &x));
	EXPECT_EQ(-EINVAL, gosync_prep_recv_n(sqe, NULL, got, 1, GOSYNC_FOREVER, &x));
	io_uring_prep_nop(sqe);
	io_uring_submit(&self->ring);
	reap(&self->ring, NULL);

	/* The kernel's: each field of the xfer, then the command itself. */
	send_seq(_metadata, self->ch, 1, 1);
	for (int k = 0; k < 7; k++) {
		sqe = io_uring_get_sqe(&self->ring);
		ASSERT_EQ(0, gosync_prep_recv_n(sqe, self->ch, got, 2,
						GOSYNC_FOREVER, &x));
		switch (k) {
		case 0: x.count = 0; break;
		case 1: x.count = GOSYNC_URING_RECV_N_MAX + 1; break;
		case 2: x.flags = 1; break;
		case 3: x.resv[1] = 1; break;
		case 4: x.deadline_ns = -5; break;
		case 5:
			memcpy(&cmd, sqe->cmd, sizeof(cmd));
			cmd.deadline_ns = 1;
			memcpy(sqe->cmd, &cmd, sizeof(cmd));
			break;
		case 6: x.resv[0] = 1; break;
		}
		io_uring_submit(&self->ring);
		EXPECT_EQ(-EINVAL, reap(&self->ring, NULL)) TH_LOG("case %d", k);
	}
	/* The xfer itself unreadable. */
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_EQ(0, gosync_prep_recv_n(sqe, self->ch, got, 2, GOSYNC_FOREVER, &x));
	memcpy(&cmd, sqe->cmd, sizeof(cmd));
	cmd.elem = 8;
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
	io_uring_submit(&self->ring);
	EXPECT_EQ(-EFAULT, reap(&self->ring, NULL));
	/* None of that took the element. */
	EXPECT_EQ(1, gosync_chan_len(self->ch));
	/* A bad buffer takes nothing. */
	ASSERT_EQ(0, submit_n(&self->ring, self->ch, (void *)8, 2, GOSYNC_FOREVER, &x, 1));
	EXPECT_EQ(-EFAULT, reap(&self->ring, NULL));
	EXPECT_EQ(1, gosync_chan_len(self->ch));
	/* A buffer that ends at an unmapped page: what fits, the rest stays. */
	send_seq(_metadata, self->ch, 2, 1);
	two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	ASSERT_EQ(0, munmap(two + page, page));
	ASSERT_EQ(0, submit_n(&self->ring, self->ch, two + page - 8, 2,
			      GOSYNC_FOREVER, &x, 2));
	EXPECT_EQ(1, reap(&self->ring, NULL));
	EXPECT_EQ(1, *(uint64_t *)(two + page - 8));
	EXPECT_EQ(1, gosync_chan_len(self->ch));
	munmap(two, page);
	/* Directional ends: a send-only end cannot; a receive-only one can. */
	ASSERT_EQ(0, gosync_chan_dup(&wo, self->ch, GOSYNC_SEND_ONLY));
	ASSERT_EQ(0, gosync_chan_dup(&ro, self->ch, GOSYNC_RECV_ONLY));
	ASSERT_EQ(0, submit_n(&self->ring, wo, got, 2, GOSYNC_FOREVER, &x, 3));
	EXPECT_EQ(-EBADF, reap(&self->ring, NULL));
	ASSERT_EQ(0, submit_n(&self->ring, ro, got, 2, GOSYNC_FOREVER, &x, 4));
	EXPECT_EQ(1, reap(&self->ring, NULL));
	EXPECT_EQ(2, got[0]);
	gosync_chan_free(wo);
	gosync_chan_free(ro);
}

/* No more elements than one call may move (MAX_RW_COUNT bytes). */
TEST_F(ur, recv_n_bounded_by_bytes)
{
	enum { SIZE = 40000 };
	long page = sysconf(_SC_PAGESIZE);
	size_t most = ((size_t)INT_MAX & ~((size_t)page - 1)) / SIZE;
	struct gosync_chan_xfer x;
	struct io_uring_sqe *sqe;
	struct gosync_chan *ch;
	char *buf;

	ASSERT_EQ(0, gosync_chan_make(&ch, SIZE, 1, 0));
	buf = calloc(1, SIZE);
	ASSERT_NE(NULL, buf);
	/* The library refuses one more than the kernel would take ... */
	sqe = io_uring_get_sqe(&self->ring);
	EXPECT_EQ(-EINVAL, gosync_prep_recv_n(sqe, ch, buf, most + 1,
					      GOSYNC_NONBLOCK, &x));
	/* ... and the kernel too, when the library is bypassed. */
	ASSERT_EQ(0, gosync_prep_recv_n(sqe, ch, buf, most, GOSYNC_NONBLOCK, &x));
	x.count = most + 1;
	io_uring_submit(&self->ring);
	EXPECT_EQ(-EINVAL, reap(&self->ring, NULL));
	/* The most it may take is fine (empty: EAGAIN, nothing written). */
	ASSERT_EQ(0, submit_n(&self->ring, ch, buf, most, GOSYNC_NONBLOCK, &x, 1));
	EXPECT_EQ(-EAGAIN, reap(&self->ring, NULL));
	free(buf);
	gosync_chan_free(ch);
}

/*
 * A queued batch takes all that arrived before its attempt runs: on a
 * DEFER_TASKRUN ring the attempt runs only when the submitter waits, so
 * three sends come first, and the one completion has all three; a
 * destination that cannot be written ends it there, the rest stays.
 */
TEST_F(ur, recv_n_queued_attempt_takes_all_there)
{
	struct io_uring_params p = { .flags = IORING_SETUP_SINGLE_ISSUER |
					      IORING_SETUP_DEFER_TASKRUN };
	long page = sysconf(_SC_PAGESIZE);
	struct gosync_chan_xfer x;
	struct io_uring ring;
	struct gosync_chan *ch;
	uint64_t got[8] = { 0 };
	char *two;
	int ret = io_uring_queue_init_params(8, &ring, &p);

	if (ret == -EINVAL)
		SKIP(return, "no IORING_SETUP_DEFER_TASKRUN");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, gosync_chan_make(&ch, 8, 8, 0));
	ASSERT_EQ(0, submit_n(&ring, ch, got, 8, GOSYNC_FOREVER, &x, 1));
	send_seq(_metadata, ch, 50, 3);
	EXPECT_EQ(3, reap(&ring, NULL));
	EXPECT_EQ(50, got[0]);
	EXPECT_EQ(52, got[2]);
	/* Room for two before an unmapped page: two taken, one left. */
	two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	ASSERT_EQ(0, munmap(two + page, page));
	ASSERT_EQ(0, submit_n(&ring, ch, two + page - 16, 8, GOSYNC_FOREVER,
			      &x, 2));
	send_seq(_metadata, ch, 60, 3);
	EXPECT_EQ(2, reap(&ring, NULL));
	EXPECT_EQ(61, *(uint64_t *)(two + page - 8));
	EXPECT_EQ(1, gosync_chan_len(ch));
	munmap(two, page);
	io_uring_queue_exit(&ring);
	gosync_chan_free(ch);
}

/* Elements of 0 bytes: counted, nothing copied, no buffer needed. */
TEST_F(ur, recv_n_zero_byte_elements)
{
	struct gosync_chan_xfer x;
	struct gosync_chan *ch;

	ASSERT_EQ(0, gosync_chan_make(&ch, 0, 8, 0));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, gosync_chan_send(ch, NULL, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, submit_n(&self->ring, ch, NULL, 5, GOSYNC_FOREVER, &x, 1));
	EXPECT_EQ(3, reap(&self->ring, NULL));
	EXPECT_EQ(0, gosync_chan_len(ch));
	gosync_chan_free(ch);
}

/*
 * A stream through batched receives: every element once, in order, while
 * a producer process keeps the channel full (the receives take several
 * at a time, which one-element receives never do).
 */
TEST_F_TIMEOUT(ur, recv_n_stream_in_order, 120)
{
	enum { N = 20000, B = 32 };
	struct gosync_chan_xfer x;
	struct gosync_chan *ch;
	uint64_t got[B], next = 0;
	int batches = 0, most = 0;
	pid_t pid;

	ASSERT_EQ(0, gosync_chan_make(&ch, 8, 64, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (uint64_t i = 0; i < N; i++)
			if (gosync_chan_send(ch, &i, GOSYNC_FOREVER))
				_exit(1);
		_exit(0);
	}
	while (next < N) {
		int res;

		ASSERT_EQ(0, submit_n(&self->ring, ch, got, B, GOSYNC_FOREVER, &x, 1));
		res = reap(&self->ring, NULL);
		ASSERT_LT(0, res);
		ASSERT_GE(B, res);
		for (int i = 0; i < res; i++)
			ASSERT_EQ(next + i, got[i]);
		next += res;
		batches++;
		if (res > most)
			most = res;
	}
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_LT(1, most);
	TH_LOG("%d elements in %d receives, at most %d at once", N, batches, most);
	gosync_chan_free(ch);
}

TEST_HARNESS_MAIN
