// The agent workspace (坐席工作台, SPEC §5): the phone bar (电话条) — state switch, dial,
// hold/unhold, blind transfer, hang up — driving the calls API, the live state over SSE, and
// the screen pop (来电弹屏) when this agent's phone rings.
import { t } from "../i18n.js";
import { ctx, api, el, openStream } from "../lib.js";
import { createScreenPop, loadConfig, dict as popDict } from "./screenpop.js";

/** Break sub-states the ACD accepts by default (core/acd/state.rs `break_reasons`). */
const BREAK_REASONS = ["小休", "用餐", "会议", "培训", "卫生间"];

const own = {
  "zh-CN": {
    "bar.dial": "外呼", "bar.number": "号码", "bar.hold": "保持", "bar.unhold": "恢复",
    "bar.transfer": "转接", "bar.transfer-to": "转接到", "bar.hangup": "挂断", "bar.call": "当前通话",
    "bar.none": "无", "bar.reason": "小休原因",
  },
  en: {
    "bar.dial": "Dial", "bar.number": "Number", "bar.hold": "Hold", "bar.unhold": "Resume",
    "bar.transfer": "Transfer", "bar.transfer-to": "Transfer to", "bar.hangup": "Hang up", "bar.call": "Current call",
    "bar.none": "none", "bar.reason": "Break reason",
  },
};
const dict = { "zh-CN": { ...popDict["zh-CN"], ...own["zh-CN"] }, en: { ...popDict.en, ...own.en } };

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
  const hangup = button("bar.hangup", "hangup");
  hangup.addEventListener("click", act("hangup"));
  calling.append(el("span", `${t("bar.call")}:`), callId, hold, unhold, to, transfer, hangup);
  const controls = [hold, unhold, to, transfer, hangup];
  function setCall(id) {
    live.callId = id;
    callId.textContent = id ?? t("bar.none");
    for (const c of controls) c.disabled = !id;
  }
  setCall(live.callId);

  bar.append(el("strong", t("phonebar")), states, dialing, calling, err);
  view.append(bar);

  const popRoot = el("section", undefined, { id: "screenpop", class: "screenpop", "aria-label": t("screenpop") });
  view.append(popRoot);
  const log = el("ul", undefined, { id: "live-log", class: "live-log", "aria-label": t("live") });
  view.append(log);

  const mine = (ev) => session.extension && ev.agent === session.extension;
  let pop = null;
  const early = []; // ring events that arrive before the pop's configuration is loaded
  openStream(["agent.state", "agent.ringing", "call.answered", "call.ended", "call.held", "call.resumed", "call.transferred", "queue.entered"], (ev) => {
    if (ev.kind === "agent.state" && mine(ev)) {
      showState(ev.data.state, ev.data.state === "break" ? ev.data.reason : undefined);
      if (["idle", "break", "offline"].includes(ev.data.state)) setCall(null);
    }
    if (ev.kind === "agent.ringing" && mine(ev)) {
      setCall(ev.call_id);
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
    pop.answered(ev, c?.caller ?? "");
  }

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

export default { id: "workspace", roles: ["agent", "admin", "supervisor"], label: "nav.workspace", render, dict };
