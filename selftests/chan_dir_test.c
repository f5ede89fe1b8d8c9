// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Directional ends (GOSYNC_FEAT_NAMES), made both ways: by
 * GOSYNC_CHAN_IOC_DUP and by open(2) of a name O_RDONLY / O_WRONLY.
 * Every operation an end cannot do fails with EBADF on every path
 * (SEND, RECV and CLOSE ioctls, read(2)/write(2), a select case, an
 * io_uring command) before anything happens: the channel's length and
 * closed state are unchanged and a select with a good case beside the
 * bad one takes nothing.  mmap is EACCES.  What an end can do works.
 * INFO reports NOSEND / NORECV; DUP's flags are checked, and an end only
 * narrows (a direction the fd lacks is EBADF).
 */
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "gosync_test.h"

FIXTURE(dir) {
	char mnt[64];
	int dev, ch, r, w;	/* the two-way fd, a receive-only and a send-only end */
	bool ok;
	struct io_uring ring;
	bool ring_ok;
};

FIXTURE_VARIANT(dir) {
	bool named;		/* ends by open(2) of a name, not by DUP */
};

FIXTURE_VARIANT_ADD(dir, dup) { .named = false };
FIXTURE_VARIANT_ADD(dir, named) { .named = true };

FIXTURE_SETUP(dir)
{
	char path[128];

	self->dev = self->ch = self->r = self->w = -1;
	GOSYNC_NEED_NAMES(return);
	GOSYNC_OPEN_DEV(self->dev, O_RDWR);
	if (variant->named) {
		int root;

		ASSERT_EQ(0, gosync_test_mount(self->mnt, NULL));
		root = open(self->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ASSERT_LE(0, root);
		self->ch = gosync_test_mkchan(root, "c", 0600, 8, 4, 0);
		close(root);
		ASSERT_LE(0, self->ch);
		snprintf(path, sizeof(path), "%s/c", self->mnt);
		self->r = open(path, O_RDONLY | O_CLOEXEC);
		self->w = open(path, O_WRONLY | O_CLOEXEC);
	} else {
		self->ch = gosync_test_chan_create(self->dev, 8, 4, GOSYNC_CHAN_CLOEXEC);
		ASSERT_LE(0, self->ch);
		self->r = gosync_test_dup(self->ch, GOSYNC_DUP_RECV_ONLY | GOSYNC_DUP_CLOEXEC);
		self->w = gosync_test_dup(self->ch, GOSYNC_DUP_SEND_ONLY | GOSYNC_DUP_CLOEXEC);
	}
	ASSERT_LE(0, self->r);
	ASSERT_LE(0, self->w);
	ASSERT_EQ(0, io_uring_queue_init(8, &self->ring, 0));
	self->ring_ok = true;
	self->ok = true;
}

FIXTURE_TEARDOWN(dir)
{
	char path[128];

	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	if (self->r >= 0)
		close(self->r);
	if (self->w >= 0)
		close(self->w);
	if (self->ch >= 0)
		close(self->ch);
	if (self->dev >= 0)
		close(self->dev);
	if (self->mnt[0]) {
		snprintf(path, sizeof(path), "%s/c", self->mnt);
		unlink(path);
		EXPECT_EQ(0, gosync_test_umount(self->mnt));
	}
}

#define DIR_READY() do { if (!self->ok) return; } while (0)

static long xfer(int fd, unsigned long cmd, uint64_t *v, __u32 n, __s64 dl)
{
	return gosync_test_xfer(fd, cmd, v, n, dl, 0);
}

/* One io_uring command on @fd: its CQE's res (or -1000 - error). */
static int uring_cmd(struct io_uring *ring, int fd, __u32 op, uint64_t *elem,
		     __s64 deadline)
{
	struct gosync_uring_cmd cmd = { .elem = (uintptr_t)elem,
					.deadline_ns = deadline };
	struct __kernel_timespec ts = { .tv_sec = 10 };
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -1000;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = op;
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
	if (io_uring_submit(ring) != 1)
		return -1001;
	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (ret)
		return -1002;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* One select case on @dev: the ioctl's result. */
static long select1(int dev, struct gosync_select_case *c, __u32 n, __s64 dl)
{
	struct gosync_select s = { .cases = (uintptr_t)c, .ncases = n,
				   .deadline_ns = dl };

	return gosync_test_ioctl(dev, GOSYNC_IOC_SELECT, &s);
}

/* The channel's length and closed state, through the two-way fd. */
static void expect_state(struct __test_metadata *_metadata, int ch, __u64 len,
			 bool closed, const char *after)
{
	struct gosync_chan_info info;

	ASSERT_EQ(0, gosync_test_chan_info(ch, &info));
	EXPECT_EQ(len, info.len) TH_LOG("len after %s", after);
	EXPECT_EQ(closed, !!(info.state & GOSYNC_CHAN_STATE_CLOSED))
		TH_LOG("closed after %s", after);
}

TEST_F(dir, info_state)
{
	struct gosync_chan_info info;

	DIR_READY();
	ASSERT_EQ(0, gosync_test_chan_info(self->ch, &info));
	EXPECT_EQ(0, info.state);
	ASSERT_EQ(0, gosync_test_chan_info(self->r, &info));
	EXPECT_EQ(GOSYNC_CHAN_STATE_NOSEND, info.state);
	EXPECT_EQ(8, info.elem_size);
	EXPECT_EQ(4, info.cap);
	ASSERT_EQ(0, gosync_test_chan_info(self->w, &info));
	EXPECT_EQ(GOSYNC_CHAN_STATE_NORECV, info.state);
	EXPECT_EQ(O_RDONLY, fcntl(self->r, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(O_WRONLY, fcntl(self->w, F_GETFL) & O_ACCMODE);
}

TEST_F(dir, forbidden_ops_are_ebadf_and_do_nothing)
{
	uint64_t v[2] = { 1, 2 }, got = 0, e = 99;
	struct gosync_select_case c[2];

	DIR_READY();
	ASSERT_EQ(2, xfer(self->ch, GOSYNC_CHAN_IOC_SEND, v, 2, GOSYNC_DEADLINE_NONBLOCK));

	/* The receive-only end: no send, no close. */
	EXPECT_EQ(-EBADF, xfer(self->r, GOSYNC_CHAN_IOC_SEND, &e, 1, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(-EBADF, xfer(self->r, GOSYNC_CHAN_IOC_SEND, &e, 1, GOSYNC_DEADLINE_FOREVER));
	EXPECT_EQ(-EBADF, gosync_test_xfer(self->r, GOSYNC_CHAN_IOC_SEND, v, 2,
					   GOSYNC_DEADLINE_FOREVER, GOSYNC_SEND_SYNC));
	EXPECT_EQ(-EBADF, gosync_test_ioctl(self->r, GOSYNC_CHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(-1, write(self->r, &e, sizeof(e)));
	EXPECT_EQ(EBADF, errno);
	c[0] = (struct gosync_select_case){ .fd = self->r, .op = GOSYNC_SELECT_SEND,
					    .elem = (uintptr_t)&e };
	EXPECT_EQ(-EBADF, select1(self->dev, c, 1, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(-EBADF, select1(self->dev, c, 1, GOSYNC_DEADLINE_FOREVER));
	EXPECT_EQ(-EBADF, uring_cmd(&self->ring, self->r, GOSYNC_URING_SEND, &e,
				    GOSYNC_DEADLINE_FOREVER));
	expect_state(_metadata, self->ch, 2, false, "the receive-only end's sends");

	/* The send-only end: no receive. */
	EXPECT_EQ(-EBADF, xfer(self->w, GOSYNC_CHAN_IOC_RECV, &got, 1, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(-EBADF, xfer(self->w, GOSYNC_CHAN_IOC_RECV, &got, 1, GOSYNC_DEADLINE_FOREVER));
	EXPECT_EQ(-1, read(self->w, &got, sizeof(got)));
	EXPECT_EQ(EBADF, errno);
	c[0] = (struct gosync_select_case){ .fd = self->w, .op = GOSYNC_SELECT_RECV,
					    .elem = (uintptr_t)&got };
	EXPECT_EQ(-EBADF, select1(self->dev, c, 1, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(-EBADF, uring_cmd(&self->ring, self->w, GOSYNC_URING_RECV, &got,
				    GOSYNC_DEADLINE_FOREVER));
	EXPECT_EQ(0, got);
	expect_state(_metadata, self->ch, 2, false, "the send-only end's receives");

	/* A good, ready case beside a bad one: the select fails whole. */
	c[0] = (struct gosync_select_case){ .fd = self->ch, .op = GOSYNC_SELECT_RECV,
					    .elem = (uintptr_t)&got };
	c[1] = (struct gosync_select_case){ .fd = self->r, .op = GOSYNC_SELECT_SEND,
					    .elem = (uintptr_t)&e };
	EXPECT_EQ(-EBADF, select1(self->dev, c, 2, GOSYNC_DEADLINE_NONBLOCK));
	c[1] = (struct gosync_select_case){ .fd = self->w, .op = GOSYNC_SELECT_RECV,
					    .elem = (uintptr_t)&got };
	EXPECT_EQ(-EBADF, select1(self->dev, c, 2, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(0, got);
	expect_state(_metadata, self->ch, 2, false, "mixed selects");

	/* Neither end maps, whatever the protection. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->r, 0));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->r, 0));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->w, 0));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, self->w, 0));
	EXPECT_EQ(EACCES, errno);

	/* The elements are still there, in order, once each. */
	got = 0;
	EXPECT_EQ(1, xfer(self->ch, GOSYNC_CHAN_IOC_RECV, &got, 1, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(1, got);
	EXPECT_EQ(1, xfer(self->ch, GOSYNC_CHAN_IOC_RECV, &got, 1, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(2, got);
	EXPECT_EQ(-EAGAIN, xfer(self->ch, GOSYNC_CHAN_IOC_RECV, &got, 1,
				GOSYNC_DEADLINE_NONBLOCK));
}

TEST_F(dir, allowed_ops_work)
{
	uint64_t v = 10, got = 0;
	struct gosync_select_case c;
	struct pollfd p[2] = { { .fd = self->r, .events = POLLIN },
			       { .fd = self->w, .events = POLLOUT } };

	DIR_READY();
	/* Both ends poll: nothing to receive yet, room to send. */
	EXPECT_EQ(1, poll(p, 2, 0));
	EXPECT_EQ(0, p[0].revents);
	EXPECT_EQ(POLLOUT, p[1].revents & POLLOUT);
	/* Every path of a send on the send-only end ... */
	EXPECT_EQ(1, xfer(self->w, GOSYNC_CHAN_IOC_SEND, &v, 1, GOSYNC_DEADLINE_NONBLOCK));
	v = 11;
	EXPECT_EQ(sizeof(v), write(self->w, &v, sizeof(v)));
	v = 12;
	c = (struct gosync_select_case){ .fd = self->w, .op = GOSYNC_SELECT_SEND,
					 .elem = (uintptr_t)&v };
	EXPECT_EQ(0, select1(self->dev, &c, 1, GOSYNC_DEADLINE_NONBLOCK));
	v = 13;
	EXPECT_EQ(1, uring_cmd(&self->ring, self->w, GOSYNC_URING_SEND, &v,
			       GOSYNC_DEADLINE_NONBLOCK));
	expect_state(_metadata, self->ch, 4, false, "four sends");
	p[0].revents = 0;
	EXPECT_EQ(1, poll(p, 1, 0));
	EXPECT_EQ(POLLIN, p[0].revents & POLLIN);
	/* ... and of a receive on the receive-only end. */
	EXPECT_EQ(1, xfer(self->r, GOSYNC_CHAN_IOC_RECV, &got, 1, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(10, got);
	EXPECT_EQ(sizeof(got), read(self->r, &got, sizeof(got)));
	EXPECT_EQ(11, got);
	c = (struct gosync_select_case){ .fd = self->r, .op = GOSYNC_SELECT_RECV,
					 .elem = (uintptr_t)&got };
	EXPECT_EQ(0, select1(self->dev, &c, 1, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(1, c.result);
	EXPECT_EQ(12, got);
	EXPECT_EQ(1, uring_cmd(&self->ring, self->r, GOSYNC_URING_RECV, &got,
			       GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(13, got);
	/* A sender may close (Go's rule); the receiver then sees it. */
	EXPECT_EQ(0, gosync_test_ioctl(self->w, GOSYNC_CHAN_IOC_CLOSE, NULL));
	expect_state(_metadata, self->ch, 0, true, "the send-only end's close");
	EXPECT_EQ(0, xfer(self->r, GOSYNC_CHAN_IOC_RECV, &got, 1, GOSYNC_DEADLINE_FOREVER));
	EXPECT_EQ(0, read(self->r, &got, sizeof(got)));
	/* Still EBADF once closed: the direction is checked first. */
	EXPECT_EQ(-EBADF, xfer(self->r, GOSYNC_CHAN_IOC_SEND, &v, 1, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(-EBADF, xfer(self->w, GOSYNC_CHAN_IOC_RECV, &v, 1, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(-EBADF, gosync_test_ioctl(self->r, GOSYNC_CHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(-EPIPE, xfer(self->w, GOSYNC_CHAN_IOC_SEND, &v, 1, GOSYNC_DEADLINE_NONBLOCK));
}

/* open(2) with access mode 3 (ioctls only): neither end. */
TEST_F(dir, accmode_3_is_neither_end)
{
	struct gosync_chan_info info;
	char path[128];
	uint64_t v = 1;
	int fd;

	DIR_READY();
	if (!variant->named)
		SKIP(return, "a name's open(2) only");
	snprintf(path, sizeof(path), "%s/c", self->mnt);
	fd = open(path, O_ACCMODE | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gosync_test_chan_info(fd, &info));
	EXPECT_EQ(GOSYNC_CHAN_STATE_NOSEND | GOSYNC_CHAN_STATE_NORECV, info.state);
	EXPECT_EQ(-EBADF, xfer(fd, GOSYNC_CHAN_IOC_SEND, &v, 1, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(-EBADF, xfer(fd, GOSYNC_CHAN_IOC_RECV, &v, 1, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(-EBADF, gosync_test_ioctl(fd, GOSYNC_CHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(-EBADF, gosync_test_dup(fd, GOSYNC_DUP_SEND_ONLY));
	EXPECT_EQ(-EBADF, gosync_test_dup(fd, GOSYNC_DUP_RECV_ONLY));
	/* Not counted as an end that can send: ch and w are the two. */
	EXPECT_EQ(2, gosync_test_fdinfo_long(0, fd, "gosync-ends"));
	expect_state(_metadata, self->ch, 0, false, "access mode 3's ops");
	close(fd);
}

TEST_F(dir, dup_flags)
{
	struct gosync_chan_dup d;
	int fd;

	DIR_READY();
	EXPECT_EQ(-EINVAL, gosync_test_dup(self->ch, 0));
	EXPECT_EQ(-EINVAL, gosync_test_dup(self->ch, GOSYNC_DUP_CLOEXEC));
	EXPECT_EQ(-EINVAL, gosync_test_dup(self->ch, GOSYNC_DUP_SEND_ONLY | GOSYNC_DUP_RECV_ONLY));
	EXPECT_EQ(-EINVAL, gosync_test_dup(self->ch, GOSYNC_DUP_SEND_ONLY | 0x10));
	EXPECT_EQ(-EINVAL, gosync_test_dup(self->ch, GOSYNC_DUP_RECV_ONLY | 0x80000000));
	d = (struct gosync_chan_dup){ .flags = GOSYNC_DUP_SEND_ONLY, .resv = 1 };
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_DUP, &d));
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_DUP, NULL));
	/* An end only narrows. */
	EXPECT_EQ(-EBADF, gosync_test_dup(self->r, GOSYNC_DUP_SEND_ONLY));
	EXPECT_EQ(-EBADF, gosync_test_dup(self->w, GOSYNC_DUP_RECV_ONLY));
	fd = gosync_test_dup(self->r, GOSYNC_DUP_RECV_ONLY);
	EXPECT_LE(0, fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD));
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	fd = gosync_test_dup(self->w, GOSYNC_DUP_SEND_ONLY | GOSYNC_DUP_CLOEXEC |
			     GOSYNC_DUP_NONBLOCK);
	EXPECT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(O_WRONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	close(fd);
	/* The returned fd is also in the struct. */
	d = (struct gosync_chan_dup){ .flags = GOSYNC_DUP_RECV_ONLY | GOSYNC_DUP_CLOEXEC };
	fd = (int)gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_DUP, &d);
	EXPECT_LE(0, fd);
	EXPECT_EQ(fd, d.fd);
	close(fd);
	/* Only a channel has ends. */
	struct gosync_sync_create sc = { .kind = GOSYNC_SYNC_WG, .flags = GOSYNC_SYNC_CLOEXEC };
	int wg = (int)gosync_test_ioctl(self->dev, GOSYNC_IOC_SYNC_CREATE, &sc);

	ASSERT_LE(0, wg);
	EXPECT_EQ(-ENOTTY, gosync_test_dup(wg, GOSYNC_DUP_RECV_ONLY));
	close(wg);
	EXPECT_EQ(-ENOTTY, gosync_test_dup(self->dev, GOSYNC_DUP_RECV_ONLY));
}

TEST_HARNESS_MAIN
