// The big screen (/console/screen): map, KPI cards, charts and the live feed.
//
// Data: /console/api/screen (KPIs, breakdowns, markers: one request in the viewer's scope),
// /console/api/geo (simplified outlines; grids by bounding box at zoom >= GRID_ZOOM),
// /api/v1/risk/heat when the risk context serves it (skipped quietly otherwise), and
// /console/events (server-sent ledger entries). No tile server: the map is the district's own
// geometry on a plain background. When the map and every chart hold data the page sets
// body[data-ready] and performance mark "screen-ready" (the tests and benchmark wait on it).
import { api, apiUrl, label, lang, requireUser, t, when, esc } from "./api.js";

const L = window.L;
const echarts = window.echarts;
const GRID_ZOOM = 14;
const REFRESH_MS = 60_000;
const STATUS_COLOUR = {
  reported: "#e8a317", checking: "#e8a317", accepted: "#e8a317", filed: "#dd6b20",
  dispatched: "#2b6cb0", returned: "#c05621", handling: "#2b6cb0",
  verifying: "#6b46c1", verified: "#2f855a",
};
const state = { charts: {}, map: null, layers: {}, data: null, ready: false, counts: {} };
window.__screen = state;

function pct(v) {
  return v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`;
}

function nameOf(row) {
  return lang === "en" ? (row.name_en || row.name) : row.name;
}

function renderKpis(kpi) {
  for (const el of document.querySelectorAll("[data-kpi]")) {
    const v = kpi[el.dataset.kpi];
    el.textContent = el.dataset.kpi.endsWith("_rate") ? pct(v) : (v ?? "—");
  }
}

function densityColour(n, max) {
  if (!n) return "#f7fafc";
  const x = Math.min(1, n / Math.max(1, max));
  const stops = ["#fef3c7", "#fcd34d", "#f59e0b", "#d97706", "#b45309"];
  return stops[Math.min(stops.length - 1, Math.floor(x * stops.length))];
}

async function drawMap() {
  const map = L.map("map", { preferCanvas: true, zoomSnap: 0.25, zoomControl: true, attributionControl: false, minZoom: 9, maxZoom: 18 });
  state.map = map;
  const renderer = L.canvas({ padding: 0.3 });
  const [streets, communities] = await Promise.all([early.streets, early.communities]);
  const density = state.data?.density || {};
  const max = Math.max(1, ...Object.values(density));
  state.layers.communities = L.geoJSON(communities, {
    renderer,
    style: (f) => ({ color: "#94a3b8", weight: 0.6, fillOpacity: 0.55, fillColor: densityColour(density[f.properties.code], max) }),
    onEachFeature: (f, layer) => layer.bindTooltip(`${esc(f.properties.name)}: ${density[f.properties.code] || 0}`, { sticky: true }),
  }).addTo(map);
  state.layers.streets = L.geoJSON(streets, {
    renderer, interactive: false,
    style: () => ({ color: "#0f2a4d", weight: 2, fill: false }),
  }).addTo(map);
  state.counts.streets = streets.features.length;
  state.counts.communities = communities.features.length;
  const bounds = state.layers.streets.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8] });
  else map.setView([31.22, 121.54], 11);
  state.layers.grids = L.layerGroup().addTo(map);
  state.layers.cases = L.layerGroup().addTo(map);
  state.layers.alerts = L.layerGroup().addTo(map);
  state.layers.risk = L.layerGroup();
  const overlays = {
    [t("screen.streets")]: state.layers.streets,
    [t("screen.density")]: state.layers.communities,
    [t("screen.grids")]: state.layers.grids,
    [t("screen.cases")]: state.layers.cases,
    [t("screen.alerts")]: state.layers.alerts,
  };
  state.layerControl = L.control.layers(null, overlays, { collapsed: true }).addTo(map);
  map.on("moveend", loadGrids);
  loadRisk();
}

let gridRequest = 0;
async function loadGrids() {
  const map = state.map;
  const layer = state.layers.grids;
  if (map.getZoom() < GRID_ZOOM) {
    layer.clearLayers();
    state.counts.grids = 0;
    return;
  }
  const b = map.getBounds();
  const ticket = ++gridRequest;
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(5)).join(",");
  const grids = await api(`/console/api/geo?level=grid&bbox=${bbox}`, { quiet: true }).catch(() => null);
  if (!grids || ticket !== gridRequest) return;
  layer.clearLayers();
  L.geoJSON(grids, {
    style: () => ({ color: "#475569", weight: 0.8, dashArray: "3 3", fill: false }),
    onEachFeature: (f, l) => l.bindTooltip(`${esc(f.properties.name)} ${esc(f.properties.code)}`),
  }).addTo(layer);
  state.counts.grids = grids.features.length;
}

function drawMarkers(data) {
  const layer = state.layers.cases;
  layer.clearLayers();
  for (const m of data.markers) {
    const c = STATUS_COLOUR[m.status] || "#4a5568";
    const marker = L.circleMarker([m.lat, m.lon], {
      radius: m.is_urgent ? 7 : 5, fillColor: c, fillOpacity: 0.9,
      color: m.is_overdue ? "#c00000" : "#1a202c", weight: m.is_overdue ? 3 : 1,
    });
    marker.bindPopup(
      `<strong>${esc(m.number)}</strong><br>${esc(m.title)}<br>${esc(label("status", m.status))}` +
      `${m.is_overdue ? ` <span class="badge overdue">${esc(t("screen.overdue"))}</span>` : ""}` +
      `${m.priority === "high" ? ` <span class="badge high-risk">${esc(t("case.high_risk"))}</span>` : ""}` +
      `<br><a href="/console/cases/${encodeURIComponent(m.id)}">${esc(t("screen.open_case"))}</a>`);
    marker.addTo(layer);
  }
  const alerts = state.layers.alerts;
  alerts.clearLayers();
  for (const a of data.alerts || []) {
    if (a.lat == null || a.lon == null) continue;
    L.circleMarker([a.lat, a.lon], { radius: 8, fillColor: "#d53f8c", fillOpacity: 0.85, color: "#702459", weight: 2 })
      .bindPopup(`<strong>${esc(t("screen.alerts"))}</strong><br>${esc(a.title || a.element || "")}` +
        (a.case_id ? `<br><a href="/console/cases/${encodeURIComponent(a.case_id)}">${esc(t("screen.open_case"))}</a>` : ""))
      .addTo(alerts);
  }
  state.counts.markers = data.markers.length;
  state.counts.alerts = (data.alerts || []).length;
}

async function loadRisk() {
  // The risk context's heat (issue 4) when present; a 404 or any failure leaves the layer out.
  if (!state.data?.features?.risk_heat) return;
  let heat;
  try {
    heat = await api("/api/v1/risk/heat", { quiet: true });
  } catch (e) {
    return;
  }
  const points = Array.isArray(heat) ? heat : (heat?.items || heat?.cells || heat?.features || []);
  const layer = state.layers.risk;
  let n = 0;
  for (const raw of points) {
    const p = raw.properties ? { ...raw.properties, lon: raw.geometry?.coordinates?.[0], lat: raw.geometry?.coordinates?.[1] } : raw;
    const lon = p.lon ?? p.centroid?.[0];
    const lat = p.lat ?? p.centroid?.[1];
    const score = Number(p.score ?? p.value ?? p.weight ?? p.risk ?? 0);
    if (lon == null || lat == null) continue;
    L.circleMarker([lat, lon], { radius: 6 + 10 * Math.min(1, score), stroke: false, fillColor: "#e53e3e", fillOpacity: 0.15 + 0.5 * Math.min(1, score) }).addTo(layer);
    n += 1;
  }
  state.counts.risk = n;
  if (n) state.layerControl.addOverlay(layer, t("screen.risk"));
}

function bar(el, rows) {
  const chart = echarts.init(el, null, { renderer: "canvas" });
  const names = rows.map(nameOf).reverse();
  chart.setOption({
    animation: false,
    textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
    grid: { left: 8, right: 28, top: 8, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: names, axisLabel: { interval: 0, width: 110, overflow: "truncate" } },
    series: [{ type: "bar", name: t("screen.count"), data: rows.map((r) => r.count).reverse(), itemStyle: { color: "#2b6cb0" }, label: { show: true, position: "right" } }],
  });
  el.setAttribute("aria-label", `${el.getAttribute("aria-label").split("：")[0]}：` + rows.slice(0, 3).map((r) => `${nameOf(r)} ${r.count}`).join("，"));
  return chart;
}

function trend(el, tr) {
  const chart = echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
    grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    xAxis: { type: "category", data: tr.days.map((d) => d.slice(5)) },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { type: "line", name: t("screen.reported"), data: tr.reported, smooth: true, itemStyle: { color: "#dd6b20" } },
      { type: "line", name: t("screen.closed"), data: tr.closed, smooth: true, itemStyle: { color: "#2f855a" } },
    ],
  });
  return chart;
}

function drawCharts(data) {
  for (const c of Object.values(state.charts)) c.dispose();
  state.charts = {
    trend: trend(document.getElementById("chart-trend"), data.trend),
    scene: bar(document.getElementById("chart-scene"), data.by_scene),
    street: bar(document.getElementById("chart-street"), data.by_street),
    department: bar(document.getElementById("chart-department"), data.by_department),
  };
}

function drawEmergency(modes) {
  const box = document.getElementById("emergency");
  if (!Array.isArray(modes) || !modes.length) {
    box.hidden = true;
    return;
  }
  const parts = modes.map((m) => {
    const scope = m.scope_kind === "district" ? label("scope", "district") : `${label("scope", m.scope_kind)} ${m.scope_code || ""}`;
    return t("screen.emergency_mode", { hazard: label("hazard", m.hazard), level: label("level", m.level), scope });
  });
  box.textContent = `${t("screen.emergency")}：${parts.join("；")}`;
  box.dataset.level = modes[0].level || "";
  box.hidden = false;
}

function recolour(density) {
  const layer = state.layers.communities;
  if (!layer) return;
  const max = Math.max(1, ...Object.values(density));
  layer.setStyle((f) => ({ fillColor: densityColour(density[f.properties.code], max) }));
}

function render(data) {
  state.data = data;
  renderKpis(data.kpi);
  recolour(data.density || {});
  drawCharts(data);
  drawMarkers(data);
  drawEmergency(data.emergency);
  const period = data.period || {};
  document.getElementById("updated").textContent = t("screen.updated", { at: when(data.generated_at), first: period.first || "", last: period.last || "" });
}

function feedLine(item) {
  const li = document.createElement("li");
  const time = document.createElement("time");
  time.dateTime = item.at;
  time.textContent = when(item.at).slice(-5);
  li.append(time, " ");
  if (item.target_type === "case" && item.number) {
    const a = document.createElement("a");
    a.href = `/console/cases/${encodeURIComponent(item.target_id)}`;
    a.textContent = item.number;
    li.append(a, " ");
  }
  li.append(label("action", item.action));
  if (item.status) li.append(` → ${label("status", item.status)}`);
  return li;
}

function startFeed() {
  const list = document.getElementById("feed");
  const source = new EventSource(apiUrl("/console/events"));
  let first = true;
  source.addEventListener("ledger", (ev) => {
    const item = JSON.parse(ev.data);
    if (first) {
      list.textContent = "";
      first = false;
    }
    list.prepend(feedLine(item));
    while (list.children.length > 50) list.lastElementChild.remove();
    state.counts.feed = (state.counts.feed || 0) + 1;
  });
  state.feed = source;
}

// Every request the first picture needs starts at once, in parallel with the who-am-I check
// (a logged-out viewer's requests fail with 401 and requireUser sends them to the login page).
const early = {
  data: api("/console/api/screen", { quiet: true }),
  streets: api("/console/api/geo?level=street", { quiet: true }),
  communities: api("/console/api/geo?level=community", { quiet: true }),
};
for (const promise of Object.values(early)) promise.catch(() => {});

async function main() {
  await requireUser();
  const data = await early.data.catch(() => api("/console/api/screen"));
  state.data = data;
  performance.mark("screen-data");
  await drawMap();
  performance.mark("screen-map");
  render(data);
  state.ready = true;
  document.body.dataset.ready = "1";
  performance.mark("screen-ready");
  startFeed();
  setInterval(async () => {
    try {
      render(await api("/console/api/screen", { quiet: true }));
    } catch (e) {
      /* keep the last picture; the next refresh retries */
    }
  }, REFRESH_MS);
  window.addEventListener("resize", () => Object.values(state.charts).forEach((c) => c.resize()));
}

main();
