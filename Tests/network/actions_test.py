#!/usr/bin/env python3
"""Actions run by a node's agent (docs/remote-actions.md) on a homelab of network namespaces:
the VPS runs the observer, the supervisor, the executor and the UI; the nodes nas and pi run
agents with their own engines (Tests/network/netlab.py).

    python3 Tests/network/actions_test.py HOMELAB_BINARY        (root; docker.io, iproute2)

Checks:
  - drift to done: the inventory wants container nas/web running with a `docker-start` rule
    that runs on {host}; `docker stop web` on the nas engine → a proposal → approved over HTTP
    with the operator token → the nas agent runs `docker start web` on its own engine → the
    container runs, the drift is gone, the action is in done/ with its output in
    logs/actions/ID.log, and the executor's log says it handed it off (no child of its own);
  - a race: two agents of nas (two spools, one token) and the executor over 200 approved
    runsOn actions whose program appends to a ledger on the node → every ID ran exactly once;
  - kill -9 of the nas agent mid-action → its child is gone, the action failed/interrupted and
    never run again;
  - a link cut longer than the lease (HOMELAB_AGENT_LEASE_SECONDS) mid-action → failed
    interrupted; the late result does not flip it;
  - a claim with pi's token for a nas action → 403; a program outside the allow-list → failed
    with the reason, nothing ran.
Prints "actions: N passed, N failed"."""

import json
import os
import shutil
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))
sys.path.insert(0, here)
from harness import Checks, wait  # noqa: E402 - after the path is set
from netlab import VPS, Lab  # noqa: E402
from cluster import Cluster  # noqa: E402

if len(sys.argv) != 2:
    sys.exit("usage: actions_test.py HOMELAB_BINARY")
binary = os.path.abspath(sys.argv[1])
image = os.environ.get("RUNTIME_IMAGE", "homelab-base/runtime:bookworm")
RACE = int(os.environ.get("ACTIONS_RACE", "200"))
LEASE = 4
checks = Checks("actions")
check = checks.check


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as file:
        json.dump(value, file)


def setup_repo():
    inventory = os.path.join(cluster.repo, "inventory")
    write_json(os.path.join(inventory, "resources", "containers", "nas-web.json"),
               {"kind": "container", "name": "nas/web", "spec": {"state": "running"},
                "remediate": [{"on": "state", "action": "docker-start", "args": {"host": "nas", "container": "web"}}]})
    node = {"host": "^[a-z0-9][a-z0-9-]{0,62}$"}
    write_json(os.path.join(inventory, "actions", "docker-start.json"),
               {"description": "Start a stopped container, on its node", "argv": ["docker", "start", "{container}"],
                "params": dict(node, container="^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"), "runsOn": "{host}", "timeoutSeconds": 60})
    # The ledger: a program of the node's (allowed by its path) that notes each run and its pid.
    with open(script, "w") as file:
        file.write("#!/bin/sh\necho \"$1 $$\" >> %s\necho \"ran $1\"\n[ -n \"$2\" ] && sleep \"$2\"\necho \"$1 done\" >> %s\nexit 0\n"
                   % (ledger_file, ledger_file))
    os.chmod(script, 0o755)
    write_json(os.path.join(inventory, "actions", "ledger.json"),
               {"argv": [script, "{n}"], "params": dict(node, n="^[a-z0-9-]{1,64}$"), "runsOn": "{host}", "timeoutSeconds": 30})
    write_json(os.path.join(inventory, "actions", "ledger-sleep.json"),
               {"argv": [script, "{n}", "{seconds}"], "params": dict(node, n="^[a-z0-9-]{1,64}$", seconds="^[0-9]{1,3}$"),
                "runsOn": "{host}", "timeoutSeconds": 120})
    write_json(os.path.join(inventory, "actions", "forbidden.json"),
               {"argv": ["touch", forbidden_marker], "params": node, "runsOn": "{host}", "timeoutSeconds": 10})


def agent_extra():
    return {"HOMELAB_AGENT_ALLOW": "docker," + script, "HOMELAB_AGENT_CONCURRENCY": "2"}


def start_second_nas_agent():
    spool = os.path.join(lab.base, "nas", "spool-2")
    os.makedirs(os.path.join(spool, "inbox"), exist_ok=True)
    env = cluster.agent_env("nas", HOMELAB_AGENT_SPOOL=spool, HOMELAB_AGENT_DOCKER="0", **agent_extra())
    return lab.spawn(lab.namespace("nas"), "agent-nas-2", [binary, "agent"], env=env, log=os.path.join(lab.base, "agent-nas-2.log"))


def setup():
    setup_repo()
    cluster.start_vps(services=("observer", "supervisor", "executor", "ui"))
    lab.docker("nas", "run", "-d", "--init", "--network", "none", "--name", "web", image, "sleep", "infinity")
    for node in ("nas", "pi"):
        cluster.start_agent(node, **agent_extra())
    wait(lambda: (cluster.world("container", "nas/web") or {}).get("observed", {}).get("state") == "running", 60, "world's nas/web running")
    wait(lambda: "for actions" in cluster.log_tail("ui", 100000), 30, "the agents' action streams")


# --- helpers on the VPS's files ---------------------------------------------------------------

def state_of(action_id):
    for state in ("pending", "approved", "running", "done", "failed", "rejected", "superseded"):
        if os.path.exists(os.path.join(cluster.root, "actions", state, action_id + ".json")):
            return state
    return None


def action_file(action_id):
    state = state_of(action_id)
    with open(os.path.join(cluster.root, "actions", state, action_id + ".json")) as file:
        return json.load(file)


def approve(action_id):
    status, _, body = lab.http(VPS, "POST", cluster.url + "/api/actions/%s/approve" % action_id,
                               headers={"Authorization": "Bearer " + cluster.operator_token}, timeout=30)
    assert status == 200, "approve %s: %d %s" % (action_id, status, body[:200])


def propose(action_id, action, args, resource="container/nas/ledger"):
    """A proposal as an operator's would be: the pending file, and its action.proposed in the
    services' audit folder (the executor's gate wants the log to show it)."""
    write_json(os.path.join(cluster.root, "actions", "pending", "." + action_id + ".tmp"),
               {"id": action_id, "action": action, "args": args, "resource": resource,
                "proposedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    os.rename(os.path.join(cluster.root, "actions", "pending", "." + action_id + ".tmp"),
              os.path.join(cluster.root, "actions", "pending", action_id + ".json"))
    event = {"specversion": "1.0", "type": "action.proposed", "source": "supervisor", "id": "proposal-" + action_id,
             "subject": "action/" + action_id, "data": {"actor": "operator"}}
    audit = os.path.join(cluster.root, "audit")
    with open(os.path.join(audit, ".%s.tmp" % action_id), "w") as file:
        json.dump(event, file)
    os.rename(os.path.join(audit, ".%s.tmp" % action_id), os.path.join(audit, "proposed-%s.json" % action_id))


def proposed(action_id):
    world = cluster.world("action", action_id) or {}
    return any(step.get("step") == "proposed" for step in world.get("lifecycle", []))


def ledger_runs():
    """{ID: [pid, ...]} of every start the ledger noted."""
    runs = {}
    try:
        with open(ledger_file) as file:
            for line in file:
                word, rest = line.split(" ", 1)
                if rest.strip() != "done":
                    runs.setdefault(word, []).append(int(rest))
    except OSError:
        pass
    return runs


def ledger_done(action_id):
    try:
        with open(ledger_file) as file:
            return any(line.strip() == action_id + " done" for line in file)
    except OSError:
        return False


# --- the checks ----------------------------------------------------------------------------

def test_drift_to_done():
    lab.docker("nas", "stop", "web")
    action_id = wait(lambda: next((p[:-5] for p in os.listdir(os.path.join(cluster.root, "actions", "pending"))
                                   if p.endswith(".json")), None), 60, "a proposal for the stopped nas/web")
    wait(lambda: proposed(action_id), 30, "the proposal in the log")
    approved = time.monotonic()
    approve(action_id)
    wait(lambda: state_of(action_id) in ("done", "failed"), 60, "%s to end" % action_id)
    file = action_file(action_id)
    assert state_of(action_id) == "done", file
    assert lab.docker("nas", "inspect", "-f", "{{.State.Running}}", "web") == "true"
    wait(lambda: not cluster.drift_of("container/nas/web"), 60, "the drift of nas/web gone")
    with open(os.path.join(cluster.root, "logs", "actions", action_id + ".log")) as log:
        output = log.read()
    assert output.strip() == "web", "logs/actions/%s.log holds %r" % (action_id, output)
    executor = cluster.log_tail("executor", 1000000)
    assert "hand" in executor and action_id in executor, executor[-1500:]
    assert "started %s" % action_id not in executor, "the executor started a child of its own: " + executor[-1500:]
    events = [line for line in cluster.logged() if line.get("subject") == "action/" + action_id]
    actors = {line["type"]: line["data"].get("actor") for line in events}
    assert actors.get("action.started") == "agent:nas" and actors.get("action.succeeded") == "agent:nas", actors
    print("     docker stop → done in %.1f s after the approval" % (time.monotonic() - approved), flush=True)


def test_race_runs_each_once():
    second = start_second_nas_agent()
    wait(lambda: cluster.log_tail("ui", 1000000).count("for actions") >= 3, 30, "the second nas agent's stream")
    ids = ["race-%03d" % i for i in range(RACE)]
    for action_id in ids:
        propose(action_id, "ledger", {"host": "nas", "n": action_id})
    wait(lambda: all(proposed(i) for i in ids), 60, "the proposals in the log")
    started = time.monotonic()
    for action_id in ids:
        approve(action_id)
    wait(lambda: all(state_of(i) in ("done", "failed") for i in ids), 180, "all %d to end" % RACE)
    took = time.monotonic() - started
    failed = [i for i in ids if state_of(i) != "done"]
    assert not failed, "%d failed, e.g. %s: %s" % (len(failed), failed[0], action_file(failed[0]).get("result"))
    runs = ledger_runs()
    twice = [i for i in ids if len(runs.get(i, [])) != 1]
    assert not twice, "ran other than once: %s" % [(i, runs.get(i)) for i in twice[:5]]
    by_agent = {}
    for name in ("agent-nas", "agent-nas-2"):
        by_agent[name] = sum(1 for i in ids if "started " + i + ":" in cluster.log_tail(name, 10 ** 7))
    assert sum(by_agent.values()) == RACE, by_agent
    lab.stop_process(second, 10)
    print("     %d actions in %.1f s, each once; %s" % (RACE, took, by_agent), flush=True)


def run_sleeper(action_id, seconds):
    propose(action_id, "ledger-sleep", {"host": "nas", "n": action_id, "seconds": str(seconds)})
    wait(lambda: proposed(action_id), 30, "the proposal of " + action_id)
    approve(action_id)
    pids = wait(lambda: ledger_runs().get(action_id), 30, action_id + " started on nas")
    return pids[0]


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_kill_agent_mid_action():
    pid = run_sleeper("killed-1", 30)
    assert alive(pid)
    cluster.kill("agent-nas")
    wait(lambda: not alive(pid), 10, "the child %d gone with its agent" % pid)
    cluster.start_agent("nas", **agent_extra())
    wait(lambda: state_of("killed-1") == "failed", 30, "killed-1 failed")
    error = action_file("killed-1")["result"].get("error", "")
    assert "interrupted" in error, error
    time.sleep(2)
    assert len(ledger_runs().get("killed-1", [])) == 1 and not ledger_done("killed-1"), ledger_runs().get("killed-1")


def test_link_cut_longer_than_the_lease():
    pid = run_sleeper("cut-1", LEASE + 8)
    lab.partition("nas")
    try:
        wait(lambda: state_of("cut-1") == "failed", LEASE + 30, "cut-1 failed by its lease while nas is cut off")
    finally:
        lab.heal("nas")
    error = action_file("cut-1")["result"].get("error", "")
    assert "interrupted" in error, error
    wait(lambda: not alive(pid), LEASE + 30, "the child stopped or ended")
    wait(lambda: "lease ended" in cluster.log_tail("agent-nas", 100000), 30, "the agent saying the lease ended it")
    assert state_of("cut-1") == "failed", state_of("cut-1")


def test_other_nodes_token_and_the_allow_list():
    # A nas action claimed with pi's token: 403 (the hand-off exists while nobody claims it:
    # the nas agents are stopped for the moment).
    cluster.stop("agent-nas")
    propose("claim-1", "ledger", {"host": "nas", "n": "claim-1"})
    wait(lambda: proposed("claim-1"), 30, "the proposal of claim-1")
    approve("claim-1")
    wait(lambda: os.path.exists(os.path.join(cluster.root, "handoff", "nas", "claim-1.json")), 30, "the hand-off of claim-1")
    status, _, body = lab.http("pi", "POST", cluster.url + "/api/agent/actions/claim-1/claim",
                               body=json.dumps({"instance": "0b7a34d0-1c1e-4c5e-9a61-2f2b0d7e5a11"}).encode(),
                               headers={"Authorization": "Bearer " + cluster.tokens["pi"], "Content-Type": "application/json"})
    assert status == 403, (status, body)
    cluster.start_agent("nas", **agent_extra())
    wait(lambda: state_of("claim-1") == "done", 30, "claim-1 done by the nas agent")
    # A program outside the allow-list: claimed, failed with the reason, nothing ran.
    propose("forbidden-1", "forbidden", {"host": "nas"})
    wait(lambda: proposed("forbidden-1"), 30, "the proposal of forbidden-1")
    approve("forbidden-1")
    wait(lambda: state_of("forbidden-1") == "failed", 30, "forbidden-1 failed")
    error = action_file("forbidden-1")["result"].get("error", "")
    assert error == "refused: touch is not in HOMELAB_AGENT_ALLOW (docker,%s)" % script, error
    assert not os.path.exists(forbidden_marker)


lab = Lab(nodes=("nas", "pi"), image=image)
cluster = None
try:
    with lab:
        cluster = Cluster(lab, binary, desired_nodes=("nas", "pi"))
        cluster.vps_env["HOMELAB_AGENT_LEASE_SECONDS"] = str(LEASE)
        script = os.path.join(lab.base, "bin", "ledger")
        os.makedirs(os.path.dirname(script), exist_ok=True)
        ledger_file = os.path.join(lab.base, "nas", "ledger.txt")
        forbidden_marker = os.path.join(lab.base, "nas", "forbidden-ran")
        started = time.monotonic()
        if check("set-up: observer, supervisor, executor, ui; an agent per node allowing docker and the ledger", setup):
            print("     (set-up took %.0f s)" % (time.monotonic() - started), flush=True)
            check("docker stop on nas → proposal → approved over HTTP → the nas agent starts it → done, drift gone",
                  test_drift_to_done)
            check("two nas agents and the executor over %d approved runsOn actions → each ran exactly once" % RACE,
                  test_race_runs_each_once)
            check("kill -9 of the nas agent mid-action → its child gone, failed interrupted, not re-run", test_kill_agent_mid_action)
            check("link cut longer than the lease (%d s) → failed interrupted; the late result does not flip it" % LEASE,
                  test_link_cut_longer_than_the_lease)
            check("pi's token claiming a nas action → 403; a program outside the allow-list → failed, nothing ran",
                  test_other_nodes_token_and_the_allow_list)
        if checks.failed:
            for name in ("agent-nas", "agent-nas-2", "agent-pi", "ui", "executor", "supervisor"):
                print("--- %s.log (end)\n%s" % (name, cluster.log_tail(name)))
            kept = os.path.join(os.environ.get("ACTIONS_TEST_KEEP", "/var/tmp/homelab-actions-test"), lab.id)
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(lab.base, kept, ignore=shutil.ignore_patterns("data", "exec", "*.sock", "image.tar"), symlinks=True,
                            ignore_dangling_symlinks=True)
            print("     the lab's logs and runtime root are kept in %s" % kept)
except BaseException as error:  # noqa: BLE001 - the lab is down; report and count it
    if not isinstance(error, SystemExit):
        check("the lab itself", lambda: (_ for _ in ()).throw(error))

checks.finish(expected=6)
