// Flashing a TinyFPGA BX over Web Serial, the way tinyprog does it.
//
// The TinyFPGA USB Bootloader is a USB CDC-ACM serial port (1d50:6130; some
// early BX boards 1209:2100) bridging to the board's SPI flash. The host
// sends requests, the bootloader only answers (tinyfpga/TinyFPGA-Bootloader
// README, "Protocol"):
//   0x00                                  boot the user image (warm boot; the port goes away)
//   0x01 wlen(16 LE) rlen(16 LE) bytes…   one SPI transaction: send the bytes to the flash
//                                         with chip select low, then read rlen bytes back;
//                                         the bootloader answers exactly rlen bytes (none if 0)
// Everything else is SPI NOR flash commands (the README's table and
// tinyprog/__init__.py): ABh resume from deep power-down, 9Fh JEDEC id, 48h
// read security register page (3 address bytes with the page in A9:A8, one
// dummy byte, 255 bytes read), 06h write enable, 20h/52h/D8h erase
// 4/32/64 KB, 02h page program (256 bytes, page aligned), 05h status (bit 0
// busy), 0Bh fast read (3 address bytes, one dummy, tinyprog reads 255 at
// a time).
//
// Where the user image goes comes from the board's metadata: JSON in
// security register pages 1-3 (bytes 00h and FFh stripped, pages merged,
// "@0xADDR+LEN" strings pointing into flash resolved), whose
// bootmeta.addrmap.userimage is "0xSTART-0xEND" (a BX: "0x28000-0x50000",
// after the bootloader at "0x000a0-0x28000"). Nothing below the user image
// start is ever erased or written: that is the bootloader, and without it the
// board can only be recovered with an external SPI programmer.
import { FlashError, abortError, realClock, type Clock, type FlashOptions, type FlashPhase, type FlashResult } from "./types";
import { deadline } from "./deadline";

/** The bootloader's USB ids (tinyprog's default 1d50:6130, and 1209:2100 that early BX boards enumerate with). */
export const TINYPROG_FILTERS: SerialPortFilter[] = [
  { usbVendorId: 0x1d50, usbProductId: 0x6130 },
  { usbVendorId: 0x1209, usbProductId: 0x2100 },
];

export interface TinyprogOptions extends FlashOptions {
  /** Read the image back and compare (default true). */
  verify?: boolean;
  /** How long one answer from the bootloader may take, ms (default 2000). */
  timeoutMs?: number;
}

/** The flashes we know on TinyFPGA boards; a BX carries an AT25SF081. */
const FLASH_CHIPS: Record<string, { name: string; size: number }> = {
  "1f8501": { name: "AT25SF081", size: 1 << 20 },
};

/** When the board has no metadata: the BX's own address map (bootmeta.addrmap.userimage "0x28000-0x50000"). */
const BX_DEFAULT_USERIMAGE = { start: 0x28000, end: 0x50000 };

const SECTOR = 4096;
const PAGE = 256;
/** tinyprog reads at most 255 bytes per transaction. */
const READ_CHUNK = 255;
/** How long the flash may stay busy, ms: generous bounds well above the datasheet's typical times (0.7 ms page, 70/300/600 ms erase). */
const BUSY_LIMIT_MS = { program: 50, erase4k: 2000, erase32k: 4000, erase64k: 6000 };
/** Sleep between status polls while erasing, ms (a program finishes within a poll's round trip). */
const ERASE_POLL_MS = 5;
/** Microtask turns a stream call gets to settle before a timer starts (keeps virtual time from jumping). */
const SETTLE_TURNS = 200;

/** iCE40 CRAM geometry (IceStorm "bitstream format": 0x62 bank width−1, 0x72 bank height) by die. */
const ICE40_GEOMETRY: Record<string, string> = {
  "331x144": "iCE40 HX1K/LP1K",
  "871x272": "iCE40 HX8K/LP8K (or HX4K/LP4K)",
  "691x336": "iCE40 UP5K",
};
const BX_GEOMETRY = "871x272";

/**
 * flashTinyprog writes an iCE40 bitstream into a TinyFPGA BX's user image
 * through its bootloader, verifies it and boots it. port is the bootloader's
 * serial port as navigator.serial.requestPort returned it (closed); it is
 * opened here and closed again before this returns.
 */
export async function flashTinyprog(port: SerialPort, image: Uint8Array, o: TinyprogOptions = {}): Promise<FlashResult> {
  const clock = o.clock ?? realClock;
  const signal = o.signal;
  const t0 = clock.now();
  const progress = (phase: FlashPhase, done: number, total: number) => o.progress?.({ phase, done, total });
  checkImage(image);
  if (signal?.aborted) throw abortError();

  const link = new Link(port, clock, signal, o.timeoutMs ?? 2000);
  try {
    progress("connecting", 0, 1);
    await link.open();
    progress("identifying", 0, 3);

    // The FPGA leaves the flash in deep power-down after configuring from it.
    await link.spi([0xab], 0, "the wake-up command");
    const id = await link.spi([0x9f], 3, "the flash id request");
    const idHex = [...id].map((b) => b.toString(16).padStart(2, "0")).join("");
    const chip = FLASH_CHIPS[idHex];
    if (!chip) {
      if (idHex === "ffffff" || idHex === "000000") {
        throw new FlashError(`The TinyFPGA BX's flash did not answer (its id reads ${spaced(idHex)}): press the board's reset button to restart the bootloader and flash again.`, "wrong_chip");
      }
      throw new FlashError(`The board's SPI flash has JEDEC id ${spaced(idHex)}, not the AT25SF081 (1F 85 01) a TinyFPGA BX carries; this flasher writes only to flashes it knows, so use tinyprog for this board.`, "wrong_chip");
    }
    progress("identifying", 1, 3);

    const meta = await readMetadata(link, chip.size);
    progress("identifying", 2, 3);
    const range = userImageRange(meta, chip.size);
    const boardName = (meta as { boardmeta?: { name?: unknown } } | null)?.boardmeta?.name;
    const device = `${typeof boardName === "string" ? boardName : "TinyFPGA BX"} (bootloader, ${chip.name})`;
    const fpga = (meta as { boardmeta?: { fpga?: unknown } } | null)?.boardmeta?.fpga;
    checkDevice(image, typeof fpga === "string" ? fpga : "ice40lp8k-cm81");
    if (image.length > range.end - range.start) {
      throw new FlashError(
        `The bitstream is ${image.length} bytes but the board's user image area (0x${hex(range.start)}-0x${hex(range.end)}) holds ${range.end - range.start}: build for the board's FPGA (iCE40LP8K, --lp8k --package cm81) or make the design smaller.`,
        "too_large",
      );
    }
    progress("identifying", 3, 3);

    // Erase only the sectors the image covers, with the largest aligned blocks that fit.
    const eraseEnd = range.start + roundUp(image.length, SECTOR);
    const plan: { addr: number; size: number }[] = [];
    for (let a = range.start; a < eraseEnd; ) {
      const size = [65536, 32768, 4096].find((s) => a % s === 0 && a + s <= eraseEnd)!;
      plan.push({ addr: a, size });
      a += size;
    }
    if (plan.some((b) => b.addr < range.start || b.addr + b.size > range.end)) {
      throw new FlashError("Refusing to erase outside the board's user image area; this is a bug in the flasher, please report it.", "device_error");
    }
    const eraseTotal = eraseEnd - range.start;
    progress("erasing", 0, eraseTotal);
    let erased = 0;
    for (const b of plan) {
      checkAbort(signal);
      const op = b.size === 65536 ? 0xd8 : b.size === 32768 ? 0x52 : 0x20;
      await link.spiMany([[0x06], [op, ...addr(b.addr)]], `the erase of 0x${hex(b.addr)}`);
      await waitReady(link, clock, signal, b.size === 65536 ? BUSY_LIMIT_MS.erase64k : b.size === 32768 ? BUSY_LIMIT_MS.erase32k : BUSY_LIMIT_MS.erase4k, ERASE_POLL_MS, `erasing 0x${hex(b.addr)}`);
      erased += b.size;
      progress("erasing", erased, eraseTotal);
    }

    // Program page by page; pages that are all FFh are already what an erase left.
    progress("writing", 0, image.length);
    for (let off = 0; off < image.length; off += PAGE) {
      checkAbort(signal);
      const data = image.subarray(off, Math.min(off + PAGE, image.length));
      if (!data.every((b) => b === 0xff)) {
        const a = range.start + off;
        await link.spiMany([[0x06], [0x02, ...addr(a), ...data]], `the write at 0x${hex(a)}`);
        await waitReady(link, clock, signal, BUSY_LIMIT_MS.program, 0, `writing 0x${hex(a)}`);
      }
      progress("writing", off + data.length, image.length);
    }

    const verify = o.verify ?? true;
    if (verify) {
      progress("verifying", 0, image.length);
      for (let off = 0; off < image.length; off += READ_CHUNK) {
        checkAbort(signal);
        const n = Math.min(READ_CHUNK, image.length - off);
        const a = range.start + off;
        const got = await link.spi([0x0b, ...addr(a), 0x00], n, `the read-back at 0x${hex(a)}`);
        for (let i = 0; i < n; i++) {
          if (got[i] !== image[off + i]) {
            throw new FlashError(
              `Verify failed: the flash holds 0x${hex(got[i], 2)} at image offset ${off + i} (flash address 0x${hex(a + i)}) where the bitstream has 0x${hex(image[off + i], 2)}. Flash again; if it keeps failing the flash may be worn or write-protected.`,
              "verify_mismatch",
              off + i,
            );
          }
        }
        progress("verifying", off + n, image.length);
      }
    }

    // Boot the new image: the bootloader warm-boots and its USB device goes away,
    // sometimes before the write completes (tinyprog ignores that too).
    checkAbort(signal);
    progress("configuring", 0, 1);
    await link.boot();
    progress("configuring", 1, 1);
    progress("done", image.length, image.length);
    const note = range.fromMetadata ? "" : " (the board has no metadata: used the TinyFPGA BX's address map)";
    return {
      bytes: image.length,
      verified: verify,
      elapsedMs: clock.now() - t0,
      device,
      summary: `${image.length} bytes to the user image at 0x${hex(range.start)}${note}${verify ? ", verified" : ""}, booted`,
    };
  } finally {
    await link.close();
  }
}

/** checkImage refuses what is not an iCE40 bitstream (no sync word 7EAA997E near the start, TN1248 / IceStorm). */
function checkImage(image: Uint8Array): void {
  if (image.length === 0) throw new FlashError("The bitstream is empty: build the design first, then flash.", "bad_image");
  if (findSync(image) < 0) {
    throw new FlashError("This file is not an iCE40 bitstream (no sync word 7E AA 99 7E at its start): flash the .bin that icepack writes, not the .asc or .json.", "bad_image");
  }
}

/** checkDevice refuses a bitstream whose CRAM geometry is another iCE40 die than the board's. */
function checkDevice(image: Uint8Array, boardFpga: string): void {
  if (!/8k|4k/i.test(boardFpga)) return;
  const g = geometry(image);
  if (!g || g === BX_GEOMETRY || !ICE40_GEOMETRY[g]) return;
  throw new FlashError(
    `This bitstream is for an ${ICE40_GEOMETRY[g]}, but the board has an ${boardFpga}: build for it (nextpnr-ice40 --lp8k --package cm81) and flash again.`,
    "wrong_device",
  );
}

function findSync(b: Uint8Array): number {
  const lim = Math.min(b.length, 4096);
  for (let i = 0; i + 3 < lim; i++) if (b[i] === 0x7e && b[i + 1] === 0xaa && b[i + 2] === 0x99 && b[i + 3] === 0x7e) return i;
  return -1;
}

/** geometry reads the bank width and height commands that precede the CRAM data ("WxH", width as coded, i.e. minus one). */
function geometry(b: Uint8Array): string | null {
  let i = findSync(b) + 4;
  let w = -1;
  let h = -1;
  while (i < b.length && i < 4096) {
    const cmd = b[i] >> 4;
    const n = b[i] & 0xf;
    let arg = 0;
    for (let k = 1; k <= n; k++) arg = (arg << 8) | (b[i + k] ?? 0);
    if (cmd === 0 && arg === 1) break; // CRAM data follows
    if (cmd === 6) w = arg;
    if (cmd === 7) h = arg;
    i += 1 + n;
  }
  return w >= 0 && h >= 0 ? `${w}x${h}` : null;
}

type Meta = Record<string, unknown>;

/** readMetadata reads and merges the JSON in security register pages 1-3 (tinyprog's TinyMeta), resolving "@0xADDR+LEN" pointers. */
async function readMetadata(link: Link, flashSize: number): Promise<Meta | null> {
  const roots: Meta[] = [];
  for (const page of [1, 2, 3]) {
    const raw = await link.spi([0x48, 0x00, page, 0x00, 0x00], 255, `the read of security page ${page}`);
    const m = parseJson(raw);
    if (m) roots.push(m);
  }
  if (roots.length === 0) return null;
  const merged = roots.reduce((a, b) => merge(a, b) as Meta);
  return (await resolvePointers(link, merged, flashSize, 0)) as Meta;
}

function parseJson(raw: Uint8Array): Meta | null {
  const kept = raw.filter((b) => b !== 0x00 && b !== 0xff);
  if (kept.length === 0) return null;
  try {
    const v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(kept));
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Meta) : null;
  } catch {
    return null;
  }
}

function merge(a: unknown, b: unknown): unknown {
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Meta = { ...(a as Meta) };
    for (const [k, v] of Object.entries(b as Meta)) out[k] = k in out ? merge(out[k], v) : v;
    return out;
  }
  return b;
}

async function resolvePointers(link: Link, v: unknown, flashSize: number, depth: number): Promise<unknown> {
  if (depth > 4) return v;
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const x of v) out.push(await resolvePointers(link, x, flashSize, depth + 1));
    return out;
  }
  if (v && typeof v === "object") {
    const out: Meta = {};
    for (const [k, x] of Object.entries(v as Meta)) out[k] = await resolvePointers(link, x, flashSize, depth + 1);
    return out;
  }
  if (typeof v === "string") {
    const m = /^\s*@\s*0x([0-9a-f]+)\s*\+\s*(\d+)\s*$/i.exec(v);
    if (!m) return v;
    const a = parseInt(m[1], 16);
    const n = parseInt(m[2], 10);
    if (a + n > flashSize || n > 16384) return v;
    const bytes = new Uint8Array(n);
    for (let off = 0; off < n; off += READ_CHUNK) {
      const k = Math.min(READ_CHUNK, n - off);
      bytes.set(await link.spi([0x0b, ...addr(a + off), 0x00], k, `the read of the metadata at 0x${hex(a + off)}`), off);
    }
    const parsed = parseJson(bytes);
    return parsed ? resolvePointers(link, parsed, flashSize, depth + 1) : v;
  }
  return v;
}

/** parseRange reads "0xSTART-0xEND" (tinyprog) or "0xSTART+LENGTH" (the README's example). */
function parseRange(s: unknown): { start: number; end: number } | null {
  if (typeof s !== "string") return null;
  let m = /^\s*0x([0-9a-f]+)\s*-\s*0x([0-9a-f]+)\s*$/i.exec(s);
  if (m) return { start: parseInt(m[1], 16), end: parseInt(m[2], 16) };
  m = /^\s*0x([0-9a-f]+)\s*\+\s*(\d+)\s*$/i.exec(s);
  if (m) return { start: parseInt(m[1], 16), end: parseInt(m[1], 16) + parseInt(m[2], 10) };
  return null;
}

/** userImageRange is where the image may go; it never reaches below the bootloader's end. */
function userImageRange(meta: Meta | null, flashSize: number): { start: number; end: number; fromMetadata: boolean } {
  const addrmap = (meta?.bootmeta as { addrmap?: Record<string, unknown> } | undefined)?.addrmap;
  const user = parseRange(addrmap?.userimage);
  if (!user) return { ...BX_DEFAULT_USERIMAGE, fromMetadata: false };
  const boot = parseRange(addrmap?.bootloader);
  // The end may be written inclusive (0x4FFFF) or exclusive (0x50000): treat an odd end as inclusive.
  if (user.end % 2 === 1) user.end += 1;
  const where = `the board's metadata gives the user image as "${String(addrmap?.userimage)}"`;
  if (user.start === 0 || user.start % SECTOR !== 0 || user.end <= user.start || user.end > flashSize) {
    throw new FlashError(`Refusing to flash: ${where}, which is not a 4 KB aligned area after the bootloader inside the ${flashSize}-byte flash. Use tinyprog, which asks before overwriting the bootloader.`, "unsupported");
  }
  if (boot && boot.end > user.start && boot.start < user.end) {
    throw new FlashError(`Refusing to flash: ${where}, which overlaps the bootloader ("${String(addrmap?.bootloader)}"); writing there would leave the board unprogrammable over USB.`, "unsupported");
  }
  return { start: user.start, end: Math.floor(user.end / SECTOR) * SECTOR, fromMetadata: true };
}

async function waitReady(link: Link, clock: Clock, signal: AbortSignal | undefined, limitMs: number, pollMs: number, what: string): Promise<void> {
  const t0 = clock.now();
  for (;;) {
    checkAbort(signal);
    const st = (await link.spi([0x05], 1, "the status request"))[0];
    if ((st & 1) === 0) return;
    if (clock.now() - t0 > limitMs) {
      throw new FlashError(`The flash stayed busy ${what} for over ${limitMs} ms: unplug the board, plug it back in, press reset and flash again.`, "timeout");
    }
    if (pollMs > 0) await clock.sleep(pollMs, signal);
  }
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError();
}

function addr(a: number): number[] {
  return [(a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff];
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

function hex(n: number, w = 0): string {
  return n.toString(16).toUpperCase().padStart(w, "0");
}

function spaced(h: string): string {
  return h.match(/../g)!.join(" ").toUpperCase();
}

function isNetworkError(err: unknown): boolean {
  return (err as DOMException)?.name === "NetworkError";
}

/** openError says why port.open failed. */
function openError(err: unknown, port: SerialPort): Error {
  if (err instanceof FlashError || (err as Error)?.name === "AbortError") return err as Error;
  const e = err as DOMException;
  if (port.connected === false) {
    return new FlashError("The TinyFPGA BX is no longer plugged in: plug it in, press its reset button, then click Flash and choose it again.", "unplugged");
  }
  if (e?.name === "InvalidStateError") {
    return new FlashError("The TinyFPGA BX's serial port is already open (another flash still running, or a serial monitor in this page): close it and flash again.", "claim_failed");
  }
  return new FlashError(
    `Could not open the TinyFPGA BX's serial port (${e?.message ?? String(err)}): another program may hold it (a serial monitor, another browser tab, or Linux's ModemManager); close it, press the board's reset button and flash again.`,
    "claim_failed",
  );
}

/** frame builds one Access SPI request: 01h, write length, read length (16-bit little endian), the bytes. */
function frame(w: number[] | Uint8Array, rlen: number): Uint8Array {
  const f = new Uint8Array(5 + w.length);
  f[0] = 0x01;
  f[1] = w.length & 0xff;
  f[2] = w.length >> 8;
  f[3] = rlen & 0xff;
  f[4] = rlen >> 8;
  f.set(w, 5);
  return f;
}

/** Link is the open port: framed writes, exact reads, every wait bounded by the timeout and the signal. */
class Link {
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  private buf = new Uint8Array(0);
  private pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  private opened = false;

  constructor(
    private port: SerialPort,
    private clock: Clock,
    private signal: AbortSignal | undefined,
    private timeoutMs: number,
  ) {}

  async open(): Promise<void> {
    // CDC-ACM ignores the baud rate; the buffer holds a few answers.
    const opening = this.port.open({ baudRate: 115200, bufferSize: 4096 }).catch((err: unknown) => {
      throw openError(err, this.port);
    });
    await this.bounded(opening, "opening the port");
    this.opened = true;
    if (!this.port.readable || !this.port.writable) throw new FlashError("The TinyFPGA BX's serial port opened without data streams: unplug the board, plug it back in and flash again.", "device_error");
    this.reader = this.port.readable.getReader();
    this.writer = this.port.writable.getWriter();
  }

  /** spi runs one transaction and returns the rlen bytes read. */
  async spi(w: number[] | Uint8Array, rlen: number, what: string): Promise<Uint8Array> {
    await this.write(frame(w, rlen), what);
    return rlen > 0 ? this.read(rlen, what) : new Uint8Array(0);
  }

  /** spiMany sends several transactions that read nothing in one USB write (e.g. write enable + program). */
  async spiMany(ws: (number[] | Uint8Array)[], what: string): Promise<void> {
    const frames = ws.map((w) => frame(w, 0));
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let off = 0;
    for (const f of frames) {
      all.set(f, off);
      off += f.length;
    }
    await this.write(all, what);
  }

  /** boot sends 00h; the device may vanish before acknowledging, which is success here. */
  async boot(): Promise<void> {
    try {
      await this.write(new Uint8Array([0x00]), "the boot command");
    } catch (err) {
      if (err instanceof FlashError && (err.code === "unplugged" || err.code === "timeout")) return;
      throw err;
    }
  }

  private async write(bytes: Uint8Array, what: string): Promise<void> {
    checkAbort(this.signal);
    await this.bounded(this.writer!.write(bytes), what);
  }

  private async read(n: number, what: string): Promise<Uint8Array> {
    while (this.buf.length < n) {
      checkAbort(this.signal);
      if (!this.pending) this.pending = this.reader!.read();
      const r = await this.bounded(this.pending, what);
      this.pending = null;
      if (r.done) throw new FlashError(`The TinyFPGA BX's serial port closed during ${what}: plug the board back in, press reset and flash again.`, "unplugged");
      const next = new Uint8Array(this.buf.length + r.value.length);
      next.set(this.buf);
      next.set(r.value, this.buf.length);
      this.buf = next;
    }
    const out = this.buf.slice(0, n);
    this.buf = this.buf.slice(n);
    return out;
  }

  /**
   * bounded waits for p, the timeout and the signal. p first gets some
   * microtask turns to settle, so an answer already there never starts a
   * timer; with a virtual clock that keeps time from jumping by the timeout
   * on every call.
   */
  private async bounded<T>(p: Promise<T>, what: string): Promise<T> {
    const q = p.catch((err) => {
      throw this.mapError(err, what);
    });
    return deadline(q, {
      clock: this.clock,
      timeoutMs: this.timeoutMs,
      signal: this.signal,
      settleTurns: SETTLE_TURNS,
      timeout: () => new FlashError(`The TinyFPGA BX stopped answering (nothing for ${what} within ${this.timeoutMs} ms): press its reset button to restart the bootloader and flash again.`, "timeout"),
      aborted: abortError,
    });
  }

  private mapError(err: unknown, what: string): Error {
    if (err instanceof FlashError || (err as Error)?.name === "AbortError") return err as Error;
    if (isNetworkError(err)) return new FlashError(`The TinyFPGA BX was unplugged during ${what}: plug it back in, press its reset button and flash again (the bootloader was not touched).`, "unplugged");
    const e = err as Error;
    return new FlashError(`The serial port failed during ${what}: ${e?.message ?? String(err)}. Unplug the board, plug it back in and flash again.`, "device_error");
  }

  /** close releases the streams and closes the port; failures here (a vanished device) do not matter any more. */
  async close(): Promise<void> {
    const settle = async (p: Promise<unknown> | undefined) => {
      if (!p) return;
      const q = p.catch(() => {});
      let done = false;
      void q.then(() => (done = true));
      for (let i = 0; i < SETTLE_TURNS && !done; i++) await Promise.resolve();
      // A real port takes a moment to close; wait for it, but not forever.
      if (!done) await Promise.race([q, this.clock.sleep(1000).catch(() => {})]);
    };
    try {
      await settle(this.reader?.cancel());
      this.reader?.releaseLock();
    } catch {
      // the stream errored: nothing to release
    }
    try {
      this.writer?.releaseLock();
    } catch {
      // ditto
    }
    this.reader = null;
    this.writer = null;
    if (this.opened) await settle(this.port.close());
    this.opened = false;
  }
}
