# SPDX-License-Identifier: GPL-2.0 OR MIT
"""Contexts and errgroups from Python."""

import errno
import os
import signal
import time

import pytest

import gosync
from conftest import fork_run, is_sa, reap, reap_ok


def test_cancel_tree(mode):
    root = gosync.Context(standalone=is_sa(mode))
    a = root.child()
    a1 = a.child()
    b = root.child()
    assert (a1.err(), a1.cause(), a1.deadline()) == (0, 0, None)

    def watch():
        assert a1.done().recv(timeout=30) is None
        assert a1.err() == errno.ECANCELED and a1.cause() == errno.EPIPE
        assert b.err() == 0
    pid = fork_run(watch)
    time.sleep(0.05)
    a.cancel(errno.EPIPE)
    a.cancel(errno.EIO)                # the first cause stays
    reap_ok(pid)
    assert a.cause() == errno.EPIPE and a.err() == errno.ECANCELED
    assert b.err() == 0 and root.err() == 0
    root.cancel()
    assert b.cause() == errno.ECANCELED
    with pytest.raises(OSError) as e:
        root.child().cancel(-3)
    assert e.value.errno == errno.EINVAL


def test_deadline(mode):
    root = gosync.Context(standalone=is_sa(mode))
    d = root.with_timeout(0.05)
    ch = gosync.Chan(8, 0, standalone=is_sa(mode))
    with pytest.raises(TimeoutError):
        ch.recv(ctx=d)
    assert d.err() == errno.ETIMEDOUT
    assert d.cause() == errno.ETIMEDOUT
    far = root.with_timeout(3600)
    capped = far.with_timeout(7200)
    assert capped.deadline() == far.deadline()
    # a wait bounded by both a context and a timeout
    with pytest.raises(TimeoutError):
        ch.send(b"12345678", timeout=0.05, ctx=far)
    assert far.err() == 0


def test_recv_ctx_cancelled(mode):
    root = gosync.Context(standalone=is_sa(mode))
    ch = gosync.Chan(8, 1, standalone=is_sa(mode))
    c = root.child()
    import threading
    threading.Timer(0.1, c.cancel, args=(errno.ESHUTDOWN,)).start()
    with pytest.raises(OSError) as e:
        ch.recv(ctx=c)
    assert e.value.errno == errno.ECANCELED
    assert c.cause() == errno.ESHUTDOWN
    ch.send(b"still ok", timeout=0)
    assert ch.recv(ctx=root) == b"still ok"


def test_values(mode):
    root = gosync.Context(standalone=is_sa(mode))
    a = root.with_value("req", b"id-1")
    b = a.with_value(b"req", b"id-2")
    c = b.with_value("trace", b"")
    assert (a.value("req"), b.value("req"), c.value("req")) == \
        (b"id-1", b"id-2", b"id-2")
    assert c.value("trace") == b"" and a.value("trace") is None

    def other():
        d = gosync.Context.from_fd(c.fileno())
        assert d.value("req") == b"id-2"
    reap_ok(fork_run(other))
    with pytest.raises(OSError) as e:
        root.with_value("", b"x")
    assert e.value.errno == errno.EINVAL


def test_cancel_on_exit(kernel):
    ctl = gosync.Chan(4, 1)
    done = gosync.Chan(4, 4)

    def maker():
        c = gosync.Context(cancel_on_exit=True)

        def worker():
            ch = gosync.Chan(4, 0)
            try:
                ch.recv(ctx=c)
            except OSError as e:
                assert e.errno == errno.ECANCELED
                done.send(b"%4d" % c.cause())
        fork_run(worker)
        ctl.send(b"made")
        time.sleep(60)
    pid = fork_run(maker)
    assert ctl.recv(timeout=30) == b"made"
    os.kill(pid, signal.SIGKILL)
    reap(pid)
    assert done.recv(timeout=30) == b"%4d" % errno.ESRCH


def test_group_first_error_wins(kernel):
    g = gosync.Group()

    def fail(ctx, code, delay):
        time.sleep(delay)
        raise OSError(code, "task failed")

    def wait_done(ctx):
        ctx.wait(timeout=30)
        return -ctx.err()
    g.go(fail, errno.EPROTO, 0.05)
    g.go(wait_done)
    g.fork(wait_done)
    with pytest.raises(OSError) as e:
        g.wait()
    assert e.value.errno == errno.EPROTO
    assert g.ctx.err() == errno.ECANCELED and g.ctx.cause() == errno.EPROTO
    g.free()


def test_group_python_exception(kernel):
    g = gosync.Group()

    def boom(ctx):
        raise KeyError("first")
    g.go(boom)
    with pytest.raises(KeyError):
        g.wait()


def test_group_limit_and_try_go(kernel):
    g = gosync.Group()
    g.set_limit(2)
    running = gosync.Chan(1, 8)
    peak = [0, 0]
    import threading
    lk = threading.Lock()

    def task(ctx):
        with lk:
            peak[0] += 1
            peak[1] = max(peak[1], peak[0])
        time.sleep(0.05)
        with lk:
            peak[0] -= 1
    for _ in range(6):
        g.go(task)
    g.wait()
    assert peak[1] == 2
    gate = gosync.Chan(1, 0)
    g.go(lambda ctx: gate.recv(timeout=30) and 0)
    g.go(lambda ctx: gate.recv(timeout=30) and 0)
    assert g.try_go(task) is False
    gate.send(b"1")
    gate.send(b"2")
    g.wait()
    with pytest.raises(OSError) as e:
        g.set_limit(0)
    assert e.value.errno == errno.EINVAL
    running.free()


def test_group_forked_task_killed(kernel):
    g = gosync.Group()

    def crash(ctx):
        os.kill(os.getpid(), signal.SIGSEGV)

    def patient(ctx):
        ctx.wait(timeout=30)
        return 0
    g.fork(patient)
    g.fork(crash)
    with pytest.raises(OSError) as e:
        g.wait()
    assert e.value.errno == errno.EOWNERDEAD
    assert g.ctx.cause() == errno.EOWNERDEAD


def test_group_wait_with_nothing_started(kernel):
    g = gosync.Group()
    g.wait()
    g.free()


def test_owned_handles_live_with_their_owner(mode):
    """A context's done channel and a group's context belong to their
    owner: using them keeps it alive, and freeing it frees them once."""
    import gc
    ctx = gosync.Context(standalone=is_sa(mode))
    done = ctx.done()
    assert ctx.done() is done
    del ctx
    gc.collect()
    with pytest.raises(TimeoutError):
        done.recv(timeout=0)           # still usable: its context lives
    done._owner.cancel()
    assert done.recv(timeout=0) is None
    owner = done._owner
    owner.free()
    assert done.freed
    with pytest.raises(ValueError):
        done.recv(timeout=0)
    del owner, done
    gc.collect()
    for _ in range(50):                # a double free would show here
        c = gosync.Context(standalone=is_sa(mode))
        c.done()
        c.free()


def test_group_context_lives_with_the_group(kernel):
    import gc
    g = gosync.Group()
    c = g.ctx
    del g
    gc.collect()
    assert c.err() == 0
    c._owner.free()
    assert c.freed
    del c
    gc.collect()


def test_handle_counts_survive_misuse(mode):
    """Waits bounded by a context and a timeout, and calls on a freed
    context, leave its user count as it was: free() then frees it, once,
    after the last wait that uses it."""
    import threading
    sa = is_sa(mode)
    ctx = gosync.Context(standalone=sa)
    ch = gosync.Chan(8, 1, standalone=sa)
    for _ in range(3):
        with pytest.raises(TimeoutError):
            ch.recv(timeout=0.01, ctx=ctx)
    ch.send(b"12345678", timeout=0, ctx=ctx)       # tries once: room
    assert ch.recv(timeout=0, ctx=ctx) == b"12345678"
    assert not ctx._in
    got = []
    t = threading.Thread(target=lambda: got.append(ch.recv(ctx=ctx)))
    t.start()
    time.sleep(0.1)
    ctx.free()                   # deferred: the thread waits with it
    with pytest.raises(ValueError):
        ctx.child()
    with pytest.raises(ValueError):
        ch.recv(ctx=ctx)
    assert ctx._h != gosync.ffi.NULL
    ch.send(b"87654321")
    t.join(30)
    assert got == [b"87654321"]
    assert ctx._h == gosync.ffi.NULL and not ctx._in


def test_done_is_one_object_and_survives_with(mode):
    import threading
    ctx = gosync.Context(standalone=is_sa(mode))
    seen = []
    ts = [threading.Thread(target=lambda: seen.append(ctx.done()))
          for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len({id(d) for d in seen}) == 1
    with ctx.done() as d:
        assert d is seen[0]
    ctx.cancel()
    assert ctx.wait(timeout=5) == errno.ECANCELED


def test_timeouts_of_every_shape(mode):
    ch = gosync.Chan(1, 1, standalone=is_sa(mode))
    ch.send(b"x", timeout=float("inf"))
    assert ch.recv(timeout=1e300) == b"x"
    with pytest.raises(ValueError):
        ch.recv(timeout=float("nan"))
    ctx = gosync.Context(standalone=is_sa(mode))
    with pytest.raises(BlockingIOError):
        ch.recv(timeout=gosync.NONBLOCK, ctx=ctx)
    ctx.cancel()
    with pytest.raises(OSError) as e:
        ch.recv(timeout=0, ctx=ctx)
    assert e.value.errno == errno.ECANCELED


def test_group_fork_at_the_limit(kernel):
    g = gosync.Group()
    g.set_limit(1)
    g.go(lambda ctx: time.sleep(0.3) or 0)
    g.fork(lambda ctx: 0)          # waits for the thread task to end
    g.wait()


def test_group_wait_raises_the_first_failure(kernel):
    g = gosync.Group()

    def late(ctx):
        time.sleep(0.3)
        raise ValueError("second")
    g.go(lambda ctx: -errno.EIO)
    g.go(late)
    with pytest.raises(OSError) as e:
        g.wait()
    assert e.value.errno == errno.EIO and not isinstance(e.value, ValueError)


def test_group_free_waits_for_its_tasks(kernel):
    out = []
    with gosync.Group() as g:
        def task(ctx):
            time.sleep(0.2)
            out.append(ctx.err())
        g.go(task)
        g.go(task)
    assert out == [0, 0]


def test_group_fork_copies_the_caller_at_the_call(kernel):
    g = gosync.Group()
    state = [1]
    for _ in range(5):
        g.fork(lambda ctx: 0 if state[0] == 1 else -errno.EINVAL)
    state[0] = 2                 # after fork() returned: not in the child
    g.wait()


def test_group_task_result_eintr_is_an_error_not_a_retry(kernel):
    g = gosync.Group()
    g.go(lambda ctx: -errno.EINTR)
    with pytest.raises(InterruptedError):
        g.wait()
    g.free()


def test_group_dropped_by_its_own_task(kernel):
    """The last reference to a group dropped in its own task thread: its
    free must not wait there for that very thread (it would never end)."""
    def threads():
        return len(os.listdir("/proc/self/task"))
    before = threads()

    def start():
        g = gosync.Group()
        g.go(lambda ctx: time.sleep(0.2) or 0)
    start()                      # no wait: the task holds the last ref
    end = time.monotonic() + 20
    while threads() > before and time.monotonic() < end:
        time.sleep(0.05)
    assert threads() == before, "a task thread never ended"


def test_tiny_timeout_with_a_context_still_tries(mode):
    ch = gosync.Chan(1, 1, standalone=is_sa(mode))
    ctx = gosync.Context(standalone=is_sa(mode))
    ch.send(b"t")
    assert ch.recv(timeout=1e-9, ctx=ctx) == b"t"
    ch._keep(b"k")
    ctx.cancel()
    with pytest.raises(OSError) as e:
        ch.recv(ctx=ctx)             # a done context wins over the stash
    assert e.value.errno == errno.ECANCELED
    assert ch.recv(timeout=0) == b"k"


def test_nan_timeout_with_a_context(mode):
    ch = gosync.Chan(1, 4, standalone=is_sa(mode))
    ctx = gosync.Context(standalone=is_sa(mode))
    with pytest.raises(ValueError):
        ch.send(b"x", timeout=float("nan"), ctx=ctx)
    assert len(ch) == 0
