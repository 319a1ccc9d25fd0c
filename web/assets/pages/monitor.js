// Supervisor live monitor (实时监控, SPEC §10): the day's figures, a panel per skill group, the
// agent table and the 24-hour inbound/outbound chart, pushed by GET /api/monitor/stream.
// Channels (SPEC §10 "per-channel counts"): the server's headline, the groups' existing figures
// and the hourly chart are voice only, so their labels say 通话 (calls); web-chat sessions have a
// block of their own beside them (在线会话), chat columns in the group panels and the agent table.
// The agent's day figures (answered, satisfaction) cover every channel.
import { t } from "../i18n.js";
import { el } from "../lib.js";
import { barChart } from "./chart.js";

let source = null;

/** Opens the monitor stream; `onSnap` gets each snapshot while `view` stays on the page. */
export function openMonitor(view, onSnap) {
  source?.close();
  source = new EventSource("/api/monitor/stream");
  source.addEventListener("open", () => { view.dataset.live = "open"; });
  source.addEventListener("monitor", (m) => {
    if (!view.isConnected) { source?.close(); source = null; return; }
    try { onSnap(JSON.parse(m.data)); } catch { /* bad frame: skip */ }
  });
  return source;
}

/** A percentage text of a 0..1 fraction. */
export function pct(x) { return `${((x ?? 0) * 100).toFixed(1)}%`; }

/** The 24-hour inbound / outbound chart of a snapshot. */
export function hourlyChart(snap) {
  const hours = snap.hourly ?? [];
  return barChart(hours.map((h) => h.hour), [
    { name: t("mon.inbound"), color: "#3b7dd8", values: hours.map((h) => h.inbound) },
    { name: t("mon.inbound_answered"), color: "#4caf50", values: hours.map((h) => h.inbound_answered) },
    { name: t("mon.outbound"), color: "#f0a030", values: hours.map((h) => h.outbound) },
  ]);
}

/** Seconds as text ("12s", "18.5s"), or "—" when the server has no figure (null). */
export function secs(x) {
  return x === null || x === undefined ? "—" : `${Number(Number(x).toFixed(1))}s`;
}

/** A 0..1 fraction as a percentage, or "—" when the server has no figure (null). */
export function pctOrDash(x) { return x === null || x === undefined ? "—" : pct(x); }

/** The web-chat headline (在线会话), as [label key, text, snapshot field]. */
export function chatFigures(s) {
  return [
    ["mon.chats_in_progress", s.chats_in_progress ?? 0, "chats_in_progress"],
    ["mon.chats_queued", s.chats_queued ?? 0, "chats_queued"],
    ["mon.chat_inflow", s.chat_inflow ?? 0, "chat_inflow"],
    ["mon.chat_answered", s.chat_answered ?? 0, "chat_answered"],
    ["mon.chat_abandoned", s.chat_abandoned ?? 0, "chat_abandoned"],
  ];
}

/** The voice headline figures of SPEC §10, as [label key, text]. */
export function figures(s) {
  return [
    ["mon.inflow", s.inflow], ["mon.answered", s.answered], ["mon.connect_rate", pct(s.connect_rate)],
    ["mon.queued", s.queued], ["mon.avg_wait", `${(s.avg_wait_secs ?? 0).toFixed(0)}s`],
    ["mon.longest_wait", `${(s.longest_wait_secs ?? 0).toFixed(0)}s`],
    ["mon.in_progress", s.calls_in_progress], ["mon.rate_15s", pct(s.answer_rate_15s)],
    ["mon.rate_20s", pct(s.answer_rate_20s)], ["mon.rate_30s", pct(s.answer_rate_30s)],
    ["mon.satisfaction", pct(s.average_satisfaction)], ["mon.relative_satisfaction", pct(s.relative_satisfaction)],
    ["mon.transfers", s.transfers], ["mon.transfer_rate", pct(s.transfer_rate)],
    ["mon.abandoned", s.abandoned], ["mon.abandon_rate", pct(s.abandon_rate)],
    ["mon.human_failures", s.transfer_to_human_failures], ["mon.outbound", s.outbound_calls],
    ["mon.agents_online", `${s.agents?.online ?? 0}/${s.agents?.total ?? 0}`],
    ["mon.agents_idle", s.agents?.idle ?? 0], ["mon.agents_busy", s.agents?.busy ?? 0],
    ["mon.agents_break", s.agents?.break ?? 0], ["mon.agents_invisible", s.agents?.invisible ?? 0],
  ];
}

function table(keys, rows) {
  const tb = el("table");
  const head = el("tr");
  for (const k of keys) head.append(el("th", t(k), { "data-column": k.replace(/^mon\./, "") }));
  tb.append(head);
  for (const r of rows) {
    const tr = el("tr");
    for (const c of r) tr.append(el("td", String(c ?? "")));
    tb.append(tr);
  }
  return tb;
}

/** A block of figures: a heading and one tile per [label key, text, field?] (the field names
 * the snapshot's JSON key in `data-field`, so a figure can be traced to the API). */
function block(id, title, items) {
  const sec = el("section", undefined, { class: "figure-block", id });
  sec.append(el("h2", t(title)));
  const figs = el("div", undefined, { class: "figures" });
  for (const [k, v, field] of items) {
    const f = el("div", undefined, field ? { class: "figure", "data-field": field } : { class: "figure" });
    f.append(el("div", String(v), { class: "value" }), el("div", t(k), { class: "label" }));
    figs.append(f);
  }
  sec.append(figs);
  return sec;
}

/** The group panel rows: the voice figures, then the group's chat figures. */
export const GROUP_COLUMNS = ["group", "queued", "longest_wait", "in_conversation", "agents_online", "agents_idle", "inflow",
  "answered", "connect_rate", "satisfaction", "group_chats_queued", "chats_active", "group_chat_inflow", "group_chat_answered"];

/** The agent table columns: state, the calls, the day (every channel), then the chats. */
export const AGENT_COLUMNS = ["agent", "state", "state_time", "customers", "agent_answered", "transfer_out", "satisfaction",
  "first_login", "online_time", "chats", "sessions", "first_response", "response_30s_rate", "avg_reply"];

function draw(box, s) {
  box.replaceChildren();
  const head = el("div", undefined, { class: "monitor-head" });
  head.append(block("mon-figures", "mon.voice", figures(s)), block("mon-chat", "mon.chat", chatFigures(s)));
  box.append(head, el("h2", t("mon.hourly")), hourlyChart(s), el("h2", t("mon.groups")));
  const groups = table(GROUP_COLUMNS.map((c) => `mon.${c}`),
    (s.groups ?? []).map((g) => [g.group, g.queued, `${(g.longest_wait_secs ?? 0).toFixed(0)}s`, g.in_conversation,
      g.agents?.online ?? 0, g.agents?.idle ?? 0, g.today?.inflow ?? 0, g.today?.answered ?? 0, pct(g.today?.connect_rate),
      pct(g.average_satisfaction), g.chats_queued ?? 0, g.chats_active ?? 0, g.chat_inflow ?? 0, g.chat_answered ?? 0]));
  groups.id = "mon-groups";
  box.append(groups, el("h2", t("mon.agents")));
  const agents = table(AGENT_COLUMNS.map((c) => `mon.${c}`),
    (s.agent_table ?? []).map((a) => [a.agent, a.reason ? `${t(`state.${a.state}`)} (${a.reason})` : t(`state.${a.state}`),
      `${Math.round(a.state_secs ?? 0)}s`, a.current_customers, a.answered, a.transfer_out, pct(a.average_satisfaction),
      (a.first_login ?? "").replace("T", " "), `${((a.online_secs ?? 0) / 3600).toFixed(1)}h`, a.chats ?? 0, a.sessions ?? 0,
      secs(a.first_response_avg_secs), pctOrDash(a.response_30s_rate), secs(a.avg_reply_secs)]));
  agents.id = "mon-agents";
  box.append(agents);
}

function render(view) {
  view.append(el("h1", t("nav.monitor")));
  const box = el("div", t("mon.waiting"), { id: "monitor" });
  view.append(box);
  openMonitor(view, (s) => draw(box, s));
}

const dict = {
  "zh-CN": {
    "nav.monitor": "实时监控", "mon.waiting": "正在连接…", "mon.inflow": "通话流入量", "mon.answered": "通话应答量",
    "mon.connect_rate": "接通率", "mon.queued": "排队通话", "mon.avg_wait": "平均排队时长", "mon.longest_wait": "最长排队时长",
    "mon.in_progress": "通话中", "mon.rate_15s": "15秒接通率", "mon.rate_30s": "30秒接通率", "mon.satisfaction": "满意度",
    "mon.abandoned": "通话呼损量", "mon.outbound": "呼出量", "mon.inbound": "呼入量", "mon.inbound_answered": "接听量",
    "mon.agents_online": "在线坐席", "mon.agents_idle": "空闲", "mon.agents_busy": "忙碌", "mon.agents_break": "小休",
    "mon.hourly": "24小时话务", "mon.groups": "技能组", "mon.group": "技能组", "mon.in_conversation": "通话中客户",
    "mon.agents": "坐席", "mon.agent": "坐席", "mon.state": "状态", "mon.state_time": "状态时长",
    "mon.customers": "当前通话", "mon.transfers": "转接量", "mon.transfer_out": "转出量",
    "mon.rate_20s": "20秒接通率", "mon.relative_satisfaction": "相对满意度", "mon.transfer_rate": "转接率",
    "mon.abandon_rate": "呼损率", "mon.human_failures": "转人工失败量", "mon.agents_invisible": "隐身", "mon.first_login": "首次登录", "mon.online_time": "在线时长",
    "mon.voice": "语音通话", "mon.chat": "在线会话", "mon.chats_in_progress": "会话进行中", "mon.chats_queued": "排队中",
    "mon.chat_inflow": "今日流入", "mon.chat_answered": "今日接入", "mon.chat_abandoned": "排队放弃",
    "mon.group_chats_queued": "排队会话", "mon.group_chat_inflow": "会话流入量", "mon.group_chat_answered": "会话接入量", "mon.chats_active": "会话接待中", "mon.agent_answered": "累计应答量(全部渠道)", "mon.chats": "当前会话", "mon.sessions": "今日会话量",
    "mon.first_response": "首次响应", "mon.response_30s_rate": "30秒响应率", "mon.avg_reply": "平均回复",
  },
  en: {
    "nav.monitor": "Live monitor", "mon.waiting": "Connecting…", "mon.inflow": "Call inflow", "mon.answered": "Calls answered",
    "mon.connect_rate": "Connect rate", "mon.queued": "Calls queued", "mon.avg_wait": "Avg wait", "mon.longest_wait": "Longest wait",
    "mon.in_progress": "Calls in progress", "mon.rate_15s": "15 s answer rate", "mon.rate_30s": "30 s answer rate", "mon.satisfaction": "Satisfaction",
    "mon.abandoned": "Calls abandoned", "mon.outbound": "Outbound", "mon.inbound": "Inbound", "mon.inbound_answered": "Answered",
    "mon.agents_online": "Agents online", "mon.agents_idle": "Idle", "mon.agents_busy": "Busy", "mon.agents_break": "Break",
    "mon.hourly": "Last 24 hours", "mon.groups": "Skill groups", "mon.group": "Group", "mon.in_conversation": "Callers talking",
    "mon.agents": "Agents", "mon.agent": "Agent", "mon.state": "State", "mon.state_time": "Time in state",
    "mon.customers": "Calls now", "mon.transfers": "Transfers", "mon.transfer_out": "Transferred out",
    "mon.rate_20s": "20 s answer rate", "mon.relative_satisfaction": "Relative satisfaction", "mon.transfer_rate": "Transfer rate",
    "mon.abandon_rate": "Abandon rate", "mon.human_failures": "Transfer-to-human failures", "mon.agents_invisible": "Invisible", "mon.first_login": "First login", "mon.online_time": "Online",
    "mon.voice": "Voice calls", "mon.chat": "Web chat", "mon.chats_in_progress": "Chats in progress", "mon.chats_queued": "Chats queued",
    "mon.chat_inflow": "Chat inflow today", "mon.chat_answered": "Chats answered today", "mon.chat_abandoned": "Chats abandoned in queue",
    "mon.group_chats_queued": "Chats queued", "mon.group_chat_inflow": "Chat inflow", "mon.group_chat_answered": "Chats answered", "mon.chats_active": "Chats being served", "mon.agent_answered": "Answered (all channels)", "mon.chats": "Open chats", "mon.sessions": "Chat sessions today",
    "mon.first_response": "First response", "mon.response_30s_rate": "30 s response rate", "mon.avg_reply": "Avg reply",
  },
};

export default { id: "monitor", roles: ["admin", "supervisor", "tm_super_admin", "tm_admin"], label: "nav.monitor", render, dict };
