// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * What can be known of a name without changing anything.
 *
 * Kernel mode: stat(2) of MOUNT/name, then the object's own report in
 * /proc/self/fdinfo of an fd opened O_RDONLY | O_NONBLOCK.  A read-only
 * open is a receive-only end of a channel: it never counts as an end that
 * can send (gosync(4), auto-close), takes nothing and maps nothing, so
 * looking changes nothing.  Without read permission the object's fields
 * are unknown ('?'), which is not an error.
 *
 * Standalone mode: stat(2) of the file in the directory, and what the
 * library can tell of a handle (shape, length); what only the kernel
 * keeps (waiters, ends, totals) has no value ('-').
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void cli_facts_init(struct cli_facts *f, long long chan_unknown)
{
	memset(f, 0, sizeof(*f));
	f->kind = CLI_KIND_NONE;
	f->elem_size = f->cap = f->len = f->closed = chan_unknown;
	f->wait_recv = f->wait_send = f->send_ends = chan_unknown;
	f->autoclose = f->sent = f->received = chan_unknown;
	f->mappings = chan_unknown;
	strcpy(f->state, chan_unknown == CLI_NA ? "-" : "?");
}

/* A channel's fields are not a sync object's. */
static void cli_facts_not_chan(struct cli_facts *f)
{
	f->elem_size = f->cap = f->len = f->closed = CLI_NA;
	f->wait_recv = f->wait_send = f->send_ends = CLI_NA;
	f->autoclose = f->sent = f->received = CLI_NA;
}

/* Parse the gosync-* lines of /proc/self/fdinfo/@fd into @f. */
int cli_fdinfo_read(int fd, struct cli_facts *f)
{
	char path[64], line[256], word[32];
	long long a, b, ctx_err = 0, ctx_cause = 0;
	bool any = false;
	FILE *in;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	in = fopen(path, "re");
	if (!in)
		return -errno;
	while (fgets(line, sizeof(line), in)) {
		if (strncmp(line, "gosync-", 7))
			continue;
		any = true;
		if (sscanf(line, "gosync-kind: %31s", word) == 1) {
			f->kind = cli_kind_parse(word);
		} else if (sscanf(line, "gosync-elem-size: %lld", &a) == 1) {
			f->elem_size = a;
		} else if (sscanf(line, "gosync-cap: %lld", &a) == 1) {
			f->cap = a;
		} else if (sscanf(line, "gosync-len: %lld", &a) == 1) {
			f->len = a;
		} else if (sscanf(line, "gosync-closed: %lld", &a) == 1) {
			f->closed = a;
		} else if (sscanf(line, "gosync-waiting: %lld %lld", &a, &b) == 2) {
			f->wait_recv = a;
			f->wait_send = b;
		} else if (sscanf(line, "gosync-ends: %lld", &a) == 1) {
			f->send_ends = a;
		} else if (sscanf(line, "gosync-autoclose: %lld", &a) == 1) {
			f->autoclose = a;
		} else if (sscanf(line, "gosync-sent: %lld", &a) == 1) {
			f->sent = a;
		} else if (sscanf(line, "gosync-received: %lld", &a) == 1) {
			f->received = a;
		} else if (sscanf(line, "gosync-mappings: %lld", &a) == 1) {
			f->mappings = a;
		} else if (sscanf(line, "gosync-state: %31s", word) == 1) {
			snprintf(f->state, sizeof(f->state), "%s", word);
		} else if (sscanf(line, "gosync-err: %lld", &a) == 1) {
			ctx_err = a;
		} else if (sscanf(line, "gosync-cause: %lld", &a) == 1) {
			ctx_cause = a;
		}
	}
	fclose(in);
	if (!any)
		return -ENOTTY;	/* not a gosync object's fd */
	if (f->kind != CLI_KIND_CHAN)
		cli_facts_not_chan(f);
	else
		strcpy(f->state, "-");
	/* A context: "live", or its error and cause ("ECANCELED:EPIPE"). */
	if (f->kind == CLI_KIND_CTX && !ctx_err)
		strcpy(f->state, "live");
	else if (f->kind == CLI_KIND_CTX)
		snprintf(f->state, sizeof(f->state), "%s:%s",
			 cli_errname((int)ctx_err), cli_errname((int)ctx_cause));
	return 0;
}

static void cli_facts_kernel(const struct cli *c, const char *base,
			     struct cli_facts *f)
{
	char path[4096];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", c->dir, base);
	if (stat(path, &f->st))
		f->stat_err = errno;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		f->open_err = errno;
		return;
	}
	ret = cli_fdinfo_read(fd, f);
	if (ret < 0)
		f->open_err = -ret;
	close(fd);
}

/* Standalone: the kinds one after the other, until one opens. */
static int cli_open_sync(const char *name, enum cli_kind kind)
{
	union {
		struct gosync_wg *wg;
		struct gosync_mutex *m;
		struct gosync_rwmutex *rw;
		struct gosync_once *once;
		struct gosync_cond *cond;
	} u;
	int ret = -EINVAL;

	switch (kind) {
	case CLI_KIND_WG:
		ret = gosync_wg_open(&u.wg, name, O_RDWR, 0, GOSYNC_STANDALONE);
		if (!ret)
			gosync_wg_free(u.wg);
		break;
	case CLI_KIND_MUTEX:
		ret = gosync_mutex_open(&u.m, name, O_RDWR, 0, GOSYNC_STANDALONE);
		if (!ret)
			gosync_mutex_free(u.m);
		break;
	case CLI_KIND_RWMUTEX:
		ret = gosync_rwmutex_open(&u.rw, name, O_RDWR, 0, GOSYNC_STANDALONE);
		if (!ret)
			gosync_rwmutex_free(u.rw);
		break;
	case CLI_KIND_ONCE:
		ret = gosync_once_open(&u.once, name, O_RDWR, 0, GOSYNC_STANDALONE);
		if (!ret)
			gosync_once_free(u.once);
		break;
	case CLI_KIND_COND:
		ret = gosync_cond_open(&u.cond, name, O_RDWR, 0, GOSYNC_STANDALONE);
		if (!ret)
			gosync_cond_free(u.cond);
		break;
	default:
		break;
	}
	return ret;
}

static void cli_facts_standalone(const struct cli *c, const char *base,
				 struct cli_facts *f)
{
	char path[4096], name[GOSYNC_NAME_MAX + 2];
	struct gosync_chan *ch;
	int ret, k;

	snprintf(path, sizeof(path), "%s/%s", c->dir, base);
	snprintf(name, sizeof(name), "/%s", base);
	if (stat(path, &f->st))
		f->stat_err = errno;
	f->elem_size = f->cap = f->len = CLI_UNKNOWN;
	ret = gosync_chan_open(&ch, name, O_RDWR | O_CLOEXEC, 0, 0, 0,
			       GOSYNC_STANDALONE);
	if (!ret) {
		f->kind = CLI_KIND_CHAN;
		f->elem_size = (long long)gosync_chan_elem_size(ch);
		f->cap = (long long)gosync_chan_cap(ch);
		f->len = (long long)gosync_chan_len(ch);
		gosync_chan_free(ch);
		return;
	}
	if (ret == -EMEDIUMTYPE) {
		for (k = CLI_KIND_WG; k <= CLI_KIND_COND; k++) {
			if (!cli_open_sync(name, k)) {
				f->kind = k;
				f->elem_size = f->cap = f->len = CLI_NA;
				return;
			}
		}
	}
	f->open_err = -ret;
}

void cli_facts_get(const struct cli *c, const char *base, struct cli_facts *f)
{
	if (c->standalone) {
		cli_facts_init(f, CLI_NA);
		cli_facts_standalone(c, base, f);
	} else {
		cli_facts_init(f, CLI_UNKNOWN);
		cli_facts_kernel(c, base, f);
	}
}

void cli_fmt_num(char *buf, size_t len, long long v)
{
	if (v == CLI_UNKNOWN)
		snprintf(buf, len, "?");
	else if (v == CLI_NA)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%lld", v);
}

void cli_fmt_bool(char *buf, size_t len, long long v)
{
	if (v < 0)
		cli_fmt_num(buf, len, v);
	else
		snprintf(buf, len, "%s", v ? "yes" : "no");
}

/* As ls -l: "-rw-rw-r--" (buf: 11 bytes). */
void cli_fmt_mode(char *buf, mode_t mode)
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	buf[0] = S_ISREG(mode) ? '-' : S_ISDIR(mode) ? 'd' : '?';
	for (i = 0; i < 9; i++)
		buf[1 + i] = mode & (0400 >> i) ? rwx[i] : '-';
	if (mode & S_ISUID)
		buf[3] = mode & S_IXUSR ? 's' : 'S';
	if (mode & S_ISGID)
		buf[6] = mode & S_IXGRP ? 's' : 'S';
	if (mode & S_ISVTX)
		buf[9] = mode & S_IXOTH ? 't' : 'T';
	buf[10] = '\0';
}
