# SPDX-License-Identifier: GPL-2.0 OR MIT
"""The sync objects from Python: threads and processes together."""

import errno
import os
import signal
import struct
import threading
import time

import pytest

import gosync
from conftest import fork_run, is_sa, reap, reap_ok


def test_waitgroup_across_processes(mode):
    sa = is_sa(mode)
    wg = gosync.WaitGroup(standalone=sa)
    out = gosync.Chan(4, 8, standalone=sa)
    wg.add(4)
    pids = []
    for k in range(4):
        def work(k=k):
            time.sleep(0.05)
            out.send(struct.pack("<i", k))
            wg.done()
        pids.append(fork_run(work))
    wg.wait(timeout=30)
    assert len(out) == 4
    for p in pids:
        reap_ok(p)
    with pytest.raises(OSError) as e:
        wg.add(-1)
    assert e.value.errno == errno.EINVAL
    wg.add(1)
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0.05)
    wg.done()
    wg.wait(timeout=0)


def test_waitgroup_by_fd_and_name(mode, monkeypatch):
    sa = is_sa(mode)
    wg = gosync.WaitGroup(standalone=sa)
    w2 = gosync.WaitGroup.from_fd(wg.fileno())
    w2.add(1)
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0)
    wg.done()
    wg.wait(timeout=0)
    if sa:
        import tempfile
        monkeypatch.setenv("GOSYNC_SHM_DIR", tempfile.mkdtemp(dir="/dev/shm"))
    name = "/py-wg-%d" % os.getpid()
    a = gosync.WaitGroup.open(name, create=True, exclusive=True,
                              standalone=sa)
    b = gosync.WaitGroup.open(name, standalone=sa)
    a.add(1)
    with pytest.raises(TimeoutError):
        b.wait(timeout=0)
    b.done()
    a.wait(timeout=0)
    gosync.unlink(name, standalone=sa)


def test_mutex_counts_exactly(mode):
    sa = is_sa(mode)
    m = gosync.Mutex(standalone=sa)
    cell = gosync.Chan(8, 1, standalone=sa)       # a shared counter
    cell.send(struct.pack("<q", 0))

    def bump(n):
        for _ in range(n):
            with m:
                v = struct.unpack("<q", cell.recv())[0]
                cell.send(struct.pack("<q", v + 1))
    pids = [fork_run(bump, 200) for _ in range(2)]
    ts = [threading.Thread(target=bump, args=(200,)) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for p in pids:
        reap_ok(p)
    assert struct.unpack("<q", cell.recv())[0] == 800


def test_mutex_try_and_timeout(mode):
    m = gosync.Mutex(standalone=is_sa(mode))
    assert m.trylock()
    assert not m.trylock()
    assert not m.acquire(timeout=0.05)
    with pytest.raises(TimeoutError):
        m.lock(timeout=0.01)
    m.unlock()
    assert m.acquire()
    m.release()
    with pytest.raises(OSError) as e:
        m.unlock()
    assert e.value.errno == errno.EPERM


def test_mutex_dead_holder(kernel):
    m = gosync.Mutex()
    got = gosync.Chan(1, 1)

    def hold():
        m.lock()
        got.send(b"l")
        time.sleep(60)
    pid = fork_run(hold)
    assert got.recv(timeout=30) == b"l"
    os.kill(pid, signal.SIGKILL)
    reap(pid)
    with pytest.raises(gosync.OwnerDeadError):
        m.lock(timeout=30)
    m.consistent()          # repaired: held by us, usable again
    m.unlock()
    with m:
        pass


def test_rwmutex(mode):
    rw = gosync.RWMutex(standalone=is_sa(mode))
    with rw.reader():
        assert rw.tryrlock()
        assert not rw.trylock()
        rw.runlock()
    with rw.writer():
        assert not rw.tryrlock()
        with pytest.raises(TimeoutError):
            rw.rlock(timeout=0.02)
    with rw:
        pass
    readers = []
    rw.lock()

    def reader():
        with rw.reader():
            readers.append(1)
    ts = [threading.Thread(target=reader) for _ in range(3)]
    for t in ts:
        t.start()
    time.sleep(0.05)
    assert readers == []
    rw.unlock()
    for t in ts:
        t.join()
    assert readers == [1, 1, 1]


def test_once_across_processes(mode):
    sa = is_sa(mode)
    once = gosync.Once(standalone=sa)
    runs = gosync.Chan(1, 16, standalone=sa)

    def body():
        runs.send(b"x")

    def caller():
        once.do(body)
    pids = [fork_run(caller) for _ in range(4)]
    ran_here = once.do(body)
    for p in pids:
        reap_ok(p)
    assert len(runs) == 1
    assert once.do(body) is False
    assert isinstance(ran_here, bool)


def test_once_raises_and_counts_as_done(mode):
    once = gosync.Once(standalone=is_sa(mode))

    def boom():
        raise KeyError("boom")
    with pytest.raises(KeyError):
        once.do(boom)
    assert once.do(boom) is False


def test_cond(mode):
    sa = is_sa(mode)
    m, c = gosync.Mutex(standalone=sa), gosync.Cond(standalone=sa)
    state = {"ready": False}
    woke = []

    def waiter():
        with m:
            while not state["ready"]:
                c.wait(m, timeout=30)
            woke.append(1)
    ts = [threading.Thread(target=waiter) for _ in range(3)]
    for t in ts:
        t.start()
    time.sleep(0.05)
    with m:
        state["ready"] = True
        c.broadcast()
    for t in ts:
        t.join()
    assert woke == [1, 1, 1]
    with m:
        with pytest.raises(TimeoutError):
            c.wait(m, timeout=0.02)
    c.signal()
