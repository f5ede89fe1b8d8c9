// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: Cond, with a gosync Mutex.
 *
 * seq is the futex word: signal and broadcast bump it and wake one or
 * all.  A waiter reads seq and counts itself in before it unlocks the
 * mutex, so a signal sent by whoever takes the mutex after that (and
 * changed the condition under it) bumps seq after our read: our FUTEX_WAIT
 * then returns at once, never missing it (COND pair in
 * docs/memory-model.md).  Wakeups may be spurious; wait in a loop on the
 * condition, as with Go's Cond.
 */
#include <errno.h>
#include <limits.h>

#include "internal.h"

int gosync_cond_wait(struct gosync_cond *c, struct gosync_mutex *m,
		     int64_t deadline_ns)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_cond_words *w;
	int err = 0, ret, relock;
	uint32_t seq;

	if (!c || !m || !gosync_deadline_valid(deadline_ns))
		return -EINVAL;
	w = gosync_sync_words((struct gosync_sync *)c, &err);
	if (!w)
		return err;
	/* COND: seq first, then counted in, then the mutex released. */
	seq = __atomic_load_n(&w->seq, __ATOMIC_ACQUIRE);
	__atomic_add_fetch(&w->waiters, 1, __ATOMIC_SEQ_CST);
	ret = gosync_mutex_unlock(m);
	if (ret) {
		__atomic_sub_fetch(&w->waiters, 1, __ATOMIC_SEQ_CST);
		return ret;	/* -EPERM: the caller did not hold it */
	}
	if (deadline_ns == GOSYNC_NONBLOCK)
		ret = -EAGAIN;
	else if (gosync_deadline_passed(deadline_ns))
		ret = -ETIMEDOUT;
	else
		ret = gosync_futex_wait(&w->seq, seq, deadline_ns);
	__atomic_sub_fetch(&w->waiters, 1, __ATOMIC_SEQ_CST);
	/* Always locked again on return, as Go; its owner may have died. */
	do
		relock = gosync_mutex_lock(m, GOSYNC_FOREVER);
	while (relock == -EINTR);
	return relock ? relock : ret;
}

static int gosync_cond_wake(struct gosync_cond *c, int n)
{
	struct gosync_cond_words *w;
	int err = 0;

	if (!c)
		return -EINVAL;
	w = gosync_sync_words((struct gosync_sync *)c, &err);
	if (!w)
		return err;
	if (!__atomic_load_n(&w->waiters, __ATOMIC_SEQ_CST))
		return 0;
	__atomic_add_fetch(&w->seq, 1, __ATOMIC_SEQ_CST);
	gosync_futex_wake(&w->seq, n);
	return 0;
}

int gosync_cond_signal(struct gosync_cond *c)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_cond_wake(c, 1);
}

int gosync_cond_broadcast(struct gosync_cond *c)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_cond_wake(c, INT_MAX);
}
