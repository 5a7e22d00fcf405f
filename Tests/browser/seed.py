"""A runtime root for the dashboard's browser test, filled the ways the services and producers
fill it: events through `homelab emit` (the inbox), the services' action events through
`audit/`, action files and the drift report as the supervisor and executor write them — with
markup in every field a producer controls."""

import json
import os
import subprocess
import time
from datetime import datetime, timedelta, timezone

# What an attacker would put in a container name, an observed value, an event's type…: if any
# of it became markup, an element would appear or `window.__xss` would be set.
MARKUP = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>"><svg onload="window.__xss=3">'
MARKUP_TEXT = '<img src=x onerror="window.__xss=1">'
# Run in the page: injected elements and inline handlers anywhere, and whether any ran.
INJECTED = """
const elements = document.querySelectorAll('img, iframe, object, embed, script:not([src]), svg [onload], [onerror], [onload]').length;
let handlers = 0;
for (const node of document.querySelectorAll('*')) for (const a of node.attributes) if (a.name.startsWith('on')) handlers++;
return {elements, handlers, ran: window.__xss !== undefined};
"""


def iso(offset_seconds=0):
    return (datetime.now(timezone.utc) + timedelta(seconds=offset_seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_atomically(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(temporary, "w") as f:
        f.write(value if isinstance(value, str) else json.dumps(value))
    os.rename(temporary, path)


def emit(binary, env, type_, source, subject, data=None):
    command = [binary, "emit", "--type", type_, "--source", source, "--subject", subject]
    if data is not None:
        command += ["--data", json.dumps(data)]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def pending(root, action_id, resource, preview, action="docker-start", fields=None, revision="3f2a9c1", attempt=1, age=60):
    write_atomically(os.path.join(root, "actions", "pending", action_id + ".json"), {
        "id": action_id, "action": action, "resource": resource, "args": {"host": resource.split("/")[1] if "/" in resource else "vps"},
        "drift": {"kind": "mismatch", "fields": fields or [{"field": "state", "desired": "running", "observed": "exited"}]},
        "desiredRevision": revision, "worldSeq": 1, "proposedAt": iso(-age), "attempt": attempt, "preview": preview})


def audit(root, step, action_id, actor, source, **data):
    """An `action.STEP` event as a service drops it (`audit/`, which the observer trusts)."""
    event = {"specversion": "1.0", "id": "%s-%s-%d" % (action_id, step, time.monotonic_ns()), "type": "action." + step, "source": source,
             "subject": "action/" + action_id, "time": iso(), "data": dict(data, actor=actor)}
    write_atomically(os.path.join(root, "audit", event["id"] + ".json"), event)


def lifecycle_step(root, action_id, step):
    try:
        with open(os.path.join(root, "world", "action", action_id + ".json")) as f:
            return ([s for s in json.load(f).get("lifecycle", []) if s["step"] == step] or [None])[-1]
    except (OSError, ValueError):
        return None


def everything(root, binary, env):
    facts = {"os": "Debian GNU/Linux 12 (bookworm)", "kernel": "6.1.0", "cpus": 4, "loadPercent": 37, "memory": {"totalBytes": 8 << 30, "usedPercent": 41},
             "disks": {"/": {"totalBytes": 100 << 30, "usedPercent": 62}}, "agent": {"transport": "http", "spooled": 0, "gaps": 0}}
    emit(binary, env, "resource.observed", "node/nas", "node/nas", facts)
    emit(binary, env, "resource.observed", "node/pi", "node/pi", {"os": "Raspbian", "cpus": 4})
    emit(binary, env, "resource.observed", "node/lab", "node/lab", {"os": MARKUP, "kernel": MARKUP, "disks": {MARKUP: {"usedPercent": 5}}, "agent": {"transport": MARKUP}})
    emit(binary, env, "resource.observed", "node/nas", "container/nas/jellyfin", {"state": "exited", "image": "jellyfin/jellyfin:10.9.7", "health": "unhealthy"})
    emit(binary, env, "resource.observed", "node/nas", "container/nas/immich", {"state": "running", "image": "ghcr.io/immich-app/immich-server:v1.106.4"})
    emit(binary, env, "resource.observed", "node/nas", "container/nas/stray", {"state": "running", "image": "alpine"})
    emit(binary, env, "resource.observed", "node/lab", "container/lab/web", {"state": MARKUP, "image": MARKUP, "health": MARKUP})
    emit(binary, env, "resource.observed", "node/pi", "container/pi/pihole", {"state": "restarting", "image": "pihole/pihole:2024.07.0"})
    emit(binary, env, MARKUP, MARKUP, MARKUP, {"note": MARKUP})

    pending(root, "a1b2c3", "container/nas/jellyfin", ["docker", "--context", "nas", "start", "jellyfin"], attempt=2)
    # The resource itself is valid here (the action file's drift is read against it); markup in
    # names is in the drift report and the event below.
    pending(root, "x9y8z7", "container/lab/web", ["docker", MARKUP], action=MARKUP, revision=MARKUP,
            fields=[{"field": MARKUP, "desired": MARKUP, "observed": {MARKUP: MARKUP}}, {"field": "image", "desired": {"tag": MARKUP}, "observed": {"tag": "x"}}])
    pending(root, "c3d4e5", "container/vps/npm", ["docker", "--context", "vps", "restart", "npm"], action="docker-restart", age=30)
    pending(root, "d4e5f6", "container/pi/pihole", ["docker", "--context", "pi", "compose", "-p", "dns", "up", "-d"], action="compose-up", age=10)

    write_atomically(os.path.join(root, "state", "drift.json"), json.dumps({
        "generatedAt": iso(), "desiredRevision": "3f2a9c1", "worldSeq": 9, "drift": [
            {"resource": "container/nas/jellyfin", "kind": "mismatch", "fields": [{"field": "state", "desired": "running", "observed": "exited"}], "action": "a1b2c3"},
            {"resource": "container/pi/pihole", "kind": "mismatch", "fields": [{"field": "state", "desired": "running", "observed": "restarting"}], "flapping": True,
             "wait": {"reason": "backoff", "detail": "back-off after attempt 2", "nextAttemptAt": iso(120)}},
            {"resource": "container/nas/stray", "kind": "unmanaged", "fields": []},
            {"resource": "node/pi", "kind": "stale", "fields": []},
            {"resource": "container/lab/" + MARKUP, "kind": "missing", "fields": [{"field": MARKUP, "desired": MARKUP, "observed": MARKUP}],
             "wait": {"reason": MARKUP, "detail": MARKUP, "nextAttemptAt": MARKUP}},
            {"resource": "container/lab/web", "kind": "mismatch", "fields": [{"field": "state", "desired": "running", "observed": MARKUP}]},
        ], "problems": [{"file": MARKUP, "reason": MARKUP}]}) + "\n")

    # One action that ran: its file in done/, its log, its lifecycle through audit/.
    started, finished = iso(-40), iso(-38.8)
    write_atomically(os.path.join(root, "actions", "done", "h1.json"), {
        "id": "h1", "action": "docker-start", "resource": "container/nas/jellyfin", "args": {"host": "nas"}, "attempt": 1, "desiredRevision": "3f2a9c1",
        "drift": {"kind": "mismatch", "fields": [{"field": "state", "desired": "running", "observed": "exited"}]}, "proposedAt": iso(-120),
        "preview": ["docker", "--context", "nas", "start", "jellyfin"],
        "result": {"exitCode": 0, "startedAt": started, "finishedAt": finished, "durationMs": 1234, "outputTail": "starting jellyfin"}})
    write_atomically(os.path.join(root, "logs", "actions", "h1.log"), "starting jellyfin\njellyfin\n")
    audit(root, "proposed", "h1", "supervisor", "supervisor", resource="container/nas/jellyfin")
    audit(root, "approved", "h1", "oskar", "ui", remote="100.64.0.7:51234")
    audit(root, "started", "h1", "executor", "executor", argv=["docker", "--context", "nas", "start", "jellyfin"])
    audit(root, "succeeded", "h1", "executor", "executor", exitCode=0, durationMs=1234)
    audit(root, "verified", "h1", "supervisor", "supervisor")

    # One action running now, whose output the test appends to.
    write_atomically(os.path.join(root, "actions", "running", "r1.json"), {
        "id": "r1", "action": "docker-start", "resource": "container/nas/immich", "args": {"host": "nas"}, "attempt": 1, "proposedAt": iso(-5),
        "preview": ["docker", "--context", "nas", "start", "immich"]})
    write_atomically(os.path.join(root, "logs", "actions", "r1.log"), "starting immich\n" + MARKUP + "\n")
