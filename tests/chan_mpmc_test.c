// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Many producers and consumers in every mode: 4 processes x 2 threads
 * (two producing, two consuming) stamp every element with its producer and
 * a per-producer sequence number; every element arrives exactly once, and
 * each consumer thread sees each producer's elements in order.  And the
 * channel travels to another process as an fd over SCM_RIGHTS.
 */
#include <pthread.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "chan_test.h"

#define PROCS		2	/* of each kind */
#define THREADS		2	/* per process */
#define PRODUCERS	(PROCS * THREADS)
#define PER_PRODUCER	3000

struct elem {
	uint32_t producer;
	uint32_t seq;
	uint64_t check;		/* producer ^ seq, scrambled */
};

static uint64_t elem_check(uint32_t producer, uint32_t seq)
{
	return ((uint64_t)producer << 32 | seq) * 0x9e3779b97f4a7c15ULL;
}

/* Shared between all processes: counts per element, errors. */
struct board {
	uint32_t seen[PRODUCERS][PER_PRODUCER];
	int out_of_order;
	int corrupt;
	int send_errors;
	int recv_errors;
};

struct worker {
	struct gosync_chan *ch;
	struct board *board;
	uint32_t id;
};

static void *produce(void *arg)
{
	struct worker *w = arg;

	for (uint32_t seq = 0; seq < PER_PRODUCER; seq++) {
		struct elem e = { w->id, seq, elem_check(w->id, seq) };

		if (gosync_chan_send(w->ch, &e, test_ms(60000))) {
			__atomic_add_fetch(&w->board->send_errors, 1,
					   __ATOMIC_SEQ_CST);
			break;
		}
	}
	return NULL;
}

static void *consume(void *arg)
{
	struct worker *w = arg;
	int64_t next[PRODUCERS] = { 0 };
	struct elem e;
	int r;

	while ((r = gosync_chan_recv(w->ch, &e, test_ms(60000))) == 1) {
		if (e.producer >= PRODUCERS || e.seq >= PER_PRODUCER ||
		    e.check != elem_check(e.producer, e.seq)) {
			__atomic_add_fetch(&w->board->corrupt, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (e.seq < next[e.producer])
			__atomic_add_fetch(&w->board->out_of_order, 1,
					   __ATOMIC_SEQ_CST);
		next[e.producer] = e.seq + 1;
		__atomic_add_fetch(&w->board->seen[e.producer][e.seq], 1,
				   __ATOMIC_SEQ_CST);
	}
	if (r != 0)
		__atomic_add_fetch(&w->board->recv_errors, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* One process: THREADS threads of one kind; exits 0 when they are done. */
static void run_process(struct gosync_chan *ch, struct board *board,
			bool producer, uint32_t first_id)
{
	struct worker w[THREADS];
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ ch, board, first_id + i };
		if (pthread_create(&t[i], NULL, producer ? produce : consume,
				   &w[i]))
			_exit(3);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

FIXTURE(mpmc) {
	struct gosync_chan *ch;
	struct board *board;
};

FIXTURE_VARIANT(mpmc) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_MODES(mpmc);

FIXTURE_SETUP(mpmc)
{
	self->ch = NULL;
	self->board = test_shared(sizeof(*self->board));
	ASSERT_NE(NULL, self->board);
	GOSYNC_MAKE(&self->ch, sizeof(struct elem), 16);
}

FIXTURE_TEARDOWN(mpmc)
{
	gosync_chan_free(self->ch);
	munmap(self->board, sizeof(*self->board));
}

TEST_F_TIMEOUT(mpmc, every_element_once_in_order_per_producer, 300)
{
	pid_t prod[PROCS], cons[PROCS];
	int i, missing = 0, dup = 0;

	for (i = 0; i < PROCS; i++) {
		cons[i] = fork();
		ASSERT_LE(0, cons[i]);
		if (cons[i] == 0)
			run_process(self->ch, self->board, false, 0);
	}
	for (i = 0; i < PROCS; i++) {
		prod[i] = fork();
		ASSERT_LE(0, prod[i]);
		if (prod[i] == 0)
			run_process(self->ch, self->board, true, i * THREADS);
	}
	for (i = 0; i < PROCS; i++)
		EXPECT_EQ(0, test_wait(prod[i]));
	ASSERT_EQ(0, gosync_chan_close(self->ch));
	for (i = 0; i < PROCS; i++)
		EXPECT_EQ(0, test_wait(cons[i]));

	for (int p = 0; p < PRODUCERS; p++) {
		for (int s = 0; s < PER_PRODUCER; s++) {
			missing += self->board->seen[p][s] == 0;
			dup += self->board->seen[p][s] > 1;
		}
	}
	EXPECT_EQ(0, missing);
	EXPECT_EQ(0, dup);
	EXPECT_EQ(0, self->board->out_of_order);
	EXPECT_EQ(0, self->board->corrupt);
	EXPECT_EQ(0, self->board->send_errors);
	EXPECT_EQ(0, self->board->recv_errors);
}

/*
 * The channel's fd crosses a UNIX socket; the receiving process makes its
 * own handle from it (not the one it inherited) and sends through that.
 */
TEST_F(mpmc, fd_over_scm_rights)
{
	struct elem e;
	int sv[2];
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gosync_chan *mine;
		int fd;

		close(sv[0]);
		fd = test_recv_fd(sv[1]);
		if (fd < 0 || gosync_chan_from_fd(&mine, fd, 0))
			_exit(1);
		close(fd);
		for (uint32_t i = 0; i < 100; i++) {
			struct elem x = { 7, i, elem_check(7, i) };

			if (gosync_chan_send(mine, &x, test_ms(10000)))
				_exit(2);
		}
		gosync_chan_close(mine);
		gosync_chan_free(mine);
		_exit(0);
	}
	close(sv[1]);
	ASSERT_EQ(0, test_send_fd(sv[0], gosync_chan_fd(self->ch)));
	for (uint32_t i = 0; i < 100; i++) {
		ASSERT_EQ(1, gosync_chan_recv(self->ch, &e, test_ms(10000)));
		EXPECT_EQ(i, e.seq);
		EXPECT_EQ(elem_check(7, i), e.check);
	}
	EXPECT_EQ(0, gosync_chan_recv(self->ch, &e, test_ms(10000)));
	EXPECT_EQ(0, test_wait(pid));
	close(sv[0]);
}

TEST_HARNESS_MAIN
