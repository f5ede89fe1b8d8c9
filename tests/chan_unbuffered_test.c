// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unbuffered channels in every mode: a send completes only once a
 * receiver has taken the value (rendezvous), a send nobody takes is
 * withdrawn and never received later, and a send that must not wait
 * succeeds exactly when a receiver is already waiting (Go's select with a
 * default case).
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "chan_test.h"

FIXTURE(unbuf) {
	struct gosync_chan *ch;
	int64_t *stamps;	/* shared with the other process */
};

FIXTURE_VARIANT(unbuf) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_MODES(unbuf);

FIXTURE_SETUP(unbuf)
{
	self->ch = NULL;
	self->stamps = test_shared(4096);
	ASSERT_NE(NULL, self->stamps);
	GOSYNC_MAKE(&self->ch, sizeof(uint64_t), 0);
}

FIXTURE_TEARDOWN(unbuf)
{
	gosync_chan_free(self->ch);
	munmap(self->stamps, 4096);
}

TEST_F(unbuf, shape)
{
	EXPECT_EQ(0, gosync_chan_cap(self->ch));
	EXPECT_EQ(0, gosync_chan_len(self->ch));
}

/* Nobody receives: nothing to send into, nothing left behind. */
TEST_F(unbuf, no_receiver)
{
	uint64_t v = 1;

	EXPECT_EQ(-EAGAIN, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_send(self->ch, &v, test_ms(30)));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_send(self->ch, &v, 0));
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_recv(self->ch, &v, test_ms(30)));
	EXPECT_EQ(0, gosync_chan_len(self->ch));
}

/*
 * The sender, in another process, must not return before the receiver
 * (here, 150 ms later) has called receive; the receive gets the value.
 */
TEST_F(unbuf, send_returns_only_after_the_receive)
{
	int64_t *send_returned = &self->stamps[0];
	uint64_t v;
	int64_t recv_called;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		v = 314;
		if (gosync_chan_send(self->ch, &v, GOSYNC_FOREVER))
			_exit(1);
		__atomic_store_n(send_returned, gosync_now(), __ATOMIC_SEQ_CST);
		_exit(0);
	}
	test_sleep_ms(150);
	EXPECT_EQ(0, __atomic_load_n(send_returned, __ATOMIC_SEQ_CST));
	recv_called = gosync_now();
	ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_FOREVER));
	EXPECT_EQ(314, v);
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_LE(recv_called, __atomic_load_n(send_returned, __ATOMIC_SEQ_CST));
}

/* The mirror image: the receiver waits for the sender. */
TEST_F(unbuf, receive_waits_for_the_send)
{
	uint64_t v = 0;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		test_sleep_ms(100);
		v = 2718;
		_exit(gosync_chan_send(self->ch, &v, GOSYNC_FOREVER) ? 1 : 0);
	}
	ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_FOREVER));
	EXPECT_EQ(2718, v);
	EXPECT_EQ(0, test_wait(pid));
}

/* A withdrawn send (deadline passed) is never received afterwards. */
TEST_F(unbuf, timed_out_send_is_withdrawn)
{
	uint64_t v = 1;

	for (int i = 0; i < 5; i++)
		EXPECT_EQ(-ETIMEDOUT, gosync_chan_send(self->ch, &v, test_ms(5)));
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));

	/* And the channel still works afterwards. */
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		v = 9;
		_exit(gosync_chan_send(self->ch, &v, GOSYNC_FOREVER) ? 1 : 0);
	}
	ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, test_ms(10000)));
	EXPECT_EQ(9, v);
	EXPECT_EQ(0, test_wait(pid));
}

/*
 * Go: "select { case ch <- v: default: }" succeeds when a receiver is
 * already blocked.  The receiver takes the value exactly once.
 */
TEST_F(unbuf, nonblocking_send_to_a_waiting_receiver)
{
	int64_t *got = &self->stamps[1];
	uint64_t v = 77;
	int ret = -EAGAIN;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t r = 0;

		if (gosync_chan_recv(self->ch, &r, test_ms(20000)) != 1)
			_exit(1);
		__atomic_store_n(got, (int64_t)r, __ATOMIC_SEQ_CST);
		/* Nothing more arrives. */
		_exit(gosync_chan_recv(self->ch, &r, test_ms(200)) ==
		      -ETIMEDOUT ? 0 : 2);
	}
	/* Retry until the receiver is blocked (bounded). */
	for (int i = 0; i < 2000 && ret == -EAGAIN; i++) {
		ret = gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK);
		if (ret == -EAGAIN)
			test_sleep_ms(5);
	}
	EXPECT_EQ(0, ret);
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(77, __atomic_load_n(got, __ATOMIC_SEQ_CST));
}

/* Many round trips between two processes: each value exactly once. */
TEST_F(unbuf, ping_pong_in_order)
{
	struct gosync_chan *back;
	uint64_t v;
	pid_t pid;

	ASSERT_EQ(0, gosync_chan_make(&back, sizeof(v), 0, variant->flags));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (;;) {
			int r = gosync_chan_recv(self->ch, &v, GOSYNC_FOREVER);

			if (r == 0)
				_exit(0);
			if (r != 1)
				_exit(1);
			v++;
			if (gosync_chan_send(back, &v, GOSYNC_FOREVER))
				_exit(2);
		}
	}
	for (uint64_t i = 0; i < 500; i += 2) {
		v = i;
		ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_FOREVER));
		ASSERT_EQ(1, gosync_chan_recv(back, &v, GOSYNC_FOREVER));
		ASSERT_EQ(i + 1, v);
	}
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	EXPECT_EQ(0, test_wait(pid));
	gosync_chan_free(back);
}

struct sender {
	struct gosync_chan *ch;
	uint64_t base;
	int ret;
};

static void *send_three(void *arg)
{
	struct sender *s = arg;

	for (uint64_t i = 0; i < 3 && !s->ret; i++) {
		uint64_t v = s->base + i;

		s->ret = gosync_chan_send(s->ch, &v, test_ms(20000));
	}
	return NULL;
}

/* Several blocked senders: every value arrives once, per-sender order. */
TEST_F(unbuf, several_senders)
{
	struct sender s[4];
	pthread_t t[4];
	uint64_t last[4] = { 0 }, v;
	int i;

	for (i = 0; i < 4; i++) {
		s[i] = (struct sender){ self->ch, (uint64_t)(i + 1) << 32, 0 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, send_three, &s[i]));
	}
	for (i = 0; i < 12; i++) {
		ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, test_ms(20000)));
		int who = (v >> 32) - 1;

		ASSERT_LE(0, who);
		ASSERT_GT(4, who);
		EXPECT_EQ(last[who], v & 0xffffffff);
		last[who]++;
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, s[i].ret);
		EXPECT_EQ(3, last[i]);
	}
}

/* Close fails a blocked sender with EPIPE; its value is never received. */
TEST_F(unbuf, close_fails_the_blocked_sender)
{
	uint64_t v = 5;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(gosync_chan_send(self->ch, &v, test_ms(20000)) == -EPIPE ?
		      0 : 1);
	test_sleep_ms(100);
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	EXPECT_EQ(0, test_wait(pid));
	EXPECT_EQ(0, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, v);
}

/*
 * A receiver killed while blocked is not waiting any more: a send that
 * must not wait fails with EAGAIN, at once in kernel mode, after a short
 * hand-off in standalone mode (whose waiter count the dead cannot fix).
 */
TEST_F(unbuf, nonblocking_send_after_the_receiver_was_killed)
{
	uint64_t v = 3;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		gosync_chan_recv(self->ch, &v, GOSYNC_FOREVER);
		_exit(1);
	}
	test_sleep_ms(100);
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, test_wait(pid));
	EXPECT_EQ(-EAGAIN, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
}

TEST_HARNESS_MAIN
