// SPDX-License-Identifier: GPL-2.0
/*
 * gosync: sync objects (waitgroup, mutex, rwmutex, once, cond).
 *
 * Each is one pinned shmem page that processes map; everything that
 * decides anything runs in the library on the page's words, and waits are
 * futex waits on them.  The kernel makes the page and:
 *  - gives each mapping an owner id (shm.c), which the library writes
 *    into a mutex's or a Once's word when it takes it; when the mapping
 *    goes away (exit, kill, munmap) the kernel marks a mutex it still
 *    held OWNER_DIED and resets a Once it was running.  It cannot wake
 *    their futex waiters (no futex call is exported to modules): those
 *    waiters look again every GOSYNC_SYNC_POLL_MS in kernel mode;
 *  - makes a waitgroup's fd pollable: readable when the counter is zero;
 *  - keeps a waitgroup's owned counts (GOSYNC_SYNC_IOC_WG_ADD_OWNED): how
 *    many of the counter's counts each address space owns, on the
 *    mapping it added them through.  Their Done comes here
 *    (GOSYNC_SYNC_IOC_WG_DONE_OWNED); when the mapping goes away (exit,
 *    kill, munmap) the kernel pays what is left.  The counter itself is
 *    the same word as for plain counts, changed with the same CAS as the
 *    library's Add: plain Add/Done stay one atomic in userspace.  Only
 *    the owned counts are kernel state; the word is never trusted to
 *    agree with them (a payment never takes the counter below zero).
 *
 * No lost poll wakeup for a waitgroup: ->poll sets ARMED in the state
 * word with a CAS that fails if the counter is already zero; the Done
 * that zeroes the counter clears ARMED in its own CAS and, if it was set,
 * asks for GOSYNC_SYNC_IOC_WAKE.  Both are read-modify-writes of the one
 * word, so one of them sees the other.
 *
 * Like channels, the kernel trusts nothing on the page: each loop over a
 * word is bounded, and a scribbled word can only break that object.
 *
 * Locking: owned_lock (a waitgroup's owned counts and the list of the
 * mappings that have some) nests inside the mmap lock (an ADD looks its
 * mapping up under it; ->close, which calls our died hook, runs under
 * it); the wait queue's own lock.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "gosync.h"

/* Rounds of a CAS loop on a word userspace may keep changing. */
#define GOSYNC_SYNC_TRIES	1024

/**
 * struct gosync_sync - a sync object
 * @kref:	the file's reference (and, through it, each mapping's)
 * @shm:	its page
 * @kind:	GOSYNC_SYNC_*
 * @words:	the kind's words on the page
 * @wq:		pollers (a waitgroup's)
 * @owners:	owner ids of the live mappings
 * @owned_lock:	a waitgroup's owned counts: each mapping's, and @owned
 * @owned:	the mappings with owned counts (gosync_mapping.owned_node)
 * @user:	who is charged
 */
struct gosync_sync {
	struct kref kref;
	struct gosync_shm shm;
	u32 kind;
	void *words;
	wait_queue_head_t wq;
	struct ida owners;
	struct mutex owned_lock;	/* owned, and each mapping's owned count */
	struct list_head owned;
	struct gosync_user *user;
};

static void gosync_sync_free(struct kref *kref)
{
	struct gosync_sync *so = container_of(kref, struct gosync_sync, kref);

	gosync_shm_destroy(&so->shm);
	gosync_uncharge(so->user, GOSYNC_SYNC_SIZE);
	ida_destroy(&so->owners);
	mutex_destroy(&so->owned_lock);
	kfree(so);
}

/*
 * CAS a 32-bit word from what @next says given its current value; @next
 * returns false to leave it.  Bounded: a peer may keep changing it.
 */
static void gosync_sync_update(u32 *word, bool (*next)(u32 old, u32 arg, u32 *new),
			       u32 arg)
{
	unsigned int tries;

	for (tries = 0; tries < GOSYNC_SYNC_TRIES; tries++) {
		u32 old = READ_ONCE(*word), new;

		if (!next(old, arg, &new))
			return;
		if (cmpxchg(word, old, new) == old)
			return;
	}
}

/* A mutex held by the dead owner: keep it locked, mark OWNER_DIED. */
static bool gosync_mutex_owner_died(u32 old, u32 owner, u32 *new)
{
	if (!(old & GOSYNC_MUTEX_LOCKED) || (old & GOSYNC_MUTEX_HANDOFF) ||
	    (old & GOSYNC_MUTEX_OWNER) != owner)
		return false;
	*new = (old & ~GOSYNC_MUTEX_OWNER) | GOSYNC_MUTEX_OWNER_DIED;
	return true;
}

/* A Once the dead owner was running: not done, a later caller runs it. */
static bool gosync_once_owner_died(u32 old, u32 owner, u32 *new)
{
	if (!(old & GOSYNC_ONCE_RUNNING) || (old & GOSYNC_MUTEX_OWNER) != owner)
		return false;
	*new = 0;
	return true;
}

#define GOSYNC_WG_GEN_ONE	(GOSYNC_WG_GEN & -GOSYNC_WG_GEN)

/*
 * Add @delta to a waitgroup's counter with the library's CAS
 * (gosync_wg_add() in lib/wg.c): the one that reaches zero resets
 * waiters and ARMED and, with waiters, moves the generation on.  A
 * fully ordered cmpxchg64, like the library's seq_cst CAS [WG]; the
 * kernel cannot FUTEX_WAKE, so futex waiters see a zeroing of ours at
 * their next look (their 100 ms slice), or when the ioctl's caller wakes
 * them; pollers are woken here.  @clamp: a payment of a dead owner's
 * counts stops at zero (the counter may have been paid by a plain Done
 * too: a misuse, or a scribble) instead of failing.  *@oldp is the word
 * the CAS replaced.  Return: 0, -EINVAL (below zero, nothing changed),
 * -EOVERFLOW, -EIO (a negative counter, or a peer that kept changing the
 * word through every try).
 */
static int gosync_wg_change(struct gosync_sync *so, s64 delta, bool clamp,
			    u64 *oldp)
{
	u64 *state = &((struct gosync_wg_words *)so->words)->state;
	u64 old = READ_ONCE(*state), new, seen;
	unsigned int tries;

	for (tries = 0; tries < GOSYNC_SYNC_TRIES; tries++) {
		s64 counter = (s32)(old >> 32);

		if (counter < 0)
			return -EIO;
		counter += delta;
		if (counter < 0) {
			if (!clamp)
				return -EINVAL;
			counter = 0;
		}
		if (counter > S32_MAX)
			return -EOVERFLOW;
		if (counter)
			new = (u64)counter << 32 | (u32)old;
		else if (old & GOSYNC_WG_WAITERS)
			new = ((old & GOSYNC_WG_GEN) + GOSYNC_WG_GEN_ONE) &
			      GOSYNC_WG_GEN;
		else
			new = old & GOSYNC_WG_GEN;
		seen = cmpxchg64(state, old, new);
		if (seen == old) {
			*oldp = old;
			if (!counter && (old & GOSYNC_WG_ARMED))
				wake_up_all(&so->wq);
			return 0;
		}
		old = seen;
		if (!(tries % 64))
			cond_resched();
	}
	return -EIO;
}

/*
 * A mapping with owned counts is gone (its process exited or was
 * killed, or unmapped it): pay them.  Its waiters asleep on the futex
 * see the zero at their next slice.
 */
static void gosync_wg_owner_died(struct gosync_sync *so,
				 struct gosync_mapping *map)
{
	u64 old;

	mutex_lock(&so->owned_lock);
	if (map->owned) {
		list_del_init(&map->owned_node);
		/* Whatever it returns, the counts are no one's any more. */
		gosync_wg_change(so, -(s64)map->owned, true, &old);
		map->owned = 0;
	}
	mutex_unlock(&so->owned_lock);
}

/* A mapping is gone: what its owner held is released. */
static void gosync_sync_died(struct gosync_mapping *map)
{
	struct gosync_sync *so = map->objfile->private_data;

	switch (so->kind) {
	case GOSYNC_SYNC_WG:
		gosync_wg_owner_died(so, map);
		break;
	case GOSYNC_SYNC_MUTEX:
	case GOSYNC_SYNC_RWMUTEX:
		gosync_sync_update(&((struct gosync_mutex_words *)so->words)->state,
				   gosync_mutex_owner_died, map->owner);
		break;
	case GOSYNC_SYNC_ONCE:
		gosync_sync_update(&((struct gosync_once_words *)so->words)->state,
				   gosync_once_owner_died, map->owner);
		break;
	}
}

static int gosync_sync_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct gosync_sync *so = file->private_data;

	return gosync_shm_mmap(&so->shm, vma, false, &so->owners, gosync_sync_died);
}

/* Arm a waitgroup whose counter is not zero; false when it is zero. */
static bool gosync_wg_arm(struct gosync_sync *so)
{
	u64 *state = &((struct gosync_wg_words *)so->words)->state;
	unsigned int tries;

	for (tries = 0; tries < GOSYNC_SYNC_TRIES; tries++) {
		u64 old = READ_ONCE(*state);

		if (!(old >> 32))
			return false;
		if ((old & GOSYNC_WG_ARMED) ||
		    cmpxchg64(state, old, old | GOSYNC_WG_ARMED) == old)
			return true;
	}
	return true;	/* a peer keeps it busy: not readable, for now */
}

static __poll_t gosync_sync_poll(struct file *file, poll_table *pt)
{
	struct gosync_sync *so = file->private_data;

	if (so->kind != GOSYNC_SYNC_WG)
		return 0;
	poll_wait(file, &so->wq, pt);
	return gosync_wg_arm(so) ? 0 : EPOLLIN | EPOLLRDNORM;
}

static long gosync_sync_ioctl_info(struct gosync_sync *so, void __user *uarg)
{
	struct gosync_sync_info info;

	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	if (info.flags || !gosync_mem_is_zero(info.resv, sizeof(info.resv)))
		return -EINVAL;
	memset(&info, 0, sizeof(info));
	info.kind = so->kind;
	info.map_size = GOSYNC_SYNC_SIZE;
	info.off_words = GOSYNC_SYNC_OFF_WORDS;
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

/* GOSYNC_SYNC_IOC_WG_ADD_OWNED: counts owned by the caller's mapping. */
static long gosync_wg_add_owned(struct file *file, struct gosync_sync *so,
				struct gosync_wg_owned *req)
{
	struct gosync_mapping *map;
	long ret = -EINVAL;
	u64 old;

	if (req->delta < 1)
		return -EINVAL;
	mmap_read_lock(current->mm);
	map = gosync_shm_mapping_at(file, req->addr);
	/* (A fork that could not copy the record shares it: not ours.) */
	if (!map || map->mm != current->mm)
		goto unlock_mm;
	mutex_lock(&so->owned_lock);
	ret = -EOVERFLOW;
	if (map->owned > S32_MAX - req->delta)
		goto unlock;
	ret = gosync_wg_change(so, req->delta, false, &old);
	if (ret)
		goto unlock;
	if (!map->owned)
		list_add(&map->owned_node, &so->owned);
	map->owned += req->delta;
	req->state = old;
unlock:
	mutex_unlock(&so->owned_lock);
unlock_mm:
	mmap_read_unlock(current->mm);
	return ret;
}

/*
 * GOSYNC_SYNC_IOC_WG_DONE_OWNED: pay one of the caller's owned counts,
 * from whichever of its mappings holds one; none: req->paid = 0.
 */
static long gosync_wg_done_owned(struct gosync_sync *so,
				 struct gosync_wg_owned *req)
{
	struct gosync_mapping *map;
	unsigned int seen = 0;
	long ret = 0;
	u64 old;

	if (req->delta != 1 || req->addr)
		return -EINVAL;
	mutex_lock(&so->owned_lock);
	list_for_each_entry(map, &so->owned, owned_node) {
		if (map->mm != current->mm) {
			/* One per mapping: bounded; long only if many map it. */
			if (!(++seen % 256))
				cond_resched();
			continue;
		}
		ret = gosync_wg_change(so, -1, false, &old);
		if (ret)
			break;
		if (!--map->owned)
			list_del_init(&map->owned_node);
		req->state = old;
		req->paid = 1;
		break;
	}
	mutex_unlock(&so->owned_lock);
	return ret;
}

static long gosync_wg_ioctl_owned(struct file *file, struct gosync_sync *so,
				  unsigned int cmd, void __user *uarg)
{
	struct gosync_wg_owned req;
	long ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (so->kind != GOSYNC_SYNC_WG || req.flags || req.paid || req.state ||
	    req.resv0 || !gosync_mem_is_zero(req.resv, sizeof(req.resv)))
		return -EINVAL;
	ret = cmd == GOSYNC_SYNC_IOC_WG_ADD_OWNED ?
	      gosync_wg_add_owned(file, so, &req) :
	      gosync_wg_done_owned(so, &req);
	if (ret)
		return ret;
	return copy_to_user(uarg, &req, sizeof(req)) ? -EFAULT : 0;
}

static long gosync_sync_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct gosync_sync *so = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case GOSYNC_SYNC_IOC_INFO:
		return gosync_sync_ioctl_info(so, uarg);
	case GOSYNC_SYNC_IOC_MAP:
		return gosync_shm_ioctl_map(file, uarg);
	case GOSYNC_SYNC_IOC_WAKE:
		if (arg)
			return -EINVAL;
		wake_up_all(&so->wq);
		return 0;
	case GOSYNC_SYNC_IOC_WG_ADD_OWNED:
	case GOSYNC_SYNC_IOC_WG_DONE_OWNED:
		return gosync_wg_ioctl_owned(file, so, cmd, uarg);
	default:
		return -ENOTTY;
	}
}

static int gosync_sync_release(struct inode *inode, struct file *file)
{
	struct gosync_sync *so = file->private_data;

	kref_put(&so->kref, gosync_sync_free);
	return 0;
}

/* open(2) of a name in a gosync filesystem (fs.c). */
static int gosync_sync_node_open(struct inode *inode, struct file *file)
{
	struct gosync_sync *so = gosync_fs_object(inode);

	kref_get(&so->kref);
	file->private_data = so;
	file->f_mode |= FMODE_NOWAIT;	/* see gosync_install_fd() */
	return stream_open(inode, file);
}

static const char *const gosync_sync_kinds[] = {
	[GOSYNC_SYNC_WG]	= "wg",
	[GOSYNC_SYNC_MUTEX]	= "mutex",
	[GOSYNC_SYNC_RWMUTEX]	= "rwmutex",
	[GOSYNC_SYNC_ONCE]	= "once",
	[GOSYNC_SYNC_COND]	= "cond",
};

static void gosync_sync_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct gosync_sync *so = file->private_data;

	seq_printf(m, "gosync-kind:\t%s\n", gosync_sync_kinds[so->kind]);
	/* The kind's first word, as the processes left it: a hint. */
	if (so->kind == GOSYNC_SYNC_WG)
		seq_printf(m, "gosync-state:\t0x%llx\n",
			   READ_ONCE(((struct gosync_wg_words *)so->words)->state));
	else
		seq_printf(m, "gosync-state:\t0x%x\n", READ_ONCE(*(u32 *)so->words));
	seq_printf(m, "gosync-dir:\t%s\n", gosync_fmode_dir(file));
	seq_printf(m, "gosync-mappings:\t%d\n", atomic_read(&so->shm.maps));
}

const struct file_operations gosync_sync_fops = {
	.owner		= THIS_MODULE,
	.open		= gosync_sync_node_open,
	.release	= gosync_sync_release,
	.unlocked_ioctl	= gosync_sync_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.poll		= gosync_sync_poll,
	.mmap		= gosync_sync_mmap,
	.show_fdinfo	= gosync_sync_show_fdinfo,
	.setlease	= simple_nosetlease,	/* a name is not a file's data */
};

/*
 * A sync object that never reports readiness (every kind but the
 * waitgroup): a select's fd case on it could never fire.
 */
bool gosync_sync_never_ready(struct file *file)
{
	struct gosync_sync *so = file->private_data;

	return file->f_op == &gosync_sync_fops && so->kind != GOSYNC_SYNC_WG;
}

static struct gosync_sync *gosync_sync_alloc(u32 kind)
{
	struct gosync_sync_header *hdr;
	struct gosync_sync *so;
	int ret;

	so = kzalloc(sizeof(*so), GFP_KERNEL_ACCOUNT);
	if (!so)
		return ERR_PTR(-ENOMEM);
	ret = gosync_charge(&so->user, GOSYNC_SYNC_SIZE);
	if (ret)
		goto free_so;
	ret = gosync_shm_create(&so->shm, "gosync-sync", GOSYNC_SYNC_SIZE,
				so->user);
	if (ret)
		goto uncharge;
	so->kind = kind;
	so->words = so->shm.vaddr + GOSYNC_SYNC_OFF_WORDS;
	hdr = so->shm.vaddr;
	hdr->abi_version = GOSYNC_ABI_VERSION;
	hdr->kind = kind;
	hdr->magic = GOSYNC_SYNC_MAGIC;
	init_waitqueue_head(&so->wq);
	ida_init(&so->owners);
	mutex_init(&so->owned_lock);
	INIT_LIST_HEAD(&so->owned);
	kref_init(&so->kref);
	return so;

uncharge:
	gosync_uncharge(so->user, GOSYNC_SYNC_SIZE);
free_so:
	kfree(so);
	return ERR_PTR(ret);
}

long gosync_sync_create(struct gosync_sync_create __user *uarg)
{
	struct gosync_sync_create req;
	struct gosync_sync *so;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~GOSYNC_SYNC_CREATE_FLAGS || req.resv0 ||
	    !gosync_mem_is_zero(req.resv, sizeof(req.resv)) ||
	    req.kind < GOSYNC_SYNC_WG || req.kind > GOSYNC_SYNC_COND)
		return -EINVAL;
	so = gosync_sync_alloc(req.kind);
	if (IS_ERR(so))
		return PTR_ERR(so);
	return gosync_install_fd("[gosync-sync]", &gosync_sync_fops, so,
				 O_RDWR |
				 (req.flags & GOSYNC_SYNC_CLOEXEC ? O_CLOEXEC : 0),
				 FMODE_NOWAIT, &uarg->fd, &so->kref, gosync_sync_free,
				 NULL);
}

/* A named sync object; the mount's @count goes to it once it exists. */
struct gosync_sync *gosync_sync_new(u32 kind, struct gosync_fs_count *count)
{
	struct gosync_sync *so = gosync_sync_alloc(kind);

	if (!IS_ERR(so))
		so->shm.fscount = count;
	return so;
}

void gosync_sync_put(struct gosync_sync *so)
{
	kref_put(&so->kref, gosync_sync_free);
}

u32 gosync_sync_kind(struct gosync_sync *so)
{
	return so->kind;
}
