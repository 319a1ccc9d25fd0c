// Ticket types (工单类型, SPEC §8): each type's name, its SLA (工单时效, hours from creation to
// closing) and its processing nodes (一级/二级/三级处理, in order; a new ticket starts at the
// first). The list is saved whole in one PUT /api/ticket-types: a refusal stores nothing and is
// shown next to its input (`field` = `types[<i>].<name>`). An SLA that is not a number is
// refused here before anything is sent. The model has no default assignee per type.
// Supervisors see the types read-only.
// Ids: #tt-list, #tt-add, #tt-save, #tt-error-types[<i>].{name,sla_hours,nodes,nodes[<j>]}.
import { t } from "../i18n.js";
import { api, ctx, el } from "../lib.js";
import { COMMON, button, clearErrors, errorSlot, showError } from "./form.js";
import { showNear, statusLine } from "./customer_fields.js";

/** Most nodes a type may have (storage/tickets.rs MAX_NODES). */
const MAX_NODES = 10;

function slot(prefix, path) { return el("span", "", { class: "error", id: `${prefix}-error-${path}` }); }

async function render(view) {
  const prefix = "tt";
  const admin = ctx.session.role === "admin";
  const list = el("div", undefined, { id: "tt-list", class: "ticket-types" });
  const general = errorSlot(prefix);
  const status = statusLine(prefix);
  view.append(el("h1", t("nav.ticket-types")), list);
  const r = await api("GET", "/api/ticket-types");
  if (r.status !== 200) { view.append(general); showError(view, prefix, r); return; }
  // The model: `{id?, name, sla: text as typed, nodes: [text]}`.
  const load = (items) => (items ?? []).map((x) => ({ id: x.id, name: x.name, sla: String(x.sla_hours), nodes: [...x.nodes] }));
  let types = load(r.data.items);

  function draw() {
    list.replaceChildren();
    types.forEach((ty, i) => {
      const at = (n) => `types[${i}].${n}`;
      const box = el("fieldset", undefined, { class: "ticket-type", "data-index": String(i) });
      box.append(el("legend", ty.id ? `${ty.name} #${ty.id}` : t("tt.new")));
      const name = el("input", undefined, { name: "name", id: `tt-name-${i}` });
      name.value = ty.name;
      name.addEventListener("input", () => { ty.name = name.value; });
      const sla = el("input", undefined, { name: "sla_hours", id: `tt-sla-${i}`, inputmode: "decimal" });
      sla.value = ty.sla;
      sla.addEventListener("input", () => { ty.sla = sla.value; });
      const row = (label, control, path, id) => {
        const d = el("div", undefined, { class: "field" });
        d.append(el("label", t(label), { for: id }), control, slot(prefix, path));
        return d;
      };
      box.append(row("tt.name", name, at("name"), name.id), row("tt.sla_hours", sla, at("sla_hours"), sla.id));
      const nodes = el("ol", undefined, { class: "tt-nodes" });
      ty.nodes.forEach((n, j) => {
        const li = el("li");
        const input = el("input", undefined, { name: "node", "aria-label": `${t("tt.node")} ${j + 1}` });
        input.value = n;
        input.addEventListener("input", () => { ty.nodes[j] = input.value; });
        li.append(input);
        if (admin) {
          const del = button("delete", { class: "delete-node" });
          del.disabled = ty.nodes.length <= 1;
          del.addEventListener("click", () => { ty.nodes.splice(j, 1); draw(); });
          li.append(del);
        }
        li.append(slot(prefix, `${at("nodes")}[${j}]`));
        nodes.append(li);
      });
      box.append(el("p", t("tt.nodes"), { class: "tt-nodes-label" }), nodes, slot(prefix, at("nodes")), slot(prefix, at("id")));
      if (admin) {
        const addNode = button("tt.add-node", { class: "add-node" });
        addNode.disabled = ty.nodes.length >= MAX_NODES;
        addNode.addEventListener("click", () => { ty.nodes.push(""); draw(); });
        const remove = button("tt.remove", { class: "delete" });
        remove.addEventListener("click", () => { types.splice(i, 1); draw(); });
        box.append(addNode, remove);
      } else {
        for (const c of box.querySelectorAll("input")) c.disabled = true;
      }
      list.append(box);
    });
  }
  draw();
  if (!admin) return;

  const add = button("tt.add", { id: "tt-add" });
  add.addEventListener("click", () => {
    types.push({ name: "", sla: "24", nodes: [t("tt.node1"), t("tt.node2"), t("tt.node3")] });
    draw();
    list.lastElementChild?.querySelector("[name=name]")?.focus();
  });
  const save = button("save", { id: "tt-save" });
  save.addEventListener("click", async () => {
    clearErrors(view, prefix);
    status.textContent = "";
    // A number that is not one (garbage, blank) is refused here: the JSON would not parse.
    const bad = types.findIndex((ty) => ty.sla.trim() === "" || !Number.isFinite(Number(ty.sla.trim())));
    if (bad >= 0) {
      view.querySelector(`#tt-error-${CSS.escape(`types[${bad}].sla_hours`)}`).textContent = t("tt.sla_bad");
      return;
    }
    const items = types.map((ty) => ({
      ...(ty.id ? { id: ty.id } : {}), name: ty.name.trim(), sla_hours: Number(ty.sla.trim()),
      nodes: ty.nodes.map((n) => n.trim()),
    }));
    const x = await api("PUT", "/api/ticket-types", { items });
    if (x.status !== 200) { showNear(view, prefix, x); return; }
    types = load(x.data.items);
    draw();
    status.textContent = t("saved");
    list.dataset.saved = String(Date.now());
  });
  const bar = el("div", undefined, { class: "actions" });
  bar.append(add, save, status);
  view.append(bar, general);
}

const dict = {
  "zh-CN": {
    ...COMMON["zh-CN"], "nav.ticket-types": "工单类型", "tt.name": "类型名称", "tt.sla_hours": "工单时效 (小时)",
    "tt.nodes": "处理节点", "tt.node": "节点", "tt.node1": "一级处理", "tt.node2": "二级处理", "tt.node3": "三级处理",
    "tt.add-node": "添加节点", "tt.add": "添加工单类型", "tt.remove": "删除类型", "tt.new": "新工单类型",
    "tt.sla_bad": "请输入大于 0 的小时数", "saved": "已保存",
  },
  en: {
    ...COMMON.en, "nav.ticket-types": "Ticket types", "tt.name": "Name", "tt.sla_hours": "SLA (hours)",
    "tt.nodes": "Processing nodes", "tt.node": "Node", "tt.node1": "First-line handling", "tt.node2": "Second-line handling",
    "tt.node3": "Third-line handling", "tt.add-node": "Add node", "tt.add": "Add ticket type", "tt.remove": "Remove type",
    "tt.new": "New ticket type", "tt.sla_bad": "Enter a number of hours above 0", "saved": "Saved",
  },
};

export default { id: "ticket-types", roles: ["admin", "supervisor"], label: "nav.ticket-types", render, dict };
