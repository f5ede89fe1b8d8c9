// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gosync_wg_add_owned(): a WaitGroup count owned by the process that
 * added it, paid by the kernel when that process dies.  A worker that is
 * SIGKILLed before its Done, after part of its Dones, while blocked in a
 * channel receive, or between its Done's zeroing and its futex wake, or
 * that exits without its Done, releases the waiter (asleep by then, so
 * the kernel's payment, which cannot wake a futex, must be seen by the
 * waiter's slices).  A worker that does its Dones pays each count once:
 * its exit pays nothing more; a Done beyond its owned counts is a plain
 * one; a forked child owns none of its parent's counts; freeing the
 * handle the counts were added through pays them.  Standalone mode has
 * no kernel to pay: EOPNOTSUPP, nothing changed.
 */
#include <pthread.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "chan_test.h"
#include "internal.h"

FIXTURE(owned) {
	struct gosync_wg *wg;
	int *flags;		/* shared with the workers */
};

FIXTURE_VARIANT(owned) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_SYNC_MODES(owned);

FIXTURE_SETUP(owned)
{
	self->wg = NULL;
	self->flags = test_shared(4096);
	ASSERT_NE(NULL, self->flags);
	GOSYNC_MAKE_SYNC(gosync_wg_make, &self->wg);
}

FIXTURE_TEARDOWN(owned)
{
	gosync_wg_free(self->wg);
	munmap(self->flags, 4096);
}

/* The counter, read from the word (no waiting). */
static int32_t wg_counter(struct gosync_wg *wg)
{
	int err = 0;
	struct gosync_wg_words *w = gosync_sync_words((struct gosync_sync *)wg,
						      &err);

	return w ? (int32_t)(__atomic_load_n(&w->state, __ATOMIC_SEQ_CST) >> 32)
		 : -1;
}

/* Kernel mode only: standalone has no owned counts (EOPNOTSUPP). */
#define OWNED_KERNEL_ONLY() do {					\
	if (!variant->kernel) {						\
		EXPECT_EQ(-EOPNOTSUPP, gosync_wg_add_owned(self->wg, 1)); \
		EXPECT_EQ(0, wg_counter(self->wg));			\
		SKIP(return, "owned counts are kernel mode only");	\
	}								\
} while (0)

struct waiter {
	struct gosync_wg *wg;
	pid_t tid;
	int ret;
	int64_t took_ms;
};

static void *waiter_run(void *arg)
{
	struct waiter *w = arg;
	int64_t start = gosync_now();

	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	w->ret = gosync_wg_wait(w->wg, test_ms(10000));
	w->took_ms = (gosync_now() - start) / 1000000;
	return NULL;
}

/* Start a waiter thread and return once it is asleep in the futex. */
static bool waiter_start(struct waiter *w, pthread_t *t)
{
	if (pthread_create(t, NULL, waiter_run, w))
		return false;
	while (!__atomic_load_n(&w->tid, __ATOMIC_ACQUIRE))
		sched_yield();
	return test_wait_asleep_in(w->tid, SYS_futex_waitv, 5000);
}

/*
 * A worker process: add_owned(@owned), @dones Dones, then (@how) pause,
 * block in a channel receive on @ch, or exit when flags[1] says so.
 * flags[0] says it got there.
 */
enum { PAUSE, RECV, EXIT };

static pid_t worker(struct gosync_wg *wg, int *flags, int owned, int dones,
		    int how, struct gosync_chan *ch)
{
	pid_t pid = fork();
	uint64_t v;

	if (pid)
		return pid;
	if (gosync_wg_add_owned(wg, owned))
		_exit(10);
	for (int i = 0; i < dones; i++)
		if (gosync_wg_done(wg))
			_exit(11);
	__atomic_store_n(&flags[0], 1, __ATOMIC_RELEASE);
	if (how == EXIT) {
		/* Once the waiter is asleep: flags[1]. */
		test_wait_flag(&flags[1], 10000);
		_exit(0);
	}
	if (how == RECV)
		gosync_chan_recv(ch, &v, GOSYNC_FOREVER);
	for (;;)
		pause();
}

/*
 * The waiter sleeps; the worker (at its point) is killed, or exits: the
 * waiter returns 0 well before its deadline.
 */
static void owned_death(struct __test_metadata *_metadata,
			FIXTURE_DATA(owned) *self, int owned, int dones, int how,
			struct gosync_chan *ch)
{
	struct waiter w = { .wg = self->wg };
	pthread_t t;
	pid_t pid;

	pid = worker(self->wg, self->flags, owned, dones, how, ch);
	ASSERT_LE(0, pid);
	ASSERT_TRUE(test_wait_flag(&self->flags[0], 5000));
	if (how == RECV)
		test_sleep_ms(100);	/* into its receive */
	EXPECT_EQ(owned - dones, wg_counter(self->wg));
	ASSERT_TRUE(waiter_start(&w, &t));
	if (how != EXIT) {
		kill(pid, SIGKILL);
		EXPECT_EQ(128 + SIGKILL, test_wait(pid));
	} else {
		__atomic_store_n(&self->flags[1], 1, __ATOMIC_RELEASE);
		EXPECT_EQ(0, test_wait(pid));
	}
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.ret) TH_LOG("the waiter was not released by the death");
	EXPECT_GT(2000, w.took_ms);
	EXPECT_EQ(0, wg_counter(self->wg));
}

TEST_F_TIMEOUT(owned, killed_before_any_done, 60)
{
	OWNED_KERNEL_ONLY();
	owned_death(_metadata, self, 1, 0, PAUSE, NULL);
}

TEST_F_TIMEOUT(owned, killed_after_a_partial_done, 60)
{
	OWNED_KERNEL_ONLY();
	owned_death(_metadata, self, 2, 1, PAUSE, NULL);
}

TEST_F_TIMEOUT(owned, killed_blocked_in_a_channel_receive, 60)
{
	struct gosync_chan *ch;

	OWNED_KERNEL_ONLY();
	ASSERT_EQ(0, gosync_chan_make(&ch, sizeof(uint64_t), 0, 0));
	owned_death(_metadata, self, 1, 0, RECV, ch);
	gosync_chan_free(ch);
}

TEST_F_TIMEOUT(owned, exits_without_its_done, 60)
{
	OWNED_KERNEL_ONLY();
	owned_death(_metadata, self, 1, 0, EXIT, NULL);
}

/*
 * Killed inside its last Done: after the kernel's zeroing CAS, before
 * the library's FUTEX_WAKE (the hook): only the slice wakes the waiter.
 */
static void kill_self_at_zeroed(enum gosync_step step)
{
	if (step == GOSYNC_STEP_WG_ZEROED)
		kill(getpid(), SIGKILL);
}

TEST_F_TIMEOUT(owned, killed_between_its_zeroing_and_its_wake, 60)
{
	struct waiter w = { .wg = self->wg };
	pthread_t t;
	pid_t pid;

	OWNED_KERNEL_ONLY();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (gosync_wg_add_owned(self->wg, 1))
			_exit(10);
		__atomic_store_n(&self->flags[0], 1, __ATOMIC_RELEASE);
		test_wait_flag(&self->flags[1], 10000);
		gosync_test_set_hook(kill_self_at_zeroed);
		gosync_wg_done(self->wg);
		_exit(12);
	}
	ASSERT_TRUE(test_wait_flag(&self->flags[0], 5000));
	ASSERT_TRUE(waiter_start(&w, &t));
	__atomic_store_n(&self->flags[1], 1, __ATOMIC_RELEASE);
	EXPECT_EQ(128 + SIGKILL, test_wait(pid));
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_GT(2000, w.took_ms);
	EXPECT_EQ(0, wg_counter(self->wg));
}

/*
 * Its Dones paid, the worker exits: nothing more is paid (the plain
 * count of another worker still holds the waiter), whichever of its
 * handles the Done went through.
 */
TEST_F(owned, done_normally_pays_once)
{
	pid_t pid;

	OWNED_KERNEL_ONLY();
	ASSERT_EQ(0, gosync_wg_add(self->wg, 1));	/* a plain count */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gosync_wg *other;

		if (gosync_wg_from_fd(&other, gosync_wg_fd(self->wg), 0))
			_exit(9);
		if (gosync_wg_add_owned(self->wg, 2) || gosync_wg_done(self->wg) ||
		    gosync_wg_done(other))
			_exit(10);
		_exit(wg_counter(self->wg) == 1 ? 0 : 11);
	}
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(1, wg_counter(self->wg));
	EXPECT_EQ(-EAGAIN, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK))
		TH_LOG("the kernel paid counts that were already done");
	EXPECT_EQ(0, gosync_wg_done(self->wg));
	EXPECT_EQ(0, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EINVAL, gosync_wg_done(self->wg));	/* never negative */
}

/* A Done beyond the owned counts is a plain one; the exit pays nothing. */
TEST_F(owned, more_dones_than_owned_fall_back_to_plain)
{
	pid_t pid;

	OWNED_KERNEL_ONLY();
	ASSERT_EQ(0, gosync_wg_add(self->wg, 2));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (gosync_wg_add_owned(self->wg, 1) || gosync_wg_done(self->wg) ||
		    gosync_wg_done(self->wg))
			_exit(10);
		_exit(0);
	}
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(1, wg_counter(self->wg));
	EXPECT_EQ(0, gosync_wg_done(self->wg));
	EXPECT_EQ(0, wg_counter(self->wg));
}

/*
 * A forked child does not own its parent's counts: its exit pays none,
 * and its Done is a plain one.
 */
TEST_F_TIMEOUT(owned, a_forked_child_owns_none, 60)
{
	pid_t pid;

	OWNED_KERNEL_ONLY();
	ASSERT_EQ(0, gosync_wg_add(self->wg, 1));	/* plain */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pid_t c;

		if (gosync_wg_add_owned(self->wg, 1))
			_exit(10);
		c = fork();
		if (c == 0)
			_exit(0);			/* exits, no Done */
		if (c < 0 || test_wait(c) || wg_counter(self->wg) != 2)
			_exit(11);
		c = fork();
		if (c == 0)
			_exit(gosync_wg_done(self->wg) ? 1 : 0);	/* plain */
		if (c < 0 || test_wait(c) || wg_counter(self->wg) != 1)
			_exit(12);
		__atomic_store_n(&self->flags[0], 1, __ATOMIC_RELEASE);
		for (;;)
			pause();
	}
	ASSERT_TRUE(test_wait_flag(&self->flags[0], 10000));
	EXPECT_EQ(1, wg_counter(self->wg));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, test_wait(pid));
	EXPECT_EQ(0, wg_counter(self->wg));
	EXPECT_EQ(0, gosync_wg_wait(self->wg, GOSYNC_NONBLOCK));
}

/* Freeing the handle the counts were added through pays them. */
TEST_F(owned, freeing_the_handle_pays)
{
	struct gosync_wg *other;

	OWNED_KERNEL_ONLY();
	ASSERT_EQ(0, gosync_wg_from_fd(&other, gosync_wg_fd(self->wg), 0));
	ASSERT_EQ(0, gosync_wg_add_owned(other, 3));
	ASSERT_EQ(0, gosync_wg_done(self->wg));		/* pays one owned */
	EXPECT_EQ(2, wg_counter(self->wg));
	gosync_wg_free(other);
	EXPECT_EQ(0, wg_counter(self->wg));
	/* Nothing owned now: a Done is plain, and finds zero. */
	EXPECT_EQ(-EINVAL, gosync_wg_done(self->wg));
}

TEST_F(owned, bad_arguments)
{
	OWNED_KERNEL_ONLY();
	EXPECT_EQ(-EINVAL, gosync_wg_add_owned(NULL, 1));
	EXPECT_EQ(-EINVAL, gosync_wg_add_owned(self->wg, 0));
	EXPECT_EQ(-EINVAL, gosync_wg_add_owned(self->wg, -1));
	ASSERT_EQ(0, gosync_wg_add(self->wg, INT32_MAX));
	EXPECT_EQ(-EOVERFLOW, gosync_wg_add_owned(self->wg, 1));
	EXPECT_EQ(INT32_MAX, wg_counter(self->wg));
	ASSERT_EQ(0, gosync_wg_add(self->wg, -INT32_MAX));
	EXPECT_EQ(0, wg_counter(self->wg));
}

TEST_HARNESS_MAIN
