// Shared helpers of the browser tests (driven by tests/browser.rs): the Playwright client
// installed under target/ (PW_DIR), the daemon's URL (BL_URL), headless Chromium
// (BL_CHROMIUM), screenshots (BL_SCREENSHOTS) and the result lines the Rust side reads.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const need = (name) => {
  const v = process.env[name];
  if (!v) { console.error(`${name} is not set; run these scripts through tests/browser.rs`); process.exit(2); }
  return v;
};

export const URL = need("BL_URL");
const require = createRequire(join(need("PW_DIR"), "package.json"));
const { chromium } = require("playwright-core");

/** Fails the script with a message (the Rust test prints the whole output). */
export function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

/** Prints a measurement or a step for the Rust side (`RESULT key=value`). */
export function result(key, value) { console.log(`RESULT ${key}=${value}`); }

/** Tells the Rust side the page is ready for the next step (it waits for `READY <what>`). */
export function ready(what) { console.log(`READY ${what}`); }

/** Launches headless Chromium and opens a page with a console/page-error echo. */
export async function launch() {
  const browser = await chromium.launch({ executablePath: need("BL_CHROMIUM"), headless: true });
  const context = await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 900 } });
  // When the panel first renders into #view, remember performance.now() (ms since navigation
  // start): the page-load time the tests report.
  await context.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.querySelector("#view h1, #view #forbidden")) { window.__renderedAt = performance.now(); obs.disconnect(); }
    }).observe(document, { childList: true, subtree: true });
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") console.log(`console error: ${m.text()}`); });
  return { browser, context, page };
}

/** Signs in through the login form; waits for the panel's first page. */
export async function login(page, username, password) {
  await page.goto(URL + "/");
  await page.waitForSelector("#login:not([hidden])");
  await page.fill("#login input[name=username]", username);
  await page.fill("#login input[name=password]", password);
  await page.click("#login button[type=submit]");
  await page.waitForSelector("#top:not([hidden])");
  await page.waitForSelector("#view h1, #view #forbidden");
}

/** Reloads the signed-in panel at `hash` and returns the page-load time in ms (navigation
 *  start → first page rendered into #view). */
export async function loadTime(page, hash) {
  await page.goto(`${URL}/${hash}`);
  await page.reload({ waitUntil: "commit" });
  await page.waitForFunction(() => window.__renderedAt !== undefined, null, { timeout: 10_000 });
  return page.evaluate(() => window.__renderedAt);
}

/** Saves a full-page screenshot as target/screenshots/<name>.png. */
export async function shot(page, name) {
  const dir = need("BL_SCREENSHOTS");
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Runs `body` with a fresh browser and exits non-zero (with the error) if it throws. */
export async function run(body) {
  const b = await launch();
  try {
    await body(b);
    console.log("PASS");
  } catch (e) {
    console.log(`FAIL ${e.stack ?? e}`);
    try { await shot(b.page, `failure-${process.argv[1].split("/").pop().replace(/\.mjs$/, "")}`); } catch { /* no page */ }
    process.exitCode = 1;
  } finally {
    await b.browser.close();
  }
}
