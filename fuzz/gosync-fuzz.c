// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gosync-fuzz: a fuzzer for the whole kernel surface of gosync.ko.
 *
 *   gosync-fuzz [--seed S] [--ops N] [--procs P] [--threads T] [--time SEC]
 *               [--bound SEC] [--hang SEC] [--replay FILE] ...  (--help)
 *
 * The supervisor (this file) makes a pool of objects every worker shares
 * (channels of assorted shapes, one sync object of each kind, a root
 * directory of its gosync mount with ends and names, a root context and
 * a child of it, under which every worker's contexts meet), forks the
 * workers (fuzz-worker.c), and then, until the time or the operation
 * budget is used up: prints what workers report, kills workers with
 * SIGKILL at random moments and respawns them, stops and continues them,
 * signals them, replaces the pool, tightens the module's limits for a
 * while, watches the kernel log for splats and every worker for progress.
 * At the end everything is closed and the module's limit counters
 * (debugfs gosync/limits) must come back to zero.
 *
 * Reproducibility: one seed gives the same programs to the same worker
 * (generation and mutation are seeded), but what the kernel does with
 * several processes and threads depends on timing: concurrent runs are
 * reproducible only statistically.  A failure prints the programs its
 * worker ran last; --replay runs them in one process, one thread, in
 * order: that replay is exact (the same calls with the same arguments).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fuzz.h"

struct opts O;
struct shared *SH;
int g_xs[2] = { -1, -1 };
int g_pool[NPOOL];
int g_fsroot = -1;
dev_t g_fsdev;
char g_fsdir[64];

#define DEBUGFS		"/sys/kernel/debug"
#define LIMITS		DEBUGFS "/gosync/limits"
#define PARAMS		"/sys/module/gosync/parameters/"

static struct wstate {
	pid_t pid;
	int sock;		/* our end of its pool channel */
	int alive;
	int killed;		/* we sent SIGKILL */
	int64_t killed_at;
	int stopped;
	int64_t resume_at;
	int hung;
} ws[MAX_WORKERS];

static struct {
	uint64_t kills, respawns, stops, signals, pools, limit_flips, splats;
	uint64_t hangs;
} st;

static int kmsg_fd = -1;
static int64_t t0;
static int pool_gen;
static int fdbase;
static long saved_objects = -1, saved_bytes = -1;
static int limits_low;

/* ------------------------------------------------------------ helpers -- */

static void sfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sfail(const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&SH->failures, 1);
	if (!O.keep_going)
		atomic_store(&SH->stop, 1);
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%ld\n", v) > 0 ? 0 : -1;
	return fclose(f) ? -1 : ret;
}

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* debugfs gosync/limits: the totals; 0, or -1 without the file */
static int charged(unsigned long *objects, unsigned long *bytes, char *all,
		   size_t len)
{
	char buf[4096];

	if (read_text(LIMITS, buf, sizeof(buf)))
		return -1;
	if (all)
		snprintf(all, len, "%s", buf);
	return sscanf(buf, "objects %lu bytes %lu", objects, bytes) == 2 ? 0 : -1;
}

static void print_prog_block(int worker, uint32_t seq)
{
	struct worker_sh *w = &SH->w[worker];
	uint32_t k, n = seq < NRECENT ? seq : NRECENT;
	static int nfile;
	char path[512];
	FILE *f = NULL;

	if (O.out) {
		snprintf(path, sizeof(path), "%s/fail-%d.prog", O.out, ++nfile);
		f = fopen(path, "w");
	}
	printf("==== replay file: worker %d's last %u programs, oldest first ====\n",
	       worker, n);
	for (k = n; k > 0; k--) {
		const struct prog *p = &w->recent[(seq - k) % NRECENT];
		char c[128];

		snprintf(c, sizeof(c), "worker %d program %u of its spawn %u%s",
			 worker, seq - k, atomic_load(&w->spawn),
			 k == 1 ? " (running at the failure)" : "");
		prog_write(stdout, p, c);
		if (f)
			prog_write(f, p, c);
	}
	printf("==== end of replay file ====\n");
	if (f) {
		fclose(f);
		printf("replay: gosync-fuzz --replay %s -v   (one process, one thread; exact)\n",
		       path);
	} else {
		printf("replay: save this log (or the block above) as FILE, then: gosync-fuzz --replay FILE -v\n");
	}
	fflush(stdout);
}

/*
 * A failure's kind, for --keep-going: its first line without digits.
 * Each kind is shown in full (with its replay file) a few times only.
 */
#define NKINDS		64
#define SHOW_PER_KIND	3
static struct { char sig[96]; unsigned int n; } kinds[NKINDS];

static int kind_count(const char *text)
{
	char sig[96];
	size_t n = 0;
	int i;

	if (strncmp(text, "FAIL: ", 6))
		return 1;
	for (text += 6; *text && *text != '\n' && n + 1 < sizeof(sig); text++)
		if (!((*text >= '0' && *text <= '9') || *text == 'x'))
			sig[n++] = *text;
	sig[n] = 0;
	for (i = 0; i < NKINDS && kinds[i].n; i++)
		if (!strcmp(kinds[i].sig, sig))
			return ++kinds[i].n;
	if (i == NKINDS)
		return 1;
	snprintf(kinds[i].sig, sizeof(kinds[i].sig), "%s", sig);
	return kinds[i].n = 1;
}

static void kinds_report(void)
{
	int i;

	for (i = 0; i < NKINDS && kinds[i].n; i++)
		printf("fuzz: failure kind seen %u times: %s\n", kinds[i].n,
		       kinds[i].sig);
}

static void drain_msgs(void)
{
	int i;

	for (i = 0; i < NMSG; i++) {
		if (!atomic_load_explicit(&SH->msgs[i].ready,
					  memory_order_acquire))
			continue;
		if (kind_count(SH->msgs[i].text) > SHOW_PER_KIND) {
			atomic_store(&SH->msgs[i].ready, 0);
			continue;
		}
		printf("%s\n", SH->msgs[i].text);
		if (SH->msgs[i].with_prog && SH->msgs[i].worker >= 0)
			print_prog_block(SH->msgs[i].worker,
					 SH->msgs[i].recent_seq);
		fflush(stdout);
		atomic_store(&SH->msgs[i].ready, 0);
	}
}

/* ------------------------------------------------------------- kernel -- */

static void kcov_detect(void)
{
	char buf[256], path[600];
	uint64_t lo = 0, hi = ~0ULL, base, size;
	struct dirent *de;
	DIR *d;
	FILE *f;
	int fd;

	if (O.no_kcov)
		return;
	fd = open(DEBUGFS "/kcov", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	close(fd);
	if (read_text("/sys/module/gosync/sections/.text", buf, sizeof(buf)) ||
	    sscanf(buf, "%" SCNx64, &lo) != 1 || !lo)
		return;
	/* the text ends where the next section starts, or the module does */
	d = opendir("/sys/module/gosync/sections");
	while (d && (de = readdir(d))) {
		uint64_t a;

		if (de->d_name[0] == '.' && (!de->d_name[1] ||
					     !strcmp(de->d_name, "..")))
			continue;
		snprintf(path, sizeof(path), "/sys/module/gosync/sections/%s",
			 de->d_name);
		if (!read_text(path, buf, sizeof(buf)) &&
		    sscanf(buf, "%" SCNx64, &a) == 1 && a > lo && a < hi)
			hi = a;
	}
	if (d)
		closedir(d);
	f = fopen("/proc/modules", "r");
	while (f && fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "gosync ", 7))
			continue;
		if (sscanf(buf, "gosync %" SCNu64 " %*s %*s %*s %" SCNx64, &size,
			   &base) == 2 && base <= lo && base + size > lo &&
		    base + size < hi)
			hi = base + size;
	}
	if (f)
		fclose(f);
	if (hi == ~0ULL || hi - lo > (uint64_t)COVMAP_BYTES * 8)
		hi = lo + (uint64_t)COVMAP_BYTES * 8;
	SH->cov_lo = lo;
	SH->cov_hi = hi;
	SH->kcov = 1;
}

/* Covered module functions, from kallsyms (-v). */
static void coverage_report(void)
{
	struct sym { uint64_t a; char name[64]; } *syms = NULL;
	int n = 0, cap = 0, i, covered = 0;
	char line[256];
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		uint64_t a;
		char type, name[128];

		if (!strstr(line, "[gosync]"))
			continue;
		if (sscanf(line, "%" SCNx64 " %c %127s", &a, &type, name) != 3 ||
		    (type != 't' && type != 'T') || a < SH->cov_lo ||
		    a >= SH->cov_hi)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			syms = realloc(syms, cap * sizeof(*syms));
			if (!syms)
				return;
		}
		syms[n].a = a;
		snprintf(syms[n].name, sizeof(syms[n].name), "%.63s", name);
		n++;
	}
	fclose(f);
	/* sort by address (insertion: a few hundred) */
	for (i = 1; i < n; i++) {
		struct sym s = syms[i];
		int j = i - 1;

		while (j >= 0 && syms[j].a > s.a) {
			syms[j + 1] = syms[j];
			j--;
		}
		syms[j + 1] = s;
	}
	printf("fuzz: module functions never reached:");
	for (i = 0; i < n; i++) {
		uint64_t from = syms[i].a - SH->cov_lo;
		uint64_t to = (i + 1 < n ? syms[i + 1].a : SH->cov_hi) - SH->cov_lo;
		uint64_t o, hits = 0;

		for (o = from; o < to && o / 8 < COVMAP_BYTES; o++)
			if (atomic_load(&SH->covmap[o / 8]) & (1U << (o & 7)))
				hits++;
		if (hits)
			covered++;
		else
			printf(" %s", syms[i].name);
	}
	printf("\nfuzz: %d of %d module functions reached\n", covered, n);
	free(syms);
}

static const char *const splat_words[] = {
	"WARNING:", "BUG:", "KASAN", "UBSAN", "Oops", "general protection fault",
	"kernel BUG", "Kernel panic", "possible circular locking",
	"possible recursive locking", "inconsistent lock state",
	"suspicious RCU usage", "lock held when returning", "held lock freed",
	"bad unlock balance", "blocked for more than", "rcu: INFO",
	"self-detected stall", "detected stall", "soft lockup", "hard LOCKUP",
	"refcount_t:", "list_add corruption", "list_del corruption",
	"Call Trace:",
};

static int64_t splat_until;

static void kmsg_scan(void)
{
	char buf[2048];
	ssize_t n;
	size_t i;

	if (kmsg_fd < 0)
		return;
	while ((n = read(kmsg_fd, buf, sizeof(buf) - 1)) > 0) {
		char *msg;

		buf[n] = 0;
		msg = strchr(buf, ';');
		msg = msg ? msg + 1 : buf;
		if (strstr(msg, "gosync-vm:") || strstr(msg, "gosync-test:"))
			continue;
		if (now_ns() < splat_until) {
			printf("kmsg: %s", msg);
			continue;
		}
		for (i = 0; i < sizeof(splat_words) / sizeof(splat_words[0]); i++)
			if (strstr(msg, splat_words[i]))
				break;
		if (i == sizeof(splat_words) / sizeof(splat_words[0]))
			continue;
		st.splats++;
		splat_until = now_ns() + 3000000000LL;
		sfail("kernel splat in dmesg: %s", msg);
		for (i = 0; i < (size_t)O.procs; i++)
			if (ws[i].alive)
				print_prog_block(i, atomic_load(&SH->w[i].recent_seq));
	}
}

/* --------------------------------------------------------- the mount -- */

#define FS_MAX		48	/* the mount's max=: hit now and then */
#define LEASE_BREAK	"/proc/sys/fs/lease-break-time"
static long saved_lease = -1;

/*
 * The run's gosync mount (root only): in a mount namespace of our own
 * (so that it goes with us however we end), on a fresh directory in
 * /tmp, its root directory at a high fd every worker inherits.  The
 * pool holds a root directory, directional ends and names of it.  Names
 * are files: a lease on one would make another worker's open wait
 * lease-break-time (45 s by default), so that is 1 s during the run.
 */
static void fs_setup(void)
{
	struct stat sb;
	char opts[32];
	int fd;

	if (geteuid())
		return;
	if (!unshare(CLONE_NEWNS))
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	snprintf(g_fsdir, sizeof(g_fsdir), "/tmp/gosync-fuzz.XXXXXX");
	if (!mkdtemp(g_fsdir)) {
		printf("fuzz: mkdtemp: %s: no gosync mount\n", strerror(errno));
		g_fsdir[0] = 0;
		return;
	}
	snprintf(opts, sizeof(opts), "max=%d", FS_MAX);
	if (mount("gosync", g_fsdir, GOSYNC_FS_TYPE, 0, opts)) {
		printf("fuzz: mount -t gosync: %s: no gosync mount\n",
		       strerror(errno));
		rmdir(g_fsdir);
		g_fsdir[0] = 0;
		return;
	}
	fd = open(g_fsdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb)) {
		printf("fuzz: open %s: %s\n", g_fsdir, strerror(errno));
		return;
	}
	g_fsroot = high_fd(fd, fdbase + 12);
	g_fsdev = sb.st_dev;
	umask(0);
	saved_lease = read_long(LEASE_BREAK);
	if (saved_lease > 1)
		write_long(LEASE_BREAK, 1);
}

/* Unlink every name of the mount (a replay starts from none). */
static void fs_unlink_all(void)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (g_fsroot < 0 || (fd = openat(g_fsroot, ".", O_RDONLY |
					 O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	d = fdopendir(fd);
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(g_fsroot, de->d_name, 0);
	if (d)
		closedir(d);
}

/*
 * The end: with every worker gone and the pool closed, nothing holds the
 * mount but our root fd, so it must unmount (a file of it kept alive in
 * the module would make that EBUSY), and its names' objects go with it:
 * the leak check after this sees them uncharged.
 */
static void fs_teardown(void)
{
	int64_t end = now_ns() + O.settle_ns;
	int ret, err = 0;

	if (saved_lease > 1)
		write_long(LEASE_BREAK, saved_lease);
	if (!g_fsdir[0])
		return;
	if (g_fsroot >= 0)
		close(g_fsroot);
	g_fsroot = -1;
	while ((ret = umount2(g_fsdir, 0)) && (err = errno) == EBUSY &&
	       now_ns() < end)
		usleep(100000);
	if (ret) {
		sfail("umount of the gosync mount %s %.0f s after everything was closed: %s",
		      g_fsdir, O.settle_ns / 1e9, strerror(err));
		umount2(g_fsdir, MNT_DETACH);
	}
	rmdir(g_fsdir);
	g_fsdir[0] = 0;
}

/* ------------------------------------------------------------ workers -- */

static void spawn(int i)
{
	struct worker_sh *w = &SH->w[i];
	int sv[2], j;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)) {
		sfail("socketpair: %s", strerror(errno));
		return;
	}
	memset(w->th, 0, sizeof(w->th));
	atomic_store(&w->stop_gen, 0);
	atomic_store(&w->child_gen, 0);
	atomic_store(&w->cont_ns, 0);
	atomic_store(&w->beat, now_ns());
	atomic_store(&w->phase, PH_INIT);
	atomic_fetch_add(&w->spawn, 1);
	atomic_store(&w->pool_gen, pool_gen);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		for (j = 0; j < MAX_WORKERS; j++)
			if (ws[j].sock >= 0)
				close(ws[j].sock);
		if (kmsg_fd >= 0)
			close(kmsg_fd);
		worker_main(i, high_fd(sv[1], fdbase + 4));
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		sfail("fork: %s", strerror(errno));
		return;
	}
	ws[i].pid = pid;
	ws[i].sock = high_fd(sv[0], fdbase + 120);
	ws[i].alive = 1;
	ws[i].killed = 0;
	ws[i].stopped = 0;
	ws[i].hung = 0;
}

static void resume(int i)
{
	if (!ws[i].stopped)
		return;
	kill(ws[i].pid, SIGCONT);
	atomic_store(&SH->w[i].cont_ns, now_ns());
	atomic_fetch_add(&SH->w[i].stop_gen, 1);	/* even again */
	ws[i].stopped = 0;
}

static void reap(int stopping)
{
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < O.procs; i++)
			if (ws[i].alive && ws[i].pid == pid)
				break;
		if (i == O.procs)
			continue;
		ws[i].alive = 0;
		close(ws[i].sock);
		ws[i].sock = -1;
		if (ws[i].killed && WIFSIGNALED(status) &&
		    WTERMSIG(status) == SIGKILL) {
			if (!stopping && !ws[i].hung) {
				st.respawns++;
				spawn(i);
			}
			continue;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		    (stopping || atomic_load(&SH->stop)))
			continue;
		if (WIFSIGNALED(status))
			sfail("worker %d (pid %d) died of signal %d (%s)", i, pid,
			      WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			sfail("worker %d (pid %d) exited with status %d", i, pid,
			      WEXITSTATUS(status));
		print_prog_block(i, atomic_load(&SH->w[i].recent_seq));
		if (!stopping && O.keep_going)
			spawn(i);
	}
}

static void show_task(pid_t pid)
{
	char path[400], buf[4096], sc[256], *p;
	struct dirent *de;
	DIR *d;
	int i;

	/* what each thread is doing, as the worker says */
	for (i = 0; i < O.procs; i++) {
		struct worker_sh *w = &SH->w[i];
		int j;

		if (atomic_load(&w->pid) != pid)
			continue;
		for (j = 0; j <= MAX_THREADS; j++) {
			int64_t s = atomic_load(&w->th[j].op_start);

			if (!atomic_load(&w->th[j].tid))
				continue;
			printf("  thread %d (tid %d): %s", j,
			       atomic_load(&w->th[j].tid),
			       s ? "in op #" : "between ops\n");
			if (s)
				printf("%u (%s) for %.1f s\n",
				       atomic_load(&w->th[j].op_index),
				       opdefs[atomic_load(&w->th[j].op_type) %
					      OP_NTYPES].name, (now_ns() - s) / 1e9);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/wchan", pid,
			 de->d_name);
		read_text(path, buf, sizeof(buf));
		snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", pid,
			 de->d_name);
		read_text(path, sc, sizeof(sc));
		if ((p = strchr(sc, '\n')))
			*p = 0;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid,
			 de->d_name);
		read_text(path, path, sizeof(path));
		p = strrchr(path, ')');
		printf("  task %s: state %c, wchan %s, syscall %s\n", de->d_name,
		       p && p[1] ? p[2] : '?', buf, sc);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", pid,
			 de->d_name);
		if (!read_text(path, buf, sizeof(buf)) && buf[0])
			printf("%s", buf);
	}
	if (d)
		closedir(d);
}

/* Write @c to /proc/sysrq-trigger, if we may. */
static void sysrq(char c)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, &c, 1) != 1)
		note("sysrq %c: %s", c, strerror(errno));
	close(fd);
}

/* A worker making no progress while it is not stopped: hung. */
static void hang_check(void)
{
	int64_t now = now_ns();
	int i, j;

	for (i = 0; i < O.procs; i++) {
		struct worker_sh *w = &SH->w[i];
		int64_t since = atomic_load(&w->cont_ns), beat;

		if (!ws[i].alive || ws[i].stopped || ws[i].killed || ws[i].hung)
			continue;
		for (j = 0; j < (int)atomic_load(&w->nthreads) && j < MAX_THREADS; j++) {
			int64_t s = atomic_load(&w->th[j].op_start);
			int64_t due = atomic_load(&w->th[j].op_due);
			uint32_t gen = atomic_load(&w->th[j].op_gen);

			if (!s)
				continue;
			/* a call still blocked well past its deadline */
			if (due && s >= since && gen == atomic_load(&w->stop_gen) &&
			    !(gen & 1) && now - due - stall_ns(s, now) > O.bound_ns &&
			    atomic_load(&w->th[j].op_due) == due) {
				ws[i].hung = 1;
				sfail("worker %d (pid %d) thread %d (tid %d): op #%u (%s) is still blocked %.1f s after it was due (bound %.1f s)",
				      i, ws[i].pid, j, atomic_load(&w->th[j].tid),
				      atomic_load(&w->th[j].op_index),
				      opdefs[atomic_load(&w->th[j].op_type) % OP_NTYPES].name,
				      (now - due) / 1e9, O.bound_ns / 1e9);
				break;
			}
			if (s < since)
				s = since;
			if (now - s - stall_ns(s, now) <= O.hang_ns)
				continue;
			ws[i].hung = 1;
			st.hangs++;
			sfail("hung: worker %d (pid %d) thread %d (tid %d) has been in op #%u (%s) for %.1f s",
			      i, ws[i].pid, j, atomic_load(&w->th[j].tid),
			      atomic_load(&w->th[j].op_index),
			      opdefs[atomic_load(&w->th[j].op_type) % OP_NTYPES].name,
			      (now - s) / 1e9);
			break;
		}
		beat = atomic_load(&w->beat);
		if (beat < since)
			beat = since;
		if (!ws[i].hung && now - beat - stall_ns(beat, now) >
		    O.hang_ns + 10 * O.bound_ns) {
			ws[i].hung = 1;
			st.hangs++;
			sfail("hung: worker %d (pid %d) made no progress for %.1f s (phase %u)",
			      i, ws[i].pid, (now - beat) / 1e9,
			      atomic_load(&w->phase));
		}
		if (ws[i].hung) {
			show_task(ws[i].pid);
			print_prog_block(i, atomic_load(&w->recent_seq));
			kill(ws[i].pid, SIGKILL);
			ws[i].killed = 1;
			ws[i].killed_at = now;
		}
	}
	/* a SIGKILLed worker must go away */
	for (i = 0; i < O.procs; i++)
		if (ws[i].alive && ws[i].killed &&
		    now - ws[i].killed_at > O.hang_ns) {
			sfail("worker %d (pid %d) did not die %.0f s after SIGKILL",
			      i, ws[i].pid, (now - ws[i].killed_at) / 1e9);
			show_task(ws[i].pid);
			/*
			 * A task that keeps running has no stack in /proc: ask
			 * the kernel for the CPUs' backtraces (root only; they
			 * go to the kernel log, which the guest run prints).
			 */
			sysrq('l');
			ws[i].killed_at = now + 1000000000000LL;
		}
}

/* ------------------------------------------------------------- chaos -- */

static uint64_t crng;

static int pick_live(void)
{
	int i, k = rnd(&crng) % O.procs;

	for (i = 0; i < O.procs; i++) {
		int j = (k + i) % O.procs;

		if (ws[j].alive && !ws[j].killed && !ws[j].stopped &&
		    !ws[j].hung && atomic_load(&SH->w[j].phase) != PH_INIT)
			return j;
	}
	return -1;
}

static void pool_refresh(void)
{
	int fds[NPOOL], i, j;

	for (i = 0; i < NPOOL; i++)
		fds[i] = -1;
	pool_create(fds, NPOOL, fdbase + 140);
	pool_gen++;
	for (i = 0; i < O.procs; i++) {
		char cbuf[CMSG_SPACE(sizeof(fds))];
		struct iovec iov = { .iov_base = &pool_gen,
				     .iov_len = sizeof(pool_gen) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		if (!ws[i].alive || ws[i].sock < 0)
			continue;
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
		sendmsg(ws[i].sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	for (j = 0; j < NPOOL; j++) {
		dup3(fds[j], g_pool[j], O_CLOEXEC);
		close(fds[j]);
	}
	st.pools++;
}

static void limits_flip(void)
{
	if (saved_objects < 0 || O.no_limits)
		return;
	if (g_fsdir[0]) {
		char opts[32];

		snprintf(opts, sizeof(opts), "max=%d", limits_low ? FS_MAX :
			 (int)(1 + rnd(&crng) % 16));
		mount(NULL, g_fsdir, NULL, MS_REMOUNT, opts);
	}
	if (!limits_low) {
		write_long(PARAMS "max_user_objects", 48 + rnd(&crng) % 256);
		write_long(PARAMS "max_user_bytes", (4 + rnd(&crng) % 16) << 20);
		limits_low = 1;
	} else {
		write_long(PARAMS "max_user_objects", saved_objects);
		write_long(PARAMS "max_user_bytes", O.user_bytes);
		limits_low = 0;
	}
	st.limit_flips++;
}

/*
 * Shmem huge pages: a region's pages may then be parts of 2 MiB folios,
 * pinned (and charged) whole.  Flipped now and then where the kernel has
 * them (root only); put back at the end.
 */
#define THP_SHMEM	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"
static char thp_saved[32];

static void thp_flip(void)
{
	static const char *const modes[] = {
		"always", "within_size", "advise", "never", "force",
	};
	char buf[256], *a, *b;
	FILE *f;

	if (O.no_limits || geteuid())
		return;
	if (!thp_saved[0]) {
		if (read_text(THP_SHMEM, buf, sizeof(buf)))
			return;
		a = strchr(buf, '[');
		b = a ? strchr(a, ']') : NULL;
		if (!a || !b || b - a > (long)sizeof(thp_saved) - 1)
			return;
		memcpy(thp_saved, a + 1, b - a - 1);
		thp_saved[b - a - 1] = 0;
	}
	f = fopen(THP_SHMEM, "w");
	if (!f)
		return;
	fprintf(f, "%s\n", modes[rnd(&crng) % 5]);
	fclose(f);
}

static void thp_restore(void)
{
	FILE *f;

	if (!thp_saved[0])
		return;
	f = fopen(THP_SHMEM, "w");
	if (f) {
		fprintf(f, "%s\n", thp_saved);
		fclose(f);
	}
}

static int64_t next_kill, next_stop, next_sig, next_pool, next_limits;

static void chaos(void)
{
	int64_t now = now_ns();
	int i;

	for (i = 0; i < O.procs; i++)
		if (ws[i].stopped && now >= ws[i].resume_at)
			resume(i);
	if (!O.chaos)
		return;
	if (now >= next_kill) {
		i = pick_live();
		if (i >= 0 && now - t0 > 1000000000LL) {
			kill(ws[i].pid, SIGKILL);
			ws[i].killed = 1;
			ws[i].killed_at = now;
			st.kills++;
		}
		/* a respawn costs a debug kernel a lot: less often there */
		next_kill = now + (int64_t)((O.light ? 1500 : 300) +
					    rnd(&crng) % ((O.light ? 5000 : 2000) /
							  O.chaos)) * 1000000;
	}
	if (now >= next_stop && !(O.avoid & AVOID_STOP_URING)) {
		i = pick_live();
		if (i >= 0) {
			atomic_fetch_add(&SH->w[i].stop_gen, 1);	/* odd */
			kill(ws[i].pid, SIGSTOP);
			ws[i].stopped = 1;
			ws[i].resume_at = now + (int64_t)(10 + rnd(&crng) % 300) *
					  1000000;
			st.stops++;
		}
		next_stop = now + (int64_t)(200 + rnd(&crng) % 1000) * 1000000;
	}
	if (now >= next_sig) {
		i = pick_live();
		if (i >= 0) {
			kill(ws[i].pid, rnd(&crng) % 2 ? SIGUSR1 : SIGUSR2);
			st.signals++;
		}
		next_sig = now + (int64_t)(50 + rnd(&crng) % 500) * 1000000;
	}
	if (now >= next_pool) {
		pool_refresh();
		next_pool = now + (O.light ? 5000000000LL : 2000000000LL) +
			    (int64_t)(rnd(&crng) % 3000) * 1000000;
	}
	if (now >= next_limits) {
		limits_flip();
		if (rnd(&crng) % 2)
			thp_flip();
		next_limits = now + (int64_t)(limits_low ? 500 + rnd(&crng) % 1500 :
					      3000 + rnd(&crng) % 4000) * 1000000;
	}
}

static void *ticker(void *arg)
{
	struct timespec ts = { 0, TICK_NS };

	(void)arg;
	for (;;) {
		nanosleep(&ts, NULL);
		stall_tick();
	}
	return NULL;
}

/* -------------------------------------------------------- final checks -- */

/*
 * Every worker reaped, any child left is an orphan of one (the fuzzer is
 * its descendants' subreaper): one that escaped PR_SET_PDEATHSIG holds a
 * copy of its worker's fds, and with them objects the leak check would
 * count against the module.  Nothing the child does can close that
 * window: a worker's op_signal may SIGSTOP a kid between its fork and
 * its prctl, and if the worker is then killed the kid stays stopped with
 * no death signal armed (a KCSAN-tier run ended with one: fuzz-w0, state
 * T, parent init, 53 gosync fds).  Kill and reap them first, and say so; one
 * that SIGKILL does not end within the settle time is stuck in the
 * kernel: a failure of its own.
 */
static void orphans_sweep(void)
{
	int64_t end = now_ns() + O.settle_ns;
	pid_t seen[256];
	int nseen = 0, i;

	for (;;) {
		pid_t left[64], me = getpid();
		struct dirent *de;
		int n = 0;
		DIR *d = opendir("/proc");

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		while (d && (de = readdir(d)) && n < (int)(sizeof(left) / sizeof(left[0]))) {
			char path[300], buf[512], *p;
			long ppid;

			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
			if (read_text(path, buf, sizeof(buf)))
				continue;
			/* "pid (comm) S ppid ...": comm may hold anything */
			p = strrchr(buf, ')');
			if (p && sscanf(p + 1, " %*c %ld", &ppid) == 1 &&
			    ppid == me)
				left[n++] = atoi(de->d_name);
		}
		if (d)
			closedir(d);
		if (!n)
			break;
		if (now_ns() > end) {
			for (i = 0; i < n; i++) {
				sfail("pid %d, an orphan of a worker, still there %.0f s after SIGKILL",
				      left[i], O.settle_ns / 1e9);
				show_task(left[i]);
			}
			break;
		}
		for (i = 0; i < n; i++) {
			int j;

			kill(left[i], SIGKILL);
			for (j = 0; j < nseen && seen[j] != left[i]; j++)
				;
			if (j == nseen && nseen < (int)(sizeof(seen) / sizeof(seen[0])))
				seen[nseen++] = left[i];
		}
		usleep(20000);
	}
	if (nseen) {
		printf("fuzz: killed %d orphaned descendant(s) of workers before the leak check:", nseen);
		for (i = 0; i < nseen; i++)
			printf(" %d", seen[i]);
		printf("\n");
	}
}

/*
 * The module's references before the fuzzer opened anything: a mounted
 * gosync filesystem (the guest mounts /run/gosync) holds one of its own.
 */
static long base_refs;

/* After everything is closed, what the module charged must come back. */
static int leak_check(unsigned long base_objects, unsigned long base_bytes)
{
	unsigned long objects = 0, bytes = 0;
	int64_t end = now_ns() + O.settle_ns;
	long refs = -1;
	char all[4096];

	if (charged(&objects, &bytes, NULL, 0)) {
		printf("fuzz: no %s: limit counters not checked\n", LIMITS);
		return 0;
	}
	for (;;) {
		charged(&objects, &bytes, all, sizeof(all));
		refs = read_long("/sys/module/gosync/refcnt");
		if (objects == base_objects && bytes == base_bytes && refs <= base_refs)
			return 0;
		if (now_ns() > end)
			break;
		usleep(100000);
	}
	if (objects != base_objects || bytes != base_bytes)
		sfail("unbalanced limit counters %.0f s after everything was closed (want objects %lu bytes %lu):\n%s",
		      O.settle_ns / 1e9, base_objects, base_bytes, all);
	if (refs > base_refs)
		sfail("module still referenced %.0f s after everything was closed: refcnt %ld, %ld before",
		      O.settle_ns / 1e9, refs, base_refs);
	/* Who still holds them: every process's fds that name a gosync file. */
	fflush(stdout);
	if (system("for p in /proc/[0-9]*; do for f in $p/fd/*; do "
		   "l=$(readlink $f 2>/dev/null); case \"$l\" in *gosync*) "
		   "echo \"fuzz: leak: pid ${p#/proc/} ($(cat $p/comm 2>/dev/null), "
		   "$(sed -n 's/^State:[[:space:]]*//p' $p/status 2>/dev/null)) "
		   "fd ${f##*/} -> $l\";; esac; done; done 2>/dev/null | head -60"))
		printf("fuzz: leak: could not list the holders\n");
	/*
	 * Mappings pin their object's file too; and with no holder at all,
	 * what is left alive (an orphan of a worker?) and the module's word.
	 */
	fflush(stdout);
	if (system("grep -l gosync /proc/[0-9]*/maps 2>/dev/null | head -20 | "
		   "sed 's/^/fuzz: leak: mapped in /'; "
		   "ps -eo pid,ppid,stat,comm 2>/dev/null | sed 's/^/fuzz: leak: ps: /' | head -80; "
		   "for f in /sys/module/gosync/holders/* /sys/fs/gosync/* /sys/kernel/debug/gosync/*; do "
		   "[ -f \"$f\" ] && sed \"s|^|fuzz: leak: $f: |\" \"$f\"; done 2>/dev/null | head -40"))
		printf("fuzz: leak: could not list mappings and processes\n");
	return 1;
}

static void print_results(void)
{
	int i;

	printf("fuzz: per operation (ok / error, ms of thread time):");
	for (i = 0; i < OP_NTYPES; i++) {
		printf("%s %s %" PRIu64 "/%" PRIu64 " %" PRIu64 "ms",
		       i % 5 ? "," : "\n ",
		       opdefs[i].name, atomic_load(&SH->results[i][0]),
		       atomic_load(&SH->results[i][1]),
		       atomic_load(&SH->op_ns[i]) / 1000000);
		if (O.profile)
			printf(" (cpu %" PRIu64 "ms)",
			       atomic_load(&SH->op_cpu[i]) / 1000000);
	}
	printf("\nfuzz: their commonest errors:");
	for (i = 0; i < OP_NTYPES; i++) {
		int top[3] = { 0, 0, 0 }, e, k;

		for (e = 1; e < NERRNO; e++)
			for (k = 0; k < 3; k++)
				if (atomic_load(&SH->errnos[i][e]) >
				    atomic_load(&SH->errnos[i][top[k]])) {
					memmove(&top[k + 1], &top[k],
						(2 - k) * sizeof(top[0]));
					top[k] = e;
					break;
				}
		if (!top[0])
			continue;
		printf("\n %s:", opdefs[i].name);
		for (k = 0; k < 3 && top[k]; k++)
			printf(" %s %" PRIu64, strerrorname_np(top[k]) ?
			       strerrorname_np(top[k]) : "?",
			       atomic_load(&SH->errnos[i][top[k]]));
	}
	printf("\nfuzz: program cleanup: %" PRIu64 " ms\n",
	       atomic_load(&SH->prog_ns[1]) / 1000000);
}

static void corpus_save(void)
{
	FILE *f;
	uint32_t i, n = atomic_load(&SH->corpus_n);

	if (!O.corpus_out)
		return;
	f = fopen(O.corpus_out, "w");
	if (!f) {
		note("%s: %s", O.corpus_out, strerror(errno));
		return;
	}
	for (i = 0; i < n && i < NCORPUS; i++)
		if (atomic_load(&SH->corpus[i].ready))
			prog_write(f, &SH->corpus[i].p, "corpus");
	fclose(f);
}

static void corpus_load(void)
{
	struct prog p;
	FILE *f;
	uint32_t n = 0;

	if (!O.corpus_in)
		return;
	f = fopen(O.corpus_in, "r");
	if (!f) {
		note("%s: %s", O.corpus_in, strerror(errno));
		return;
	}
	while (n < NCORPUS && prog_read(f, &p) == 1) {
		SH->corpus[n].p = p;
		SH->corpus[n].newpcs = 1;
		atomic_store(&SH->corpus[n].ready, 1);
		n++;
	}
	fclose(f);
	atomic_store(&SH->corpus_n, n);
	note("%u corpus programs from %s", n, O.corpus_in);
}

/* ----------------------------------------------------------- minimise -- */

/* A failure's kind: its text without numbers, addresses and names of ops. */
static void signature(const char *text, char *sig, size_t len)
{
	size_t n = 0;

	for (; *text && *text != '\n' && n + 1 < len && n < 64; text++) {
		if ((*text >= '0' && *text <= '9') || *text == 'x')
			continue;
		sig[n++] = *text;
	}
	sig[n] = 0;
}

static void replay_fds_up(void)
{
	int i;

	for (i = 0; i < NPOOL; i++)
		g_pool[i] = -1;
	pool_create(g_pool, NPOOL, fdbase + 100);
	socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, g_xs);
	g_xs[0] = high_fd(g_xs[0], fdbase + 8);
	g_xs[1] = high_fd(g_xs[1], fdbase + 8);
}

/*
 * One trial in a child of its own: run @progs; its first failure's
 * signature (or a new kernel splat, or a hang) in @sig; 1 when it failed.
 */
static int trial(struct prog *progs, int n, char *sig, size_t len)
{
	int64_t end;
	pid_t pid;
	int status, i;
	char buf[2048];

	atomic_store(&SH->failures, 0);
	atomic_store(&SH->stop, 0);
	SH->msgs[0].text[0] = 0;
	if (kmsg_fd >= 0)
		while (read(kmsg_fd, buf, sizeof(buf)) > 0)
			;
	pid = fork();
	if (pid == 0) {
		struct wctx *w;

		fs_unlink_all();
		replay_fds_up();
		w = wctx_new(-1, 1, 1);
		replay_thread_init(w);
		for (i = 0; i < n && !atomic_load(&SH->stop); i++)
			prog_run(w, &progs[i]);
		_exit(0);
	}
	end = now_ns() + O.hang_ns;
	while (waitpid(pid, &status, WNOHANG) != pid) {
		usleep(10000);
		if (now_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(sig, len, "hung");
			return 1;
		}
	}
	while (kmsg_fd >= 0 && read(kmsg_fd, buf, sizeof(buf) - 1) > 0) {
		size_t k;

		for (k = 0; k < sizeof(splat_words) / sizeof(splat_words[0]); k++)
			if (strstr(buf, splat_words[k])) {
				snprintf(sig, len, "kernel splat: %s", splat_words[k]);
				return 1;
			}
	}
	if (atomic_load(&SH->failures)) {
		signature(SH->msgs[0].text, sig, len);
		return 1;
	}
	if (WIFSIGNALED(status)) {
		snprintf(sig, len, "died of signal %d", WTERMSIG(status));
		return 1;
	}
	return 0;
}

static int minimize(struct prog *progs, int n)
{
	char want[128], got[128];
	int tries = 0, i, chunk, changed;
	uint32_t total = 0;

	O.quiet = 1;
	if (!geteuid()) {
		kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (kmsg_fd >= 0)
			lseek(kmsg_fd, 0, SEEK_END);
	}
	if (!trial(progs, n, want, sizeof(want))) {
		printf("minimize: the programs do not fail when replayed\n");
		return 2;
	}
	printf("minimize: the failure to keep: \"%s\"\n", want);
	fflush(stdout);
	/* the failing program alone, often enough */
	if (n > 1) {
		tries++;
		if (trial(&progs[n - 1], 1, got, sizeof(got)) && !strcmp(got, want)) {
			progs[0] = progs[n - 1];
			n = 1;
		}
	}
	/* whole programs first, then chunks of operations, halving */
	for (i = n - 1; i >= 0 && n > 1; i--) {
		struct prog save = progs[i];

		memmove(&progs[i], &progs[i + 1], (n - i - 1) * sizeof(*progs));
		tries++;
		if (trial(progs, n - 1, got, sizeof(got)) && !strcmp(got, want)) {
			n--;
			continue;
		}
		memmove(&progs[i + 1], &progs[i], (n - i - 1) * sizeof(*progs));
		progs[i] = save;
	}
	for (i = 0; i < n; i++) {
		struct prog *p = &progs[i];

		printf("minimize: program %d: %u operations (%d trials so far)\n",
		       i, p->n, tries);
		fflush(stdout);
		for (chunk = p->n / 2; chunk >= 1; chunk /= 2) {
			do {
				uint32_t at;

				changed = 0;
				for (at = 0; at + chunk <= p->n && p->n > 1;) {
					struct prog save = *p;

					memmove(&p->ops[at], &p->ops[at + chunk],
						(p->n - at - chunk) * sizeof(p->ops[0]));
					p->n -= chunk;
					tries++;
					if (trial(progs, n, got, sizeof(got)) &&
					    !strcmp(got, want)) {
						changed = 1;
						continue;
					}
					*p = save;
					at += chunk;
				}
			} while (changed);
		}
		if (p->flags & PROG_SCRIBBLE) {
			p->flags &= ~PROG_SCRIBBLE;
			tries++;
			if (!trial(progs, n, got, sizeof(got)) || strcmp(got, want))
				p->flags |= PROG_SCRIBBLE;
		}
	}
	O.quiet = 0;
	for (i = 0; i < n; i++)
		total += progs[i].n;
	printf("minimize: %d trials; %d programs, %u operations left\n", tries,
	       n, total);
	printf("==== replay file: minimised ====\n");
	for (i = 0; i < n; i++)
		prog_write(stdout, &progs[i], "minimised");
	printf("==== end of replay file ====\n");
	return 0;
}

/* ------------------------------------------------------------- replay -- */

static int replay_main(void)
{
	static struct prog progs[1024];
	unsigned long objects = 0, bytes = 0;
	FILE *f = fopen(O.replay, "r");
	struct wctx *w;
	int n = 0, r, i;
	uint64_t ops = 0;

	if (!f) {
		note("%s: %s", O.replay, strerror(errno));
		return 2;
	}
	while (n < 1024 && (r = prog_read(f, &progs[n])) != 0) {
		if (r < 0) {
			note("%s: a bad line in program %d", O.replay, n + 1);
			return 2;
		}
		n++;
	}
	fclose(f);
	if (!n) {
		note("%s: no programs", O.replay);
		return 2;
	}
	charged(&objects, &bytes, NULL, 0);
	guard_install();
	fs_setup();
	if (O.minimize)
		return minimize(progs, n);
	replay_fds_up();
	w = wctx_new(-1, 1, 1);
	replay_thread_init(w);
	printf("replay: %d programs from %s, one process, one thread\n", n,
	       O.replay);
	for (i = 0; i < n; i++) {
		printf("replay: program %" PRIx64 " (%u ops%s)\n", progs[i].id,
		       progs[i].n, progs[i].flags & PROG_SCRIBBLE ?
		       ", scribbling" : "");
		fflush(stdout);
		prog_run(w, &progs[i]);
		ops += progs[i].n;
		if (atomic_load(&SH->stop))
			break;
	}
	/* everything goes: what programs left, the pool, the library's handles */
	prog_cleanup_as(w, 1);
	lib_drop(w);
	for (i = 0; i < NOBJ_ALL; i++)
		if (w->objs[i].kind != K_NONE)
			close(w->objs[i].fd);
	for (i = 0; i < NPOOL; i++)
		close(g_pool[i]);
	close(g_xs[0]);
	close(g_xs[1]);
	close(w->xs[0]);
	close(w->xs[1]);
	close(w->dev);
	fs_teardown();
	leak_check(objects, bytes);
	printf("replay: %d programs, %" PRIu64 " ops, %d invariant failures\n",
	       n, ops, atomic_load(&SH->failures));
	return atomic_load(&SH->failures) ? 1 : 0;
}

/* ------------------------------------------------------------ options -- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: gosync-fuzz [options]\n"
"  --seed S          seed (default: from the clock; printed)\n"
"  --ops N           stop after N operations (default: no limit)\n"
"  --time SEC        stop after SEC seconds (default 60)\n"
"  --procs P         worker processes (default 4, max %d)\n"
"  --threads T       threads per worker (default 3, max %d)\n"
"  --bound SEC       a call may return at most SEC after its deadline (3)\n"
"  --unit USEC       plus USEC for each element it copies or case it looks at (20)\n"
"  --hang SEC        no progress for SEC while not stopped: hung (30)\n"
"  --settle SEC      leak check: how long counters may take to drain (10)\n"
"  --chaos N         0: no kills, stops, signals, pool or limit changes;\n"
"                    1 (default), 2, 3: more often\n"
"  --scribble PCT    programs with the scribbler thread (default 15)\n"
"  --uids LIST       run workers as these uids in turn (root only;\n"
"                    default 0,65534)\n"
"  --user-bytes MB   max_user_bytes during the run (default 96; 0: leave)\n"
"  --no-limits       leave the module parameters alone\n"
"  --no-kcov         no coverage even where kcov exists\n"
"  --no-lib          no honest-peer traffic through libgosync\n"
"  --mix full|light  the operation mix; light makes creating, mapping,\n"
"                    ring set-up and fork rarer (default: light where\n"
"                    kcov shows a debug kernel, else full)\n"
"  --avoid LIST      steer around known bugs: stop-uring, wake-loop,\n"
"                    send-own-uring, remap, uring-rw, all (default: none)\n"
"  --replay FILE     run the programs in FILE (a failure's replay file\n"
"                    or a whole log) in one process, one thread\n"
"  --minimize        with --replay: shrink the programs to the fewest\n"
"                    operations that still fail the same way\n"
"  --out DIR         write each failure's replay file there\n"
"  --corpus-in FILE, --corpus-out FILE   load / save the corpus\n"
"  --keep-going      do not stop at the first failure\n"
"  --weights LIST    override operation weights: chan_send=200,fork=0,...\n"
"  --profile         CPU time per operation type (implies -v)\n"
"  -v, --verbose     more output (replay: every operation's result)\n",
		MAX_WORKERS, MAX_THREADS);
}

static unsigned int parse_avoid(const char *s)
{
	unsigned int v = 0;

	if (strstr(s, "all"))
		return ~0U;
	if (strstr(s, "stop-uring"))
		v |= AVOID_STOP_URING;
	if (strstr(s, "wake-loop"))
		v |= AVOID_WAKE_LOOP;
	if (strstr(s, "send-own-uring"))
		v |= AVOID_SEND_OWN_URING;
	if (strstr(s, "remap"))
		v |= AVOID_REMAP;
	if (strstr(s, "uring-rw"))
		v |= AVOID_URING_RW;
	return v;
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", 1, 0, 's' }, { "ops", 1, 0, 'n' }, { "time", 1, 0, 't' },
		{ "procs", 1, 0, 'p' }, { "threads", 1, 0, 'T' },
		{ "bound", 1, 0, 'b' }, { "unit", 1, 0, 'U' },
		{ "hang", 1, 0, 'H' },
		{ "settle", 1, 0, 'S' }, { "chaos", 1, 0, 'c' },
		{ "no-chaos", 0, 0, 'C' }, { "scribble", 1, 0, 'w' },
		{ "uids", 1, 0, 'u' }, { "user-bytes", 1, 0, 'm' },
		{ "no-limits", 0, 0, 'L' }, { "no-kcov", 0, 0, 'K' },
		{ "no-lib", 0, 0, 'l' }, { "avoid", 1, 0, 'a' },
		{ "replay", 1, 0, 'r' }, { "out", 1, 0, 'o' },
		{ "corpus-in", 1, 0, 'i' }, { "corpus-out", 1, 0, 'O' },
		{ "keep-going", 0, 0, 'k' }, { "verbose", 0, 0, 'v' },
		{ "exec-child", 0, 0, 'X' }, { "help", 0, 0, 'h' },
		{ "minimize", 0, 0, 'M' }, { "mix", 1, 0, 'x' },
		{ "profile", 0, 0, 'P' }, { "weights", 1, 0, 'W' },
		{ 0, 0, 0, 0 },
	};
	int c, uids_set = 0;

	O.procs = 4;
	O.threads = 3;
	O.time_s = 60;
	O.bound_ns = 3000000000LL;
	O.unit_ns = 20000;
	O.hang_ns = 30000000000LL;
	O.settle_ns = 10000000000LL;
	O.chaos = 1;
	O.scribble = 15;
	O.user_bytes = 96UL << 20;
	O.seed = splitmix((uint64_t)time(NULL) ^ (uint64_t)getpid() << 32);
	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case 's': O.seed = strtoull(optarg, NULL, 0); break;
		case 'n': O.max_ops = strtoull(optarg, NULL, 0); break;
		case 't': O.time_s = atof(optarg); break;
		case 'p': O.procs = atoi(optarg); break;
		case 'T': O.threads = atoi(optarg); break;
		case 'b': O.bound_ns = atof(optarg) * 1e9; break;
		case 'U': O.unit_ns = atof(optarg) * 1e3; break;
		case 'H': O.hang_ns = atof(optarg) * 1e9; break;
		case 'S': O.settle_ns = atof(optarg) * 1e9; break;
		case 'c': O.chaos = atoi(optarg); break;
		case 'C': O.chaos = 0; break;
		case 'w': O.scribble = atoi(optarg); break;
		case 'u': {
			char *s = optarg, *e;

			uids_set = 1;
			O.nuids = 0;
			while (*s && O.nuids < 4) {
				O.uids[O.nuids++] = strtol(s, &e, 10);
				s = *e ? e + 1 : e;
			}
			break;
		}
		case 'm': O.user_bytes = strtoull(optarg, NULL, 0) << 20; break;
		case 'L': O.no_limits = 1; break;
		case 'K': O.no_kcov = 1; break;
		case 'l': O.no_lib = 1; break;
		case 'a': O.avoid = parse_avoid(optarg); break;
		case 'r': O.replay = optarg; break;
		case 'o': O.out = optarg; break;
		case 'i': O.corpus_in = optarg; break;
		case 'O': O.corpus_out = optarg; break;
		case 'k': O.keep_going = 1; break;
		case 'v': O.verbose++; break;
		case 'X': _exit(0);
		case 'M': O.minimize = 1; break;
		case 'P': O.profile = 1; O.verbose++; break;
		case 'W': {
			char *s = strdup(optarg), *tok, *save = NULL;

			for (tok = strtok_r(s, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				char *eq = strchr(tok, '=');
				int type;

				if (!eq)
					break;
				*eq = 0;
				type = op_parse(tok);
				if (type < 0) {
					fprintf(stderr, "gosync-fuzz: no operation '%s'\n", tok);
					exit(2);
				}
				O.weight_set[type] = 1 + atoi(eq + 1);
			}
			free(s);
			break;
		}
		case 'x':
			O.mix_set = 1;
			O.light = !strcmp(optarg, "light");
			if (!O.light && strcmp(optarg, "full")) {
				usage(stderr);
				exit(2);
			}
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (O.procs < 1 || O.procs > MAX_WORKERS || O.threads < 1 ||
	    O.threads > MAX_THREADS) {
		usage(stderr);
		exit(2);
	}
	if (O.chaos > 3)
		O.chaos = 3;
	if (!uids_set && !geteuid()) {
		O.uids[0] = 0;
		O.uids[1] = 65534;
		O.nuids = 2;
	}
}

int main(int argc, char **argv)
{
	unsigned long base_objects = 0, base_bytes = 0;
	int64_t last_progress, end;
	struct rlimit rl;
	pthread_t tk;
	int i, stopping = 0;

	parse(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Orphans of workers come to us: orphans_sweep() finds them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	fdbase = rl.rlim_cur >= 1024 ? (int)rl.rlim_cur - 256 : (int)rl.rlim_cur / 2;
	SH = mmap(NULL, sizeof(*SH), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (SH == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	if (access("/dev/" GOSYNC_DEVICE_NAME, R_OK | W_OK)) {
		printf("fuzz: no /dev/" GOSYNC_DEVICE_NAME " (%s): load gosync.ko first (scripts/gosync-vm -- %s ...)\n",
		       strerror(errno), argv[0]);
		return 2;
	}
	base_refs = read_long("/sys/module/gosync/refcnt");
	if (base_refs < 0)
		base_refs = 0;
	if (access(DEBUGFS "/gosync", F_OK) && !geteuid())
		mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	if (O.replay)
		return replay_main();

	charged(&base_objects, &base_bytes, NULL, 0);
	if (!geteuid() && !O.no_limits) {
		saved_objects = read_long(PARAMS "max_user_objects");
		saved_bytes = read_long(PARAMS "max_user_bytes");
		if (!O.user_bytes)
			O.user_bytes = saved_bytes;
		if (saved_bytes > 0)
			write_long(PARAMS "max_user_bytes", O.user_bytes);
	}
	kcov_detect();
	fs_setup();
	if (!O.mix_set)
		O.light = SH->kcov;
	corpus_load();
	crng = splitmix(O.seed ^ 0xc4a05);
	t0 = now_ns();
	for (i = 0; i < MAX_WORKERS; i++)
		ws[i].sock = -1;
	for (i = 0; i < NPOOL; i++)
		g_pool[i] = -1;
	pool_create(g_pool, NPOOL, fdbase + 100);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		       g_xs)) {
		perror("socketpair");
		return 2;
	}
	g_xs[0] = high_fd(g_xs[0], fdbase + 8);
	g_xs[1] = high_fd(g_xs[1], fdbase + 8);
	if (!geteuid()) {
		kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (kmsg_fd >= 0)
			lseek(kmsg_fd, 0, SEEK_END);
	}
	guard_install();	/* inherited: a signal never kills a worker */
	pthread_create(&tk, NULL, ticker, NULL);
	printf("fuzz: seed %" PRIu64 ", %d procs x %d threads, %.0f s%s, kcov %s, %s mix, deadline bound %.1f s, hang %.0f s, chaos %d, uids",
	       O.seed, O.procs, O.threads, O.time_s,
	       O.max_ops ? " (or the op budget)" : "", SH->kcov ? "on" : "off",
	       O.light ? "light" : "full", O.bound_ns / 1e9, O.hang_ns / 1e9,
	       O.chaos);
	for (i = 0; i < O.nuids; i++)
		printf("%s%d", i ? "," : " ", O.uids[i]);
	printf("%s\n", O.nuids ? "" : " (as is)");
	printf("fuzz: one seed gives the same programs; with several processes and threads the run is reproducible only statistically; a failure's replay (--replay) is exact\n");
	if (SH->kcov)
		printf("fuzz: module text %#" PRIx64 "-%#" PRIx64 " (%" PRIu64 " bytes)\n",
		       SH->cov_lo, SH->cov_hi, SH->cov_hi - SH->cov_lo);
	for (i = 0; i < O.procs; i++)
		spawn(i);
	next_pool = t0 + 2000000000LL;
	next_limits = t0 + 3000000000LL;
	last_progress = t0;
	end = t0 + (int64_t)(O.time_s * 1e9);

	for (;;) {
		struct timespec ts = { 0, 20000000 };
		int64_t now;

		nanosleep(&ts, NULL);
		now = now_ns();
		drain_msgs();
		reap(stopping);
		kmsg_scan();
		if (stopping)
			break;
		chaos();
		hang_check();
		if (now - last_progress >= 10000000000LL) {
			uint64_t ops = atomic_load(&SH->total_ops);

			note("%.0f s: %" PRIu64 " ops (%.0f/s), %" PRIu64 " module PCs, corpus %u, %" PRIu64 " kills, %" PRIu64 " stops, %d failures",
			     (now - t0) / 1e9, ops, ops / ((now - t0) / 1e9),
			     atomic_load(&SH->cov_pcs),
			     atomic_load(&SH->corpus_n) < NCORPUS ?
			     atomic_load(&SH->corpus_n) : NCORPUS,
			     st.kills, st.stops, atomic_load(&SH->failures));
			last_progress = now;
		}
		if (now >= end || atomic_load(&SH->stop) ||
		    (O.max_ops && atomic_load(&SH->total_ops) >= O.max_ops))
			stopping = 1;
		if (!stopping)
			continue;
		/* Stop: every worker finishes its program and exits. */
		atomic_store(&SH->stop, 1);
		for (i = 0; i < O.procs; i++)
			resume(i);
		for (;;) {
			int alive = 0;

			nanosleep(&ts, NULL);
			drain_msgs();
			reap(1);
			kmsg_scan();
			for (i = 0; i < O.procs; i++)
				alive += ws[i].alive;
			if (!alive)
				break;
			hang_check();
			if (now_ns() - now > O.hang_ns) {
				for (i = 0; i < O.procs; i++) {
					if (!ws[i].alive || ws[i].killed)
						continue;
					sfail("worker %d (pid %d) did not stop within %.0f s",
					      i, ws[i].pid, O.hang_ns / 1e9);
					show_task(ws[i].pid);
					print_prog_block(i, atomic_load(&SH->w[i].recent_seq));
					kill(ws[i].pid, SIGKILL);
					ws[i].killed = 1;
					ws[i].killed_at = now_ns();
				}
				if (now_ns() - now > 3 * O.hang_ns)
					break;
			}
		}
	}
	end = now_ns();
	for (i = 0; i < NPOOL; i++)
		close(g_pool[i]);
	close(g_xs[0]);
	close(g_xs[1]);
	if (saved_objects >= 0) {
		write_long(PARAMS "max_user_objects", saved_objects);
		write_long(PARAMS "max_user_bytes", saved_bytes);
	}
	thp_restore();
	orphans_sweep();
	fs_teardown();
	leak_check(base_objects, base_bytes);
	kmsg_scan();
	drain_msgs();
	corpus_save();
	kinds_report();
	if (O.verbose)
		print_results();
	if (SH->kcov && O.verbose)
		coverage_report();
	{
		uint64_t ops = atomic_load(&SH->total_ops);
		double secs = (end - t0) / 1e9;
		char cov[64];

		if (SH->kcov)
			snprintf(cov, sizeof(cov), "%" PRIu64 " module PCs",
				 atomic_load(&SH->cov_pcs));
		else
			snprintf(cov, sizeof(cov), "no kcov");
		struct rusage ru;

		getrusage(RUSAGE_CHILDREN, &ru);
		printf("fuzz: workers used %.1f s user, %.1f s system CPU\n",
		       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
		       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
		printf("fuzz: %.0f ops/s; %" PRIu64 " kills, %" PRIu64 " respawns, %" PRIu64 " stops, %" PRIu64 " signals, %" PRIu64 " pools, %" PRIu64 " limit flips; %" PRIu64 " limit hits (ENOMEM/EMFILE), %" PRIu64 " guarded faults, %" PRIu64 " overruns excused (stop/stall), corpus %u\n",
		       ops / secs, st.kills, st.respawns, st.stops, st.signals,
		       st.pools, st.limit_flips, atomic_load(&SH->limit_hits),
		       atomic_load(&SH->faults), atomic_load(&SH->excused),
		       atomic_load(&SH->corpus_n) < NCORPUS ?
		       atomic_load(&SH->corpus_n) : NCORPUS);
		printf("fuzz: seed %" PRIu64 ", %" PRIu64 " ops, %d procs, %.0f s, %s, %d invariant failures\n",
		       O.seed, ops, O.procs, secs, cov, atomic_load(&SH->failures));
	}
	return atomic_load(&SH->failures) ? 1 : 0;
}
