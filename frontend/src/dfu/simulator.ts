// A USB DFU 1.1 device simulator, written from the specification's state
// machine (DFU 1.1 appendix A.2) rather than from the driver. It exposes the
// USBDevice surface WebUSB gives a page, so the same object serves the unit
// tests and the end-to-end test (injected as navigator.usb).
import { Attr, DFU_CLASS, DFU_SUBCLASS, FUNCTIONAL_DESCRIPTOR, PROTOCOL_DFU, Request, State, Status } from "./protocol";

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
}

type Setup = USBControlTransferParameters;

/** A tiny stand-in for USBInTransferResult/USBOutTransferResult (also works where the DOM classes don't exist). */
function inResult(status: USBTransferStatus, bytes?: Uint8Array): USBInTransferResult {
  return { status, data: bytes ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined } as USBInTransferResult;
}

function outResult(status: USBTransferStatus, n: number): USBOutTransferResult {
  return { status, bytesWritten: n } as USBOutTransferResult;
}

function networkError(): Error {
  const e = new Error("A transfer error has occurred: the device is gone");
  e.name = "NetworkError";
  return e;
}

export class DfuSimulator {
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
  readonly serialNumber = "SIM0001";
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
  /** True once the device left the bus (self reset); every transfer fails after. */
  gone = false;

  private o: Required<Omit<SimulatorOptions, "failAtBlock" | "manifestFailStatus" | "initialState" | "initialStatus">> & SimulatorOptions;
  private claimed = false;
  private busyUntil = 0;
  private busyLeft = 0;
  private pendingBlock: { n: number; data: Uint8Array } | null = null;
  private manifestStep: "none" | "sync" | "busy" | "done" = "none";
  private attributes: number;

  constructor(opts: SimulatorOptions = {}) {
    this.o = {
      transferSize: 256,
      capacity: 1 << 20,
      manifestationTolerant: false,
      canDownload: true,
      willDetach: false,
      pollTimeoutMs: 5,
      busyPolls: 1,
      manifestPollMs: 10,
      resetsAfterManifest: false,
      failStatus: Status.errWRITE,
      productName: "DFU simulator",
      vendorId: 0x1209,
      productId: 0x5af0,
      ...opts,
    };
    this.vendorId = this.o.vendorId;
    this.productId = this.o.productId;
    this.productName = this.o.productName;
    this.state = opts.initialState ?? State.dfuIDLE;
    this.status = opts.initialStatus ?? Status.OK;
    this.attributes = (this.o.canDownload ? Attr.canDnload : 0) | (this.o.manifestationTolerant ? Attr.manifestationTolerant : 0) | (this.o.willDetach ? Attr.willDetach : 0);
    const alt = { alternateSetting: 0, interfaceClass: DFU_CLASS, interfaceSubclass: DFU_SUBCLASS, interfaceProtocol: PROTOCOL_DFU, interfaceName: "iCE40 SRAM", endpoints: [] };
    const intf = { interfaceNumber: 0, alternate: alt, alternates: [alt], claimed: false };
    this.configurations = [{ configurationValue: 1, configurationName: "DFU", interfaces: [intf] }] as unknown as USBConfiguration[];
  }

  private now(): number {
    return typeof performance !== "undefined" ? performance.now() : Date.now();
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
    if (n !== 0 || alt !== 0) throw new Error("NotFoundError: no such alternate setting");
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
    if (this.state === State.dfuMANIFEST_WAIT_RESET) this.commit();
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
    switch (setup.request) {
      case Request.GETSTATUS:
        this.log.push("GETSTATUS");
        return this.getStatus();
      case Request.GETSTATE:
        this.log.push("GETSTATE");
        if (this.state === State.dfuDNBUSY || this.state === State.dfuMANIFEST || this.state === State.dfuMANIFEST_WAIT_RESET) return this.stall();
        return inResult("ok", Uint8Array.of(this.state));
      case Request.UPLOAD:
        this.log.push("UPLOAD");
        return this.stall(); // bitCanUpload is 0
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
    switch (setup.request) {
      case Request.DNLOAD:
        this.log.push(`DNLOAD(${setup.value}, ${bytes.byteLength})`);
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
    if (this.state === State.dfuIDLE) {
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

  private commit() {
    this.manifested = this.firmware.slice();
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
    const fn = [9, FUNCTIONAL_DESCRIPTOR, this.attributes, 0xe8, 0x03, ts & 0xff, ts >> 8, 0x10, 0x01];
    const intf = [9, 0x04, 0, 0, 0, DFU_CLASS, DFU_SUBCLASS, PROTOCOL_DFU, 0];
    const total = 9 + intf.length + fn.length;
    const conf = [9, 0x02, total & 0xff, total >> 8, 1, 1, 0, 0x80, 50];
    return Uint8Array.from([...conf, ...intf, ...fn]);
  }
}
