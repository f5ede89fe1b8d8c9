// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The module's lifetime: an open fd pins it (rmmod is refused, nothing
 * breaks), and so does a mounted gosync filesystem with no fd open at
 * all; once the last fd and mount are gone it unloads cleanly, removes
 * its node and its filesystem type, and loads again.  The reload needs
 * the module file: the guest runner passes its path in GOSYNC_MODULE.
 * The guest runner mounts /run/gosync: to unload, the test unmounts
 * every gosync mount it finds and mounts them again after the reload,
 * with the options they had, so the tests after it find them.
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

/* Is a filesystem type "gosync" registered (/proc/filesystems)? */
static bool fs_registered(void)
{
	char line[128];
	bool found = false;
	FILE *f = fopen("/proc/filesystems", "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = !strcmp(line, "nodev\t" GOSYNC_FS_TYPE "\n");
	if (f)
		fclose(f);
	return found;
}

#define MAX_MOUNTS	8

/* The gosync mounts of this mount namespace, to put back after a reload. */
struct mounts {
	int n;
	char dir[MAX_MOUNTS][256];
	char opts[MAX_MOUNTS][256];	/* the filesystem's own options */
	bool down[MAX_MOUNTS];		/* unmounted by unmount_all() */
};

/* Keep only the options the filesystem parses (max=, mode=, uid=, gid=). */
static void fs_options(char *out, size_t size, const char *all)
{
	char buf[256], *save, *o;

	snprintf(buf, sizeof(buf), "%s", all);
	out[0] = 0;
	for (o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (strncmp(o, "max=", 4) && strncmp(o, "mode=", 5) &&
		    strncmp(o, "uid=", 4) && strncmp(o, "gid=", 4))
			continue;
		snprintf(out + strlen(out), size - strlen(out), "%s%s",
			 out[0] ? "," : "", o);
	}
}

/* Unmount every gosync mount, remembering it in @m: 0, or -errno. */
static int unmount_all(struct mounts *m)
{
	char src[256], dir[256], type[64], opts[256];
	FILE *f = fopen("/proc/self/mounts", "r");
	int err = 0;

	m->n = 0;
	if (!f)
		return -errno;
	while (m->n < MAX_MOUNTS &&
	       fscanf(f, "%255s %255s %63s %255s %*d %*d", src, dir, type, opts) == 4) {
		if (strcmp(type, GOSYNC_FS_TYPE))
			continue;
		snprintf(m->dir[m->n], sizeof(m->dir[0]), "%s", dir);
		fs_options(m->opts[m->n], sizeof(m->opts[0]), opts);
		m->n++;
	}
	fclose(f);
	/* Innermost first: a later line may be mounted inside an earlier. */
	for (int i = m->n - 1; i >= 0; i--) {
		int e = 0;

		for (int t = 0; t < 250; t++) {
			e = umount2(m->dir[i], 0) ? -errno : 0;
			if (e != -EBUSY)
				break;
			usleep(20000);	/* a delayed fput */
		}
		if (e)
			err = e;
		m->down[i] = !e;
	}
	return err;
}

/* Mount again what unmount_all() took down: 0, or -errno. */
static int remount_all(const struct mounts *m)
{
	int err = 0;

	for (int i = 0; i < m->n; i++)
		if (m->down[i] && mount(GOSYNC_FS_TYPE, m->dir[i], GOSYNC_FS_TYPE, 0,
			  m->opts[i][0] ? m->opts[i] : NULL))
			err = -errno;
	return err;
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
	struct mounts m = { 0 };
	bool names, reloaded = false;
	char dir[64];
	struct stat st;
	int fd, kofd;

	if (!module_loaded())
		SKIP(return, "gosync.ko not loaded");
	if (!ko || !*ko)
		SKIP(return, "GOSYNC_MODULE (path of gosync.ko) not set");
	names = gosync_test_features() & GOSYNC_FEAT_NAMES;
	kofd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, kofd) TH_LOG("open %s: %m", ko);

	EXPECT_EQ(0, unmount_all(&m)) TH_LOG("unmounting the gosync mounts");
	if (names) {
		EXPECT_TRUE(fs_registered());
		/* A mount pins the module, with no fd open anywhere. */
		ASSERT_EQ(0, gosync_test_mount(dir, NULL));
		EXPECT_EQ(-EWOULDBLOCK, delete_module("gosync", O_NONBLOCK));
		EXPECT_TRUE(module_loaded());
		EXPECT_EQ(0, gosync_test_umount(dir));
	}

	EXPECT_EQ(0, delete_module("gosync", O_NONBLOCK));
	EXPECT_FALSE(module_loaded());
	EXPECT_EQ(-1, stat(GOSYNC_DEV_PATH, &st));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_FALSE(fs_registered());

	/* Loading it again must work: nothing was left registered. */
	if (!module_loaded()) {
		EXPECT_EQ(0, finit_module(kofd, "", 0));
		reloaded = module_loaded();
	}
	close(kofd);
	/* Whatever happened, the mounts go back for the tests after this. */
	EXPECT_EQ(0, remount_all(&m)) TH_LOG("mounting the gosync mounts again");
	ASSERT_TRUE(reloaded);
	EXPECT_EQ(names, fs_registered());
	ASSERT_EQ(0, stat(GOSYNC_DEV_PATH, &st));
	EXPECT_EQ(0666, st.st_mode & 07777);
	fd = open(GOSYNC_DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, gosync_test_ioctl(fd, GOSYNC_IOC_INFO, &info));
	EXPECT_EQ(GOSYNC_ABI_VERSION, info.abi_version);
	close(fd);
}

TEST_HARNESS_MAIN
