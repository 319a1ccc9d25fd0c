// Agent screen pop (来电弹屏): agent1 goes on a break and back to idle with the phone bar, then
// signals READY; tests/browser.rs places a carrier call from 13800138000 (the demo's 张伟) to
// DID 4001, which rings 1001. The pop must show the customer within 1 s of the ring event;
// a service summary, a ticket and a contact plan are saved from it.
import { run, check, login, loadTime, shot, result, ready } from "./lib.mjs";

await run(async ({ page }) => {
  await login(page, "agent1", "agent");
  result("page_load_ms.agent_workspace", (await loadTime(page, "#/workspace")).toFixed(1));
  await page.waitForSelector("body[data-live=open]");
  await page.waitForSelector("#phonebar #to-idle");

  await page.selectOption("#break-reason", "用餐");
  await page.click("#to-break");
  await page.waitForSelector("#agent-state[data-state=break]");
  await page.click("#to-idle");
  await page.waitForSelector("#agent-state[data-state=idle]");
  await shot(page, "agent-workspace");

  ready("ring");
  await page.waitForSelector("#screenpop:not([hidden]) #pop-customer-name", { timeout: 30_000 });
  const pop = await page.$eval("#screenpop", (e) => ({ ...e.dataset }));
  const name = (await page.textContent("#pop-customer-name")).trim();
  const caller = (await page.textContent("#pop-caller")).trim();
  const location = (await page.textContent("#pop-location")).trim();
  check(name === "张伟", `customer name in the pop: ${name}`);
  check(caller === "13800138000", `caller in the pop: ${caller}`);
  check(location.includes("中国移动"), `number location in the pop: ${location}`);
  const latency = Number(pop.renderedAt) - Number(pop.eventAt);
  const delivery = Number(pop.receivedAt) - Number(pop.eventAt);
  result("screen_pop_ms", latency);
  result("sse_delivery_ms", delivery);
  result("call_id", pop.callId);
  check(latency >= 0 && latency < 1000, `the pop showed the customer ${latency} ms after the ring event (limit 1000)`);
  await page.waitForSelector("#agent-state[data-state=ringing], #agent-state[data-state=talking]");
  check((await page.textContent("#call-id")).trim() === pop.callId, "the phone bar acts on the ringing call");

  // Service summary (服务小结): a category of the tree and the admin-defined field.
  await page.selectOption("#sum-category", "2");
  await page.selectOption("#sum-resolved", "已解决");
  await page.fill("#sum-note", "询问产品价格");
  await page.click("#summary-save");
  await page.waitForSelector("#summary-status[data-id]");
  result("summary_id", await page.getAttribute("#summary-status", "data-id"));

  // Ticket prefilled with the customer.
  check((await page.$("#tk-customer")) !== null, "the ticket form names the customer");
  check((await page.inputValue("#tk-title")).includes("张伟"), "the ticket title is prefilled");
  await page.fill("#tk-description", "客户要求回电");
  await page.click("#ticket-save");
  await page.waitForSelector("#ticket-status[data-id]");
  result("ticket_id", await page.getAttribute("#ticket-status", "data-id"));

  // Contact plan (联系计划) for the calling number.
  check(await page.inputValue("#plan-number") === "13800138000", "the plan is prefilled with the number");
  await page.fill("#plan-note", "明天回访");
  await page.click("#plan-save");
  await page.waitForSelector("#plan-status[data-id]");
  result("plan_id", await page.getAttribute("#plan-status", "data-id"));

  // The timeline shows what was just created.
  await page.waitForFunction(() => [...document.querySelectorAll("#pop-timeline li")].some((li) => li.textContent.includes("工单")));
  await shot(page, "agent-screenpop");

  // The caller hangs up; the agent leaves wrap-up (if the group has one) with the phone bar.
  await page.waitForSelector("#agent-state[data-state=idle], #agent-state[data-state=wrap-up]", { timeout: 30_000 });
  if (await page.getAttribute("#agent-state", "data-state") === "wrap-up") {
    await page.click("#to-idle");
    await page.waitForSelector("#agent-state[data-state=idle]");
  }
  check((await page.textContent("#call-id")).trim() !== pop.callId, "the phone bar lets go of the ended call");

  // An unknown number: the pop offers a new-customer form prefilled with it.
  ready("ring2");
  await page.waitForSelector(`#screenpop:not([hidden]) #pop-unknown`, { timeout: 30_000 });
  const second = await page.$eval("#screenpop", (e) => ({ ...e.dataset }));
  check(second.callId !== pop.callId, "the pop moved to the new call");
  result("screen_pop_unknown_ms", Number(second.renderedAt) - Number(second.eventAt));
  check(await page.inputValue("#cust-phones") === "13655501234", `new-customer form prefilled: ${await page.inputValue("#cust-phones")}`);
  await page.fill("#cust-name", "王芳");
  await page.selectOption("#cust-level", "银卡");
  await page.fill("#cust-city", "上海");
  await shot(page, "agent-screenpop-new-customer");
  await page.click("#cust-save");
  await page.waitForSelector("#pop-customer-name");
  check((await page.textContent("#pop-customer-name")).trim() === "王芳", "the saved customer is shown");
  check((await page.$("#tk-customer")) !== null, "the ticket form now names the new customer");
});
