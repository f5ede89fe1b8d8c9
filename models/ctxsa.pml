/*
 * ctxsa.pml - standalone contexts (lib/ctx.c, GOSYNC_STANDALONE): no
 * kernel, so nobody walks a tree at cancel time.  A context tree is one
 * shared file; a node's state is one 64-bit word, 0 while live, then
 * (err, cause, time) set once by a CAS.  Cancelling sets only the
 * cancelled node's word; a descendant learns of it when it is looked at:
 *
 *   resolve(N)    s = N.state; s != 0: s.  Else: the time now; best =
 *                 N's deadline if it passed (ETIMEDOUT, at the deadline);
 *                 then each ancestor's word, the earliest set one wins
 *                 over a later best; none: 0.  CAS(N.state, 0, best):
 *                 the first to record N's state decides it for everyone
 *                 (a failed CAS returns the word that won).
 *                                       gosync_ctx_sa_resolve
 *   cancel(N, c)  resolve(N) != 0: already done (the library says 0, as
 *                 EALREADY is in kernel mode).  Else the time now, then
 *                 CAS(N.state, 0, (ECANCELED, c, time)); then the tree's
 *                 wait words: seq_cst fence [CTXS-E], load armed; set:
 *                 clear it, bump futex, FUTEX_WAKE.  gosync_ctx_sa_cancel
 *   wait          (a select with the done channel, which is the tree's
 *                 wait words): v = futex; armed = 1; seq_cst fence
 *                 [CTXS-F]; resolve; 0: sleep on futex == v, until the
 *                 context's deadline, and at most 100 ms (a canceller
 *                 killed between its CAS and its wake).
 *                                       select.c + chan.c, done channel
 *
 * The tree: P, a root (no deadline), and C under it; with DEADLINE, C's
 * deadline D = 2 on a clock that a ticker moves 0 -> 3.  CP cancels P
 * (cause 71) or never does; CC (with CC) cancels C (cause 72) or never
 * does; DIE_CP: CP may be killed after its CAS, before its wake; W waits
 * on C's done channel; R resolves C twice.  Sequential consistency: the
 * fences are there; what they forbid is shown by the mutations that
 * reorder the steps around them.
 *
 * Properties:
 *  - every look at C that saw it done saw the word that C ends with
 *    (stable: what err() once said it says for ever);
 *  - a look at C that began after CP's cancel returned 0 sees C done
 *    (a cancel reaches every descendant before it returns);
 *  - CC's cancel returns 0 (its own cause) only if CP's had not
 *    returned 0 before CC began (the first cause wins);
 *  - with DEADLINE: C ends ETIMEDOUT only if no cancel of P or C had
 *    returned 0 before the clock reached D (the earliest event wins);
 *  - when nothing more can happen, W is not asleep while C is done (no
 *    lost wake-up; with DIE_CP, thanks to the 100 ms look).
 */

#define TO	60	/* ETIMEDOUT, as a cause: ETIMEDOUT's own */
#define ERR_C	1	/* ECANCELED */
#define ERR_T	2	/* ETIMEDOUT */
#define D	2

#define ENC(e, c, t)	((e) * 1000 + (c) * 10 + (t))
#define ERR(s)		((s) / 1000)
#define CAUSE(s)	(((s) / 10) % 100)
#define TIME(s)		((s) % 10)

int Ps, Cs;			/* the nodes' state words */
byte armed, futex;		/* the tree's wait words */
byte clk;
bool cp_ret, cc_ret;		/* a cancel returned 0 */
bool cp_early, cc_early;	/* ... before the clock reached D */
bool wdone, cdone;
int seen;			/* a nonzero look at C (all must agree) */

#define LOOKED(r) \
	if \
	:: (r) != 0 -> atomic { assert(seen == 0 || seen == (r)); seen = (r) } \
	:: else -> skip \
	fi

/* resolve(C) into r; b, t scratch */
inline resolve_c(r, b, t)
{
	r = Cs;
	if
	:: r != 0 -> goto resolved
	:: else -> skip
	fi;
	b = 0;
#ifdef MUT_ANCESTORS_FIRST
	/* the ancestor's word before the clock: a cancel between the two
	 * loads is missed and the deadline, passed meanwhile, wins */
	t = Ps;
#ifdef DEADLINE
	if
	:: clk >= D -> b = ENC(ERR_T, TO, D)
	:: else -> skip
	fi;
#endif
#else
#ifdef DEADLINE
	if
	:: clk >= D -> b = ENC(ERR_T, TO, D)
	:: else -> skip
	fi;
#endif
	t = Ps;
#endif
	if
	:: t != 0 && (b == 0 || TIME(t) < TIME(b)) -> b = t
	:: else -> skip
	fi;
	if
	:: b == 0 -> r = 0; goto resolved
	:: else -> skip
	fi;
#ifdef MUT_NO_MATERIALIZE
	r = b;
#else
	atomic {
		if
		:: Cs == 0 -> Cs = b; r = b
		:: else -> r = Cs
		fi
	}
#endif
resolved:
	skip
}

inline wake()
{
	if
	:: armed != 0 -> armed = 0; futex++
	:: else -> skip
	fi
}

active proctype ticker()
{
#ifdef DEADLINE
	do
	:: clk < 3 -> clk++
	:: break
	od
#else
	skip
#endif
}

active proctype CP()
{
	byte t;
#ifdef MUT_WAKE_BEFORE_STATE
	byte a;
#endif

	if
	:: skip
	:: goto out		/* never cancels */
	fi;
	t = clk;
#ifdef MUT_WAKE_BEFORE_STATE
	a = armed;		/* the armed load passes the CAS (no [CTXS-E]) */
#endif
	atomic {
		if
		:: Ps == 0 -> Ps = ENC(ERR_C, 71, t)
		:: else -> goto out
		fi
	}
#ifdef DIE_CP
	if
	:: skip
	:: goto out		/* killed before its wake */
	fi;
#endif
#ifdef MUT_WAKE_BEFORE_STATE
	if
	:: a != 0 -> armed = 0; futex++
	:: else -> skip
	fi;
#else
	wake();
#endif
	atomic { cp_ret = true; cp_early = clk < D }
out:
	skip
}

#ifdef CC
active proctype CCn()
{
	int r, b, s;
	byte t;
	bool before;

	if
	:: skip
	:: goto out
	fi;
	before = cp_ret;
#ifndef MUT_CANCEL_NO_RESOLVE
	resolve_c(r, b, s);
	LOOKED(r);
	if
	:: r != 0 -> goto out		/* already done */
	:: else -> skip
	fi;
#endif
	t = clk;
	atomic {
		if
		:: Cs == 0 -> Cs = ENC(ERR_C, 72, t)
		:: else -> goto out
		fi
	}
	wake();
	atomic {
		assert(!before);
		cc_ret = true; cc_early = clk < D
	}
out:
	skip
}
#endif

active proctype W()
{
	int r, b, s;
	byte v;

	do
	::
#ifndef MUT_FUTEX_AFTER_TRY
		v = futex;
#endif
#ifndef MUT_ARM_AFTER_TRY
		armed = 1;
#endif
		resolve_c(r, b, s);
#ifdef MUT_ARM_AFTER_TRY
		armed = 1;
#endif
#ifdef MUT_FUTEX_AFTER_TRY
		v = futex;
#endif
		LOOKED(r);
		if
		:: r != 0 -> break
		:: else -> skip
		fi;
end_sleep:
		if
		:: futex != v -> skip
#if defined(DEADLINE) && !defined(MUT_NO_DEADLINE_CAP)
		:: clk >= D -> skip
#endif
#if defined(DIE_CP) && !defined(MUT_NO_POLL)
		:: Ps != 0 -> skip	/* the 100 ms look, once it can matter */
#endif
		fi
	od;
	wdone = true
}

active proctype R()
{
	int r, b, s;
	bool before;

	before = cp_ret;
	resolve_c(r, b, s);
	assert(!before || r != 0);
	LOOKED(r);
	resolve_c(r, b, s);
	LOOKED(r);
}

/* When nothing can move: the end state's properties. */
active proctype monitor()
{
	timeout ->
	assert(seen == 0 || seen == Cs);
	assert(wdone || Cs == 0 && Ps == 0
#ifdef DEADLINE
	       && clk < D
#endif
	       );
#ifdef DEADLINE
	assert(ERR(Cs) != ERR_T || !(cp_early || cc_early));
#endif
	assert(!cc_ret || CAUSE(Cs) == 72)
}
