// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Auto-close (GOSYNC_CHAN_AUTOCLOSE, GOSYNC_OPEN_AUTOCLOSE): pipe EOF for
 * channels.  When the last end that can send is gone, the kernel closes
 * the channel: receivers drain what was sent, then see closed (RECV 0).
 * The last sender closing its fd, or SIGKILLed while blocked in a send on
 * a full channel, while idle, and in the middle of a fast-path send (the
 * library's step hooks stop it between the ring's word updates); other
 * processes' receivers blocked in RECV, in a select and in epoll_wait
 * all wake.  What does not count: a receive-only end, the name, an
 * auto-close channel that never had a sender; what does: each of two
 * senders, a fork's or dup(2)'s copy (the same file), a mapping, a
 * queued io_uring command.  Made both ways: GOSYNC_IOC_CHAN_CREATE with
 * the flag, and GOSYNC_FS_IOC_OPEN with GOSYNC_OPEN_AUTOCLOSE (there
 * the receive-only end is an O_RDONLY open of the name).
 */
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "gosync_test.h"
#include "chan_test.h"
#include "hooks.h"

FIXTURE(ac) {
	char mnt[64];
	int dev, root;
	bool ok;
};

FIXTURE_VARIANT(ac) {
	bool named;
};

FIXTURE_VARIANT_ADD(ac, create) { .named = false };
FIXTURE_VARIANT_ADD(ac, named) { .named = true };

FIXTURE_SETUP(ac)
{
	self->dev = self->root = -1;
	GOSYNC_NEED_NAMES(return);
	GOSYNC_OPEN_DEV(self->dev, O_RDWR);
	ASSERT_EQ(0, gosync_test_mount(self->mnt, NULL));
	self->root = open(self->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, self->root);
	self->ok = true;
}

FIXTURE_TEARDOWN(ac)
{
	if (self->root >= 0) {
		unlinkat(self->root, "c", 0);
		close(self->root);
	}
	if (self->mnt[0])
		EXPECT_EQ(0, gosync_test_umount(self->mnt));
	if (self->dev >= 0)
		close(self->dev);
}

#define AC_READY() do { if (!self->ok) return; } while (0)

static __s64 in_ms(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec + ms * 1000000LL;
}

/*
 * An auto-close channel of 8-byte elements: its two-way fd (the one end
 * that can send), and a receive-only end in *@r.
 */
static int mk(FIXTURE_DATA(ac) *self, const FIXTURE_VARIANT(ac) *variant,
	      __u32 cap, bool autoclose, int *r)
{
	char path[128];
	int fd;

	if (variant->named) {
		unlinkat(self->root, "c", 0);
		fd = gosync_test_open(self->root, "c", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
				      0600, GOSYNC_KIND_CHAN, 8, cap,
				      autoclose ? GOSYNC_OPEN_AUTOCLOSE : 0, NULL);
		snprintf(path, sizeof(path), "%s/c", self->mnt);
		*r = open(path, O_RDONLY | O_CLOEXEC);
	} else {
		fd = gosync_test_chan_create(self->dev, 8, cap, GOSYNC_CHAN_CLOEXEC |
					     (autoclose ? GOSYNC_CHAN_AUTOCLOSE : 0));
		*r = fd < 0 ? -1 : gosync_test_dup(fd, GOSYNC_DUP_RECV_ONLY |
						   GOSYNC_DUP_CLOEXEC);
	}
	return fd;
}

#define MK(cap, autoclose, fdp, rp) do {					\
	*(fdp) = mk(self, variant, (cap), (autoclose), (rp));			\
	ASSERT_LE(0, *(fdp));							\
	ASSERT_LE(0, *(rp));							\
} while (0)

static long send1(int fd, uint64_t v, __s64 dl)
{
	return gosync_test_xfer(fd, GOSYNC_CHAN_IOC_SEND, &v, 1, dl, 0);
}

/* Receive, waiting up to @ms: the value, 0x7fff.. when closed, or -errno. */
#define CLOSED	0x7fffffffffffLL
static long long recv_ms(int fd, long ms)
{
	uint64_t v = 0;
	long r = gosync_test_xfer(fd, GOSYNC_CHAN_IOC_RECV, &v, 1,
				  ms < 0 ? GOSYNC_DEADLINE_NONBLOCK : in_ms(ms), 0);

	return r == 1 ? (long long)v : r == 0 ? CLOSED : r;
}

static bool is_closed(int fd)
{
	struct gosync_chan_info info;

	return !gosync_test_chan_info(fd, &info) &&
	       (info.state & GOSYNC_CHAN_STATE_CLOSED);
}

TEST_F(ac, last_sender_close_drains_then_closed)
{
	struct gosync_chan_info info;
	int fd, r;

	AC_READY();
	MK(4, true, &fd, &r);
	ASSERT_EQ(0, gosync_test_chan_info(fd, &info));
	EXPECT_EQ(GOSYNC_CHAN_STATE_AUTOCLOSE, info.state);
	ASSERT_EQ(1, send1(fd, 1, GOSYNC_DEADLINE_NONBLOCK));
	ASSERT_EQ(1, send1(fd, 2, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_FALSE(is_closed(r));
	close(fd);
	ASSERT_EQ(0, gosync_test_chan_info(r, &info));
	EXPECT_EQ(GOSYNC_CHAN_STATE_CLOSED | GOSYNC_CHAN_STATE_AUTOCLOSE |
		  GOSYNC_CHAN_STATE_NOSEND, info.state);
	EXPECT_EQ(1, recv_ms(r, -1));
	EXPECT_EQ(2, recv_ms(r, -1));
	EXPECT_EQ(CLOSED, recv_ms(r, -1));
	EXPECT_EQ(CLOSED, recv_ms(r, 1000));
	close(r);
}

/* Without the flag nothing of the sort happens (the control). */
TEST_F(ac, without_the_flag_stays_open)
{
	int fd, r;

	AC_READY();
	MK(4, false, &fd, &r);
	ASSERT_EQ(1, send1(fd, 1, GOSYNC_DEADLINE_NONBLOCK));
	close(fd);
	EXPECT_FALSE(is_closed(r));
	EXPECT_EQ(1, recv_ms(r, -1));
	EXPECT_EQ(-EAGAIN, recv_ms(r, -1));
	close(r);
}

/*
 * The last sender in a child; the parent keeps only @r.  @how: 0 killed
 * while idle, 1 killed blocked in a send on a full channel.  What it sent
 * arrives, then closed.
 */
static void killed_sender(struct __test_metadata *_metadata, int fd, int r,
			  __u32 cap, int how)
{
	int p[2];
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (uint64_t v = 1; v <= cap; v++)
			if (send1(fd, v, GOSYNC_DEADLINE_NONBLOCK) != 1)
				_exit(2);
		if (write(p[1], "x", 1) != 1)
			_exit(3);
		if (how == 1)
			send1(fd, 99, GOSYNC_DEADLINE_FOREVER);	/* blocks */
		else
			pause();
		_exit(4);
	}
	close(p[1]);
	close(fd);		/* the child's copy is the last sender */
	ASSERT_EQ(1, read(p[0], &c, 1));
	close(p[0]);
	if (how == 1) {
		ASSERT_EQ(0, gosync_test_wait_blocked(0, r, 0, 1, 10000));
	} else {
		ASSERT_TRUE(test_proc_asleep(pid, 10000));
	}
	EXPECT_FALSE(is_closed(r));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, test_wait(pid));
	for (uint64_t v = 1; v <= cap; v++)
		EXPECT_EQ((long long)v, recv_ms(r, 5000));
	EXPECT_EQ(CLOSED, recv_ms(r, 5000));
	close(r);
}

TEST_F(ac, sender_killed_while_idle)
{
	int fd, r;

	AC_READY();
	MK(2, true, &fd, &r);
	killed_sender(_metadata, fd, r, 2, 0);
}

TEST_F(ac, sender_killed_blocked_in_send)
{
	int fd, r;

	AC_READY();
	MK(2, true, &fd, &r);
	killed_sender(_metadata, fd, r, 2, 1);
}

/* ---- killed in the middle of a fast-path send ---- */

static enum gosync_step kill_at;

static void kill_hook(enum gosync_step step)
{
	if (step == kill_at)
		kill(getpid(), SIGKILL);
}

static const struct { enum gosync_step step; const char *name; } send_steps[] = {
	{ GOSYNC_STEP_SEND_CLAIMED, "claimed, tail not moved" },
	{ GOSYNC_STEP_SEND_TAIL, "tail moved, not copied" },
	{ GOSYNC_STEP_SEND_COPIED, "copied, not published" },
	{ GOSYNC_STEP_SEND_DONE, "published, receivers not woken" },
};

TEST_F(ac, sender_killed_mid_fast_path_send)
{
	for (size_t k = 0; k < sizeof(send_steps) / sizeof(send_steps[0]); k++) {
		bool published = send_steps[k].step == GOSYNC_STEP_SEND_DONE;
		int fd, r;
		pid_t pid;

		AC_READY();
		MK(4, true, &fd, &r);
		ASSERT_EQ(1, send1(fd, 1, GOSYNC_DEADLINE_NONBLOCK));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			struct gosync_chan *ch;
			uint64_t v = 50;

			/* The library maps the fd: its sends take the fast path. */
			if (gosync_chan_from_fd(&ch, fd, 0))
				_exit(2);
			kill_at = send_steps[k].step;
			gosync_test_set_hook(kill_hook);
			gosync_chan_send(ch, &v, GOSYNC_NONBLOCK);
			_exit(3);	/* the step was never reached */
		}
		close(fd);
		EXPECT_EQ(128 + SIGKILL, test_wait(pid))
			TH_LOG("%s: the sender did not die there", send_steps[k].name);
		EXPECT_EQ(1, recv_ms(r, 5000)) TH_LOG("%s", send_steps[k].name);
		if (published) {
			EXPECT_EQ(50, recv_ms(r, 5000)) TH_LOG("%s", send_steps[k].name);
		}
		EXPECT_EQ(CLOSED, recv_ms(r, 5000))
			TH_LOG("%s: not closed after the killed fast-path sender",
			       send_steps[k].name);
		close(r);
	}
}

/* ---- receivers of other processes, blocked three ways ---- */

enum { IN_RECV, IN_SELECT, IN_EPOLL };

static int blocked_receiver(int dev, int r, int how)
{
	uint64_t v;

	if (how == IN_RECV)
		return gosync_test_xfer(r, GOSYNC_CHAN_IOC_RECV, &v, 1,
					in_ms(20000), 0) == 0 ? 0 : 1;
	if (how == IN_SELECT) {
		struct gosync_select_case c = { .fd = r, .op = GOSYNC_SELECT_RECV,
						.elem = (uintptr_t)&v };
		struct gosync_select s = { .cases = (uintptr_t)&c, .ncases = 1,
					   .deadline_ns = in_ms(20000) };
		long ret = gosync_test_ioctl(dev, GOSYNC_IOC_SELECT, &s);

		return ret == 0 && c.result == 0 ? 0 : 1;
	}
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev))
		return 2;
	if (epoll_wait(ep, &out, 1, 20000) != 1 || !(out.events & EPOLLIN))
		return 3;
	return gosync_test_xfer(r, GOSYNC_CHAN_IOC_RECV, &v, 1,
				GOSYNC_DEADLINE_NONBLOCK, 0) == 0 ? 0 : 4;
}

TEST_F_TIMEOUT(ac, blocked_receivers_elsewhere_wake, 60)
{
	pid_t rx[3], tx;
	int fd, r;

	AC_READY();
	MK(2, true, &fd, &r);
	for (int i = 0; i < 3; i++) {
		rx[i] = fork();
		ASSERT_LE(0, rx[i]);
		if (rx[i] == 0) {
			close(fd);
			_exit(blocked_receiver(self->dev, r, i));
		}
	}
	tx = fork();
	ASSERT_LE(0, tx);
	if (tx == 0) {
		pause();	/* the last sender, idle */
		_exit(1);
	}
	close(fd);
	for (int i = 0; i < 3; i++)
		ASSERT_TRUE(test_proc_asleep(rx[i], 10000));
	test_sleep_ms(50);
	EXPECT_FALSE(is_closed(r));
	kill(tx, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, test_wait(tx));
	EXPECT_EQ(0, test_wait(rx[0])) TH_LOG("the receiver blocked in RECV");
	EXPECT_EQ(0, test_wait(rx[1])) TH_LOG("the receiver blocked in a select");
	EXPECT_EQ(0, test_wait(rx[2])) TH_LOG("the receiver blocked in epoll_wait");
	EXPECT_TRUE(is_closed(r));
	close(r);
}

/* ---- what counts as an end that can send ---- */

TEST_F(ac, receive_only_ends_and_the_name_do_not_count)
{
	int fd, r, r2;

	AC_READY();
	MK(2, true, &fd, &r);
	r2 = gosync_test_dup(r, GOSYNC_DUP_RECV_ONLY | GOSYNC_DUP_CLOEXEC);
	ASSERT_LE(0, r2);
	close(fd);
	/* Two receive-only ends (and, named, the name) are left: closed. */
	EXPECT_TRUE(is_closed(r));
	EXPECT_TRUE(is_closed(r2));
	EXPECT_EQ(CLOSED, recv_ms(r2, 1000));
	close(r2);
	close(r);
}

TEST_F(ac, two_senders)
{
	int fd, r, w;

	AC_READY();
	MK(4, true, &fd, &r);
	w = gosync_test_dup(fd, GOSYNC_DUP_SEND_ONLY | GOSYNC_DUP_CLOEXEC);
	ASSERT_LE(0, w);
	EXPECT_EQ(2, gosync_test_fdinfo_long(0, r, "gosync-ends"));
	close(fd);
	EXPECT_FALSE(is_closed(r));
	EXPECT_EQ(1, send1(w, 7, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_EQ(7, recv_ms(r, -1));
	close(w);
	EXPECT_TRUE(is_closed(r));
	EXPECT_EQ(CLOSED, recv_ms(r, -1));
	close(r);
}

TEST_F(ac, never_had_a_sender_is_not_closed)
{
	struct gosync_chan_info info;
	char path[128];
	int r, r2, w;

	AC_READY();
	if (!variant->named)
		SKIP(return, "GOSYNC_IOC_CHAN_CREATE always gives an end that can send");
	r = gosync_test_open(self->root, "c", O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC,
			     0600, GOSYNC_KIND_CHAN, 8, 2, GOSYNC_OPEN_AUTOCLOSE, NULL);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, gosync_test_chan_info(r, &info));
	EXPECT_EQ(GOSYNC_CHAN_STATE_AUTOCLOSE | GOSYNC_CHAN_STATE_NOSEND, info.state);
	EXPECT_EQ(0, gosync_test_fdinfo_long(0, r, "gosync-ends"));
	snprintf(path, sizeof(path), "%s/c", self->mnt);
	r2 = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, r2);
	close(r2);
	EXPECT_FALSE(is_closed(r));
	EXPECT_EQ(-EAGAIN, recv_ms(r, -1));
	/* A sender comes and goes: now it closes. */
	w = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, w);
	EXPECT_EQ(1, send1(w, 3, GOSYNC_DEADLINE_NONBLOCK));
	EXPECT_FALSE(is_closed(r));
	close(w);
	EXPECT_TRUE(is_closed(r));
	EXPECT_EQ(3, recv_ms(r, -1));
	EXPECT_EQ(CLOSED, recv_ms(r, -1));
	close(r);
}

TEST_F(ac, copies_of_one_file_are_one_end)
{
	int fd, r, d;
	pid_t pid;
	int p[2];
	char c;

	AC_READY();
	MK(2, true, &fd, &r);
	/* dup(2): the same file. */
	d = dup(fd);
	ASSERT_LE(0, d);
	EXPECT_EQ(1, gosync_test_fdinfo_long(0, r, "gosync-ends"));
	close(fd);
	EXPECT_FALSE(is_closed(r));
	/* fork: the child's copy is the same file too. */
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(p[1]);
		(void)!read(p[0], &c, 1);	/* until the parent says */
		_exit(send1(d, 5, GOSYNC_DEADLINE_NONBLOCK) == 1 ? 0 : 1);
	}
	close(p[0]);
	EXPECT_EQ(1, gosync_test_fdinfo_long(0, r, "gosync-ends"));
	close(d);
	EXPECT_FALSE(is_closed(r)) TH_LOG("closed while the child's copy is open");
	EXPECT_EQ(1, write(p[1], "x", 1));
	close(p[1]);
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(5, recv_ms(r, 5000));
	EXPECT_EQ(CLOSED, recv_ms(r, 5000));
	close(r);
}

TEST_F(ac, a_mapping_is_an_end_until_unmapped)
{
	struct gosync_chan_info info;
	void *map;
	int fd, r;

	AC_READY();
	MK(2, true, &fd, &r);
	ASSERT_EQ(0, gosync_test_chan_info(fd, &info));
	map = mmap(NULL, info.map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	close(fd);
	EXPECT_FALSE(is_closed(r)) TH_LOG("closed while a mapping of the sender is there");
	munmap(map, info.map_size);
	EXPECT_EQ(CLOSED, recv_ms(r, 5000));
	close(r);
}

TEST_F(ac, a_queued_uring_command_is_an_end_until_done)
{
	struct __kernel_timespec ts = { .tv_sec = 10 };
	struct gosync_uring_cmd cmd;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	uint64_t v = 0;
	int fd, r;

	AC_READY();
	MK(2, true, &fd, &r);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	/* A receive on the sender's fd, queued until its deadline. */
	sqe = io_uring_get_sqe(&ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = GOSYNC_URING_RECV;
	cmd = (struct gosync_uring_cmd){ .elem = (uintptr_t)&v, .deadline_ns = in_ms(500) };
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
	ASSERT_EQ(1, io_uring_submit(&ring));
	close(fd);
	EXPECT_FALSE(is_closed(r)) TH_LOG("closed while a command on the sender is queued");
	ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
	EXPECT_EQ(-ETIMEDOUT, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	EXPECT_EQ(CLOSED, recv_ms(r, 5000));
	io_uring_queue_exit(&ring);
	close(r);
}

TEST_HARNESS_MAIN
