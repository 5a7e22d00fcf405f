"use strict";
// The overview's panels: the top bar, "Needs you" (pending proposals), in progress, the nodes
// with their containers, and the drift list. Each renders from the page's state `S`
// (dashboard.js) into its own container, replacing what it drew before.

const driftOrder = {missing: 0, mismatch: 1, stale: 2, unmanaged: 3};
const actionHref = (id) => "#/actions/" + encodeURIComponent(id);
const hostOf = (name) => String(name).split("/")[0];
const shortName = (name) => String(name).split("/").slice(1).join("/") || String(name);

/** An argv as a shell would need it typed, for reading (the executor never uses a shell). */
function commandLine(argv) {
  return (argv || []).map((arg) => /^[A-Za-z0-9_@%+=:,./-]+$/.test(String(arg)) ? String(arg) : `'${String(arg).replace(/'/g, `'\\''`)}'`).join(" ");
}

// MARK: Top bar

function renderTopBar() {
  const s = S.summary;
  if (!s) return;
  const chips = Object.entries(s.services || {}).sort().map(([name, v]) =>
    el("li", {class: "chip " + (v.up ? "ok" : "bad"), dataset: {service: name}},
      el("span", {class: "dot", "aria-hidden": "true"}), name, " ", el("span", {class: "sr"}, v.up ? "up" : "down"), " ",
      v.heartbeatAt ? ago(v.heartbeatAt) : el("span", {class: "muted"}, "no heartbeat")));
  for (const [name, n] of Object.entries(s.nodes || {}).sort()) {
    if (!n.agent) continue;  // a node reported by something other than its agent
    chips.push(el("li", {class: "chip " + (n.stale ? "bad" : "ok"), dataset: {agent: name}},
      el("span", {class: "dot", "aria-hidden": "true"}), "agent " + name, " ", el("span", {class: "sr"}, n.stale ? "stale" : "up"), " ", ago(n.lastSeen)));
  }
  fill($("services"), chips);

  const nodes = Object.values(s.nodes || {}), stale = nodes.filter((n) => n.stale).length;
  const byKind = s.drift?.byKind || {};
  fill($("counts"),
    el("a", {href: "#needs", class: "count" + (s.actions?.pending ? " attention" : ""), dataset: {count: "pending"}},
      el("strong", {}, String(s.actions?.pending || 0)), " pending"),
    el("a", {href: "#drift-section", class: "count", dataset: {count: "drift"}}, "drift ",
      ...["missing", "mismatch", "stale", "unmanaged"].map((kind) =>
        el("span", {class: "tally " + kind + (byKind[kind] ? "" : " zero"), title: kind}, `${byKind[kind] || 0} ${kind}`))),
    el("a", {href: "#nodes-section", class: "count", dataset: {count: "nodes"}},
      el("strong", {}, String(nodes.length - stale)), " up", stale ? el("span", {class: "tally stale"}, ` · ${stale} stale`) : ""));

  const ingest = s.ingest;
  const banner = $("banner");
  if (ingest?.paused) {
    const space = ingest.freeMB != null ? ` — ${ingest.freeMB} MB free, ingest resumes above ${ingest.minFreeMB} MB` : "";
    fill(banner, el("strong", {}, "Ingest paused: "), `${ingest.reason || "no reason given"}${space}. New events wait in the inbox.`);
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

// MARK: Needs you

/** Desired vs observed per field; an object compares on the keys the spec names (SPEC §5), so
 * each of those keys gets its own row. */
function diffRows(fields) {
  const rows = [];
  for (const f of fields || []) {
    const nested = f.desired && typeof f.desired === "object" && !Array.isArray(f.desired);
    const pairs = nested ? Object.keys(f.desired).map((key) => [`${f.field}.${key}`, f.desired[key], f.observed?.[key]]) : [[f.field, f.desired, f.observed]];
    for (const [field, desired, observed] of pairs) {
      const changed = JSON.stringify(desired) !== JSON.stringify(observed);
      rows.push(el("tr", {class: changed ? "changed" : ""},
        el("th", {scope: "row"}, changed ? el("span", {class: "mark", title: "differs"}, "≠ ") : "", field),
        el("td", {}, el("code", {}, show(desired))), el("td", {}, el("code", {}, showObserved(observed)))));
    }
  }
  return rows;
}
function diffTable(action) {
  const fields = action.drift?.fields || [];
  if (!fields.length) {
    return el("p", {class: "diff-note"}, action.drift?.kind === "missing" ? "Not in the world at all: it is desired but nothing reports it." : `Drift: ${action.drift?.kind || "unknown"}.`);
  }
  return el("table", {class: "diff"},
    el("thead", {}, el("tr", {}, el("th", {scope: "col"}, "field"), el("th", {scope: "col"}, "desired"), el("th", {scope: "col"}, "observed"))),
    el("tbody", {}, diffRows(fields)));
}
/** What else the world says of the resource now (image, health…): context for the decision. */
function observedContext(resource) {
  const now = S.world.get(resource);
  if (!now?.observed) return null;
  const parts = Object.entries(now.observed).filter(([, v]) => typeof v !== "object" || v === null).slice(0, 6);
  if (!parts.length) return null;
  return el("p", {class: "context muted"}, "observed now: ", parts.map(([k, v]) => `${k} ${show(v)}`).join(" · "), " · ", ago(now.lastSeen, "seen "));
}
function pendingCard(a, index) {
  const title = `${a.action} on ${a.resource}`;
  return el("article", {class: "card pending", tabindex: "-1", dataset: {id: a.id}, "aria-label": title},
    el("header", {},
      el("h3", {}, el("a", {href: actionHref(a.id)}, a.action), " ", el("code", {class: "resource"}, a.resource)),
      el("span", {class: "badge " + (a.drift?.kind || "")}, a.drift?.kind || "drift")),
    diffTable(a),
    observedContext(a.resource),
    el("div", {class: "command"}, el("span", {class: "label"}, "will run"), el("code", {}, commandLine(a.preview) || "(no preview)")),
    el("p", {class: "meta"},
      "revision ", el("code", {}, a.desiredRevision || "–"), " · ", ago(a.proposedAt, "proposed "),
      " · attempt ", String(a.attempt ?? 1), a.args?.host ? ` · on ${a.args.host}` : ""),
    el("div", {class: "decide"},
      el("button", {type: "button", class: "approve", dataset: {id: a.id}, "aria-label": `Approve ${title}`, "aria-keyshortcuts": index === 0 ? "a" : null}, "Approve"),
      el("button", {type: "button", class: "reject", dataset: {id: a.id}, "aria-label": `Reject ${title}`, "aria-keyshortcuts": index === 0 ? "r" : null}, "Reject")));
}
function renderPending() {
  const pending = S.actions.filter((a) => a.state === "pending").sort((x, y) => String(x.proposedAt).localeCompare(String(y.proposedAt)));
  $("needs-count").textContent = pending.length ? String(pending.length) : "";
  const previous = new Map([...$("pending").querySelectorAll(".card.pending")].map((card) => [card.dataset.id, card]));
  const cards = pending.map((a, index) => {
    const now = S.world.get(a.resource);
    const signature = JSON.stringify([a, index, now?.observed, now?.lastSeen]);
    const card = previous.get(a.id);
    if (card && card.dataset.signature === signature) return card;
    const fresh = pendingCard(a, index);
    fresh.dataset.signature = signature;
    if (card?.contains(document.activeElement)) queueMicrotask(() => fresh.focus());
    return fresh;
  });
  // Only what changed is touched: an unchanged card keeps its element (and the button the
  // operator is pressing); a replaced card that held the focus passes it on.
  const list = $("pending");
  if (!pending.length) { fill(list, el("p", {class: "calm"}, "Nothing needs you. Proposals the supervisor makes appear here.")); }
  else if (cards.length !== list.children.length || cards.some((card, i) => list.children[i] !== card)) fill(list, cards);
  const active = S.actions.filter((a) => a.state === "approved" || a.state === "running");
  $("active-wrap").hidden = !active.length;
  fill($("active"), active.map((a) => el("li", {},
    el("span", {class: "badge " + a.state}, a.state), " ", el("a", {href: actionHref(a.id)}, a.action), " ", el("code", {}, a.resource), " ",
    a.result?.startedAt ? ago(a.result.startedAt, "started ") : "")));
}

// MARK: Nodes

function containerState(observed) {
  const state = String(observed?.state ?? "unknown"), health = observed?.health;
  if (health === "unhealthy" || ["exited", "dead", "removing"].includes(state)) return "bad";
  if (health === "starting" || ["restarting", "paused", "created"].includes(state)) return "warn";
  return state === "running" ? "ok" : "neutral";
}
function driftBadges(entries) {
  return (entries || []).map((d) => el("span", {class: "badge " + d.kind + (d.flapping ? " flapping" : "")}, d.flapping ? `${d.kind} · flapping` : d.kind));
}
function resourceChip(key, resource, drift) {
  const o = resource?.observed || {};
  return el("li", {class: "chip resource " + (resource ? containerState(o) : "bad"), dataset: {resource: key}},
    el("span", {class: "name"}, shortName(key.slice(key.indexOf("/") + 1))),
    el("span", {class: "state"}, resource ? show(o.state ?? "seen") : "missing"),
    o.health != null ? el("span", {class: "health"}, show(o.health)) : null,
    o.image != null ? el("span", {class: "image"}, show(o.image)) : null,
    driftBadges(resource ? drift : drift.filter((d) => d.kind !== "missing")));  // the state already says missing
}
function renderNodes() {
  const driftBy = new Map();
  for (const d of S.drift.drift || []) (driftBy.get(d.resource) || driftBy.set(d.resource, []).get(d.resource)).push(d);
  const hosts = new Map();
  const host = (name) => hosts.get(name) || hosts.set(name, {resources: [], unmanaged: []}).get(name);
  for (const [key, r] of S.world) {
    if (r.kind === "action") continue;
    if (r.kind === "node") { host(r.name).node = r; continue; }
    const entries = driftBy.get(key) || [];
    (entries.some((d) => d.kind === "unmanaged") ? host(hostOf(r.name)).unmanaged : host(hostOf(r.name)).resources).push([key, r, entries]);
  }
  for (const [key, entries] of driftBy) {  // desired but absent: a chip that says so
    const slash = key.indexOf("/");
    if (S.world.has(key) || slash < 0) continue;
    const kind = key.slice(0, slash), name = key.slice(slash + 1);
    if (kind === "node") host(name);
    else host(hostOf(name)).resources.push([key, null, entries]);
  }
  const summaryNodes = S.summary?.nodes || {};
  const previous = new Map([...$("nodes").querySelectorAll(".card.node")].map((card) => [card.dataset.node, card]));
  const cards = [...hosts.keys()].sort().map((name) => {
    const h = hosts.get(name), info = summaryNodes[name];
    h.resources.sort((a, b) => (b[2].length - a[2].length) || a[0].localeCompare(b[0]));  // drifted first
    const signature = JSON.stringify([h, info, driftBy.get("node/" + name)]);
    const card = previous.get(name);
    if (card?.dataset.signature === signature) return card;  // unchanged: its element stays
    const fresh = nodeCard(name, h, info, driftBy);
    fresh.dataset.signature = signature;
    const fold = card?.querySelector("details.unmanaged");
    if (fold?.open) fresh.querySelector("details.unmanaged")?.setAttribute("open", "");  // as the operator left it
    return fresh;
  });
  const grid = $("nodes");
  if (!cards.length) fill(grid, el("p", {class: "muted"}, "No nodes reported yet."));
  else if (cards.length !== grid.children.length || cards.some((card, i) => grid.children[i] !== card)) fill(grid, cards);
}
function nodeCard(name, h, info, driftBy) {
  const facts = info?.facts || h.node?.observed || {};
  const nodeDrift = driftBy.get("node/" + name) || [];
  const status = !h.node ? (nodeDrift.some((d) => d.kind === "missing") ? ["bad", "missing"] : ["neutral", "not reported"])
    : info?.stale || nodeDrift.some((d) => d.kind === "stale") ? ["bad", "stale"] : ["ok", "up"];
  return el("article", {class: "card node", dataset: {node: name}},
    el("header", {},
      el("h3", {}, name),
      el("span", {class: "badge " + status[0]}, status[1]),
      h.node ? ago(h.node.lastSeen, "last seen ") : null),
    nodeFacts(facts),
    h.resources.length ? el("ul", {class: "chips", "aria-label": `resources on ${name}`}, h.resources.map(([key, r, entries]) => resourceChip(key, r, entries)))
      : el("p", {class: "muted"}, "no containers reported"),
    h.unmanaged.length ? el("details", {class: "unmanaged"}, el("summary", {}, `${h.unmanaged.length} unmanaged`),
      el("ul", {class: "chips"}, h.unmanaged.map(([key, r]) => resourceChip(key, r, [])))) : null);
}
function meter(label, percent) {
  if (percent == null || !Number.isFinite(Number(percent))) return null;
  const value = Math.max(0, Math.min(100, Number(percent)));
  const bar = el("span", {class: "fill" + (value >= 90 ? " bad" : value >= 75 ? " warn" : "")});
  bar.style.width = value + "%";  // CSSOM, which the page's CSP allows (no style attribute)
  return el("span", {class: "meter"}, el("span", {class: "meter-label"}, `${label} ${value}%`), el("span", {class: "track", "aria-hidden": "true"}, bar));
}
function nodeFacts(f) {
  const disks = Object.entries(f.disks || {}).map(([path, d]) => meter(`disk ${path}`, d?.usedPercent));
  const meters = [meter("load", f.loadPercent), meter("memory", f.memory?.usedPercent), ...disks].filter(Boolean);
  const agent = f.agent || {};
  const system = [f.os, f.kernel, f.cpus ? `${f.cpus} CPUs` : "", f.docker ? `Docker ${f.docker}` : "",
    agent.transport ? `agent ${agent.transport}` : "", agent.spooled ? `${agent.spooled} spooled` : "", agent.gaps ? `${agent.gaps} gaps` : ""]
    .filter(Boolean).map(show).join(" · ");
  return [meters.length ? el("div", {class: "meters"}, meters) : null, system ? el("p", {class: "system muted"}, system) : null];
}

// MARK: Drift

function waitText(wait) {
  if (!wait) return null;
  const why = {backoff: "back-off", flapping: "flapping", rejected: "rejected"}[wait.reason] || show(wait.reason);
  const due = Number.isFinite(Date.parse(wait.nextAttemptAt)) ? ago(wait.nextAttemptAt, "next attempt ") : "no new proposal until you ask";
  return el("p", {class: "wait"}, due,
    ` — ${why}`, wait.detail ? `: ${show(wait.detail)}` : "");
}
function driftItem(d) {
  const proposal = d.action ? S.actions.find((a) => a.id === d.action) : null;
  const canPropose = d.kind !== "unmanaged" && (d.wait || d.flapping || !d.action);
  return el("li", {class: "drift-item", dataset: {resource: d.resource}},
    el("div", {class: "drift-head"},
      el("code", {class: "resource"}, d.resource), " ", el("span", {class: "badge " + d.kind}, d.kind),
      d.flapping ? el("span", {class: "badge flapping"}, "flapping") : null),
    (d.fields || []).length ? el("p", {class: "fields"}, (d.fields || []).map((f) => el("span", {class: "field"},
      `${f.field}: `, el("code", {}, show(f.desired)), " → ", el("code", {class: "observed"}, showObserved(f.observed))))) : null,
    waitText(d.wait),
    el("p", {class: "drift-actions"},
      d.action ? el("a", {href: actionHref(d.action)}, proposal ? `proposal ${proposal.state}` : "proposal") : null,
      canPropose ? el("button", {type: "button", class: "propose", dataset: {resource: d.resource}}, "Propose now") : null));
}
function renderDrift() {
  const report = S.drift;
  $("revision").textContent = report.desiredRevision || "–";
  const entries = (report.drift || []).slice().sort((a, b) => (driftOrder[a.kind] ?? 9) - (driftOrder[b.kind] ?? 9) || String(a.resource).localeCompare(String(b.resource)));
  const managed = entries.filter((d) => d.kind !== "unmanaged"), unmanaged = entries.filter((d) => d.kind === "unmanaged");
  fill($("drift"),
    managed.length ? el("ul", {class: "drift-list"}, managed.map(driftItem)) : el("p", {class: "calm"}, "No drift: the world matches the desired state."),
    unmanaged.length ? el("details", {class: "unmanaged"}, el("summary", {}, `${unmanaged.length} unmanaged (reported, never acted on)`),
      el("ul", {class: "drift-list"}, unmanaged.map(driftItem))) : null,
    (report.problems || []).length ? el("details", {class: "problems"}, el("summary", {}, `${report.problems.length} inventory problems`),
      el("ul", {}, report.problems.map((p) => el("li", {}, el("code", {}, show(p.file)), ": ", show(p.reason))))) : null);
}
