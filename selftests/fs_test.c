// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The gosync filesystem without the library (GOSYNC_FEAT_NAMES): two
 * mounts are two worlds; max= is a quota of objects (ENOSPC) that an
 * unlinked, still open object keeps using; garbage mount options fail
 * with EINVAL; uid=, gid=, mode= make the root.  GOSYNC_FS_IOC_OPEN:
 * every bad name, oflag, mode, kind, flag and reserved field with its
 * errno and nothing made; EEXIST, ENOENT, shape and kind checks; the
 * out fields; GOSYNC_OPEN_CREATED only for the maker; eight processes
 * racing to make one name.  open(2) of a name gives the channel's fd
 * (ends by access mode, whole elements, poll, epoll, mmap only of a
 * two-way end), O_CREAT cannot make one, O_TRUNC is ignored, and a
 * shell can write and read one.  Unlink while in use: the holder goes
 * on, the name made again is another object, and the old one's charge
 * goes once its last fd and mapping are gone.  fdinfo of a channel and
 * of each sync kind.  Each test has a mount of its own, and leaves the
 * module's charges as it found them.
 */
#include <dirent.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gosync_test.h"

#define RW	(O_RDWR | O_CLOEXEC)
#define MK	(O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC)
#define CHAN	GOSYNC_KIND_CHAN

FIXTURE(fs) {
	char dir[64];
	int root;
	bool ok;
	unsigned long objs0, bytes0;
	bool charged;
};

FIXTURE_SETUP(fs)
{
	self->root = -1;
	GOSYNC_NEED_NAMES(return);
	self->charged = !gosync_test_charged(&self->objs0, &self->bytes0);
	ASSERT_EQ(0, gosync_test_mount(self->dir, NULL));
	self->root = open(self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, self->root);
	self->ok = true;
}

/* Wait (3 s at most, for delayed fputs) until the charges are as at setup. */
static bool charges_back(unsigned long objs0, unsigned long bytes0,
			 unsigned long *objs, unsigned long *bytes)
{
	for (int i = 0; i < 300; i++) {
		if (gosync_test_charged(objs, bytes))
			return false;
		if (*objs == objs0 && *bytes == bytes0)
			return true;
		usleep(10000);
	}
	return false;
}

FIXTURE_TEARDOWN(fs)
{
	unsigned long o, b;

	if (self->root >= 0)
		close(self->root);
	if (self->dir[0])
		EXPECT_EQ(0, gosync_test_umount(self->dir));
	if (self->charged)
		EXPECT_TRUE(charges_back(self->objs0, self->bytes0, &o, &b))
			TH_LOG("charged objects %lu bytes %lu, %lu %lu before",
			       o, b, self->objs0, self->bytes0);
}

/* A test body starts with this: setup skipped, so does the test. */
#define FS_READY() do { if (!self->ok) return; } while (0)

static const char *at(const char *dir, const char *name)
{
	static char buf[4][400];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static long send1(int fd, uint64_t v)
{
	return gosync_test_xfer(fd, GOSYNC_CHAN_IOC_SEND, &v, 1,
				GOSYNC_DEADLINE_NONBLOCK, 0);
}

/* One element, not waiting: the value, or -errno. */
static long long recv1(int fd)
{
	uint64_t v = 0;
	long r = gosync_test_xfer(fd, GOSYNC_CHAN_IOC_RECV, &v, 1,
				  GOSYNC_DEADLINE_NONBLOCK, 0);

	return r == 1 ? (long long)v : r < 0 ? r : -1000;
}

/* Names in the root directory, but . and .. */
static int entries(int root)
{
	int fd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* ---------------------------------------------------------------- mount -- */

TEST_F(fs, mounts_are_isolated)
{
	char dir2[64];
	int root2, a, b, c;
	struct stat st;

	FS_READY();
	ASSERT_EQ(0, gosync_test_mount(dir2, NULL));
	root2 = open(dir2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, root2);

	a = gosync_test_mkchan(self->root, "x", 0600, 8, 4, 0);
	ASSERT_LE(0, a);
	EXPECT_EQ(-ENOENT, gosync_test_open(root2, "x", RW, 0, CHAN, 0, 0, 0, NULL));
	EXPECT_EQ(-1, open(at(dir2, "x"), RW));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, stat(at(dir2, "x"), &st));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, entries(root2));

	/* The same name in the other mount is another object. */
	b = gosync_test_mkchan(root2, "x", 0600, 8, 4, 0);
	ASSERT_LE(0, b);
	ASSERT_EQ(1, send1(a, 11));
	EXPECT_EQ(-EAGAIN, recv1(b));
	c = open(at(self->dir, "x"), RW);
	ASSERT_LE(0, c);
	EXPECT_EQ(11, recv1(c));

	close(a);
	close(b);
	close(c);
	EXPECT_EQ(0, unlinkat(self->root, "x", 0));
	EXPECT_EQ(0, unlinkat(root2, "x", 0));
	close(root2);
	EXPECT_EQ(0, gosync_test_umount(dir2));
}

TEST_F(fs, max_is_a_quota_of_objects)
{
	char dir[64], name[16];
	int root, fd[4], extra;

	FS_READY();
	ASSERT_EQ(0, gosync_test_mount(dir, "max=3"));
	root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, root);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "o%d", i);
		/* Each kind counts the same. */
		fd[i] = gosync_test_open(root, name, MK, 0600,
					 i ? GOSYNC_SYNC_WG : CHAN, i ? 0 : 8,
					 i ? 0 : 1, 0, NULL);
		ASSERT_LE(0, fd[i]) TH_LOG("object %d of max=3: %s", i, strerror(-fd[i]));
	}
	EXPECT_EQ(-ENOSPC, gosync_test_mkchan(root, "o3", 0600, 8, 1, 0));
	EXPECT_EQ(-ENOSPC, gosync_test_open(root, "o3", MK, 0600,
					    GOSYNC_SYNC_MUTEX, 0, 0, 0, NULL));
	/* Opening what exists is not making. */
	extra = gosync_test_open(root, "o0", RW, 0, 0, 0, 0, 0, NULL);
	EXPECT_LE(0, extra);
	close(extra);
	/* Unlinked but open: still one of the mount's objects. */
	EXPECT_EQ(0, unlinkat(root, "o1", 0));
	EXPECT_EQ(-ENOSPC, gosync_test_mkchan(root, "o3", 0600, 8, 1, 0));
	/* Its last fd gone, the place is free. */
	close(fd[1]);
	fd[3] = -ENOSPC;
	for (int i = 0; i < 300 && fd[3] == -ENOSPC; i++) {
		fd[3] = gosync_test_mkchan(root, "o3", 0600, 8, 1, 0);
		if (fd[3] == -ENOSPC)
			usleep(10000);	/* a delayed fput */
	}
	EXPECT_LE(0, fd[3]) TH_LOG("after the unlinked object's close: %s",
				   strerror(-fd[3]));
	EXPECT_EQ(-ENOSPC, gosync_test_mkchan(root, "o4", 0600, 8, 1, 0));
	/* The quota is the mount's: the fixture's mount is not full. */
	extra = gosync_test_mkchan(self->root, "o4", 0600, 8, 1, 0);
	EXPECT_LE(0, extra);
	close(extra);
	EXPECT_EQ(0, unlinkat(self->root, "o4", 0));

	for (int i = 0; i < 4; i++)
		if (i != 1 && fd[i] >= 0)
			close(fd[i]);
	EXPECT_EQ(0, unlinkat(root, "o0", 0));
	EXPECT_EQ(0, unlinkat(root, "o2", 0));
	EXPECT_EQ(0, unlinkat(root, "o3", 0));
	close(root);
	EXPECT_EQ(0, gosync_test_umount(dir));
}

TEST_F(fs, bad_mount_options)
{
	static const char *const bad[] = {
		"max=abc", "max=", "max=-1", "max=0x", "max=1048577",
		"max=99999999999999999999", "max=0",
		"mode=999", "mode=abc", "mode=", "mode=-1", "mode=010000",
		"uid=abc", "uid=", "uid=-1", "gid=x", "gid=4294967295",
		"unknown=1", "foo", "max=3,bogus", "size=1M",
	};
	static const char *const good[] = {
		"max=1", "max=1048576", "mode=0700", "mode=1777", "mode=0",
		"uid=1000", "gid=1000", "max=10,mode=0755,uid=0,gid=0",
	};
	char dir[64];

	FS_READY();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = gosync_test_mount(dir, bad[i]);

		EXPECT_EQ(-EINVAL, r) TH_LOG("mount -o %s: %s", bad[i], strerror(-r));
		if (!r)
			gosync_test_umount(dir);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int r = gosync_test_mount(dir, good[i]);

		EXPECT_EQ(0, r) TH_LOG("mount -o %s: %s", good[i], strerror(-r));
		if (!r)
			EXPECT_EQ(0, gosync_test_umount(dir));
	}
}

TEST_F(fs, root_owner_and_mode)
{
	struct statfs sfs;
	struct stat st;
	char dir[64];

	FS_READY();
	/* The default: root's, 01777 (sticky, like /tmp). */
	ASSERT_EQ(0, fstat(self->root, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(01777, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	ASSERT_EQ(0, fstatfs(self->root, &sfs));
	EXPECT_EQ(GOSYNC_FS_MAGIC, (unsigned long)sfs.f_type);

	ASSERT_EQ(0, gosync_test_mount(dir, "uid=1000,gid=1001,mode=0750"));
	ASSERT_EQ(0, stat(dir, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0750, st.st_mode & 07777);
	EXPECT_EQ(1000, st.st_uid);
	EXPECT_EQ(1001, st.st_gid);
	EXPECT_EQ(0, gosync_test_umount(dir));
}

/*
 * An unprivileged user mounts one in a user namespace of its own
 * (FS_USERNS_MOUNT), on top of /run/gosync even, and sees none of the
 * host's names; the host sees none of its.  Exit codes say what failed.
 */
static int userns_child(const char *hostdir, int sync_fd)
{
	char map[64];
	struct stat st;
	int fd, root;
	uint64_t v = 0;

	if (setgroups(0, NULL) || setgid(1000) || setuid(1000))
		return 10;
	/* setuid made it undumpable: its /proc/self files would be root's. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return 27;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return errno == EPERM || errno == EINVAL || errno == ENOSPC ? 4 : 11;
	snprintf(map, sizeof(map), "0 1000 1");
	fd = open("/proc/self/uid_map", O_WRONLY);
	if (fd < 0 || write(fd, map, strlen(map)) < 0)
		return 12;
	close(fd);
	fd = open("/proc/self/setgroups", O_WRONLY);
	if (fd < 0 || write(fd, "deny", 4) < 0)
		return 13;
	close(fd);
	fd = open("/proc/self/gid_map", O_WRONLY);
	if (fd < 0 || write(fd, map, strlen(map)) < 0)
		return 14;
	close(fd);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return 15;
	if (mount(GOSYNC_FS_TYPE, hostdir, GOSYNC_FS_TYPE, 0, NULL))
		return errno == EPERM ? 16 : 17;
	root = open(hostdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return 18;
	/* The root is the namespace's root's: uid 0 in here. */
	if (fstat(root, &st) || st.st_uid != 0 || (st.st_mode & 07777) != 01777)
		return 19;
	/* The host's name is not here. */
	if (gosync_test_open(root, "host-name", RW, 0, 0, 0, 0, 0, NULL) != -ENOENT)
		return 20;
	fd = gosync_test_mkchan(root, "ns-name", 0600, 8, 2, 0);
	if (fd < 0)
		return 21;
	if (send1(fd, 77) != 1 || recv1(fd) != 77)
		return 22;
	if (fstat(fd, &st) || st.st_uid != 0)
		return 23;
	/* Tell the parent to look, then wait for it. */
	if (write(sync_fd, "x", 1) != 1 || read(sync_fd, &v, 1) != 1)
		return 24;
	close(fd);
	if (unlinkat(root, "ns-name", 0))
		return 25;
	close(root);
	if (umount2(hostdir, 0))
		return 26;
	return 0;
}

TEST_F(fs, userns_mount)
{
	int sv[2], host, st;
	char c;
	pid_t pid;

	FS_READY();
	/* The fixture's mount plays the host's /run/gosync. */
	host = gosync_test_mkchan(self->root, "host-name", 0666, 8, 2, 0);
	ASSERT_LE(0, host);
	ASSERT_EQ(0, chmod(self->dir, 01777));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(sv[0]);
		_exit(userns_child(self->dir, sv[1]));
	}
	close(sv[1]);
	if (read(sv[0], &c, 1) == 1) {
		struct stat s;

		/* The child's object is not in the host's mount. */
		EXPECT_EQ(-1, stat(at(self->dir, "ns-name"), &s));
		EXPECT_EQ(ENOENT, errno);
		EXPECT_EQ(-ENOENT, gosync_test_open(self->root, "ns-name", RW, 0, 0,
						    0, 0, 0, NULL));
		EXPECT_EQ(1, write(sv[0], "x", 1));
	}
	close(sv[0]);
	st = -1;
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	close(host);
	EXPECT_EQ(0, unlinkat(self->root, "host-name", 0));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 4)
		SKIP(return, "unprivileged user namespaces are off in this kernel");
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("the namespace's child failed at step %d (see userns_child)",
		       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* ------------------------------------------------------ GOSYNC_FS_IOC_OPEN -- */

TEST_F(fs, open_bad_names)
{
	char long_name[GOSYNC_NAME_MAX + 2];
	struct gosync_open o = { 0 };

	FS_READY();
	for (int creat = 0; creat < 2; creat++) {
		__u32 fl = creat ? MK : RW;
		__u32 k = creat ? CHAN : 0;

		EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "", fl, 0600, k, 8, 1, 0, NULL));
		EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "a/b", fl, 0600, k, 8, 1, 0, NULL));
		EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "/a", fl, 0600, k, 8, 1, 0, NULL));
		EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "a/", fl, 0600, k, 8, 1, 0, NULL));
		EXPECT_EQ(-EINVAL, gosync_test_open(self->root, ".", fl, 0600, k, 8, 1, 0, NULL));
		EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "..", fl, 0600, k, 8, 1, 0, NULL));
		memset(long_name, 'n', sizeof(long_name));
		long_name[GOSYNC_NAME_MAX + 1] = 0;		/* 256 bytes */
		EXPECT_EQ(-ENAMETOOLONG, gosync_test_open(self->root, long_name, fl, 0600,
							  k, 8, 1, 0, NULL));
		/* A NUL inside the counted bytes. */
		o = (struct gosync_open){ .name = (uintptr_t)"ab\0c", .name_len = 4,
					  .oflag = fl, .mode = 0600, .kind = k,
					  .elem_size = 8, .cap = 1 };
		EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->root, GOSYNC_FS_IOC_OPEN, &o));
		o.name_len = 0;
		o.name = (uintptr_t)"abc";
		EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->root, GOSYNC_FS_IOC_OPEN, &o));
		o.name_len = GOSYNC_NAME_MAX + 1;
		o.name = (uintptr_t)long_name;
		EXPECT_EQ(-ENAMETOOLONG, gosync_test_ioctl(self->root, GOSYNC_FS_IOC_OPEN, &o));
		o.name_len = 0xffffffff;
		EXPECT_EQ(-ENAMETOOLONG, gosync_test_ioctl(self->root, GOSYNC_FS_IOC_OPEN, &o));
		o.name_len = 3;
		o.name = 16;
		EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->root, GOSYNC_FS_IOC_OPEN, &o));
	}
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->root, GOSYNC_FS_IOC_OPEN, NULL));
	EXPECT_EQ(0, entries(self->root));

	/* 255 bytes is a name; "..." is too. */
	long_name[GOSYNC_NAME_MAX] = 0;
	int fd = gosync_test_mkchan(self->root, long_name, 0600, 8, 1, 0);

	EXPECT_LE(0, fd);
	close(fd);
	EXPECT_EQ(0, unlinkat(self->root, long_name, 0));
	fd = gosync_test_mkchan(self->root, "...", 0600, 8, 1, 0);
	EXPECT_LE(0, fd);
	close(fd);
	EXPECT_EQ(0, unlinkat(self->root, "...", 0));
}

TEST_F(fs, open_bad_flags)
{
	static const int bad_oflags[] = {
		O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_SYNC, O_DSYNC,
		O_PATH, O_TMPFILE, O_NOCTTY, O_ASYNC, O_DIRECT, O_NOATIME,
		0100000 /* the kernel's O_LARGEFILE: 0 in glibc here */, 0x80000000,
	};
	struct gosync_open o;
	int fd;

	FS_READY();
	for (size_t i = 0; i < sizeof(bad_oflags) / sizeof(bad_oflags[0]); i++) {
		EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", MK | bad_oflags[i],
						    0600, CHAN, 8, 1, 0, NULL))
			TH_LOG("oflag bit %#x", bad_oflags[i]);
	}
	/* O_ACCMODE itself: no such access mode. */
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", O_CREAT | O_ACCMODE,
					    0600, CHAN, 8, 1, 0, NULL));
	/* Modes beyond 07777. */
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", MK, 010000, CHAN, 8, 1, 0, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", MK, S_IFREG | 0600, CHAN,
					    8, 1, 0, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", MK, 0xffffffff, CHAN, 8, 1, 0, NULL));
	/* Kinds: none to make, out of range. */
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", MK, 0600, 0, 8, 1, 0, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", MK, 0600, GOSYNC_KIND_CTX + 1, 8, 1, 0, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", MK, 0600, 0xffffffff, 8, 1, 0, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", RW, 0600, GOSYNC_KIND_CTX + 1, 0, 0, 0, NULL));
	/* Flags: unknown ones, and the out-only CREATED as input. */
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", MK, 0600, CHAN, 8, 1, 0x2, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", MK, 0600, CHAN, 8, 1,
					    GOSYNC_OPEN_CREATED, NULL));
	/* A channel too big to make. */
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", MK, 0600, CHAN,
					    GOSYNC_CHAN_MAX_ELEM + 1, 1, 0, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "n", MK, 0600, CHAN, 8,
					    GOSYNC_CHAN_MAX_CAP + 1, 0, NULL));
	/* Reserved words. */
	for (int i = 0; i < 2; i++) {
		o = (struct gosync_open){ .name = (uintptr_t)"n", .name_len = 1,
					  .oflag = MK, .mode = 0600, .kind = CHAN,
					  .elem_size = 8, .cap = 1 };
		o.resv[i] = 1;
		EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->root, GOSYNC_FS_IOC_OPEN, &o));
	}
	/* Nothing was made by any of it. */
	EXPECT_EQ(0, entries(self->root));
	EXPECT_EQ(-ENOENT, gosync_test_open(self->root, "n", RW, 0, 0, 0, 0, 0, NULL));

	/* What is allowed: O_NONBLOCK and O_CLOEXEC. */
	fd = gosync_test_open(self->root, "n", MK | O_NONBLOCK, 0600, CHAN, 8, 1, 0, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	close(fd);
	fd = gosync_test_open(self->root, "n", O_RDWR, 0, 0, 0, 0, 0, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD));
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	EXPECT_EQ(0, unlinkat(self->root, "n", 0));
	/* Only the root directory takes it: a name's fd does not. */
	fd = gosync_test_mkchan(self->root, "n", 0600, 8, 1, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, gosync_test_open(fd, "m", MK, 0600, CHAN, 8, 1, 0, NULL));
	close(fd);
	EXPECT_EQ(0, unlinkat(self->root, "n", 0));
}

TEST_F(fs, open_existing_shape_and_kind)
{
	struct gosync_open o;
	struct stat st, st2;
	int fd, fd2;

	FS_READY();
	fd = gosync_test_open(self->root, "c", MK, 0600, CHAN, 8, 4, 0, &o);
	ASSERT_LE(0, fd);
	EXPECT_EQ(fd, o.fd);
	EXPECT_EQ(GOSYNC_OPEN_CREATED, o.flags);
	EXPECT_EQ(CHAN, o.kind);
	EXPECT_EQ(8, o.elem_size);
	EXPECT_EQ(4, o.cap);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0, st.st_size);
	EXPECT_EQ(0600, st.st_mode & 07777);

	EXPECT_EQ(-EEXIST, gosync_test_open(self->root, "c", MK, 0600, CHAN, 8, 4, 0, NULL));
	EXPECT_EQ(-EEXIST, gosync_test_open(self->root, "c", MK, 0600, GOSYNC_SYNC_WG,
					    0, 0, 0, NULL));
	EXPECT_EQ(-ENOENT, gosync_test_open(self->root, "d", RW, 0, CHAN, 8, 4, 0, NULL));
	EXPECT_EQ(-ENOENT, gosync_test_open(self->root, "d", RW, 0, 0, 0, 0, 0, NULL));

	/* O_CREAT without O_EXCL opens it: not CREATED; the shape may match. */
	fd2 = gosync_test_open(self->root, "c", O_CREAT | RW, 0600, CHAN, 8, 4, 0, &o);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, o.flags);
	ASSERT_EQ(0, fstat(fd2, &st2));
	EXPECT_EQ(st.st_ino, st2.st_ino);
	ASSERT_EQ(1, send1(fd, 5));
	EXPECT_EQ(5, recv1(fd2));
	close(fd2);
	/* 0 is "whatever it has", and the out fields say what that is. */
	static const __u32 shapes[][2] = { { 0, 0 }, { 8, 0 }, { 0, 4 }, { 8, 4 } };

	for (size_t i = 0; i < 4; i++) {
		fd2 = gosync_test_open(self->root, "c", RW, 0, CHAN, shapes[i][0],
				       shapes[i][1], 0, &o);
		EXPECT_LE(0, fd2) TH_LOG("shape %u/%u", shapes[i][0], shapes[i][1]);
		EXPECT_EQ(0, o.flags);
		EXPECT_EQ(CHAN, o.kind);
		EXPECT_EQ(8, o.elem_size);
		EXPECT_EQ(4, o.cap);
		close(fd2);
	}
	/* Kind 0: whatever the name is. */
	fd2 = gosync_test_open(self->root, "c", RW, 0, 0, 0, 0, 0, &o);
	EXPECT_LE(0, fd2);
	EXPECT_EQ(CHAN, o.kind);
	EXPECT_EQ(8, o.elem_size);
	EXPECT_EQ(4, o.cap);
	close(fd2);
	/* Another shape: EINVAL, with or without O_CREAT. */
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "c", RW, 0, CHAN, 16, 4, 0, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "c", RW, 0, CHAN, 8, 2, 0, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "c", RW, 0, CHAN, 4, 8, 0, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "c", O_CREAT | RW, 0600, CHAN,
					    16, 4, 0, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_open(self->root, "c", RW, 0, 0, 16, 0, 0, NULL));

	/* Kinds: a channel is not a waitgroup, a waitgroup not a mutex. */
	int wg = gosync_test_open(self->root, "w", MK, 0600, GOSYNC_SYNC_WG, 0, 0, 0, &o);

	ASSERT_LE(0, wg);
	EXPECT_EQ(GOSYNC_SYNC_WG, o.kind);
	EXPECT_EQ(GOSYNC_OPEN_CREATED, o.flags);
	EXPECT_EQ(-EMEDIUMTYPE, gosync_test_open(self->root, "c", RW, 0, GOSYNC_SYNC_WG,
						 0, 0, 0, NULL));
	EXPECT_EQ(-EMEDIUMTYPE, gosync_test_open(self->root, "w", RW, 0, CHAN, 0, 0, 0, NULL));
	EXPECT_EQ(-EMEDIUMTYPE, gosync_test_open(self->root, "w", RW, 0, CHAN, 8, 4, 0, NULL));
	EXPECT_EQ(-EMEDIUMTYPE, gosync_test_open(self->root, "w", O_CREAT | RW, 0600, CHAN,
						 8, 4, 0, NULL));
	EXPECT_EQ(-EMEDIUMTYPE, gosync_test_open(self->root, "w", RW, 0, GOSYNC_SYNC_MUTEX,
						 0, 0, 0, NULL));
	EXPECT_EQ(-EMEDIUMTYPE, gosync_test_open(self->root, "w", O_CREAT | RW, 0600,
						 GOSYNC_SYNC_MUTEX, 0, 0, 0, NULL));
	fd2 = gosync_test_open(self->root, "w", RW, 0, 0, 0, 0, 0, &o);
	EXPECT_LE(0, fd2);
	EXPECT_EQ(GOSYNC_SYNC_WG, o.kind);
	EXPECT_EQ(0, o.elem_size);
	EXPECT_EQ(0, o.cap);
	close(fd2);
	close(wg);
	close(fd);
	EXPECT_EQ(0, unlinkat(self->root, "c", 0));
	EXPECT_EQ(0, unlinkat(self->root, "w", 0));
}

TEST_F(fs, every_kind_by_name)
{
	static const char *const names[] = { "", "wg", "mutex", "rwmutex", "once", "cond" };
	struct gosync_sync_info si;
	struct gosync_open o;

	FS_READY();
	for (__u32 k = GOSYNC_SYNC_WG; k <= GOSYNC_SYNC_COND; k++) {
		int fd = gosync_test_open(self->root, names[k], MK, 0640, k, 0, 0, 0, &o);
		void *p;

		ASSERT_LE(0, fd) TH_LOG("%s: %s", names[k], strerror(-fd));
		EXPECT_EQ(GOSYNC_OPEN_CREATED, o.flags);
		EXPECT_EQ(k, o.kind);
		memset(&si, 0, sizeof(si));
		EXPECT_EQ(0, gosync_test_ioctl(fd, GOSYNC_SYNC_IOC_INFO, &si));
		EXPECT_EQ(k, si.kind);
		/* The same page through open(2) of the name. */
		int fd2 = open(at(self->dir, names[k]), RW);

		ASSERT_LE(0, fd2);
		memset(&si, 0, sizeof(si));
		EXPECT_EQ(0, gosync_test_ioctl(fd2, GOSYNC_SYNC_IOC_INFO, &si));
		EXPECT_EQ(k, si.kind);
		p = mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(GOSYNC_SYNC_MAGIC, ((struct gosync_sync_header *)p)->magic);
		EXPECT_EQ(k, ((struct gosync_sync_header *)p)->kind);
		munmap(p, GOSYNC_SYNC_SIZE);
		close(fd2);
		/* Not O_RDWR: INFO and poll, but no mapping. */
		for (int acc = O_RDONLY; acc <= O_WRONLY; acc++) {
			fd2 = gosync_test_open(self->root, names[k], acc | O_CLOEXEC, 0,
					       k, 0, 0, 0, NULL);
			ASSERT_LE(0, fd2);
			memset(&si, 0, sizeof(si));
			EXPECT_EQ(0, gosync_test_ioctl(fd2, GOSYNC_SYNC_IOC_INFO, &si));
			EXPECT_EQ(MAP_FAILED, mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ,
						   MAP_SHARED, fd2, 0));
			EXPECT_EQ(EACCES, errno) TH_LOG("%s opened %d", names[k], acc);
			close(fd2);
		}
		close(fd);
		EXPECT_EQ(0, unlinkat(self->root, names[k], 0));
	}
	/* The root also answers /dev/gosync's ioctls. */
	struct gosync_info info = { 0 };

	EXPECT_EQ(0, gosync_test_ioctl(self->root, GOSYNC_IOC_INFO, &info));
	EXPECT_EQ(GOSYNC_ABI_VERSION, info.abi_version);
	EXPECT_TRUE(info.features & GOSYNC_FEAT_NAMES);
	int ch = gosync_test_chan_create(self->root, 8, 2, GOSYNC_CHAN_CLOEXEC);

	EXPECT_LE(0, ch);
	EXPECT_EQ(1, send1(ch, 3));
	EXPECT_EQ(3, recv1(ch));
	close(ch);
	struct gosync_sync_create sc = { .kind = GOSYNC_SYNC_MUTEX,
					 .flags = GOSYNC_SYNC_CLOEXEC };
	int m = (int)gosync_test_ioctl(self->root, GOSYNC_IOC_SYNC_CREATE, &sc);

	EXPECT_LE(0, m);
	close(m);
	/* ... which made no names. */
	EXPECT_EQ(0, entries(self->root));
}

/* ------------------------------------------------ eight racing creators -- */

#define RACERS	8
#define ROUNDS	20

struct race {
	int go;
	int ready;
	int res[RACERS];		/* fd >= 0 (0 here), or -errno */
	__u32 flags[RACERS];
	ino_t ino[RACERS];
};

static void racer(int root, struct race *r, int i, int round, bool excl)
{
	char name[32];
	struct gosync_open o;
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "race%d", round);
	__atomic_add_fetch(&r->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
		;
	fd = gosync_test_open(root, name, (excl ? MK : O_CREAT | RW), 0600, CHAN,
			      8, RACERS, 0, &o);
	r->res[i] = fd < 0 ? fd : 0;
	r->flags[i] = fd < 0 ? 0 : o.flags;
	if (fd >= 0 && !fstat(fd, &st))
		r->ino[i] = st.st_ino;
	/* Without O_EXCL: each sends its number through its own fd. */
	if (!excl && fd >= 0 && send1(fd, 100 + i) != 1)
		_exit(2);
	_exit(0);
}

static void race(struct __test_metadata *_metadata, int root, bool excl)
{
	struct race *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid[RACERS];
	char name[32];

	ASSERT_NE(MAP_FAILED, r);
	for (int round = 0; round < ROUNDS; round++) {
		int made = 0, eexist = 0, fd;
		bool seen[RACERS] = { 0 };

		memset(r, 0, sizeof(*r));
		for (int i = 0; i < RACERS; i++) {
			pid[i] = fork();
			ASSERT_LE(0, pid[i]);
			if (pid[i] == 0)
				racer(root, r, i, round, excl);
		}
		while (__atomic_load_n(&r->ready, __ATOMIC_ACQUIRE) < RACERS)
			usleep(100);
		__atomic_store_n(&r->go, 1, __ATOMIC_RELEASE);
		for (int i = 0; i < RACERS; i++) {
			int st;

			ASSERT_EQ(pid[i], waitpid(pid[i], &st, 0));
			EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st));
			made += r->res[i] == 0 && r->flags[i] == GOSYNC_OPEN_CREATED;
			eexist += r->res[i] == -EEXIST;
			if (!excl) {
				EXPECT_EQ(0, r->res[i]);
				EXPECT_EQ(r->ino[0], r->ino[i]);
			}
		}
		EXPECT_EQ(1, made) TH_LOG("round %d: %d creators", round, made);
		EXPECT_EQ(excl ? RACERS - 1 : 0, eexist);
		snprintf(name, sizeof(name), "race%d", round);
		if (!excl) {
			/* All eight sent into one channel. */
			fd = gosync_test_open(root, name, RW, 0, CHAN, 0, 0, 0, NULL);
			ASSERT_LE(0, fd);
			for (int i = 0; i < RACERS; i++) {
				long long v = recv1(fd);

				ASSERT_LE(100, v);
				ASSERT_GT(100 + RACERS, v);
				EXPECT_FALSE(seen[v - 100]);
				seen[v - 100] = true;
			}
			EXPECT_EQ(-EAGAIN, recv1(fd));
			close(fd);
		}
		EXPECT_EQ(0, unlinkat(root, name, 0));
	}
	munmap(r, sizeof(*r));
}

TEST_F_TIMEOUT(fs, eight_race_o_excl, 120)
{
	FS_READY();
	race(_metadata, self->root, true);
}

TEST_F_TIMEOUT(fs, eight_race_without_o_excl, 120)
{
	FS_READY();
	race(_metadata, self->root, false);
}

/* -------------------------------------------------------- open(2) of a name -- */

TEST_F(fs, open2_gives_the_channel_fd)
{
	struct gosync_chan_info info;
	struct epoll_event ev = { .events = EPOLLIN }, out;
	uint64_t in[2] = { 1, 2 }, got[2] = { 0 };
	int fd, r, w, rw, ep;
	void *map;

	FS_READY();
	fd = gosync_test_mkchan(self->root, "c", 0600, 8, 4, 0);
	ASSERT_LE(0, fd);
	rw = open(at(self->dir, "c"), RW);
	r = open(at(self->dir, "c"), O_RDONLY | O_CLOEXEC);
	w = open(at(self->dir, "c"), O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, rw);
	ASSERT_LE(0, r);
	ASSERT_LE(0, w);

	ASSERT_EQ(0, gosync_test_chan_info(rw, &info));
	EXPECT_EQ(8, info.elem_size);
	EXPECT_EQ(4, info.cap);
	EXPECT_EQ(0, info.state);
	ASSERT_EQ(0, gosync_test_chan_info(r, &info));
	EXPECT_EQ(GOSYNC_CHAN_STATE_NOSEND, info.state);
	ASSERT_EQ(0, gosync_test_chan_info(w, &info));
	EXPECT_EQ(GOSYNC_CHAN_STATE_NORECV, info.state);

	/* Whole elements through read(2)/write(2), across the ends. */
	EXPECT_EQ(-1, write(w, in, 5));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(sizeof(in), write(w, in, sizeof(in)));
	EXPECT_EQ(-1, read(r, got, 3));
	EXPECT_EQ(EINVAL, errno);

	/* poll and epoll see the receive-only end ready. */
	struct pollfd p = { .fd = r, .events = POLLIN };

	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLIN, p.revents & POLLIN);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev));
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 0));
	EXPECT_EQ(sizeof(got), read(r, got, sizeof(got)));
	EXPECT_EQ(0, memcmp(in, got, sizeof(in)));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	close(ep);
	p = (struct pollfd){ .fd = w, .events = POLLOUT };
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT, p.revents & POLLOUT);

	/* A two-way end maps; a directional one does not. */
	map = mmap(NULL, info.map_size, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
	EXPECT_NE(MAP_FAILED, map);
	if (map != MAP_FAILED) {
		struct gosync_chan_map m = { .addr = (uintptr_t)map };

		EXPECT_EQ(GOSYNC_CHAN_MAGIC, ((struct gosync_chan_header *)map)->magic);
		EXPECT_EQ(0, gosync_test_ioctl(rw, GOSYNC_CHAN_IOC_MAP, &m));
		EXPECT_LE(1, m.owner);
		munmap(map, info.map_size);
	}
	EXPECT_EQ(MAP_FAILED, mmap(NULL, info.map_size, PROT_READ, MAP_SHARED, r, 0));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, info.map_size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, r, 0));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, info.map_size, PROT_READ, MAP_SHARED, w, 0));
	EXPECT_EQ(EACCES, errno);

	close(r);
	close(w);
	close(rw);
	close(fd);
	EXPECT_EQ(0, unlinkat(self->root, "c", 0));
}

TEST_F(fs, open2_create_truncate_mkdir)
{
	struct gosync_chan_info info;
	struct stat st;
	int fd, fd2;

	FS_READY();
	/* Names are made only by GOSYNC_FS_IOC_OPEN. */
	EXPECT_EQ(-1, open(at(self->dir, "new"), O_CREAT | O_RDWR, 0600));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, open(at(self->dir, "new"), O_CREAT | O_EXCL | O_WRONLY, 0600));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mkdir(at(self->dir, "d"), 0700));
	EXPECT_EQ(EPERM, errno);
	/* mknod(S_IFREG) is a create, as open(O_CREAT): EACCES. */
	EXPECT_EQ(-1, mknod(at(self->dir, "f"), S_IFREG | 0600, 0));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mkfifo(at(self->dir, "p"), 0600));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, open(at(self->dir, "new"), O_RDWR));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, entries(self->root));

	fd = gosync_test_mkchan(self->root, "c", 0600, 8, 4, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, send1(fd, 9));
	/* O_CREAT of what exists opens it; O_EXCL does not; O_TRUNC does nothing. */
	fd2 = open(at(self->dir, "c"), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, gosync_test_chan_info(fd, &info));
	EXPECT_EQ(1, info.len);
	EXPECT_EQ(-1, open(at(self->dir, "c"), O_CREAT | O_EXCL | O_WRONLY, 0600));
	EXPECT_EQ(EEXIST, errno);
	ASSERT_EQ(0, stat(at(self->dir, "c"), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0, st.st_size);
	EXPECT_EQ(9, recv1(fd));
	close(fd2);
	close(fd);
	EXPECT_EQ(0, unlinkat(self->root, "c", 0));
}

/* Run @cmd through /bin/sh with @arg as $1: its exit status; its output in @out. */
static int shell(const char *cmd, const char *arg, char *out, size_t size)
{
	int p[2], st;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execl("/bin/sh", "sh", "-c", cmd, "sh", arg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (out && (size_t)got < size - 1 &&
	       (n = read(p[0], out + got, size - 1 - got)) > 0)
		got += n;
	if (out)
		out[got] = 0;
	close(p[0]);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST_F(fs, the_shell_writes_and_reads)
{
	char buf[32] = { 0 }, out[64];
	int fd;

	FS_READY();
	fd = gosync_test_mkchan(self->root, "s", 0666, 8, 4, 0);
	ASSERT_LE(0, fd);
	/* `>` is O_WRONLY | O_CREAT | O_TRUNC of a name that exists. */
	EXPECT_EQ(0, shell("printf abcdefgh > \"$1\"", at(self->dir, "s"), NULL, 0));
	EXPECT_EQ(0, shell("printf 1234567812345678 >> \"$1\"", at(self->dir, "s"), NULL, 0));
	ASSERT_EQ(3, gosync_test_xfer(fd, GOSYNC_CHAN_IOC_RECV, buf, 3,
				      GOSYNC_DEADLINE_NONBLOCK, 0));
	EXPECT_EQ(0, memcmp(buf, "abcdefgh1234567812345678", 24));
	/* A partial element is refused, and nothing is sent. */
	shell("printf abc > \"$1\" 2>/dev/null", at(self->dir, "s"), NULL, 0);
	EXPECT_EQ(-EAGAIN, recv1(fd));
	/* And a shell reader: head reads what is there, whole elements. */
	memcpy(buf, "ABCDEFGH", 8);
	ASSERT_EQ(1, gosync_test_xfer(fd, GOSYNC_CHAN_IOC_SEND, buf, 1,
				      GOSYNC_DEADLINE_NONBLOCK, 0));
	EXPECT_EQ(0, shell("head -c 8 < \"$1\"", at(self->dir, "s"), out, sizeof(out)));
	EXPECT_STREQ("ABCDEFGH", out);
	close(fd);
	EXPECT_EQ(0, unlinkat(self->root, "s", 0));
}

/* ------------------------------------------------------ unlink while in use -- */

TEST_F(fs, unlink_while_in_use)
{
	unsigned long objs0 = 0, bytes0 = 0, objs, bytes;
	struct gosync_chan_info info;
	struct gosync_open o;
	struct stat st1, st2;
	int fd1, fd2, r1;
	void *map;

	FS_READY();
	ASSERT_EQ(0, gosync_test_charged(&objs0, &bytes0));
	fd1 = gosync_test_mkchan(self->root, "u", 0600, 8, 4, 0);
	ASSERT_LE(0, fd1);
	r1 = open(at(self->dir, "u"), O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, r1);
	ASSERT_EQ(0, gosync_test_chan_info(fd1, &info));
	map = mmap(NULL, info.map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, fstat(fd1, &st1));
	ASSERT_EQ(1, send1(fd1, 1));

	ASSERT_EQ(0, unlinkat(self->root, "u", 0));
	EXPECT_EQ(-1, stat(at(self->dir, "u"), &st2));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-ENOENT, gosync_test_open(self->root, "u", RW, 0, 0, 0, 0, 0, NULL));
	EXPECT_EQ(-1, unlinkat(self->root, "u", 0));
	EXPECT_EQ(ENOENT, errno);
	/* The holders go on. */
	ASSERT_EQ(1, send1(fd1, 2));
	EXPECT_EQ(1, recv1(r1));

	/* Made again: another object. */
	fd2 = gosync_test_open(self->root, "u", MK, 0600, CHAN, 8, 4, 0, &o);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(GOSYNC_OPEN_CREATED, o.flags);
	ASSERT_EQ(0, fstat(fd2, &st2));
	EXPECT_NE(st1.st_ino, st2.st_ino);
	ASSERT_EQ(1, send1(fd2, 3));
	EXPECT_EQ(2, recv1(fd1));
	EXPECT_EQ(-EAGAIN, recv1(fd1));
	EXPECT_EQ(3, recv1(fd2));
	EXPECT_EQ(-EAGAIN, recv1(fd2));
	ASSERT_EQ(0, gosync_test_charged(&objs, &bytes));
	EXPECT_EQ(objs0 + 2, objs);

	/* The old one goes with its last fd and mapping, not before. */
	close(fd1);
	close(r1);
	usleep(100000);
	ASSERT_EQ(0, gosync_test_charged(&objs, &bytes));
	EXPECT_EQ(objs0 + 2, objs) TH_LOG("freed while still mapped");
	munmap(map, info.map_size);
	close(fd2);
	EXPECT_EQ(0, unlinkat(self->root, "u", 0));
	EXPECT_TRUE(charges_back(objs0, bytes0, &objs, &bytes))
		TH_LOG("objects %lu bytes %lu, %lu %lu before", objs, bytes, objs0, bytes0);
}

/* A name alone, no fd open: still charged; the charge goes with the unlink. */
TEST_F(fs, a_name_alone_keeps_the_object)
{
	unsigned long objs0 = 0, bytes0 = 0, objs, bytes;
	int fd;

	FS_READY();
	ASSERT_EQ(0, gosync_test_charged(&objs0, &bytes0));
	fd = gosync_test_mkchan(self->root, "k", 0600, 8, 4, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, send1(fd, 42));
	close(fd);
	usleep(50000);
	ASSERT_EQ(0, gosync_test_charged(&objs, &bytes));
	EXPECT_EQ(objs0 + 1, objs);
	/* Nothing removed it: what was queued is there. */
	fd = open(at(self->dir, "k"), RW);
	ASSERT_LE(0, fd);
	EXPECT_EQ(42, recv1(fd));
	close(fd);
	EXPECT_EQ(0, unlink(at(self->dir, "k")));
	EXPECT_TRUE(charges_back(objs0, bytes0, &objs, &bytes));
}

/* ---------------------------------------------------------------- fdinfo -- */

static void expect_line(struct __test_metadata *_metadata, int fd,
			const char *key, const char *want)
{
	char buf[128] = "(no such line)";

	gosync_test_fdinfo(0, fd, key, buf, sizeof(buf));
	EXPECT_STREQ(want, buf) TH_LOG("fdinfo %s", key);
}

TEST_F(fs, fdinfo_of_a_channel)
{
	struct gosync_chan_info info;
	int fd, r, w, dev, plain;
	uint64_t v;
	void *map;
	pid_t pid;

	FS_READY();
	fd = gosync_test_open(self->root, "c", MK, 0600, CHAN, 8, 4,
			      GOSYNC_OPEN_AUTOCLOSE, NULL);
	ASSERT_LE(0, fd);
	expect_line(_metadata, fd, "gosync-kind", "chan");
	expect_line(_metadata, fd, "gosync-elem-size", "8");
	expect_line(_metadata, fd, "gosync-cap", "4");
	expect_line(_metadata, fd, "gosync-len", "0");
	expect_line(_metadata, fd, "gosync-closed", "0");
	expect_line(_metadata, fd, "gosync-waiting", "0 0");
	expect_line(_metadata, fd, "gosync-ends", "1");
	expect_line(_metadata, fd, "gosync-autoclose", "1");
	expect_line(_metadata, fd, "gosync-dir", "rw");
	expect_line(_metadata, fd, "gosync-sent", "0");
	expect_line(_metadata, fd, "gosync-received", "0");
	expect_line(_metadata, fd, "gosync-mappings", "0");

	for (v = 0; v < 3; v++)
		ASSERT_EQ(1, send1(fd, v));
	EXPECT_EQ(0, recv1(fd));
	expect_line(_metadata, fd, "gosync-len", "2");
	expect_line(_metadata, fd, "gosync-sent", "3");
	expect_line(_metadata, fd, "gosync-received", "1");

	r = open(at(self->dir, "c"), O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, r);
	expect_line(_metadata, r, "gosync-dir", "r");
	expect_line(_metadata, fd, "gosync-ends", "1");	/* r cannot send */
	w = open(at(self->dir, "c"), O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, w);
	expect_line(_metadata, w, "gosync-dir", "w");
	expect_line(_metadata, r, "gosync-ends", "2");
	close(w);
	expect_line(_metadata, r, "gosync-ends", "1");

	ASSERT_EQ(0, gosync_test_chan_info(fd, &info));
	map = mmap(NULL, info.map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	expect_line(_metadata, fd, "gosync-mappings", "1");
	munmap(map, info.map_size);
	expect_line(_metadata, fd, "gosync-mappings", "0");

	/* Blocked receivers, then blocked senders, as fdinfo counts them. */
	EXPECT_EQ(1, recv1(fd));
	EXPECT_EQ(2, recv1(fd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t x;

		_exit(gosync_test_xfer(r, GOSYNC_CHAN_IOC_RECV, &x, 1,
				       GOSYNC_DEADLINE_FOREVER, 0) == 1 ? 0 : 1);
	}
	EXPECT_EQ(0, gosync_test_wait_blocked(0, fd, 1, 0, 10000));
	expect_line(_metadata, fd, "gosync-waiting", "1 0");
	ASSERT_EQ(1, send1(fd, 7));
	int st;

	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st));
	for (v = 0; v < 4; v++)
		ASSERT_EQ(1, send1(fd, v));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t x = 9;

		_exit(gosync_test_xfer(fd, GOSYNC_CHAN_IOC_SEND, &x, 1,
				       GOSYNC_DEADLINE_FOREVER, 0) == 1 ? 0 : 1);
	}
	EXPECT_EQ(0, gosync_test_wait_blocked(0, fd, 0, 1, 10000));
	expect_line(_metadata, fd, "gosync-waiting", "0 1");
	expect_line(_metadata, fd, "gosync-len", "4");
	EXPECT_EQ(0, recv1(fd));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st));

	EXPECT_EQ(0, gosync_test_ioctl(fd, GOSYNC_CHAN_IOC_CLOSE, NULL));
	expect_line(_metadata, r, "gosync-closed", "1");
	close(r);
	close(fd);
	EXPECT_EQ(0, unlinkat(self->root, "c", 0));

	/* A channel of /dev/gosync has the same lines. */
	GOSYNC_OPEN_DEV(dev, O_RDWR);
	plain = gosync_test_chan_create(dev, 16, 0, GOSYNC_CHAN_CLOEXEC);
	ASSERT_LE(0, plain);
	expect_line(_metadata, plain, "gosync-kind", "chan");
	expect_line(_metadata, plain, "gosync-elem-size", "16");
	expect_line(_metadata, plain, "gosync-cap", "0");
	expect_line(_metadata, plain, "gosync-ends", "1");
	expect_line(_metadata, plain, "gosync-autoclose", "0");
	expect_line(_metadata, plain, "gosync-dir", "rw");
	int d = gosync_test_dup(plain, GOSYNC_DUP_RECV_ONLY | GOSYNC_DUP_CLOEXEC);

	ASSERT_LE(0, d);
	expect_line(_metadata, d, "gosync-dir", "r");
	expect_line(_metadata, d, "gosync-ends", "1");
	close(d);
	close(plain);
	close(dev);
}

TEST_F(fs, fdinfo_of_each_sync_kind)
{
	static const char *const names[] = { "", "wg", "mutex", "rwmutex", "once", "cond" };
	char buf[64];

	FS_READY();
	for (__u32 k = GOSYNC_SYNC_WG; k <= GOSYNC_SYNC_COND; k++) {
		int fd = gosync_test_open(self->root, names[k], MK, 0600, k, 0, 0, 0, NULL);
		volatile __u32 *word;
		void *p;

		ASSERT_LE(0, fd);
		expect_line(_metadata, fd, "gosync-kind", names[k]);
		expect_line(_metadata, fd, "gosync-mappings", "0");
		ASSERT_EQ(0, gosync_test_fdinfo(0, fd, "gosync-state", buf, sizeof(buf)));
		EXPECT_EQ(0, strncmp(buf, "0x", 2)) TH_LOG("%s: state %s", names[k], buf);
		EXPECT_EQ(0, strtoull(buf, NULL, 16));
		p = mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, p);
		expect_line(_metadata, fd, "gosync-mappings", "1");
		/* The first word, whatever the kind makes of it. */
		word = (volatile __u32 *)((char *)p + GOSYNC_SYNC_OFF_WORDS);
		*word = 0x2a05;
		ASSERT_EQ(0, gosync_test_fdinfo(0, fd, "gosync-state", buf, sizeof(buf)));
		EXPECT_EQ(0x2a05, strtoull(buf, NULL, 16)) TH_LOG("%s: state %s", names[k], buf);
		*word = 0;
		munmap(p, GOSYNC_SYNC_SIZE);
		expect_line(_metadata, fd, "gosync-mappings", "0");
		close(fd);
		EXPECT_EQ(0, unlinkat(self->root, names[k], 0));
	}
}

TEST_HARNESS_MAIN
