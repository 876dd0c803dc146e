// The vocabulary every browser flasher shares (FTDI/SPI, DFU, TinyFPGA
// serial): phases and progress, a clock that tests can replace with the
// simulators' virtual time, and errors that say in words what went wrong.

/** Where a flash is. Each driver reports the phases it goes through, in order. */
export type FlashPhase =
  | "connecting"
  | "identifying"
  | "waking"
  | "erasing"
  | "writing"
  | "verifying"
  | "configuring"
  | "detaching"
  | "manifesting"
  | "done";

/** Progress within one phase: done of total units (bytes unless the phase says otherwise). */
export interface FlashProgress {
  phase: FlashPhase;
  done: number;
  total: number;
}

/** Clock is the driver's only source of time: real in the browser, virtual in the simulators. */
export interface Clock {
  /** Milliseconds since an arbitrary origin. */
  now(): number;
  /** Waits ms milliseconds, rejecting with an AbortError when signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** abortError is what a cancelled flash rejects with. */
export function abortError(): DOMException {
  return new DOMException("The flash was cancelled", "AbortError");
}

/** realClock uses performance.now and timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError());
      const onAbort = () => {
        clearTimeout(t);
        reject(abortError());
      };
      const t = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
};

/** What went wrong, for code to branch on; the message says it for people. */
export type FlashErrorCode =
  | "no_webusb" // the browser has no WebUSB (or Web Serial) at all
  | "no_device" // nothing was chosen, or nothing matching is plugged in
  | "permission" // the request needs a click, or the user/OS denied access
  | "claim_failed" // an OS driver (Linux ftdi_sio, Windows without WinUSB) holds the interface
  | "unsupported" // the device speaks something we refuse (DfuSe, unknown chip)
  | "wrong_chip" // the SPI flash's JEDEC id is not one we know or not what the board has
  | "too_large" // the image does not fit the flash or the target
  | "wrong_device" // the bitstream is for another FPGA (or another USB product, for .dfu)
  | "bad_image" // the file is not a valid image (bad .dfu CRC, no iCE40 preamble)
  | "verify_mismatch" // read-back differs; offset says where
  | "no_cdone" // the FPGA did not raise CDONE after configuration
  | "unplugged" // the device went away mid-flash
  | "timeout" // a transfer or the device took longer than it may
  | "cancelled"
  | "device_error"; // the device reported a failure (DFU status, stalled request)

/** FlashError is thrown by every flasher; message is a complete sentence a user can act on. */
export class FlashError extends Error {
  constructor(
    message: string,
    readonly code: FlashErrorCode,
    /** Byte offset in the image, for verify_mismatch and write failures. */
    readonly offset?: number,
  ) {
    super(message);
    this.name = "FlashError";
  }

  /**
   * Data the flasher read from the device to put back (it shared an erased
   * sector with the image) and could not: the caller saves it, so nothing
   * the user had on the flash is lost.
   */
  rescue?: { addr: number; data: Uint8Array }[];
}

/** Options every flasher accepts. */
export interface FlashOptions {
  signal?: AbortSignal;
  progress?(p: FlashProgress): void;
  /** Defaults to realClock; the simulators pass their virtual clock. */
  clock?: Clock;
}

/** What a finished flash reports. */
export interface FlashResult {
  /** Bytes written to the device. */
  bytes: number;
  /** True when the image was read back and compared equal. */
  verified: boolean;
  /** Elapsed time on the clock the flash used. */
  elapsedMs: number;
  /** The device as the user knows it, e.g. "iCEstick (FT2232H, N25Q032)". */
  device: string;
  /** One line for the status bar, e.g. "32220 bytes to flash at 0x0, verified, CDONE high". */
  summary: string;
}
