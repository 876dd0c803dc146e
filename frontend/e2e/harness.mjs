// Shared e2e plumbing: a real sessiond on a copy of the sample workspace and
// Debian's Chromium driven by playwright-core. Under CI=true a missing
// browser or sessiond binary fails instead of skipping.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "node:net";
import { test } from "node:test";

const here = dirname(fileURLToPath(import.meta.url));
export const frontendDir = resolve(here, "..");
export const fixtures = join(here, "fixtures");
/** The sample iCE40 project every workspace starts from (one copy in the repo). */
export const blinky = join(here, "..", "..", "examples", "blinky");
export const resultsDir = join(frontendDir, "test-results");
export const chromiumPath = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
export const sessiondBin = resolve(frontendDir, process.env.SESSIOND_BIN || "../bin/sessiond");

/** missing reports an absent dependency: a failure under CI=true, a skip otherwise. */
export function missing(t, what) {
  const msg = `${what} is missing`;
  if (process.env.CI === "true") throw new Error(msg + " (required under CI=true)");
  t.skip(msg);
}

/** depsProblem names a missing sessiond binary or Chromium, or returns null when both are there. */
export function depsProblem() {
  if (!existsSync(sessiondBin)) return `sessiond binary ${sessiondBin} is missing (build it, or set SESSIOND_BIN)`;
  if (!existsSync(chromiumPath)) return `Chromium at ${chromiumPath} is missing`;
  return null;
}

/** freePort returns a port on 127.0.0.1 that nothing listens on now. */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

/**
 * startSessiond copies the sample project and the fixtures (a C program for clangd) into a fresh workspace and serves it on loopback.
 * The IDE settings live in settingsFile (a fresh file outside the workspace unless given).
 */
export async function startSessiond({ workspace, settingsFile } = {}) {
  const settingsDir = settingsFile ? null : mkdtempSync(join(tmpdir(), "gatewave-e2e-settings-"));
  settingsFile ??= join(settingsDir, "settings.json");
  const dir = workspace ?? mkdtempSync(join(tmpdir(), "gatewave-e2e-"));
  if (!workspace) {
    cpSync(blinky, dir, { recursive: true });
    cpSync(fixtures, dir, { recursive: true });
  }
  const token = "e2e-" + Math.random().toString(36).slice(2);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/`;
  const proc = spawn(sessiondBin, ["serve", "--root", dir, "--listen", `127.0.0.1:${port}`, "--log-level", "warn", "--settings", settingsFile], {
    env: { ...process.env, SESSIOND_TOKEN: token },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  proc.stdout.on("data", (d) => (log += d));
  proc.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`sessiond exited early (${proc.exitCode}):\n${log}`);
    try {
      const r = await fetch(base + "healthz");
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`sessiond did not become healthy:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    dir,
    settingsFile,
    token,
    base,
    url: `${base}#token=${token}`,
    log: () => log,
    api: (path, init = {}) => fetch(base + path, { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers ?? {}) } }),
    async stop() {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        await Promise.race([new Promise((r) => proc.once("exit", r)), new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill("SIGKILL");
      }
      if (!workspace) rmSync(dir, { recursive: true, force: true });
      if (settingsDir) rmSync(settingsDir, { recursive: true, force: true });
    },
  };
}

/** launch starts headless Chromium with a fresh profile. */
export async function launch() {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "gatewave-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1400, height: 860 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  return {
    context: browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page, name) {
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: join(resultsDir, name + ".png") });
}

/**
 * requireDeps returns what is missing for the browser tests (null when
 * nothing is); under CI=true it also registers a failing test for it, so
 * a suite skipped with it never passes silently.
 */
export function requireDeps() {
  const problem = depsProblem();
  if (problem && process.env.CI === "true") {
    test("e2e dependencies are installed", () => {
      throw new Error(problem + " (required under CI=true)");
    });
  }
  return problem;
}

/**
 * openIDE starts sessiond (on a copy of the sample, or on workspace) and
 * Chromium on its IDE, ready; errors collects the page's uncaught errors.
 * initScript runs in every page before the IDE's own scripts.
 */
export async function openIDE({ workspace, initScript } = {}) {
  const s = await startSessiond({ workspace });
  const browser = await launch();
  if (initScript) await browser.context.addInitScript({ content: initScript });
  const page = await browser.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(s.url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
  return {
    s, browser, page, errors,
    async close() {
      await browser.close();
      await s.stop();
    },
  };
}

/**
 * bundle builds one TypeScript entry of the frontend into an IIFE that
 * defines the global name, for injection into a page (the device simulators).
 */
export async function bundle(entry, name) {
  const { build } = await import("vite");
  const out = await build({
    configFile: false,
    logLevel: "silent",
    build: { write: false, minify: false, lib: { entry: join(frontendDir, entry), formats: ["iife"], name, fileName: name } },
  });
  return (Array.isArray(out) ? out[0] : out).output[0].code;
}
