/*
 * ctxslot.pml - standalone context trees reuse their nodes (lib/ctx.c,
 * gosync_ctxs_claim_node, gosync_ctxs_attach): a node is in use while
 * an open file description of the tree's file holds a read lock
 * (F_OFD_SETLK) on its byte (a handle's description holds its own
 * node's: fork, dup and SCM_RIGHTS share it, and the kernel drops it
 * with the description's last reference, a killed process's too), or
 * while a node is attached under it (its children count: a walk from a
 * live node goes through its ancestors).
 *
 *   claim(D)   F_OFD_SETLK F_WRLCK on a node with the new description D
 *              (a fresh index, or any: the lock fails while any other
 *              description holds one there); held, and its children
 *              count 0: the node is D's; else unlock, try the next.
 *   detach     the node's old parent link: CAS(link, Q + 1, 0); only the
 *              CAS's winner decrements Q's children count.
 *   attach     increment P's children count, then link the node to P
 *              (a death between the two leaves P counted once too
 *              often: P is never reused, the safe side); write the
 *              node; downgrade the lock to F_RDLCK.
 *   free(D)    the last reference to D: its lock goes.
 *
 * Two makers, each with a handle on the root (node 0), make a child and
 * a grandchild under it (or a second child), free handles in any order,
 * and may be killed at any step (their locks go; what they wrote stays).
 * Nodes 1..3 are reused.  The kernel's lock table is one atomic step per
 * F_OFD_SETLK.
 *
 * Properties: a node is written only by the description that holds its
 * write lock, with no other lock on it; every node on a live handle's
 * chain is the one it was when the handle was made (its generation
 * unchanged); no children count goes below 0.
 */

#define NN	4		/* nodes: 0 is the root */
#define BIT(d)	(1 << (d))

byte rd[NN];			/* readers: a bitmask of descriptions */
byte wr[NN];			/* writer + 1 */
byte gen[NN];			/* bumped by every claim of the node */
byte link[NN];			/* the parent's index + 1, 0: none */
byte kids[NN];			/* children counts */

inline trywr(n, d, ok)
{
	atomic {
		if
		:: wr[n] == 0 && (rd[n] & ~BIT(d)) == 0 -> wr[n] = d + 1; ok = true
		:: else -> ok = false
		fi
	}
}

inline downgrade(n, d)
{
	atomic { wr[n] = 0; rd[n] = rd[n] | BIT(d) }
}

inline release(d, k)
{
	atomic {
		k = 0;
		do
		:: k < NN -> rd[k] = rd[k] & ~BIT(d);
			if
			:: wr[k] == d + 1 -> wr[k] = 0
			:: else -> skip
			fi;
			k++
		:: else -> break
		od
	}
}

#ifdef DIE
#define MAYBE_DIE	if :: goto dead :: skip fi
#else
#define MAYBE_DIE	skip
#endif

/*
 * Maker m: the root's handle is description m; its children's are
 * 2 + 2m (round 0) and 3 + 2m (round 1).
 */
proctype maker(byte m)
{
	byte d, p, n, k, q, round = 0;
	bool ok, held0 = false, held1 = false;
	byte cn[2], cg[2], cp, cpg;	/* round 1's chain as made */

	p = 0;
	do
	:: round < 2 ->
		d = 2 + 2 * m + round;
		/* claim: any node but the root, each once, in any order */
		n = 255;
		k = 1;
		do
		:: k < NN && n == 255 ->
			trywr(k, d, ok);
			if
			:: ok && kids[k] == 0 -> n = k
			:: ok && kids[k] != 0 ->
#ifdef MUT_NO_KIDS_CHECK
				n = k
#else
				atomic { wr[k] = 0 }	/* an ancestor: not free */
#endif
			:: else -> skip
			fi;
			k++
		:: else -> break
		od;
		if
		:: n == 255 -> goto next	/* ENOSPC */
		:: else -> skip
		fi;
		MAYBE_DIE;
		atomic {
			assert((rd[n] & ~BIT(d)) == 0 && wr[n] == d + 1);
			gen[n]++
		}
		/* detach from the old parent */
		q = link[n];
#ifdef MUT_DETACH_NO_CAS
		if
		:: q != 0 -> atomic { assert(kids[q - 1] > 0); kids[q - 1]-- }; MAYBE_DIE; link[n] = 0
		:: else -> skip
		fi;
#else
		if
		:: q != 0 ->
			atomic {
				if
				:: link[n] == q -> link[n] = 0; ok = true
				:: else -> ok = false
				fi
			};
			MAYBE_DIE;
			if
			:: ok -> atomic { assert(kids[q - 1] > 0); kids[q - 1]-- }
			:: else -> skip
			fi
		:: else -> skip
		fi;
#endif
		MAYBE_DIE;
		/* attach under p */
#ifdef MUT_LINK_FIRST
		link[n] = p + 1;
		MAYBE_DIE;
		kids[p]++;
#else
		kids[p]++;
		MAYBE_DIE;
		link[n] = p + 1;
#endif
		MAYBE_DIE;
		downgrade(n, d);
		if
		:: round == 0 -> held0 = true
		:: else -> held1 = true
		fi;
		if
		:: round == 1 ->
			cn[0] = n; cg[0] = gen[n]; cp = p; cpg = gen[p]
		:: else -> skip
		fi;
		/* round 0's child: the next round's parent, or freed at once */
		if
		:: round == 0 -> p = n
		:: round == 0 -> release(d, k); held0 = false; p = 0
		:: else -> skip
		fi;
		/* a grandchild's parent handle may be freed now (Go lets it) */
		if
		:: round == 1 && held0 -> release(d - 1, k); held0 = false
		:: skip
		fi;
		/* use round 1's handle: its chain is what it was */
		if
		:: round == 1 ->
			assert(gen[cn[0]] == cg[0]);
			assert(cp == 0 || gen[cp] == cpg)
		:: else -> skip
		fi;
next:
		round++
	:: else -> break
	od;
	/* the handles freed, in any order with the others' steps */
	if
	:: held1 -> assert(gen[cn[0]] == cg[0] && (cp == 0 || gen[cp] == cpg))
	:: else -> skip
	fi;
dead:
	release(2 + 2 * m, k);
	release(3 + 2 * m, k)
}

init {
	atomic {
		rd[0] = BIT(0) | BIT(1);
		gen[0] = 1;
		run maker(0);
		run maker(1)
	}
}
