/*
 * ctx.pml - contexts (GOSYNC_FEAT_CTX: kmod/ctx.c, lib/ctx.c), Go's
 * context.Context across processes: a tree of contexts, each cancelled
 * once, with the first cause winning, a cancel reaching every live
 * descendant, a child made under a cancelled parent born cancelled, and
 * each context's two words on a page that the kernel alone writes and
 * any process reads without a lock.
 *
 * Kernel (one global mutex L over every context's kernel copy of (err,
 * cause) and every parent's list of children; a context holds a
 * reference on its parent):
 *
 *   create(C under P)   lock L; P.err != 0: C.err = P.err, C.cause =
 *                       P.cause, publish(C) (born done); else link C
 *                       into P.children; unlock L     gosync_ctx_create
 *   cancel(X, e, c)     lock L; X.err != 0: unlock, EALREADY; else walk
 *                       X's subtree, visiting only live nodes (a done
 *                       node's descendants are all done), each: N.err = e,
 *                       N.cause = c, publish(N); unlock L; 0
 *                                                gosync_ctx_cancel_tree
 *   publish(N)          WRITE_ONCE(words.cause, c);
 *                       smp_store_release(&words.state, e)      [CTX-A]
 *                       close N's done channel (the CLOSED bit in its
 *                       tail: a fully ordered CAS; then the wakes)
 *                                                   gosync_ctx_publish
 *
 *   poll of the ctx fd  EPOLLIN iff READ_ONCE(words.state) != 0, after
 *                       poll_wait (publish wakes the fd's queue after
 *                       the stores)                 gosync_ctx_poll
 *   library             gosync_ctx_err: acquire load of state  [CTX-B];
 *                       gosync_ctx_cause: acquire load of state, then,
 *                       if it is not 0, cause
 *                       a receive from the done channel that says
 *                       "closed" (acquire load of the tail), then state
 *
 * Sequential consistency, each shared word one store or load; what the
 * release [CTX-A] and the acquire [CTX-B] forbid is made explicit by the
 * mutations that reorder them (the writer's two stores, the reader's two
 * loads).  The kernel copy and the children lists are only touched under
 * L (one step with the decision that uses them); the page's words are
 * stored one at a time under L, so readers (who never take L) see every
 * intermediate state.
 *
 * The tree: R (a root), A and B children of R (B is A's sibling), G, made
 * under A by a creator racing the cancels; indices are in pre-order, so
 * the walk is "i = X, X + 1, ...: visit i if it is X, or linked, live
 * and its parent was visited", the real walk's order and pruning.
 * Cancellers, each of which may also never act (the ioctl not made, the
 * timer not expired, the maker alive): CR cancels R (ioctl, ECANCELED,
 * cause 71), CA cancels A (ioctl, ECANCELED, cause 72), T is A's deadline
 * (the hrtimer's work: cancel(A, ETIMEDOUT, ETIMEDOUT)), GTIMER: T is G's
 * deadline instead (armed once G exists), EXIT: E, B's maker exits
 * (cancel(B, ECANCELED, ESRCH)).  Readers RA (on A) and RG (on G, once
 * its fd exists; NO_RG: none): a poll of the context's fd (then
 * gosync_ctx_err if it says EPOLLIN), gosync_ctx_err then
 * gosync_ctx_cause, then a receive from the done channel and
 * gosync_ctx_err/_cause again.
 *
 * Properties (assertions):
 *  - a reader that loads state != 0 then loads cause != 0;
 *  - a reader whose poll of the context's fd says EPOLLIN then loads
 *    state != 0 (gosync_ctx_poll reads the page's state: by coherence a
 *    later load of the same word sees it too);
 *  - a reader that sees the done channel closed then loads state != 0
 *    and cause != 0;
 *  - a reader sees a context's state and cause once: what it read before
 *    the done channel closed (if not 0) is what it reads after;
 *  - a reader that sees the done channel closed by an ancestor's cancel
 *    (its cause is that cancel's) then loads the parent's state != 0:
 *    the walk publishes a node before its children (Go: a parent's Err
 *    is set before its children are cancelled);
 *  - at the end (every canceller and the creator returned), for every
 *    context N: its (err, cause), kernel copy and page alike, are those
 *    of the first (in L's order) cancel that returned 0 whose target is
 *    N or an ancestor of N, and (0, 0) when there is none (so every node
 *    under a cancelled ancestor is cancelled, first cause wins, and a
 *    node under no cancelled node, B's when only A is cancelled, stays
 *    live); its done channel is closed iff it is done;
 *  - every cancel returned EALREADY iff a cancel of its target or of an
 *    ancestor had returned 0 before it took L (causes are distinct, so a
 *    0 means "this cause is the one that stays").
 *
 * Mutations (each must fail with an assertion):
 *   MUT_CREATE_UNLOCKED    create loads P.err without L (READ_ONCE), then
 *                          takes L and links on what it saw
 *   MUT_LINK_AFTER_UNLOCK  create checks P.err under L, but links C into
 *                          P.children after unlocking
 *   MUT_STATE_FIRST        publish stores state before cause (no release
 *                          ordering of [CTX-A])
 *   MUT_CLOSE_FIRST        publish closes the done channel before it
 *                          stores cause and state
 *   MUT_NO_EALREADY        cancel does not look at X.err: it overwrites
 *                          X's err and cause and walks on (returns 0)
 *   MUT_READER_NO_ACQUIRE  gosync_ctx_cause loads cause before state (what
 *                          a plain or relaxed load of state allows:
 *                          [CTX-B] missing)
 *   MUT_WALK_ALL_LIVE      the walk visits every linked live node after X,
 *                          not only X's subtree (a sibling is cancelled)
 *   MUT_CHILDREN_FIRST     the walk sets the kernel copies in pre-order,
 *                          then publishes the pages in reverse (children
 *                          before their parent)
 *   MUT_POLL_KERNEL_COPY   gosync_ctx_poll as first written: EPOLLIN from
 *                          READ_ONCE(ctx->err), the kernel copy, which
 *                          gosync_ctx_publish stores before the page's
 *                          state (and which poll reads without L)
 */

#define NN	4		/* contexts */
#define R	0
#define A	1
#define B	2
#define G	3
#define NONE	255

#define ESRCH		3
#define ETIMEDOUT	110
#define EALREADY	114
#define ECANCELED	125

#define NC	4		/* cancellers: CR, CA, T, E */

byte parent[NN];	/* the reference each context holds (static tree) */
byte gparent[NN];

/* kernel: under L */
byte L;			/* the global mutex: 0 free, else holder's _pid + 1 */
byte kerr[NN];
byte kcause[NN];
bit  linked[NN];	/* on its parent's list of children */
bit  exists[NN];	/* made: its fd exists */

/* the page (kernel-written, mapped read-only) and the done channel */
byte state[NN];
byte cause[NN];
bit  closed[NN];	/* the CLOSED bit of the done channel's tail */

/* cancellers: target, error, cause; ghosts: L order (0: did not act), ret */
byte ctarget[NC];
byte cerr[NC];
byte ccause[NC];
byte cseq[NC];
byte cret[NC];
bit  cused[NC];		/* this configuration has canceller k */
byte seq;		/* ghost: cancels that took L, in order */
byte kdone;		/* kernel tasks (creator, cancellers) returned */
byte nk;		/* how many there are */

#define ANC(x, n)	((n) == (x) || parent[n] == (x) || gparent[n] == (x))

inline lock() {
	atomic { L == 0 -> L = _pid + 1 }
}

inline unlock() {
	assert(L == _pid + 1);
	L = 0
}

/*
 * gosync_ctx_publish: the page's words, then the done channel's close;
 * three stores, P1..P3 in the order of the code (or of a mutation).
 */
#define ST_CAUSE(n, e, c)	cause[n] = c;	/* WRITE_ONCE */ \
	printf("MSC: ctx %d: cause = %d\n", n, c)
#define ST_STATE(n, e, c)	state[n] = e;	/* CTX-A: release */ \
	printf("MSC: ctx %d: state = %d\n", n, e)
#define ST_CLOSE(n, e, c)	closed[n] = 1;	/* fully ordered CAS */ \
	printf("MSC: ctx %d: done channel closed\n", n)
#if defined(MUT_CLOSE_FIRST)
#define P1	ST_CLOSE
#define P2	ST_CAUSE
#define P3	ST_STATE
#elif defined(MUT_STATE_FIRST)
#define P1	ST_STATE
#define P2	ST_CAUSE
#define P3	ST_CLOSE
#else
#define P1	ST_CAUSE
#define P2	ST_STATE
#define P3	ST_CLOSE
#endif

inline publish(n, e, c) {
	atomic { P1(n, e, c) };
	atomic { P2(n, e, c) };
	atomic { P3(n, e, c) }
}

/*
 * gosync_ctx_cancel_tree, under L: X, then in pre-order every linked
 * node that is live and whose parent this walk visited.  vis: the nodes
 * visited (bit per node).  The kernel copy is only read under L, so its
 * update and the loop's bookkeeping are folded into the page's stores.
 */
#ifndef MUT_WALK_ALL_LIVE
#define VISIT(i, x)	(i == x || (linked[i] && kerr[i] == 0 && \
			 (vis & (1 << parent[i]))))
#else
#define VISIT(i, x)	(i == x || (linked[i] && kerr[i] == 0))
#endif

inline cancel_tree(x, e, c) {
	i = x;
	vis = 0;
#ifndef MUT_CHILDREN_FIRST
	do
	:: atomic { i < NN && VISIT(i, x) ->
		vis = vis | (1 << i);
		kerr[i] = e;
		kcause[i] = c;
		printf("MSC: ctx %d: err %d cause %d (under L)\n", i, e, c);
		P1(i, e, c) };
	   atomic { P2(i, e, c) };
	   atomic { P3(i, e, c); i++ }
	:: atomic { i < NN && !VISIT(i, x) -> i++ }
	:: atomic { i == NN -> i = 0; vis = 0; break }
	od
#else
	/* the kernel copies in pre-order, then the pages leaves first */
	do
	:: atomic { i < NN && VISIT(i, x) ->
		vis = vis | (1 << i);
		kerr[i] = e;
		kcause[i] = c;
		printf("MSC: ctx %d: err %d cause %d (under L)\n", i, e, c);
		i++ }
	:: atomic { i < NN && !VISIT(i, x) -> i++ }
	:: atomic { i == NN -> break }
	od;
	do
	:: atomic { i > x && (vis & (1 << (i - 1))) -> i--; P1(i, e, c) };
	   atomic { P2(i, e, c) };
	   atomic { P3(i, e, c) }
	:: atomic { i > x && !(vis & (1 << (i - 1))) -> i-- }
	:: atomic { i == x -> i = 0; vis = 0; break }
	od
#endif
}

proctype Canceller(byte k) {
	byte x = ctarget[k], i, vis;

	if
	:: x == G -> exists[G]		/* G's timer is armed by its create */
	:: else
	fi;
	if
	:: printf("MSC: canceller %d never acts\n", k)
	:: lock();
	   atomic { seq++; cseq[k] = seq;
		printf("MSC: canceller %d: cancel(ctx %d, %d, %d) takes L\n",
			k, x, cerr[k], ccause[k]) };	/* (ghost) */
	   if
#ifndef MUT_NO_EALREADY
	   :: kerr[x] != 0 ->
		unlock();
		cret[k] = EALREADY;
		printf("MSC: canceller %d: EALREADY\n", k)
#endif
	   :: else ->
		cancel_tree(x, cerr[k], ccause[k]);
		unlock();
		cret[k] = 0;
		printf("MSC: canceller %d: 0\n", k)
	   fi
	fi;
	kdone++
}

/* gosync_ctx_create(G under A) */
proctype Creator() {
	byte p = parent[G], pe;

#if defined(MUT_CREATE_UNLOCKED)
	pe = kerr[p];		/* READ_ONCE, without L */
	printf("MSC: create: parent err %d (without L)\n", pe);
	lock();
	if
	:: pe != 0 ->
		atomic { kerr[G] = kerr[p]; kcause[G] = kcause[p] };
		publish(G, kerr[G], kcause[G])
	:: else ->
		linked[G] = 1;
		printf("MSC: create: G linked under ctx %d\n", p)
	fi;
	unlock();
#elif defined(MUT_LINK_AFTER_UNLOCK)
	lock();
	pe = kerr[p];
	if
	:: pe != 0 ->
		atomic { kerr[G] = kerr[p]; kcause[G] = kcause[p] };
		publish(G, kerr[G], kcause[G])
	:: else
	fi;
	unlock();
	if
	:: pe == 0 ->
		linked[G] = 1;	/* after the unlock */
		printf("MSC: create: G linked under ctx %d (after unlock)\n", p)
	:: else
	fi;
#else
	lock();
	if
	:: kerr[p] != 0 ->
		atomic { kerr[G] = kerr[p]; kcause[G] = kcause[p];
			printf("MSC: create: parent done (%d, %d): G born done\n",
				kerr[p], kcause[p]) };
		publish(G, kerr[G], kcause[G])
	:: else ->
		linked[G] = 1;
		printf("MSC: create: G linked under ctx %d\n", p)
	fi;
	unlock();
#endif
	atomic { exists[G] = 1;	/* the fd is returned */
		pe = 0;
		kdone++ }
}

/*
 * lib/ctx.c: gosync_ctx_err and gosync_ctx_cause, then a receive from
 * the done channel ("closed"), then both again.
 */
proctype Reader(byte n) {
	byte s, c, s2, c2, k, ps, pr;
	bit byanc;

	exists[n];		/* it has the fd and the page mapped */
	/* poll(2) of the context's fd (gosync_ctx_poll), then gosync_ctx_err */
#ifndef MUT_POLL_KERNEL_COPY
	pr = state[n];		/* READ_ONCE(ctx->words->state) */
#else
	pr = kerr[n];		/* READ_ONCE(ctx->err), without L */
#endif
	if
	:: pr != 0 ->
		printf("MSC: reader of ctx %d: poll says EPOLLIN\n", n);
		pr = state[n];	/* gosync_ctx_err: CTX-B */
		printf("MSC: reader of ctx %d: then state %d\n", n, pr);
		assert(pr != 0)
	:: else
	fi;
	pr = 0;
#ifndef MUT_READER_NO_ACQUIRE
	s = state[n];		/* gosync_ctx_err: CTX-B */
	if
	:: s != 0 ->
		c = cause[n];	/* gosync_ctx_cause: after its acquire of state */
		printf("MSC: reader of ctx %d: state %d, cause %d\n", n, s, c);
		assert(c != 0)
	:: else -> printf("MSC: reader of ctx %d: live\n", n)
	fi;
#else
	c = cause[n];
	s = state[n];
	printf("MSC: reader of ctx %d: cause %d, then state %d\n", n, c, s);
	if
	:: s != 0 -> assert(c != 0)
	:: else
	fi;
#endif
end_wait:
	closed[n];		/* the receive says "closed" (acquire) */
	s2 = state[n];
	c2 = cause[n];
	printf("MSC: reader of ctx %d: done closed; state %d, cause %d\n", n, s2, c2);
	assert(s2 != 0);
	assert(c2 != 0);
	if
	:: s != 0 -> assert(s2 == s && c2 == c)
	:: else
	fi;
	/*
	 * Done by an ancestor's cancel (the causes are distinct: c2 names
	 * the canceller): the parent's state is not 0 either (Go: the
	 * parent's Err is set before its children are cancelled).
	 */
	atomic {
		k = 0;
		do
		:: k < NC && !(cused[k] && ccause[k] == c2) -> k++
		:: else -> break
		od;
		assert(k < NC);
		byanc = (ctarget[k] != n);
		k = 0
	};
	if
	:: byanc ->
		ps = state[parent[n]];
		printf("MSC: reader of ctx %d: its parent's state %d\n", n, ps);
		assert(ps != 0)
	:: else
	fi
}

inline canceller(k, x, e, c) {
	ctarget[k] = x; cerr[k] = e; ccause[k] = c; cused[k] = 1;
	nk++;
	run Canceller(k)
}

init {
	byte n, k, j, w, we, wc;
	bit al;

	atomic {
		parent[R] = NONE; gparent[R] = NONE;
		parent[A] = R;    gparent[A] = NONE;
		parent[B] = R;    gparent[B] = NONE;
		parent[G] = A;    gparent[G] = R;
		linked[A] = 1; linked[B] = 1;
		exists[R] = 1; exists[A] = 1; exists[B] = 1;

		nk = 1;
		run Creator();
		canceller(0, R, ECANCELED, 71);
		canceller(1, A, ECANCELED, 72);
#ifdef GTIMER
		canceller(2, G, ETIMEDOUT, ETIMEDOUT);
#else
		canceller(2, A, ETIMEDOUT, ETIMEDOUT);
#endif
#ifdef EXIT
		canceller(3, B, ECANCELED, ESRCH);
#endif
		run Reader(A);
#ifndef NO_RG
		run Reader(G);
#endif
	}

	kdone == nk;
	atomic {
		/* each context: the first cancel that returned 0 on it or an ancestor */
		n = 0;
		do
		:: n < NN ->
			w = NONE; k = 0;
			do
			:: k < NC ->
				if
				:: cused[k] && cseq[k] != 0 && cret[k] == 0 &&
				   ANC(ctarget[k], n) &&
				   (w == NONE || cseq[k] < cseq[w]) -> w = k
				:: else
				fi;
				k++
			:: else -> break
			od;
			if
			:: w == NONE -> we = 0; wc = 0
			:: else -> we = cerr[w]; wc = ccause[w]
			fi;
			printf("MSC: end: ctx %d: err %d cause %d (want %d %d), closed %d\n",
				n, kerr[n], kcause[n], we, wc, closed[n]);
			assert(kerr[n] == we && kcause[n] == wc);
			assert(state[n] == we && cause[n] == wc);
			assert(closed[n] == (we != 0));
			n++
		:: else -> break
		od;
		/* EALREADY iff a cancel of the target or an ancestor won before */
		k = 0;
		do
		:: k < NC ->
			if
			:: cused[k] && cseq[k] != 0 ->
				al = 0; j = 0;
				do
				:: j < NC ->
					if
					:: cused[j] && cseq[j] != 0 && cseq[j] < cseq[k] &&
					   cret[j] == 0 && ANC(ctarget[j], ctarget[k]) -> al = 1
					:: else
					fi;
					j++
				:: else -> break
				od;
				assert((cret[k] == EALREADY) == al)
			:: else
			fi;
			k++
		:: else -> break
		od
	}
}
