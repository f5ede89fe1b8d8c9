/*
 * wake.pml - the E/F wake protocol of kmod/chan.c and lib/chan.c under
 * x86-TSO: each CPU has a FIFO store buffer for the shared words it
 * writes (the slot word, the armed words); a load reads its own buffer
 * first (store forwarding); a flusher drains the buffer into memory in
 * order, at any time; a full barrier (smp_mb, a seq_cst fence) and every
 * locked RMW (CAS, the wait queue's spinlock) wait for the buffer to
 * drain.  The wait queues themselves are kernel state under a spinlock
 * (sequentially consistent here).
 *
 * One slot, one producer (CPU 0) sending two elements, one consumer
 * (CPU 1) receiving two; each waits in the kernel (gosync_chan_wait) when
 * its operation would block.  Property: nobody sleeps forever (invalid
 * end state), and the elements arrive in order.
 *
 *   waker (after A or D)          waiter (gosync_chan_wait)
 *   store slot word               prepare_to_wait (on the queue)
 *   smp_mb()            [E]       store armed = 1
 *   load armed                    smp_mb()              [F]
 *   set: armed = 0, wake_up_all   try again; sleep only if still blocked
 *
 * Mutations:
 *   MUT_NO_E                   no barrier between the slot store and the
 *                              load of armed (gosync_side_wake_if_armed /
 *                              gosync_wake_if_armed)
 *   MUT_NO_F                   no barrier between the store of armed and
 *                              the retry (gosync_side_arm / gosync_arm)
 *   MUT_NO_RETRY               the waiter sleeps after arming without
 *                              trying again
 *   MUT_CLEAR_ARMED_AFTER_WAKE gosync_side_wake clears armed after
 *                              wake_up_all instead of before
 */

#define NELEM 2

/* addresses (word 0 = the slot word, 1 = recv armed, 2 = send armed) */
#define SLOT   0
#define ARMED_R 1	/* recv side armed: receivers wait for a publish */
#define ARMED_S 2	/* send side armed: senders wait for a free slot */

/* slot word = pos * 8 + state */
#define FREE    0
#define WRITING 1
#define FULL    2
#define READING 4
#define W(p, s) ((p) * 8 + (s))

#define BUFSZ 3

byte mem[3];
/* store buffers of CPU 0 (producer) and CPU 1 (consumer) */
byte baddr[2 * BUFSZ];
byte bval[2 * BUFSZ];
byte bn[2];

/* kernel wait queues (SC: under the queue spinlock) */
bit onq[2 * 2];		/* onq[side * 2 + cpu] */
bit woken[2];
bit fin[2];
byte got;		/* elements received */

#define RECV 0
#define SEND 1

/* load with store forwarding: the newest buffered store to a, else memory */
inline LOAD(me, a, v) {
	atomic {
		v = mem[a];
		k = 0;
		do
		:: k < bn[me] -> if :: baddr[me * BUFSZ + k] == a -> v = bval[me * BUFSZ + k] :: else fi; k++
		:: else -> break
		od;
		k = 0;
		printf("MSC: cpu %d loads word %d: %d\n", me, a, v)
	}
}

/* a plain store (WRITE_ONCE, store-release: a mov on x86) goes to the buffer */
inline STORE(me, a, v) {
	atomic {
		assert(bn[me] < BUFSZ);
		baddr[me * BUFSZ + bn[me]] = a;
		bval[me * BUFSZ + bn[me]] = v;
		bn[me]++;
		printf("MSC: cpu %d stores word %d = %d (buffered)\n", me, a, v)
	}
}

/* smp_mb / seq_cst fence / lock prefix: wait for the buffer to drain */
#define FENCE(me) (bn[me] == 0)

/* the drain: oldest entry first */
proctype Flusher(byte me) {
end:	do
	:: atomic {
		bn[me] > 0 ->
		mem[baddr[me * BUFSZ]] = bval[me * BUFSZ];
		printf("MSC: cpu %d buffer drains: word %d = %d in memory\n", me, baddr[me * BUFSZ], bval[me * BUFSZ]);
		baddr[me * BUFSZ] = baddr[me * BUFSZ + 1];
		bval[me * BUFSZ] = bval[me * BUFSZ + 1];
		baddr[me * BUFSZ + 1] = baddr[me * BUFSZ + 2];
		bval[me * BUFSZ + 1] = bval[me * BUFSZ + 2];
		baddr[me * BUFSZ + 2] = 0;
		bval[me * BUFSZ + 2] = 0;
		bn[me]--
	   }
	od
}

/* locked CAS on memory (drains the buffer first) */
inline CAS(me, a, old, new, ok) {
	FENCE(me);
	atomic {
		assert(bn[me] == 0);
		if
		:: mem[a] == old -> mem[a] = new; ok = 1;
			printf("MSC: cpu %d CAS word %d %d -> %d\n", me, a, old, new)
		:: else -> ok = 0
		fi
	}
}

/* gosync_side_wake: WRITE_ONCE(armed, 0); wake_up_all (spinlock: a locked
 * op, so the buffer drains first) */
inline side_wake(me, s, a) {
#ifndef MUT_CLEAR_ARMED_AFTER_WAKE
	STORE(me, a, 0);
#endif
	FENCE(me);
	atomic {
		printf("MSC: cpu %d wakes side %d\n", me, s);
		if :: onq[s * 2 + 0] -> woken[0] = 1; onq[s * 2 + 0] = 0 :: else fi;
		if :: onq[s * 2 + 1] -> woken[1] = 1; onq[s * 2 + 1] = 0 :: else fi
	};
#ifdef MUT_CLEAR_ARMED_AFTER_WAKE
	STORE(me, a, 0);
#endif
	skip
}

/* gosync_side_wake_if_armed / gosync_wake_if_armed */
inline wake_if_armed(me, s, a) {
#ifndef MUT_NO_E
	FENCE(me);			/* E: smp_mb(), matches F */
#endif
	LOAD(me, a, v);
	if
	:: v -> side_wake(me, s, a)
	:: else
	fi;
	v = 0
}

/* prepare_to_wait: spinlock (drains), on the queue, TASK_INTERRUPTIBLE */
inline prepare(me, s) {
	FENCE(me);
	atomic { onq[s * 2 + me] = 1; woken[me] = 0 }
}

/* gosync_side_arm: WRITE_ONCE(armed, 1); smp_mb() [F] */
inline arm(me, a) {
	STORE(me, a, 1);
#ifndef MUT_NO_F
	FENCE(me)			/* F, matches E */
#endif
}

/* producer's try: gosync_ring_try_send for position p (one slot), then E */
inline try_send(p, ret) {
	LOAD(0, SLOT, v);			/* B */
	if
	:: v == W(p, FREE) ->
		CAS(0, SLOT, W(p, FREE), W(p, WRITING), ok);	/* claim */
		assert(ok);
		STORE(0, SLOT, W(p, FULL));			/* A */
		wake_if_armed(0, RECV, ARMED_R);		/* E */
		ret = 1
	:: else -> ret = 0				/* the previous lap: full */
	fi;
	v = 0
}

/* consumer's try: gosync_ring_try_recv for position h, then E */
inline try_recv(h, ret) {
	LOAD(1, SLOT, v);			/* C */
	if
	:: v == W(h, FULL) ->
		CAS(1, SLOT, W(h, FULL), W(h, READING), ok);	/* claim */
		assert(ok);
		got++;
		STORE(1, SLOT, W(h + 1, FREE));			/* D */
		wake_if_armed(1, SEND, ARMED_S);		/* E */
		ret = 1
	:: else -> ret = 0				/* free or being written: empty */
	fi;
	v = 0
}

/* gosync_chan_wait: try; loop { prepare_to_wait; arm (F); try; sleep } */
#ifndef MUT_NO_RETRY
#define RETRY(TRY) TRY
#else
#define RETRY(TRY) ret = 0
#endif

active proctype Producer() {
	byte p, v, k;
	bit ret, ok;
	run Flusher(0);
	p = 0;
	do
	:: p < NELEM ->
		try_send(p, ret);
		do
		:: ret -> break
		:: else ->
			prepare(0, SEND);
			arm(0, ARMED_S);
			RETRY(try_send(p, ret));
			if
			:: ret -> break
			:: else -> printf("MSC: producer sleeps\n");
				woken[0]		/* schedule() until woken */
			fi
		od;
		atomic { onq[SEND * 2 + 0] = 0; woken[0] = 0; ret = 0 };	/* finish_wait */
		p++
	:: else -> break
	od;
	fin[0] = 1
}

active proctype Consumer() {
	byte h, v, k;
	bit ret, ok;
	run Flusher(1);
	h = 0;
	do
	:: h < NELEM ->
		try_recv(h, ret);
		do
		:: ret -> break
		:: else ->
			prepare(1, RECV);
			arm(1, ARMED_R);
			RETRY(try_recv(h, ret));
			if
			:: ret -> break
			:: else -> printf("MSC: consumer sleeps\n");
				woken[1]
			fi
		od;
		atomic { onq[RECV * 2 + 1] = 0; woken[1] = 0; ret = 0 };
		h++
	:: else -> break
	od;
	assert(got == NELEM);
	fin[1] = 1
}
