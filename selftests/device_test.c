// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * /dev/gosync itself: the node, who may open it, GOSYNC_IOC_INFO and the
 * exact errno of every way to call it wrongly.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gosync_test.h"

#include <gosync.h>

#define MISC_MAJOR	10

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	GOSYNC_OPEN_DEV(self->fd, O_RDWR);
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* A misc character device, mode 0666, as documented in gosync(4). */
TEST_F(dev, node_is_misc_char_device_0666)
{
	struct stat st;

	ASSERT_EQ(0, stat(GOSYNC_DEV_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666, st.st_mode & 07777);
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));
}

/* Mode 0666 means it: an unprivileged user opens it and asks for info. */
TEST_F(dev, unprivileged_user_can_use_it)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gosync_info info = { 0 };
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		fd = open(GOSYNC_DEV_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			_exit(3);
		if (ioctl(fd, GOSYNC_IOC_INFO, &info))
			_exit(4);
		_exit(info.abi_version == GOSYNC_ABI_VERSION ? 0 : 5);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(dev, info_reports_abi_version)
{
	struct gosync_info info;

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, gosync_test_ioctl(self->fd, GOSYNC_IOC_INFO, &info));
	EXPECT_EQ(GOSYNC_ABI_VERSION, info.abi_version);
	EXPECT_EQ(0, info.flags);
	for (size_t i = 0; i < sizeof(info.resv) / sizeof(info.resv[0]); i++)
		EXPECT_EQ(0, info.resv[i]);
}

/* The library's wrapper agrees with the ioctl. */
TEST_F(dev, library_info_matches_ioctl)
{
	struct gosync_info raw = { 0 }, lib;

	ASSERT_EQ(0, gosync_test_ioctl(self->fd, GOSYNC_IOC_INFO, &raw));
	ASSERT_EQ(0, gosync_info(&lib));
	EXPECT_EQ(0, memcmp(&raw, &lib, sizeof(raw)));
	EXPECT_EQ(-EINVAL, gosync_info(NULL));
}

/* A read-only open is enough to ask. */
TEST(info_on_read_only_open)
{
	struct gosync_info info = { 0 };
	int fd;

	GOSYNC_OPEN_DEV(fd, O_RDONLY);
	EXPECT_EQ(0, gosync_test_ioctl(fd, GOSYNC_IOC_INFO, &info));
	EXPECT_EQ(GOSYNC_ABI_VERSION, info.abi_version);
	close(fd);
}

/* Every flag bit is unknown in ABI 1; a rejected call writes nothing. */
TEST_F(dev, info_unknown_flags_einval)
{
	for (int bit = 0; bit < 32; bit++) {
		struct gosync_info info = { 0 };

		info.flags = 1U << bit;
		info.abi_version = 0xdeadbeef;
		EXPECT_EQ(-EINVAL,
			  gosync_test_ioctl(self->fd, GOSYNC_IOC_INFO, &info))
			TH_LOG("flag bit %d", bit);
		EXPECT_EQ(0xdeadbeef, info.abi_version);
		EXPECT_EQ(1U << bit, info.flags);
	}
}

TEST_F(dev, info_nonzero_reserved_einval)
{
	for (size_t i = 0; i < sizeof(((struct gosync_info *)0)->resv) /
			       sizeof(__u64); i++) {
		struct gosync_info info = { 0 };

		info.resv[i] = 1ULL << (i * 9);
		EXPECT_EQ(-EINVAL,
			  gosync_test_ioctl(self->fd, GOSYNC_IOC_INFO, &info))
			TH_LOG("resv[%zu]", i);
		EXPECT_EQ(0, info.abi_version);
	}
}

/* Anything but the exact command number, size and direction is ENOTTY. */
TEST_F(dev, unknown_ioctl_enotty)
{
	struct gosync_info info = { 0 };
	const unsigned long cmds[] = {
		0,
		_IO(GOSYNC_IOC_MAGIC, 0x00),
		_IOR(GOSYNC_IOC_MAGIC, 0x00, struct gosync_info),
		_IOW(GOSYNC_IOC_MAGIC, 0x00, struct gosync_info),
		_IOWR(GOSYNC_IOC_MAGIC, 0x00, __u64[4]),
		_IOWR(GOSYNC_IOC_MAGIC, 0x1f, struct gosync_info),
		_IOWR(GOSYNC_IOC_MAGIC, 0xff, struct gosync_info),
		_IOWR(GOSYNC_IOC_MAGIC + 1, 0x00, struct gosync_info),
		TCGETS,
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		EXPECT_EQ(-ENOTTY, gosync_test_ioctl(self->fd, cmds[i], &info))
			TH_LOG("cmd %#lx", cmds[i]);
	}
}

/* Unreadable input, unwritable output, a struct running off the map. */
TEST_F(dev, info_bad_pointer_efault)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map;

	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->fd, GOSYNC_IOC_INFO, NULL));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->fd, GOSYNC_IOC_INFO,
					     (void *)(uintptr_t)-4096));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->fd, GOSYNC_IOC_INFO,
					     (void *)0xffffffff81000000UL));

	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);

	/* Readable (all zero, a valid request) but not writable. */
	ASSERT_EQ(0, mprotect(map, page, PROT_READ));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->fd, GOSYNC_IOC_INFO, map));

	/* Starts in a mapped page, ends in an unmapped one. */
	ASSERT_EQ(0, munmap(map + page, page));
	ASSERT_EQ(0, mprotect(map, page, PROT_READ | PROT_WRITE));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->fd, GOSYNC_IOC_INFO,
		  map + page - sizeof(struct gosync_info) / 2));
	munmap(map, page);
}

/* The device node carries no data stream and no file position. */
TEST_F(dev, no_read_write_seek)
{
	char buf[8] = { 0 };

	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, lseek(self->fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
}

TEST_HARNESS_MAIN
