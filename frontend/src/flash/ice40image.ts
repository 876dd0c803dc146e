// iCE40 bitstreams as icepack writes them (Project IceStorm, "Bitstream
// format"): an optional comment block (0xFF 0x00, NUL-separated strings,
// 0x00 0xFF), the synchronisation word 0x7EAA997E, then commands. Each
// command byte holds an opcode in its high nibble and the number of payload
// bytes (big-endian) in its low nibble:
//   0: 1 = CRAM data follows, 3 = BRAM data follows, 5 = reset CRC, 6 = wakeup, 8 = reboot
//   1: bank number            2: CRC check
//   5: oscillator range       6: bank width - 1
//   7: bank height            8: bank offset
//   9: feature flags (cold/warm boot, nosleep)
// A data command is followed by width*height/8 bytes and two zero bytes.
// The CRAM bank geometry tells which die the image was made for; so does its
// length for images straight from icepack (measured with yosys 0.23,
// nextpnr-ice40 and icepack from Debian bookworm on examples/blinky:
// lp384 7334, hx1k 32220, hx8k 135100, up5k 104090 bytes).
import { FlashError } from "./types";

/** A die (one CRAM geometry) and the device names built on it. */
export interface Ice40Die {
  /** The die as IceStorm names it: "384", "1k", "5k", "8k". */
  die: string;
  /** The device names sharing it (board.json's "device" values). */
  devices: string[];
  /** CRAM bank width and the heights of banks 0..3 (IceStorm chip database). */
  cramWidth: number;
  cramHeights: number[];
  /** The length of a plain icepack image for this die. */
  imageBytes: number;
}

export const ICE40_DIES: Ice40Die[] = [
  { die: "384", devices: ["lp384"], cramWidth: 182, cramHeights: [80, 80, 80, 80], imageBytes: 7334 },
  { die: "1k", devices: ["hx1k", "lp1k"], cramWidth: 332, cramHeights: [144, 144, 144, 144], imageBytes: 32220 },
  { die: "5k", devices: ["up5k", "up3k"], cramWidth: 692, cramHeights: [336, 176, 336, 176], imageBytes: 104090 },
  { die: "8k", devices: ["hx8k", "lp8k", "hx4k", "lp4k"], cramWidth: 872, cramHeights: [272, 272, 272, 272], imageBytes: 135100 },
];

/** What parseIce40Image found. */
export interface Ice40Image {
  /** The die, or null when the image has no CRAM geometry we know. */
  die: Ice40Die | null;
  /** Offset of the sync word. */
  syncOffset: number;
  /** The comment strings of the header block (icepack writes none; others write tool names). */
  comments: string[];
  /** CRAM banks in the order they appear: bank number, width, height. */
  cramBanks: { bank: number; width: number; height: number }[];
  /** True when a wakeup command was found. */
  wakeup: boolean;
}

const SYNC = [0x7e, 0xaa, 0x99, 0x7e];

function findSync(b: Uint8Array, limit: number): number {
  for (let i = 0; i + 4 <= Math.min(b.length, limit); i++) {
    if (b[i] === SYNC[0] && b[i + 1] === SYNC[1] && b[i + 2] === SYNC[2] && b[i + 3] === SYNC[3]) return i;
  }
  return -1;
}

function hex(n: number, w = 2): string {
  return "0x" + n.toString(16).toUpperCase().padStart(w, "0");
}

/**
 * parseIce40Image walks the bitstream's commands; it throws FlashError
 * "bad_image" for a file that is not an iCE40 bitstream (no sync word,
 * a command or bank data running past the end).
 */
export function parseIce40Image(b: Uint8Array, depth = 0): Ice40Image {
  if (b.length < 8) throw new FlashError(`The file is ${b.length} bytes long, too short to be an iCE40 bitstream: build the design again and flash the .bin icepack writes.`, "bad_image");
  const comments: string[] = [];
  let i = 0;
  if (b[0] === 0xff && b[1] === 0x00) {
    // Comment block: strings separated by 0x00, ended by 0x00 0xFF.
    i = 2;
    let start = 2;
    while (i + 1 < b.length && !(b[i] === 0x00 && b[i + 1] === 0xff)) {
      if (b[i] === 0x00) {
        comments.push(ascii(b.subarray(start, i)));
        start = i + 1;
      }
      i++;
    }
    if (i > start) comments.push(ascii(b.subarray(start, i)));
    i += 2;
  }
  // Some tools pad with 0xFF before the sync word; accept up to 1 KiB of anything.
  const sync = findSync(b, i + 1024 + 4);
  if (sync < 0) {
    throw new FlashError(
      "The file has no iCE40 synchronisation word (7E AA 99 7E) at its start: it is not an iCE40 bitstream. Flash the .bin file icepack (or the Build task) writes, not the .asc, .json or a bitstream for another FPGA.",
      "bad_image",
    );
  }
  i = sync + 4;
  let width = 0;
  let height = 0;
  let bank = 0;
  let wakeup = false;
  let bootAddr = -1;
  const cramBanks: Ice40Image["cramBanks"] = [];
  while (i < b.length && !wakeup) {
    const cmd = b[i++];
    const op = cmd >> 4;
    const n = cmd & 15;
    if (i + n > b.length) throw new FlashError(`The bitstream ends inside command ${hex(cmd)} at offset ${i - 1}: the file is truncated; build it again.`, "bad_image");
    let v = 0;
    for (let k = 0; k < n; k++) v = v * 256 + b[i + k];
    i += n;
    switch (op) {
      case 0:
        if (v === 1 || v === 3) {
          const len = (width * height) / 8;
          if (!Number.isInteger(len) || len <= 0) throw new FlashError(`The bitstream has bank data at offset ${i - 2} before a valid bank size (${width}×${height}): it is damaged; build it again.`, "bad_image");
          if (i + len > b.length) throw new FlashError(`The bitstream ends inside ${v === 1 ? "CRAM" : "BRAM"} bank ${bank} (needs ${len} bytes from offset ${i}, the file has ${b.length - i}): the file is truncated; build it again.`, "bad_image");
          if (v === 1) cramBanks.push({ bank, width, height });
          i += len + 2;
        } else if (v === 6) wakeup = true;
        else if (v === 8) {
          // Reboot: a multi-boot (icemulti) file starts with warm-boot headers pointing at the
          // images; the one at power-on is the first header's, so check that image.
          if (depth === 0 && bootAddr > i && bootAddr < b.length) {
            const first = parseIce40Image(b.subarray(bootAddr), 1);
            return { ...first, syncOffset: bootAddr + first.syncOffset };
          }
          wakeup = true;
        }
        break;
      case 4:
        // Boot address of a warm-boot header (24 bits).
        bootAddr = v & 0xffffff;
        break;
      case 1:
        bank = v;
        break;
      case 6:
        width = v + 1;
        break;
      case 7:
        height = v;
        break;
      default:
        // 2 CRC, 5 oscillator, 8 offset, 9 flags: nothing to check here.
        break;
    }
  }
  return { die: dieOf(cramBanks, b.length), syncOffset: sync, comments, cramBanks, wakeup };
}

function dieOf(banks: Ice40Image["cramBanks"], length: number): Ice40Die | null {
  if (banks.length > 0) {
    const w = banks[0].width;
    const byGeometry = ICE40_DIES.find((d) => d.cramWidth === w && banks.every((x) => x.width === w && d.cramHeights[x.bank & 3] === x.height));
    if (byGeometry) return byGeometry;
    return null;
  }
  return ICE40_DIES.find((d) => d.imageBytes === length) ?? null;
}

/** article is "an" before a name read with a vowel sound (HX "aitch-ex", LP "el-pee"), "a" otherwise (UP "you-pee"). */
function article(device: string): string {
  return /^[hlfmnrsx]/i.test(device) ? "an" : "a";
}

function ascii(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : "?";
  return s;
}

/** dieForDevice maps a device name ("hx1k", "iCE40-HX8K", "up5k") to its die, or null when unknown. */
export function dieForDevice(device: string): Ice40Die | null {
  const d = device.toLowerCase().replace(/^ice40-?/, "").replace(/^ice5/, "");
  return ICE40_DIES.find((x) => x.devices.includes(d)) ?? null;
}

/**
 * checkIce40Image parses the image and, when expectDevice is given and
 * known, refuses an image made for another die with FlashError
 * "wrong_device" naming both.
 */
export function checkIce40Image(b: Uint8Array, expectDevice?: string): Ice40Image {
  const img = parseIce40Image(b);
  if (!expectDevice) return img;
  const want = dieForDevice(expectDevice);
  if (!want) return img;
  if (!img.die) {
    throw new FlashError(
      `The bitstream's configuration memory layout (${img.cramBanks.map((x) => `${x.width}×${x.height}`).join(", ") || "none"}) matches no iCE40 we know, and the board has ${article(expectDevice)} ${expectDevice.toUpperCase()}: build the design for --${expectDevice} and flash again.`,
      "wrong_device",
    );
  }
  if (img.die !== want) {
    throw new FlashError(
      `This bitstream is for an iCE40 ${img.die.devices[0].toUpperCase()} (${img.die.die} die, ${b.length} bytes) but the board has ${article(expectDevice)} ${expectDevice.toUpperCase()}: build the design for --${expectDevice} (nextpnr-ice40) and flash again.`,
      "wrong_device",
    );
  }
  return img;
}
