// Flashing a bitstream over WebUSB with the DFU driver.
import { Dfu, DfuError, findTargets, type DfuUsbDevice, type DownloadResult, type Phase } from "./dfu";
import { DFU_CLASS, DFU_SUBCLASS } from "./protocol";

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

/** flashWebUSB asks the user for a DFU device and downloads image to it. */
export async function flashWebUSB(image: Uint8Array, o: FlashOptions = {}): Promise<DownloadResult & { device: string }> {
  const usb = o.usb === undefined ? (navigator as Navigator & { usb?: USB }).usb : o.usb;
  if (!usb) throw new DfuError("This browser has no WebUSB: use Chromium or Chrome, or flash through sessiond.");
  let device: DfuUsbDevice;
  try {
    device = await usb.requestDevice({ filters: [{ classCode: DFU_CLASS, subclassCode: DFU_SUBCLASS }] });
  } catch (err) {
    if ((err as Error).name === "NotFoundError") throw new DfuError("No device was chosen.");
    throw err;
  }
  const targets = findTargets(device);
  const target = targets.find((t) => !t.runtime) ?? targets[0];
  if (!target) throw new DfuError(`${device.productName ?? "The device"} has no DFU interface.`);
  const dfu = new Dfu(device, target);
  await dfu.open();
  try {
    const r = await dfu.download(image, { signal: o.signal, progress: o.progress });
    return { ...r, device: device.productName ?? "device" };
  } finally {
    await dfu.close();
  }
}
