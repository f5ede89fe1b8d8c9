/*
 * ctxslot.pml - standalone context trees reuse their nodes (lib/ctx.c,
 * gosync_ctxs_claim_node): a node is in use while some open file
 * description of the tree's file holds a read lock (F_OFD_SETLK) on its
 * byte.  A handle's description holds one on its node and on every
 * ancestor's, so a node is never made anew while a handle (in any
 * process, through any dup, fork or SCM_RIGHTS copy of its fd) could
 * still walk to it; the kernel drops a description's locks when its last
 * fd closes, killed processes' included.
 *
 *   claim(D)   a fresh index from the counter (CAS), or, when they are
 *              all handed out, any index: then F_OFD_SETLK F_WRLCK on it
 *              with the new description D; it fails while any other
 *              description holds a lock there (try the next); held: the
 *              node is D's alone: write it, then lock the ancestors
 *              (F_RDLCK, shared with their holders), then downgrade to
 *              F_RDLCK.
 *   free(D)    the last close of D: every lock of D goes at once.
 *
 * Descriptions are the model's processes' handles: each of two makers
 * holds a handle on the root (node 0), makes a child (or a grandchild
 * under its own child), walks the child's chain, and frees; with two
 * nodes besides the root a claim must often reuse one.  The kernel's
 * lock table is one atomic step per F_OFD_SETLK.
 *
 * Properties: a node written by a claim is locked by no other
 * description (no two live handles on one node); every node on a live
 * handle's chain is the one it was when the handle was made (its
 * generation unchanged).
 */

#define NN	3		/* nodes: 0 is the root */
#define NMAKERS	2
#define ROOTD	0		/* the root's description */

/* lock table: rd[n] readers (a bitmask of descriptions), wr[n] writer+1 */
byte rd[NN];
byte wr[NN];
byte used = 1;			/* the claim counter (the root is node 0) */
byte gen[NN];			/* bumped by every claim of the node */
byte parent[NN];		/* index + 1, 0 for the root */

#define BIT(d)	(1 << (d))

inline trywr(n, d, ok)
{
	atomic {
		if
		:: wr[n] == 0 && (rd[n] & ~BIT(d)) == 0 -> wr[n] = d + 1; ok = true
		:: else -> ok = false
		fi
	}
}

inline rdlock(n, d)
{
	atomic {
		/* shared with readers; a writer (a claim) excludes: wait */
		(wr[n] == 0 || wr[n] == d + 1);
		if
		:: wr[n] == d + 1 -> wr[n] = 0	/* downgrade */
		:: else -> skip
		fi;
		rd[n] = rd[n] | BIT(d)
	}
}

inline release_all(d, k)
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

/* maker m: description 1 + m, its child's (and grandchild's) 3 + 2m, 4 + 2m */
proctype maker(byte m)
{
	byte d, p, n, i, k, g0, g1, a;
	bool ok;
	byte chain_n[2], chain_g[2];
	byte round = 0;

	p = 0;
	do
	:: round < 2 ->
		d = 3 + 2 * m + round;	/* the new child's description */
		/* claim: fresh index, else any */
		n = 255;
		atomic {
			if
			:: used < NN -> n = used; used++
			:: else -> skip
			fi
		}
		if
		:: n != 255 ->
#ifndef MUT_FRESH_NO_LOCK
			trywr(n, d, ok);
			if
			:: !ok -> n = 255
			:: else -> skip
			fi
#else
			ok = true
#endif
		:: else -> skip
		fi;
		if
		:: n == 255 ->
			/* scan every index (the root's too) for one nobody holds */
			k = 0;
			do
			:: k < NN && n == 255 ->
				trywr(k, d, ok);
				if
				:: ok -> n = k
				:: else -> skip
				fi;
				k++
			:: else -> break
			od
		:: else -> skip
		fi;
		if
		:: n == 255 -> goto next	/* ENOSPC */
		:: else -> skip
		fi;
		/* write the node: no other description may hold it */
		atomic {
			assert((rd[n] & ~BIT(d)) == 0);
			gen[n]++;
			parent[n] = p + 1
		}
		/* the ancestors (the parent, and its parent) */
#ifndef MUT_NO_ANCESTOR_LOCKS
		a = p;
		do
		:: rdlock(a, d);
			if
			:: parent[a] == 0 -> break
			:: else -> a = parent[a] - 1
			fi
		od;
#endif
		rdlock(n, d);
		/* the handle's chain as made: node and generation */
		chain_n[0] = n; chain_g[0] = gen[n];
		chain_n[1] = p; chain_g[1] = gen[p];
		/* a grandchild's parent handle may be freed now (Go lets it) */
		if
		:: round == 1 && p != 0 -> release_all(d - 1, k)
		:: skip
		fi;
		/* use: walk the chain, with anything in between */
		for (i : 0 .. 1) {
			assert(gen[chain_n[i]] == chain_g[i])
		}
		/* the next round makes a grandchild under this child, or not */
		if
		:: round == 0 -> p = n
		:: round == 0 -> release_all(d, k); p = 0
		:: else -> skip
		fi;
		if
		:: round == 1 -> for (i : 0 .. 1) {
				assert(gen[chain_n[i]] == chain_g[i])
			}
		:: else -> skip
		fi
next:
		round++
	:: else -> break
	od;
	/* every handle freed */
	release_all(3 + 2 * m, k);
	release_all(4 + 2 * m, k)
}

init {
	/* the root, held by description 0 and by each maker's own (1, 2) */
	atomic {
		rd[0] = BIT(ROOTD) | BIT(1) | BIT(2);
		gen[0] = 1;
		run maker(0);
		run maker(1)
	}
}
