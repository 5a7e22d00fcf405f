#!/usr/bin/env python3
"""The agent's figures on a namespace homelab (Tests/network/netlab.py): the VPS (observer,
supervisor, UI on 198.18.0.1:8080) and one node, nas, with its own dockerd and an agent that
posts over a veth pair.

    python3 bench/agent_bench.py HOMELAB_BINARY SAMPLES SPOOLED PARTITION_S IDLE_S OUT_DIR

Prints key=value lines (bench/agent.sh turns them into the summary):
  live       container start on the nas engine (the engine's own event time) → the container's
             file in the VPS's world/ shows it running: SAMPLES start/stop cycles
  idle       the agent's RSS and its system calls over IDLE_S seconds of nothing but heartbeats
             (strace -c -f -p), and its voluntary context switches over the same time
  partition  the nas link down for PARTITION_S s while SPOOLED events are dropped into the
             agent's inbox (it spools them); the link up: events/s into the log, and the live
             path (container start → world) measured while that drains; the agent's RSS peak
  post       POST /api/events, batches of 100 from the nas namespace over keep-alive
             connections (1 and 4 at once): events/s into the log (each answer waits until its
             events are durable)
"""
import ctypes
import json
import os
import select
import shutil
import struct
import subprocess
import sys
import threading
import time
import http.client

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "Tests"))
sys.path.insert(0, os.path.join(here, "..", "Tests", "network"))
from harness import wait  # noqa: E402
from netlab import Lab, in_namespace  # noqa: E402
from cluster import Cluster, read_json  # noqa: E402

binary, samples, spooled, partition_s, idle_s, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
image = os.environ.get("RUNTIME_IMAGE", "homelab-base/runtime:bookworm")
heartbeat = int(os.environ.get("BENCH_HEARTBEAT_SECONDS", "5"))
libc = ctypes.CDLL("libc.so.6", use_errno=True)
IN_MOVED_TO, IN_CLOSE_WRITE, IN_CREATE, IN_NONBLOCK, IN_ONLYDIR = 0x80, 0x8, 0x100, 0o4000, 0x01000000


def figure(key, **values):
    print(key + " " + " ".join("%s=%s" % (k, ("%.2f" % v) if isinstance(v, float) else v) for k, v in values.items()), flush=True)


def note(text):
    print("  " + text, flush=True)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * (len(ordered) - 1)))))]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as file:
        fields = dict(line.split(":", 1) for line in file)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0]), int(fields["voluntary_ctxt_switches"])


class WorldWatch:
    """inotify on world/container/nas/: each rename of NAME.json → (wall ns, name, state)."""

    def __init__(self, folder):
        self.folder = folder
        self.fd = libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, folder.encode(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) < 0:
            raise OSError(ctypes.get_errno(), "inotify " + folder)
        self.seen = []
        self.lock = threading.Condition()
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            select.select([self.fd], [], [])
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            at = time.time_ns()
            offset = 0
            while offset < len(data):
                _, _, _, length = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16: offset + 16 + length].rstrip(b"\0").decode()
                offset += 16 + length
                if name.endswith(".json") and not name.startswith("."):
                    state = (read_json(os.path.join(self.folder, name)) or {}).get("observed", {}).get("state")
                    with self.lock:
                        self.seen.append((at, name[:-5], state))
                        self.lock.notify_all()

    def first(self, name, state, after_ns, timeout):
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for at, seen_name, seen_state in self.seen:
                    if seen_name == name and seen_state == state and at >= after_ns:
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.lock.wait(left)


class EngineEvents:
    """`docker events` of the nas engine: each container start's own time (ns)."""

    def __init__(self, host):
        self.starts = []
        self.lock = threading.Condition()
        self.process = subprocess.Popen(["docker", "-H", host, "events", "--filter", "type=container", "--filter", "event=start",
                                         "--format", "{{.Actor.Attributes.name}} {{.TimeNano}}"], stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        for line in self.process.stdout:
            name, _, nano = line.strip().partition(" ")
            with self.lock:
                self.starts.append((name, int(nano)))
                self.lock.notify_all()

    def next_start(self, name, count_before, timeout=10):
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                found = [t for n, t in self.starts[count_before:] if n == name]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.lock.wait(left)


def live_cycles(lab, watch, events, name, count, pause=0.0, until=None):
    """Start/stop `name` on nas `count` times (or until `until()`); latencies of start → world (ms)."""
    latencies = []
    while (until is None and len(latencies) < count) or (until is not None and not until()):
        before = len(events.starts)
        lab.docker("nas", "start", name)
        started = events.next_start(name, before)
        assert started, "no start event for " + name
        seen = watch.first(name, "running", started, 900)
        assert seen, "the world never showed %s running" % name
        latencies.append((seen - started) / 1e6)
        stopping = time.time_ns()
        lab.docker("nas", "stop", "-t", "1", name)
        assert watch.first(name, "exited", stopping, 900), "the world never showed %s exited" % name
        if pause:
            time.sleep(pause)
    return latencies


def checkpoint(cluster):
    return (read_json(os.path.join(cluster.root, "state", "observer_checkpoint.json")) or {}).get("seq", 0)


def drop_many(cluster, prefix, count):
    """`count` events into the nas agent's inbox, as a producer drops them (hidden name, rename)."""
    inbox = cluster.inbox("nas")
    for i in range(count):
        body = '{"specversion":"1.0","type":"bench.spooled","source":"node/nas","id":"%s-%06d","data":{"i":%d}}' % (prefix, i, i)
        temporary = "%s/.%s-%06d.tmp" % (inbox, prefix, i)
        with open(temporary, "w") as file:
            file.write(body)
        os.rename(temporary, "%s/%s-%06d.json" % (inbox, prefix, i))


def count_logged(cluster, prefix):
    """(occurrences, distinct ids, first and last receivedat as epoch seconds) of the events whose
    id starts with `prefix`, in the whole log."""
    import datetime
    ids, received = [], []
    needle = ('"id":"%s-' % prefix).encode()
    for folder in sorted(os.listdir(os.path.join(cluster.root, "events"))):
        for segment in sorted(os.listdir(os.path.join(cluster.root, "events", folder))):
            with open(os.path.join(cluster.root, "events", folder, segment), "rb") as file:
                for line in file:
                    if needle in line and line.endswith(b"\n"):
                        event = json.loads(line)
                        ids.append(event["id"])
                        received.append(event.get("receivedat") or event.get("receivedAt"))

    def epoch(stamp):
        return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    return len(ids), len(set(ids)), (epoch(min(received)) if received else None), (epoch(max(received)) if received else None)


def post_throughput(lab, cluster, connections, batches_each, prefix):
    """Batches of 100 events over `connections` keep-alive connections from the nas namespace."""
    token = cluster.tokens["nas"]
    headers = {"Content-Type": "application/cloudevents-batch+json", "Authorization": "Bearer " + token}
    bodies = [[json.dumps([{"specversion": "1.0", "type": "bench.posted", "source": "node/nas", "id": "%s-%d-%d-%d" % (prefix, c, b, i),
                            "data": {"i": i}} for i in range(100)]).encode() for b in range(batches_each)] for c in range(connections)]
    errors = []

    def client(c):
        def body():
            connection = http.client.HTTPConnection(lab.vps_address, 8080, timeout=60)
            for payload in bodies[c]:
                connection.request("POST", "/api/events", body=payload, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                if response.status != 200:
                    errors.append((response.status, answer[:200]))
                    return
            connection.close()
        try:
            in_namespace(lab.namespace("nas"), body)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
    threads = [threading.Thread(target=client, args=(c,)) for c in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert not errors, errors[:3]
    return connections * batches_each * 100 / elapsed


with Lab(nodes=("nas",), image=image, verbose=False) as lab:
    cluster = Cluster(lab, binary, desired_nodes=("nas",), heartbeat=heartbeat, stale_after=max(60, 4 * heartbeat))
    try:
        cluster.start_vps()
        name = "bench-live"
        lab.docker("nas", "create", "--init", "--network", "none", "--name", name, image, "sleep", "infinity")
        others = ["bench-during-%02d" % i for i in range(40)]
        for other in others:
            lab.docker("nas", "create", "--init", "--network", "none", "--name", other, image, "sleep", "infinity")
        agent = cluster.start_agent("nas")
        wait(lambda: cluster.world("node", "nas") and len(cluster.world_containers("nas")) == 1 + len(others), 60, "the agent's first reports")
        watch = WorldWatch(os.path.join(cluster.root, "world", "container", "nas"))
        events = EngineEvents(lab.engines["nas"].host)
        time.sleep(0.5)

        # --- live path -----------------------------------------------------------------
        note("live path: %d container start cycles" % samples)
        live = live_cycles(lab, watch, events, name, samples)
        figure("live", samples=len(live), p50_ms=percentile(live, 50), p99_ms=percentile(live, 99), max_ms=max(live))

        # --- idle ----------------------------------------------------------------------
        time.sleep(2 * heartbeat)     # the cycles' reports are delivered, nothing is spooled
        rss_idle, _, switches_before = rss_kb(agent.pid)
        note("idle: the agent's context switches over %.0f s, then strace -c -f for %.0f s (heartbeat every %d s)" % (idle_s, idle_s, heartbeat))
        time.sleep(idle_s)            # untraced: ptrace's own stops would count as switches
        _, _, switches_after = rss_kb(agent.pid)
        trace = os.path.join(out, "idle.strace")
        tracer = subprocess.Popen(["strace", "-c", "-f", "-o", trace, "-p", str(agent.pid)], stderr=subprocess.DEVNULL)
        time.sleep(idle_s)
        tracer.send_signal(2)
        tracer.wait(30)
        calls, top = 0, []
        with open(trace) as file:
            for line in file:
                parts = line.split()
                if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                    count = int(parts[3])
                    top.append((count, parts[-1]))
                elif parts and parts[-1] == "total":
                    calls = int(parts[3])
        top.sort(reverse=True)
        figure("idle", seconds=idle_s, heartbeat_s=heartbeat, rss_kb=rss_idle, syscalls=calls,
               voluntary_switches=switches_after - switches_before,
               top=",".join("%s:%d" % (n, c) for c, n in top[:6]) or "none")

        # --- partition and drain ------------------------------------------------------
        note("partition: nas link down %.0f s, %d events into the agent's inbox" % (partition_s, spooled))
        lab.partition("nas")
        cut = time.monotonic()
        drop_many(cluster, "spooled", spooled)
        dropped_in = time.monotonic() - cut
        wait(lambda: not [n for n in os.listdir(cluster.inbox("nas")) if not n.startswith(".")], 600, "the agent to spool its inbox")
        spooled_in = time.monotonic() - cut
        time.sleep(max(0, partition_s - (time.monotonic() - cut)))
        status = read_json(os.path.join(cluster.spool("nas"), ".status.json")) or {}
        depth = status.get("spool", {}).get("depth")
        spool_bytes = status.get("spool", {}).get("bytes")
        _, peak_before, _ = rss_kb(agent.pid)
        seq0 = checkpoint(cluster)
        peak = [0]
        sampling = [True]

        def sample_rss():
            while sampling[0]:
                try:
                    peak[0] = max(peak[0], rss_kb(agent.pid)[0])
                except OSError:
                    return
                time.sleep(0.05)
        threading.Thread(target=sample_rss, daemon=True).start()
        lab.heal("nas")
        healed_wall = time.time()
        healed = time.monotonic()

        def drained():
            return checkpoint(cluster) >= seq0 + spooled
        # The live path while the backlog drains: one of the `others` started every 100 ms
        # without waiting for the world, so a slow path still yields one sample per start.
        starts = []
        for other in others:
            if drained():
                break
            before = len(events.starts)
            lab.docker("nas", "start", other)
            starts.append((other, events.next_start(other, before)))
            time.sleep(0.1)
        wait(drained, 900, "the drain")
        during = []
        for other, started in starts:
            seen = watch.first(other, "running", started, 300)
            assert seen, "the world never showed %s running" % other
            during.append((seen - started) / 1e6)
        wait(lambda: count_logged(cluster, "spooled")[1] >= spooled, 300, "every spooled event logged")
        sampling[0] = False
        occurrences, distinct, first, last = count_logged(cluster, "spooled")
        assert occurrences == distinct == spooled, "drained %d lines, %d distinct, of %d" % (occurrences, distinct, spooled)
        _, hwm, _ = rss_kb(agent.pid)
        figure("partition", partition_s=healed - cut, events=spooled, drop_s=dropped_in, spooled_s=spooled_in,
               spool_depth=depth, spool_mb=(spool_bytes or 0) / 1048576)
        # From the log's own receipt times: link up → last spooled event received.
        figure("drain", seconds=last - healed_wall, first_after_s=first - healed_wall,
               rate=spooled / max(1e-6, last - healed_wall), rate_after_first=spooled / max(1e-6, last - first))
        if during:
            figure("during", samples=len(during), p50_ms=percentile(during, 50), p99_ms=percentile(during, 99), max_ms=max(during))
        else:
            figure("during", samples=0)
        figure("rss", idle_kb=rss_idle, drain_peak_kb=max(peak[0], 0), hwm_kb=hwm, before_drain_hwm_kb=peak_before)

        # --- POST /api/events -------------------------------------------------------------
        note("POST /api/events: batches of 100, keep-alive, 1 and 4 connections")
        for connections, batches in ((1, 200), (4, 100)):
            before = checkpoint(cluster)
            rate = post_throughput(lab, cluster, connections, batches, "posted%d" % connections)
            figure("post", connections=connections, events=connections * batches * 100, rate=rate, logged=checkpoint(cluster) - before)
        events.process.terminate()
    finally:
        for name in ("agent-nas", "ui", "observer", "supervisor"):
            if os.path.exists(os.path.join(lab.base, name + ".log")):
                shutil.copy(os.path.join(lab.base, name + ".log"), os.path.join(out, name + ".log"))
