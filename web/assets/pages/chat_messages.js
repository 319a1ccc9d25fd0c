// The message pool (留言池, SPEC §9): what visitors left when no agent was online or the chat
// queue timed out (`GET /api/chat-leave-messages`). Admins and supervisors see the pool of their
// scope, filter it by status (new / assigned / done) and assign a message to an agent; the
// assignee (an agent sees only theirs), admins and supervisors mark it done with a note.
// Text only through textContent.
import { t } from "../i18n.js";
import { api, ctx, el } from "../lib.js";
import { stamp } from "./calls.js";
import { chatStyles } from "./chatpanel.js";
import { table } from "./form.js";

const STATUSES = ["new", "assigned", "done"];
const MANAGERS = ["admin", "supervisor"];

// The status filter as last used (a language switch re-renders the page).
const last = { status: "" };

/** The agents a message can go to: `[{value, label}]` (extension; name when known). */
async function agentChoices() {
  if (ctx.session.role === "admin") {
    const r = await api("GET", "/api/users");
    if (r.status === 200) {
      return (r.data.items ?? r.data ?? [])
        .filter((u) => u.extension && u.role === "agent")
        .map((u) => ({ value: u.extension, label: `${u.display_name || u.username} (${u.extension})` }));
    }
  }
  const r = await api("GET", "/api/skill-groups");
  if (r.status !== 200) return [];
  const seen = new Map();
  for (const g of r.data.items ?? []) {
    for (const m of g.members ?? []) {
      const ext = typeof m === "string" ? m : m.extension;
      if (ext && !seen.has(ext)) seen.set(ext, { value: ext, label: ext });
    }
  }
  return [...seen.values()].sort((a, b) => a.value.localeCompare(b.value));
}

function render(view) {
  chatStyles();
  const manager = MANAGERS.includes(ctx.session.role);
  view.append(el("h1", t("nav.chat_messages")));
  const form = el("form", undefined, { id: "lm-form", class: "chat-messages-form" });
  const l = el("label", undefined, { class: "field", for: "lm-status" });
  const status = el("select", undefined, { id: "lm-status", name: "status" });
  status.append(el("option", t("lm.all"), { value: "" }));
  for (const s of STATUSES) status.append(el("option", t(`lm.status.${s}`), { value: s }));
  status.value = last.status;
  l.append(el("span", t("lm.filter")), status);
  form.append(l, el("button", t("lm.run"), { type: "submit", id: "lm-run" }));
  const err = el("p", "", { class: "error", id: "lm-error", role: "alert" });
  const out = el("div", undefined, { id: "lm-list" });
  view.append(form, err, out);

  let agents = [];

  /** The action cell of one message: assign (managers), mark done (not yet done). */
  function actions(m) {
    const box = el("div", undefined, { class: "chat-lm-actions" });
    const rowErr = el("span", "", { class: "error", id: `lm-error-${m.id}` });
    if (manager && m.status !== "done") {
      const pick = el("select", undefined, { class: "lm-agent", "data-id": String(m.id), "aria-label": t("lm.assign-to") });
      pick.append(el("option", t("lm.pick"), { value: "" }));
      for (const a of agents) pick.append(el("option", a.label, { value: a.value }));
      if (m.assigned_to && !agents.some((a) => a.value === m.assigned_to)) pick.append(el("option", m.assigned_to, { value: m.assigned_to }));
      pick.value = m.assigned_to ?? "";
      const assign = el("button", t("lm.assign"), { type: "button", class: "lm-assign", "data-id": String(m.id) });
      assign.addEventListener("click", async () => {
        rowErr.textContent = "";
        if (!pick.value) { rowErr.textContent = t("lm.pick"); return; }
        const r = await api("POST", `/api/chat-leave-messages/${encodeURIComponent(m.id)}/assign`, { agent: pick.value });
        if (r.status < 300) await reload(); else rowErr.textContent = r.data.message || String(r.status);
      });
      box.append(pick, assign);
    }
    if (m.status !== "done") {
      const note = el("input", undefined, { type: "text", class: "lm-note", "data-id": String(m.id), maxlength: "500", placeholder: t("lm.note"), "aria-label": t("lm.note") });
      const done = el("button", t("lm.done"), { type: "button", class: "lm-done", "data-id": String(m.id) });
      done.addEventListener("click", async () => {
        rowErr.textContent = "";
        const body = note.value.trim() ? { note: note.value.trim() } : {};
        const r = await api("POST", `/api/chat-leave-messages/${encodeURIComponent(m.id)}/done`, body);
        if (r.status < 300) await reload(); else rowErr.textContent = r.data.message || String(r.status);
      });
      box.append(note, done);
    }
    box.append(rowErr);
    return box;
  }

  async function reload() {
    err.textContent = "";
    last.status = status.value;
    const q = status.value ? `?status=${encodeURIComponent(status.value)}` : "";
    const r = await api("GET", `/api/chat-leave-messages${q}`);
    if (r.status !== 200) { err.textContent = r.data.message || String(r.status); return; }
    const items = r.data.messages ?? [];
    const rows = items.map((m) => {
      const text = el("div", m.text ?? "", { class: "chat-lm-text" });
      const st = el("span", STATUSES.includes(m.status) ? t(`lm.status.${m.status}`) : String(m.status ?? ""), { class: "lm-status", "data-status": m.status ?? "" });
      return [stamp(m.at_ms), m.group ?? "", m.name ?? "", m.phone ?? "", m.email ?? "", text, st, m.assigned_to ?? "",
        [m.handled_ms ? stamp(m.handled_ms) : "", m.note ?? ""].filter(Boolean).join(" "), actions(m)];
    });
    const tbl = table("chat-messages", ["lm.col.at", "lm.col.group", "lm.col.name", "lm.col.phone", "lm.col.email", "lm.col.text",
      "lm.col.status", "lm.col.assigned_to", "lm.col.note", ""], rows);
    // Each row carries its message id (tests and deep links find it).
    [...tbl.querySelectorAll("tr")].slice(1).forEach((tr, i) => { tr.dataset.id = String(items[i].id); tr.className = "lm-row"; });
    out.replaceChildren(tbl);
    if (!items.length) out.append(el("p", t("lm.none"), { class: "empty", id: "lm-empty" }));
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); reload(); });
  status.addEventListener("change", () => reload());
  (manager ? agentChoices() : Promise.resolve([])).then((a) => { agents = a; return reload(); });
}

const dict = {
  "zh-CN": {
    "nav.chat_messages": "留言", "lm.filter": "状态", "lm.all": "全部", "lm.run": "查询", "lm.none": "暂无留言",
    "lm.status.new": "未分配", "lm.status.assigned": "已分配", "lm.status.done": "已处理",
    "lm.assign": "分配", "lm.assign-to": "分配给坐席", "lm.pick": "选择坐席", "lm.done": "处理完成", "lm.note": "处理备注",
    "lm.col.at": "留言时间", "lm.col.group": "技能组", "lm.col.name": "姓名", "lm.col.phone": "电话", "lm.col.email": "邮箱",
    "lm.col.text": "留言内容", "lm.col.status": "状态", "lm.col.assigned_to": "处理人", "lm.col.note": "处理结果",
  },
  en: {
    "nav.chat_messages": "Messages", "lm.filter": "Status", "lm.all": "All", "lm.run": "Show", "lm.none": "No messages",
    "lm.status.new": "New", "lm.status.assigned": "Assigned", "lm.status.done": "Done",
    "lm.assign": "Assign", "lm.assign-to": "Assign to agent", "lm.pick": "Pick an agent", "lm.done": "Mark done", "lm.note": "Note",
    "lm.col.at": "Left at", "lm.col.group": "Group", "lm.col.name": "Name", "lm.col.phone": "Phone", "lm.col.email": "Email",
    "lm.col.text": "Message", "lm.col.status": "Status", "lm.col.assigned_to": "Assignee", "lm.col.note": "Outcome",
  },
};

export default { id: "chat_messages", roles: ["admin", "supervisor", "agent"], label: "nav.chat_messages", render, dict };
