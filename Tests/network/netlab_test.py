#!/usr/bin/env python3
"""The multi-node harness itself (Tests/network/netlab.py), on this machine, as root.

    python3 Tests/network/netlab_test.py

Brings up a VPS and two nodes (nas, pi) with an engine each and the runtime image loaded,
then checks: every node reaches a server on the VPS address over its own link; the nodes do
not reach each other (the VPS forwards nothing); a container run on the nas engine with
--network none is listed there only (not on pi, not on the host's engine); taking the nas link
down cuts nas off while pi still reaches the VPS, and bringing it up restores it; after the
teardown no namespace, process, mount or folder of the lab is left and the host's docker0 is
still there. Prints "netlab: N passed, N failed"."""

import http.server
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Checks, wait  # noqa: E402 - after the path is set
from netlab import Lab, in_namespace, run  # noqa: E402

image = os.environ.get("RUNTIME_IMAGE", "homelab-base/runtime:bookworm")
checks = Checks("netlab")
check = checks.check
PORT = 8099


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        body = self.client_address[0].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def host_has_docker0():
    return run(["ip", "link", "show", "docker0"], check=False).returncode == 0


docker0_before = host_has_docker0()
lab = Lab(nodes=("nas", "pi"), image=image)
server = None
try:
    with lab:
        server = in_namespace(lab.namespace("vps"), http.server.ThreadingHTTPServer, (lab.vps_address, PORT), Hello)
        threading.Thread(target=server.serve_forever, daemon=True).start()

        def each_node_reaches_the_vps():
            for node in lab.nodes:
                status, _, body = lab.http(node, "GET", lab.vps_url(PORT) + "/")
                assert status == 200 and body.decode() == lab.address(node), (node, status, body)

        def nodes_do_not_reach_each_other():
            import socket

            def connect():
                with socket.socket() as s:
                    s.settimeout(1.5)
                    try:
                        s.connect((lab.address("pi"), 22))
                        return "connected"
                    except ConnectionRefusedError:
                        return "refused"
                    except OSError as error:
                        return str(error)
            answer = in_namespace(lab.namespace("nas"), connect)
            assert answer not in ("connected", "refused"), answer

        def containers_live_on_their_node_only():
            lab.docker("nas", "run", "-d", "--init", "--network", "none", "--name", "netlab-probe", image, "sleep", "infinity")
            assert lab.ps("nas") == {"netlab-probe": "running"}, lab.ps("nas")
            assert lab.ps("pi") == {}, lab.ps("pi")
            host = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True).stdout.split()
            assert "netlab-probe" not in host, host
            lab.docker("nas", "stop", "netlab-probe")
            assert lab.ps("nas") == {"netlab-probe": "exited"}, lab.ps("nas")

        def partition_cuts_one_node_only():
            lab.partition("nas")
            assert not lab.reachable("nas", PORT), "nas still reaches the VPS through a link that is down"
            assert lab.reachable("pi", PORT), "pi lost the VPS when nas's link went down"
            lab.heal("nas")
            wait(lambda: lab.reachable("nas", PORT), 10, "nas to reach the VPS again")
            status, _, _ = lab.http("nas", "GET", lab.vps_url(PORT) + "/")
            assert status == 200

        check("each node reaches the VPS (198.18.0.1) over its own link", each_node_reaches_the_vps)
        check("nodes do not reach each other (the VPS forwards nothing)", nodes_do_not_reach_each_other)
        check("a --network none container on the nas engine is there only", containers_live_on_their_node_only)
        check("the nas link down cuts nas off, pi keeps the VPS; up restores it", partition_cuts_one_node_only)
        server.shutdown()
        server.server_close()
        server = None
finally:
    if server:
        server.server_close()


def nothing_is_left():
    namespaces = run(["ip", "netns", "list"]).stdout
    assert lab.id not in namespaces, namespaces
    assert not os.path.exists(lab.base), lab.base
    mounts = open("/proc/self/mountinfo").read()
    assert lab.base not in mounts, "mounts left under " + lab.base
    left = [p for p in os.listdir("/proc") if p.isdigit() and lab.base.encode() in open("/proc/%s/cmdline" % p, "rb").read()] \
        if True else []
    assert not left, "processes left: %s" % left
    assert host_has_docker0() == docker0_before, "the host's docker0 changed"
    assert not os.path.exists(lab.state_file)


check("the teardown leaves no namespace, process, mount or folder; docker0 intact", nothing_is_left)
checks.finish(expected=5)
