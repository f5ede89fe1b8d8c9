/*
 * wg.pml - the WaitGroup of lib/wg.c (gosync_wg_add / _done / _wait /
 * gosync_wg_leave).  seq_cst atomics: sequential consistency.
 *
 * One 64-bit word: state = counter << 32 | ARMED | gen (19 bits) |
 * waiters (12 bits); the futex word is its low half (ARMED | gen |
 * waiters).  Here: counter, and low = ARMED(128) | gen << 3 | waiters.
 *
 *   Add/Done: one CAS; to zero: waiters != 0: low = gen + 1 (ARMED and
 *             waiters cleared); else low = gen.  Then, if the old
 *             waiters != 0: FUTEX_WAKE(low half, all)            [WG]
 *   Wait:     loop { s = load; counter(s) == 0: return 0; deadline
 *             passed: -ETIMEDOUT; waiters(s) == MAX: -EOVERFLOW;
 *             CAS s -> s + 1 (on failure: again with the value seen) }
 *             gen0 = gen(s); expected = low(s + 1);
 *             loop { ret = FUTEX_WAIT(low, expected);  s = load;
 *                    gen(s) != gen0 or counter(s) == 0: return 0;
 *                    ret == 0 (woken, mismatch, spurious):
 *                        expected = low(s); again;
 *                    timed out / signal: gosync_wg_leave: s = load;
 *                        loop { gen(s) != gen0 or counter(s) == 0 or
 *                               waiters(s) == 0: return 0;
 *                               CAS s -> s - 1: return the error;
 *                               failure: again with the value seen } }
 *
 * Tasks, separate so that a new round can begin between a zeroing CAS
 * and its FUTEX_WAKE: D does the Done of round 1 (the counter starts at
 * 1: an Add(1) before anyone waits); A, independent of D, starts a round
 * whenever the counter is zero (Add(1), then its Done), ROUNDS - 1 times;
 * W1 makes one Wait with a deadline (FUTEX_WAIT may time out or be
 * interrupted, and the deadline may have passed before it counts in),
 * W2 makes W2CALLS Waits without one; each Wait may start at any time, in
 * any round or between rounds.  POLL: a third party P (the kernel's
 * ->poll, gosync_wg_arm) sets ARMED with a CAS while the counter is not
 * zero, at most NPOLL times: it changes the futex word, so a waiter's
 * FUTEX_WAIT may return on a mismatch that is no release; the Done that
 * zeroes with ARMED set issues IOC_WAKE (pollers are not modelled).
 *
 * Properties:
 *  - no lost wakeup: no Wait without deadline asleep at the end (the
 *    counter of every round reaches zero): invalid end state;
 *  - no early release: a Wait that returns 0 saw the counter zero during
 *    its call (ghost sawzero: every zeroing CAS marks the calls in
 *    progress; a call that starts at counter 0 has it too): assertion;
 *  - no count left behind: when a Wait returns, its count is not in the
 *    word (ghost counted: set by its count-in, cleared by a zeroing CAS
 *    or by its own leave): assertion (not with MUT_NO_TAKEBACK, whose
 *    timed-out waits leave their count by design, nor with
 *    NO_COUNT_CHECK).
 *
 * Options: WMAX (the most waiters; 2; 1 exercises EOVERFLOW);
 *          SPURIOUS: FUTEX_WAIT may return once per waiter for no reason
 *          (futex(2) allows it; more would let every sleep end and hide
 *          lost wakeups);  W1FOREVER: W1 without a deadline;  W2TIMED: W2
 *          with one;  POLL, NPOLL (2);  ROUNDS (2), W2CALLS (1);
 *          GEN_MOD: the generation counts modulo GEN_MOD (4: exact for 3
 *          rounds; the C's is 2^19; at most 16);
 *          AFTER_DONE: A starts round 2 only after D's Done has returned
 *          (the first model's single owner task: no round begins between
 *          a zeroing CAS and its wake); NO_COUNT_CHECK: no assertion on
 *          counts left behind.  Both only narrow what spin looks for, to
 *          steer a mutation to the trail it is meant to show.
 *
 * OWNED (kernel mode, gosync_wg_add_owned): D's count is owned by its
 * process, which may be killed before its Done, or between the kernel's
 * zeroing CAS of its Done (GOSYNC_SYNC_IOC_WG_DONE_OWNED) and the
 * library's FUTEX_WAKE; dead or exited, its mapping goes away and the
 * kernel pays what it still owns with a CAS and no wake.  The waiters
 * then rely on their slices.  Property added: no count is paid twice
 * (no CAS takes the counter below zero: the Done of A's round would).
 *
 * Mutations (each must fail):
 *   MUT_OLD_WG_LEAVE   finding 10: the design before the generation was in
 *                      the word: state = counter | ARMED | waiters and a
 *                      separate futex word seq, bumped after the zeroing
 *                      CAS; every pass of the wait loop loads seq0 and
 *                      counts in, and after every FUTEX_WAIT the old
 *                      gosync_wg_leave takes the count back with a CAS of
 *                      the state word it loaded (seq unchanged, counter and
 *                      waiters non-zero)
 *   MUT_SEPARATE_SEQ   the present wait loop, but the generation is the
 *                      separate seq word bumped after the zeroing CAS
 *                      (seq0 loaded before counting in) instead of in the
 *                      same CAS; the leave is the old one (the state word
 *                      has no generation to compare)
 *   MUT_NO_TAKEBACK    a wait that times out returns and leaves its count
 *                      (waiters saturate at WMAX instead of EOVERFLOW);
 *                      with MUT_SEPARATE_SEQ: the interim design, lib/wg.c
 *                      before this one
 *   MUT_LEAVE_NO_GEN_CHECK  the leave's CAS compares only counter and
 *                      waiters (not gen, not ARMED)
 *   MUT_NO_GEN_CHECK   after FUTEX_WAIT only a zero counter releases (the
 *                      generation is not compared)
 *   MUT_EXPECTED_AFTER_COUNT  FUTEX_WAIT's expected value is loaded after
 *                      the count-in CAS instead of being its own new value
 *   MUT_NO_SLICE       OWNED, but the waiters sleep without a slice (a
 *                      plain FUTEX_WAIT to the deadline, as before)
 *   MUT_DIED_PAYS_PAID OWNED, but the kernel's Done does not take the
 *                      count off D's owned counts: its death pays again
 *   MUT_BLIND_COUNT    count in with an atomic add (fetch_add) after the
 *                      load, not a CAS that fails when the word changed;
 *                      a zero counter in its result returns 0
 */

#ifndef WMAX
#define WMAX 2
#endif
#ifndef GEN_MOD
#define GEN_MOD 4
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif
#ifndef W2CALLS
#define W2CALLS 1
#endif
#ifndef NPOLL
#define NPOLL 2
#endif

#if defined(MUT_OLD_WG_LEAVE) || defined(MUT_SEPARATE_SEQ)
#define SEQ_WORD	/* the generation is the separate word seq */
#endif

#define ARMED		128
#define GEN_ONE		8
#define WAITERS(l)	((l) & 7)
#define GEN(l)		(((l) >> 3) & 15)
#define NEXT_GEN(l)	(((GEN(l) + 1) % GEN_MOD) * GEN_ONE)

#ifdef SEQ_WORD
#define FUTEX_WORD	seq
#else
#define FUTEX_WORD	low
#endif

byte counter;		/* state >> 32 */
byte low;		/* (uint32_t)state: ARMED | gen << 3 | waiters */
#ifdef SEQ_WORD
byte seq;		/* the old designs' futex word */
#endif
byte fq;		/* FUTEX_WAIT queue of FUTEX_WORD: bit w = waiter w */
bit  inwait[2];		/* ghost: waiter w is inside a Wait call */
bit  sawzero[2];	/* ghost: the counter was zero during that call */
bit  counted[2];		/* ghost: waiter w's count is in the word */
bit  spur[2];		/* a spurious wake-up was used */
#ifdef AFTER_DONE
bit  ddone;		/* D's Done has returned */
#endif
#ifdef OWNED
bit  owned = 1;		/* kernel: D's owned count not yet paid */
bit  kslice;		/* D died: the waiters' slices may end */
#endif

/* the zeroing CAS: every call in progress saw zero; every count is reset */
inline zeroed() {
	if :: inwait[0] -> sawzero[0] = 1 :: else fi;
	if :: inwait[1] -> sawzero[1] = 1 :: else fi;
	counted[0] = 0;
	counted[1] = 0
}

/* gosync_wg_add(wg, delta) by task who ('D' or 'A') */
inline wg_add(who, delta) {
	wg_cas(who, delta);
	wg_wake(who, delta)
}

/* its CAS (also the kernel's, kmod/sync.c gosync_wg_change) */
inline wg_cas(who, delta) {
	atomic { oc = counter; ol = low;
#ifdef OWNED
		assert(oc + delta >= 0)		/* no count paid twice */
#endif
	};
	do
	:: atomic {					/* CAS old -> new */
		if
		:: counter == oc && low == ol ->
			if
			:: oc + delta == 0 ->
				counter = 0;
#ifdef SEQ_WORD
				low = 0;
#else
				if
				:: WAITERS(ol) -> low = NEXT_GEN(ol)
				:: else -> low = GEN(ol) * GEN_ONE
				fi;
#endif
				zeroed();
				printf("MSC: %c: counter %d -> 0, low (armed %d gen %d waiters %d) -> (gen %d)\n",
					who, oc, ol / ARMED, GEN(ol), WAITERS(ol), GEN(low))
			:: else ->
				counter = oc + delta;
				printf("MSC: %c: counter %d -> %d (gen %d waiters %d)\n",
					who, oc, counter, GEN(ol), WAITERS(ol))
			fi;
			ok = 1
		:: else -> oc = counter; ol = low; ok = 0;
#ifdef OWNED
			assert(oc + delta >= 0)
#endif
		fi
	   };
	   if :: ok -> break :: else fi
	od
}

/* after the CAS: the wakes (the library's, never the kernel's) */
inline wg_wake(who, delta) {
	if
	:: oc + delta == 0 && WAITERS(ol) ->
#ifdef SEQ_WORD
		atomic { seq++;				/* WG: after the zeroing CAS */
			printf("MSC: %c: seq++ (%d)\n", who, seq) };
#endif
		atomic { fq = 0; printf("MSC: %c: FUTEX_WAKE all\n", who) }
	:: oc + delta == 0 && !WAITERS(ol) ->
		printf("MSC: %c: waiters 0: no wake\n", who)
	:: else
	fi;
	if
	:: oc + delta == 0 && (ol & ARMED) -> printf("MSC: %c: IOC_WAKE (pollers)\n", who)
	:: else
	fi;
	atomic { oc = 0; ol = 0; ok = 0 }
}

#ifdef OWNED
/*
 * kmod/sync.c gosync_wg_owner_died: D's mapping is gone; the kernel pays
 * what D still owns, never below zero (a CAS of its own, no FUTEX_WAKE:
 * the kernel cannot).  From D's death on, the waiters' 100 ms slices
 * (gosync_sync_slice) may end a FUTEX_WAIT.
 */
inline owner_died() {
	kslice = 1;
	printf("MSC: D dies: the kernel pays %d owned\n", owned);
	do
	:: owned == 0 -> break
	:: else ->
		atomic {
			oc = counter; ol = low;
			if
			:: oc == 0 -> ok = 1	/* nothing left to pay */
			:: else ->
				counter = oc - 1;
				if
				:: counter == 0 ->
					if
					:: WAITERS(ol) -> low = NEXT_GEN(ol)
					:: else -> low = GEN(ol) * GEN_ONE
					fi;
					zeroed();
					printf("MSC: kernel: counter %d -> 0 (gen %d), no futex wake\n", oc, GEN(low))
				:: else -> printf("MSC: kernel: counter %d -> %d\n", oc, counter)
				fi;
				ok = 1
			fi
		};
		owned = 0	/* (one count: the loop runs once) */
	od
}
#endif

proctype D() {
	byte oc, ol;
	bit ok;
#ifndef OWNED
	wg_add('D', -1);	/* Done: round 1 ends */
#else
	/* D's count is owned (gosync_wg_add_owned before the waits) */
	if
	:: printf("MSC: D is killed before its Done\n")
	:: wg_cas('D', -1);	/* its Done: the kernel's CAS (DONE_OWNED) ... */
#ifndef MUT_DIED_PAYS_PAID
	   owned = 0;		/* ... and owned - 1 under owned_lock */
#endif
	   if
	   :: wg_wake('D', -1)	/* the library wakes the futex */
	   :: printf("MSC: D is killed between its zeroing and its wake\n")
	   fi
	fi;
	owner_died();		/* exit or kill: the mapping goes away */
#endif
#ifdef AFTER_DONE
	ddone = 1
#endif
}

proctype A() {
	byte oc, ol, k = 1;
	bit ok;
	do
	:: k < ROUNDS ->
#ifndef AFTER_DONE
		counter == 0;	/* the group is free: reuse it */
#else
		counter == 0 && ddone;
#endif
		wg_add('A', 1);
		wg_add('A', -1);
		k++
	:: else -> break
	od
}

#ifdef POLL
/* the kernel's gosync_wg_arm: CAS in ARMED while the counter is not zero */
proctype P() {
	byte n;
	do
	:: atomic { n < NPOLL && counter != 0 && (low & ARMED) == 0 ->
		low = low | ARMED; n++;
		printf("MSC: P: poll sets ARMED (gen %d waiters %d)\n", GEN(low), WAITERS(low)) }
	:: break
	od
}
#endif

/* FUTEX_WAIT(FUTEX_WORD, E): ret 0 woken / mismatch / spurious, 1 timed
 * out or interrupted */
inline futex_wait(E, TIMED) {
	atomic {
		if
		:: FUTEX_WORD == E -> fq = fq | (1 << w);
			printf("MSC: W%d sleeps on %d\n", w + 1, E)
		:: else -> printf("MSC: W%d: FUTEX_WAIT mismatch (%d, not %d)\n", w + 1, FUTEX_WORD, E)
		fi
	};
	if
	:: (fq & (1 << w)) == 0 -> ret = 0
	:: atomic { TIMED && (fq & (1 << w)) -> fq = fq & ~(1 << w); ret = 1;
		printf("MSC: W%d times out\n", w + 1) }
#if defined(OWNED) && !defined(MUT_NO_SLICE)
	/*
	 * A slice ends (not the deadline: the C turns that -ETIMEDOUT
	 * into another pass); only once the kernel could have changed the
	 * word unwoken, and only when the pass would see the release (a
	 * slice that sees nothing sleeps again: a stutter), so that a
	 * count nobody pays still shows as a waiter asleep at the end.
	 */
	:: atomic { (fq & (1 << w)) && kslice && (counter == 0 || GEN(low) != gen0) ->
		fq = fq & ~(1 << w); ret = 0;
		printf("MSC: W%d: its slice ends\n", w + 1) }
#endif
#ifdef SPURIOUS
	:: atomic { (fq & (1 << w)) && !spur[w] -> fq = fq & ~(1 << w); ret = 0;
		spur[w] = 1;	/* once: more would hide lost wakeups */
		printf("MSC: W%d wakes spuriously\n", w + 1) }
#endif
	fi
}

/* the count-in CAS s -> s + 1 */
inline count_in() {
	atomic {
		if
		:: counter == oc && low == ol ->
#ifdef MUT_NO_TAKEBACK
			if :: WAITERS(ol) < WMAX -> low = ol + 1 :: else fi;	/* saturating */
#else
			low = ol + 1;
#endif
			counted[w] = 1; ok = 1;
			printf("MSC: W%d counts itself in: counter %d, gen %d, waiters %d\n",
				w + 1, counter, GEN(low), WAITERS(low))
		:: else -> oc = counter; ol = low; ok = 0
		fi
	}
}

#ifdef SEQ_WORD
/* the old gosync_wg_leave(w, seq0): left = 1 taken back, 0 released */
inline old_leave() {
	atomic { oc = counter; ol = low };
	do
	:: seq != s0 || oc == 0 || WAITERS(ol) == 0 -> left = 0; break
	:: else ->
		atomic {
			if
			:: counter == oc && low == ol -> low = ol - 1; counted[w] = 0; ok = 1;
				printf("MSC: W%d leaves: counter %d, waiters %d -> %d\n",
					w + 1, oc, WAITERS(ol), WAITERS(low))
			:: else -> oc = counter; ol = low; ok = 0
			fi
		};
		if :: ok -> left = 1; break :: else fi
	od
}
#endif

/* gosync_wg_wait(wg, deadline) for waiter w; r: 0 released, 1 -ETIMEDOUT
 * (or -EINTR), 2 -EOVERFLOW */
inline wg_wait(TIMED) {
	atomic { inwait[w] = 1; sawzero[w] = (counter == 0);
		printf("MSC: W%d calls Wait\n", w + 1) };
#if defined(MUT_OLD_WG_LEAVE)
	/* the design of finding 10 */
	do
	:: s0 = seq;					/* WG: before counting in */
	   atomic { oc = counter; ol = low };
	   if :: oc == 0 -> r = 0; goto wdone :: else fi;
	   if :: TIMED -> r = 1; goto wdone :: true fi;	/* deadline passed */
	   if :: WAITERS(ol) == WMAX -> r = 2; goto wdone :: else fi;
	   count_in();
	   if
	   :: ok ->
		futex_wait(s0, TIMED);
		if :: seq != s0 -> r = 0; goto wdone :: else fi;
		old_leave();				/* woken for nothing or timed out */
		if :: !left -> r = 0; goto wdone :: else fi;
		if :: ret -> r = 1; goto wdone :: else fi
	   :: else
	   fi;
	   atomic { ok = 0; ret = 0; left = 0 }
	od;
#elif defined(SEQ_WORD)
	/* MUT_SEPARATE_SEQ: the present loop over a separate seq word */
	do
	:: s0 = seq;					/* WG: before counting in */
	   atomic { oc = counter; ol = low };
	   if :: oc == 0 -> r = 0; goto wdone :: else fi;
	   if :: TIMED -> r = 1; goto wdone :: true fi;
#ifndef MUT_NO_TAKEBACK
	   if :: WAITERS(ol) == WMAX -> r = 2; goto wdone :: else fi;
#endif
	   count_in();
	   if :: ok -> break :: else fi
	od;
	do
	:: futex_wait(s0, TIMED);
	   if :: seq != s0 -> r = 0; goto wdone :: else fi;	/* released */
	   if :: counter == 0 -> r = 0; goto wdone :: else fi;
	   if
	   :: ret ->
#ifdef MUT_NO_TAKEBACK
		r = 1; goto wdone			/* the count stays */
#else
		old_leave();
		if :: left -> r = 1 :: else -> r = 0 fi;
		goto wdone
#endif
	   :: else
	   fi
	od;
#else
	/* the present design */
	atomic { oc = counter; ol = low };
	do
	:: oc == 0 -> r = 0; goto wdone
	:: else ->
		if :: TIMED -> r = 1; goto wdone :: true fi;	/* deadline passed */
#ifndef MUT_NO_TAKEBACK
		if :: WAITERS(ol) == WMAX -> r = 2; goto wdone :: else fi;
#endif
#ifndef MUT_BLIND_COUNT
		count_in();				/* WG */
		if :: ok -> break :: else fi
#else
		atomic { oc = counter; ol = low; low = low + 1; counted[w] = 1;
			printf("MSC: W%d counts itself in (add): counter %d, gen %d, waiters %d\n",
				w + 1, oc, GEN(low), WAITERS(low)) };
		if :: oc == 0 -> r = 0; goto wdone :: else -> break fi
#endif
	od;
	gen0 = GEN(ol);
#ifndef MUT_EXPECTED_AFTER_COUNT
	e = ol + 1;					/* low(s + 1) */
#else
	atomic { e = low; printf("MSC: W%d loads its expected value %d\n", w + 1, e) };
#endif
	do
	:: futex_wait(e, TIMED);
	   atomic { oc = counter; ol = low };
#ifndef MUT_NO_GEN_CHECK
	   if :: GEN(ol) != gen0 || oc == 0 -> r = 0; goto wdone :: else fi;
#else
	   if :: oc == 0 -> r = 0; goto wdone :: else fi;
#endif
	   if
	   :: !ret -> e = ol				/* the word changed: again */
	   :: else ->
#ifdef MUT_NO_TAKEBACK
		r = 1; goto wdone			/* the count stays */
#else
		/* gosync_wg_leave(w, gen0) */
		atomic { oc = counter; ol = low };
		do
		:: GEN(ol) != gen0 || oc == 0 || WAITERS(ol) == 0 -> r = 0; goto wdone
		:: else ->
			atomic {
				if
#ifndef MUT_LEAVE_NO_GEN_CHECK
				:: counter == oc && low == ol -> low = ol - 1;
#else
				:: counter == oc && WAITERS(low) == WAITERS(ol) -> low = low - 1;
#endif
					counted[w] = 0; ok = 1;
					printf("MSC: W%d leaves: counter %d, gen %d, waiters %d -> %d\n",
						w + 1, oc, GEN(low), WAITERS(ol), WAITERS(low))
				:: else -> oc = counter; ol = low; ok = 0
				fi
			};
			if :: ok -> r = 1; goto wdone :: else fi
		od
#endif
	   fi
	od;
#endif
wdone:
	atomic {
		if
		:: r == 0 ->
			printf("MSC: W%d returns 0 (released)\n", w + 1);
			assert(sawzero[w])		/* no early release */
		:: r == 1 -> printf("MSC: W%d returns -ETIMEDOUT\n", w + 1)
		:: else -> printf("MSC: W%d returns -EOVERFLOW\n", w + 1)
		fi;
#if !defined(MUT_NO_TAKEBACK) && !defined(NO_COUNT_CHECK)
		assert(!counted[w]);			/* no count left behind */
#endif
		inwait[w] = 0; sawzero[w] = 0;
		oc = 0; ol = 0; ok = 0; ret = 0; e = 0; gen0 = 0; s0 = 0; left = 0
	}
}

proctype Waiter(byte w; bit timed; byte calls) {
	byte oc, ol, e, gen0, s0, r, k;
	bit ok, ret, left;
	do
	:: k < calls -> wg_wait(timed); k++
	:: else -> break
	od
}

init {
	atomic {
		counter = 1;			/* gosync_wg_add(wg, 1) before the waits */
		run D();
		run A();
#ifdef W1FOREVER
		run Waiter(0, 0, 1);
#else
		run Waiter(0, 1, 1);		/* W1: with a deadline */
#endif
#ifdef W2TIMED
		run Waiter(1, 1, W2CALLS);
#else
		run Waiter(1, 0, W2CALLS);	/* W2: forever */
#endif
#ifdef POLL
		run P();
#endif
	}
}
