// End-to-end: search across files in Debian's Chromium on a copy of the
// sample project. Ctrl+Shift+F opens the Search section; results stream in
// grouped by file, a .gitignore'd file is not among them, and a click opens
// the file at the match. A replace-all shows its preview first, then writes
// the files on disk, skipping (and naming) one changed on disk since the
// search. Screenshots go to test-results/.
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openIDE, requireDeps, screenshot } from "./harness.mjs";
import { searchFor as search, searchGroups, searchSummary } from "./ide-steps.mjs";

const problem = requireDeps();

describe("search across files end to end", { timeout: 120_000, skip: problem ?? false }, () => {
  let ide, s, page, errors;

  before(async () => {
    ide = await openIDE();
    ({ s, page, errors } = ide);
    writeFileSync(join(s.dir, ".gitignore"), "ignored/\n");
    mkdirSync(join(s.dir, "ignored"), { recursive: true });
    writeFileSync(join(s.dir, "ignored", "skip.v"), "always @(posedge clk) x <= 1;\n");
  });

  after(async () => {
    await ide?.close();
  });

  const summary = () => searchSummary(page);
  const groups = () => searchGroups(page);
  // "so far…" while streaming; the final count once the server says done.
  const searchFor = (pattern) => search(page, pattern);

  test("Ctrl+Shift+F searches the sample, skips .gitignore'd files and opens a hit at its line", async () => {
    await page.locator("body").click();
    await page.keyboard.press("Control+Shift+F");
    await page.locator("[data-testid=search]").waitFor({ state: "visible", timeout: 5_000 });
    await searchFor("posedge clk");
    assert.equal(await summary().textContent(), "2 results in 1 file");
    assert.deepEqual(await groups(), ["blinky.v"]);
    const hits = page.locator('[data-testid=search-hit][data-path="blinky.v"]');
    assert.equal(await hits.count(), 2);
    assert.equal(await hits.nth(1).locator("mark").textContent(), "posedge clk");
    await screenshot(page, "search-results");

    await hits.nth(1).click();
    await page.locator('.tab[data-path="blinky.v"].active').waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => /Ln 12, Col 14/.test(document.body.textContent ?? ""), null, { timeout: 5_000 });

    // Regex, case and whole-word toggles reach the server.
    await page.click("[data-testid=search-regex]");
    await searchFor("counter \\+ \\d");
    assert.equal(await summary().textContent(), "1 result in 1 file");
    await page.click("[data-testid=search-regex]");
    await page.click("[data-testid=search-case]");
    await searchFor("CLK");
    assert.equal(await summary().textContent(), "0 results in 0 files");
    await page.click("[data-testid=search-case]");
  });

  test("replace-all shows a preview, writes the files on disk and skips one changed since the search", async () => {
    const tbPath = join(s.dir, "blinky_tb.v");
    const vPath = join(s.dir, "blinky.v");
    await page.click("[data-testid=search-word]");
    await page.click("[data-testid=search-case]");
    await page.locator("[data-testid=search-include]").fill("*.v");
    await page.locator("[data-testid=search-replace]").fill("clk_i");
    await searchFor("clk");
    assert.equal(await summary().textContent(), "14 results in 2 files");
    assert.deepEqual(await groups(), ["blinky.v", "blinky_tb.v"]);
    // The preview: every match struck through with its replacement next to it.
    const ins = await page.locator("[data-testid=search-hit] ins").allTextContents();
    const del = await page.locator("[data-testid=search-hit] del").allTextContents();
    assert.equal(ins.length, 14);
    assert.ok(ins.every((t) => t === "clk_i") && del.every((t) => t === "clk"), `${ins} / ${del}`);
    await screenshot(page, "search-replace-preview");
    // Nothing is written before the user confirms.
    assert.match(readFileSync(vPath, "utf8"), /input {2}wire {7}clk,/);

    // Someone edits the testbench after the search: it must be left alone.
    appendFileSync(tbPath, "// edited after the search\n");
    const tbEdited = readFileSync(tbPath, "utf8");

    await page.click("[data-testid=search-replace-all]");
    const dialog = page.locator("[data-testid=confirm]");
    await dialog.waitFor({ timeout: 5_000 });
    assert.match((await dialog.textContent()) ?? "", /Replace 14 occurrences of “clk” in 2 files with “clk_i”/);
    await dialog.locator("[data-choice=yes]").click();
    const note = page.locator(".toast", { hasText: "Replaced" });
    await note.waitFor({ timeout: 10_000 });
    const text = (await note.textContent()) ?? "";
    assert.match(text, /Replaced 3 occurrences in 1 file\./);
    assert.match(text, /Skipped blinky_tb\.v: changed on disk since the search/);
    await screenshot(page, "search-replaced");

    const v = readFileSync(vPath, "utf8");
    assert.equal((v.match(/\bclk_i\b/g) ?? []).length, 3);
    assert.doesNotMatch(v, /\bclk\b/);
    assert.equal(readFileSync(tbPath, "utf8"), tbEdited, "the changed testbench is untouched");
    // No temporary files left in the workspace.
    assert.ok(!(await (await s.api("api/v1/files?path=.")).text()).includes(".tmp"));

    // The search runs again: only the skipped file still matches, and the
    // open (clean) blinky.v tab shows the new text.
    await page.waitForFunction(() => /11 results in 1 file$/.test(document.querySelector("[data-testid=search-summary]")?.textContent ?? ""), null, { timeout: 10_000 });
    assert.deepEqual(await groups(), ["blinky_tb.v"]);
    await page.waitForFunction(() => /input\s+wire\s+clk_i,/.test(document.querySelector(".cm-content")?.textContent ?? ""), null, { timeout: 10_000 });
    assert.deepEqual(errors, []);
  });
});
