// Call records page (通话记录): the admin opens it after three carrier calls (two abandoned in
// the support queue, one answered by agent 1001), sees their rows under the seed's column
// names, narrows them by number, pages through them two at a time by "more", opens a row to
// see every field and its legs, and downloads the same selection as CSV whose first line is
// the zh-CN header row. Agent 1001 sees only the call it answered.
import { run, check, login, shot, result } from "./lib.mjs";

const CALLERS = ["13800000001", "13800000002", "13911112222"];

await run(async ({ page }) => {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.text().includes("Content Security Policy")) errors.push(m.text()); });
  await login(page, "admin", "admin");
  // From here on an API answer that is not 2xx fails the test.
  page.on("response", (r) => { if (r.url().includes("/api/") && r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
  await page.selectOption("#lang", "zh-CN");
  await page.click("#nav-calls");
  await page.waitForSelector("#calls tr.calls-row");
  await page.waitForSelector("select#calls-skill_group");
  const heads = await page.$$eval("#calls th", (ths) => ths.map((t) => t.textContent.trim()).filter(Boolean));
  for (const want of ["开始时间", "主叫号码", "被叫号码", "呼叫类型", "技能组", "坐席", "排队时长", "通话时长", "挂断原因"]) {
    check(heads.includes(want), `zh-CN header ${want} in ${heads}`);
  }
  const callers = () => page.$$eval("#calls tr.calls-row td[data-column=caller]", (tds) => tds.map((t) => t.textContent));
  let seen = await callers();
  for (const c of CALLERS) check(seen.includes(c), `the call from ${c} is listed: ${seen}`);
  const talk = await page.$$eval("#calls tr.calls-row td[data-column=talk_secs]", (tds) => tds.map((t) => t.textContent));
  check(talk.every((x) => /^\d+:\d\d:\d\d$/.test(x)), `talk time as h:mm:ss: ${talk}`);
  result("rows", seen.length);
  await shot(page, "calls-all");

  // Filter by number: only that caller's call.
  await page.fill("#calls-number", "13911112222");
  await page.click("#calls-run");
  await page.waitForFunction(() => {
    const cs = [...document.querySelectorAll("#calls tr.calls-row td[data-column=caller]")].map((t) => t.textContent);
    return cs.length === 1 && cs[0] === "13911112222";
  });
  // A prefix narrows to the two 138 callers.
  await page.fill("#calls-number", "138*");
  await page.click("#calls-run");
  await page.waitForFunction(() => document.querySelectorAll("#calls tr.calls-row").length === 2);
  seen = await callers();
  check(seen.every((c) => c.startsWith("138")), `prefix filter: ${seen}`);

  // Two per page: "more" follows the cursor until the list ends.
  await page.fill("#calls-number", "");
  await page.fill("#calls-per_page", "2");
  await page.click("#calls-run");
  await page.waitForFunction(() => document.querySelectorAll("#calls tr.calls-row").length === 2);
  check(await page.isVisible("#calls-more"), "a more button after a full page");
  await page.click("#calls-more");
  await page.waitForFunction(() => document.querySelectorAll("#calls tr.calls-row").length === 3);
  await page.waitForSelector("#calls-more", { state: "hidden" });
  seen = await callers();
  check(new Set(seen).size === 3 && CALLERS.every((c) => seen.includes(c)), `three distinct calls over two pages: ${seen}`);

  // A row opens to show every field and its legs.
  const answered = page.locator("#calls tr.calls-row", { has: page.locator("td[data-column=caller]", { hasText: "13911112222" }) });
  await answered.locator("button.calls-expand").click();
  await page.waitForSelector("tr.calls-detail:not([hidden]) .calls-fields");
  const fields = await page.$$eval("tr.calls-detail:not([hidden]) .calls-fields dt", (ds) => ds.map((d) => d.textContent));
  for (const want of ["通话ID", "坐席分机", "中继", "应答时间", "挂断方"]) check(fields.includes(want), `detail field ${want}: ${fields}`);
  const agentExt = await page.textContent("tr.calls-detail:not([hidden]) dd[data-field=agent_extension]");
  check(agentExt === "1001", `answered by 1001: ${agentExt}`);
  const legs = await page.$$eval("tr.calls-detail:not([hidden]) .calls-leg", (ls) => ls.length);
  check(legs >= 1, `the answered call shows its legs (${legs})`);
  await shot(page, "calls-detail");

  // The CSV link carries the same filters and downloads the zh-CN header row first.
  const href = await page.getAttribute("#calls-csv", "href");
  check(href.includes("format=csv") && href.includes("lang=zh-CN") && href.includes("from="), `CSV link: ${href}`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#calls-csv")]);
  const name = download.suggestedFilename();
  check(/^calls-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv$/.test(name), `file name ${name}`);
  const stream = await download.createReadStream();
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const text = Buffer.concat(chunks).toString("utf8").replace(/^\uFEFF/, "");
  const lines = text.trim().split("\n");
  check(lines[0] === "主叫号码,被叫号码,呼叫类型,技能组,坐席,开始时间,排队时长(秒),通话时长(秒),挂断原因", `CSV header: ${lines[0]}`);
  check(lines.length === 4, `three records in the CSV: ${lines.length - 1}`);
  result("csv_header", lines[0]);
  check(errors.length === 0, `no script errors or refused API calls: ${errors.join(" | ")}`);

  // An agent sees only the call they answered, and no refused API call on the way.
  const agentPage = await page.context().browser().newPage({ locale: "zh-CN" });
  agentPage.on("pageerror", (e) => errors.push(`agent: ${e.message}`));
  await login(agentPage, "agent1", "agent");
  agentPage.on("response", (r) => { if (r.url().includes("/api/") && r.status() >= 400) errors.push(`agent: ${r.status()} ${r.url()}`); });
  await agentPage.click("#nav-calls");
  await agentPage.waitForSelector("#calls tr.calls-row, #calls-empty");
  const mine = await agentPage.$$eval("#calls tr.calls-row td[data-column=caller]", (tds) => tds.map((t) => t.textContent));
  check(mine.length === 1 && mine[0] === "13911112222", `agent1 sees only the call they answered: ${mine}`);
  check(!(await agentPage.isVisible("select#calls-skill_group")), "no skill-group list for an agent");
  await shot(agentPage, "calls-agent");
  check(errors.length === 0, `no script errors or refused API calls: ${errors.join(" | ")}`);
});
