// SPDX-License-Identifier: GPL-2.0
/*
 * gosync: channel sends and receives as io_uring commands
 * (IORING_OP_URING_CMD on a channel fd; see uapi GOSYNC_URING_*).  A
 * batched receive (RECV_N) is a receive whose count is more than one.
 *
 * A command that can complete at once completes inline.  Otherwise it is
 * queued: it waits on its side's wait queue with a wake function of its
 * own, and every attempt after that runs in the submitter's context
 * through io_uring_cmd_complete_in_task(), where it may touch the
 * submitter's memory.  What triggers an attempt ("a kick"): a wake on the
 * side (an element published or a slot freed, or close), the deadline's
 * hrtimer (also a 1 ms poll while a closed channel's grace runs or a peer
 * keeps the ring busy), or the reaper.  6.1 has no cancellation of uring
 * commands, so the module completes every one itself: on success, on
 * close (EPIPE / closed), at its deadline (ETIMEDOUT), and with ECANCELED
 * when its submitter exits, execs or is being killed, or its ring is
 * closed (io_uring waits for every request then; an exiting submitter's
 * attempt runs in a fallback kworker, which must not touch user memory).
 * The reaper looks for those every GOSYNC_REAP_MS.  Until then each
 * command's file reference keeps the module loaded.
 *
 * A queued receive counts as a blocked receiver of its channel, as a
 * blocked receive call does (an unbuffered send is ready for it).
 *
 * No lost wakeup: an attempt clears "kicked", arms its side (F) and
 * tries; a waker that publishes after the try sees armed (E, chan.c) and
 * wakes the side's queue, whose wake function kicks again.
 *
 * Lifetime: at most one attempt is queued at a time ("kicked"); the last
 * attempt takes the command off every kick source (wait queue, timer,
 * reaper list) and then completes it, unless a kick slipped in before
 * that, in which case that queued attempt completes it.
 *
 * Locking: gosync_ucmds_lock (the reaper's list) is taken under no other
 * lock of ours, and held by the reaper for at most GOSYNC_REAP_BATCH
 * commands at a time; wake functions run under the wait queue's lock and
 * take none; gosync_uring_run_own() takes a wait queue's lock alone.
 */
#include <linux/hrtimer.h>
#include <linux/io_uring.h>
#include <linux/io_uring_types.h>
#include <linux/sched/signal.h>
#include <linux/list.h>
#include <linux/pagemap.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "gosync.h"

/* How often the reaper looks for submitters that exited. */
#define GOSYNC_REAP_MS	50

enum gosync_ucmd_phase {
	GOSYNC_UCMD_ROOM,	/* waiting to put the element in */
	GOSYNC_UCMD_DELIVERY,	/* sync send: waiting for a receiver */
	GOSYNC_UCMD_RECV,	/* waiting for an element */
};

/**
 * struct gosync_ucmd - a queued uring command
 * @ioucmd:	the io_uring command (its pdu points back here)
 * @ch:		the channel (alive: io_uring holds the file)
 * @task:	the submitter (a reference)
 * @wait:	our entry on the side's wait queue
 * @timer:	the deadline, unless forever
 * @node:	on gosync_ucmds, for the reaper
 * @elem:	the submitter's element (the first of @count)
 * @count:	elements a receive may take: 1, or a RECV_N's count
 * @deadline:	absolute CLOCK_MONOTONIC ns
 * @pos:	where a sync send's element went
 * @phase:	what it waits for
 * @kicked:	an attempt is queued
 * @polling:	the timer is set for a poll (sooner than the deadline), not
 *		for the deadline: the attempt that stops polling sets it back
 * @finished:	completed while an attempt was queued: that attempt
 *		completes it with @result
 * @result:	the result, once finished
 * @mm:		the submitter's address space: an attempt running in it may
 *		touch the element
 * @user:	who is charged for this command's memory
 * @charged:	how much (the allocation's real size)
 * @bounce:	the element in kernel memory
 */
struct gosync_ucmd {
	struct io_uring_cmd *ioucmd;
	struct gosync_chan *ch;
	struct task_struct *task;
	struct mm_struct *mm;
	wait_queue_entry_t wait;
	struct hrtimer timer;
	struct list_head node;
	void __user *elem;
	u32 count;
	s64 deadline;
	u64 pos;
	enum gosync_ucmd_phase phase;
	atomic_t kicked;
	bool polling;
	bool finished;
	int result;
	struct gosync_user *user;
	size_t charged;
	u8 bounce[];
};

static LIST_HEAD(gosync_ucmds);
static DEFINE_SPINLOCK(gosync_ucmds_lock);
static void gosync_ucmd_reap(struct work_struct *work);
static DECLARE_DELAYED_WORK(gosync_ucmd_reaper, gosync_ucmd_reap);

static struct gosync_ucmd **gosync_ucmd_slot(struct io_uring_cmd *ioucmd)
{
	BUILD_BUG_ON(sizeof(struct gosync_ucmd *) > sizeof(ioucmd->pdu));
	return (struct gosync_ucmd **)ioucmd->pdu;
}

static void gosync_ucmd_attempt(struct io_uring_cmd *ioucmd,
				unsigned int issue_flags);

/* Queue one attempt, unless one is queued already.  Any context. */
static void gosync_ucmd_kick(struct gosync_ucmd *u)
{
	if (!atomic_xchg(&u->kicked, 1))
		io_uring_cmd_complete_in_task(u->ioucmd, gosync_ucmd_attempt);
}

static int gosync_ucmd_wake(wait_queue_entry_t *wait, unsigned int mode,
			    int sync, void *key)
{
	gosync_ucmd_kick(container_of(wait, struct gosync_ucmd, wait));
	return 0;
}

static enum hrtimer_restart gosync_ucmd_timer(struct hrtimer *timer)
{
	gosync_ucmd_kick(container_of(timer, struct gosync_ucmd, timer));
	return HRTIMER_NORESTART;
}

/* Kick at @when (absolute ns), or at the deadline if that is sooner. */
static void gosync_ucmd_timer_at(struct gosync_ucmd *u, s64 when)
{
	if (u->deadline < when)
		when = u->deadline;
	if (when != GOSYNC_DEADLINE_FOREVER)
		hrtimer_start(&u->timer, ns_to_ktime(when), HRTIMER_MODE_ABS_SOFT);
}

/* Must the command give up: its task is going, or its ring is closing? */
static bool gosync_ucmd_abandoned(struct gosync_ucmd *u)
{
	struct task_struct *t = u->task;

	return (READ_ONCE(t->flags) & PF_EXITING) || t->in_execve ||
	       fatal_signal_pending(t) ||
	       percpu_ref_is_dying(&cmd_to_io_kiocb(u->ioucmd)->ctx->refs);
}

/*
 * The reaper walks every queued command, GOSYNC_REAP_BATCH at a time
 * under gosync_ucmds_lock, keeping its place with a cursor node between
 * batches, so a user with many queued commands holds up nobody else's
 * queue or finish for longer than one batch; it stops at an end marker
 * put at the tail when it started, so commands queued meanwhile (at the
 * tail, after it) wait for the next pass instead of making this one
 * endless.  Only the reaper moves its two nodes; queue and finish only
 * add and remove their own.
 */
#define GOSYNC_REAP_BATCH	64

static void gosync_ucmd_reap(struct work_struct *work)
{
	static LIST_HEAD(cursor);
	static LIST_HEAD(end);
	struct gosync_ucmd *u;
	struct list_head *pos;
	bool more;
	int n;

	spin_lock(&gosync_ucmds_lock);
	list_add(&cursor, &gosync_ucmds);
	list_add_tail(&end, &gosync_ucmds);
	while (cursor.next != &end) {
		for (n = 0; n < GOSYNC_REAP_BATCH && cursor.next != &end; n++) {
			pos = cursor.next;
			list_move(&cursor, pos);
			u = list_entry(pos, struct gosync_ucmd, node);
			if (gosync_ucmd_abandoned(u))
				gosync_ucmd_kick(u);
		}
		spin_unlock(&gosync_ucmds_lock);
		cond_resched();
		spin_lock(&gosync_ucmds_lock);
	}
	list_del(&cursor);
	list_del(&end);
	more = !list_empty(&gosync_ucmds);
	spin_unlock(&gosync_ucmds_lock);
	if (more)
		schedule_delayed_work(&gosync_ucmd_reaper,
				      msecs_to_jiffies(GOSYNC_REAP_MS));
}

static bool gosync_would_wait(int ret)
{
	return ret == -EAGAIN || ret == -EBUSY;
}

static bool gosync_ucmd_recv_side(struct gosync_ucmd *u)
{
	return u->phase == GOSYNC_UCMD_RECV;
}

/* Start waiting: join the side's queue, the reaper's list, the timer. */
static void gosync_ucmd_queue(struct gosync_ucmd *u)
{
	init_waitqueue_func_entry(&u->wait, gosync_ucmd_wake);
	add_wait_queue(gosync_chan_wq(u->ch, gosync_ucmd_recv_side(u)),
		       &u->wait);
	spin_lock(&gosync_ucmds_lock);
	list_add_tail(&u->node, &gosync_ucmds);
	spin_unlock(&gosync_ucmds_lock);
	schedule_delayed_work(&gosync_ucmd_reaper,
			      msecs_to_jiffies(GOSYNC_REAP_MS));
	if (gosync_ucmd_recv_side(u))
		gosync_chan_receiving(u->ch, 1);
	hrtimer_init(&u->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_SOFT);
	u->timer.function = gosync_ucmd_timer;
	gosync_ucmd_timer_at(u, u->deadline);
}

static void gosync_ucmd_free(struct gosync_ucmd *u)
{
	gosync_uncharge_mem(u->user, u->charged);
	put_task_struct(u->task);
	kvfree(u);
}

/*
 * Finish a queued command with @res: off every kick source, then
 * complete, unless a kick came in meanwhile: its attempt completes it.
 */
static void gosync_ucmd_finish(struct gosync_ucmd *u, int res,
			       unsigned int issue_flags)
{
	struct io_uring_cmd *ioucmd = u->ioucmd;

	remove_wait_queue(gosync_chan_wq(u->ch, gosync_ucmd_recv_side(u)),
			  &u->wait);
	if (gosync_ucmd_recv_side(u))
		gosync_chan_receiving(u->ch, -1);
	hrtimer_cancel(&u->timer);
	spin_lock(&gosync_ucmds_lock);
	list_del(&u->node);
	spin_unlock(&gosync_ucmds_lock);
	if (atomic_xchg(&u->kicked, 1)) {
		/* One more attempt is queued: hand it the result. */
		u->result = res;
		u->finished = true;
		return;
	}
	gosync_ucmd_free(u);
	io_uring_cmd_done(ioucmd, res, 0, issue_flags);
}

/*
 * A receive into the submitter's memory: the first element, then what is
 * there, up to @u->count, without waiting (GOSYNC_URING_RECV_N; RECV is
 * a count of 1).  Each destination is faulted in before its element is
 * taken, so a bad buffer costs no element (another thread unmapping it
 * before the copy still loses that one: its bug; and faulting in may write
 * the slot after the last one taken).  Bounded by the count (at most
 * GOSYNC_URING_RECV_N_MAX), with a scheduling point per element, and
 * ended by a fatal signal.
 * Return: how many, or what the first attempt said (-EAGAIN: wait).
 */
static int gosync_ucmd_recv(struct gosync_ucmd *u)
{
	u32 size = gosync_chan_elem(u->ch), i;
	int ret = 0;

	for (i = 0; i < u->count; i++) {
		void __user *to = u->elem + (size_t)i * size;

		/*
		 * A dying submitter takes no more (nobody will read them).
		 * Not signal_pending(): task work itself sets TIF_NOTIFY_SIGNAL.
		 */
		if (i) {
			cond_resched();
			if (fatal_signal_pending(current))
				break;
		}
		if (fault_in_writeable(to, size)) {
			ret = -EFAULT;
			break;
		}
		ret = gosync_chan_recv_now(u->ch, u->bounce);
		if (ret != 1)
			break;
		if (copy_to_user(to, u->bounce, size)) {
			ret = -EFAULT;
			break;
		}
	}
	return i ? i : ret;
}

/*
 * One try of the command's operation.  Return: the result, or -EAGAIN to
 * go on waiting.  @user: we are in the submitter's context and may touch
 * its memory.
 */
static int gosync_ucmd_try(struct gosync_ucmd *u, bool user, bool giving_up)
{
	int ret;

	switch (u->phase) {
	case GOSYNC_UCMD_RECV:
		if (!user)
			return -ECANCELED;
		return gosync_ucmd_recv(u);
	case GOSYNC_UCMD_ROOM:
		if (giving_up)
			return gosync_chan_is_closed(u->ch) ? -EPIPE : -ECANCELED;
		ret = gosync_chan_send_now(u->ch, u->bounce,
					   gosync_chan_is_unbuffered(u->ch),
					   &u->pos);
		if (ret || !gosync_chan_is_unbuffered(u->ch))
			return ret ? ret : 1;
		/* Deposited: now it waits for its receiver, on the same side. */
		u->phase = GOSYNC_UCMD_DELIVERY;
		fallthrough;
	case GOSYNC_UCMD_DELIVERY:
		ret = gosync_chan_delivered(u->ch, u->pos);
		if (!ret)
			return 1;
		if (ret == -EAGAIN && !giving_up)
			return -EAGAIN;
		/* Closed, or giving up: withdraw, unless it was just taken. */
		if (!gosync_chan_withdraw(u->ch, u->pos))
			return 1;
		return ret == -EPIPE || gosync_chan_is_closed(u->ch) ?
		       -EPIPE : -ECANCELED;
	}
	return -EINVAL;
}

static void gosync_ucmd_attempt(struct io_uring_cmd *ioucmd,
				unsigned int issue_flags)
{
	struct gosync_ucmd *u = *gosync_ucmd_slot(ioucmd);
	bool user, abandoned, timed_out;
	int ret;

	if (u->finished) {
		/* Finished while this attempt was queued. */
		ret = u->result;
		gosync_ucmd_free(u);
		io_uring_cmd_done(ioucmd, ret, 0, issue_flags);
		return;
	}
	atomic_set(&u->kicked, 0);
	smp_mb__after_atomic();	/* kicked clear before arming and trying */
	/*
	 * Not in the submitter (a fallback kworker), or the submitter or
	 * its ring going away: no user memory, and give up.
	 */
	user = current->mm == u->mm && !(current->flags & PF_EXITING);
	abandoned = !user || gosync_ucmd_abandoned(u);
	timed_out = ktime_get_ns() >= u->deadline;

	gosync_chan_arm(u->ch, gosync_ucmd_recv_side(u));		/* F */
	ret = gosync_ucmd_try(u, user && !abandoned, abandoned || timed_out);
	if (ret == -ECANCELED && !abandoned && timed_out)
		ret = -ETIMEDOUT;
	if (gosync_would_wait(ret) && (abandoned || timed_out))
		ret = abandoned ? -ECANCELED : -ETIMEDOUT;
	if (!gosync_would_wait(ret)) {
		gosync_ucmd_finish(u, ret, issue_flags);
		return;
	}
	/*
	 * Busy, or a closed channel's grace: no event will come, poll.  The
	 * poll takes the deadline's timer; once the ring is quiet again the
	 * deadline gets it back, or a command on a ring a peer made busy for
	 * a moment would wait past its deadline for ever.
	 */
	if (ret == -EBUSY || gosync_chan_is_closed(u->ch)) {
		u->polling = true;
		gosync_ucmd_timer_at(u, ktime_get_ns() + NSEC_PER_MSEC);
	} else if (u->polling) {
		u->polling = false;
		gosync_ucmd_timer_at(u, u->deadline);
	}
}

/* At most this many of the caller's own commands run in one call. */
#define GOSYNC_OWN_MAX	16

/**
 * gosync_uring_run_own - run the caller's own queued receives on @ch now
 * @ch:		a channel the caller is blocked sending on
 *
 * A sync send waits for its receiver; when that receiver is a receive
 * the same thread queued on io_uring, the deposit kicked it as task work
 * of this very thread, which runs only once the send returns, and the
 * send cannot sleep with task work pending (TIF_NOTIFY_SIGNAL): it would
 * withdraw, restart and deposit again for ever.  So the send runs those
 * queued attempts itself, in the same (the submitter's) context the task
 * work would have: a receive that takes an element is finished here and
 * completed by its queued attempt, which finds it finished.
 *
 * Only commands with an attempt queued (kicked) are run: their
 * completion is left to that attempt.  Attempts of a command run only
 * in its submitter's context, so none can run concurrently with this,
 * and none can free the commands picked under the queue's lock.
 *
 * Return: how many attempts ran.
 */
int gosync_uring_run_own(struct gosync_chan *ch)
{
	wait_queue_head_t *wq = gosync_chan_wq(ch, true);
	struct gosync_ucmd *own[GOSYNC_OWN_MAX], *u;
	wait_queue_entry_t *entry;
	int n = 0, i;

	spin_lock_irq(&wq->lock);
	list_for_each_entry(entry, &wq->head, entry) {
		if (entry->func != gosync_ucmd_wake)
			continue;
		u = container_of(entry, struct gosync_ucmd, wait);
		if (u->task == current && atomic_read(&u->kicked) &&
		    u->phase == GOSYNC_UCMD_RECV) {
			own[n++] = u;
			if (n == GOSYNC_OWN_MAX)
				break;
		}
	}
	spin_unlock_irq(&wq->lock);
	for (i = 0; i < n; i++) {
		int ret = gosync_ucmd_try(own[i], true, false);

		/* The queued attempt completes it (kicked is set). */
		if (!gosync_would_wait(ret))
			gosync_ucmd_finish(own[i], ret, 0);
	}
	return n;
}

/*
 * A RECV_N's struct gosync_chan_xfer, read from the submitter's memory
 * (the command names it; the command's own deadline must be 0), checked
 * as GOSYNC_CHAN_IOC_RECV checks its own, and the count bounded.
 */
static int gosync_uring_recv_n_args(struct gosync_chan *ch,
				    const struct gosync_uring_cmd *cmd,
				    struct gosync_chan_xfer *x)
{
	u32 size = max_t(u32, gosync_chan_elem(ch), 1);

	if (cmd->deadline_ns)
		return -EINVAL;
	if (copy_from_user(x, u64_to_user_ptr(cmd->elem), sizeof(*x)))
		return -EFAULT;
	if (x->flags || x->resv[0] || x->resv[1] || !x->count ||
	    x->count > GOSYNC_URING_RECV_N_MAX || x->count > MAX_RW_COUNT / size)
		return -EINVAL;
	return 0;
}

int gosync_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct gosync_chan *ch = gosync_chan_of(ioucmd->file);
	bool recv = ioucmd->cmd_op != GOSYNC_URING_SEND;
	struct gosync_uring_cmd cmd;
	struct gosync_chan_xfer x;
	struct gosync_user *user;
	struct gosync_ucmd *u;
	u32 size = gosync_chan_elem(ch);
	size_t charged;
	int ret;

	if (ioucmd->cmd_op != GOSYNC_URING_SEND &&
	    ioucmd->cmd_op != GOSYNC_URING_RECV &&
	    ioucmd->cmd_op != GOSYNC_URING_RECV_N)
		return -EINVAL;
	/* A directional end, used against its direction. */
	if (!(ioucmd->file->f_mode & (recv ? FMODE_READ : FMODE_WRITE)))
		return -EBADF;
	/*
	 * Issued from io-wq (IOSQE_ASYNC), the attempts would run in a task
	 * we cannot name, and whose exit we could not watch.
	 */
	if (current->flags & PF_IO_WORKER)
		return -EINVAL;
	/* The command lives in the SQ ring: copy it now. */
	memcpy(&cmd, ioucmd->cmd, sizeof(cmd));
	memset(&x, 0, sizeof(x));
	x.elem = cmd.elem;
	x.deadline_ns = cmd.deadline_ns;
	x.count = 1;
	if (ioucmd->cmd_op == GOSYNC_URING_RECV_N) {
		ret = gosync_uring_recv_n_args(ch, &cmd, &x);
		if (ret)
			return ret;
	}
	if (x.deadline_ns < 0 && x.deadline_ns != GOSYNC_DEADLINE_NONBLOCK)
		return -EINVAL;

	/* Charged for what it really takes: a queue of them is the user's. */
	charged = kmalloc_size_roundup(struct_size(u, bounce, size));
	ret = gosync_charge_mem(&user, charged);
	if (ret)
		return ret;
	u = kvzalloc(struct_size(u, bounce, size), GFP_KERNEL_ACCOUNT);
	if (!u) {
		gosync_uncharge_mem(user, charged);
		return -ENOMEM;
	}
	u->user = user;
	u->charged = charged;
	u->ioucmd = ioucmd;
	u->ch = ch;
	u->elem = u64_to_user_ptr(x.elem);
	u->count = x.count;
	u->deadline = x.deadline_ns;
	if (recv) {
		u->phase = GOSYNC_UCMD_RECV;
	} else {
		u->phase = GOSYNC_UCMD_ROOM;
		if (copy_from_user(u->bounce, u->elem, size)) {
			gosync_uncharge_mem(user, charged);
			kvfree(u);
			return -EFAULT;
		}
	}
	u->task = get_task_struct(current);
	u->mm = current->mm;
	*gosync_ucmd_slot(ioucmd) = u;

	/* At once, if it can: an inline completion. */
	ret = gosync_ucmd_try(u, true, false);
	if (gosync_would_wait(ret) && u->deadline == GOSYNC_DEADLINE_NONBLOCK) {
		/* Not waiting: a deposit nobody took yet goes back. */
		ret = -EAGAIN;
		if (u->phase == GOSYNC_UCMD_DELIVERY &&
		    !gosync_chan_withdraw(ch, u->pos))
			ret = 1;
	}
	if (!gosync_would_wait(ret) || u->deadline == GOSYNC_DEADLINE_NONBLOCK) {
		/*
		 * Complete it here rather than return the result: 6.1 fails
		 * a request whose ->uring_cmd returns a positive value, and
		 * sends one that returns -EAGAIN to io-wq.
		 */
		gosync_ucmd_free(u);
		io_uring_cmd_done(ioucmd, ret, 0, issue_flags);
		return -EIOCBQUEUED;
	}
	gosync_ucmd_queue(u);
	/* Then try again from the submitter's context (armed there). */
	gosync_ucmd_kick(u);
	return -EIOCBQUEUED;
}

/* Module exit: no command can be queued (each pins the module). */
void gosync_uring_exit(void)
{
	cancel_delayed_work_sync(&gosync_ucmd_reaper);
}
