// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The library's device handle on a host without the module: the exact
 * error when /dev/gosync is missing, and one shared fd however many
 * threads race to open it (GOSYNC_DEVICE points it at /dev/null here).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include <gosync.h>

static int count_fds_to(const char *target)
{
	char link[300], dest[256];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", d->d_name);
		len = readlink(link, dest, sizeof(dest) - 1);
		if (len < 0)
			continue;
		dest[len] = '\0';
		n += !strcmp(dest, target);
	}
	closedir(dir);
	return n;
}

TEST(missing_device_is_enodev)
{
	struct gosync_info info;

	ASSERT_EQ(0, setenv("GOSYNC_DEVICE", "/nonexistent/gosync", 1));
	EXPECT_EQ(-ENODEV, gosync_info(&info));
	/* Not cached: a later call tries again and fails the same way. */
	EXPECT_EQ(-ENODEV, gosync_info(&info));
	EXPECT_EQ(-EINVAL, gosync_info(NULL));
}

TEST(unopenable_device_keeps_its_errno)
{
	struct gosync_info info;

	/* A directory cannot be opened O_RDWR. */
	ASSERT_EQ(0, setenv("GOSYNC_DEVICE", "/", 1));
	EXPECT_EQ(-EISDIR, gosync_info(&info));
}

static void *info_thread(void *arg)
{
	struct gosync_info info;
	long bad = 0;

	(void)arg;
	for (int i = 0; i < 1000; i++)
		bad += gosync_info(&info) != -ENOTTY;
	return (void *)bad;
}

/* Racing first uses publish one fd; the losers close theirs. */
TEST(racing_threads_share_one_fd)
{
	pthread_t t[8];
	int before;

	ASSERT_EQ(0, setenv("GOSYNC_DEVICE", "/dev/null", 1));
	before = count_fds_to("/dev/null");
	ASSERT_LE(0, before);
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, info_thread, NULL));
	for (int i = 0; i < 8; i++) {
		void *bad;

		ASSERT_EQ(0, pthread_join(t[i], &bad));
		EXPECT_EQ(0, (long)bad);
	}
	EXPECT_EQ(before + 1, count_fds_to("/dev/null"));
}

TEST(version_string)
{
	char want[32];

	snprintf(want, sizeof(want), "%d.%d.%d", GOSYNC_VERSION_MAJOR,
		 GOSYNC_VERSION_MINOR, GOSYNC_VERSION_PATCH);
	EXPECT_STREQ(want, gosync_version());
}

TEST_HARNESS_MAIN
