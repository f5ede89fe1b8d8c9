// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * A process that dies inside a fast-path operation costs at most its own
 * element in flight.  A child claims a slot through the library's ring
 * exactly as a send or receive would, then dies before finishing; the
 * kernel, told by the mapping's teardown, releases the claim and the
 * channel goes on.  Then the real thing: producers streaming through the
 * fast path are SIGKILLed at random moments, and the consumer still
 * receives every element that was sent, in order, once.  And with the
 * library's step hooks, a producer or consumer that dies at each exact
 * step of its operation (between any two of its shared-word updates, or
 * between the update and the wake it owes), with peers blocked in the
 * kernel on both sides: everyone is released, at most the dead process's
 * own element is lost, and the channel goes on.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "gosync_test.h"
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

/* ---- death at every step ---- */

static enum gosync_step die_at;
static int die_armed;

static void die_hook(enum gosync_step step)
{
	if (die_armed && step == die_at)
		_exit(0);		/* gone, in the middle of it */
}

static const struct { enum gosync_step step; const char *name; bool producer; }
steps[] = {
	{ GOSYNC_STEP_SEND_CLAIMED, "send: claimed, tail not moved", true },
	{ GOSYNC_STEP_SEND_TAIL, "send: tail moved, not copied", true },
	{ GOSYNC_STEP_SEND_COPIED, "send: copied, not published", true },
	{ GOSYNC_STEP_SEND_DONE, "send: published, receivers not woken", true },
	{ GOSYNC_STEP_RECV_CLAIMED, "recv: claimed, head not moved", false },
	{ GOSYNC_STEP_RECV_HEAD, "recv: head moved, not copied", false },
	{ GOSYNC_STEP_RECV_COPIED, "recv: copied, slot not freed", false },
	{ GOSYNC_STEP_RECV_DONE, "recv: freed, senders not woken", false },
};

/* A thread blocked in the kernel path (a NOMAP handle) on one side. */
struct kpeer {
	struct gosync_chan *ch;
	bool send;
	uint64_t v;
	int ret;
};

static void *kpeer_run(void *arg)
{
	struct kpeer *k = arg;

	k->ret = k->send ? gosync_chan_send(k->ch, &k->v, test_ms(20000)) :
			   gosync_chan_recv(k->ch, &k->v, test_ms(20000));
	return NULL;
}

/* Wait (10 s at most) until @n callers block on @ch's side in the kernel. */
static int blocked_on(struct gosync_chan *ch, bool recv, int n)
{
	char path[64], line[128];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", gosync_chan_fd(ch));
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(path, "r");
		int r = -1, s = -1;

		if (!f)
			return -1;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "gosync-waiting: %d %d", &r, &s) == 2)
				break;
		fclose(f);
		if ((recv ? r : s) >= n)
			return 0;
		test_sleep_ms(10);
	}
	return -1;
}

/* Receive everything left after a close: how many, into @got. */
static int drain(struct gosync_chan *ch, uint64_t *got, int max)
{
	int n = 0;

	while (n < max && gosync_chan_recv(ch, &got[n], test_ms(10000)) == 1)
		n++;
	return n;
}

/*
 * The producer case: a cap-@cap channel, a receiver asleep in the kernel,
 * a child sending element 50 that dies at the step; then a kernel-path
 * sender (200) and the fast path (201...) go on.  Element 50 arrives iff
 * it was published; everything else arrives, in order, once.
 * The consumer case: the channel full (1..cap), a sender asleep in the
 * kernel (100), a child receiving that dies at the step, having taken
 * element 1 (its own, lost); the sender is released, and 2..cap, 100 and
 * later elements arrive, in order, once.
 */
static void die_once(struct __test_metadata *_metadata, __u32 cap, int k)
{
	bool producer = steps[k].producer;
	bool published = steps[k].step == GOSYNC_STEP_SEND_DONE;
	struct gosync_chan *fast, *slow;
	struct kpeer peer = { 0 };
	uint64_t v, got[32], want[32];
	int n = 0, nw = 0;
	pthread_t t;
	pid_t pid;

	ASSERT_EQ(0, gosync_chan_make(&fast, sizeof(uint64_t), cap, 0));
	ASSERT_EQ(0, gosync_chan_from_fd(&slow, gosync_chan_fd(fast),
					 GOSYNC_NOMAP));
	peer.ch = slow;
	if (!producer) {
		for (v = 1; v <= cap; v++)
			ASSERT_EQ(0, gosync_chan_send(fast, &v, GOSYNC_NONBLOCK));
		peer.send = true;
		peer.v = 100;
	}
	ASSERT_EQ(0, pthread_create(&t, NULL, kpeer_run, &peer));
	ASSERT_EQ(0, blocked_on(fast, producer, 1));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t x = 50;

		die_at = steps[k].step;
		die_armed = 1;
		gosync_test_set_hook(die_hook);
		if (producer)
			gosync_chan_send(fast, &x, GOSYNC_NONBLOCK);
		else
			gosync_chan_recv(fast, &x, GOSYNC_NONBLOCK);
		_exit(3);	/* the step was never reached */
	}
	ASSERT_EQ(0, test_wait(pid))
		TH_LOG("cap %u, %s: the victim did not die there", cap, steps[k].name);

	if (producer) {
		v = 200;
		EXPECT_EQ(0, gosync_chan_send(slow, &v, test_ms(10000)))
			TH_LOG("cap %u, %s: a kernel-path send after the death",
			       cap, steps[k].name);
		pthread_join(t, NULL);
		EXPECT_EQ(1, peer.ret)
			TH_LOG("cap %u, %s: the receiver asleep in the kernel was never released",
			       cap, steps[k].name);
		got[n++] = peer.v;
		if (published)
			want[nw++] = 50;
		want[nw++] = 200;
	} else {
		pthread_join(t, NULL);
		EXPECT_EQ(0, peer.ret)
			TH_LOG("cap %u, %s: the sender asleep in the kernel was never released (%d)",
			       cap, steps[k].name, peer.ret);
		for (v = 2; v <= cap; v++)
			want[nw++] = v;
		want[nw++] = 100;
		/* Drain what is there, so the next sends have room. */
		while (n < nw && gosync_chan_recv(fast, &got[n], test_ms(10000)) == 1)
			n++;
		v = 200;
		EXPECT_EQ(0, gosync_chan_send(slow, &v, test_ms(10000)));
		want[nw++] = 200;
	}
	/* The fast path fills whatever room is left; then close and drain. */
	for (v = 201; gosync_chan_send(fast, &v, GOSYNC_NONBLOCK) == 0 && v < 210; v++)
		want[nw++] = v;
	ASSERT_EQ(0, gosync_chan_close(fast));
	n += drain(fast, got + n, 32 - n);
	EXPECT_EQ(nw, n) TH_LOG("cap %u, %s: %d elements arrived, %d expected",
				cap, steps[k].name, n, nw);
	for (int i = 0; i < n && i < nw; i++) {
		EXPECT_EQ(want[i], got[i])
			TH_LOG("cap %u, %s: element %d", cap, steps[k].name, i);
	}
	gosync_chan_free(slow);
	gosync_chan_free(fast);
}

/*
 * With shmem huge pages on (transparent_hugepage/shmem_enabled =
 * always), a ring's pages are pieces of a 2 MiB folio, and one fault maps
 * all of it: a claim on a page the mapping never faulted through itself
 * must still be released when it dies.  (Before, the death looked only
 * at the pages faulted one by one, and the channel stayed stuck there.)
 * The ring's memory is charged for the whole folio, too.
 */
#define THP_KNOB "/sys/kernel/mm/transparent_hugepage/shmem_enabled"

/* ShmemHugePages of /proc/meminfo, bytes. */
static unsigned long shmem_huge_bytes(void)
{
	char line[128];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "ShmemHugePages: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb << 10;
}

static int knob_set(const char *v)
{
	FILE *f = fopen(THP_KNOB, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(v, f) < 0 ? -1 : 0;
	return fclose(f) ? -1 : ret;
}

TEST_F_TIMEOUT(death, huge_folio_claims_released, 120)
{
	struct gosync_chan *big;
	unsigned long objs, before, after, huge;
	uint64_t v;
	pid_t pid;
	int dev;

	if (access(THP_KNOB, W_OK))
		SKIP(return, "no shmem huge pages in this kernel");
	ASSERT_EQ(0, gosync_test_charged(&objs, &before));
	huge = shmem_huge_bytes();
	ASSERT_EQ(0, knob_set("always"));
	/* 4 KiB elements: slot k's word is on page k. */
	dev = gosync_chan_make(&big, 4000, 1024, 0);
	knob_set("never");
	ASSERT_EQ(0, dev);
	huge = shmem_huge_bytes() - huge;
	if (!huge) {
		gosync_chan_free(big);
		SKIP(return, "no huge page could be allocated");
	}
	ASSERT_EQ(0, gosync_test_charged(&objs, &after));
	TH_LOG("a %llu-byte ring in %lu bytes of huge pages is charged %lu bytes",
	       (unsigned long long)big->layout.map_size, huge, after - before);
	EXPECT_LE(huge, after - before) TH_LOG("huge folios not charged in full");
	for (v = 0; v < 5; v++)		/* the tail at slot 5, page 5 */
		ASSERT_EQ(0, gosync_chan_send(big, &v, GOSYNC_NONBLOCK));
	for (v = 0; v < 5; v++)
		ASSERT_EQ(1, gosync_chan_recv(big, &v, GOSYNC_NONBLOCK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gosync_chan_header *l = &big->layout;
		struct gosync_chan_map mq = { 0 };
		struct gosync_ring r;
		unsigned char *m;
		char elem[4000] = "x";
		__u64 pos;

		/* A 2 MiB-aligned mapping, so the whole folio maps at once. */
		m = mmap((void *)0x7f0000000000UL, l->map_size,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
			 gosync_chan_fd(big), 0);
		if (m == MAP_FAILED)
			_exit(10);
		mq.addr = (uintptr_t)m;
		if (ioctl(gosync_chan_fd(big), GOSYNC_CHAN_IOC_MAP, &mq))
			_exit(11);
		(void)*(volatile __u32 *)m;	/* one fault, on page 0 */
		r = (struct gosync_ring){
			.tail = (__u64 *)(m + l->off_tail),
			.head = (__u64 *)(m + l->off_head),
			.slots = m + l->off_slots, .nslots = l->nslots,
			.slot_size = l->slot_size, .elem_size = l->elem_size,
			.owner = mq.owner,
		};
		die_at = GOSYNC_STEP_SEND_CLAIMED;
		die_armed = 1;
		gosync_test_set_hook(die_hook);
		gosync_ring_try_send(&r, elem, GOSYNC_SLOT_FULL, &pos);
		_exit(12);
	}
	ASSERT_EQ(0, test_wait(pid));
	/* The dead claim is passed: the next element arrives. */
	v = 77;
	ASSERT_EQ(0, gosync_chan_send(big, &v, test_ms(5000)));
	v = 0;
	EXPECT_EQ(1, gosync_chan_recv(big, &v, test_ms(5000)))
		TH_LOG("the channel is stuck at the dead process's claim");
	EXPECT_EQ(77, v);
	gosync_chan_free(big);
}

TEST_F_TIMEOUT(death, dies_at_every_step, 900)
{
	for (__u32 cap = 1; cap <= CAP; cap += CAP - 1)
		for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
			die_once(_metadata, cap, k);
}

TEST_HARNESS_MAIN
