#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR MIT
"""One channel, several languages: a producer sends 1000 numbered
elements; a C consumer (interop/peer, another process) and this Python
program share them; each element arrives exactly once.  The channel is
made here and passed to the other programs as an inherited fd.  The
producer is C (interop/peer produce) or, given its path, Go
(go/examples/producer, built as build/go/producer).
    mixed.py PATH-OF-build/interop/peer [PATH-OF-build/go/producer]"""
import errno
import struct
import subprocess
import sys
import threading

import gosync

peer = sys.argv[1]
if len(sys.argv) > 2:
    prod, lang = [sys.argv[2]], "Go"        # producer FD ID N
else:
    prod, lang = [peer, "produce"], "C"     # peer produce FD ID N
try:
    ch = gosync.Chan(8, 16)                 # (id, seq) pairs: 8 bytes
except OSError as e:
    if e.errno != errno.ENODEV:
        raise
    ch = gosync.Chan(8, 16, standalone=True)
fd = ch.fileno()
producer = subprocess.Popen(prod + [str(fd), "7", "1000"], pass_fds=[fd])
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
assert producer.returncode == 0, "the producer failed"
assert sorted(mine + theirs) == list(range(1000)), "lost or doubled"
print("%s producer -> %d elements to Python, %d to C, each exactly once (%s)"
      % (lang, len(mine), len(theirs), "standalone" if ch.standalone
         else "kernel mode"))
