// cachearr dashboard: polls /api/stats, derives rates from the counters, draws with uPlot.
// `?refresh=MS` changes the poll interval (100 ms to 1 min; default 2 s).
"use strict";

const POLL_MS = (() => {
  const asked = Number.parseInt(new URLSearchParams(location.search).get("refresh"), 10);
  return Number.isFinite(asked) ? Math.min(Math.max(asked, 100), 60000) : 2000;
})();
const KEEP = 300; // points per series
const CHART_HEIGHT = 220;

const series = { t: [], without: [], toServer: [], own: [], rate: [] };
let previous = null;
let pollTimer = null;

const $ = id => document.getElementById(id);
function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}
function fmtInt(n) { return Number(n).toLocaleString("en-US"); }
function pct(x) { return (100 * x).toFixed(1) + " %"; }
function fmtUptime(secs) {
  if (secs < 60) return "up " + secs + " s";
  if (secs < 3600) return "up " + Math.floor(secs / 60) + " min";
  const h = Math.floor(secs / 3600);
  return h < 48 ? "up " + h + " h " + Math.floor((secs % 3600) / 60) + " min" : "up " + Math.floor(h / 24) + " d";
}
function hitRate(c) {
  const served = c.hits + c.stale + c.coalesced;
  const total = served + c.misses;
  return total === 0 ? 0 : served / total;
}
function sumUpstream(s, field) { return s.upstreams.reduce((a, u) => a + u[field], 0); }
// A rate a minute, or a dash when there is none yet (or the figure is absent).
function perMinute(x) { return x == null ? "—" : x.toFixed(1); }
const NO_CLIENTS = { requests: 0, answered_without_server: 0, hits: 0, coalesced: 0, from_copy: 0, from_index: 0, to_server: 0, rate: 0 };
function headline(s) {
  const h = s.headline || {};
  return { clients: h.clients || NO_CLIENTS, own: h.own || {} };
}
// The change feed's background budget by kind, when the gateway reports one (`feed[].background`:
// the last whole minute's requests by kind, `all` their sum).
const BUDGET_KINDS = [["signal", "signal polls"], ["probes", "probes"], ["samples", "samples"], ["other", "crawl, prefetch, batches"]];
function budgetText(feeds) {
  const parts = [];
  for (const f of feeds) {
    const minute = f.background && f.background.last_minute;
    if (!minute || typeof minute !== "object") continue;
    const kinds = BUDGET_KINDS.filter(([k]) => typeof minute[k] === "number").map(([k, label]) => label + " " + fmtInt(minute[k]));
    if (kinds.length) parts.push((feeds.length > 1 ? f.upstream + ": " : "") + kinds.join(", "));
  }
  return parts.length ? parts.join("; ") : "—";
}
// Which gateway does each upstream's background work, when gateways sharing a Redis report their
// roles (`background[]`: `upstream`, `role`).
function roleText(s) {
  const roles = (Array.isArray(s.background) ? s.background : [])
    .filter(r => r && r.role != null)
    .map(r => (s.upstreams.length > 1 ? r.upstream + ": " : "") + r.role);
  return roles.length ? roles.join(", ") : "—";
}
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c])); }

function makeChart(el, labels, colors, yRange) {
  const axis = { stroke: "#8a96a3", grid: { stroke: "#222c37" }, ticks: { stroke: "#222c37" } };
  const opts = {
    width: el.clientWidth || 420, height: CHART_HEIGHT,
    scales: { x: { time: true }, y: yRange ? { range: yRange } : {} },
    axes: [axis, axis],
    legend: { live: false },
    series: [{}].concat(labels.map((label, i) => ({ label, stroke: colors[i], width: 2, spanGaps: true }))),
  };
  return new uPlot(opts, [[]].concat(labels.map(() => [])), el);
}

// Client requests a second answered without the server and sent to it, beside cachearr's own
// server requests a second.
const rpsChart = makeChart($("chart-rps"),
  ["clients: answered without the server", "clients: sent to the server", "cachearr's own server requests"],
  ["#3fb950", "#f85149", "#58a6ff"]);
const hitChart = makeChart($("chart-hit"), ["answered without the server"], ["#e5a00d"], [0, 100]);

function table(el, head, rows, totalRow) {
  const tr = (cells, tag, cls) => "<tr" + (cls ? ' class="' + cls + '"' : "") + ">" +
    cells.map(c => "<" + tag + ">" + c + "</" + tag + ">").join("") + "</tr>";
  el.innerHTML = tr(head, "th") + rows.map(r => tr(r, "td")).join("") +
    (totalRow ? tr(totalRow, "td", "total") : "");
}

function circuit(state) {
  const cls = state === "closed" ? "ok" : state === "open" ? "bad" : "warn";
  return '<span class="pill ' + cls + '">' + esc(state) + "</span>";
}

function render(s) {
  const now = Date.now() / 1000;
  $("uptime").textContent = fmtUptime(s.uptime_secs);
  const { clients, own } = headline(s);
  $("k-client-requests").textContent = fmtInt(clients.requests);
  $("k-without").textContent = clients.requests ? pct(clients.rate) : "—";
  $("k-without").title = fmtInt(clients.answered_without_server) + " of " + fmtInt(clients.requests);
  $("k-without-split").textContent = [clients.hits, clients.coalesced, clients.from_copy, clients.from_index].map(fmtInt).join(" / ");
  $("k-to-server").textContent = fmtInt(clients.to_server);
  $("k-rpm-clients").textContent = perMinute(own.client_server_requests_per_minute);
  $("k-rpm-own").textContent = perMinute(own.server_requests_per_minute);
  $("k-own-server").textContent = own.server_requests == null ? "—" : fmtInt(own.server_requests);
  $("k-background").textContent = own.background_requests == null ? "—" : fmtInt(own.background_requests);
  $("k-own-reads").textContent = own.reads == null ? "—" : fmtInt(own.reads);
  $("k-budget").textContent = budgetText(s.feed || []);
  $("k-role").textContent = roleText(s);
  $("k-hitrate").textContent = pct(hitRate(s.total));
  $("k-hits").textContent = fmtInt(s.total.hits);
  $("k-misses").textContent = fmtInt(s.total.misses);
  $("k-upstream").textContent = fmtInt(sumUpstream(s, "requests_made"));
  $("k-entries").textContent = fmtInt(s.total.entries);
  $("k-bytes").textContent = fmtBytes(s.total.bytes);
  $("warnings").innerHTML = s.warnings.map(w => "<li>" + esc(w) + "</li>").join("");
  $("warnings-panel").hidden = s.warnings.length === 0;
  const share = c => {
    const part = n => c.requests > 0 ? (100 * n / c.requests).toFixed(1) + "%" : "0%";
    return '<span class="share" title="from cache / from index / to server">' +
      '<i class="c" style="width:' + part(c.from_cache) + '"></i>' +
      '<i class="x" style="width:' + part(c.from_index) + '"></i>' +
      '<i class="s" style="width:' + part(c.to_server) + '"></i></span>';
  };
  table($("clients"),
    ["client", "upstream", "requests", "from cache", "from index", "to server", "share", "server time saved"],
    (s.clients || []).map(c => [esc(c.client), esc(c.upstream), fmtInt(c.requests), fmtInt(c.from_cache),
      fmtInt(c.from_index), fmtInt(c.to_server), share(c),
      c.server_secs_saved_estimate < 10 ? c.server_secs_saved_estimate.toFixed(1) + " s" : fmtSecs(c.server_secs_saved_estimate)]));

  if (previous) {
    const dt = Math.max(now - previous.at, 0.001);
    const rate = (a, b) => Math.max(a - b, 0) / dt;
    const lookups = c => c.hits + c.misses + c.stale + c.coalesced;
    $("k-rps").textContent = rate(lookups(s.total), lookups(previous.s.total)).toFixed(1);
    const was = headline(previous.s);
    const without = rate(clients.answered_without_server, was.clients.answered_without_server);
    const toServer = rate(clients.to_server, was.clients.to_server);
    const ownServer = rate(own.server_requests || 0, was.own.server_requests || 0);
    series.t.push(now); series.without.push(without); series.toServer.push(toServer); series.own.push(ownServer);
    const asked = without + toServer;
    series.rate.push(asked === 0 ? null : 100 * without / asked);
    for (const k in series) if (series[k].length > KEEP) series[k].shift();
    rpsChart.setData([series.t, series.without, series.toServer, series.own]);
    hitChart.setData([series.t, series.rate]);
  }
  previous = { at: now, s };

  const counterRow = (name, c) => [esc(name), fmtInt(c.hits), fmtInt(c.misses), fmtInt(c.stale),
    fmtInt(c.coalesced), fmtInt(c.revalidated_304 || 0), pct(hitRate(c)), fmtInt(c.entries), fmtBytes(c.bytes)];
  const head = ["", "hits", "misses", "stale", "coalesced", "304 refreshes", "hit rate", "entries", "bytes"];
  // Classes nobody asked for yet are noise: show the ones with traffic or entries.
  const used = Object.entries(s.classes).filter(([, c]) => c.hits + c.misses + c.stale + c.coalesced + c.entries > 0);
  table($("classes"), head, used.map(([k, c]) => counterRow(k, c)), counterRow("total", s.total));
  table($("tiers"), head, Object.entries(s.tiers).map(([k, c]) => counterRow(k, c)));
  table($("upstreams"),
    ["upstream", "profile", "circuit", "client requests", "answered without the server",
      "server requests a minute: clients / cachearr's own", "in flight", "events socket", "events", "queued / request"],
    s.upstreams.map(u => [esc(u.name), esc(u.profile), circuit(u.circuit),
      fmtInt((u.clients || NO_CLIENTS).requests),
      (u.clients && u.clients.requests ? pct(u.clients.rate) : "—"),
      u.own ? perMinute(u.own.client_server_requests_per_minute) + " / " + perMinute(u.own.server_requests_per_minute) : "—",
      fmtInt(u.in_flight),
      !u.events_subscribed ? '<span class="dim" title="no owner token: change events arrive by webhook only">webhooks only</span>'
        : u.events_connected ? '<span class="ok">connected</span>' : '<span class="bad">reconnecting</span>',
      fmtInt(u.events),
      '<span title="mean wait for the guard\'s budget (rate_per_sec, max_concurrent) before a client request was sent">'
        + (u.queued_ms_per_request || 0).toFixed(1) + " ms</span>"]));
  const redis = s.redis;
  $("redis-panel").hidden = !redis;
  if (redis) {
    const cls = redis.state === "up" ? "ok" : redis.state === "degraded" ? "bad" : "warn";
    table($("redis"), ["state", "hits", "misses", "writes", "errors", "breaker trips", "shared loads", "events in"],
      [['<span class="pill ' + cls + '">' + esc(redis.state) + "</span>", fmtInt(redis.hits), fmtInt(redis.misses),
        fmtInt(redis.writes), fmtInt(redis.errors), fmtInt(redis.breaker_trips), fmtInt(redis.waits_filled),
        fmtInt(redis.events_received)]]);
    $("redis-error").hidden = !redis.last_error;
    $("redis-error").textContent = redis.last_error ? "last error: " + redis.last_error : "";
  }
  renderIndex(s.index || [], indexDetail);
  renderFeed(s.feed || []);
}

// Per upstream and class: whether answers follow the feed, and what sampling measured.
function renderFeed(feeds) {
  const shown = feeds.filter(f => f.enabled);
  $("feed-panel").hidden = shown.length === 0;
  const rows = [];
  for (const f of shown) {
    for (const c of f.classes) {
      const state = !f.healthy ? '<span class="dim" title="' + esc(f.reason || "") + '">TTL (feed not healthy)</span>'
        : c.trusted ? '<span class="ok">feed</span>' : '<span class="bad">TTL (stale sample)</span>';
      rows.push([esc(f.upstream), esc(c.class), state, esc(promise(f, c)), fmtInt(c.samples), fmtInt(c.mismatches),
        c.mismatches ? fmtSecs(c.stale_age_mean_secs) + " / " + fmtSecs(c.stale_age_max_secs) : ""]);
    }
  }
  table($("feed"), ["upstream", "class", "validity", "worst-case staleness", "samples", "stale found", "stale age mean / max"], rows);
}

// The worst-case staleness stated now: announced changes and the incremental pass while the
// feed vouches for the class, else the class TTL.
function promise(f, c) {
  const b = f.bounds;
  if (!b) return "";
  if (!(f.healthy && c.trusted)) return fmtSecs(b.down_secs[c.class] || 0) + " (TTL)";
  const unannounced = b.unannounced_secs == null ? "sampling" : fmtSecs(b.unannounced_secs);
  const plays = b.play_state_secs == null ? "" : ", play state " + fmtSecs(b.play_state_secs);
  return fmtSecs(b.announced_secs) + " announced, " + unannounced + " not" + plays;
}

// `/api/index` has what `/api/stats` summarises: progress, ETA and the latest error.
let indexDetail = new Map();

function fmtSecs(secs) {
  return secs < 90 ? Math.round(secs) + " s" : secs < 5400 ? Math.round(secs / 60) + " min" : (secs / 3600).toFixed(1) + " h";
}

function renderIndex(summaries, detail) {
  $("index-panel").hidden = summaries.length === 0;
  const stateCell = i => {
    const cls = i.state === "ready" ? "ok" : i.state === "failed" ? "bad" : i.state === "building" ? "warn" : "dim";
    return '<span class="' + cls + '">' + esc(i.state) + "</span>";
  };
  const progressCell = d => {
    const p = d && d.progress;
    if (!p) return "";
    let text = fmtInt(p.items) + (p.total ? " / " + fmtInt(p.total) : "");
    if (p.percent != null) text += " (" + p.percent.toFixed(0) + " %)";
    if (p.eta_secs != null) text += ", ETA " + fmtSecs(p.eta_secs);
    return esc(text);
  };
  table($("index"), ["upstream", "state", "items", "progress", "searches sent to the server", "last error"],
    summaries.map(i => {
      const d = detail.get(i.upstream);
      const error = d && d.errors && d.errors.length ? d.errors[d.errors.length - 1] : "";
      return [esc(i.upstream), stateCell(i), fmtInt(i.items), progressCell(d), fmtInt(i.searches_to_server),
        '<span class="bad index-error">' + esc(error) + "</span>"];
    }));
}

async function fetchIndexDetail() {
  try {
    const response = await fetch("/api/index", { cache: "no-store" });
    if (!response.ok) return;
    const report = await response.json();
    indexDetail = new Map((report.upstreams || []).map(u => [u.upstream, u]));
  } catch (e) {
    // The summary in /api/stats is still shown.
  }
}

// The webhook URLs, once (they only change when the secret file is replaced). Needs the admin
// token when one is configured; the panel stays hidden otherwise.
async function fetchWebhooks() {
  try {
    const response = await fetch("/api/webhooks", { cache: "no-store" });
    if (!response.ok) return;
    const info = await response.json();
    if (!info.secret) return;
    $("webhooks").innerHTML = "<tr><th>upstream</th><th>URL</th></tr>" + (info.upstreams || []).map(u =>
      "<tr><td>" + esc(u.upstream) + " (" + esc(u.profile) + ")</td><td><code>" +
      esc(location.origin + u.path) + "</code></td></tr>").join("");
    $("webhooks-panel").hidden = false;
  } catch (e) {
    // Not shown.
  }
}

async function poll() {
  clearTimeout(pollTimer);
  try {
    const response = await fetch("/api/stats", { cache: "no-store" });
    if (response.ok) {
      const s = await response.json();
      if ((s.index || []).length) await fetchIndexDetail();
      render(s);
    }
  } catch (e) {
    $("uptime").textContent = "cannot reach cachearr: " + e;
  }
  pollTimer = setTimeout(poll, POLL_MS);
}

// Clearing needs the admin token when one is configured; it is sent once as a bearer token and
// kept only in the input field (never stored by the page).
$("admin").addEventListener("submit", async event => {
  event.preventDefault();
  const status = $("clear-status");
  const token = $("admin-token").value.trim();
  status.className = "dim";
  status.textContent = "clearing…";
  try {
    // The marker header: the admin API refuses changes without it (a cross-site form could not
    // send it).
    const headers = { "X-Cachearr-Request": "1" };
    if (token) headers.Authorization = "Bearer " + token;
    const response = await fetch("/api/clear", { method: "POST", headers, cache: "no-store" });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      status.className = "ok";
      status.textContent = "cache cleared";
    } else {
      status.className = "bad";
      status.textContent = body.error || "clear failed: HTTP " + response.status;
      if (response.status === 401) $("admin-token").focus();
    }
  } catch (e) {
    status.className = "bad";
    status.textContent = "clear failed: " + e;
  }
  fetchWebhooks();
poll();
});

window.addEventListener("resize", () => {
  for (const [chart, id] of [[rpsChart, "chart-rps"], [hitChart, "chart-hit"]]) {
    chart.setSize({ width: $(id).clientWidth, height: CHART_HEIGHT });
  }
});
poll();
