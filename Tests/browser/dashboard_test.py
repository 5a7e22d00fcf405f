#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium driven by selenium, with Debian's
chromium-driver (so selenium never reaches for the network).

    python3 Tests/browser/dashboard_test.py HOMELAB_BINARY [SCREENSHOT.png]

Starts an observer and the UI on a temporary runtime root, then checks that the page loads
with no console errors, that an event dropped into the inbox appears on the open page within
1 s without a reload, and that entering the token and clicking Approve moves the action file
into approved/; then runs `homelab demo` and takes one simulated drift through the whole loop
from the page (proposal, approval, execution, heal). Saves screenshots of both. Prints "browser: N passed, N failed"."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Checks, wait  # noqa: E402 - after the path is set

binary = os.path.abspath(sys.argv[1])
screenshot = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "dashboard.png")
base = tempfile.mkdtemp(prefix="homelab-browser-")
root = os.path.join(base, "root")
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
env = dict(os.environ, HOMELAB_ROOT=root, HOMELAB_UI_ADDR="127.0.0.1:%d" % port, HOMELAB_UI_TOKEN="browser-token",
           HOMELAB_HEARTBEAT_SECONDS="1")
services = [subprocess.Popen([binary, name], env=env, stderr=open(os.path.join(base, name + ".log"), "w"))
            for name in ("observer", "ui")]
checks = Checks("browser")
check = checks.check






driver = None
try:
    wait(lambda: os.path.exists(os.path.join(root, "actions", "pending")), 10, "the runtime root")
    action = {"id": "a1b2c3", "action": "docker-start", "resource": "container/nas/jellyfin", "args": {"host": "nas", "container": "jellyfin"},
              "drift": {"kind": "mismatch", "fields": [{"field": "state", "desired": "running", "observed": "exited"}]},
              "preview": ["docker", "--context", "nas", "start", "jellyfin"], "attempt": 1}
    with open(os.path.join(root, "actions", "pending", "a1b2c3.json"), "w") as f:
        json.dump(action, f)

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chromium = shutil.which("chromium")
    if chromium:
        options.binary_location = chromium
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    driver.get("http://127.0.0.1:%d/" % port)

    def loads_without_console_errors():
        wait(lambda: driver.find_element(By.ID, "live").text == "live", 10, "the stream to connect")
        wait(lambda: "docker --context nas start jellyfin" in driver.find_element(By.ID, "pending").text, 5, "the pending action")
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, "console errors: %s" % errors

    def event_appears_live():
        before = driver.execute_script("return performance.now()")
        subprocess.run([binary, "emit", "--type", "resource.observed", "--source", "node/nas", "--subject", "container/nas/plex",
                        "--data", json.dumps({"state": "running"})], env=env, check=True, stdout=subprocess.DEVNULL)
        dropped = time.monotonic()
        wait(lambda: "container/nas/plex" in driver.find_element(By.ID, "tail").text, 1.0, "the event on the page")
        print("     event on the page %.0f ms after the drop" % ((time.monotonic() - dropped) * 1000))
        assert driver.execute_script("return performance.now()") > before  # same page: no reload happened

    def approve_with_the_token():
        driver.find_element(By.ID, "token").send_keys("browser-token")
        driver.find_element(By.CSS_SELECTOR, "#login button").click()
        wait(lambda: driver.find_element(By.ID, "who").text == "signed in", 5, "sign-in")
        driver.find_element(By.CSS_SELECTOR, "button.approve[data-id='a1b2c3']").click()
        approved = os.path.join(root, "actions", "approved", "a1b2c3.json")
        wait(lambda: os.path.exists(approved), 5, "the action in approved/")

        def approval():  # the audit trail: the observer folds the action.approved event
            try:
                with open(os.path.join(root, "world", "action", "a1b2c3.json")) as f:
                    return [step for step in json.load(f).get("lifecycle", []) if step["step"] == "approved"]
            except (OSError, ValueError):
                return None
        step = wait(approval, 2, "the approval in world/action/a1b2c3.json")[0]
        assert step["actor"] == "dashboard", step

    def a_node_appears_with_its_facts():
        facts = {"os": "Debian GNU/Linux 12 (bookworm)", "kernel": "6.1.0", "cpus": 4, "agent": {"transport": "http", "spooled": 0, "gaps": 2}}
        subprocess.run([binary, "emit", "--type", "resource.observed", "--source", "node/nas", "--subject", "node/nas",
                        "--data", json.dumps(facts)], env=env, check=True, stdout=subprocess.DEVNULL)
        row = lambda: driver.find_element(By.CSS_SELECTOR, "#nodes tr[data-node='nas']").text
        wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#nodes tr[data-node='nas']") and "2 gaps" in row(), 2, "node nas in the Nodes panel")
        assert "Debian GNU/Linux 12 (bookworm)" in row() and "4 CPUs" in row(), row()

    check("the page loads with no console errors", loads_without_console_errors)
    check("a node's facts and its agent's gaps appear in the Nodes panel", a_node_appears_with_its_facts)
    check("an event dropped into the inbox appears within 1 s without reload", event_appears_live)
    check("the operator signs in and approves", approve_with_the_token)
    time.sleep(0.3)
    driver.save_screenshot(screenshot)
    print("     screenshot: " + screenshot)

    def the_demo_loop_in_the_browser():
        """`homelab demo`: a simulated drift is proposed on the page, approved there, run, and healed."""
        demo_env = {k: v for k, v in env.items() if k not in ("HOMELAB_UI_TOKEN", "HOMELAB_ROOT")}
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            demo_port = probe.getsockname()[1]
        demo_env.update(HOMELAB_ROOT=os.path.join(base, "demo-root"), HOMELAB_UI_ADDR="127.0.0.1:%d" % demo_port,
                        HOMELAB_INVENTORY=os.path.join(os.path.dirname(__file__), "..", "..", "examples", "inventory"))
        demo_log = open(os.path.join(base, "demo.log"), "w+")
        demo = subprocess.Popen([binary, "demo", "--drift-every", "1"], env=demo_env, stdout=subprocess.PIPE, stderr=demo_log, text=True)
        try:
            token = None
            for line in demo.stdout:
                if line.startswith("token:"):
                    token = line.split()[1]
                    break
            assert token, "the demo printed no token"
            driver.get("http://127.0.0.1:%d/" % demo_port)
            wait(lambda: driver.find_element(By.ID, "live").text == "live", 10, "the stream to connect")
            driver.find_element(By.ID, "token").send_keys(token)
            driver.find_element(By.CSS_SELECTOR, "#login button").click()
            wait(lambda: driver.find_element(By.ID, "who").text == "signed in", 5, "sign-in")
            button = wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#pending button.approve"), 10, "a proposal on the page")[0]
            action_id = button.get_attribute("data-id")
            button.click()
            wait(lambda: os.path.exists(os.path.join(base, "demo-root", "actions", "done", action_id + ".json")), 10, "the action in done/")
            wait(lambda: "done (exit 0)" in driver.find_element(By.ID, "history").text, 2, "the action done on the page")

            def healed():
                demo_log.seek(0)
                return "is back to its desired state after " + action_id in demo_log.read()
            wait(healed, 5, "the simulated homelab to heal")
            time.sleep(0.3)
            driver.save_screenshot(screenshot.replace(".png", "-demo.png"))
            demo.send_signal(signal.SIGINT)
            assert demo.wait(5) == 0, "the demo did not stop cleanly on Ctrl-C"
        finally:
            if demo.poll() is None:
                demo.kill()

    check("homelab demo: drift → proposal → approval in the page → executed → healed", the_demo_loop_in_the_browser)
finally:
    if driver:
        driver.quit()
    for service in services:
        service.terminate()
        service.wait(5)
    shutil.rmtree(base, ignore_errors=True)

checks.finish(expected=5)
