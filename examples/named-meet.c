// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * named-meet: two unrelated programs meet by name.
 *
 *   $ named-meet                  run both sides: make a name, start a
 *                                 separate consumer program, produce
 *   $ named-meet produce NAME [N] make NAME (auto-close) and send N jobs
 *   $ named-meet consume NAME     open NAME receive-only and print jobs
 *                                 until the channel is closed
 *
 * With no arguments the producer makes a channel named
 * /named-meet.<pid> with GOSYNC_AUTOCLOSE and starts the consumer with
 * posix_spawn(3) - a new program image that inherits no gosync fd (every
 * fd here is O_CLOEXEC) and finds the channel by its name only.  The
 * producer's end is send-only and the consumer's receive-only, as Go's
 * chan<- and <-chan.  When the producer frees its end, the last end that
 * can send is gone: the kernel closes the channel, and the consumer,
 * having drained every job, sees the close and exits.  The name is then
 * removed (names outlive processes until unlinked, like files).
 *
 * Kernel mode only (directional ends and auto-close are the kernel's);
 * the gosync filesystem must be mounted at /run/gosync or $GOSYNC_FS.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gosync.h>

extern char **environ;

struct job {
	char text[32];
};

static int consume(const char *name)
{
	struct gosync_chan *ch;
	struct job j;
	int ret, n = 0;

	ret = gosync_chan_open(&ch, name, O_RDONLY | O_CLOEXEC, 0,
			       sizeof(j), 0, 0);
	if (ret) {
		fprintf(stderr, "consume: open %s: %s\n", name, strerror(-ret));
		return 1;
	}
	while ((ret = gosync_chan_recv(ch, &j, GOSYNC_FOREVER)) == 1) {
		printf("  consumer %d got \"%.*s\"\n", (int)getpid(),
		       (int)sizeof(j.text), j.text);
		n++;
	}
	gosync_chan_free(ch);
	if (ret) {
		fprintf(stderr, "consume: recv: %s\n", strerror(-ret));
		return 1;
	}
	printf("  consumer: channel closed after %d jobs\n", n);
	return 0;
}

static int produce(const char *name, int n, int spawn_consumer,
		   const char *self)
{
	struct gosync_chan *ch;
	pid_t pid = 0;
	int ret, st;

	ret = gosync_chan_open(&ch, name,
			       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600,
			       sizeof(struct job), 8, GOSYNC_AUTOCLOSE);
	if (ret == -ENODEV || ret == -EOPNOTSUPP) {
		printf("named-meet: needs the gosync module and its "
		       "filesystem (%s)\n", strerror(-ret));
		return 0;
	}
	if (ret) {
		fprintf(stderr, "produce: make %s: %s\n", name, strerror(-ret));
		return 1;
	}
	printf("producer %d made %s (send-only end, auto-close)\n",
	       (int)getpid(), name);
	if (spawn_consumer) {
		char *argv[] = { (char *)self, "consume", (char *)name, NULL };

		ret = posix_spawn(&pid, self, NULL, NULL, argv, environ);
		if (ret) {
			fprintf(stderr, "produce: spawn: %s\n", strerror(ret));
			gosync_chan_free(ch);
			gosync_unlink(name);
			return 1;
		}
		printf("started consumer %d: it shares no fd, only the name\n",
		       (int)pid);
	}
	for (int i = 0; i < n; i++) {
		struct job j = { { 0 } };

		snprintf(j.text, sizeof(j.text), "job %d of %d", i + 1, n);
		ret = gosync_chan_send(ch, &j, GOSYNC_FOREVER);
		if (ret) {
			fprintf(stderr, "produce: send: %s\n", strerror(-ret));
			break;
		}
	}
	/* The last end that can send: the kernel closes the channel now. */
	gosync_chan_free(ch);
	printf("producer: sent %d jobs and let go of its end\n", n);
	if (!spawn_consumer)
		return ret ? 1 : 0;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		ret = -ECHILD;
	gosync_unlink(name);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	char name[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "consume"))
		return consume(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "produce"))
		return produce(argv[2], argc > 3 ? atoi(argv[3]) : 5, 0, NULL);
	if (argc != 1) {
		fprintf(stderr, "usage: named-meet [produce NAME [N] | consume NAME]\n");
		return 2;
	}
	snprintf(name, sizeof(name), "/named-meet.%d", (int)getpid());
	return produce(name, 5, 1, "/proc/self/exe");
}
