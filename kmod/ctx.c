// SPDX-License-Identifier: GPL-2.0
/*
 * gosync: contexts, Go's context.Context across processes.
 *
 * A context is cancelled once: by GOSYNC_CTX_IOC_CANCEL, by its deadline
 * (an hrtimer, whose callback queues the cancel as work: it fires with
 * nobody awake), by its parent's cancellation, or, with
 * GOSYNC_CTX_CANCEL_ON_EXIT, when every thread of the process that made
 * it is gone (a wait entry on that process's pidfd wait queue, woken by
 * the kernel's exit path).  Cancelling publishes the error and cause in
 * the context's page, which processes map read-only (so checking Err
 * costs them no system call), closes its done channel (an ordinary
 * channel of 0-byte elements with no sending end: select, poll, io_uring
 * and GOSYNC_CHAN_IOC_RECV see it closed; each of its fds holds the
 * context), wakes the fd's pollers, and does the same
 * for every live descendant before the ioctl returns.
 *
 * The tree: every context holds a reference on its parent; a parent
 * lists its live children (@children) and its done ones (@done_children),
 * both under gosync_ctx_lock, which also orders every cancellation and
 * creation: a child made under a parent that is done is born done, with
 * the parent's error and cause, and a cancel of the parent reaches every
 * child linked before it.  A done context's descendants are all done, so
 * a cancel walks only the live lists, one step per context it cancels
 * plus one back up (models/ctx.pml).
 *
 * Locking: gosync_ctx_lock (a mutex; the walk may reschedule) nests
 * outside a channel's close (the done channels) and the fd's wait queue.
 * A context is freed, and its parent put, with no lock held, iteratively
 * (a chain of contexts must not recurse on the kernel stack).
 */
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "gosync.h"

static DEFINE_MUTEX(gosync_ctx_lock);

/*
 * Deadlines and exits cancel from here: ordered, since they take the one
 * lock anyway (a burst of them is one worker, not one per sleeper).
 */
static struct workqueue_struct *gosync_ctx_wq;

/**
 * struct gosync_ctx - a context
 * @kref:	its files' and its children's references
 * @shm:	its page: the header and struct gosync_ctx_words
 * @words:	the words on it, which the kernel alone writes
 * @owners:	owner ids of the mappings (shm.c gives every mapping one)
 * @user:	who is charged
 * @done:	the done channel (a reference)
 * @parent:	NULL for a root (a reference)
 * @sibling:	in the parent's @children or @done_children
 * @children:	live children; under gosync_ctx_lock
 * @done_children: children that are done; under gosync_ctx_lock
 * @err:	0, ECANCELED or ETIMEDOUT; written under gosync_ctx_lock
 * @cause:	the cause, once @err is set; under gosync_ctx_lock
 * @deadline:	absolute CLOCK_MONOTONIC ns, or GOSYNC_DEADLINE_FOREVER
 * @values_len:	bytes of value records on the page (immutable)
 * @timer:	fires at @deadline and queues @timeout_work
 * @timeout_work: cancels with ETIMEDOUT
 * @wq:		the fd's pollers
 * @maker:	CANCEL_ON_EXIT: the maker's thread group (a reference)
 * @exit_wait:	CANCEL_ON_EXIT: on @maker's pidfd wait queue
 * @exit_work:	CANCEL_ON_EXIT: cancels with cause ESRCH
 */
struct gosync_ctx {
	struct kref kref;
	struct gosync_shm shm;
	struct gosync_ctx_words *words;
	struct ida owners;
	struct gosync_user *user;
	struct gosync_chan *done;
	struct gosync_ctx *parent;
	struct list_head sibling;
	struct list_head children;
	struct list_head done_children;
	int err;
	int cause;
	s64 deadline;
	u32 values_len;
	struct hrtimer timer;
	struct work_struct timeout_work;
	wait_queue_head_t wq;
	struct pid *maker;
	struct wait_queue_entry exit_wait;
	struct work_struct exit_work;
};

/*
 * Make @ctx done: the kernel's copy, the page (cause, then the state by
 * a release store [CTX-A]: pairs with [CTX-B], the acquire load of
 * gosync_ctx_err() and gosync_ctx_cause() in lib/ctx.c), then the done
 * channel's close (a reader that saw it closed sees the state: the
 * close's fully ordered RMWs of the tail and the closed flag, the
 * "close" and "closed flag" rows of docs/memory-model.md, come after
 * the store), the pollers, and the parent's lists.
 */
static void gosync_ctx_publish(struct gosync_ctx *ctx, int err, int cause)
{
	lockdep_assert_held(&gosync_ctx_lock);
	WRITE_ONCE(ctx->cause, cause);
	WRITE_ONCE(ctx->err, err);
	WRITE_ONCE(ctx->words->cause, cause);
	/* [CTX-A]: pairs with [CTX-B] in lib/ctx.c */
	smp_store_release(&ctx->words->state, (u32)err);
	/* (The callback takes no lock: a running one finds it done.) */
	hrtimer_try_to_cancel(&ctx->timer);
	gosync_chan_close_kernel(ctx->done);
	wake_up_all(&ctx->wq);
	if (ctx->parent)
		list_move_tail(&ctx->sibling, &ctx->parent->done_children);
}

/*
 * Cancel the live @top and every live descendant, depth first: each step
 * makes one context done (it leaves its parent's live list) or climbs
 * back from one whose live list is empty, so the walk is bounded by
 * twice the contexts it cancels; it reschedules as it goes.
 */
static void gosync_ctx_cancel_tree(struct gosync_ctx *top, int err, int cause)
{
	struct gosync_ctx *ctx = top, *child;
	unsigned int steps = 0;

	lockdep_assert_held(&gosync_ctx_lock);
	gosync_ctx_publish(top, err, cause);
	for (;;) {
		child = list_first_entry_or_null(&ctx->children,
						 struct gosync_ctx, sibling);
		if (!child && ctx == top)
			break;
		if (child)
			gosync_ctx_publish(child, err, cause);
		ctx = child ?: ctx->parent;
		if (!(++steps % 64))
			cond_resched();
	}
}

/* Cancel @ctx: 0, or -EALREADY when it was done (the first cause stays). */
static int gosync_ctx_cancel(struct gosync_ctx *ctx, int err, int cause)
{
	int ret = -EALREADY;

	mutex_lock(&gosync_ctx_lock);
	if (!ctx->err) {
		gosync_ctx_cancel_tree(ctx, err, cause);
		ret = 0;
	}
	mutex_unlock(&gosync_ctx_lock);
	return ret;
}

static void gosync_ctx_timeout_work(struct work_struct *work)
{
	struct gosync_ctx *ctx = container_of(work, struct gosync_ctx,
					      timeout_work);

	gosync_ctx_cancel(ctx, ETIMEDOUT, ETIMEDOUT);
}

/* The timer cannot take the mutex: the work does (freeing waits for it). */
static enum hrtimer_restart gosync_ctx_timer_fn(struct hrtimer *timer)
{
	struct gosync_ctx *ctx = container_of(timer, struct gosync_ctx, timer);

	queue_work(gosync_ctx_wq, &ctx->timeout_work);
	return HRTIMER_NORESTART;
}

static void gosync_ctx_exit_work(struct work_struct *work)
{
	struct gosync_ctx *ctx = container_of(work, struct gosync_ctx,
					      exit_work);

	gosync_ctx_cancel(ctx, ECANCELED, ESRCH);
}

/*
 * A wake of the maker's pidfd wait queue (do_notify_pidfd(), from
 * exit_notify(), release_task() or a ptrace detach, with the tasklist
 * lock held and interrupts off): queue the cancel once the whole group
 * is gone (a ptraced thread's early notice may come before).
 */
static int gosync_ctx_exit_wake(struct wait_queue_entry *wait,
				unsigned int mode, int sync, void *key)
{
	struct gosync_ctx *ctx = container_of(wait, struct gosync_ctx,
					      exit_wait);

	if (thread_group_exited(ctx->maker))
		queue_work(gosync_ctx_wq, &ctx->exit_work);
	return 0;
}

/* Everything but the parent's reference; no lock held, may sleep. */
static void gosync_ctx_destroy(struct gosync_ctx *ctx)
{
	hrtimer_cancel(&ctx->timer);
	cancel_work_sync(&ctx->timeout_work);
	if (ctx->maker) {
		remove_wait_queue(&ctx->maker->wait_pidfd, &ctx->exit_wait);
		cancel_work_sync(&ctx->exit_work);
		put_pid(ctx->maker);
	}
	if (ctx->parent) {
		mutex_lock(&gosync_ctx_lock);
		list_del(&ctx->sibling);
		mutex_unlock(&gosync_ctx_lock);
	}
	gosync_chan_put(ctx->done);
	gosync_shm_destroy(&ctx->shm);
	gosync_uncharge(ctx->user, GOSYNC_SYNC_SIZE);
	ida_destroy(&ctx->owners);
	kfree(ctx);
}

static void gosync_ctx_noop(struct kref *kref)
{
}

/* The last reference: free it, then each ancestor it held the last of. */
static void gosync_ctx_free(struct kref *kref)
{
	struct gosync_ctx *ctx = container_of(kref, struct gosync_ctx, kref);
	struct gosync_ctx *parent;

	do {
		parent = ctx->parent;
		gosync_ctx_destroy(ctx);
		ctx = parent;
		cond_resched();
	} while (ctx && kref_put(&ctx->kref, gosync_ctx_noop));
}

static int gosync_ctx_release(struct inode *inode, struct file *file)
{
	struct gosync_ctx *ctx = file->private_data;

	kref_put(&ctx->kref, gosync_ctx_free);
	return 0;
}

/* Read-only mappings: only the kernel writes the page. */
static int gosync_ctx_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct gosync_ctx *ctx = file->private_data;

	return gosync_shm_mmap(&ctx->shm, vma, true, &ctx->owners, NULL);
}

static __poll_t gosync_ctx_poll(struct file *file, poll_table *pt)
{
	struct gosync_ctx *ctx = file->private_data;

	poll_wait(file, &ctx->wq, pt);
	/*
	 * The page's word, not the kernel's copy (stored first): a caller
	 * told EPOLLIN then finds the state set with gosync_ctx_err()
	 * (models/ctx.pml MUT_POLL_KERNEL_COPY).
	 */
	return READ_ONCE(ctx->words->state) ? EPOLLIN | EPOLLRDNORM : 0;
}

static long gosync_ctx_ioctl_info(struct gosync_ctx *ctx, void __user *uarg)
{
	struct gosync_ctx_info info;

	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	if (info.flags || info.resv0 || info.resv1)
		return -EINVAL;
	memset(&info, 0, sizeof(info));
	/* The page's words, as a mapping reads them [CTX-B]. */
	info.state = smp_load_acquire(&ctx->words->state);
	info.cause = info.state ? READ_ONCE(ctx->words->cause) : 0;
	info.deadline_ns = ctx->deadline;
	info.map_size = GOSYNC_SYNC_SIZE;
	info.off_words = GOSYNC_SYNC_OFF_WORDS;
	info.off_values = GOSYNC_CTX_OFF_VALUES;
	info.values_len = ctx->values_len;
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long gosync_ctx_ioctl_cancel(struct file *file, void __user *uarg)
{
	struct gosync_ctx_cancel req;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.resv || req.cause < 0 ||
	    req.cause > GOSYNC_CTX_CAUSE_MAX)
		return -EINVAL;
	/* A name opened O_RDONLY watches: it may not cancel. */
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	return gosync_ctx_cancel(file->private_data, ECANCELED,
				 req.cause ?: ECANCELED);
}

static long gosync_ctx_ioctl_done(struct gosync_ctx *ctx,
				  struct gosync_ctx_done __user *uarg)
{
	struct gosync_ctx_done req;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~GOSYNC_CTX_DONE_FLAGS ||
	    !gosync_mem_is_zero(req.resv, sizeof(req.resv)))
		return -EINVAL;
	return gosync_chan_install_end(ctx->done, O_RDONLY |
		(req.flags & GOSYNC_CTX_CLOEXEC ? O_CLOEXEC : 0) |
		(req.flags & GOSYNC_CTX_DONE_NONBLOCK ? O_NONBLOCK : 0),
		&uarg->fd);
}

static long gosync_ctx_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct gosync_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case GOSYNC_CTX_IOC_INFO:
		return gosync_ctx_ioctl_info(ctx, uarg);
	case GOSYNC_CTX_IOC_CANCEL:
		return gosync_ctx_ioctl_cancel(file, uarg);
	case GOSYNC_CTX_IOC_DONE:
		return gosync_ctx_ioctl_done(ctx, uarg);
	default:
		return -ENOTTY;
	}
}

static void gosync_ctx_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct gosync_ctx *ctx = file->private_data;

	seq_puts(m, "gosync-kind:\tctx\n");
	seq_printf(m, "gosync-err:\t%d\n", READ_ONCE(ctx->err));
	seq_printf(m, "gosync-cause:\t%d\n", READ_ONCE(ctx->cause));
	seq_printf(m, "gosync-deadline:\t%lld\n", ctx->deadline);
	seq_printf(m, "gosync-root:\t%d\n", !ctx->parent);
	seq_printf(m, "gosync-cancel-on-exit:\t%d\n", !!ctx->maker);
	seq_printf(m, "gosync-mappings:\t%d\n", atomic_read(&ctx->shm.maps));
}

/* open(2) of a name in a gosync filesystem (fs.c). */
static int gosync_ctx_node_open(struct inode *inode, struct file *file)
{
	struct gosync_ctx *ctx = gosync_fs_object(inode);

	kref_get(&ctx->kref);
	file->private_data = ctx;
	file->f_mode |= FMODE_NOWAIT;	/* see gosync_install_fd() */
	return stream_open(inode, file);
}

const struct file_operations gosync_ctx_fops = {
	.owner		= THIS_MODULE,
	.open		= gosync_ctx_node_open,
	.release	= gosync_ctx_release,
	.unlocked_ioctl	= gosync_ctx_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.poll		= gosync_ctx_poll,
	.mmap		= gosync_ctx_mmap,
	.show_fdinfo	= gosync_ctx_show_fdinfo,
	.llseek		= no_llseek,
	.setlease	= simple_nosetlease,	/* a name is not a file's data */
};

/* A new live context, not yet in any tree; ERR_PTR. */
static struct gosync_ctx *gosync_ctx_alloc(void)
{
	struct gosync_sync_header *hdr;
	struct gosync_ctx *ctx;
	int ret;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return ERR_PTR(-ENOMEM);
	ret = gosync_charge(&ctx->user, GOSYNC_SYNC_SIZE);
	if (ret)
		goto free_ctx;
	ret = gosync_shm_create(&ctx->shm, "gosync-ctx", GOSYNC_SYNC_SIZE,
				ctx->user);
	if (ret)
		goto uncharge;
	ctx->done = gosync_chan_new(0, 0, false, NULL);
	if (IS_ERR(ctx->done)) {
		ret = PTR_ERR(ctx->done);
		goto destroy_shm;
	}
	/* A done fd alone keeps the context, and so its deadline and exit. */
	gosync_chan_pin(ctx->done, &ctx->kref, gosync_ctx_free);
	ctx->words = ctx->shm.vaddr + GOSYNC_SYNC_OFF_WORDS;
	hdr = ctx->shm.vaddr;
	hdr->abi_version = GOSYNC_ABI_VERSION;
	hdr->kind = GOSYNC_KIND_CTX;
	hdr->magic = GOSYNC_SYNC_MAGIC;
	ida_init(&ctx->owners);
	INIT_LIST_HEAD(&ctx->sibling);
	INIT_LIST_HEAD(&ctx->children);
	INIT_LIST_HEAD(&ctx->done_children);
	hrtimer_init(&ctx->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	ctx->timer.function = gosync_ctx_timer_fn;
	INIT_WORK(&ctx->timeout_work, gosync_ctx_timeout_work);
	INIT_WORK(&ctx->exit_work, gosync_ctx_exit_work);
	init_waitqueue_head(&ctx->wq);
	kref_init(&ctx->kref);
	return ctx;

destroy_shm:
	gosync_shm_destroy(&ctx->shm);
uncharge:
	gosync_uncharge(ctx->user, GOSYNC_SYNC_SIZE);
free_ctx:
	kfree(ctx);
	return ERR_PTR(ret);
}

/* The context of fd @fd, with a reference; ERR_PTR. */
static struct gosync_ctx *gosync_ctx_get(int fd)
{
	struct gosync_ctx *ctx = ERR_PTR(-EMEDIUMTYPE);
	struct fd f = fdget(fd);

	if (!f.file)
		return ERR_PTR(-EBADF);
	if (f.file->f_op == &gosync_ctx_fops) {
		ctx = f.file->private_data;
		kref_get(&ctx->kref);
	}
	fdput(f);
	return ctx;
}

/*
 * Put the new @ctx in @parent's tree (or none), with its deadline: born
 * done if the parent is, or if the deadline has passed.  Under the lock,
 * so a cancel of the parent either comes first (and this sees it) or
 * finds the child linked.
 */
static void gosync_ctx_link(struct gosync_ctx *ctx, struct gosync_ctx *parent,
			    s64 deadline)
{
	/*
	 * A deadline no sooner than the parent's is the parent's, and no
	 * timer of its own (Go's WithDeadline): only the parent's decides,
	 * so the child never times out under a parent cancelled otherwise.
	 */
	bool own = deadline != GOSYNC_DEADLINE_FOREVER &&
		   (!parent || deadline < parent->deadline);

	if (!own && parent)
		deadline = parent->deadline;
	ctx->deadline = deadline;
	ctx->words->deadline_ns = deadline;
	ctx->parent = parent;
	mutex_lock(&gosync_ctx_lock);
	if (parent)
		list_add_tail(&ctx->sibling, &parent->children);
	if (parent && parent->err)
		gosync_ctx_publish(ctx, parent->err, parent->cause);
	else if (own && deadline <= ktime_get_ns())
		gosync_ctx_publish(ctx, ETIMEDOUT, ETIMEDOUT);
	else if (own)
		hrtimer_start(&ctx->timer, ns_to_ktime(deadline),
			      HRTIMER_MODE_ABS);
	mutex_unlock(&gosync_ctx_lock);
}

/*
 * The values: the parent's records (immutable, and bounded by the
 * kernel's own length), then the new one, if any, from userspace.
 */
static int gosync_ctx_set_values(struct gosync_ctx *ctx,
				 struct gosync_ctx *parent,
				 const struct gosync_ctx_create *req)
{
	void *values = ctx->shm.vaddr + GOSYNC_CTX_OFF_VALUES;
	struct gosync_ctx_value *rec;
	u32 len = parent ? parent->values_len : 0, size;

	if (len)
		memcpy(values, parent->shm.vaddr + GOSYNC_CTX_OFF_VALUES, len);
	if (req->key_len) {
		size = ALIGN(sizeof(*rec) + req->key_len + req->val_len, 4);
		if (size > GOSYNC_CTX_VALUES_MAX - len)
			return -E2BIG;
		rec = values + len;
		rec->key_len = req->key_len;
		rec->val_len = req->val_len;
		if (copy_from_user(rec + 1, u64_to_user_ptr(req->key),
				   req->key_len) ||
		    copy_from_user((void *)(rec + 1) + req->key_len,
				   u64_to_user_ptr(req->val), req->val_len))
			return -EFAULT;
		len += size;
	}
	ctx->values_len = len;
	ctx->words->values_len = len;
	return 0;
}

static bool gosync_ctx_value_valid(const struct gosync_ctx_create *req)
{
	if (!req->key)
		return !req->key_len && !req->val_len && !req->val;
	if (!req->key_len || req->key_len > GOSYNC_CTX_KEY_MAX ||
	    req->val_len > GOSYNC_CTX_VAL_MAX)
		return false;
	return req->val_len || !req->val;
}

/* CANCEL_ON_EXIT: watch the caller's thread group (which is alive). */
static void gosync_ctx_watch_exit(struct gosync_ctx *ctx)
{
	ctx->maker = get_task_pid(current, PIDTYPE_TGID);
	init_waitqueue_func_entry(&ctx->exit_wait, gosync_ctx_exit_wake);
	add_wait_queue(&ctx->maker->wait_pidfd, &ctx->exit_wait);
}

long gosync_ctx_create(struct gosync_ctx_create __user *uarg)
{
	struct gosync_ctx *ctx, *parent = NULL;
	struct gosync_ctx_create req;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~GOSYNC_CTX_CREATE_FLAGS || req.resv0 ||
	    !gosync_mem_is_zero(req.resv, sizeof(req.resv)) ||
	    req.deadline_ns < 0 || req.parent < -1 ||
	    !gosync_ctx_value_valid(&req))
		return -EINVAL;
	if (req.parent >= 0) {
		parent = gosync_ctx_get(req.parent);
		if (IS_ERR(parent))
			return PTR_ERR(parent);
	}
	ctx = gosync_ctx_alloc();
	ret = PTR_ERR_OR_ZERO(ctx);
	if (!ret) {
		ret = gosync_ctx_set_values(ctx, parent, &req);
		if (ret)
			kref_put(&ctx->kref, gosync_ctx_free);
	}
	if (ret) {
		if (parent)
			kref_put(&parent->kref, gosync_ctx_free);
		return ret;
	}
	if (req.flags & GOSYNC_CTX_CANCEL_ON_EXIT)
		gosync_ctx_watch_exit(ctx);
	/* From here the parent's reference is the child's, freed with it. */
	gosync_ctx_link(ctx, parent, req.deadline_ns);
	return gosync_install_fd("[gosync-ctx]", &gosync_ctx_fops, ctx,
				 O_RDWR |
				 (req.flags & GOSYNC_CTX_CLOEXEC ? O_CLOEXEC : 0),
				 FMODE_NOWAIT, &uarg->fd, &ctx->kref, gosync_ctx_free,
				 NULL);
}

/* A named root context; the mount's @count goes to it once it exists. */
struct gosync_ctx *gosync_ctx_new(struct gosync_fs_count *count)
{
	struct gosync_ctx *ctx = gosync_ctx_alloc();

	if (IS_ERR(ctx))
		return ctx;
	ctx->shm.fscount = count;
	gosync_ctx_link(ctx, NULL, GOSYNC_DEADLINE_FOREVER);
	return ctx;
}

void gosync_ctx_put(struct gosync_ctx *ctx)
{
	kref_put(&ctx->kref, gosync_ctx_free);
}

int gosync_ctx_init(void)
{
	gosync_ctx_wq = alloc_ordered_workqueue("gosync-ctx", 0);
	return gosync_ctx_wq ? 0 : -ENOMEM;
}

/* Every context is gone (each file pinned the module): nothing is queued. */
void gosync_ctx_exit(void)
{
	destroy_workqueue(gosync_ctx_wq);
}
