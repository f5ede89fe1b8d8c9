// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * What a user makes the module allocate is charged to the maker's memory
 * cgroup, so a container cannot pin the host's memory: an object's pinned
 * region (shmem pages), made by the create ioctl or by name in a gosync
 * filesystem, shows in the maker's memory.current, and leaves it when
 * the object is gone.
 */
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gosync_test.h"

#define CG_ROOT		"/tmp/gosync-memcg"
#define CG_CHILD	CG_ROOT "/maker"
#define FS_DIR		"/tmp/gosync-memcg-fs"
/* A ring of 4096 elements of 4096 bytes: ~16 MiB of slots. */
#define ELEM		4096
#define CAP		4096
#define RING_BYTES	((long)ELEM * CAP)

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static long read_long(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n <= 0 ? -EIO : atol(buf);
}

FIXTURE(memcg) {
	int dev;
	bool mounted_cg;
};

FIXTURE_SETUP(memcg)
{
	char ctl[64] = "";
	int fd;

	GOSYNC_OPEN_DEV(self->dev, O_RDWR);
	mkdir(CG_ROOT, 0755);
	self->mounted_cg = !mount("none", CG_ROOT, "cgroup2", 0, NULL);
	if (!self->mounted_cg && errno != EBUSY)
		SKIP(return, "no cgroup2: %m");
	fd = open(CG_ROOT "/cgroup.controllers", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, ctl, sizeof(ctl) - 1) < 0)
			ctl[0] = '\0';
		close(fd);
	}
	if (!strstr(ctl, "memory"))
		SKIP(return, "no memory controller in cgroup2");
	ASSERT_EQ(0, write_file(CG_ROOT "/cgroup.subtree_control", "+memory"));
	ASSERT_TRUE(!mkdir(CG_CHILD, 0755) || errno == EEXIST);
}

FIXTURE_TEARDOWN(memcg)
{
	rmdir(CG_CHILD);
	if (self->mounted_cg)
		umount2(CG_ROOT, MNT_DETACH);
	rmdir(CG_ROOT);
	if (self->dev >= 0)
		close(self->dev);
}

/* GOSYNC_FS_IOC_OPEN of a new channel in the mount at FS_DIR: fd or -errno. */
static int make_named(const char *name)
{
	struct gosync_open o = {
		.name = (uintptr_t)name, .name_len = strlen(name),
		.oflag = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, .mode = 0600,
		.kind = GOSYNC_KIND_CHAN, .elem_size = ELEM, .cap = CAP,
	};
	int dir = open(FS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd;

	if (dir < 0)
		return -errno;
	fd = ioctl(dir, GOSYNC_FS_IOC_OPEN, &o);
	fd = fd < 0 ? -errno : fd;
	close(dir);
	return fd;
}

/*
 * How far memory.current may lag what was charged: the memory cgroup
 * charges the page counter in batches of MEMCG_CHARGE_BATCH (64) pages
 * and keeps the rest as a per-CPU stock, which later charges use up
 * first.  So a reading can already hold up to a batch per CPU of what
 * comes next, and a CI run read a ring's charge as less than the ring.
 */
static long charge_slack(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);

	return (cpus > 0 ? cpus : 1) * 64 * sysconf(_SC_PAGESIZE);
}

/*
 * In a child moved into CG_CHILD: each way of making an object raises
 * the cgroup's memory.current by at least the ring (less the charge
 * batches' slack), and closing (and, for a name, unlinking) it brings it
 * back down.  Exit status: 0, or the step that failed.
 */
static int maker(int dev, bool named)
{
	char pid[32];
	long before, made, after;
	int fd;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (write_file(CG_CHILD "/cgroup.procs", pid))
		return 10;
	before = read_long(CG_CHILD "/memory.current");
	if (before < 0)
		return 11;
	fd = named ? make_named("big") :
		     gosync_test_chan_create(dev, ELEM, CAP, GOSYNC_CHAN_CLOEXEC);
	if (fd < 0)
		return 12;
	made = read_long(CG_CHILD "/memory.current");
	printf("# %s: memory.current %ld -> %ld (ring %ld)\n",
	       named ? "named" : "ioctl", before, made, RING_BYTES);
	if (made - before < RING_BYTES - charge_slack())
		return 13;
	close(fd);
	if (named && unlink(FS_DIR "/big"))
		return 14;
	/* The last reference goes with the close (or the name's eviction). */
	after = read_long(CG_CHILD "/memory.current");
	printf("# %s: after close: %ld\n", named ? "named" : "ioctl", after);
	if (after - before >= RING_BYTES)
		return 15;
	return 0;
}

static void run_maker(struct __test_metadata *_metadata, int dev, bool named)
{
	int st;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		int ret = maker(dev, named);

		/* Its numbers are what a failure is read by: _exit drops stdio. */
		fflush(stdout);
		_exit(ret);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
}

TEST_F(memcg, ioctl_object_charged_to_makers_cgroup)
{
	run_maker(_metadata, self->dev, false);
}

TEST_F(memcg, named_object_charged_to_makers_cgroup)
{
	struct gosync_info info = { 0 };

	ASSERT_EQ(0, gosync_test_ioctl(self->dev, GOSYNC_IOC_INFO, &info));
	if (!(info.features & GOSYNC_FEAT_NAMES))
		SKIP(return, "module without GOSYNC_FEAT_NAMES");
	mkdir(FS_DIR, 0755);
	ASSERT_EQ(0, mount("gosync", FS_DIR, "gosync", 0, NULL)) TH_LOG("%m");
	run_maker(_metadata, self->dev, true);
	EXPECT_EQ(0, umount(FS_DIR)) TH_LOG("%m");
	rmdir(FS_DIR);
}

TEST_HARNESS_MAIN
