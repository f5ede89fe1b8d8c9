// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Kill-anywhere chaos: producer and consumer processes streaming through
 * one channel (MPMC) while a supervisor SIGKILLs one of them at random
 * instants and starts a replacement, in every mode.  Afterwards every
 * element is accounted for: each one a producer finished sending was
 * received exactly once, except at most one per killed consumer (the
 * element it had taken when it died: its own in flight); the one a
 * killed producer was sending arrived once or not at all; nothing
 * arrived twice, nothing arrived that was never sent, and each consumer
 * saw each producer's elements in order.  The channel still works, and
 * in kernel mode everything charged comes back.
 *
 * Standalone mode has no kernel to release what a killed process held:
 * the library documents that such a death can stall the channel.  There
 * the same safety checks apply, and a stalled run is reported, not
 * failed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "gosync_test.h"
#include "chan_test.h"

#define PIDS		64		/* producer ids per run */
#define MAXSEQ		(1 << 15)	/* elements per producer */
#define PRODUCERS	3
#define CONSUMERS	2
#define RUN_MS		3000
#define OP_MS		5000		/* deadline of one send or receive */

struct log {
	/* Per producer id: how many it has finished sending; the one it is
	 * sending now (or -1). */
	int64_t sent[PIDS], sending[PIDS];
	int next_pid;			/* producer ids handed out */
	int inflight[CONSUMERS];	/* what a consumer may hold unrecorded */
	int stop;			/* producers stop */
	int dup, unsent, order;		/* safety violations seen */
	uint8_t got[PIDS][MAXSEQ];	/* times each element arrived */
};

FIXTURE(chaos) {
	struct log *log;
};

FIXTURE_VARIANT(chaos) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_MODES(chaos);

FIXTURE_SETUP(chaos)
{
	self->log = test_shared(sizeof(*self->log));
	ASSERT_NE(NULL, self->log);
}

FIXTURE_TEARDOWN(chaos)
{
	munmap(self->log, sizeof(*self->log));
}

static void producer(struct gosync_chan *ch, struct log *log, int id)
{
	for (int64_t seq = 0; seq < MAXSEQ; seq++) {
		uint64_t v = (uint64_t)id << 32 | seq;

		if (__atomic_load_n(&log->stop, __ATOMIC_ACQUIRE))
			break;
		__atomic_store_n(&log->sending[id], seq, __ATOMIC_SEQ_CST);
		if (gosync_chan_send(ch, &v, test_ms(OP_MS)))
			break;
		__atomic_store_n(&log->sent[id], seq + 1, __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&log->sending[id], -1, __ATOMIC_SEQ_CST);
	_exit(0);
}

/* Record one arrival; check it was sent, is new, and is in order. */
static void arrived(struct log *log, int64_t *last, uint64_t v)
{
	uint32_t id = v >> 32, seq = (uint32_t)v;
	int64_t sending, sent;

	if (id >= PIDS || seq >= MAXSEQ) {
		__atomic_add_fetch(&log->unsent, 1, __ATOMIC_SEQ_CST);
		return;
	}
	/*
	 * sending before sent: a producer stores sending = s, sends s, then
	 * stores sent = s + 1 before moving sending on, so one of the two
	 * covers s by the time we look.
	 */
	sending = __atomic_load_n(&log->sending[id], __ATOMIC_SEQ_CST);
	sent = __atomic_load_n(&log->sent[id], __ATOMIC_SEQ_CST);
	if (seq >= sent && seq != sending) {
		__atomic_add_fetch(&log->unsent, 1, __ATOMIC_SEQ_CST);
		return;
	}
	if (__atomic_add_fetch(&log->got[id][seq], 1, __ATOMIC_SEQ_CST) > 1)
		__atomic_add_fetch(&log->dup, 1, __ATOMIC_SEQ_CST);
	if ((int64_t)seq <= last[id])
		__atomic_add_fetch(&log->order, 1, __ATOMIC_SEQ_CST);
	last[id] = seq;
}

static void consumer(struct gosync_chan *ch, struct log *log, int k)
{
	int64_t last[PIDS];
	uint64_t v[8];

	for (int i = 0; i < PIDS; i++)
		last[i] = -1;
	for (;;) {
		/*
		 * One at a time or a batch: a consumer killed in the middle
		 * loses what it had taken and not yet recorded, its own.
		 */
		int want = random() & 1 ? 8 : 1, n;

		__atomic_store_n(&log->inflight[k], want, __ATOMIC_SEQ_CST);
		n = want > 1 ? gosync_chan_recv_n(ch, v, want, test_ms(OP_MS)) :
			       gosync_chan_recv(ch, v, test_ms(OP_MS));
		if (n <= 0)
			break;		/* closed (0), or stalled */
		for (int i = 0; i < n; i++)
			arrived(log, last, v[i]);
		__atomic_store_n(&log->inflight[k], 0, __ATOMIC_SEQ_CST);
	}
	_exit(0);
}

static pid_t spawn(struct gosync_chan *ch, struct log *log, bool prod, int k)
{
	int id = prod ? __atomic_fetch_add(&log->next_pid, 1, __ATOMIC_SEQ_CST) : 0;
	pid_t pid;

	if (prod && id >= PIDS)
		return 0;
	pid = fork();
	if (pid == 0) {
		srandom(getpid());
		if (prod)
			producer(ch, log, id);
		consumer(ch, log, k);
	}
	return pid;
}

/* One run: returns how many processes it killed; *stalled if it stalled. */
static int chaos_run(struct __test_metadata *_metadata, struct log *log,
		     unsigned int flags, __u32 cap, unsigned int seed,
		     bool *stalled, int *consumer_kills, uint64_t *elems)
{
	pid_t prods[PIDS] = { 0 }, cons[CONSUMERS];
	struct gosync_chan *ch;
	int kills = 0, ckills = 0, lost = 0, np = 0, allowed = 0;
	int64_t end;

	memset(log, 0, sizeof(*log));
	for (int i = 0; i < PIDS; i++)
		log->sending[i] = -1;
	srandom(seed);
	if (gosync_chan_make(&ch, sizeof(uint64_t), cap, flags))
		return -1;
	for (; np < PRODUCERS; np++)
		prods[np] = spawn(ch, log, true, 0);
	for (int i = 0; i < CONSUMERS; i++)
		cons[i] = spawn(ch, log, false, i);
	/* Kill one at a random instant, 1-30 ms apart; replace it. */
	end = gosync_now() + RUN_MS * 1000000LL;
	while (gosync_now() < end) {
		int victim = random() % (PRODUCERS + CONSUMERS);

		test_sleep_ms(1 + random() % 30);
		if (victim < PRODUCERS) {
			/* The newest PRODUCERS producers are the live ones. */
			int k = np - PRODUCERS + victim;

			if (np >= PIDS || prods[k] <= 0)
				continue;
			kill(prods[k], SIGKILL);
			waitpid(prods[k], NULL, 0);
			prods[k] = 0;
			prods[np] = spawn(ch, log, true, 0);
			np++;
		} else {
			int k = victim - PRODUCERS;

			if (cons[k] <= 0)
				continue;
			kill(cons[k], SIGKILL);
			waitpid(cons[k], NULL, 0);
			allowed += log->inflight[k];
			log->inflight[k] = 0;
			cons[k] = spawn(ch, log, false, k);
			ckills++;
		}
		kills++;
	}
	/* Stop the producers, close, let the consumers drain. */
	__atomic_store_n(&log->stop, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < np; i++)
		if (prods[i] > 0)
			waitpid(prods[i], NULL, 0);
	gosync_chan_close(ch);
	for (int i = 0; i < CONSUMERS; i++)
		waitpid(cons[i], NULL, 0);

	/* Account for every element. */
	*stalled = false;
	for (int id = 0; id < np && id < PIDS; id++) {
		for (int64_t seq = 0; seq < log->sent[id]; seq++) {
			*elems += 1;
			if (!log->got[id][seq])
				lost++;
		}
	}
	EXPECT_EQ(0, log->dup) TH_LOG("cap %u: %d elements arrived twice", cap, log->dup);
	EXPECT_EQ(0, log->unsent) TH_LOG("cap %u: %d arrived that were never sent",
					 cap, log->unsent);
	EXPECT_EQ(0, log->order) TH_LOG("cap %u: %d out of order", cap, log->order);
	if (flags & GOSYNC_STANDALONE) {
		*stalled = lost > allowed;
	} else {
		EXPECT_GE(allowed, lost)
			TH_LOG("cap %u: %d sent elements lost; the %d consumers killed held at most %d",
			       cap, lost, ckills, allowed);
	}
	/*
	 * The channel still answers: closed, and drained (standalone: a
	 * dead claim may stall it, see above).
	 */
	uint64_t v;

	if (!(flags & GOSYNC_STANDALONE))
		EXPECT_EQ(0, gosync_chan_recv(ch, &v, test_ms(OP_MS)));
	EXPECT_EQ(-EPIPE, gosync_chan_send(ch, &v, GOSYNC_NONBLOCK));
	gosync_chan_free(ch);
	*consumer_kills += ckills;
	return kills;
}

TEST_F_TIMEOUT(chaos, kill_anywhere, 900)
{
	static const __u32 caps[] = { 1, 4, 64 };
	unsigned long objs, before = 0, after = 0;
	int kills = 0, ckills = 0, stalls = 0, runs = 0;
	uint64_t elems = 0;
	bool charged = variant->kernel && !gosync_test_charged(&objs, &before);
	struct gosync_chan *probe;

	if (variant->kernel) {
		int r = gosync_chan_make(&probe, 8, 1, variant->flags);

		if (r == -ENODEV)
			SKIP(return, "gosync.ko not loaded");
		ASSERT_EQ(0, r);
		gosync_chan_free(probe);
	}
	for (int rep = 0; rep < 2; rep++) {
		for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
			bool stalled;
			int k = chaos_run(_metadata, self->log, variant->flags,
					  caps[c], 1000 * rep + c, &stalled,
					  &ckills, &elems);

			ASSERT_LE(0, k);
			kills += k;
			stalls += stalled;
			runs++;
		}
	}
	if (charged) {
		/* Delayed fput: give the last references a moment. */
		for (int i = 0; i < 200; i++) {
			ASSERT_EQ(0, gosync_test_charged(&objs, &after));
			if (after == before)
				break;
			test_sleep_ms(20);
		}
		EXPECT_EQ(before, after) TH_LOG("charges left after the runs");
	}
	TH_LOG("chaos %s: %d runs, %d kills survived (%d of consumers), %llu elements sent and accounted for, %d runs stalled",
	       variant->flags & GOSYNC_STANDALONE ? "standalone" :
	       variant->flags & GOSYNC_NOMAP ? "kernel, no mapping" : "kernel",
	       runs, kills, ckills, (unsigned long long)elems, stalls);
}

TEST_HARNESS_MAIN
