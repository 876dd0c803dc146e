// Typed calls to sessiond's waves API (the contract is in sessiond/waves):
// a dump is indexed once on the server and the viewer asks for time
// windows of the signals on screen, downsampled to its pixels.
import { type Connection, request, requestJSON } from "../api/conn";
import type { WindowSignal } from "./model";

export interface DumpInfo {
  id: string;
  path: string;
  state: "indexing" | "ready" | "failed";
  progress: number;
  error?: string;
  format?: "vcd" | "fst";
  timescale?: string;
  start: number;
  end: number;
}

export interface ScopeSignal {
  id: number;
  name: string;
  width: number;
  type: string;
  msb?: number;
  lsb?: number;
}

export interface Scope {
  name: string;
  kind: string;
  scopes?: Scope[];
  signals?: ScopeSignal[];
}

export interface SearchHit {
  id: number;
  path: string;
  width: number;
  type: string;
}

export interface WindowResult {
  start: number;
  end: number;
  signals: WindowSignal[];
}

export class WavesAPI {
  constructor(readonly conn: Connection) {}

  open(path: string, signal?: AbortSignal): Promise<DumpInfo> {
    return requestJSON(this.conn, "GET", "api/v1/waves", { params: { path }, signal });
  }

  async scopes(id: string): Promise<Scope[]> {
    const r = await requestJSON<{ scopes: Scope[] | null }>(this.conn, "GET", `api/v1/waves/${encodeURIComponent(id)}/scopes`);
    return r.scopes ?? [];
  }

  async search(id: string, q: string, limit = 200, signal?: AbortSignal): Promise<SearchHit[]> {
    const r = await requestJSON<{ signals: SearchHit[] | null }>(this.conn, "GET", `api/v1/waves/${encodeURIComponent(id)}/search`, { params: { q, limit }, signal });
    return r.signals ?? [];
  }

  window(id: string, signals: number[], start: number, end: number, pixels: number, signal?: AbortSignal): Promise<WindowResult> {
    return requestJSON(this.conn, "GET", `api/v1/waves/${encodeURIComponent(id)}/window`, {
      params: { signals: signals.join(","), start: Math.floor(start), end: Math.ceil(end), pixels: Math.max(1, Math.round(pixels)) },
      signal,
    });
  }

  async readText(path: string): Promise<string | null> {
    try {
      const res = await request(this.conn, "GET", "api/v1/file", { params: { path } });
      return await res.text();
    } catch {
      return null;
    }
  }

  async writeText(path: string, text: string): Promise<void> {
    await request(this.conn, "PUT", "api/v1/file", {
      params: { path, mkdirs: "true" },
      body: text,
      headers: { "Content-Type": "application/octet-stream" },
    });
  }
}

/** SignalInfo is a dump signal with its full dotted path. */
export interface SignalInfo extends ScopeSignal {
  path: string;
  /** The dotted path of its scope. */
  scope: string;
}

/** indexSignals maps every signal's dotted path (scope.scope.name) to its info. */
export function indexSignals(scopes: Scope[]): Map<string, SignalInfo> {
  const out = new Map<string, SignalInfo>();
  const walk = (list: Scope[], prefix: string) => {
    for (const s of list) {
      const p = prefix ? `${prefix}.${s.name}` : s.name;
      for (const sig of s.signals ?? []) out.set(`${p}.${sig.name}`, { ...sig, path: `${p}.${sig.name}`, scope: p });
      walk(s.scopes ?? [], p);
    }
  };
  walk(scopes, "");
  return out;
}

/**
 * nextChange finds the first change of a signal after time from (up to to)
 * without loading the range: a window with as many pixels as asked, then,
 * while the first entry is a "*" band, a narrower window around it.
 * It returns the time and value, or null when there is none.
 */
export async function nextChange(api: WavesAPI, id: string, sig: number, from: number, to: number, pixels = 1000, signal?: AbortSignal): Promise<[number, string] | null> {
  let a = from, b = to;
  for (let i = 0; i < 40 && b > a; i++) {
    const w = await api.window(id, [sig], a, b, pixels, signal);
    const ch = (w.signals[0]?.changes ?? []).find(([t]) => t > from);
    if (!ch) return null;
    if (ch[1] !== "*") return ch;
    const px = (b - a) / pixels;
    if (px <= 1) return ch; // cannot narrow further: several changes in one time unit
    // The band covers the pixel holding the first change: look just there.
    const na = Math.max(a, Math.floor(ch[0] - px));
    const nb = Math.min(b, Math.ceil(ch[0] + px));
    if (na === a && nb === b) return ch;
    a = na;
    b = nb;
  }
  return null;
}

/** prevChange is nextChange backwards: the last change before time before (down to from). */
export async function prevChange(api: WavesAPI, id: string, sig: number, from: number, before: number, pixels = 1000, signal?: AbortSignal): Promise<[number, string] | null> {
  let a = from, b = before - 1;
  for (let i = 0; i < 40 && b > a; i++) {
    const w = await api.window(id, [sig], a, b, pixels, signal);
    const list = (w.signals[0]?.changes ?? []).filter(([t]) => t < before);
    const ch = list[list.length - 1];
    if (!ch) return null;
    if (ch[1] !== "*") return ch;
    const px = (b - a) / pixels;
    if (px <= 1) return ch;
    const na = Math.max(a, Math.floor(ch[0] - px));
    const nb = Math.min(b, Math.ceil(ch[0] + px));
    if (na === a && nb === b) return ch;
    a = na;
    b = nb;
  }
  return null;
}
