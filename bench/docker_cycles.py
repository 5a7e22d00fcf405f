#!/usr/bin/env python3
"""docker stop → pending proposal, CYCLES times, on a running observer, supervisor and collector.

    python3 bench/docker_cycles.py ROOT CONTAINER HOST CYCLES

Each cycle: `docker start` and wait until the proposal of the previous cycle is gone (the
world caught up), then start `docker stop` and wait, on inotify and meanwhile, for the new
file in actions/pending/. Prints p50/p99 from two moments: the engine's own `die` event (its
timestamp, read from a separate `docker events`: the whole path collector → inbox → observer
→ world → supervisor) and `docker stop` issued (adds the CLI's start-up and the engine's stop)."""
import ctypes
import os
import select
import subprocess
import sys
import threading
import time

root, container, host, cycles = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
pending = os.path.join(root, "actions", "pending")
libc = ctypes.CDLL("libc.so.6", use_errno=True)
IN_MOVED_TO, IN_CLOSE_WRITE, IN_NONBLOCK = 0x80, 0x8, 0o4000
fd = libc.inotify_init1(IN_NONBLOCK)
assert fd >= 0 and libc.inotify_add_watch(fd, pending.encode(), IN_MOVED_TO | IN_CLOSE_WRITE) >= 0


dies = []
watcher = subprocess.Popen(["docker", "events", "--filter", "container=" + container, "--filter", "event=die",
                            "--format", "{{.TimeNano}}"], stdout=subprocess.PIPE, text=True)
threading.Thread(target=lambda: [dies.append(int(line)) for line in watcher.stdout], daemon=True).start()
time.sleep(0.5)


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


after_issue, after_die = [], []
for cycle in range(cycles):
    subprocess.run(["docker", "start", container], check=True, capture_output=True)
    deadline = time.monotonic() + 10
    while arrivals() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not arrivals(), "the previous proposal was not superseded"
    time.sleep(0.05)
    drain()
    known_dies = len(dies)
    issued = time.monotonic()
    stopping = subprocess.Popen(["docker", "stop", container], stdout=subprocess.DEVNULL)
    while not arrivals():
        ready, _, _ = select.select([fd], [], [], 5)
        assert ready or arrivals(), "no proposal within 5 s"
        drain()
    seen = time.monotonic()
    seen_wall = time.time_ns()
    assert stopping.wait(10) == 0
    deadline = time.monotonic() + 2
    while len(dies) == known_dies and time.monotonic() < deadline:
        time.sleep(0.001)
    assert len(dies) > known_dies, "no die event seen"
    after_die.append((seen_wall - dies[-1]) / 1e6)
    after_issue.append((seen - issued) * 1000)
    if (cycle + 1) % 10 == 0:
        print("  %d/%d cycles" % (cycle + 1, cycles), file=sys.stderr, flush=True)
watcher.terminate()
print("engine die event → pending: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d cycles)" % (
    percentile(after_die, 50), percentile(after_die, 99), max(after_die), cycles))
print("docker stop issued → pending: p50 %.1f ms, p99 %.1f ms" % (percentile(after_issue, 50), percentile(after_issue, 99)))
