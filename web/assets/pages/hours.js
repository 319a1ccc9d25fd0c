// Working hours and holidays (工作时间/节假日, SPEC §3 IVR基础设置 and 日常/特殊时间IVR配置): the
// schedule behind /api/ivr-schedule — working-hours windows, the daily flow per weekday set and
// the special days (holidays, 五一, 十一 …) with their flow — and the basic IVR settings of
// /api/ivr-settings (waiting voice, maximum queue time and its voice). Admin-only, as the API is.
// Errors sit next to their input: the API names it in `field` as a path into the body
// (`special[0].to`, `daily[1].weekdays`, `working_hours[0].end`); slot ids are
// `hours-error-<path>` and `settings-error-<field>`.
// Stable ids: #hours-form, #hours-windows, #hours-add-window, #hours-daily, #hours-add-daily,
// #hours-special, #hours-add-special (rows .special-row with inputs name/from/to/flow),
// #hours-save, #hours-status, #hours-error; #settings-form, #settings-save, #settings-error.
import { t } from "../i18n.js";
import { api, el } from "../lib.js";
import { COMMON, button, clearErrors, errorSlot, input, showError } from "./form.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const TIME = /^(([01]?\d|2[0-3]):[0-5]\d|24:00)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A labelled control with the error slot `hours-error-<path>`. */
function cell(path, caption, control) {
  const box = el("span", undefined, { class: "field inline" });
  const id = `hours-in-${path}`;
  control.id = id;
  box.append(el("label", caption, { for: id }), control, el("span", "", { class: "error", id: `hours-error-${path}` }));
  return box;
}

/** Weekday checkboxes bound to `obj.weekdays`, with the slot `hours-error-<path>.weekdays`. */
function weekdays(path, obj) {
  const box = el("span", undefined, { class: "weekdays", role: "group", "aria-label": t("hours.weekdays") });
  for (const d of DAYS) {
    const id = `hours-in-${path}.weekdays-${d}`;
    const c = el("input", undefined, { type: "checkbox", id, name: "weekdays", value: d });
    c.checked = obj.weekdays.includes(d);
    c.addEventListener("change", () => { obj.weekdays = DAYS.filter((x) => (x === d ? c.checked : obj.weekdays.includes(x))); });
    box.append(c, el("label", t(`day.${d}`), { for: id }));
  }
  box.append(el("span", "", { class: "error", id: `hours-error-${path}.weekdays` }));
  return box;
}

function textInput(obj, key, attrs = {}) {
  const i = el("input", undefined, { type: "text", name: key, ...attrs });
  i.value = obj[key] ?? "";
  i.addEventListener("input", () => { obj[key] = i.value.trim(); });
  return i;
}

function flowSelect(obj, flows) {
  const s = el("select", undefined, { name: "flow" });
  s.append(el("option", t("hours.choose_flow"), { value: "" }));
  for (const f of flows) s.append(el("option", f, { value: f }));
  if (obj.flow && !flows.includes(obj.flow)) s.append(el("option", obj.flow, { value: obj.flow }));
  s.value = obj.flow ?? "";
  s.addEventListener("change", () => { obj.flow = s.value; });
  return s;
}

function removeButton(list, i, redraw) {
  const b = button("hours.remove", { class: "remove" });
  b.addEventListener("click", () => { list.splice(i, 1); redraw(); });
  return b;
}

function scheduleForm(sched, flows) {
  const form = el("form", undefined, { id: "hours-form", class: "hours-form" });
  form.addEventListener("submit", (e) => e.preventDefault());
  const section = (key, id, addId, draw, blank, list) => {
    const box = el("fieldset", undefined, { class: "hours-section" });
    box.append(el("legend", t(key)));
    const rows = el("div", undefined, { id });
    const redraw = () => { rows.replaceChildren(); draw(rows, redraw); if (!list.length) rows.append(el("p", t("hours.empty"), { class: "hint" })); };
    redraw();
    const add = button("hours.add", { id: addId });
    add.addEventListener("click", () => { list.push(blank()); redraw(); });
    box.append(rows, add);
    form.append(box);
  };
  section("hours.working_hours", "hours-windows", "hours-add-window", (rows, redraw) => {
    sched.working_hours.forEach((w, i) => {
      const p = `working_hours[${i}]`;
      const row = el("div", undefined, { class: "hours-row window-row" });
      row.append(weekdays(p, w), cell(`${p}.start`, t("hours.start"), textInput(w, "start", { size: 5, placeholder: "09:00" })),
        cell(`${p}.end`, t("hours.end"), textInput(w, "end", { size: 5, placeholder: "18:00" })), removeButton(sched.working_hours, i, redraw));
      rows.append(row);
    });
  }, () => ({ weekdays: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "18:00" }), sched.working_hours);
  form.append(el("p", t("hours.working_hint"), { class: "hint" }));
  section("hours.daily", "hours-daily", "hours-add-daily", (rows, redraw) => {
    sched.daily.forEach((d, i) => {
      const p = `daily[${i}]`;
      const row = el("div", undefined, { class: "hours-row daily-row" });
      row.append(weekdays(p, d), cell(`${p}.flow`, t("hours.flow"), flowSelect(d, flows)), removeButton(sched.daily, i, redraw));
      rows.append(row);
    });
  }, () => ({ weekdays: ["mon", "tue", "wed", "thu", "fri"], flow: flows[0] ?? "" }), sched.daily);
  section("hours.special", "hours-special", "hours-add-special", (rows, redraw) => {
    sched.special.forEach((s, i) => {
      const p = `special[${i}]`;
      const row = el("div", undefined, { class: "hours-row special-row", "data-index": i });
      row.append(cell(`${p}.name`, t("hours.holiday_name"), textInput(s, "name", { placeholder: t("hours.holiday_example") })),
        cell(`${p}.from`, t("hours.from"), textInput(s, "from", { type: "date" })),
        cell(`${p}.to`, t("hours.to"), textInput(s, "to", { type: "date" })),
        cell(`${p}.flow`, t("hours.flow"), flowSelect(s, flows)), removeButton(sched.special, i, redraw));
      rows.append(row);
    });
  }, () => ({ name: "", from: "", to: "", flow: flows[0] ?? "" }), sched.special);
  if (!flows.length) form.append(el("p", t("hours.no_flows"), { class: "hint", id: "hours-no-flows" }));

  const save = button("save", { id: "hours-save" });
  const status = el("span", "", { class: "status", id: "hours-status", role: "status" });
  form.append(save, status, errorSlot("hours"));
  const say = (path, key) => {
    const s = form.querySelector(`[id="hours-error-${path}"]`);
    if (s) s.textContent = t(key);
    return false;
  };
  /** Checks what the browser can (formats, blanks); ranges and flows are the API's to judge. */
  const check = () => {
    let ok = true;
    sched.working_hours.forEach((w, i) => {
      for (const k of ["start", "end"]) if (!TIME.test(w[k] ?? "")) ok = say(`working_hours[${i}].${k}`, "hours.bad_time");
    });
    sched.daily.forEach((d, i) => { if (!d.flow) ok = say(`daily[${i}].flow`, "required"); });
    sched.special.forEach((s, i) => {
      if (!s.name) ok = say(`special[${i}].name`, "required");
      for (const k of ["from", "to"]) if (!DATE.test(s[k] ?? "")) ok = say(`special[${i}].${k}`, "hours.bad_date");
      if (!s.flow) ok = say(`special[${i}].flow`, "required");
    });
    return ok;
  };
  save.addEventListener("click", async () => {
    clearErrors(form, "hours");
    status.textContent = "";
    if (!check()) { form.querySelector("#hours-error").textContent = t("hours.fix"); return; }
    const r = await api("PUT", "/api/ivr-schedule", sched);
    if (r.status === 200) { form.dataset.saved = String(Date.now()); status.textContent = t("hours.saved"); return; }
    form.querySelector("#hours-error").textContent = r.data?.message || String(r.status);
    const items = r.data?.errors ?? (r.data?.field ? [{ field: r.data.field, problem: r.data.message }] : []);
    for (const item of items) {
      const slot = item.field && form.querySelector(`[id="hours-error-${item.field}"]`);
      if (slot) slot.textContent = item.problem;
    }
  });
  return form;
}

function settingsForm(settings, approved, groups) {
  const form = el("form", undefined, { id: "settings-form", class: "hours-form" });
  form.addEventListener("submit", (e) => e.preventDefault());
  form.append(el("h2", t("settings.title")));
  const promptSel = (name) => {
    const s = input(form, "settings", name, { options: [] });
    s.append(el("option", t("settings.builtin"), { value: "" }));
    for (const a of approved) s.append(el("option", a.name, { value: a.id }));
    const v = settings[name] ?? "";
    if (v && !approved.some((a) => a.id === v)) s.append(el("option", `${v} (${t("ivr.not_approved")})`, { value: v }));
    s.value = v;
    return s;
  };
  promptSel("waiting_prompt");
  input(form, "settings", "max_queue_secs", { type: "number", value: settings.max_queue_secs });
  promptSel("overflow_prompt");
  const [kind, value] = Object.entries(settings.overflow_target ?? {})[0] ?? ["", ""];
  const k = input(form, "settings", "overflow_kind", { options: ["", "group", "extension", "external"], value: kind });
  for (const o of k.options) o.textContent = o.value ? t(`ivr.target.${o.value}`) : t("settings.hangup");
  const v = input(form, "settings", "overflow_target", { value });
  v.setAttribute("list", "settings-groups");
  const dl = el("datalist", undefined, { id: "settings-groups" });
  for (const g of groups) dl.append(el("option", undefined, { value: g }));
  form.append(dl);
  input(form, "settings", "announce_position", { type: "checkbox", value: settings.announce_position });
  input(form, "settings", "announce_wait", { type: "checkbox", value: settings.announce_wait });
  input(form, "settings", "announce_every_secs", { type: "number", value: settings.announce_every_secs });
  const save = button("save", { id: "settings-save" });
  const status = el("span", "", { class: "status", id: "settings-status", role: "status" });
  form.append(save, status, errorSlot("settings"));
  save.addEventListener("click", async () => {
    clearErrors(form, "settings");
    status.textContent = "";
    const get = (n) => form.querySelector(`[name="${n}"]`);
    if (k.value && !v.value.trim()) { form.querySelector("#settings-error-overflow_target").textContent = t("required"); return; }
    const body = {
      waiting_prompt: get("waiting_prompt").value || null,
      max_queue_secs: Number(get("max_queue_secs").value || 0),
      overflow_prompt: get("overflow_prompt").value || null,
      overflow_target: k.value ? { [k.value]: v.value.trim() } : null,
      announce_position: get("announce_position").checked,
      announce_wait: get("announce_wait").checked,
      announce_every_secs: Number(get("announce_every_secs").value || 0),
    };
    const r = await api("PUT", "/api/ivr-settings", body);
    if (r.status === 200) { form.dataset.saved = String(Date.now()); status.textContent = t("hours.saved"); return; }
    // invalid_settings names no field, but its message starts with the field it is about.
    const first = String(r.data?.message ?? "").split(" ")[0];
    if (!r.data?.field && first in body) r.data.field = first;
    showError(form, "settings", r);
  });
  return form;
}

async function render(view) {
  view.append(el("h1", t("nav.hours")));
  const [s, f, p, st, g] = await Promise.all([
    api("GET", "/api/ivr-schedule"), api("GET", "/api/ivr-flows"), api("GET", "/api/prompts"),
    api("GET", "/api/ivr-settings"), api("GET", "/api/skill-groups"),
  ]);
  if (s.status !== 200) { view.append(el("p", s.data.message || String(s.status), { class: "error", id: "hours-load-error" })); return; }
  const sched = { daily: s.data.daily ?? [], special: s.data.special ?? [], working_hours: s.data.working_hours ?? [] };
  const flows = f.status === 200 ? f.data.items.map((x) => x.name) : [];
  const approved = p.status === 200 ? p.data.items.filter((x) => x.status === "approved") : [];
  const groups = g.status === 200 ? g.data.items.map((x) => x.name) : [];
  view.append(scheduleForm(sched, flows));
  if (st.status === 200) view.append(settingsForm(st.data, approved, groups));
}

const dict = {
  "zh-CN": {
    ...COMMON["zh-CN"],
    "day.mon": "周一", "day.tue": "周二", "day.wed": "周三", "day.thu": "周四", "day.fri": "周五", "day.sat": "周六", "day.sun": "周日",
    "nav.hours": "工作时间/节假日", "hours.working_hours": "工作时间", "hours.daily": "日常IVR配置", "hours.special": "特殊时间IVR配置（节假日）",
    "hours.working_hint": "时间条件节点未设时间段时按工作时间判断；跨零点的班次请拆成两段。",
    "hours.weekdays": "星期", "hours.start": "开始", "hours.end": "结束", "hours.flow": "IVR流程", "hours.choose_flow": "— 选择流程 —",
    "hours.holiday_name": "名称", "hours.holiday_example": "如：国庆节", "hours.from": "开始日期", "hours.to": "结束日期",
    "hours.add": "添加", "hours.remove": "移除", "hours.empty": "未设置", "hours.saved": "已保存",
    "hours.bad_time": "时间格式为 HH:MM（00:00–24:00）", "hours.bad_date": "请填写日期", "hours.fix": "请先修正标出的错误",
    "hours.no_flows": "还没有IVR流程；请先在“IVR流程设置”中创建。",
    "settings.title": "基础设置", "settings.waiting_prompt": "客户等待语音", "settings.max_queue_secs": "最长排队时长(秒，0 为不限)",
    "settings.overflow_prompt": "排队超时语音", "settings.overflow_kind": "排队超时后转到", "settings.overflow_target": "目标",
    "settings.announce_position": "播报排队位置", "settings.announce_wait": "播报预计等待时间", "settings.announce_every_secs": "播报间隔(秒)",
    "settings.builtin": "（内置等待音乐 / 无）", "settings.hangup": "挂机",
    "ivr.not_approved": "未审核通过", "ivr.target.group": "技能组队列", "ivr.target.extension": "分机", "ivr.target.external": "外线号码",
  },
  en: {
    ...COMMON.en,
    "day.mon": "Mon", "day.tue": "Tue", "day.wed": "Wed", "day.thu": "Thu", "day.fri": "Fri", "day.sat": "Sat", "day.sun": "Sun",
    "nav.hours": "Hours & holidays", "hours.working_hours": "Working hours", "hours.daily": "Daily IVR", "hours.special": "Special days (holidays)",
    "hours.working_hint": "Time-condition nodes without windows of their own use the working hours; split overnight shifts in two.",
    "hours.weekdays": "Weekdays", "hours.start": "Start", "hours.end": "End", "hours.flow": "IVR flow", "hours.choose_flow": "— choose a flow —",
    "hours.holiday_name": "Name", "hours.holiday_example": "e.g. National Day", "hours.from": "From", "hours.to": "To",
    "hours.add": "Add", "hours.remove": "Remove", "hours.empty": "None set", "hours.saved": "Saved",
    "hours.bad_time": "Time is HH:MM (00:00–24:00)", "hours.bad_date": "Enter a date", "hours.fix": "Fix the marked problems first",
    "hours.no_flows": "No IVR flow yet; create one under IVR flows first.",
    "settings.title": "Basic settings", "settings.waiting_prompt": "Waiting prompt", "settings.max_queue_secs": "Max queue time (s, 0 = no limit)",
    "settings.overflow_prompt": "Queue timeout prompt", "settings.overflow_kind": "After the queue timeout", "settings.overflow_target": "Target",
    "settings.announce_position": "Announce queue position", "settings.announce_wait": "Announce expected wait", "settings.announce_every_secs": "Announce every (s)",
    "settings.builtin": "(built-in music / none)", "settings.hangup": "Hang up",
    "ivr.not_approved": "not approved", "ivr.target.group": "Skill-group queue", "ivr.target.extension": "Extension", "ivr.target.external": "External number",
  },
};

export default { id: "hours", roles: ["admin"], label: "nav.hours", render, dict };
