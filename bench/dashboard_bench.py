#!/usr/bin/env python3
"""The dashboard in headless Chromium, measured in the browser:

1. A dropped event to the page's DOM: DROPS events, one every 50 ms, each written into inbox/
   as a producer does (a hidden temporary, then a rename) with the wall-clock time of the rename
   in its data; a MutationObserver on the event tail takes `performance.timeOrigin +
   performance.now()` when its row appears. Same host, same clock. p50/p99/max.
2. First load to interactive with RESOURCES resources and EVENTS events in the log (and a few
   proposals): navigation start → the page's `homelab-ready` mark (world, drift, actions,
   summary and the tail loaded and drawn, the stream open), over 5 loads.

    python3 bench/dashboard_bench.py HOMELAB RUN_FOLDER [DROPS=200] [RESOURCES=500] [EVENTS=10000]
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "Tests", "browser"))
sys.path.insert(0, os.path.join(here, "..", "Tests"))
from harness import wait  # noqa: E402
from browser import DESKTOP, chromium, console_errors, free_port, start, wait_for_port  # noqa: E402

binary, run = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
drops = int(sys.argv[3]) if len(sys.argv) > 3 else 200
resources = int(sys.argv[4]) if len(sys.argv) > 4 else 500
events = int(sys.argv[5]) if len(sys.argv) > 5 else 10000


def stack(root):
    os.makedirs(root, exist_ok=True)
    port = free_port()
    env = dict(os.environ, HOMELAB_ROOT=root, HOMELAB_UI_ADDR="127.0.0.1:%d" % port, HOMELAB_UI_TOKEN="bench", HOMELAB_LOG_LEVEL="warning")
    services = [start(binary, name, env, root + "/..") for name in ("observer", "ui")]
    wait_for_port(port)
    return "http://127.0.0.1:%d/" % port, services


def stop(services):
    for service in services:
        service.send_signal(signal.SIGTERM)
        service.wait(10)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def open_page(driver, url):
    driver.get(url)
    wait(lambda: driver.execute_script("return document.body.dataset.ready") == "true", 60, "the first load")
    wait(lambda: driver.execute_script("return document.getElementById('live').textContent") == "live", 10, "the stream")


driver = chromium(DESKTOP)
try:
    # MARK: 1. drop → DOM
    root = os.path.join(run, "drops", "root")
    url, services = stack(root)
    try:
        open_page(driver, url)
        driver.execute_script("""
            window.__latencies = [];
            new MutationObserver((changes) => {
              const t = performance.timeOrigin + performance.now();
              for (const change of changes) for (const row of change.addedNodes) {
                const seq = Number(row.dataset?.seq), e = S.events.findLast((x) => x.seq === seq);
                if (e?.data?.droppedAt) __latencies.push(t - e.data.droppedAt);
              }
            }).observe(document.getElementById('tail'), {childList: true});""")
        inbox = os.path.join(root, "inbox")
        for n in range(drops):
            event = {"specversion": "1.0", "id": "drop-%d" % n, "type": "resource.observed", "source": "node/bench",
                     "subject": "container/bench/app%d" % (n % 20), "data": {"state": "running", "n": n, "droppedAt": 0}}
            temporary = os.path.join(inbox, ".drop-%d.tmp" % n)
            event["data"]["droppedAt"] = time.time() * 1000
            with open(temporary, "w") as f:
                json.dump(event, f)
            os.rename(temporary, os.path.join(inbox, "drop-%d.json" % n))
            time.sleep(0.05)
        latencies = wait(lambda: (lambda l: l if len(l) >= drops else None)(driver.execute_script("return window.__latencies")), 30, "every drop on the page")
        print("drop → DOM (%d drops, one per 50 ms, MutationObserver in the page): p50 %.1f ms, p99 %.1f ms, max %.1f ms"
              % (len(latencies), percentile(latencies, 50), percentile(latencies, 99), max(latencies)))
        errors = console_errors(driver)
        if errors:
            print("console errors: %s" % errors)
    finally:
        stop(services)

    # MARK: 2. first load with a big world and log
    root = os.path.join(run, "load", "root")
    subprocess.run([sys.executable, os.path.join(here, "gen_log.py"), root, str(events), str(resources)], check=True)
    for n in range(5):
        folder = os.path.join(root, "actions", "pending")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "p%d.json" % n), "w") as f:
            json.dump({"id": "p%d" % n, "action": "docker-start", "resource": "container/bench/r%d" % n, "args": {"host": "bench"},
                       "drift": {"kind": "mismatch", "fields": [{"field": "state", "desired": "running", "observed": "exited"}]},
                       "desiredRevision": "bench", "proposedAt": "2026-11-20T00:00:00Z", "attempt": 1, "preview": ["docker", "start", "r%d" % n]}, f)
    url, services = stack(root)
    try:
        def folded():
            try:
                with open(os.path.join(root, "world", "index.json")) as f:
                    return json.load(f).get("seq") == events
            except (OSError, ValueError):
                return False
        wait(folded, 120, "the observer to fold the log")
        loads = []
        for _ in range(5):
            open_page(driver, url)
            timing = driver.execute_script("""
                const ready = performance.getEntriesByName('homelab-ready')[0].startTime;
                const nav = performance.getEntriesByType('navigation')[0];
                return {ready, dom: nav.domContentLoadedEventEnd, rows: document.querySelectorAll('#nodes .chip').length,
                        buttons: document.querySelectorAll('#pending button.approve').length, world: S.world.size};""")
            loads.append(timing)
        shown = loads[-1]
        print("first load to interactive (%d resources, %d events in the log, 5 proposals; %d chips, %d Approve buttons drawn): "
              "median %.0f ms, max %.0f ms (DOMContentLoaded median %.0f ms) over %d loads"
              % (shown["world"], events, shown["rows"], shown["buttons"], statistics.median(t["ready"] for t in loads),
                 max(t["ready"] for t in loads), statistics.median(t["dom"] for t in loads), len(loads)))
    finally:
        stop(services)
finally:
    driver.quit()
