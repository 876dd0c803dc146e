// FakeSerial stands in for navigator.serial: a bus that simulated serial
// devices (USB CDC-ACM ports such as the TinyFPGA bootloader) are plugged
// into and unplugged from, with Web Serial's chooser rules (filters, a click
// needed to ask) and its port life cycle (open, streams, close). Unplugging a
// port errors its streams the way Chromium does, with a NetworkError "The
// device has been lost.", so drivers meet the same failures as in a browser.
//
// Behaviour follows the Web Serial spec (https://wicg.github.io/serial/) and
// what Chromium does where the spec leaves room:
//   - requestPort needs transient user activation (SecurityError otherwise),
//     a filter with usbProductId must name usbVendorId, an empty filter is a
//     TypeError, and an empty choice is a NotFoundError "No port selected by
//     the user.";
//   - open() on an open port is an InvalidStateError, on a lost device a
//     NetworkError "Failed to open serial port.";
//   - close() with a locked stream is a TypeError;
//   - a lost device errors readable and writable with NetworkError.

/** The host-to-device half of a simulated serial device: it gets what the host writes. */
export interface SerialDevice {
  /**
   * receive gets one chunk the host wrote. It may answer through
   * port.deliver (synchronously or later). If it throws, the host's write
   * rejects with that error.
   */
  receive(bytes: Uint8Array, port: SimSerialPort): void;
  /** Called when the host opens (true) or closes (false) the port. */
  opened?(open: boolean, port: SimSerialPort): void;
}

/** lostError is what Chromium errors a port's streams with once its device is gone. */
export function lostError(): DOMException {
  return new DOMException("The device has been lost.", "NetworkError");
}

/** SerialPortEvent carries the port, as Chromium's connect/disconnect events at navigator.serial do (ev.target). */
export class SerialPortEvent extends Event {
  constructor(
    type: "connect" | "disconnect",
    readonly port: SimSerialPort,
  ) {
    super(type);
  }
}

/**
 * SimSerialPort is a SerialPort-shaped port backed by a SerialDevice. Pass
 * it wherever a SerialPort is expected (`port as unknown as SerialPort`, or
 * through FakeSerial.requestPort, which already returns it typed).
 */
export class SimSerialPort extends EventTarget {
  onconnect: ((ev: Event) => void) | null = null;
  ondisconnect: ((ev: Event) => void) | null = null;
  /** Every open() call's options, for assertions. */
  readonly opens: SerialOptions[] = [];
  /** The last signals the host set (DTR/RTS). */
  signals: SerialOutputSignals = {};
  /** Bytes the host wrote, in total. */
  bytesWritten = 0;
  /** Bytes the device delivered to the host, in total (including dropped ones). */
  bytesDelivered = 0;

  private state: "closed" | "open" = "closed";
  private lost = false;
  private rs: ReadableStream<Uint8Array> | null = null;
  private ws: WritableStream<Uint8Array> | null = null;
  private rctl: ReadableStreamDefaultController<Uint8Array> | null = null;
  private wctl: WritableStreamDefaultController | null = null;
  /** Set by FakeSerial while plugged in, so a device that leaves on its own (a reboot) is removed from the bus. */
  bus: { unplug(p: SimSerialPort): void } | null = null;

  constructor(
    private readonly info: SerialPortInfo,
    readonly device: SerialDevice,
  ) {
    super();
  }

  get connected(): boolean {
    return !this.lost;
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  get readable(): ReadableStream<Uint8Array> | null {
    return this.rs;
  }

  get writable(): WritableStream<Uint8Array> | null {
    return this.ws;
  }

  getInfo(): SerialPortInfo {
    return { ...this.info };
  }

  async open(options: SerialOptions): Promise<void> {
    this.opens.push(options);
    if (!options || !Number.isInteger(options.baudRate) || options.baudRate <= 0) {
      throw new TypeError("Failed to execute 'open' on 'SerialPort': Requested baud rate must be greater than zero.");
    }
    if (options.bufferSize !== undefined && (!(options.bufferSize > 0) || options.bufferSize > 16 * 1024 * 1024)) {
      throw new TypeError("Failed to execute 'open' on 'SerialPort': Requested buffer size out of range.");
    }
    if (this.state === "open") throw new DOMException("The port is already open.", "InvalidStateError");
    if (this.lost) throw new DOMException("Failed to open serial port.", "NetworkError");
    this.state = "open";
    this.rs = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.rctl = c;
      },
      cancel: () => {
        this.rctl = null;
      },
    });
    this.ws = new WritableStream<Uint8Array>({
      start: (c) => {
        this.wctl = c;
      },
      write: (chunk) => {
        if (this.lost) throw lostError();
        if (!(chunk instanceof Uint8Array)) {
          // Chromium accepts any BufferSource; anything else is a TypeError.
          if (ArrayBuffer.isView(chunk)) chunk = new Uint8Array((chunk as ArrayBufferView).buffer, (chunk as ArrayBufferView).byteOffset, (chunk as ArrayBufferView).byteLength);
          else if ((chunk as unknown) instanceof ArrayBuffer) chunk = new Uint8Array(chunk as unknown as ArrayBuffer);
          else throw new TypeError("The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.");
        }
        const copy = chunk.slice();
        this.bytesWritten += copy.length;
        this.device.receive(copy, this);
        if (this.lost) throw lostError();
      },
    });
    this.device.opened?.(true, this);
  }

  /** deliver sends bytes from the device to the host; they are dropped while the port is closed, as the OS does. */
  deliver(bytes: Uint8Array): void {
    this.bytesDelivered += bytes.length;
    if (this.lost || this.state !== "open" || !this.rctl) return;
    try {
      this.rctl.enqueue(bytes.slice());
    } catch {
      // The host cancelled the stream: nobody reads any more.
    }
  }

  async close(): Promise<void> {
    if (this.state !== "open") throw new DOMException("The port is already closed.", "InvalidStateError");
    if (this.rs?.locked || this.ws?.locked) throw new TypeError("Failed to execute 'close' on 'SerialPort': Cannot cancel a locked stream");
    const rs = this.rs;
    const ws = this.ws;
    this.rs = null;
    this.ws = null;
    this.rctl = null;
    this.wctl = null;
    this.state = "closed";
    await Promise.allSettled([rs?.cancel(), ws?.abort()]);
    this.device.opened?.(false, this);
  }

  async setSignals(s: SerialOutputSignals): Promise<void> {
    if (this.state !== "open") throw new DOMException("The port is closed.", "InvalidStateError");
    if (this.lost) throw lostError();
    this.signals = { ...this.signals, ...s };
  }

  async getSignals(): Promise<SerialInputSignals> {
    if (this.state !== "open") throw new DOMException("The port is closed.", "InvalidStateError");
    if (this.lost) throw lostError();
    return { dataCarrierDetect: false, clearToSend: false, ringIndicator: false, dataSetReady: true };
  }

  async forget(): Promise<void> {
    this.bus = null;
  }

  /** leaveBus is the device disconnecting on its own (a reboot, a reset): the bus sees an unplug. */
  leaveBus(): void {
    if (this.bus) this.bus.unplug(this);
    else this.detachFromBus();
  }

  /** detachFromBus is called by the bus on unplug: the streams error with NetworkError, as in Chromium. */
  detachFromBus(): void {
    if (this.lost) return;
    this.lost = true;
    const err = lostError();
    try {
      this.rctl?.error(err);
    } catch {
      // already closed or cancelled
    }
    try {
      this.wctl?.error(err);
    } catch {
      // already errored
    }
    // Chromium drops its references once the streams have errored; the app
    // still holds its readers, which see the error.
    this.rs = null;
    this.ws = null;
    this.rctl = null;
    this.wctl = null;
    this.state = "closed";
  }

  /** reattach makes a previously unplugged port usable again (the same device plugged back in). */
  reattach(): void {
    this.lost = false;
  }
}

export interface FakeSerialOptions {
  /**
   * Require a user gesture for requestPort, as Chromium does (transient
   * activation). Checked with navigator.userActivation when the page has it;
   * default true.
   */
  requireGesture?: boolean;
  /** Which matching port the "user" picks in the chooser; default the first. */
  choose?(candidates: SimSerialPort[]): SimSerialPort | undefined;
}

/** matchesFilter applies one Web Serial request filter to a port. */
export function matchesFilter(info: SerialPortInfo, f: SerialPortFilter): boolean {
  if (f.usbVendorId !== undefined && f.usbVendorId !== info.usbVendorId) return false;
  if (f.usbProductId !== undefined && f.usbProductId !== info.usbProductId) return false;
  if (f.bluetoothServiceClassId !== undefined && f.bluetoothServiceClassId !== info.bluetoothServiceClassId) return false;
  return true;
}

type Handler = ((ev: Event) => void) | null;

/** FakeSerial is the navigator.serial stand-in. */
export class FakeSerial extends EventTarget {
  onconnect: Handler = null;
  ondisconnect: Handler = null;
  /** Every requestPort call's options, for assertions. */
  readonly requests: (SerialPortRequestOptions | undefined)[] = [];
  private plugged: SimSerialPort[] = [];
  private granted = new Set<SimSerialPort>();

  constructor(private o: FakeSerialOptions = {}) {
    super();
  }

  /** plug attaches a port (a device plugged in); a port granted before shows up in getPorts again. */
  plug(p: SimSerialPort): void {
    if (this.plugged.includes(p)) return;
    p.reattach();
    p.bus = this;
    this.plugged.push(p);
    this.emit("connect", p);
  }

  /** unplug removes a port: its streams error with NetworkError from now on. */
  unplug(p: SimSerialPort): void {
    const i = this.plugged.indexOf(p);
    if (i < 0) return;
    this.plugged.splice(i, 1);
    p.bus = null;
    p.detachFromBus();
    this.emit("disconnect", p);
  }

  /** ports lists what is plugged in (granted or not). */
  ports(): readonly SimSerialPort[] {
    return this.plugged;
  }

  async requestPort(options?: SerialPortRequestOptions): Promise<SerialPort> {
    this.requests.push(options);
    const filters = options?.filters ?? [];
    for (const f of filters) {
      if (f.bluetoothServiceClassId === undefined && f.usbVendorId === undefined) {
        if (f.usbProductId !== undefined) throw new TypeError("Failed to execute 'requestPort' on 'Serial': A filter containing a usbProductId must also specify a usbVendorId.");
        throw new TypeError("Failed to execute 'requestPort' on 'Serial': A filter must provide a property to filter by.");
      }
    }
    const ua = (globalThis as { navigator?: { userActivation?: { isActive: boolean } } }).navigator?.userActivation;
    if ((this.o.requireGesture ?? true) && ua && !ua.isActive) {
      throw new DOMException("Failed to execute 'requestPort' on 'Serial': Must be handling a user gesture to show a permission request.", "SecurityError");
    }
    const candidates = this.plugged.filter((p) => filters.length === 0 || filters.some((f) => matchesFilter(p.getInfo(), f)));
    const pick = this.o.choose ? this.o.choose(candidates) : candidates[0];
    if (!pick) throw new DOMException("No port selected by the user.", "NotFoundError");
    this.granted.add(pick);
    return pick as unknown as SerialPort;
  }

  async getPorts(): Promise<SerialPort[]> {
    return this.plugged.filter((p) => this.granted.has(p)) as unknown as SerialPort[];
  }

  private emit(type: "connect" | "disconnect", p: SimSerialPort) {
    const onPort = type === "connect" ? p.onconnect : p.ondisconnect;
    onPort?.(new Event(type));
    p.dispatchEvent(new Event(type));
    const ev = new SerialPortEvent(type, p);
    (type === "connect" ? this.onconnect : this.ondisconnect)?.(ev);
    this.dispatchEvent(ev);
  }
}
