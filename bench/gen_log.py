#!/usr/bin/env python3
"""Writes N valid event-log lines (resource.observed over R resources) as 64 MiB segments
under ROOT/events/2026-11-20/, for the replay benchmark. Each block of 100 events shares a
receivedat, as a batch would."""
import os
import sys

root, n, resources = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
day = os.path.join(root, "events", "2026-11-20")
os.makedirs(day, exist_ok=True)
limit = 64 << 20
out, size = None, limit
for seq in range(1, n + 1):
    if size >= limit:
        if out:
            out.close()
        out, size = open(os.path.join(day, "%012d.jsonl" % seq), "w"), 0
    block = seq // 100
    stamp = "2026-11-20T%02d:%02d:%02d.%03dZ" % (block // 36000 % 24, block // 600 % 60, block // 10 % 60, block % 10 * 100)
    line = ('{"specversion":"1.0","id":"replay-%d","source":"node/bench","type":"resource.observed",'
            '"subject":"container/bench/r%d","time":"%s","data":{"state":"running","image":"bench/app:1.%d",'
            '"health":"healthy","n":%d},"seq":%d,"receivedat":"%s"}\n') % (seq, seq % resources, stamp, seq % 97, seq, seq, stamp)
    out.write(line)
    size += len(line)
out.close()
