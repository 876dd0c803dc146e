// A WebSocket that reconnects by itself with capped exponential backoff and
// reports its state, so every stream in the IDE heals without user action.

export type LinkState = "connecting" | "open" | "reconnecting" | "closed";

/** Backoff policy; the zero value (all fields omitted) works. */
export interface BackoffOptions {
  /** First delay in ms; default 250. */
  initialMs?: number;
  /** Upper bound in ms; default 10000. */
  maxMs?: number;
  /** Random spread as a fraction of the delay; default 0.2. 0 disables. */
  jitter?: number;
}

/** backoffDelay returns the wait before reconnect attempt n (0-based). */
export function backoffDelay(attempt: number, o: BackoffOptions = {}, rand: () => number = Math.random): number {
  const initial = o.initialMs ?? 250;
  const max = o.maxMs ?? 10_000;
  const jitter = o.jitter ?? 0.2;
  const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  const spread = base * jitter * (rand() * 2 - 1);
  return Math.max(0, Math.min(max, Math.round(base + spread)));
}

export interface SocketHandlers {
  /** Called on every (re)open; the socket is ready to send. */
  onOpen?(ws: WebSocket, reconnect: boolean): void;
  onMessage?(data: string | ArrayBuffer, ws: WebSocket): void;
  /** Called on every close; return false to stop reconnecting. */
  onClose?(ev: CloseEvent): boolean | void;
  onState?(s: LinkState): void;
}

/** ReconnectingSocket keeps one WebSocket open to url() until close() is called. */
export class ReconnectingSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private opened = false;
  state: LinkState = "connecting";

  constructor(
    /** Computed on each attempt, so reattach parameters can change. */
    private readonly url: () => string,
    private readonly h: SocketHandlers,
    private readonly backoff: BackoffOptions = {},
  ) {
    this.connect();
  }

  get socket(): WebSocket | null {
    return this.ws && this.ws.readyState === WebSocket.OPEN ? this.ws : null;
  }

  send(data: string | ArrayBufferLike | ArrayBufferView): boolean {
    const ws = this.socket;
    if (!ws) return false;
    ws.send(data as string);
    return true;
  }

  /** close stops the socket for good. */
  close(code = 1000): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(code);
    this.setState("closed");
  }

  /** reconnectNow skips the remaining backoff (e.g. when the browser comes back online). */
  reconnectNow(): void {
    if (this.stopped || this.ws) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }

  private setState(s: LinkState) {
    if (this.state === s) return;
    this.state = s;
    this.h.onState?.(s);
  }

  private connect() {
    if (this.stopped) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.schedule();
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      const again = this.opened;
      this.opened = true;
      this.setState("open");
      this.h.onOpen?.(ws, again);
    };
    ws.onmessage = (ev) => this.h.onMessage?.(ev.data, ws);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const again = this.h.onClose?.(ev);
      if (this.stopped || again === false) {
        this.stopped = true;
        this.setState("closed");
        return;
      }
      this.schedule();
    };
  }

  private schedule() {
    this.setState("reconnecting");
    const d = backoffDelay(this.attempt++, this.backoff);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, d);
  }
}
