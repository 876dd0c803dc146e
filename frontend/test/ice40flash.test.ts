// The FTDI/iCE40 driver: command encoding, clock divisors, erase planning
// and bitstream parsing on their own, then whole flashes against the
// datasheet-based board simulator (sim/board.ts) on its virtual clock.
import { describe, expect, it } from "vitest";
import { chipFor, FTDI_CHIPS } from "../src/flash/ftdi";
import { flashIce40, FTDI_FILTERS, readIce40Flash, type Ice40FlashOptions } from "../src/flash/ice40";
import { checkIce40Image, dieForDevice, parseIce40Image } from "../src/flash/ice40image";
import { Cmd, mpsseDivisor } from "../src/flash/mpsse";
import { chipById, eraseTypMs, isErased, planErase, planEraseKeeping, SPI_FLASH_CHIPS } from "../src/flash/spiflash";
import { createIce40Board, FLASH_CHIPS, type Ice40Board, type Ice40BoardOptions } from "../src/flash/sim/board";
import { makeIce40Image } from "../src/flash/sim/ice40";
import { FakeUSB } from "../src/flash/sim/usb";
import { blinkyHx1k, icemultiHx1k } from "./bitstreams";
import { boundMs } from "../bench/flash-entry";
import { FlashError, type FlashProgress } from "../src/flash/types";

/** examples/blinky built for the iCEstick: yosys synth_ice40, nextpnr-ice40 --hx1k --package tq144, icepack. */
const blinky = blinkyHx1k();

function hex(b: ArrayLike<number>): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

async function rejection(p: Promise<unknown>): Promise<FlashError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FlashError);
    return err as FlashError;
  }
  throw new Error("expected a FlashError, the promise resolved");
}

function plugged(o: Ice40BoardOptions = {}): { board: Ice40Board; usb: FakeUSB; device: USBDevice } {
  const board = createIce40Board(o);
  const usb = new FakeUSB({ requireGesture: false });
  usb.plug(board.device);
  return { board, usb, device: board.device as unknown as USBDevice };
}

describe("MPSSE clock divisor", () => {
  it("H series: 60 MHz base with /5 off, f = 60 MHz / ((1 + div) * 2)", () => {
    expect(mpsseDivisor(6_000_000, true)).toEqual({ divisor: 4, hz: 6_000_000, baseHz: 60_000_000 });
    expect(mpsseDivisor(30_000_000, true).divisor).toBe(0);
    expect(mpsseDivisor(100_000_000, true).hz).toBe(30_000_000);
    expect(mpsseDivisor(1_000_000, true)).toMatchObject({ divisor: 29, hz: 1_000_000 });
    // Never faster than asked: 7 MHz -> 6 MHz (div 4), not 7.5 MHz (div 3).
    expect(mpsseDivisor(7_000_000, true).hz).toBe(6_000_000);
    expect(mpsseDivisor(10, true).divisor).toBe(0xffff);
  });
  it("FT2232D: 12 MHz base, at most 6 MHz", () => {
    expect(mpsseDivisor(6_000_000, false)).toEqual({ divisor: 0, hz: 6_000_000, baseHz: 12_000_000 });
    expect(mpsseDivisor(10_000_000, false).hz).toBe(6_000_000);
    expect(mpsseDivisor(1_000_000, false)).toMatchObject({ divisor: 5, hz: 1_000_000 });
  });
});

describe("MPSSE command encoding (AN_108)", () => {
  it("lengths are count - 1, little endian; answers are counted", () => {
    const c = new Cmd(4);
    c.setLow(0x10, 0x93).write(new Uint8Array([0x9f])).read(3).readLow().clockBytes(900).sendImmediate();
    expect(hex(c.bytes())).toBe("80 10 93 11 00 00 9f 20 02 00 81 8f 83 03 87");
    expect(c.answers).toBe(4);
  });
  it("splits data over 64 KiB into several commands", () => {
    const c = new Cmd();
    c.write(new Uint8Array(70000).fill(0x55));
    const b = c.bytes();
    expect(b.length).toBe(70000 + 6);
    expect(hex(b.subarray(0, 3))).toBe("11 ff ff");
    expect(hex(b.subarray(3 + 65536, 3 + 65536 + 3))).toBe("11 6f 11"); // 4464 - 1 = 0x116F
    const t = new Cmd().transfer(new Uint8Array([1, 2]));
    expect(hex(t.bytes())).toBe("31 01 00 01 02");
    expect(t.answers).toBe(2);
  });
});

describe("FTDI chips", () => {
  const dev = (pid: number, bcd: number) => ({ vendorId: 0x0403, productId: pid, deviceVersionMajor: bcd >> 8, deviceVersionMinor: (bcd >> 4) & 15, deviceVersionSubminor: bcd & 15 });
  it("tells the bridge from bcdDevice", () => {
    expect(chipFor(dev(0x6010, 0x0700))?.name).toBe("FT2232H");
    expect(chipFor(dev(0x6014, 0x0900))?.name).toBe("FT232H");
    expect(chipFor(dev(0x6010, 0x0500))?.name).toBe("FT2232D");
    expect(chipFor(dev(0x6001, 0x0600))).toBeNull(); // FT232R: no MPSSE
    expect(FTDI_CHIPS.FT2232D.hSeries).toBe(false);
  });
  it("filters name the FTDI VID and the MPSSE PIDs", () => {
    expect(FTDI_FILTERS.every((f) => f.vendorId === 0x0403)).toBe(true);
    expect(FTDI_FILTERS.map((f) => f.productId)).toEqual(expect.arrayContaining([0x6010, 0x6014]));
  });
});

describe("SPI flash erase plan", () => {
  const n25q = chipById([0x20, 0xba, 0x16])!;
  const w25q = chipById([0xef, 0x40, 0x16])!;
  it("the hx1k image needs eight 4 KiB sectors", () => {
    const p = planErase(0, 32220, n25q);
    expect(p.length).toBe(8);
    expect(p.every((op, i) => op.size === 4096 && op.addr === i * 4096)).toBe(true);
  });
  it("whole aligned 64 KiB blocks take block erases, the rest sectors", () => {
    expect(planErase(0, 135100, n25q)).toEqual([
      { addr: 0, size: 65536 },
      { addr: 65536, size: 65536 },
      { addr: 131072, size: 4096 },
    ]);
  });
  it("32 KiB erases only where the chip has them", () => {
    expect(planErase(0, 100000, w25q)).toEqual([
      { addr: 0, size: 65536 },
      { addr: 65536, size: 32768 },
      { addr: 98304, size: 4096 },
    ]);
    expect(planErase(0, 100000, n25q).filter((o) => o.size === 32768)).toEqual([]);
  });
  it("an unaligned image erases just the sectors it touches", () => {
    expect(planErase(0x1800, 0x1000, n25q)).toEqual([
      { addr: 0x1000, size: 4096 },
      { addr: 0x2000, size: 4096 },
    ]);
    expect(planErase(0x20000 - 100, 200, n25q)).toEqual([
      { addr: 0x1f000, size: 4096 },
      { addr: 0x20000, size: 4096 },
    ]);
    expect(planErase(0, 0, n25q)).toEqual([]);
  });
  it("knows the boards' chips", () => {
    expect(chipById([0x20, 0xba, 0x16])?.name).toBe("N25Q032");
    expect(chipById([0xef, 0x40, 0x18])?.size).toBe(16 * 1024 * 1024);
    expect(chipById([0x1f, 0x85, 0x01])?.name).toBe("AT25SF081");
    expect(chipById([0x12, 0x34, 0x56])).toBeNull();
    expect(isErased(new Uint8Array(4).fill(0xff))).toBe(true);
    expect(isErased(new Uint8Array([0xff, 0xfe]))).toBe(false);
  });
});

describe("iCE40 bitstreams", () => {
  it("the real hx1k blinky is a 1k-die image", () => {
    expect(blinky.length).toBe(32220);
    const img = parseIce40Image(blinky);
    expect(img.die?.die).toBe("1k");
    expect(img.syncOffset).toBe(4);
    expect(img.wakeup).toBe(true);
    expect(img.cramBanks.map((b) => `${b.bank}:${b.width}x${b.height}`)).toEqual(["0:332x144", "1:332x144", "2:332x144", "3:332x144"]);
    expect(checkIce40Image(blinky, "hx1k").die?.devices).toContain("lp1k");
  });
  it("tells hx8k and up5k apart by CRAM geometry", () => {
    expect(parseIce40Image(makeIce40Image("hx8k", { seed: 3, size: 135100 })).die?.die).toBe("8k");
    expect(parseIce40Image(makeIce40Image("up5k", { seed: 3 })).die?.die).toBe("5k");
    expect(dieForDevice("iCE40-HX8K")?.die).toBe("8k");
    expect(dieForDevice("up5k")?.imageBytes).toBe(104090);
  });
  it("reads a multi-boot file (icemulti) by the image it boots at power-on", () => {
    // icemulti -p0 blinky.bin blinky.bin: five 32-byte warm-boot headers, then the images.
    const multi = icemultiHx1k();
    const img = checkIce40Image(multi, "hx1k");
    expect(img.die?.die).toBe("1k");
    expect(img.syncOffset).toBe(160 + 4); // the image itself starts with an empty comment block (FF 00 00 FF)
    expect(() => checkIce40Image(multi, "hx8k")).toThrow(/HX8K/);
  });
  it("refuses a file with no sync word", () => {
    const e = (() => {
      try {
        parseIce40Image(new TextEncoder().encode("module blinky(input clk); endmodule\n".repeat(10)));
      } catch (err) {
        return err as FlashError;
      }
    })();
    expect(e?.code).toBe("bad_image");
    expect(e?.message).toMatch(/synchronisation word/);
  });
  it("refuses a truncated image", () => {
    try {
      parseIce40Image(blinky.subarray(0, 5000));
      throw new Error("parsed");
    } catch (err) {
      expect((err as FlashError).code).toBe("bad_image");
      expect((err as FlashError).message).toMatch(/truncated/);
    }
  });
  it("refuses an image for another device, naming both", () => {
    try {
      checkIce40Image(blinky, "up5k");
      throw new Error("accepted");
    } catch (err) {
      expect((err as FlashError).code).toBe("wrong_device");
      expect((err as FlashError).message).toMatch(/HX1K/);
      expect((err as FlashError).message).toMatch(/UP5K/);
    }
  });
});

/** The time the SPI clock and the flash's typical erase/program figures allow for image at 0: the bench's bound. */
const idealMs = (chipName: string, image: Uint8Array, hz: number, verify: boolean) => boundMs(chipName, image, hz, verify);

describe("flashing the simulated iCEstick (FT2232H + N25Q032 + HX1K)", () => {
  it("writes the blinky, reads it back equal, and the FPGA raises CDONE", async () => {
    const { board, device } = plugged();
    const phases: string[] = [];
    const seen: FlashProgress[] = [];
    const r = await flashIce40(device, blinky, {
      clock: board.clock,
      expectDevice: "hx1k",
      progress: (p) => {
        seen.push(p);
        if (phases[phases.length - 1] !== p.phase) phases.push(p.phase);
      },
    });
    expect(r.bytes).toBe(32220);
    expect(r.verified).toBe(true);
    expect(r.device).toBe("FT2232H, N25Q032 4 MiB");
    expect(r.summary).toMatch(/32220 bytes .*verified, CDONE high/);
    expect(r.elapsedMs).toBeGreaterThan(0);
    expect(hex(board.flash.memory.subarray(0, 32220)) === hex(blinky)).toBe(true);
    expect(board.fpga.cdone).toBe(true);
    expect(board.fpga.configuredFrom).toBe("flash");
    expect(phases).toEqual(["identifying", "waking", "erasing", "writing", "verifying", "configuring", "done"]);
    const w = seen.filter((p) => p.phase === "writing");
    expect(w[w.length - 1]).toEqual({ phase: "writing", done: 32220, total: 32220 });
    expect(device.opened).toBe(false);
    // The bridge saw clean MPSSE: only the sync check's deliberate bad opcode, no SPI timing faults.
    expect(board.stats.badCommands).toBe(1);
    expect(board.stats.edgeViolations).toBe(0);
    expect(board.stats.marginalReads).toBe(0);
    expect(board.stats.maxSectorErases).toBe(1);
    // And the driver reads it back itself.
    const back = await readIce40Flash(device, 0, 32220, { clock: board.clock });
    expect(Buffer.from(back).equals(Buffer.from(blinky))).toBe(true);
  });

  it("takes the faster erase where nothing else lives beside the image (N25Q032: one 64 KiB erase, not eight 4 KiB ones)", async () => {
    const before = new Uint8Array(4 * 1024 * 1024).fill(0xff);
    for (let i = 0x1000; i < 0x1000 + 32220; i++) before[i] = (i * 7) & 0xff; // the last image, same size
    for (let i = 0x10000; i < 0x20000; i++) before[i] = (i * 5) & 0xff; // user data in the next block
    const { board, device } = plugged({ flashContents: before });
    const r = await flashIce40(device, blinky, { clock: board.clock, offset: 0x1000 });
    const erased = Array.from(board.flash.sectorErases).flatMap((n, i) => (n ? [i] : []));
    // 0x1000 .. 0x1000 + 32220 = 0x8DDC lies in the first 64 KiB block; 0.7 s for it beats 8 × 0.3 s.
    expect(erased).toEqual(Array.from({ length: 16 }, (_, i) => i));
    const mem = board.flash.memory;
    expect(Buffer.from(mem.subarray(0, 0x1000)).equals(Buffer.from(before.subarray(0, 0x1000)))).toBe(true);
    expect(Buffer.from(mem.subarray(0x1000 + 32220)).equals(Buffer.from(before.subarray(0x1000 + 32220)))).toBe(true);
    expect(Buffer.from(mem.subarray(0x1000, 0x1000 + 32220)).equals(Buffer.from(blinky))).toBe(true);
    expect(r.summary).not.toMatch(/kept/);
  });

  it("erases only the image's own sectors where data lives beside it, and loses none of that either", async () => {
    const before = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < before.length; i++) before[i] = (i * 7) & 0xff;
    const { board, device } = plugged({ flashContents: before });
    await flashIce40(device, blinky, { clock: board.clock, offset: 0x1000 });
    const erased = Array.from(board.flash.sectorErases).flatMap((n, i) => (n ? [i] : []));
    expect(erased).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const mem = board.flash.memory;
    expect(Buffer.from(mem.subarray(0, 0x1000)).equals(Buffer.from(before.subarray(0, 0x1000)))).toBe(true);
    // The rest of the last sector was erased with it and written back.
    expect(Buffer.from(mem.subarray(0x1000 + 32220)).equals(Buffer.from(before.subarray(0x1000 + 32220)))).toBe(true);
    expect(Buffer.from(mem.subarray(0x1000, 0x1000 + 32220)).equals(Buffer.from(blinky))).toBe(true);
  });

  it("on an HX8K breakout jumpered for SRAM (flash off the bus), the flash target names the jumpers and SRAM works", async () => {
    const { board, device } = plugged({ fpga: "hx8k", sram: true, flashDisconnected: true });
    const hx8k = makeIce40Image("hx8k", { seed: 1, size: 135100 });
    const e = await rejection(flashIce40(device, hx8k, { clock: board.clock, expectDevice: "hx8k" }));
    expect(e.code).toBe("wrong_chip");
    expect(e.message).toMatch(/FF FF FF/);
    expect(e.message).toMatch(/jumper/i);
    const r = await flashIce40(device, hx8k, { clock: board.clock, expectDevice: "hx8k", target: "sram" });
    expect(r.summary).toMatch(/SRAM/);
    expect(board.fpga.cdone).toBe(true);
    expect(board.fpga.configuredFrom).toBe("sram");
  });

  it("a transfer that answers late (a timeout mid-write) is resynced, and the kept data is written back and checked", async () => {
    const before = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < before.length; i++) before[i] = (i * 11) & 0xff;
    const { board, device } = plugged({ flashContents: before });
    let writing = false;
    let delayed = false;
    // One bulk read during writing answers only after many turns of the event loop: the driver's transfer
    // timeout fires first (the virtual clock's sleep returns at once), so the answer arrives late.
    const late = new Proxy(device, {
      get(target, prop) {
        if (prop === "transferIn") {
          return async (ep: number, n: number) => {
            if (writing && !delayed) {
              delayed = true;
              for (let i = 0; i < 400; i++) await Promise.resolve();
            }
            return target.transferIn(ep, n);
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const e = await rejection(flashIce40(late, blinky, { clock: board.clock, offset: 0x1000, progress: (p) => (writing = p.phase === "writing" && p.done > 0) }));
    expect(delayed).toBe(true);
    expect(e.code).toBe("timeout");
    expect(e.message, e.message).toMatch(/written back first/);
    const mem = board.flash.memory;
    expect(Buffer.from(mem.subarray(0, 0x1000)).equals(Buffer.from(before.subarray(0, 0x1000)))).toBe(true);
    expect(Buffer.from(mem.subarray(0x1000 + 32220)).equals(Buffer.from(before.subarray(0x1000 + 32220)))).toBe(true);
    // And the board is usable at once.
    const r = await flashIce40(device, blinky, { clock: board.clock, offset: 0x1000 });
    expect(r.verified).toBe(true);
  });

  it("a Cancel during an erase waits for the chip, so flashing again at once works", async () => {
    const { board, device } = plugged();
    const ac = new AbortController();
    board.flash.onCommand = (entry) => {
      if (/^(d8|20|52)\b/.test(entry)) ac.abort();
    };
    const e = await rejection(flashIce40(device, blinky, { clock: board.clock, signal: ac.signal }));
    expect(e.code).toBe("cancelled");
    board.flash.onCommand = undefined;
    const r = await flashIce40(device, blinky, { clock: board.clock });
    expect(r.verified).toBe(true);
    expect(board.fpga.cdone).toBe(true);
  });

  it("a Cancel after the erase still writes back the other data the erase cleared", async () => {
    const before = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < before.length; i++) before[i] = (i * 7) & 0xff;
    const { board, device } = plugged({ flashContents: before });
    const ac = new AbortController();
    const e = await rejection(flashIce40(device, blinky, { clock: board.clock, offset: 0x1000, signal: ac.signal, progress: (p) => p.phase === "writing" && p.done > 4096 && ac.abort() }));
    expect(e.code).toBe("cancelled");
    expect(e.message).toMatch(/written back first/);
    expect(e.rescue).toBeUndefined();
    const mem = board.flash.memory;
    expect(Buffer.from(mem.subarray(0, 0x1000)).equals(Buffer.from(before.subarray(0, 0x1000)))).toBe(true);
    expect(Buffer.from(mem.subarray(0x1000 + 32220)).equals(Buffer.from(before.subarray(0x1000 + 32220)))).toBe(true);
  });

  it("unplugged after the erase, the other data the erase cleared comes back in the error to be saved", async () => {
    const before = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < before.length; i++) before[i] = (i * 7) & 0xff;
    const { board, device, usb } = plugged({ flashContents: before });
    const e = await rejection(flashIce40(device, blinky, { clock: board.clock, offset: 0x1000, progress: (p) => p.phase === "writing" && p.done > 4096 && usb.unplug(board.device) }));
    expect(e.code).toBe("unplugged");
    expect(e.message).toMatch(/could not be written back/);
    expect(e.rescue?.length).toBe(1);
    const r = e.rescue![0];
    expect(r.addr).toBe(0x1000 + 32220);
    expect(Buffer.from(r.data).equals(Buffer.from(before.subarray(r.addr, 0x9000)))).toBe(true);
  });

  it("plans just the covered 4 KiB sectors when that is faster (W25Q32, a small image), keeping the rest of the last one", () => {
    const w25q32 = chipById([0xef, 0x40, 0x16])!;
    // 45 ms × 2 + a 2 KiB read beats 150 ms + a 58 KiB read at 6 MHz.
    expect(planEraseKeeping(0x20000, 6000, w25q32, 6e6)).toEqual({
      ops: [{ addr: 0x20000, size: 4096 }, { addr: 0x21000, size: 4096 }],
      keep: [{ addr: 0x20000 + 6000, length: 8192 - 6000 }],
    });
    // The N25Q032's 4 KiB erase is 0.3 s: one 64 KiB erase (0.7 s) wins already for three sectors.
    const n25q032 = chipById([0x20, 0xba, 0x16])!;
    expect(planEraseKeeping(0x10000, 3 * 4096, n25q032, 6e6)).toEqual({
      ops: [{ addr: 0x10000, size: 65536 }],
      keep: [{ addr: 0x13000, length: 65536 - 3 * 4096 }],
    });
    // A whole aligned block needs nothing kept.
    expect(planEraseKeeping(0, 65536, n25q032, 6e6)).toEqual({ ops: [{ addr: 0, size: 65536 }], keep: [] });
  });

  it("wakes a flash left in deep power-down", async () => {
    const { board, device } = plugged({ poweredDown: true });
    expect(board.flash.poweredDown).toBe(true);
    const r = await flashIce40(device, blinky, { clock: board.clock });
    expect(r.verified).toBe(true);
    expect(board.flash.poweredDown).toBe(false);
    expect(board.fpga.cdone).toBe(true);
  });

  it("programs the FPGA's SRAM on a board wired for it, leaving the flash alone", async () => {
    const { board, device } = plugged({ sram: true });
    const phases: string[] = [];
    const r = await flashIce40(device, blinky, { clock: board.clock, target: "sram", progress: (p) => phases[phases.length - 1] !== p.phase && phases.push(p.phase) });
    expect(r.verified).toBe(false);
    expect(r.summary).toMatch(/SRAM/);
    expect(board.fpga.cdone).toBe(true);
    expect(board.fpga.configuredFrom).toBe("sram");
    expect(isErased(board.flash.memory)).toBe(true);
    expect(phases).toContain("writing");
    expect(phases[phases.length - 1]).toBe("done");
  });

  for (const bridge of ["FT232H", "FT2232D"] as const) {
    it(`works through an ${bridge}`, async () => {
      const { board, device } = plugged({ bridge });
      const r = await flashIce40(device, blinky, { clock: board.clock, spiHz: 30_000_000 });
      expect(r.device).toBe(`${bridge}, N25Q032 4 MiB`);
      expect(r.summary).toMatch(bridge === "FT2232D" ? /6 MHz/ : /30 MHz/);
      expect(Buffer.from(board.flash.memory.subarray(0, blinky.length)).equals(Buffer.from(blinky))).toBe(true);
      expect(board.fpga.cdone).toBe(true);
    });
  }

  it("works with the iCEBreaker's W25Q128 and an UP5K", async () => {
    const img = makeIce40Image("up5k", { seed: 9, size: 104090 });
    const { board, device } = plugged({ flash: "W25Q128", fpga: "up5k" });
    const r = await flashIce40(device, img, { clock: board.clock, expectDevice: "up5k" });
    expect(r.device).toBe("FT2232H, W25Q128 16 MiB");
    expect(board.fpga.cdone).toBe(true);
  });

  /**
   * The simulator offers only chips we know, so an unknown one is the
   * simulated board with its JEDEC id answer replaced on the wire: the
   * first answer after the driver clocks out 0x9F (MPSSE 0x11 00 00 9F).
   */
  function withJedecId(board: Ice40Board, id: number[]): USBDevice {
    const d = board.device as unknown as USBDevice;
    let armed = false;
    return new Proxy(d, {
      get(target, prop) {
        if (prop === "transferOut") {
          return async (ep: number, data: Uint8Array) => {
            const b = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
            for (let i = 0; i + 3 < b.length; i++) if (b[i] === 0x11 && b[i + 1] === 0 && b[i + 2] === 0 && b[i + 3] === 0x9f) armed = true;
            return target.transferOut(ep, data as Uint8Array<ArrayBuffer>);
          };
        }
        if (prop === "transferIn") {
          return async (ep: number, n: number) => {
            const r = await target.transferIn(ep, n);
            if (armed && r.data && r.data.byteLength > 2) {
              armed = false;
              const bytes = new Uint8Array(r.data.buffer.slice(r.data.byteOffset, r.data.byteOffset + r.data.byteLength));
              bytes.set(id, 2);
              return { status: r.status, data: new DataView(bytes.buffer) } as USBInTransferResult;
            }
            return r;
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  }

  it("refuses a flash chip it does not know, naming the id", async () => {
    const { board } = plugged();
    const e = await rejection(flashIce40(withJedecId(board, [0x12, 0x34, 0x56]), blinky, { clock: board.clock }));
    expect(e.code).toBe("wrong_chip");
    expect(e.message).toMatch(/12 34 56/);
    expect(Array.from(board.flash.sectorErases).every((n) => n === 0)).toBe(true);
    expect(board.device.opened).toBe(false);
  });

  it("says no flash answers when the id reads FF FF FF", async () => {
    const { board } = plugged();
    const e = await rejection(flashIce40(withJedecId(board, [0xff, 0xff, 0xff]), blinky, { clock: board.clock }));
    expect(e.code).toBe("wrong_chip");
    expect(e.message).toMatch(/FF FF FF: no flash chip is answering/);
  });

  it("gives up on a bridge that stops answering, with a timeout, not a hang", async () => {
    const { board } = plugged();
    const d = board.device as unknown as USBDevice;
    let reads = 0;
    const stuck = new Proxy(d, {
      get(target, prop) {
        if (prop === "transferIn") {
          return (ep: number, n: number) => (++reads > 3 ? new Promise<never>(() => {}) : target.transferIn(ep, n));
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const t0 = board.clock.now();
    const e = await rejection(flashIce40(stuck, blinky, { clock: board.clock }));
    expect(e.code).toBe("timeout");
    expect(e.message).toMatch(/did not answer a bulk read within 3000 ms during erasing/);
    expect(board.clock.now() - t0).toBeGreaterThanOrEqual(3000);
    expect(board.device.opened).toBe(false);
  });

  it("reads back within the chip only", async () => {
    const { board, device } = plugged();
    const e = await rejection(readIce40Flash(device, 4 * 1024 * 1024 - 10, 20, { clock: board.clock }));
    expect(e.code).toBe("too_large");
  });

  it("programs SRAM through an FT2232D too", async () => {
    const { board, device } = plugged({ sram: true, bridge: "FT2232D" });
    await flashIce40(device, blinky, { clock: board.clock, target: "sram" });
    expect(board.fpga.configuredFrom).toBe("sram");
    expect(board.fpga.cdone).toBe(true);
  });

  it("refuses an image larger than the flash", async () => {
    const { board, device } = plugged();
    const e = await rejection(flashIce40(device, blinky, { clock: board.clock, offset: 4 * 1024 * 1024 - 1000 }));
    expect(e.code).toBe("too_large");
    expect(Array.from(board.flash.sectorErases).every((n) => n === 0)).toBe(true);
  });

  it("refuses a bitstream for another device before touching the board", async () => {
    const { board, device } = plugged();
    const e = await rejection(flashIce40(device, makeIce40Image("hx8k", { seed: 1, size: 135100 }), { clock: board.clock, expectDevice: "hx1k" }));
    expect(e.code).toBe("wrong_device");
    expect(e.message).toMatch(/HX8K.*HX1K/);
    // Only the FPGA's own boot read at power-on; the driver sent nothing.
    expect(board.flash.log.every((l) => /\(fpga\)/.test(l))).toBe(true);
    expect(board.stats.usbTransfers + board.stats.controlTransfers).toBe(0);
    expect(device.opened).toBe(false);
  });

  it("reports an unplug mid-write as unplugged, with where it was, and does not hang", async () => {
    const { board, usb, device } = plugged();
    let unplugged = false;
    const e = await rejection(
      flashIce40(device, blinky, {
        clock: board.clock,
        progress: (p) => {
          if (p.phase === "writing" && p.done >= 8192 && !unplugged) {
            unplugged = true;
            usb.unplug(board.device);
          }
        },
      }),
    );
    expect(unplugged).toBe(true);
    expect(e.code).toBe("unplugged");
    expect(e.message).toMatch(/writing at offset 0x/);
    expect(e.offset).toBeGreaterThanOrEqual(8192);
  });

  it("is cancelled by its signal, and leaves the board released", async () => {
    const { board, device } = plugged();
    const configs = board.fpga.configs;
    const ac = new AbortController();
    const e = await rejection(
      flashIce40(device, blinky, {
        clock: board.clock,
        signal: ac.signal,
        progress: (p) => {
          if (p.phase === "erasing" && p.done >= 4096) ac.abort();
        },
      }),
    );
    expect(e.code).toBe("cancelled");
    expect(device.opened).toBe(false);
    expect(Array.from(board.flash.sectorPrograms).every((n) => n === 0)).toBe(true); // writing never started
    // CRESET_B was released with SS_B high: the FPGA tried to boot from the (half-erased) flash.
    expect(board.flash.log[board.flash.log.length - 1]).toMatch(/\(fpga\)/);
    expect(board.fpga.cdone).toBe(false);
    expect(board.fpga.configs).toBeGreaterThan(configs);
    // The board still works afterwards.
    await flashIce40(device, blinky, { clock: board.clock });
    expect(board.fpga.cdone).toBe(true);
  });

  it("says so when the OS driver holds the interface", async () => {
    const { board, device } = plugged({ kernelDriver: true });
    const e = await rejection(flashIce40(device, blinky, { clock: board.clock }));
    expect(e.code).toBe("claim_failed");
    expect(e.message).toMatch(/rmmod ftdi_sio/);
    expect(e.message).toMatch(/Zadig/);
  });

  it("reports the first differing offset when the read-back differs", async () => {
    const { board, device } = plugged();
    const e = await rejection(
      flashIce40(device, blinky, {
        clock: board.clock,
        progress: (p) => {
          if (p.phase === "verifying" && p.done === 0) board.flash.memory[12345] ^= 0x01;
        },
      }),
    );
    expect(e.code).toBe("verify_mismatch");
    expect(e.offset).toBe(12345);
    expect(e.message).toMatch(/offset 12345/);
  });

  it("says no_cdone when the FPGA rejects the image", async () => {
    const bad = blinky.slice();
    bad[200] ^= 0xff; // inside CRAM bank 0: the bitstream's CRC no longer matches
    const { board, device } = plugged();
    const e = await rejection(flashIce40(device, bad, { clock: board.clock }));
    expect(e.code).toBe("no_cdone");
    expect(board.fpga.cdone).toBe(false);
    expect(Buffer.from(board.flash.memory.subarray(0, bad.length)).equals(Buffer.from(bad))).toBe(true);
  });
});

describe("flash time against what the SPI clock and the datasheet allow (6 MHz, N25Q032)", () => {
  const cases: [string, () => Uint8Array, Ice40BoardOptions][] = [
    ["hx1k blinky", () => blinky, {}],
    ["full hx8k image", () => makeIce40Image("hx8k", { seed: 7, size: 135100 }), { fpga: "hx8k" }],
  ];
  for (const [name, image, bo] of cases) {
    for (const verify of [true, false]) {
      it(`${name}${verify ? " (with read-back)" : " (no verify)"}: ratio <= 1.3`, async () => {
        const img = image();
        const { board, device } = plugged(bo);
        const o: Ice40FlashOptions = { clock: board.clock, spiHz: 6_000_000, verify };
        const r = await flashIce40(device, img, o);
        const ideal = idealMs("N25Q032", img, 6_000_000, verify);
        const ratio = r.elapsedMs / ideal;
        console.log(`ratio ${name}${verify ? " +verify" : ""}: ${r.elapsedMs.toFixed(1)} ms / ideal ${ideal.toFixed(1)} ms = ${ratio.toFixed(3)} (usb transfers ${board.stats.usbTransfers ?? "?"})`);
        expect(board.fpga.cdone).toBe(true);
        expect(ratio).toBeLessThanOrEqual(1.3);
      });
    }
  }
  it("uses the typical figures of the driver's own table for the board's chips", () => {
    // Driver and simulator read the same datasheets; a difference would make the driver poll more.
    for (const name of ["N25Q032", "W25Q32", "W25Q128"]) {
      const sim = FLASH_CHIPS[name];
      const drv = SPI_FLASH_CHIPS.find((c) => c.name === name)!;
      expect(drv.jedecId).toEqual(sim.jedecId);
      expect(drv.size).toBe(sim.size);
      expect({ pp: drv.pageProgramMs, se: eraseTypMs(drv, 4096), be: eraseTypMs(drv, 65536) }).toEqual({ pp: sim.timing.pageProgramMs, se: sim.timing.sectorErase4kMs, be: sim.timing.blockErase64kMs });
    }
  });
});
