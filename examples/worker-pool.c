// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * worker-pool: a pool of worker processes joined by a WaitGroup.
 *
 * Jobs go out on an unbuffered channel (a worker takes a job only when it
 * is free: guaranteed hand-over, no queue to size); each worker sends its
 * results on a channel with one slot per worker, so finishing never waits
 * on the collector, and calls Done when the jobs channel is closed.  The
 * parent waits for the group, then closes the results.  Shared setup
 * runs once, in whichever worker gets there first (a Once); a Mutex
 * guards a tally in a shared page.  Runs in standalone mode without the
 * module.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gosync.h>

#define WORKERS	4
#define JOBS	200

struct tally {
	int64_t jobs_done[WORKERS];
	int setups;
};

static struct tally *tally;

static void setup(void *arg)
{
	(void)arg;
	tally->setups++;	/* runs once, whoever calls first */
}

static int worker(int id, struct gosync_chan *jobs, struct gosync_chan *results,
		  struct gosync_wg *wg, struct gosync_once *once,
		  struct gosync_mutex *mu)
{
	int64_t job, result;

	if (gosync_once_do(once, setup, NULL) < 0)
		return 1;
	while (gosync_chan_recv(jobs, &job, GOSYNC_FOREVER) == 1) {
		result = job * job;
		if (gosync_chan_send(results, &result, GOSYNC_FOREVER))
			return 1;
		if (gosync_mutex_lock(mu, GOSYNC_FOREVER) < 0)
			return 1;
		tally->jobs_done[id]++;
		gosync_mutex_unlock(mu);
	}
	return gosync_wg_done(wg) ? 1 : 0;
}

int main(void)
{
	struct gosync_chan *jobs, *results;
	struct gosync_wg *wg;
	struct gosync_once *once;
	struct gosync_mutex *mu;
	unsigned int mode = 0;
	int64_t sum = 0, want = 0, r;
	int got = 0, bad = 0;

	tally = mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tally == MAP_FAILED)
		return 1;
	if (gosync_wg_make(&wg, 0) == -ENODEV)
		mode = GOSYNC_STANDALONE;
	if ((mode && gosync_wg_make(&wg, mode)) ||
	    gosync_chan_make(&jobs, sizeof(int64_t), 0, mode) ||
	    gosync_chan_make(&results, sizeof(int64_t), WORKERS, mode) ||
	    gosync_once_make(&once, mode) || gosync_mutex_make(&mu, mode))
		return 1;

	gosync_wg_add(wg, WORKERS);
	for (int i = 0; i < WORKERS; i++)
		if (fork() == 0)
			_exit(worker(i, jobs, results, wg, once, mu));

	/* Hand out the jobs while collecting results as they come. */
	for (int64_t j = 1; j <= JOBS; j++) {
		struct gosync_case c[2] = {
			{ .ch = jobs, .op = GOSYNC_SEND, .elem = &j },
			{ .ch = results, .op = GOSYNC_RECV, .elem = &r },
		};

		want += j * j;
		for (;;) {
			int k = gosync_select(c, 2, GOSYNC_FOREVER);

			if (k == 1) {
				sum += r;
				got++;
				continue;
			}
			if (k != 0)
				return 1;
			break;
		}
	}
	gosync_chan_close(jobs);
	/* Drain results until every worker is done, then the rest. */
	while (gosync_wg_wait(wg, GOSYNC_NONBLOCK) == -EAGAIN)
		if (gosync_chan_recv(results, &r, gosync_after(1000000)) == 1) {
			sum += r;
			got++;
		}
	gosync_chan_close(results);
	while (gosync_chan_recv(results, &r, GOSYNC_FOREVER) == 1) {
		sum += r;
		got++;
	}
	while (wait(NULL) > 0)
		;
	printf("%s mode: %d workers did %d jobs (", mode ? "standalone" : "kernel",
	       WORKERS, got);
	for (int i = 0; i < WORKERS; i++)
		printf("%s%" PRId64, i ? " + " : "", tally->jobs_done[i]);
	printf("), sum of squares %" PRId64 " (%s), setup ran %d time\n", sum,
	       sum == want ? "right" : "WRONG", tally->setups);
	bad = got != JOBS || sum != want || tally->setups != 1;
	gosync_chan_free(jobs);
	gosync_chan_free(results);
	gosync_wg_free(wg);
	gosync_once_free(once);
	gosync_mutex_free(mu);
	return bad;
}
