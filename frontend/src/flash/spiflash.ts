// SPI NOR flash on an MPSSE channel: identify (JEDEC id), wake from deep
// power-down, erase just the sectors an image covers, page program, read.
// The command set is the one these 25-series chips share (Winbond W25Q32JV
// §8.1 instruction set table, W25Q128JV §8.1, Micron N25Q032A "Command Set"):
//   0x06 write enable      0x05 read status register 1 (bit 0 BUSY, bit 1 WEL, bits 2-4/5 BP)
//   0x01 write status      0x9F JEDEC id (manufacturer, memory type, capacity)
//   0x03 read (3-byte address, no dummy cycles)
//   0x02 page program (<= 256 bytes, within one page)
//   0x20 4 KiB sector erase   0x52 32 KiB block erase (W25Q)   0xD8 64 KiB block/sector erase
//   0xAB release from deep power-down (then wait tRES1)
// Waiting: each erase or program is followed by its datasheet's typical
// time measured in SPI clocks (or, for erases, a sleep), then a status read;
// only a chip that is still busy then costs another round trip.
import { Cmd, hexBytes, type Mpsse } from "./mpsse";
import { FlashError, type FlashPhase } from "./types";

/** Datasheet figures for one chip (ms unless named otherwise; "typ" and "max"). */
export interface SpiFlashChip {
  name: string;
  jedecId: [number, number, number];
  size: number;
  pageSize: number;
  pageProgramMs: number;
  pageProgramMaxMs: number;
  sectorErase4kMs: number;
  sectorErase4kMaxMs: number;
  /** Absent for chips without a 32 KiB erase (N25Q). */
  blockErase32kMs?: number;
  blockErase32kMaxMs?: number;
  blockErase64kMs: number;
  blockErase64kMaxMs: number;
  writeStatusMaxMs: number;
  /** tRES1: release from deep power-down to the next command, µs. */
  releasePowerDownUs: number;
  /** The status register's protection bits; default STATUS_PROTECT (Macronix: bits 2..5, bit 6 is QE). */
  protectMask?: number;
  datasheet: string;
}

const MiB = 1024 * 1024;

function winbond(name: string, cap: number, datasheet: string): SpiFlashChip {
  // W25QxxJV §9.6 "AC Electrical Characteristics": tPP 0.4/3 ms, tSE 45/400 ms, tBE1 120/1600 ms,
  // tBE2 150/2000 ms, tW 10/15 ms, tRES1 3 µs.
  return {
    name,
    jedecId: [0xef, 0x40, cap],
    size: 1 << cap,
    pageSize: 256,
    pageProgramMs: 0.4,
    pageProgramMaxMs: 3,
    sectorErase4kMs: 45,
    sectorErase4kMaxMs: 400,
    blockErase32kMs: 120,
    blockErase32kMaxMs: 1600,
    blockErase64kMs: 150,
    blockErase64kMaxMs: 2000,
    writeStatusMaxMs: 15,
    releasePowerDownUs: 3,
    datasheet,
  };
}

function micron(name: string, cap: number, datasheet: string): SpiFlashChip {
  // N25Q032A/N25Q128A "Program/Erase Specifications": page program (256 bytes) 0.5/5 ms,
  // subsector (4 KiB) erase 0.3/0.8 s, sector (64 KiB) erase 0.7/3 s, write status 1.3/8 ms;
  // "AC Characteristics": tRES1 (release from deep power-down) 30 µs.
  return {
    name,
    jedecId: [0x20, 0xba, cap],
    size: 1 << cap,
    pageSize: 256,
    pageProgramMs: 0.5,
    pageProgramMaxMs: 5,
    sectorErase4kMs: 300,
    sectorErase4kMaxMs: 800,
    blockErase64kMs: 700,
    blockErase64kMaxMs: 3000,
    writeStatusMaxMs: 8,
    releasePowerDownUs: 30,
    datasheet,
  };
}

/** The chips the driver knows, by JEDEC id. */
export const SPI_FLASH_CHIPS: SpiFlashChip[] = [
  winbond("W25Q16", 0x15, "Winbond W25Q16JV"),
  winbond("W25Q32", 0x16, "Winbond W25Q32JV"),
  winbond("W25Q64", 0x17, "Winbond W25Q64JV"),
  winbond("W25Q128", 0x18, "Winbond W25Q128JV"),
  micron("N25Q032", 0x16, "Micron N25Q032A"),
  micron("N25Q064", 0x17, "Micron N25Q064A"),
  micron("N25Q128", 0x18, "Micron N25Q128A"),
  {
    // Adesto AT25SF081 (TinyFPGA BX), "AC Characteristics" / "Program and Erase Characteristics":
    // tPP 0.4/2.5 ms, 4 KiB 60/300 ms, 32 KiB 300/1300 ms, 64 KiB 450/3000 ms, tRES 8 µs.
    // (Recalled figures, not re-checked against the PDF in this session; the driver polls BUSY, so a
    // slower chip only costs extra status reads.)
    name: "AT25SF081",
    jedecId: [0x1f, 0x85, 0x01],
    size: 1 * MiB,
    pageSize: 256,
    pageProgramMs: 0.4,
    pageProgramMaxMs: 2.5,
    sectorErase4kMs: 60,
    sectorErase4kMaxMs: 300,
    blockErase32kMs: 300,
    blockErase32kMaxMs: 1300,
    blockErase64kMs: 450,
    blockErase64kMaxMs: 3000,
    writeStatusMaxMs: 15,
    releasePowerDownUs: 8,
    datasheet: "Adesto AT25SF081",
  },
  {
    // Macronix MX25L3233F "Erase and Programming Performance": tPP 0.5/3 ms, tSE 40/200 ms,
    // tBE32 200/1000 ms, tBE 400/2000 ms; tRES1 rounded up to 10 µs. (Recalled figures, as for the AT25SF081.)
    name: "MX25L3233F",
    // Status bit 6 is QE (quad enable), not protection: clearing it would turn WP#/HOLD# back on.
    protectMask: 0x3c,
    jedecId: [0xc2, 0x20, 0x16],
    size: 4 * MiB,
    pageSize: 256,
    pageProgramMs: 0.5,
    pageProgramMaxMs: 3,
    sectorErase4kMs: 40,
    sectorErase4kMaxMs: 200,
    blockErase32kMs: 200,
    blockErase32kMaxMs: 1000,
    blockErase64kMs: 400,
    blockErase64kMaxMs: 2000,
    writeStatusMaxMs: 40,
    releasePowerDownUs: 10,
    datasheet: "Macronix MX25L3233F",
  },
];

export const CMD = {
  WRITE_ENABLE: 0x06,
  READ_STATUS: 0x05,
  WRITE_STATUS: 0x01,
  JEDEC_ID: 0x9f,
  READ: 0x03,
  PAGE_PROGRAM: 0x02,
  SECTOR_ERASE_4K: 0x20,
  BLOCK_ERASE_32K: 0x52,
  BLOCK_ERASE_64K: 0xd8,
  RELEASE_POWER_DOWN: 0xab,
} as const;

/** Bytes per read command when reading back. */
const READ_CHUNK = 4096;

export const STATUS_BUSY = 0x01;
export const STATUS_WEL = 0x02;
/**
 * The status register's protection bits 2..6: Winbond W25Q SR1 BP0-BP2, TB
 * (bit 5), SEC (bit 6); Micron N25Q BP0-BP2, TB (bit 5), BP3 (bit 6).
 */
export const STATUS_PROTECT = 0x7c;

/** chipById finds the chip for a JEDEC id, or null. */
export function chipById(id: ArrayLike<number>): SpiFlashChip | null {
  return SPI_FLASH_CHIPS.find((c) => c.jedecId[0] === id[0] && c.jedecId[1] === id[1] && c.jedecId[2] === id[2]) ?? null;
}

/** One erase: address and size (4 KiB, 32 KiB or 64 KiB). */
export interface EraseOp {
  addr: number;
  size: number;
}

/**
 * planErase lists the erases that clear [offset, offset+length) touching
 * nothing outside the 4 KiB sectors it covers: 64 KiB block erases where a
 * whole aligned block is covered, 32 KiB where the chip has them and a whole
 * aligned half-block is covered, 4 KiB sectors elsewhere.
 */
export function planErase(offset: number, length: number, chip?: Pick<SpiFlashChip, "blockErase32kMs">): EraseOp[] {
  if (length <= 0) return [];
  const S = 4096;
  const start = Math.floor(offset / S) * S;
  const end = Math.ceil((offset + length) / S) * S;
  const ops: EraseOp[] = [];
  for (let a = start; a < end; ) {
    if (a % 65536 === 0 && a + 65536 <= end) {
      ops.push({ addr: a, size: 65536 });
      a += 65536;
    } else if (chip?.blockErase32kMs !== undefined && a % 32768 === 0 && a + 32768 <= end) {
      ops.push({ addr: a, size: 32768 });
      a += 32768;
    } else {
      ops.push({ addr: a, size: S });
      a += S;
    }
  }
  return ops;
}

/** A byte range of the flash. */
export interface FlashRange {
  addr: number;
  length: number;
}

/** An erase plan: the erases, and what they clear besides the image (to be read first and written back). */
export interface ErasePlan {
  ops: EraseOp[];
  keep: FlashRange[];
}

/**
 * planEraseKeeping chooses, for each 64 KiB block [offset, offset+length)
 * touches, the faster of two ways to clear it: the 32/4 KiB erases covering
 * just the image's part (planErase), or one 64 KiB block erase. The cost of
 * each is the datasheet's typical erase time plus the time to read, at hz,
 * whatever else the erase would clear: that is read before the erase and
 * written back after it, so either way nothing outside the image is lost.
 * (On the N25Q032, eight 4 KiB subsector erases take 2.4 s where the
 * 64 KiB sector erase takes 0.7 s.) smallOnly(block index) forces the
 * smaller erases for a block, where data lives beside the image.
 */
export function planEraseKeeping(offset: number, length: number, chip: SpiFlashChip, hz: number, smallOnly?: (block: number) => boolean): ErasePlan {
  const plan: ErasePlan = { ops: [], keep: [] };
  if (length <= 0) return plan;
  const B = 65536;
  const end = offset + length;
  const readMs = (bytes: number) => (bytes * 8 * 1000) / hz;
  const keep = (lo: number, hi: number, eLo: number, eHi: number) => {
    if (lo > eLo) plan.keep.push({ addr: eLo, length: lo - eLo });
    if (eHi > hi) plan.keep.push({ addr: hi, length: eHi - hi });
  };
  for (let b = Math.floor(offset / B) * B; b < end; b += B) {
    const lo = Math.max(offset, b);
    const hi = Math.min(end, b + B);
    const small = planErase(lo, hi - lo, chip);
    const sLo = small[0].addr;
    const sHi = small[small.length - 1].addr + small[small.length - 1].size;
    const smallMs = small.reduce((t, op) => t + eraseTypMs(chip, op.size), 0) + readMs(sHi - sLo - (hi - lo));
    const blockMs = eraseTypMs(chip, B) + readMs(B - (hi - lo));
    if (small.length === 1 && small[0].size === B) {
      plan.ops.push(small[0]);
    } else if (blockMs < smallMs && !smallOnly?.(b / B)) {
      plan.ops.push({ addr: b, size: B });
      keep(lo, hi, b, b + B);
    } else {
      plan.ops.push(...small);
      keep(lo, hi, sLo, sHi);
    }
  }
  return plan;
}

/** eraseTypMs is the datasheet's typical time for one erase. */
export function eraseTypMs(chip: SpiFlashChip, size: number): number {
  if (size === 65536) return chip.blockErase64kMs;
  if (size === 32768) return chip.blockErase32kMs ?? chip.blockErase64kMs;
  return chip.sectorErase4kMs;
}

export function eraseMaxMs(chip: SpiFlashChip, size: number): number {
  if (size === 65536) return chip.blockErase64kMaxMs;
  if (size === 32768) return chip.blockErase32kMaxMs ?? chip.blockErase64kMaxMs;
  return chip.sectorErase4kMaxMs;
}

/** The slowest tRES1 of the chips we know: the wake-up wait before the chip is known. */
export const MAX_RELEASE_POWER_DOWN_US = Math.max(...SPI_FLASH_CHIPS.map((c) => c.releasePowerDownUs));

function addr3(a: number): number[] {
  return [(a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff];
}

export function isErased(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0xff) return false;
  return true;
}

export function formatSize(n: number): string {
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** SpiFlash drives one SPI NOR flash through an Mpsse (CS on ADBUS4). */
export class SpiFlash {
  chip: SpiFlashChip | null = null;
  jedecId: [number, number, number] = [0, 0, 0];
  status = 0;

  constructor(readonly m: Mpsse) {}

  private command(c: Cmd, bytes: number[] | Uint8Array, readBack = 0): Cmd {
    this.m.cs(c, true);
    c.write(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
    if (readBack > 0) c.read(readBack);
    return this.m.cs(c, false);
  }

  /**
   * wakeAndIdentify sends release-from-power-down, waits tRES1 (the slowest
   * we know) in SPI clocks, reads the JEDEC id and status register, all in
   * one USB round trip. An id we do not know (or 00 00 00 / FF FF FF: no
   * chip, or it did not wake) is FlashError "wrong_chip" with the id in hex.
   */
  async wakeAndIdentify(): Promise<SpiFlashChip> {
    const c = new Cmd();
    this.command(c, [CMD.RELEASE_POWER_DOWN]);
    this.m.delay(c, MAX_RELEASE_POWER_DOWN_US);
    this.command(c, [CMD.JEDEC_ID], 3);
    this.command(c, [CMD.READ_STATUS], 1);
    const r = await this.m.run(c);
    this.jedecId = [r[0], r[1], r[2]];
    this.status = r[3];
    const id = hexBytes(this.jedecId);
    if ((r[0] === 0xff && r[1] === 0xff && r[2] === 0xff) || (r[0] === 0 && r[1] === 0 && r[2] === 0)) {
      throw new FlashError(
        `The SPI flash answered its JEDEC id with ${id}: no flash chip is answering. Check that the board is set for flash programming (the HX8K breakout has jumpers for flash or SRAM programming), then unplug it, plug it back in and flash again.`,
        "wrong_chip",
      );
    }
    const chip = chipById(this.jedecId);
    if (!chip) {
      throw new FlashError(
        `The SPI flash has JEDEC id ${id}, a chip this flasher does not know (it knows ${SPI_FLASH_CHIPS.map((x) => x.name).join(", ")}): flash via sessiond (openFPGALoader), or tell us the chip so it can be added.`,
        "wrong_chip",
      );
    }
    this.chip = chip;
    return chip;
  }

  /** readStatus reads status register 1. */
  async readStatus(): Promise<number> {
    const c = new Cmd();
    this.command(c, [CMD.READ_STATUS], 1);
    const r = await this.m.run(c);
    this.status = r[0];
    return r[0];
  }

  /** waitReady polls BUSY every intervalMs until it clears, or throws "timeout" after maxMs. */
  async waitReady(what: string, maxMs: number, intervalMs: number): Promise<void> {
    const ftdi = this.m.ftdi;
    const deadline = ftdi.now() + maxMs;
    for (;;) {
      const s = await this.readStatus();
      if (!(s & STATUS_BUSY)) return;
      if (ftdi.now() >= deadline) {
        throw new FlashError(`The SPI flash stayed busy after ${what} for more than ${Math.round(maxMs)} ms (its datasheet maximum): unplug the board, plug it back in and flash again; if it happens again the flash may be worn out.`, "timeout");
      }
      await ftdi.sleep(intervalMs);
    }
  }

  /** unprotect clears the block-protect bits if any is set (otherwise erases are ignored). */
  async unprotect(): Promise<void> {
    const chip = this.chip!;
    const mask = chip.protectMask ?? STATUS_PROTECT;
    if (!(this.status & mask)) return;
    const c = new Cmd();
    this.command(c, [CMD.WRITE_ENABLE]);
    this.command(c, [CMD.WRITE_STATUS, this.status & ~mask & 0x7c]);
    await this.m.run(c);
    await this.waitReady("clearing its write protection", chip.writeStatusMaxMs * 2, 0.5);
    if ((await this.readStatus()) & mask) {
      throw new FlashError(`The SPI flash ${chip.name} stays write-protected (status ${hexBytes([this.status])}; its WP# pin may be held low): it cannot be erased from here.`, "device_error");
    }
  }

  /**
   * erase runs the plan: each erase is write enable + erase + a status read
   * in one write (BUSY must be set, or the chip ignored the command), a
   * sleep of the typical erase time, then status polls.
   */
  async erase(ops: EraseOp[], onDone?: (bytes: number) => void): Promise<void> {
    const chip = this.chip!;
    let done = 0;
    for (const op of ops) {
      this.m.ftdi.checkAbort();
      this.m.ftdi.where = { phase: "erasing", offset: op.addr };
      const opcode = op.size === 65536 ? CMD.BLOCK_ERASE_64K : op.size === 32768 ? CMD.BLOCK_ERASE_32K : CMD.SECTOR_ERASE_4K;
      const c = new Cmd();
      this.command(c, [CMD.WRITE_ENABLE]);
      this.command(c, [opcode, ...addr3(op.addr)]);
      this.command(c, [CMD.READ_STATUS], 1);
      const r = await this.m.run(c);
      if (!(r[0] & STATUS_BUSY)) {
        throw new FlashError(
          `The SPI flash ${chip.name} ignored the erase at 0x${op.addr.toString(16)} (status ${hexBytes(r)}, not busy): it may be write-protected. Unplug the board, plug it back in and flash again.`,
          "device_error",
          op.addr,
        );
      }
      const typ = eraseTypMs(chip, op.size);
      await this.m.ftdi.sleep(typ);
      await this.waitReady(`erasing 0x${op.addr.toString(16)}`, eraseMaxMs(chip, op.size), Math.max(0.25, typ / 32));
      done += op.size;
      onDone?.(done);
    }
  }

  /**
   * program writes data at flash address addr, page by page. Pages that are
   * all 0xFF are skipped (they are erased already). Each page is write
   * enable, page program, a wait of the typical page time in SPI clocks and
   * a status read; a batch of pages goes in one USB round trip. A page whose
   * status still shows BUSY means the pages after it in the batch were
   * ignored: the driver waits until ready and sends them again.
   */
  async program(data: Uint8Array, addr: number, onDone?: (bytes: number) => void): Promise<void> {
    const chip = this.chip!;
    const P = chip.pageSize;
    const pages: { a: number; off: number; len: number }[] = [];
    for (let off = 0; off < data.length; ) {
      const a = addr + off;
      const len = Math.min(P - (a % P), data.length - off);
      if (!isErased(data.subarray(off, off + len))) pages.push({ a, off, len });
      off += len;
    }
    // Answers: one status byte per page, far below every chip's answer buffer.
    const perBatch = 16;
    let i = 0;
    while (i < pages.length) {
      this.m.ftdi.checkAbort();
      const batch = pages.slice(i, i + perBatch);
      this.m.ftdi.where = { phase: "writing", offset: batch[0].off };
      const c = new Cmd(batch.length * (P + 64));
      for (const p of batch) {
        this.command(c, [CMD.WRITE_ENABLE]);
        this.m.cs(c, true);
        c.write(new Uint8Array([CMD.PAGE_PROGRAM, ...addr3(p.a)]));
        c.write(data.subarray(p.off, p.off + p.len));
        this.m.cs(c, false);
        this.m.delay(c, chip.pageProgramMs * 1000);
        this.command(c, [CMD.READ_STATUS], 1);
      }
      const st = await this.m.run(c);
      let ok = batch.length;
      for (let k = 0; k < batch.length; k++) {
        if (st[k] & STATUS_BUSY) {
          ok = k + 1; // page k was accepted and is still programming; the ones after it were ignored
          break;
        }
      }
      if (ok < batch.length || st[batch.length - 1] & STATUS_BUSY) {
        await this.waitReady(`programming 0x${batch[ok - 1].a.toString(16)}`, chip.pageProgramMaxMs * 2, Math.max(0.05, chip.pageProgramMs / 8));
      }
      i += ok;
      const last = pages[i - 1];
      onDone?.(last.off + last.len);
    }
    onDone?.(data.length);
  }

  /**
   * read reads length bytes from addr, 4 KiB per read command (a short
   * batch: the bridge pauses while its answer buffer is full and goes on as
   * the host reads, so the chunk need not fit that buffer).
   */
  async read(addr: number, length: number, onDone?: (bytes: number) => void, offsetBase = 0, phase: FlashPhase = "verifying"): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    const chunk = READ_CHUNK;
    for (let off = 0; off < length; off += chunk) {
      this.m.ftdi.checkAbort();
      this.m.ftdi.where = { phase, offset: offsetBase + off };
      const n = Math.min(chunk, length - off);
      const c = new Cmd();
      this.command(c, [CMD.READ, ...addr3(addr + off)], n);
      out.set(await this.m.run(c), off);
      onDone?.(off + n);
    }
    return out;
  }
}
