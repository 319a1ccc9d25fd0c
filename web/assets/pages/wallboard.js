// Full-screen wallboard (大屏, SPEC §10): the voice headline figures in large numbers, a row of
// web-chat tiles (in progress, queued, answered today) and the hourly chart, updated from the
// monitor stream. The button asks the browser for full screen. Each tile names the snapshot
// field it shows in `data-field`.
import { t } from "../i18n.js";
import { el } from "../lib.js";
import { openMonitor, figures, chatFigures, hourlyChart } from "./monitor.js";

/** The chat tiles of the wallboard: the few a wall screen needs, by snapshot field. */
const CHAT_TILES = ["chats_in_progress", "chats_queued", "chat_answered"];

/** Fills `grid` with one large tile per [label key, text, field?]. */
function tiles(grid, items) {
  grid.replaceChildren();
  for (const [k, v, field] of items) {
    const cell = el("div", undefined, field ? { class: "figure", "data-field": field } : { class: "figure" });
    cell.append(el("div", String(v), { class: "value wallboard-value" }), el("div", t(k)));
    grid.append(cell);
  }
}

function render(view) {
  const board = el("div", undefined, { id: "wallboard", class: "wallboard" });
  const full = el("button", t("wb.fullscreen"), { type: "button", id: "wb-full" });
  full.addEventListener("click", () => board.requestFullscreen?.());
  view.append(el("h1", t("nav.wallboard")), full, board);
  const grid = el("div", t("mon.waiting"), { class: "wallboard-grid", id: "wb-voice" });
  const chats = el("div", undefined, { class: "wallboard-grid", id: "wb-chat" });
  const chart = el("div");
  const clock = el("div", "", { class: "clock" });
  board.append(clock, el("h2", t("mon.voice")), grid, el("h2", t("wb.chat")), chats, chart);
  openMonitor(view, (s) => {
    tiles(grid, figures(s));
    tiles(chats, chatFigures(s).filter(([, , field]) => CHAT_TILES.includes(field)));
    chart.replaceChildren(hourlyChart(s));
    clock.textContent = new Date(s.now_ms).toLocaleTimeString();
  });
}

const dict = {
  "zh-CN": { "nav.wallboard": "大屏监控", "wb.fullscreen": "全屏", "wb.chat": "在线会话" },
  en: { "nav.wallboard": "Wallboard", "wb.fullscreen": "Full screen", "wb.chat": "Web chat" },
};

export default { id: "wallboard", roles: ["admin", "supervisor", "tm_super_admin", "tm_admin"], label: "nav.wallboard", render, dict };
