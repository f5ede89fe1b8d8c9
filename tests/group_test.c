// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Waits bounded by a context (gosync_chan_recv_ctx(3) and the others)
 * and errgroups (gosync_group_make(3)): the first error wins and cancels
 * the rest, in threads and in forked processes; a limit is never passed;
 * try_go at the limit; a forked task killed by SIGSEGV fails the group
 * at once; wait with nothing started; CANCEL_ON_EXIT under a group whose
 * waiter is killed; select with a done case among 100 channel cases; epoll
 * on a context's fd.  Kernel mode only (a group is a context): every test
 * skips without the module.
 */
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <pthread.h>
#include <signal.h>

#include "kselftest_harness.h"
#include "chan_test.h"

/*
 * A forked task is the child of a process with threads (the group's):
 * under TSan such a child can hang in TSan's own allocator, whose lock
 * another thread held at the fork, or report the parent's unjoined
 * threads as leaked at its _exit and exit 66 (seen on a loaded host).
 * TSan does not support fork in a multithreaded program: the tests
 * that fork run in the plain and ASan builds, and in the guest.
 */
#ifdef __SANITIZE_THREAD__
#define NO_TSAN_FORK() SKIP(return, "TSan: fork with threads running")
#else
#define NO_TSAN_FORK() do { } while (0)
#endif

/*
 * The mode of every object a test makes: the kernel's where the module
 * makes contexts, else GOSYNC_STANDALONE (the host).
 */
static unsigned int test_mode;

/* A root context in the kernel if it can, else standalone. */
#define NEED_CTX(c) do {						\
	int __r = gosync_ctx_make((c), NULL, 0);			\
	test_mode = 0;							\
	if (__r == -EOPNOTSUPP || __r == -ENODEV) {			\
		test_mode = GOSYNC_STANDALONE;				\
		__r = gosync_ctx_make((c), NULL, test_mode);		\
	}								\
	ASSERT_EQ(0, __r) TH_LOG("gosync_ctx_make: %s", strerror(-__r)); \
} while (0)

#define NEED_KERNEL(c) do {						\
	if (test_mode) {						\
		gosync_ctx_free(c);					\
		SKIP(return, "kernel mode only");			\
	}								\
} while (0)

static void *cancel_later(void *arg)
{
	test_sleep_ms(50);
	gosync_ctx_cancel(arg, EHOSTDOWN);
	return NULL;
}

TEST(waits_end_with_the_context)
{
	struct gosync_ctx *root, *dl;
	struct gosync_chan *ch, *full;
	struct gosync_wg *wg;
	pthread_t t;
	uint64_t v = 7;

	NEED_CTX(&root);
	ASSERT_EQ(0, gosync_chan_make(&ch, sizeof(v), 1, test_mode));
	ASSERT_EQ(0, gosync_chan_make(&full, sizeof(v), 1, test_mode));
	ASSERT_EQ(0, gosync_chan_send(full, &v, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, gosync_wg_make(&wg, test_mode));
	ASSERT_EQ(0, gosync_wg_add(wg, 1));
	/* ready: the wait is the plain one */
	EXPECT_EQ(0, gosync_chan_send_ctx(ch, &v, root));
	v = 0;
	EXPECT_EQ(1, gosync_chan_recv_ctx(ch, &v, root));
	EXPECT_EQ(7, v);
	/* a deadline of the context's: the kernel's timer ends the waits */
	ASSERT_EQ(0, gosync_ctx_with_deadline(&dl, root, test_ms(50), 0));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_recv_ctx(ch, &v, dl));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_send_ctx(full, &v, dl));
	if (!test_mode)
		EXPECT_EQ(-ETIMEDOUT, gosync_wg_wait_ctx(wg, dl));
	gosync_ctx_free(dl);
	/* a cancel from another thread, while asleep */
	ASSERT_EQ(0, pthread_create(&t, NULL, cancel_later, root));
	if (test_mode) {	/* standalone: no waitgroup wait with a context */
		EXPECT_EQ(-ECANCELED, gosync_chan_send_ctx(full, &v, root));
	} else {
		EXPECT_EQ(-ECANCELED, gosync_wg_wait_ctx(wg, root));
	}
	pthread_join(t, NULL);
	EXPECT_EQ(EHOSTDOWN, gosync_ctx_cause(root));
	/* done already: the context's error at once, even with a value there */
	ASSERT_EQ(0, gosync_chan_send(ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ECANCELED, gosync_chan_recv_ctx(ch, &v, root));
	/* a waitgroup at zero is not waited for; a done context still wins */
	ASSERT_EQ(0, gosync_ctx_make(&dl, NULL, test_mode));
	ASSERT_EQ(0, gosync_wg_done(wg));
	if (!test_mode) {
		EXPECT_EQ(0, gosync_wg_wait_ctx(wg, dl));
		EXPECT_EQ(-ECANCELED, gosync_wg_wait_ctx(wg, root));
	} else {
		EXPECT_EQ(-EOPNOTSUPP, gosync_wg_wait_ctx(wg, dl));
	}
	if (!test_mode) {
		struct gosync_chan *sch;
		struct gosync_wg *swg;

		/* standalone objects cannot meet the kernel's done channel */
		ASSERT_EQ(0, gosync_chan_make(&sch, sizeof(v), 1, GOSYNC_STANDALONE));
		ASSERT_EQ(0, gosync_wg_make(&swg, GOSYNC_STANDALONE));
		EXPECT_EQ(-EOPNOTSUPP, gosync_chan_recv_ctx(sch, &v, dl));
		EXPECT_EQ(-EOPNOTSUPP, gosync_chan_send_ctx(sch, &v, dl));
		EXPECT_EQ(-EOPNOTSUPP, gosync_wg_wait_ctx(swg, dl));
		gosync_wg_free(swg);
		gosync_chan_free(sch);
	}
	EXPECT_EQ(-EINVAL, gosync_chan_recv_ctx(NULL, &v, dl));
	EXPECT_EQ(-EINVAL, gosync_chan_send_ctx(ch, &v, NULL));
	EXPECT_EQ(-EINVAL, gosync_wg_wait_ctx(NULL, dl));
	gosync_ctx_free(dl);
	gosync_wg_free(wg);
	gosync_chan_free(full);
	gosync_chan_free(ch);
	gosync_ctx_free(root);
}

/* A done case among 100 channel cases; epoll on the context's fd. */
TEST(select_and_epoll_see_done)
{
	struct gosync_case cases[101];
	struct gosync_chan *chans[100];
	struct gosync_ctx *c;
	struct epoll_event ev = { .events = EPOLLIN };
	static uint64_t bufs[100];
	pthread_t t;
	int ep, i;

	NEED_CTX(&c);
	NEED_KERNEL(c);
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, gosync_chan_make(&chans[i], 8, i % 3, test_mode));
		cases[i] = (struct gosync_case){ .ch = chans[i], .op = GOSYNC_RECV,
						 .elem = &bufs[i], .fd = -1 };
	}
	cases[100] = (struct gosync_case){ .ch = gosync_ctx_done(c),
					   .op = GOSYNC_RECV, .fd = -1 };
	ASSERT_NE(NULL, cases[100].ch);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, gosync_ctx_fd(c), &ev));
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 10));
	EXPECT_EQ(-ETIMEDOUT, gosync_select(cases, 101, test_ms(20)));
	ASSERT_EQ(0, pthread_create(&t, NULL, cancel_later, c));
	EXPECT_EQ(100, gosync_select(cases, 101, test_ms(10000)));
	EXPECT_EQ(0, cases[100].ok);
	pthread_join(t, NULL);
	EXPECT_EQ(1, epoll_wait(ep, &ev, 1, 1000));
	EXPECT_TRUE(ev.events & EPOLLIN);
	close(ep);
	for (i = 0; i < 100; i++)
		gosync_chan_free(chans[i]);
	gosync_ctx_free(c);
}

static int ok_task(struct gosync_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return 0;
}

TEST(wait_with_nothing_started)
{
	struct gosync_ctx *c;
	struct gosync_group *g;

	NEED_CTX(&c);
	ASSERT_EQ(0, gosync_group_make(&g, c, 0));
	EXPECT_EQ(0, gosync_ctx_err(gosync_group_ctx(g)));
	EXPECT_EQ(0, gosync_group_wait(g));
	/* Go's Wait cancels the group's context, cause ECANCELED */
	EXPECT_EQ(-ECANCELED, gosync_ctx_err(gosync_group_ctx(g)));
	EXPECT_EQ(ECANCELED, gosync_ctx_cause(gosync_group_ctx(g)));
	EXPECT_EQ(0, gosync_ctx_err(c));
	EXPECT_EQ(0, gosync_group_wait(g));
	gosync_group_free(g);
	EXPECT_EQ(-EINVAL, gosync_group_make(NULL, c, 0));
	EXPECT_EQ(-EINVAL, gosync_group_make(&g, c, GOSYNC_NOMAP));
	/* A group's context is in its parent's mode. */
	if (!test_mode)
		EXPECT_EQ(-EINVAL, gosync_group_make(&g, c, GOSYNC_STANDALONE));
	ASSERT_EQ(0, gosync_group_make(&g, NULL, GOSYNC_STANDALONE));
	EXPECT_EQ(0, gosync_group_wait(g));
	gosync_group_free(g);
	EXPECT_EQ(-EINVAL, gosync_group_go(NULL, ok_task, NULL));
	EXPECT_EQ(-EINVAL, gosync_group_wait(NULL));
	EXPECT_EQ(NULL, gosync_group_ctx(NULL));
	gosync_group_free(NULL);
	gosync_ctx_free(c);
}

/* Blocks until its context is done: counts how many saw it so. */
struct blocker {
	struct gosync_chan *never;	/* nobody sends on it */
	int *saw_cancel;		/* shared memory */
};

static int blocked_task(struct gosync_ctx *ctx, void *arg)
{
	struct blocker *b = arg;
	uint64_t v;
	int ret = gosync_chan_recv_ctx(b->never, &v, ctx);

	if (ret == -ECANCELED)
		__atomic_add_fetch(b->saw_cancel, 1, __ATOMIC_SEQ_CST);
	return ret == -ECANCELED ? 0 : -EPROTO;
}

static int failing_task(struct gosync_ctx *ctx, void *arg)
{
	(void)ctx;
	test_sleep_ms((long)(uintptr_t)arg);
	return -EXDEV;
}

static int late_failing_task(struct gosync_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	test_sleep_ms(300);
	return -ENOEXEC;
}

/* The first error wins and cancels the rest: @fork tasks or threads. */
static void first_error_wins(struct __test_metadata *_metadata, bool fork)
{
	int (*start)(struct gosync_group *, int (*)(struct gosync_ctx *, void *),
		     void *) = fork ? gosync_group_fork : gosync_group_go;
	struct gosync_ctx *c;
	struct gosync_group *g;
	struct blocker b;

	NEED_CTX(&c);
	b.saw_cancel = test_shared(sizeof(int));
	ASSERT_NE(NULL, b.saw_cancel);
	ASSERT_EQ(0, gosync_chan_make(&b.never, 8, 0, test_mode));
	ASSERT_EQ(0, gosync_group_make(&g, c, 0));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, start(g, blocked_task, &b));
	ASSERT_EQ(0, start(g, failing_task, (void *)(uintptr_t)50));
	ASSERT_EQ(0, start(g, late_failing_task, NULL));
	EXPECT_EQ(-EXDEV, gosync_group_wait(g));
	EXPECT_EQ(3, *b.saw_cancel);
	EXPECT_EQ(-ECANCELED, gosync_ctx_err(gosync_group_ctx(g)));
	EXPECT_EQ(EXDEV, gosync_ctx_cause(gosync_group_ctx(g)));
	/* the caller's context is the parent: not cancelled */
	EXPECT_EQ(0, gosync_ctx_err(c));
	gosync_group_free(g);
	gosync_chan_free(b.never);
	munmap(b.saw_cancel, sizeof(int));
	gosync_ctx_free(c);
}

TEST(first_error_wins_threads)
{
	first_error_wins(_metadata, false);
}

TEST(first_error_wins_forked)
{
	NO_TSAN_FORK();
	first_error_wins(_metadata, true);
}

static void *waiter(void *arg)
{
	return (void *)(intptr_t)gosync_group_wait(arg);
}

/* Two waiters at once: both get the first error, after every join. */
TEST(two_waiters)
{
	struct gosync_ctx *c;
	struct gosync_group *g;
	pthread_t t;
	void *r;

	NEED_CTX(&c);
	ASSERT_EQ(0, gosync_group_make(&g, c, 0));
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(0, gosync_group_go(g, failing_task,
					     (void *)(uintptr_t)(10 + i)));
	ASSERT_EQ(0, pthread_create(&t, NULL, waiter, g));
	EXPECT_EQ(-EXDEV, gosync_group_wait(g));
	pthread_join(t, &r);
	EXPECT_EQ(-EXDEV, (int)(intptr_t)r);
	gosync_group_free(g);
	gosync_ctx_free(c);
}

/* Waits until its channel is closed (a gate). */
static int gated_task(struct gosync_ctx *ctx, void *arg)
{
	struct blocker *b = arg;
	uint64_t v;

	return gosync_chan_recv_ctx(b->never, &v, ctx) == 0 ? 0 : -EPROTO;
}

/* Counts itself in and out of shared memory: the highest count seen. */
struct counter {
	int now, max;
};

static int counted_task(struct gosync_ctx *ctx, void *arg)
{
	struct counter *k = arg;
	int n = __atomic_add_fetch(&k->now, 1, __ATOMIC_SEQ_CST), m;

	(void)ctx;
	m = __atomic_load_n(&k->max, __ATOMIC_SEQ_CST);
	while (n > m && !__atomic_compare_exchange_n(&k->max, &m, n, false,
						     __ATOMIC_SEQ_CST,
						     __ATOMIC_SEQ_CST))
		;
	test_sleep_ms(10);
	__atomic_sub_fetch(&k->now, 1, __ATOMIC_SEQ_CST);
	return 0;
}

TEST(limit_is_never_passed)
{
	struct counter *k = test_shared(sizeof(*k));
	struct gosync_ctx *c;
	struct gosync_group *g;
	struct blocker gate;
	int gate_saw = 0;

	NO_TSAN_FORK();

	NEED_CTX(&c);
	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, gosync_group_make(&g, c, 0));
	EXPECT_EQ(-EINVAL, gosync_group_set_limit(g, 0));
	ASSERT_EQ(0, gosync_group_set_limit(g, 2));
	/*
	 * Two tasks that wait for a gate fill the limit: try_go is -EAGAIN,
	 * the limit cannot change while they run.
	 */
	ASSERT_EQ(0, gosync_chan_make(&gate.never, 8, 0, test_mode));
	gate.saw_cancel = &gate_saw;
	ASSERT_EQ(0, gosync_group_go(g, gated_task, &gate));
	ASSERT_EQ(0, gosync_group_fork(g, gated_task, &gate));
	EXPECT_EQ(-EAGAIN, gosync_group_try_go(g, counted_task, k));
	EXPECT_EQ(-EBUSY, gosync_group_set_limit(g, 5));
	gosync_chan_close(gate.never);
	EXPECT_EQ(0, gosync_group_wait(g));
	/* many, threads and forks: never more than 2 at once */
	for (int i = 0; i < 20; i++)
		ASSERT_EQ(0, (i % 2 ? gosync_group_fork : gosync_group_go)
			  (g, counted_task, k));
	EXPECT_EQ(0, gosync_group_wait(g));
	EXPECT_LE(k->max, 2);
	EXPECT_LE(1, k->max);
	/* a limit of 1 by try_go alone: whatever runs, never 2 */
	ASSERT_EQ(0, gosync_group_set_limit(g, 1));
	k->max = 0;
	for (int i = 0; i < 50; i++) {
		int r = gosync_group_try_go(g, counted_task, k);

		if (r != -EAGAIN)
			ASSERT_EQ(0, r);
	}
	EXPECT_EQ(0, gosync_group_wait(g));
	EXPECT_EQ(1, k->max);
	ASSERT_EQ(0, gosync_group_set_limit(g, -1));
	gosync_group_free(g);
	gosync_chan_free(gate.never);
	munmap(k, sizeof(*k));
	gosync_ctx_free(c);
}

static int segv_task(struct gosync_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	test_sleep_ms(50);
	/* a real death by the signal (a sanitizer's handler would exit 1) */
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
	return 0;
}

/* A forked task killed by a signal fails the group at once. */
TEST(forked_task_killed_fails_the_group)
{
	struct gosync_ctx *c;
	struct gosync_group *g;
	struct blocker b;
	uint64_t v;
	int64_t t0;

	NO_TSAN_FORK();

	NEED_CTX(&c);
	b.saw_cancel = test_shared(sizeof(int));
	ASSERT_NE(NULL, b.saw_cancel);
	ASSERT_EQ(0, gosync_chan_make(&b.never, 8, 0, test_mode));
	ASSERT_EQ(0, gosync_group_make(&g, c, 0));
	ASSERT_EQ(0, gosync_group_go(g, blocked_task, &b));
	ASSERT_EQ(0, gosync_group_fork(g, blocked_task, &b));
	ASSERT_EQ(0, gosync_group_fork(g, segv_task, NULL));
	/* at once: before anyone waits, the context is done */
	t0 = gosync_now();
	EXPECT_EQ(-ECANCELED, gosync_chan_recv_ctx(b.never, &v, gosync_group_ctx(g)));
	EXPECT_LT(gosync_now() - t0, 10LL * 1000000000);
	EXPECT_EQ(EOWNERDEAD, gosync_ctx_cause(gosync_group_ctx(g)));
	EXPECT_EQ(-EOWNERDEAD, gosync_group_wait(g));
	EXPECT_EQ(2, *b.saw_cancel);
	gosync_group_free(g);
	gosync_chan_free(b.never);
	munmap(b.saw_cancel, sizeof(int));
	gosync_ctx_free(c);
}

/*
 * CANCEL_ON_EXIT under a group: the process that waits on its forked
 * tasks is SIGKILLed; they see the context cancelled (cause ESRCH), and
 * each reports so through a channel the test holds.
 */
struct orphan_arg {
	struct gosync_chan *never, *report;
};

static int orphan_task(struct gosync_ctx *ctx, void *arg)
{
	struct orphan_arg *a = arg;
	uint64_t v;
	int ret = gosync_chan_recv_ctx(a->never, &v, ctx);

	v = ret == -ECANCELED && gosync_ctx_cause(ctx) == ESRCH ? 1 : 2;
	gosync_chan_send(a->report, &v, gosync_after(10LL * 1000000000));
	return 0;
}

TEST(cancel_on_exit_tells_forked_tasks)
{
	struct gosync_ctx *c;
	struct orphan_arg a;
	uint64_t v;
	pid_t waiter;

	NEED_CTX(&c);
	NEED_KERNEL(c);
	ASSERT_EQ(0, gosync_chan_make(&a.never, 8, 0, test_mode));
	ASSERT_EQ(0, gosync_chan_make(&a.report, 8, 4, test_mode));
	waiter = fork();
	ASSERT_LE(0, waiter);
	if (waiter == 0) {
		struct gosync_group *g;

		if (gosync_group_make(&g, NULL, GOSYNC_CTX_CANCEL_ON_EXIT))
			_exit(1);
		for (int i = 0; i < 2; i++)
			if (gosync_group_fork(g, orphan_task, &a))
				_exit(2);
		v = 0;
		gosync_chan_send(a.report, &v, GOSYNC_FOREVER);	/* started */
		gosync_group_wait(g);
		_exit(3);
	}
	ASSERT_EQ(1, gosync_chan_recv(a.report, &v, test_ms(10000)));
	EXPECT_EQ(0, v);
	test_sleep_ms(50);
	kill(waiter, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, test_wait(waiter));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(1, gosync_chan_recv(a.report, &v, test_ms(10000)));
		EXPECT_EQ(1, v) TH_LOG("a forked task did not see ESRCH");
	}
	gosync_chan_free(a.report);
	gosync_chan_free(a.never);
	gosync_ctx_free(c);
}

TEST_HARNESS_MAIN
