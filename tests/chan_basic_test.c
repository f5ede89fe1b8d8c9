// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Channel basics in every mode: making and freeing, len and cap, FIFO,
 * not waiting (GOSYNC_NONBLOCK), deadlines, close and what follows it,
 * batches, a second handle from the fd, and the exact errno of bad
 * arguments.
 */
#include "kselftest_harness.h"
#include "chan_test.h"

FIXTURE(chan) {
	struct gosync_chan *ch;
};

FIXTURE_VARIANT(chan) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_MODES(chan);

FIXTURE_SETUP(chan)
{
	self->ch = NULL;
	GOSYNC_MAKE(&self->ch, sizeof(uint64_t), 8);
}

FIXTURE_TEARDOWN(chan)
{
	gosync_chan_free(self->ch);
}

TEST_F(chan, shape)
{
	EXPECT_EQ(8, gosync_chan_cap(self->ch));
	EXPECT_EQ(sizeof(uint64_t), gosync_chan_elem_size(self->ch));
	EXPECT_EQ(0, gosync_chan_len(self->ch));
	EXPECT_LE(0, gosync_chan_fd(self->ch));
}

TEST_F(chan, bad_arguments_einval)
{
	struct gosync_chan *c = NULL;
	uint64_t v = 0;

	/* 0 is a valid size (chan_zero_test.c); one past the largest is not. */
	EXPECT_EQ(-EINVAL, gosync_chan_make(&c, 65536, 1, variant->flags));
	EXPECT_EQ(-EINVAL, gosync_chan_make(&c, SIZE_MAX, 1, variant->flags));
	EXPECT_EQ(-EINVAL, gosync_chan_make(&c, 8, (1 << 20) + 1,
					    variant->flags));
	EXPECT_EQ(-EINVAL, gosync_chan_make(NULL, 8, 1, variant->flags));
	EXPECT_EQ(-EINVAL, gosync_chan_make(&c, 8, 1, variant->flags | 0x80));
	EXPECT_EQ(NULL, c);
	EXPECT_EQ(-EINVAL, gosync_chan_send(self->ch, NULL, GOSYNC_FOREVER));
	EXPECT_EQ(-EINVAL, gosync_chan_recv(self->ch, NULL, GOSYNC_FOREVER));
	EXPECT_EQ(-EINVAL, gosync_chan_send(self->ch, &v, -2));
	EXPECT_EQ(-EINVAL, gosync_chan_recv(self->ch, &v, INT64_MIN));
	EXPECT_EQ(-EINVAL, gosync_chan_send(NULL, &v, GOSYNC_FOREVER));
	EXPECT_EQ(-EINVAL, gosync_chan_close(NULL));
	EXPECT_EQ(-EINVAL, gosync_chan_from_fd(&c, -1, 0));
	gosync_chan_free(NULL);
}

/* The extremes of the documented ranges are accepted. */
TEST_F(chan, largest_elements_and_capacity)
{
	struct gosync_chan *c;
	unsigned char *big = calloc(1, 65535), *out = calloc(1, 65535);
	int ret;

	ASSERT_NE(NULL, big);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, gosync_chan_make(&c, 65535, 4, variant->flags));
	memset(big, 0xa5, 65535);
	big[65534] = 0x5a;
	ASSERT_EQ(0, gosync_chan_send(c, big, GOSYNC_NONBLOCK));
	ASSERT_EQ(1, gosync_chan_recv(c, out, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, memcmp(big, out, 65535));
	gosync_chan_free(c);

	ret = gosync_chan_make(&c, 1, 1 << 20, variant->flags);
	ASSERT_EQ(0, ret) TH_LOG("cap 2^20 of 1 byte: %s", strerror(-ret));
	EXPECT_EQ(1 << 20, gosync_chan_cap(c));
	gosync_chan_free(c);

	/* In range, but past the 64 MiB a channel may take. */
	c = NULL;
	EXPECT_EQ(-ENOMEM, gosync_chan_make(&c, 65535, 1 << 20, variant->flags));
	EXPECT_EQ(-ENOMEM, gosync_chan_make(&c, 4096, 1 << 14, variant->flags));
	EXPECT_EQ(NULL, c);
	free(big);
	free(out);
}

TEST_F(chan, fifo_then_full_then_empty)
{
	uint64_t v;

	for (v = 0; v < 8; v++) {
		ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
		EXPECT_EQ(v + 1, gosync_chan_len(self->ch));
	}
	v = 99;
	EXPECT_EQ(-EAGAIN, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_send(self->ch, &v, 0));
	for (uint64_t want = 0; want < 8; want++) {
		ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
		EXPECT_EQ(want, v);
	}
	EXPECT_EQ(0, gosync_chan_len(self->ch));
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_recv(self->ch, &v, 0));
}

/* Many laps around the ring keep order (positions wrap the slots). */
TEST_F(chan, many_laps_keep_order)
{
	uint64_t in = 0, out = 0, v;

	while (out < 10000) {
		while (in - out < 5 &&
		       !gosync_chan_send(self->ch, &in, GOSYNC_NONBLOCK))
			in++;
		ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
		ASSERT_EQ(out, v);
		out++;
	}
}

/* A deadline never fires early. */
TEST_F(chan, deadline_waits_until_it_passes)
{
	int64_t start = gosync_now(), deadline = start + 50 * 1000000;
	uint64_t v;

	EXPECT_EQ(-ETIMEDOUT, gosync_chan_recv(self->ch, &v, deadline));
	EXPECT_LE(deadline, gosync_now());
	for (v = 0; v < 8; v++)
		ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	deadline = gosync_now() + 50 * 1000000;
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_send(self->ch, &v, deadline));
	EXPECT_LE(deadline, gosync_now());
	EXPECT_EQ(8, gosync_chan_len(self->ch));
}

TEST_F(chan, close_drains_then_reports_closed)
{
	uint64_t v;

	for (v = 1; v <= 3; v++)
		ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_FOREVER));
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	EXPECT_EQ(-EPIPE, gosync_chan_close(self->ch));
	EXPECT_EQ(-EPIPE, gosync_chan_send(self->ch, &v, GOSYNC_FOREVER));
	EXPECT_EQ(-EPIPE, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(3, gosync_chan_len(self->ch));
	for (uint64_t want = 1; want <= 3; want++) {
		ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_FOREVER));
		EXPECT_EQ(want, v);
	}
	/* Closed and drained: at once, every time, element zeroed. */
	v = 77;
	EXPECT_EQ(0, gosync_chan_recv(self->ch, &v, GOSYNC_FOREVER));
	EXPECT_EQ(0, v);
	v = 77;
	EXPECT_EQ(0, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, v);
	EXPECT_EQ(0, gosync_chan_len(self->ch));
}

TEST_F(chan, batches)
{
	uint64_t in[20], out[20];
	int i;

	for (i = 0; i < 20; i++)
		in[i] = 1000 + i;
	/* Only 8 fit: the batch sends what it can before the deadline. */
	EXPECT_EQ(8, gosync_chan_send_n(self->ch, in, 20, GOSYNC_NONBLOCK));
	EXPECT_EQ(8, gosync_chan_recv_n(self->ch, out, 20, GOSYNC_FOREVER));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(1000 + i, out[i]);
	EXPECT_EQ(-EAGAIN, gosync_chan_recv_n(self->ch, out, 20,
					      GOSYNC_NONBLOCK));
	EXPECT_EQ(-EINVAL, gosync_chan_send_n(self->ch, in, 0, GOSYNC_NONBLOCK));
	EXPECT_EQ(5, gosync_chan_send_n(self->ch, in + 8, 5, GOSYNC_FOREVER));
	EXPECT_EQ(2, gosync_chan_recv_n(self->ch, out, 2, GOSYNC_FOREVER));
	EXPECT_EQ(1008, out[0]);
	EXPECT_EQ(1009, out[1]);
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	EXPECT_EQ(3, gosync_chan_recv_n(self->ch, out, 20, GOSYNC_FOREVER));
	EXPECT_EQ(1012, out[2]);
	out[0] = 77;
	EXPECT_EQ(0, gosync_chan_recv_n(self->ch, out, 20, GOSYNC_FOREVER));
	EXPECT_EQ(0, out[0]);	/* closed: Go's zero value, in every mode */
	EXPECT_EQ(-EPIPE, gosync_chan_send_n(self->ch, in, 2, GOSYNC_FOREVER));
}

/* A bad deadline is EINVAL before anything moves, as for one element. */
TEST_F(chan, batches_bad_deadline_move_nothing)
{
	uint64_t in[4] = { 1, 2, 3, 4 }, out[4];

	EXPECT_EQ(-EINVAL, gosync_chan_send_n(self->ch, in, 4, -5));
	EXPECT_EQ(0, gosync_chan_len(self->ch));
	EXPECT_EQ(4, gosync_chan_send_n(self->ch, in, 4, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EINVAL, gosync_chan_recv_n(self->ch, out, 4, -5));
	EXPECT_EQ(4, gosync_chan_len(self->ch));
	EXPECT_EQ(4, gosync_chan_recv_n(self->ch, out, 4, GOSYNC_NONBLOCK));
	EXPECT_EQ(1, out[0]);
	EXPECT_EQ(4, out[3]);
}

/* A second handle from the fd is the same channel. */
TEST_F(chan, from_fd_is_the_same_channel)
{
	struct gosync_chan *other;
	uint64_t v = 42;

	ASSERT_EQ(0, gosync_chan_from_fd(&other, gosync_chan_fd(self->ch),
					 variant->flags & GOSYNC_NOMAP));
	EXPECT_EQ(8, gosync_chan_cap(other));
	EXPECT_EQ(sizeof(uint64_t), gosync_chan_elem_size(other));
	EXPECT_NE(gosync_chan_fd(self->ch), gosync_chan_fd(other));
	ASSERT_EQ(0, gosync_chan_send(other, &v, GOSYNC_NONBLOCK));
	v = 0;
	ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(42, v);
	ASSERT_EQ(0, gosync_chan_close(other));
	EXPECT_EQ(0, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	gosync_chan_free(other);
}

/* An fd that is no channel at all. */
TEST_F(chan, from_fd_of_something_else)
{
	struct gosync_chan *other = NULL;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-EINVAL, gosync_chan_from_fd(&other, p[0], 0));
	EXPECT_EQ(-EOPNOTSUPP, gosync_chan_from_fd(&other, p[0], GOSYNC_NOMAP));
	EXPECT_EQ(NULL, other);
	close(p[0]);
	close(p[1]);
}

/* Freeing one handle leaves the channel to the other. */
TEST_F(chan, free_one_handle_keeps_channel)
{
	struct gosync_chan *other;
	uint64_t v = 7;

	ASSERT_EQ(0, gosync_chan_from_fd(&other, gosync_chan_fd(self->ch), 0));
	ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	gosync_chan_free(self->ch);
	self->ch = NULL;
	v = 0;
	EXPECT_EQ(1, gosync_chan_recv(other, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(7, v);
	gosync_chan_free(other);
}

/* A buffered send_sync returns only once the element was received. */
TEST_F(chan, send_sync_waits_for_the_receiver)
{
	uint64_t v = 5;
	pid_t pid;

	/* No receiver: the element is withdrawn, never received later. */
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_send_sync(self->ch, &v, test_ms(30)));
	EXPECT_EQ(-EAGAIN, gosync_chan_send_sync(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		test_sleep_ms(100);
		_exit(gosync_chan_recv(self->ch, &v, GOSYNC_FOREVER) == 1 &&
		      v == 6 ? 0 : 1);
	}
	v = 6;
	EXPECT_EQ(0, gosync_chan_send_sync(self->ch, &v, GOSYNC_FOREVER));
	/* Received, so nothing is left queued. */
	EXPECT_EQ(0, gosync_chan_len(self->ch));
	EXPECT_EQ(0, test_wait(pid));
}

/*
 * Withdrawn sync sends leave positions that receivers pass over; passing
 * them frees slots, and a sender waiting for room must hear of it even
 * when the receive that passed them found nothing to take.
 */
TEST_F(chan, passing_withdrawn_positions_wakes_senders)
{
	struct gosync_chan *c;
	uint64_t v = 1;
	pid_t pid;

	ASSERT_EQ(0, gosync_chan_make(&c, sizeof(v), 2, variant->flags));
	ASSERT_EQ(0, gosync_chan_send(c, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_send_sync(c, &v, test_ms(20)));
	ASSERT_EQ(1, gosync_chan_recv(c, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_send_sync(c, &v, test_ms(20)));
	/* Both slots hold withdrawn positions: a sender must wait. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		v = 4;
		_exit(gosync_chan_send(c, &v, test_ms(20000)) ? 1 : 0);
	}
	test_sleep_ms(150);
	/*
	 * Passes both and finds nothing, or, if the woken sender was quick,
	 * its element; either way the sender was owed the room.
	 */
	int r = gosync_chan_recv(c, &v, GOSYNC_NONBLOCK);

	EXPECT_TRUE(r == -EAGAIN || r == 1);
	if (r == -EAGAIN)
		ASSERT_EQ(1, gosync_chan_recv(c, &v, test_ms(5000)));
	EXPECT_EQ(4, v);
	EXPECT_EQ(0, test_wait(pid));
	gosync_chan_free(c);
}

TEST_HARNESS_MAIN
