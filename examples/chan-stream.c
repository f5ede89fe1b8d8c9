// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * chan-stream: two processes, one channel.  The child streams numbered
 * messages and closes the channel; the parent receives until the close,
 * checks every message, and prints what it got and the rate.
 *
 *   $ chan-stream [messages]      (default 200000)
 *
 * The buffer is 64 elements: with one producer and one consumer on two
 * CPUs, a buffer lets each side run ahead of the other instead of meeting
 * for every message (see "buffers" in libgosync(7)); bench/ shows what
 * capacity buys.  Without the module it runs in standalone mode.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gosync.h>

struct msg {
	uint64_t seq;
	uint64_t check;
	char text[16];
};

static uint64_t check_of(uint64_t seq)
{
	return seq * 0x9e3779b97f4a7c15ULL;
}

static int produce(struct gosync_chan *ch, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		struct msg m = { .seq = i, .check = check_of(i) };
		int ret;

		/* For show: 32 bits of the number fit the text; seq has all. */
		snprintf(m.text, sizeof(m.text), "msg %" PRIu32, (uint32_t)i);
		ret = gosync_chan_send(ch, &m, GOSYNC_FOREVER);
		if (ret) {
			fprintf(stderr, "producer: send: %s\n", strerror(-ret));
			return 1;
		}
	}
	return gosync_chan_close(ch) ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 200000;
	const char *mode = "kernel";
	struct gosync_chan *ch;
	struct rusage ru;
	uint64_t got = 0, bad = 0;
	int64_t start, ns;
	struct msg m;
	int ret, status;
	pid_t pid;

	ret = gosync_chan_make(&ch, sizeof(struct msg), 64, 0);
	if (ret == -ENODEV) {
		mode = "standalone";
		ret = gosync_chan_make(&ch, sizeof(struct msg), 64,
				       GOSYNC_STANDALONE);
	}
	if (ret) {
		fprintf(stderr, "chan-stream: %s\n", strerror(-ret));
		return 1;
	}

	start = gosync_now();
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		_exit(produce(ch, n));

	while ((ret = gosync_chan_recv(ch, &m, GOSYNC_FOREVER)) == 1) {
		if (m.seq != got || m.check != check_of(got))
			bad++;
		if (got < 3 || got + 3 >= n)
			printf("  received seq %-8" PRIu64 " \"%s\"\n", m.seq, m.text);
		else if (got == 3)
			printf("  ...\n");
		got++;
	}
	ns = gosync_now() - start;
	waitpid(pid, &status, 0);
	getrusage(RUSAGE_SELF, &ru);

	printf("%s mode: %" PRIu64 " messages of %zu bytes in %.3f s: "
	       "%.0f msg/s; receive ended: %s\n", mode, got, sizeof(m),
	       ns / 1e9, got / (ns / 1e9),
	       ret == 0 ? "channel closed" : strerror(-ret));
	printf("receiver: %ld voluntary context switches for %" PRIu64
	       " messages; %" PRIu64 " out of order or corrupt\n",
	       ru.ru_nvcsw, got, bad);
	gosync_chan_free(ch);
	return got == n && !bad && ret == 0 && WIFEXITED(status) &&
	       !WEXITSTATUS(status) ? 0 : 1;
}
