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
 * boundMs is the least time the work can take at hz: the cheapest cover of
 * the image's 4 KiB sectors by aligned 4, 32 (where the chip has it) and
 * 64 KiB erases at the datasheet's typical times, every page that holds
 * data programmed for its typical time, and each data byte clocked once
 * (written), twice with verify (read back).
 */
export function boundMs(chip: string, image: Uint8Array, hz: number, verify = true): number {
  const t = FLASH_CHIPS[chip].timing;
  const n = Math.ceil(image.length / 4096);
  // best[k]: least erase time covering the first k sectors (an erase may run past the image's end).
  const best = new Array<number>(n + 1).fill(Infinity);
  best[0] = 0;
  for (let k = 0; k < n; k++) {
    const step = (units: number, ms: number) => {
      const to = Math.min(n, k + units);
      best[to] = Math.min(best[to], best[k] + ms);
    };
    step(1, t.sectorErase4kMs);
    if (t.blockErase32kMs !== undefined && k % 8 === 0) step(8, t.blockErase32kMs);
    if (k % 16 === 0) step(16, t.blockErase64kMs);
  }
  let pages = 0;
  for (let off = 0; off < image.length; off += t.pageSize) {
    if (image.subarray(off, off + t.pageSize).some((x) => x !== 0xff)) pages++;
  }
  const bitsMs = ((verify ? 2 : 1) * image.length * 8 * 1000) / hz;
  return best[n] + pages * t.pageProgramMs + bitsMs;
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
  const b = boundMs(c.flash, c.image, c.spiHz);
  return { name: c.name, elapsedMs, boundMs: b, ratio: elapsedMs / b, wallMs, bytes: r.bytes, verified: r.verified };
}
