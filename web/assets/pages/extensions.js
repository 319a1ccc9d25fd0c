// Extensions (分机): number, SIP password, display name; who uses each.
// Ids: #extension-form, inputs named after the JSON fields, #extension-save, #extension-error-<field>.
import { COMMON, crud } from "./form.js";

function render(view) {
  return crud(view, {
    title: "nav.extensions", prefix: "extension", path: "/api/extensions", key: "number",
    fields: [{ name: "sip_password", type: "password", optional: true }, { name: "display_name" }],
    cols: [["extension.number", (e) => e.number], ["extension.display_name", (e) => e.display_name],
      ["extension.user", (e) => e.user ?? ""], ["extension.groups", (e) => e.groups.join(", ")]],
  });
}

const dict = {
  "zh-CN": { ...COMMON["zh-CN"], "nav.extensions": "分机", "extension.number": "分机号", "extension.sip_password": "SIP密码",
    "extension.display_name": "显示名称", "extension.user": "用户", "extension.groups": "技能组" },
  en: { ...COMMON.en, "nav.extensions": "Extensions", "extension.number": "Number", "extension.sip_password": "SIP password",
    "extension.display_name": "Display name", "extension.user": "User", "extension.groups": "Skill groups" },
};

export default { id: "extensions", roles: ["admin", "supervisor", "tm_super_admin", "tm_admin"], label: "nav.extensions", render, dict };
