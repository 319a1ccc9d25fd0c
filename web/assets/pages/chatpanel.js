// The agent workspace's chat panel (在线会话, SPEC §9/§5): the agent's open web-chat sessions
// (`GET /api/chats`), an unread badge per session and in total, the transcript of the selected
// session with a reply box, and the session actions 邀评 (invite a rating), 转接 (transfer to a
// skill group) and 结束 (end). The workspace feeds it the live events of the agent's chats
// (`onEvent`); a visitor's phone number can open the workspace's customer lookup (screen pop).
// Text only through textContent.
import { t } from "../i18n.js";
import { api, el } from "../lib.js";

/** Event kinds the panel follows on the agent's live stream. */
export const CHAT_KINDS = ["chat.message", "call.answered", "call.ended", "agent.left", "call.transferred", "rating.given", "rating.invited", "queue.entered"];

/** Whether a live event belongs to a web chat (ids `chat-…`, EVENTS.md "Web chat"). */
export function isChat(ev) {
  return (typeof ev.call_id === "string" && ev.call_id.startsWith("chat-")) || ev.data?.channel === "chat";
}

const MAX_TEXT = 2000;

export const dict = {
  "zh-CN": {
    "chat.title": "在线会话", "chat.none": "暂无会话", "chat.pick": "请选择左侧的会话", "chat.send": "发送",
    "chat.reply": "回复访客(Enter 发送,Shift+Enter 换行)", "chat.invite": "邀评", "chat.transfer": "转接",
    "chat.transfer-to": "转接到技能组", "chat.end": "结束", "chat.unread": "未读", "chat.visitor": "访客",
    "chat.phone": "电话", "chat.group": "技能组", "chat.lookup": "查看客户", "chat.invited": "已发送评价邀请",
    "chat.ended": "会话已结束", "chat.rated": "访客评价", "chat.page": "来源页面", "chat.queued": "排队中",
    "chat.transferred": "已转接", "chat.from.visitor": "访客", "chat.from.agent": "客服", "chat.from.system": "系统",
    "chat.rating.1": "非常满意", "chat.rating.2": "满意", "chat.rating.3": "一般", "chat.rating.4": "不满意", "chat.rating.5": "非常不满意",
  },
  en: {
    "chat.title": "Chats", "chat.none": "No open chat", "chat.pick": "Pick a chat on the left", "chat.send": "Send",
    "chat.reply": "Reply to the visitor (Enter sends, Shift+Enter for a new line)", "chat.invite": "Invite rating",
    "chat.transfer": "Transfer", "chat.transfer-to": "Transfer to group", "chat.end": "End", "chat.unread": "Unread",
    "chat.visitor": "Visitor", "chat.phone": "Phone", "chat.group": "Group", "chat.lookup": "Look up customer",
    "chat.invited": "Rating invitation sent", "chat.ended": "The chat has ended", "chat.rated": "Visitor's rating",
    "chat.page": "Page", "chat.queued": "Queued", "chat.transferred": "Transferred",
    "chat.from.visitor": "Visitor", "chat.from.agent": "Agent", "chat.from.system": "System",
    "chat.rating.1": "Very satisfied", "chat.rating.2": "Satisfied", "chat.rating.3": "Neutral", "chat.rating.4": "Dissatisfied", "chat.rating.5": "Very dissatisfied",
  },
};

/** `HH:MM` of UTC milliseconds, local time. */
function hm(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** One transcript line: who, when, the text. */
export function messageItem(m) {
  const from = ["visitor", "agent", "system"].includes(m.from) ? m.from : "system";
  const li = el("li", undefined, { class: `chat-msg ${from}`, "data-seq": String(m.seq ?? "") });
  const who = from === "agent" && m.agent ? `${t("chat.from.agent")} ${m.agent}` : t(`chat.from.${from}`);
  li.append(el("span", `${who} ${hm(m.at_ms)}`, { class: "chat-meta" }), el("div", String(m.text ?? ""), { class: "chat-text" }));
  return li;
}

/** The rating's label (1 = very satisfied … 5). */
export function ratingLabel(v) { return v >= 1 && v <= 5 ? t(`chat.rating.${v}`) : ""; }

/** Loads the panel's stylesheet once (no inline styles under the CSP). */
export function chatStyles() {
  if (document.getElementById("chat-panel-css")) return;
  document.head.append(el("link", undefined, { rel: "stylesheet", href: "/assets/pages/chatpanel.css", id: "chat-panel-css" }));
}

/**
 * Builds the panel into `root`. `options.extension` is the signed-in user's extension (the
 * serving agent of their chats); `options.lookup(phone)` (optional) opens the customer of a
 * visitor's phone number. Returns `{ onEvent(ev), refresh(), resync() }`.
 */
export function createChatPanel(root, options = {}) {
  chatStyles();
  const total = el("span", "0", { id: "chat-unread", class: "badge", "data-count": "0", "aria-label": t("chat.unread") });
  const heading = el("h2", t("chat.title"));
  heading.append(" ", total);
  const list = el("ul", undefined, { id: "chat-list", class: "chat-list" });
  const detail = el("div", undefined, { id: "chat-detail", class: "chat-detail" });
  const err = el("p", "", { id: "chat-panel-error", class: "error", role: "alert" });
  const desk = el("div", undefined, { class: "chat-desk" });
  desk.append(list, detail);
  detail.append(el("p", t("chat.pick"), { class: "empty" }));
  root.replaceChildren(heading, desk, err);

  /** id → session (ChatView without messages) of the open sessions. */
  let sessions = new Map();
  const unread = new Map();
  let selected = null; // { id, view, seqs:Set, transcript, reply, ... }
  let groups = null;

  function drawBadges() {
    let sum = 0;
    for (const [id, n] of unread) if (sessions.has(id)) sum += n;
    total.textContent = String(sum);
    total.dataset.count = String(sum);
    for (const li of list.querySelectorAll("li.chat-item")) {
      const n = unread.get(li.dataset.id) ?? 0;
      const b = li.querySelector(".badge");
      b.textContent = String(n);
      b.dataset.count = String(n);
    }
  }

  function drawList() {
    list.replaceChildren();
    if (!sessions.size) list.append(el("li", t("chat.none"), { class: "empty", id: "chat-none" }));
    for (const s of sessions.values()) {
      const li = el("li", undefined, { class: "chat-item", "data-id": s.id, role: "button", tabindex: "0" });
      if (selected?.id === s.id) li.setAttribute("aria-selected", "true");
      const name = el("span", s.name || s.visitor || s.id, { class: "chat-name" });
      const sub = el("span", [s.started_ms ? hm(s.started_ms) : "", s.group, s.phone, s.phase === "queued" ? t("chat.queued") : ""].filter(Boolean).join(" · "), { class: "chat-sub" });
      li.append(name, el("span", "0", { class: "badge", "data-count": "0" }), sub);
      li.addEventListener("click", () => select(s.id));
      li.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(s.id); } });
      list.append(li);
    }
    drawBadges();
  }

  // One read at a time; a refresh asked for meanwhile runs once more after it.
  let reading = null;
  let again = false;
  function refresh() {
    if (reading) { again = true; return reading; }
    reading = (async () => {
      do {
        again = false;
        const r = await api("GET", "/api/chats");
        if (r.status !== 200) { err.textContent = r.data.message || String(r.status); continue; }
        err.textContent = "";
        sessions = new Map((r.data.sessions ?? []).map((s) => [s.id, s]));
        drawList();
        // The first chat opens by itself when none is on screen or the one shown has ended.
        const idle = !selected || (selected.box.dataset.phase === "ended" && !sessions.has(selected.id));
        if (idle && sessions.size) await select(sessions.keys().next().value);
      } while (again);
    })().finally(() => { reading = null; });
    return reading;
  }

  async function transferGroups(current) {
    if (groups) return groups;
    const r = await api("GET", `/chat/api/config?group=${encodeURIComponent(current ?? "")}`);
    groups = r.status === 200 && Array.isArray(r.data.groups) ? r.data.groups : [];
    return groups;
  }

  function addToTranscript(m) {
    if (!selected) return;
    if (m.seq !== undefined && m.seq !== null) {
      if (selected.seqs.has(m.seq)) return;
      selected.seqs.add(m.seq);
    }
    selected.transcript.append(messageItem(m));
    selected.transcript.scrollTop = selected.transcript.scrollHeight;
  }

  function markEnded() {
    if (!selected) return;
    selected.box.dataset.phase = "ended";
    for (const c of selected.controls) c.disabled = true;
    selected.status.textContent = t("chat.ended");
  }

  async function select(id) {
    unread.set(id, 0);
    const box = el("div", undefined, { class: "chat-session", "data-id": id });
    const transcript = el("ol", undefined, { id: "chat-transcript", class: "chat-transcript" });
    const status = el("p", "", { id: "chat-status", class: "status", role: "status" });
    selected = { id, box, transcript, status, seqs: new Set(), controls: [] };
    for (const li of list.querySelectorAll("li.chat-item")) {
      if (li.dataset.id === id) li.setAttribute("aria-selected", "true"); else li.removeAttribute("aria-selected");
    }
    drawBadges();
    detail.replaceChildren(box);
    const r = await api("GET", `/api/chats/${encodeURIComponent(id)}`);
    if (selected?.id !== id) return;
    if (r.status !== 200) { box.append(el("p", r.data.message || String(r.status), { class: "error" })); return; }
    const v = r.data;
    selected.view = v;

    // Who the visitor is.
    const head = el("dl", undefined, { class: "chat-head" });
    const item = (key, value, attrs = {}) => { head.append(el("dt", t(key)), el("dd", value ?? "", attrs)); };
    item("chat.visitor", v.name || v.visitor, { id: "chat-visitor-name" });
    item("chat.group", v.group, { id: "chat-group" });
    if (v.phone) {
      const dd = el("dd", v.phone, { id: "chat-phone" });
      if (options.lookup) {
        const look = el("button", t("chat.lookup"), { type: "button", id: "chat-lookup", class: "link" });
        look.addEventListener("click", () => options.lookup(v.phone));
        dd.append(" ", look);
      }
      head.append(el("dt", t("chat.phone")), dd);
    }
    if (v.page) item("chat.page", v.page, { class: "chat-page" });

    // Reply box: Enter sends, Shift+Enter is a new line.
    const reply = el("textarea", undefined, { id: "chat-reply", rows: "3", maxlength: String(MAX_TEXT), placeholder: t("chat.reply"), "aria-label": t("chat.reply") });
    const send = el("button", t("chat.send"), { type: "button", id: "chat-send" });
    const sendError = el("p", "", { id: "chat-error", class: "error", role: "alert" });
    const doSend = async () => {
      sendError.textContent = "";
      const text = reply.value.trim();
      if (!text) return;
      send.disabled = true;
      const x = await api("POST", `/api/chats/${encodeURIComponent(id)}/messages`, { text });
      send.disabled = false;
      if (x.status === 201 || x.status === 200) { reply.value = ""; addToTranscript(x.data); reply.focus(); }
      else sendError.textContent = x.data.message || String(x.status);
    };
    send.addEventListener("click", doSend);
    reply.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); doSend(); }
    });

    // Actions: invite a rating, transfer to a group, end.
    const actions = el("div", undefined, { class: "chat-actions" });
    const invite = el("button", t("chat.invite"), { type: "button", id: "chat-invite" });
    invite.addEventListener("click", async () => {
      sendError.textContent = "";
      const x = await api("POST", `/api/chats/${encodeURIComponent(id)}/invite-rating`);
      if (x.status < 300) { status.textContent = t("chat.invited"); status.dataset.invited = "1"; }
      else sendError.textContent = x.data.message || String(x.status);
    });
    const target = el("select", undefined, { id: "chat-transfer-group", "aria-label": t("chat.transfer-to") });
    for (const g of await transferGroups(v.group)) if (g !== v.group) target.append(el("option", g, { value: g }));
    const transfer = el("button", t("chat.transfer"), { type: "button", id: "chat-transfer" });
    transfer.addEventListener("click", async () => {
      sendError.textContent = "";
      if (!target.value) return;
      const x = await api("POST", `/api/chats/${encodeURIComponent(id)}/transfer`, { group: target.value });
      if (x.status < 300) { status.textContent = `${t("chat.transferred")}: ${target.value}`; markEnded(); refresh(); }
      else sendError.textContent = x.data.message || String(x.status);
    });
    const end = el("button", t("chat.end"), { type: "button", id: "chat-end", class: "danger" });
    end.addEventListener("click", async () => {
      sendError.textContent = "";
      const x = await api("POST", `/api/chats/${encodeURIComponent(id)}/end`);
      if (x.status < 300) { markEnded(); refresh(); }
      else sendError.textContent = x.data.message || String(x.status);
    });
    // Only the serving agent writes, invites and transfers; an overseer (admin, supervisor)
    // reads along and may end the chat.
    const serving = Boolean(options.extension) && v.agent === options.extension;
    if (serving) actions.append(invite, target, transfer);
    actions.append(end);
    selected.controls = [reply, send, invite, target, transfer, end];
    const composer = el("div", undefined, { class: "chat-composer" });
    composer.append(reply, send);
    composer.hidden = !serving;
    box.append(head, transcript, status, composer, actions, sendError);
    box.dataset.phase = v.phase;
    for (const m of v.messages ?? []) addToTranscript(m);
    if (v.invited) status.textContent = t("chat.invited");
    if (v.rating) { status.textContent = `${t("chat.rated")}: ${ratingLabel(v.rating)}`; status.dataset.rating = String(v.rating); }
    if (v.phase === "ended") markEnded();
  }

  /** One live event of the agent's chats (the workspace passes those `isChat` accepts). */
  function onEvent(ev) {
    const id = ev.call_id;
    const mineOpen = selected?.id === id;
    switch (ev.kind) {
      case "chat.message":
        if (mineOpen) addToTranscript({ seq: ev.data?.seq, from: ev.data?.from, agent: ev.agent, text: ev.data?.text, at_ms: ev.at_ms });
        else if (ev.data?.from === "visitor") unread.set(id, (unread.get(id) ?? 0) + 1);
        if (!sessions.has(id)) refresh(); else drawBadges();
        break;
      case "rating.given":
        if (mineOpen && selected.status) {
          selected.status.textContent = `${t("chat.rated")}: ${ratingLabel(ev.data?.value)}`;
          selected.status.dataset.rating = String(ev.data?.value ?? "");
        }
        break;
      case "call.ended":
        if (mineOpen) markEnded();
        unread.delete(id);
        refresh();
        break;
      default:
        refresh();
    }
  }

  /** After the live stream skipped events: the list and the open transcript read back. */
  function resync() {
    refresh();
    if (selected && selected.box.dataset.phase !== "ended") select(selected.id);
  }

  refresh();
  return { onEvent, refresh, resync };
}
