// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Once and Cond in both modes.  Once: 8 racing processes, the function
 * runs exactly once and every caller returns only after it finished; in
 * kernel mode, a runner that dies mid-function leaves it to a later
 * caller.  Cond: wait releases the mutex and waits; signal wakes one,
 * broadcast all, across processes; a deadline returns with the mutex held
 * again.
 */
#include "kselftest_harness.h"
#include "chan_test.h"

struct once_board {
	long runs;
	long finished;
	long early;	/* callers that returned before it finished */
};

static struct once_board *board;

static void slow_init(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&board->runs, 1, __ATOMIC_SEQ_CST);
	test_sleep_ms(100);
	__atomic_store_n(&board->finished, 1, __ATOMIC_SEQ_CST);
}

FIXTURE(oc) {
	struct gosync_once *once;
};

FIXTURE_VARIANT(oc) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_SYNC_MODES(oc);

FIXTURE_SETUP(oc)
{
	self->once = NULL;
	board = test_shared(4096);
	ASSERT_NE(NULL, board);
	GOSYNC_MAKE_SYNC(gosync_once_make, &self->once);
}

FIXTURE_TEARDOWN(oc)
{
	gosync_once_free(self->once);
	munmap(board, 4096);
}

TEST_F_TIMEOUT(oc, once_across_racing_processes, 120)
{
	pid_t pid[8];

	for (int i = 0; i < 8; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			int r = gosync_once_do(self->once, slow_init, NULL);

			if (r < 0)
				_exit(1);
			if (!__atomic_load_n(&board->finished, __ATOMIC_SEQ_CST))
				__atomic_add_fetch(&board->early, 1, __ATOMIC_SEQ_CST);
			_exit(0);
		}
	}
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(0, test_wait(pid[i]));
	EXPECT_EQ(1, board->runs);
	EXPECT_EQ(0, board->early);
	/* Done: later calls return at once, without running it. */
	EXPECT_EQ(0, gosync_once_do(self->once, slow_init, NULL));
	EXPECT_EQ(1, board->runs);
	EXPECT_EQ(-EINVAL, gosync_once_do(self->once, NULL, NULL));
}

static __attribute__((unused)) void die_midway(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&board->runs, 1, __ATOMIC_SEQ_CST);
	_exit(0);
}

#ifndef GOSYNC_TEST_HOST
/* Kernel mode: the runner dies midway; a later caller runs it again. */
TEST(once_runner_dies_a_later_caller_runs_it)
{
	struct gosync_once *once;
	int ret = gosync_once_make(&once, 0);
	pid_t pid;

	if (ret == -ENODEV)
		SKIP(return, "gosync.ko not loaded");
	ASSERT_EQ(0, ret);
	board = test_shared(4096);
	ASSERT_NE(NULL, board);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		gosync_once_do(once, die_midway, NULL);
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(1, gosync_once_do(once, slow_init, NULL));
	EXPECT_EQ(2, board->runs);
	EXPECT_EQ(1, board->finished);
	gosync_once_free(once);
	munmap(board, 4096);
}
#endif

FIXTURE(cv) {
	struct gosync_cond *c;
	struct gosync_mutex *m;
	long *shared;
};

FIXTURE_VARIANT(cv) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_SYNC_MODES(cv);

FIXTURE_SETUP(cv)
{
	self->c = NULL;
	self->m = NULL;
	self->shared = test_shared(4096);
	ASSERT_NE(NULL, self->shared);
	GOSYNC_MAKE_SYNC(gosync_cond_make, &self->c);
	ASSERT_EQ(0, gosync_mutex_make(&self->m, variant->flags));
}

FIXTURE_TEARDOWN(cv)
{
	gosync_cond_free(self->c);
	gosync_mutex_free(self->m);
	munmap(self->shared, 4096);
}

TEST_F(cv, wait_needs_the_mutex_and_times_out_holding_it)
{
	EXPECT_EQ(-EPERM, gosync_cond_wait(self->c, self->m, GOSYNC_FOREVER));
	ASSERT_EQ(0, gosync_mutex_lock(self->m, GOSYNC_FOREVER));
	EXPECT_EQ(-ETIMEDOUT, gosync_cond_wait(self->c, self->m, test_ms(30)));
	/* Held again on return. */
	EXPECT_EQ(-EBUSY, gosync_mutex_trylock(self->m));
	EXPECT_EQ(0, gosync_mutex_unlock(self->m));
	EXPECT_EQ(0, gosync_cond_signal(self->c));	/* nobody: no-op */
	EXPECT_EQ(0, gosync_cond_broadcast(self->c));
}

/* A queue of work guarded by the mutex; consumers wait on the cond. */
TEST_F_TIMEOUT(cv, producer_consumers_across_processes, 120)
{
	volatile long *items = &self->shared[0], *done = &self->shared[1];
	long *taken = &self->shared[2];
	pid_t pid[3];

	for (int i = 0; i < 3; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			for (;;) {
				if (gosync_mutex_lock(self->m, test_ms(20000)))
					_exit(1);
				while (!*items && !*done)
					if (gosync_cond_wait(self->c, self->m,
							     test_ms(20000)))
						_exit(2);
				if (!*items && *done) {
					gosync_mutex_unlock(self->m);
					_exit(0);
				}
				(*items)--;
				__atomic_add_fetch(taken, 1, __ATOMIC_SEQ_CST);
				gosync_mutex_unlock(self->m);
			}
		}
	}
	for (int k = 0; k < 300; k++) {
		ASSERT_EQ(0, gosync_mutex_lock(self->m, GOSYNC_FOREVER));
		(*items)++;
		ASSERT_EQ(0, gosync_mutex_unlock(self->m));
		ASSERT_EQ(0, gosync_cond_signal(self->c));
	}
	ASSERT_EQ(0, gosync_mutex_lock(self->m, GOSYNC_FOREVER));
	*done = 1;
	ASSERT_EQ(0, gosync_mutex_unlock(self->m));
	ASSERT_EQ(0, gosync_cond_broadcast(self->c));
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(0, test_wait(pid[i]));
	EXPECT_EQ(300, *taken);
	EXPECT_EQ(0, *items);
}

#ifndef GOSYNC_TEST_HOST
/*
 * The mutex becomes unusable while a waiter sleeps on the cond (its
 * holder died and the next locker unlocked it without repairing it): the
 * wait ends with ENOTRECOVERABLE and, as nobody can hold such a mutex,
 * without it.
 */
TEST_F_TIMEOUT(cv, wait_on_a_mutex_that_became_unrecoverable, 60)
{
	pid_t waiter, holder;

	if (!variant->kernel)
		SKIP(return, "owner death needs the module");
	waiter = fork();
	ASSERT_LE(0, waiter);
	if (waiter == 0) {
		int r;

		if (gosync_mutex_lock(self->m, GOSYNC_FOREVER))
			_exit(1);
		r = gosync_cond_wait(self->c, self->m, test_ms(1500));
		if (r != -ENOTRECOVERABLE)
			_exit(2);
		_exit(gosync_mutex_trylock(self->m) == -ENOTRECOVERABLE ? 0 : 3);
	}
	test_sleep_ms(200);
	holder = fork();
	ASSERT_LE(0, holder);
	if (holder == 0)
		_exit(gosync_mutex_lock(self->m, GOSYNC_FOREVER) ? 1 : 0);
	EXPECT_EQ(0, test_wait(holder));	/* died holding it */
	EXPECT_EQ(-EOWNERDEAD, gosync_mutex_lock(self->m, test_ms(5000)));
	EXPECT_EQ(0, gosync_mutex_unlock(self->m));	/* not repaired */
	EXPECT_EQ(0, test_wait(waiter));
}
#endif

TEST_HARNESS_MAIN
