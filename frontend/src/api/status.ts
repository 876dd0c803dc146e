// StatusHub folds the state of every live stream into the one connection
// state shown in the status bar: connecting (no stream has opened yet),
// connected, reconnecting or offline.
import type { LinkState } from "./socket";

export type Overall = "connecting" | "connected" | "reconnecting" | "offline";

export class StatusHub {
  private links = new Map<string, LinkState>();
  private listeners = new Set<(s: Overall, detail: string) => void>();
  private reachable = true;
  /** A stream has been open at least once: before that the IDE is connecting, not connected. */
  private opened = false;
  private online = typeof navigator === "undefined" ? true : navigator.onLine !== false;

  /** set records the state of one named stream; closed streams are forgotten. */
  set(name: string, s: LinkState): void {
    if (s === "closed") this.links.delete(name);
    else this.links.set(name, s);
    if (s === "open") this.opened = true;
    this.emit();
  }

  /** setReachable records the result of the latest health probe. */
  setReachable(ok: boolean): void {
    this.reachable = ok;
    this.emit();
  }

  setOnline(ok: boolean): void {
    this.online = ok;
    this.emit();
  }

  get overall(): Overall {
    if (!this.online || !this.reachable) return "offline";
    if (!this.opened) return "connecting";
    let connecting = false;
    for (const s of this.links.values()) {
      if (s === "reconnecting") return "reconnecting";
      if (s === "connecting") connecting = true; // a stream that has not opened yet (the first watch, a new terminal)
    }
    return connecting ? "connecting" : "connected";
  }

  /** detail names the streams that are not open, for the status tooltip. */
  get detail(): string {
    const down = [...this.links].filter(([, s]) => s !== "open").map(([n]) => n);
    if (!this.online) return "the browser is offline";
    if (!this.reachable) return "sessiond does not answer";
    return down.length ? "waiting for " + down.join(", ") : "all streams live";
  }

  subscribe(f: (s: Overall, detail: string) => void): () => void {
    this.listeners.add(f);
    f(this.overall, this.detail);
    return () => this.listeners.delete(f);
  }

  private emit() {
    const s = this.overall, d = this.detail;
    for (const f of this.listeners) f(s, d);
  }
}
