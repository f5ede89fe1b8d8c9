# SPDX-License-Identifier: GPL-2.0 OR MIT
"""C, Go and Python programs on the same objects: producers and consumers
of every language, separate processes, on one channel (its fd
inherited); select, a WaitGroup and a Mutex across them.  The Go peer
(go/cmd/peer, GOSYNC_GO_PEER) is needed by the tests with Go in them:
they are skipped when GOSYNC_GO_PEER is unset, and fail when it names no
program."""

import mmap
import os
import signal
import struct
import subprocess
import sys
import time

import pytest

import gosync
from conftest import is_sa

PEER_C = os.environ.get("GOSYNC_PEER", "")
PEER_GO = os.environ.get("GOSYNC_GO_PEER", "")
PEER_PY = [sys.executable,
           os.path.join(os.path.dirname(__file__), "interop_peer.py")]


def need_go():
    """The Go peer: skipped without one, a failure when GOSYNC_GO_PEER is
    set and is not a program (a build that lost it must not pass)."""
    if not PEER_GO:
        pytest.skip("no Go peer (GOSYNC_GO_PEER: build/go/peer)")
    if not os.access(PEER_GO, os.X_OK):
        pytest.fail("GOSYNC_GO_PEER=%s is not an executable" % PEER_GO)


@pytest.fixture
def peers():
    if not PEER_C or not os.access(PEER_C, os.X_OK):
        pytest.skip("no C peer (GOSYNC_PEER: build/interop/peer)")
    procs = []

    def start(lang, *args, fds=()):
        if lang == "go":
            need_go()
        cmd = {"c": [PEER_C], "go": [PEER_GO], "py": PEER_PY}[lang] + \
            [str(a) for a in args]
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


@pytest.mark.parametrize("cap", [0, 16])
def test_one_channel_three_languages(mode, peers, cap):
    """Two producers in each of C, Go and Python and a consumer in each
    (separate processes) on one channel: every element arrives exactly
    once, in its producer's order; after close every consumer sees it."""
    need_go()
    ch = gosync.Chan(8, cap, standalone=is_sa(mode))
    fd = ch.fileno()
    n = 300 if cap == 0 else 2000
    langs = ("c", "c", "go", "go", "py", "py")
    cons = [peers(lang, "consume", fd, fds=[fd])
            for lang in ("c", "go", "py")]
    prods = [peers(lang, "produce", fd, k, n, fds=[fd])
             for k, lang in enumerate(langs)]
    for p in prods:
        assert p.wait(120) == 0
    ch.close()
    outs = [c.communicate(timeout=120)[0] for c in cons]
    assert [c.returncode for c in cons] == [0] * 3
    _check_stream(outs, {k: n for k in range(len(langs))})


@pytest.mark.parametrize("lang", ["py", "go"])
def test_killed_producer_costs_at_most_its_element(mode, peers, lang):
    """A Python or Go producer SIGKILLed mid-stream: the consumers (C,
    Python and Go when there is one) lose nothing of anyone else's and at
    most the victim's element in flight."""
    if lang == "go":
        need_go()
    ch = gosync.Chan(8, 4, standalone=is_sa(mode))
    fd = ch.fileno()
    cons = [peers(c, "consume", fd, fds=[fd])
            for c in ("c", "py") + (("go",) if PEER_GO else ())]
    victim = peers(lang, "produce", fd, 9, 10 ** 6, 200, fds=[fd])
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


def test_select_with_go_selecting(mode, peers):
    """Go selecting (beside C and Python) over a buffered and an
    unbuffered channel fed by producers of all three languages."""
    need_go()
    sa = is_sa(mode)
    a, b = gosync.Chan(8, 4, standalone=sa), gosync.Chan(8, 0, standalone=sa)
    fds = [a.fileno(), b.fileno()]
    sel = [peers(lang, "select", *fds, fds=fds) for lang in ("go", "go", "c",
                                                            "py")]
    chan_of = {0: 0, 1: 1, 2: 0, 3: 1, 4: 0, 5: 1}
    prods = [peers(lang, "produce", fds[chan_of[k]], k, 200, fds=fds)
             for k, lang in enumerate(("go", "go", "c", "c", "py", "py"))]
    for p in prods:
        assert p.wait(120) == 0
    a.close()
    b.close()
    outs = [s.communicate(timeout=120)[0] for s in sel]
    assert [s.returncode for s in sel] == [0] * 4
    for out in outs:
        for ln in out.splitlines()[:-1]:
            idx, pid, _ = map(int, ln.split())
            assert idx == chan_of[pid], "element of %d from case %d" % (
                pid, idx)
    _check_stream(outs, {k: 200 for k in range(6)})


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


def test_waitgroup_shared_by_c_go_and_python(mode, peers):
    need_go()
    wg = gosync.WaitGroup(standalone=is_sa(mode))
    fd = wg.fileno()
    work = (("c", 1), ("go", 2), ("py", 2), ("c", 2), ("go", 1), ("py", 1))
    wg.add(sum(n for _, n in work))
    ps = [peers(lang, "wg", fd, n, fds=[fd]) for lang, n in work]
    wg.wait(timeout=60)
    for p in ps:
        assert p.wait(30) == 0
    with pytest.raises(OSError):
        wg.done()              # below zero: every done was counted


def test_mutex_counter_c_go_and_python(mode, peers):
    """C, Go and Python processes (two each) lock one Mutex around a
    plain read-and-write of a shared 64-bit counter: no update is lost.
    The test holds the lock while they start, so that they all contend
    from their first lock on (a run with a mutex each instead of one
    usually loses updates: measured, 4 runs in 6 on a 2-CPU host)."""
    need_go()
    mu = gosync.Mutex(standalone=is_sa(mode))
    shm = os.memfd_create("gosync-interop-counter")
    try:
        os.ftruncate(shm, mmap.PAGESIZE)
        fds = [mu.fileno(), shm]
        work = (("c", 50000), ("go", 50000), ("py", 10000)) * 2
        mu.lock()
        ps = [peers(lang, "lock", fds[0], shm, n, fds=fds)
              for lang, n in work]
        time.sleep(1)           # every peer started, most of them waiting
        mu.unlock()
        for p in ps:
            assert p.wait(120) == 0
        with mmap.mmap(shm, 8, mmap.MAP_SHARED, mmap.PROT_READ) as m:
            got, = struct.unpack_from("=Q", m, 0)
        assert got == sum(n for _, n in work), "lost updates"
        assert mu.trylock(), "left locked"
        mu.unlock()
    finally:
        os.close(shm)
