// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Permissions of named objects, as root and as two unprivileged users
 * (children that setuid to 1000 and 1001): the mode less the umask at
 * creation; EACCES for each open the mode forbids (read, write, both)
 * through open(2) and GOSYNC_FS_IOC_OPEN alike; the maker's own access
 * whatever the mode; chmod governing later opens; chown by root, EPERM
 * by anyone else; another user's 0600 channel out of reach by every
 * path (open(2), the ioctl, /proc/PID/fd of its holder, a /proc/self/fd
 * reopen of a receive-only end that was handed over, mmap); the sticky
 * root: only a name's owner (or root) removes it; a root directory
 * others cannot write.
 */
#include <grp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "gosync_test.h"

#define U1	1000
#define U2	1001
#define RW	(O_RDWR | O_CLOEXEC)
#define MK	(O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC)

FIXTURE(perm) {
	char dir[64];
	int root;
	bool ok;
	int *line;		/* shared: where a child's check failed */
};

FIXTURE_SETUP(perm)
{
	self->root = -1;
	GOSYNC_NEED_NAMES(return);
	if (geteuid())
		SKIP(return, "needs root (to setuid to %d and %d)", U1, U2);
	self->line = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->line);
	ASSERT_EQ(0, gosync_test_mount(self->dir, NULL));
	self->root = open(self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, self->root);
	self->ok = true;
}

FIXTURE_TEARDOWN(perm)
{
	static const char *const names[] = { "a", "b", "r", "w", "n", "z", "c",
					     "secret", "s" };

	if (self->root >= 0) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			unlinkat(self->root, names[i], 0);
		close(self->root);
	}
	if (self->dir[0])
		EXPECT_EQ(0, gosync_test_umount(self->dir));
}

#define PERM_READY() do { if (!self->ok) return; } while (0)

/* In a child: a failed check records its line and ends the child. */
#define C(cond) do {							\
	if (!(cond)) {							\
		*self->line = __LINE__;					\
		return 1;						\
	}								\
} while (0)

typedef int (*child_fn)(FIXTURE_DATA(perm) *self, void *arg);

/* Run @fn as @uid (its own group too) with @mask: 0, or the failed line. */
static int as_user(FIXTURE_DATA(perm) *self, uid_t uid, mode_t mask,
		   child_fn fn, void *arg)
{
	pid_t pid;
	int st;

	*self->line = 0;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
			_exit(99);
		umask(mask);
		_exit(fn(self, arg));
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	return *self->line ? *self->line : 100000 + st;
}

#define AS(uid, mask, fn, arg)						\
	EXPECT_EQ(0, as_user(self, (uid), (mask), (fn), (arg)))	\
		TH_LOG(#fn " as %d: the check at line %d failed", (uid), *self->line)

static const char *at(FIXTURE_DATA(perm) *self, const char *name)
{
	static char buf[2][128];
	static int i;

	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", self->dir, name);
	return buf[i];
}

static int mk(int root, const char *name, mode_t mode)
{
	return gosync_test_open(root, name, MK, mode, GOSYNC_KIND_CHAN, 8, 4, 0, NULL);
}

/*
 * open(2) of @name with @acc: 0, or -errno; GOSYNC_FS_IOC_OPEN's the
 * same way in *@err2 (an fd number there).
 */
static int both(FIXTURE_DATA(perm) *self, const char *name, int acc, int *err2)
{
	int fd = open(at(self, name), acc | O_CLOEXEC);
	int fd2 = gosync_test_open(self->root, name, acc | O_CLOEXEC, 0, 0, 0, 0, 0, NULL);

	if (fd < 0)
		fd = -errno;
	*err2 = fd2;
	if (fd2 >= 0)
		close(fd2);
	if (fd >= 0)
		close(fd);
	return fd < 0 ? fd : 0;
}

/* ---- mode and umask ---- */

static int make_with_umask(FIXTURE_DATA(perm) *self, void *arg)
{
	struct stat st;
	int fd;

	(void)arg;
	fd = mk(self->root, "a", 0666);	/* umask 027 */
	C(fd >= 0);
	C(!fstat(fd, &st));
	C((st.st_mode & 07777) == 0640);
	C(st.st_uid == U1 && st.st_gid == U1);
	C(S_ISREG(st.st_mode));
	close(fd);
	umask(0);
	fd = mk(self->root, "b", 0604);
	C(fd >= 0);
	C(!stat(at(self, "b"), &st) && (st.st_mode & 07777) == 0604);
	close(fd);
	return 0;
}

TEST_F(perm, mode_and_umask)
{
	struct stat st;
	int fd;

	PERM_READY();
	AS(U1, 027, make_with_umask, NULL);
	umask(022);
	fd = mk(self->root, "c", 0777);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(0755, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	close(fd);
	/* Set-id and sticky bits are kept as given, less the umask. */
	umask(0);
	fd = gosync_test_open(self->root, "z", MK, 04711, GOSYNC_KIND_CHAN, 8, 1, 0, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(04711, st.st_mode & 07777);
	close(fd);
	umask(022);
}

/* ---- EACCES by mode ---- */

static int make_three(FIXTURE_DATA(perm) *self, void *arg)
{
	uint64_t v = 1;
	int fd;

	(void)arg;
	C((fd = mk(self->root, "r", 0644)) >= 0);
	close(fd);
	C((fd = mk(self->root, "w", 0622)) >= 0);
	close(fd);
	C((fd = mk(self->root, "n", 0600)) >= 0);
	close(fd);
	/* The maker gets what it asked for, whatever the mode says ... */
	fd = gosync_test_open(self->root, "z", MK, 0, GOSYNC_KIND_CHAN, 8, 4, 0, NULL);
	C(fd >= 0);
	C(gosync_test_xfer(fd, GOSYNC_CHAN_IOC_SEND, &v, 1, GOSYNC_DEADLINE_NONBLOCK, 0) == 1);
	C(gosync_test_xfer(fd, GOSYNC_CHAN_IOC_RECV, &v, 1, GOSYNC_DEADLINE_NONBLOCK, 0) == 1);
	close(fd);
	/* ... and only then: the next open is checked. */
	C(open(at(self, "z"), O_RDONLY) == -1 && errno == EACCES);
	return 0;
}

static int others_open(FIXTURE_DATA(perm) *self, void *arg)
{
	int e2;

	(void)arg;
	/* r: 0644 */
	C(both(self, "r", O_RDONLY, &e2) == 0 && e2 >= 0);
	C(both(self, "r", O_WRONLY, &e2) == -EACCES && e2 == -EACCES);
	C(both(self, "r", O_RDWR, &e2) == -EACCES && e2 == -EACCES);
	/* w: 0622 */
	C(both(self, "w", O_WRONLY, &e2) == 0 && e2 >= 0);
	C(both(self, "w", O_RDONLY, &e2) == -EACCES && e2 == -EACCES);
	C(both(self, "w", O_RDWR, &e2) == -EACCES && e2 == -EACCES);
	/* n: 0600 */
	C(both(self, "n", O_RDONLY, &e2) == -EACCES && e2 == -EACCES);
	C(both(self, "n", O_WRONLY, &e2) == -EACCES && e2 == -EACCES);
	C(both(self, "n", O_RDWR, &e2) == -EACCES && e2 == -EACCES);
	/* With O_CREAT it exists: still the same check. */
	C(gosync_test_open(self->root, "n", O_CREAT | O_RDWR, 0666, GOSYNC_KIND_CHAN,
			   8, 4, 0, NULL) == -EACCES);
	return 0;
}

TEST_F(perm, eacces_for_what_the_mode_forbids)
{
	int e2;

	PERM_READY();
	AS(U1, 0, make_three, NULL);
	AS(U2, 0, others_open, NULL);
	/* Root may open any of them. */
	EXPECT_LE(0, both(self, "n", O_RDWR, &e2));
	EXPECT_LE(0, e2);
}

/* ---- chmod, chown ---- */

static int make_c(FIXTURE_DATA(perm) *self, void *arg)
{
	int fd = mk(self->root, "c", 0600);

	(void)arg;
	C(fd >= 0);
	close(fd);
	return 0;
}

static int chmod_c(FIXTURE_DATA(perm) *self, void *mode)
{
	C(chmod(at(self, "c"), *(mode_t *)mode) == 0);
	return 0;
}

static int expect_open_c(FIXTURE_DATA(perm) *self, void *want)
{
	const int *w = want;	/* -errno or 0 for O_RDONLY, O_WRONLY, O_RDWR */
	int e2;

	for (int acc = 0; acc < 3; acc++) {
		int r = both(self, "c", acc, &e2);

		C((r < 0 ? r : 0) == w[acc] && (e2 < 0 ? e2 : 0) == w[acc]);
	}
	return 0;
}

static int chmod_chown_refused(FIXTURE_DATA(perm) *self, void *arg)
{
	(void)arg;
	C(chmod(at(self, "c"), 0666) == -1 && errno == EPERM);
	C(chown(at(self, "c"), U2, U2) == -1 && errno == EPERM);
	return 0;
}

TEST_F(perm, chmod_and_chown)
{
	static const int none[3] = { -EACCES, -EACCES, -EACCES };
	static const int read_only[3] = { 0, -EACCES, -EACCES };
	static const int all[3] = { 0, 0, 0 };
	mode_t m = 0604;
	struct stat st;

	PERM_READY();
	AS(U1, 0, make_c, NULL);
	AS(U2, 0, expect_open_c, (void *)none);
	AS(U1, 0, chmod_c, &m);
	AS(U2, 0, expect_open_c, (void *)read_only);
	AS(U2, 0, chmod_chown_refused, NULL);
	m = 0600;
	AS(U1, 0, chmod_c, &m);
	AS(U2, 0, expect_open_c, (void *)none);
	/* Root gives it to U2: now U2 has it all, U1 nothing. */
	ASSERT_EQ(0, chown(at(self, "c"), U2, U2));
	ASSERT_EQ(0, stat(at(self, "c"), &st));
	EXPECT_EQ(U2, st.st_uid);
	EXPECT_EQ(U2, st.st_gid);
	AS(U2, 0, expect_open_c, (void *)all);
	AS(U1, 0, expect_open_c, (void *)none);
	AS(U1, 0, chmod_chown_refused, NULL);
	/* A group's bits. */
	ASSERT_EQ(0, chown(at(self, "c"), U2, U1));
	ASSERT_EQ(0, chmod(at(self, "c"), 0640));
	AS(U1, 0, expect_open_c, (void *)read_only);
}

/* ---- no path to another user's 0600 channel ---- */

struct holder {
	pid_t pid;
	int fd;		/* the holder's fd number of "secret" */
	int rfd;	/* a receive-only end of it, inherited by the intruder */
};

static int intruder(FIXTURE_DATA(perm) *self, void *arg)
{
	struct holder *h = arg;
	char path[64];
	uint64_t v = 5;
	int e2;

	for (int acc = 0; acc < 3; acc++) {
		C(both(self, "secret", acc, &e2) == -EACCES && e2 == -EACCES);
		/* The holder's fd through /proc. */
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", h->pid, h->fd);
		C(open(path, acc | O_CLOEXEC) == -1 && errno == EACCES);
		/* A receive-only end handed over cannot be widened. */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", h->rfd);
		C(open(path, acc | O_CLOEXEC) == -1 && errno == EACCES);
	}
	/* It receives (what it was given), and nothing else. */
	C(gosync_test_xfer(h->rfd, GOSYNC_CHAN_IOC_SEND, &v, 1,
			   GOSYNC_DEADLINE_NONBLOCK, 0) == -EBADF);
	C(gosync_test_ioctl(h->rfd, GOSYNC_CHAN_IOC_CLOSE, NULL) == -EBADF);
	C(gosync_test_xfer(h->rfd, GOSYNC_CHAN_IOC_RECV, &v, 1,
			   GOSYNC_DEADLINE_NONBLOCK, 0) == 1 && v == 42);
	C(mmap(NULL, 4096, PROT_READ, MAP_SHARED, h->rfd, 0) == MAP_FAILED &&
	  errno == EACCES);
	C(gosync_test_dup(h->rfd, GOSYNC_DUP_SEND_ONLY) == -EBADF);
	/* Nor can it take the name. */
	C(unlink(at(self, "secret")) == -1 && errno == EPERM);
	C(chmod(at(self, "secret"), 0666) == -1 && errno == EPERM);
	return 0;
}

TEST_F(perm, another_users_0600_channel_is_out_of_reach)
{
	struct holder h = { 0 };
	uint64_t v = 42;
	int p[2], fd;

	PERM_READY();
	/* U1's holder process makes "secret" 0600 and keeps it open. */
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	h.pid = fork();
	ASSERT_LE(0, h.pid);
	if (h.pid == 0) {
		close(p[0]);
		if (setgroups(0, NULL) || setgid(U1) || setuid(U1))
			_exit(1);
		umask(0);
		fd = mk(self->root, "secret", 0600);
		if (fd < 0 || write(p[1], &fd, sizeof(fd)) != sizeof(fd))
			_exit(2);
		pause();
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(sizeof(h.fd), read(p[0], &h.fd, sizeof(h.fd)));
	close(p[0]);
	/* A receive-only end for the intruder, opened by root and inherited. */
	h.rfd = open(at(self, "secret"), O_RDONLY);
	ASSERT_LE(0, h.rfd);
	fd = open(at(self, "secret"), O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, gosync_test_xfer(fd, GOSYNC_CHAN_IOC_SEND, &v, 1,
				      GOSYNC_DEADLINE_NONBLOCK, 0));
	close(fd);
	AS(U2, 0, intruder, &h);
	close(h.rfd);
	kill(h.pid, SIGKILL);
	waitpid(h.pid, NULL, 0);
}

/* ---- the sticky root, and a root others cannot write ---- */

static int make_s(FIXTURE_DATA(perm) *self, void *arg)
{
	int fd = mk(self->root, "s", 0666);

	(void)arg;
	C(fd >= 0);
	close(fd);
	return 0;
}

static int unlink_s(FIXTURE_DATA(perm) *self, void *want)
{
	int r = unlink(at(self, "s")) ? -errno : 0;

	C(r == *(int *)want);
	return 0;
}

static int make_in_closed_root(FIXTURE_DATA(perm) *self, void *arg)
{
	int root = open(arg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	C(root >= 0);
	C(mk(root, "x", 0666) == -EACCES);
	close(root);
	return 0;
}

TEST_F(perm, sticky_root_and_closed_root)
{
	int eperm = -EPERM, zero = 0;
	char dir[64];
	struct stat st;

	PERM_READY();
	ASSERT_EQ(0, fstat(self->root, &st));
	ASSERT_EQ(01777, st.st_mode & 07777);
	AS(U1, 0, make_s, NULL);
	AS(U2, 0, unlink_s, &eperm);
	ASSERT_EQ(0, stat(at(self, "s"), &st));
	AS(U1, 0, unlink_s, &zero);
	/* Root may remove anyone's. */
	AS(U1, 0, make_s, NULL);
	EXPECT_EQ(0, unlink(at(self, "s")));

	ASSERT_EQ(0, gosync_test_mount(dir, "mode=0755"));
	AS(U1, 0, make_in_closed_root, dir);
	EXPECT_EQ(0, gosync_test_umount(dir));
	/* Given to U1 by uid=, it is U1's to fill. */
	ASSERT_EQ(0, gosync_test_mount(dir, "mode=0755,uid=1000"));
	AS(U2, 0, make_in_closed_root, dir);
	EXPECT_EQ(0, gosync_test_umount(dir));
}

TEST_HARNESS_MAIN
