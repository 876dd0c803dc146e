// The board list (sessiond/flash/boards.json, served at
// GET api/v1/flash/boards): which boards exist, how each is programmed, and
// the WebUSB/Web Serial filters that find it.

export type Protocol = "ftdi-spi" | "dfu" | "tinyprog";

export interface BoardUsb {
  /** Hex, four digits, as lsusb prints them. */
  vid: string;
  pid: string;
  /** The USB bridge chip, for FTDI boards: FT2232H, FT232H, FT2232D. */
  bridge?: string;
  /** The bridge's interface wired to the FPGA (FTDI: 0 = A). */
  interface?: number;
  /** A DFU run-time id, which detaches into the bootloader's id. */
  runtime?: boolean;
}

export interface Board {
  id: string;
  name: string;
  fpga: string;
  family: string;
  /** The FPGA as nextpnr names it (hx1k, hx8k, up5k, lp8k, 25k). */
  device: string;
  usb: BoardUsb[];
  protocol: Protocol;
  pins?: Record<string, string>;
  flash?: { chips: string[]; size: number };
  targets: ("flash" | "sram")[];
  pcf?: string;
  openfpgaloader?: { board?: string; cable?: string };
  dfu?: { alt?: number };
  notes?: string;
}

/** NativeDevice is one entry of GET api/v1/flash/devices: a USB device on sessiond's host. */
export interface NativeDevice {
  vid: string;
  pid: string;
  product?: string;
  manufacturer?: string;
  serial?: string;
  bus?: number;
  address?: number;
  boards: string[];
  accessible: boolean;
  driver?: string;
  problem?: string;
}

/** usbFilters are the WebUSB chooser filters for a board's ids. */
export function usbFilters(b: Board): USBDeviceFilter[] {
  return b.usb.map((u) => ({ vendorId: parseInt(u.vid, 16), productId: parseInt(u.pid, 16) }));
}

/** serialFilters are the Web Serial chooser filters for a board's ids. */
export function serialFilters(b: Board): SerialPortFilter[] {
  return b.usb.map((u) => ({ usbVendorId: parseInt(u.vid, 16), usbProductId: parseInt(u.pid, 16) }));
}

/** protocolName says how a board is programmed, for people. */
export function protocolName(p: Protocol): string {
  switch (p) {
    case "ftdi-spi":
      return "FTDI, SPI";
    case "dfu":
      return "USB DFU";
    case "tinyprog":
      return "TinyFPGA bootloader, serial";
  }
}

/**
 * guessBoard picks the board a workspace most likely targets: the one whose
 * pin file the workspace has (icestick.pcf → iCEstick), else the first.
 */
export function guessBoard(boards: Board[], files: string[]): Board | undefined {
  const names = new Set(files.map((f) => f.slice(f.lastIndexOf("/") + 1).toLowerCase()));
  return boards.find((b) => b.pcf && names.has(b.pcf.toLowerCase())) ?? boards[0];
}
