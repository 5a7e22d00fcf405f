"""What the dashboard's browser tests and benchmark share: headless Chromium (Debian's, through
its chromium-driver, so selenium never reaches for the network) at a laptop's size or as a
phone, the page's console, axe-core injected from the axe-selenium-python package's own copy,
and whether a button can be reached and clicked without scrolling sideways."""

import glob
import os
import shutil
import socket
import subprocess
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

DESKTOP = {"name": "desktop", "width": 1400, "height": 900}
PHONE = {"name": "phone", "width": 390, "height": 844}


def chromium(layout):
    """One headless Chromium at `layout`: a window of that size, or a phone's emulated
    screen (touch, device pixel ratio 3, a mobile user agent)."""
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"):
        options.add_argument(flag)
    if layout is PHONE:
        options.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": layout["width"], "height": layout["height"], "pixelRatio": 3.0, "touch": True},
            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome Mobile Safari/537.36"})
    else:
        options.add_argument("--window-size=%d,%d" % (layout["width"], layout["height"]))
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    binary = shutil.which("chromium")
    if binary:
        options.binary_location = binary
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    if layout is not PHONE:
        # --window-size is the outer window: make the page's own viewport the size asked for.
        inner = driver.execute_script("return [innerWidth, innerHeight]")
        driver.set_window_size(2 * layout["width"] - inner[0], 2 * layout["height"] - inner[1])
    return driver


def console_errors(driver, allowed=()):
    """SEVERE console entries since the last call, but those containing one of `allowed`."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and not any(text in entry["message"] for text in allowed)]


def axe_source():
    """axe.min.js as the axe-selenium-python package ships it: no network needed."""
    import axe_selenium_python
    found = glob.glob(os.path.join(os.path.dirname(axe_selenium_python.__file__), "**", "axe.min.js"), recursive=True)
    if not found:
        raise RuntimeError("axe-selenium-python has no axe.min.js")
    with open(found[0]) as f:
        return f.read()


def axe_serious(driver, source):
    """axe-core's violations of impact serious or critical, each as 'rule: target, …'."""
    driver.execute_script(source)
    driver.set_script_timeout(30)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then((r) => done(r.violations), (e) => done([{id: 'axe failed', impact: 'critical', help: String(e), nodes: []}]));")
    return ["%s (%s): %s — %s" % (v["id"], v["impact"], v["help"], "; ".join("%s %s" % (n.get("target"), (n.get("failureSummary") or "").replace("\n", " ")) for n in v["nodes"][:4]))
            for v in result if v.get("impact") in ("serious", "critical")]


REACHABLE = """
const button = arguments[0];
button.scrollIntoView({block: 'center', inline: 'nearest'});
const r = button.getBoundingClientRect(), doc = document.documentElement;
const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height,
        innerWidth, innerHeight, scrollX, scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth,
        hitIsButton: !!hit && (hit === button || button.contains(hit))};
"""


def reachable(driver, button):
    """Whether a button is on screen, whole, wide enough to hit with a thumb, on top (so a
    click lands on it), and the page does not scroll sideways. Returns the problem or None."""
    geometry = driver.execute_script(REACHABLE, button)
    if geometry["scrollWidth"] > geometry["clientWidth"] or geometry["scrollX"] != 0:
        return "the page scrolls sideways: %s" % geometry
    if geometry["left"] < 0 or geometry["right"] > geometry["innerWidth"] or geometry["top"] < 0 or geometry["bottom"] > geometry["innerHeight"]:
        return "not wholly on screen: %s" % geometry
    if geometry["height"] < 40 or geometry["width"] < 44:
        return "too small for a thumb: %s" % geometry
    if not geometry["hitIsButton"]:
        return "something else is on top of it: %s" % geometry
    return None


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("nothing listens on %d after %.0f s" % (port, timeout))


def start(binary, name, env, log_folder):
    return subprocess.Popen([binary, name], env=env, stderr=open(os.path.join(log_folder, name + ".log"), "a"))
