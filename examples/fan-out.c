// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fan-out: a job split over forked workers under an errgroup with a
 * deadline; the first failure cancels the rest.
 *
 * The job is a context with a deadline (the kernel's timer ends it with
 * nobody awake) carrying a request id as a value; the group is a child
 * of it.  Each worker, a process of its own, takes parts from a shared
 * channel and "works" on each (100 ms) until its context is done; one part is bad
 * and its worker fails.  That first error cancels the group's context:
 * every other worker, blocked in a wait bounded by the context, returns
 * at once, and gosync_group_wait() reports the failure.  Then a second
 * run with no bad part shows the deadline doing the cancelling.
 * With the module the contexts are its (a deadline is a kernel timer);
 * without it everything is standalone: the contexts are a tree in a
 * memfd that the workers look at, and a deadline is seen by whoever
 * waits (gosync_ctx_make(3)).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gosync.h>

#define WORKERS	4
#define PARTS	12

struct job {
	struct gosync_chan *parts;	/* part numbers to do */
	struct gosync_chan *log;	/* one line per event, to the parent */
	int bad;			/* the part that fails, or -1 */
};

struct line {
	int32_t worker, part, what;	/* what: 0 done, 1 failed, 2 stopped */
	int32_t err;
};

static int worker_id;
static unsigned int mode;	/* 0 (kernel) or GOSYNC_STANDALONE */

static int say(struct job *j, int part, int what, int err)
{
	struct line l = { worker_id, part, what, err };

	return gosync_chan_send(j->log, &l, gosync_after(5000000000LL));
}

/*
 * 100 ms of "work" on a part, cut short when @ctx is done: a wait on a
 * channel nobody sends on, bounded by a child context with a timeout
 * (Go's WithTimeout).  0 when the work took its time, else @ctx's error.
 */
static int work_on(struct gosync_ctx *ctx, struct gosync_chan *never)
{
	struct gosync_ctx *slice;
	int ret = gosync_ctx_with_deadline(&slice, ctx, gosync_after(100000000),
					   0);

	if (ret)
		return ret;
	gosync_chan_recv_ctx(never, NULL, slice);
	gosync_ctx_free(slice);
	return gosync_ctx_err(ctx);
}

/*
 * A forked worker: parts until the channel is closed or the context is
 * done; then, as in Go, the context's error is its result.
 */
static int work(struct gosync_ctx *ctx, void *arg)
{
	struct job *j = arg;
	struct gosync_chan *never;
	int32_t part;
	int ret;

	if (gosync_chan_make(&never, 0, 0, mode))
		return -ENOMEM;
	for (;;) {
		ret = gosync_chan_recv_ctx(j->parts, &part, ctx);
		if (ret <= 0)
			break;		/* closed (0), or the context's error */
		if (part == j->bad) {
			say(j, part, 1, EBADMSG);
			ret = -EBADMSG;
			break;
		}
		ret = work_on(ctx, never);
		say(j, part, ret ? 2 : 0, -ret);
		if (ret)
			break;
	}
	gosync_chan_free(never);
	return ret < 0 ? ret : 0;
}

/* One job: the group's result (the first error), or another -errno. */
static int run(struct gosync_ctx *root, int bad, int64_t timeout_ns, int *result)
{
	static const char *const whats[] = { "done", "FAILED", "stopped" };
	struct gosync_ctx *job_ctx, *req;
	struct gosync_group *g;
	struct job j = { .bad = bad };
	char id[32];
	size_t len = sizeof(id) - 1;
	struct line l;
	int32_t p;
	int i, ret;

	ret = gosync_ctx_with_deadline(&job_ctx, root, gosync_after(timeout_ns), 0);
	if (ret)
		return ret;
	ret = gosync_ctx_with_value(&req, job_ctx, "request-id", "req-4711", 8);
	if (ret)
		return ret;
	if (gosync_ctx_value(req, "request-id", id, &len) == 0)
		id[len] = 0;
	ret = gosync_chan_make(&j.parts, sizeof(int32_t), PARTS, mode);
	if (!ret)
		ret = gosync_chan_make(&j.log, sizeof(struct line), 4 * PARTS,
				       mode);
	if (!ret)
		ret = gosync_group_make(&g, req, 0);
	if (ret)
		return ret;
	for (p = 0; p < PARTS; p++)
		gosync_chan_send(j.parts, &p, GOSYNC_NONBLOCK);
	gosync_chan_close(j.parts);
	printf("%s: %d parts over %d forked workers, deadline %lld ms%s\n", id,
	       PARTS, WORKERS, (long long)(timeout_ns / 1000000),
	       bad >= 0 ? ", one part bad" : "");
	for (i = 0; i < WORKERS; i++) {
		worker_id = i;
		ret = gosync_group_fork(g, work, &j);
		if (ret)
			return ret;
	}
	ret = gosync_group_wait(g);
	*result = ret;
	gosync_chan_close(j.log);
	while (gosync_chan_recv(j.log, &l, GOSYNC_NONBLOCK) == 1)
		printf("  worker %d: part %2d %s%s%s\n", l.worker, l.part,
		       whats[l.what], l.err ? ": " : "",
		       l.err ? strerror(l.err) : "");
	printf("  group: %s; its context: %s (cause: %s); the job's: %s\n",
	       ret ? strerror(-ret) : "all parts done",
	       strerror(-gosync_ctx_err(gosync_group_ctx(g))),
	       strerror(gosync_ctx_cause(gosync_group_ctx(g))),
	       gosync_ctx_err(job_ctx) ? strerror(-gosync_ctx_err(job_ctx)) :
					 "live");
	gosync_group_free(g);
	gosync_chan_free(j.log);
	gosync_chan_free(j.parts);
	gosync_ctx_free(req);
	gosync_ctx_free(job_ctx);
	return 0;
}

int main(void)
{
	struct gosync_ctx *root;
	int ret = gosync_ctx_make(&root, NULL, 0), first = 0, second = 0;

	if (ret == -EOPNOTSUPP) {
		/* no module (or one without contexts): all standalone */
		mode = GOSYNC_STANDALONE;
		ret = gosync_ctx_make(&root, NULL, mode);
	}
	if (ret) {
		fprintf(stderr, "fan-out: %s\n", strerror(-ret));
		return 1;
	}
	setvbuf(stdout, NULL, _IONBF, 0);	/* forked workers print nothing */
	printf("fan-out: %s mode\n", mode ? "standalone" : "kernel");
	/* 1: part 5 fails, the rest are cancelled; 2: the deadline ends it */
	ret = run(root, 5, 10000000000LL, &first);
	if (!ret)
		ret = run(root, -1, 250000000LL, &second);
	gosync_ctx_free(root);
	if (ret)
		fprintf(stderr, "fan-out: %s\n", strerror(-ret));
	else if (first != -EBADMSG || second != -ETIMEDOUT)
		fprintf(stderr, "fan-out: the groups said %s and %s\n",
			strerror(-first), strerror(-second));
	return ret || first != -EBADMSG || second != -ETIMEDOUT ? 1 : 0;
}
