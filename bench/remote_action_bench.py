#!/usr/bin/env python3
"""Approve → the child started on the node, over the veth (bench/remote_action.sh runs this).

    python3 bench/remote_action_bench.py HOMELAB_BINARY SAMPLES

A netlab (Tests/network/netlab.py) with the VPS's observer, supervisor, executor and UI, and
node nas's agent. Each sample proposes an action whose catalog entry runs on nas
(`runsOn: {host}`), waits until the log shows the proposal (the executor's gate), then takes
the time and posts the approval over HTTP; the child — a bash script allowed by the agent's
HOMELAB_AGENT_ALLOW — notes `$EPOCHREALTIME` (a builtin: no fork) as its first command. One
clock (namespaces share it), so the difference is approve → hand-off → offer → claim → start
on the node, plus bash's own start-up (about a millisecond). Prints one line:
`remote samples=N p50_ms=… p90_ms=… p99_ms=… max_ms=…`."""

import json
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "Tests"))
sys.path.insert(0, os.path.join(here, "..", "Tests", "network"))
from harness import wait  # noqa: E402 - after the path is set
from netlab import VPS, Lab  # noqa: E402
from cluster import Cluster  # noqa: E402

binary, samples = os.path.abspath(sys.argv[1]), int(sys.argv[2])


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as file:
        json.dump(value, file)
    os.rename(path + ".tmp", path)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


with Lab(nodes=("nas",), verbose=False) as lab:
    cluster = Cluster(lab, binary, desired_nodes=("nas",))
    stamp = os.path.join(lab.base, "bin", "stamp")
    stamps = os.path.join(lab.base, "nas", "stamps.txt")
    os.makedirs(os.path.dirname(stamp), exist_ok=True)
    with open(stamp, "w") as file:
        file.write("#!/bin/bash\necho \"$1 $EPOCHREALTIME\" >> %s\n" % stamps)
    os.chmod(stamp, 0o755)
    write_json(os.path.join(cluster.repo, "inventory", "actions", "stamp.json"),
               {"argv": [stamp, "{n}"], "params": {"host": "^[a-z]+$", "n": "^[a-z0-9-]+$"}, "runsOn": "{host}", "timeoutSeconds": 30})
    cluster.start_vps(services=("observer", "supervisor", "executor", "ui"))
    cluster.start_agent("nas", HOMELAB_AGENT_ALLOW=stamp, HOMELAB_AGENT_DOCKER="0")
    wait(lambda: "for actions" in cluster.log_tail("ui", 100000), 30, "the agent's action stream")

    def stamped(action_id):
        try:
            with open(stamps) as file:
                for line in file:
                    name, when = line.split()
                    if name == action_id:
                        return float(when)
        except OSError:
            pass
        return None

    latencies = []
    for index in range(samples):
        action_id = "bench-%03d-%s" % (index, os.urandom(3).hex())
        write_json(os.path.join(cluster.root, "actions", "pending", action_id + ".json"),
                   {"id": action_id, "action": "stamp", "args": {"host": "nas", "n": action_id}, "resource": "bench/" + action_id,
                    "proposedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        write_json(os.path.join(cluster.root, "audit", "proposed-%s.json" % action_id),
                   {"specversion": "1.0", "type": "action.proposed", "source": "supervisor", "id": "proposal-" + action_id,
                    "subject": "action/" + action_id, "data": {"actor": "operator"}})
        wait(lambda: any(step.get("step") == "proposed" for step in (cluster.world("action", action_id) or {}).get("lifecycle", [])),
             10, "the proposal in the log")
        approved_at = time.time()
        status, _, body = lab.http(VPS, "POST", cluster.url + "/api/actions/%s/approve" % action_id,
                                   headers={"Authorization": "Bearer " + cluster.operator_token}, timeout=30)
        assert status == 200, (status, body)
        started = wait(lambda: stamped(action_id), 10, "the child on nas")
        latencies.append((started - approved_at) * 1000)
        wait(lambda: os.path.exists(os.path.join(cluster.root, "actions", "done", action_id + ".json")), 10, "the action in done/")
    print("remote samples=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f" % (
        len(latencies), percentile(latencies, 50), percentile(latencies, 90), percentile(latencies, 99), max(latencies)), flush=True)
