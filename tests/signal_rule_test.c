// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * One signal rule for every wait, in every mode (libgosync(7)): a handler
 * installed without SA_RESTART ends the wait with -EINTR; with
 * SA_RESTART the handler runs and the wait goes on, as read(2) on a pipe
 * does, ending only as it would have without the signal.  Every call that
 * waits: send (full and unbuffered), send_sync, send_n, recv, recv_n,
 * select over one channel, over two and over none, the mutex, both sides
 * of the RWMutex, the WaitGroup and the Cond.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "chan_test.h"

struct ctx {
	struct gosync_chan *a, *b, *unbuf;
	struct gosync_mutex *m;
	struct gosync_rwmutex *rw;
	struct gosync_wg *wg;
	struct gosync_cond *c;
	uint64_t v[4];
	struct gosync_case cs[2];
};

/* One kind of wait: @block waits, @release makes it end as @want says. */
struct waiter {
	const char *name;
	int (*block)(struct ctx *x, int64_t dl);
	void (*release)(struct ctx *x);
	int want;
};

static int b_recv(struct ctx *x, int64_t dl) { return gosync_chan_recv(x->a, &x->v[0], dl); }
static int b_recv_n(struct ctx *x, int64_t dl) { return gosync_chan_recv_n(x->a, x->v, 4, dl); }
static void r_send_a(struct ctx *x)
{
	uint64_t v = 1;

	gosync_chan_send(x->a, &v, GOSYNC_FOREVER);
}

static void fill_a(struct ctx *x)
{
	uint64_t v = 9;

	while (!gosync_chan_send(x->a, &v, GOSYNC_NONBLOCK))
		;
}

static int b_send(struct ctx *x, int64_t dl)
{
	uint64_t v = 2;

	fill_a(x);
	return gosync_chan_send(x->a, &v, dl);
}

static int b_send_n(struct ctx *x, int64_t dl)
{
	uint64_t v[2] = { 3, 4 };

	fill_a(x);
	return gosync_chan_send_n(x->a, v, 2, dl);
}

static void r_recv_a(struct ctx *x)
{
	uint64_t v;

	gosync_chan_recv(x->a, &v, GOSYNC_FOREVER);
}

/* send_n waits for room for all of its elements: take the filler and one */
static void r_recv_a2(struct ctx *x)
{
	r_recv_a(x);
	r_recv_a(x);
}

static int b_send_unbuf(struct ctx *x, int64_t dl)
{
	uint64_t v = 5;

	return gosync_chan_send(x->unbuf, &v, dl);
}

static int b_send_sync(struct ctx *x, int64_t dl)
{
	uint64_t v = 6;

	return gosync_chan_send_sync(x->unbuf, &v, dl);
}

static void r_recv_unbuf(struct ctx *x)
{
	uint64_t v;

	gosync_chan_recv(x->unbuf, &v, GOSYNC_FOREVER);
}

static int b_select1(struct ctx *x, int64_t dl)
{
	x->cs[0] = (struct gosync_case){ .ch = x->a, .op = GOSYNC_RECV, .elem = &x->v[0] };
	return gosync_select(x->cs, 1, dl);
}

static int b_select2(struct ctx *x, int64_t dl)
{
	x->cs[0] = (struct gosync_case){ .ch = x->a, .op = GOSYNC_RECV, .elem = &x->v[0] };
	x->cs[1] = (struct gosync_case){ .ch = x->b, .op = GOSYNC_RECV, .elem = &x->v[1] };
	int r = gosync_select(x->cs, 2, dl);

	return r < 0 ? r : r == 1 ? 0 : -1;
}

static void r_send_b(struct ctx *x)
{
	uint64_t v = 7;

	gosync_chan_send(x->b, &v, GOSYNC_FOREVER);
}

/* select {} with a deadline: only the deadline ends it */
static int b_select0(struct ctx *x, int64_t dl)
{
	(void)dl;
	return gosync_select(x->cs, 0, test_ms(400)) == -ETIMEDOUT ? 0 : -1;
}

static void r_nothing(struct ctx *x) { (void)x; }

static int b_mutex(struct ctx *x, int64_t dl)
{
	int r = gosync_mutex_lock(x->m, dl);

	if (!r)
		gosync_mutex_unlock(x->m);
	return r;
}

static void r_mutex(struct ctx *x) { gosync_mutex_unlock(x->m); }

static int b_wlock(struct ctx *x, int64_t dl)
{
	int r = gosync_rwmutex_lock(x->rw, dl);

	if (!r)
		gosync_rwmutex_unlock(x->rw);
	return r;
}

static void r_runlock(struct ctx *x) { gosync_rwmutex_runlock(x->rw); }

static int b_rlock(struct ctx *x, int64_t dl)
{
	int r = gosync_rwmutex_rlock(x->rw, dl);

	if (!r)
		gosync_rwmutex_runlock(x->rw);
	return r;
}

static void r_wunlock(struct ctx *x) { gosync_rwmutex_unlock(x->rw); }

static int b_wg(struct ctx *x, int64_t dl) { return gosync_wg_wait(x->wg, dl); }
static void r_wg(struct ctx *x) { gosync_wg_done(x->wg); }

static int b_cond(struct ctx *x, int64_t dl)
{
	int r;

	gosync_mutex_lock(x->m, GOSYNC_FOREVER);
	r = gosync_cond_wait(x->c, x->m, dl);
	gosync_mutex_unlock(x->m);
	return r;
}

static void r_cond(struct ctx *x)
{
	gosync_mutex_lock(x->m, GOSYNC_FOREVER);
	gosync_cond_broadcast(x->c);
	gosync_mutex_unlock(x->m);
}

static const struct waiter waiters[] = {
	{ "recv", b_recv, r_send_a, 1 },
	{ "recv_n", b_recv_n, r_send_a, 1 },
	{ "send on a full channel", b_send, r_recv_a, 0 },
	{ "send_n on a full channel", b_send_n, r_recv_a2, 2 },
	{ "send, unbuffered", b_send_unbuf, r_recv_unbuf, 0 },
	{ "send_sync", b_send_sync, r_recv_unbuf, 0 },
	{ "select, one case", b_select1, r_send_a, 0 },
	{ "select, two channels", b_select2, r_send_b, 0 },
	{ "select, no case", b_select0, r_nothing, 0 },
	{ "mutex lock", b_mutex, r_mutex, 0 },
	{ "rwmutex lock", b_wlock, r_runlock, 0 },
	{ "rwmutex rlock", b_rlock, r_wunlock, 0 },
	{ "wg wait", b_wg, r_wg, 0 },
	{ "cond wait", b_cond, r_cond, 0 },
};

static int handled;

static void on_usr1(int sig)
{
	(void)sig;
	__atomic_add_fetch(&handled, 1, __ATOMIC_RELAXED);
}

struct run {
	const struct waiter *w;
	struct ctx *x;
	int ret;
	int done;
	pid_t tid;
};

static void *run_block(void *arg)
{
	struct run *r = arg;

	__atomic_store_n(&r->tid, gettid(), __ATOMIC_RELEASE);
	r->ret = r->w->block(r->x, test_ms(20000));
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

FIXTURE(sig) {
	struct ctx x;
};

FIXTURE_VARIANT(sig) {
	unsigned int flags;
	bool kernel;
};

GOSYNC_MODES(sig);

FIXTURE_SETUP(sig)
{
	unsigned int sf = variant->flags & ~GOSYNC_NOMAP;

	memset(&self->x, 0, sizeof(self->x));
	GOSYNC_MAKE(&self->x.a, 8, 1);
	GOSYNC_MAKE(&self->x.b, 8, 1);
	GOSYNC_MAKE(&self->x.unbuf, 8, 0);
	ASSERT_EQ(0, gosync_mutex_make(&self->x.m, sf));
	ASSERT_EQ(0, gosync_rwmutex_make(&self->x.rw, sf));
	ASSERT_EQ(0, gosync_wg_make(&self->x.wg, sf));
	ASSERT_EQ(0, gosync_cond_make(&self->x.c, sf));
}

FIXTURE_TEARDOWN(sig)
{
	gosync_chan_free(self->x.a);
	gosync_chan_free(self->x.b);
	gosync_chan_free(self->x.unbuf);
	gosync_mutex_free(self->x.m);
	gosync_rwmutex_free(self->x.rw);
	gosync_wg_free(self->x.wg);
	gosync_cond_free(self->x.c);
}

/* What each waiter needs held for it to block. */
static void hold(struct ctx *x, const struct waiter *w)
{
	if (w->block == b_mutex)
		gosync_mutex_lock(x->m, GOSYNC_FOREVER);
	else if (w->block == b_wlock)
		gosync_rwmutex_rlock(x->rw, GOSYNC_FOREVER);
	else if (w->block == b_rlock)
		gosync_rwmutex_lock(x->rw, GOSYNC_FOREVER);
	else if (w->block == b_wg)
		gosync_wg_add(x->wg, 1);
}

static void unhold(struct ctx *x, const struct waiter *w)
{
	if (w->block == b_mutex)
		gosync_mutex_unlock(x->m);
	else if (w->block == b_wlock)
		gosync_rwmutex_runlock(x->rw);
	else if (w->block == b_rlock)
		gosync_rwmutex_unlock(x->rw);
	else if (w->block == b_wg)
		gosync_wg_done(x->wg);
}

/* Drain what a waiter left behind, so the next starts clean. */
static void drain(struct ctx *x)
{
	uint64_t v;

	while (gosync_chan_recv(x->a, &v, GOSYNC_NONBLOCK) == 1)
		;
	while (gosync_chan_recv(x->b, &v, GOSYNC_NONBLOCK) == 1)
		;
}

static void one(struct __test_metadata *_metadata, struct ctx *x,
		const struct waiter *w, bool restart)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct run r = { .w = w, .x = x };
	pthread_t t;
	int before;

	sa.sa_flags = restart ? SA_RESTART : 0;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	hold(x, w);
	ASSERT_EQ(0, pthread_create(&t, NULL, run_block, &r));
	while (!__atomic_load_n(&r.tid, __ATOMIC_ACQUIRE))
		sched_yield();
	ASSERT_TRUE(test_wait_asleep(r.tid, 10000)) TH_LOG("%s: never slept", w->name);
	test_sleep_ms(20);
	before = __atomic_load_n(&handled, __ATOMIC_RELAXED);
	pthread_kill(t, SIGUSR1);
	while (__atomic_load_n(&handled, __ATOMIC_RELAXED) == before)
		sched_yield();
	if (!restart) {
		pthread_join(t, NULL);
		if (w->block == b_select0) {
			/* it returned early: not the deadline's ETIMEDOUT */
			EXPECT_EQ(-1, r.ret) TH_LOG("%s", w->name);
		} else {
			EXPECT_EQ(-EINTR, r.ret) TH_LOG("%s without SA_RESTART", w->name);
		}
		unhold(x, w);
	} else {
		/* The handler ran; the wait goes on. */
		test_sleep_ms(50);
		EXPECT_EQ(0, __atomic_load_n(&r.done, __ATOMIC_ACQUIRE))
			TH_LOG("%s ended at a signal despite SA_RESTART", w->name);
		w->release(x);
		pthread_join(t, NULL);
		EXPECT_EQ(w->want, r.ret) TH_LOG("%s with SA_RESTART", w->name);
	}
	drain(x);
	signal(SIGUSR1, SIG_IGN);
}

TEST_F(sig, without_sa_restart_every_wait_ends_eintr)
{
	for (size_t i = 0; i < sizeof(waiters) / sizeof(waiters[0]); i++) {
		const struct waiter *w = &waiters[i];

		/* these three have a test of their own, below */
		if (w->release == r_recv_unbuf || w->block == b_select0)
			continue;
		one(_metadata, &self->x, w, false);
	}
}

TEST_F(sig, with_sa_restart_every_wait_goes_on)
{
#ifdef __SANITIZE_THREAD__
	/* TSan runs a handler only once the thread leaves the system call */
	SKIP(return, "TSan defers signal handlers past a restarted wait");
#endif
	for (size_t i = 0; i < sizeof(waiters) / sizeof(waiters[0]); i++)
		one(_metadata, &self->x, &waiters[i], true);
}

/* The unbuffered sends and select {} without SA_RESTART, on their own. */
TEST_F(sig, without_sa_restart_unbuffered_and_empty_select)
{
	static const struct waiter *ws[] = { &waiters[4], &waiters[5], &waiters[8] };
	struct sigaction sa = { .sa_handler = on_usr1 };
	uint64_t v;

	for (size_t i = 0; i < 3; i++) {
		struct run r = { .w = ws[i], .x = &self->x };
		pthread_t t;
		int before;

		ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
		ASSERT_EQ(0, pthread_create(&t, NULL, run_block, &r));
		while (!__atomic_load_n(&r.tid, __ATOMIC_ACQUIRE))
			sched_yield();
		ASSERT_TRUE(test_wait_asleep(r.tid, 10000));
		test_sleep_ms(20);
		before = __atomic_load_n(&handled, __ATOMIC_RELAXED);
		pthread_kill(t, SIGUSR1);
		pthread_join(t, NULL);
		EXPECT_NE(before, __atomic_load_n(&handled, __ATOMIC_RELAXED));
		EXPECT_EQ(ws[i] == &waiters[8] ? -1 : -EINTR, r.ret)
			TH_LOG("%s without SA_RESTART", ws[i]->name);
		/* an interrupted unbuffered send sent nothing */
		EXPECT_EQ(-EAGAIN, gosync_chan_recv(self->x.unbuf, &v,
						    GOSYNC_NONBLOCK));
		signal(SIGUSR1, SIG_IGN);
	}
}

TEST_HARNESS_MAIN
