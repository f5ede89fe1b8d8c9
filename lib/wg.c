// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: WaitGroup.
 *
 * One 64-bit state word: the counter in the high half; the low half
 * holds the kernel's ARMED bit, a generation and the number of waiters,
 * and is the futex word waiters sleep on.  Add and Done are one CAS
 * (never taking the counter below zero, so a bad Add changes nothing).
 * The Done that brings the counter to zero, in that same CAS, resets
 * waiters and ARMED and, if anyone was waiting, moves the generation on;
 * then it wakes the word.  A waiter is released when the generation it
 * counted itself in under has moved on, or the counter is zero: every
 * waiter counted before the reset is released, the group is ready for
 * reuse at once, and a waiter of the next round can never be released by
 * the previous round (the release and the reset are one store).
 *
 * A waiter that times out or is interrupted takes its count back with a
 * CAS of the whole word, generation included: after a reset and an Add
 * the counter and the count of waiters may be what it loaded again, but
 * not the generation, so it cannot take away a waiter of the next round.
 * (An ABA would need 2^19 complete rounds with waiters while one waiter
 * is between two of its looks at the word.)  Before the generation was in the word, both could
 * happen: a taken-back count of the next round's waiter lost its wakeup,
 * and a bump of a separate sequence word after the zeroing CAS could
 * release a waiter of a round begun in between.  (models/wg.pml.)
 *
 * No lost wakeup (WG pair in docs/memory-model.md): counting in and the
 * zeroing are CASes of the one word, so one sees the other: if the
 * waiter's came first, the zeroing changes the futex word after the
 * waiter loaded it, and FUTEX_WAIT returns at once; if the zeroing came
 * first, the waiter's CAS sees a zero counter and does not wait.
 *
 * Owned counts (kernel mode, gosync_wg_add_owned): the kernel keeps how
 * many of the counter's counts this process owns and pays them when it
 * dies; the counter is the same word, changed by the kernel with the
 * same CAS.  A Done pays an owned count while this process has one,
 * through the kernel (which says whether it had one: if not, the Done is
 * a plain one after all), so the fast path stays one atomic for every
 * process that has no owned count.  Which processes may have one is this
 * process's hint below: raised before the kernel adds an owned count
 * (so no Done after that add can miss it), lowered only after the kernel
 * paid one, and zero in a forked child (which owns none): never below
 * what the kernel holds for this process, at worst above it (counts
 * paid when a handle was freed), which costs system calls only.  The
 * kernel cannot wake a futex, so in kernel mode a waiter sleeps in
 * slices (GOSYNC_SYNC_POLL_NS) and looks again: a dead owner's counts
 * paid by the kernel release it within one (models/wg.pml, OWNED).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

#define WG_COUNTER(s)	((int32_t)((s) >> 32))
#define WG_WAITERS(s)	((s) & GOSYNC_WG_WAITERS)
#define WG_GEN(s)	((s) & GOSYNC_WG_GEN)
#define WG_GEN_ONE	(GOSYNC_WG_GEN & -GOSYNC_WG_GEN)

/* The low half of the state word: what waiters sleep on. */
static uint32_t *gosync_wg_futex(struct gosync_wg_words *w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint32_t *)&w->state;
#else
	return (uint32_t *)&w->state + 1;
#endif
}

static struct gosync_wg_words *gosync_wg_words(struct gosync_wg *wg, int *err)
{
	return gosync_sync_words((struct gosync_sync *)wg, err);
}

/*
 * The owned-count hint: how many owned counts this process may hold,
 * over every waitgroup.  A forked child holds none: the fork handler
 * (registered by the first gosync_wg_add_owned, in a child that is one
 * thread still) clears it.
 */
static int64_t gosync_wg_owned_hint;
static pthread_once_t gosync_wg_owned_once = PTHREAD_ONCE_INIT;

static void gosync_wg_owned_forget(void)
{
	__atomic_store_n(&gosync_wg_owned_hint, 0, __ATOMIC_SEQ_CST);
}

static void gosync_wg_owned_register(void)
{
	pthread_atfork(NULL, NULL, gosync_wg_owned_forget);
}

static bool gosync_wg_maybe_owned(void)
{
	return __atomic_load_n(&gosync_wg_owned_hint, __ATOMIC_SEQ_CST) > 0;
}

static void gosync_wg_hint_add(int64_t n)
{
	__atomic_add_fetch(&gosync_wg_owned_hint, n, __ATOMIC_SEQ_CST);
}

/*
 * After the kernel's Done CAS replaced @old: wake as gosync_wg_add()
 * does (the kernel cannot FUTEX_WAKE; it woke the pollers itself).
 */
static void gosync_wg_woke(struct gosync_wg_words *w, uint64_t old)
{
	if (WG_COUNTER(old) == 1 && WG_WAITERS(old)) {
		gosync_step(GOSYNC_STEP_WG_ZEROED);
		gosync_futex_wake_all(gosync_wg_futex(w));
	}
}

int gosync_wg_add_owned(struct gosync_wg *wg, int delta)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_sync *so = (struct gosync_sync *)wg;
	struct gosync_wg_owned req;
	int err = 0;

	if (!wg || delta < 1)
		return -EINVAL;
	if (!gosync_sync_kernel(so))
		return -EOPNOTSUPP;
	/* This process's mapping: the one whose death pays the counts. */
	if (!gosync_wg_words(wg, &err))
		return err;
	memset(&req, 0, sizeof(req));
	req.addr = (uintptr_t)so->base;
	req.delta = delta;
	pthread_once(&gosync_wg_owned_once, gosync_wg_owned_register);
	/* Before the add: a Done after it must ask the kernel. */
	gosync_wg_hint_add(delta);
	if (ioctl(so->fd, GOSYNC_SYNC_IOC_WG_ADD_OWNED, &req) < 0) {
		err = errno == ENOTTY ? -EOPNOTSUPP : -errno;
		gosync_wg_hint_add(-(int64_t)delta);
		return err;
	}
	return 0;
}

/*
 * Add @delta to the state @old: the new state in *@new, or -EINVAL below
 * zero (Go panics: we change nothing), -EOVERFLOW past INT32_MAX.  To
 * zero: everyone waiting is released (the generation moves on), the group
 * reset; the generation stays.
 */
static inline __attribute__((always_inline)) int
gosync_wg_next(uint64_t old, int delta, uint64_t *new)
{
	int64_t counter = (int64_t)WG_COUNTER(old) + delta;

	if (counter < 0)
		return -EINVAL;
	if (counter > INT32_MAX)
		return -EOVERFLOW;
	if (counter)
		*new = (uint64_t)counter << 32 | (uint32_t)old;
	else if (WG_WAITERS(old))
		*new = (WG_GEN(old) + WG_GEN_ONE) & GOSYNC_WG_GEN;
	else
		*new = WG_GEN(old);
	return 0;
}

/* Does going from @old to @new owe a wake (waiters asleep, or pollers)? */
static inline bool gosync_wg_wakes(uint64_t old, uint64_t new)
{
	return !WG_COUNTER(new) && (old & (GOSYNC_WG_WAITERS | GOSYNC_WG_ARMED));
}

/* Out of line: inlined, its errno save and registers cost the fast path. */
static __attribute__((noinline)) int
gosync_wg_add_slow(struct gosync_wg *wg, int delta)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_wg_words *w;
	uint64_t old, new;
	int err = 0;

	if (!wg)
		return -EINVAL;
	w = gosync_wg_words(wg, &err);
	if (!w)
		return err;
	old = __atomic_load_n(&w->state, __ATOMIC_RELAXED);
	do {
		err = gosync_wg_next(old, delta, &new);
		if (err)
			return err;
	} while (!__atomic_compare_exchange_n(&w->state, &old, new, true,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	if (!gosync_wg_wakes(old, new))
		return 0;
	/* WG: the word changed in the CAS above; wake those asleep on it. */
	if (WG_WAITERS(old)) {
		gosync_step(GOSYNC_STEP_WG_ZEROED);
		gosync_futex_wake_all(gosync_wg_futex(w));
	}
	if (old & GOSYNC_WG_ARMED)
		ioctl(gosync_wg_fd(wg), GOSYNC_SYNC_IOC_WAKE, 0);
	return 0;
}

/*
 * The common Add and Done, one CAS before any call: a change that wakes
 * nobody (a counter that stays above zero, or reaches it with nobody
 * waiting and nobody armed) is all the general path's first round would
 * do (the same CAS, seq_cst, from the same load, to the same new state,
 * by the same gosync_wg_next()).  Anything else (a wake owed, an error, a
 * lost CAS, words to map again) goes the general way.  Under TCG the
 * guest pays per instruction: the calls and the errno save and restore
 * were most of an Add's cost.
 */
int gosync_wg_add(struct gosync_wg *wg, int delta)
{
	struct gosync_wg_words *w = wg ?
		gosync_sync_words_ready((struct gosync_sync *)wg) : NULL;
	uint64_t old, new;

	if (w) {
		old = __atomic_load_n(&w->state, __ATOMIC_RELAXED);
		if (!gosync_wg_next(old, delta, &new) && !gosync_wg_wakes(old, new) &&
		    __atomic_compare_exchange_n(&w->state, &old, new, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED))
			return 0;
	}
	return gosync_wg_add_slow(wg, delta);
}

/*
 * An owned count of this process's, if the kernel has one: 1 paid, 0
 * none (a plain Done then), or -errno.
 */
static int gosync_wg_done_owned(struct gosync_wg *wg)
{
	struct gosync_sync *so = (struct gosync_sync *)wg;
	struct gosync_wg_owned req;
	struct gosync_wg_words *w;
	int err = 0;

	w = gosync_wg_words(wg, &err);
	if (!w)
		return err;
	memset(&req, 0, sizeof(req));
	req.delta = 1;
	if (ioctl(so->fd, GOSYNC_SYNC_IOC_WG_DONE_OWNED, &req) < 0)
		return -errno;
	if (!req.paid)
		return 0;
	gosync_wg_hint_add(-1);
	gosync_wg_woke(w, req.state);
	return 1;
}

static int gosync_wg_done_slow(struct gosync_wg *wg)
{
	GOSYNC_KEEP_ERRNO;

	if (wg && gosync_wg_maybe_owned() &&
	    gosync_sync_kernel((struct gosync_sync *)wg)) {
		int ret = gosync_wg_done_owned(wg);

		if (ret)
			return ret < 0 ? ret : 0;
	}
	return gosync_wg_add(wg, -1);
}

int gosync_wg_done(struct gosync_wg *wg)
{
	/* No owned count anywhere in this process: a plain Add(-1). */
	if (!gosync_wg_maybe_owned())
		return gosync_wg_add(wg, -1);
	return gosync_wg_done_slow(wg);
}

/*
 * Stop waiting without having been released: take our count back, with
 * the generation in the CAS, unless the group was released meanwhile.
 * Return: 0 released, 1 taken back.
 */
static int gosync_wg_leave(struct gosync_wg_words *w, uint64_t gen)
{
	uint64_t old = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);

	for (;;) {
		if (WG_GEN(old) != gen || !WG_COUNTER(old) || !WG_WAITERS(old))
			return 0;
		gosync_step(GOSYNC_STEP_WG_GIVING_UP);
		if (__atomic_compare_exchange_n(&w->state, &old, old - 1, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return 1;
	}
}

int gosync_wg_wait(struct gosync_wg *wg, int64_t deadline_ns)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_wg_words *w;
	uint64_t old, gen;
	int err = 0, ret;

	if (!wg || !gosync_deadline_valid(deadline_ns))
		return -EINVAL;
	w = gosync_wg_words(wg, &err);
	if (!w)
		return err;
	/* WG: count in with a CAS while the counter is not zero. */
	old = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);
	do {
		if (!WG_COUNTER(old))
			return 0;
		if (deadline_ns == GOSYNC_NONBLOCK)
			return -EAGAIN;
		if (gosync_deadline_passed(deadline_ns))
			return -ETIMEDOUT;
		if (WG_WAITERS(old) == GOSYNC_WG_WAITERS)
			return -EOVERFLOW;
	} while (!__atomic_compare_exchange_n(&w->state, &old, old + 1, false,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	gen = WG_GEN(old);
	old++;
	for (;;) {
		gosync_step(GOSYNC_STEP_WG_COUNTED);
		/* Kernel mode: slices, to see a dead owner's counts paid. */
		ret = gosync_futex_wait(gosync_wg_futex(w), (uint32_t)old,
					gosync_sync_slice((struct gosync_sync *)wg,
							  deadline_ns));
		old = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);
		/* Released: the generation moved on, or the counter is zero. */
		if (WG_GEN(old) != gen || !WG_COUNTER(old))
			return 0;
		/* A slice ended, not the wait. */
		if (ret == -ETIMEDOUT && !gosync_deadline_passed(deadline_ns))
			ret = 0;
		/* The word changed for another reason (a waiter, ARMED). */
		if (!ret)
			continue;
		/* Timed out or a signal: leave, unless released meanwhile. */
		return gosync_wg_leave(w, gen) ? ret : 0;
	}
}
