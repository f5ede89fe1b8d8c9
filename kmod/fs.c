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
 * with nothing of ours held, and no lock of ours is taken under it.
 */
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/fs_struct.h>
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
 * struct gosync_fs_info - one mount's instance
 * @opts:	its options (max may change on remount)
 * @objects:	its objects' inodes that exist (named, or unlinked and open)
 */
struct gosync_fs_info {
	struct gosync_fs_opts opts;
	atomic_t objects;
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

static u32 gosync_fs_kind(struct inode *inode)
{
	return gosync_fs_is_chan(inode) ? GOSYNC_KIND_CHAN :
		gosync_sync_kind(inode->i_private);
}

/* ------------------------------------------------------------ inodes -- */

static void gosync_fs_evict(struct inode *inode)
{
	struct gosync_fs_info *info = inode->i_sb->s_fs_info;

	clear_inode(inode);
	/* The root, or an inode whose object could not be made. */
	if (!inode->i_private)
		return;
	if (gosync_fs_is_chan(inode))
		gosync_chan_put(inode->i_private);
	else
		gosync_sync_put(inode->i_private);
	atomic_dec(&info->objects);
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
	    req->mode & ~07777 || req->kind > GOSYNC_KIND_CHAN ||
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

/* What an existing object must allow for @oflag, as open(2) asks. */
static int gosync_fs_may_open(struct file *dir, struct inode *inode,
			      const struct gosync_open *req)
{
	static const int acc[] = {
		[O_RDONLY] = MAY_READ, [O_WRONLY] = MAY_WRITE,
		[O_RDWR] = MAY_READ | MAY_WRITE,
	};
	u32 elem_size, cap;

	if (req->kind && req->kind != gosync_fs_kind(inode))
		return -EMEDIUMTYPE;
	elem_size = 0;
	cap = 0;
	if (gosync_fs_is_chan(inode))
		gosync_chan_shape(inode->i_private, &elem_size, &cap);
	if ((req->elem_size && req->elem_size != elem_size) ||
	    (req->cap && req->cap != cap))
		return -EINVAL;
	return inode_permission(file_mnt_user_ns(dir), inode,
				acc[req->oflag & O_ACCMODE]);
}

/* Make the object and its inode at the negative @dentry. */
static int gosync_fs_create(struct file *dir, struct dentry *dentry,
			    const struct gosync_open *req)
{
	struct user_namespace *mnt_userns = file_mnt_user_ns(dir);
	struct inode *dinode = file_inode(dir), *inode;
	struct gosync_fs_info *info = dinode->i_sb->s_fs_info;
	void *obj;
	int ret;

	ret = inode_permission(mnt_userns, dinode, MAY_WRITE | MAY_EXEC);
	if (ret)
		return ret;
	/* As the VFS: an owner this mount's namespace cannot name. */
	if (!fsuidgid_has_mapping(dinode->i_sb, mnt_userns))
		return -EOVERFLOW;
	if (atomic_inc_return(&info->objects) > READ_ONCE(info->opts.max)) {
		atomic_dec(&info->objects);
		return -ENOSPC;
	}
	ret = -ENOMEM;
	inode = new_inode(dinode->i_sb);
	if (!inode)
		goto uncount;
	if (req->kind == GOSYNC_KIND_CHAN)
		obj = gosync_chan_new(req->elem_size, req->cap,
				      req->flags & GOSYNC_OPEN_AUTOCLOSE);
	else
		obj = gosync_sync_new(req->kind);
	if (IS_ERR(obj)) {
		ret = PTR_ERR(obj);
		iput(inode);	/* no object: eviction does not uncount */
		goto uncount;
	}
	inode->i_ino = get_next_ino();
	inode_init_owner(mnt_userns, inode, dinode,
			 S_IFREG | (req->mode & ~current_umask() & 07777));
	inode->i_ctime = current_time(inode);
	inode->i_atime = inode->i_ctime;
	inode->i_mtime = inode->i_ctime;
	inode->i_op = &gosync_fs_node_iops;
	inode->i_fop = req->kind == GOSYNC_KIND_CHAN ? &gosync_chan_fops :
						       &gosync_sync_fops;
	inode->i_private = obj;
	d_instantiate(dentry, inode);
	dget(dentry);		/* pinned until unlink, as ramfs's */
	dinode->i_ctime = current_time(dinode);
	dinode->i_mtime = dinode->i_ctime;
	return 0;

uncount:
	atomic_dec(&info->objects);
	return ret;
}

/* Look @name up, make it if asked; a referenced positive dentry. */
static struct dentry *gosync_fs_lookup_open(struct file *dir, const char *name,
					    struct gosync_open *req)
{
	struct dentry *root = dir->f_path.dentry, *dentry;
	int ret;

	inode_lock(d_inode(root));
	dentry = lookup_one_len(name, root, req->name_len);
	if (IS_ERR(dentry))
		goto unlock;
	if (d_really_is_positive(dentry)) {
		ret = (req->oflag & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) ?
		      -EEXIST : gosync_fs_may_open(dir, d_inode(dentry), req);
	} else if (req->oflag & O_CREAT) {
		ret = gosync_fs_create(dir, dentry, req);
		if (!ret)
			req->flags |= GOSYNC_OPEN_CREATED;
	} else {
		ret = -ENOENT;
	}
	if (ret) {
		dput(dentry);
		dentry = ERR_PTR(ret);
	}
unlock:
	inode_unlock(d_inode(root));
	return dentry;
}

static long gosync_fs_ioctl_open(struct file *dir, struct gosync_open __user *uarg)
{
	char name[GOSYNC_NAME_MAX + 1];
	struct gosync_open req;
	struct dentry *dentry;
	struct inode *inode;
	struct file *file;
	struct path path;
	int fd, ret;

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
	dentry = gosync_fs_lookup_open(dir, name, &req);
	if (IS_ERR(dentry)) {
		put_unused_fd(fd);
		return PTR_ERR(dentry);
	}
	inode = d_inode(dentry);
	/*
	 * Outside the directory's lock: an unlink meanwhile leaves this
	 * dentry, and the inode, to us, as with open(2) racing unlink(2).
	 */
	path.mnt = dir->f_path.mnt;
	path.dentry = dentry;
	file = dentry_open(&path, req.oflag & (O_ACCMODE | O_NONBLOCK),
			   current_cred());
	dput(dentry);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	req.kind = gosync_fs_kind(inode);
	req.elem_size = 0;
	req.cap = 0;
	if (req.kind == GOSYNC_KIND_CHAN)
		gosync_chan_shape(inode->i_private, &req.elem_size, &req.cap);
	req.fd = fd;
	if (copy_to_user(uarg, &req, sizeof(req))) {
		put_unused_fd(fd);
		fput(file);
		return -EFAULT;
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
		if (!uid_valid(o->uid))
			return invalfc(fc, "uid %u is not mapped", result.uint_32);
		break;
	case GOSYNC_OPT_GID:
		o->gid = make_kgid(current_user_ns(), result.uint_32);
		if (!gid_valid(o->gid))
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
	atomic_set(&info->objects, 0);

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
