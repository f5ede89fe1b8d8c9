// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: RWMutex, writer-preferring as Go's.
 *
 * Writers take the embedded Mutex (state, waiters: its modes, deadlines
 * and owner death included), then set WRITER_WAITING in the readers word,
 * which stops new readers, and wait for the readers in to leave.  Readers
 * count themselves in the readers word with a CAS unless WRITER_WAITING is
 * set, and sleep on that word when it is; the last reader out of a word
 * with WRITER_WAITING wakes the writer.  rwaiters counts blocked readers.
 *
 * No lost wakeup (RWMUTEX pairs in docs/memory-model.md): the writer's
 * fetch_or of WRITER_WAITING and a reader's leaving CAS are RMWs of one
 * word, so the one that comes second sees the other; readers count
 * themselves in rwaiters (seq_cst) before loading the word they sleep on,
 * and the writer's unlock clears WRITER_WAITING before loading rwaiters.
 *
 * Owner death: a writer that dies is the Mutex's dead owner: the next
 * Lock() gets -EOWNERDEAD.  Readers cannot repair what it left half
 * written, and WRITER_WAITING stays set until a writer recovers it, so
 * while it is unrecovered (LOCKED | OWNER_DIED, no owner) RLock() fails
 * with -EOWNERDEAD instead of waiting for ever; in kernel mode a blocked
 * reader looks every GOSYNC_SYNC_POLL_NS.  A writer that unlocks it
 * unrepaired makes it not recoverable: WRITER_WAITING stays set and every
 * RLock() fails with -ENOTRECOVERABLE, as Lock() does.  A reader that
 * dies inside is not known: its read lock stays counted.
 */
#include <errno.h>
#include <limits.h>

#include "internal.h"

#define RW_WAITING	GOSYNC_RWMUTEX_WRITER_WAITING
#define RW_COUNT	(~RW_WAITING)

static struct gosync_mutex_words *gosync_rw_words(struct gosync_rwmutex *rw,
						  int *err)
{
	return rw ? gosync_sync_words((struct gosync_sync *)rw, err) : NULL;
}

/* Let readers in again, and wake those asleep. */
static void gosync_rw_readers_go(struct gosync_mutex_words *w)
{
	__atomic_and_fetch(&w->readers, RW_COUNT, __ATOMIC_SEQ_CST);
	/* RWMUTEX: after the clear; matches the readers' count-in. */
	if (__atomic_load_n(&w->rwaiters, __ATOMIC_SEQ_CST))
		gosync_futex_wake_all(&w->readers);
}

/* Holding the writer mutex: stop new readers, wait for those in. */
static int gosync_rw_drain(struct gosync_sync *so, struct gosync_mutex_words *w,
			   int64_t deadline)
{
	uint32_t r = __atomic_or_fetch(&w->readers, RW_WAITING,
				       __ATOMIC_SEQ_CST);

	while (r & RW_COUNT) {
		int ret;

		if (deadline == GOSYNC_NONBLOCK)
			return -EAGAIN;
		if (gosync_deadline_passed(deadline))
			return -ETIMEDOUT;
		ret = gosync_futex_wait(&w->readers, r,
					gosync_sync_slice(so, deadline));
		if (ret == -EINTR)
			return ret;
		r = __atomic_load_n(&w->readers, __ATOMIC_SEQ_CST);
	}
	return 0;
}

static int gosync_rw_lock(struct gosync_rwmutex *rw, int64_t deadline,
			  bool try)
{
	struct gosync_sync *so = (struct gosync_sync *)rw;
	struct gosync_mutex_words *w;
	int err = 0, ret, drained;

	if (!try && !gosync_deadline_valid(deadline))
		return -EINVAL;
	w = gosync_rw_words(rw, &err);
	if (!w)
		return rw ? err : -EINVAL;
	ret = try ? gosync_mutex_trylock_words(so, w) :
		    gosync_mutex_lock_words(so, w, deadline);
	if (ret && ret != -EOWNERDEAD)
		return ret;
	drained = gosync_rw_drain(so, w, try ? GOSYNC_NONBLOCK : deadline);
	if (drained) {
		/* Give it all back: readers go on, the writer lock is free. */
		gosync_rw_readers_go(w);
		if (ret == -EOWNERDEAD)
			gosync_mutex_consistent_words(so, w);
		gosync_mutex_unlock_words(w);
		return try ? -EBUSY : drained;
	}
	return ret;
}

int gosync_rwmutex_lock(struct gosync_rwmutex *rw, int64_t deadline_ns)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_rw_lock(rw, deadline_ns, false);
}

int gosync_rwmutex_trylock(struct gosync_rwmutex *rw)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_rw_lock(rw, GOSYNC_NONBLOCK, true);
}

int gosync_rwmutex_unlock(struct gosync_rwmutex *rw)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_mutex_words *w;
	int err = 0, ret;
	uint32_t st;

	w = gosync_rw_words(rw, &err);
	if (!w)
		return rw ? err : -EINVAL;
	st = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);
	if (!(st & GOSYNC_MUTEX_LOCKED) ||
	    !(__atomic_load_n(&w->readers, __ATOMIC_SEQ_CST) & RW_WAITING))
		return -EPERM;
	if (st & GOSYNC_MUTEX_OWNER_DIED) {
		/*
		 * Unlocked unrepaired: not recoverable.  Readers stay out
		 * (WRITER_WAITING stays set); those asleep are woken to
		 * learn it.
		 */
		ret = gosync_mutex_unlock_words(w);
		gosync_futex_wake_all(&w->readers);
		return ret;
	}
	gosync_rw_readers_go(w);
	return gosync_mutex_unlock_words(w);
}

int gosync_rwmutex_consistent(struct gosync_rwmutex *rw)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_mutex_words *w;
	int err = 0;

	w = gosync_rw_words(rw, &err);
	if (!w)
		return rw ? err : -EINVAL;
	return gosync_mutex_consistent_words((struct gosync_sync *)rw, w);
}

/* A writer died holding it, and no writer has taken it over yet. */
static bool gosync_rw_writer_dead(struct gosync_mutex_words *w)
{
	uint32_t st = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);

	return (st & (GOSYNC_MUTEX_LOCKED | GOSYNC_MUTEX_OWNER_DIED |
		      GOSYNC_MUTEX_HANDOFF | GOSYNC_MUTEX_OWNER)) ==
	       (GOSYNC_MUTEX_LOCKED | GOSYNC_MUTEX_OWNER_DIED);
}

static int gosync_rw_rlock(struct gosync_rwmutex *rw, int64_t deadline)
{
	struct gosync_sync *so = (struct gosync_sync *)rw;
	struct gosync_mutex_words *w;
	int err = 0;

	if (!gosync_deadline_valid(deadline))
		return -EINVAL;
	w = gosync_rw_words(rw, &err);
	if (!w)
		return rw ? err : -EINVAL;
	for (;;) {
		uint32_t r = __atomic_load_n(&w->readers, __ATOMIC_SEQ_CST);
		int ret;

		if (!(r & RW_WAITING)) {
			if ((r & RW_COUNT) == RW_COUNT)
				return -EOVERFLOW;
			if (__atomic_compare_exchange_n(&w->readers, &r, r + 1,
							false, __ATOMIC_SEQ_CST,
							__ATOMIC_SEQ_CST))
				return 0;
			continue;
		}
		if (__atomic_load_n(&w->state, __ATOMIC_SEQ_CST) &
		    GOSYNC_MUTEX_NOTRECOVERABLE)
			return -ENOTRECOVERABLE;
		if (gosync_rw_writer_dead(w))
			return -EOWNERDEAD;
		if (deadline == GOSYNC_NONBLOCK)
			return -EBUSY;
		if (gosync_deadline_passed(deadline))
			return -ETIMEDOUT;
		/* RWMUTEX: counted in before loading the word we sleep on. */
		__atomic_add_fetch(&w->rwaiters, 1, __ATOMIC_SEQ_CST);
		r = __atomic_load_n(&w->readers, __ATOMIC_SEQ_CST);
		ret = (r & RW_WAITING) ?
		      gosync_futex_wait(&w->readers, r,
					gosync_sync_slice(so, deadline)) : 0;
		__atomic_sub_fetch(&w->rwaiters, 1, __ATOMIC_SEQ_CST);
		if (ret == -EINTR)
			return ret;
	}
}

int gosync_rwmutex_rlock(struct gosync_rwmutex *rw, int64_t deadline_ns)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_rw_rlock(rw, deadline_ns);
}

int gosync_rwmutex_tryrlock(struct gosync_rwmutex *rw)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_rw_rlock(rw, GOSYNC_NONBLOCK);
}

int gosync_rwmutex_runlock(struct gosync_rwmutex *rw)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_mutex_words *w;
	uint32_t r;
	int err = 0;

	w = gosync_rw_words(rw, &err);
	if (!w)
		return rw ? err : -EINVAL;
	r = __atomic_load_n(&w->readers, __ATOMIC_SEQ_CST);
	do {
		if (!(r & RW_COUNT))
			return -EPERM;
	} while (!__atomic_compare_exchange_n(&w->readers, &r, r - 1, false,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	/* The last reader out, with a writer waiting for that. */
	if ((r & RW_COUNT) == 1 && (r & RW_WAITING))
		gosync_futex_wake_all(&w->readers);
	return 0;
}
