// End-to-end: simulation from the IDE in Debian's Chromium on a copy of the
// sample project. The sample's testbench runs (iverilog, then verilator)
// and passes, its VCD lands in the workspace and opens from "Open waves";
// with blinky.v broken the run fails with the testbench's $fatal message
// and the link goes to the failing line. Screenshots go to test-results/.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openIDE, requireDeps, screenshot } from "./harness.mjs";

const problem = requireDeps();

describe("simulation end to end", { timeout: 300_000, skip: problem ?? false }, () => {
  let ide, s, page, errors;

  before(async () => {
    ide = await openIDE();
    ({ s, page, errors } = ide);
  });

  after(async () => {
    await ide?.close();
  });

  async function simulate(simulator) {
    await page.locator('[data-testid=sim-testbench] option[value="blinky_tb.v"]').waitFor({ state: "attached", timeout: 15_000 });
    await page.selectOption("[data-testid=sim-testbench]", "blinky_tb.v");
    await page.selectOption("[data-testid=sim-simulator]", simulator);
    await page.click("[data-testid=simulate]");
    // The run is a task: its log streams into the Output panel.
    await page.locator("[data-testid=task-state]", { hasText: "running" }).first().waitFor({ timeout: 10_000 }).catch(() => {});
    const state = page.locator("[data-testid=sim-state]");
    await state.waitFor({ timeout: 120_000 });
    return (await state.textContent()) ?? "";
  }

  for (const simulator of ["iverilog", "verilator"]) {
    test(`runs the sample's testbench with ${simulator} and it passes`, async () => {
      const vcd = join(s.dir, "build", "blinky_tb.vcd");
      const before = existsSync(vcd) ? statSync(vcd).mtimeMs : 0;
      const state = await simulate(simulator);
      await screenshot(page, `sim-passed-${simulator}`);
      assert.match(state, /passed/, `verdict: ${state}\n${await page.locator("[data-testid=build-log]").textContent()}`);
      assert.match((await page.locator(".sim-what").textContent()) ?? "", new RegExp(`blinky_tb · ${simulator}`));
      assert.match((await page.locator("[data-testid=build-log]").textContent()) ?? "", /blinky_tb: PASS/);
      // The dump is in the workspace, fresh from this run.
      assert.ok(existsSync(vcd), "build/blinky_tb.vcd exists");
      assert.ok(statSync(vcd).mtimeMs > before, "the VCD was written by this run");
      assert.match(readFileSync(vcd, "utf8"), /\$var .* clk /);
    });
  }

  test("opens the waves the run wrote, where clk toggles at 12 MHz", async () => {
    await page.click("[data-testid=sim-open-waves]");
    await page.locator('.tab[data-path="build/blinky_tb.vcd"]').waitFor({ timeout: 15_000 });
    // verilator's dump puts the testbench under TOP, iverilog's does not.
    await page.locator("[data-testid=wave-search]").fill("blinky_tb.clk");
    const row = page.locator('[data-testid=waves] .wave-tree-row[data-scope-signal$="blinky_tb.clk"]').first();
    await row.waitFor({ timeout: 20_000 });
    const path = await row.getAttribute("data-scope-signal");
    await row.dblclick();
    const sig = page.locator(`[data-wave-signal="${path}"]`);
    await sig.waitFor();
    // Cursor into the first microsecond, then step over clk's edges.
    const range = page.locator("[data-testid=wave-range]");
    const start = Number(await range.getAttribute("data-start"));
    const end = Number(await range.getAttribute("data-end"));
    const box = await page.locator("[data-testid=wave-canvas]").boundingBox();
    await page.mouse.click(box.x + ((1_000_000 - start) / (end - start)) * box.width, box.y + 30);
    const cursor = page.locator("[data-testid=wave-cursor-time]");
    const at = async () => Number(await cursor.getAttribute("data-time"));
    await page.waitForFunction(() => document.querySelector("[data-testid=wave-cursor-time]")?.getAttribute("data-time"));
    const value = page.locator(`[data-wave-value="${path}"]`);
    await page.waitForFunction((p) => /^[01]$/.test(document.querySelector(`[data-wave-value="${p}"]`)?.textContent ?? ""), path);
    await sig.click();
    // Each edge flips clk: wait for the cursor to move and the value to flip.
    const rising = [];
    let was = await value.textContent();
    for (let i = 0; i < 6 && rising.length < 3; i++) {
      const before = await at();
      await page.keyboard.press("]");
      await page.waitForFunction(([b, v, p]) => Number(document.querySelector("[data-testid=wave-cursor-time]")?.getAttribute("data-time")) > b &&
        document.querySelector(`[data-wave-value="${p}"]`)?.textContent === v, [before, was === "1" ? "0" : "1", path]);
      was = await value.textContent();
      if (was === "1") rising.push(await at());
    }
    // `timescale 1ns/1ps: the dump counts picoseconds; PERIOD is 83.333 ns,
    // each half rounded to the picosecond.
    assert.equal(rising.length, 3, `rising edges ${rising}`);
    for (let i = 1; i < rising.length; i++) {
      const p = rising[i] - rising[i - 1];
      assert.ok(Math.abs(p - 83_333) <= 1, `one 12 MHz period between rising edges: ${rising}`);
    }
    await screenshot(page, "sim-waves");
  });

  test("a broken design fails with the testbench's message and links to the line", async () => {
    // The ring turns the wrong way.
    const v = join(s.dir, "blinky.v");
    writeFileSync(v, readFileSync(v, "utf8").replace("ring <= {ring[3:0], ring[4]};", "ring <= {ring[0], ring[4:1]};"));
    const state = await simulate("iverilog");
    await screenshot(page, "sim-failed");
    assert.match(state, /failed/);
    const reason = (await page.locator("[data-testid=sim-reason]").textContent()) ?? "";
    assert.match(reason, /\$fatal: after the counter wraps: led is 10000, want 00010/);
    const link = page.locator("[data-testid=sim-failure]");
    assert.equal(await link.textContent(), "blinky_tb.v:24");
    await link.click();
    await page.locator('.cm-content[data-path="blinky_tb.v"]').waitFor({ timeout: 10_000 });
    const line = await page.evaluate(() => {
      const tab = window.gatewave.editors.find("blinky_tb.v");
      return tab.view.state.doc.lineAt(tab.view.state.selection.main.head).number;
    });
    assert.equal(line, 24);
    await screenshot(page, "sim-failed-line");
    assert.deepEqual(errors, []);
  });
});
