# SPDX-License-Identifier: GPL-2.0 OR MIT
"""asyncio: channels driven by their fd's readiness through the loop."""

import asyncio
import os
import resource
import struct

import pytest

import gosync
from conftest import fork_run, is_sa, reap_ok


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def test_async_roundtrip(mode):
    ch = gosync.Chan(8, 2, standalone=is_sa(mode))

    async def main():
        async def producer():
            for i in range(50):
                await ch.send_async(struct.pack("<q", i))
            ch.close()
        got = []

        async def consumer():
            while True:
                v = await ch.recv_async()
                if v is None:
                    return
                got.append(struct.unpack("<q", v)[0])
        await asyncio.gather(producer(), consumer(), consumer())
        return got
    got = asyncio.run(main())
    assert sorted(got) == list(range(50))


def test_async_timeout(mode):
    ch = gosync.Chan(8, 0, standalone=is_sa(mode))

    async def main():
        with pytest.raises((TimeoutError, asyncio.TimeoutError)):
            await ch.recv_async(timeout=0.05)
    asyncio.run(main())


def test_asyncio_beside_a_tcp_server_without_busy_waiting(kernel):
    """One loop serves TCP clients and receives from a channel fed by
    another process; while both are idle it burns no CPU."""
    ch = gosync.Chan(8, 4)

    def feeder():
        import time
        time.sleep(1.0)
        for i in range(3):
            ch.send(struct.pack("<q", i))
    pid = fork_run(feeder)

    async def main():
        async def echo(reader, writer):
            data = await reader.read(100)
            writer.write(data.upper())
            await writer.drain()
            writer.close()
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        before = _cpu()
        first = await ch.recv_async()          # idle ~1 s in here
        idle_cpu = _cpu() - before
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"hello")
        reply = await r.read(100)
        w.close()
        rest = [await ch.recv_async() for _ in range(2)]
        server.close()
        await server.wait_closed()
        return first, rest, reply, idle_cpu
    first, rest, reply, idle_cpu = asyncio.run(main())
    reap_ok(pid)
    assert reply == b"HELLO"
    assert [struct.unpack("<q", x)[0] for x in [first] + rest] == [0, 1, 2]
    # a loop that polled the channel would spend the whole second on CPU
    assert idle_cpu < 0.5, "the loop spent %.2f s of CPU idle" % idle_cpu


def test_async_waiters_on_one_fd(kernel):
    ch = gosync.Chan(1, 0)

    async def main():
        waiters = [asyncio.ensure_future(ch.recv_async()) for _ in range(3)]
        await asyncio.sleep(0.05)
        for b in (b"a", b"b", b"c"):
            await ch.send_async(b)
        return sorted(await asyncio.gather(*waiters))
    assert asyncio.run(main()) == [b"a", b"b", b"c"]
    os.fstat(ch.fileno())


def test_cancelled_receives_lose_nothing(mode):
    """Receives cancelled at every moment around a send: each element is
    either the cancelled receive's result or the next receive's."""
    import random
    import threading
    for cap in (0, 2):
        ch = gosync.Chan(4, cap, standalone=is_sa(mode))
        got = []

        async def one(i):
            t = asyncio.ensure_future(ch.recv_async(timeout=30))
            sender = threading.Thread(target=ch.send,
                                      args=(struct.pack("<i", i), 30))
            sender.start()
            await asyncio.sleep(random.random() * 0.02)
            t.cancel()
            try:
                got.append(await t)
            except asyncio.CancelledError:
                got.append(await asyncio.get_running_loop().run_in_executor(
                    None, ch.recv, 30))
            sender.join()

        async def main():
            for i in range(40):
                await one(i)
        asyncio.run(main())
        assert [struct.unpack("<i", g)[0] for g in got] == list(range(40))


def test_many_async_waiters_do_not_starve_the_loop(mode):
    """More waiting receives than the default executor has threads."""
    ch = gosync.Chan(1, 0 if not is_sa(mode) else 1, standalone=is_sa(mode))

    async def main():
        rx = [asyncio.ensure_future(ch.recv_async(timeout=30))
              for _ in range(12)]
        await asyncio.sleep(0.1)
        for i in range(12):
            await ch.send_async(b"%x" % i, timeout=30)
        return sorted(await asyncio.gather(*rx))
    assert asyncio.run(main()) == sorted(b"%x" % i for i in range(12))


def test_async_no_wait_tries_once(mode):
    ch = gosync.Chan(1, 1, standalone=is_sa(mode))

    async def main():
        await ch.send_async(b"z", timeout=0)
        with pytest.raises(TimeoutError):
            await ch.send_async(b"y", timeout=0)
        assert await ch.recv_async(timeout=0) == b"z"
        with pytest.raises(BlockingIOError):
            await ch.recv_async(timeout=gosync.NONBLOCK)
    asyncio.run(main())


def test_async_nan_timeout(mode):
    ch = gosync.Chan(1, 1, standalone=is_sa(mode))

    async def main():
        with pytest.raises(ValueError):
            await ch.recv_async(timeout=float("nan"))
        with pytest.raises(ValueError):
            await ch.send_async(b"x", timeout=float("nan"))
        assert len(ch) == 0
    asyncio.run(main())
