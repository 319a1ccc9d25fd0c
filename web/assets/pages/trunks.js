// Trunks and DIDs (中继/号码, SPEC §3): the carrier trunks (name, host, SIP port) and the inbound
// numbers (DID) with where each goes (a skill group, an extension or an IVR flow). Two list-and-
// form tables on one page, each its own section so its form opens under its own list.
// Ids: #trunk-form, #trunk-save, #trunk-error-<field>; #did-form, #did-save, #did-error-<field>.
import { t } from "../i18n.js";
import { el } from "../lib.js";
import { COMMON, crud } from "./form.js";

async function render(view) {
  const trunks = el("section", undefined, { id: "trunk-section", class: "config-editor" });
  const dids = el("section", undefined, { id: "did-section", class: "config-editor" });
  view.append(trunks, dids);
  await crud(trunks, {
    title: "nav.trunks", prefix: "trunk", path: "/api/trunks", key: "name",
    fields: [{ name: "host" }, { name: "port", type: "number", default: 5060 }],
    cols: [["trunk.name", (x) => x.name], ["trunk.host", (x) => x.host], ["trunk.port", (x) => x.port]],
  });
  await crud(dids, {
    title: "did.title", prefix: "did", path: "/api/dids", key: "number",
    fields: [{ name: "target_kind", options: ["group", "extension", "ivr"], default: "group" }, { name: "target" }],
    cols: [["did.number", (x) => x.number], ["did.target_kind", (x) => t(`did.kind.${x.target_kind}`)], ["did.target", (x) => x.target]],
  });
  // crud's headings are all h1; the second list is a sub-heading of the page.
  const second = dids.querySelector("h1");
  if (second) second.replaceWith(el("h2", second.textContent));
}

const dict = {
  "zh-CN": {
    ...COMMON["zh-CN"], "nav.trunks": "中继/号码", "trunk.name": "中继名称", "trunk.host": "对端地址", "trunk.port": "SIP端口",
    "did.title": "号码 (DID)", "did.number": "号码", "did.target_kind": "目标类型", "did.target": "目标",
    "did.kind.group": "技能组", "did.kind.extension": "分机", "did.kind.ivr": "IVR语音导航",
  },
  en: {
    ...COMMON.en, "nav.trunks": "Trunks / DIDs", "trunk.name": "Trunk name", "trunk.host": "Peer host", "trunk.port": "SIP port",
    "did.title": "Numbers (DID)", "did.number": "Number", "did.target_kind": "Target kind", "did.target": "Target",
    "did.kind.group": "Skill group", "did.kind.extension": "Extension", "did.kind.ivr": "IVR",
  },
};

export default { id: "trunks", roles: ["admin"], label: "nav.trunks", render, dict };
