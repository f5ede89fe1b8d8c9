// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * select-epoll: one event loop waits on two channels and a TCP socket.
 *
 * Two producer processes send "ticks" and "jobs" into two channels through
 * the fast path, at their own pace; a third process talks to us over TCP
 * on loopback.  The loop blocks in epoll_wait() (edge-triggered) on all
 * three fds and drains whichever became ready: no busy-waiting, and no
 * thread per source.  Needs the module (channel fds are pollable in kernel
 * mode only).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* accept4() */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gosync.h>

#define TICKS	20
#define JOBS	30
#define LINES	10
#define BATCH	16

static void producer(struct gosync_chan *ch, int n, int every_us, int base)
{
	for (int i = 0; i < n; i++) {
		int64_t v = base + i;

		usleep(every_us);
		if (gosync_chan_send(ch, &v, GOSYNC_FOREVER))
			_exit(1);
	}
	gosync_chan_close(ch);
	_exit(0);
}

static void client(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	char line[32];

	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
		_exit(1);
	for (int i = 0; i < LINES; i++) {
		int n = snprintf(line, sizeof(line), "line %d\n", i);

		usleep(7000);
		if (write(s, line, n) != n)
			_exit(1);
	}
	close(s);
	_exit(0);
}

int main(void)
{
	struct gosync_chan *ticks, *jobs;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int ep, lsock, conn = -1, ret, open = 3, waits = 0;

	/* open: ticks, jobs and the TCP connection, until each has ended. */
	int got_ticks = 0, got_jobs = 0, got_bytes = 0;
	struct epoll_event ev;
	struct rusage ru;

	ret = gosync_chan_make(&ticks, sizeof(int64_t), 1, 0);
	if (ret == -ENODEV) {
		printf("select-epoll: needs the gosync module (channel fds are "
		       "pollable in kernel mode)\n");
		return 0;
	}
	if (ret || gosync_chan_make(&jobs, sizeof(int64_t), 4, 0))
		return 1;
	lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lsock, 1) || getsockname(lsock, (struct sockaddr *)&a, &alen))
		return 1;

	if (fork() == 0)
		producer(ticks, TICKS, 10000, 0);
	if (fork() == 0)
		producer(jobs, JOBS, 4000, 1000);
	if (fork() == 0)
		client(ntohs(a.sin_port));

	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u32 = 0;
	epoll_ctl(ep, EPOLL_CTL_ADD, gosync_chan_fd(ticks), &ev);
	ev.data.u32 = 1;
	epoll_ctl(ep, EPOLL_CTL_ADD, gosync_chan_fd(jobs), &ev);
	ev.data.u32 = 3;
	epoll_ctl(ep, EPOLL_CTL_ADD, lsock, &ev);

	while (open > 0) {
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, 10000);

		if (n <= 0)
			break;
		waits++;
		for (int i = 0; i < n; i++) {
			struct gosync_chan *ch = evs[i].data.u32 ? jobs : ticks;
			int64_t batch[BATCH];
			char buf[256];
			ssize_t r;

			if (evs[i].data.u32 == 3) {
				/* The client connects: watch the connection. */
				conn = accept4(lsock, NULL, NULL,
					       SOCK_NONBLOCK | SOCK_CLOEXEC);
				ev.data.u32 = 2;
				if (conn >= 0)
					epoll_ctl(ep, EPOLL_CTL_ADD, conn, &ev);
				continue;
			}
			if (evs[i].data.u32 == 2) {
				/* Edge-triggered: read until EAGAIN or EOF. */
				while ((r = read(conn, buf, sizeof(buf))) > 0)
					got_bytes += r;
				if (r == 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, conn, NULL);
					open--;
				}
				continue;
			}
			/*
			 * Edge-triggered: take batches until -EAGAIN (empty
			 * and open: the next send makes the next edge) or 0
			 * (closed and drained).  A short batch is not enough:
			 * a close that comes with the last elements makes one
			 * edge only, and the 0 comes from the next call.
			 */
			while ((ret = gosync_chan_recv_n(ch, batch, BATCH,
							 GOSYNC_NONBLOCK)) > 0)
				*(ch == ticks ? &got_ticks : &got_jobs) += ret;
			if (ret == 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, gosync_chan_fd(ch), NULL);
				open--;
			}
		}
	}
	while (wait(NULL) > 0)
		;
	getrusage(RUSAGE_SELF, &ru);
	printf("one epoll loop: %d ticks, %d jobs, %d bytes from TCP, in %d "
	       "wakeups; %.3f s of CPU (no busy-waiting)\n", got_ticks,
	       got_jobs, got_bytes, waits,
	       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	gosync_chan_free(ticks);
	gosync_chan_free(jobs);
	return got_ticks == TICKS && got_jobs == JOBS && open == 0 ? 0 : 1;
}
