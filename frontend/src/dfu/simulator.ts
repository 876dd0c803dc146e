// A USB DFU 1.1 device simulator, written from the specification's state
// machines (DFU 1.1 appendix A.1 run-time, A.2 DFU mode) rather than from
// the driver. It exposes the USBDevice surface WebUSB gives a page, so the
// same object serves the unit tests and the end-to-end test (injected as
// navigator.usb), and implements SimUsbDevice so it can sit on a FakeUSB bus:
// a run-time device that detaches re-enumerates on that bus as a DFU-mode
// device, with Chromium's permission rule (a device keeps the page's grant
// only when vendor id, product id and serial number stay the same).
import type { Clock } from "../flash/types";
import { type FakeUSB, inResult, networkError, outResult, type SimUsbDevice } from "../flash/sim/usb";
import { Attr, DFU_CLASS, DFU_SUBCLASS, FUNCTIONAL_DESCRIPTOR, PROTOCOL_DFU, PROTOCOL_RUNTIME, Request, State, Status } from "./protocol";

export interface SimulatorOptions {
  /** wTransferSize; default 256. */
  transferSize?: number;
  /** Firmware capacity in bytes; a download past it fails with errADDRESS. Default 1 MiB. */
  capacity?: number;
  /** bitManifestationTolerant; default false. */
  manifestationTolerant?: boolean;
  /** bitCanDnload; default true. */
  canDownload?: boolean;
  /** bitWillDetach; default false. */
  willDetach?: boolean;
  /** bwPollTimeout reported while a block is written; default 5 ms. */
  pollTimeoutMs?: number;
  /** GETSTATUS rounds that report dfuDNBUSY for each block; default 1. */
  busyPolls?: number;
  /** bwPollTimeout reported during manifestation; default 10 ms. */
  manifestPollMs?: number;
  /** After manifestation a non-tolerant device drops off the bus by itself. */
  resetsAfterManifest?: boolean;
  /** Fail the write of this block with failStatus. */
  failAtBlock?: number;
  failStatus?: number;
  /** Fail manifestation with this status (e.g. errVERIFY). */
  manifestFailStatus?: number;
  /** Initial state, e.g. dfuERROR or dfuDNLOAD-IDLE left over from an earlier session. */
  initialState?: number;
  initialStatus?: number;
  productName?: string;
  vendorId?: number;
  productId?: number;
  serialNumber?: string;
  /** Time source for bwPollTimeout and wDetachTimeOut; default performance.now (pass the VirtualClock the driver uses). */
  clock?: Pick<Clock, "now">;
  /**
   * Start as the application's run-time interface (protocol 0x01, appIDLE):
   * DFU_DETACH then a USB reset within wTimeout (or, with willDetach, the
   * device itself) re-enumerates it as a DFU-mode device, found in
   * `reenumerated` and, when usb is given, plugged into that bus.
   */
  runtime?: boolean;
  /** The DFU-mode product id after detach; default productId (then a page keeps its grant when the serial number is set). */
  dfuProductId?: number;
  /** The bus to re-enumerate on. */
  usb?: FakeUSB;
  /** wDetachTimeOut in the functional descriptor, ms; default 1000. */
  detachTimeoutMs?: number;
  /** bitCanUpload: DFU_UPLOAD returns the manifested image of the selected alternate; default false. */
  canUpload?: boolean;
  /** Flip bit 0 of the byte at this offset when the image is committed (memory that did not keep what was written). */
  corruptAt?: number;
  /** Names of the DFU interface's alternate settings (iInterface strings); default ["iCE40 SRAM"]. */
  alts?: string[];
  /** An ST DfuSe bootloader (bcdDFUVersion 0x011A, STM32 ids and alternate names; UM0424, AN3156). */
  dfuse?: boolean;
  /** bcdDFUVersion; default 0x0110 (0x011A with dfuse). */
  dfuVersion?: number;
  /** The after+1-th request of this kind (0-based count after) never completes: a hung device. */
  hang?: { request: "DNLOAD" | "GETSTATUS" | "UPLOAD" | "DETACH"; after?: number };
}

/**
 * The STM32 system-memory DfuSe bootloader as ST documents it: ids 0483:DF11
 * (UM0424 §2, AN3156 §2), functional descriptor bmAttributes 0x0B
 * (bitCanDnload, bitCanUpload, bitWillDetach), wDetachTimeOut 255 ms,
 * wTransferSize 2048 and bcdDFUVersion 0x011A (AN3156 §3, DFU interface
 * descriptors), and alternate settings named by the "@name/address/sectors"
 * string format (UM0424 §10.3 "DFU mode descriptor set").
 */
export const DFUSE_DEFAULTS: SimulatorOptions = {
  vendorId: 0x0483,
  productId: 0xdf11,
  productName: "STM32  BOOTLOADER",
  transferSize: 2048,
  canUpload: true,
  willDetach: true,
  manifestationTolerant: false,
  detachTimeoutMs: 255,
  dfuVersion: 0x011a,
  alts: ["@Internal Flash  /0x08000000/064*0002Kg", "@Option Bytes  /0x1FFFF800/01*016 e"],
};

type Setup = USBControlTransferParameters;

const SIM_DEFAULTS = {
  transferSize: 256,
  capacity: 1 << 20,
  manifestationTolerant: false,
  canDownload: true,
  canUpload: false,
  willDetach: false,
  pollTimeoutMs: 5,
  busyPolls: 1,
  manifestPollMs: 10,
  resetsAfterManifest: false,
  failStatus: Status.errWRITE as number,
  productName: "DFU simulator",
  vendorId: 0x1209,
  productId: 0x5af0,
  serialNumber: "SIM0001",
  runtime: false,
  detachTimeoutMs: 1000,
  dfuVersion: 0x0110,
  alts: ["iCE40 SRAM"],
};

/** dfuseRegion reads the first sector group of a DfuSe alternate name, e.g. "@Internal Flash  /0x08000000/064*0002Kg" (64 pages of 2 KiB). */
export function dfuseRegion(name: string): { base: number; pageSize: number; memory: Uint8Array } | null {
  const m = /\/0x([0-9a-f]+)\/(\d+)\*(\d+)\s*([ KM]?)/i.exec(name);
  if (!m) return null;
  const unit = m[4].toUpperCase() === "K" ? 1024 : m[4].toUpperCase() === "M" ? 1 << 20 : 1;
  const pageSize = Number(m[3]) * unit;
  return { base: parseInt(m[1], 16), pageSize, memory: new Uint8Array(Number(m[2]) * pageSize).fill(0xff) };
}

export class DfuSimulator implements SimUsbDevice {
  // --- USBDevice surface ---
  readonly usbVersionMajor = 2;
  readonly usbVersionMinor = 0;
  readonly usbVersionSubminor = 0;
  readonly deviceClass = 0;
  readonly deviceSubclass = 0;
  readonly deviceProtocol = 0;
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor = 1;
  readonly deviceVersionMinor = 0;
  readonly deviceVersionSubminor = 0;
  readonly manufacturerName = "Gatewave";
  readonly productName: string;
  readonly serialNumber: string;
  readonly configurations: USBConfiguration[];
  configuration: USBConfiguration | null = null;
  opened = false;

  // --- observable device state, for assertions ---
  state: number;
  status: number;
  /** Every byte accepted by DNLOAD, in order. */
  firmware = new Uint8Array(0);
  /** The image that manifestation committed, or null. */
  manifested: Uint8Array | null = null;
  blocks: number[] = [];
  /** Requests that arrived while bwPollTimeout had not elapsed. */
  earlyPolls = 0;
  resets = 0;
  /** Every control request, e.g. "GETSTATUS", "DNLOAD(3, 256)". */
  log: string[] = [];
  /** True once the device left the bus (self reset, unplug, re-enumeration); every transfer fails after. */
  gone = false;
  /** The DFU-mode device this run-time device re-enumerated as, after DETACH. */
  reenumerated: DfuSimulator | null = null;
  /** The run-time device a DFU-mode device (one that came from run-time, on a bus) became after the USB reset that ends manifestation. */
  application: DfuSimulator | null = null;
  /** The run-time options this DFU-mode device was detached from. */
  private appOpts: SimulatorOptions | null = null;
  /** The selected alternate setting. */
  alt = 0;
  /** Committed images by alternate setting (what DFU_UPLOAD returns). */
  images = new Map<number, Uint8Array>();

  private o: SimulatorOptions & typeof SIM_DEFAULTS;
  private claimed = false;
  private busyUntil = 0;
  private busyLeft = 0;
  private pendingBlock: { n: number; data: Uint8Array } | null = null;
  private manifestStep: "none" | "sync" | "busy" | "done" = "none";
  private attributes: number;
  private clock: Pick<Clock, "now">;
  private detachUntil = 0;
  private uploadOffset = 0;
  private hangCount = 0;
  private readonly opts: SimulatorOptions;

  constructor(opts: SimulatorOptions = {}) {
    this.opts = opts;
    this.o = { ...SIM_DEFAULTS, ...(opts.dfuse ? DFUSE_DEFAULTS : {}), ...opts } as SimulatorOptions & typeof SIM_DEFAULTS;
    this.vendorId = this.o.vendorId;
    this.productId = this.o.productId;
    this.productName = this.o.productName;
    this.serialNumber = this.o.serialNumber;
    this.clock = opts.clock ?? { now: () => (typeof performance !== "undefined" ? performance.now() : Date.now()) };
    this.state = opts.initialState ?? (this.o.runtime ? State.appIDLE : State.dfuIDLE);
    this.status = opts.initialStatus ?? Status.OK;
    // DFU 1.1 §4.1.3 table 4.2, bmAttributes.
    this.attributes =
      (this.o.canDownload ? Attr.canDnload : 0) |
      (this.o.canUpload ? Attr.canUpload : 0) |
      (this.o.manifestationTolerant ? Attr.manifestationTolerant : 0) |
      (this.o.willDetach ? Attr.willDetach : 0);
    const protocol = this.o.runtime ? PROTOCOL_RUNTIME : PROTOCOL_DFU;
    const names = this.o.runtime ? ["DFU run-time"] : this.o.alts;
    const alternates = names.map((name, i) => ({ alternateSetting: i, interfaceClass: DFU_CLASS, interfaceSubclass: DFU_SUBCLASS, interfaceProtocol: protocol, interfaceName: name, endpoints: [] }));
    const intf = { interfaceNumber: 0, alternate: alternates[0], alternates, claimed: false };
    this.configurations = [{ configurationValue: 1, configurationName: this.o.runtime ? "Application" : "DFU", interfaces: [intf] }] as unknown as USBConfiguration[];
    if (this.o.dfuse && !this.o.runtime) this.dfuseMemory = dfuseRegion(names[0]);
  }

  private now(): number {
    return this.clock.now();
  }

  /** The bus unplugged the device (FakeUSB.unplug): every later call rejects with a NetworkError. */
  detachFromBus(): void {
    this.gone = true;
    this.opened = false;
    this.claimed = false;
  }

  // --- lifecycle ---
  async open(): Promise<void> {
    if (this.gone) throw networkError();
    this.opened = true;
  }
  async close(): Promise<void> {
    this.opened = false;
    this.claimed = false;
  }
  async forget(): Promise<void> {}
  async selectConfiguration(v: number): Promise<void> {
    this.requireOpen();
    const c = this.configurations.find((c) => c.configurationValue === v);
    if (!c) throw new Error("NotFoundError: no such configuration");
    this.configuration = c;
  }
  async claimInterface(n: number): Promise<void> {
    this.requireOpen();
    if (!this.configuration) throw new Error("InvalidStateError: no configuration selected");
    if (n !== 0) throw new Error("NotFoundError: no such interface");
    this.claimed = true;
  }
  async releaseInterface(): Promise<void> {
    this.claimed = false;
  }
  async selectAlternateInterface(n: number, alt: number): Promise<void> {
    this.requireOpen();
    const intf = this.configurations[0].interfaces[0];
    if (n !== 0 || !intf.alternates.some((a) => a.alternateSetting === alt)) throw new DOMException("The alternate setting was not found.", "NotFoundError");
    // SET_INTERFACE (USB 2.0 §9.4.10) is only meaningful while idle.
    this.alt = alt;
    this.log.push(`SETALT ${alt}`);
  }
  async clearHalt(): Promise<void> {}
  async transferIn(): Promise<USBInTransferResult> {
    throw new Error("the DFU simulator has no bulk endpoints");
  }
  async transferOut(): Promise<USBOutTransferResult> {
    throw new Error("the DFU simulator has no bulk endpoints");
  }
  async isochronousTransferIn(): Promise<USBIsochronousInTransferResult> {
    throw new Error("unsupported");
  }
  async isochronousTransferOut(): Promise<USBIsochronousOutTransferResult> {
    throw new Error("unsupported");
  }

  /** USB reset: leaves dfuMANIFEST-WAIT-RESET (committing the image) or any other state. */
  async reset(): Promise<void> {
    if (this.gone) throw networkError();
    this.resets++;
    this.log.push("RESET");
    if (this.o.runtime) {
      // DFU 1.1 appendix A.1: a USB reset in appDETACH before wTimeout
      // elapses enters DFU mode (the device re-enumerates); after it, or in
      // appIDLE, the application simply restarts.
      if (this.state === State.appDETACH && this.now() <= this.detachUntil) {
        queueMicrotask(() => this.reenumerate());
      } else {
        this.state = State.appIDLE;
      }
      return;
    }
    const manifested = this.state === State.dfuMANIFEST_WAIT_RESET;
    if (manifested) this.commit();
    // DFU 1.1 appendix A.2, dfuMANIFEST-WAIT-RESET: a USB reset with valid
    // firmware starts the application, which enumerates in run-time mode.
    if (manifested && this.appOpts && this.opts.usb) {
      const app = new DfuSimulator(this.appOpts);
      app.images = this.images;
      this.application = app;
      queueMicrotask(() => this.moveTo(app));
      return;
    }
    this.state = State.dfuIDLE;
    this.status = Status.OK;
    this.manifestStep = "none";
  }

  private requireOpen() {
    if (this.gone) throw networkError();
    if (!this.opened) {
      const e = new Error("The device must be opened first");
      e.name = "InvalidStateError";
      throw e;
    }
  }

  // --- control transfers ---
  async controlTransferIn(setup: Setup, length: number): Promise<USBInTransferResult> {
    this.requireOpen();
    if (setup.requestType === "standard" && setup.request === 0x06) return inResult("ok", this.descriptor(setup.value).subarray(0, length));
    if (!this.isDfu(setup)) return inResult("stall");
    this.advanceTime();
    if (this.o.runtime) return this.runtimeIn(setup);
    switch (setup.request) {
      case Request.GETSTATUS:
        this.log.push("GETSTATUS");
        if (this.hangs("GETSTATUS")) return new Promise(() => {});
        return this.getStatus();
      case Request.GETSTATE:
        this.log.push("GETSTATE");
        if (this.state === State.dfuDNBUSY || this.state === State.dfuMANIFEST || this.state === State.dfuMANIFEST_WAIT_RESET) return this.stall();
        return inResult("ok", Uint8Array.of(this.state));
      case Request.UPLOAD:
        this.log.push(`UPLOAD(${setup.value}, ${length})`);
        if (this.hangs("UPLOAD")) return new Promise(() => {});
        return this.upload(length);
      default:
        this.log.push("IN?" + setup.request);
        return this.stall();
    }
  }

  async controlTransferOut(setup: Setup, data?: BufferSource): Promise<USBOutTransferResult> {
    this.requireOpen();
    if (!this.isDfu(setup)) return outResult("stall", 0);
    this.advanceTime();
    const bytes = data ? new Uint8Array(ArrayBuffer.isView(data) ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data.slice(0)) : new Uint8Array(0);
    if (this.o.runtime) return this.runtimeOut(setup);
    switch (setup.request) {
      case Request.DNLOAD:
        this.log.push(`DNLOAD(${setup.value}, ${bytes.byteLength})`);
        if (this.hangs("DNLOAD")) return new Promise(() => {});
        return this.dnload(setup.value, bytes);
      case Request.CLRSTATUS:
        this.log.push("CLRSTATUS");
        if (this.state !== State.dfuERROR) return this.stallOut();
        this.state = State.dfuIDLE;
        this.status = Status.OK;
        return outResult("ok", 0);
      case Request.ABORT:
        this.log.push("ABORT");
        if (this.state === State.dfuIDLE || this.state === State.dfuDNLOAD_SYNC || this.state === State.dfuDNLOAD_IDLE || this.state === State.dfuMANIFEST_SYNC || this.state === State.dfuUPLOAD_IDLE) {
          this.state = State.dfuIDLE;
          this.pendingBlock = null;
          this.manifestStep = "none";
          return outResult("ok", 0);
        }
        return this.stallOut();
      default:
        this.log.push("OUT?" + setup.request);
        return this.stallOut();
    }
  }

  /** hangs counts requests of a kind and says whether this one never completes (option hang). */
  private hangs(kind: string): boolean {
    const h = this.o.hang;
    if (!h || h.request !== kind) return false;
    return this.hangCount++ >= (h.after ?? 0);
  }

  /** Run-time requests (DFU 1.1 appendix A.1, appIDLE and appDETACH). */
  private runtimeIn(setup: Setup): USBInTransferResult {
    this.expireDetach();
    switch (setup.request) {
      case Request.GETSTATUS:
        this.log.push("GETSTATUS");
        return this.statusReply(0);
      case Request.GETSTATE:
        this.log.push("GETSTATE");
        return inResult("ok", Uint8Array.of(this.state));
      default:
        // Any other request stalls; the state stays (appDETACH → appIDLE, table A.1).
        this.log.push("IN?" + setup.request);
        if (this.state === State.appDETACH) this.state = State.appIDLE;
        return inResult("stall");
    }
  }

  private runtimeOut(setup: Setup): USBOutTransferResult | Promise<USBOutTransferResult> {
    this.expireDetach();
    if (setup.request === Request.DETACH && this.state === State.appIDLE) {
      this.log.push(`DETACH(${setup.value})`);
      if (this.hangs("DETACH")) return new Promise(() => {});
      // wValue is wTimeout: how long the device waits for the USB reset (§5.1).
      this.state = State.appDETACH;
      this.detachUntil = this.now() + Math.min(setup.value, this.o.detachTimeoutMs);
      // bitWillDetach: the device performs the detach-attach sequence itself (§4.1.3).
      if (this.o.willDetach) queueMicrotask(() => this.reenumerate());
      return outResult("ok", 0);
    }
    this.log.push("OUT?" + setup.request);
    if (this.state === State.appDETACH) this.state = State.appIDLE;
    return outResult("stall", 0);
  }

  /** appDETACH lasts wTimeout; without a reset by then the device is back in appIDLE (table A.1). */
  private expireDetach() {
    if (this.state === State.appDETACH && this.now() > this.detachUntil) this.state = State.appIDLE;
  }

  /** reenumerate leaves the bus and comes back as the DFU-mode device (DFU 1.1 §5.2, §6.1: DFU-mode descriptors). */
  private reenumerate() {
    if (this.gone) return;
    const o = this.opts;
    const next = new DfuSimulator({ ...o, runtime: false, productId: o.dfuProductId ?? this.productId, initialState: undefined, initialStatus: undefined });
    next.appOpts = o;
    this.reenumerated = next;
    this.moveTo(next);
  }

  /** moveTo leaves the bus and comes back as next (without a bus, just leaves). */
  private moveTo(next: DfuSimulator) {
    const usb = this.opts.usb;
    if (!usb) {
      this.detachFromBus();
      return;
    }
    // Chromium keeps a page's permission for a device it sees again with the
    // same vendor id, product id and serial number; a new product id is a
    // new device the user must choose.
    if (next.vendorId === this.vendorId && next.productId === this.productId && this.serialNumber) usb.replace(this, next);
    else {
      usb.unplug(this);
      usb.plug(next);
    }
  }

  /**
   * DFU_UPLOAD (DFU 1.1 §6.2): from dfuIDLE (with wLength > 0) or
   * dfuUPLOAD-IDLE the device sends the next wLength bytes of its image; a
   * shorter frame ends the upload and returns to dfuIDLE.
   */
  private upload(length: number): USBInTransferResult {
    if (!this.o.canUpload || length === 0) return this.stall();
    if (this.state === State.dfuIDLE) this.uploadOffset = 0;
    else if (this.state !== State.dfuUPLOAD_IDLE) return this.stall();
    const img = this.images.get(this.alt) ?? new Uint8Array(0);
    const chunk = img.slice(this.uploadOffset, this.uploadOffset + length);
    this.uploadOffset += chunk.byteLength;
    this.state = chunk.byteLength < length ? State.dfuIDLE : State.dfuUPLOAD_IDLE;
    return inResult("ok", chunk);
  }

  private isDfu(s: Setup): boolean {
    return s.requestType === "class" && s.recipient === "interface" && s.index === 0 && this.claimed;
  }

  /** Time-driven transitions: dfuDNBUSY → dfuDNLOAD-SYNC and dfuMANIFEST → next once bwPollTimeout has passed. */
  private advanceTime() {
    if (this.state !== State.dfuDNBUSY && this.state !== State.dfuMANIFEST) return;
    // 1 ms of slack: timers are millisecond-granular.
    if (this.now() < this.busyUntil - 1) return;
    if (this.state === State.dfuDNBUSY) {
      this.state = State.dfuDNLOAD_SYNC;
      return;
    }
    // dfuMANIFEST finished.
    if (this.o.manifestFailStatus !== undefined) {
      this.error(this.o.manifestFailStatus);
      return;
    }
    if (this.o.manifestationTolerant) {
      this.manifestStep = "done";
      this.state = State.dfuMANIFEST_SYNC;
    } else {
      this.state = State.dfuMANIFEST_WAIT_RESET;
      if (this.o.resetsAfterManifest) {
        this.commit();
        this.gone = true; // re-enumerates as the new firmware
      }
    }
  }

  private getStatus(): USBInTransferResult {
    switch (this.state) {
      case State.dfuDNBUSY:
      case State.dfuMANIFEST:
        // Polled before bwPollTimeout elapsed: the device is not listening.
        this.earlyPolls++;
        return this.stall();
      case State.dfuMANIFEST_WAIT_RESET:
        return this.stall(); // only a USB reset gets it out
      case State.dfuDNLOAD_SYNC:
        if (this.busyLeft > 0) {
          this.busyLeft--;
          this.state = State.dfuDNBUSY;
          this.busyUntil = this.now() + this.o.pollTimeoutMs;
          return this.statusReply(this.o.pollTimeoutMs);
        }
        return this.finishBlock();
      case State.dfuMANIFEST_SYNC:
        if (this.manifestStep === "sync") {
          this.manifestStep = "busy";
          this.state = State.dfuMANIFEST;
          this.busyUntil = this.now() + this.o.manifestPollMs;
          return this.statusReply(this.o.manifestPollMs);
        }
        // Tolerant device, manifestation complete.
        this.commit();
        this.manifestStep = "none";
        this.state = State.dfuIDLE;
        return this.statusReply(0);
      default:
        return this.statusReply(0);
    }
  }

  private finishBlock(): USBInTransferResult {
    const blk = this.pendingBlock!;
    this.pendingBlock = null;
    if (this.o.dfuse) return this.dfuseBlock(blk);
    if (this.o.failAtBlock !== undefined && this.blocks.length === this.o.failAtBlock) {
      this.error(this.o.failStatus);
      return this.statusReply(0);
    }
    if (this.firmware.byteLength + blk.data.byteLength > this.o.capacity) {
      this.error(Status.errADDRESS);
      return this.statusReply(0);
    }
    const next = new Uint8Array(this.firmware.byteLength + blk.data.byteLength);
    next.set(this.firmware);
    next.set(blk.data, this.firmware.byteLength);
    this.firmware = next;
    this.blocks.push(blk.n);
    this.state = State.dfuDNLOAD_IDLE;
    return this.statusReply(0);
  }

  private dnload(n: number, bytes: Uint8Array): USBOutTransferResult {
    if (bytes.byteLength > this.o.transferSize) return this.stallOut();
    if (this.state === State.dfuIDLE && this.o.dfuse) {
      if (bytes.byteLength === 0) return this.stallOut();
    } else if (this.state === State.dfuIDLE) {
      if (bytes.byteLength === 0 || !this.o.canDownload) return this.stallOut();
      this.firmware = new Uint8Array(0);
      this.blocks = [];
      this.manifested = null;
    } else if (this.state === State.dfuDNLOAD_IDLE) {
      if (bytes.byteLength === 0) {
        this.state = State.dfuMANIFEST_SYNC;
        this.manifestStep = "sync";
        return outResult("ok", 0);
      }
    } else {
      return this.stallOut();
    }
    this.pendingBlock = { n, data: bytes };
    this.busyLeft = this.o.busyPolls;
    this.state = State.dfuDNLOAD_SYNC;
    return outResult("ok", bytes.byteLength);
  }

  /** The DfuSe memory behind alternate 0, from its name (UM0424 §10.3: "@name/0xADDRESS/NN*SSSu"). */
  readonly dfuseMemory: { base: number; pageSize: number; memory: Uint8Array } | null = null;
  /** The DfuSe address pointer (Set Address Pointer command). */
  dfusePointer = 0;

  /**
   * A DfuSe DNLOAD block (UM0424 §6, AN3156 §6.1): block 0 carries a
   * command (0x21 + address: Set Address Pointer, 0x41 + address: erase the
   * page holding it, 0x41 alone: mass erase); block 1 is reserved; block
   * n ≥ 2 writes wTransferSize bytes at pointer + (n − 2) × wTransferSize.
   * A plain DFU download, whose block 0 is firmware, is thus taken as a
   * command; this is why the driver refuses DfuSe devices.
   */
  private dfuseBlock(blk: { n: number; data: Uint8Array }): USBInTransferResult {
    const mem = this.dfuseMemory;
    const d = blk.data;
    const addr32 = (o: number) => (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) >>> 0;
    const inRange = (a: number, len: number) => !!mem && a >= mem.base && a + len <= mem.base + mem.memory.length;
    if (blk.n === 0) {
      if (d.length === 5 && d[0] === 0x21) {
        const a = addr32(1);
        if (!inRange(a, 0)) return this.failBlock(Status.errTARGET);
        this.dfusePointer = a;
      } else if (d.length === 5 && d[0] === 0x41) {
        const a = addr32(1);
        if (!inRange(a, 1)) return this.failBlock(Status.errTARGET);
        const page = Math.floor((a - mem!.base) / mem!.pageSize) * mem!.pageSize;
        mem!.memory.fill(0xff, page, page + mem!.pageSize);
      } else if (d.length === 1 && d[0] === 0x41) {
        mem?.memory.fill(0xff);
      } else {
        return this.failBlock(Status.errSTALLEDPKT);
      }
    } else if (blk.n === 1) {
      return this.failBlock(Status.errSTALLEDPKT);
    } else {
      const a = this.dfusePointer + (blk.n - 2) * this.o.transferSize;
      if (!inRange(a, d.length)) return this.failBlock(Status.errTARGET);
      const off = a - mem!.base;
      // NOR flash programs only erased (0xFF) cells.
      if (mem!.memory.subarray(off, off + d.length).some((b) => b !== 0xff)) return this.failBlock(Status.errPROG);
      mem!.memory.set(d, off);
    }
    this.blocks.push(blk.n);
    this.state = State.dfuDNLOAD_IDLE;
    return this.statusReply(0);
  }

  private failBlock(status: number): USBInTransferResult {
    this.error(status);
    return this.statusReply(0);
  }

  private commit() {
    const img = this.firmware.slice();
    if (this.o.corruptAt !== undefined && this.o.corruptAt < img.length) img[this.o.corruptAt] ^= 1;
    this.manifested = img;
    this.images.set(this.alt, img);
  }

  private error(status: number) {
    this.state = State.dfuERROR;
    this.status = status;
  }

  private stall(): USBInTransferResult {
    if (this.state !== State.dfuMANIFEST_WAIT_RESET) this.error(Status.errSTALLEDPKT);
    return inResult("stall");
  }

  private stallOut(): USBOutTransferResult {
    if (this.state !== State.dfuMANIFEST_WAIT_RESET) this.error(Status.errSTALLEDPKT);
    return outResult("stall", 0);
  }

  private statusReply(poll: number): USBInTransferResult {
    return inResult("ok", Uint8Array.of(this.status, poll & 0xff, (poll >> 8) & 0xff, (poll >> 16) & 0xff, this.state, 0));
  }

  /** The configuration descriptor: configuration, DFU interface, DFU functional descriptor. */
  private descriptor(value: number): Uint8Array {
    if (value >> 8 !== 0x02) return new Uint8Array(0);
    const ts = this.o.transferSize;
    const dt = this.o.detachTimeoutMs;
    const ver = this.o.dfuVersion;
    // DFU 1.1 §4.1.3 table 4.2: bLength, type 0x21, bmAttributes, wDetachTimeOut, wTransferSize, bcdDFUVersion.
    const fn = [9, FUNCTIONAL_DESCRIPTOR, this.attributes, dt & 0xff, dt >> 8, ts & 0xff, ts >> 8, ver & 0xff, ver >> 8];
    // One interface descriptor per alternate setting (§4.2.3), then the functional descriptor.
    const intf = this.configurations[0].interfaces[0].alternates.flatMap((a) => [9, 0x04, 0, a.alternateSetting, 0, DFU_CLASS, DFU_SUBCLASS, a.interfaceProtocol, 0]);
    const total = 9 + intf.length + fn.length;
    const conf = [9, 0x02, total & 0xff, total >> 8, 1, 1, 0, 0x80, 50];
    return Uint8Array.from([...conf, ...intf, ...fn]);
  }
}
