// CRM configuration pages and contact-plan reminders:
// admin — adds a select field to the customer record (a bad key is refused next to it first,
// nothing stored); adds a service category with a child in the tree and saves (the API returns
// the nested tree); creates a ticket type with three processing nodes and an SLA after a
// garbage and a negative SLA were each refused next to the SLA input with nothing changed;
// creates a trunk and a DID; creates two contact plans for agent1 through the API (one overdue,
// one due tomorrow).
// agent1 — sees one reminder with the count 1; opens it (the pop shows the customer with the
// new field); saves a plan due now from the pop (the count rises to 2 without waiting);
// marks the first done (the count drops to 1 and the API has it done).
// super (supervisor) — sees the ticket types read-only and no trunk page.
import { run, check, login, shot, result, URL } from "./lib.mjs";

/** GET an API path as the signed-in user. */
const get = (page, path) => page.evaluate(async (p) => (await fetch(p, { headers: { "X-Requested-With": "fetch" } })).json(), path);

/** POST JSON with the session's CSRF token. */
const post = (page, path, body) => page.evaluate(async ([p, b]) => {
  const s = await (await fetch("/api/session")).json();
  const r = await fetch(p, {
    method: "POST", body: JSON.stringify(b),
    headers: { "Content-Type": "application/json", "X-CSRF-Token": s.csrf_token, "X-Requested-With": "fetch" },
  });
  return { status: r.status, body: await r.json() };
}, [path, body]);

/** The error slot for an API field path (ids carry brackets and dots). */
const slot = (prefix, path) => `[id="${prefix}-error-${path}"]`;
const filled = (page, sel) => page.waitForFunction((s) => document.querySelector(s)?.textContent.trim() !== "", sel);

await run(async ({ page }) => {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.text().includes("Content Security Policy")) errors.push(m.text()); });
  await login(page, "admin", "admin");

  // 1. Customer fields (客户字段).
  await page.click("#nav-customer-fields");
  await page.waitForSelector("#cf-add");
  const before = (await get(page, "/api/customer-fields")).items;
  await page.click("#cf-add");
  const row = "#cf-rows tr:last-child";
  const i = before.length;
  await page.fill(`${row} [name=key]`, "Bad Key");
  await page.fill(`${row} [name=label_zh]`, "来源渠道");
  await page.fill(`${row} [name=label_en]`, "Channel");
  await page.selectOption(`${row} [name=type]`, "select");
  await page.fill(`${row} [name=options]`, "电话, 微信");
  await page.click("#cf-save");
  await filled(page, slot("cf", `fields[${i}].key`));
  const keyRefusal = (await page.textContent(slot("cf", `fields[${i}].key`))).trim();
  check((await get(page, "/api/customer-fields")).items.length === before.length, "a refused field list stores nothing");
  await page.fill(`${row} [name=key]`, "channel");
  await page.click("#cf-save");
  await page.waitForSelector("#cf-editor[data-saved]");
  const fields = (await get(page, "/api/customer-fields")).items;
  const channel = fields.find((f) => f.key === "channel");
  check(channel && channel.type === "select" && channel.options.join("|") === "电话|微信" && channel.label_zh === "来源渠道",
    `the new customer field is stored: ${JSON.stringify(fields)}`);
  check(fields.length === before.length + 1 && channel.order === before.length, "after the existing ones");
  check((await page.textContent(slot("cf", `fields[${i}].key`))).trim() === "", "the refusal is cleared on success");
  // Reorder: the new field moves up one place and is stored there.
  await page.evaluate(() => delete document.querySelector("#cf-editor").dataset.saved);
  await page.click("#cf-rows tr:last-child .up");
  await page.click("#cf-save");
  await page.waitForSelector("#cf-editor[data-saved]");
  const moved = (await get(page, "/api/customer-fields")).items.map((f) => f.key);
  check(moved.indexOf("channel") === before.length - 1 && moved.length === before.length + 1, `moved up: ${moved}`);
  await shot(page, "crm-customer-fields");
  result("customer_field_refusal", JSON.stringify(keyRefusal));

  // 2. Service summary: a category with a child, saved as a tree.
  await page.click("#nav-summary-config");
  await page.waitForSelector("#cat-add");
  await page.click("#cat-add");
  const root = "#cat-tree > li:last-child";
  await page.fill(`${root} > .cat-row [name=name]`, "售后服务");
  await page.click(`${root} > .cat-row .add-child`);
  await page.fill(`${root} > ul > li:last-child > .cat-row [name=name]`, "退换货");
  check(await page.getAttribute(`${root} > ul > li:last-child`, "data-depth") === "2", "the child is drawn nested");
  await page.click("#cat-save");
  await page.waitForSelector("#cat-editor[data-saved]");
  const tree = (await get(page, "/api/summary-categories")).items;
  const after = tree.find((n) => n.name === "售后服务");
  check(after && after.id > 0 && after.children.length === 1 && after.children[0].name === "退换货" && after.children[0].id > 0,
    `the API returns the nested category: ${JSON.stringify(tree)}`);
  check(await page.textContent(`${root} > .cat-row .cat-id`) === `#${after.id}`, "the saved node shows its id");
  await shot(page, "crm-summary-config");

  // 3. Ticket types: three processing nodes and an SLA; bad SLAs refused next to the field.
  await page.click("#nav-ticket-types");
  await page.waitForSelector("#tt-add");
  const typesBefore = (await get(page, "/api/ticket-types")).items;
  await page.click("#tt-add");
  const box = "#tt-list > fieldset:last-child";
  const n = typesBefore.length;
  await page.fill(`${box} [name=name]`, "售后");
  const nodes = await page.$$(`${box} .tt-nodes [name=node]`);
  check(nodes.length === 3, `a new type starts with three nodes: ${nodes.length}`);
  for (const [k, name] of ["一级处理", "二级处理", "三级处理"].entries()) await nodes[k].fill(name);
  const sla = slot("tt", `types[${n}].sla_hours`);
  for (const bad of ["abc", "-5"]) {
    await page.fill(`${box} [name=sla_hours]`, bad);
    await page.click("#tt-save");
    await filled(page, sla);
    const shown = (await page.textContent(sla)).trim();
    const now = (await get(page, "/api/ticket-types")).items;
    check(JSON.stringify(now) === JSON.stringify(typesBefore), `SLA ${bad} changed nothing: ${JSON.stringify(now)}`);
    result(`sla_refusal.${bad}`, JSON.stringify(shown));
    await shot(page, `crm-ticket-type-sla-refused${bad === "abc" ? "-garbage" : "-negative"}`);
  }
  await page.fill(`${box} [name=sla_hours]`, "48");
  await page.click("#tt-save");
  await page.waitForSelector("#tt-list[data-saved]");
  const types = (await get(page, "/api/ticket-types")).items;
  const made = types.find((x) => x.name === "售后");
  check(made && made.sla_hours === 48 && made.nodes.join("|") === "一级处理|二级处理|三级处理" && types.length === n + 1,
    `the ticket type is stored: ${JSON.stringify(types)}`);
  check((await page.textContent(sla)).trim() === "", "the SLA refusal is cleared on success");
  await shot(page, "crm-ticket-types");

  // 4. Trunks and DIDs.
  await page.click("#nav-trunks");
  await page.waitForSelector("#trunk-new");
  await page.click("#trunk-new");
  await page.fill("#trunk-form [name=name]", "carrier2");
  await page.fill("#trunk-form [name=host]", "192.0.2.10");
  await page.fill("#trunk-form [name=port]", "0");
  await page.click("#trunk-save");
  await filled(page, "#trunk-error-port");
  result("trunk_port_refusal", JSON.stringify((await page.textContent("#trunk-error-port")).trim()));
  check(!(await get(page, "/api/trunks")).items.some((x) => x.name === "carrier2"), "a refused trunk is not stored");
  await page.fill("#trunk-form [name=port]", "5062");
  await page.click("#trunk-save");
  await page.waitForSelector('#trunks td:text-is("carrier2")');
  await page.waitForSelector("#did-new");
  await page.click("#did-new");
  await page.fill("#did-form [name=number]", "4002");
  await page.selectOption("#did-form [name=target_kind]", "extension");
  await page.fill("#did-form [name=target]", "1001");
  await page.click("#did-save");
  await page.waitForSelector('#dids td:text-is("4002")');
  const trunk = (await get(page, "/api/trunks")).items.find((x) => x.name === "carrier2");
  check(trunk && trunk.host === "192.0.2.10" && trunk.port === 5062, `the trunk is stored: ${JSON.stringify(trunk)}`);
  const did = (await get(page, "/api/dids")).items.find((x) => x.number === "4002");
  check(did && did.target_kind === "extension" && did.target === "1001", `the DID is stored: ${JSON.stringify(did)}`);
  await shot(page, "crm-trunks");

  // Every label of the four pages exists in English too (no raw dictionary key on screen).
  await page.selectOption("#lang", "en");
  for (const [id, title] of [["customer-fields", "Customer fields"], ["summary-config", "Service summary"],
    ["ticket-types", "Ticket types"], ["trunks", "Trunks / DIDs"]]) {
    await page.click(`#nav-${id}`);
    await page.waitForFunction((t) => document.querySelector("#view h1")?.textContent === t, title);
    await page.waitForLoadState("networkidle");
    const raw = await page.evaluate(() => [...document.querySelectorAll("#view *")]
      .flatMap((e) => [e.childNodes.length === 1 && e.firstChild.nodeType === 3 ? e.textContent : "", e.getAttribute("aria-label") ?? "", e.getAttribute("placeholder") ?? ""])
      .filter((x) => /^(fd|cat|sf|tt|trunk|did|nav)\.[a-z_.-]+$/.test(x)));
    check(raw.length === 0, `page ${id} in English shows no raw keys: ${raw}`);
  }
  await shot(page, "crm-trunks-en");
  await page.selectOption("#lang", "zh-CN");

  // 5. Two contact plans for agent1: one overdue, one due tomorrow (not yet a reminder).
  const zhang = (await get(page, "/api/customers?phone=13800138000")).items[0];
  const due = await post(page, "/api/contact-plans", { customer_id: zhang.id, number: "13800138000", due_at: Date.now() - 60_000, note: "回访满意度", owner: "agent1" });
  check(due.status === 201, `overdue plan created: ${JSON.stringify(due)}`);
  const later = await post(page, "/api/contact-plans", { number: "13800138000", due_at: Date.now() + 86_400_000, note: "明天再联系", owner: "agent1" });
  check(later.status === 201, `later plan created: ${JSON.stringify(later)}`);
  check(errors.length === 0, `no script errors on the admin pages: ${errors.join(" | ")}`);

  // Agent: the reminder, the pop, a plan saved from the pop, done.
  await page.click("#logout");
  await page.waitForSelector("#login:not([hidden])");
  await login(page, "agent1", "agent");
  await page.waitForSelector('#reminder-count[data-count="1"]');
  const items = await page.$$eval("#reminder-list li.reminder", (ls) => ls.map((l) => ({ id: l.dataset.id, overdue: l.classList.contains("overdue"), text: l.textContent })));
  check(items.length === 1 && items[0].id === String(due.body.id) && items[0].overdue, `one overdue reminder: ${JSON.stringify(items)}`);
  check(items[0].text.includes("张伟") && items[0].text.includes("回访满意度"), `it names the customer and the note: ${items[0].text}`);
  await shot(page, "crm-agent-reminder");
  await page.click("#reminder-list li.reminder .open-plan");
  await page.waitForSelector("#screenpop:not([hidden]) #pop-customer-name");
  check((await page.textContent("#pop-customer-name")).trim() === "张伟", "the reminder opens the customer");
  check((await page.textContent("#pop-customer")).includes("来源渠道"), "the customer view lists the new field");
  check(await page.isHidden("#summary-form") && await page.isHidden("#pop-call-id"), "no call rows or call summary without a call");
  await shot(page, "crm-agent-reminder-open");

  // A plan saved from the pop that is due now shows up at once.
  const nowLocal = await page.evaluate(() => {
    const d = new Date(Date.now() - 60_000);
    return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  });
  await page.fill("#plan-due", nowLocal);
  await page.fill("#plan-note", "再次确认");
  await page.click("#plan-save");
  await page.waitForSelector("#plan-status[data-id]");
  await page.waitForSelector('#reminder-count[data-count="2"]', { timeout: 5_000 });

  await page.click(`#reminder-list li.reminder[data-id="${due.body.id}"] .plan-done`);
  await page.waitForSelector('#reminder-count[data-count="1"]', { timeout: 5_000 });
  check((await page.$(`#reminder-list li.reminder[data-id="${due.body.id}"]`)) === null, "the done plan left the list");
  const plan = await get(page, `/api/contact-plans/${due.body.id}`);
  check(plan.done === true && plan.done_at_ms > 0, `the plan is done in the API: ${JSON.stringify(plan)}`);
  await shot(page, "crm-agent-reminder-done");
  check(errors.length === 0, `no script errors: ${errors.join(" | ")}`);
  result("reminders", "1 -> 2 -> 1");

  // A supervisor reads the ticket types but has no editing controls and no trunk page.
  await page.click("#logout");
  await page.waitForSelector("#login:not([hidden])");
  await login(page, "super", "super");
  check(!(await page.isVisible("#nav-trunks")), "no trunk page for a supervisor");
  await page.click("#nav-ticket-types");
  await page.waitForSelector("#tt-list fieldset");
  check((await page.$("#tt-save")) === null && (await page.$("#tt-add")) === null, "no save or add for a supervisor");
  check(await page.$$eval("#tt-list input", (is) => is.length > 0 && is.every((i) => i.disabled)), "the inputs are read-only");
  check(errors.length === 0, `no script errors for the supervisor: ${errors.join(" | ")}`);
});
