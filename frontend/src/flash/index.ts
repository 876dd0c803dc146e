// Flashing from the browser: the board decides the method (FTDI SPI, DFU,
// TinyFPGA serial). A click first asks for the device, while the click's
// user activation is fresh, and only then is the bitstream fetched and
// written; what stands in the way (no WebUSB, an insecure page, an OS driver)
// is said in words before anything is attempted.
import { flashDfu } from "../dfu/flash";
import { type Board, protocolName, serialFilters, usbFilters } from "./boards";
import { flashIce40 } from "./ice40";
import { checkIce40Image } from "./ice40image";
import { flashTinyprog } from "./tinyprog";
import { FlashError, type FlashOptions, type FlashResult } from "./types";

export type { Board } from "./boards";

/** FlashEnv is what the page offers; tests pass simulators. */
export interface FlashEnv {
  usb?: USB | null;
  serial?: Serial | null;
  /** window.isSecureContext: WebUSB and Web Serial exist only on https:// or localhost pages. */
  secure: boolean;
  /** True inside the desktop app, whose webview has neither API but flashes natively. */
  desktop: boolean;
}

/** browserEnv reads the page's own APIs. */
export function browserEnv(desktop = false): FlashEnv {
  const nav = typeof navigator === "undefined" ? undefined : (navigator as Navigator & { usb?: USB; serial?: Serial });
  return { usb: nav?.usb ?? null, serial: nav?.serial ?? null, secure: typeof isSecureContext === "undefined" ? true : isSecureContext, desktop };
}

/**
 * obstacle says why this page cannot flash the board itself, or null when it
 * can. The sentence names the way that does work.
 */
export function obstacle(b: Board, env: FlashEnv): string | null {
  const api = b.protocol === "tinyprog" ? "Web Serial" : "WebUSB";
  const has = b.protocol === "tinyprog" ? !!env.serial : !!env.usb;
  if (has) return null;
  if (env.desktop) return `The desktop app flashes ${b.name} through sessiond (“via sessiond”), since its window has no ${api}.`;
  if (!env.secure) return `${api} works only on https:// or localhost pages; open the IDE over https, or flash via sessiond.`;
  return `This browser has no ${api}, which flashing ${b.name} (${protocolName(b.protocol)}) needs: use Chrome, Chromium or Edge on a desktop computer, or the Gatewave desktop app.`;
}

/** A device the user chose in the browser's chooser. */
export type Chosen = { board: Board; usb: USBDevice } | { board: Board; serial: SerialPort };

/**
 * chooseDevice shows the browser's chooser for the board. Call it first in
 * a click handler, before any other await, so the click's activation holds.
 */
export async function chooseDevice(b: Board, env: FlashEnv): Promise<Chosen> {
  const why = obstacle(b, env);
  if (why) throw new FlashError(why, "no_webusb");
  try {
    if (b.protocol === "tinyprog") return { board: b, serial: await env.serial!.requestPort({ filters: serialFilters(b) }) };
    return { board: b, usb: await env.usb!.requestDevice({ filters: usbFilters(b) }) };
  } catch (err) {
    throw chooserError(b, err);
  }
}

function chooserError(b: Board, err: unknown): Error {
  const e = err as DOMException;
  if (err instanceof FlashError) return err;
  switch (e?.name) {
    case "NotFoundError":
      return new FlashError(`No device was chosen. Plug in ${b.name}${b.protocol === "tinyprog" ? " and press its reset button (the bootloader runs for a few seconds)" : ""}, then click Flash again.`, "no_device");
    case "SecurityError":
      if (/gesture|activation/i.test(e.message)) return new FlashError("The browser asks for a device only right after a click: click Flash again.", "permission");
      return new FlashError(`The browser refused to show the device chooser (${e.message}). If the IDE is embedded in another page, that page must allow "usb" and "serial".`, "permission");
    default:
      return new FlashError(`The device chooser failed: ${e?.message ?? String(err)}`, "device_error");
  }
}

export interface FlashChosenOptions extends FlashOptions {
  target?: "flash" | "sram";
  /** SPI clock for FTDI boards; default 6 MHz. */
  spiHz?: number;
  env?: FlashEnv;
}

/** flashChosen writes image to the chosen device with the board's method; a Cancel is always FlashError "cancelled". */
export async function flashChosen(c: Chosen, image: Uint8Array, o: FlashChosenOptions = {}): Promise<FlashResult> {
  try {
    return await flashWith(c, image, o);
  } catch (err) {
    if ((err as Error)?.name === "AbortError") throw new FlashError("The flash was cancelled.", "cancelled");
    throw err;
  }
}

async function flashWith(c: Chosen, image: Uint8Array, o: FlashChosenOptions): Promise<FlashResult> {
  const b = c.board;
  const target = o.target ?? "flash";
  if (!b.targets.includes(target)) throw new FlashError(`${b.name} cannot be programmed to ${target === "sram" ? "SRAM" : "flash"} from here.`, "unsupported");
  checkImageFor(b, image);
  if ("usb" in c) {
    const id = `${hex4(c.usb.vendorId)}:${hex4(c.usb.productId)}`;
    if (!b.usb.some((u) => parseInt(u.vid, 16) === c.usb.vendorId && parseInt(u.pid, 16) === c.usb.productId)) {
      throw new FlashError(`The chosen device (${c.usb.productName || "USB device"}, ${id}) is not ${b.name} (${b.usb.map((u) => `${u.vid}:${u.pid}`).join(" or ")}): choose the board itself, or pick the board you have in the list.`, "wrong_device");
    }
  }
  const common: FlashOptions = { signal: o.signal, progress: o.progress, clock: o.clock };
  if ("serial" in c) return flashTinyprog(c.serial, image, common);
  if (b.protocol === "dfu") return flashDfu(c.usb, image, { ...common, usb: o.env?.usb ?? undefined, alt: b.dfu?.alt });
  const usb = b.usb.find((u) => u.vid === hex4(c.usb.vendorId) && u.pid === hex4(c.usb.productId)) ?? b.usb[0];
  return flashIce40(c.usb, image, { ...common, target, spiHz: o.spiHz, expectDevice: b.device, interface: usb?.interface ?? 0 });
}

/**
 * checkImageFor refuses, before any device is touched, a bitstream made for
 * another FPGA than the board's: an iCE40 image's CRAM geometry names its
 * die, and an iCE40 image is no use to an ECP5.
 */
export function checkImageFor(b: Board, image: Uint8Array): void {
  if (b.family === "ice40") {
    checkIce40Image(image, b.device);
    return;
  }
  if (findSync(image) >= 0) throw new FlashError(`This is an iCE40 bitstream, but ${b.name} has an ${b.fpga}: build the design for the board's FPGA and flash again.`, "wrong_device");
}

function findSync(b: Uint8Array): number {
  for (let i = 0; i + 4 <= Math.min(b.length, 1028); i++) if (b[i] === 0x7e && b[i + 1] === 0xaa && b[i + 2] === 0x99 && b[i + 3] === 0x7e) return i;
  return -1;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}

/** explainError is the sentence a failed flash shows. */
export function explainError(err: unknown): string {
  if (err instanceof FlashError) return err.message;
  const e = err as Error;
  if (e?.name === "AbortError") return "The flash was cancelled.";
  return e?.message ?? String(err);
}
