// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Fd cases in select (GOSYNC_FDREADY, issue 11): a select waits for any
 * pollable fd beside channels, and the case that fires carries the fd's
 * revents.  A pipe, a pidfd, a timerfd, an eventfd and a channel's own fd
 * becoming ready while a channel stays empty; a channel and an fd both
 * ready (each wins about half the time); deadlines and non-blocking
 * selects; bad fds and files that cannot be polled; a signal ending the
 * wait with every wait queue entry gone (the pipe is closed after it);
 * the fd closed by another thread meanwhile; 64 fd cases.  Standalone
 * mode refuses fd cases with EOPNOTSUPP, so on the host that is all
 * these tests check.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>

#include "kselftest_harness.h"
#include "chan_test.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

FIXTURE(fdsel) {
	struct gosync_chan *a;
	int p[2];
	uint64_t v;
	struct gosync_case c[2];
};

FIXTURE_VARIANT(fdsel) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_MODES(fdsel);

/* c[0]: receive from a (kept empty unless a test fills it); c[1]: fd. */
FIXTURE_SETUP(fdsel)
{
	self->a = NULL;
	self->p[0] = self->p[1] = -1;
	GOSYNC_MAKE(&self->a, sizeof(uint64_t), 1);
	ASSERT_EQ(0, pipe2(self->p, O_CLOEXEC));
	memset(self->c, 0, sizeof(self->c));
	self->c[0] = (struct gosync_case){
		.ch = self->a, .op = GOSYNC_RECV, .elem = &self->v, .ok = -9,
	};
	self->c[1] = (struct gosync_case){
		.op = GOSYNC_FDREADY, .fd = self->p[0], .events = POLLIN,
		.ok = -9,
	};
}

FIXTURE_TEARDOWN(fdsel)
{
	if (self->p[0] >= 0)
		close(self->p[0]);
	if (self->p[1] >= 0)
		close(self->p[1]);
	gosync_chan_free(self->a);
}

/* Standalone: fd cases are refused, whatever else the set holds. */
#define KERNEL_ONLY() do {						\
	if (!variant->kernel) {						\
		EXPECT_EQ(-EOPNOTSUPP, gosync_select(self->c, 2,	\
						     GOSYNC_NONBLOCK));	\
		EXPECT_EQ(-EOPNOTSUPP, gosync_select(self->c, 2,	\
						     test_ms(10)));	\
		return;							\
	}								\
} while (0)

struct later {
	int fd;			/* write 8 bytes here ... */
	long ms;		/* ... this much later */
	int close_fd;		/* or, if >= 0, close it first */
};

static void *write_later(void *arg)
{
	struct later *l = arg;
	uint64_t one = 1;

	test_sleep_ms(l->ms);
	if (l->close_fd >= 0)
		close(l->close_fd);
	if (l->fd >= 0 && write(l->fd, &one, sizeof(one)) != sizeof(one))
		return (void *)1;
	return NULL;
}

TEST_F(fdsel, standalone_refuses_fd_cases)
{
	if (variant->kernel)
		SKIP(return, "kernel mode");
	KERNEL_ONLY();
}

#ifdef GOSYNC_TEST_HOST
/* Without the module an fd case alone is refused too. */
TEST_F(fdsel, without_the_module_fd_cases_are_refused)
{
	EXPECT_EQ(-EOPNOTSUPP, gosync_select(&self->c[1], 1, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EOPNOTSUPP, gosync_select(&self->c[1], 1, test_ms(10)));
}
#endif

TEST_F(fdsel, pipe_becomes_readable)
{
	struct later l = { .fd = self->p[1], .ms = 30, .close_fd = -1 };
	pthread_t t;
	void *tret;

	KERNEL_ONLY();
	EXPECT_EQ(-EAGAIN, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, pthread_create(&t, NULL, write_later, &l));
	EXPECT_EQ(1, gosync_select(self->c, 2, test_ms(10000)));
	EXPECT_EQ(POLLIN, self->c[1].ok & ~POLLRDNORM);
	EXPECT_EQ(-9, self->c[0].ok);		/* untouched */
	pthread_join(t, &tret);
	EXPECT_EQ(NULL, tret);
	/* Still readable: the select only looked. */
	EXPECT_EQ(1, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	EXPECT_TRUE(self->c[1].ok & POLLIN);
}

TEST_F(fdsel, hangup_is_reported_as_poll_does)
{
	KERNEL_ONLY();
	close(self->p[1]);
	self->p[1] = -1;
	EXPECT_EQ(1, gosync_select(self->c, 2, test_ms(10000)));
	EXPECT_TRUE(self->c[1].ok & POLLHUP);
	EXPECT_FALSE(self->c[1].ok & POLLIN);
}

TEST_F(fdsel, pidfd_of_a_child_that_exits)
{
	pid_t pid;
	int pfd;

	KERNEL_ONLY();
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		test_sleep_ms(50);
		_exit(0);
	}
	pfd = syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		test_wait(pid);
		SKIP(return, "pidfd_open: %s", strerror(errno));
	}
	self->c[1].fd = pfd;
	EXPECT_EQ(-EAGAIN, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	EXPECT_EQ(1, gosync_select(self->c, 2, test_ms(10000)));
	EXPECT_TRUE(self->c[1].ok & POLLIN);
	EXPECT_EQ(0, test_wait(pid));
	close(pfd);
}

TEST_F(fdsel, timerfd_expires)
{
	struct itimerspec its = { .it_value = { 0, 40 * 1000000 } };
	int64_t start = gosync_now();
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	ASSERT_LE(0, tfd);
	KERNEL_ONLY();
	self->c[1].fd = tfd;
	ASSERT_EQ(0, timerfd_settime(tfd, 0, &its, NULL));
	EXPECT_EQ(1, gosync_select(self->c, 2, test_ms(10000)));
	EXPECT_TRUE(self->c[1].ok & POLLIN);
	EXPECT_LE(40 * 1000000, gosync_now() - start);
	close(tfd);
}

TEST_F(fdsel, eventfd_written_by_another_thread)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	struct later l = { .fd = efd, .ms = 30, .close_fd = -1 };
	pthread_t t;
	uint64_t n;

	ASSERT_LE(0, efd);
	KERNEL_ONLY();
	self->c[1].fd = efd;
	EXPECT_EQ(-EAGAIN, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, pthread_create(&t, NULL, write_later, &l));
	EXPECT_EQ(1, gosync_select(self->c, 2, test_ms(10000)));
	EXPECT_TRUE(self->c[1].ok & POLLIN);
	pthread_join(t, NULL);
	EXPECT_EQ(sizeof(n), read(efd, &n, sizeof(n)));
	EXPECT_EQ(1, n);
	close(efd);
}

/* A channel's own fd, polled as a file: readable once it holds a value. */
TEST_F(fdsel, channel_fd_as_an_fd_case)
{
	uint64_t one = 1;

	KERNEL_ONLY();
	self->c[1].fd = gosync_chan_fd(self->a);
	self->c[0].ch = NULL;
	EXPECT_EQ(-EAGAIN, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, gosync_chan_send(self->a, &one, GOSYNC_NONBLOCK));
	EXPECT_EQ(1, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	EXPECT_TRUE(self->c[1].ok & POLLIN);
	EXPECT_EQ(1, gosync_chan_len(self->a));	/* polled, not taken */
}

/* Both ready: the choice is the kernel's uniform one, over all cases. */
TEST_F_TIMEOUT(fdsel, channel_and_fd_both_ready_each_win, 300)
{
	int wins[2] = { 0, 0 }, rounds = 400;
	uint64_t one = 1;

	KERNEL_ONLY();
	ASSERT_EQ(sizeof(one), write(self->p[1], &one, sizeof(one)));
	ASSERT_EQ(0, gosync_chan_send(self->a, &one, GOSYNC_NONBLOCK));
	for (int i = 0; i < rounds; i++) {
		int r = gosync_select(self->c, 2, i % 2 ? GOSYNC_NONBLOCK :
						  test_ms(10000));

		ASSERT_LE(0, r);
		ASSERT_GE(1, r);
		wins[r == 1]++;
		if (r == 0)
			ASSERT_EQ(0, gosync_chan_send(self->a, &one,
						      GOSYNC_NONBLOCK));
	}
	/* p = 1/2, 400 rounds: sd 10; 100..300 is 10 sd each way. */
	EXPECT_LE(100, wins[0]) TH_LOG("channel %d, fd %d", wins[0], wins[1]);
	EXPECT_LE(100, wins[1]) TH_LOG("channel %d, fd %d", wins[0], wins[1]);
}

TEST_F(fdsel, deadline_and_nonblock)
{
	int64_t start;

	KERNEL_ONLY();
	EXPECT_EQ(-EAGAIN, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	start = gosync_now();
	EXPECT_EQ(-ETIMEDOUT, gosync_select(self->c, 2, test_ms(50)));
	EXPECT_LE(50 * 1000000, gosync_now() - start);
	EXPECT_EQ(-ETIMEDOUT, gosync_select(self->c, 2, 0));
	/* A write end is writable at once; a non-blocking select fires it. */
	self->c[1].fd = self->p[1];
	self->c[1].events = POLLOUT;
	EXPECT_EQ(1, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	EXPECT_TRUE(self->c[1].ok & POLLOUT);
	/* fd -1 is never ready, as a nil channel. */
	self->c[1].fd = -1;
	EXPECT_EQ(-EAGAIN, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_select(self->c, 2, test_ms(20)));
}

TEST_F(fdsel, bad_fd_cases)
{
	int closed, mfd;

	KERNEL_ONLY();
	closed = dup(self->p[0]);
	ASSERT_LE(0, closed);
	close(closed);
	self->c[1].fd = closed;
	EXPECT_EQ(-EBADF, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EBADF, gosync_select(self->c, 2, test_ms(10)));
	self->c[1].fd = -2;
	EXPECT_EQ(-EBADF, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	self->c[1].fd = self->p[0];
	self->c[1].events = 0x10000;
	EXPECT_EQ(-EINVAL, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	self->c[1].events = POLLIN;
	self->c[1].ch = self->a;		/* an fd case has no channel */
	EXPECT_EQ(-EINVAL, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	self->c[1].ch = NULL;
	/* A memfd has no poll: poll(2) would call it always ready. */
	mfd = memfd_create("notpollable", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	self->c[1].fd = mfd;
	EXPECT_EQ(-EINVAL, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EINVAL, gosync_select(self->c, 2, test_ms(10)));
	close(mfd);
	/* A mutex's fd never becomes ready: refused too (a WaitGroup's works). */
	{
		struct gosync_mutex *m = NULL;

		ASSERT_EQ(0, gosync_mutex_make(&m, 0));
		self->c[1].fd = gosync_mutex_fd(m);
		EXPECT_EQ(-EINVAL, gosync_select(self->c, 2, GOSYNC_NONBLOCK));
		gosync_mutex_free(m);
	}
	EXPECT_EQ(-9, self->c[0].ok);
	EXPECT_EQ(-9, self->c[1].ok);
}

static void on_usr1(int sig)
{
	(void)sig;
}

struct waiter {
	struct gosync_case *c;
	size_t n;
	int64_t deadline;
	pid_t tid;
	int ret;
};

static void *select_waiter(void *arg)
{
	struct waiter *w = arg;

	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	w->ret = gosync_select(w->c, w->n, w->deadline);
	return NULL;
}

static void start_waiter(struct __test_metadata *_metadata, pthread_t *t,
			 struct waiter *w)
{
	ASSERT_EQ(0, pthread_create(t, NULL, select_waiter, w));
	while (!__atomic_load_n(&w->tid, __ATOMIC_ACQUIRE))
		sched_yield();
	ASSERT_TRUE(test_wait_asleep(w->tid, 10000));
}

/*
 * A handler without SA_RESTART: EINTR, and the select has left the
 * pipe's wait queue: the wakes of a write and of the close find nothing
 * of it (a stale entry would point into a dead stack: KASAN, or worse).
 */
TEST_F(fdsel, signal_ends_the_wait_and_leaves_the_queues)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct waiter w = { .c = self->c, .n = 2,
			    .deadline = GOSYNC_FOREVER };
	uint64_t one = 1;
	pthread_t t;

	KERNEL_ONLY();
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	start_waiter(_metadata, &t, &w);
	test_sleep_ms(20);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	EXPECT_EQ(-EINTR, w.ret);
	EXPECT_EQ(-9, self->c[1].ok);
	/* Wake the queue it was on, then free it. */
	ASSERT_EQ(sizeof(one), write(self->p[1], &one, sizeof(one)));
	close(self->p[1]);
	close(self->p[0]);
	self->p[0] = self->p[1] = -1;
	test_sleep_ms(20);
	EXPECT_EQ(-EAGAIN, gosync_select(self->c, 1, GOSYNC_NONBLOCK));
}

/* The select holds the file: a close(2) meanwhile changes nothing. */
TEST_F(fdsel, fd_closed_while_the_select_waits)
{
	struct waiter w = { .c = self->c, .n = 2 };
	uint64_t one = 1;
	pthread_t t;

	KERNEL_ONLY();
	/* Closed, nothing comes: the deadline ends it. */
	w.deadline = test_ms(300);
	start_waiter(_metadata, &t, &w);
	close(self->p[0]);
	self->p[0] = -1;
	pthread_join(t, NULL);
	EXPECT_EQ(-ETIMEDOUT, w.ret);

	/* Closed, then written: the pipe still has its reader, the select. */
	ASSERT_EQ(0, pipe2(self->p, O_CLOEXEC));
	self->c[1].fd = self->p[0];
	w.deadline = test_ms(10000);
	w.tid = 0;
	start_waiter(_metadata, &t, &w);
	close(self->p[0]);
	self->p[0] = -1;
	test_sleep_ms(10);
	ASSERT_EQ(sizeof(one), write(self->p[1], &one, sizeof(one)));
	pthread_join(t, NULL);
	EXPECT_EQ(1, w.ret);
	EXPECT_TRUE(self->c[1].ok & POLLIN);
}

#define NPIPES	64

TEST_F_TIMEOUT(fdsel, many_fd_cases, 120)
{
	struct gosync_case c[NPIPES + 1];
	int p[NPIPES][2], which[] = { 0, NPIPES - 1, 37 };
	uint64_t one = 1, got;

	KERNEL_ONLY();
	c[0] = self->c[0];
	for (int i = 0; i < NPIPES; i++) {
		ASSERT_EQ(0, pipe2(p[i], O_CLOEXEC));
		c[i + 1] = (struct gosync_case){
			.op = GOSYNC_FDREADY, .fd = p[i][0], .events = POLLIN,
		};
	}
	EXPECT_EQ(-EAGAIN, gosync_select(c, NPIPES + 1, GOSYNC_NONBLOCK));
	for (size_t k = 0; k < sizeof(which) / sizeof(which[0]); k++) {
		struct later l = { .fd = p[which[k]][1], .ms = 0,
				   .close_fd = -1 };
		struct waiter w = { .c = c, .n = NPIPES + 1,
				    .deadline = test_ms(10000) };
		pthread_t t;

		start_waiter(_metadata, &t, &w);
		write_later(&l);
		pthread_join(t, NULL);
		EXPECT_EQ(which[k] + 1, w.ret);
		EXPECT_TRUE(c[which[k] + 1].ok & POLLIN);
		EXPECT_EQ(sizeof(got), read(p[which[k]][0], &got, sizeof(got)));
	}
	/* All ready: exactly one fires, each time. */
	for (int i = 0; i < NPIPES; i++)
		ASSERT_EQ(sizeof(one), write(p[i][1], &one, sizeof(one)));
	for (int i = 0; i < 20; i++) {
		int r = gosync_select(c, NPIPES + 1, GOSYNC_NONBLOCK);

		EXPECT_LE(1, r);
		EXPECT_GE(NPIPES, r);
	}
	for (int i = 0; i < NPIPES; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
}

TEST_HARNESS_MAIN
