#!/usr/bin/env python3
"""`homelab agent` on a homelab of network namespaces: a VPS and two nodes (nas, pi), each node
with its own Docker engine, joined to the VPS by its own veth pair (Tests/network/netlab.py).

    python3 Tests/network/agents_test.py HOMELAB_BINARY        (root; docker.io, iproute2)

The VPS runs the observer, the supervisor and the UI (198.18.0.1:8080) as processes in its
namespace on a temporary runtime root, with an inventory that desires the nodes nas and pi;
an agent runs in each node's namespace with its engine (DOCKER_HOST), its spool and its token
(made by `homelab agent-token NODE` on the VPS), delivering over HTTP. Checks:
  - containers started, stopped and removed on each node's engine appear in the VPS's world/
    as container/NODE/NAME with the right state; heartbeats and the node's facts arrive; an
    agent stopped turns its node `stale` in state/drift.json at the deadline;
  - a partition: the nas link down for AGENTS_PARTITION_SECONDS (default 30) while the nas
    containers change and 1,000 custom events are dropped into the nas agent's inbox; the link
    up: every event logged exactly once, world's container/nas/* equals `docker ps -a` on nas,
    the log's seq gap-free, the spool empty but for hidden files;
  - faults, AGENTS_FAULT_ROUNDS rounds (default 5): kill -9 of the nas agent while it delivers,
    of the UI while it answers, of the observer while it logs; each restarted: nothing lost,
    nothing twice, seq gap-free;
  - auth over the real network: another node's source → 403; a deleted token file → 401 at
    once; no token or a wrong one → 401; 1,001 events → 413; malformed items → 200, those
    `rejected` with a reason and the rest accepted; a repeated (source, id) → `duplicate`.
Prints "agents: N passed, N failed"."""

import json
import os
import shutil
import stat
import sys
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))
sys.path.insert(0, here)
from harness import Checks, wait  # noqa: E402 - after the path is set
from netlab import VPS, Lab  # noqa: E402
from cluster import Cluster, gap_free, ledger  # noqa: E402

if len(sys.argv) != 2:
    sys.exit("usage: agents_test.py HOMELAB_BINARY")
binary = os.path.abspath(sys.argv[1])
image = os.environ.get("RUNTIME_IMAGE", "homelab-base/runtime:bookworm")
PARTITION_SECONDS = float(os.environ.get("AGENTS_PARTITION_SECONDS", "30"))
FAULT_ROUNDS = int(os.environ.get("AGENTS_FAULT_ROUNDS", "5"))
PARTITION_EVENTS = 1000
STALE_AFTER = 6
checks = Checks("agents")
check = checks.check
dropped = set()           # (source, id) of every custom event the test dropped or posted as accepted


def event(node, event_id, type_="test.custom", **fields):
    body = {"specversion": "1.0", "type": type_, "source": "node/" + node, "id": event_id, "data": {"n": event_id}}
    body.update(fields)
    return body


def run_container(node, name, start=True):
    arguments = ["run", "-d"] if start else ["create"]
    cluster.lab.docker(node, *arguments, "--init", "--network", "none", "--name", name, image, "sleep", "infinity")


def world_matches_engine(node):
    engine, world = lab.ps(node), cluster.world_containers(node)
    return engine == world


def wait_world_matches(node, timeout, when):
    """Waits until world's container/NODE/* equals `docker ps -a` on NODE's engine."""
    try:
        wait(lambda: world_matches_engine(node), timeout, "")
    except AssertionError:
        raise AssertionError("%s: after %d s world's container/%s/* is %s, the engine has %s"
                             % (when, timeout, node, cluster.world_containers(node), lab.ps(node))) from None


def assert_log_exactly_once(expected, what):
    lines = cluster.logged()
    counts = ledger(lines)
    missing = [key for key in expected if key not in counts]
    doubled = [key for key, count in counts.items() if count > 1]
    assert not missing, "%s: %d of %d events never logged (e.g. %s)" % (what, len(missing), len(expected), missing[:3])
    assert not doubled, "%s: %d (source, id) logged more than once (e.g. %s)" % (what, len(doubled), doubled[:3])
    assert gap_free(lines), "%s: the log's seq has gaps or repeats" % what
    return lines


def all_logged(keys):
    counts = ledger(cluster.logged())
    return all(key in counts for key in keys)


# --- the checks ----------------------------------------------------------------------------

def setup():
    cluster.start_vps()
    for node in ("nas", "pi"):
        token = cluster.agent_token(node)
        path = cluster.token_file(node)
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o600, "%s is %o, not 0600" % (path, mode)
        with open(path) as file:
            assert file.read().strip() == token, "the token file does not hold the printed token"
        assert len(token) >= 32, "a short token: %r" % token
    run_container("nas", "web")
    run_container("pi", "web")
    for node in ("nas", "pi"):
        cluster.start_agent(node)
    for node in ("nas", "pi"):
        wait(lambda: cluster.world("node", node), 60, "world/node/%s.json" % node)
        wait_world_matches(node, 60, "set-up")


def test_containers_follow_each_engine():
    run_container("nas", "db", start=False)          # created, never started
    run_container("nas", "job")
    lab.docker("nas", "stop", "job")                # exited
    run_container("pi", "cache")
    lab.docker("pi", "rm", "-f", "web")             # removed
    for node in ("nas", "pi"):
        wait_world_matches(node, 30, "after the changes")
    assert cluster.world_containers("nas") == {"web": "running", "db": "created", "job": "exited"}, cluster.world_containers("nas")
    assert cluster.world_containers("pi") == {"cache": "running"}, cluster.world_containers("pi")
    web = cluster.world("container", "nas/web")
    assert web["source"] == "node/nas" and web["observed"].get("image") == image, web
    assert cluster.world("container", "pi/web") is None


def test_heartbeats_and_facts():
    for node in ("nas", "pi"):
        resource = cluster.world("node", node)
        facts = resource.get("observed", {})
        for key in ("hostname", "kernel", "cpus"):
            assert facts.get(key), "node/%s has no %s: %s" % (node, key, facts)
        assert any(k.startswith("memory") for k in facts), "node/%s has no memory fact: %s" % (node, facts)
        assert resource["source"] == "node/" + node, resource
    first = cluster.world("node", "nas")["lastSeen"]
    wait(lambda: cluster.world("node", "nas")["lastSeen"] > first, 10 * cluster.heartbeat + 10, "a later heartbeat from nas")
    beats = [line for line in cluster.logged() if line["type"] == "node.heartbeat" and line["source"] == "node/pi"]
    assert beats and beats[-1]["subject"] == "node/pi", beats[-1:]


def test_stopped_agent_turns_its_node_stale():
    assert not cluster.drift_of("node/pi"), cluster.drift_of("node/pi")
    cluster.stop("agent-pi")
    last_seen = cluster.world("node", "pi")["lastSeen"]
    stopped = time.monotonic()
    drift = wait(lambda: [d for d in cluster.drift_of("node/pi") if d["kind"] == "stale"], STALE_AFTER + 60, "node/pi stale")
    waited = time.monotonic() - stopped
    generated = cluster.drift()["generatedAt"]
    # At its deadline: not before lastSeen + staleAfterSeconds (ISO 8601 UTC strings of one format compare in time order).
    assert generated >= iso_plus(last_seen, STALE_AFTER - 1), (last_seen, generated)
    print("     node/pi stale %.1f s after its agent stopped (staleAfterSeconds %d): %s" % (waited, STALE_AFTER, drift[0]), flush=True)
    assert cluster.drift_of("node/nas") == [], cluster.drift_of("node/nas")
    cluster.start_agent("pi")
    wait(lambda: not cluster.drift_of("node/pi"), 60, "node/pi fresh again after its agent restarted")


def iso_plus(stamp, seconds):
    import datetime
    text = stamp.replace("Z", "+00:00")
    moment = datetime.datetime.fromisoformat(text) + datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def test_partition_loses_nothing_and_doubles_nothing():
    wait_world_matches("nas", 30, "before the partition")
    lab.partition("nas")
    cut = time.monotonic()
    ids = [("node/nas", "partition-%04d" % i) for i in range(PARTITION_EVENTS)]
    spacing = max(PARTITION_SECONDS * 0.6, 1) / PARTITION_EVENTS
    changes = [lambda: run_container("nas", "during"), lambda: lab.docker("nas", "stop", "web"),
               lambda: lab.docker("nas", "rm", "-f", "db"), lambda: lab.docker("nas", "start", "job")]
    for i, (_, event_id) in enumerate(ids):
        cluster.drop("nas", event("nas", event_id))
        if i % (PARTITION_EVENTS // len(changes)) == 0 and changes:
            changes.pop(0)()
        time.sleep(spacing)
    dropped.update(ids)
    time.sleep(max(0, PARTITION_SECONDS - (time.monotonic() - cut)))
    counts = ledger(cluster.logged())
    through = [key for key in ids if key in counts]
    assert not through, "%d events crossed a link that was down" % len(through)
    assert not world_matches_engine("nas"), "the world followed the nas engine through a link that was down"
    lab.heal("nas")
    healed = time.monotonic()
    wait(lambda: all_logged(ids), 120, "all %d events logged after the link came back" % len(ids))
    delivered = time.monotonic() - healed
    wait_world_matches("nas", 60, "after the link came back")
    caught_up = time.monotonic() - healed
    assert_log_exactly_once(ids, "after the partition")
    wait(lambda: not cluster.spool_files("nas"), 30, "the nas spool to hold only hidden files (%s)" % cluster.spool_files("nas")[:3])
    print("     %.0f s cut off; after the link came back: %d events logged in %.1f s, world = engine in %.1f s"
          % (healed - cut, len(ids), delivered, caught_up), flush=True)


class Producer(threading.Thread):
    """Drops `count` events into the nas agent's inbox, one every `spacing` seconds."""

    def __init__(self, prefix, count, spacing=0.004):
        super().__init__(daemon=True)
        self.ids = [("node/nas", "%s-%04d" % (prefix, i)) for i in range(count)]
        self.spacing = spacing

    def run(self):
        for _, event_id in self.ids:
            cluster.drop("nas", event("nas", event_id))
            time.sleep(self.spacing)


def logged_of(keys):
    counts = ledger(cluster.logged())
    return sum(1 for key in keys if key in counts)


def fault_round(round_number, victim, restart):
    producer = Producer("fault-%d-%s" % (round_number, victim), 400)
    producer.start()
    # Mid-flow: once some of this burst is logged, and before all of it is.
    wait(lambda: logged_of(producer.ids) >= 20, 60, "the first events of the burst logged")
    cluster.kill(victim)
    at = logged_of(producer.ids)
    restart()
    producer.join()
    dropped.update(producer.ids)
    wait(lambda: all_logged(producer.ids), 90, "every event of the burst logged after kill -9 of the " + victim)
    return at


def test_faults():
    victims = [("agent-nas", lambda: cluster.start_agent("nas")),
               ("ui", lambda: (cluster.start_service("ui"), cluster.wait_ui())),
               ("observer", lambda: cluster.start_service("observer"))]
    started = time.monotonic()
    for round_number in range(1, FAULT_ROUNDS + 1):
        killed_at = [fault_round(round_number, victim, restart) for victim, restart in victims]
        assert_log_exactly_once(dropped, "round %d" % round_number)
        print("     round %d: killed agent, ui, observer with %s of 400 logged" % (round_number, "/".join(map(str, killed_at))), flush=True)
    wait_world_matches("nas", 30, "after the faults")
    print("     %d rounds of kill -9 (agent, ui, observer) with 400 events in flight each: %.0f s, %d events, none lost or doubled"
          % (FAULT_ROUNDS, time.monotonic() - started, len(dropped)), flush=True)


def test_auth_over_the_network():
    nas = cluster.tokens["nas"]
    status, answer = cluster.post_events("nas", [event("pi", "impostor-1")], token=nas)
    assert status == 403, ("another node's source", status, answer)
    status, answer = cluster.post_events("nas", [event("nas", "impostor-2", type_="resource.observed", subject="container/pi/web",
                                                       data={"state": "running"})], token=nas)
    assert status == 403, ("another node's subject", status, answer)
    status, answer = cluster.post_events("nas", [event("nas", "anonymous-1")])
    assert status == 401, ("no token", status, answer)
    status, answer = cluster.post_events("nas", [event("nas", "wrong-1")], token="0" * 48)
    assert status == 401, ("a wrong token", status, answer)

    ghost = cluster.agent_token("ghost")
    status, answer = cluster.post_events("nas", [event("ghost", "ghost-1")], token=ghost)
    assert status == 200 and answer["results"][0]["status"] == "accepted", (status, answer)
    dropped.add(("node/ghost", "ghost-1"))
    os.remove(cluster.token_file("ghost"))
    status, answer = cluster.post_events("nas", [event("ghost", "ghost-2")], token=ghost)
    assert status == 401, ("a revoked token", status, answer)

    status, answer = cluster.post_events("nas", [event("nas", "big-%04d" % i) for i in range(1001)], token=nas)
    assert status == 413, ("1,001 events", status, answer if isinstance(answer, bytes) else str(answer)[:200])
    status, answer = cluster.post_events("nas", b"this is not json", token=nas, content_type="text/plain")
    assert status == 415, ("text/plain", status, answer)

    batch = [event("nas", "mixed-1"),
             {"specversion": "1.0", "source": "node/nas", "id": "mixed-2"},                     # no type
             event("nas", "mixed-3"),
             "not an object",
             event("nas", "mixed-5", type_="resource.observed", subject="container/nas/bad name!", data={"state": "x"}),
             dict(event("nas", "mixed-6"), BadExtension="x"),                                  # not a CloudEvents attribute name
             event("nas", "mixed-7")]
    status, answer = cluster.post_events("nas", batch, token=nas)
    assert status == 200, (status, answer)
    results = answer["results"]
    assert len(results) == len(batch), results
    statuses = [r["status"] for r in results]
    assert statuses == ["accepted", "rejected", "accepted", "rejected", "rejected", "rejected", "accepted"], results
    for r in results:
        assert r["status"] != "rejected" or r.get("reason"), "a rejection without a reason: %s" % r
    assert [r.get("id") for r in results if r["status"] == "accepted"] == ["mixed-1", "mixed-3", "mixed-7"], results
    dropped.update(("node/nas", i) for i in ("mixed-1", "mixed-3", "mixed-7"))

    status, answer = cluster.post_events("nas", event("nas", "mixed-3"), token=nas, batch=False)
    assert status == 200 and [r["status"] for r in answer["results"]] == ["duplicate"], (status, answer)
    status, answer = cluster.post_events("nas", [event("nas", "mixed-7"), event("nas", "mixed-8")], token=nas)
    assert status == 200 and [r["status"] for r in answer["results"]] == ["duplicate", "accepted"], (status, answer)
    dropped.add(("node/nas", "mixed-8"))
    wait(lambda: all_logged(dropped), 30, "the accepted events logged")
    lines = assert_log_exactly_once(dropped, "after the auth checks")
    ids = {line["id"] for line in lines}
    assert not ids & {"impostor-1", "impostor-2", "anonymous-1", "wrong-1", "ghost-2", "big-0000", "mixed-2", "mixed-5", "mixed-6"}


lab = Lab(nodes=("nas", "pi"), image=image)
cluster = None
try:
    with lab:
        cluster = Cluster(lab, binary, desired_nodes=("nas", "pi"), stale_after=STALE_AFTER)
        started = time.monotonic()
        if check("set-up: VPS services, tokens by `homelab agent-token`, an agent per node; the world sees both", setup):
            print("     (set-up took %.0f s)" % (time.monotonic() - started), flush=True)
            check("containers started/stopped/removed on each engine → world container/NODE/NAME, right state",
                  test_containers_follow_each_engine)
            check("heartbeats and node facts (hostname, kernel, cpus, memory) arrive over HTTP", test_heartbeats_and_facts)
            check("an agent stopped → its node `stale` in drift.json at the deadline; back → fresh", test_stopped_agent_turns_its_node_stale)
            check("partition: nas cut off %.0f s, 1,000 events and container changes → all once, world = engine, seq gap-free"
                  % PARTITION_SECONDS, test_partition_loses_nothing_and_doubles_nothing)
            check("faults: kill -9 of agent, ui, observer mid-flow, %d rounds → no loss, no duplicate" % FAULT_ROUNDS, test_faults)
            check("auth over the network: 403 other node, 401 revoked/none/wrong, 413, 415, per-item rejects, duplicate",
                  test_auth_over_the_network)
        if checks.failed:
            for name in ("agent-nas", "agent-pi", "ui", "observer", "supervisor"):
                print("--- %s.log (end)\n%s" % (name, cluster.log_tail(name)))
            # Every log of the lab (services, agents, dockerds) and the runtime root, kept for a post-mortem.
            kept = os.path.join(os.environ.get("AGENTS_TEST_KEEP", "/var/tmp/homelab-agents-test"), lab.id)
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(lab.base, kept, ignore=shutil.ignore_patterns("data", "exec", "*.sock", "image.tar"), symlinks=True,
                            ignore_dangling_symlinks=True)
            print("     the lab's logs and runtime root are kept in %s" % kept)
except BaseException as error:  # noqa: BLE001 - the lab is down; report and count it
    if not isinstance(error, SystemExit):
        check("the lab itself", lambda: (_ for _ in ()).throw(error))

checks.finish(expected=7)
