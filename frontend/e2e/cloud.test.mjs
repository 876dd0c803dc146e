// End-to-end through the cloud: Debian's Chromium signs in to a real cloud
// (PostgreSQL, its own database) whose node gateway runs a warm pool of
// sessiond containers on dockerd, and reaches the IDE through the tunnel
// /s/{session}/. Covers issue 11's promises that no work is lost: signing
// out and in resumes the branch, the uncommitted edit and the untracked
// file in a new container; a container killed under the user shows the
// restarting overlay and continues, in a fresh container, with the saved
// edit. Screenshots go to test-results/cloud-*.png.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { readyWith, requireCloudDeps, sessionRow, signIn as signInForm, startCloud, waitUntil } from "./cloud-harness.mjs";
import { launch, screenshot } from "./harness.mjs";
import { editAndSave as editIn, shell as shellIn } from "./ide-steps.mjs";

const run = promisify(execFile);
const problem = await requireCloudDeps("cloud e2e");

describe("IDE through the cloud", { timeout: 240_000, skip: problem ?? false }, () => {
  let h, browser, page;
  const errors = [];
  const branch = "e2e-feature";
  const edit = "// edited through the cloud\n";
  const untracked = "notes-e2e.txt";
  let sid2 = "";

  before(async () => {
    h = await startCloud({ user: "ada", pool: 2 });
    browser = await launch();
    page = await browser.context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    if (process.env.GATEWAVE_E2E_VERBOSE) {
      page.on("console", (m) => console.error("console:", m.type(), m.text()));
      page.on("response", (r) => /healthz|sessions\/|websocket/.test(r.url()) && console.error("response:", r.status(), r.url()));
      page.on("websocket", (ws) => {
        console.error("ws open:", ws.url());
        ws.on("close", () => console.error("ws close:", ws.url()));
      });
    }
  });

  after(async () => {
    await browser?.close();
    await h?.stop();
    if (process.env.GATEWAVE_E2E_VERBOSE) console.error("after done", new Date().toISOString());
  });

  const ready = readyWith(() => page);

  const signIn = () => signInForm(h, page);

  /** startSession starts (or finds) the user's session from the home page and opens the IDE; it returns the session id. */
  async function startSession() {
    const start = page.getByRole("button", { name: "Start a session" });
    if (await start.count()) await start.click();
    // Ready at once, the start redirects into the IDE; otherwise the home
    // page refreshes itself until it offers the link.
    await page.waitForURL(/\/s\/[A-Za-z0-9_-]+\/$/, { timeout: 60_000 }).catch(async () => {
      await page.getByRole("link", { name: "Open the IDE" }).click({ timeout: 60_000 });
    });
    await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    const id = new URL(page.url()).pathname.split("/")[2];
    assert.match(id, /^[A-Za-z0-9_-]{8,64}$/);
    return id;
  }

  /** readFile reads a workspace file the way the IDE does: the page's own fetch of the files API through the tunnel. */
  const readFile = (path) => page.evaluate(async (p) => {
    const r = await fetch("api/v1/file?path=" + encodeURIComponent(p), { cache: "no-store" });
    return { status: r.status, text: await r.text() };
  }, path);

  const shell = (cmd) => shellIn(page, cmd, { timeout: 20_000 });
  const editAndSave = (path, text) => editIn(page, path, text);

  const editorText = (path) => page.evaluate((p) => window.gatewave.editors.find(p)?.view.state.doc.toString() ?? null, path);

  test("signing out and in resumes the branch, the uncommitted edit and the untracked file in a new container", async (t) => {
    if (!ready(t)) return;
    await signIn();
    const sid1 = await startSession();
    const first = await sessionRow(h, sid1);
    assert.equal(first.state, "ready");
    await page.locator('.tree-row[data-path="blinky.v"]').waitFor({ timeout: 10_000 });

    // A branch of the user's own, switched to in the IDE's terminal (the
    // IDE has no branch menu; the terminal is how a user switches).
    const out = await shell(`git switch -c ${branch}`);
    assert.match(out, new RegExp(`Switched to a new branch '${branch}'`), out);
    assert.equal((await readFile(".git/HEAD")).text, `ref: refs/heads/${branch}\n`);

    // An uncommitted edit of a tracked file, saved with Ctrl-S.
    await editAndSave("blinky.v", edit);
    assert.ok((await readFile("blinky.v")).text.startsWith(edit + "// blinky"));

    // An untracked file made with the tree's New file button.
    await page.click("[data-testid=tree-new-file]");
    await page.fill("[data-testid=prompt-input]", untracked);
    await page.keyboard.press("Enter");
    const notes = page.locator(`.cm-content[data-path="${untracked}"]`);
    await notes.waitFor({ timeout: 10_000 });
    await notes.click();
    await page.keyboard.type("untracked work\n");
    await page.keyboard.press("Control+s");
    await page.locator(`.tab[data-path="${untracked}"][data-dirty=false]`).waitFor({ timeout: 10_000 });
    assert.equal((await readFile(untracked)).text, "untracked work\n");
    await page.click('.tab[data-path="blinky.v"]');
    await screenshot(page, "cloud-01-before-signout");

    // Sign out from the start page: the work is saved before the container goes.
    await page.goto(h.url + "/");
    await Promise.all([page.waitForURL(h.url + "/signin", { timeout: 60_000 }), page.getByRole("button", { name: /Sign out/ }).click()]);
    // Ended once the node's pool report no longer lists the container.
    await waitUntil("the first session to end", async () => (await sessionRow(h, sid1)).state === "ended", { timeout: 30_000 });
    assert.notEqual(await h.sql(`SELECT coalesce(last_autosave, '') FROM sessions WHERE id = '${sid1}'`), "", "sign-out recorded a save");

    await signIn();
    sid2 = await startSession();
    assert.notEqual(sid2, sid1, "a new session");
    const second = await sessionRow(h, sid2);
    assert.notEqual(second.container, first.container, "in a different container");

    assert.equal((await readFile(".git/HEAD")).text, `ref: refs/heads/${branch}\n`, "on the same branch");
    assert.ok((await readFile("blinky.v")).text.startsWith(edit + "// blinky"), "the edit is back");
    assert.equal((await readFile(untracked)).text, "untracked work\n", "the untracked file is back");
    await page.locator(`.tree-row[data-path="${untracked}"]`).waitFor({ timeout: 10_000 });
    await page.click('.tree-row[data-path="blinky.v"]');
    await page.locator('.cm-content[data-path="blinky.v"]').waitFor();
    assert.ok((await editorText("blinky.v"))?.startsWith(edit), "the editor shows the edit");
    // Still uncommitted and untracked: nothing was committed on the user's branch.
    const st = await shell("git status --porcelain=v1 -b");
    assert.ok(st.includes(`## ${branch}`), st);
    assert.ok(st.includes(" M blinky.v"), st);
    assert.ok(st.includes(`?? ${untracked}`), st);
    // The HDL language server runs inside the container, through the tunnel.
    await page.locator('[data-hier-path="blinky_tb/dut"]').waitFor({ timeout: 20_000 });
    await page.getByText(/gatewave-hdl/).first().waitFor({ timeout: 10_000 });
    await screenshot(page, "cloud-02-resumed");
  });

  test("a killed container shows the restarting overlay and the session continues with the saved edit", async (t) => {
    if (!ready(t)) return;
    if (!sid2) return t.skip("needs the session of the previous test");
    await page.click('.tab[data-path="blinky.v"]');
    const again = "// saved just before the container died\n";
    await editAndSave("blinky.v", again);
    const before = await sessionRow(h, sid2);
    assert.equal(before.state, "ready");
    await h.waitIdle(1); // a fresh container to move to
    await page.evaluate(() => (window.__beforeRestart = true));

    // What the cloud says meanwhile: the session's state and the tunnel's answer.
    const cookie = (await browser.context.cookies(h.url)).map((c) => `${c.name}=${c.value}`).join("; ");
    const seen = { states: new Set(), tunnel: new Set() };
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const r = await fetch(`${h.url}/s/${sid2}/healthz`, { headers: { Cookie: cookie } }).catch(() => null);
        if (r && r.status === 503) seen.tunnel.add(`503 ${(await r.json().catch(() => ({})))?.error?.code}`);
        const s = await fetch(`${h.url}/api/v1/sessions/${sid2}`, { headers: { Cookie: cookie, Accept: "application/json" } }).then((x) => x.json()).catch(() => null);
        if (s?.state) seen.states.add(s.state);
        await new Promise((res) => setTimeout(res, 100));
      }
    })();

    await new Promise((res) => setTimeout(res, 1000)); // the "1 s after a save"
    await run("docker", ["kill", before.container]);
    // The user clicks around meanwhile (the tree's Refresh): a request the
    // tunnel answers with the session's state while it has no container.
    await waitUntil("the cloud to notice the dead container", () => seen.tunnel.size > 0 || seen.states.has("restarting"), { timeout: 10_000, every: 20 }).catch(() => {});
    await page.click("[data-testid=tree-refresh]");

    const overlay = page.locator("[data-testid=restarting]");
    await overlay.waitFor({ state: "visible", timeout: 30_000 }).catch(async (err) => {
      await screenshot(page, "cloud-03-no-overlay");
      throw err;
    });
    // "Restarting" while the session has no container; "Reconnecting" when
    // the restart was over before the page noticed it (a silent stream).
    const title = await overlay.locator("[data-testid=restarting-title]").textContent();
    assert.match(title, /^(Restarting — your work is being saved and restored|Reconnecting — your work was saved and restored)$/);
    t.diagnostic(`overlay: ${title}`);
    await page.waitForFunction(() => document.querySelector("[data-testid=restarting-detail]")?.textContent?.trim(), null, { timeout: 10_000 });
    await screenshot(page, "cloud-03-restarting");

    // Back by itself: the page reloads against the fresh container and
    // reopens the file it showed.
    await page.waitForFunction(() => !window.__beforeRestart && document.body.dataset.ready === "true", null, { timeout: 90_000 });
    watching = false;
    await watcher;
    await page.locator('.cm-content[data-path="blinky.v"]').waitFor({ timeout: 10_000 });
    assert.equal(await overlay.count(), 0, "the overlay is gone");
    assert.ok((await editorText("blinky.v"))?.startsWith(again + edit), "the editor shows the edit saved before the kill");
    assert.ok((await readFile("blinky.v")).text.startsWith(again + edit));
    const afterRow = await sessionRow(h, sid2);
    assert.equal(afterRow.state, "ready");
    assert.notEqual(afterRow.container, before.container, "a fresh container");
    assert.ok(seen.states.has("restarting"), `the session API showed restarting (saw ${[...seen.states]})`);
    assert.ok(seen.tunnel.has("503 restarting"), `the tunnel answered 503 restarting (saw ${[...seen.tunnel]})`);
    await screenshot(page, "cloud-04-continued");
  });

  test("no uncaught page errors", (t) => {
    if (!ready(t)) return;
    assert.deepEqual(errors, []);
  });
});
