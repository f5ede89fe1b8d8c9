/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Helpers shared by the gosync kselftests.  Include after
 * kselftest_harness.h.
 */
#ifndef GOSYNC_TEST_H
#define GOSYNC_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/gosync.h>

#define GOSYNC_DEV_PATH	"/dev/" GOSYNC_DEVICE_NAME

/*
 * Open /dev/gosync into @fd, or SKIP the test when the module is not loaded
 * (the guest runner reports a failed insmod on its own).
 */
#define GOSYNC_OPEN_DEV(fd, oflags) do {					\
	(fd) = open(GOSYNC_DEV_PATH, (oflags) | O_CLOEXEC);			\
	if ((fd) < 0 && errno == ENOENT)					\
		SKIP(return, GOSYNC_DEV_PATH " absent: gosync.ko not loaded");	\
	ASSERT_LE(0, (fd)) TH_LOG("open " GOSYNC_DEV_PATH ": %m");		\
} while (0)

/* ioctl() as -errno or its result, so ASSERT_EQ(-EINVAL, ...) reads well. */
static inline long gosync_test_ioctl(int fd, unsigned long cmd, void *arg)
{
	long ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

/* GOSYNC_IOC_CHAN_CREATE on @dev: the new fd, or -errno. */
static inline int gosync_test_chan_create(int dev, __u32 elem, __u32 cap,
					  __u32 flags)
{
	struct gosync_chan_create req = {
		.flags = flags, .elem_size = elem, .cap = cap,
	};
	int fd = ioctl(dev, GOSYNC_IOC_CHAN_CREATE, &req);

	return fd < 0 ? -errno : fd;
}

/* GOSYNC_CHAN_IOC_SEND or _RECV (@cmd) on @fd: a count, or -errno. */
static inline long gosync_test_xfer(int fd, unsigned long cmd, void *elem,
				    __u32 count, __s64 deadline, __u32 flags)
{
	struct gosync_chan_xfer x = {
		.elem = (uintptr_t)elem, .deadline_ns = deadline,
		.flags = flags, .count = count,
	};

	return gosync_test_ioctl(fd, cmd, &x);
}

#define GOSYNC_DEBUGFS	"/sys/kernel/debug/" GOSYNC_DEVICE_NAME

/*
 * What the module has charged, over all users (debugfs gosync/limits,
 * mounting debugfs when it is not).  0, or -1 without the file.
 */
static inline int gosync_test_charged(unsigned long *objects,
				      unsigned long *bytes)
{
	FILE *f = fopen(GOSYNC_DEBUGFS "/limits", "r");
	int ret = -1;

	if (!f && mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL) == 0)
		f = fopen(GOSYNC_DEBUGFS "/limits", "r");
	if (!f)
		return -1;
	if (fscanf(f, "objects %lu bytes %lu", objects, bytes) == 2)
		ret = 0;
	fclose(f);
	return ret;
}

/* ------------------------------------------------ named objects (fs) -- */

#include <stdint.h>
#include <sys/types.h>

/* GOSYNC_IOC_INFO's feature bits, or 0 without the module. */
static inline __u64 gosync_test_features(void)
{
	struct gosync_info info = { 0 };
	int dev = open(GOSYNC_DEV_PATH, O_RDWR | O_CLOEXEC);
	__u64 f = 0;

	if (dev < 0)
		return 0;
	if (ioctl(dev, GOSYNC_IOC_INFO, &info) == 0)
		f = info.features;
	close(dev);
	return f;
}

/*
 * SKIP the test (with @stmt, e.g. "return" or "goto out") unless the
 * module is loaded and has the gosync filesystem (GOSYNC_FEAT_NAMES).
 */
#define GOSYNC_NEED_NAMES(stmt) do {						\
	if (access(GOSYNC_DEV_PATH, F_OK))					\
		SKIP(stmt, GOSYNC_DEV_PATH " absent: gosync.ko not loaded");	\
	if (!(gosync_test_features() & GOSYNC_FEAT_NAMES))			\
		SKIP(stmt, "no GOSYNC_FEAT_NAMES: this module has no gosync "	\
		     "filesystem, named objects, directional ends or "		\
		     "auto-close");						\
} while (0)

/*
 * Mount a gosync filesystem of its own (options @opts, or NULL) on a new
 * directory whose path goes to @dir (at least 64 bytes): 0, or -errno
 * (the directory is removed again then).
 */
static inline int gosync_test_mount(char *dir, const char *opts)
{
	int err;

	strcpy(dir, "/tmp/gosync-fs.XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	if (mount(GOSYNC_FS_TYPE, dir, GOSYNC_FS_TYPE, 0, opts) == 0)
		return 0;
	err = -errno;
	rmdir(dir);
	return err;
}

/*
 * Unmount what gosync_test_mount() mounted and remove its directory.
 * Closing an fd may finish a little after the close (delayed fput), so
 * EBUSY is retried for a few seconds.  0, or -errno.
 */
static inline int gosync_test_umount(const char *dir)
{
	int err = 0;

	for (int i = 0; i < 250; i++) {
		err = umount2(dir, 0) ? -errno : 0;
		if (err != -EBUSY)
			break;
		usleep(20000);
	}
	if (err == 0)
		rmdir(dir);
	return err;
}

/*
 * GOSYNC_FS_IOC_OPEN of @name (its strlen) on the root directory fd
 * @root: the fd, or -errno; what the kernel wrote back in *@out if not
 * NULL.
 */
static inline int gosync_test_open(int root, const char *name, __u32 oflag,
				   __u32 mode, __u32 kind, __u32 elem,
				   __u32 cap, __u32 flags,
				   struct gosync_open *out)
{
	struct gosync_open o = {
		.name = (uintptr_t)name, .name_len = (__u32)strlen(name),
		.oflag = oflag, .mode = mode, .kind = kind,
		.elem_size = elem, .cap = cap, .flags = flags,
	};
	int fd = ioctl(root, GOSYNC_FS_IOC_OPEN, &o);

	if (out)
		*out = o;
	return fd < 0 ? -errno : fd;
}

/* A channel by name on @root: O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC. */
static inline int gosync_test_mkchan(int root, const char *name,
				     __u32 mode, __u32 elem, __u32 cap,
				     __u32 flags)
{
	return gosync_test_open(root, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
				mode, GOSYNC_KIND_CHAN, elem, cap, flags, NULL);
}

/* GOSYNC_CHAN_IOC_INFO: 0 or -errno. */
static inline int gosync_test_chan_info(int fd, struct gosync_chan_info *info)
{
	memset(info, 0, sizeof(*info));
	return (int)gosync_test_ioctl(fd, GOSYNC_CHAN_IOC_INFO, info);
}

/* GOSYNC_CHAN_IOC_DUP with @flags: the new fd, or -errno. */
static inline int gosync_test_dup(int fd, __u32 flags)
{
	struct gosync_chan_dup d = { .flags = flags };
	int ret = ioctl(fd, GOSYNC_CHAN_IOC_DUP, &d);

	return ret < 0 ? -errno : ret;
}

/*
 * The value of line "@key:\t..." of /proc/@pid/fdinfo/@fd (@pid 0: this
 * process), into @buf without the newline: 0, or -1 without that line.
 */
static inline int gosync_test_fdinfo(pid_t pid, int fd, const char *key,
				     char *buf, size_t size)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	int ret = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	else
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(buf, size, "%s", line + klen + 1 + strspn(line + klen + 1, " \t"));
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/* The same, as a number (-1 without the line). */
static inline long gosync_test_fdinfo_long(pid_t pid, int fd, const char *key)
{
	char buf[64];

	if (gosync_test_fdinfo(pid, fd, key, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 0);
}

/*
 * Wait (up to @ms) until channel fd @fd (of process @pid, 0: this one)
 * has at least @recv receivers and @send senders blocked in the kernel
 * (fdinfo's gosync-waiting): 0, or -1.
 */
static inline int gosync_test_wait_blocked(pid_t pid, int fd, int recv,
					   int send, long ms)
{
	for (long t = 0; t <= ms; t += 5) {
		char buf[64];
		int r = -1, s = -1;

		if (!gosync_test_fdinfo(pid, fd, "gosync-waiting", buf, sizeof(buf)) &&
		    sscanf(buf, "%d %d", &r, &s) == 2 && r >= recv && s >= send)
			return 0;
		usleep(5000);
	}
	return -1;
}

#endif /* GOSYNC_TEST_H */
