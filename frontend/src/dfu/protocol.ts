// Constants of the USB Device Firmware Upgrade specification, revision 1.1.

/** Class-specific requests (DFU 1.1 §3, table 3.2). */
export const Request = {
  DETACH: 0,
  DNLOAD: 1,
  UPLOAD: 2,
  GETSTATUS: 3,
  CLRSTATUS: 4,
  GETSTATE: 5,
  ABORT: 6,
} as const;

/** Device states (DFU 1.1 §6.1.2). */
export const State = {
  appIDLE: 0,
  appDETACH: 1,
  dfuIDLE: 2,
  dfuDNLOAD_SYNC: 3,
  dfuDNBUSY: 4,
  dfuDNLOAD_IDLE: 5,
  dfuMANIFEST_SYNC: 6,
  dfuMANIFEST: 7,
  dfuMANIFEST_WAIT_RESET: 8,
  dfuUPLOAD_IDLE: 9,
  dfuERROR: 10,
} as const;

export const stateNames = [
  "appIDLE", "appDETACH", "dfuIDLE", "dfuDNLOAD-SYNC", "dfuDNBUSY", "dfuDNLOAD-IDLE",
  "dfuMANIFEST-SYNC", "dfuMANIFEST", "dfuMANIFEST-WAIT-RESET", "dfuUPLOAD-IDLE", "dfuERROR",
];

/** Status codes (DFU 1.1 §6.1.2, table 6.1). */
export const Status = {
  OK: 0x00,
  errTARGET: 0x01,
  errFILE: 0x02,
  errWRITE: 0x03,
  errERASE: 0x04,
  errCHECK_ERASED: 0x05,
  errPROG: 0x06,
  errVERIFY: 0x07,
  errADDRESS: 0x08,
  errNOTDONE: 0x09,
  errFIRMWARE: 0x0a,
  errVENDOR: 0x0b,
  errUSBR: 0x0c,
  errPOR: 0x0d,
  errUNKNOWN: 0x0e,
  errSTALLEDPKT: 0x0f,
} as const;

export const statusText: Record<number, [string, string]> = {
  0x00: ["OK", "no error condition is present"],
  0x01: ["errTARGET", "file is not targeted for use by this device"],
  0x02: ["errFILE", "file is for this device but fails some vendor-specific verification test"],
  0x03: ["errWRITE", "device is unable to write memory"],
  0x04: ["errERASE", "memory erase function failed"],
  0x05: ["errCHECK_ERASED", "memory erase check failed"],
  0x06: ["errPROG", "program memory function failed"],
  0x07: ["errVERIFY", "programmed memory failed verification"],
  0x08: ["errADDRESS", "cannot program memory due to received address that is out of range"],
  0x09: ["errNOTDONE", "received DFU_DNLOAD with wLength = 0, but device does not think it has all of the data yet"],
  0x0a: ["errFIRMWARE", "device's firmware is corrupt; it cannot return to run-time operations"],
  0x0b: ["errVENDOR", "iString indicates a vendor-specific error"],
  0x0c: ["errUSBR", "device detected unexpected USB reset signaling"],
  0x0d: ["errPOR", "device detected unexpected power on reset"],
  0x0e: ["errUNKNOWN", "something went wrong, but the device does not know what it was"],
  0x0f: ["errSTALLEDPKT", "device stalled an unexpected request"],
};

/** DFU interface: class 0xFE (application specific), subclass 0x01; protocol 1 run-time, 2 DFU mode. */
export const DFU_CLASS = 0xfe;
export const DFU_SUBCLASS = 0x01;
export const PROTOCOL_RUNTIME = 0x01;
export const PROTOCOL_DFU = 0x02;

/** The DFU functional descriptor type (DFU 1.1 §4.1.3). */
export const FUNCTIONAL_DESCRIPTOR = 0x21;

export const Attr = {
  canDnload: 1 << 0,
  canUpload: 1 << 1,
  manifestationTolerant: 1 << 2,
  willDetach: 1 << 3,
} as const;
