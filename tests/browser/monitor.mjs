// Live monitor and wallboard (实时监控, 大屏监控): tests/browser.rs writes today's support calls
// and three web chats (inflow 3, answered 2, one visitor left the queue; 1001's first response
// 26 s, 30 s response rate 50 %, average reply 18.5 s) and restarts the daemon, which rebuilds
// the monitor from the log. The page's 在线会话 block, the group panel's chat columns, the agent
// table's chat columns and the wallboard's chat tiles must read exactly what GET /api/monitor
// answers; the voice headline says it counts calls.
import { run, check, login, shot, result } from "./lib.mjs";

const monitorJson = (page) => page.evaluate(async () =>
  (await fetch("/api/monitor", { headers: { "X-Requested-With": "fetch", Accept: "application/json" } })).json());

/** The [field, value text, label text] of each tile under `sel` that names a snapshot field. */
const tiles = (page, sel) => page.$$eval(`${sel} [data-field]`, (fs) => fs.map((f) =>
  [f.dataset.field, f.firstElementChild.textContent, f.lastElementChild.textContent]));

/** The row of table `sel` whose first cell is `first`, as {column key: text}. */
const row = (page, sel, first) => page.$eval(sel, (tb, first) => {
  const keys = [...tb.querySelectorAll("th")].map((th) => th.dataset.column);
  const tr = [...tb.querySelectorAll("tr")].find((r) => r.querySelector("td")?.textContent === first);
  return tr ? Object.fromEntries([...tr.querySelectorAll("td")].map((td, i) => [keys[i], td.textContent])) : null;
}, first);

await run(async ({ page }) => {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await login(page, "admin", "admin");
  await page.selectOption("#lang", "zh-CN");
  await page.click("#nav-monitor");
  await page.waitForSelector("#mon-chat [data-field]");
  const snap = await monitorJson(page);
  check(snap.chat_inflow === 3 && snap.chat_answered === 2 && snap.chat_abandoned === 1,
    `the seeded chats in the monitor JSON: ${JSON.stringify(snap)}`);

  // The 在线会话 block: five figures, each the JSON field it names.
  check((await page.textContent("#mon-chat h2")) === "在线会话", "the chat block's heading");
  const chat = await tiles(page, "#mon-chat");
  const want = { chats_in_progress: "会话进行中", chats_queued: "排队中", chat_inflow: "今日流入", chat_answered: "今日接入", chat_abandoned: "排队放弃" };
  check(chat.map(([f]) => f).join() === Object.keys(want).join(), `chat figures: ${JSON.stringify(chat)}`);
  for (const [field, text, label] of chat) {
    check(text === String(snap[field]), `${field} shows ${text}, the JSON says ${snap[field]}`);
    check(label === want[field], `${field} is labelled ${label}`);
  }
  result("chat_block", chat.map(([f, v]) => `${f}:${v}`).join(","));

  // The voice headline says it counts calls, and reads the voice-only JSON figures.
  const voice = await page.$$eval("#mon-figures .figure", (fs) => fs.map((f) => [f.lastElementChild.textContent, f.firstElementChild.textContent]));
  const voiceOf = (label) => voice.find(([l]) => l === label)?.[1];
  check((await page.textContent("#mon-figures h2")) === "语音通话", "the voice block's heading");
  check(voiceOf("通话流入量") === String(snap.inflow) && snap.inflow === 5, `call inflow ${voiceOf("通话流入量")} vs ${snap.inflow}`);
  check(voiceOf("通话应答量") === String(snap.answered), `calls answered ${voiceOf("通话应答量")} vs ${snap.answered}`);
  check(voiceOf("通话呼损量") === String(snap.abandoned), `calls abandoned ${voiceOf("通话呼损量")} vs ${snap.abandoned}`);

  // The support group's chat columns.
  const g = snap.groups.find((x) => x.group === "support");
  const gRow = await row(page, "#mon-groups", "support");
  check(g && gRow, `the support panel: ${JSON.stringify(gRow)}`);
  for (const [col, field] of [["group_chats_queued", "chats_queued"], ["chats_active", "chats_active"],
    ["group_chat_inflow", "chat_inflow"], ["group_chat_answered", "chat_answered"]]) {
    check(gRow[col] === String(g[field]), `support ${col} shows ${gRow[col]}, the JSON says ${g[field]}`);
  }
  check(gRow.group_chat_inflow === "3" && gRow.group_chat_answered === "2" && gRow.inflow === "5",
    `support: chat inflow 3, answered 2 beside call inflow 5: ${JSON.stringify(gRow)}`);

  // 1001's chat columns: the hand-worked figures, and what the JSON says.
  const a = snap.agent_table.find((x) => x.agent === "1001");
  const aRow = await row(page, "#mon-agents", "1001");
  check(a && aRow, `1001's row: ${JSON.stringify(aRow)}`);
  const heads = await page.$$eval("#mon-agents th", (ths) => ths.map((t) => t.textContent));
  for (const h of ["当前会话", "首次响应", "30秒响应率", "平均回复"]) check(heads.includes(h), `agent header ${h} in ${heads}`);
  check(aRow.chats === String(a.chats) && aRow.sessions === String(a.sessions) && a.sessions === 2,
    `open chats ${aRow.chats} / sessions ${aRow.sessions} vs ${a.chats} / ${a.sessions}`);
  check(a.first_response_avg_secs === 26 && aRow.first_response === "26s", `first response 26 s: ${a.first_response_avg_secs} / ${aRow.first_response}`);
  check(a.response_30s_rate === 0.5 && aRow.response_30s_rate === "50.0%", `30 s response rate: ${a.response_30s_rate} / ${aRow.response_30s_rate}`);
  check(a.avg_reply_secs === 18.5 && aRow.avg_reply === "18.5s", `average reply 18.5 s: ${a.avg_reply_secs} / ${aRow.avg_reply}`);
  result("agent_chat", `${aRow.chats}/${aRow.sessions}/${aRow.first_response}/${aRow.response_30s_rate}/${aRow.avg_reply}`);
  // An agent without a chat today shows dashes, not 0 s.
  const idle = snap.agent_table.find((x) => x.first_response_avg_secs === null);
  if (idle) {
    const r = await row(page, "#mon-agents", idle.agent);
    check(r.first_response === "—" && r.response_30s_rate === (idle.response_30s_rate === null ? "—" : `${(idle.response_30s_rate * 100).toFixed(1)}%`) && r.avg_reply === "—",
      `${idle.agent} without chats: ${JSON.stringify(r)}`);
  }
  await shot(page, "monitor-chat-zh");

  // English labels.
  await page.selectOption("#lang", "en");
  await page.waitForFunction(() => document.querySelector("#mon-chat h2")?.textContent === "Web chat");
  const en = await tiles(page, "#mon-chat");
  check(en.find(([f]) => f === "chat_inflow")?.[2] === "Chat inflow today", `en chat labels: ${JSON.stringify(en)}`);
  const enVoice = await page.$$eval("#mon-figures .label", (ls) => ls.map((l) => l.textContent));
  check(enVoice.includes("Call inflow") && enVoice.includes("Calls in progress"), `en voice labels: ${enVoice}`);
  await page.selectOption("#lang", "zh-CN");

  // The wallboard: a row of three large chat tiles, the same figures.
  await page.click("#nav-wallboard");
  await page.waitForSelector("#wb-chat [data-field]");
  const wb = await tiles(page, "#wb-chat");
  check(wb.map(([f]) => f).join() === "chats_in_progress,chats_queued,chat_answered", `wallboard chat tiles: ${JSON.stringify(wb)}`);
  const now = await monitorJson(page);
  for (const [field, text] of wb) check(text === String(now[field]), `wallboard ${field} shows ${text}, the JSON says ${now[field]}`);
  const big = await page.$eval("#wb-chat .wallboard-value", (v) => parseFloat(getComputedStyle(v).fontSize));
  check(big >= 40, `the chat tiles are large: ${big}px`);
  await shot(page, "wallboard-chat");
  check(errors.length === 0, `no script errors: ${errors.join(" | ")}`);
});
