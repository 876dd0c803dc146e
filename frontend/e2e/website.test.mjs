// The cloud website in Chromium, one cloud for the file: sign in, the repo
// and its clone URL copied, a session started from the home page and
// followed live (no reload) until the IDE opens by itself, back home, stop
// (the work saved), resume (restored), change the password and sign in
// with the new one, an admin adds a user who signs in, a readable 404 —
// and axe-core finds no serious or critical violation on the pages.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cloudDepsProblem, sessionRow, signIn, startCloud, waitUntil } from "./cloud-harness.mjs";
import { frontendDir, launch, requireDeps, screenshot } from "./harness.mjs";

const axePath = join(frontendDir, "node_modules", "axe-core", "axe.min.js");

async function axeCheck(page, what) {
  await page.addScriptTag({ path: axePath });
  const r = await page.evaluate(() => window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }, resultTypes: ["violations"] }));
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.equal(bad.length, 0, `axe ${what}:\n${bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`).join("\n")}`);
}

const problem = requireDeps() ?? (await cloudDepsProblem());
if (problem && process.env.CI === "true") {
  test("website e2e dependencies are installed", () => {
    throw new Error(problem + " (required under CI=true)");
  });
}

describe("the cloud website", { timeout: 600_000, skip: problem ?? false }, () => {
  let h, browser, page;
  const states = [];

  before(async () => {
    h = await startCloud({ user: "web", pool: 2 });
    await h.sql("UPDATE users SET is_admin = true WHERE name = 'web'");
    browser = await launch();
    await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: h.url });
    // Every state the session card shows, as it changes, without reloads.
    await browser.context.exposeBinding("gwState", (_src, s) => states.push(s));
    await browser.context.addInitScript(() => addEventListener("DOMContentLoaded", () => {
      const card = document.getElementById("session");
      if (!card) return;
      window.gwState(card.dataset.state);
      new MutationObserver(() => window.gwState(card.dataset.state)).observe(card, { attributes: true, attributeFilter: ["data-state"] });
    }));
    page = await browser.context.newPage();
  });

  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  test("sign in, the repo and its clone URL copied", async () => {
    await page.goto(h.url + "/signin");
    await axeCheck(page, "sign-in page");
    await screenshot(page, "website-01-signin");
    await signIn(h, page);
    await page.goto(h.url + "/");
    const url = `${h.url}/git/web.git`;
    assert.equal(await page.getByRole("textbox", { name: "Clone URL of web" }).inputValue(), url);
    await page.getByRole("button", { name: "Copy the clone URL of web" }).click();
    await page.getByText("Copied to the clipboard.").waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
    await axeCheck(page, "home page");
    await screenshot(page, "website-02-home");
  });

  test("start a session, followed live until the IDE opens; back, stop, resume", async () => {
    const homeLoads = [];
    const onNav = (f) => f === page.mainFrame() && new URL(f.url()).pathname === "/" && homeLoads.push(Date.now());
    page.on("framenavigated", onNav);
    states.length = 0;
    await Promise.all([
      page.waitForURL(/\/s\/[A-Za-z0-9_-]+\/$/, { timeout: 90_000 }),
      page.getByRole("button", { name: "Start a session" }).click(),
    ]);
    page.off("framenavigated", onNav);
    await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    const id = new URL(page.url()).pathname.split("/")[2];
    // The form's redirect loaded home once; the rest was the page itself.
    assert.equal(homeLoads.length, 1, `home loaded ${homeLoads.length} times`);
    assert.ok(states.some((s) => ["queued", "starting"].includes(s)), `states seen: ${states.join(", ")}`);
    assert.equal(states.at(-1), "ready", `states seen: ${states.join(", ")}`);
    // Some work to keep.
    const put = await page.evaluate(async () => (await fetch("api/v1/file?path=kept.txt", { method: "PUT", body: "kept by the website test\n" })).status);
    assert.ok(put < 300, `PUT kept.txt: ${put}`);

    await page.goBack();
    await page.waitForURL(h.url + "/");
    await page.getByRole("link", { name: "Open the IDE" }).waitFor();
    await screenshot(page, "website-03-ready");
    await page.getByRole("button", { name: /^Stop/ }).click();
    await page.waitForURL(h.url + "/");
    await page.getByText("Your session is stopping").waitFor();
    await page.getByText("Stopped", { exact: true }).waitFor({ timeout: 120_000 });
    await page.getByText(/Your work was saved to/).waitFor();
    assert.equal((await sessionRow(h, id)).state, "ended");
    await screenshot(page, "website-04-stopped");

    await Promise.all([
      page.waitForURL(/\/s\/[A-Za-z0-9_-]+\/$/, { timeout: 90_000 }),
      page.getByRole("button", { name: "Resume: start a session from your last save" }).click(),
    ]);
    await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    const kept = await page.evaluate(async () => (await fetch("api/v1/file?path=kept.txt", { cache: "no-store" })).text());
    assert.equal(kept, "kept by the website test\n");
    await page.goto(h.url + "/");
  });

  test("change the password, then sign in with the new one", async () => {
    await page.getByLabel("Current password").fill(h.password);
    await page.getByLabel(/^New password/).fill("website-new-password");
    await page.getByLabel("Repeat the new password").fill("website-new-password");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("Your password is changed").waitFor();
    await screenshot(page, "website-05-password-changed");
    await Promise.all([page.waitForURL(h.url + "/signin", { timeout: 120_000 }), page.getByRole("button", { name: /Sign out/ }).click()]);
    await signIn(h, page, { password: "website-new-password" });
  });

  test("an admin adds a user who can sign in", async () => {
    await page.goto(h.url + "/");
    await page.getByLabel("User name").fill("newbie");
    await page.getByRole("button", { name: "Add user" }).click();
    await page.getByRole("heading", { name: "User newbie added" }).waitFor();
    const pw = await page.getByLabel("Password for newbie").inputValue();
    assert.match(pw, /^[A-Za-z0-9_-]{24}$/);
    await axeCheck(page, "user added page");
    await screenshot(page, "website-06-user-added");
    await page.goto(h.url + "/");
    await page.getByRole("cell", { name: "newbie" }).waitFor();
    await screenshot(page, "website-07-admin-home");
    await browser.context.clearCookies();
    await signIn(h, page, { user: "newbie", password: pw });
    await page.goto(h.url + "/");
    assert.equal(await page.getByRole("heading", { name: "Users" }).count(), 0, "a user who is not an admin sees the users");
  });

  test("a 404 is a page a person can read", async () => {
    const r = await page.goto(h.url + "/no/such/page");
    assert.equal(r.status(), 404);
    await page.getByRole("heading", { name: "Not Found" }).waitFor();
    await page.getByRole("link", { name: "Go to the home page" }).waitFor();
    await axeCheck(page, "404 page");
    await screenshot(page, "website-08-404");
  });
});
