/*
 * handoff.pml - the unbuffered hand-off of kmod/chan.c
 * (gosync_chan_send_one with sync, gosync_try_send / gosync_try_delivered
 * with s->nonblock, gosync_handoff_ret, gosync_recv_waiters_add) as used
 * by a blocking sync send (GOSYNC_CHAN_IOC_SEND on an unbuffered channel)
 * and by a non-blocking one (gosync_chan_handoff: a select's send case,
 * or GOSYNC_DEADLINE_NONBLOCK), over the ring of chan.pml with one slot.
 *
 * Tasks (configuration switches):
 *   S1   (default on, NO_S1 off) blocking sync send of element 1, no
 *        deadline (S1TIMED: with one: may give up and withdraw)
 *   S2   non-blocking sync send of element 2: closed? EPIPE; arm the send
 *        side (F); no other receiver blocked? EAGAIN; else deposit SYNC,
 *        wait for delivery while a receiver stays blocked, give up
 *        (S2TIMED: also at a deadline; default: the select's deadline is
 *        FOREVER), withdraw
 *   R1   (default on, NO_R1 off) blocking receiver, until closed
 *   R2   (HAVE_R2) one receive with a deadline: may give up and leave
 *   the closer closes once both sends have returned.
 *
 * Properties: each element is either received exactly once and its send
 * reports success, or never received and its send reports failure (never
 * both, never neither); nobody blocks forever.  With S2_AFTER_BLOCKED, S2
 * starts only once a receiver is counted blocked, and with R1 (which
 * blocks until closed) and no S1 to compete, S2 must succeed: Go's
 * select { case ch <- v: default: } takes the case whenever a receiver
 * is ready.
 *
 * Mutations:
 *   MUT_BLIND_WITHDRAW        withdraw stores SKIP without the CAS that
 *                             fails when a receiver took the element
 *   MUT_GIVEUP_NO_WITHDRAW    a send that gives up reports failure without
 *                             withdrawing
 *   MUT_LEAVE_BEFORE_RETRY    (chan.pml) a woken receiver counts itself out
 *                             before its retry (the standalone library
 *                             before its fix): S2, after R1 blocked, sees
 *                             no receiver left and gives up (with
 *                             S2_AFTER_BLOCKED)
 * Experiment (finds NO error, see README.md; not in check):
 *   MUT_WITHDRAW_NO_PASS_HEAD withdraw leaves the SKIP at the head for a
 *                             consumer to pass
 *   MUT_NO_LEAVE_WAKE         a receiver that stops blocking does not wake
 *                             the senders (gosync_recv_waiters_add)
 */

#define NSLOTS 1
#define UNBUFFERED 1
#define RECV_WAITERS 1
#define NPROD 2
#define NELEM 1
#define NCONS 2
#define DEATHMASK 0

#include "chan.pml"

bit sok[NEL + 1];	/* the send of e reported success */
bit sret[NEL + 1];	/* the send of e returned */

/* gosync_chan_send_one(ch, elem = e, sync = true, deadline, ..., self = 0) */
inline sync_send(t, e, NB, TIMED) {
	ret = R_OK;
	if
	:: NB ->
		/* only to a receiver already blocked, for as long as one is */
		if
		:: kclosed -> ret = R_EPIPE
		:: else ->
			armed[SEND] = 1;			/* gosync_side_arm, F */
			if
			:: rwaiters == 0 -> ret = R_EAGAIN	/* gosync_other_receivers */
			:: else
			fi
		fi
	:: else
	fi;
	if
	:: ret == R_OK ->
		k_wait_send(t, SYNC, e, ret, p, TIMED, NB);
		if
		:: ret == R_OK ->
			k_wait_delivered(t, p, ret, TIMED, NB);
			if
			:: ret == R_OK -> skip			/* taken */
			:: else ->
#ifndef MUT_GIVEUP_NO_WITHDRAW
				ring_withdraw(p, e, res);
				if
				:: !res -> ret = R_OK		/* taken after all */
				:: else -> wake_if_armed(SEND)	/* E: it freed the slot */
				fi
#else
				skip
#endif
			fi
		:: else
		fi
	:: else
	fi;
	atomic {
		sok[e] = (ret == R_OK); sret[e] = 1;
		if
		:: ret == R_OK -> printf("MSC: sender %d: element %d delivered (success)\n", t, e)
		:: else -> printf("MSC: sender %d: element %d not sent (failure %d)\n", t, e, ret)
		fi
	}
}

proctype Sender(byte t; bit nb; bit timed) {
	byte ret, p, tp, wp, wo, ws, i, act;
	bit tc, ok, res;
#ifdef S2_AFTER_BLOCKED
	if
	:: nb -> rwaiters > 0		/* a receiver is blocked now */
	:: else
	fi;
#endif
	sync_send(t, t + 1, nb, timed);
	atomic { pdone++; ndone++ }
}

proctype Receiver(byte t; bit forever) {
	byte ret, e, tp, wp, wo, ws, i, h, act;
	bit tc, ok, freed, nb;
	do
	:: k_wait_recv(t, ret, e, !forever);		/* GOSYNC_CHAN_IOC_RECV */
	   if
	   :: ret == R_GOT && forever -> atomic { ret = 0; e = 0 }
	   :: else -> break
	   fi
	od;
	ndone++
}

/* GOSYNC_CHAN_IOC_CLOSE, once both sends returned */
proctype Closer() {
	byte tp;
	bit tc, ok;
	pdone == NPROD;
	do
	:: atomic { tp = tpos; tc = tcl };
	   if
	   :: tc -> break
	   :: else ->
		atomic { if :: tpos == tp && !tcl -> tcl = 1; ok = 1 :: else -> ok = 0 fi };
		if :: ok -> break :: else fi
	   fi
	od;
	kclosed = 1;
	side_wake(RECV);
	side_wake(SEND);
	ndone++
}

#ifdef NO_S1
#define NS1 0
#else
#define NS1 1
#endif
#ifdef NO_R1
#define NR1 0
#else
#define NR1 1
#endif
#ifdef HAVE_R2
#define NR2 1
#else
#define NR2 0
#endif

active proctype Final() {
	byte e;
	ndone == NS1 + 1 + NR1 + NR2 + 1;
	e = 1;
	do
	:: e <= NEL ->
		/* exactly once and success, or never and failure */
		assert((rcv[e] == 1 && sok[e]) || (rcv[e] == 0 && !sok[e]));
		e++
	:: else -> break
	od;
#if defined(S2_AFTER_BLOCKED) && defined(NO_S1) && !defined(NO_R1) && \
    !defined(HAVE_R2) && !defined(S2TIMED)
	/* S2 began with R1 blocked: the hand-off must have happened */
	assert(sok[2])
#endif
}

init {
	atomic {
		spos[0] = 0;
#ifndef NO_S1
#ifdef S1TIMED
		run Sender(0, 0, 1);
#else
		run Sender(0, 0, 0);
#endif
#else
		pdone++;
#endif
#ifdef S2TIMED
		run Sender(1, 1, 1);
#else
		run Sender(1, 1, 0);
#endif
#ifndef NO_R1
		run Receiver(2, 1);
#endif
#ifdef HAVE_R2
		run Receiver(3, 0);
#endif
		run Closer()
	}
}
