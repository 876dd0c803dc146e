// The iCE40/FTDI board simulator, driven with hand-written MPSSE byte
// sequences (FTDI AN_108's command set, the flash datasheets' instruction
// sequences, TN1248's configuration steps) — no driver code involved.
import { describe, expect, it } from "vitest";
import { createIce40Board, FLASH_CHIPS, type Ice40Board, type Ice40BoardOptions } from "../src/flash/sim/board";
import { makeIce40Image } from "../src/flash/sim/ice40";
import { FakeUSB } from "../src/flash/sim/usb";
import { blinkyHx1k } from "./bitstreams";

const hx1kImage = blinkyHx1k();

// Pin values on ADBUS (board wiring): SCK 0x01, MOSI 0x02, MISO 0x04 (input), CS# 0x10, CDONE 0x40 (input), CRESET_B 0x80.
const DIR = 0x93; // SCK, MOSI, CS#, CRESET_B outputs
const CS_HIGH_RESET = [0x80, 0x10, DIR]; // FPGA held in reset, flash deselected
const CS_LOW_RESET = [0x80, 0x00, DIR];
const RELEASE = [0x80, 0x90, DIR]; // CS# high, CRESET_B high

interface Rig {
  board: Ice40Board;
  dev: USBDevice;
  ctrl(request: number, value: number): Promise<USBOutTransferResult>;
  write(bytes: number[] | Uint8Array): Promise<void>;
  /** read collects n data bytes, stripping the two status bytes from every packet. */
  read(n: number, maxTransfers?: number): Promise<number[]>;
  /** cmd runs one flash instruction: CS# low, write the bytes, read n, CS# high, send immediate. */
  cmd(bytes: number[], n?: number): Promise<number[]>;
}

async function rig(o: Ice40BoardOptions = {}, { hs = true, divisor = 4 } = {}): Promise<Rig> {
  const board = createIce40Board(o);
  const dev = board.device as unknown as USBDevice;
  await dev.open();
  await dev.claimInterface(0);
  const packet = dev.configuration!.interfaces[0].alternate.endpoints[0].packetSize;
  const ctrl = (request: number, value: number) =>
    dev.controlTransferOut({ requestType: "vendor", recipient: "device", request, value, index: 1 });
  const write = async (bytes: number[] | Uint8Array) => {
    const r = await dev.transferOut(2, Uint8Array.from(bytes));
    expect(r.status).toBe("ok");
  };
  const read = async (n: number, maxTransfers = 64) => {
    const out: number[] = [];
    for (let i = 0; i < maxTransfers && out.length < n; i++) {
      const r = await dev.transferIn(1, 4096);
      const b = new Uint8Array(r.data!.buffer, r.data!.byteOffset, r.data!.byteLength);
      for (let p = 0; p < b.length; p += packet) {
        if (b[p] !== 0x32 || b[p + 1] !== 0x60) throw new Error(`packet at ${p} starts ${b[p]} ${b[p + 1]}, not the modem status 32 60`);
        for (let i = p + 2; i < Math.min(b.length, p + packet); i++) out.push(b[i]);
      }
    }
    return out;
  };
  const cmd = async (bytes: number[], n = 0) => {
    const seq = [...CS_LOW_RESET, 0x11, (bytes.length - 1) & 0xff, (bytes.length - 1) >> 8, ...bytes];
    if (n > 0) seq.push(0x20, (n - 1) & 0xff, (n - 1) >> 8);
    seq.push(...CS_HIGH_RESET, 0x87);
    await write(seq);
    return n > 0 ? read(n) : [];
  };
  // libftdi-documented requests: reset, purge, latency 1 ms, MPSSE mode.
  await ctrl(0x00, 0);
  await ctrl(0x09, 1);
  await ctrl(0x0b, 0x0000);
  await ctrl(0x0b, 0x0200);
  // AN_108 §6: on H-series 0x8A (60 MHz base), 0x97 (adaptive off), 0x8D (three-phase off).
  const setup = hs ? [0x8a, 0x97, 0x8d] : [];
  await write([...setup, 0x86, divisor & 0xff, divisor >> 8, ...CS_HIGH_RESET]);
  return { board, dev, ctrl, write, read, cmd };
}

const status = async (r: Rig) => (await r.cmd([0x05], 1))[0];

async function waitReady(r: Rig, limit = 100_000): Promise<number> {
  const t0 = r.board.clock.now();
  for (let i = 0; i < limit; i++) {
    if (((await status(r)) & 1) === 0) return r.board.clock.now() - t0;
    if (r.board.clock.now() - t0 > 2) await r.board.clock.sleep(0.5); // poll less often on long erases
  }
  throw new Error("flash stayed busy");
}

/** program writes an image into the flash with datasheet sequences: 4 KiB erases, then 256-byte page programs. */
async function program(r: Rig, image: Uint8Array, at = 0) {
  for (let a = at; a < at + image.length; a += 4096) {
    await r.cmd([0x06]);
    await r.cmd([0x20, a >> 16, (a >> 8) & 0xff, a & 0xff]);
    await waitReady(r);
  }
  for (let o = 0; o < image.length; o += 256) {
    const a = at + o;
    await r.cmd([0x06]);
    await r.cmd([0x02, a >> 16, (a >> 8) & 0xff, a & 0xff, ...image.subarray(o, o + 256)]);
    await waitReady(r);
  }
}

async function readFlash(r: Rig, a: number, n: number) {
  return r.cmd([0x03, a >> 16, (a >> 8) & 0xff, a & 0xff], n);
}

async function pins(r: Rig): Promise<number> {
  await r.write([0x81, 0x87]);
  return (await r.read(1))[0];
}

describe("FTDI USB device", () => {
  it("has the FT2232H's ids, two interfaces and high-speed bulk endpoints", () => {
    const d = createIce40Board().device;
    expect([d.vendorId, d.productId, d.deviceVersionMajor, d.deviceVersionMinor]).toEqual([0x0403, 0x6010, 7, 0]);
    expect(d.productName).toBe("Dual RS232-HS");
    const ifs = d.configurations[0].interfaces;
    expect(ifs.map((i) => i.interfaceNumber)).toEqual([0, 1]);
    expect(ifs.map((i) => i.alternate.endpoints.map((e) => [e.endpointNumber, e.direction, e.type, e.packetSize]))).toEqual([
      [[1, "in", "bulk", 512], [2, "out", "bulk", 512]],
      [[3, "in", "bulk", 512], [4, "out", "bulk", 512]],
    ]);
    expect(ifs[0].alternate.interfaceClass).toBe(0xff);
  });

  it("has the FT232H's and FT2232D's ids", () => {
    const h = createIce40Board({ bridge: "FT232H" }).device;
    expect([h.productId, h.deviceVersionMajor, h.configurations[0].interfaces.length]).toEqual([0x6014, 9, 1]);
    const d = createIce40Board({ bridge: "FT2232D", serialNumber: "X1" }).device;
    expect([d.productId, d.deviceVersionMajor, d.serialNumber]).toEqual([0x6010, 5, "X1"]);
    expect(d.configurations[0].interfaces[0].alternate.endpoints[0].packetSize).toBe(64);
  });

  it("answers the latency timer and pin requests", async () => {
    const r = await rig();
    await r.ctrl(0x09, 7);
    const lt = await r.dev.controlTransferIn({ requestType: "vendor", recipient: "device", request: 0x0a, value: 0, index: 1 }, 1);
    expect(lt.data!.getUint8(0)).toBe(7);
    expect((await r.ctrl(0x09, 0)).status).toBe("stall");
    const p = await r.dev.controlTransferIn({ requestType: "vendor", recipient: "device", request: 0x0c, value: 0, index: 1 }, 1);
    // CS# high (0x10) driven, CRESET_B low, MISO pulled up (0x04), CDONE low (in reset), ADBUS3/5 pulled up.
    expect(p.data!.getUint8(0) & 0xf4).toBe(0x34);
    expect((await r.ctrl(0x42, 0)).status).toBe("stall");
  });

  it("refuses to claim an interface an OS driver holds, as Chromium does", async () => {
    const dev = createIce40Board({ kernelDriver: true }).device as unknown as USBDevice;
    await dev.open();
    const e = await dev.claimInterface(0).then(() => null, (x) => x);
    expect(e).toBeInstanceOf(DOMException);
    expect([e.name, e.message]).toEqual(["NetworkError", "Unable to claim interface."]);
  });

  it("needs a claimed interface for bulk transfers", async () => {
    const dev = createIce40Board().device as unknown as USBDevice;
    await dev.open();
    await expect(dev.transferOut(2, new Uint8Array([0x87]))).rejects.toMatchObject({ name: "InvalidStateError" });
  });

  it("rejects every call with a NetworkError once unplugged", async () => {
    const r = await rig();
    const usb = new FakeUSB({ requireGesture: false });
    usb.plug(r.board.device);
    usb.unplug(r.board.device);
    await expect(r.write([0x87])).rejects.toMatchObject({ name: "NetworkError" });
    await expect(r.dev.transferIn(1, 512)).rejects.toMatchObject({ name: "NetworkError" });
    await expect(r.dev.open()).rejects.toMatchObject({ name: "NetworkError" });
  });

  it("fails the transfer in flight when unplugged mid-write", async () => {
    const r = await rig();
    const usb = new FakeUSB({ requireGesture: false });
    usb.plug(r.board.device);
    r.board.flash.onCommand = (e) => {
      if (e.startsWith("02")) usb.unplug(r.board.device);
    };
    await r.cmd([0x06]);
    await expect(r.cmd([0x02, 0, 0, 0, 1, 2, 3])).rejects.toMatchObject({ name: "NetworkError" });
  });
});

describe("MPSSE", () => {
  it("answers a bad command with 0xFA and the opcode (AN_108 synchronisation)", async () => {
    const r = await rig();
    await r.write([0xaa, 0x87]);
    expect(await r.read(2)).toEqual([0xfa, 0xaa]);
    await r.write([0xab, 0x87]);
    expect(await r.read(2)).toEqual([0xfa, 0xab]);
    expect(r.board.stats.badCommands).toBe(2);
  });

  it("on the FT2232D refuses the H-series opcodes and clocks at most 6 MHz", async () => {
    const r = await rig({ bridge: "FT2232D" }, { hs: false, divisor: 0 });
    for (const op of [0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x96, 0x97]) {
      await r.write([op, 0x87]);
      expect(await r.read(2)).toEqual([0xfa, op]);
    }
    // 1000 bytes at 12 MHz / ((1 + 0) * 2) = 6 MHz take 8000 / 6e6 s = 1.333 ms of SCK.
    const t0 = r.board.clock.now();
    await r.write([0x31, 0xe7, 0x03, ...new Uint8Array(1000), 0x87]);
    expect((await r.read(1000)).length).toBe(1000);
    const dt = r.board.clock.now() - t0;
    expect(dt).toBeGreaterThan(1.333);
    expect(dt).toBeLessThan(1.333 + 8); // full-speed transfers: 1 ms frames
  });

  it("clocks at 60 MHz / ((1 + divisor) * 2), or 12 MHz-based with divide-by-5 on", async () => {
    const r = await rig({}, { divisor: 4 }); // 6 MHz
    const t0 = r.board.clock.now();
    await r.write([0x20, 0xff, 0x0f, 0x87]); // read 4096 bytes
    await r.read(4096);
    const dt = r.board.clock.now() - t0;
    expect(dt).toBeGreaterThan((4096 * 8) / 6e3);
    expect(dt).toBeLessThan((4096 * 8) / 6e3 + 1);
    await r.write([0x8b]); // divide-by-5 on: 1.2 MHz
    const t1 = r.board.clock.now();
    await r.write([0x20, 0xff, 0x03, 0x87]);
    await r.read(1024);
    expect(r.board.clock.now() - t1).toBeGreaterThan((1024 * 8) / 1.2e3);
  });

  it("holds short reads for the latency timer unless Send Immediate flushes them", async () => {
    const r = await rig();
    await r.ctrl(0x09, 16);
    await r.dev.transferIn(1, 512); // the timer restarts with each packet sent
    const t0 = r.board.clock.now();
    await r.write([0x81]);
    expect((await r.read(1)).length).toBe(1);
    const waited = r.board.clock.now() - t0;
    expect(waited).toBeGreaterThan(15.5);
    expect(waited).toBeLessThan(17);
    expect(r.board.stats.latencyWaits).toBeGreaterThan(0);
    const t1 = r.board.clock.now();
    await r.write([0x81, 0x87]);
    expect((await r.read(1)).length).toBe(1);
    expect(r.board.clock.now() - t1).toBeLessThan(1);
    // Nothing to send: after the latency timer only the two status bytes come.
    const t2 = r.board.clock.now();
    const e = await r.dev.transferIn(1, 512);
    expect(e.data!.byteLength).toBe(2);
    expect(r.board.clock.now() - t2).toBeGreaterThan(15.5);
  });

  it("returns a full packet's worth without waiting for the timer", async () => {
    const r = await rig();
    await r.ctrl(0x09, 200);
    const t0 = r.board.clock.now();
    await r.write([0x20, 0xfd, 0x01]); // 510 bytes = one full 512-byte packet
    const got = await r.dev.transferIn(1, 512);
    expect(got.data!.byteLength).toBe(512);
    expect(r.board.clock.now() - t0).toBeLessThan(5);
  });

  it("accepts a transfer larger than its buffer over time (flow control)", async () => {
    const r = await rig();
    const t0 = r.board.clock.now();
    const n = 65536;
    await r.write([0x11, 0xff, 0xff, ...new Uint8Array(n)]);
    // The last 4 KB fit in the buffer; the rest had to be shifted out at 6 MHz first.
    const dt = r.board.clock.now() - t0;
    expect(dt).toBeGreaterThan(((n - 4096) * 8) / 6e3);
    expect(dt).toBeLessThan((n * 8) / 6e3);
    expect(r.board.stats.spiBits).toBeGreaterThanOrEqual(n * 8);
  });

  it("works the same through the single-channel FT232H", async () => {
    const r = await rig({ bridge: "FT232H", flash: "W25Q128" });
    expect(await r.cmd([0x9f], 3)).toEqual([0xef, 0x40, 0x18]);
    await expect(r.dev.claimInterface(1)).rejects.toMatchObject({ name: "NotFoundError" });
  });

  it("has its own MPSSE on interface B, which reaches nothing on this board", async () => {
    const b = createIce40Board();
    const dev = b.device as unknown as USBDevice;
    await dev.open();
    await dev.claimInterface(1);
    await dev.controlTransferOut({ requestType: "vendor", recipient: "device", request: 0x0b, value: 0x0200, index: 2 });
    await dev.transferOut(4, Uint8Array.from([0x86, 0x00, 0x00, ...CS_LOW_RESET, 0x11, 0x00, 0x00, 0x9f, 0x20, 0x02, 0x00, ...CS_HIGH_RESET, 0x87]));
    const r = await dev.transferIn(3, 512);
    expect([...new Uint8Array(r.data!.buffer, r.data!.byteOffset, r.data!.byteLength)]).toEqual([0x32, 0x60, 0xff, 0xff, 0xff]);
    expect(b.flash.log).toEqual(["03 read 000000 (fpga)"]); // only the power-on boot touched the flash
    await expect(dev.transferOut(2, new Uint8Array([0x87]))).rejects.toMatchObject({ name: "InvalidStateError" });
  });

  it("waits on GPIOL1: high passes (pulled up), low never ends", async () => {
    const r = await rig();
    await r.write([0x88, 0x81, 0x87]);
    expect((await r.read(1)).length).toBe(1);
    await r.write([0x89, 0x81, 0x87]);
    expect(await r.read(1, 3)).toEqual([]);
    await r.ctrl(0x00, 2); // purge TX: the stalled commands are dropped
    await r.write([0x81, 0x87]);
    expect((await r.read(1)).length).toBe(1);
  });

  it("shifts bits MSB first into the low end of the read byte", async () => {
    const r = await rig();
    await r.write([0x84, 0x33, 0x03, 0xa0, 0x3b, 0x03, 0x05, 0x85, 0x87]); // loopback: 4 bits MSB first, 4 bits LSB first
    expect(await r.read(2)).toEqual([0x0a, 0x50]);
  });
});

describe("SPI flash", () => {
  it("a board whose jumpers take the flash off the programmer's lines reads FF FF FF and changes nothing", async () => {
    const r = await rig({ flash: "W25Q32", flashDisconnected: true });
    expect(await r.cmd([0x9f], 3)).toEqual([0xff, 0xff, 0xff]);
    expect(r.board.flash.log.filter((l) => !l.endsWith("(fpga)"))).toEqual([]); // only the FPGA's own power-on read
  });

  it("a chip made to answer another JEDEC id (an unknown part) answers it on 9Fh", async () => {
    const r = await rig({ flash: "W25Q32", jedecId: [0xc2, 0x99, 0x01] });
    expect(await r.cmd([0x9f], 3)).toEqual([0xc2, 0x99, 0x01]);
    expect(r.board.flash.jedecId).toEqual([0xc2, 0x99, 0x01]);
  });

  for (const [name, chip] of Object.entries(FLASH_CHIPS)) {
    it(`${name} reports its JEDEC id ${chip.jedecId.map((b) => b.toString(16)).join(" ")}`, async () => {
      const r = await rig({ flash: name as Ice40BoardOptions["flash"] });
      expect(await r.cmd([0x9f], 3)).toEqual(chip.jedecId);
      expect(r.board.flash.size).toBe(chip.size);
    });
  }

  it("is busy for the datasheet's typical times and clears WEL at the end", async () => {
    const r = await rig({ flash: "W25Q32" });
    const t = r.board.flash.timing;
    await r.cmd([0x06]);
    expect((await status(r)) & 3).toBe(2); // WEL
    await r.cmd([0x20, 0x00, 0x10, 0x00]);
    expect((await status(r)) & 3).toBe(3); // BUSY + WEL
    const erase = await waitReady(r);
    expect(erase).toBeGreaterThan(t.sectorErase4kMs * 0.9);
    expect(erase).toBeLessThan(t.sectorErase4kMs + 2);
    expect((await status(r)) & 3).toBe(0);
    await r.cmd([0x06]);
    await r.cmd([0x02, 0x00, 0x10, 0x00, ...new Array(256).fill(0x5a)]);
    const prog = await waitReady(r);
    expect(prog).toBeLessThan(t.pageProgramMs + 1);
    expect(r.board.stats.busyMs).toBeCloseTo(t.sectorErase4kMs + t.pageProgramMs, 6);
    expect(r.board.flash.sectorErases[1]).toBe(1);
    expect(r.board.flash.sectorPrograms[1]).toBe(1);
  });

  it("keeps a WREN sent after an operation ended without a status poll", async () => {
    const r = await rig();
    await r.cmd([0x06]);
    await r.cmd([0x02, 0, 0, 0, 0x11]);
    await r.board.clock.sleep(FLASH_CHIPS.N25Q032.timing.pageProgramMaxMs);
    await r.cmd([0x06]);
    expect((await status(r)) & 3).toBe(2);
  });

  it("erases, programs and reads back (03h and 0Bh)", async () => {
    const r = await rig();
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 0xff);
    await program(r, data, 0x20000);
    expect(await readFlash(r, 0x20000, 1000)).toEqual([...data]);
    expect(await r.cmd([0x0b, 0x02, 0x00, 0x10, 0x00], 4)).toEqual([...data.subarray(16, 20)]);
    expect([...r.board.flash.memory.subarray(0x20000, 0x20000 + 1000)]).toEqual([...data]);
  });

  it("programs only 1→0 bits, wraps within the page, and needs WREN", async () => {
    const r = await rig();
    await r.cmd([0x02, 0, 0, 0, 0x00]); // no WREN: ignored
    expect(r.board.flash.memory[0]).toBe(0xff);
    await r.cmd([0x06]);
    await r.cmd([0x02, 0, 0, 0xf8, ...new Array(16).fill(0xf0)]); // 8 bytes at 0xF8.., 8 wrap to 0x00..
    await waitReady(r);
    await r.cmd([0x06]);
    await r.cmd([0x02, 0, 0, 0x00, 0x0f]);
    await waitReady(r);
    expect([...r.board.flash.memory.subarray(0, 9)]).toEqual([0x00, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xf0, 0xff]);
    expect([...r.board.flash.memory.subarray(0xf8, 0x100)]).toEqual(new Array(8).fill(0xf0));
    expect(r.board.flash.memory[0x100]).toBe(0xff);
  });

  it("does not program when CS# rises mid-byte", async () => {
    const r = await rig();
    await r.cmd([0x06]);
    // 02h, address, one data byte, then 3 stray bits (0x13: bits out on -ve edge, length 2 = 3 bits).
    await r.write([...CS_LOW_RESET, 0x11, 0x04, 0x00, 0x02, 0, 0, 0, 0x00, 0x13, 0x02, 0x00, ...CS_HIGH_RESET]);
    expect(r.board.flash.memory[0]).toBe(0xff);
    expect(r.board.flash.log.at(-1)).toContain("mid-byte");
  });

  it("ignores instructions while busy, except the status read", async () => {
    const r = await rig();
    await r.cmd([0x06]);
    await r.cmd([0xd8, 0x01, 0x00, 0x00]);
    expect(await r.cmd([0x9f], 3)).toEqual([0xff, 0xff, 0xff]);
    await r.cmd([0x06]);
    await r.cmd([0x20, 0x00, 0x00, 0x00]);
    expect(r.board.flash.log.filter((l) => l.includes("ignored: busy")).length).toBe(3);
    expect((await status(r)) & 1).toBe(1);
    await waitReady(r);
    expect(r.board.flash.sectorErases[0]).toBe(0);
    expect(r.board.flash.sectorErases[16]).toBe(1);
  });

  it("in deep power-down ignores everything but ABh, and wakes after tRES1", async () => {
    const r = await rig({ flash: "W25Q128" });
    await r.cmd([0xb9]);
    expect(r.board.flash.poweredDown).toBe(true);
    expect(await r.cmd([0x9f], 3)).toEqual([0xff, 0xff, 0xff]);
    await r.cmd([0x06]);
    await r.cmd([0xc7]);
    expect(r.board.stats.busyMs).toBe(0);
    // ABh with three dummy bytes shifts out the device id (W25Q128JV §8.2.29: 17h, also when releasing).
    expect(await r.cmd([0xab, 0, 0, 0], 1)).toEqual([0x17]);
    await r.board.clock.sleep(0.01);
    expect(r.board.flash.poweredDown).toBe(false);
    expect(await r.cmd([0xab, 0, 0, 0], 1)).toEqual([0x17]);
    expect(await r.cmd([0x9f], 3)).toEqual([0xef, 0x40, 0x18]);
  });

  it("starts in deep power-down when asked", async () => {
    const r = await rig({ poweredDown: true });
    expect(r.board.flash.poweredDown).toBe(true);
    expect(await r.cmd([0x9f], 3)).toEqual([0xff, 0xff, 0xff]);
    await r.cmd([0xab]);
    await r.board.clock.sleep(FLASH_CHIPS.N25Q032.timing.releasePowerDownUs / 1000);
    expect(await r.cmd([0x9f], 3)).toEqual([0x20, 0xba, 0x16]);
  });

  it("sees the old DO level when data changes on the rising edge", async () => {
    const r = await rig();
    // 0x10: bytes out on the +ve edge; the flash latches each bit a clock late, so it never sees 9Fh.
    await r.write([...CS_LOW_RESET, 0x10, 0x00, 0x00, 0x9f, 0x20, 0x02, 0x00, ...CS_HIGH_RESET, 0x87]);
    expect(await r.read(3)).not.toEqual([0x20, 0xba, 0x16]);
    expect(r.board.stats.edgeViolations).toBe(1);
  });

  it("erases 32 KiB blocks on the W25Q, not on the N25Q, and polls ready via flag status on the N25Q", async () => {
    const w = await rig({ flash: "W25Q32", flashContents: new Uint8Array(0x10000) });
    await w.cmd([0x06]);
    await w.cmd([0x52, 0x00, 0x80, 0x00]);
    const dt = await waitReady(w);
    expect(dt).toBeGreaterThan(110);
    expect(dt).toBeLessThan(125);
    expect(w.board.flash.memory[0x7fff]).toBe(0x00);
    expect(w.board.flash.memory.subarray(0x8000, 0x10000).every((b) => b === 0xff)).toBe(true);

    const n = await rig({ flash: "N25Q032", flashContents: new Uint8Array(0x10000) });
    await n.cmd([0x06]);
    await n.cmd([0x52, 0x00, 0x80, 0x00]);
    expect(n.board.flash.memory[0x8000]).toBe(0x00);
    await n.cmd([0x06]);
    await n.cmd([0xd8, 0x00, 0x00, 0x00]);
    expect(await n.cmd([0x70], 1)).toEqual([0x00]);
    await n.board.clock.sleep(FLASH_CHIPS.N25Q032.timing.blockErase64kMs);
    expect(await n.cmd([0x70], 1)).toEqual([0x80]);
    expect(n.board.flash.memory[0x8000]).toBe(0xff);
  });

  it("honours the block-protect bits written with 01h", async () => {
    const r = await rig({ flash: "W25Q32" });
    await r.cmd([0x06]);
    await r.cmd([0x01, 0x04]); // BP0: the top 64 KiB protected
    await waitReady(r);
    expect((await status(r)) & 0x1c).toBe(0x04);
    await r.cmd([0x06]);
    await r.cmd([0x02, 0x3f, 0x00, 0x00, 0x00]);
    await r.cmd([0x06]);
    await r.cmd([0x02, 0x3e, 0x00, 0x00, 0x00]);
    await waitReady(r);
    expect(r.board.flash.memory[0x3f0000]).toBe(0xff);
    expect(r.board.flash.memory[0x3e0000]).toBe(0x00);
    await r.cmd([0x06]);
    await r.cmd([0xc7]);
    expect(r.board.flash.log.at(-1)).toMatch(/protect/);
  });

  it("takes the chip erase time", async () => {
    const r = await rig({ flash: "W25Q32", flashContents: new Uint8Array(16) });
    await r.cmd([0x06]);
    await r.cmd([0x60]);
    const t0 = r.board.clock.now();
    await r.board.clock.sleep(FLASH_CHIPS.W25Q32.timing.chipEraseMs - 10);
    expect((await status(r)) & 1).toBe(1);
    await r.board.clock.sleep(20);
    expect((await status(r)) & 1).toBe(0);
    expect(r.board.clock.now() - t0).toBeGreaterThan(10_000);
    expect(r.board.flash.memory[0]).toBe(0xff);
  });

  it("reads the whole 4 MiB N25Q032 at the SPI clock's pace", async () => {
    const contents = new Uint8Array(4 << 20);
    for (let i = 0; i < contents.length; i++) contents[i] = (i * 131) >>> 3;
    const r = await rig({ flashContents: contents });
    const t0 = r.board.clock.now();
    const wall = performance.now();
    await r.write([...CS_LOW_RESET, 0x11, 0x03, 0x00, 0x03, 0, 0, 0]);
    const got = new Uint8Array(4 << 20);
    for (let o = 0; o < got.length; o += 65536) {
      await r.write([0x20, 0xff, 0xff, 0x87]);
      got.set(await r.read(65536, 1000), o);
    }
    await r.write(CS_HIGH_RESET);
    expect(Buffer.from(got.buffer).equals(Buffer.from(contents.buffer))).toBe(true);
    const spiMs = ((4 << 20) * 8) / 6e3;
    const dt = r.board.clock.now() - t0;
    expect(dt).toBeGreaterThan(spiMs);
    expect(dt).toBeLessThan(spiMs * 1.1);
    expect(performance.now() - wall).toBeLessThan(20_000);
  });

  it("resets with 66h 99h, and only then", async () => {
    const r = await rig();
    await r.cmd([0x06]);
    await r.cmd([0x99]);
    expect((await status(r)) & 2).toBe(2);
    await r.cmd([0x66]);
    await r.cmd([0x99]);
    await r.board.clock.sleep(0.05);
    expect((await status(r)) & 2).toBe(0);
  });
});

describe("iCE40 configuration", () => {
  it("configures from the flash at power-on when it holds a valid image", () => {
    expect(createIce40Board().fpga).toMatchObject({ configs: 1, boots: 0, configuredFrom: null });
    const b = createIce40Board({ flashContents: hx1kImage });
    expect([b.fpga.configs, b.fpga.boots]).toEqual([1, 1]);
    expect(b.fpga.cdone).toBe(false); // the read takes tCR_SCK + 32220 * 8 bits at 7 MHz
    b.clock.advance(0.8 + (hx1kImage.length * 8) / 7000);
    expect(b.fpga.cdone).toBe(true);
    expect(b.fpga.configuredFrom).toBe("flash");
  });

  it("raises CDONE after the image is written to the flash and CRESET_B released", async () => {
    const r = await rig();
    expect(r.board.fpga.cdone).toBe(false); // blank flash at power-on, then held in reset
    await program(r, hx1kImage);
    expect(await readFlash(r, 0, 64)).toEqual([...hx1kImage.subarray(0, 64)]);
    await r.write(RELEASE);
    expect((await pins(r)) & 0x40).toBe(0);
    await r.board.clock.sleep(60);
    expect((await pins(r)) & 0x40).toBe(0x40);
    expect(r.board.fpga.configuredFrom).toBe("flash");
    expect(r.board.flash.log.some((l) => l.includes("(fpga)"))).toBe(true);
    // CRESET_B low again: CDONE drops.
    await r.write(CS_HIGH_RESET);
    expect((await pins(r)) & 0x40).toBe(0);
  });

  it("wakes a powered-down flash itself when configuring from it", async () => {
    const r = await rig({ flashContents: hx1kImage });
    await r.cmd([0xb9]);
    await r.write(RELEASE);
    await r.board.clock.sleep(60);
    expect(r.board.fpga.cdone).toBe(true);
  });

  it("keeps CDONE low for an image for another device or a corrupted one", async () => {
    const wrong = await rig({ fpga: "hx8k", flashContents: hx1kImage });
    await wrong.write(RELEASE);
    await wrong.board.clock.sleep(300);
    expect((await pins(wrong)) & 0x40).toBe(0);
    expect(wrong.board.fpga.lastError).toMatch(/not iCE40HX8K/);
    expect([wrong.board.fpga.configs, wrong.board.fpga.boots]).toEqual([2, 0]); // power-on and the release above

    const bad = hx1kImage.slice();
    bad[5000] ^= 0x10;
    const corrupt = await rig({ flashContents: bad });
    await corrupt.write(RELEASE);
    await corrupt.board.clock.sleep(100);
    expect(corrupt.board.fpga.cdone).toBe(false);
    expect(corrupt.board.fpga.lastError).toMatch(/CRC/);
  });

  it("configures from SRAM: SS_B low at CRESET_B, tCR_SCK, image, 49 clocks", async () => {
    const img = makeIce40Image("up5k", { seed: 1 });
    const r = await rig({ sram: true, fpga: "up5k", flash: "W25Q128" });
    await r.cmd([0xb9]); // the flash shares the bus: power it down first
    await r.write([0x80, 0x00, DIR, 0x80, 0x80, DIR]); // CS# low, CRESET_B low, then high with CS# still low
    await r.board.clock.sleep(1.2); // TN1248 / DS1056: tCR_SCK 1200 µs
    for (let o = 0; o < img.length; o += 4096) {
      const c = img.subarray(o, o + 4096);
      await r.write([0x11, (c.length - 1) & 0xff, (c.length - 1) >> 8, ...c]);
    }
    await r.write([0x80, 0x90, DIR, 0x81, 0x87]); // CS# high
    expect((await r.read(1))[0] & 0x40).toBe(0);
    await r.write([0x8e, 0x07, 0x8f, 0x05, 0x00, 0x81, 0x87]); // 8 + 48 dummy clocks
    expect((await r.read(1))[0] & 0x40).toBe(0x40);
    expect(r.board.fpga.configuredFrom).toBe("sram");
  });

  it("loses the bits sent before tCR_SCK has passed", async () => {
    const img = makeIce40Image("hx1k");
    const r = await rig({ sram: true });
    await r.write([0x80, 0x00, DIR, 0x80, 0x80, DIR]);
    for (let o = 0; o < img.length; o += 4096) {
      const c = img.subarray(o, o + 4096);
      await r.write([0x11, (c.length - 1) & 0xff, (c.length - 1) >> 8, ...c]);
    }
    await r.write([0x80, 0x90, DIR, 0x8f, 0x10, 0x00]);
    await r.board.clock.sleep(1);
    expect(r.board.fpga.cdone).toBe(false);
  });

  it("does not configure from SRAM on a board not wired for it", async () => {
    const img = makeIce40Image("hx1k");
    const r = await rig({ sram: false });
    await r.write([0x80, 0x00, DIR, 0x80, 0x80, DIR]);
    await r.board.clock.sleep(1);
    await r.write([0x11, (img.length - 1) & 0xff, (img.length - 1) >> 8, ...img]);
    await r.write([0x80, 0x90, DIR, 0x8f, 0x10, 0x00]);
    await r.board.clock.sleep(1);
    expect(r.board.fpga.cdone).toBe(false);
    expect(r.board.fpga.lastError).toMatch(/not wired/);
  });

  it("counts the bus activity for the bench", async () => {
    const r = await rig();
    await r.cmd([0x9f], 3);
    const s = r.board.stats;
    expect(s.usbTransfers).toBeGreaterThan(2);
    expect(s.bytesOut).toBeGreaterThan(10);
    expect(s.bytesIn).toBeGreaterThanOrEqual(5);
    expect(s.spiBits).toBe(32);
    expect(s.spiBytes).toBe(4);
    expect(Object.keys(s)).toContain("busyMs");
  });
});
