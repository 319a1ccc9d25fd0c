// Admin: departments (部门) through the panel. A department is created in the departments
// form (a bad key is refused next to its field), agent1 is put in it with the users page's
// department select, the departments list then counts one member, and deleting it is refused
// with the API's message naming agent1.
import { run, check, login, shot, result } from "./lib.mjs";

await run(async ({ page }) => {
  const errors = [];
  await login(page, "admin", "admin");
  page.on("pageerror", (e) => errors.push(e.message));
  await page.click("#nav-departments");
  await page.waitForSelector("#department-new");
  await page.click("#department-new");
  await page.waitForSelector("#department-form");
  await page.fill("#department-form [name=name]", "bad key");
  await page.fill("#department-form [name=display_name]", "东区");
  await page.click("#department-save");
  await page.waitForFunction(() => document.querySelector("#department-error-name")?.textContent.trim() !== "");
  check((await page.textContent("#department-error-name")).trim().length > 0, "a bad key is refused next to its field");
  await page.fill("#department-form [name=name]", "east");
  await page.click("#department-save");
  await page.waitForSelector('#departments td:text("east")');

  await page.click("#nav-users");
  await page.waitForSelector('#users button.edit[data-key="agent1"]');
  await page.click('#users button.edit[data-key="agent1"]');
  await page.waitForSelector("#user-form [name=department]");
  await page.selectOption("#user-form [name=department]", "east");
  await page.click("#user-save");
  await page.waitForSelector('#users td:text("east")');
  const u = await page.evaluate(async () => (await fetch("/api/users/agent1", { headers: { "X-Requested-With": "fetch" } })).json());
  check(u.department === "east", `agent1 is in east: ${JSON.stringify(u)}`);
  check(u.extension === "1001" && u.role === "agent", `the rest of agent1 is kept: ${JSON.stringify(u)}`);

  await page.click("#nav-departments");
  await page.waitForSelector('#departments td:text("east")');
  const members = await page.$eval("#departments tr:nth-child(2) td:nth-child(3)", (td) => td.textContent);
  check(members === "1", `the list counts one member: ${members}`);
  await page.click('#departments button.delete[data-key="east"]');
  await page.waitForFunction(() => document.querySelector("#department-list-error")?.textContent.includes("agent1"));
  await shot(page, "admin-departments");
  check(errors.length === 0, `no script errors: ${errors.join(" | ")}`);
  result("members", members);
});
