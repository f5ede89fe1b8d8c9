// SPDX-License-Identifier: GPL-2.0
/*
 * gosync: the gosync filesystem, where objects have names.
 *
 * Every mount is an instance of its own (get_tree_nodev): its own names,
 * object limit (max=) and root owner, and a user namespace's root may
 * mount one (FS_USERNS_MOUNT), which is how a container gets names of
 * its own.  binderfs is the model; mqueue's keying by IPC namespace is
 * closed to a module (put_ipc_ns is not exported).
 *
 * The tree is flat: a root directory whose entries are objects.  A name
 * is made only by GOSYNC_FS_IOC_OPEN on the root (the shape of a channel
 * does not fit through open(2)), atomically with its lookup under the
 * directory's lock; it holds one reference on its object through the
 * inode (i_private), and its dentry is pinned like ramfs's until
 * unlink(2).  open(2) of a name runs the kind's own ->open (the kind's
 * file_operations are the inode's i_fop): the file is the same as the one
 * the create ioctl makes, plus a path.  unlink(2) removes only the name:
 * the inode, and with it the name's reference, goes once no file holds
 * it (every fd, mapping and io_uring request of it is gone) - mqueue
 * semantics.  Nothing else ever removes a name.
 *
 * Permissions are the VFS's, on the inode's mode, owner and group, set
 * at creation from @mode less the umask, as open(2) does; the maker of an
 * object gets the access it asked for whatever the mode says.  The root
 * is 01777 by default: anyone may make names, only their owner (or the
 * root's) may remove them.
 *
 * What a user makes is charged as the create ioctls charge it (the
 * per-user limits of limits.c, and the memory cgroup through
 * __GFP_ACCOUNT and shmem's own charging); a mount's objects, named or
 * unlinked but still open, are counted against its max=.
 *
 * Locking: the root directory's inode lock serialises lookups that may
 * create, creation and unlink (the VFS takes it for unlink); it is taken
 * with nothing of ours held, and only leaf locks of ours are taken under
 * it (gosync_users_lock, by the charge of a new object).  Nothing that
 * may wait for another process runs under it: an existing object is
 * opened after it is dropped, and a new one cannot be leased yet.
 */
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/fs_struct.h>
#include <linux/fsnotify.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "gosync.h"

#define GOSYNC_FS_ROOT_INO	1

/**
 * struct gosync_fs_opts - mount options
 * @max:	objects this mount may hold
 * @mode:	the root directory's permission bits
 * @uid:	its owner
 * @gid:	its group
 * @set:	which options were given (bits of enum gosync_fs_opt)
 */
struct gosync_fs_opts {
	unsigned int max;
	umode_t mode;
	kuid_t uid;
	kgid_t gid;
	unsigned int set;
};

/**
 * struct gosync_fs_count - a mount's objects
 * @refs:	the mount's, and one per object it counts
 * @objects:	objects made in the mount that exist (named, unlinked and
 *		open, or held by an end GOSYNC_CHAN_IOC_DUP made)
 */
struct gosync_fs_count {
	refcount_t refs;
	atomic_t objects;
};

/**
 * struct gosync_fs_info - one mount's instance
 * @opts:	its options (max may change on remount)
 * @count:	its objects, which may outlive it
 */
struct gosync_fs_info {
	struct gosync_fs_opts opts;
	struct gosync_fs_count *count;
};

enum gosync_fs_opt {
	GOSYNC_OPT_MAX,
	GOSYNC_OPT_MODE,
	GOSYNC_OPT_UID,
	GOSYNC_OPT_GID,
};

static const struct fs_parameter_spec gosync_fs_params[] = {
	fsparam_u32("max", GOSYNC_OPT_MAX),
	fsparam_u32oct("mode", GOSYNC_OPT_MODE),
	fsparam_u32("uid", GOSYNC_OPT_UID),
	fsparam_u32("gid", GOSYNC_OPT_GID),
	{}
};

static const struct inode_operations gosync_fs_node_iops;

void *gosync_fs_object(struct inode *inode)
{
	return inode->i_private;
}

static bool gosync_fs_is_chan(struct inode *inode)
{
	return inode->i_fop == &gosync_chan_fops;
}

static bool gosync_fs_is_ctx(struct inode *inode)
{
	return inode->i_fop == &gosync_ctx_fops;
}

static u32 gosync_fs_kind(struct inode *inode)
{
	if (gosync_fs_is_chan(inode))
		return GOSYNC_KIND_CHAN;
	if (gosync_fs_is_ctx(inode))
		return GOSYNC_KIND_CTX;
	return gosync_sync_kind(inode->i_private);
}

/* ------------------------------------------------------------ inodes -- */

static void gosync_fs_evict(struct inode *inode)
{
	clear_inode(inode);
	/* The root, or an inode whose object could not be made. */
	if (!inode->i_private)
		return;
	if (gosync_fs_is_chan(inode))
		gosync_chan_put(inode->i_private);
	else if (gosync_fs_is_ctx(inode))
		gosync_ctx_put(inode->i_private);
	else
		gosync_sync_put(inode->i_private);
}

static int gosync_fs_show_options(struct seq_file *m, struct dentry *root)
{
	struct gosync_fs_info *info = root->d_sb->s_fs_info;
	struct gosync_fs_opts *o = &info->opts;

	if (o->max != GOSYNC_FS_MAX_DEFAULT)
		seq_printf(m, ",max=%u", o->max);
	if (o->mode != 01777)
		seq_printf(m, ",mode=%o", o->mode);
	if (o->set & BIT(GOSYNC_OPT_UID))
		seq_printf(m, ",uid=%u",
			   from_kuid_munged(&init_user_ns, o->uid));
	if (o->set & BIT(GOSYNC_OPT_GID))
		seq_printf(m, ",gid=%u",
			   from_kgid_munged(&init_user_ns, o->gid));
	return 0;
}

static const struct super_operations gosync_fs_super_ops = {
	.statfs		= simple_statfs,
	.drop_inode	= generic_delete_inode,
	.evict_inode	= gosync_fs_evict,
	.show_options	= gosync_fs_show_options,
};

/*
 * chmod, chown and times as on any file; a size cannot be set, except
 * the 0 of open(O_TRUNC), which is ignored, so that a shell's '>' works.
 */
static int gosync_fs_setattr(struct user_namespace *mnt_userns,
			     struct dentry *dentry, struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	int ret;

	if (attr->ia_valid & ATTR_SIZE) {
		if (attr->ia_size)
			return -EINVAL;
		attr->ia_valid &= ~ATTR_SIZE;
	}
	ret = setattr_prepare(mnt_userns, dentry, attr);
	if (ret)
		return ret;
	setattr_copy(mnt_userns, inode, attr);
	mark_inode_dirty(inode);
	return 0;
}

static const struct inode_operations gosync_fs_node_iops = {
	.setattr	= gosync_fs_setattr,
};

/* ------------------------------------------------------ GOSYNC_FS_IOC_OPEN -- */

/* Tries of a creation whose answer's page keeps going between faults. */
#define GOSYNC_FS_FAULT_TRIES	3

#define GOSYNC_OPEN_OFLAGS	(O_ACCMODE | O_CREAT | O_EXCL | O_CLOEXEC | \
				 O_NONBLOCK)

/* One path component: no '/' or NUL, not "." or "..". */
static int gosync_fs_name_check(const char *name, u32 len)
{
	if (memchr(name, '/', len) || memchr(name, '\0', len))
		return -EINVAL;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return -EINVAL;
	return 0;
}

static int gosync_fs_open_check(const struct gosync_open *req)
{
	bool create = req->oflag & O_CREAT;

	if (req->oflag & ~GOSYNC_OPEN_OFLAGS ||
	    (req->oflag & O_ACCMODE) == O_ACCMODE ||
	    req->flags & ~GOSYNC_OPEN_FLAGS ||
	    !gosync_mem_is_zero(req->resv, sizeof(req->resv)) ||
	    req->mode & ~07777 || req->kind > GOSYNC_KIND_CTX ||
	    (!req->kind && create) || !req->name_len)
		return -EINVAL;
	/* A shape and auto-close are a channel's. */
	if (req->kind && req->kind != GOSYNC_KIND_CHAN &&
	    (req->elem_size || req->cap || req->flags))
		return -EINVAL;
	if (req->name_len > GOSYNC_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The sticky rule of fs.protected_regular=2, always: O_CREAT of a name
 * that exists in a sticky directory others may write opens it only for
 * its owner or the directory's, so no one can squat a name for a victim
 * that means to make it (and would send its secrets to the squatter).
 */
static int gosync_fs_may_open_creat(struct inode *dinode, struct inode *inode)
{
	if (!(dinode->i_mode & S_ISVTX) || !(dinode->i_mode & 0022) ||
	    uid_eq(inode->i_uid, dinode->i_uid) ||
	    uid_eq(inode->i_uid, current_fsuid()))
		return 0;
	return -EACCES;
}

/*
 * May the caller open the existing @inode as @req asks?  Permission
 * first, so that who may not open it learns nothing of its kind or shape.
 */
static int gosync_fs_may_open(struct file *dir, struct inode *inode,
			      const struct gosync_open *req)
{
	static const int acc[] = {
		[O_RDONLY] = MAY_READ, [O_WRONLY] = MAY_WRITE,
		[O_RDWR] = MAY_READ | MAY_WRITE,
	};
	u32 elem_size = 0, cap = 0;
	int ret;

	ret = inode_permission(file_mnt_user_ns(dir), inode,
			       acc[req->oflag & O_ACCMODE]);
	if (!ret && req->oflag & O_CREAT)
		ret = gosync_fs_may_open_creat(file_inode(dir), inode);
	if (ret)
		return ret;
	if (req->kind && req->kind != gosync_fs_kind(inode))
		return -EMEDIUMTYPE;
	if (gosync_fs_is_chan(inode))
		gosync_chan_shape(inode->i_private, &elem_size, &cap);
	if ((req->elem_size && req->elem_size != elem_size) ||
	    (req->cap && req->cap != cap))
		return -EINVAL;
	return 0;
}

void gosync_fs_uncount(struct gosync_fs_count *count)
{
	atomic_dec(&count->objects);
	if (refcount_dec_and_test(&count->refs))
		kfree(count);
}

/*
 * vfs_mkobj()'s callback, after its permission checks (write and search
 * on the directory, an owner the mount can name) and the LSM's: make the
 * object and its inode at the negative @dentry.  The object holds the
 * mount's count until its region is gone (shm.c): an end made from it by
 * GOSYNC_CHAN_IOC_DUP outlives the inode, and counts as long.
 */
static int gosync_fs_mkobj(struct dentry *dentry, umode_t mode, void *arg)
{
	const struct gosync_open *req = arg;
	struct inode *dinode = d_inode(dentry->d_parent), *inode;
	struct gosync_fs_info *info = dinode->i_sb->s_fs_info;
	struct gosync_fs_count *count = info->count;
	void *obj;

	if (atomic_inc_return(&count->objects) > READ_ONCE(info->opts.max)) {
		atomic_dec(&count->objects);
		return -ENOSPC;
	}
	refcount_inc(&count->refs);
	inode = new_inode(dinode->i_sb);
	if (!inode) {
		gosync_fs_uncount(count);
		return -ENOMEM;
	}
	if (req->kind == GOSYNC_KIND_CHAN)
		obj = gosync_chan_new(req->elem_size, req->cap,
				      req->flags & GOSYNC_OPEN_AUTOCLOSE, count);
	else if (req->kind == GOSYNC_KIND_CTX)
		obj = gosync_ctx_new(count);
	else
		obj = gosync_sync_new(req->kind, count);
	if (IS_ERR(obj)) {
		iput(inode);		/* no object: nothing to put */
		gosync_fs_uncount(count);
		return PTR_ERR(obj);
	}
	inode->i_ino = get_next_ino();
	inode_init_owner(&init_user_ns, inode, dinode, mode);
	inode->i_ctime = current_time(inode);
	inode->i_atime = inode->i_ctime;
	inode->i_mtime = inode->i_ctime;
	inode->i_op = &gosync_fs_node_iops;
	inode->i_fop = req->kind == GOSYNC_KIND_CHAN ? &gosync_chan_fops :
		       req->kind == GOSYNC_KIND_CTX ? &gosync_ctx_fops :
						      &gosync_sync_fops;
	inode->i_private = obj;
	d_instantiate(dentry, inode);
	dget(dentry);		/* pinned until unlink, as ramfs's */
	dinode->i_ctime = current_time(dinode);
	dinode->i_mtime = dinode->i_ctime;
	return 0;
}

/*
 * Undo gosync_fs_mkobj() for a caller that then failed, as unlink(2)
 * would (the caller's lookup reference is d_delete()'s), and tell
 * inotify, which was told of the creation.  An open(2) that found the
 * name meanwhile (lockless lookup) keeps what it opened, as after unlink.
 */
static void gosync_fs_unmake(struct inode *dinode, struct dentry *dentry)
{
	simple_unlink(dinode, dentry);
	d_delete_notify(dinode, dentry);
}

static struct file *gosync_fs_dentry_open(struct file *dir,
					  struct dentry *dentry,
					  const struct gosync_open *req)
{
	struct path path = { .mnt = dir->f_path.mnt, .dentry = dentry };

	return dentry_open(&path, req->oflag & (O_ACCMODE | O_NONBLOCK),
			   current_cred());
}

/* The answer GOSYNC_FS_IOC_OPEN writes back, about @inode (NULL: @req's). */
static void gosync_fs_answer(struct gosync_open *req, struct inode *inode,
			     int fd)
{
	if (inode) {
		req->kind = gosync_fs_kind(inode);
		req->elem_size = 0;
		req->cap = 0;
		if (req->kind == GOSYNC_KIND_CHAN)
			gosync_chan_shape(inode->i_private, &req->elem_size,
					  &req->cap);
	}
	req->fd = fd;
}

/*
 * Make the missing @dentry and open it, under the directory's lock: the
 * file, all or nothing.  The answer is written first, without faulting
 * (the caller wrote the same bytes before taking the lock, so the page
 * is there; a userfaultfd or FUSE page must not hold the lock): no name
 * is made for a caller that cannot learn of it.
 */
static struct file *gosync_fs_make_open(struct file *dir, struct dentry *dentry,
					struct gosync_open *req,
					struct gosync_open __user *uarg, int fd,
					bool *fault)
{
	struct inode *dinode = d_inode(dentry->d_parent);
	struct file *file;
	int ret;

	req->flags |= GOSYNC_OPEN_CREATED;
	gosync_fs_answer(req, NULL, fd);
	if (copy_to_user_nofault(uarg, req, sizeof(*req))) {
		*fault = true;	/* the caller faults it in and tries again */
		return ERR_PTR(-EFAULT);
	}
	ret = vfs_mkobj(dentry, mode_strip_sgid(&init_user_ns, dinode,
						req->mode & ~current_umask()),
			gosync_fs_mkobj, req);
	if (ret)
		return ERR_PTR(ret);
	/* A new inode: no lease or other opener can make this wait. */
	file = gosync_fs_dentry_open(dir, dentry, req);
	if (IS_ERR(file))
		gosync_fs_unmake(dinode, dentry);
	return file;
}

/*
 * Look @name up under the directory's lock and make it if asked (then
 * open it there); an existing object is opened after the lock is gone,
 * as open(2) does, so that nothing an opener may wait for (a lease
 * break, a fanotify permission event, a fault on the answer) holds every
 * lookup of the mount.
 */
static struct file *gosync_fs_lookup_open(struct file *dir, const char *name,
					  struct gosync_open *req,
					  struct gosync_open __user *uarg,
					  int fd, bool *fault)
{
	struct dentry *root = dir->f_path.dentry, *dentry;
	bool excl = (req->oflag & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
	struct inode *dinode = d_inode(root);
	struct file *file = NULL;
	int ro = -EROFS, ret = 0;

	/* Only a creation needs it; as mqueue's do_mq_open(). */
	if (req->oflag & O_CREAT)
		ro = mnt_want_write(dir->f_path.mnt);
	inode_lock(dinode);
	dentry = lookup_one_len(name, root, req->name_len);
	if (IS_ERR(dentry)) {
		ret = PTR_ERR(dentry);
		dentry = NULL;
	} else if (d_mountpoint(dentry)) {
		/* open(2) would find what is mounted there, not the object. */
		ret = -EBUSY;
	} else if (d_really_is_positive(dentry)) {
		ret = excl ? -EEXIST : gosync_fs_may_open(dir, d_inode(dentry),
							  req);
	} else if (!(req->oflag & O_CREAT)) {
		ret = -ENOENT;
	} else if (ro) {
		ret = ro;
	} else {
		file = gosync_fs_make_open(dir, dentry, req, uarg, fd, fault);
		ret = PTR_ERR_OR_ZERO(file);
	}
	inode_unlock(dinode);
	if (!ro)
		mnt_drop_write(dir->f_path.mnt);

	if (!ret && !file) {
		/* An existing object: opened, and answered, unlocked. */
		file = gosync_fs_dentry_open(dir, dentry, req);
		ret = PTR_ERR_OR_ZERO(file);
		if (!ret) {
			gosync_fs_answer(req, d_inode(dentry), fd);
			if (copy_to_user(uarg, req, sizeof(*req))) {
				fput(file);
				ret = -EFAULT;
			}
		}
	}
	dput(dentry);
	return ret ? ERR_PTR(ret) : file;
}

static long gosync_fs_ioctl_open(struct file *dir, struct gosync_open __user *uarg)
{
	char name[GOSYNC_NAME_MAX + 1];
	struct gosync_open req;
	struct file *file;
	int fd, ret, tries;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	ret = gosync_fs_open_check(&req);
	if (ret)
		return ret;
	if (copy_from_user(name, u64_to_user_ptr(req.name), req.name_len))
		return -EFAULT;
	name[req.name_len] = '\0';
	ret = gosync_fs_name_check(name, req.name_len);
	if (ret)
		return ret;

	fd = get_unused_fd_flags(req.oflag & O_CLOEXEC);
	if (fd < 0)
		return fd;
	for (tries = 0;; tries++) {
		struct gosync_open again = req;
		bool fault = false;

		/* Faults the answer's page in, before the lock (make_open). */
		if (copy_to_user(uarg, &req, sizeof(req))) {
			file = ERR_PTR(-EFAULT);
			break;
		}
		file = gosync_fs_lookup_open(dir, name, &again, uarg, fd, &fault);
		/* Reclaimed between the two: rare, and bounded. */
		if (!fault || tries == GOSYNC_FS_FAULT_TRIES)
			break;
	}
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	fd_install(fd, file);
	return fd;
}

/* The root directory answers the device's ioctls too (no /dev needed). */
static long gosync_fs_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	if (cmd == GOSYNC_FS_IOC_OPEN)
		return gosync_fs_ioctl_open(file, (void __user *)arg);
	return gosync_dev_ioctl(file, cmd, arg);
}

static const struct file_operations gosync_fs_root_fops = {
	.owner		= THIS_MODULE,
	.open		= dcache_dir_open,
	.release	= dcache_dir_close,
	.llseek		= dcache_dir_lseek,
	.read		= generic_read_dir,
	.iterate_shared	= dcache_readdir,
	.fsync		= noop_fsync,
	.unlocked_ioctl	= gosync_fs_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/* No ->create or ->mkdir: open(O_CREAT) of a new name is EACCES. */
static const struct inode_operations gosync_fs_root_iops = {
	.lookup		= simple_lookup,
	.unlink		= simple_unlink,
};

/* ---------------------------------------------------------- mounting -- */

static int gosync_fs_parse_param(struct fs_context *fc,
				 struct fs_parameter *param)
{
	struct gosync_fs_opts *o = fc->fs_private;
	struct fs_parse_result result;
	int opt;

	opt = fs_parse(fc, gosync_fs_params, param, &result);
	if (opt < 0)
		return opt;
	switch (opt) {
	case GOSYNC_OPT_MAX:
		if (!result.uint_32 || result.uint_32 > GOSYNC_FS_MAX)
			return invalfc(fc, "max must be 1..%u", GOSYNC_FS_MAX);
		o->max = result.uint_32;
		break;
	case GOSYNC_OPT_MODE:
		if (result.uint_32 & ~07777)
			return invalfc(fc, "mode must be at most 07777");
		o->mode = result.uint_32;
		break;
	case GOSYNC_OPT_UID:
		o->uid = make_kuid(current_user_ns(), result.uint_32);
		/* One the mount's own namespace can name, too. */
		if (!uid_valid(o->uid) || !kuid_has_mapping(fc->user_ns, o->uid))
			return invalfc(fc, "uid %u is not mapped", result.uint_32);
		break;
	case GOSYNC_OPT_GID:
		o->gid = make_kgid(current_user_ns(), result.uint_32);
		if (!gid_valid(o->gid) || !kgid_has_mapping(fc->user_ns, o->gid))
			return invalfc(fc, "gid %u is not mapped", result.uint_32);
		break;
	default:
		return -EINVAL;
	}
	o->set |= BIT(opt);
	return 0;
}

static int gosync_fs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct gosync_fs_opts *o = fc->fs_private;
	struct gosync_fs_info *info;
	struct inode *root;

	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_magic = GOSYNC_FS_MAGIC;
	sb->s_op = &gosync_fs_super_ops;
	sb->s_time_gran = 1;
	sb->s_iflags |= SB_I_NOEXEC | SB_I_NODEV;

	info = kzalloc(sizeof(*info), GFP_KERNEL_ACCOUNT);
	if (!info)
		return -ENOMEM;
	sb->s_fs_info = info;
	info->opts = *o;
	/* The default owner: the root of the mounter's user namespace. */
	if (!(o->set & BIT(GOSYNC_OPT_UID))) {
		info->opts.uid = make_kuid(sb->s_user_ns, 0);
		if (!uid_valid(info->opts.uid))
			info->opts.uid = GLOBAL_ROOT_UID;
	}
	if (!(o->set & BIT(GOSYNC_OPT_GID))) {
		info->opts.gid = make_kgid(sb->s_user_ns, 0);
		if (!gid_valid(info->opts.gid))
			info->opts.gid = GLOBAL_ROOT_GID;
	}
	info->count = kzalloc(sizeof(*info->count), GFP_KERNEL_ACCOUNT);
	if (!info->count)
		return -ENOMEM;
	refcount_set(&info->count->refs, 1);
	atomic_set(&info->count->objects, 0);

	root = new_inode(sb);
	if (!root)
		return -ENOMEM;
	root->i_ino = GOSYNC_FS_ROOT_INO;
	root->i_mode = S_IFDIR | info->opts.mode;
	root->i_uid = info->opts.uid;
	root->i_gid = info->opts.gid;
	root->i_ctime = current_time(root);
	root->i_atime = root->i_ctime;
	root->i_mtime = root->i_ctime;
	root->i_op = &gosync_fs_root_iops;
	root->i_fop = &gosync_fs_root_fops;
	set_nlink(root, 2);
	sb->s_root = d_make_root(root);
	return sb->s_root ? 0 : -ENOMEM;
}

static int gosync_fs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, gosync_fs_fill_super);
}

/*
 * A remount may change max= only (below the objects there are: later
 * creations fail).
 */
static int gosync_fs_reconfigure(struct fs_context *fc)
{
	struct gosync_fs_opts *o = fc->fs_private;
	struct gosync_fs_info *info = fc->root->d_sb->s_fs_info;

	if (o->set & ~BIT(GOSYNC_OPT_MAX))
		return invalfc(fc, "only max= can change on remount");
	if (o->set & BIT(GOSYNC_OPT_MAX))
		WRITE_ONCE(info->opts.max, o->max);
	return 0;
}

static void gosync_fs_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations gosync_fs_context_ops = {
	.free		= gosync_fs_free_fc,
	.parse_param	= gosync_fs_parse_param,
	.get_tree	= gosync_fs_get_tree,
	.reconfigure	= gosync_fs_reconfigure,
};

static int gosync_fs_init_fs_context(struct fs_context *fc)
{
	struct gosync_fs_opts *o = kzalloc(sizeof(*o), GFP_KERNEL_ACCOUNT);

	if (!o)
		return -ENOMEM;
	o->max = GOSYNC_FS_MAX_DEFAULT;
	o->mode = 01777;
	fc->fs_private = o;
	fc->ops = &gosync_fs_context_ops;
	return 0;
}

static void gosync_fs_kill_sb(struct super_block *sb)
{
	struct gosync_fs_info *info = sb->s_fs_info;

	/* The pinned names' dentries go, and their inodes with them. */
	kill_litter_super(sb);
	if (info && info->count &&
	    refcount_dec_and_test(&info->count->refs))
		kfree(info->count);
	kfree(info);
}

static struct file_system_type gosync_fs_type = {
	.owner			= THIS_MODULE,
	.name			= GOSYNC_FS_TYPE,
	.init_fs_context	= gosync_fs_init_fs_context,
	.parameters		= gosync_fs_params,
	.kill_sb		= gosync_fs_kill_sb,
	.fs_flags		= FS_USERNS_MOUNT,
};
MODULE_ALIAS_FS(GOSYNC_FS_TYPE);

int gosync_fs_init(void)
{
	return register_filesystem(&gosync_fs_type);
}

void gosync_fs_exit(void)
{
	unregister_filesystem(&gosync_fs_type);
}
