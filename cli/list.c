// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gosync ls, stat, watch: looking, never touching (see facts.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_no_options(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "standalone", no_argument, NULL, CLI_OPT_STANDALONE },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (opt != CLI_OPT_STANDALONE)
			return cli_bad_option(c, argv);
	return 0;
}

static void cli_user(char *buf, size_t len, uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned int)uid);
}

static void cli_group(char *buf, size_t len, gid_t gid)
{
	struct group *gr = getgrgid(gid);

	if (gr)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "%u", (unsigned int)gid);
}

static int cli_cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in c->dir, sorted; *n of them.  NULL with *err set on failure. */
static char **cli_names(const struct cli *c, size_t *n, int *err)
{
	char **names = NULL, **grown;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	*n = 0;
	d = opendir(c->dir);
	if (!d) {
		*err = errno;
		return NULL;
	}
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* The library's files in the making (standalone). */
		if (c->standalone && !strncmp(de->d_name, ".gosync-tmp.", 12))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown)
				goto nomem;
			names = grown;
		}
		names[*n] = strdup(de->d_name);
		if (!names[*n])
			goto nomem;
		(*n)++;
	}
	closedir(d);
	if (names)
		qsort(names, *n, sizeof(*names), cli_cmpstr);
	else
		names = calloc(1, sizeof(*names));
	if (!names)
		*err = ENOMEM;
	return names;
nomem:
	closedir(d);
	while (*n)
		free(names[--(*n)]);
	free(names);
	*err = ENOMEM;
	return NULL;
}

/* ------------------------------------------------------------------ ls -- */

enum { COL_MODE, COL_OWNER, COL_GROUP, COL_KIND, COL_ELEM, COL_LEN, COL_RECVW,
       COL_SENDW, COL_SENDERS, COL_CLOSED, COL_AUTO, COL_NAME, NCOLS };

static const char *const cli_ls_head[NCOLS] = {
	"MODE", "OWNER", "GROUP", "KIND", "ELEM", "LEN/CAP", "RECV-WAIT",
	"SEND-WAIT", "SENDERS", "CLOSED", "AUTOCLOSE", "NAME",
};

struct cli_row {
	char col[NCOLS][GOSYNC_NAME_MAX + 2];
};

static void cli_ls_row(const struct cli *c, const char *base, struct cli_row *r)
{
	struct cli_facts f;
	char len[24], cap[24];

	cli_facts_get(c, base, &f);
	if (f.stat_err) {
		strcpy(r->col[COL_MODE], "?");
		strcpy(r->col[COL_OWNER], "?");
		strcpy(r->col[COL_GROUP], "?");
	} else {
		cli_fmt_mode(r->col[COL_MODE], f.st.st_mode);
		cli_user(r->col[COL_OWNER], sizeof(r->col[0]), f.st.st_uid);
		cli_group(r->col[COL_GROUP], sizeof(r->col[0]), f.st.st_gid);
	}
	snprintf(r->col[COL_KIND], sizeof(r->col[0]), "%s", cli_kind_name(f.kind));
	cli_fmt_num(r->col[COL_ELEM], sizeof(r->col[0]), f.elem_size);
	cli_fmt_num(len, sizeof(len), f.len);
	cli_fmt_num(cap, sizeof(cap), f.cap);
	if (f.len == CLI_NA && f.cap == CLI_NA)
		strcpy(r->col[COL_LEN], "-");
	else
		snprintf(r->col[COL_LEN], sizeof(r->col[0]), "%s/%s", len, cap);
	cli_fmt_num(r->col[COL_RECVW], sizeof(r->col[0]), f.wait_recv);
	cli_fmt_num(r->col[COL_SENDW], sizeof(r->col[0]), f.wait_send);
	cli_fmt_num(r->col[COL_SENDERS], sizeof(r->col[0]), f.send_ends);
	cli_fmt_bool(r->col[COL_CLOSED], sizeof(r->col[0]), f.closed);
	cli_fmt_bool(r->col[COL_AUTO], sizeof(r->col[0]), f.autoclose);
	snprintf(r->col[COL_NAME], sizeof(r->col[0]), "/%s", base);
}

/* Is the directory a gosync filesystem?  0, or the exit code. */
static int cli_check_mount(const struct cli *c)
{
	struct statfs sfs;

	if (c->standalone)
		return 0;
	if (statfs(c->dir, &sfs))
		return errno == ENOENT ? cli_fail(c, ENOENT) :
			cli_error(c, errno, "%s", c->dir);
	if ((unsigned long)sfs.f_type != GOSYNC_FS_MAGIC)
		return cli_error(c, 0, "%s is not a gosync filesystem "
				 "(mount -t " GOSYNC_FS_TYPE " " GOSYNC_FS_TYPE " %s)",
				 c->dir, c->dir);
	return 0;
}

int cli_ls(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "standalone", no_argument, NULL, CLI_OPT_STANDALONE },
		{ NULL, 0, NULL, 0 },
	};
	size_t n, i, w[NCOLS] = { 0 };
	struct cli_row *rows;
	bool lng = false;
	char **names;
	int opt, err, k, ret;

	while ((opt = getopt_long(argc, argv, "l", opts, NULL)) != -1) {
		if (opt == 'l')
			lng = true;
		else if (opt != CLI_OPT_STANDALONE)
			return cli_bad_option(c, argv);
	}
	if (optind < argc)
		return cli_usage(c, "takes no NAME ('gosync stat NAME' shows one)");
	ret = cli_check_mount(c);
	if (ret)
		return ret;
	names = cli_names(c, &n, &err);
	if (!names) {
		/* No standalone directory yet: no name was ever made. */
		if (c->standalone && err == ENOENT)
			return CLI_OK;
		return cli_error(c, err, "cannot list %s", c->dir);
	}
	if (!lng) {
		for (i = 0; i < n; i++)
			printf("/%s\n", names[i]);
		goto out;
	}
	rows = calloc(n + 1, sizeof(*rows));
	if (!rows) {
		ret = cli_error(c, ENOMEM, "cannot list %s", c->dir);
		goto out;
	}
	for (k = 0; k < NCOLS; k++)
		snprintf(rows[0].col[k], sizeof(rows[0].col[k]), "%s", cli_ls_head[k]);
	for (i = 0; i < n; i++)
		cli_ls_row(c, names[i], &rows[i + 1]);
	for (i = 0; i <= n; i++)
		for (k = 0; k < NCOLS; k++)
			if (strlen(rows[i].col[k]) > w[k])
				w[k] = strlen(rows[i].col[k]);
	for (i = 0; i <= n; i++) {
		for (k = 0; k < NCOLS - 1; k++)
			printf("%-*s ", (int)w[k], rows[i].col[k]);
		printf("%s\n", rows[i].col[NCOLS - 1]);
	}
	free(rows);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (fflush(stdout) && !ret)
		ret = cli_error(c, errno, "cannot write the list");
	return ret;
}

/* ---------------------------------------------------------------- stat -- */

static void cli_print_time(const char *key, const struct timespec *ts)
{
	char buf[64], zone[8];
	struct tm tm;

	localtime_r(&ts->tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	printf("%s: %s.%09ld %s\n", key, buf, ts->tv_nsec, zone);
}

static void cli_print_num(const char *key, long long v)
{
	char buf[24];

	cli_fmt_num(buf, sizeof(buf), v);
	printf("%s: %s\n", key, buf);
}

static void cli_print_bool(const char *key, long long v)
{
	char buf[24];

	cli_fmt_bool(buf, sizeof(buf), v);
	printf("%s: %s\n", key, buf);
}

int cli_stat(struct cli *c, int argc, char **argv)
{
	struct cli_facts f;
	char mode[11], user[64], group[64];
	int ret;

	ret = cli_no_options(c, argc, argv);
	if (ret)
		return ret;
	if (argc - optind != 1)
		return cli_usage(c, "takes one NAME");
	ret = cli_set_name(c, argv[optind]);
	if (!ret)
		ret = cli_check_mount(c);
	if (ret)
		return ret;
	cli_facts_get(c, c->base, &f);
	if (f.stat_err)
		return cli_fail(c, f.stat_err);
	cli_fmt_mode(mode, f.st.st_mode);
	cli_user(user, sizeof(user), f.st.st_uid);
	cli_group(group, sizeof(group), f.st.st_gid);
	printf("name: %s\n", c->name);
	printf("path: %s/%s\n", c->dir, c->base);
	printf("mode: %04o (%s)\n", (unsigned int)(f.st.st_mode & 07777), mode);
	printf("owner: %s (%u)\n", user, (unsigned int)f.st.st_uid);
	printf("group: %s (%u)\n", group, (unsigned int)f.st.st_gid);
	printf("inode: %llu\n", (unsigned long long)f.st.st_ino);
	printf("links: %llu\n", (unsigned long long)f.st.st_nlink);
	cli_print_time("access", &f.st.st_atim);
	cli_print_time("modify", &f.st.st_mtim);
	cli_print_time("change", &f.st.st_ctim);
	printf("kind: %s\n", cli_kind_name(f.kind));
	if (f.open_err)
		printf("unknown: %s (%s)\n", f.open_err == EACCES ?
		       "no read permission" : strerrordesc_np(f.open_err),
		       cli_errname(f.open_err));
	if (f.kind == CLI_KIND_CHAN || f.kind == CLI_KIND_NONE) {
		cli_print_num("elem-size", f.elem_size);
		cli_print_num("cap", f.cap);
		cli_print_num("len", f.len);
		cli_print_bool("closed", f.closed);
		cli_print_num("waiting-receivers", f.wait_recv);
		cli_print_num("waiting-senders", f.wait_send);
		cli_print_num("send-ends", f.send_ends);
		cli_print_bool("autoclose", f.autoclose);
		cli_print_num("sent", f.sent);
		cli_print_num("received", f.received);
	}
	if (f.kind != CLI_KIND_CHAN)
		printf("state: %s\n", f.state);
	cli_print_num("mappings", f.mappings);
	if (fflush(stdout))
		return cli_error(c, errno, "cannot write");
	return CLI_OK;
}

/* --------------------------------------------------------------- watch -- */

static volatile sig_atomic_t cli_stop;

static void cli_on_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

static double cli_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void cli_sleep(double seconds)
{
	struct timespec ts = {
		.tv_sec = (time_t)seconds,
		.tv_nsec = (long)((seconds - (time_t)seconds) * 1e9),
	};

	while (!cli_stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void cli_rate(char *buf, size_t len, long long now, long long before,
		     double dt)
{
	if (now < 0 || before < 0 || dt <= 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f/s", (double)(now - before) / dt);
}

int cli_watch(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "standalone", no_argument, NULL, CLI_OPT_STANDALONE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_facts f = { 0 }, prev;
	struct gosync_chan *ch = NULL;
	uint64_t count = 0, i;
	double interval = 1, t, t0 = 0;
	char path[4096], line[256], len[24], cap[24], rrate[24], srate[24];
	bool tty = isatty(STDOUT_FILENO), have_prev = false;
	struct sigaction sa = { .sa_handler = cli_on_signal };
	int opt, ret, fd = -1;

	while ((opt = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (cli_parse_seconds(optarg, &interval) || interval < 0.001)
				return cli_usage(c, "--interval: seconds, at least 0.001");
			break;
		case 'n':
			if (cli_parse_u64(optarg, UINT64_MAX, &count) || !count)
				return cli_usage(c, "-n: a count of samples, at least 1");
			break;
		case CLI_OPT_STANDALONE:
			break;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage(c, "takes one NAME");
	ret = cli_set_name(c, argv[optind]);
	if (!ret)
		ret = cli_check_mount(c);
	if (ret)
		return ret;
	if (c->standalone) {
		ret = gosync_chan_open(&ch, c->name, O_RDWR | O_CLOEXEC, 0, 0, 0,
				       GOSYNC_STANDALONE);
		if (ret < 0)
			return cli_fail(c, -ret);
	} else {
		snprintf(path, sizeof(path), "%s/%s", c->dir, c->base);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return cli_fail(c, errno);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (i = 0; !count || i < count; i++) {
		if (i)
			cli_sleep(interval);
		if (cli_stop)
			break;
		prev = f;
		memset(&f, 0, sizeof(f));
		t = cli_mono();
		if (ch) {
			f.kind = CLI_KIND_CHAN;
			f.len = (long long)gosync_chan_len(ch);
			f.cap = (long long)gosync_chan_cap(ch);
			f.closed = f.wait_recv = f.wait_send = CLI_NA;
			f.sent = f.received = f.send_ends = CLI_NA;
		} else {
			ret = cli_fdinfo_read(fd, &f);
			if (ret < 0) {
				ret = cli_error(c, -ret, "cannot read its fdinfo");
				goto out;
			}
			if (f.kind != CLI_KIND_CHAN) {
				ret = cli_error(c, EMEDIUMTYPE, "the name is a %s, not a channel",
						cli_kind_name(f.kind));
				goto out;
			}
		}
		cli_fmt_num(len, sizeof(len), f.len);
		cli_fmt_num(cap, sizeof(cap), f.cap);
		cli_rate(rrate, sizeof(rrate), f.received, prev.received,
			 have_prev ? t - t0 : 0);
		cli_rate(srate, sizeof(srate), f.sent, prev.sent,
			 have_prev ? t - t0 : 0);
		if (ch)
			snprintf(line, sizeof(line), "%s len %s/%s", c->name, len, cap);
		else
			snprintf(line, sizeof(line),
				 "%s len %s/%s recv %s send %s waiting %lld recv %lld send%s",
				 c->name, len, cap, rrate, srate, f.wait_recv, f.wait_send,
				 f.closed > 0 ? " closed" : "");
		printf(tty ? "\r\033[K%s" : "%s\n", line);
		fflush(stdout);
		have_prev = true;
		t0 = t;
		if (f.closed > 0 && f.len == 0)
			break;	/* closed and drained: nothing more to see */
	}
	if (tty)
		putchar('\n');
	ret = fflush(stdout) ? cli_error(c, errno, "cannot write") : CLI_OK;
out:
	if (ch)
		gosync_chan_free(ch);
	if (fd >= 0)
		close(fd);
	return ret;
}
