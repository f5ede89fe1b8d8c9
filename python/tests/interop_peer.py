# SPDX-License-Identifier: GPL-2.0 OR MIT
"""The Python side of the cross-language tests: interop/peer.c's
commands, in Python (run as a program: python3 interop_peer.py CMD ...).

  produce FD ID N [DELAY_US] | consume FD | select FD... | wg FD N |
  lock FD SHM N
"""

import mmap
import struct
import sys
import time

import gosync

MSG = struct.Struct("<II")      # interop/peer.c's struct peer_msg
COUNTER = struct.Struct("=Q")   # lock's shared counter: a native uint64


def main(argv):
    cmd, args = argv[0], argv[1:]
    out = sys.stdout
    if cmd == "produce":
        ch = gosync.Chan.from_fd(int(args[0]))
        pid, n = int(args[1]), int(args[2])
        delay = int(args[3]) / 1e6 if len(args) > 3 else 0
        for i in range(n):
            ch.send(MSG.pack(pid, i))
            if delay:
                time.sleep(delay)
    elif cmd == "consume":
        ch = gosync.Chan.from_fd(int(args[0]))
        for m in ch:
            out.write("%d %d\n" % MSG.unpack(m))
        out.write("closed\n")
    elif cmd == "select":
        chans = [gosync.Chan.from_fd(int(a)) for a in args]
        cases = [(c, "recv") for c in chans]
        left = len(cases)
        while left:
            i, v = gosync.select(cases)
            if v is None:
                cases[i] = (None, "recv")
                left -= 1
                continue
            out.write("%d %d %d\n" % ((i,) + MSG.unpack(v)))
        out.write("closed\n")
    elif cmd == "wg":
        wg = gosync.WaitGroup.from_fd(int(args[0]))
        for _ in range(int(args[1])):
            wg.done()
    elif cmd == "lock":
        # A plain read and write, not an atomic add: only the mutex keeps
        # the other processes' increments from being lost.
        mu = gosync.Mutex.from_fd(int(args[0]))
        shm = mmap.mmap(int(args[1]), COUNTER.size, mmap.MAP_SHARED,
                        mmap.PROT_READ | mmap.PROT_WRITE)
        for _ in range(int(args[2])):
            mu.lock()
            COUNTER.pack_into(shm, 0, COUNTER.unpack_from(shm, 0)[0] + 1)
            mu.unlock()
        shm.close()
    else:
        sys.exit("interop_peer.py: unknown command %r" % cmd)
    out.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
