// The department workbench (/console/department): the work dispatched to the handler's
// departments, sign (accept) or return with a reason, progress notes, evidence upload, extension
// requests, the result (feedback), and the supervision orders raised on its cases. The buttons
// shown are the case's `allowed_actions` for this user, so an assisting department sees notes
// and evidence but not sign/return/feedback.

import {
  api, appendFiles, attempt, blobUrl, clear, h, labelled, say, session, statusLabel, t, when,
} from "./core.js";

const $ = (id) => document.getElementById(id);
const OPEN = ["dispatched", "handling", "verifying", "verified", "returned"];
let elements = [];
const elementName = (code) => {
  const e = elements.find((x) => x.code === code);
  return e ? `${code} ${document.documentElement.lang === "en" ? e.name_en || e.name : e.name}` : code;
};

async function loadWork() {
  const list = $("wb-work");
  await attempt(async () => {
    const qs = OPEN.map((s) => `status=${s}`).join("&");
    const page = await api(`/cases?${qs}&limit=100`);
    $("wb-work-count").textContent = String(page.total);
    const rows = page.items;
    clear(list, rows.length ? labelled(h("table", { class: "wb-table" },
      h("thead", {}, h("tr", {}, [t("case.number"), t("case.element"), t("case.status"), t("case.role"), t("case.due"), ""].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows.map((c) => h("tr", { class: c.is_overdue ? "wb-overdue" : "", dataset: { case: c.id, number: c.number } },
        h("td", {}, c.number),
        h("td", {}, elementName(c.element_code)),
        h("td", {}, statusLabel(c.status), c.is_overdue ? h("span", { class: "wb-tag wb-warn" }, t("overdue")) : null),
        h("td", {}, myRole(c)),
        h("td", {}, when(c.handle_due_at)),
        h("td", {}, h("button", { type: "button", dataset: { act: "open" }, onclick: () => openCase(c.id) }, t("case.handle"))))))))
      : h("p", { class: "wb-empty" }, t("work.empty")));
    await loadOrders(rows);
  }, list);
}

let me = null;
function myRole(c) {
  const roles = (me.department_ids || []).map((d) => (c.assignments || {})[d]).filter(Boolean);
  return roles.length ? roles.map((r) => t(`assign.${r}`)).join(", ") : "—";
}

async function loadOrders(rows) {
  const box = $("wb-orders");
  // the orders are on each case's detail: read the first 50 cases' details side by side
  const details = await Promise.all(rows.slice(0, 50).map((c) => api(`/cases/${c.id}`)));
  const found = [];
  for (const d of details) {
    for (const o of d.supervision_orders || []) if (o.status === "open") found.push({ c: d, o });
  }
  $("wb-orders-count").textContent = String(found.length);
  clear(box, found.length ? h("ul", { class: "wb-list" }, found.map(({ c, o }) => h("li", { class: "wb-warn-item" },
    h("strong", {}, c.number), ` · ${o.reason} · ${t("orders.due")} ${when(o.due_at)} `,
    h("button", { type: "button", onclick: () => openCase(c.id) }, t("case.handle")))))
    : h("p", { class: "wb-empty" }, t("orders.empty")));
}

async function openCase(id) {
  const panel = $("wb-case");
  await attempt(async () => {
    renderCase(await api(`/cases/${id}`));
    panel.scrollIntoView({ block: "nearest" });
  }, panel);
}

// An evidence photo, fetched with the token (an <img src> cannot send it) and shown small.
function thumb(caseId, meta) {
  const img = h("img", { class: "wb-thumb", alt: meta.filename, loading: "lazy" });
  blobUrl(`/api/v1/cases/${caseId}/attachments/${meta.sha256}`).then((url) => { img.src = url; }, () => img.remove());
  return img;
}

function renderCase(c) {
  const panel = $("wb-case");
  const errs = h("div", { class: "wb-errs", "aria-live": "polite" });
  const can = new Set(c.allowed_actions || []);
  const refresh = async (verb) => {
    say(t("case.done", { number: c.number, action: t(`action.${verb}`) }));
    await loadWork();
    renderCase(await api(`/cases/${c.id}`));
  };
  const post = (verb, body) => attempt(async () => {
    await api(`/cases/${c.id}/${verb}`, { method: "POST", body: { expected_version: c.version, ...(body || {}) } });
    await refresh(verb);
  }, errs);
  const parts = [];
  if (can.has("sign")) parts.push(h("button", { type: "button", class: "wb-primary", dataset: { act: "sign" }, onclick: () => post("sign") }, t("action.sign")));
  if (can.has("return")) {
    const why = h("input", { type: "text", id: "wb-return-reason", maxlength: "2000" });
    parts.push(h("div", { class: "wb-row" }, h("label", { for: "wb-return-reason" }, t("return.reason")), why,
      h("button", { type: "button", dataset: { act: "return" }, onclick: () => post("return", { reason: why.value }) }, t("action.return"))));
  }
  if (can.has("note")) {
    const text = h("textarea", { id: "wb-note", rows: "2", maxlength: "2000" });
    parts.push(h("div", { class: "wb-row" }, h("label", { for: "wb-note" }, t("note.text")), text,
      h("button", { type: "button", dataset: { act: "note" }, onclick: () => post("notes", { text: text.value }) }, t("action.note"))));
  }
  if (can.has("attach")) {
    const file = h("input", { type: "file", id: "wb-evidence", accept: "image/*,application/pdf,video/mp4" });
    const caption = h("input", { type: "text", id: "wb-evidence-text", maxlength: "2000" });
    parts.push(h("div", { class: "wb-row" },
      h("label", { for: "wb-evidence" }, t("evidence.file")), file,
      h("label", { for: "wb-evidence-text" }, t("evidence.caption")), caption,
      h("button", {
        type: "button", dataset: { act: "evidence" },
        onclick: () => attempt(async () => {
          if (!file.files.length) throw new Error(t("evidence.choose"));
          const fd = new FormData();
          appendFiles(fd, file, "file");
          fd.append("text", caption.value);
          await api(`/cases/${c.id}/evidence`, { method: "POST", form: fd });
          await refresh("attach");
        }, errs),
      }, t("action.attach"))));
  }
  if (can.has("request_extension")) {
    const why = h("input", { type: "text", id: "wb-ext-reason", maxlength: "2000" });
    const hours = h("input", { type: "number", id: "wb-ext-hours", min: "1", max: "720", value: "24" });
    parts.push(h("div", { class: "wb-row" },
      h("label", { for: "wb-ext-reason" }, t("ext.reason")), why,
      h("label", { for: "wb-ext-hours" }, t("ext.hours")), hours,
      h("button", { type: "button", dataset: { act: "extension" }, onclick: () => post("extensions", { reason: why.value, hours: Number(hours.value) }) }, t("action.request_extension"))));
  }
  if (can.has("feedback")) {
    const text = h("textarea", { id: "wb-feedback", rows: "2", maxlength: "2000" });
    parts.push(h("div", { class: "wb-row" }, h("label", { for: "wb-feedback" }, t("feedback.text")), text,
      h("button", { type: "button", class: "wb-primary", dataset: { act: "feedback" }, onclick: () => post("feedback", { text: text.value }) }, t("action.feedback"))));
  }
  const notes = (c.notes || []).map((n) => h("li", {}, `${when(n.at)} · ${t(`note.${n.kind}`)} · ${n.text || ""}`,
    n.attachment ? h("span", { class: "wb-tag" }, `${n.attachment.filename} (${Math.round(n.attachment.size / 1024)} KB)`) : null,
    n.attachment && n.attachment.content_type.startsWith("image/") ? thumb(c.id, n.attachment) : null));
  const orders = (c.supervision_orders || []).map((o) => h("li", { class: o.status === "open" ? "wb-warn-item" : "" },
    `${t("orders.order")} · ${o.reason} · ${t("orders.due")} ${when(o.due_at)} · ${t(`orders.${o.status}`)}`));
  const exts = (c.extensions || []).map((x) => h("li", {}, `${t("ext.request")} · ${x.reason} · ${t(`ext.${x.status}`)}`));
  clear(panel,
    h("h3", {}, `${c.number} · ${elementName(c.element_code)} `,
      h("a", { href: `/console/cases/${encodeURIComponent(c.id)}`, class: "wb-link" }, t("case.details"))),
    h("p", {}, `${statusLabel(c.status)} · ${c.address || c.grid_code} · ${t("case.due")} ${when(c.handle_due_at)}`),
    h("p", { class: "wb-text" }, c.description),
    orders.length ? [h("h4", {}, t("orders.title")), h("ul", {}, orders)] : null,
    parts.length ? parts : h("p", {}, t("case.nothing_to_do")),
    errs,
    exts.length ? [h("h4", {}, t("ext.title")), h("ul", {}, exts)] : null,
    h("h4", {}, t("notes.title")), notes.length ? h("ul", { class: "wb-notes" }, notes) : h("p", {}, "—"));
}

async function main() {
  me = await session(["department_handler"]);
  if (!me) return;
  elements = await api("/catalogue/elements");
  $("wb-refresh").addEventListener("click", loadWork);
  await loadWork();
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
