// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: select.
 *
 * Every round tries each case once, in a fresh random order, and stops at
 * the first that succeeds: that is the one case that fires, and no other
 * case has taken or given anything.  Among cases ready at once the order
 * makes the choice uniform.
 *
 * Kernel mode: a first round runs on the fast path (no system call) over
 * the cases it can decide there; if none fired and the select may wait,
 * or a case only the kernel can decide is there (a send on an unbuffered
 * channel, a channel without mapping), GOSYNC_IOC_SELECT does the rest:
 * the kernel tries every case in its own random rounds and sleeps on all
 * their wait queues in between.
 *
 * Standalone mode: rounds here, sleeping between them on the cases' futex
 * words with futex_waitv(); each case's side is armed (F, see chan.c)
 * after its futex word was read and before the last round, so an event
 * after that round bumps a word and ends the wait.  futex_waitv() takes
 * at most 128 words: with more distinct ones, the select waits on the
 * first 128 for at most a millisecond at a time and runs a round between
 * waits (documented in gosync_select(3)).
 *
 * A select that waits to receive counts as a blocked receiver of those
 * channels, so that unbuffered sends (other selects' too) see it.
 *
 * Fd cases (GOSYNC_FDREADY) are the kernel's alone: with one in the set
 * the whole select, a non-blocking one too, goes to GOSYNC_IOC_SELECT
 * without a first round here, which could only pick among the channel
 * cases and so would not be uniform among all the ready ones.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/time_types.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define GOSYNC_WAITV_MAX	128	/* FUTEX_WAITV_MAX */
#define GOSYNC_POLL_NS		1000000

static uint64_t gosync_rand_next(void)
{
	static __thread uint64_t state;
	uint64_t x = state;

	if (!x)
		x = (uint64_t)gosync_now() ^ (uintptr_t)&state ^
		    0x9e3779b97f4a7c15ULL;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	state = x;
	return x;
}

/* A uniformly random permutation of 0..n-1 (Fisher-Yates). */
static void gosync_shuffle(uint32_t *order, size_t n)
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = gosync_rand_next() % i;
		uint32_t t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
}

/* Count the select in (1) or out (-1) as a receiver of its channels. */
static void gosync_count_receiving(struct gosync_case *cases, size_t n,
				   const bool *registers, int delta)
{
	for (size_t i = 0; i < n; i++)
		if (registers[i])
			gosync_chan_select_receiving(cases[i].ch, delta);
}

/*
 * One round: -EAGAIN if no case fired, else the index (>= 0), or -EPIPE
 * with *@epipe set to the case, or another -errno.  @registers (NULL:
 * the select is not counted as a receiver) says which cases count the
 * select in; @self, per case, whether its channel is one of them.  A
 * standalone unbuffered send case hands off and may wait for its
 * receiver: the select counts itself out meanwhile, as the kernel's does,
 * or a select sending to us the same way would wait for us.  @until: when
 * those hand-offs give up (0: 100 ms each; a non-blocking select passes
 * one bound for all its cases and rounds, as the kernel's does).
 */
static int gosync_round(struct gosync_case *cases, size_t n, uint32_t *order,
			const uint32_t *self, const bool *registers,
			int64_t until, size_t *epipe)
{
	gosync_shuffle(order, n);
	for (size_t k = 0; k < n; k++) {
		struct gosync_case *c = &cases[order[k]];
		bool out;
		int ok = 0, ret;

		if (!c->ch)
			continue;
		out = registers && c->op == GOSYNC_SEND &&
		      gosync_chan_cap(c->ch) == 0;
		if (out)
			gosync_count_receiving(cases, n, registers, -1);
		ret = gosync_chan_select_try(c->ch, c->op, c->elem,
					     self && !out ? self[order[k]] : 0,
					     until, &ok);
		if (out)
			gosync_count_receiving(cases, n, registers, 1);
		if (ret == 1) {
			c->ok = ok;
			return order[k];
		}
		if (ret == -EPIPE) {
			c->ok = -EPIPE;
			*epipe = order[k];
			return -EPIPE;
		}
		if (ret < 0)
			return ret;
	}
	return -EAGAIN;
}

static void gosync_arm_all(struct gosync_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct gosync_wait *w;

		if (cases[i].ch) {
			w = gosync_chan_select_side(cases[i].ch, cases[i].op);
			if (w)
				gosync_chan_select_arm(w);	/* F */
		}
	}
}

static int gosync_select_kernel(struct gosync_case *cases, size_t n,
				int64_t deadline)
{
	struct gosync_select_case *kc = NULL;
	struct gosync_select sel;
	int dev = gosync_dev_fd(), ret;

	if (dev < 0)
		return dev;
	if (n) {
		kc = calloc(n, sizeof(*kc));
		if (!kc)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		kc[i].op = cases[i].op;
		if (cases[i].op == GOSYNC_FDREADY) {
			kc[i].fd = cases[i].fd;
			kc[i].events = cases[i].events;
			continue;
		}
		kc[i].fd = cases[i].ch ? gosync_chan_fd(cases[i].ch) : -1;
		kc[i].elem = (uintptr_t)cases[i].elem;
	}
	memset(&sel, 0, sizeof(sel));
	sel.cases = (uintptr_t)kc;
	sel.ncases = n;
	sel.deadline_ns = deadline;
	ret = ioctl(dev, GOSYNC_IOC_SELECT, &sel);
	if (ret < 0)
		ret = -errno;
	if (ret >= 0 || ret == -EPIPE) {
		struct gosync_case *c = &cases[sel.index];

		/* An fd case's result is its revents. */
		c->ok = ret == -EPIPE ? -EPIPE :
			c->op == GOSYNC_SEND ? 1 : kc[sel.index].result;
		if (c->op == GOSYNC_RECV && c->ok == 0 &&
		    gosync_chan_elem_size(c->ch))
			memset(c->elem, 0, gosync_chan_elem_size(c->ch));
	}
	free(kc);
	return ret;
}

/* Sleep on the distinct futex words of the cases' sides, until deadline. */
static int gosync_select_sleep(struct futex_waitv *words, size_t nwords,
			       int64_t deadline)
{
	struct __kernel_timespec ts;	/* futex_waitv's, on every arch */
	int64_t until = deadline;
	long ret;

	if (nwords > GOSYNC_WAITV_MAX) {
		/* Beyond futex_waitv(): wait on the first ones, poll the rest. */
		nwords = GOSYNC_WAITV_MAX;
		until = gosync_after(GOSYNC_POLL_NS);
		if (until > deadline)
			until = deadline;
	}
	ts.tv_sec = until / 1000000000;
	ts.tv_nsec = until % 1000000000;
	if (!nwords) {
		/* Nothing to wait for but the deadline or a signal. */
		static uint32_t never;

		words[0] = (struct futex_waitv){
			.uaddr = (uintptr_t)&never,
			.flags = FUTEX_32 | FUTEX_PRIVATE_FLAG,
		};
		nwords = 1;
	}
	/* Restarts under SA_RESTART, ends with EINTR otherwise (wait.c). */
	ret = syscall(SYS_futex_waitv, words, nwords, 0, &ts, CLOCK_MONOTONIC);
	if (ret >= 0 || errno == EAGAIN || errno == ETIMEDOUT)
		return 0;
	return errno == EINTR ? -EINTR : -errno;
}

/* A case index under a key, for grouping the cases by key in O(n log n). */
struct gosync_keyed {
	uintptr_t key;
	uint32_t i;
};

static int gosync_keyed_cmp(const void *a, const void *b)
{
	const struct gosync_keyed *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * Which cases share a channel, or a futex word: sorted by (key, index),
 * so a group's first entry is its first case.  A select over thousands of
 * cases that sleeps does this once, not n^2 comparisons.
 */
static void gosync_sort_keyed(struct gosync_keyed *k, size_t n)
{
	qsort(k, n, sizeof(*k), gosync_keyed_cmp);
}

/*
 * @registers: one receiver registration per channel with a receive case
 * (its first); @self: the case's channel is one the select registers on;
 * @words: the distinct futex words of the cases' sides, in case order
 * (values to be loaded before each wait); @k, @first: scratch of n.
 * Return: how many words.
 */
static size_t gosync_select_groups(struct gosync_case *cases, size_t n,
				   struct gosync_keyed *k, bool *registers,
				   uint32_t *self, struct futex_waitv *words,
				   bool *first)
{
	size_t m = 0, nwords = 0;

	for (size_t i = 0; i < n; i++)
		if (cases[i].ch)
			k[m++] = (struct gosync_keyed){ (uintptr_t)cases[i].ch, i };
	gosync_sort_keyed(k, m);
	for (size_t a = 0, b; a < m; a = b) {
		bool recv = false;

		for (b = a; b < m && k[b].key == k[a].key; b++) {
			if (cases[k[b].i].op == GOSYNC_RECV && !recv) {
				registers[k[b].i] = true;
				recv = true;
			}
		}
		for (size_t c = a; c < b; c++)
			self[k[c].i] = recv;
	}
	/* The words: the first case of each distinct word, in case order. */
	m = 0;
	for (size_t i = 0; i < n; i++) {
		struct gosync_wait *w;

		first[i] = false;
		if (!cases[i].ch)
			continue;
		w = gosync_chan_select_side(cases[i].ch, cases[i].op);
		k[m++] = (struct gosync_keyed){ (uintptr_t)&w->futex, i };
	}
	gosync_sort_keyed(k, m);
	for (size_t a = 0; a < m; a++)
		if (!a || k[a].key != k[a - 1].key)
			first[k[a].i] = true;
	for (size_t i = 0; i < n; i++) {
		struct gosync_wait *w;

		if (!first[i])
			continue;
		w = gosync_chan_select_side(cases[i].ch, cases[i].op);
		words[nwords].uaddr = (uintptr_t)&w->futex;
		words[nwords].flags = FUTEX_32;
		nwords++;
	}
	return nwords;
}

/*
 * How long a standalone select may sleep: until @deadline, or until a
 * context whose done channel is a case may be done without a wake (its
 * deadline, or a canceller killed before its wake: models/ctxsa.pml).
 */
static int64_t gosync_select_wake_by(const struct gosync_case *cases,
				     size_t n, int64_t deadline)
{
	for (size_t i = 0; i < n; i++) {
		int64_t by;

		if (!cases[i].ch || !cases[i].ch->ctx)
			continue;
		by = gosync_ctx_wake_by(cases[i].ch->ctx);
		if (by < deadline)
			deadline = by;
	}
	return deadline;
}

static int gosync_select_standalone(struct gosync_case *cases, size_t n,
				    int64_t deadline, uint32_t *order)
{
	struct futex_waitv *words = calloc(n ? n : 1, sizeof(*words));
	uint32_t *self = calloc(n ? n : 1, sizeof(*self));
	bool *registers = calloc(n ? n : 1, sizeof(*registers));
	struct gosync_keyed *keyed = calloc(n ? n : 1, sizeof(*keyed));
	bool *first = calloc(n ? n : 1, sizeof(*first));
	size_t nwords, epipe = 0;
	int ret = -ENOMEM;

	if (!words || !self || !registers || !keyed || !first)
		goto out;
	nwords = gosync_select_groups(cases, n, keyed, registers, self, words,
				      first);

	/*
	 * Counted in as a receiver from the first round that may sleep to
	 * the end, the retry after a wake included: a non-blocking send
	 * woken us for must still find us counted (chan.c, gosync_wait).
	 */
	gosync_count_receiving(cases, n, registers, 1);
	for (;;) {
		int slept;

		if (gosync_deadline_passed(deadline)) {
			ret = -ETIMEDOUT;
			break;
		}
		/* The words' values first, then arm (F), then the last round. */
		for (size_t i = 0; i < nwords; i++)
			words[i].val = __atomic_load_n(
				(uint32_t *)(uintptr_t)words[i].uaddr,
				__ATOMIC_ACQUIRE);
		gosync_arm_all(cases, n);			/* F */
		ret = gosync_round(cases, n, order, self, registers, 0, &epipe);
		if (ret != -EAGAIN)
			break;			/* fired, EPIPE, or an error */
		slept = gosync_select_sleep(words, nwords,
					    gosync_select_wake_by(cases, n,
								  deadline));
		if (slept) {
			ret = slept;
			break;
		}
		ret = gosync_round(cases, n, order, self, registers, 0, &epipe);
		if (ret != -EAGAIN)
			break;
	}
	gosync_count_receiving(cases, n, registers, -1);
out:
	free(first);
	free(keyed);
	free(registers);
	free(self);
	free(words);
	return ret;
}

/*
 * Rounds to spin before a select sleeps: GOSYNC_SPIN for up to
 * GOSYNC_SELECT_SPIN_CASES cases, fewer beyond, so the spin tries about as
 * many cases as that many rounds of so many would (a round tries every
 * case: 200 rounds of 4096 cases kept a select from sleeping for ms),
 * and at least one round.
 */
#define GOSYNC_SELECT_SPIN_CASES	8

static int gosync_select_spin_rounds(size_t n)
{
	size_t spin = gosync_spin_iters();

	if (!spin || n <= GOSYNC_SELECT_SPIN_CASES)
		return (int)spin;
	spin = spin * GOSYNC_SELECT_SPIN_CASES / n;
	return spin ? (int)spin : 1;
}

int gosync_select(struct gosync_case *cases, size_t n, int64_t deadline_ns)
{
	GOSYNC_KEEP_ERRNO;
	bool kernel = false, standalone = false, kernel_only = false;
	bool fds = false, handoff = false;
	uint32_t small[16], *order = small;
	size_t epipe = 0;
	int64_t until;
	int ret;

	if ((!cases && n) || n > GOSYNC_SELECT_MAX ||
	    !gosync_deadline_valid(deadline_ns))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		struct gosync_chan *ch = cases[i].ch;

		if (cases[i].op == GOSYNC_FDREADY) {
			/* struct pollfd's events: 16 bits (as the kernel). */
			if (ch || cases[i].events > 0xffff || cases[i].fd < -1)
				return cases[i].fd < -1 ? -EBADF : -EINVAL;
			fds = true;
			continue;
		}
		if (cases[i].op != GOSYNC_SEND && cases[i].op != GOSYNC_RECV)
			return -EINVAL;
		if (!ch)
			continue;
		/* 0-byte elements: no pointer needed, none looked at. */
		if (!cases[i].elem && gosync_chan_elem_size(ch))
			return -EINVAL;
		if (gosync_chan_fd(ch) < 0)
			return -EINVAL;
		/* A directional end's other direction, before any try. */
		if (gosync_chan_may(ch, cases[i].op))
			return -EBADF;
		if (gosync_chan_cap(ch) == 0 && cases[i].op == GOSYNC_SEND)
			kernel_only = handoff = true;
		if (gosync_chan_select_side(ch, cases[i].op) == NULL)
			kernel_only = true;	/* no mapping */
		*(gosync_chan_is_standalone(ch) ? &standalone : &kernel) = true;
	}
	/* One select waits in one place: the kernel, or futexes. */
	if (kernel && standalone)
		return -EINVAL;
	if (fds) {
		/* Only the kernel polls files: not beside futexes, nor without it. */
		int64_t f = standalone ? -EOPNOTSUPP : gosync_dev_features();

		if (f == -ENODEV || (f >= 0 && !(f & GOSYNC_FEAT_SELECT_FD)))
			f = -EOPNOTSUPP;
		if (f < 0)
			return f;
		kernel = kernel_only = true;
	}
	if (n > 16) {
		order = malloc(n * sizeof(*order));
		if (!order)
			return -ENOMEM;
	}

	/* Only a standalone unbuffered send case hands off: no clock else. */
	until = deadline_ns == GOSYNC_NONBLOCK && standalone && handoff ?
		gosync_after(GOSYNC_HANDOFF_NS) : 0;
	ret = fds ? -EAGAIN : gosync_round(cases, n, order, NULL, NULL, until,
					   &epipe);
	/*
	 * Spin before waiting, as a single send or receive does; but not
	 * when a case only the kernel can serve (its round is not the whole
	 * answer) or a standalone unbuffered send (its try hands off to a
	 * receiver and may wait) is in the set.
	 */
	for (int i = n && deadline_ns != GOSYNC_NONBLOCK && !kernel_only ?
		     gosync_select_spin_rounds(n) : 0;
	     ret == -EAGAIN && (n > GOSYNC_SELECT_SPIN_CASES ?
				/* a round is long: the clock at each */
				i > 0 && (deadline_ns == GOSYNC_FOREVER ||
					  !gosync_deadline_passed(deadline_ns)) :
				gosync_spin_on(i, deadline_ns)); i--) {
		gosync_cpu_relax();
		ret = gosync_round(cases, n, order, NULL, NULL, until, &epipe);
	}
	if (ret == -EAGAIN && deadline_ns == GOSYNC_NONBLOCK &&
	    !(kernel && kernel_only)) {
		/* An edge-triggered poller must hear of the next event. */
		gosync_arm_all(cases, n);			/* F */
		ret = gosync_round(cases, n, order, NULL, NULL, until, &epipe);
	} else if (ret == -EAGAIN && !kernel) {
		/* Standalone channels, or none at all. */
		ret = gosync_select_standalone(cases, n, deadline_ns, order);
	} else if (ret == -EAGAIN) {
		ret = gosync_select_kernel(cases, n, deadline_ns);
	}
	if (order != small)
		free(order);
	return ret;
}
