#!/usr/bin/env python3
"""docker stop → pending proposal, CYCLES times, on a running observer, supervisor and collector.

    python3 bench/docker_cycles.py ROOT CONTAINER HOST CYCLES

Each cycle: `docker start` and wait until the proposal of the previous cycle is gone (the
world caught up), then `docker stop` and wait, on inotify, for the new file in
actions/pending/. Prints p50/p99 from the moment `docker stop` returned (the engine has
stopped the container: collector → inbox → observer → world → supervisor) and from the
moment it was issued (adds the engine's own stop)."""
import ctypes
import os
import select
import subprocess
import sys
import time

root, container, host, cycles = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
pending = os.path.join(root, "actions", "pending")
libc = ctypes.CDLL("libc.so.6", use_errno=True)
IN_MOVED_TO, IN_CLOSE_WRITE, IN_NONBLOCK = 0x80, 0x8, 0o4000
fd = libc.inotify_init1(IN_NONBLOCK)
assert fd >= 0 and libc.inotify_add_watch(fd, pending.encode(), IN_MOVED_TO | IN_CLOSE_WRITE) >= 0


def arrivals():
    return [n for n in os.listdir(pending) if n.endswith(".json") and not n.startswith(".")]


def drain():
    try:
        while os.read(fd, 65536):
            pass
    except BlockingIOError:
        pass


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


after_return, after_issue = [], []
for cycle in range(cycles):
    subprocess.run(["docker", "start", container], check=True, capture_output=True)
    deadline = time.monotonic() + 10
    while arrivals() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not arrivals(), "the previous proposal was not superseded"
    time.sleep(0.05)
    drain()
    issued = time.monotonic()
    subprocess.run(["docker", "stop", container], check=True, capture_output=True)
    returned = time.monotonic()
    while not arrivals():
        ready, _, _ = select.select([fd], [], [], 5)
        assert ready or arrivals(), "no proposal within 5 s"
        drain()
    seen = time.monotonic()
    after_return.append((seen - returned) * 1000)
    after_issue.append((seen - issued) * 1000)
    if (cycle + 1) % 10 == 0:
        print("  %d/%d cycles" % (cycle + 1, cycles), file=sys.stderr, flush=True)
print("stop returned → pending: p50 %.1f ms, p99 %.1f ms, max %.1f ms; stop issued → pending: p50 %.1f ms, p99 %.1f ms (%d cycles)" % (
    percentile(after_return, 50), percentile(after_return, 99), max(after_return),
    percentile(after_issue, 50), percentile(after_issue, 99), cycles))
