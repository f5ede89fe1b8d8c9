/*
 * rwmutex.pml - the writer-preferring RWMutex of lib/rwmutex.c
 * (gosync_rw_lock / gosync_rw_drain, gosync_rwmutex_unlock /
 * gosync_rw_readers_go, gosync_rw_rlock, gosync_rwmutex_runlock), in
 * standalone mode (no slices).  seq_cst atomics: sequential consistency.
 *
 * The embedded writer Mutex is abstracted to a blocking test-and-set lock
 * (mutex.pml checks the Mutex itself).  readers = count | WRITER_WAITING
 * is a futex word for readers and the writer; rwaiters counts blocked
 * readers.  FUTEX_WAIT(readers, val) checks and queues in one step.
 *
 * NWRITE writers lock/unlock once; NREAD readers rlock/runlock RITER
 * times.  Properties: no reader inside while a writer is inside, at most
 * one writer inside (assertions); nobody sleeps forever (invalid end
 * state).
 *
 * Mutations:
 *   MUT_NO_DRAIN_WAIT       the writer sets WRITER_WAITING and goes in
 *                           without waiting for the readers inside
 *   MUT_READER_NO_RECHECK   a reader that saw no WRITER_WAITING counts
 *                           itself in with an add instead of a CAS
 *   MUT_RUNLOCK_NO_WAKE     the last reader out does not wake the writer
 *   MUT_READERS_GO_NO_WAKE  the writer's unlock clears WRITER_WAITING and
 *                           does not wake the blocked readers
 */

#ifndef NWRITE
#define NWRITE 2
#endif
#ifndef NREAD
#define NREAD 2
#endif
#ifndef RITER
#define RITER 1
#endif

#define WAITING 8		/* GOSYNC_RWMUTEX_WRITER_WAITING */
#define COUNT   7

byte readers;			/* count | WAITING: futex word */
byte rwaiters;
bit  wlock;			/* the writer Mutex (abstract) */
byte fq;			/* FUTEX_WAIT queue on readers: bit per task */
byte win;			/* ghost: writers inside */
byte rin;			/* ghost: readers inside */

inline futex_wait(val) {
	atomic {
		if
		:: readers == val -> fq = fq | (1 << t);
			printf("MSC: task %d sleeps on readers %d\n", t, val)
		:: else
		fi
	};
	(fq & (1 << t)) == 0
}

inline futex_wake_all() {
	atomic { printf("MSC: task %d wakes all (%d)\n", t, fq); fq = 0 }
}

/* gosync_rw_readers_go */
inline readers_go() {
	atomic { readers = readers & COUNT };
#ifndef MUT_READERS_GO_NO_WAKE
	if
	:: rwaiters -> futex_wake_all()		/* RWMUTEX: after the clear */
	:: else
	fi
#endif
}

proctype Writer(byte t) {
	byte r;
	atomic { wlock == 0 -> wlock = 1 };	/* gosync_mutex_lock_words */
	/* gosync_rw_drain */
	atomic { readers = readers | WAITING; r = readers };	/* fetch_or */
#ifndef MUT_NO_DRAIN_WAIT
	do
	:: r & COUNT ->
		futex_wait(r);
		r = readers
	:: else -> break
	od;
#endif
	atomic {
		printf("MSC: writer %d is in\n", t);
		win++;
		assert(win == 1 && rin == 0)
	};
	atomic { win-- };
	/* gosync_rwmutex_unlock */
	readers_go();
	wlock = 0				/* gosync_mutex_unlock_words */
}

proctype Reader(byte t) {
	byte r, it;
	bit ok;
	it = 0;
	do
	:: it < RITER ->
		/* gosync_rw_rlock */
		do
		:: r = readers;
		   if
		   :: !(r & WAITING) ->
#ifndef MUT_READER_NO_RECHECK
			atomic {
				if
				:: readers == r -> readers = r + 1; ok = 1;
					printf("MSC: reader %d is in\n", t);
					rin++; assert(win == 0)
				:: else -> ok = 0
				fi
			};
#else
			atomic {
				readers = readers + 1; ok = 1;
				printf("MSC: reader %d is in\n", t);
				rin++; assert(win == 0)
			};
#endif
			if :: ok -> break :: else fi
		   :: else ->
			rwaiters++;			/* RWMUTEX: counted in first */
			r = readers;
			if
			:: r & WAITING -> futex_wait(r)
			:: else
			fi;
			rwaiters--
		   fi
		od;
		/* gosync_rwmutex_runlock (the reader is inside until its CAS) */
		r = readers;
		do
		:: atomic {
			if
			:: readers == r -> readers = r - 1; ok = 1; rin--
			:: else -> r = readers; ok = 0
			fi
		   };
		   if :: ok -> break :: else fi
		od;
#ifndef MUT_RUNLOCK_NO_WAKE
		if
		:: (r & COUNT) == 1 && (r & WAITING) -> futex_wake_all()
		:: else
		fi;
#endif
		it++
	:: else -> break
	od
}

init {
	byte i;
	atomic {
		i = 0;
		do
		:: i < NWRITE -> run Writer(i); i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NREAD -> run Reader(NWRITE + i); i++
		:: else -> break
		od
	}
}
