// An iCE40 FPGA's configuration logic, modelled from Lattice TN1248
// ("iCE40 Programming and Configuration"), the iCE40 LP/HX and UltraPlus
// family datasheets (DS1040, DS1056) and Project IceStorm's "Bitstream File
// Format" documentation — not from any programmer's code.
//
// - CRESET_B low: the device is held in reset, CDONE low, its SPI pins high-Z
//   (TN1248 "Configuration Pins": the bus is free for an external master).
// - CRESET_B rising edge: SPI_SS_B is sampled (TN1248 "Configuration Mode
//   Selection"). Low → SPI peripheral (slave) mode: after tCR_SCK the device
//   accepts the image MSB first on SPI_SI, clocked on SPI_SCK rising edges
//   while SS_B is low; bits clocked before tCR_SCK are lost (the device is
//   still clearing its configuration memory). High → SPI master mode: the
//   device wakes the flash (ABh) and reads the image from address 0 with its
//   internal oscillator (DS1040 Table 12 fOSCD 7–10 MHz: we take the slow 7 MHz).
// - The image is valid when, after the 0x7EAA997E sync word, its commands
//   (IceStorm format: opcode nibble | payload length nibble) describe CRAM
//   banks of this device's geometry and the CRC-16 check (CCITT polynomial
//   0x1021, preset 0xFFFF, reset by command 01 05, checked by opcode 2 over
//   everything since the reset including the two CRC bytes → residue 0) passes
//   before the wake-up command (01 06). A bitstream for another device (other
//   bank width/height) or with a bad CRC never raises CDONE.
// - Slave mode: CDONE rises after the wake-up command plus 49 more SPI_SCK
//   clocks (DS1040 Table 14 tDONE_IO 49 clock cycles; TN1248 "send a minimum
//   of 49 additional dummy bits"). Master mode: CDONE rises tCR_SCK plus the
//   read time after CRESET_B rises.
// Not modelled: NVCM, cold/warm boot images (multi-image headers, boot
// address), the oscillator frequency command's effect on read speed, BRAM
// contents, contention when the FTDI drives the bus during master configuration.

/** CRAM geometry per device: bank width (columns) and each bank's height, as IceStorm's chip database has it. */
export const ICE40_DEVICES = {
  // iCE40HX1K / LP1K: 4 CRAM banks of 332 × 144 (IceStorm icebox "1k").
  hx1k: { cramWidth: 332, cramHeights: [144, 144, 144, 144], tCrSckMs: 0.8, name: "iCE40HX1K" },
  // iCE40HX8K / LP8K: 4 banks of 872 × 272 (icebox "8k").
  hx8k: { cramWidth: 872, cramHeights: [272, 272, 272, 272], tCrSckMs: 1.2, name: "iCE40HX8K" },
  // iCE40UP5K: 4 banks of 692 × 336/176/336/176 (icebox "5k").
  up5k: { cramWidth: 692, cramHeights: [336, 176, 336, 176], tCrSckMs: 1.2, name: "iCE40UP5K" },
} as const;
// tCR_SCK (CRESET_B high to first SPI_SCK in peripheral mode): DS1040 "General
// Configuration Timing" lists 800 µs for the 1K parts and 1200 µs for 4K/8K;
// DS1056 (UltraPlus) lists 1200 µs.

export type Ice40DeviceName = keyof typeof ICE40_DEVICES;

/** Slowest default configuration oscillator, DS1040 Table 12 fOSCD min 7 MHz (bits per ms). */
const MASTER_BITS_PER_MS = 7_000;

/** crc16 updates the CCITT CRC-16 (poly 0x1021, MSB first) with one byte. */
export function crc16Byte(crc: number, b: number): number {
  crc ^= b << 8;
  for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  return crc;
}

type ParseState = "ok" | "done" | "error";

/** BitstreamParser consumes an image byte by byte, the way the configuration engine does. */
export class BitstreamParser {
  state: ParseState = "ok";
  error = "";
  bytes = 0;
  private synced = false;
  private sync = 0;
  private crc = 0xffff;
  private cmd = -1;
  private need = 0;
  private payload = 0;
  private dataLeft = 0;
  private bank = 0;
  private width = 0;
  private height = 0;
  private offset = 0;
  private cramBanks = new Set<number>();

  constructor(private dev: Ice40DeviceName) {}

  push(v: number): ParseState {
    if (this.state !== "ok") return this.state;
    this.bytes++;
    if (!this.synced) {
      // Everything before the sync word (the FF 00 preamble, comments, padding) is skipped.
      this.sync = ((this.sync << 8) | v) >>> 0;
      if (this.sync === 0x7eaa997e) this.synced = true;
      return this.state;
    }
    this.crc = crc16Byte(this.crc, v);
    if (this.dataLeft > 0) {
      this.dataLeft--;
      return this.state;
    }
    if (this.cmd < 0) {
      this.cmd = v;
      this.need = v & 0x0f;
      this.payload = 0;
      if (this.need === 0) this.exec();
      return this.state;
    }
    this.payload = (this.payload << 8) | v;
    if (--this.need === 0) this.exec();
    return this.state;
  }

  private fail(msg: string): void {
    this.state = "error";
    this.error = msg;
  }

  private exec(): void {
    const op = this.cmd >> 4;
    const p = this.payload;
    this.cmd = -1;
    const g = ICE40_DEVICES[this.dev];
    switch (op) {
      case 0:
        if (p === 1 || p === 3) {
          // CRAM (1) / BRAM (3) data: width*height bits, then two zero bytes.
          if (this.width <= 0 || this.height <= 0) return this.fail("data before the bank geometry");
          if (p === 1) {
            if (this.bank > 3) return this.fail(`CRAM bank ${this.bank}`);
            if (this.width !== g.cramWidth || this.offset + this.height > g.cramHeights[this.bank])
              return this.fail(`CRAM bank ${this.bank} ${this.width}x${this.height}+${this.offset} is not ${g.name}'s ${g.cramWidth}x${g.cramHeights[this.bank]}`);
            this.cramBanks.add(this.bank);
          } else if (this.bank > 3) return this.fail(`BRAM bank ${this.bank}`);
          this.dataLeft = (this.width * this.height) / 8 + 2;
        } else if (p === 5) this.crc = 0xffff;
        else if (p === 6) {
          if (this.cramBanks.size !== 4) return this.fail(`wake-up after ${this.cramBanks.size} of 4 CRAM banks`);
          this.state = "done";
        } else if (p === 8) {
          /* reboot: not modelled (warm boot) */
        } else return this.fail(`unknown command 0${p}`);
        return;
      case 1:
        this.bank = p;
        return;
      case 2:
        // CRC check: the CRC over everything since the reset, including these two bytes, is 0.
        if (this.crc !== 0) return this.fail("CRC mismatch");
        return;
      case 4: // boot address
      case 5: // oscillator range
      case 9: // warm/cold boot
        return;
      case 6:
        this.width = p + 1;
        return;
      case 7:
        this.height = p;
        return;
      case 8:
        this.offset = p;
        return;
      default:
        return this.fail(`unknown opcode ${op.toString(16)}`);
    }
  }
}

/** checkImage runs a whole image through the parser: null when valid for dev, else why not. */
export function checkImage(image: Uint8Array, dev: Ice40DeviceName): string | null {
  const p = new BitstreamParser(dev);
  for (const v of image) if (p.push(v) !== "ok") break;
  return p.state === "done" ? null : p.state === "error" ? p.error : "no wake-up command";
}

export interface FlashSource {
  /** A reader of the flash from address 0 as the FPGA (SPI master) sees it at bus time t. */
  fpgaReader(t: number): () => number;
  size: number;
}

export class Ice40 {
  /** Configuration cycles started (each CRESET_B release, including power-on). */
  configs = 0;
  /** Configuration cycles that ended with CDONE high. */
  boots = 0;
  configuredFrom: "flash" | "sram" | null = null;
  /** Why the last configuration failed, for tests and the bench. */
  lastError = "";
  private reset = true; // CRESET_B low
  private cdoneAt = Infinity;
  private mode: "none" | "master" | "slave" | "slave-unwired" = "none";
  private slaveFrom = 0;
  private parser: BitstreamParser | null = null;
  private bitAcc = 0;
  private bitN = 0;
  private clocksAfter = -1;

  constructor(
    readonly device: Ice40DeviceName,
    private flash: FlashSource,
    /** SRAM wiring: the FTDI's MOSI reaches the FPGA's SPI_SI (jumpers set for SRAM). */
    private sramWiring: boolean,
  ) {}

  cdoneAt_(t: number): boolean {
    return !this.reset && t >= this.cdoneAt;
  }

  /** CRESET_B level change at bus time t; ssLow is SPI_SS_B's level at that moment. */
  setReset(high: boolean, ssLow: boolean, t: number): void {
    if (!high) {
      this.reset = true;
      this.cdoneAt = Infinity;
      this.mode = "none";
      this.parser = null;
      return;
    }
    if (!this.reset) return;
    this.reset = false;
    this.cdoneAt = Infinity;
    this.lastError = "";
    this.configs++;
    const g = ICE40_DEVICES[this.device];
    if (ssLow) {
      // Peripheral mode. Without the SRAM jumpers SPI_SI is wired to the flash's DO, not to the FTDI's MOSI.
      this.mode = this.sramWiring ? "slave" : "slave-unwired";
      this.slaveFrom = t + g.tCrSckMs;
      this.parser = new BitstreamParser(this.device);
      this.bitAcc = 0;
      this.bitN = 0;
      this.clocksAfter = -1;
      if (!this.sramWiring) this.lastError = "SPI_SS_B was low at CRESET_B: peripheral mode, but SPI_SI is not wired to the programmer";
      return;
    }
    this.mode = "master";
    const read = this.flash.fpgaReader(t + g.tCrSckMs);
    const p = new BitstreamParser(this.device);
    for (let i = 0; i < this.flash.size && p.state === "ok"; i++) p.push(read());
    if (p.state === "done") {
      this.cdoneAt = t + g.tCrSckMs + (p.bytes * 8) / MASTER_BITS_PER_MS;
      this.boots++;
      this.configuredFrom = "flash";
    } else this.lastError = p.state === "error" ? p.error : "no valid image in the flash";
  }

  /** One SPI_SCK rising edge seen by the FPGA at bus time t (ssLow: SPI_SS_B low; mosi: the FTDI's MOSI). */
  clock(mosi: number, ssLow: boolean, t: number): void {
    if (this.mode !== "slave" || !this.parser) return;
    if (this.clocksAfter >= 0) {
      // TN1248 / DS1040 tDONE_IO: at least 49 clocks after the image.
      if (++this.clocksAfter >= 49 && this.cdoneAt === Infinity) {
        this.cdoneAt = t;
        this.boots++;
        this.configuredFrom = "sram";
      }
      return;
    }
    if (!ssLow || t < this.slaveFrom) return;
    this.bitAcc = ((this.bitAcc << 1) | (mosi & 1)) & 0xff;
    if (++this.bitN < 8) return;
    this.bitN = 0;
    const s = this.parser.push(this.bitAcc);
    if (s === "done") this.clocksAfter = 0;
    else if (s === "error") {
      this.lastError = this.parser.error;
      this.parser = null;
    }
  }

  /** True when clock() would do anything (lets the bus skip the per-bit path). */
  get listening(): boolean {
    return this.mode === "slave" && this.parser !== null && !(this.cdoneAt < Infinity);
  }
}

/**
 * makeIce40Image builds a configuration image in the IceStorm layout for a
 * device: preamble, sync word, CRC reset, each CRAM bank at the device's
 * geometry (contents from a seeded generator, or zeros), the CRC check and
 * wake-up. Without BRAM data it is shorter than icepack's (hx1k 23,967 vs
 * 32,220 bytes, hx8k 118,655 vs 135,100); size pads it with trailing zeros
 * to a given length (icepack's images end in padding too). For tests and the bench.
 */
export function makeIce40Image(dev: Ice40DeviceName, o: { seed?: number; size?: number } = {}): Uint8Array {
  const g = ICE40_DEVICES[dev];
  const out: number[] = [0xff, 0x00, 0x00, 0xff, 0x7e, 0xaa, 0x99, 0x7e];
  let crcFrom = 0;
  const w = g.cramWidth - 1;
  out.push(0x51, 0x00, 0x01, 0x05);
  crcFrom = out.length;
  out.push(0x92, 0x00, 0x20, 0x62, w >> 8, w & 0xff, 0x82, 0x00, 0x00);
  let x = o.seed ?? 0;
  for (let bank = 0; bank < 4; bank++) {
    const h = g.cramHeights[bank];
    out.push(0x72, h >> 8, h & 0xff, 0x11, bank, 0x01, 0x01);
    const n = (g.cramWidth * h) / 8;
    for (let i = 0; i < n; i++) {
      if (o.seed === undefined) out.push(0);
      else {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        out.push(x >>> 24);
      }
    }
    out.push(0x00, 0x00);
  }
  out.push(0x22);
  let crc = 0xffff;
  for (let i = crcFrom; i < out.length; i++) crc = crc16Byte(crc, out[i]);
  out.push(crc >> 8, crc & 0xff, 0x01, 0x06, 0x00);
  while (out.length < (o.size ?? 0)) out.push(0);
  return Uint8Array.from(out);
}
