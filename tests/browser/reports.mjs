// Reports page (数据统计): the admin picks "last 7 days" and reads the skill-group table under
// the seeds' Chinese column names (流入量, 接通率 …); after switching the panel to English the
// same report reads Inflow, Connect rate …; the CSV download's header row follows the language.
// The skill group is chosen from a list filled from /api/skill-groups, and an empty period
// says so.
import { run, check, login, shot, result } from "./lib.mjs";

await run(async ({ page }) => {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await login(page, "admin", "admin");
  await page.selectOption("#lang", "zh-CN");
  await page.click("#nav-reports");
  await page.waitForSelector("#rep-preset-7d");
  await page.waitForSelector("select#rep-group");
  const groups = await page.$$eval("select#rep-group option", (os) => os.map((o) => o.value));
  check(groups[0] === "" && groups.length >= 2, `skill groups to choose from: ${groups}`);

  await page.click("#rep-preset-7d");
  await page.waitForSelector("#rep-table th");
  const [from, to] = [await page.inputValue("#rep-from"), await page.inputValue("#rep-to")];
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000;
  check(days === 6, `last 7 days spans ${from}..${to}`);
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
  await shot(page, "reports-zh");

  // The language switch re-renders the page, which runs the same report again in English.
  await page.selectOption("#lang", "en");
  await page.waitForFunction(() => [...document.querySelectorAll("#rep-table th")].some((t) => t.textContent === "Inflow"));
  th = await heads();
  for (const want of ["Date", "Skill group", "Inflow", "Answered", "Connect rate", "Lost", "Transfer-to-agent failures"]) {
    check(th.includes(want), `en header ${want} in ${th}`);
  }
  check(await page.inputValue("#rep-from") === from, "the period survives the switch");
  await shot(page, "reports-en");

  const href = await page.getAttribute("#rep-csv", "href");
  check(href.includes("lang=en"), `the CSV link carries the language: ${href}`);
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
  check(errors.length === 0, `no script errors: ${errors.join(" | ")}`);
});
