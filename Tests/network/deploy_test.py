#!/usr/bin/env python3
"""scripts/bootstrap/agent.sh --compose on a node of a namespace homelab (Tests/network/netlab.py).

    python3 Tests/network/deploy_test.py HOMELAB_BINARY      (root; the image HOMELAB_IMAGE,
                                                              default homelab-control-plane:latest)

The VPS's observer, supervisor and UI run in the VPS namespace (the host's build, as in the
agents test); the node nas has its own dockerd, into which the stack's image is loaded, and
egress to the VPS like a node's own Docker NAT. The bootstrap runs inside the nas namespace
against the nas engine, as an operator runs it on a node, under Compose v2 and v1. Checks:
the bootstrap installs the agent (docker/agent.compose.yaml), waits for its first delivery and
says so; the VPS's world then has node/nas with its facts and the agent's own container as
container/nas/…; the token file is 0600 and owned by the container's user; re-running is the
upgrade (token and spool volume kept, still delivering); a revoked token makes the bootstrap
say why (401) and exit 1. Prints "deploy: N passed, N failed"."""

import os
import stat
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))
sys.path.insert(0, here)
from harness import Checks, wait  # noqa: E402 - after the path is set
from netlab import Lab, run  # noqa: E402
from cluster import Cluster, UI_PORT  # noqa: E402

binary = os.path.abspath(sys.argv[1])
repo_checkout = os.path.abspath(os.path.join(here, "..", ".."))
image = os.environ.get("HOMELAB_IMAGE", "homelab-control-plane:latest")
runtime_image = os.environ.get("RUNTIME_IMAGE", "homelab-base/runtime:bookworm")
checks = Checks("deploy")
check = checks.check


def compose_flavours():
    flavours = []
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        flavours.append("v2")
    if subprocess.run(["sh", "-c", "command -v docker-compose"], capture_output=True).returncode == 0:
        flavours.append("v1")
    return flavours


if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
    sys.exit("deploy: no image %s (scripts/docker/stack-test.sh or scripts/bootstrap/vps-control-plane.sh builds it)" % image)

lab = Lab(nodes=("nas",), image=[runtime_image, image])
with lab:
    cluster = Cluster(lab, binary, desired_nodes=("nas",))
    etc = os.path.join(lab.base, "etc-homelab-agent")
    engine = lab.engines["nas"]

    def bootstrap(flavour, token, wait_seconds=120):
        env = dict(cluster.common_env, DOCKER_HOST=engine.host, DOCKER_SOCKET=engine.socket, HOMELAB_ETC=etc,
                   HOMELAB_COMPOSE=flavour, HOMELAB_AGENT_WAIT=str(wait_seconds), HOMELAB_HEARTBEAT_SECONDS="1")
        return subprocess.run(["ip", "netns", "exec", lab.namespace("nas"), os.path.join(repo_checkout, "scripts", "bootstrap", "agent.sh"),
                               "--node", "nas", "--server", "http://%s:%d" % (lab.vps_address, UI_PORT), "--token", token,
                               "--compose", "--image", image],
                              env=env, capture_output=True, text=True, timeout=600)

    def agent_containers():
        return {name: state for name, state in lab.ps("nas").items() if "agent" in name}

    def setup():
        cluster.start_vps()
        lab.enable_egress("nas")

    def install(flavour):
        def body():
            token = cluster.agent_token("nas")
            done = bootstrap(flavour, token)
            assert done.returncode == 0, "exit %d:\n%s%s" % (done.returncode, done.stdout[-3000:], done.stderr[-3000:])
            assert "the server answers and takes the token" in done.stdout, done.stdout
            assert "agent-bootstrap: delivering:" in done.stdout, done.stdout
            facts = wait(lambda: (cluster.world("node", "nas") or {}).get("observed"), 30, "node/nas with its facts")
            assert facts.get("hostname") == "nas" and facts.get("kernel") and facts.get("cpus"), facts
            running = [n for n, s in agent_containers().items() if s == "running"]
            assert len(running) == 1, agent_containers()
            wait(lambda: cluster.world_containers("nas").get(running[0]) == "running", 30,
                 "the agent's own container %s in the world" % running[0])
            info = os.stat(os.path.join(etc, "token"))
            assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == 1000, (oct(info.st_mode), info.st_uid)
            with open(os.path.join(etc, "token")) as file:
                assert file.read().strip() == token
        return body

    def upgrade(flavour):
        def body():
            volumes = engine.docker("volume", "ls", "-q").split()
            assert "homelab-agent_spool" in volumes, volumes
            before = cluster.world("node", "nas")["lastSeen"]
            done = bootstrap(flavour, cluster.tokens["nas"])
            assert done.returncode == 0, "exit %d:\n%s%s" % (done.returncode, done.stdout[-3000:], done.stderr[-3000:])
            assert engine.docker("volume", "ls", "-q").split() == volumes, "the spool volume changed"
            wait(lambda: cluster.world("node", "nas")["lastSeen"] > before, 30, "heartbeats after the upgrade")
        return body

    def revoked(flavour):
        def body():
            os.remove(cluster.token_file("nas"))
            done = bootstrap(flavour, cluster.tokens["nas"], wait_seconds=15)
            assert done.returncode == 1, "exit %d:\n%s%s" % (done.returncode, done.stdout, done.stderr)
            assert "the server refuses the token (401)" in done.stdout + done.stderr, done.stdout + done.stderr
            assert "no delivery within 15 s" in done.stderr, done.stderr
            del cluster.tokens["nas"]
        return body

    def down(flavour):
        compose = ["docker", "compose"] if flavour == "v2" else ["docker-compose"]
        run(compose + ["--project-directory", etc, "-f", os.path.join(etc, "compose.yaml"), "-p", "homelab-agent", "down", "-v"],
            env=dict(os.environ, DOCKER_HOST=engine.host), timeout=120)
        wait(lambda: not agent_containers(), 30, "the agent gone")

    if check("set-up: the VPS's services; the nas engine with the stack's image; egress like Docker's NAT", setup):
        flavours = compose_flavours()
        for flavour in flavours:
            started = time.monotonic()
            if check("compose %s: bootstrap --compose installs the agent, waits for its first delivery; node/nas and "
                     "its own container in the world" % flavour, install(flavour)):
                print("     (%.0f s)" % (time.monotonic() - started), flush=True)
                check("compose %s: running it again upgrades in place: token, spool volume kept, still delivering" % flavour, upgrade(flavour))
                # Last: the wrong tokens that follow make the UI refuse the node's address for a while (429).
                if flavour == flavours[-1]:
                    check("compose %s: a revoked token → the bootstrap says 401 and exits 1" % flavour, revoked(flavour))
            down(flavour)
    if checks.failed:
        for name in ("ui", "observer"):
            print("--- %s.log (end)\n%s" % (name, cluster.log_tail(name)))

checks.finish(expected=2 + 2 * len(compose_flavours()))
