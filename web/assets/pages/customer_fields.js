// Customer fields (客户字段, seed 001 来电弹屏: "字段可自定义"): the admin-defined fields of the
// customer record — add, remove, reorder; key, zh-CN and en labels, type, required, the options
// of a select. The whole list is saved in one PUT /api/customer-fields, so a refusal stores
// nothing and is shown next to its cell (`field` of the error: `fields[<i>].<name>`).
// Supervisors see the list read-only (the API lets everyone read it, only admins write).
// The editor is shared with the service-summary fields (summary_config.js).
// Ids: #<prefix>-rows, #<prefix>-add, #<prefix>-save, #<prefix>-error-fields[<i>].<name>.
import { t } from "../i18n.js";
import { api, ctx, el } from "../lib.js";
import { COMMON, button, clearErrors, errorSlot, showError } from "./form.js";

const TYPES = ["text", "number", "date", "select"];
const COLS = ["key", "label_zh", "label_en", "type", "options", "required"];

/**
 * Shows an API refusal next to the nearest slot the field path names: `a[0].b[2]` falls back
 * to `a[0].b`, then `a[0]`, then the general slot (showError does the last step).
 */
export function showNear(root, prefix, r) {
  let field = r.data?.field;
  while (field && !root.querySelector(`#${prefix}-error-${CSS.escape(field)}`)) {
    const cut = Math.max(field.lastIndexOf("."), field.lastIndexOf("["));
    field = cut > 0 ? field.slice(0, cut) : null;
  }
  // Next to its input the message need not repeat the path it starts with.
  const own = r.data?.field && r.data?.message?.startsWith(`${r.data.field}: `);
  const message = own && field ? r.data.message.slice(r.data.field.length + 2) : r.data?.message;
  showError(root, prefix, { ...r, data: { ...r.data, message, field: field ?? undefined } });
}

/** A status line (`#<prefix>-status`) saying a save went through. */
export function statusLine(prefix) {
  return el("span", "", { class: "status", id: `${prefix}-status`, role: "status" });
}

/** An input cell with its error slot `#<prefix>-error-<path>`. */
function cell(prefix, path, control) {
  const td = el("td");
  td.append(control, el("span", "", { class: "error", id: `${prefix}-error-${path}` }));
  return td;
}

/**
 * A field-definition list editor for `path` (GET/PUT `{items: [FieldDef]}`) appended to `view`
 * under heading `title`. Read-only for anyone but an administrator (the API refuses their PUT).
 */
export async function fieldEditor(view, { title, prefix, path }) {
  const admin = ctx.session.role === "admin";
  const section = el("section", undefined, { class: "config-editor", id: `${prefix}-editor` });
  const heading = view.querySelector("h1") ? el("h2", t(title)) : el("h1", t(title));
  const body = el("tbody", undefined, { id: `${prefix}-rows` });
  const head = el("tr");
  for (const c of admin ? [...COLS, ""] : COLS) head.append(el("th", c ? t(`fd.${c}`) : ""));
  const thead = el("thead");
  thead.append(head);
  const tbl = el("table", undefined, { class: "field-defs" });
  tbl.append(thead, body);
  const general = errorSlot(prefix);
  const status = statusLine(prefix);
  section.append(heading, tbl);
  view.append(section);

  let rows = [];
  const r = await api("GET", path);
  if (r.status !== 200) { section.append(general); showError(section, prefix, r); return; }
  const load = (items) => (items ?? []).map((d) => ({ ...d, options: [...(d.options ?? [])], _stored: true }));
  rows = load(r.data.items);

  function draw() {
    body.replaceChildren();
    rows.forEach((d, i) => {
      const tr = el("tr", undefined, { class: "field-def", "data-key": d.key });
      const at = (n) => `fields[${i}].${n}`;
      const text = (name) => {
        const x = el("input", undefined, { name, "aria-label": t(`fd.${name}`) });
        x.value = d[name] ?? "";
        x.addEventListener("input", () => { d[name] = x.value; });
        return x;
      };
      const type = el("select", undefined, { name: "type", "aria-label": t("fd.type") });
      for (const k of TYPES) type.append(el("option", t(`fd.type.${k}`), { value: k }));
      type.value = d.type;
      const options = el("input", undefined, { name: "options", "aria-label": t("fd.options"), placeholder: t("fd.options.hint") });
      options.value = d.options.join(", ");
      options.disabled = d.type !== "select";
      options.addEventListener("input", () => { d.options = options.value.split(/[,，]/).map((s) => s.trim()).filter(Boolean); });
      type.addEventListener("change", () => {
        d.type = type.value;
        options.disabled = d.type !== "select";
        if (d.type !== "select") { d.options = []; options.value = ""; }
      });
      const required = el("input", undefined, { type: "checkbox", name: "required", "aria-label": t("fd.required") });
      required.checked = Boolean(d.required);
      required.addEventListener("change", () => { d.required = required.checked; });
      const key = text("key");
      // A stored key stays: the customers' values are kept under it.
      if (d._stored) key.readOnly = true;
      tr.append(cell(prefix, at("key"), key), cell(prefix, at("label_zh"), text("label_zh")),
        cell(prefix, at("label_en"), text("label_en")), cell(prefix, at("type"), type),
        cell(prefix, at("options"), options), cell(prefix, at("required"), required));
      const actions = el("td", undefined, { class: "actions" });
      const up = button("fd.up", { class: "up" });
      up.disabled = i === 0;
      up.addEventListener("click", () => { [rows[i - 1], rows[i]] = [rows[i], rows[i - 1]]; draw(); });
      const down = button("fd.down", { class: "down" });
      down.disabled = i === rows.length - 1;
      down.addEventListener("click", () => { [rows[i], rows[i + 1]] = [rows[i + 1], rows[i]]; draw(); });
      const remove = button("delete", { class: "delete" });
      remove.addEventListener("click", () => { rows.splice(i, 1); draw(); });
      actions.append(up, down, remove);
      if (!admin) for (const c of tr.querySelectorAll("input, select")) c.disabled = true;
      if (admin) tr.append(actions);
      body.append(tr);
    });
  }
  draw();
  if (!admin) return;

  const add = button("fd.add", { id: `${prefix}-add` });
  add.addEventListener("click", () => {
    rows.push({ key: "", label_zh: "", label_en: "", type: "text", options: [], required: false });
    draw();
    body.lastElementChild?.querySelector("[name=key]")?.focus();
  });
  const save = button("save", { id: `${prefix}-save` });
  save.addEventListener("click", async () => {
    clearErrors(section, prefix);
    status.textContent = "";
    const items = rows.map((d, i) => ({
      key: d.key.trim(), label_zh: d.label_zh.trim(), label_en: d.label_en.trim(), type: d.type,
      options: d.type === "select" ? d.options : [], required: Boolean(d.required), order: i,
    }));
    const x = await api("PUT", path, { items });
    if (x.status !== 200) { showNear(section, prefix, x); return; }
    rows = load(x.data.items);
    draw();
    status.textContent = t("saved");
    section.dataset.saved = String(Date.now());
  });
  const bar = el("div", undefined, { class: "actions" });
  bar.append(add, save, status);
  section.append(bar, general);
}

function render(view) {
  return fieldEditor(view, { title: "nav.customer-fields", prefix: "cf", path: "/api/customer-fields" });
}

/** Labels of the field editor (shared with summary_config.js). */
export const fieldDict = {
  "zh-CN": {
    ...COMMON["zh-CN"], "fd.key": "字段标识", "fd.label_zh": "中文名称", "fd.label_en": "英文名称", "fd.type": "类型",
    "fd.options": "选项", "fd.options.hint": "逗号分隔", "fd.required": "必填", "fd.up": "上移", "fd.down": "下移",
    "fd.add": "添加字段", "fd.type.text": "文本", "fd.type.number": "数字", "fd.type.date": "日期", "fd.type.select": "下拉选择",
    "saved": "已保存",
  },
  en: {
    ...COMMON.en, "fd.key": "Key", "fd.label_zh": "Chinese label", "fd.label_en": "English label", "fd.type": "Type",
    "fd.options": "Options", "fd.options.hint": "comma-separated", "fd.required": "Required", "fd.up": "Up", "fd.down": "Down",
    "fd.add": "Add field", "fd.type.text": "Text", "fd.type.number": "Number", "fd.type.date": "Date", "fd.type.select": "Select",
    "saved": "Saved",
  },
};

const dict = {
  "zh-CN": { ...fieldDict["zh-CN"], "nav.customer-fields": "客户字段" },
  en: { ...fieldDict.en, "nav.customer-fields": "Customer fields" },
};

export default { id: "customer-fields", roles: ["admin", "supervisor"], label: "nav.customer-fields", render, dict };
