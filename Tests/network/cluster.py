"""The control plane on a netlab (Tests/network/netlab.py): the VPS's services as processes in
the VPS namespace on a temporary runtime root, agents in the node namespaces with their own
engines, spools and tokens, and the readers the tests and benchmarks share (the event log,
the world, the drift report). Python 3 standard library only.

    cluster = Cluster(lab, binary, desired_nodes=("nas", "pi"))
    cluster.start_vps()                      # observer, supervisor, ui on 198.18.0.1:8080
    cluster.start_agent("nas")               # token made by `homelab agent-token nas`
    cluster.drop("nas", {...})               # into the nas agent's inbox (SPEC §4.1 drop)
    cluster.logged()                         # every line of events/*/*.jsonl
"""

import glob
import json
import os
import signal
import subprocess
import time

from netlab import VPS

UI_PORT = 8080


def read_json(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


class Cluster:
    def __init__(self, lab, binary, desired_nodes=(), stale_after=6, heartbeat=1, log_level="info"):
        self.lab, self.binary = lab, os.path.abspath(binary)
        self.base = os.path.join(lab.base, "homelab")
        self.root = os.path.join(self.base, "root")
        self.repo = os.path.join(self.base, "repo")
        self.heartbeat = heartbeat
        self.operator_token = "operator-" + os.urandom(8).hex()
        self.url = lab.vps_url(UI_PORT)
        self.tokens = {}
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        self.common_env = {"PATH": os.environ.get("PATH", path), "LANG": "C.UTF-8", "HOME": self.base,
                           "HOMELAB_HEARTBEAT_SECONDS": str(heartbeat), "HOMELAB_LOG_LEVEL": log_level}
        self.vps_env = dict(self.common_env, HOMELAB_ROOT=self.root, HOMELAB_REPO=self.repo,
                            HOMELAB_INVENTORY=os.path.join(self.repo, "inventory"),
                            HOMELAB_UI_ADDR="%s:%d" % (lab.vps_address, UI_PORT), HOMELAB_UI_TOKEN=self.operator_token)
        os.makedirs(os.path.join(self.repo, "inventory", "resources"))
        os.makedirs(os.path.join(self.repo, "inventory", "actions"))
        for node in desired_nodes:
            with open(os.path.join(self.repo, "inventory", "resources", "node-%s.json" % node), "w") as file:
                json.dump({"kind": "node", "name": node, "spec": {}, "staleAfterSeconds": stale_after}, file)

    # --- the VPS -----------------------------------------------------------------------
    def start_vps(self, services=("observer", "supervisor", "ui")):
        for service in services:
            self.start_service(service)
        if "ui" in services:
            self.wait_ui()

    def start_service(self, service):
        return self.lab.spawn(self.lab.namespace(VPS), service, [self.binary, service], env=self.vps_env,
                              log=os.path.join(self.lab.base, service + ".log"))

    def wait_ui(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.lab.processes.get("ui")
            if process is not None and process.poll() is not None:
                raise AssertionError("the ui exited %s: %s" % (process.returncode, self.log_tail("ui")))
            try:
                if self.lab.http(VPS, "GET", self.url + "/healthz", timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("the ui did not answer /healthz within %d s" % timeout)

    def kill(self, name, signum=signal.SIGKILL):
        process = self.lab.processes[name]
        process.send_signal(signum)
        return process.wait(30)

    def stop(self, name):
        status = self.lab.stop_process(self.lab.processes[name], 10)
        assert status == 0, "%s did not stop cleanly (exit %s): %s" % (name, status, self.log_tail(name))

    def running(self, name):
        process = self.lab.processes.get(name)
        return process is not None and process.poll() is None

    def log_tail(self, name, size=2500):
        try:
            with open(os.path.join(self.lab.base, name + ".log"), errors="replace") as file:
                return file.read()[-size:]
        except OSError:
            return "(no log)"

    def homelab(self, *arguments, env=None):
        return subprocess.run([self.binary] + list(arguments), env=dict(self.vps_env, **(env or {})),
                              capture_output=True, text=True, timeout=60)

    def agent_token(self, node):
        """`homelab agent-token NODE` on the VPS: the token, the last word of its last line."""
        done = self.homelab("agent-token", node)
        assert done.returncode == 0, "agent-token %s exited %d: %s" % (node, done.returncode, done.stderr)
        token = done.stdout.strip().splitlines()[-1].split()[-1]
        self.tokens[node] = token
        return token

    def token_file(self, node):
        return os.path.join(self.root, "secrets", "agents", node + ".token")

    # --- agents ------------------------------------------------------------------------
    def spool(self, node):
        return os.path.join(self.lab.base, node, "spool")

    def inbox(self, node):
        return os.path.join(self.spool(node), "inbox")

    def agent_env(self, node, **extra):
        """What an agent on `node` gets: its name, the server, its token in a 0600 file of its own
        (as the bootstrap leaves it on a node), its spool, its engine."""
        token_path = os.path.join(self.lab.base, node, "agent.token")
        if node not in self.tokens:
            self.agent_token(node)
        fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(self.tokens[node] + "\n")
        env = dict(self.common_env, HOMELAB_NODE=node, HOMELAB_SERVER=self.url, HOMELAB_AGENT_TOKEN_FILE=token_path,
                   HOMELAB_AGENT_SPOOL=self.spool(node), DOCKER_HOST=self.lab.engines[node].host)
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def start_agent(self, node, **extra):
        os.makedirs(self.inbox(node), exist_ok=True)
        return self.lab.spawn(self.lab.namespace(node), "agent-" + node, [self.binary, "agent"], env=self.agent_env(node, **extra),
                              log=os.path.join(self.lab.base, "agent-%s.log" % node))

    def drop(self, node, event, name=None):
        """A producer's drop into the node agent's inbox: a hidden name, then a rename (SPEC §4.1)."""
        name = name or "%s.json" % event["id"]
        temporary = os.path.join(self.inbox(node), "." + name + ".tmp")
        with open(temporary, "w") as file:
            json.dump(event, file)
        os.rename(temporary, os.path.join(self.inbox(node), name))

    def spool_files(self, node):
        """Files in the node's spool that are not hidden (SPEC §11: none once all is acknowledged)."""
        found = []
        for folder, _, files in os.walk(self.spool(node)):
            found += [os.path.join(folder, n) for n in files if not n.startswith(".")]
        return found

    # --- the VPS's files ---------------------------------------------------------------
    def logged(self):
        """Every complete line of the event log, in file order."""
        lines = []
        for segment in sorted(glob.glob(os.path.join(self.root, "events", "*", "*.jsonl"))):
            with open(segment, "rb") as file:
                data = file.read()
            for line in data.split(b"\n")[:-1]:     # a last line without its newline is still being written
                if line.strip():
                    lines.append(json.loads(line))
        return lines

    def world(self, kind, name):
        return read_json(os.path.join(self.root, "world", kind, name + ".json"))

    def world_containers(self, node):
        """{NAME: observed state} of every world/container/NODE/NAME.json."""
        folder = os.path.join(self.root, "world", "container", node)
        found = {}
        for path in glob.glob(os.path.join(folder, "*.json")):
            resource = read_json(path)
            if resource:
                found[os.path.basename(path)[:-5]] = resource.get("observed", {}).get("state")
        return found

    def drift(self):
        return read_json(os.path.join(self.root, "state", "drift.json")) or {}

    def drift_of(self, resource):
        return [d for d in self.drift().get("drift", []) if d["resource"] == resource]

    def inbox_empty(self):
        folder = os.path.join(self.root, "inbox")
        return not [n for n in os.listdir(folder) if not n.startswith(".")] if os.path.isdir(folder) else True

    # --- HTTP from a node --------------------------------------------------------------
    def post_events(self, node, events, token=None, batch=True, content_type=None, timeout=30):
        """POST /api/events from inside `node`'s namespace; (status, parsed answer or raw bytes)."""
        headers = {"Content-Type": content_type or ("application/cloudevents-batch+json" if batch else "application/cloudevents+json")}
        if token:
            headers["Authorization"] = "Bearer " + token
        body = events if isinstance(events, bytes) else json.dumps(events).encode()
        status, _, answer = self.lab.http(node, "POST", self.url + "/api/events", body=body, headers=headers, timeout=timeout)
        try:
            return status, json.loads(answer)
        except ValueError:
            return status, answer


def ledger(lines):
    """{(source, id): count} over log lines."""
    counts = {}
    for line in lines:
        key = (line.get("source"), line.get("id"))
        counts[key] = counts.get(key, 0) + 1
    return counts


def gap_free(lines):
    return [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
