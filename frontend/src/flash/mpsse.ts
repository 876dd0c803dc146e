// The MPSSE command processor of FTDI's FT2232D/FT2232H/FT4232H/FT232H as an
// SPI master with a few GPIO lines (FTDI AN_108 "Command Processor for MPSSE
// and MCU Host Bus Emulation Modes"; AN_135 "FTDI MPSSE Basics" §5 for the
// set-up order and the bad-command sync check).
//
// Commands used (AN_108 §3):
//   0x11 LenL LenH data  clock bytes out on -ve edge, MSB first (SPI mode 0 write)
//   0x20 LenL LenH       clock bytes in on +ve edge, MSB first (SPI mode 0 read)
//   0x31 LenL LenH data  both at once (out -ve, in +ve)
//   Len is the byte count - 1 (1..65536 bytes)
//   0x80 value dir       set ADBUS0-7 (low byte) value and direction (1 = output)
//   0x81                 read ADBUS0-7 (one answer byte)
//   0x84/0x85            loopback on/off
//   0x86 divL divH       clock divisor: f = base / ((1 + div) * 2)
//   0x87                 send immediate (flush answers to the host now)
//   0x8A/0x8B            (H only) divide-by-5 off (60 MHz base) / on (12 MHz)
//   0x8D                 (H only) 3-phase clocking off
//   0x8F LenL LenH       (H only) clock (Len + 1) * 8 cycles with no data
//   0x97                 (H only) adaptive clocking off
//   An unknown opcode is answered with 0xFA and the opcode (AN_108 §3.8, "bad command").
// FT2232D's MPSSE runs from a 12 MHz base, so its fastest SPI clock is 6 MHz (FT2232D datasheet §4.4).
//
// Wiring of the iCEstick, the HX8K breakout and the iCEBreaker (interface A):
// ADBUS0 SCK, ADBUS1 MOSI (to flash DI / FPGA SPI_SI), ADBUS2 MISO (in), ADBUS4 flash CS = FPGA SPI_SS_B,
// ADBUS6 CDONE (in), ADBUS7 CRESET_B.
import type { Ftdi } from "./ftdi";
import { FlashError } from "./types";

export const OP = {
  WRITE_BYTES_NVE_MSB: 0x11,
  READ_BYTES_PVE_MSB: 0x20,
  RW_BYTES_NVE_PVE_MSB: 0x31,
  SET_BITS_LOW: 0x80,
  GET_BITS_LOW: 0x81,
  LOOPBACK_ON: 0x84,
  LOOPBACK_OFF: 0x85,
  TCK_DIVISOR: 0x86,
  SEND_IMMEDIATE: 0x87,
  DIS_DIV_5: 0x8a,
  EN_DIV_5: 0x8b,
  DIS_3_PHASE: 0x8d,
  CLK_BYTES: 0x8f,
  DIS_ADAPTIVE: 0x97,
  BAD_COMMAND_ANSWER: 0xfa,
  /** An opcode AN_135 uses for the sync check; no MPSSE implements it. */
  SYNC_PROBE: 0xaa,
} as const;

export const PIN = {
  SCK: 0x01,
  MOSI: 0x02,
  MISO: 0x04,
  CS: 0x10,
  CDONE: 0x40,
  CRESET: 0x80,
} as const;

/** The lines the driver drives while it owns the bus: SCK, MOSI, CS, CRESET_B. */
export const DIR_ACTIVE = PIN.SCK | PIN.MOSI | PIN.CS | PIN.CRESET;

/** The clock the MPSSE can make closest to (not above) hz, and the divisor for 0x86. */
export function mpsseDivisor(hz: number, hSeries: boolean): { divisor: number; hz: number; baseHz: number } {
  const baseHz = hSeries ? 60_000_000 : 12_000_000;
  const want = Math.max(1, Math.min(hz, baseHz / 2));
  const divisor = Math.max(0, Math.min(0xffff, Math.ceil(baseHz / (2 * want)) - 1));
  return { divisor, hz: baseHz / ((1 + divisor) * 2), baseHz };
}

/**
 * Cmd builds one batch of MPSSE commands; answers counts the bytes the
 * batch makes the chip send back.
 */
export class Cmd {
  private buf: Uint8Array;
  private n = 0;
  answers = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  get length(): number {
    return this.n;
  }

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
  }

  byte(...b: number[]): this {
    this.room(b.length);
    for (const x of b) this.buf[this.n++] = x & 0xff;
    return this;
  }

  data(d: Uint8Array): this {
    this.room(d.length);
    this.buf.set(d, this.n);
    this.n += d.length;
    return this;
  }

  private len(op: number, count: number): this {
    return this.byte(op, (count - 1) & 0xff, ((count - 1) >> 8) & 0xff);
  }

  /** setLow sets ADBUS0-7 (0x80). */
  setLow(value: number, dir: number): this {
    return this.byte(OP.SET_BITS_LOW, value, dir);
  }

  /** readLow reads ADBUS0-7 (0x81): one answer byte. */
  readLow(): this {
    this.answers += 1;
    return this.byte(OP.GET_BITS_LOW);
  }

  /** write clocks bytes out, SPI mode 0 MSB first (0x11), in commands of at most 64 KiB. */
  write(d: Uint8Array): this {
    for (let off = 0; off < d.length; off += 65536) {
      const part = d.subarray(off, Math.min(d.length, off + 65536));
      this.len(OP.WRITE_BYTES_NVE_MSB, part.length).data(part);
    }
    return this;
  }

  /** read clocks n bytes in (0x20). */
  read(n: number): this {
    for (let left = n; left > 0; left -= 65536) {
      const k = Math.min(65536, left);
      this.len(OP.READ_BYTES_PVE_MSB, k);
      this.answers += k;
    }
    return this;
  }

  /** transfer clocks bytes out and in at once (0x31). */
  transfer(d: Uint8Array): this {
    for (let off = 0; off < d.length; off += 65536) {
      const part = d.subarray(off, Math.min(d.length, off + 65536));
      this.len(OP.RW_BYTES_NVE_PVE_MSB, part.length).data(part);
      this.answers += part.length;
    }
    return this;
  }

  /** clockBytes clocks n*8 cycles with no data (0x8F, H series only). */
  clockBytes(n: number): this {
    for (let left = n; left > 0; left -= 65536) this.len(OP.CLK_BYTES, Math.min(65536, left));
    return this;
  }

  sendImmediate(): this {
    return this.byte(OP.SEND_IMMEDIATE);
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.n);
  }
}

/** Mpsse is an FTDI channel set up as SPI master with the board's GPIO lines. */
export class Mpsse {
  /** The SPI clock in Hz the divisor gives. */
  readonly hz: number;
  readonly divisor: number;
  /** The last value written to ADBUS (0x80). */
  pins: number = PIN.CS;
  dir: number = DIR_ACTIVE;

  private constructor(
    readonly ftdi: Ftdi,
    clk: { divisor: number; hz: number },
  ) {
    this.hz = clk.hz;
    this.divisor = clk.divisor;
  }

  /**
   * init checks the command processor answers (AN_135 §5.3: a bad opcode
   * must come back as 0xFA, opcode), then sets the clock (H series: 60 MHz
   * base, adaptive and 3-phase clocking off), loopback off and the pins:
   * CS high, CRESET_B low (the FPGA held in reset, off the SPI bus).
   */
  static async init(ftdi: Ftdi, spiHz: number, initialPins: number = PIN.CS): Promise<Mpsse> {
    const clk = mpsseDivisor(spiHz, ftdi.chip.hSeries);
    const m = new Mpsse(ftdi, clk);
    ftdi.where = { phase: "identifying" };
    await ftdi.write(new Uint8Array([OP.SYNC_PROBE]));
    const echo = await ftdi.read(2, 500).catch((err) => {
      if (err instanceof FlashError && err.code === "timeout") {
        throw new FlashError(`The FTDI ${ftdi.chip.name} did not answer in MPSSE mode (no reply to the sync check): unplug the board, plug it back in and flash again.`, "device_error");
      }
      throw err;
    });
    if (echo[0] !== OP.BAD_COMMAND_ANSWER || echo[1] !== OP.SYNC_PROBE) {
      throw new FlashError(
        `The FTDI ${ftdi.chip.name} answered the MPSSE sync check with ${hexBytes(echo)} instead of FA AA: the channel is not in MPSSE mode; unplug the board, plug it back in and flash again.`,
        "device_error",
      );
    }
    const c = new Cmd();
    if (ftdi.chip.hSeries) c.byte(OP.DIS_DIV_5, OP.DIS_ADAPTIVE, OP.DIS_3_PHASE);
    c.byte(OP.LOOPBACK_OFF, OP.TCK_DIVISOR, clk.divisor & 0xff, clk.divisor >> 8);
    m.pins = initialPins;
    c.setLow(initialPins, DIR_ACTIVE);
    await ftdi.write(c.bytes());
    return m;
  }

  /** set appends a pin change (value, direction) to c and remembers it. */
  set(c: Cmd, value: number, dir: number = DIR_ACTIVE): Cmd {
    this.pins = value & 0xff;
    this.dir = dir & 0xff;
    return c.setLow(this.pins, this.dir);
  }

  /** cs appends chip select low (true) or high (false), keeping the other lines. */
  cs(c: Cmd, selected: boolean): Cmd {
    return this.set(c, selected ? this.pins & ~PIN.CS : this.pins | PIN.CS, this.dir);
  }

  /** clocksFor is the number of whole bytes of SPI clock that last at least us microseconds. */
  clocksFor(us: number): number {
    return Math.max(1, Math.ceil((us * this.hz) / 8e6));
  }

  /**
   * delay appends a wait of at least us microseconds measured in SPI clocks:
   * 0x8F clock-only bytes on the H series, zero bytes clocked out on the
   * FT2232D (which has no clock-only command). Callers keep the flash
   * deselected (or, for SRAM configuration, want the clocks).
   */
  delay(c: Cmd, us: number): Cmd {
    const n = this.clocksFor(us);
    if (this.ftdi.chip.hSeries) return c.clockBytes(n);
    return c.write(new Uint8Array(n));
  }

  /**
   * run sends the batch and returns its answers (send-immediate appended
   * when there are any). The host reads only after the whole batch is
   * written, so a batch longer than the chip's command buffer must not
   * make more answers than its answer buffer holds: the MPSSE would stop
   * on the full answer buffer, the rest of the batch would never be
   * accepted, and the write would hang. A short batch (a read command)
   * may ask for any amount: the chip pauses while its buffer is full and
   * goes on as the host reads.
   */
  async run(c: Cmd): Promise<Uint8Array> {
    const chip = this.ftdi.chip;
    if (c.answers > chip.rxBuffer && c.length + 1 > chip.txBuffer) {
      throw new FlashError(`Internal error: an MPSSE batch of ${c.length} bytes expects ${c.answers} answer bytes, more than the ${chip.name}'s ${chip.rxBuffer}-byte buffer; please report it.`, "device_error");
    }
    if (c.answers > 0) c.sendImmediate();
    await this.ftdi.write(c.bytes());
    if (c.answers === 0) return new Uint8Array(0);
    return this.ftdi.read(c.answers);
  }
}

export function hexBytes(b: ArrayLike<number>): string {
  return Array.from(b, (x) => x.toString(16).toUpperCase().padStart(2, "0")).join(" ");
}
