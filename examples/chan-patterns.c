// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * chan-patterns: Go's channel signalling patterns, across processes.
 *
 *   delivery     an unbuffered send returns only once the receiver has
 *                the value: the sender knows its work was handed over
 *   fan-out      N workers, a result buffer of exactly N: no worker ever
 *                blocks on sending its result
 *   drop         a producer faster than its consumer sends without
 *                waiting and counts what it had to drop
 *   timeout      a receive (or a select) that gives up at a deadline
 *   cancel       workers select on work and on a "done" channel; closing
 *                done stops every one of them at once
 *
 * Each prints one line; the program exits 0 when every pattern behaved.
 * Without the module it runs in standalone mode.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gosync.h>

static unsigned int mode;

static struct gosync_chan *chan(size_t elem, size_t cap)
{
	struct gosync_chan *ch;

	if (gosync_chan_make(&ch, elem, cap, mode))
		exit(1);
	return ch;
}

static int wait_all(int n)
{
	int bad = 0, st;

	while (n-- > 0)
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	return bad;
}

/* Unbuffered: the send returns once the other process took the value. */
static int delivery(void)
{
	struct gosync_chan *ch = chan(sizeof(int64_t), 0);
	int64_t handed_at = 0, took_at;

	if (fork() == 0) {
		usleep(50000);		/* the receiver is slow to come */
		if (gosync_chan_recv(ch, &took_at, GOSYNC_FOREVER) != 1)
			_exit(1);
		_exit(0);
	}
	handed_at = gosync_now();
	if (gosync_chan_send(ch, &handed_at, GOSYNC_FOREVER))
		return 1;
	printf("delivery: send returned after %.1f ms, once the receiver "
	       "had the value\n", (gosync_now() - handed_at) / 1e6);
	gosync_chan_free(ch);
	return wait_all(1);
}

/* Fan-out: a buffer of exactly the number of workers. */
static int fan_out(void)
{
	enum { WORKERS = 8 };
	struct gosync_chan *results = chan(sizeof(int64_t), WORKERS);
	int64_t sum = 0, r;

	for (int64_t w = 1; w <= WORKERS; w++) {
		if (fork() == 0) {
			r = w * w;
			/* Never waits: there is a slot for every worker. */
			_exit(gosync_chan_send(results, &r, GOSYNC_NONBLOCK) ? 1 : 0);
		}
	}
	for (int i = 0; i < WORKERS; i++) {
		if (gosync_chan_recv(results, &r, GOSYNC_FOREVER) != 1)
			return 1;
		sum += r;
	}
	printf("fan-out: %d workers, %d results, sum of squares %" PRId64 "\n",
	       WORKERS, WORKERS, sum);
	gosync_chan_free(results);
	return wait_all(WORKERS) || sum != 204;
}

/* Drop: send without waiting; count what did not fit. */
static int drop(void)
{
	struct gosync_chan *ch = chan(sizeof(int64_t), 16);
	int64_t sent = 0, dropped = 0, v;

	if (fork() == 0) {
		/* A slow consumer. */
		while (gosync_chan_recv(ch, &v, GOSYNC_FOREVER) == 1)
			usleep(100);
		_exit(0);
	}
	for (int64_t i = 0; i < 20000; i++) {
		if (gosync_chan_send(ch, &i, GOSYNC_NONBLOCK) == 0)
			sent++;
		else
			dropped++;
	}
	gosync_chan_close(ch);
	printf("drop: %" PRId64 " sent, %" PRId64 " dropped without waiting\n",
	       sent, dropped);
	gosync_chan_free(ch);
	return wait_all(1) || sent + dropped != 20000;
}

/* Timeout: give up on a receive at a deadline. */
static int timeout(void)
{
	struct gosync_chan *ch = chan(sizeof(int64_t), 1);
	int64_t start = gosync_now(), v;
	int ret = gosync_chan_recv(ch, &v, gosync_after(100 * 1000000LL));

	printf("timeout: receive gave up after %.0f ms: %s\n",
	       (gosync_now() - start) / 1e6, strerror(-ret));
	gosync_chan_free(ch);
	return ret != -ETIMEDOUT;
}

/* Cancel: workers select on their work and on "done"; closing done stops them. */
static int cancel(void)
{
	enum { WORKERS = 4 };
	struct gosync_chan *done = chan(1, 0), *work = chan(sizeof(int64_t), 0);
	int64_t job;
	char x;

	for (int w = 0; w < WORKERS; w++) {
		if (fork() == 0) {
			struct gosync_case c[2] = {
				{ .ch = work, .op = GOSYNC_RECV, .elem = &job },
				{ .ch = done, .op = GOSYNC_RECV, .elem = &x },
			};

			/* Take jobs until done is closed. */
			while (gosync_select(c, 2, GOSYNC_FOREVER) == 0)
				;
			_exit(c[1].ok == 0 ? 0 : 1);
		}
	}
	for (job = 0; job < 10; job++)
		gosync_chan_send(work, &job, GOSYNC_FOREVER);
	gosync_chan_close(done);
	printf("cancel: 10 jobs handed out, then done closed; ");
	int bad = wait_all(WORKERS);

	printf("%d of %d workers stopped\n", WORKERS - bad, WORKERS);
	gosync_chan_free(done);
	gosync_chan_free(work);
	return bad;
}

/* Timeout as a select case: the first of a reply and a deadline. */
static int select_timeout(void)
{
	struct gosync_chan *reply = chan(sizeof(int64_t), 1);
	int64_t v;
	struct gosync_case c = { .ch = reply, .op = GOSYNC_RECV, .elem = &v };
	int ret = gosync_select(&c, 1, gosync_after(50 * 1000000LL));

	printf("select timeout: no reply within 50 ms: %s\n", strerror(-ret));
	gosync_chan_free(reply);
	return ret != -ETIMEDOUT;
}

int main(void)
{
	struct gosync_chan *probe;
	int bad = 0;

	if (gosync_chan_make(&probe, 1, 1, 0) == -ENODEV)
		mode = GOSYNC_STANDALONE;
	else
		gosync_chan_free(probe);
	printf("(%s mode)\n", mode ? "standalone" : "kernel");
	setvbuf(stdout, NULL, _IONBF, 0);
	bad += delivery();
	bad += fan_out();
	bad += drop();
	bad += timeout();
	bad += select_timeout();
	bad += cancel();
	return bad ? 1 : 0;
}
