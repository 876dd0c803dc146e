// A SPI NOR flash, modelled from the chips' datasheets (not from any
// driver): Winbond W25Q32JV and W25Q128JV, Micron N25Q032A. The model works
// at the bit level (one call per SCK cycle, mode 0/3: the flash latches DI on
// the rising edge and shifts DO out on the falling edge) with a byte fast
// path, and keeps its own time: every operation is given the bus time at
// which it happens, so erase/program busy periods are measured on the same
// virtual clock as the bus.
//
// Modelled:
// - 9Fh JEDEC id, 05h status register 1 (BUSY/WIP bit 0, WEL bit 1, BP bits 2..4,
//   TB bit 5), 35h status register 2 (Winbond), 70h flag status (Micron: bit 7 ready),
//   01h write status, 06h WREN, 04h WRDI, 02h page program, 20h 4 KiB erase,
//   52h 32 KiB erase (Winbond only), D8h 64 KiB erase, C7h/60h chip erase,
//   03h read, 0Bh fast read (one dummy byte), B9h deep power-down,
//   ABh release power-down (Winbond: + device id after three dummy bytes),
//   90h manufacturer/device id (Winbond), 66h/99h reset enable/reset.
// - Program/erase need WEL; they are executed at CS# rising edge only if CS#
//   rises on a byte boundary after the right number of bytes (W25Q32JV §8.2.13
//   "/CS must be driven high after the eighth bit of the last byte has been
//   latched. If this is not done the Page Program instruction will not be
//   executed."; N25Q032A "PAGE PROGRAM"/"SUBSECTOR ERASE": S# driven HIGH on a
//   byte boundary).
// - While BUSY every instruction except the status reads is ignored
//   (W25Q32JV §8.1.1 BUSY: "the device will ignore further instructions except
//   for the Read Status Register and Erase/Program Suspend instruction").
// - Page program wraps within the 256-byte page; only 1→0 bit changes
//   (W25Q32JV §8.2.13: "If more than 256 bytes are sent ... addressing will
//   wrap to the beginning of the page"; NOR programming ANDs into the cell).
// - Deep power-down: all instructions but ABh are ignored, DO stays high-Z
//   (reads as 1 through the FTDI's input pull-ups, FT2232H datasheet §3.x
//   "75 kΩ internal pull-up on all I/O"); ABh takes tRES1 before the part
//   accepts commands again (W25Q32JV §9.6 tRES1 3 µs; N25Q032A tRDP 30 µs).
// - Block protection: BP/TB bits protect the top (or bottom with TB) fraction
//   of the array; default all zero (unprotected). Program/erase into a
//   protected area is ignored (W25Q32JV §7.1.7 Table "Status Register Memory
//   Protection").
// Not modelled: dual/quad I/O instructions, security registers, SFDP,
// suspend/resume, the Winbond volatile SR write (50h), the Micron volatile and
// nonvolatile configuration registers, per-sector lock bits.

export interface FlashTiming {
  pageProgramMs: number;
  pageProgramMaxMs: number;
  sectorErase4kMs: number;
  sectorErase4kMaxMs: number;
  blockErase32kMs?: number;
  blockErase64kMs: number;
  blockErase64kMaxMs: number;
  chipEraseMs: number;
  pageSize: number;
  releasePowerDownUs: number;
  writeStatusMs: number;
}

export interface FlashChip {
  jedecId: [number, number, number];
  size: number;
  timing: FlashTiming;
  datasheet: string;
}

interface ChipModel extends FlashChip {
  vendor: "winbond" | "micron";
  /** Byte ABh/90h report (Winbond device id); undefined: ABh only releases. */
  deviceId?: number;
  /** Bytes after the 3-byte JEDEC id on 9Fh (Micron: UID length + extended id). */
  jedecTail: number[];
  /** Protected size for BP=001; each step doubles (datasheet protection table). */
  protectUnit: number;
  resetUs: number;
}

// Typical and maximum times from each datasheet's "AC Electrical
// Characteristics" table; in ms unless named Us.
const CHIPS: Record<string, ChipModel> = {
  // Winbond W25Q32JV datasheet rev. H, §9.6 AC Electrical Characteristics:
  // tPP 0.4/3 ms, tSE 45/400 ms, tBE1 (32 KB) 120/1600 ms, tBE2 (64 KB) 150/2000 ms,
  // tCE 10/50 s, tW 10/15 ms, tRES1 3 µs, tRST 30 µs. JEDEC id EF 40 16, device id 15h (§8.2.28, §8.2.29).
  W25Q32: {
    vendor: "winbond",
    jedecId: [0xef, 0x40, 0x16],
    size: 4 << 20,
    deviceId: 0x15,
    jedecTail: [],
    protectUnit: 64 << 10,
    resetUs: 30,
    datasheet: "Winbond W25Q32JV, §9.6 AC Electrical Characteristics",
    timing: {
      pageProgramMs: 0.4, pageProgramMaxMs: 3, sectorErase4kMs: 45, sectorErase4kMaxMs: 400,
      blockErase32kMs: 120, blockErase64kMs: 150, blockErase64kMaxMs: 2000, chipEraseMs: 10_000,
      pageSize: 256, releasePowerDownUs: 3, writeStatusMs: 10,
    },
  },
  // Winbond W25Q128JV datasheet rev. F, §9.6: tPP 0.4/3 ms, tSE 45/400 ms, tBE1 120/1600 ms,
  // tBE2 150/2000 ms, tCE 40/200 s, tW 10/15 ms, tRES1 3 µs. JEDEC EF 40 18, device id 17h.
  W25Q128: {
    vendor: "winbond",
    jedecId: [0xef, 0x40, 0x18],
    size: 16 << 20,
    deviceId: 0x17,
    jedecTail: [],
    protectUnit: 256 << 10,
    resetUs: 30,
    datasheet: "Winbond W25Q128JV, §9.6 AC Electrical Characteristics",
    timing: {
      pageProgramMs: 0.4, pageProgramMaxMs: 3, sectorErase4kMs: 45, sectorErase4kMaxMs: 400,
      blockErase32kMs: 120, blockErase64kMs: 150, blockErase64kMaxMs: 2000, chipEraseMs: 40_000,
      pageSize: 256, releasePowerDownUs: 3, writeStatusMs: 10,
    },
  },
  // Micron N25Q032A (n25q_32mb_3v_65nm rev. K), "Program/Erase Specifications":
  // tPP 0.5/5 ms (256 bytes), tSSE (4 KB subsector) 0.3/0.8 s, tSE (64 KB) 0.7/3 s,
  // tBE (bulk) 30/60 s, tW (WRSR) 1.3/8 ms; AC table tRDP 30 µs (release from deep power-down).
  // JEDEC 20 BA 16, then UID length 10h and two extended id bytes (READ ID, 9Eh/9Fh). No 32 KB erase.
  N25Q032: {
    vendor: "micron",
    jedecId: [0x20, 0xba, 0x16],
    size: 4 << 20,
    jedecTail: [0x10, 0x00, 0x00],
    protectUnit: 64 << 10,
    resetUs: 30,
    datasheet: "Micron N25Q032A, Program/Erase Specifications and AC Characteristics",
    timing: {
      pageProgramMs: 0.5, pageProgramMaxMs: 5, sectorErase4kMs: 300, sectorErase4kMaxMs: 800,
      blockErase64kMs: 700, blockErase64kMaxMs: 3000, chipEraseMs: 30_000,
      pageSize: 256, releasePowerDownUs: 30, writeStatusMs: 1.3,
    },
  },
};

/** The chips the simulator knows, with their datasheet ids, sizes and timing. */
export const FLASH_CHIPS: Record<string, FlashChip> = Object.fromEntries(
  Object.entries(CHIPS).map(([k, c]) => [k, { jedecId: c.jedecId, size: c.size, timing: c.timing, datasheet: c.datasheet }]),
);

export type FlashChipName = "W25Q32" | "W25Q128" | "N25Q032";

export interface SpiFlashStats {
  /** Per 4 KiB sector: how often it was erased (by any erase) and programmed (pages). */
  sectorErases: Uint32Array;
  sectorPrograms: Uint32Array;
}

export class SpiFlash {
  chip: ChipModel;
  readonly memory: Uint8Array;
  readonly log: string[] = [];
  /** Time (ms) the flash spent busy programming/erasing, summed. */
  busyMs = 0;
  readonly sectorErases: Uint32Array;
  readonly sectorPrograms: Uint32Array;
  /** Called after every logged command (tests hook unplugs here). */
  onCommand?: (entry: string) => void;

  private sr = 0; // status register 1 bits 2..7 (BP, TB, SRWD/SRP); BUSY/WEL kept apart
  private sr2 = 0;
  private wel = false;
  private busyUntil = -1;
  private deepPowerDown = false;
  private releaseAt = -1;
  private resetEnabled = false;

  // The current transaction (CS# low).
  private selected = false;
  private bytes: number[] = []; // the first 8 bytes of the transaction
  private count = 0; // bytes in the transaction
  private bitCount = 0;
  private inByte = 0;
  private outByte = 0xff;
  private readAddr = 0;
  private ignoring = false; // the instruction is ignored until CS# rises
  private page: { addr: number; data: Map<number, number> } | null = null;

  constructor(name: FlashChipName, contents?: Uint8Array, poweredDown = false) {
    const c = CHIPS[name];
    if (!c) throw new Error(`unknown flash chip ${name}`);
    this.chip = c;
    this.memory = new Uint8Array(c.size).fill(0xff);
    if (contents) this.memory.set(contents.subarray(0, c.size));
    this.deepPowerDown = poweredDown;
    this.sectorErases = new Uint32Array(c.size >> 12);
    this.sectorPrograms = new Uint32Array(c.size >> 12);
  }

  get timing(): FlashTiming {
    return this.chip.timing;
  }

  /** poweredDown at bus time t (a release takes tRES1 to complete). */
  poweredDownAt(t: number): boolean {
    return this.deepPowerDown || t < this.releaseAt;
  }

  busyAt(t: number): boolean {
    return t < this.busyUntil;
  }

  /** status1 as RDSR (05h) reports it at bus time t. */
  status1(t: number): number {
    this.settle(t);
    return (this.sr & 0xfc) | (this.wel ? 2 : 0) | (this.busyAt(t) ? 1 : 0);
  }

  /** settle completes a program/erase whose time is up: WEL clears at its end
   * (W25Q32JV §7.1.2 WEL: "reset to 0 ... upon completion of ... Page Program, Sector Erase, ..."). */
  private settle(t: number): void {
    if (this.busyUntil >= 0 && t >= this.busyUntil) {
      this.busyUntil = -1;
      this.wel = false;
    }
  }

  /** CS# falling edge. */
  select(t: number): void {
    if (this.selected) return;
    this.settle(t);
    this.selected = true;
    this.bytes = [];
    this.count = 0;
    this.bitCount = 0;
    this.inByte = 0;
    this.outByte = 0xff;
    this.ignoring = false;
    this.page = null;
  }

  /** CS# rising edge: instructions that act on deselect execute here. */
  deselect(t: number): void {
    if (!this.selected) return;
    this.settle(t);
    this.selected = false;
    const onBoundary = this.bitCount % 8 === 0;
    const b = this.bytes;
    const n = this.count;
    if (n === 0 || this.ignoring) return;
    const op = b[0];
    const addr = n >= 4 ? ((b[1] << 16) | (b[2] << 8) | b[3]) % this.chip.size : 0;
    const hex = (n: number, w = 2) => n.toString(16).padStart(w, "0");
    const entry = (s: string) => {
      this.log.push(s);
      this.onCommand?.(s);
    };
    if (!onBoundary) {
      entry(`${hex(op)} ignored: CS# rose mid-byte`);
      return;
    }
    switch (op) {
      case 0x06:
        if (n === 1) this.wel = true;
        entry("06 WREN");
        return;
      case 0x04:
        if (n === 1) this.wel = false;
        entry("04 WRDI");
        return;
      case 0xb9:
        if (n === 1) this.deepPowerDown = true;
        entry("b9 deep power-down");
        return;
      case 0xab:
        // Release happens at CS# high; the part needs tRES1 before it accepts instructions.
        if (this.deepPowerDown) {
          this.deepPowerDown = false;
          this.releaseAt = t + this.chip.timing.releasePowerDownUs / 1000;
        }
        entry("ab release power-down");
        return;
      case 0x66:
        this.resetEnabled = n === 1;
        entry("66 reset enable");
        return;
      case 0x99:
        if (this.resetEnabled && n === 1) {
          // Software reset (W25Q32JV §8.2.43: needs 66h immediately before; tRST 30 µs).
          this.wel = false;
          this.busyUntil = -1;
          this.releaseAt = Math.max(this.releaseAt, t + this.chip.resetUs / 1000);
          entry("99 reset");
        } else entry("99 ignored: no reset enable");
        this.resetEnabled = false;
        return;
      case 0x01: {
        if (n < 2) return entry("01 ignored: no data");
        if (!this.wel) return entry("01 ignored: WEL=0");
        this.sr = b[1] & 0xfc;
        if (n >= 3 && this.chip.vendor === "winbond") this.sr2 = b[2];
        this.beBusy(t, this.chip.timing.writeStatusMs);
        entry(`01 write status ${hex(this.sr)}`);
        return;
      }
      case 0x02: {
        if (n < 5) return entry("02 ignored: no data");
        if (!this.wel) return entry(`02 ignored: WEL=0 at ${hex(addr, 6)}`);
        const pageBase = addr & ~(this.chip.timing.pageSize - 1);
        if (this.isProtected(pageBase, this.chip.timing.pageSize)) {
          this.wel = false;
          return entry(`02 ignored: protected ${hex(addr, 6)}`);
        }
        for (const [off, v] of this.page?.data ?? []) this.memory[pageBase + off] &= v;
        this.sectorPrograms[pageBase >> 12]++;
        this.beBusy(t, this.chip.timing.pageProgramMs);
        entry(`02 page program ${hex(addr, 6)} ${n - 4}`);
        return;
      }
      case 0x20:
      case 0x52:
      case 0xd8: {
        const size = op === 0x20 ? 4 << 10 : op === 0x52 ? 32 << 10 : 64 << 10;
        if (op === 0x52 && this.chip.timing.blockErase32kMs === undefined) return entry("52 ignored: not supported by this chip");
        if (n !== 4) return entry(`${hex(op)} ignored: ${n} bytes`);
        if (!this.wel) return entry(`${hex(op)} ignored: WEL=0 at ${hex(addr, 6)}`);
        const base = addr & ~(size - 1);
        if (this.isProtected(base, size)) {
          this.wel = false;
          return entry(`${hex(op)} ignored: protected ${hex(addr, 6)}`);
        }
        this.erase(base, size);
        const ms = op === 0x20 ? this.chip.timing.sectorErase4kMs : op === 0x52 ? this.chip.timing.blockErase32kMs! : this.chip.timing.blockErase64kMs;
        this.beBusy(t, ms);
        entry(`${hex(op)} erase ${size >> 10}K ${hex(base, 6)}`);
        return;
      }
      case 0xc7:
      case 0x60: {
        if (n !== 1) return entry(`${hex(op)} ignored: ${n} bytes`);
        if (!this.wel) return entry(`${hex(op)} ignored: WEL=0`);
        if (this.sr & 0x1c) {
          this.wel = false;
          return entry(`${hex(op)} ignored: block protect bits set`);
        }
        this.erase(0, this.chip.size);
        this.beBusy(t, this.chip.timing.chipEraseMs);
        entry(`${hex(op)} chip erase`);
        return;
      }
      case 0x03:
      case 0x0b:
        entry(`${hex(op)} read ${hex(addr, 6)} ${Math.max(0, n - (op === 0x03 ? 4 : 5))}`);
        return;
      default:
        entry(hex(op));
    }
  }

  /** One SCK cycle while selected: mosi is latched on the rising edge; returns DO as the master samples it (1 when high-Z). */
  clockBit(mosi: number, t: number): number {
    if (!this.selected) return 1;
    const k = this.bitCount & 7;
    if (k === 0) this.outByte = this.nextOut(t);
    const out = (this.outByte >> (7 - k)) & 1;
    this.inByte = ((this.inByte << 1) | (mosi & 1)) & 0xff;
    this.bitCount++;
    if ((this.bitCount & 7) === 0) this.gotByte(this.inByte, t);
    return out;
  }

  /** clockByte is eight clockBit calls, MSB first, when on a byte boundary. */
  clockByte(mosi: number, t: number): number {
    if (!this.selected) return 0xff;
    if ((this.bitCount & 7) !== 0) {
      let r = 0;
      for (let i = 7; i >= 0; i--) r = (r << 1) | this.clockBit((mosi >> i) & 1, t);
      return r;
    }
    const out = this.nextOut(t);
    this.bitCount += 8;
    this.gotByte(mosi & 0xff, t);
    return out;
  }

  private gotByte(v: number, t: number): void {
    const b = this.bytes;
    if (this.count === 0) {
      // The instruction byte decides whether this transaction is ignored.
      if (this.poweredDownAt(t)) this.ignoring = !(v === 0xab && !(t < this.releaseAt));
      else if (this.busyAt(t)) this.ignoring = !(v === 0x05 || v === 0x35 || v === 0x70);
      else this.ignoring = false;
      if (this.ignoring) {
        const why = this.deepPowerDown ? "deep power-down" : t < this.releaseAt ? "recovering (tRES1/tRST)" : "busy";
        this.log.push(`${v.toString(16).padStart(2, "0")} ignored: ${why}`);
        this.onCommand?.(this.log[this.log.length - 1]);
      }
      // Reset (99h) must immediately follow reset enable (66h).
      if (v !== 0x99) this.resetEnabled = false;
    }
    this.count++;
    if (b.length < 8) b.push(v);
    if (this.ignoring) return;
    const op = b[0];
    if (op === 0x02 && this.count >= 5) {
      const addr = ((b[1] << 16) | (b[2] << 8) | b[3]) % this.chip.size;
      const ps = this.chip.timing.pageSize;
      if (!this.page) this.page = { addr, data: new Map() };
      const off = ((addr & (ps - 1)) + (this.count - 5)) % ps;
      this.page.data.set(off, v);
    }
    if ((op === 0x03 && this.count === 4) || (op === 0x0b && this.count === 5)) {
      this.readAddr = ((b[1] << 16) | (b[2] << 8) | b[3]) % this.chip.size;
    }
  }

  /** The byte the flash shifts out in the next byte slot of the current transaction. */
  private nextOut(t: number): number {
    if (this.ignoring) return 0xff;
    const b = this.bytes;
    if (this.count === 0) return 0xff;
    const op = b[0];
    const i = this.count - 1; // bytes after the instruction so far
    switch (op) {
      case 0x9f: {
        if (this.poweredDownAt(t)) return 0xff;
        const id = [...this.chip.jedecId, ...this.chip.jedecTail];
        return i < id.length ? id[i] : 0x00;
      }
      case 0x05:
        return this.status1(t);
      case 0x35:
        return this.chip.vendor === "winbond" ? this.sr2 : 0xff;
      case 0x70:
        // N25Q032A flag status register: bit 7 program/erase controller ready.
        return this.chip.vendor === "micron" ? (this.busyAt(t) ? 0x00 : 0x80) : 0xff;
      case 0xab:
        // W25Q32JV §8.2.29: after three dummy bytes the device id is shifted out (repeatedly).
        return this.chip.deviceId !== undefined && i >= 3 ? this.chip.deviceId : 0xff;
      case 0x90:
        if (this.chip.vendor !== "winbond" || i < 3) return 0xff;
        return (i - 3) % 2 === 0 ? this.chip.jedecId[0] : this.chip.deviceId!;
      case 0x03:
      case 0x0b: {
        const first = op === 0x03 ? 3 : 4;
        if (i < first) return 0xff;
        const v = this.memory[this.readAddr];
        this.readAddr = (this.readAddr + 1) % this.chip.size;
        return v;
      }
      default:
        return 0xff;
    }
  }

  private beBusy(t: number, ms: number): void {
    this.busyUntil = t + ms;
    this.busyMs += ms;
  }

  private erase(base: number, size: number): void {
    this.memory.fill(0xff, base, base + size);
    for (let s = base >> 12; s < (base + size) >> 12; s++) this.sectorErases[s]++;
  }

  /** isProtected applies the BP/TB bits (datasheet protection tables: BP=001 protects one unit, each step doubles). */
  private isProtected(addr: number, len: number): boolean {
    const bp = (this.sr >> 2) & 7;
    if (bp === 0) return false;
    const size = Math.min(this.chip.size, this.chip.protectUnit << (bp - 1));
    const bottom = (this.sr & 0x20) !== 0;
    const lo = bottom ? 0 : this.chip.size - size;
    const hi = lo + size;
    return addr < hi && addr + len > lo;
  }

  /**
   * fpgaRead is what the iCE40 does as SPI master after CRESET_B rises (TN1248
   * "SPI Master Configuration"): it wakes the flash (ABh) and reads from address 0.
   * Returns a reader of successive bytes; a busy flash ignores the read (0xFF).
   */
  fpgaReader(t: number): () => number {
    if (this.deepPowerDown) {
      this.deepPowerDown = false;
      this.releaseAt = t + this.chip.timing.releasePowerDownUs / 1000;
      this.log.push("ab release power-down (fpga)");
    }
    const ignored = this.busyAt(t);
    this.log.push(`03 read 000000 (fpga)${ignored ? " ignored: busy" : ""}`);
    let a = 0;
    return () => {
      if (ignored) return 0xff;
      const v = this.memory[a];
      a = (a + 1) % this.chip.size;
      return v;
    };
  }
}
