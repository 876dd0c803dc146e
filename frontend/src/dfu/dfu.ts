// A USB DFU 1.1 driver (download, upload, detach) written against an
// injected USBDevice-shaped object (WebUSB in the browser, a simulator in
// tests). Every wait goes through a Clock and every control transfer is
// bounded by a timeout; errors are FlashErrors with a sentence.
import { abortError as flashAbortError, type Clock, FlashError, type FlashErrorCode, realClock } from "../flash/types";
import { bounded } from "../flash/deadline";
import { Attr, DFU_CLASS, DFU_SUBCLASS, FUNCTIONAL_DESCRIPTOR, PROTOCOL_RUNTIME, Request, State, Status, stateNames, statusText } from "./protocol";

/** The part of WebUSB's USBDevice the driver uses. */
export type DfuUsbDevice = Pick<USBDevice,
  "open" | "close" | "opened" | "configuration" | "configurations" | "selectConfiguration" | "claimInterface" |
  "releaseInterface" | "selectAlternateInterface" | "controlTransferIn" | "controlTransferOut" | "reset"
> & Partial<Pick<USBDevice, "productName" | "manufacturerName" | "serialNumber" | "vendorId" | "productId">>;

export interface DfuStatus {
  status: number;
  pollTimeout: number;
  state: number;
  iString: number;
}

export interface FunctionalDescriptor {
  attributes: number;
  detachTimeout: number;
  transferSize: number;
  dfuVersion: number;
}

export interface DfuTarget {
  configurationValue: number;
  interfaceNumber: number;
  alternateSetting: number;
  name: string;
  runtime: boolean;
}

/** A DFU failure, carrying the DFU status and state when the device reported them. */
export class DfuError extends FlashError {
  constructor(message: string, readonly status?: number, readonly state?: number, code: FlashErrorCode = "device_error", offset?: number) {
    super(message, code, offset);
    this.name = "DfuError";
  }
}

/** What a stalled request means to the user and what to do about it, by request. */
const stallSentences: Record<string, string> = {
  DFU_DETACH:
    "The board refused to restart into its DFU bootloader (it stalled DFU_DETACH): put it in DFU mode by hand (on most boards, hold its button while plugging it in) and flash again.",
  DFU_DNLOAD: "The device refused the data (it stalled DFU_DNLOAD): unplug it, plug it back in and flash again.",
  DFU_GETSTATUS: "The device refused to report its status (it stalled DFU_GETSTATUS): unplug it, plug it back in and flash again.",
  DFU_GETSTATE: "The device refused to report its state (it stalled DFU_GETSTATE): unplug it, plug it back in and flash again.",
  DFU_CLRSTATUS: "The device would not clear its error (it stalled DFU_CLRSTATUS): unplug it, plug it back in and flash again.",
  DFU_ABORT: "The device would not stop the transfer in progress (it stalled DFU_ABORT): unplug it, plug it back in and flash again.",
};

/** A control request the device answered with a STALL handshake; request names it (e.g. "DFU_DETACH"). */
export class DfuStallError extends DfuError {
  constructor(readonly request: string) {
    super(stallSentences[request] ?? `The device refused a request (it stalled ${request}): unplug it, plug it back in and flash again.`);
    this.name = "DfuStallError";
  }
}

/** isCancel says whether err is the user's Cancel (an AbortError, or a FlashError "cancelled"). */
export function isCancel(err: unknown): boolean {
  return (err as Error)?.name === "AbortError" || (err instanceof FlashError && err.code === "cancelled");
}

/**
 * cancelled is the FlashError a cancelled DFU flash throws; how says when
 * and in what state it left the device, and ends with what to do. state is
 * the DFU state the device was brought back to, when it was.
 */
export function cancelled(how: string, state?: number): DfuError {
  return new DfuError(`The flash was cancelled ${how}`, undefined, state, "cancelled");
}

export type Phase = "connecting" | "erasing" | "downloading" | "manifesting" | "done";

export interface DownloadOptions {
  /** Called after each acknowledged block. */
  progress?(sent: number, total: number, phase: Phase): void;
  signal?: AbortSignal;
  /** Overrides wTransferSize from the functional descriptor. */
  transferSize?: number;
  /** Upper bound on a single wait, guarding against absurd bwPollTimeout values; default 60 s. */
  maxPollMs?: number;
  /** Injected for tests; defaults to a timer. */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface DownloadResult {
  bytes: number;
  blocks: number;
  /** True when the device reset (or was reset) to leave manifestation. */
  reset: boolean;
}

/** findTargets lists the DFU interfaces of a device's configurations. */
export function findTargets(device: Pick<DfuUsbDevice, "configurations">): DfuTarget[] {
  const out: DfuTarget[] = [];
  for (const conf of device.configurations ?? []) {
    for (const intf of conf.interfaces) {
      for (const alt of intf.alternates) {
        if (alt.interfaceClass === DFU_CLASS && alt.interfaceSubclass === DFU_SUBCLASS) {
          out.push({
            configurationValue: conf.configurationValue,
            interfaceNumber: intf.interfaceNumber,
            alternateSetting: alt.alternateSetting,
            name: alt.interfaceName ?? `interface ${intf.interfaceNumber} alt ${alt.alternateSetting}`,
            runtime: alt.interfaceProtocol === PROTOCOL_RUNTIME,
          });
        }
      }
    }
  }
  return out;
}

/** parseFunctionalDescriptor finds the DFU functional descriptor in a configuration descriptor blob. */
export function parseFunctionalDescriptor(data: DataView, interfaceNumber: number): FunctionalDescriptor | null {
  let off = 0;
  let inTarget = false;
  while (off + 2 <= data.byteLength) {
    const len = data.getUint8(off);
    const type = data.getUint8(off + 1);
    if (len < 2 || off + len > data.byteLength) break;
    if (type === 0x04 && len >= 9) {
      inTarget = data.getUint8(off + 2) === interfaceNumber && data.getUint8(off + 5) === DFU_CLASS && data.getUint8(off + 6) === DFU_SUBCLASS;
    } else if (type === FUNCTIONAL_DESCRIPTOR && inTarget && len >= 7) {
      return {
        attributes: data.getUint8(off + 2),
        detachTimeout: data.getUint16(off + 3, true),
        transferSize: data.getUint16(off + 5, true),
        dfuVersion: len >= 9 ? data.getUint16(off + 7, true) : 0x0100,
      };
    }
    off += len;
  }
  return null;
}

/** abortError is what a cancelled transfer rejects with (a DOMException named AbortError). */
export function abortError(): Error {
  return flashAbortError();
}

/** Default bound on one control transfer. */
export const DEFAULT_TRANSFER_TIMEOUT_MS = 5000;

/** Microtask turns a transfer gets to settle before its timeout starts counting (see Dfu.transfer). */
const SETTLE_TURNS = 32;

function isNetworkError(err: unknown): boolean {
  return (err as Error)?.name === "NetworkError";
}

export function describeStatus(st: DfuStatus): string {
  const [name, text] = statusText[st.status] ?? [`status 0x${st.status.toString(16)}`, "unknown status"];
  return `${name} (${text}) in state ${stateNames[st.state] ?? st.state}`;
}

/** Options of one Dfu session. */
export interface DfuSessionOptions {
  /** Defaults to realClock. */
  clock?: Clock;
  /** Bound on one control transfer; default 5 s. */
  transferTimeoutMs?: number;
}

export interface UploadOptions {
  signal?: AbortSignal;
  /** Called after each block read. */
  progress?(done: number, total: number): void;
  transferSize?: number;
}

/** Dfu drives one DFU interface of one device. */
export class Dfu {
  descriptor: FunctionalDescriptor | null = null;
  private clock: Clock;
  private sleepFn: (ms: number, signal?: AbortSignal) => Promise<void>;
  private timeoutMs: number;
  /** The signal of the running download/upload: a hung transfer also ends on cancel. */
  private signal?: AbortSignal;

  /**
   * The third argument is the session's clock and timeout, or (as before
   * Clock existed) a sleep function used for every wait.
   */
  constructor(readonly device: DfuUsbDevice, readonly target: DfuTarget, o?: DfuSessionOptions | ((ms: number, signal?: AbortSignal) => Promise<void>)) {
    const opts: DfuSessionOptions = typeof o === "function" ? {} : (o ?? {});
    this.clock = opts.clock ?? realClock;
    this.sleepFn = typeof o === "function" ? o : (ms, signal) => this.clock.sleep(ms, signal);
    this.timeoutMs = opts.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS;
  }

  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.sleepFn(ms, signal);
  }

  /**
   * transfer runs one USB call with a timeout. The call first gets a few
   * microtask turns to settle, so a device that answers at once (every
   * simulator, most real replies already queued) never starts a timer; only
   * a call still pending after that races clock.sleep(timeout). With a
   * virtual clock this keeps time from jumping by the timeout on every
   * transfer. A NetworkError (the device left the bus) becomes "unplugged".
   */
  private async transfer<T>(name: string, call: () => Promise<T>): Promise<T> {
    return bounded(call, (err) => this.mapError(name, err), {
      clock: this.clock,
      timeoutMs: this.timeoutMs,
      signal: this.signal,
      settleTurns: SETTLE_TURNS,
      timeout: () => new DfuError(`The device did not answer ${name} within ${this.timeoutMs} ms: unplug it, plug it back in and flash again.`, undefined, undefined, "timeout"),
      aborted: abortError,
    });
  }

  private mapError(name: string, err: unknown): Error {
    if (err instanceof FlashError || (err as Error)?.name === "AbortError") return err as Error;
    if (isNetworkError(err)) return new DfuError(`The device disconnected during ${name}: plug it back in and flash again.`, undefined, undefined, "unplugged");
    const e = err as Error;
    return new DfuError(`${name} failed: ${e?.message ?? String(err)}. Unplug the device, plug it back in and flash again.`);
  }

  /** open claims the interface and reads the functional descriptor. */
  async open(): Promise<void> {
    const d = this.device;
    if (!d.opened) await this.transfer("open", () => d.open());
    if (d.configuration?.configurationValue !== this.target.configurationValue) {
      await this.transfer("selectConfiguration", () => d.selectConfiguration(this.target.configurationValue));
    }
    try {
      await this.transfer("claimInterface", () => d.claimInterface(this.target.interfaceNumber));
    } catch (err) {
      if (err instanceof DfuError && err.code !== "device_error") throw err;
      throw new DfuError(
        `The DFU interface ${this.target.interfaceNumber} of ${d.productName ?? "the device"} could not be claimed (${(err as Error).message}): another program or an OS driver holds it; close it and flash again.`,
        undefined,
        undefined,
        "claim_failed",
      );
    }
    const intf = d.configuration?.interfaces.find((i) => i.interfaceNumber === this.target.interfaceNumber);
    if (this.target.alternateSetting !== 0 || (intf && intf.alternates.length > 1)) {
      await this.transfer("selectAlternateInterface", () => d.selectAlternateInterface(this.target.interfaceNumber, this.target.alternateSetting));
    }
    this.descriptor = await this.readFunctionalDescriptor();
  }

  async close(): Promise<void> {
    try {
      await this.transfer("releaseInterface", () => this.device.releaseInterface(this.target.interfaceNumber));
    } catch {
      // the device may already be gone after manifestation
    }
    try {
      await this.transfer("close", () => this.device.close());
    } catch {
      // idem
    }
  }

  private async readFunctionalDescriptor(): Promise<FunctionalDescriptor | null> {
    const confs = this.device.configurations ?? [];
    const index = Math.max(0, confs.findIndex((c) => c.configurationValue === this.target.configurationValue));
    const setup: USBControlTransferParameters = { requestType: "standard", recipient: "device", request: 0x06, value: (0x02 << 8) | index, index: 0 };
    try {
      const head = await this.transfer("GET_DESCRIPTOR", () => this.device.controlTransferIn(setup, 9));
      if (head.status !== "ok" || !head.data || head.data.byteLength < 4) return null;
      const total = head.data.getUint16(2, true);
      const full = await this.transfer("GET_DESCRIPTOR", () => this.device.controlTransferIn(setup, total));
      if (full.status !== "ok" || !full.data) return null;
      return parseFunctionalDescriptor(full.data, this.target.interfaceNumber);
    } catch (err) {
      if (err instanceof DfuError && (err.code === "unplugged" || err.code === "timeout")) throw err;
      return null;
    }
  }

  private setup(request: number, value = 0): USBControlTransferParameters {
    return { requestType: "class", recipient: "interface", request, value, index: this.target.interfaceNumber };
  }

  private async out(request: number, name: string, value = 0, data?: BufferSource): Promise<void> {
    const r = await this.transfer(name, () => this.device.controlTransferOut(this.setup(request, value), data));
    if (r.status === "stall") throw new DfuStallError(name);
    if (r.status !== "ok") throw new DfuError(`The USB transfer of ${name} failed (status ${r.status}): unplug the device, plug it back in and flash again.`);
  }

  async getStatus(): Promise<DfuStatus> {
    const r = await this.transfer("DFU_GETSTATUS", () => this.device.controlTransferIn(this.setup(Request.GETSTATUS), 6));
    if (r.status === "stall") throw new DfuStallError("DFU_GETSTATUS");
    if (r.status !== "ok") throw new DfuError(`The USB transfer of DFU_GETSTATUS failed (status ${r.status}): unplug the device, plug it back in and flash again.`);
    const n = r.data?.byteLength ?? 0;
    // DFU 1.1 §6.1.2: the GETSTATUS reply is 6 bytes (bStatus, bwPollTimeout[3], bState, iString).
    if (!r.data || n < 6) throw new DfuError(`The device sent a status reply of ${n} bytes instead of 6 (DFU_GETSTATUS): unplug it, plug it back in and flash again.`);
    const d = r.data;
    return {
      status: d.getUint8(0),
      pollTimeout: d.getUint8(1) | (d.getUint8(2) << 8) | (d.getUint8(3) << 16),
      state: d.getUint8(4),
      iString: d.getUint8(5),
    };
  }

  async getState(): Promise<number> {
    const r = await this.transfer("DFU_GETSTATE", () => this.device.controlTransferIn(this.setup(Request.GETSTATE), 1));
    if (r.status === "stall") throw new DfuStallError("DFU_GETSTATE");
    if (r.status !== "ok") throw new DfuError(`The USB transfer of DFU_GETSTATE failed (status ${r.status}): unplug the device, plug it back in and flash again.`);
    if (!r.data || r.data.byteLength < 1) throw new DfuError("The device sent an empty state reply (DFU_GETSTATE): unplug it, plug it back in and flash again.");
    return r.data.getUint8(0);
  }

  clearStatus(): Promise<void> {
    return this.out(Request.CLRSTATUS, "DFU_CLRSTATUS");
  }

  abort(): Promise<void> {
    return this.out(Request.ABORT, "DFU_ABORT");
  }

  dnload(block: number, data: Uint8Array): Promise<void> {
    return this.out(Request.DNLOAD, "DFU_DNLOAD", block & 0xffff, data as BufferSource);
  }

  /** detach sends DFU_DETACH with wTimeout (DFU 1.1 §5.1), capped to 16 bits. */
  detach(timeoutMs: number): Promise<void> {
    return this.out(Request.DETACH, "DFU_DETACH", Math.min(timeoutMs, 0xffff));
  }

  /** reset issues a USB reset (after DETACH on a device without bitWillDetach, or to leave manifestation). */
  async usbReset(): Promise<void> {
    await this.transfer("USB reset", () => this.device.reset());
  }

  /**
   * recover brings the device to dfuIDLE: CLRSTATUS out of dfuERROR, ABORT
   * out of the idle/sync states, waiting out busy states. A stalled
   * GETSTATUS leaves the device in dfuERROR, which the next round clears.
   */
  async recover(signal?: AbortSignal, maxPollMs = 60_000): Promise<DfuStatus> {
    for (let round = 0; round < 8; round++) {
      let st: DfuStatus;
      try {
        st = await this.getStatus();
      } catch (err) {
        if (!(err instanceof DfuStallError)) throw err;
        await this.clearStatus().catch(() => {});
        continue;
      }
      switch (st.state) {
        case State.dfuIDLE:
          return st;
        case State.dfuERROR:
          await this.clearStatus();
          break;
        case State.dfuDNLOAD_SYNC:
        case State.dfuDNLOAD_IDLE:
        case State.dfuMANIFEST_SYNC:
        case State.dfuUPLOAD_IDLE:
          await this.abort();
          break;
        case State.dfuDNBUSY:
        case State.dfuMANIFEST:
          await this.sleep(Math.min(st.pollTimeout, maxPollMs), signal);
          break;
        case State.appIDLE:
        case State.appDETACH:
          throw new DfuError("The device is in run-time mode, not DFU mode: put it into its DFU bootloader and choose it again.", st.status, st.state);
        default:
          throw new DfuError(`The device is stuck in state ${stateNames[st.state] ?? st.state}: unplug it, plug it back in and flash again.`, st.status, st.state);
      }
    }
    throw new DfuError("The device did not become ready (dfuIDLE) for a new transfer: unplug it, plug it back in and flash again.");
  }

  /** download writes firmware following DFU 1.1 §7 (download) and §7.2 (manifestation). */
  async download(firmware: Uint8Array, o: DownloadOptions = {}): Promise<DownloadResult> {
    const { signal } = o;
    const maxPoll = o.maxPollMs ?? 60_000;
    if (o.sleep) this.sleepFn = o.sleep;
    const desc = this.descriptor;
    if (desc && !(desc.attributes & Attr.canDnload)) throw new DfuError("The device does not accept downloads (bitCanDnload is 0): choose the board's DFU bootloader, not another DFU interface, and flash again.", undefined, undefined, "unsupported");
    const size = o.transferSize ?? desc?.transferSize ?? 1024;
    if (!(size > 0)) throw new DfuError("The device reports a transfer size (wTransferSize) of 0, so nothing can be sent to it: update its bootloader or flash it with dfu-util via sessiond.", undefined, undefined, "unsupported");
    const tolerant = !!(desc && desc.attributes & Attr.manifestationTolerant);
    const total = firmware.byteLength;
    this.signal = signal;
    let block = 0;
    let sent = 0;
    let wrote = false;
    let manifesting = false;
    try {
      o.progress?.(0, total, "connecting");
      await this.recover(signal, maxPoll);

      try {
        while (sent < total) {
          if (signal?.aborted) throw abortError();
          const chunk = firmware.subarray(sent, Math.min(total, sent + size));
          wrote = true;
          await this.dnloadChecked(block, chunk, sent);
          await this.waitIdle(State.dfuDNLOAD_IDLE, signal, maxPoll, block, sent);
          sent += chunk.byteLength;
          block++;
          o.progress?.(sent, total, "downloading");
        }
      } catch (err) {
        if (err instanceof DfuError && (err.code === "unplugged" || err.code === "timeout")) {
          const what = err.code === "unplugged" ? "The device disconnected" : "The device stopped answering";
          throw new DfuError(`${what} during block ${block} (${sent} of ${total} bytes written): plug it back in and flash again.`, undefined, undefined, err.code, sent);
        }
        throw err;
      }

      // A zero-length DNLOAD tells the device the transfer is complete.
      o.progress?.(sent, total, "manifesting");
      if (signal?.aborted) throw abortError();
      manifesting = true;
      await this.dnloadChecked(block, new Uint8Array(0), sent);
      const reset = await this.manifest(tolerant, maxPoll, signal);
      o.progress?.(sent, total, "done");
      return { bytes: sent, blocks: block, reset };
    } catch (err) {
      if (!isCancel(err)) throw err;
      this.signal = undefined;
      if (manifesting) {
        // The device has the whole image and may be committing it; DFU_ABORT is not valid here (DFU 1.1 §6.1.2, dfuMANIFEST-SYNC/dfuMANIFEST).
        throw cancelled(
          "while the device was installing the complete image (DFU manifestation): it may or may not run the new design; unplug the board, plug it back in, and click Flash to write it again if it does not.",
        );
      }
      // Leave the device idle (DFU_ABORT is valid in dfuDNLOAD-IDLE, CLRSTATUS in dfuERROR).
      const idle = await this.recover(undefined, maxPoll).then(
        (st) => st,
        () => null,
      );
      if (!idle) {
        throw cancelled(`after ${sent} of ${total} bytes, and the device did not return to idle: unplug the board, plug it back in and click Flash to start again.`);
      }
      if (!wrote) throw cancelled("before anything was written: the device is idle in DFU mode, unchanged. Click Flash to start again.", idle.state);
      if (sent === total) {
        throw cancelled(
          `after all ${total} bytes were sent but before the device installed them: the device is idle in DFU mode without the new image. Click Flash to write it again before you use the board.`,
          idle.state,
        );
      }
      throw cancelled(`after ${sent} of ${total} bytes: the device is idle in DFU mode with an incomplete image. Click Flash to write it again before you use the board.`, idle.state);
    } finally {
      this.signal = undefined;
    }
  }

  /**
   * upload reads up to length bytes with DFU_UPLOAD (DFU 1.1 §6.2): blocks of
   * wTransferSize until a short block ends the upload (the device is then
   * back in dfuIDLE) or length bytes have arrived (then DFU_ABORT leaves
   * dfuUPLOAD-IDLE). Returns what the device sent, at most length bytes.
   */
  async upload(length: number, o: UploadOptions = {}): Promise<Uint8Array> {
    const desc = this.descriptor;
    if (desc && !(desc.attributes & Attr.canUpload)) throw new DfuError("The device cannot be read back (bitCanUpload is 0): flash without verifying.", undefined, undefined, "unsupported");
    const size = o.transferSize ?? desc?.transferSize ?? 1024;
    const out = new Uint8Array(length);
    let got = 0;
    let block = 0;
    let ended = false;
    this.signal = o.signal;
    try {
      await this.recover(o.signal);
      while (got < length) {
        if (o.signal?.aborted) throw abortError();
        let r: USBInTransferResult;
        try {
          r = await this.transfer("DFU_UPLOAD", () => this.device.controlTransferIn(this.setup(Request.UPLOAD, block & 0xffff), size));
        } catch (err) {
          if (err instanceof DfuError && (err.code === "unplugged" || err.code === "timeout")) {
            const what = err.code === "unplugged" ? "The device disconnected" : "The device stopped answering";
            throw new DfuError(`${what} while reading back block ${block} (${got} of ${length} bytes read): plug it back in and flash again.`, undefined, undefined, err.code, got);
          }
          throw err;
        }
        if (r.status === "stall") {
          const st = await this.getStatus().catch(() => null);
          throw new DfuError(
            `The device refused to send block ${block} back (${st ? describeStatus(st) : "it stalled DFU_UPLOAD"}): unplug it, plug it back in and flash again, or flash without verifying.`,
            st?.status,
            st?.state,
          );
        }
        if (r.status !== "ok" || !r.data) throw new DfuError(`The USB transfer of DFU_UPLOAD failed (status ${r.status}) at block ${block}: unplug the device, plug it back in and flash again.`);
        const n = r.data.byteLength;
        const take = Math.min(n, length - got);
        out.set(new Uint8Array(r.data.buffer, r.data.byteOffset, take), got);
        got += take;
        block++;
        o.progress?.(got, length);
        if (n < size) {
          ended = true;
          break;
        }
      }
      if (!ended) await this.abort();
      return out.subarray(0, got);
    } catch (err) {
      if (!isCancel(err)) throw err;
      this.signal = undefined;
      const idle = await this.recover().then(
        (st) => st,
        () => null,
      );
      if (!idle) throw cancelled(`while reading back (${got} of ${length} bytes read), and the device did not return to idle: unplug it, plug it back in and start again.`);
      throw cancelled(`while reading back (${got} of ${length} bytes read): the device is idle in DFU mode. Start again to read it all.`, idle.state);
    } finally {
      this.signal = undefined;
    }
  }

  private async dnloadChecked(block: number, chunk: Uint8Array, offset: number) {
    try {
      await this.dnload(block, chunk);
    } catch (err) {
      if (!(err instanceof DfuStallError)) throw err;
      const st = await this.getStatus().catch(() => null);
      throw new DfuError(
        `The device refused block ${block} (${st ? describeStatus(st) : "it stalled DFU_DNLOAD"}): ${advice(st ? st.status : Status.errSTALLEDPKT)}`,
        st?.status,
        st?.state,
        "device_error",
        offset,
      );
    }
  }

  /** waitIdle polls GETSTATUS, sleeping bwPollTimeout while the device is busy, until want. */
  private async waitIdle(want: number, signal: AbortSignal | undefined, maxPoll: number, block: number, offset: number): Promise<DfuStatus> {
    for (;;) {
      const st = await this.getStatus();
      if (st.state === State.dfuERROR || st.status !== Status.OK) {
        throw new DfuError(`The device reported an error at block ${block} (${describeStatus(st)}): ${advice(st.status)}`, st.status, st.state, "device_error", offset);
      }
      if (st.state === want) return st;
      if (st.state === State.dfuDNBUSY || st.state === State.dfuDNLOAD_SYNC) {
        // Honour bwPollTimeout: the device answers nothing before it elapses.
        await this.sleep(Math.min(st.pollTimeout, maxPoll), signal);
        continue;
      }
      throw new DfuError(`The device went into an unexpected state during the download (${describeStatus(st)}): unplug it, plug it back in and flash again.`, st.status, st.state);
    }
  }

  /**
   * manifest follows the device through manifestation (DFU 1.1 §7.2). A
   * tolerant device returns to dfuIDLE; others go to dfuMANIFEST-WAIT-RESET
   * and are reset by the host, or reset themselves (the next transfer fails
   * with "unplugged": success). A Cancel is rethrown, never taken for a
   * device that reset; so is any other failure before the device said it
   * is manifesting.
   */
  private async manifest(tolerant: boolean, maxPoll: number, signal?: AbortSignal): Promise<boolean> {
    const reset = async () => {
      try {
        await this.usbReset();
      } catch (err) {
        // A device that leaves the bus while being reset (or already left) is what we want; a Cancel is not.
        if (isCancel(err)) throw err;
      }
      return true;
    };
    const left = (err: unknown) => err instanceof DfuError && err.code === "unplugged";
    for (let i = 0; i < 1000; i++) {
      if (signal?.aborted) throw abortError();
      let st: DfuStatus;
      try {
        st = await this.getStatus();
      } catch (err) {
        // The device left the bus to run its new firmware.
        if (!tolerant && left(err)) return true;
        if (err instanceof DfuError && err.code === "timeout") {
          throw new DfuError(
            "The device stopped answering (DFU_GETSTATUS) after it received the whole image: unplug it, plug it back in, and if it does not run the new design, flash again.",
            undefined,
            undefined,
            "timeout",
          );
        }
        throw err;
      }
      if (st.state === State.dfuERROR || st.status !== Status.OK) {
        throw new DfuError(`The device could not install the image (manifestation failed: ${describeStatus(st)}): ${advice(st.status)}`, st.status, st.state);
      }
      switch (st.state) {
        case State.dfuIDLE:
          return false;
        case State.dfuMANIFEST_WAIT_RESET:
          return reset();
        case State.dfuMANIFEST:
          await this.sleep(Math.min(st.pollTimeout, maxPoll), signal);
          if (!tolerant) {
            // DFU 1.1 §6.1.2 (dfuMANIFEST): not every device can answer GETSTATUS while manifesting, and a
            // non-tolerant one ends in dfuMANIFEST-WAIT-RESET, where only a USB reset gets it out (§7.2).
            // So a stall or no answer here means "reset me"; a device gone from the bus reset itself.
            let again: DfuStatus | null = null;
            try {
              again = await this.getStatus();
            } catch (err) {
              if (isCancel(err)) throw err;
              if (left(err)) return true;
              if (!(err instanceof DfuStallError || (err instanceof DfuError && err.code === "timeout"))) throw err;
            }
            if (again && (again.state === State.dfuERROR || again.status !== Status.OK)) {
              throw new DfuError(`The device could not install the image (manifestation failed: ${describeStatus(again)}): ${advice(again.status)}`, again.status, again.state);
            }
            if (again && again.state === State.dfuIDLE) return false;
            if (signal?.aborted) throw abortError();
            return reset();
          }
          break;
        case State.dfuMANIFEST_SYNC:
          await this.sleep(Math.min(st.pollTimeout, maxPoll), signal);
          break;
        default:
          throw new DfuError(`The device went into an unexpected state after the last block (${describeStatus(st)}): unplug it, plug it back in and flash again.`, st.status, st.state);
      }
    }
    throw new DfuError("The device did not finish installing the image (manifestation): unplug it, plug it back in and flash again.");
  }
}

/** advice says what to do about a DFU error status (DFU 1.1 §6.1.2, table 6.1): the end of a sentence, after a colon. */
export function advice(status: number): string {
  switch (status) {
    case Status.errTARGET:
    case Status.errFILE:
    case Status.errADDRESS:
    case Status.errNOTDONE:
      return "check that the image is built for this board (and fits it), then flash again.";
    case Status.errWRITE:
    case Status.errERASE:
    case Status.errCHECK_ERASED:
    case Status.errPROG:
    case Status.errVERIFY:
      return "flash again; if it fails at the same place, the device's memory may be faulty.";
    default:
      return "unplug the device, plug it back in and flash again.";
  }
}

/** Errors shown to users, in their words. */
export function explain(err: unknown): string {
  const e = err as Error;
  if (e?.name === "AbortError") return "Flashing was cancelled.";
  if (e?.name === "NotFoundError") return "No device was chosen.";
  if (e?.name === "SecurityError") return "The browser blocked USB access (the page must be served over HTTPS or from localhost).";
  if (e?.name === "NetworkError") return "The device disconnected during the transfer.";
  if (e instanceof FlashError) return e.message;
  return e?.message ?? String(err);
}
