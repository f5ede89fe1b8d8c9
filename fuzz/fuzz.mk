# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# gosync-fuzz and the minimised reproducers: include from the top Makefile
# (it defines B, CC, CFLAGS, GOSYNC_CFLAGS, TEST_LDLIBS, LDLIBS), or run
# alone:  make -f fuzz/fuzz.mk   (after 'make lib').
#
#   $(B)/fuzz/gosync-fuzz      the fuzzer
#   $(B)/fuzz/repro-NAME       one per fuzz/repro-NAME.c
B		?= build
CC		?= cc
CFLAGS		?= -O2 -g
GOSYNC_CFLAGS	?= -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		   -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
		   -Iuapi -Icommon -Ilib/include -pthread
TEST_LDLIBS	?= -luring
LDLIBS		?= -pthread

FUZZ_SRCS	:= fuzz/gosync-fuzz.c fuzz/fuzz-worker.c fuzz/fuzz-ops.c \
		   fuzz/fuzz-prog.c
FUZZ_REPROS	:= $(patsubst fuzz/%.c,$(B)/fuzz/%,$(wildcard fuzz/repro-*.c)) \
		   $(B)/fuzz/trinity-fds

.PHONY: fuzz
fuzz: $(B)/fuzz/gosync-fuzz $(FUZZ_REPROS)

$(B)/fuzz/gosync-fuzz: $(FUZZ_SRCS) fuzz/fuzz.h $(B)/lib/libgosync.a
	@mkdir -p $(@D)
	$(CC) $(GOSYNC_CFLAGS) $(CFLAGS) -o $@ $(FUZZ_SRCS) \
		$(B)/lib/libgosync.a $(TEST_LDLIBS) -lrt $(LDLIBS)

$(B)/fuzz/repro-%: fuzz/repro-%.c
	@mkdir -p $(@D)
	$(CC) $(GOSYNC_CFLAGS) $(CFLAGS) -o $@ $< $(TEST_LDLIBS) $(LDLIBS)

$(B)/fuzz/trinity-fds: fuzz/trinity-fds.c
	@mkdir -p $(@D)
	$(CC) $(GOSYNC_CFLAGS) $(CFLAGS) -o $@ $<
