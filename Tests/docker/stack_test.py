#!/usr/bin/env python3
"""The compose stack on a real Docker engine, driven over HTTP and files only.

    python3 Tests/docker/stack_test.py        (scripts/docker/stack-test.sh prepares the engine and images)

Bootstraps the stack with scripts/bootstrap/vps-control-plane.sh on a temporary runtime root
and a temporary homelab repository (two desired containers, the example catalog), then checks:
the services run as UID 1000; the repository is read-only inside the containers; an event
that causes drift leads to a pending action, which approved with the token over HTTP is run by
the executor, after which done/ and /summary agree; the VPS's own agent in the stack reports its
node (world/node/vps.json with the host's facts, heartbeats arriving) and the host's
containers, and a real container created but not started is proposed a docker-start that the
executor runs on the engine; `compose restart` in the middle of a
stream of events loses none and logs none twice; deleting the checkpoint and restarting the
observer rebuilds the same world; re-running the bootstrap (the upgrade) keeps the token and
comes back healthy. Tears the stack down at the end. Prints "stack: N passed, N failed"."""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Checks, wait  # noqa: E402 - after the path is set

repo_checkout = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
base = tempfile.mkdtemp(prefix="homelab-stack-", dir="/var/tmp")
os.chmod(base, 0o755)
root = os.path.join(base, "root")
homelab_repo = os.path.join(base, "repo")
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
env = dict(os.environ, HOMELAB_ROOT_HOST=root, HOMELAB_REPO_HOST=homelab_repo, HOMELAB_UI_PUBLISH="127.0.0.1:%d" % port,
           HOMELAB_PROXY_NETWORK="homelab-proxy-test", HOMELAB_HEARTBEAT_SECONDS="2", HOMELAB_HEALTH_INTERVAL="1s",
           HOMELAB_HEALTH_TIMEOUT="120")
# HOMELAB_COMPOSE=v1|v2 picks the Compose the test (and the bootstrap it runs) uses.
wanted = os.environ.get("HOMELAB_COMPOSE", "")
if wanted == "v2" or (wanted != "v1" and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0):
    compose = ["docker", "compose"]
else:
    compose = ["docker-compose"]
compose_version = subprocess.run(compose + ["version", "--short"], capture_output=True, text=True).stdout.strip()
print("== the stack with %s (Compose %s)" % (" ".join(compose), compose_version), flush=True)
compose += ["--project-directory", os.path.join(repo_checkout, "docker"), "-f", os.path.join(repo_checkout, "docker", "compose.yaml"),
            "-p", "homelab-control-plane"]
url = "http://127.0.0.1:%d" % port
probe = "hl-stack-probe"
services = ("observer", "supervisor", "executor", "ui", "notifier", "agent")
checks = Checks("stack-v%s" % (compose_version.split(".")[0] or "?"))
check = checks.check


def run(command, check=True, **kwargs):
    done = subprocess.run(command, env=env, capture_output=True, text=True, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError("%s exited %d: %s%s" % (" ".join(command), done.returncode, done.stdout, done.stderr))
    return done






def container(service):
    return run(compose + ["ps", "-q", service]).stdout.strip()


def get(path, token=None, method="GET"):
    request = urllib.request.Request(url + path, method=method, data=b"" if method == "POST" else None)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def summary():
    return json.loads(get("/summary")[1])


def drop(name, event):
    """A producer's drop: written under a hidden name, renamed into the inbox (SPEC §4.1)."""
    temporary = os.path.join(root, "inbox", "." + name)
    with open(temporary, "w") as file:
        json.dump(event, file)
    os.rename(temporary, os.path.join(root, "inbox", name))


def names(folder):
    return sorted(n for n in os.listdir(os.path.join(root, folder)) if n.endswith(".json") and not n.startswith("."))


def log_lines():
    lines = []
    events = os.path.join(root, "events")
    for day in sorted(os.listdir(events)):
        for segment in sorted(os.listdir(os.path.join(events, day))):
            if segment.endswith(".jsonl"):
                with open(os.path.join(events, day, segment)) as file:
                    lines += [json.loads(line) for line in file if line.strip()]
    return lines


def checkpoint_seq():
    try:
        with open(os.path.join(root, "state", "observer_checkpoint.json")) as file:
            return json.load(file)["seq"]
    except (OSError, ValueError, KeyError):
        return None


def world_digest():
    digest = {}
    world = os.path.join(root, "world")
    for folder, _, files in os.walk(world):
        for name in files:
            if not name.startswith("."):
                path = os.path.join(folder, name)
                with open(path, "rb") as file:
                    digest[os.path.relpath(path, world)] = hashlib.sha256(file.read()).hexdigest()
    return digest


def settled():
    """The observer has taken the whole inbox and folded everything it logged."""
    lines = log_lines()
    return not names("inbox") and lines and checkpoint_seq() == lines[-1]["seq"]


def make_homelab_repo():
    os.makedirs(os.path.join(homelab_repo, "inventory", "resources"))
    shutil.copytree(os.path.join(repo_checkout, "examples", "inventory", "actions"), os.path.join(homelab_repo, "inventory", "actions"))
    with open(os.path.join(homelab_repo, "inventory", "resources", "jellyfin.json"), "w") as file:
        json.dump({"kind": "container", "name": "nas/jellyfin", "spec": {"state": "running"},
                   "remediate": [{"on": "state", "action": "simulate-start", "args": {"host": "nas", "container": "jellyfin"}}]}, file)
    with open(os.path.join(homelab_repo, "inventory", "resources", "probe.json"), "w") as file:
        json.dump({"kind": "container", "name": "vps/" + probe, "spec": {"state": "running"},
                   "remediate": [{"on": "state", "action": "docker-start", "args": {"host": "vps", "container": probe}}]}, file)
    subprocess.run(["git", "init", "-q", homelab_repo], check=True)
    subprocess.run(["git", "-C", homelab_repo, "-c", "user.name=test", "-c", "user.email=test@localhost", "add", "-A"], check=True)
    subprocess.run(["git", "-C", homelab_repo, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qm", "inventory"], check=True)


def bootstrap():
    done = run([os.path.join(repo_checkout, "scripts", "bootstrap", "vps-control-plane.sh")], timeout=900)
    assert "all five services and the agent are healthy" in done.stdout, done.stdout
    assert "UI: %s/" % url in done.stdout, done.stdout
    return done


def pending_for(resource):
    for name in names("actions/pending"):
        with open(os.path.join(root, "actions", "pending", name)) as file:
            action = json.load(file)
        if action["resource"] == resource:
            return action
    return None


def approve(action_id):
    with open(os.path.join(root, "secrets", "ui-token")) as file:
        token = file.read().strip()
    status, answer = get("/api/actions/%s/approve" % action_id, token=token, method="POST")
    assert status == 200, (status, answer)
    done = os.path.join(root, "actions", "done", action_id + ".json")
    wait(lambda: os.path.exists(done), 30, "the action in done/")
    with open(done) as file:
        return json.load(file)["result"]


def test_the_proxy_network_reaches_the_ui_by_name():
    """What Nginx Proxy Manager does: from another container on the network, http://control-plane-ui:8080."""
    done = run(["docker", "run", "--rm", "--network", env["HOMELAB_PROXY_NETWORK"], os.environ.get("RUNTIME_IMAGE", "homelab-base/runtime:bookworm"),
                "bash", "-c", 'exec 3<>/dev/tcp/control-plane-ui/8080 && printf "GET /summary HTTP/1.0\\r\\nHost: control-plane-ui\\r\\nConnection: close\\r\\n\\r\\n" >&3 && cat <&3'])
    head, _, body = done.stdout.partition("\n\n")  # text mode turned each CRLF into a newline
    assert head.startswith("HTTP/1.1 200"), head
    assert "world" in json.loads(body), body


def test_bootstrap_refuses_a_repository_without_an_inventory():
    empty = os.path.join(base, "empty-repo")
    os.makedirs(empty)
    done = subprocess.run([os.path.join(repo_checkout, "scripts", "bootstrap", "vps-control-plane.sh")],
                          env=dict(env, HOMELAB_REPO_HOST=empty), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert done.stderr == "bootstrap: no inventory at %s/inventory: set HOMELAB_REPO_HOST to your homelab repository " \
        "(or try the example: HOMELAB_INVENTORY=/repo/examples/inventory)\n" % empty, done.stderr
    assert not os.path.exists(root), "the runtime root was touched"


def test_processes_run_as_uid_1000():
    for service in services:
        pid = run(["docker", "inspect", "-f", "{{.State.Pid}}", container(service)]).stdout.strip()
        with open("/proc/%s/status" % pid) as file:
            uids = next(line for line in file if line.startswith("Uid:")).split()[1:]
        assert uids == ["1000"] * 4, "%s runs as %s" % (service, uids)
        with open("/proc/%s/cmdline" % pid, "rb") as file:
            assert file.read().split(b"\0")[:2] == [b"/usr/local/bin/homelab", service.encode()]


def test_repository_is_read_only():
    for service in services:
        done = run(["docker", "exec", container(service), "touch", "/repo/inventory/written-from-" + service], check=False)
        assert done.returncode != 0 and "Read-only file system" in done.stderr, (service, done.returncode, done.stderr)
    assert not [n for n in os.listdir(os.path.join(homelab_repo, "inventory")) if n.startswith("written-from-")]


def test_drift_approve_execute():
    status, page = get("/")
    assert status == 200 and b"<html" in page.lower(), (status, page[:200])
    drop("jellyfin-exited.json", {"type": "resource.observed", "source": "node/nas", "id": "stack-jellyfin-1",
                                  "subject": "container/nas/jellyfin", "data": {"state": "exited"}})
    action = wait(lambda: pending_for("container/nas/jellyfin"), 10, "a pending action")
    action_id = action["id"]
    assert action["action"] == "simulate-start", action
    listed = json.loads(get("/api/actions?state=pending")[1])
    assert action_id in json.dumps(listed), listed
    try:
        get("/api/actions/%s/approve" % action_id, token="wrong-token", method="POST")
        raise AssertionError("approval with a wrong token was accepted")
    except urllib.error.HTTPError as error:
        assert error.code in (401, 403), error.code
    result = approve(action_id)
    assert result["exitCode"] == 0, result
    log = os.path.join(root, "logs", "actions", action_id + ".log")
    with open(log) as file:
        output = file.read()
    if "demo: docker --context nas start jellyfin" not in output:
        time.sleep(0.5)
        with open(log) as file:
            later = file.read()
        raise AssertionError("action log %r (half a second later %r); result %r" % (output, later, result))

    def agree():
        actions = summary()["actions"]
        return all(actions[state] == len(names("actions/" + state)) for state in actions) and actions["done"] >= 1
    wait(agree, 5, "/summary to agree with actions/")
    assert all(service["up"] for service in summary()["services"].values()), summary()["services"]


def test_the_vps_agent_reports_its_node():
    def node():
        try:
            with open(os.path.join(root, "world", "node", "vps.json")) as file:
                return json.load(file)
        except (OSError, ValueError):
            return None
    resource = wait(lambda: (node() or {}).get("observed") and node(), 30, "world/node/vps.json with the node's facts")
    facts = resource["observed"]
    for key in ("hostname", "kernel", "cpus"):
        assert facts.get(key), "node/vps has no %s: %s" % (key, facts)
    assert any(k.startswith("memory") for k in facts), facts
    assert resource["source"] == "node/vps", resource
    first = resource["lastSeen"]
    wait(lambda: node()["lastSeen"] > first, 20, "a later heartbeat (lastSeen) from node/vps")
    beats = [line for line in log_lines() if line["type"] == "node.heartbeat" and line["source"] == "node/vps"]
    # The log keeps one heartbeat per node per minute; lastSeen above moves with every one.
    assert beats and beats[-1]["subject"] == "node/vps", beats[-2:]


def test_agent_and_a_docker_action_on_the_real_engine():
    def world(name):
        try:
            with open(os.path.join(root, "world", "container", "vps", name + ".json")) as file:
                return json.load(file)["observed"]
        except (OSError, ValueError):
            return None
    ui_name = os.path.basename(run(["docker", "inspect", "-f", "{{.Name}}", container("ui")]).stdout.strip())
    seen = wait(lambda: world(ui_name), 10, "the agent to report the ui container")
    assert seen["state"] == "running" and seen["composeProject"] == "homelab-control-plane" and seen["composeService"] == "ui", seen
    assert seen.get("health") in ("healthy", "starting"), seen
    probe_lines = lambda: [(line["seq"], line["type"], (line.get("data") or {}).get("state", "")) for line in log_lines()
                           if probe in line.get("subject", "") or probe in json.dumps(line.get("data", {}))]
    assert (world(probe) or {}).get("state") == "created", ("the probe in the world", world(probe), probe_lines())
    action = wait(lambda: pending_for("container/vps/" + probe), 10, "a pending docker-start for the probe")
    assert action["preview"] == ["docker", "start", probe], action
    result = approve(action["id"])
    assert result["exitCode"] == 0, result
    assert run(["docker", "inspect", "-f", "{{.State.Status}}", probe]).stdout.strip() == "running"
    wait(lambda: (world(probe) or {}).get("state") == "running", 10, "the agent to report the probe running")
    wait(lambda: not pending_for("container/vps/" + probe), 10, "the drift to be gone")


def test_restart_midway_loses_nothing():
    before = len(log_lines())
    ids = ["stack-restart-%03d" % i for i in range(300)]

    def produce(part):
        for event_id in part:
            drop(event_id + ".json", {"type": "resource.observed", "source": "node/test", "id": event_id,
                                      "subject": "container/test/" + event_id, "data": {"state": "running"}})
            time.sleep(0.01)
    first = threading.Thread(target=produce, args=(ids[:150],))
    first.start()
    time.sleep(0.5)
    restart = subprocess.Popen(compose + ["restart"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first.join()
    produce(ids[150:])
    assert restart.wait(timeout=120) == 0
    wait(lambda: settled() and len(log_lines()) >= before + 300, 60, "all 300 events logged")
    lines = log_lines()
    seqs = [line["seq"] for line in lines]
    assert seqs == list(range(1, len(lines) + 1)), "the log's seqs have gaps or repeats"
    logged = [line["id"] for line in lines if line["id"].startswith("stack-restart-")]
    assert sorted(logged) == ids, "lost %d, doubled %d" % (len(set(ids) - set(logged)), len(logged) - len(set(logged)))
    assert not names("rejected")


def test_checkpoint_delete_rebuilds_the_same_world():
    run(compose + ["stop", "agent"])  # no new events while the world is compared
    wait(settled, 30, "the observer to settle")
    before = world_digest()
    seq = checkpoint_seq()
    assert len(before) > 300
    run(compose + ["stop", "observer"])
    os.remove(os.path.join(root, "state", "observer_checkpoint.json"))
    run(compose + ["start", "observer"])
    wait(lambda: checkpoint_seq() == seq, 60, "the world rebuilt to seq %d" % seq)
    after = world_digest()
    run(compose + ["start", "agent"])
    assert after == before, "the rebuilt world differs in %d files" % len({k for k in before.keys() | after.keys() if before.get(k) != after.get(k)})


def test_bootstrap_again_is_the_upgrade():
    with open(os.path.join(root, "secrets", "ui-token")) as file:
        token = file.read()
    done = summary()["actions"]["done"]
    bootstrap()
    with open(os.path.join(root, "secrets", "ui-token")) as file:
        assert file.read() == token, "the upgrade replaced the token"
    assert os.stat(os.path.join(root, "secrets", "ui-token")).st_mode & 0o777 == 0o600
    assert summary()["actions"]["done"] == done


try:
    make_homelab_repo()
    run(["docker", "rm", "-f", probe], check=False)
    run(["docker", "create", "--name", probe, "--init", os.environ.get("RUNTIME_IMAGE", "homelab-base/runtime:bookworm"), "sleep", "infinity"])
    check("the bootstrap refuses a repository without an inventory, touching nothing", test_bootstrap_refuses_a_repository_without_an_inventory)
    started = time.monotonic()
    check("bootstrap: root, token, image, stack, healthy", bootstrap)
    print("     (bootstrap took %.0f s)" % (time.monotonic() - started), flush=True)
    if checks.results[-1][1] is None:
        check("ui, observer, supervisor, executor, agent run as UID 1000", test_processes_run_as_uid_1000)
        check("the repository is read-only inside every container", test_repository_is_read_only)
        check("on the proxy network the UI answers as control-plane-ui:8080", test_the_proxy_network_reaches_the_ui_by_name)
        check("event → drift → pending → approve over HTTP → executed; done/ and /summary agree", test_drift_approve_execute)
        check("the VPS's own agent reports its node: facts in world/node/vps.json, heartbeats arrive", test_the_vps_agent_reports_its_node)
        check("the agent reports the host's containers; a docker-start runs on the engine", test_agent_and_a_docker_action_on_the_real_engine)
        check("compose restart in mid-stream loses nothing, logs nothing twice", test_restart_midway_loses_nothing)
        check("deleting the checkpoint and restarting the observer rebuilds the same world", test_checkpoint_delete_rebuilds_the_same_world)
        check("re-running the bootstrap upgrades in place, token kept", test_bootstrap_again_is_the_upgrade)
finally:
    if checks.failed:
        print(run(compose + ["logs", "--tail", "40"], check=False).stdout[-6000:])
    run(compose + ["down", "--remove-orphans", "--timeout", "10"], check=False)
    run(["docker", "network", "rm", "homelab-proxy-test"], check=False)
    run(["docker", "rm", "-f", probe], check=False)
    shutil.rmtree(base, ignore_errors=True)

checks.finish(expected=11)
