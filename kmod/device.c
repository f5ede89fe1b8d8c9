// SPDX-License-Identifier: GPL-2.0
/*
 * gosync: the /dev/gosync misc device.
 *
 * The device is the factory for every gosync object and answers questions
 * about the module.  Opening it needs no privilege (mode 0666): what it
 * creates is charged to the caller.  An open fd pins the module
 * (fops.owner), so rmmod is refused while anyone holds one.
 */
#include <linux/anon_inodes.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "gosync.h"

bool gosync_mem_is_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/**
 * gosync_install_fd - give a new object its fd
 * @name:	the anon inode's name
 * @fops:	the object's file operations
 * @obj:	the object, holding the one reference in @kref
 * @oflags:	the access mode (O_RDWR, or O_RDONLY or O_WRONLY for a
 *		directional end), O_CLOEXEC and O_NONBLOCK, as asked for
 * @fmode:	more f_mode bits: FMODE_NOWAIT for every file that has ->poll.
 *		This 6.1's io_uring runs an IORING_OP_READ or WRITE on a
 *		pollable file without FMODE_NOWAIT by punting it with EAGAIN,
 *		polling, and on a ready poll queueing the same punt again, in
 *		task work, for ever: a thread that reads a WaitGroup at zero
 *		or a done context that way would spin unkillably.  With the
 *		bit, a file without ->read/->write ends it with EINVAL at once.
 * @ufd:	where the caller's struct wants the fd
 * @kref:	@obj's reference, which the file takes over
 * @release:	frees @obj when that reference is put
 * @opened:	NULL, or called with @obj and the new file once it exists,
 *		before anything can fail (its ->release will run)
 *
 * Return: the fd, or -errno with @obj released.
 */
int gosync_install_fd(const char *name, const struct file_operations *fops,
		      void *obj, int oflags, fmode_t fmode, int __user *ufd,
		      struct kref *kref, void (*release)(struct kref *kref),
		      void (*opened)(void *obj, struct file *file))
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(oflags & O_CLOEXEC);
	if (fd < 0) {
		kref_put(kref, release);
		return fd;
	}
	file = anon_inode_getfile(name, fops, obj,
				  oflags & (O_ACCMODE | O_NONBLOCK));
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		kref_put(kref, release);
		return PTR_ERR(file);
	}
	file->f_mode |= fmode;
	if (opened)
		opened(obj, file);
	if (put_user(fd, ufd)) {
		put_unused_fd(fd);
		fput(file);		/* releases the object */
		return -EFAULT;
	}
	fd_install(fd, file);
	return fd;
}

const char *gosync_fmode_dir(struct file *file)
{
	switch (file->f_mode & (FMODE_READ | FMODE_WRITE)) {
	case FMODE_READ:
		return "r";
	case FMODE_WRITE:
		return "w";
	default:
		return "rw";
	}
}

static long gosync_ioctl_info(void __user *uarg)
{
	struct gosync_info info;

	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	if (info.flags & ~GOSYNC_INFO_FLAGS)
		return -EINVAL;
	if (!gosync_mem_is_zero(info.resv, sizeof(info.resv)))
		return -EINVAL;

	memset(&info, 0, sizeof(info));
	info.abi_version = GOSYNC_ABI_VERSION;
	info.features = GOSYNC_FEATURES;
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

/* Also the gosync filesystem's root directory's (fs.c). */
long gosync_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case GOSYNC_IOC_INFO:
		return gosync_ioctl_info(uarg);
	case GOSYNC_IOC_CHAN_CREATE:
		return gosync_chan_create(uarg);
	case GOSYNC_IOC_SELECT:
		return gosync_select(uarg);
	case GOSYNC_IOC_SYNC_CREATE:
		return gosync_sync_create(uarg);
	case GOSYNC_IOC_CTX_CREATE:
		return gosync_ctx_create(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations gosync_dev_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= gosync_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};

static struct miscdevice gosync_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= GOSYNC_DEVICE_NAME,
	.fops	= &gosync_dev_fops,
	.mode	= 0666,
};

/* What tests and the fuzzer read: /sys/kernel/debug/gosync/. */
DEFINE_SHOW_ATTRIBUTE(gosync_limits);
static struct dentry *gosync_debugfs;

static int __init gosync_init(void)
{
	int ret = gosync_ctx_init();

	if (ret)
		return ret;
	ret = misc_register(&gosync_miscdev);
	if (ret)
		goto ctx_exit;
	ret = gosync_fs_init();
	if (ret) {
		misc_deregister(&gosync_miscdev);
		goto ctx_exit;
	}
	/* Optional: without debugfs the module works the same. */
	gosync_debugfs = debugfs_create_dir(GOSYNC_DEVICE_NAME, NULL);
	debugfs_create_file("limits", 0444, gosync_debugfs, NULL,
			    &gosync_limits_fops);
	return 0;

ctx_exit:
	gosync_ctx_exit();
	return ret;
}

static void __exit gosync_exit(void)
{
	debugfs_remove(gosync_debugfs);
	gosync_fs_exit();
	misc_deregister(&gosync_miscdev);
	gosync_uring_exit();
	gosync_ctx_exit();
}

module_init(gosync_init);
module_exit(gosync_exit);

MODULE_DESCRIPTION("gosync: Go-style channels and sync objects across processes");
MODULE_AUTHOR("The gosync developers");
/* shmem_file_setup() and io_uring_cmd_done() are EXPORT_SYMBOL_GPL. */
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
