#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR MIT
"""One channel, two languages: a C producer (interop/peer) sends 1000
numbered elements; a C consumer (another peer process) and this Python
program share them; each element arrives exactly once.  The channel is
made here and passed to the C programs as an inherited fd.
    mixed.py PATH-OF-build/interop/peer"""
import errno
import struct
import subprocess
import sys
import threading

import gosync

peer = sys.argv[1]
try:
    ch = gosync.Chan(8, 16)                 # (id, seq) pairs: 8 bytes
except OSError as e:
    if e.errno != errno.ENODEV:
        raise
    ch = gosync.Chan(8, 16, standalone=True)
fd = ch.fileno()
producer = subprocess.Popen([peer, "produce", str(fd), "7", "1000"],
                            pass_fds=[fd])
consumer = subprocess.Popen([peer, "consume", str(fd)], pass_fds=[fd],
                            stdout=subprocess.PIPE, text=True)
mine = []


def close_when_sent():
    producer.wait()
    ch.close()


threading.Thread(target=close_when_sent).start()
for m in ch:
    mine.append(struct.unpack("<II", m)[1])
theirs = [int(line.split()[1]) for line in
          consumer.communicate()[0].splitlines() if line != "closed"]
assert sorted(mine + theirs) == list(range(1000)), "lost or doubled"
print("C producer -> %d elements to Python, %d to C, each exactly once (%s)"
      % (len(mine), len(theirs), "standalone" if ch.standalone
         else "kernel mode"))
