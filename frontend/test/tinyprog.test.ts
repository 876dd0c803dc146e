// The TinyFPGA BX flasher against the simulated bootloader: a full user
// image written, read back equal and booted; the bootloader (and the user
// data above the image) never touched; and the ways it goes wrong: no
// metadata, an image too large or not a bitstream or for another iCE40,
// another flash chip, an unplug mid-write, a cancel, a bootloader that
// stops answering.
import { describe, expect, it } from "vitest";
import { TINYPROG_FILTERS, flashTinyprog } from "../src/flash/tinyprog";
import { FakeSerial, SimSerialPort, lostError } from "../src/flash/sim/serial";
import { BX_BOOTLOADER_END, BX_USERIMAGE, USB_PACKET, USB_PACKET_MS, createTinyFpgaBx, type TinyFpgaBxOptions } from "../src/flash/sim/tinyprog";
import { FlashError, type FlashProgress } from "../src/flash/types";

// The first 32 bytes of a real LP8K bitstream: examples/blinky/blinky.v through
// yosys synth_ice40, nextpnr-ice40 --lp8k --package cm81 (TinyFPGA BX pins:
// clk B2, LEDs B3 A2 A1 B1 C2) and icepack; the whole file is 135100 bytes.
// The header: FF 00 00 FF, sync 7E AA 99 7E, then commands up to 01 01 (CRAM
// data): 62 03 67 is bank width 0x367 (872 columns), 72 01 10 bank height 272.
const LP8K_HEADER = hexBytes("ff0000ff7eaa997e510001059200206203677201108200001100010100000000");
const LP8K_SIZE = 135100;
// The same design for an HX1K (iCEstick): width 0x14B, height 0x90.
const HX1K_HEADER = hexBytes("ff0000ff7eaa997e5100010592002062014b7200908200001100010100000000");

function hexBytes(h: string): Uint8Array {
  return new Uint8Array(h.match(/../g)!.map((x) => parseInt(x, 16)));
}

/** bitstream is a synthetic image of a real one's shape: the real header, CRAM-like data, a tail of erased-looking FFh. */
function bitstream(size = LP8K_SIZE, header = LP8K_HEADER): Uint8Array {
  const b = new Uint8Array(size);
  b.set(header);
  let x = 0x9e3779b9;
  for (let i = header.length; i < size - 600; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  b.fill(0xff, size - 600, size - 16);
  b.set([0x00, 0x00, 0x22, 0x74, 0xab, 0x01, 0x06, 0x00], size - 8);
  return b;
}

async function plugged(o: TinyFpgaBxOptions = {}) {
  const bx = createTinyFpgaBx(o);
  const serial = new FakeSerial({ requireGesture: false });
  serial.plug(bx.port);
  const port = await serial.requestPort({ filters: TINYPROG_FILTERS });
  const before = bx.flash.memory.slice();
  return { bx, serial, port, before };
}

async function flashError(p: Promise<unknown>): Promise<FlashError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FlashError) return err;
    throw err;
  }
  throw new Error("the flash succeeded where it should have failed");
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function untouchedOutside(mem: Uint8Array, before: Uint8Array, start: number, end: number) {
  // Compare with a loop that names the first changed address (toEqual on 1 MiB says little).
  for (let i = 0; i < mem.length; i++) {
    if (i >= start && i < end) continue;
    if (mem[i] !== before[i]) throw new Error(`flash changed at 0x${i.toString(16)} (outside 0x${start.toString(16)}-0x${end.toString(16)})`);
  }
}

describe("flashTinyprog", () => {
  it("writes a full LP8K-sized image into the user image, reads it back equal, boots, and leaves the bootloader alone", async () => {
    const { bx, serial, port, before } = await plugged();
    const image = bitstream();
    const phases: FlashProgress[] = [];
    const r = await flashTinyprog(port, image, { clock: bx.clock, progress: (p) => phases.push(p) });

    expect(r.bytes).toBe(LP8K_SIZE);
    expect(r.verified).toBe(true);
    expect(r.device).toBe("TinyFPGA BX (bootloader, AT25SF081)");
    expect(r.summary).toBe(`${LP8K_SIZE} bytes to the user image at 0x28000, verified, booted`);
    expect([...bx.flash.memory.subarray(BX_USERIMAGE.start, BX_USERIMAGE.start + image.length)]).toEqual([...image]);
    // Bootloader below 0x28000, and everything past the erased sectors (user data at 0x50000), as before.
    const erasedEnd = BX_USERIMAGE.start + Math.ceil(image.length / 4096) * 4096;
    untouchedOutside(bx.flash.memory, before, BX_USERIMAGE.start, erasedEnd);
    expect(bx.flash.memory.subarray(BX_USERIMAGE.start + image.length, erasedEnd).every((b) => b === 0xff)).toBe(true);
    expect(bx.flash.log.filter((e) => e.startsWith("erase"))).toEqual(["erase32k 0x28000", "erase64k 0x30000", "erase32k 0x40000", "erase4k 0x48000"]);
    // No erase or program ever addressed anything below the user image.
    for (const e of bx.flash.log) {
      const m = /^(erase\d+k|program) 0x([0-9a-f]+)/.exec(e);
      if (m) expect(parseInt(m[2], 16)).toBeGreaterThanOrEqual(BX_BOOTLOADER_END);
    }
    expect(bx.booted).toBe(true);
    expect(bx.userImageValid).toBe(true);
    // The bootloader leaves the bus after the boot command; the port was closed.
    await Promise.resolve();
    expect(serial.ports()).toHaveLength(0);
    expect(bx.port.isOpen).toBe(false);
    expect(bx.port.opens[0].baudRate).toBe(115200);

    const order = [...new Set(phases.map((p) => p.phase))];
    expect(order).toEqual(["connecting", "identifying", "erasing", "writing", "verifying", "configuring", "done"]);
    const last = (ph: string) => phases.filter((p) => p.phase === ph).at(-1)!;
    expect(last("writing")).toEqual({ phase: "writing", done: LP8K_SIZE, total: LP8K_SIZE });
    expect(last("verifying")).toEqual({ phase: "verifying", done: LP8K_SIZE, total: LP8K_SIZE });

    // Virtual time: at least the datasheet erase times (300+600+300+70 ms) and the USB bytes both ways.
    const usbMs = (bx.stats.packetsIn + bx.stats.packetsOut) * USB_PACKET_MS;
    expect(r.elapsedMs).toBeGreaterThanOrEqual(1270);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(usbMs);
    expect(bx.stats.packetsOut).toBeGreaterThanOrEqual(Math.ceil(LP8K_SIZE / USB_PACKET));
    expect(bx.stats.packetsIn).toBeGreaterThanOrEqual(Math.ceil(LP8K_SIZE / USB_PACKET));
  });

  it("wakes the flash from deep power-down before anything else", async () => {
    const { bx, port } = await plugged({ poweredDown: true });
    await flashTinyprog(port, bitstream(4096), { clock: bx.clock });
    expect(bx.flash.log[0]).toBe("resume from deep power-down");
    expect(bx.flash.log.some((e) => e.includes("ignored"))).toBe(false);
  });

  it("can skip the read-back", async () => {
    const { bx, port } = await plugged();
    const image = bitstream(10000);
    const r = await flashTinyprog(port, image, { clock: bx.clock, verify: false });
    expect(r.verified).toBe(false);
    expect(r.summary).not.toContain("verified");
    expect(bx.flash.log.some((e) => e.startsWith("read 0x28"))).toBe(false);
    expect([...bx.flash.memory.subarray(0x28000, 0x28000 + image.length)]).toEqual([...image]);
  });

  it("uses the address map in the metadata, pointers into flash included", async () => {
    // A board whose bootmeta page points at JSON stored in flash (README "@0xFF000+N" form) with another map.
    const bootmeta = JSON.stringify({ bootloader: "TinyFPGA USB Bootloader", addrmap: { bootloader: "0x000a0-0x30000", userimage: "0x30000-0x58000", userdata: "0x58000-0x100000" } });
    const flash = createTinyFpgaBx().flash.memory;
    flash.set(new TextEncoder().encode(bootmeta), 0xff000);
    const { bx, port, before } = await plugged({
      flashContents: flash,
      securityPages: [JSON.stringify({ boardmeta: { name: "TinyFPGA BX", fpga: "ice40lp8k-cm81" } }), JSON.stringify({ bootmeta: `@0xFF000+${bootmeta.length}` })],
    });
    const image = bitstream(9000);
    const r = await flashTinyprog(port, image, { clock: bx.clock });
    expect(r.summary).toContain("at 0x30000");
    expect([...bx.flash.memory.subarray(0x30000, 0x30000 + image.length)]).toEqual([...image]);
    untouchedOutside(bx.flash.memory, before, 0x30000, 0x33000);
  });

  it("falls back to the BX address map, and says so, when the board has no metadata", async () => {
    const { bx, port, before } = await plugged({ metadata: false });
    const r = await flashTinyprog(port, bitstream(5000), { clock: bx.clock });
    expect(r.summary).toContain("at 0x28000");
    expect(r.summary).toContain("no metadata");
    untouchedOutside(bx.flash.memory, before, 0x28000, 0x2a000);
  });

  it("refuses an image larger than the user image area, before erasing anything", async () => {
    const { bx, port, before } = await plugged();
    const e = await flashError(flashTinyprog(port, bitstream(0x28001), { clock: bx.clock }));
    expect(e.code).toBe("too_large");
    expect(e.message).toMatch(/163841 bytes.*0x28000-0x50000.*163840/);
    expect(bx.flash.log.some((x) => x.startsWith("erase") || x.startsWith("program"))).toBe(false);
    expect(same(bx.flash.memory, before)).toBe(true);
    expect(bx.port.isOpen).toBe(false);
    expect(bx.booted).toBe(false);
  });

  it("fills the user image area exactly when the image is as large as it", async () => {
    const { bx, port, before } = await plugged();
    const image = bitstream(0x28000);
    await flashTinyprog(port, image, { clock: bx.clock });
    expect([...bx.flash.memory.subarray(0x28000, 0x50000)]).toEqual([...image]);
    untouchedOutside(bx.flash.memory, before, 0x28000, 0x50000);
  });

  it("refuses a file that is not an iCE40 bitstream without opening the port", async () => {
    const { bx, port } = await plugged();
    const notBin = new TextEncoder().encode(".comment arachne\n.device 8k\n.io_tile 1 0\n".repeat(100));
    const e = await flashError(flashTinyprog(port, notBin, { clock: bx.clock }));
    expect(e.code).toBe("bad_image");
    expect(e.message).toContain("7E AA 99 7E");
    expect(bx.port.opens).toHaveLength(0);
  });

  it("refuses a bitstream for another iCE40 (an HX1K image on the LP8K)", async () => {
    const { bx, port, before } = await plugged();
    const e = await flashError(flashTinyprog(port, bitstream(32220, HX1K_HEADER), { clock: bx.clock }));
    expect(e.code).toBe("wrong_device");
    expect(e.message).toContain("HX1K");
    expect(same(bx.flash.memory, before)).toBe(true);
  });

  it("refuses a flash it does not know, and a flash that does not answer", async () => {
    {
      const { bx, port, before } = await plugged({ jedecId: [0xef, 0x40, 0x14] });
      const e = await flashError(flashTinyprog(port, bitstream(4096), { clock: bx.clock }));
      expect(e.code).toBe("wrong_chip");
      expect(e.message).toContain("EF 40 14");
      expect(same(bx.flash.memory, before)).toBe(true);
      expect(bx.port.isOpen).toBe(false);
    }
    {
      const { bx, port } = await plugged({ jedecId: [0xff, 0xff, 0xff] });
      const e = await flashError(flashTinyprog(port, bitstream(4096), { clock: bx.clock }));
      expect(e.code).toBe("wrong_chip");
      expect(e.message).toContain("reset button");
    }
  });

  it("refuses metadata that would put the user image over the bootloader", async () => {
    const { bx, port, before } = await plugged({
      securityPages: [undefined, JSON.stringify({ bootmeta: { addrmap: { bootloader: "0x000a0-0x28000", userimage: "0x20000-0x50000" } } })],
    });
    const e = await flashError(flashTinyprog(port, bitstream(4096), { clock: bx.clock }));
    expect(e.code).toBe("unsupported");
    expect(e.message).toContain("overlaps the bootloader");
    expect(same(bx.flash.memory, before)).toBe(true);
  });

  it("says the board was unplugged when it goes away mid-write, and the bootloader survives", async () => {
    let programs = 0;
    let serial!: FakeSerial;
    const bx = createTinyFpgaBx({
      onLog(e, b) {
        if (e.startsWith("program") && ++programs === 40) serial.unplug(b.port);
      },
    });
    serial = new FakeSerial({ requireGesture: false });
    serial.plug(bx.port);
    const before = bx.flash.memory.slice();
    const port = await serial.requestPort({ filters: TINYPROG_FILTERS });
    const e = await flashError(flashTinyprog(port, bitstream(), { clock: bx.clock }));
    expect(e.code).toBe("unplugged");
    expect(e.message).toMatch(/unplugged during the write at 0x/);
    expect(programs).toBe(40);
    untouchedOutside(bx.flash.memory, before, 0x28000, 0x49000);
    expect(bx.booted).toBe(false);
  });

  it("stops when cancelled, rejecting with an AbortError and closing the port", async () => {
    const { bx, port } = await plugged();
    const ac = new AbortController();
    let writes = 0;
    const p = flashTinyprog(port, bitstream(), {
      clock: bx.clock,
      signal: ac.signal,
      progress: (pr) => {
        if (pr.phase === "writing" && ++writes === 20) ac.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ name: "AbortError" });
    expect(bx.port.isOpen).toBe(false);
    expect(bx.booted).toBe(false);
    const programs = bx.flash.log.filter((e) => e.startsWith("program")).length;
    expect(programs).toBeGreaterThan(10);
    expect(programs).toBeLessThan(25);
  });

  it("times out, on the virtual clock, when the bootloader stops answering", async () => {
    const { bx, port } = await plugged({ hangAfter: 6 });
    const t0 = bx.clock.now();
    const e = await flashError(flashTinyprog(port, bitstream(), { clock: bx.clock, timeoutMs: 1500 }));
    expect(e.code).toBe("timeout");
    expect(e.message).toMatch(/stopped answering.*1500 ms.*reset button/);
    expect(bx.clock.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(bx.clock.now() - t0).toBeLessThan(2000);
    expect(bx.port.isOpen).toBe(false);
  });

  it("says so when the port cannot be opened (another program holds it)", async () => {
    const { bx, port } = await plugged();
    await (port as unknown as SimSerialPort).open({ baudRate: 9600 });
    const e = await flashError(flashTinyprog(port, bitstream(4096), { clock: bx.clock }));
    expect(e.code).toBe("claim_failed");
    expect(e.message).toContain("already open");
  });

  it("reports the first offset that reads back wrong (a bit that would not program)", async () => {
    const image = bitstream(20000);
    let k = 0x100;
    while (image[k] & 0x80) k++;
    const bx0 = createTinyFpgaBx({
      onLog(e, b) {
        if (e === "program 0x28100+256") b.flash.memory[0x28000 + k] |= 0x80;
      },
    });
    const serial = new FakeSerial({ requireGesture: false });
    serial.plug(bx0.port);
    const port = await serial.requestPort({ filters: TINYPROG_FILTERS });
    const e = await flashError(flashTinyprog(port, image, { clock: bx0.clock }));
    expect(e.code).toBe("verify_mismatch");
    expect(e.offset).toBe(k);
    expect(e.message).toContain(`image offset ${k} (flash address 0x${(0x28000 + k).toString(16).toUpperCase()})`);
    expect(bx0.booted).toBe(false);
  });

  it("says the board is gone when it was unplugged after being chosen", async () => {
    const { bx, serial, port } = await plugged();
    serial.unplug(bx.port);
    const e = await flashError(flashTinyprog(port, bitstream(4096), { clock: bx.clock }));
    expect(e.code).toBe("unplugged");
    expect(e.message).toContain("no longer plugged in");
  });

  it("works on the real clock too", async () => {
    const { bx, port } = await plugged();
    const image = bitstream(3000);
    const r = await flashTinyprog(port, image, { timeoutMs: 5000 });
    expect(r.verified).toBe(true);
    expect([...bx.flash.memory.subarray(0x28000, 0x28000 + image.length)]).toEqual([...image]);
  });
});

describe("FakeSerial", () => {
  it("offers only ports matching the filters and remembers the grant", async () => {
    const serial = new FakeSerial({ requireGesture: false });
    const other = createTinyFpgaBx({ usbVendorId: 0x0403, usbProductId: 0x6001 });
    const bx = createTinyFpgaBx();
    serial.plug(other.port);
    serial.plug(bx.port);
    expect(await serial.getPorts()).toHaveLength(0);
    const p = await serial.requestPort({ filters: TINYPROG_FILTERS });
    expect(p).toBe(bx.port);
    expect(p.getInfo()).toEqual({ usbVendorId: 0x1d50, usbProductId: 0x6130 });
    expect(await serial.getPorts()).toEqual([bx.port]);
    await expect(serial.requestPort({ filters: [{ usbVendorId: 0x1209, usbProductId: 0x9999 }] })).rejects.toMatchObject({ name: "NotFoundError" });
    await expect(serial.requestPort({ filters: [{ usbProductId: 0x6130 }] })).rejects.toThrow(TypeError);
    await expect(serial.requestPort({ filters: [{}] })).rejects.toThrow(TypeError);
  });

  it("needs a user gesture when the page tracks activation", async () => {
    const serial = new FakeSerial();
    serial.plug(createTinyFpgaBx().port);
    const g = globalThis as unknown as { navigator?: unknown };
    const saved = Object.getOwnPropertyDescriptor(globalThis, "navigator");
    Object.defineProperty(globalThis, "navigator", { configurable: true, value: { userActivation: { isActive: false } } });
    try {
      await expect(serial.requestPort({ filters: TINYPROG_FILTERS })).rejects.toMatchObject({ name: "SecurityError" });
      (g.navigator as { userActivation: { isActive: boolean } }).userActivation.isActive = true;
      await expect(serial.requestPort({ filters: TINYPROG_FILTERS })).resolves.toBeDefined();
    } finally {
      if (saved) Object.defineProperty(globalThis, "navigator", saved);
      else delete g.navigator;
    }
  });

  it("fires connect and disconnect, and errors the streams like Chromium on unplug", async () => {
    const serial = new FakeSerial({ requireGesture: false });
    const bx = createTinyFpgaBx();
    const seen: string[] = [];
    serial.addEventListener("connect", () => seen.push("connect"));
    serial.ondisconnect = () => seen.push("disconnect");
    serial.plug(bx.port);
    const port = await serial.requestPort({ filters: TINYPROG_FILTERS });
    await port.open({ baudRate: 115200 });
    await expect(port.open({ baudRate: 115200 })).rejects.toMatchObject({ name: "InvalidStateError" });
    const reader = port.readable!.getReader();
    const writer = port.writable!.getWriter();
    await expect(port.close()).rejects.toThrow(TypeError); // locked streams
    // JEDEC id through the bridge: 01, write 1, read 3, 9F (the flash is asleep: wake it first).
    await writer.write(new Uint8Array([0x01, 1, 0, 0, 0, 0xab, 0x01, 1, 0, 3, 0, 0x9f]));
    const got = await reader.read();
    expect([...got.value!]).toEqual([0x1f, 0x85, 0x01]);
    const pending = reader.read();
    serial.unplug(bx.port);
    await expect(pending).rejects.toMatchObject({ name: "NetworkError", message: lostError().message });
    await expect(writer.write(new Uint8Array([0x00]))).rejects.toMatchObject({ name: "NetworkError" });
    expect(seen).toEqual(["connect", "disconnect"]);
    expect(port.connected).toBe(false);
    await expect(port.open({ baudRate: 115200 })).rejects.toMatchObject({ name: "NetworkError" });
  });
});

describe("the simulated BX bootloader", () => {
  async function open(o: TinyFpgaBxOptions = {}) {
    const bx = createTinyFpgaBx({ poweredDown: false, ...o });
    await bx.port.open({ baudRate: 115200 });
    const reader = bx.port.readable!.getReader();
    const writer = bx.port.writable!.getWriter();
    const xfer = async (w: number[], rlen: number) => {
      await writer.write(new Uint8Array([0x01, w.length & 0xff, w.length >> 8, rlen & 0xff, rlen >> 8, ...w]));
      const out: number[] = [];
      while (out.length < rlen) out.push(...(await reader.read()).value!);
      return out;
    };
    return { bx, xfer, writer };
  }

  it("holds the BX metadata in security register pages 1 and 2", async () => {
    const { xfer } = await open();
    const p1 = await xfer([0x48, 0, 1, 0, 0], 255);
    const p2 = await xfer([0x48, 0, 2, 0, 0], 255);
    const text = (b: number[]) => new TextDecoder().decode(new Uint8Array(b.filter((x) => x !== 0xff)));
    expect(JSON.parse(text(p1)).boardmeta.name).toBe("TinyFPGA BX");
    expect(JSON.parse(text(p2)).bootmeta.addrmap.userimage).toBe("0x28000-0x50000");
    expect((await xfer([0x48, 0, 3, 0, 0], 16)).every((b) => b === 0xff)).toBe(true);
  });

  it("models write enable, busy time and programming that only clears bits", async () => {
    const { bx, xfer } = await open();
    await xfer([0x02, 0x06, 0x00, 0x00, 0x12], 0); // no WREN: ignored
    expect(bx.flash.memory[0x60000]).toBe(0xff);
    await xfer([0x06], 0);
    expect((await xfer([0x05], 1))[0] & 0x02).toBe(2);
    await xfer([0x02, 0x06, 0x00, 0xff, 0x0f, 0xf0], 0); // wraps within the page: 0x600FF then 0x60000
    expect(bx.flash.memory[0x600ff]).toBe(0x0f);
    expect(bx.flash.memory[0x60000]).toBe(0xf0);
    await xfer([0x06], 0); // still programming (0.7 ms): ignored, and WEL clears when the program ends
    expect((await xfer([0x05], 1))[0]).toBe(0);
    await xfer([0x06], 0);
    const t = bx.clock.now();
    await xfer([0x20, 0x06, 0x00, 0x00], 0);
    expect((await xfer([0x05], 1))[0] & 0x03).toBe(3); // busy, WEL still set
    bx.clock.advance(71 - (bx.clock.now() - t)); // 70 ms typical 4 KB erase, from when its packet landed
    expect((await xfer([0x05], 1))[0]).toBe(0);
    expect(bx.flash.memory[0x600ff]).toBe(0xff);
  });

  it("ignores everything but 0xAB in deep power-down, and boots on 0x00", async () => {
    const { bx, xfer, writer } = await open({ poweredDown: true });
    expect(await xfer([0x9f], 3)).toEqual([0xff, 0xff, 0xff]);
    await xfer([0xab], 0);
    expect(await xfer([0x9f], 3)).toEqual([0x1f, 0x85, 0x01]);
    await writer.write(new Uint8Array([0x00]));
    expect(bx.booted).toBe(true);
    expect(bx.userImageValid).toBe(false); // the default flash has no image at 0x28000
  });
});
