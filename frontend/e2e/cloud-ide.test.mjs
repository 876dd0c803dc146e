// End-to-end through the cloud's tunnel: the IDE features that
// search.test.mjs, palette.test.mjs, editor.test.mjs and ide.test.mjs try
// on sessiond alone, tried again as a signed-in user of a real cloud
// (PostgreSQL, a node gateway, a container of the FROM-scratch pool image)
// at /s/{session}/. The fixtures are pushed to the user's repo over git
// before the session starts, so the container clones them; a .gitignore'd
// file and a 5 MB log are written through the files API, as the IDE does.
// One cloud and one session for the whole file. Screenshots go to
// test-results/cloud-ide-*.png.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { openCloudIDE, readyWith, requireCloudDeps, startCloud } from "./cloud-harness.mjs";
import { launch, screenshot } from "./harness.mjs";
import { activePath, commandPaletteRuns, paletteParts, searchFor, searchGroups, searchSummary, searchToggle, symbolFinds, typeAtEnd, waitFirstMarks } from "./ide-steps.mjs";

const problem = await requireCloudDeps("cloud e2e");

// A bitstream-like file: the iCE40 preamble, then bytes that are not text.
const bitstream = Buffer.concat([Buffer.from([0xff, 0x00, 0x00, 0xff, 0x7e, 0xaa, 0x99, 0x7e]), randomBytes(3000)]);
const sha = (b) => createHash("sha256").update(b).digest("hex");

describe("IDE features through the cloud's tunnel", { timeout: 180_000, skip: problem ?? false }, () => {
  let h, browser, ide, page;
  const frames = []; // what the search WebSocket received, one entry a message

  before(async () => {
    h = await startCloud({ user: "grace", pool: 1 });
    browser = await launch();
    ide = await openCloudIDE(h, browser, {
      files: {
        ".gitignore": "build/\nresult\nignored/\n",
        "rtl/deep/fifo_ctrl.v": "module fifo_ctrl(input clk);\nendmodule\n",
        "main.c": "int main(void) {\n  int clk = 0;\n  return clk;\n}\n",
        ".editorconfig": "root = true\n\n[*.c]\nindent_style = space\nindent_size = 3\n",
        "bits/image.bin": bitstream,
      },
    });
    page = ide.page;
    page.on("websocket", (ws) => {
      if (ws.url().includes("/api/v1/search")) ws.on("framereceived", (f) => frames.push({ url: ws.url(), payload: String(f.payload) }));
    });
    await ide.writeFile("ignored/skip.v", "always @(posedge clk) x <= 1;\n");
  });

  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  const ready = readyWith(() => page);
  const summary = () => searchSummary(page);
  const palette = () => paletteParts(page).palette;
  const input = () => paletteParts(page).input;
  const rows = () => paletteParts(page).rows;

  test("Ctrl+Shift+F streams results from the container, honours the toggles and the include glob, skips .gitignore'd files", async (t) => {
    if (!ready(t)) return;
    assert.match(page.url(), new RegExp(`^${h.url}/s/${ide.id}/`));
    await page.locator("body").click(); // focus outside any editor
    await page.keyboard.press("Control+Shift+F");
    await page.locator("[data-testid=search]").waitFor({ state: "visible", timeout: 5_000 });

    await searchFor(page, "posedge clk");
    assert.equal(await summary().textContent(), "2 results in 1 file");
    assert.deepEqual(await searchGroups(page), ["blinky.v"], "ignored/skip.v (.gitignore'd) is not searched");
    await screenshot(page, "cloud-ide-01-search");
    // A hit opens its file at the match.
    await page.locator('[data-testid=search-hit][data-path="blinky.v"]').nth(1).click();
    await page.locator('.tab[data-path="blinky.v"].active').waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => /Ln 12, Col 14/.test(document.body.textContent ?? ""), null, { timeout: 5_000 });

    // Regex, case, whole word.
    await searchToggle(page, "regex", true);
    await searchFor(page, "counter \\+ \\d");
    assert.equal(await summary().textContent(), "1 result in 1 file");
    await searchToggle(page, "regex", false);
    await searchToggle(page, "case", true);
    await searchFor(page, "CLK");
    assert.equal(await summary().textContent(), "0 results in 0 files");
    await searchToggle(page, "case", false);
    await searchFor(page, "counte");
    assert.match(await summary().textContent(), /^[1-9]\d* results? in [1-9]\d* files?$/);
    await searchToggle(page, "word", true);
    await searchFor(page, "counte");
    assert.equal(await summary().textContent(), "0 results in 0 files", "whole word: counte is not a word");

    // The include glob: only under rtl/.
    await page.locator("[data-testid=search-include]").fill("rtl/**");
    await searchFor(page, "clk");
    assert.equal(await summary().textContent(), "1 result in 1 file");
    assert.deepEqual(await searchGroups(page), ["rtl/deep/fifo_ctrl.v"]);

    // Streamed: one WebSocket message a file, through the tunnel, then done.
    await page.locator("[data-testid=search-include]").fill("");
    frames.length = 0;
    await searchFor(page, "clk");
    assert.equal(await summary().textContent(), "18 results in 5 files");
    assert.deepEqual(await searchGroups(page), ["blinky.v", "blinky_tb.v", "icestick.pcf", "main.c", "rtl/deep/fifo_ctrl.v"]);
    const types = frames.map((f) => JSON.parse(f.payload).type);
    assert.deepEqual(types, ["file", "file", "file", "file", "file", "done"], `frames ${types}`);
    assert.ok(frames.every((f) => f.url.startsWith(`ws://127.0.0.1:${new URL(h.url).port}/s/${ide.id}/api/v1/search`)), frames[0]?.url);
  });

  test("replace-all previews, then writes the files in the container (read back through the files API)", async (t) => {
    if (!ready(t)) return;
    const before = { c: (await ide.readFile("main.c")).text, tb: (await ide.readFile("blinky_tb.v")).text };
    // Whole words, case-sensitive, only Verilog files.
    await searchToggle(page, "regex", false);
    await searchToggle(page, "case", true);
    await searchToggle(page, "word", true);
    await page.locator("[data-testid=search-include]").fill("*.v");
    await page.locator("[data-testid=search-replace]").fill("clk_i");
    await searchFor(page, "clk");
    assert.equal(await summary().textContent(), "15 results in 3 files");
    const ins = await page.locator("[data-testid=search-hit] ins").allTextContents();
    const del = await page.locator("[data-testid=search-hit] del").allTextContents();
    assert.equal(ins.length, 15);
    assert.ok(ins.every((x) => x === "clk_i") && del.every((x) => x === "clk"), `${ins} / ${del}`);
    await screenshot(page, "cloud-ide-02-replace-preview");
    assert.equal((await ide.readFile("blinky_tb.v")).text, before.tb, "nothing written before the confirmation");

    await page.click("[data-testid=search-replace-all]");
    const dialog = page.locator("[data-testid=confirm]");
    await dialog.waitFor({ timeout: 5_000 });
    assert.match((await dialog.textContent()) ?? "", /Replace 15 occurrences of “clk” in 3 files with “clk_i”/);
    await dialog.locator("[data-choice=yes]").click();
    await page.locator(".toast", { hasText: /Replaced 15 occurrences in 3 files\./ }).waitFor({ timeout: 10_000 });
    await screenshot(page, "cloud-ide-03-replaced");

    const v = (await ide.readFile("blinky.v")).text;
    assert.equal((v.match(/\bclk_i\b/g) ?? []).length, 3);
    assert.doesNotMatch(v, /\bclk\b/);
    assert.equal((await ide.readFile("rtl/deep/fifo_ctrl.v")).text, "module fifo_ctrl(input clk_i);\nendmodule\n");
    const tb = (await ide.readFile("blinky_tb.v")).text;
    assert.equal(tb, before.tb.replace(/\bclk\b/g, "clk_i"));
    assert.equal((await ide.readFile("main.c")).text, before.c, "main.c is outside the include glob");
    assert.equal((await ide.readFile("ignored/skip.v")).text, "always @(posedge clk) x <= 1;\n", "the .gitignore'd file is untouched");
    // The search runs again by itself and finds none left.
    await page.waitForFunction(() => /^0 results in 0 files$/.test(document.querySelector("[data-testid=search-summary]")?.textContent ?? ""), null, { timeout: 10_000 });
  });

  test("Ctrl+P opens a file by a fuzzy query", async (t) => {
    if (!ready(t)) return;
    await page.locator("body").click(); // focus outside any editor
    await page.keyboard.press("Control+p");
    await palette().waitFor();
    assert.equal(await palette().locator(".quick-pick-title").textContent(), "Go to File");
    await input().pressSequentially("fifctrl", { delay: 20 });
    await rows().first().locator(".qp-label", { hasText: "fifo_ctrl.v" }).waitFor();
    // The rows of the last keystroke's query mark all of it.
    await waitFirstMarks(page, "fifctrl");
    await screenshot(page, "cloud-ide-04-quick-open");
    await page.keyboard.press("Enter");
    await page.locator('.cm-content[data-path="rtl/deep/fifo_ctrl.v"]').waitFor();
    assert.equal(await activePath(page), "rtl/deep/fifo_ctrl.v");
    assert.equal(await palette().count(), 0);
  });

  test("Ctrl+Shift+P lists the commands with their shortcuts and runs one", async (t) => {
    if (!ready(t)) return;
    const shortcuts = { "Go to File…": "Ctrl+P", "File: Save": "Ctrl+S", "Build: Run Build": "Ctrl+Shift+B" };
    await commandPaletteRuns(page, shortcuts, () => screenshot(page, "cloud-ide-05-commands"));
  });

  test("# finds a module through the container's HDL language server", async (t) => {
    if (!ready(t)) return;
    await page.click('.tree-row[data-path="main.c"]'); // so that opening the symbol changes the active tab
    await page.locator('.cm-content[data-path="main.c"]').waitFor();
    await symbolFinds(page, "fifo_ctrl", "rtl/deep/fifo_ctrl.v", () => screenshot(page, "cloud-ide-06-symbols"));
  });

  test("a binary file opens as hex, read-only; a 5 MB text file opens read-only with a warning", async (t) => {
    if (!ready(t)) return;
    await page.keyboard.press("Control+p");
    await palette().waitFor();
    await input().pressSequentially("image.bin", { delay: 20 });
    await rows().first().locator(".qp-label", { hasText: "image.bin" }).waitFor();
    await page.keyboard.press("Enter");
    const hex = page.locator('.binary-view[data-path="bits/image.bin"] [data-testid=binary-hex]');
    await hex.waitFor({ timeout: 10_000 });
    assert.ok((await hex.innerText()).startsWith("00000000  ff 00 00 ff 7e aa 99 7e"), (await hex.innerText()).slice(0, 80));
    assert.match(await page.getByTestId("binary-info").innerText(), new RegExp(`${bitstream.byteLength.toLocaleString("en")} bytes\\), binary`));
    assert.equal(await page.locator('.cm-content[data-path="bits/image.bin"]').count(), 0, "no text editor for a binary file");
    assert.equal(await page.locator('.binary-view[data-path="bits/image.bin"] [contenteditable=true], .binary-view[data-path="bits/image.bin"] textarea, .binary-view[data-path="bits/image.bin"] input').count(), 0, "nothing in the hex view takes typing");
    await screenshot(page, "cloud-ide-07-binary");

    await ide.writeFile("big.log", "line of a large log file\n".repeat(220_000));
    await page.locator('.tree-row[data-path="big.log"]').click({ timeout: 10_000 });
    const big = page.locator('.cm-content[data-path="big.log"]');
    await big.waitFor({ timeout: 20_000 });
    assert.equal(await big.getAttribute("contenteditable"), "false");
    await page.locator(".toast", { hasText: /big\.log is 5(\.\d)? MiB: it opens read-only/ }).waitFor({ timeout: 5_000 });
    await screenshot(page, "cloud-ide-08-big-file");
    // The bitstream in the container is the pushed one, byte for byte.
    const got = await page.evaluate(async () => {
      const r = await fetch("api/v1/file?path=bits/image.bin", { cache: "no-store" });
      return [...new Uint8Array(await r.arrayBuffer())];
    });
    assert.equal(sha(Buffer.from(got)), sha(bitstream));
  });

  test("Tab in a Makefile inserts a real tab", async (t) => {
    if (!ready(t)) return;
    await typeAtEnd(page, "Makefile", ["@Enter", "lint:", "@Enter", "@Home", "@Tab", "echo ok"]);
    assert.match((await ide.readFile("Makefile")).text, /\nlint:\n\techo ok$/);
  });

  test("the project's .editorconfig (three spaces in C files) is honoured", async (t) => {
    if (!ready(t)) return;
    await typeAtEnd(page, "main.c", ["@Enter", "@Home", "@Tab", "int gatewave_indent;"]);
    assert.match((await ide.readFile("main.c")).text, /\n {3}int gatewave_indent;$/);
    await screenshot(page, "cloud-ide-09-editorconfig");
  });

  test("no uncaught page errors", (t) => {
    if (!ready(t)) return;
    assert.deepEqual(ide.errors, []);
  });
});
