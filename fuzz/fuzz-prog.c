// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * gosync-fuzz: programs.  A program is a list of operations, each a type,
 * the thread that runs it and four argument words; how an operation reads
 * its words is up to its executor (fuzz-ops.c), which turns any value into
 * some call, mostly valid ones, often boundary ones.  So generation is
 * "random words", and mutation is "other words".
 *
 * Text form, one operation a line (replay files, --corpus-out, failure
 * reports):
 *   # comment
 *   prog ID FLAGS
 *   NAME THREAD O1 O2 A B C D        (numbers in hex)
 *   end
 * The reader skips every line outside a prog ... end block, so a whole
 * run's log can be replayed as it is.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

const struct opdef opdefs[OP_NTYPES] = {
	[OP_CHAN_CREATE]	= { "chan_create", 40, 8 },
	[OP_SYNC_CREATE]	= { "sync_create", 20, 4 },
	[OP_OPEN_DEV]		= { "open_dev", 4, 1 },
	[OP_OPEN_OTHER]		= { "open_other", 8, 3 },
	[OP_DUP]		= { "dup", 8, 8 },
	[OP_CLOSE]		= { "close", 20, 10 },
	[OP_DEV_IOCTL]		= { "dev_ioctl", 25, 25 },
	[OP_DEV_INFO]		= { "dev_info", 8, 8 },
	[OP_SELECT]		= { "select", 70, 70 },
	[OP_CHAN_INFO]		= { "chan_info", 15, 15 },
	[OP_CHAN_SEND]		= { "chan_send", 120, 120 },
	[OP_CHAN_RECV]		= { "chan_recv", 120, 120 },
	[OP_CHAN_CLOSE]		= { "chan_close", 8, 6 },
	[OP_CHAN_WAKE]		= { "chan_wake", 25, 20 },
	[OP_MAP_IOCTL]		= { "map_ioctl", 15, 15 },
	[OP_SYNC_INFO]		= { "sync_info", 8, 8 },
	[OP_SYNC_WAKE]		= { "sync_wake", 10, 10 },
	[OP_READ]		= { "read", 45, 45 },
	[OP_WRITE]		= { "write", 45, 45 },
	[OP_FCNTL]		= { "fcntl", 8, 8 },
	[OP_POLL]		= { "poll", 35, 35 },
	[OP_EPOLL_CTL]		= { "epoll_ctl", 20, 15 },
	[OP_EPOLL_WAIT]		= { "epoll_wait", 20, 20 },
	[OP_RING_SETUP]		= { "ring_setup", 5, 1 },
	[OP_URING_CMD]		= { "uring_cmd", 80, 45 },
	[OP_URING_POLL]		= { "uring_poll", 15, 12 },
	[OP_URING_RW]		= { "uring_rw", 12, 1 },
	[OP_URING_REAP]		= { "uring_reap", 35, 35 },
	[OP_URING_CANCEL]	= { "uring_cancel", 5, 4 },
	[OP_RING_CLOSE]		= { "ring_close", 3, 1 },
	[OP_MMAP]		= { "mmap", 30, 6 },
	[OP_MUNMAP]		= { "munmap", 12, 3 },
	[OP_MREMAP]		= { "mremap", 10, 3 },
	[OP_MADVISE]		= { "madvise", 20, 15 },
	[OP_MPROTECT]		= { "mprotect", 12, 10 },
	[OP_REMAP_FILE_PAGES]	= { "remap_file_pages", 3, 1 },
	[OP_MSYNC]		= { "msync", 8, 6 },
	[OP_TOUCH]		= { "touch", 60, 60 },
	[OP_SYNC_WORDS]		= { "sync_words", 30, 30 },
	[OP_SCRIBBLE]		= { "scribble", 10, 10 },
	[OP_LIB]		= { "lib", 40, 14 },
	[OP_FORK]		= { "fork", 1, 0 },
	[OP_SEND_FD]		= { "send_fd", 8, 6 },
	[OP_RECV_FD]		= { "recv_fd", 8, 6 },
	[OP_SIGNAL]		= { "signal", 8, 8 },
	[OP_RLIMIT]		= { "rlimit", 2, 1 },
	[OP_LIMIT_BURST]	= { "limit_burst", 1, 1 },
	[OP_PROCFS]		= { "procfs", 6, 2 },
	[OP_SLEEP]		= { "sleep", 3, 3 },
	[OP_CHAN_DUP]		= { "chan_dup", 12, 6 },
	[OP_FS_OPEN]		= { "fs_open", 20, 8 },
	[OP_FS_PATH]		= { "fs_path", 20, 10 },
	[OP_FS_MOUNT]		= { "fs_mount", 1, 1 },
	[OP_AUTOCLOSE]		= { "autoclose", 3, 1 },
	[OP_CTX_CREATE]		= { "ctx_create", 12, 3 },
	[OP_CTX]		= { "ctx", 25, 10 },
};

uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* xorshift64*: small, fast, good enough for choosing calls. */
uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x2545f4914f6cdd1dULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/*
 * The light mix (--mix light; the default where kcov shows a debug
 * kernel, whose KASAN and lockdep make creating objects, mapping them
 * and setting up rings hundreds of times dearer than an ioctl) keeps
 * every operation but makes the dear ones rarer; a fork is then one in a
 * few thousand, from the repeat-a-stretch and change-the-type mutations
 * and the other mix's corpus entries.
 */
static unsigned int weight(int i)
{
	if (O.weight_set[i])
		return O.weight_set[i] - 1;
	return O.light ? opdefs[i].light : opdefs[i].weight;
}

static unsigned int total_weight(void)
{
	static unsigned int total[2];
	int i;

	if (!total[O.light])
		for (i = 0; i < OP_NTYPES; i++)
			total[O.light] += weight(i);
	return total[O.light];
}

static int pick_type(uint64_t *rng)
{
	unsigned int x = rnd(rng) % total_weight();
	int i;

	if (O.light && !O.weight_set[OP_FORK] && x == 0 && rnd(rng) % 4 == 0)
		return OP_FORK;
	for (i = 0; i < OP_NTYPES; i++) {
		if (x < weight(i))
			return i;
		x -= weight(i);
	}
	return OP_CHAN_SEND;
}

/* Words with many small values and boundaries, some fully random. */
static uint64_t gen_word(uint64_t *rng)
{
	static const uint64_t special[] = {
		0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
		0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL, ~1ULL,
	};
	uint64_t r = rnd(rng);

	switch (r % 16) {
	case 0:
		return special[(r >> 8) % (sizeof(special) / sizeof(special[0]))];
	case 1:
		return (r >> 8) & 0xff;
	default:
		return rnd(rng);
	}
}

static void gen_op(uint64_t *rng, struct op *op, int type, int nthreads)
{
	memset(op, 0, sizeof(*op));
	op->type = type;
	op->thread = rnd(rng) % (nthreads ? nthreads : 1);
	op->o1 = rnd(rng);
	op->o2 = rnd(rng);
	op->a = gen_word(rng);
	op->b = gen_word(rng);
	op->c = gen_word(rng);
	op->d = gen_word(rng);
}

void prog_generate(uint64_t *rng, struct prog *p, int nthreads)
{
	uint32_t i, n = 16 + rnd(rng) % 113;
	uint32_t ncreate = O.light ? rnd(rng) % 2 : 1 + rnd(rng) % 4;

	memset(p, 0, offsetof(struct prog, ops));
	p->id = rnd(rng);
	p->n = n;
	/* Start with some objects of its own, then anything. */
	for (i = 0; i < n; i++) {
		int type = i < ncreate ? (rnd(rng) % 3 ? OP_CHAN_CREATE :
					  OP_SYNC_CREATE) : pick_type(rng);

		gen_op(rng, &p->ops[i], type, nthreads);
	}
}

static void mutate_word(uint64_t *rng, uint64_t *w, int bits)
{
	uint64_t r = rnd(rng);
	uint64_t mask = bits == 64 ? ~0ULL : (1ULL << bits) - 1;

	switch (r % 5) {
	case 0:
		*w = gen_word(rng);
		break;
	case 1:
		*w ^= 1ULL << (rnd(rng) % bits);
		break;
	case 2:
		*w += (rnd(rng) % 17) - 8;
		break;
	case 3:
		/* the low byte picks most choices: change only it */
		*w = (*w & ~0xffULL) | (rnd(rng) & 0xff);
		break;
	default:
		*w = (*w & 0xff) | (gen_word(rng) << 8);
		break;
	}
	*w &= mask;
}

void prog_mutate(uint64_t *rng, struct prog *p, int nthreads)
{
	int rounds = 1 + rnd(rng) % 4, r;

	p->id = rnd(rng);
	if (!p->n)
		prog_generate(rng, p, nthreads);
	for (r = 0; r < rounds; r++) {
		uint32_t i = rnd(rng) % p->n, j;
		struct op *op = &p->ops[i];
		uint64_t w;

		switch (rnd(rng) % 10) {
		case 0:		/* insert */
			if (p->n >= MAX_OPS)
				break;
			memmove(&p->ops[i + 1], &p->ops[i],
				(p->n - i) * sizeof(*op));
			gen_op(rng, &p->ops[i], pick_type(rng), nthreads);
			p->n++;
			break;
		case 1:		/* delete */
			if (p->n <= 1)
				break;
			memmove(&p->ops[i], &p->ops[i + 1],
				(p->n - i - 1) * sizeof(*op));
			p->n--;
			break;
		case 2:		/* swap */
			j = rnd(rng) % p->n;
			{
				struct op tmp = p->ops[i];

				p->ops[i] = p->ops[j];
				p->ops[j] = tmp;
			}
			break;
		case 3:		/* another thread, other objects */
			op->thread = rnd(rng) % (nthreads ? nthreads : 1);
			if (rnd(rng) & 1)
				op->o1 = rnd(rng);
			else
				op->o2 = rnd(rng);
			break;
		case 4:		/* repeat a stretch */
			j = 1 + rnd(rng) % 8;
			if (i + j > p->n)
				j = p->n - i;
			if (p->n + j > MAX_OPS)
				break;
			memmove(&p->ops[i + j], &p->ops[i],
				(p->n - i) * sizeof(*op));
			p->n += j;
			break;
		case 5:		/* same arguments, another operation */
			op->type = pick_type(rng);
			break;
		default:	/* change an argument */
			switch (rnd(rng) % 4) {
			case 0:
				w = op->a;
				mutate_word(rng, &w, 32);
				op->a = w;
				break;
			case 1:
				mutate_word(rng, &op->b, 64);
				break;
			case 2:
				mutate_word(rng, &op->c, 64);
				break;
			default:
				mutate_word(rng, &op->d, 64);
				break;
			}
			break;
		}
	}
	if (rnd(rng) % 8 == 0)
		p->flags ^= PROG_SCRIBBLE;
}

/* Splice: a prefix of @p, then a suffix of @other. */
void prog_splice(uint64_t *rng, struct prog *p, const struct prog *other)
{
	uint32_t cut, from, n;

	if (!p->n || !other->n)
		return;
	cut = rnd(rng) % p->n;
	from = rnd(rng) % other->n;
	n = other->n - from;
	if (cut + n > MAX_OPS)
		n = MAX_OPS - cut;
	memcpy(&p->ops[cut], &other->ops[from], n * sizeof(p->ops[0]));
	p->n = cut + n;
	p->id = rnd(rng);
	p->flags |= other->flags & PROG_SCRIBBLE;
}

void prog_write(FILE *f, const struct prog *p, const char *comment)
{
	uint32_t i;

	if (comment)
		fprintf(f, "# %s\n", comment);
	fprintf(f, "prog %" PRIx64 " %x\n", p->id, p->flags);
	for (i = 0; i < p->n && i < MAX_OPS; i++) {
		const struct op *op = &p->ops[i];

		fprintf(f, "%s %x %x %x %x %" PRIx64 " %" PRIx64 " %" PRIx64 "\n",
			op->type < OP_NTYPES ? opdefs[op->type].name : "?",
			op->thread, op->o1, op->o2, op->a, op->b, op->c, op->d);
	}
	fprintf(f, "end\n");
}

int op_parse(const char *name)
{
	int type;

	for (type = 0; type < OP_NTYPES; type++)
		if (!strcmp(name, opdefs[type].name))
			return type;
	return -1;
}

/*
 * Read the next program: 1 read, 0 end of file, -1 a bad line inside a
 * block.  Lines outside blocks (a log's other output) are skipped.
 */
int prog_read(FILE *f, struct prog *p)
{
	char line[512], name[64];
	int in = 0;

	memset(p, 0, offsetof(struct prog, ops));
	while (fgets(line, sizeof(line), f)) {
		unsigned int th, o1, o2, a;
		uint64_t b, c, d;
		const char *s = line;
		int type;

		/* a log line may carry a prefix (the vm runner's, a tag) */
		if (!in) {
			uint64_t id;
			unsigned int flags;

			s = strstr(line, "prog ");
			if (!s || sscanf(s, "prog %" SCNx64 " %x", &id, &flags) != 2)
				continue;
			p->id = id;
			p->flags = flags;
			p->n = 0;
			in = 1;
			continue;
		}
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!strncmp(line, "end", 3))
			return 1;
		if (sscanf(s, "%63s %x %x %x %x %" SCNx64 " %" SCNx64 " %" SCNx64,
			   name, &th, &o1, &o2, &a, &b, &c, &d) != 8)
			return -1;
		type = op_parse(name);
		if (type < 0 || p->n >= MAX_OPS)
			return -1;
		p->ops[p->n++] = (struct op){ .type = type, .thread = th,
			.o1 = o1, .o2 = o2, .a = a, .b = b, .c = c, .d = d };
	}
	return in ? 1 : 0;
}
