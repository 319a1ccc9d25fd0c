// Chat session records (会话记录, SPEC §9/§11): the web-chat sessions of the user's scope
// (`GET /api/chat-records`, newest first, a page at a time by `next`), filtered by period (with
// presets), skill group, agent and visitor; columns start, visitor, phone, group, agents,
// messages, first response, rating, end cause. A row opens to show its full transcript
// (`GET /api/chats/{id}`); CSV and Excel downloads carry the same filters (and the transcript).
import { current, t } from "../i18n.js";
import { api, ctx, el } from "../lib.js";
import { hms, presetRange } from "./reports.js";
import { stamp } from "./calls.js";
import { chatStyles, dict as chatDict, messageItem, ratingLabel } from "./chatpanel.js";

// The preset and download labels (rep.*) come from reports.js's dictionary.
const PRESETS = ["today", "yesterday", "7d", "month"];
const FILTERS = ["from", "to", "group", "agent", "visitor"];
const COLS = ["started", "name", "phone", "group", "agents", "messages", "first_response", "rating", "end_cause", "ended"];
const CAUSES = ["visitor_left", "agent_ended", "idle_timeout", "queue_timeout", "shutdown", "transfer"];
/** Roles that may read the skill-group list (ConfigRead in src/web/guard.rs). */
const GROUP_READERS = ["admin", "supervisor"];
const PER_PAGE = 50;

// The filters as last used: a language switch re-renders the page.
const last = { values: {} };

/** A record's cell as shown. */
function show(rec, col) {
  switch (col) {
    case "started": return stamp(rec.started_ms);
    case "ended": return stamp(rec.ended_ms);
    case "name": return rec.name || rec.visitor || "";
    case "agents": return (rec.agents ?? []).join(", ");
    case "first_response": return rec.first_response_secs === null || rec.first_response_secs === undefined ? "" : hms(rec.first_response_secs);
    case "rating": return rec.rating ? ratingLabel(rec.rating) : rec.invited ? t("crec.invited") : "";
    case "end_cause": return rec.end_cause ? (CAUSES.includes(rec.end_cause) ? t(`crec.cause.${rec.end_cause}`) : rec.end_cause) : "";
    case "messages": return String(rec.messages ?? "");
    default: return rec[col] === null || rec[col] === undefined ? "" : String(rec[col]);
  }
}

/** A labelled control `name`, appended to `form`. */
function field(form, name, control) {
  const l = el("label", undefined, { class: "field", for: `crec-${name}` });
  control.name = name;
  control.id = `crec-${name}`;
  l.append(el("span", t(`crec.${name}`)), control);
  form.append(l);
  return control;
}

/** The transcript of one session. */
async function transcript(id) {
  const box = el("div", undefined, { class: "chat-records-transcript" });
  const r = await api("GET", `/api/chats/${encodeURIComponent(id)}`);
  if (r.status !== 200) { box.append(el("p", r.data.message || String(r.status), { class: "error" })); return box; }
  const v = r.data;
  const facts = el("p", [v.page ? `${t("chat.page")}: ${v.page}` : "", v.visitor ? `${t("crec.visitor")}: ${v.visitor}` : ""].filter(Boolean).join(" · "), { class: "hint" });
  const list = el("ol", undefined, { class: "chat-transcript", "data-id": id });
  for (const m of v.messages ?? []) list.append(messageItem(m));
  if (!(v.messages ?? []).length) list.append(el("li", t("crec.empty"), { class: "empty" }));
  box.append(facts, list);
  return box;
}

function render(view) {
  chatStyles();
  view.append(el("h1", t("nav.chat_records")));
  const form = el("form", undefined, { id: "crec-form", class: "chat-records-form" });
  const [d0, d1] = presetRange("today");
  const from = field(form, "from", el("input", undefined, { type: "date" }));
  const to = field(form, "to", el("input", undefined, { type: "date" }));
  const presets = el("span", undefined, { id: "crec-presets", class: "calls-presets" });
  for (const p of PRESETS) presets.append(el("button", t(`rep.preset.${p}`), { type: "button", id: `crec-preset-${p}`, "data-preset": p }));
  form.append(presets);
  let group = field(form, "group", el("input", undefined, { type: "text" }));
  field(form, "agent", el("input", undefined, { type: "text", inputmode: "numeric" }));
  field(form, "visitor", el("input", undefined, { type: "text" }));
  form.append(el("button", t("crec.run"), { type: "submit", id: "crec-run" }));
  const links = el("div", undefined, { id: "crec-links", class: "calls-links" });
  const err = el("p", "", { class: "error", id: "crec-error", role: "alert" });
  const out = el("div", undefined, { id: "crec-table", class: "calls-table" });
  const more = el("button", t("crec.more"), { type: "button", id: "crec-more", hidden: "" });
  view.append(form, err, links, out, more);

  for (const n of FILTERS) {
    const c = form.elements.namedItem(n);
    if (c && last.values[n] !== undefined) c.value = last.values[n];
  }
  if (!from.value) from.value = d0;
  if (!to.value) to.value = d1;

  let filters = new URLSearchParams();
  let next = null;
  let body = null;

  function query() {
    const p = new URLSearchParams();
    for (const n of FILTERS) {
      const v = form.elements.namedItem(n)?.value.trim();
      if (v) p.set(n, v);
    }
    return p;
  }

  function downloads() {
    links.replaceChildren();
    for (const fmt of ["csv", "xlsx"]) {
      const q = new URLSearchParams(filters);
      q.set("format", fmt);
      q.set("lang", current());
      links.append(el("a", t(`rep.${fmt}`), { href: `/api/chat-records?${q}`, download: "", id: `crec-${fmt}` }), document.createTextNode(" "));
    }
  }

  function addRows(rows) {
    for (const rec of rows) {
      const tr = el("tr", undefined, { class: "crec-row", "data-id": rec.id ?? "" });
      const open = el("button", "+", { type: "button", class: "crec-expand calls-expand", "aria-expanded": "false", title: t("crec.expand") });
      const first = el("td");
      first.append(open);
      tr.append(first);
      for (const c of COLS) tr.append(el("td", show(rec, c), { "data-column": c }));
      const extra = el("tr", undefined, { class: "chat-records-detail", hidden: "" });
      const td = el("td", undefined, { colspan: String(COLS.length + 1) });
      extra.append(td);
      open.addEventListener("click", async () => {
        const opening = extra.hidden;
        extra.hidden = !opening;
        open.textContent = opening ? "−" : "+";
        open.setAttribute("aria-expanded", String(opening));
        if (opening && !td.firstChild) td.append(await transcript(rec.id));
      });
      body.append(tr, extra);
    }
  }

  async function page(after) {
    const q = new URLSearchParams(filters);
    q.set("limit", String(PER_PAGE));
    if (after) q.set("after", after);
    const r = await api("GET", `/api/chat-records?${q}`);
    if (r.status !== 200) {
      err.textContent = r.data.message || String(r.status);
      const bad = r.data.field && form.elements.namedItem(r.data.field);
      if (bad) bad.setAttribute("aria-invalid", "true");
      return;
    }
    addRows(r.data.rows ?? []);
    next = r.data.next ?? null;
    more.hidden = !next;
    if (!body.querySelector("tr.crec-row")) out.append(el("p", t("crec.none"), { id: "crec-empty", class: "empty" }));
  }

  async function run() {
    err.textContent = "";
    for (const c of form.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
    last.values = Object.fromEntries(FILTERS.map((n) => [n, form.elements.namedItem(n)?.value ?? ""]));
    filters = query();
    const tb = el("table", undefined, { id: "chat-records" });
    const head = el("tr");
    head.append(el("th", ""));
    for (const c of COLS) head.append(el("th", t(`crec.col.${c}`), { "data-column": c }));
    tb.append(head);
    body = tb;
    out.replaceChildren(tb);
    next = null;
    more.hidden = true;
    downloads();
    await page(null);
  }

  presets.addEventListener("click", (e) => {
    const p = e.target?.dataset?.preset;
    if (!p) return;
    [from.value, to.value] = presetRange(p);
    run();
  });
  more.addEventListener("click", () => { if (next) page(next); });
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });

  const ready = [];
  if (GROUP_READERS.includes(ctx.session?.role)) {
    ready.push(api("GET", "/api/skill-groups").then((r) => {
      if (r.status !== 200) return;
      const names = (r.data.items ?? []).filter((g) => !g.telemarketing).map((g) => g.name).filter(Boolean);
      const s = el("select");
      s.append(el("option", t("crec.any"), { value: "" }));
      for (const n of names) s.append(el("option", n, { value: n }));
      const keep = group.value;
      if (keep && !names.includes(keep)) s.append(el("option", keep, { value: keep }));
      s.name = "group";
      s.id = "crec-group";
      s.value = keep;
      group.replaceWith(s);
      group = s;
    }));
  }
  Promise.all(ready).then(() => run());
}

const dict = {
  "zh-CN": {
    ...chatDict["zh-CN"],
    "nav.chat_records": "会话记录", "crec.run": "查询", "crec.more": "加载更多", "crec.none": "没有符合条件的会话记录",
    "crec.any": "全部", "crec.expand": "查看聊天记录", "crec.empty": "没有消息", "crec.invited": "已邀评未评价",
    "crec.from": "开始日期", "crec.to": "结束日期", "crec.group": "技能组", "crec.agent": "坐席(工号)", "crec.visitor": "访客",
    "crec.col.started": "开始时间", "crec.col.ended": "结束时间", "crec.col.name": "访客", "crec.col.phone": "电话",
    "crec.col.group": "技能组", "crec.col.agents": "接待坐席", "crec.col.messages": "消息数", "crec.col.first_response": "首次响应时长",
    "crec.col.rating": "满意度", "crec.col.end_cause": "结束原因",
    "crec.cause.visitor_left": "访客结束", "crec.cause.agent_ended": "坐席结束", "crec.cause.idle_timeout": "超时无消息",
    "crec.cause.queue_timeout": "排队超时", "crec.cause.shutdown": "系统关闭", "crec.cause.transfer": "已转接",
  },
  en: {
    ...chatDict.en,
    "nav.chat_records": "Chat records", "crec.run": "Search", "crec.more": "More", "crec.none": "No chat session matches",
    "crec.any": "Any", "crec.expand": "Show the transcript", "crec.empty": "No messages", "crec.invited": "Invited, not rated",
    "crec.from": "From", "crec.to": "To", "crec.group": "Skill group", "crec.agent": "Agent (ext.)", "crec.visitor": "Visitor",
    "crec.col.started": "Start time", "crec.col.ended": "End time", "crec.col.name": "Visitor", "crec.col.phone": "Phone",
    "crec.col.group": "Skill group", "crec.col.agents": "Agents", "crec.col.messages": "Messages", "crec.col.first_response": "First response",
    "crec.col.rating": "Satisfaction", "crec.col.end_cause": "End cause",
    "crec.cause.visitor_left": "Visitor left", "crec.cause.agent_ended": "Agent ended", "crec.cause.idle_timeout": "Idle timeout",
    "crec.cause.queue_timeout": "Queue timeout", "crec.cause.shutdown": "Shutdown", "crec.cause.transfer": "Transferred",
  },
};

export default { id: "chat_records", roles: ["admin", "supervisor"], label: "nav.chat_records", render, dict };
