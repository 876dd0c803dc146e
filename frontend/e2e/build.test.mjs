// End-to-end: build results in Debian's Chromium on a copy of the sample
// project (examples/blinky): the build report shows the LC count exactly as
// nextpnr prints it in the log; a syntax error in blinky.v lands in
// Problems, and clicking it puts the editor's cursor on the line. The log
// panel's search and links are exercised too. Screenshots go to
// test-results/build-*.png.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openIDE, requireDeps, screenshot } from "./harness.mjs";

const problem = requireDeps();

describe("build results end to end", { timeout: 300_000, skip: problem ?? false }, () => {
  let ide, s, page, errors;

  before(async () => {
    ide = await openIDE();
    ({ s, page, errors } = ide);
  });

  after(async () => {
    await ide?.close();
  });

  async function build(want) {
    await page.getByTestId("build").click();
    await page.getByTestId("task-state").filter({ hasText: want }).waitFor({ timeout: 120_000 });
    return page.getByTestId("build-log").innerText();
  }

  test("the report shows the LC count nextpnr prints", async () => {
    const log = await build("succeeded");
    const m = /ICESTORM_LC:\s+(\d+)\/\s*(\d+)/.exec(log);
    assert.ok(m, "the log shows nextpnr's utilisation (no -q):\n" + log.slice(-2000));
    assert.match(log, /Max frequency for clock/);
    await page.locator('.panel-tab[data-panel="report"]').click();
    const lc = page.getByTestId("util-LC");
    await lc.waitFor({ timeout: 10_000 });
    assert.equal((await lc.innerText()).replace(/\s+/g, " "), `${m[1]} / ${m[2]}`);
    assert.match(await page.getByTestId("clock").first().innerText(), /PASS/);
    assert.ok(await page.getByTestId("critical-path").locator(".src-link", { hasText: "blinky.v:" }).count() > 0, "the critical path links to blinky.v");
    await screenshot(page, "build-report");

    // Search the log: Ctrl-F in the panel, matches highlighted, next.
    await page.locator('.panel-tab[data-panel="output"]').click();
    await page.getByTestId("build-log").click();
    await page.keyboard.press("Control+f");
    await page.getByTestId("log-search").fill("ICESTORM_LC:");
    const count = await page.getByTestId("log-count").innerText();
    assert.match(count, /^1 of \d+$/);
    assert.ok(await page.locator("mark.log-match").count() >= 1);
    await page.getByTestId("log-search").press("Enter");
    await screenshot(page, "build-log-search");
    await page.getByTestId("log-search").press("Escape");
  });

  test("a syntax error lands in Problems and on its line", async () => {
    const file = join(s.dir, "blinky.v");
    const good = readFileSync(file, "utf8");
    writeFileSync(file, good.replace("counter <= counter + 1;", "counter <= counter + 1"));
    const log = await build("failed");
    assert.match(log, /blinky\.v:11: ERROR: syntax error/);
    await page.locator('.panel-tab[data-panel="problems"]').click();
    const row = page.getByTestId("build-problem").filter({ hasText: "syntax error" }).first();
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.innerText(), /yosys/);
    await row.click();
    await page.locator('.cm-content[data-path="blinky.v"]').waitFor();
    await page.waitForFunction(() => {
      const v = window.gatewave.editors.find("blinky.v")?.view;
      return v && v.state.doc.lineAt(v.state.selection.main.head).number === 11;
    }, null, { timeout: 10_000 });
    // The editor marks the line too.
    await page.locator(".cm-build-line.cm-build-error").first().waitFor({ timeout: 5_000 });
    await screenshot(page, "build-problem");

    // The log's file:line link opens the same place.
    await page.locator('.panel-tab[data-panel="output"]').click();
    await page.locator(".log-link", { hasText: "blinky.v:11" }).first().click();
    const line = await page.evaluate(() => {
      const v = window.gatewave.editors.find("blinky.v").view;
      return v.state.doc.lineAt(v.state.selection.main.head).number;
    });
    assert.equal(line, 11);

    // Fixed and rebuilt: the build's problems are gone.
    writeFileSync(file, good);
    await build("succeeded");
    await page.locator('.panel-tab[data-panel="problems"]').click();
    assert.equal(await page.getByTestId("build-problem").filter({ hasText: "syntax error" }).count(), 0);
    assert.equal(await page.locator(".cm-build-line").count(), 0);
    await page.locator('.panel-tab[data-panel="report"]').click();
    await screenshot(page, "build-report-rebuilt");
    assert.deepEqual(errors, []);
  });
});
