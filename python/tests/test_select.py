# SPDX-License-Identifier: GPL-2.0 OR MIT
"""gosync.select: Go's select over channels (and fds, kernel mode)."""

import os
import select as pyselect
import threading

import pytest

import gosync
from conftest import fork_run, is_sa, reap_ok


def test_ready_cases(mode):
    sa = is_sa(mode)
    a, b = gosync.Chan(4, 1, standalone=sa), gosync.Chan(4, 1, standalone=sa)
    b.send(b"bbbb")
    assert gosync.select([(a, "recv"), (b, "recv")], timeout=1) == \
        (1, b"bbbb")
    assert gosync.select([(None, "recv"), (a, "send", b"aaaa")]) == (1, None)
    assert a.recv() == b"aaaa"
    with pytest.raises(TimeoutError):
        gosync.select([(a, "recv"), (None, "send", b"xxxx")], timeout=0.05)
    with pytest.raises(BlockingIOError):
        gosync.select([(a, "recv")], timeout=gosync.NONBLOCK)


def test_both_ready_is_random(mode):
    sa = is_sa(mode)
    a, b = gosync.Chan(1, 1, standalone=sa), gosync.Chan(1, 1, standalone=sa)
    seen = set()
    for _ in range(200):
        a.send(b"a", timeout=0) if len(a) == 0 else None
        b.send(b"b", timeout=0) if len(b) == 0 else None
        seen.add(gosync.select([(a, "recv"), (b, "recv")])[0])
        if seen == {0, 1}:
            break
    assert seen == {0, 1}


def test_closed_cases(mode):
    sa = is_sa(mode)
    a, b = gosync.Chan(2, 1, standalone=sa), gosync.Chan(2, 1, standalone=sa)
    a.close()
    assert gosync.select([(a, "recv")]) == (0, None)
    b.close()
    with pytest.raises(BrokenPipeError) as e:
        gosync.select([(None, "recv"), (b, "send", b"zz")])
    assert e.value.index == 1


def test_bad_cases(mode):
    a = gosync.Chan(2, 1, standalone=is_sa(mode))
    with pytest.raises(ValueError):
        gosync.select([(a, "peek")])
    with pytest.raises(ValueError):
        gosync.select([(a, "send")])
    with pytest.raises(ValueError):
        gosync.select([(a, "send", b"toolong")])
    with pytest.raises(ValueError):
        gosync.select([(a,)])
    a.free()
    with pytest.raises(ValueError):
        gosync.select([(a, "recv")])


def test_wakes_on_a_peer_in_another_process(mode):
    sa = is_sa(mode)
    chans = [gosync.Chan(8, 0, standalone=sa) for _ in range(100)]

    def child():
        chans[73].send(b"from-73!", timeout=30)
    pid = fork_run(child)
    i, v = gosync.select([(c, "recv") for c in chans], timeout=30)
    reap_ok(pid)
    assert (i, v) == (73, b"from-73!")


def test_fd_case(kernel):
    r, w = os.pipe()
    ch = gosync.Chan(1, 1)
    threading.Timer(0.1, os.write, args=(w, b"!")).start()
    i, ev = gosync.select([(ch, "recv"), (r, "fd", pyselect.POLLIN)],
                          timeout=10)
    assert i == 1 and ev & pyselect.POLLIN
    os.close(r)
    os.close(w)


def test_context_done_case(mode):
    ctx = gosync.Context(standalone=is_sa(mode))
    chans = [gosync.Chan(4, 0, standalone=is_sa(mode)) for _ in range(100)]
    threading.Timer(0.1, ctx.cancel).start()
    cases = [(c, "recv") for c in chans] + [(ctx.done(), "recv")]
    assert gosync.select(cases, timeout=30) == (100, None)
    assert ctx.err() != 0
