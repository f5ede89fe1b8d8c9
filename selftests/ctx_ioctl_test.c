// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The context ABI without the library: GOSYNC_IOC_CTX_CREATE and the
 * context's ioctls with each kind of bad input, the read-only page and
 * what the kernel writes on it, cancel trees, deadlines that fire with
 * everyone asleep, CANCEL_ON_EXIT, poll, a long chain freed and
 * cancelled without recursion, and everything charged coming back.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "gosync_test.h"
#include "chan_test.h"	/* test_send_fd(), test_recv_fd() */

static __s64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* GOSYNC_IOC_CTX_CREATE: the fd, or -errno. */
static int ctx_make(int dev, int parent, __s64 deadline, __u32 flags)
{
	struct gosync_ctx_create req = {
		.flags = flags | GOSYNC_CTX_CLOEXEC, .parent = parent,
		.deadline_ns = deadline,
	};

	return (int)gosync_test_ioctl(dev, GOSYNC_IOC_CTX_CREATE, &req);
}

static int ctx_cancel(int ctx, int cause)
{
	struct gosync_ctx_cancel req = { .cause = cause };

	return (int)gosync_test_ioctl(ctx, GOSYNC_CTX_IOC_CANCEL, &req);
}

static int ctx_info(int ctx, struct gosync_ctx_info *info)
{
	memset(info, 0, sizeof(*info));
	return (int)gosync_test_ioctl(ctx, GOSYNC_CTX_IOC_INFO, info);
}

static int ctx_done(int ctx, __u32 flags)
{
	struct gosync_ctx_done req = { .flags = flags | GOSYNC_CTX_CLOEXEC };

	return (int)gosync_test_ioctl(ctx, GOSYNC_CTX_IOC_DONE, &req);
}

/* The state and cause from INFO, as one number: state << 16 | cause. */
static int ctx_state(int ctx)
{
	struct gosync_ctx_info info;

	if (ctx_info(ctx, &info))
		return -1;
	return (int)(info.state << 16 | (__u32)info.cause);
}

#define DONE(err, cause)	((err) << 16 | (cause))

/* One receive from a done channel: 0 closed, -ETIMEDOUT, ... */
static long done_recv(int done, __s64 deadline)
{
	return gosync_test_xfer(done, GOSYNC_CHAN_IOC_RECV, NULL, 1, deadline, 0);
}

/*
 * What the module has charged, read until it is @objs0 and @bytes0 again
 * or a second has passed (the last close's fput may finish just after):
 * 0, or -1 when it cannot be read.
 */
static int charged_settle(unsigned long objs0, unsigned long bytes0,
			  unsigned long *objs, unsigned long *bytes)
{
	for (int i = 0; i < 100; i++) {
		if (gosync_test_charged(objs, bytes))
			return -1;
		if (*objs == objs0 && *bytes == bytes0)
			break;
		usleep(10000);
	}
	return 0;
}

FIXTURE(ctx) {
	int dev;
};

FIXTURE_SETUP(ctx)
{
	GOSYNC_OPEN_DEV(self->dev, O_RDWR);
	if (!(gosync_test_features() & GOSYNC_FEAT_CTX))
		SKIP(return, "the module has no contexts");
}

FIXTURE_TEARDOWN(ctx)
{
	close(self->dev);
}

TEST_F(ctx, create_bad_input)
{
	struct gosync_ctx_create req;
	int ch = gosync_test_chan_create(self->dev, 8, 1, GOSYNC_CHAN_CLOEXEC);

	ASSERT_LE(0, ch);
	for (int bit = 0; bit < 32; bit++) {
		if ((1U << bit) & GOSYNC_CTX_CREATE_FLAGS)
			continue;
		EXPECT_EQ(-EINVAL, ctx_make(self->dev, -1, GOSYNC_DEADLINE_FOREVER,
					    1U << bit)) TH_LOG("flag bit %d", bit);
	}
	EXPECT_EQ(-EINVAL, ctx_make(self->dev, -1, -1, 0));
	EXPECT_EQ(-EINVAL, ctx_make(self->dev, -1, INT64_MIN, 0));
	EXPECT_EQ(-EINVAL, ctx_make(self->dev, -2, GOSYNC_DEADLINE_FOREVER, 0));
	EXPECT_EQ(-EBADF, ctx_make(self->dev, 1000, GOSYNC_DEADLINE_FOREVER, 0));
	EXPECT_EQ(-EMEDIUMTYPE, ctx_make(self->dev, ch, GOSYNC_DEADLINE_FOREVER, 0));
	EXPECT_EQ(-EMEDIUMTYPE, ctx_make(self->dev, self->dev,
					 GOSYNC_DEADLINE_FOREVER, 0));
	memset(&req, 0, sizeof(req));
	req.parent = -1;
	req.deadline_ns = GOSYNC_DEADLINE_FOREVER;
	req.resv0 = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_CTX_CREATE, &req));
	req.resv0 = 0;
	req.resv[1] = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_CTX_CREATE, &req));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->dev, GOSYNC_IOC_CTX_CREATE, NULL));
	close(ch);
}

TEST_F(ctx, ctx_ioctls_bad_input)
{
	int c = ctx_make(self->dev, -1, GOSYNC_DEADLINE_FOREVER, 0);
	struct gosync_ctx_cancel cr;
	struct gosync_ctx_info info;
	struct gosync_ctx_done dr;

	ASSERT_LE(0, c);
	EXPECT_EQ(-EINVAL, ctx_cancel(c, -1));
	EXPECT_EQ(-EINVAL, ctx_cancel(c, 4096));
	EXPECT_EQ(-EINVAL, ctx_cancel(c, INT32_MIN));
	memset(&cr, 0, sizeof(cr));
	cr.flags = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(c, GOSYNC_CTX_IOC_CANCEL, &cr));
	cr.flags = 0;
	cr.resv = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(c, GOSYNC_CTX_IOC_CANCEL, &cr));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(c, GOSYNC_CTX_IOC_CANCEL, NULL));
	memset(&info, 0, sizeof(info));
	info.flags = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(c, GOSYNC_CTX_IOC_INFO, &info));
	info.flags = 0;
	info.resv1 = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(c, GOSYNC_CTX_IOC_INFO, &info));
	info.resv1 = 0;
	info.resv0 = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(c, GOSYNC_CTX_IOC_INFO, &info));
	for (int bit = 0; bit < 32; bit++) {
		if ((1U << bit) & GOSYNC_CTX_DONE_FLAGS)
			continue;
		memset(&dr, 0, sizeof(dr));
		dr.flags = 1U << bit;
		EXPECT_EQ(-EINVAL, gosync_test_ioctl(c, GOSYNC_CTX_IOC_DONE, &dr))
			TH_LOG("flag bit %d", bit);
	}
	memset(&dr, 0, sizeof(dr));
	dr.resv[0] = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(c, GOSYNC_CTX_IOC_DONE, &dr));
	EXPECT_EQ(-ENOTTY, gosync_test_ioctl(c, GOSYNC_CHAN_IOC_CLOSE, NULL));
	/* nothing above cancelled it */
	EXPECT_EQ(0, ctx_state(c));
	close(c);
}

TEST_F(ctx, page_is_read_only_and_kernel_written)
{
	__s64 dl = now_ns() + 3600 * 1000000000LL;
	int c = ctx_make(self->dev, -1, dl, 0);
	struct gosync_sync_header *hdr;
	struct gosync_ctx_words *w;
	struct gosync_ctx_info info;
	void *p;

	ASSERT_LE(0, c);
	ASSERT_EQ(0, ctx_info(c, &info));
	EXPECT_EQ(GOSYNC_SYNC_SIZE, info.map_size);
	EXPECT_EQ(dl, info.deadline_ns);
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(0, info.cause);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, info.map_size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, c, 0));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, info.map_size, PROT_READ, MAP_PRIVATE, c, 0));
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, info.map_size, PROT_READ, MAP_SHARED, c, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %m");
	EXPECT_EQ(-1, mprotect(p, info.map_size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	hdr = p;
	EXPECT_EQ(GOSYNC_SYNC_MAGIC, hdr->magic);
	EXPECT_EQ(GOSYNC_KIND_CTX, hdr->kind);
	EXPECT_EQ(GOSYNC_ABI_VERSION, hdr->abi_version);
	w = (void *)((char *)p + info.off_words);
	EXPECT_EQ(0, __atomic_load_n(&w->state, __ATOMIC_ACQUIRE));
	EXPECT_EQ(dl, w->deadline_ns);
	EXPECT_EQ(0, ctx_cancel(c, EPIPE));
	EXPECT_EQ(ECANCELED, __atomic_load_n(&w->state, __ATOMIC_ACQUIRE));
	EXPECT_EQ(EPIPE, w->cause);
	/* the mapping outlives the fd, and keeps the object */
	close(c);
	EXPECT_EQ(ECANCELED, w->state);
	munmap(p, GOSYNC_SYNC_SIZE);
}

TEST_F(ctx, cancel_reaches_descendants_only_and_first_cause_wins)
{
	int root = ctx_make(self->dev, -1, GOSYNC_DEADLINE_FOREVER, 0);
	int a = ctx_make(self->dev, root, GOSYNC_DEADLINE_FOREVER, 0);
	int b = ctx_make(self->dev, root, GOSYNC_DEADLINE_FOREVER, 0);
	int g = ctx_make(self->dev, a, GOSYNC_DEADLINE_FOREVER, 0);
	int gg = ctx_make(self->dev, g, GOSYNC_DEADLINE_FOREVER, 0);
	int bg = ctx_make(self->dev, b, GOSYNC_DEADLINE_FOREVER, 0);
	int dg, db, late;

	ASSERT_LE(0, root);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, g);
	ASSERT_LE(0, gg);
	ASSERT_LE(0, bg);
	dg = ctx_done(gg, 0);
	db = ctx_done(bg, GOSYNC_CTX_DONE_NONBLOCK);
	ASSERT_LE(0, dg);
	ASSERT_LE(0, db);
	EXPECT_EQ(-ETIMEDOUT, done_recv(dg, now_ns() + 10000000));
	/* the middle's fd goes first: its children keep it in the tree */
	close(g);
	EXPECT_EQ(0, ctx_cancel(a, EPIPE));
	EXPECT_EQ(DONE(ECANCELED, EPIPE), ctx_state(a));
	EXPECT_EQ(DONE(ECANCELED, EPIPE), ctx_state(gg));
	EXPECT_EQ(0, done_recv(dg, GOSYNC_DEADLINE_FOREVER));
	EXPECT_EQ(0, done_recv(dg, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(0, ctx_state(root));
	EXPECT_EQ(0, ctx_state(b));
	EXPECT_EQ(0, ctx_state(bg));
	EXPECT_EQ(-EAGAIN, done_recv(db, GOSYNC_DEADLINE_NONBLOCK));
	/* again, with another cause, on it and on a descendant */
	EXPECT_EQ(-EALREADY, ctx_cancel(a, EIO));
	EXPECT_EQ(-EALREADY, ctx_cancel(gg, 0));
	EXPECT_EQ(DONE(ECANCELED, EPIPE), ctx_state(gg));
	/* born under a cancelled parent: done, with the parent's cause */
	late = ctx_make(self->dev, gg, GOSYNC_DEADLINE_FOREVER, 0);
	ASSERT_LE(0, late);
	EXPECT_EQ(DONE(ECANCELED, EPIPE), ctx_state(late));
	/* 0: ECANCELED as the cause */
	EXPECT_EQ(0, ctx_cancel(root, 0));
	EXPECT_EQ(DONE(ECANCELED, ECANCELED), ctx_state(bg));
	EXPECT_EQ(DONE(ECANCELED, EPIPE), ctx_state(a));
	EXPECT_EQ(0, done_recv(db, GOSYNC_DEADLINE_NONBLOCK));
	/* nobody can send on a done channel, nor close it */
	EXPECT_EQ(-EBADF, gosync_test_xfer(db, GOSYNC_CHAN_IOC_SEND, NULL, 1,
					   GOSYNC_DEADLINE_NONBLOCK, 0));
	EXPECT_EQ(-EBADF, gosync_test_ioctl(db, GOSYNC_CHAN_IOC_CLOSE, NULL));
	close(late);
	close(dg);
	close(db);
	close(root);
	close(a);
	close(b);
	close(gg);
	close(bg);
}

TEST_F(ctx, deadline_fires_with_everyone_asleep)
{
	__s64 t0 = now_ns(), dl = t0 + 50000000;
	int c = ctx_make(self->dev, -1, dl, 0);
	int later = ctx_make(self->dev, c, dl + 3600 * 1000000000LL, 0);
	int sooner = ctx_make(self->dev, c, dl - 20000000, 0);
	struct gosync_ctx_info info;
	int d, dl2;

	ASSERT_LE(0, c);
	ASSERT_LE(0, later);
	ASSERT_LE(0, sooner);
	ASSERT_EQ(0, ctx_info(later, &info));
	EXPECT_EQ(dl, info.deadline_ns);	/* capped at the parent's */
	ASSERT_EQ(0, ctx_info(sooner, &info));
	EXPECT_EQ(dl - 20000000, info.deadline_ns);
	d = ctx_done(c, 0);
	dl2 = ctx_done(later, 0);
	ASSERT_LE(0, d);
	ASSERT_LE(0, dl2);
	/* asleep in the kernel, no deadline of its own: the timer ends it */
	EXPECT_EQ(0, done_recv(d, GOSYNC_DEADLINE_FOREVER));
	EXPECT_LE(dl, now_ns());
	EXPECT_EQ(DONE(ETIMEDOUT, ETIMEDOUT), ctx_state(c));
	EXPECT_EQ(0, done_recv(dl2, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(DONE(ETIMEDOUT, ETIMEDOUT), ctx_state(later));
	EXPECT_EQ(DONE(ETIMEDOUT, ETIMEDOUT), ctx_state(sooner));
	EXPECT_EQ(-EALREADY, ctx_cancel(c, 0));
	close(d);
	close(dl2);
	close(c);
	close(later);
	close(sooner);
}

TEST_F(ctx, past_deadline_is_born_done)
{
	int c = ctx_make(self->dev, -1, 0, 0);
	int k;

	ASSERT_LE(0, c);
	EXPECT_EQ(DONE(ETIMEDOUT, ETIMEDOUT), ctx_state(c));
	k = ctx_make(self->dev, c, GOSYNC_DEADLINE_FOREVER, 0);
	ASSERT_LE(0, k);
	EXPECT_EQ(DONE(ETIMEDOUT, ETIMEDOUT), ctx_state(k));
	close(k);
	close(c);
}

TEST_F(ctx, poll_says_done)
{
	int c = ctx_make(self->dev, -1, GOSYNC_DEADLINE_FOREVER, 0);
	struct pollfd p[2];

	ASSERT_LE(0, c);
	p[0] = (struct pollfd){ .fd = c, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = ctx_done(c, 0), .events = POLLIN };
	ASSERT_LE(0, p[1].fd);
	EXPECT_EQ(0, poll(p, 2, 10));
	if (fork() == 0) {
		usleep(50000);
		_exit(ctx_cancel(c, 0) ? 1 : 0);
	}
	EXPECT_EQ(1, poll(p, 1, 10000));
	EXPECT_TRUE(p[0].revents & POLLIN);
	EXPECT_LE(1, poll(p + 1, 1, 0));
	EXPECT_TRUE(p[1].revents & (POLLIN | POLLHUP));
	EXPECT_EQ(0, done_recv(p[1].fd, GOSYNC_DEADLINE_NONBLOCK));
	wait(NULL);
	close(p[1].fd);
	close(c);
}

TEST_F(ctx, cancel_from_another_process_wakes_a_waiter)
{
	int c = ctx_make(self->dev, -1, GOSYNC_DEADLINE_FOREVER, 0);
	int k = ctx_make(self->dev, c, GOSYNC_DEADLINE_FOREVER, 0);
	int st;
	pid_t pid;

	ASSERT_LE(0, c);
	ASSERT_LE(0, k);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int d = ctx_done(k, 0);

		if (d < 0 || done_recv(d, now_ns() + 20 * 1000000000LL))
			_exit(1);
		_exit(ctx_state(k) == DONE(ECANCELED, ENOLINK) ? 0 : 2);
	}
	usleep(100000);
	EXPECT_EQ(0, ctx_cancel(c, ENOLINK));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("status %#x", st);
	close(k);
	close(c);
}

static void *idle_thread(void *arg)
{
	pause();
	return arg;
}

/*
 * The maker is killed (@threads: with a second thread alive): a context
 * it made with CANCEL_ON_EXIT is cancelled, cause ESRCH, and a child
 * context of it with it; a forked child of the maker exiting does not.
 */
static void cancel_on_exit(struct __test_metadata *_metadata, int dev,
			   bool threads)
{
	int sv[2], c, d, k, st;
	pid_t maker, kid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	maker = fork();
	ASSERT_LE(0, maker);
	if (maker == 0) {
		pthread_t t;

		if (threads && pthread_create(&t, NULL, idle_thread, NULL))
			_exit(1);
		c = ctx_make(dev, -1, GOSYNC_DEADLINE_FOREVER,
			     GOSYNC_CTX_CANCEL_ON_EXIT);
		if (c < 0)
			_exit(2);
		/* a child of ours that exits is not us */
		kid = fork();
		if (kid == 0)
			_exit(0);
		waitpid(kid, NULL, 0);
		if (ctx_state(c) != 0 || test_send_fd(sv[1], c))
			_exit(3);
		pause();
		_exit(4);
	}
	c = test_recv_fd(sv[0]);
	ASSERT_LE(0, c);
	k = ctx_make(dev, c, GOSYNC_DEADLINE_FOREVER, 0);
	ASSERT_LE(0, k);
	d = ctx_done(k, 0);
	ASSERT_LE(0, d);
	EXPECT_EQ(0, ctx_state(c));
	EXPECT_EQ(-ETIMEDOUT, done_recv(d, now_ns() + 50000000));
	kill(maker, SIGKILL);
	/* asleep on a descendant's done: the maker's death ends it */
	EXPECT_EQ(0, done_recv(d, now_ns() + 10 * 1000000000LL));
	EXPECT_EQ(DONE(ECANCELED, ESRCH), ctx_state(c));
	EXPECT_EQ(DONE(ECANCELED, ESRCH), ctx_state(k));
	ASSERT_EQ(maker, waitpid(maker, &st, 0));
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) TH_LOG("status %#x", st);
	close(d);
	close(k);
	close(c);
	close(sv[0]);
	close(sv[1]);
}

TEST_F(ctx, cancel_on_exit_of_a_killed_maker)
{
	cancel_on_exit(_metadata, self->dev, false);
}

TEST_F(ctx, cancel_on_exit_of_a_killed_threaded_maker)
{
	cancel_on_exit(_metadata, self->dev, true);
}

/* The maker exits by itself, before anyone else has the fd: no trace left. */
TEST_F(ctx, cancel_on_exit_maker_alone)
{
	unsigned long objs0, bytes0, objs, bytes;
	int st;
	pid_t pid;

	if (gosync_test_charged(&objs0, &bytes0))
		SKIP(return, "no debugfs limits");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(ctx_make(self->dev, -1, GOSYNC_DEADLINE_FOREVER,
			       GOSYNC_CTX_CANCEL_ON_EXIT) < 0);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, st);
	/* a context goes with its last fd's delayed fput: a moment */
	ASSERT_EQ(0, charged_settle(objs0, bytes0, &objs, &bytes));
	EXPECT_EQ(objs0, objs);
	EXPECT_EQ(bytes0, bytes);
}

/*
 * A chain of contexts far deeper than any kernel stack could recurse:
 * cancelled from the root, then freed from the leaf up (each holds its
 * parent), with the limits raised for it.
 */
#define CHAIN	3000

static int set_param(const char *name, unsigned long v, unsigned long *old)
{
	char path[128], buf[32];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/gosync/parameters/%s", name);
	f = fopen(path, "r+");
	if (!f)
		return -1;
	if (old && fscanf(f, "%lu", old) != 1) {
		fclose(f);
		return -1;
	}
	rewind(f);
	snprintf(buf, sizeof(buf), "%lu\n", v);
	fputs(buf, f);
	return fclose(f) ? -1 : 0;
}

TEST_F(ctx, long_chain_cancelled_and_freed)
{
	unsigned long objs0, bytes0, objs, bytes, oldmax;
	static int fds[CHAIN];
	int d;

	if (gosync_test_charged(&objs0, &bytes0) ||
	    set_param("max_user_objects", 4 * CHAIN, &oldmax))
		SKIP(return, "no debugfs limits or module parameters");
	fds[0] = ctx_make(self->dev, -1, GOSYNC_DEADLINE_FOREVER, 0);
	ASSERT_LE(0, fds[0]);
	for (int i = 1; i < CHAIN; i++) {
		fds[i] = ctx_make(self->dev, fds[i - 1], GOSYNC_DEADLINE_FOREVER, 0);
		ASSERT_LE(0, fds[i]) TH_LOG("context %d", i);
		/* only the leaf and the root keep fds: the rest live on refs */
		if (i > 1)
			close(fds[i - 1]);
	}
	d = ctx_done(fds[CHAIN - 1], 0);
	ASSERT_LE(0, d);
	EXPECT_EQ(0, ctx_cancel(fds[0], EXFULL));
	EXPECT_EQ(0, done_recv(d, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(DONE(ECANCELED, EXFULL), ctx_state(fds[CHAIN - 1]));
	close(d);
	close(fds[0]);
	close(fds[CHAIN - 1]);
	ASSERT_EQ(0, gosync_test_charged(&objs, &bytes));
	EXPECT_EQ(objs0, objs);
	EXPECT_EQ(bytes0, bytes);
	set_param("max_user_objects", oldmax, NULL);
}

/*
 * Only done fds left: each holds the context, so its deadline still
 * closes the done channel, and so does the exit of a CANCEL_ON_EXIT
 * maker that sent nothing but a done fd (its own fds close before its
 * exit is noticed).  Then nothing is left charged.
 */
TEST_F(ctx, done_fds_alone_keep_the_context)
{
	unsigned long objs0, bytes0, objs, bytes;
	int sv[2], c, d, d2, st;
	pid_t pid;

	if (gosync_test_charged(&objs0, &bytes0))
		SKIP(return, "no debugfs limits");
	c = ctx_make(self->dev, -1, now_ns() + 100000000, 0);
	ASSERT_LE(0, c);
	d = ctx_done(c, 0);
	ASSERT_LE(0, d);
	d2 = gosync_test_dup(d, GOSYNC_DUP_RECV_ONLY | GOSYNC_DUP_CLOEXEC);
	ASSERT_LE(0, d2);
	close(c);
	close(d);
	EXPECT_EQ(0, done_recv(d2, now_ns() + 10 * 1000000000LL));
	close(d2);

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		c = ctx_make(self->dev, -1, GOSYNC_DEADLINE_FOREVER,
			     GOSYNC_CTX_CANCEL_ON_EXIT);
		d = c < 0 ? -1 : ctx_done(c, 0);
		if (d < 0 || test_send_fd(sv[1], d))
			_exit(1);
		_exit(0);
	}
	d = test_recv_fd(sv[0]);
	ASSERT_LE(0, d);
	EXPECT_EQ(0, done_recv(d, now_ns() + 10 * 1000000000LL));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, st);
	close(d);
	close(sv[0]);
	close(sv[1]);
	/* a context goes with its last fd's delayed fput: a moment */
	ASSERT_EQ(0, charged_settle(objs0, bytes0, &objs, &bytes));
	EXPECT_EQ(objs0, objs);
	EXPECT_EQ(bytes0, bytes);
}

/* A child whose deadline is its parent's times out only with the parent. */
TEST_F(ctx, capped_deadline_follows_the_parent)
{
	__s64 dl = now_ns() + 60000000;
	int p = ctx_make(self->dev, -1, dl, 0);
	int k = ctx_make(self->dev, p, GOSYNC_DEADLINE_FOREVER, 0);
	int same = ctx_make(self->dev, p, dl, 0);
	int d;

	ASSERT_LE(0, p);
	ASSERT_LE(0, k);
	ASSERT_LE(0, same);
	/* cancelled before the deadline: the children are cancelled, not timed out */
	EXPECT_EQ(0, ctx_cancel(p, EPIPE));
	d = ctx_done(k, 0);
	ASSERT_LE(0, d);
	usleep(120000);
	EXPECT_EQ(DONE(ECANCELED, EPIPE), ctx_state(k));
	EXPECT_EQ(DONE(ECANCELED, EPIPE), ctx_state(same));
	EXPECT_EQ(0, done_recv(d, GOSYNC_DEADLINE_NONBLOCK));
	close(d);
	close(k);
	close(same);
	close(p);
}

/* Deadlines and cancels racing the last close: the timer and works die first. */
static void *cancel_loop(void *arg)
{
	int *fd = arg;

	for (int i = 0; i < 2000; i++)
		ctx_cancel(__atomic_load_n(fd, __ATOMIC_RELAXED), i % 4096);
	return NULL;
}

TEST_F(ctx, timers_and_cancels_race_close)
{
	unsigned long objs0, bytes0, objs, bytes;
	pthread_t t;
	int cur = -1;

	if (gosync_test_charged(&objs0, &bytes0))
		SKIP(return, "no debugfs limits");
	ASSERT_EQ(0, pthread_create(&t, NULL, cancel_loop, &cur));
	for (int i = 0; i < 300; i++) {
		int c = ctx_make(self->dev, -1, now_ns() + (i % 7) * 100000, 0);
		int k = ctx_make(self->dev, c, now_ns() + (i % 5) * 100000,
				 i % 2 ? GOSYNC_CTX_CANCEL_ON_EXIT : 0);

		ASSERT_LE(0, c);
		ASSERT_LE(0, k);
		__atomic_store_n(&cur, i % 2 ? c : k, __ATOMIC_RELAXED);
		if (i % 3)
			usleep(i % 500);
		close(c);
		close(k);
	}
	pthread_join(t, NULL);
	ASSERT_EQ(0, gosync_test_charged(&objs, &bytes));
	EXPECT_EQ(objs0, objs);
	EXPECT_EQ(bytes0, bytes);
}

static int ctx_make_value(int dev, int parent, const char *key, const void *val,
			  __u32 val_len)
{
	struct gosync_ctx_create req = {
		.flags = GOSYNC_CTX_CLOEXEC, .parent = parent,
		.deadline_ns = GOSYNC_DEADLINE_FOREVER,
		.key = (uintptr_t)key, .key_len = key ? strlen(key) : 0,
		.val = (uintptr_t)val, .val_len = val_len,
	};

	return (int)gosync_test_ioctl(dev, GOSYNC_IOC_CTX_CREATE, &req);
}

/*
 * Look @key up on @ctx's page as a reader must (the last record wins):
 * its length, with the value in @buf; -1 when absent or malformed.
 */
static int page_value(int ctx, const char *key, char *buf, size_t size)
{
	const char *p = mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ, MAP_SHARED, ctx, 0);
	const struct gosync_ctx_words *w;
	__u32 off = 0, len;
	int found = -1;

	if (p == MAP_FAILED)
		return -1;
	w = (const void *)(p + GOSYNC_SYNC_OFF_WORDS);
	len = w->values_len;
	while (len <= GOSYNC_CTX_VALUES_MAX && off + 4 <= len) {
		const struct gosync_ctx_value *r = (const void *)(p + GOSYNC_CTX_OFF_VALUES + off);
		const char *k = (const char *)(r + 1);

		if (off + 4 + r->key_len + r->val_len > len)
			break;
		if (r->key_len == strlen(key) && !memcmp(k, key, r->key_len) &&
		    r->val_len <= size) {
			memcpy(buf, k + r->key_len, r->val_len);
			found = r->val_len;
		}
		off += (4 + r->key_len + r->val_len + 3) & ~3U;
	}
	munmap((void *)p, GOSYNC_SYNC_SIZE);
	return found;
}

TEST_F(ctx, values_inherited_shadowed_and_seen_by_another_process)
{
	int root = ctx_make_value(self->dev, -1, "request-id", "r-42", 4);
	int plain, trace, shadow, st;
	char buf[64];
	pid_t pid;

	ASSERT_LE(0, root);
	plain = ctx_make(self->dev, root, GOSYNC_DEADLINE_FOREVER, 0);
	ASSERT_LE(0, plain);
	trace = ctx_make_value(self->dev, plain, "trace", "t\0x", 3);
	ASSERT_LE(0, trace);
	shadow = ctx_make_value(self->dev, trace, "request-id", "r-43", 4);
	ASSERT_LE(0, shadow);
	{
		struct gosync_ctx_info info;

		ASSERT_EQ(0, ctx_info(trace, &info));
		EXPECT_EQ(GOSYNC_CTX_OFF_VALUES, info.off_values);
		/* two records: 4 + 10 + 4, 4 + 5 + 3 (padded to 4 each) */
		EXPECT_EQ(20 + 12, info.values_len);
	}
	EXPECT_EQ(4, page_value(plain, "request-id", buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "r-42", 4));
	EXPECT_EQ(-1, page_value(plain, "trace", buf, sizeof(buf)));
	EXPECT_EQ(-1, page_value(root, "trace", buf, sizeof(buf)));
	EXPECT_EQ(3, page_value(trace, "trace", buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "t\0x", 3));
	/* the parent's value, in a process that only has the fd */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (page_value(shadow, "request-id", buf, sizeof(buf)) != 4 ||
		    memcmp(buf, "r-43", 4))
			_exit(1);
		if (page_value(shadow, "trace", buf, sizeof(buf)) != 3)
			_exit(2);
		_exit(page_value(shadow, "absent", buf, sizeof(buf)) == -1 ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, st);
	/* an empty value is a value */
	close(plain);
	plain = ctx_make_value(self->dev, shadow, "empty", NULL, 0);
	ASSERT_LE(0, plain);
	EXPECT_EQ(0, page_value(plain, "empty", buf, sizeof(buf)));
	close(plain);
	close(root);
	close(trace);
	close(shadow);
}

TEST_F(ctx, values_bad_input_and_full)
{
	static char big[GOSYNC_CTX_VAL_MAX + 1], key[GOSYNC_CTX_KEY_MAX + 2];
	unsigned long objs0, bytes0, objs, bytes;
	struct gosync_ctx_create req;
	int fds[8], n = 0, c;

	memset(key, 'k', sizeof(key) - 1);
	EXPECT_EQ(-EINVAL, ctx_make_value(self->dev, -1, key, "v", 1));
	key[GOSYNC_CTX_KEY_MAX] = 0;
	c = ctx_make_value(self->dev, -1, key, "v", 1);
	EXPECT_LE(0, c);
	close(c);
	EXPECT_EQ(-EINVAL, ctx_make_value(self->dev, -1, "", "v", 1));
	EXPECT_EQ(-EINVAL, ctx_make_value(self->dev, -1, "k", big, sizeof(big)));
	memset(&req, 0, sizeof(req));
	req.parent = -1;
	req.deadline_ns = GOSYNC_DEADLINE_FOREVER;
	req.key_len = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_CTX_CREATE, &req));
	req.key_len = 0;
	req.val_len = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_CTX_CREATE, &req));
	req.val_len = 0;
	req.val = (uintptr_t)big;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_CTX_CREATE, &req));
	if (gosync_test_charged(&objs0, &bytes0))
		SKIP(return, "no debugfs limits");
	req.val = (uintptr_t)"v";
	req.val_len = 1;
	req.key = 8;
	req.key_len = 1;
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->dev, GOSYNC_IOC_CTX_CREATE, &req));
	req.val = 8;
	req.val_len = 4;
	req.key = (uintptr_t)"k";
	req.key_len = 1;
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->dev, GOSYNC_IOC_CTX_CREATE, &req));
	/* fill the page: each level adds ~2 KiB; the second one no longer fits */
	fds[n] = ctx_make_value(self->dev, -1, "a", big, GOSYNC_CTX_VAL_MAX - 8);
	ASSERT_LE(0, fds[n]);
	n++;
	EXPECT_EQ(-E2BIG, ctx_make_value(self->dev, fds[0], "b", big,
					 GOSYNC_CTX_VAL_MAX));
	/* a child with no value of its own still fits */
	fds[n] = ctx_make(self->dev, fds[0], GOSYNC_DEADLINE_FOREVER, 0);
	ASSERT_LE(0, fds[n]);
	n++;
	while (n--)
		close(fds[n]);
	ASSERT_EQ(0, gosync_test_charged(&objs, &bytes));
	EXPECT_EQ(objs0, objs);
	EXPECT_EQ(bytes0, bytes);
}

/*
 * A context by name: a root with no deadline; open(2) of the name gives
 * its fd (O_RDONLY watches: no cancel, a read-only mapping; O_RDWR
 * cancels); children of it by fd; unlink leaves what is open; the mount
 * counts it.
 */
TEST(named_context)
{
	char dir[64], path[96];
	struct gosync_open o;
	int root, c, ro, rw, k, d, st;
	void *p;
	pid_t pid;

	GOSYNC_NEED_NAMES(return);
	if (!(gosync_test_features() & GOSYNC_FEAT_CTX))
		SKIP(return, "the module has no contexts");
	ASSERT_EQ(0, gosync_test_mount(dir, "max=2"));
	root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, root);
	c = gosync_test_open(root, "job", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
			     0640, GOSYNC_KIND_CTX, 0, 0, 0, &o);
	ASSERT_LE(0, c);
	EXPECT_EQ(GOSYNC_KIND_CTX, o.kind);
	EXPECT_TRUE(o.flags & GOSYNC_OPEN_CREATED);
	EXPECT_EQ(0, ctx_state(c));
	/* a context has no shape and no auto-close */
	EXPECT_EQ(-EINVAL, gosync_test_open(root, "x", O_CREAT | O_RDWR, 0600,
					    GOSYNC_KIND_CTX, 8, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, gosync_test_open(root, "x", O_CREAT | O_RDWR, 0600,
					    GOSYNC_KIND_CTX + 1, 0, 0, 0, NULL));
	EXPECT_EQ(-EMEDIUMTYPE, gosync_test_open(root, "job", O_RDWR, 0,
						 GOSYNC_KIND_CHAN, 0, 0, 0, NULL));
	snprintf(path, sizeof(path), "%s/job", dir);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EBADF, ctx_cancel(ro, 0));
	p = mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ, MAP_SHARED, ro, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap of an O_RDONLY name: %m");
	EXPECT_EQ(MAP_FAILED, mmap(NULL, GOSYNC_SYNC_SIZE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, ro, 0));
	EXPECT_EQ(EACCES, errno);
	/* a child made from the watcher's fd, waited on in another process */
	k = ctx_make(root, ro, GOSYNC_DEADLINE_FOREVER, 0);
	ASSERT_LE(0, k);
	/* max=2: the mount counts named contexts (not anonymous children) */
	rw = gosync_test_open(root, "y", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
			      0600, GOSYNC_KIND_CTX, 0, 0, 0, NULL);
	ASSERT_LE(0, rw);
	EXPECT_EQ(-ENOSPC, gosync_test_open(root, "z", O_CREAT | O_RDWR, 0600,
					    GOSYNC_KIND_CTX, 0, 0, 0, NULL));
	close(rw);
	EXPECT_EQ(0, unlinkat(root, "y", 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int rw2 = open(path, O_RDWR | O_CLOEXEC);

		if (rw2 < 0)
			_exit(1);
		usleep(50000);
		_exit(ctx_cancel(rw2, EOWNERDEAD) ? 2 : 0);
	}
	d = ctx_done(k, 0);
	ASSERT_LE(0, d);
	EXPECT_EQ(0, done_recv(d, now_ns() + 10 * 1000000000LL));
	EXPECT_EQ(DONE(ECANCELED, EOWNERDEAD), ctx_state(k));
	EXPECT_EQ(ECANCELED, ((struct gosync_ctx_words *)((char *)p +
			      GOSYNC_SYNC_OFF_WORDS))->state);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, st);
	/* unlink: the name goes, the object stays for who has it */
	EXPECT_EQ(0, unlink(path));
	EXPECT_EQ(DONE(ECANCELED, EOWNERDEAD), ctx_state(ro));
	rw = open(path, O_RDWR | O_CLOEXEC);
	EXPECT_EQ(-1, rw);
	munmap(p, GOSYNC_SYNC_SIZE);
	close(d);
	close(k);
	close(ro);
	close(c);
	close(root);
	EXPECT_EQ(0, gosync_test_umount(dir));
}

TEST_HARNESS_MAIN
