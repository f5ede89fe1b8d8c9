// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: channels.
 *
 * Kernel mode: the channel is a gosync fd; the library maps its ring and
 * runs sends and receives that need not wait on the mapping (the fast
 * path), and asks the kernel for everything that waits.  Standalone mode
 * (GOSYNC_STANDALONE, no module): the same ring in a memfd, waits on
 * futexes in the ring's wait words.
 *
 * Waking (pairs E/F, as in kmod/chan.c; docs/memory-model.md):
 *
 *   waker: publish or free a slot        waiter: store wait->armed = 1
 *          seq_cst fence        [E]              seq_cst fence      [F]
 *          load wait->armed                      try the op again
 *          set: wake                             still blocked: sleep
 *
 * In kernel mode "wake" is GOSYNC_CHAN_IOC_WAKE and the kernel clears
 * armed; in standalone mode the waker clears it, bumps wait->futex and
 * FUTEX_WAKEs it.  A standalone waiter reads wait->futex before its first
 * try, so a wake between that read and FUTEX_WAIT makes the wait return at
 * once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define GOSYNC_CHAN_FD_FLAGS	(GOSYNC_STANDALONE | GOSYNC_CLOEXEC | GOSYNC_NOMAP)
#define GOSYNC_CHAN_MAKE_FLAGS	(GOSYNC_CHAN_FD_FLAGS | GOSYNC_AUTOCLOSE)
/* What gosync_chan_flags() reports of the handle's own flags. */
#define GOSYNC_CHAN_MODE_FLAGS	(GOSYNC_STANDALONE | GOSYNC_NOMAP |	\
				 GOSYNC_SEND_ONLY | GOSYNC_RECV_ONLY |	\
				 GOSYNC_AUTOCLOSE)

static bool gosync_standalone(const struct gosync_chan *ch)
{
	return ch->flags & GOSYNC_STANDALONE;
}

static bool gosync_would_block(int ret)
{
	return ret == -EAGAIN || ret == -EINPROGRESS || ret == -EBUSY;
}

/*
 * A 0-byte element (Go's struct{}) has no bytes: its pointer may be NULL
 * or anything, and is never touched (nor offset: NULL + 0 is undefined).
 */
static bool gosync_elem_ok(const struct gosync_chan *ch, const void *elem)
{
	return elem || !ch->layout.elem_size;
}

static void *gosync_elem_at(const struct gosync_chan *ch, const void *elems,
			    size_t i)
{
	size_t size = ch->layout.elem_size;

	return size ? (unsigned char *)elems + i * size : (void *)elems;
}

/* A receive from a closed, drained channel leaves Go's zero value. */
static void gosync_elem_zero(const struct gosync_chan *ch, void *elem)
{
	if (ch->layout.elem_size)
		memset(elem, 0, ch->layout.elem_size);
}

/* ------------------------------------------------------------ mapping -- */

static int gosync_layout_check(const struct gosync_chan_header *l)
{
	struct gosync_chan_header want;

	/* Ours must be exactly what the shared rule computes. */
	if (gosync_chan_layout(l->elem_size, l->cap, sysconf(_SC_PAGESIZE),
			       &want) ||
	    want.nslots != l->nslots || want.slot_size != l->slot_size ||
	    want.map_size != l->map_size || want.off_tail != l->off_tail ||
	    want.off_head != l->off_head ||
	    want.off_recv_wait != l->off_recv_wait ||
	    want.off_send_wait != l->off_send_wait ||
	    want.off_slots != l->off_slots)
		return -EINVAL;
	return 0;
}

static void gosync_map_set(struct gosync_chan_view *m,
			   const struct gosync_chan_header *l, void *base,
			   uint32_t owner)
{
	unsigned char *b = base;

	m->base = base;
	m->ring.tail = (__u64 *)(b + l->off_tail);
	m->ring.head = (__u64 *)(b + l->off_head);
	m->ring.slots = b + l->off_slots;
	m->ring.nslots = l->nslots;
	m->ring.slot_size = l->slot_size;
	m->ring.elem_size = l->elem_size;
	m->ring.owner = owner;
	m->recv = (struct gosync_wait *)(b + l->off_recv_wait);
	m->send = (struct gosync_wait *)(b + l->off_send_wait);
}

/* Map a kernel channel and learn this mapping's owner id. */
static int gosync_chan_map_kernel(struct gosync_chan *ch)
{
	struct gosync_chan_map req;
	void *base;

	base = mmap(NULL, ch->layout.map_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, ch->fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.addr = (uintptr_t)base;
	if (ioctl(ch->fd, GOSYNC_CHAN_IOC_MAP, &req) < 0) {
		int err = -errno;

		munmap(base, ch->layout.map_size);
		return err;
	}
	gosync_map_set(&ch->map, &ch->layout, base, req.owner);
	return 0;
}

static int gosync_chan_remap(void *arg)
{
	return gosync_chan_map_kernel(arg);
}

struct gosync_chan_view *gosync_chan_mapping(struct gosync_chan *ch, int *err)
{
	if (gosync_standalone(ch))
		return &ch->map;	/* standalone maps survive fork */
	*err = gosync_fork_remap(&ch->gen, gosync_chan_remap, ch);
	return *err ? NULL : &ch->map;
}

/* ------------------------------------------------------------ waking -- */

/* Standalone: wake @w's waiters if one armed it, and disarm it. */
static void gosync_wake_words(struct gosync_wait *w)
{
	/* Cleared first: a waiter that re-arms after this keeps it. */
	if (!__atomic_exchange_n(&w->armed, 0, __ATOMIC_SEQ_CST))
		return;
	__atomic_add_fetch(&w->futex, 1, __ATOMIC_SEQ_CST);
	gosync_futex_wake_all(&w->futex);
}

void gosync_wait_wake_if_armed(struct gosync_wait *w)
{
	gosync_smp_mb();	/* E, matches F */
	if (__atomic_load_n(&w->armed, __ATOMIC_RELAXED))
		gosync_wake_words(w);
}

static void gosync_wake(struct gosync_chan *ch, struct gosync_wait *w,
			unsigned int side)
{
	if (gosync_standalone(ch)) {
		gosync_wake_words(w);
	} else {
		struct gosync_chan_wake req = { .flags = side };

		ioctl(ch->fd, GOSYNC_CHAN_IOC_WAKE, &req);
	}
}

/* After publishing or freeing a slot: wake the side if a waiter armed it. */
static void gosync_wake_if_armed(struct gosync_chan *ch, struct gosync_wait *w,
				 unsigned int side)
{
	gosync_smp_mb();	/* E, matches F */
	if (__atomic_load_n(&w->armed, __ATOMIC_RELAXED))
		gosync_wake(ch, w, side);
}

static void gosync_arm(struct gosync_wait *w)
{
	__atomic_store_n(&w->armed, 1, __ATOMIC_RELAXED);
	gosync_smp_mb();	/* F, matches E */
	gosync_step(GOSYNC_STEP_ARMED);
}

/* ------------------------------------------------------ the operations -- */

struct gosync_op {
	struct gosync_chan *ch;
	struct gosync_chan_view *m;
	void *elem;		/* send: the source; recv: the destination */
	uint32_t state;		/* send: GOSYNC_SLOT_FULL or _SYNC */
	__u64 pos;		/* send: where the element went */
	bool nonblock;		/* sync send: only to a blocked receiver */
	uint32_t self;		/* of the blocked receivers, ours (a select) */
};

/* Is a receiver other than the caller's own blocked (standalone count)? */
static bool gosync_other_receivers(struct gosync_op *op)
{
	return __atomic_load_n(&op->m->recv->waiters, __ATOMIC_SEQ_CST) >
	       op->self;
}

typedef int (*gosync_try_fn)(struct gosync_op *op);

static int gosync_try_send(struct gosync_op *op)
{
	struct gosync_chan_view *m = op->m;
	int ret = gosync_ring_try_send(&m->ring, op->elem, op->state, &op->pos);

	if (!ret) {
		gosync_step(GOSYNC_STEP_SEND_DONE);
		gosync_wake_if_armed(op->ch, m->recv, GOSYNC_WAKE_RECV);
	}
	else if (op->nonblock && gosync_would_block(ret) &&
		 !gosync_other_receivers(op))
		ret = -ENOMSG;
	return ret;
}

static int gosync_try_recv(struct gosync_op *op)
{
	struct gosync_chan_view *m = op->m;
	int freed = 0;
	int ret = gosync_ring_try_recv(&m->ring, op->elem, &freed);

	if (freed) {
		gosync_step(GOSYNC_STEP_RECV_DONE);
		gosync_wake_if_armed(op->ch, m->send, GOSYNC_WAKE_SEND);
	}
	return ret;
}

static int gosync_try_delivered(struct gosync_op *op)
{
	struct gosync_chan_view *m = op->m;

	if (gosync_ring_delivered(&m->ring, op->pos))
		return 0;
	if (gosync_ring_closed(&m->ring))
		return -EPIPE;
	if (op->nonblock && !gosync_other_receivers(op))
		return -ENOMSG;
	return -EAGAIN;
}

/*
 * A standalone receiver starts or stops blocking.  Senders care: a
 * non-blocking sync send waits only while receivers wait; and on an
 * unbuffered channel a new receiver is room.
 */
static void gosync_recv_waiters_add(struct gosync_op *op, int delta)
{
	__atomic_add_fetch(&op->m->recv->waiters, delta, __ATOMIC_SEQ_CST);
	if (delta < 0 || !op->ch->layout.cap)
		gosync_wake_if_armed(op->ch, op->m->send, GOSYNC_WAKE_SEND);
}

/*
 * Before waiting, spin: retry @try a bounded number of times.  The peer
 * on the other CPU is often about to publish (or free) the very slot we
 * need, and a few hundred nanoseconds of spinning save a sleep, a wake
 * and two context switches (gosync_spin_iters(), GOSYNC_SPIN).
 */
static int gosync_spin(struct gosync_op *op, gosync_try_fn try, int ret,
		       int64_t deadline)
{
	for (int i = gosync_spin_iters();
	     gosync_would_block(ret) && gosync_spin_on(i, deadline); i--) {
		gosync_cpu_relax();
		ret = try(op);
	}
	return ret;
}

/*
 * Try @try once; when it would block, arm @w and try again (F), so the
 * next event wakes a poller.  For GOSYNC_NONBLOCK, in both modes.
 */
static int gosync_try_armed(struct gosync_op *op, struct gosync_wait *w,
			    gosync_try_fn try)
{
	int ret = try(op);

	if (!gosync_would_block(ret))
		return ret;
	gosync_arm(w);						/* F */
	ret = try(op);
	return gosync_would_block(ret) ? -EAGAIN : ret;
}

/*
 * Standalone: retry @try until it stops saying "would block", sleeping on
 * @w's futex in between, until the deadline or a signal.  Counted among
 * @w's waiters from the first sleep to the end, every retry included: a
 * receiver woken by a non-blocking sync send must still count when that
 * send looks for receivers (gosync_try_delivered), or the send gives up
 * on a receiver that is about to take its element (models/handoff.pml,
 * MUT_LEAVE_BEFORE_RETRY).
 */
static int gosync_wait(struct gosync_op *op, struct gosync_wait *w,
		       int64_t deadline, gosync_try_fn try)
{
	bool recv_side = w == op->m->recv, counted = false;
	int ret;

	for (;;) {
		uint32_t ev = __atomic_load_n(&w->futex, __ATOMIC_ACQUIRE);
		int64_t until = deadline;

		ret = try(op);
		if (!gosync_would_block(ret))
			break;
		if (deadline == GOSYNC_NONBLOCK) {
			ret = gosync_try_armed(op, w, try);
			break;
		}
		if (gosync_deadline_passed(deadline)) {
			ret = -ETIMEDOUT;
			break;
		}
		if (!counted) {
			if (recv_side)
				gosync_recv_waiters_add(op, 1);
			else
				__atomic_add_fetch(&w->waiters, 1, __ATOMIC_SEQ_CST);
			counted = true;
		}
		gosync_arm(w);					/* F */
		ret = try(op);
		if (!gosync_would_block(ret))
			break;
		/* Contention, not emptiness: nobody will wake us. */
		if (ret == -EBUSY)
			until = gosync_after(100000) < deadline ?
				gosync_after(100000) : deadline;
		if (gosync_futex_wait(&w->futex, ev, until) == -EINTR) {
			ret = -EINTR;
			break;
		}
	}
	if (counted) {
		if (recv_side)
			gosync_recv_waiters_add(op, -1);
		else
			__atomic_sub_fetch(&w->waiters, 1, __ATOMIC_SEQ_CST);
	}
	return ret;
}

static int gosync_kernel_xfer(struct gosync_chan *ch, unsigned long cmd,
			      void *elems, size_t n, int64_t deadline,
			      uint32_t flags)
{
	struct gosync_chan_xfer x;
	int ret;

	memset(&x, 0, sizeof(x));
	x.elem = (uintptr_t)elems;
	x.deadline_ns = deadline;
	x.flags = flags;
	x.count = n;
	ret = ioctl(ch->fd, cmd, &x);
	return ret < 0 ? -errno : ret;
}

/*
 * A hand-off that did not happen ends with -EAGAIN when it gave up: no
 * receiver left, its bound passed, or a signal came (a non-blocking send
 * does not wait for those), as the kernel's gosync_handoff_ret().
 */
static bool gosync_handoff_gave_up(const struct gosync_op *op, int ret)
{
	return ret == -ENOMSG ||
	       (op->nonblock && (ret == -ETIMEDOUT || ret == -EINTR));
}

/*
 * Standalone sync send: deposit, then wait until a receiver took it.
 * @until: for a non-blocking one, when its hand-off gives up (0: 100 ms
 * from now; a batch passes one bound for all its elements, as the
 * kernel's gosync_chan_send_iter()).
 */
static int gosync_send_sync_standalone(struct gosync_op *op, int64_t deadline,
				       int64_t until)
{
	struct gosync_chan_view *m = op->m;
	int ret;

	op->state = GOSYNC_SLOT_SYNC;
	if (deadline == GOSYNC_NONBLOCK) {
		if (gosync_ring_closed(&m->ring))
			return -EPIPE;
		gosync_arm(m->send);				/* F */
		if (!gosync_other_receivers(op))
			return -EAGAIN;
		/*
		 * Hand it to the receiver that waits.  The standalone count
		 * of waiters is advisory (a receiver killed while blocked is
		 * never taken off it), so give the hand-off a bound.
		 */
		op->nonblock = true;
		deadline = until ? until : gosync_after(GOSYNC_HANDOFF_NS);
	}
	ret = gosync_wait(op, m->send, deadline, gosync_try_send);
	if (gosync_handoff_gave_up(op, ret))
		return -EAGAIN;
	if (ret)
		return ret;
	ret = gosync_wait(op, m->send, deadline, gosync_try_delivered);
	if (!ret || !gosync_ring_withdraw(&m->ring, op->pos))
		return 0;
	gosync_wake_if_armed(op->ch, m->send, GOSYNC_WAKE_SEND);
	if (gosync_handoff_gave_up(op, ret))
		return -EAGAIN;
	return ret;
}

static int gosync_send(struct gosync_chan *ch, const void *elem,
		       int64_t deadline, bool sync, int64_t until)
{
	struct gosync_op op = { .ch = ch, .elem = (void *)elem,
				.state = GOSYNC_SLOT_FULL };
	int ret = 0;

	if (!ch || !gosync_elem_ok(ch, elem) || !gosync_deadline_valid(deadline))
		return -EINVAL;
	ret = gosync_chan_may(ch, GOSYNC_SEND);
	if (ret)
		return ret;
	sync = sync || !ch->layout.cap;
	if (ch->flags & GOSYNC_NOMAP)
		goto kernel;
	op.m = gosync_chan_mapping(ch, &ret);
	if (!op.m)
		return ret;
	if (sync) {
		if (gosync_standalone(ch))
			return gosync_send_sync_standalone(&op, deadline, until);
		goto kernel;	/* the kernel waits for the receiver */
	}
	ret = gosync_try_send(&op);
	if (!gosync_would_block(ret))
		return ret;
	if (deadline == GOSYNC_NONBLOCK)
		return gosync_try_armed(&op, op.m->send, gosync_try_send);
	ret = gosync_spin(&op, gosync_try_send, ret, deadline);
	if (!gosync_would_block(ret))
		return ret;
	if (gosync_standalone(ch))
		return gosync_wait(&op, op.m->send, deadline, gosync_try_send);
kernel:
	ret = gosync_kernel_xfer(ch, GOSYNC_CHAN_IOC_SEND, (void *)elem, 1,
				 deadline, sync ? GOSYNC_SEND_SYNC : 0);
	return ret < 0 ? ret : 0;
}

int gosync_chan_send(struct gosync_chan *ch, const void *elem,
		     int64_t deadline_ns)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_send(ch, elem, deadline_ns, false, 0);
}

int gosync_chan_send_sync(struct gosync_chan *ch, const void *elem,
			  int64_t deadline_ns)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_send(ch, elem, deadline_ns, true, 0);
}

/*
 * A standalone context's done channel: "closed" only by a look at its
 * context (gosync_chan_select_try), which a select makes in every round
 * and between sleeps bounded by gosync_ctx_wake_by(): a receive is a
 * select of one case.
 */
static int gosync_done_recv(struct gosync_chan *ch, int64_t deadline_ns)
{
	struct gosync_case c = { .ch = ch, .op = GOSYNC_RECV, .fd = -1 };
	int ret = gosync_select(&c, 1, deadline_ns);

	return ret < 0 ? ret : c.ok;
}

int gosync_chan_recv(struct gosync_chan *ch, void *elem, int64_t deadline_ns)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_op op = { .ch = ch, .elem = elem };
	int ret = 0;

	if (!ch || !gosync_elem_ok(ch, elem) ||
	    !gosync_deadline_valid(deadline_ns))
		return -EINVAL;
	ret = gosync_chan_may(ch, GOSYNC_RECV);
	if (ret)
		return ret;
	if (ch->ctx)
		return gosync_done_recv(ch, deadline_ns);
	if (ch->flags & GOSYNC_NOMAP)
		goto kernel;
	op.m = gosync_chan_mapping(ch, &ret);
	if (!op.m)
		return ret;
	ret = gosync_try_recv(&op);
	if (deadline_ns != GOSYNC_NONBLOCK)
		ret = gosync_spin(&op, gosync_try_recv, ret, deadline_ns);
	if (!gosync_would_block(ret) && ret != -EIO)
		goto out;
	if (deadline_ns == GOSYNC_NONBLOCK && ret != -EIO)
		ret = gosync_try_armed(&op, op.m->recv, gosync_try_recv);
	else if (gosync_standalone(ch))
		ret = gosync_wait(&op, op.m->recv, deadline_ns, gosync_try_recv);
	else
		goto kernel;
	goto out;
kernel:
	ret = gosync_kernel_xfer(ch, GOSYNC_CHAN_IOC_RECV, elem, 1,
				 deadline_ns, 0);
out:
	if (ret == 0)
		gosync_elem_zero(ch, elem);
	return ret;
}

/*
 * Batches: as many ring operations as go without waiting, then one wake
 * check (E) for all of them; when one would wait, a single blocking
 * operation, and on.
 */
static size_t gosync_send_burst(struct gosync_op *op, const void *p,
				size_t n, int *ret)
{
	size_t i;

	*ret = 0;
	for (i = 0; i < n; i++) {
		*ret = gosync_ring_try_send(&op->m->ring,
					    gosync_elem_at(op->ch, p, i),
					    GOSYNC_SLOT_FULL, &op->pos);
		if (*ret)
			break;
	}
	if (i) {
		gosync_step(GOSYNC_STEP_SEND_DONE);
		gosync_wake_if_armed(op->ch, op->m->recv, GOSYNC_WAKE_RECV);
	}
	return i;
}

static size_t gosync_recv_burst(struct gosync_op *op, void *p, size_t n,
				int *ret)
{
	int freed = 0;
	size_t i;

	*ret = 1;
	for (i = 0; i < n; i++) {
		*ret = gosync_ring_try_recv(&op->m->ring,
					    gosync_elem_at(op->ch, p, i), &freed);
		if (*ret != 1)
			break;
	}
	if (freed) {
		gosync_step(GOSYNC_STEP_RECV_DONE);
		gosync_wake_if_armed(op->ch, op->m->send, GOSYNC_WAKE_SEND);
	}
	return i;
}

int gosync_chan_send_n(struct gosync_chan *ch, const void *elems, size_t n,
		       int64_t deadline_ns)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_op op = { .ch = ch };
	size_t i = 0;
	int ret = 0;

	if (!ch || !gosync_elem_ok(ch, elems) || !n ||
	    n > GOSYNC_MAX_ELEMS(ch->layout.elem_size) ||
	    !gosync_deadline_valid(deadline_ns))
		return -EINVAL;
	ret = gosync_chan_may(ch, GOSYNC_SEND);
	if (ret)
		return ret;
	if (deadline_ns == GOSYNC_NONBLOCK && (ch->flags & GOSYNC_NOMAP ||
	    (!ch->layout.cap && !gosync_standalone(ch))))
		/*
		 * The kernel does a non-blocking batch: one call, one hand-off
		 * bound.  Not a blocking one: the kernel's batch ends at any
		 * pending signal or task work once it has sent one, where the
		 * loop below restarts each element's wait (SA_RESTART).
		 */
		return gosync_kernel_xfer(ch, GOSYNC_CHAN_IOC_SEND, (void *)elems,
					  n, deadline_ns, 0);
	if (!ch->layout.cap || ch->flags & GOSYNC_NOMAP) {
		/*
		 * One at a time, each waiting for its receiver; a
		 * non-blocking batch gives all its hand-offs one bound.
		 */
		int64_t until = deadline_ns == GOSYNC_NONBLOCK ?
				gosync_after(GOSYNC_HANDOFF_NS) : 0;

		for (; i < n; i++) {
			ret = gosync_send(ch, gosync_elem_at(ch, elems, i),
					  deadline_ns, false, until);
			if (ret)
				break;
		}
		return i ? (int)i : ret;
	}
	op.m = gosync_chan_mapping(ch, &ret);
	if (!op.m)
		return ret;
	while (i < n) {
		i += gosync_send_burst(&op, gosync_elem_at(ch, elems, i), n - i,
				       &ret);
		if (i == n || ret == -EPIPE)
			break;
		/* The next one waits (or, for NONBLOCK, fails): alone. */
		ret = gosync_chan_send(ch, gosync_elem_at(ch, elems, i),
				       deadline_ns);
		if (ret)
			break;
		i++;
	}
	return i ? (int)i : ret;
}

int gosync_chan_recv_n(struct gosync_chan *ch, void *elems, size_t n,
		       int64_t deadline_ns)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_op op = { .ch = ch };
	size_t i;
	int ret = 0;

	if (!ch || !gosync_elem_ok(ch, elems) || !n ||
	    n > GOSYNC_MAX_ELEMS(ch->layout.elem_size) ||
	    !gosync_deadline_valid(deadline_ns))
		return -EINVAL;
	ret = gosync_chan_may(ch, GOSYNC_RECV);
	if (ret)
		return ret;
	if (ch->ctx)
		return gosync_done_recv(ch, deadline_ns); /* never a value */
	if (ch->flags & GOSYNC_NOMAP) {
		ret = gosync_kernel_xfer(ch, GOSYNC_CHAN_IOC_RECV, elems, n,
					 deadline_ns, 0);
		if (!ret)
			gosync_elem_zero(ch, elems);
		return ret;
	}
	op.m = gosync_chan_mapping(ch, &ret);
	if (!op.m)
		return ret;
	/* What is there; if nothing, wait for one; then what is there. */
	i = gosync_recv_burst(&op, elems, n, &ret);
	if (i && i < n && deadline_ns == GOSYNC_NONBLOCK &&
	    gosync_would_block(ret)) {
		/*
		 * A short count means "drained" to an edge-triggered poller:
		 * arm the side (F) and look once more, as a single
		 * non-blocking receive does, so the next send is an edge.
		 */
		gosync_arm(op.m->recv);				/* F */
		i += gosync_recv_burst(&op, gosync_elem_at(ch, elems, i), n - i,
				       &ret);
	}
	if (i)
		return (int)i;
	ret = gosync_chan_recv(ch, elems, deadline_ns);
	if (ret != 1)
		return ret;
	return 1 + (int)gosync_recv_burst(&op, gosync_elem_at(ch, elems, 1),
					  n - 1, &ret);
}

/* ---------------------------------------------------- for select.c -- */

bool gosync_chan_is_standalone(const struct gosync_chan *ch)
{
	return gosync_standalone(ch);
}

/*
 * A directional end refuses the other direction here, before anything
 * happens (the kernel would too, but a select must not try its other
 * cases first); a receive-only end cannot close (Go's rule).
 */
int gosync_chan_may(const struct gosync_chan *ch, int op)
{
	unsigned int lacks = op == GOSYNC_RECV ? GOSYNC_SEND_ONLY :
						 GOSYNC_RECV_ONLY;

	return ch->flags & lacks ? -EBADF : 0;
}

/*
 * One attempt of a select case without waiting.  Return: 1 it fired (*ok:
 * receive: 1 value, 0 closed; send: 1), 0 not ready (or, in kernel mode,
 * only the kernel can tell: an unbuffered send, or no mapping), -EPIPE a
 * send on a closed channel, or another -errno.
 */
int gosync_chan_select_try(struct gosync_chan *ch, int op, void *elem,
			   uint32_t self, int64_t until, int *ok)
{
	struct gosync_op o = { .ch = ch, .elem = elem,
			       .state = GOSYNC_SLOT_FULL, .self = self };
	int ret = 0;

	if (ch->flags & GOSYNC_NOMAP)
		return 0;
	o.m = gosync_chan_mapping(ch, &ret);
	if (!o.m)
		return ret;
	if (op == GOSYNC_RECV) {
		/*
		 * A done channel is closed when a look at its context finds
		 * it done, and only then (its ring, a private memfd, is not
		 * consulted: a process given its fd could close it): here,
		 * after the select armed the tree's wait words (F), as the
		 * model's waiter (models/ctxsa.pml).
		 */
		if (ch->ctx) {
			if (!gosync_ctx_err(ch->ctx))
				return 0;
			*ok = 0;	/* closed: the context is done */
			return 1;
		}
		ret = gosync_try_recv(&o);
		if (gosync_would_block(ret) || (ret == -EIO && !gosync_standalone(ch)))
			return 0;	/* the kernel reports -EIO itself */
		if (ret < 0)
			return ret;
		if (ret == 0)
			gosync_elem_zero(ch, elem);
		*ok = ret;
		return 1;
	}
	if (gosync_ring_closed(&o.m->ring))
		return -EPIPE;
	if (!ch->layout.cap) {
		if (!gosync_standalone(ch) || !gosync_other_receivers(&o))
			return 0;
		ret = gosync_send_sync_standalone(&o, GOSYNC_NONBLOCK, until);
	} else {
		ret = gosync_try_send(&o);
	}
	if (gosync_would_block(ret))
		return 0;
	if (ret)
		return ret;
	*ok = 1;
	return 1;
}

/* The wait words of a case's side: arm it, and (standalone) its futex. */
struct gosync_wait *gosync_chan_select_side(struct gosync_chan *ch, int op)
{
	int err = 0;
	struct gosync_chan_view *m;

	if (ch->flags & GOSYNC_NOMAP)
		return NULL;
	m = gosync_chan_mapping(ch, &err);
	if (!m)
		return NULL;
	return op == GOSYNC_RECV ? m->recv : m->send;
}

void gosync_chan_select_arm(struct gosync_wait *w)
{
	gosync_arm(w);						/* F */
}

/* A standalone select starts or stops waiting to receive on @ch. */
void gosync_chan_select_receiving(struct gosync_chan *ch, int delta)
{
	struct gosync_op o = { .ch = ch };
	int err = 0;

	o.m = gosync_chan_mapping(ch, &err);
	if (o.m)
		gosync_recv_waiters_add(&o, delta);
}

int gosync_chan_close(struct gosync_chan *ch)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_chan_view *m;
	int ret = 0;

	if (!ch)
		return -EINVAL;
	ret = gosync_chan_may(ch, GOSYNC_SEND);
	if (ret)
		return ret;
	if (!gosync_standalone(ch))
		return ioctl(ch->fd, GOSYNC_CHAN_IOC_CLOSE, 0) < 0 ? -errno : 0;
	m = gosync_chan_mapping(ch, &ret);
	ret = gosync_ring_close(&m->ring);
	if (ret)
		return ret == -EBUSY ? -EIO : ret;
	/* Everyone: blocked senders fail, receivers drain. */
	__atomic_store_n(&m->recv->armed, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&m->send->armed, 1, __ATOMIC_SEQ_CST);
	gosync_wake(ch, m->recv, GOSYNC_WAKE_RECV);
	gosync_wake(ch, m->send, GOSYNC_WAKE_SEND);
	return 0;
}

/* ------------------------------------------------------- making, info -- */

size_t gosync_chan_cap(const struct gosync_chan *ch)
{
	GOSYNC_KEEP_ERRNO;

	return ch ? ch->layout.cap : 0;
}

size_t gosync_chan_elem_size(const struct gosync_chan *ch)
{
	GOSYNC_KEEP_ERRNO;

	return ch ? ch->layout.elem_size : 0;
}

int gosync_chan_fd(const struct gosync_chan *ch)
{
	GOSYNC_KEEP_ERRNO;

	return ch ? ch->fd : -EINVAL;
}

int gosync_chan_uring_fd(const struct gosync_chan *ch)
{
	GOSYNC_KEEP_ERRNO;

	if (!ch)
		return -EINVAL;
	return gosync_standalone(ch) ? -EOPNOTSUPP : ch->fd;
}

unsigned int gosync_chan_flags(const struct gosync_chan *ch)
{
	GOSYNC_KEEP_ERRNO;
	int fdfl;

	if (!ch)
		return 0;
	fdfl = fcntl(ch->fd, F_GETFD);
	return (ch->flags & GOSYNC_CHAN_MODE_FLAGS) |
	       (fdfl >= 0 && fdfl & FD_CLOEXEC ? GOSYNC_CLOEXEC : 0);
}

static int gosync_kernel_info(int fd, struct gosync_chan_info *info)
{
	memset(info, 0, sizeof(*info));
	return ioctl(fd, GOSYNC_CHAN_IOC_INFO, info) < 0 ? -errno : 0;
}

size_t gosync_chan_len(const struct gosync_chan *ch)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_chan_info info;

	if (!ch || !ch->layout.cap)
		return 0;
	if (gosync_standalone(ch) ||
	    (!(ch->flags & GOSYNC_NOMAP) &&
	     __atomic_load_n(&ch->gen, __ATOMIC_ACQUIRE) ==
	     gosync_fork_generation()))
		return gosync_ring_len(&ch->map.ring);
	return gosync_kernel_info(ch->fd, &info) ? 0 : info.len;
}

static int gosync_chan_alloc(struct gosync_chan **chp, int fd,
			     unsigned int flags)
{
	struct gosync_chan *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return -ENOMEM;
	ch->fd = fd;
	ch->flags = flags;
	*chp = ch;
	return 0;
}

/* Adopt a kernel channel fd: learn its layout, map it unless NOMAP. */
static int gosync_chan_adopt_kernel(struct gosync_chan *ch)
{
	struct gosync_chan_info info;
	struct gosync_chan_header *l = &ch->layout;
	int ret = gosync_kernel_info(ch->fd, &info);

	if (ret)
		return ret;
	l->elem_size = info.elem_size;
	l->cap = info.cap;
	l->nslots = info.nslots;
	l->slot_size = info.slot_size;
	l->map_size = info.map_size;
	l->off_tail = info.off_tail;
	l->off_head = info.off_head;
	l->off_recv_wait = info.off_recv_wait;
	l->off_send_wait = info.off_send_wait;
	l->off_slots = info.off_slots;
	ret = gosync_layout_check(l);
	if (ret || ch->flags & GOSYNC_NOMAP)
		return ret;
	gosync_fork_watch();
	ret = gosync_chan_map_kernel(ch);
	if (!ret)
		ch->gen = gosync_fork_generation();
	return ret;
}

/* Adopt a standalone memfd: check its header, map it. */
static int gosync_chan_adopt_memfd(struct gosync_chan *ch)
{
	struct gosync_chan_header *hdr;
	struct stat st;
	void *base;
	int ret;

	if (fstat(ch->fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(*hdr))
		return -EINVAL;
	/*
	 * Sealed at its size, or a peer could shrink it under us (SIGBUS);
	 * or a named file, which cannot be sealed (name.c: trusted).
	 */
	if (!gosync_shm_seals_ok(ch->fd))
		return -EINVAL;
	base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    ch->fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	hdr = base;
	/* Sealed like ours but not a ring we can use: a corrupt one. */
	ret = -EBADMSG;
	/* magic: acquire, pairs with the creator's release. */
	if (__atomic_load_n(&hdr->magic, __ATOMIC_ACQUIRE) == GOSYNC_CHAN_MAGIC)
		ch->layout = *hdr;
	if (__atomic_load_n(&hdr->magic, __ATOMIC_RELAXED) == GOSYNC_SYNC_MAGIC)
		ret = -EINVAL;		/* a sync object's: not a channel */
	if (ch->layout.magic != GOSYNC_CHAN_MAGIC ||
	    ch->layout.abi_version != GOSYNC_ABI_VERSION ||
	    !(ch->layout.flags & GOSYNC_CHAN_HDR_STANDALONE) ||
	    gosync_layout_check(&ch->layout) ||
	    ch->layout.map_size != (uint64_t)st.st_size) {
		munmap(base, st.st_size);
		return ret;
	}
	gosync_map_set(&ch->map, &ch->layout, base, 0);
	return 0;
}

static int gosync_chan_make_standalone(struct gosync_chan *ch,
				       size_t elem_size, size_t cap)
{
	struct gosync_chan_header *l = &ch->layout;
	void *base;
	int ret;

	if (gosync_chan_layout(elem_size, cap, sysconf(_SC_PAGESIZE), l))
		return -EINVAL;
	if (l->map_size > GOSYNC_STANDALONE_MAX_BYTES)
		return -ENOMEM;
	l->flags = GOSYNC_CHAN_HDR_STANDALONE;
	ret = gosync_shm_size(ch->fd, l->map_size);
	if (ret)
		return ret;
	base = mmap(NULL, l->map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    ch->fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	gosync_map_set(&ch->map, l, base, 0);
	gosync_chan_init_slots(ch->map.ring.slots, l->nslots, l->slot_size);
	l->magic = 0;
	memcpy(base, l, sizeof(*l));
	/* The magic last: a peer that sees it sees an initialised ring. */
	__atomic_store_n(&((struct gosync_chan_header *)base)->magic,
			 GOSYNC_CHAN_MAGIC, __ATOMIC_RELEASE);
	l->magic = GOSYNC_CHAN_MAGIC;
	return 0;
}

int gosync_chan_make_done(struct gosync_chan **chp, struct gosync_wait *w,
			  struct gosync_ctx *ctx)
{
	struct gosync_chan *ch;
	int ret = gosync_chan_make(&ch, 0, 0, GOSYNC_STANDALONE | GOSYNC_CLOEXEC);

	if (ret)
		return ret;
	/* Its receivers sleep on (and arm) the tree's words, not the ring's. */
	ch->map.recv = w;
	ch->flags |= GOSYNC_RECV_ONLY;
	ch->ctx = ctx;
	*chp = ch;
	return 0;
}

void gosync_chan_free(struct gosync_chan *ch)
{
	GOSYNC_KEEP_ERRNO;

	if (!ch)
		return;
	/* A mapping from before a fork is not in this process. */
	if (ch->map.base && (gosync_standalone(ch) ||
			     ch->gen == gosync_fork_generation()))
		munmap(ch->map.base, ch->layout.map_size);
	close(ch->fd);
	free(ch);
}

int gosync_chan_make(struct gosync_chan **chp, size_t elem_size, size_t cap,
		     unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_chan_create req;
	struct gosync_chan *ch;
	int fd, ret;

	if (!chp || flags & ~GOSYNC_CHAN_MAKE_FLAGS ||
	    elem_size > GOSYNC_CHAN_MAX_ELEM || cap > GOSYNC_CHAN_MAX_CAP)
		return -EINVAL;
	if (flags & GOSYNC_STANDALONE) {
		if (flags & (GOSYNC_NOMAP | GOSYNC_AUTOCLOSE))
			return -EOPNOTSUPP;
		fd = memfd_create("gosync-chan", MFD_ALLOW_SEALING |
				  (flags & GOSYNC_CLOEXEC ? MFD_CLOEXEC : 0));
	} else {
		int dev = gosync_dev_fd();

		if (dev < 0)
			return dev;
		memset(&req, 0, sizeof(req));
		req.flags = flags & GOSYNC_CLOEXEC ? GOSYNC_CHAN_CLOEXEC : 0;
		if (flags & GOSYNC_AUTOCLOSE)
			req.flags |= GOSYNC_CHAN_AUTOCLOSE;
		req.elem_size = elem_size;
		req.cap = cap;
		fd = ioctl(dev, GOSYNC_IOC_CHAN_CREATE, &req);
	}
	if (fd < 0)
		return -errno;
	ret = gosync_chan_alloc(&ch, fd, flags);
	if (ret) {
		close(fd);
		return ret;
	}
	ret = flags & GOSYNC_STANDALONE ?
	      gosync_chan_make_standalone(ch, elem_size, cap) :
	      gosync_chan_adopt_kernel(ch);
	if (ret) {
		gosync_chan_free(ch);
		return ret;
	}
	*chp = ch;
	return 0;
}

/*
 * What a kernel channel fd may do: an fd opened O_RDONLY is a receive-only
 * end, O_WRONLY a send-only one (a name opened so, or GOSYNC_CHAN_IOC_DUP),
 * and neither can be mapped; the channel's own flags come from INFO.
 */
static unsigned int gosync_chan_fd_mode(int fd,
					const struct gosync_chan_info *info)
{
	int fl = fcntl(fd, F_GETFL);
	unsigned int flags = 0;

	if ((fl >= 0 && (fl & O_ACCMODE) == O_RDONLY) ||
	    info->state & GOSYNC_CHAN_STATE_NOSEND)
		flags |= GOSYNC_RECV_ONLY | GOSYNC_NOMAP;
	else if ((fl >= 0 && (fl & O_ACCMODE) == O_WRONLY) ||
		 info->state & GOSYNC_CHAN_STATE_NORECV)
		flags |= GOSYNC_SEND_ONLY | GOSYNC_NOMAP;
	if (info->state & GOSYNC_CHAN_STATE_AUTOCLOSE)
		flags |= GOSYNC_AUTOCLOSE;
	return flags;
}

/*
 * Make a handle of @fd, which it then owns (closed on failure): a kernel
 * channel (it answers INFO), or a standalone ring in a memfd or a named
 * file.  @flags: GOSYNC_CHAN_FD_FLAGS.
 */
int gosync_chan_adopt(struct gosync_chan **chp, int fd, unsigned int flags)
{
	struct gosync_chan_info info;
	struct gosync_chan *ch;
	int ret;

	ret = gosync_kernel_info(fd, &info);
	if (!ret)
		flags = (flags & ~GOSYNC_STANDALONE) |
			gosync_chan_fd_mode(fd, &info);
	else if (ret == -ENOTTY && !(flags & GOSYNC_NOMAP))
		flags |= GOSYNC_STANDALONE;
	else {
		close(fd);
		return ret == -ENOTTY ? -EOPNOTSUPP : ret;
	}
	ret = gosync_chan_alloc(&ch, fd, flags);
	if (ret) {
		close(fd);
		return ret;
	}
	ret = flags & GOSYNC_STANDALONE ? gosync_chan_adopt_memfd(ch) :
					  gosync_chan_adopt_kernel(ch);
	if (ret) {
		gosync_chan_free(ch);
		return ret;
	}
	*chp = ch;
	return 0;
}

int gosync_chan_from_fd(struct gosync_chan **chp, int fd, unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;
	int own;

	if (!chp || fd < 0 || flags & ~GOSYNC_CHAN_FD_FLAGS)
		return -EINVAL;
	own = fcntl(fd, flags & GOSYNC_CLOEXEC ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (own < 0)
		return -errno;
	return gosync_chan_adopt(chp, own, flags);
}

/* ---------------------------------------------------------- by name -- */

/* Standalone: write a new ring into @fd, as gosync_chan_make() does. */
static int gosync_chan_init_named(int fd, const struct gosync_name_req *req)
{
	struct gosync_chan ch = { .fd = fd, .flags = GOSYNC_STANDALONE };
	int ret = gosync_chan_make_standalone(&ch, req->elem_size, req->cap);

	if (ch.map.base)
		munmap(ch.map.base, ch.layout.map_size);
	return ret;
}

int gosync_chan_open(struct gosync_chan **chp, const char *name, int oflag,
		     mode_t mode, size_t elem_size, size_t cap,
		     unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_name_req req = {
		.name = name, .oflag = oflag, .mode = mode,
		.kind = GOSYNC_KIND_CHAN, .elem_size = elem_size, .cap = cap,
		.flags = flags, .init = gosync_chan_init_named,
	};
	struct gosync_chan *ch;
	int fd, ret;

	if (!chp || flags & ~GOSYNC_CHAN_MAKE_FLAGS ||
	    elem_size > GOSYNC_CHAN_MAX_ELEM || cap > GOSYNC_CHAN_MAX_CAP)
		return -EINVAL;
	if (flags & GOSYNC_CLOEXEC)
		req.oflag |= O_CLOEXEC;
	fd = gosync_name_open(&req);
	if (fd < 0)
		return fd;
	ret = gosync_chan_adopt(&ch, fd, flags & GOSYNC_CHAN_FD_FLAGS);
	if (ret)
		return ret;
	/* The kernel checked the shape; a standalone file is checked here. */
	if ((elem_size && elem_size != ch->layout.elem_size) ||
	    (cap && cap != ch->layout.cap)) {
		gosync_chan_free(ch);
		return -EINVAL;
	}
	*chp = ch;
	return 0;
}

int gosync_chan_dup(struct gosync_chan **end, const struct gosync_chan *ch,
		    unsigned int dir)
{
	GOSYNC_KEEP_ERRNO;
	unsigned int way = dir & (GOSYNC_SEND_ONLY | GOSYNC_RECV_ONLY);
	struct gosync_chan_dup req;
	int fd;

	if (!end || !ch || dir & ~(way | GOSYNC_CLOEXEC) ||
	    (way != GOSYNC_SEND_ONLY && way != GOSYNC_RECV_ONLY))
		return -EINVAL;
	if (gosync_standalone(ch))
		return -EOPNOTSUPP;
	/* A direction this handle lacks (the kernel says so too). */
	if (gosync_chan_may(ch, way == GOSYNC_SEND_ONLY ? GOSYNC_SEND :
							   GOSYNC_RECV))
		return -EBADF;
	memset(&req, 0, sizeof(req));
	req.flags = way == GOSYNC_SEND_ONLY ? GOSYNC_DUP_SEND_ONLY :
					      GOSYNC_DUP_RECV_ONLY;
	if (dir & GOSYNC_CLOEXEC)
		req.flags |= GOSYNC_DUP_CLOEXEC;
	fd = ioctl(ch->fd, GOSYNC_CHAN_IOC_DUP, &req);
	if (fd < 0)
		return -errno;
	return gosync_chan_adopt(end, fd, dir & GOSYNC_CLOEXEC);
}
