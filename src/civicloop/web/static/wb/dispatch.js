// The dispatcher workbench (/console/dispatch): the triage queue with the classifier's
// suggestions and confidence, one-step confirm or correct, duplicates on a map, the cases that
// wait for acceptance, filing, dispatch (lead + assisting departments) or closure, and the
// overdue list. Every button calls the real API; what a case allows comes from its
// `allowed_actions`, so the page never offers a step the server would refuse.

import {
  api, attempt, clear, h, labelled, makeMap, say, session, statusLabel, t, when,
} from "./core.js";

const ROLES = ["operator", "dispatcher", "shift_chief"];
let elements = [];
let departments = [];
let map = null;
let layer = null;

const $ = (id) => document.getElementById(id);
const elementName = (code) => {
  const e = elements.find((x) => x.code === code);
  return e ? `${code} ${document.documentElement.lang === "en" ? e.name_en || e.name : e.name}` : code;
};
const deptName = (code) => {
  const d = departments.find((x) => x.code === code);
  return d ? (document.documentElement.lang === "en" ? d.name_en || d.name : d.name) : code || "—";
};

function showOnMap(center, points) {
  if (!window.L) return;
  if (!map) map = makeMap($("wb-map"), center, 16);
  if (layer) layer.remove();
  layer = window.L.layerGroup().addTo(map);
  const all = [];
  for (const p of points) {
    if (p.lon == null || p.lat == null) continue;
    window.L.circleMarker([p.lat, p.lon], {
      radius: p.main ? 10 : 7, color: "#222", weight: 1,
      fillColor: p.main ? "#c0392b" : "#2471a3", fillOpacity: 0.9,
    }).bindTooltip(p.title || "").addTo(layer);
    all.push([p.lat, p.lon]);
  }
  if (all.length > 1) map.fitBounds(all, { padding: [30, 30], maxZoom: 17 });
  else if (all.length === 1) map.setView(all[0], 17);
  $("wb-map-caption").textContent = t("map.caption", { n: Math.max(0, points.length - 1) });
}

function confidenceBar(v) {
  const pct = Math.round((v || 0) * 100);
  return h("span", { class: "wb-conf" },
    h("meter", { min: "0", max: "100", value: String(pct), "aria-label": t("confidence") }),
    ` ${pct}%`);
}

async function loadQueue() {
  const status = $("wb-queue-status").value;
  const list = $("wb-queue");
  await attempt(async () => {
    const page = await api(`/intake/queue?status=${status}&limit=50`);
    $("wb-queue-count").textContent = String(page.total);
    clear(list, page.items.length ? page.items.map(reportCard) : h("p", { class: "wb-empty" }, t("queue.empty")));
  }, list);
}

function reportCard(r) {
  const p = r.proposal || {};
  const sug = p.suggestions || [];
  const errs = h("div", { class: "wb-errs", "aria-live": "polite" });
  const select = h("select", { name: "element_code", id: `el-${r.id}` },
    elements.map((e) => h("option", { value: e.code, selected: sug[0] && sug[0].element_code === e.code }, elementName(e.code))));
  if (!sug.length) select.prepend(h("option", { value: "", selected: true }, t("queue.choose")));
  const loc = p.location ? { ...p.location } : null;
  if (loc && loc.lon == null && r.given_lon != null) Object.assign(loc, { lon: r.given_lon, lat: r.given_lat });
  const reason = h("input", { type: "text", name: "reason", id: `rj-${r.id}`, maxlength: "1000" });
  const card = h("article", { class: "wb-card", dataset: { report: r.id } },
    h("header", {},
      h("strong", {}, t(`channel.${r.channel}`)), " · ", when(r.created_at),
      r.photos && r.photos.length ? h("span", { class: "wb-tag" }, t("photos", { n: r.photos.length })) : null,
      (p.triage_reasons || []).map((x) => h("span", { class: "wb-tag wb-warn" }, t(`triage.${x}`)))),
    h("p", { class: "wb-text" }, r.text),
    h("div", { class: "wb-sugs" },
      h("span", {}, t("queue.suggestions")),
      sug.length ? h("ol", {}, sug.map((s) => h("li", {}, `${s.element_code} ${s.name} `, confidenceBar(s.confidence)))) : h("em", {}, t("queue.no_suggestion"))),
    h("p", {}, t("queue.place"), ": ",
      loc ? `${loc.matched || ""} ${loc.grid_code} (${t(`precision.${loc.precision}`)}, ${Math.round(loc.confidence * 100)}%)` : t("queue.no_place")),
    h("div", { class: "wb-row" },
      h("label", { for: `el-${r.id}` }, t("queue.element")), select,
      h("button", {
        type: "button", class: "wb-primary", dataset: { act: "confirm" },
        onclick: () => attempt(async () => {
          const chosen = select.value;
          const body = chosen && (!sug[0] || chosen !== sug[0].element_code) ? { element_code: chosen } : {};
          const res = await api(`/intake/reports/${r.id}/confirm`, { method: "POST", body });
          say(t(body.element_code ? "queue.corrected" : "queue.confirmed", { number: res.case.number }));
          await Promise.all([loadQueue(), loadCases()]);
        }, errs),
      }, t("queue.confirm")),
      h("button", {
        type: "button", dataset: { act: "map" },
        onclick: () => attempt(async () => {
          if (!loc || loc.lon == null) throw new Error(t("queue.no_place"));
          const el = select.value ? `&element_code=${encodeURIComponent(select.value)}` : "";
          const near = await api(`/nearby?lon=${loc.lon}&lat=${loc.lat}&radius_m=500${el}`);
          showOnMap([loc.lon, loc.lat], [
            { lon: loc.lon, lat: loc.lat, title: t("map.this_report"), main: true },
            ...near.items.map((n) => ({ ...n, title: `${n.element_name} · ${statusLabel(n.status)} · ${n.distance_m} m` })),
          ]);
        }, errs),
      }, t("queue.show_nearby"))),
    h("div", { class: "wb-row" },
      h("label", { for: `rj-${r.id}` }, t("queue.reject_reason")), reason,
      h("button", {
        type: "button", dataset: { act: "reject" },
        onclick: () => attempt(async () => {
          await api(`/intake/reports/${r.id}/reject`, { method: "POST", body: { reason: reason.value } });
          say(t("queue.rejected"));
          await loadQueue();
        }, errs),
      }, t("queue.reject"))),
    errs);
  return card;
}

const WORK = ["reported", "accepted", "filed", "returned", "verified"];

async function loadCases() {
  const list = $("wb-cases");
  await attempt(async () => {
    const qs = WORK.map((s) => `status=${s}`).join("&");
    // high-priority (risk-raised) cases first, then newest: the triage order
    const page = await api(`/cases?${qs}&limit=100&sort=priority`);
    $("wb-cases-count").textContent = String(page.total);
    clear(list, page.items.length ? caseTable(page.items, true) : h("p", { class: "wb-empty" }, t("cases.empty")));
  }, list);
}

async function loadOverdue() {
  const list = $("wb-overdue");
  await attempt(async () => {
    const page = await api("/cases?is_overdue=true&is_open=true&limit=100");
    $("wb-overdue-count").textContent = String(page.total);
    clear(list, page.items.length ? caseTable(page.items, false) : h("p", { class: "wb-empty" }, t("overdue.empty")));
  }, list);
}

function caseTable(items, actions) {
  return labelled(h("table", { class: "wb-table" },
    h("thead", {}, h("tr", {},
      [t("case.number"), t("case.element"), t("case.status"), t("case.department"), t("case.due"), ""].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, items.map((c) => h("tr", { class: c.is_overdue ? "wb-overdue" : "", dataset: { case: c.id, number: c.number } },
      h("td", {}, c.number, highRisk(c)),
      h("td", {}, elementName(c.element_code)),
      h("td", {}, statusLabel(c.status), c.is_overdue ? h("span", { class: "wb-tag wb-warn" }, t("overdue")) : null),
      h("td", {}, deptName(c.lead_department)),
      h("td", {}, when(c.handle_due_at)),
      h("td", {}, h("button", { type: "button", dataset: { act: "open" }, onclick: () => openCase(c.id) }, actions ? t("case.handle") : t("case.open"))))))));
}

// A case the risk context raised (cases.priority == "high"): a badge and its reason.
function highRisk(c) {
  if ((c.priority || "normal") !== "high") return null;
  return h("span", { class: "wb-high" },
    h("span", { class: "wb-tag wb-risk", title: c.priority_reason || "" }, t("priority.high")),
    c.priority_reason ? h("small", { class: "wb-risk-reason" }, c.priority_reason) : null);
}

async function openCase(id) {
  const panel = $("wb-case");
  await attempt(async () => {
    const c = await api(`/cases/${id}`);
    renderCase(c);
    panel.scrollIntoView({ block: "nearest" });
  }, panel);
}

// The catalogue names a local lead as "@street" / "@community": the office of this place.
function localLead(code, c, here) {
  if (code === "@street" || code === "@community") {
    const kind = code === "@street" ? "street_office" : "community";
    const d = here.find((x) => x.kind === kind);
    return d ? deptName(d.code) : code;
  }
  return deptName(code);
}

function renderCase(c) {
  const panel = $("wb-case");
  const errs = h("div", { class: "wb-errs", "aria-live": "polite" });
  const can = new Set(c.allowed_actions || []);
  const done = async (verb) => {
    say(t("case.done", { number: c.number, action: t(`action.${verb}`) }));
    await Promise.all([loadCases(), loadOverdue()]);
    const fresh = await api(`/cases/${c.id}`);
    renderCase(fresh);
  };
  const act = (verb, body) => attempt(async () => {
    await api(`/cases/${c.id}/${verb}`, { method: "POST", body: { expected_version: c.version, ...(body || {}) } });
    await done(verb);
  }, errs);
  const parts = [];
  for (const verb of ["accept", "file", "close"]) {
    if (can.has(verb)) parts.push(h("button", { type: "button", class: "wb-primary", dataset: { act: verb }, onclick: () => act(verb) }, t(`action.${verb}`)));
  }
  if (can.has("dispatch")) {
    const e = elements.find((x) => x.code === c.element_code);
    // district-wide departments, plus the street office and community committee of this place
    const here = departments.filter((d) => !["community", "street_office"].includes(d.kind)
      || (d.region_code && (d.region_code === c.street_code || (c.grid_code || "").startsWith(d.region_code))));
    const lead = h("select", { id: "wb-lead", name: "lead" },
      h("option", { value: "" }, t("dispatch.matrix_default", { dept: localLead(e && e.lead_department, c, here) })),
      here.map((d) => h("option", { value: d.code }, deptName(d.code))));
    const assists = h("select", { id: "wb-assists", name: "assists", multiple: true, size: "4" },
      here.map((d) => h("option", { value: d.code }, deptName(d.code))));
    parts.push(h("fieldset", { class: "wb-fieldset" },
      h("legend", {}, t("action.dispatch")),
      h("label", { for: "wb-lead" }, t("dispatch.lead")), lead,
      h("label", { for: "wb-assists" }, t("dispatch.assists")), assists,
      h("button", {
        type: "button", class: "wb-primary", dataset: { act: "dispatch" },
        onclick: () => {
          const body = {};
          if (lead.value) body.lead = lead.value;
          const chosen = [...assists.selectedOptions].map((o) => o.value);
          if (chosen.length) body.assists = chosen;
          return act("dispatch", body);
        },
      }, t("action.dispatch"))));
  }
  for (const verb of ["rework", "void"]) {
    if (!can.has(verb)) continue;
    const input = h("input", { type: "text", id: `wb-${verb}-reason`, maxlength: "2000" });
    parts.push(h("div", { class: "wb-row" },
      h("label", { for: `wb-${verb}-reason` }, t("reason")), input,
      h("button", { type: "button", dataset: { act: verb }, onclick: () => act(verb, { reason: input.value }) }, t(`action.${verb}`))));
  }
  if (can.has("supervise")) {
    const why = h("input", { type: "text", id: "wb-supervise-reason", maxlength: "2000" });
    const hours = h("input", { type: "number", id: "wb-supervise-hours", min: "1", max: "720", value: "24" });
    parts.push(h("div", { class: "wb-row" },
      h("label", { for: "wb-supervise-reason" }, t("supervise.reason")), why,
      h("label", { for: "wb-supervise-hours" }, t("supervise.hours")), hours,
      h("button", { type: "button", dataset: { act: "supervise" }, onclick: () => act("supervise", { reason: why.value, hours: Number(hours.value) }) }, t("action.supervise"))));
  }
  if (can.has("merge")) {
    parts.push(h("div", { id: "wb-dupes" }, h("button", {
      type: "button", dataset: { act: "duplicates" },
      onclick: () => attempt(async () => {
        const d = await api(`/cases/${c.id}/duplicates`);
        const shown = [{ lon: c.lon, lat: c.lat, title: c.number, main: true }];
        const rows = [];
        for (const x of d.items) {
          const other = await api(`/cases/${x.case_id}`);
          shown.push({ lon: other.lon, lat: other.lat, title: `${x.number} · ${x.distance_m} m · ${Math.round(x.similarity * 100)}%` });
          rows.push(h("li", {}, `${x.number} · ${statusLabel(x.status)} · ${x.distance_m} m · ${t("similarity")} ${Math.round(x.similarity * 100)}% `,
            h("button", { type: "button", onclick: () => act("merge", { master_id: x.case_id }) }, t("action.merge"))));
        }
        if (c.lon != null) showOnMap([c.lon, c.lat], shown);
        clear($("wb-dupes"), rows.length ? h("ul", {}, rows) : h("p", {}, t("dupes.none")));
      }, errs),
    }, t("dupes.find"))));
  }
  if (can.has("decide_extension")) {
    const pending = (c.extensions || []).filter((x) => x.status === "pending");
    for (const x of pending) {
      parts.push(h("div", { class: "wb-row" },
        `${t("ext.request")}: ${Math.round(x.extra_seconds / 360) / 10} h — ${x.reason} `,
        h("button", { type: "button", onclick: () => act("extensions/decision", { approve: true }) }, t("ext.approve")),
        h("button", { type: "button", onclick: () => act("extensions/decision", { approve: false }) }, t("ext.refuse"))));
    }
  }
  clear(panel,
    h("h3", {}, `${c.number} · ${elementName(c.element_code)} `,
      h("a", { href: `/console/cases/${encodeURIComponent(c.id)}`, class: "wb-link" }, t("case.details"))),
    highRisk(c),
    h("p", {}, `${statusLabel(c.status)} · ${c.address || c.grid_code} · ${t("case.reported")} ${when(c.reported_at)}`),
    h("p", { class: "wb-text" }, c.description),
    parts.length ? parts : h("p", {}, t("case.nothing_to_do")),
    errs);
  if (c.lon != null) showOnMap([c.lon, c.lat], [{ lon: c.lon, lat: c.lat, title: c.number, main: true }]);
}

async function main() {
  const me = await session(ROLES);
  if (!me) return;
  [elements, departments] = await Promise.all([api("/catalogue/elements"), api("/departments")]);
  $("wb-queue-status").addEventListener("change", loadQueue);
  $("wb-refresh").addEventListener("click", () => Promise.all([loadQueue(), loadCases(), loadOverdue()]));
  await Promise.all([loadQueue(), loadCases(), loadOverdue()]);
  // "#case=<id>" opens one case (links from the case page, the big screen, notifications)
  const linked = new URLSearchParams(location.hash.slice(1)).get("case");
  if (linked) await openCase(linked);
  window.addEventListener("hashchange", () => {
    const id = new URLSearchParams(location.hash.slice(1)).get("case");
    if (id) openCase(id);
  });
  document.body.dataset.ready = me.role;
}

main();
