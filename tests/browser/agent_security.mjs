// Agent: a cookie-authenticated write without the CSRF header is refused (SPEC §12), the same
// write with it is accepted, and the audit page answers with the forbidden message.
import { run, check, login, shot, URL } from "./lib.mjs";

await run(async ({ page }) => {
  await login(page, "agent1", "agent");
  check(!(await page.isVisible("#nav-audit")), "an agent has no audit log in the navigation");

  const post = (withToken) => page.evaluate(async (withToken) => {
    const headers = { "Content-Type": "application/json" };
    if (withToken) {
      const s = await (await fetch("/api/session")).json();
      headers["X-CSRF-Token"] = s.csrf_token;
    }
    const r = await fetch("/api/agents/agent1/state", {
      method: "POST", headers, body: JSON.stringify({ state: "break", reason: "小休" }),
    });
    return { status: r.status, body: await r.json().catch(() => ({})) };
  }, withToken);
  const refused = await post(false);
  check(refused.status === 403 && refused.body.error === "csrf", `a POST without X-CSRF-Token: ${JSON.stringify(refused)}`);
  const accepted = await post(true);
  check(accepted.status === 200, `the same POST with the token: ${JSON.stringify(accepted)}`);

  await page.goto(URL + "/#/audit");
  await page.waitForSelector("#forbidden");
  const msg = (await page.textContent("#forbidden")).trim();
  check(msg === "无权访问此页面", `forbidden message: ${msg}`);
  check((await page.$("table#audit")) === null, "no audit table is rendered for an agent");
  await shot(page, "agent-audit-forbidden");
});
