// Shared pieces of the configuration pages (not a page itself): labelled inputs named after
// the JSON fields, an error slot next to each (`#<prefix>-error-<field>`, filled from the
// `field` of the API's error JSON), and plain tables. Text only through textContent.
import { t } from "../i18n.js";
import { api, ctx, el } from "../lib.js";

/** A labelled input `name` appended to `form`, with its error slot; returns the input. */
export function input(form, prefix, name, { type = "text", value = "", options } = {}) {
  const row = el("div", undefined, { class: "field" });
  const id = `${prefix}-${name}`;
  row.append(el("label", t(`${prefix}.${name}`), { for: id }));
  let i;
  if (options) {
    i = el("select", undefined, { name, id });
    for (const o of options) i.append(el("option", o, { value: o }));
    i.value = value;
  } else {
    i = el("input", undefined, { type, name, id });
    if (type === "checkbox") i.checked = Boolean(value);
    else i.value = value ?? "";
  }
  row.append(i, el("span", "", { class: "error", id: `${prefix}-error-${name}` }));
  form.append(row);
  return i;
}

/** The form's general error slot (`#<prefix>-error`), for refusals without a field. */
export function errorSlot(prefix) {
  return el("p", "", { class: "error", id: `${prefix}-error`, role: "alert" });
}

/** Empties every error slot of `prefix` under `root`. */
export function clearErrors(root, prefix) {
  for (const e of root.querySelectorAll(`[id^="${prefix}-error"]`)) e.textContent = "";
}

/** Shows an API refusal next to its field, or in the general slot. */
export function showError(root, prefix, r) {
  const msg = r.data?.message || String(r.status);
  const field = r.data?.field;
  const slot = (field && root.querySelector(`#${prefix}-error-${CSS.escape(field)}`)) || root.querySelector(`#${prefix}-error`);
  if (slot) slot.textContent = msg;
}

/** Reads named inputs of `form`: numbers as numbers, checkboxes as booleans. */
export function values(form, names) {
  const out = {};
  for (const n of names) {
    const i = form.querySelector(`[name="${n}"]`);
    if (!i) continue;
    if (i.type === "checkbox") out[n] = i.checked;
    else if (i.type === "number") out[n] = i.value === "" ? 0 : Number(i.value);
    else out[n] = i.value;
  }
  return out;
}

/** A table with header keys `cols` (translated) and `rows` of cells (text or elements). */
export function table(id, cols, rows) {
  const tbl = el("table", undefined, { id });
  const head = el("tr");
  for (const c of cols) head.append(el("th", t(c)));
  tbl.append(head);
  for (const cells of rows) {
    const tr = el("tr");
    for (const c of cells) {
      const td = el("td");
      if (c instanceof Node) td.append(c);
      else td.textContent = c === null || c === undefined ? "" : String(c);
      tr.append(td);
    }
    tbl.append(tr);
  }
  return tbl;
}

/** A button with a translated label. */
export function button(key, attrs = {}) {
  return el("button", t(key), { type: "button", ...attrs });
}

/**
 * A list-and-form page for one API resource: `spec` = { title, prefix, path, key (the path
 * field), fields: [{ name, type?, options?, list? }], cols: [[label key, row => text]],
 * toBody?(values), rowActions?(row, reload) → extra elements for a row's action cell }. Ids: #<prefix>-form, #<prefix>-save, #<prefix>-new, #<prefix>-error-<field>.
 */
export async function crud(view, spec) {
  const { prefix } = spec;
  const admin = ctx.session.role === "admin";
  const list = el("div", undefined, { id: `${prefix}-list` });
  const listError = errorSlot(`${prefix}-list`);
  view.append(el("h1", t(spec.title)), list, listError);
  const edit = (row) => {
    view.querySelector(`#${prefix}-form`)?.remove();
    const form = el("form", undefined, { id: `${prefix}-form` });
    form.addEventListener("submit", (e) => e.preventDefault());
    const key = input(form, prefix, spec.key, { value: row?.[spec.key] ?? "" });
    if (row) key.readOnly = true;
    for (const f of spec.fields) {
      const v = row?.[f.name];
      input(form, prefix, f.name, { type: f.type, options: f.options, value: f.list ? (v ?? []).join(", ") : v ?? f.default ?? "" });
    }
    const save = button("save", { id: `${prefix}-save` });
    form.append(save, errorSlot(prefix));
    save.addEventListener("click", async () => {
      clearErrors(form, prefix);
      const k = key.value.trim();
      if (!k) { form.querySelector(`#${prefix}-error-${spec.key}`).textContent = t("required"); return; }
      let body = values(form, spec.fields.map((f) => f.name));
      for (const f of spec.fields) {
        if (f.list) body[f.name] = body[f.name].split(",").map((s) => s.trim()).filter(Boolean);
        if (f.optional && body[f.name] === "") delete body[f.name];
      }
      if (spec.toBody) body = spec.toBody(body);
      const r = await api("PUT", `${spec.path}/${encodeURIComponent(k)}`, body);
      if (r.status === 200 || r.status === 201) { form.dataset.saved = k; await reload(); }
      else showError(form, prefix, r);
    });
    view.append(form);
  };
  const reload = async () => {
    list.replaceChildren();
    const r = await api("GET", spec.path);
    if (r.status !== 200) { listError.textContent = r.data.message || String(r.status); return; }
    const rows = (r.data.items ?? r.data).map((row) => {
      const actions = el("span");
      if (admin) {
        const e = button("edit", { class: "edit", "data-key": row[spec.key] });
        e.addEventListener("click", () => edit(row));
        const d = button("delete", { class: "delete", "data-key": row[spec.key] });
        d.addEventListener("click", async () => {
          const x = await api("DELETE", `${spec.path}/${encodeURIComponent(row[spec.key])}`);
          if (x.status === 200) await reload();
          else listError.textContent = x.data.message || String(x.status);
        });
        actions.append(e, d);
      }
      if (spec.rowActions) actions.append(...spec.rowActions(row, reload));
      return [...spec.cols.map(([, get]) => get(row)), actions];
    });
    list.append(table(prefix + "s", [...spec.cols.map(([label]) => label), ""], rows));
    if (admin) {
      const add = button("new", { id: `${prefix}-new` });
      add.addEventListener("click", () => edit(null));
      list.append(add);
    }
  };
  await reload();
}

/** Labels every configuration page shares. */
export const COMMON = {
  "zh-CN": { "save": "保存", "edit": "编辑", "delete": "删除", "new": "新建", "required": "必填" },
  en: { "save": "Save", "edit": "Edit", "delete": "Delete", "new": "New", "required": "Required" },
};
