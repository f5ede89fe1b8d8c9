// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gosync-bench: one measurement of one workload with one implementation,
 * printed as a single line for bench/run to collect:
 *
 *   RESULT workload=stream-8-64 impl=pipe value=1234567 unit=msg/s ctxsw=0.012
 *
 * Workloads (processes are forked, then start together through a gate, so
 * no measured window holds a fork: streams are timed by the receiving side
 * from its first take to its last, counting what came after the first;
 * mpmc from the gate to the last consumer's last message; ping-pong,
 * select and mutex from the gate.  ctxsw counts voluntary and involuntary
 * context switches of every process, per message):
 *   stream IMPL ELEM CAP N        one producer process -> one consumer process
 *                                 (gosync-threads: two threads of one process;
 *                                 ring, ring-batch: the hardware limit)
 *   pingpong IMPL N               round trips of 8 bytes between two processes
 *   mpmc IMPL [P] N               P producer processes x P consumers (P = 2)
 *   select IMPL K N               one consumer over K channels, K producers
 *   select-scale IMPL N OPS       one process: one element, a select over N
 *   select-block IMPL N OPS       a select over N that sleeps, a round trip
 *   epoll-scale IMPL N OPS        one event among N fds in one epoll
 *   uring-scale IMPL N OPS        one completion among N queued receives
 *   objects IMPL N time|mem       make N objects and free them: time, memory
 *   wg-add-done IMPL N            uncontended Add(1)+Done(), or 2 atomic RMWs
 *   wg-wake IMPL N                last Done in one process -> Wait returns in another
 *   mutex-uncontended IMPL N      lock+unlock
 *   mutex-contended IMPL [P] N    P processes (2) x lock, ++counter, unlock
 *   sink KIND FD ELEM N           the C end of another language's stream
 *                                 (bench/py): take N elements of ELEM bytes
 *                                 from the inherited FD, a gosync channel
 *                                 (KIND gosync, in batches) or a pipe or
 *                                 socket (KIND fd, in large reads); timed by
 *                                 the sending side
 *
 * gosync runs in kernel mode when /dev/gosync exists, else standalone
 * (GOSYNC_BENCH_MODE=standalone|kernel forces one).  GOSYNC_BENCH_PIN=1
 * pins each process of a stream, ping-pong, select-block or mutex run to
 * its own CPU.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gosync.h>
#include <gosync_uring.h>

static unsigned int mode;	/* 0 or GOSYNC_STANDALONE */

#define BATCH	32	/* elements per call of the batch forms */

struct shared {
	int64_t t0, t1;		/* measured window, by the measuring side */
	int64_t first;		/* stream: elements the window's first take got */
	int64_t count;
	int64_t stamp;		/* wg-wake: when the last Done was called */
	int64_t total_ns;
	int ready, go;		/* the start gate: see gate_wait() */
	uint64_t sum, mix;	/* mpmc: what the consumers received */
	long counter;
	pthread_mutex_t pm;
	uint32_t futex[2];
	/*
	 * The ring peers: each index on its own pair of cache lines (the
	 * adjacent-line prefetcher fetches lines in 128-byte pairs), the
	 * slots after them.
	 */
	uint64_t head __attribute__((aligned(128)));
	uint64_t tail __attribute__((aligned(128)));
	unsigned char ring[1 << 22] __attribute__((aligned(128)));
};

static struct shared *sh;
static void die(const char *what, int err);
static int pin_on;	/* GOSYNC_BENCH_PIN=1: one process per CPU */

/*
 * Pin the calling process to CPU @i (modulo the CPUs it may use) when the
 * run is a pinned one; a no-op otherwise.
 */
static void pin(int i)
{
	static cpu_set_t allowed;
	static int nallowed = -1;
	cpu_set_t set;
	int cpu, k = 0;

	if (!pin_on)
		return;
	if (nallowed < 0) {
		sched_getaffinity(0, sizeof(allowed), &allowed);
		nallowed = CPU_COUNT(&allowed);
	}
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		if (k++ == i % nallowed)
			break;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity", errno);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "gosync-bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(2);
}

static int64_t now(void)
{
	return gosync_now();
}

static double ctxsw_total(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return self.ru_nvcsw + self.ru_nivcsw + kids.ru_nvcsw + kids.ru_nivcsw;
}

static void wait_children(void)
{
	int st;

	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			die("a child failed", EIO);
}

static void report(const char *workload, const char *impl, double value,
		   const char *unit, double ctxsw_per)
{
	printf("RESULT workload=%s impl=%s value=%.6g unit=%s ctxsw=%.4f\n",
	       workload, impl, value, unit, ctxsw_per);
}

/*
 * The start gate: forked children check in and wait; the measuring side
 * opens the gate once all are there and starts the clock, so no measured
 * window holds a fork.
 */
static void gate_wait(void)
{
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
		sched_yield();
}

static int64_t gate_open(int children)
{
	int64_t t;

	while (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < children)
		sched_yield();
	t = now();
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	return t;
}

/* The latest of several processes' end times. */
static void end_at(int64_t t)
{
	int64_t old = __atomic_load_n(&sh->t1, __ATOMIC_RELAXED);

	while (old < t && !__atomic_compare_exchange_n(&sh->t1, &old, t, false,
						       __ATOMIC_SEQ_CST,
						       __ATOMIC_RELAXED))
		;
}

static struct gosync_chan *make_chan(size_t elem, size_t cap, unsigned int extra)
{
	struct gosync_chan *ch;
	int ret = gosync_chan_make(&ch, elem, cap, mode | extra);

	if (ret)
		die("gosync_chan_make", ret);
	return ch;
}

/* ------------------------------------------------------------ streaming -- */

/* How one element goes, picked once by stream_setup(), not per element. */
enum stream_via { VIA_FD, VIA_CHAN, VIA_MQ, VIA_EVENTFD };

struct stream {
	const char *impl;
	enum stream_via send_via, recv_via;
	size_t elem, cap;
	long n;
	struct gosync_chan *ch;
	int fds[2];
	mqd_t mq;
};

static void stream_send(struct stream *s, const void *buf)
{
	ssize_t r;

	if (s->send_via == VIA_CHAN) {
		int ret = gosync_chan_send(s->ch, buf, GOSYNC_FOREVER);

		if (ret)
			die("send", ret);
		return;
	}
	if (s->send_via == VIA_MQ) {
		if (mq_send(s->mq, buf, s->elem, 0))
			die("mq_send", errno);
		return;
	}
	if (s->send_via == VIA_EVENTFD) {
		uint64_t one = 1;

		if (write(s->fds[1], &one, 8) != 8)
			die("eventfd write", errno);
		return;
	}
	/* pipe, socketpairs, gosync-rw: one write per element */
	r = write(s->fds[1], buf, s->elem);
	if (r != (ssize_t)s->elem)
		die("write", r < 0 ? errno : EIO);
}

static void stream_recv_one(struct stream *s, void *buf)
{
	size_t got = 0;
	ssize_t r;

	if (s->recv_via == VIA_CHAN) {
		int ret = gosync_chan_recv(s->ch, buf, GOSYNC_FOREVER);

		if (ret != 1)
			die("recv", ret);
		return;
	}
	if (s->recv_via == VIA_MQ) {
		if (mq_receive(s->mq, buf, s->elem, NULL) != (ssize_t)s->elem)
			die("mq_receive", errno);
		return;
	}
	if (s->recv_via == VIA_EVENTFD) {
		/* Counts, not messages: one read may take several. */
		abort();
	}
	/* Streams may split or merge: read exactly one element. */
	while (got < s->elem) {
		r = read(s->fds[0], (char *)buf + got, s->elem - got);
		if (r <= 0)
			die("read", r < 0 ? errno : EIO);
		got += r;
	}
}

/*
 * The window opens at the first take; what that take got arrived before
 * it (an eventfd read may take thousands of coalesced writes at once),
 * so the rate counts only what came after: (n - first) / (t1 - t0).
 */
static void window_opens(long got)
{
	sh->t0 = now();
	sh->first = got;
}

static long stream_consume(struct stream *s)
{
	unsigned char *buf = malloc(s->elem);
	long n = 0;

	if (!strcmp(s->impl, "eventfd")) {
		while (n < s->n) {
			uint64_t v;

			if (read(s->fds[0], &v, 8) != 8)
				die("eventfd read", errno);
			if (!n)
				window_opens(v);
			n += v;
		}
	} else if (!strcmp(s->impl, "gosync-epoll")) {
		int ep = epoll_create1(0);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

		epoll_ctl(ep, EPOLL_CTL_ADD, gosync_chan_fd(s->ch), &ev);
		while (n < s->n) {
			int r = gosync_chan_recv(s->ch, buf, GOSYNC_NONBLOCK);

			if (r == 1) {
				if (!n)
					window_opens(1);
				n++;
			} else if (r == -EAGAIN) {
				epoll_wait(ep, &ev, 1, -1);
			} else {
				die("recv", r);
			}
		}
		close(ep);
	} else if (!strncmp(s->impl, "gosync-uring", 12)) {
		/*
		 * gosync-uring: batched receives (GOSYNC_URING_RECV_N, up to
		 * BATCH per completion); gosync-uring-one: one element each.
		 */
		bool one = !strcmp(s->impl, "gosync-uring-one");
		unsigned char *many = malloc(BATCH * s->elem + 1);
		struct gosync_chan_xfer x;
		struct io_uring ring;
		struct io_uring_cqe *cqe;

		if (io_uring_queue_init(8, &ring, 0))
			die("io_uring_queue_init", errno);
		while (n < s->n) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			int r = one ? gosync_prep_recv(sqe, s->ch, many, GOSYNC_FOREVER) :
				gosync_prep_recv_n(sqe, s->ch, many, BATCH,
						   GOSYNC_FOREVER, &x);

			if (r)
				die("uring prep", r);
			io_uring_submit_and_wait(&ring, 1);
			if (io_uring_wait_cqe(&ring, &cqe) || cqe->res <= 0)
				die("uring recv", EIO);
			r = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
			if (!n)
				window_opens(r);
			n += r;
		}
		io_uring_queue_exit(&ring);
		free(many);
	} else if (!strcmp(s->impl, "gosync-batch")) {
		unsigned char *many = malloc(BATCH * s->elem);

		while (n < s->n) {
			int r = gosync_chan_recv_n(s->ch, many, BATCH, GOSYNC_FOREVER);

			if (r <= 0)
				die("recv_n", r);
			if (!n)
				window_opens(r);
			n += r;
		}
		free(many);
	} else if (!strcmp(s->impl, "gosync-rw")) {
		while (n < s->n) {
			if (read(s->fds[0], buf, s->elem) != (ssize_t)s->elem)
				die("channel read", errno);
			if (!n)
				window_opens(1);
			n++;
		}
	} else {
		for (; n < s->n; n++) {
			stream_recv_one(s, buf);
			if (!n)
				window_opens(1);
		}
	}
	sh->t1 = now();
	free(buf);
	return n;
}

/*
 * Room in a UNIX socket for at least cap elements, as the channel has: the
 * send buffer counts each element with its buffer overhead (~1 KiB); never
 * less than the default.
 */
static void socket_room(int fd, size_t cap, size_t elem)
{
	int want = (int)(cap * (elem + 1024)), have = 0;
	socklen_t len = sizeof(have);

	getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &have, &len);
	if (want <= have)
		return;
	/* Past wmem_max only with CAP_NET_ADMIN (root here). */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
}

static void stream_setup(struct stream *s)
{
	const char *impl = s->impl;
	enum stream_via other = !strcmp(impl, "mq") ? VIA_MQ :
				!strcmp(impl, "eventfd") ? VIA_EVENTFD : VIA_FD;

	/* gosync-rw: read(2)/write(2) of the channel fd, as for a pipe */
	s->send_via = !strncmp(impl, "gosync", 6) && strcmp(impl, "gosync-rw") ?
		      VIA_CHAN : other;
	s->recv_via = !strcmp(impl, "gosync") || !strcmp(impl, "gosync-nomap") ||
		      !strcmp(impl, "gosync-threads") ? VIA_CHAN : other;
	if (!strncmp(impl, "gosync", 6)) {
		s->ch = make_chan(s->elem, s->cap,
				  !strcmp(impl, "gosync-nomap") ? GOSYNC_NOMAP : 0);
		s->fds[0] = s->fds[1] = gosync_chan_fd(s->ch);
	} else if (!strcmp(impl, "pipe")) {
		if (pipe(s->fds))
			die("pipe", errno);
		/*
		 * Room for cap elements, as the channel has, but never less
		 * than the default 64 KiB (a smaller pipe is slower).  Without
		 * CAP_SYS_RESOURCE, fs.pipe-max-size (1 MiB) is the most.
		 */
		for (long want = (long)(s->cap * s->elem); want > 65536;
		     want /= 2)
			if (fcntl(s->fds[1], F_SETPIPE_SZ, (int)want) >= 0)
				break;
	} else if (!strcmp(impl, "socketpair-stream") ||
		   !strcmp(impl, "socketpair-seqpacket")) {
		int sv[2];

		if (socketpair(AF_UNIX, impl[11] == 's' && impl[12] == 't' ?
			       SOCK_STREAM : SOCK_SEQPACKET, 0, sv))
			die("socketpair", errno);
		s->fds[0] = sv[0];
		s->fds[1] = sv[1];
		socket_room(sv[1], s->cap, s->elem);
	} else if (!strcmp(impl, "eventfd")) {
		s->fds[0] = s->fds[1] = eventfd(0, 0);
	} else if (!strcmp(impl, "mq")) {
		struct mq_attr a = { .mq_maxmsg = (long)s->cap,
				     .mq_msgsize = (long)s->elem };
		char name[64];

		snprintf(name, sizeof(name), "/gosync-bench-%d", getpid());
		mq_unlink(name);
		/*
		 * As deep as the channel; if RLIMIT_MSGQUEUE (not raisable
		 * without CAP_SYS_RESOURCE) forbids it, the deepest allowed.
		 */
		while ((s->mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600,
					&a)) == (mqd_t)-1 &&
		       errno == EMFILE && a.mq_maxmsg > 1)
			a.mq_maxmsg /= 2;
		if (s->mq == (mqd_t)-1)
			die("mq_open", errno);
		mq_unlink(name);
	} else {
		die(impl, EINVAL);
	}
}

/*
 * The ring peers: the hardware limit for handing elements from one process
 * to another.  One producer, one consumer, a power-of-two ring in shared
 * memory; each side keeps its own index in a register and caches the
 * other's, re-reading it (one cache-line transfer) only when the ring
 * looks full (empty), so the index lines move once per burst, not per
 * element.  The element size is a compile-time constant in each copy
 * (ring_run is inlined per size), so a copy is a few moves, not a call.
 *
 * @batch 1: the tail is published after every element, the consumer takes
 * one at a time.  @batch 16: the tail is published once per 16 elements
 * (and before waiting for room, and at the end), the consumer takes all
 * that is published and frees the slots once per take.
 */
/*
 * Waiting for the other side: spin, and past 128 pauses (a few
 * microseconds, as long as the library's own spin) give the CPU away, so
 * an unpinned run whose two processes share a CPU does not spin out a
 * whole time slice per element (as a ring meant for use does; a pinned
 * run hardly ever gets there).
 */
static inline void ring_pause(unsigned int *spins)
{
	if (++*spins < 128) {
		__builtin_ia32_pause();
	} else {
		*spins = 0;
		sched_yield();
	}
}

static inline __attribute__((always_inline)) void
ring_produce(size_t elem, size_t cap, long n, int batch)
{
	unsigned char v[4096] = { 0 };
	uint64_t t = 0, head_seen = 0, published = 0;
	unsigned int spins = 0;

	for (long i = 0; i < n; i++) {
		while (t - head_seen >= cap) {
			if (published != t) {
				__atomic_store_n(&sh->tail, t, __ATOMIC_RELEASE);
				published = t;
			}
			head_seen = __atomic_load_n(&sh->head, __ATOMIC_ACQUIRE);
			if (t - head_seen >= cap)
				ring_pause(&spins);
		}
		spins = 0;
		memcpy(v, &i, 8);
		memcpy(&sh->ring[(t & (cap - 1)) * elem], v, elem);
		t++;
		if (batch == 1 || t - published >= (uint64_t)batch) {
			__atomic_store_n(&sh->tail, t, __ATOMIC_RELEASE);
			published = t;
		}
	}
	__atomic_store_n(&sh->tail, t, __ATOMIC_RELEASE);
}

/*
 * The whole element was taken: the compiler may not drop the copy's bytes
 * past the 8 the checksum reads (gosync and read(2) copy them all).
 */
#define RING_USED(v)	__asm__ volatile("" : : "r"(v) : "memory")

static inline __attribute__((always_inline)) uint64_t
ring_consume(size_t elem, size_t cap, long n, int batch)
{
	unsigned char v[4096];
	uint64_t h = 0, tail_seen = 0, sum = 0, x;
	unsigned int spins = 0;

	while ((long)h < n) {
		while (tail_seen == h) {
			tail_seen = __atomic_load_n(&sh->tail, __ATOMIC_ACQUIRE);
			if (tail_seen == h)
				ring_pause(&spins);
		}
		spins = 0;
		if (!h)
			window_opens(batch == 1 ? 1 : (long)(tail_seen - h));
		if (batch == 1) {
			memcpy(v, &sh->ring[(h & (cap - 1)) * elem], elem);
			RING_USED(v);
			memcpy(&x, v, 8);
			sum += x;
			__atomic_store_n(&sh->head, ++h, __ATOMIC_RELEASE);
			continue;
		}
		for (; h != tail_seen; h++) {
			memcpy(v, &sh->ring[(h & (cap - 1)) * elem], elem);
			RING_USED(v);
			memcpy(&x, v, 8);
			sum += x;
		}
		__atomic_store_n(&sh->head, h, __ATOMIC_RELEASE);
	}
	return sum;
}

#define RING_SIZES(f, elem, ...)					\
	switch (elem) {							\
	case 8: f(8, __VA_ARGS__); break;				\
	case 64: f(64, __VA_ARGS__); break;				\
	case 4096: f(4096, __VA_ARGS__); break;				\
	default: die("ring: element size not 8, 64 or 4096", EINVAL);	\
	}

static void bench_ring(const char *impl, size_t elem, size_t cap, long n)
{
	int batch = strcmp(impl, "ring") ? 16 : 1;
	double c0 = ctxsw_total();
	uint64_t sum = 0;
	char name[64];

	if (cap * elem > sizeof(sh->ring) || (cap & (cap - 1)) || cap < 16)
		die("ring: capacity not a power of two from 16 to the ring's size",
		    EINVAL);
	sh->head = sh->tail = 0;
	pin(0);
	if (fork() == 0) {
		pin(1);
		if (batch == 1)
			RING_SIZES(ring_produce, elem, cap, n, 1)
		else
			RING_SIZES(ring_produce, elem, cap, n, 16)
		_exit(0);
	}
#define RING_CONSUME(e, ...) (sum = ring_consume(e, __VA_ARGS__))
	if (batch == 1)
		RING_SIZES(RING_CONSUME, elem, cap, n, 1)
	else
		RING_SIZES(RING_CONSUME, elem, cap, n, 16)
#undef RING_CONSUME
	sh->t1 = now();
	wait_children();
	if (sum != (uint64_t)n * (uint64_t)(n - 1) / 2)
		die("ring: an element was lost", EIO);
	snprintf(name, sizeof(name), "stream-%zu-%zu", elem, cap);
	report(name, impl, (n - sh->first) / ((sh->t1 - sh->t0) / 1e9), "msg/s",
	       (ctxsw_total() - c0) / n);
}

static void stream_produce(struct stream *s)
{
	unsigned char *buf = calloc(BATCH, s->elem);

	if (!strcmp(s->impl, "gosync-batch")) {
		for (long i = 0; i < s->n;) {
			int k = s->n - i < BATCH ? s->n - i : BATCH;
			int r = gosync_chan_send_n(s->ch, buf, k, GOSYNC_FOREVER);

			if (r <= 0)
				die("send_n", r);
			i += r;
		}
	} else {
		for (long i = 0; i < s->n; i++) {
			memcpy(buf, &i, s->elem < 8 ? s->elem : 8);
			stream_send(s, buf);
		}
	}
	free(buf);
}

static void *stream_producer_thread(void *arg)
{
	pin(1);
	stream_produce(arg);
	return NULL;
}

/*
 * One producer, one consumer: two processes, or with "gosync-threads" two
 * threads of one process (the same channel and library calls, so the
 * difference to "gosync" is what crossing the process boundary costs, and
 * Go's in-process channel is compared like with like).
 */
static void bench_stream(const char *impl, size_t elem, size_t cap, long n)
{
	struct stream s = { .impl = impl, .elem = elem, .cap = cap, .n = n };
	char name[64];
	double c0 = ctxsw_total();

	if (!strncmp(impl, "ring", 4)) {
		bench_ring(impl, elem, cap, n);
		return;
	}
	stream_setup(&s);
	pin(0);
	if (!strcmp(impl, "gosync-threads")) {
		pthread_t t;

		if (pthread_create(&t, NULL, stream_producer_thread, &s))
			die("pthread_create", EAGAIN);
		stream_consume(&s);
		pthread_join(t, NULL);
	} else {
		if (fork() == 0) {
			pin(1);
			stream_produce(&s);
			_exit(0);
		}
		stream_consume(&s);
		wait_children();
	}
	snprintf(name, sizeof(name), "stream-%zu-%zu", elem, cap);
	report(name, impl, (n - sh->first) / ((sh->t1 - sh->t0) / 1e9), "msg/s",
	       (ctxsw_total() - c0) / n);
}

/* ------------------------------------------------------------ ping-pong -- */

static void futex_wait_val(uint32_t *w, uint32_t v)
{
	while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == v)
		syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}

static void futex_bump(uint32_t *w)
{
	__atomic_add_fetch(w, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void bench_pingpong(const char *impl, long n)
{
	struct gosync_chan *a = NULL, *b = NULL;
	int p1[2] = { -1, -1 }, p2[2] = { -1, -1 };
	mqd_t q1 = -1, q2 = -1;
	double c0 = ctxsw_total();
	uint64_t v = 0;
	bool is_gosync = !strncmp(impl, "gosync", 6);
	int64_t t0;

	if (is_gosync) {
		size_t cap = !strcmp(impl, "gosync-unbuffered") ? 0 : 1;
		unsigned int extra = !strcmp(impl, "gosync-nomap") ? GOSYNC_NOMAP : 0;

		a = make_chan(8, cap, extra);
		b = make_chan(8, cap, extra);
	} else if (!strcmp(impl, "pipe")) {
		if (pipe(p1) || pipe(p2))
			die("pipe", errno);
	} else if (!strcmp(impl, "socketpair")) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, p1))
			die("socketpair", errno);
		p2[0] = p1[1];
		p2[1] = p1[0];
	} else if (!strcmp(impl, "eventfd")) {
		p1[0] = p1[1] = eventfd(0, 0);
		p2[0] = p2[1] = eventfd(0, 0);
	} else if (!strcmp(impl, "mq")) {
		struct mq_attr at = { .mq_maxmsg = 1, .mq_msgsize = 8 };
		char name[64];

		snprintf(name, sizeof(name), "/gosync-pp1-%d", getpid());
		mq_unlink(name);
		q1 = mq_open(name, O_RDWR | O_CREAT, 0600, &at);
		mq_unlink(name);
		snprintf(name, sizeof(name), "/gosync-pp2-%d", getpid());
		mq_unlink(name);
		q2 = mq_open(name, O_RDWR | O_CREAT, 0600, &at);
		mq_unlink(name);
		if (q1 == (mqd_t)-1 || q2 == (mqd_t)-1)
			die("mq_open", errno);
	} else if (!strcmp(impl, "futex")) {
		sh->futex[0] = sh->futex[1] = 0;
	} else {
		die(impl, EINVAL);
	}

	sh->ready = sh->go = 0;
	pin(0);
	if (fork() == 0) {
		/* The echo side. */
		pin(1);
		gate_wait();
		for (long i = 0; i < n; i++) {
			if (is_gosync) {
				if (gosync_chan_recv(a, &v, GOSYNC_FOREVER) != 1 ||
				    gosync_chan_send(b, &v, GOSYNC_FOREVER))
					_exit(1);
			} else if (!strcmp(impl, "mq")) {
				if (mq_receive(q1, (char *)&v, 8, NULL) != 8 ||
				    mq_send(q2, (char *)&v, 8, 0))
					_exit(1);
			} else if (!strcmp(impl, "futex")) {
				futex_wait_val(&sh->futex[0], (uint32_t)i);
				futex_bump(&sh->futex[1]);
			} else {
				if (read(p1[0], &v, 8) != 8 ||
				    write(p2[1], &v, 8) != 8)
					_exit(1);
			}
		}
		_exit(0);
	}
	t0 = gate_open(1);
	for (long i = 0; i < n; i++) {
		v = i + 1;
		if (is_gosync) {
			if (gosync_chan_send(a, &v, GOSYNC_FOREVER) ||
			    gosync_chan_recv(b, &v, GOSYNC_FOREVER) != 1)
				die("pingpong", EIO);
		} else if (!strcmp(impl, "mq")) {
			if (mq_send(q1, (char *)&v, 8, 0) ||
			    mq_receive(q2, (char *)&v, 8, NULL) != 8)
				die("pingpong mq", errno);
		} else if (!strcmp(impl, "futex")) {
			futex_bump(&sh->futex[0]);
			futex_wait_val(&sh->futex[1], (uint32_t)i);
		} else {
			if (write(p1[1], &v, 8) != 8 || read(p2[0], &v, 8) != 8)
				die("pingpong", errno);
		}
	}
	sh->t1 = now();
	wait_children();
	report("pingpong", impl, (sh->t1 - t0) / (double)n, "ns/rtt",
	       (ctxsw_total() - c0) / n);
}

/* ----------------------------------------------------------------- mpmc -- */

/* A value's fingerprint: a lost and a duplicated element never cancel. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* @np producer processes x @np consumer processes on one channel */
static void bench_mpmc(const char *impl, int np, long n)
{
	struct stream s = { .impl = impl, .elem = 8, .cap = 64, .n = n };
	double c0 = ctxsw_total();
	long per = n / np, total = np * per;
	uint64_t sum = 0, mix = 0;
	char name[32];
	int64_t t0;

	stream_setup(&s);
	sh->count = 0;
	sh->sum = sh->mix = 0;
	sh->t1 = 0;
	sh->ready = sh->go = 0;
	for (int p = 0; p < 2 * np; p++) {
		if (fork() == 0) {
			uint64_t v = 0, my_sum = 0, my_mix = 0;

			gate_wait();
			if (p < np) {
				for (long i = 0; i < per; i++) {
					v = (uint64_t)p << 32 | (uint64_t)i;
					stream_send(&s, &v);
				}
				_exit(0);
			}
			/* Consumers share the messages; each checks in what it got. */
			while (__atomic_add_fetch(&sh->count, 1,
						  __ATOMIC_SEQ_CST) <= total) {
				stream_recv_one(&s, &v);
				my_sum += v;
				my_mix ^= mix64(v);
			}
			end_at(now());
			__atomic_add_fetch(&sh->sum, my_sum, __ATOMIC_SEQ_CST);
			__atomic_xor_fetch(&sh->mix, my_mix, __ATOMIC_SEQ_CST);
			_exit(0);
		}
	}
	t0 = gate_open(2 * np);
	wait_children();
	for (int p = 0; p < np; p++)
		for (long i = 0; i < per; i++) {
			uint64_t v = (uint64_t)p << 32 | (uint64_t)i;

			sum += v;
			mix ^= mix64(v);
		}
	if (sh->sum != sum || sh->mix != mix)
		die("mpmc: an element was lost or duplicated", EIO);
	snprintf(name, sizeof(name), "mpmc-%dx%d", np, np);
	report(name, impl, total / ((sh->t1 - t0) / 1e9), "msg/s",
	       (ctxsw_total() - c0) / total);
}

/* --------------------------------------------------------------- select -- */

#define SELECT_CAP	512

static void bench_select(const char *impl, int k, long n)
{
	struct gosync_chan *ch[8];
	int fds[8][2];
	double c0 = ctxsw_total();
	char name[32];
	int64_t t0;

	if (k < 1 || k > 8)
		die("select: 1 to 8 channels", EINVAL);
	/*
	 * Channels (gosync's and Go's) buffer 512 elements; pipes keep their
	 * default 64 KiB (8192 elements): a smaller pipe is a slower one.
	 */
	for (int i = 0; i < k; i++) {
		if (!strcmp(impl, "gosync")) {
			ch[i] = make_chan(8, SELECT_CAP, 0);
		} else if (pipe(fds[i])) {
			die("pipe", errno);
		}
	}
	sh->ready = sh->go = 0;
	for (int i = 0; i < k; i++) {
		if (fork() == 0) {
			uint64_t v = i;

			gate_wait();
			for (long m = 0; m < n / k; m++) {
				if (!strcmp(impl, "gosync") ?
				    gosync_chan_send(ch[i], &v, GOSYNC_FOREVER) != 0 :
				    write(fds[i][1], &v, 8) != 8)
					_exit(1);
			}
			_exit(0);
		}
	}
	t0 = gate_open(k);
	if (!strcmp(impl, "gosync")) {
		uint64_t vals[8];
		struct gosync_case c[8];

		for (int i = 0; i < k; i++)
			c[i] = (struct gosync_case){ .ch = ch[i], .op = GOSYNC_RECV, .elem = &vals[i] };
		for (long m = 0; m < n / k * k; m++)
			if (gosync_select(c, k, GOSYNC_FOREVER) < 0)
				die("select", EIO);
	} else {
		int ep = epoll_create1(0);
		struct epoll_event ev, evs[8];

		for (int i = 0; i < k; i++) {
			ev.events = EPOLLIN;
			ev.data.u32 = i;
			epoll_ctl(ep, EPOLL_CTL_ADD, fds[i][0], &ev);
		}
		for (long m = 0; m < n / k * k;) {
			int r = epoll_wait(ep, evs, 1, -1);
			uint64_t v;

			if (r == 1 && read(fds[evs[0].data.u32][0], &v, 8) == 8)
				m++;
		}
	}
	sh->t1 = now();
	wait_children();
	snprintf(name, sizeof(name), "select-%d", k);
	report(name, impl, (n / k * k) / ((sh->t1 - t0) / 1e9), "msg/s",
	       (ctxsw_total() - c0) / (n / k * k));
}

/* ---------------------------------------------------------------- scale -- */

/*
 * How cost grows.  These take N, the number of channels (cases, objects),
 * and report a cost per operation, so bench/run can fit the exponent.
 */

/* The position a scale run touches next: spread over all N, no pattern. */
static int scale_pick(long m, int n)
{
	return (int)(mix64((uint64_t)m) % (uint64_t)n);
}

static struct gosync_chan **scale_chans(int n, size_t cap)
{
	struct gosync_chan **ch = calloc(n, sizeof(*ch));

	for (int i = 0; i < n; i++)
		ch[i] = make_chan(8, cap, 0);
	return ch;
}

static void scale_free(struct gosync_chan **ch, int n)
{
	for (int i = 0; i < n; i++)
		gosync_chan_free(ch[i]);
	free(ch);
}

static int (*scale_pipes(int n, int nonblock))[2]
{
	int (*p)[2] = calloc(n, sizeof(*p));

	for (int i = 0; i < n; i++)
		if (pipe2(p[i], nonblock ? O_NONBLOCK : 0))
			die("pipe", errno);
	return p;
}

static void scale_close_pipes(int (*p)[2], int n)
{
	for (int i = 0; i < n; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	free(p);
}

/* A scale run's N channels, or the peer's N pipes. */
struct scale_set {
	bool g;				/* channels, not pipes */
	int n;
	struct gosync_chan **ch;
	int (*p)[2];
};

/* @cap: each channel's; @nonblock: the pipes' O_NONBLOCK. */
static struct scale_set scale_open(bool g, int n, size_t cap, int nonblock)
{
	struct scale_set s = { .g = g, .n = n };

	if (g)
		s.ch = scale_chans(n, cap);
	else
		s.p = scale_pipes(n, nonblock);
	return s;
}

static void scale_close(struct scale_set *s)
{
	if (s->g)
		scale_free(s->ch, s->n);
	else
		scale_close_pipes(s->p, s->n);
}

/* The receiving fd of channel (or pipe) @r. */
static int scale_rfd(const struct scale_set *s, int r)
{
	return s->g ? gosync_chan_fd(s->ch[r]) : s->p[r][0];
}

/* One element into channel (or pipe) @r of a scale run; @deadline: the send's. */
static void scale_put(const struct scale_set *s, int r, int64_t deadline)
{
	uint64_t v = 1;

	if (s->g ? gosync_chan_send(s->ch[r], &v, deadline) :
	    write(s->p[r][1], &v, 8) != 8)
		die("send", EIO);
}

/*
 * select-scale: one process, N channels; each round puts one element into
 * a channel picked at random and selects over all N receive cases, so
 * exactly one is ready: the cost of a select that has N cases to look at.
 * The peer: epoll over N pipes (a write, epoll_wait for one event, a read).
 */
static void bench_select_scale(const char *impl, int n, long ops)
{
	uint64_t v = 1;
	int64_t t0;

	if (!strcmp(impl, "gosync")) {
		struct gosync_chan **ch = scale_chans(n, 1);
		struct gosync_case *c = calloc(n, sizeof(*c));
		uint64_t *vals = calloc(n, sizeof(*vals));

		for (int i = 0; i < n; i++)
			c[i] = (struct gosync_case){ .ch = ch[i], .op = GOSYNC_RECV,
						     .elem = &vals[i] };
		t0 = now();
		for (long m = 0; m < ops; m++) {
			int r = scale_pick(m, n), got;

			if (gosync_chan_send(ch[r], &v, GOSYNC_NONBLOCK))
				die("send", EIO);
			got = gosync_select(c, n, GOSYNC_FOREVER);
			if (got != r)
				die("select took the wrong case", got < 0 ? got : EIO);
		}
		sh->t1 = now();
		free(vals);
		free(c);
		scale_free(ch, n);
	} else {
		int (*p)[2] = scale_pipes(n, 0);
		int ep = epoll_create1(0);
		struct epoll_event ev = { .events = EPOLLIN };

		for (int i = 0; i < n; i++) {
			ev.data.u32 = i;
			epoll_ctl(ep, EPOLL_CTL_ADD, p[i][0], &ev);
		}
		t0 = now();
		for (long m = 0; m < ops; m++) {
			int r = scale_pick(m, n);

			if (write(p[r][1], &v, 8) != 8 ||
			    epoll_wait(ep, &ev, 1, -1) != 1 ||
			    (int)ev.data.u32 != r ||
			    read(p[r][0], &v, 8) != 8)
				die("epoll over pipes", EIO);
		}
		sh->t1 = now();
		close(ep);
		scale_close_pipes(p, n);
	}
	report("select-scale", impl, (sh->t1 - t0) / (double)ops, "ns/op", 0);
}

/*
 * select-block: the select sleeps.  A child selects over N empty channels;
 * the parent puts one element into one of them at random and waits for
 * the child's answer on a reply channel: one round trip per element, each
 * a select that had to wait on all N.  The peer: epoll over N pipes, and
 * a pipe back.
 */
static void bench_select_block(const char *impl, int n, long ops)
{
	bool g = !strcmp(impl, "gosync");
	struct scale_set s = scale_open(g, n, 1, 0);
	struct gosync_chan *reply = NULL;
	int back[2];
	double c0 = ctxsw_total();
	uint64_t v = 1;
	int64_t t0;

	if (g)
		reply = make_chan(8, 1, 0);
	else if (pipe(back))
		die("pipe", errno);
	sh->ready = sh->go = 0;
	pin(0);
	if (fork() == 0) {
		pin(1);
		if (g) {
			struct gosync_case *c = calloc(n, sizeof(*c));
			uint64_t *vals = calloc(n, sizeof(*vals));

			for (int i = 0; i < n; i++)
				c[i] = (struct gosync_case){ .ch = s.ch[i],
					.op = GOSYNC_RECV, .elem = &vals[i] };
			gate_wait();
			for (long m = 0; m < ops; m++)
				if (gosync_select(c, n, GOSYNC_FOREVER) < 0 ||
				    gosync_chan_send(reply, &v, GOSYNC_FOREVER))
					_exit(1);
		} else {
			int ep = epoll_create1(0);
			struct epoll_event ev = { .events = EPOLLIN };

			for (int i = 0; i < n; i++) {
				ev.data.u32 = i;
				epoll_ctl(ep, EPOLL_CTL_ADD, scale_rfd(&s, i), &ev);
			}
			gate_wait();
			for (long m = 0; m < ops; m++)
				if (epoll_wait(ep, &ev, 1, -1) != 1 ||
				    read(scale_rfd(&s, ev.data.u32), &v, 8) != 8 ||
				    write(back[1], &v, 8) != 8)
					_exit(1);
		}
		_exit(0);
	}
	t0 = gate_open(1);
	for (long m = 0; m < ops; m++) {
		scale_put(&s, scale_pick(m, n), GOSYNC_FOREVER);
		if (g ? gosync_chan_recv(reply, &v, GOSYNC_FOREVER) != 1 :
			read(back[0], &v, 8) != 8)
			die("select-block", EIO);
	}
	sh->t1 = now();
	wait_children();
	scale_close(&s);
	if (g) {
		gosync_chan_free(reply);
	} else {
		close(back[0]);
		close(back[1]);
	}
	report("select-block", impl, (sh->t1 - t0) / (double)ops, "ns/rtt",
	       (ctxsw_total() - c0) / ops);
}

/*
 * epoll-scale and uring-scale (kernel mode): N channels, their fds in one
 * epoll (or N receives queued on one io_uring); each round puts one
 * element into a channel picked at random and takes the event: the cost
 * of one event among N watched.  epoll is level-triggered and the side is
 * drained to EAGAIN (which arms it, so the next send wakes the watcher),
 * as an epoll loop does.  Peers: the same over N pipes (O_NONBLOCK, so
 * io_uring's IORING_OP_READ polls them instead of parking a worker thread
 * on each).
 */
static void bench_epoll_scale(const char *impl, int n, long ops)
{
	bool g = !strcmp(impl, "gosync-epoll");
	struct scale_set s = scale_open(g, n, 16, 1);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t v = 1;
	int64_t t0;

	for (int i = 0; i < n; i++) {
		ev.data.u32 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, scale_rfd(&s, i), &ev))
			die("epoll_ctl", errno);
		/* an empty side armed, as after a drain */
		if (g && gosync_chan_recv(s.ch[i], &v, GOSYNC_NONBLOCK) != -EAGAIN)
			die("recv", EIO);
	}
	t0 = now();
	for (long m = 0; m < ops; m++) {
		int r = scale_pick(m, n), fd = scale_rfd(&s, r);

		scale_put(&s, r, GOSYNC_NONBLOCK);
		if (epoll_wait(ep, &ev, 1, -1) != 1 || (int)ev.data.u32 != r)
			die("epoll_wait", EIO);
		if (g ? gosync_chan_recv(s.ch[r], &v, GOSYNC_NONBLOCK) != 1 ||
			gosync_chan_recv(s.ch[r], &v, GOSYNC_NONBLOCK) != -EAGAIN :
			read(fd, &v, 8) != 8 || read(fd, &v, 8) != -1)
			die("drain", EIO);
	}
	sh->t1 = now();
	close(ep);
	scale_close(&s);
	report("epoll-scale", impl, (sh->t1 - t0) / (double)ops, "ns/event", 0);
}

static void uring_queue_recv(struct io_uring *ring, const struct scale_set *s,
			     uint64_t *vals, int i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	if (s->g)
		gosync_prep_recv(sqe, s->ch[i], &vals[i], GOSYNC_FOREVER);
	else
		io_uring_prep_read(sqe, s->p[i][0], &vals[i], 8, 0);
	io_uring_sqe_set_data64(sqe, i);
}

static void bench_uring_scale(const char *impl, int n, long ops)
{
	bool g = !strcmp(impl, "gosync-uring");
	struct scale_set s;
	uint64_t *vals = calloc(n, sizeof(*vals));
	/* room for a completion of every queued receive */
	struct io_uring_params par = { .flags = IORING_SETUP_CQSIZE,
				       .cq_entries = 2 * (unsigned int)n + 2048 };
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	int64_t t0, ret;

	ret = io_uring_queue_init_params(1024, &ring, &par);
	if (ret)
		die("io_uring_queue_init", (int)ret);
	s = scale_open(g, n, 16, 1);	/* pipes: EAGAIN, then io_uring's poll */
	for (int i = 0; i < n; i++)
		uring_queue_recv(&ring, &s, vals, i);
	io_uring_submit(&ring);
	t0 = now();
	for (long m = 0; m < ops; m++) {
		int r = scale_pick(m, n);

		scale_put(&s, r, GOSYNC_NONBLOCK);
		if (io_uring_wait_cqe(&ring, &cqe) ||
		    (int)io_uring_cqe_get_data64(cqe) != r ||
		    cqe->res != (g ? 1 : 8))
			die("uring-scale: the wrong completion", EIO);
		io_uring_cqe_seen(&ring, cqe);
		uring_queue_recv(&ring, &s, vals, r);
		io_uring_submit(&ring);
	}
	sh->t1 = now();
	io_uring_queue_exit(&ring);
	scale_close(&s);
	free(vals);
	report("uring-scale", impl, (sh->t1 - t0) / (double)ops, "ns/event", 0);
}

/*
 * A memory cgroup of its own for one measuring child, so what the objects
 * cost is what the kernel charges for them (kernel and user memory), not
 * the whole machine's free memory moving: cgroup v1's memory controller
 * where the process is in one (a sub-group of it), else cgroup v2 (mounted
 * if nothing is, as in the guest).  @dir gets the group, @usage its usage
 * file; returns 0, or -1 where neither can be had.
 */
static char cg_mounted[64];

/* Remove the group (@dir, unless NULL), and the hierarchy if we mounted it. */
static void memcg_drop(const char *dir)
{
	/* an exited child's charges may take a moment to leave the group */
	for (int i = 0; dir && rmdir(dir) && errno == EBUSY && i < 100; i++)
		usleep(10000);
	if (cg_mounted[0]) {
		umount2(cg_mounted, MNT_DETACH);
		rmdir(cg_mounted);
		cg_mounted[0] = '\0';
	}
}

static int memcg_make(char dir[512], char usage[600])
{
	char line[512], base[512] = "";
	FILE *f = fopen("/proc/self/cgroup", "r");
	const char *v2 = "/sys/fs/cgroup";
	int fd;

	while (f && fgets(line, sizeof(line), f)) {
		char *path = strstr(line, ":memory:");

		line[strcspn(line, "\n")] = '\0';
		if (path)
			snprintf(base, sizeof(base), "/sys/fs/cgroup/memory%s",
				 strcmp(path + 8, "/") ? path + 8 : "");
	}
	if (f)
		fclose(f);
	if (base[0] && !access(base, W_OK)) {
		snprintf(dir, 512, "%.480s/gosync-bench-%d", base, getpid());
		snprintf(usage, 600, "%s/memory.usage_in_bytes", dir);
		return mkdir(dir, 0755) ? -1 : 0;
	}
	if (access("/sys/fs/cgroup/cgroup.controllers", R_OK)) {
		snprintf(cg_mounted, sizeof(cg_mounted), "/run/gosync-bench-cg-%d",
			 getpid());
		mkdir(cg_mounted, 0755);
		if (mount("none", cg_mounted, "cgroup2", 0, NULL)) {
			rmdir(cg_mounted);
			cg_mounted[0] = '\0';
			return -1;
		}
		v2 = cg_mounted;
	}
	/* the root group's children get the memory controller */
	snprintf(line, sizeof(line), "%s/cgroup.subtree_control", v2);
	fd = open(line, O_WRONLY);
	if (fd >= 0 && write(fd, "+memory", 7) == 7) {
		snprintf(dir, 512, "%.480s/gosync-bench-%d", v2, getpid());
		snprintf(usage, 600, "%s/memory.current", dir);
		if (!mkdir(dir, 0755)) {
			close(fd);
			return 0;
		}
	}
	if (fd >= 0)
		close(fd);
	memcg_drop(NULL);
	return -1;
}

static long read_long(const char *file)
{
	char buf[64];
	int fd = open(file, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return atol(buf);
}

static int memcg_enter(const char *dir)
{
	char file[600], pid[32];
	int fd, n = snprintf(pid, sizeof(pid), "%d\n", getpid());

	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	fd = open(file, O_WRONLY);
	if (fd < 0)
		return -1;
	if (write(fd, pid, n) != n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Bytes the machine has free: the fallback where no cgroup can be had. */
static long mem_free(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

/*
 * objects: make N objects of one kind, then free them all: time per object
 * (made and freed), or memory per object while all N exist, empty (what
 * the kernel charges the measuring child's memory cgroup: kernel and user
 * memory together, page tables and mappings included; else the machine's
 * free memory before and after).  Channels are of 64 elements of 8 bytes,
 * their ring allocated when made; the pipe's buffer is set to its least
 * (one page) and the POSIX mq to 64 messages of 8 bytes, both allocated
 * only as data arrives, so an empty one costs less than a full one.
 */
static void objects_run(const char *impl, int n, const char *what,
			const char *usage)
{
	void **obj = calloc(n, sizeof(*obj));
	int (*p)[2] = calloc(n, sizeof(*p));
	mqd_t *q = calloc(n, sizeof(*q));
	bool mem = !strcmp(what, "mem");
	long m0, m1 = 0;
	int64_t t0, t1;
	char name[64];

	/* our own arrays are not the objects' cost: touched before */
	memset(obj, 0, n * sizeof(*obj));
	memset(p, 0, n * sizeof(*p));
	memset(q, 0, n * sizeof(*q));
	m0 = usage ? -read_long(usage) : mem_free();
	t0 = now();
	for (int i = 0; i < n; i++) {
		int ret = 0;

		if (!strcmp(impl, "gosync-chan")) {
			ret = gosync_chan_make((struct gosync_chan **)&obj[i], 8, 64, mode);
		} else if (!strcmp(impl, "gosync-mutex")) {
			ret = gosync_mutex_make((struct gosync_mutex **)&obj[i], mode);
		} else if (!strcmp(impl, "gosync-wg")) {
			ret = gosync_wg_make((struct gosync_wg **)&obj[i], mode);
		} else if (!strcmp(impl, "pipe")) {
			if (pipe(p[i])) {
				ret = -errno;
			} else if (fcntl(p[i][1], F_SETPIPE_SZ, 4096) < 0) {
				ret = -errno;
				close(p[i][0]);
				close(p[i][1]);
			}
		} else if (!strcmp(impl, "mq")) {
			struct mq_attr a = { .mq_maxmsg = 64, .mq_msgsize = 8 };

			snprintf(name, sizeof(name), "/gosync-obj-%d-%d", getpid(), i);
			q[i] = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
			if (q[i] == (mqd_t)-1)
				ret = -errno;
			mq_unlink(name);
			/*
			 * RLIMIT_MSGQUEUE (raisable only with CAP_SYS_RESOURCE)
			 * may allow fewer: per object over those it allowed.
			 */
			if ((ret == -EMFILE || ret == -ENOSPC) && i > 0) {
				n = i;
				break;
			}
		} else {
			die(impl, EINVAL);
		}
		/* RLIMIT_NOFILE may allow fewer pipes (two fds each) */
		if (ret == -EMFILE && i > 0 && !strcmp(impl, "pipe")) {
			n = i;
			break;
		}
		if (ret)
			die(impl, ret);
	}
	if (mem)
		m1 = usage ? -read_long(usage) : mem_free();
	for (int i = 0; i < n; i++) {
		if (!strcmp(impl, "gosync-chan"))
			gosync_chan_free(obj[i]);
		else if (!strcmp(impl, "gosync-mutex"))
			gosync_mutex_free(obj[i]);
		else if (!strcmp(impl, "gosync-wg"))
			gosync_wg_free(obj[i]);
		else if (!strcmp(impl, "pipe"))
			close(p[i][0]), close(p[i][1]);
		else
			mq_close(q[i]);
	}
	t1 = now();
	free(obj);
	free(p);
	free(q);
	if (mem)
		printf("RESULT workload=objects-mem impl=%s value=%.6g unit=bytes/obj ctxsw=0 how=%s n=%d\n",
		       impl, (double)(m0 - m1) / n, usage ? "memcg" : "memfree", n);
	else
		printf("RESULT workload=objects-time impl=%s value=%.6g unit=ns/obj ctxsw=0 n=%d\n",
		       impl, (t1 - t0) / (double)n, n);
}

/* objects-mem measures in a child of its own memory cgroup, where it can. */
static void bench_objects(const char *impl, int n, const char *what)
{
	char dir[512], usage[600];
	pid_t pid;
	int st = 0;

	if (strcmp(what, "mem") || memcg_make(dir, usage)) {
		objects_run(impl, n, what, NULL);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		objects_run(impl, n, what, memcg_enter(dir) ? NULL : usage);
		fflush(stdout);
		_exit(0);
	}
	/* the group goes whatever the child did */
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	memcg_drop(dir);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("objects: the measuring child failed", EIO);
}

/* ------------------------------------------------------ wg, mutex: sync -- */

static void bench_wg_add_done(const char *impl, long n)
{
	struct gosync_wg *wg = NULL;
	double c0 = ctxsw_total();
	int64_t t0;

	if (!strcmp(impl, "gosync") && gosync_wg_make(&wg, mode))
		die("wg", EIO);
	t0 = now();
	if (wg) {
		for (long i = 0; i < n; i++) {
			gosync_wg_add(wg, 1);
			gosync_wg_done(wg);
		}
	} else {
		/* Two bare atomic read-modify-writes: the floor. */
		for (long i = 0; i < n; i++) {
			__atomic_add_fetch(&sh->counter, 1, __ATOMIC_SEQ_CST);
			__atomic_sub_fetch(&sh->counter, 1, __ATOMIC_SEQ_CST);
		}
	}
	report("wg-add-done", impl, (now() - t0) / (double)n, "ns/op",
	       (ctxsw_total() - c0) / n);
}

/* The last Done in one process -> Wait returning in another. */
static void bench_wg_wake(const char *impl, long n)
{
	struct gosync_wg *wg, *ready;
	double c0 = ctxsw_total();

	if (gosync_wg_make(&wg, mode) || gosync_wg_make(&ready, mode))
		die("wg", EIO);
	(void)impl;
	sh->total_ns = 0;
	for (long i = 0; i < n; i++) {
		gosync_wg_add(wg, 1);
		gosync_wg_add(ready, 1);
		if (fork() == 0) {
			/* The waiter. */
			gosync_wg_done(ready);
			if (gosync_wg_wait(wg, GOSYNC_FOREVER))
				_exit(1);
			sh->total_ns += now() - sh->stamp;
			_exit(0);
		}
		gosync_wg_wait(ready, GOSYNC_FOREVER);
		usleep(200);	/* let it block */
		sh->stamp = now();
		gosync_wg_done(wg);
		wait_children();
	}
	report("wg-wake", "gosync", sh->total_ns / (double)n, "ns/op",
	       (ctxsw_total() - c0) / n);
}

static void bench_mutex(const char *impl, long n, int procs)
{
	struct gosync_mutex *m = NULL;
	double c0 = ctxsw_total();
	char name[32];
	int64_t t0;

	if (!strcmp(impl, "gosync")) {
		if (gosync_mutex_make(&m, mode))
			die("mutex", EIO);
	} else {
		pthread_mutexattr_t a;

		pthread_mutexattr_init(&a);
		pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
		pthread_mutex_init(&sh->pm, &a);
	}
	sh->counter = 0;
	sh->t1 = 0;
	sh->ready = sh->go = 0;
	for (int p = 0; p < procs; p++) {
		if (fork() == 0) {
			pin(p);
			gate_wait();
			for (long i = 0; i < n / procs; i++) {
				if (m)
					gosync_mutex_lock(m, GOSYNC_FOREVER);
				else
					pthread_mutex_lock(&sh->pm);
				sh->counter++;
				if (m)
					gosync_mutex_unlock(m);
				else
					pthread_mutex_unlock(&sh->pm);
			}
			end_at(now());
			_exit(0);
		}
	}
	t0 = gate_open(procs);
	wait_children();
	if (sh->counter != n / procs * procs)
		die("mutex lost an increment", EIO);
	if (procs == 1)
		snprintf(name, sizeof(name), "mutex-uncontended");
	else
		snprintf(name, sizeof(name), "mutex-contended-%d", procs);
	report(name, impl, (sh->t1 - t0) / (double)(n / procs * procs), "ns/op",
	       (ctxsw_total() - c0) / n);
}

static void bench_sink(const char *kind, int fd, size_t elem, long n)
{
	enum { SINK_BATCH = 256 };
	size_t size = elem ? elem * SINK_BATCH : 1;
	char *buf = malloc(size);
	long got = 0;
	int r;

	if (!buf)
		die("malloc", ENOMEM);
	if (!strcmp(kind, "gosync")) {
		struct gosync_chan *ch;

		r = gosync_chan_from_fd(&ch, fd, 0);
		if (r)
			die("gosync_chan_from_fd", r);
		while (got < n) {
			r = gosync_chan_recv_n(ch, buf, n - got < SINK_BATCH ? n - got : SINK_BATCH,
					       GOSYNC_FOREVER);
			if (r == -EINTR)
				continue;
			if (r <= 0)
				die("gosync_chan_recv_n", r ? r : -EPIPE);
			got += r;
		}
		gosync_chan_free(ch);
	} else if (!strcmp(kind, "fd")) {
		unsigned long long want = (unsigned long long)elem * n, have = 0;

		while (have < want) {
			ssize_t k = read(fd, buf, want - have < size ? want - have : size);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				die("read", k ? errno : EPIPE);
			have += k;
		}
		got = n;
	} else {
		die(kind, EINVAL);
	}
	free(buf);
	report("sink", kind, got, "elems", 0);
}

int main(int argc, char **argv)
{
	const char *env = getenv("GOSYNC_BENCH_MODE");
	struct gosync_info info;

	if (argc < 4) {
		fprintf(stderr, "usage: see the head of bench/gosync-bench.c\n");
		return 2;
	}
	if (env ? !strcmp(env, "standalone") : gosync_info(&info) == -ENODEV)
		mode = GOSYNC_STANDALONE;
	env = getenv("GOSYNC_BENCH_PIN");
	pin_on = env && !strcmp(env, "1");
	/* POSIX mq: room for the deepest queue (root may raise the limit). */
	setrlimit(RLIMIT_MSGQUEUE, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY });
	/* the scale rows hold 10 000 channels (20 000 pipe fds) */
	if (setrlimit(RLIMIT_NOFILE, &(struct rlimit){ 65536, 65536 })) {
		struct rlimit r;

		getrlimit(RLIMIT_NOFILE, &r);
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap", errno);
	if (!strcmp(argv[1], "stream") && argc == 6)
		bench_stream(argv[2], atol(argv[3]), atol(argv[4]), atol(argv[5]));
	else if (!strcmp(argv[1], "pingpong"))
		bench_pingpong(argv[2], atol(argv[3]));
	else if (!strcmp(argv[1], "mpmc"))
		bench_mpmc(argv[2], argc == 5 ? atoi(argv[3]) : 2,
			   atol(argv[argc == 5 ? 4 : 3]));
	else if (!strcmp(argv[1], "select") && argc == 5)
		bench_select(argv[2], atoi(argv[3]), atol(argv[4]));
	else if (!strcmp(argv[1], "select-scale") && argc == 5)
		bench_select_scale(argv[2], atoi(argv[3]), atol(argv[4]));
	else if (!strcmp(argv[1], "select-block") && argc == 5)
		bench_select_block(argv[2], atoi(argv[3]), atol(argv[4]));
	else if (!strcmp(argv[1], "epoll-scale") && argc == 5)
		bench_epoll_scale(argv[2], atoi(argv[3]), atol(argv[4]));
	else if (!strcmp(argv[1], "uring-scale") && argc == 5)
		bench_uring_scale(argv[2], atoi(argv[3]), atol(argv[4]));
	else if (!strcmp(argv[1], "objects") && argc == 5)
		bench_objects(argv[2], atoi(argv[3]), argv[4]);
	else if (!strcmp(argv[1], "wg-add-done"))
		bench_wg_add_done(argv[2], atol(argv[3]));
	else if (!strcmp(argv[1], "wg-wake"))
		bench_wg_wake(argv[2], atol(argv[3]));
	else if (!strcmp(argv[1], "mutex-uncontended"))
		bench_mutex(argv[2], atol(argv[3]), 1);
	else if (!strcmp(argv[1], "sink") && argc == 6)
		bench_sink(argv[2], atoi(argv[3]), atol(argv[4]), atol(argv[5]));
	else if (!strcmp(argv[1], "mutex-contended"))
		bench_mutex(argv[2], atol(argv[argc == 5 ? 4 : 3]),
			    argc == 5 ? atoi(argv[3]) : 2);
	else
		die(argv[1], EINVAL);
	return 0;
}
