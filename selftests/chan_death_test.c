// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * A process that dies inside a fast-path operation costs at most its own
 * element in flight.  A child claims a slot through the library's ring
 * exactly as a send or receive would, then dies before finishing; the
 * kernel, told by the mapping's teardown, releases the claim and the
 * channel goes on.  Then the real thing: producers streaming through the
 * fast path are SIGKILLed at random moments, and the consumer still
 * receives every element that was sent, in order, once.
 */
#include <pthread.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "chan_test.h"
#include "internal.h"

#define CAP	4

FIXTURE(death) {
	struct gosync_chan *ch;
};

FIXTURE_SETUP(death)
{
	int ret = gosync_chan_make(&self->ch, sizeof(uint64_t), CAP, 0);

	self->ch = ret ? NULL : self->ch;
	if (ret == -ENODEV)
		SKIP(return, "gosync.ko not loaded");
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(death)
{
	gosync_chan_free(self->ch);
}

/* In a child: claim the next position as a producer or consumer, and die. */
static void claim_and_die(struct gosync_chan *ch, bool producer,
			  bool move_hint)
{
	struct gosync_chan_view *m;
	struct gosync_ring *r;
	__u64 *hint, pos, *word, w, claim;
	int err;

	m = gosync_chan_mapping(ch, &err);	/* maps again: new owner id */
	if (!m)
		_exit(10);
	r = &m->ring;
	hint = producer ? r->tail : r->head;
	pos = producer ? GOSYNC_LOAD(hint) >> 1 : GOSYNC_LOAD(hint);
	word = gosync_ring_word(r, pos);
	w = GOSYNC_LOAD(word);
	if (!gosync_word_at(w, pos) ||
	    gosync_word_state(w) != (producer ? GOSYNC_SLOT_FREE :
						GOSYNC_SLOT_FULL))
		_exit(11);
	claim = gosync_slot_word(pos, r->owner, producer ? GOSYNC_SLOT_WRITING :
							     GOSYNC_SLOT_READING);
	if (!r->owner || !GOSYNC_CAS(word, w, claim))
		_exit(12);
	if (move_hint)
		GOSYNC_CAS(hint, producer ? pos << 1 : pos,
			   producer ? (pos + 1) << 1 : pos + 1);
	/* Half an element, then gone. */
	memset(gosync_ring_elem(word), 0xee, 4);
	_exit(0);
}

static void run_claim(struct gosync_chan *ch, bool producer, bool move_hint,
		      struct __test_metadata *_metadata)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		claim_and_die(ch, producer, move_hint);
	/* The mapping is torn down before the parent hears of the exit. */
	ASSERT_EQ(0, test_wait(pid));
}

TEST_F(death, producer_dies_holding_a_claim)
{
	for (int move = 0; move < 2; move++) {
		uint64_t v = 1;

		ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
		run_claim(self->ch, true, move, _metadata);
		v = 2;
		ASSERT_EQ(0, gosync_chan_send(self->ch, &v, test_ms(10000)));
		ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, test_ms(10000)));
		EXPECT_EQ(1, v);
		/* The dead claim is passed over, not waited for. */
		ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, test_ms(10000)));
		EXPECT_EQ(2, v);
		EXPECT_EQ(-EAGAIN, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
	}
}

TEST_F(death, consumer_dies_holding_a_claim)
{
	for (int move = 0; move < 2; move++) {
		uint64_t v;

		for (v = 1; v <= 2; v++)
			ASSERT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
		run_claim(self->ch, false, move, _metadata);
		/* Element 1 went with the dead consumer; 2 is still here. */
		ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, test_ms(10000)));
		EXPECT_EQ(2, v);
		/* Its slot is free again: the whole capacity is usable. */
		for (v = 0; v < CAP; v++)
			EXPECT_EQ(0, gosync_chan_send(self->ch, &v, GOSYNC_NONBLOCK));
		for (uint64_t want = 0; want < CAP; want++) {
			ASSERT_EQ(1, gosync_chan_recv(self->ch, &v, GOSYNC_NONBLOCK));
			EXPECT_EQ(want, v);
		}
	}
}

/* Killed while its unbuffered send waits for a receiver: withdrawn. */
TEST_F(death, sync_sender_killed_while_waiting)
{
	struct gosync_chan *u;
	uint64_t v;
	pid_t pid;

	ASSERT_EQ(0, gosync_chan_make(&u, sizeof(v), 0, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		v = 13;
		gosync_chan_send(u, &v, GOSYNC_FOREVER);
		_exit(1);
	}
	test_sleep_ms(100);
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, test_wait(pid));
	EXPECT_EQ(-EAGAIN, gosync_chan_recv(u, &v, GOSYNC_NONBLOCK));
	EXPECT_EQ(-ETIMEDOUT, gosync_chan_recv(u, &v, test_ms(50)));
	gosync_chan_free(u);
}

#define KILLS		12
#define MAXSEQ		(1 << 20)

struct tally {
	uint64_t next[KILLS + 1];	/* next sequence expected, per producer */
	int bad;		/* out of order, duplicate or corrupt */
	uint64_t total;
	struct gosync_chan *ch;
};

static void *tally(void *arg)
{
	struct tally *t = arg;
	uint64_t v;

	while (gosync_chan_recv(t->ch, &v, test_ms(60000)) == 1) {
		uint64_t who = v >> 32, seq = v & 0xffffffff;

		if (who > KILLS || seq != t->next[who])
			t->bad++;
		else
			t->next[who]++;
		t->total++;
	}
	return NULL;
}

TEST_F_TIMEOUT(death, producers_killed_mid_stream, 300)
{
	struct tally t = { .ch = self->ch };
	pthread_t consumer;

	ASSERT_EQ(0, pthread_create(&consumer, NULL, tally, &t));
	srand(12345);
	for (uint64_t k = 0; k < KILLS; k++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			/* Stream through the fast path until killed. */
			for (uint64_t seq = 0; seq < MAXSEQ; seq++) {
				uint64_t v = k << 32 | seq;

				if (gosync_chan_send(self->ch, &v, test_ms(60000)))
					_exit(1);
			}
			_exit(0);
		}
		test_sleep_ms(5 + rand() % 40);
		kill(pid, SIGKILL);
		EXPECT_EQ(128 + SIGKILL, test_wait(pid));
	}
	/* The channel still works, for a last well-behaved sender. */
	for (uint64_t i = 0; i < 100; i++) {
		uint64_t v = (uint64_t)KILLS << 32 | i;

		ASSERT_EQ(0, gosync_chan_send(self->ch, &v, test_ms(10000)));
	}
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	pthread_join(consumer, NULL);
	EXPECT_EQ(0, t.bad);
	EXPECT_EQ(100, t.next[KILLS]);
	for (int k = 0; k < KILLS; k++)
		TH_LOG("producer %d: %llu received", k,
		       (unsigned long long)t.next[k]);
}

TEST_HARNESS_MAIN
