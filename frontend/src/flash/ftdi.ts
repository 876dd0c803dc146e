// The FTDI bridge over WebUSB: open and claim one interface, the vendor
// requests libftdi documents (reset, purge, latency timer, bit mode) and
// bulk transfers with the two modem-status bytes FTDI puts at the start of
// every IN packet taken out. Every transfer has a deadline on the session's
// clock and honours the abort signal; a device that leaves the bus becomes
// FlashError "unplugged" naming the phase and offset it was at.
//
// Facts used (FTDI AN_108 §2, FT2232H datasheet DS_FT2232H §4.2 and 4.5,
// FT232H datasheet DS_FT232H §4.2, FT2232D datasheet DS_FT2232D §3, libftdi's
// ftdi.h SIO_* constants):
// - vendor requests (bmRequestType 0x40, wIndex = interface + 1, "INTERFACE_A" = 1):
//   0x00 reset (wValue 0 = reset SIO, 1 = purge RX, 2 = purge TX),
//   0x09 set latency timer (wValue = ms, 1..255), 0x0B set bit mode
//   (wValue = mode << 8 | pin mask; mode 0x00 reset, 0x02 MPSSE);
// - bcdDevice tells the chip: 0x0500 FT2232C/D, 0x0700 FT2232H, 0x0800 FT4232H, 0x0900 FT232H;
// - buffers per channel: FT2232H and FT4232H 4 KiB each way, FT232H 1 KiB each way,
//   FT2232D 384 bytes (USB to chip) and 128 bytes (chip to USB);
// - every bulk IN packet (512 bytes high speed, 64 full speed) starts with two modem status bytes.
import { FlashError, type Clock, type FlashPhase } from "./types";
import { bounded, deadline } from "./deadline";

export const FTDI_VENDOR_ID = 0x0403;

/** The FTDI VID/PIDs the driver handles: FT2232C/D/H (0x6010), FT4232H (0x6011), FT232H (0x6014). */
export const FTDI_FILTERS: USBDeviceFilter[] = [
  { vendorId: FTDI_VENDOR_ID, productId: 0x6010 },
  { vendorId: FTDI_VENDOR_ID, productId: 0x6011 },
  { vendorId: FTDI_VENDOR_ID, productId: 0x6014 },
];

/** A bridge chip's MPSSE and buffer facts. */
export interface FtdiChip {
  name: "FT2232H" | "FT4232H" | "FT232H" | "FT2232D";
  /** H series: 60 MHz MPSSE base clock (with /5 off), clock-only commands 0x8E/0x8F, adaptive and 3-phase clocking. */
  hSeries: boolean;
  /** The channel's USB-to-MPSSE buffer (commands waiting to run). */
  txBuffer: number;
  /** The channel's MPSSE-to-USB buffer (answers waiting for the host). */
  rxBuffer: number;
  /**
   * Bytes one OUT transfer carries. It may exceed txBuffer: the chip NAKs
   * OUT packets while its buffer is full, which is USB's flow control, and
   * fewer, larger transfers matter on the full-speed FT2232D (each transfer
   * costs at least a 1 ms frame).
   */
  outChunk: number;
}

export const FTDI_CHIPS: Record<FtdiChip["name"], FtdiChip> = {
  FT2232H: { name: "FT2232H", hSeries: true, txBuffer: 4096, rxBuffer: 4096, outChunk: 4096 },
  FT4232H: { name: "FT4232H", hSeries: true, txBuffer: 2048, rxBuffer: 2048, outChunk: 4096 },
  FT232H: { name: "FT232H", hSeries: true, txBuffer: 1024, rxBuffer: 1024, outChunk: 4096 },
  FT2232D: { name: "FT2232D", hSeries: false, txBuffer: 384, rxBuffer: 128, outChunk: 4096 },
};

/** bcdDevice as WebUSB splits it (major.minor.subminor = bcd nibbles). */
export function bcdDevice(d: Pick<USBDevice, "deviceVersionMajor" | "deviceVersionMinor" | "deviceVersionSubminor">): number {
  return (d.deviceVersionMajor << 8) | ((d.deviceVersionMinor & 15) << 4) | (d.deviceVersionSubminor & 15);
}

/** chipFor tells the bridge from bcdDevice (and the product id); null for chips without MPSSE (FT232R, FT230X...). */
export function chipFor(d: Pick<USBDevice, "vendorId" | "productId" | "deviceVersionMajor" | "deviceVersionMinor" | "deviceVersionSubminor">): FtdiChip | null {
  switch (bcdDevice(d) & 0xff00) {
    case 0x0500:
      return FTDI_CHIPS.FT2232D;
    case 0x0700:
      return FTDI_CHIPS.FT2232H;
    case 0x0800:
      return FTDI_CHIPS.FT4232H;
    case 0x0900:
      return FTDI_CHIPS.FT232H;
    default:
      return null;
  }
}

/** Vendor requests (libftdi ftdi.h). */
export const SIO = {
  RESET: 0x00,
  SET_LATENCY_TIMER: 0x09,
  SET_BITMODE: 0x0b,
  RESET_SIO: 0,
  PURGE_RX: 1,
  PURGE_TX: 2,
  BITMODE_RESET: 0x00,
  BITMODE_MPSSE: 0x02,
} as const;

/** Where the flash is, for error messages. */
export interface FtdiWhere {
  phase: FlashPhase;
  /** Byte offset in the image (or flash), when the phase has one. */
  offset?: number;
}

export interface FtdiOpenOptions {
  interface?: number;
  clock: Clock;
  signal?: AbortSignal;
  /** Bound on one transfer; default 3 s. */
  timeoutMs?: number;
  /** Latency timer in ms; default 1 (the FTDI sends a short IN packet that soon when it has less than a packet). */
  latencyMs?: number;
}

/** Microtask turns a transfer gets to settle before its timer starts (see Ftdi.transfer). */
const SETTLE_TURNS = 256;

/**
 * within bounds a WebUSB call outside a flash's transfers (open, claim,
 * close): a wedged device must not hang the flash, or its clean-up.
 */
function within<T>(p: Promise<T>, clock: Clock, what: string): Promise<T> {
  return deadline(p, {
    clock,
    timeoutMs: 5000,
    timeout: () => new FlashError(`The FTDI device did not answer within 5 s while ${what}: unplug it, plug it back in and flash again.`, "timeout"),
    aborted: cancelled,
  });
}

/** How long to wait before asking again when the FTDI answered with no data (one high-speed microframe). */
const EMPTY_READ_PAUSE_MS = 0.125;

function claimHelp(iface: number): string {
  const name = `interface ${iface} (${String.fromCharCode(65 + iface)})`;
  return (
    `The operating system's serial driver holds the FTDI's ${name}, so the browser cannot claim it. ` +
    "On Linux run `sudo rmmod ftdi_sio`, then unplug and replug the board; " +
    `on Windows install the WinUSB driver for ${name} with Zadig. ` +
    "Or use the desktop app, which flashes with openFPGALoader."
  );
}

function describe(where: FtdiWhere): string {
  const at = where.offset !== undefined ? ` at offset 0x${where.offset.toString(16)}` : "";
  return `${where.phase}${at}`;
}

/** isGone tells WebUSB's "the device left" rejections. */
function isGone(err: unknown): boolean {
  const e = err as DOMException;
  if (e?.name === "NetworkError" || e?.name === "NotFoundError") return true;
  return /disconnect|device gone|no such device|not found/i.test(e?.message ?? "");
}

/** Ftdi is one claimed interface of an FTDI bridge. */
export class Ftdi {
  /** What the driver is doing, for error messages (the caller updates it). */
  where: FtdiWhere = { phase: "connecting" };
  private leftover: Uint8Array = new Uint8Array(0);
  /** USB calls a timeout or Cancel stopped waiting for: they may still complete, and answer late. */
  private inflight = new Set<Promise<unknown>>();
  private closed = false;
  /** False while cleaning up after a failure or cancel: the last pin commands must go out even though the signal aborted. */
  private abortable = true;

  private constructor(
    readonly device: USBDevice,
    readonly chip: FtdiChip,
    readonly iface: number,
    private readonly epIn: number,
    private readonly epOut: number,
    readonly packetSize: number,
    private readonly clock: Clock,
    private readonly signal: AbortSignal | undefined,
    private readonly timeoutMs: number,
  ) {}

  /**
   * open opens the device, selects configuration 1, claims the interface,
   * resets the channel, purges both buffers, sets the latency timer and
   * puts it in MPSSE mode with pins (direction mask) as outputs.
   */
  static async open(device: USBDevice, pinMask: number, o: FtdiOpenOptions): Promise<Ftdi> {
    const iface = o.interface ?? 0;
    const chip = chipFor(device);
    const bcd = bcdDevice(device).toString(16).padStart(4, "0");
    if (device.vendorId !== FTDI_VENDOR_ID) {
      throw new FlashError(`The chosen device (${hex4(device.vendorId)}:${hex4(device.productId)}) is not an FTDI bridge: choose the board's FTDI device.`, "unsupported");
    }
    if (!chip) {
      throw new FlashError(`The FTDI device ${hex4(device.productId)} (bcdDevice ${bcd}) has no MPSSE engine (it is not an FT2232D/H, FT4232H or FT232H), so it cannot program an iCE40: choose the board's programmer.`, "unsupported");
    }
    if (o.signal?.aborted) throw cancelled();
    const clock = o.clock;
    try {
      if (!device.opened) await within(device.open(), clock, "being opened");
    } catch (err) {
      if (err instanceof FlashError) throw err;
      if (isGone(err) && !(err as Error)?.message?.match(/access/i)) throw new FlashError("The board went away while being opened: plug it back in and flash again.", "unplugged");
      throw new FlashError(
        `The browser could not open the FTDI device (${(err as Error)?.message ?? String(err)}). On Linux, your user needs access to it: install the udev rules (“udev rules” under the Flash button shows them) and replug the board; on Windows, install WinUSB for interface ${iface} with Zadig.`,
        "permission",
      );
    }
    try {
      if (device.configuration?.configurationValue !== 1) await within(device.selectConfiguration(1), clock, "selecting configuration 1");
    } catch (err) {
      if (err instanceof FlashError) throw err;
      if (isGone(err)) throw new FlashError("The board went away while being configured: plug it back in and flash again.", "unplugged");
      throw new FlashError(`The FTDI device refused configuration 1 (${(err as Error)?.message ?? String(err)}): unplug it, plug it back in and flash again.`, "device_error");
    }
    const alt = device.configuration?.interfaces.find((i) => i.interfaceNumber === iface);
    if (!alt) {
      await device.close().catch(() => {});
      throw new FlashError(`The FTDI device has no interface ${iface} (it has ${device.configuration?.interfaces.length ?? 0}): check the board's settings.`, "unsupported");
    }
    try {
      await within(device.claimInterface(iface), clock, `claiming interface ${iface}`);
    } catch (err) {
      await within(device.close(), clock, "closing").catch(() => {});
      if (err instanceof FlashError) throw err;
      throw new FlashError(`${claimHelp(iface)} (${(err as Error)?.message ?? String(err)})`, "claim_failed");
    }
    const setting = alt.alternate ?? alt.alternates[0];
    const epIn = setting.endpoints.find((e) => e.direction === "in" && e.type === "bulk");
    const epOut = setting.endpoints.find((e) => e.direction === "out" && e.type === "bulk");
    if (!epIn || !epOut) {
      await device.releaseInterface(iface).catch(() => {});
      await device.close().catch(() => {});
      throw new FlashError(`FTDI interface ${iface} has no bulk IN and OUT endpoints: it is not an FTDI serial channel.`, "unsupported");
    }
    const f = new Ftdi(device, chip, iface, epIn.endpointNumber, epOut.endpointNumber, epIn.packetSize || (chip.hSeries ? 512 : 64), o.clock, o.signal, o.timeoutMs ?? 3000);
    try {
      await f.control(SIO.RESET, SIO.RESET_SIO);
      await f.control(SIO.RESET, SIO.PURGE_RX);
      await f.control(SIO.RESET, SIO.PURGE_TX);
      await f.control(SIO.SET_LATENCY_TIMER, o.latencyMs ?? 1);
      await f.control(SIO.SET_BITMODE, SIO.BITMODE_RESET << 8);
      await f.control(SIO.SET_BITMODE, (SIO.BITMODE_MPSSE << 8) | (pinMask & 0xff));
    } catch (err) {
      await f.close();
      throw err;
    }
    return f;
  }

  /** control sends one vendor request to this interface (wIndex = interface + 1). */
  async control(request: number, value: number): Promise<void> {
    const r = await this.transfer(`vendor request 0x${request.toString(16)}`, () =>
      this.device.controlTransferOut({ requestType: "vendor", recipient: "device", request, value, index: this.iface + 1 }),
    );
    if (r.status !== "ok") throw new FlashError(`The FTDI bridge refused vendor request 0x${request.toString(16)} (${r.status}) during ${describe(this.where)}: unplug the board, plug it back in and flash again.`, "device_error");
  }

  /** write sends bytes to the MPSSE, at most outChunk per transfer. */
  async write(data: Uint8Array): Promise<void> {
    for (let off = 0; off < data.length; ) {
      this.checkAbort();
      const n = Math.min(this.chip.outChunk, data.length - off);
      const chunk = data.subarray(off, off + n);
      const r = await this.transfer("a bulk write", () => this.device.transferOut(this.epOut, chunk as Uint8Array<ArrayBuffer>));
      if (r.status !== "ok") throw new FlashError(`The FTDI bridge refused a write (${r.status}) during ${describe(this.where)}: unplug the board, plug it back in and flash again.`, "device_error");
      if (r.bytesWritten <= 0) throw new FlashError(`The FTDI bridge accepted nothing during ${describe(this.where)}: unplug the board, plug it back in and flash again.`, "device_error");
      off += r.bytesWritten;
    }
  }

  /** read returns exactly n bytes of MPSSE answers (modem status bytes removed), or throws "timeout" after timeoutMs. */
  async read(n: number, timeoutMs = this.timeoutMs): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let got = Math.min(n, this.leftover.length);
    out.set(this.leftover.subarray(0, got));
    this.leftover = this.leftover.subarray(got);
    const deadline = this.clock.now() + timeoutMs;
    const ps = this.packetSize;
    while (got < n) {
      this.checkAbort();
      const packets = Math.min(64, Math.ceil((n - got) / (ps - 2)));
      const before = this.clock.now();
      const r = await this.transfer("a bulk read", () => this.device.transferIn(this.epIn, packets * ps));
      if (r.status !== "ok") throw new FlashError(`The FTDI bridge failed a read (${r.status}) during ${describe(this.where)}: unplug the board, plug it back in and flash again.`, "device_error");
      const d = r.data;
      let payload = 0;
      if (d) {
        const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
        for (let p = 0; p < bytes.length; p += ps) {
          const chunk = bytes.subarray(Math.min(bytes.length, p + 2), Math.min(bytes.length, p + ps));
          payload += chunk.length;
          const take = Math.min(chunk.length, n - got);
          out.set(chunk.subarray(0, take), got);
          got += take;
          if (take < chunk.length) this.leftover = concat(this.leftover, chunk.subarray(take));
        }
      }
      if (got >= n) break;
      if (this.clock.now() >= deadline) {
        throw new FlashError(`The FTDI bridge sent ${got} of ${n} expected bytes within ${timeoutMs} ms during ${describe(this.where)}: unplug the board, plug it back in and flash again.`, "timeout");
      }
      if (payload === 0 && this.clock.now() === before) await this.sleep(EMPTY_READ_PAUSE_MS);
    }
    return out;
  }

  /**
   * resync makes the reply stream trustworthy again after a timeout or
   * Cancel abandoned a transfer: it lets abandoned transfers finish
   * (bounded), drops any half-read answer, purges the bridge's buffers and
   * repeats the MPSSE sync check (0xAA answered FA AA). The Cancel is
   * ignored from here on; a bridge that does not resync throws.
   */
  async resync(): Promise<void> {
    this.ignoreSignal();
    if (this.inflight.size) {
      await deadline(Promise.allSettled([...this.inflight]), {
        clock: this.clock,
        timeoutMs: this.timeoutMs,
        settleTurns: 4096,
        timeout: () => new FlashError(`The FTDI bridge did not finish a transfer within ${this.timeoutMs} ms: unplug the board, plug it back in and flash again.`, "timeout"),
        aborted: cancelled,
      });
    }
    this.leftover = new Uint8Array(0);
    await this.control(SIO.RESET, SIO.PURGE_RX);
    await this.control(SIO.RESET, SIO.PURGE_TX);
    await this.write(new Uint8Array([0xaa]));
    const echo = await this.read(2, 500);
    if (echo[0] !== 0xfa || echo[1] !== 0xaa) {
      throw new FlashError(`The FTDI bridge answered the sync check with ${[...echo].map((b) => b.toString(16).padStart(2, "0")).join(" ")} after an interrupted transfer: unplug the board, plug it back in and flash again.`, "device_error");
    }
  }

  /** sleep waits on the session's clock, as a cancel. */
  async sleep(ms: number): Promise<void> {
    try {
      await this.clock.sleep(ms, this.abortable ? this.signal : undefined);
    } catch (err) {
      if ((err as Error)?.name === "AbortError") throw cancelled();
      throw err;
    }
  }

  now(): number {
    return this.clock.now();
  }

  checkAbort(): void {
    if (this.abortable && this.signal?.aborted) throw cancelled();
  }

  /** ignoreSignal makes later transfers run even though the flash was cancelled (for the clean-up commands). */
  ignoreSignal(): void {
    this.abortable = false;
  }

  /** close puts the channel back in reset bit mode (optional), releases the interface and closes the device; it never throws. */
  async close(resetBitmode = false): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (resetBitmode) {
      await within(this.device.controlTransferOut({ requestType: "vendor", recipient: "device", request: SIO.SET_BITMODE, value: 0, index: this.iface + 1 }), this.clock, "resetting the bit mode").catch(() => {});
    }
    await within(this.device.releaseInterface(this.iface), this.clock, "releasing its interface").catch(() => {});
    await within(this.device.close(), this.clock, "closing").catch(() => {});
  }

  /**
   * transfer runs one USB call bounded by the timeout. The call first gets
   * some microtask turns to settle, so a device that answers at once (the
   * simulators; most real replies already queued) never starts a timer and,
   * on a virtual clock, never moves time by the timeout. Only a call still
   * pending then races clock.sleep(timeout) and the abort signal.
   */
  private async transfer<T>(name: string, call: () => Promise<T>): Promise<T> {
    const tracked = () => {
      const p = call();
      this.inflight.add(p);
      const done = () => this.inflight.delete(p);
      p.then(done, done);
      return p;
    };
    return bounded(tracked, (err) => this.mapError(name, err), {
      clock: this.clock,
      timeoutMs: this.timeoutMs,
      signal: this.abortable ? this.signal : undefined,
      settleTurns: SETTLE_TURNS,
      timeout: () => new FlashError(`The FTDI bridge did not answer ${name} within ${this.timeoutMs} ms during ${describe(this.where)}: unplug the board, plug it back in and flash again.`, "timeout"),
      aborted: cancelled,
    });
  }

  private mapError(name: string, err: unknown): Error {
    if (err instanceof FlashError) return err;
    if ((err as Error)?.name === "AbortError") return cancelled();
    if (isGone(err)) {
      return new FlashError(
        `The board was unplugged (or reset) during ${describe(this.where)}: plug it back in and flash again; the FPGA boots from whatever the flash holds, which may be incomplete until then.`,
        "unplugged",
        this.where.offset,
      );
    }
    return new FlashError(`${name} to the FTDI bridge failed during ${describe(this.where)} (${(err as Error)?.message ?? String(err)}): unplug the board, plug it back in and flash again.`, "device_error", this.where.offset);
  }
}

/** cancelled is the error every cancelled flash rejects with. */
export function cancelled(): FlashError {
  return new FlashError("The flash was cancelled.", "cancelled");
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const r = new Uint8Array(a.length + b.length);
  r.set(a);
  r.set(b, a.length);
  return r;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}
