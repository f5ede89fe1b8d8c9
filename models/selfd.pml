/*
 * selfd.pml - the wake protocol of a select's fd case (kmod/select.c,
 * GOSYNC_SELECT_FDREADY) under x86-TSO, with the store buffers of
 * wake.pml.  The file is any pollable file: its waker has no barrier of
 * ours (no E), only what every wake_up() does: take the queue's
 * spinlock, call the entry's wake function, whose try_to_wake_up() takes
 * the task's pi_lock (smp_mb__after_spinlock) and reads the task state.
 *
 *   waker (a pipe's write, ...)       select (gosync_sel_run/_wait)
 *   store ready = 1                   join: vfs_poll() with the queue
 *   wake_up(): lock                         proc (add_wait_queue: lock)
 *     gosync_sel_fd_wake():           loop:
 *       smp_wmb()          [W]          smp_store_mb(woken, 0)    [X]
 *       woken = 1                       round: vfs_poll(), no queue
 *       try_to_wake_up():                 proc: load ready; fired?
 *         lock; load state;             set_current_state() (mb)
 *         sleeping? state = running     load woken; sleep if 0
 *                                       state = running (after sleep)
 *
 * One waker (CPU 0) makes the file ready once; one select (CPU 1) waits
 * for it.  Property: the select fires (no invalid end state with it
 * asleep).
 *
 * Mutations:
 *   MUT_NO_X             the flag cleared with a plain store (the code
 *                        before fd cases, where the channels' F did the
 *                        barrier's work): the clear sits in the store
 *                        buffer past the round's load of ready, and lands
 *                        on the waker's woken = 1
 *   MUT_JOIN_AFTER_ROUND the select joins the file's queue after its
 *                        first look instead of before it
 * W is a compiler barrier on x86 (stores are not reordered with stores),
 * so no mutation here can show it; it is for weaker machines, as in
 * fs/select.c's __pollwake().
 */

#define READY	0	/* the file's state: what its ->poll reads */
#define WOKEN	1	/* sel->woken */
#define STATE	2	/* the select's task state: 1 = TASK_INTERRUPTIBLE */

#define BUFSZ 3

byte mem[3];
byte baddr[2 * BUFSZ];
byte bval[2 * BUFSZ];
byte bn[2];

bit onq;		/* the select's entry on the file's queue (SC: the lock) */
bit fired;
bit waker_done;

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

inline STORE(me, a, v) {
	atomic {
		assert(bn[me] < BUFSZ);
		baddr[me * BUFSZ + bn[me]] = a;
		bval[me * BUFSZ + bn[me]] = v;
		bn[me]++;
		printf("MSC: cpu %d stores word %d = %d (buffered)\n", me, a, v)
	}
}

#define FENCE(me) (bn[me] == 0)

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

/* the select's join: vfs_poll() with the queue proc, add_wait_queue() */
inline join() {
	FENCE(1);
	atomic { onq = 1; printf("MSC: select joins the queue\n") }
}

active proctype Waker() {
	byte v, k;

	run Flusher(0);
	STORE(0, READY, 1);
	/* wake_up(): the queue's spinlock, a locked op: the buffer drains */
	FENCE(0);
	if
	:: onq ->
		/* gosync_sel_fd_wake(): W (nothing to do on x86), the flag */
		STORE(0, WOKEN, 1);
		/* try_to_wake_up(): pi_lock, smp_mb__after_spinlock() */
		FENCE(0);
		LOAD(0, STATE, v);
		if
		:: v == 1 -> STORE(0, STATE, 0); printf("MSC: waker wakes the select\n")
		:: else -> printf("MSC: the select is running: no wake needed\n")
		fi
	:: else -> printf("MSC: nobody on the queue\n")
	fi;
	waker_done = 1
}

active proctype Select() {
	byte v, k;
	bit joined;

	run Flusher(1);
#ifndef MUT_JOIN_AFTER_ROUND
	join();
	joined = 1;
#endif
	do
	::
		/* X: smp_store_mb(sel->woken, 0) */
		STORE(1, WOKEN, 0);
#ifndef MUT_NO_X
		FENCE(1);
#endif
		/* the round: vfs_poll() without a queue proc */
		LOAD(1, READY, v);
		if
		:: v -> fired = 1; break
		:: else
		fi;
		if
		:: !joined -> join(); joined = 1
		:: else
		fi;
		/* set_current_state(TASK_INTERRUPTIBLE): smp_store_mb */
		STORE(1, STATE, 1);
		FENCE(1);
		LOAD(1, WOKEN, v);
		if
		:: !v ->
			printf("MSC: select sleeps\n");
			/* schedule() until try_to_wake_up() makes it runnable */
			mem[STATE] == 0
		:: else
		fi;
		/* __set_current_state(TASK_RUNNING) */
		STORE(1, STATE, 0)
	od;
	assert(fired)
}
