// An FTDI USB bridge (FT2232H, FT232H, FT2232D) with its MPSSE command
// processor, modelled from the FTDI datasheets, AN232B-04 ("Data Throughput,
// Latency and Handshaking"), AN_108 ("Command Processor for MPSSE and MCU
// Host Bus Emulation Modes") and libftdi's documented vendor requests — not
// from any driver. It implements SimUsbDevice so it plugs into FakeUSB.
//
// Timing model (all on the shared VirtualClock, in ms):
// - Every bulk transfer costs a scheduling latency plus its bytes at a bulk
//   rate: high speed 0.125 ms (one microframe, USB 2.0 §8.4.2.2) + bytes at
//   40 MB/s (USB 2.0 §5.8.4 allows 13 × 512-byte bulk packets per microframe,
//   53 MB/s; FT2232H datasheet §1 "up to 40 Mbytes/s"); full speed 1 ms (one
//   frame) + bytes at 1.2 MB/s (19 × 64-byte packets per frame, USB 2.0 §5.8.4).
// - The MPSSE executes commands serially on its own time line: a command
//   starts when its bytes have arrived and the previous command has finished;
//   shifting N bits takes N SCK periods (×1.5 with three-phase clocking,
//   AN_108 §6.x 0x8C). SCK = base / ((1 + divisor) × 2) (AN_108 §3.8 0x86):
//   H-series base 60 MHz, or 12 MHz while divide-by-5 is on (the default,
//   AN_108 §6.1 0x8A/0x8B); FT2232D base 12 MHz (max SCK 6 MHz). GPIO and
//   other commands take no modelled time.
// - A transferOut completes when its last byte fits in the chip's buffer
//   (FT2232H datasheet §4.x: 4 KB per channel; FT232H 1 KB; FT2232D 384 bytes
//   from USB): with a backlog larger than that, the host waits for the MPSSE
//   to consume it (USB NAK flow control), time not failure.
// - Bulk IN (AN232B-04 §3): every packet starts with two modem status bytes
//   (0x32 0x60). The chip returns a packet when it holds a full packet's
//   worth of data (510 / 62 bytes), when Send Immediate (0x87) was executed
//   after the data, or when the latency timer (default 16 ms, set with
//   SIO_SET_LATENCY_TIMER) has expired since the last packet — then it sends
//   what it has, possibly only the two status bytes.
// Not modelled: UART/bit-bang/FIFO data paths (bytes written outside MPSSE mode
// are discarded), RX-buffer backpressure on the MPSSE, the event/error
// characters' effect, EEPROM contents (reads return a blank 0xFFFF), CBUS,
// adaptive clocking's RTCK wait (accepted, no effect), per-command overheads.
import { networkError, inResult, outResult, type SimUsbDevice } from "./usb";
import type { VirtualClock } from "./clock";

export type BridgeName = "FT2232H" | "FT232H" | "FT2232D";

interface BridgeModel {
  productId: number;
  bcdDevice: number;
  product: string;
  interfaces: number;
  highSpeed: boolean;
  maxPacket: number;
  txBuffer: number; // bytes from USB the chip buffers per channel
  hSeries: boolean;
  driveZero: boolean;
}

export const BRIDGES: Record<BridgeName, BridgeModel> = {
  // FT2232H datasheet (DS_FT2232H) §1 features, §4.x: 0403:6010, bcdDevice 0x0700, two channels,
  // 4 KB TX and RX buffers per channel, USB 2.0 high speed.
  FT2232H: { productId: 0x6010, bcdDevice: 0x0700, product: "Dual RS232-HS", interfaces: 2, highSpeed: true, maxPacket: 512, txBuffer: 4096, hSeries: true, driveZero: false },
  // FT232H datasheet (DS_FT232H): 0403:6014, bcdDevice 0x0900, one channel, 1 KB buffers, 0x9E drive-zero (AN_108 §6.x).
  FT232H: { productId: 0x6014, bcdDevice: 0x0900, product: "Single RS232-HS", interfaces: 1, highSpeed: true, maxPacket: 512, txBuffer: 1024, hSeries: true, driveZero: true },
  // FT2232D datasheet (DS_FT2232D): 0403:6010, bcdDevice 0x0500, full speed 64-byte packets,
  // 384-byte receive (from USB) and 128-byte transmit buffers, MPSSE on both channels.
  FT2232D: { productId: 0x6010, bcdDevice: 0x0500, product: "Dual RS232", interfaces: 2, highSpeed: false, maxPacket: 64, txBuffer: 384, hSeries: false, driveZero: false },
};

/** Vendor requests (libftdi ftdi.h SIO_* request numbers). */
export const SIO = {
  RESET: 0x00,
  SET_MODEM_CTRL: 0x01,
  SET_FLOW_CTRL: 0x02,
  SET_BAUDRATE: 0x03,
  SET_DATA: 0x04,
  POLL_MODEM_STATUS: 0x05,
  SET_EVENT_CHAR: 0x06,
  SET_ERROR_CHAR: 0x07,
  SET_LATENCY_TIMER: 0x09,
  GET_LATENCY_TIMER: 0x0a,
  SET_BITMODE: 0x0b,
  READ_PINS: 0x0c,
  READ_EEPROM: 0x90,
} as const;

/** What is wired to a channel's low byte (ADBUS0..7). */
export interface PinWiring {
  /** Levels the outside world puts on the pins at bus time t (undriven pins read 1: pull-ups). */
  inputs(t: number): number;
  /** The pin levels changed (a 0x80 command, or the end of a shift), at bus time t. */
  pins(levels: number, t: number): void;
  /** One SCK cycle (rising edge) with these levels; mosiSeen is the DO level the slave latches; returns the DI (MISO) level. */
  clock(levels: number, mosiSeen: number, t: number): number;
  /** A byte of eight MSB-first cycles in one go when the wiring can (no per-bit observers), else undefined. */
  clockByte?(levels: number, mosi: number, t: number): number | undefined;
}

const unwired: PinWiring = { inputs: () => 0xff, pins: () => {}, clock: () => 1 };

// Modem status bytes prefixed to every IN packet (AN232B-04 §3.x; FT2232H typical values).
const STATUS0 = 0x32;
const STATUS1 = 0x60;

interface RxSeg {
  t: number;
  data: Uint8Array;
}

interface ExecRec {
  from: number; // stream index of the command's first byte
  to: number; // one past its last byte
  t0: number;
  t1: number;
}

export interface FtdiStats {
  usbTransfers: number;
  bytesOut: number;
  bytesIn: number;
  spiBits: number;
  latencyWaits: number;
  latencyWaitMs: number;
  flowControlWaitMs: number;
  badCommands: number;
  controlTransfers: number;
  edgeViolations: number;
  marginalReads: number;
}

/** One FTDI channel (interface): its buffers, latency timer and MPSSE. */
class Channel {
  bitmode = 0;
  latencyMs = 16; // AN232B-04 §3.3: default 16 ms
  lowVal = 0;
  lowDir = 0;
  highVal = 0;
  highDir = 0;
  divisor = 0xffff;
  div5: boolean;
  threePhase = false;
  adaptive = false;
  loopback = false;
  stalled = false;
  // Command stream from the host, not yet executed.
  private q = new Uint8Array(1024);
  private qLen = 0;
  private streamPos = 0; // stream index of q[0]
  execT = 0; // when the MPSSE finishes what it was given
  private recs: ExecRec[] = [];
  // Data for the host.
  private rx: RxSeg[] = [];
  private rxHead = 0; // bytes of rx[0] already sent
  private produced = 0;
  private consumed = 0;
  private flushUpTo = -1;
  private flushT = 0;
  private lastPacketT = 0;

  constructor(
    private model: BridgeModel,
    private stats: FtdiStats,
    readonly wiring: PinWiring,
  ) {
    this.div5 = model.hSeries;
  }

  get sckHz(): number {
    const base = this.model.hSeries && !this.div5 ? 60e6 : 12e6;
    return base / ((1 + this.divisor) * 2);
  }

  levels(t: number): number {
    return ((this.lowVal & this.lowDir) | (this.wiring.inputs(t) & ~this.lowDir)) & 0xff;
  }

  /** resetChip is a USB reset: buffers purged, MPSSE off, pins inputs. */
  resetChip(): void {
    this.purgeTx();
    this.purgeRx();
    this.bitmode = 0;
    this.setPins(0, 0, this.execT);
  }

  purgeRx(): void {
    this.rx = [];
    this.rxHead = 0;
    this.consumed = this.produced;
    this.flushUpTo = -1;
  }

  purgeTx(): void {
    this.streamPos += this.qLen;
    this.qLen = 0;
    this.stalled = false;
  }

  setBitmode(mode: number, mask: number, t: number): void {
    this.bitmode = mode;
    if (mode === 0x02) {
      // Entering MPSSE: the pins stay inputs until 0x80/0x82 sets them (AN_108 §2.1).
      this.setPins(this.lowVal, 0, t);
    } else if (mode === 0x00) this.setPins(this.lowVal, 0, t);
    else this.setPins(this.lowVal, mask, t);
  }

  private setPins(val: number, dir: number, t: number): void {
    this.lowVal = val & 0xff;
    this.lowDir = dir & 0xff;
    this.wiring.pins(this.levels(t), t);
  }

  // --- OUT ---------------------------------------------------------------

  /** write takes one OUT transfer's bytes arriving at arrive (ms); returns when the host's transfer completes. */
  write(data: Uint8Array, start: number, cost: number): number {
    const arrive = start + cost;
    if (this.qLen + data.length > this.q.length) {
      const n = new Uint8Array(Math.max(this.q.length * 2, this.qLen + data.length));
      n.set(this.q.subarray(0, this.qLen));
      this.q = n;
    }
    this.q.set(data, this.qLen);
    this.qLen += data.length;
    const end = this.streamPos + this.qLen;
    if (this.bitmode === 0x02) this.execute(arrive);
    else {
      // Outside MPSSE the bytes go to the UART/bit-bang path, which this board does not use.
      this.purgeTx();
    }
    // USB flow control: the transfer completes when its last byte fits into the buffer.
    const x = end - this.model.txBuffer;
    let done = arrive;
    if (x > 0) {
      const tx = this.consumeTime(x);
      if (tx > done) {
        this.stats.flowControlWaitMs += tx - done;
        done = tx;
      }
    }
    this.recs = this.recs.filter((r) => r.to > end - 4 * this.model.txBuffer);
    return done;
  }

  private consumeTime(x: number): number {
    for (const r of this.recs) {
      if (x >= r.from && x < r.to) return r.t0 + ((r.t1 - r.t0) * (x - r.from + 1)) / (r.to - r.from);
    }
    return 0;
  }

  private emit(t: number, bytes: Uint8Array | number[]): void {
    const data = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
    if (data.length === 0) return;
    this.rx.push({ t, data });
    this.produced += data.length;
  }

  private bad(op: number, t: number): void {
    // AN_108 §4.x "Bad Command": 0xFA followed by the offending opcode.
    this.stats.badCommands++;
    this.emit(t, [0xfa, op]);
  }

  /** argBytes is how many bytes follow opcode op (before data), or -1 when op is not a command on this chip. */
  private argBytes(op: number): number {
    const h = this.model.hSeries;
    if (op < 0x80) {
      if (op & 0x40) return (op & 0xca) === 0x4a && (op & 0x10) === 0 ? 2 : -1; // TMS: length, data
      if ((op & 0x30) === 0) return -1;
      return op & 0x02 ? 1 : 2; // bits: 1 length byte; bytes: 2
    }
    switch (op) {
      case 0x80: case 0x82: case 0x86: return 2;
      case 0x81: case 0x83: case 0x84: case 0x85: case 0x87: case 0x88: case 0x89: return 0;
      case 0x8a: case 0x8b: case 0x8c: case 0x8d: case 0x94: case 0x95: case 0x96: case 0x97: return h ? 0 : -1;
      case 0x8e: return h ? 1 : -1;
      case 0x8f: case 0x9c: case 0x9d: return h ? 2 : -1;
      case 0x9e: return this.model.driveZero ? 2 : -1;
      default: return -1;
    }
  }

  /** execute runs every complete command in the queue; arrive is when the transfer's bytes are in the chip. */
  private execute(arrive: number): void {
    let p = 0;
    let t = Math.max(this.execT, arrive);
    const q = this.q;
    while (p < this.qLen && !this.stalled) {
      const op = q[p];
      const n = this.argBytes(op);
      if (n < 0) {
        this.bad(op, t);
        p++;
        continue;
      }
      if (p + 1 + n > this.qLen) break;
      let len = 1 + n;
      let dataLen = 0;
      if (op < 0x40 && op & 0x10 && !(op & 0x02)) {
        dataLen = (q[p + 1] | (q[p + 2] << 8)) + 1;
      } else if (op < 0x40 && op & 0x10) dataLen = 1;
      len += dataLen;
      if (p + len > this.qLen) break;
      const t0 = t;
      t = this.command(op, q.subarray(p + 1, p + 1 + n), q.subarray(p + 1 + n, p + len), t);
      this.recs.push({ from: this.streamPos + p, to: this.streamPos + p + len, t0, t1: t });
      p += len;
    }
    if (this.stalled) p = this.qLen; // a wait that never ends: the rest is never executed
    this.q.copyWithin(0, p, this.qLen);
    this.qLen -= p;
    this.streamPos += p;
    this.execT = t;
  }

  private bitMs(): number {
    return (1000 / this.sckHz) * (this.threePhase ? 1.5 : 1);
  }

  /** command executes one MPSSE command starting at t; returns when it finishes. */
  private command(op: number, args: Uint8Array, data: Uint8Array, t: number): number {
    if (op < 0x80) return this.shift(op, args, data, t);
    switch (op) {
      case 0x80:
        this.setPins(args[0], args[1], t);
        return t;
      case 0x82:
        this.highVal = args[0];
        this.highDir = args[1];
        return t;
      case 0x81:
        this.emit(t, [this.levels(t)]);
        return t;
      case 0x83:
        this.emit(t, [((this.highVal & this.highDir) | (0xff & ~this.highDir)) & 0xff]);
        return t;
      case 0x84:
        this.loopback = true;
        return t;
      case 0x85:
        this.loopback = false;
        return t;
      case 0x86:
        this.divisor = args[0] | (args[1] << 8);
        return t;
      case 0x87:
        this.flushUpTo = this.produced;
        this.flushT = t;
        return t;
      case 0x88: // wait until GPIOL1 (ADBUS5) is high
      case 0x89: {
        const high = ((this.levels(t) >> 5) & 1) === 1;
        if (high !== (op === 0x88)) this.stalled = true; // nothing on this board drives GPIOL1: it never changes
        return t;
      }
      case 0x8a:
        this.div5 = false;
        return t;
      case 0x8b:
        this.div5 = true;
        return t;
      case 0x8c:
        this.threePhase = true;
        return t;
      case 0x8d:
        this.threePhase = false;
        return t;
      case 0x96:
        this.adaptive = true;
        return t;
      case 0x97:
        this.adaptive = false;
        return t;
      case 0x8e:
        return this.idleClocks(args[0] + 1, t);
      case 0x8f:
        return this.idleClocks(((args[0] | (args[1] << 8)) + 1) * 8, t);
      case 0x94:
      case 0x95:
      case 0x9c:
      case 0x9d: {
        const high = ((this.levels(t) >> 5) & 1) === 1;
        const untilHigh = op === 0x94 || op === 0x9c;
        if (high === untilHigh) return t;
        if (op === 0x95 || op === 0x94) {
          this.stalled = true;
          return t;
        }
        return this.idleClocks(((args[0] | (args[1] << 8)) + 1) * 8, t);
      }
      case 0x9e:
        return t; // drive-zero (open-drain) mask: accepted, the board does not depend on it
    }
    return t;
  }

  /** Clocks with no data (0x8E/0x8F): DO keeps its level. */
  private idleClocks(n: number, t: number): number {
    const dt = this.bitMs();
    const sckOut = this.lowDir & 1;
    const lv = this.levels(t);
    const mosi = (lv >> 1) & 1;
    if (sckOut) for (let i = 0; i < n; i++) this.wiring.clock(lv, mosi, t + i * dt);
    this.stats.spiBits += n;
    return t + n * dt;
  }

  /** Data shifting commands (AN_108 §3.3–3.6): bit0 out on -ve edge, bit1 bits, bit2 in on -ve edge, bit3 LSB first, bit4 write DO, bit5 read DI, bit6 TMS. */
  private shift(op: number, args: Uint8Array, data: Uint8Array, t: number): number {
    const bits = (op & 0x02) !== 0;
    const lsb = (op & 0x08) !== 0;
    const write = (op & 0x10) !== 0;
    const read = (op & 0x20) !== 0;
    const tms = (op & 0x40) !== 0;
    const outNeg = (op & 0x01) !== 0;
    const inNeg = (op & 0x04) !== 0;
    const dt = this.bitMs();
    const sckOut = (this.lowDir & 1) !== 0;
    const mosiOut = (this.lowDir & 2) !== 0;
    if (write && !outNeg) this.stats.edgeViolations++;
    if (read && inNeg) this.stats.marginalReads++;
    let lv = this.levels(t);
    let pinMosi = (lv >> 1) & 1;

    if (tms) {
      // TMS (ADBUS3) shifting: n bits from data bit 0 up, DO held at data bit 7.
      const n = (args[0] & 7) + 1;
      const d = args[1];
      const doBit = (d >> 7) & 1;
      let r = 0;
      for (let i = 0; i < n; i++) {
        const tmsBit = (d >> i) & 1;
        this.lowVal = (this.lowVal & ~0x0a) | (tmsBit << 3) | (doBit << 1);
        lv = this.levels(t);
        const seen = mosiOut ? doBit : 1;
        const miso = sckOut ? this.wiring.clock(lv, seen, t) : 1;
        r = (r >> 1) | ((this.loopback ? seen : miso) << 7);
        t += dt;
      }
      this.stats.spiBits += n;
      if (read) this.emit(t, [r & 0xff]);
      return t;
    }

    const nBits = bits ? (args[0] & 7) + 1 : 0;
    const nBytes = bits ? 1 : (args[0] | (args[1] << 8)) + 1;
    const out = read ? new Uint8Array(nBytes) : undefined;
    // Read data streams to the host as it is shifted in: one segment per packet's worth, stamped with its time.
    const chunk = this.model.maxPacket - 2;
    let emitted = 0;
    const fast = !bits && !lsb && (outNeg || !write) && sckOut && mosiOut && !this.loopback && this.wiring.clockByte;
    for (let k = 0; k < nBytes; k++) {
      const b = write ? data[k] : 0xff;
      if (fast) {
        // Writes drive DO (or keep it at its level when not writing: MPSSE holds DO; read-only shifts leave it).
        const v = write ? b : pinMosi ? 0xff : 0x00;
        const r = this.wiring.clockByte!(lv | 2, v, t);
        if (r !== undefined) {
          if (write) pinMosi = b & 1;
          t += 8 * dt;
          if (out) {
            out[k] = r;
            if (k + 1 - emitted === chunk) {
              this.emit(t, out.subarray(emitted, k + 1));
              emitted = k + 1;
            }
          }
          continue;
        }
      }
      const n = bits ? nBits : 8;
      let r = 0;
      for (let i = 0; i < n; i++) {
        const bit = write ? (lsb ? (b >> i) & 1 : (b >> (7 - i)) & 1) : pinMosi;
        // Out on the -ve edge: DO is set up before the rising edge the slave latches on.
        // Out on the +ve edge: DO changes at that edge, so the slave still latches the old level.
        const seen = mosiOut ? (outNeg ? bit : pinMosi) : 1;
        pinMosi = bit;
        this.lowVal = (this.lowVal & ~2) | (bit << 1);
        lv = this.levels(t);
        const miso = sckOut ? this.wiring.clock(lv, seen, t) : (lv >> 2) & 1;
        const inBit = this.loopback ? bit : miso;
        // Shift register: MSB first shifts left (new bit enters at bit 0), LSB first shifts right (enters at bit 7).
        r = lsb ? (r >> 1) | (inBit << 7) : ((r << 1) | inBit) & 0xff;
        t += dt;
      }
      if (out) {
        out[k] = r & 0xff;
        if (k + 1 - emitted === chunk) {
          this.emit(t, out.subarray(emitted, k + 1));
          emitted = k + 1;
        }
      }
    }
    this.lowVal = (this.lowVal & ~2) | (pinMosi << 1);
    this.stats.spiBits += bits ? nBits : nBytes * 8;
    if (out && emitted < out.length) this.emit(t, out.subarray(emitted));
    this.wiring.pins(this.levels(t), t);
    return t;
  }

  // --- IN ----------------------------------------------------------------

  private availableAt(t: number): number {
    let n = -this.rxHead;
    for (const s of this.rx) {
      if (s.t > t) break;
      n += s.data.length;
    }
    return n;
  }

  /** The time at which at least k unsent bytes are available, or Infinity. */
  private timeFor(k: number): number {
    let n = -this.rxHead;
    for (const s of this.rx) {
      n += s.data.length;
      if (n >= k) return s.t;
    }
    return Infinity;
  }

  private take(k: number, into: Uint8Array, at: number): void {
    let o = at;
    while (k > 0) {
      const s = this.rx[0];
      const m = Math.min(k, s.data.length - this.rxHead);
      into.set(s.data.subarray(this.rxHead, this.rxHead + m), o);
      o += m;
      k -= m;
      this.rxHead += m;
      if (this.rxHead === s.data.length) {
        this.rx.shift();
        this.rxHead = 0;
      }
    }
    this.consumed += o - at;
  }

  /**
   * read answers one IN transfer of up to length bytes requested at now. Like a
   * pending USB transfer it collects full packets as the MPSSE produces them and
   * ends at the first short packet, which the chip sends only when the latency
   * timer expires or Send Immediate asked for it. Returns the bytes and when the last packet went.
   */
  read(length: number, now: number): { data: Uint8Array; t: number; babble: boolean } {
    const mp = this.model.maxPacket;
    const payload = mp - 2;
    const chunks: Uint8Array[] = [];
    let room = length;
    let babble = false;
    let T = now;
    let waitedForTimer = false;
    const send = (k: number) => {
      const pkt = new Uint8Array(2 + k);
      pkt[0] = STATUS0;
      pkt[1] = STATUS1;
      this.take(k, pkt, 2);
      this.lastPacketT = T;
      if (pkt.length > room) {
        // The device sent more than the host asked for: WebUSB reports "babble" with the data truncated.
        chunks.push(pkt.subarray(0, room));
        babble = true;
        room = 0;
      } else {
        chunks.push(pkt);
        room -= pkt.length;
      }
    };
    for (;;) {
      let avail = this.availableAt(T);
      while (avail >= payload && room > 0) {
        send(payload);
        avail -= payload;
      }
      if (room <= 0) break;
      const tLat = this.lastPacketT + this.latencyMs;
      const flushPending = this.flushUpTo > this.consumed;
      if (T >= tLat || (flushPending && T >= this.flushT)) {
        send(avail); // a short packet (maybe just the status bytes) ends the transfer
        break;
      }
      const tFull = this.timeFor(payload);
      const tFlush = flushPending ? this.flushT : Infinity;
      const next = Math.max(T, Math.min(tFull, tFlush, tLat));
      if (next === tLat && tLat < Math.min(tFull, tFlush)) waitedForTimer = true;
      T = next;
    }
    if (waitedForTimer) {
      this.stats.latencyWaits++;
      this.stats.latencyWaitMs += T - now;
    }
    if (this.flushUpTo <= this.consumed) this.flushUpTo = -1;
    const total = chunks.reduce((x, c) => x + c.length, 0);
    const data = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      data.set(c, o);
      o += c.length;
    }
    return { data, t: T, babble };
  }
}

export interface FtdiDeviceOptions {
  bridge?: BridgeName;
  clock: VirtualClock;
  productName?: string;
  serialNumber?: string;
  kernelDriver?: boolean;
  /** Wiring of each channel's low byte; missing channels are unconnected. */
  wiring?: PinWiring[];
}

function dom(name: string, message: string): DOMException {
  return new DOMException(message, name);
}

/** FtdiDevice is the USB face of the bridge: descriptors, vendor requests, bulk endpoints. */
export class FtdiDevice implements SimUsbDevice {
  readonly vendorId = 0x0403;
  readonly productId: number;
  readonly productName: string;
  readonly manufacturerName = "FTDI";
  readonly serialNumber: string | null;
  readonly deviceClass = 0;
  readonly deviceSubclass = 0;
  readonly deviceProtocol = 0;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly deviceVersionSubminor: number;
  readonly usbVersionMajor = 2;
  readonly usbVersionMinor = 0;
  readonly usbVersionSubminor = 0;
  readonly configurations: USBConfiguration[];
  readonly model: BridgeModel;
  readonly stats: FtdiStats = {
    usbTransfers: 0, bytesOut: 0, bytesIn: 0, spiBits: 0, latencyWaits: 0, latencyWaitMs: 0,
    flowControlWaitMs: 0, badCommands: 0, controlTransfers: 0, edgeViolations: 0, marginalReads: 0,
  };
  readonly channels: Channel[];
  opened = false;
  private detached = false;
  private claimed = new Set<number>();
  private clock: VirtualClock;
  private kernelDriver: boolean;

  constructor(o: FtdiDeviceOptions) {
    const m = BRIDGES[o.bridge ?? "FT2232H"];
    if (!m) throw new Error(`unknown FTDI bridge ${o.bridge}`);
    this.model = m;
    this.clock = o.clock;
    this.kernelDriver = !!o.kernelDriver;
    this.productId = m.productId;
    this.productName = o.productName ?? m.product;
    this.serialNumber = o.serialNumber ?? null;
    this.deviceVersionMajor = m.bcdDevice >> 8;
    this.deviceVersionMinor = (m.bcdDevice >> 4) & 0xf;
    this.deviceVersionSubminor = m.bcdDevice & 0xf;
    this.channels = [];
    for (let i = 0; i < m.interfaces; i++) this.channels.push(new Channel(m, this.stats, o.wiring?.[i] ?? unwired));
    const claimed = this.claimed;
    const interfaces: USBInterface[] = this.channels.map((_, i) => {
      // Interface A: IN 0x81, OUT 0x02; interface B: IN 0x83, OUT 0x04 (FT2232H datasheet §4.x endpoint table).
      const endpoints: USBEndpoint[] = [
        { endpointNumber: 2 * i + 1, direction: "in", type: "bulk", packetSize: m.maxPacket } as USBEndpoint,
        { endpointNumber: 2 * i + 2, direction: "out", type: "bulk", packetSize: m.maxPacket } as USBEndpoint,
      ];
      const alt = {
        alternateSetting: 0, interfaceClass: 0xff, interfaceSubclass: 0xff, interfaceProtocol: 0xff,
        interfaceName: this.productName, endpoints,
      } as USBAlternateInterface;
      return {
        interfaceNumber: i,
        alternate: alt,
        alternates: [alt],
        get claimed() {
          return claimed.has(i);
        },
      } as USBInterface;
    });
    const cfg = { configurationValue: 1, configurationName: undefined, interfaces } as unknown as USBConfiguration;
    this.configurations = [cfg];
  }

  get configuration(): USBConfiguration {
    return this.configurations[0];
  }

  detachFromBus(): void {
    this.detached = true;
    this.opened = false;
    this.claimed.clear();
  }

  private alive(): void {
    if (this.detached) throw networkError();
  }

  private needOpen(): void {
    this.alive();
    if (!this.opened) throw dom("InvalidStateError", "The device must be opened first.");
  }

  async open(): Promise<void> {
    this.alive();
    this.opened = true;
  }

  async close(): Promise<void> {
    this.alive();
    this.opened = false;
    this.claimed.clear();
  }

  async selectConfiguration(v: number): Promise<void> {
    this.needOpen();
    if (v !== 1) throw dom("NotFoundError", "The configuration value provided is not supported by the device.");
  }

  async claimInterface(n: number): Promise<void> {
    this.needOpen();
    if (n < 0 || n >= this.channels.length) throw dom("NotFoundError", "The interface number provided is not supported by the device in its current configuration.");
    // Chromium's words when the OS driver (ftdi_sio) holds the interface.
    if (this.kernelDriver) throw dom("NetworkError", "Unable to claim interface.");
    this.claimed.add(n);
  }

  async releaseInterface(n: number): Promise<void> {
    this.needOpen();
    if (!this.claimed.has(n)) throw dom("InvalidStateError", "The interface number provided is not claimed.");
    this.claimed.delete(n);
  }

  async selectAlternateInterface(n: number, alt: number): Promise<void> {
    this.needOpen();
    if (!this.claimed.has(n)) throw dom("InvalidStateError", "The interface number provided is not claimed.");
    if (alt !== 0) throw dom("NotFoundError", "The alternate setting provided is not supported by the device in its current configuration.");
  }

  async reset(): Promise<void> {
    this.needOpen();
    for (const c of this.channels) c.resetChip();
  }

  async clearHalt(_direction: USBDirection, ep: number): Promise<void> {
    this.needOpen();
    this.endpointChannel(ep);
  }

  /** The channel an endpoint belongs to, checking that its interface is claimed. */
  private endpointChannel(ep: number): Channel {
    const i = (ep - 1) >> 1;
    if (!(ep >= 1 && i < this.channels.length)) throw dom("NotFoundError", "The specified endpoint is not part of a claimed and selected alternate interface.");
    if (!this.claimed.has(i)) throw dom("InvalidStateError", "The specified endpoint is not part of a claimed and selected alternate interface.");
    return this.channels[i];
  }

  private setupChannel(s: USBControlTransferParameters): Channel | undefined {
    if (s.requestType !== "vendor" || s.recipient !== "device") return undefined;
    // libftdi: wIndex low byte = interface (INTERFACE_A = 1, B = 2); 0 is taken as A.
    const i = Math.max(0, (s.index & 0xff) - 1);
    return this.channels[i];
  }

  private usbCost(n: number): number {
    return this.model.highSpeed ? 0.125 + n / 40_000 : 1 + n / 1_200;
  }

  async controlTransferOut(s: USBControlTransferParameters, data?: BufferSource): Promise<USBOutTransferResult> {
    this.needOpen();
    this.stats.controlTransfers++;
    this.clock.advance(this.model.highSpeed ? 0.125 : 1);
    const c = this.setupChannel(s);
    const n = data ? (data as ArrayBufferView | ArrayBuffer).byteLength : 0;
    if (!c) return outResult("stall", 0);
    const t = Math.max(this.clock.now(), c.execT);
    switch (s.request) {
      case SIO.RESET:
        // SIO_RESET_SIO purges both buffers; the bit mode is left as it is (SET_BITMODE 0 resets it).
        if (s.value === 0) {
          c.purgeRx();
          c.purgeTx();
        } else if (s.value === 1) c.purgeRx();
        else if (s.value === 2) c.purgeTx();
        else return outResult("stall", 0);
        break;
      case SIO.SET_LATENCY_TIMER:
        if (s.value < 1 || s.value > 255) return outResult("stall", 0);
        c.latencyMs = s.value;
        break;
      case SIO.SET_BITMODE:
        c.setBitmode((s.value >> 8) & 0xff, s.value & 0xff, t);
        break;
      case SIO.SET_MODEM_CTRL:
      case SIO.SET_FLOW_CTRL:
      case SIO.SET_BAUDRATE:
      case SIO.SET_DATA:
      case SIO.SET_EVENT_CHAR:
      case SIO.SET_ERROR_CHAR:
        break;
      default:
        return outResult("stall", 0);
    }
    await Promise.resolve();
    this.alive();
    return outResult("ok", n);
  }

  async controlTransferIn(s: USBControlTransferParameters, length: number): Promise<USBInTransferResult> {
    this.needOpen();
    this.stats.controlTransfers++;
    this.clock.advance(this.model.highSpeed ? 0.125 : 1);
    const c = this.setupChannel(s);
    if (!c) return inResult("stall");
    let r: number[];
    switch (s.request) {
      case SIO.GET_LATENCY_TIMER:
        r = [c.latencyMs];
        break;
      case SIO.READ_PINS:
        r = [c.levels(Math.max(this.clock.now(), c.execT))];
        break;
      case SIO.POLL_MODEM_STATUS:
        r = [STATUS0, STATUS1];
        break;
      case SIO.READ_EEPROM:
        r = [0xff, 0xff];
        break;
      default:
        return inResult("stall");
    }
    await Promise.resolve();
    this.alive();
    return inResult("ok", Uint8Array.from(r.slice(0, length)));
  }

  async transferOut(ep: number, data: BufferSource): Promise<USBOutTransferResult> {
    this.needOpen();
    const c = this.endpointChannel(ep);
    if (ep % 2 !== 0) throw dom("NotFoundError", "The specified endpoint is not part of a claimed and selected alternate interface.");
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const copy = bytes.slice();
    this.stats.usbTransfers++;
    this.stats.bytesOut += copy.length;
    const start = this.clock.now();
    const done = c.write(copy, start, this.usbCost(copy.length));
    this.clock.until(done);
    await Promise.resolve();
    this.alive();
    return outResult("ok", copy.length);
  }

  async transferIn(ep: number, length: number): Promise<USBInTransferResult> {
    this.needOpen();
    const c = this.endpointChannel(ep);
    if (ep % 2 !== 1) throw dom("NotFoundError", "The specified endpoint is not part of a claimed and selected alternate interface.");
    const now = this.clock.now();
    const r = c.read(length, now);
    // Packets that streamed out while the MPSSE worked cost only the last one's time after it.
    const n = r.data.length;
    this.clock.until(Math.max(r.t + this.usbCost(Math.min(n, this.model.maxPacket)), now + this.usbCost(n)));
    this.stats.usbTransfers++;
    this.stats.bytesIn += r.data.length;
    await Promise.resolve();
    this.alive();
    return inResult(r.babble ? "babble" : "ok", r.data);
  }
}
