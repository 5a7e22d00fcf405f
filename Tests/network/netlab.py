"""A homelab on one machine: a VPS and its nodes as network namespaces joined by veth pairs,
one Docker engine per node. Python 3 standard library only; needs root, iproute2, docker.io.

    with Lab(nodes=("nas", "pi")) as lab:      # namespaces, links, one dockerd per node
        lab.docker("nas", "run", "-d", ...)    # the nas engine (containers: --network none)
        lab.spawn("vps", "ui", [binary, "ui"], env=...)   # a process inside a namespace
        lab.partition("nas"); lab.heal("nas")  # the nas link down / up
        lab.http("nas", "POST", lab.vps_url(port) + "/api/events", body, headers)

The addresses come from 198.18.0.0/15 (the benchmarking range, RFC 2544): the VPS is
198.18.0.1 (on its loopback, reachable from every node); node number i (1-based, in the
order given) is joined to the VPS by its own veth pair, 198.18.i.1 (VPS side, `to-NODE`) —
198.18.i.2 (node side, `uplink`, the node's default route), so taking one link down
partitions one node. Each node namespace holds its own bridge `hlbr0` (198.19.i.1/24, made
before its dockerd starts and given to it as --bridge; never --bridge=none, which would make a
second daemon delete the host's docker0), and a dockerd with its own --data-root,
--exec-root, --pidfile and socket, --iptables=false --ip-masq=false, and the networks it makes
from 198.19.16i.0/20. Test containers run with --network none; `lab.enable_egress(node)` lets
containers on the engine's networks reach the VPS (forwarding and a masquerade rule inside the
node's namespace, as a node's own Docker would), for a compose-deployed agent.

`ip netns exec` gives the process a mount namespace of its own with a fresh /sys, which
has no cgroup hierarchies: the engine's start script mounts the host's hierarchies again (as
the harness read them from /proc/self/mountinfo) before it execs dockerd. Its mounts die with
it, so nothing is left on the host's mount table.

Everything is undone at the end — processes (each by the id the lab started it with, then
any process still inside one of the lab's namespaces), bridges, links, namespaces, the
temporary folder — also on an exception, Ctrl-C or SIGTERM. A run killed with -9 leaves its
state file in /run/homelab-netlab/; `python3 Tests/network/netlab.py --clean` undoes those labs.
"""

import ctypes
import errno
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

CLONE_NEWNET = 0x40000000
REGISTRY = "/run/homelab-netlab"
VPS = "vps"
_libc = ctypes.CDLL(None, use_errno=True)


def run(argv, check=True, timeout=120, **kwargs):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and done.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(argv), done.returncode, (done.stderr or done.stdout).strip()))
    return done


def in_namespace(namespace, function, *args, **kwargs):
    """Runs `function` on a thread that has entered network namespace `namespace` (a name under
    /run/netns): every socket it makes lives there. Returns its result, or raises its exception."""
    outcome = {}

    def body():
        try:
            fd = os.open("/run/netns/" + namespace, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    code = ctypes.get_errno()
                    raise OSError(code, "setns %s: %s" % (namespace, os.strerror(code)))
            finally:
                os.close(fd)
            outcome["value"] = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = error
    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _cgroup_mounts():
    """The shell lines that mount the host's cgroup hierarchies again under a fresh /sys."""
    lines = []
    with open("/proc/self/mountinfo") as file:
        for line in file:
            left, _, right = line.rstrip("\n").partition(" - ")
            point = left.split()[4]
            fstype, source, options = (right.split() + ["", "", ""])[:3]
            if not point.startswith("/sys/fs/cgroup"):
                continue
            options = ",".join(o for o in options.split(",") if o not in ("rw", "ro"))
            if fstype == "tmpfs":
                lines.append("mount -t tmpfs -o %s tmpfs %s" % (options or "mode=755", point))
            elif fstype == "cgroup":
                # cpu,cpuacct or name=systemd: the same set of options reuses the host's hierarchy.
                lines.append("mkdir -p %s && mount -t cgroup -o %s cgroup %s" % (point, options if "name=" not in options or "none" in options
                                                                                 else "none," + options, point))
            elif fstype == "cgroup2":
                lines.append("mkdir -p %s && mount -t cgroup2 %s cgroup2 %s" % (point, ("-o " + options) if options else "", point))
    return lines


class Engine:
    """One node's dockerd."""

    def __init__(self, lab, node, folder):
        self.lab, self.node, self.folder = lab, node, folder
        self.socket = os.path.join(folder, "docker.sock")
        self.host = "unix://" + self.socket
        self.log = os.path.join(folder, "dockerd.log")
        self.process = None

    def start(self, timeout=90):
        os.makedirs(self.folder, exist_ok=True)
        script = os.path.join(self.folder, "dockerd.sh")
        with open(script, "w") as file:
            file.write("set -e\n" + "\n".join(_cgroup_mounts()) + "\n")
            # Networks the engine makes (a compose project's) come from 198.19.16i.0/20, inside 198.18.0.0/15 too.
            file.write("exec dockerd --data-root %s --exec-root %s --pidfile %s -H %s --bridge=hlbr0 --iptables=false "
                       "--ip-masq=false --ip-forward=false --userland-proxy=false --default-address-pool base=%s,size=24\n" % (
                           os.path.join(self.folder, "data"), os.path.join(self.folder, "exec"),
                           os.path.join(self.folder, "dockerd.pid"), self.host, self.lab.pool(self.node)))
        self.process = self.lab.spawn(self.lab.namespace(self.node), "dockerd-" + self.node, ["sh", script], log=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("dockerd of %s exited %s; its log ends:\n%s" % (self.node, self.process.returncode, tail(self.log)))
            if os.path.exists(self.socket) and run(["docker", "-H", self.host, "version", "-f", "{{.Server.Version}}"],
                                                   check=False, timeout=30).returncode == 0:
                return self
            time.sleep(0.2)
        raise RuntimeError("dockerd of %s did not answer within %d s; its log ends:\n%s" % (self.node, timeout, tail(self.log)))

    def docker(self, *arguments, check=True, timeout=120):
        return run(["docker", "-H", self.host] + list(arguments), check=check, timeout=timeout).stdout.strip()

    def load(self, image_tar):
        with open(image_tar, "rb") as file:
            done = subprocess.run(["docker", "-H", self.host, "load", "-q"], stdin=file, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError("docker load into %s: %s" % (self.node, done.stderr.strip()))

    def stop(self, timeout=30):
        if not self.process or self.process.poll() is not None:
            return
        ids = self.docker("ps", "-aq", check=False, timeout=60).split()
        if ids:
            self.docker("rm", "-f", *ids, check=False, timeout=120)
        self.lab.stop_process(self.process, timeout)


class Lab:
    def __init__(self, nodes=("nas", "pi"), image=None, base=None, verbose=True):
        self.nodes = list(nodes)
        assert len(self.nodes) <= 15, "at most 15 nodes (198.19.i.0/24 bridges, 198.19.16i.0/20 pools)"
        self.images = [image] if isinstance(image, str) else list(image or [])
        self.verbose = verbose
        self.id = "hl%04x" % (os.getpid() & 0xffff)
        self.base = base or tempfile.mkdtemp(prefix="hlnet-", dir="/tmp")   # short: unix socket paths ≤ 107 bytes
        self.made_base = base is None
        self.namespaces = []
        self.processes = {}
        self.engines = {}
        self.state_file = os.path.join(REGISTRY, self.id + ".json")
        self._previous_handlers = {}
        self._closed = False

    # --- addresses ---------------------------------------------------------------------
    vps_address = "198.18.0.1"

    def index(self, node):
        return self.nodes.index(node) + 1

    def address(self, node):
        return self.vps_address if node == VPS else "198.18.%d.2" % self.index(node)

    def namespace(self, node):
        return "%s-%s" % (self.id, node)

    def vps_url(self, port):
        return "http://%s:%d" % (self.vps_address, port)

    def pool(self, node):
        """The address pool of the networks `node`'s engine makes."""
        return "198.19.%d.0/20" % (16 * self.index(node))

    # --- life --------------------------------------------------------------------------
    def __enter__(self):
        for signum in (signal.SIGTERM, signal.SIGHUP):
            self._previous_handlers[signum] = signal.signal(signum, self._on_signal)
        try:
            self.up()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @staticmethod
    def _on_signal(signum, _frame):
        raise SystemExit(128 + signum)   # unwinds through the `with`, which tears the lab down

    def say(self, text):
        if self.verbose:
            print("     netlab: " + text, flush=True)

    def _save_state(self):
        os.makedirs(REGISTRY, exist_ok=True)
        state = {"id": self.id, "base": self.base if self.made_base else None, "namespaces": self.namespaces,
                 "engines": [engine.host for engine in self.engines.values()], "owner": _process_identity(os.getpid())}
        with open(self.state_file + ".tmp", "w") as file:
            json.dump(state, file)
        os.rename(self.state_file + ".tmp", self.state_file)

    def up(self):
        started = time.monotonic()
        for node in [VPS] + self.nodes:
            name = self.namespace(node)
            run(["ip", "netns", "add", name])
            self.namespaces.append(name)
            self._save_state()
            run(["ip", "-n", name, "link", "set", "lo", "up"])
            # A new namespace may inherit the host's forwarding: the VPS must not join the nodes.
            run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.ip_forward=0"])
        vps = self.namespace(VPS)
        run(["ip", "-n", vps, "addr", "add", self.vps_address + "/32", "dev", "lo"])
        for node in self.nodes:
            i, ns = self.index(node), self.namespace(node)
            link = self.link(node)
            run(["ip", "-n", vps, "link", "add", link, "type", "veth", "peer", "name", "uplink", "netns", ns])
            run(["ip", "-n", vps, "addr", "add", "198.18.%d.1/24" % i, "dev", link])
            run(["ip", "-n", ns, "addr", "add", "198.18.%d.2/24" % i, "dev", "uplink"])
            run(["ip", "-n", vps, "link", "set", link, "up"])
            run(["ip", "-n", ns, "link", "set", "uplink", "up"])
            run(["ip", "-n", ns, "route", "add", "default", "via", "198.18.%d.1" % i])
            run(["ip", "-n", ns, "link", "add", "hlbr0", "type", "bridge"])
            run(["ip", "-n", ns, "addr", "add", "198.19.%d.1/24" % i, "dev", "hlbr0"])
            run(["ip", "-n", ns, "link", "set", "hlbr0", "up"])
        self.say("namespaces %s (%s)" % (", ".join(self.namespaces), self.base))
        threads = []
        failures = []
        for node in self.nodes:
            engine = self.engines[node] = Engine(self, node, os.path.join(self.base, node))

            def start(engine=engine):
                try:
                    engine.start()
                except Exception as error:  # noqa: BLE001 - reported below
                    failures.append(error)
            threads.append(threading.Thread(target=start))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        self._save_state()
        if self.images:
            tar = os.path.join(self.base, "image.tar")
            run(["docker", "save", "-o", tar] + self.images, timeout=600)
            for node in self.nodes:
                self.engines[node].load(tar)
            os.remove(tar)
        self.say("%d engines up%s in %.1f s" % (len(self.nodes), " with " + ", ".join(self.images) if self.images else "",
                                                time.monotonic() - started))

    def link(self, node):
        return "to-" + node

    def close(self):
        if self._closed:
            return
        self._closed = True
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        # The lab's own processes, newest first (services before the engines they may use).
        for name, process in reversed(list(self.processes.items())):
            if name.startswith("dockerd-"):
                continue
            self.stop_process(process, 10)
        for engine in self.engines.values():
            try:
                engine.stop()
            except Exception as error:  # noqa: BLE001 - go on tearing down
                self.say("stopping the %s engine: %s" % (engine.node, error))
        for namespace in self.namespaces:
            try:
                kill_namespace(namespace)
            except RuntimeError as error:
                self.say(str(error))
        for node in self.nodes:
            run(["ip", "-n", self.namespace(node), "link", "del", "hlbr0"], check=False)
            run(["ip", "-n", self.namespace(VPS), "link", "del", self.link(node)], check=False)
        for namespace in reversed(self.namespaces):
            run(["ip", "netns", "del", namespace], check=False)
        if self.made_base:
            shutil.rmtree(self.base, ignore_errors=True)
        try:
            os.remove(self.state_file)
        except OSError:
            pass
        self.say("torn down")

    # --- processes ---------------------------------------------------------------------
    def spawn(self, namespace, name, argv, env=None, log=None, **kwargs):
        """Starts `argv` inside network namespace `namespace` (`ip netns exec` execs it, so the
        returned Popen's pid is the program's own). Output goes to `log` (default BASE/NAME.log)."""
        if name in self.processes and self.processes[name].poll() is None:
            raise RuntimeError("%s is already running" % name)
        log = log or os.path.join(self.base, name + ".log")
        with open(log, "a") as output:
            process = subprocess.Popen(["ip", "netns", "exec", namespace] + list(argv), env=env, stdout=output,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kwargs)
        process.log = log
        self.processes[name] = process
        return process

    def stop_process(self, process, timeout=10, signum=signal.SIGTERM):
        """SIGTERM (or `signum`), then SIGKILL after `timeout`; returns the exit status."""
        if process.poll() is None:
            try:
                process.send_signal(signum)
                return process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
        return process.wait(30)

    # --- the network -------------------------------------------------------------------
    def partition(self, node):
        run(["ip", "-n", self.namespace(VPS), "link", "set", self.link(node), "down"])

    def heal(self, node):
        run(["ip", "-n", self.namespace(VPS), "link", "set", self.link(node), "up"])

    def enable_egress(self, node):
        """Lets containers on `node`'s engine networks (not --network none) reach the VPS, as a
        node's own Docker NAT would: forwarding, and masquerade to the node's uplink address.
        Only inside the node's namespace; the host's rules are untouched."""
        ns = self.namespace(node)
        run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        run(["ip", "netns", "exec", ns, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", self.pool(node),
             "-o", "uplink", "-j", "MASQUERADE"])

    def reachable(self, node, port=None, timeout=1.0):
        """Whether a TCP connection from `node` to the VPS (port) is answered — accepted or refused."""
        import socket

        def probe():
            with socket.socket() as s:
                s.settimeout(timeout)
                try:
                    s.connect((self.vps_address, port or 9))
                    return True
                except ConnectionRefusedError:
                    return True
                except OSError:
                    return False
        return in_namespace(self.namespace(node), probe)

    def http(self, node, method, url, body=None, headers=None, timeout=30):
        """One HTTP request from inside `node`'s namespace: (status, headers, body bytes)."""
        host, _, rest = url.partition("://")[2].partition("/")
        address, _, port = host.partition(":")

        def request():
            connection = http.client.HTTPConnection(address, int(port or 80), timeout=timeout)
            try:
                connection.request(method, "/" + rest, body=body, headers=headers or {})
                response = connection.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            finally:
                connection.close()
        return in_namespace(self.namespace(node), request)

    def docker(self, node, *arguments, check=True, timeout=120):
        return self.engines[node].docker(*arguments, check=check, timeout=timeout)

    def ps(self, node):
        """`docker ps -a` of a node's engine: {NAME: state}."""
        listing = self.docker(node, "ps", "-a", "--format", "{{.Names}} {{.State}}")
        return dict(line.split(" ", 1) for line in listing.splitlines() if line.strip())


def kill_namespace(namespace, grace=5.0):
    """SIGTERM, then after `grace` SIGKILL, to every process still inside `namespace` (only the
    lab's: it made the namespace)."""
    deadline = time.monotonic() + grace
    signum = signal.SIGTERM
    while True:
        pids = [int(p) for p in run(["ip", "netns", "pids", namespace], check=False).stdout.split()]
        if not pids:
            return
        if time.monotonic() > deadline:
            if signum == signal.SIGKILL and time.monotonic() > deadline + 10:
                raise RuntimeError("processes %s outlive SIGKILL in %s" % (pids, namespace))
            signum = signal.SIGKILL
        for pid in pids:
            try:
                os.kill(pid, signum)
            except OSError as error:
                if error.errno != errno.ESRCH:
                    raise
        time.sleep(0.1)


def tail(path, size=3000):
    try:
        with open(path, errors="replace") as file:
            return file.read()[-size:]
    except OSError:
        return "(no log)"


def _process_identity(pid):
    """`PID:STARTTIME` (field 22 of /proc/PID/stat): a pid reused by another process differs."""
    try:
        with open("/proc/%d/stat" % pid) as file:
            return "%d:%s" % (pid, file.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError):
        return None


def clean_stale():
    """Undoes the labs of runs that died without tearing down (their state files in REGISTRY);
    a lab whose run is still alive (a test and a benchmark side by side) is left alone."""
    if not os.path.isdir(REGISTRY):
        return 0
    count = 0
    for name in os.listdir(REGISTRY):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(REGISTRY, name)) as file:
            state = json.load(file)
        owner = state.get("owner")
        if owner and _process_identity(int(owner.split(":")[0])) == owner:
            continue
        # Its engines' containers first (they live in namespaces of their own), then whatever
        # runs inside the dead lab's namespaces (never a recorded pid: it may be reused since).
        for host in state.get("engines", []):
            ids = run(["docker", "-H", host, "ps", "-aq"], check=False, timeout=30).stdout.split()
            if ids:
                run(["docker", "-H", host, "rm", "-f"] + ids, check=False, timeout=120)
        for namespace in state.get("namespaces", []):
            kill_namespace(namespace)
            run(["ip", "netns", "del", namespace], check=False)
        if state.get("base"):
            shutil.rmtree(state["base"], ignore_errors=True)
        os.remove(os.path.join(REGISTRY, name))
        count += 1
    return count


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--clean"]:
        print("netlab: cleaned %d stale lab(s)" % clean_stale())
    else:
        print(__doc__)
        sys.exit(2)
