/*
 * gopark.pml - a goroutine parked on Go's netpoller (edge-triggered
 * epoll) while it waits to receive from a kernel-mode buffered channel
 * (go/poll.go, (*Chan).kernelWait), and the fast-path sender that wakes
 * it (go/chan.go, fastSend -> wakeIfArmed; the C library's
 * gosync_try_send + gosync_wake_if_armed is the same).  Sequentially
 * consistent: the E/F pair under store buffers is wake.pml's; here E is
 * the order "publish, then load armed" and F "arm, then look again".
 *
 *   sender (fast path)            receiver goroutine (kernelWait)
 *   publish FULL        [A]       try(): fastRecv; RECV ioctl NONBLOCK:
 *   fence()             [E]         try, arm (F), try
 *   load recv.armed               parks.get: DUP end, os.NewFile
 *   if set: IOC_WAKE:               (epoll_ctl ADD: ->poll)
 *     armed = 0                   rc.Read(f) = FD.RawRead:
 *     wake_up_all -> every          prepareRead: readiness = 0
 *       registered end on           loop { f() = try(); done? return
 *       epoll's ready list                 waitRead: park until an
 *                                          edge, consume it }
 *   netpoller (epoll_wait -> ep_send_events, then netpollready):
 *     for an end on the ready list: take it off, run the channel's
 *     ->poll (gosync_chan_poll: look; not readable: arm (F), look
 *     again); if it reports EPOLLIN: an edge: the end's readiness = 1
 *     (rg = pdReady; a goroutine parked on it becomes runnable).
 *     EPOLLET: an end goes back on the list only with the next wake.
 *
 * NRECV goroutines (1 or 2) each receive PER elements; one sender sends
 * NRECV * PER, one at a time, on the fast path.  The ring never fills
 * (nslots >= the elements: the sender never waits, so the send side and
 * its wakes are not modelled; a sender parked in RawWrite is this model
 * with the sides swapped).  Each goroutine has its own end (a private
 * DUP, RECV_ONLY | NONBLOCK), made at its first park and kept (as the
 * pool keeps it): registered ends stay registered, so every wake puts
 * every one on the ready list and its ->poll runs (and may arm) even when
 * its goroutine is not parked.  Property: no lost wakeup: nobody stays
 * parked with an element in the ring (an invalid end state); every
 * element is received.  Go's 100 ms retry (parkRetry, the read deadline
 * of the end) is left out: it ends waits no wake marks (a claim of a
 * process stopped at its last step, a scribbled word), and it would hide
 * a lost wakeup here.
 *
 * Mutations:
 *   MUT_NO_ARM_BEFORE_PARK  f() returns false after the fast path alone,
 *                           without the RECV ioctl's arm and retry
 *   MUT_NO_RETRY_AFTER_ARM  the ioctl arms but does not try again
 *                           (gosync_chan_wait NONBLOCK without its
 *                           second try)
 *   MUT_RESET_AFTER_ARM     the readiness is reset after f() (between f
 *                           and the park) instead of before the first
 *                           f() (prepareRead)
 *   MUT_LOAD_ARMED_FIRST    the sender loads armed before its publish:
 *                           what a missing E allows (the load passing
 *                           the buffered publish)
 *   MUT_POLL_NO_ARM         ->poll reports "not ready" without arming
 *   MUT_POLL_NO_RECHECK     ->poll arms but reports its first look
 */

#ifndef NRECV
#define NRECV 1
#endif
#ifndef PER
#define PER 2
#endif
#define NELEM (NRECV * PER)

byte sent;		/* elements published (the ring's tail) */
byte taken;		/* elements claimed (its head) */
bit armed;		/* recv side's wait.armed */
bit reg[NRECV];		/* end i registered: its epoll entries on the queues */
bit pending[NRECV];	/* end i on epoll's ready list (rdllist) */
bit ready[NRECV];	/* end i's readiness: pollDesc rg == pdReady */
byte done;		/* goroutines finished */

/* a receive attempt: (*ring).tryRecv / gosync_try_recv (claim CAS; the
 * free's E on the send side is not modelled) */
inline take(who, ok) {
	atomic {
		if
		:: sent > taken -> taken++; ok = 1;
			printf("MSC: receiver %d takes element %d\n", who, taken)
		:: else -> ok = 0;
			printf("MSC: receiver %d finds the ring empty\n", who)
		fi
	}
}

/* gosync_chan_poll's receive half: readable?  If not, gosync_side_arm
 * (F) and look again. */
inline chan_poll(i, r) {
	atomic { r = (sent > taken);
		printf("MSC: ->poll of end %d looks: readable %d\n", i, r) };
	if
	:: !r ->
#ifndef MUT_POLL_NO_ARM
		atomic { armed = 1; printf("MSC: ->poll of end %d arms (F)\n", i) };
#endif
#ifndef MUT_POLL_NO_RECHECK
		atomic { r = (sent > taken);
			printf("MSC: ->poll of end %d looks again: readable %d\n", i, r) }
#else
		skip
#endif
	:: else
	fi
}

/* kernelWait's try: fastRecv, then c.xferN(RECV, deadlineNonblock), in
 * which gosync_chan_wait tries, arms (F) and tries again */
inline try(me, ok) {
	take(me, ok);
	if
	:: !ok ->
#ifndef MUT_NO_ARM_BEFORE_PARK
		take(me, ok);
		if
		:: !ok ->
			atomic { armed = 1; printf("MSC: receiver %d arms (F)\n", me) };
#ifndef MUT_NO_RETRY_AFTER_ARM
			take(me, ok)
#else
			skip
#endif
		:: else
		fi
#else
		skip
#endif
	:: else
	fi
}

/* parks.get's new end: GOSYNC_CHAN_IOC_DUP, os.NewFile -> runtime_pollOpen
 * -> epoll_ctl(ADD, EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET): ep_insert puts
 * its entries on the wait queues (poll_wait), runs ->poll and puts the
 * end on the ready list if it reported ready */
inline register(me, r) {
	atomic { reg[me] = 1; printf("MSC: receiver %d registers end %d\n", me, me) };
	chan_poll(me, r);
	if
	:: r -> pending[me] = 1
	:: else
	fi;
	r = 0
}

proctype Receiver(byte me) {
	byte n;
	bit ok, r;
	do
	:: n < PER ->
		try(me, ok);
		if
		:: ok
		:: else ->
			if
			:: !reg[me] -> register(me, r)
			:: else			/* the pool's idle end */
			fi;
			/* pe.rc.Read(f): internal/poll.FD.RawRead */
#ifndef MUT_RESET_AFTER_ARM
			atomic { ready[me] = 0;	/* prepareRead: runtime_pollReset */
				printf("MSC: receiver %d resets end %d's readiness\n", me, me) };
#endif
			do
			:: try(me, ok);		/* f() */
				if
				:: ok -> break
				:: else
				fi;
#ifdef MUT_RESET_AFTER_ARM
				atomic { ready[me] = 0;
					printf("MSC: receiver %d resets end %d's readiness\n", me, me) };
#endif
				/* waitRead: runtime_pollWait -> netpollblock:
				 * consume pdReady, else park until an edge */
				printf("MSC: receiver %d parks\n", me);
				atomic { ready[me] -> ready[me] = 0;
					printf("MSC: receiver %d runs (edge consumed)\n", me) }
			od
		fi;
		ok = 0;
		n++
	:: else -> break
	od;
	atomic {
		done++;
		if
		:: done == NRECV -> assert(taken == NELEM && sent == NELEM)
		:: else
		fi
	}
}

active proctype Sender() {
	byte n;
	bit v;
	do
	:: n < NELEM ->
#ifdef MUT_LOAD_ARMED_FIRST
		atomic { v = armed; printf("MSC: sender loads armed: %d\n", v) };
#endif
		/* fastSend: (*ring).trySend, the publish FULL (A) */
		atomic { sent++; printf("MSC: sender publishes element %d\n", sent) };
#ifndef MUT_LOAD_ARMED_FIRST
		/* wakeIfArmed: fence() (E), atomic.LoadUint32(armed) */
		atomic { v = armed; printf("MSC: sender loads armed: %d\n", v) };
#endif
		if
		:: v ->
			/* GOSYNC_CHAN_IOC_WAKE: gosync_side_wake */
			atomic { armed = 0; printf("MSC: kernel clears armed\n") };
			atomic {	/* wake_up_all -> ep_poll_callback per end */
				printf("MSC: kernel wakes the queue\n");
				if :: reg[0] -> pending[0] = 1 :: else fi;
#if NRECV > 1
				if :: reg[1] -> pending[1] = 1 :: else fi;
#endif
				skip
			}
		:: else
		fi;
		v = 0;
		n++
	:: else -> break
	od
}

/* epoll_wait -> ep_send_events (under ep->mtx: one end at a time), then
 * netpollready -> netpollunblock(pd, 'r', ioready) */
inline deliver(i, r) {
	chan_poll(i, r);
	if
	:: r -> atomic { ready[i] = 1; printf("MSC: netpoller: edge on end %d\n", i) }
	:: else
	fi;
	r = 0
}

active proctype Netpoller() {
	bit r;
end:	do
	:: atomic { pending[0] -> pending[0] = 0 }; deliver(0, r)
#if NRECV > 1
	:: atomic { pending[1] -> pending[1] = 0 }; deliver(1, r)
#endif
	od
}

init {
	byte i;
	atomic {
		do
		:: i < NRECV -> run Receiver(i); i++
		:: else -> break
		od
	}
}
