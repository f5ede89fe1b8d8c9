/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * gosync-fuzz: declarations shared by the fuzzer's files.
 *
 *   gosync-fuzz.c  options, the supervisor (pool, workers, chaos, kmsg,
 *                  hangs, the final leak check, the summary)
 *   fuzz-worker.c  a worker process: its threads, the program loop, kcov,
 *                  the corpus, the scribbler, deadline checks, failures,
 *                  replay
 *   fuzz-ops.c     every operation: how it runs from its recorded words
 *   fuzz-prog.c    programs: generation, mutation, splicing, text form
 *
 * Only uapi/linux/gosync.h, libc, liburing and (for honest-peer traffic)
 * the public libgosync API: no library internals.
 */
#ifndef GOSYNC_FUZZ_H
#define GOSYNC_FUZZ_H

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>
#include <liburing.h>

#include <linux/gosync.h>

#define MAX_WORKERS	16
#define MAX_THREADS	8
#define MAX_OPS		256
#define NOBJ		16		/* a program's own objects */
#define NPOOL_LIB	14		/* the pool's channels and sync objects */
#define NPOOL_NAMES	6		/* then: a gosync root dir, two
					   directional ends, three names */
#define NPOOL_CTX	2		/* then: a root context, a child of it */
/* shared by every worker: */
#define NPOOL		(NPOOL_LIB + NPOOL_NAMES + NPOOL_CTX)
#define NOBJ_ALL	(NOBJ + NPOOL)
#define NMAPS		16		/* mappings, one reserved slot each */
#define SLOT_LEN	(128UL << 20)	/* bytes of address space per slot */
#define NRINGS		4
#define NRECENT		8		/* programs kept per worker for replay */
#define NCORPUS		2048
#define NMSG		64
#define MSGLEN		2048
#define NPEND		64		/* tracked io_uring requests per ring */
#define URING_BUF	65536		/* bytes per io_uring element buffer */
/*
 * A batched receive (GOSYNC_URING_RECV_N) takes at most this many, and no
 * more than its slot's buffer holds of the channel's elements; should its
 * fd be reused by a channel of larger elements before the submit, they
 * run on into the next slots and then a PROT_NONE guard this long after
 * the buffers.  Its arguments are in its struct pend, out of reach of
 * the elements and of scribbling.
 */
#define URING_RECV_N	16
#define URING_GUARD	((size_t)URING_RECV_N * 65536)
#define ARENA_LEN	(1UL << 20)	/* per-thread element arena */
#define NTICKS		16384		/* stall-meter history */
#define TICK_NS		5000000LL
#define COVMAP_BYTES	(1U << 17)	/* bits for 1 MiB of module text */
#define NERRNO		134		/* errno values counted per op */
#define NLIB		NPOOL_LIB	/* library handles of the pool */

/* ------------------------------------------------------------ programs -- */

struct op {
	uint8_t type;
	uint8_t thread;			/* which thread runs it (concurrent) */
	uint8_t o1, o2;			/* object / mapping selectors */
	uint32_t a;
	uint64_t b, c, d;
};

struct prog {
	uint64_t id;
	uint32_t n;
	uint32_t flags;			/* PROG_* */
	struct op ops[MAX_OPS];
};

#define PROG_SCRIBBLE	0x1		/* run the scribbler alongside */

enum op_type {
	OP_CHAN_CREATE, OP_SYNC_CREATE, OP_OPEN_DEV, OP_OPEN_OTHER, OP_DUP,
	OP_CLOSE, OP_DEV_IOCTL, OP_DEV_INFO, OP_SELECT, OP_CHAN_INFO,
	OP_CHAN_SEND, OP_CHAN_RECV, OP_CHAN_CLOSE, OP_CHAN_WAKE, OP_MAP_IOCTL,
	OP_SYNC_INFO, OP_SYNC_WAKE, OP_READ, OP_WRITE, OP_FCNTL,
	OP_POLL, OP_EPOLL_CTL, OP_EPOLL_WAIT, OP_RING_SETUP, OP_URING_CMD,
	OP_URING_POLL, OP_URING_RW, OP_URING_REAP, OP_URING_CANCEL,
	OP_RING_CLOSE, OP_MMAP, OP_MUNMAP, OP_MREMAP, OP_MADVISE, OP_MPROTECT,
	OP_REMAP_FILE_PAGES, OP_MSYNC, OP_TOUCH, OP_SYNC_WORDS, OP_SCRIBBLE,
	OP_LIB, OP_FORK, OP_SEND_FD, OP_RECV_FD, OP_SIGNAL, OP_RLIMIT,
	OP_LIMIT_BURST, OP_PROCFS, OP_SLEEP,
	OP_CHAN_DUP, OP_FS_OPEN, OP_FS_PATH, OP_FS_MOUNT, OP_AUTOCLOSE,
	OP_CTX_CREATE, OP_CTX,
	OP_NTYPES
};

struct opdef {
	const char *name;
	unsigned int weight;		/* relative frequency in generation */
	unsigned int light;		/* the same in the light mix */
};
extern const struct opdef opdefs[OP_NTYPES];

/* --------------------------------------------------------------- shared -- */

struct thread_sh {
	_Atomic int64_t op_start;	/* CLOCK_MONOTONIC ns; 0: not in an op */
	_Atomic int64_t op_due;		/* the call in progress is due back */
	_Atomic uint32_t op_gen;	/* the stop generation it started in */
	_Atomic uint32_t op_type;
	_Atomic uint32_t op_index;
	_Atomic uint64_t ops;
	_Atomic int32_t tid;
};

struct worker_sh {
	_Atomic int32_t pid;
	_Atomic uint32_t stop_gen;	/* odd while the supervisor stops it */
	_Atomic int64_t cont_ns;	/* last SIGCONT */
	_Atomic int64_t beat;		/* last sign of life (op end, phase) */
	_Atomic uint32_t phase;		/* PH_* */
	_Atomic uint64_t progs;
	_Atomic uint32_t spawn;		/* respawn count */
	_Atomic uint32_t nthreads;
	_Atomic uint32_t recent_seq;	/* programs started */
	_Atomic uint32_t child_gen;	/* odd while it stops its own child */
	_Atomic int32_t uid;
	_Atomic int32_t pool_gen;	/* the pool generation it runs with */
	struct thread_sh th[MAX_THREADS + 1];	/* + the scribbler */
	struct prog recent[NRECENT];
};

enum { PH_INIT, PH_PROG, PH_CLEANUP, PH_PICK, PH_EXIT };

struct corpus_ent {
	_Atomic uint32_t ready;
	uint32_t newpcs;
	struct prog p;
};

struct shared {
	_Atomic int stop;
	_Atomic int failures;
	_Atomic uint64_t total_ops;
	_Atomic uint64_t excused;	/* overruns explained by a stall or stop */
	_Atomic uint64_t faults;	/* guarded accesses that faulted */
	_Atomic uint64_t limit_hits;	/* ENOMEM / EMFILE from a create */
	_Atomic uint32_t msg_seq;
	struct {
		_Atomic uint32_t ready;
		int worker;		/* -1: the supervisor */
		uint32_t recent_seq;	/* the worker's program, for replay */
		int with_prog;
		char text[MSGLEN];
	} msgs[NMSG];
	_Atomic int64_t ticks[NTICKS];	/* the stall meter's wakeups */
	_Atomic uint32_t tick_seq;
	/* coverage */
	int kcov;			/* 1: workers trace PCs */
	uint64_t cov_lo, cov_hi;	/* module text, as kcov reports PCs */
	_Atomic uint64_t cov_pcs;	/* distinct module PCs seen */
	_Atomic uint32_t corpus_n;
	_Atomic uint64_t corpus_adds;
	_Atomic uint64_t results[OP_NTYPES][2];	/* ok, error */
	_Atomic uint64_t errnos[OP_NTYPES][NERRNO];	/* which errors */
	_Atomic uint64_t op_ns[OP_NTYPES];	/* time spent in each type */
	_Atomic uint64_t op_cpu[OP_NTYPES];	/* --profile: CPU in each */
	_Atomic uint64_t prog_ns[2];		/* pick+setup, cleanup */
	_Atomic uint64_t known[8];	/* failures matching known bugs */
	struct worker_sh w[MAX_WORKERS];
	struct corpus_ent corpus[NCORPUS];
	_Atomic uint8_t covmap[COVMAP_BYTES];
};

struct opts {
	uint64_t seed;
	uint64_t max_ops;
	double time_s;
	int procs;
	int threads;
	int64_t bound_ns;		/* deadline overrun bound */
	int64_t unit_ns;		/* work time allowed per element */
	int64_t hang_ns;		/* no progress for this long: hung */
	int64_t settle_ns;		/* leak check: how long to wait */
	const char *replay;
	const char *out;		/* directory for failure files */
	const char *corpus_in, *corpus_out;
	int chaos;
	int scribble;			/* % of programs with the scribbler */
	int keep_going;
	int verbose;
	int minimize;
	int light;			/* the light op mix (slow kernels) */
	int profile;			/* CPU time per op type */
	int weight_set[OP_NTYPES];	/* --weights: 1 + the weight, 0 none */
	int mix_set;
	int quiet;			/* minimise: keep failures to ourselves */
	int no_kcov;
	int no_lib;
	int no_limits;			/* leave the module parameters alone */
	unsigned int avoid;		/* AVOID_* */
	int uids[4];
	int nuids;
	uint64_t user_bytes;		/* max_user_bytes during the run */
};

/* Known bugs a run may steer around (--avoid, off by default). */
#define AVOID_STOP_URING	0x1	/* no SIGSTOP while uring recvs queue */
#define AVOID_WAKE_LOOP		0x2	/* no long CHAN_IOC_WAKE bursts */
#define AVOID_SEND_OWN_URING	0x4	/* no blocking send on a channel with
					   our own queued uring receive */
#define AVOID_REMAP		0x8	/* no remap_file_pages, MADV_REMOVE,
					   map_files */
#define AVOID_URING_RW		0x10	/* no IORING_OP_READ/WRITE on channels
					   (found here: repro-uring-rw-spin) */

extern struct opts O;
extern struct shared *SH;
extern int g_xs[2];		/* every worker's fd exchange (SOCK_DGRAM) */
extern int g_pool[NPOOL];	/* the pool's objects, at high fds */
extern int g_fsroot;		/* the run's gosync mount's root, or -1 */
extern dev_t g_fsdev;		/* its st_dev */
extern char g_fsdir[64];	/* where it is mounted */

/* --------------------------------------------------------------- worker -- */

struct layout {
	uint32_t elem, cap, nslots, slot_size;
	uint32_t state;			/* INFO's NOSEND, NORECV, AUTOCLOSE */
	uint64_t map_size, off_tail, off_head, off_rw, off_sw, off_slots;
};

enum obj_kind {
	K_NONE, K_DEV, K_CHAN, K_SYNC, K_EPOLL, K_PIPE, K_EVENTFD,
	K_MEMFD, K_SOCK, K_OTHER, K_FSDIR,	/* a gosync root directory */
	K_CTX				/* a context */
};

#define CTX_ANC		4		/* ancestors a context entry knows */

/*
 * What the table knows of a context: what INFO or its page last said
 * (once done, it may never change), and, for those this worker made,
 * an id and its ancestors' (0: unknown), for the checks that a cancel
 * reached every descendant.  Compared and updated under the table lock,
 * where the entry's fd names the entry's object (a check that relates
 * it to a call made on an fd picked before also wants tbl_gen unmoved).
 */
struct ctxseen {
	uint32_t state;			/* 0, ECANCELED or ETIMEDOUT */
	int32_t cause;
	int64_t deadline;
	uint32_t values_len;
	int known;			/* deadline (and state) seen */
	uint64_t id;
	uint64_t anc[CTX_ANC];		/* parent, grandparent, ... */
};

struct obj {
	int fd;
	int kind;
	int skind;			/* K_SYNC: GOSYNC_SYNC_* */
	int acc;			/* the file's O_ACCMODE */
	struct layout lay;		/* K_CHAN */
	struct ctxseen cx;		/* K_CTX */
};

enum map_kind { M_NONE, M_CHAN, M_SYNC, M_ANON, M_OTHER,
		M_CTX				/* a context's read-only page */
};

struct mapent {
	char *addr;			/* the slot's base, or where it moved */
	size_t len;
	int kind;
	int prot;
	int nocopy;			/* VM_DONTCOPY: not in a fork's child */
	int skind;
	int fd;				/* a dup of the object's fd, or -1 */
	int reported;			/* a probe already failed on it */
	uint32_t owner;
	struct layout lay;
};

struct pend {
	uint64_t ud;
	int64_t deadline;		/* absolute, or FOREVER / NONBLOCK */
	int64_t submit;
	uint32_t gen, cgen;		/* stop generations at submit */
	uint8_t live, check, recv, chan;
	uint8_t forbid;			/* against its end's direction */
	uint8_t drain;			/* submitted with IOSQE_IO_DRAIN */
	uint32_t most;			/* the largest res it may have */
	struct gosync_chan_xfer xf;	/* a RECV_N's arguments */
	int obj;			/* the object slot it targets */
};

struct ringent {
	pthread_mutex_t lock;
	struct io_uring ring;
	int live;
	unsigned int flags;
	pid_t owner;			/* who set it up (single issuer) */
	uint32_t seq;
	char *bufs;			/* NPEND * URING_BUF, never unmapped */
	struct pend pend[NPEND];
};

struct wctx;

struct tctx {
	struct wctx *w;
	int idx;
	pid_t tid;
	char *arena;			/* ARENA_LEN, then a guard page */
	timer_t tintr, trestart;	/* SIGUSR1 (EINTR), SIGUSR2 (restart) */
	int timers;
	int kcov_fd;
	uint64_t *kcov;
	uint64_t kcov_words;
	uint64_t newpcs;
	struct thread_sh *hb;
	const struct op *cur;		/* for failure messages */
	int cur_index;
	int last_err;
	uint64_t rng;			/* per-op, from the op's own words */
	sigjmp_buf jb;
	volatile sig_atomic_t jb_armed;
	pthread_t pt;
};

struct child {
	pid_t pid;
	int64_t kill_at;		/* 0: wait for it at program end */
	int stopped;
};

struct wctx {
	int idx;			/* worker number; -1 replay */
	int replay;
	int in_child;			/* a forked op child */
	int dev;			/* /dev/gosync (high fd) */
	int xs[2];			/* this worker's fd exchange */
	int gxs;			/* the supervisor's pool channel to us */
	pid_t parent;			/* the supervisor (workers only) */
	int fdbase;			/* our own fds live from here up */
	pthread_mutex_t tbl;		/* objs[] and maps[] */
	_Atomic uint64_t tbl_gen;	/* bumped whenever an objs[] fd closes */
	pthread_rwlock_t mm;		/* address-space changes vs. others */
	struct obj objs[NOBJ_ALL];
	int pool_fd[NPOOL];		/* high-fd originals of the pool */
	struct mapent maps[NMAPS];
	char *res;			/* NMAPS * SLOT_LEN reserved */
	struct ringent rings[NRINGS];
	char *bad;			/* PROT_NONE page */
	char *ro;			/* a read-only page of plausible structs */
	size_t page;
	int nthreads;
	struct tctx t[MAX_THREADS + 1];
	struct worker_sh *sh;
	struct prog *prog;
	int64_t last_big, last_burst, last_bigburst, last_mount;
	uint64_t ctx_ids;		/* the last context id given (tbl) */
	uint64_t rng;
	struct child kids[4];
	int rlimit_changed;
	struct rlimit_save { unsigned long cur, max; } nofile;
	void *lib[NLIB];		/* libgosync handles of pool objects */
	int lib_kind[NLIB];
	int lib_gen;
	/* program barriers */
	pthread_barrier_t go, done;
	_Atomic int quit;
	_Atomic int scribbling;
	pthread_mutex_t scrib_lock;
	pthread_cond_t scrib_cond;
};

/* fuzz-worker.c */
int64_t now_ns(void);
struct wctx *wctx_new(int idx, int replay, int nthreads);
void prog_run(struct wctx *w, struct prog *p);
void replay_thread_init(struct wctx *w);
void worker_main(int idx, int gxs) __attribute__((noreturn));
void fail(struct tctx *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void post_msg(int worker, int with_prog, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int64_t stall_ns(int64_t from, int64_t to);
void stall_tick(void);
uint32_t stop_gen(struct wctx *w);
extern __thread struct tctx *cur_t;
void guard_install(void);
void tctx_timers(struct tctx *t);

/* Deadline bookkeeping of one blocking call. */
struct dl {
	int64_t start;
	int64_t deadline;		/* the call's own, absolute or special */
	int64_t expect;			/* latest legitimate return */
	int64_t allow;			/* extra work time (big counts) */
	uint32_t gen, cgen;
	int timer;			/* a signal timer bounds it */
	int skip;			/* no check (e.g. no bound at all) */
};
/*
 * pick_deadline: turn an op word into a deadline (sets dl->deadline and
 * arms the thread's signal timers when the deadline is FOREVER-like).
 * dl_end: disarm, and fail the run when the call outlived it.
 */
int64_t pick_deadline(struct tctx *t, uint64_t w, struct dl *dl);
void dl_begin_timeout(struct tctx *t, struct dl *dl, int64_t timeout_ns,
		      int forever);
void dl_allow(struct tctx *t, struct dl *dl, uint64_t units);
void dl_end(struct tctx *t, struct dl *dl, const char *what, long ret,
	    int err);
void check_errno(struct tctx *t, const char *what, int err);
void check_uring_res(struct tctx *t, const char *what, int res, uint32_t most);

/* the guarded-access wrapper: 0 ran, 1 faulted */
#define GUARD(t, stmt) ({						\
	volatile int __f = 0;						\
	if (!sigsetjmp((t)->jb, 0)) {					\
		(t)->jb_armed = 1;					\
		stmt;							\
		(t)->jb_armed = 0;					\
	} else {							\
		__f = 1;						\
	}								\
	__f;								\
})

/* fuzz-ops.c */
void op_exec(struct tctx *t, const struct op *op);
void prog_cleanup(struct wctx *w);
void prog_cleanup_as(struct wctx *w, int everything);
void pool_refill(struct wctx *w);
void lib_drop(struct wctx *w);
int dev_open(void);
void scribble_burst(struct tctx *t, uint64_t *rng, int n);
int chan_info(int fd, struct layout *lay);
void pool_create(int *fds, int n, int fdbase);
void rings_reap_all(struct tctx *t, int check);
int high_fd(int fd, int base);
void kids_reap(struct wctx *w, int kill_all);

/* fuzz-prog.c */
uint64_t rnd(uint64_t *s);
uint64_t splitmix(uint64_t x);
void prog_generate(uint64_t *rng, struct prog *p, int nthreads);
void prog_mutate(uint64_t *rng, struct prog *p, int nthreads);
void prog_splice(uint64_t *rng, struct prog *p, const struct prog *other);
void prog_write(FILE *f, const struct prog *p, const char *comment);
int prog_read(FILE *f, struct prog *p);
int op_parse(const char *name);

#endif /* GOSYNC_FUZZ_H */
