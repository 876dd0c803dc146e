// A simulated TinyFPGA BX in its bootloader: the USB CDC-ACM serial port
// (1d50:6130) of the TinyFPGA USB Bootloader, its serial-to-SPI bridge, and
// the board's SPI flash, an Adesto AT25SF081 (8 Mbit). Written from the
// bootloader's protocol description (tinyfpga/TinyFPGA-Bootloader README,
// "Protocol" and "FPGA Board Metadata"; the bridge's behaviour as its RTL
// common/usb_spi_bridge_ep.v describes it) and the AT25SF081 datasheet
// (Adesto DS-25SF081-045), not from any driver. Section numbers (§) in the
// comments are the ones the bootloader README's command table gives.
//
// The bridge reads host bytes one at a time (usb_spi_bridge_ep.v, CMD_IDLE):
//   0x00                      boot: warm-boot into the user image (the USB device goes away)
//   0x01 wl wh rl rh d0..dn   one SPI transaction, chip select low throughout: shift out the
//                             (wh<<8|wl) write bytes, then shift in (rh<<8|rl) bytes (MOSI low)
//                             and send them to the host; no answer at all when the read length is 0
//   0x80..0xFF                test pin control (bit 6 value, bit 5 enable, bits 4:0 pin); no answer
//   anything else             ignored
// USB timing: the bootloader's CDC data endpoints are bulk with
// wMaxPacketSize 32 (common/usb_serial_ctrl_ep.v endpoint descriptors); bus
// time is modelled as full-speed CDC at about 1 ms per 64 bytes in each
// direction, i.e. 0.5 ms per 32-byte packet, every command costing at least
// one OUT packet and every answer at least one IN packet.
import { VirtualClock } from "./clock";
import { SimSerialPort, type SerialDevice } from "./serial";

/** Figures from the AT25SF081 datasheet (DS-25SF081-045G, "Features": typical times). */
export const AT25SF081 = {
  /** Manufacturer 1Fh (Adesto), device 85h 01h (Read Manufacturer and Device ID, 9Fh). */
  jedecId: [0x1f, 0x85, 0x01] as [number, number, number],
  /** 8 Mbit. */
  size: 1 << 20,
  pageSize: 256,
  /** "0.7ms Typical Page Program (256 Bytes) Time". */
  pageProgramMs: 0.7,
  /** "70ms Typical 4-Kbyte Block Erase Time". */
  blockErase4kMs: 70,
  /** "300ms Typical 32-Kbyte Block Erase Time". */
  blockErase32kMs: 300,
  /** "600ms Typical 64-Kbyte Block Erase Time". */
  blockErase64kMs: 600,
  /** Not in the features list: estimated as sixteen 64-Kbyte block erases. */
  chipEraseMs: 16 * 600,
  /** Deep power-down entry and release (tEDPD/tRDPD): a few µs; taken as 3 µs (datasheet AC table not at hand). */
  powerDownUs: 3,
  /** "3 Protected Programmable Security Register Pages" of 256 bytes (pages 1-3, address bits A9:A8). */
  securityPages: 3,
  datasheet: "Adesto AT25SF081 DS-25SF081-045G",
};

/** The bridge shifts a bit per two 48 MHz clocks plus start/end states: about 18 clocks a byte (usb_spi_bridge_ep.v SPI_* states). */
const SPI_BYTE_MS = 18 / 48e6 * 1e3;
/** Bulk packet size (usb_serial_ctrl_ep.v: wMaxPacketSize 32) and the time one takes, as modelled (~1 ms per 64 bytes). */
export const USB_PACKET = 32;
export const USB_PACKET_MS = 0.5;

/** The metadata a real BX carries in its security register pages (as `tinyprog --meta` prints it). */
export function bxMetadata(uuid = "7d41d659-876b-454a-9a91-51e5f157e80c"): { page1: string; page2: string } {
  return {
    page1: JSON.stringify({ boardmeta: { name: "TinyFPGA BX", fpga: "ice40lp8k-cm81", hver: "1.0.0", uuid } }),
    page2: JSON.stringify({
      bootmeta: {
        bootloader: "TinyFPGA USB Bootloader",
        bver: "1.0.1",
        update: "https://tinyfpga.com/update/tinyfpga-bx",
        addrmap: { bootloader: "0x000a0-0x28000", userimage: "0x28000-0x50000", userdata: "0x50000-0x100000" },
      },
    }),
  };
}

/** Where the BX keeps things (bootmeta addrmap above). */
export const BX_BOOTLOADER_END = 0x28000;
export const BX_USERIMAGE = { start: 0x28000, end: 0x50000 };

export interface TinyFpgaBxOptions {
  clock?: VirtualClock;
  /** Security register pages hold the BX metadata (default true); false leaves them erased. */
  metadata?: boolean;
  /** Replaces security register pages 1-3 (strings are written as UTF-8, the rest stays 0xFF). */
  securityPages?: (string | Uint8Array | undefined)[];
  /** Another flash answering 9Fh (a wrong or unknown chip). */
  jedecId?: [number, number, number];
  /** The flash starts in deep power-down, as after the FPGA configured from it (default true). */
  poweredDown?: boolean;
  /** Initial flash contents (default: a bootloader pattern below 0x28000, user data pattern at 0x50000, 0xFF elsewhere). */
  flashContents?: Uint8Array;
  /** After this many SPI transactions the bootloader stops answering (hangs). */
  hangAfter?: number;
  /** Called for every flash log entry, e.g. to unplug the board mid-write from a test. */
  onLog?(entry: string, bx: TinyFpgaBx): void;
  usbVendorId?: number;
  usbProductId?: number;
}

export interface BxFlash {
  memory: Uint8Array;
  /** Security register pages 1-3 (index 0 is page 1). */
  security: Uint8Array[];
  /** Security pages write-locked by their lock bits (LB1-LB3); page 1 on a BX. */
  lockedPages: Set<number>;
  jedecId: [number, number, number];
  size: number;
  poweredDown: boolean;
  /** Status register 1: bit 0 BUSY, bit 1 WEL, bits 2-4 BP0-BP2, bit 5 TB, bit 6 SEC, bit 7 SRP0. */
  status: number;
  log: string[];
}

export interface TinyFpgaBx {
  port: SimSerialPort;
  flash: BxFlash;
  clock: VirtualClock;
  /** True once the host sent the boot command. */
  booted: boolean;
  /** True when the boot found an iCE40 image (sync word 7EAA997E) at the user image address. */
  userImageValid: boolean;
  /** Bus and device activity for the bench. */
  stats: { packetsOut: number; packetsIn: number; transactions: number; spiBytes: number; busyMs: number };
  /** hang makes the bootloader stop answering from now on. */
  hang(): void;
}

/** defaultContents is a BX flash as shipped: a stand-in multiboot header + bootloader below 0x28000, user data at 0x50000. */
function defaultContents(size: number): Uint8Array {
  const m = new Uint8Array(size).fill(0xff);
  let x = 0x2545f491;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 0xff;
  };
  // The bootloader image (0xA0..~0x20000 on a real board) and its multiboot header at 0.
  for (let i = 0; i < 0x21000; i++) m[i] = next();
  m.set([0xff, 0x00, 0x00, 0xff, 0x7e, 0xaa, 0x99, 0x7e], 0xa0);
  // Some user data a demanding user would be sad to lose.
  for (let i = 0x50000; i < 0x52000; i++) m[i] = next();
  return m;
}

/** createTinyFpgaBx builds a TinyFPGA BX sitting in its bootloader, ready to plug into a FakeSerial. */
export function createTinyFpgaBx(o: TinyFpgaBxOptions = {}): TinyFpgaBx {
  const clock = o.clock ?? new VirtualClock();
  const size = AT25SF081.size;
  const memory = o.flashContents ? o.flashContents.slice(0, size) : defaultContents(size);
  if (memory.length < size) {
    const m = new Uint8Array(size).fill(0xff);
    m.set(memory);
    return createTinyFpgaBx({ ...o, flashContents: m });
  }
  const security = [0, 1, 2].map(() => new Uint8Array(256).fill(0xff));
  const pages = o.securityPages ?? (o.metadata === false ? [] : (() => {
    const md = bxMetadata();
    return [md.page1, md.page2];
  })());
  pages.forEach((p, i) => {
    if (p === undefined || i > 2) return;
    const bytes = typeof p === "string" ? new TextEncoder().encode(p) : p;
    security[i].set(bytes.subarray(0, 256));
  });

  const flash: BxFlash = {
    memory,
    security,
    lockedPages: new Set([1]),
    jedecId: o.jedecId ?? AT25SF081.jedecId,
    size,
    poweredDown: o.poweredDown ?? true,
    status: 0,
    log: [],
  };
  let busyUntil = 0;
  let hung = false;
  const bx: TinyFpgaBx = {
    port: undefined as unknown as SimSerialPort,
    flash,
    clock,
    booted: false,
    userImageValid: false,
    stats: { packetsOut: 0, packetsIn: 0, transactions: 0, spiBytes: 0, busyMs: 0 },
    hang() {
      hung = true;
    },
  };
  const log = (e: string) => {
    flash.log.push(e);
    o.onLog?.(e, bx);
  };

  // --- The AT25SF081 -------------------------------------------------------

  /** status reads BUSY/WEL as of now: an operation ends at busyUntil and then clears WEL (status register byte 1). */
  const status = (): number => {
    if (flash.status & 1 && clock.now() >= busyUntil) flash.status &= ~0x03;
    return flash.status;
  };
  const busy = () => (status() & 1) !== 0;
  const startBusy = (ms: number) => {
    flash.status |= 0x01;
    busyUntil = clock.now() + ms;
    bx.stats.busyMs += ms;
  };
  /** protectedRange is what BP2:0/TB/SEC lock (Table "Memory Protection"): modelled only for "nothing" (all zero) and "all" (BP all ones). */
  const isProtected = (): boolean => (flash.status & 0x1c) === 0x1c;
  const addr24 = (w: Uint8Array) => ((w[1] << 16) | (w[2] << 8) | w[3]) >>> 0;

  /**
   * transaction runs one chip-select-low session: the flash sees the write
   * bytes followed by rlen bytes of 0 on MOSI and the host gets what it
   * shifted out during those rlen bytes. Write-type commands act when chip
   * select rises, as SPI NOR flashes do (the command is taken when chip
   * select rises on a byte boundary).
   */
  function transaction(w: Uint8Array, rlen: number): Uint8Array {
    const out = new Uint8Array(rlen).fill(0xff);
    bx.stats.transactions++;
    bx.stats.spiBytes += w.length + rlen;
    clock.advance((w.length + rlen) * SPI_BYTE_MS);
    if (w.length === 0) return out;
    const op = w[0];
    if (flash.poweredDown) {
      // Deep power-down: only Resume (ABh) is recognised; SO stays high-impedance (reads 0xFF through the pull-up).
      if (op === 0xab) {
        flash.poweredDown = false;
        clock.advance(AT25SF081.powerDownUs / 1000);
        log("resume from deep power-down");
      } else {
        log(`ignored 0x${hex(op)} in deep power-down`);
      }
      return out;
    }
    if (busy() && op !== 0x05 && op !== 0x35) {
      // While BUSY only the status registers answer.
      log(`ignored 0x${hex(op)} while busy`);
      return out;
    }
    switch (op) {
      case 0x9f: // Read Manufacturer and Device ID (§11.1)
        for (let i = 0; i < rlen; i++) out[i] = w.length + i - 1 < 3 && w.length + i >= 1 ? flash.jedecId[w.length + i - 1] : 0xff;
        log("read id");
        break;
      case 0x05: // Read Status Register byte 1, output continuously (§10.1)
        out.fill(status());
        break;
      case 0x35: // Read Status Register byte 2: SUS, CMP, LB3-LB1, QE, SRP1; LB bits for the locked pages
        out.fill([...flash.lockedPages].reduce((s, p) => s | (1 << (2 + p)), 0));
        break;
      case 0x06: // Write Enable (§8.1)
        flash.status |= 0x02;
        break;
      case 0x04: // Write Disable
        flash.status &= ~0x02;
        break;
      case 0x03: // Read Array (§6.1): 3 address bytes, then data; wraps at the end of memory
      case 0x0b: {
        // Read Array, fast: 3 address bytes and one dummy byte
        const lead = op === 0x03 ? 4 : 5;
        if (w.length < 4) break;
        const a = addr24(w);
        for (let i = 0; i < rlen; i++) {
          const pos = w.length + i - lead;
          if (pos >= 0) out[i] = flash.memory[(a + pos) % size];
        }
        log(`read 0x${hex(a)}+${rlen}`);
        break;
      }
      case 0x20: // Block Erase 4 KB (§7.2)
      case 0x52: // 32 KB
      case 0xd8: {
        // 64 KB
        if (w.length !== 4 || !(flash.status & 0x02)) {
          log(`erase 0x${hex(op)} refused (${w.length !== 4 ? "bad length" : "WEL not set"})`);
          break;
        }
        const bs = op === 0x20 ? 4096 : op === 0x52 ? 32768 : 65536;
        const a = addr24(w) % size & ~(bs - 1);
        if (isProtected()) {
          flash.status &= ~0x02;
          log(`erase 0x${hex(a)} refused (protected)`);
          break;
        }
        flash.memory.fill(0xff, a, a + bs);
        startBusy(op === 0x20 ? AT25SF081.blockErase4kMs : op === 0x52 ? AT25SF081.blockErase32kMs : AT25SF081.blockErase64kMs);
        log(`erase${bs / 1024}k 0x${hex(a)}`);
        break;
      }
      case 0x60: // Chip Erase
      case 0xc7:
        if (w.length !== 1 || !(flash.status & 0x02) || isProtected()) break;
        flash.memory.fill(0xff);
        startBusy(AT25SF081.chipEraseMs);
        log("chip erase");
        break;
      case 0x02: {
        // Byte/Page Program (§7.1): 1-256 bytes; the address wraps within the 256-byte page; only the last 256 bytes sent count
        if (w.length < 5 || !(flash.status & 0x02)) {
          log(`program refused (${w.length < 5 ? "no data" : "WEL not set"})`);
          break;
        }
        const a = addr24(w) % size;
        let data = w.subarray(4);
        let start = a & 0xff;
        if (data.length > 256) {
          start = (start + data.length - 256) & 0xff;
          data = data.subarray(data.length - 256);
        }
        if (isProtected()) {
          flash.status &= ~0x02;
          log(`program 0x${hex(a)} refused (protected)`);
          break;
        }
        const page = a & ~0xff;
        for (let i = 0; i < data.length; i++) {
          const at = page | ((start + i) & 0xff);
          flash.memory[at] &= data[i]; // programming only clears bits
        }
        startBusy(AT25SF081.pageProgramMs);
        log(`program 0x${hex(a)}+${w.length - 4}`);
        break;
      }
      case 0xb9: // Deep Power-Down
        if (w.length === 1) {
          flash.poweredDown = true;
          clock.advance(AT25SF081.powerDownUs / 1000);
          log("deep power-down");
        }
        break;
      case 0xab: // Resume from deep power-down (§11.4): already awake, nothing to do
        break;
      case 0x48: {
        // Read Security Registers: 3 address bytes (A9:A8 page 1-3, A7:A0 byte), one dummy byte; wraps in the page
        if (w.length < 4) break;
        const a = addr24(w);
        const p = (a >> 8) & 0x3;
        for (let i = 0; i < rlen; i++) {
          const pos = w.length + i - 5;
          if (pos >= 0 && p >= 1) out[i] = flash.security[p - 1][(a + pos) & 0xff];
        }
        log(`read security page ${p}`);
        break;
      }
      case 0x44: // Erase Security Register page
      case 0x42: {
        // Program Security Register page (up to 256 bytes, wraps in the page)
        if (w.length < 4 || !(flash.status & 0x02)) break;
        const a = addr24(w);
        const p = (a >> 8) & 0x3;
        if (p < 1 || flash.lockedPages.has(p)) {
          flash.status &= ~0x02;
          log(`security page ${p} ${op === 0x44 ? "erase" : "program"} refused (locked)`);
          break;
        }
        if (op === 0x44) {
          flash.security[p - 1].fill(0xff);
          startBusy(AT25SF081.blockErase4kMs);
        } else {
          const data = w.subarray(4);
          for (let i = 0; i < data.length; i++) flash.security[p - 1][(a + i) & 0xff] &= data[i];
          startBusy(AT25SF081.pageProgramMs);
        }
        log(`security page ${p} ${op === 0x44 ? "erase" : "program"}`);
        break;
      }
      default:
        log(`unknown command 0x${hex(op)}`);
    }
    return out;
  }

  // --- The bootloader's bridge ---------------------------------------------

  type St = { k: "idle" } | { k: "hdr"; got: number[] } | { k: "data"; wl: number; rl: number; buf: Uint8Array; n: number } | { k: "booted" };
  let st: St = { k: "idle" };
  let inQueue: Uint8Array[] = [];

  /** sendIn hands the host read data in bulk IN packets. */
  const sendIn = (port: SimSerialPort, data: Uint8Array) => {
    for (let off = 0; off < data.length; off += USB_PACKET) {
      clock.advance(USB_PACKET_MS);
      bx.stats.packetsIn++;
      port.deliver(data.subarray(off, off + USB_PACKET));
      if (!port.connected) return;
    }
  };

  const feed = (port: SimSerialPort, b: number) => {
    switch (st.k) {
      case "booted":
        return;
      case "idle":
        if (b === 0x00) {
          st = { k: "booted" };
          bx.booted = true;
          const img = flash.memory.subarray(BX_USERIMAGE.start, BX_USERIMAGE.start + 4096);
          bx.userImageValid = findSync(img) >= 0;
          log(`boot user image (${bx.userImageValid ? "valid" : "no iCE40 sync word"})`);
          // SB_WARMBOOT reconfigures the FPGA: the bootloader's USB device vanishes a moment later.
          queueMicrotask(() => port.leaveBus());
        } else if (b === 0x01) {
          st = { k: "hdr", got: [] };
        } else if (b & 0x80) {
          log(`pin ${b & 0x1f} ${b & 0x20 ? "enabled" : "disabled"} ${b & 0x40 ? 1 : 0}`);
        }
        return;
      case "hdr":
        st.got.push(b);
        if (st.got.length === 4) {
          const wl = st.got[0] | (st.got[1] << 8);
          const rl = st.got[2] | (st.got[3] << 8);
          st = { k: "data", wl, rl, buf: new Uint8Array(wl), n: 0 };
          if (wl === 0) finish(port);
        }
        return;
      case "data":
        st.buf[st.n++] = b;
        if (st.n === st.wl) finish(port);
        return;
    }
  };

  const finish = (port: SimSerialPort) => {
    if (st.k !== "data") return;
    const { buf, rl } = st;
    st = { k: "idle" };
    if (o.hangAfter !== undefined && bx.stats.transactions >= o.hangAfter) hung = true;
    if (hung) return;
    const r = transaction(buf, rl);
    if (rl > 0) inQueue.push(r);
    void port;
  };

  const device: SerialDevice = {
    receive(bytes, port) {
      // The host's write goes out as bulk OUT packets; the bridge consumes each as it lands.
      for (let off = 0; off < bytes.length; off += USB_PACKET) {
        if (!port.connected) return;
        clock.advance(USB_PACKET_MS);
        bx.stats.packetsOut++;
        const pkt = bytes.subarray(off, off + USB_PACKET);
        for (const b of pkt) {
          if (hung) break;
          feed(port, b);
          if (!port.connected) return;
        }
        // Answers go back as soon as they are ready, between OUT packets.
        const q = inQueue;
        inQueue = [];
        for (const r of q) sendIn(port, r);
      }
    },
    opened(open) {
      if (open) {
        st = st.k === "booted" ? st : { k: "idle" };
        inQueue = [];
      }
    },
  };
  bx.port = new SimSerialPort({ usbVendorId: o.usbVendorId ?? 0x1d50, usbProductId: o.usbProductId ?? 0x6130 }, device);
  return bx;
}

/** findSync finds the iCE40 sync word 7E AA 99 7E (TN1248, "SPI configuration": synchronization pattern). */
function findSync(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) if (b[i] === 0x7e && b[i + 1] === 0xaa && b[i + 2] === 0x99 && b[i + 3] === 0x7e) return i;
  return -1;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}
