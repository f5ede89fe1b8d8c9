#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR MIT
"""Fan jobs out to worker processes over one gosync channel and collect
their results over another; a WaitGroup says when the workers are done.
Kernel mode when gosync.ko is loaded, standalone otherwise."""
import errno
import os
import struct
import threading

import gosync

try:
    gosync.Chan(8, 1).free()
    sa = False
except OSError as e:
    if e.errno != errno.ENODEV:
        raise
    sa = True                               # no module: standalone

jobs = gosync.Chan(8, 16, standalone=sa)    # 8-byte elements, 16 slots
results = gosync.Chan(16, 16, standalone=sa)
wg = gosync.WaitGroup(standalone=sa)

wg.add(3)
for _ in range(3):
    if os.fork() == 0:                      # a worker process
        for job in jobs:                    # until jobs is closed
            n, = struct.unpack("<q", job)
            results.send(struct.pack("<qq", n, n * n))
        wg.done()
        os._exit(0)



def feed():                                 # a goroutine's work: a thread
    for n in range(100):
        jobs.send(struct.pack("<q", n))
    jobs.close()


threading.Thread(target=feed).start()
total = 0
for _ in range(100):
    n, sq = struct.unpack("<qq", results.recv())
    total += sq
wg.wait()                                   # every worker is done
for _ in range(3):
    os.wait()
print("sum of squares below 100:", total)
