/// The dashboard: one self-contained page (no external assets, vanilla JS, dark and light),
/// kept current by `/stream`.
enum Dashboard {
    static let page: [UInt8] = Array(html.utf8)

    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>homelab control plane</title>
<link rel="icon" href="data:,">
<style>
:root { --bg: #f6f7f9; --fg: #1d232b; --muted: #66707c; --card: #fff; --line: #dde1e6; --ok: #1f8a4c; --bad: #c0392b; --warn: #b7791f; --accent: #2b6cb0; }
@media (prefers-color-scheme: dark) { :root { --bg: #12161b; --fg: #e2e6eb; --muted: #8b95a1; --card: #1b2129; --line: #2b333d; --ok: #48bb78; --bad: #f56565; --warn: #ecc94b; --accent: #63b3ed; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 17px; margin: 0 12px 0 0; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; padding: 16px 20px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; overflow: auto; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 15px; margin: 0 0 8px; } h3 { font-size: 13px; margin: 12px 0 4px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 4px 6px; border-top: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; border-top: 0; }
code, pre { font: 12px/1.4 ui-monospace, monospace; } pre { margin: 4px 0; max-height: 180px; overflow: auto; background: var(--bg); padding: 6px; border-radius: 4px; white-space: pre-wrap; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; border: 1px solid var(--line); font-size: 12px; }
.up { color: var(--ok); border-color: var(--ok); } .down { color: var(--bad); border-color: var(--bad); }
.missing, .failed { color: var(--bad); } .mismatch, .stale { color: var(--warn); } .done { color: var(--ok); } .muted { color: var(--muted); }
button { font: inherit; padding: 3px 10px; border-radius: 5px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); cursor: pointer; }
button.approve { border-color: var(--ok); color: var(--ok); } button.reject { border-color: var(--bad); color: var(--bad); }
input { font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 5px; background: var(--bg); color: var(--fg); }
#tail div { border-top: 1px solid var(--line); padding: 2px 0; font: 12px ui-monospace, monospace; }
</style>
</head>
<body>
<header>
  <h1>homelab control plane</h1>
  <span id="services"></span>
  <span class="muted">revision <code id="revision">–</code> · world seq <code id="seq">0</code> · <span id="live">connecting…</span></span>
  <form id="login" style="margin-left:auto"><input id="token" type="password" placeholder="operator token" autocomplete="current-password"> <button>Sign in</button></form>
  <span id="who" class="muted"></span>
</header>
<main>
  <section class="wide" id="queue"><h2>Action Queue</h2>
    <h3>Pending</h3><table id="pending"><thead><tr><th>action</th><th>resource</th><th>drift</th><th>command</th><th></th></tr></thead><tbody></tbody></table>
    <h3>Approved and running</h3><div id="active" class="muted">none</div>
    <h3>History</h3><table id="history"><thead><tr><th>action</th><th>resource</th><th>outcome</th><th>when</th></tr></thead><tbody></tbody></table>
  </section>
  <section><h2>Drift</h2><table id="drift"><thead><tr><th>resource</th><th>kind</th><th>desired → observed</th></tr></thead><tbody></tbody></table></section>
  <section><h2>World</h2><div id="world" class="muted">empty</div></section>
  <section class="wide"><h2>Events</h2><div id="tail" class="muted"></div></section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const text = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const show = (value) => typeof value === "string" ? value : JSON.stringify(value);
const timers = {};
function later(name, fn, ms) { clearTimeout(timers[name]); timers[name] = setTimeout(fn, ms); }
async function getJSON(path) { const r = await fetch(path, {cache: "no-store"}); if (!r.ok) throw new Error(path + ": " + r.status); return r.json(); }

function renderSummary(s) {
  $("seq").textContent = s.world.seq;
  $("services").innerHTML = Object.entries(s.services).map(([name, v]) => `<span class="badge ${v.up ? "up" : "down"}" data-service="${text(name)}">${text(name)}</span>`).join(" ");
}
function renderDrift(d) {
  $("revision").textContent = d.desiredRevision || "–";
  $("drift").tBodies[0].innerHTML = (d.drift || []).map((x) => `<tr><td><code>${text(x.resource)}</code></td><td class="${text(x.kind)}">${text(x.kind)}</td><td>${(x.fields || []).map((f) => `${text(f.field)}: ${text(show(f.desired))} → ${text(show(f.observed))}`).join("<br>")}</td></tr>`).join("") || `<tr><td colspan="3" class="muted">no drift</td></tr>`;
}
async function loadWorld() {
  const resources = await getJSON("/api/world");
  const groups = {};
  for (const r of resources) {
    if (r.kind === "action") continue;  // the queue above shows those
    const host = r.name.split("/")[0];
    (groups[r.kind + " · " + host] ||= []).push(r);
  }
  $("world").innerHTML = Object.keys(groups).sort().map((g) => `<h3>${text(g)}</h3><table>${groups[g].map((r) => `<tr><td><code>${text(r.name)}</code></td><td>${text(r.observed.state ?? "")}</td><td class="muted">${text(r.lastSeen)}</td></tr>`).join("")}</table>`).join("") || "empty";
}
async function loadActions() {
  const all = await getJSON("/api/actions");
  const pending = all.filter((a) => a.state === "pending");
  $("pending").tBodies[0].innerHTML = pending.map((a) => `<tr data-id="${text(a.id)}"><td>${text(a.action)}</td><td><code>${text(a.resource)}</code></td><td>${text(a.drift?.kind)} ${(a.drift?.fields || []).map((f) => `${text(f.field)}: ${text(show(f.desired))} ≠ ${text(show(f.observed))}`).join(", ")}</td><td><code>${text((a.preview || []).join(" "))}</code></td><td><button class="approve" data-id="${text(a.id)}">Approve</button> <button class="reject" data-id="${text(a.id)}">Reject</button></td></tr>`).join("") || `<tr><td colspan="5" class="muted">nothing pending</td></tr>`;
  const active = all.filter((a) => a.state === "approved" || a.state === "running");
  $("active").innerHTML = active.map((a) => `<div data-id="${text(a.id)}"><b>${text(a.state)}</b> ${text(a.action)} <code>${text(a.resource)}</code>${a.state === "running" ? `<pre class="output" data-id="${text(a.id)}"></pre>` : ""}</div>`).join("") || "none";
  for (const a of active) if (a.state === "running") loadOutput(a.id);
  const history = all.filter((a) => !["pending", "approved", "running"].includes(a.state)).sort((x, y) => (y.result?.finishedAt || y.proposedAt || "").localeCompare(x.result?.finishedAt || x.proposedAt || "")).slice(0, 30);
  $("history").tBodies[0].innerHTML = history.map((a) => `<tr><td>${text(a.action)}</td><td><code>${text(a.resource)}</code></td><td class="${text(a.state)}">${text(a.state)}${a.result?.exitCode !== undefined ? " (exit " + text(a.result.exitCode) + ")" : ""}${a.result?.error ? ": " + text(a.result.error) : ""}</td><td class="muted">${text(a.result?.finishedAt || a.supersededAt || a.proposedAt)}</td></tr>`).join("") || `<tr><td colspan="4" class="muted">none yet</td></tr>`;
}
async function loadOutput(id) {
  const r = await fetch(`/api/actions/${encodeURIComponent(id)}/log`, {cache: "no-store"});
  const pre = document.querySelector(`pre.output[data-id="${CSS.escape(id)}"]`);
  if (pre && r.ok) { pre.textContent = await r.text(); pre.scrollTop = pre.scrollHeight; }
}
function addEvent(e) {
  if (e.seq <= shownSeq) return;
  shownSeq = e.seq;
  const row = document.createElement("div");
  row.dataset.seq = e.seq;
  row.textContent = `${e.seq} ${e.receivedAt} ${e.type} ${e.subject || ""} ${e.source}`;
  const tail = $("tail");
  if (tail.classList.contains("muted")) { tail.textContent = ""; tail.classList.remove("muted"); }
  tail.prepend(row);
  while (tail.children.length > 50) tail.lastChild.remove();
}
async function decide(id, verdict) {
  const r = await fetch(`/api/actions/${encodeURIComponent(id)}/${verdict}`, {method: "POST", headers: {"X-Operator": "dashboard"}});
  if (r.status === 401) { $("who").textContent = "sign in with the operator token first"; return; }
  if (!r.ok) $("who").textContent = `${verdict}: ${r.status} ${await r.text()}`;
  loadActions();
}
$("queue").addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-id]");
  if (b) decide(b.dataset.id, b.classList.contains("approve") ? "approve" : "reject");
});
$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const r = await fetch("/api/session", {method: "POST", body: $("token").value});
  $("who").textContent = r.ok ? "signed in" : "wrong token";
  if (r.ok) { $("token").value = ""; $("login").style.display = "none"; }
});
let shownSeq = 0;
function connect() {
  const source = new EventSource(`/stream?lastEventId=${shownSeq}`);
  source.onopen = () => { $("live").textContent = "live"; };
  source.onerror = () => { $("live").textContent = "reconnecting…"; };
  source.addEventListener("summary", (m) => renderSummary(JSON.parse(m.data)));
  source.addEventListener("drift", (m) => renderDrift(JSON.parse(m.data)));
  source.addEventListener("world", () => later("world", () => loadWorld().catch(console.warn), 50));
  source.addEventListener("action", () => later("actions", () => loadActions().catch(console.warn), 50));
  source.addEventListener("output", (m) => JSON.parse(m.data).changed.forEach((id) => later("out" + id, () => loadOutput(id), 50)));
  source.addEventListener("event", (m) => addEvent(JSON.parse(m.data)));
}
(async () => {
  getJSON("/api/drift").then(renderDrift).catch(console.warn);
  loadWorld().catch(console.warn);
  loadActions().catch(console.warn);
  try {
    const summary = await getJSON("/summary");
    renderSummary(summary);
    const last = summary.lastEvent ? summary.lastEvent.seq : 0;
    (await getJSON(`/api/events?after=${Math.max(0, last - 50)}&limit=50`)).forEach(addEvent);
  } catch (error) { console.warn(error); }
  connect();  // replays from the last event shown, then live
})();
</script>
</body>
</html>
"""#
}
