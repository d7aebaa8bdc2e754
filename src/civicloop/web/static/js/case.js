// The case page (/console/cases/{id}): facts, the ledger timeline (who did what, when),
// deadlines per step, a map of the place, photos and files, and the actions the API says the
// viewer may take now (CaseDetail.allowed_actions) as small forms. A refused action's
// problem+json is shown in the form, next to the field it names.
import { api, blobUrl, esc, label, lang, requireUser, showInfo, t, when } from "./api.js";

const root = document.getElementById("case");
const caseId = root.dataset.caseId;
const base = `/api/v1/cases/${encodeURIComponent(caseId)}`;
window.__case = { ready: false };

// action → [endpoint, fields]; field: [name, kind, options]
const FORMS = {
  accept: ["/accept", []],
  void: ["/void", [["reason", "textarea"]]],
  check: ["/check", [["is_valid", "bool"], ["note", "textarea", { optional: true }]]],
  file: ["/file", []],
  dispatch: ["/dispatch", [["lead", "text", { optional: true }], ["assists", "list", { optional: true }]]],
  sign: ["/sign", []],
  return: ["/return", [["reason", "textarea"]]],
  note: ["/notes", [["text", "textarea"]]],
  attach: ["/evidence", [["file", "file"], ["text", "text", { optional: true }]]],
  request_extension: ["/extensions", [["reason", "textarea"], ["hours", "number"]]],
  decide_extension: ["/extensions/decision", [["approve", "bool"], ["note", "text", { optional: true }]]],
  feedback: ["/feedback", [["text", "textarea"]]],
  verify: ["/verify", [["passed", "bool"], ["note", "textarea", { optional: true }]]],
  close: ["/close", [["closure_type", "select", { options: ["", "normal", "overdue", "special"], optional: true }], ["reason", "textarea", { optional: true }]]],
  rework: ["/rework", [["reason", "textarea"]]],
  follow_up: ["/follow-up", [["satisfaction", "select", { options: ["satisfied", "basically_satisfied", "unsatisfied"] }], ["comment", "textarea", { optional: true }]]],
  reopen: ["/reopen", [["reason", "textarea"]]],
  merge: ["/merge", [["master_id", "text"]]],
  supervise: ["/supervise", [["reason", "textarea"], ["hours", "number", { optional: true }]]],
};

function fact(dl, key, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = t(key);
  const dd = document.createElement("dd");
  dd.textContent = value;
  dl.append(dt, dd);
}

function badges(c) {
  const out = [`<span class="badge">${esc(label("status", c.status))}</span>`];
  if (c.is_overdue) out.push(`<span class="badge overdue">${esc(t("screen.overdue"))}</span>`);
  if (c.is_urgent) out.push(`<span class="badge urgent">${esc(t("case.urgent"))}</span>`);
  // raised by the risk context (cases.priority); the reason is shown, not only hovered
  if ((c.priority || "normal") === "high") {
    const why = c.priority_reason ? `：${c.priority_reason}` : "";
    out.push(`<span class="badge high-risk" title="${esc(c.priority_reason || "")}">${esc(t("case.high_risk"))}</span>` +
      (why ? ` <small class="priority-reason">${esc(why.slice(1))}</small>` : ""));
  }
  return out.join(" ");
}

function renderFacts(c, names) {
  document.getElementById("case-number").textContent = `${t("case.title")} ${c.number}`;
  document.getElementById("case-badges").innerHTML = badges(c);
  document.getElementById("case-headline").textContent = c.title;
  const dl = document.getElementById("facts");
  dl.textContent = "";
  fact(dl, "case.description", c.description);
  fact(dl, "case.element", c.element_code);
  fact(dl, "case.channel", label("channel", c.channel));
  const depts = Object.entries(c.assignments || {}).map(([code, role]) => `${names[code] || code}（${label("assignment", role)}）`);
  fact(dl, "case.departments", depts.join("，") || t("case.not_dispatched"));
  fact(dl, "case.grid", c.grid_code);
  fact(dl, "case.address", c.address);
  fact(dl, "case.reporter", [c.reporter_name, c.reporter_phone].filter(Boolean).join(" "));
  fact(dl, "case.reported_at", when(c.reported_at));
  fact(dl, "case.handle_due_at", c.handle_due_at ? when(c.handle_due_at) : "");
  fact(dl, "case.closed_at", c.closed_at ? when(c.closed_at) : "");
  fact(dl, "case.satisfaction", c.satisfaction ? label("satisfaction", c.satisfaction) : "");
  fact(dl, "case.counts", t("case.counts_value", { returns: c.return_count, reworks: c.rework_count, extensions: c.extension_count }));
}

function renderSteps(steps) {
  const body = document.querySelector("#steps tbody");
  body.textContent = "";
  for (const s of steps) {
    const tr = document.createElement("tr");
    const late = s.overdue_at || (s.completed_at && s.due_at && s.completed_at > s.due_at);
    tr.innerHTML = `<td>${esc(label("step", s.step))}</td><td>${esc(when(s.due_at))}</td>` +
      `<td>${s.completed_at ? esc(when(s.completed_at)) : "—"}${late ? ` <span class="badge overdue">${esc(t("screen.overdue"))}</span>` : ""}</td>`;
    body.append(tr);
  }
}

function describe(entry) {
  const after = entry.after && typeof entry.after === "object" ? entry.after : {};
  const bits = [];
  if (after.status) bits.push(`→ ${label("status", after.status)}`);
  for (const k of ["reason", "text", "note", "lead", "satisfaction"]) {
    if (after[k] && typeof after[k] === "string") bits.push(k === "satisfaction" ? label("satisfaction", after[k]) : after[k]);
  }
  return bits.join(" · ");
}

function renderTimeline(entries) {
  const list = document.getElementById("timeline");
  list.textContent = "";
  for (const e of entries) {
    const li = document.createElement("li");
    const time = document.createElement("time");
    time.dateTime = e.at;
    time.textContent = when(e.at);
    const what = document.createElement("strong");
    what.textContent = label("action", e.action);
    const who = document.createElement("span");
    who.className = "muted";
    who.textContent = ` ${label("role", e.actor_role)}`;
    who.title = e.actor_id;
    li.append(time, what, who);
    const more = describe(e);
    if (more) li.append(document.createElement("br"), more);
    list.append(li);
  }
}

async function renderFiles(notes) {
  const box = document.getElementById("photos");
  const files = notes.filter((n) => n.attachment && n.attachment.sha256);
  if (!files.length) return;
  box.textContent = "";
  for (const n of files) {
    const a = n.attachment;
    const path = `${base}/attachments/${encodeURIComponent(a.sha256)}`;
    try {
      const url = await blobUrl(path);
      if ((a.content_type || "").startsWith("image/")) {
        const img = document.createElement("img");
        img.src = url;
        img.alt = n.text || a.filename || t("case.photo");
        img.loading = "lazy";
        box.append(img);
      } else {
        const link = document.createElement("a");
        link.href = url;
        link.download = a.filename || a.sha256;
        link.textContent = a.filename || a.sha256.slice(0, 12);
        box.append(link);
      }
    } catch (e) {
      const span = document.createElement("span");
      span.textContent = `${a.filename || a.sha256.slice(0, 12)}（${e.message}）`;
      box.append(span);
    }
  }
}

async function renderMap(c) {
  const L = window.L;
  const map = L.map("case-map", { attributionControl: false, zoomSnap: 0.25 });
  let centre = c.lon != null && c.lat != null ? [c.lat, c.lon] : null;
  try {
    const grid = await api(`/api/v1/regions/${encodeURIComponent(c.grid_code)}`, { quiet: true });
    if (grid.geometry) {
      const layer = L.geoJSON(grid.geometry, { style: { color: "#1d4f91", weight: 2, fillOpacity: 0.08 } }).addTo(map);
      map.fitBounds(layer.getBounds(), { padding: [10, 10] });
    }
    if (!centre && grid.centroid) centre = [grid.centroid[1], grid.centroid[0]];
  } catch (e) {
    /* the grid is outside the viewer's view: the point alone */
  }
  if (centre) {
    L.circleMarker(centre, { radius: 8, color: c.is_overdue ? "#c00000" : "#1a202c", weight: 3, fillColor: "#e8a317", fillOpacity: 0.9 })
      .bindTooltip(c.number).addTo(map);
    if (!map._loaded) map.setView(centre, 16);
  } else if (!map._loaded) map.setView([31.22, 121.54], 11);
}

function field(name, kind, opts = {}) {
  const id = `f-${name}-${Math.random().toString(36).slice(2, 7)}`;
  const wrap = document.createElement("div");
  wrap.className = "field";
  const lab = document.createElement("label");
  lab.htmlFor = id;
  lab.textContent = t(`field.${name}`) + (opts.optional ? ` ${t("field.optional")}` : "");
  let input;
  if (kind === "textarea") {
    input = document.createElement("textarea");
    input.rows = 2;
  } else if (kind === "bool" || kind === "select") {
    input = document.createElement("select");
    const options = kind === "bool" ? ["true", "false"] : opts.options;
    for (const o of options) {
      const op = document.createElement("option");
      op.value = o;
      op.textContent = kind === "bool" ? t(`field.${o}`) : (o ? label(name, o) : "—");
      input.append(op);
    }
  } else {
    input = document.createElement("input");
    input.type = kind === "number" ? "number" : kind === "file" ? "file" : "text";
    if (kind === "number") input.step = "any";
  }
  input.id = id;
  input.name = name;
  input.dataset.kind = kind;
  if (!opts.optional) input.required = true;
  const err = document.createElement("p");
  err.className = "field-error";
  err.id = `${id}-err`;
  err.hidden = true;
  input.setAttribute("aria-describedby", err.id);
  wrap.append(lab, input, err);
  return wrap;
}

function valueOf(input) {
  const kind = input.dataset.kind;
  if (kind === "bool") return input.value === "true";
  if (kind === "number") return input.value === "" ? undefined : Number(input.value);
  if (kind === "list") return input.value.split(/[,，\s]+/).filter(Boolean);
  return input.value.trim() === "" ? undefined : input.value.trim();
}

function showFieldError(form, err) {
  const name = (err.field || "").split(".").pop();
  const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
  const target = input || form.querySelector("button");
  if (input) {
    input.classList.add("invalid");
    input.setAttribute("aria-invalid", "true");
    const p = document.getElementById(input.getAttribute("aria-describedby"));
    p.textContent = err.message;
    p.hidden = false;
    input.focus();
  } else {
    const p = form.querySelector(".form-error");
    p.textContent = err.message;
    p.hidden = false;
    target.focus();
  }
}

function renderActions(c, reload) {
  const box = document.getElementById("actions");
  const actions = (c.allowed_actions || []).filter((a) => FORMS[a]);
  if (!actions.length) return;
  box.textContent = "";
  for (const action of actions) {
    const [path, fields] = FORMS[action];
    const details = document.createElement("details");
    details.className = "action";
    const summary = document.createElement("summary");
    summary.textContent = label("verb", action);
    const form = document.createElement("form");
    form.dataset.action = action;
    for (const [name, kind, opts] of fields) form.append(field(name, kind, opts || {}));
    const formError = document.createElement("p");
    formError.className = "form-error field-error";
    formError.setAttribute("role", "alert");
    formError.hidden = true;
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "primary";
    button.textContent = label("verb", action);
    form.append(formError, button);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
      for (const el of form.querySelectorAll(".field-error")) el.hidden = true;
      button.disabled = true;
      try {
        if (action === "attach") {
          const data = new FormData(form);
          data.set("expected_version", String(c.version));
          await api(base + path, { method: "POST", form: data, quiet: true });
        } else {
          const body = { expected_version: c.version };
          for (const input of form.querySelectorAll("[name]")) {
            const v = valueOf(input);
            if (v !== undefined && !(Array.isArray(v) && !v.length)) body[input.name] = v;
          }
          await api(base + path, { method: "POST", body, quiet: true });
        }
        showInfo(t("case.done_action", { action: label("verb", action) }));
        await reload();
      } catch (e) {
        showFieldError(form, e);
      } finally {
        button.disabled = false;
      }
    });
    details.append(summary, form);
    box.append(details);
  }
}

async function load() {
  const [c, entries, departments] = await Promise.all([
    api(base),
    api(`${base}/timeline`),
    api("/api/v1/departments", { quiet: true }).catch(() => []),
  ]);
  const names = Object.fromEntries(departments.map((d) => [d.code, lang === "en" ? d.name_en : d.name]));
  renderFacts(c, names);
  api(`/api/v1/catalogue/elements/${encodeURIComponent(c.element_code)}`, { quiet: true })
    .then((el) => {
      const dd = [...document.querySelectorAll("#facts dt")].find((dt) => dt.textContent === t("case.element"));
      if (dd) dd.nextElementSibling.textContent = `${lang === "en" ? el.name_en : el.name}（${c.element_code}）`;
    })
    .catch(() => {});
  renderSteps(c.steps || []);
  renderTimeline(entries);
  renderActions(c, load);
  await renderFiles(c.notes || []);
  return c;
}

async function main() {
  await requireUser();
  let c;
  try {
    c = await load();
  } catch (e) {
    root.setAttribute("aria-busy", "false");
    document.getElementById("case-headline").textContent = e.message;
    return;
  }
  await renderMap(c);
  root.setAttribute("aria-busy", "false");
  window.__case = { ready: true, case: c };
  document.body.dataset.ready = "1";
}

main();
