// End-to-end: Git in the IDE on sessiond alone, as on the desktop: the
// workspace is a git repository whose origin is a local bare repository.
// An edit on disk appears under Changes; its diff opens side by side; one
// of its two hunks is staged (the index then holds that hunk only); the
// commit (Ctrl+Enter) is pushed and `git log` on the bare remote shows it.
// A commit pushed from another clone comes in with Pull; blame names the
// author of a line; a pull that conflicts lists the file under Conflicts.
// Screenshots go to test-results/.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { blinky, openIDE, requireDeps, screenshot } from "./harness.mjs";

const problem = requireDeps();

const gitEnv = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", LC_ALL: "C" };
const git = (dir, ...args) => execFileSync("git", args, { cwd: dir, env: gitEnv, encoding: "utf8" });

describe("git in the IDE end to end", { timeout: 180_000, skip: problem ?? false }, () => {
  let ide, page, errors, dir, bare, other, tmp;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "gatewave-git-e2e-"));
    dir = join(tmp, "ws");
    bare = join(tmp, "remote.git");
    other = join(tmp, "other");
    cpSync(blinky, dir, { recursive: true });
    git(tmp, "init", "-q", "--bare", "-b", "main", bare);
    git(dir, "init", "-q", "-b", "main");
    for (const d of [dir]) {
      git(d, "config", "user.name", "Ada Lovelace");
      git(d, "config", "user.email", "ada@example.com");
    }
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "the sample");
    git(dir, "remote", "add", "origin", bare);
    git(dir, "push", "-q", "-u", "origin", "main");
    git(tmp, "clone", "-q", bare, other);
    git(other, "config", "user.name", "Grace Hopper");
    git(other, "config", "user.email", "grace@example.com");
    ide = await openIDE({ workspace: dir });
    ({ page, errors } = ide);
  });

  after(async () => {
    await ide?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const section = (name) => page.locator(`[data-testid=git-${name}]`);
  const fileIn = (name, path) => section(name).locator(`[data-testid=git-file][data-path="${path}"]`);

  test("edit, diff, stage one hunk, commit, push", async () => {
    // From inside an editor, as a user presses it: Source Control, not CodeMirror's "find previous".
    await page.click('.tree-row[data-path="blinky.v"]');
    await page.locator('.cm-content[data-path="blinky.v"]').click();
    await page.keyboard.press("Control+Shift+G");
    await page.locator("[data-testid=git-message]").waitFor({ state: "visible" });
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "git-message");
    assert.equal(await page.locator(".cm-search").count(), 0, "the editor's find panel opened");
    assert.match(await page.locator("[data-testid=git-branch]").textContent(), /main/);

    const lines = readFileSync(join(dir, "blinky.v"), "utf8").split("\n");
    lines[1] = "// second from the board's 12 MHz clock (edited at the top).";
    lines[15] = "    assign led = ring; // edited at the bottom";
    writeFileSync(join(dir, "blinky.v"), lines.join("\n"));
    await fileIn("changes", "blinky.v").waitFor({ timeout: 10_000 });

    await fileIn("changes", "blinky.v").click();
    const diff = page.locator('[data-testid=git-diff][data-path="blinky.v"]');
    await diff.locator(".cm-mergeView").waitFor({ timeout: 10_000 });
    await diff.locator("[data-testid=hunk-stage]").nth(1).waitFor();
    assert.equal(await diff.locator("[data-testid=hunk-stage]").count(), 2);
    await screenshot(page, "git-diff-side-by-side");

    await diff.locator("[data-testid=hunk-stage]").first().click();
    await fileIn("staged", "blinky.v").waitFor({ timeout: 10_000 });
    await fileIn("changes", "blinky.v").waitFor();
    const cached = git(dir, "diff", "--cached");
    assert.match(cached, /edited at the top/);
    assert.doesNotMatch(cached, /edited at the bottom/);
    await diff.locator("[data-testid=hunk-stage]").first().waitFor();
    assert.equal(await diff.locator("[data-testid=hunk-stage]").count(), 1, "one hunk left to stage");

    await diff.locator("[data-testid=diff-mode]").click();
    await diff.locator(".cm-editor .cm-deletedChunk, .cm-editor .cm-changedLine").first().waitFor({ timeout: 5_000 });
    await screenshot(page, "git-diff-inline");

    // An empty message is refused with git's reason shown.
    await page.click("[data-testid=git-commit]");
    await page.locator("[data-testid=git-output].error", { hasText: "needs a message" }).waitFor();

    await page.fill("[data-testid=git-message]", "Edit the top comment");
    await page.press("[data-testid=git-message]", "Control+Enter");
    await page.locator("[data-testid=git-output]", { hasText: "Edit the top comment" }).waitFor({ timeout: 10_000 });
    await section("staged").waitFor({ state: "detached" });
    assert.equal(git(dir, "log", "-1", "--format=%s"), "Edit the top comment\n");
    await page.locator("[data-testid=git-sync]", { hasText: "↑1" }).waitFor();
    await screenshot(page, "git-committed");

    await page.click("[data-testid=git-push]");
    await page.locator("[data-testid=git-sync]", { hasText: "↑1" }).waitFor({ state: "detached", timeout: 20_000 });
    assert.equal(git(bare, "log", "-1", "--format=%s %an", "main"), "Edit the top comment Ada Lovelace\n");
    // a clone shows the commit
    git(other, "pull", "-q", "--no-rebase");
    assert.match(readFileSync(join(other, "blinky.v"), "utf8"), /edited at the top/);
    await screenshot(page, "git-pushed");
  });

  test("pull brings a remote commit; blame names its author", async () => {
    writeFileSync(join(other, "NOTES.md"), "from the other clone\n");
    writeFileSync(join(other, "blinky_tb.v"), readFileSync(join(other, "blinky_tb.v"), "utf8") + "// Grace was here\n");
    git(other, "add", "-A");
    git(other, "commit", "-q", "-m", "Notes from Grace");
    git(other, "push", "-q");

    // the working tree keeps an unrelated local change (the bottom hunk)
    await page.click("[data-testid=git-pull]");
    await page.locator("[data-testid=git-output]", { hasText: "NOTES.md" }).waitFor({ timeout: 20_000 });
    assert.equal(readFileSync(join(dir, "NOTES.md"), "utf8"), "from the other clone\n");
    assert.match(readFileSync(join(dir, "blinky.v"), "utf8"), /edited at the bottom/, "the local change is kept");

    await page.evaluate(() => window.gatewave.editors.open("blinky_tb.v"));
    await page.locator('.tab[data-path="blinky_tb.v"].active').waitFor({ timeout: 10_000 });
    const last = (await page.evaluate(() => window.gatewave.editors.active.view.state.doc.lines)) - 1;
    await page.evaluate((n) => {
      const v = window.gatewave.editors.active.view;
      v.dispatch({ selection: { anchor: v.state.doc.line(n).from + 2 } });
      v.focus();
    }, last);
    await page.keyboard.press("Control+Shift+P");
    await page.keyboard.type("Blame This Line");
    await page.keyboard.press("Enter");
    await page.locator("[data-testid=git-output]", { hasText: "Grace Hopper" }).waitFor({ timeout: 10_000 });
    assert.match(await page.locator("[data-testid=git-output]").textContent(), new RegExp(`Line ${last}: Grace Hopper, \\d{4}-\\d\\d-\\d\\d — Notes from Grace`));
    await screenshot(page, "git-blame");
  });

  test("the branch picker creates a branch, refuses a bad name and switches back", async () => {
    const pick = async () => {
      await page.click("[data-testid=git-branch]");
      await page.locator("[data-testid=git-branch-picker]").waitFor();
    };
    await pick();
    await page.locator("[data-testid=git-branch-picker] .qp-label", { hasText: "Create new branch" }).click();
    await page.fill("[data-testid=prompt-input]", "--upload-pack=touch x");
    await page.press("[data-testid=prompt-input]", "Enter");
    await page.locator("[data-testid=git-output].error", { hasText: "starts with '-'" }).waitFor({ timeout: 10_000 });
    await pick();
    await page.locator("[data-testid=git-branch-picker] .qp-label", { hasText: "Create new branch" }).click();
    await page.fill("[data-testid=prompt-input]", "feature/leds");
    await page.press("[data-testid=prompt-input]", "Enter");
    await page.locator("[data-testid=git-branch]", { hasText: "feature/leds" }).waitFor({ timeout: 10_000 });
    assert.equal(git(dir, "symbolic-ref", "--short", "HEAD"), "feature/leds\n");
    await pick();
    await screenshot(page, "git-branch-picker");
    await page.keyboard.type("main");
    await page.locator("[data-testid=git-branch-picker] .qp-label", { hasText: /^main$/ }).click();
    await page.locator("[data-testid=git-branch]", { hasText: /main$/ }).waitFor({ timeout: 10_000 });
    assert.equal(git(dir, "symbolic-ref", "--short", "HEAD"), "main\n");
  });

  test("a pull that conflicts lists the file under Conflicts", async () => {
    // commit the local bottom change through the panel, and a different one on the other clone
    await fileIn("changes", "blinky.v").locator("xpath=..").locator("[data-testid=stage]").click();
    await fileIn("staged", "blinky.v").waitFor();
    await page.fill("[data-testid=git-message]", "Bottom, mine");
    await page.click("[data-testid=git-commit]");
    await section("staged").waitFor({ state: "detached" });
    const theirs = readFileSync(join(other, "blinky.v"), "utf8").replace("    assign led = ring;", "    assign led = ~ring; // theirs");
    writeFileSync(join(other, "blinky.v"), theirs);
    git(other, "commit", "-q", "-am", "Bottom, theirs");
    git(other, "push", "-q");

    // push is refused: the remote moved on
    await page.click("[data-testid=git-push]");
    await page.locator("[data-testid=git-output].error", { hasText: "pull first" }).waitFor({ timeout: 20_000 });

    await page.click("[data-testid=git-pull]");
    await fileIn("conflicts", "blinky.v").waitFor({ timeout: 20_000 });
    assert.match(await page.locator("[data-testid=git-output]").textContent(), /Conflicts in: blinky\.v/);
    assert.match(await page.locator("[data-testid=git-branch]").textContent(), /merging/);
    await fileIn("conflicts", "blinky.v").click();
    await page.waitForFunction(() => /<<<<<<< HEAD/.test(window.gatewave.editors.active?.view.state.doc.toString() ?? ""), null, { timeout: 10_000 });
    await screenshot(page, "git-conflicts");
    assert.deepEqual(errors, []);
  });
});
