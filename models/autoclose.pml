/*
 * autoclose.pml - GOSYNC_CHAN_AUTOCLOSE (kmod/chan.c): the kernel closes
 * a channel when its last end that can send is gone.
 *
 * An end that can send is a file with FMODE_WRITE.  A file lives while
 * an fd of it is open or a mapping made through it exists (shm.c pins
 * the file from the mapping); io_uring requests pin it too, and are one
 * more kind of the same reference, left out here.  The kernel counts
 * such files in ch->ends: +1 when the file exists, -1 in its ->release,
 * and the release that reaches 0 closes the channel.  A mapping's ->close
 * runs the died hook (release what its owner left claimed: a WRITING
 * slot becomes SKIP) and only then puts the file.
 *
 * Senders S1..NS (processes, each with one fd of its own O_RDWR file)
 * send NELEM elements through the kernel (one atomic step: publish
 * unless closed) or, once mapped, through the fast path (claim unless
 * closed; later publish, even after a close: a claim below the closed
 * tail is drained), close their fd, munmap, or die (SIGKILL) at any step
 * (mapping closed, then fd).  One receiver R holds a receive-only end and
 * receives until closed and drained: after a close it waits for claims
 * still pending (the kernel's close grace), then stops.
 *
 * Properties:
 *  - a close comes only when no sender has an end left (assertion);
 *  - at the close no dead sender's claim is pending: a receiver never
 *    waits for a process that is gone (assertion);
 *  - every published element is received before R sees closed
 *    (assertion), and R always stops: no invalid end state with R
 *    blocked once every sender is gone.
 *
 * Mutations:
 *   MUT_COUNT_FDS          count fds, not files: -1 at close(2) of the
 *                          fd, so a sender that closed its fd but still
 *                          has its mapping (and sends through it) sees
 *                          the channel closed under it
 *   MUT_COUNT_RECV_ENDS    count every file, the receive-only one too:
 *                          R's own end keeps the count above 0 and R
 *                          waits forever
 *   MUT_CLOSE_BEFORE_DIED  a mapping's ->close puts the file before the
 *                          died hook: the close comes with a dead
 *                          sender's claim still pending
 */

#ifndef NS
#define NS	2
#endif
#ifndef NELEM
#define NELEM	1
#endif

bit fd[NS];		/* the sender's fd is open */
bit map[NS];		/* its mapping exists */
bit mapped[NS];		/* it mapped once (bounds the model) */
bit phase[NS];		/* a fast-path claim of its is pending */
bit released[NS];	/* its file's ->release ran */
byte nsent[NS];
byte ends;		/* ch->ends */
byte claims;		/* claims pending (WRITING slots) */
byte published;
byte received;
bit closed;

/* j: the caller's (sender's) scratch, 0 outside this. */
inline do_close()
{
	do
	:: j < NS -> assert(!fd[j] && !map[j]); j++
	:: else -> j = 0; break
	od;
	assert(claims == 0);
	closed = 1
}

/* The file's last reference is gone: ->release. */
inline put_file(i)
{
	if
	:: !fd[i] && !map[i] && !released[i] ->
		released[i] = 1;
#ifndef MUT_COUNT_FDS
		ends--;
		if
		:: ends == 0 -> do_close()
		:: else -> skip
		fi
#endif
	:: else -> skip
	fi
}

/* The died hook: the dead mapping's claim becomes SKIP (its own element). */
inline died(i)
{
	if
	:: phase[i] -> phase[i] = 0; claims--
	:: else -> skip
	fi
}

inline close_fd(i)
{
	fd[i] = 0;
#ifdef MUT_COUNT_FDS
	ends--;
	if
	:: ends == 0 -> do_close()
	:: else -> skip
	fi
#endif
	put_file(i)
}

inline unmap(i)
{
	map[i] = 0;
#ifdef MUT_CLOSE_BEFORE_DIED
	put_file(i);
	died(i)
#else
	died(i);
	put_file(i)
#endif
}

proctype sender(byte i)
{
	byte j;

	do
	:: atomic { fd[i] && !phase[i] && nsent[i] < NELEM ->	/* SEND ioctl */
		if
		:: !closed -> published++
		:: else -> skip		/* EPIPE */
		fi;
		nsent[i]++ }
	:: atomic { fd[i] && !map[i] && !mapped[i] -> map[i] = 1; mapped[i] = 1 }
	:: atomic { map[i] && !phase[i] && nsent[i] < NELEM ->	/* claim */
		if
		:: !closed -> phase[i] = 1; claims++
		:: else -> nsent[i]++	/* EPIPE */
		fi }
	:: atomic { phase[i] ->					/* publish */
		phase[i] = 0; claims--; published++; nsent[i]++ }
	:: atomic { fd[i] -> close_fd(i) }
	:: atomic { map[i] -> unmap(i) }
	:: atomic { fd[i] || map[i] ->				/* SIGKILL */
		if
		:: map[i] -> unmap(i)
		:: else -> skip
		fi;
		if
		:: fd[i] -> close_fd(i)
		:: else -> skip
		fi }
	:: atomic { !fd[i] && !map[i] -> break }
	od
}

proctype receiver()
{
	do
	:: atomic { received < published -> received++ }
	:: atomic { closed && received == published && claims == 0 -> break }
	od;
	assert(received == published)
}

init
{
	byte i;

	atomic {
		i = 0;
		do
		:: i < NS -> fd[i] = 1; i++
		:: else -> break
		od;
		ends = NS;
#ifdef MUT_COUNT_RECV_ENDS
		ends++;		/* R's receive-only file */
#endif
		i = 0;
		do
		:: i < NS -> run sender(i); i++
		:: else -> break
		od;
		run receiver()
	}
}
