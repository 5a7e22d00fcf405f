#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium driven by selenium, at 1400×900 and as a
390×844 phone, each started once.

    python3 Tests/browser/dashboard_test.py HOMELAB_BINARY [ARTEFACTS_FOLDER]

Runs an observer and the UI on a temporary runtime root seeded with proposals, drift, nodes,
history and markup in every field a producer controls, then checks the page at both sizes:
axe-core (no serious or critical violations, signed in and out), Approve and Reject on every
proposal reachable without scrolling sideways, approving from each layout, keyboard shortcuts,
the session across a reload, nodes, history, event filters, a heartbeat that ages, output live
within 200 ms, no injected markup, recovery after the UI restarts and after the runtime root is
made anew, and no console errors; then takes one `homelab demo` drift through the loop from the
page (approved, run, healed, verified) and another through a rejection and Propose now. Screenshots of both layouts go into ARTEFACTS_FOLDER (default .build/browser). Prints
"browser: N passed, N failed"."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))
sys.path.insert(0, here)
from harness import Checks, wait  # noqa: E402 - after the path is set
from browser import DESKTOP, PHONE, axe_serious, axe_source, chromium, console_errors, free_port, reachable, start, wait_for_port  # noqa: E402
import seed  # noqa: E402

binary = os.path.abspath(sys.argv[1])
artefacts = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else ".build/browser")
os.makedirs(artefacts, exist_ok=True)
base = tempfile.mkdtemp(prefix="homelab-browser-")
root = os.path.join(base, "root")
port = free_port()
url = "http://127.0.0.1:%d/" % port
env = dict(os.environ, HOMELAB_ROOT=root, HOMELAB_UI_ADDR="127.0.0.1:%d" % port, HOMELAB_UI_TOKEN="browser-token", HOMELAB_HEARTBEAT_SECONDS="1")
services = {}
checks = Checks("browser")
check = checks.check
# Connection failures while the UI is down on purpose (restart, a new root) are the browser
# reporting the stream's retries, not the page's errors.
DOWN = ("ERR_CONNECTION_REFUSED", "ERR_EMPTY_RESPONSE", "ERR_CONNECTION_RESET", "ERR_INCOMPLETE_CHUNKED_ENCODING")


def run_services():
    for name in ("observer", "ui"):
        services[name] = start(binary, name, env, base)
    wait_for_port(port)


def stop(name):
    services[name].send_signal(signal.SIGTERM)
    services[name].wait(5)


def q(driver, selector):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def text(driver, selector):
    """The rendered text of the first match ("" when there is none or it is hidden), read in
    one step: the live page may replace an element between a find and a read."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e && e.checkVisibility() ? e.innerText : ''", selector)


def open_page(driver):
    driver.get(url)
    wait(lambda: driver.execute_script("return document.body.dataset.ready") == "true", 10, "the first load")
    wait(lambda: text(driver, "#live") == "live", 10, "the stream to connect")


def sign_in(driver, token="browser-token"):
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#login button").click()
    wait(lambda: q(driver, "#signed-in") and q(driver, "#signed-in")[0].is_displayed(), 5, "sign-in")


def decide_in_page(driver, action_id, verdict):
    button = q(driver, "#pending button.%s[data-id='%s']" % (verdict, action_id))[0]
    problem = reachable(driver, button)
    assert problem is None, problem
    button.click()
    dialog = wait(lambda: q(driver, "dialog#confirm[open]"), 2, "the confirmation")[0]
    return dialog


def toggle_heartbeats(driver):
    driver.execute_script("document.getElementById('filter-heartbeats').click()")


def click_when_stable(driver, selector, timeout=5):
    """Clicks what the selector finds, again if the page replaced it meanwhile (a live page)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return q(driver, selector)[0].click()
        except (StaleElementReferenceException, IndexError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def in_folder(state, action_id, timeout=5):
    in_folder_of(root, state, action_id, timeout)


def in_folder_of(runtime_root, state, action_id, timeout=5):
    path = os.path.join(runtime_root, "actions", state, action_id + ".json")
    wait(lambda: os.path.exists(path), timeout, "%s in actions/%s/" % (action_id, state))


def every_decision_reachable(driver):
    cards = wait(lambda: q(driver, "#pending .card"), 5, "the proposals")
    assert len(cards) >= 2, len(cards)
    for card in cards:
        for verdict in ("approve", "reject"):
            button = card.find_element(By.CSS_SELECTOR, "button." + verdict)
            problem = reachable(driver, button)
            assert problem is None, "%s of %s: %s" % (verdict, card.get_attribute("data-id"), problem)


def no_axe_violations(driver, layout, signed):
    found = axe_serious(driver, axe)
    assert not found, "%s, %s: %s" % (layout["name"], signed, found)


desktop = phone = None
axe = axe_source()
try:
    os.makedirs(root)
    run_services()
    seed.everything(root, binary, env)
    desktop = chromium(DESKTOP)
    phone = chromium(PHONE)

    # MARK: The laptop

    def loads_signed_out():
        open_page(desktop)
        wait(lambda: len(q(desktop, "#pending .card")) == 4, 5, "the four proposals")
        wait(lambda: "jellyfin" in text(desktop, "#nodes"), 5, "the nodes")
        assert q(desktop, "#login")[0].is_displayed()
        assert int(text(desktop, "[data-count=pending] strong")) == 4
        errors = console_errors(desktop)
        assert not errors, errors
    check("1400×900: the page loads signed out, live, with no console errors", loads_signed_out)
    check("1400×900: axe finds no serious or critical violation, signed out", lambda: no_axe_violations(desktop, DESKTOP, "signed out"))

    def session_survives_reload():
        sign_in(desktop)
        desktop.refresh()
        open_page(desktop)
        wait(lambda: q(desktop, "#signed-in")[0].is_displayed(), 3, "signed in after the reload")
        assert not q(desktop, "#login")[0].is_displayed()
        desktop.find_element(By.ID, "signout").click()
        wait(lambda: q(desktop, "#login")[0].is_displayed(), 3, "the sign-in form after signing out")
        desktop.refresh()
        open_page(desktop)
        wait(lambda: q(desktop, "#login")[0].is_displayed(), 3, "still signed out after a reload")
        sign_in(desktop)
    check("the session survives a reload, and sign-out ends it", session_survives_reload)
    check("1400×900: axe finds no serious or critical violation, signed in", lambda: no_axe_violations(desktop, DESKTOP, "signed in"))
    check("1400×900: every proposal's Approve and Reject are on screen and clickable, no sideways scroll", lambda: every_decision_reachable(desktop))

    def dark_theme():
        desktop.find_element(By.ID, "theme").click()  # Auto → Dark
        assert desktop.execute_script("return document.documentElement.dataset.theme") == "dark"
        try:
            no_axe_violations(desktop, DESKTOP, "signed in, dark")
        finally:
            desktop.find_element(By.ID, "theme").click()  # → Light
            desktop.find_element(By.ID, "theme").click()  # → Auto
    check("1400×900: axe finds no serious or critical violation in the dark theme", dark_theme)

    def proposal_card_says_what_will_run():
        card = q(desktop, "#pending .card[data-id='a1b2c3']")[0]
        assert "docker --context nas start jellyfin" in card.text, card.text
        changed = card.find_elements(By.CSS_SELECTOR, "table.diff tr.changed")
        assert len(changed) == 1 and "state" in changed[0].text and "running" in changed[0].text and "exited" in changed[0].text, [r.text for r in changed]
        for needle in ("revision 3f2a9c1", "attempt 2", "proposed"):
            assert needle in card.text, (needle, card.text)
    check("a proposal shows the per-field diff, the command, revision, when and attempt", proposal_card_says_what_will_run)

    def keyboard_reject():
        desktop.execute_script("document.activeElement.blur()")
        order = [c.get_attribute("data-id") for c in q(desktop, "#pending .card")]
        for _ in range(order.index("d4e5f6") + 1):
            ActionChains(desktop).send_keys("j").perform()
        focused = desktop.switch_to.active_element.get_attribute("data-id")
        assert focused == "d4e5f6", (focused, order)
        ActionChains(desktop).send_keys("r").perform()
        dialog = wait(lambda: q(desktop, "dialog#confirm[open]"), 2, "the confirmation")[0]
        assert "Reject" in dialog.text, dialog.text
        ActionChains(desktop).send_keys(Keys.ESCAPE).perform()  # nothing happens
        wait(lambda: not q(desktop, "dialog#confirm[open]"), 2, "the dialog to close")
        time.sleep(0.2)
        assert os.path.exists(os.path.join(root, "actions", "pending", "d4e5f6.json"))
        desktop.execute_script("document.querySelector(\"#pending .card[data-id='d4e5f6']\").focus()")
        ActionChains(desktop).send_keys("r").perform()
        wait(lambda: q(desktop, "dialog#confirm[open]"), 2, "the confirmation")
        ActionChains(desktop).send_keys(Keys.ENTER).perform()  # on the focused Reject
        in_folder("rejected", "d4e5f6")
    check("keyboard: j moves to a proposal, r asks first (Escape cancels), Enter confirms → rejected/", keyboard_reject)

    def approve_on_the_laptop():
        dialog = decide_in_page(desktop, "a1b2c3", "approve")
        assert "docker --context nas start jellyfin" in dialog.text and "Run it" in dialog.text, dialog.text
        dialog.find_element(By.ID, "confirm-yes").click()
        in_folder("approved", "a1b2c3")
        step = wait(lambda: seed.lifecycle_step(root, "a1b2c3", "approved"), 3, "the approval in world/action/a1b2c3.json")
        assert step["actor"] == "dashboard", step
    check("approve at 1400×900: a confirmation naming the command, then approved/ with the operator", approve_on_the_laptop)

    def node_cards():
        card = text(desktop, "[data-node='nas']")
        for needle in ("up", "last seen", "load 37%", "memory 41%", "disk / 62%", "jellyfin", "exited", "jellyfin/jellyfin:10.9.7", "mismatch"):
            assert needle in card, (needle, card)
        chip = text(desktop, "[data-node='nas'] [data-resource='container/nas/jellyfin']")
        assert "mismatch" in chip and "exited" in chip and "unhealthy" in chip, chip
        folded = text(desktop, "[data-node='nas'] details.unmanaged")
        assert "1 unmanaged" in folded and "stray" not in folded, folded
        assert not text(desktop, "[data-node='nas'] [data-resource='container/nas/stray']"), "folded away"
        assert "stale" in text(desktop, "[data-node='pi'] header"), text(desktop, "[data-node='pi'] header")
        drift = text(desktop, "#drift")
        assert "flapping" in drift and "next attempt in" in drift and "back-off after attempt 2" in drift, drift
        assert q(desktop, "#drift button.propose[data-resource='container/pi/pihole']")
    check("nodes as cards: up/stale, facts, containers with image and drift badges, unmanaged folded; drift waits", node_cards)

    def history_and_detail():
        row = wait(lambda: q(desktop, "#history li[data-id='h1']"), 5, "the history row")[0]
        for needle in ("succeeded (exit 0)", "verified", "approved by oskar", "1.2 s"):
            assert needle in row.text, (needle, row.text)
        select = Select(desktop.find_element(By.ID, "history-state"))
        select.select_by_value("failed")
        wait(lambda: not q(desktop, "#history li[data-id='h1']"), 2, "the filter to hide it")
        select.select_by_value("done")
        wait(lambda: q(desktop, "#history li[data-id='h1']"), 2, "the filter to show it")
        field = desktop.find_element(By.ID, "history-resource")
        field.send_keys("immich")
        wait(lambda: not q(desktop, "#history li[data-id='h1']"), 2, "a resource filter")
        field.clear()
        field.send_keys("jellyfin")
        wait(lambda: q(desktop, "#history li[data-id='h1']"), 2, "the resource filter to match")
        select.select_by_value("")
        field.clear()
        q(desktop, "#history li[data-id='h1'] a")[0].click()
        wait(lambda: q(desktop, "#detail")[0].is_displayed() and "verified" in text(desktop, "#timeline"), 3, "the action's detail")
        wait(lambda: "from 100.64.0.7:51234" in text(desktop, "#timeline"), 3, "where the approval came from")
        timeline = text(desktop, "#timeline")
        for needle in ("proposed by supervisor", "approved by oskar", "started by executor", "succeeded by executor", "exit 0", "verified by supervisor"):
            assert needle in timeline, (needle, timeline)
        wait(lambda: "starting jellyfin" in text(desktop, "#output"), 3, "the full log")
        desktop.execute_script("location.hash = '#/'")
        wait(lambda: q(desktop, "#overview")[0].is_displayed(), 2, "the overview again")
    check("history: outcome, verified, who approved, duration, filters; its detail: lifecycle with actors and the log", history_and_detail)

    def heartbeat_ages():
        label = lambda: text(desktop, "[data-node='nas'] header time")
        last_seq = lambda: desktop.execute_script("return S.shownSeq")
        seq, first = last_seq(), label()
        time.sleep(2.2)
        second = label()
        assert last_seq() == seq, "an event came in meanwhile"
        number = lambda s: int("".join(ch for ch in s if ch.isdigit()) or 0)
        assert first != second and number(second) >= number(first) + 2, (first, second)
    check("a heartbeat ages on screen without new events", heartbeat_ages)

    def event_filters():
        seed.emit(binary, env, "node.heartbeat", "node/nas", "node/nas")
        wait(lambda: desktop.execute_script("return S.events.some((e) => e.type === 'node.heartbeat')"), 2, "the heartbeat to arrive")
        assert "node.heartbeat" not in text(desktop, "#tail"), "heartbeats are hidden by default"
        toggle_heartbeats(desktop)
        wait(lambda: "node.heartbeat" in text(desktop, "#tail"), 2, "heartbeats shown")
        toggle_heartbeats(desktop)
        for field, value in (("filter-type", "resource.observed"), ("filter-source", "node/pi"), ("filter-subject", "container/nas")):
            box = desktop.find_element(By.ID, field)
            box.send_keys(value)
            rows = q(desktop, "#tail li")
            assert rows, "nothing matches %s" % value
            kind = {"filter-type": ".type", "filter-source": ".source", "filter-subject": ".subject"}[field]
            assert all(value in r.find_element(By.CSS_SELECTOR, kind).text for r in rows), value
            box.clear()
            box.send_keys(" ")  # an input event after clear(), which fires none
            box.clear()
        desktop.execute_script("renderTail()")
        assert len(desktop.find_elements(By.CSS_SELECTOR, "#events-chart svg rect.bar")) >= 1
        assert desktop.find_elements(By.CSS_SELECTOR, "#drift-chart svg path.area")
    check("events: heartbeats hidden by default, filters by type, source and subject, the two charts", event_filters)

    def event_appears_live():
        desktop.execute_script("""
            window.__seen = null;
            new MutationObserver((changes, observer) => {
              if (document.querySelector('#tail li .subject')?.textContent === 'container/nas/plex') { window.__seen = performance.timeOrigin + performance.now(); observer.disconnect(); }
            }).observe(document.getElementById('tail'), {childList: true});""")
        dropped = time.time()
        seed.emit(binary, env, "resource.observed", "node/nas", "container/nas/plex", {"state": "running"})
        seen = wait(lambda: desktop.execute_script("return window.__seen"), 1.0, "the event on the page")
        print("     event on the page %.0f ms after `homelab emit` started" % ((seen / 1000 - dropped) * 1000))
    check("an event dropped into the inbox appears within 1 s without a reload", event_appears_live)

    def output_live():
        desktop.execute_script("location.hash = '#/actions/r1'")
        wait(lambda: text(desktop, "#output-state") == "live", 3, "the running action's detail")
        desktop.execute_script("""
            window.__lines = {};
            const pre = document.getElementById('output');
            new MutationObserver(() => {
              const t = performance.timeOrigin + performance.now();
              for (const m of pre.textContent.matchAll(/line (\\d+) at (\\d+\\.\\d+)/g)) if (!(m[1] in __lines)) __lines[m[1]] = t - Number(m[2]) * 1000;
            }).observe(pre, {childList: true, characterData: true, subtree: true});""")
        log = os.path.join(root, "logs", "actions", "r1.log")
        for n in range(10):
            with open(log, "a") as f:
                f.write("line %d at %.6f\n" % (n, time.time()))
            time.sleep(0.15)
        latencies = wait(lambda: (lambda d: d if len(d) == 10 else None)(desktop.execute_script("return window.__lines")), 2, "ten lines")
        values = sorted(latencies.values())
        print("     output on the page after being written: median %.0f ms, max %.0f ms" % (values[len(values) // 2], values[-1]))
        assert values[-1] < 200, values
    check("a running action's output lines appear in its detail view within 200 ms of being written", output_live)

    def no_markup_from_producers():
        desktop.execute_script("location.hash = '#/'")
        wait(lambda: seed.MARKUP_TEXT in text(desktop, "#nodes"), 3, "the facts with markup")
        for where in ("#pending", "#drift", "#nodes", "#tail"):
            wait(lambda: seed.MARKUP_TEXT in text(desktop, where), 3, "the markup as text in " + where)
        toggle_heartbeats(desktop)  # nothing hidden
        assert seed.MARKUP_TEXT in text(desktop, "#tail")
        desktop.execute_script("location.hash = '#/actions/x9y8z7'")
        wait(lambda: seed.MARKUP_TEXT in text(desktop, "#detail"), 3, "markup in the detail")
        desktop.execute_script("location.hash = '#/actions/r1'")
        wait(lambda: seed.MARKUP_TEXT in text(desktop, "#output"), 3, "markup in the output")
        found = desktop.execute_script(seed.INJECTED)
        assert found == {"elements": 0, "handlers": 0, "ran": False}, found
        try:
            alert = desktop.switch_to.alert
            raise AssertionError("an alert ran: " + alert.text)
        except NoAlertPresentException:
            pass
        toggle_heartbeats(desktop)
        desktop.execute_script("location.hash = '#/'")
        errors = console_errors(desktop)
        assert not errors, errors
    check("markup in every producer-controlled field stays text: nothing injected, nothing ran", no_markup_from_producers)
    desktop.save_screenshot(os.path.join(artefacts, "dashboard-desktop.png"))

    # MARK: The phone

    def phone_signed_out():
        open_page(phone)
        wait(lambda: len(q(phone, "#pending .card")) == 2, 5, "the two proposals left")
        no_axe_violations(phone, PHONE, "signed out")
    check("390×844: axe finds no serious or critical violation, signed out", phone_signed_out)

    def phone_signed_in():
        sign_in(phone)
        no_axe_violations(phone, PHONE, "signed in")
    check("390×844: axe finds no serious or critical violation, signed in", phone_signed_in)
    check("390×844: every proposal's Approve and Reject are on screen and clickable, no sideways scroll", lambda: every_decision_reachable(phone))

    def approve_on_the_phone():
        phone.execute_script("scrollTo(0, 0)")
        phone.save_screenshot(os.path.join(artefacts, "dashboard-phone.png"))
        dialog = decide_in_page(phone, "c3d4e5", "approve")
        confirm = dialog.find_element(By.ID, "confirm-yes")
        assert reachable(phone, confirm) is None, reachable(phone, confirm)
        confirm.click()
        in_folder("approved", "c3d4e5")
        wait(lambda: not q(phone, "#pending .card[data-id='c3d4e5']"), 3, "the card to go")
        errors = console_errors(phone)
        assert not errors, errors
    check("approve from the phone layout lands in approved/", approve_on_the_phone)

    # MARK: Recovery

    def recovers_after_ui_restart():
        console_errors(desktop), console_errors(phone)
        stop("ui")
        for driver in (desktop, phone):
            wait(lambda: text(driver, "#live") == "reconnecting…", 3, "the page to notice")
        services["ui"] = start(binary, "ui", env, base)
        for driver in (desktop, phone):
            wait(lambda: text(driver, "#live") == "live", 10, "the page to reconnect")
        seed.emit(binary, env, "resource.observed", "node/nas", "container/nas/after-restart", {"state": "running"})
        for driver, name in ((desktop, "1400×900"), (phone, "390×844")):
            try:
                wait(lambda: "container/nas/after-restart" in text(driver, "#tail"), 2, "a new event after the restart at " + name)
            except AssertionError:
                print(driver.execute_script("return [location.hash, S.shownSeq, S.summary.lastEvent, S.events.slice(-3), document.getElementById('tail').textContent.slice(0, 300)]"))
                print(driver.get_log("browser"))
                raise
            errors = console_errors(driver, allowed=DOWN)
            assert not errors, errors
    check("the page recovers after the UI restarts", recovers_after_ui_restart)

    def recovers_after_a_new_root():
        stop("ui")
        stop("observer")
        shutil.rmtree(root)
        os.makedirs(root)
        run_services()
        seed.pending(root, "n1n2n3", "container/pi/homeassistant", ["docker", "--context", "pi", "start", "homeassistant"])
        seed.emit(binary, env, "resource.observed", "node/pi", "container/pi/fresh", {"state": "running"})
        for driver in (desktop, phone):
            wait(lambda: text(driver, "#live") == "live", 10, "the page to reconnect")
            wait(lambda: "container/pi/fresh" in text(driver, "#tail"), 5, "the new log's event in the tail")
            wait(lambda: [c.get_attribute("data-id") for c in q(driver, "#pending .card")] == ["n1n2n3"], 5, "only the new root's proposal")
            assert "container/nas/plex" not in text(driver, "#tail"), "the old log's events are gone"
            wait(lambda: q(driver, "#login")[0].is_displayed(), 5, "signed out: the new root has a new session secret")
        seed.emit(binary, env, "resource.observed", "node/pi", "container/pi/fresher", {"state": "running"})
        for driver in (desktop, phone):
            wait(lambda: "container/pi/fresher" in text(driver, "#tail"), 2, "the tail to go on (not frozen)")
            errors = console_errors(driver, allowed=DOWN)
            assert not errors, errors
    check("the page recovers after the runtime root is made anew (no frozen tail)", recovers_after_a_new_root)

    def disk_guard_banner():
        """An observer whose free-space floor is above what the disk has pauses ingest: the
        page says so and why, and the banner goes once an observer with room resumes."""
        stat = os.statvfs(root)
        above = stat.f_bavail * stat.f_frsize // (1 << 20) + 1024
        stop("observer")
        services["observer"] = start(binary, "observer", dict(env, HOMELAB_MIN_FREE_MB=str(above)), base)
        for driver in (desktop, phone):
            banner = wait(lambda: text(driver, "#banner"), 10, "the disk guard's banner")
            assert "Ingest paused" in banner and "HOMELAB_MIN_FREE_MB" in banner, banner
        stop("observer")
        services["observer"] = start(binary, "observer", env, base)
        for driver in (desktop, phone):
            wait(lambda: not text(driver, "#banner"), 10, "the banner gone once ingest resumes")
    check("the disk guard: ingest paused is a banner with the reason, gone when ingest resumes", disk_guard_banner)

    # MARK: The demo

    def the_demo_loop_in_the_browser():
        """`homelab demo`: a simulated drift is proposed on the page, approved there, run, and healed."""
        demo_env = {k: v for k, v in env.items() if k not in ("HOMELAB_UI_TOKEN", "HOMELAB_ROOT", "HOMELAB_HEARTBEAT_SECONDS")}
        demo_port = free_port()
        demo_root = os.path.join(base, "demo-root")
        demo_env.update(HOMELAB_ROOT=demo_root, HOMELAB_UI_ADDR="127.0.0.1:%d" % demo_port,
                        HOMELAB_INVENTORY=os.path.join(here, "..", "..", "examples", "inventory"))
        demo_log = open(os.path.join(base, "demo.log"), "w+")
        demo = subprocess.Popen([binary, "demo", "--drift-every", "1"], env=demo_env, stdout=subprocess.PIPE, stderr=demo_log, text=True)
        try:
            token = None
            for line in demo.stdout:
                if line.startswith("token:"):
                    token = line.split()[1]
                    break
            assert token, "the demo printed no token"
            for driver in (desktop, phone):
                driver.get("http://127.0.0.1:%d/" % demo_port)
                wait(lambda: text(driver, "#live") == "live", 10, "the stream to connect")
                sign_in(driver, token)
            action_id = wait(lambda: q(desktop, "#pending button.approve"), 10, "a proposal on the page")[0].get_attribute("data-id")
            click_when_stable(desktop, "#pending button.approve[data-id='%s']" % action_id)
            wait(lambda: q(desktop, "dialog#confirm[open]"), 2, "the confirmation")[0].find_element(By.ID, "confirm-yes").click()
            wait(lambda: os.path.exists(os.path.join(demo_root, "actions", "done", action_id + ".json")), 10, "the action in done/")
            wait(lambda: "succeeded (exit 0)" in text(desktop, "#history li[data-id='%s']" % action_id), 3, "the action done on the page")

            def healed():
                demo_log.seek(0)
                return "is back to its desired state after " + action_id in demo_log.read()
            wait(healed, 5, "the simulated homelab to heal")
            # The supervisor checks that the drift stayed gone: the page shows it verified.
            wait(lambda: "verified" in text(desktop, "#history li[data-id='%s']" % action_id), 15, "the action verified on the page")

            # Rejected: no new proposal until the operator asks, and the page says so; Propose
            # now (POST /api/propose) brings the next attempt back to Needs you.
            rejected_id = wait(lambda: q(desktop, "#pending button.reject"), 10, "another proposal")[0].get_attribute("data-id")
            with open(os.path.join(demo_root, "actions", "pending", rejected_id + ".json")) as f:
                resource = json.load(f)["resource"]
            click_when_stable(desktop, "#pending button.reject[data-id='%s']" % rejected_id)
            wait(lambda: q(desktop, "dialog#confirm[open]"), 2, "the confirmation")[0].find_element(By.ID, "confirm-yes").click()
            in_folder_of(demo_root, "rejected", rejected_id)
            item = "#drift li[data-resource='%s']" % resource
            wait(lambda: "rejected" in text(desktop, item) and q(desktop, item + " button.propose"), 5, "the drift waiting for the operator")
            click_when_stable(desktop, item + " button.propose")

            def proposed_again():
                for card in q(desktop, "#pending .card"):
                    if card.get_attribute("data-id") != rejected_id and resource in card.text:
                        return card.get_attribute("data-id")
            again = wait(proposed_again, 10, "a new proposal for %s after Propose now" % resource)
            with open(os.path.join(demo_root, "actions", "pending", again + ".json")) as f:
                assert json.load(f)["attempt"] >= 2
            # The screenshots for the README: drift, proposals waiting and some history.
            wait(lambda: len(q(desktop, "#pending .card")) >= 2, 10, "two proposals waiting")
            time.sleep(1.2)
            height = desktop.execute_script("return document.documentElement.scrollHeight")
            desktop.set_window_size(DESKTOP["width"], min(height, 2400) + 140)
            time.sleep(0.3)
            desktop.save_screenshot(os.path.join(artefacts, "demo-desktop.png"))
            desktop.set_window_size(DESKTOP["width"], DESKTOP["height"] + 140)
            phone.execute_script("scrollTo(0, 0)")
            phone.save_screenshot(os.path.join(artefacts, "demo-phone.png"))
            for driver in (desktop, phone):
                errors = console_errors(driver, allowed=DOWN)
                assert not errors, errors
            demo.send_signal(signal.SIGINT)
            assert demo.wait(5) == 0, "the demo did not stop cleanly on Ctrl-C"
        finally:
            if demo.poll() is None:
                demo.kill()

    check("homelab demo: drift → proposal → approval in the page → executed → healed → verified; reject, then Propose now", the_demo_loop_in_the_browser)
    print("     screenshots in " + artefacts)
finally:
    for driver in (desktop, phone):
        if driver:
            driver.quit()
    for service in services.values():
        if service.poll() is None:
            service.terminate()
            service.wait(5)
    shutil.rmtree(base, ignore_errors=True)

checks.finish(expected=24)
