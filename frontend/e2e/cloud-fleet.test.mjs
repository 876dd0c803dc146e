// Run on the fleet from the IDE, end to end, as a user drives it: Debian's
// Chromium in the IDE through the cloud's tunnel /s/{id}/, on a real cloud
// and node (PostgreSQL, dockerd, the object store from scripts/objstore.sh)
// whose task runner builds the environment from the workspace's
// .gatewave/fleet/Dockerfile. An edit left unsaved in the editor is saved by
// Run on the fleet and is what the task reads (the artifact's bytes, fetched
// inline from the page and through the download link, equal it); the log
// streams live into the Fleet panel; a second run finds the image cached and
// its .bin artifact flashes to a simulated iCEstick (src/flash/sim); a failing
// command shows failed with its exit code; Cancel stops a sleep. The dialog
// shows the cloud's own error for a missing Dockerfile, keeps focus inside
// and gives it back; axe finds no serious violation in the dialog or the
// panel. On sessiond alone the commands say the fleet needs the cloud.
// Screenshots: test-results/cloud-fleet-*.png.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openCloudIDE, readyWith, requireCloudDeps, startCloud, waitUntil } from "./cloud-harness.mjs";
import { bundle, frontendDir, launch, openIDE, requireDeps, screenshot } from "./harness.mjs";
import { paletteParts } from "./ide-steps.mjs";

const problem = await requireCloudDeps("cloud fleet e2e", { objectStore: true });
const sha = (b) => createHash("sha256").update(b).digest("hex");
const axePath = join(frontendDir, "node_modules", "axe-core", "axe.min.js");

/** runCommand picks a command in the command palette (Ctrl+Shift+P) by its title. */
async function runCommand(page, title) {
  const { palette, input, rows } = paletteParts(page);
  await page.keyboard.press("Control+Shift+P");
  await palette.waitFor();
  await input.pressSequentially(title, { delay: 5 });
  await rows.first().locator(".qp-label", { hasText: title }).waitFor();
  await page.keyboard.press("Enter");
}

/** axeSerious runs axe-core on the page and returns its serious and critical violations, printed. */
async function axeSerious(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ path: axePath });
  const r = await page.evaluate(() => window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }, resultTypes: ["violations"] }));
  return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `[${v.impact}] ${v.id}: ${v.help}\n` + v.nodes.slice(0, 6).map((n) => `    ${n.target.join(" ")} ${n.failureSummary?.replace(/\s+/g, " ").slice(0, 200)}`).join("\n"));
}

describe("Run on the fleet from the IDE, through the cloud's tunnel", { timeout: 600_000, skip: problem ?? false }, () => {
  let h, browser, ide, page, image;
  const edit = "edited in the IDE, never saved by hand\n";
  const notes = "notes for the fleet\n";

  before(async () => {
    // An iCE40 HX1K image as icepack lays it out, made by the flash simulator's own code.
    const { makeIce40Image } = new Function(`${await bundle("src/flash/sim/ice40.ts", "GwIce40")}; return GwIce40;`)();
    image = Buffer.from(makeIce40Image("hx1k", { seed: 16 }));
    h = await startCloud({ user: "ada", pool: 1, objectStore: true });
    browser = await launch();
    ide = await openCloudIDE(h, browser, {
      files: {
        ".gatewave/fleet/Dockerfile": "FROM gatewave/sessiond-scratch\n",
        "notes.txt": notes,
        "bits/blinky.bin": image,
      },
      initScript: await bundle("src/flash/sim/page.ts", "GatewaveFlashSim"),
    });
    page = ide.page;
  });

  after(async () => {
    if (h && process.env.GATEWAVE_E2E_VERBOSE) console.error(`--- nodegw\n${h.nodegw?.log().slice(-6000)}\n--- cloud\n${h.cloud?.log().slice(-6000)}`);
    await browser?.close();
    await h?.stop();
  });

  const ready = readyWith(() => page);
  const dialog = () => page.getByTestId("fleet-dialog");
  const state = () => page.getByTestId("fleet-state");
  /** selectedID is the id of the task the panel shows. */
  const selectedID = async () => Number((await page.getByTestId("fleet-title").textContent()).replace(/^Task #/, ""));

  /** fill sets the dialog's fields that are given. */
  async function fill(f) {
    for (const [k, v] of Object.entries(f)) await page.getByTestId(`fleet-${k}`).fill(String(v));
  }

  /** submit clicks Run on the fleet and waits for the dialog to close on the new task. */
  async function submit() {
    const before = await page.locator("[data-testid=fleet-task]").count();
    await page.getByTestId("fleet-submit").click();
    // Closed on the new task, or refused with the cloud's words in the dialog.
    const refused = page.getByTestId("fleet-error").filter({ hasText: /\S/ });
    const closed = dialog().waitFor({ state: "detached", timeout: 60_000 }).then(() => null);
    const said = refused.waitFor({ timeout: 60_000 }).then(() => refused.textContent());
    closed.catch(() => {});
    said.catch(() => {});
    const says = await Promise.race([closed, said]);
    if (says !== null) {
      await page.keyboard.press("Escape"); // the next test starts without it
      throw new Error(`the dialog refused the run: ${says}`);
    }
    await waitUntil("the new task in the list", async () => (await page.locator("[data-testid=fleet-task]").count()) > before, { timeout: 10_000 });
    return selectedID();
  }

  /** finished waits for the selected task's final state and returns it. */
  async function finished(timeout = 240_000) {
    await state().filter({ hasText: /^(succeeded|failed|cancelled|lost)$/ }).waitFor({ timeout });
    return state().textContent();
  }

  test("Run on the fleet saves the open editor, streams the log, succeeds, and lists the artifact whose bytes are the file's", async (t) => {
    if (!ready(t)) return;
    // The Fleet tab is there in the cloud, next to Output.
    assert.deepEqual(await page.locator(".panel-tab").evaluateAll((b) => b.map((x) => x.dataset.panel)).then((p) => p.slice(0, 3)), ["problems", "output", "fleet"]);

    // An edit left unsaved: the run saves it first.
    await page.click('.tree-row[data-path="notes.txt"]');
    const editor = page.locator('.cm-content[data-path="notes.txt"]');
    await editor.waitFor();
    await editor.click();
    await page.keyboard.press("Control+Home");
    await page.keyboard.type(edit);
    await page.locator('.tab[data-path="notes.txt"][data-dirty=true]').waitFor();

    await runCommand(page, "Fleet: Run on the Fleet…");
    await dialog().waitFor();
    assert.equal(await page.getByTestId("fleet-dockerfile").inputValue(), ".gatewave/fleet/Dockerfile");
    assert.equal(await page.getByTestId("fleet-command").evaluate((e) => e === document.activeElement), true, "the command field has focus");
    await waitUntil("the workspace's Dockerfiles offered", () => page.locator('#fleet-dockerfiles option[value=".gatewave/fleet/Dockerfile"]').count(), { timeout: 10_000 });
    await waitUntil("the Makefile's build suggested", () => page.locator("[data-testid=fleet-preset] option", { hasText: "Build: make BUILD=/out" }).count(), { timeout: 10_000 });
    // Tab stays inside the dialog.
    for (let i = 0; i < 14; i++) await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => !!document.activeElement?.closest("[data-testid=fleet-dialog]")), true, "focus left the dialog");
    await fill({ command: 'sh -c "cat /code/notes.txt > /out/top.bin && echo built it"', "artifacts-input": "top.bin", cpus: 0.5, memory: 256, timeout: 5 });
    assert.deepEqual(await axeSerious(page), [], "axe on the Run on the fleet dialog");
    await screenshot(page, "cloud-fleet-01-dialog");
    const id = await submit();
    // Saved first: the tab is clean and the file on disk has the edit.
    await page.locator('.tab[data-path="notes.txt"][data-dirty=false]').waitFor({ timeout: 5_000 });
    assert.equal((await ide.readFile("notes.txt")).text, edit + notes);
    assert.equal(await page.locator('.panel-body[data-panel="fleet"]').isVisible(), true, "the Fleet panel shows");
    assert.equal(await page.locator(`[data-testid=fleet-task][data-task-id="${id}"]`).getAttribute("aria-current"), "true");

    // The log streams live: the environment build, then the command's output.
    const log = page.getByTestId("fleet-log");
    await log.filter({ hasText: "built it" }).waitFor({ timeout: 240_000 });
    assert.equal(await finished(), "succeeded", await page.getByTestId("fleet-facts").textContent());
    assert.match(await log.textContent(), /building environment/);
    assert.match(await page.getByTestId("fleet-image").textContent(), /\(built\)$/);
    assert.match(await page.getByTestId("fleet-state-line").textContent(), /succeeded, exit 0$/);
    await page.locator(`[data-testid=fleet-task][data-task-id="${id}"][data-state=succeeded]`).waitFor({ timeout: 5_000 });
    assert.match(await page.getByTestId("fleet-events").textContent(), /queued.*running.*succeeded/s);

    const want = Buffer.from(edit + notes);
    const row = page.locator('[data-testid=fleet-artifact][data-path="top.bin"]');
    await row.getByTestId("fleet-artifact-size").waitFor();
    assert.equal(await row.getByTestId("fleet-artifact-size").getAttribute("data-bytes"), String(want.length));
    assert.equal(await row.getByTestId("fleet-artifact-size").textContent(), `${want.length} B`);
    assert.equal(await row.getByTestId("fleet-flash").count(), 1, "a .bin can be flashed");
    // The bytes, fetched inline from the page (same origin) ...
    const inline = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return { status: r.status, bytes: [...new Uint8Array(await r.arrayBuffer())] };
    }, `/api/v1/tasks/${id}/artifacts/top.bin?inline=true`);
    assert.equal(inline.status, 200);
    assert.equal(Buffer.from(inline.bytes).toString(), want.toString());
    // ... and through the download link: a short-lived link to the object store.
    const href = await row.getByTestId("fleet-download").getAttribute("href");
    assert.equal(href, `${h.url}/api/v1/tasks/${id}/artifacts/top.bin`);
    const redirect = await page.request.get(href, { maxRedirects: 0 });
    assert.equal(redirect.status(), 303);
    const link = redirect.headers().location;
    assert.ok(link && !link.startsWith(h.url), `the link goes to the store: ${link}`);
    const got = await fetch(link);
    assert.equal(got.status, 200);
    assert.equal(Buffer.from(await got.arrayBuffer()).toString(), want.toString());
    assert.deepEqual(await axeSerious(page), [], "axe on the Fleet panel");
    await screenshot(page, "cloud-fleet-02-succeeded");
  });

  test("a second run of the same workspace finds the image cached, and its .bin flashes to a simulated iCEstick", async (t) => {
    if (!ready(t)) return;
    await page.locator("body").click();
    await page.keyboard.press("Control+Alt+B");
    await dialog().waitFor();
    // The last values are remembered.
    assert.equal(await page.getByTestId("fleet-command").inputValue(), 'sh -c "cat /code/notes.txt > /out/top.bin && echo built it"');
    assert.equal(await page.getByTestId("fleet-artifacts-input").inputValue(), "top.bin");
    assert.equal(await page.getByTestId("fleet-memory").inputValue(), "256");
    await fill({ command: 'sh -c "cp /code/bits/blinky.bin /out/blinky.bin && echo copied"', "artifacts-input": "blinky.bin" });
    const id = await submit();
    assert.equal(await finished(), "succeeded", await page.getByTestId("fleet-facts").textContent());
    assert.match(await page.getByTestId("fleet-image").textContent(), /\(cached\)$/, "the same environment is not built again");
    assert.doesNotMatch(await page.getByTestId("fleet-log").textContent(), /building environment/);
    const row = page.locator('[data-testid=fleet-artifact][data-path="blinky.bin"]');
    assert.equal(await row.getByTestId("fleet-artifact-size").getAttribute("data-bytes"), String(image.length));

    // Flash: the bytes go to the Bitstreams section's flash controls (the iCEstick, from the workspace's pin file).
    assert.equal(await page.getByTestId("flash-board").inputValue(), "icestick");
    await page.evaluate(() => window.__flashSim.plugIce40({ bridge: "FT2232H", flash: "N25Q032", fpga: "hx1k" }));
    await row.getByTestId("fleet-flash").click();
    const status = page.getByTestId("flash-status");
    await status.filter({ hasText: /^(Flashed|Flash failed|Can't flash|Flash cancelled)/ }).waitFor({ timeout: 120_000 });
    assert.match(await status.innerText(), new RegExp(`^Flashed blinky\\.bin \\(task ${id}\\) to Lattice iCEstick`));
    const board = await page.evaluate(async (n) => {
      const b = window.__flashSim.ice40;
      const d = await crypto.subtle.digest("SHA-256", b.flash.memory.slice(0, n));
      return { sha: [...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, "0")).join(""), cdone: b.fpga.cdone };
    }, image.length);
    assert.equal(board.sha, sha(image), "the board's flash holds the artifact");
    assert.ok(board.cdone, "the FPGA configured from it");
    await screenshot(page, "cloud-fleet-03-flashed");
  });

  test("a failing command shows failed with its exit code", async (t) => {
    if (!ready(t)) return;
    await runCommand(page, "Fleet: Run on the Fleet…");
    await dialog().waitFor();
    await fill({ command: 'sh -c "echo about to fail; exit 3"', "artifacts-input": "" });
    const id = await submit();
    assert.equal(await finished(), "failed");
    assert.match(await page.getByTestId("fleet-state-line").textContent(), /failed, exit 3/);
    await page.getByTestId("fleet-log").filter({ hasText: "about to fail" }).waitFor({ timeout: 10_000 });
    await page.locator(`[data-testid=fleet-task][data-task-id="${id}"][data-state=failed]`).waitFor({ timeout: 5_000 });
    await screenshot(page, "cloud-fleet-04-failed");
    // Failed, succeeded and selected rows, in every theme.
    for (const theme of ["light", "high-contrast", null]) {
      await page.evaluate((th) => (th ? (document.documentElement.dataset.theme = th) : delete document.documentElement.dataset.theme), theme);
      assert.deepEqual(await axeSerious(page), [], `axe on the Fleet panel, ${theme ?? "dark"} theme`);
    }
  });

  test("Cancel stops a running task: cancelled", async (t) => {
    if (!ready(t)) return;
    await runCommand(page, "Fleet: Run on the Fleet…");
    await dialog().waitFor();
    await fill({ command: "sh -c 'echo sleeping; sleep 60'" });
    const id = await submit();
    await page.getByTestId("fleet-log").filter({ hasText: "sleeping" }).waitFor({ timeout: 60_000 });
    await state().filter({ hasText: /^running$/ }).waitFor({ timeout: 10_000 });
    const t0 = Date.now();
    await page.getByTestId("fleet-cancel").click();
    assert.equal(await finished(30_000), "cancelled");
    assert.ok(Date.now() - t0 < 30_000, "cancel did not wait for the sleep");
    assert.equal(await page.getByTestId("fleet-cancel").isHidden(), true, "no Cancel on an ended task");
    await page.locator(`[data-testid=fleet-task][data-task-id="${id}"][data-state=cancelled]`).waitFor({ timeout: 5_000 });
    await screenshot(page, "cloud-fleet-05-cancelled");
  });

  test("the dialog shows the cloud's error for a missing Dockerfile, stays open, and Escape gives focus back", async (t) => {
    if (!ready(t)) return;
    await page.getByTestId("fleet-run").focus();
    await page.keyboard.press("Enter");
    await dialog().waitFor();
    const n = await page.locator("[data-testid=fleet-task]").count();
    await fill({ dockerfile: "nope/Dockerfile", command: "true" });
    await page.getByTestId("fleet-submit").click();
    const error = page.getByTestId("fleet-error");
    await error.filter({ hasText: /nope\/Dockerfile/ }).waitFor({ timeout: 30_000 });
    assert.match(await error.textContent(), /no such file/);
    assert.doesNotMatch(await error.textContent(), /^\s*\{|HTTP \d/, "the cloud's words, not a status or JSON");
    await screenshot(page, "cloud-fleet-06-error");
    // A command that does not parse is said before anything is sent.
    await fill({ dockerfile: ".gatewave/fleet/Dockerfile", command: "sh -c 'unterminated" });
    await page.getByTestId("fleet-submit").click();
    await error.filter({ hasText: /unterminated ' quote/ }).waitFor({ timeout: 5_000 });
    await page.keyboard.press("Escape");
    await dialog().waitFor({ state: "detached" });
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "fleet-run", "focus back on the button that opened it");
    await page.reload();
    await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    await runCommand(page, "Fleet: Show Tasks");
    await page.locator("[data-testid=fleet-task]").nth(n - 1).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator("[data-testid=fleet-task]").count(), n, "the refused run left no task, and the list survives a reload");
  });

  test("the dialog suggests the Makefile's build with its bitstream and the testbench in a copy of the code, keeping its waveform", async (t) => {
    if (!ready(t)) return;
    await page.keyboard.press("Control+Alt+B");
    await dialog().waitFor();
    const preset = page.getByTestId("fleet-preset");
    await preset.locator("option", { hasText: "Simulate: blinky_tb.v" }).waitFor({ state: "attached", timeout: 10_000 });
    await preset.selectOption({ label: "Build: make BUILD=/out" });
    assert.equal(await page.getByTestId("fleet-command").inputValue(), "make BUILD=/out");
    assert.equal(await page.getByTestId("fleet-artifacts-input").inputValue(), "blinky.bin");
    await preset.selectOption({ label: "Simulate: blinky_tb.v (iverilog)" });
    const cmd = await page.getByTestId("fleet-command").inputValue();
    assert.match(cmd, /cp -r \/code\/\. \/tmp\/w/, "the testbench runs in a writable copy of the read-only code");
    assert.match(cmd, /vvp -n \/tmp\/tb && mkdir -p \/out\/build && cp build\/blinky_tb\.vcd \/out\/build\/blinky_tb\.vcd/);
    assert.equal(await page.getByTestId("fleet-artifacts-input").inputValue(), "build/blinky_tb.vcd");
    await page.keyboard.press("Escape");
    await dialog().waitFor({ state: "detached" });
  });

  test("no uncaught page errors", (t) => {
    if (!ready(t)) return;
    assert.deepEqual(ide.errors, []);
  });
});

describe("Run on the fleet outside the cloud", { timeout: 120_000, skip: requireDeps() ?? false }, () => {
  let local;
  before(async () => {
    local = await openIDE();
  });
  after(async () => {
    await local?.close();
  });

  test("on sessiond alone the commands say the fleet needs the cloud; there is no Fleet tab", async () => {
    const { page, errors } = local;
    assert.equal(await page.locator('.panel-tab[data-panel="fleet"]').count(), 0);
    for (const cmd of ["Fleet: Run on the Fleet…", "Fleet: Show Tasks"]) {
      await runCommand(page, cmd);
      await page.locator(".toast", { hasText: "Run on the fleet needs the Gatewave cloud" }).first().waitFor({ timeout: 5_000 });
      assert.equal(await page.getByTestId("fleet-dialog").count(), 0);
    }
    assert.deepEqual(errors, []);
  });
});
