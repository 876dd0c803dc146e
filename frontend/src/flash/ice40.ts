// Programming an iCE40 board through its FTDI bridge (iCEstick, HX8K
// breakout, iCEBreaker): to the SPI flash the FPGA boots from, or straight
// into its configuration SRAM (Lattice TN1248 "iCE40 Programming and
// Configuration", §"SPI Slave Configuration" and §"Master SPI Configuration").
//
// Flash: hold CRESET_B low (the FPGA lets go of the SPI bus), wake the flash,
// check its id and size, erase the sectors the image covers, program, read
// back, then raise CRESET_B with SPI_SS_B high (so the FPGA starts as SPI
// master and reads the flash), let go of all lines, and wait for CDONE.
// SRAM: CRESET_B low with SPI_SS_B low (>= 200 ns), CRESET_B high with SS_B
// still low (the FPGA samples it: slave mode), wait >= 1200 µs for it to clear
// its configuration memory, send the image MSB first, then >= 49 more clocks,
// and CDONE must be high.
import { cancelled, Ftdi, FTDI_FILTERS as FILTERS } from "./ftdi";
import { checkIce40Image } from "./ice40image";
import { Cmd, DIR_ACTIVE, Mpsse, PIN } from "./mpsse";
import { eraseMaxMs, formatSize, isErased, planEraseKeeping, SpiFlash } from "./spiflash";
import { FlashError, realClock, type Clock, type FlashOptions, type FlashPhase, type FlashResult } from "./types";

export interface Ice40FlashOptions extends FlashOptions {
  /** "flash" (default) writes the SPI flash; "sram" configures the FPGA directly (lost at power-off). */
  target?: "flash" | "sram";
  /** Flash offset, default 0. */
  offset?: number;
  /** SPI clock, default 6 MHz (the FT2232D cannot go above 6 MHz; the H series up to 30 MHz). */
  spiHz?: number;
  /** Read back and compare (flash target), default true. */
  verify?: boolean;
  /** The board's FPGA ("hx1k", "up5k", ...): an image for another device is refused. */
  expectDevice?: string;
  /** The FTDI interface wired to the FPGA, default 0 (A). */
  interface?: number;
}

/** The FTDI VID/PIDs the driver handles. */
export const FTDI_FILTERS: USBDeviceFilter[] = FILTERS;

const DEFAULT_SPI_HZ = 6_000_000;
/** TN1248: CRESET_B low for at least 200 ns. */
const CRESET_LOW_US = 1;
/** TN1248 tCR_SCK: from CRESET_B high to the first SPI clock, at least 1200 µs (the FPGA clears its CRAM). */
const CRESET_TO_SCK_MS = 1.3;
/** TN1248: at least 49 clocks after the image for the FPGA to enter user mode. */
const TRAILING_CLOCK_BYTES = 13; // 104 clocks
/** How long to wait for CDONE after releasing CRESET_B for a boot from flash (a 135 KB image at the slowest master clock takes ~150 ms). */
const CDONE_TIMEOUT_MS = 2000;

interface Session {
  ftdi: Ftdi;
  m: Mpsse;
  clock: Clock;
  report(phase: FlashPhase, done: number, total: number): void;
}

async function openSession(device: USBDevice, o: Ice40FlashOptions): Promise<Session> {
  const clock = o.clock ?? realClock;
  const report = (phase: FlashPhase, done: number, total: number) => o.progress?.({ phase, done, total });
  if (o.signal?.aborted) throw cancelled();
  report("identifying", 0, 1);
  // CS high, CRESET_B low: the FPGA stops (and lets go of the SPI bus) from the first pin command on.
  const ftdi = await Ftdi.open(device, DIR_ACTIVE, { interface: o.interface ?? 0, clock, signal: o.signal });
  try {
    let hz = o.spiHz ?? DEFAULT_SPI_HZ;
    if (!(hz > 0)) throw new FlashError(`spiHz ${o.spiHz} is not a clock rate.`, "unsupported");
    if (!ftdi.chip.hSeries) hz = Math.min(hz, 6_000_000);
    hz = Math.min(hz, 30_000_000);
    const m = await Mpsse.init(ftdi, hz, PIN.CS);
    return { ftdi, m, clock, report };
  } catch (err) {
    // Cancelled or failed while setting up: let go of the lines (bit mode reset) so the board is not left in reset.
    await ftdi.close(true);
    throw err;
  }
}

/**
 * release lets the FPGA run. With CRESET_B low it first raises CRESET_B with
 * SPI_SS_B driven high (the FPGA samples SS_B then: high = boot as SPI master
 * from the flash); then it lets go of every line, so the FPGA can drive
 * SCK, MOSI and SS_B and nothing fights a reset button. The boards' pull-ups
 * keep SS_B and CRESET_B high (the iCE40 data sheets ask for an external
 * 10 kΩ pull-up on CRESET_B, which has none inside). An FPGA already out of
 * reset (just configured through SRAM) is never reset again.
 */
function release(m: Mpsse, c: Cmd): Cmd {
  if (!(m.pins & PIN.CRESET)) {
    m.set(c, PIN.CS, DIR_ACTIVE);
    m.set(c, PIN.CS | PIN.CRESET, DIR_ACTIVE);
  }
  return m.set(c, PIN.CS | PIN.CRESET, 0);
}

/** leaveSane is the cleanup after a failure: deselect the flash and release reset; it never throws. */
async function leaveSane(s: Session): Promise<void> {
  s.ftdi.ignoreSignal();
  try {
    await s.ftdi.resync();
    await s.m.run(release(s.m, new Cmd()));
  } catch {
    // The device is gone or refuses: nothing more to do.
  }
}

async function readCdone(s: Session): Promise<boolean> {
  const r = await s.m.run(new Cmd().readLow());
  return (r[0] & PIN.CDONE) !== 0;
}

/** waitCdone polls CDONE until high or the deadline. */
async function waitCdone(s: Session, timeoutMs: number): Promise<number | null> {
  const start = s.clock.now();
  let interval = 0.25;
  for (;;) {
    if (await readCdone(s)) return s.clock.now() - start;
    if (s.clock.now() - start >= timeoutMs) return null;
    await s.ftdi.sleep(interval);
    interval = Math.min(interval * 2, 4);
  }
}

function describeDevice(s: Session, flash?: SpiFlash): string {
  const b = s.ftdi.chip.name;
  if (!flash?.chip) return b;
  return `${b}, ${flash.chip.name} ${formatSize(flash.chip.size)}`;
}

/**
 * flashIce40 writes an iCE40 bitstream to the board behind an FTDI bridge:
 * to its SPI flash (default) or straight into the FPGA (target "sram").
 * Errors are FlashErrors: bad_image, wrong_device (refused before the
 * device is touched), claim_failed, wrong_chip, too_large, verify_mismatch
 * (offset = first differing byte of the image), no_cdone, unplugged,
 * timeout, cancelled.
 */
export async function flashIce40(device: USBDevice, image: Uint8Array, o: Ice40FlashOptions = {}): Promise<FlashResult> {
  const clock = o.clock ?? realClock;
  const start = clock.now();
  const target = o.target ?? "flash";
  checkIce40Image(image, o.expectDevice);
  const offset = o.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw new FlashError(`The flash offset ${offset} is not a byte address.`, "too_large");
  const s = await openSession(device, o);
  try {
    const r = target === "sram" ? await toSram(s, image) : await toFlash(s, image, offset, o.verify ?? true);
    s.report("done", image.length, image.length);
    return { ...r, elapsedMs: clock.now() - start };
  } catch (err) {
    await leaveSane(s);
    throw err;
  } finally {
    await s.ftdi.close(true);
  }
}

async function toFlash(s: Session, image: Uint8Array, offset: number, verify: boolean): Promise<Omit<FlashResult, "elapsedMs">> {
  const { ftdi, m } = s;
  const flash = new SpiFlash(m);
  s.report("identifying", 1, 1);
  ftdi.where = { phase: "waking" };
  s.report("waking", 0, 1);
  const chip = await flash.wakeAndIdentify();
  s.report("waking", 1, 1);
  if (offset + image.length > chip.size) {
    throw new FlashError(
      `The image (${image.length} bytes${offset ? ` at offset 0x${offset.toString(16)}` : ""}) does not fit the board's ${chip.name} flash (${formatSize(chip.size)}).`,
      "too_large",
    );
  }
  await flash.unprotect();
  // Whatever the erases clear besides the image is read first and written back after, so nothing else on the flash is lost.
  let plan = planEraseKeeping(offset, image.length, chip, m.hz);
  const seen: { addr: number; data: Uint8Array }[] = [];
  for (const k of plan.keep) seen.push({ addr: k.addr, data: await flash.read(k.addr, k.length, undefined, k.addr, "erasing") });
  const occupied = new Set(seen.filter((r) => !isErased(r.data)).map((r) => Math.floor(r.addr / 65536)));
  // Where data lives beside the image, erase no more than the image's own sectors, so less of it is held only in memory.
  if (occupied.size) plan = planEraseKeeping(offset, image.length, chip, m.hz, (block) => occupied.has(block));
  const kept: { addr: number; data: Uint8Array }[] = [];
  for (const k of plan.keep) {
    const from = seen.find((r) => r.addr <= k.addr && k.addr + k.length <= r.addr + r.data.length)!;
    const data = from.data.subarray(k.addr - from.addr, k.addr - from.addr + k.length);
    if (!isErased(data)) kept.push({ addr: k.addr, data });
  }
  const eraseTotal = plan.ops.reduce((n, op) => n + op.size, 0);
  s.report("erasing", 0, eraseTotal);
  try {
    await flash.erase(plan.ops, (done) => s.report("erasing", done, eraseTotal));
    s.report("writing", 0, image.length);
    await flash.program(image, offset, (done) => s.report("writing", done, image.length));
    for (const k of kept) await flash.program(k.data, k.addr);
  } catch (err) {
    let gone = err instanceof FlashError && err.code === "unplugged";
    if (!gone) {
      // The reply stream may be out of step after an abandoned transfer: resync it first. Then, as a
      // cancelled erase or program goes on inside the chip, wait for it to finish, so the next flash
      // (and the FPGA's boot) finds the chip answering rather than busy.
      try {
        await s.ftdi.resync();
        await flash.waitReady("finishing the interrupted erase", eraseMaxMs(chip, 65536), 5);
      } catch {
        gone = true; // no trustworthy way to talk to the chip: treat the kept data as not written back
      }
    }
    if (!kept.length) throw err;
    // The kept data exists only in memory now: a Cancel or a timeout must not lose it, so write it back
    // first (ignoring the Cancel), and if the board is gone, hand it to the caller to save.
    let restored = false;
    if (!gone) {
      try {
        for (const k of kept) await flash.program(k.data, k.addr);
        // Believe the write-back only once it reads back equal.
        restored = true;
        for (const k of kept) {
          const again = await flash.read(k.addr, k.data.length, undefined, k.addr, "writing");
          if (again.some((x, j) => x !== k.data[j])) restored = false;
        }
      } catch {
        // Reported below.
      }
    }
    const e = err instanceof FlashError ? err : new FlashError((err as Error)?.message ?? String(err), "device_error");
    const where = kept.map((k) => `0x${k.addr.toString(16)}–0x${(k.addr + k.data.length).toString(16)}`).join(", ");
    if (restored) throw new FlashError(`${e.message} The other data in the erased sectors (${where}) was written back first.`, e.code, e.offset);
    const lost = new FlashError(`${e.message} The other data in the erased sectors (${where}) could not be written back to the flash.`, e.code, e.offset);
    lost.rescue = kept;
    throw lost;
  }
  const keptBytes = kept.reduce((n, k) => n + k.data.length, 0);
  if (verify) {
    s.report("verifying", 0, image.length);
    const back = await flash.read(offset, image.length, (done) => s.report("verifying", done, image.length));
    for (let i = 0; i < image.length; i++) {
      if (back[i] !== image[i]) {
        throw new FlashError(
          `Verify failed: the flash holds 0x${back[i].toString(16).padStart(2, "0")} at image offset ${i} (flash address 0x${(offset + i).toString(16)}) where the image has 0x${image[i].toString(16).padStart(2, "0")}. Flash again; if it fails at the same place, the flash may be worn out or write-protected.`,
          "verify_mismatch",
          i,
        );
      }
    }
    for (const k of kept) {
      const again = await flash.read(k.addr, k.data.length);
      const i = again.findIndex((x, j) => x !== k.data[j]);
      if (i >= 0) {
        throw new FlashError(
          `Verify failed outside the image: the data kept at flash address 0x${(k.addr + i).toString(16)} (erased with the image's block and written back) reads 0x${again[i].toString(16).padStart(2, "0")} instead of 0x${k.data[i].toString(16).padStart(2, "0")}. The image itself was written and verified.`,
          "verify_mismatch",
        );
      }
    }
  }
  ftdi.where = { phase: "configuring" };
  s.report("configuring", 0, 1);
  await m.run(release(m, new Cmd()));
  const ms = await waitCdone(s, CDONE_TIMEOUT_MS);
  if (ms === null) {
    throw new FlashError(
      `The flash was written${verify ? " and verified" : ""}, but the FPGA did not raise CDONE within ${CDONE_TIMEOUT_MS} ms of leaving reset: the image may be for another board or device, or the board is wired for SRAM configuration (check its jumpers), or the image is not at offset 0 where the FPGA boots from.`,
      "no_cdone",
    );
  }
  s.report("configuring", 1, 1);
  const dev = describeDevice(s, flash);
  return {
    bytes: image.length,
    verified: verify,
    device: dev,
    summary: `${image.length} bytes to ${chip.name} flash at 0x${offset.toString(16)} through the ${ftdi.chip.name} at ${formatHz(m.hz)}${verify ? ", verified" : ""}${keptBytes ? `, ${formatSize(keptBytes)} of other data in the erased sectors kept` : ""}, CDONE high`,
  };
}

async function toSram(s: Session, image: Uint8Array): Promise<Omit<FlashResult, "elapsedMs">> {
  const { ftdi, m } = s;
  s.report("identifying", 1, 1);
  ftdi.where = { phase: "configuring" };
  s.report("configuring", 0, 1);
  const c = new Cmd();
  m.set(c, 0, DIR_ACTIVE); // SS_B low, CRESET_B low
  m.delay(c, CRESET_LOW_US);
  m.set(c, PIN.CRESET, DIR_ACTIVE); // CRESET_B high with SS_B low: SPI slave mode
  await m.run(c);
  await ftdi.sleep(CRESET_TO_SCK_MS);
  s.report("writing", 0, image.length);
  const step = 16 * 1024;
  for (let off = 0; off < image.length; off += step) {
    ftdi.checkAbort();
    ftdi.where = { phase: "writing", offset: off };
    const part = image.subarray(off, Math.min(image.length, off + step));
    await m.run(new Cmd(part.length + 8).write(part));
    s.report("writing", off + part.length, image.length);
  }
  ftdi.where = { phase: "configuring" };
  const tail = new Cmd();
  tail.write(new Uint8Array(TRAILING_CLOCK_BYTES));
  tail.readLow();
  const r = await m.run(tail);
  let cdone = (r[0] & PIN.CDONE) !== 0;
  for (let k = 0; k < 4 && !cdone; k++) {
    // Some more clocks in case the FPGA needs them to finish its start-up sequence.
    const more = new Cmd().write(new Uint8Array(TRAILING_CLOCK_BYTES)).readLow();
    cdone = ((await m.run(more))[0] & PIN.CDONE) !== 0;
  }
  await m.run(release(m, new Cmd()));
  if (!cdone) {
    throw new FlashError(
      "The FPGA did not raise CDONE after the image was sent to its SRAM: the image may be for another device, or the board is set for flash programming (some boards, like the HX8K breakout, need jumpers moved for SRAM programming; the iCEstick cannot be programmed to SRAM).",
      "no_cdone",
    );
  }
  s.report("configuring", 1, 1);
  return {
    bytes: image.length,
    verified: false,
    device: describeDevice(s),
    summary: `${image.length} bytes to the FPGA's SRAM through the ${ftdi.chip.name} at ${formatHz(m.hz)}, CDONE high (lost at power-off)`,
  };
}

/**
 * readIce40Flash reads length bytes of the board's SPI flash from offset
 * (the FPGA is held in reset meanwhile and boots again afterwards).
 */
export async function readIce40Flash(device: USBDevice, offset: number, length: number, o: Ice40FlashOptions = {}): Promise<Uint8Array> {
  const s = await openSession(device, o);
  try {
    const flash = new SpiFlash(s.m);
    s.ftdi.where = { phase: "waking" };
    const chip = await flash.wakeAndIdentify();
    if (offset < 0 || length < 0 || offset + length > chip.size) {
      throw new FlashError(`Reading ${length} bytes at 0x${offset.toString(16)} runs past the end of the ${chip.name} (${formatSize(chip.size)}).`, "too_large");
    }
    s.report("verifying", 0, length);
    const data = await flash.read(offset, length, (done) => s.report("verifying", done, length));
    await s.m.run(release(s.m, new Cmd()));
    s.report("done", length, length);
    return data;
  } catch (err) {
    await leaveSane(s);
    throw err;
  } finally {
    await s.ftdi.close(true);
  }
}

function formatHz(hz: number): string {
  return hz >= 1e6 ? `${+(hz / 1e6).toFixed(2)} MHz` : `${+(hz / 1e3).toFixed(1)} kHz`;
}
