// The DFU file suffix (USB DFU 1.1, appendix B): 16 bytes at the end of a
// .dfu file naming the device the image is for and protecting the file with
// a CRC. Layout, from the first suffix byte (little-endian fields):
//   +0 bcdDevice  +2 idProduct  +4 idVendor  +6 bcdDFU
//   +8 ucDfuSignature "UFD" (0x55 0x46 0x44)  +11 bLength (16)  +12 dwCRC
import { FlashError } from "../flash/types";

export const SUFFIX_LENGTH = 16;
/** bcdDFU of a plain DFU 1.0/1.1 file; 0x011A marks an ST DfuSe file (UM0391). */
export const SUFFIX_BCD_DFU = 0x0100;
export const SUFFIX_BCD_DFUSE = 0x011a;

export interface DfuSuffix {
  bcdDevice: number;
  idProduct: number;
  idVendor: number;
  bcdDFU: number;
  length: number;
  crc: number;
  /** The CRC computed over the file (everything but dwCRC). */
  computedCrc: number;
}

let table: Uint32Array | null = null;

/**
 * dfuCrc is the suffix's CRC (DFU 1.1 appendix B.1): the standard CRC-32
 * polynomial (reflected, 0xEDB88320), initial value 0xFFFFFFFF and, unlike
 * zlib's CRC-32, no final XOR.
 */
export function dfuCrc(data: Uint8Array, crc = 0xffffffff): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return crc >>> 0;
}

/** parseSuffix reads the suffix at the end of file, or returns null when the file has none. */
export function parseSuffix(file: Uint8Array): DfuSuffix | null {
  if (file.length < SUFFIX_LENGTH) return null;
  const s = file.length - SUFFIX_LENGTH;
  if (file[s + 8] !== 0x55 || file[s + 9] !== 0x46 || file[s + 10] !== 0x44) return null;
  const length = file[s + 11];
  if (length !== SUFFIX_LENGTH) return null;
  const v = new DataView(file.buffer, file.byteOffset + s, SUFFIX_LENGTH);
  return {
    bcdDevice: v.getUint16(0, true),
    idProduct: v.getUint16(2, true),
    idVendor: v.getUint16(4, true),
    bcdDFU: v.getUint16(6, true),
    length,
    crc: v.getUint32(12, true),
    computedCrc: dfuCrc(file.subarray(0, file.length - 4)),
  };
}

/** addSuffix appends a suffix with a correct CRC (for tests and for people who build .dfu files). */
export function addSuffix(payload: Uint8Array, ids: { idVendor?: number; idProduct?: number; bcdDevice?: number; bcdDFU?: number } = {}): Uint8Array {
  const out = new Uint8Array(payload.length + SUFFIX_LENGTH);
  out.set(payload);
  const v = new DataView(out.buffer, payload.length, SUFFIX_LENGTH);
  v.setUint16(0, ids.bcdDevice ?? 0xffff, true);
  v.setUint16(2, ids.idProduct ?? 0xffff, true);
  v.setUint16(4, ids.idVendor ?? 0xffff, true);
  v.setUint16(6, ids.bcdDFU ?? SUFFIX_BCD_DFU, true);
  out.set([0x55, 0x46, 0x44, SUFFIX_LENGTH], payload.length + 8);
  v.setUint32(12, dfuCrc(out.subarray(0, out.length - 4)), true);
  return out;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}

/** An id pair an image may be for; 0xFFFF in the suffix matches any. */
export interface UsbIds {
  vendorId: number;
  productId: number;
}

/**
 * checkImage returns the bytes to download: the file itself when it has no
 * suffix, else the file without its suffix once the CRC, bcdDFU and (when
 * devices are given) the vendor/product ids check out. devices lists the
 * ids the image may name (a run-time device and its bootloader may differ).
 */
export function checkImage(file: Uint8Array, devices: UsbIds[] = []): { payload: Uint8Array; suffix: DfuSuffix | null } {
  const suffix = parseSuffix(file);
  if (!suffix) return { payload: file, suffix: null };
  if (suffix.crc !== suffix.computedCrc) {
    throw new FlashError(
      `The .dfu file is damaged: its suffix CRC is 0x${suffix.crc.toString(16).padStart(8, "0")} but the file's is 0x${suffix.computedCrc.toString(16).padStart(8, "0")}. Build or download it again.`,
      "bad_image",
    );
  }
  if (suffix.bcdDFU === SUFFIX_BCD_DFUSE) {
    throw new FlashError("This is an ST DfuSe file (bcdDFU 0x011A), which carries addresses for STM32 DfuSe bootloaders; use dfu-util -s or the desktop app.", "unsupported");
  }
  if (suffix.bcdDFU !== SUFFIX_BCD_DFU && suffix.bcdDFU !== 0x0110) {
    throw new FlashError(`The .dfu suffix has an unknown bcdDFU 0x${hex4(suffix.bcdDFU)} (expected 0x0100); rebuild the file with dfu-suffix.`, "bad_image");
  }
  const fits = (d: UsbIds) => (suffix.idVendor === 0xffff || suffix.idVendor === d.vendorId) && (suffix.idProduct === 0xffff || suffix.idProduct === d.productId);
  if (devices.length > 0 && !devices.some(fits)) {
    const have = devices.map((d) => `${hex4(d.vendorId)}:${hex4(d.productId)}`).join(" / ");
    throw new FlashError(
      `The .dfu file is for USB device ${hex4(suffix.idVendor)}:${hex4(suffix.idProduct)}, but the chosen device is ${have}. Choose the board the file was built for, or rebuild it for this one.`,
      "wrong_device",
    );
  }
  return { payload: file.subarray(0, file.length - SUFFIX_LENGTH), suffix };
}
