// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gosync-fuzz: a worker process.  Its threads run one program at a time
 * (each thread the operations marked with its number, all starting
 * together at a barrier), the scribbler alongside when the program asks;
 * after each program everything the program made is torn down and, with
 * kcov, the program joins the shared corpus if it reached new module
 * PCs.  Also here: the deadline checks every blocking call goes through,
 * failure reports, and the guards that let a thread touch memory another
 * thread (or the kernel) may take away at any moment.
 */
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kcov.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "fuzz.h"

#define INTR_PERIOD_NS	10000000LL	/* a FOREVER call's signal repeats */
#define KCOV_WORDS	(1UL << 16)
#define RES_HINT	0x200000000000ULL

__thread struct tctx *cur_t;
static struct worker_sh replay_sh;

int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Bookkeeping (heartbeats, op timings, how late a call returned): a
 * tick's precision will do, and costs no system call where the clock
 * source has no vDSO (hpet, in an emulated guest).
 */
static int64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ------------------------------------------------------------- signals -- */

static void on_intr(int sig)
{
	(void)sig;
}

/* A fault outside a guard is the fuzzer's own bug: say where, then die. */
static void crash_trace(int sig, siginfo_t *si)
{
	void *bt[32];
	char msg[128];
	int n = backtrace(bt, 32), len;

	len = snprintf(msg, sizeof(msg), "fuzz: pid %d tid %d: signal %d at address %p; backtrace:\n",
		       getpid(), gettid(), sig, si ? si->si_addr : NULL);
	if (write(2, msg, len) < 0)
		_exit(99);
	backtrace_symbols_fd(bt, n, 2);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	struct tctx *t = cur_t;

	(void)si;
	(void)uc;
	if (t && t->jb_armed && (sig == SIGSEGV || sig == SIGBUS)) {
		t->jb_armed = 0;
		siglongjmp(t->jb, 1);
	}
	crash_trace(sig, si);
}

void guard_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_intr;
	sigaction(SIGUSR1, &sa, NULL);		/* interrupts: EINTR */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);		/* restarts what can */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;	/* no mask to restore */
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
}

void tctx_timers(struct tctx *t)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev._sigev_un._tid = t->tid;
	sev.sigev_signo = SIGUSR1;
	t->timers = !timer_create(CLOCK_MONOTONIC, &sev, &t->tintr);
	sev.sigev_signo = SIGUSR2;
	if (t->timers)
		t->timers = !timer_create(CLOCK_MONOTONIC, &sev, &t->trestart);
}

static struct timespec ns_ts(int64_t ns)
{
	struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };

	return ts;
}

static void arm(timer_t tm, int64_t first, int64_t period)
{
	struct itimerspec its = { ns_ts(period), ns_ts(first) };

	timer_settime(tm, 0, &its, NULL);
}

static void disarm(struct tctx *t)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	timer_settime(t->tintr, 0, &its, NULL);
	timer_settime(t->trestart, 0, &its, NULL);
}

/* --------------------------------------------------------- deadlines -- */

uint32_t stop_gen(struct wctx *w)
{
	return w->in_child ? atomic_load(&w->sh->child_gen) :
	       atomic_load(&w->sh->stop_gen);
}

/*
 * Tell the supervisor when the call about to be made is due back: its
 * deadline plus the work it was allowed, the same sum dl_end() judges.
 */
static void dl_publish(struct tctx *t, struct dl *dl)
{
	atomic_store_explicit(&t->hb->op_gen, dl->gen, memory_order_relaxed);
	atomic_store_explicit(&t->hb->op_due,
			      dl->expect + dl->allow + 100000000LL,
			      memory_order_release);
}

/*
 * The call may do @units elements of work past its deadline (a batch that
 * never waits still copies every element; a select looks at every case).
 */
void dl_allow(struct tctx *t, struct dl *dl, uint64_t units)
{
	dl->allow = (int64_t)units * O.unit_ns;
	if (dl->start && !dl->skip)
		dl_publish(t, dl);
}

static void dl_init(struct tctx *t, struct dl *dl)
{
	memset(dl, 0, sizeof(*dl));
	dl->start = coarse_ns();
	dl->gen = stop_gen(t->w);
	dl->cgen = atomic_load(&t->w->sh->child_gen);
	dl->expect = dl->start;
	dl_publish(t, dl);
}

/* A FOREVER-like call: a periodic SIGUSR1 ends it (EINTR). */
static void dl_forever(struct tctx *t, struct dl *dl, int64_t first)
{
	int64_t e;

	if (!t->timers) {
		/* not judged: nor by the supervisor (dl_init() published it) */
		dl->skip = 1;
		atomic_store_explicit(&t->hb->op_due, 0, memory_order_relaxed);
		return;
	}
	if (!dl->timer) {
		arm(t->tintr, first, INTR_PERIOD_NS);
		dl->timer = 1;
	}
	e = dl->start + first + INTR_PERIOD_NS;
	if (e > dl->expect)
		dl->expect = e;
	dl_publish(t, dl);
}

/*
 * Deadlines: mostly NONBLOCK, past or within 2 ms (a blocked call costs
 * the run its time); now and then up to 300 ms; FOREVER-like ones ended
 * by a signal; invalid negatives.
 */
int64_t pick_deadline(struct tctx *t, uint64_t w, struct dl *dl)
{
	uint64_t x = w >> 8;
	int64_t d, now;

	dl_init(t, dl);
	/* deadlines to come are from the real clock; the rest need none */
	now = w % 64 >= 28 && w % 64 < 60 ? now_ns() : dl->start;
	switch (w % 64) {
	default:			/* 0..27 */
		return dl->deadline = GOSYNC_DEADLINE_NONBLOCK;
	case 28: case 29: case 30: case 31:
		d = now - (int64_t)(x % 1000000000);
		d = d < 0 ? 0 : d;
		break;
	case 32:
		d = 0;
		break;
	case 33:
		d = now;
		break;
	case 34: case 35: case 36: case 37: case 38: case 39: case 40:
	case 41: case 42: case 43: case 44: case 45:
		d = now + (int64_t)(x % 200000);
		break;
	case 46: case 47: case 48: case 49: case 50: case 51: case 52: case 53:
		d = now + 200000 + (int64_t)(x % 1800000);
		break;
	case 54: case 55: case 56: case 57:
		d = now + 2000000 + (int64_t)(x % 8000000);
		break;
	case 58:
		d = now + 10000000 + (int64_t)(x % 40000000);
		break;
	case 59:
		d = now + (x % 4 ? 2000000 + (int64_t)(x % 8000000) :
			   50000000 + (int64_t)(x % 250000000));
		break;
	case 60:
		d = GOSYNC_DEADLINE_FOREVER;
		dl_forever(t, dl, 1000000 + (int64_t)(x % 4000000));
		break;
	case 61:
		/* SA_RESTART first (the wait restarts), then one without: EINTR */
		d = GOSYNC_DEADLINE_FOREVER;
		if (t->timers)
			arm(t->trestart, 500000 + (int64_t)(x % 1500000), 0);
		dl_forever(t, dl, 2000000 + (int64_t)(x % 6000000));
		break;
	case 62:
		d = GOSYNC_DEADLINE_FOREVER - 1 - (int64_t)(x % 1000);
		dl_forever(t, dl, 1000000 + (int64_t)(x % 4000000));
		dl->deadline = d;
		return d;
	case 63:
		d = x % 3 == 0 ? -2 : x % 3 == 1 ? INT64_MIN :
		    -(int64_t)(x % 1000000000) - 2;
		break;
	}
	dl->deadline = d;
	if (d >= 0 && d != GOSYNC_DEADLINE_FOREVER && d > dl->expect)
		dl->expect = d;
	dl_publish(t, dl);
	return d;
}

void dl_begin_timeout(struct tctx *t, struct dl *dl, int64_t timeout_ns,
		      int forever)
{
	int64_t e;

	if (!dl->start)
		dl_init(t, dl);
	if (forever) {
		dl_forever(t, dl, timeout_ns > 0 ? timeout_ns : 1000000);
		return;
	}
	e = dl->start + timeout_ns;
	if (e > dl->expect)
		dl->expect = e;
	dl_publish(t, dl);
}

void dl_end(struct tctx *t, struct dl *dl, const char *what, long ret,
	    int err)
{
	int64_t end, over, stall;

	if (dl->timer)
		disarm(t);
	atomic_store_explicit(&t->hb->op_due, 0, memory_order_relaxed);
	if (dl->skip || !dl->start)
		return;
	end = coarse_ns();
	over = end - dl->expect - dl->allow;
	if (over <= O.bound_ns)
		return;
	if (dl->gen != stop_gen(t->w) || (dl->gen & 1) ||
	    dl->cgen != atomic_load(&t->w->sh->child_gen)) {
		atomic_fetch_add(&SH->excused, 1);
		return;
	}
	stall = stall_ns(dl->start, end);
	if (over - stall <= O.bound_ns) {
		atomic_fetch_add(&SH->excused, 1);
		return;
	}
	fail(t, "%s returned %ld (%s) %.3f s after it was due: deadline %s, call took %.3f s, bound %.1f s, longest guest stall meanwhile %.3f s",
	     what, ret, err ? strerror(err) : "ok", over / 1e9,
	     dl->deadline == GOSYNC_DEADLINE_NONBLOCK ? "NONBLOCK" :
	     dl->deadline == GOSYNC_DEADLINE_FOREVER ? "FOREVER (signal-bounded)" :
	     dl->deadline < 0 ? "invalid" : dl->timer ? "signal-bounded" :
	     "absolute", (end - dl->start) / 1e9, O.bound_ns / 1e9, stall / 1e9);
}

/* Errors a gosync call must never return: the kernel's internal ones. */
static int internal_errno(int err)
{
	return err >= 512 || err == EINPROGRESS || err == ENOMSG ||
	       err == ESTALE || err == ENOSPC || err == EBUSY;
}

void check_errno(struct tctx *t, const char *what, int err)
{
	if (err && (internal_errno(err) || err == ECANCELED))
		fail(t, "%s failed with errno %d (%s): an internal error code leaked",
		     what, err, strerror(err));
}

void check_uring_res(struct tctx *t, const char *what, int res, uint32_t most)
{
	if ((res > 0 && (uint32_t)res > most) || (res < 0 && internal_errno(-res)))
		fail(t, "%s completed with res %d (%s)", what, res,
		     res < 0 ? strerror(-res) : "more elements than it may take");
}

/* ------------------------------------------------------- stall meter -- */

void stall_tick(void)
{
	uint32_t seq = atomic_load_explicit(&SH->tick_seq, memory_order_relaxed);

	atomic_store_explicit(&SH->ticks[seq % NTICKS], now_ns(),
			      memory_order_relaxed);
	atomic_store_explicit(&SH->tick_seq, seq + 1, memory_order_release);
}

/* The longest the stall meter went without a tick within [from, to]. */
int64_t stall_ns(int64_t from, int64_t to)
{
	uint32_t seq = atomic_load_explicit(&SH->tick_seq, memory_order_acquire);
	int64_t prev = to, gap = 0;
	uint32_t i;

	if (!seq)
		return 0;
	for (i = 1; i <= NTICKS && i <= seq; i++) {
		int64_t tk = atomic_load_explicit(&SH->ticks[(seq - i) % NTICKS],
						  memory_order_relaxed);

		if (prev - tk > gap)
			gap = prev - tk;
		if (tk < from)
			break;
		prev = tk;
	}
	return gap > TICK_NS ? gap - TICK_NS : 0;
}

/* ----------------------------------------------------------- messages -- */

static void vpost(int worker, int with_prog, const char *fmt, va_list ap)
{
	uint32_t seq;
	int i;

	if (worker < 0 && O.quiet) {
		if (!SH->msgs[0].text[0])
			vsnprintf(SH->msgs[0].text, MSGLEN, fmt, ap);
		return;
	}
	if (worker < 0) {
		vfprintf(stdout, fmt, ap);
		fputc('\n', stdout);
		fflush(stdout);
		return;
	}
	seq = atomic_fetch_add(&SH->msg_seq, 1) % NMSG;
	for (i = 0; i < 1000 && atomic_load(&SH->msgs[seq].ready); i++)
		usleep(1000);
	vsnprintf(SH->msgs[seq].text, MSGLEN, fmt, ap);
	SH->msgs[seq].worker = worker;
	SH->msgs[seq].with_prog = with_prog;
	SH->msgs[seq].recent_seq = worker < MAX_WORKERS ?
		atomic_load(&SH->w[worker].recent_seq) : 0;
	atomic_store_explicit(&SH->msgs[seq].ready, 1, memory_order_release);
}

void post_msg(int worker, int with_prog, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vpost(worker, with_prog, fmt, ap);
	va_end(ap);
}

void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void fail(struct tctx *t, const char *fmt, ...)
{
	struct wctx *w = t->w;
	const struct op *op = t->cur;
	char msg[MSGLEN - 400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	atomic_fetch_add(&SH->failures, 1);
	if (!O.keep_going)
		atomic_store(&SH->stop, 1);
	post_msg(w->idx, 1,
		 "FAIL: %s\n  worker %d (spawn %u, pid %d, tid %d%s, uid %d), program %" PRIx64 ", op #%d: %s %x %x %x %x %" PRIx64 " %" PRIx64 " %" PRIx64,
		 msg, w->idx, atomic_load(&w->sh->spawn), getpid(), t->tid,
		 w->in_child ? ", a forked child" : "", (int)geteuid(),
		 w->prog ? w->prog->id : 0, t->cur_index,
		 op && op->type < OP_NTYPES ? opdefs[op->type].name : "?",
		 op ? op->thread : 0, op ? op->o1 : 0, op ? op->o2 : 0,
		 op ? op->a : 0, op ? op->b : 0, op ? op->c : 0, op ? op->d : 0);
}

/* ------------------------------------------------------------- kcov -- */

static void kcov_open(struct tctx *t)
{
	int fd = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
	void *mem;

	t->kcov = NULL;
	if (fd < 0)
		return;
	fd = high_fd(fd, t->w->fdbase + 60);
	if (ioctl(fd, KCOV_INIT_TRACE, KCOV_WORDS)) {
		close(fd);
		return;
	}
	mem = mmap(NULL, KCOV_WORDS * 8, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	if (mem == MAP_FAILED) {
		close(fd);
		return;
	}
	t->kcov_fd = fd;
	t->kcov = mem;
	t->kcov_words = KCOV_WORDS;
}

static void kcov_enable(struct tctx *t)
{
	if (t->kcov && ioctl(t->kcov_fd, KCOV_ENABLE, KCOV_TRACE_PC)) {
		munmap(t->kcov, t->kcov_words * 8);
		close(t->kcov_fd);
		t->kcov = NULL;
	}
}

static void kcov_collect(struct tctx *t)
{
	uint64_t n = __atomic_load_n(&t->kcov[0], __ATOMIC_RELAXED), i;
	uint64_t lo = SH->cov_lo, hi = SH->cov_hi;

	if (n >= t->kcov_words)
		n = t->kcov_words - 1;
	for (i = 0; i < n; i++) {
		uint64_t pc = t->kcov[i + 1], off;
		uint8_t bit;

		if (pc < lo || pc >= hi)
			continue;
		off = pc - lo;
		if (off / 8 >= COVMAP_BYTES)
			continue;
		bit = 1U << (off & 7);
		if (atomic_load_explicit(&SH->covmap[off / 8],
					 memory_order_relaxed) & bit)
			continue;
		if (!(atomic_fetch_or(&SH->covmap[off / 8], bit) & bit)) {
			t->newpcs++;
			atomic_fetch_add(&SH->cov_pcs, 1);
		}
	}
}

/* ----------------------------------------------------------- programs -- */

static int64_t thread_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static void run_op(struct tctx *t, const struct op *op, int i)
{
	struct wctx *w = t->w;
	int64_t t1 = coarse_ns(), c1 = O.profile ? thread_cpu_ns() : 0;

	t->cur = op;
	t->cur_index = i;
	atomic_store_explicit(&t->hb->op_type, op->type, memory_order_relaxed);
	atomic_store_explicit(&t->hb->op_index, i, memory_order_relaxed);
	atomic_store_explicit(&t->hb->op_start, t1, memory_order_release);
	if (t->kcov)
		__atomic_store_n(&t->kcov[0], 0, __ATOMIC_RELAXED);
	op_exec(t, op);
	if (t->kcov)
		kcov_collect(t);
	atomic_store_explicit(&t->hb->op_start, 0, memory_order_release);
	atomic_store_explicit(&t->hb->op_due, 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&SH->op_ns[op->type], coarse_ns() - t1,
				  memory_order_relaxed);
	if (O.profile)
		atomic_fetch_add_explicit(&SH->op_cpu[op->type],
					  thread_cpu_ns() - c1,
					  memory_order_relaxed);
	atomic_fetch_add_explicit(&t->hb->ops, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&SH->total_ops, 1, memory_order_relaxed);
	atomic_store_explicit(&w->sh->beat, coarse_ns(), memory_order_relaxed);
	if (w->replay && O.verbose)
		printf("  #%-3d %-16s -> %s\n", i, opdefs[op->type].name,
		       t->last_err ? strerror(t->last_err) : "ok");
}

static void run_part(struct tctx *t)
{
	struct wctx *w = t->w;
	struct prog *p = w->prog;
	uint64_t srng = p->id | 1;
	uint32_t i;

	for (i = 0; i < p->n; i++) {
		const struct op *op = &p->ops[i];

		if (!w->replay && op->thread % w->nthreads != t->idx)
			continue;
		if (atomic_load_explicit(&SH->stop, memory_order_relaxed))
			break;
		if (op->type >= OP_NTYPES)
			continue;
		run_op(t, op, i);
		/* replay: the scribbler's work inline, from the program's id */
		if (w->replay && (p->flags & PROG_SCRIBBLE))
			scribble_burst(t, &srng, 4);
	}
}

static void *thread_main(void *arg)
{
	struct tctx *t = arg;
	struct wctx *w = t->w;

	cur_t = t;
	t->tid = gettid();
	atomic_store(&t->hb->tid, t->tid);
	tctx_timers(t);
	pthread_rwlock_rdlock(&w->mm);
	free(malloc(64));	/* this thread's malloc arena, made now */
	pthread_rwlock_unlock(&w->mm);
	kcov_enable(t);
	for (;;) {
		pthread_barrier_wait(&w->go);
		if (atomic_load(&w->quit))
			break;
		run_part(t);
		pthread_barrier_wait(&w->done);
	}
	return NULL;
}

static void *scribbler_main(void *arg)
{
	struct tctx *t = arg;
	struct wctx *w = t->w;
	uint64_t rng = splitmix(w->rng ^ 0x5c5c);
	struct timespec ts = { 0, 1000000 };

	cur_t = t;
	t->tid = gettid();
	atomic_store(&t->hb->tid, t->tid);
	for (;;) {
		pthread_mutex_lock(&w->scrib_lock);
		while (!atomic_load(&w->scribbling) && !atomic_load(&w->quit))
			pthread_cond_wait(&w->scrib_cond, &w->scrib_lock);
		pthread_mutex_unlock(&w->scrib_lock);
		if (atomic_load(&w->quit))
			break;
		while (atomic_load(&w->scribbling)) {
			scribble_burst(t, &rng, 32);
			atomic_fetch_add_explicit(&t->hb->ops, 1,
						  memory_order_relaxed);
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void scribbling(struct wctx *w, int on)
{
	pthread_mutex_lock(&w->scrib_lock);
	atomic_store(&w->scribbling, on);
	pthread_cond_broadcast(&w->scrib_cond);
	pthread_mutex_unlock(&w->scrib_lock);
}

static void corpus_add(struct wctx *w, const struct prog *p, uint64_t newpcs)
{
	uint32_t i = atomic_fetch_add(&SH->corpus_n, 1);
	struct corpus_ent *e;

	if (i >= NCORPUS) {
		atomic_store(&SH->corpus_n, NCORPUS);
		i = rnd(&w->rng) % NCORPUS;
	}
	e = &SH->corpus[i];
	atomic_store(&e->ready, 0);
	e->newpcs = newpcs;
	memcpy(&e->p, p, sizeof(*p));
	atomic_store_explicit(&e->ready, 1, memory_order_release);
	atomic_fetch_add(&SH->corpus_adds, 1);
}

static int corpus_get(struct wctx *w, struct prog *p)
{
	uint32_t n = atomic_load(&SH->corpus_n), i;
	struct corpus_ent *e;

	if (!n)
		return 0;
	if (n > NCORPUS)
		n = NCORPUS;
	i = rnd(&w->rng) % n;
	e = &SH->corpus[i];
	if (!atomic_load_explicit(&e->ready, memory_order_acquire))
		return 0;
	memcpy(p, &e->p, sizeof(*p));
	if (!atomic_load_explicit(&e->ready, memory_order_acquire) ||
	    p->n == 0 || p->n > MAX_OPS)
		return 0;
	for (i = 0; i < p->n; i++)
		if (p->ops[i].type >= OP_NTYPES)
			return 0;
	return 1;
}

static void pick_prog(struct wctx *w, struct prog *p)
{
	static struct prog other;

	if (SH->kcov && rnd(&w->rng) % 10 < 8 && corpus_get(w, p)) {
		prog_mutate(&w->rng, p, w->nthreads);
		if (rnd(&w->rng) % 4 == 0 && corpus_get(w, &other))
			prog_splice(&w->rng, p, &other);
		return;
	}
	prog_generate(&w->rng, p, w->nthreads);
	if ((int)(rnd(&w->rng) % 100) < O.scribble)
		p->flags |= PROG_SCRIBBLE;
}

/* A new pool from the supervisor: our originals and slots follow it. */
static void pool_check(struct wctx *w)
{
	char cbuf[CMSG_SPACE(sizeof(int) * NPOOL)];
	struct msghdr mh;
	struct cmsghdr *cm;
	int gen, fds[NPOOL], j, n;
	struct iovec iov = { .iov_base = &gen, .iov_len = sizeof(gen) };

	if (w->gxs < 0)
		return;
	for (;;) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		if (recvmsg(w->gxs, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
			return;
		cm = CMSG_FIRSTHDR(&mh);
		if (!cm || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
		lib_drop(w);
		for (j = 0; j < n && j < NPOOL; j++) {
			dup3(fds[j], w->pool_fd[j], O_CLOEXEC);
			close(fds[j]);
			pthread_mutex_lock(&w->tbl);
			/*
			 * Before the close, as obj_close: a thread that picked
			 * the fd and submits on it after its number was reused
			 * must see the table moved (the uring direction check
			 * failed once on a KCSAN kernel for want of this).
			 */
			atomic_fetch_add(&w->tbl_gen, 1);
			if (w->objs[NOBJ + j].kind != K_NONE)
				close(w->objs[NOBJ + j].fd);
			w->objs[NOBJ + j].kind = K_NONE;
			w->objs[NOBJ + j].fd = -1;
			pthread_mutex_unlock(&w->tbl);
		}
		atomic_store(&w->sh->pool_gen, gen);
	}
}

/* ---------------------------------------------------------- set-up -- */

static void *map_anon(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		note("mmap of %zu bytes: %s", len, strerror(errno));
		_exit(3);
	}
	return p;
}

/* The read-only page: plausible structs the kernel may read, never write. */
static void ro_fill(struct wctx *w)
{
	struct gosync_chan_create *cc = (void *)w->ro;
	struct gosync_sync_create *sc = (void *)(w->ro + 512);
	struct gosync_ctx_create *xc = (void *)(w->ro + 1536);

	cc->elem_size = 8;
	cc->cap = 2;
	sc->kind = GOSYNC_SYNC_MUTEX;
	xc->parent = -1;		/* made, then its fd cannot be stored */
	xc->deadline_ns = GOSYNC_DEADLINE_FOREVER;
	mprotect(w->ro, w->page, PROT_READ);
}

struct wctx *wctx_new(int idx, int replay, int nthreads)
{
	struct wctx *w = calloc(1, sizeof(*w));
	pthread_rwlockattr_t ra;
	struct rlimit rl;
	int i;
	char *r;

	if (!w)
		_exit(3);
	w->idx = idx;
	w->replay = replay;
	w->sh = idx >= 0 ? &SH->w[idx] : &replay_sh;
	w->page = sysconf(_SC_PAGESIZE);
	w->nthreads = nthreads;
	getrlimit(RLIMIT_NOFILE, &rl);
	w->nofile.cur = rl.rlim_cur;
	w->nofile.max = rl.rlim_max;
	w->fdbase = rl.rlim_cur >= 1024 ? (int)rl.rlim_cur - 256 :
		    (int)rl.rlim_cur / 2;
	w->dev = high_fd(dev_open(), w->fdbase);
	if (w->dev < 0) {
		note("open /dev/" GOSYNC_DEVICE_NAME ": %s", strerror(errno));
		_exit(3);
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, w->xs))
		_exit(3);
	w->xs[0] = high_fd(w->xs[0], w->fdbase + 2);
	w->xs[1] = high_fd(w->xs[1], w->fdbase + 2);
	w->gxs = -1;
	/* the reserved slots, at the same place every run when possible */
	r = mmap((void *)(uintptr_t)(RES_HINT + (uint64_t)(idx + 1) * NMAPS *
				     SLOT_LEN), NMAPS * SLOT_LEN, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		 MAP_FIXED_NOREPLACE, -1, 0);
	w->res = r == MAP_FAILED ? map_anon(NMAPS * SLOT_LEN, PROT_NONE) : r;
	w->bad = map_anon(w->page, PROT_NONE);
	w->ro = map_anon(w->page, PROT_READ | PROT_WRITE);
	ro_fill(w);
	for (i = 0; i < NRINGS; i++) {
		w->rings[i].bufs = map_anon((size_t)NPEND * URING_BUF + URING_GUARD,
					    PROT_READ | PROT_WRITE);
		mprotect(w->rings[i].bufs + (size_t)NPEND * URING_BUF,
			 URING_GUARD, PROT_NONE);
		pthread_mutex_init(&w->rings[i].lock, NULL);
	}
	for (i = 0; i < NOBJ_ALL; i++) {
		w->objs[i].fd = -1;
		w->objs[i].kind = K_NONE;
	}
	for (i = 0; i < NMAPS; i++)
		w->maps[i].fd = -1;
	memcpy(w->pool_fd, g_pool, sizeof(w->pool_fd));
	pthread_mutex_init(&w->tbl, NULL);
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&w->mm, &ra);
	pthread_mutex_init(&w->scrib_lock, NULL);
	pthread_cond_init(&w->scrib_cond, NULL);
	for (i = 0; i <= MAX_THREADS; i++) {
		struct tctx *t = &w->t[i];

		t->w = w;
		t->idx = i;
		t->hb = &w->sh->th[i];
		t->kcov_fd = -1;
		if (i < nthreads || i == MAX_THREADS) {
			t->arena = map_anon(ARENA_LEN + w->page,
					    PROT_READ | PROT_WRITE);
			mprotect(t->arena + ARENA_LEN, w->page, PROT_NONE);
		}
	}
	w->rng = splitmix(O.seed ^ (uint64_t)(idx + 1) << 40 ^
			  (uint64_t)atomic_load(&w->sh->spawn) << 52);
	return w;
}

/* Replay: one program, one thread, in order; then its cleanup. */
void prog_run(struct wctx *w, struct prog *p)
{
	w->prog = p;
	w->t[0].newpcs = 0;
	run_part(&w->t[0]);
	prog_cleanup(w);
}

void replay_thread_init(struct wctx *w)
{
	struct tctx *t = &w->t[0];

	cur_t = t;
	t->tid = gettid();
	tctx_timers(t);
}

static void drop_privileges(struct wctx *w)
{
	int uid;

	if (!O.nuids || geteuid())
		return;
	uid = O.uids[w->idx % O.nuids];
	if (!uid)
		return;
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid)) {
		note("worker %d: cannot become uid %d: %s", w->idx, uid,
		     strerror(errno));
		return;
	}
	prctl(PR_SET_DUMPABLE, 1);
	/* A change of uid cleared PR_SET_PDEATHSIG: again, and look again. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != w->parent)
		_exit(0);
}

void worker_main(int idx, int gxs)
{
	struct wctx *w;
	struct tctx *t;
	uint64_t newpcs;
	uint32_t seq;
	int i;
	char name[16];
	pid_t parent = getppid();

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (parent == 1)
		_exit(0);
	snprintf(name, sizeof(name), "fuzz-w%d", idx);
	prctl(PR_SET_NAME, name);
	guard_install();
	/* the library's honest peer: no spinning (2 emulated CPUs), mostly */
	setenv("GOSYNC_SPIN", idx % 4 == 3 ? "50" : "0", 1);
	w = wctx_new(idx, 0, O.threads);
	w->gxs = gxs;
	w->parent = parent;
	atomic_store(&w->sh->pid, getpid());
	atomic_store(&w->sh->nthreads, w->nthreads);
	atomic_store(&w->sh->phase, PH_INIT);
	atomic_store(&w->sh->beat, now_ns());
	if (SH->kcov && !O.no_kcov)
		for (i = 0; i < w->nthreads; i++)
			kcov_open(&w->t[i]);
	drop_privileges(w);
	atomic_store(&w->sh->uid, (int)geteuid());
	pthread_barrier_init(&w->go, NULL, w->nthreads);
	pthread_barrier_init(&w->done, NULL, w->nthreads);
	t = &w->t[0];
	cur_t = t;
	t->tid = gettid();
	atomic_store(&t->hb->tid, t->tid);
	tctx_timers(t);
	kcov_enable(t);
	for (i = 1; i < w->nthreads; i++)
		pthread_create(&w->t[i].pt, NULL, thread_main, &w->t[i]);
	pthread_create(&w->t[MAX_THREADS].pt, NULL, scribbler_main,
		       &w->t[MAX_THREADS]);

	while (!atomic_load(&SH->stop)) {
		struct prog *p;

		atomic_store(&w->sh->phase, PH_PICK);
		atomic_store(&w->sh->beat, now_ns());
		pool_check(w);
		pool_refill(w);
		seq = atomic_load(&w->sh->recent_seq);
		p = &w->sh->recent[seq % NRECENT];
		pick_prog(w, p);
		atomic_store(&w->sh->recent_seq, seq + 1);
		w->prog = p;
		for (i = 0; i < w->nthreads; i++)
			w->t[i].newpcs = 0;
		atomic_store(&w->sh->phase, PH_PROG);
		if (p->flags & PROG_SCRIBBLE)
			scribbling(w, 1);
		pthread_barrier_wait(&w->go);
		run_part(t);
		pthread_barrier_wait(&w->done);
		scribbling(w, 0);
		atomic_store(&w->sh->phase, PH_CLEANUP);
		atomic_store(&w->sh->beat, now_ns());
		{
			int64_t c0 = now_ns();

			if (t->kcov)
				__atomic_store_n(&t->kcov[0], 0, __ATOMIC_RELAXED);
			prog_cleanup(w);
			if (t->kcov)
				kcov_collect(t);	/* releases are coverage too */
			atomic_fetch_add(&SH->prog_ns[1], now_ns() - c0);
		}
		newpcs = 0;
		for (i = 0; i < w->nthreads; i++)
			newpcs += w->t[i].newpcs;
		if (newpcs)
			corpus_add(w, p, newpcs);
		atomic_fetch_add(&w->sh->progs, 1);
	}
	atomic_store(&w->sh->phase, PH_EXIT);
	atomic_store(&w->sh->beat, now_ns());
	atomic_store(&w->quit, 1);
	scribbling(w, 0);
	pthread_barrier_wait(&w->go);
	for (i = 1; i < w->nthreads; i++)
		pthread_join(w->t[i].pt, NULL);
	pthread_join(w->t[MAX_THREADS].pt, NULL);
	kids_reap(w, 1);
	_exit(0);
}
