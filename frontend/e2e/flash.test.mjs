// End-to-end: flashing from Debian's Chromium with simulated boards standing
// in for navigator.usb and navigator.serial (src/flash/sim/page.ts; no board
// can be attached here). Build the sample, then Flash it to a simulated
// iCEstick (FT2232H + N25Q032 + iCE40HX1K): the flash reads back equal and
// CDONE rises. Then the broken cases a user meets: a wrong flash chip, the
// board unplugged mid-write, a bitstream for another FPGA, a browser with no
// WebUSB; and a DFU board. Screenshots go to test-results/flash-*.png.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bundle, openIDE, requireDeps, screenshot } from "./harness.mjs";

const problem = requireDeps();

describe("flashing end to end", { timeout: 300_000, skip: problem ?? false }, () => {
  let ide, s, page, errors, bin;

  before(async () => {
    ide = await openIDE({ initScript: await bundle("src/flash/sim/page.ts", "GatewaveFlashSim") });
    ({ s, page, errors } = ide);
  });

  after(async () => {
    await ide?.close();
  });

  const sha = (b) => createHash("sha256").update(b).digest("hex");

  async function flash(board, want) {
    await page.getByTestId("flash-board").selectOption(board);
    await page.getByTestId("flash").click();
    const status = page.getByTestId("flash-status");
    await status.filter({ hasText: /^(Flashed|Flash failed|Can't flash)/ }).waitFor({ timeout: 120_000 });
    const text = await status.innerText();
    assert.match(text, want);
    return text;
  }

  test("build, then flash the sample to a simulated iCEstick: read back equal, CDONE high", async () => {
    await page.getByTestId("build").click();
    await page.getByTestId("task-state").filter({ hasText: "succeeded" }).waitFor({ timeout: 180_000 });
    await page.locator('.bits-row[data-path="build/blinky.bin"]').waitFor({ timeout: 10_000 });
    await page.locator('.bits-row[data-path="build/blinky.bin"] input').check();
    bin = readFileSync(join(s.dir, "build/blinky.bin"));
    // The sample's pin file names the iCEstick, so it is the board offered first.
    assert.equal(await page.getByTestId("flash-board").inputValue(), "icestick");

    assert.equal(await page.getByTestId("flash-clock").inputValue(), "6000000", "SPI at 6 MHz unless the user picks another clock");
    await page.evaluate(() => window.__flashSim.plugIce40({ bridge: "FT2232H", flash: "N25Q032", fpga: "hx1k" }));
    const text = await flash("icestick", /^Flashed build\/blinky\.bin to Lattice iCEstick/);
    await screenshot(page, "flash-icestick");
    const got = await page.evaluate(async (n) => {
      const b = window.__flashSim.ice40;
      const d = await crypto.subtle.digest("SHA-256", b.flash.memory.slice(0, n));
      return { sha: [...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, "0")).join(""), cdone: b.fpga.cdone, from: b.fpga.configuredFrom, rest: b.flash.memory.slice(n, n + 4096).every((x) => x === 0xff), requests: window.__flashSim.usb.requests.map((r) => r.filters) };
    }, bin.byteLength);
    assert.equal(got.sha, sha(bin), "the flash holds exactly the bitstream");
    assert.ok(got.cdone, "CDONE rose after the FPGA loaded the image: " + text);
    assert.equal(got.from, "flash");
    assert.ok(got.rest, "nothing past the image was written");
    assert.deepEqual(got.requests.at(-1), [{ vendorId: 0x0403, productId: 0x6010 }], "the chooser asked for the board's own FTDI id");
  });

  test("a wrong flash chip is named, and nothing is written", async () => {
    await page.evaluate(() => {
      window.__flashSim.unplugAll();
      // A board whose flash answers an id we do not know.
      window.__flashSim.plugIce40({ flash: "W25Q32", jedecId: [0xc2, 0x99, 0x01] });
    });
    const text = await flash("icestick", /^Flash failed: .*(c2 ?99 ?01|C2 ?99 ?01|0xc29901)/i);
    await screenshot(page, "flash-wrong-chip");
    assert.ok(await page.evaluate(() => window.__flashSim.ice40.flash.memory.every((x) => x === 0xff)), "nothing was erased or written: " + text);
  });

  test("unplugging the board mid-write says so, and the IDE keeps working", async () => {
    await page.evaluate(() => {
      window.__flashSim.unplugAll();
      const sim = window.__flashSim;
      const b = sim.plugIce40({});
      // Pull the cable once a few pages have gone out.
      const t = setInterval(() => {
        if (b.flash.log.filter((l) => /^(PP|02|page program)/i.test(l)).length >= 8) {
          clearInterval(t);
          sim.usb.unplug(b.device);
        }
      }, 0);
    });
    await flash("icestick", /^Flash failed: .*(unplugged|disconnected|gone|lost)/i);
    await screenshot(page, "flash-unplugged");
  });

  test("a bitstream for another FPGA is refused before anything is erased", async () => {
    await page.evaluate(() => {
      window.__flashSim.unplugAll();
      window.__flashSim.plugIce40({ fpga: "hx8k" });
    });
    await flash("ice40hx8k-breakout", /^Flash failed: .*(hx1k|HX1K).*(hx8k|HX8K)|^Flash failed: .*(hx8k|HX8K).*(hx1k|HX1K)/);
    await screenshot(page, "flash-wrong-device");
    assert.ok(await page.evaluate(() => window.__flashSim.ice40.flash.memory.every((x) => x === 0xff)));
    await page.getByTestId("flash-board").selectOption("icestick");
  });

  test("a DFU board (Fomu, UP5K) refuses the HX1K sample, then gets exactly an UP5K bitstream's bytes", async () => {
    await page.evaluate(() => {
      window.__flashSim.unplugAll();
      window.__flashSim.plugDfu({ vendorId: 0x1209, productId: 0x5bf0, productName: "Fomu", transferSize: 1024, pollTimeoutMs: 2 });
    });
    await flash("fomu", /^Flash failed: .*HX1K.*UP5K|^Flash failed: .*UP5K.*HX1K/);
    assert.equal(await page.evaluate(() => window.__flashSim.dfu.manifested), null, "nothing reached the device");
    // The same design placed for the UP5K by the real tools (nextpnr places the pins itself without a pin file).
    const b = join(s.dir, "build");
    execFileSync("yosys", ["-q", "-p", `synth_ice40 -top blinky -json ${join(b, "up5k.json")}`, join(s.dir, "blinky.v")], { stdio: ["ignore", "ignore", "pipe"] });
    execFileSync("nextpnr-ice40", ["-q", "--up5k", "--package", "sg48", "--json", join(b, "up5k.json"), "--asc", join(b, "up5k.asc")], { stdio: ["ignore", "ignore", "pipe"] });
    execFileSync("icepack", [join(b, "up5k.asc"), join(b, "up5k.bin")], { stdio: ["ignore", "ignore", "pipe"] });
    const up5k = readFileSync(join(b, "up5k.bin"));
    await page.locator('.bits-row[data-path="build/up5k.bin"] input').check({ timeout: 15_000 });
    await flash("fomu", /^Flashed build\/up5k\.bin to Fomu/);
    const got = await page.evaluate(async () => {
      const d = await crypto.subtle.digest("SHA-256", window.__flashSim.dfu.manifested);
      return [...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, "0")).join("");
    });
    assert.equal(got, sha(up5k));
    await screenshot(page, "flash-fomu");
    await page.locator('.bits-row[data-path="build/blinky.bin"] input').check();
    await page.getByTestId("flash-board").selectOption("icestick");
  });

  test("Cancel in the middle says so, and flashing again at once works", async () => {
    await page.evaluate(() => {
      window.__flashSim.unplugAll();
      window.__flashSim.plugIce40({});
    });
    await page.getByTestId("flash-board").selectOption("icestick");
    await page.getByTestId("flash").click();
    await page.getByTestId("flash-status").filter({ hasText: /^Erasing/ }).waitFor({ timeout: 30_000 });
    await page.getByTestId("flash-cancel").click();
    await page.getByTestId("flash-status").filter({ hasText: /^Flash cancelled\./ }).waitFor({ timeout: 30_000 });
    await screenshot(page, "flash-cancelled");
    await page.getByTestId("flash-clock").selectOption("3000000");
    await flash("icestick", /^Flashed build\/blinky\.bin to Lattice iCEstick: .* at 3 MHz/);
    await page.getByTestId("flash-clock").selectOption("6000000");
    const ok = await page.evaluate((n) => window.__flashSim.ice40.fpga.cdone && window.__flashSim.ice40.flash.memory.slice(0, n).some((x) => x !== 0xff), bin.byteLength);
    assert.ok(ok);
  });

  test("a TinyFPGA BX over Web Serial refuses the iCEstick's bitstream and leaves its bootloader alone", async () => {
    await page.evaluate(() => {
      window.__flashSim.unplugAll();
      window.__flashSim.plugTinyFpga({});
    });
    const before = await page.evaluate(() => Array.from(window.__flashSim.tiny.flash.memory.slice(0, 0x28000)).reduce((a, x) => (a * 31 + x) >>> 0, 7));
    await flash("tinyfpga-bx", /^Flash failed: .*(HX1K|hx1k|1K).*(LP8K|lp8k|8K)|^Flash failed: .*(LP8K|lp8k|8K).*(HX1K|hx1k|1K)/);
    await screenshot(page, "flash-tinyfpga-wrong-device");
    const after = await page.evaluate(() => Array.from(window.__flashSim.tiny.flash.memory.slice(0, 0x28000)).reduce((a, x) => (a * 31 + x) >>> 0, 7));
    assert.equal(after, before, "the bootloader region is untouched");
    await page.getByTestId("flash-board").selectOption("icestick");
  });

  test("via sessiond on a host with no USB bus says so plainly, before running any programmer", async () => {
    // This machine, like a cloud container, has no USB bus: sessiond refuses at once with a sentence a user can act on
    // (sessiond/flash's Go tests run the real openFPGALoader against a USB bus with no board on it).
    await page.getByTestId("flash-board").selectOption("icestick");
    await page.getByTestId("flash-native").click();
    const status = page.getByTestId("flash-status");
    await status.filter({ hasText: /^(Flashed|Flash (failed|cancelled))/ }).waitFor({ timeout: 60_000 });
    assert.match(await status.innerText(), /^Flash failed: This session runs in a container with no USB devices .*use Flash in the browser/);
    await screenshot(page, "flash-native-no-usb");
  });

  test("a browser without WebUSB says what to use instead", async () => {
    const p2 = await ide.browser.context.newPage();
    await p2.addInitScript(() => {
      delete Navigator.prototype.usb;
      Object.defineProperty(Navigator.prototype, "usb", { configurable: true, get: () => undefined });
    });
    await p2.goto(s.url);
    await p2.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
    await p2.getByTestId("flash-board").selectOption("icestick");
    const why = await p2.getByTestId("flash-obstacle").innerText();
    assert.match(why, /no WebUSB.*Chrome/);
    // Without WebUSB the host's devices are listed instead; this machine has no USB bus, and the note says so.
    await p2.getByTestId("flash-devices").filter({ hasText: /USB/ }).waitFor({ timeout: 10_000 });
    await screenshot(p2, "flash-no-webusb");
    await p2.close();
  });

  test("no uncaught page errors", () => {
    assert.deepEqual(errors, []);
  });
});
