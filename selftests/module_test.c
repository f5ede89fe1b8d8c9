// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The module's lifetime: an open fd pins it (rmmod is refused, nothing
 * breaks), and once the last fd is gone it unloads cleanly, removes its
 * node, and loads again.  The reload needs the module file: the guest
 * runner passes its path in GOSYNC_MODULE.
 */
#include <stdlib.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "gosync_test.h"

static int delete_module(const char *name, unsigned int flags)
{
	return syscall(SYS_delete_module, name, flags) ? -errno : 0;
}

static int finit_module(int fd, const char *params, unsigned int flags)
{
	return syscall(SYS_finit_module, fd, params, flags) ? -errno : 0;
}

static bool module_loaded(void)
{
	return access("/sys/module/gosync", F_OK) == 0;
}

TEST(unload_refused_while_device_open)
{
	struct gosync_info info = { 0 };
	int fd;

	GOSYNC_OPEN_DEV(fd, O_RDWR);
	EXPECT_EQ(-EWOULDBLOCK, delete_module("gosync", O_NONBLOCK));
	EXPECT_TRUE(module_loaded());
	/* The refused unload left the device working. */
	EXPECT_EQ(0, gosync_test_ioctl(fd, GOSYNC_IOC_INFO, &info));
	EXPECT_EQ(GOSYNC_ABI_VERSION, info.abi_version);
	close(fd);
}

TEST(unload_and_reload)
{
	const char *ko = getenv("GOSYNC_MODULE");
	struct gosync_info info = { 0 };
	struct stat st;
	int fd, kofd;

	if (!module_loaded())
		SKIP(return, "gosync.ko not loaded");
	if (!ko || !*ko)
		SKIP(return, "GOSYNC_MODULE (path of gosync.ko) not set");
	kofd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, kofd) TH_LOG("open %s: %m", ko);

	ASSERT_EQ(0, delete_module("gosync", O_NONBLOCK));
	EXPECT_FALSE(module_loaded());
	EXPECT_EQ(-1, stat(GOSYNC_DEV_PATH, &st));
	EXPECT_EQ(ENOENT, errno);

	/* Loading it again must work: nothing was left registered. */
	ASSERT_EQ(0, finit_module(kofd, "", 0));
	close(kofd);
	ASSERT_EQ(0, stat(GOSYNC_DEV_PATH, &st));
	EXPECT_EQ(0666, st.st_mode & 07777);
	fd = open(GOSYNC_DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, gosync_test_ioctl(fd, GOSYNC_IOC_INFO, &info));
	EXPECT_EQ(GOSYNC_ABI_VERSION, info.abi_version);
	close(fd);
}

TEST_HARNESS_MAIN
