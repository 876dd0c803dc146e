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

/**
 * typeAtEnd opens path from the tree (a row at the top level, or one
 * already shown), types keys at its end ("@Key" presses Key) and saves.
 */
export async function typeAtEnd(page, path, keys) {
  await page.click(`.tree-row[data-path="${path}"]`);
  const editor = page.locator(`.cm-content[data-path="${path}"]`);
  await editor.waitFor();
  await editor.click();
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
