// Historical reports (数据统计, SPEC §11): pick a family, a period (or a quick preset), a skill
// group and the columns; the table, CSV / xlsx downloads of the same selection and a simple SVG
// chart per family. Column headers are the server's labels (`labels`, in the panel's language:
// 流入量, 接通率 …); rates show as percentages and durations in seconds as h:mm:ss (`formats`).
import { current, t } from "../i18n.js";
import { api, el } from "../lib.js";
import { barChart } from "./monitor.js";

// family → [view or "", the columns charted (first is the x label)]
const FAMILIES = {
  "skill-groups/daily": ["", ["date", "inflow", "answered", "lost"]],
  "skill-groups/hourly": ["", ["hour", "inflow", "answered"]],
  "agents/daily": ["", ["agent", "answered", "transfer_out"]],
  "traffic": ["", ["date", "inbound", "outbound", "answered"]],
  "satisfaction": ["", ["agent", "rated", "very_satisfied", "satisfied"]],
  "categories": ["daily", ["category", "total"]],
  "categories?top": ["top", ["category", "count"]],
  "tickets": ["agent", ["agent", "total", "open_past_sla"]],
  "tickets?type": ["type", ["ticket_type", "total", "closed_late"]],
  "tickets?agent-type-node": ["agent-type-node", null],
};
const COLORS = ["#3b7dd8", "#4caf50", "#f0a030", "#c0392b"];
const PRESETS = ["today", "yesterday", "7d", "month", "lastmonth"];

// The form as last used: a language switch re-renders the page, which then runs it again.
const last = { family: "skill-groups/daily", from: "", to: "", group: "", columns: [], ran: false };

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

function query(f) {
  const [family] = f.family.value.split("?");
  const p = new URLSearchParams({ from: f.from.value, to: f.to.value, lang: current() });
  const view = FAMILIES[f.family.value][0];
  if (view) p.set("view", view);
  if (f.group.value) p.set("group", f.group.value);
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
  form.append(family, from, to, presets, group, go, columns);
  const links = el("div", undefined, { id: "rep-links" });
  const err = el("div", "", { class: "error", id: "rep-error" });
  const chart = el("div", undefined, { id: "rep-chart" });
  const out = el("div", undefined, { id: "rep-table" });
  view.append(form, err, links, chart, out);
  const f = { family, from, to, group, columns };

  function remember() {
    Object.assign(last, { family: family.value, from: from.value, to: to.value, group: f.group.value });
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
    const spec = FAMILIES[family.value][1];
    if (spec && r.data.items.length) {
      const [x, ...ys] = spec;
      const items = r.data.items.slice(0, 62);
      const xs = items.map((i) => i[x] ?? i.date ?? "");
      const series = ys.filter((y) => items[0][y] !== undefined)
        .map((y, j) => ({ name: labels[y] ?? y, color: COLORS[j % COLORS.length], values: items.map((i) => Number(i[y]) || 0) }));
      if (series.length) chart.append(barChart(xs, series));
    }
  }

  family.addEventListener("change", () => {
    last.columns = [];
    columns.replaceChildren(el("legend", t("rep.columns")));
  });
  presets.addEventListener("click", (e) => {
    const p = e.target?.dataset?.preset;
    if (!p) return;
    [from.value, to.value] = presetRange(p);
    run();
  });
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  groupPicker(group).then((g) => {
    group = g;
    f.group = g;
    // Re-rendered (a language switch): show the same report again, now in that language.
    if (last.ran) run();
  });
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
    "rep.tickets": "Tickets per agent", "rep.tickets?type": "Tickets per type", "rep.tickets?agent-type-node": "Tickets per agent × type × node",
  },
};

export default { id: "reports", roles: ["admin", "supervisor", "tm_super_admin", "tm_admin"], label: "nav.reports", render, dict };
