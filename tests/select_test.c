// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Select in every mode: the case that fires and what it carries, default
 * (GOSYNC_NONBLOCK), deadlines, nil channels, no cases, closed channels
 * (a receive sees closed, a send fails with EPIPE naming its case), the
 * same channel twice, uniform choice among ready cases, exactly one case
 * firing while other processes make many ready at once, a "done" channel
 * closed by another process, unbuffered sends meeting receivers (and
 * other selects), a dead receiver not stretching a deadline, and more
 * cases than futex_waitv() can wait on.
 */
#include <pthread.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "chan_test.h"

FIXTURE(sel) {
	struct gosync_chan *a, *b;
};

FIXTURE_VARIANT(sel) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_MODES(sel);

FIXTURE_SETUP(sel)
{
	self->a = self->b = NULL;
	GOSYNC_MAKE(&self->a, sizeof(uint64_t), 4);
	ASSERT_EQ(0, gosync_chan_make(&self->b, sizeof(uint64_t), 4,
				      variant->flags));
}

FIXTURE_TEARDOWN(sel)
{
	gosync_chan_free(self->a);
	gosync_chan_free(self->b);
}

static void put(struct __test_metadata *_metadata, struct gosync_chan *ch,
		uint64_t v)
{
	ASSERT_EQ(0, gosync_chan_send(ch, &v, GOSYNC_NONBLOCK));
}

TEST_F(sel, the_ready_case_fires)
{
	uint64_t va = 0, vb = 0;
	struct gosync_case c[2] = {
		{ .ch = self->a, .op = GOSYNC_RECV, .elem = &va, .ok = -9 },
		{ .ch = self->b, .op = GOSYNC_RECV, .elem = &vb, .ok = -9 },
	};

	put(_metadata, self->b, 22);
	EXPECT_EQ(1, gosync_select(c, 2, GOSYNC_FOREVER));
	EXPECT_EQ(1, c[1].ok);
	EXPECT_EQ(22, vb);
	EXPECT_EQ(0, va);
	EXPECT_EQ(-9, c[0].ok);		/* untouched */
	/* Nothing left: default, and deadlines. */
	EXPECT_EQ(-EAGAIN, gosync_select(c, 2, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_select(c, 2, test_ms(30)));
	EXPECT_EQ(-ETIMEDOUT, gosync_select(c, 2, 0));
	EXPECT_EQ(0, gosync_chan_len(self->a));
}

TEST_F(sel, send_and_receive_cases)
{
	uint64_t out = 5, in = 0;
	struct gosync_case c[2] = {
		{ .ch = self->a, .op = GOSYNC_SEND, .elem = &out },
		{ .ch = self->b, .op = GOSYNC_RECV, .elem = &in },
	};

	/* Only the send can go: it fires, and the value is in a. */
	EXPECT_EQ(0, gosync_select(c, 2, GOSYNC_NONBLOCK));
	EXPECT_EQ(1, c[0].ok);
	ASSERT_EQ(1, gosync_chan_recv(self->a, &in, GOSYNC_NONBLOCK));
	EXPECT_EQ(5, in);
	/* a full: only the receive could go, and there is nothing. */
	for (int i = 0; i < 4; i++)
		put(_metadata, self->a, i);
	EXPECT_EQ(-EAGAIN, gosync_select(c, 2, GOSYNC_NONBLOCK));
	put(_metadata, self->b, 8);
	EXPECT_EQ(1, gosync_select(c, 2, GOSYNC_NONBLOCK));
	EXPECT_EQ(8, in);
}

TEST_F(sel, bad_arguments)
{
	uint64_t v;
	struct gosync_case c = { .ch = self->a, .op = 4, .elem = &v };

	EXPECT_EQ(-EINVAL, gosync_select(&c, 1, GOSYNC_NONBLOCK));
	c.op = GOSYNC_RECV;
	EXPECT_EQ(-EINVAL, gosync_select(&c, 1, -7));
	EXPECT_EQ(-EINVAL, gosync_select(NULL, 1, GOSYNC_NONBLOCK));
	c.elem = NULL;
	EXPECT_EQ(-EINVAL, gosync_select(&c, 1, GOSYNC_NONBLOCK));
	EXPECT_EQ(-EINVAL, gosync_select(&c, GOSYNC_SELECT_MAX + 1,
					 GOSYNC_NONBLOCK));
}

/* Go's nil channel: never ready. */
TEST_F(sel, nil_channel_is_never_ready)
{
	uint64_t v = 0, w = 0;
	struct gosync_case c[2] = {
		{ .ch = NULL, .op = GOSYNC_RECV, .elem = &w },
		{ .ch = self->a, .op = GOSYNC_RECV, .elem = &v },
	};

	for (int i = 0; i < 20; i++) {
		put(_metadata, self->a, i);
		EXPECT_EQ(1, gosync_select(c, 2, GOSYNC_FOREVER));
	}
	EXPECT_EQ(-EAGAIN, gosync_select(c, 1, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_select(c, 1, test_ms(20)));
	c[0].op = GOSYNC_SEND;
	EXPECT_EQ(-EAGAIN, gosync_select(c, 1, GOSYNC_NONBLOCK));
}

static void on_usr1(int sig)
{
	(void)sig;
}

struct nothing {
	int ret;
	pid_t tid;
};

static void *select_nothing(void *arg)
{
	struct nothing *n = arg;

	__atomic_store_n(&n->tid, gettid(), __ATOMIC_RELEASE);
	n->ret = gosync_select(NULL, 0, GOSYNC_FOREVER);
	return NULL;
}

/* No cases: default is EAGAIN, a deadline passes, forever ends at a signal. */
TEST_F(sel, no_cases)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct nothing n = { 0 };
	pthread_t t;

	EXPECT_EQ(-EAGAIN, gosync_select(NULL, 0, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_select(NULL, 0, test_ms(20)));
	sigaction(SIGUSR1, &sa, NULL);
	ASSERT_EQ(0, pthread_create(&t, NULL, select_nothing, &n));
	while (!__atomic_load_n(&n.tid, __ATOMIC_ACQUIRE))
		sched_yield();
	test_wait_asleep(n.tid, 10000);
	test_sleep_ms(20);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	EXPECT_EQ(-EINTR, n.ret);
}

TEST_F(sel, closed_channels)
{
	uint64_t v = 77, w = 1;
	struct gosync_case c[2] = {
		{ .ch = self->a, .op = GOSYNC_RECV, .elem = &v },
		{ .ch = self->b, .op = GOSYNC_RECV, .elem = &w },
	};

	ASSERT_EQ(0, gosync_chan_close(self->a));
	EXPECT_EQ(0, gosync_select(c, 2, GOSYNC_FOREVER));
	EXPECT_EQ(0, c[0].ok);
	EXPECT_EQ(0, v);
	/* A send on the closed channel is ready, and fails, naming its case. */
	c[0].op = GOSYNC_SEND;
	c[0].ok = 0;
	c[1].ok = 0;
	EXPECT_EQ(-EPIPE, gosync_select(c, 2, GOSYNC_FOREVER));
	EXPECT_EQ(-EPIPE, c[0].ok);
	EXPECT_EQ(0, c[1].ok);
}

TEST_F(sel, same_channel_twice)
{
	uint64_t v1 = 0, v2 = 0;
	struct gosync_case c[2] = {
		{ .ch = self->a, .op = GOSYNC_RECV, .elem = &v1 },
		{ .ch = self->a, .op = GOSYNC_RECV, .elem = &v2 },
	};
	int seen[2] = { 0 };

	for (uint64_t i = 1; i <= 200; i++) {
		int k;

		put(_metadata, self->a, i);
		k = gosync_select(c, 2, GOSYNC_FOREVER);
		ASSERT_LE(0, k);
		ASSERT_GT(2, k);
		EXPECT_EQ(i, k ? v2 : v1);
		seen[k]++;
	}
	EXPECT_LT(0, seen[0]);
	EXPECT_LT(0, seen[1]);
	EXPECT_EQ(0, gosync_chan_len(self->a));
}

/* Two always-ready channels: each fires about half the time. */
TEST_F_TIMEOUT(sel, uniform_among_ready_cases, 300)
{
	const int rounds = 100000;
	uint64_t va, vb;
	struct gosync_case c[2] = {
		{ .ch = self->a, .op = GOSYNC_RECV, .elem = &va },
		{ .ch = self->b, .op = GOSYNC_RECV, .elem = &vb },
	};
	int count[2] = { 0 };

	put(_metadata, self->a, 1);
	put(_metadata, self->b, 2);
	for (int i = 0; i < rounds; i++) {
		int k = gosync_select(c, 2, GOSYNC_NONBLOCK);

		ASSERT_TRUE(k == 0 || k == 1);
		count[k & 1]++;
		put(_metadata, k ? self->b : self->a, 1);
	}
	TH_LOG("a %d, b %d of %d", count[0], count[1], rounds);
	/* Within 3% of half (the binomial sigma is 0.16%). */
	EXPECT_GT(rounds / 2 * 103 / 100, count[0]);
	EXPECT_LT(rounds / 2 * 97 / 100, count[0]);
}

#define SENDERS		4
#define PER_SENDER	2000

struct tally {
	uint32_t seen[SENDERS][PER_SENDER];
	int bad;
};

/*
 * Senders in other processes keep both channels ready at once; selecting
 * receivers in two processes take them.  Every element arrives exactly
 * once: no case took one without firing, none was lost.
 */
TEST_F_TIMEOUT(sel, exactly_one_fires_under_concurrency, 300)
{
	struct tally *t = test_shared(sizeof(*t));
	pid_t pids[SENDERS + 2];
	int i;

	ASSERT_NE(NULL, t);
	for (i = 0; i < SENDERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			struct gosync_chan *ch = i % 2 ? self->b : self->a;

			for (uint64_t s = 0; s < PER_SENDER; s++) {
				uint64_t v = (uint64_t)i << 32 | s;

				if (gosync_chan_send(ch, &v, test_ms(60000)))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (i = SENDERS; i < SENDERS + 2; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			uint64_t va = ~0ULL, vb = ~0ULL;
			struct gosync_case c[2] = {
				{ .ch = self->a, .op = GOSYNC_RECV, .elem = &va },
				{ .ch = self->b, .op = GOSYNC_RECV, .elem = &vb },
			};
			int open = 2;

			while (open) {
				int k = gosync_select(c, 2, test_ms(60000));
				uint64_t v;

				if (k < 0)
					_exit(2);
				if (!c[k].ok) {
					c[k].ch = NULL;	/* closed: a nil channel now */
					open--;
					continue;
				}
				v = k ? vb : va;
				if ((v >> 32) >= SENDERS ||
				    (v & 0xffffffff) >= PER_SENDER)
					__atomic_add_fetch(&t->bad, 1, __ATOMIC_SEQ_CST);
				else
					__atomic_add_fetch(&t->seen[v >> 32][v & 0xffffffff],
							   1, __ATOMIC_SEQ_CST);
			}
			_exit(0);
		}
	}
	for (i = 0; i < SENDERS; i++)
		EXPECT_EQ(0, test_wait(pids[i]));
	ASSERT_EQ(0, gosync_chan_close(self->a));
	ASSERT_EQ(0, gosync_chan_close(self->b));
	for (i = SENDERS; i < SENDERS + 2; i++)
		EXPECT_EQ(0, test_wait(pids[i]));

	int missing = 0, dup = 0;

	for (i = 0; i < SENDERS; i++)
		for (int s = 0; s < PER_SENDER; s++) {
			missing += t->seen[i][s] == 0;
			dup += t->seen[i][s] > 1;
		}
	EXPECT_EQ(0, missing);
	EXPECT_EQ(0, dup);
	EXPECT_EQ(0, t->bad);
	munmap(t, sizeof(*t));
}

/* Cancellation: closing "done" in another process wakes the select. */
TEST_F(sel, done_channel_closed_elsewhere)
{
	struct gosync_chan *done;
	uint64_t v = 0;
	char d = 'x';
	pid_t pid;

	ASSERT_EQ(0, gosync_chan_make(&done, 1, 0, variant->flags));
	struct gosync_case c[2] = {
		{ .ch = self->a, .op = GOSYNC_RECV, .elem = &v },
		{ .ch = done, .op = GOSYNC_RECV, .elem = &d },
	};

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		test_sleep_ms(100);
		_exit(gosync_chan_close(done) ? 1 : 0);
	}
	EXPECT_EQ(1, gosync_select(c, 2, test_ms(20000)));
	EXPECT_EQ(0, c[1].ok);
	EXPECT_EQ(0, d);
	EXPECT_EQ(0, test_wait(pid));
	gosync_chan_free(done);
}

/* An unbuffered send case meets a receiver blocked in another process. */
TEST_F(sel, unbuffered_send_case_meets_a_receiver)
{
	struct gosync_chan *u;
	uint64_t v = 31, got = 0;
	pid_t pid;

	ASSERT_EQ(0, gosync_chan_make(&u, sizeof(v), 0, variant->flags));
	struct gosync_case c[2] = {
		{ .ch = u, .op = GOSYNC_SEND, .elem = &v },
		{ .ch = self->a, .op = GOSYNC_RECV, .elem = &got },
	};

	/* Nobody receives: a select with default does not send. */
	EXPECT_EQ(-EAGAIN, gosync_select(c, 2, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_select(c, 2, test_ms(50)));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t r = 0;

		if (gosync_chan_recv(u, &r, test_ms(20000)) != 1)
			_exit(1);
		_exit(r == 31 ? 0 : 2);
	}
	EXPECT_EQ(0, gosync_select(c, 2, test_ms(20000)));
	EXPECT_EQ(1, c[0].ok);
	EXPECT_EQ(0, test_wait(pid));
	/* Nothing was left behind. */
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(u, &got, GOSYNC_NONBLOCK));
	gosync_chan_free(u);
}

/* Two selects meet on an unbuffered channel, one sending, one receiving. */
/*
 * A receiver killed while blocked on an unbuffered channel may leave
 * itself counted (standalone mode cannot know it died); a select sending
 * there may try to hand it the element, but still keeps its deadline
 * (within one hand-off, 100 ms), however long GOSYNC_SPIN is.
 */
TEST_F(sel, unbuffered_send_to_a_dead_receiver_keeps_the_deadline)
{
	struct gosync_chan *u;
	uint64_t v = 7;
	struct gosync_case c[1];
	int64_t t0;
	pid_t pid;

	GOSYNC_MAKE(&u, sizeof(v), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(gosync_chan_recv(u, &v, GOSYNC_FOREVER) == 1 ? 0 : 1);
	test_sleep_ms(50);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	c[0] = (struct gosync_case){ .ch = u, .op = GOSYNC_SEND, .elem = &v };
	t0 = gosync_now();
	EXPECT_EQ(-ETIMEDOUT, gosync_select(c, 1, test_ms(10)));
	EXPECT_LT(gosync_now() - t0, 1000000000LL);
	gosync_chan_free(u);
}

/*
 * And a non-blocking select over ten such send cases (one dead receiver
 * counted on all ten: a select's) spends one hand-off bound on them all,
 * as the kernel's does: -EAGAIN well within a second.  Each case had its
 * own 100 ms before, in each of two rounds: 2 s.
 */
TEST_F(sel, nonblocking_select_over_dead_receivers_has_one_bound)
{
	struct gosync_chan *u[10];
	struct gosync_case c[10];
	uint64_t v = 7, r[10];
	int64_t t0;
	pid_t pid;

	if (variant->kernel)
		SKIP(return, "the kernel knows the receiver died");
	for (int i = 0; i < 10; i++)
		GOSYNC_MAKE(&u[i], sizeof(v), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		for (int i = 0; i < 10; i++)
			c[i] = (struct gosync_case){ .ch = u[i], .op = GOSYNC_RECV,
						     .elem = &r[i] };
		_exit(gosync_select(c, 10, GOSYNC_FOREVER) >= 0 ? 0 : 1);
	}
	for (int i = 0; gosync_test_task_state(pid, pid, NULL) != 'S'; i++) {
		if (i == 10000)
			kill(pid, SIGKILL);
		ASSERT_LT(i, 10000) TH_LOG("the receiver never blocked");
		test_sleep_ms(1);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 10; i++)
		c[i] = (struct gosync_case){ .ch = u[i], .op = GOSYNC_SEND, .elem = &v };
	t0 = gosync_now();
	EXPECT_EQ(-EAGAIN, gosync_select(c, 10, GOSYNC_NONBLOCK));
	EXPECT_LT(gosync_now() - t0, 1000000000LL);
	for (int i = 0; i < 10; i++)
		gosync_chan_free(u[i]);
}

TEST_F(sel, two_selects_meet_on_an_unbuffered_channel)
{
	struct gosync_chan *u;
	uint64_t v = 99, other = 0;
	pid_t pid;

	ASSERT_EQ(0, gosync_chan_make(&u, sizeof(v), 0, variant->flags));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t r = 0;
		struct gosync_case c[2] = {
			{ .ch = u, .op = GOSYNC_RECV, .elem = &r },
			{ .ch = self->b, .op = GOSYNC_RECV, .elem = &other },
		};
		int k = gosync_select(c, 2, test_ms(20000));

		_exit(k == 0 && c[0].ok == 1 && r == 99 ? 0 : 1);
	}
	test_sleep_ms(50);
	struct gosync_case c[2] = {
		{ .ch = u, .op = GOSYNC_SEND, .elem = &v },
		{ .ch = self->a, .op = GOSYNC_RECV, .elem = &other },
	};

	EXPECT_EQ(0, gosync_select(c, 2, test_ms(20000)));
	EXPECT_EQ(0, test_wait(pid));
	gosync_chan_free(u);
}

/*
 * Crossed selects on two unbuffered channels, {recv A, send B} here and
 * {recv B, send A} there: they must meet on one of them, not wait for
 * each other.
 */
TEST_F_TIMEOUT(sel, crossed_selects_on_unbuffered_channels, 120)
{
	struct gosync_chan *ua, *ub;
	int *other = test_shared(4096);

	ASSERT_NE(NULL, other);
	ASSERT_EQ(0, gosync_chan_make(&ua, sizeof(uint64_t), 0, variant->flags));
	ASSERT_EQ(0, gosync_chan_make(&ub, sizeof(uint64_t), 0, variant->flags));
	for (int round = 0; round < 20; round++) {
		uint64_t in = 0, out = 100 + round;
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			uint64_t pin = 0, pout = 200 + round;
			struct gosync_case c[2] = {
				{ .ch = ub, .op = GOSYNC_RECV, .elem = &pin },
				{ .ch = ua, .op = GOSYNC_SEND, .elem = &pout },
			};
			int k = gosync_select(c, 2, test_ms(20000));

			other[0] = k;
			other[1] = k == 0 ? (int)pin : 0;
			_exit(k < 0);
		}
		struct gosync_case c[2] = {
			{ .ch = ua, .op = GOSYNC_RECV, .elem = &in },
			{ .ch = ub, .op = GOSYNC_SEND, .elem = &out },
		};
		int k = gosync_select(c, 2, test_ms(20000));

		EXPECT_EQ(0, test_wait(pid));
		ASSERT_LE(0, k);
		/* Met on A (we received) or on B (they received). */
		if (k == 0) {
			EXPECT_EQ(1, other[0]);
			EXPECT_EQ(200 + round, in);
		} else {
			EXPECT_EQ(0, other[0]);
			EXPECT_EQ(100 + round, other[1]);
		}
	}
	gosync_chan_free(ua);
	gosync_chan_free(ub);
	munmap(other, 4096);
}

/* More cases than futex_waitv() takes (128): still woken, just later. */
TEST_F_TIMEOUT(sel, more_cases_than_futex_waitv_takes, 120)
{
	enum { N = 200 };
	struct gosync_chan *ch[N];
	struct gosync_case c[N];
	uint64_t vals[N];
	pid_t pid;
	int i;

	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, gosync_chan_make(&ch[i], sizeof(uint64_t), 1,
					      variant->flags));
		c[i] = (struct gosync_case){ .ch = ch[i], .op = GOSYNC_RECV, .elem = &vals[i] };
	}
	for (int target = 0; target < N; target += 197) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			uint64_t v = 1000 + target;

			test_sleep_ms(100);
			_exit(gosync_chan_send(ch[target], &v, GOSYNC_FOREVER) ?
			      1 : 0);
		}
		EXPECT_EQ(target, gosync_select(c, N, test_ms(20000)));
		EXPECT_EQ(1000 + target, vals[target]);
		EXPECT_EQ(0, test_wait(pid));
	}
	for (i = 0; i < N; i++)
		gosync_chan_free(ch[i]);
}

TEST_HARNESS_MAIN
