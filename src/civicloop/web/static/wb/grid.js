// The grid worker's phone page (/console/grid): the on-site checks and verifications waiting in
// my territory, and a patrol report with photo and GPS. The position comes from the browser's
// geolocation when the phone allows it; the two number fields stay editable as the fallback
// (no permission, indoors, a desktop), and a photo's EXIF GPS is used by the server when both
// are empty.

import {
  api, appendFiles, attempt, clear, h, say, session, statusLabel, t, when,
} from "./core.js";

const $ = (id) => document.getElementById(id);
let elements = [];
const elementName = (code) => {
  const e = elements.find((x) => x.code === code);
  return e ? (document.documentElement.lang === "en" ? e.name_en || e.name : e.name) : code;
};

async function loadTasks() {
  const list = $("wb-tasks");
  await attempt(async () => {
    const page = await api("/cases?status=checking&status=verifying&limit=100");
    $("wb-tasks-count").textContent = String(page.total);
    clear(list, page.items.length ? page.items.map(taskCard) : h("p", { class: "wb-empty" }, t("tasks.empty")));
  }, list);
}

function taskCard(c) {
  const errs = h("div", { class: "wb-errs", "aria-live": "polite" });
  const note = h("input", { type: "text", id: `gn-${c.id}`, maxlength: "2000" });
  const photo = h("input", { type: "file", id: `gp-${c.id}`, accept: "image/*", capture: "environment" });
  const isCheck = c.status === "checking";
  const send = (verdict) => attempt(async () => {
    if (photo.files.length) {
      const fd = new FormData();
      appendFiles(fd, photo, "file");
      fd.append("text", note.value || t(isCheck ? "task.check_photo" : "task.verify_photo"));
      await api(`/cases/${c.id}/evidence`, { method: "POST", form: fd });
    }
    const body = isCheck ? { is_valid: verdict, note: note.value } : { passed: verdict, note: note.value };
    await api(`/cases/${c.id}/${isCheck ? "check" : "verify"}`, { method: "POST", body });
    say(t(isCheck ? "task.checked" : "task.verified", { number: c.number }));
    await loadTasks();
  }, errs);
  const maps = c.lon != null ? h("a", { href: `geo:${c.lat},${c.lon}`, class: "wb-link" }, `${c.lat.toFixed(5)}, ${c.lon.toFixed(5)}`) : null;
  return h("article", { class: "wb-card", dataset: { case: c.id, number: c.number } },
    h("header", {}, h("strong", {}, t(isCheck ? "task.check" : "task.verify")), ` · ${c.number}`,
      c.is_overdue ? h("span", { class: "wb-tag wb-warn" }, t("overdue")) : null),
    h("p", {}, `${elementName(c.element_code)} · ${statusLabel(c.status)}`),
    h("p", { class: "wb-text" }, c.description),
    h("p", {}, c.address || c.grid_code, " ", maps),
    h("label", { for: `gn-${c.id}` }, t("task.note")), note,
    h("label", { for: `gp-${c.id}` }, t("task.photo")), photo,
    h("div", { class: "wb-row wb-big" },
      h("button", { type: "button", class: "wb-primary", dataset: { act: "pass" }, onclick: () => send(true) }, t(isCheck ? "task.valid" : "task.passed")),
      h("button", { type: "button", dataset: { act: "fail" }, onclick: () => send(false) }, t(isCheck ? "task.invalid" : "task.failed"))),
    errs);
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
      $("wb-lon").value = pos.coords.longitude.toFixed(6);
      $("wb-lat").value = pos.coords.latitude.toFixed(6);
      status.textContent = t("gps.found", { m: Math.round(pos.coords.accuracy) });
    },
    () => { status.textContent = t("gps.denied"); },
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
  );
}

async function patrol(ev) {
  ev.preventDefault();
  const form = ev.target;
  const errs = $("wb-patrol-errs");
  await attempt(async () => {
    const fd = new FormData();
    fd.append("element_code", form.element_code.value);
    fd.append("description", form.description.value);
    if (form.lon.value && form.lat.value) {
      fd.append("lon", form.lon.value);
      fd.append("lat", form.lat.value);
    }
    if (!form.photos.files.length) throw new Error(t("patrol.need_photo"));
    appendFiles(fd, form.photos, "photos");
    const c = await api("/patrols", { method: "POST", form: fd });
    say(t("patrol.sent", { number: c.number }));
    form.reset();
    await loadTasks();
  }, errs);
}

async function main() {
  const me = await session(["grid_worker"]);
  if (!me) return;
  elements = (await api("/catalogue/elements")).filter((e) => e.discovery.some((d) => d.kind === "patrol") || e.is_citizen_facing);
  clear($("wb-patrol-element"), elements.map((e) => h("option", { value: e.code }, `${e.code} ${elementName(e.code)}`)));
  $("wb-gps").addEventListener("click", locate);
  $("wb-patrol").addEventListener("submit", patrol);
  $("wb-refresh").addEventListener("click", loadTasks);
  await loadTasks();
  document.body.dataset.ready = me.role;
}

main();
