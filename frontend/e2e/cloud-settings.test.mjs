// End-to-end: IDE settings through the cloud's tunnel. The container's
// sessiond keeps none (--settings none); the cloud answers api/v1/settings
// of every session from PostgreSQL's user_settings, so a user who picks the
// light theme and an 18 px font sees them again in the next session, in a
// browser that never saw the first one, while another user still gets the
// defaults. Screenshots go to test-results/cloud-settings-*.png.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { addUser, openCloudIDE, requireCloudDeps, sessionRow, startCloud, waitUntil } from "./cloud-harness.mjs";
import { launch, screenshot } from "./harness.mjs";

const problem = await requireCloudDeps("cloud settings e2e");

const looks = (page) => page.evaluate(() => {
  const ed = document.querySelector(".cm-content");
  return { theme: document.documentElement.dataset.theme ?? "dark", editorFont: ed ? getComputedStyle(ed).fontSize : null };
});

async function openSettings(page) {
  await page.locator(".tree-row").first().click();
  await page.keyboard.press("Control+,");
  await page.locator("[data-testid=settings]").waitFor();
}

describe("settings through the cloud", { timeout: 300_000, skip: problem ?? false }, () => {
  let h, first, firstIDE;

  before(async () => {
    h = await startCloud({ user: "ada", pool: 2 });
    first = await launch();
    firstIDE = await openCloudIDE(h, first, { files: { "top.v": "module top(input clk);\nendmodule\n" } });
  });

  after(async () => {
    await first?.close();
    await h?.stop();
  });

  const row = async (user) => {
    const out = await h.sql(`SELECT coalesce((SELECT s.settings::text FROM user_settings s JOIN users u ON u.id = s.user_id WHERE u.name = '${user}'), 'none')`);
    return out === "none" ? null : JSON.parse(out);
  };

  test("the dialog says the settings are saved for the user, and a change lands in PostgreSQL", async () => {
    const page = firstIDE.page;
    await page.click('.tree-row[data-path="top.v"]');
    await page.locator('.cm-content[data-path="top.v"]').waitFor();
    await openSettings(page);
    assert.match(await page.locator("[data-testid=settings] .dialog-body").first().textContent(), /saved for you/);
    await page.selectOption("[data-testid=settings-theme]", "light");
    await page.locator('[data-testid=settings][data-saved="yes"]').waitFor({ timeout: 10_000 });
    await page.fill("[data-testid=settings-font-size]", "18");
    await page.press("[data-testid=settings-font-size]", "Tab");
    await waitUntil("the row to hold font size 18", async () => (await row("ada"))?.fontSize === 18, { timeout: 10_000 });
    assert.deepEqual(await row("ada"), { theme: "light", fontSize: 18, tabSize: 4 });
    await page.click("[data-testid=settings-close]");
    assert.deepEqual(await looks(page), { theme: "light", editorFont: "18px" });
    await screenshot(page, "cloud-settings-1-light");
    assert.deepEqual(firstIDE.errors, []);
  });

  test("a settings object the cloud cannot keep is refused with the reason, and the row is unchanged", async () => {
    const r = await firstIDE.api("api/v1/settings", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ theme: "neon", fontSize: 18, tabSize: 4 }) });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /theme/);
    assert.deepEqual(await row("ada"), { theme: "light", fontSize: 18, tabSize: 4 });
  });

  test("the next session, in a browser that never saw the first, opens light with 18 px", async () => {
    const stop = await firstIDE.page.request.post(`${h.url}/api/v1/sessions/${firstIDE.id}/stop`, {
      headers: { Accept: "application/json", "X-CSRF-Token": (await (await firstIDE.page.request.get(h.url + "/api/v1/me", { headers: { Accept: "application/json" } })).json()).csrf_token },
    });
    assert.ok(stop.status() < 300, `stop: ${stop.status()} ${await stop.text()}`);
    await waitUntil("the first session to end", async () => (await sessionRow(h, firstIDE.id)).state === "ended", { timeout: 120_000 });

    const second = await launch();
    try {
      const ide = await openCloudIDE(h, second);
      assert.notEqual(ide.id, firstIDE.id);
      await ide.page.click('.tree-row[data-path="top.v"]');
      await ide.page.locator('.cm-content[data-path="top.v"]').waitFor();
      assert.deepEqual(await looks(ide.page), { theme: "light", editorFont: "18px" });
      await screenshot(ide.page, "cloud-settings-2-next-session");
      assert.deepEqual(ide.errors, []);
    } finally {
      await second.close();
    }
  });

  test("another user still gets the defaults", async () => {
    const grace = await addUser(h, "grace");
    const browser = await launch();
    try {
      const ide = await openCloudIDE(h, browser, { ...grace, files: { "a.v": "module a;\nendmodule\n" } });
      await ide.page.click('.tree-row[data-path="a.v"]');
      await ide.page.locator('.cm-content[data-path="a.v"]').waitFor();
      assert.deepEqual(await looks(ide.page), { theme: "dark", editorFont: "13px" });
      assert.equal(await row("grace"), null);
    } finally {
      await browser.close();
    }
  });
});
