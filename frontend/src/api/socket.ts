// A WebSocket that reconnects by itself with capped exponential backoff and
// reports its state, so every stream in the IDE heals without user action.
import { ApiError, reportTrouble } from "./conn";

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
  /**
   * For a stream that sends at least this often (ms): silence this long
   * counts as a drop and the socket reconnects. A tunnel whose container
   * died may keep the browser's end open without a word.
   */
  staleMs?: number;
}

/** Every socket not closed for good, for reconnectAll. */
const live = new Set<ReconnectingSocket>();

/** ReconnectingSocket keeps one WebSocket open to url() until close() is called. */
export class ReconnectingSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private opened = false;
  private staleTimer: ReturnType<typeof setTimeout> | null = null;
  state: LinkState = "connecting";

  /** reconnectAll drops every socket's connection and opens a fresh one (the session moved to another container). */
  static reconnectAll(): void {
    for (const s of live) s.drop("reconnect");
  }

  constructor(
    /** Computed on each attempt, so reattach parameters can change. */
    private readonly url: () => string,
    private readonly h: SocketHandlers,
    private readonly backoff: BackoffOptions = {},
  ) {
    live.add(this);
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
    live.delete(this);
    this.unwatch();
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
      this.rewatch(ws);
      this.h.onOpen?.(ws, again);
    };
    ws.onmessage = (ev) => {
      this.rewatch(ws);
      this.h.onMessage?.(ev.data, ws);
    };
    ws.onclose = (ev) => this.closed(ws, ev);
  }

  private closed(ws: WebSocket, ev: CloseEvent, trouble?: ApiError) {
    if (this.ws !== ws) return;
    this.ws = null;
    this.unwatch();
    const again = this.h.onClose?.(ev);
    if (this.stopped || again === false) {
      this.stopped = true;
      live.delete(this);
      this.setState("closed");
      return;
    }
    // A stream that drops may mean the session's container went away.
    reportTrouble(trouble);
    this.schedule();
  }

  /** drop gives up the current connection at once (without waiting for a closing handshake a dead peer never answers) and reconnects. */
  private drop(reason: "stale" | "reconnect") {
    const ws = this.ws;
    if (!ws) {
      this.reconnectNow();
      return;
    }
    ws.onopen = ws.onmessage = ws.onclose = null;
    const ev = typeof CloseEvent === "function" ? new CloseEvent("close", { code: 4000, reason, wasClean: false }) : ({ code: 4000, reason, wasClean: false } as CloseEvent);
    this.closed(ws, ev, reason === "stale" ? new ApiError(0, "stale", "a stream went silent") : undefined);
    try {
      ws.close(4000, reason);
    } catch {
      // already closing
    }
  }

  private rewatch(ws: WebSocket) {
    this.unwatch();
    const ms = this.h.staleMs;
    if (ms && ms > 0) this.staleTimer = setTimeout(() => this.ws === ws && this.drop("stale"), ms);
  }

  private unwatch() {
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = null;
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
