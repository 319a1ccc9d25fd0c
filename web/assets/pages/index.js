// The panel's pages, in navigation order. A page is a module whose default export is
// `{ id, roles, label, render(view), dict? }`; `dict` ({"zh-CN": {...}, en: {...}}) adds its labels.
// Adding a page: a file in this folder and one line here.
import workspace from "./workspace.js";
import audit from "./audit.js";
import groups from "./groups.js";
import extensions from "./extensions.js";
import users from "./users.js";
import departments from "./departments.js";
import routes from "./routes.js";
import policy from "./policy.js";
import monitor from "./monitor.js";
import wallboard from "./wallboard.js";
import reports from "./reports.js";
import calls from "./calls.js";
import customerFields from "./customer_fields.js";
import summaryConfig from "./summary_config.js";
import ticketTypes from "./ticket_types.js";
import trunks from "./trunks.js";
import ivr from "./ivr.js";
import voices from "./voices.js";
import hours from "./hours.js";
import chatRecords from "./chat_records.js";
import chatMessages from "./chat_messages.js";

/** The navigation's sections (label key, pages), in order; a section with no page the user
 * may open is not shown. */
export const SECTIONS = [
  ["nav.section.work", [workspace]],
  ["nav.section.monitor", [monitor, wallboard, reports, calls, chatRecords]],
  ["nav.section.agents", [groups, extensions, users, departments, policy]],
  ["nav.section.routing", [ivr, voices, hours, routes, trunks]],
  ["nav.section.service", [customerFields, summaryConfig, ticketTypes, chatMessages]],
  ["nav.section.system", [audit]],
];

export default SECTIONS.flatMap(([, pages]) => pages);
