// The citizen portal (/report): report a problem in words with photos and a pin on the map,
// then follow every matter one reported — its tracking code (the public /track page), its
// status, a satisfaction rating once it is closed and "not fixed" when it is not. Reports that
// wait for the operator's confirmation have no case yet; their ids are remembered in this
// browser (localStorage) so the reporter sees them as "being confirmed".

import {
  api, appendFiles, attempt, clear, consoleApi, h, makeMap, say, session, statusLabel, t, when,
} from "./core.js";

const $ = (id) => document.getElementById(id);
const MINE = "civicloop.wb.reports";
const SHOWN = 20; // the most recent matters; older ones stay reachable by tracking code
let pin = null;
let map = null;

let mineKey = MINE; // per user: another person on the same browser must not see these
const remembered = () => JSON.parse(localStorage.getItem(mineKey) || "[]");
const remember = (id) => localStorage.setItem(mineKey, JSON.stringify([id, ...remembered()].slice(0, 50)));

function setPin(lon, lat) {
  $("wb-lon").value = Number(lon).toFixed(6);
  $("wb-lat").value = Number(lat).toFixed(6);
  if (!map) return;
  if (pin) pin.setLatLng([lat, lon]);
  else pin = window.L.marker([lat, lon], { keyboard: true, title: t("report.pin") }).addTo(map);
  if (map.getZoom() < 15) map.setView([lat, lon], 15);
  showNearby(Number(lon), Number(lat));
}

async function drawMap() {
  if (!window.L) return;
  const view = await api("/regions?level=street").catch(() => []);
  const c = view.length && view[0].centroid ? view[0].centroid : [121.5, 31.23];
  map = makeMap($("wb-map"), c, 13);
  try {
    const gj = await consoleApi("/console/api/geo?level=street");
    {
      const layer = window.L.geoJSON(gj, { style: { color: "#3b6ea5", weight: 1, fillOpacity: 0.04 } }).addTo(map);
      const b = layer.getBounds();
      if (b.isValid()) map.fitBounds(b);
    }
  } catch (err) {
    /* the outline is decoration; the pin and the two number fields carry the place */
  }
  map.on("click", (ev) => setPin(ev.latlng.lng, ev.latlng.lat));
}

// Open problems already reported near the pin (FixMyStreet-style): the citizen sees that a
// problem is known before reporting it again. Public data only (no one's personal data).
let nearbyLayer = null;
async function showNearby(lon, lat) {
  const box = $("wb-nearby");
  try {
    const found = await api(`/nearby?lon=${lon}&lat=${lat}&radius_m=200&limit=20`);
    if (nearbyLayer) nearbyLayer.remove();
    if (map) {
      nearbyLayer = window.L.layerGroup(found.items.map((n) => window.L.circleMarker([n.lat, n.lon], {
        radius: 7, color: "#222", weight: 1, fillColor: n.is_overdue ? "#c0392b" : "#2471a3", fillOpacity: 0.85,
      }).bindTooltip(`${n.element_name} · ${statusLabel(n.status)} · ${n.distance_m} m`))).addTo(map);
    }
    clear(box, found.items.length
      ? [h("p", {}, t("nearby.title", { n: found.items.length })),
        h("ul", { class: "wb-list" }, found.items.slice(0, 5).map((n) => h("li", {}, `${n.element_name} · ${statusLabel(n.status)} · ${Math.round(n.distance_m)} m`)))]
      : h("p", { class: "muted" }, t("nearby.none")));
  } catch (err) {
    clear(box);
  }
}

function locate() {
  const status = $("wb-gps-status");
  if (!navigator.geolocation) {
    status.textContent = t("gps.unavailable");
    return;
  }
  status.textContent = t("gps.finding");
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      setPin(pos.coords.longitude, pos.coords.latitude);
      if (map) map.setView([pos.coords.latitude, pos.coords.longitude], 16);
      status.textContent = t("gps.found", { m: Math.round(pos.coords.accuracy) });
    },
    () => { status.textContent = t("gps.denied"); },
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
  );
}

async function submit(ev) {
  ev.preventDefault();
  const form = ev.target;
  const errs = $("wb-report-errs");
  await attempt(async () => {
    const text = form.text.value.trim();
    if (!text) throw new Error(t("report.need_text"));
    const lon = form.lon.value ? Number(form.lon.value) : null;
    const lat = form.lat.value ? Number(form.lat.value) : null;
    let r;
    if (form.photos.files.length) {
      const fd = new FormData();
      fd.append("text", text);
      if (lon !== null && lat !== null) {
        fd.append("lon", String(lon));
        fd.append("lat", String(lat));
      }
      if (form.contact_name.value) fd.append("contact_name", form.contact_name.value);
      if (form.contact_phone.value) fd.append("contact_phone", form.contact_phone.value);
      fd.append("channel", "web");
      appendFiles(fd, form.photos, "photos");
      r = await api("/intake/reports/with-photos", { method: "POST", form: fd });
    } else {
      const body = { text, channel: "web" };
      if (lon !== null && lat !== null) Object.assign(body, { lon, lat });
      if (form.contact_name.value) body.contact_name = form.contact_name.value;
      if (form.contact_phone.value) body.contact_phone = form.contact_phone.value;
      r = await api("/intake/reports", { method: "POST", body });
    }
    remember(r.id);
    clear($("wb-report-done"), h("p", { role: "status", class: "wb-ok" }, t("report.sent")));
    form.reset();
    say(t("report.sent"));
    await loadMine();
  }, errs);
}

async function loadMine() {
  const box = $("wb-mine");
  await attempt(async () => {
    const page = await api(`/cases?limit=${SHOWN}`);
    const known = new Set(page.items.map((c) => c.id));
    // reports this browser sent that no case stands for yet (read side by side)
    const reports = await Promise.all(remembered().map((id) => api(`/intake/reports/${id}`).catch(() => null)));
    const waiting = reports.filter((r) => r && (!r.case_id || !known.has(r.case_id))
      && (r.status === "triage" || r.status === "proposed"));
    clear(box,
      waiting.map((r) => h("article", { class: "wb-card", dataset: { report: r.id } },
        h("header", {}, h("strong", {}, t("mine.waiting")), " · ", when(r.created_at)),
        h("p", { class: "wb-text" }, r.text))),
      page.items.map(matterCard),
      page.total > page.items.length ? h("p", { class: "muted" }, t("mine.more", { n: page.total - page.items.length })) : null,
      !waiting.length && !page.items.length ? h("p", { class: "wb-empty" }, t("mine.empty")) : null);
  }, box);
}

function matterCard(c) {
  const errs = h("div", { class: "wb-errs", "aria-live": "polite" });
  const closed = c.status === "closed" || c.status === "followed_up";
  const parts = [];
  if (c.status === "closed" && !c.satisfaction) {
    const comment = h("input", { type: "text", id: `rc-${c.id}`, maxlength: "2000" });
    const choice = h("fieldset", { class: "wb-fieldset" }, h("legend", {}, t("rate.title")),
      ["satisfied", "basically_satisfied", "unsatisfied"].map((v, i) => h("label", { class: "wb-radio" },
        h("input", { type: "radio", name: `rate-${c.id}`, value: v, checked: i === 0 }), t(`rate.${v}`))),
      h("label", { for: `rc-${c.id}` }, t("rate.comment")), comment,
      h("button", {
        type: "button", class: "wb-primary", dataset: { act: "rate" },
        onclick: () => attempt(async () => {
          const v = choice.querySelector("input[type=radio]:checked").value;
          await api(`/cases/${c.id}/follow-up`, { method: "POST", body: { satisfaction: v, comment: comment.value } });
          say(t("rate.thanks"));
          await loadMine();
        }, errs),
      }, t("rate.send")));
    parts.push(choice);
  }
  if (closed) {
    const why = h("input", { type: "text", id: `nf-${c.id}`, maxlength: "2000" });
    parts.push(h("div", { class: "wb-row" },
      h("label", { for: `nf-${c.id}` }, t("notfixed.what")), why,
      h("button", {
        type: "button", dataset: { act: "not-fixed" },
        onclick: () => attempt(async () => {
          await api(`/cases/${c.id}/not-fixed`, { method: "POST", body: { comment: why.value } });
          say(t("notfixed.sent"));
          await loadMine();
        }, errs),
      }, t("notfixed.send"))));
  }
  return h("article", { class: "wb-card", dataset: { case: c.id, number: c.number, status: c.status } },
    h("header", {}, h("strong", {}, statusLabel(c.status)), ` · ${c.title}`),
    h("p", {}, `${t("mine.code")}: `, c.tracking_code ? h("a", { href: `/track?code=${encodeURIComponent(c.tracking_code)}`, class: "wb-code" }, c.tracking_code) : "—",
      ` · ${t("mine.reported")} ${when(c.reported_at)}`, c.closed_at ? ` · ${t("mine.closed")} ${when(c.closed_at)}` : null),
    c.satisfaction ? h("p", {}, `${t("rate.given")}: ${t(`rate.${c.satisfaction}`)}`) : null,
    parts, errs);
}

async function main() {
  const me = await session(["citizen"]);
  if (!me) return;
  mineKey = `${MINE}.${me.id}`;
  $("wb-report").addEventListener("submit", submit);
  $("wb-gps").addEventListener("click", locate);
  for (const id of ["wb-lon", "wb-lat"]) {
    $(id).addEventListener("change", () => {
      if ($("wb-lon").value && $("wb-lat").value) setPin($("wb-lon").value, $("wb-lat").value);
    });
  }
  $("wb-refresh").addEventListener("click", loadMine);
  await Promise.all([drawMap(), loadMine()]);
  document.body.dataset.ready = me.role;
}

main();
