# SPDX-License-Identifier: GPL-2.0 OR MIT
"""Go-style channels, select and sync objects shared between processes.

gosync is libgosync for Python: the same channels, in the same shared
ring, as C (and Go) programs use, on the gosync kernel module
(``/dev/gosync``) or standalone (a memfd and futexes, no module).  A send
into a channel with room and a receive from a non-empty one make no system
call in kernel mode; a wait sleeps in the kernel with the GIL released.

Conventions:

* ``timeout`` is in seconds: ``None`` waits for ever; ``0`` or less tries
  once.  A wait that runs out raises ``TimeoutError``.
* Every other failure is an ``OSError`` with the library's errno (so
  ``BrokenPipeError`` for a send on a closed channel, and so on).
* A signal whose Python handler raises (Ctrl-C: ``KeyboardInterrupt``)
  ends a wait with that exception, and nothing is lost: a wait that was
  interrupted sent or received nothing; if the exception comes just as
  the call succeeded, an element received is kept for the handle's next
  receive, a send that went through says so (the exception's ``sent``:
  the number sent), and a lock taken is given back.  A handler that
  returns lets the wait go on, with the same deadline.
* Objects are shared with other processes by their fd (``fileno()``):
  fork, ``subprocess`` with ``pass_fds``, ``socket.send_fds``, then
  ``from_fd``; or by name (``open``).  Their fds are close-on-exec unless
  ``cloexec=False``, as Python's own are.
* ``with ch:`` frees the handle at the end of the block (a channel's
  ``close()`` is Go's close); ``with mutex:`` locks and unlocks.
"""

import asyncio
import collections
import errno as _errno
import os
import sys
import threading
import traceback
import weakref

from ._gosync import ffi, lib

__all__ = [
    "NONBLOCK", "OwnerDeadError",
    "Chan", "select", "WaitGroup", "Mutex", "RWMutex", "Once", "Cond",
    "Context", "Group", "unlink", "now", "version",
    "SEND", "RECV", "FDREADY",
]

SEND = "send"
RECV = "recv"
FDREADY = "fd"

_FOREVER_NS = (1 << 63) - 1
_EINTR = -_errno.EINTR
_FOREVER = lib.GOSYNC_FOREVER
_MAIN = threading.main_thread().ident
_get_ident = threading.get_ident
_RES = []            # the main thread's result stores, for reuse


def version():
    """The libgosync version this package was built with ("0.1.0")."""
    return ffi.string(lib.gosync_version()).decode()


def now():
    """CLOCK_MONOTONIC in seconds, the clock of every deadline."""
    return lib.gosync_now() / 1e9


class _NonBlock:
    """timeout=_NONBLOCK: GOSYNC_NONBLOCK (-EAGAIN: BlockingIOError)."""


_NONBLOCK = _NonBlock()
NONBLOCK = _NONBLOCK         # timeout=gosync.NONBLOCK: never wait (BlockingIOError)


def _deadline(timeout):
    if timeout is _NONBLOCK:
        return lib.GOSYNC_NONBLOCK
    if timeout is None:
        return lib.GOSYNC_FOREVER
    t = float(timeout)
    if t != t:
        raise ValueError("timeout is NaN")
    if t <= 0:
        return lib.gosync_now()      # past: try once, then -ETIMEDOUT
    if t >= _FOREVER_NS / 1e9:
        return lib.GOSYNC_FOREVER
    return lib.gosync_after(min(int(t * 1e9), _FOREVER_NS))


def _no_wait(timeout):
    """True for a timeout that only tries (0 or less, or NONBLOCK)."""
    return timeout is _NONBLOCK or (timeout is not None and
                                    float(timeout) <= 0)


def _raise(r, what=None):
    e = -r
    msg = os.strerror(e)
    if what:
        msg = "%s: %s" % (what, msg)
    raise OSError(e, msg)


def _check(r, what=None):
    if r < 0:
        _raise(r, what)
    return r


def _retry(fn, *args):
    """Call fn until it is not -EINTR.  Between two calls the interpreter
    runs the pending signal handlers: one that raises ends the wait."""
    r = fn(*args)
    while r == _EINTR:
        r = fn(*args)
    return r


def _flags(standalone=False, cloexec=True):
    f = 0
    if standalone:
        f |= lib.GOSYNC_STANDALONE
    if cloexec:
        f |= lib.GOSYNC_CLOEXEC
    return f


def _fd(obj):
    return obj if isinstance(obj, int) else obj.fileno()


# Every handle, for the forked child's lock reset (below).
_handles = weakref.WeakSet()


class _Handle:
    """A library handle that may be freed while other threads use it: the
    last user of a freed handle frees it.  Each call using the handle has
    an entry in _in while it does (list.append and list.pop are atomic
    under the GIL, so the common path takes no lock): a freer sets _freed
    first and releases only when _in is empty, and a user that appended
    after that sees _freed and backs out.  An owned handle (a context's
    done channel, a group's context) belongs to its owner: while it is in
    use its owner is too, it is freed with its owner, and its own free()
    does nothing."""

    _free_fn = None

    def __init__(self, h, owner=None):
        self._lock = threading.Lock()    # the release, once
        self._h = h
        self._in = []
        self._freed = False
        self._released = False
        self._owner = owner
        if owner is not None:
            self._free_fn = None
        _handles.add(self)

    def _get(self):
        owner = self._owner
        if owner is not None:
            owner._get()
        tid = _get_ident()
        self._in.append(tid)
        if self._freed:
            self._in.remove(tid)
            self._maybe_release()
            if owner is not None:
                owner._put()
            raise ValueError("%s: the handle was freed"
                             % type(self).__name__)
        return self._h

    def _put(self):
        self._in.remove(_get_ident())
        if self._freed:
            self._maybe_release()
        if self._owner is not None:
            self._owner._put()

    def _maybe_release(self):
        with self._lock:
            if self._released or self._in:
                return
            self._released = True
        self._release()

    def _release(self):
        h, self._h = self._h, ffi.NULL
        fn = self._free_fn
        if h != ffi.NULL and fn is not None:
            fn(h)

    def _call(self, fn, *args):
        """fn(handle, *args), retried on -EINTR (between two calls the
        interpreter runs the pending signal handlers)."""
        h = self._get()
        try:
            r = fn(h, *args)
            while r == _EINTR:
                r = fn(h, *args)
            return r
        finally:
            # _put inlined: a second raising signal handler would run at
            # its entry, before the count was given back.
            self._in.remove(_get_ident())
            if self._freed:
                self._maybe_release()
            if self._owner is not None:
                self._owner._put()

    def free(self):
        """Free the handle (and close its fd); the object lives on in the
        other handles and processes that have it.  Idempotent; the last
        call using the handle in another thread frees it."""
        if self._owner is not None or self._freed:
            return
        self._freed = True
        self._maybe_release()

    @property
    def freed(self):
        o = self._owner
        return self._freed or (o is not None and o.freed)

    def __del__(self):
        try:
            self.free()
        except Exception:
            pass


class _Using:
    """with _Using(obj) as h: obj's handle, held for the block."""

    def __init__(self, obj):
        self._obj = obj

    def __enter__(self):
        return self._obj._get()

    def __exit__(self, *exc):
        self._obj._put()


def _after_fork_in_child():
    # A lock another thread held at the fork stays held in the child for
    # ever: the child starts with every handle's lock free.  The thread
    # that forked is the child's main thread.
    global _MAIN
    _MAIN = me = threading.get_ident()
    for hd in list(_handles):
        hd._lock = threading.Lock()
        # calls other threads had under way do not exist here
        hd._in = [t for t in hd._in if t == me]
        if hd._freed and not hd._in:     # freed while they used it
            hd._maybe_release()


def _res():
    """Where a call's result is stored for an exception raised as it
    returns: only the main thread runs signal handlers, so only it needs
    one (NULL elsewhere: the wrappers store nothing)."""
    return ffi.new("int *", _EINTR) if _get_ident() == _MAIN else ffi.NULL


os.register_at_fork(after_in_child=_after_fork_in_child)


def _open_flags(mode, create, exclusive, cloexec):
    try:
        of = {"r": lib.O_RDONLY, "w": lib.O_WRONLY, "rw": lib.O_RDWR}[mode]
    except KeyError:
        raise ValueError("mode must be 'r', 'w' or 'rw', not %r" % (mode,))
    if create:
        of |= lib.O_CREAT
    if exclusive:
        of |= lib.O_EXCL
    if cloexec:
        of |= lib.O_CLOEXEC
    return of


def _name(name):
    if isinstance(name, str):
        name = name.encode()
    return name


def unlink(name, standalone=None):
    """Remove a name (of any kind); the object lives while it is open.
    standalone: True for the standalone directory, False for the gosync
    filesystem, None for the filesystem where one is mounted."""
    if standalone is None:
        _check(lib.gosync_unlink(_name(name)), "unlink")
    else:
        _check(lib.gosync_unlink_flags(
            _name(name), lib.GOSYNC_STANDALONE if standalone else 0),
            "unlink")


# ------------------------------------------------------------ channels --

class Chan(_Handle):
    """A channel of fixed-size elements (bytes of exactly elem_size).

    ``Chan(elem_size, cap=0)`` makes one: unbuffered (a send completes
    when a receiver took the element) when cap is 0.  ``standalone=True``
    makes it without the module; ``autoclose=True`` (kernel mode) has the
    kernel close it when its last end that can send is gone.
    """

    _free_fn = lib.gosync_chan_free

    def __init__(self, elem_size, cap=0, standalone=False, autoclose=False,
                 cloexec=True, nomap=False, _handle=None, _owner=None):
        self._waiters = {}       # (loop, is_write) -> futures waiting
        self._stash = collections.deque()   # see _in_thread
        if _handle is None:
            f = _flags(standalone, cloexec)
            if autoclose:
                f |= lib.GOSYNC_AUTOCLOSE
            if nomap:
                f |= lib.GOSYNC_NOMAP
            p = ffi.new("struct gosync_chan **")
            _check(lib.gosync_chan_make(p, elem_size, cap, f), "Chan")
            _handle = p[0]
        super().__init__(_handle, _owner)
        self._es = lib.gosync_chan_elem_size(_handle)

    @classmethod
    def from_fd(cls, fd, cloexec=True, nomap=False):
        """A new handle on the channel behind fd (either mode; the caller
        keeps fd).  An fd opened read- or write-only is a directional end."""
        f = _flags(False, cloexec)
        if nomap:
            f |= lib.GOSYNC_NOMAP
        p = ffi.new("struct gosync_chan **")
        _check(lib.gosync_chan_from_fd(p, _fd(fd), f), "Chan.from_fd")
        return cls(0, _handle=p[0])

    @classmethod
    def open(cls, name, mode="rw", create=False, exclusive=False,
             perm=0o600, elem_size=0, cap=0, standalone=False,
             autoclose=False, cloexec=True):
        """A channel by name ("/name"): mode "r" (receive-only end), "w"
        (send-only) or "rw"; create makes it (elem_size, cap) if absent,
        exclusive fails with FileExistsError if present.  Kernel mode: in
        the gosync filesystem ($GOSYNC_FS); standalone: $GOSYNC_SHM_DIR."""
        of = _open_flags(mode, create, exclusive, cloexec)
        f = lib.GOSYNC_STANDALONE if standalone else 0
        if autoclose:
            f |= lib.GOSYNC_AUTOCLOSE
        p = ffi.new("struct gosync_chan **")
        _check(lib.gosync_chan_open(p, _name(name), of, perm, elem_size, cap,
                                    f), "Chan.open")
        return cls(0, _handle=p[0])

    def dup(self, direction, cloexec=True):
        """A new end that can only "send" or only "recv" (kernel mode)."""
        d = {SEND: lib.GOSYNC_SEND_ONLY, RECV: lib.GOSYNC_RECV_ONLY}.get(
            direction)
        if d is None:
            raise ValueError("direction must be 'send' or 'recv'")
        if cloexec:
            d |= lib.GOSYNC_CLOEXEC
        p = ffi.new("struct gosync_chan **")
        h = self._get()
        try:
            _check(lib.gosync_chan_dup(p, h, d), "Chan.dup")
        finally:
            self._put()
        return Chan(0, _handle=p[0])

    # -- shape and mode
    @property
    def elem_size(self):
        return self._es

    @property
    def cap(self):
        h = self._get()
        try:
            return lib.gosync_chan_cap(h)
        finally:
            self._put()

    def __len__(self):
        """Elements waiting (with any a cancelled receive kept here)."""
        with _Using(self) as h:
            return lib.gosync_chan_len(h) + len(self._stash)

    def __bool__(self):
        return True

    @property
    def standalone(self):
        return bool(self._flags() & lib.GOSYNC_STANDALONE)

    def _flags(self):
        h = self._get()
        try:
            return lib.gosync_chan_flags(h)
        finally:
            self._put()

    def fileno(self):
        """The channel's fd, owned by this handle (pollable in kernel
        mode: readable when a receive would not wait, writable when a send
        would not)."""
        h = self._get()
        try:
            return lib.gosync_chan_fd(h)
        finally:
            self._put()

    # -- sending
    def _elem(self, data):
        if self._es == 0:
            if len(data) != 0:
                raise ValueError("this channel's elements are 0 bytes")
            return ffi.NULL
        b = ffi.from_buffer(data)
        if len(b) != self._es:
            raise ValueError("an element is %d bytes, not %d"
                             % (self._es, len(b)))
        return b

    def _ctx_op(self, fn, plain, elem, ctx, timeout, what, res):
        """fn(ch, elem, ctx, res) bounded by ctx and timeout as well.  A
        timeout that only tries looks at the context, then tries once."""
        _deadline(timeout)                  # NaN: ValueError, first
        with _Using(ctx) as c:
            if _no_wait(timeout):
                e = lib.gosync_ctx_err(c)
                if e:
                    _raise(e, what)
                return self._call(plain, elem, _deadline(timeout), res)
            if timeout is None:
                return self._call(fn, elem, c, res)
            # What can be done at once is done, even if the timeout is
            # too short for a context of its own to be born live (not on
            # an unbuffered channel, where a NONBLOCK send may wait for
            # its receiver to take the element, outside the timeout).
            e = lib.gosync_ctx_err(c)
            if e:
                _raise(e, what)
            if self.cap != 0:
                r = self._call(plain, elem, lib.GOSYNC_NONBLOCK, res)
                if r != -_errno.EAGAIN:
                    return r
        sub = ctx.with_timeout(timeout)
        try:
            with _Using(sub) as c:      # its deadline: ETIMEDOUT
                return self._call(fn, elem, c, res)
        finally:
            sub.free()

    def send(self, data, timeout=None, ctx=None):
        """Send one element, waiting for room (unbuffered: for a receiver)
        until timeout.  With ctx (a Context), the wait also ends when it is
        done: OSError(ECANCELED) or TimeoutError (its deadline).
        BrokenPipeError: the channel is closed."""
        es = self._es
        if ctx is None and type(data) is bytes and len(data) == es and es:
            # The common case, inlined: bytes as they are; a result store
            # in the main thread only (the one that runs signal handlers).
            d = _FOREVER if timeout is None else _deadline(timeout)
            res = ffi.NULL
            tid = _get_ident()
            if tid == _MAIN:
                res = _RES.pop() if _RES else ffi.new("int *")
                res[0] = _EINTR
            self._in.append(tid)
            try:
                if self._freed:
                    raise ValueError("Chan: the handle was freed")
                h = self._h
                r = lib.gosync_py_send(h, data, d, res)
                while r == _EINTR:
                    r = lib.gosync_py_send(h, data, d, res)
            except BaseException as e:
                e.sent = 1 if res and res[0] == 0 else 0
                raise
            finally:
                self._in.remove(tid)
                if self._freed:
                    self._maybe_release()
            if res:
                _RES.append(res)
            if r:
                _raise(r, "send")
            return
        self._send(data, timeout, ctx)

    def _send(self, data, timeout, ctx):
        # bytes of the right size go to the library as they are
        elem = data if type(data) is bytes and len(data) == self._es and \
            self._es else self._elem(data)
        res = _res()
        try:
            if ctx is not None:
                r = self._ctx_op(lib.gosync_py_send_ctx, lib.gosync_py_send,
                                 elem, ctx, timeout, "send", res)
            else:
                r = self._call(lib.gosync_py_send, elem, _FOREVER
                               if timeout is None else _deadline(timeout),
                               res)
        except BaseException as e:
            e.sent = 1 if res and res[0] == 0 else 0
            raise
        if r:
            _raise(r, "send")

    def send_sync(self, data, timeout=None):
        """Send one element and return only once a receiver took it (the
        element is withdrawn if none did by the timeout)."""
        res = _res()
        try:
            r = self._call(lib.gosync_py_send_sync, self._elem(data),
                           _deadline(timeout), res)
        except BaseException as e:
            e.sent = 1 if res and res[0] == 0 else 0
            raise
        _check(r, "send_sync")

    def send_many(self, items, timeout=None):
        """Send several elements in order: a bytes-like object whose length
        is a multiple of elem_size, or an iterable of elements.  Returns
        how many were sent: all, or fewer when the timeout passed or the
        channel was closed after some were sent (when none were, it raises
        as send does).  An exception from a signal handler (Ctrl-C) that
        ends it carries the count so far as its ``sent`` attribute."""
        es = self._es
        if isinstance(items, (bytes, bytearray, memoryview)):
            buf = bytes(items)
            if es == 0 or len(buf) % es:
                raise ValueError("%d bytes are not a whole number of %d-byte "
                                 "elements" % (len(buf), es))
            n = len(buf) // es
        else:
            items = list(items)
            for it in items:
                self._elem(it)
            buf = b"".join(bytes(it) for it in items)
            n = len(items)
        if n == 0:
            return 0
        base = ffi.from_buffer(buf) if es else ffi.NULL
        deadline = _deadline(timeout)
        res = _res()
        if res:
            res[0] = 0
        sent = 0
        try:
            while sent < n:
                r = self._call(lib.gosync_py_send_n,
                               base + sent * es if es else ffi.NULL,
                               n - sent, deadline, res)
                if r < 0:
                    if sent and r in (-_errno.ETIMEDOUT, -_errno.EPIPE,
                                      -_errno.EAGAIN):
                        return sent
                    _raise(r, "send_many")
                sent += r
                if res:
                    res[0] = 0   # counted (no signal check in between)
        except BaseException as e:
            e.sent = sent + (max(res[0], 0) if res else 0)
            raise
        return sent

    # -- receiving
    def recv(self, timeout=None, ctx=None):
        """Receive one element: bytes of elem_size, or None once the
        channel is closed and every element sent before the close was
        received (Go's ok == false).  ctx as for send()."""
        if self._stash and (ctx is None or ctx.err() == 0):
            v = self._unstash()
            if v is not None:
                return v
        es = self._es
        if ctx is None and es:
            # The common case, inlined (as send's).
            d = _FOREVER if timeout is None else _deadline(timeout)
            buf = ffi.new("char[]", es)
            res = ffi.NULL
            tid = _get_ident()
            if tid == _MAIN:
                res = _RES.pop() if _RES else ffi.new("int *")
                res[0] = _EINTR
            self._in.append(tid)
            try:
                if self._freed:
                    raise ValueError("Chan: the handle was freed")
                h = self._h
                r = lib.gosync_py_recv(h, buf, d, res)
                while r == _EINTR:
                    r = lib.gosync_py_recv(h, buf, d, res)
            except BaseException:
                if res and res[0] == 1:     # came as the exception did
                    self._keep(ffi.unpack(buf, es))
                raise
            finally:
                self._in.remove(tid)
                if self._freed:
                    self._maybe_release()
            if res:
                _RES.append(res)
            if r == 1:
                return ffi.unpack(buf, es)
            if r:
                _raise(r, "recv")
            return None
        return self._recv(timeout, ctx)

    def _recv(self, timeout, ctx):
        with _Using(self):      # held until a kept element is kept
            return self._recv_held(timeout, ctx)

    def _recv_held(self, timeout, ctx):
        buf = ffi.new("char[]", self._es or 1)
        res = _res()
        try:
            if ctx is not None:
                r = self._ctx_op(lib.gosync_py_recv_ctx, lib.gosync_py_recv,
                                 buf, ctx, timeout, "recv", res)
            else:
                r = self._call(lib.gosync_py_recv, buf, _FOREVER
                               if timeout is None else _deadline(timeout),
                               res)
        except BaseException:
            # A handler's exception raised as the element came: keep it
            # for the next receive.
            if res and res[0] == 1:
                self._keep(ffi.unpack(buf, self._es))
            raise
        if r == 1:
            return ffi.unpack(buf, self._es)
        if r:
            _raise(r, "recv")
        return None

    # The library's bound on one batch: MAX_RW_COUNT bytes.
    _MAX_BATCH_BYTES = 0x7ffff000

    def recv_many(self, n, timeout=None):
        """Wait for one element, then take as many more as are there, up
        to n: a list of elements, empty once closed and drained.  n is at
        most 0x7ffff000 // elem_size (OSError EINVAL past it)."""
        if n <= 0:
            raise ValueError("n must be positive")
        es = self._es
        if es and n > self._MAX_BATCH_BYTES // es:
            raise OSError(_errno.EINVAL, "recv_many: more than one batch")
        if self._stash:
            v = self._unstash()
            if v is not None:
                return [v]
        buf = ffi.new("char[]", max(es * n, 1))
        res = _res()
        with _Using(self):      # held until what came is kept
            try:
                r = _check(self._call(lib.gosync_py_recv_n, buf, n,
                                      _deadline(timeout), res), "recv_many")
            except BaseException:
                for i in range(max(res[0], 0) if res else 0):
                    self._keep(ffi.buffer(buf, es * n)[i * es:(i + 1) * es])
                raise
        if es == 0:
            return [b""] * r
        raw = ffi.buffer(buf, es * r)[:]
        return [raw[i * es:(i + 1) * es] for i in range(r)]

    def close(self):
        """Go's close: no more sends (BrokenPipeError); receivers get what
        was sent, then None.  OSError(EPIPE) if it was closed already."""
        _check(self._call(lib.gosync_chan_close), "close")

    def __iter__(self):
        """for msg in ch: every element until the channel is closed."""
        while True:
            v = self.recv()
            if v is None:
                return
            yield v

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()

    def __repr__(self):
        if self.freed:
            return "<gosync.Chan freed>"
        return "<gosync.Chan elem_size=%d cap=%d fd=%d%s>" % (
            self._es, self.cap, self.fileno(),
            " standalone" if self.standalone else "")

    # -- asyncio
    #
    # Kernel mode, the running loop waits for the fd's readiness and the
    # operation is retried with GOSYNC_NONBLOCK: no thread per wait.  A
    # send on an unbuffered channel is the exception: readiness to send
    # means a receiver waits in the kernel, and an asyncio receiver waits
    # on readiness instead, so the send waits in a thread of its own (in
    # the kernel, where such a receiver sees it).  Standalone channels
    # (a memfd is always "ready") wait in a thread both ways.  A thread
    # waits in slices of _SLICE s so that a cancelled wait (or a closed
    # loop) ends it; an element a receiving thread took as its caller
    # was cancelled is kept (_stash), for the handle's next receive or
    # select, or sent back into the channel when the handle is freed.
    _SLICE = 0.05

    async def _ready(self, write):
        loop = asyncio.get_running_loop()
        key = (loop, write)
        fut = loop.create_future()
        # One reader (writer) per loop and fd: the futures of every wait
        # on it are woken together, and each retries.  Loops in several
        # threads may share the handle: the table is under the lock.  The
        # handle is held for the wait, so its fd stays open.
        with _Using(self) as h:
            fd = lib.gosync_chan_fd(h)
            with self._lock:
                waiters = self._waiters.setdefault(key, set())
                first = not waiters
                waiters.add(fut)
            try:
                if first:
                    def wake():
                        with self._lock:
                            fs = list(self._waiters.get(key, ()))
                        for f in fs:
                            if not f.done():
                                f.set_result(None)
                    (loop.add_writer if write else loop.add_reader)(fd, wake)
                await fut
            finally:
                with self._lock:
                    waiters.discard(fut)
                    last = not waiters
                    if last:
                        self._waiters.pop(key, None)
                if last:
                    (loop.remove_writer if write else loop.remove_reader)(fd)

    async def _in_thread(self, op, timeout, keep):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        lk = threading.Lock()
        state = {"cancelled": False}
        _deadline(timeout)                       # NaN: ValueError here
        end = None if timeout is None else now() + float(timeout)

        def settle(ok, v):
            if not fut.done():
                (fut.set_result if ok else fut.set_exception)(v)

        def report(ok, v):
            try:
                loop.call_soon_threadsafe(settle, ok, v)
                return True
            except RuntimeError:         # the loop is closed
                return False

        def work():
            # The handle is held throughout: it cannot be released before
            # an element this thread took is kept.
            try:
                self._get()
            except ValueError as e:
                report(False, e)
                return
            try:
                while True:
                    with lk:
                        if state["cancelled"] or loop.is_closed():
                            return
                    left = self._SLICE if end is None else \
                        min(self._SLICE, end - now())
                    try:
                        v = op(max(left, 0))
                    except TimeoutError as e:
                        if end is not None and now() >= end:
                            report(False, e)
                            return
                        continue
                    with lk:
                        if state["cancelled"] or not report(True, v):
                            keep(v)
                        else:
                            state["delivered"] = v
                    return
            except BaseException as e:
                report(False, e)
            finally:
                self._put()
        t = threading.Thread(target=work, daemon=True,
                             name="gosync-async-wait")
        t.start()
        done = False
        try:
            v = await fut
            done = True
            return v
        except asyncio.CancelledError:
            self._stop_thread(lk, state, keep)
            # Let the thread end (within a slice) before the caller hears
            # of the cancel, so an element it took is in the stash, not on
            # its way there.
            await loop.run_in_executor(None, t.join)
            raise
        finally:
            if not done:        # also a loop closed under a pending wait
                self._stop_thread(lk, state, keep)

    @staticmethod
    def _stop_thread(lk, state, keep):
        with lk:
            state["cancelled"] = True
            if "delivered" in state:     # taken, not yet handed over
                keep(state.pop("delivered"))

    def _keep(self, v):
        if v is not None:
            with self._lock:
                self._stash.append(v)

    def _unstash(self):
        if self._freed:
            return None
        with self._lock:
            return self._stash.popleft() if self._stash else None

    def _release(self):
        # Elements a cancelled receive took go back into the channel if
        # they can without waiting (behind what is there; on a full,
        # closed or unbuffered channel with no receiver waiting, or a
        # receive-only end, they are dropped with the handle).
        with self._lock:
            kept = list(self._stash)
            self._stash.clear()
        h = self._h
        for v in kept:
            if h == ffi.NULL or lib.gosync_chan_send(
                    h, ffi.from_buffer(v), lib.GOSYNC_NONBLOCK) != 0:
                break
        super()._release()

    async def recv_async(self, timeout=None):
        """await ch.recv_async(): recv() for asyncio (see above for how it
        waits).  TimeoutError when timeout passes."""
        if _no_wait(timeout):
            return self.recv(timeout)
        _deadline(timeout)                       # NaN: ValueError
        if self.standalone:
            return await self._in_thread(lambda t: self.recv(timeout=t),
                                         timeout, self._keep)

        async def attempt():
            while True:
                try:
                    return self.recv(timeout=_NONBLOCK)
                except BlockingIOError:
                    await self._ready(False)
        if timeout is None:
            return await attempt()
        try:
            return await asyncio.wait_for(attempt(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(_errno.ETIMEDOUT, "recv_async: timed out")

    async def send_async(self, data, timeout=None):
        """await ch.send_async(data): send() for asyncio.  A send that is
        cancelled as it completes may still have been delivered (as with
        any write); one that raised TimeoutError was not."""
        self._elem(data)
        _deadline(timeout)                       # NaN: ValueError
        if _no_wait(timeout):
            return self.send(data, timeout)
        if self.standalone or self.cap == 0:
            return await self._in_thread(
                lambda t: self.send(data, timeout=t), timeout,
                lambda v: None)

        async def attempt():
            while True:
                try:
                    return self.send(data, timeout=_NONBLOCK)
                except BlockingIOError:
                    await self._ready(True)
        if timeout is None:
            return await attempt()
        try:
            return await asyncio.wait_for(attempt(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(_errno.ETIMEDOUT, "send_async: timed out")


# -------------------------------------------------------------- select --

def select(cases, timeout=None):
    """Go's select: wait until one case can proceed and do it.

    cases: a sequence of (ch, "recv"), (ch, "send", data) or
    (fd_or_file, "fd", events) (kernel mode: poll(2) events of any
    pollable fd); ch None is never ready.  Returns (index, value): the
    element received (None if that channel is closed and drained), None
    for a send, the revents for an fd.  When several are ready, one is
    chosen at random.  TimeoutError when none was by the timeout;
    BrokenPipeError (with .index) for a send case on a closed channel.
    """
    n = len(cases)
    # An element a cancelled receive kept (Chan._stash) is ready first.
    for i, case in enumerate(cases):
        if len(case) >= 2 and case[1] == RECV and \
                isinstance(case[0], Chan) and case[0]._stash:
            v = case[0]._unstash()
            if v is not None:
                return i, v
    cs = ffi.new("struct gosync_case[]", max(n, 1))
    keep = []
    held = []
    try:
        for i, case in enumerate(cases):
            if len(case) < 2:
                raise ValueError("case %d: (ch, op[, data])" % i)
            obj, op = case[0], case[1]
            c = cs[i]
            c.fd = -1
            if op == FDREADY:
                c.op = lib.GOSYNC_FDREADY
                c.ch = ffi.NULL
                c.fd = -1 if obj is None else _fd(obj)
                c.events = case[2] if len(case) > 2 else 1   # POLLIN
                continue
            if op not in (SEND, RECV):
                raise ValueError("case %d: op must be 'send', 'recv' or 'fd'"
                                 % i)
            c.op = lib.GOSYNC_SEND if op == SEND else lib.GOSYNC_RECV
            if obj is None:
                c.ch = ffi.NULL
                c.elem = ffi.NULL
                continue
            c.ch = obj._get()
            held.append(obj)
            if op == SEND:
                if len(case) != 3:
                    raise ValueError("case %d: (ch, 'send', data)" % i)
                e = obj._elem(case[2])
            else:
                e = ffi.new("char[]", obj.elem_size or 1)
            keep.append(e)
            c.elem = e
        res = _res()
        try:
            r = _retry(lib.gosync_py_select, cs, n, _deadline(timeout), res)
        except BaseException as e:
            # A handler's exception raised as a case fired: a received
            # element is kept by its channel, a send is reported.
            k = res[0] if res else -1
            if 0 <= k < n and cs[k].op == lib.GOSYNC_RECV and cs[k].ok == 1:
                ch = cases[k][0]
                ch._keep(ffi.buffer(cs[k].elem, ch.elem_size)[:])
            elif 0 <= k < n and cs[k].op == lib.GOSYNC_SEND:
                e.sent_index = k
            raise
        if r == -_errno.EPIPE:
            for i in range(n):
                if cs[i].ok == -_errno.EPIPE:
                    e = BrokenPipeError(_errno.EPIPE,
                                        "select: case %d: channel closed" % i)
                    e.index = i
                    raise e
        _check(r, "select")
        c = cs[r]
        if c.op == lib.GOSYNC_RECV:
            es = cases[r][0].elem_size
            return r, (ffi.buffer(c.elem, es)[:] if c.ok else None)
        if c.op == lib.GOSYNC_FDREADY:
            return r, c.ok
        return r, None
    finally:
        for obj in held:
            obj._put()


# -------------------------------------------------------- sync objects --

class _Sync(_Handle):
    _make = _from = _open = None
    _ctype = None

    def __init__(self, standalone=False, cloexec=True, _handle=None):
        if _handle is None:
            p = ffi.new(self._ctype + " **")
            _check(type(self)._make(p, _flags(standalone, cloexec)),
                   type(self).__name__)
            _handle = p[0]
        super().__init__(_handle)

    @classmethod
    def from_fd(cls, fd, cloexec=True):
        """A new handle on the object behind fd (either mode; the caller
        keeps fd)."""
        p = ffi.new(cls._ctype + " **")
        _check(cls._from(p, _fd(fd), _flags(False, cloexec)),
               cls.__name__ + ".from_fd")
        return cls(_handle=p[0])

    @classmethod
    def open(cls, name, create=False, exclusive=False, perm=0o600,
             standalone=False, cloexec=True):
        """The object by name ("/name"), made if create and absent."""
        of = _open_flags("rw", create, exclusive, cloexec)
        p = ffi.new(cls._ctype + " **")
        _check(cls._open(p, _name(name), of, perm,
                         lib.GOSYNC_STANDALONE if standalone else 0),
               cls.__name__ + ".open")
        return cls(_handle=p[0])

    def fileno(self):
        h = self._get()
        try:
            return type(self)._fd_fn(h)
        finally:
            self._put()


class WaitGroup(_Sync):
    """Go's sync.WaitGroup across processes."""
    _ctype = "struct gosync_wg"
    _make, _from, _open = (lib.gosync_wg_make, lib.gosync_wg_from_fd,
                           lib.gosync_wg_open)
    _fd_fn = lib.gosync_wg_fd
    _free_fn = lib.gosync_wg_free

    def add(self, delta=1):
        """Add delta (may be negative) to the counter; ValueError-like
        OSError(EINVAL) below zero."""
        _check(self._call(lib.gosync_wg_add, delta), "WaitGroup.add")

    def add_owned(self, delta=1):
        """add(), counted against this process: the kernel takes the count
        back if it dies first (kernel mode)."""
        _check(self._call(lib.gosync_wg_add_owned, delta),
               "WaitGroup.add_owned")

    def done(self):
        _check(self._call(lib.gosync_wg_done), "WaitGroup.done")

    def wait(self, timeout=None, ctx=None):
        """Wait until the counter is zero (or ctx is done: kernel mode)."""
        if ctx is None:
            _check(self._call(lib.gosync_wg_wait, _deadline(timeout)),
                   "WaitGroup.wait")
            return
        if _no_wait(timeout):
            e = ctx.err()
            if e:
                _raise(-e, "WaitGroup.wait")
            _check(self._call(lib.gosync_wg_wait, _deadline(timeout)),
                   "WaitGroup.wait")
            return
        sub = ctx.with_timeout(timeout) if timeout is not None else None
        try:
            with _Using(sub or ctx) as c:
                _check(self._call(lib.gosync_wg_wait_ctx, c),
                       "WaitGroup.wait")
        finally:
            if sub is not None:
                sub.free()


class OwnerDeadError(OSError):
    """The lock was taken from a holder that died (EOWNERDEAD): the caller
    holds it, and should repair what it protects, call consistent(), then
    unlock."""


def _lock_result(r, what, holds=True):
    """OwnerDeadError where EOWNERDEAD means the caller holds the lock;
    a plain OSError where it does not (a read lock)."""
    if r == -_errno.EOWNERDEAD and holds:
        raise OwnerDeadError(_errno.EOWNERDEAD,
                             "%s: %s" % (what, os.strerror(_errno.EOWNERDEAD)))
    return _check(r, what)


def _locking(obj, fn, timeout, undo):
    """A lock call; if a signal handler's exception is raised as it takes
    the lock, the lock is given back (the caller never saw it taken) --
    but one taken over from a dead holder stays held (giving it back
    unrepaired would make it unusable for everyone): the exception's
    ``lock_held`` says so."""
    res = _res()
    try:
        return obj._call(fn, _deadline(timeout), res)
    except BaseException as e:
        if res and res[0] == 0:
            with _Using(obj) as h:
                undo(h)
        e.lock_held = bool(res) and res[0] == -_errno.EOWNERDEAD and \
            undo is not lib.gosync_rwmutex_runlock
        raise


class Mutex(_Sync):
    """Go's sync.Mutex across processes, robust in kernel mode (a dead
    holder's lock is taken over with OwnerDeadError).  ``with m:`` locks
    and unlocks."""
    _ctype = "struct gosync_mutex"
    _make, _from, _open = (lib.gosync_mutex_make, lib.gosync_mutex_from_fd,
                           lib.gosync_mutex_open)
    _fd_fn = lib.gosync_mutex_fd
    _free_fn = lib.gosync_mutex_free

    def lock(self, timeout=None):
        _lock_result(_locking(self, lib.gosync_py_mutex_lock, timeout,
                              lib.gosync_mutex_unlock), "Mutex.lock")

    def trylock(self):
        """True if taken, False if held by someone."""
        r = self._call(lib.gosync_mutex_trylock)
        if r == -_errno.EBUSY:
            return False
        _lock_result(r, "Mutex.trylock")
        return True

    def unlock(self):
        _check(self._call(lib.gosync_mutex_unlock), "Mutex.unlock")

    def consistent(self):
        _check(self._call(lib.gosync_mutex_consistent), "Mutex.consistent")

    # threading.Lock's names
    def acquire(self, blocking=True, timeout=-1):
        if not blocking or timeout is _NONBLOCK:
            return self.trylock()
        try:
            self.lock(None if timeout < 0 else timeout)
        except TimeoutError:
            return False
        return True

    release = unlock

    def __enter__(self):
        self.lock()
        return self

    def __exit__(self, *exc):
        self.unlock()


class _Held:
    def __init__(self, lock, unlock):
        self._lock, self._unlock = lock, unlock

    def __enter__(self):
        self._lock()

    def __exit__(self, *exc):
        self._unlock()


class RWMutex(_Sync):
    """Go's sync.RWMutex across processes.  ``with rw.reader():`` and
    ``with rw.writer():`` (also ``with rw:``) hold it shared or
    exclusive."""
    _ctype = "struct gosync_rwmutex"
    _make, _from, _open = (lib.gosync_rwmutex_make,
                           lib.gosync_rwmutex_from_fd,
                           lib.gosync_rwmutex_open)
    _fd_fn = lib.gosync_rwmutex_fd
    _free_fn = lib.gosync_rwmutex_free

    def lock(self, timeout=None):
        _lock_result(_locking(self, lib.gosync_py_rwmutex_lock, timeout,
                              lib.gosync_rwmutex_unlock), "RWMutex.lock")

    def unlock(self):
        _check(self._call(lib.gosync_rwmutex_unlock), "RWMutex.unlock")

    def rlock(self, timeout=None):
        _lock_result(_locking(self, lib.gosync_py_rwmutex_rlock, timeout,
                              lib.gosync_rwmutex_runlock), "RWMutex.rlock",
                     holds=False)

    def runlock(self):
        _check(self._call(lib.gosync_rwmutex_runlock), "RWMutex.runlock")

    def trylock(self):
        r = self._call(lib.gosync_rwmutex_trylock)
        if r == -_errno.EBUSY:
            return False
        _lock_result(r, "RWMutex.trylock")
        return True

    def tryrlock(self):
        r = self._call(lib.gosync_rwmutex_tryrlock)
        if r == -_errno.EBUSY:
            return False
        _lock_result(r, "RWMutex.tryrlock", holds=False)
        return True

    def consistent(self):
        _check(self._call(lib.gosync_rwmutex_consistent),
               "RWMutex.consistent")

    def reader(self):
        return _Held(self.rlock, self.runlock)

    def writer(self):
        return _Held(self.lock, self.unlock)

    def __enter__(self):
        self.lock()
        return self

    def __exit__(self, *exc):
        self.unlock()


class Once(_Sync):
    """Go's sync.Once across processes: do(fn) calls fn() exactly once
    among every caller in every process; the others wait for it."""
    _ctype = "struct gosync_once"
    _make, _from, _open = (lib.gosync_once_make, lib.gosync_once_from_fd,
                           lib.gosync_once_open)
    _fd_fn = lib.gosync_once_fd
    _free_fn = lib.gosync_once_free

    def do(self, fn, *args):
        """True if this call ran fn.  An exception fn raised is raised
        here, after the Once counts as done (as a panic does in Go)."""
        box = [fn, args, None]
        handle = ffi.new_handle(box)
        r = _check(self._call(lib.gosync_py_once_do, handle), "Once.do")
        if box[2] is not None:
            raise box[2]
        return r == 1


@ffi.def_extern()
def gosync_py_once(arg):
    box = ffi.from_handle(arg)
    try:
        box[0](*box[1])
    except BaseException as e:   # re-raised by Once.do
        box[2] = e


class Cond(_Sync):
    """Go's sync.Cond across processes, with a Mutex."""
    _ctype = "struct gosync_cond"
    _make, _from, _open = (lib.gosync_cond_make, lib.gosync_cond_from_fd,
                           lib.gosync_cond_open)
    _fd_fn = lib.gosync_cond_fd
    _free_fn = lib.gosync_cond_free

    def wait(self, mutex, timeout=None):
        """Unlock mutex, wait for a signal, lock it again (also when the
        wait fails: then the error is raised with the mutex held -- but
        for ENOTRECOVERABLE, where it could not be taken again)."""
        m = mutex._get()
        try:
            _lock_result(self._call(lib.gosync_cond_wait, m,
                                    _deadline(timeout)), "Cond.wait")
        finally:
            mutex._put()

    def signal(self):
        _check(self._call(lib.gosync_cond_signal), "Cond.signal")

    def broadcast(self):
        _check(self._call(lib.gosync_cond_broadcast), "Cond.broadcast")


# ------------------------------------------------------------ contexts --

class Context(_Handle):
    """Go's context.Context across processes: done once, when cancelled,
    when its deadline passes (a kernel timer in kernel mode), or when its
    parent is done; then err() is ECANCELED or ETIMEDOUT and cause() the
    errno given to cancel().  ``Context()`` is a root (kernel mode;
    ``standalone=True`` without the module; ``cancel_on_exit=True``: the
    kernel cancels it, cause ESRCH, when this process is gone)."""

    _free_fn = lib.gosync_ctx_free

    def __init__(self, parent=None, standalone=False, cancel_on_exit=False,
                 cloexec=True, _handle=None, _owner=None):
        if _handle is None:
            f = _flags(standalone and parent is None, cloexec)
            if cancel_on_exit:
                f |= lib.GOSYNC_CTX_CANCEL_ON_EXIT
            p = ffi.new("struct gosync_ctx **")
            if parent is None:
                _check(lib.gosync_ctx_make(p, ffi.NULL, f), "Context")
            else:
                with _Using(parent) as ph:
                    _check(lib.gosync_ctx_make(p, ph, f), "Context")
            _handle = p[0]
        super().__init__(_handle, _owner)
        self._done = None          # a weak reference to the done channel

    @classmethod
    def from_fd(cls, fd, cloexec=True):
        p = ffi.new("struct gosync_ctx **")
        _check(lib.gosync_ctx_from_fd(p, _fd(fd), _flags(False, cloexec)),
               "Context.from_fd")
        return cls(_handle=p[0])

    @classmethod
    def open(cls, name, mode="rw", create=False, exclusive=False,
             perm=0o600, cloexec=True):
        """A root context by name (kernel mode): mode "r" may watch it,
        not cancel it."""
        of = _open_flags(mode, create, exclusive, cloexec)
        p = ffi.new("struct gosync_ctx **")
        _check(lib.gosync_ctx_open(p, _name(name), of, perm, 0),
               "Context.open")
        return cls(_handle=p[0])

    def child(self, cancel_on_exit=False, cloexec=True):
        """A child: done when this one is, or when cancelled itself."""
        return Context(self, cancel_on_exit=cancel_on_exit, cloexec=cloexec)

    def with_deadline(self, deadline, cancel_on_exit=False, cloexec=True):
        """A child with a deadline (seconds on the now() clock; never
        later than this one's)."""
        d = float(deadline)
        if d != d:
            raise ValueError("deadline is NaN")
        ns = min(int(min(d, 1e10) * 1e9), _FOREVER_NS) if d > 0 else 0
        f = _flags(False, cloexec)
        if cancel_on_exit:
            f |= lib.GOSYNC_CTX_CANCEL_ON_EXIT
        p = ffi.new("struct gosync_ctx **")
        with _Using(self) as h:
            _check(lib.gosync_ctx_with_deadline(p, h, ns, f),
                   "Context.with_deadline")
        return Context(_handle=p[0])

    def with_timeout(self, timeout, cancel_on_exit=False, cloexec=True):
        """A child whose deadline is timeout seconds from now."""
        if timeout is _NONBLOCK:
            timeout = 0
        ns = _deadline(timeout)
        f = _flags(False, cloexec)
        if cancel_on_exit:
            f |= lib.GOSYNC_CTX_CANCEL_ON_EXIT
        p = ffi.new("struct gosync_ctx **")
        with _Using(self) as h:
            _check(lib.gosync_ctx_with_deadline(p, h, ns, f),
                   "Context.with_timeout")
        return Context(_handle=p[0])

    def with_value(self, key, value):
        """A child carrying value (a bytes-like object) under key (str or
        bytes)."""
        v = memoryview(value).tobytes()
        p = ffi.new("struct gosync_ctx **")
        with _Using(self) as h:
            _check(lib.gosync_ctx_with_value(p, h, _name(key), v, len(v)),
                   "Context.with_value")
        return Context(_handle=p[0])

    def value(self, key):
        """The value under key, from this context or its nearest parent
        that has one; None if absent."""
        n = ffi.new("size_t *", lib.GOSYNC_CTX_VAL_MAX)
        buf = ffi.new("char[]", lib.GOSYNC_CTX_VAL_MAX)
        r = self._call(lib.gosync_ctx_value, _name(key), buf, n)
        if r == -_errno.ENOENT:
            return None
        _check(r, "Context.value")
        return ffi.buffer(buf, n[0])[:]

    def cancel(self, cause=0):
        """Cancel it and every descendant, in every process (cause: a
        positive errno, 0 for ECANCELED; the first cause stays)."""
        _check(self._call(lib.gosync_ctx_cancel, cause), "Context.cancel")

    def err(self):
        """0 while live, then errno.ECANCELED or errno.ETIMEDOUT (no
        system call; OSError if it cannot be read: a forked child whose
        page could not be mapped again, and the kernel refused too)."""
        r = self._call(lib.gosync_ctx_err)
        if r not in (0, -_errno.ECANCELED, -_errno.ETIMEDOUT):
            _raise(r, "Context.err")
        return -r

    def cause(self):
        """0 while live, then the errno it was cancelled with (OSError as
        for err())."""
        return _check(self._call(lib.gosync_ctx_cause), "Context.cause")

    def deadline(self):
        """Its deadline in seconds on the now() clock, or None."""
        d = self._call(lib.gosync_ctx_deadline)
        return None if d == lib.GOSYNC_FOREVER else d / 1e9

    def done(self):
        """A receive-only Chan of 0-byte elements, closed once the context
        is done (for select, poll and asyncio); owned by the context (its
        free() does nothing; using it keeps the context alive)."""
        with self._lock:
            ch = self._done() if self._done is not None else None
            if ch is not None:
                return ch
        with _Using(self) as h:
            c = lib.gosync_ctx_done(h)
            if c == ffi.NULL:
                raise OSError(_errno.ENOMEM, "Context.done: no channel")
            fresh = Chan(0, _handle=c, _owner=self)
        with self._lock:
            ch = self._done() if self._done is not None else None
            if ch is None:          # the library returns the same one
                ch = fresh
                self._done = weakref.ref(ch)
        return ch

    def wait(self, timeout=None):
        """Wait until it is done; its err()."""
        self.done().recv(timeout)
        return self.err()

    def fileno(self):
        h = self._get()
        try:
            return lib.gosync_ctx_fd(h)
        finally:
            self._put()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()


# ----------------------------------------------------------- errgroups --

def _task_code(fn, ctx, args):
    """Run a task: (its result code, the exception it raised or None)."""
    try:
        r = fn(ctx, *args)
    except OSError as e:
        c = -(e.errno or _errno.EIO)
        return (c if -4095 <= c < 0 else -_errno.EIO), e
    except BaseException as e:
        return -_errno.EIO, e
    if isinstance(r, int) and not isinstance(r, bool) and r < 0:
        return r, None       # below -4095: the library counts it -EINVAL
    return 0, None


def _fork_waiter(ctx, slot):
    """Group.fork's task: a thread of the group that waits for the child
    the caller forked (slot: [pid or -errno, threading.Event]); its exit
    status is the task's errno, a death by a signal EOWNERDEAD."""
    slot[1].wait()
    pid = slot[0]
    if pid < 0:
        return 0                # the fork failed: the caller was told
    _, st = os.waitpid(pid, 0)
    if os.WIFEXITED(st):
        return -os.WEXITSTATUS(st)
    return -_errno.EOWNERDEAD


def _flush():
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass


class Group(_Handle):
    """Go's errgroup across threads and processes (kernel mode): the first
    task to fail cancels the group's context (.ctx, with the task's errno
    as its cause) and wait() raises its error once every task has ended.
    A task fn(ctx, *args) fails by raising (OSError: its errno; anything
    else counts as EIO) or by returning a negative errno; wait() raises
    the first failing task's own exception, or OSError.  A forked task
    killed by a signal fails the group at once with EOWNERDEAD.  free()
    (and with) waits for the tasks first; a running task holds its group,
    so one dropped without wait() or free() is freed once its tasks have
    ended (by a thread of its own when the last was a task's)."""

    _free_fn = lib.gosync_group_free

    def __init__(self, parent=None, cancel_on_exit=False, cloexec=True):
        self._pid = os.getpid()
        f = _flags(False, cloexec)
        if cancel_on_exit:
            f |= lib.GOSYNC_CTX_CANCEL_ON_EXIT
        p = ffi.new("struct gosync_group **")
        if parent is None:
            _check(lib.gosync_group_make(p, ffi.NULL, f), "Group")
        else:
            with _Using(parent) as ph:
                _check(lib.gosync_group_make(p, ph, f), "Group")
        super().__init__(p[0])
        self._ctx = None                 # a weak reference to .ctx
        self._tasks = {}                 # handle -> box, while running
        self._failures = []              # (code, exception), in order
        self._tlock = threading.Lock()

    @property
    def ctx(self):
        """The group's context, given to every task (owned by the group)."""
        with self._lock:
            c = self._ctx() if self._ctx is not None else None
        if c is not None:
            return c
        with _Using(self) as h:
            ch = lib.gosync_group_ctx(h)
        with self._lock:
            c = self._ctx() if self._ctx is not None else None
            if c is None:
                c = Context(_handle=ch, _owner=self)
                self._ctx = weakref.ref(c)
        return c

    def set_limit(self, n):
        """At most n tasks at once (None or < 0: no limit)."""
        _check(self._call(lib.gosync_group_set_limit,
                          -1 if n is None else n), "Group.set_limit")

    def _start(self, fn, args, try_only=False):
        with _Using(self) as h:
            box = [fn, args, self]
            handle = ffi.new_handle(box)
            with self._tlock:
                self._tasks[handle] = box
            # at the limit this waits, the GIL released
            r = lib.gosync_py_group_go(h, handle, 1 if try_only else 0)
        if r < 0:
            with self._tlock:
                self._tasks.pop(handle, None)
            if try_only and r == -_errno.EAGAIN:
                return False
            _raise(r, "Group")
        return True

    def go(self, fn, *args):
        """Run fn(ctx, *args) in a new thread (waiting at the limit)."""
        self._start(fn, args)

    def try_go(self, fn, *args):
        """go(), or False at the limit (nothing started)."""
        return self._start(fn, args, try_only=True)

    def fork(self, fn, *args):
        """Run fn(ctx, *args) in a child process forked here and now, once
        there is room below the limit (os.fork: CPython's fork hooks run);
        the child ends with os._exit, its result as its exit status (0, or
        the errno), and a thread of the group waits for it."""
        slot = [-_errno.ECHILD, threading.Event()]
        pid = -_errno.EINTR
        try:
            self._start(_fork_waiter, (slot,))  # counted in: room is ours
            _flush()
            try:
                pid = os.fork()
            except OSError as e:
                pid = -(e.errno or _errno.EAGAIN)
                raise
            if pid == 0:
                code = _errno.EIO
                try:
                    c, e = _task_code(fn, self.ctx, args)
                    if e is not None and not isinstance(e, OSError):
                        traceback.print_exception(e)
                    code = -c if -255 <= c < 0 else \
                        (_errno.EINVAL if c else 0)
                finally:
                    try:
                        _flush()
                    finally:
                        os._exit(code)
        finally:
            # the waiter learns the child's pid, or that there is none
            slot[0] = pid
            slot[1].set()

    def _wait(self):
        # Not retried on EINTR: that is a task's result here (the wait
        # itself is not interrupted by signals).
        with _Using(self) as h:
            return lib.gosync_group_wait(h)

    def wait(self):
        """Wait until every task has ended; raise the first error (a
        signal does not end this wait; a task's exception is raised again
        by every later wait)."""
        r = self._wait()
        if r == 0:
            return
        with self._tlock:
            exc = next((e for c, e in self._failures if c == r), None)
        if exc is not None:
            raise exc
        _raise(r, "Group.wait")

    def free(self):
        """Wait for the tasks, then free the group and its context.  In a
        forked child, only forgets the parent's group.  Not from a task
        of the group (it would wait for itself)."""
        if self._freed:
            return
        if os.getpid() == self._pid:
            self._wait()
        else:
            self._free_fn = None
        super().free()

    def __del__(self):
        # Freed where it is dropped -- unless that is a task thread (of
        # this group, maybe), which free() could be waiting for: then by
        # a thread of its own.
        if getattr(self, "_freed", True) or \
                os.getpid() != getattr(self, "_pid", None):
            return
        try:
            if getattr(_task_thread, "flag", False):
                threading.Thread(target=self.free, daemon=True,
                                 name="gosync-group-free").start()
            else:
                self.free()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()


_task_thread = threading.local()    # .flag: a group task's thread


def _task_failed(exc, val, tb):
    return -_errno.EIO


@ffi.def_extern(onerror=_task_failed)
def gosync_py_task(ctx, arg):
    _task_thread.flag = True
    box = ffi.from_handle(arg)
    fn, args, group = box
    code = -_errno.EIO
    try:
        code, exc = _task_code(fn, group.ctx, args)
        if code:
            with group._tlock:
                if len(group._failures) < 64:
                    group._failures.append((code, exc))
    finally:
        with group._tlock:
            group._tasks.pop(arg, None)
    return code
