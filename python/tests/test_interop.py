# SPDX-License-Identifier: GPL-2.0 OR MIT
"""C and Python programs on the same objects: producers and consumers of
both languages, separate processes, on one channel (its fd inherited)."""

import os
import signal
import subprocess
import sys
import time

import pytest

import gosync
from conftest import is_sa

PEER_C = os.environ.get("GOSYNC_PEER", "")
PEER_PY = [sys.executable,
           os.path.join(os.path.dirname(__file__), "interop_peer.py")]


@pytest.fixture
def peers():
    if not PEER_C or not os.access(PEER_C, os.X_OK):
        pytest.skip("no C peer (GOSYNC_PEER: build/interop/peer)")
    procs = []

    def start(lang, *args, fds=()):
        cmd = ([PEER_C] if lang == "c" else PEER_PY) + [str(a) for a in args]
        p = subprocess.Popen(cmd, pass_fds=list(fds),
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        return p
    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def _check_stream(outputs, expect):
    """outputs: consumer stdouts; expect: {producer id: count} (count None:
    a killed producer, whose elements must be a prefix 0..k-1)."""
    seen = {}
    for out in outputs:
        lines = out.splitlines()
        assert lines and lines[-1] == "closed", "a consumer did not see close"
        last = {}
        for ln in lines[:-1]:
            pid, seq = map(int, ln.split()[-2:])
            assert seq > last.get(pid, -1), "out of order from %d" % pid
            last[pid] = seq
            seen.setdefault(pid, []).append(seq)
    for pid, n in expect.items():
        got = sorted(seen.pop(pid, []))
        if n is None:
            assert got == list(range(len(got))), \
                "producer %d: lost or doubled elements" % pid
        else:
            assert got == list(range(n)), \
                "producer %d: %d of %d, or doubled" % (pid, len(got), n)
    assert not seen, "elements from nobody: %r" % list(seen)


@pytest.mark.parametrize("cap", [0, 16])
def test_one_channel_both_languages(mode, peers, cap):
    ch = gosync.Chan(8, cap, standalone=is_sa(mode))
    fd = ch.fileno()
    n = 300 if cap == 0 else 2000
    cons = [peers(lang, "consume", fd, fds=[fd])
            for lang in ("c", "py", "c", "py")]
    prods = [peers(lang, "produce", fd, k, n, fds=[fd])
             for k, lang in enumerate(("c", "c", "py", "py"))]
    for p in prods:
        assert p.wait(120) == 0
    ch.close()
    outs = [c.communicate(timeout=120)[0] for c in cons]
    assert [c.returncode for c in cons] == [0] * 4
    _check_stream(outs, {k: n for k in range(4)})


def test_killed_python_producer_costs_at_most_its_element(mode, peers):
    ch = gosync.Chan(8, 4, standalone=is_sa(mode))
    fd = ch.fileno()
    cons = [peers(lang, "consume", fd, fds=[fd]) for lang in ("c", "py")]
    victim = peers("py", "produce", fd, 9, 10 ** 6, 200, fds=[fd])
    good = peers("c", "produce", fd, 1, 500, 100, fds=[fd])
    time.sleep(0.5)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(30) == -signal.SIGKILL
    assert good.wait(120) == 0
    ch.close()
    outs = [c.communicate(timeout=120)[0] for c in cons]
    _check_stream(outs, {1: 500, 9: None})


def test_select_across_languages(mode, peers):
    sa = is_sa(mode)
    a, b = gosync.Chan(8, 2, standalone=sa), gosync.Chan(8, 0, standalone=sa)
    fds = [a.fileno(), b.fileno()]
    sel = [peers(lang, "select", *fds, fds=fds) for lang in ("c", "py")]
    prods = [peers("py", "produce", fds[0], 0, 200, fds=fds),
             peers("c", "produce", fds[1], 1, 200, fds=fds),
             peers("c", "produce", fds[0], 2, 200, fds=fds),
             peers("py", "produce", fds[1], 3, 200, fds=fds)]
    for p in prods:
        assert p.wait(120) == 0
    a.close()
    b.close()
    outs = [s.communicate(timeout=120)[0] for s in sel]
    for out in outs:
        for ln in out.splitlines()[:-1]:
            idx, pid, _ = map(int, ln.split())
            assert idx == (0 if pid in (0, 2) else 1)
    _check_stream(outs, {k: 200 for k in range(4)})


def test_waitgroup_shared_by_c_and_python(mode, peers):
    wg = gosync.WaitGroup(standalone=is_sa(mode))
    fd = wg.fileno()
    wg.add(6)
    ps = [peers(lang, "wg", fd, n, fds=[fd])
          for lang, n in (("c", 1), ("py", 2), ("c", 2), ("py", 1))]
    wg.wait(timeout=60)
    for p in ps:
        assert p.wait(30) == 0
    with pytest.raises(OSError):
        wg.done()              # below zero: every done was counted
