// Phone bar (电话条) and the agent's endpoint (接听方式): the consult / complete / conference
// controls are there and disabled without a call; a bad mobile number is refused with the
// API's message and nothing changes; a good one is stored, survives a reload, and the admin's
// user list shows the agent answering on that mobile; the admin switches the agent back to
// the desk phone from the user list. After a reload the bar shows the agent's live state.
import { run, check, login, shot, result, URL } from "./lib.mjs";

const session = (page) => page.evaluate(async () => (await fetch("/api/session")).json());

await run(async ({ browser, page }) => {
  await login(page, "agent1", "agent");
  check(await page.isVisible("#nav-calls"), "an agent's navigation has the call records (own calls)");
  check(!(await page.isVisible("#nav-users")), "and no admin page");
  for (const id of ["consult", "complete-transfer", "conference", "hangup"]) {
    check(await page.isDisabled(`#${id}`), `#${id} is disabled without a call`);
  }
  check((await page.inputValue("#endpoint")) === "sip", "the agent starts on the desk phone");

  await page.selectOption("#endpoint", "mobile");
  await page.fill("#endpoint-mobile", "139-0000");
  await page.click("#endpoint-apply");
  await page.waitForFunction(() => document.querySelector("#state-error")?.textContent.trim() !== "");
  const refusal = (await page.textContent("#state-error")).trim();
  check(/mobile/.test(refusal), `the bad number is refused: ${refusal}`);
  let s = await session(page);
  check(s.endpoint === "sip" && !s.mobile, `nothing stored for the refused number: ${JSON.stringify(s)}`);

  await page.fill("#endpoint-mobile", "13900000000");
  await page.click("#endpoint-apply");
  await page.waitForFunction(async () => (await (await fetch("/api/session")).json()).endpoint === "mobile");
  s = await session(page);
  check(s.mobile === "13900000000", `the mobile is stored: ${JSON.stringify(s)}`);
  await page.click("#to-idle");
  await page.waitForFunction(() => document.querySelector("#agent-state")?.dataset.state === "idle");
  await page.goto(URL + "/#/workspace");
  await page.reload();
  await page.waitForSelector("#endpoint");
  const stateText = (await page.textContent("#agent-state")).trim();
  check(stateText === "空闲", `after a reload the bar shows the live state: ${stateText}`);
  check((await page.inputValue("#endpoint")) === "mobile", "after a reload the bar shows the mobile endpoint");
  check((await page.inputValue("#endpoint-mobile")) === "13900000000", "and the number");
  await shot(page, "agent-phonebar-mobile");

  const admin = await (await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 900 } })).newPage();
  await login(admin, "admin", "admin");
  await admin.click("#nav-users");
  await admin.waitForSelector("table#users");
  const agentRow = () => admin.locator("table#users tr").filter({ has: admin.locator("td:first-child", { hasText: /^agent1$/ }) });
  const row = agentRow();
  const shown = await row.textContent();
  check(shown.includes("手机 13900000000"), `the user list shows the mobile endpoint: ${shown}`);
  await row.locator("button.endpoint").click();
  await admin.waitForSelector("#endpoint-form");
  await admin.selectOption("#endpoint-form [name=endpoint]", "sip");
  await admin.click("#endpoint-save");
  await admin.waitForFunction(() => !document.querySelector("#endpoint-form"));
  const back = await agentRow().textContent();
  check(back.includes("话机 1001"), `the admin switched agent1 back to the desk phone: ${back}`);
  await shot(admin, "admin-users-endpoint");
  s = await session(page);
  check(s.endpoint === "sip" && s.mobile === "13900000000", `the agent's session agrees: ${JSON.stringify(s)}`);
  result("refusal", JSON.stringify(refusal));
});
