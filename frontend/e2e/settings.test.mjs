// End-to-end: the IDE's settings (theme, font size, tab size) on a real
// sessiond keeping them in a file (--settings). The dialog (Ctrl+,) applies
// them live to the editor, terminal and tree, a reload keeps them, the file
// holds them, the API refuses a bad value, and the palette's Theme commands
// work. A sessiond keeping no settings says so. Screenshots of the three
// themes go to /tmp/settings-*.png.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { launch, openIDE, requireDeps, startSessiond } from "./harness.mjs";
import { paletteParts, shell, typeAtEnd } from "./ide-steps.mjs";

const problem = requireDeps();

/** looks is what the page shows of the settings: the theme, the editor's and terminal's font and the tree's colours. */
const looks = (page) => page.evaluate(() => {
  const cs = (sel) => { const e = document.querySelector(sel); return e ? getComputedStyle(e) : null; };
  const content = cs('.cm-content[data-path="main.c"]');
  return {
    theme: document.documentElement.dataset.theme ?? "dark",
    editorFont: content?.fontSize,
    editorTab: content?.tabSize,
    editorBg: cs('.cm-editor:not([hidden])')?.backgroundColor,
    treeBg: cs(".sidebar")?.backgroundColor,
    treeFg: cs(".tree-name")?.color,
    termFont: cs("[data-testid=terminal] .xterm-rows")?.fontSize,
    termBg: cs("[data-testid=terminal]:not([hidden]) .xterm-scrollable-element")?.backgroundColor,
  };
});

/** settledFile waits (5 s at most) for the settings file to satisfy ok, and returns what it holds. */
async function settledFile(path, ok) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    let v = null;
    try {
      v = JSON.parse(readFileSync(path, "utf8"));
    } catch {
      // not written yet
    }
    if ((v && ok(v)) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const saved = (page) => page.locator('[data-testid=settings][data-saved="yes"]').waitFor({ timeout: 10_000 });

/** openSettings opens the dialog with Ctrl+, from outside the editor. */
/** Reloads the IDE, opens main.c and checks it still has the light theme, 18 px and 2 columns. */
async function reloadStillLight(page) {
  await page.reload();
  await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
  await page.click('.tree-row[data-path="main.c"]');
  await page.locator('.cm-content[data-path="main.c"]').waitFor();
  const l = await looks(page);
  assert.deepEqual([l.theme, l.editorFont, l.editorTab], ["light", "18px", "2"]);
}

async function openSettings(page) {
  await page.locator(".tree-row").first().click();
  await page.keyboard.press("Control+,");
  await page.locator("[data-testid=settings]").waitFor();
}

describe("settings end to end", { timeout: 240_000, skip: problem ?? false }, () => {
  let ide, s, page, errors;

  before(async () => {
    ide = await openIDE();
    ({ s, page, errors } = ide);
  });

  after(async () => {
    await ide?.close();
  });

  test("the defaults are dark, 13 px and 4 columns", async () => {
    await page.click('.tree-row[data-path="main.c"]');
    await page.locator('.cm-content[data-path="main.c"]').waitFor();
    await shell(page, "echo settings");
    const l = await looks(page);
    assert.equal(l.theme, "dark");
    assert.equal(l.editorFont, "13px");
    assert.equal(l.editorTab, "4");
    assert.equal(l.termFont, "13px");
    await page.screenshot({ path: "/tmp/settings-dark.png" });
  });

  test("Ctrl+, sets light, font size 18 and tab size 2: editor, terminal and tree follow, and the file holds them", async () => {
    await openSettings(page);
    await page.selectOption("[data-testid=settings-theme]", "light");
    await saved(page);
    await page.fill("[data-testid=settings-font-size]", "18");
    await page.press("[data-testid=settings-font-size]", "Tab");
    await page.waitForFunction(() => getComputedStyle(document.querySelector('.cm-content[data-path="main.c"]')).fontSize === "18px");
    await page.fill("[data-testid=settings-tab-size]", "2");
    await page.press("[data-testid=settings-tab-size]", "Tab");
    await page.waitForFunction(() => getComputedStyle(document.querySelector('.cm-content[data-path="main.c"]')).tabSize === "2");
    await saved(page);
    await page.screenshot({ path: "/tmp/settings-dialog-light.png" });
    await page.click("[data-testid=settings-close]");
    const l = await looks(page);
    assert.deepEqual({ theme: l.theme, editorFont: l.editorFont, editorTab: l.editorTab, editorBg: l.editorBg, treeBg: l.treeBg, treeFg: l.treeFg },
      { theme: "light", editorFont: "18px", editorTab: "2", editorBg: "rgb(255, 255, 255)", treeBg: "rgb(248, 248, 248)", treeFg: "rgb(31, 35, 40)" });
    assert.equal(l.termFont, "18px", "the open terminal's font");
    assert.equal(l.termBg, "rgb(248, 248, 248)", "the open terminal's background");
    assert.deepEqual(JSON.parse(readFileSync(s.settingsFile, "utf8")), { theme: "light", fontSize: 18, tabSize: 2 });
    await page.screenshot({ path: "/tmp/settings-light.png" });
  });

  test("Tab indents by the user's 2 columns, and a Makefile still gets a real tab", async () => {
    await typeAtEnd(page, "main.c", ["@Enter", "@Home", "@Tab", "int settings_indent;"]);
    assert.match(readFileSync(join(s.dir, "main.c"), "utf8"), /\n {2}int settings_indent;$/);
    await typeAtEnd(page, "Makefile", ["@Enter", "settings:", "@Enter", "@Home", "@Tab", "echo ok"]);
    assert.match(readFileSync(join(s.dir, "Makefile"), "utf8"), /\nsettings:\n\techo ok$/);
  });

  test("a reload keeps the settings", async () => {
    await reloadStillLight(page);
    await openSettings(page);
    assert.equal(await page.inputValue("[data-testid=settings-theme]"), "light");
    assert.equal(await page.inputValue("[data-testid=settings-font-size]"), "18");
    assert.equal(await page.inputValue("[data-testid=settings-tab-size]"), "2");
  });

  test("the dialog says what is wrong with a font size of 99 and saves nothing", async () => {
    await page.fill("[data-testid=settings-font-size]", "99");
    await page.press("[data-testid=settings-font-size]", "Tab");
    assert.match(await page.locator("[data-testid=settings-error]").textContent(), /Font size must be a whole number from 8 to 32/);
    assert.equal(JSON.parse(readFileSync(s.settingsFile, "utf8")).fontSize, 18);
    await page.keyboard.press("Escape");
    await page.locator("[data-testid=settings]").waitFor({ state: "detached" });
  });

  test("the API refuses fontSize 99 with 400 and its reason; after a reload the IDE is unchanged", async () => {
    const res = await page.evaluate(async (token) => {
      const r = await fetch("api/v1/settings", { method: "PUT", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token }, body: JSON.stringify({ theme: "light", fontSize: 99, tabSize: 2 }) });
      return { status: r.status, body: await r.json() };
    }, s.token);
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /fontSize 99 is not between 8 and 32/);
    await reloadStillLight(page);
  });

  test('the palette\'s "Theme: High Contrast" switches and saves', async () => {
    await page.locator(".tree-row").first().click();
    await page.keyboard.press("Control+Shift+P");
    const { palette, input, rows } = paletteParts(page);
    await palette.waitFor();
    await input.fill(">Theme: High Contrast");
    await rows.first().locator(".qp-label", { hasText: "Theme: High Contrast" }).waitFor();
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.documentElement.dataset.theme === "high-contrast");
    await page.click('.tree-row[data-path="main.c"]');
    await shell(page, "ls");
    assert.deepEqual(await settledFile(s.settingsFile, (v) => v.theme === "high-contrast"), { theme: "high-contrast", fontSize: 18, tabSize: 2 });
    const l = await looks(page);
    assert.deepEqual([l.editorBg, l.termBg, l.termFont], ["rgb(0, 0, 0)", "rgb(0, 0, 0)", "18px"]);
    await page.screenshot({ path: "/tmp/settings-high-contrast.png" });
    // The palette lists the dialog's command with its shortcut.
    await page.keyboard.press("Control+Shift+P");
    await input.fill(">Preferences: Open Settings");
    await rows.first().locator(".qp-hint", { hasText: "Ctrl+," }).waitFor();
    await page.keyboard.press("Enter");
    await page.locator("[data-testid=settings]").waitFor();
    await page.keyboard.press("Escape");
  });

  test("no uncaught page errors", () => {
    assert.deepEqual(errors, []);
  });
});

describe("settings on a sessiond that keeps none", { timeout: 60_000, skip: problem ?? false }, () => {
  test("the dialog says up front that nothing is kept here, and a change still applies", async () => {
    const s = await startSessiond({ settingsFile: "none" });
    const browser = await launch();
    try {
      const page = await browser.context.newPage();
      await page.goto(s.url);
      await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
      await openSettings(page);
      // Said when the dialog opens, before the user changes anything.
      assert.match(await page.locator("[data-testid=settings] .dialog-body").first().textContent(), /not kept here.*keeps no settings/);
      await page.selectOption("[data-testid=settings-theme]", "light");
      await page.locator('[data-testid=settings][data-saved="no"]').waitFor({ timeout: 10_000 });
      assert.match(await page.locator("[data-testid=settings-error]").textContent(), /Settings are not kept here.*keeps no settings/);
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
    } finally {
      await browser.close();
      await s.stop();
    }
  });
});
