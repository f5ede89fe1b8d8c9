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
 *   pingpong IMPL N               round trips of 8 bytes between two processes
 *   mpmc IMPL N                   2 producer processes x 2 consumer processes
 *   select IMPL K N               one consumer over K channels, K producers
 *   wg-add-done IMPL N            uncontended Add(1)+Done(), or 2 atomic RMWs
 *   wg-wake IMPL N                last Done in one process -> Wait returns in another
 *   mutex-uncontended IMPL N      lock+unlock
 *   mutex-contended IMPL N        2 processes x lock, ++counter, unlock
 *
 * gosync runs in kernel mode when /dev/gosync exists, else standalone
 * (GOSYNC_BENCH_MODE=standalone|kernel forces one).
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
	/* spin ring */
	volatile uint64_t head __attribute__((aligned(64)));
	volatile uint64_t tail __attribute__((aligned(64)));
	unsigned char ring[1 << 22] __attribute__((aligned(64)));
};

static struct shared *sh;
/* spin ring: the other side's index as last read (each side is a process) */
static uint64_t spin_head_seen, spin_tail_seen;

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

struct stream {
	const char *impl;
	size_t elem, cap;
	long n;
	struct gosync_chan *ch;
	int fds[2];
	mqd_t mq;
};

static void stream_send(struct stream *s, const void *buf)
{
	const char *impl = s->impl;
	ssize_t r;

	if (!strcmp(impl, "spin-ring")) {
		uint64_t t = sh->tail;

		/*
		 * The hardware limit: each side caches the other's index and
		 * re-reads it only when the ring looks full (empty), so the
		 * index lines move between the cores once per burst, not once
		 * per element (Lamport's ring with cached indices).
		 */
		while (t - spin_head_seen >= s->cap) {
			spin_head_seen = __atomic_load_n(&sh->head, __ATOMIC_ACQUIRE);
			if (t - spin_head_seen >= s->cap)
				__builtin_ia32_pause();
		}
		memcpy(&sh->ring[(t & (s->cap - 1)) * s->elem], buf, s->elem);
		__atomic_store_n(&sh->tail, t + 1, __ATOMIC_RELEASE);
		return;
	}
	if (!strncmp(impl, "gosync", 6) && strcmp(impl, "gosync-rw")) {
		int ret = gosync_chan_send(s->ch, buf, GOSYNC_FOREVER);

		if (ret)
			die("send", ret);
		return;
	}
	if (!strcmp(impl, "mq")) {
		if (mq_send(s->mq, buf, s->elem, 0))
			die("mq_send", errno);
		return;
	}
	if (!strcmp(impl, "eventfd")) {
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
	const char *impl = s->impl;
	size_t got = 0;
	ssize_t r;

	if (!strcmp(impl, "spin-ring")) {
		uint64_t h = sh->head;

		while (spin_tail_seen == h) {
			spin_tail_seen = __atomic_load_n(&sh->tail, __ATOMIC_ACQUIRE);
			if (spin_tail_seen == h)
				__builtin_ia32_pause();
		}
		memcpy(buf, &sh->ring[(h & (s->cap - 1)) * s->elem], s->elem);
		__atomic_store_n(&sh->head, h + 1, __ATOMIC_RELEASE);
		return;
	}
	if (!strcmp(impl, "gosync") || !strcmp(impl, "gosync-nomap")) {
		int ret = gosync_chan_recv(s->ch, buf, GOSYNC_FOREVER);

		if (ret != 1)
			die("recv", ret);
		return;
	}
	if (!strcmp(impl, "mq")) {
		if (mq_receive(s->mq, buf, s->elem, NULL) != (ssize_t)s->elem)
			die("mq_receive", errno);
		return;
	}
	if (!strcmp(impl, "eventfd")) {
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
	} else if (!strcmp(s->impl, "gosync-uring")) {
		struct io_uring ring;
		struct io_uring_cqe *cqe;

		if (io_uring_queue_init(8, &ring, 0))
			die("io_uring_queue_init", errno);
		while (n < s->n) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			gosync_prep_recv(sqe, s->ch, buf, GOSYNC_FOREVER);
			io_uring_submit_and_wait(&ring, 1);
			if (io_uring_wait_cqe(&ring, &cqe) || cqe->res != 1)
				die("uring recv", EIO);
			io_uring_cqe_seen(&ring, cqe);
			if (!n)
				window_opens(1);
			n++;
		}
		io_uring_queue_exit(&ring);
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
	} else if (!strcmp(impl, "spin-ring")) {
		sh->head = sh->tail = 0;
		spin_head_seen = spin_tail_seen = 0;
		if (s->cap * s->elem > sizeof(sh->ring))
			die("ring too small", E2BIG);
		if (s->cap & (s->cap - 1))
			die("spin-ring: capacity not a power of two", EINVAL);
	} else {
		die(impl, EINVAL);
	}
}

static void bench_stream(const char *impl, size_t elem, size_t cap, long n)
{
	struct stream s = { .impl = impl, .elem = elem, .cap = cap, .n = n };
	char name[64];
	double c0 = ctxsw_total();

	stream_setup(&s);
	if (fork() == 0) {
		unsigned char *buf = calloc(BATCH, elem);

		if (!strcmp(impl, "gosync-batch")) {
			for (long i = 0; i < n;) {
				int k = n - i < BATCH ? n - i : BATCH;
				int r = gosync_chan_send_n(s.ch, buf, k, GOSYNC_FOREVER);

				if (r <= 0)
					die("send_n", r);
				i += r;
			}
			_exit(0);
		}
		for (long i = 0; i < n; i++) {
			memcpy(buf, &i, elem < 8 ? elem : 8);
			stream_send(&s, buf);
		}
		_exit(0);
	}
	stream_consume(&s);
	wait_children();
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
	if (fork() == 0) {
		/* The echo side. */
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

static void bench_mpmc(const char *impl, long n)
{
	struct stream s = { .impl = impl, .elem = 8, .cap = 64, .n = n };
	double c0 = ctxsw_total();
	long per = n / 2, total = 2 * per;
	uint64_t sum = 0, mix = 0;
	int64_t t0;

	stream_setup(&s);
	sh->count = 0;
	sh->sum = sh->mix = 0;
	sh->t1 = 0;
	sh->ready = sh->go = 0;
	for (int p = 0; p < 4; p++) {
		if (fork() == 0) {
			uint64_t v = 0, my_sum = 0, my_mix = 0;

			gate_wait();
			if (p < 2) {
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
	t0 = gate_open(4);
	wait_children();
	for (int p = 0; p < 2; p++)
		for (long i = 0; i < per; i++) {
			uint64_t v = (uint64_t)p << 32 | (uint64_t)i;

			sum += v;
			mix ^= mix64(v);
		}
	if (sh->sum != sum || sh->mix != mix)
		die("mpmc: an element was lost or duplicated", EIO);
	report("mpmc-2x2", impl, total / ((sh->t1 - t0) / 1e9), "msg/s",
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

static void bench_mutex(const char *impl, long n, bool contended)
{
	struct gosync_mutex *m = NULL;
	double c0 = ctxsw_total();
	int procs = contended ? 2 : 1;
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
	report(contended ? "mutex-contended" : "mutex-uncontended", impl,
	       (sh->t1 - t0) / (double)(n / procs * procs), "ns/op",
	       (ctxsw_total() - c0) / n);
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
	/* POSIX mq: room for the deepest queue (root may raise the limit). */
	setrlimit(RLIMIT_MSGQUEUE, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY });
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap", errno);
	if (!strcmp(argv[1], "stream") && argc == 6)
		bench_stream(argv[2], atol(argv[3]), atol(argv[4]), atol(argv[5]));
	else if (!strcmp(argv[1], "pingpong"))
		bench_pingpong(argv[2], atol(argv[3]));
	else if (!strcmp(argv[1], "mpmc"))
		bench_mpmc(argv[2], atol(argv[3]));
	else if (!strcmp(argv[1], "select") && argc == 5)
		bench_select(argv[2], atoi(argv[3]), atol(argv[4]));
	else if (!strcmp(argv[1], "wg-add-done"))
		bench_wg_add_done(argv[2], atol(argv[3]));
	else if (!strcmp(argv[1], "wg-wake"))
		bench_wg_wake(argv[2], atol(argv[3]));
	else if (!strcmp(argv[1], "mutex-uncontended"))
		bench_mutex(argv[2], atol(argv[3]), false);
	else if (!strcmp(argv[1], "mutex-contended"))
		bench_mutex(argv[2], atol(argv[3]), true);
	else
		die(argv[1], EINVAL);
	return 0;
}
