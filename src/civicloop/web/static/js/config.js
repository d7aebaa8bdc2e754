// The configuration page (/console/config): catalogue and discovery-rule files, validated by
// the contexts' own checks (POST /console/api/config/validate); each problem names its line
// and a button selects that line in the editor. Admins save rule files
// (PUT /console/api/config/rules/{name}) and catalogue files (PUT /console/api/config/catalogue/
// {name}: the whole catalogue is validated and kept as a local copy with a new version), and may
// restore the packaged catalogue (POST /console/api/config/catalogue/restore); auditors read and
// validate only.
import { api, esc, requireUser, showInfo, t } from "./api.js";

const select = document.getElementById("file-select");
const area = document.getElementById("config-text");
const status = document.getElementById("config-status");
const list = document.getElementById("problems");
const saveBtn = document.getElementById("save");
const restoreBtn = document.getElementById("restore");
const state = { files: [], current: null, original: "", me: null };
window.__config = state;

function selectLine(n) {
  const lines = area.value.split("\n");
  const start = lines.slice(0, n - 1).reduce((a, l) => a + l.length + 1, 0);
  area.focus();
  area.setSelectionRange(start, start + (lines[n - 1] || "").length);
  const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
  area.scrollTop = Math.max(0, (n - 4) * lineHeight);
}

function showProblems(result) {
  list.textContent = "";
  area.classList.toggle("invalid", !result.is_valid);
  area.setAttribute("aria-invalid", result.is_valid ? "false" : "true");
  if (result.is_valid) {
    status.className = "ok";
    status.textContent = t("config.valid");
    return;
  }
  status.className = "error";
  status.textContent = t("config.problems", { n: result.problems.length });
  for (const p of result.problems) {
    const li = document.createElement("li");
    li.textContent = p.message;
    if (p.line) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = t("config.go_line", { n: p.line });
      b.dataset.line = p.line;
      b.addEventListener("click", () => selectLine(p.line));
      li.append(b);
    }
    list.append(li);
  }
}

async function open(file) {
  state.current = file;
  const got = await api(`/console/api/config/files/${file.kind}/${encodeURIComponent(file.name)}`);
  area.value = got.text;
  state.original = got.text;
  document.getElementById("file-name").textContent = `${t("config.kind." + file.kind)} · ${file.name} · ${t("config.source." + file.source)}`;
  area.readOnly = false;
  saveBtn.hidden = !(file.editable && state.me.role === "admin");
  area.setAttribute("aria-invalid", "false");
  list.textContent = "";
  area.classList.remove("invalid");
  status.className = "muted";
  status.textContent = file.editable ? t("config.not_checked") : t("config.readonly_note");
}

async function validate() {
  const f = state.current;
  const result = await api("/console/api/config/validate", { method: "POST", body: { kind: f.kind, name: f.name, text: area.value } });
  showProblems(result);
  state.last = result;
  if (!result.is_valid) document.getElementById("problems-title").focus();
  return result;
}

async function save() {
  const f = state.current;
  try {
    const got = await api(`/console/api/config/${f.kind}/${encodeURIComponent(f.name)}`, { method: "PUT", body: { text: area.value }, quiet: true });
    showProblems(got);
    state.original = area.value;
    if (f.kind === "catalogue") {
      await refreshFiles();
      await open(state.current); // the saved text (its version line may have been renewed)
      showProblems(got);
      showInfo(t("config.saved_catalogue", { version: got.version }));
    } else {
      showInfo(t("config.saved", { n: got.rules }));
    }
  } catch (e) {
    if (e.problem?.problems) showProblems({ is_valid: false, problems: e.problem.problems });
    else {
      status.className = "error";
      status.textContent = e.message;
    }
  }
}

async function restore() {
  if (!window.confirm(t("config.restore_confirm"))) return;
  try {
    const got = await api("/console/api/config/catalogue/restore", { method: "POST", quiet: true });
    showInfo(t("config.restored", { version: got.version }));
    await refreshFiles();
    if (state.current?.kind === "catalogue") await open(state.files.find((f) => f.kind === "catalogue" && f.name === state.current.name) || state.files[0]);
  } catch (e) {
    status.className = "error";
    status.textContent = e.message;
  }
}

async function refreshFiles() {
  // the file list (where each file comes from), the catalogue summary and the restore button
  const keep = state.current ? `${state.current.kind}/${state.current.name}` : null;
  state.files = await api("/console/api/config/files");
  select.textContent = "";
  for (const [i, f] of state.files.entries()) {
    const o = document.createElement("option");
    o.value = String(i);
    o.textContent = `${t("config.kind." + f.kind)} / ${f.name}`;
    select.append(o);
    if (keep === `${f.kind}/${f.name}`) {
      select.value = String(i);
      state.current = f;
      document.getElementById("file-name").textContent = `${t("config.kind." + f.kind)} · ${f.name} · ${t("config.source." + f.source)}`;
    }
  }
  restoreBtn.hidden = !(state.me.role === "admin" && state.files.some((f) => f.kind === "catalogue" && f.source === "local"));
  const cat = await api("/api/v1/catalogue", { quiet: true }).catch(() => null);
  if (cat) {
    const summary = document.getElementById("catalogue-summary");
    summary.textContent = t("config.catalogue_summary", {
      version: cat.version, categories: (cat.categories || []).length, scenes: (cat.scenes || []).length,
    });
    summary.dataset.version = cat.version;
  }
}

async function main() {
  state.me = await requireUser();
  await refreshFiles();
  select.addEventListener("change", () => open(state.files[Number(select.value)]));
  document.getElementById("validate").addEventListener("click", validate);
  saveBtn.addEventListener("click", save);
  restoreBtn.addEventListener("click", restore);
  document.getElementById("reset").addEventListener("click", () => { area.value = state.original; list.textContent = ""; });
  const firstRules = state.files.findIndex((f) => f.kind === "rules");
  select.value = String(firstRules >= 0 ? firstRules : 0);
  await open(state.files[Number(select.value)]);
  document.body.dataset.ready = "1";
}

main();
