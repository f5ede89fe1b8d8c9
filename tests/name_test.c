// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Named objects (gosync_chan_open(3), gosync_wg_open(3), gosync_unlink(3))
 * in every mode: kernel mode in the gosync filesystem (skipped where it
 * is not mounted), standalone in $GOSYNC_SHM_DIR or /dev/shm/gosync.
 * Every bad name and oflag with its exact errno; create, open, EEXIST,
 * ENOENT; shape and kind mismatches; umask, mode and EACCES (as another
 * uid when run as root); unlink while in use; eight processes racing to
 * make one name; two unrelated processes (exec'd, sharing no fd) meeting
 * by name; what standalone cannot do (-EOPNOTSUPP) and where its
 * directory is.  Kernel mode only: directional ends, from
 * gosync_chan_open(O_RDONLY / O_WRONLY) and gosync_chan_dup(), where every
 * forbidden operation is -EBADF and changes nothing; auto-close.
 */
#include <dirent.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "chan_test.h"

#define PEER_ARG	"--gosync-name-peer"
#define PEER_HELLO	0x1234ULL
#define PEER_REPLY	0x4321ULL

/* The names' directory in this mode (for stat, chmod, files in it). */
static void test_name_path(bool kernel, const char *name, char *buf,
			   size_t size)
{
	const char *dir = getenv(kernel ? "GOSYNC_FS" : "GOSYNC_SHM_DIR");

	if (!dir || !*dir)
		dir = kernel ? GOSYNC_FS_DEFAULT : "/dev/shm/gosync";
	snprintf(buf, size, "%s%s", dir, name);
}

/*
 * The other end of unrelated_processes_meet: a program started by exec
 * with no fd of the test's, before the harness runs (glibc passes main's
 * arguments to constructors).  It makes or opens the name, sends HELLO
 * and waits for REPLY: exit 0, or the step that failed.
 */
__attribute__((constructor))
static void name_peer(int argc, char **argv)
{
	struct gosync_chan *ch = NULL;
	uint64_t v = PEER_HELLO;
	unsigned int flags;

	if (argc != 4 || strcmp(argv[1], PEER_ARG))
		return;
	flags = strtoul(argv[3], NULL, 0);
	/* Unbuffered: the send returns once the test has our HELLO. */
	if (gosync_chan_open(&ch, argv[2], O_RDWR | O_CREAT, 0600, sizeof(v),
			     0, flags))
		_exit(10);
	if (gosync_chan_send(ch, &v, test_ms(10000)))
		_exit(11);
	if (gosync_chan_recv(ch, &v, test_ms(10000)) != 1)
		_exit(12);
	gosync_chan_free(ch);
	_exit(v == PEER_REPLY ? 0 : 13);
}

FIXTURE(nm) {
	bool nofs;
	char name[64];
	char path[PATH_MAX];
	int seq;
};

FIXTURE_VARIANT(nm) {
	unsigned int flags;
	bool kernel;
};

#ifdef GOSYNC_TEST_HOST
FIXTURE_VARIANT_ADD(nm, standalone) { .flags = GOSYNC_STANDALONE };
#else
FIXTURE_VARIANT_ADD(nm, kernel) { .flags = 0, .kernel = true };
FIXTURE_VARIANT_ADD(nm, standalone) { .flags = GOSYNC_STANDALONE };
#endif

/* A fresh name for this test (and self->path: its file). */
static void test_new_name(FIXTURE_DATA(nm) *self, bool kernel)
{
	snprintf(self->name, sizeof(self->name), "/name_test.%d.%d",
		 (int)getpid(), self->seq++);
	test_name_path(kernel, self->name, self->path, sizeof(self->path));
}

/*
 * A SKIP in FIXTURE_SETUP does not stop the test from running: each test
 * starts with NEEDS_FS().
 */
#define NOFS	"no gosync filesystem at $GOSYNC_FS or " GOSYNC_FS_DEFAULT
#define NEEDS_FS() do {							\
	if (self->nofs)							\
		SKIP(return, NOFS);					\
} while (0)

/* Open or make a channel of this test's name, in the variant's mode. */
#define OPEN(chp, oflag, mode, elem, cap)				\
	gosync_chan_open((chp), self->name, (oflag), (mode), (elem), (cap), \
			 variant->flags)

FIXTURE_SETUP(nm)
{
	struct gosync_chan *ch = NULL;
	int ret;

	self->seq = 0;
	test_new_name(self, variant->kernel);
	/* Kernel mode needs the filesystem mounted. */
	ret = OPEN(&ch, O_RDWR | O_CREAT | O_EXCL, 0600, 8, 1);
	self->nofs = ret == -ENODEV && variant->kernel;
	if (self->nofs)
		SKIP(return, NOFS);
	ASSERT_EQ(0, ret) TH_LOG("gosync_chan_open: %s", strerror(-ret));
	gosync_chan_free(ch);
	ASSERT_EQ(0, gosync_unlink_flags(self->name, variant->flags));
}

FIXTURE_TEARDOWN(nm)
{
	/* Every name this test made. */
	for (int i = self->seq - 1; i >= 0; i--) {
		char name[64];

		snprintf(name, sizeof(name), "/name_test.%d.%d", (int)getpid(),
			 i);
		gosync_unlink_flags(name, variant->flags);
	}
}

TEST_F(nm, bad_names)
{
	static const char *const bad[] = {
		"", "x", "name", "/", "//", "/a/b", "//a", "/a/", "/.", "/..",
		"./a", "a/b",
	};
	char name[GOSYNC_NAME_MAX + 3];
	struct gosync_chan *ch = NULL;
	struct gosync_wg *wg = NULL;

	NEEDS_FS();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, gosync_chan_open(&ch, bad[i], O_RDWR | O_CREAT,
						    0600, 8, 1, variant->flags))
			TH_LOG("name \"%s\"", bad[i]);
		EXPECT_EQ(-EINVAL, gosync_wg_open(&wg, bad[i], O_RDWR | O_CREAT,
						  0600, variant->flags));
		EXPECT_EQ(-EINVAL, gosync_unlink_flags(bad[i], variant->flags));
	}
	EXPECT_EQ(-EINVAL, gosync_chan_open(&ch, NULL, O_RDWR | O_CREAT, 0600,
					    8, 1, variant->flags));
	EXPECT_EQ(-EINVAL, gosync_mutex_open(NULL, self->name, O_RDWR, 0600,
					     variant->flags));
	EXPECT_EQ(-EINVAL, gosync_unlink_flags(NULL, variant->flags));
	EXPECT_EQ(-EINVAL, gosync_unlink(NULL));
	EXPECT_EQ(-EINVAL, gosync_unlink("/a/b"));

	/* 255 bytes after the '/' are a name; 256 are too long. */
	name[0] = '/';
	memset(name + 1, 'n', GOSYNC_NAME_MAX + 1);
	name[GOSYNC_NAME_MAX + 2] = '\0';
	EXPECT_EQ(-ENAMETOOLONG, gosync_chan_open(&ch, name, O_RDWR | O_CREAT,
						  0600, 8, 1, variant->flags));
	EXPECT_EQ(-ENAMETOOLONG, gosync_once_open((struct gosync_once **)&wg,
						  name, O_RDWR | O_CREAT, 0600,
						  variant->flags));
	EXPECT_EQ(-ENAMETOOLONG, gosync_unlink_flags(name, variant->flags));
	name[GOSYNC_NAME_MAX + 1] = '\0';
	ASSERT_EQ(0, gosync_chan_open(&ch, name, O_RDWR | O_CREAT | O_EXCL,
				      0600, 8, 1, variant->flags));
	gosync_chan_free(ch);
	EXPECT_EQ(0, gosync_unlink_flags(name, variant->flags));
	/* Dots are ordinary beside other bytes. */
	ASSERT_EQ(0, gosync_chan_open(&ch, "/...", O_RDWR | O_CREAT, 0600, 8,
				      1, variant->flags));
	gosync_chan_free(ch);
	EXPECT_EQ(0, gosync_unlink_flags("/...", variant->flags));
}

TEST_F(nm, bad_oflags_and_flags)
{
	static const int bad[] = {
		O_ACCMODE, O_RDWR | O_TRUNC, O_RDWR | O_NONBLOCK,
		O_RDWR | O_APPEND, O_RDWR | O_DIRECTORY, O_RDWR | O_NOFOLLOW,
		O_RDWR | O_SYNC, O_RDWR | O_CREAT | O_TMPFILE, O_RDWR | O_PATH,
		O_RDWR | O_NOCTTY, O_RDWR | O_CREAT | O_ACCMODE, -1,
		O_WRONLY | O_TRUNC,
	};
	struct gosync_chan *ch = NULL;
	struct gosync_wg *wg = NULL;

	NEEDS_FS();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, OPEN(&ch, bad[i], 0600, 8, 1))
			TH_LOG("oflag %#x", bad[i]);
		EXPECT_EQ(-EINVAL, gosync_wg_open(&wg, self->name, bad[i], 0600,
						  variant->flags));
	}
	/* A mode beyond 07777 with O_CREAT; ignored without (open(2)). */
	EXPECT_EQ(-EINVAL, OPEN(&ch, O_RDWR | O_CREAT, 010600, 8, 1));
	EXPECT_EQ(-EINVAL, OPEN(&ch, O_RDWR | O_CREAT, (mode_t)-1, 8, 1));
	EXPECT_EQ(-ENOENT, OPEN(&ch, O_RDWR, 010600, 8, 1));
	/* O_EXCL without O_CREAT is ignored, as mq_open(3) does. */
	EXPECT_EQ(-ENOENT, OPEN(&ch, O_RDWR | O_EXCL, 0600, 8, 1));
	/* Sync objects: O_RDWR only. */
	EXPECT_EQ(-EINVAL, gosync_wg_open(&wg, self->name, O_RDONLY | O_CREAT,
					  0600, variant->flags));
	EXPECT_EQ(-EINVAL, gosync_cond_open((struct gosync_cond **)&wg,
					    self->name, O_WRONLY | O_CREAT,
					    0600, variant->flags));
	/* Unknown flags, shapes out of range, no handle. */
	EXPECT_EQ(-EINVAL, gosync_chan_open(&ch, self->name, O_RDWR | O_CREAT,
					    0600, 8, 1,
					    variant->flags | (1U << 30)));
	EXPECT_EQ(-EINVAL, gosync_chan_open(&ch, self->name, O_RDWR | O_CREAT,
					    0600, 8, 1,
					    variant->flags | GOSYNC_SEND_ONLY));
	EXPECT_EQ(-EINVAL, gosync_wg_open(&wg, self->name, O_RDWR | O_CREAT,
					  0600, variant->flags | GOSYNC_NOMAP));
	EXPECT_EQ(-EINVAL, OPEN(&ch, O_RDWR | O_CREAT, 0600, 65536, 1));
	EXPECT_EQ(-EINVAL, OPEN(&ch, O_RDWR | O_CREAT, 0600, 8, (1 << 20) + 1));
	EXPECT_EQ(-EINVAL, OPEN(NULL, O_RDWR | O_CREAT, 0600, 8, 1));
	EXPECT_EQ(-EINVAL, gosync_unlink_flags(self->name, 1U << 30));
	/* Nothing of that made the name. */
	EXPECT_EQ(-ENOENT, OPEN(&ch, O_RDWR, 0, 0, 0));
	EXPECT_EQ(-ENOENT, gosync_unlink_flags(self->name, variant->flags));
}

TEST_F(nm, create_open_exists_enoent)
{
	struct gosync_chan *a = NULL, *b = NULL, *c = NULL;
	uint64_t v = 42, w = 0;

	NEEDS_FS();
	EXPECT_EQ(-ENOENT, OPEN(&a, O_RDWR, 0, 0, 0));
	ASSERT_EQ(0, OPEN(&a, O_RDWR | O_CREAT | O_EXCL, 0600, sizeof(v), 4));
	EXPECT_EQ(sizeof(v), gosync_chan_elem_size(a));
	EXPECT_EQ(4, gosync_chan_cap(a));
	EXPECT_EQ(variant->kernel ? 0 : GOSYNC_STANDALONE,
		  gosync_chan_flags(a) & (GOSYNC_STANDALONE | GOSYNC_SEND_ONLY |
					  GOSYNC_RECV_ONLY | GOSYNC_AUTOCLOSE));
	ASSERT_EQ(0, gosync_chan_send(a, &v, GOSYNC_NONBLOCK));

	EXPECT_EQ(-EEXIST, OPEN(&b, O_RDWR | O_CREAT | O_EXCL, 0600, sizeof(v), 4));
	/* 0, 0: whatever it has. */
	ASSERT_EQ(0, OPEN(&b, O_RDWR, 0, 0, 0));
	EXPECT_EQ(sizeof(v), gosync_chan_elem_size(b));
	EXPECT_EQ(4, gosync_chan_cap(b));
	EXPECT_EQ(1, gosync_chan_len(b));
	ASSERT_EQ(1, gosync_chan_recv(b, &w, GOSYNC_NONBLOCK));
	EXPECT_EQ(v, w);
	/* O_CREAT of an existing name opens it, O_CLOEXEC as asked. */
	ASSERT_EQ(0, OPEN(&c, O_RDWR | O_CREAT | O_CLOEXEC, 0600, sizeof(v), 4));
	EXPECT_TRUE(gosync_chan_flags(c) & GOSYNC_CLOEXEC);
	EXPECT_FALSE(gosync_chan_flags(b) & GOSYNC_CLOEXEC);
	v = 7;
	ASSERT_EQ(0, gosync_chan_send(c, &v, GOSYNC_NONBLOCK));
	ASSERT_EQ(1, gosync_chan_recv(a, &w, GOSYNC_NONBLOCK));
	EXPECT_EQ(7, w);
	/* The handles outlive the name. */
	EXPECT_EQ(0, gosync_unlink_flags(self->name, variant->flags));
	EXPECT_EQ(-ENOENT, gosync_unlink_flags(self->name, variant->flags));
	EXPECT_EQ(-ENOENT, OPEN(&b, O_RDWR, 0, 0, 0));
	ASSERT_EQ(0, gosync_chan_close(c));
	EXPECT_EQ(0, gosync_chan_recv(a, &w, GOSYNC_NONBLOCK));
	gosync_chan_free(a);
	gosync_chan_free(b);
	gosync_chan_free(c);
}

TEST_F(nm, unlink_picks_the_mode)
{
	struct gosync_chan *ch = NULL;
	struct statfs sfs;
	const char *fs = getenv("GOSYNC_FS");
	bool mounted = !statfs(fs && *fs ? fs : GOSYNC_FS_DEFAULT, &sfs) &&
		       sfs.f_type == GOSYNC_FS_MAGIC;

	NEEDS_FS();
	/* gosync_unlink(): the kernel's names where they are mounted. */
	ASSERT_EQ(0, OPEN(&ch, O_RDWR | O_CREAT, 0600, 8, 1));
	gosync_chan_free(ch);
	if (variant->kernel || !mounted) {
		EXPECT_EQ(0, gosync_unlink(self->name));
	} else {
		EXPECT_EQ(-ENOENT, gosync_unlink(self->name));
		EXPECT_EQ(0, gosync_unlink_flags(self->name, GOSYNC_STANDALONE));
	}
	EXPECT_EQ(-ENOENT, OPEN(&ch, O_RDWR, 0, 0, 0));
	if (!mounted)
		EXPECT_EQ(-ENODEV, gosync_unlink_flags(self->name, 0));
}

TEST_F(nm, shape_mismatch)
{
	struct gosync_chan *a = NULL, *b = NULL;

	NEEDS_FS();
	ASSERT_EQ(0, OPEN(&a, O_RDWR | O_CREAT | O_EXCL, 0600, 8, 4));
	EXPECT_EQ(-EINVAL, OPEN(&b, O_RDWR, 0, 4, 0));
	EXPECT_EQ(-EINVAL, OPEN(&b, O_RDWR, 0, 0, 2));
	EXPECT_EQ(-EINVAL, OPEN(&b, O_RDWR, 0, 16, 4));
	EXPECT_EQ(-EINVAL, OPEN(&b, O_RDWR | O_CREAT, 0600, 8, 3));
	ASSERT_EQ(0, OPEN(&b, O_RDWR, 0, 8, 0));
	gosync_chan_free(b);
	ASSERT_EQ(0, OPEN(&b, O_RDWR, 0, 0, 4));
	gosync_chan_free(b);
	ASSERT_EQ(0, OPEN(&b, O_RDWR | O_CREAT, 0600, 8, 4));
	gosync_chan_free(b);
	gosync_chan_free(a);

	/* 0-byte elements and unbuffered channels can be made by name. */
	test_new_name(self, variant->kernel);
	ASSERT_EQ(0, OPEN(&a, O_RDWR | O_CREAT | O_EXCL, 0600, 0, 3));
	EXPECT_EQ(0, gosync_chan_elem_size(a));
	EXPECT_EQ(3, gosync_chan_cap(a));
	ASSERT_EQ(0, gosync_chan_send(a, NULL, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, OPEN(&b, O_RDWR, 0, 0, 0));
	EXPECT_EQ(1, gosync_chan_len(b));
	gosync_chan_free(b);
	gosync_chan_free(a);
	test_new_name(self, variant->kernel);
	ASSERT_EQ(0, OPEN(&a, O_RDWR | O_CREAT | O_EXCL, 0600, 8, 0));
	EXPECT_EQ(0, gosync_chan_cap(a));
	EXPECT_EQ(-EINVAL, OPEN(&b, O_RDWR, 0, 8, 1));
	gosync_chan_free(a);
}

TEST_F(nm, kind_mismatch)
{
	struct gosync_chan *ch = NULL;
	struct gosync_wg *wg = NULL, *wg2 = NULL;
	struct gosync_mutex *m = NULL, *m2 = NULL;
	struct gosync_rwmutex *rw = NULL;
	struct gosync_once *once = NULL;
	struct gosync_cond *cond = NULL;
	const unsigned int f = variant->flags;

	NEEDS_FS();
	/* A channel's name is no waitgroup's, nor the other way round. */
	ASSERT_EQ(0, OPEN(&ch, O_RDWR | O_CREAT | O_EXCL, 0600, 8, 1));
	EXPECT_EQ(-EMEDIUMTYPE, gosync_wg_open(&wg, self->name, O_RDWR, 0, f));
	EXPECT_EQ(-EMEDIUMTYPE, gosync_wg_open(&wg, self->name,
					       O_RDWR | O_CREAT, 0600, f));
	EXPECT_EQ(-EMEDIUMTYPE, gosync_cond_open(&cond, self->name, O_RDWR, 0, f));
	gosync_chan_free(ch);

	test_new_name(self, variant->kernel);
	ASSERT_EQ(0, gosync_wg_open(&wg, self->name, O_RDWR | O_CREAT | O_EXCL,
				    0600, f));
	EXPECT_EQ(-EMEDIUMTYPE, OPEN(&ch, O_RDWR, 0, 0, 0));
	EXPECT_EQ(-EMEDIUMTYPE, OPEN(&ch, O_RDWR | O_CREAT, 0600, 8, 1));
	EXPECT_EQ(-EMEDIUMTYPE, gosync_mutex_open(&m, self->name, O_RDWR, 0, f));
	EXPECT_EQ(-EMEDIUMTYPE, gosync_rwmutex_open(&rw, self->name, O_RDWR, 0, f));
	EXPECT_EQ(-EMEDIUMTYPE, gosync_once_open(&once, self->name, O_RDWR, 0, f));
	EXPECT_EQ(-EEXIST, gosync_wg_open(&wg2, self->name,
					  O_RDWR | O_CREAT | O_EXCL, 0600, f));
	/* The same kind: the same object. */
	ASSERT_EQ(0, gosync_wg_open(&wg2, self->name, O_RDWR, 0, f));
	ASSERT_EQ(0, gosync_wg_add(wg, 1));
	EXPECT_EQ(-ETIMEDOUT, gosync_wg_wait(wg2, test_ms(10)));
	ASSERT_EQ(0, gosync_wg_done(wg2));
	EXPECT_EQ(0, gosync_wg_wait(wg, GOSYNC_NONBLOCK));
	gosync_wg_free(wg2);
	gosync_wg_free(wg);

	/* Each kind by name; a second handle sees the first's state. */
	test_new_name(self, variant->kernel);
	ASSERT_EQ(0, gosync_mutex_open(&m, self->name, O_RDWR | O_CREAT, 0600, f));
	ASSERT_EQ(0, gosync_mutex_open(&m2, self->name, O_RDWR | O_CREAT, 0600, f));
	ASSERT_EQ(0, gosync_mutex_lock(m, GOSYNC_FOREVER));
	EXPECT_EQ(-EBUSY, gosync_mutex_trylock(m2));
	ASSERT_EQ(0, gosync_mutex_unlock(m));
	EXPECT_EQ(0, gosync_mutex_trylock(m2));
	gosync_mutex_free(m2);
	gosync_mutex_free(m);
	test_new_name(self, variant->kernel);
	ASSERT_EQ(0, gosync_rwmutex_open(&rw, self->name, O_RDWR | O_CREAT, 0600, f));
	gosync_rwmutex_free(rw);
	ASSERT_EQ(0, gosync_rwmutex_open(&rw, self->name, O_RDWR, 0, f));
	gosync_rwmutex_free(rw);
	test_new_name(self, variant->kernel);
	ASSERT_EQ(0, gosync_once_open(&once, self->name, O_RDWR | O_CREAT, 0600, f));
	gosync_once_free(once);
	test_new_name(self, variant->kernel);
	ASSERT_EQ(0, gosync_cond_open(&cond, self->name,
				      O_RDWR | O_CREAT | O_CLOEXEC, 0600, f));
	EXPECT_TRUE(fcntl(gosync_cond_fd(cond), F_GETFD) & FD_CLOEXEC);
	gosync_cond_free(cond);
	ASSERT_EQ(0, gosync_cond_open(&cond, self->name, O_RDWR, 0,
				      f | GOSYNC_CLOEXEC));
	EXPECT_TRUE(fcntl(gosync_cond_fd(cond), F_GETFD) & FD_CLOEXEC);
	gosync_cond_free(cond);
}

static mode_t test_mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? (mode_t)-1 : st.st_mode & 07777;
}

TEST_F(nm, umask_and_mode)
{
	struct gosync_chan *ch = NULL;
	struct gosync_wg *wg = NULL;
	mode_t old = umask(022);

	NEEDS_FS();
	ASSERT_EQ(0, OPEN(&ch, O_RDWR | O_CREAT | O_EXCL, 0666, 8, 1));
	EXPECT_EQ(0644, test_mode_of(self->path));
	gosync_chan_free(ch);

	umask(0);
	test_new_name(self, variant->kernel);
	ASSERT_EQ(0, OPEN(&ch, O_RDWR | O_CREAT | O_EXCL, 0640, 8, 1));
	EXPECT_EQ(0640, test_mode_of(self->path));
	gosync_chan_free(ch);

	umask(077);
	test_new_name(self, variant->kernel);
	ASSERT_EQ(0, gosync_wg_open(&wg, self->name, O_RDWR | O_CREAT, 0666,
				    variant->flags));
	EXPECT_EQ(0600, test_mode_of(self->path));
	gosync_wg_free(wg);

	/* Its maker uses it whatever the mode says. */
	test_new_name(self, variant->kernel);
	ASSERT_EQ(0, OPEN(&ch, O_RDWR | O_CREAT | O_EXCL, 0, 8, 1));
	EXPECT_EQ(0, test_mode_of(self->path));
	EXPECT_EQ(0, gosync_chan_send(ch, &(uint64_t){ 1 }, GOSYNC_NONBLOCK));
	gosync_chan_free(ch);
	umask(old);
}

/* In a child: open @name as uid 65534 (when root) or as ourselves. */
static int test_open_as_other(const char *name, unsigned int flags, bool wg)
{
	int *ret = test_shared(sizeof(int));
	pid_t pid;
	int r;

	if (!ret)
		return -ENOMEM;
	pid = fork();
	if (pid == 0) {
		struct gosync_chan *ch = NULL;
		struct gosync_wg *w = NULL;

		if (!geteuid() && (setgid(65534) || setuid(65534)))
			_exit(1);
		*ret = wg ? gosync_wg_open(&w, name, O_RDWR, 0, flags) :
			    gosync_chan_open(&ch, name, O_RDWR, 0, 0, 0, flags);
		_exit(0);
	}
	if (pid < 0 || test_wait(pid) != 0)
		r = -ECHILD;
	else
		r = *ret;
	munmap(ret, sizeof(int));
	return r;
}

TEST_F(nm, eacces_when_mode_forbids)
{
	struct gosync_chan *ch = NULL;
	struct gosync_wg *wg = NULL;
	mode_t old = umask(0);

	NEEDS_FS();
	ASSERT_EQ(0, OPEN(&ch, O_RDWR | O_CREAT | O_EXCL, 0000, 8, 1));
	EXPECT_EQ(-EACCES, test_open_as_other(self->name, variant->flags, false));
	/* chmod applies to later opens. */
	ASSERT_EQ(0, chmod(self->path, 0666));
	EXPECT_EQ(0, test_open_as_other(self->name, variant->flags, false));
	/* Read without write is not enough for O_RDWR. */
	ASSERT_EQ(0, chmod(self->path, 0644));
	if (geteuid() == 0)
		EXPECT_EQ(-EACCES, test_open_as_other(self->name,
						      variant->flags, false));
	gosync_chan_free(ch);

	test_new_name(self, variant->kernel);
	ASSERT_EQ(0, gosync_wg_open(&wg, self->name, O_RDWR | O_CREAT, 0600,
				    variant->flags));
	if (geteuid() == 0)
		EXPECT_EQ(-EACCES, test_open_as_other(self->name,
						      variant->flags, true));
	gosync_wg_free(wg);
	umask(old);
}

TEST_F(nm, unlink_in_use_then_make_again)
{
	struct gosync_chan *old = NULL, *new = NULL;
	uint64_t v = 1, w = 0;
	struct stat a, b;

	NEEDS_FS();
	ASSERT_EQ(0, OPEN(&old, O_RDWR | O_CREAT | O_EXCL, 0600, sizeof(v), 4));
	ASSERT_EQ(0, stat(self->path, &a));
	ASSERT_EQ(0, gosync_chan_send(old, &v, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, gosync_unlink_flags(self->name, variant->flags));

	ASSERT_EQ(0, OPEN(&new, O_RDWR | O_CREAT | O_EXCL, 0600, sizeof(v), 2));
	ASSERT_EQ(0, stat(self->path, &b));
	EXPECT_NE(a.st_ino, b.st_ino);
	EXPECT_EQ(2, gosync_chan_cap(new));
	EXPECT_EQ(0, gosync_chan_len(new));
	EXPECT_EQ(1, gosync_chan_len(old));
	v = 2;
	ASSERT_EQ(0, gosync_chan_send(new, &v, GOSYNC_NONBLOCK));
	v = 3;
	ASSERT_EQ(0, gosync_chan_send(old, &v, GOSYNC_NONBLOCK));
	/* The old one keeps working for those who hold it. */
	ASSERT_EQ(1, gosync_chan_recv(old, &w, GOSYNC_NONBLOCK));
	EXPECT_EQ(1, w);
	ASSERT_EQ(1, gosync_chan_recv(old, &w, GOSYNC_NONBLOCK));
	EXPECT_EQ(3, w);
	ASSERT_EQ(1, gosync_chan_recv(new, &w, GOSYNC_NONBLOCK));
	EXPECT_EQ(2, w);
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(new, &w, GOSYNC_NONBLOCK));
	gosync_chan_free(old);
	gosync_chan_free(new);
}

#define RACERS	8

struct race {
	int go;
	int ready;
	int created;
	int exists;
	int other[RACERS];
};

/* RACERS processes open the name at once with @oflag; each sends its index. */
static void test_race(struct __test_metadata *_metadata,
		      FIXTURE_DATA(nm) *self, const FIXTURE_VARIANT(nm) *variant,
		      struct race *r, int oflag)
{
	pid_t pids[RACERS];

	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			struct gosync_chan *ch = NULL;
			uint64_t v = i;
			int ret;

			__atomic_add_fetch(&r->ready, 1, __ATOMIC_SEQ_CST);
			while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
				;
			ret = OPEN(&ch, oflag, 0600, sizeof(v), RACERS);
			if (!ret) {
				__atomic_add_fetch(&r->created, 1, __ATOMIC_SEQ_CST);
				ret = gosync_chan_send(ch, &v, test_ms(5000));
			} else if (ret == -EEXIST) {
				__atomic_add_fetch(&r->exists, 1, __ATOMIC_SEQ_CST);
			} else {
				r->other[i] = ret;
			}
			_exit(ret == 0 || ret == -EEXIST ? 0 : 1);
		}
	}
	while (__atomic_load_n(&r->ready, __ATOMIC_ACQUIRE) < RACERS)
		test_sleep_ms(1);
	__atomic_store_n(&r->go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < RACERS; i++) {
		EXPECT_EQ(0, test_wait(pids[i])) TH_LOG("racer %d: %s", i,
							strerror(-r->other[i]));
	}
}

TEST_F(nm, racing_exclusive_makers)
{
	struct race *r = test_shared(sizeof(*r));
	struct gosync_chan *ch = NULL;
	uint64_t v;

	NEEDS_FS();
	ASSERT_NE(NULL, r);
	test_race(_metadata, self, variant, r, O_RDWR | O_CREAT | O_EXCL);
	EXPECT_EQ(1, r->created);
	EXPECT_EQ(RACERS - 1, r->exists);
	ASSERT_EQ(0, OPEN(&ch, O_RDWR, 0, 0, 0));
	EXPECT_EQ(1, gosync_chan_len(ch));
	EXPECT_EQ(1, gosync_chan_recv(ch, &v, GOSYNC_NONBLOCK));
	gosync_chan_free(ch);
	munmap(r, sizeof(*r));
}

TEST_F(nm, racing_openers_share_one_object)
{
	struct race *r = test_shared(sizeof(*r));
	struct gosync_chan *ch = NULL;
	unsigned int seen = 0;
	uint64_t v;

	NEEDS_FS();
	ASSERT_NE(NULL, r);
	test_race(_metadata, self, variant, r, O_RDWR | O_CREAT);
	EXPECT_EQ(RACERS, r->created);
	EXPECT_EQ(0, r->exists);
	/* Everyone's element is in the one channel. */
	ASSERT_EQ(0, OPEN(&ch, O_RDWR, 0, sizeof(v), RACERS));
	EXPECT_EQ(RACERS, gosync_chan_len(ch));
	for (int i = 0; i < RACERS; i++) {
		ASSERT_EQ(1, gosync_chan_recv(ch, &v, GOSYNC_NONBLOCK));
		ASSERT_GT(RACERS, v);
		seen |= 1U << v;
	}
	EXPECT_EQ((1U << RACERS) - 1, seen);
	gosync_chan_free(ch);
	munmap(r, sizeof(*r));
}

TEST_F(nm, unrelated_processes_meet)
{
	struct gosync_chan *ch = NULL;
	char flags[16];
	uint64_t v = 0;
	pid_t pid;

	NEEDS_FS();
	snprintf(flags, sizeof(flags), "%#x", variant->flags);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *argv[] = { "name_test", PEER_ARG, self->name, flags, NULL };

		/* Nothing of ours but stdio goes across. */
		syscall(SYS_close_range, 3, ~0U, 0);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	ASSERT_EQ(0, OPEN(&ch, O_RDWR | O_CREAT, 0600, sizeof(v), 0));
	ASSERT_EQ(1, gosync_chan_recv(ch, &v, test_ms(10000)));
	EXPECT_EQ(PEER_HELLO, v);
	v = PEER_REPLY;
	ASSERT_EQ(0, gosync_chan_send(ch, &v, test_ms(10000)));
	EXPECT_EQ(0, test_wait(pid));
	gosync_chan_free(ch);
}

TEST_F(nm, standalone_cannot)
{
	struct gosync_chan *ch = NULL, *end = NULL;

	NEEDS_FS();
	if (variant->kernel)
		SKIP(return, "standalone mode only");
	EXPECT_EQ(-EOPNOTSUPP, OPEN(&ch, O_RDONLY | O_CREAT, 0600, 8, 1));
	EXPECT_EQ(-EOPNOTSUPP, OPEN(&ch, O_WRONLY | O_CREAT, 0600, 8, 1));
	EXPECT_EQ(-EOPNOTSUPP, gosync_chan_open(&ch, self->name,
						O_RDWR | O_CREAT, 0600, 8, 1,
						GOSYNC_STANDALONE |
						GOSYNC_AUTOCLOSE));
	EXPECT_EQ(-EOPNOTSUPP, gosync_chan_open(&ch, self->name,
						O_RDWR | O_CREAT, 0600, 8, 1,
						GOSYNC_STANDALONE | GOSYNC_NOMAP));
	EXPECT_EQ(-EOPNOTSUPP, gosync_chan_make(&ch, 8, 1, GOSYNC_STANDALONE |
						GOSYNC_AUTOCLOSE));
	EXPECT_EQ(-ENOENT, OPEN(&ch, O_RDWR, 0, 0, 0));
	ASSERT_EQ(0, OPEN(&ch, O_RDWR | O_CREAT, 0600, 8, 1));
	EXPECT_EQ(-EOPNOTSUPP, gosync_chan_dup(&end, ch, GOSYNC_SEND_ONLY));
	EXPECT_EQ(-EOPNOTSUPP, gosync_chan_dup(&end, ch, GOSYNC_RECV_ONLY |
					       GOSYNC_CLOEXEC));
	EXPECT_EQ(-EINVAL, gosync_chan_dup(&end, ch, 0));
	gosync_chan_free(ch);
}

/* Files of the standalone directory this process left in the making. */
static int test_tmp_files(void)
{
	char dir[PATH_MAX], prefix[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	test_name_path(false, "", dir, sizeof(dir));
	snprintf(prefix, sizeof(prefix), ".gosync-tmp.%d.", (int)getpid());
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

TEST_F(nm, standalone_file_and_fd)
{
	struct gosync_chan *ch = NULL, *other = NULL;
	uint64_t v = 5, w = 0;
	struct stat st;
	int fd;

	NEEDS_FS();
	if (variant->kernel)
		SKIP(return, "standalone mode only");
	ASSERT_EQ(0, OPEN(&ch, O_RDWR | O_CREAT, 0600, sizeof(v), 2));
	/* A named file: regular, unsealable, and what the handle holds. */
	ASSERT_EQ(0, fstat(gosync_chan_fd(ch), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(F_SEAL_SEAL, fcntl(gosync_chan_fd(ch), F_GET_SEALS));
	EXPECT_EQ(0, access(self->path, F_OK));
	/* Its fd makes a handle as a memfd's does. */
	ASSERT_EQ(0, gosync_chan_from_fd(&other, gosync_chan_fd(ch), 0));
	ASSERT_EQ(0, gosync_chan_send(ch, &v, GOSYNC_NONBLOCK));
	ASSERT_EQ(1, gosync_chan_recv(other, &w, GOSYNC_NONBLOCK));
	EXPECT_EQ(v, w);
	gosync_chan_free(other);
	gosync_chan_free(ch);
	/* No temporary file of ours is left beside it. */
	EXPECT_EQ(0, test_tmp_files());
	/* An unsealed memfd is still refused. */
	fd = memfd_create("unsealed", MFD_ALLOW_SEALING);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4096));
	EXPECT_EQ(-EINVAL, gosync_chan_from_fd(&other, fd, 0));
	close(fd);
	/* A file in the directory that is no object is not opened. */
	test_new_name(self, false);
	fd = open(self->path, O_RDWR | O_CREAT | O_EXCL, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4096));
	close(fd);
	EXPECT_EQ(-EINVAL, OPEN(&ch, O_RDWR, 0, 0, 0));
	EXPECT_EQ(-EINVAL, gosync_wg_open((struct gosync_wg **)&ch, self->name,
					  O_RDWR, 0, GOSYNC_STANDALONE));
}

TEST_F(nm, standalone_directory)
{
	char top[] = "/dev/shm/name_test.XXXXXX", dir[256], obj[PATH_MAX];
	struct gosync_chan *ch = NULL;
	struct stat st;
	struct statfs sfs;
	mode_t old;
	int fd;

	NEEDS_FS();
	if (variant->kernel)
		SKIP(return, "standalone mode only");
	ASSERT_NE(NULL, mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/names", top);
	ASSERT_EQ(0, setenv("GOSYNC_SHM_DIR", dir, 1));
	/* Missing: no such name; made 01777 by the first O_CREAT. */
	EXPECT_EQ(-ENOENT, OPEN(&ch, O_RDWR, 0, 0, 0));
	EXPECT_EQ(-ENOENT, gosync_unlink_flags(self->name, GOSYNC_STANDALONE));
	EXPECT_NE(0, access(dir, F_OK));
	old = umask(077);
	ASSERT_EQ(0, OPEN(&ch, O_RDWR | O_CREAT, 0644, 8, 1));
	umask(old);
	gosync_chan_free(ch);
	ASSERT_EQ(0, lstat(dir, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(01777, st.st_mode & 07777);
	snprintf(obj, sizeof(obj), "%s%s", dir, self->name);
	EXPECT_EQ(0600, test_mode_of(obj));
	EXPECT_EQ(0, gosync_unlink_flags(self->name, GOSYNC_STANDALONE));
	EXPECT_EQ(0, rmdir(dir));

	/* A symlink or a file there is refused. */
	ASSERT_EQ(0, symlink(top, dir));
	EXPECT_EQ(-ENOTDIR, OPEN(&ch, O_RDWR | O_CREAT, 0600, 8, 1));
	EXPECT_EQ(-ENOTDIR, gosync_unlink_flags(self->name, GOSYNC_STANDALONE));
	EXPECT_EQ(0, unlink(dir));
	fd = open(dir, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-ENOTDIR, OPEN(&ch, O_RDWR | O_CREAT, 0600, 8, 1));
	EXPECT_EQ(-ENOTDIR, OPEN(&ch, O_RDWR, 0, 0, 0));
	EXPECT_EQ(0, unlink(dir));
	EXPECT_EQ(0, rmdir(top));

	/* Not on tmpfs: not shared memory. */
	if (!statfs("/", &sfs) && sfs.f_type != 0x01021994) {
		ASSERT_EQ(0, setenv("GOSYNC_SHM_DIR", "/", 1));
		EXPECT_EQ(-EINVAL, OPEN(&ch, O_RDWR, 0, 0, 0));
	}
}

/* @expr leaves errno as it found it (libgosync(7)). */
#define KEEPS(expr) do {						\
	int __e;							\
	errno = 4242;							\
	(void)(expr);							\
	__e = errno;							\
	EXPECT_EQ(4242, __e) TH_LOG("%s set errno to %d", #expr, __e); \
} while (0)

TEST_F(nm, errno_is_kept)
{
	struct gosync_chan *ch = NULL, *end = NULL;
	struct gosync_mutex *m = NULL;

	NEEDS_FS();
	KEEPS(OPEN(&ch, O_RDWR, 0, 0, 0));
	KEEPS(OPEN(&ch, O_RDWR, 0, 0, 0));
	KEEPS(OPEN(&ch, O_RDWR | O_TRUNC, 0, 0, 0));
	KEEPS(gosync_chan_open(&ch, "bad", O_RDWR, 0, 0, 0, variant->flags));
	KEEPS(OPEN(&ch, O_RDWR | O_CREAT, 0600, 8, 1));
	ASSERT_NE(NULL, ch);
	KEEPS(OPEN(&end, O_RDWR | O_CREAT | O_EXCL, 0600, 8, 1));
	KEEPS(OPEN(&end, O_RDWR, 0, 16, 1));
	KEEPS(gosync_mutex_open(&m, self->name, O_RDWR, 0, variant->flags));
	KEEPS(gosync_chan_dup(&end, ch, GOSYNC_RECV_ONLY));
	gosync_chan_free(end);
	end = NULL;
	KEEPS(gosync_chan_dup(&end, ch, 0));
	KEEPS(gosync_unlink_flags(self->name, variant->flags));
	KEEPS(gosync_unlink_flags(self->name, variant->flags));
	KEEPS(gosync_unlink(self->name));
	KEEPS(gosync_unlink("/a/b"));
	gosync_chan_free(ch);
	test_new_name(self, variant->kernel);
	KEEPS(gosync_mutex_open(&m, self->name, O_RDWR | O_CREAT, 0600,
				variant->flags));
	ASSERT_NE(NULL, m);
	gosync_mutex_free(m);
}

/* ---------------------------------------------- kernel mode only -- */

#define KERNEL_ONLY() do {						\
	if (!variant->kernel)						\
		SKIP(return, "directional ends are kernel mode only");	\
} while (0)

/* Every operation @ch may not do fails with EBADF and changes nothing. */
static void test_forbidden(struct __test_metadata *_metadata,
			   struct gosync_chan *ch, struct gosync_chan *rw)
{
	bool recv_only = gosync_chan_flags(ch) & GOSYNC_RECV_ONLY;
	size_t len = gosync_chan_len(rw);
	uint64_t v[2] = { 9, 9 };
	struct gosync_case c = {
		.ch = ch, .op = recv_only ? GOSYNC_SEND : GOSYNC_RECV,
		.elem = v,
	};

	if (recv_only) {
		EXPECT_EQ(-EBADF, gosync_chan_send(ch, v, GOSYNC_NONBLOCK));
		EXPECT_EQ(-EBADF, gosync_chan_send(ch, v, test_ms(10)));
		EXPECT_EQ(-EBADF, gosync_chan_send_sync(ch, v, GOSYNC_NONBLOCK));
		EXPECT_EQ(-EBADF, gosync_chan_send_n(ch, v, 2, GOSYNC_NONBLOCK));
		EXPECT_EQ(-EBADF, gosync_chan_close(ch));
		/* The kernel refuses it too, on its own. */
		EXPECT_EQ(-1, write(gosync_chan_fd(ch), v, sizeof(v[0])));
	} else {
		EXPECT_EQ(-EBADF, gosync_chan_recv(ch, v, GOSYNC_NONBLOCK));
		EXPECT_EQ(-EBADF, gosync_chan_recv(ch, v, test_ms(10)));
		EXPECT_EQ(-EBADF, gosync_chan_recv_n(ch, v, 2, GOSYNC_NONBLOCK));
		EXPECT_EQ(-1, read(gosync_chan_fd(ch), v, sizeof(v[0])));
	}
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-EBADF, gosync_select(&c, 1, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EBADF, gosync_select(&c, 1, test_ms(10)));
	/* Nothing happened: the same length, not closed, elements intact. */
	EXPECT_EQ(len, gosync_chan_len(rw));
	EXPECT_EQ(9, v[0]);
	v[0] = 77;
	ASSERT_EQ(0, gosync_chan_send(rw, v, GOSYNC_NONBLOCK));
	EXPECT_EQ(len + 1, gosync_chan_len(rw));
}

TEST_F(nm, directional_ends_by_open)
{
	struct gosync_chan *rw = NULL, *r = NULL, *w = NULL, *from = NULL;
	uint64_t v = 1, got = 0;

	NEEDS_FS();
	KERNEL_ONLY();
	ASSERT_EQ(0, OPEN(&rw, O_RDWR | O_CREAT | O_EXCL, 0600, sizeof(v), 8));
	ASSERT_EQ(0, OPEN(&r, O_RDONLY, 0, 0, 0));
	ASSERT_EQ(0, OPEN(&w, O_WRONLY, 0, sizeof(v), 8));
	EXPECT_EQ(GOSYNC_RECV_ONLY | GOSYNC_NOMAP, gosync_chan_flags(r));
	EXPECT_EQ(GOSYNC_SEND_ONLY | GOSYNC_NOMAP, gosync_chan_flags(w));
	EXPECT_EQ(0, gosync_chan_flags(rw) &
		  (GOSYNC_SEND_ONLY | GOSYNC_RECV_ONLY | GOSYNC_NOMAP));
	EXPECT_EQ(sizeof(v), gosync_chan_elem_size(r));
	EXPECT_EQ(8, gosync_chan_cap(w));
	/* A directional end's fd: read-only or write-only. */
	EXPECT_EQ(O_RDONLY, fcntl(gosync_chan_fd(r), F_GETFL) & O_ACCMODE);
	EXPECT_EQ(O_WRONLY, fcntl(gosync_chan_fd(w), F_GETFL) & O_ACCMODE);

	ASSERT_EQ(0, gosync_chan_send(rw, &v, GOSYNC_NONBLOCK));
	test_forbidden(_metadata, r, rw);
	test_forbidden(_metadata, w, rw);

	/* What each may do works. */
	v = 2;
	ASSERT_EQ(0, gosync_chan_send(w, &v, GOSYNC_NONBLOCK));
	ASSERT_EQ(2, gosync_chan_send_n(w, (uint64_t[]){ 3, 4 }, 2,
					GOSYNC_NONBLOCK));
	ASSERT_EQ(1, gosync_chan_recv(r, &got, GOSYNC_NONBLOCK));
	EXPECT_EQ(1, got);
	/* gosync_chan_from_fd keeps the direction of the fd. */
	ASSERT_EQ(0, gosync_chan_from_fd(&from, gosync_chan_fd(r), 0));
	EXPECT_EQ(GOSYNC_RECV_ONLY | GOSYNC_NOMAP, gosync_chan_flags(from));
	EXPECT_EQ(-EBADF, gosync_chan_send(from, &v, GOSYNC_NONBLOCK));
	{
		uint64_t two[2];
		struct gosync_case c = { .ch = from, .op = GOSYNC_RECV,
					 .elem = &got };

		ASSERT_EQ(0, gosync_select(&c, 1, GOSYNC_NONBLOCK));
		EXPECT_EQ(77, got);
		ASSERT_EQ(2, gosync_chan_recv_n(from, two, 2, GOSYNC_NONBLOCK));
		EXPECT_EQ(77, two[0]);
		EXPECT_EQ(2, two[1]);
	}
	gosync_chan_free(from);
	/* A send-only end closes; the receivers drain, then see closed. */
	ASSERT_EQ(0, gosync_chan_close(w));
	EXPECT_EQ(-EPIPE, gosync_chan_send(rw, &v, GOSYNC_NONBLOCK));
	ASSERT_EQ(1, gosync_chan_recv(r, &got, GOSYNC_NONBLOCK));
	EXPECT_EQ(3, got);
	ASSERT_EQ(1, gosync_chan_recv(r, &got, GOSYNC_NONBLOCK));
	EXPECT_EQ(4, got);
	EXPECT_EQ(0, gosync_chan_recv(r, &got, GOSYNC_NONBLOCK));
	gosync_chan_free(r);
	gosync_chan_free(w);
	gosync_chan_free(rw);
}

TEST_F(nm, directional_ends_by_dup)
{
	struct gosync_chan *rw = NULL, *s = NULL, *r = NULL, *x = NULL;
	uint64_t v = 11, got = 0;

	NEEDS_FS();
	KERNEL_ONLY();
	ASSERT_EQ(0, OPEN(&rw, O_RDWR | O_CREAT | O_EXCL, 0600, sizeof(v), 4));
	EXPECT_EQ(-EINVAL, gosync_chan_dup(&s, rw, 0));
	EXPECT_EQ(-EINVAL, gosync_chan_dup(&s, rw, GOSYNC_SEND_ONLY |
					   GOSYNC_RECV_ONLY));
	EXPECT_EQ(-EINVAL, gosync_chan_dup(&s, rw, GOSYNC_SEND_ONLY |
					   GOSYNC_NOMAP));
	EXPECT_EQ(-EINVAL, gosync_chan_dup(&s, rw, GOSYNC_CLOEXEC));
	EXPECT_EQ(-EINVAL, gosync_chan_dup(NULL, rw, GOSYNC_SEND_ONLY));
	EXPECT_EQ(-EINVAL, gosync_chan_dup(&s, NULL, GOSYNC_SEND_ONLY));

	ASSERT_EQ(0, gosync_chan_dup(&s, rw, GOSYNC_SEND_ONLY));
	ASSERT_EQ(0, gosync_chan_dup(&r, rw, GOSYNC_RECV_ONLY | GOSYNC_CLOEXEC));
	EXPECT_EQ(GOSYNC_SEND_ONLY | GOSYNC_NOMAP, gosync_chan_flags(s));
	EXPECT_EQ(GOSYNC_RECV_ONLY | GOSYNC_NOMAP | GOSYNC_CLOEXEC,
		  gosync_chan_flags(r));
	EXPECT_NE(gosync_chan_fd(rw), gosync_chan_fd(s));
	/* A direction the handle lacks cannot be had from it. */
	EXPECT_EQ(-EBADF, gosync_chan_dup(&x, r, GOSYNC_SEND_ONLY));
	EXPECT_EQ(-EBADF, gosync_chan_dup(&x, s, GOSYNC_RECV_ONLY));
	ASSERT_EQ(0, gosync_chan_dup(&x, r, GOSYNC_RECV_ONLY));
	EXPECT_EQ(GOSYNC_RECV_ONLY | GOSYNC_NOMAP, gosync_chan_flags(x));
	gosync_chan_free(x);

	test_forbidden(_metadata, s, rw);
	test_forbidden(_metadata, r, rw);
	ASSERT_EQ(0, gosync_chan_send(s, &v, GOSYNC_NONBLOCK));
	ASSERT_EQ(1, gosync_chan_recv(rw, &got, GOSYNC_NONBLOCK));
	EXPECT_EQ(77, got);
	ASSERT_EQ(1, gosync_chan_recv(r, &got, GOSYNC_NONBLOCK));
	EXPECT_EQ(77, got);
	ASSERT_EQ(1, gosync_chan_recv(r, &got, GOSYNC_NONBLOCK));
	EXPECT_EQ(v, got);
	/* Unnamed channels have directional ends too. */
	gosync_chan_free(s);
	ASSERT_EQ(0, gosync_chan_make(&x, sizeof(v), 1, 0));
	ASSERT_EQ(0, gosync_chan_dup(&s, x, GOSYNC_SEND_ONLY));
	ASSERT_EQ(0, gosync_chan_send(s, &v, GOSYNC_FOREVER));
	ASSERT_EQ(1, gosync_chan_recv(x, &got, GOSYNC_FOREVER));
	gosync_chan_free(s);
	gosync_chan_free(x);
	gosync_chan_free(r);
	gosync_chan_free(rw);
}

TEST_F(nm, autoclose_flag)
{
	struct gosync_chan *rw = NULL, *r = NULL, *w = NULL, *x = NULL;
	uint64_t v = 5, got = 0;

	NEEDS_FS();
	KERNEL_ONLY();
	ASSERT_EQ(0, gosync_chan_make(&x, sizeof(v), 1, GOSYNC_AUTOCLOSE));
	EXPECT_TRUE(gosync_chan_flags(x) & GOSYNC_AUTOCLOSE);
	gosync_chan_free(x);
	ASSERT_EQ(0, gosync_chan_make(&x, sizeof(v), 1, 0));
	EXPECT_FALSE(gosync_chan_flags(x) & GOSYNC_AUTOCLOSE);
	gosync_chan_free(x);

	ASSERT_EQ(0, gosync_chan_open(&rw, self->name, O_RDWR | O_CREAT | O_EXCL,
				      0600, sizeof(v), 4, GOSYNC_AUTOCLOSE));
	EXPECT_TRUE(gosync_chan_flags(rw) & GOSYNC_AUTOCLOSE);
	ASSERT_EQ(0, OPEN(&r, O_RDONLY, 0, 0, 0));
	ASSERT_EQ(0, OPEN(&w, O_WRONLY, 0, 0, 0));
	EXPECT_EQ(GOSYNC_RECV_ONLY | GOSYNC_NOMAP | GOSYNC_AUTOCLOSE,
		  gosync_chan_flags(r));
	ASSERT_EQ(0, gosync_chan_send(w, &v, GOSYNC_NONBLOCK));
	/* Every end that can send is gone: the kernel closes it. */
	gosync_chan_free(w);
	gosync_chan_free(rw);
	ASSERT_EQ(1, gosync_chan_recv(r, &got, GOSYNC_NONBLOCK));
	EXPECT_EQ(v, got);
	EXPECT_EQ(0, gosync_chan_recv(r, &got, test_ms(2000)));
	gosync_chan_free(r);
}

/*
 * A container given a gosync mount but no /dev/gosync: the library takes
 * the mount's root for the device (it answers the same ioctls), so
 * anonymous objects and select work there too.  The child hides /dev
 * behind an empty tmpfs in a mount namespace of its own.
 */
TEST_F(nm, mount_stands_in_for_the_device)
{
	int st;
	pid_t pid;

	NEEDS_FS();
	if (!variant->kernel)
		SKIP(return, "kernel mode only");
	if (getenv("GOSYNC_DEVICE"))
		SKIP(return, "GOSYNC_DEVICE names the device");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct gosync_chan *ch;
		struct gosync_info info;
		uint64_t v = 5;
		struct gosync_case c = { .op = GOSYNC_RECV, .elem = &v };

		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", "/dev", "tmpfs", 0, NULL))
			_exit(20);
		if (!access("/dev/" GOSYNC_DEVICE_NAME, F_OK))
			_exit(21);
		if (gosync_info(&info) || !(info.features & GOSYNC_FEAT_NAMES))
			_exit(22);
		if (gosync_chan_make(&ch, sizeof(v), 1, 0))
			_exit(23);
		/* Kernel mode, for real: the fd is a kernel channel. */
		if (gosync_chan_flags(ch) & GOSYNC_STANDALONE)
			_exit(24);
		c.ch = ch;
		if (gosync_chan_send(ch, &v, GOSYNC_NONBLOCK) ||
		    gosync_select(&c, 1, test_ms(1000)) != 0 || v != 5)
			_exit(25);
		gosync_chan_free(ch);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
}

TEST_HARNESS_MAIN
