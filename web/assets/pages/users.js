// Users (用户): role, extension, password, supervisor scope (skill groups). No hashes are sent.
// Ids: #user-form, inputs named after the JSON fields, #user-save, #user-error-<field>.
import { COMMON, crud } from "./form.js";

const ROLES = ["admin", "supervisor", "agent", "qa", "tm_super_admin", "tm_admin", "tm_member"];

function render(view) {
  return crud(view, {
    title: "nav.users", prefix: "user", path: "/api/users", key: "username",
    fields: [{ name: "display_name" }, { name: "role", options: ROLES, default: "agent" }, { name: "extension" },
      { name: "password", type: "password", optional: true }, { name: "groups", list: true }],
    toBody: (b) => ({ ...b, extension: b.extension.trim() || null }),
    cols: [["user.username", (u) => u.username], ["user.display_name", (u) => u.display_name], ["user.role", (u) => u.role],
      ["user.extension", (u) => u.extension ?? ""], ["user.groups", (u) => u.groups.join(", ")]],
  });
}

const dict = {
  "zh-CN": { ...COMMON["zh-CN"], "nav.users": "用户", "user.username": "用户名", "user.display_name": "姓名", "user.role": "角色",
    "user.extension": "分机", "user.password": "密码", "user.groups": "管辖技能组" },
  en: { ...COMMON.en, "nav.users": "Users", "user.username": "Username", "user.display_name": "Name", "user.role": "Role",
    "user.extension": "Extension", "user.password": "Password", "user.groups": "Supervised groups" },
};

export default { id: "users", roles: ["admin"], label: "nav.users", render, dict };
