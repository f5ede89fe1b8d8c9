# SPDX-License-Identifier: GPL-2.0 OR MIT
"""Shared fixtures: every test that takes `mode` runs once per mode in
GOSYNC_PY_MODES ("kernel" needs gosync.ko: the guest; "standalone" runs
anywhere); `kernel` runs only in kernel mode and is skipped elsewhere."""

import os
import signal
import sys
import time

import pytest

MODES = [m for m in os.environ.get("GOSYNC_PY_MODES",
                                   "standalone").split(",") if m]


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


@pytest.fixture
def kernel():
    if "kernel" not in MODES:
        pytest.skip("kernel mode only (gosync.ko: in the guest)")
    return "kernel"


def is_sa(mode):
    return mode == "standalone"


def fork_run(fn, *args):
    """Run fn(*args) in a forked child; return its pid.  The child exits
    0 if fn returned, 1 (with the traceback) if it raised."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            fn(*args)
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def reap(pid, timeout=60):
    """The child's wait status; fails the test if it does not end."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            return st
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("child %d did not end in %d s" % (pid, timeout))


def reap_ok(pid, timeout=60):
    st = reap(pid, timeout)
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0, \
        "child ended with wait status %#x" % st
