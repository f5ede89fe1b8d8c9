// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: the process's handle on /dev/gosync.
 *
 * The device is opened once, on first use, and kept for the life of the
 * process (O_CLOEXEC: an exec'd image opens its own).  Threads race to open
 * it; the first to publish wins and the others close theirs.  GOSYNC_DEVICE
 * in the environment names another node (a container's bind mount, a test).
 * Without it and without /dev/gosync (a container given only a gosync
 * mount), the mount's root directory is the device: it answers the same
 * ioctls (gosync(4)); the process then holds the mount busy as it would
 * hold the module.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

static int gosync_dev = -1;

int gosync_dev_fd(void)
{
	int fd = __atomic_load_n(&gosync_dev, __ATOMIC_ACQUIRE);
	int expected = -1;
	const char *path;

	if (fd >= 0)
		return fd;

	path = getenv("GOSYNC_DEVICE");
	if (path && *path) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return errno == ENOENT ? -ENODEV : -errno;
	} else {
		fd = open("/dev/" GOSYNC_DEVICE_NAME, O_RDWR | O_CLOEXEC);
		/* No node: a gosync mount's root answers the same ioctls. */
		if (fd < 0 && errno == ENOENT)
			fd = gosync_fs_root();
		else if (fd < 0)
			fd = -errno;
		if (fd < 0)
			return fd;
	}
	if (!__atomic_compare_exchange_n(&gosync_dev, &expected, fd, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		close(fd);
		fd = expected;
	}
	return fd;
}

int gosync_info(struct gosync_info *info)
{
	GOSYNC_KEEP_ERRNO;
	int fd;

	if (!info)
		return -EINVAL;
	fd = gosync_dev_fd();
	if (fd < 0)
		return fd;
	memset(info, 0, sizeof(*info));
	if (ioctl(fd, GOSYNC_IOC_INFO, info) < 0)
		return -errno;
	return 0;
}

/*
 * The module's feature bits, asked once (a module cannot change under an
 * open fd of its device): >= 0, or -errno of gosync_dev_fd()/the ioctl.
 */
int64_t gosync_dev_features(void)
{
	static int64_t features = -1;
	int64_t f = __atomic_load_n(&features, __ATOMIC_RELAXED);
	struct gosync_info info;
	int fd;

	if (f >= 0)
		return f;
	fd = gosync_dev_fd();
	if (fd < 0)
		return fd;
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, GOSYNC_IOC_INFO, &info) < 0)
		return -errno;
	f = (int64_t)(info.features & INT64_MAX);
	__atomic_store_n(&features, f, __ATOMIC_RELAXED);
	return f;
}

const char *gosync_version(void)
{
	GOSYNC_KEEP_ERRNO;

	return GOSYNC_STR(GOSYNC_VERSION_MAJOR) "."
	       GOSYNC_STR(GOSYNC_VERSION_MINOR) "."
	       GOSYNC_STR(GOSYNC_VERSION_PATCH);
}
