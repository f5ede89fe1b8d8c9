// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libgosync: errgroups, Go's golang.org/x/sync/errgroup across threads
 * and processes.
 *
 * A group is a context of its own (a child of the caller's, or a root)
 * and a count of running tasks, under one mutex.  A task is a thread
 * (gosync_group_go) or a forked process (gosync_group_fork) that runs
 * fn(ctx, arg); the first non-zero result cancels the group's context
 * with that error as the cause, so every other task, in every process,
 * sees it done.  A forked task is watched by a thread of ours that
 * waits for it: its exit status is its result, and a death by a signal
 * fails the group at once (-EOWNERDEAD), whether or not anyone is in
 * gosync_group_wait yet.  Every thread the group starts is joined by
 * gosync_group_wait, so nothing of the group runs after it returns.
 * Task threads run with the caller's signal mask; watchers block all.
 *
 * With GOSYNC_CTX_CANCEL_ON_EXIT the group's context is cancelled when
 * the process that made the group is gone: its forked tasks are then
 * told, not orphaned.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#define GOSYNC_GROUP_FLAGS	(GOSYNC_CTX_CANCEL_ON_EXIT | GOSYNC_CLOEXEC | \
				 GOSYNC_STANDALONE)

/**
 * struct gosync_group - an errgroup
 * @ctx:	the group's context, given to every task
 * @lock:	everything below
 * @cond:	a task ended (running went down)
 * @limit:	tasks that may run at once, or -1
 * @running:	tasks started and not ended
 * @joining:	a gosync_group_wait() is joining threads (another waits)
 * @err:	the first non-zero result, or 0
 * @threads:	every thread started (tasks and watchers), to join
 * @nthreads:	how many are in @threads
 * @cap:	its size
 * @reserved:	slots of @threads promised to starters that dropped the
 *		lock to fork
 */
struct gosync_group {
	struct gosync_ctx *ctx;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int limit;
	int running;
	bool joining;
	int err;
	pthread_t *threads;
	size_t nthreads;
	size_t cap;
	size_t reserved;
};

/* A task's start: what a thread runs, or the pid a watcher waits for. */
struct gosync_group_task {
	struct gosync_group *g;
	int (*fn)(struct gosync_ctx *ctx, void *arg);
	void *arg;
	pid_t pid;
};

int gosync_group_make(struct gosync_group **gp, struct gosync_ctx *parent,
		      unsigned int flags)
{
	GOSYNC_KEEP_ERRNO;
	struct gosync_group *g;
	int ret;

	if (!gp || flags & ~GOSYNC_GROUP_FLAGS)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	ret = gosync_ctx_make(&g->ctx, parent, flags);
	if (ret) {
		free(g);
		return ret;
	}
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->limit = -1;
	*gp = g;
	return 0;
}

struct gosync_ctx *gosync_group_ctx(struct gosync_group *g)
{
	return g ? g->ctx : NULL;
}

int gosync_group_set_limit(struct gosync_group *g, int n)
{
	GOSYNC_KEEP_ERRNO;
	int ret = 0;

	if (!g || n == 0)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	/* As Go, which panics: not while tasks run. */
	if (g->running)
		ret = -EBUSY;
	else
		g->limit = n < 0 ? -1 : n;
	pthread_mutex_unlock(&g->lock);
	return ret;
}

/* A task's result (lock held): the first error cancels the group. */
static void gosync_group_end(struct gosync_group *g, int ret)
{
	if (ret && !g->err) {
		g->err = ret;
		gosync_ctx_cancel(g->ctx, -ret > 0 && -ret <= GOSYNC_CTX_CAUSE_MAX ?
				  -ret : 0);
	}
	g->running--;
	pthread_cond_broadcast(&g->cond);
}

static void *gosync_group_thread(void *arg)
{
	struct gosync_group_task *t = arg;
	struct gosync_group *g = t->g;
	int ret = t->fn(g->ctx, t->arg);

	free(t);
	/* A result outside the errnos is still an error. */
	if (ret > 0 || ret < -GOSYNC_CTX_CAUSE_MAX)
		ret = -EINVAL;
	pthread_mutex_lock(&g->lock);
	gosync_group_end(g, ret);
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/* A forked task's result from its status: exit(0) or exit(errno); a signal. */
static int gosync_group_status(int status)
{
	if (WIFEXITED(status))
		return -WEXITSTATUS(status);
	return -EOWNERDEAD;
}

static void *gosync_group_watch(void *arg)
{
	struct gosync_group_task *t = arg;
	struct gosync_group *g = t->g;
	pid_t pid = t->pid;
	int status = 0, ret;

	free(t);
	while ((ret = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	/* Reaped by someone else (SIGCHLD ignored, a wait(-1)): unknown. */
	ret = ret == pid ? gosync_group_status(status) : -ECHILD;
	pthread_mutex_lock(&g->lock);
	gosync_group_end(g, ret);
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/*
 * Count a task in (lock held): wait for room below the limit unless
 * @try; make room in @threads for its thread.  0, -EAGAIN, -ENOMEM.
 */
static int gosync_group_enter(struct gosync_group *g, bool try)
{
	while (g->limit >= 0 && g->running >= g->limit) {
		if (try)
			return -EAGAIN;
		pthread_cond_wait(&g->cond, &g->lock);
	}
	if (g->nthreads + g->reserved == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 8;
		pthread_t *p = realloc(g->threads, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		g->threads = p;
		g->cap = cap;
	}
	g->running++;
	return 0;
}

/* The task's thread: a task's runs with the caller's signal mask. */
static int gosync_group_thread_start(struct gosync_group *g,
				     struct gosync_group_task *t, bool watch)
{
	sigset_t all, old;
	int ret;

	if (!watch)
		return -pthread_create(&g->threads[g->nthreads], NULL,
				       gosync_group_thread, t);
	/* A watcher of ours takes no signal of the caller's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&g->threads[g->nthreads], NULL,
			      gosync_group_watch, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/*
 * Start @fn: a thread, or a forked process watched by one.  The task is
 * counted before it exists, so a wait cannot miss it; a fork runs with
 * the lock dropped (a program's atfork handlers may take locks of its
 * own), its watcher's slot reserved meanwhile.
 */
static int gosync_group_start(struct gosync_group *g,
			      int (*fn)(struct gosync_ctx *, void *), void *arg,
			      bool try, bool fork_it)
{
	struct gosync_group_task *t;
	int ret;

	if (!g || !fn)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->g = g;
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_lock(&g->lock);
	ret = gosync_group_enter(g, try);
	if (ret)
		goto out;
	if (fork_it) {
		g->reserved++;
		pthread_mutex_unlock(&g->lock);
		t->pid = fork();
		if (t->pid == 0) {
			/* The task, in a process of its own: its result is its status. */
			ret = fn(g->ctx, arg);
			_exit(ret < 0 && ret >= -255 ? -ret : ret ? EINVAL : 0);
		}
		ret = t->pid < 0 ? -errno : 0;
		pthread_mutex_lock(&g->lock);
		g->reserved--;
		if (ret) {
			gosync_group_end(g, 0);
			goto out;
		}
	}
	ret = gosync_group_thread_start(g, t, fork_it);
	if (!ret) {
		g->nthreads++;
		t = NULL;
	} else if (fork_it) {
		/* No watcher: the task cannot be waited for; stop it. */
		kill(t->pid, SIGKILL);
		while (waitpid(t->pid, NULL, 0) < 0 && errno == EINTR)
			;
		gosync_group_end(g, 0);
	} else {
		gosync_group_end(g, 0);
	}
out:
	pthread_mutex_unlock(&g->lock);
	free(t);
	return ret;
}

int gosync_group_go(struct gosync_group *g,
		    int (*fn)(struct gosync_ctx *ctx, void *arg), void *arg)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_group_start(g, fn, arg, false, false);
}

int gosync_group_try_go(struct gosync_group *g,
			int (*fn)(struct gosync_ctx *ctx, void *arg), void *arg)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_group_start(g, fn, arg, true, false);
}

int gosync_group_fork(struct gosync_group *g,
		      int (*fn)(struct gosync_ctx *ctx, void *arg), void *arg)
{
	GOSYNC_KEEP_ERRNO;

	return gosync_group_start(g, fn, arg, false, true);
}

/*
 * Every task ended: join what the group started, then cancel its
 * context (Go's Wait: the first error as the cause, else ECANCELED).
 */
int gosync_group_wait(struct gosync_group *g)
{
	GOSYNC_KEEP_ERRNO;
	pthread_t *threads;
	size_t n, i;
	int err;

	if (!g)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	/* Two waiters: the second returns once the first has joined. */
	while (g->running || g->joining)
		pthread_cond_wait(&g->cond, &g->lock);
	threads = g->threads;
	n = g->nthreads;
	g->threads = NULL;
	g->nthreads = 0;
	g->cap = 0;
	g->joining = true;
	pthread_mutex_unlock(&g->lock);
	for (i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	pthread_mutex_lock(&g->lock);
	g->joining = false;
	err = g->err;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	gosync_ctx_cancel(g->ctx, err ? -err : 0);
	return err;
}

void gosync_group_free(struct gosync_group *g)
{
	GOSYNC_KEEP_ERRNO;

	if (!g)
		return;
	gosync_group_wait(g);
	gosync_ctx_free(g->ctx);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
}
