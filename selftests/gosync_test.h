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

#endif /* GOSYNC_TEST_H */
