// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The ABI of channels of 0-byte elements, without the library:
 * GOSYNC_IOC_CHAN_CREATE with elem_size 0 and its feature bit, INFO and
 * the ring's header, SEND/RECV counts with an element pointer that is
 * never looked at (NULL, unmapped, a kernel address), the count bound,
 * read(2)/write(2) refused with EINVAL (gosync(4)), poll readiness, and
 * the io_uring commands.
 */
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <liburing.h>

#include "kselftest_harness.h"
#include "gosync_test.h"

#define MAX_RW	0x7ffff000U	/* MAX_RW_COUNT with 4 KiB pages */

/* Pointers the kernel must never touch for 0-byte elements. */
static void *const bad_ptrs[] = {
	NULL, (void *)16, (void *)0xdead0000UL, (void *)0xffff888000000000UL,
};

static short revents(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

FIXTURE(zero) {
	int dev;
	int ch;
};

FIXTURE_SETUP(zero)
{
	self->ch = -1;
	GOSYNC_OPEN_DEV(self->dev, O_RDWR);
	self->ch = gosync_test_chan_create(self->dev, 0, 4, GOSYNC_CHAN_CLOEXEC);
	ASSERT_LE(0, self->ch) TH_LOG("CHAN_CREATE elem 0: %s",
				      strerror(-self->ch));
}

FIXTURE_TEARDOWN(zero)
{
	if (self->ch >= 0)
		close(self->ch);
	if (self->dev >= 0)
		close(self->dev);
}

TEST_F(zero, feature_bit_and_info)
{
	struct gosync_chan_header *hdr;
	struct gosync_chan_info info;
	struct gosync_info dinfo;
	void *map;

	memset(&dinfo, 0, sizeof(dinfo));
	ASSERT_EQ(0, gosync_test_ioctl(self->dev, GOSYNC_IOC_INFO, &dinfo));
	EXPECT_TRUE(dinfo.features & GOSYNC_FEAT_CHAN_ZERO);

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_INFO, &info));
	EXPECT_EQ(0, info.elem_size);
	EXPECT_EQ(4, info.cap);
	EXPECT_EQ(4, info.nslots);
	EXPECT_EQ(8, info.slot_size);	/* the slot word alone */
	EXPECT_EQ(0, info.len);
	map = mmap(NULL, info.map_size, PROT_READ, MAP_SHARED, self->ch, 0);
	ASSERT_NE(MAP_FAILED, map);
	hdr = map;
	EXPECT_EQ(GOSYNC_CHAN_MAGIC, hdr->magic);
	EXPECT_EQ(0, hdr->elem_size);
	EXPECT_EQ(8, hdr->slot_size);
	EXPECT_EQ(info.off_slots, hdr->off_slots);
	munmap(map, info.map_size);
}

TEST_F(zero, create_any_capacity_and_bounds_kept)
{
	static const __u32 caps[] = { 0, 1, 8, 1000, GOSYNC_CHAN_MAX_CAP };
	struct gosync_chan_create req;

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		int fd = gosync_test_chan_create(self->dev, 0, caps[i], 0);

		EXPECT_LE(0, fd);
		if (fd >= 0)
			close(fd);
	}
	EXPECT_EQ(-EINVAL, gosync_test_chan_create(self->dev, 0, GOSYNC_CHAN_MAX_CAP + 1, 0));
	EXPECT_EQ(-EINVAL, gosync_test_chan_create(self->dev, 0, 1, 1U << 5));
	memset(&req, 0, sizeof(req));
	req.resv[1] = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_CHAN_CREATE,
					     &req));
}

TEST_F(zero, send_recv_counts_ignore_the_pointer)
{
	for (size_t i = 0; i < sizeof(bad_ptrs) / sizeof(bad_ptrs[0]); i++) {
		void *p = bad_ptrs[i];

		EXPECT_EQ(3, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, p, 3,
					      GOSYNC_DEADLINE_NONBLOCK, 0));
		/* Only 4 fit: the count says how many went. */
		EXPECT_EQ(1, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, p, 5,
					      GOSYNC_DEADLINE_NONBLOCK, 0));
		EXPECT_EQ(-EAGAIN, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, p, 1,
						    GOSYNC_DEADLINE_NONBLOCK, 0));
		EXPECT_EQ(4, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, p, 100,
					      GOSYNC_DEADLINE_FOREVER, 0));
		EXPECT_EQ(-EAGAIN, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, p, 1,
						    GOSYNC_DEADLINE_NONBLOCK, 0));
	}
	/* Flags and reserved words are still checked. */
	EXPECT_EQ(-EINVAL, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, NULL, 1,
					    GOSYNC_DEADLINE_NONBLOCK, GOSYNC_SEND_SYNC));
	EXPECT_EQ(-EINVAL, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, NULL, 1,
					    GOSYNC_DEADLINE_NONBLOCK, 1U << 7));
	EXPECT_EQ(-EINVAL, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, NULL, 0,
					    GOSYNC_DEADLINE_NONBLOCK, 0));
	{
		struct gosync_chan_xfer x = { .count = 1, .resv = { 0, 1 },
					      .deadline_ns = -1 };

		EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->ch,
						     GOSYNC_CHAN_IOC_SEND, &x));
	}
}

/* A 0-byte element counts as one byte: 1..MAX_RW_COUNT, never a division by 0. */
TEST_F(zero, count_bound)
{
	EXPECT_EQ(4, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, NULL, MAX_RW,
				      GOSYNC_DEADLINE_NONBLOCK, 0));
	EXPECT_EQ(-EINVAL, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, NULL, MAX_RW + 1,
					    GOSYNC_DEADLINE_NONBLOCK, 0));
	EXPECT_EQ(-EINVAL, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, NULL,
					    UINT32_MAX, GOSYNC_DEADLINE_NONBLOCK, 0));
	EXPECT_EQ(4, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, NULL, MAX_RW,
				      GOSYNC_DEADLINE_NONBLOCK, 0));
}

/*
 * A batch that never has to wait still keeps its deadline: a SEND of
 * MAX_RW 0-byte elements into a channel with room for 2^20, and a RECV of
 * as many from it full, each with a deadline 1 ms away, stop short of the
 * 2^20 (before the fix they moved all 2^20, looking at the deadline only
 * once they had to wait).
 */
static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

TEST_F_TIMEOUT(zero, long_batch_keeps_its_deadline, 120)
{
	int big = gosync_test_chan_create(self->dev, 0, GOSYNC_CHAN_MAX_CAP,
					  GOSYNC_CHAN_CLOEXEC);
	long n;

	ASSERT_LE(0, big);
	n = gosync_test_xfer(big, GOSYNC_CHAN_IOC_SEND, NULL, MAX_RW,
			     mono_ns() + 1000000, 0);
	EXPECT_LT(0, n);
	EXPECT_GT(GOSYNC_CHAN_MAX_CAP, n);
	/* Fill it up (no deadline), then take with one. */
	while (n > 0)
		n = gosync_test_xfer(big, GOSYNC_CHAN_IOC_SEND, NULL, MAX_RW,
				     GOSYNC_DEADLINE_NONBLOCK, 0);
	ASSERT_EQ(-EAGAIN, n);
	n = gosync_test_xfer(big, GOSYNC_CHAN_IOC_RECV, NULL, MAX_RW,
			     mono_ns() + 1000000, 0);
	EXPECT_LT(0, n);
	EXPECT_GT(GOSYNC_CHAN_MAX_CAP, n);
	close(big);
}

/* gosync(4): no byte count says how many 0-byte elements: EINVAL. */
TEST_F(zero, read_write_einval)
{
	char buf[16] = { 0 };
	int nb = gosync_test_chan_create(self->dev, 0, 4, GOSYNC_CHAN_NONBLOCK);

	ASSERT_LE(0, nb);
	for (int i = 0; i < 2; i++) {
		int fd = i ? nb : self->ch;

		EXPECT_EQ(-1, write(fd, buf, 8));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, write(fd, buf, 1));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, read(fd, buf, 8));	/* would block otherwise */
		EXPECT_EQ(EINVAL, errno);
	}
	/* Nothing moved; with an element queued, read still refuses. */
	EXPECT_EQ(1, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, NULL, 1,
				      GOSYNC_DEADLINE_NONBLOCK, 0));
	EXPECT_EQ(-1, read(self->ch, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, NULL, 4,
				      GOSYNC_DEADLINE_NONBLOCK, 0));
	close(nb);
}

TEST_F(zero, poll_readiness)
{
	EXPECT_EQ(POLLOUT, revents(self->ch));
	EXPECT_EQ(1, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, NULL, 1,
				      GOSYNC_DEADLINE_NONBLOCK, 0));
	EXPECT_EQ(POLLIN | POLLOUT, revents(self->ch));
	EXPECT_EQ(3, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, NULL, 3,
				      GOSYNC_DEADLINE_NONBLOCK, 0));
	EXPECT_EQ(POLLIN, revents(self->ch));
	EXPECT_EQ(4, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, NULL, 4,
				      GOSYNC_DEADLINE_NONBLOCK, 0));
	EXPECT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(POLLIN | POLLOUT | POLLHUP, revents(self->ch));
	EXPECT_EQ(0, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_RECV, (void *)16, 1,
				      GOSYNC_DEADLINE_FOREVER, 0));
	EXPECT_EQ(-EPIPE, gosync_test_xfer(self->ch, GOSYNC_CHAN_IOC_SEND, NULL, 1,
					   GOSYNC_DEADLINE_FOREVER, 0));
}

static int uring_cmd(struct io_uring *ring, int fd, __u32 op, void *elem)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct gosync_uring_cmd cmd = {
		.elem = (uintptr_t)elem, .deadline_ns = GOSYNC_DEADLINE_NONBLOCK,
	};
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -1000;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = op;
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
	if (io_uring_submit(ring) != 1 || io_uring_wait_cqe(ring, &cqe))
		return -1001;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

TEST_F(zero, uring_commands)
{
	struct io_uring ring;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	for (size_t i = 0; i < sizeof(bad_ptrs) / sizeof(bad_ptrs[0]); i++) {
		EXPECT_EQ(1, uring_cmd(&ring, self->ch, GOSYNC_URING_SEND,
				       bad_ptrs[i]));
		EXPECT_EQ(1, uring_cmd(&ring, self->ch, GOSYNC_URING_RECV,
				       bad_ptrs[i]));
	}
	EXPECT_EQ(-EAGAIN, uring_cmd(&ring, self->ch, GOSYNC_URING_RECV, NULL));
	EXPECT_EQ(0, gosync_test_ioctl(self->ch, GOSYNC_CHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(0, uring_cmd(&ring, self->ch, GOSYNC_URING_RECV, NULL));
	io_uring_queue_exit(&ring);
}

TEST_HARNESS_MAIN
