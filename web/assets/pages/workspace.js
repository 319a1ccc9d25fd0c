// The agent workspace (坐席工作台, SPEC §5): the phone bar (电话条) — state switch, dial,
// hold/unhold, blind transfer, hang up — driving the calls API, the live state over SSE, the
// screen pop (来电弹屏) when this agent's phone rings, and the reminders of the agent's contact
// plans (联系计划) that are due or overdue, and the agent's web chats (在线会话, chatpanel.js).
import { t } from "../i18n.js";
import { ctx, api, el, openStream, when } from "../lib.js";
import { createScreenPop, loadConfig, dict as popDict } from "./screenpop.js";
import { CHAT_KINDS, createChatPanel, isChat, dict as chatDict } from "./chatpanel.js";

/** Contact plans due within this many ms are listed with the overdue ones. */
const REMIND_AHEAD_MS = 15 * 60_000;
/** How often the reminder list is re-read (plans fall due without any event). */
const REMIND_EVERY_MS = 30_000;

/** Break sub-states the ACD accepts by default (core/acd/state.rs `break_reasons`). */
const BREAK_REASONS = ["小休", "用餐", "会议", "培训", "卫生间"];

/** Roles that serve or oversee web chats (the chat API's scopes, CHAT_API.md). */
const CHAT_ROLES = ["agent", "admin", "supervisor"];

const own = {
  "zh-CN": {
    "bar.dial": "外呼", "bar.number": "号码", "bar.hold": "保持", "bar.unhold": "恢复",
    "bar.transfer": "转接", "bar.transfer-to": "转接到", "bar.hangup": "挂断", "bar.call": "当前通话",
    "bar.consult": "咨询", "bar.complete": "完成转接", "bar.conference": "三方通话", "bar.endpoint": "接听方式",
    "bar.endpoint.sip": "话机", "bar.endpoint.mobile": "手机", "bar.mobile": "手机号码", "bar.apply": "应用",
    "bar.none": "无", "bar.reason": "小休原因",
    "rem.title": "联系计划提醒", "rem.none": "暂无到期的联系计划", "rem.done": "完成", "rem.overdue": "已逾期",
    "rem.due": "即将到期", "rem.busy": "请先结束当前通话", "rem.count": "待联系",
  },
  en: {
    "bar.dial": "Dial", "bar.number": "Number", "bar.hold": "Hold", "bar.unhold": "Resume",
    "bar.transfer": "Transfer", "bar.transfer-to": "Transfer to", "bar.hangup": "Hang up", "bar.call": "Current call",
    "bar.consult": "Consult", "bar.complete": "Complete transfer", "bar.conference": "Conference", "bar.endpoint": "Answer on",
    "bar.endpoint.sip": "Desk phone", "bar.endpoint.mobile": "Mobile", "bar.mobile": "Mobile number", "bar.apply": "Apply",
    "bar.none": "none", "bar.reason": "Break reason",
    "rem.title": "Contact-plan reminders", "rem.none": "No contact plan is due", "rem.done": "Done", "rem.overdue": "Overdue",
    "rem.due": "Due soon", "rem.busy": "Finish the current call first", "rem.count": "to contact",
  },
};
const dict = {
  "zh-CN": { ...popDict["zh-CN"], ...chatDict["zh-CN"], ...own["zh-CN"] },
  en: { ...popDict.en, ...chatDict.en, ...own.en },
};

function stateLabel(s) { return t(`state.${s}`) === `state.${s}` ? s : t(`state.${s}`); }

// The call the phone bar acts on and the agent's last known state survive re-renders (language
// switch) of the page.
const live = { callId: null, state: null };

function button(key, id) { return el("button", t(key), { type: "button", id }); }

async function render(view) {
  const session = ctx.session;
  view.append(el("h1", t("nav.workspace")));
  const bar = el("div", undefined, { class: "phonebar", id: "phonebar", "aria-label": t("phonebar") });
  const state = el("span", live.state ? stateLabel(live.state) : t("state.unknown"), { class: "state", id: "agent-state" });
  if (live.state) state.dataset.state = live.state;
  const err = el("span", "", { class: "error", id: "state-error", role: "alert" });
  // The state API answers `break:用餐`; events carry the state and the reason apart.
  const showState = (s, why) => {
    const [kind, sub] = String(s).split(":");
    const reasonText = why ?? sub;
    live.state = kind;
    state.textContent = kind === "break" && reasonText ? `${stateLabel(kind)} (${reasonText})` : stateLabel(kind);
    state.dataset.state = kind;
  };
  const fail = (r) => { err.textContent = r.data.message || String(r.status); };
  // The state the server knows (the live monitor) when the page opens without one.
  if (!live.state && session.state) showState(session.state, session.state_reason);

  // State switch (坐席状态): idle, break with a reason, offline.
  const states = el("span", undefined, { class: "group" });
  states.append(el("span", `${t("agent.state")}:`), state);
  const reason = el("select", undefined, { id: "break-reason", "aria-label": t("bar.reason") });
  for (const r of BREAK_REASONS) reason.append(el("option", r, { value: r }));
  for (const s of ["idle", "break", "offline"]) {
    const b = el("button", stateLabel(s), { type: "button", id: `to-${s}` });
    b.addEventListener("click", async () => {
      err.textContent = "";
      const body = s === "break" ? { state: s, reason: reason.value } : { state: s };
      const r = await api("POST", `/api/agents/${encodeURIComponent(session.username)}/state`, body);
      if (r.status !== 200) fail(r); else showState(r.data.state ?? s);
    });
    states.append(b);
    if (s === "break") states.append(reason);
  }

  // Dial (click-to-dial: the server rings the agent's phone, then the number).
  const dialing = el("span", undefined, { class: "group" });
  const number = el("input", undefined, { id: "dial-number", inputmode: "tel", "aria-label": t("bar.number"), placeholder: t("bar.number") });
  const dial = button("bar.dial", "dial");
  dial.addEventListener("click", async () => {
    err.textContent = "";
    if (!number.value.trim()) return;
    const r = await api("POST", "/api/calls", { to: number.value.trim() });
    if (r.status >= 300) fail(r); else if (r.data.call_id) setCall(r.data.call_id);
  });
  dialing.append(number, dial);

  // Call controls on the current call.
  const calling = el("span", undefined, { class: "group" });
  const callId = el("span", live.callId ?? t("bar.none"), { id: "call-id" });
  const act = (verb, body) => async () => {
    err.textContent = "";
    if (!live.callId) return;
    const r = await api("POST", `/api/calls/${encodeURIComponent(live.callId)}/${verb}`, body);
    if (r.status >= 300) fail(r);
  };
  const hold = button("bar.hold", "hold");
  hold.addEventListener("click", act("hold"));
  const unhold = button("bar.unhold", "unhold");
  unhold.addEventListener("click", act("unhold"));
  const to = el("input", undefined, { id: "transfer-to", inputmode: "tel", "aria-label": t("bar.transfer-to"), placeholder: t("bar.transfer-to") });
  const transfer = button("bar.transfer", "transfer");
  transfer.addEventListener("click", () => to.value.trim() && act("transfer", { to: to.value.trim(), mode: "blind" })());
  // Consult (咨询): the customer is held while the agent calls `to`; then complete the
  // transfer (customer joined to the consulted party) or make it a three-way call (三方).
  const consult = button("bar.consult", "consult");
  consult.addEventListener("click", async () => {
    err.textContent = "";
    if (!live.callId || !to.value.trim()) return;
    const r = await api("POST", `/api/calls/${encodeURIComponent(live.callId)}/consult`, { to: to.value.trim() });
    if (r.status >= 300) fail(r); else complete.disabled = false;
  });
  const complete = button("bar.complete", "complete-transfer");
  complete.addEventListener("click", act("transfer", { mode: "attended" }));
  const conference = button("bar.conference", "conference");
  conference.addEventListener("click", () => to.value.trim() && act("conference", { to: to.value.trim() })());
  const hangup = button("bar.hangup", "hangup");
  hangup.addEventListener("click", act("hangup"));
  calling.append(el("span", `${t("bar.call")}:`), callId, hold, unhold, to, transfer, consult, complete, conference, hangup);
  const controls = [hold, unhold, to, transfer, consult, conference, hangup];
  function setCall(id) {
    live.callId = id;
    callId.textContent = id ?? t("bar.none");
    for (const c of controls) c.disabled = !id;
    complete.disabled = true;
  }
  setCall(live.callId);

  // Answer on (接听方式): the desk phone or a mobile number (SPEC §4 mobile agents).
  const answering = el("span", undefined, { class: "group" });
  const where = el("select", undefined, { id: "endpoint", "aria-label": t("bar.endpoint") });
  for (const k of ["sip", "mobile"]) where.append(el("option", t(`bar.endpoint.${k}`), { value: k }));
  const mobile = el("input", undefined, { id: "endpoint-mobile", inputmode: "tel", "aria-label": t("bar.mobile"), placeholder: t("bar.mobile") });
  const applyEndpoint = button("bar.apply", "endpoint-apply");
  applyEndpoint.addEventListener("click", async () => {
    err.textContent = "";
    const body = { endpoint: where.value };
    if (mobile.value.trim()) body.mobile = mobile.value.trim();
    const r = await api("PUT", `/api/agents/${encodeURIComponent(session.username)}/endpoint`, body);
    if (r.status !== 200) fail(r);
    else { session.endpoint = where.value; session.mobile = mobile.value.trim() || session.mobile; }
  });
  answering.append(el("span", `${t("bar.endpoint")}:`), where, mobile, applyEndpoint);
  where.value = session.endpoint ?? "sip";
  mobile.value = session.mobile ?? "";

  bar.append(el("strong", t("phonebar")), states, dialing, calling, answering, err);
  view.append(bar);
  const reminders = el("section", undefined, { id: "reminders", class: "reminders", "aria-label": t("rem.title") });
  view.append(reminders);

  // Web chats (在线会话): an agent with an extension takes chats; supervisors and admins see
  // those of their scope.
  let chats = null;
  if (CHAT_ROLES.includes(session.role)) {
    const chatRoot = el("section", undefined, { id: "chats", class: "chats", "aria-label": t("chat.title") });
    view.append(chatRoot);
    chats = createChatPanel(chatRoot, { extension: session.extension, lookup: (phone) => lookup(phone) });
  }

  const popRoot = el("section", undefined, { id: "screenpop", class: "screenpop", "aria-label": t("screenpop") });
  view.append(popRoot);
  const log = el("ul", undefined, { id: "live-log", class: "live-log", "aria-label": t("live") });
  view.append(log);

  const mine = (ev) => session.extension && ev.agent === session.extension;
  let pop = null;
  const early = []; // ring events that arrive before the pop's configuration is loaded
  const kinds = ["agent.state", "agent.ringing", "call.answered", "call.ended", "call.held", "call.resumed", "call.transferred", "queue.entered"];
  openStream([...new Set([...kinds, ...CHAT_KINDS, "stream.lagged"])], (ev) => {
    // The stream skipped events (it fell behind): the chats are read back from the server.
    if (!ev.kind) { chats?.resync(); return; }
    // A web chat's events go to the chat panel only (the phone bar is for calls).
    if (isChat(ev)) { chats?.onEvent(ev); return; }
    if (!kinds.includes(ev.kind)) return;
    if (ev.kind === "agent.state" && mine(ev)) {
      showState(ev.data.state, ev.data.state === "break" ? ev.data.reason : undefined);
      if (["idle", "break", "offline"].includes(ev.data.state)) setCall(null);
    }
    if (ev.kind === "agent.ringing" && mine(ev)) {
      setCall(ev.call_id);
      delete popRoot.dataset.planId; // a call replaces a contact plan's customer view
      delete popRoot.dataset.chat;
      if (pop) pop.ring(ev); else early.push(ev);
    }
    if (ev.kind === "call.answered" && mine(ev)) {
      setCall(ev.call_id);
      if (pop && pop.callId() !== ev.call_id) answeredWithoutRing(ev);
    }
    if (ev.kind === "call.ended" && ev.call_id === live.callId) setCall(null);
    log.prepend(el("li", `${new Date(ev.at_ms).toLocaleTimeString()} ${ev.kind} ${ev.call_id ?? ""} ${ev.data?.state ?? ""}`));
    while (log.children.length > 20) log.lastChild.remove();
  });

  // The call.answered event carries no number; the live call list does.
  async function answeredWithoutRing(ev) {
    const r = await api("GET", "/api/calls/live");
    const c = (r.data.items ?? []).find((x) => x.call_id === ev.call_id);
    delete popRoot.dataset.planId;
    delete popRoot.dataset.chat;
    pop.answered(ev, c?.caller ?? "");
  }

  // Contact-plan reminders: this user's open plans due within REMIND_AHEAD_MS or overdue,
  // re-read periodically and whenever the pop saves a plan; a click opens the customer in the
  // pop, "done" marks the plan done through the API.
  const count = el("span", "0", { id: "reminder-count", class: "badge", "aria-label": t("rem.count") });
  const heading = el("h2", t("rem.title"));
  heading.append(" ", count);
  const list = el("ul", undefined, { id: "reminder-list", class: "reminder-list" });
  const remErr = el("p", "", { class: "error", id: "reminder-error", role: "alert" });
  reminders.replaceChildren(heading, list, remErr);
  // One read at a time; a refresh asked for during a read reads once more after it (the
  // first answer may predate the change that asked).
  let reading = null;
  let again = false;
  function refreshReminders() {
    if (reading) { again = true; return reading; }
    reading = (async () => {
      do {
        again = false;
        const r = await api("GET", `/api/contact-plans?mine=1&due_before=${Date.now() + REMIND_AHEAD_MS}`);
        if (r.status !== 200) remErr.textContent = r.data.message || String(r.status);
        else drawReminders(r.data.items ?? []);
      } while (again);
    })().finally(() => { reading = null; });
    return reading;
  }
  function drawReminders(plans) {
    count.textContent = String(plans.length);
    count.dataset.count = String(plans.length);
    reminders.dataset.count = String(plans.length);
    list.replaceChildren();
    if (!plans.length) list.append(el("li", t("rem.none"), { class: "empty" }));
    for (const p of plans) {
      const li = el("li", undefined, { class: "reminder", "data-id": String(p.id) });
      if (p.overdue) li.classList.add("overdue");
      const who = p.customer_name ? `${p.customer_name} ${p.number}` : p.number;
      const open = el("button", `${when(p.due_at_ms)} · ${who}`, { type: "button", class: "open-plan" });
      open.addEventListener("click", () => openPlan(p));
      li.append(el("span", t(p.overdue ? "rem.overdue" : "rem.due"), { class: "due-tag" }), open);
      if (p.note) li.append(el("span", p.note, { class: "note" }));
      const done = el("button", t("rem.done"), { type: "button", class: "plan-done" });
      done.addEventListener("click", async () => {
        remErr.textContent = "";
        done.disabled = true;
        const r = await api("PUT", `/api/contact-plans/${p.id}`, { done: true });
        if (r.status !== 200) { remErr.textContent = r.data.message || String(r.status); done.disabled = false; return; }
        await refreshReminders();
      });
      li.append(done);
      list.append(li);
    }
  }
  // The pop's customer view for the plan's number; never over a call the agent is on.
  function openPlan(p) {
    remErr.textContent = "";
    if (!pop) return;
    if (live.callId) { remErr.textContent = t("rem.busy"); return; }
    // The pop shows a new number only once the one on screen is closed. `data-plan-id` hides
    // the pop's call rows and call summary (app.css): there is no call.
    popRoot.querySelector("#pop-close")?.click();
    pop.ring({ kind: "contact_plan", call_id: null, at_ms: Date.now(), group: null, data: { caller: p.number } });
    popRoot.dataset.planId = String(p.id);
    delete popRoot.dataset.chat;
  }
  // A chat visitor's phone number: the pop's customer view for it, as for a contact plan.
  function lookup(phone) {
    remErr.textContent = "";
    if (!pop) return;
    if (live.callId) { remErr.textContent = t("rem.busy"); return; }
    popRoot.querySelector("#pop-close")?.click();
    pop.ring({ kind: "chat_lookup", call_id: null, at_ms: Date.now(), group: null, data: { caller: phone } });
    // A chat is not a call: the pop's call rows and call summary are hidden (app.css).
    popRoot.dataset.chat = "1";
    delete popRoot.dataset.planId;
    popRoot.scrollIntoView({ block: "start" });
  }
  // A plan saved from the pop (its status line gets the new id) may already be due.
  new MutationObserver((changes) => {
    if (changes.some((c) => c.target.id === "plan-status")) refreshReminders();
  }).observe(popRoot, { subtree: true, attributes: true, attributeFilter: ["data-id"] });
  const timer = setInterval(() => {
    if (!reminders.isConnected) { clearInterval(timer); return; }
    refreshReminders();
  }, REMIND_EVERY_MS);
  refreshReminders();

  const config = await loadConfig();
  pop = createScreenPop(popRoot, config, session);
  for (const ev of early.splice(0)) pop.ring(ev);
  // A call already on when the page opened (reload mid-call).
  if (session.extension) {
    const r = await api("GET", "/api/calls/live");
    const c = (r.data.items ?? []).find((x) => x.agent === session.extension);
    if (c && !pop.callId()) {
      setCall(c.call_id);
      pop.answered({ kind: "call.answered", call_id: c.call_id, at_ms: c.started_at_ms, group: c.skill_group, data: {} }, c.caller);
    }
  }
}

export default { id: "workspace", roles: ["agent", "admin", "supervisor", "tm_super_admin", "tm_admin", "tm_member"], label: "nav.workspace", render, dict };
