// Supervisor live monitor (实时监控, SPEC §10): the day's figures, a panel per skill group, the
// agent table and the 24-hour inbound/outbound chart, pushed by GET /api/monitor/stream.
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

/** The headline figures of SPEC §10, as [label key, text]. */
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
  for (const k of keys) head.append(el("th", t(k)));
  tb.append(head);
  for (const r of rows) {
    const tr = el("tr");
    for (const c of r) tr.append(el("td", String(c ?? "")));
    tb.append(tr);
  }
  return tb;
}

function draw(box, s) {
  box.replaceChildren();
  const figs = el("div", undefined, { class: "figures", id: "mon-figures" });
  for (const [k, v] of figures(s)) {
    const f = el("div", undefined, { class: "figure" });
    f.append(el("div", String(v), { class: "value" }), el("div", t(k), { class: "label" }));
    figs.append(f);
  }
  box.append(figs, el("h2", t("mon.hourly")), hourlyChart(s), el("h2", t("mon.groups")));
  box.append(table(
    ["mon.group", "mon.queued", "mon.longest_wait", "mon.in_conversation", "mon.agents_online", "mon.agents_idle", "mon.inflow", "mon.answered", "mon.connect_rate", "mon.satisfaction"],
    (s.groups ?? []).map((g) => [g.group, g.queued, `${g.longest_wait_secs.toFixed(0)}s`, g.in_conversation,
      g.agents.online, g.agents.idle, g.today.inflow, g.today.answered, pct(g.today.connect_rate), pct(g.average_satisfaction)]),
  ));
  box.append(el("h2", t("mon.agents")));
  box.append(table(
    ["mon.agent", "mon.state", "mon.state_time", "mon.customers", "mon.answered", "mon.transfer_out", "mon.satisfaction", "mon.first_login", "mon.online_time"],
    (s.agent_table ?? []).map((a) => [a.agent, a.reason ? `${t(`state.${a.state}`)} (${a.reason})` : t(`state.${a.state}`),
      `${Math.round(a.state_secs)}s`, a.current_customers, a.answered, a.transfer_out, pct(a.average_satisfaction),
      a.first_login ?? "", `${(a.online_secs / 3600).toFixed(1)}h`]),
  ));
}

function render(view) {
  view.append(el("h1", t("nav.monitor")));
  const box = el("div", t("mon.waiting"), { id: "monitor" });
  view.append(box);
  openMonitor(view, (s) => draw(box, s));
}

const dict = {
  "zh-CN": {
    "nav.monitor": "实时监控", "mon.waiting": "正在连接…", "mon.inflow": "流入量", "mon.answered": "应答量",
    "mon.connect_rate": "接通率", "mon.queued": "排队数", "mon.avg_wait": "平均排队时长", "mon.longest_wait": "最长排队时长",
    "mon.in_progress": "通话中", "mon.rate_15s": "15秒接通率", "mon.rate_30s": "30秒接通率", "mon.satisfaction": "满意度",
    "mon.abandoned": "呼损量", "mon.outbound": "呼出量", "mon.inbound": "呼入量", "mon.inbound_answered": "接听量",
    "mon.agents_online": "在线坐席", "mon.agents_idle": "空闲", "mon.agents_busy": "忙碌", "mon.agents_break": "小休",
    "mon.hourly": "24小时话务", "mon.groups": "技能组", "mon.group": "技能组", "mon.in_conversation": "对话中",
    "mon.agents": "坐席", "mon.agent": "坐席", "mon.state": "状态", "mon.state_time": "状态时长",
    "mon.customers": "当前客户", "mon.transfers": "转接量", "mon.transfer_out": "转出量",
    "mon.rate_20s": "20秒接通率", "mon.relative_satisfaction": "相对满意度", "mon.transfer_rate": "转接率",
    "mon.abandon_rate": "呼损率", "mon.human_failures": "转人工失败量", "mon.agents_invisible": "隐身", "mon.first_login": "首次登录", "mon.online_time": "在线时长",
  },
  en: {
    "nav.monitor": "Live monitor", "mon.waiting": "Connecting…", "mon.inflow": "Inflow", "mon.answered": "Answered",
    "mon.connect_rate": "Connect rate", "mon.queued": "Queued", "mon.avg_wait": "Avg wait", "mon.longest_wait": "Longest wait",
    "mon.in_progress": "In progress", "mon.rate_15s": "15 s answer rate", "mon.rate_30s": "30 s answer rate", "mon.satisfaction": "Satisfaction",
    "mon.abandoned": "Abandoned", "mon.outbound": "Outbound", "mon.inbound": "Inbound", "mon.inbound_answered": "Answered",
    "mon.agents_online": "Agents online", "mon.agents_idle": "Idle", "mon.agents_busy": "Busy", "mon.agents_break": "Break",
    "mon.hourly": "Last 24 hours", "mon.groups": "Skill groups", "mon.group": "Group", "mon.in_conversation": "Talking",
    "mon.agents": "Agents", "mon.agent": "Agent", "mon.state": "State", "mon.state_time": "Time in state",
    "mon.customers": "Customers", "mon.transfers": "Transfers", "mon.transfer_out": "Transferred out",
    "mon.rate_20s": "20 s answer rate", "mon.relative_satisfaction": "Relative satisfaction", "mon.transfer_rate": "Transfer rate",
    "mon.abandon_rate": "Abandon rate", "mon.human_failures": "Transfer-to-human failures", "mon.agents_invisible": "Invisible", "mon.first_login": "First login", "mon.online_time": "Online",
  },
};

export default { id: "monitor", roles: ["admin", "supervisor", "tm_super_admin", "tm_admin"], label: "nav.monitor", render, dict };
