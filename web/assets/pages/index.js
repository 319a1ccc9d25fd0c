// The panel's pages, in navigation order. A page is a module whose default export is
// `{ id, roles, label, render(view), dict? }`; `dict` ({"zh-CN": {...}, en: {...}}) adds its labels.
// Adding a page: a file in this folder and one line here.
import workspace from "./workspace.js";
import audit from "./audit.js";
import monitor from "./monitor.js";
import wallboard from "./wallboard.js";
import reports from "./reports.js";

export default [workspace, monitor, wallboard, reports, audit];
