// Admin: the navigation shows the admin pages, and switching the language relabels the panel
// (zh-CN ↔ en). Screenshots of the login page, the workspace and the audit log.
import { run, check, login, loadTime, shot, result, URL } from "./lib.mjs";

await run(async ({ page }) => {
  await page.goto(URL + "/");
  await page.waitForSelector("#login:not([hidden])");
  await shot(page, "login");
  await login(page, "admin", "admin");
  check(await page.isVisible("#nav-audit"), "the admin sees the audit log (客服日志) in the navigation");
  check(await page.isVisible("#nav-workspace"), "the admin sees the workspace in the navigation");

  const text = (sel) => page.textContent(sel).then((s) => s.trim());
  await page.selectOption("#lang", "zh-CN");
  check(await text("#nav-audit") === "客服日志", `zh-CN navigation label: ${await text("#nav-audit")}`);
  check(await text("#logout") === "退出", `zh-CN sign-out label: ${await text("#logout")}`);
  check(await page.getAttribute("html", "lang") === "zh-CN", "html lang follows the switch");
  await page.selectOption("#lang", "en");
  check(await text("#nav-audit") === "Audit log", `en navigation label: ${await text("#nav-audit")}`);
  check(await text("#logout") === "Sign out", `en sign-out label: ${await text("#logout")}`);
  check(await text("#view h1") === "Agent workspace", `en page title: ${await text("#view h1")}`);
  check(await text("#to-idle") === "Idle", `en phone-bar label: ${await text("#to-idle")}`);
  await shot(page, "admin-workspace-en");
  await page.selectOption("#lang", "zh-CN");
  check(await text("#view h1") === "坐席工作台", `back to zh-CN: ${await text("#view h1")}`);
  check(await text("#to-idle") === "空闲", `zh-CN phone-bar label: ${await text("#to-idle")}`);
  await shot(page, "admin-workspace");

  await page.click("#nav-audit");
  await page.waitForSelector("table#audit");
  await shot(page, "admin-audit");

  result("page_load_ms.admin_workspace", (await loadTime(page, "#/workspace")).toFixed(1));
  result("page_load_ms.admin_audit", (await loadTime(page, "#/audit")).toFixed(1));
});
