// Shared plumbing of the workbench and portal pages, on top of the console's /static/js/api.js
// (token, login redirect, problem+json messages, the embedded dictionary). What this adds:
// API calls under /api/v1 whose errors are shown next to the form that caused them (field and
// rule included) instead of only in the page flash, a tiny safe DOM builder (text is never
// parsed as HTML), our "wb." dictionary keys, and the Leaflet helpers the pages share.

// The same URL (version query included) as base.html's <script>, so the page holds ONE
// instance of api.js (one header decoration, one dictionary), not two.
const tag = document.querySelector('script[src*="/static/js/api.js"]');
const base = await import(tag ? tag.src : "/static/js/api.js");

export const lang = () => base.lang;
export const when = base.when;

/** Our words live under "wb." in the merged dictionary so they never shadow the console's. */
export function t(key, vars) {
  const k = key.startsWith("wb.") ? key : `wb.${key}`;
  const found = base.t(k, vars || {});
  return found === k ? base.t(key, vars || {}) : found;
}

export const statusLabel = (s) => t(`status.${s}`);

/** GET/POST /api/v1{path}; rejects with the console's ApiError (its `problem` is the body). */
export function api(path, opts = {}) {
  return base.api(`/api/v1${path}`, { quiet: true, ...opts });
}

// h("button", {class: "x", onclick: fn}, "text", child…): builds nodes; text is never HTML.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(3)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Name each cell after its column (``data-label``): on a phone wb.css stacks the rows as
 *  cards and shows those names, so a wide table never runs past the screen's edge. */
export function labelled(table) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((td, i) => { if (names[i]) td.dataset.label = names[i]; });
  }
  return table;
}

export function clear(node, ...children) {
  node.replaceChildren(...children.flat(3).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** A message in the page's alert region. */
export function say(msg, kind = "ok") {
  if (kind === "error") base.showError(msg);
  else base.showInfo(msg);
}

export function problemText(err) {
  if (err instanceof base.ApiError) {
    const p = err.problem || {};
    let text = err.message;
    if (p.field) text += ` (${t("field")}: ${p.field})`;
    return text;
  }
  return String(err && err.message ? err.message : err);
}

/** Run an action; its error is shown in `where` (role=alert) and the flash. True when done. */
export async function attempt(fn, where) {
  try {
    await fn();
    // a success removes an earlier error shown there (and nothing else)
    if (where) for (const old of where.querySelectorAll(":scope > .wb-error")) old.remove();
    return true;
  } catch (err) {
    const text = problemText(err);
    if (err && err.status === 401) base.requireUser();
    if (where) {
      for (const old of where.querySelectorAll(":scope > .wb-error")) old.remove();
      where.prepend(h("p", { class: "wb-error", role: "alert" }, text));
    }
    say(text, "error");
    return false;
  }
}

/** The logged-in user (or the login page); a user of another role is told whose page it is
 * and gets null. */
export async function session(roles) {
  const me = await base.requireUser();
  if (roles && !roles.includes(me.role)) {
    const main = document.getElementById("wb-main");
    clear(main, h("p", { class: "wb-error", role: "alert" },
      t("wrong_role", { roles: roles.map((r) => base.label("role", r)).join(" / ") })),
      h("a", { href: "/login" }, t("switch_user")));
    document.body.dataset.ready = "wrong-role";
    return null;
  }
  return me;
}

// Leaflet (vendored under /static/vendor/leaflet); no tile server: markers over region outlines.
export function makeMap(node, center, zoom = 16) {
  return window.L.map(node, { attributionControl: false }).setView([center[1], center[0]], zoom);
}

export function appendFiles(fd, input, name) {
  for (const f of input.files || []) fd.append(name, f, f.name);
}

export const blobUrl = base.blobUrl;

/** A console endpoint outside /api/v1 (e.g. /console/api/geo), with the same token. */
export function consoleApi(path, opts = {}) {
  return base.api(path, { quiet: true, ...opts });
}
