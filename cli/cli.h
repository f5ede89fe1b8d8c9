/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * gosync(1), the command-line tool: what its files share.
 *
 *   gosync.c  main, global options, help, names, numbers, error messages
 *   facts.c   what is known of a name: stat(2), /proc/self/fdinfo, library
 *   list.c    ls, stat, watch
 *   chan.c    make, send, recv, close, rm
 *   ctx.c     cancel, wait (contexts)
 */
#ifndef GOSYNC_CLI_H
#define GOSYNC_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <gosync.h>

/* Exit codes (gosync(1), EXIT STATUS). */
#define CLI_OK		0
#define CLI_FAILED	1	/* the operation failed: errno message */
#define CLI_USAGE	2	/* bad command line (or a VALUE that does not fit) */
#define CLI_TIMEOUT	3	/* --timeout passed */
#define CLI_CLOSED	4	/* recv -n N: closed and drained before N */

/* The command being run, for its messages. */
struct cli {
	const char *cmd;	/* "send" */
	const char *name;	/* "/jobs", or NULL */
	const char *base;	/* "jobs": the name inside the directory */
	bool standalone;	/* --standalone */
	unsigned int flags;	/* GOSYNC_STANDALONE or 0 */
	const char *dir;	/* the mount, or the standalone directory */
};

/* A fact that is not known: could not be asked ('?'), or has no meaning
 * here, or only the kernel knows it ('-'). */
#define CLI_UNKNOWN	(-1LL)
#define CLI_NA		(-2LL)

enum cli_kind {
	CLI_KIND_NONE = 0,	/* not known */
	CLI_KIND_CHAN,
	CLI_KIND_WG,
	CLI_KIND_MUTEX,
	CLI_KIND_RWMUTEX,
	CLI_KIND_ONCE,
	CLI_KIND_COND,
	CLI_KIND_CTX,
};

struct cli_facts {
	struct stat st;
	int stat_err;		/* 0, or the errno of stat(2) */
	int open_err;		/* 0, or why the object's facts are missing */
	enum cli_kind kind;
	/* Channels (CLI_NA for other kinds): */
	long long elem_size, cap, len, closed;
	long long wait_recv, wait_send;	/* blocked receivers, senders */
	long long send_ends;		/* open ends that can send */
	long long autoclose;
	long long sent, received;	/* totals: ring positions */
	/* Every kind: */
	long long mappings;
	char state[32];			/* a sync object's first word, "0x..." */
};

/* gosync.c */
extern const char *cli_prog;
int cli_usage(const struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int cli_error(const struct cli *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int cli_fail(const struct cli *c, int err);
int cli_bad_option(const struct cli *c, char **argv);
/* getopt_long's value of --standalone, which every command takes. */
#define CLI_OPT_STANDALONE	0x100
/* Parse a command that takes no option of its own but --standalone. */
int cli_no_options(struct cli *c, int argc, char **argv);
const char *cli_errname(int err);
int cli_set_name(struct cli *c, const char *arg);
int cli_parse_u64(const char *s, uint64_t max, uint64_t *out);
int cli_parse_seconds(const char *s, double *out);
int64_t cli_deadline(double seconds, bool set);
const char *cli_kind_name(enum cli_kind kind);
enum cli_kind cli_kind_parse(const char *s);
bool cli_want_help(int argc, char **argv);

/* facts.c */
void cli_facts_get(const struct cli *c, const char *base,
		   struct cli_facts *f);
int cli_fdinfo_read(int fd, struct cli_facts *f);
void cli_fmt_num(char *buf, size_t len, long long v);
void cli_fmt_bool(char *buf, size_t len, long long v);
void cli_fmt_mode(char *buf, mode_t mode);

/* list.c */
int cli_ls(struct cli *c, int argc, char **argv);
int cli_stat(struct cli *c, int argc, char **argv);
int cli_watch(struct cli *c, int argc, char **argv);

/* chan.c */
int cli_make(struct cli *c, int argc, char **argv);
int cli_send(struct cli *c, int argc, char **argv);
int cli_recv(struct cli *c, int argc, char **argv);
int cli_close(struct cli *c, int argc, char **argv);
int cli_rm(struct cli *c, int argc, char **argv);

/* ctx.c */
int cli_cancel(struct cli *c, int argc, char **argv);
int cli_wait(struct cli *c, int argc, char **argv);

#endif /* GOSYNC_CLI_H */
