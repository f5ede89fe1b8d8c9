// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * GOSYNC_IOC_SELECT without the library: each kind of bad input and its
 * exact errno, nothing taken when a destination is bad, the index and
 * result reported for the case that fired and for a send on a closed
 * channel.
 */
#include <stdint.h>

#include "kselftest_harness.h"
#include "gosync_test.h"

static int chan_create(int dev, __u32 cap)
{
	struct gosync_chan_create req = { .elem_size = 8, .cap = cap };
	int fd = ioctl(dev, GOSYNC_IOC_CHAN_CREATE, &req);

	return fd < 0 ? -errno : fd;
}

static long sel(int dev, struct gosync_select_case *c, __u32 n,
		__s64 deadline, struct gosync_select *out)
{
	struct gosync_select s = {
		.cases = (uintptr_t)c, .ncases = n, .deadline_ns = deadline,
	};
	long ret = gosync_test_ioctl(dev, GOSYNC_IOC_SELECT, &s);

	if (out)
		*out = s;
	return ret;
}

FIXTURE(sio) {
	int dev, a, b;
};

FIXTURE_SETUP(sio)
{
	self->a = self->b = -1;
	GOSYNC_OPEN_DEV(self->dev, O_RDWR);
	self->a = chan_create(self->dev, 2);
	self->b = chan_create(self->dev, 2);
	ASSERT_LE(0, self->a);
	ASSERT_LE(0, self->b);
}

FIXTURE_TEARDOWN(sio)
{
	close(self->a);
	close(self->b);
	close(self->dev);
}

TEST_F(sio, bad_input)
{
	uint64_t v = 0;
	struct gosync_select_case c = { .fd = self->a, .op = GOSYNC_SELECT_RECV,
					.elem = (uintptr_t)&v };
	struct gosync_select s;
	int p[2];

	memset(&s, 0, sizeof(s));
	s.cases = (uintptr_t)&c;
	s.ncases = 1;
	s.deadline_ns = GOSYNC_DEADLINE_NONBLOCK;
	EXPECT_EQ(-EAGAIN, gosync_test_ioctl(self->dev, GOSYNC_IOC_SELECT, &s));
	s.flags = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_SELECT, &s));
	s.flags = 0;
	s.resv0 = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_SELECT, &s));
	s.resv0 = 0;
	s.resv[1] = 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_SELECT, &s));
	s.resv[1] = 0;
	s.deadline_ns = -2;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_SELECT, &s));
	s.deadline_ns = GOSYNC_DEADLINE_NONBLOCK;
	s.ncases = GOSYNC_SELECT_MAX + 1;
	EXPECT_EQ(-EINVAL, gosync_test_ioctl(self->dev, GOSYNC_IOC_SELECT, &s));
	s.ncases = 1;
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->dev, GOSYNC_IOC_SELECT, NULL));
	s.cases = 16;
	EXPECT_EQ(-EFAULT, gosync_test_ioctl(self->dev, GOSYNC_IOC_SELECT, &s));

	c.op = 3;
	EXPECT_EQ(-EINVAL, sel(self->dev, &c, 1, -1, NULL));
	c.op = GOSYNC_SELECT_RECV;
	c.flags = 1;
	EXPECT_EQ(-EINVAL, sel(self->dev, &c, 1, -1, NULL));
	c.flags = 0;
	c.fd = 1000;
	EXPECT_EQ(-EBADF, sel(self->dev, &c, 1, -1, NULL));
	c.fd = -2;
	EXPECT_EQ(-EBADF, sel(self->dev, &c, 1, -1, NULL));
	ASSERT_EQ(0, pipe(p));
	c.fd = p[0];
	EXPECT_EQ(-EINVAL, sel(self->dev, &c, 1, -1, NULL));
	c.fd = self->dev;
	EXPECT_EQ(-EINVAL, sel(self->dev, &c, 1, -1, NULL));
	close(p[0]);
	close(p[1]);
	/* Only /dev/gosync selects. */
	EXPECT_EQ(-ENOTTY, gosync_test_ioctl(self->a, GOSYNC_IOC_SELECT, &s));
}

TEST_F(sio, fired_case_and_result)
{
	uint64_t va = 0, vb = 0, x = 12;
	struct gosync_select_case c[3] = {
		{ .fd = -1, .op = GOSYNC_SELECT_RECV, .elem = (uintptr_t)&va },
		{ .fd = self->a, .op = GOSYNC_SELECT_RECV, .elem = (uintptr_t)&va },
		{ .fd = self->b, .op = GOSYNC_SELECT_RECV, .elem = (uintptr_t)&vb },
	};
	struct gosync_select out;

	ASSERT_EQ(8, write(self->b, &x, 8));
	EXPECT_EQ(2, sel(self->dev, c, 3, GOSYNC_DEADLINE_FOREVER, &out));
	EXPECT_EQ(2, out.index);
	EXPECT_EQ(1, c[2].result);
	EXPECT_EQ(12, vb);
	EXPECT_EQ(-ETIMEDOUT, sel(self->dev, c, 3, 0, NULL));

	/* A bad destination: -EFAULT, and the element is still there. */
	c[2].elem = 8;
	ASSERT_EQ(8, write(self->b, &x, 8));
	EXPECT_EQ(-EFAULT, sel(self->dev, c + 2, 1, -1, NULL));
	EXPECT_EQ(8, read(self->b, &vb, 8));

	/* Closed: a receive fires with result 0; a send fails, named. */
	EXPECT_EQ(0, gosync_test_ioctl(self->a, GOSYNC_CHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(1, sel(self->dev, c, 2, GOSYNC_DEADLINE_FOREVER, &out));
	EXPECT_EQ(0, c[1].result);
	c[1].op = GOSYNC_SELECT_SEND;
	c[1].elem = (uintptr_t)&x;
	c[1].result = 5;
	EXPECT_EQ(-EPIPE, sel(self->dev, c, 2, GOSYNC_DEADLINE_FOREVER, &out));
	EXPECT_EQ(1, out.index);
	EXPECT_EQ(-EPIPE, c[1].result);
}

TEST_HARNESS_MAIN
