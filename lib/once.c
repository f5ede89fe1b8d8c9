// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: Once.
 *
 * One state word: 0 (not run), RUNNING with the runner's owner id, or
 * DONE.  The caller whose CAS takes it from 0 to RUNNING runs the function,
 * then stores DONE (release) and wakes the others, who slept on the word
 * while it was RUNNING; they return only after that, and see what the
 * function wrote (acquire).
 *
 * If the runner dies inside the function (kernel mode), the kernel puts
 * the word back to 0 and a later caller runs the function again: Go's
 * Once has no such case; across processes it must.  The function must
 * therefore cope with a half-finished earlier run.  Waiters look every
 * GOSYNC_SYNC_POLL_NS.  Standalone mode cannot tell a dead runner: the
 * others wait for it forever.
 */
#include <errno.h>

#include "internal.h"

int gosync_once_do(struct gosync_once *once, void (*fn)(void *arg), void *arg)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_sync *so = (struct gosync_sync *)once;
	struct gosync_once_words *w;
	int err = 0;

	if (!once || !fn)
		return -EINVAL;
	w = gosync_sync_words(so, &err);
	if (!w)
		return err;
	for (;;) {
		/* ONCE: acquire, pairs with the runner's release of DONE. */
		uint32_t old = __atomic_load_n(&w->state, __ATOMIC_ACQUIRE);

		if (old & GOSYNC_ONCE_DONE)
			return 0;
		if (!old) {
			if (!__atomic_compare_exchange_n(&w->state, &old,
					GOSYNC_ONCE_RUNNING | so->owner, false,
					__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				continue;
			fn(arg);
			gosync_saved_errno = errno;	/* fn's, not ours */
			/* ONCE: release, pairs with the callers' acquire. */
			__atomic_store_n(&w->state, GOSYNC_ONCE_DONE,
					 __ATOMIC_RELEASE);
			gosync_smp_mb();	/* the store before waiters */
			if (__atomic_load_n(&w->waiters, __ATOMIC_RELAXED))
				gosync_futex_wake_all(&w->state);
			return 1;
		}
		/* Running elsewhere: count in, then sleep while it runs. */
		__atomic_add_fetch(&w->waiters, 1, __ATOMIC_SEQ_CST);
		old = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);
		if (old & GOSYNC_ONCE_RUNNING)
			gosync_futex_wait(&w->state, old,
					  gosync_sync_slice(so, GOSYNC_FOREVER));
		__atomic_sub_fetch(&w->waiters, 1, __ATOMIC_SEQ_CST);
	}
}
