// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Mutex in both modes: mutual exclusion across processes (a shared
 * counter incremented without atomics under the lock), trylock, lock with
 * a deadline, unlock of an unlocked mutex (EPERM), unlock by another
 * process (not thread-owned, as Go), Go's starvation mode observable (a
 * waiter that waited more than 1 ms gets the lock before a newcomer), and
 * in kernel mode the death of the holder (EOWNERDEAD, consistent,
 * ENOTRECOVERABLE, and only one of the lockers blocked at the time takes
 * it over).  With the library's step hooks, the exact interleaving in
 * which an unlock takes back a hand-off that a waiter is about to sleep
 * on: the waiter must still be woken.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "chan_test.h"
#include "internal.h"

FIXTURE(mx) {
	struct gosync_mutex *m;
	long *shared;
};

FIXTURE_VARIANT(mx) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_SYNC_MODES(mx);

FIXTURE_SETUP(mx)
{
	self->m = NULL;
	self->shared = test_shared(4096);
	ASSERT_NE(NULL, self->shared);
	GOSYNC_MAKE_SYNC(gosync_mutex_make, &self->m);
}

FIXTURE_TEARDOWN(mx)
{
	gosync_mutex_free(self->m);
	munmap(self->shared, 4096);
}

TEST_F(mx, lock_trylock_unlock)
{
	EXPECT_EQ(-EPERM, gosync_mutex_unlock(self->m));
	EXPECT_EQ(0, gosync_mutex_trylock(self->m));
	EXPECT_EQ(-EBUSY, gosync_mutex_trylock(self->m));
	EXPECT_EQ(-EAGAIN, gosync_mutex_lock(self->m, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_mutex_lock(self->m, test_ms(30)));
	EXPECT_EQ(-ETIMEDOUT, gosync_mutex_lock(self->m, 0));
	EXPECT_EQ(0, gosync_mutex_unlock(self->m));
	EXPECT_EQ(-EPERM, gosync_mutex_unlock(self->m));
	EXPECT_EQ(0, gosync_mutex_lock(self->m, GOSYNC_FOREVER));
	EXPECT_EQ(0, gosync_mutex_unlock(self->m));
	EXPECT_EQ(-EINVAL, gosync_mutex_consistent(self->m));
	EXPECT_EQ(-EINVAL, gosync_mutex_lock(self->m, -9));
	EXPECT_EQ(-EINVAL, gosync_mutex_lock(NULL, GOSYNC_FOREVER));
}

/* Not owned by a thread: another process may unlock it (Go's rule). */
TEST_F(mx, unlocked_by_another_process)
{
	pid_t pid;

	ASSERT_EQ(0, gosync_mutex_lock(self->m, GOSYNC_FOREVER));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(gosync_mutex_unlock(self->m) ? 1 : 0);
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(0, gosync_mutex_trylock(self->m));
	EXPECT_EQ(0, gosync_mutex_unlock(self->m));
}

#define PROCS	4
#define THREADS	2
#define ITERS	2000

static void *hammer(void *arg)
{
	void **a = arg;
	struct gosync_mutex *m = a[0];
	long *counter = a[1];

	for (int i = 0; i < ITERS; i++) {
		long v;

		if (gosync_mutex_lock(m, test_ms(60000)))
			return (void *)1;
		/* Not atomic: only the lock keeps these apart. */
		v = *(volatile long *)counter;
		if (i % 16 == 0)
			sched_yield();
		*(volatile long *)counter = v + 1;
		if (gosync_mutex_unlock(m))
			return (void *)2;
	}
	return NULL;
}

TEST_F_TIMEOUT(mx, mutual_exclusion_across_processes, 300)
{
	pid_t pid[PROCS];

	for (int p = 0; p < PROCS; p++) {
		pid[p] = fork();
		ASSERT_LE(0, pid[p]);
		if (pid[p] == 0) {
			void *arg[2] = { self->m, self->shared };
			pthread_t t[THREADS];
			void *bad = NULL, *r;

			for (int i = 0; i < THREADS; i++)
				pthread_create(&t[i], NULL, hammer, arg);
			for (int i = 0; i < THREADS; i++) {
				pthread_join(t[i], &r);
				bad = bad ? bad : r;
			}
			_exit(bad ? 1 : 0);
		}
	}
	for (int p = 0; p < PROCS; p++)
		EXPECT_EQ(0, test_wait(pid[p]));
	EXPECT_EQ((long)PROCS * THREADS * ITERS, *self->shared);
}

/*
 * Starvation mode: a waiter blocked for more than 1 ms switches the mutex
 * to hand-off, so when the holder unlocks, a newcomer cannot take it: the
 * waiter gets it first.
 */
TEST_F(mx, starving_waiter_beats_a_newcomer)
{
	long *got = &self->shared[0], *ready = &self->shared[1];
	pid_t pid;

	ASSERT_EQ(0, gosync_mutex_lock(self->m, GOSYNC_FOREVER));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__atomic_store_n(ready, 1, __ATOMIC_SEQ_CST);
		if (gosync_mutex_lock(self->m, test_ms(20000)))
			_exit(1);
		__atomic_store_n(got, 1, __ATOMIC_SEQ_CST);
		test_sleep_ms(50);
		_exit(gosync_mutex_unlock(self->m) ? 2 : 0);
	}
	while (!__atomic_load_n(ready, __ATOMIC_SEQ_CST))
		sched_yield();
	/*
	 * The waiter asleep in its wait, then well over 1 ms more (under
	 * TCG a fork's child can take longer than a fixed pause to get
	 * there).
	 */
	ASSERT_TRUE(test_proc_asleep(pid, 20000));
	test_sleep_ms(100);
	ASSERT_EQ(0, gosync_mutex_unlock(self->m));
	/* A newcomer right after the unlock: the lock was handed over. */
	EXPECT_EQ(-EBUSY, gosync_mutex_trylock(self->m));
	EXPECT_EQ(0, gosync_mutex_lock(self->m, test_ms(20000)));
	EXPECT_EQ(1, __atomic_load_n(got, __ATOMIC_SEQ_CST));
	EXPECT_EQ(0, gosync_mutex_unlock(self->m));
	EXPECT_EQ(0, test_wait(pid));
	/* Starvation mode ended with the last waiter: newcomers win again. */
	EXPECT_EQ(0, gosync_mutex_trylock(self->m));
	EXPECT_EQ(0, gosync_mutex_unlock(self->m));
}

/* A deadline passing while waiting leaves the mutex working. */
TEST_F(mx, waiter_times_out)
{
	pid_t pid;

	ASSERT_EQ(0, gosync_mutex_lock(self->m, GOSYNC_FOREVER));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(gosync_mutex_lock(self->m, test_ms(100)) == -ETIMEDOUT ?
		      0 : 1);
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(0, gosync_mutex_unlock(self->m));
	EXPECT_EQ(0, gosync_mutex_trylock(self->m));
	EXPECT_EQ(0, gosync_mutex_unlock(self->m));
}

/*
 * The hand-off taken back.  B holds the mutex; A fails to get it, counts
 * itself in, and passes 1 ms without sleeping (preempted), so it sets
 * STARVING; B unlocks: a hand-off, but its FUTEX_WAKE finds nobody asleep
 * (A is running); A, not allowed a hand-off it has not slept for, sleeps
 * on the hand-off state; B takes the hand-off back.  A must be woken and
 * get the mutex, not sleep on an unlocked one for ever.  (In kernel mode
 * the 100 ms wait slice would hide the loss as a delay; standalone, it
 * is for ever.)
 */
static struct {
	pid_t a;
	int a_loops, starving, missed;
} hf;

static void handoff_hook(enum gosync_step step)
{
	if (gettid() == hf.a && step == GOSYNC_STEP_MUTEX_LOOP) {
		int n = ++hf.a_loops;

		if (n == 1) {
			/* "Preempted": past the threshold without sleeping. */
			test_sleep_ms(3);
		} else if (n == 2) {
			/* STARVING is set now; let B unlock, then go on. */
			__atomic_store_n(&hf.starving, 1, __ATOMIC_RELEASE);
			test_wait_flag(&hf.missed, 5000);
		}
	} else if (step == GOSYNC_STEP_MUTEX_HANDOFF_MISSED) {
		/* B: the hand-off woke nobody; take it back once A sleeps. */
		__atomic_store_n(&hf.missed, 1, __ATOMIC_RELEASE);
		test_wait_asleep_in(hf.a, GOSYNC_TEST_SYS_WAIT, 5000);
	}
}

struct locker {
	struct gosync_mutex *m;
	int ret, done;
	pid_t tid;
};

static void *lock_thread(void *arg)
{
	struct locker *l = arg;

	l->tid = gettid();
	__atomic_store_n(&hf.a, l->tid, __ATOMIC_RELEASE);
	l->ret = gosync_mutex_lock(l->m, GOSYNC_FOREVER);
	__atomic_store_n(&l->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F_TIMEOUT(mx, handoff_taken_back_wakes_the_waiter, 60)
{
	struct locker l = { .m = self->m };
	struct gosync_mutex_words *w;
	pthread_t t;
	int err = 0;

	memset(&hf, 0, sizeof(hf));
	ASSERT_EQ(0, gosync_mutex_lock(self->m, GOSYNC_FOREVER));
	gosync_test_set_hook(handoff_hook);
	ASSERT_EQ(0, pthread_create(&t, NULL, lock_thread, &l));
	ASSERT_TRUE(test_wait_flag(&hf.starving, 10000));
	ASSERT_EQ(0, gosync_mutex_unlock(self->m));
	EXPECT_TRUE(test_wait_flag(&l.done, 2000))
		TH_LOG("the waiter sleeps on an unlocked mutex");
	gosync_test_set_hook(NULL);
	if (!__atomic_load_n(&l.done, __ATOMIC_ACQUIRE)) {
		/* Unstick it, to clean up. */
		w = gosync_sync_words((struct gosync_sync *)self->m, &err);
		ASSERT_NE(NULL, w);
		gosync_futex_wake(&w->state, 1);
	}
	pthread_join(t, NULL);
	EXPECT_EQ(0, l.ret);
	EXPECT_EQ(0, gosync_mutex_unlock(self->m));
	EXPECT_EQ(0, gosync_mutex_trylock(self->m));
	EXPECT_EQ(0, gosync_mutex_unlock(self->m));
}

#ifndef GOSYNC_TEST_HOST
/*
 * Kernel mode: the holder dies; the next locker gets it with EOWNERDEAD
 * (a waiter already blocked, too), may make it consistent; unlocking it
 * inconsistent makes it unusable.
 */
TEST(owner_death)
{
	struct gosync_mutex *m;
	int ret = gosync_mutex_make(&m, 0);
	pid_t pid, waiter;

	if (ret == -ENODEV)
		SKIP(return, "gosync.ko not loaded");
	ASSERT_EQ(0, ret);
	for (int round = 0; round < 2; round++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			if (gosync_mutex_lock(m, GOSYNC_FOREVER))
				_exit(1);
			test_sleep_ms(200);
			_exit(0);	/* dies holding it */
		}
		test_sleep_ms(50);
		/* A waiter blocked when the holder dies. */
		waiter = fork();
		ASSERT_LE(0, waiter);
		if (waiter == 0) {
			int r = gosync_mutex_lock(m, test_ms(20000));

			if (r != -EOWNERDEAD)
				_exit(1);
			if (round == 0 && gosync_mutex_consistent(m))
				_exit(2);
			_exit(gosync_mutex_unlock(m) ? 3 : 0);
		}
		EXPECT_EQ(0, test_wait(pid));
		EXPECT_EQ(0, test_wait(waiter));
	}
	/* Round 1 unlocked it inconsistent: unusable now. */
	EXPECT_EQ(-ENOTRECOVERABLE, gosync_mutex_lock(m, GOSYNC_FOREVER));
	EXPECT_EQ(-ENOTRECOVERABLE, gosync_mutex_trylock(m));
	gosync_mutex_free(m);
}

/*
 * Three lockers (processes) blocked when the holder is SIGKILLed: exactly
 * one takes the mutex over with EOWNERDEAD, and they still get it one at
 * a time (OWNER_DIED stays set until consistent(), so each of them saw a
 * dead holder's word).
 */
TEST_F_TIMEOUT(mx, owner_death_one_taker_at_a_time, 120)
{
	long *inside = &self->shared[0], *most = &self->shared[1];
	long *deads = &self->shared[2], *oks = &self->shared[3];
	pid_t holder, lockers[3];

	if (!variant->kernel)
		SKIP(return, "owner death needs the module");
	holder = fork();
	ASSERT_LE(0, holder);
	if (holder == 0) {
		if (gosync_mutex_lock(self->m, GOSYNC_FOREVER))
			_exit(1);
		pause();
		_exit(0);
	}
	test_sleep_ms(100);
	for (int i = 0; i < 3; i++) {
		lockers[i] = fork();
		ASSERT_LE(0, lockers[i]);
		if (lockers[i] == 0) {
			int r = gosync_mutex_lock(self->m, test_ms(30000));
			long n;

			if (r != 0 && r != -EOWNERDEAD)
				_exit(1);
			n = __atomic_add_fetch(inside, 1, __ATOMIC_SEQ_CST);
			for (long m = *most; n > m &&
			     !__atomic_compare_exchange_n(most, &m, n, false,
				__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);)
				;
			__atomic_add_fetch(r ? deads : oks, 1, __ATOMIC_SEQ_CST);
			test_sleep_ms(300);
			__atomic_sub_fetch(inside, 1, __ATOMIC_SEQ_CST);
			if (r == -EOWNERDEAD && gosync_mutex_consistent(self->m))
				_exit(2);
			_exit(gosync_mutex_unlock(self->m) ? 3 : 0);
		}
	}
	test_sleep_ms(300);	/* all three blocked */
	kill(holder, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, test_wait(holder));
	/* Only its taker may make it consistent: not us, who never took it. */
	EXPECT_EQ(-EINVAL, gosync_mutex_consistent(self->m));
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(0, test_wait(lockers[i]));
	EXPECT_EQ(1, *most) TH_LOG("%ld lockers were inside at once", *most);
	EXPECT_EQ(1, *deads);
	EXPECT_EQ(2, *oks);
}
#endif

TEST_HARNESS_MAIN
