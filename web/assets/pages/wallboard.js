// Full-screen wallboard (大屏, SPEC §10): the headline figures in large numbers and the hourly
// chart, updated from the monitor stream. The button asks the browser for full screen.
import { t } from "../i18n.js";
import { el } from "../lib.js";
import { openMonitor, figures, hourlyChart } from "./monitor.js";

function render(view) {
  const board = el("div", undefined, { id: "wallboard", class: "wallboard" });
  const full = el("button", t("wb.fullscreen"), { type: "button", id: "wb-full" });
  full.addEventListener("click", () => board.requestFullscreen?.());
  view.append(el("h1", t("nav.wallboard")), full, board);
  const grid = el("div", t("mon.waiting"), { class: "wallboard-grid" });
  const chart = el("div");
  const clock = el("div", "", { class: "clock" });
  board.append(clock, grid, chart);
  openMonitor(view, (s) => {
    grid.replaceChildren();
    for (const [k, v] of figures(s)) {
      const cell = el("div", undefined, { class: "figure" });
      cell.append(el("div", String(v), { class: "value wallboard-value" }), el("div", t(k)));
      grid.append(cell);
    }
    chart.replaceChildren(hourlyChart(s));
    clock.textContent = new Date(s.now_ms).toLocaleTimeString();
  });
}

const dict = {
  "zh-CN": { "nav.wallboard": "大屏监控", "wb.fullscreen": "全屏" },
  en: { "nav.wallboard": "Wallboard", "wb.fullscreen": "Full screen" },
};

export default { id: "wallboard", roles: ["admin", "supervisor", "tm_super_admin", "tm_admin"], label: "nav.wallboard", render, dict };
