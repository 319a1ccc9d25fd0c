// Historical reports (数据统计, SPEC §11): pick a family, a period (or a quick preset), a skill
// group and the columns; charts of the family (a toggle hides them), the table, and CSV / xlsx
// downloads of the same selection. Column headers and series names are the server's labels
// (`labels`, in the panel's language: 流入量, 接通率 …); rates show as percentages and durations
// in seconds as h:mm:ss (`formats`). Charts are drawn from the rows the table shows, so they
// follow the selected columns and group; rates over several rows are recomputed from the summed
// counts, never averaged. The interaction families take a channel (全部 / 语音 / 在线会话,
// `channel=all|voice|chat`, the server's CHANNEL_FAMILIES); the JSON request and the downloads
// carry it, so the columns (chat figures included: 会话量, 30秒响应率 …), the rows and the charts
// all follow the choice.
import { current, t } from "../i18n.js";
import { api, ctx, el } from "../lib.js";
import { COLORS, barChart, hbarChart, lineChart } from "./chart.js";

// family → view or "" (the select's value is the family, `?view` for a variant)
const FAMILIES = {
  "skill-groups/daily": "",
  "skill-groups/hourly": "",
  "agents/daily": "",
  "departments/daily": "",
  "traffic": "",
  "satisfaction": "",
  "categories": "daily",
  "categories?top": "top",
  "tickets": "agent",
  "tickets?type": "type",
  "tickets?agent-type-node": "agent-type-node",
};
/** The families that take `department=` (seed 003: 按部门分析). */
const BY_DEPARTMENT = ["agents/daily", "departments/daily"];
/** The families that take `channel=` (src/web/api_reports.rs CHANNEL_FAMILIES; any other
 * family refuses it: traffic is voice only, the CRM reports have no channel). */
export const CHANNEL_FAMILIES = ["skill-groups/daily", "skill-groups/hourly", "agents/daily", "departments/daily", "satisfaction"];
/** The channel choices, the default (every channel) first. */
const CHANNELS = ["all", "voice", "chat"];
/** The five satisfaction levels, very satisfied first, and their colours (green to red). */
const LEVELS = ["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"];
const LEVEL_COLORS = ["#2e7d32", "#8bc34a", "#f0a030", "#e57373", "#c0392b"];
/** Rows drawn in a per-name chart (agents, categories …): the top ones. */
const TOP = 20;
const PRESETS = ["today", "yesterday", "7d", "month", "lastmonth"];

// The form as last used: a language switch re-renders the page, which then runs it again.
const last = { family: "skill-groups/daily", from: "", to: "", group: "", department: "", channel: "all", columns: [], ran: false, charts: true };

/** A local date as YYYY-MM-DD. */
function ymd(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** The [from, to] dates of a quick preset, counted from `now`. */
export function presetRange(name, now = new Date()) {
  const y = now.getFullYear();
  const m = now.getMonth();
  const day = (offset) => new Date(y, m, now.getDate() + offset);
  switch (name) {
    case "yesterday": return [ymd(day(-1)), ymd(day(-1))];
    case "7d": return [ymd(day(-6)), ymd(day(0))];
    case "month": return [ymd(new Date(y, m, 1)), ymd(day(0))];
    case "lastmonth": return [ymd(new Date(y, m - 1, 1)), ymd(new Date(y, m, 0))];
    default: return [ymd(day(0)), ymd(day(0))];
  }
}

/** Seconds as h:mm:ss. */
export function hms(secs) {
  const s = Math.max(0, Math.round(Number(secs) || 0));
  const p = (n) => String(n).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}`;
}

/** A cell as shown: by the column's format from the server. */
export function cell(v, format) {
  if (v === null || v === undefined) return "";
  if (typeof v !== "number") return String(v);
  switch (format) {
    case "rate": return `${(v * 100).toFixed(1)}%`;
    case "duration": return hms(v);
    case "number": return Number.isInteger(v) ? String(v) : v.toFixed(2);
    default: return Number.isInteger(v) ? String(v) : v.toFixed(3);
  }
}

/** A column's header: its label, without the seconds unit where the cell shows h:mm:ss. */
function heading(c, labels, formats) {
  const l = labels[c] ?? c;
  return formats[c] === "duration" ? l.replace(/\s*(\(秒\)|\(s\))$/, "") : l;
}

const num = (v) => Number(v) || 0;

/** Every date from `from` to `to` inclusive (YYYY-MM-DD, at most 366). */
export function dateRange(from, to) {
  const out = [];
  const d = new Date(`${from}T00:00:00Z`);
  const end = new Date(`${to}T00:00:00Z`);
  while (d <= end && out.length < 366) {
    out.push(d.toISOString().slice(0, 10));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

/** The sums of `keys` over `items` per `by(item)` (a Map in first-seen order). */
function sums(items, by, keys) {
  const m = new Map();
  for (const i of items) {
    const k = by(i);
    if (k === undefined || k === null) continue;
    const acc = m.get(k) ?? Object.fromEntries(keys.map((c) => [c, 0]));
    for (const c of keys) acc[c] += num(i[c]);
    m.set(k, acc);
  }
  return m;
}

/** `num / den`, 0 when nothing was counted (SPEC §11: rates are fractions 0..1). */
const ratio = (n, d) => (d > 0 ? n / d : 0);

/**
 * The charts of one answer, as [title, svg] pairs: `key` is the page's family choice
 * (`categories?top` …), `data` the JSON answer. Only the columns the answer holds are drawn.
 */
export function charts(key, data) {
  const cols = data.columns ?? [];
  const items = data.items ?? [];
  const labels = data.labels ?? {};
  const formats = data.formats ?? {};
  const out = [];
  if (!items.length) return out;
  const has = (c) => cols.includes(c);
  const series = (keys, values, colors = COLORS) => keys.map((c, j) => ({
    key: c, name: heading(c, labels, formats), color: colors[j % colors.length],
    format: (v) => cell(v, formats[c]), values: values(c),
  }));
  const add = (title, node) => out.push([t(title), node]);
  // Per-name charts (agents, departments, categories): totals over the period, top first.
  const perName = (who, keys, rank, opts) => {
    const by = sums(items, who, keys);
    const names = [...by.keys()].sort((a, b) => rank(by.get(b)) - rank(by.get(a))).slice(0, opts.top ?? TOP);
    return hbarChart(names, series(keys, (c) => names.map((n) => by.get(n)[c]), opts.colors), opts);
  };
  const total = (keys) => (acc) => keys.reduce((a, c) => a + acc[c], 0);
  switch (key.split("?")[0]) {
    case "skill-groups/hourly": {
      const ys = ["inflow", "answered"].filter(has);
      if (!has("hour") || !ys.length) break;
      const hours = [...Array(24).keys()];
      const by = sums(items, (i) => num(i.hour), ys);
      add("rep.chart.hourly", barChart(hours, series(ys, (c) => hours.map((h) => by.get(h)?.[c] ?? 0)), { id: "rep-chart-hourly" }));
      break;
    }
    case "skill-groups/daily":
    case "traffic": {
      const traffic = key === "traffic";
      const ys = (traffic ? ["inbound", "outbound", "answered"] : ["inflow", "answered"]).filter(has);
      if (!has("date")) break;
      const days = dateRange(data.from, data.to);
      const by = sums(items, (i) => i.date, [...new Set([...ys, "inflow", "answered"])]);
      const tick = (d) => String(d).slice(5);
      if (ys.length) {
        add(traffic ? "rep.chart.traffic" : "rep.chart.daily",
          barChart(days, series(ys, (c) => days.map((d) => by.get(d)?.[c] ?? 0)), { id: "rep-chart-daily", tick }));
      }
      if (traffic || !has("connect_rate")) break;
      // 接通率 of a day over every group shown: summed answered / summed inflow.
      let rate = null;
      if (has("inflow") && has("answered")) {
        rate = days.map((d) => ratio(by.get(d)?.answered ?? 0, by.get(d)?.inflow ?? 0));
      } else if (new Set(items.map((i) => i.date)).size === items.length) {
        const one = new Map(items.map((i) => [i.date, num(i.connect_rate)]));
        rate = days.map((d) => one.get(d) ?? 0);
      }
      if (rate) {
        add("rep.chart.rate", lineChart(days, series(["connect_rate"], () => rate, [COLORS[3]]),
          { id: "rep-chart-rate", max: 1, axis: (v) => `${Math.round(v * 100)}%`, tick }));
      }
      break;
    }
    case "agents/daily": {
      if (!has("agent")) break;
      if (has("answered")) {
        add("rep.chart.answered", perName((i) => i.agent, ["answered"], (a) => a.answered, { id: "rep-chart-answered" }));
      }
      // Chat sessions per agent, once any agent of the rows served one.
      if (has("sessions") && items.some((i) => num(i.sessions) > 0)) {
        add("rep.chart.sessions", perName((i) => i.agent, ["sessions"], (a) => a.sessions, { id: "rep-chart-sessions" }));
      }
      const states = cols.filter((c) => c.startsWith("state_secs.") && c !== "state_secs.offline");
      if (states.length) {
        add("rep.chart.states", perName((i) => i.agent, states, total(states),
          { id: "rep-chart-states", stacked: true, axis: hms }));
      }
      break;
    }
    case "departments/daily": {
      if (!has("department")) break;
      const who = (i) => i.department_name || i.department || t("rep.unassigned");
      const ys = ["answered", "transfer_out"].filter(has);
      if (ys.length) add("rep.chart.departments", perName(who, ys, total(ys), { id: "rep-chart-departments" }));
      break;
    }
    case "satisfaction": {
      const field = ["agent", "group"].find(has);
      const levels = LEVELS.filter(has);
      if (!field || !levels.length) break;
      add("rep.chart.satisfaction", perName((i) => i[field], levels, total(levels),
        { id: "rep-chart-satisfaction", stacked: true, colors: LEVEL_COLORS.filter((_, j) => has(LEVELS[j])) }));
      break;
    }
    case "categories": {
      const y = ["count", "total"].find(has);
      if (!has("category") || !y) break;
      add("rep.chart.categories", perName((i) => i.category, [y], (a) => a[y], { id: "rep-chart-categories", top: 10 }));
      break;
    }
    case "tickets": {
      const field = ["agent", "ticket_type"].find(has);
      const ys = ["total", "open_past_sla"].filter(has);
      if (!field || has("node") || !ys.length) break;
      add("rep.chart.tickets", perName((i) => i[field] ?? "", ys, (a) => a[ys[0]], { id: "rep-chart-tickets" }));
      break;
    }
    default:
  }
  return out;
}

function query(f) {
  const [family] = f.family.value.split("?");
  const p = new URLSearchParams({ from: f.from.value, to: f.to.value, lang: current() });
  const view = FAMILIES[f.family.value];
  if (view) p.set("view", view);
  if (f.group.value) p.set("group", f.group.value);
  if (f.department.value && BY_DEPARTMENT.includes(family)) p.set("department", f.department.value);
  if (CHANNEL_FAMILIES.includes(family)) p.set("channel", f.channel.value || "all");
  const cols = [...f.columns.querySelectorAll("input:checked")].map((c) => c.value);
  if (cols.length) p.set("columns", cols.join(","));
  return [family, p];
}

/** The skill-group chooser: a select of /api/skill-groups, or a text input when refused. */
async function groupPicker(slot) {
  const r = await api("GET", "/api/skill-groups");
  const names = r.status === 200 ? (r.data.items ?? []).map((g) => g.name).filter(Boolean) : null;
  let g;
  if (names) {
    g = el("select", undefined, { name: "group", id: "rep-group" });
    g.append(el("option", t("rep.allgroups"), { value: "" }));
    for (const n of names) g.append(el("option", n, { value: n }));
    if (last.group && !names.includes(last.group)) g.append(el("option", last.group, { value: last.group }));
  } else {
    g = el("input", undefined, { name: "group", id: "rep-group", placeholder: t("rep.group") });
  }
  g.value = last.group;
  slot.replaceWith(g);
  return g;
}

/** The department chooser: a select of /api/departments for administrators (who may list
 * them), a text input for the key otherwise. */
async function departmentPicker(slot) {
  const r = ctx.session?.role === "admin" ? await api("GET", "/api/departments") : null;
  const list = r?.status === 200 ? (r.data.items ?? []).filter((d) => d.name) : null;
  let d;
  if (list) {
    d = el("select", undefined, { name: "department", id: "rep-department" });
    d.append(el("option", t("rep.alldepartments"), { value: "" }));
    for (const x of list) d.append(el("option", x.display_name || x.name, { value: x.name }));
    if (last.department && !list.some((x) => x.name === last.department)) d.append(el("option", last.department, { value: last.department }));
  } else {
    d = el("input", undefined, { name: "department", id: "rep-department", placeholder: t("rep.department") });
  }
  d.value = last.department;
  d.hidden = slot.hidden;
  slot.replaceWith(d);
  return d;
}

function render(view) {
  view.append(el("h1", t("nav.reports")));
  const form = el("form", undefined, { id: "report-form" });
  const family = el("select", undefined, { name: "family", id: "rep-family" });
  for (const k of Object.keys(FAMILIES)) family.append(el("option", t(`rep.${k}`), { value: k }));
  family.value = last.family;
  const [d0, d1] = presetRange("today");
  const from = el("input", undefined, { type: "date", name: "from", id: "rep-from", value: last.from || d0 });
  const to = el("input", undefined, { type: "date", name: "to", id: "rep-to", value: last.to || d1 });
  // Until /api/skill-groups answers: a text input that the chooser replaces.
  let group = el("input", undefined, { name: "group", id: "rep-group", placeholder: t("rep.group"), value: last.group });
  const go = el("button", t("rep.run"), { type: "submit", id: "rep-run" });
  const presets = el("span", undefined, { id: "rep-presets" });
  for (const p of PRESETS) presets.append(el("button", t(`rep.preset.${p}`), { type: "button", id: `rep-preset-${p}`, "data-preset": p }));
  const columns = el("fieldset", undefined, { id: "rep-columns" });
  columns.append(el("legend", t("rep.columns")));
  const toggle = el("input", undefined, { type: "checkbox", id: "rep-chart-toggle" });
  toggle.checked = last.charts;
  const toggleLabel = el("label", undefined, { for: "rep-chart-toggle", id: "rep-chart-toggle-label" });
  toggleLabel.append(toggle, document.createTextNode(t("rep.chart")));
  let dept = el("input", undefined, { name: "department", id: "rep-department", placeholder: t("rep.department"), value: last.department });
  dept.hidden = !BY_DEPARTMENT.includes(family.value);
  const channel = el("select", undefined, { name: "channel", id: "rep-channel", title: t("rep.channel") });
  for (const c of CHANNELS) channel.append(el("option", t(`rep.channel.${c}`), { value: c }));
  channel.value = CHANNELS.includes(last.channel) ? last.channel : "all";
  const hasChannel = () => CHANNEL_FAMILIES.includes(family.value.split("?")[0]);
  channel.hidden = !hasChannel();
  form.append(family, from, to, presets, group, dept, channel, go, toggleLabel, columns);
  const links = el("div", undefined, { id: "rep-links" });
  const err = el("div", "", { class: "error", id: "rep-error" });
  const chart = el("div", undefined, { id: "rep-chart", class: "charts" });
  chart.hidden = !last.charts;
  const out = el("div", undefined, { id: "rep-table" });
  view.append(form, err, links, chart, out);
  const f = { family, from, to, group, department: dept, channel, columns };

  function remember() {
    Object.assign(last, { family: family.value, from: from.value, to: to.value, group: f.group.value, department: f.department.value, channel: channel.value });
    // Before the column boxes exist (a fresh render) the remembered choice stands.
    if (columns.querySelector("input")) last.columns = [...columns.querySelectorAll("input:checked")].map((c) => c.value);
  }

  async function run() {
    err.textContent = "";
    remember();
    last.ran = true;
    const [fam, p] = query(f);
    const r = await api("GET", `/api/reports/${fam}?${p}`);
    if (r.status !== 200) { err.textContent = r.data.message || String(r.status); return; }
    const cols = r.data.columns ?? [];
    const labels = r.data.labels ?? {};
    const formats = r.data.formats ?? {};
    if (!columns.querySelector("input")) {
      for (const c of cols) {
        const l = el("label");
        const box = el("input", undefined, { type: "checkbox", value: c, "data-column": c });
        box.checked = last.columns.includes(c);
        l.append(box, document.createTextNode(heading(c, labels, formats)));
        columns.append(l);
      }
      // The boxes came from the full table; run again for the remembered choice of columns.
      if (columns.querySelector("input:checked")) return run();
    }
    links.replaceChildren();
    for (const fmt of ["csv", "xlsx"]) {
      const q = new URLSearchParams(p);
      q.set("format", fmt);
      links.append(el("a", t(`rep.${fmt}`), { href: `/api/reports/${fam}?${q}`, download: "", id: `rep-${fmt}` }), document.createTextNode(" "));
    }
    const tb = el("table");
    const head = el("tr");
    for (const c of cols) head.append(el("th", heading(c, labels, formats), { "data-column": c }));
    tb.append(head);
    for (const item of r.data.items) {
      const tr = el("tr");
      for (const c of cols) {
        const td = el("td", cell(item[c], formats[c]));
        if (formats[c] === "rate" || formats[c] === "duration") td.title = String(item[c]);
        tr.append(td);
      }
      tb.append(tr);
    }
    out.replaceChildren(tb);
    if (!r.data.items.length) out.append(el("p", t("rep.nodata"), { id: "rep-empty", class: "empty" }));
    chart.replaceChildren();
    // A caption says which channel the chart counts when it is not every channel.
    const only = CHANNELS.includes(r.data.channel) && r.data.channel !== "all" ? ` · ${t(`rep.channel.${r.data.channel}`)}` : "";
    for (const [title, node] of charts(family.value, r.data)) {
      const fig = el("figure", undefined, { class: "chart-box" });
      fig.append(el("figcaption", title + only), node);
      chart.append(fig);
    }
  }

  family.addEventListener("change", () => {
    f.department.hidden = !BY_DEPARTMENT.includes(family.value);
    channel.hidden = !hasChannel();
    last.columns = [];
    columns.replaceChildren(el("legend", t("rep.columns")));
  });
  toggle.addEventListener("change", () => {
    last.charts = toggle.checked;
    chart.hidden = !toggle.checked;
  });
  presets.addEventListener("click", (e) => {
    const p = e.target?.dataset?.preset;
    if (!p) return;
    [from.value, to.value] = presetRange(p);
    run();
  });
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  const picked = [
    groupPicker(group).then((g) => { group = g; f.group = g; }),
    departmentPicker(dept).then((d) => { dept = d; f.department = d; }),
  ];
  // Re-rendered (a language switch): show the same report again, now in that language.
  Promise.all(picked).then(() => { if (last.ran) run(); });
}

const dict = {
  "zh-CN": {
    "nav.reports": "数据统计", "rep.run": "查询", "rep.group": "技能组", "rep.allgroups": "全部技能组", "rep.columns": "显示列",
    "rep.csv": "下载 CSV", "rep.xlsx": "下载 Excel", "rep.nodata": "所选时段没有数据",
    "rep.preset.today": "今天", "rep.preset.yesterday": "昨天", "rep.preset.7d": "最近7天",
    "rep.preset.month": "本月", "rep.preset.lastmonth": "上月",
    "rep.skill-groups/daily": "人工技能组日统计", "rep.skill-groups/hourly": "人工技能组时段统计",
    "rep.agents/daily": "人工客服日统计", "rep.traffic": "话务统计", "rep.satisfaction": "满意度统计",
    "rep.categories": "服务记录类目(按日按来源)", "rep.categories?top": "服务记录类目 Top N",
    "rep.departments/daily": "部门日统计", "rep.department": "部门", "rep.alldepartments": "全部部门", "rep.unassigned": "未分配部门", "rep.chart": "图表",
    "rep.chart.hourly": "各时段流入量与应答量", "rep.chart.daily": "每日流入量与应答量", "rep.chart.rate": "每日接通率",
    "rep.chart.traffic": "每日呼入、呼出与接听", "rep.chart.answered": "客服应答量(前20)", "rep.chart.states": "客服状态时长",
    "rep.chart.departments": "各部门应答量", "rep.chart.satisfaction": "满意度分布", "rep.chart.categories": "类目使用量 Top 10",
    "rep.chart.tickets": "工单数量", "rep.chart.sessions": "客服会话量(前20)",
    "rep.channel": "渠道", "rep.channel.all": "全部", "rep.channel.voice": "语音", "rep.channel.chat": "在线会话",
    "rep.tickets": "工单(按坐席)", "rep.tickets?type": "工单(按类型)", "rep.tickets?agent-type-node": "工单(坐席×类型×节点)",
  },
  en: {
    "nav.reports": "Reports", "rep.run": "Run", "rep.group": "Skill group", "rep.allgroups": "All skill groups", "rep.columns": "Columns",
    "rep.csv": "Download CSV", "rep.xlsx": "Download Excel", "rep.nodata": "No data for this period",
    "rep.preset.today": "Today", "rep.preset.yesterday": "Yesterday", "rep.preset.7d": "Last 7 days",
    "rep.preset.month": "This month", "rep.preset.lastmonth": "Last month",
    "rep.skill-groups/daily": "Skill groups per day", "rep.skill-groups/hourly": "Skill groups per hour",
    "rep.agents/daily": "Agents per day", "rep.traffic": "Traffic", "rep.satisfaction": "Satisfaction",
    "rep.categories": "Summary categories (per day, by source)", "rep.categories?top": "Summary categories, top N",
    "rep.departments/daily": "Departments per day", "rep.department": "Department", "rep.alldepartments": "All departments", "rep.unassigned": "No department", "rep.chart": "Chart",
    "rep.chart.hourly": "Inflow and answered per hour", "rep.chart.daily": "Inflow and answered per day", "rep.chart.rate": "Connect rate per day",
    "rep.chart.traffic": "Inbound, outbound and answered per day", "rep.chart.answered": "Answered per agent (top 20)", "rep.chart.states": "Time in each state per agent",
    "rep.chart.departments": "Answered per department", "rep.chart.satisfaction": "Satisfaction levels", "rep.chart.categories": "Top 10 categories",
    "rep.chart.tickets": "Tickets", "rep.chart.sessions": "Chat sessions per agent (top 20)",
    "rep.channel": "Channel", "rep.channel.all": "All", "rep.channel.voice": "Voice", "rep.channel.chat": "Chat",
    "rep.tickets": "Tickets per agent", "rep.tickets?type": "Tickets per type", "rep.tickets?agent-type-node": "Tickets per agent × type × node",
  },
};

export default { id: "reports", roles: ["admin", "supervisor", "tm_super_admin", "tm_admin"], label: "nav.reports", render, dict };
