// Departments (部门, migration 0014): named units of agents. Users are put in a department on
// the users page; a supervisor assigned departments sees their agents (SPEC §12 data isolation).
// A department with users or supervisors cannot be deleted (the API answers 409 naming them).
// Ids: #department-form, #department-save, #department-error-<field>, table #departments.
import { COMMON, crud } from "./form.js";

function render(view) {
  return crud(view, {
    title: "nav.departments", prefix: "department", path: "/api/departments", key: "name",
    fields: [{ name: "display_name" }],
    cols: [["department.name", (d) => d.name], ["department.display_name", (d) => d.display_name],
      ["department.members", (d) => d.members], ["department.supervisors", (d) => d.supervisors.join(", ")]],
  });
}

const dict = {
  "zh-CN": { ...COMMON["zh-CN"], "nav.departments": "部门", "department.name": "部门编号", "department.display_name": "部门名称",
    "department.members": "人数", "department.supervisors": "管辖班长" },
  en: { ...COMMON.en, "nav.departments": "Departments", "department.name": "Key", "department.display_name": "Name",
    "department.members": "Members", "department.supervisors": "Supervisors" },
};

export default { id: "departments", roles: ["admin"], label: "nav.departments", render, dict };
