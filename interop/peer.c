// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * interop/peer: the C side of the cross-language tests (python/tests;
 * go/cmd/peer is their Go side, python/tests/interop_peer.py their
 * Python side).  Every element is a struct peer_msg: a producer's id and
 * its sequence number, little-endian, 8 bytes.
 *
 *   peer produce FD ID N [DELAY_US]  send (ID, 0..N-1) on the channel at FD
 *   peer consume FD                  receive until closed; print "ID SEQ"
 *                                    per element, then "closed"
 *   peer select FD...                as consume, over several channels with
 *                                    gosync_select; "IDX ID SEQ" lines; ends
 *                                    when every channel is closed
 *   peer wg FD N                     N times: gosync_wg_done
 *   peer lock FD SHM N               N times: lock the mutex at FD, add one
 *                                    to the 64-bit counter at the start of
 *                                    the shared file SHM (an fd, mapped),
 *                                    unlock
 *
 * The fds are inherited (kernel or standalone objects, gosync_*_from_fd).
 * Exit status 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <gosync.h>

struct peer_msg {
	uint32_t id;
	uint32_t seq;
};

static int fail(const char *what, int r)
{
	fprintf(stderr, "peer: %s: %s\n", what, strerror(-r));
	return 1;
}

static int open_chan(struct gosync_chan **ch, const char *fd)
{
	int r = gosync_chan_from_fd(ch, atoi(fd), GOSYNC_CLOEXEC);

	if (r)
		return fail("gosync_chan_from_fd", r);
	if (gosync_chan_elem_size(*ch) != sizeof(struct peer_msg)) {
		fprintf(stderr, "peer: elements of %zu bytes, not %zu\n",
			gosync_chan_elem_size(*ch), sizeof(struct peer_msg));
		return 1;
	}
	return 0;
}

static int produce(char **argv, int argc)
{
	struct gosync_chan *ch;
	struct peer_msg m;
	long n = atol(argv[2]);
	long delay = argc > 3 ? atol(argv[3]) : 0;
	int r;

	if (open_chan(&ch, argv[0]))
		return 1;
	m.id = (uint32_t)atol(argv[1]);
	for (long i = 0; i < n; i++) {
		m.seq = (uint32_t)i;
		do
			r = gosync_chan_send(ch, &m, GOSYNC_FOREVER);
		while (r == -EINTR);
		if (r)
			return fail("gosync_chan_send", r);
		if (delay) {
			struct timespec ts = { 0, delay * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	gosync_chan_free(ch);
	return 0;
}

static int consume(char **argv)
{
	struct gosync_chan *ch;
	struct peer_msg m;
	int r;

	if (open_chan(&ch, argv[0]))
		return 1;
	for (;;) {
		do
			r = gosync_chan_recv(ch, &m, GOSYNC_FOREVER);
		while (r == -EINTR);
		if (r < 0)
			return fail("gosync_chan_recv", r);
		if (r == 0)
			break;
		printf("%u %u\n", m.id, m.seq);
	}
	printf("closed\n");
	gosync_chan_free(ch);
	return fflush(stdout) ? 1 : 0;
}

static int do_select(char **argv, int argc)
{
	struct gosync_case cases[16];
	struct gosync_chan *ch[16];
	struct peer_msg m[16];
	int open = argc, r;

	if (argc > 16)
		return fail("select", -E2BIG);
	memset(cases, 0, sizeof(cases));
	for (int i = 0; i < argc; i++) {
		if (open_chan(&ch[i], argv[i]))
			return 1;
		cases[i] = (struct gosync_case){
			.ch = ch[i], .op = GOSYNC_RECV, .elem = &m[i], .fd = -1,
		};
	}
	while (open > 0) {
		do
			r = gosync_select(cases, argc, GOSYNC_FOREVER);
		while (r == -EINTR);
		if (r < 0)
			return fail("gosync_select", r);
		if (!cases[r].ok) {
			cases[r].ch = NULL;	/* Go's nil channel: never again */
			open--;
			continue;
		}
		printf("%d %u %u\n", r, m[r].id, m[r].seq);
	}
	printf("closed\n");
	for (int i = 0; i < argc; i++)
		gosync_chan_free(ch[i]);
	return fflush(stdout) ? 1 : 0;
}

static int wg(char **argv)
{
	struct gosync_wg *w;
	long n = atol(argv[1]);
	int r = gosync_wg_from_fd(&w, atoi(argv[0]), GOSYNC_CLOEXEC);

	if (r)
		return fail("gosync_wg_from_fd", r);
	for (long i = 0; i < n; i++) {
		r = gosync_wg_done(w);
		if (r)
			return fail("gosync_wg_done", r);
	}
	gosync_wg_free(w);
	return 0;
}

static int lock(char **argv)
{
	struct gosync_mutex *m;
	volatile uint64_t *counter;
	long n = atol(argv[2]);
	int r = gosync_mutex_from_fd(&m, atoi(argv[0]), GOSYNC_CLOEXEC);
	void *p;

	if (r)
		return fail("gosync_mutex_from_fd", r);
	p = mmap(NULL, sizeof(*counter), PROT_READ | PROT_WRITE, MAP_SHARED,
		 atoi(argv[1]), 0);
	if (p == MAP_FAILED)
		return fail("mmap SHM", -errno);
	/*
	 * A plain load and store, not an atomic add: only the mutex keeps
	 * the other processes' increments from being lost.
	 */
	counter = p;
	for (long i = 0; i < n; i++) {
		do
			r = gosync_mutex_lock(m, GOSYNC_FOREVER);
		while (r == -EINTR);
		if (r)
			return fail("gosync_mutex_lock", r);
		*counter = *counter + 1;
		r = gosync_mutex_unlock(m);
		if (r)
			return fail("gosync_mutex_unlock", r);
	}
	munmap(p, sizeof(*counter));
	gosync_mutex_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "produce"))
		return produce(argv + 2, argc - 2);
	if (argc == 3 && !strcmp(argv[1], "consume"))
		return consume(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "select"))
		return do_select(argv + 2, argc - 2);
	if (argc == 4 && !strcmp(argv[1], "wg"))
		return wg(argv + 2);
	if (argc == 5 && !strcmp(argv[1], "lock"))
		return lock(argv + 2);
	fprintf(stderr,
		"usage: peer produce FD ID N [DELAY_US] | consume FD | select FD... | wg FD N | lock FD SHM N\n");
	return 2;
}
