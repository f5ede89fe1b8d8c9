/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gosync: internal declarations shared by the files of the module.
 */
#ifndef _GOSYNC_INTERNAL_H
#define _GOSYNC_INTERNAL_H

#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/mm_types.h>
#include <linux/refcount.h>
#include <linux/time64.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/gosync.h>

/* Feature bits this build of the module reports in GOSYNC_IOC_INFO. */
#define GOSYNC_FEATURES		(GOSYNC_FEAT_CHAN | GOSYNC_FEAT_SELECT | \
				 GOSYNC_FEAT_URING | GOSYNC_FEAT_SYNC | \
				 GOSYNC_FEAT_WG_OWNED | GOSYNC_FEAT_SELECT_FD | \
				 GOSYNC_FEAT_CHAN_ZERO | GOSYNC_FEAT_NAMES | \
				 GOSYNC_FEAT_URING_RECV_N | GOSYNC_FEAT_CTX)

/* ---- limits.c: module parameters and per-user accounting ---- */

struct gosync_user;

/*
 * Charge one object of @bytes of pinned shared memory to the calling
 * user.  -ENOMEM when it exceeds the per-object or per-user memory limit,
 * -EMFILE when the user has too many objects.
 */
int gosync_charge(struct gosync_user **userp, size_t bytes);
void gosync_uncharge(struct gosync_user *user, size_t bytes);
/* More bytes for an existing charge, and back (limit checked: -ENOMEM). */
int gosync_charge_more(struct gosync_user *user, size_t bytes);
void gosync_uncharge_more(struct gosync_user *user, size_t bytes);
/* Charge kernel memory that is not an object (counts in the bytes only). */
int gosync_charge_mem(struct gosync_user **userp, size_t bytes);
void gosync_uncharge_mem(struct gosync_user *user, size_t bytes);

struct seq_file;
int gosync_limits_show(struct seq_file *m, void *unused);

/* ---- shm.c: shared regions, mapped by the kernel and by processes ---- */

/*
 * Owner ids: one per mapping, 1..GOSYNC_OWNER_MAX, written by processes
 * into the words they claim (a channel's slot words, a mutex's state).
 */
#define GOSYNC_OWNER_MAX	GOSYNC_SLOT_OWNER_MAX
static_assert(GOSYNC_MUTEX_OWNER == GOSYNC_OWNER_MAX);

/**
 * struct gosync_shm - pinned shmem pages, vmapped for the kernel
 * @file:	the shmem file whose pages these are (the mmap target)
 * @pages:	the pages, each holding a reference
 * @npages:	number of pages
 * @vaddr:	the kernel's mapping of all of them
 * @user:	who is charged for them
 * @extra:	charged beyond the size asked for (huge folios)
 * @maps:	live mapping records (fdinfo's gosync-mappings)
 * @fscount:	the gosync mount the object was made in, counted until the
 *		region is destroyed (fs.c); NULL for an anonymous object
 */
struct gosync_shm {
	struct file *file;
	struct page **pages;
	unsigned int npages;
	void *vaddr;
	struct gosync_user *user;
	size_t extra;
	atomic_t maps;
	struct gosync_fs_count *fscount;
};

/**
 * struct gosync_mapping - one process's mmap of an object's region
 * @refs:	vmas of @mm sharing it (a moved vma briefly has two)
 * @mm:		the address space it is in
 * @objfile:	the object's file, pinned (and with it the object and the
 *		module) while the mapping exists
 * @owner:	the mapping's owner id, from @ids
 * @ids:	the object's owner ids
 * @died:	the object's hook, called once the mapping is gone (exit,
 *		kill, munmap) with @owner still reserved: release what it held
 * @shm:	the region it maps
 * @owned:	sync.c: a waitgroup's counts that @mm owns through this
 *		mapping (GOSYNC_SYNC_IOC_WG_ADD_OWNED), paid by @died; under
 *		the object's owned_lock
 * @owned_node:	sync.c: in the object's list of mappings with @owned
 *		non-zero (empty otherwise); under the object's owned_lock
 * @touched:	the region's pages this mapping faulted in (bitmap)
 */
struct gosync_mapping {
	refcount_t refs;
	struct mm_struct *mm;
	struct file *objfile;
	u32 owner;
	struct ida *ids;
	void (*died)(struct gosync_mapping *map);
	struct gosync_shm *shm;
	u32 owned;
	struct list_head owned_node;
	unsigned long touched[];
};

int gosync_shm_create(struct gosync_shm *shm, const char *name, size_t size,
		      struct gosync_user *user);
void gosync_shm_destroy(struct gosync_shm *shm);
int gosync_shm_mmap(struct gosync_shm *shm, struct vm_area_struct *vma,
		    bool ro, struct ida *ids,
		    void (*died)(struct gosync_mapping *map));
long gosync_shm_ioctl_map(struct file *file, void __user *uarg);
struct gosync_mapping *gosync_shm_mapping_at(struct file *file, u64 addr);
bool gosync_mapping_next_slots(struct gosync_mapping *map, unsigned int *page,
			       u64 off_slots, u32 slot_size, u32 nslots,
			       u32 *first, u32 *last);

/* ---- chan.c: channels ---- */

struct gosync_chan;
struct io_uring_cmd;

long gosync_chan_create(struct gosync_chan_create __user *uarg);

/* For fs.c: named channels.  The inode holds one reference. */
extern const struct file_operations gosync_chan_fops;
struct gosync_fs_count;
struct gosync_chan *gosync_chan_new(u32 elem_size, u32 cap, bool autoclose,
				    struct gosync_fs_count *count);
void gosync_chan_put(struct gosync_chan *ch);
void gosync_chan_shape(struct gosync_chan *ch, u32 *elem_size, u32 *cap);

/* For ctx.c: a done channel, closed by the kernel, ends given out. */
void gosync_chan_close_kernel(struct gosync_chan *ch);
void gosync_chan_pin(struct gosync_chan *ch, struct kref *pin,
		     void (*unpin)(struct kref *pin));
int gosync_chan_install_end(struct gosync_chan *ch, int oflags, int __user *ufd);

/* How a wait that found signal_pending() ends: a restart code. */
int gosync_signal_ret(void);
bool gosync_is_restart(int ret);

/* Sleep until woken, a signal or the deadline (task state already set). */
void gosync_sleep_until(s64 deadline);

/*
 * How long a non-blocking sync send (a select's unbuffered send case, or
 * GOSYNC_DEADLINE_NONBLOCK) waits for the blocked receiver it saw to take
 * the element before withdrawing it: a woken receiver takes it in
 * microseconds; this bounds one that cannot run.  The library's
 * standalone mode uses the same bound, and a non-blocking select spends
 * at most this on all its send cases together.
 */
#define GOSYNC_HANDOFF_NS	(100 * NSEC_PER_MSEC)

/* For select.c and uring.c: one-shot channel operations, no waiting. */
struct gosync_chan *gosync_chan_of(struct file *file);
u32 gosync_chan_elem(struct gosync_chan *ch);
bool gosync_chan_is_unbuffered(struct gosync_chan *ch);
bool gosync_chan_is_closed(struct gosync_chan *ch);
wait_queue_head_t *gosync_chan_wq(struct gosync_chan *ch, bool recv);
void gosync_chan_arm(struct gosync_chan *ch, bool recv);
void gosync_chan_receiving(struct gosync_chan *ch, int delta);
bool gosync_chan_send_ready(struct gosync_chan *ch, int self);
int gosync_chan_send_now(struct gosync_chan *ch, const void *elem, bool sync,
			 u64 *pos);
int gosync_chan_recv_now(struct gosync_chan *ch, void *elem);
int gosync_chan_delivered(struct gosync_chan *ch, u64 pos);
int gosync_chan_withdraw(struct gosync_chan *ch, u64 pos);
int gosync_chan_handoff(struct gosync_chan *ch, const void *elem, int self,
			s64 deadline);

/* ---- select.c ---- */

long gosync_select(struct gosync_select __user *uarg);

/* ---- uring.c ---- */

int gosync_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags);
void gosync_uring_exit(void);
int gosync_uring_run_own(struct gosync_chan *ch);

/* ---- sync.c ---- */

long gosync_sync_create(struct gosync_sync_create __user *uarg);

/* For fs.c: named sync objects.  The inode holds one reference. */
struct gosync_sync;
extern const struct file_operations gosync_sync_fops;
struct gosync_sync *gosync_sync_new(u32 kind, struct gosync_fs_count *count);
void gosync_sync_put(struct gosync_sync *so);
u32 gosync_sync_kind(struct gosync_sync *so);
/* A sync object whose fd never reports readiness (not a waitgroup)? */
bool gosync_sync_never_ready(struct file *file);

/* ---- ctx.c: contexts ---- */

long gosync_ctx_create(struct gosync_ctx_create __user *uarg);

int gosync_ctx_init(void);
void gosync_ctx_exit(void);

/* For fs.c: named contexts (roots, no deadline).  The inode holds one. */
struct gosync_ctx;
extern const struct file_operations gosync_ctx_fops;
struct gosync_ctx *gosync_ctx_new(struct gosync_fs_count *count);
void gosync_ctx_put(struct gosync_ctx *ctx);

/* ---- fs.c: the gosync filesystem ---- */

int gosync_fs_init(void);
void gosync_fs_exit(void);
/* The object an inode of ours names (for the kinds' ->open). */
void *gosync_fs_object(struct inode *inode);
/* An object made in a mount is gone: the mount counts one fewer. */
void gosync_fs_uncount(struct gosync_fs_count *count);

/* ---- device.c ---- */

long gosync_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
/* "rw", "r" or "w": what a file of an object may do (fdinfo). */
const char *gosync_fmode_dir(struct file *file);

bool gosync_mem_is_zero(const void *p, size_t len);
int gosync_install_fd(const char *name, const struct file_operations *fops,
		      void *obj, int oflags, fmode_t fmode, int __user *ufd,
		      struct kref *kref, void (*release)(struct kref *kref),
		      void (*opened)(void *obj, struct file *file));

#endif /* _GOSYNC_INTERNAL_H */
