/*
 * ring.pml - the channel ring of common/gosync_ring.h, with the kernel's
 * blocking calls of kmod/chan.c (gosync_chan_wait and its try functions,
 * close, gosync_chan_died) and the library fast path of lib/chan.c, under
 * sequential consistency: every claim is a fully ordered CAS, and the
 * E/F store-buffering pair is modelled under TSO in wake.pml; here a
 * waiter is on the wait queue and armed before its retry, and sleeps only
 * if the retry would still block.
 *
 * Tasks: NPROD producers (task t = 0..NPROD-1, owner id t+1) sending
 * NELEM elements each (producer 1: NELEM1), NCONS consumers (tasks
 * NPROD..) receiving until "closed and drained", a closer
 * (GOSYNC_CHAN_IOC_CLOSE) and a killer that may kill one task of
 * DEATHMASK at any step of a library fast-path operation; the dead
 * task's mapping then goes away and the kernel runs gosync_chan_died.
 * A task that may die runs the library fast path (its own owner id) and
 * falls back to the kernel's blocking call; one that may not goes to the
 * kernel directly (whose first try is the same ring operation, owner 0).
 *
 * Configuration (-D...):
 *   NSLOTS=1|2   ring slots (cap, or 1 for unbuffered)
 *   NPROD NELEM NELEM1 NCONS
 *   DEATHMASK    bit t set: task t may die (0: nobody dies)
 *   CLOSE_ANY    the closer may close at any time, racing with sends
 *                (default: once every producer has finished, Go's rule)
 *   SYNCSEND     producer 1 sends with GOSYNC_SEND_SYNC (kernel: deposit
 *                SYNC, wait for delivery, may give up and withdraw)
 *
 * Properties (assertions, and invalid end states = a task asleep forever):
 *   no element received twice, nor a withdrawn one; per-producer FIFO;
 *   the head never passes the tail (-EIO); a receive that reports
 *   "closed" comes after every published element was received; at the
 *   end every published element was received exactly once (the only
 *   element allowed to be lost is a dead producer's unpublished one; a
 *   dead consumer's claimed element counts as received by it); no task
 *   blocks forever.
 *
 * Mutations (each must produce an error; see README.md):
 *   MUT_NO_TAIL_MOVE        old gosync_ring_release_owner: no tail move
 *                           after WRITING -> SKIP (finding 11; a deadlock
 *                           with nslots 1 only, as the finding says)
 *   MUT_NO_CLOSE_UNDO       try_send keeps a claim whose tail CAS failed
 *                           because of a close
 *   MUT_SKIP_NO_TAIL_CHECK  try_recv passes a SKIP without tail > h
 *   MUT_NO_FREED_WAKE       passing a SKIP does not set *freed
 *   MUT_CLOSE_NO_WAKE       close does not wake the waiters
 *   MUT_KCLOSED_NO_RETRY    kernel gosync_try_recv takes EAGAIN on a closed
 *                           channel for "drained" without asking again
 *   MUT_ARM_BEFORE_PREPARE  gosync_chan_wait arms before prepare_to_wait
 *   MUT_DIED_WAKE_IF_RELEASED  the CURRENT kmod/chan.c gosync_chan_died:
 *                           wakes only if a claim was released (a new
 *                           finding: see README.md)
 */

#include "chan.pml"

/* ---- tasks ------------------------------------------------------------ */

#define MAYDIE(t) ((DEATHMASK & TBIT(t)) != 0)

proctype Producer(byte t) {
	byte k, e, ret, p, tp, wp, wo, ws, i, j, rel, act;
	bit tc, ok, res, dead;

	k = 0;
	do
	:: (t != 1 && k < NELEM) || (t == 1 && k < NELEM1) ->
		atomic { e = t * NELEM + k + 1; ret = R_EAGAIN };
#ifdef SYNCSEND
		if
		:: t == 1 ->
			/* kmod/chan.c gosync_chan_send_one, sync: deposit SYNC,
			 * wait for delivery (deadline: may give up), withdraw */
			k_wait_send(t, SYNC, e, ret, p, true, false);
			if
			:: ret == R_OK ->
				k_wait_delivered(t, p, ret, true, false);
				if
				:: ret != R_OK ->
					ring_withdraw(p, e, res);
					if
					:: res -> wake_if_armed(SEND)	/* E */
					:: else -> ret = R_OK		/* taken after all */
					fi;
					res = 0
				:: else
				fi
			:: else
			fi;
			goto sent
		:: else
		fi;
#endif
		if
		:: MAYDIE(t) ->
			/* lib/chan.c gosync_send, kernel mode: the fast path */
			{
				inlib[t] = 1;
				ring_try_send(OWNER(t), FULL, e, ret, p);	/* gosync_try_send */
				if
				:: ret == R_OK -> wake_if_armed(RECV)		/* E; IOC_WAKE */
				:: else
				fi;
				inlib[t] = 0
			} unless {
				killed[t] ->
				printf("MSC: task %d is killed\n", t);
				chan_died(t);
				dead = 1
			};
			if
			:: dead -> break
			:: else
			fi
		:: else
		fi;
		if
		:: WOULD_BLOCK(ret) ->
			/* GOSYNC_CHAN_IOC_SEND: gosync_chan_send_user, _send_one */
			k_wait_send(t, FULL, e, ret, p, false, false)
		:: else
		fi;
#ifdef SYNCSEND
sent:
		if
		:: ret == R_OK -> sok[e] = 1
		:: else
		fi;
#endif
		if
		:: ret == R_OK -> atomic { k++; ret = 0; p = 0; e = 0 }
		:: else -> break			/* EPIPE, or withdrawn */
		fi
	:: else -> break
	od;
	atomic { pdone++; ndone++ }
}

proctype Consumer(byte t) {
	byte ret, e, tp, wp, wo, ws, i, j, rel, h, x, act;
	bit tc, ok, freed, dead;

	do
	:: ret = R_EAGAIN;
	   if
	   :: MAYDIE(t) ->
		/* lib/chan.c gosync_chan_recv, kernel mode: the fast path */
		{
			inlib[t] = 1;
			freed = 0;
			ring_try_recv(OWNER(t), ret, e, freed);	/* gosync_try_recv (lib) */
			if
			:: freed -> freed = 0; wake_if_armed(SEND)	/* E; IOC_WAKE */
			:: else
			fi;
			inlib[t] = 0
		} unless {
			killed[t] ->
			printf("MSC: task %d is killed\n", t);
			chan_died(t);
			dead = 1
		};
		if
		:: dead -> break
		:: else
		fi
	   :: else
	   fi;
	   if
	   :: WOULD_BLOCK(ret) ->
		/* GOSYNC_CHAN_IOC_RECV: gosync_chan_recv_user */
		k_wait_recv(t, ret, e, false)
	   :: else
	   fi;
	   if
	   :: ret == R_GOT -> atomic { ret = 0; e = 0 }
	   :: ret == R_CLOSED ->
		/* closed and drained: every published element was received */
		atomic {
			printf("MSC: task %d receives \"closed\"\n", t);
			x = 1;
			do
			:: x <= NEL -> assert(!pub[x] || rcv[x] > 0 || wdr[x]); x++
			:: else -> break
			od
		};
		break
	   fi
	od;
	ndone++
}

/* GOSYNC_CHAN_IOC_CLOSE: gosync_chan_ioctl_close */
active proctype Closer() {
	byte tp;
	bit tc, ok;
#ifdef CLOSE_ANY
	if
	:: skip
	:: pdone == NPROD
	fi;
#else
	pdone == NPROD;
#endif
	do						/* gosync_ring_close */
	:: atomic { tp = tpos; tc = tcl };
	   if
	   :: tc -> break
	   :: else ->
		atomic {
			if
			:: tpos == tp && !tcl -> tcl = 1; ok = 1;
				printf("MSC: close sets CLOSED in the tail at %d\n", tp)
			:: else -> ok = 0
			fi
		};
		if :: ok -> break :: else fi
	   fi
	od;
	kclosed = 1;					/* test_and_set_bit(CLOSED) */
#ifndef MUT_CLOSE_NO_WAKE
	side_wake(RECV);
	side_wake(SEND);
#endif
	ndone++
}

/* Kills at most one task of DEATHMASK while it is inside a fast-path op. */
#define KILL(v) :: atomic { deaths == 0 && (DEATHMASK & TBIT(v)) && inlib[v] -> \
			killed[v] = 1; deaths++ }
active proctype Killer() {
end_idle:
	if
	KILL(0)
	KILL(1)
#if NTASK > 2
	KILL(2)
#endif
#if NTASK > 3
	KILL(3)
#endif
	fi
}

/* At the end: nothing lost but a dead producer's unpublished element. */
active proctype Final() {
	byte e;
	ndone == NTASK + 1;
	e = 1;
	do
	:: e <= NEL ->
		assert(!pub[e] || rcv[e] == 1 || wdr[e]);	/* published: received once, or withdrawn */
		assert(!wdr[e] || rcv[e] == 0);
#ifdef SYNCSEND
		assert(!sok[e] || rcv[e] == 1);		/* sent: received */
		assert(!wdr[e] || !sok[e]);		/* withdrawn: reported failed */
		assert(EPROD(e) != 1 || sok[e] || rcv[e] == 0);	/* failed: not received */
#endif
		e++
	:: else -> break
	od
}

init {
	byte n;
	atomic {
		n = 0;
		do
		:: n < NSLOTS -> spos[n] = n; n++
		:: else -> break
		od;
		n = 0;
		do
		:: n < NPROD -> run Producer(n); n++
		:: else -> break
		od;
		n = 0;
		do
		:: n < NCONS -> run Consumer(NPROD + n); n++
		:: else -> break
		od
	}
}
