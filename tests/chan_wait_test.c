// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Waiting in every mode: close releases every blocked sender (EPIPE) and
 * receiver (closed) in other processes; a signal interrupts a wait with
 * EINTR without SA_RESTART and restarts it with SA_RESTART, without
 * losing or duplicating an element; a
 * peer killed while blocked leaves the channel working for everyone
 * else.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "chan_test.h"

FIXTURE(wait) {
	struct gosync_chan *ch;
	int *status;		/* per child, shared */
};

FIXTURE_VARIANT(wait) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_MODES(wait);

FIXTURE_SETUP(wait)
{
	self->ch = NULL;
	self->status = test_shared(4096);
	ASSERT_NE(NULL, self->status);
	GOSYNC_MAKE(&self->ch, sizeof(uint64_t), 2);
}

FIXTURE_TEARDOWN(wait)
{
	gosync_chan_free(self->ch);
	munmap(self->status, 4096);
}

/* Children that block until released; each reports what it saw. */
TEST_F(wait, close_releases_blocked_senders_and_receivers)
{
	struct gosync_chan *full;
	pid_t pid[6];
	uint64_t v = 1;
	int i;

	ASSERT_EQ(0, gosync_chan_make(&full, sizeof(v), 1, variant->flags));
	ASSERT_EQ(0, gosync_chan_send(full, &v, GOSYNC_NONBLOCK));
	for (i = 0; i < 6; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			int r;

			/* Three receivers on an empty channel, three senders on a full one. */
			if (i < 3)
				r = gosync_chan_recv(self->ch, &v, test_ms(30000));
			else
				r = gosync_chan_send(full, &v, test_ms(30000));
			self->status[i] = r;
			_exit(0);
		}
	}
	test_sleep_ms(200);
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	ASSERT_EQ(0, gosync_chan_close(full));
	for (i = 0; i < 6; i++)
		EXPECT_EQ(0, test_wait(pid[i]));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, self->status[i]) TH_LOG("receiver %d", i);
	for (i = 3; i < 6; i++)
		EXPECT_EQ(-EPIPE, self->status[i]) TH_LOG("sender %d", i);
	/* The element sent before close is still there. */
	EXPECT_EQ(1, gosync_chan_recv(full, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(0, gosync_chan_recv(full, &v, GOSYNC_NONBLOCK));
	gosync_chan_free(full);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void set_handler(bool restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGUSR1, &sa, NULL);
}

struct blocked {
	struct gosync_chan *ch;
	bool send;
	int ret;
	uint64_t v;
	pid_t tid;
};

static void *block(void *arg)
{
	struct blocked *b = arg;

	__atomic_store_n(&b->tid, gettid(), __ATOMIC_RELEASE);
	b->ret = b->send ? gosync_chan_send(b->ch, &b->v, test_ms(20000)) :
			   gosync_chan_recv(b->ch, &b->v, test_ms(20000));
	return NULL;
}

/*
 * Signal @t once it sleeps in its wait: a signal that comes before, while
 * it still spins in user space, only runs the handler (slow guests).
 */
static void signal_asleep(struct blocked *b, pthread_t t)
{
	while (!__atomic_load_n(&b->tid, __ATOMIC_ACQUIRE))
		sched_yield();
	test_wait_asleep(b->tid, 10000);
	test_sleep_ms(20);
	pthread_kill(t, SIGUSR1);
}

/* Without SA_RESTART a signal ends the wait with EINTR; nothing is lost. */
TEST_F(wait, signal_interrupts_with_eintr)
{
	struct blocked b = { .ch = self->ch };
	pthread_t t;
	uint64_t v;

	set_handler(false);
	ASSERT_EQ(0, pthread_create(&t, NULL, block, &b));
	signal_asleep(&b, t);
	pthread_join(t, NULL);
	EXPECT_EQ(-EINTR, b.ret);

	/* A blocked sender too; the element it did not send is not there. */
	for (v = 0; v < 2; v++)
		ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	b = (struct blocked){ .ch = self->ch, .send = true, .v = 99 };
	ASSERT_EQ(0, pthread_create(&t, NULL, block, &b));
	signal_asleep(&b, t);
	pthread_join(t, NULL);
	EXPECT_EQ(-EINTR, b.ret);
	for (uint64_t want = 0; want < 2; want++) {
		ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
		EXPECT_EQ(want, v);
	}
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
}

/*
 * SA_RESTART restarts a gosync wait, as read(2) on a pipe: the handler
 * runs and the wait goes on with the same absolute deadline, ending as it
 * would have without the signal (signal_rule_test.c covers every wait).
 */
TEST_F(wait, signal_with_sa_restart_goes_on)
{
	struct blocked b = { .ch = self->ch };
	pthread_t t;
	uint64_t v = 4242;
	int r;

#ifdef __SANITIZE_THREAD__
	SKIP(return, "TSan defers signal handlers past a restarted wait");
#endif
	set_handler(true);
	ASSERT_EQ(0, pthread_create(&t, NULL, block, &b));
	signal_asleep(&b, t);
	test_sleep_ms(100);
	ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	pthread_join(t, NULL);
	r = b.ret;
	EXPECT_EQ(1, r);
	EXPECT_EQ(4242, b.v);
}

/* SIGKILL a peer blocked in receive and one blocked in send. */
TEST_F(wait, peer_killed_while_blocked)
{
	pid_t rx, tx;
	uint64_t v;

	rx = fork();
	ASSERT_LE(0, rx);
	if (rx == 0) {
		gosync_chan_recv(self->ch, &v, GOSYNC_FOREVER);
		_exit(1);
	}
	test_sleep_ms(100);
	kill(rx, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, test_wait(rx));

	for (v = 0; v < 2; v++)
		ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
	tx = fork();
	ASSERT_LE(0, tx);
	if (tx == 0) {
		v = 666;
		gosync_chan_send(self->ch, &v, GOSYNC_FOREVER);
		_exit(1);
	}
	test_sleep_ms(100);
	kill(tx, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, test_wait(tx));

	/* Everything sent is there, in order; the dead sender's is not. */
	for (uint64_t want = 0; want < 2; want++) {
		ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
		EXPECT_EQ(want, v);
	}
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	/* And it goes on working, blocking included. */
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		test_sleep_ms(50);
		v = 8;
		_exit(gosync_chan_send(self->ch, &v, GOSYNC_FOREVER) ? 1 : 0);
	}
	EXPECT_EQ(1, gosync_chan_recv(self->ch, &v, test_ms(10000)));
	EXPECT_EQ(8, v);
	EXPECT_EQ(0, test_wait(pid));
}

TEST_HARNESS_MAIN
