// End-to-end: the palette in Debian's Chromium on a real sessiond. Quick
// open (Ctrl+P) finds a file by a fuzzy query through GET api/v1/filenames,
// highlights the matched characters, leaves out what .gitignore ignores and
// opens the pick (at a line with "path:line"); the command palette
// (Ctrl+Shift+P) lists the actions with their shortcuts and runs one;
// "#" finds a module through the HDL language server's workspace/symbol.
// Screenshots go to test-results/palette-*.png.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { blinky, openIDE, requireDeps, screenshot } from "./harness.mjs";
import { activePath as active, commandPaletteRuns, paletteParts, symbolFinds, waitFirstMarks } from "./ide-steps.mjs";

const problem = requireDeps();

describe("palette end to end", { timeout: 180_000, skip: problem ?? false }, () => {
  let ide, page, errors, dir;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "gatewave-palette-e2e-"));
    cpSync(blinky, dir, { recursive: true });
    const put = (p, text) => {
      mkdirSync(join(dir, p, ".."), { recursive: true });
      writeFileSync(join(dir, p), text);
    };
    put("rtl/deep/fifo_ctrl.v", "module fifo_ctrl(input clk);\nendmodule\n");
    put("docs/fifo/ctrl/readme.md", "notes\n"); // matches only across directories: ranks below
    put("build/fifo_ctrl_gen.v", "// generated\n");
    put(".gitignore", "build/\n");
    ide = await openIDE({ workspace: dir });
    ({ page, errors } = ide);
  });

  after(async () => {
    await ide?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const palette = () => paletteParts(page).palette;
  const input = () => paletteParts(page).input;
  const rows = () => paletteParts(page).rows;
  const activePath = () => active(page);

  test("Ctrl+P opens a file by a fuzzy query, with the matched characters marked", async () => {
    await page.locator(".tree-row").first().click(); // focus outside any editor
    await page.keyboard.press("Control+p");
    await palette().waitFor();
    assert.equal(await palette().locator(".quick-pick-title").textContent(), "Go to File");
    await input().pressSequentially("fifctrl", { delay: 20 });
    await rows().first().locator(".qp-label", { hasText: "fifo_ctrl.v" }).waitFor();
    const listed = await rows().evaluateAll((li) => li.map((r) => (r.querySelector(".qp-detail")?.textContent ?? "") + "/" + r.querySelector(".qp-label").textContent));
    assert.deepEqual(listed.slice(0, 2), ["rtl/deep/fifo_ctrl.v", "docs/fifo/ctrl/readme.md"]);
    assert.ok(!listed.some((p) => p.startsWith("build")), `.gitignore'd build/ is listed: ${listed}`);
    await waitFirstMarks(page, "fifctrl"); // the rows of the last keystroke's query
    await screenshot(page, "palette-01-quick-open");
    await page.keyboard.press("Enter");
    await page.locator('.cm-content[data-path="rtl/deep/fifo_ctrl.v"]').waitFor();
    assert.equal(await activePath(), "rtl/deep/fifo_ctrl.v");
    assert.equal(await palette().count(), 0);
  });

  test("path:line opens at the line; arrows move the selection", async () => {
    await page.keyboard.press("Control+p");
    await palette().waitFor();
    await input().pressSequentially("blinky:3", { delay: 20 });
    await rows().first().locator(".qp-hint", { hasText: ":3" }).waitFor();
    const labels = await rows().locator(".qp-label").allTextContents();
    assert.deepEqual(labels.slice(0, 2), ["blinky.v", "blinky_tb.v"], `rows ${labels}`);
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await page.locator('.cm-content[data-path="blinky_tb.v"]').waitFor();
    const line = await page.evaluate(() => {
      const v = window.gatewave.editors.active.view;
      return v.state.doc.lineAt(v.state.selection.main.head).number;
    });
    assert.equal(line, 3);
  });

  test("Ctrl+Shift+P lists every action with its shortcut and runs the picked one", async () => {
    const shortcuts = { "Build: Run Build": "Ctrl+Shift+B", "View: Show Terminal": "Ctrl+`", "Go to File…": "Ctrl+P", "File: Save": "Ctrl+S" };
    await commandPaletteRuns(page, shortcuts, () => screenshot(page, "palette-02-commands"));
  });

  test("# finds a module through the HDL language server's workspace/symbol", async () => {
    await symbolFinds(page, "fifo_ctrl", "rtl/deep/fifo_ctrl.v", () => screenshot(page, "palette-03-symbols"));
    assert.deepEqual(errors, []);
  });
});
