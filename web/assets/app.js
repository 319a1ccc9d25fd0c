// The panel shell: login, navigation by role, and the router that renders the pages of
// pages/index.js. All text goes in through textContent (SPEC §12: output escaped).
import { t, apply, setLang, current, register } from "./i18n.js";
import { ctx, api, el, closeStream } from "./lib.js";
import pages, { SECTIONS } from "./pages/index.js";

const $ = (sel) => document.querySelector(sel);
const PAGES = Object.fromEntries(pages.map((p) => [p.id, p]));
for (const p of pages) if (p.dict) register(p.dict);

/** The side navigation: the pages this role may open, by section; the current page marked. */
function nav() {
  const n = $("#nav");
  n.replaceChildren();
  for (const [label, list] of SECTIONS) {
    const mine = list.filter((p) => p.roles.includes(ctx.session.role));
    if (!mine.length) continue;
    const sec = el("div", undefined, { class: "nav-section" });
    sec.append(el("div", t(label), { class: "nav-title" }));
    for (const p of mine) sec.append(el("a", t(p.label), { href: `#/${p.id}`, id: `nav-${p.id}` }));
    n.append(sec);
  }
  // One page only (an agent's workspace): no sidebar, the page gets the whole width.
  n.hidden = n.querySelectorAll("a").length < 2;
  mark();
}

/** Marks the navigation link of the page on screen (`aria-current`). */
function mark() {
  const id = location.hash.replace(/^#\//, "").split("?")[0];
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.id === `nav-${id}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function route() {
  if (!ctx.session) return;
  const home = pages.find((p) => p.roles.includes(ctx.session.role));
  const id = location.hash.replace(/^#\//, "").split("?")[0] || home?.id;
  const page = PAGES[id];
  const view = $("#view");
  view.replaceChildren();
  closeStream();
  mark();
  if (!page || !page.roles.includes(ctx.session.role)) {
    view.append(el("p", t("forbidden"), { class: "error", id: "forbidden" }));
    return;
  }
  page.render(view);
}

async function start() {
  apply();
  $("#lang").value = current();
  $("#lang").addEventListener("change", (e) => { setLang(e.target.value); apply(); if (ctx.session) { nav(); route(); } });
  $("#login").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const r = await api("POST", "/api/login", { username: f.get("username"), password: f.get("password") });
    if (r.status !== 200) { $("#login-error").textContent = r.data.message || t("login.failed"); return; }
    await loadSession();
  });
  $("#logout").addEventListener("click", async () => { await api("POST", "/api/logout"); closeStream(); location.hash = ""; location.reload(); });
  window.addEventListener("hashchange", route);
  await loadSession();
}

async function loadSession() {
  const r = await api("GET", "/api/session");
  if (r.status !== 200) { $("#login").hidden = false; $("#top").hidden = true; return; }
  ctx.session = r.data;
  $("#login").hidden = true;
  $("#top").hidden = false;
  $("#who").textContent = `${ctx.session.display_name} (${ctx.session.role})`;
  nav();
  route();
}

start();
