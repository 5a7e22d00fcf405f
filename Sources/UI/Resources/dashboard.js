"use strict";
const $ = (id) => document.getElementById(id);
const text = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const show = (value) => typeof value === "string" ? value : JSON.stringify(value);
const timers = {};
function later(name, fn, ms) { clearTimeout(timers[name]); timers[name] = setTimeout(fn, ms); }
async function getJSON(path) { const r = await fetch(path, {cache: "no-store"}); if (!r.ok) throw new Error(path + ": " + r.status); return r.json(); }

function renderSummary(s) {
  $("seq").textContent = s.world.seq;
  renderNodes(s.nodes);
  $("services").innerHTML = Object.entries(s.services).map(([name, v]) => `<span class="badge ${v.up ? "up" : "down"}" data-service="${text(name)}">${text(name)}</span>`).join(" ");
}
function ago(iso) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 120 ? `${Math.round(s)} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}
function renderNodes(nodes) {
  $("nodes").tBodies[0].innerHTML = Object.keys(nodes || {}).sort().map((name) => {
    const n = nodes[name], f = n.facts || {}, a = n.agent || {}, d = n.delivery;
    const disks = Object.entries(f.disks || {}).map(([m, v]) => `${text(m)} ${text(v.usedPercent)}%`).join(", ");
    const usage = [f.loadPercent != null ? `load ${text(f.loadPercent)}%` : "", f.memory ? `mem ${text(f.memory.usedPercent)}%` : "", disks].filter(Boolean).join(" · ");
    const agent = [a.transport ? text(a.transport) : "", a.spooled ? `${text(a.spooled)} spooled` : (a.transport ? "spool empty" : ""), a.gaps ? `<span class="stale">${text(a.gaps)} gaps</span>` : "", d ? `last post ${ago(d.lastPost)}` : ""].filter(Boolean).join(" · ");
    return `<tr data-node="${text(name)}"><td><code>${text(name)}</code></td><td class="${n.stale ? "stale" : ""}">${n.stale ? "STALE · " : ""}${text(ago(n.lastSeen))}</td><td>${text([f.os, f.kernel, f.cpus ? f.cpus + " CPUs" : "", f.docker ? "Docker " + f.docker : ""].filter(Boolean).join(" · "))}</td><td>${usage}</td><td>${agent || '<span class="muted">no agent</span>'}</td></tr>`;
  }).join("") || `<tr><td colspan="5" class="muted">no nodes reported yet</td></tr>`;
}
function renderDrift(d) {
  $("revision").textContent = d.desiredRevision || "–";
  $("drift").tBodies[0].innerHTML = (d.drift || []).map((x) => `<tr><td><code>${text(x.resource)}</code></td><td class="${text(x.kind)}">${text(x.kind)}</td><td>${(x.fields || []).map((f) => `${text(f.field)}: ${text(show(f.desired))} → ${text(show(f.observed))}`).join("<br>")}</td></tr>`).join("") || `<tr><td colspan="3" class="muted">no drift</td></tr>`;
}
async function loadWorld() {
  // /api/world comes in pages: follow the Link header to the end.
  const resources = [];
  for (let path = "/api/world"; path; ) {
    const r = await fetch(path, {cache: "no-store"});
    if (!r.ok) throw new Error(path + ": " + r.status);
    resources.push(...await r.json());
    path = /<([^>]+)>;\s*rel="next"/.exec(r.headers.get("Link") || "")?.[1];
  }
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
  row.textContent = `${e.seq} ${e.receivedat ?? e.receivedAt} ${e.type} ${e.subject || ""} ${e.source}`;
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
  $("who").textContent = r.ok ? "signed in" : r.status === 429 ? "too many wrong tokens: wait and try again" : "wrong token";
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
