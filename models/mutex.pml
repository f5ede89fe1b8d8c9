/*
 * mutex.pml - lib/mutex.c (gosync_mutex_lock_words, _unlock_words,
 * _trylock_words, _consistent_words, gosync_mutex_take) with FUTEX_WAIT /
 * FUTEX_WAKE on the state word, and kmod/sync.c gosync_mutex_owner_died.
 * All accesses are seq_cst atomics in the C code: sequential consistency.
 *
 * NLOCK lockers each lock, run a critical section and unlock, ITER times.
 *
 * FUTEX_WAIT(state, val): one atomic step checks state == val and, only
 * then, queues the caller; it returns when FUTEX_WAKE dequeues it, or on
 * a timeout where the C code has one:
 *   - the starvation timer: a waiter whose loaded state had no STARVING
 *     bit sleeps at most until start + 1 ms (the timeout makes "waited >
 *     1 ms" true), as the code's `until` says;
 *   - KERNEL mode: the 100 ms slice (gosync_sync_slice), allowed only once
 *     a holder died: the slice exists to notice owner death, the one
 *     change nobody wakes the futex for.  Lost wakeups stay visible.
 * "Waited more than 1 ms" is a nondeterministic, monotone choice.
 * FUTEX_WAKE(n) wakes up to n queued waiters (any of them) and returns
 * how many it woke.
 *
 * Configurations:
 *   STANDALONE  owner ids 0, no deaths, no slices (finding 9's setting)
 *   NO_STARVE   no waiter ever waits 1 ms: normal mode only (no timer)
 *   KERNEL      owner ids 1..NLOCK; the killer may kill one locker at any
 *               step from the moment it holds the mutex until it has
 *               unlocked it; the kernel's death handler then runs once
 *
 * Properties: mutual exclusion (at most one locker between a successful
 * lock and its unlock: assertion); nobody sleeps forever (invalid end
 * state); no EPERM from a correct unlock.
 *
 * Mutations:
 *   MUT_NO_TAKEBACK_WAKE    the old unlock: no futex_wake after taking a
 *                           hand-off back (finding 9)
 *   MUT_TAKEOVER_ANY_OWNER  the old take: a LOCKED|OWNER_DIED word is taken
 *                           over whatever its owner field (finding 12)
 *   MUT_UNLOCK_LOADS_WAITERS_FIRST  unlock loads waiters before its state
 *                           CAS instead of after (the MUTEX pair)
 */

#ifndef NLOCK
#define NLOCK 3
#endif
#ifndef ITER
#define ITER 1
#endif

/* state word bits (uapi/linux/gosync.h GOSYNC_MUTEX_*): owner in 0..3 */
#define OWNERM  3
#define LOCKED  4
#define STARV   8
#define HANDOFF 16
#define DIED    32
#define NOTREC  64

/* gosync_mutex_take results */
#define T_OK      0
#define T_ODEAD   1	/* -EOWNERDEAD: taken, inconsistent */
#define T_NOTREC  2	/* -ENOTRECOVERABLE */
#define T_BUSY    3	/* -EBUSY */
#define T_AGAIN   4	/* -EAGAIN: the CAS lost */

#ifdef KERNEL
#define ME (t + 1)
#else
#define ME 0
#endif

byte state;		/* futex word */
byte waiters;
byte fq;		/* FUTEX_WAIT queue on state: bit t */
byte holder;		/* ghost: 1 + the locker holding the mutex, 0 none */
bit  isdead[NLOCK];	/* ghost: locker t died */
bit  indanger[NLOCK];	/* may be killed now (holding or unlocking) */
bit  killed[NLOCK];
byte deaths;
bit  hdead;		/* a holder died (the slice timeouts start) */
byte ndone;

/* gosync_cas32 on state */
#define CAS(o, n, ok) atomic { if :: state == (o) -> state = (n); ok = 1 :: else -> ok = 0 fi }

/* gosync_mutex_take(so, state, old, waiter) */
inline take(old, waiter, ret) {
	if
	:: old & NOTREC -> ret = T_NOTREC
	:: !(old & NOTREC) && (old & HANDOFF) && waiter ->
		/* handed over: ours, in starvation mode still */
		atomic {
			if
			:: state == old -> state = (old & ~(HANDOFF | OWNERM)) | ME; ret = T_OK;
				printf("MSC: locker %d takes the hand-off\n", t);
				assert(holder == 0); holder = t + 1	/* mutual exclusion */
			:: else -> ret = T_AGAIN
			fi
		}
	:: else ->
		if
#ifndef MUT_TAKEOVER_ANY_OWNER
		:: (old & (LOCKED | DIED)) == (LOCKED | DIED) && !(old & HANDOFF) &&
		   (old & OWNERM) == 0 ->
#else
		:: (old & (LOCKED | DIED)) == (LOCKED | DIED) && !(old & HANDOFF) ->
#endif
			/* the holder died: take it over, inconsistent */
			atomic {
				if
				:: state == old -> state = (old & ~OWNERM) | ME; ret = T_ODEAD;
					printf("MSC: locker %d takes over a dead owner's mutex (EOWNERDEAD)\n", t);
					/* mutual exclusion: only from a dead holder */
					assert(holder > 0 && isdead[holder - 1]); holder = t + 1
				:: else -> ret = T_AGAIN
				fi
			}
		:: else ->
			if
			:: old & LOCKED -> ret = T_BUSY
			:: !(old & LOCKED) && (old & STARV) && !waiter -> ret = T_BUSY
			:: else ->
				atomic {
					if
					:: state == old -> state = old | LOCKED | ME; ret = T_OK;
						printf("MSC: locker %d locks\n", t);
						assert(holder == 0); holder = t + 1	/* mutual exclusion */
					:: else -> ret = T_AGAIN
					fi
				}
			fi
		fi
	fi
}

/* FUTEX_WAIT(state, val), with the timeouts described above */
inline futex_wait(val) {
	atomic {
		if
		:: state == val -> fq = fq | (1 << t);
			printf("MSC: locker %d sleeps on state %d\n", t, val)
		:: else
		fi
	};
	if
	:: (fq & (1 << t)) == 0 -> skip			/* woken (or never queued) */
#ifndef NO_STARVE
	:: atomic { (fq & (1 << t)) && !(val & STARV) && !waited ->
		fq = fq & ~(1 << t); waited = 1 }		/* the 1 ms starvation timer */
#endif
#ifdef KERNEL
	:: atomic { (fq & (1 << t)) && hdead ->
		fq = fq & ~(1 << t) }			/* the 100 ms slice */
#endif
	fi
}

/* FUTEX_WAKE(state, 1): n = how many were woken */
inline futex_wake1(n) {
	atomic {
		if
		:: fq & 1 -> fq = fq & ~1; n = 1
		:: fq & 2 -> fq = fq & ~2; n = 1
		:: fq & 4 -> fq = fq & ~4; n = 1
		:: fq == 0 -> n = 0
		fi;
		printf("MSC: futex_wake(1) woke %d\n", n)
	}
}

inline futex_wake_all() {
	fq = 0
}

/* gosync_mutex_trylock_words */
inline trylock(ret) {
	do
	:: old = state;
	   take(old, 0, ret);
	   if :: ret != T_AGAIN -> break :: else fi
	od
}

/* gosync_mutex_end_starving */
inline end_starving() {
	old = state;
	do
	:: (old & STARV) && !(old & HANDOFF) ->
		CAS(old, old & ~STARV, ok);
		if :: ok -> break :: else -> old = state fi
	:: else -> break
	od
}

/* gosync_mutex_lock_words(so, w, FOREVER) */
inline lock(ret) {
	slept = 0; waited = 0;
	trylock(ret);
	if
	:: ret == T_BUSY ->
		waiters++;			/* MUTEX: counted in before loading the state */
		do
		:: old = state;
		   take(old, slept, ret);
		   if
		   :: ret == T_AGAIN -> skip
		   :: ret != T_AGAIN && ret != T_BUSY -> break
		   :: ret == T_BUSY ->
#ifndef NO_STARVE
			if :: !waited -> waited = 1 :: true fi;	/* waited > 1 ms ? */
#endif
			if
			:: waited && !(old & STARV) ->
				atomic {			/* starving: unlock hands over */
					if
					:: state == old -> state = old | STARV;
						printf("MSC: locker %d sets STARVING (slept: %d)\n", t, slept)
					:: else
					fi
				}
			:: else ->
				futex_wait(old);
				slept = 1
			fi
		   fi
		od;
		atomic { waiters--; left = waiters };
#ifndef NO_STARVE
		if :: !waited -> waited = 1 :: true fi;		/* waited < 1 ms ? */
#endif
		if
		:: left == 0 || ((ret == T_OK || ret == T_ODEAD) && !waited) -> end_starving()
		:: else
		fi
	:: else
	fi;
	atomic { old = 0; left = 0; slept = 0; waited = 0; }
}

/* gosync_mutex_unlock_words */
inline unlock() {
#ifdef MUT_UNLOCK_LOADS_WAITERS_FIRST
	n = waiters;
#endif
	old = state;
	do
	:: assert((old & LOCKED) && !(old & HANDOFF));	/* no -EPERM */
	   if
	   :: old & DIED -> new = NOTREC; handoff = 0
	   :: else ->
		handoff = (old & STARV) && waiters;
		if :: handoff -> new = LOCKED | STARV | HANDOFF :: else -> new = 0 fi
	   fi;
	   atomic {
		if
		:: state == old -> state = new; ok = 1;
			assert(holder == t + 1); holder = 0	/* it was ours */
		:: else -> ok = 0
		fi
	   };
	   if :: ok -> break :: else -> old = state fi
	od;
	if
	:: handoff -> printf("MSC: unlock of %d hands over\n", t)
	:: else
	fi;
	if
	:: new == NOTREC -> futex_wake_all()		/* they all fail now */
	:: else ->
		if
#ifndef MUT_UNLOCK_LOADS_WAITERS_FIRST
		:: waiters == 0 -> skip			/* MUTEX: after the state change */
#else
		:: n == 0 -> skip
#endif
		:: else ->
			n = 0;
			futex_wake1(n);
			if
			:: n > 0 || !handoff -> skip
			:: else ->
				/* nobody asleep: take the hand-off back */
				old = state;
				do
				:: old & HANDOFF ->
					CAS(old, 0, ok);
					if
					:: ok -> printf("MSC: unlock of %d takes the hand-off back\n", t);
						break
					:: else -> old = state
					fi
				:: else -> ok = 0; break
				od;
#ifndef MUT_NO_TAKEBACK_WAKE
				if :: ok -> futex_wake1(n) :: else fi	/* finding 9 */
#endif
			fi
		fi
	fi;
	atomic { old = 0; new = 0; handoff = 0; ok = 0; n = 0 }
}

/* kmod/sync.c gosync_sync_died -> gosync_mutex_owner_died */
inline owner_died(owner) {
	do
	:: old = state;
	   if
	   :: !(old & LOCKED) || (old & HANDOFF) || (old & OWNERM) != owner -> break
	   :: else ->
		CAS(old, (old & ~OWNERM) | DIED, ok);
		if
		:: ok -> printf("MSC: kernel: holder %d died: OWNER_DIED, owner cleared\n", t); break
		:: else
		fi
	   fi
	od;
	hdead = 1
}

proctype Locker(byte t) {
	byte old, new, left, n, it, ret;
	bit slept, waited, ok, handoff, dead;

	it = 0;
	do
	:: it < ITER ->
		lock(ret);
		if
		:: ret == T_OK || ret == T_ODEAD ->
			{
				indanger[t] = 1;		/* holding: may die from now on */
				if
				:: ret == T_ODEAD ->		/* gosync_mutex_consistent, or not */
					if
					:: old = state;
					   if
					   :: (old & (LOCKED | DIED)) == (LOCKED | DIED) && !(old & HANDOFF) ->
						CAS(old, old & ~DIED, ok)
					   :: else
					   fi
					:: skip
					fi
				:: else
				fi;
				unlock();
				indanger[t] = 0
			} unless {
				atomic {
					killed[t] ->
					printf("MSC: locker %d is killed\n", t);
					isdead[t] = 1
				};
				dead = 1
			}
		:: else					/* ENOTRECOVERABLE */
		fi;
		if
		:: dead -> owner_died(ME); break		/* the mapping goes away */
		:: !dead && ret != T_OK && ret != T_ODEAD -> break
		:: else
		fi;
		it++
	:: else -> break
	od;
	ndone++
}

#ifdef KERNEL
active proctype Killer() {
end_idle:
	if
	:: atomic { deaths == 0 && indanger[0] -> killed[0] = 1; deaths++ }
	:: atomic { deaths == 0 && indanger[1] -> killed[1] = 1; deaths++ }
#if NLOCK > 2
	:: atomic { deaths == 0 && indanger[2] -> killed[2] = 1; deaths++ }
#endif
	fi
}
#endif

init {
	byte i;
	atomic {
		i = 0;
		do
		:: i < NLOCK -> run Locker(i); i++
		:: else -> break
		od
	}
}
