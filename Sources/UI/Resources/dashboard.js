"use strict";
// The page's state, how it is loaded and kept current from `/stream`, the session, the route
// (`#/actions/ID` or the overview), decisions and keyboard shortcuts. Loaded last.

/** Everything the panels draw from. */
const S = {
  summary: null,
  drift: {drift: []},
  /** "KIND/NAME" → the resource as `/api/world` gives it. */
  world: new Map(),
  /** Every action file, with its `state` (its folder). */
  actions: [],
  /** The newest events, oldest first, at most `keptEvents`. */
  events: [],
  shownSeq: 0,
  signedIn: false,
};
const keptEvents = 1000;

// MARK: Loading

async function loadWorld() {
  const world = new Map();
  for (let path = "/api/world"; path; ) {  // in pages: follow the Link header to the end
    const response = await fetch(path, {cache: "no-store"});
    if (!response.ok) throw new HTTPError(path, response.status, "");
    for (const r of await response.json()) world.set(r.kind + "/" + r.name, r);
    path = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("Link") || "")?.[1];
  }
  S.world = world;
  renderWorld();
}
/** Resources the log says are gone: their world file changed because it was deleted, and
 * fetching it would be a 404 (an error in the browser's console). */
const removed = new Set();
function noteRemovals(e) {
  if (e.type === "resource.removed") removed.add(e.subject);
  else if (e.type === "resource.observed" || e.type === "node.heartbeat") removed.delete(e.subject);
  else if (e.type === "resource.snapshot" && e.subject) {
    const kind = e.subject.split("/")[0], prefix = e.subject + "/";
    const kept = new Set(Object.keys(e.data?.resources || {}).map((name) => kind + "/" + name));
    for (const key of S.world.keys()) if (key.startsWith(prefix) && !kept.has(key)) removed.add(key);
    for (const key of kept) removed.delete(key);
  }
}
/** A few changed resources: fetched one by one. */
async function loadResources(keys) {
  for (const key of keys.filter((k) => removed.has(k))) S.world.delete(key);
  await Promise.all(keys.filter((k) => !removed.has(k)).map(async (key) => {
    const response = await fetch("/api/world/" + key.split("/").map(encodeURIComponent).join("/"), {cache: "no-store"});
    if (response.ok) S.world.set(key, await response.json());
    else if (response.status === 404) S.world.delete(key);
  }));
  renderWorld();
}
function renderWorld() {
  soon("nodes", renderNodes);
  soon("pending", renderPending);
  soon("history", renderHistory);
}
const loadActions = serialized(async () => {
  S.actions = await getJSON("/api/actions");
  renderPending();
  renderHistory();
  soon("drift", renderDrift);
  if (detail.id) {
    const a = S.actions.find((x) => x.id === detail.id);
    if (a && a.state !== detail.state) showAction(detail.id).catch(console.warn);
  }
});
async function loadDrift() {
  S.drift = await getJSON("/api/drift");
  renderDriftEverywhere();
}
function renderDriftEverywhere() {
  renderDrift();
  soon("nodes", renderNodes);
  soon("drift-history", () => getJSON("/api/drift/history").then(renderDriftChart).catch(console.warn), 1000);
}
function takeSummary(summary) {
  const last = summary.lastEvent ? summary.lastEvent.seq : 0;
  if (last < S.shownSeq) {  // a log this page has never seen: the runtime root was made anew
    resync("the event log started again");
    return;
  }
  S.summary = summary;
  noteServerTime(summary.generatedAt);
  renderTopBar();
  soon("nodes", renderNodes);
}
/** The newest events, for the tail and the chart: `after` the last one shown, or the end. */
async function loadTail() {
  const last = S.summary?.lastEvent?.seq || 0;
  const events = await eventsAfter(Math.max(0, last - 200), 200);
  events.forEach(addEvent);
  renderTail();
  renderEventChart();
}
async function eventsAfter(after, limit) {
  const response = await fetch(`/api/events?after=${after}&limit=${limit}`, {cache: "no-store"});
  if (response.status === 410) {  // older than the retained log
    resync("the log no longer holds what this page asked for");
    return [];
  }
  if (!response.ok) throw new HTTPError("/api/events", response.status, "");
  return response.json();
}
/** The last hour's counts for the chart, read backwards from before the tail in pages. */
async function backfillEventChart() {
  let before = S.events.length ? S.events[0].seq : S.shownSeq + 1;
  const hourAgo = now() - chartMinutes * 60000;
  for (let page = 0; page < 10 && before > 1; page++) {
    const after = Math.max(0, before - 1001);
    const events = await eventsAfter(after, before - 1 - after);
    for (const e of events) countEvent(e.receivedat ?? e.receivedAt);
    if (!events.length || Date.parse(events[0].receivedat ?? events[0].receivedAt) < hourAgo) break;
    before = events[0].seq;
  }
  renderEventChart();
}
function addEvent(e) {
  if (e.seq <= S.shownSeq) return false;
  S.shownSeq = e.seq;
  S.events.push(e);
  if (S.events.length > keptEvents) S.events.splice(0, S.events.length - keptEvents);
  countEvent(e.receivedat ?? e.receivedAt);
  return true;
}

/** Everything again, from nothing: after a resync or a log that started over. */
let resyncing = null;
function resync(why) {
  if (resyncing) return resyncing;
  console.info("resync: " + why);
  resyncing = (async () => {
    S.events = [];
    S.shownSeq = 0;
    eventMinutes.clear();
    S.summary = await getJSON("/summary");
    takeSummary(S.summary);
    await Promise.all([loadWorld(), loadDrift(), loadActions(), loadTail(), loadSession()]);
    connect();
  })().catch(console.warn).finally(() => { resyncing = null; });
  return resyncing;
}

// MARK: The stream

let source = null, connectedBefore = false, retry = null;
function connect() {
  if (source) source.close();
  clearTimeout(retry);
  const stream = new EventSource(`/stream?lastEventId=${S.shownSeq}`);
  source = stream;
  const live = (text, state) => { $("live").textContent = text; $("live").dataset.state = state; };
  stream.onopen = () => {
    live("live", "live");
    // What changed while it was away: the stream replays events and a summary, not the rest.
    if (connectedBefore) { loadWorld().catch(console.warn); loadDrift().catch(console.warn); loadActions().catch(console.warn); loadSession(); }
    connectedBefore = true;
  };
  stream.onerror = () => {
    live("reconnecting…", "down");
    if (stream.readyState === EventSource.CLOSED && source === stream) retry = setTimeout(connect, 1000);
  };
  stream.addEventListener("summary", (m) => takeSummary(JSON.parse(m.data)));
  stream.addEventListener("drift", (m) => { S.drift = JSON.parse(m.data); renderDriftEverywhere(); });
  stream.addEventListener("world", (m) => {
    const keys = JSON.parse(m.data).changed.filter((p) => p.endsWith(".json") && p !== "index.json" && !p.split("/").pop().startsWith(".")).map((p) => p.slice(0, -5));
    if (keys.length > 40) soon("world", () => loadWorld().catch(console.warn), 50);
    else if (keys.length) loadResources(keys).catch(console.warn);
  });
  stream.addEventListener("action", () => loadActions().catch(console.warn));
  stream.addEventListener("output", (m) => { if (JSON.parse(m.data).changed.includes(detail.id)) refreshOutput().catch(console.warn); });
  stream.addEventListener("event", (m) => {
    const e = JSON.parse(m.data);
    if (addEvent(e)) { noteRemovals(e); showEvent(e); soon("events-chart", renderEventChart, 5000); }
  });
  stream.addEventListener("resync", () => resync("the server asked"));
}

// MARK: Session

/** Whether the cookie still holds: asked at load, so a reload keeps the session, and after a
 * reconnect, since a UI on a new root (or a new session secret) has ended it. */
function loadSession() {
  return getJSON("/api/session").then((s) => { S.signedIn = !!s.signedIn; renderSession(); }).catch(() => renderSession());
}
function renderSession() {
  $("login").hidden = S.signedIn;
  $("signed-in").hidden = !S.signedIn;
  document.body.classList.toggle("signed-in", S.signedIn);
}
$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const response = await post("/api/session", $("token").value);
  if (response.ok) {
    $("token").value = "";
    S.signedIn = true;
    renderSession();
    notice("Signed in.");
  } else {
    notice(response.status === 429 ? "Too many wrong tokens: wait and try again." : "Wrong token.", "bad");
  }
});
$("signout").addEventListener("click", async () => {
  await post("/api/session/logout");
  S.signedIn = false;
  renderSession();
  notice("Signed out.");
});

// MARK: Decisions

/** Asks before anything runs, naming what will: the dialog resolves true on Confirm. */
function confirmDecision(a, verdict) {
  const dialog = $("confirm");
  $("confirm-title").textContent = verdict === "approve" ? `Approve ${a.action}?` : `Reject ${a.action}?`;
  $("confirm-what").textContent = verdict === "approve"
    ? `This runs on ${a.args?.host || "the executor's node"} for ${a.resource}:` : `Nothing runs; ${a.resource} stays as it is until a new proposal.`;
  $("confirm-command").textContent = commandLine(a.preview);
  $("confirm-command").hidden = verdict !== "approve";
  $("confirm-yes").textContent = verdict === "approve" ? "Run it" : "Reject";
  $("confirm-yes").className = verdict;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), {once: true});
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-yes").focus();
  });
}
async function decide(id, verdict) {
  if (!S.signedIn) {
    notice("Sign in with the operator token to approve or reject.", "bad");
    $("token").focus();
    return;
  }
  const a = S.actions.find((x) => x.id === id) || {id, action: id, resource: ""};
  if (!await confirmDecision(a, verdict)) return;
  const response = await post(`/api/actions/${encodeURIComponent(id)}/${verdict}`, undefined, {"X-Operator": "dashboard"});
  if (response.status === 401) {
    S.signedIn = false;
    renderSession();
    notice("Your session has ended: sign in again.", "bad");
  } else if (response.ok) {
    notice(verdict === "approve" ? `Approved: ${commandLine(a.preview)}` : `Rejected ${a.action}.`);
  } else {
    notice(`${verdict}: ${await reasonOf(response)}`, "bad");
  }
  loadActions().catch(console.warn);
}
async function proposeNow(resource) {
  const response = await post("/api/propose", JSON.stringify({resource}), {"Content-Type": "application/json"});
  if (response.status === 202) notice(`Asked the supervisor for a proposal for ${resource}.`);
  else notice(`Propose ${resource}: ${response.status === 401 ? "sign in first" : await reasonOf(response)}`, "bad");
}
document.addEventListener("click", (ev) => {
  const button = ev.target.closest("button[data-id], button.propose");
  if (!button) return;
  if (button.classList.contains("propose")) proposeNow(button.dataset.resource);
  else decide(button.dataset.id, button.classList.contains("approve") ? "approve" : "reject");
});

// MARK: Route and keys

function route() {
  const match = /^#\/actions\/([^/]+)$/.exec(location.hash);
  const id = match ? decodeURIComponent(match[1]) : null;
  $("overview").hidden = !!id;
  $("detail").hidden = !id;
  if (id) {
    showAction(id).catch(console.warn);
    $("detail-title").focus();
  } else {
    detail.id = null;
  }
}
window.addEventListener("hashchange", route);

/** j/k move between proposals, a/r decide the one in focus (or the first), g goes back to the
 * overview, / searches the events. */
document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || $("confirm").open || ev.target.closest("input, select, textarea")) return;
  const cards = [...document.querySelectorAll("#pending .card")];
  const current = cards.indexOf(document.activeElement?.closest(".card"));
  const focusCard = (i) => { if (cards.length) cards[Math.max(0, Math.min(cards.length - 1, i))].focus(); };
  const focused = cards[current] || cards[0];
  switch (ev.key) {
    case "j": focusCard(current + 1); break;
    case "k": focusCard(current < 0 ? 0 : current - 1); break;
    case "a": if (focused) decide(focused.dataset.id, "approve"); break;
    case "r": if (focused) decide(focused.dataset.id, "reject"); break;
    case "g": location.hash = "#/"; break;
    case "/": $("filter-type").focus(); break;
    default: return;
  }
  ev.preventDefault();
});

// MARK: Filters and theme

for (const id of ["history-resource", "history-state"]) for (const type of ["input", "change"]) $(id).addEventListener(type, renderHistory);
for (const id of ["filter-type", "filter-source", "filter-subject", "filter-heartbeats"]) for (const type of ["input", "change"]) $(id).addEventListener(type, renderTail);
function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme; else delete document.documentElement.dataset.theme;
  $("theme").textContent = theme === "dark" ? "Dark" : theme === "light" ? "Light" : "Auto";
}
$("theme").addEventListener("click", () => {
  const next = {"": "dark", dark: "light", light: ""}[localStorage.getItem("theme") || ""];
  localStorage.setItem("theme", next);
  applyTheme(next);
});
applyTheme(localStorage.getItem("theme") || "");
setInterval(() => { renderEventChart(); getJSON("/api/drift/history").then(renderDriftChart).catch(() => {}); }, 60000);

// MARK: Boot

let bootDone;
/** Resolves once the first load is in: the detail view draws from what it loaded. */
const booted = new Promise((resolve) => { bootDone = resolve; });
(async () => {
  route();
  loadSession();
  const loads = [loadDrift(), loadWorld(), loadActions()].map((p) => p.catch(console.warn));
  try {
    takeSummary(await getJSON("/summary"));
    await loadTail();
  } catch (error) { console.warn(error); }
  connect();  // replays from the last event shown, then live
  await Promise.all(loads);
  bootDone();
  document.body.dataset.ready = "true";  // for the tests and the benchmark: first load is done
  performance.mark("homelab-ready");
  backfillEventChart().catch(console.warn);
})();
