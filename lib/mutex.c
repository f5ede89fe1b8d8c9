// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: Mutex, with Go's two modes.
 *
 * The state word is the futex word: who holds it (the mapping's owner id;
 * 0 in standalone mode), LOCKED, STARVING, HANDOFF, OWNER_DIED,
 * NOTRECOVERABLE.  waiters counts the blocked.  Not owned by a thread: any
 * thread of any process may unlock it (Go's rule).
 *
 * Normal mode: unlock clears LOCKED and wakes one waiter, which competes
 * with newcomers (they usually win: they are running).  Starvation mode:
 * a waiter that waited more than 1 ms sets STARVING; from then on unlock
 * hands the lock over (LOCKED stays set, HANDOFF says "any waiter may
 * take it") and wakes one waiter, the longest waiting (futex wake order);
 * newcomers queue instead of taking an unlocked mutex.  If no waiter was
 * asleep to wake, unlock takes the hand-off back.  The waiter that takes a
 * hand-off ends starvation mode when it is the last waiter or waited less
 * than 1 ms (as Go).
 *
 * Owner death (kernel mode): when the mapping of the holder goes away the
 * kernel sets OWNER_DIED and clears the owner field; the next locker
 * takes the mutex over with -EOWNERDEAD (writing its owner id, which
 * keeps every other locker waiting) and may call
 * gosync_mutex_consistent(); unlocking it
 * without doing so makes it NOTRECOVERABLE (robust pthread mutexes'
 * rules).  Waiters sleep in slices to notice (the kernel cannot wake a
 * futex).  Standalone mode cannot know: a holder that dies leaves the
 * mutex locked; lock with a deadline to bound the wait.
 *
 * No lost wakeup (MUTEX pair in docs/memory-model.md): a waiter counts
 * itself in waiters (seq_cst RMW) before it loads the state it passes to
 * FUTEX_WAIT; unlock changes the state (seq_cst CAS) before it loads
 * waiters.  Either unlock sees the waiter and wakes, or the waiter's
 * FUTEX_WAIT finds the state changed and returns at once.
 */
#include <errno.h>
#include <limits.h>

#include "internal.h"

#define M_LOCKED	GOSYNC_MUTEX_LOCKED
#define M_STARVING	GOSYNC_MUTEX_STARVING
#define M_HANDOFF	GOSYNC_MUTEX_HANDOFF
#define M_DIED		GOSYNC_MUTEX_OWNER_DIED
#define M_DEAD		GOSYNC_MUTEX_NOTRECOVERABLE
#define M_OWNER		GOSYNC_MUTEX_OWNER

/* Go's starvationThresholdNs. */
#define GOSYNC_STARVATION_NS	1000000
/* Pauses between two looks at a held mutex while spinning (Go: 30). */
#define GOSYNC_MUTEX_SPIN_PAUSES 30
/* GOSYNC_SPIN tries per look at a held mutex while spinning. */
#define GOSYNC_MUTEX_SPIN_DIV	10

static bool gosync_cas32(uint32_t *p, uint32_t *old, uint32_t new)
{
	return __atomic_compare_exchange_n(p, old, new, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

/*
 * Take the mutex if this state allows the caller to: in starvation mode
 * only a waiter that has already slept (@waiter) may, so a hand-off goes
 * to the waiter unlock woke (or another that waited as long), never to a
 * newcomer.  Return: 0 or -EOWNERDEAD taken, -ENOTRECOVERABLE, -EBUSY not
 * now, -EAGAIN the CAS lost (look again).
 */
static int gosync_mutex_take(struct gosync_sync *so, uint32_t *state,
			     uint32_t old, bool waiter)
{
	uint32_t me = so->owner;

	if (old & M_DEAD)
		return -ENOTRECOVERABLE;
	if ((old & M_HANDOFF) && waiter) {
		/* Handed over: ours, in starvation mode still. */
		return gosync_cas32(state, &old,
				    (old & ~(M_HANDOFF | M_OWNER)) | me) ? 0 :
		       -EAGAIN;
	}
	if ((old & (M_LOCKED | M_DIED | M_HANDOFF | M_OWNER)) ==
	    (M_LOCKED | M_DIED)) {
		/*
		 * The holder died (the kernel cleared the owner field): the
		 * caller takes it over, inconsistent.  Only while nobody has:
		 * OWNER_DIED stays set until consistent(), and the taker's
		 * owner id in the word is what keeps the next locker out.
		 */
		return gosync_cas32(state, &old, old | me) ? -EOWNERDEAD : -EAGAIN;
	}
	if (old & M_LOCKED)
		return -EBUSY;
	/* Unlocked.  In starvation mode only waiters may take it. */
	if ((old & M_STARVING) && !waiter)
		return -EBUSY;
	return gosync_cas32(state, &old, old | M_LOCKED | me) ? 0 : -EAGAIN;
}

int gosync_mutex_trylock_words(struct gosync_sync *so,
			       struct gosync_mutex_words *w)
{
	for (;;) {
		uint32_t old = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);
		int ret = gosync_mutex_take(so, &w->state, old, false);

		if (ret != -EAGAIN)
			return ret;
	}
}

static void gosync_mutex_end_starving(struct gosync_mutex_words *w)
{
	uint32_t old = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);

	/* Not while a hand-off is on its way to a waiter. */
	while ((old & M_STARVING) && !(old & M_HANDOFF) &&
	       !gosync_cas32(&w->state, &old, old & ~M_STARVING))
		;
}

int gosync_mutex_lock_words(struct gosync_sync *so,
			    struct gosync_mutex_words *w, int64_t deadline)
{
	bool slept = false;
	uint32_t left;
	int64_t start, until;
	int ret;

	ret = gosync_mutex_trylock_words(so, w);
	if (ret != -EBUSY)
		return ret;
	if (deadline == GOSYNC_NONBLOCK)
		return -EAGAIN;
	/*
	 * Spin a little first: the holder is often about to let go.  As Go
	 * does (procyield(30) between looks), look at the word only every
	 * GOSYNC_MUTEX_SPIN_PAUSES pauses, and try the CAS only when the
	 * look says it could succeed: a spinner that reads the line at every
	 * pause takes it away from the holder at every lock and unlock, and
	 * two pinned processes then ran at a quarter of the speed they run
	 * at now.  A tenth of GOSYNC_SPIN looks (the default: 20 looks, 600
	 * pauses), and the clock read at each, so no spin outlives the
	 * caller's deadline by more than one round.
	 */
	for (int i = (gosync_spin_iters() + GOSYNC_MUTEX_SPIN_DIV - 1) /
		     GOSYNC_MUTEX_SPIN_DIV;
	     ret == -EBUSY && i > 0 && (deadline == GOSYNC_FOREVER ||
					!gosync_deadline_passed(deadline)); i--) {
		uint32_t seen;

		for (int k = 0; k < GOSYNC_MUTEX_SPIN_PAUSES; k++)
			gosync_cpu_relax();
		seen = __atomic_load_n(&w->state, __ATOMIC_RELAXED);
		if ((seen & M_LOCKED) && !(seen & M_DEAD) &&
		    (seen & (M_DIED | M_OWNER)) != M_DIED)
			continue;	/* still held: look again later */
		ret = gosync_mutex_trylock_words(so, w);
	}
	if (ret != -EBUSY)
		return ret;

	start = gosync_now();
	/* MUTEX: counted in before loading the state we sleep on. */
	__atomic_add_fetch(&w->waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint32_t old;
		int64_t waited;

		gosync_step(GOSYNC_STEP_MUTEX_LOOP);
		old = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);

		ret = gosync_mutex_take(so, &w->state, old, slept);
		if (ret == -EAGAIN)
			continue;
		if (ret != -EBUSY)
			break;
		waited = gosync_now() - start;
		if (waited > GOSYNC_STARVATION_NS && !(old & M_STARVING)) {
			/* Starving: from now on unlock hands over. */
			gosync_cas32(&w->state, &old, old | M_STARVING);
			continue;
		}
		if (gosync_deadline_passed(deadline)) {
			ret = -ETIMEDOUT;
			break;
		}
		until = gosync_sync_slice(so, deadline);
		/* Wake once the threshold is passed, to starve if still here. */
		if (!(old & M_STARVING) &&
		    start + GOSYNC_STARVATION_NS + 1000 < until)
			until = start + GOSYNC_STARVATION_NS + 1000;
		gosync_step(GOSYNC_STEP_MUTEX_SLEEP);
		if (gosync_futex_wait(&w->state, old, until) == -EINTR) {
			ret = -EINTR;
			break;
		}
		slept = true;
	}
	left = __atomic_sub_fetch(&w->waiters, 1, __ATOMIC_SEQ_CST);
	/*
	 * Go: starvation mode ends with the last waiter, or when one that
	 * hardly waited takes the lock.
	 */
	if (!left || ((ret == 0 || ret == -EOWNERDEAD) &&
		      gosync_now() - start < GOSYNC_STARVATION_NS))
		gosync_mutex_end_starving(w);
	return ret;
}

int gosync_mutex_unlock_words(struct gosync_mutex_words *w)
{
	uint32_t old = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST), new;
	bool handoff;

	do {
		if (!(old & M_LOCKED) || (old & M_HANDOFF))
			return -EPERM;
		/* Left inconsistent: nobody may use it again. */
		if (old & M_DIED) {
			new = M_DEAD;
			handoff = false;
		} else {
			handoff = (old & M_STARVING) &&
				  __atomic_load_n(&w->waiters, __ATOMIC_SEQ_CST);
			/* Starvation mode lasts only while someone waits. */
			new = handoff ? M_LOCKED | M_STARVING | M_HANDOFF : 0;
		}
	} while (!gosync_cas32(&w->state, &old, new));

	if (new == M_DEAD) {
		gosync_futex_wake_all(&w->state);	/* they all fail now */
		return 0;
	}
	/* MUTEX: after the state change; matches the waiter's count-in. */
	if (!__atomic_load_n(&w->waiters, __ATOMIC_SEQ_CST))
		return 0;
	if (gosync_futex_wake(&w->state, 1) > 0 || !handoff)
		return 0;
	gosync_step(GOSYNC_STEP_MUTEX_HANDOFF_MISSED);
	/*
	 * Nobody was asleep to take the hand-off: take it back, and end
	 * starvation mode (the starving are the sleeping); the waiters on
	 * their way to sleep see the change and compete as in normal mode.
	 * One of them may have fallen asleep on the hand-off state in the
	 * meantime (it may not take a hand-off it has not slept for): wake
	 * one, or it would sleep on an unlocked mutex.
	 */
	old = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);
	while (old & M_HANDOFF) {
		if (gosync_cas32(&w->state, &old, 0)) {
			gosync_futex_wake(&w->state, 1);
			break;
		}
	}
	return 0;
}

static struct gosync_mutex_words *gosync_mutex_words(struct gosync_mutex *m,
						     int *err)
{
	return gosync_sync_words((struct gosync_sync *)m, err);
}

/* Out of line, as the fast paths below want (see gosync_mutex_lock). */
static __attribute__((noinline)) int
gosync_mutex_lock_slow(struct gosync_mutex *m, int64_t deadline_ns)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_mutex_words *w;
	int err = 0;

	if (!m || !gosync_deadline_valid(deadline_ns))
		return -EINVAL;
	w = gosync_mutex_words(m, &err);
	return w ? gosync_mutex_lock_words((struct gosync_sync *)m, w,
					   deadline_ns) : err;
}

/*
 * The uncontended lock and unlock are one CAS each, made here before any
 * call: an unlocked mutex in normal mode with nothing else set (state 0)
 * becomes LOCKED with our owner id, as gosync_mutex_take() makes it; a
 * held one with only LOCKED and an owner id becomes 0, as
 * gosync_mutex_unlock_words() makes it when nothing is starving, dead or
 * handed over.  Every other state takes the general path.  Under TCG the
 * guest pays per instruction: the general path's calls, errno save and
 * checks were half the uncontended lock's cost.
 */
int gosync_mutex_lock(struct gosync_mutex *m, int64_t deadline_ns)
{
	struct gosync_sync *so = (struct gosync_sync *)m;
	struct gosync_mutex_words *w;
	uint32_t unlocked = 0;

	if (m && gosync_deadline_valid(deadline_ns) &&
	    (w = gosync_sync_words_ready(so)) &&
	    gosync_cas32(&w->state, &unlocked, M_LOCKED | so->owner))
		return 0;
	return gosync_mutex_lock_slow(m, deadline_ns);
}

int gosync_mutex_trylock(struct gosync_mutex *m)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_mutex_words *w;
	int err = 0;

	if (!m)
		return -EINVAL;
	w = gosync_mutex_words(m, &err);
	return w ? gosync_mutex_trylock_words((struct gosync_sync *)m, w) : err;
}

static __attribute__((noinline)) int
gosync_mutex_unlock_slow(struct gosync_mutex *m)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_mutex_words *w;
	int err = 0;

	if (!m)
		return -EINVAL;
	w = gosync_mutex_words(m, &err);
	return w ? gosync_mutex_unlock_words(w) : err;
}

/* The waiter an unlock in normal mode owes a wake (errno kept). */
static int gosync_mutex_wake_one(struct gosync_mutex_words *w)
{
	GOSYNC_KEEP_ERRNO;

	gosync_futex_wake(&w->state, 1);
	return 0;
}

int gosync_mutex_unlock(struct gosync_mutex *m)
{
	struct gosync_mutex_words *w;
	uint32_t old;

	if (!m || !(w = gosync_sync_words_ready((struct gosync_sync *)m)))
		return gosync_mutex_unlock_slow(m);
	old = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);
	if ((old & ~M_OWNER) != M_LOCKED || !gosync_cas32(&w->state, &old, 0))
		return gosync_mutex_unlock_slow(m);
	/* MUTEX: after the state change; matches the waiter's count-in. */
	if (__atomic_load_n(&w->waiters, __ATOMIC_SEQ_CST))
		return gosync_mutex_wake_one(w);
	return 0;
}

/*
 * Only the locker that took the mutex over (its owner id is in the word)
 * may declare it consistent: from anyone else, clearing OWNER_DIED would
 * leave it locked by nobody, for ever.
 */
int gosync_mutex_consistent_words(struct gosync_sync *so,
				  struct gosync_mutex_words *w)
{
	uint32_t old = __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);

	do {
		if ((old & (M_LOCKED | M_DIED)) != (M_LOCKED | M_DIED) ||
		    (old & M_HANDOFF) || (old & M_OWNER) != so->owner)
			return -EINVAL;
	} while (!gosync_cas32(&w->state, &old, old & ~M_DIED));
	return 0;
}

int gosync_mutex_consistent(struct gosync_mutex *m)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_mutex_words *w;
	int err = 0;

	if (!m)
		return -EINVAL;
	w = gosync_mutex_words(m, &err);
	return w ? gosync_mutex_consistent_words((struct gosync_sync *)m, w) :
		   err;
}
