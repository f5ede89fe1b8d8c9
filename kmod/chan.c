// SPDX-License-Identifier: GPL-2.0
/*
 * gosync: channels.
 *
 * A channel is a file around a ring in a shared region (shm.c): an anon
 * inode's from GOSYNC_IOC_CHAN_CREATE, or a gosync filesystem's (fs.c)
 * that every process may mmap: sends and receives that need not wait run
 * in the library on the mapping, and never enter the kernel.  The kernel
 * runs the same ring (common/gosync_ring.h) on its own vmap of the region
 * for everything that has to wait or has no mapping: the blocking ioctls,
 * read(2)/write(2), poll.  Whoever has to wait sleeps here, on a side's
 * wait queue; the fast path learns from the side's shared armed word that a
 * wake is owed and asks for it with GOSYNC_CHAN_IOC_WAKE.
 *
 * No lost wakeups (store buffering; E and F are named at their sites and
 * in docs/memory-model.md):
 *
 *   waker (any op that publishes or frees)   waiter (gosync_chan_wait)
 *   store the slot word (A or D)             store side->armed = 1
 *   full barrier                 [E]         full barrier             [F]
 *   load side->armed; wake if set            try the op again (loads slot)
 *
 * Either the waiter's retry sees the store, or the waker sees armed and
 * wakes it; the waiter is on the wait queue before it arms, so the wake
 * finds it.  Pollers arm whenever they find the channel not ready.
 *
 * The kernel trusts nothing in the region: it keeps its own copy of the
 * layout, its own closed flag and waiter counts, and treats the ring's
 * answers as hints that can at worst make this channel's calls fail or
 * wait until their deadline.
 *
 * Directional ends: a file opened O_RDONLY (O_WRONLY) is a receive-only
 * (send-only) end.  Every operation checks the file's f_mode before it
 * does anything (EBADF), and such a file cannot be mapped: the shared
 * ring could not hold it to its direction.
 *
 * Auto-close: @ends counts the channel's files that can send
 * (FMODE_WRITE), from the moment each exists until its ->release, which
 * runs only once every fd, mapping (shm.c pins the file) and io_uring
 * request of it is gone.  The release that takes it from 1 to 0 closes
 * a GOSYNC_CHAN_AUTOCLOSE channel, after the dead mapping's claims were
 * released (its ->close ran first): receivers drain what was published,
 * then see closed.
 *
 * Locking: no lock of ours is held across a ring operation; the wait
 * queues' and the owner IDA's own locks are leaves.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/wait.h>

#include "gosync.h"
#include "ring.h"

/**
 * struct gosync_side - the receivers' or the senders' side of a channel
 * @wq:		where they wait (blocking calls and pollers)
 * @shared:	the side's words in the region
 * @waiters:	how many are blocked in a call right now (the kernel's truth)
 */
struct gosync_side {
	wait_queue_head_t wq;
	struct gosync_wait *shared;
	atomic_t waiters;
};

/**
 * struct gosync_chan - a channel
 * @kref:	one per file, one per kernel user that outlives its fd
 * @shm:	the shared region
 * @ring:	the kernel's view of the ring (owner 0)
 * @layout:	the kernel's own copy of the header
 * @recv:	receivers
 * @send:	senders
 * @owners:	owner ids of the live mappings
 * @flags:	GOSYNC_CHAN_CLOSED, GOSYNC_CHAN_AUTOCLOSED
 * @closed_ns:	when it was closed (CLOCK_MONOTONIC), set before the flag
 * @ends:	its files that can send (FMODE_WRITE) and are not released
 * @user:	who is charged for it
 * @pin:	NULL, or what each of its files holds as well (a context's
 *		done channel: the context, whose deadline or maker's exit
 *		still closes it while only done fds are left)
 * @unpin:	puts @pin
 */
struct gosync_chan {
	struct kref kref;
	struct gosync_shm shm;
	struct gosync_ring ring;
	struct gosync_chan_header layout;
	struct gosync_side recv;
	struct gosync_side send;
	struct ida owners;
	unsigned long flags;
	s64 closed_ns;
	atomic_t ends;
	struct gosync_user *user;
	struct kref *pin;
	void (*unpin)(struct kref *pin);
};

#define GOSYNC_CHAN_CLOSED	0	/* bit in flags */
#define GOSYNC_CHAN_AUTO	1	/* bit in flags: GOSYNC_CHAN_AUTOCLOSE */

/*
 * After close, how long a receive still waits for an element a sender
 * was in the middle of publishing (a claimed slot) before it reports the
 * channel closed.  An honest publication takes microseconds; this bounds
 * what a peer that holds a claim forever (stopped, or scribbling) can do
 * to receivers of a closed channel.
 */
#define GOSYNC_CLOSE_GRACE_NS	(1000 * NSEC_PER_MSEC)

/* Elements up to this size travel through a bounce buffer on the stack. */
#define GOSYNC_SMALL_ELEM	64

static void gosync_chan_free(struct kref *kref)
{
	struct gosync_chan *ch = container_of(kref, struct gosync_chan, kref);

	gosync_shm_destroy(&ch->shm);
	gosync_uncharge(ch->user, ch->layout.map_size);
	ida_destroy(&ch->owners);
	kfree(ch);
}

/*
 * An acquire: whoever is told "closed" (poll's EPOLLIN/EPOLLHUP too)
 * sees what the closer stored before its test_and_set_bit() (a
 * context's state: docs/memory-model.md, "closed flag").
 */
static bool gosync_chan_closed(struct gosync_chan *ch)
{
	return test_bit_acquire(GOSYNC_CHAN_CLOSED, &ch->flags);
}

static bool gosync_chan_unbuffered(struct gosync_chan *ch)
{
	return !ch->layout.cap;
}

/* ------------------------------------------------------------ waking -- */

static void gosync_side_wake(struct gosync_side *side)
{
	/* Cleared before the wake: a woken waiter that re-arms keeps it. */
	WRITE_ONCE(side->shared->armed, 0);
	wake_up_all(&side->wq);
}

/* After publishing or freeing a slot: wake @side if a waiter armed it. */
static void gosync_side_wake_if_armed(struct gosync_side *side)
{
	smp_mb();	/* E: the slot word before armed; matches F */
	if (READ_ONCE(side->shared->armed))
		gosync_side_wake(side);
}

static void gosync_side_arm(struct gosync_side *side)
{
	WRITE_ONCE(side->shared->armed, 1);
	smp_mb();	/* F: armed before re-trying; matches E */
}

/*
 * A receiver starts or stops blocking.  Senders care: a non-blocking sync
 * send waits only while receivers wait (so a leaving receiver is news on
 * any channel), and on an unbuffered channel a new receiver is room, and
 * EPOLLOUT.
 */
static void gosync_recv_waiters_add(struct gosync_chan *ch, int delta)
{
	atomic_add(delta, &ch->recv.waiters);
	if (delta < 0 || gosync_chan_unbuffered(ch))
		gosync_side_wake_if_armed(&ch->send);
}

/* ------------------------------------------------------------ waiting -- */

typedef int (*gosync_try_fn)(struct gosync_chan *ch, void *arg);

static bool gosync_would_block(int ret)
{
	return ret == -EAGAIN || ret == -EINPROGRESS || ret == -EBUSY;
}

static int gosync_check_deadline(s64 deadline)
{
	return deadline < 0 && deadline != GOSYNC_DEADLINE_NONBLOCK ?
	       -EINVAL : 0;
}

/*
 * Sleep (the task state set by the caller) until woken, a signal, or
 * @deadline, an absolute CLOCK_MONOTONIC time or GOSYNC_DEADLINE_FOREVER.
 */
void gosync_sleep_until(s64 deadline)
{
	ktime_t expires = ns_to_ktime(deadline);

	if (deadline == GOSYNC_DEADLINE_FOREVER)
		schedule();
	else
		schedule_hrtimeout_range_clock(&expires, current->timer_slack_ns,
					       HRTIMER_MODE_ABS, CLOCK_MONOTONIC);
}

/*
 * A wait ends because signal_pending(): either a signal, or task work
 * queued for us (TIF_NOTIFY_SIGNAL, e.g. an io_uring completion) that
 * must run before we can sleep.  Every wait (ioctls, read(2), write(2))
 * returns -ERESTARTSYS: EINTR if a handler without SA_RESTART runs, and
 * a restart otherwise (SA_RESTART, task work only, a stop), as on a
 * pipe; the library's standalone waits follow the same rule (futex_waitv
 * restarts the same way).  Deadlines are absolute and nothing is half
 * done when a wait ends, so a restart is exact.  (Deciding EINTR here
 * from task_sigpending() instead raced with a signal that came while
 * task work was pending.)
 */
int gosync_signal_ret(void)
{
	return -ERESTARTSYS;
}

/* Did a wait end for a signal or task work (see gosync_signal_ret)? */
bool gosync_is_restart(int ret)
{
	return ret == -ERESTARTSYS || ret == -ERESTARTNOHAND ||
	       ret == -ERESTARTNOINTR;
}

/*
 * Retry @try until it stops saying "would block", sleeping on @side in
 * between, until @deadline (absolute CLOCK_MONOTONIC ns) or a signal.
 * @try runs with the task state set: it must not sleep or fault.
 *
 * A signal ends the wait with -ERESTARTSYS (gosync_signal_ret()): EINTR
 * for a handler without SA_RESTART, a restart otherwise.  The deadline
 * is looked at before signals: task work that keeps arriving
 * must not keep a wait past its deadline.
 *
 * A sender runs its own queued io_uring receives on this channel
 * (gosync_uring_run_own()) before it first sleeps, and again when it
 * finds only task work pending: the receiver it waits for may be one of
 * them, which would otherwise run only once this call returns (task work;
 * on an IORING_SETUP_DEFER_TASKRUN ring, only in io_uring_enter()).
 *
 * Return: what @try returned, -EAGAIN (GOSYNC_DEADLINE_NONBLOCK),
 * -ETIMEDOUT or -ERESTARTSYS.
 */
static int gosync_chan_wait(struct gosync_chan *ch, struct gosync_side *side,
			    s64 deadline, gosync_try_fn try,
			    void *arg)
{
	ktime_t expires = ns_to_ktime(deadline);
	int own_runs = side == &ch->send ? 0 : 2;
	DEFINE_WAIT(wait);
	int ret;

	ret = try(ch, arg);
	if (!gosync_would_block(ret))
		return ret;
	if (deadline == GOSYNC_DEADLINE_NONBLOCK) {
		/* An edge-triggered poller must hear of the next event. */
		gosync_side_arm(side);				/* F */
		ret = try(ch, arg);
		return gosync_would_block(ret) ? -EAGAIN : ret;
	}

	if (side == &ch->recv)
		gosync_recv_waiters_add(ch, 1);
	else
		atomic_inc(&side->waiters);
	for (;;) {
		prepare_to_wait(&side->wq, &wait, TASK_INTERRUPTIBLE);
		gosync_side_arm(side);				/* F */
		ret = try(ch, arg);
		if (!gosync_would_block(ret))
			break;
		if (ktime_get_ns() >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		if (own_runs < (signal_pending(current) &&
				!task_sigpending(current) ? 2 : 1)) {
			/* Then arm and look again, whatever it ran (F). */
			own_runs++;
			__set_current_state(TASK_RUNNING);
			gosync_uring_run_own(ch);
			continue;
		}
		if (signal_pending(current)) {
			ret = gosync_signal_ret();
			break;
		}
		if (ret == -EBUSY || gosync_chan_closed(ch)) {
			/*
			 * A peer keeps the ring busy, or a closed channel
			 * waits out its grace: poll, then retry.
			 */
			ktime_t pause = min(ktime_add_us(ktime_get(), 1000),
					    expires);

			schedule_hrtimeout(&pause, HRTIMER_MODE_ABS);
		} else {
			gosync_sleep_until(deadline);
		}
	}
	finish_wait(&side->wq, &wait);
	if (side == &ch->recv)
		gosync_recv_waiters_add(ch, -1);
	else
		atomic_dec(&side->waiters);
	return ret;
}

/* --------------------------------------------------------- send, recv -- */

struct gosync_send {
	const void *elem;
	u32 state;		/* GOSYNC_SLOT_FULL or _SYNC */
	u64 pos;		/* where it went */
	bool nonblock;		/* sync: give up once no receiver waits */
	int self;		/* of the blocked receivers, ours (a select) */
};

/* Is a receiver other than the caller's own blocked on @ch? */
static bool gosync_other_receivers(struct gosync_chan *ch, int self)
{
	return atomic_read(&ch->recv.waiters) > self;
}

static int gosync_try_send(struct gosync_chan *ch, void *arg)
{
	struct gosync_send *s = arg;
	int ret;

	if (gosync_chan_closed(ch))
		return -EPIPE;
	ret = gosync_ring_try_send(&ch->ring, s->elem, s->state, &s->pos);
	if (!ret)
		gosync_side_wake_if_armed(&ch->recv);		/* E */
	else if (s->nonblock && gosync_would_block(ret) &&
		 !gosync_other_receivers(ch, s->self))
		ret = -ENOMSG;	/* no receiver left to wait for */
	return ret;
}

/* The sync element at s->pos: taken (0), or keep waiting, or give up. */
static int gosync_try_delivered(struct gosync_chan *ch, void *arg)
{
	struct gosync_send *s = arg;

	if (gosync_ring_delivered(&ch->ring, s->pos))
		return 0;
	if (gosync_chan_closed(ch))
		return -EPIPE;
	if (s->nonblock && !gosync_other_receivers(ch, s->self))
		return -ENOMSG;		/* the receivers we counted on left */
	return -EAGAIN;
}

/*
 * Send one element from kernel memory.  A sync send (always, on an
 * unbuffered channel) returns only once a receiver has taken it; one that
 * gives up withdraws the element, which is then never received.
 * GOSYNC_DEADLINE_NONBLOCK on a sync send means "only to a receiver that
 * is already blocked", as a Go send in a select with a default case.
 */
/*
 * How a hand-off that did not happen ends: -EAGAIN when it gave up (no
 * receiver left, its bound passed, or a signal or task work came: a
 * non-blocking send does not wait for those), else as the wait ended.
 */
static int gosync_handoff_ret(struct gosync_send *s, int ret)
{
	if (ret == -ENOMSG || (s->nonblock && (ret == -ETIMEDOUT ||
					       gosync_is_restart(ret))))
		return -EAGAIN;
	return ret;
}

static int gosync_chan_send_one(struct gosync_chan *ch, const void *elem,
				bool sync, s64 deadline, int self,
				s64 handoff_until)
{
	struct gosync_send s = {
		.elem = elem,
		.state = sync ? GOSYNC_SLOT_SYNC : GOSYNC_SLOT_FULL,
		.nonblock = sync && deadline == GOSYNC_DEADLINE_NONBLOCK,
		.self = self,
	};
	int ret;

	if (s.nonblock) {
		/*
		 * Only to a receiver already blocked, for as long as one is
		 * and at most GOSYNC_HANDOFF_NS: a registered receiver may be
		 * unable to take it (a queued io_uring receive whose
		 * submitter is stopped), and this send must not wait for it.
		 */
		s64 bound = ktime_get_ns() + GOSYNC_HANDOFF_NS;

		if (gosync_chan_closed(ch))
			return -EPIPE;
		gosync_side_arm(&ch->send);			/* F */
		if (!gosync_other_receivers(ch, self))
			return -EAGAIN;
		deadline = handoff_until != GOSYNC_DEADLINE_NONBLOCK &&
			   handoff_until < bound ? handoff_until : bound;
	}
	ret = gosync_chan_wait(ch, &ch->send, deadline, gosync_try_send, &s);
	if (ret || !sync)
		return gosync_handoff_ret(&s, ret);

	ret = gosync_chan_wait(ch, &ch->send, deadline, gosync_try_delivered,
			       &s);
	if (!ret)
		return 0;
	if (!gosync_ring_withdraw(&ch->ring, s.pos))
		return 0;		/* taken after all */
	/* The withdrawn element may have freed the only slot. */
	gosync_side_wake_if_armed(&ch->send);			/* E */
	return gosync_handoff_ret(&s, ret);
}

/* Closed, and past the grace for elements still being published? */
static bool gosync_chan_closed_for_good(struct gosync_chan *ch)
{
	/* Acquire: pairs with set_bit()'s barrier in gosync_chan_ioctl_close. */
	if (!test_bit_acquire(GOSYNC_CHAN_CLOSED, &ch->flags))
		return false;
	return ktime_get_ns() - READ_ONCE(ch->closed_ns) >= GOSYNC_CLOSE_GRACE_NS;
}

/* One ring receive; wakes senders when it freed a slot. */
static int gosync_ring_recv_once(struct gosync_chan *ch, void *elem)
{
	int freed = 0;
	int ret = gosync_ring_try_recv(&ch->ring, elem, &freed);

	if (freed)
		gosync_side_wake_if_armed(&ch->send);		/* E */
	return ret;
}

static int gosync_try_recv(struct gosync_chan *ch, void *elem)
{
	int ret = gosync_ring_recv_once(ch, elem);

	/* Acquire: pairs with set_bit()'s barrier in gosync_chan_ioctl_close. */
	if (!gosync_would_block(ret) ||
	    !test_bit_acquire(GOSYNC_CHAN_CLOSED, &ch->flags))
		return ret;
	/*
	 * Closed, and nothing to take.  The answer may predate a send and
	 * the close that followed it (the close sets the tail's bit before
	 * the flag): ask again.  Empty then, the channel is drained, even if
	 * the tail's bit was scribbled away; an element still being published
	 * gets the grace, no more.
	 */
	if (ret == -EAGAIN) {
		ret = gosync_ring_recv_once(ch, elem);
		if (ret == -EAGAIN)
			ret = 0;
	}
	if (gosync_would_block(ret) && gosync_chan_closed_for_good(ch))
		ret = 0;
	return ret;
}

/*
 * The bounce buffer of a kernel-path call: elements are copied between
 * user memory and the ring only through it, so nothing faults while a
 * slot is claimed.
 */
struct gosync_bounce {
	void *buf;
	u8 small[GOSYNC_SMALL_ELEM];
};

static void *gosync_bounce_get(struct gosync_bounce *b, u32 size)
{
	b->buf = size <= sizeof(b->small) ? b->small : kvmalloc(size, GFP_KERNEL);
	return b->buf;
}

static void gosync_bounce_put(struct gosync_bounce *b)
{
	if (b->buf != b->small)
		kvfree(b->buf);
}

/*
 * Between two elements of a long batch: yield, and stop for a signal or
 * (every 16 elements) once the deadline has passed, as the batch may never
 * have to wait, and so never look at either (a receiver draining as fast
 * as it sends kept a SEND of 2^31 0-byte elements going for minutes past
 * its deadline).  A non-blocking batch has no deadline to keep.
 */
static bool gosync_batch_stop(u32 i, s64 deadline)
{
	cond_resched();
	if (signal_pending(current))
		return true;
	return !(i & 15) && deadline != GOSYNC_DEADLINE_NONBLOCK &&
	       ktime_get_ns() >= deadline;
}

/*
 * Send @count elements from @from (user memory), in order.  Return: how
 * many were sent when at least one was, else the error of the first.
 */
static long gosync_chan_send_iter(struct gosync_chan *ch, struct iov_iter *from,
				  u32 count, bool sync, s64 deadline)
{
	u32 size = ch->layout.elem_size;
	/*
	 * A non-blocking sync batch spends GOSYNC_HANDOFF_NS on all its
	 * hand-offs together, as a non-blocking select does on its send
	 * cases: each element waits for a receiver to take it, and one that
	 * comes back for every element made "non-blocking" last
	 * count * GOSYNC_HANDOFF_NS.
	 */
	bool shared = sync && deadline == GOSYNC_DEADLINE_NONBLOCK;
	s64 until = GOSYNC_DEADLINE_FOREVER;
	struct gosync_bounce b;
	long ret = 0;
	u32 i;

	if (!gosync_bounce_get(&b, size))
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		/* A long batch that never waits still yields and stops. */
		if (i && gosync_batch_stop(i, deadline))
			break;
		if (copy_from_iter(b.buf, size, from) != size) {
			ret = -EFAULT;
			break;
		}
		/* From the first hand-off: not its allocation or fault. */
		if (shared && !i)
			until = ktime_get_ns() + GOSYNC_HANDOFF_NS;
		ret = gosync_chan_send_one(ch, b.buf, sync, deadline, 0, until);
		if (ret)
			break;
	}
	gosync_bounce_put(&b);
	return i ? i : ret;
}

/*
 * Receive up to @count elements into @to (user memory): wait (until
 * @deadline) for the first, then take what is there without waiting.
 * Return: how many, 0 when closed and drained, or the error of the first.
 */
static long gosync_chan_recv_iter(struct gosync_chan *ch, struct iov_iter *to,
				  u32 count, s64 deadline)
{
	u32 size = ch->layout.elem_size;
	struct gosync_bounce b;
	long ret = 0;
	u32 i;

	if (!gosync_bounce_get(&b, size))
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		if (i && gosync_batch_stop(i, deadline))
			break;
		/*
		 * Fault the destination in before taking an element, so a bad
		 * buffer costs nothing.  (Another thread unmapping it before
		 * the copy below still loses the element: its bug.)
		 */
		if (fault_in_iov_iter_writeable(to, size)) {
			ret = -EFAULT;
			break;
		}
		if (!i)
			ret = gosync_chan_wait(ch, &ch->recv, deadline,
					       gosync_try_recv, b.buf);
		else
			ret = gosync_try_recv(ch, b.buf);
		if (ret != 1)
			break;
		if (copy_to_iter(b.buf, size, to) != size) {
			ret = -EFAULT;
			break;
		}
	}
	gosync_bounce_put(&b);
	if (i)
		return i;
	return ret == 1 ? -EFAULT : ret;
}

/* ------------------------------------------------ for select and uring -- */

struct gosync_chan *gosync_chan_of(struct file *file)
{
	return file->f_op == &gosync_chan_fops ? file->private_data : NULL;
}

u32 gosync_chan_elem(struct gosync_chan *ch)
{
	return ch->layout.elem_size;
}

bool gosync_chan_is_unbuffered(struct gosync_chan *ch)
{
	return gosync_chan_unbuffered(ch);
}

bool gosync_chan_is_closed(struct gosync_chan *ch)
{
	return gosync_chan_closed(ch);
}

wait_queue_head_t *gosync_chan_wq(struct gosync_chan *ch, bool recv)
{
	return recv ? &ch->recv.wq : &ch->send.wq;
}

/* Arm a side before a last look (F); the next event on it wakes its wq. */
void gosync_chan_arm(struct gosync_chan *ch, bool recv)
{
	gosync_side_arm(recv ? &ch->recv : &ch->send);		/* F */
}

/* A select starts or stops waiting to receive on @ch. */
void gosync_chan_receiving(struct gosync_chan *ch, int delta)
{
	gosync_recv_waiters_add(ch, delta);
}

/* Would a send not wait?  (@self: the caller's own receiver registrations) */
bool gosync_chan_send_ready(struct gosync_chan *ch, int self)
{
	if (gosync_chan_closed(ch))
		return true;
	if (!gosync_ring_writable(&ch->ring))
		return false;
	return !gosync_chan_unbuffered(ch) || gosync_other_receivers(ch, self);
}

/* -EAGAIN for "would wait", except -EBUSY: busy, try again soon. */
static int gosync_would_block_as_eagain(int ret)
{
	return ret == -EINPROGRESS ? -EAGAIN : ret;
}

/*
 * One send attempt from kernel memory, no waiting: 0, -EPIPE, -EAGAIN
 * or -EBUSY (a peer keeps the ring busy: try again soon).
 * @sync: publish as SYNC (the caller then waits for gosync_chan_delivered()
 * or withdraws), with its position in @pos.
 */
int gosync_chan_send_now(struct gosync_chan *ch, const void *elem, bool sync,
			 u64 *pos)
{
	struct gosync_send s = {
		.elem = elem,
		.state = sync ? GOSYNC_SLOT_SYNC : GOSYNC_SLOT_FULL,
	};
	int ret = gosync_would_block_as_eagain(gosync_try_send(ch, &s));

	if (!ret && pos)
		*pos = s.pos;
	return ret;
}

/* One receive attempt into kernel memory: 1, 0 (closed), -EAGAIN, -EBUSY, -EIO. */
int gosync_chan_recv_now(struct gosync_chan *ch, void *elem)
{
	return gosync_would_block_as_eagain(gosync_try_recv(ch, elem));
}

/* The SYNC element at @pos: 0 taken, -EPIPE closed, -EAGAIN not yet. */
int gosync_chan_delivered(struct gosync_chan *ch, u64 pos)
{
	struct gosync_send s = { .pos = pos };

	return gosync_try_delivered(ch, &s);
}

/* Take back the SYNC element at @pos: 1 withdrawn, 0 it was taken. */
int gosync_chan_withdraw(struct gosync_chan *ch, u64 pos)
{
	if (!gosync_ring_withdraw(&ch->ring, pos))
		return 0;
	gosync_side_wake_if_armed(&ch->send);			/* E */
	return 1;
}

/*
 * A select's send on an unbuffered channel: hand @elem to a receiver
 * that is blocked (other than the select's own), waiting until it takes
 * it, no such receiver is left, GOSYNC_HANDOFF_NS, or @deadline (the
 * select's, GOSYNC_DEADLINE_NONBLOCK: no more than the bound).
 * 0 delivered, -EAGAIN nobody took it, -EPIPE closed.
 */
int gosync_chan_handoff(struct gosync_chan *ch, const void *elem, int self,
			s64 deadline)
{
	return gosync_chan_send_one(ch, elem, true, GOSYNC_DEADLINE_NONBLOCK,
				    self, deadline);
}

/* ------------------------------------------------------------- ioctls -- */

/*
 * The most elements one SEND/RECV moves: as many bytes as one read(2) may,
 * so the count fits an int (the compat ioctl's return).  A 0-byte element
 * counts as one byte here, and nothing divides by its size.
 */
static u32 gosync_xfer_max(struct gosync_chan *ch)
{
	return MAX_RW_COUNT / max_t(u32, ch->layout.elem_size, 1);
}

static long gosync_chan_ioctl_xfer(struct gosync_chan *ch, unsigned int cmd,
				   void __user *uarg)
{
	bool send = cmd == GOSYNC_CHAN_IOC_SEND;
	struct gosync_chan_xfer x;
	struct iov_iter iter;
	struct iovec iov;
	long ret;

	if (copy_from_user(&x, uarg, sizeof(x)))
		return -EFAULT;
	if (x.flags & ~(send ? GOSYNC_SEND_FLAGS : GOSYNC_RECV_FLAGS) ||
	    !gosync_mem_is_zero(x.resv, sizeof(x.resv)) || !x.count ||
	    x.count > gosync_xfer_max(ch))
		return -EINVAL;
	ret = gosync_check_deadline(x.deadline_ns);
	if (ret)
		return ret;
	if (!ch->layout.elem_size) {
		/* Nothing to copy: the pointer is not looked at, not even checked. */
		iov.iov_base = NULL;
		iov.iov_len = 0;
		iov_iter_init(&iter, send ? WRITE : READ, &iov, 1, 0);
	} else {
		ret = import_single_range(send ? WRITE : READ,
					  u64_to_user_ptr(x.elem),
					  (size_t)x.count * ch->layout.elem_size,
					  &iov, &iter);
		if (ret)
			return ret;
	}
	if (send)
		return gosync_chan_send_iter(ch, &iter, x.count,
					     (x.flags & GOSYNC_SEND_SYNC) ||
					     gosync_chan_unbuffered(ch),
					     x.deadline_ns);
	return gosync_chan_recv_iter(ch, &iter, x.count, x.deadline_ns);
}

static int gosync_chan_do_close(struct gosync_chan *ch)
{
	if (gosync_chan_closed(ch))
		return -EPIPE;
	/*
	 * The tail's bit first: once the kernel's flag says closed, sends on
	 * the fast path have stopped too (unless a peer scribbled the bit).
	 */
	gosync_ring_close(&ch->ring);
	WRITE_ONCE(ch->closed_ns, ktime_get_ns());
	/* Fully ordered: closed_ns before the flag; matches the acquire. */
	if (test_and_set_bit(GOSYNC_CHAN_CLOSED, &ch->flags))
		return -EPIPE;
	gosync_side_wake(&ch->recv);
	gosync_side_wake(&ch->send);
	return 0;
}

/* The kernel's close of a channel it holds (a context's done channel). */
void gosync_chan_close_kernel(struct gosync_chan *ch)
{
	gosync_chan_do_close(ch);
}

/*
 * Every file made of @ch from now on (it has none yet) holds @pin too,
 * put by @unpin after the file's own reference.
 */
void gosync_chan_pin(struct gosync_chan *ch, struct kref *pin,
		     void (*unpin)(struct kref *pin))
{
	ch->pin = pin;
	ch->unpin = unpin;
}

static long gosync_chan_ioctl_close(struct file *file, unsigned long arg)
{
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;		/* a receive-only end: Go's rule */
	if (arg)
		return -EINVAL;
	return gosync_chan_do_close(file->private_data);
}

static long gosync_chan_ioctl_wake(struct gosync_chan *ch, void __user *uarg)
{
	struct gosync_chan_wake w;

	if (copy_from_user(&w, uarg, sizeof(w)))
		return -EFAULT;
	if (!w.flags || w.flags & ~GOSYNC_WAKE_FLAGS || w.resv)
		return -EINVAL;
	if (w.flags & GOSYNC_WAKE_RECV)
		gosync_side_wake(&ch->recv);
	if (w.flags & GOSYNC_WAKE_SEND)
		gosync_side_wake(&ch->send);
	return 0;
}

static long gosync_chan_ioctl_info(struct file *file, void __user *uarg)
{
	struct gosync_chan *ch = file->private_data;
	struct gosync_chan_info info;

	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	if (info.flags || !gosync_mem_is_zero(info.resv, sizeof(info.resv)))
		return -EINVAL;
	memset(&info, 0, sizeof(info));
	info.elem_size = ch->layout.elem_size;
	info.cap = ch->layout.cap;
	info.nslots = ch->layout.nslots;
	info.slot_size = ch->layout.slot_size;
	info.state = gosync_chan_closed(ch) ? GOSYNC_CHAN_STATE_CLOSED : 0;
	if (!(file->f_mode & FMODE_WRITE))
		info.state |= GOSYNC_CHAN_STATE_NOSEND;
	if (!(file->f_mode & FMODE_READ))
		info.state |= GOSYNC_CHAN_STATE_NORECV;
	if (test_bit(GOSYNC_CHAN_AUTO, &ch->flags))
		info.state |= GOSYNC_CHAN_STATE_AUTOCLOSE;
	info.map_size = ch->layout.map_size;
	info.off_tail = ch->layout.off_tail;
	info.off_head = ch->layout.off_head;
	info.off_recv_wait = ch->layout.off_recv_wait;
	info.off_send_wait = ch->layout.off_send_wait;
	info.off_slots = ch->layout.off_slots;
	info.len = gosync_chan_unbuffered(ch) ? 0 : gosync_ring_len(&ch->ring);
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long gosync_chan_ioctl_dup(struct file *file,
				  struct gosync_chan_dup __user *uarg);

static long gosync_chan_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct gosync_chan *ch = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case GOSYNC_CHAN_IOC_SEND:
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return gosync_chan_ioctl_xfer(ch, cmd, uarg);
	case GOSYNC_CHAN_IOC_RECV:
		if (!(file->f_mode & FMODE_READ))
			return -EBADF;
		return gosync_chan_ioctl_xfer(ch, cmd, uarg);
	case GOSYNC_CHAN_IOC_CLOSE:
		return gosync_chan_ioctl_close(file, arg);
	case GOSYNC_CHAN_IOC_WAKE:
		return gosync_chan_ioctl_wake(ch, uarg);
	case GOSYNC_CHAN_IOC_INFO:
		return gosync_chan_ioctl_info(file, uarg);
	case GOSYNC_CHAN_IOC_MAP:
		return gosync_shm_ioctl_map(file, uarg);
	case GOSYNC_CHAN_IOC_DUP:
		return gosync_chan_ioctl_dup(file, uarg);
	default:
		return -ENOTTY;
	}
}

/* ------------------------------------------------ read, write, poll -- */

static s64 gosync_file_deadline(struct kiocb *iocb)
{
	/* fcntl(F_SETFL) may change f_flags meanwhile: one marked look. */
	return (READ_ONCE(iocb->ki_filp->f_flags) & O_NONBLOCK) ||
	       (iocb->ki_flags & IOCB_NOWAIT) ? GOSYNC_DEADLINE_NONBLOCK :
						GOSYNC_DEADLINE_FOREVER;
}

/*
 * Whole elements only; the count is bounded so it fits an int.  The VFS
 * has already cut a longer request to MAX_RW_COUNT bytes, which need not
 * be whole elements: that one is rounded down, as the VFS would have had
 * it been a multiple.  With 0-byte elements no byte count says how many
 * are meant (gosync(4)): EINVAL, whatever the count.
 */
static long gosync_file_count(struct gosync_chan *ch, size_t bytes)
{
	u32 size = ch->layout.elem_size;

	if (!size)
		return -EINVAL;
	if (bytes >= MAX_RW_COUNT)
		bytes = MAX_RW_COUNT - MAX_RW_COUNT % size;
	if (!bytes || bytes % size)
		return -EINVAL;
	return bytes / size;
}

/*
 * read(2), readv(2), preadv2(2) (RWF_NOWAIT: no wait beyond the bounded
 * hand-off).  Asynchronous reads (io_uring's IORING_OP_READ, aio) are
 * refused with EINVAL: io_uring in 6.1 retries a read that would wait
 * after every poll that says ready, from the submitter's task work, so a
 * read that a channel's readiness cannot promise (another consumer took
 * the element, a withdrawn position, a closed channel's grace) would spin
 * there, unkillably.  The errno matters: io_uring takes EAGAIN, and on a
 * non-blocking issue EOPNOTSUPP too, as "retry when polled ready", and
 * its retry bound can be lost on the way through io-wq; EINVAL ends the
 * request at its first issue.  io_uring has the channel commands
 * (GOSYNC_URING_SEND/RECV) instead.  The file is FMODE_NOWAIT so that
 * io_uring asks us at once rather than punting to io-wq first.
 */
static ssize_t gosync_chan_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct gosync_chan *ch = iocb->ki_filp->private_data;
	long count;

	if (!is_sync_kiocb(iocb))
		return -EINVAL;
	count = gosync_file_count(ch, iov_iter_count(to));
	if (count < 0)
		return count;
	count = gosync_chan_recv_iter(ch, to, count, gosync_file_deadline(iocb));
	return count < 0 ? count : count * ch->layout.elem_size;
}

/* write(2) and friends, as gosync_chan_read_iter(). */
static ssize_t gosync_chan_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct gosync_chan *ch = iocb->ki_filp->private_data;
	long count;

	if (!is_sync_kiocb(iocb))
		return -EINVAL;
	count = gosync_file_count(ch, iov_iter_count(from));
	if (count < 0)
		return count;
	count = gosync_chan_send_iter(ch, from, count, gosync_chan_unbuffered(ch),
				      gosync_file_deadline(iocb));
	return count < 0 ? count : count * ch->layout.elem_size;
}

static bool gosync_chan_writable(struct gosync_chan *ch)
{
	if (gosync_chan_closed(ch))
		return true;		/* a send fails at once */
	if (!gosync_ring_writable(&ch->ring))
		return false;
	/* Unbuffered: a send completes only into a waiting receiver. */
	return !gosync_chan_unbuffered(ch) || atomic_read(&ch->recv.waiters);
}

static bool gosync_chan_readable(struct gosync_chan *ch)
{
	return gosync_chan_closed(ch) || gosync_ring_readable(&ch->ring);
}

static __poll_t gosync_chan_poll(struct file *file, poll_table *pt)
{
	struct gosync_chan *ch = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &ch->recv.wq, pt);
	poll_wait(file, &ch->send.wq, pt);

	/* Not ready: arm, then look again (F), as a blocking waiter does. */
	if (!gosync_chan_readable(ch))
		gosync_side_arm(&ch->recv);
	if (gosync_chan_readable(ch))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (!gosync_chan_writable(ch))
		gosync_side_arm(&ch->send);
	if (gosync_chan_writable(ch))
		mask |= EPOLLOUT | EPOLLWRNORM;
	if (gosync_chan_closed(ch))
		mask |= EPOLLHUP;
	return mask;
}

/* --------------------------------------------------------------- mmap -- */

/*
 * A mapping is gone: release what its owner left claimed, in the slots it
 * touched (the only ones it can have claimed: bounded by the pages it
 * faulted in, not by the ring's size), and wake both sides whatever it
 * held: a process can die after publishing an element or freeing a slot
 * and before the wake it owed (E), with a waiter armed and asleep.
 */
static void gosync_chan_died(struct gosync_mapping *map)
{
	struct gosync_chan *ch = map->objfile->private_data;
	const struct gosync_chan_header *l = &ch->layout;
	unsigned int page = 0;
	u32 first, last;

	while (gosync_mapping_next_slots(map, &page, l->off_slots, l->slot_size,
					 l->nslots, &first, &last)) {
		gosync_ring_release_owner(&ch->ring, map->owner, first, last);
		cond_resched();
	}
	gosync_side_wake(&ch->recv);
	gosync_side_wake(&ch->send);
}

static int gosync_chan_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct gosync_chan *ch = file->private_data;

	return gosync_shm_mmap(&ch->shm, vma, false, &ch->owners, gosync_chan_died);
}

/* ------------------------------------------------------------- the fd -- */

/* A new file of @ch exists: count it if it can send. */
static void gosync_chan_end_opened(struct gosync_chan *ch, fmode_t fmode)
{
	if (fmode & FMODE_WRITE)
		atomic_inc(&ch->ends);
}

static void gosync_chan_end_released(struct gosync_chan *ch, fmode_t fmode)
{
	/* The last end that can send: pipe EOF (see the top of this file). */
	if (fmode & FMODE_WRITE && atomic_dec_and_test(&ch->ends) &&
	    test_bit(GOSYNC_CHAN_AUTO, &ch->flags))
		gosync_chan_do_close(ch);
}

static int gosync_chan_release(struct inode *inode, struct file *file)
{
	struct gosync_chan *ch = file->private_data;
	void (*unpin)(struct kref *pin) = ch->unpin;
	struct kref *pin = ch->pin;

	gosync_chan_end_released(ch, file->f_mode);
	/* (Never the last with a pin: its holder has one; it goes after.) */
	kref_put(&ch->kref, gosync_chan_free);
	if (pin)
		kref_put(pin, unpin);
	return 0;
}

/* open(2) of a name in a gosync filesystem (fs.c). */
static int gosync_chan_node_open(struct inode *inode, struct file *file)
{
	struct gosync_chan *ch = gosync_fs_object(inode);

	kref_get(&ch->kref);
	file->private_data = ch;
	file->f_mode |= FMODE_NOWAIT;
	gosync_chan_end_opened(ch, file->f_mode);
	return stream_open(inode, file);
}

static void gosync_chan_file_made(void *obj, struct file *file)
{
	struct gosync_chan *ch = obj;

	if (ch->pin)
		kref_get(ch->pin);
	gosync_chan_end_opened(ch, file->f_mode);
}

/*
 * The fd of a new file of @ch; @ch's reference goes to the file.  The
 * file is counted once it exists (and uncounted by its ->release), so
 * no failure on the way leaves a count behind.
 */
static int gosync_chan_install(struct gosync_chan *ch, int oflags,
			       int __user *ufd)
{
	return gosync_install_fd("[gosync-chan]", &gosync_chan_fops, ch, oflags,
				 FMODE_NOWAIT, ufd, &ch->kref, gosync_chan_free,
				 gosync_chan_file_made);
}

/* A new end of @ch (@oflags: its access mode and fd flags) at @ufd. */
int gosync_chan_install_end(struct gosync_chan *ch, int oflags, int __user *ufd)
{
	kref_get(&ch->kref);
	return gosync_chan_install(ch, oflags, ufd);
}

static long gosync_chan_ioctl_dup(struct file *file,
				  struct gosync_chan_dup __user *uarg)
{
	struct gosync_chan *ch = file->private_data;
	struct gosync_chan_dup req;
	u32 dir;
	int acc;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	dir = req.flags & (GOSYNC_DUP_SEND_ONLY | GOSYNC_DUP_RECV_ONLY);
	if (req.flags & ~GOSYNC_DUP_FLAGS || req.resv ||
	    (dir != GOSYNC_DUP_SEND_ONLY && dir != GOSYNC_DUP_RECV_ONLY))
		return -EINVAL;
	/* An end only narrows: what the fd cannot do, its dup cannot. */
	if (!(file->f_mode & (dir == GOSYNC_DUP_SEND_ONLY ? FMODE_WRITE :
							    FMODE_READ)))
		return -EBADF;
	acc = dir == GOSYNC_DUP_SEND_ONLY ? O_WRONLY : O_RDONLY;
	kref_get(&ch->kref);
	return gosync_chan_install(ch, acc |
				   (req.flags & GOSYNC_DUP_CLOEXEC ? O_CLOEXEC : 0) |
				   (req.flags & GOSYNC_DUP_NONBLOCK ? O_NONBLOCK : 0),
				   &uarg->fd);
}

static void gosync_chan_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct gosync_chan *ch = file->private_data;

	seq_puts(m, "gosync-kind:\tchan\n");
	seq_printf(m, "gosync-elem-size:\t%u\n", ch->layout.elem_size);
	seq_printf(m, "gosync-cap:\t%u\n", ch->layout.cap);
	seq_printf(m, "gosync-len:\t%llu\n", gosync_chan_unbuffered(ch) ? 0 :
		   gosync_ring_len(&ch->ring));
	seq_printf(m, "gosync-closed:\t%d\n", gosync_chan_closed(ch));
	seq_printf(m, "gosync-waiting:\t%d %d\n", atomic_read(&ch->recv.waiters),
		   atomic_read(&ch->send.waiters));
	seq_printf(m, "gosync-ends:\t%d\n", atomic_read(&ch->ends));
	seq_printf(m, "gosync-autoclose:\t%d\n",
		   test_bit(GOSYNC_CHAN_AUTO, &ch->flags));
	seq_printf(m, "gosync-dir:\t%s\n", gosync_fmode_dir(file));
	/* Hints from the shared words: positions, i.e. running totals. */
	seq_printf(m, "gosync-sent:\t%llu\n",
		   READ_ONCE(*ch->ring.tail) >> 1);
	seq_printf(m, "gosync-received:\t%llu\n",
		   READ_ONCE(*ch->ring.head));
	seq_printf(m, "gosync-mappings:\t%d\n", atomic_read(&ch->shm.maps));
}

const struct file_operations gosync_chan_fops = {
	.owner		= THIS_MODULE,
	.open		= gosync_chan_node_open,
	.release	= gosync_chan_release,
	.unlocked_ioctl	= gosync_chan_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.read_iter	= gosync_chan_read_iter,
	.write_iter	= gosync_chan_write_iter,
	.poll		= gosync_chan_poll,
	.mmap		= gosync_chan_mmap,
	.show_fdinfo	= gosync_chan_show_fdinfo,
	.uring_cmd	= gosync_uring_cmd,
	.setlease	= simple_nosetlease,	/* a name is not a file's data */
};

static void gosync_side_init(struct gosync_side *side, void *region, u64 off)
{
	init_waitqueue_head(&side->wq);
	side->shared = region + off;
	atomic_set(&side->waiters, 0);
}

static struct gosync_chan *gosync_chan_alloc(u32 elem_size, u32 cap,
					     bool autoclose)
{
	struct gosync_chan_header *hdr;
	struct gosync_chan *ch;
	void *region;
	int ret;

	ch = kzalloc(sizeof(*ch), GFP_KERNEL_ACCOUNT);
	if (!ch)
		return ERR_PTR(-ENOMEM);
	ret = gosync_chan_layout(elem_size, cap, PAGE_SIZE, &ch->layout);
	if (ret)
		goto free_ch;
	ch->layout.magic = GOSYNC_CHAN_MAGIC;
	ret = gosync_charge(&ch->user, ch->layout.map_size);
	if (ret)
		goto free_ch;
	ret = gosync_shm_create(&ch->shm, "gosync-chan", ch->layout.map_size,
				ch->user);
	if (ret)
		goto uncharge;

	region = ch->shm.vaddr;
	hdr = region;
	*hdr = ch->layout;
	gosync_chan_init_slots(region + ch->layout.off_slots,
			       ch->layout.nslots, ch->layout.slot_size);
	ch->ring.tail = region + ch->layout.off_tail;
	ch->ring.head = region + ch->layout.off_head;
	ch->ring.slots = region + ch->layout.off_slots;
	ch->ring.nslots = ch->layout.nslots;
	ch->ring.slot_size = ch->layout.slot_size;
	ch->ring.elem_size = ch->layout.elem_size;
	ch->ring.owner = 0;
	gosync_side_init(&ch->recv, region, ch->layout.off_recv_wait);
	gosync_side_init(&ch->send, region, ch->layout.off_send_wait);
	ida_init(&ch->owners);
	atomic_set(&ch->ends, 0);
	if (autoclose)
		set_bit(GOSYNC_CHAN_AUTO, &ch->flags);
	kref_init(&ch->kref);
	return ch;

uncharge:
	gosync_uncharge(ch->user, ch->layout.map_size);
free_ch:
	kfree(ch);
	return ERR_PTR(ret);
}

long gosync_chan_create(struct gosync_chan_create __user *uarg)
{
	struct gosync_chan_create req;
	struct gosync_chan *ch;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~GOSYNC_CHAN_CREATE_FLAGS ||
	    !gosync_mem_is_zero(req.resv, sizeof(req.resv)))
		return -EINVAL;

	ch = gosync_chan_alloc(req.elem_size, req.cap,
			       req.flags & GOSYNC_CHAN_AUTOCLOSE);
	if (IS_ERR(ch))
		return PTR_ERR(ch);
	return gosync_chan_install(ch, O_RDWR |
				   (req.flags & GOSYNC_CHAN_CLOEXEC ? O_CLOEXEC : 0) |
				   (req.flags & GOSYNC_CHAN_NONBLOCK ? O_NONBLOCK : 0),
				   &uarg->fd);
}

/* A named channel; the mount's @count goes to it once it exists. */
struct gosync_chan *gosync_chan_new(u32 elem_size, u32 cap, bool autoclose,
				    struct gosync_fs_count *count)
{
	struct gosync_chan *ch = gosync_chan_alloc(elem_size, cap, autoclose);

	if (!IS_ERR(ch))
		ch->shm.fscount = count;
	return ch;
}

void gosync_chan_put(struct gosync_chan *ch)
{
	kref_put(&ch->kref, gosync_chan_free);
}

void gosync_chan_shape(struct gosync_chan *ch, u32 *elem_size, u32 *cap)
{
	*elem_size = ch->layout.elem_size;
	*cap = ch->layout.cap;
}
