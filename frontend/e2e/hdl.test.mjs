// End-to-end: Gatewave's own HDL language server in Debian's Chromium, on
// a copy of the uart project from sessiond/hdl/corpus: named-port
// completion on an instance of a module from another file, a port renamed
// across files, and the design hierarchy. Screenshots go to test-results/.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { frontendDir, openIDE, requireDeps, screenshot } from "./harness.mjs";

const uart = join(frontendDir, "..", "sessiond", "hdl", "corpus", "testdata", "uart");

const problem = requireDeps();

describe("HDL language server end to end", { timeout: 300_000, skip: problem ?? false }, () => {
  let ide, page, errors, dir;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "gatewave-hdl-e2e-"));
    cpSync(uart, dir, { recursive: true });
    ide = await openIDE({ workspace: dir });
    ({ page, errors } = ide);
  });

  after(async () => {
    await ide?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const docOf = (path) => page.evaluate((p) => window.gatewave.editors.find(p)?.view.state.doc.toString() ?? null, path);

  async function openFile(path) {
    const row = page.locator(`.tree-row[data-path="${path}"]`);
    if (!(await row.isVisible())) await page.locator(`.tree-row[data-path="rtl"]`).click();
    await row.click();
    const editor = page.locator(`.cm-content[data-path="${path}"]`);
    await editor.waitFor();
    return editor;
  }

  test("completes the named ports of a module from another file", async () => {
    await openFile("rtl/top.v");
    // The status bar names the server that serves the file.
    await page.getByText(/gatewave-hdl/).first().waitFor({ timeout: 15_000 });
    await page.evaluate(() => {
      const tab = window.gatewave.editors.find("rtl/top.v");
      const doc = tab.view.state.doc.toString();
      const at = doc.lastIndexOf("endmodule");
      tab.view.dispatch({ selection: { anchor: at } });
      tab.view.focus();
    });
    await page.keyboard.type("uart_tx u_tx2 (\n.clk(clk),\n\n);\n", { delay: 10 });
    // Back to the empty line inside the port list, and start a connection.
    await page.evaluate(() => {
      const tab = window.gatewave.editors.find("rtl/top.v");
      const doc = tab.view.state.doc.toString();
      const at = doc.indexOf(".clk(clk),\n", doc.indexOf("u_tx2")) + ".clk(clk),\n".length;
      tab.view.dispatch({ selection: { anchor: at } });
    });
    await page.keyboard.type(".", { delay: 10 });
    const popup = page.locator(".cm-tooltip-autocomplete");
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await popup.getByText("busy", { exact: true }).first().waitFor({ timeout: 4000 });
        break;
      } catch (err) {
        if (Date.now() > deadline) {
          await screenshot(page, "hdl-01-completion-failed");
          throw err;
        }
        await page.keyboard.press("Control+Space");
      }
    }
    const labels = await popup.locator(".cm-completionLabel").allInnerTexts();
    for (const want of ["rst", "tick", "start", "data", "txd", "busy"]) assert.ok(labels.includes(want), `completion lists ${want}: ${labels}`);
    assert.ok(!labels.includes("clk"), `clk is connected already and must not be offered: ${labels}`);
    // Direction and width are shown beside each port.
    assert.match(await popup.innerText(), /input.*\[DATA_BITS-1:0\]|8 bits/);
    await screenshot(page, "hdl-01-port-completion");
    await popup.getByText("rst", { exact: true }).first().click();
    const doc = await docOf("rtl/top.v");
    assert.match(doc, /\.clk\(clk\),\n\s*\.rst\(rst\)/, doc.slice(doc.lastIndexOf("u_tx2") - 20));
    // Undo the typing so later tests see the original file.
    for (let i = 0; i < 40 && (await docOf("rtl/top.v")).includes("u_tx2"); i++) await page.keyboard.press("Control+z");
    assert.ok(!(await docOf("rtl/top.v")).includes("u_tx2"));
  });

  test("renames a port across files", async () => {
    await openFile("rtl/uart_tx.v");
    await page.evaluate(() => {
      const tab = window.gatewave.editors.find("rtl/uart_tx.v");
      const doc = tab.view.state.doc.toString();
      const at = doc.indexOf("busy\n");
      tab.view.dispatch({ selection: { anchor: at + 1 } });
      tab.view.focus();
    });
    await page.keyboard.press("F2");
    const input = page.locator(".cm-panel input, .cm-rename input, [data-testid=rename] input").first();
    await input.waitFor({ timeout: 10_000 });
    await input.fill("tx_active");
    await screenshot(page, "hdl-02-rename");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => {
      const top = window.gatewave.editors.find("rtl/top.v")?.view.state.doc.toString() ?? "";
      const tx = window.gatewave.editors.find("rtl/uart_tx.v")?.view.state.doc.toString() ?? "";
      return top.includes(".tx_active (tx_busy)") && tx.includes("output wire                 tx_active") && !/\bbusy\b/.test(tx.replace(/\/\/.*$/gm, ""));
    }, null, { timeout: 15_000 }).catch(async (err) => {
      await screenshot(page, "hdl-02-rename-failed");
      throw err;
    });
    await screenshot(page, "hdl-03-renamed");
    // Nothing reached the disk until the user saves.
    assert.match(readFileSync(join(dir, "rtl/top.v"), "utf8"), /\.busy \(tx_busy\)/);
  });

  test("the design hierarchy shows the instance tree with parameters", async () => {
    const row = page.locator('[data-hier-path="top/u_tx"]');
    await row.waitFor({ timeout: 15_000 });
    assert.match(await row.innerText(), /u_tx\s*:\s*uart_tx/);
    assert.match(await row.innerText(), /DATA_BITS=8/);
    await page.locator('[data-hier-path="top/u_rx"]').waitFor();
    await row.click();
    await screenshot(page, "hdl-04-hierarchy");
  });

  test("no uncaught page errors", () => {
    assert.deepEqual(errors, []);
  });
});
