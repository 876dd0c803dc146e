// FakeUSB stands in for navigator.usb: a bus the simulated devices are
// plugged into and unplugged from, with WebUSB's chooser rules (filters, a
// click needed to ask) so the drivers meet the same obstacles as in Chromium.
// The simulators implement SimUsbDevice; unplugging one makes every later
// transfer fail the way WebUSB does (a NetworkError).

/** The USBDevice surface a simulated device offers, plus the bus's hooks. */
export interface SimUsbDevice extends Pick<USBDevice,
  "vendorId" | "productId" | "productName" | "manufacturerName" | "serialNumber" |
  "deviceClass" | "deviceSubclass" | "deviceProtocol" | "deviceVersionMajor" | "deviceVersionMinor" | "deviceVersionSubminor" |
  "usbVersionMajor" | "usbVersionMinor" | "usbVersionSubminor" |
  "configurations" | "configuration" | "opened" |
  "open" | "close" | "selectConfiguration" | "claimInterface" | "releaseInterface" | "selectAlternateInterface" |
  "controlTransferIn" | "controlTransferOut" | "transferIn" | "transferOut" | "clearHalt" | "reset"
> {
  /** Called by the bus when the device is unplugged: from then on every call rejects with a NetworkError. */
  detachFromBus(): void;
}

/** networkError is what WebUSB rejects with once a device is gone. */
export function networkError(): DOMException {
  return new DOMException("A transfer error has occurred.", "NetworkError");
}

/** inResult and outResult build transfer results (the DOM classes do not exist under Node). */
export function inResult(status: USBTransferStatus, bytes?: Uint8Array): USBInTransferResult {
  return { status, data: bytes ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined } as USBInTransferResult;
}

export function outResult(status: USBTransferStatus, n: number): USBOutTransferResult {
  return { status, bytesWritten: n } as USBOutTransferResult;
}

/** matches applies one WebUSB request filter to a device (device- or interface-level class codes). */
export function matches(d: SimUsbDevice, f: USBDeviceFilter): boolean {
  if (f.vendorId !== undefined && f.vendorId !== d.vendorId) return false;
  if (f.productId !== undefined && f.productId !== d.productId) return false;
  if (f.serialNumber !== undefined && f.serialNumber !== d.serialNumber) return false;
  if (f.classCode === undefined) return true;
  const want = (c: number, s: number, p: number) =>
    c === f.classCode && (f.subclassCode === undefined || s === f.subclassCode) && (f.protocolCode === undefined || p === f.protocolCode);
  if (want(d.deviceClass, d.deviceSubclass, d.deviceProtocol)) return true;
  return d.configurations.some((c) => c.interfaces.some((i) => i.alternates.some((a) => want(a.interfaceClass, a.interfaceSubclass, a.interfaceProtocol))));
}

export interface FakeUSBOptions {
  /**
   * Require a user gesture for requestDevice, as Chromium does (transient
   * activation, about 5 s after a click). Checked with
   * navigator.userActivation when the page has it; default true.
   */
  requireGesture?: boolean;
  /** Which matching device the "user" picks in the chooser; default the first. */
  choose?(candidates: SimUsbDevice[]): SimUsbDevice | undefined;
}

type Listener = (ev: { device: SimUsbDevice }) => void;

export class FakeUSB {
  private plugged: SimUsbDevice[] = [];
  private granted = new Set<SimUsbDevice>();
  private listeners = new Map<string, Set<Listener>>();
  /** Every requestDevice call's options, for assertions. */
  readonly requests: USBDeviceRequestOptions[] = [];
  onconnect: Listener | null = null;
  ondisconnect: Listener | null = null;

  constructor(private o: FakeUSBOptions = {}) {}

  /** plug attaches a device to the bus; a device already granted shows up in getDevices. */
  plug(d: SimUsbDevice): void {
    if (this.plugged.includes(d)) return;
    this.plugged.push(d);
    this.emit("connect", d);
  }

  /** unplug removes a device: its transfers fail from now on. */
  unplug(d: SimUsbDevice): void {
    const i = this.plugged.indexOf(d);
    if (i < 0) return;
    this.plugged.splice(i, 1);
    this.granted.delete(d);
    d.detachFromBus();
    this.emit("disconnect", d);
  }

  /** replace unplugs old and plugs next (a device re-enumerating, e.g. after DFU_DETACH), keeping the grant. */
  replace(old: SimUsbDevice, next: SimUsbDevice): void {
    const wasGranted = this.granted.has(old);
    this.unplug(old);
    if (wasGranted) this.granted.add(next);
    this.plug(next);
  }

  devices(): readonly SimUsbDevice[] {
    return this.plugged;
  }

  async requestDevice(options: USBDeviceRequestOptions): Promise<USBDevice> {
    this.requests.push(options);
    if (!options || !Array.isArray(options.filters)) throw new TypeError("requestDevice: options.filters is required");
    const ua = (globalThis as { navigator?: { userActivation?: { isActive: boolean } } }).navigator?.userActivation;
    if ((this.o.requireGesture ?? true) && ua && !ua.isActive) {
      throw new DOMException("Must be handling a user gesture to show a permission request.", "SecurityError");
    }
    const candidates = this.plugged.filter((d) => options.filters.length === 0 || options.filters.some((f) => matches(d, f)));
    const pick = this.o.choose ? this.o.choose(candidates) : candidates[0];
    if (!pick) throw new DOMException("No device selected.", "NotFoundError");
    this.granted.add(pick);
    return pick as unknown as USBDevice;
  }

  async getDevices(): Promise<USBDevice[]> {
    return this.plugged.filter((d) => this.granted.has(d)) as unknown as USBDevice[];
  }

  addEventListener(type: string, fn: Listener): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  }

  removeEventListener(type: string, fn: Listener): void {
    this.listeners.get(type)?.delete(fn);
  }

  private emit(type: "connect" | "disconnect", device: SimUsbDevice) {
    const ev = { device };
    (type === "connect" ? this.onconnect : this.ondisconnect)?.(ev);
    for (const fn of this.listeners.get(type) ?? []) fn(ev);
  }
}
