// Admin, IVR pages: (b) a WAV made here is uploaded in the voice library (自定义语音库), listed as
// pending, approved with a comment and listed as approved (a non-WAV is refused next to the file
// input); (a) a flow play → menu (key 1 → queue, fallback → hang-up) is built in the IVR flow
// editor (a new flow named like the demo's `main` is refused first), saved and read back from the
// API node by node; a menu key pointing nowhere is refused next to that key and the stored flow
// does not change, then the fixed flow is saved as version 2; (c) a holiday (特殊时间IVR) with its
// dates reversed is refused next to its end date and nothing changes, then it is saved with
// changed working hours and read back; a scheduled flow's deletion is refused on the list.
import { run, check, login, shot, result } from "./lib.mjs";

/** A 16-bit mono PCM WAV of `ms` milliseconds of a `hz` tone at `rate` Hz (RIFF, WAVE fmt/data). */
function wav(ms = 600, hz = 440, rate = 8000) {
  const n = Math.round((rate * ms) / 1000);
  const b = Buffer.alloc(44 + n * 2);
  b.write("RIFF", 0, "ascii");
  b.writeUInt32LE(36 + n * 2, 4);
  b.write("WAVE", 8, "ascii");
  b.write("fmt ", 12, "ascii");
  b.writeUInt32LE(16, 16); // fmt chunk size
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28); // byte rate
  b.writeUInt16LE(2, 32); // block align
  b.writeUInt16LE(16, 34); // bits per sample
  b.write("data", 36, "ascii");
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  return b;
}

await run(async ({ page }) => {
  const errors = [];
  await login(page, "admin", "admin");
  // Refusals the test provokes on purpose; any other API error, script error or CSP violation fails.
  const expected = [["POST", "/api/prompts", 400], ["PUT", "/api/ivr-flows/hotline", 400], ["PUT", "/api/ivr-schedule", 400], ["DELETE", "/api/ivr-flows/main", 409]];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.text().includes("Content Security Policy")) errors.push(m.text()); });
  page.on("response", (r) => {
    const u = new globalThis.URL(r.url());
    if (!u.pathname.startsWith("/api/") || r.status() < 400) return;
    const method = r.request().method();
    if (!expected.some(([m, p, s]) => m === method && p === u.pathname && s === r.status())) errors.push(`${r.status()} ${method} ${u.pathname}`);
  });
  const getJson = (path) => page.evaluate(async (p) => (await fetch(p, { headers: { "X-Requested-With": "fetch" } })).json(), path);
  const text = async (sel) => ((await page.textContent(sel)) ?? "").trim();
  const filled = (sel) => page.waitForFunction((s) => (document.querySelector(s)?.textContent ?? "").trim() !== "", sel);

  // (b) Voice library: refuse a non-WAV, upload a WAV, see it pending, approve it.
  await page.click("#nav-voices");
  await page.waitForSelector("#voice-upload");
  await page.fill("#voice-upload [name=name]", "not-audio");
  await page.setInputFiles("#voice-upload [name=file]", { name: "notes.wav", mimeType: "audio/wav", buffer: Buffer.from("this is not a RIFF file") });
  await page.click("#voice-upload-save");
  await filled("#voice-error-file");
  const fileRefusal = await text("#voice-error-file");
  let prompts = await getJson("/api/prompts");
  check(!prompts.items.some((p) => p.name === "not-audio"), "the refused file left no prompt");

  await page.fill("#voice-upload [name=name]", "欢迎语");
  await page.setInputFiles("#voice-upload [name=file]", { name: "welcome.wav", mimeType: "audio/wav", buffer: wav() });
  await page.click("#voice-upload-save");
  await page.waitForSelector('#voices tr[data-status="pending"] .voice-name:text("欢迎语")');
  prompts = await getJson("/api/prompts");
  const uploaded = prompts.items.find((p) => p.name === "欢迎语");
  check(uploaded && uploaded.status === "pending" && uploaded.source === "upload", `stored as pending: ${JSON.stringify(uploaded)}`);
  const row = `#voices tr[data-id="${uploaded.id}"]`;
  check(await text(`${row} .voice-status`) === "待审核", "the list says 待审核");
  check(await page.getAttribute(`${row} audio`, "src") === `/api/prompts/${uploaded.id}/audio`, "the player points at the prompt's audio");
  const audio = await page.evaluate(async (u) => { const r = await fetch(u); return { status: r.status, type: r.headers.get("content-type") }; }, `/api/prompts/${uploaded.id}/audio`);
  check(audio.status === 200 && audio.type.startsWith("audio/wav"), `the audio plays: ${JSON.stringify(audio)}`);
  await shot(page, "ivr-voice-pending");
  await page.fill(`${row} .review-reason`, "音质清晰");
  await page.click(`${row} .approve`);
  await page.waitForSelector(`#voices tr[data-id="${uploaded.id}"][data-status="approved"]`);
  check(await text(`#voices tr[data-id="${uploaded.id}"] .voice-status`) === "审核通过", "the list says 审核通过");
  prompts = await getJson("/api/prompts");
  const approved = prompts.items.find((p) => p.id === uploaded.id);
  check(approved.status === "approved" && approved.reviewed_by === "admin" && approved.reason === "音质清晰", `approved with the comment: ${JSON.stringify(approved)}`);
  await shot(page, "ivr-voice-approved");

  // (a) IVR flow editor: play → menu (1 → queue, fallback → hang-up).
  await page.click("#nav-ivr");
  await page.waitForSelector("#ivr-new");
  await page.click("#ivr-new");
  // The demo's flow is called main: a new flow of that name is refused, not overwritten.
  await page.fill("#ivr-name", "main");
  await page.click("#ivr-save");
  await filled("#ivr-error-name");
  await page.fill("#ivr-name", "hotline");
  for (const [id, type] of [["welcome", "play"], ["menu", "menu"], ["sales", "transfer"], ["bye", "hangup"]]) {
    await page.fill("#ivr-new-id", id);
    await page.selectOption("#ivr-new-type", type);
    await page.click("#ivr-add-node");
    await page.waitForSelector(`section.ivr-node[data-node="${id}"]`);
  }
  check(await page.inputValue("#ivr-entry") === "welcome", "the first node is the start node");
  const card = (id) => `section.ivr-node[data-node="${id}"]`;
  await page.selectOption(`${card("welcome")} select[name=prompt]`, uploaded.id);
  await page.selectOption(`${card("welcome")} select[name=next]`, "menu");
  await page.selectOption(`${card("menu")} select[name=prompt]`, uploaded.id);
  await page.click(`${card("menu")} .add-choice`);
  await page.selectOption(`${card("menu")} tr.choice select[name=target]`, "sales");
  await page.selectOption(`${card("menu")} select[name=fallback]`, "bye");
  await page.selectOption(`${card("sales")} select[name=target_kind]`, "group");
  await page.fill(`${card("sales")} input[name=target_value]`, "support");
  check(await page.locator("#ivr-graph g.ivr-box").count() === 4, "the overview draws the four nodes");
  check(await page.locator("#ivr-graph line.ivr-edge").count() === 3, "and the three edges");
  await page.click("#ivr-save");
  await page.waitForSelector('#ivr-form[data-saved="hotline"]');
  let flow = await getJson("/api/ivr-flows/hotline");
  const want = {
    welcome: { id: "welcome", type: "play", prompt: uploaded.id, barge_in: false, next: "menu" },
    menu: { id: "menu", type: "menu", prompt: uploaded.id, choices: { 1: "sales" }, fallback: "bye", retries: 2, timeout_ms: 5000, invalid_prompt: null, timeout_prompt: null },
    sales: { id: "sales", type: "transfer", target: { group: "support" } },
    bye: { id: "bye", type: "hangup" },
  };
  check(flow.name === "hotline" && flow.entry === "welcome", `stored name and start: ${JSON.stringify(flow)}`);
  check(Object.keys(flow.nodes).sort().join() === "bye,menu,sales,welcome", `stored nodes: ${Object.keys(flow.nodes)}`);
  for (const [id, node] of Object.entries(want)) {
    for (const [k, v] of Object.entries(node)) {
      check(JSON.stringify(flow.nodes[id][k]) === JSON.stringify(v), `node ${id}.${k} stored as built: ${JSON.stringify(flow.nodes[id])}`);
    }
  }
  let list = await getJson("/api/ivr-flows");
  check(list.items.find((f) => f.name === "hotline")?.version === 1, `version 1 stored: ${JSON.stringify(list)}`);
  await page.waitForSelector('#ivr-flows td:text("hotline")');
  await shot(page, "ivr-flow-built");

  // A broken edit: key 2 leads nowhere. Refused next to that key; nothing stored.
  await page.click(`${card("menu")} .add-choice`);
  check(await page.inputValue(`${card("menu")} tr.choice:nth-of-type(3) input[name=digit]`) === "2", "the new key is 2");
  await page.click("#ivr-save");
  const slot = `${card("menu")} [data-field="choices[2]"]`;
  await filled(slot);
  const edgeRefusal = await text(slot);
  check(edgeRefusal.includes("choices[2]"), `the refusal names the key: ${edgeRefusal}`);
  check(await page.getAttribute(card("menu"), "class").then((c) => c.includes("bad")), "the menu card is marked");
  flow = await getJson("/api/ivr-flows/hotline");
  list = await getJson("/api/ivr-flows");
  check(JSON.stringify(flow.nodes.menu.choices) === '{"1":"sales"}', `the stored menu is unchanged: ${JSON.stringify(flow.nodes.menu)}`);
  check(list.items.find((f) => f.name === "hotline").version === 1, "still version 1");
  check(list.items.find((f) => f.name === "main").version === 1, "the demo flow main is untouched");
  await shot(page, "ivr-flow-refused");
  // Fixed: key 2 goes to the hang-up node; saved as version 2.
  await page.selectOption(`${card("menu")} tr.choice:nth-of-type(3) select[name=target]`, "bye");
  await page.click("#ivr-save");
  await page.waitForSelector('#ivr-form[data-version="2"]');
  check(await text(slot) === "", "the error is cleared once saved");
  flow = await getJson("/api/ivr-flows/hotline");
  check(JSON.stringify(flow.nodes.menu.choices) === '{"1":"sales","2":"bye"}', `the fixed menu is stored: ${JSON.stringify(flow.nodes.menu)}`);

  // (c) Working hours and a holiday (the demo has Monday–Friday 09:00–18:00 and no holidays).
  await page.click("#nav-hours");
  await page.waitForSelector("#hours-form");
  const before = await getJson("/api/ivr-schedule");
  const n = before.special.length;
  await page.fill('[id="hours-in-working_hours[0].end"]', "17:30");
  await page.click("#hours-add-special");
  const holiday = `#hours-special .special-row[data-index="${n}"]`;
  const toError = `[id="hours-error-special[${n}].to"]`;
  await page.fill(`${holiday} [name=name]`, "国庆节");
  await page.fill(`${holiday} [name=from]`, "2026-10-07");
  await page.fill(`${holiday} [name=to]`, "2026-10-01");
  await page.selectOption(`${holiday} [name=flow]`, "hotline");
  await page.click("#hours-save");
  await filled(toError);
  const rangeRefusal = await text(toError);
  let sched = await getJson("/api/ivr-schedule");
  check(JSON.stringify(sched) === JSON.stringify(before), `the refused schedule changed nothing: ${JSON.stringify(sched)}`);
  await shot(page, "ivr-hours-refused");
  await page.fill(`${holiday} [name=from]`, "2026-10-01");
  await page.fill(`${holiday} [name=to]`, "2026-10-07");
  await page.click("#hours-save");
  await page.waitForSelector("#hours-form[data-saved]");
  check(await text(toError) === "", "the date error is cleared");
  sched = await getJson("/api/ivr-schedule");
  check(JSON.stringify(sched.special[n]) === JSON.stringify({ name: "国庆节", from: "2026-10-01", to: "2026-10-07", flow: "hotline" }), `the holiday is stored: ${JSON.stringify(sched.special)}`);
  check(sched.working_hours[0].end === "17:30" && sched.working_hours[0].start === before.working_hours[0].start, `working hours stored: ${JSON.stringify(sched.working_hours)}`);
  check(JSON.stringify(sched.daily) === JSON.stringify(before.daily), "the daily rules are kept");
  await page.reload();
  await page.waitForSelector(holiday);
  check(await page.inputValue(`${holiday} [name=name]`) === "国庆节", "the page reads the holiday back");
  await shot(page, "ivr-hours-saved");

  // A scheduled flow cannot be deleted: the refusal is shown on the flow list.
  await page.click("#nav-ivr");
  await page.waitForSelector('#ivr-flows button.delete[data-flow="main"]');
  await page.click('#ivr-flows button.delete[data-flow="main"]');
  await filled("#ivr-list-error");
  check((await getJson("/api/ivr-flows")).items.some((f) => f.name === "main"), "the flow is kept");

  check(errors.length === 0, `no script errors, CSP violations or unexpected API errors: ${errors.join(" | ")}`);
  result("file_refusal", JSON.stringify(fileRefusal));
  result("edge_refusal", JSON.stringify(edgeRefusal));
  result("range_refusal", JSON.stringify(rangeRefusal));
});
