// civicloop console: the one module every page imports.
//
// Why: pages are shells; all data comes from the platform's JSON API with the user's bearer
// token, so authorisation has one path. This module keeps the token (sessionStorage: it dies
// with the tab, and is never in a cookie that other sites could ride), calls the API, turns
// application/problem+json into a translated message people can read, and offers t(key) over
// the dictionary the server embedded in the page.
//
//   import { api, t, requireUser, login, logout, showError, apiUrl } from "/static/js/api.js";
//   const me = await requireUser();            // redirects to /login?next=… when logged out
//   const page = await api("/api/v1/cases?limit=20");
//   await api(`/api/v1/cases/${id}/notes`, { method: "POST", body: { text: "…" } });
//   await api("/api/v1/intake/reports/photo", { method: "POST", form: formData });
//   api(path, { quiet: true })                 // throw without showing the flash message

const TOKEN_KEY = "civicloop.token";
const USER_KEY = "civicloop.user";

let words = {};
try {
  words = JSON.parse(document.getElementById("i18n-data")?.textContent || "{}");
} catch (e) {
  words = {};
}

export const lang = document.documentElement.lang.startsWith("en") ? "en" : "zh";

/** A word from the page's dictionary; {name} placeholders are filled from `values`. */
export function t(key, values = {}) {
  let text = words[key] ?? key;
  for (const [k, v] of Object.entries(values)) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

/** A label of a status / role / action code: `status.closed`, `role.dispatcher`, … */
export function label(kind, code) {
  const key = `${kind}.${code}`;
  return words[key] ?? code;
}

export class ApiError extends Error {
  constructor(status, problem, message) {
    super(message);
    this.status = status;
    this.problem = problem || {};
    this.field = this.problem.field;
    this.code = this.problem.code;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** The message to show for a problem body: its (server-translated) title and detail. */
export function problemMessage(status, problem) {
  if (!problem || typeof problem !== "object") return t("error.http", { status });
  const parts = [problem.title, problem.detail && problem.detail !== problem.title ? problem.detail : ""];
  let text = parts.filter(Boolean).join(t("error.sep"));
  if (problem.request_id && status >= 500) text += ` (${t("error.request_id")} ${problem.request_id})`;
  return text || t("error.http", { status });
}

/** Call the API. Resolves to the parsed JSON (null for 204); rejects with ApiError. */
export async function api(path, { method = "GET", body, form, headers = {}, quiet = false, raw = false } = {}) {
  const h = { "Accept": "application/json", "Accept-Language": lang === "en" ? "en" : "zh-CN", ...headers };
  const tok = token();
  if (tok) h["Authorization"] = `Bearer ${tok}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    h["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: payload });
  } catch (e) {
    const err = new ApiError(0, null, t("error.network"));
    if (!quiet) showError(err.message);
    throw err;
  }
  if (res.ok) {
    if (raw) return res;
    if (res.status === 204) return null;
    const type = res.headers.get("content-type") || "";
    return type.includes("json") ? res.json() : res.text();
  }
  let problem = null;
  try {
    problem = await res.json();
  } catch (e) {
    problem = null;
  }
  const err = new ApiError(res.status, problem, problemMessage(res.status, problem));
  if (res.status === 401 && !path.endsWith("/auth/login")) {
    forget();
    if (!quiet) goLogin();
  }
  if (!quiet) showError(err.message);
  throw err;
}

/** Show a message in the page's alert region (role=alert, read out by screen readers). */
export function showError(message) {
  const box = document.getElementById("flash");
  if (!box) return;
  box.textContent = message;
  box.className = "flash flash-error";
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

export function showInfo(message) {
  const box = document.getElementById("flash");
  if (!box) return;
  box.textContent = message;
  box.className = "flash flash-info";
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

function goLogin() {
  const next = location.pathname + location.search;
  if (location.pathname !== "/login") location.assign(`/login?next=${encodeURIComponent(next)}`);
}

/** Log in; keeps the token and the user (GET /api/v1/me) and returns the user. */
export async function login(username, password) {
  forget();
  const got = await api("/api/v1/auth/login", { method: "POST", body: { username, password }, quiet: true });
  sessionStorage.setItem(TOKEN_KEY, got.access_token);
  return currentUser({ refresh: true });
}

export async function logout() {
  try {
    if (token()) await api("/api/v1/auth/logout", { method: "POST", quiet: true });
  } catch (e) {
    /* the token may already be gone; logging out locally is what matters */
  }
  forget();
  location.assign("/login");
}

let pendingUser = null;

/** Who is logged in (cached for the tab), or null. Concurrent callers share one request. */
export async function currentUser({ refresh = false } = {}) {
  if (!token()) return null;
  if (!refresh) {
    const cached = sessionStorage.getItem(USER_KEY);
    if (cached) return JSON.parse(cached);
    if (pendingUser) return pendingUser;
  }
  pendingUser = fetchUser();
  try {
    return await pendingUser;
  } finally {
    pendingUser = null;
  }
}

async function fetchUser() {
  try {
    const me = await api("/api/v1/me", { quiet: true });
    sessionStorage.setItem(USER_KEY, JSON.stringify(me));
    return me;
  } catch (e) {
    if (e.status === 401) forget();
    return null;
  }
}

/** The logged-in user, or a redirect to the login page (the promise then never resolves). */
export async function requireUser() {
  const me = await currentUser();
  if (!me) {
    goLogin();
    return new Promise(() => {});
  }
  return me;
}

/** The first navigation entry the role may use: where a user lands after logging in. */
export function homeFor(role) {
  for (const li of document.querySelectorAll(".site-nav li[data-roles]")) {
    if (li.dataset.roles.split(" ").includes(role)) return li.querySelector("a").getAttribute("href");
  }
  return "/console/screen";
}

/** A URL with the token as a query parameter (EventSource cannot send headers). */
export function apiUrl(path) {
  const sep = path.includes("?") ? "&" : "?";
  return `${path}${sep}token=${encodeURIComponent(token() || "")}`;
}

/** Fetch an authorised binary (a photo) and return an object URL for <img src>. */
export async function blobUrl(path) {
  const res = await api(path, { raw: true, quiet: true });
  return URL.createObjectURL(await res.blob());
}

/** Format a UTC ISO time in Beijing time, as the public page does. */
export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(lang === "en" ? "en-GB" : "zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hour12: false,
  });
}

/** Escape text for innerHTML templates (prefer textContent where possible). */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// The header: who is logged in, their navigation, the logout button.
async function decorate() {
  const me = await currentUser();
  for (const li of document.querySelectorAll(".site-nav li[data-roles]")) {
    li.hidden = !me || !li.dataset.roles.split(" ").includes(me.role);
  }
  if (!me) return;
  const box = document.getElementById("user-box");
  document.getElementById("user-name").textContent = me.name;
  document.getElementById("user-role").textContent = label("role", me.role);
  box.hidden = false;
  const out = document.getElementById("logout");
  out.hidden = false;
  out.addEventListener("click", logout);
}

decorate();
