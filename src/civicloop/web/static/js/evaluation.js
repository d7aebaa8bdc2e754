// The evaluation page (/console/evaluation): the KPI dashboard of a month (district, or the
// object picked in the rankings), the rankings of a composite (streets, departments, roles…),
// an indicator's daily trend, the cases behind an indicator (drill-down), and downloads
// (CSV/XLSX tables, the monthly report as HTML or PDF) fetched with the viewer's token.
// All numbers come from /api/v1/kpi/* (the evaluation context); this page only shows them.
import { api, esc, label, lang, requireUser, showError, t } from "./api.js";

const echarts = window.echarts;
const form = document.getElementById("eval-controls");
const state = { period: "", composite: "street", level: "district", code: null, indicator: null, names: {} };
window.__evaluation = state;

const LEVEL_OF = { street: "street", community: "community", grid: "grid", department: "department", district: "district" };

function month(d = new Date()) {
  return d.toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" }).slice(0, 7);
}

function indicatorName(ind) {
  return lang === "en" ? (ind.name_en || ind.code) : (ind.name_zh || ind.code);
}

function fmt(ind, v) {
  if (v === null || v === undefined) return "—";
  if (ind.kind === "rate") return `${(v * 100).toFixed(1)}%`;
  return `${Number(v).toFixed(1)}${ind.unit ? " " + ind.unit : ""}`;
}

function objectName(code) {
  return state.names[code] || code;
}

async function loadNames() {
  const [streets, departments] = await Promise.all([
    api("/api/v1/regions?level=street", { quiet: true }).catch(() => []),
    api("/api/v1/departments", { quiet: true }).catch(() => []),
  ]);
  for (const s of streets) state.names[s.code] = s.name;
  for (const d of departments) state.names[d.code] = lang === "en" ? d.name_en : d.name;
}

async function loadDashboard() {
  const q = new URLSearchParams({ period: state.period, level: state.level });
  if (state.code) q.set("code", state.code);
  const body = document.querySelector("#dashboard tbody");
  const dash = await api(`/api/v1/kpi/dashboard?${q}`);
  document.getElementById("dash-scope").textContent = state.code ? `${t("composite." + state.level)} ${objectName(state.code)}` : t("composite.district");
  body.textContent = "";
  for (const ind of dash.indicators) {
    const tr = document.createElement("tr");
    tr.dataset.indicator = ind.code;
    tr.innerHTML = `<th scope="row" title="${esc(ind.standard)}">${esc(indicatorName(ind))}</th>` +
      `<td>${esc(fmt(ind, ind.value))}</td><td>${ind.score == null ? "—" : Number(ind.score).toFixed(1)}</td>` +
      `<td>${ind.kind === "rate" ? `${Number(ind.numerator)} / ${Number(ind.denominator)}` : ""}</td>`;
    const td = document.createElement("td");
    const trendBtn = document.createElement("button");
    trendBtn.type = "button";
    trendBtn.textContent = t("eval.trend_short");
    trendBtn.setAttribute("aria-label", `${t("eval.trend")}：${indicatorName(ind)}`);
    trendBtn.addEventListener("click", () => loadTrend(ind));
    const drillBtn = document.createElement("button");
    drillBtn.type = "button";
    drillBtn.textContent = t("eval.drill");
    drillBtn.setAttribute("aria-label", `${t("eval.drill_title")}：${indicatorName(ind)}`);
    drillBtn.addEventListener("click", () => drill(ind));
    td.append(trendBtn, " ", drillBtn);
    tr.append(td);
    body.append(tr);
  }
  state.dashboard = dash;
  const first = dash.indicators.find((i) => i.code === (state.indicator || "closure_rate")) || dash.indicators[0];
  if (first) await loadTrend(first);
}

async function loadRankings() {
  const body = document.querySelector("#rankings tbody");
  body.textContent = "";
  let data;
  try {
    data = await api(`/api/v1/kpi/rankings?period=${state.period}&composite=${state.composite}`, { quiet: true });
  } catch (e) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td colspan="4" class="error">${esc(e.message)}</td>`;
    body.append(tr);
    return;
  }
  if (!data.items.length) {
    body.innerHTML = `<tr><td colspan="4" class="muted">${esc(t("eval.no_data"))}</td></tr>`;
  }
  for (const item of data.items) {
    const tr = document.createElement("tr");
    const level = LEVEL_OF[state.composite];
    const name = objectName(item.code);
    tr.innerHTML = `<td>${item.rank}</td><td></td><td>${item.score == null ? "—" : Number(item.score).toFixed(1)}</td><td class="grade">${esc(item.grade || "")}</td>`;
    if (level && level !== "district") {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link-button";
      b.textContent = name;
      b.addEventListener("click", async () => {
        for (const r of body.querySelectorAll("tr.selected")) r.classList.remove("selected");
        tr.classList.add("selected");
        state.level = level;
        state.code = item.code;
        await loadDashboard();
      });
      tr.children[1].append(b);
    } else tr.children[1].textContent = name;
    body.append(tr);
  }
  state.rankings = data;
}

async function loadTrend(ind) {
  state.indicator = ind.code;
  document.getElementById("trend-name").textContent = indicatorName(ind);
  const q = new URLSearchParams({ indicator: ind.code, period: state.period, grain: "day", level: state.level });
  if (state.code) q.set("code", state.code);
  const tr = await api(`/api/v1/kpi/trend?${q}`, { quiet: true }).catch(() => null);
  if (!tr) return;
  const el = document.getElementById("chart-eval-trend");
  if (!state.chart) state.chart = echarts.init(el);
  const scale = ind.kind === "rate" ? 100 : 1;
  state.chart.setOption({
    animation: false,
    textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
    grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: tr.points.map((p) => p.label.slice(5)) },
    yAxis: { type: "value", axisLabel: { formatter: ind.kind === "rate" ? "{value}%" : "{value}" } },
    series: [{ type: "line", name: indicatorName(ind), connectNulls: false, itemStyle: { color: "#1d4f91" },
      data: tr.points.map((p) => (p.value == null ? null : +(p.value * scale).toFixed(2))) }],
  }, true);
  el.setAttribute("aria-label", `${t("eval.trend")}：${indicatorName(ind)}`);
}

async function drill(ind) {
  const q = new URLSearchParams({ period: state.period, level: state.level, limit: "100" });
  if (state.code) q.set("code", state.code);
  const data = await api(`/api/v1/kpi/${encodeURIComponent(ind.code)}/cases?${q}`);
  const section = document.getElementById("drill");
  section.hidden = false;
  document.getElementById("drill-name").textContent = `${indicatorName(ind)}（${data.total}）`;
  const body = document.querySelector("#drill-cases tbody");
  body.textContent = "";
  for (const c of data.cases) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td><a href="/console/cases/${encodeURIComponent(c.case_id)}">${esc(c.number)}</a></td>` +
      `<td>${esc(c.day)}</td><td>${esc(objectName(c.street_code))}</td><td>${esc(objectName(c.department_code || ""))}</td>` +
      `<td>${esc(label("channel", c.channel))}</td>`;
    body.append(tr);
  }
  if (!data.cases.length) body.innerHTML = `<tr><td colspan="5" class="muted">${esc(t("eval.no_data"))}</td></tr>`;
  document.getElementById("drill-title").focus();
}

async function download(kind) {
  const p = state.period;
  const paths = {
    "rankings-csv": [`/api/v1/kpi/export?period=${p}&kind=rankings&composite=${state.composite}&format=csv`, `ranking-${state.composite}-${p}.csv`],
    "rankings-xlsx": [`/api/v1/kpi/export?period=${p}&kind=rankings&composite=${state.composite}&format=xlsx`, `ranking-${state.composite}-${p}.xlsx`],
    "values-csv": [`/api/v1/kpi/export?period=${p}&kind=values&indicator=${state.indicator || "closure_rate"}&level=street&format=csv`, `kpi-${state.indicator || "closure_rate"}-${p}.csv`],
    "report-html": [`/api/v1/kpi/report?month=${p}&format=html`, `report-${p}.html`],
    "report-pdf": [`/api/v1/kpi/report?month=${p}&format=pdf`, `report-${p}.pdf`],
  };
  const [path, name] = paths[kind];
  try {
    const res = await api(path, { raw: true });
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30_000);
    state.lastDownload = name;
  } catch (e) {
    /* api() already showed the message */
  }
}

async function refresh() {
  state.period = form.period.value;
  state.composite = form.composite.value;
  // a street sees its own street's numbers; the district totals are the centre's
  const own = state.me?.role === "street_admin" ? (state.me.region_path || "").split("/").filter(Boolean).pop() : null;
  state.level = own ? "street" : "district";
  state.code = own || null;
  try {
    await Promise.all([loadDashboard(), loadRankings()]);
  } catch (e) {
    if (!e.status) showError(e.message);
  }
  document.body.dataset.ready = "1";
}

async function main() {
  state.me = await requireUser();
  form.period.value = month();
  await loadNames();
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    refresh();
  });
  for (const b of document.querySelectorAll("[data-download]")) b.addEventListener("click", () => download(b.dataset.download));
  await refresh();
}

main();
