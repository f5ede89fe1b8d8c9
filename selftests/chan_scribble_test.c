// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The kernel never trusts the shared region.  A process scribbles random
 * values over a channel's header, tail, head, wait words and slots while
 * peers send and receive through the fast path, through read(2)/write(2)
 * and while blocked in the kernel; then the channel is closed.  Every peer
 * must come back by itself (released by the close or by its deadline), and
 * the kernel must stay clean (the guest runner checks dmesg, taint and the
 * unload).  The channel may be broken for its peers; another channel is
 * not affected.
 */
#include <stdlib.h>

#include "kselftest_harness.h"
#include "gosync_test.h"
#include "chan_test.h"

#define PEER_BUDGET_MS	20000	/* a peer gives up after this long */
#define SCRIBBLE_MS	2000

struct elem {
	uint64_t a, b;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void scribble(int fd, unsigned int seed)
{
	struct gosync_chan_info info = { 0 };
	uint64_t s = seed | 1, *words;
	int64_t end = gosync_after(SCRIBBLE_MS * 1000000LL);
	size_t n;

	if (ioctl(fd, GOSYNC_CHAN_IOC_INFO, &info))
		_exit(20);
	words = mmap(NULL, info.map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		     fd, 0);
	if (words == MAP_FAILED)
		_exit(21);
	n = info.map_size / sizeof(uint64_t);
	while (gosync_now() < end) {
		uint64_t v = rnd(&s), where = rnd(&s);

		switch (v % 8) {
		case 0: v = 0; break;
		case 1: v = ~0ULL; break;
		case 2: v |= GOSYNC_TAIL_CLOSED; break;
		case 3: v = (v & ~7ULL) | 6; break;	/* no such state */
		default: break;
		}
		/* Mostly the hot words, sometimes anywhere. */
		switch (where % 4) {
		case 0: where = info.off_tail / 8; break;
		case 1: where = info.off_head / 8; break;
		case 2: where = (info.off_slots + (where >> 8) %
				 info.nslots * info.slot_size) / 8; break;
		default: where = (where >> 8) % n; break;
		}
		__atomic_store_n(&words[where], v, __ATOMIC_RELAXED);
	}
	_exit(0);
}

/* A peer: runs its kind of traffic until closed, an error, or its budget. */
static void peer(struct gosync_chan *ch, int kind)
{
	int64_t end = gosync_after(PEER_BUDGET_MS * 1000000LL);
	struct elem e = { 1, 2 };
	int fd = gosync_chan_fd(ch);

	while (gosync_now() < end) {
		int64_t deadline = gosync_after(500 * 1000000LL);
		int r;

		switch (kind) {
		case 0:
			r = gosync_chan_send(ch, &e, deadline);
			break;
		case 1:
			r = gosync_chan_recv(ch, &e, deadline);
			r = r == 1 ? 0 : r ? r : -EPIPE;
			break;
		case 2:
			r = write(fd, &e, sizeof(e)) < 0 ? -errno : 0;
			break;
		default:
			r = read(fd, &e, sizeof(e));
			r = r > 0 ? 0 : r ? -errno : -EPIPE;
			break;
		}
		if (r == -EPIPE)
			_exit(0);	/* closed: released */
	}
	_exit(0);			/* by its own deadlines */
}

FIXTURE(scribble) {
	int unused;
};

FIXTURE_SETUP(scribble)
{
}

FIXTURE_TEARDOWN(scribble)
{
}

TEST_F_TIMEOUT(scribble, channel_broken_for_its_peers_only, 180)
{
	struct gosync_chan *ch, *other;
	pid_t pids[9], scribbler;
	int i, live;
	int64_t guard;

	i = gosync_chan_make(&ch, sizeof(struct elem), 16, 0);
	if (i == -ENODEV)
		SKIP(return, "gosync.ko not loaded");
	ASSERT_EQ(0, i);
	ASSERT_EQ(0, gosync_chan_make(&other, sizeof(struct elem), 4, 0));

	/* 2 fast-path senders, 2 receivers, 2 writers, 3 blocking readers. */
	for (i = 0; i < 9; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0)
			peer(ch, i < 2 ? 0 : i < 4 ? 1 : i < 6 ? 2 : 3);
	}
	scribbler = fork();
	ASSERT_LE(0, scribbler);
	if (scribbler == 0)
		scribble(gosync_chan_fd(ch), 0x5eed);
	EXPECT_EQ(0, test_wait(scribbler));

	/* Whatever state it is in, close must release everyone. */
	i = gosync_chan_close(ch);
	EXPECT_TRUE(i == 0 || i == -EPIPE);

	guard = gosync_after((PEER_BUDGET_MS + 30000) * 1000000LL);
	do {
		live = 0;
		for (i = 0; i < 9; i++) {
			int st;

			if (!pids[i])
				continue;
			if (waitpid(pids[i], &st, WNOHANG) == pids[i]) {
				EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st))
					TH_LOG("peer %d: status %#x", i, st);
				pids[i] = 0;
			} else {
				live++;
			}
		}
		if (live)
			test_sleep_ms(50);
	} while (live && gosync_now() < guard);
	EXPECT_EQ(0, live) TH_LOG("%d peers never came back", live);
	for (i = 0; i < 9; i++) {
		if (pids[i]) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	}

	/* The scribbled channel's waits still end; the other one is fine. */
	struct elem e = { 3, 4 };

	gosync_chan_recv(ch, &e, test_ms(100));
	gosync_chan_free(ch);
	for (int k = 0; k < 100; k++) {
		e.a = k;
		ASSERT_EQ(0, gosync_chan_send(other, &e, GOSYNC_NONBLOCK));
		ASSERT_EQ(1, gosync_chan_recv(other, &e, GOSYNC_NONBLOCK));
		ASSERT_EQ((uint64_t)k, e.a);
	}
	gosync_chan_free(other);
}

TEST_HARNESS_MAIN
