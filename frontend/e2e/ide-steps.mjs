// What a user does in the IDE, shared by the e2e files that drive it on
// sessiond alone (search, palette, editor) and through the cloud's tunnel
// (cloud-ide): each takes the Playwright page the IDE is loaded in.

/** searchSummary is the Search section's result count line. */
export const searchSummary = (page) => page.locator("[data-testid=search-summary]");

/** searchGroups lists the files the Search section shows results in, sorted. */
export const searchGroups = async (page) => (await page.locator("[data-testid=search-file]").evaluateAll((els) => els.map((e) => e.dataset.path))).sort();

/** searchFor types pattern into the Search section, runs it and waits for the final count (not "so far…"). */
export async function searchFor(page, pattern) {
  const input = page.locator("[data-testid=search-input]");
  await input.fill(pattern);
  await input.press("Enter");
  await page.waitForFunction(() => {
    const t = document.querySelector("[data-testid=search-summary]")?.textContent ?? "";
    return /result/.test(t) && !/so far/.test(t);
  }, null, { timeout: 15_000 });
}

/** paletteParts locates the quick pick (Ctrl+P, Ctrl+Shift+P), its input and its rows. */
export function paletteParts(page) {
  const palette = page.locator('[data-testid="palette"]');
  return { palette, input: palette.locator("input"), rows: palette.locator(".quick-pick-item") };
}

/** activePath is the path of the active editor tab, or null. */
export const activePath = (page) => page.evaluate(() => window.gatewave.editors.active?.path ?? null);

/** clickIntoEditor opens path from the tree and clicks into its editor. */
async function clickIntoEditor(page, path) {
  await page.click(`.tree-row[data-path="${path}"]`);
  const editor = page.locator(`.cm-content[data-path="${path}"]`);
  await editor.waitFor();
  await editor.click();
}

/**
 * typeAtEnd opens path from the tree (a row at the top level, or one
 * already shown), types keys at its end ("@Key" presses Key) and saves.
 */
export async function typeAtEnd(page, path, keys) {
  await clickIntoEditor(page, path);
  await page.keyboard.press("Control+End");
  for (const k of keys) {
    if (k.startsWith("@")) await page.keyboard.press(k.slice(1));
    else await page.keyboard.type(k);
  }
  await page.keyboard.press("Control+s");
  await page.locator(`.tab[data-path="${path}"][data-dirty=false]`).waitFor();
}

/** searchToggle sets one of the Search section's toggles ("regex", "case", "word") on or off. */
export async function searchToggle(page, name, on) {
  const b = page.locator(`[data-testid=search-${name}]`);
  if ((await b.getAttribute("aria-pressed")) !== String(on)) await b.click();
}

/**
 * waitFirstMarks waits until the quick pick's first row marks exactly text:
 * rows of an earlier keystroke's query can still show while the last one runs.
 */
export const waitFirstMarks = (page, text) => page.waitForFunction((t) => [...(document.querySelector('[data-testid="palette"] .quick-pick-item .qp-label')?.querySelectorAll("mark") ?? [])].map((m) => m.textContent).join("") === t, text, { timeout: 5_000 });

/**
 * editAndSave opens path from the tree, types text at its top, waits for
 * the tab to show it dirty, saves with Ctrl+S and waits for it to be clean.
 */
export async function editAndSave(page, path, text) {
  await clickIntoEditor(page, path);
  await page.keyboard.press("Control+Home");
  await page.keyboard.type(text);
  await page.locator(`.tab[data-path="${path}"][data-dirty=true]`).waitFor();
  await page.keyboard.press("Control+s");
  await page.locator(`.tab[data-path="${path}"][data-dirty=false]`).waitFor({ timeout: 10_000 });
}

/**
 * shell types cmd into the IDE's terminal (opening it when hidden) and
 * returns the screen's text once the command has run: the shell computes a
 * marker after it, so the echo of the typed line does not match.
 */
export async function shell(page, cmd, { timeout = 30_000 } = {}) {
  if (!(await page.locator("[data-testid=terminal]:visible").count())) await page.click("[data-testid=open-terminal]");
  const term = page.locator("[data-testid=terminal]:visible");
  await term.locator(".xterm-rows").waitFor();
  await page.waitForFunction(() => !!document.querySelector("[data-testid=terminal]:not([hidden]) .xterm-rows")?.textContent?.trim(), null, { timeout: 15_000 });
  await term.click();
  const marker = `done-${Math.random().toString(36).slice(2, 8)}`;
  await page.keyboard.type(`${cmd}; echo ${marker}-$((6*7))\n`, { delay: 5 });
  await page.waitForFunction((m) => (document.querySelector("[data-testid=terminal]:not([hidden]) .xterm-rows")?.textContent ?? "").includes(m), `${marker}-42`, { timeout });
  return page.locator("[data-testid=terminal]:visible .xterm-rows").textContent();
}

/**
 * commandPaletteRuns opens the command palette (Ctrl+Shift+P), checks that
 * it lists at least 25 actions with their shortcuts (expect: label →
 * shortcut), calls shot() (a screenshot), then picks "View: Show Problems"
 * by typing and checks that the Problems panel shows and the palette closed.
 */
export async function commandPaletteRuns(page, expect, shot) {
  const { palette, input, rows } = paletteParts(page);
  await page.keyboard.press("Control+Shift+P");
  await palette.waitFor();
  if ((await input.inputValue()) !== ">") throw new Error(`the command palette's input is ${JSON.stringify(await input.inputValue())}, not ">"`);
  await palette.locator(".quick-pick-title", { hasText: "Command Palette" }).waitFor();
  await rows.first().waitFor();
  const all = await rows.evaluateAll((li) => li.map((r) => [r.querySelector(".qp-label").textContent, r.querySelector(".qp-hint")?.textContent ?? ""]));
  const shortcut = Object.fromEntries(all);
  for (const [label, keys] of Object.entries(expect)) {
    if (shortcut[label] !== keys) throw new Error(`${label}: shortcut ${JSON.stringify(shortcut[label])}, want ${JSON.stringify(keys)}`);
  }
  if (all.length < 25) throw new Error(`only ${all.length} commands`);
  await shot();
  await input.pressSequentially("show problems", { delay: 20 });
  await rows.first().locator(".qp-label", { hasText: "View: Show Problems" }).waitFor();
  if (await page.locator('.panel-body[data-panel="problems"]').isVisible()) throw new Error("the Problems panel showed before the command ran");
  await page.keyboard.press("Enter");
  await page.locator('.panel-body[data-panel="problems"]').waitFor({ state: "visible" });
  if (await palette.count()) throw new Error("the palette stayed open after the pick");
}

/**
 * symbolFinds types "#name" into quick open (Ctrl+P), waits for the HDL
 * language server's row for name whose detail names path, calls shot(),
 * picks it and waits for path to be the active editor.
 */
export async function symbolFinds(page, name, path, shot) {
  const { palette, input, rows } = paletteParts(page);
  await page.keyboard.press("Control+p");
  await palette.waitFor();
  await input.pressSequentially(`#${name}`, { delay: 20 });
  await palette.locator(".quick-pick-title", { hasText: "Go to Symbol in Workspace" }).waitFor();
  const row = rows.filter({ has: page.locator(".qp-label", { hasText: new RegExp(`^${name}$`) }) }).first();
  await row.waitFor({ timeout: 20_000 });
  const detail = await row.locator(".qp-detail").textContent();
  if (!detail.includes(path)) throw new Error(`the row of ${name} says ${JSON.stringify(detail)}, not ${path}`);
  await shot();
  await row.click();
  await page.waitForFunction((p) => window.gatewave.editors.active?.path === p, path);
}
