// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: contexts, Go's context.Context across processes.
 *
 * Kernel mode only (GOSYNC_FEAT_CTX): a context is an fd of the module,
 * which alone decides and records when it is done (kmod/ctx.c).  Its
 * page, a sync object's layout (struct gosync_sync_header, then struct
 * gosync_ctx_words at info.off_words), is mapped read-only into every
 * process that has a handle, so Err and Cause are a load, no system
 * call; a forked child maps it again on first use (the kernel's
 * mappings are not inherited), as the sync objects do.  Cancel and
 * making a context are ioctls.  The done channel is the module's, a
 * receive-only end (never mapped: every receive on it is the kernel's),
 * asked for once per handle, on first use.
 *
 * Ordering (gosync_ctx_publish() in kmod/ctx.c; models/ctx.pml):
 *
 *   kernel, cancelling (its lock held)     library: err, cause
 *     words.cause = cause                    load-acquire words.state [CTX-B]
 *     store-release words.state     [CTX-A]  set: load words.cause
 *     close the done channel
 *
 * A state seen set has its cause with it; the done channel closes after
 * the state is set, so a receiver that saw it closed sees the state too.
 *
 * Standalone (GOSYNC_STANDALONE, no kernel): a tree of contexts is one
 * memfd, sealed at its size: a header with the tree's wait words, then a
 * node per context (its state word, deadline, parent and value), then
 * the value records.  A handle's fd is the tree's file opened anew for
 * that context (through /proc/self/fd) with the node's byte offset as
 * its file offset, so fork, SCM_RIGHTS and gosync_ctx_from_fd() pass the
 * context and not just the tree.  Nothing walks a tree at cancel time:
 * a cancel sets its own node's word, and a descendant learns of it when
 * it is looked at (models/ctxsa.pml):
 *
 *   resolve(N): its word set: that.  Else the clock [CTXS-C], then the
 *     ancestors' words (acquire): the earliest of N's passed deadline
 *     and every ancestor's set word, recorded in N's word by a CAS
 *     (seq_cst): the first look that records decides for every process.
 *   cancel(N): resolve(N) set: done already (0).  Else the clock, CAS
 *     N's word 0 -> (ECANCELED, cause, time) (seq_cst), then the tree's
 *     wait words: fence E, armed? wake                        [CTXS-E]
 *   a wait (a select with the done channel, whose receivers arm and
 *     sleep on the tree's wait words): the futex word, arm, fence F,
 *     resolve (the select's round), sleep until the context's deadline
 *     and for at most GOSYNC_SYNC_POLL_NS (a canceller killed before
 *     its wake)                                               [CTXS-F]
 *
 * Deadlines are looked at, not timed: a context whose deadline passed is
 * done for whoever looks, and a select on its done channel wakes at the
 * deadline.  GOSYNC_CTX_CANCEL_ON_EXIT and names need the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define GOSYNC_CTX_MAKE_FLAGS	(GOSYNC_STANDALONE | GOSYNC_CLOEXEC | \
				 GOSYNC_CTX_CANCEL_ON_EXIT)
#define GOSYNC_CTX_FD_FLAGS	(GOSYNC_STANDALONE | GOSYNC_CLOEXEC)
/* The library's flags and the ioctl's must not meet. */
_Static_assert(!(GOSYNC_CTX_CANCEL_ON_EXIT &
		 (GOSYNC_STANDALONE | GOSYNC_CLOEXEC | GOSYNC_NOMAP |
		  GOSYNC_AUTOCLOSE | GOSYNC_SEND_ONLY | GOSYNC_RECV_ONLY)),
	       "GOSYNC_CTX_CANCEL_ON_EXIT is a bit of the library's");

/* ------------------------------------------- the standalone tree file -- */

/*
 * struct gosync_ctxs_tree - a standalone tree's header
 * @hdr:	GOSYNC_SYNC_MAGIC (last), GOSYNC_KIND_CTX, STANDALONE
 * @nodes_max:	nodes in the file (fixed)
 * @values_max:	bytes of value records in the file (fixed)
 * @nodes_used:	fresh nodes handed out (CAS); past them, nodes are reused
 * @values_used: bytes of long value records handed out (CAS; not reused)
 * @wait:	the wait words of every done channel of the tree
 * @scan:	where the next search for a node to reuse starts
 *
 * Any process with an fd may write all of it: every word is loaded once,
 * checked and bounded before use.
 */
struct gosync_ctxs_tree {
	struct gosync_sync_header hdr;
	uint32_t nodes_max;
	uint32_t values_max;
	uint32_t nodes_used;
	uint32_t values_used;
	struct gosync_wait wait;
	uint32_t scan;
};

/*
 * struct gosync_ctxs_node - a context in a standalone tree
 * @state:	0 while live, then GOSYNC_CTXS_STATE(err, cause, time):
 *		set once, by a CAS (resolve or cancel)
 * @deadline:	absolute CLOCK_MONOTONIC ns or GOSYNC_FOREVER; at most
 *		the parent's
 * @parent:	the parent's index + 1, 0 for a root
 * @ready:	GOSYNC_CTXS_READY, stored (release) once the rest is written
 * @value_off:	its own value record's offset in the records, or
 *		GOSYNC_CTXS_INLINE: in @record (@value_len)
 * @value_len:	its bytes (0: none)
 * @chain_len:	record bytes of the node and its ancestors
 * @depth:	0 for a root
 * @children:	nodes attached under it (their @parent is this one's)
 * @record:	a value record that fits here (the usual small ones)
 *
 * A node is in use while an open file description of the tree's file
 * holds a read lock (F_OFD_SETLK) on its byte (a handle's description
 * holds its own node's; the kernel drops it with the description's last
 * reference, in whatever process), or while a node is attached under it
 * (@children: a walk from a live node goes through its ancestors).  A
 * claim owns a node under its write lock with @children 0, detaches it
 * from its old parent (a CAS on @parent: only the winner decrements that
 * parent's @children), then counts itself in its new parent's before it
 * links to it (models/ctxslot.pml).
 */
struct gosync_ctxs_node {
	uint64_t state;
	int64_t deadline;
	uint32_t parent;
	uint32_t ready;
	uint32_t value_off;
	uint32_t value_len;
	uint32_t chain_len;
	uint32_t depth;
	uint32_t children;
	unsigned char record[84];
};

#define GOSYNC_CTXS_INLINE	0xffffffffU
#define GOSYNC_CTXS_OFF_NODES	4096
#define GOSYNC_CTXS_NODES	65536
#define GOSYNC_CTXS_VALUES	(4U << 20)
#define GOSYNC_CTXS_SIZE	(GOSYNC_CTXS_OFF_NODES + GOSYNC_CTXS_NODES * \
				 sizeof(struct gosync_ctxs_node) + \
				 GOSYNC_CTXS_VALUES)
#define GOSYNC_CTXS_DEPTH_MAX	1024
#define GOSYNC_CTXS_READY	0x63747873U	/* "ctxs" */

/* State word: [ time in us (50) | cause (12) | err (2): 1 ECANCELED, 2 ETIMEDOUT ] */
#define GOSYNC_CTXS_ERR_CANCELED	1ULL
#define GOSYNC_CTXS_ERR_TIMEDOUT	2ULL
#define GOSYNC_CTXS_STATE(err, cause, ns) \
	((err) | (uint64_t)(cause) << 2 | (uint64_t)((ns) / 1000) << 14)
#define GOSYNC_CTXS_TIME(s)	((s) >> 14)

_Static_assert(GOSYNC_CTX_CAUSE_MAX < (1 << 12), "a cause fits in 12 bits");
_Static_assert(sizeof(struct gosync_ctxs_node) == 128, "nodes of 128 bytes");
_Static_assert(sizeof(struct gosync_ctxs_tree) <= GOSYNC_CTXS_OFF_NODES,
	       "the header before the nodes");
_Static_assert(GOSYNC_CTXS_SIZE <= GOSYNC_STANDALONE_MAX_BYTES,
	       "a tree is a standalone object");

/**
 * struct gosync_ctx - the library's handle on a context
 * @fd:		the context's fd
 * @deadline:	its deadline (set at creation, never changed)
 * @map_size:	bytes of its page (from GOSYNC_CTX_IOC_INFO)
 * @off_words:	where the words are in it
 * @base:	the page, in this process (read-only)
 * @words:	the words in @base
 * @gen:	fork generation of the mapping (0: being mapped again)
 * @done:	the done channel, once asked for (set once, by a CAS)
 * @off_values:	where the value records are in @base
 * @values_len:	their bytes (set at creation, never changed)
 * @tree:	standalone: the tree's header (@base), else NULL
 * @node:	standalone: this context's index in the tree
 * @nodes_max:	standalone: the tree's, as the file's size allows
 * @values_max:	standalone: the same, of the records
 */
struct gosync_ctx {
	int fd;
	int64_t deadline;
	size_t map_size;
	size_t off_words;
	void *base;
	const struct gosync_ctx_words *words;
	unsigned long gen;
	struct gosync_chan *done;
	size_t off_values;
	size_t values_len;
	struct gosync_ctxs_tree *tree;
	uint32_t node;
	uint32_t nodes_max;
	uint32_t values_max;
};

static struct gosync_ctxs_node *gosync_ctxs_nodes(const struct gosync_ctx *ctx)
{
	return (struct gosync_ctxs_node *)((unsigned char *)ctx->base +
					   GOSYNC_CTXS_OFF_NODES);
}

static unsigned char *gosync_ctxs_values(const struct gosync_ctx *ctx)
{
	return (unsigned char *)(gosync_ctxs_nodes(ctx) + ctx->nodes_max);
}

/*
 * Node @i's parent index, or -1 (a root, or a link a peer broke: out of
 * range, to itself, to a node not ready).  A cycle a peer made ends at
 * GOSYNC_CTXS_DEPTH_MAX steps.
 */
static int64_t gosync_ctxs_parent(const struct gosync_ctx *ctx, uint32_t i)
{
	uint32_t p = __atomic_load_n(&gosync_ctxs_nodes(ctx)[i].parent,
				     __ATOMIC_RELAXED);

	if (!p || p - 1 >= ctx->nodes_max || p - 1 == i)
		return -1;
	/* Acquire: pairs with the maker's release of ready. */
	if (__atomic_load_n(&gosync_ctxs_nodes(ctx)[p - 1].ready,
			    __ATOMIC_ACQUIRE) != GOSYNC_CTXS_READY)
		return -1;	/* a link a peer moved to a free node */
	return (int64_t)p - 1;
}

/* Node @i's byte offset in the tree's file: its lock's, and its handles' fd offset. */
static off_t gosync_ctxs_node_off(uint32_t i)
{
	return GOSYNC_CTXS_OFF_NODES +
	       (off_t)i * (off_t)sizeof(struct gosync_ctxs_node);
}

/* F_OFD_SETLK @type (F_RDLCK, F_WRLCK) on node @i's byte: 0 or -errno. */
static int gosync_ctxs_lock(int fd, uint32_t i, short type)
{
	struct flock l = {
		.l_type = type,
		.l_whence = SEEK_SET,
		.l_start = gosync_ctxs_node_off(i),
		.l_len = 1,
	};

	return fcntl(fd, F_OFD_SETLK, &l) < 0 ? -errno : 0;
}

/*
 * resolve (models/ctxsa.pml): the context's state word, recording in it
 * what an ancestor or a deadline decided if that was not done yet.  Up
 * the chain to the nearest node whose word is set (or the root); then
 * down again, each unset node getting the earliest of what is above it
 * and its own passed deadline, by a CAS (a lost one adopts the winner):
 * a child inherits its parent's answer, as Go's propagation gives it.
 */
static uint64_t gosync_ctxs_resolve(const struct gosync_ctx *ctx)
{
	struct gosync_ctxs_node *nodes = gosync_ctxs_nodes(ctx);
	uint64_t s = __atomic_load_n(&nodes[ctx->node].state, __ATOMIC_ACQUIRE);
	uint32_t chain[GOSYNC_CTXS_DEPTH_MAX];
	uint64_t best = 0;
	int64_t now, i = ctx->node;
	int d = 0;

	if (s)
		return s;
	/*
	 * [CTXS-C] The clock before the ancestors' words (the vDSO's read
	 * is ordered: rdtsc_ordered): a cancel that returned before a
	 * deadline is seen, and wins, by any look that finds it passed.
	 * No deadline here, none above (a child's is capped at its
	 * parent's): no clock, and none passed (-1).
	 */
	now = ctx->deadline != GOSYNC_FOREVER ? gosync_now() : -1;
	chain[d++] = ctx->node;
	while (d < GOSYNC_CTXS_DEPTH_MAX) {
		i = gosync_ctxs_parent(ctx, (uint32_t)i);
		if (i < 0)
			break;
		/* Acquire: pairs with the CAS that set it (seq_cst). */
		best = __atomic_load_n(&nodes[i].state, __ATOMIC_ACQUIRE);
		if (best)
			break;
		chain[d++] = (uint32_t)i;
	}
	while (d--) {
		struct gosync_ctxs_node *n = &nodes[chain[d]];
		/* Ours is the handle's copy; the others', one load each. */
		int64_t dl = !d ? ctx->deadline :
			     __atomic_load_n(&n->deadline, __ATOMIC_RELAXED);
		uint64_t cur = 0;

		/* A tie in the microsecond goes to the cancel above. */
		if (dl >= 0 && dl != GOSYNC_FOREVER && now >= dl &&
		    (!best || (uint64_t)dl / 1000 < GOSYNC_CTXS_TIME(best)))
			best = GOSYNC_CTXS_STATE(GOSYNC_CTXS_ERR_TIMEDOUT,
						 ETIMEDOUT, dl);
		if (!best)
			continue;
		/* The first look that records decides. */
		if (!__atomic_compare_exchange_n(&n->state, &cur, best, false,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_ACQUIRE))
			best = cur;
	}
	return best;
}

/* A state word's error (ECANCELED, ETIMEDOUT) and cause; any other set word is ECANCELED. */
static int gosync_ctxs_decode(uint64_t s, int *cause)
{
	int err = (s & 3) == GOSYNC_CTXS_ERR_TIMEDOUT ? ETIMEDOUT : ECANCELED;
	int c = (int)(s >> 2 & 0xfff);

	if (cause)
		*cause = !s ? 0 : c ? c : err;
	return s ? err : 0;
}

static int gosync_ctxs_cancel(struct gosync_ctx *ctx, int cause)
{
	struct gosync_ctxs_node *n = &gosync_ctxs_nodes(ctx)[ctx->node];
	uint64_t zero = 0, s;

	/* Done already, by itself, an ancestor or the deadline: 0. */
	if (gosync_ctxs_resolve(ctx))
		return 0;
	s = GOSYNC_CTXS_STATE(GOSYNC_CTXS_ERR_CANCELED, cause ? cause : ECANCELED,
			      gosync_now());
	if (!__atomic_compare_exchange_n(&n->state, &zero, s, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return 0;
	gosync_step(GOSYNC_STEP_CTX_CANCELLED);
	gosync_wait_wake_if_armed(&ctx->tree->wait);		/* CTXS-E */
	return 0;
}

int64_t gosync_ctx_wake_by(const struct gosync_ctx *ctx)
{
	int64_t by = gosync_after(GOSYNC_SYNC_POLL_NS);

	return ctx->deadline < by ? ctx->deadline : by;
}

/* ------------------------------------------------------------ mapping -- */

/* Map the page read-only: the kernel refuses PROT_WRITE (EACCES). */
static int gosync_ctx_map(void *arg)
{
	struct gosync_ctx *ctx = arg;
	void *base = mmap(NULL, ctx->map_size, PROT_READ, MAP_SHARED,
			  ctx->fd, 0);

	if (base == MAP_FAILED)
		return -errno;
	ctx->base = base;
	ctx->words = (const struct gosync_ctx_words *)
		     ((const unsigned char *)base + ctx->off_words);
	return 0;
}

/* The words if they are mapped for this process as they are, else NULL. */
static inline const struct gosync_ctx_words *
gosync_ctx_words_ready(const struct gosync_ctx *ctx)
{
	if (__atomic_load_n(&ctx->gen, __ATOMIC_ACQUIRE) ==
	    __atomic_load_n(&gosync_fork_gen, __ATOMIC_ACQUIRE))
		return ctx->words;
	return NULL;
}

/*
 * The state (0, ECANCELED, ETIMEDOUT) and, if @cause, the cause (0 while
 * live) from the words.
 */
static inline int gosync_ctx_load(const struct gosync_ctx_words *w,
				  int *cause)
{
	/*
	 * [CTX-B]: pairs with [CTX-A] in gosync_ctx_publish(), kmod/ctx.c:
	 * the cause is stored before the state's release, so a state seen
	 * set here has its cause with it.
	 */
	int state = (int)__atomic_load_n(&w->state, __ATOMIC_ACQUIRE);

	if (cause)
		*cause = state ? __atomic_load_n(&w->cause, __ATOMIC_RELAXED) :
				 0;
	return state;
}

/*
 * The state and cause when the words are not mapped for this process:
 * after a fork, map them again (the handle's mapping is its own cache,
 * hence the cast); if that fails, ask the kernel.  0 or -errno.
 */
static __attribute__((noinline)) int
gosync_ctx_read_slow(const struct gosync_ctx *ctx, int *state, int *cause)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_ctx *c = (struct gosync_ctx *)ctx;
	struct gosync_ctx_info info;

	if (!ctx)
		return -EINVAL;
	if (!gosync_fork_remap(&c->gen, gosync_ctx_map, c)) {
		*state = gosync_ctx_load(c->words, cause);
		return 0;
	}
	/* No barrier: the ioctl reads both under the kernel's lock. */
	memset(&info, 0, sizeof(info));
	if (ioctl(ctx->fd, GOSYNC_CTX_IOC_INFO, &info) < 0)
		return -errno;
	*state = (int)info.state;
	*cause = info.cause;
	return 0;
}

/* ------------------------------------------------------ state, cancel -- */

/* The fast paths call nothing (errno stays): the slow half keeps it. */
int gosync_ctx_err(const struct gosync_ctx *ctx)
{
	const struct gosync_ctx_words *w = ctx ? gosync_ctx_words_ready(ctx) :
						 NULL;
	int state, cause, ret;

	if (w)
		return -gosync_ctx_load(w, NULL);
	if (ctx && ctx->tree)
		return -gosync_ctxs_decode(gosync_ctxs_resolve(ctx), NULL);
	ret = gosync_ctx_read_slow(ctx, &state, &cause);
	return ret ? ret : -state;
}

int gosync_ctx_cause(const struct gosync_ctx *ctx)
{
	const struct gosync_ctx_words *w = ctx ? gosync_ctx_words_ready(ctx) :
						 NULL;
	int state, cause, ret;

	if (w) {
		gosync_ctx_load(w, &cause);
		return cause;
	}
	if (ctx && ctx->tree) {
		gosync_ctxs_decode(gosync_ctxs_resolve(ctx), &cause);
		return cause;
	}
	ret = gosync_ctx_read_slow(ctx, &state, &cause);
	return ret ? ret : cause;
}

int64_t gosync_ctx_deadline(const struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;

	return ctx ? ctx->deadline : -EINVAL;
}

int gosync_ctx_cancel(struct gosync_ctx *ctx, int cause)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_ctx_cancel req;

	if (!ctx || cause < 0 || cause > GOSYNC_CTX_CAUSE_MAX)
		return -EINVAL;
	if (ctx->tree)
		return gosync_ctxs_cancel(ctx, cause);
	memset(&req, 0, sizeof(req));
	req.cause = cause;
	/* EALREADY: done before, by whatever came first; its cause stays. */
	if (ioctl(ctx->fd, GOSYNC_CTX_IOC_CANCEL, &req) < 0 &&
	    errno != EALREADY)
		return -errno;
	return 0;
}

/*
 * The done channel into *@chp: asked for once, on first use; of racing
 * first callers one installs its channel and the others free theirs.
 * 0 or -errno (no fd, no memory).
 */
static int gosync_ctx_done_get(struct gosync_ctx *ctx, struct gosync_chan **chp)
{
	struct gosync_chan *ch, *cur = NULL;
	struct gosync_ctx_done req;
	int fd, ret;

	ch = __atomic_load_n(&ctx->done, __ATOMIC_ACQUIRE);
	if (ch) {
		*chp = ch;
		return 0;
	}
	if (ctx->tree) {
		/* The process's own, on the tree's wait words (CTXS-F). */
		ret = gosync_chan_make_done(&ch, &ctx->tree->wait, ctx);
		if (ret)
			return ret;
		goto install;
	}
	memset(&req, 0, sizeof(req));
	/* The library's own fd: another process asks for its own. */
	req.flags = GOSYNC_CTX_CLOEXEC;
	fd = ioctl(ctx->fd, GOSYNC_CTX_IOC_DONE, &req);
	if (fd < 0)
		return -errno;
	/* A receive-only end: adopted unmapped (GOSYNC_RECV_ONLY, NOMAP). */
	ret = gosync_chan_adopt(&ch, fd, 0);
	if (ret)
		return ret;
install:
	/*
	 * Acq_rel: the handle made here is published whole; pairs with the
	 * acquire load above (a thread that finds it there uses it).
	 */
	if (!__atomic_compare_exchange_n(&ctx->done, &cur, ch, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		gosync_chan_free(ch);
		ch = cur;
	}
	*chp = ch;
	return 0;
}

struct gosync_chan *gosync_ctx_done(struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_chan *ch;

	return ctx && !gosync_ctx_done_get(ctx, &ch) ? ch : NULL;
}

/* ------------------------------------------------- waits with a context -- */

/*
 * Wait for case @c or for @ctx to be done, whichever comes first (the
 * context's deadline is the kernel's timer, or, standalone, the done
 * case's own bound in the select: no deadline here): 0 with
 * *@c as the select left it, the context's error, or the select's.  A
 * context done already wins before anything is tried, as Go's
 * "if err := ctx.Err(); err != nil" first; when both become ready
 * together either may win, as in Go.
 */
static int gosync_ctx_wait(struct gosync_case *c, struct gosync_ctx *ctx)
{
	struct gosync_case cases[2];
	struct gosync_chan *done;
	int ret = gosync_ctx_err(ctx);

	if (ret)
		return ret;
	ret = gosync_ctx_done_get(ctx, &done);
	if (ret)
		return ret;
	cases[0] = *c;
	cases[1] = (struct gosync_case){ .ch = done, .op = GOSYNC_RECV,
					 .fd = -1 };
	ret = gosync_select(cases, 2, GOSYNC_FOREVER);
	if (ret == 1) {
		/* Closed after the state was set (CTX-A, then the close). */
		ret = gosync_ctx_err(ctx);
		return ret ? ret : -ECANCELED;
	}
	if (ret == 0)
		*c = cases[0];
	return ret < 0 ? ret : 0;
}

int gosync_chan_recv_ctx(struct gosync_chan *ch, void *elem,
			 struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_case c = { .ch = ch, .op = GOSYNC_RECV, .elem = elem,
				 .fd = -1 };
	int ret;

	if (!ch || !ctx)
		return -EINVAL;
	/* (a select cannot mix a standalone channel with a kernel one) */
	if (gosync_chan_is_standalone(ch) != !!ctx->tree)
		return -EOPNOTSUPP;
	ret = gosync_ctx_wait(&c, ctx);
	return ret ? ret : c.ok;
}

int gosync_chan_send_ctx(struct gosync_chan *ch, const void *elem,
			 struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_case c = { .ch = ch, .op = GOSYNC_SEND,
				 .elem = (void *)elem, .fd = -1 };

	if (!ch || !ctx)
		return -EINVAL;
	if (gosync_chan_is_standalone(ch) != !!ctx->tree)
		return -EOPNOTSUPP;
	return gosync_ctx_wait(&c, ctx);
}

/*
 * A waitgroup's fd is readable once its counter is zero (the module's
 * poll arms it): that, against the done channel, until a look at the
 * counter says zero.  A standalone waitgroup has no such fd.
 */
int gosync_wg_wait_ctx(struct gosync_wg *wg, struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;
	int ret;

	if (!wg || !ctx)
		return -EINVAL;
	if (((struct gosync_sync *)wg)->flags & GOSYNC_STANDALONE || ctx->tree)
		return -EOPNOTSUPP;
	/* A context done already wins, as in the other waits. */
	ret = gosync_ctx_err(ctx);
	if (ret)
		return ret;
	for (;;) {
		struct gosync_case c = { .op = GOSYNC_FDREADY,
					 .fd = gosync_wg_fd(wg),
					 .events = POLLIN };

		ret = gosync_wg_wait(wg, GOSYNC_NONBLOCK);
		if (ret != -EAGAIN)
			return ret;
		ret = gosync_ctx_wait(&c, ctx);
		if (ret)
			return ret;
	}
}

/* ------------------------------------------------------ making, fds -- */

/* Standalone trees (below). */
static bool gosync_ctxs_is_tree(int fd);
static int gosync_ctxs_adopt_copy(struct gosync_ctx **ctxp, int own);
static int gosync_ctxs_adopt(struct gosync_ctx **ctxp, int own);
static int gosync_ctxs_create(struct gosync_ctx **ctxp,
			      struct gosync_ctx *parent,
			      const struct gosync_ctx_create *req,
			      unsigned int flags);
static int gosync_ctxs_value(const struct gosync_ctx *ctx, const char *key,
			     size_t klen, void *buf, size_t *len);

/*
 * Can contexts exist here, for a call with @flags?  0 where the module
 * makes them; -EOPNOTSUPP for GOSYNC_STANDALONE (not the kernel's: the
 * caller asks only about the kernel), without the module or with one
 * that has none;
 * another -errno when the device cannot be opened.
 */
static int gosync_ctx_kernel(unsigned int flags)
{
	int64_t f;

	if (flags & GOSYNC_STANDALONE)
		return -EOPNOTSUPP;
	f = gosync_dev_features();
	if (f == -ENODEV || (f >= 0 && !(f & GOSYNC_FEAT_CTX)))
		return -EOPNOTSUPP;
	return f < 0 ? (int)f : 0;
}

void gosync_ctx_free(struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;

	if (!ctx)
		return;
	gosync_chan_free(ctx->done);
	/* A mapping from before a fork is not in this process. */
	if (ctx->base && (ctx->tree || ctx->gen == gosync_fork_generation()))
		munmap(ctx->base, ctx->map_size);
	close(ctx->fd);
	free(ctx);
}

/* A page the library can use: the words inside it, the header a context's. */
static bool gosync_ctx_layout_ok(const struct gosync_ctx_info *info)
{
	return info->off_words >= sizeof(struct gosync_sync_header) &&
	       !(info->off_words % sizeof(uint64_t)) &&
	       info->off_words <= info->map_size &&
	       info->map_size - info->off_words >=
	       sizeof(struct gosync_ctx_words) &&
	       info->off_values <= info->map_size &&
	       info->values_len <= info->map_size - info->off_values;
}

static bool gosync_ctx_header_ok(const struct gosync_ctx *ctx)
{
	const struct gosync_sync_header *hdr = ctx->base;

	/* No barrier: the kernel wrote it before the fd existed. */
	return hdr->magic == GOSYNC_SYNC_MAGIC &&
	       hdr->abi_version == GOSYNC_ABI_VERSION &&
	       hdr->kind == GOSYNC_KIND_CTX;
}

/*
 * Make a handle of @own, which it then owns (closed on failure): a
 * context (it answers GOSYNC_CTX_IOC_INFO), mapped, or a standalone
 * tree's file.  Anything else is another kind (-EINVAL, as the other
 * kinds' from_fd say).
 */
static int gosync_ctx_adopt(struct gosync_ctx **ctxp, int own)
{
	struct gosync_ctx_info info;
	struct gosync_ctx *ctx;
	int ret;

	memset(&info, 0, sizeof(info));
	ret = ioctl(own, GOSYNC_CTX_IOC_INFO, &info) < 0 ? -errno : 0;
	/* Not the module's: a standalone tree's file, if it is one. */
	if (ret == -ENOTTY && gosync_ctxs_is_tree(own))
		return gosync_ctxs_adopt_copy(ctxp, own);
	/* Another kind, or no gosync object: not a context, in any mode. */
	if (ret == -ENOTTY)
		ret = -EINVAL;
	else if (!ret && !gosync_ctx_layout_ok(&info))
		ret = -EINVAL;
	if (ret) {
		close(own);
		return ret;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		close(own);
		return -ENOMEM;
	}
	ctx->fd = own;
	ctx->deadline = info.deadline_ns;
	ctx->map_size = info.map_size;
	ctx->off_words = info.off_words;
	ctx->off_values = info.off_values;
	ctx->values_len = info.values_len;
	/* No generation yet: the first gosync_fork_remap() maps it. */
	ctx->gen = ~0UL;
	gosync_fork_watch();
	ret = gosync_fork_remap(&ctx->gen, gosync_ctx_map, ctx);
	if (!ret && !gosync_ctx_header_ok(ctx))
		ret = -EINVAL;
	if (ret) {
		gosync_ctx_free(ctx);
		return ret;
	}
	*ctxp = ctx;
	return 0;
}

/*
 * A context under @parent (NULL: a root) with @req's deadline and value:
 * in @parent's mode, or for a root GOSYNC_STANDALONE's; in kernel mode
 * GOSYNC_IOC_CTX_CREATE.
 */
static int gosync_ctx_create(struct gosync_ctx **ctxp,
			     struct gosync_ctx *parent,
			     struct gosync_ctx_create *req, unsigned int flags)
{
	int dev, fd, ret;

	if (!ctxp || flags & ~GOSYNC_CTX_MAKE_FLAGS || req->deadline_ns < 0)
		return -EINVAL;
	if (parent && !parent->tree && flags & GOSYNC_STANDALONE)
		return -EINVAL;		/* a child is in its parent's mode */
	if (parent ? !!parent->tree : !!(flags & GOSYNC_STANDALONE)) {
		if (flags & GOSYNC_CTX_CANCEL_ON_EXIT)
			return -EOPNOTSUPP;	/* only the kernel sees exits */
		return gosync_ctxs_create(ctxp, parent, req, flags);
	}
	req->parent = parent ? parent->fd : -1;
	ret = gosync_ctx_kernel(flags);
	if (ret)
		return ret;
	dev = gosync_dev_fd();
	if (dev < 0)
		return dev;
	req->flags = (flags & GOSYNC_CTX_CANCEL_ON_EXIT) |
		     (flags & GOSYNC_CLOEXEC ? GOSYNC_CTX_CLOEXEC : 0);
	fd = ioctl(dev, GOSYNC_IOC_CTX_CREATE, req);
	if (fd < 0)
		return -errno;
	return gosync_ctx_adopt(ctxp, fd);
}

int gosync_ctx_with_deadline(struct gosync_ctx **ctxp,
			     struct gosync_ctx *parent, int64_t deadline_ns,
			     unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_ctx_create req;

	memset(&req, 0, sizeof(req));
	req.deadline_ns = deadline_ns;
	return gosync_ctx_create(ctxp, parent, &req, flags);
}

int gosync_ctx_with_value(struct gosync_ctx **ctxp, struct gosync_ctx *parent,
			  const char *key, const void *val, size_t len)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_ctx_create req;
	size_t klen = key ? strlen(key) : 0;

	if (!parent || !klen || klen > GOSYNC_CTX_KEY_MAX ||
	    len > GOSYNC_CTX_VAL_MAX || (len && !val))
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	req.deadline_ns = GOSYNC_DEADLINE_FOREVER;
	req.key = (uintptr_t)key;
	req.key_len = (uint32_t)klen;
	req.val = len ? (uintptr_t)val : 0;
	req.val_len = (uint32_t)len;
	/* No flags of its own: close-on-exec when its parent's fd is. */
	return gosync_ctx_create(ctxp, parent, &req,
				 fcntl(parent->fd, F_GETFD) > 0 ? GOSYNC_CLOEXEC : 0);
}

/* A found value into @buf: -ERANGE with *@len set if it does not fit. */
static int gosync_ctx_value_out(const unsigned char *found, size_t flen,
				void *buf, size_t *len)
{
	if (flen > *len) {
		*len = flen;
		return -ERANGE;
	}
	if (flen)	/* an empty value: @buf may be NULL */
		memcpy(buf, found, flen);
	*len = flen;
	return 0;
}

/*
 * The value under @key: the last record with it (a child's shadows its
 * ancestors').  The records were written before the context's fd existed
 * and never change: no barrier.  Bounded by what INFO said at adoption;
 * a record that runs past it ends the walk.
 */
int gosync_ctx_value(const struct gosync_ctx *ctx, const char *key, void *buf,
		     size_t *len)
{
	GOSYNC_KEEP_ERRNO;
	const unsigned char *p, *found = NULL;
	size_t klen = key ? strlen(key) : 0, off = 0, flen = 0;
	int ret;

	if (!ctx || !klen || !len || (*len && !buf))
		return -EINVAL;
	if (ctx->tree)
		return gosync_ctxs_value(ctx, key, klen, buf, len);
	if (!gosync_ctx_words_ready(ctx)) {
		/* after a fork: map the page again first (its error, if any) */
		ret = gosync_fork_remap(&((struct gosync_ctx *)ctx)->gen,
					gosync_ctx_map, (void *)ctx);
		if (ret)
			return ret;
	}
	p = (const unsigned char *)ctx->base + ctx->off_values;
	while (off < ctx->values_len &&
	       ctx->values_len - off >= sizeof(struct gosync_ctx_value)) {
		struct gosync_ctx_value r;
		size_t size;

		memcpy(&r, p + off, sizeof(r));
		size = sizeof(r) + r.key_len + r.val_len;
		if (size > ctx->values_len - off)
			break;
		if (r.key_len == klen && !memcmp(p + off + sizeof(r), key, klen)) {
			found = p + off + sizeof(r) + klen;
			flen = r.val_len;
		}
		off += (size + 3) & ~(size_t)3;
	}
	if (!found)
		return -ENOENT;
	return gosync_ctx_value_out(found, flen, buf, len);
}

/* ------------------------------------------------ standalone making -- */

/*
 * The tree's file: a sealed tmpfs file of our size, with our header (a
 * library with another node layout has another size: not a tree here).
 */
static bool gosync_ctxs_is_tree(int fd)
{
	struct gosync_ctxs_tree hdr;
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size != (off_t)GOSYNC_CTXS_SIZE || !gosync_shm_seals_ok(fd) ||
	    pread(fd, &hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		return false;
	return hdr.hdr.magic == GOSYNC_SYNC_MAGIC &&
	       hdr.hdr.kind == GOSYNC_KIND_CTX &&
	       hdr.hdr.flags & GOSYNC_SYNC_HDR_STANDALONE;
}

/*
 * Make a handle of @own, a tree's file whose offset is a node's (closed
 * on failure): mapped, checked.  -EINVAL for anything else.
 */
static int gosync_ctxs_adopt(struct gosync_ctx **ctxp, int own)
{
	const size_t nsize = sizeof(struct gosync_ctxs_node);
	off_t off = lseek(own, 0, SEEK_CUR);
	struct gosync_ctxs_node *n;
	struct gosync_ctx *ctx;
	int ret = -EINVAL;

	if (off < GOSYNC_CTXS_OFF_NODES ||
	    off >= (off_t)(GOSYNC_CTXS_OFF_NODES + GOSYNC_CTXS_NODES * nsize) ||
	    (off - GOSYNC_CTXS_OFF_NODES) % nsize) {
		close(own);
		return -EINVAL;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		close(own);
		return -ENOMEM;
	}
	ctx->fd = own;
	ctx->map_size = GOSYNC_CTXS_SIZE;
	ctx->base = mmap(NULL, ctx->map_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, own, 0);
	if (ctx->base == MAP_FAILED) {
		ret = -errno;
		ctx->base = NULL;
		goto fail;
	}
	ctx->tree = ctx->base;
	ctx->nodes_max = GOSYNC_CTXS_NODES;
	ctx->values_max = GOSYNC_CTXS_VALUES;
	ctx->node = (uint32_t)((off - GOSYNC_CTXS_OFF_NODES) / nsize);
	n = &gosync_ctxs_nodes(ctx)[ctx->node];
	/*
	 * The description is the handle's own (made, or from_fd's copy):
	 * its node's read lock first, so that what is checked below stays
	 * (a held node is not made anew; its ancestors are held by their
	 * children counts).
	 */
	ret = gosync_ctxs_lock(own, ctx->node, F_RDLCK);
	if (ret)
		goto fail;
	ret = -EINVAL;
	/* magic, ready: acquire, pair with their creators' releases. */
	if (__atomic_load_n(&ctx->tree->hdr.magic, __ATOMIC_ACQUIRE) !=
	    GOSYNC_SYNC_MAGIC || ctx->tree->hdr.abi_version != GOSYNC_ABI_VERSION ||
	    __atomic_load_n(&n->ready, __ATOMIC_ACQUIRE) != GOSYNC_CTXS_READY)
		goto fail;
	ctx->deadline = __atomic_load_n(&n->deadline, __ATOMIC_RELAXED);
	if (ctx->deadline < 0)
		goto fail;
	*ctxp = ctx;
	return 0;
fail:
	gosync_ctx_free(ctx);
	return ret;
}

/*
 * The tree's file opened anew through @fd (a description of its own, at
 * offset 0): through /proc, so without /proc no child can be made and
 * no fd adopted (-ENOENT).  An fd, or -errno.
 */
static int gosync_ctxs_reopen(int fd, unsigned int flags)
{
	char path[32];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, O_RDWR | (flags & GOSYNC_CLOEXEC ? O_CLOEXEC : 0));
	return nfd < 0 ? -errno : nfd;
}

/*
 * from_fd: a description of the handle's own (the file opened again,
 * at @own's offset), so that its one lock is the handle's and goes with
 * it, whatever becomes of the caller's.  @own is closed.
 */
static int gosync_ctxs_adopt_copy(struct gosync_ctx **ctxp, int own)
{
	off_t off = lseek(own, 0, SEEK_CUR);
	int fdfl = fcntl(own, F_GETFD);
	int fd = gosync_ctxs_reopen(own, fdfl > 0 && fdfl & FD_CLOEXEC ?
					 GOSYNC_CLOEXEC : 0);

	close(own);
	if (fd < 0)
		return fd;
	if (off < 0 || lseek(fd, off, SEEK_SET) < 0) {
		close(fd);
		return -EINVAL;
	}
	return gosync_ctxs_adopt(ctxp, fd);
}

/* Claim @n of the counter @used, at most @max: the first, or -ENOSPC. */
static int64_t gosync_ctxs_claim(uint32_t *used, uint32_t n, uint32_t max)
{
	uint32_t cur = __atomic_load_n(used, __ATOMIC_RELAXED);

	/* Bounded: every failed CAS is another claim's success. */
	for (uint32_t tries = 0; tries < max + 1; tries++) {
		if (cur > max || n > max - cur)
			return -ENOSPC;
		if (__atomic_compare_exchange_n(used, &cur, cur + n, false,
						__ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return cur;
	}
	return -ENOSPC;
}

/*
 * Node @i for @fd if its write lock is ours and nothing hangs under it:
 * 0, -EAGAIN (in use: try another), or another -errno of F_OFD_SETLK.
 */
static int gosync_ctxs_take(const struct gosync_ctx *parent, int fd, uint32_t i)
{
	struct gosync_ctxs_node *n = &gosync_ctxs_nodes(parent)[i];
	int ret = gosync_ctxs_lock(fd, i, F_WRLCK);

	if (ret == -EACCES)
		ret = -EAGAIN;
	if (ret)
		return ret;
	/* Nobody can attach under it now: only a holder makes children. */
	if (__atomic_load_n(&n->children, __ATOMIC_ACQUIRE)) {
		gosync_ctxs_lock(fd, i, F_UNLCK);
		return -EAGAIN;
	}
	return 0;
}

/*
 * A node for the new description @fd, write-locked by it and free: a
 * fresh one from the counter, or, once all were handed out, one no
 * description holds and none hangs under, from the cursor on, over the
 * whole tree if need be (models/ctxslot.pml).  Its index, or -ENOSPC
 * (every node in use), or another -errno of F_OFD_SETLK.
 */
static int64_t gosync_ctxs_claim_node(const struct gosync_ctx *parent, int fd)
{
	struct gosync_ctxs_tree *t = parent->tree;
	struct gosync_ctxs_node *nodes = gosync_ctxs_nodes(parent);
	uint32_t start;
	int64_t i;
	int ret;

	/* Fresh ones: a scan may take one first (then its lock fails). */
	for (uint32_t k = 0; k < parent->nodes_max; k++) {
		i = gosync_ctxs_claim(&t->nodes_used, 1, parent->nodes_max);
		if (i < 0)
			break;
		ret = gosync_ctxs_take(parent, fd, (uint32_t)i);
		if (!ret)
			return i;
		if (ret != -EAGAIN)
			return ret;
	}
	start = __atomic_fetch_add(&t->scan, 1, __ATOMIC_RELAXED);
	for (uint32_t k = 0; k < parent->nodes_max; k++) {
		i = (start + k) % parent->nodes_max;
		/* An ancestor of someone: not worth a system call. */
		if (__atomic_load_n(&nodes[i].children, __ATOMIC_RELAXED))
			continue;
		ret = gosync_ctxs_take(parent, fd, (uint32_t)i);
		if (!ret) {
			__atomic_store_n(&t->scan, (uint32_t)i + 1,
					 __ATOMIC_RELAXED);
			return i;
		}
		if (ret != -EAGAIN)
			return ret;
	}
	return -ENOSPC;
}

/* One count less under node @q (never below 0, whatever a peer wrote). */
static void gosync_ctxs_uncount(const struct gosync_ctx *ctx, uint32_t q)
{
	uint32_t *c = &gosync_ctxs_nodes(ctx)[q].children;
	uint32_t v = __atomic_load_n(c, __ATOMIC_RELAXED);

	while (v && !__atomic_compare_exchange_n(c, &v, v - 1, false,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_RELAXED))
		;	/* bounded by the other holders' count changes */
}

/*
 * Node @i (ours, write-locked) leaves its old parent and hangs under
 * @p: detach by a CAS on the link (only its winner uncounts: a claimant
 * killed after its CAS leaves nothing to do twice), then count in
 * under @p before linking to it (killed in between: @p is counted once
 * too often and never reused, the safe side).
 */
static void gosync_ctxs_attach(const struct gosync_ctx *parent, uint32_t i,
			       uint32_t p)
{
	struct gosync_ctxs_node *nodes = gosync_ctxs_nodes(parent);
	uint32_t old = __atomic_load_n(&nodes[i].parent, __ATOMIC_RELAXED);

	if (old && __atomic_compare_exchange_n(&nodes[i].parent, &old, 0, false,
					       __ATOMIC_SEQ_CST,
					       __ATOMIC_RELAXED) &&
	    old - 1 < parent->nodes_max && old - 1 != i)
		gosync_ctxs_uncount(parent, old - 1);
	__atomic_fetch_add(&nodes[p].children, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&nodes[i].parent, p + 1, __ATOMIC_SEQ_CST);
}

/* A fresh tree file's header and root node (@req's deadline, no value). */
static int gosync_ctxs_init(int fd, int64_t deadline)
{
	struct gosync_ctxs_tree *t;
	struct gosync_ctxs_node *root;

	t = mmap(NULL, GOSYNC_CTXS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (t == MAP_FAILED)
		return -errno;
	root = (struct gosync_ctxs_node *)((unsigned char *)t +
					   GOSYNC_CTXS_OFF_NODES);
	root->deadline = deadline;
	root->ready = GOSYNC_CTXS_READY;
	t->nodes_max = GOSYNC_CTXS_NODES;
	t->values_max = GOSYNC_CTXS_VALUES;
	t->nodes_used = 1;
	t->hdr.abi_version = GOSYNC_ABI_VERSION;
	t->hdr.kind = GOSYNC_KIND_CTX;
	t->hdr.flags = GOSYNC_SYNC_HDR_STANDALONE;
	/* The magic last: a peer that sees it sees the rest. */
	__atomic_store_n(&t->hdr.magic, GOSYNC_SYNC_MAGIC, __ATOMIC_RELEASE);
	munmap(t, GOSYNC_CTXS_SIZE);
	return 0;
}

/* A handle on node @idx, through @fd (the tree's file, owned: closed on failure). */
static int gosync_ctxs_open_node(struct gosync_ctx **ctxp, int fd, uint32_t idx)
{
	if (lseek(fd, gosync_ctxs_node_off(idx), SEEK_SET) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return gosync_ctxs_adopt(ctxp, fd);
}

static int gosync_ctxs_create(struct gosync_ctx **ctxp,
			      struct gosync_ctx *parent,
			      const struct gosync_ctx_create *req,
			      unsigned int flags)
{
	size_t rec = req->key_len ? sizeof(struct gosync_ctx_value) +
				    req->key_len + req->val_len : 0;
	struct gosync_ctxs_node *pn, *n;
	uint32_t depth, chain;
	int64_t idx, off = 0;
	int fd, ret;

	if (!parent) {
		fd = memfd_create("gosync-ctx", MFD_ALLOW_SEALING |
				  (flags & GOSYNC_CLOEXEC ? MFD_CLOEXEC : 0));
		if (fd < 0)
			return -errno;
		ret = gosync_shm_size(fd, GOSYNC_CTXS_SIZE);
		if (!ret)
			ret = gosync_ctxs_init(fd, req->deadline_ns);
		if (!ret)
			ret = gosync_ctxs_lock(fd, 0, F_RDLCK);
		if (ret) {
			close(fd);
			return ret;
		}
		return gosync_ctxs_open_node(ctxp, fd, 0);
	}
	rec = (rec + 3) & ~(size_t)3;
	pn = &gosync_ctxs_nodes(parent)[parent->node];
	/* The parent's words, once each: a peer may have written them. */
	depth = __atomic_load_n(&pn->depth, __ATOMIC_RELAXED);
	chain = __atomic_load_n(&pn->chain_len, __ATOMIC_RELAXED);
	if (depth >= GOSYNC_CTXS_DEPTH_MAX - 1 ||
	    chain > GOSYNC_CTX_VALUES_MAX || rec > GOSYNC_CTX_VALUES_MAX - chain)
		return -E2BIG;
	/* The fd first: a call that fails for want of one claims nothing. */
	fd = gosync_ctxs_reopen(parent->fd, flags);
	if (fd < 0)
		return fd;
	/* The node is ours alone while @fd holds its write lock. */
	idx = gosync_ctxs_claim_node(parent, fd);
	if (idx < 0) {
		close(fd);
		return (int)idx;
	}
	n = &gosync_ctxs_nodes(parent)[idx];
	__atomic_store_n(&n->ready, 0, __ATOMIC_RELAXED);
	if (rec) {
		struct gosync_ctx_value r = { .key_len = (uint16_t)req->key_len,
					      .val_len = (uint16_t)req->val_len };
		unsigned char *v = n->record;

		off = GOSYNC_CTXS_INLINE;
		if (rec > sizeof(n->record)) {
			/* A long one: the records' space, never reused. */
			off = gosync_ctxs_claim(&parent->tree->values_used,
						(uint32_t)rec, parent->values_max);
			if (off < 0) {
				close(fd);	/* the node's lock goes too */
				return (int)off;
			}
			v = gosync_ctxs_values(parent) + off;
		}
		memcpy(v, &r, sizeof(r));
		memcpy(v + sizeof(r), (const void *)(uintptr_t)req->key,
		       req->key_len);
		if (req->val_len)
			memcpy(v + sizeof(r) + req->key_len,
			       (const void *)(uintptr_t)req->val, req->val_len);
	}
	__atomic_store_n(&n->state, 0, __ATOMIC_RELAXED);
	n->deadline = req->deadline_ns < parent->deadline ? req->deadline_ns :
							    parent->deadline;
	gosync_ctxs_attach(parent, (uint32_t)idx, parent->node);
	n->value_off = (uint32_t)off;
	n->value_len = (uint32_t)rec;
	n->chain_len = chain + (uint32_t)rec;
	n->depth = depth + 1;
	/* Ready last (release): whoever finds it ready sees the node. */
	__atomic_store_n(&n->ready, GOSYNC_CTXS_READY, __ATOMIC_RELEASE);
	/* The write lock becomes the handle's read lock. */
	ret = gosync_ctxs_lock(fd, (uint32_t)idx, F_RDLCK);
	if (ret) {
		close(fd);	/* its lock goes: the node is free */
		return ret;
	}
	return gosync_ctxs_open_node(ctxp, fd, (uint32_t)idx);
}

/* The value record @key of the nearest context on the chain that has one. */
static int gosync_ctxs_value(const struct gosync_ctx *ctx, const char *key,
			     size_t klen, void *buf, size_t *len)
{
	const unsigned char *values = gosync_ctxs_values(ctx);
	int64_t i = ctx->node;

	for (int d = 0; i >= 0 && d < GOSYNC_CTXS_DEPTH_MAX;
	     d++, i = gosync_ctxs_parent(ctx, (uint32_t)i)) {
		const struct gosync_ctxs_node *n = &gosync_ctxs_nodes(ctx)[i];
		uint32_t off = __atomic_load_n(&n->value_off, __ATOMIC_RELAXED);
		uint32_t size = __atomic_load_n(&n->value_len, __ATOMIC_RELAXED);
		const unsigned char *v = n->record;
		struct gosync_ctx_value r;

		if (off == GOSYNC_CTXS_INLINE) {
			if (size > sizeof(n->record))
				continue;
		} else if (off > ctx->values_max ||
			   size > ctx->values_max - off) {
			continue;
		} else {
			v = values + off;
		}
		if (size < sizeof(r))
			continue;
		memcpy(&r, v, sizeof(r));
		if (sizeof(r) + (size_t)r.key_len + r.val_len > size ||
		    r.key_len != klen || memcmp(v + sizeof(r), key, klen))
			continue;
		return gosync_ctx_value_out(v + sizeof(r) + klen, r.val_len,
					    buf, len);
	}
	return -ENOENT;
}

/* By name: a root context in the gosync filesystem (kernel mode only). */
int gosync_ctx_open(struct gosync_ctx **ctxp, const char *name, int oflag,
		    mode_t mode, unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_name_req req = {
		.name = name, .oflag = oflag, .mode = mode,
		.kind = GOSYNC_KIND_CTX, .flags = flags,
	};
	int fd, ret;

	/* A handle reads its page: O_RDONLY (watch) or O_RDWR (and cancel). */
	if (!ctxp || flags & ~GOSYNC_CTX_FD_FLAGS ||
	    (oflag & O_ACCMODE) == O_WRONLY)
		return -EINVAL;
	ret = gosync_ctx_kernel(flags);
	if (ret)
		return ret;
	if (flags & GOSYNC_CLOEXEC)
		req.oflag |= O_CLOEXEC;
	fd = gosync_name_open(&req);
	if (fd < 0)
		return fd;
	return gosync_ctx_adopt(ctxp, fd);
}

int gosync_ctx_make(struct gosync_ctx **ctxp, struct gosync_ctx *parent,
		    unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_ctx_with_deadline(ctxp, parent, GOSYNC_FOREVER, flags);
}

int gosync_ctx_from_fd(struct gosync_ctx **ctxp, int fd, unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;
	int own;

	if (!ctxp || flags & ~GOSYNC_CTX_FD_FLAGS)
		return -EINVAL;
	/* Ours to keep: the caller's fd stays the caller's. */
	own = fcntl(fd, flags & GOSYNC_CLOEXEC ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (own < 0)
		return -errno;
	return gosync_ctx_adopt(ctxp, own);
}

int gosync_ctx_fd(const struct gosync_ctx *ctx)
{
	GOSYNC_KEEP_ERRNO;

	return ctx ? ctx->fd : -EINVAL;
}
