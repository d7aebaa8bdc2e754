// The login form: POST /api/v1/auth/login through api.js, then to ?next= (same-site paths
// only, never another origin) or the user's first page.
import { login, homeFor, t } from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    error.textContent = t("login.missing");
    error.hidden = false;
    (username ? form.password : form.username).focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const me = await login(username, password);
    const next = new URLSearchParams(location.search).get("next") || "";
    const safe = next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\");
    location.assign(safe ? next : homeFor(me.role));
  } catch (e) {
    error.textContent = e.message || t("error.network");
    error.hidden = false;
    form.password.focus();
  } finally {
    button.disabled = false;
  }
});
