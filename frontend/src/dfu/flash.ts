// Flashing a bitstream over WebUSB with the DFU driver: detach a run-time
// interface into the bootloader and find it again, refuse DfuSe, check a
// .dfu suffix, choose the alternate setting, download, read back.
import { abortError, type Clock, FlashError, type FlashOptions as CommonFlashOptions, type FlashPhase, type FlashResult, realClock } from "../flash/types";
import { cancelled, Dfu, DfuError, findTargets, isCancel, type DfuTarget, type DfuUsbDevice, type DownloadResult, type Phase } from "./dfu";
import { Attr, DFU_CLASS, DFU_SUBCLASS, State } from "./protocol";
import { checkImage, type UsbIds } from "./suffix";

/** bcdDFUVersion of ST's DfuSe extension (UM0424), which this driver refuses. */
export const DFUSE_VERSION = 0x011a;

/**
 * DFU_FILTERS find DFU interfaces in the chooser: class 0xFE subclass 0x01,
 * any protocol (0x01 run-time, 0x02 DFU mode, 0x00 for DFU 1.0 devices).
 */
export const DFU_FILTERS: USBDeviceFilter[] = [{ classCode: DFU_CLASS, subclassCode: DFU_SUBCLASS }];

/** The part of navigator.usb flashDfu uses to find a device again after it detached. */
export interface DfuUsb {
  getDevices(): Promise<USBDevice[]>;
  addEventListener?(type: "connect", listener: (ev: { device: SeenDevice }) => void): void;
  removeEventListener?(type: "connect", listener: (ev: { device: SeenDevice }) => void): void;
}

/** What flashDfu reads of a device a connect event announces (a USBDevice, or a simulator on FakeUSB). */
type SeenDevice = Pick<USBDevice, "vendorId" | "productId" | "serialNumber" | "configurations">;

export interface DfuFlashOptions extends CommonFlashOptions {
  /** The page's navigator.usb (or FakeUSB), to find the device after DFU_DETACH; defaults to navigator.usb. */
  usb?: DfuUsb | null;
  /** The alternate setting to write; default the first whose name says bitstream/FPGA, else alt 0. */
  alt?: number;
  /** The ids a .dfu suffix must name; default the chosen device's (run-time or DFU mode). */
  vendorId?: number;
  productId?: number;
  /** Read the image back with DFU_UPLOAD where the device can (bitCanUpload); default true. */
  verify?: boolean;
  /** Bound on each control transfer; default 5000 ms. */
  transferTimeoutMs?: number;
  /** How long a detached device may take to come back in DFU mode; default 10000 ms. */
  reenumerateTimeoutMs?: number;
}

/** How often getDevices is asked while waiting for a detached device. */
const REENUMERATE_POLL_MS = 100;

const BITSTREAM_ALT = /bitstream|fpga|gateware|ice40|ecp5/i;

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}

function listAlts(targets: DfuTarget[]): string {
  return targets.map((t) => `${t.alternateSetting} "${t.name}"`).join(", ");
}

/** chooseAlt picks the alternate setting: o.alt, else the first named for a bitstream/FPGA, else alt 0 (the first). */
export function chooseAlt(targets: DfuTarget[], alt?: number): DfuTarget {
  if (targets.length === 0) throw new FlashError("The device has no DFU-mode interface to write to; put it into its DFU bootloader and flash again.", "unsupported");
  if (alt !== undefined) {
    const t = targets.find((t) => t.alternateSetting === alt);
    if (!t) throw new FlashError(`The device has no DFU alternate setting ${alt}; it offers ${listAlts(targets)}. Fix the board's dfu.alt setting.`, "unsupported");
    return t;
  }
  return targets.find((t) => BITSTREAM_ALT.test(t.name)) ?? targets.find((t) => t.alternateSetting === 0) ?? targets[0];
}

function isDfuMode(d: SeenDevice): boolean {
  return findTargets(d).some((t) => !t.runtime);
}

function dfuseError(name: string): FlashError {
  return new FlashError(
    `${name} is an ST DfuSe device (bcdDFUVersion 0x011A), which needs DfuSe-specific addressing that this browser flasher does not do: use dfu-util -s <address> or the Gatewave desktop app.`,
    "unsupported",
  );
}

/**
 * flashDfu writes image (raw, or a .dfu file with its suffix) to a device
 * the user already chose. A run-time-only device is detached first and found
 * again in DFU mode through o.usb. Every error is a FlashError.
 */
export async function flashDfu(device: USBDevice, image: Uint8Array, o: DfuFlashOptions = {}): Promise<FlashResult> {
  const clock = o.clock ?? realClock;
  const t0 = clock.now();
  const report = (phase: FlashPhase, done: number, total: number) => o.progress?.({ phase, done, total });
  // Where the flash is, so a Cancel can say what state it left the board in.
  let stage: "start" | "detaching" | "writing" | "verifying" = "start";
  try {
    if (o.signal?.aborted) throw abortError();
    // The CRC and bcdDFU are checked before the device is touched; the ids once we know the DFU-mode device.
    checkImage(image);
    report("connecting", 0, 1);
    const name = device.productName || `USB device ${hex4(device.vendorId)}:${hex4(device.productId)}`;
    const targets = findTargets(device);
    if (targets.length === 0) throw new FlashError(`${name} has no DFU interface: choose the board itself (or its DFU bootloader) in the chooser.`, "no_device");
    let dev: USBDevice = device;
    let detached = false;
    if (!targets.some((t) => !t.runtime)) {
      stage = "detaching";
      dev = await detachAndFind(device, targets[0], name, clock, o);
      detached = true;
    }
    const target = chooseAlt(findTargets(dev).filter((t) => !t.runtime), o.alt);
    const dfu = new Dfu(dev, target, { clock, transferTimeoutMs: o.transferTimeoutMs });
    try {
      await dfu.open();
      if (dfu.descriptor?.dfuVersion === DFUSE_VERSION) throw dfuseError(dev.productName || name);
      const ids: UsbIds[] =
        o.vendorId !== undefined || o.productId !== undefined
          ? [{ vendorId: o.vendorId ?? dev.vendorId, productId: o.productId ?? dev.productId }]
          : [
              { vendorId: device.vendorId, productId: device.productId },
              { vendorId: dev.vendorId, productId: dev.productId },
            ];
      const { payload, suffix } = checkImage(image, ids);
      stage = "writing";
      const r = await dfu.download(payload, {
        signal: o.signal,
        progress: (sent, total, phase) => {
          if (phase === "downloading") report("writing", sent, total);
          else if (phase === "manifesting") report("manifesting", 0, 1);
        },
      });
      report("manifesting", 1, 1);
      const canUpload = !!(dfu.descriptor && dfu.descriptor.attributes & Attr.canUpload);
      let verified = false;
      let note = "";
      if ((o.verify ?? true) && canUpload) {
        if (r.reset) {
          note = ", not read back (the device restarted after manifestation)";
        } else {
          report("verifying", 0, payload.length);
          stage = "verifying";
          const back = await dfu.upload(payload.length, { signal: o.signal, progress: (done, total) => report("verifying", done, total) });
          const at = firstDifference(payload, back);
          if (at >= 0) {
            const what = at >= back.length ? `the device sent back only ${back.length} of ${payload.length} bytes` : `byte 0x${at.toString(16)} reads 0x${back[at].toString(16).padStart(2, "0")}, written 0x${payload[at].toString(16).padStart(2, "0")}`;
            throw new FlashError(`Read-back verify failed at offset ${at} (${what}): flash again; if it fails at the same place, the device's memory is faulty.`, "verify_mismatch", at);
          }
          verified = true;
        }
      } else if (o.verify && !canUpload) {
        note = ", not read back (the device cannot upload)";
      }
      report("done", payload.length, payload.length);
      const alt = `alt ${target.alternateSetting} "${target.name}"`;
      return {
        bytes: r.bytes,
        verified,
        elapsedMs: clock.now() - t0,
        device: `${dev.productName || name} (DFU, ${alt})`,
        summary: `${r.bytes} bytes to ${alt} in ${r.blocks} blocks${suffix ? " (.dfu suffix checked)" : ""}${detached ? ", detached into DFU mode" : ""}${verified ? ", verified" : note}${r.reset ? ", device reset" : ""}`,
      };
    } finally {
      await dfu.close();
    }
  } catch (err) {
    if (isCancel(err)) throw cancelledAt(stage, err);
    if (err instanceof FlashError) throw err;
    throw new FlashError(`The flash failed: ${(err as Error)?.message ?? String(err)}. Unplug the board, plug it back in and flash again.`, "device_error");
  }
}

/**
 * cancelledAt is the FlashError "cancelled" for a Cancel at stage, saying
 * what state the board was left in: the driver's own sentence while writing
 * (it knows how far it got and whether the device went back to idle).
 */
function cancelledAt(stage: "start" | "detaching" | "writing" | "verifying", err: unknown): FlashError {
  const idle = err instanceof DfuError && err.state === State.dfuIDLE;
  switch (stage) {
    case "start":
      return cancelled("before anything was sent to the board, which is unchanged. Click Flash to start again.");
    case "detaching":
      return cancelled(
        "while the board was restarting into its DFU bootloader; nothing was written. It may be waiting in its bootloader: unplug it and plug it back in to run its old design. Click Flash to start again.",
      );
    case "verifying":
      return idle
        ? cancelled("while the image was being read back: it was written in full but not checked, and the device is idle in DFU mode. Click Flash to write and check it again.", State.dfuIDLE)
        : cancelled("while the image was being read back: it was written in full but not checked, and the device did not return to idle. Unplug the board, plug it back in and click Flash to write and check it again.");
    case "writing":
      if (err instanceof FlashError && err.code === "cancelled") return err;
      return cancelled("while the image was being written; the device may hold part of it. Unplug the board, plug it back in and click Flash to write it again.");
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/**
 * detachAndFind sends DFU_DETACH to a run-time interface (DFU 1.1 §5.1),
 * resets the device unless it detaches by itself (bitWillDetach), and waits
 * on the clock for it to come back in DFU mode with the same serial number.
 */
async function detachAndFind(device: USBDevice, target: DfuTarget, name: string, clock: Clock, o: DfuFlashOptions): Promise<USBDevice> {
  const nav = typeof navigator === "undefined" ? undefined : (navigator as Navigator & { usb?: USB }).usb;
  const usb = o.usb ?? nav;
  if (!usb) throw new FlashError(`${name} must restart into its DFU bootloader, and this page has no WebUSB to find it again: flash via sessiond.`, "no_webusb");
  report(o, "detaching", 0, 1);
  const rt = new Dfu(device, target, { clock, transferTimeoutMs: o.transferTimeoutMs });
  await rt.open();
  const desc = rt.descriptor;
  if (desc?.dfuVersion === DFUSE_VERSION) {
    await rt.close();
    throw dfuseError(name);
  }
  const wTimeout = desc?.detachTimeout ?? 1000;
  const willDetach = !!(desc && desc.attributes & Attr.willDetach);
  const serial = device.serialNumber ?? "";
  const same = (d: SeenDevice) => d !== device && isDfuMode(d) && (serial ? d.serialNumber === serial : d.vendorId === device.vendorId);
  const seen: SeenDevice[] = [];
  const onConnect = (ev: { device: SeenDevice }) => {
    if (ev?.device) seen.push(ev.device);
  };
  usb.addEventListener?.("connect", onConnect);
  try {
    try {
      try {
        await rt.detach(wTimeout);
      } catch (err) {
        // A device may leave the bus before the status stage completes.
        if (!(err instanceof DfuError && err.code === "unplugged")) throw err;
      }
      if (!willDetach) await rt.usbReset().catch(() => {});
    } finally {
      // Release the run-time interface whatever happened (close ignores a device already gone).
      await rt.close();
    }
    const deadline = clock.now() + (o.reenumerateTimeoutMs ?? 10_000);
    for (;;) {
      if (o.signal?.aborted) throw abortError();
      const granted = await usb.getDevices();
      const found = granted.find(same);
      if (found) {
        report(o, "detaching", 1, 1);
        return found;
      }
      const other = seen.find((d) => same(d) && !granted.some((g) => g === d));
      if (other) {
        throw new FlashError(
          `${name} restarted into its DFU bootloader (USB ${hex4(other.vendorId)}:${hex4(other.productId)}), which the browser treats as a new device this page may not use yet: click Flash again and choose the board in DFU mode.`,
          "permission",
        );
      }
      if (clock.now() >= deadline) {
        throw new FlashError(
          `${name} did not come back in DFU mode where this page may use it within ${Math.round((o.reenumerateTimeoutMs ?? 10_000) / 1000)} s. If it restarted into its bootloader, the browser needs a new permission: click Flash again and choose the board in DFU mode.`,
          "permission",
        );
      }
      await clock.sleep(REENUMERATE_POLL_MS, o.signal);
    }
  } finally {
    usb.removeEventListener?.("connect", onConnect);
  }
}

function report(o: DfuFlashOptions, phase: FlashPhase, done: number, total: number) {
  o.progress?.({ phase, done, total });
}

// --- the original entry point, used by the IDE's Flash (USB) button ---

export interface FlashOptions {
  /** Defaults to navigator.usb; injectable for tests. */
  usb?: Pick<USB, "requestDevice"> | null;
  signal?: AbortSignal;
  progress?(sent: number, total: number, phase: Phase): void;
}

/** hasWebUSB reports whether this browser offers WebUSB (Chromium does; Firefox, Safari and webviews do not). */
export function hasWebUSB(): boolean {
  return typeof navigator !== "undefined" && !!(navigator as Navigator & { usb?: USB }).usb;
}

/** flashWebUSB asks the user for a DFU device and downloads image to it (a DFU-mode device; no detach, no verify). */
export async function flashWebUSB(image: Uint8Array, o: FlashOptions = {}): Promise<DownloadResult & { device: string }> {
  const usb = o.usb === undefined ? (navigator as Navigator & { usb?: USB }).usb : o.usb;
  if (!usb) throw new DfuError("This browser has no WebUSB: use Chromium or Chrome, or flash through sessiond.", undefined, undefined, "no_webusb");
  let device: DfuUsbDevice;
  try {
    device = await usb.requestDevice({ filters: DFU_FILTERS });
  } catch (err) {
    if ((err as Error).name === "NotFoundError") throw new DfuError("No device was chosen.", undefined, undefined, "no_device");
    throw err;
  }
  const targets = findTargets(device);
  const target = targets.find((t) => !t.runtime) ?? targets[0];
  if (!target) throw new DfuError(`${device.productName ?? "The device"} has no DFU interface.`, undefined, undefined, "no_device");
  const dfu = new Dfu(device, target);
  await dfu.open();
  try {
    const r = await dfu.download(image, { signal: o.signal, progress: o.progress });
    return { ...r, device: device.productName ?? "device" };
  } finally {
    await dfu.close();
  }
}

