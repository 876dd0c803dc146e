// End-to-end: the waveform viewer in Debian's Chromium on a VCD from a real
// simulation (iverilog + vvp on a tiny clocked testbench): open it from the
// tree, add clk, place the cursor, read the value there, step over clk's
// edges (one period between rising edges), a marker with its delta, a
// radix from the context menu, zoom, and the view restored after a reload.
// Screenshots go to test-results/waves-*.png.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { depsProblem, launch, missing, screenshot, startSessiond } from "./harness.mjs";

// `timescale 1ns/1ps: the dump counts picoseconds; clk has a 10 ns period.
const HALF = 5000;
const PERIOD = 2 * HALF;
const tb = `\`timescale 1ns/1ps
module tb;
  reg clk = 0;
  reg [7:0] count = 0;
  always #5 clk = ~clk;
  always @(posedge clk) count <= count + 8'd3;
  initial begin
    $dumpfile("waves/tb.vcd");
    $dumpvars(0, tb);
    #400 $finish;
  end
endmodule
`;

const hasTool = (t) => {
  try {
    execFileSync(t, ["-V"], { stdio: "ignore" });
    return true;
  } catch (err) {
    return err.code !== "ENOENT";
  }
};

const problem = depsProblem();
if (problem && process.env.CI === "true") {
  test("e2e dependencies are installed", () => {
    throw new Error(problem + " (required under CI=true)");
  });
}

describe("waveform viewer end to end", { timeout: 180_000, skip: problem ?? false }, () => {
  let s, browser, page, dir;
  const errors = [];
  let noTools = false;

  before(async () => {
    if (!hasTool("iverilog") || !hasTool("vvp")) {
      noTools = true;
      return;
    }
    dir = mkdtempSync(join(tmpdir(), "gatewave-waves-e2e-"));
    writeFileSync(join(dir, "tb.v"), tb);
    mkdirSync(join(dir, "waves"));
    execFileSync("iverilog", ["-o", "tb.vvp", "tb.v"], { cwd: dir });
    execFileSync("vvp", ["-n", "tb.vvp"], { cwd: dir, stdio: "ignore" });
    assert.ok(existsSync(join(dir, "waves", "tb.vcd")), "the simulation wrote waves/tb.vcd");
    s = await startSessiond({ workspace: dir });
    browser = await launch();
    page = await browser.context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(s.url);
    await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cursorTime = async () => Number(await page.locator("[data-testid=wave-cursor-time]").getAttribute("data-time"));
  const clkAt = (t) => String(Math.floor(t / HALF) % 2);
  const value = (sig) => page.locator(`[data-wave-value="${sig}"]`);
  /** waitCursor waits for the cursor to leave `from` and the value cells to follow it. */
  async function waitCursor(from) {
    await page.waitForFunction((f) => {
      const t = document.querySelector("[data-testid=wave-cursor-time]")?.getAttribute("data-time");
      return t !== "" && t !== null && Number(t) !== f;
    }, from, { timeout: 10_000 });
    const t = await cursorTime();
    await page.waitForFunction((want) => document.querySelector('[data-wave-value="tb.clk"]')?.textContent === want, clkAt(t), { timeout: 10_000 });
    return t;
  }

  async function openDump() {
    const row = page.locator('.tree-row[data-path="waves/tb.vcd"]');
    if (!(await row.isVisible())) await page.locator('.tree-row[data-path="waves"]').click();
    await row.click();
    await page.locator('[data-testid=waves] .wave-tree-row[data-scope-signal="tb.clk"]').waitFor({ timeout: 20_000 });
  }

  test("opens the dump, shows clk's value at the cursor and its period", async (t) => {
    if (noTools) return missing(t, "iverilog/vvp");
    await openDump();
    await screenshot(page, "waves-opened");
    await page.locator('.wave-tree-row[data-scope-signal="tb.clk"]').dblclick();
    await page.locator('.wave-tree-row[data-scope-signal="tb.count"]').dblclick();
    await page.locator('[data-wave-signal="tb.clk"]').waitFor();
    await page.locator('[data-wave-signal="tb.count"]').waitFor();

    // Click at 12.5 ns (between edges) on the canvas.
    const range = page.locator("[data-testid=wave-range]");
    const start = Number(await range.getAttribute("data-start"));
    const end = Number(await range.getAttribute("data-end"));
    assert.equal(start, 0);
    assert.ok(end >= 400_000, `the view spans the dump (end ${end})`);
    const box = await page.locator("[data-testid=wave-canvas]").boundingBox();
    const x = ((12_500 - start) / (end - start)) * box.width;
    await page.mouse.click(box.x + x, box.y + 40);
    const t0 = await waitCursor(-1);
    assert.ok(Math.abs(t0 - 12_500) <= (end - start) / box.width + 1, `cursor near 12.5 ns (${t0})`);
    assert.equal(await value("tb.clk").textContent(), clkAt(t0));
    // count adds 3 at each rising edge (10 ns, 20 ns, ...): hex by default.
    const count = (tt) => (3 * Math.floor((tt - HALF) / PERIOD + 1)) & 0xff;
    await page.waitForFunction((want) => document.querySelector('[data-wave-value="tb.count"]')?.textContent === want, count(t0).toString(16).padStart(2, "0"));
    assert.match(await page.locator("[data-testid=wave-cursor-time]").textContent(), /ns$/);

    // Step over clk's edges: consecutive edges half a period apart, rising edges one period.
    await page.locator('[data-wave-signal="tb.clk"]').click();
    const edges = [];
    let last = t0;
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press("]");
      last = await waitCursor(last);
      edges.push(last);
    }
    assert.ok(edges[0] > t0 && edges[0] - t0 <= HALF, `first edge after the cursor (${edges})`);
    for (let i = 1; i < edges.length; i++) assert.equal(edges[i] - edges[i - 1], HALF, `edges ${edges}`);
    assert.equal(edges[2] - edges[0], PERIOD);
    const rising = edges.filter((e) => clkAt(e) === "1");
    assert.equal(rising.length, 2);
    assert.equal(rising[1] - rising[0], PERIOD, "one period between rising edges");

    // A marker at the last edge, then back one edge: the delta is -HALF.
    await page.keyboard.press("m");
    const m1 = page.locator("[data-testid=wave-marker-M1]");
    await m1.waitFor();
    assert.equal(Number(await m1.getAttribute("data-time")), edges[3]);
    await page.keyboard.press("[");
    await waitCursor(edges[3]);
    assert.equal(await cursorTime(), edges[2]);
    await page.waitForFunction((d) => document.querySelector("[data-testid=wave-marker-M1]")?.getAttribute("data-delta") === String(d), -HALF);
    assert.match(await m1.textContent(), /Δ -5 ns/);
    await screenshot(page, "waves-cursor");
  });

  test("radix from the context menu, zoom keys, and bus bits", async (t) => {
    if (noTools) return missing(t, "iverilog/vvp");
    const tc = await cursorTime();
    const count = (3 * Math.floor((tc - HALF) / PERIOD + 1)) & 0xff;
    await page.locator('[data-wave-signal="tb.count"] .wave-name').click({ button: "right" });
    await page.locator("[data-testid=radix-unsigned]").click();
    await page.waitForFunction((want) => document.querySelector('[data-wave-value="tb.count"]')?.textContent === want, String(count));
    await page.locator('[data-wave-signal="tb.count"] .wave-name').click({ button: "right" });
    await page.locator("[data-testid=wave-expand]").click();
    await page.locator('[data-wave-signal="tb.count[0]"]').waitFor();
    assert.equal(await value("tb.count[0]").textContent(), String(count & 1));
    assert.equal(await value("tb.count[1]").textContent(), String((count >> 1) & 1));

    const range = page.locator("[data-testid=wave-range]");
    const span = async () => Number(await range.getAttribute("data-end")) - Number(await range.getAttribute("data-start"));
    const before = await span();
    await page.keyboard.press("+");
    await page.waitForFunction((b) => {
      const r = document.querySelector("[data-testid=wave-range]");
      return Number(r.dataset.end) - Number(r.dataset.start) < b;
    }, before);
    assert.equal(await span(), before / 2);
    // ctrl+wheel zooms in around the pointer.
    const box = await page.locator("[data-testid=wave-canvas]").boundingBox();
    await page.mouse.move(box.x + box.width / 3, box.y + 60);
    await page.keyboard.down("Control");
    await page.mouse.wheel(0, -300);
    await page.keyboard.up("Control");
    await page.waitForFunction((b) => {
      const r = document.querySelector("[data-testid=wave-range]");
      return Number(r.dataset.end) - Number(r.dataset.start) < b;
    }, before / 2);
    await page.waitForTimeout(300); // the debounced window request and the redraw
    await screenshot(page, "waves-zoomed");
    await page.keyboard.press("f");
    await page.waitForFunction((b) => {
      const r = document.querySelector("[data-testid=wave-range]");
      return Number(r.dataset.end) - Number(r.dataset.start) === b;
    }, before);
  });

  test("the view is saved in the workspace and restored", async (t) => {
    if (noTools) return missing(t, "iverilog/vvp");
    const file = join(dir, ".ide", "waves", "waves", "tb.vcd.json");
    for (let i = 0; i < 50 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 800)); // the last debounced save
    const saved = JSON.parse(readFileSync(file, "utf8"));
    assert.deepEqual(saved.rows.map((r) => r.signal), ["tb.clk", "tb.count"]);
    assert.equal(saved.rows[1].radix, "unsigned");
    assert.equal(saved.rows[1].expanded, true);
    assert.equal(saved.markers.length, 1);
    await page.reload();
    await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
    await openDump();
    await page.locator('[data-wave-signal="tb.count[7]"]').waitFor();
    assert.equal(await page.locator("[data-testid=wave-cursor-time]").getAttribute("data-time"), String(saved.cursor));
    await page.locator("[data-testid=wave-marker-M1]").waitFor();
    await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-wave-value="tb.count"]')?.textContent ?? ""));
    await page.waitForTimeout(300);
    await screenshot(page, "waves-restored");
  });

  test("go to declaration from a wave, add to waves from the editor", async (t) => {
    if (noTools) return missing(t, "iverilog/vvp");
    // Take count out of the view, so adding it back from the editor shows.
    await page.locator('[data-wave-signal="tb.count"] .wave-name').click();
    await page.keyboard.press("Delete");
    await page.locator('[data-wave-signal="tb.count"]').waitFor({ state: "detached" });
    await page.locator('[data-wave-signal="tb.clk"] .wave-name').click({ button: "right" });
    await page.locator("[data-testid=wave-goto-decl]").click();
    await page.locator('.cm-content[data-path="tb.v"]').waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => {
      const v = window.gatewave.editors.find("tb.v")?.view;
      return v && v.state.doc.lineAt(v.state.selection.main.head).text.includes("reg clk");
    }, null, { timeout: 20_000 });
    // The cursor on `count` in the always block, then Ctrl+Alt+W.
    await page.evaluate(() => {
      const v = window.gatewave.editors.find("tb.v").view;
      const at = v.state.doc.toString().indexOf("count <=") + 2;
      v.dispatch({ selection: { anchor: at } });
      v.focus();
    });
    await page.keyboard.press("Control+Alt+KeyW");
    await page.getByText("Added tb.count").waitFor({ timeout: 10_000 });
    await page.locator('.tab[data-path="waves/tb.vcd"]').click();
    await page.locator('[data-wave-signal="tb.count"]').waitFor();
    await screenshot(page, "waves-crossprobe");
    assert.deepEqual(errors, []);
  });
});
