// Log panel: a task's output with its ANSI colours (SGR parsed to spans),
// bounded in memory (the last maxLines lines; "n lines dropped" above),
// searchable (Ctrl-F in the panel, matches highlighted, Enter/Shift-Enter
// for next/previous), following the output unless the user scrolled up, and
// with file:line references that open the file at that line.
import { clear, h } from "./dom";

/** Style is the SGR state of a run of text. */
export interface Style {
  fg?: number; // 0-15, or 16-255 for the 256-colour palette
  bg?: number;
  fgRGB?: string;
  bgRGB?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
}

export interface Segment {
  text: string;
  style: Style;
}

// eslint-disable-next-line no-control-regex
const escape = /\x1b(?:\[([0-9;:?]*)([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

/** applySGR updates style for the parameters of one "ESC [ ... m". */
export function applySGR(style: Style, params: string): Style {
  const s: Style = { ...style };
  const p = params === "" ? [0] : params.split(/[;:]/).map((x) => (x === "" ? 0 : Number(x)));
  for (let i = 0; i < p.length; i++) {
    const n = p[i];
    if (n === 0) {
      for (const k of Object.keys(s)) delete (s as Record<string, unknown>)[k];
    } else if (n === 1) s.bold = true;
    else if (n === 2) s.dim = true;
    else if (n === 3) s.italic = true;
    else if (n === 4) s.underline = true;
    else if (n === 7) s.inverse = true;
    else if (n === 22) s.bold = s.dim = undefined;
    else if (n === 23) s.italic = undefined;
    else if (n === 24) s.underline = undefined;
    else if (n === 27) s.inverse = undefined;
    else if (n >= 30 && n <= 37) (s.fg = n - 30), (s.fgRGB = undefined);
    else if (n >= 90 && n <= 97) (s.fg = n - 90 + 8), (s.fgRGB = undefined);
    else if (n === 39) s.fg = s.fgRGB = undefined;
    else if (n >= 40 && n <= 47) (s.bg = n - 40), (s.bgRGB = undefined);
    else if (n >= 100 && n <= 107) (s.bg = n - 100 + 8), (s.bgRGB = undefined);
    else if (n === 49) s.bg = s.bgRGB = undefined;
    else if (n === 38 || n === 48) {
      const fg = n === 38;
      if (p[i + 1] === 5 && i + 2 < p.length) {
        if (fg) (s.fg = p[i + 2]), (s.fgRGB = undefined);
        else (s.bg = p[i + 2]), (s.bgRGB = undefined);
        i += 2;
      } else if (p[i + 1] === 2 && i + 4 < p.length) {
        const rgb = `rgb(${p[i + 2]},${p[i + 3]},${p[i + 4]})`;
        if (fg) (s.fgRGB = rgb), (s.fg = undefined);
        else (s.bgRGB = rgb), (s.bg = undefined);
        i += 4;
      }
    }
  }
  for (const k of Object.keys(s)) if ((s as Record<string, unknown>)[k] === undefined) delete (s as Record<string, unknown>)[k];
  return s;
}

/**
 * parseAnsi splits one line into styled segments, starting from style (the
 * state the previous line left) and returning the state after it. Escape
 * sequences other than SGR are dropped.
 */
export function parseAnsi(line: string, style: Style = {}): { segments: Segment[]; style: Style } {
  const segments: Segment[] = [];
  let last = 0;
  let cur = style;
  escape.lastIndex = 0;
  for (let m = escape.exec(line); m; m = escape.exec(line)) {
    if (m.index > last) segments.push({ text: line.slice(last, m.index), style: cur });
    if (m[2] === "m") cur = applySGR(cur, m[1] ?? "");
    last = escape.lastIndex;
  }
  if (last < line.length) segments.push({ text: line.slice(last), style: cur });
  return { segments, style: cur };
}

/** A line of the log with its plain text (for search and links). */
export interface LogLine {
  segments: Segment[];
  text: string;
}

/**
 * LineBuffer splits streamed text into lines and keeps the last max of them;
 * dropped counts the lines let go. The unfinished last line is kept apart
 * (partial) and shown as a line of its own.
 */
export class LineBuffer {
  lines: LogLine[] = [];
  dropped = 0;
  private partial = "";
  private style: Style = {};
  private partialStyle: Style = {};

  constructor(readonly max = 10_000) {}

  /** append adds text and returns how many complete lines it added. */
  append(text: string): number {
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop() ?? "";
    for (let raw of parts) {
      if (raw.endsWith("\r")) raw = raw.slice(0, -1);
      // A carriage return rewrites the line (progress bars): keep the last.
      const cr = raw.lastIndexOf("\r");
      const { segments, style } = parseAnsi(cr >= 0 ? raw.slice(cr + 1) : raw, this.style);
      this.style = style;
      this.lines.push({ segments, text: segments.map((s) => s.text).join("") });
    }
    if (this.lines.length > this.max) {
      const over = this.lines.length - this.max;
      this.lines.splice(0, over);
      this.dropped += over;
    }
    this.partialStyle = this.style;
    return parts.length;
  }

  /** pending is the unfinished last line, parsed. */
  pending(): LogLine | null {
    if (!this.partial) return null;
    const { segments } = parseAnsi(this.partial, this.partialStyle);
    return { segments, text: segments.map((s) => s.text).join("") };
  }

  clear(): void {
    this.lines = [];
    this.dropped = 0;
    this.partial = "";
    this.style = this.partialStyle = {};
  }
}

export interface Match {
  line: number; // index into lines
  from: number;
  to: number;
}

/** findMatches finds query (case-insensitive) in the lines' plain text. */
export function findMatches(lines: readonly { text: string }[], query: string): Match[] {
  const out: Match[] = [];
  if (!query) return out;
  const q = query.toLowerCase();
  lines.forEach((l, i) => {
    const t = l.text.toLowerCase();
    for (let at = t.indexOf(q); at >= 0; at = t.indexOf(q, at + q.length)) out.push({ line: i, from: at, to: at + q.length });
  });
  return out;
}

export interface Link {
  from: number;
  to: number;
  path: string;
  line: number;
  column?: number;
}

// path:line[:col] or path:line.col (yosys src), or "(on line N)" is not a path.
const linkRe = /(?<![\w./-])((?:\.{0,2}\/)?[\w][\w./+-]*\.(?:v|sv|svh|vh|vhd|vhdl|pcf|lpf|cst|c|h|cpp|py|mk|json|tcl|xdc|sdc)|[\w./-]*Makefile[\w.-]*):(\d+)(?:[:.](\d+))?/g;

/** findLinks finds file:line references in a line of text. */
export function findLinks(text: string): Link[] {
  const out: Link[] = [];
  linkRe.lastIndex = 0;
  for (let m = linkRe.exec(text); m; m = linkRe.exec(text)) {
    const path = m[1];
    if (path.startsWith("/")) continue; // outside the workspace (yosys' own files)
    out.push({ from: m.index, to: m.index + m[0].length, path: path.replace(/^\.\//, ""), line: Number(m[2]), column: m[3] ? Number(m[3]) : undefined });
  }
  return out;
}

function styleClass(s: Style): string {
  const c: string[] = [];
  let fg = s.fg, bg = s.bg;
  if (s.inverse) [fg, bg] = [bg ?? 7, fg ?? 0];
  if (fg !== undefined && fg < 16) c.push("ansi-fg" + fg);
  if (bg !== undefined && bg < 16) c.push("ansi-bg" + bg);
  if (s.bold) c.push("ansi-bold");
  if (s.dim) c.push("ansi-dim");
  if (s.italic) c.push("ansi-italic");
  if (s.underline) c.push("ansi-underline");
  return c.join(" ");
}

function palette(n: number): string {
  if (n < 232) {
    const i = n - 16;
    const v = (x: number) => (x === 0 ? 0 : 55 + x * 40);
    return `rgb(${v(Math.floor(i / 36))},${v(Math.floor(i / 6) % 6)},${v(i % 6)})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g},${g},${g})`;
}

export interface LogHooks {
  open(path: string, line: number, column?: number): void;
  /** base resolves a path the tool wrote relative to the task's directory. */
  base?(): string;
}

/** LogPanel draws a LineBuffer with search, follow and links. */
export class LogPanel {
  readonly el: HTMLElement;
  readonly buffer: LineBuffer;
  private body: HTMLElement;
  private droppedEl: HTMLElement;
  private linesEl: HTMLElement;
  private pendingEl: HTMLElement;
  private searchBar: HTMLElement;
  private searchInput: HTMLInputElement;
  private countEl: HTMLElement;
  private follow = true;
  private matches: Match[] = [];
  private current = -1;
  private rendered = 0; // lines of buffer drawn (after the dropped ones)
  private frame = 0;

  constructor(private hooks: LogHooks, max = 10_000, testid = "build-log") {
    this.buffer = new LineBuffer(max);
    this.droppedEl = h("div.log-dropped", { hidden: true, "data-testid": "log-dropped" });
    this.linesEl = h("div.log-lines");
    this.pendingEl = h("div.log-line");
    this.searchInput = h("input.text.small", { placeholder: "Find in log", "data-testid": "log-search" });
    this.countEl = h("span.log-count", { "data-testid": "log-count" }, "");
    this.searchBar = h("div.log-search", { hidden: true },
      this.searchInput, this.countEl,
      h("button.icon-btn", { title: "Previous (Shift+Enter)", "aria-label": "Previous match", onclick: () => this.step(-1) }, "↑"),
      h("button.icon-btn", { title: "Next (Enter)", "aria-label": "Next match", onclick: () => this.step(1) }, "↓"),
      h("button.icon-btn", { title: "Close (Escape)", "aria-label": "Close search", onclick: () => this.closeSearch() }, "×"));
    this.body = h("div.output.log", { "data-testid": testid, tabindex: "0" }, this.droppedEl, this.linesEl, this.pendingEl);
    this.el = h("div.log-panel", {}, this.searchBar, this.body);
    this.body.addEventListener("scroll", () => {
      this.follow = this.body.scrollTop + this.body.clientHeight >= this.body.scrollHeight - 4;
    });
    this.el.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "f") {
        e.preventDefault();
        e.stopPropagation();
        this.openSearch();
      } else if (e.key === "Escape" && !this.searchBar.hidden) this.closeSearch();
    });
    this.searchInput.addEventListener("input", () => this.search(this.searchInput.value));
    this.searchInput.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.step(e.shiftKey ? -1 : 1);
      }
    });
  }

  get text(): string {
    return this.buffer.lines.map((l) => l.text).join("\n");
  }

  clear(): void {
    this.buffer.clear();
    this.rendered = 0;
    clear(this.linesEl);
    clear(this.pendingEl);
    this.droppedEl.hidden = true;
    this.follow = true;
    this.matches = [];
    this.current = -1;
    this.countEl.textContent = "";
  }

  append(text: string): void {
    this.buffer.append(text);
    // Draw at most once a frame: a fast tool writes many small chunks.
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  /** flush draws what arrived since the last frame. */
  flush(): void {
    this.frame = 0;
    const b = this.buffer;
    const total = b.dropped + b.lines.length;
    let drawn = this.linesEl.childElementCount;
    // Lines dropped from the buffer leave the DOM too.
    const firstDrawn = this.rendered - drawn; // absolute index of the first drawn line
    let excess = b.dropped - firstDrawn;
    while (excess-- > 0 && this.linesEl.firstChild) {
      this.linesEl.firstChild.remove();
      drawn--;
    }
    const frag = document.createDocumentFragment();
    for (let abs = Math.max(this.rendered, b.dropped); abs < total; abs++) frag.append(this.lineEl(b.lines[abs - b.dropped]));
    this.linesEl.append(frag);
    this.rendered = total;
    clear(this.pendingEl);
    const p = b.pending();
    if (p) this.fill(this.pendingEl, p);
    this.droppedEl.hidden = b.dropped === 0;
    this.droppedEl.textContent = `${b.dropped} lines dropped (the panel keeps the last ${b.max})`;
    if (!this.searchBar.hidden && this.searchInput.value) this.search(this.searchInput.value, true);
    if (this.follow) this.body.scrollTop = this.body.scrollHeight;
  }

  private lineEl(l: LogLine): HTMLElement {
    const el = h("div.log-line");
    this.fill(el, l);
    return el;
  }

  private fill(el: HTMLElement, l: LogLine) {
    const links = findLinks(l.text);
    let at = 0;
    let li = 0;
    let linkEl: HTMLElement | null = null;
    for (const seg of l.segments) {
      let text = seg.text;
      while (text) {
        // Cut segments at link boundaries so a link is one element.
        const link = links[li];
        let n = text.length;
        if (link && at < link.from) n = Math.min(n, link.from - at);
        else if (link && at < link.to) n = Math.min(n, link.to - at);
        const span = h("span", {}, text.slice(0, n));
        const cls = styleClass(seg.style);
        if (cls) span.className = cls;
        if (seg.style.fg !== undefined && seg.style.fg >= 16) span.style.color = palette(seg.style.fg);
        if (seg.style.bg !== undefined && seg.style.bg >= 16) span.style.background = palette(seg.style.bg);
        if (seg.style.fgRGB) span.style.color = seg.style.fgRGB;
        if (seg.style.bgRGB) span.style.background = seg.style.bgRGB;
        if (link && at >= link.from && at < link.to) {
          if (!linkEl) {
            const target = link;
            linkEl = h("a.log-link", { href: "#", title: `Open ${link.path} at line ${link.line}`, onclick: (e: Event) => {
              e.preventDefault();
              const base = this.hooks.base?.() ?? "";
              const path = base && base !== "." ? `${base}/${target.path}` : target.path;
              this.hooks.open(path, target.line, target.column);
            } });
            el.append(linkEl);
          }
          linkEl.append(span);
        } else el.append(span);
        at += n;
        text = text.slice(n);
        if (link && at >= link.to) {
          li++;
          linkEl = null;
        }
      }
    }
  }

  openSearch(): void {
    this.searchBar.hidden = false;
    this.searchInput.focus();
    this.searchInput.select();
    if (this.searchInput.value) this.search(this.searchInput.value);
  }

  closeSearch(): void {
    this.searchBar.hidden = true;
    this.unmark();
    this.body.focus();
  }

  private unmark() {
    for (const m of [...this.linesEl.querySelectorAll("mark.log-match")]) m.replaceWith(...m.childNodes);
    this.linesEl.normalize();
  }

  /** search highlights query's matches; keep holds the current match. */
  search(query: string, keep = false): void {
    this.unmark();
    const b = this.buffer;
    this.matches = findMatches(b.lines, query);
    if (!keep || this.current >= this.matches.length) this.current = this.matches.length ? 0 : -1;
    const offset = b.dropped - (this.rendered - this.linesEl.childElementCount);
    this.matches.forEach((m, i) => {
      const el = this.linesEl.children[m.line + offset] as HTMLElement | undefined;
      if (el) markRange(el, m.from, m.to, i === this.current);
    });
    this.countEl.textContent = query ? (this.matches.length ? `${this.current + 1} of ${this.matches.length}` : "No results") : "";
    if (!keep) this.reveal();
  }

  step(dir: 1 | -1): void {
    if (!this.matches.length) return;
    this.current = (this.current + dir + this.matches.length) % this.matches.length;
    for (const m of this.linesEl.querySelectorAll("mark.log-match.current")) m.classList.remove("current");
    const marks = this.linesEl.querySelectorAll("mark.log-match");
    marks[this.current]?.classList.add("current");
    this.countEl.textContent = `${this.current + 1} of ${this.matches.length}`;
    this.reveal();
  }

  private reveal() {
    const cur = this.linesEl.querySelector("mark.log-match.current");
    if (cur) {
      this.follow = false;
      cur.scrollIntoView({ block: "center" });
    }
  }
}

/** markRange wraps the text between from and to of el's text in marks. */
function markRange(el: HTMLElement, from: number, to: number, current: boolean) {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const nodes: Text[] = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n as Text);
  let at = 0;
  for (const node of nodes) {
    const len = node.data.length;
    const s = Math.max(from, at), e = Math.min(to, at + len);
    if (s < e) {
      let target = node;
      if (s > at) target = target.splitText(s - at);
      if (e < at + len) target.splitText(e - s);
      const mark = document.createElement("mark");
      mark.className = "log-match" + (current ? " current" : "");
      target.replaceWith(mark);
      mark.append(target);
    }
    at += len;
  }
}
