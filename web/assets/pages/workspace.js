// The agent workspace (坐席工作台): phone bar with the state switch, live state over SSE.
import { t } from "../i18n.js";
import { ctx, api, el, openStream } from "../lib.js";

function stateLabel(s) { return t(`state.${s}`) === `state.${s}` ? s : t(`state.${s}`); }

function render(view) {
  const session = ctx.session;
  view.append(el("h1", t("nav.workspace")));
  const bar = el("div", undefined, { class: "phonebar", "aria-label": t("phonebar") });
  bar.append(el("span", t("phonebar")), el("span", `${t("agent.state")}:`));
  const state = el("span", t("state.unknown"), { class: "state", id: "agent-state" });
  bar.append(state);
  const err = el("span", "", { class: "error", id: "state-error" });
  for (const s of ["idle", "break", "offline"]) {
    const b = el("button", stateLabel(s), { type: "button", id: `to-${s}` });
    b.addEventListener("click", async () => {
      err.textContent = "";
      const body = s === "break" ? { state: s, reason: "小休" } : { state: s };
      const r = await api("POST", `/api/agents/${encodeURIComponent(session.username)}/state`, body);
      if (r.status !== 200) err.textContent = r.data.message || String(r.status);
    });
    bar.append(b);
  }
  bar.append(err);
  view.append(bar);
  const log = el("ul", undefined, { id: "live-log", "aria-label": t("live") });
  view.append(log);
  openStream(["agent.state", "call.offered", "call.answered", "call.ended", "queue.entered"], (ev) => {
    if (ev.kind === "agent.state" && ev.agent === session.extension) {
      state.textContent = stateLabel(ev.data.state);
      state.dataset.state = ev.data.state;
    }
    log.prepend(el("li", `${new Date(ev.at_ms).toLocaleTimeString()} ${ev.kind} ${ev.data.state ?? ""}`));
    while (log.children.length > 20) log.lastChild.remove();
  });
}

export default { id: "workspace", roles: ["agent", "admin", "supervisor"], label: "nav.workspace", render };
