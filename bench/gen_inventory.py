#!/usr/bin/env python3
"""Writes N desired containers (container/bench/rK, state running) with a docker-start
remediation, the catalog entry, and a world where all N are observed running."""
import json
import os
import sys

root, repo, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
resources = os.path.join(repo, "inventory", "resources", "bench")
actions = os.path.join(repo, "inventory", "actions")
world = os.path.join(root, "world", "container", "bench")
for folder in (resources, actions, world, os.path.join(root, "actions", "pending")):
    os.makedirs(folder, exist_ok=True)
with open(os.path.join(actions, "docker-start.json"), "w") as f:
    json.dump({"argv": ["docker", "--context", "{host}", "start", "{container}"],
               "params": {"host": "^[a-z0-9-]+$", "container": "^[A-Za-z0-9_.-]+$"}}, f)
for k in range(n):
    with open(os.path.join(resources, "r%d.json" % k), "w") as f:
        json.dump({"kind": "container", "name": "bench/r%d" % k,
                   "spec": {"state": "running", "image": "bench/app:1"},
                   "remediate": [{"on": "state", "action": "docker-start", "args": {"host": "bench", "container": "r%d" % k}}]}, f)
    with open(os.path.join(world, "r%d.json" % k), "w") as f:
        f.write('{"kind":"container","name":"bench/r%d","observed":{"state":"running","image":"bench/app:1"},'
                '"lastSeen":"2026-11-26T15:00:00Z","source":"bench","seq":%d}\n' % (k, k + 1))
