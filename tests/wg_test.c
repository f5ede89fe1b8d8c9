// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * WaitGroup in both modes: Add/Done/Wait, deadlines, a negative counter
 * (EINVAL, nothing changed), reuse after Wait, sharing through the fd,
 * and 8 processes x 1000 Add/Done rounds against waiters in two other
 * processes with no lost wakeup.  In kernel mode the fd is pollable.
 * With the library's step hooks: reuse at once while a waiter that timed
 * out is still on its way out loses no wakeup of the next round.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "chan_test.h"
#include "internal.h"

FIXTURE(wg) {
	struct gosync_wg *wg;
};

FIXTURE_VARIANT(wg) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_SYNC_MODES(wg);

FIXTURE_SETUP(wg)
{
	self->wg = NULL;
	GOSYNC_MAKE_SYNC(gosync_wg_make, &self->wg);
}

FIXTURE_TEARDOWN(wg)
{
	gosync_wg_free(self->wg);
}

TEST_F(wg, add_done_wait)
{
	EXPECT_EQ(0, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, gosync_wg_add(self->wg, 2));
	EXPECT_EQ(-EAGAIN, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_wg_wait(self->wg, test_ms(30)));
	EXPECT_EQ(0, gosync_wg_done(self->wg));
	EXPECT_EQ(-ETIMEDOUT, gosync_wg_wait(self->wg, 0));
	EXPECT_EQ(0, gosync_wg_done(self->wg));
	EXPECT_EQ(0, gosync_wg_wait(self->wg, GOSYNC_FOREVER));
}

/* Go panics on a negative counter; here it is EINVAL and nothing changes. */
TEST_F(wg, negative_counter_einval)
{
	EXPECT_EQ(-EINVAL, gosync_wg_done(self->wg));
	EXPECT_EQ(0, gosync_wg_add(self->wg, 1));
	EXPECT_EQ(-EINVAL, gosync_wg_add(self->wg, -2));
	EXPECT_EQ(-EAGAIN, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, gosync_wg_done(self->wg));
	EXPECT_EQ(0, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EINVAL, gosync_wg_add(NULL, 1));
	EXPECT_EQ(-EINVAL, gosync_wg_wait(self->wg, -3));
}

/*
 * An Add that would take the counter past INT32_MAX is EOVERFLOW and
 * changes nothing, not even for a moment: Add and Done racing with it in
 * another thread never see an impossible counter, and two such Adds at
 * once never wrap it.
 */
struct wg_overflow {
	struct gosync_wg *wg;
	int stop;
	long tries, bad;
};

static void *wg_overflow_adder(void *arg)
{
	struct wg_overflow *o = arg;

	while (!__atomic_load_n(&o->stop, __ATOMIC_RELAXED)) {
		if (gosync_wg_add(o->wg, INT32_MAX) != -EOVERFLOW)
			__atomic_add_fetch(&o->bad, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&o->tries, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST_F(wg, overflowing_add_changes_nothing)
{
	struct wg_overflow o = { .wg = self->wg };
	pthread_t t[2];
	long i, bad = 0;

	ASSERT_EQ(0, gosync_wg_add(self->wg, 10));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, wg_overflow_adder, &o));
	/* Race for a while: until both sides made many attempts. */
	for (i = 0; i < 200000 ||
	     __atomic_load_n(&o.tries, __ATOMIC_RELAXED) < 400000; i++)
		if (gosync_wg_add(self->wg, 1) || gosync_wg_done(self->wg))
			bad++;
	__atomic_store_n(&o.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, o.bad);
	/* Still exactly 10: nine Dones leave it waiting, the tenth frees it. */
	for (i = 0; i < 9; i++)
		EXPECT_EQ(0, gosync_wg_done(self->wg));
	EXPECT_EQ(-EAGAIN, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, gosync_wg_done(self->wg));
	EXPECT_EQ(0, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK));
}

/* Waiters in other processes are released; the group is reusable at once. */
TEST_F(wg, waiters_released_then_reuse)
{
	pid_t pid[3];

	for (int round = 0; round < 3; round++) {
		ASSERT_EQ(0, gosync_wg_add(self->wg, 1));
		for (int i = 0; i < 3; i++) {
			pid[i] = fork();
			ASSERT_LE(0, pid[i]);
			if (pid[i] == 0)
				_exit(gosync_wg_wait(self->wg, test_ms(20000)) ? 1 : 0);
		}
		test_sleep_ms(50);
		ASSERT_EQ(0, gosync_wg_done(self->wg));
		for (int i = 0; i < 3; i++)
			EXPECT_EQ(0, test_wait(pid[i]));
	}
}

/*
 * Reuse "at once" (the man page's promise) with a timed-out waiter still
 * leaving: W1 counts itself in and times out; while it is on its way out
 * (the hook holds it there), the group reaches zero, is reused (Add 1),
 * and W2 starts waiting.  When W1 finishes leaving, W2's count must still
 * be there: the Done that ends the new round must wake W2.
 */
static struct {
	pid_t w1;
	int giving_up, go_on;
} wr;

static void wg_reuse_hook(enum gosync_step step)
{
	if (step == GOSYNC_STEP_WG_GIVING_UP &&
	    gettid() == __atomic_load_n(&wr.w1, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&wr.giving_up, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&wr.giving_up, 1, __ATOMIC_RELEASE);
		test_wait_flag(&wr.go_on, 10000);
	}
}

struct waiter {
	struct gosync_wg *wg;
	int64_t deadline;
	int ret, done;
	pid_t tid;
	bool first;
};

static void *wg_waiter(void *arg)
{
	struct waiter *w = arg;

	if (w->first)
		__atomic_store_n(&wr.w1, gettid(), __ATOMIC_RELEASE);
	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	w->ret = gosync_wg_wait(w->wg, w->deadline);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F_TIMEOUT(wg, reuse_while_a_timed_out_waiter_leaves, 60)
{
	struct waiter w1 = { .wg = self->wg, .first = true };
	struct waiter w2 = { .wg = self->wg };
	pthread_t t1, t2;

	memset(&wr, 0, sizeof(wr));
	ASSERT_EQ(0, gosync_wg_add(self->wg, 1));
	gosync_test_set_hook(wg_reuse_hook);
	w1.deadline = test_ms(50);
	ASSERT_EQ(0, pthread_create(&t1, NULL, wg_waiter, &w1));
	ASSERT_TRUE(test_wait_flag(&wr.giving_up, 10000));
	/* The round ends, and the group is reused at once. */
	ASSERT_EQ(0, gosync_wg_done(self->wg));
	ASSERT_EQ(0, gosync_wg_add(self->wg, 1));
	w2.deadline = GOSYNC_FOREVER;
	ASSERT_EQ(0, pthread_create(&t2, NULL, wg_waiter, &w2));
	while (!__atomic_load_n(&w2.tid, __ATOMIC_ACQUIRE))
		sched_yield();
	ASSERT_TRUE(test_wait_asleep_in(w2.tid, SYS_futex_waitv, 5000));
	/* W1 finishes leaving, then the new round ends. */
	__atomic_store_n(&wr.go_on, 1, __ATOMIC_RELEASE);
	pthread_join(t1, NULL);
	gosync_test_set_hook(NULL);
	EXPECT_TRUE(w1.ret == -ETIMEDOUT || w1.ret == 0);
	ASSERT_EQ(0, gosync_wg_done(self->wg));
	EXPECT_TRUE(test_wait_flag(&w2.done, 2000))
		TH_LOG("the second round's waiter was never woken");
	if (!__atomic_load_n(&w2.done, __ATOMIC_ACQUIRE)) {
		/* Unstick it, to clean up. */
		int err = 0;
		struct gosync_wg_words *w =
			gosync_sync_words((struct gosync_sync *)self->wg, &err);

		ASSERT_NE(NULL, w);
		__atomic_add_fetch((uint32_t *)&w->state, 1, __ATOMIC_SEQ_CST);
		gosync_futex_wake((uint32_t *)&w->state, 1);
	}
	pthread_join(t2, NULL);
	EXPECT_EQ(0, w2.ret);
}

/*
 * The Done that resets the group is held between its reset and its wake
 * (the hook); meanwhile the group is reused, and a waiter of the new
 * round starts waiting.  The late wake must not release it: it waits for
 * its own round.  Once with the previous round's waiter timed out before
 * the reset, once with it still asleep.
 */
static struct {
	int zeroed, go_on;
} wz;

static void wg_zeroed_hook(enum gosync_step step)
{
	if (step == GOSYNC_STEP_WG_ZEROED &&
	    !__atomic_load_n(&wz.zeroed, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&wz.zeroed, 1, __ATOMIC_RELEASE);
		test_wait_flag(&wz.go_on, 10000);
	}
}

static void *wg_doner(void *arg)
{
	gosync_wg_done(arg);
	return NULL;
}

TEST_F_TIMEOUT(wg, late_wake_does_not_release_the_next_round, 60)
{
	for (int asleep = 0; asleep < 2; asleep++) {
		struct waiter w1 = { .wg = self->wg };
		struct waiter w2 = { .wg = self->wg };
		pthread_t t1, t2, d;

		memset(&wz, 0, sizeof(wz));
		ASSERT_EQ(0, gosync_wg_add(self->wg, 1));
		w1.deadline = asleep ? GOSYNC_FOREVER : test_ms(20);
		ASSERT_EQ(0, pthread_create(&t1, NULL, wg_waiter, &w1));
		if (asleep) {
			while (!__atomic_load_n(&w1.tid, __ATOMIC_ACQUIRE))
				sched_yield();
			ASSERT_TRUE(test_wait_asleep_in(w1.tid, SYS_futex_waitv, 5000));
		} else {
			pthread_join(t1, NULL);
			ASSERT_EQ(-ETIMEDOUT, w1.ret);
		}
		gosync_test_set_hook(wg_zeroed_hook);
		ASSERT_EQ(0, pthread_create(&d, NULL, wg_doner, self->wg));
		/* Reset, wake pending: (asleep) or nothing owed (timed out). */
		test_wait_flag(&wz.zeroed, asleep ? 5000 : 200);
		EXPECT_EQ(0, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK));
		ASSERT_EQ(0, gosync_wg_add(self->wg, 1));	/* round 2 */
		w2.deadline = GOSYNC_FOREVER;
		ASSERT_EQ(0, pthread_create(&t2, NULL, wg_waiter, &w2));
		while (!__atomic_load_n(&w2.tid, __ATOMIC_ACQUIRE))
			sched_yield();
		ASSERT_TRUE(test_wait_asleep_in(w2.tid, SYS_futex_waitv, 5000));
		__atomic_store_n(&wz.go_on, 1, __ATOMIC_RELEASE);
		pthread_join(d, NULL);
		gosync_test_set_hook(NULL);
		if (asleep) {
			pthread_join(t1, NULL);
			EXPECT_EQ(0, w1.ret);
		}
		test_sleep_ms(200);
		EXPECT_FALSE(__atomic_load_n(&w2.done, __ATOMIC_ACQUIRE))
			TH_LOG("a waiter of round 2 was released by round 1's wake");
		ASSERT_EQ(0, gosync_wg_done(self->wg));
		pthread_join(t2, NULL);
		EXPECT_EQ(0, w2.ret);
	}
}

/* Timeouts and signals leave nothing behind that breaks later rounds. */
TEST_F(wg, many_timeouts_then_rounds)
{
	ASSERT_EQ(0, gosync_wg_add(self->wg, 1));
	for (int i = 0; i < 200; i++)
		EXPECT_EQ(-ETIMEDOUT, gosync_wg_wait(self->wg, 0));
	for (int i = 0; i < 20; i++)
		EXPECT_EQ(-ETIMEDOUT, gosync_wg_wait(self->wg, test_ms(1)));
	ASSERT_EQ(0, gosync_wg_done(self->wg));
	EXPECT_EQ(0, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK));
	for (int round = 0; round < 3; round++) {
		pid_t pid;

		ASSERT_EQ(0, gosync_wg_add(self->wg, 1));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(gosync_wg_wait(self->wg, test_ms(20000)) ? 1 : 0);
		test_sleep_ms(30);
		ASSERT_EQ(0, gosync_wg_done(self->wg));
		EXPECT_EQ(0, test_wait(pid));
	}
}

TEST_F(wg, shared_through_the_fd)
{
	struct gosync_wg *other;
	struct gosync_chan *ch = NULL;

	ASSERT_EQ(0, gosync_wg_from_fd(&other, gosync_wg_fd(self->wg), 0));
	ASSERT_EQ(0, gosync_wg_add(self->wg, 1));
	EXPECT_EQ(-EAGAIN, gosync_wg_wait(other, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, gosync_wg_done(other));
	EXPECT_EQ(0, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK));
	gosync_wg_free(other);
	/* Not a waitgroup: some other gosync object, or no gosync fd. */
	if (!gosync_chan_make(&ch, 8, 1, variant->flags)) {
		struct gosync_mutex *m;

		EXPECT_GT(0, gosync_wg_from_fd(&other, gosync_chan_fd(ch), 0));
		gosync_chan_free(ch);
		ASSERT_EQ(0, gosync_mutex_make(&m, variant->flags));
		EXPECT_EQ(-EINVAL, gosync_wg_from_fd(&other, gosync_mutex_fd(m), 0));
		gosync_mutex_free(m);
	}
}

#define WORKERS	8
#define ROUNDS	1000

/*
 * 8 processes do 1000 Add/Done rounds each while 2 processes wait for
 * zero over and over: a lost wakeup leaves a waiter asleep with the
 * counter at zero, and its 20 s deadline fails the test.
 */
TEST_F_TIMEOUT(wg, many_rounds_no_lost_wakeup, 300)
{
	int *stop = test_shared(4096), *timeouts = stop + 1, *waits = stop + 2;
	pid_t workers[WORKERS], waiters[2];
	int i;

	ASSERT_NE(NULL, stop);
	for (i = 0; i < 2; i++) {
		waiters[i] = fork();
		ASSERT_LE(0, waiters[i]);
		if (waiters[i] == 0) {
			while (!__atomic_load_n(stop, __ATOMIC_SEQ_CST)) {
				int r = gosync_wg_wait(self->wg, test_ms(20000));

				if (r == -ETIMEDOUT)
					__atomic_add_fetch(timeouts, 1, __ATOMIC_SEQ_CST);
				else if (r)
					_exit(1);
				__atomic_add_fetch(waits, 1, __ATOMIC_SEQ_CST);
			}
			_exit(0);
		}
	}
	for (i = 0; i < WORKERS; i++) {
		workers[i] = fork();
		ASSERT_LE(0, workers[i]);
		if (workers[i] == 0) {
			for (int r = 0; r < ROUNDS; r++) {
				if (gosync_wg_add(self->wg, 1))
					_exit(1);
				if (r % 7 == 0)
					sched_yield();
				if (gosync_wg_done(self->wg))
					_exit(2);
			}
			_exit(0);
		}
	}
	for (i = 0; i < WORKERS; i++)
		EXPECT_EQ(0, test_wait(workers[i]));
	__atomic_store_n(stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 2; i++)
		EXPECT_EQ(0, test_wait(waiters[i]));
	EXPECT_EQ(0, *timeouts);
	EXPECT_LE(2, *waits);
	EXPECT_EQ(0, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK));
	munmap(stop, 4096);
}

#ifndef GOSYNC_TEST_HOST
/* Kernel mode: the fd is readable exactly when the counter is zero. */
TEST(pollable_in_kernel_mode)
{
	struct gosync_wg *wg;
	struct pollfd p = { .events = POLLIN };
	int ret = gosync_wg_make(&wg, 0);
	pid_t pid;

	if (ret == -ENODEV)
		SKIP(return, "gosync.ko not loaded");
	ASSERT_EQ(0, ret);
	p.fd = gosync_wg_fd(wg);
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLIN, p.revents);
	ASSERT_EQ(0, gosync_wg_add(wg, 1));
	EXPECT_EQ(0, poll(&p, 1, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		test_sleep_ms(100);
		_exit(gosync_wg_done(wg) ? 1 : 0);
	}
	/* Woken by a Done in another process, not by polling again. */
	EXPECT_EQ(1, poll(&p, 1, 20000));
	EXPECT_EQ(POLLIN, p.revents);
	EXPECT_EQ(0, test_wait(pid));
	gosync_wg_free(wg);
}
#endif

TEST_HARNESS_MAIN
