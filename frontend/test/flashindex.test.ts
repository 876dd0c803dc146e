// The browser flasher's front door (src/flash/index.ts) against the real
// board list and the simulated devices: what is refused before a device is
// touched, and what a Cancel looks like whichever driver runs.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { DfuSimulator } from "../src/dfu/simulator";
import type { Board } from "../src/flash/boards";
import { chooseDevice, checkImageFor, flashChosen, obstacle, type FlashEnv } from "../src/flash/index";
import { createIce40Board } from "../src/flash/sim/board";
import { makeIce40Image } from "../src/flash/sim/ice40";
import { FakeSerial } from "../src/flash/sim/serial";
import { createTinyFpgaBx } from "../src/flash/sim/tinyprog";
import { FakeUSB } from "../src/flash/sim/usb";
import { FlashError } from "../src/flash/types";
import { blinkyHx1k } from "./bitstreams";

const boards: Board[] = JSON.parse(readFileSync(resolve(__dirname, "../../sessiond/flash/boards.json"), "utf8")).boards;
const board = (id: string) => boards.find((b) => b.id === id)!;
const blinky = blinkyHx1k();

function env(o: Partial<FlashEnv> = {}): FlashEnv {
  return { usb: new FakeUSB({ requireGesture: false }) as unknown as USB, serial: new FakeSerial({ requireGesture: false }) as unknown as Serial, secure: true, desktop: false, ...o };
}

async function failure(p: Promise<unknown>): Promise<FlashError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FlashError);
    return err as FlashError;
  }
  throw new Error("expected a FlashError");
}

describe("what stands in the way", () => {
  it("names the browser API a board needs, and what works instead", () => {
    expect(obstacle(board("icestick"), env({ usb: null }))).toMatch(/no WebUSB.*Chrome, Chromium or Edge/);
    expect(obstacle(board("tinyfpga-bx"), env({ serial: null }))).toMatch(/no Web Serial/);
    expect(obstacle(board("icestick"), env({ usb: null, secure: false }))).toMatch(/https:\/\/ or localhost/);
    expect(obstacle(board("icestick"), env({ usb: null, desktop: true }))).toMatch(/desktop app flashes .* through sessiond/);
    expect(obstacle(board("icestick"), env())).toBeNull();
  });
});

describe("checks before a device is touched", () => {
  it("refuses an image for another iCE40 on a DFU board, and an iCE40 image on an ECP5 board", () => {
    expect(() => checkImageFor(board("fomu"), blinky)).toThrow(/HX1K.*UP5K|UP5K.*HX1K/);
    expect(() => checkImageFor(board("orangecrab"), blinky)).toThrow(/iCE40 bitstream.*LFE5U/);
    expect(() => checkImageFor(board("fomu"), makeIce40Image("up5k", { seed: 3 }))).not.toThrow();
  });

  it("asks the chooser for the board's own ids only, and refuses a device that is not the board", async () => {
    const usb = new FakeUSB({ requireGesture: false });
    const crab = new DfuSimulator({ vendorId: 0x1209, productId: 0x5af0, productName: "OrangeCrab" });
    usb.plug(crab);
    const e = env({ usb: usb as unknown as USB });
    // Only an OrangeCrab is plugged in: choosing Fomu finds nothing.
    expect((await failure(chooseDevice(board("fomu"), e))).code).toBe("no_device");
    expect(usb.requests.at(-1)?.filters).toEqual([{ vendorId: 0x1209, productId: 0x5bf0 }]);
    // Handed a device that is not the board anyway (another chooser), it is refused by its ids.
    const err = await failure(flashChosen({ board: board("fomu"), usb: crab as unknown as USBDevice }, makeIce40Image("up5k", { seed: 3 }), { env: e }));
    expect(err.code).toBe("wrong_device");
    expect(err.message).toMatch(/1209:5af0.*Fomu/);
    expect(crab.manifested).toBeNull();
  });
});

describe("a Cancel", () => {
  it("is FlashError cancelled from every driver", async () => {
    const ac = new AbortController();
    ac.abort();
    const ice = createIce40Board();
    const c1 = await failure(flashChosen({ board: board("icestick"), usb: ice.device as unknown as USBDevice }, blinky, { signal: ac.signal, clock: ice.clock }));
    expect(c1.code).toBe("cancelled");
    const bx = createTinyFpgaBx();
    const lp8k = makeIce40Image("hx8k", { seed: 5, size: 135100 });
    const c2 = await failure(flashChosen({ board: board("tinyfpga-bx"), serial: bx.port as unknown as SerialPort }, lp8k, { signal: ac.signal, clock: bx.clock }));
    expect(c2.code).toBe("cancelled");
  });
});
