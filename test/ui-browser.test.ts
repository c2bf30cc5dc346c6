/**
 * The browser UI in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against a real C game: attach, scan, narrow, list, live
 * values, edit, freeze, memory view, pointer paths. A screenshot of each step
 * goes to test-output/ui/.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startUi, type UiServer } from "../src/ui/index.ts";
import { cannotCompile, UiTarget } from "./helpers/ui-target.ts";

const CHROMIUM = Bun.which("chromium") ?? Bun.which("chromium-browser");
const why = CHROMIUM ? cannotCompile() : "no chromium on this machine (.ci/run installs Debian's chromium package)";
if (why) console.warn(`skipping the browser UI test: ${why}`);
const OUT = join(import.meta.dir, "..", "test-output", "ui");

let target: UiTarget;
let ui: UiServer;
let browser: Browser;
let page: Page;
let step = 0;
/** Errors the page logged (a CSP violation, a failed module, an exception). */
const problems: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, `${String(++step).padStart(2, "0")}-${name}.png`) });
}

beforeAll(async () => {
  if (why) return;
  mkdirSync(OUT, { recursive: true });
  const { chromium } = await import("playwright-core");
  target = await UiTarget.start();
  ui = await startUi();
  browser = await chromium.launch({ executablePath: CHROMIUM!, headless: true, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(10_000);
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
});

afterAll(async () => {
  await browser?.close();
  await ui?.stop();
  await target?.close();
});

test.skipIf(why !== null)("attach, scan, narrow, list, live value, edit, freeze, memory view, pointer paths, save and load", async () => {
  // The URL with its token opens the page; the token turns into a cookie and leaves the address bar.
  await page.goto(ui.url);
  expect(page.url()).toBe(`${ui.origin}/`);
  await page.getByText("live").first().waitFor();

  // Attach from the process picker.
  await page.getByTestId("ps-filter").fill(target.name);
  await page.waitForFunction((name) => {
    // Runs in the page.
    const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> } }).document;
    const rows = Array.from(doc.querySelectorAll("table.ps tbody tr"));
    return rows.length > 0 && rows.every((r) => (r.textContent ?? "").includes(name));
  }, target.name);
  await shot("process-picker");
  await page.getByTestId(`attach-${target.pid}`).click();
  await page.getByTestId("attached").getByText(String(target.pid)).waitFor();
  await shot("attached");

  // First scan for the health, on the game's heap only.
  await page.locator("details.memory summary").click();
  await page.getByTestId("kind-heap").check();
  await page.getByTestId("scan-query").fill("4817");
  await page.getByTestId("scan-first").click();
  await page.getByTestId("scan-count").getByText("1 match").waitFor();
  await expect(page.locator('[data-testid="scan-results"] td.addr').first().textContent()).resolves.toBe(`0x${target.health.toString(16)}`);
  await shot("first-scan");

  // The game changes it: the result shows the new value live, then a next scan narrows.
  expect(await target.cmd("sub 17")).toBe(4800);
  await page.getByTestId("scan-value").getByText("4800").waitFor();
  await shot("changed-in-target");
  await page.getByTestId("scan-query").fill("decreased");
  await page.getByTestId("scan-next").click();
  await page.locator(".dim", { hasText: "step 2" }).waitFor();
  await expect(page.getByTestId("scan-count").textContent()).resolves.toContain("1 match");
  await shot("narrowed");

  // Add the match to the list (double-click), see its value follow the game without a reload.
  await page.locator('[data-testid="scan-results"] tbody tr').first().dblclick();
  await page.getByTestId("list-row").first().waitFor();
  await page.getByTestId("list-value").getByText("4800").waitFor();
  expect(await target.cmd("set 4321")).toBe(4321);
  await page.getByTestId("list-value").getByText("4321").waitFor();
  await shot("live-in-list");

  // Edit it in place: the game sees the new value.
  await page.getByTestId("list-value").dblclick();
  await page.getByTestId("list-value-input").fill("9999");
  await page.getByTestId("list-value-input").press("Enter");
  await page.getByTestId("list-value").getByText("9999").waitFor();
  expect(await target.cmd("get")).toBe(9999);
  await shot("edited");

  // Freeze it: the game lowers it, the freezer writes it back.
  await page.getByTestId("list-freeze").check();
  await page.locator("tr.frozen").waitFor();
  for (let i = 0; i < 3; i++) {
    expect(await target.cmd("sub 100")).toBe(9899);
    await Bun.sleep(150);
    expect(await target.cmd("get")).toBe(9999);
  }
  await page.getByTestId("list-value").getByText("9999").waitFor();
  await shot("frozen");
  await page.getByTestId("list-freeze").uncheck();
  await page.locator("tr.frozen").waitFor({ state: "detached" });
  expect(await target.cmd("sub 1")).toBe(9998);
  await page.getByTestId("list-value").getByText("9998").waitFor();

  // The memory view at it: hex and typed, live.
  await page.getByTestId("list-memory").click();
  await page.getByTestId("hex").waitFor();
  await page.getByTestId("typed-i32").getByText("9998").waitFor();
  expect(await target.cmd("set 1234")).toBe(1234);
  await page.getByTestId("typed-i32").getByText("1234").waitFor();
  await shot("memory-view");

  // Edit a value in the memory view.
  await page.getByTestId("typed-i32").dblclick();
  await page.getByTestId("typed-i32-input").fill("777");
  await page.getByTestId("typed-i32-input").press("Enter");
  await page.getByTestId("typed-i32").getByText("777").waitFor();
  expect(await target.cmd("get")).toBe(777);
  // And one byte of it, in the hex view: 777 is 0x309, its low byte 09 becomes 10.
  await page.locator("td.b.cur").dblclick();
  await page.locator("td.b.cur input").fill("10");
  await page.locator("td.b.cur input").press("Enter");
  await page.getByTestId("typed-i32").getByText("784").waitFor();
  expect(await target.cmd("get")).toBe(0x310);

  // Pointer paths to it from the game's image; add the first to the list.
  await page.getByTestId("list-pointers").first().click();
  await page.getByTestId("ptr-scan").click();
  await page.locator("table.paths td", { hasText: `${target.name}+` }).first().waitFor();
  await page.locator("table.paths tr", { hasText: `${target.name}+` }).first().getByTestId("ptr-add").click();
  await page.getByTestId("list-row").nth(1).waitFor();
  expect(await page.getByTestId("list-row").count()).toBe(2);
  await page.getByTestId("list-value").nth(1).getByText("784").waitFor();
  await shot("pointer-paths");

  // Follow the game's global pointer from the memory view: it leads to the player ("hero").
  const base = (await page.getByTestId("list-row").nth(1).locator("td.mono").first().textContent())!.split(" ->")[0]!;
  await page.getByTestId("tab-memory").click();
  await page.getByTestId("hex").waitFor(); // the view reopened where it was
  await page.getByTestId("mem-address").fill(base);
  await page.getByTestId("mem-address").press("Enter");
  await page.getByTestId("follow").getByText(`0x${(target.health - 0x14).toString(16)} →`).waitFor(); // the player struct
  await page.getByTestId("follow").click();
  await page.locator("td.ascii", { hasText: "hero" }).waitFor();
  await page.getByTestId("typed-i32").getByText("1869768040").waitFor(); // "hero" as a little-endian i32
  await shot("followed-pointer");

  // Save the list (a download), empty it, load the file back.
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Save" }).click();
  const saved = (await Bun.file((await (await download).path())!).json()) as { format: string; entries: { kind: string; address: string; type: string }[] };
  expect(saved.format).toBe("process-vm-table"); // what pvm table and loadTable read
  expect(saved.entries.map((e) => [e.kind, e.type])).toEqual([["value", "i32"], ["value", "i32"]]);
  const rows = page.getByTestId("list-row");
  for (let n = await rows.count(); n > 0; n--) {
    await rows.first().getByTitle("remove").click();
    await rows.nth(n - 1).waitFor({ state: "detached" });
  }
  expect(await rows.count()).toBe(0);
  await page.getByTestId("list-load").setInputFiles({ name: "list.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(saved)) });
  await page.getByTestId("status").getByText("loaded 2 entries").waitFor();
  await page.getByTestId("list-row").nth(1).waitFor();
  await page.getByTestId("list-value").nth(1).getByText("784").waitFor();
  await shot("list-loaded");
  expect(problems).toEqual([]);
}, 60_000);
