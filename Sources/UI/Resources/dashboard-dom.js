"use strict";
// The page's toolkit: building elements (text only ever goes in as textContent, so nothing a
// producer wrote — a resource name, an observed value, an event field, action output — can
// become markup), relative times that tick, and fetching JSON.

const $ = (id) => document.getElementById(id);

/** An element: `el("li", {class: "chip", dataset: {id}}, "text", child, …)`. Strings become text
 * nodes; `null`/`false` children are skipped; attributes are set one by one, never parsed. */
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value == null || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "text") node.textContent = value;
    else if (name === "on") for (const [type, handler] of Object.entries(value)) node.addEventListener(type, handler);
    else node.setAttribute(name === "className" ? "class" : name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}
function append(node, children) {
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}
/** Replaces a container's children. */
function fill(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}
/** A JSON value as one line of text: strings as they are, the rest as JSON. */
const show = (value) => value === undefined ? "—" : typeof value === "string" ? value : JSON.stringify(value);
/** An observed value, where null means the resource (or the key) is not there. */
const showObserved = (value) => value == null ? "(absent)" : show(value);

// MARK: Times

/** Server time minus this browser's clock, when they differ by more than a few seconds (a
 * phone with a wrong clock would otherwise say "last seen in 3 min"). */
let clockSkew = 0;
function noteServerTime(iso) {
  const skew = Date.parse(iso) + 500 - Date.now();  // generatedAt is whole seconds
  clockSkew = Number.isFinite(skew) && Math.abs(skew) > 3000 ? skew : 0;
}
const now = () => Date.now() + clockSkew;

/** "12 s", "3 min"…; `precise` gives tenths under 10 s (how long an action took, not an age). */
function duration(ms, precise = false) {
  const s = Math.max(0, ms / 1000);
  if (s < 1) return `${Math.round(ms)} ms`;
  if (precise && s < 10) return `${s.toFixed(1)} s`;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}
function relative(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "never";
  const ms = now() - t;
  if (ms < -1500) return `in ${duration(-ms)}`;
  return ms < 1500 ? "just now" : `${duration(ms)} ago`;
}
/** `<time>` showing "12 s ago" (or `prefix` + that), the absolute time on hover; kept current
 * by the ticker below from the absolute time it holds, so it is right after any reconnect. */
function ago(iso, prefix = "") {
  if (!iso) return el("span", {class: "muted"}, prefix + "never");
  const node = el("time", {class: "ago", datetime: iso, title: new Date(Date.parse(iso)).toLocaleString(), dataset: {prefix}});
  node.textContent = prefix + relative(iso);
  return node;
}
function tick() {
  for (const node of document.querySelectorAll("time.ago")) {
    const label = node.dataset.prefix + relative(node.getAttribute("datetime"));
    if (node.textContent !== label) node.textContent = label;
  }
}
setInterval(tick, 1000);

// MARK: Fetching

class HTTPError extends Error {
  constructor(path, status, body) {
    super(`${path}: ${status}`);
    this.status = status;
    this.body = body;
  }
}
async function getJSON(path) {
  const response = await fetch(path, {cache: "no-store"});
  if (!response.ok) throw new HTTPError(path, response.status, await response.text());
  return response.json();
}
/** A POST from the page: same origin, so the cookie goes with it. */
async function post(path, body, headers = {}) {
  return fetch(path, {method: "POST", body, headers, cache: "no-store"});
}
/** The message a failed request carries: `{"error": …}`, else its text. */
async function reasonOf(response) {
  const body = await response.text();
  try { return JSON.parse(body).error || body.trim(); } catch { return body.trim() || String(response.status); }
}

/** Runs `fn` at most once at a time: a call while it runs makes it run once more after. */
function serialized(fn) {
  let running = null, again = false;
  const run = async () => {
    if (running) { again = true; return running; }
    running = (async () => {
      try { do { again = false; await fn(); } while (again); } finally { running = null; }
    })();
    return running;
  };
  return run;
}

/** Calls `fn` once after the current task (several requests in one task are one call). */
const soonTimers = {};
function soon(name, fn, ms = 0) {
  if (soonTimers[name]) return;
  soonTimers[name] = setTimeout(() => { delete soonTimers[name]; fn(); }, ms);
}

/** A short message to the operator, read out by screen readers too. */
function notice(message, kind = "info") {
  const box = $("notice");
  box.className = "notice " + kind;
  box.textContent = message;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { box.textContent = ""; box.className = "notice"; }, 8000);
}
