// The panel shell: login, navigation by role, the agent workspace (phone bar + live state over
// SSE) and the admin audit log. All text goes in through textContent (SPEC §12: output escaped).
import { t, apply, setLang, current } from "./i18n.js";

const $ = (sel) => document.querySelector(sel);
let session = null;
let stream = null;

/** Calls the JSON API; cookie writes carry the session's CSRF token. */
async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session?.csrf_token) headers["X-CSRF-Token"] = session.csrf_token;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  return { status: r.status, data };
}

function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

const PAGES = {
  workspace: { roles: ["agent", "admin", "supervisor"], label: "nav.workspace", render: workspace },
  audit: { roles: ["admin"], label: "nav.audit", render: auditLog },
};

function nav() {
  const n = $("#nav");
  n.replaceChildren();
  for (const [id, p] of Object.entries(PAGES)) {
    if (p.roles.includes(session.role)) n.append(el("a", t(p.label), { href: `#/${id}`, id: `nav-${id}` }));
  }
}

function route() {
  if (!session) return;
  const id = location.hash.replace(/^#\//, "") || (session.role === "admin" ? "audit" : "workspace");
  const page = PAGES[id];
  const view = $("#view");
  view.replaceChildren();
  if (!page || !page.roles.includes(session.role)) {
    view.append(el("p", t("forbidden"), { class: "error", id: "forbidden" }));
    return;
  }
  page.render(view);
}

function stateLabel(s) { return t(`state.${s}`) === `state.${s}` ? s : t(`state.${s}`); }

function workspace(view) {
  view.append(el("h1", t("nav.workspace")));
  const bar = el("div", undefined, { class: "phonebar", "aria-label": t("phonebar") });
  bar.append(el("span", t("phonebar")), el("span", `${t("agent.state")}:`));
  const state = el("span", t("state.unknown"), { class: "state", id: "agent-state" });
  bar.append(state);
  const err = el("span", "", { class: "error", id: "state-error" });
  for (const s of ["idle", "break", "offline"]) {
    const b = el("button", stateLabel(s), { type: "button", id: `to-${s}` });
    b.addEventListener("click", async () => {
      err.textContent = "";
      const body = s === "break" ? { state: s, reason: "小休" } : { state: s };
      const r = await api("POST", `/api/agents/${encodeURIComponent(session.username)}/state`, body);
      if (r.status !== 200) err.textContent = r.data.message || String(r.status);
    });
    bar.append(b);
  }
  bar.append(err);
  view.append(bar);
  const log = el("ul", undefined, { id: "live-log", "aria-label": t("live") });
  view.append(log);
  openStream((ev) => {
    if (ev.kind === "agent.state" && ev.agent === session.extension) {
      state.textContent = stateLabel(ev.data.state);
      state.dataset.state = ev.data.state;
    }
    log.prepend(el("li", `${new Date(ev.at_ms).toLocaleTimeString()} ${ev.kind} ${ev.data.state ?? ""}`));
    while (log.children.length > 20) log.lastChild.remove();
  });
}

function openStream(onEvent) {
  stream?.close();
  stream = new EventSource("/api/events/stream");
  stream.addEventListener("open", () => document.body.dataset.live = "open");
  for (const kind of ["agent.state", "call.offered", "call.answered", "call.ended", "queue.entered"]) {
    stream.addEventListener(kind, (m) => { try { onEvent(JSON.parse(m.data)); } catch { /* bad frame: skip */ } });
  }
}

async function auditLog(view) {
  view.append(el("h1", t("nav.audit")));
  const r = await api("GET", "/api/audit-log?limit=100");
  const table = el("table", undefined, { id: "audit" });
  const head = el("tr");
  for (const k of ["audit.when", "audit.who", "audit.action", "audit.target", "audit.status"]) head.append(el("th", t(k)));
  table.append(head);
  for (const row of r.data.items ?? []) {
    const tr = el("tr");
    for (const v of [new Date(row.at_ms).toLocaleString(), row.username, row.action, row.target, row.status]) tr.append(el("td", String(v)));
    table.append(tr);
  }
  view.append(table);
}

async function start() {
  apply();
  $("#lang").value = current();
  $("#lang").addEventListener("change", (e) => { setLang(e.target.value); apply(); if (session) { nav(); route(); } });
  $("#login").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const r = await api("POST", "/api/login", { username: f.get("username"), password: f.get("password") });
    if (r.status !== 200) { $("#login-error").textContent = r.data.message || t("login.failed"); return; }
    await loadSession();
  });
  $("#logout").addEventListener("click", async () => { await api("POST", "/api/logout"); stream?.close(); location.hash = ""; location.reload(); });
  window.addEventListener("hashchange", route);
  await loadSession();
}

async function loadSession() {
  const r = await api("GET", "/api/session");
  if (r.status !== 200) { $("#login").hidden = false; $("#top").hidden = true; return; }
  session = r.data;
  $("#login").hidden = true;
  $("#top").hidden = false;
  $("#who").textContent = `${session.display_name} (${session.role})`;
  nav();
  route();
}

start();
