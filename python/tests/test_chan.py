# SPDX-License-Identifier: GPL-2.0 OR MIT
"""Channels from Python: the API's contract, errors, sharing, signals."""

import errno
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

import pytest

import gosync
from conftest import fork_run, is_sa, reap, reap_ok


def test_version():
    assert gosync.version().count(".") == 2


def test_buffered_fifo_and_shape(mode):
    with gosync.Chan(8, 4, standalone=is_sa(mode)) as ch:
        assert (ch.elem_size, ch.cap, len(ch)) == (8, 4, 0)
        assert ch.standalone == is_sa(mode)
        assert ch.fileno() >= 0
        for i in range(4):
            ch.send(struct.pack("<q", i))
        assert len(ch) == 4
        with pytest.raises(TimeoutError):
            ch.send(b"x" * 8, timeout=0.05)
        with pytest.raises(BlockingIOError):
            ch.send(b"x" * 8, timeout=gosync.NONBLOCK)
        got = [struct.unpack("<q", ch.recv())[0] for _ in range(4)]
        assert got == [0, 1, 2, 3]
        with pytest.raises(TimeoutError):
            ch.recv(timeout=0)


def test_element_size_is_exact(mode):
    ch = gosync.Chan(4, 1, standalone=is_sa(mode))
    for bad in (b"", b"abc", b"abcde"):
        with pytest.raises(ValueError):
            ch.send(bad)
    ch.send(bytearray(b"abcd"))
    assert ch.recv() == b"abcd"
    ch.send(memoryview(b"wxyz"))
    assert ch.recv() == b"wxyz"
    with pytest.raises(TypeError):
        ch.send("abcd")
    ch.free()


def test_bad_arguments(mode):
    sa = is_sa(mode)
    with pytest.raises(OSError) as e:
        gosync.Chan(1 << 40, 1, standalone=sa)
    assert e.value.errno in (errno.EINVAL, errno.E2BIG, errno.ENOMEM)
    with pytest.raises(OSError) as e:
        gosync.Chan.from_fd(-1)
    assert e.value.errno == errno.EINVAL
    r, w = os.pipe()
    os.close(w)
    with pytest.raises(OSError) as e:
        gosync.Chan.from_fd(w)          # closed
    assert e.value.errno == errno.EBADF
    os.close(r)
    r, w = os.pipe()
    with pytest.raises(OSError) as e:
        gosync.Chan.from_fd(r)
    assert e.value.errno == errno.EINVAL
    os.close(r)
    os.close(w)
    ch = gosync.Chan(8, 1, standalone=sa)
    with pytest.raises(ValueError):
        ch.recv_many(0)
    with pytest.raises(ValueError):
        ch.send_many(b"x" * 12)


def test_close_semantics(mode):
    ch = gosync.Chan(2, 4, standalone=is_sa(mode))
    ch.send(b"ab")
    ch.send(b"cd")
    ch.close()
    with pytest.raises(BrokenPipeError):
        ch.send(b"ef")
    with pytest.raises(BrokenPipeError):
        ch.close()
    assert list(ch) == [b"ab", b"cd"]
    assert ch.recv() is None
    assert ch.recv(timeout=0) is None
    assert ch.recv_many(8) == []


def test_freed_handle(mode):
    ch = gosync.Chan(1, 1, standalone=is_sa(mode))
    with ch:
        ch.send(b"x")
    assert ch.freed
    with pytest.raises(ValueError):
        ch.recv()
    ch.free()           # idempotent


def test_unbuffered_rendezvous(mode):
    ch = gosync.Chan(8, 0, standalone=is_sa(mode))
    with pytest.raises(TimeoutError):
        ch.send(b"12345678", timeout=0.05)     # nobody to take it
    got = []
    t = threading.Thread(target=lambda: got.append(ch.recv(timeout=10)))
    t.start()
    ch.send(b"12345678", timeout=10)
    t.join()
    assert got == [b"12345678"]


def test_zero_byte_elements(mode):
    ch = gosync.Chan(0, 2, standalone=is_sa(mode))
    ch.send(b"")
    assert ch.send_many([b""]) == 1
    with pytest.raises(ValueError):
        ch.send(b"x")
    assert ch.recv() == b""
    assert ch.recv_many(5) == [b""]
    ch.close()
    assert ch.recv() is None


def test_many(mode):
    ch = gosync.Chan(4, 16, standalone=is_sa(mode))
    assert ch.send_many(b"".join(struct.pack("<i", i) for i in range(10))) \
        == 10
    assert ch.send_many([struct.pack("<i", i) for i in range(10, 16)]) == 6
    # full: the batch that cannot start times out, as one send does
    with pytest.raises(TimeoutError):
        ch.send_many([b"abcd"], timeout=0.01)
    got = ch.recv_many(100)
    assert [struct.unpack("<i", g)[0] for g in got] == list(range(16))
    # a batch larger than the room: sent as it is taken
    out = []

    def rx():
        while len(out) < 100:
            out.extend(ch.recv_many(7, timeout=10))
    t = threading.Thread(target=rx)
    t.start()
    assert ch.send_many([struct.pack("<i", i) for i in range(100)],
                        timeout=10) == 100
    t.join()
    assert [struct.unpack("<i", g)[0] for g in out] == list(range(100))
    # closed after some were sent: the count, then BrokenPipeError
    ch2 = gosync.Chan(1, 2, standalone=is_sa(mode))
    threading.Timer(0.2, ch2.close).start()
    assert ch2.send_many([b"a", b"b", b"c", b"d"], timeout=10) == 2
    with pytest.raises(BrokenPipeError):
        ch2.send_many([b"e"])


def test_gil_released_while_waiting(mode):
    ch = gosync.Chan(1, 0, standalone=is_sa(mode))
    ticks = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1
    t = threading.Thread(target=spin)
    t.start()
    with pytest.raises(TimeoutError):
        ch.recv(timeout=0.3)
    stop.set()
    t.join()
    # a thread that needs the GIL ran all along (a waiter holding it would
    # have let it run only at the switch interval, if at all)
    assert ticks[0] > 1000


def test_fork_shares_the_channel(mode):
    ch = gosync.Chan(8, 2, standalone=is_sa(mode))

    def child():
        for i in range(100):
            ch.send(struct.pack("<q", i), timeout=30)
        ch.close()
    pid = fork_run(child)
    got = [struct.unpack("<q", m)[0] for m in ch]
    reap_ok(pid)
    assert got == list(range(100))


def test_from_fd_in_another_program(mode):
    ch = gosync.Chan(8, 4, standalone=is_sa(mode))
    fd = ch.fileno()
    code = ("import gosync, sys; c = gosync.Chan.from_fd(%d); "
            "[c.send(b'%%08d' %% i) for i in range(20)]; c.close()" % fd)
    p = subprocess.Popen([sys.executable, "-c", code], pass_fds=[fd])
    got = list(ch)
    assert p.wait(60) == 0
    assert got == [b"%08d" % i for i in range(20)]


def test_fds_are_close_on_exec(mode):
    ch = gosync.Chan(8, 4, standalone=is_sa(mode))
    assert not os.get_inheritable(ch.fileno())
    ch2 = gosync.Chan(8, 4, standalone=is_sa(mode), cloexec=False)
    assert os.get_inheritable(ch2.fileno())


def _interrupt_later(delay, sig=signal.SIGINT):
    pid = os.getpid()

    def fire():
        time.sleep(delay)
        os.kill(pid, sig)
    t = threading.Thread(target=fire, daemon=True)
    t.start()
    return t


def test_sigint_interrupts_a_wait_and_loses_nothing(mode):
    ch = gosync.Chan(8, 0, standalone=is_sa(mode))
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _interrupt_later(0.2)
        with pytest.raises(KeyboardInterrupt):
            ch.recv(timeout=20)
        # a send interrupted likewise is withdrawn: nobody receives it
        _interrupt_later(0.2)
        with pytest.raises(KeyboardInterrupt):
            ch.send(b"withdraw", timeout=20)
    finally:
        signal.signal(signal.SIGINT, old)
    with pytest.raises(TimeoutError):
        ch.recv(timeout=0.1)
    # and the channel still works
    t = threading.Thread(target=ch.send, args=(b"12345678",))
    t.start()
    assert ch.recv(timeout=10) == b"12345678"
    t.join()


def test_handler_that_returns_lets_the_wait_go_on(mode):
    ch = gosync.Chan(8, 1, standalone=is_sa(mode))
    seen = []
    old = signal.signal(signal.SIGUSR1, lambda s, f: seen.append(s))
    try:
        _interrupt_later(0.1, signal.SIGUSR1)
        threading.Timer(0.4, ch.send, args=(b"afterwrd",)).start()
        assert ch.recv(timeout=20) == b"afterwrd"
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert seen == [signal.SIGUSR1]


def test_sigkilled_peer_costs_at_most_its_element(mode):
    ch = gosync.Chan(8, 4, standalone=is_sa(mode))
    ready = gosync.Chan(1, 1, standalone=is_sa(mode))

    def child():
        i = 0
        while True:
            ch.send(struct.pack("<q", i), timeout=30)
            if i == 10:
                ready.send(b"r")
            i += 1
    pid = fork_run(child)
    got = [struct.unpack("<q", ch.recv(timeout=30))[0] for _ in range(20)]
    assert ready.recv(timeout=30) == b"r"
    os.kill(pid, signal.SIGKILL)
    st = reap(pid)
    assert os.WIFSIGNALED(st)
    while True:
        try:
            got.append(struct.unpack("<q", ch.recv(timeout=0.2))[0])
        except TimeoutError:
            break
    assert got == list(range(len(got))) and len(got) >= 11


def test_named(mode, monkeypatch):
    if is_sa(mode):     # a directory of its own, on tmpfs as it must be
        d = tempfile.mkdtemp(dir="/dev/shm")
        monkeypatch.setenv("GOSYNC_SHM_DIR", d)
    name = "/py-named-%d" % os.getpid()
    a = gosync.Chan.open(name, "rw", create=True, exclusive=True,
                         elem_size=8, cap=2, standalone=is_sa(mode))
    try:
        with pytest.raises(FileExistsError):
            gosync.Chan.open(name, "rw", create=True, exclusive=True,
                             elem_size=8, cap=2, standalone=is_sa(mode))
        b = gosync.Chan.open(name, "rw", standalone=is_sa(mode))
        assert (b.elem_size, b.cap) == (8, 2)
        with pytest.raises(OSError) as e:
            gosync.Chan.open(name, "rw", elem_size=4,
                             standalone=is_sa(mode))
        assert e.value.errno == errno.EINVAL
        b.send(b"by name!")
        assert a.recv() == b"by name!"
        with pytest.raises(ValueError):
            gosync.Chan.open(name, "x")
    finally:
        gosync.unlink(name, standalone=is_sa(mode))
    with pytest.raises(FileNotFoundError):
        gosync.Chan.open(name, "rw", standalone=is_sa(mode))
    if is_sa(mode):
        os.rmdir(d)


def test_directional_ends(kernel):
    ch = gosync.Chan(8, 2)
    tx = ch.dup("send")
    rx = ch.dup("recv")
    tx.send(b"one-way!")
    with pytest.raises(OSError) as e:
        tx.recv(timeout=0)
    assert e.value.errno == errno.EBADF
    with pytest.raises(OSError) as e:
        rx.send(b"one-way!")
    assert e.value.errno == errno.EBADF
    assert rx.recv() == b"one-way!"
    with pytest.raises(OSError):
        gosync.Chan(8, 2, standalone=True).dup("send")
    with pytest.raises(ValueError):
        ch.dup("both")


def test_threads_hammer_one_channel(mode):
    ch = gosync.Chan(8, 8, standalone=is_sa(mode))
    n, senders = 2000, 4
    out = []
    lock = threading.Lock()

    def tx(k):
        for i in range(n):
            ch.send(struct.pack("<ii", k, i), timeout=60)

    def rx():
        for m in ch:
            with lock:
                out.append(struct.unpack("<ii", m))
    rs = [threading.Thread(target=rx) for _ in range(3)]
    ts = [threading.Thread(target=tx, args=(k,)) for k in range(senders)]
    for t in rs + ts:
        t.start()
    for t in ts:
        t.join()
    ch.close()
    for t in rs:
        t.join()
    assert sorted(out) == [(k, i) for k in range(senders) for i in range(n)]


def test_send_many_interrupted_says_how_many(mode):
    ch = gosync.Chan(1, 2, standalone=is_sa(mode))
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _interrupt_later(0.2)
        with pytest.raises(KeyboardInterrupt) as e:
            ch.send_many([b"%d" % i for i in range(10)], timeout=20)
    finally:
        signal.signal(signal.SIGINT, old)
    assert e.value.sent == 2 and len(ch) == 2


def test_recv_many_bound(mode):
    ch = gosync.Chan(8, 1, standalone=is_sa(mode))
    with pytest.raises(OSError) as e:
        ch.recv_many(10 ** 10)
    assert e.value.errno == errno.EINVAL


def test_kept_elements_come_first_and_are_not_lost(mode):
    """An element a cancelled asyncio receive took (Chan._keep): len()
    counts it, recv and select return it first, and free() sends it back
    into the channel."""
    sa = is_sa(mode)
    ch = gosync.Chan(1, 4, standalone=sa)
    ch.send(b"b")
    ch._keep(b"a")
    assert len(ch) == 2
    assert gosync.select([(None, "recv"), (ch, "recv")]) == (1, b"a")
    ch._keep(b"c")
    assert ch.recv() == b"c" and ch.recv() == b"b"
    other = gosync.Chan.from_fd(ch.fileno())
    ch._keep(b"d")
    ch.free()
    assert other.recv(timeout=0) == b"d"


def test_fork_leaves_other_threads_calls_behind(mode):
    """A child forked while another thread waits on a handle can free it:
    the waiting thread does not exist there."""
    ch = gosync.Chan(8, 1, standalone=is_sa(mode))
    t = threading.Thread(target=ch.recv, args=(30,))
    t.start()
    time.sleep(0.1)

    def child():
        ch.free()
        assert ch._h == gosync.ffi.NULL, "still held by a thread not here"
    reap_ok(fork_run(child))
    ch.send(b"unblock!")
    t.join()


def test_fork_releases_a_handle_freed_while_in_use(mode):
    ch = gosync.Chan(8, 1, standalone=is_sa(mode))
    t = threading.Thread(target=ch.recv, args=(30,))
    t.start()
    time.sleep(0.1)
    other = gosync.Chan.from_fd(ch.fileno())
    ch.free()                    # deferred: the thread waits with it

    def child():
        assert ch._h == gosync.ffi.NULL, "the child kept a freed handle"
    reap_ok(fork_run(child))
    other.send(b"unblock!")
    t.join()
    assert ch._h == gosync.ffi.NULL
