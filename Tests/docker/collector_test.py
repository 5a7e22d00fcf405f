#!/usr/bin/env python3
"""`homelab agent`'s Docker collector and the Docker actions against real containers on a real engine.

    python3 Tests/docker/collector_test.py HOMELAB_BINARY

Runs the observer, supervisor, executor and the agent (`homelab agent --inbox ROOT/inbox`, as
on the VPS) as processes on a temporary runtime root, with an inventory that wants two small
containers running (the example catalog's docker-start, through a docker context named after
the test host). Checks: a stopped container is proposed a docker-start within 2 s; approved,
the executor starts it, the agent reports it running, the drift is gone and the action is in
done/; a container removed by hand is `missing` drift; an agent restarted while containers
change corrects the world with its snapshot; with --inbox it delivers into any folder, and its
spool is left with hidden files only; an agent that loses the engine reconnects and catches up.
Prints "collector: N passed, N failed"."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Checks, wait  # noqa: E402 - after the path is set

binary = os.path.abspath(sys.argv[1])
repo_checkout = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
image = os.environ.get("RUNTIME_IMAGE", "homelab-base/runtime:bookworm")
host = "cihost"
web, db, extra = "hl-test-web", "hl-test-db", "hl-test-extra"
base = tempfile.mkdtemp(prefix="homelab-collector-")
root = os.path.join(base, "root")
inventory = os.path.join(base, "repo", "inventory")
docker_config = os.path.join(base, "docker-config")
env = dict(os.environ, HOMELAB_ROOT=root, HOMELAB_INVENTORY=inventory, HOMELAB_REPO=os.path.join(base, "repo"),
           HOMELAB_HEARTBEAT_SECONDS="1", DOCKER_CONFIG=docker_config)
env.pop("DOCKER_HOST", None)
services = {}
checks = Checks("collector")
check = checks.check


def docker(*arguments, check=True):
    done = subprocess.run(["docker"] + list(arguments), env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError("docker %s: %s" % (" ".join(arguments), done.stderr.strip()))
    return done.stdout.strip()


def start(name, *arguments, extra_env=None):
    log = open(os.path.join(base, name + ".log"), "a")
    services[name] = subprocess.Popen([binary] + list(arguments), env=dict(env, **(extra_env or {})), stderr=log, stdout=log)


def stop(name):
    process = services.pop(name)
    process.send_signal(signal.SIGTERM)
    assert process.wait(5) == 0, "%s did not stop cleanly" % name






def read(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def observed(name):
    return (read(os.path.join(root, "world", "container", host, name + ".json")) or {}).get("observed")


def drift_of(name):
    report = read(os.path.join(root, "state", "drift.json")) or {}
    return [d for d in report.get("drift", []) if d["resource"] == "container/%s/%s" % (host, name)]


def pending_for(name):
    folder = os.path.join(root, "actions", "pending")
    found = []
    for file in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        action = read(os.path.join(folder, file))
        if action and action["resource"] == "container/%s/%s" % (host, name):
            found.append(action)
    return found


def run_container(name):
    docker("run", "-d", "--init", "--name", name, image, "sleep", "infinity")


def start_agent(extra_env=None):
    """The VPS's agent: the collector inside it, delivering into the runtime root's inbox."""
    start("collector", "agent", "--inbox", os.path.join(root, "inbox"),
          extra_env=dict({"HOMELAB_NODE": host, "HOMELAB_AGENT_SPOOL": os.path.join(base, "spool")}, **(extra_env or {})))


def setup():
    os.makedirs(os.path.join(inventory, "resources"))
    os.makedirs(os.path.join(root, "inbox"))
    os.makedirs(os.path.join(root, "state"))
    # The VPS's own engine: the executor runs the action here (no runsOn), through a context.
    os.makedirs(os.path.join(inventory, "actions"))
    with open(os.path.join(inventory, "actions", "docker-start.json"), "w") as file:
        json.dump({"description": "Start a stopped container", "argv": ["docker", "--context", "{host}", "start", "{container}"],
                   "params": {"host": "^[a-z0-9][a-z0-9-]{0,62}$", "container": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"},
                   "timeoutSeconds": 60}, file)
    for name in (web, db):
        with open(os.path.join(inventory, "resources", name + ".json"), "w") as file:
            json.dump({"kind": "container", "name": "%s/%s" % (host, name), "spec": {"state": "running"},
                       "remediate": [{"on": "state", "action": "docker-start", "args": {"host": host, "container": name}}]}, file)
    # The catalog says `docker --context HOST`: the test host's context is the local engine.
    docker("context", "create", host, "--docker", "host=unix:///var/run/docker.sock")
    for name in (web, db, extra):
        docker("rm", "-f", name, check=False)
    run_container(web)
    run_container(db)
    for service in ("observer", "supervisor", "executor"):
        start(service, service)
    start_agent()
    wait(lambda: (observed(web) or {}).get("state") == "running" and (observed(db) or {}).get("state") == "running", 10,
         "both containers running in the world")
    wait(lambda: os.path.exists(os.path.join(root, "state", "drift.json")) and not drift_of(web) and not drift_of(db), 5, "no drift")


def test_stop_is_proposed_approved_started_and_healed():
    docker("stop", web)
    stopped = time.monotonic()
    action = wait(lambda: pending_for(web), 2.0, "a pending docker-start within 2 s")[0]
    print("     pending %.0f ms after docker stop returned" % ((time.monotonic() - stopped) * 1000), flush=True)
    assert action["action"] == "docker-start" and action["preview"] == ["docker", "--context", host, "start", web], action
    assert observed(web)["state"] == "exited"
    done = subprocess.run([binary, "approve", action["id"]], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = wait(lambda: (read(os.path.join(root, "actions", "done", action["id"] + ".json")) or {}).get("result"), 30, "the action in done/")
    assert result["exitCode"] == 0, result
    assert docker("inspect", "-f", "{{.State.Status}}", web) == "running"
    wait(lambda: (observed(web) or {}).get("state") == "running", 5, "the agent to report it running")
    wait(lambda: not drift_of(web) and not pending_for(web), 5, "the drift to be gone")


def test_removed_by_hand_is_missing():
    docker("rm", "-f", db)
    wait(lambda: observed(db) is None, 5, "the world to drop it")
    wait(lambda: [d for d in drift_of(db) if d["kind"] == "missing"], 5, "missing drift")


def test_restarted_agent_snapshot_corrects_the_world():
    stop("collector")
    docker("rm", "-f", web)          # gone while nobody watched
    run_container(extra)             # new while nobody watched
    assert observed(web) is not None and observed(extra) is None
    start_agent()
    wait(lambda: observed(web) is None and (observed(extra) or {}).get("state") == "running", 10, "the snapshot to correct the world")
    wait(lambda: [d for d in drift_of(web) if d["kind"] == "missing"], 5, "missing drift for the removed one")


def test_a_reused_name_survives_a_replayed_destroy():
    """A destroy of an older container, replayed at the agent's start (`--since`), must not
    remove the newer container that took its name."""
    stop("collector")
    docker("run", "-d", "--init", "--name", extra + "-reused", image, "sleep", "infinity")
    docker("rm", "-f", extra + "-reused")
    run_container(extra + "-reused")
    start_agent()
    wait(lambda: (observed(extra + "-reused") or {}).get("state") == "running", 10, "the new container in the world")
    time.sleep(1.5)  # what a replayed destroy would have removed by now
    assert (observed(extra + "-reused") or {}).get("state") == "running", observed(extra + "-reused")
    docker("rm", "-f", extra + "-reused")


def test_no_ghost_after_rm_while_inspecting():
    """Containers replaced quickly (new one up, old one `rm -f`): what an inspect in flight says
    of a container destroyed meanwhile must not bring it back."""
    names = ["%s-churn-%d" % (extra, index) for index in range(8)]
    for index, name in enumerate(names):
        run_container(name)
        if index > 0:
            docker("rm", "-f", names[index - 1])
    live = {names[-1]}

    def world_matches():
        folder = os.path.join(root, "world", "container", host)
        present = {f[:-5] for f in os.listdir(folder) if f.endswith(".json") and f.startswith(extra + "-churn-")}
        return present == live
    wait(world_matches, 10, "the world to hold only the last container")
    time.sleep(1)
    assert world_matches(), sorted(os.listdir(os.path.join(root, "world", "container", host)))
    docker("rm", "-f", names[-1])


def test_delivery_into_any_folder():
    """On another node: into a folder a file transport carries to the VPS inbox."""
    spool = os.path.join(base, "drop-folder")
    os.makedirs(spool)
    log = open(os.path.join(base, "nas-agent.log"), "w")
    other = subprocess.Popen([binary, "agent", "--inbox", spool], stderr=log,
                             env=dict(env, HOMELAB_NODE="nas", HOMELAB_AGENT_SPOOL=os.path.join(base, "nas-spool")))
    try:
        def snapshot():
            for name in os.listdir(spool):
                event = read(os.path.join(spool, name)) if name.endswith(".json") and not name.startswith(".") else None
                if event and event["type"] == "resource.snapshot":
                    return event
            return None
        event = wait(snapshot, 10, "a snapshot in the spool folder")
        assert event["source"] == "node/nas" and event["subject"] == "container/nas", event
        assert "nas/" + extra in event["data"]["resources"], sorted(event["data"]["resources"])
    finally:
        other.send_signal(signal.SIGTERM)
        assert other.wait(5) == 0
    left = sorted(name for name in os.listdir(os.path.join(base, "nas-spool")) if not name.startswith("."))
    assert left == ["inbox", "rejected"], left


class EngineProxy:
    """A unix socket that forwards to the engine's, which the test can cut and restore."""

    def __init__(self, path):
        self.path = path
        self.server = None
        self.connections = []

    def up(self):
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(self.path)
        self.server.listen(64)
        threading.Thread(target=self.accept, args=(self.server,), daemon=True).start()

    def accept(self, server):
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            engine = socket.socket(socket.AF_UNIX)
            engine.connect("/var/run/docker.sock")
            self.connections += [client, engine]
            for a, b in ((client, engine), (engine, client)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(source, target):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def down(self):
        self.server.close()
        os.unlink(self.path)
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.connections = []


def test_engine_lost_and_back_reconnects_and_catches_up():
    stop("collector")
    proxy = EngineProxy(os.path.join(base, "engine.sock"))
    proxy.up()
    start_agent(extra_env={"DOCKER_HOST": "unix://" + proxy.path})
    log = os.path.join(base, "collector.log")
    snapshots = lambda: open(log).read().count("snapshot: ")
    before = snapshots()
    wait(lambda: snapshots() > before, 10, "the first snapshot through the proxy")
    proxy.down()
    wait(lambda: "event stream ended" in open(log).read(), 5, "the agent to notice the engine is gone")
    docker("stop", extra)            # changes while the engine is unreachable for the collector
    time.sleep(1.5)                  # a retry or two fails meanwhile
    proxy.up()
    wait(lambda: snapshots() > before + 1, 40, "a reconnect and a new snapshot")
    assert "agent for node/%s" % host in open(log).read()
    wait(lambda: (observed(extra) or {}).get("state") == "exited", 5, "the world to catch up")
    run_container(web)
    wait(lambda: (observed(web) or {}).get("state") == "running", 5, "live events again after the reconnect")
    proxy.down()


try:
    check("set-up: the world sees both containers running, no drift", setup)
    if checks.results[-1][1] is None:
        check("docker stop → pending docker-start within 2 s → approve → started → drift gone, action done", test_stop_is_proposed_approved_started_and_healed)
        check("a container removed by hand → missing drift", test_removed_by_hand_is_missing)
        check("a restarted agent's snapshot corrects the world", test_restarted_agent_snapshot_corrects_the_world)
        check("a name reused before the agent starts survives the replayed destroy of the old one", test_a_reused_name_survives_a_replayed_destroy)
        check("containers replaced in quick succession leave no ghost in the world", test_no_ghost_after_rm_while_inspecting)
        check("--inbox FOLDER: the snapshot lands in any folder, as node/HOST; the spool drains", test_delivery_into_any_folder)
        check("the engine lost and back: the agent reconnects and catches up", test_engine_lost_and_back_reconnects_and_catches_up)
finally:
    if checks.failed:
        for name in ("collector", "observer", "supervisor", "executor"):
            path = os.path.join(base, name + ".log")
            if os.path.exists(path):
                print("--- %s.log\n%s" % (name, open(path).read()[-3000:]))
    for process in services.values():
        process.send_signal(signal.SIGTERM)
        process.wait(5)
    for name in (web, db, extra, extra + "-reused") + tuple("%s-churn-%d" % (extra, index) for index in range(8)):
        docker("rm", "-f", name, check=False)
    docker("context", "rm", "-f", host, check=False)
    shutil.rmtree(base, ignore_errors=True)

checks.finish(expected=8)
