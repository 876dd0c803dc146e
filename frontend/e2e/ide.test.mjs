// End-to-end: Debian's Chromium drives the built IDE served by a real
// sessiond on a copy of e2e/fixtures. Screenshots go to test-results/.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { depsProblem, launch, missing, screenshot, startSessiond } from "./harness.mjs";

const has = (bin) => {
  try {
    execFileSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

const problem = depsProblem();
if (problem && process.env.CI === "true") {
  test("e2e dependencies are installed", () => {
    throw new Error(problem + " (required under CI=true)");
  });
}

describe("IDE end to end", { timeout: 300_000, skip: problem ?? false }, () => {
  let s, browser, page;
  const errors = [];

  before(async () => {
    s = await startSessiond();
    browser = await launch();
    page = await browser.context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(s.url);
    await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  const ready = (t) => {
    if (!page) {
      t.skip("no browser or sessiond");
      return false;
    }
    return true;
  };

  test("the tree shows the workspace files and the token left the URL", async (t) => {
    if (!ready(t)) return;
    for (const f of ["Makefile", "blinky.v", "icestick.pcf", "main.c", "compile_flags.txt"]) {
      await page.locator(`.tree-row[data-path="${f}"]`).waitFor({ timeout: 5000 });
    }
    assert.ok(!page.url().includes("token="), "the token must be removed from the address bar");
    await page.locator('[data-testid=conn-state]').filter({ hasText: /connected|reconnecting/ }).waitFor();
    await screenshot(page, "01-tree");
  });

  test("the status bar says connecting, not connected, until the file watch stream is open", async (t) => {
    if (!ready(t)) return;
    const p2 = await browser.context.newPage();
    await p2.addInitScript(() => {
      const log = (window.__connLog = []);
      window.__watchOpen = false;
      const WS = window.WebSocket;
      window.WebSocket = class extends WS {
        constructor(...a) {
          super(...a);
          if (String(a[0]).includes("/files/watch")) this.addEventListener("open", () => (window.__watchOpen = true));
        }
      };
      new MutationObserver(() => {
        const st = document.querySelector("[data-testid=conn-state]")?.textContent;
        if (st && st !== log.at(-1)?.state) log.push({ state: st, watchOpen: window.__watchOpen });
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });
    try {
      await p2.goto(s.url);
      await p2.locator("[data-testid=conn-state]").filter({ hasText: /^connected$/ }).waitFor({ timeout: 15_000 });
      const log = await p2.evaluate(() => window.__connLog);
      assert.equal(log[0]?.state, "connecting", JSON.stringify(log));
      const first = log.find((e) => e.state === "connected");
      assert.ok(first?.watchOpen, "connected before the watch stream opened: " + JSON.stringify(log));
    } finally {
      await p2.close();
    }
  });

  test("open, edit and save round-trips to disk", async (t) => {
    if (!ready(t)) return;
    await page.click('.tree-row[data-path="blinky.v"]');
    const editor = page.locator('.cm-content[data-path="blinky.v"]');
    await editor.waitFor();
    await editor.click();
    await page.keyboard.press("Control+Home");
    await page.keyboard.type("// edited in the browser\n");
    await page.locator('.tab[data-path="blinky.v"][data-dirty=true]').waitFor();
    await page.keyboard.press("Control+s");
    await page.locator('.tab[data-path="blinky.v"][data-dirty=false]').waitFor();
    const disk = readFileSync(join(s.dir, "blinky.v"), "utf8");
    assert.ok(disk.startsWith("// edited in the browser\n// blinky"), disk.slice(0, 80));
    await screenshot(page, "02-saved");
  });

  test("a conflicting save offers reload or overwrite, and loses nothing silently", async (t) => {
    if (!ready(t)) return;
    await page.click('.tree-row[data-path="README.md"]');
    const editor = page.locator('.cm-content[data-path="README.md"]');
    await editor.waitFor();
    await editor.click();
    await page.keyboard.press("Control+End");
    await page.keyboard.type("\nmine\n");
    // Someone else changes the file on disk meanwhile.
    writeFileSync(join(s.dir, "README.md"), "theirs\n");
    await page.keyboard.press("Control+s");
    const dialog = page.locator('[data-testid=conflict]');
    await dialog.waitFor({ timeout: 5000 });
    await screenshot(page, "03-conflict");
    assert.equal(readFileSync(join(s.dir, "README.md"), "utf8"), "theirs\n", "nothing is written before the user chooses");
    await dialog.locator('[data-choice=overwrite]').click();
    await page.locator('.tab[data-path="README.md"][data-dirty=false]').waitFor();
    assert.match(readFileSync(join(s.dir, "README.md"), "utf8"), /mine/);

    // Again, this time taking the disk version: the editor shows theirs and
    // keeps mine in its undo history.
    await editor.click();
    await page.keyboard.type("more of mine");
    writeFileSync(join(s.dir, "README.md"), "theirs again\n");
    await page.keyboard.press("Control+s");
    await dialog.waitFor({ timeout: 5000 });
    await dialog.locator('[data-choice=reload]').click();
    await page.waitForFunction(() => window.gatewave.editors.find("README.md")?.view.state.doc.toString() === "theirs again\n", null, { timeout: 5000 }).catch(async (err) => {
      await screenshot(page, "03-conflict-failed");
      throw new Error(err.message + ": editor holds " + JSON.stringify(await page.evaluate(() => window.gatewave.editors.find("README.md")?.view.state.doc.toString())));
    });
    assert.equal(readFileSync(join(s.dir, "README.md"), "utf8"), "theirs again\n");
    await page.keyboard.press("Control+z");
    await page.waitForFunction(() => window.gatewave.editors.find("README.md")?.view.state.doc.toString().includes("more of mine"), null, { timeout: 5000 }).catch(async (err) => {
      throw new Error(err.message + ": after undo the editor holds " + JSON.stringify(await page.evaluate(() => window.gatewave.editors.find("README.md")?.view.state.doc.toString())));
    });
  });

  test("renaming a folder keeps its tabs open at the new paths, unsaved edits included", async (t) => {
    if (!ready(t)) return;
    mkdirSync(join(s.dir, "rtl"), { recursive: true });
    writeFileSync(join(s.dir, "rtl", "a.v"), "module a;\nendmodule\n");
    writeFileSync(join(s.dir, "rtl", "b.v"), "module b;\nendmodule\n");
    await page.click('[data-testid=tree-refresh]');
    await page.click('.tree-row[data-path="rtl"]');
    await page.click('.tree-row[data-path="rtl/b.v"]');
    await page.locator('.cm-content[data-path="rtl/b.v"]').waitFor();
    await page.click('.tree-row[data-path="rtl/a.v"]');
    const editor = page.locator('.cm-content[data-path="rtl/a.v"]');
    await editor.waitFor();
    await editor.click();
    await page.keyboard.press("Control+Home");
    await page.keyboard.type("// unsaved\n");
    await page.locator('.tab[data-path="rtl/a.v"][data-dirty=true]').waitFor();
    await page.click('.tree-row[data-path="rtl"]');
    await page.keyboard.press("F2");
    await page.fill("[data-testid=prompt-input]", "hw");
    await page.keyboard.press("Enter");
    await page.locator('.tab[data-path="hw/a.v"][data-dirty=true]').waitFor({ timeout: 5000 });
    await page.locator('.tab[data-path="hw/b.v"][data-dirty=false]').waitFor({ timeout: 5000 });
    assert.equal(await page.locator('.tab[data-path^="rtl/"]').count(), 0);
    assert.ok(existsSync(join(s.dir, "hw", "a.v")) && !existsSync(join(s.dir, "rtl")));
    await page.click('.tab[data-path="hw/a.v"] .tab-name');
    await page.locator('.cm-content[data-path="hw/a.v"]').click();
    await page.keyboard.press("Control+s");
    await page.locator('.tab[data-path="hw/a.v"][data-dirty=false]').waitFor({ timeout: 5000 });
    assert.equal(readFileSync(join(s.dir, "hw", "a.v"), "utf8"), "// unsaved\nmodule a;\nendmodule\n");
    await screenshot(page, "04-renamed-folder");
  });

  test("a hover's Markdown from a doc comment is rendered without its HTML, handlers or javascript: links", async (t) => {
    if (!ready(t)) return;
    const hdl = await page.evaluate(async () => (await window.gatewave.api.lspLanguages()).languages?.find((l) => l.id === "hdl"));
    if (!hdl?.available) return missing(t, "the HDL language server (" + (hdl?.command ?? "hdl") + ")");
    writeFileSync(join(s.dir, "hov.v"), [
      "// Counts **ticks** <img src=x onerror=\"window.__pwned=1\"> <b onmouseover=\"window.__pwned=2\">b</b> [docs](javascript:window.__pwned=3)",
      "module hov_counter(input clk);",
      "endmodule",
      "module hov_top;",
      "  hov_counter u_c (.clk(1'b0));",
      "endmodule",
      "",
    ].join("\n"));
    await page.click('[data-testid=tree-refresh]');
    await page.click('.tree-row[data-path="hov.v"]');
    await page.locator('.cm-content[data-path="hov.v"]').waitFor();
    const tip = page.locator(".cm-lsp-hover-tooltip");
    const deadline = Date.now() + 20_000;
    // The server may still be indexing: move away and back until a hover shows.
    while (!(await tip.isVisible())) {
      if (Date.now() > deadline) throw new Error("no hover tooltip over hov_counter");
      const at = await page.evaluate(() => {
        const v = window.gatewave.editors.find("hov.v").view;
        const c = v.coordsAtPos(v.state.doc.toString().indexOf("hov_counter u_c") + 4);
        return { x: c.left + 2, y: (c.top + c.bottom) / 2 };
      });
      await page.mouse.move(at.x, at.y + 200);
      await page.mouse.move(at.x, at.y);
      await tip.waitFor({ timeout: 1500 }).catch(() => {});
    }
    await tip.locator("strong", { hasText: "ticks" }).waitFor({ timeout: 5000 });
    await screenshot(page, "05-hover-sanitized");
    assert.equal(await tip.locator("img, script, iframe, [onerror], [onmouseover], a[href^='javascript']").count(), 0, await tip.innerHTML());
    await tip.locator("b", { hasText: "b" }).hover().catch(() => {});
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await page.mouse.move(5, 5);
  });

  test("after a reconnect, open tabs follow what changed on disk meanwhile (modified ones are only marked stale)", async (t) => {
    if (!ready(t)) return;
    writeFileSync(join(s.dir, "rc_a.v"), "module rc_a;\nendmodule\n");
    writeFileSync(join(s.dir, "rc_b.v"), "module rc_b;\nendmodule\n");
    const p2 = await browser.context.newPage();
    await p2.addInitScript(() => {
      // The watch stream can be cut and held down, as a dropped tunnel would.
      window.__watch = { block: false, sockets: [] };
      const WS = window.WebSocket;
      window.WebSocket = class extends WS {
        constructor(url, ...rest) {
          const watch = String(url).includes("/files/watch");
          super(watch && window.__watch.block ? "ws://127.0.0.1:1/" : url, ...rest);
          if (watch) window.__watch.sockets.push(this);
        }
      };
    });
    try {
      await p2.goto(s.url);
      await p2.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
      const doc = (p) => p2.evaluate((q) => window.gatewave.editors.find(q)?.view.state.doc.toString(), p);
      for (const f of ["rc_a.v", "rc_b.v"]) {
        await p2.click(`.tree-row[data-path="${f}"]`);
        await p2.locator(`.cm-content[data-path="${f}"]`).waitFor();
      }
      await p2.locator('.cm-content[data-path="rc_b.v"]').click();
      await p2.keyboard.press("Control+Home");
      await p2.keyboard.type("// mine\n");
      await p2.locator("[data-testid=conn-state]").filter({ hasText: /^connected$/ }).waitFor({ timeout: 10_000 });
      await p2.evaluate(() => {
        window.__watch.block = true;
        for (const ws of window.__watch.sockets) ws.close();
      });
      await p2.locator("[data-testid=conn-state]").filter({ hasText: "reconnecting" }).waitFor({ timeout: 5000 });
      writeFileSync(join(s.dir, "rc_a.v"), "module rc_a2;\nendmodule\n");
      writeFileSync(join(s.dir, "rc_b.v"), "module rc_b2;\nendmodule\n");
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(await doc("rc_a.v"), "module rc_a;\nendmodule\n", "no event can have arrived while the stream was down");
      await p2.evaluate(() => (window.__watch.block = false));
      await p2.waitForFunction(() => window.gatewave.editors.find("rc_a.v")?.view.state.doc.toString() === "module rc_a2;\nendmodule\n", null, { timeout: 15_000 });
      await p2.locator('.tab.stale[data-path="rc_b.v"]').waitFor({ timeout: 5000 });
      assert.equal(await doc("rc_b.v"), "// mine\nmodule rc_b;\nendmodule\n", "unsaved edits are never overwritten");
      assert.equal(readFileSync(join(s.dir, "rc_b.v"), "utf8"), "module rc_b2;\nendmodule\n");
    } finally {
      await p2.close();
    }
  });

  test("the completion popup shows clangd's items in a C file", async (t) => {
    if (!ready(t)) return;
    if (!has("clangd")) return missing(t, "clangd");
    await page.click('.tree-row[data-path="main.c"]');
    const editor = page.locator('.cm-content[data-path="main.c"]');
    await editor.waitFor();
    await editor.click();
    // Put the cursor at the end of "uart_init(&config);" and start a new statement.
    await page.evaluate(() => {
      const tab = window.gatewave.editors.find("main.c");
      const doc = tab.view.state.doc.toString();
      const at = doc.indexOf("uart_init(&config);") + "uart_init(&config);".length;
      tab.view.dispatch({ selection: { anchor: at } });
      tab.view.focus();
    });
    await page.keyboard.press("Enter");
    await page.keyboard.type("config.", { delay: 30 });
    const popup = page.locator(".cm-tooltip-autocomplete");
    const deadline = Date.now() + 30_000;
    // clangd may still be indexing on the first request: ask again until it answers.
    for (;;) {
      try {
        await popup.getByText("baud").first().waitFor({ timeout: 4000 });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await page.keyboard.press("Control+Space");
      }
    }
    await popup.getByText("parity").first().waitFor();
    await screenshot(page, "04-completion");
    await page.keyboard.press("Escape");
  });

  test("the terminal echoes", async (t) => {
    if (!ready(t)) return;
    await page.click("[data-testid=open-terminal]");
    const term = page.locator("[data-testid=terminal]:visible");
    await term.locator(".xterm-rows").waitFor();
    await page.waitForFunction(() => !!document.querySelector(".xterm-rows")?.textContent?.trim(), null, { timeout: 10_000 });
    await term.click();
    await page.keyboard.type("echo gatewave-$((40+2))\n", { delay: 10 });
    await page.waitForFunction(() => /gatewave-42/.test(document.querySelector("[data-testid=terminal]:not([hidden]) .xterm-rows")?.textContent ?? ""), null, { timeout: 10_000 });
    await screenshot(page, "05-terminal");
  });

  test("building the iCE40 sample puts a bitstream in the list", { timeout: 240_000 }, async (t) => {
    if (!ready(t)) return;
    for (const bin of ["yosys", "nextpnr-ice40", "icepack", "make"]) if (!has(bin)) return missing(t, bin);
    const starts = [];
    const onRequest = (r) => r.method() === "POST" && /\/api\/v1\/tasks(\?|$)/.test(r.url()) && starts.push(r.url());
    page.on("request", onRequest);
    await page.click("[data-testid=build]");
    // Ctrl+Shift+B while it runs follows the disabled button: no second build.
    await page.keyboard.press("Control+Shift+B");
    await page.locator("#toasts").filter({ hasText: "A build is already running" }).waitFor({ timeout: 5000 });
    await page.locator("[data-testid=task-state]").filter({ hasText: /succeeded|failed|cancelled/ }).waitFor({ timeout: 200_000 });
    page.off("request", onRequest);
    assert.equal(starts.length, 1, "builds started: " + starts.join(", "));
    const state = await page.locator("[data-testid=task-state]").textContent();
    await screenshot(page, "06-build");
    assert.equal(state, "succeeded", await page.locator("[data-testid=build-log]").textContent());
    await page.locator('.bits-row[data-path="build/blinky.bin"]').waitFor({ timeout: 10_000 });
  });

  test("a bitstream opens as hex, read-only, never as text; a very large text file opens read-only", async (t) => {
    if (!ready(t)) return;
    let bin;
    try {
      bin = readFileSync(join(s.dir, "build/blinky.bin"));
    } catch {
      return missing(t, "build/blinky.bin (the build test must pass first)");
    }
    const row = page.locator('.tree-row[data-path="build/blinky.bin"]');
    if (!(await row.isVisible())) await page.locator('.tree-row[data-path="build"]').click();
    await row.click();
    const hex = page.locator('.binary-view[data-path="build/blinky.bin"] [data-testid=binary-hex]');
    await hex.waitFor({ timeout: 10_000 });
    const first = [...bin.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    assert.ok((await hex.innerText()).startsWith("00000000  " + first), (await hex.innerText()).slice(0, 80));
    assert.match(await page.getByTestId("binary-info").innerText(), new RegExp(`${bin.byteLength.toLocaleString("en")} bytes\\), binary`));
    assert.equal(await page.locator('.cm-content[data-path="build/blinky.bin"]').count(), 0, "no text editor for a binary file");
    await screenshot(page, "07-binary");
    // A 5 MB text file: shown, not editable.
    writeFileSync(join(s.dir, "big.log"), "line of a large log file\n".repeat(220_000));
    await page.locator('.tree-row[data-path="big.log"]').click({ timeout: 10_000 });
    const big = page.locator('.cm-content[data-path="big.log"]');
    await big.waitFor({ timeout: 20_000 });
    assert.equal(await big.getAttribute("contenteditable"), "false");
    assert.ok(readFileSync(join(s.dir, "build/blinky.bin")).equals(bin), "the bitstream is untouched");
  });

  test("telemetry charts draw live samples", async (t) => {
    if (!ready(t)) return;
    await page.click("[data-testid=open-telemetry]");
    await page.locator("[data-testid=cpu-chart] canvas").waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => /cpu \d+% of/.test(document.querySelector(".telemetry-mini")?.textContent ?? ""), null, { timeout: 10_000 });
    await screenshot(page, "08-telemetry");
  });

  test("no uncaught page errors", (t) => {
    if (!ready(t)) return;
    assert.deepEqual(errors, []);
  });
});
