// Call records (通话记录, SPEC §11/§12): every call of the user's scope (administrators and QA
// all, a supervisor their groups, an agent their own calls), filtered by period (with presets),
// direction, skill group, agent, number (a trailing * for a prefix), disposition and least talk
// time; newest first, a page at a time by the list's `next` cursor ("more"). The columns are the
// user's choice; a row opens to show every field of the record and its legs, with the voicemail
// the caller left, if any. CSV and Excel downloads carry the same filters, columns and language.
import { current, t } from "../i18n.js";
import { api, ctx, el } from "../lib.js";
import { hms, presetRange } from "./reports.js";

/** Every column of a record, in the download's order (the server's `CALL_COLUMNS`). */
const COLUMNS = ["caller", "callee", "direction", "skill_group", "agent", "started_at", "answered_at", "ended_at",
  "wait_secs", "talk_secs", "hangup_cause", "call_id", "agent_extension", "trunk", "did", "ring_secs",
  "hangup_by", "sip_code", "recording_path"];
/** The columns shown until the user picks others. */
const MAIN = ["started_at", "caller", "callee", "direction", "skill_group", "agent", "wait_secs", "talk_secs", "hangup_cause"];
const PRESETS = ["today", "yesterday", "7d"];
const DIRECTIONS = ["inbound", "outbound", "internal"];
const DISPOSITIONS = ["answered", "unanswered", "abandoned", "no_answer", "busy", "cancelled", "failed", "unreachable", "interrupted"];
const CAUSES = ["normal", ...DISPOSITIONS.slice(2), "shutdown"];
/** Roles that may read the skill-group list (ConfigRead in src/web/guard.rs). */
const GROUP_READERS = ["admin", "supervisor", "tm_super_admin", "tm_admin"];
const FILTERS = ["from", "to", "direction", "skill_group", "agent", "number", "disposition", "min_talk_secs"];

// The form as last used: a language switch re-renders the page, which then runs it again.
const last = { values: {}, columns: [...MAIN], perPage: "50", ran: false };

/** A local date-time `YYYY-MM-DD HH:MM:SS` for UTC milliseconds (the browser's zone). */
export function stamp(ms) {
  if (ms === null || ms === undefined) return "";
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A record's cell as shown in the table. */
export function show(rec, col) {
  switch (col) {
    case "started_at": return stamp(rec.started_at_ms);
    case "answered_at": return stamp(rec.answered_at_ms);
    case "ended_at": return stamp(rec.ended_at_ms);
    case "wait_secs": case "talk_secs": case "ring_secs": return hms(rec[col]);
    case "direction": return rec.direction ? t(`calls.dir.${rec.direction}`) : "";
    case "hangup_cause": return rec.hangup_cause ? (CAUSES.includes(rec.hangup_cause) ? t(`calls.cause.${rec.hangup_cause}`) : rec.hangup_cause) : "";
    case "hangup_by": return rec.hangup_by ? t(`calls.by.${rec.hangup_by}`) : "";
    default: return rec[col] === null || rec[col] === undefined ? "" : String(rec[col]);
  }
}

/** The filters of the form as query parameters (blanks left out). */
function query(form) {
  const p = new URLSearchParams();
  for (const n of FILTERS) {
    const v = form.elements.namedItem(n)?.value.trim();
    if (v) p.set(n, v);
  }
  return p;
}

/** A control `name` with its caption, appended to `form`. */
function field(form, name, control) {
  const l = el("label", undefined, { class: "field", for: `calls-${name}` });
  control.name = name;
  control.id = `calls-${name}`;
  l.append(el("span", t(`calls.${name}`)), control);
  form.append(l);
  return control;
}

/** A select of `values` labelled by `prefix` keys, with a blank "any" first. */
function choice(values, prefix) {
  const s = el("select");
  s.append(el("option", t("calls.any"), { value: "" }));
  for (const v of values) s.append(el("option", t(`${prefix}.${v}`), { value: v }));
  return s;
}

/** The detail of one record: every field, its legs, its voicemail. */
function detail(rec, voicemail) {
  const box = el("div", undefined, { class: "calls-detail-box" });
  const dl = el("dl", undefined, { class: "calls-fields" });
  for (const c of COLUMNS) {
    dl.append(el("dt", t(`calls.col.${c}`)), el("dd", show(rec, c), { "data-field": c }));
  }
  box.append(dl);
  const legs = Array.isArray(rec.legs) ? rec.legs : [];
  box.append(el("h3", `${t("calls.legs")} (${legs.length})`));
  for (const leg of legs) {
    const ldl = el("dl", undefined, { class: "calls-leg" });
    for (const [k, v] of Object.entries(leg ?? {})) {
      ldl.append(el("dt", k), el("dd", v !== null && typeof v === "object" ? JSON.stringify(v) : String(v ?? "")));
    }
    box.append(ldl);
  }
  if (voicemail) {
    box.append(el("a", t("calls.voicemail"), { href: voicemail, class: "calls-voicemail", target: "_blank", rel: "noopener" }));
  }
  return box;
}

function render(view) {
  view.append(el("h1", t("nav.calls")));
  const form = el("form", undefined, { id: "calls-form", class: "calls-form" });
  const [d0, d1] = presetRange("today");
  const from = field(form, "from", el("input", undefined, { type: "date" }));
  const to = field(form, "to", el("input", undefined, { type: "date" }));
  const presets = el("span", undefined, { id: "calls-presets", class: "calls-presets" });
  for (const p of PRESETS) presets.append(el("button", t(`rep.preset.${p}`), { type: "button", id: `calls-preset-${p}`, "data-preset": p }));
  form.append(presets);
  field(form, "direction", choice(DIRECTIONS, "calls.dir"));
  // Until /api/skill-groups answers (or for roles that may not read it): a text input.
  let group = field(form, "skill_group", el("input", undefined, { type: "text" }));
  field(form, "agent", el("input", undefined, { type: "text" }));
  field(form, "number", el("input", undefined, { type: "text", inputmode: "tel", placeholder: t("calls.number.hint") }));
  field(form, "disposition", choice(DISPOSITIONS, "calls.disp"));
  field(form, "min_talk_secs", el("input", undefined, { type: "number", min: "0", step: "1" }));
  const perPage = field(form, "per_page", el("input", undefined, { type: "number", min: "1", max: "500", step: "1" }));
  form.append(el("button", t("calls.run"), { type: "submit", id: "calls-run" }));
  const columns = el("fieldset", undefined, { id: "calls-columns", class: "calls-columns" });
  columns.append(el("legend", t("rep.columns")));
  for (const c of COLUMNS) {
    const l = el("label");
    const box = el("input", undefined, { type: "checkbox", value: c, "data-column": c });
    box.checked = last.columns.includes(c);
    l.append(box, document.createTextNode(t(`calls.col.${c}`)));
    columns.append(l);
  }
  const links = el("div", undefined, { id: "calls-links", class: "calls-links" });
  const err = el("p", "", { class: "error", id: "calls-error", role: "alert" });
  const out = el("div", undefined, { id: "calls-table", class: "calls-table" });
  const more = el("button", t("calls.more"), { type: "button", id: "calls-more", hidden: "" });
  view.append(form, columns, err, links, out, more);

  for (const n of FILTERS) {
    const c = form.elements.namedItem(n);
    if (c && last.values[n] !== undefined) c.value = last.values[n];
  }
  if (!from.value) from.value = d0;
  if (!to.value) to.value = d1;
  perPage.value = last.perPage;

  let voicemails = new Map();
  let next = null;
  let filters = null;
  let shown = [];
  let body = null;

  const chosen = () => COLUMNS.filter((c) => columns.querySelector(`input[value="${c}"]`)?.checked);

  function remember() {
    last.values = Object.fromEntries(FILTERS.map((n) => [n, form.elements.namedItem(n)?.value ?? ""]));
    last.perPage = perPage.value;
    last.columns = chosen();
  }

  function downloads() {
    links.replaceChildren();
    for (const fmt of ["csv", "xlsx"]) {
      const q = new URLSearchParams(filters);
      q.set("format", fmt);
      q.set("lang", current());
      if (shown.length) q.set("columns", shown.join(","));
      links.append(el("a", t(`rep.${fmt}`), { href: `/api/calls?${q}`, download: "", id: `calls-${fmt}` }), document.createTextNode(" "));
    }
  }

  function addRows(items) {
    for (const rec of items) {
      const tr = el("tr", undefined, { class: "calls-row", "data-call-id": rec.call_id ?? "" });
      const open = el("button", "+", { type: "button", class: "calls-expand", "aria-expanded": "false", title: t("calls.expand") });
      const first = el("td");
      first.append(open);
      tr.append(first);
      for (const c of shown) tr.append(el("td", show(rec, c), { "data-column": c }));
      const extra = el("tr", undefined, { class: "calls-detail", hidden: "" });
      const td = el("td", undefined, { colspan: String(shown.length + 1) });
      extra.append(td);
      open.addEventListener("click", () => {
        const opening = extra.hidden;
        if (opening && !td.firstChild) td.append(detail(rec, voicemails.get(rec.call_id)));
        extra.hidden = !opening;
        open.textContent = opening ? "−" : "+";
        open.setAttribute("aria-expanded", String(opening));
      });
      body.append(tr, extra);
    }
  }

  async function page(after) {
    const q = new URLSearchParams(filters);
    const n = Math.min(500, Math.max(1, Math.floor(Number(perPage.value) || 50)));
    q.set("per_page", String(n));
    if (after) q.set("after", after);
    const r = await api("GET", `/api/calls?${q}`);
    if (r.status !== 200) {
      err.textContent = r.data.message || String(r.status);
      const bad = r.data.field && form.elements.namedItem(r.data.field);
      if (bad) bad.setAttribute("aria-invalid", "true");
      return;
    }
    addRows(r.data.items ?? []);
    next = r.data.next ?? null;
    more.hidden = !next;
    const count = body.querySelectorAll("tr.calls-row").length;
    if (!count) out.append(el("p", t("calls.none"), { id: "calls-empty", class: "empty" }));
  }

  async function run() {
    err.textContent = "";
    for (const c of form.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
    remember();
    last.ran = true;
    filters = query(form);
    shown = chosen();
    if (!shown.length) shown = [...MAIN];
    const tb = el("table", undefined, { id: "calls" });
    const head = el("tr");
    head.append(el("th", ""));
    for (const c of shown) head.append(el("th", t(`calls.col.${c}`), { "data-column": c }));
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
  columns.addEventListener("change", () => { if (last.ran) run(); });
  more.addEventListener("click", () => { if (next) page(next); });
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });

  const role = ctx.session?.role;
  const ready = [
    api("GET", "/api/voicemails").then((r) => {
      if (r.status === 200) voicemails = new Map((r.data.items ?? []).map((v) => [v.call_id, v.audio_url]));
    }),
  ];
  if (GROUP_READERS.includes(role)) {
    ready.push(api("GET", "/api/skill-groups").then((r) => {
      if (r.status !== 200) return;
      const names = (r.data.items ?? []).map((g) => g.name).filter(Boolean);
      const s = el("select");
      s.append(el("option", t("calls.any"), { value: "" }));
      for (const n of names) s.append(el("option", n, { value: n }));
      const keep = group.value;
      if (keep && !names.includes(keep)) s.append(el("option", keep, { value: keep }));
      s.name = "skill_group";
      s.id = "calls-skill_group";
      s.value = keep;
      group.replaceWith(s);
      group = s;
    }));
  }
  Promise.all(ready).then(() => run());
}

const dict = {
  "zh-CN": {
    "nav.calls": "通话记录", "calls.run": "查询", "calls.more": "加载更多", "calls.none": "没有符合条件的通话记录",
    "calls.any": "全部", "calls.expand": "展开详情", "calls.legs": "通话段", "calls.voicemail": "收听留言",
    "calls.from": "开始日期", "calls.to": "结束日期", "calls.direction": "呼叫类型", "calls.skill_group": "技能组",
    "calls.agent": "坐席", "calls.number": "号码", "calls.number.hint": "主叫或被叫,138* 为前缀",
    "calls.disposition": "结果", "calls.min_talk_secs": "最短通话(秒)", "calls.per_page": "每页条数",
    "calls.dir.inbound": "呼入", "calls.dir.outbound": "呼出", "calls.dir.internal": "内部",
    "calls.disp.answered": "已接通", "calls.disp.unanswered": "未接通", "calls.disp.abandoned": "排队放弃",
    "calls.disp.no_answer": "无应答", "calls.disp.busy": "忙线", "calls.disp.cancelled": "主叫取消",
    "calls.disp.failed": "呼叫失败", "calls.disp.unreachable": "无法接通", "calls.disp.interrupted": "中断",
    "calls.cause.normal": "正常挂断", "calls.cause.abandoned": "排队放弃", "calls.cause.no_answer": "无应答",
    "calls.cause.busy": "忙线", "calls.cause.cancelled": "主叫取消", "calls.cause.failed": "呼叫失败",
    "calls.cause.unreachable": "无法接通", "calls.cause.interrupted": "中断", "calls.cause.shutdown": "系统关闭",
    "calls.by.caller": "主叫", "calls.by.callee": "被叫", "calls.by.system": "系统",
    "calls.col.caller": "主叫号码", "calls.col.callee": "被叫号码", "calls.col.direction": "呼叫类型",
    "calls.col.skill_group": "技能组", "calls.col.agent": "坐席", "calls.col.started_at": "开始时间",
    "calls.col.answered_at": "应答时间", "calls.col.ended_at": "结束时间", "calls.col.wait_secs": "排队时长",
    "calls.col.talk_secs": "通话时长", "calls.col.hangup_cause": "挂断原因", "calls.col.call_id": "通话ID",
    "calls.col.agent_extension": "坐席分机", "calls.col.trunk": "中继", "calls.col.did": "呼入号码(DID)",
    "calls.col.ring_secs": "振铃时长", "calls.col.hangup_by": "挂断方", "calls.col.sip_code": "SIP状态码",
    "calls.col.recording_path": "录音文件",
  },
  en: {
    "nav.calls": "Call records", "calls.run": "Search", "calls.more": "More", "calls.none": "No call records match",
    "calls.any": "Any", "calls.expand": "Show details", "calls.legs": "Legs", "calls.voicemail": "Play voicemail",
    "calls.from": "From", "calls.to": "To", "calls.direction": "Direction", "calls.skill_group": "Skill group",
    "calls.agent": "Agent", "calls.number": "Number", "calls.number.hint": "caller or callee; 138* for a prefix",
    "calls.disposition": "Outcome", "calls.min_talk_secs": "Least talk (s)", "calls.per_page": "Per page",
    "calls.dir.inbound": "Inbound", "calls.dir.outbound": "Outbound", "calls.dir.internal": "Internal",
    "calls.disp.answered": "Answered", "calls.disp.unanswered": "Unanswered", "calls.disp.abandoned": "Abandoned",
    "calls.disp.no_answer": "No answer", "calls.disp.busy": "Busy", "calls.disp.cancelled": "Cancelled",
    "calls.disp.failed": "Failed", "calls.disp.unreachable": "Unreachable", "calls.disp.interrupted": "Interrupted",
    "calls.cause.normal": "Normal", "calls.cause.abandoned": "Abandoned", "calls.cause.no_answer": "No answer",
    "calls.cause.busy": "Busy", "calls.cause.cancelled": "Cancelled", "calls.cause.failed": "Failed",
    "calls.cause.unreachable": "Unreachable", "calls.cause.interrupted": "Interrupted", "calls.cause.shutdown": "Shutdown",
    "calls.by.caller": "Caller", "calls.by.callee": "Callee", "calls.by.system": "System",
    "calls.col.caller": "Caller", "calls.col.callee": "Callee", "calls.col.direction": "Direction",
    "calls.col.skill_group": "Skill group", "calls.col.agent": "Agent", "calls.col.started_at": "Start time",
    "calls.col.answered_at": "Answer time", "calls.col.ended_at": "End time", "calls.col.wait_secs": "Queue wait",
    "calls.col.talk_secs": "Talk time", "calls.col.hangup_cause": "Hangup cause", "calls.col.call_id": "Call ID",
    "calls.col.agent_extension": "Agent extension", "calls.col.trunk": "Trunk", "calls.col.did": "DID",
    "calls.col.ring_secs": "Ring time", "calls.col.hangup_by": "Hung up by", "calls.col.sip_code": "SIP status",
    "calls.col.recording_path": "Recording file",
  },
};

export default {
  id: "calls",
  roles: ["admin", "supervisor", "qa", "agent", "tm_super_admin", "tm_admin", "tm_member"],
  label: "nav.calls",
  render,
  dict,
};
