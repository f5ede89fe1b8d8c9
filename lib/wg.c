// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: WaitGroup.
 *
 * One 64-bit state word: the counter in the high half, the number of
 * waiters and the kernel's ARMED bit in the low half; and a 32-bit seq
 * word that waiters sleep on.  Add and Done are one CAS (never taking the
 * counter below zero, so a bad Add changes nothing).  The Done that brings
 * the counter to zero resets waiters and ARMED in that same CAS, then
 * bumps seq and wakes it: every waiter counted before the reset is
 * released, and the group is ready for reuse at once.
 *
 * Waiters count themselves in and never out: a wait that times out or is
 * interrupted leaves its count until the next reset (which then costs one
 * needless FUTEX_WAKE), and the count saturates instead of overflowing.
 * Taking a count back is what broke reuse at once: a waiter that timed
 * out could not tell its own count from that of a waiter of the next
 * round (the state word can be the same value again after a reset and an
 * Add), and took that one's away, so the next round's Done woke nobody.
 * (models/wg.pml checks both.)
 *
 * No lost wakeup (WG pairs in docs/memory-model.md): a waiter loads seq
 * (acquire) before it counts itself in with a CAS on state; the zeroing
 * CAS comes before the seq bump.  Both CASes are on one word, so they are
 * ordered: if the waiter's came first, the bump follows its seq load and
 * FUTEX_WAIT returns at once; if the zeroing came first, the waiter's CAS
 * sees a zero counter and does not wait.
 */
#include <errno.h>
#include <limits.h>
#include <sys/ioctl.h>

#include "internal.h"

#define WG_COUNTER(s)	((int32_t)((s) >> 32))
#define WG_WAITERS(s)	((s) & GOSYNC_WG_WAITERS)

static struct gosync_wg_words *gosync_wg_words(struct gosync_wg *wg, int *err)
{
	return gosync_sync_words((struct gosync_sync *)wg, err);
}

int gosync_wg_add(struct gosync_wg *wg, int delta)
{
	struct gosync_wg_words *w;
	uint64_t old, new;
	int64_t counter;
	int err = 0;

	if (!wg)
		return -EINVAL;
	w = gosync_wg_words(wg, &err);
	if (!w)
		return err;
	old = __atomic_load_n(&w->state, __ATOMIC_RELAXED);
	do {
		counter = (int64_t)WG_COUNTER(old) + delta;
		if (counter < 0)
			return -EINVAL;		/* Go panics: we change nothing */
		if (counter > INT32_MAX)
			return -EOVERFLOW;
		/* To zero: everyone waiting is released, the group reset. */
		new = counter ? (uint64_t)counter << 32 | (uint32_t)old : 0;
	} while (!__atomic_compare_exchange_n(&w->state, &old, new, true,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	if (new || !(old & (GOSYNC_WG_WAITERS | GOSYNC_WG_ARMED)))
		return 0;
	if (WG_WAITERS(old)) {
		/* WG: after the zeroing CAS, matches the waiter's seq load. */
		__atomic_add_fetch(&w->seq, 1, __ATOMIC_SEQ_CST);
		gosync_futex_wake_all(&w->seq);
	}
	if (old & GOSYNC_WG_ARMED)
		ioctl(gosync_wg_fd(wg), GOSYNC_SYNC_IOC_WAKE, 0);
	return 0;
}

int gosync_wg_done(struct gosync_wg *wg)
{
	return gosync_wg_add(wg, -1);
}

int gosync_wg_wait(struct gosync_wg *wg, int64_t deadline_ns)
{
	struct gosync_wg_words *w;
	bool counted = false;
	uint32_t seq = 0;
	int err = 0, ret;

	if (!wg || !gosync_deadline_valid(deadline_ns))
		return -EINVAL;
	w = gosync_wg_words(wg, &err);
	if (!w)
		return err;
	for (;;) {
		uint64_t old;

		/*
		 * WG: seq before counting ourselves in; matches the bump in
		 * add.  Once counted, seq moving means released: our count is
		 * in the state until the reset that bumps it.
		 */
		if (!counted)
			seq = __atomic_load_n(&w->seq, __ATOMIC_ACQUIRE);
		else if (__atomic_load_n(&w->seq, __ATOMIC_ACQUIRE) != seq)
			return 0;
		old = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);
		if (!WG_COUNTER(old))
			return 0;
		if (deadline_ns == GOSYNC_NONBLOCK)
			return -EAGAIN;
		if (gosync_deadline_passed(deadline_ns))
			return -ETIMEDOUT;
		/* Count in once per call, saturating. */
		if (!counted) {
			uint64_t new = WG_WAITERS(old) == GOSYNC_WG_WAITERS ?
				       old : old + 1;

			if (!__atomic_compare_exchange_n(&w->state, &old, new,
							 false, __ATOMIC_SEQ_CST,
							 __ATOMIC_SEQ_CST))
				continue;
			counted = true;
		}
		gosync_step(GOSYNC_STEP_WG_COUNTED);
		ret = gosync_futex_wait(&w->seq, seq, deadline_ns);
		/* Released: seq moved, or the counter is zero (bump to come). */
		if (__atomic_load_n(&w->seq, __ATOMIC_ACQUIRE) != seq ||
		    !WG_COUNTER(__atomic_load_n(&w->state, __ATOMIC_SEQ_CST)))
			return 0;
		if (ret) {
			/* Timed out or a signal: the count stays (see above). */
			gosync_step(GOSYNC_STEP_WG_GIVING_UP);
			return ret;
		}
		/* Woken for nothing: still counted, wait again. */
	}
}
