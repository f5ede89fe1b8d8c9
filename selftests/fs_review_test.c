// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The holes an adversarial review found in the first gosync filesystem,
 * each one tried the way it was found: a name squatted for a victim, a
 * read-only mount that made names, a made name left behind by a failed
 * call, a mount's max= passed through GOSYNC_CHAN_IOC_DUP ends, a setgid
 * bit kept, a kind and shape told to who may not open, a name with a
 * mount on it, and a creation no inotify watcher saw.  Each test fails
 * on the module before the fix.
 */
#include <grp.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gosync_test.h"

#define MNT	"/tmp/gosync-review"
#define RO	"/tmp/gosync-review-ro"
#define UID_A	1000
#define UID_B	1001

/* GOSYNC_FS_IOC_OPEN on the root at @dir: the fd, or -errno. */
static int fs_open(const char *dir, const char *name, int oflag, int mode,
		   __u32 kind, __u32 elem, __u32 cap)
{
	struct gosync_open o = {
		.name = (uintptr_t)name, .name_len = strlen(name),
		.oflag = oflag | O_CLOEXEC, .mode = mode, .kind = kind,
		.elem_size = elem, .cap = cap,
	};
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;

	if (d < 0)
		return -errno;
	fd = ioctl(d, GOSYNC_FS_IOC_OPEN, &o);
	fd = fd < 0 ? -errno : fd;
	close(d);
	return fd;
}

/* Become @uid (its own group, no others); false on failure. */
static bool become(uid_t uid)
{
	return !setgroups(0, NULL) && !setgid(uid) && !setuid(uid);
}

/* Run @fn as @uid in a child: its exit status (0: passed). */
static int as_user(uid_t uid, int (*fn)(void))
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(become(uid) ? fn() : 100);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

FIXTURE(rv) {
	int dev;
	bool mounted;
};

FIXTURE_SETUP(rv)
{
	struct gosync_info info = { 0 };

	GOSYNC_OPEN_DEV(self->dev, O_RDWR);
	ASSERT_EQ(0, gosync_test_ioctl(self->dev, GOSYNC_IOC_INFO, &info));
	if (!(info.features & GOSYNC_FEAT_NAMES))
		SKIP(return, "module without GOSYNC_FEAT_NAMES");
	mkdir(MNT, 0755);
	ASSERT_EQ(0, mount("gosync", MNT, "gosync", 0, "max=4")) TH_LOG("%m");
	self->mounted = true;
	umask(022);
}

FIXTURE_TEARDOWN(rv)
{
	umount2(RO, MNT_DETACH);
	rmdir(RO);
	if (self->mounted)
		EXPECT_EQ(0, umount(MNT)) TH_LOG("umount: %m (an fd left open?)");
	rmdir(MNT);
	if (self->dev >= 0)
		close(self->dev);
}

static int squatter(void)
{
	int fd;

	umask(0);		/* world-writable, for whoever comes */
	fd = fs_open(MNT, "jobs", O_RDWR | O_CREAT | O_EXCL, 0666,
			 GOSYNC_KIND_CHAN, 8, 4);

	return fd < 0 ? 1 : 0;	/* the fd closes at exit; the name stays */
}

static int victim(void)
{
	int fd;

	/* Means to make its own channel: must not get the squatter's. */
	fd = fs_open(MNT, "jobs", O_WRONLY | O_CREAT, 0600, GOSYNC_KIND_CHAN,
		     8, 4);
	if (fd != -EACCES)
		return 1;
	if (fs_open(MNT, "jobs", O_WRONLY | O_CREAT | O_EXCL, 0600,
		    GOSYNC_KIND_CHAN, 8, 4) != -EEXIST)
		return 2;
	/* Opening what exists, knowingly, is what the mode allows. */
	fd = fs_open(MNT, "jobs", O_WRONLY, 0, GOSYNC_KIND_CHAN, 0, 0);
	if (fd < 0)
		return 3;
	close(fd);
	return 0;
}

TEST_F(rv, no_squatting_in_the_sticky_root)
{
	ASSERT_EQ(0, as_user(UID_B, squatter));
	EXPECT_EQ(0, as_user(UID_A, victim));
	EXPECT_EQ(0, unlink(MNT "/jobs"));
}

TEST_F(rv, read_only_mount_makes_nothing)
{
	int fd;

	mkdir(RO, 0755);
	ASSERT_EQ(0, mount(MNT, RO, NULL, MS_BIND, NULL));
	ASSERT_EQ(0, mount(NULL, RO, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY,
			   NULL));
	EXPECT_EQ(-EROFS, fs_open(RO, "ro", O_RDONLY | O_CREAT, 0600,
				  GOSYNC_KIND_CHAN, 8, 1));
	EXPECT_EQ(-EROFS, fs_open(RO, "ro", O_WRONLY | O_CREAT, 0600,
				  GOSYNC_KIND_CHAN, 8, 1));
	EXPECT_EQ(-ENOENT, fs_open(MNT, "ro", O_RDONLY, 0, 0, 0, 0));
	/* What exists opens through it, O_CREAT or not. */
	fd = fs_open(MNT, "ro", O_RDWR | O_CREAT, 0600, GOSYNC_KIND_CHAN, 8, 1);
	ASSERT_LE(0, fd);
	close(fd);
	fd = fs_open(RO, "ro", O_RDONLY | O_CREAT, 0600, GOSYNC_KIND_CHAN, 8, 1);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	/* ... for reading: writing is the mount's to refuse (the VFS's). */
	EXPECT_EQ(-EROFS, fs_open(RO, "ro", O_WRONLY, 0, 0, 0, 0));
	EXPECT_EQ(0, unlink(MNT "/ro"));
}

TEST_F(rv, failed_answer_makes_no_name)
{
	long page = sysconf(_SC_PAGESIZE);
	struct gosync_open *o;
	const char *name = "fault";
	int d;

	o = mmap(NULL, page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, o);
	memset(o, 0, sizeof(*o));
	o->name = (uintptr_t)name;
	o->name_len = strlen(name);
	o->oflag = O_RDWR | O_CREAT | O_EXCL;
	o->mode = 0600;
	o->kind = GOSYNC_KIND_CHAN;
	o->elem_size = 8;
	o->cap = 1;
	/* Readable, not writable: the answer cannot be written back. */
	ASSERT_EQ(0, mprotect(o, page, PROT_READ));
	d = open(MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, d);
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(d, GOSYNC_FS_IOC_OPEN, o));
	close(d);
	EXPECT_EQ(-ENOENT, fs_open(MNT, name, O_RDONLY, 0, 0, 0, 0));
	munmap(o, page);
}

TEST_F(rv, dup_ends_count_against_max)
{
	struct gosync_chan_dup du = { .flags = GOSYNC_DUP_RECV_ONLY |
						GOSYNC_DUP_CLOEXEC };
	int ends[4], n = 0, fd;
	char name[16], path[64];

	/* max=4: each object, named or held by an end only, counts. */
	for (n = 0; n < 4; n++) {
		snprintf(name, sizeof(name), "d%d", n);
		fd = fs_open(MNT, name, O_RDWR | O_CREAT | O_EXCL, 0600,
			     GOSYNC_KIND_CHAN, 8, 1);
		ASSERT_LE(0, fd) TH_LOG("object %d: %s", n, strerror(-fd));
		ends[n] = gosync_test_ioctl(fd, GOSYNC_CHAN_IOC_DUP, &du);
		ASSERT_LE(0, ends[n]);
		close(fd);
		snprintf(path, sizeof(path), MNT "/%s", name);
		ASSERT_EQ(0, unlink(path));
	}
	EXPECT_EQ(-ENOSPC, fs_open(MNT, "over", O_RDWR | O_CREAT, 0600,
				   GOSYNC_KIND_CHAN, 8, 1));
	close(ends[0]);
	fd = fs_open(MNT, "over", O_RDWR | O_CREAT, 0600, GOSYNC_KIND_CHAN, 8, 1);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	unlink(MNT "/over");
	for (n = 1; n < 4; n++)
		close(ends[n]);
}

static int make_setgid(void)
{
	struct stat st;
	int fd;

	fd = fs_open(MNT, "sgid", O_RDWR | O_CREAT | O_EXCL, 02775,
		     GOSYNC_KIND_CHAN, 8, 1);
	if (fd < 0)
		return 1;
	close(fd);
	if (stat(MNT "/sgid", &st))
		return 2;
	/* The directory's group (setgid root), not the maker's: no S_ISGID. */
	if (st.st_gid != 0 || (st.st_mode & S_ISGID))
		return 3;
	return 0;
}

TEST_F(rv, setgid_stripped_outside_the_group)
{
	ASSERT_EQ(0, chmod(MNT, 03777));
	EXPECT_EQ(0, as_user(UID_A, make_setgid));
	unlink(MNT "/sgid");
}

static int prober(void)
{
	/* Root's 0600 channel of 8-byte elements, capacity 2. */
	if (fs_open(MNT, "secret", O_RDONLY, 0, GOSYNC_SYNC_WG, 0, 0) != -EACCES)
		return 1;
	if (fs_open(MNT, "secret", O_RDONLY, 0, GOSYNC_KIND_CHAN, 9, 0) !=
	    -EACCES)
		return 2;
	if (fs_open(MNT, "secret", O_RDONLY, 0, GOSYNC_KIND_CHAN, 8, 2) !=
	    -EACCES)
		return 3;
	return 0;
}

TEST_F(rv, kind_and_shape_do_not_leak)
{
	int fd = fs_open(MNT, "secret", O_RDWR | O_CREAT | O_EXCL, 0600,
			 GOSYNC_KIND_CHAN, 8, 2);

	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(0, as_user(UID_A, prober));
	EXPECT_EQ(0, unlink(MNT "/secret"));
}

TEST_F(rv, name_under_a_mount_is_busy)
{
	int fd = fs_open(MNT, "covered", O_RDWR | O_CREAT | O_EXCL, 0600,
			 GOSYNC_KIND_CHAN, 8, 1);

	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, mount("/dev/null", MNT "/covered", NULL, MS_BIND, NULL));
	EXPECT_EQ(-EBUSY, fs_open(MNT, "covered", O_RDWR, 0, 0, 0, 0));
	EXPECT_EQ(0, umount(MNT "/covered"));
	fd = fs_open(MNT, "covered", O_RDWR, 0, 0, 0, 0);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(0, unlink(MNT "/covered"));
}

TEST_F(rv, inotify_sees_the_creation)
{
	char buf[4096] __attribute__((aligned(8)));
	const struct inotify_event *ev;
	int in, fd, found = 0;
	ssize_t n;

	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in < 0 && errno == ENOSYS)
		SKIP(return, "a kernel without inotify (CONFIG_INOTIFY_USER)");
	ASSERT_LE(0, in);
	ASSERT_LE(0, inotify_add_watch(in, MNT, IN_CREATE | IN_DELETE));
	fd = fs_open(MNT, "seen", O_RDWR | O_CREAT | O_EXCL, 0600,
		     GOSYNC_KIND_CHAN, 8, 1);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, unlink(MNT "/seen"));
	n = read(in, buf, sizeof(buf));
	ASSERT_LT(0, n);
	for (char *p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
		ev = (const struct inotify_event *)p;
		if (ev->len && !strcmp(ev->name, "seen"))
			found |= ev->mask & (IN_CREATE | IN_DELETE);
	}
	EXPECT_EQ(IN_CREATE | IN_DELETE, found);
	close(in);
}

/*
 * A lease would let its holder stall every other opener of the name for
 * lease-break-time (45 s), and, when the open ran under the root's lock,
 * every lookup of the mount: a name's file refuses leases.
 */
TEST_F(rv, no_leases_on_names)
{
	int fd = fs_open(MNT, "leased", O_RDWR | O_CREAT | O_EXCL, 0644,
			 GOSYNC_KIND_CHAN, 8, 1);
	int r, w;

	ASSERT_LE(0, fd);
	close(fd);
	r = open(MNT "/leased", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, r);
	EXPECT_EQ(-1, fcntl(r, F_SETLEASE, F_RDLCK));
	EXPECT_EQ(EINVAL, errno);
	/* And nothing stands in the way of the next opener. */
	w = fs_open(MNT, "leased", O_WRONLY | O_NONBLOCK, 0, 0, 0, 0);
	EXPECT_LE(0, w);
	if (w >= 0)
		close(w);
	close(r);
	fd = fs_open(MNT, "wg", O_RDWR | O_CREAT | O_EXCL, 0644,
		     GOSYNC_SYNC_WG, 0, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, fcntl(fd, F_SETLEASE, F_RDLCK));
	close(fd);
	EXPECT_EQ(0, unlink(MNT "/leased"));
	EXPECT_EQ(0, unlink(MNT "/wg"));
}

TEST_HARNESS_MAIN
