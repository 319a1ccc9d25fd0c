// Reports page (数据统计): the admin picks "last 7 days" and reads the skill-group table under
// the seeds' Chinese column names (流入量, 接通率 …); after switching the panel to English the
// same report reads Inflow, Connect rate …; the CSV download's header row follows the language.
// The skill group is chosen from a list filled from /api/skill-groups, and an empty period
// says so. Above the table the page draws charts of the same rows (tests/browser.rs writes
// today's support calls first: inflow 5, answered 3): one group of bars per day / per hour, and
// each bar's tooltip reads the figure the table shows, so a chart that lies fails here.
// tests/browser.rs also writes three web chats (inflow 3, answered 2; agent 1001: 2 sessions,
// first response 26 s, 30 s response rate 50 %, average reply 18.5 s): the voice figures above
// are read with the channel select on 语音, then 在线会话 shows the chat rows and their charts,
// and 全部 sums both; every request and download link carries the channel chosen.
import { run, check, login, shot, result, URL as URL_BASE } from "./lib.mjs";

await run(async ({ page }) => {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // The JSON requests of the report table (downloads aside), newest last.
  const asked = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith("/api/reports/") && !u.searchParams.has("format")) asked.push(u);
  });
  const lastAsked = () => asked[asked.length - 1];
  await login(page, "admin", "admin");
  await page.selectOption("#lang", "zh-CN");
  await page.click("#nav-reports");
  await page.waitForSelector("#rep-preset-7d");
  await page.waitForSelector("select#rep-group");
  await page.waitForSelector("select#rep-department", { state: "attached" });
  check(await page.isHidden("#rep-department"), "no department chooser for the skill-group report");
  const groups = await page.$$eval("select#rep-group option", (os) => os.map((o) => o.value));
  check(groups[0] === "" && groups.length >= 2, `skill groups to choose from: ${groups}`);
  check(await page.isVisible("#rep-channel"), "the channel select shows for the skill-group report");
  const channels = await page.$$eval("#rep-channel option", (os) => os.map((o) => `${o.value}=${o.textContent}`));
  check(channels.join() === "all=全部,voice=语音,chat=在线会话", `channel choices: ${channels}`);
  check(await page.inputValue("#rep-channel") === "all", "every channel by default");
  await page.selectOption("#rep-channel", "voice");

  await page.click("#rep-preset-7d");
  await page.waitForSelector("#rep-table th");
  const [from, to] = [await page.inputValue("#rep-from"), await page.inputValue("#rep-to")];
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000;
  check(days === 6, `last 7 days spans ${from}..${to}`);
  check(lastAsked().pathname === "/api/reports/skill-groups/daily" && lastAsked().searchParams.get("channel") === "voice",
    `the request carries channel=voice: ${lastAsked()}`);
  const heads = () => page.$$eval("#rep-table th", (ths) => ths.map((t) => t.textContent.trim()));
  let th = await heads();
  for (const want of ["日期", "技能组", "流入量", "应答量", "接通率", "呼损量", "转人工失败量"]) {
    check(th.includes(want), `zh-CN header ${want} in ${th}`);
  }
  check(!th.includes("inflow"), `no raw key in ${th}`);
  const boxes = await page.$$eval("#rep-columns label", (ls) => ls.map((l) => l.textContent.trim()));
  check(boxes.includes("流入量") && boxes.includes("20秒接通率"), `column picker labels: ${boxes.slice(0, 8)}`);
  const empty = await page.isVisible("#rep-empty");
  const rows = await page.$$eval("#rep-table tr", (trs) => trs.length - 1);
  check(rows > 0 || empty, `an empty period says so (rows ${rows})`);
  if (empty) result("empty_line", await page.textContent("#rep-empty"));
  check(rows > 0, `the seeded calls give rows (${rows})`);

  // The daily chart: two bars (inflow, answered) per day of the 7, a connect-rate point per day.
  await page.waitForSelector("#rep-chart-daily");
  const daily = await chartVsTable(page, "#rep-chart-daily", "date", ["inflow", "answered"]);
  check(daily.bars === 7 * 2, `one inflow and one answered bar per day: ${daily.bars}`);
  check(daily.mismatch.length === 0, `daily bars read the table: ${daily.mismatch}`);
  check(daily.tableSum.inflow === 5 && daily.chartSum.inflow === 5, `inflow 5 in table and chart: ${JSON.stringify(daily)}`);
  check(daily.tableSum.answered === 3 && daily.chartSum.answered === 3, `answered 3: ${JSON.stringify(daily)}`);
  const rate = await page.$$eval("#rep-chart-rate circle.point", (cs) => cs.map((c) => [c.dataset.x, c.querySelector("title").textContent]));
  check(rate.length === 7, `a connect-rate point per day: ${rate.length}`);
  const rateCells = await tableCells(page, "date", "connect_rate");
  for (const [date, text] of rateCells) {
    const point = rate.find(([x]) => x === date);
    check(point && point[1].endsWith(`: ${text}`), `the ${date} rate point reads the table's ${text}: ${point}`);
  }
  check(rateCells.some(([, text]) => text === "60.0%"), `a day at 60.0 %: ${rateCells}`);
  result("daily_bars", daily.bars);
  const legend = await page.$$eval("#rep-chart-daily .legend text", (ts) => ts.map((t) => t.textContent));
  check(legend.join() === "流入量,应答量", `the legend reads the column labels: ${legend}`);
  await shot(page, "reports-zh");

  // The language switch re-renders the page, which runs the same report again in English.
  await page.selectOption("#lang", "en");
  await page.waitForFunction(() => [...document.querySelectorAll("#rep-table th")].some((t) => t.textContent === "Inflow"));
  th = await heads();
  for (const want of ["Date", "Skill group", "Inflow", "Answered", "Connect rate", "Lost", "Transfer-to-agent failures"]) {
    check(th.includes(want), `en header ${want} in ${th}`);
  }
  check(await page.inputValue("#rep-from") === from, "the period survives the switch");
  await page.waitForFunction(() => [...document.querySelectorAll("#rep-chart-daily .legend text")].some((t) => t.textContent === "Inflow"));
  await shot(page, "reports-en");

  const href = await page.getAttribute("#rep-csv", "href");
  check(href.includes("lang=en"), `the CSV link carries the language: ${href}`);
  check(new URL(href, URL_BASE).searchParams.get("channel") === "voice", `the CSV link keeps the channel over the language switch: ${href}`);
  const csv = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return { status: r.status, type: r.headers.get("content-type"), bytes: [...new Uint8Array(await r.arrayBuffer())] };
  }, href);
  check(csv.status === 200 && csv.type.startsWith("text/csv"), `CSV download ${csv.status} ${csv.type}`);
  check(csv.bytes[0] === 0xef && csv.bytes[1] === 0xbb && csv.bytes[2] === 0xbf, "the CSV starts with a UTF-8 BOM");
  const text = new TextDecoder().decode(new Uint8Array(csv.bytes.slice(3)));
  const header = text.split("\n")[0];
  check(header.startsWith("Date,Skill group,Inflow,Answered,Connect rate,Lost,"), `CSV header row: ${header}`);
  result("csv_header", header.split(",").slice(0, 6).join(","));

  // Back to Chinese: the download follows.
  await page.selectOption("#lang", "zh-CN");
  await page.waitForFunction(() => document.querySelector("#rep-csv")?.href.includes("lang=zh-CN"));
  const zhHead = await page.evaluate(async () => {
    const t = await (await fetch(document.querySelector("#rep-csv").href)).text();
    return t.replace(/^\uFEFF/, "").split("\n")[0];
  });
  check(zhHead.startsWith("日期,技能组,流入量,应答量,接通率,呼损量,"), `zh-CN CSV header row: ${zhHead}`);
  // The page's formatting: rates as percentages, seconds as h:mm:ss, calendar-month presets.
  const fmt = await page.evaluate(async () => {
    const m = await import("/assets/pages/reports.js");
    return [m.cell(0.5, "rate"), m.cell(0.04167, "rate"), m.cell(3725, "duration"), m.cell(12, "count"),
      m.presetRange("lastmonth", new Date(2024, 2, 15)).join(".."), m.presetRange("month", new Date(2024, 2, 15)).join("..")];
  });
  check(JSON.stringify(fmt) === JSON.stringify(["50.0%", "4.2%", "1:02:05", "12", "2024-02-01..2024-02-29", "2024-03-01..2024-03-15"]),
    `formatting: ${JSON.stringify(fmt)}`);

  // Per hour: 24 groups of two bars, each matching the hour's total in the table.
  await page.selectOption("#rep-family", "skill-groups/hourly");
  await page.click("#rep-run");
  await page.waitForSelector("#rep-chart-hourly");
  const hourly = await chartVsTable(page, "#rep-chart-hourly", "hour", ["inflow", "answered"]);
  check(hourly.bars === 24 * 2, `one inflow and one answered bar per hour: ${hourly.bars}`);
  check(hourly.mismatch.length === 0, `hourly bars read the table: ${hourly.mismatch}`);
  check(hourly.chartSum.inflow === 5 && hourly.chartSum.answered === 3, `hourly totals: ${JSON.stringify(hourly)}`);
  result("hourly_bars", hourly.bars);
  await shot(page, "reports-charts-hourly");

  // Per agent: one answered bar per agent of the table (1001 answered all three calls), and a
  // stacked bar of state times whose pieces read the table's h:mm:ss.
  await page.selectOption("#rep-family", "agents/daily");
  await page.click("#rep-run");
  await page.waitForSelector("#rep-chart-answered");
  const perAgent = await chartVsTable(page, "#rep-chart-answered", "agent", ["answered"]);
  const agentRows = (await tableCells(page, "agent", "answered")).length;
  check(perAgent.bars === new Set((await tableCells(page, "agent", "answered")).map(([a]) => a)).size && agentRows > 0,
    `one answered bar per agent: ${perAgent.bars} for ${agentRows} rows`);
  check(perAgent.mismatch.length === 0 && perAgent.chartSum.answered === 3, `answered per agent: ${JSON.stringify(perAgent)}`);
  const idle = await page.$eval("#rep-chart-states rect.bar[data-series='state_secs.idle'][data-x='1001'] title", (t) => t.textContent);
  const idleCell = (await tableCells(page, "agent", "state_secs.idle")).find(([a]) => a === "1001")?.[1];
  check(idleCell && idle.endsWith(`: ${idleCell}`), `1001's idle piece reads the table's ${idleCell}: ${idle}`);
  await shot(page, "reports-charts-agents");

  // Satisfaction: one stacked bar per agent, a piece per level (1001: one 非常满意, one 满意).
  await page.selectOption("#rep-family", "satisfaction");
  await page.click("#rep-run");
  await page.waitForSelector("#rep-chart-satisfaction");
  const levels = await chartVsTable(page, "#rep-chart-satisfaction", "agent",
    ["very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"]);
  check(levels.mismatch.length === 0, `satisfaction pieces read the table: ${levels.mismatch}`);
  check(levels.chartSum.very_satisfied === 1 && levels.chartSum.satisfied === 1 && levels.bars % 5 === 0 && levels.bars > 0,
    `satisfaction levels: ${JSON.stringify(levels)}`);

  // Traffic: three bars (inbound, outbound, answered) per day.
  await page.selectOption("#rep-family", "traffic");
  await page.click("#rep-run");
  await page.waitForFunction(() => document.querySelector("#rep-chart-daily .legend text")?.textContent === "呼入量");
  const traffic = await chartVsTable(page, "#rep-chart-daily", "date", ["inbound", "outbound", "answered"]);
  check(traffic.bars === 7 * 3 && traffic.mismatch.length === 0, `traffic bars: ${JSON.stringify(traffic)}`);
  check(traffic.chartSum.inbound === 5 && traffic.chartSum.answered === 3, `traffic totals: ${JSON.stringify(traffic)}`);

  // Per department: the demo has none, so every agent is in the unassigned bucket.
  await page.selectOption("#rep-family", "departments/daily");
  await page.click("#rep-run");
  await page.waitForSelector("#rep-chart-departments");
  const depts = await page.$$eval("#rep-chart-departments rect.bar[data-series='answered']", (rs) => rs.map((r) => r.querySelector("title").textContent));
  check(depts.length === 1 && depts[0] === "未分配部门 应答量: 3", `the unassigned department's bar: ${depts}`);
  check(await page.isVisible("select#rep-department"), "the department chooser shows for the department report");
  const deptHead = await heads();
  check(deptHead.includes("部门") && deptHead.includes("坐席数") && deptHead.includes("工时利用率"), `department headers: ${deptHead}`);

  // The toggle hides the charts (and the choice survives a run).
  await page.uncheck("#rep-chart-toggle");
  check(await page.isHidden("#rep-chart"), "the chart toggle hides the charts");
  await page.click("#rep-run");
  await page.waitForSelector("#rep-table th");
  check(await page.isHidden("#rep-chart"), "still hidden after a run");
  await page.check("#rep-chart-toggle");
  check(await page.isVisible("#rep-chart-departments"), "shown again");

  // Traffic is voice only: no channel select, no channel= in the request.
  await page.selectOption("#rep-family", "traffic");
  check(await page.isHidden("#rep-channel"), "no channel select for the traffic report");
  await page.click("#rep-run");
  await page.waitForFunction(() => document.querySelector("#rep-table th")?.dataset.column === "date" && document.querySelector("#rep-chart-daily"));
  await page.waitForFunction(() => document.querySelector("#rep-chart-daily .legend text")?.textContent === "呼入量");
  check(lastAsked().pathname === "/api/reports/traffic" && !lastAsked().searchParams.has("channel"), `traffic asked without a channel: ${lastAsked()}`);

  // Web chat only: the skill-group rows count the three chats, and the charts follow.
  await page.selectOption("#rep-family", "skill-groups/daily");
  check(await page.isVisible("#rep-channel"), "the channel select is back for the skill-group report");
  await page.selectOption("#rep-channel", "chat");
  await page.click("#rep-run");
  await page.waitForFunction(() => [...document.querySelectorAll("#rep-chart figcaption")].some((c) => c.textContent.endsWith("在线会话")));
  check(lastAsked().pathname === "/api/reports/skill-groups/daily" && lastAsked().searchParams.get("channel") === "chat",
    `the request carries channel=chat: ${lastAsked()}`);
  for (const fmt of ["csv", "xlsx"]) {
    const link = new URL(await page.getAttribute(`#rep-${fmt}`, "href"), URL_BASE);
    check(link.searchParams.get("channel") === "chat" && link.searchParams.get("format") === fmt, `the ${fmt} link carries channel=chat: ${link}`);
  }
  const chatDaily = await chartVsTable(page, "#rep-chart-daily", "date", ["inflow", "answered"]);
  check(chatDaily.mismatch.length === 0 && chatDaily.tableSum.inflow === 3 && chatDaily.chartSum.inflow === 3
    && chatDaily.tableSum.answered === 2 && chatDaily.chartSum.answered === 2, `chat inflow 3, answered 2: ${JSON.stringify(chatDaily)}`);
  const chatCsv = await page.evaluate(async () => (await fetch(document.querySelector("#rep-csv").href)).text());
  const support = chatCsv.replace(/^\uFEFF/, "").split("\n").filter((l) => l.includes(",support,"));
  const csvInflow = support.reduce((n, l) => n + Number(l.split(",")[2]), 0);
  check(support.length > 0 && csvInflow === 3, `the chat CSV counts the chats: ${support}`);
  result("chat_inflow", chatDaily.tableSum.inflow);

  // Agents, chat only: 1001's chat columns read the hand-worked figures.
  await page.selectOption("#rep-family", "agents/daily");
  check(await page.inputValue("#rep-channel") === "chat", "the channel stays chosen across families");
  await page.click("#rep-run");
  await page.waitForSelector("#rep-table th[data-column='first_response_avg_secs']");
  await page.waitForSelector("#rep-chart-sessions");
  check(lastAsked().pathname === "/api/reports/agents/daily" && lastAsked().searchParams.get("channel") === "chat",
    `the agent request carries channel=chat: ${lastAsked()}`);
  const agentHeads = await heads();
  for (const want of ["会话量", "平均首次响应时长", "30秒响应数", "30秒响应率", "平均回复时长"]) {
    check(agentHeads.includes(want), `chat header ${want} in ${agentHeads}`);
  }
  const picker = await page.$$eval("#rep-columns label", (ls) => ls.map((l) => l.textContent.trim()));
  check(picker.includes("会话量") && picker.includes("30秒响应率"), `the chat columns are in the picker: ${picker}`);
  const agentCell = async (key) => (await tableCells(page, "agent", key)).find(([a]) => a === "1001")?.[1];
  const firstTitle = await page.$eval("#rep-table table", (tb) => {
    const keys = [...tb.querySelectorAll("th")].map((th) => th.dataset.column);
    const tr = [...tb.querySelectorAll("tr")].find((r) => r.children[keys.indexOf("agent")]?.textContent === "1001");
    return ["first_response_avg_secs", "avg_reply_secs"].map((k) => tr?.children[keys.indexOf(k)]?.title);
  });
  const got = {
    sessions: await agentCell("sessions"), answered: await agentCell("answered"),
    first: await agentCell("first_response_avg_secs"), within: await agentCell("responded_30s"),
    rate: await agentCell("response_30s_rate"), reply: await agentCell("avg_reply_secs"), titles: firstTitle,
  };
  check(got.sessions === "2" && got.answered === "2" && got.within === "1" && got.rate === "50.0%",
    `1001's chat counts: ${JSON.stringify(got)}`);
  check(got.first === "0:00:26" && got.titles[0] === "26", `1001's first response (14 − 2 + 41 − 1) / 2 = 26 s: ${JSON.stringify(got)}`);
  check(got.titles[1] === "18.5", `1001's average reply (11 + 5 + 39.5) / 3 = 18.5 s: ${JSON.stringify(got)}`);
  const sessionsBars = await chartVsTable(page, "#rep-chart-sessions", "agent", ["sessions"]);
  check(sessionsBars.mismatch.length === 0 && sessionsBars.chartSum.sessions === 2, `sessions per agent: ${JSON.stringify(sessionsBars)}`);
  result("agent_1001_chat", `${got.sessions}/${got.first}/${got.rate}/${got.titles[1]}`);
  await shot(page, "reports-chat-agents");

  // Every channel: the skill-group inflow is the five calls and the three chats.
  await page.selectOption("#rep-family", "skill-groups/daily");
  await page.selectOption("#rep-channel", "all");
  await page.click("#rep-run");
  await page.waitForFunction(() => ![...document.querySelectorAll("#rep-chart figcaption")].some((c) => c.textContent.includes("·")) && document.querySelector("#rep-chart-daily"));
  check(lastAsked().searchParams.get("channel") === "all", `channel=all asked: ${lastAsked()}`);
  const all = await chartVsTable(page, "#rep-chart-daily", "date", ["inflow", "answered"]);
  check(all.tableSum.inflow === 8 && all.tableSum.answered === 5 && all.mismatch.length === 0, `all channels: ${JSON.stringify(all)}`);

  // An empty period: no chart, the table says so.
  await page.fill("#rep-from", "2001-01-01");
  await page.fill("#rep-to", "2001-01-02");
  await page.click("#rep-run");
  await page.waitForSelector("#rep-empty");
  check(await page.$$eval("#rep-chart svg", (s) => s.length) === 0, "no chart for an empty period");
  check(errors.length === 0, `no script errors: ${errors.join(" | ")}`);
});

/** The table's [x, text] cells of column `key` (by its data-column header), x from column `x`. */
async function tableCells(page, x, key) {
  return page.$$eval("#rep-table table", ([tb], [x, key]) => {
    const heads = [...tb.querySelectorAll("th")].map((th) => th.dataset.column);
    const ix = heads.indexOf(x), ik = heads.indexOf(key);
    return [...tb.querySelectorAll("tr")].slice(1).map((tr) => {
      const tds = tr.querySelectorAll("td");
      return [tds[ix]?.textContent, tds[ik]?.textContent];
    });
  }, [x, key]);
}

/** Compares a bar chart with the table: every bar's value (its tooltip's number) against the
 *  table's cells of that x summed over rows (several groups may share a day or hour). */
async function chartVsTable(page, chart, x, keys) {
  const bars = await page.$$eval(`${chart} rect.bar`, (rs) => rs.map((r) => ({
    series: r.dataset.series, x: r.dataset.x, title: r.querySelector("title")?.textContent ?? "",
  })));
  const mismatch = [];
  const tableSum = {}, chartSum = {};
  for (const key of keys) {
    const want = new Map();
    for (const [xv, text] of await tableCells(page, x, key)) want.set(xv, (want.get(xv) ?? 0) + Number(text));
    tableSum[key] = [...want.values()].reduce((a, b) => a + b, 0);
    chartSum[key] = 0;
    for (const b of bars.filter((b) => b.series === key)) {
      const shown = Number(b.title.split(": ").pop());
      chartSum[key] += shown;
      if (shown !== (want.get(b.x) ?? 0)) mismatch.push(`${key}@${b.x}: bar ${shown}, table ${want.get(b.x) ?? 0}`);
    }
  }
  return { bars: bars.length, mismatch, tableSum, chartSum };
}
