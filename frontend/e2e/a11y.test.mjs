// End-to-end accessibility in Debian's Chromium: axe-core (WCAG 2.0/2.1 A
// and AA plus best-practice rules) on the IDE on sessiond alone with a file
// open, the terminal panel, the quick open and command palette dialogs, the
// search panel with results, in every theme the stylesheet defines; then the
// cloud's sign-in and home pages and the IDE through the tunnel. Any
// violation of impact serious or critical fails, printed with its id, help
// and nodes (lesser ones are printed only). Keyboard-only journeys: a file
// opened from the tree with the arrows and Enter, the tabs switched with
// the arrows, quick open keeping Tab inside and Escape giving focus back.
// Screenshots of the focused states go to test-results/a11y-*.png.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cloudDepsProblem, openCloudIDE, signIn, startCloud } from "./cloud-harness.mjs";
import { frontendDir, launch, openIDE, requireDeps, screenshot } from "./harness.mjs";

const axePath = join(frontendDir, "node_modules", "axe-core", "axe.min.js");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/** axeResult runs axe on the page. */
async function axeResult(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ path: axePath });
  return page.evaluate((tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }), TAGS);
}

/** axeCheck runs axe on the page and fails on serious or critical violations. */
async function axeCheck(page, what) {
  return assertClean(await axeResult(page), what);
}

/** assertClean fails on an axe result's serious or critical violations, printing each; lesser ones are printed only. */
function assertClean(r, what) {
  const show = (v) => `  [${v.impact}] ${v.id}: ${v.help}\n` + v.nodes.slice(0, 8).map((n) => `      ${n.target.join(" ")}  ${n.failureSummary?.replace(/\s+/g, " ").slice(0, 240)}`).join("\n");
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const minor = r.violations.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`axe ${what}: ${minor.length} minor\n${minor.map(show).join("\n")}`);
  assert.equal(bad.length, 0, `axe ${what}: serious or critical violations\n${bad.map(show).join("\n")}`);
  return r;
}

/** themes lists the themes the stylesheets define ([data-theme="x"] selectors), the default first. */
async function themes(page) {
  const found = await page.evaluate(() => {
    const out = new Set();
    for (const sheet of document.styleSheets) {
      let rules;
      try {
        rules = sheet.cssRules;
      } catch {
        continue;
      }
      for (const r of rules) for (const m of (r.selectorText ?? "").matchAll(/\[data-theme="?([\w-]+)"?\]/g)) out.add(m[1]);
    }
    return [...out];
  });
  return [null, ...found];
}

const focused = (page) => page.evaluate(() => {
  const a = document.activeElement;
  return { role: a?.getAttribute("role") ?? a?.tagName.toLowerCase(), path: a?.dataset?.path ?? a?.closest?.("[data-path]")?.dataset.path ?? null, label: a?.getAttribute("aria-label") ?? null, inDialog: !!a?.closest?.('[role="dialog"]') };
});

const problem = requireDeps();

describe("accessibility on sessiond alone", { timeout: 240_000, skip: problem ?? false }, () => {
  let ide, page, errors;

  before(async () => {
    ide = await openIDE();
    ({ page, errors } = ide);
  });

  after(async () => {
    await ide?.close();
  });

  test("keyboard only: the tree opens a file with the arrows and Enter", async () => {
    await page.keyboard.press("Control+Shift+E");
    let f = await focused(page);
    assert.equal(f.role, "treeitem", `focus after Ctrl+Shift+E: ${JSON.stringify(f)}`);
    // One row of the tree is in the Tab order.
    assert.equal(await page.locator('[role="tree"] [role="treeitem"][tabindex="0"]').count(), 1);
    await page.keyboard.press("Home");
    for (let i = 0; i < 40 && (await focused(page)).path !== "blinky.v"; i++) await page.keyboard.press("ArrowDown");
    f = await focused(page);
    assert.equal(f.path, "blinky.v", `the arrows never reached blinky.v: ${JSON.stringify(f)}`);
    assert.equal(await page.locator('[role="treeitem"][data-path="blinky.v"]').getAttribute("aria-selected"), "true");
    await screenshot(page, "a11y-01-tree-focus");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.activeElement?.closest?.(".cm-content")?.dataset.path === "blinky.v");
    // Type-ahead: back in the tree, "mak" goes to Makefile (past main.c); Enter opens it as a second tab.
    await page.keyboard.press("Control+Shift+E");
    await page.keyboard.type("mak");
    assert.equal((await focused(page)).path, "Makefile");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.activeElement?.closest?.(".cm-content")?.dataset.path === "Makefile");
    // A folder: Right opens it, Left closes it.
    await page.keyboard.press("Control+Shift+E");
    const dir = await page.locator('[role="treeitem"][data-type="dir"]').first();
    if (await dir.count()) {
      const p = await dir.getAttribute("data-path");
      await dir.focus();
      await page.keyboard.press("ArrowRight");
      await page.locator(`[role="treeitem"][data-path="${p}"][aria-expanded="true"]`).waitFor();
      await page.keyboard.press("ArrowLeft");
      await page.locator(`[role="treeitem"][data-path="${p}"][aria-expanded="false"]`).waitFor();
    }
  });

  test("keyboard only: the tabs switch with the arrows, say modified, Enter goes to the editor", async () => {
    // Make Makefile modified, then walk the tab strip.
    await page.locator('.cm-content[data-path="Makefile"]').focus();
    await page.keyboard.type("# edited\n");
    await page.keyboard.press("Control+Shift+P");
    await page.locator('[data-testid="palette"] input').pressSequentially("Focus Open Editors", { delay: 10 });
    await page.locator('[data-testid="palette"] .quick-pick-item').first().waitFor();
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.activeElement?.getAttribute("role") === "tab");
    let f = await focused(page);
    assert.equal(f.path, "Makefile");
    assert.equal(f.label, "Makefile, modified");
    assert.equal(await page.locator('[role="tablist"][aria-label="Open editors"] [role="tab"][tabindex="0"]').count(), 1);
    await page.keyboard.press("ArrowLeft");
    f = await focused(page);
    assert.equal(f.path, "blinky.v");
    assert.equal(f.label, "blinky.v");
    assert.equal(await page.locator('[role="tab"][data-path="blinky.v"]').getAttribute("aria-selected"), "true");
    assert.equal(await page.evaluate(() => window.gatewave.editors.active?.path), "blinky.v");
    const panel = await page.evaluate(() => {
      const p = document.querySelector('[role="tabpanel"][data-testid="editor-host"]');
      return p && document.getElementById(p.getAttribute("aria-labelledby"))?.dataset.path;
    });
    assert.equal(panel, "blinky.v");
    await screenshot(page, "a11y-02-tab-focus");
    await page.keyboard.press("End");
    assert.equal((await focused(page)).path, "Makefile");
    await page.keyboard.press("Home");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.activeElement?.closest?.(".cm-content")?.dataset.path === "blinky.v");
  });

  test("keyboard only: quick open keeps Tab inside, Escape gives focus back", async () => {
    const before = await focused(page);
    await page.keyboard.press("Control+p");
    const dlg = page.locator('[data-testid="palette"]');
    await dlg.waitFor();
    assert.equal(await dlg.getAttribute("role"), "dialog");
    assert.equal(await dlg.getAttribute("aria-modal"), "true");
    await dlg.locator(".quick-pick-item").first().waitFor();
    for (const k of ["Tab", "Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab"]) {
      await page.keyboard.press(k);
      assert.ok((await focused(page)).inDialog, `focus left the quick open after ${k}`);
    }
    await screenshot(page, "a11y-03-quick-open");
    const r = await axeResult(page);
    await page.keyboard.press("Escape");
    await dlg.waitFor({ state: "detached" });
    const back = await focused(page);
    assert.deepEqual(back, before, "focus went back to where it was");
    assertClean(r, "quick open");
  });

  test("axe: the command palette", async () => {
    await page.keyboard.press("Control+Shift+P");
    const dlg = page.locator('[data-testid="palette"]');
    await dlg.locator(".quick-pick-item").first().waitFor();
    const r = await axeResult(page);
    await page.keyboard.press("Escape");
    await dlg.waitFor({ state: "detached" });
    assertClean(r, "command palette");
  });

  test("axe: a confirm dialog traps focus and Escape returns it", async () => {
    await page.keyboard.press("Control+Shift+E");
    await page.locator('[role="treeitem"][data-path="Makefile"]').focus();
    await page.keyboard.press("Delete");
    const dlg = page.locator('[data-testid="confirm"]');
    await dlg.waitFor();
    assert.equal(await dlg.getAttribute("role"), "alertdialog");
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press("Tab");
      assert.ok(await page.evaluate(() => !!document.activeElement?.closest('[data-testid="confirm"]')), "focus left the dialog");
    }
    await screenshot(page, "a11y-04-confirm");
    const r = await axeResult(page);
    await page.keyboard.press("Escape");
    await dlg.waitFor({ state: "detached" });
    assert.equal((await focused(page)).path, "Makefile");
    assertClean(r, "confirm dialog");
  });

  test("axe: the IDE with files open, the terminal, the search results, in every theme", async () => {
    await page.locator('.cm-content[data-path="blinky.v"]').focus();
    await axeCheck(page, "IDE with a file open");
    await page.keyboard.press("Control+`");
    await page.locator(".xterm").first().waitFor();
    await axeCheck(page, "terminal panel");
    await page.keyboard.press("Control+Shift+F");
    await page.keyboard.type("led");
    await page.locator('[data-testid="search-file"]').first().waitFor({ timeout: 20_000 });
    await screenshot(page, "a11y-05-search");
    await axeCheck(page, "search results");
    const list = await themes(page);
    for (const t of list) {
      await page.evaluate((t) => (t ? (document.documentElement.dataset.theme = t) : delete document.documentElement.dataset.theme), t);
      await axeCheck(page, `theme ${t ?? "default"}`);
      await screenshot(page, `a11y-06-theme-${t ?? "default"}`);
    }
    console.log(`themes checked: ${list.map((t) => t ?? "default").join(", ")}`);
    assert.deepEqual(errors, []);
  });
});

const cloudProblem = problem ?? (await cloudDepsProblem());
if (cloudProblem && !problem && process.env.CI === "true") {
  test("cloud e2e dependencies are installed", () => {
    throw new Error(cloudProblem + " (required under CI=true)");
  });
}

describe("accessibility through the cloud", { timeout: 300_000, skip: cloudProblem ?? false }, () => {
  let h, browser;

  before(async () => {
    h = await startCloud({ user: "a11y" });
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  test("axe: the sign-in and home pages", async () => {
    const page = await browser.context.newPage();
    await page.goto(h.url + "/signin");
    await axeCheck(page, "sign-in page");
    await screenshot(page, "a11y-07-signin");
    await signIn(h, page);
    await page.goto(h.url + "/");
    await page.waitForLoadState("networkidle").catch(() => {});
    await axeCheck(page, "home page");
    await screenshot(page, "a11y-08-home");
    await page.close();
    await browser.context.clearCookies(); // the next test signs in through the form again
  });

  test("axe: the IDE through the tunnel with a file open", async () => {
    const { page, errors } = await openCloudIDE(h, browser);
    await page.keyboard.press("Control+Shift+E");
    await page.keyboard.press("Home");
    const first = await page.locator('[role="treeitem"][data-type="file"]').first().getAttribute("data-path");
    await page.locator(`[role="treeitem"][data-path="${first}"]`).focus();
    await page.keyboard.press("Enter");
    await page.waitForFunction((p) => document.activeElement?.closest?.(".cm-content")?.dataset.path === p, first);
    await axeCheck(page, "IDE through the cloud");
    await screenshot(page, "a11y-09-cloud-ide");
    assert.deepEqual(errors, []);
    await page.close();
  });
});
