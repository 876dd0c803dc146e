// The flash benchmark's body, bundled by bench/flash.mjs: each image is
// written into a simulated board (FT2232H MPSSE → SPI NOR → iCE40) on the
// simulator's virtual clock, and its flash time is compared with what the
// SPI clock and the flash chip's datasheet (typical erase and page program
// times) allow for the same work: the ratio is the driver's own overhead
// (USB round trips, polling, command bytes).
import { flashIce40 } from "../src/flash/ice40";
import { createIce40Board, FLASH_CHIPS } from "../src/flash/sim/board";
import { FakeUSB } from "../src/flash/sim/usb";

export interface Case {
  name: string;
  image: Uint8Array;
  fpga: "hx1k" | "hx8k" | "up5k";
  flash: "W25Q32" | "W25Q128" | "N25Q032";
  spiHz: number;
}

export interface Outcome {
  name: string;
  elapsedMs: number;
  boundMs: number;
  ratio: number;
  wallMs: number;
  bytes: number;
  verified: boolean;
}

/**
 * boundMs is the least time the work can take: the cheapest combination of
 * 64 KiB block and 4 KiB sector erases covering the image, every page that
 * holds data programmed for its typical time, and each data byte clocked
 * twice (written, then read back to verify).
 */
export function boundMs(c: Case): number {
  const t = FLASH_CHIPS[c.flash].timing;
  const sectors = Math.ceil(c.image.length / 4096);
  // best[i]: least erase time for the first i 4 KiB sectors; a 64 KiB block covers 16 aligned ones.
  const best = new Array<number>(sectors + 1).fill(Infinity);
  best[0] = 0;
  for (let i = 1; i <= sectors; i++) {
    best[i] = best[i - 1] + t.sectorErase4kMs;
    if (i % 16 === 0) best[i] = Math.min(best[i], best[i - 16] + t.blockErase64kMs);
    else if (i === sectors) best[i] = Math.min(best[i], best[Math.floor(i / 16) * 16] + t.blockErase64kMs);
  }
  let pages = 0;
  for (let off = 0; off < c.image.length; off += t.pageSize) {
    if (c.image.subarray(off, off + t.pageSize).some((x) => x !== 0xff)) pages++;
  }
  const bitsMs = (2 * c.image.length * 8 * 1000) / c.spiHz;
  return best[sectors] + pages * t.pageProgramMs + bitsMs;
}

export async function run(c: Case): Promise<Outcome> {
  const board = createIce40Board({ fpga: c.fpga, flash: c.flash });
  const usb = new FakeUSB({ requireGesture: false });
  usb.plug(board.device);
  const device = await usb.requestDevice({ filters: [] });
  const wall = performance.now();
  const t0 = board.clock.now();
  const r = await flashIce40(device, c.image, { clock: board.clock, spiHz: c.spiHz, expectDevice: c.fpga });
  const elapsedMs = board.clock.now() - t0;
  const wallMs = performance.now() - wall;
  for (let i = 0; i < c.image.length; i++) {
    if (board.flash.memory[i] !== c.image[i]) throw new Error(`${c.name}: flash differs from the image at offset ${i}`);
  }
  if (!board.fpga.cdone) throw new Error(`${c.name}: CDONE stayed low`);
  const b = boundMs(c);
  return { name: c.name, elapsedMs, boundMs: b, ratio: elapsedMs / b, wallMs, bytes: r.bytes, verified: r.verified };
}
