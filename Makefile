# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# gosync: one Makefile for the module, the library, the tests and the guest.
#
#   make              build gosync.ko, libgosync, the gosync tool, selftests,
#                     host tests, examples
#   make go           the Go package (go/): vet, its race-built test binary,
#                     the Go peer, benchmark peer and examples
#   make run          build, boot the guest, load the module, run the demos
#   make check        host tests + lint, then every selftest in the guest
#   make check-debug  the selftests, the fuzzer (coverage-guided, KCOV) and
#                     trinity on a KASAN/lockdep/UBSAN kernel (cached)
#   make check-kcsan  the selftests and the fuzzer on a KCSAN (data race)
#                     kernel (cached)
#   make fuzz         build the fuzzer (fuzz/, run it with fuzz/run)
#   make install / modules_install / dkms-install / uninstall
#
# Missing Debian packages are installed by scripts/deps (apt-get).
# KDIR: the kernel build tree (default: see scripts/kdir).

VERSION		:= 0.1.0
SOVERSION	:= 0

B		?= build
PREFIX		?= /usr/local
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
BINDIR		?= $(PREFIX)/bin
MANDIR		?= $(PREFIX)/share/man
# The boot-time mount of /run/gosync (a systemd mount unit) and the
# module's load at boot (modules-load.d); systemd reads both under
# /usr/local/lib as well as /usr/lib.
UNITDIR		?= $(PREFIX)/lib/systemd/system
MODLOADDIR	?= $(PREFIX)/lib/modules-load.d
DESTDIR		?=

CC		?= cc
CFLAGS		?= -O2 -g
GOSYNC_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		   -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
		   -Iuapi -Icommon -Ilib/include -pthread
LDLIBS		+= -pthread
# Tests and examples may use io_uring through liburing (static, Debian's).
TEST_LDLIBS	:= -luring
# kselftest_harness.h defines FIXTURE_SETUP() functions without prototypes.
TEST_CFLAGS	:= -Wno-missing-prototypes

LINUX_SRC_TAR	:= /usr/src/linux-source-6.1.tar.xz
LINUX_SRC	:= $(B)/linux-source-6.1
KSFT		:= $(LINUX_SRC)/tools/testing/selftests
CHECKPATCH	:= $(LINUX_SRC)/scripts/checkpatch.pl

LIB_SRCS	:= $(wildcard lib/*.c)
LIB_HDRS	:= $(wildcard lib/*.h lib/include/*.h uapi/linux/*.h common/*.h)
# tests/ are the library's tests: built for the host (standalone mode) and,
# with every mode, for the guest beside the kernel-only selftests/.
SELFTESTS	:= $(patsubst selftests/%.c,$(B)/selftests/%,$(wildcard selftests/*_test.c)) \
		   $(patsubst tests/%.c,$(B)/selftests/%,$(wildcard tests/*_test.c))
SELFTEST_HDRS	:= $(wildcard selftests/*.h tests/*.h lib/*.h)
HOST_VARIANTS	:= plain asan tsan
HOST_TESTS	:= $(foreach v,$(HOST_VARIANTS),\
		     $(patsubst tests/%.c,$(B)/tests/$(v)/%,$(wildcard tests/*_test.c)))
EXAMPLES	:= $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))

SAN_plain	:=
SAN_asan	:= -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
SAN_tsan	:= -fsanitize=thread

# Keep every built file: make must not delete "intermediate" objects after
# 'make check' has printed its last line.
.SECONDARY:

.PHONY: FORCE all deps module lib cli selftests tests examples python go check \
	check-debug check-kcsan run \
	lint bench bench-guest install modules_install dkms-install uninstall clean

all: module lib cli selftests tests examples fuzz python go

deps:
	@scripts/deps build vm lint

# ---------------------------------------------------------------- module --
# Built out of the source tree, in $(B)/kmod/<kernel release>/, a farm of
# symlinks to Kbuild, kmod/ and uapi/: one tree serves several kernels.
module: | deps
	@kdir=$$(scripts/kdir) && rel=$$(scripts/kdir --release "$$kdir") && \
	scripts/kmod-tree "$(B)/kmod/$$rel" && \
	$(MAKE) --no-print-directory -C "$$kdir" M="$(abspath $(B))/kmod/$$rel" W=1 modules

# --------------------------------------------------------------- library --
LIB_OBJS	:= $(patsubst lib/%.c,$(B)/lib/%.o,$(LIB_SRCS))

lib: $(B)/lib/libgosync.so $(B)/lib/libgosync.a $(B)/lib/gosync.pc

$(B)/lib/%.o: lib/%.c $(LIB_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(GOSYNC_CFLAGS) -fPIC -fvisibility=hidden $(CFLAGS) -c -o $@ $<

$(B)/lib/libgosync.so.$(VERSION): $(LIB_OBJS) lib/libgosync.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,libgosync.so.$(SOVERSION) \
		-Wl,--version-script=lib/libgosync.map -Wl,--no-undefined \
		-o $@ $(LIB_OBJS) $(LDLIBS)

$(B)/lib/libgosync.so: $(B)/lib/libgosync.so.$(VERSION)
	ln -sf libgosync.so.$(VERSION) $(B)/lib/libgosync.so.$(SOVERSION)
	ln -sf libgosync.so.$(VERSION) $@

# The static archive exports what the shared library does and nothing
# more: the library's files call each other through global names
# (gosync_futex_wait, gosync_dev_fd, ...) that -fvisibility=hidden keeps
# out of the .so but not out of a static link, where they would clash
# with a program's own.  So every object is linked into one (ld -r),
# which resolves those calls, and every symbol the version map does not
# list as global is then made local.  The cost: a static program gets
# the whole library, not only the files it uses.  The Makefile is a
# prerequisite: a build tree whose archive an older recipe made (one
# member per file, internals global) must not keep it.
LD		?= ld
OBJCOPY		?= objcopy

$(B)/lib/libgosync.syms: lib/libgosync.map
	@mkdir -p $(@D)
	sed -n '/global:/,/local:/s/^[[:space:]]*\(gosync_[a-z0-9_]*\);.*/\1/p' $< > $@

$(B)/lib/libgosync-static.o: $(LIB_OBJS) $(B)/lib/libgosync.syms Makefile
	$(LD) -r -o $@.all $(LIB_OBJS)
	$(OBJCOPY) --keep-global-symbols=$(B)/lib/libgosync.syms $@.all $@
	rm -f $@.all

$(B)/lib/libgosync.a: $(B)/lib/libgosync-static.o
	rm -f $@
	$(AR) rcs $@ $^

# The tests' library: the same sources with the protocol-step hooks of
# lib/hooks.h compiled in (GOSYNC_TEST_HOOKS), so a test can kill or hold
# a process at an exact step.  Never installed.
TEST_LIB_OBJS	:= $(patsubst lib/%.c,$(B)/lib/test/%.o,$(LIB_SRCS))
TEST_LIB	:= $(B)/lib/test/libgosync.a

$(B)/lib/test/%.o: lib/%.c $(LIB_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(GOSYNC_CFLAGS) -DGOSYNC_TEST_HOOKS $(CFLAGS) -c -o $@ $<

$(TEST_LIB): $(TEST_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# The .pc names the directories it is installed for: regenerated whenever
# PREFIX, LIBDIR or INCLUDEDIR differ from the last build's (pc-dirs holds
# them; rewritten only when they change).
PC_DIRS		:= prefix=$(PREFIX) libdir=$(LIBDIR) includedir=$(INCLUDEDIR)

$(B)/lib/pc-dirs: FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = '$(PC_DIRS)' ] || echo '$(PC_DIRS)' > $@

$(B)/lib/gosync.pc: lib/gosync.pc.in $(B)/lib/pc-dirs
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    $< > $@

# ---------------------------------------- kselftest headers, checkpatch --
# Taken from Debian's linux-source-6.1 at build time, never committed.
$(LINUX_SRC)/.extracted: | deps
	@mkdir -p $(B)
	tar -C $(B) -xJf $(LINUX_SRC_TAR) \
		linux-source-6.1/tools/testing/selftests/kselftest.h \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	touch $@

# ------------------------------------------------------------- selftests --
# Run in the guest against the loaded module; linked statically to the
# tests' library (hooks compiled in) so they need nothing from the guest
# but the host's libc.
selftests: $(SELFTESTS)

define selftest_rule
$(B)/selftests/%: $(1)/%.c $(SELFTEST_HDRS) $(TEST_LIB) \
		  $(LINUX_SRC)/.extracted
	@mkdir -p $$(@D)
	$$(CC) $$(GOSYNC_CFLAGS) -DGOSYNC_TEST_HOOKS -isystem $$(KSFT) \
		-Iselftests -Itests -Ilib $$(TEST_CFLAGS) $$(CFLAGS) -o $$@ $$< \
		$(TEST_LIB) $$(TEST_LDLIBS) $$(LDLIBS)
endef
$(eval $(call selftest_rule,selftests))
$(eval $(call selftest_rule,tests))

# ------------------------------------------------------------ host tests --
# The library's own tests, run on the host (no module needed), each built
# three times: plain, ASan+UBSan and TSan, with the library compiled along.
tests: $(HOST_TESTS)

define host_variant
$(B)/tests/$(1)/lib/%.o: lib/%.c $(LIB_HDRS) | deps
	@mkdir -p $$(@D)
	$$(CC) $$(GOSYNC_CFLAGS) -DGOSYNC_TEST_HOOKS $$(SAN_$(1)) $$(CFLAGS) \
		-c -o $$@ $$<

$(B)/tests/$(1)/%: tests/%.c $(wildcard tests/*.h) \
		   $(patsubst lib/%.c,$(B)/tests/$(1)/lib/%.o,$(LIB_SRCS)) \
		   $(LINUX_SRC)/.extracted
	@mkdir -p $$(@D)
	$$(CC) $$(GOSYNC_CFLAGS) -DGOSYNC_TEST_HOST -DGOSYNC_TEST_HOOKS \
		-isystem $$(KSFT) -Ilib -Itests \
		$$(TEST_CFLAGS) $$(SAN_$(1)) \
		$$(CFLAGS) -o $$@ $$< \
		$(patsubst lib/%.c,$(B)/tests/$(1)/lib/%.o,$(LIB_SRCS)) \
		$$(TEST_LDLIBS) $$(LDLIBS)
endef
$(foreach v,$(HOST_VARIANTS),$(eval $(call host_variant,$(v))))

# ------------------------------------------------------------ gosync(1) --
# The command-line tool, linked statically against the library as the
# examples are: it runs from the build tree, in the guest, and installed.
CLI_SRCS	:= $(wildcard cli/*.c)
CLI		:= $(B)/cli/gosync

cli: $(CLI)

$(CLI): $(CLI_SRCS) $(wildcard cli/*.h) $(B)/lib/libgosync.a
	@mkdir -p $(@D)
	$(CC) $(GOSYNC_CFLAGS) -DGOSYNC_CLI_VERSION='"$(VERSION)"' $(CFLAGS) \
		-o $@ $(CLI_SRCS) $(B)/lib/libgosync.a $(LDLIBS)

# cli_test runs the tool of its own build tree: 'make tests' or
# 'make selftests' alone builds it too.
$(foreach v,$(HOST_VARIANTS),$(B)/tests/$(v)/cli_test) $(B)/selftests/cli_test: | $(CLI)

# -------------------------------------------------------------- examples --
examples: $(EXAMPLES)

$(B)/examples/%: examples/%.c $(B)/lib/libgosync.a
	@mkdir -p $(@D)
	$(CC) $(GOSYNC_CFLAGS) $(CFLAGS) -o $@ $< $(B)/lib/libgosync.a \
		$(TEST_LDLIBS) $(LDLIBS)

# ------------------------------------------------------------------ fuzz --
include fuzz/fuzz.mk

# ---------------------------------------------------------------- python --
# The Python package (python/, for Debian's /usr/bin/python3): its
# extension is cffi's API-mode C (python/gosync_build.py writes it),
# compiled here and linked with the static archive, so an installed
# package needs no libgosync.so.  Built in $(B)/python (PYTHONPATH).
# Its tests (pytest) run as build/tests/plain/python_test on the host
# (standalone mode) and as build/selftests/python_test in the guest
# (kernel mode and standalone).
PYTHON		:= /usr/bin/python3
PY_CONF		= $(shell $(PYTHON) -c 'import sysconfig as s; print(s.$(1))' 2>/dev/null)
PY_EXT		:= $(call PY_CONF,get_config_var("EXT_SUFFIX"))
PY_INC		:= $(call PY_CONF,get_paths()["include"])
PY_VER		:= $(call PY_CONF,get_python_version())
PYTHONDIR	?= $(LIBDIR)/python$(PY_VER)/dist-packages
PY_PKG		:= $(B)/python/gosync
PY_FILES	:= $(patsubst python/gosync/%,$(PY_PKG)/%,$(wildcard python/gosync/*.py))
PY_MOD		:= $(PY_PKG)/_gosync$(PY_EXT)
PY_TESTS	:= $(B)/tests/plain/python_test $(B)/selftests/python_test

python: $(PY_MOD) $(PY_FILES) $(PY_TESTS)

$(PY_PKG)/_gosync.c: python/gosync_build.py | deps
	@mkdir -p $(@D)
	$(PYTHON) python/gosync_build.py $@ > /dev/null

# cffi's generated code is not ours to keep -Wextra clean: -Wall -Werror
# only.
$(PY_MOD): $(PY_PKG)/_gosync.c $(B)/lib/libgosync.a
	$(CC) -std=gnu11 -D_GNU_SOURCE -Wall -Werror -Iuapi -Ilib/include \
		-I$(PY_INC) -fPIC -shared -pthread $(CFLAGS) -o $@ $< \
		$(B)/lib/libgosync.a

$(PY_PKG)/%.py: python/gosync/%.py
	@mkdir -p $(@D)
	cp $< $@

# The C peer of the cross-language tests (interop/peer.c); the Go one
# (go/cmd/peer) is built with the Go package, below.
PEER		:= $(B)/interop/peer
GO_PEER		:= $(B)/go/peer
$(PEER): interop/peer.c $(B)/lib/libgosync.a
	@mkdir -p $(@D)
	$(CC) $(GOSYNC_CFLAGS) $(CFLAGS) -o $@ $< $(B)/lib/libgosync.a $(LDLIBS)

# The test programs: python/tests/run with the modes of their side.
$(B)/tests/plain/python_test: MODES := standalone
$(B)/selftests/python_test: MODES := kernel,standalone
$(PY_TESTS): python/tests/run | $(PY_MOD) $(PY_FILES) $(PEER) $(GO_PEER)
	@mkdir -p $(@D)
	printf '#!/bin/sh\nexec %s --modes %s --pkg %s --peer %s --go-peer %s "$$@"\n' \
		"$(abspath python/tests/run)" "$(MODES)" "$(abspath $(B)/python)" \
		"$(abspath $(PEER))" "$(abspath $(GO_PEER))" > $@
	chmod +x $@

# -------------------------------------------------------------------- go --
# The Go package (go/: module gosync, the standard library only, no cgo;
# Debian's golang-go).  go vet over the module, then its tests as one
# race-built binary ($(B)/go/gosync.test), run as
# build/tests/plain/go_test on the host (standalone mode) and as
# build/selftests/go_test in the guest (kernel mode and standalone), as
# the Python package's are; and its programs: the Go peer of the
# cross-language tests (go/cmd/peer), the Go producer of bench/run's lang
# set (go/cmd/langbench) and the examples (go/examples/*).  Go's cache and
# GOPATH live in the build tree (HOME may be unset in the guest); no
# network (GOPROXY=off: the module has no dependency).
GO		:= go
GO_DIR		:= $(abspath $(B))/go
GO_PKG_SRCS	:= go/go.mod $(filter-out %_test.go,$(wildcard go/*.go))
GO_TEST_SRCS	:= $(wildcard go/*_test.go)
GO_CMDS		:= peer langbench
GO_EXAMPLES	:= squares producer
GO_BINS		:= $(B)/go/gosync.test $(addprefix $(B)/go/,$(GO_CMDS) $(GO_EXAMPLES))
GO_TESTS	:= $(B)/tests/plain/go_test $(B)/selftests/go_test
GO_ALL_SRCS	:= $(GO_PKG_SRCS) $(GO_TEST_SRCS) \
		   $(wildcard $(GO_CMDS:%=go/cmd/%/*.go) $(GO_EXAMPLES:%=go/examples/%/*.go))

go: $(GO_BINS) $(GO_TESTS)

$(B)/go/vet.stamp $(GO_BINS): export GOCACHE := $(GO_DIR)/cache
$(B)/go/vet.stamp $(GO_BINS): export GOPATH := $(GO_DIR)/gopath
$(B)/go/vet.stamp $(GO_BINS): export GOFLAGS := -mod=mod -modcacherw
$(B)/go/vet.stamp $(GO_BINS): export GOPROXY := off
$(B)/go/vet.stamp $(GO_BINS): export GO111MODULE := on
$(B)/go/vet.stamp $(GO_BINS): export GOTOOLCHAIN := local
# The programs are static (no cgo: net's resolver would link libc); the
# race-built test binary needs cgo's runtime (Go 1.19).
$(filter-out $(B)/go/gosync.test,$(GO_BINS)): export CGO_ENABLED := 0

$(B)/go/vet.stamp: $(GO_ALL_SRCS) | deps
	@mkdir -p $(@D)
	cd go && $(GO) vet ./...
	@touch $@

# Vetted first (order-only: a change vets the module again, and rebuilds
# only what it is part of).
$(B)/go/gosync.test: $(GO_PKG_SRCS) $(GO_TEST_SRCS) | $(B)/go/vet.stamp
	cd go && $(GO) test -c -race -o $(GO_DIR)/gosync.test .

define go_prog
$(B)/go/$(notdir $(1)): $(GO_PKG_SRCS) $(wildcard $(1)/*.go) | $(B)/go/vet.stamp
	cd go && $$(GO) build -o $(GO_DIR)/$(notdir $(1)) ./$(1:go/%=%)
endef
$(foreach p,$(GO_CMDS:%=go/cmd/%) $(GO_EXAMPLES:%=go/examples/%),\
	$(eval $(call go_prog,$(p))))

# The test programs: go/tests/run with the modes of their side.
$(B)/tests/plain/go_test: MODES := standalone
$(B)/selftests/go_test: MODES := kernel,standalone
$(GO_TESTS): go/tests/run | $(B)/go/gosync.test $(PEER)
	@mkdir -p $(@D)
	printf '#!/bin/sh\nexec %s --modes %s --bin %s --peer %s "$$@"\n' \
		"$(abspath go/tests/run)" "$(MODES)" "$(GO_DIR)/gosync.test" \
		"$(abspath $(PEER))" > $@
	chmod +x $@

# ----------------------------------------------------------------- tests --
lint: module $(LINUX_SRC)/.extracted
	@scripts/lint

# Each guest tier ends with the fuzzer (fuzz/run), its time set here: on
# the plain kernel, on the debug kernel (coverage-guided, KCOV; then
# trinity), on the KCSAN kernel; .ci/run totals their operations.  The
# debug kernel runs the module's paths about ten times slower (KASAN
# under TCG: a 16 MiB ring's munmap takes 0.36 s there, 0.03 s on the
# plain kernel), so a call may come back 10 s after its deadline there
# and on the KCSAN kernel (a send came back 3.1 s late there, on 2 busy
# cores), 3 s on the plain one; and a batch that never waits (a
# NONBLOCK send drained by a receiver as fast as it fills) may copy each
# element in 60 us on the checking kernels, 20 us on the plain one.
FUZZ_check	:= GOSYNC_FUZZ_TIME=120
FUZZ_debug	:= GOSYNC_FUZZ_TIME=150 GOSYNC_TRINITY=40 GOSYNC_FUZZ_ARGS=--bound=10 GOSYNC_FUZZ_UNIT=60
FUZZ_kcsan	:= GOSYNC_FUZZ_TIME=150 GOSYNC_FUZZ_ARGS=--bound=10 GOSYNC_FUZZ_UNIT=60
# The checking tiers leave out the Python tests (the plain tier runs them
# in kernel mode; they reach the module through the same calls as the C
# selftests, and would add 3.5 min to the debug tier, whose CI budget is
# the tightest) and the Go tests (the same: the plain tier runs them in
# kernel mode, through the module's same ioctls and ring; and a
# race-built Go binary under a KASAN or KCSAN kernel in TCG would cost
# the tightest budget minutes more), and give their slower guests longer.
EXCLUDE_checking := --exclude python_test --exclude go_test
VM_TIMEOUT_debug	:= 2700
VM_TIMEOUT_kcsan	:= 1800

check: all $(LINUX_SRC)/.extracted
	@scripts/check --fuzz "$(FUZZ_check)"

# The checking-kernel tiers: the same selftests on a kernel built (once,
# cached outside the clone) from Debian's linux-source-6.1 with checkers.
check-debug check-kcsan: lib selftests fuzz
	@scripts/deps debug
	@flavour=$(@:check-%=%) && kdir=$$(scripts/debug-kernel $$flavour) && \
	rel=$$(scripts/kdir --release "$$kdir") && \
	scripts/kmod-tree "$(B)/kmod/$$rel" && \
	$(MAKE) --no-print-directory -C "$$kdir" M="$(abspath $(B))/kmod/$$rel" W=1 modules && \
	scripts/check --kdir "$$kdir" --guest-only --out $(B)/$@ \
		--timeout $(VM_TIMEOUT_$(@:check-%=%)) $(EXCLUDE_checking) \
		--fuzz "$(FUZZ_$(@:check-%=%))"

run: all
	@scripts/gosync-vm -- scripts/demo

# ------------------------------------------------------------ benchmarks --
# bench/run measures gosync and its peers in one run; results (CSV, JSON,
# a Markdown table, a PNG plot) go to bench/results/<host|guest>/.  The
# lang set's producers: bench/py/pybench.py and $(B)/go/langbench.
BENCH_BINS	:= $(B)/bench/gosync-bench $(B)/bench/gobench $(B)/go/langbench

$(B)/bench/gosync-bench: bench/gosync-bench.c $(B)/lib/libgosync.a
	@mkdir -p $(@D)
	$(CC) $(GOSYNC_CFLAGS) $(CFLAGS) -o $@ $< $(B)/lib/libgosync.a \
		$(TEST_LDLIBS) -lrt $(LDLIBS)

$(B)/bench/gobench: bench/go/gobench.go bench/go/go.mod
	@scripts/deps bench
	@mkdir -p $(@D)
	cd bench/go && GOCACHE=$(abspath $(B))/go-cache GOFLAGS=-mod=mod \
		GOTOOLCHAIN=local go build -o $(abspath $@) .

bench: lib python $(BENCH_BINS)
	@scripts/deps bench
	GOSYNC_BENCH_MODE=standalone bench/run --out bench/results/host \
		--reps 5 --readme README.md
	GOSYNC_BENCH_MODE=standalone bench/run --set lang \
		--out bench/results/host-lang --reps 5 --readme README.md

# In the guest (kernel mode, emulated: ratios only), a tenth of the work.
bench-guest: all $(BENCH_BINS)
	@scripts/deps bench
	@mkdir -p bench/results/guest
	@mkdir -p bench/results/guest-lang
	scripts/gosync-vm --rw $(CURDIR)/bench/results -- sh -c \
		'bench/run --out $(CURDIR)/bench/results/guest --scale 0.1 && \
		 bench/run --set lang --out $(CURDIR)/bench/results/guest-lang --scale 0.1'
	bench/run --out bench/results/guest --readme README.md --readme-only
	bench/run --out bench/results/guest-lang --readme README.md --readme-only

# --------------------------------------------------------------- install --
# An alias man page is a relative symlink to a page in its own directory
# (Debian policy, and 'man -l' resolves it from anywhere, unlike '.so'): it
# is installed as that same link, never as a copy of its target.
install: lib cli python
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/linux \
		$(DESTDIR)$(BINDIR) $(DESTDIR)$(PYTHONDIR)/gosync
	install -m 0644 $(PY_FILES) $(DESTDIR)$(PYTHONDIR)/gosync/
	install -m 0644 $(PY_MOD) $(DESTDIR)$(PYTHONDIR)/gosync/
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/
	install -m 0755 $(B)/lib/libgosync.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libgosync.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libgosync.so.$(SOVERSION)
	ln -sf libgosync.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libgosync.so
	install -m 0644 $(B)/lib/libgosync.a $(DESTDIR)$(LIBDIR)/
	install -m 0644 $(B)/lib/gosync.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 0644 lib/include/gosync.h lib/include/gosync_uring.h \
		$(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 uapi/linux/gosync.h $(DESTDIR)$(INCLUDEDIR)/linux/
	install -d $(DESTDIR)$(UNITDIR)/local-fs.target.wants $(DESTDIR)$(MODLOADDIR)
	install -m 0644 etc/run-gosync.mount $(DESTDIR)$(UNITDIR)/
	ln -sfn ../run-gosync.mount $(DESTDIR)$(UNITDIR)/local-fs.target.wants/run-gosync.mount
	install -m 0644 etc/modules-load.conf $(DESTDIR)$(MODLOADDIR)/gosync.conf
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemctl daemon-reload 2>/dev/null || true; \
	fi
	for d in man/man*; do \
		[ -d "$$d" ] || continue; \
		install -d $(DESTDIR)$(MANDIR)/$${d#man/} || exit 1; \
		for f in $$d/*.$${d#man/man}; do \
			if [ -L "$$f" ]; then \
				ln -sfn "$$(readlink "$$f")" $(DESTDIR)$(MANDIR)/$${f#man/}; \
			elif [ -e "$$f" ]; then \
				install -m 0644 "$$f" $(DESTDIR)$(MANDIR)/$${d#man/}/; \
			fi || exit 1; \
		done; \
	done

modules_install: module
	@kdir=$$(scripts/kdir) && rel=$$(scripts/kdir --release "$$kdir") && \
	$(MAKE) --no-print-directory -C "$$kdir" M="$(abspath $(B))/kmod/$$rel" modules_install && \
	{ [ -n "$(INSTALL_MOD_PATH)" ] || depmod -a "$$rel"; }

# Register the module source with DKMS so every installed kernel gets it.
DKMS_SRC := $(DESTDIR)/usr/src/gosync-$(VERSION)
dkms-install:
	install -d $(DKMS_SRC)/kmod $(DKMS_SRC)/uapi/linux
	install -m 0644 Kbuild dkms.conf $(DKMS_SRC)/
	install -m 0644 kmod/*.c kmod/*.h $(DKMS_SRC)/kmod/
	install -m 0644 uapi/linux/gosync.h $(DKMS_SRC)/uapi/linux/
	[ -n "$(DESTDIR)" ] || { dkms add gosync/$(VERSION) && \
		dkms build gosync/$(VERSION) && dkms install gosync/$(VERSION); }

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libgosync.so* $(DESTDIR)$(LIBDIR)/libgosync.a \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/gosync.pc \
	      $(DESTDIR)$(INCLUDEDIR)/gosync.h $(DESTDIR)$(INCLUDEDIR)/gosync_uring.h \
	      $(DESTDIR)$(INCLUDEDIR)/linux/gosync.h $(DESTDIR)$(BINDIR)/gosync \
	      $(DESTDIR)$(UNITDIR)/local-fs.target.wants/run-gosync.mount \
	      $(DESTDIR)$(UNITDIR)/run-gosync.mount $(DESTDIR)$(MODLOADDIR)/gosync.conf
	rmdir $(DESTDIR)$(UNITDIR)/local-fs.target.wants 2>/dev/null || true
	rm -rf $(DESTDIR)$(PYTHONDIR)/gosync
	for d in man/man*; do \
		for f in $$d/*.$${d#man/man}; do rm -f $(DESTDIR)$(MANDIR)/$${f#man/}; done; \
	done

clean:
	rm -rf $(B)
