"use strict";
// What happened: the history of decided actions, the event tail, and one action's detail
// (`#/actions/ID`: its lifecycle with actors, its output live while it runs, the log after).

const finished = new Set(["done", "failed", "rejected", "superseded"]);

/** The lifecycle `world/action/ID.json` keeps (SPEC §6): each step with actor and time. */
const lifecycleOf = (id) => S.world.get("action/" + id)?.lifecycle || [];
function stepOf(id, step) { return lifecycleOf(id).filter((s) => s.step === step).pop(); }

function outcome(a) {
  const verified = stepOf(a.id, "verified") ? "verified" : stepOf(a.id, "unverified") ? "unverified" : null;
  const exit = a.result?.exitCode != null ? ` (exit ${a.result.exitCode})` : "";
  const label = {done: "succeeded", failed: "failed", rejected: "rejected", superseded: "superseded"}[a.state] || a.state;
  return {label: label + exit, state: a.state, verified};
}
function finishedAt(a) {
  return a.result?.finishedAt || stepOf(a.id, a.state === "done" ? "succeeded" : a.state)?.time || a.proposedAt;
}

// MARK: History

function renderHistory() {
  const resourceFilter = $("history-resource").value.trim().toLowerCase();
  const stateFilter = $("history-state").value;
  const rows = S.actions.filter((a) => finished.has(a.state)).map((a) => ({a, o: outcome(a), at: finishedAt(a)}))
    .filter(({a, o}) => (!resourceFilter || String(a.resource).toLowerCase().includes(resourceFilter) || String(a.action).toLowerCase().includes(resourceFilter))
      && (!stateFilter || a.state === stateFilter || o.verified === stateFilter))
    .sort((x, y) => String(y.at).localeCompare(String(x.at)));
  const shown = rows.slice(0, 50);
  fill($("history"), shown.map(({a, o, at}) => {
    const approved = stepOf(a.id, "approved") || stepOf(a.id, "rejected");
    return el("li", {class: "history-row", dataset: {id: a.id, state: a.state}},
      el("span", {class: "badge " + o.state}, o.label),
      o.verified ? el("span", {class: "badge " + o.verified}, o.verified) : null,
      el("a", {href: actionHref(a.id), class: "what"}, a.action), el("code", {class: "resource"}, a.resource),
      el("span", {class: "who"}, approved ? `${approved.step} by ${approved.actor}` : a.state === "superseded" ? "by supervisor" : "not decided"),
      el("span", {class: "took"}, a.result?.durationMs != null ? duration(a.result.durationMs, true) : ""),
      ago(at));
  }));
  $("history-more").textContent = !rows.length ? (S.actions.some((a) => finished.has(a.state)) ? "Nothing matches the filter." : "No decided actions yet.")
    : rows.length > shown.length ? `${rows.length - shown.length} more — narrow the filter to see them.` : "";
}

// MARK: Events

const tailLimit = 100;
function eventMatches(e) {
  const f = (id) => $(id).value.trim().toLowerCase();
  const type = f("filter-type"), source = f("filter-source"), subject = f("filter-subject");
  if (!$("filter-heartbeats").checked && e.type === "node.heartbeat") return false;
  return (!type || String(e.type).toLowerCase().includes(type)) && (!source || String(e.source).toLowerCase().includes(source))
    && (!subject || String(e.subject ?? "").toLowerCase().includes(subject));
}
function eventRow(e) {
  const data = e.data === undefined ? "" : JSON.stringify(e.data);
  return el("li", {dataset: {seq: e.seq}},
    el("span", {class: "seq"}, String(e.seq)), ago(e.receivedat ?? e.receivedAt ?? e.time),
    el("code", {class: "type"}, show(e.type)), el("span", {class: "subject"}, show(e.subject ?? "")),
    el("span", {class: "source muted"}, show(e.source)),
    data ? el("span", {class: "data"}, data.length > 160 ? data.slice(0, 159) + "…" : data) : null);
}
function renderTail() {
  const rows = [];
  for (let i = S.events.length - 1; i >= 0 && rows.length < tailLimit; i--) if (eventMatches(S.events[i])) rows.push(eventRow(S.events[i]));
  fill($("tail"), rows);
  $("tail-empty").hidden = rows.length > 0;
}
/** One new event, live: a row on top if the filter lets it through. */
function showEvent(e) {
  if (!eventMatches(e)) return;
  const tail = $("tail");
  tail.prepend(eventRow(e));
  while (tail.children.length > tailLimit) tail.lastChild.remove();
  $("tail-empty").hidden = true;
}

// MARK: Action detail

/** Step events' data (remote address, exit code…), by seq: the lifecycle keeps only step,
 * actor and time, the event itself the rest. */
const stepData = new Map();
async function loadStepData(seq) {
  if (stepData.has(seq)) return stepData.get(seq);
  const [event] = await getJSON(`/api/events?after=${seq - 1}&limit=1`);
  const data = event && event.seq === seq ? event.data || {} : {};
  stepData.set(seq, data);
  return data;
}
function stepDetail(step, data) {
  const parts = [];
  if (data.remote) parts.push(`from ${show(data.remote)}`);
  if (data.argv) parts.push(commandLine(data.argv));
  if (data.exitCode != null) parts.push(`exit ${data.exitCode}`);
  if (data.signal) parts.push(`signal ${show(data.signal)}`);
  if (data.durationMs != null) parts.push(`took ${duration(Number(data.durationMs), true)}`);
  for (const key of ["error", "reason", "note", "detail"]) if (data[key]) parts.push(show(data[key]));
  return parts.join(" · ");
}

const detail = {id: null, state: null, logBytes: -1};
/** From the page's state, not fetched: a request for an action or log that is not there yet
 * would be a 404, which the browser reports as an error in its console. */
async function showAction(id) {
  detail.id = id;
  detail.logBytes = -1;
  await booted;
  if (detail.id !== id) return;
  const known = S.actions.find((a) => a.id === id);
  const lifecycle = lifecycleOf(id);
  const a = known || {id};
  detail.state = known?.state || lifecycle[lifecycle.length - 1]?.step || "unknown";
  $("detail-title").textContent = a.action ? `${a.action} on ${a.resource}` : `Action ${id}`;
  fill($("detail-state"), el("span", {class: "badge " + detail.state}, detail.state));
  fill($("detail-meta"),
    el("div", {class: "command"}, el("span", {class: "label"}, detail.state === "pending" ? "will run" : "command"), el("code", {}, commandLine(a.preview) || "(no preview)")),
    a.drift ? diffTable(a) : null,
    el("p", {class: "meta"}, "ID ", el("code", {}, id), " · revision ", el("code", {}, a.desiredRevision || "–"), " · attempt ", String(a.attempt ?? 1),
      a.proposedAt ? [" · ", ago(a.proposedAt, "proposed ")] : "",
      a.result?.durationMs != null ? ` · took ${duration(a.result.durationMs, true)}` : "", a.result?.error ? ` · ${show(a.result.error)}` : ""),
    detail.state === "pending" ? el("div", {class: "decide"},
      el("button", {type: "button", class: "approve", dataset: {id}}, "Approve"), el("button", {type: "button", class: "reject", dataset: {id}}, "Reject")) : null);
  renderTimeline(id, a);
  const hasLog = detail.state === "running" || a.result?.startedAt != null;
  $("output-state").textContent = detail.state === "running" ? "live" : hasLog ? "full log" : "";
  $("output").textContent = hasLog ? "" : detail.state === "pending" || detail.state === "approved" ? "(not started yet)" : "(it never ran)";
  if (hasLog) await refreshOutput();
}
function renderTimeline(id, a) {
  const lifecycle = lifecycleOf(id);
  const items = lifecycle.map((s) => {
    const info = el("span", {class: "step-detail muted"});
    if (Number.isFinite(s.seq)) loadStepData(s.seq).then((data) => { info.textContent = stepDetail(s.step, data); }).catch(() => {});
    return el("li", {class: "step " + s.step}, el("span", {class: "badge " + s.step}, s.step), " by ", el("strong", {}, show(s.actor)), " ", ago(s.time), " ", info);
  });
  if (a.result?.startedAt && !lifecycle.some((s) => s.step === "started")) items.push(el("li", {class: "step"}, "started ", ago(a.result.startedAt)));
  fill($("timeline"), items.length ? items : el("li", {class: "muted"}, "No lifecycle recorded yet."));
}
/** The log, fetched again when the stream says it grew (serialized: a burst is one refetch
 * after the one in flight). */
const refreshOutput = serialized(async () => {
  const id = detail.id;
  if (!id) return;
  const response = await fetch(`/api/actions/${encodeURIComponent(id)}/log`, {cache: "no-store"});
  if (detail.id !== id) return;
  const pre = $("output");
  if (!response.ok) { pre.textContent = response.status === 404 ? "(no output yet)" : `(the log could not be read: ${response.status})`; return; }
  const text = await response.text();
  if (text.length === detail.logBytes) return;
  const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
  detail.logBytes = text.length;
  pre.textContent = text || "(no output)";
  if (atBottom) pre.scrollTop = pre.scrollHeight;
});
