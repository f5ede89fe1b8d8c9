/*
 * wg.pml - the WaitGroup of lib/wg.c (gosync_wg_add / _done / _wait), the
 * protocol as changed for finding 10: a waiter counts itself in once per
 * call, never counts itself out, and a timed-out wait leaves its count
 * (a phantom) until the next reset.  seq_cst atomics: sequential
 * consistency.  The kernel's ARMED bit (poll) is not modelled.
 *
 *   state = counter << 32 | ARMED | waiters;   seq: the futex word
 *   Done/Add to zero: one CAS sets state = 0; if the old waiters != 0:
 *                     seq += 1, FUTEX_WAKE(seq, all)            [WG]
 *   Wait: loop { seq0 = load seq [WG]; s = load state;
 *                counter(s) == 0: return 0;
 *                not yet counted in this call: CAS s -> s + 1 (waiters
 *                saturate at WMAX);
 *                FUTEX_WAIT(seq, seq0);
 *                seq != seq0: return 0;  counter(load state) == 0: return 0;
 *                timed out: return -ETIMEDOUT (the count stays);
 *                else loop }
 * with one change proposed here: a waiter that is counted keeps the seq0
 * it was counted under across the loop (MUT_RELOAD_SEQ0 is the protocol
 * as specified, which loses a wakeup after a spurious futex return).
 *
 * Tasks: D, the group's owner: the counter starts at 1 (an Add(1) before
 * anyone waits); D does Done, Add(1), Done: two rounds.  W1 waits with a
 * deadline (FUTEX_WAIT may time out), W2 without one (it must be woken).
 * Each waiter makes one Wait call, starting at any time.
 *
 * Properties: no lost wakeup: a Wait without deadline never sleeps forever
 * once the counter reached zero during its call (invalid end state); no
 * spurious release: Wait returns 0 only if the counter was zero at some
 * point during the call (assertion).
 *
 * Options: WMAX (saturation of waiters, default 2; 1 exercises it);
 *          SPURIOUS: FUTEX_WAIT may also return once for no reason
 *          (futex(2) allows spurious wake-ups; one per waiter, or every
 *          sleep could end and lost wakeups would be invisible);
 *          W2TIMED: W2 has a deadline too.
 *
 * Mutations:
 *   MUT_OLD_WG_LEAVE   the old gosync_wg_leave on timeout: CAS state old
 *                      -> old - 1 if seq unchanged and counter, waiters
 *                      non-zero (finding 10)
 *   MUT_SEQ_AFTER_COUNT  load seq0 after counting in (the WG pair)
 *   MUT_BLIND_COUNT    count in with an atomic add instead of a CAS that
 *                      fails when the counter changed
 *   MUT_NO_BUMP_CHECK  after FUTEX_WAIT, do not compare seq with seq0
 *   MUT_RELOAD_SEQ0    the protocol exactly as specified for finding 10:
 *                      the loop reloads seq0 although the waiter stays
 *                      counted in the round of the old seq0 (a NEW
 *                      finding with SPURIOUS, see README.md)
 */

#ifndef WMAX
#define WMAX 2
#endif

byte counter;
byte waiters;
byte seq;
byte fq;		/* FUTEX_WAIT queue on seq: bit 0 = W1, bit 1 = W2 */
bit  inwait[2];		/* ghost: waiter w is inside a Wait call */
bit  sawzero[2];	/* ghost: the counter was zero during that call */
bit  ddone;
bit  spur[2];		/* a spurious wake-up was used */

/* the zeroing CAS in gosync_wg_add: ghost: every waiter inside a call saw it */
inline saw_zero() {
	if :: inwait[0] -> sawzero[0] = 1 :: else fi;
	if :: inwait[1] -> sawzero[1] = 1 :: else fi
}

/* gosync_wg_add(wg, delta) */
inline wg_add(delta) {
	atomic { oc = counter; ow = waiters };
	do
	:: atomic {					/* CAS old -> new */
		if
		:: counter == oc && waiters == ow ->
			counter = oc + delta;
			if
			:: counter == 0 -> waiters = 0; saw_zero();
				printf("MSC: D: counter %d -> 0, waiters %d -> 0\n", oc, ow)
			:: else -> printf("MSC: D: counter %d -> %d (waiters %d)\n", oc, counter, ow)
			fi;
			ok = 1
		:: else -> oc = counter; ow = waiters; ok = 0
		fi
	   };
	   if :: ok -> break :: else fi
	od;
	if
	:: oc + delta == 0 && ow > 0 ->
		seq++;					/* WG: after the zeroing CAS */
		atomic { fq = 0; printf("MSC: D: seq++ and FUTEX_WAKE all\n") }
	:: oc + delta == 0 && ow == 0 ->
		printf("MSC: D: waiters 0: no seq bump, no wake\n")
	:: else
	fi;
	atomic { oc = 0; ow = 0; ok = 0 }
}

proctype D() {
	byte oc, ow;
	bit ok;
	wg_add(-1);		/* Done: round 1 ends */
	wg_add(1);		/* Add(1): round 2 */
	wg_add(-1);		/* Done: round 2 ends */
	ddone = 1
}

/* FUTEX_WAIT(seq, seq0): ret 0 woken / value mismatch, 1 timed out */
inline futex_wait(s0, TIMED) {
	atomic {
		if
		:: seq == s0 -> fq = fq | (1 << w);
			printf("MSC: W%d sleeps on seq %d\n", w + 1, s0)
		:: else
		fi
	};
	if
	:: (fq & (1 << w)) == 0 -> ret = 0
	:: atomic { TIMED && (fq & (1 << w)) -> fq = fq & ~(1 << w); ret = 1;
		printf("MSC: W%d times out\n", w + 1) }
#ifdef SPURIOUS
	:: atomic { (fq & (1 << w)) && !spur[w] -> fq = fq & ~(1 << w); ret = 0;
		spur[w] = 1;	/* once: more would hide lost wakeups */
		printf("MSC: W%d wakes spuriously\n", w + 1) }
#endif
	fi
}

#ifdef MUT_OLD_WG_LEAVE
/* the old gosync_wg_leave(w, seq0): 0 released, 1 taken back */
inline wg_leave(s0, left) {
	atomic { oc = counter; ow = waiters };
	do
	:: if
	   :: seq != s0 || oc == 0 || ow == 0 -> left = 0; break
	   :: else ->
		atomic {
			if
			:: counter == oc && waiters == ow -> waiters = ow - 1; ok = 1;
				printf("MSC: W%d leaves: waiters %d -> %d\n", w + 1, ow, ow - 1)
			:: else -> oc = counter; ow = waiters; ok = 0
			fi
		};
		if :: ok -> left = 1; break :: else fi
	   fi
	od
}
#endif

/* gosync_wg_wait(wg, deadline) for waiter w; r: 0 released, 1 -ETIMEDOUT */
inline wg_wait(TIMED, r) {
	atomic { inwait[w] = 1; sawzero[w] = (counter == 0) };
	counted = 0;
	do
	:: 
#ifndef MUT_SEQ_AFTER_COUNT
#if defined(MUT_RELOAD_SEQ0) || defined(MUT_OLD_WG_LEAVE)
	   s0 = seq;					/* WG: before counting in */
#else
	   /* WG: before counting in.  Proposed fix: once counted, keep the
	    * seq0 the count was made under (a bump since then is a release) */
	   if :: !counted -> s0 = seq :: else fi;
#endif
#endif
	   atomic { oc = counter; ow = waiters };
	   if
	   :: oc == 0 -> r = 0; break
	   :: else
	   fi;
	   if
	   :: TIMED -> r = 1; break			/* deadline passed */
	   :: true
	   fi;
#ifndef MUT_OLD_WG_LEAVE
	   if
	   :: !counted ->
#endif
#ifndef MUT_BLIND_COUNT
		atomic {				/* CAS s -> s + 1, saturating */
			if
			:: counter == oc && waiters == ow ->
				if :: ow < WMAX -> waiters = ow + 1 :: else fi;
				ok = 1;
				printf("MSC: W%d counts itself in: counter %d, waiters %d\n", w + 1, oc, waiters)
			:: else -> ok = 0
			fi
		};
#else
		atomic {
			if :: waiters < WMAX -> waiters++ :: else fi; ok = 1;
			printf("MSC: W%d counts itself in (add): counter %d, waiters %d\n", w + 1, counter, waiters)
		};
#endif
		if :: !ok -> goto again :: else fi;
		counted = 1;
#ifndef MUT_OLD_WG_LEAVE
	   :: else
	   fi;
#endif
#ifdef MUT_SEQ_AFTER_COUNT
	   s0 = seq;
#endif
	   futex_wait(s0, TIMED);
#ifndef MUT_NO_BUMP_CHECK
	   if
	   :: seq != s0 -> r = 0; break			/* released */
	   :: else
	   fi;
#endif
#ifndef MUT_OLD_WG_LEAVE
	   if
	   :: counter == 0 -> r = 0; break
	   :: else
	   fi;
	   if
	   :: ret -> r = 1; break			/* timed out: the count stays */
	   :: else
	   fi;
#else
	   wg_leave(s0, left);
	   if
	   :: !left -> r = 0; break
	   :: else
	   fi;
	   if
	   :: ret -> r = 1; break
	   :: else
	   fi;
#endif
again:	   atomic { oc = 0; ow = 0; ok = 0; ret = 0 }
	od;
	atomic {
		if
		:: r == 0 ->
			printf("MSC: W%d returns 0 (released)\n", w + 1);
			assert(sawzero[w])		/* no spurious release */
		:: else -> printf("MSC: W%d returns -ETIMEDOUT\n", w + 1)
		fi;
		inwait[w] = 0
	}
}

proctype Waiter(byte w; bit timed) {
	byte s0, oc, ow;
	bit ok, ret, counted, r, left;
	wg_wait(timed, r)
}

init {
	atomic {
		counter = 1;			/* gosync_wg_add(wg, 1) before the waits */
		run D();
		run Waiter(0, 1);		/* W1: with a deadline */
#ifdef W2TIMED
		run Waiter(1, 1);
#else
		run Waiter(1, 0);		/* W2: forever */
#endif
	}
}
