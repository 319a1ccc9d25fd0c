// Admin: every page of the navigation renders without a script error, a refused API call or a
// Content-Security-Policy violation (screenshot of each), and
// a skill group is created through the 技能组 form: a bad queue number is refused next to its
// field, then the group is saved with a member and listed, and the API returns it.
import { run, check, login, shot, result, URL } from "./lib.mjs";

await run(async ({ page }) => {
  const errors = [];
  await login(page, "admin", "admin");
  // From here on: uncaught script errors, and API answers that are not 2xx (a page asking the
  // API for something it may not have, or with a wrong path), fail the test.
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.text().includes("Content Security Policy")) errors.push(m.text()); });
  page.on("response", (r) => {
    if (r.url().includes("/api/") && r.status() >= 400 && !r.url().includes("/api/skill-groups/billing")) {
      errors.push(`${r.status()} ${r.url()}`);
    }
  });
  const ids = await page.$$eval("#nav a", (as) => as.map((a) => a.id.replace(/^nav-/, "")));
  check(ids.length >= 8, `the admin navigation lists the pages: ${ids}`);
  for (const id of ids) {
    await page.click(`#nav-${id}`);
    await page.waitForSelector("#view h1");
    await page.waitForLoadState("networkidle");
    await shot(page, `admin-page-${id}`);
    check(errors.length === 0, `page ${id} ran without script errors: ${errors.join(" | ")}`);
  }
  result("pages_visited", ids.join(","));

  // Create a skill group in the form.
  await page.click("#nav-groups");
  await page.waitForSelector("#group-new");
  await page.click("#group-new");
  await page.waitForSelector("#group-form");
  await page.fill("#group-form [name=name]", "billing");
  await page.fill("#group-form [name=number]", "6x");
  await page.selectOption("#group-form [name=strategy]", "round-robin");
  await page.check("#group-form [name=survey]");
  await page.click("#group-add-member");
  await page.fill("#group-members tr.member [name=extension]", "1005");
  await page.click("#group-save");
  await page.waitForFunction(() => document.querySelector("#group-error-number")?.textContent.trim() !== "");
  const refusal = (await page.textContent("#group-error-number")).trim();
  check(refusal.length > 0, "the bad queue number is refused next to its field");
  let r = await page.evaluate(async () => (await fetch("/api/skill-groups", { headers: { "X-Requested-With": "fetch" } })).json());
  check(!r.items.some((g) => g.name === "billing"), "nothing was saved for the refused form");
  await page.fill("#group-form [name=number]", "6002");
  await page.click("#group-save");
  await page.waitForSelector('#groups td:text("billing")');
  r = await page.evaluate(async () => (await fetch("/api/skill-groups", { headers: { "X-Requested-With": "fetch" } })).json());
  const g = r.items.find((x) => x.name === "billing");
  check(g && g.number === "6002" && g.strategy === "round-robin" && g.survey === true, `the group is stored: ${JSON.stringify(g)}`);
  check(g.members.length === 1 && g.members[0].extension === "1005", `with its member: ${JSON.stringify(g?.members)}`);
  await shot(page, "admin-group-created");
  check(errors.length === 0, `no script errors: ${errors.join(" | ")}`);
  result("group_refusal", JSON.stringify(refusal));
});
