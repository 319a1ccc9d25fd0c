// Historical reports (数据统计, SPEC §11): pick a family, dates, a group and the columns; the
// table, CSV / xlsx downloads of the same selection and a simple SVG chart per family.
import { t } from "../i18n.js";
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

function today() { return new Date().toISOString().slice(0, 10); }

function query(f) {
  const [family] = f.family.value.split("?");
  const p = new URLSearchParams({ from: f.from.value, to: f.to.value });
  const view = FAMILIES[f.family.value][0];
  if (view) p.set("view", view);
  if (f.group.value) p.set("group", f.group.value);
  const cols = [...f.columns.querySelectorAll("input:checked")].map((c) => c.value);
  if (cols.length) p.set("columns", cols.join(","));
  return [family, p];
}

function cell(v) { return typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : String(v ?? ""); }

function render(view) {
  view.append(el("h1", t("nav.reports")));
  const form = el("form", undefined, { id: "report-form" });
  const family = el("select", undefined, { name: "family", id: "rep-family" });
  for (const k of Object.keys(FAMILIES)) family.append(el("option", t(`rep.${k}`), { value: k }));
  const from = el("input", undefined, { type: "date", name: "from", value: today() });
  const to = el("input", undefined, { type: "date", name: "to", value: today() });
  const group = el("input", undefined, { name: "group", placeholder: t("rep.group") });
  const go = el("button", t("rep.run"), { type: "submit" });
  const columns = el("fieldset", undefined, { id: "rep-columns" });
  columns.append(el("legend", t("rep.columns")));
  form.append(family, from, to, group, go, columns);
  const links = el("div", undefined, { id: "rep-links" });
  const err = el("div", "", { class: "error", id: "rep-error" });
  const chart = el("div", undefined, { id: "rep-chart" });
  const out = el("div", undefined, { id: "rep-table" });
  view.append(form, err, links, chart, out);
  const f = { family, from, to, group, columns };

  async function run() {
    err.textContent = "";
    const [fam, p] = query(f);
    const r = await api("GET", `/api/reports/${fam}?${p}`);
    if (r.status !== 200) { err.textContent = r.data.message || String(r.status); return; }
    const cols = r.data.columns ?? [];
    if (!columns.querySelector("input")) {
      for (const c of cols) {
        const l = el("label");
        l.append(el("input", undefined, { type: "checkbox", value: c }), document.createTextNode(c));
        columns.append(l);
      }
    }
    links.replaceChildren();
    for (const fmt of ["csv", "xlsx"]) {
      const q = new URLSearchParams(p);
      q.set("format", fmt);
      links.append(el("a", t(`rep.${fmt}`), { href: `/api/reports/${fam}?${q}`, download: "" }), document.createTextNode(" "));
    }
    const tb = el("table");
    const head = el("tr");
    for (const c of cols) head.append(el("th", c));
    tb.append(head);
    for (const item of r.data.items) {
      const tr = el("tr");
      for (const c of cols) tr.append(el("td", cell(item[c])));
      tb.append(tr);
    }
    out.replaceChildren(tb);
    chart.replaceChildren();
    const spec = FAMILIES[family.value][1];
    if (spec && r.data.items.length) {
      const [x, ...ys] = spec;
      const items = r.data.items.slice(0, 62);
      const labels = items.map((i) => i[x] ?? i.date ?? "");
      const series = ys.filter((y) => items[0][y] !== undefined)
        .map((y, j) => ({ name: y, color: COLORS[j % COLORS.length], values: items.map((i) => Number(i[y]) || 0) }));
      if (series.length) chart.append(barChart(labels, series));
    }
  }

  family.addEventListener("change", () => { columns.replaceChildren(el("legend", t("rep.columns"))); });
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
}

const dict = {
  "zh-CN": {
    "nav.reports": "数据统计", "rep.run": "查询", "rep.group": "技能组", "rep.columns": "显示列",
    "rep.csv": "下载 CSV", "rep.xlsx": "下载 Excel",
    "rep.skill-groups/daily": "人工技能组日统计", "rep.skill-groups/hourly": "人工技能组时段统计",
    "rep.agents/daily": "人工客服日统计", "rep.traffic": "话务统计", "rep.satisfaction": "满意度统计",
    "rep.categories": "服务记录类目(按日按来源)", "rep.categories?top": "服务记录类目 Top N",
    "rep.tickets": "工单(按坐席)", "rep.tickets?type": "工单(按类型)", "rep.tickets?agent-type-node": "工单(坐席×类型×节点)",
  },
  en: {
    "nav.reports": "Reports", "rep.run": "Run", "rep.group": "Skill group", "rep.columns": "Columns",
    "rep.csv": "Download CSV", "rep.xlsx": "Download Excel",
    "rep.skill-groups/daily": "Skill groups per day", "rep.skill-groups/hourly": "Skill groups per hour",
    "rep.agents/daily": "Agents per day", "rep.traffic": "Traffic", "rep.satisfaction": "Satisfaction",
    "rep.categories": "Summary categories (per day, by source)", "rep.categories?top": "Summary categories, top N",
    "rep.tickets": "Tickets per agent", "rep.tickets?type": "Tickets per type", "rep.tickets?agent-type-node": "Tickets per agent × type × node",
  },
};

export default { id: "reports", roles: ["admin", "supervisor"], label: "nav.reports", render, dict };
