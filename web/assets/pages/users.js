// Users (用户): role, extension, password, department (部门), supervisor scope (skill groups and
// departments), an agent's concurrent web-chat limit (接待上限, 0–20, 0 = no chats). No hashes
// are sent.
// Ids: #user-form, inputs named after the JSON fields, #user-save, #user-error-<field>.
import { t } from "../i18n.js";
import { api, el } from "../lib.js";
import { COMMON, button, crud, errorSlot, input, showError } from "./form.js";

/** Where queue calls ring the agent, as the list shows it. */
function phone(u) {
  if (!u.extension) return "";
  return u.endpoint === "mobile" ? `${t("user.endpoint.mobile")} ${u.mobile ?? ""}` : `${t("user.endpoint.sip")} ${u.extension}`;
}

/** The "answer on" editor of one agent: desk phone or a mobile number (PUT /api/agents/{u}/endpoint). */
function endpointEditor(u, reload) {
  if (!u.extension) return [];
  const open = button("user.endpoint", { class: "endpoint", "data-key": u.username });
  open.addEventListener("click", () => {
    document.querySelector("#endpoint-form")?.remove();
    const form = el("form", undefined, { id: "endpoint-form", class: "inline-form" });
    form.addEventListener("submit", (e) => e.preventDefault());
    const kind = input(form, "endpoint", "endpoint", { options: ["sip", "mobile"], value: u.endpoint });
    for (const o of kind.options) o.textContent = t(`user.endpoint.${o.value}`);
    const mobile = input(form, "endpoint", "mobile", { type: "tel", value: u.mobile ?? "" });
    const save = button("save", { id: "endpoint-save" });
    form.append(save, errorSlot("endpoint"));
    save.addEventListener("click", async () => {
      for (const e of form.querySelectorAll(".error")) e.textContent = "";
      const body = { endpoint: kind.value };
      if (mobile.value.trim()) body.mobile = mobile.value.trim();
      const r = await api("PUT", `/api/agents/${encodeURIComponent(u.username)}/endpoint`, body);
      if (r.status === 200) { form.remove(); await reload(); } else showError(form, "endpoint", r);
    });
    open.closest("td").append(form);
  });
  return [open];
}

const ROLES = ["admin", "supervisor", "agent", "qa", "tm_super_admin", "tm_admin", "tm_member"];

async function render(view) {
  // The department select offers the departments that exist ("" = none).
  const r = await api("GET", "/api/departments");
  const names = r.status === 200 ? (r.data.items ?? []).map((d) => d.name) : [];
  // 接待上限 is a small count: the form's number input gets its bounds when the form opens.
  new MutationObserver(() => {
    const limit = view.querySelector("#user-form [name=chat_limit]:not([max])");
    if (limit) Object.assign(limit, { min: "0", max: "20", step: "1" });
  }).observe(view, { childList: true, subtree: true });
  return crud(view, {
    title: "nav.users", prefix: "user", path: "/api/users", key: "username",
    fields: [{ name: "display_name" }, { name: "role", options: ROLES, default: "agent" }, { name: "extension" },
      { name: "password", type: "password", optional: true }, { name: "groups", list: true },
      { name: "department", options: ["", ...names] }, { name: "departments", list: true },
      { name: "chat_limit", type: "number", default: 3 }],
    toBody: (b) => ({ ...b, extension: b.extension.trim() || null, department: b.department || null }),
    cols: [["user.username", (u) => u.username], ["user.display_name", (u) => u.display_name], ["user.role", (u) => u.role],
      ["user.extension", (u) => u.extension ?? ""], ["user.phone", phone], ["user.groups", (u) => u.groups.join(", ")],
      ["user.department", (u) => u.department ?? ""], ["user.departments", (u) => (u.departments ?? []).join(", ")],
      ["user.chat_limit", (u) => (u.extension ? String(u.chat_limit ?? 3) : "")]],
    rowActions: endpointEditor,
  });
}

const dict = {
  "zh-CN": { ...COMMON["zh-CN"], "nav.users": "用户", "user.username": "用户名", "user.display_name": "姓名", "user.role": "角色",
    "user.extension": "分机", "user.password": "密码", "user.groups": "管辖技能组", "user.phone": "接听方式",
    "user.department": "所属部门", "user.departments": "管辖部门",
    "user.endpoint": "接听方式", "user.endpoint.sip": "话机", "user.endpoint.mobile": "手机",
    "endpoint.endpoint": "接听方式", "endpoint.mobile": "手机号码", "user.chat_limit": "接待上限" },
  en: { ...COMMON.en, "nav.users": "Users", "user.username": "Username", "user.display_name": "Name", "user.role": "Role",
    "user.extension": "Extension", "user.password": "Password", "user.groups": "Supervised groups", "user.phone": "Answers on",
    "user.department": "Department", "user.departments": "Supervised departments",
    "user.endpoint": "Answer on…", "user.endpoint.sip": "Desk phone", "user.endpoint.mobile": "Mobile",
    "endpoint.endpoint": "Answer on", "endpoint.mobile": "Mobile number", "user.chat_limit": "Chat limit" },
};

export default { id: "users", roles: ["admin"], label: "nav.users", render, dict };
