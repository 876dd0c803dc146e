// Pure logic of the waveform viewer, kept free of the DOM so it is unit
// tested: value formatting per radix, bus splitting, the time axis (ticks,
// units from the dump's timescale), pixel↔time mapping with zoom and pan,
// the saved view's JSON, and request debouncing with stale-result dropping.

export type Radix = "bin" | "hex" | "unsigned" | "signed" | "ascii";
export const radixes: Radix[] = ["bin", "hex", "unsigned", "signed", "ascii"];
export const radixNames: Record<Radix, string> = { bin: "Binary", hex: "Hexadecimal", unsigned: "Unsigned decimal", signed: "Signed decimal", ascii: "ASCII" };

/** The server's "several changes in this pixel" value. */
export const MANY = "*";

const isBits = (v: string) => /^[01xzXZ]+$/.test(v);

/**
 * padBits extends a binary value to width bits the way VCD does: a leading
 * 0 or 1 extends with 0, a leading x or z with itself. Longer values keep
 * their low bits.
 */
export function padBits(v: string, width: number): string {
  if (!isBits(v) || width <= 0) return v;
  v = v.toLowerCase();
  if (v.length >= width) return v.slice(v.length - width);
  const fill = v[0] === "x" || v[0] === "z" ? v[0] : "0";
  return fill.repeat(width - v.length) + v;
}

/** splitBits gives the bits of a vector value MSB first ("*" and non-binary values give "*" / "x" per bit). */
export function splitBits(v: string, width: number): string[] {
  if (v === MANY) return new Array(width).fill(MANY);
  if (!isBits(v)) return new Array(width).fill("x");
  return padBits(v, width).split("");
}

/** bitIndex is the index written for the k-th bit from the left of a vector declared [msb:lsb]. */
export function bitIndex(k: number, msb: number, lsb: number): number {
  return msb >= lsb ? msb - k : msb + k;
}

/** bitOf returns one bit of a value: the character for bit index i of a [msb:lsb] vector. */
export function bitOf(v: string, width: number, msb: number, lsb: number, i: number): string {
  const k = msb >= lsb ? msb - i : i - msb;
  return splitBits(v, width)[k] ?? "x";
}

/** An unknown group of bits: all x (or all z) → "x"/"z", some → "X"/"Z" (x wins over z). */
function unknownDigit(bits: string): string | null {
  const x = bits.includes("x"), z = bits.includes("z");
  if (!x && !z) return null;
  const all = (c: string) => [...bits].every((b) => b === c);
  if (x) return all("x") ? "x" : "X";
  return all("z") ? "z" : "Z";
}

/**
 * formatValue renders a value in a radix. Vectors are binary strings MSB
 * first; x/z bits show as x/z (a hex digit or decimal with some unknown
 * bits as X/Z), "*" stays "*", reals and strings are shown as they are.
 */
export function formatValue(v: string, radix: Radix, width: number): string {
  if (v === MANY || !isBits(v)) return v;
  const bits = padBits(v, Math.max(width, 1));
  if (bits.length === 1) return bits;
  switch (radix) {
    case "bin":
      return bits;
    case "hex": {
      let out = "";
      for (let end = bits.length; end > 0; end -= 4) {
        const g = bits.slice(Math.max(0, end - 4), end);
        out = (unknownDigit(g) ?? parseInt(g, 2).toString(16)) + out;
      }
      return out;
    }
    case "unsigned":
    case "signed": {
      const u = unknownDigit(bits);
      if (u) return u;
      let n = BigInt("0b" + bits);
      if (radix === "signed" && bits[0] === "1") n -= 1n << BigInt(bits.length);
      return n.toString();
    }
    case "ascii": {
      let out = "";
      for (let end = bits.length; end > 0; end -= 8) {
        const g = bits.slice(Math.max(0, end - 8), end);
        if (unknownDigit(g)) out = "?" + out;
        else {
          const c = parseInt(g, 2);
          out = (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : ".") + out;
        }
      }
      return out;
    }
  }
}

// ---- time scale and axis ----

export interface Timescale {
  /** The magnitude: 1, 10 or 100. */
  mult: number;
  /** The power of ten of the unit in seconds: -9 for ns. */
  exp: number;
}

const unitExp: Record<string, number> = { s: 0, ms: -3, us: -6, "µs": -6, ns: -9, ps: -12, fs: -15 };
const expUnit: [number, string][] = [[0, "s"], [-3, "ms"], [-6, "µs"], [-9, "ns"], [-12, "ps"], [-15, "fs"]];

/** parseTimescale reads "1ns", "10 ps", "100us"; a missing or unreadable one counts as 1 ns. */
export function parseTimescale(s: string | undefined): Timescale {
  const m = /^\s*(1|10|100)?\s*(s|ms|us|µs|ns|ps|fs)\s*$/.exec(s ?? "");
  if (!m) return { mult: 1, exp: -9 };
  return { mult: Number(m[1] ?? 1), exp: unitExp[m[2]] };
}

/** formatNumber prints n with at most 4 significant fraction digits, no trailing zeros. */
function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toFixed(4)));
}

/**
 * formatTime renders t dump units as a time with a unit picked for it
 * (or the unit given by exp, the power of ten of the unit to use).
 */
export function formatTime(t: number, ts: Timescale, exp?: number): string {
  if (t === 0 && exp === undefined) return "0 " + (expUnit.find(([e]) => e === ts.exp)?.[1] ?? "s");
  const e = exp ?? unitFor(Math.abs(t), ts);
  const v = t * ts.mult * Math.pow(10, ts.exp - e);
  const name = expUnit.find(([x]) => x === e)?.[1] ?? "s";
  return `${formatNumber(v)} ${name}`;
}

/** unitFor picks the largest unit in which span dump units is at least 1 (never finer than the dump's own unit). */
export function unitFor(span: number, ts: Timescale): number {
  if (span <= 0) return ts.exp;
  const seconds = Math.log10(span * ts.mult) + ts.exp;
  for (const [e] of expUnit) {
    if (e < ts.exp) break;
    if (seconds >= e - 1e-9) return e;
  }
  return ts.exp;
}

export interface Tick {
  t: number;
  x: number;
  label: string;
}

/**
 * ticks lays out the ruler: a "nice" step (1, 2 or 5 × 10^k dump units, at
 * least one unit) so labels are at least minPx apart, every multiple of it
 * in [start, end], each labelled in one unit chosen for the step.
 */
export function ticks(vp: Viewport, ts: Timescale, minPx = 90): { step: number; ticks: Tick[] } {
  const span = vp.end - vp.start;
  if (span <= 0 || vp.width <= 0) return { step: 0, ticks: [] };
  const raw = (span * minPx) / vp.width;
  let step = Math.max(1, niceStep(raw));
  const out: Tick[] = [];
  const first = Math.ceil(vp.start / step) * step;
  // The unit that shows the step without a fraction when possible.
  const e = unitFor(step, ts);
  for (let t = first; t <= vp.end && out.length < 1000; t += step) {
    out.push({ t, x: vp.toX(t), label: formatTime(t, ts, e) });
  }
  return { step, ticks: out };
}

/** niceStep rounds x up to 1, 2 or 5 × 10^k. */
export function niceStep(x: number): number {
  if (x <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 5, 10]) if (m * p >= x - 1e-12 * p) return m * p;
  return 10 * p;
}

// ---- viewport ----

/**
 * Viewport maps the visible time range [start, end] onto width pixels and
 * does zoom and pan, clamped to the dump's [min, max]. The smallest span is
 * a few time units so one unit never gets wider than the screen.
 */
export class Viewport {
  constructor(public start: number, public end: number, public width: number, public min = start, public max = end) {}

  get span(): number {
    return this.end - this.start;
  }

  /** Time units per pixel. */
  get scale(): number {
    return this.width > 0 ? this.span / this.width : 0;
  }

  toX(t: number): number {
    return this.span > 0 ? ((t - this.start) * this.width) / this.span : 0;
  }

  toTime(x: number): number {
    return this.start + x * this.scale;
  }

  get minSpan(): number {
    return Math.min(Math.max(this.max - this.min, 1), 4);
  }

  get maxSpan(): number {
    return Math.max(this.max - this.min, 1);
  }

  /** set moves to [start, end], clamped to the dump. */
  set(start: number, end: number): this {
    let span = Math.min(Math.max(end - start, this.minSpan), this.maxSpan);
    if (!Number.isFinite(span)) span = this.maxSpan;
    start = Math.min(Math.max(start, this.min), this.max - span);
    if (start < this.min) start = this.min;
    this.start = start;
    this.end = start + span;
    return this;
  }

  /** zoom by factor (<1 zooms in) keeping time t at the same pixel. */
  zoom(factor: number, t = (this.start + this.end) / 2): this {
    const span = Math.min(Math.max(this.span * factor, this.minSpan), this.maxSpan);
    const f = this.span > 0 ? (t - this.start) / this.span : 0.5;
    return this.set(t - f * span, t - f * span + span);
  }

  /** pan by dx pixels (positive moves later in time). */
  pan(dx: number): this {
    const dt = dx * this.scale;
    return this.set(this.start + dt, this.end + dt);
  }

  fit(): this {
    return this.set(this.min, this.max);
  }
}

// ---- values at a time from a window ----

export interface WindowSignal {
  id: number;
  initial: string;
  changes: [number, string][];
}

/**
 * valueAt returns the value of a windowed signal at time t, or null when it
 * cannot be told from the window (t outside it, or inside a "*" pixel).
 */
export function valueAt(w: WindowSignal, start: number, end: number, t: number): string | null {
  if (t < start || t > end) return null;
  let v = w.initial;
  for (const [ct, cv] of w.changes) {
    if (ct > t) break;
    v = cv;
  }
  return v === MANY ? null : v;
}

// ---- the saved view ----

export interface SignalRowState {
  signal: string;
  radix?: Radix;
  expanded?: boolean;
}

export interface GroupRowState {
  group: string;
  collapsed?: boolean;
  signals: SignalRowState[];
}

export type RowState = SignalRowState | GroupRowState;

export interface ViewState {
  version: 1;
  dump: string;
  rows: RowState[];
  range?: { start: number; end: number };
  cursor?: number | null;
  markers?: number[];
}

/** viewPath is where the view of a dump is saved in the workspace. */
export function viewPath(dump: string): string {
  return `.ide/waves/${dump}.json`;
}

export function isGroup(r: RowState): r is GroupRowState {
  return "group" in r;
}

function cleanSignal(s: unknown): SignalRowState | null {
  if (!s || typeof s !== "object") return null;
  const o = s as Record<string, unknown>;
  if (typeof o.signal !== "string" || !o.signal) return null;
  const out: SignalRowState = { signal: o.signal };
  if (typeof o.radix === "string" && (radixes as string[]).includes(o.radix)) out.radix = o.radix as Radix;
  if (o.expanded === true) out.expanded = true;
  return out;
}

/** serializeView is the JSON saved for a view (stable key order, 2-space indent). */
export function serializeView(v: ViewState): string {
  return JSON.stringify(v, null, 2) + "\n";
}

/**
 * parseView reads a saved view, dropping what it does not understand; a
 * file that is not a view at all gives null.
 */
export function parseView(text: string): ViewState | null {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return null;
  }
  if (!o || typeof o !== "object" || Array.isArray(o)) return null;
  const r = o as Record<string, unknown>;
  if (r.version !== 1 || !Array.isArray(r.rows)) return null;
  const rows: RowState[] = [];
  for (const row of r.rows) {
    if (row && typeof row === "object" && typeof (row as GroupRowState).group === "string") {
      const g = row as Record<string, unknown>;
      const signals = Array.isArray(g.signals) ? g.signals.map(cleanSignal).filter((s): s is SignalRowState => s !== null) : [];
      rows.push({ group: g.group as string, ...(g.collapsed === true ? { collapsed: true } : {}), signals });
      continue;
    }
    const s = cleanSignal(row);
    if (s) rows.push(s);
  }
  const out: ViewState = { version: 1, dump: typeof r.dump === "string" ? r.dump : "", rows };
  const range = r.range as { start?: unknown; end?: unknown } | undefined;
  if (range && typeof range.start === "number" && typeof range.end === "number" && range.end > range.start) out.range = { start: range.start, end: range.end };
  if (typeof r.cursor === "number") out.cursor = r.cursor;
  if (Array.isArray(r.markers)) out.markers = r.markers.filter((m): m is number => typeof m === "number" && Number.isFinite(m));
  return out;
}

// ---- request scheduling ----

/**
 * Debounced runs the last scheduled job delay ms after the last call, and
 * aborts the signal handed to a job as soon as a newer job is scheduled, so
 * a stale response is never drawn over a newer one.
 */
export class Debounced {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ctrl: AbortController | null = null;
  /** How many jobs have started (for tests and the status line). */
  started = 0;

  constructor(private delay: number) {}

  schedule(job: (signal: AbortSignal) => Promise<void> | void): void {
    if (this.timer) clearTimeout(this.timer);
    this.ctrl?.abort();
    const ctrl = new AbortController();
    this.ctrl = ctrl;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.started++;
      void Promise.resolve()
        .then(() => job(ctrl.signal))
        .catch((err) => {
          if (!ctrl.signal.aborted) console.warn("waves", err);
        });
    }, this.delay);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.ctrl?.abort();
    this.ctrl = null;
  }
}

// ---- cross-probing ----

/**
 * pickSignals chooses, among dump signal paths, those named like name (the
 * last path component, ignoring a bit range), preferring the ones whose
 * scope ends with one of the instance paths (outermost first) when the
 * HDL hierarchy tells where the module is instantiated.
 */
export function pickSignals(name: string, paths: string[], instancePaths: string[][] = []): string[] {
  const lower = name.toLowerCase();
  const last = (p: string) => p.slice(p.lastIndexOf(".") + 1).replace(/\s*\[.*\]$/, "").toLowerCase();
  const named = paths.filter((p) => last(p) === lower);
  if (!instancePaths.length) return named;
  const preferred = named.filter((p) => {
    const scope = p.split(".").slice(0, -1).map((s) => s.toLowerCase());
    return instancePaths.some((ip) => {
      if (!ip.length || ip.length > scope.length) return false;
      const tail = scope.slice(scope.length - ip.length);
      return ip.every((c, i) => c.toLowerCase() === tail[i]);
    });
  });
  return preferred.length ? preferred : named;
}

/** identifierAt returns the HDL identifier around offset pos in text, or null. */
export function identifierAt(text: string, pos: number): string | null {
  const word = /[A-Za-z0-9_$]/;
  let a = pos, b = pos;
  while (a > 0 && word.test(text[a - 1])) a--;
  while (b < text.length && word.test(text[b])) b++;
  const id = text.slice(a, b);
  if (!id || !/^[A-Za-z_]/.test(id)) return null;
  return id;
}
