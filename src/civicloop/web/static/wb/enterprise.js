// The enterprise portal (/enterprise): an enterprise user binds their account to the
// enterprise's unified social credit code (checked per GB 32100 by the server), files demands
// in the doorstep-service categories, follows them (status, department, deadline, tracking
// code) and rates them once closed, or says they are not resolved.

import { api, attempt, clear, h, say, session, statusLabel, t, when } from "./core.js";

const $ = (id) => document.getElementById(id);

async function loadEnterprise() {
  try {
    const ent = await api("/enterprise/me");
    $("wb-register-box").hidden = true;
    $("wb-demand-box").hidden = false;
    clear($("wb-ent"), h("strong", {}, ent.name), ` · ${t("ent.code")} `, h("span", { class: "wb-code" }, ent.credit_code),
      ent.address ? ` · ${ent.address}` : null);
    return true;
  } catch (err) {
    if (err.status !== 403 && err.status !== 404) throw err;
    $("wb-register-box").hidden = false;
    $("wb-demand-box").hidden = true;
    clear($("wb-ent"), t("ent.unbound"));
    return false;
  }
}

async function register(ev) {
  ev.preventDefault();
  const form = ev.target;
  await attempt(async () => {
    const body = { credit_code: form.credit_code.value.trim() };
    const name = form.elements.namedItem("name").value.trim();
    if (name) body.name = name;
    await api("/enterprise/register", { method: "POST", body });
    say(t("ent.registered"));
    if (await loadEnterprise()) await loadDemands();
  }, $("wb-register-errs"));
}

async function fileDemand(ev) {
  ev.preventDefault();
  const form = ev.target;
  await attempt(async () => {
    const body = { category: form.category.value, text: form.text.value, title: form.elements.namedItem("title").value };
    if (form.contact_phone.value) body.contact_phone = form.contact_phone.value;
    const d = await api("/enterprise/demands", { method: "POST", body });
    say(t("demand.filed", { number: d.number }));
    form.reset();
    await loadDemands();
  }, $("wb-demand-errs"));
}

async function loadDemands() {
  const box = $("wb-demands");
  await attempt(async () => {
    const page = await api("/enterprise/demands?limit=100");
    $("wb-demands-count").textContent = String(page.total);
    clear(box, page.items.length ? page.items.map(demandCard) : h("p", { class: "wb-empty" }, t("demand.empty")));
  }, box);
}

function demandCard(d) {
  const errs = h("div", { class: "wb-errs", "aria-live": "polite" });
  const parts = [];
  if (d.status === "closed" && !d.satisfaction) {
    const select = h("select", { id: `rs-${d.id}` },
      ["satisfied", "basically_satisfied", "unsatisfied"].map((v) => h("option", { value: v }, t(`rate.${v}`))));
    const comment = h("input", { type: "text", id: `rc-${d.id}`, maxlength: "2000" });
    parts.push(h("div", { class: "wb-row" },
      h("label", { for: `rs-${d.id}` }, t("rate.title")), select,
      h("label", { for: `rc-${d.id}` }, t("rate.comment")), comment,
      h("button", {
        type: "button", class: "wb-primary", dataset: { act: "rate" },
        onclick: () => attempt(async () => {
          await api(`/cases/${d.id}/follow-up`, { method: "POST", body: { satisfaction: select.value, comment: comment.value, expected_version: d.version } });
          say(t("rate.thanks"));
          await loadDemands();
        }, errs),
      }, t("rate.send"))));
  }
  if (d.status === "closed" || d.status === "followed_up") {
    const why = h("input", { type: "text", id: `nf-${d.id}`, maxlength: "2000" });
    parts.push(h("div", { class: "wb-row" },
      h("label", { for: `nf-${d.id}` }, t("notfixed.what")), why,
      h("button", {
        type: "button", dataset: { act: "not-fixed" },
        onclick: () => attempt(async () => {
          await api(`/cases/${d.id}/not-fixed`, { method: "POST", body: { comment: why.value } });
          say(t("notfixed.sent"));
          await loadDemands();
        }, errs),
      }, t("notfixed.send"))));
  }
  return h("article", { class: "wb-card", dataset: { case: d.id, number: d.number, status: d.status } },
    h("header", {}, h("strong", {}, statusLabel(d.status)), ` · ${[d.category_name, d.title].filter(Boolean).join(" · ")}`,
      d.is_overdue ? h("span", { class: "wb-tag wb-warn" }, t("overdue")) : null),
    h("p", { class: "wb-text" }, d.description),
    h("p", {}, `${t("case.department")}: ${d.lead_department_name || "—"} · ${t("case.due")} ${when(d.deadline_at)} · ${t("mine.code")}: `,
      h("a", { href: `/track?code=${encodeURIComponent(d.tracking_code)}`, class: "wb-code" }, d.tracking_code)),
    d.satisfaction ? h("p", {}, `${t("rate.given")}: ${t(`rate.${d.satisfaction}`)}`) : null,
    parts, errs);
}

async function main() {
  const me = await session(["enterprise"]);
  if (!me) return;
  const cats = await api("/enterprise/categories");
  clear($("wb-category"), cats.map((c) => h("option", { value: c.category }, c.name)));
  $("wb-register").addEventListener("submit", register);
  $("wb-demand").addEventListener("submit", fileDemand);
  $("wb-refresh").addEventListener("click", loadDemands);
  if (await loadEnterprise()) await loadDemands();
  document.body.dataset.ready = me.role;
}

main();
