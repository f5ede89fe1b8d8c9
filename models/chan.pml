/*
 * chan.pml - shared by ring.pml and handoff.pml: the ring of
 * common/gosync_ring.h and the kernel side of kmod/chan.c (waking,
 * gosync_chan_wait, the kernel's try functions, gosync_chan_died), under
 * sequential consistency.  Each atomic block is one access to a shared
 * word plus the local decisions that follow it.  See ring.pml for the
 * configuration switches and the mutations of the ring itself.
 */

#ifndef NSLOTS
#define NSLOTS 1
#endif
#ifndef UNBUFFERED
#define UNBUFFERED 0	/* cap 0 (handoff.pml); ring.pml: cap = NSLOTS */
#endif
#ifndef NPROD
#define NPROD 2
#endif
#ifndef NELEM
#define NELEM 2
#endif
#ifndef NELEM1
#define NELEM1 NELEM
#endif
#ifndef NCONS
#define NCONS 1
#endif
#ifndef DEATHMASK
#define DEATHMASK 0
#endif
#define NEL (NPROD * NELEM)
#define NTASK (NPROD + NCONS)

/* slot states: uapi/linux/gosync.h GOSYNC_SLOT_* */
#define FREE    0
#define WRITING 1
#define FULL    2
#define SYNC    3
#define READING 4
#define SKIP    5

/* return codes */
#define R_OK        0	/* try_send: sent */
#define R_GOT       1	/* try_recv: took an element (C: 1) */
#define R_CLOSED    2	/* try_recv: closed and drained (C: 0) */
#define R_EAGAIN    3
#define R_EINPROG   4	/* -EINPROGRESS */
#define R_EPIPE     5
#define R_EIO       6
#define R_ETIMEDOUT 7
#define R_ENOMSG    8	/* -ENOMSG: no receiver left to wait for */
#define WOULD_BLOCK(r) ((r) == R_EAGAIN || (r) == R_EINPROG)

/* sides: struct gosync_side recv / send */
#define RECV 0
#define SEND 1

/* local "what next" codes */
#define A_FULL    1
#define A_HELP    2
#define A_CLAIM   3
#define A_SKIP    4
#define A_NOTHING 5
#define A_PASS    6
#define A_AGAIN   7

#define TBIT(t)  (1 << (t))
#define OWNER(t) ((t) + 1)

/* ---- shared words ----------------------------------------------------- */
/* slot word {position, owner, state}: one 64-bit word in C, so every
 * access to the three fields together is one atomic step; then the
 * element (sdat: which element it holds) */
byte spos[NSLOTS];
byte sown[NSLOTS];
byte sst[NSLOTS];
byte sdat[NSLOTS];
/* tail = pos << 1 | GOSYNC_TAIL_CLOSED, head */
byte tpos;
bit  tcl;
byte hpos;
/* the kernel's own GOSYNC_CHAN_CLOSED bit in ch->flags */
bit  kclosed;
/* the kernel's own count of blocked receivers, ch->recv.waiters */
byte rwaiters;
/* struct gosync_wait armed words; the kernel's wait queues: wq[side] =
 * tasks on the queue (prepare_to_wait .. finish_wait or an autoremoving
 * wake), woken = tasks whose wait entry was woken (task state RUNNING) */
bit  armed[2];
byte wq[2];
byte woken;

/* ---- ghosts ----------------------------------------------------------- */
byte rcv[NEL + 1];	/* times element e was claimed by a consumer */
bit  pub[NEL + 1];	/* e was published (FULL/SYNC stored, A) */
bit  wdr[NEL + 1];	/* e was withdrawn */
#ifdef SYNCSEND
bit  sok[NEL + 1];	/* the (sync) send of e reported success */
#endif
byte pdone;		/* producers finished (or dead) */
byte ndone;		/* tasks finished, and the closer */
bit  inlib[NTASK];	/* task is inside a fast-path operation */
bit  killed[NTASK];
byte deaths;

/* per-producer FIFO: when e (k-th of its producer) is claimed, every
 * earlier element of that producer was claimed */
#define EPROD(e) (((e) - 1) / NELEM)
#define EIDX(e)  (((e) - 1) % NELEM)

/* ---- common/gosync_ring.h --------------------------------------------- */

/* GOSYNC_CAS(r->head, h, h + 1) */
inline cas_head(h) {
	atomic { if :: hpos == h -> hpos = h + 1 :: else fi }
}

/* gosync_ring_try_send(r, elem = e, state = st, &p) with owner own.
 * Each atomic block is one access to a shared word plus the local
 * decisions that follow it; dead locals are cleared (state space). */
inline ring_try_send(own, st, e, ret, p) {
	do
	:: atomic {
		tp = tpos; tc = tcl;			/* LOAD_ACQUIRE(tail) */
		p = tp; i = p % NSLOTS
	   };
	   if
	   :: tc -> atomic { ret = R_EPIPE; p = 0; i = 0; tp = 0; tc = 0 }; break
	   :: else
	   fi;
	   atomic {
		wp = spos[i]; wo = sown[i]; ws = sst[i];	/* B, matches D */
		if
		:: wp + NSLOTS == p -> act = A_FULL	/* lap p - n still there */
		:: wp != p && wp + NSLOTS != p -> act = A_HELP	/* later lap: stale tail */
		:: wp == p && ws != FREE -> act = A_HELP	/* claimed: help the tail */
		:: wp == p && ws == FREE -> act = A_CLAIM
		fi
	   };
	   if
	   :: act == A_FULL ->
		atomic { ret = R_EAGAIN; act = 0; wp = 0; wo = 0; ws = 0; tp = 0; p = 0; i = 0 };
		break
	   :: act == A_HELP ->
		atomic {				/* GOSYNC_CAS(tail, t, t + 2) */
			if
			:: tpos == tp && !tcl -> tpos = tp + 1;
				printf("MSC: task %d helps the tail past %d\n", t, tp)
			:: else
			fi;
			act = 0; wp = 0; wo = 0; ws = 0
		}
	   :: act == A_CLAIM ->
		atomic {				/* claim CAS FREE(p) -> WRITING(p) */
			if
			:: spos[i] == wp && sown[i] == wo && sst[i] == ws ->
				sown[i] = own; sst[i] = WRITING; ok = 1;
				printf("MSC: task %d claims WRITING(%d), owner %d\n", t, p, own)
			:: else -> ok = 0
			fi;
			act = 0; wp = 0; wo = 0; ws = 0
		};
		if
		:: !ok -> skip				/* lost the claim: again */
		:: else ->
			atomic {			/* CAS tail t -> t + 2 */
				if
				:: tpos == tp && !tcl -> tpos = tp + 1; ok = 0;
					printf("MSC: task %d moves the tail to %d\n", t, tp + 1)
				:: else -> ok = 1
				fi
			};
			if
			:: ok -> atomic { ok = (tpos == tp && tcl) }	/* LOAD(tail) == t|CLOSED */
			:: else
			fi;
#ifndef MUT_NO_CLOSE_UNDO
			if
			:: ok ->			/* the claim came after the close: undo */
				atomic {		/* STORE_RELEASE FREE(p) */
					sown[i] = 0; sst[i] = FREE;
					printf("MSC: task %d undoes its claim at the closed tail %d\n", t, p);
					ret = R_EPIPE; ok = 0; p = 0; i = 0; tp = 0
				};
				break
			:: else
			fi;
#endif
			atomic {			/* GOSYNC_COPY in; STORE_RELEASE st(p): A, matches C */
				sdat[i] = e; sown[i] = 0; sst[i] = st; pub[e] = 1;
				printf("MSC: task %d publishes element %d at %d (state %d)\n", t, e, p, st);
				ret = R_OK; ok = 0; i = 0; tp = 0
			};
			break
		fi
	   fi
	od
}

/* gosync_ring_nothing_at(r, h, w) for the word wp/ws read at h: sets ret,
 * or act = A_AGAIN for -ESTALE */
inline ring_nothing_at(h, ret) {
	atomic {
		tp = tpos; tc = tcl;			/* LOAD_ACQUIRE(tail) */
		if
		:: tp == h && tc -> ret = R_CLOSED	/* (an undone claim at) the closed tail */
		:: tp == h && !tc && wp == h && ws == WRITING -> ret = R_EINPROG
		:: tp == h && !tc && !(wp == h && ws == WRITING) -> ret = R_EAGAIN
		:: tp < h -> ret = R_EIO;		/* head beyond tail */
			printf("MSC: task %d finds the head %d beyond the tail %d: -EIO\n", t, h, tp)
		:: tp > h && wp == h && ws == WRITING -> ret = R_EINPROG
		:: tp > h && !(wp == h && ws == WRITING) -> act = A_AGAIN	/* -ESTALE */
		fi;
		tp = 0; tc = 0
	}
}

/* gosync_ring_try_recv(r, &e, &freed) with owner own.  The ghost checks
 * sit on the claim CAS, the linearisation point of a receive. */
inline ring_try_recv(own, ret, e, freed) {
	do
	:: atomic { h = hpos; i = h % NSLOTS };		/* LOAD_ACQUIRE(head) */
	   atomic {
		wp = spos[i]; wo = sown[i]; ws = sst[i];	/* C, matches A */
		if
		:: wp == h && (ws == FULL || ws == SYNC) -> act = A_CLAIM
		:: wp == h && ws == READING -> act = A_HELP
		:: wp == h && ws == SKIP -> act = A_SKIP
		:: wp == h && (ws == FREE || ws == WRITING) -> act = A_NOTHING
		:: wp != h && wp + NSLOTS == h -> act = A_NOTHING	/* previous lap */
		:: wp != h && wp + NSLOTS != h -> act = A_HELP	/* later lap: h was passed */
		fi
	   };
	   if
	   :: act == A_CLAIM ->
		atomic {				/* claim CAS FULL/SYNC(h) -> READING(h) */
			if
			:: spos[i] == wp && sown[i] == wo && sst[i] == ws ->
				sown[i] = own; sst[i] = READING; ok = 1;
				e = sdat[i];
				printf("MSC: task %d claims READING(%d): element %d\n", t, h, e);
				assert(e > 0 && e <= NEL && pub[e]);
				rcv[e]++;
				assert(rcv[e] == 1);		/* never received twice */
				assert(!wdr[e]);		/* never a withdrawn one */
				/* per-producer FIFO */
				assert(EIDX(e) == 0 || rcv[e - 1] > 0)
			:: else -> ok = 0
			fi;
			act = 0; wp = 0; wo = 0; ws = 0
		};
		if
		:: !ok -> skip
		:: else ->
			atomic { if :: hpos == h -> hpos = h + 1 :: else fi };	/* CAS head */
			atomic {			/* GOSYNC_COPY out; STORE_RELEASE FREE(h+n): D */
				assert(sdat[i] == e);
				spos[i] = h + NSLOTS; sown[i] = 0; sst[i] = FREE;
				printf("MSC: task %d frees the slot: FREE(%d)\n", t, h + NSLOTS);
				freed = 1; ret = R_GOT; ok = 0; h = 0; i = 0
			};
			break
		fi
	   :: act == A_HELP ->
		atomic {				/* GOSYNC_CAS(head, h, h + 1) */
			if :: hpos == h -> hpos = h + 1 :: else fi;
			act = 0; wp = 0; wo = 0; ws = 0; h = 0; i = 0
		}
	   :: act == A_SKIP ->
		atomic {				/* LOAD_ACQUIRE(tail) >> 1 > h ? */
#ifndef MUT_SKIP_NO_TAIL_CHECK
			if
			:: tpos > h -> act = A_PASS
			:: else -> act = A_NOTHING;
				printf("MSC: task %d sees SKIP(%d) with the tail at %d: not passable\n", t, h, tpos)
			fi
#else
			act = A_PASS
#endif
		};
		if
		:: act == A_PASS ->
			atomic {			/* CAS SKIP(h) -> FREE(h + n) */
				if
				:: spos[i] == wp && sown[i] == wo && sst[i] == ws ->
					spos[i] = h + NSLOTS; sown[i] = 0; sst[i] = FREE; ok = 1;
					printf("MSC: task %d passes SKIP(%d): FREE(%d)\n", t, h, h + NSLOTS)
				:: else -> ok = 0
				fi;
				act = 0; wp = 0; wo = 0; ws = 0
			};
			if
			:: ok ->
				atomic {		/* *freed = 1; CAS head */
#ifndef MUT_NO_FREED_WAKE
					freed = 1;
#endif
					if :: hpos == h -> hpos = h + 1 :: else fi;
					ok = 0; h = 0; i = 0
				}
			:: else -> atomic { h = 0; i = 0 }
			fi
		:: else
		fi
	   :: else
	   fi;
	   if
	   :: act == A_NOTHING ->
		act = 0;
		ring_nothing_at(h, ret);
		if
		:: act == A_AGAIN -> atomic { act = 0; wp = 0; wo = 0; ws = 0; h = 0; i = 0 }
		:: else ->
			atomic { assert(ret != R_EIO); wp = 0; wo = 0; ws = 0; h = 0; i = 0 };
			break
		fi
	   :: else
	   fi
	od
}

/* gosync_ring_withdraw(r, p): res 1 withdrawn, 0 a receiver took it */
inline ring_withdraw(p, e, res) {
	i = p % NSLOTS;
	atomic {				/* CAS SYNC(p) -> SKIP(p) */
		if
#ifndef MUT_BLIND_WITHDRAW
		:: spos[i] == p && sown[i] == 0 && sst[i] == SYNC ->
#else
		:: spos[i] == p ->		/* a plain store of SKIP(p) */
			sown[i] = 0;
#endif
			sst[i] = SKIP; res = 1; wdr[e] = 1;
			printf("MSC: task %d withdraws element %d: SKIP(%d)\n", t, e, p)
		:: else -> res = 0
		fi
	};
	if
	:: res ->
#ifndef MUT_WITHDRAW_NO_PASS_HEAD
		atomic { ok = (hpos == p) };	/* LOAD_ACQUIRE(head) == pos */
#else
		ok = 0;
#endif
		if
		:: ok ->
			atomic {		/* CAS SKIP(p) -> FREE(p + n) */
				if
				:: spos[i] == p && sown[i] == 0 && sst[i] == SKIP ->
					spos[i] = p + NSLOTS; sst[i] = FREE; ok = 1;
					printf("MSC: task %d passes its withdrawn head: FREE(%d)\n", t, p + NSLOTS)
				:: else -> ok = 0
				fi
			};
			if :: ok -> cas_head(p) :: else fi
		:: else
		fi
	:: else
	fi;
	atomic { i = 0; ok = 0 }
}

/* gosync_ring_release_owner(r, own): the kernel, once the mapping is gone */
inline ring_release_owner(own, released) {
	released = 0;
	j = 0;
	do
	:: j < NSLOTS ->
		atomic { wp = spos[j]; wo = sown[j]; ws = sst[j] };	/* LOAD(word) */
		if
		:: wo == own && ws == WRITING ->
			atomic {			/* CAS WRITING(p) -> SKIP(p) */
				if
				:: spos[j] == wp && sown[j] == wo && sst[j] == ws ->
					sown[j] = 0; sst[j] = SKIP; ok = 1;
					printf("MSC: kernel releases WRITING(%d) of task %d: SKIP(%d)\n", wp, t, wp)
				:: else -> ok = 0
				fi
			};
			if
			:: ok ->
				released++;
#ifndef MUT_NO_TAIL_MOVE
				/* finding 11: CAS tail (p << 1) -> ((p + 1) << 1) */
				atomic {
					if
					:: tpos == wp && !tcl -> tpos = wp + 1;
						printf("MSC: kernel moves the tail past the SKIP to %d\n", wp + 1)
					:: else
					fi
				}
#else
				skip
#endif
			:: else
			fi
		:: wo == own && ws == READING ->
			atomic {			/* CAS READING(p) -> FREE(p + n) */
				if
				:: spos[j] == wp && sown[j] == wo && sst[j] == ws ->
					spos[j] = wp + NSLOTS; sown[j] = 0; sst[j] = FREE;
					printf("MSC: kernel releases READING(%d) of task %d: FREE(%d)\n", wp, t, wp + NSLOTS);
					released++
				:: else
				fi
			}
		:: else
		fi;
		atomic { j++; wp = 0; wo = 0; ws = 0; ok = 0 }
	:: else -> atomic { j = 0; break }
	od
}

/* ---- kmod/chan.c: waking ---------------------------------------------- */

/* gosync_side_wake: WRITE_ONCE(armed, 0); wake_up_all (autoremove).  One
 * step here: a waiter that arms between the two is on the queue (it
 * prepared first) and is woken, which is what one step gives too. */
inline side_wake(s) {
	atomic {
		armed[s] = 0; woken = woken | wq[s];
		printf("MSC: wake side %d (queue %d)\n", s, wq[s]);
		wq[s] = 0
	}
}

/* gosync_side_wake_if_armed: smp_mb() [E]; load armed; if set: wake.  The
 * library's gosync_wake_if_armed is the same, its wake being
 * GOSYNC_CHAN_IOC_WAKE.  The load of armed and the wake it leads to are
 * one step (a waiter arming in between is on the queue and is woken
 * either way); E/F store buffering itself is modelled in wake.pml. */
inline wake_if_armed(s) {
	atomic {
		if
		:: armed[s] -> armed[s] = 0; woken = woken | wq[s];
			printf("MSC: task %d finds side %d armed: wake (queue %d)\n", t, s, wq[s]);
			wq[s] = 0
		:: else
		fi
	}
}

/* gosync_chan_died: release what the dead mapping claimed, then wake */
inline chan_died(t) {
	ring_release_owner(OWNER(t), rel);
#if defined(MUT_DIED_WAKE_IF_RELEASED)
	/* kmod/chan.c before its fix: wake only when a claim was released */
	if
	:: rel > 0 -> side_wake(RECV); side_wake(SEND)
	:: else -> printf("MSC: kernel released nothing: no wake\n")
	fi
#else
	/* proposed fix: wake both sides whenever a mapping goes away (a task
	 * killed between its publish/free and its wake check, README.md) */
	side_wake(RECV); side_wake(SEND)
#endif
	;
	atomic { rel = 0 }
}

/* ---- kmod/chan.c: the kernel's try functions -------------------------- */

/* gosync_try_send (kernel, owner 0); NB: s->nonblock (a non-blocking
 * sync send gives up once no other receiver is blocked) */
inline k_try_send(st, e, ret, p, NB) {
	if
	:: kclosed -> ret = R_EPIPE
	:: else ->
		ring_try_send(0, st, e, ret, p);
		if
		:: ret == R_OK -> wake_if_armed(RECV)		/* E */
		:: else
		fi
#ifdef RECV_WAITERS
		;
		if
		:: NB && WOULD_BLOCK(ret) && rwaiters == 0 ->	/* !gosync_other_receivers */
			ret = R_ENOMSG
		:: else
		fi
#endif
	fi
}

/* gosync_ring_recv_once: one ring receive; wakes senders if it freed */
inline ring_recv_once(own, ret, e) {
	freed = 0;
	ring_try_recv(own, ret, e, freed);
	if
	:: freed -> freed = 0; wake_if_armed(SEND)		/* E */
	:: else
	fi
}

/* gosync_try_recv (kernel).  The grace of a closed channel for claimed
 * slots is not modelled: a claim is published, or released at death. */
inline k_try_recv(ret, e) {
	ring_recv_once(0, ret, e);
	if
	:: WOULD_BLOCK(ret) && kclosed ->			/* test_bit_acquire */
#ifndef MUT_KCLOSED_NO_RETRY
		if
		:: ret == R_EAGAIN ->				/* ask again */
			ring_recv_once(0, ret, e);
			if :: ret == R_EAGAIN -> ret = R_CLOSED :: else fi
		:: else
		fi
#else
		if :: ret == R_EAGAIN -> ret = R_CLOSED :: else fi
#endif
	:: else
	fi
}

/* gosync_try_delivered, for a sync send at p */
inline k_try_delivered(p, ret, NB) {
	atomic {				/* gosync_ring_delivered: G */
		ok = !(spos[p % NSLOTS] == p && sown[p % NSLOTS] == 0 &&
		       sst[p % NSLOTS] == SYNC)
	};
	if
	:: ok -> ret = R_OK
	:: else ->
		if
		:: kclosed -> ret = R_EPIPE
#ifdef RECV_WAITERS
		:: else ->
			if
			:: NB && rwaiters == 0 -> ret = R_ENOMSG	/* the receivers left */
			:: else -> ret = R_EAGAIN
			fi
#else
		:: else -> ret = R_EAGAIN
#endif
		fi
	fi;
	ok = 0
}

/* gosync_recv_waiters_add: a receiver starts (1) or stops (-1) blocking;
 * senders care (a non-blocking sync send waits only while receivers
 * wait; on an unbuffered channel a new receiver is room) */
#ifdef RECV_WAITERS
inline recv_waiters_add(d) {
	atomic { rwaiters = rwaiters + d };
	if
#ifndef MUT_NO_LEAVE_WAKE
	:: d < 0 || UNBUFFERED -> wake_if_armed(SEND)	/* E */
#else
	:: d > 0 && UNBUFFERED -> wake_if_armed(SEND)
#endif
	:: else
	fi
}
#define RW_ENTER recv_waiters_add(1);
#define RW_LEAVE ; recv_waiters_add(-1)
#else
/* ring.pml: the count only matters to non-blocking sync sends
 * (handoff.pml); leaving it and its extra wakes out only removes wakes */
#define RW_ENTER
#define RW_LEAVE
#endif

/* gosync_chan_wait, the steps around each retry:
 *   prepare_to_wait (on the queue, task state INTERRUPTIBLE), then
 *   gosync_side_arm (armed = 1, F);  after a retry that would block:
 *   a closed channel polls (1 ms), else schedule() until woken; a
 *   deadline (TIMED) may end the wait.  finish_wait at the end. */
#ifndef MUT_ARM_BEFORE_PREPARE
#define K_PREPARE_ARM(side, t)						\
	atomic {							\
		wq[side] = wq[side] | TBIT(t); woken = woken & ~TBIT(t);	\
		armed[side] = 1						\
	}
#else
#define K_PREPARE_ARM(side, t)						\
	armed[side] = 1;						\
	atomic { wq[side] = wq[side] | TBIT(t); woken = woken & ~TBIT(t) }
#endif

#define K_SLEEP(t, TIMED)						\
	if								\
	:: kclosed -> skip	/* closed: schedule_hrtimeout 1 ms */	\
	:: else -> printf("MSC: task %d sleeps\n", t);			\
		(woken & TBIT(t)) != 0	/* schedule() */		\
	:: TIMED -> skip	/* the deadline's hrtimer */		\
	fi

#define K_FINISH(side, t)						\
	atomic { wq[side] = wq[side] & ~TBIT(t); woken = woken & ~TBIT(t) }

#ifndef MUT_LEAVE_BEFORE_RETRY
/* gosync_chan_wait(ch, &ch->recv, FOREVER, ..., gosync_try_recv); the
 * library's standalone gosync_wait has the same shape: counted in once,
 * every retry made while still counted, counted out at the end */
inline k_wait_recv(t, ret, e, TIMED) {
	k_try_recv(ret, e);
	if
	:: WOULD_BLOCK(ret) ->
		RW_ENTER
		do
		:: K_PREPARE_ARM(RECV, t);
		   k_try_recv(ret, e);
		   if
		   :: !WOULD_BLOCK(ret) -> break
		   :: WOULD_BLOCK(ret) && TIMED -> ret = R_ETIMEDOUT; break
		   :: else
		   fi;
		   K_SLEEP(t, TIMED)
		od;
		K_FINISH(RECV, t)
		RW_LEAVE
	:: else
	fi
}
#else
/* the library's standalone gosync_wait before its fix: after each sleep
 * it counted out (waking senders) and made the retry uncounted, counting
 * in again for the next pass */
inline k_wait_recv(t, ret, e, TIMED) {
	k_try_recv(ret, e);
	do
	:: WOULD_BLOCK(ret) ->
		recv_waiters_add(1);
		K_PREPARE_ARM(RECV, t);
		k_try_recv(ret, e);
		if
		:: WOULD_BLOCK(ret) && TIMED -> ret = R_ETIMEDOUT
		:: WOULD_BLOCK(ret) -> K_SLEEP(t, TIMED)
		:: else
		fi;
		K_FINISH(RECV, t);
		recv_waiters_add(-1);
		if
		:: ret == R_ETIMEDOUT || !WOULD_BLOCK(ret) -> break
		:: else -> k_try_recv(ret, e)
		fi
	:: else -> break
	od
}
#endif

/* gosync_chan_wait(ch, &ch->send, deadline, ..., gosync_try_send) */
inline k_wait_send(t, st, e, ret, p, TIMED, NB) {
	k_try_send(st, e, ret, p, NB);
	if
	:: WOULD_BLOCK(ret) ->
		do
		:: K_PREPARE_ARM(SEND, t);
		   k_try_send(st, e, ret, p, NB);
		   if
		   :: !WOULD_BLOCK(ret) -> break
		   :: WOULD_BLOCK(ret) && TIMED -> ret = R_ETIMEDOUT; break		/* ktime_get_ns() >= deadline */
		   :: else
		   fi;
		   K_SLEEP(t, TIMED)
		od;
		K_FINISH(SEND, t)
	:: else
	fi
}

/* gosync_chan_wait(ch, &ch->send, deadline, ..., gosync_try_delivered) */
inline k_wait_delivered(t, p, ret, TIMED, NB) {
	k_try_delivered(p, ret, NB);
	if
	:: WOULD_BLOCK(ret) ->
		do
		:: K_PREPARE_ARM(SEND, t);
		   k_try_delivered(p, ret, NB);
		   if
		   :: !WOULD_BLOCK(ret) -> break
		   :: WOULD_BLOCK(ret) && TIMED -> ret = R_ETIMEDOUT; break
		   :: else
		   fi;
		   K_SLEEP(t, TIMED)
		od;
		K_FINISH(SEND, t)
	:: else
	fi
}

