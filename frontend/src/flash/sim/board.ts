// An iCE40 board programmed through an FTDI bridge (iCEstick, iCEBreaker,
// HX8K breakout), assembled from the datasheet models: the FTDI chip and its
// MPSSE (ftdi.ts), the SPI NOR flash (spiflash.ts) and the FPGA's
// configuration logic (ice40.ts).
//
// Wiring (the boards' schematics; the same lines every FTDI iCE40 programmer uses),
// channel A (interface 0) ADBUS:
//   ADBUS0 SCK → flash CLK (and the FPGA's SPI_SCK)
//   ADBUS1 MOSI → flash DI (and, in SRAM wiring, the FPGA's SPI_SI)
//   ADBUS2 MISO ← flash DO
//   ADBUS4 → flash CS# and the FPGA's SPI_SS_B (active low)
//   ADBUS6 ← CDONE (open drain, pulled up on the board: reads 1 once configured)
//   ADBUS7 → CRESET_B (pulled up on the board: the FPGA leaves reset while the FTDI pins are inputs)
// Undriven lines read 1 (FTDI input pull-ups, board pull-ups). Channel B is
// not connected to anything modelled. In SRAM wiring the flash stays on the
// bus (as on the iCEBreaker); a programmer should power it down first.
import { VirtualClock } from "./clock";
import type { SimUsbDevice } from "./usb";
import { FtdiDevice, type BridgeName, type PinWiring } from "./ftdi";
import { FLASH_CHIPS, SpiFlash, type FlashChipName, type FlashTiming } from "./spiflash";
import { Ice40, ICE40_DEVICES, checkImage, type Ice40DeviceName } from "./ice40";

export { FLASH_CHIPS, type FlashTiming } from "./spiflash";
export { checkImage, ICE40_DEVICES } from "./ice40";

export interface Ice40BoardOptions {
  bridge?: "FT2232H" | "FT232H" | "FT2232D";
  flash?: "W25Q32" | "W25Q128" | "N25Q032";
  fpga?: "hx1k" | "hx8k" | "up5k";
  sram?: boolean;
  clock?: VirtualClock;
  productName?: string;
  serialNumber?: string;
  poweredDown?: boolean;
  flashContents?: Uint8Array;
  kernelDriver?: boolean;
  /**
   * The board's jumpers take the flash off the programmer's lines: the
   * iCE40-HX8K breakout set for SRAM (J7 open, J6 across), where the FTDI
   * reaches only the FPGA. Default false (the flash shares the bus).
   */
  flashDisconnected?: boolean;
  /** A chip that answers this JEDEC id (otherwise behaving as flash does): an unknown or counterfeit part. */
  jedecId?: [number, number, number];
}

export interface Ice40Board {
  device: SimUsbDevice;
  clock: VirtualClock;
  flash: {
    memory: Uint8Array;
    jedecId: [number, number, number];
    size: number;
    poweredDown: boolean;
    log: string[];
    timing: FlashTiming;
    /** Additive: per 4 KiB sector, how often it was erased / had a page programmed. */
    sectorErases: Uint32Array;
    sectorPrograms: Uint32Array;
    /** Additive: called after each flash command is logged (tests unplug from here). */
    onCommand?: (entry: string) => void;
  };
  fpga: {
    cdone: boolean;
    /** Where the last successful configuration came from. */
    configuredFrom: "flash" | "sram" | null;
    /** Configuration cycles started: every CRESET_B release, power-on included. */
    configs: number;
    /** Additive: configuration cycles that raised CDONE. */
    boots: number;
    /** Additive: why the last configuration attempt failed ("" when it did not). */
    lastError: string;
    device: Ice40DeviceName;
  };
  /** Bus/device activity counters for the bench, e.g. usbTransfers, spiBytes, busyMs. */
  stats: Record<string, number>;
}

export type { FlashChipName, BridgeName, Ice40DeviceName };

export function createIce40Board(o: Ice40BoardOptions = {}): Ice40Board {
  const clock = o.clock ?? new VirtualClock();
  const chip = o.flash ?? "N25Q032";
  if (!FLASH_CHIPS[chip]) throw new Error(`unknown flash chip ${chip}`);
  const dev = o.fpga ?? "hx1k";
  if (!ICE40_DEVICES[dev]) throw new Error(`unknown iCE40 device ${dev}`);
  const flash = new SpiFlash(chip, o.flashContents, false);
  if (o.jedecId) flash.chip = { ...flash.chip, jedecId: [...o.jedecId] };
  const fpga = new Ice40(dev, { fpgaReader: (t) => flash.fpgaReader(t), size: flash.chip.size }, !!o.sram);
  // Power-on: CRESET_B is pulled high and SPI_SS_B pulled up, so the FPGA configures itself from the flash.
  fpga.setReset(false, false, 0);
  fpga.setReset(true, false, 0);
  if (o.poweredDown) {
    // A flash left in deep power-down (e.g. by an earlier SRAM programming session).
    flash.select(0);
    flash.clockByte(0xb9, 0);
    flash.deselect(0);
    flash.log.length = 0;
  }

  let prev = 0xff;
  const wiring: PinWiring = {
    inputs: (t) => 0xff & ~(fpga.cdoneAt_(t) ? 0 : 0x40),
    pins(levels, t) {
      const changed = levels ^ prev;
      prev = levels;
      if (changed & 0x10 && !o.flashDisconnected) {
        if (levels & 0x10) flash.deselect(t);
        else flash.select(t);
      }
      if (changed & 0x80) fpga.setReset((levels & 0x80) !== 0, (levels & 0x10) === 0, t);
    },
    clock(levels, mosi, t) {
      if (levels !== prev) this.pins(levels, t);
      const csLow = (levels & 0x10) === 0;
      const miso = csLow && !o.flashDisconnected ? flash.clockBit(mosi, t) : 1;
      if (fpga.listening) fpga.clock(mosi, csLow, t);
      return miso;
    },
    clockByte(levels, mosi, t) {
      if (fpga.listening) return undefined;
      if (levels !== prev) this.pins(levels, t);
      return (levels & 0x10) === 0 && !o.flashDisconnected ? flash.clockByte(mosi, t) : 0xff;
    },
  };
  const ftdi = new FtdiDevice({
    bridge: (o.bridge ?? "FT2232H") as BridgeName,
    clock,
    productName: o.productName,
    serialNumber: o.serialNumber,
    kernelDriver: o.kernelDriver,
    wiring: [wiring],
  });

  const flashView = {
    memory: flash.memory,
    jedecId: [...flash.chip.jedecId] as [number, number, number],
    size: flash.chip.size,
    get poweredDown() {
      return flash.poweredDownAt(clock.now());
    },
    log: flash.log,
    timing: flash.timing,
    sectorErases: flash.sectorErases,
    sectorPrograms: flash.sectorPrograms,
    get onCommand() {
      return flash.onCommand;
    },
    set onCommand(f: ((e: string) => void) | undefined) {
      flash.onCommand = f;
    },
  };
  const fpgaView = {
    get cdone() {
      return fpga.cdoneAt_(clock.now());
    },
    get configuredFrom() {
      return fpga.configuredFrom;
    },
    get configs() {
      return fpga.configs;
    },
    get boots() {
      return fpga.boots;
    },
    get lastError() {
      return fpga.lastError;
    },
    device: dev,
  };
  const sum = (a: Uint32Array) => a.reduce((x, y) => x + y, 0);
  const counters: Record<string, () => number> = {
    usbTransfers: () => ftdi.stats.usbTransfers,
    controlTransfers: () => ftdi.stats.controlTransfers,
    bytesOut: () => ftdi.stats.bytesOut,
    bytesIn: () => ftdi.stats.bytesIn,
    spiBits: () => ftdi.stats.spiBits,
    spiBytes: () => Math.floor(ftdi.stats.spiBits / 8),
    latencyWaits: () => ftdi.stats.latencyWaits,
    latencyWaitMs: () => ftdi.stats.latencyWaitMs,
    flowControlWaitMs: () => ftdi.stats.flowControlWaitMs,
    badCommands: () => ftdi.stats.badCommands,
    edgeViolations: () => ftdi.stats.edgeViolations,
    marginalReads: () => ftdi.stats.marginalReads,
    busyMs: () => flash.busyMs,
    sectorErases: () => sum(flash.sectorErases),
    pagePrograms: () => sum(flash.sectorPrograms),
    maxSectorErases: () => flash.sectorErases.reduce((x, y) => Math.max(x, y), 0),
    fpgaConfigs: () => fpga.configs,
    fpgaBoots: () => fpga.boots,
  };
  const stats: Record<string, number> = {};
  for (const [k, f] of Object.entries(counters)) Object.defineProperty(stats, k, { get: f, enumerable: true });
  return { device: ftdi, clock, flash: flashView, fpga: fpgaView, stats };
}

/** isValidImage says whether an image would configure the given device (for tests and the bench). */
export function isValidImage(image: Uint8Array, dev: Ice40DeviceName): boolean {
  return checkImage(image, dev) === null;
}
