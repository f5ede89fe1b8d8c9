// SPDX-License-Identifier: GPL-2.0
/*
 * gosync: select over channels (GOSYNC_IOC_SELECT on /dev/gosync).
 *
 * Each round tries every case once, in a fresh random order, with the
 * channels' one-shot operations; the first that succeeds is the one case
 * that fires, so no element is taken by a case that did not win and
 * exactly one fires however many became ready at once.  When none can,
 * the select waits on the wait queue of every case's side, as poll(2)
 * does, and tries again when any of them is woken.
 *
 * No lost wakeup: like gosync_chan_wait() (E/F in chan.c), except that
 * the tries run with the task running (a send case copies its element
 * from user memory in the try), so sleeping is guarded the way
 * wait_woken() guards it: the wake function sets sel->woken before waking
 * the task, the select clears it before arming the sides (F) and
 * re-trying, and sleeps only if it is still clear after setting its task
 * state.
 *
 * A receive case makes the select a blocked receiver of that channel
 * while it waits, so that a send on an unbuffered channel (a select's,
 * too) sees it.  A send case on an unbuffered channel is ready when a
 * receiver other than this select is blocked there; the select then hands
 * the element over and is committed to that case until the receiver took
 * it (it fires) or no other receiver is left (it is withdrawn, and the
 * select goes on).
 *
 * An fd case (GOSYNC_SELECT_FDREADY) waits for any pollable file, as
 * poll(2) does: the select holds a reference to the file from resolving
 * to the end, joins every wait queue the file's ->poll registers on with
 * the queue proc (gosync_sel_queue_proc(), once, before the first round
 * that may sleep, beside the channels' queues), and its try is a
 * vfs_poll() without a queue proc.  Its wake function sets sel->woken
 * like a channel's, but a generic file's waker has no barrier of ours
 * (no E): so gosync_sel_fd_wake() orders the waker's event before the
 * flag (W, smp_wmb(), as fs/select.c's __pollwake()) and the select
 * clears the flag with a full barrier before its round (X,
 * smp_store_mb()): a wake whose flag the clearing overwrote came from an
 * event that round sees.  Like poll(2), the select polls synchronously
 * in its own task and holds the files, so no queue it is on goes away
 * under it (POLLFREE is for waiters that outlive the poller); the entries
 * are removed before gosync_sel_run() returns, on every path.
 */
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "gosync.h"

struct gosync_sel;

/**
 * struct gosync_sel_fdwait - a select's entry on one wait queue of a file
 * @wait:	on @wqh, woken by gosync_sel_fd_wake()
 * @wqh:	the queue the file's ->poll gave
 * @events:	the case's events (as a poll key)
 * @sel:	the select to wake
 * @next:	the case's next entry
 */
struct gosync_sel_fdwait {
	wait_queue_entry_t wait;
	wait_queue_head_t *wqh;
	__poll_t events;
	struct gosync_sel *sel;
	struct gosync_sel_fdwait *next;
};

/**
 * struct gosync_sel_case - one case, resolved
 * @file:	the channel's file, or an fd case's (a reference), or NULL:
 *		never ready
 * @ch:		the channel (NULL for an fd case)
 * @recv:	a receive case (else a send case)
 * @fdready:	an fd case (GOSYNC_SELECT_FDREADY)
 * @events:	an fd case's events, EPOLLERR and EPOLLHUP included
 * @fdwaits:	an fd case's entries on its file's wait queues
 * @nfdwaits:	how many (at most GOSYNC_SELECT_FD_WAITS)
 * @elem:	the user's element
 * @self:	receiver registrations of this select on @ch (0 or 1), made
 *		by the first receive case of each channel
 * @registers:	this case makes that registration
 * @registered:	some case makes it for this case's channel
 * @wait:	the select's entry on the case's side's wait queue
 * @sel:	back to the select, for the wake function
 */
struct gosync_sel_case {
	struct file *file;
	struct gosync_chan *ch;
	bool recv;
	bool fdready;
	__poll_t events;
	struct gosync_sel_fdwait *fdwaits;
	u32 nfdwaits;
	void __user *elem;
	int self;
	bool registers;
	bool registered;
	wait_queue_entry_t wait;
	struct gosync_sel *sel;
};

struct gosync_sel {
	struct gosync_sel_case *cases;
	u32 *order;
	u32 n;
	void *bounce;
	s64 deadline;
	s64 handoff_until;	/* bound of the unbuffered sends' hand-offs */
	bool enlisted;		/* on the wait queues, registered */
	bool poll_soon;		/* a busy ring or a closed one's grace */
	int woken;
	poll_table pt;		/* fd cases: joins their queues, or only polls */
	struct gosync_sel_case *polling;	/* the fd case pt joins for */
	int fd_error;		/* what joining a file's queues met */
	u32 index;		/* the case that fired, or failed with EPIPE */
	int result;		/* its result */
};

static int gosync_sel_wake(wait_queue_entry_t *wait, unsigned int mode,
			   int sync, void *key)
{
	struct gosync_sel_case *c = container_of(wait, struct gosync_sel_case,
						 wait);

	/* Before the wake: a select about to sleep sees it (wait_woken()). */
	WRITE_ONCE(c->sel->woken, 1);
	return default_wake_function(wait, mode, sync, key);
}

/* An fd case's file woke one of its queues. */
static int gosync_sel_fd_wake(wait_queue_entry_t *wait, unsigned int mode,
			      int sync, void *key)
{
	struct gosync_sel_fdwait *w = container_of(wait,
						   struct gosync_sel_fdwait,
						   wait);

	/* Events the case does not wait for need no round (as poll(2)). */
	if (key && !(key_to_poll(key) & w->events))
		return 0;
	/*
	 * W: the waker's event before the flag; matches X in
	 * gosync_sel_wait().  No barrier of ours is on a file's wake path,
	 * and taking the queue's lock orders nothing before it.
	 */
	smp_wmb();
	WRITE_ONCE(w->sel->woken, 1);
	return default_wake_function(wait, mode, sync, key);
}

/* vfs_poll()'s queue proc: one more entry for the case being joined. */
static void gosync_sel_queue_proc(struct file *file, wait_queue_head_t *wqh,
				  poll_table *pt)
{
	struct gosync_sel *sel = container_of(pt, struct gosync_sel, pt);
	struct gosync_sel_case *c = sel->polling;
	struct gosync_sel_fdwait *w;

	if (sel->fd_error)
		return;
	/* A file registers on one or two queues; a bound keeps it finite. */
	if (c->nfdwaits >= GOSYNC_SELECT_FD_WAITS) {
		sel->fd_error = -ENOMEM;
		return;
	}
	w = kmalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w) {
		sel->fd_error = -ENOMEM;
		return;
	}
	init_waitqueue_func_entry(&w->wait, gosync_sel_fd_wake);
	w->wait.private = current;
	w->wqh = wqh;
	w->events = c->events;
	w->sel = sel;
	w->next = c->fdwaits;
	c->fdwaits = w;
	c->nfdwaits++;
	add_wait_queue(wqh, &w->wait);
}

/*
 * Join the wait queues of every fd case's file, before the rounds that
 * may sleep.  Return: 0, or -ENOMEM (gosync_sel_fd_leave() undoes a part
 * joined).
 */
static int gosync_sel_fd_join(struct gosync_sel *sel)
{
	u32 i;

	for (i = 0; i < sel->n; i++) {
		struct gosync_sel_case *c = &sel->cases[i];

		if (!c->fdready || !c->file)
			continue;
		init_poll_funcptr(&sel->pt, gosync_sel_queue_proc);
		sel->pt._key = c->events;
		sel->polling = c;
		/* What it says now does not count: the rounds look again. */
		vfs_poll(c->file, &sel->pt);
		if (sel->fd_error)
			return sel->fd_error;
		if ((i & 63) == 63)
			cond_resched();
	}
	return 0;
}

/* Leave every queue gosync_sel_fd_join() joined. */
static void gosync_sel_fd_leave(struct gosync_sel *sel)
{
	u32 i;

	for (i = 0; i < sel->n; i++) {
		struct gosync_sel_case *c = &sel->cases[i];

		while (c->fdwaits) {
			struct gosync_sel_fdwait *w = c->fdwaits;

			c->fdwaits = w->next;
			remove_wait_queue(w->wqh, &w->wait);
			kfree(w);
		}
		c->nfdwaits = 0;
		if ((i & 63) == 63)
			cond_resched();
	}
}

/* An fd case: fired (its revents in sel->result), or -EAGAIN. */
static int gosync_sel_try_fd(struct gosync_sel *sel, struct gosync_sel_case *c)
{
	__poll_t mask;

	if (!c->file)
		return -EAGAIN;
	/* Only look: the queues were joined once (gosync_sel_fd_join()). */
	init_poll_funcptr(&sel->pt, NULL);
	sel->pt._key = c->events;
	mask = vfs_poll(c->file, &sel->pt) & c->events;
	if (!mask)
		return -EAGAIN;
	sel->result = mangle_poll(mask);
	return 0;
}

/* Add (or take back) this select's receiver registrations. */
static void gosync_sel_receiving(struct gosync_sel *sel, int delta)
{
	u32 i;

	for (i = 0; i < sel->n; i++)
		if (sel->cases[i].registers)
			gosync_chan_receiving(sel->cases[i].ch, delta);
}

/* Fired: >= 0 (sel->result set); not ready: -EAGAIN; else an error. */
static int gosync_sel_try(struct gosync_sel *sel, struct gosync_sel_case *c)
{
	u32 size;
	int ret;

	if (c->fdready)
		return gosync_sel_try_fd(sel, c);
	if (!c->ch)
		return -EAGAIN;
	size = gosync_chan_elem(c->ch);
	if (c->recv) {
		/* Fault the destination in first: a bad one costs nothing. */
		if (fault_in_writeable(c->elem, size))
			return -EFAULT;
		ret = gosync_chan_recv_now(c->ch, sel->bounce);
		if (ret == -EBUSY || (ret == -EAGAIN &&
				      gosync_chan_is_closed(c->ch)))
			sel->poll_soon = true;
		if (ret < 0)
			return ret == -EBUSY ? -EAGAIN : ret;
		if (ret == 1 && copy_to_user(c->elem, sel->bounce, size))
			return -EFAULT;
		sel->result = ret;
		return 0;
	}
	if (gosync_chan_is_closed(c->ch)) {
		sel->result = -EPIPE;
		return -EPIPE;
	}
	if (!gosync_chan_send_ready(c->ch, c->self))
		return -EAGAIN;
	if (copy_from_user(sel->bounce, c->elem, size))
		return -EFAULT;
	if (gosync_chan_is_unbuffered(c->ch)) {
		/*
		 * Committed to this case while the receiver takes it: let
		 * go of our own receiver registrations meanwhile, or a
		 * select doing the same towards us would wait for us.
		 */
		if (sel->enlisted)
			gosync_sel_receiving(sel, -1);
		ret = gosync_chan_handoff(c->ch, sel->bounce, 0,
					  sel->handoff_until);
		if (sel->enlisted)
			gosync_sel_receiving(sel, 1);
	} else {
		ret = gosync_chan_send_now(c->ch, sel->bounce, false, NULL);
	}
	if (ret == -EBUSY) {
		sel->poll_soon = true;
		ret = -EAGAIN;
	}
	if (ret == -EPIPE)
		sel->result = -EPIPE;
	else if (!ret)
		sel->result = 0;
	return ret;
}

/*
 * One round over every case in a random order.  Return: 0, a case fired,
 * or -EPIPE, a send case's channel is closed (sel->index says which);
 * -EAGAIN, none could; or another error.
 */
static int gosync_sel_round(struct gosync_sel *sel)
{
	u32 i;

	for (i = 0; i < sel->n; i++)
		sel->order[i] = i;
	for (i = 0; i < sel->n; i++) {
		u32 j = i + get_random_u32_below(sel->n - i);
		u32 k = sel->order[j];
		int ret;

		sel->order[j] = sel->order[i];
		sel->order[i] = k;
		ret = gosync_sel_try(sel, &sel->cases[k]);
		if (!ret || ret == -EPIPE)
			sel->index = k;
		if (ret != -EAGAIN)
			return ret;
		/* Thousands of cases are a long round: yield within it too. */
		if ((i & 63) == 63)
			cond_resched();
	}
	return -EAGAIN;
}

static void gosync_sel_arm(struct gosync_sel *sel)
{
	u32 i;

	for (i = 0; i < sel->n; i++) {
		if (sel->cases[i].ch)
			gosync_chan_arm(sel->cases[i].ch, sel->cases[i].recv);
		if ((i & 63) == 63)
			cond_resched();
	}
}

/* Join (or leave) every case's wait queue, and receive registrations. */
static void gosync_sel_enlist(struct gosync_sel *sel, bool join)
{
	u32 i;

	for (i = 0; i < sel->n; i++) {
		struct gosync_sel_case *c = &sel->cases[i];
		wait_queue_head_t *wq;

		if (!c->ch)
			continue;
		wq = gosync_chan_wq(c->ch, c->recv);
		if (join)
			add_wait_queue(wq, &c->wait);
		else
			remove_wait_queue(wq, &c->wait);
		if ((i & 63) == 63)
			cond_resched();
	}
	gosync_sel_receiving(sel, join ? 1 : -1);
	sel->enlisted = join;
	for (i = 0; i < sel->n; i++)
		sel->cases[i].self = join && sel->cases[i].registered;
}

/*
 * Rounds and sleeps, on every queue already: return as gosync_sel_round(),
 * or -ETIMEDOUT, -ERESTARTSYS.
 */
static int gosync_sel_wait(struct gosync_sel *sel, s64 deadline)
{
	int ret;

	for (;;) {
		/*
		 * A round that fired nothing and found itself woken does not
		 * sleep: a peer waking a case's queue in a loop (a stream of
		 * GOSYNC_CHAN_IOC_WAKE) would keep us here for as long as it
		 * goes on.  Every round is a scheduling point.
		 */
		cond_resched();
		/* X: cleared before the round looks; matches W. */
		smp_store_mb(sel->woken, 0);
		sel->poll_soon = false;
		gosync_sel_arm(sel);				/* F */
		ret = gosync_sel_round(sel);
		if (ret != -EAGAIN)
			return ret;
		/* The deadline first: task work that keeps coming must not hold it. */
		if (ktime_get_ns() >= deadline)
			return -ETIMEDOUT;
		if (signal_pending(current))
			return gosync_signal_ret();
		set_current_state(TASK_INTERRUPTIBLE);
		if (!READ_ONCE(sel->woken))
			/* No event ends a busy ring or a grace: poll. */
			gosync_sleep_until(sel->poll_soon ?
					   min_t(s64, deadline, ktime_get_ns() +
						 NSEC_PER_MSEC) : deadline);
		__set_current_state(TASK_RUNNING);
	}
}

/*
 * Return: as gosync_sel_round(), or -EAGAIN, -ETIMEDOUT, -ERESTARTSYS,
 * -ENOMEM.  Every wait queue entry is gone when it returns.
 */
static int gosync_sel_run(struct gosync_sel *sel, s64 deadline)
{
	int ret;

	ret = gosync_sel_round(sel);
	if (ret != -EAGAIN)
		return ret;
	if (deadline == GOSYNC_DEADLINE_NONBLOCK) {
		/* An edge-triggered poller must hear of the next event. */
		gosync_sel_arm(sel);				/* F */
		return gosync_sel_round(sel);
	}

	gosync_sel_enlist(sel, true);
	ret = gosync_sel_fd_join(sel);
	if (!ret)
		ret = gosync_sel_wait(sel, deadline);
	gosync_sel_fd_leave(sel);
	gosync_sel_enlist(sel, false);
	return ret;
}

/* Order case indexes by channel, then by index (sort_r's comparison). */
static int gosync_sel_cmp(const void *a, const void *b, const void *priv)
{
	const struct gosync_sel_case *cases = priv;
	u32 i = *(const u32 *)a, j = *(const u32 *)b;
	uintptr_t ci = (uintptr_t)cases[i].ch, cj = (uintptr_t)cases[j].ch;

	if (ci != cj)
		return ci < cj ? -1 : 1;
	return i < j ? -1 : i > j;
}

/*
 * One receiver registration per channel, made by its first receive case;
 * and for every case, whether its channel has one.  Sorted by channel
 * (sel->order as the scratch), so thousands of cases cost n log n, not
 * n squared.
 */
static void gosync_sel_registrations(struct gosync_sel *sel)
{
	u32 i, start, k;

	for (i = 0; i < sel->n; i++)
		sel->order[i] = i;
	sort_r(sel->order, sel->n, sizeof(*sel->order), gosync_sel_cmp, NULL,
	       sel->cases);
	for (start = 0; start < sel->n; start = i) {
		struct gosync_sel_case *first = NULL;

		for (i = start; i < sel->n && sel->cases[sel->order[i]].ch ==
					      sel->cases[sel->order[start]].ch; i++) {
			struct gosync_sel_case *c = &sel->cases[sel->order[i]];

			if (c->ch && c->recv && !first)
				first = c;
		}
		if (!first)
			continue;
		first->registers = true;
		for (k = start; k < i; k++)
			sel->cases[sel->order[k]].registered = true;
	}
}

static int gosync_sel_resolve(struct gosync_sel *sel,
			      struct gosync_select_case *uc)
{
	u32 i, max = 1;

	for (i = 0; i < sel->n; i++) {
		struct gosync_sel_case *c = &sel->cases[i];

		if (uc[i].flags || (uc[i].op != GOSYNC_SELECT_SEND &&
				    uc[i].op != GOSYNC_SELECT_RECV &&
				    uc[i].op != GOSYNC_SELECT_FDREADY))
			return -EINVAL;
		c->sel = sel;
		c->recv = uc[i].op == GOSYNC_SELECT_RECV;
		c->fdready = uc[i].op == GOSYNC_SELECT_FDREADY;
		if (c->fdready) {
			/* struct pollfd's events: 16 bits, the rest is future. */
			if (uc[i].events > U16_MAX)
				return -EINVAL;
			c->events = demangle_poll(uc[i].events) | EPOLLERR |
				    EPOLLHUP;
		} else {
			c->elem = u64_to_user_ptr(uc[i].elem);
		}
		init_waitqueue_func_entry(&c->wait, gosync_sel_wake);
		c->wait.private = current;
		if (uc[i].fd == -1)
			continue;
		if ((i & 63) == 63)
			cond_resched();
		c->file = fget(uc[i].fd);
		if (!c->file)
			return -EBADF;
		if (c->fdready) {
			/*
			 * poll(2) calls such a file always ready, and a sync
			 * object but a waitgroup never: a mistake here.
			 */
			if (!file_can_poll(c->file) ||
			    gosync_sync_never_ready(c->file))
				return -EINVAL;
			continue;
		}
		c->ch = gosync_chan_of(c->file);
		if (!c->ch)
			return -EINVAL;
		/* A directional end, used against its direction. */
		if (!(c->file->f_mode & (c->recv ? FMODE_READ : FMODE_WRITE)))
			return -EBADF;
		max = max_t(u32, max, gosync_chan_elem(c->ch));
	}
	gosync_sel_registrations(sel);
	sel->bounce = kvmalloc(max, GFP_KERNEL_ACCOUNT);
	return sel->bounce ? 0 : -ENOMEM;
}

long gosync_select(struct gosync_select __user *uarg)
{
	struct gosync_select_case __user *ucases;
	struct gosync_select_case *uc = NULL;
	struct gosync_select req;
	struct gosync_sel sel = { };
	long ret;
	u32 i;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.resv0 ||
	    !gosync_mem_is_zero(req.resv, sizeof(req.resv)) ||
	    req.ncases > GOSYNC_SELECT_MAX ||
	    (req.deadline_ns < 0 && req.deadline_ns != GOSYNC_DEADLINE_NONBLOCK))
		return -EINVAL;

	ucases = u64_to_user_ptr(req.cases);
	sel.n = req.ncases;
	if (sel.n) {
		uc = kvmalloc_array(sel.n, sizeof(*uc), GFP_KERNEL_ACCOUNT);
		sel.cases = kvcalloc(sel.n, sizeof(*sel.cases), GFP_KERNEL_ACCOUNT);
		sel.order = kvmalloc_array(sel.n, sizeof(*sel.order),
					   GFP_KERNEL_ACCOUNT);
		ret = -ENOMEM;
		if (!uc || !sel.cases || !sel.order)
			goto out;
		ret = -EFAULT;
		if (copy_from_user(uc, ucases, sel.n * sizeof(*uc)))
			goto out;
	}
	ret = gosync_sel_resolve(&sel, uc);
	if (ret)
		goto out;

	sel.deadline = req.deadline_ns;
	/*
	 * A non-blocking select spends GOSYNC_HANDOFF_NS at most on all its
	 * hand-offs together, not that much per case and per round.
	 */
	sel.handoff_until = req.deadline_ns == GOSYNC_DEADLINE_NONBLOCK ?
			    ktime_get_ns() + GOSYNC_HANDOFF_NS : req.deadline_ns;
	ret = gosync_sel_run(&sel, req.deadline_ns);
	if (!ret || ret == -EPIPE) {
		if (put_user(sel.result, &ucases[sel.index].result) ||
		    put_user(sel.index, &uarg->index))
			ret = -EFAULT;
		else if (!ret)
			ret = sel.index;
	}
out:
	for (i = 0; sel.cases && i < sel.n; i++) {
		if (sel.cases[i].file)
			fput(sel.cases[i].file);
		if ((i & 63) == 63)
			cond_resched();
	}
	kvfree(sel.bounce);
	kvfree(sel.order);
	kvfree(sel.cases);
	kvfree(uc);
	return ret;
}
