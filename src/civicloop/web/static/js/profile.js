// A profile page (/console/profiles/{kind}/{id}): 一企一档 / 一人一档 / 一房一档 from
// GET /api/v1/profiles/{kind}/{id} — facts (already masked by the API for this viewer), the
// place on a map, the cases and demands, related records as links to their own profiles, the
// history and corrections, and whatever sections other contexts contribute (risk, credit,
// entity links), shown generically so a new section appears without a page change.
import { api, esc, label, requireUser, t, when } from "./api.js";

const root = document.getElementById("profile");
const kind = root.dataset.kind;
const key = root.dataset.key;
window.__profile = { ready: false };

const LINK_KIND = { building_id: "building", room_id: "room", credit_code: "enterprise" };

function text(v) {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "boolean") return v ? t("field.true") : t("field.false");
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v)) return when(v);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function factsList(dl, obj) {
  for (const [k, v] of Object.entries(obj || {})) {
    if (v && typeof v === "object" && !Array.isArray(v)) continue;
    const dt = document.createElement("dt");
    dt.textContent = t(`pf.${k}`) === `pf.${k}` ? k : t(`pf.${k}`);
    const dd = document.createElement("dd");
    if (LINK_KIND[k] && v && !(kind === "entity" && k === "credit_code")) {
      const a = document.createElement("a");
      a.href = `/console/profiles/${LINK_KIND[k]}/${encodeURIComponent(v)}`;
      a.textContent = v;
      dd.append(a);
    } else dd.textContent = text(v);
    dl.append(dt, dd);
  }
}

function card(title, body) {
  const s = document.createElement("section");
  s.className = "card";
  const h = document.createElement("h2");
  h.textContent = title;
  s.append(h, body);
  return s;
}

function table(rows, linkKind, idKey) {
  if (!rows.length) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = t("common.none");
    return p;
  }
  const keys = Object.keys(rows[0]).filter((k) => typeof rows[0][k] !== "object" || rows[0][k] === null).slice(0, 6);
  const tbl = document.createElement("table");
  tbl.innerHTML = `<thead><tr>${keys.map((k) => `<th scope="col">${esc(t(`pf.${k}`) === `pf.${k}` ? k : t(`pf.${k}`))}</th>`).join("")}</tr></thead>`;
  const body = document.createElement("tbody");
  for (const r of rows.slice(0, 200)) {
    const tr = document.createElement("tr");
    for (const k of keys) {
      const td = document.createElement("td");
      if (linkKind && k === idKey && r[k]) {
        const a = document.createElement("a");
        a.href = `/console/profiles/${linkKind}/${encodeURIComponent(r[k])}`;
        a.textContent = r[k];
        td.append(a);
      } else td.textContent = text(r[k]);
      tr.append(td);
    }
    body.append(tr);
  }
  tbl.append(body);
  return tbl;
}

function renderCases(cases) {
  const body = document.querySelector("#profile-cases tbody");
  body.textContent = "";
  for (const c of cases || []) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td><a href="/console/cases/${encodeURIComponent(c.id)}">${esc(c.number || c.id)}</a></td>` +
      `<td>${esc(c.title || "")}</td><td>${esc(when(c.reported_at))}</td><td>${esc(label("status", c.status))}</td>`;
    body.append(tr);
  }
  if (!body.children.length) body.innerHTML = `<tr><td colspan="4" class="muted">${esc(t("common.none"))}</td></tr>`;
}

function renderMap(pf) {
  const L = window.L;
  const place = [pf.facts, pf.building, pf.room].find((x) => x && x.lon != null && x.lat != null);
  const map = L.map("profile-map", { attributionControl: false });
  if (place) {
    map.setView([place.lat, place.lon], 16);
    L.circleMarker([place.lat, place.lon], { radius: 9, color: "#1a202c", weight: 2, fillColor: "#2b6cb0", fillOpacity: 0.9 }).addTo(map);
  } else map.setView([31.22, 121.54], 11);
  const grid = (pf.facts || {}).grid_code;
  if (grid) {
    api(`/api/v1/regions/${encodeURIComponent(grid)}`, { quiet: true })
      .then((g) => {
        if (!g.geometry) return;
        const layer = L.geoJSON(g.geometry, { style: { color: "#1d4f91", weight: 2, fillOpacity: 0.06 } }).addTo(map);
        if (!place) map.fitBounds(layer.getBounds());
      })
      .catch(() => {});
  }
}

async function main() {
  await requireUser();
  let pf;
  try {
    pf = await api(`/api/v1/profiles/${encodeURIComponent(kind)}/${encodeURIComponent(key)}`);
  } catch (e) {
    root.setAttribute("aria-busy", "false");
    document.getElementById("profile-name").textContent = e.message;
    document.body.dataset.ready = "1";
    return;
  }
  const f = pf.facts || {};
  document.getElementById("profile-name").textContent = f.name || f.address || pf.id;
  factsList(document.getElementById("profile-facts"), f);
  renderCases(pf.cases);
  const lists = document.getElementById("profile-lists");
  const related = [
    ["building", "building", null], ["room", "room", null],
  ];
  for (const [field, linkKind] of related) {
    if (pf[field] && typeof pf[field] === "object") {
      const dl = document.createElement("dl");
      dl.className = "facts";
      factsList(dl, pf[field]);
      const a = document.createElement("a");
      a.href = `/console/profiles/${linkKind}/${encodeURIComponent(pf[field].id)}`;
      a.textContent = t("profile.open", { what: t(`profile.${linkKind}`) });
      const box = document.createElement("div");
      box.append(dl, a);
      lists.append(card(t(`profile.${linkKind}`), box));
    }
  }
  if (Array.isArray(pf.entities)) lists.append(card(t("profile.entities"), table(pf.entities, "enterprise", "credit_code")));
  if (Array.isArray(pf.residents)) lists.append(card(t("profile.residents"), table(pf.residents, "person", "id")));
  if (Array.isArray(pf.demands)) lists.append(card(t("profile.demands"), table(pf.demands)));
  if (Array.isArray(pf.history)) lists.append(card(t("profile.history"), table(pf.history)));
  if (Array.isArray(pf.corrections)) lists.append(card(t("profile.corrections"), table(pf.corrections)));
  const side = document.getElementById("profile-sections");
  for (const [name, value] of Object.entries(pf.sections || {})) {
    let body;
    if (value === null || value === undefined) {
      body = document.createElement("p");
      body.className = "muted";
      body.textContent = t("common.none");
    } else if (Array.isArray(value)) body = table(value);
    else if (typeof value === "object") {
      body = document.createElement("dl");
      body.className = "facts";
      factsList(body, value);
    } else {
      body = document.createElement("p");
      body.textContent = text(value);
    }
    const title = t(`profile.section.${name}`) === `profile.section.${name}` ? name : t(`profile.section.${name}`);
    const c = card(title, body);
    c.dataset.section = name;
    side.append(c);
  }
  renderMap(pf);
  root.setAttribute("aria-busy", "false");
  window.__profile = { ready: true, profile: pf };
  document.body.dataset.ready = "1";
}

main();
