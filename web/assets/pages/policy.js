// Agent states (坐席状态): which states agents may switch to, and the break reasons.
// Ids: #policy-form, checkboxes named `selectable` (value = state), input `break_reasons`
// (comma-separated), #policy-save, #policy-error-<field>.
import { t } from "../i18n.js";
import { api, ctx, el } from "../lib.js";
import { COMMON, button, clearErrors, errorSlot, input, showError } from "./form.js";

const STATES = ["offline", "idle", "break", "invisible"];

async function render(view) {
  view.append(el("h1", t("nav.policy")));
  const r = await api("GET", "/api/agent-policy");
  const p = r.status === 200 ? r.data : { selectable: [], break_reasons: [] };
  const form = el("form", undefined, { id: "policy-form" });
  form.addEventListener("submit", (e) => e.preventDefault());
  const states = el("fieldset");
  states.append(el("legend", t("policy.selectable")));
  for (const s of STATES) {
    const id = `policy-state-${s}`;
    const c = el("input", undefined, { type: "checkbox", name: "selectable", value: s, id });
    c.checked = p.selectable.includes(s);
    states.append(c, el("label", t(`state.${s}`), { for: id }));
  }
  states.append(el("span", "", { class: "error", id: "policy-error-selectable" }));
  form.append(states);
  input(form, "policy", "break_reasons", { value: p.break_reasons.join(", ") });
  const admin = ctx.session.role === "admin";
  const save = button("save", { id: "policy-save" });
  if (!admin) { save.disabled = true; for (const i of form.querySelectorAll("input")) i.disabled = true; }
  form.append(save, errorSlot("policy"));
  save.addEventListener("click", async () => {
    clearErrors(form, "policy");
    const body = {
      selectable: [...form.querySelectorAll('[name="selectable"]:checked')].map((c) => c.value),
      break_reasons: form.querySelector('[name="break_reasons"]').value.split(/[,，]/).map((s) => s.trim()).filter(Boolean),
    };
    const x = await api("PUT", "/api/agent-policy", body);
    if (x.status === 200) form.dataset.saved = "1";
    else showError(form, "policy", x);
  });
  view.append(form);
}

const dict = {
  "zh-CN": { ...COMMON["zh-CN"], "nav.policy": "坐席状态", "policy.selectable": "坐席可切换的状态", "policy.break_reasons": "小休原因" },
  en: { ...COMMON.en, "nav.policy": "Agent states", "policy.selectable": "States agents may switch to", "policy.break_reasons": "Break reasons" },
};

export default { id: "policy", roles: ["admin"], label: "nav.policy", render, dict };
