// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Channels of 0-byte elements (Go's chan struct{}) in every mode: making
 * them, sending and receiving with no element pointer (NULL, or one that
 * must never be touched), FIFO counts, close, batches, select beside a
 * channel of real elements, an unbuffered hand-off and a done channel
 * across processes, and a second handle in another process.
 */
#include "kselftest_harness.h"
#include "chan_test.h"

/* Never dereferenced: a touch would fault. */
#define NOWHERE	((void *)16)

FIXTURE(zero) {
	struct gosync_chan *ch;
};

FIXTURE_VARIANT(zero) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_MODES(zero);

FIXTURE_SETUP(zero)
{
	self->ch = NULL;
	GOSYNC_MAKE(&self->ch, 0, 8);
}

FIXTURE_TEARDOWN(zero)
{
	gosync_chan_free(self->ch);
}

TEST_F(zero, make_any_capacity)
{
	static const size_t caps[] = { 0, 1, 8, 1000 };

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct gosync_chan *c = NULL;

		ASSERT_EQ(0, gosync_chan_make(&c, 0, caps[i], variant->flags));
		EXPECT_EQ(0, gosync_chan_elem_size(c));
		EXPECT_EQ(caps[i], gosync_chan_cap(c));
		EXPECT_EQ(0, gosync_chan_len(c));
		gosync_chan_free(c);
	}
	/* The upper bounds are where they were. */
	EXPECT_EQ(-EINVAL, gosync_chan_make(&self->ch, 0, (1 << 20) + 1,
					    variant->flags));
}

TEST_F(zero, fifo_count_with_no_element)
{
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(0, gosync_chan_send(self->ch, i & 1 ? NOWHERE : NULL,
					      GOSYNC_NONBLOCK));
	EXPECT_EQ(5, gosync_chan_len(self->ch));
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(1, gosync_chan_recv(self->ch, i & 1 ? NOWHERE : NULL,
					      GOSYNC_NONBLOCK));
	EXPECT_EQ(0, gosync_chan_len(self->ch));
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(self->ch, NULL, GOSYNC_NONBLOCK));
	/* Full at 8, as any channel of capacity 8. */
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(0, gosync_chan_send(self->ch, NULL, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EAGAIN, gosync_chan_send(self->ch, NULL, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_send(self->ch, NULL, test_ms(20)));
	EXPECT_EQ(8, gosync_chan_len(self->ch));
}

TEST_F(zero, close_drains_then_reports_closed)
{
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, gosync_chan_send(self->ch, NULL, GOSYNC_FOREVER));
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	EXPECT_EQ(-EPIPE, gosync_chan_send(self->ch, NULL, GOSYNC_FOREVER));
	EXPECT_EQ(-EPIPE, gosync_chan_send(self->ch, NOWHERE, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EPIPE, gosync_chan_close(self->ch));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(1, gosync_chan_recv(self->ch, NULL, GOSYNC_FOREVER));
	/* "Zeroed on closed" is nothing: the pointer is still not touched. */
	EXPECT_EQ(0, gosync_chan_recv(self->ch, NULL, GOSYNC_FOREVER));
	EXPECT_EQ(0, gosync_chan_recv(self->ch, NOWHERE, GOSYNC_NONBLOCK));
}

TEST_F(zero, batches_count_with_no_elements)
{
	EXPECT_EQ(8, gosync_chan_send_n(self->ch, NULL, 20, GOSYNC_NONBLOCK));
	EXPECT_EQ(8, gosync_chan_len(self->ch));
	EXPECT_EQ(3, gosync_chan_recv_n(self->ch, NOWHERE, 3, GOSYNC_FOREVER));
	EXPECT_EQ(5, gosync_chan_recv_n(self->ch, NULL, 20, GOSYNC_FOREVER));
	EXPECT_EQ(-EAGAIN, gosync_chan_recv_n(self->ch, NULL, 4,
					      GOSYNC_NONBLOCK));
	EXPECT_EQ(-EINVAL, gosync_chan_send_n(self->ch, NULL, 0,
					      GOSYNC_NONBLOCK));
	/* The largest n: MAX_RW_COUNT, as for 1-byte elements; one more is not. */
	EXPECT_EQ(8, gosync_chan_send_n(self->ch, NULL, 0x7ffff000,
					GOSYNC_NONBLOCK));
	EXPECT_EQ(-EINVAL, gosync_chan_send_n(self->ch, NULL, 0x7ffff001,
					      GOSYNC_NONBLOCK));
	EXPECT_EQ(-EINVAL, gosync_chan_recv_n(self->ch, NULL, 0x7ffff001,
					      GOSYNC_NONBLOCK));
	EXPECT_EQ(8, gosync_chan_recv_n(self->ch, NULL, 0x7ffff000,
					GOSYNC_NONBLOCK));
	EXPECT_EQ(2, gosync_chan_send_n(self->ch, NULL, 2, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	EXPECT_EQ(2, gosync_chan_recv_n(self->ch, NULL, 20, GOSYNC_FOREVER));
	EXPECT_EQ(0, gosync_chan_recv_n(self->ch, NULL, 20, GOSYNC_FOREVER));
	EXPECT_EQ(-EPIPE, gosync_chan_send_n(self->ch, NULL, 2,
					     GOSYNC_FOREVER));
}

TEST_F(zero, select_beside_a_channel_of_values)
{
	struct gosync_chan *vals;
	struct gosync_case c[2];
	uint64_t v = 0;

	GOSYNC_MAKE(&vals, sizeof(v), 1);
	memset(c, 0, sizeof(c));
	c[0] = (struct gosync_case){ .ch = vals, .op = GOSYNC_RECV, .elem = &v };
	c[1] = (struct gosync_case){ .ch = self->ch, .op = GOSYNC_RECV };
	EXPECT_EQ(-EAGAIN, gosync_select(c, 2, GOSYNC_NONBLOCK));
	ASSERT_EQ(0, gosync_chan_send(self->ch, NULL, GOSYNC_NONBLOCK));
	EXPECT_EQ(1, gosync_select(c, 2, GOSYNC_FOREVER));
	EXPECT_EQ(1, c[1].ok);
	EXPECT_EQ(0, gosync_chan_len(self->ch));
	/* A send case with no element, then a receive of it. */
	c[1].op = GOSYNC_SEND;
	c[1].elem = NOWHERE;
	EXPECT_EQ(1, gosync_select(c, 2, GOSYNC_NONBLOCK));
	EXPECT_EQ(1, gosync_chan_len(self->ch));
	ASSERT_EQ(1, gosync_chan_recv(self->ch, NULL, GOSYNC_NONBLOCK));
	/* Closed: the receive case fires with ok 0. */
	c[1].op = GOSYNC_RECV;
	c[1].elem = NULL;
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	EXPECT_EQ(1, gosync_select(c, 2, GOSYNC_FOREVER));
	EXPECT_EQ(0, c[1].ok);
	/* The channel of values still needs its pointer. */
	c[0].elem = NULL;
	EXPECT_EQ(-EINVAL, gosync_select(c, 2, GOSYNC_NONBLOCK));
	gosync_chan_free(vals);
}

/* Unbuffered: a receiver blocked in another process takes a NONBLOCK send. */
TEST_F(zero, unbuffered_hands_off_to_a_blocked_receiver)
{
	struct gosync_chan *u;
	int ret = -EAGAIN;
	pid_t pid;

	GOSYNC_MAKE(&u, 0, 0);
	EXPECT_EQ(-EAGAIN, gosync_chan_send(u, NULL, GOSYNC_NONBLOCK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		alarm(20);
		_exit(gosync_chan_recv(u, NULL, GOSYNC_FOREVER) == 1 ? 0 : 1);
	}
	/* Until the child is blocked: a send before that finds nobody. */
	for (int i = 0; i < 1000 && ret == -EAGAIN; i++) {
		ret = gosync_chan_send(u, NULL, GOSYNC_NONBLOCK);
		if (ret == -EAGAIN)
			test_sleep_ms(10);
	}
	EXPECT_EQ(0, ret);
	EXPECT_EQ(0, test_wait(pid));
	gosync_chan_free(u);
}

/* A done channel: close releases every worker blocked in a receive. */
TEST_F(zero, done_channel_releases_every_worker)
{
	enum { WORKERS = 4 };
	struct gosync_chan *done;
	pid_t pid[WORKERS];
	int *ready = test_shared(sizeof(int));

	ASSERT_NE(NULL, ready);
	GOSYNC_MAKE(&done, 0, 0);
	for (int i = 0; i < WORKERS; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			alarm(20);
			__atomic_fetch_add(ready, 1, __ATOMIC_SEQ_CST);
			_exit(gosync_chan_recv(done, NULL, GOSYNC_FOREVER) == 0 ?
			      0 : 1);
		}
	}
	while (__atomic_load_n(ready, __ATOMIC_SEQ_CST) < WORKERS)
		test_sleep_ms(5);
	test_sleep_ms(100);	/* into their receives (not needed for success) */
	ASSERT_EQ(0, gosync_chan_close(done));
	for (int i = 0; i < WORKERS; i++)
		EXPECT_EQ(0, test_wait(pid[i]));
	munmap(ready, sizeof(int));
	gosync_chan_free(done);
}

/* Another process adopts the fd: same shape, same channel. */
TEST_F(zero, from_fd_in_another_process)
{
	int fd = gosync_chan_fd(self->ch);
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gosync_chan *other;

		alarm(20);
		if (gosync_chan_from_fd(&other, fd, variant->flags & GOSYNC_NOMAP))
			_exit(1);
		if (gosync_chan_elem_size(other) != 0 ||
		    gosync_chan_cap(other) != 8)
			_exit(2);
		if (gosync_chan_send_n(other, NULL, 3, GOSYNC_FOREVER) != 3)
			_exit(3);
		if (gosync_chan_recv(other, NULL, GOSYNC_FOREVER) != 1)
			_exit(4);	/* the parent's one */
		gosync_chan_free(other);
		_exit(0);
	}
	ASSERT_EQ(0, gosync_chan_send(self->ch, NULL, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(3, gosync_chan_recv_n(self->ch, NULL, 8, GOSYNC_NONBLOCK));
}

TEST_HARNESS_MAIN
