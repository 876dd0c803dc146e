// Git push and pull in a cloud session, end to end: Debian's Chromium in
// the IDE through the cloud's tunnel /s/{id}/, on a real cloud and node
// (PostgreSQL, dockerd, the container with no network). A file edited in
// the editor and committed is pushed by the node to the user's repo with
// the session's credential (never in the container), and a clone of the
// repo shows the commit; a commit pushed from outside makes the session's
// push "rejected"; a pull brings it in. Screenshots: test-results/cloud-git-*.png.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { cloudDepsProblem, openCloudIDE, pushFiles, startCloud } from "./cloud-harness.mjs";
import { launch, screenshot } from "./harness.mjs";

const run = promisify(execFile);
const problem = await cloudDepsProblem();
if (problem && process.env.CI === "true") {
  test("cloud git e2e dependencies are installed", () => {
    throw new Error(problem + " (required under CI=true)");
  });
}

describe("git push and pull through the cloud", { timeout: 300_000, skip: problem ?? false }, () => {
  let h, browser, ide, page;
  const clones = [];

  before(async () => {
    h = await startCloud({ user: "grace", pool: 1 });
    browser = await launch();
    ide = await openCloudIDE(h, browser, { files: { "hello.v": "module hello;\nendmodule\n" } });
    page = ide.page;
  });

  after(async () => {
    for (const d of clones) rmSync(d, { recursive: true, force: true });
    await browser?.close();
    await h?.stop();
  });

  /** shell types a command into the IDE's terminal and returns the screen once its marker shows. */
  async function shell(cmd) {
    if (!(await page.locator("[data-testid=terminal]:visible").count())) await page.click("[data-testid=open-terminal]");
    const term = page.locator("[data-testid=terminal]:visible");
    await term.locator(".xterm-rows").waitFor();
    await page.waitForFunction(() => !!document.querySelector("[data-testid=terminal]:not([hidden]) .xterm-rows")?.textContent?.trim(), null, { timeout: 15_000 });
    await term.click();
    const marker = `done-${Math.random().toString(36).slice(2, 8)}`;
    await page.keyboard.type(`${cmd}; echo ${marker}-$((6*7))\n`, { delay: 5 });
    await page.waitForFunction((m) => (document.querySelector("[data-testid=terminal]:not([hidden]) .xterm-rows")?.textContent ?? "").includes(m), `${marker}-42`, { timeout: 30_000 });
    return page.locator("[data-testid=terminal]:visible .xterm-rows").textContent();
  }

  /** git runs the page's own fetch of api/v1/git/WHAT, as the IDE's git panel does. */
  async function git(what, body) {
    const r = await ide.api(`api/v1/git/${what}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    let json = null;
    try {
      json = JSON.parse(r.text);
    } catch {}
    return { status: r.status, json, text: r.text };
  }

  /** clone clones the user's repo as the issue says a user would, with the password in the URL. */
  async function clone() {
    const dir = mkdtempSync(join(tmpdir(), "gwe2e-clone-"));
    clones.push(dir);
    const url = new URL(h.url);
    await run("git", ["clone", "-q", `http://${h.user}:${h.password}@${url.host}/git/${h.user}.git`, dir], { timeout: 60_000 });
    return dir;
  }

  async function editAndSave(path, text) {
    await page.click(`.tree-row[data-path="${path}"]`);
    const editor = page.locator(`.cm-content[data-path="${path}"]`);
    await editor.waitFor();
    await editor.click();
    await page.keyboard.press("Control+Home");
    await page.keyboard.type(text);
    await page.locator(`.tab[data-path="${path}"][data-dirty=true]`).waitFor();
    await page.keyboard.press("Control+s");
    await page.locator(`.tab[data-path="${path}"][data-dirty=false]`).waitFor({ timeout: 10_000 });
  }

  const edit = "// pushed from the cloud IDE\n";

  test("an edit committed in the IDE is pushed to the user's repo, and a clone shows the commit", async () => {
    const target = "hello.v";
    await editAndSave(target, edit);
    // The container holds no credential: not in the origin remote's URL, not in the environment.
    const env = await shell("git config --get remote.origin.url; env | grep -ci -e authorization -e password -e gws_");
    assert.doesNotMatch(env, new RegExp(`${h.user}:|@127`), "a credential in the container's origin URL");
    await shell(`git config user.name Grace && git config user.email grace@localhost && git commit -qam 'edit from the cloud IDE'`);
    const r = await git("push", { branch: "main" });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.conflicts, []);
    assert.match(r.json.output, /main -> main/);
    await screenshot(page, "cloud-git-pushed");

    const dir = await clone();
    const { stdout: log } = await run("git", ["-C", dir, "log", "-1", "--format=%s %H"]);
    assert.match(log, /^edit from the cloud IDE /);
    assert.equal(log.trim().split(" ").pop(), r.json.commit);
    assert.ok(readFileSync(join(dir, target), "utf8").startsWith(edit), "the clone has the edit");
    ide.target = target;
  });

  test("a push after someone else pushed is rejected; a pull brings their commit in", async (t) => {
    await pushFiles(h, { "from-outside.txt": "pushed from outside\n" }, { message: "from outside" });
    await shell(`echo local > local.txt && git add local.txt && git commit -qm local`);
    const rej = await git("push", { branch: "main" });
    assert.equal(rej.status, 409, rej.text);
    assert.equal(rej.json.error.code, "rejected");
    assert.match(rej.json.error.message, /pull first/);
    await page.evaluate((m) => {
      const d = document.createElement("div");
      d.id = "e2e-note";
      d.textContent = "push answered: " + m;
      d.style.cssText = "position:fixed;bottom:40px;left:40px;right:40px;padding:8px;background:#300;color:#fff;z-index:99999;font:14px monospace";
      document.body.append(d);
    }, `${rej.status} ${rej.json.error.code}: ${rej.json.error.message}`);
    await screenshot(page, "cloud-git-rejected");
    await page.evaluate(() => document.getElementById("e2e-note")?.remove());
    const clone1 = await clone();
    const { stdout: main } = await run("git", ["-C", clone1, "log", "-1", "--format=%s"]);
    assert.equal(main.trim(), "from outside", "the rejected push left main alone");

    // The merge after the fetch is sessiond's (helper G1's api/v1/git/merge).
    const probe = await ide.api("api/v1/git/status");
    if (probe.status === 404) {
      t.todo("sessiond has no api/v1/git routes yet: the pull's merge cannot run");
      return;
    }
    const pull = await git("pull", { branch: "main" });
    assert.equal(pull.status, 200, pull.text);
    assert.deepEqual(pull.json.conflicts, []);
    assert.equal((await ide.readFile("from-outside.txt")).text, "pushed from outside\n");
    await page.locator('.tree-row[data-path="from-outside.txt"]').waitFor({ timeout: 15_000 });
    await screenshot(page, "cloud-git-pulled");
    const again = await git("push", { branch: "main" });
    assert.equal(again.status, 200, again.text);
    const dir = await clone();
    const { stdout: files } = await run("git", ["-C", dir, "ls-files"]);
    assert.match(files, /local\.txt/);
    assert.match(files, /from-outside\.txt/);
  });

  test("pushing the autosave branch or an option-like name is refused", async () => {
    for (const branch of ["ide/autosave", "--force", "main:refs/heads/other"]) {
      const r = await git("push", { branch });
      assert.equal(r.status, 400, `${branch}: ${r.text}`);
    }
  });
});
