// Service summary (服务小结) configuration (seed 001 来电弹屏: "服务小结的字段可自定义"): the
// summary form's own fields (the shared field editor, PUT /api/summary-fields) and the service
// category tree (服务分类) edited as a nested list — add a child, rename, remove — saved whole
// in one PUT /api/summary-categories (a refusal stores nothing and is shown next to the node:
// `field` = `categories[<i>].children[<j>].name`). Supervisors see both read-only. Ids: #cat-tree, #cat-add, #cat-save,
// #cat-error-<path>, and the field editor's #sf-*.
import { t } from "../i18n.js";
import { api, ctx, el } from "../lib.js";
import { button, clearErrors, errorSlot, showError } from "./form.js";
import { fieldDict, fieldEditor, showNear, statusLine } from "./customer_fields.js";

/** Deepest nesting the API accepts (storage/summaries.rs MAX_CATEGORY_DEPTH). */
const MAX_DEPTH = 5;

async function categoryEditor(view) {
  const admin = ctx.session.role === "admin";
  const prefix = "cat";
  const section = el("section", undefined, { class: "config-editor", id: "cat-editor" });
  const tree = el("ul", undefined, { id: "cat-tree", class: "cat-tree" });
  const general = errorSlot(prefix);
  const status = statusLine(prefix);
  section.append(el("h2", t("cat.title")), tree);
  view.append(section);
  const r = await api("GET", "/api/summary-categories");
  if (r.status !== 200) { section.append(general); showError(section, prefix, r); return; }
  // The model: nodes `{id?, name, children}` as the API has them.
  let roots = r.data.items ?? [];

  function drawList(ul, nodes, path, depth) {
    ul.replaceChildren();
    nodes.forEach((n, i) => {
      const at = `${path}[${i}]`;
      const li = el("li", undefined, { class: "cat-node", "data-path": at, "data-depth": String(depth) });
      const row = el("div", undefined, { class: "cat-row" });
      const name = el("input", undefined, { name: "name", "aria-label": t("cat.name"), "data-path": at });
      name.value = n.name;
      name.disabled = !admin;
      name.addEventListener("input", () => { n.name = name.value; });
      row.append(name);
      if (n.id) row.append(el("span", `#${n.id}`, { class: "cat-id" }));
      if (admin) {
        if (depth < MAX_DEPTH) {
          const child = button("cat.add-child", { class: "add-child" });
          child.addEventListener("click", () => {
            n.children = n.children ?? [];
            n.children.push({ name: "", children: [] });
            draw();
            tree.querySelector(`input[data-path="${CSS.escape(`${at}.children[${n.children.length - 1}]`)}"]`)?.focus();
          });
          row.append(child);
        }
        const remove = button("delete", { class: "delete" });
        remove.addEventListener("click", () => { nodes.splice(i, 1); draw(); });
        row.append(remove);
      }
      row.append(el("span", "", { class: "error", id: `${prefix}-error-${at}.name` }),
        el("span", "", { class: "error", id: `${prefix}-error-${at}` }));
      li.append(row);
      if ((n.children ?? []).length) {
        const sub = el("ul");
        drawList(sub, n.children, `${at}.children`, depth + 1);
        li.append(sub);
      }
      ul.append(li);
    });
  }
  function draw() { drawList(tree, roots, "categories", 1); }
  draw();
  if (!admin) return;

  const add = button("cat.add", { id: "cat-add" });
  add.addEventListener("click", () => {
    roots.push({ name: "", children: [] });
    draw();
    tree.querySelector(`input[data-path="categories[${roots.length - 1}]"]`)?.focus();
  });
  const save = button("save", { id: "cat-save" });
  save.addEventListener("click", async () => {
    clearErrors(section, prefix);
    status.textContent = "";
    const clean = (nodes) => nodes.map((n) => ({
      ...(n.id ? { id: n.id } : {}), name: n.name.trim(), children: clean(n.children ?? []),
    }));
    const x = await api("PUT", "/api/summary-categories", { items: clean(roots) });
    if (x.status !== 200) { showNear(section, prefix, x); return; }
    roots = x.data.items ?? [];
    draw();
    status.textContent = t("saved");
    section.dataset.saved = String(Date.now());
  });
  const bar = el("div", undefined, { class: "actions" });
  bar.append(add, save, status);
  section.append(bar, general);
}

async function render(view) {
  view.append(el("h1", t("nav.summary-config")));
  await fieldEditor(view, { title: "sf.title", prefix: "sf", path: "/api/summary-fields" });
  await categoryEditor(view);
}

const dict = {
  "zh-CN": {
    ...fieldDict["zh-CN"], "nav.summary-config": "服务小结", "sf.title": "小结字段", "cat.title": "服务分类",
    "cat.name": "分类名称", "cat.add": "添加一级分类", "cat.add-child": "添加子分类",
  },
  en: {
    ...fieldDict.en, "nav.summary-config": "Service summary", "sf.title": "Summary fields", "cat.title": "Service categories",
    "cat.name": "Category name", "cat.add": "Add top-level category", "cat.add-child": "Add sub-category",
  },
};

export default { id: "summary-config", roles: ["admin", "supervisor"], label: "nav.summary-config", render, dict };
