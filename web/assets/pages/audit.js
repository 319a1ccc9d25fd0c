// The audit log of admin actions (客服日志).
import { t } from "../i18n.js";
import { api, el } from "../lib.js";

async function render(view) {
  view.append(el("h1", t("nav.audit")));
  const r = await api("GET", "/api/audit-log?limit=100");
  const table = el("table", undefined, { id: "audit" });
  const head = el("tr");
  for (const k of ["audit.when", "audit.who", "audit.action", "audit.target", "audit.status"]) head.append(el("th", t(k)));
  table.append(head);
  for (const row of r.data.items ?? []) {
    const tr = el("tr");
    for (const v of [new Date(row.at_ms).toLocaleString(), row.username, row.action, row.target, row.status]) tr.append(el("td", String(v)));
    table.append(tr);
  }
  view.append(table);
}

export default { id: "audit", roles: ["admin"], label: "nav.audit", render };
