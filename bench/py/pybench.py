# SPDX-License-Identifier: GPL-2.0 OR MIT
"""The Python peers of bench/run: one measurement, printed as gosync-bench
prints its own (a RESULT line).

  pybench.py stream IMPL ELEM CAP N

A Python producer (this process) streams N elements of ELEM bytes to a C
consumer (gosync-bench sink, $GOSYNC_BENCH_C), timed from the first send
to the consumer's exit.  IMPL:
  py-gosync        a gosync channel of capacity CAP, one send per element
  py-gosync-batch  the same, send_many of 256 elements at a time
  py-pipe          a pipe, one os.write per element
  py-unix          a UNIX stream socket pair, one sendall per element
gosync runs in kernel mode when /dev/gosync exists, else standalone
(GOSYNC_BENCH_MODE=standalone forces it).
"""
import os
import resource
import socket
import subprocess
import sys
import time

import gosync

CBENCH = os.environ.get("GOSYNC_BENCH_C", "gosync-bench")


def ctxsw():
    t = 0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        t += r.ru_nvcsw + r.ru_nivcsw
    return t


def stream(impl, elem, cap, n):
    standalone = (os.environ.get("GOSYNC_BENCH_MODE") == "standalone" or
                  not os.path.exists("/dev/gosync"))
    msg = bytes(range(256)) * (elem // 256) + bytes(elem % 256)
    close = []
    if impl in ("py-gosync", "py-gosync-batch"):
        ch = gosync.Chan(elem, cap, standalone=standalone)
        fd, kind = ch.fileno(), "gosync"
        if impl == "py-gosync":
            def send():
                s = ch.send
                for _ in range(n):
                    s(msg)
        else:
            batch = msg * 256

            def send():
                left = n
                while left:
                    k = min(left, 256)
                    left -= ch.send_many(batch if k == 256 else msg * k)
    elif impl == "py-pipe":
        r, w = os.pipe()
        fd, kind = r, "fd"
        close = [r]

        def send():
            wr = os.write
            for _ in range(n):
                wr(w, msg)      # a pipe write of <= PIPE_BUF is whole
            os.close(w)
    elif impl == "py-unix":
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fd, kind = b.fileno(), "fd"
        close = [b]

        def send():
            sa = a.sendall
            for _ in range(n):
                sa(msg)
            a.close()
    else:
        sys.exit("pybench: unknown impl %s" % impl)
    sink = subprocess.Popen([CBENCH, "sink", kind, str(fd), str(elem), str(n)],
                            pass_fds=[fd], stdout=subprocess.PIPE, text=True)
    for c in close:
        c.close() if hasattr(c, "close") else os.close(c)
    c0 = ctxsw()
    t0 = time.monotonic()
    send()
    out = sink.communicate()[0]
    t1 = time.monotonic()
    if sink.returncode != 0 or "RESULT" not in out:
        sys.exit("pybench: the sink failed (status %d)" % sink.returncode)
    print("RESULT workload=py-stream-%d-%d impl=%s value=%.6g unit=msg/s "
          "ctxsw=%.4f" % (elem, cap, impl, n / (t1 - t0),
                          (ctxsw() - c0) / n), flush=True)


def main(argv):
    if len(argv) == 5 and argv[0] == "stream":
        stream(argv[1], int(argv[2]), int(argv[3]), int(argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
