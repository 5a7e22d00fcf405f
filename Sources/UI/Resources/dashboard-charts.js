"use strict";
// Two small charts as inline SVG, drawn with DOM calls (no library, no markup strings):
// events per minute over the last hour, and drift by kind over the last hours.

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child);
  return node;
}
/** A chart frame: `role="img"` with a label saying what it shows in words. */
function chartFrame(label, width, height) {
  return svg("svg", {viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img", "aria-label": label, class: "chart-svg"});
}

// MARK: Events per minute

/** Minute (epoch ms / 60000) → events received in it, filled from the log and the stream. */
const eventMinutes = new Map();
const chartMinutes = 60;
function countEvent(receivedAt) {
  const minute = Math.floor(Date.parse(receivedAt) / 60000);
  if (!Number.isFinite(minute)) return;
  eventMinutes.set(minute, (eventMinutes.get(minute) || 0) + 1);
}
function renderEventChart() {
  const last = Math.floor(now() / 60000);
  for (const minute of eventMinutes.keys()) if (minute <= last - chartMinutes - 5) eventMinutes.delete(minute);
  const counts = Array.from({length: chartMinutes}, (_, i) => eventMinutes.get(last - chartMinutes + 1 + i) || 0);
  const peak = Math.max(1, ...counts), total = counts.reduce((a, b) => a + b, 0);
  const width = 600, height = 80, bar = width / chartMinutes;
  const frame = chartFrame(`Events per minute over the last hour: ${total} in all, at most ${peak} in one minute`, width, height);
  counts.forEach((count, i) => {
    if (!count) return;
    const h = Math.max(1.5, (count / peak) * (height - 4));
    frame.append(svg("rect", {x: (i * bar + 0.5).toFixed(1), y: (height - h).toFixed(1), width: (bar - 1).toFixed(1), height: h.toFixed(1), class: "bar"},
      svg("title", {}, `${count} events, ${chartMinutes - 1 - i} min ago`)));
  });
  fill($("events-chart"), frame);
  fill($("events-chart-caption"), `events per minute, last hour · peak ${peak} · ${total} in all`);
}

// MARK: Drift over time

const driftKinds = ["missing", "mismatch", "stale"];
/** `GET /api/drift/history`: samples taken by the UI each time the counts changed. */
function renderDriftChart(history) {
  const width = 600, height = 80, hours = 6;
  const end = now(), start = end - hours * 3600 * 1000;
  const samples = (history?.samples || []).map((s) => ({t: Date.parse(s.at), byKind: s.byKind || {}})).filter((s) => Number.isFinite(s.t));
  const total = (s) => driftKinds.reduce((sum, kind) => sum + (s.byKind[kind] || 0), 0);
  const peak = Math.max(1, ...samples.map(total));
  const x = (t) => ((Math.max(t, start) - start) / (end - start)) * width;
  const y = (v) => height - 2 - (v / peak) * (height - 6);
  const frame = chartFrame(`Drift over the last ${hours} hours: now ${samples.length ? total(samples[samples.length - 1]) : 0}, at most ${peak}`, width, height);
  // One stacked step area per kind: each kind's band sits on the kinds before it.
  for (let k = driftKinds.length - 1; k >= 0; k--) {
    const upTo = (s) => driftKinds.slice(0, k + 1).reduce((sum, kind) => sum + (s.byKind[kind] || 0), 0);
    let path = `M0 ${height}`, level = height;
    for (const s of samples) {
      const px = x(s.t).toFixed(1);
      path += ` L${px} ${level.toFixed(1)}`;
      level = y(upTo(s));
      path += ` L${px} ${level.toFixed(1)}`;
    }
    path += ` L${width} ${level.toFixed(1)} L${width} ${height} Z`;
    frame.append(svg("path", {d: path, class: "area " + driftKinds[k]}));
  }
  const since = history?.since ? Date.parse(history.since) : end;
  if (since > start) {  // before the UI started counting: hatched, not zero
    frame.append(svg("rect", {x: 0, y: 0, width: x(since).toFixed(1), height, class: "unknown"}, svg("title", {}, "before the UI started counting")));
  }
  fill($("drift-chart"), frame);
  const last = samples[samples.length - 1];
  fill($("drift-chart-caption"), `drift, last ${hours} h · now `,
    ...driftKinds.map((kind) => el("span", {class: "legend " + kind}, `${kind} ${last?.byKind[kind] || 0} `)));
}
