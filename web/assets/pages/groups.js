// Skill groups (技能组): the list, and the edit form with every ACD setting and the members.
// Stable ids for browser tests: #group-form, inputs named after the JSON fields, #group-save,
// #group-error-<field> (from the API error's `field`), #group-members, #group-add-member.
import { t } from "../i18n.js";
import { api, ctx, el } from "../lib.js";
import { button, clearErrors, errorSlot, input, showError, table, values } from "./form.js";

const STRATEGIES = ["longest-idle", "round-robin", "fewest-calls", "ring-all", "skill-level", "random"];
const OVERFLOWS = ["hangup", "group", "voicemail", "ivr"];
const NUMBERS = ["ring_timeout_secs", "wrap_up_secs", "max_no_answer", "max_queue", "max_wait_secs", "service_level_secs"];
const EMPTY = {
  name: "", number: "", strategy: "longest-idle", ring_timeout_secs: 15, wrap_up_secs: 0, max_no_answer: 0,
  max_queue: 0, max_wait_secs: 0, overflow_kind: "hangup", overflow_target: "", service_level_secs: 20,
  record: false, survey: false, telemarketing: false, members: [],
};

function memberRow(m) {
  const tr = el("tr", undefined, { class: "member" });
  for (const [name, value] of [["extension", m.extension ?? ""], ["priority", m.priority ?? 1], ["skill_level", m.skill_level ?? 1]]) {
    const i = el("input", undefined, { name, type: name === "extension" ? "text" : "number", "aria-label": t(`group.member.${name}`) });
    i.value = value;
    const td = el("td");
    td.append(i);
    tr.append(td);
  }
  const rm = button("group.member.remove", { class: "remove" });
  rm.addEventListener("click", () => tr.remove());
  const td = el("td");
  td.append(rm);
  tr.append(td);
  return tr;
}

function editor(view, group, reload) {
  view.querySelector("#group-form")?.remove();
  const form = el("form", undefined, { id: "group-form" });
  form.addEventListener("submit", (e) => e.preventDefault());
  form.append(el("h2", group.name ? `${t("skillgroup")} ${group.name}` : t("group.new")));
  const name = input(form, "group", "name", { value: group.name });
  if (group.name) name.readOnly = true;
  input(form, "group", "number", { value: group.number });
  input(form, "group", "strategy", { value: group.strategy, options: STRATEGIES });
  for (const n of NUMBERS) input(form, "group", n, { type: "number", value: group[n] });
  input(form, "group", "overflow_kind", { value: group.overflow_kind, options: OVERFLOWS });
  input(form, "group", "overflow_target", { value: group.overflow_target });
  input(form, "group", "record", { type: "checkbox", value: group.record });
  // Post-call satisfaction survey (满意度调查): the caller rates the call after the agent hangs up.
  input(form, "group", "survey", { type: "checkbox", value: group.survey });
  const tm = input(form, "group", "telemarketing", { type: "checkbox", value: group.telemarketing });
  // Telemarketing roles write only telemarketing groups (the API refuses anything else).
  if (ctx.session.role !== "admin") { tm.checked = true; tm.disabled = true; }
  const members = el("table", undefined, { id: "group-members" });
  const head = el("tr");
  for (const k of ["group.member.extension", "group.member.priority", "group.member.skill_level", ""]) head.append(el("th", k ? t(k) : ""));
  members.append(head);
  for (const m of group.members) members.append(memberRow(m));
  const add = button("group.member.add", { id: "group-add-member" });
  add.addEventListener("click", () => members.append(memberRow({})));
  form.append(el("h3", t("group.members")), members, add, el("span", "", { class: "error", id: "group-error-members" }));
  const save = button("save", { id: "group-save" });
  form.append(save, errorSlot("group"));
  save.addEventListener("click", async () => {
    clearErrors(form, "group");
    const body = values(form, ["number", "strategy", ...NUMBERS, "overflow_kind", "overflow_target", "record", "survey", "telemarketing"]);
    body.members = [...members.querySelectorAll("tr.member")].map((tr) => ({
      extension: tr.querySelector('[name="extension"]').value.trim(),
      priority: Number(tr.querySelector('[name="priority"]').value || 1),
      skill_level: Number(tr.querySelector('[name="skill_level"]').value || 1),
    }));
    const key = name.value.trim();
    if (!key) { form.querySelector("#group-error-name").textContent = t("required"); return; }
    const r = await api("PUT", `/api/skill-groups/${encodeURIComponent(key)}`, body);
    if (r.status === 200 || r.status === 201) { form.dataset.saved = key; await reload(); }
    else showError(form, "group", r);
  });
  view.append(form);
}

/** Who may do what on the list (the API decides; this only hides buttons it would refuse):
 * administrators everything, the telemarketing super admin creates / edits / deletes
 * telemarketing groups, a telemarketing admin edits the telemarketing groups in scope. */
function rights(role) {
  return {
    create: role === "admin" || role === "tm_super_admin",
    edit: (g) => role === "admin" || (g.telemarketing && (role === "tm_super_admin" || role === "tm_admin")),
    remove: (g) => role === "admin" || (g.telemarketing && role === "tm_super_admin"),
  };
}

async function render(view) {
  const may = rights(ctx.session.role);
  const list = el("div", undefined, { id: "group-list" });
  view.append(el("h1", t("nav.groups")), list, errorSlot("group-list"));
  const reload = async () => {
    list.replaceChildren();
    const r = await api("GET", "/api/skill-groups");
    if (r.status !== 200) { view.querySelector("#group-list-error").textContent = r.data.message || String(r.status); return; }
    const rows = r.data.items.map((g) => {
      const actions = el("span");
      if (may.edit(g)) {
        const edit = button("edit", { class: "edit", "data-group": g.name });
        edit.addEventListener("click", () => editor(view, g, reload));
        actions.append(edit);
      }
      if (may.remove(g)) {
        const del = button("delete", { class: "delete", "data-group": g.name });
        del.addEventListener("click", async () => {
          const d = await api("DELETE", `/api/skill-groups/${encodeURIComponent(g.name)}`);
          if (d.status === 200) await reload();
          else view.querySelector("#group-list-error").textContent = d.data.message || String(d.status);
        });
        actions.append(del);
      }
      return [g.name, g.number, g.strategy, g.members.map((m) => m.extension).join(", "), actions];
    });
    list.append(table("groups", ["group.name", "group.number", "group.strategy", "group.members", ""], rows));
    if (may.create) {
      const add = button("group.new", { id: "group-new" });
      add.addEventListener("click", () => editor(view, { ...EMPTY, members: [] }, reload));
      list.append(add);
    }
  };
  await reload();
}

const dict = {
  "zh-CN": {
    "nav.groups": "技能组", "group.new": "新建技能组", "group.name": "名称", "group.number": "队列号码",
    "group.strategy": "分配策略", "group.ring_timeout_secs": "振铃超时(秒)", "group.wrap_up_secs": "话后处理(秒)",
    "group.max_no_answer": "未接次数上限", "group.max_queue": "最大排队数", "group.max_wait_secs": "最长等待(秒)",
    "group.overflow_kind": "溢流方式", "group.overflow_target": "溢流目标", "group.service_level_secs": "服务水平(秒)",
    "group.record": "录音", "group.survey": "满意度调查", "group.telemarketing": "电销组", "group.members": "成员",
    "group.member.extension": "分机", "group.member.priority": "优先级", "group.member.skill_level": "技能等级",
    "group.member.add": "添加成员", "group.member.remove": "移除", "save": "保存", "edit": "编辑", "delete": "删除",
    "required": "必填",
  },
  en: {
    "nav.groups": "Skill groups", "group.new": "New skill group", "group.name": "Name", "group.number": "Queue number",
    "group.strategy": "Strategy", "group.ring_timeout_secs": "Ring timeout (s)", "group.wrap_up_secs": "Wrap-up (s)",
    "group.max_no_answer": "No-answer limit", "group.max_queue": "Max queue", "group.max_wait_secs": "Max wait (s)",
    "group.overflow_kind": "Overflow", "group.overflow_target": "Overflow target", "group.service_level_secs": "Service level (s)",
    "group.record": "Record calls", "group.survey": "Satisfaction survey", "group.telemarketing": "Telemarketing group", "group.members": "Members",
    "group.member.extension": "Extension", "group.member.priority": "Priority", "group.member.skill_level": "Skill level",
    "group.member.add": "Add member", "group.member.remove": "Remove", "save": "Save", "edit": "Edit", "delete": "Delete",
    "required": "Required",
  },
};

export default { id: "groups", roles: ["admin", "supervisor", "tm_super_admin", "tm_admin"], label: "nav.groups", render, dict };
