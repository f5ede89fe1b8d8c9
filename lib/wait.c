// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: clocks, deadlines, futexes and fork.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/time_types.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

#ifdef GOSYNC_TEST_HOOKS
void (*gosync_test_hook)(enum gosync_step step);
#endif

int64_t gosync_now(void)
{
	GOSYNC_KEEP_ERRNO;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t gosync_after(int64_t ns)
{
	GOSYNC_KEEP_ERRNO;
	int64_t now = gosync_now();

	if (ns <= 0)
		return now;
	return ns > GOSYNC_FOREVER - now ? GOSYNC_FOREVER : now + ns;
}

bool gosync_deadline_passed(int64_t deadline_ns)
{
	return deadline_ns != GOSYNC_FOREVER && gosync_now() >= deadline_ns;
}

/* Set once futex_waitv() turned out to be missing (before 5.16, seccomp). */
static int gosync_no_waitv;

int gosync_futex_wait(uint32_t *word, uint32_t val, int64_t deadline_ns)
{
	struct futex_waitv w = {
		.val = val, .uaddr = (uintptr_t)word, .flags = FUTEX_32,
	};
	struct __kernel_timespec ts;
	struct timespec old;
	long ret;

	/*
	 * futex_waitv() with one word, not FUTEX_WAIT_BITSET: a timed
	 * FUTEX_WAIT ends with EINTR when any handler runs, but futex_waitv
	 * restarts under SA_RESTART (-ERESTARTSYS), as the module's waits and
	 * a select over several words do: one signal rule for every wait
	 * (libgosync(7)).  The deadline is absolute CLOCK_MONOTONIC
	 * (GOSYNC_FOREVER is ~292 years away), so a restart keeps it.  It
	 * takes a 64-bit timespec on every architecture.
	 */
	ts.tv_sec = deadline_ns / 1000000000;
	ts.tv_nsec = deadline_ns % 1000000000;
	if (!__atomic_load_n(&gosync_no_waitv, __ATOMIC_RELAXED)) {
		ret = syscall(SYS_futex_waitv, &w, 1, 0, &ts, CLOCK_MONOTONIC);
		if (ret >= 0 || errno == EAGAIN)
			return 0;
		if (errno == ETIMEDOUT || errno == EINTR)
			return errno == EINTR ? -EINTR : -ETIMEDOUT;
		if (errno != ENOSYS && errno != EPERM)
			return -errno;
		__atomic_store_n(&gosync_no_waitv, 1, __ATOMIC_RELAXED);
	}
	/*
	 * Without futex_waitv (libgosync(7)): FUTEX_WAIT_BITSET, after which
	 * a handler ends a wait with EINTR whatever SA_RESTART says.
	 */
	old.tv_sec = ts.tv_sec;
	old.tv_nsec = ts.tv_nsec;
	ret = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, &old, NULL,
		      FUTEX_BITSET_MATCH_ANY);
	if (ret == 0 || errno == EAGAIN)
		return 0;
	return errno == ETIMEDOUT ? -ETIMEDOUT :
	       errno == EINTR ? -EINTR : -errno;
}

void gosync_futex_wake_all(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

unsigned long gosync_fork_gen = 1;

/* A generation word's mark while a thread maps for generation (low bits). */
#define GOSYNC_GEN_BUSY	(1UL << (sizeof(unsigned long) * 8 - 1))
static pthread_once_t gosync_fork_once = PTHREAD_ONCE_INIT;

static void gosync_fork_child(void)
{
	__atomic_add_fetch(&gosync_fork_gen, 1, __ATOMIC_RELEASE);
}

static void gosync_fork_register(void)
{
	pthread_atfork(NULL, NULL, gosync_fork_child);
}

void gosync_fork_watch(void)
{
	pthread_once(&gosync_fork_once, gosync_fork_register);
}

unsigned long gosync_fork_generation(void)
{
	return __atomic_load_n(&gosync_fork_gen, __ATOMIC_ACQUIRE);
}

int gosync_fork_remap(unsigned long *genp, int (*remap)(void *arg), void *arg)
{
	unsigned long now = gosync_fork_generation();
	unsigned long gen = __atomic_load_n(genp, __ATOMIC_ACQUIRE);
	int err;

	if (gen == now)
		return 0;
	/*
	 * A fork happened (or it was never mapped: ~0): one thread maps,
	 * the others wait for it.  The mapper marks the word busy with the
	 * generation it maps for: a busy mark of an older generation was
	 * left by a thread that a fork did not copy into this process, so
	 * it is taken over, not waited for (it would be for ever).
	 */
	for (;;) {
		if (gen == now)
			return 0;
		if (gen == (GOSYNC_GEN_BUSY | now)) {
			sched_yield();
			gen = __atomic_load_n(genp, __ATOMIC_ACQUIRE);
			continue;
		}
		if (__atomic_compare_exchange_n(genp, &gen, GOSYNC_GEN_BUSY | now,
						false, __ATOMIC_ACQUIRE,
						__ATOMIC_ACQUIRE))
			break;
	}
	err = remap(arg);
	/* Release: the new mapping before the generation; on failure the
	 * next call tries again. */
	__atomic_store_n(genp, err ? gen : now, __ATOMIC_RELEASE);
	return err;
}

int gosync_spin_iters(void)
{
	static int iters = -1;
	int n = __atomic_load_n(&iters, __ATOMIC_RELAXED);

	if (n < 0) {
		const char *env = getenv("GOSYNC_SPIN");

		n = env ? atoi(env) : GOSYNC_SPIN_DEFAULT;
		if (n < 0)
			n = 0;
		if (n > GOSYNC_SPIN_MAX)
			n = GOSYNC_SPIN_MAX;
		__atomic_store_n(&iters, n, __ATOMIC_RELAXED);
	}
	return n;
}

int gosync_futex_wake(uint32_t *word, int n)
{
	long ret = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);

	return ret < 0 ? -errno : (int)ret;
}
