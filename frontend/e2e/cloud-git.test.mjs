// Git through the cloud, end to end, as a user drives it: Debian's Chromium
// in the IDE through the cloud's tunnel /s/{id}/, on a real cloud and node
// (PostgreSQL, dockerd, the container with no network), with the Source
// Control panel (Ctrl+Shift+G; e2e/git.test.mjs drives it on sessiond
// alone). An edit saved in the editor shows under Changes; its diff tab
// shows both sides; one hunk, then the whole file is staged; Ctrl+Enter
// commits; the panel's Push goes through the node with the session's
// credential (never in the container) and a clone of the user's repo shows
// the commit by the account's identity. A commit pushed from a clone on
// disk makes the panel's Push rejected, in words; the panel's Pull brings
// it into the tree and the editor; Push then succeeds and a clone sees it.
// Screenshots: test-results/cloud-git-*.png.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { cloneRepo, openCloudIDE, readyWith, requireCloudDeps, startCloud } from "./cloud-harness.mjs";
import { launch, screenshot } from "./harness.mjs";
import { editAndSave, shell, typeAtEnd } from "./ide-steps.mjs";

const run = promisify(execFile);
const problem = await requireCloudDeps("cloud git e2e");

// Far enough apart that the two edits are two hunks of the diff.
const hello = ["module hello;", ...Array.from({ length: 14 }, (_, i) => `  // line ${i + 2}`), "endmodule", ""].join("\n");

describe("git through the cloud's tunnel, from the Source Control panel", { timeout: 300_000, skip: problem ?? false }, () => {
  let h, browser, ide, page;
  const clones = [];
  const top = "// edited at the top in the cloud IDE\n";
  const bottom = "// edited at the bottom\n";

  before(async () => {
    h = await startCloud({ user: "grace", pool: 1 });
    browser = await launch();
    ide = await openCloudIDE(h, browser, { files: { "hello.v": hello } });
    page = ide.page;
  });

  after(async () => {
    for (const d of clones) rmSync(d, { recursive: true, force: true });
    await browser?.close();
    await h?.stop();
  });

  const ready = readyWith(() => page);

  const clone = async () => {
    const dir = await cloneRepo(h);
    clones.push(dir);
    return dir;
  };
  const outside = (dir, ...args) => run("git", ["-C", dir, "-c", "user.name=Ada Outside", "-c", "user.email=ada@example.com", ...args], { timeout: 60_000 });

  const section = (name) => page.locator(`[data-testid=git-${name}]`);
  const fileIn = (name, path) => section(name).locator(`[data-testid=git-file][data-path="${path}"]`);
  const output = () => page.locator("[data-testid=git-output]");
  /** syncDone clicks the panel's Push or Pull and waits for git's answer to replace "Pushing…"/"Pulling…". */
  async function syncDone(kind) {
    await page.click(`[data-testid=git-${kind}]`);
    await page.waitForFunction(() => {
      const o = document.querySelector("[data-testid=git-output]");
      return o && !o.hidden && !/^(Pushing|Pulling)…$/.test(o.textContent ?? "");
    }, null, { timeout: 60_000 });
    return { text: await output().textContent(), error: await output().evaluate((o) => o.classList.contains("error")) };
  }

  test("an edit is diffed, staged, committed and pushed from the panel; a clone shows it by the account's identity", async (t) => {
    if (!ready(t)) return;
    // The container holds no credential: not in the origin remote's URL, not in the environment.
    const env = await shell(page, "git config --get remote.origin.url; env | grep -ci -e authorization -e password -e gws_");
    assert.doesNotMatch(env, new RegExp(`${h.user}:|@127`), "a credential in the container's origin URL");

    await editAndSave(page, "hello.v", top);
    await typeAtEnd(page, "hello.v", [bottom]);
    await page.locator("body").click();
    await page.keyboard.press("Control+Shift+G");
    await page.locator("[data-testid=git-message]").waitFor({ state: "visible" });
    assert.match(await page.locator("[data-testid=git-branch]").textContent(), /main/);
    await fileIn("changes", "hello.v").waitFor({ timeout: 20_000 });

    // The diff tab shows both sides: the index's without the edits, the working tree's with them.
    await fileIn("changes", "hello.v").click();
    const diff = page.locator('[data-testid=git-diff][data-path="hello.v"]');
    await diff.locator(".cm-mergeView").waitFor({ timeout: 15_000 });
    const sides = await diff.locator(".cm-mergeView .cm-content").allTextContents();
    assert.equal(sides.length, 2, "two sides");
    assert.ok(!sides[0].includes("edited at the top") && sides[0].includes("module hello;"), `the old side: ${sides[0]}`);
    assert.ok(sides[1].includes("edited at the top") && sides[1].includes("edited at the bottom"), `the new side: ${sides[1]}`);
    await diff.locator("[data-testid=hunk-stage]").nth(1).waitFor();
    assert.equal(await diff.locator("[data-testid=hunk-stage]").count(), 2, "two hunks");
    await screenshot(page, "cloud-git-01-diff");

    // One hunk staged: the index holds the top edit only.
    await diff.locator("[data-testid=hunk-stage]").first().click();
    await fileIn("staged", "hello.v").waitFor({ timeout: 15_000 });
    await fileIn("changes", "hello.v").waitFor();
    const cached = JSON.parse((await ide.api("api/v1/git/diff?path=hello.v&staged=true")).text);
    assert.match(cached.new, /edited at the top/);
    assert.doesNotMatch(cached.new, /edited at the bottom/);
    // Then the rest of the file, with its row's Stage button.
    await fileIn("changes", "hello.v").locator("xpath=..").locator("[data-testid=stage]").click();
    await section("changes").waitFor({ state: "detached", timeout: 15_000 });

    const message = "Edit hello from the cloud IDE";
    await page.fill("[data-testid=git-message]", message);
    await page.press("[data-testid=git-message]", "Control+Enter");
    await output().filter({ hasText: message }).waitFor({ timeout: 15_000 });
    await section("staged").waitFor({ state: "detached" });
    await page.locator("[data-testid=git-sync]", { hasText: "↑1" }).waitFor({ timeout: 10_000 });
    await screenshot(page, "cloud-git-02-committed");

    const pushed = await syncDone("push");
    assert.equal(pushed.error, false, pushed.text);
    assert.match(pushed.text, /main -> main/);
    await page.locator("[data-testid=git-sync]", { hasText: "↑" }).waitFor({ state: "detached", timeout: 15_000 });
    await screenshot(page, "cloud-git-03-pushed");

    const dir = await clone();
    const { stdout: log } = await run("git", ["-C", dir, "log", "-1", "--format=%s|%an <%ae>|%cn <%ce>"]);
    const who = `${h.user} <${h.user}@users.${new URL(h.url).hostname}>`;
    assert.equal(log.trim(), `${message}|${who}|${who}`, "the commit, by the account's identity");
    const text = readFileSync(join(dir, "hello.v"), "utf8");
    assert.ok(text.startsWith(top) && text.endsWith(bottom), text);
  });

  test("a push after someone else pushed is rejected in words; Pull brings their commit in; Push then succeeds", async (t) => {
    if (!ready(t)) return;
    // Someone else pushes from a clone on disk.
    const theirs = await clone();
    writeFileSync(join(theirs, "from-outside.txt"), "pushed from outside\n");
    await outside(theirs, "add", "from-outside.txt");
    await outside(theirs, "commit", "-q", "-m", "From outside");
    await outside(theirs, "push", "-q", "origin", "HEAD");

    // A commit of the session's own, through the panel.
    await editAndSave(page, "hello.v", "// a second edit\n");
    await fileIn("changes", "hello.v").waitFor({ timeout: 20_000 });
    await page.click("[data-testid=stage-all-changes]");
    await fileIn("staged", "hello.v").waitFor({ timeout: 15_000 });
    await page.fill("[data-testid=git-message]", "Second edit");
    await page.press("[data-testid=git-message]", "Control+Enter");
    await output().filter({ hasText: "Second edit" }).waitFor({ timeout: 15_000 });
    await page.locator("[data-testid=git-sync]", { hasText: "↑1" }).waitFor({ timeout: 10_000 });

    const rejected = await syncDone("push");
    assert.equal(rejected.error, true, rejected.text);
    assert.match(rejected.text, /rejected/i);
    assert.match(rejected.text, /pull first/i);
    assert.doesNotMatch(rejected.text, /^\s*[{[]|\b409\b|HTTP/, "git's reason, not a status or JSON");
    await page.locator("[data-testid=git-sync]", { hasText: "↑1" }).waitFor();
    // The panel points at Pull, and its buttons work again.
    await page.locator("[data-testid=git-pull].attention").waitFor({ timeout: 10_000 });
    assert.equal(await page.locator("[data-testid=git-push]").isEnabled(), true);
    await screenshot(page, "cloud-git-04-rejected");
    const check = await clone();
    const { stdout: head } = await run("git", ["-C", check, "log", "-1", "--format=%s"]);
    assert.equal(head.trim(), "From outside", "the rejected push left main alone");

    const pulled = await syncDone("pull");
    assert.equal(pulled.error, false, pulled.text);
    await page.locator('.tree-row[data-path="from-outside.txt"]').waitFor({ timeout: 20_000 });
    await page.click('.tree-row[data-path="from-outside.txt"]');
    await page.locator('.cm-content[data-path="from-outside.txt"]', { hasText: "pushed from outside" }).waitFor({ timeout: 10_000 });
    await page.locator("[data-testid=git-sync]", { hasText: "↓" }).waitFor({ state: "detached", timeout: 15_000 });
    assert.equal(await page.locator("[data-testid=git-pull].attention").count(), 0, "Pull no longer marked");
    await screenshot(page, "cloud-git-05-pulled");

    const again = await syncDone("push");
    assert.equal(again.error, false, again.text);
    await page.locator("[data-testid=git-sync]", { hasText: "↑" }).waitFor({ state: "detached", timeout: 15_000 });
    await outside(theirs, "pull", "-q", "--no-rebase", "origin", "main");
    const { stdout: subjects } = await run("git", ["-C", theirs, "log", "--format=%s", "-4"]);
    assert.match(subjects, /Second edit/);
    assert.match(subjects, /From outside/);
    assert.ok(readFileSync(join(theirs, "hello.v"), "utf8").startsWith("// a second edit\n" + top), "the clone has the session's edit");
    await screenshot(page, "cloud-git-06-pushed-again");
  });

  test("Commit with nothing staged offers to stage all and commit; a second push with nothing new is up to date", async (t) => {
    if (!ready(t)) return;
    await editAndSave(page, "hello.v", "// a third edit, never staged by hand\n");
    await fileIn("changes", "hello.v").waitFor({ timeout: 20_000 });
    await page.fill("[data-testid=git-message]", "Third edit");
    await page.click("[data-testid=git-commit]");
    const ask = page.getByRole("dialog", { name: "Commit all changes?" });
    await ask.waitFor();
    assert.match(await ask.textContent(), /Nothing is staged\. Stage all changes \(1 file\) and commit them\?/);
    await screenshot(page, "cloud-git-07-smart-commit");
    await ask.getByRole("button", { name: "Stage all and commit" }).click();
    await output().filter({ hasText: "Third edit" }).waitFor({ timeout: 15_000 });
    await section("changes").waitFor({ state: "detached", timeout: 15_000 });
    const pushed = await syncDone("push");
    assert.equal(pushed.error, false, pushed.text);
    await page.locator("[data-testid=git-sync]", { hasText: "↑" }).waitFor({ state: "detached", timeout: 15_000 });
    // Nothing new: the node has main's commit already, and says so in git's words.
    const again = await syncDone("push");
    assert.equal(again.error, false, again.text);
    assert.doesNotMatch(again.text, /no branch/);
    const { stdout: subject } = await run("git", ["-C", await clone(), "log", "-1", "--format=%s"]);
    assert.equal(subject.trim(), "Third edit");
  });

  test("pushing the autosave branch or an option-like name is refused", async (t) => {
    if (!ready(t)) return;
    for (const branch of ["ide/autosave", "--force", "main:refs/heads/other"]) {
      const r = await ide.api("api/v1/git/push", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ branch }) });
      assert.equal(r.status, 400, `${branch}: ${r.text}`);
    }
  });

  test("no uncaught page errors", (t) => {
    if (!ready(t)) return;
    assert.deepEqual(ide.errors, []);
  });
});
