// cachearr dashboard: polls /api/stats, derives rates from the counters, draws with uPlot.
"use strict";

const POLL_MS = 2000;
const KEEP = 300; // points per series (10 minutes at 2 s)

const series = { t: [], hits: [], misses: [], stale: [], upstream: [], hitRate: [] };
let previous = null;

function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}
function fmtInt(n) { return Number(n).toLocaleString(); }
function pct(x) { return (100 * x).toFixed(1) + " %"; }
function hitRate(c) {
  const served = c.hits + c.stale + c.coalesced;
  const total = served + c.misses;
  return total === 0 ? 0 : served / total;
}
function sumUpstream(s, field) { return s.upstreams.reduce((a, u) => a + u[field], 0); }

function makeChart(el, labels, colors) {
  const opts = {
    width: el.clientWidth || 420, height: 220,
    scales: { x: { time: true } },
    axes: [{ stroke: "#8a96a3", grid: { stroke: "#222c37" } }, { stroke: "#8a96a3", grid: { stroke: "#222c37" } }],
    series: [{}].concat(labels.map((label, i) => ({ label, stroke: colors[i], width: 2 }))),
  };
  return new uPlot(opts, [[]].concat(labels.map(() => [])), el);
}

const rpsChart = makeChart(document.getElementById("chart-rps"),
  ["hits", "misses", "stale", "upstream"], ["#3fb950", "#f85149", "#d29922", "#58a6ff"]);
const hitChart = makeChart(document.getElementById("chart-hit"), ["hit rate"], ["#e5a00d"]);

function table(el, head, rows) {
  el.innerHTML = "<tr>" + head.map(h => "<th>" + h + "</th>").join("") + "</tr>" +
    rows.map(r => "<tr>" + r.map(c => "<td>" + c + "</td>").join("") + "</tr>").join("");
}
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c])); }

function render(s) {
  const now = Date.now() / 1000;
  document.getElementById("uptime").textContent = "up " + Math.floor(s.uptime_secs / 60) + " min";
  document.getElementById("k-hitrate").textContent = pct(hitRate(s.total));
  document.getElementById("k-upstream").textContent = fmtInt(sumUpstream(s, "requests_made"));
  document.getElementById("k-saved").textContent = fmtInt(sumUpstream(s, "requests_saved"));
  document.getElementById("k-entries").textContent = fmtInt(s.total.entries);
  document.getElementById("k-bytes").textContent = fmtBytes(s.total.bytes);
  document.getElementById("warnings").innerHTML = s.warnings.map(w => "<li>" + esc(w) + "</li>").join("");

  if (previous) {
    const dt = Math.max(now - previous.at, 0.001);
    const rate = (a, b) => Math.max(a - b, 0) / dt;
    const hits = rate(s.total.hits, previous.s.total.hits);
    const misses = rate(s.total.misses, previous.s.total.misses);
    const stale = rate(s.total.stale + s.total.coalesced, previous.s.total.stale + previous.s.total.coalesced);
    const upstream = rate(sumUpstream(s, "requests_made"), sumUpstream(previous.s, "requests_made"));
    document.getElementById("k-rps").textContent = (hits + misses + stale).toFixed(1);
    series.t.push(now); series.hits.push(hits); series.misses.push(misses);
    series.stale.push(stale); series.upstream.push(upstream);
    const lookups = hits + misses + stale;
    series.hitRate.push(lookups === 0 ? null : 100 * (hits + stale) / lookups);
    for (const k in series) if (series[k].length > KEEP) series[k].shift();
    rpsChart.setData([series.t, series.hits, series.misses, series.stale, series.upstream]);
    hitChart.setData([series.t, series.hitRate]);
  }
  previous = { at: now, s };

  const counterRow = (name, c) => [esc(name), fmtInt(c.hits), fmtInt(c.misses), fmtInt(c.stale),
    fmtInt(c.coalesced), pct(hitRate(c)), fmtInt(c.entries), fmtBytes(c.bytes)];
  const head = ["", "hits", "misses", "stale", "coalesced", "hit rate", "entries", "bytes"];
  table(document.getElementById("classes"), head, Object.entries(s.classes).map(([k, c]) => counterRow(k, c)));
  table(document.getElementById("tiers"), head, Object.entries(s.tiers).map(([k, c]) => counterRow(k, c)));
  table(document.getElementById("upstreams"),
    ["upstream", "profile", "made", "saved", "in flight", "circuit", "events socket", "events"],
    s.upstreams.map(u => [esc(u.name), esc(u.profile), fmtInt(u.requests_made), fmtInt(u.requests_saved),
      fmtInt(u.in_flight), esc(u.circuit),
      u.events_connected ? '<span class="ok">connected</span>' : '<span class="bad">down</span>',
      fmtInt(u.events)]));
}

async function poll() {
  try {
    const response = await fetch("/api/stats", { cache: "no-store" });
    if (response.ok) render(await response.json());
  } catch (e) {
    document.getElementById("uptime").textContent = "cannot reach cachearr: " + e;
  }
  setTimeout(poll, POLL_MS);
}
window.addEventListener("resize", () => {
  for (const [chart, id] of [[rpsChart, "chart-rps"], [hitChart, "chart-hit"]]) {
    chart.setSize({ width: document.getElementById(id).clientWidth, height: 220 });
  }
});
poll();
