// WaveViewer: one waveform tab. The server indexes the dump; the viewer
// shows its scope tree with search, a list of chosen signals (groups,
// buses split into bits, a radix each) with their values at the cursor,
// and a canvas with the time ruler, the waves, the cursor and markers.
// Only the visible signals over the visible time range are ever fetched,
// downsampled to the canvas width; the view is saved in the workspace.
import { toast, prompt } from "../ui/dialog";
import { basename, clear, h } from "../ui/dom";
import { cssVar, onThemeChange } from "../ui/settings";
import { type DumpInfo, indexSignals, nextChange, prevChange, type Scope, type SignalInfo, WavesAPI } from "./api";
import {
  bitIndex, bitOf, Debounced, formatTime, formatValue, isGroup, MANY, parseTimescale, parseView, pickSignals, type Radix, radixes,
  radixNames, type RowState, serializeView, type SignalRowState, ticks, type Timescale, valueAt, type ViewState, viewPath, Viewport,
  type WindowSignal,
} from "./model";

export interface ViewerHooks {
  /** Opens the HDL declaration of a dump signal. */
  gotoDeclaration(sig: SignalInfo): void;
  /** Called when the viewer gets the focus (the hub tracks the last used dump). */
  focused(v: WaveViewer): void;
}

interface SigRow {
  info: SignalInfo;
  radix: Radix;
  expanded: boolean;
}

interface GroupRow {
  name: string;
  collapsed: boolean;
  signals: SigRow[];
}

type TopRow = SigRow | GroupRow;

/** A line of the signal list as drawn. */
interface Line {
  key: string;
  kind: "signal" | "bit" | "group";
  depth: number;
  sig?: SigRow;
  group?: GroupRow;
  /** The bit index for a bit line. */
  bit?: number;
  /** The group holding sig, if any. */
  parent?: GroupRow;
}

const RH = 22; // row height
const RULER = 26;
/** The canvas's colours, read from the page's theme (styles.css) and again after each theme change. */
const colors = {
  bg: "", ruler: "", grid: "", text: "", dim: "", wave: "", bus: "", x: "", z: "", many: "", cursor: "", marker: "", select: "",
};
function readColors() {
  const v = (name: string, fallback: string) => cssVar(name, fallback);
  Object.assign(colors, {
    bg: v("--bg-side", "#1e2127"),
    ruler: v("--bg", "#181a1f"),
    grid: v("--border", "#2a2e36"),
    text: v("--fg", "#c8ccd4"),
    dim: v("--fg-dim", "#8b8f98"),
    wave: v("--ok", "#89d185"),
    bus: v("--syn-function", "#61afef"),
    x: v("--err", "#f14c4c"),
    z: v("--warn", "#cca700"),
    many: v("--syn-namespace", "#56b6c2"),
    cursor: v("--accent", "#4fc1ff"),
    marker: v("--syn-type", "#e5c07b"),
    select: v("--bg-active", "#2f3542"),
  });
}
let colorsRead = false;

export function isDumpPath(path: string): boolean {
  return /\.(vcd|fst)$/i.test(path);
}

export class WaveViewer {
  readonly el: HTMLElement;
  private statusEl = h("div.waves-status", { "data-testid": "waves-status" });
  private bodyEl: HTMLElement;
  private searchEl = h("input.text.small.waves-search", { type: "search", placeholder: "Search signals", "aria-label": "Search signals", "data-testid": "wave-search" }) as HTMLInputElement;
  private scopesEl = h("div.waves-scopes", { role: "tree", tabindex: 0, "aria-label": "Scopes and signals" });
  private rowsEl = h("div.wave-rows", { role: "listbox", tabindex: 0, "aria-label": "Signals in the view", "aria-multiselectable": "true" });
  private canvasHost = h("div.wave-canvas-host", {});
  private canvas = h("canvas.wave-canvas", { "data-testid": "wave-canvas", "aria-label": "Waveforms" }) as HTMLCanvasElement;
  private cursorTimeEl = h("span.wave-time", { "data-testid": "wave-cursor-time", title: "Cursor time" }, "—");
  private rangeEl = h("span.wave-range", { "data-testid": "wave-range" });
  private markersEl = h("span.wave-markers", { "data-testid": "wave-markers" });

  private api: WavesAPI;
  private info: DumpInfo | null = null;
  private ts: Timescale = parseTimescale("1ns");
  private signals = new Map<string, SignalInfo>();
  private scopes: Scope[] = [];
  private rows: TopRow[] = [];
  private lines: Line[] = [];
  private selected = new Set<TopRow>();
  private focusLine = 0;
  private vp = new Viewport(0, 1, 1);
  private cursor: number | null = null;
  private markers: number[] = [];
  private data = new Map<number, WindowSignal>();
  private dataRange = { start: 0, end: 0 };
  private cursorValues = new Map<number, string>();
  private fetcher = new Debounced(40);
  private valueFetcher = new Debounced(20);
  private searcher = new Debounced(150);
  private saver = new Debounced(500);
  private expandedScopes = new Set<string>();
  private treeSelected: string | null = null;
  private ready = false;
  private disposed = false;
  private drawQueued = false;
  private resize: ResizeObserver | null = null;
  private dragRow: TopRow | null = null;
  private openCtrl: AbortController | null = null;

  constructor(conn: ConstructorParameters<typeof WavesAPI>[0], readonly path: string, private hooks: ViewerHooks) {
    this.api = new WavesAPI(conn);
    const btn = (label: string, title: string, run: () => void, testid?: string) =>
      h("button.btn.small.plain", { title, "aria-label": title, "data-testid": testid, onclick: () => run() }, label);
    const toolbar = h("div.waves-toolbar", {},
      h("span.waves-title", { title: this.path }, basename(this.path)),
      btn("−", "Zoom out (-)", () => this.zoom(2)),
      btn("+", "Zoom in (+)", () => this.zoom(0.5)),
      btn("Fit", "Zoom to fit (F)", () => this.fit(), "wave-fit"),
      btn("◀", "Previous change of the selected signal ([)", () => void this.jump(-1), "wave-prev"),
      btn("▶", "Next change of the selected signal (])", () => void this.jump(1), "wave-next"),
      btn("+M", "Add a marker at the cursor (M)", () => this.addMarker(), "wave-add-marker"),
      h("span.wave-label", {}, "Cursor"), this.cursorTimeEl,
      this.markersEl,
      h("span.spacer", {}),
      this.rangeEl,
    );
    const side = h("aside.waves-side", {}, this.searchEl, this.scopesEl);
    const head = h("div.wave-rows-head", {}, h("span.wave-name", {}, "Signal"), h("span.wave-value", {}, "Value"));
    const list = h("div.wave-list", {}, head, this.rowsEl);
    this.canvasHost.append(this.canvas);
    this.bodyEl = h("div.waves-body", { hidden: true }, side, h("div.waves-main", {}, list, this.canvasHost));
    this.el = h("div.waves", { "data-testid": "waves", "data-path": this.path, tabindex: -1 }, toolbar, this.statusEl, this.bodyEl);
    this.wire();
    void this.load();
  }

  // ---- loading ----

  private async load(): Promise<void> {
    this.openCtrl?.abort();
    const ctrl = new AbortController();
    this.openCtrl = ctrl;
    this.status("Opening…", 0);
    let info: DumpInfo;
    try {
      for (;;) {
        info = await this.api.open(this.path, ctrl.signal);
        if (this.disposed || ctrl.signal.aborted) return;
        if (info.state === "failed") throw new Error(info.error || "indexing failed");
        if (info.state === "ready") break;
        this.status(`Indexing ${basename(this.path)}… ${Math.round((info.progress ?? 0) * 100)}%`, info.progress ?? 0);
        await new Promise((r) => setTimeout(r, 250));
      }
      const [scopes, saved] = await Promise.all([this.api.scopes(info.id), this.rows.length ? Promise.resolve(null) : this.api.readText(viewPath(this.path))]);
      if (this.disposed || ctrl.signal.aborted) return;
      const reload = this.info !== null;
      this.info = info;
      this.ts = parseTimescale(info.timescale);
      this.scopes = scopes;
      this.signals = indexSignals(scopes);
      for (const s of scopes) this.expandedScopes.add(s.name);
      if (reload) {
        // The dump was rewritten: keep the view, find the signals again.
        const keep = (r: SigRow) => {
          const n = this.signals.get(r.info.path);
          if (n) r.info = n;
          return !!n;
        };
        this.rows = this.rows.filter((r) => (isGroup2(r) ? ((r.signals = r.signals.filter(keep)), true) : keep(r)));
        this.vp.min = info.start;
        this.vp.max = info.end;
        this.vp.set(this.vp.start, this.vp.end);
      } else {
        this.vp = new Viewport(info.start, info.end, this.vp.width, info.start, info.end);
        const view = saved ? parseView(saved) : null;
        if (view) this.restore(view);
      }
      this.data.clear();
      this.cursorValues.clear();
      this.ready = true;
      this.status("", null);
      this.bodyEl.hidden = false;
      this.renderScopes();
      this.renderRows();
      this.renderCursor();
      this.measure();
      this.refetch();
    } catch (err) {
      if (this.disposed || ctrl.signal.aborted) return;
      this.status(`Cannot open ${this.path}: ${(err as Error).message}`, null, true);
    }
  }

  private status(text: string, progress: number | null, error = false) {
    clear(this.statusEl);
    this.statusEl.hidden = !text;
    this.statusEl.classList.toggle("error", error);
    if (!text) return;
    this.statusEl.append(h("div", {}, text));
    if (progress !== null) {
      const bar = h("div.progress-bar", { "data-testid": "waves-progress" });
      bar.style.width = `${Math.round(progress * 100)}%`;
      this.statusEl.append(h("div.progress-track", {}, bar));
    }
  }

  /** changed reloads after the dump was rewritten on disk (a new simulation run). */
  changed(): void {
    if (!this.disposed) void this.load();
  }

  focus(): void {
    (this.ready ? this.rowsEl : this.el).focus({ preventScroll: true });
    this.measure();
  }

  dispose(): void {
    this.disposed = true;
    this.unwatchTheme();
    this.openCtrl?.abort();
    this.fetcher.cancel();
    this.valueFetcher.cancel();
    this.searcher.cancel();
    this.saver.cancel();
    this.resize?.disconnect();
  }

  // ---- the view and its JSON ----

  private restore(v: ViewState) {
    const mk = (s: SignalRowState): SigRow | null => {
      const info = this.signals.get(s.signal);
      return info ? { info, radix: s.radix ?? "hex", expanded: !!s.expanded && info.width > 1 } : null;
    };
    let missing = 0;
    for (const r of v.rows) {
      if (isGroup(r)) {
        const signals = r.signals.map(mk);
        missing += signals.filter((s) => !s).length;
        this.rows.push({ name: r.group, collapsed: !!r.collapsed, signals: signals.filter((s): s is SigRow => !!s) });
      } else {
        const s = mk(r);
        if (s) this.rows.push(s);
        else missing++;
      }
    }
    if (v.range) this.vp.set(v.range.start, v.range.end);
    if (typeof v.cursor === "number") this.cursor = v.cursor;
    this.markers = (v.markers ?? []).slice(0, 26);
    if (missing) toast(`${missing} saved signal${missing > 1 ? "s are" : " is"} no longer in ${basename(this.path)}.`);
  }

  /** view is the state saved in .ide/waves/<dump>.json. */
  view(): ViewState {
    const sig = (s: SigRow): SignalRowState => ({ signal: s.info.path, radix: s.radix, ...(s.expanded ? { expanded: true } : {}) });
    const rows: RowState[] = this.rows.map((r) => (isGroup2(r) ? { group: r.name, ...(r.collapsed ? { collapsed: true } : {}), signals: r.signals.map(sig) } : sig(r)));
    return { version: 1, dump: this.path, rows, range: { start: this.vp.start, end: this.vp.end }, cursor: this.cursor, markers: [...this.markers] };
  }

  private saveSoon() {
    if (!this.ready) return;
    this.saver.schedule(async () => {
      try {
        await this.api.writeText(viewPath(this.path), serializeView(this.view()));
      } catch (err) {
        toast(`Save the wave view: ${(err as Error).message}`, "error");
      }
    });
  }

  /** Signal paths in the view, in order (tests and the hub use it). */
  get signalPaths(): string[] {
    return this.rows.flatMap((r) => (isGroup2(r) ? r.signals.map((s) => s.info.path) : [r.info.path]));
  }

  // ---- rows ----

  /** add puts signals (by dotted path) at the end of the view, or after the focused row; it returns how many were new. */
  add(paths: string[]): number {
    const have = new Set(this.signalPaths);
    let n = 0;
    for (const p of paths) {
      const info = this.signals.get(p);
      if (!info || have.has(p)) continue;
      have.add(p);
      this.rows.push({ info, radix: "hex", expanded: false });
      n++;
    }
    if (n) this.changedRows();
    return n;
  }

  /** addByName adds every signal named name (cross-probing from the editor). */
  addByName(name: string, instancePaths: string[][]): string[] {
    const paths = pickSignals(name, [...this.signals.keys()], instancePaths);
    this.add(paths);
    return paths;
  }

  private changedRows() {
    this.renderRows();
    this.refetch();
    this.saveSoon();
  }

  private flatten(): Line[] {
    const out: Line[] = [];
    const sig = (s: SigRow, depth: number, parent?: GroupRow) => {
      out.push({ key: s.info.path, kind: "signal", depth, sig: s, parent });
      if (s.expanded && s.info.width > 1) {
        const msb = s.info.msb ?? s.info.width - 1, lsb = s.info.lsb ?? 0;
        for (let k = 0; k < s.info.width; k++) {
          const bit = bitIndex(k, msb, lsb);
          out.push({ key: `${s.info.path}[${bit}]`, kind: "bit", depth: depth + 1, sig: s, bit, parent });
        }
      }
    };
    for (const r of this.rows) {
      if (isGroup2(r)) {
        out.push({ key: "group:" + r.name, kind: "group", depth: 0, group: r });
        if (!r.collapsed) for (const s of r.signals) sig(s, 1, r);
      } else sig(r, 0);
    }
    return out;
  }

  private rowOf(l: Line): TopRow {
    return l.group ?? l.parent ?? l.sig!;
  }

  /** The row a line acts on for selection: the signal (in or out of a group) or the group. */
  private itemOf(l: Line): TopRow {
    return l.kind === "group" ? l.group! : l.sig!;
  }

  private renderRows() {
    this.lines = this.flatten();
    this.focusLine = Math.min(this.focusLine, Math.max(0, this.lines.length - 1));
    clear(this.rowsEl);
    if (!this.lines.length) {
      this.rowsEl.append(h("div.wave-empty", {}, "Double-click a signal in the tree (or press Enter on it) to add it."));
    }
    this.lines.forEach((l, i) => {
      const item = this.itemOf(l);
      const selected = this.selected.has(item) && l.kind !== "bit";
      const name = l.kind === "group" ? `${l.group!.collapsed ? "▸" : "▾"} ${l.group!.name}` : l.kind === "bit" ? `${l.sig!.info.name}[${l.bit}]` : l.sig!.info.name + (l.sig!.info.width > 1 ? ` [${l.sig!.info.msb ?? l.sig!.info.width - 1}:${l.sig!.info.lsb ?? 0}]` : "");
      const twisty = l.kind === "signal" && l.sig!.info.width > 1 ? (l.sig!.expanded ? "▾" : "▸") : "";
      const row = h("div.wave-row", {
        role: "option",
        id: `wr-${i}-${Math.random().toString(36).slice(2, 7)}`,
        "aria-selected": String(selected),
        "data-wave-signal": l.kind === "group" ? undefined : l.key,
        "data-wave-group": l.kind === "group" ? l.group!.name : undefined,
        title: l.kind === "group" ? l.group!.name : l.sig!.info.path,
        draggable: l.kind === "bit" ? undefined : "true",
      },
      h("span.wave-name", { style: `padding-left:${4 + l.depth * 12}px` }, h("span.wave-twisty", {}, twisty), name),
      h("span.wave-value", { "data-wave-value": l.kind === "group" ? undefined : l.key }, ""));
      row.classList.toggle("selected", selected);
      row.classList.toggle("focused", i === this.focusLine);
      row.classList.toggle("group", l.kind === "group");
      row.addEventListener("pointerdown", (e) => {
        if (e.button !== 0 && e.button !== 2) return;
        this.focusLine = i;
        if (e.button === 2 && this.selected.has(item)) return this.paintSelection();
        if (e.ctrlKey || e.metaKey) {
          if (this.selected.has(item)) this.selected.delete(item);
          else this.selected.add(item);
        } else {
          this.selected.clear();
          this.selected.add(item);
        }
        this.paintSelection();
      });
      row.addEventListener("click", (e) => {
        const t = e.target as HTMLElement;
        if (t.classList.contains("wave-twisty") || l.kind === "group") this.toggle(l);
      });
      row.addEventListener("contextmenu", (e) => {
        e.preventDefault();
        this.menu(l, e.clientX, e.clientY);
      });
      row.addEventListener("dragstart", (e) => {
        this.dragRow = this.itemOf(l);
        e.dataTransfer?.setData("text/plain", l.key);
        if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
      });
      row.addEventListener("dragover", (e) => {
        if (!this.dragRow) return;
        e.preventDefault();
        row.classList.add("drop-target");
      });
      row.addEventListener("dragleave", () => row.classList.remove("drop-target"));
      row.addEventListener("drop", (e) => {
        e.preventDefault();
        row.classList.remove("drop-target");
        const drag = this.dragRow;
        this.dragRow = null;
        if (!drag) return;
        const after = e.offsetY > RH / 2;
        this.moveTo(drag, l, after);
      });
      row.addEventListener("dragend", () => (this.dragRow = null));
      this.rowsEl.append(row);
    });
    this.paintSelection();
    this.fillValues();
    this.queueDraw();
  }

  private paintSelection() {
    const rows = this.rowsEl.querySelectorAll<HTMLElement>(".wave-row");
    rows.forEach((el, i) => {
      const l = this.lines[i];
      const sel = !!l && l.kind !== "bit" && this.selected.has(this.itemOf(l));
      el.classList.toggle("selected", sel);
      el.setAttribute("aria-selected", String(sel));
      el.classList.toggle("focused", i === this.focusLine);
      if (i === this.focusLine) this.rowsEl.setAttribute("aria-activedescendant", el.id);
    });
    rows[this.focusLine]?.scrollIntoView({ block: "nearest" });
    this.queueDraw();
  }

  private toggle(l: Line) {
    if (l.kind === "group") l.group!.collapsed = !l.group!.collapsed;
    else if (l.sig && l.sig.info.width > 1) l.sig.expanded = !l.sig.expanded;
    else return;
    this.changedRows();
  }

  /** moveTo puts item before (or after) the line target; a signal dropped on a group's line goes into it. */
  private moveTo(item: TopRow, target: Line, after: boolean) {
    const tItem = this.itemOf(target);
    if (tItem === item) return;
    this.detach(item);
    if (!isGroup2(item) && target.parent && !isGroup2(tItem)) {
      const g = target.parent;
      const i = g.signals.indexOf(tItem as SigRow);
      g.signals.splice(i + (after ? 1 : 0), 0, item);
    } else if (!isGroup2(item) && target.kind === "group" && after) {
      target.group!.signals.unshift(item);
    } else {
      const anchor = this.rowOf(target);
      const i = this.rows.indexOf(anchor);
      this.rows.splice(i < 0 ? this.rows.length : i + (after ? 1 : 0), 0, item);
    }
    this.changedRows();
  }

  private detach(item: TopRow) {
    const i = this.rows.indexOf(item);
    if (i >= 0) this.rows.splice(i, 1);
    for (const r of this.rows) if (isGroup2(r)) {
      const j = r.signals.indexOf(item as SigRow);
      if (j >= 0) r.signals.splice(j, 1);
    }
  }

  /** move shifts the selected rows (or the focused one) by one place up (-1) or down (+1), within their list. */
  private move(dir: -1 | 1) {
    const l = this.lines[this.focusLine];
    if (!l) return;
    const item = this.itemOf(l);
    const list: TopRow[] = !isGroup2(item) && l.parent ? l.parent.signals : this.rows;
    const i = list.indexOf(item);
    const j = i + dir;
    if (i < 0) return;
    if (j < 0 || j >= list.length) {
      // Out of the group's ends: leave the group.
      if (l.parent && !isGroup2(item)) {
        list.splice(i, 1);
        const gi = this.rows.indexOf(l.parent);
        this.rows.splice(dir < 0 ? gi : gi + 1, 0, item);
      } else return;
    } else {
      [list[i], list[j]] = [list[j], list[i]];
    }
    this.renderRowsKeepFocus(item);
  }

  private renderRowsKeepFocus(item: TopRow) {
    this.lines = this.flatten();
    const k = this.lines.findIndex((x) => this.itemOf(x) === item && x.kind !== "bit");
    if (k >= 0) this.focusLine = k;
    this.changedRows();
  }

  private removeSelected() {
    const l = this.lines[this.focusLine];
    const items = this.selected.size ? [...this.selected] : l ? [this.itemOf(l)] : [];
    for (const it of items) this.detach(it);
    this.selected.clear();
    this.changedRows();
  }

  private async groupSelected() {
    const l = this.lines[this.focusLine];
    const sigs = [...(this.selected.size ? this.selected : l ? [this.itemOf(l)] : [])].filter((r): r is SigRow => !isGroup2(r));
    if (!sigs.length) return;
    const name = await prompt("New group", "Group name", `group ${this.rows.filter(isGroup2).length + 1}`);
    if (!name) return;
    const order = this.signalPaths;
    sigs.sort((a, b) => order.indexOf(a.info.path) - order.indexOf(b.info.path));
    const firstTop = this.rows.findIndex((r) => r === sigs[0] || (isGroup2(r) && r.signals.includes(sigs[0])));
    for (const s of sigs) this.detach(s);
    const g: GroupRow = { name, collapsed: false, signals: sigs };
    this.rows.splice(Math.max(0, Math.min(firstTop, this.rows.length)), 0, g);
    this.selected = new Set([g]);
    this.renderRowsKeepFocus(g);
  }

  private ungroup(g: GroupRow) {
    const i = this.rows.indexOf(g);
    if (i < 0) return;
    this.rows.splice(i, 1, ...g.signals);
    this.selected.clear();
    this.changedRows();
  }

  private setRadix(items: TopRow[], radix: Radix) {
    for (const it of items) for (const s of isGroup2(it) ? it.signals : [it]) s.radix = radix;
    this.renderRows();
    this.saveSoon();
  }

  // ---- context menu ----

  private menu(l: Line, x: number, y: number) {
    const item = this.itemOf(l);
    if (!this.selected.has(item)) {
      this.selected = new Set([item]);
      this.paintSelection();
    }
    const targets = [...this.selected];
    const items: MenuItem[] = [];
    if (l.kind !== "group" && l.sig) {
      const s = l.sig;
      if (s.info.width > 1) {
        for (const r of radixes) items.push({ label: radixNames[r], checked: s.radix === r, run: () => this.setRadix(targets, r), testid: `radix-${r}` });
        items.push({ separator: true });
        items.push({ label: s.expanded ? "Collapse bits" : "Expand bits", run: () => this.toggle({ ...l, kind: "signal" }), testid: "wave-expand" });
      }
      items.push({ label: "Go to declaration", run: () => this.hooks.gotoDeclaration(s.info), testid: "wave-goto-decl" });
      items.push({ separator: true });
      items.push({ label: "Group selected…", run: () => void this.groupSelected(), testid: "wave-group" });
      const g = l.parent;
      if (g) items.push({ label: `Move out of "${g.name}"`, run: () => {
        this.detach(s);
        this.rows.splice(this.rows.indexOf(g) + 1, 0, s);
        this.renderRowsKeepFocus(s);
      } });
    } else if (l.group) {
      const g = l.group;
      for (const r of radixes) items.push({ label: radixNames[r], run: () => this.setRadix([g], r), testid: `radix-${r}` });
      items.push({ separator: true });
      items.push({ label: g.collapsed ? "Expand group" : "Collapse group", run: () => this.toggle(l) });
      items.push({ label: "Rename group…", run: async () => {
        const n = await prompt("Rename group", "Group name", g.name);
        if (n) {
          g.name = n;
          this.changedRows();
        }
      } });
      items.push({ label: "Ungroup", run: () => this.ungroup(g), testid: "wave-ungroup" });
    }
    items.push({ label: "Move up", run: () => this.move(-1), key: "Alt+↑" });
    items.push({ label: "Move down", run: () => this.move(1), key: "Alt+↓" });
    items.push({ label: "Remove", run: () => this.removeSelected(), key: "Del", testid: "wave-remove" });
    showMenu(items, x, y, () => this.rowsEl.focus({ preventScroll: true }));
  }

  // ---- scope tree and search ----

  private renderScopes() {
    clear(this.scopesEl);
    const q = this.searchEl.value.trim();
    if (q) return; // search results own the pane
    const walk = (list: Scope[], prefix: string, depth: number) => {
      for (const s of list) {
        const p = prefix ? `${prefix}.${s.name}` : s.name;
        const open = this.expandedScopes.has(p);
        const kids = (s.scopes?.length ?? 0) + (s.signals?.length ?? 0) > 0;
        const row = h("div.wave-tree-row.scope", { role: "treeitem", "aria-expanded": kids ? String(open) : undefined, "data-scope": p, title: `${p} (${s.kind})` },
          h("span.twisty", {}, kids ? (open ? "▾" : "▸") : ""), h("span.wave-scope-name", {}, s.name), h("span.wave-kind", {}, s.kind));
        row.style.paddingLeft = `${4 + depth * 12}px`;
        row.addEventListener("click", () => {
          if (open) this.expandedScopes.delete(p);
          else this.expandedScopes.add(p);
          this.treeSelected = p;
          this.renderScopes();
        });
        row.addEventListener("dblclick", () => this.add((s.signals ?? []).map((x) => `${p}.${x.name}`)));
        this.scopesEl.append(row);
        if (!open) continue;
        walk(s.scopes ?? [], p, depth + 1);
        for (const sig of s.signals ?? []) this.scopesEl.append(this.treeSignalRow(`${p}.${sig.name}`, sig.name, sig.width, depth + 1));
      }
    };
    walk(this.scopes, "", 0);
    this.paintTreeSelection();
  }

  private treeSignalRow(path: string, label: string, width: number, depth: number): HTMLElement {
    const row = h("div.wave-tree-row.signal", { role: "treeitem", "data-scope-signal": path, title: `${path} — double-click or Enter to add` },
      h("span.twisty", {}, ""), h("span.wave-sig-name", {}, label), width > 1 ? h("span.wave-kind", {}, `[${width}]`) : null);
    row.style.paddingLeft = `${4 + depth * 12}px`;
    row.addEventListener("click", () => {
      this.treeSelected = path;
      this.paintTreeSelection();
    });
    row.addEventListener("dblclick", () => this.add([path]));
    return row;
  }

  private paintTreeSelection() {
    for (const el of this.scopesEl.querySelectorAll<HTMLElement>(".wave-tree-row")) {
      const p = el.dataset.scopeSignal ?? el.dataset.scope;
      el.classList.toggle("selected", p === this.treeSelected);
      if (p === this.treeSelected) el.scrollIntoView({ block: "nearest" });
    }
  }

  private runSearch() {
    const q = this.searchEl.value.trim();
    if (!q) {
      this.searcher.cancel();
      this.renderScopes();
      return;
    }
    this.searcher.schedule(async (signal) => {
      if (!this.info) return;
      const hits = await this.api.search(this.info.id, q, 200, signal);
      if (signal.aborted) return;
      clear(this.scopesEl);
      if (!hits.length) this.scopesEl.append(h("div.wave-empty", {}, "No signal matches."));
      for (const hit of hits) this.scopesEl.append(this.treeSignalRow(hit.path, hit.path, hit.width, 0));
      this.treeSelected = hits[0]?.path ?? null;
      this.paintTreeSelection();
    });
  }

  private treeKey(e: KeyboardEvent) {
    const rows = [...this.scopesEl.querySelectorAll<HTMLElement>(".wave-tree-row")];
    let i = rows.findIndex((r) => (r.dataset.scopeSignal ?? r.dataset.scope) === this.treeSelected);
    const cur = rows[i];
    const sel = (k: number) => {
      const r = rows[Math.max(0, Math.min(rows.length - 1, k))];
      if (r) this.treeSelected = r.dataset.scopeSignal ?? r.dataset.scope ?? null;
      this.paintTreeSelection();
    };
    switch (e.key) {
      case "ArrowDown": sel(i + 1); break;
      case "ArrowUp": sel(i < 0 ? 0 : i - 1); break;
      case "ArrowRight":
      case "ArrowLeft": {
        const p = cur?.dataset.scope;
        if (!p) return;
        if (e.key === "ArrowRight") this.expandedScopes.add(p);
        else this.expandedScopes.delete(p);
        this.renderScopes();
        break;
      }
      case "Enter": {
        if (cur?.dataset.scopeSignal) this.add([cur.dataset.scopeSignal]);
        else if (cur) cur.click();
        break;
      }
      default: return;
    }
    e.preventDefault();
    e.stopPropagation();
  }

  // ---- zoom, pan, cursor, markers ----

  private zoom(factor: number, around?: number) {
    const c = around ?? (this.cursor !== null && this.cursor >= this.vp.start && this.cursor <= this.vp.end ? this.cursor : undefined);
    this.vp.zoom(factor, c);
    this.viewChanged();
  }

  private fit() {
    this.vp.fit();
    this.viewChanged();
  }

  private viewChanged() {
    this.queueDraw();
    this.refetch();
    this.saveSoon();
  }

  setCursor(t: number | null) {
    if (t !== null) t = Math.round(Math.min(Math.max(t, this.vp.min), this.vp.max));
    this.cursor = t;
    this.renderCursor();
    this.fetchValues();
    this.queueDraw();
    this.saveSoon();
  }

  private renderCursor() {
    this.cursorTimeEl.textContent = this.cursor === null ? "—" : formatTime(this.cursor, this.ts);
    this.cursorTimeEl.dataset.time = this.cursor === null ? "" : String(this.cursor);
    clear(this.markersEl);
    this.markers.forEach((m, i) => {
      const name = markerName(i);
      const delta = this.cursor === null ? "" : ` Δ ${formatTime(this.cursor - m, this.ts)}`;
      this.markersEl.append(h("span.wave-marker", { "data-testid": `wave-marker-${name}`, "data-time": String(m), "data-delta": this.cursor === null ? "" : String(this.cursor - m) },
        h("button.wave-marker-go", { title: `Put the cursor on marker ${name}`, onclick: () => this.setCursor(m) }, `${name} ${formatTime(m, this.ts)}`),
        h("span.wave-delta", {}, delta),
        h("button.icon-btn", { title: `Remove marker ${name}`, "aria-label": `Remove marker ${name}`, onclick: () => {
          this.markers.splice(i, 1);
          this.renderCursor();
          this.queueDraw();
          this.saveSoon();
        } }, "×")));
    });
  }

  addMarker(t?: number) {
    const at = Math.round(t ?? this.cursor ?? (this.vp.start + this.vp.end) / 2);
    if (this.markers.includes(at) || this.markers.length >= 26) return;
    this.markers.push(at);
    this.renderCursor();
    this.queueDraw();
    this.saveSoon();
  }

  /** jump moves the cursor to the next (dir 1) or previous (-1) change of the focused signal. */
  private async jump(dir: 1 | -1) {
    const l = this.lines[this.focusLine];
    if (!l?.sig || !this.info) return;
    const from = this.cursor ?? (dir > 0 ? this.vp.start : this.vp.end);
    const id = this.info.id, sig = l.sig.info.id;
    let ch: [number, string] | null = null;
    if (l.kind === "bit") {
      // A bit changes only at some changes of its bus: step through those.
      let t = from;
      const width = l.sig.info.width, msb = l.sig.info.msb ?? width - 1, lsb = l.sig.info.lsb ?? 0;
      const before = this.cursorValues.get(sig);
      let cur = before ? bitOf(before, width, msb, lsb, l.bit!) : null;
      for (let n = 0; n < 10_000; n++) {
        const c = dir > 0 ? await nextChange(this.api, id, sig, t, this.info.end) : await prevChange(this.api, id, sig, this.info.start, t);
        if (!c) break;
        const b = bitOf(c[1], width, msb, lsb, l.bit!);
        if (dir > 0 ? b !== cur : true) {
          if (dir > 0) {
            ch = c;
            break;
          }
          // Backwards: the bit's value just before c must differ from its value at c.
          const w = await this.api.window(id, [sig], c[0] - 1, c[0], 1);
          const prevB = bitOf(w.signals[0]?.initial ?? "x", width, msb, lsb, l.bit!);
          if (prevB !== b) {
            ch = c;
            break;
          }
        }
        cur = b;
        t = c[0];
      }
    } else {
      ch = dir > 0 ? await nextChange(this.api, id, sig, from, this.info.end) : await prevChange(this.api, id, sig, this.info.start, from);
    }
    if (!ch) {
      toast(`No ${dir > 0 ? "later" : "earlier"} change of ${l.sig.info.path}.`);
      return;
    }
    this.setCursor(ch[0]);
    if (ch[0] < this.vp.start || ch[0] > this.vp.end) {
      const span = this.vp.span;
      this.vp.set(ch[0] - span / 2, ch[0] + span / 2);
      this.viewChanged();
    }
  }

  // ---- data ----

  /** The distinct signal ids on screen (all lines of the list: the list is small next to the dump). */
  private visibleIds(): number[] {
    const first = Math.floor(this.rowsEl.scrollTop / RH);
    const count = Math.ceil((this.rowsEl.clientHeight || 600) / RH) + 1;
    const ids = new Set<number>();
    for (const l of this.lines.slice(first, first + count)) if (l.sig) ids.add(l.sig.info.id);
    return [...ids];
  }

  private refetch() {
    if (!this.ready || !this.info) return;
    const info = this.info;
    this.fetcher.schedule(async (signal) => {
      const ids = this.visibleIds();
      if (!ids.length) return;
      const start = Math.floor(this.vp.start), end = Math.ceil(this.vp.end);
      const w = await this.api.window(info.id, ids, start, end, Math.max(1, Math.round(this.vp.width)), signal);
      if (signal.aborted || info !== this.info) return;
      for (const s of w.signals) this.data.set(s.id, s);
      this.dataRange = { start: w.start, end: w.end };
      this.queueDraw();
    });
    this.fetchValues();
  }

  private fetchValues() {
    if (!this.ready || !this.info) return;
    const info = this.info;
    const t = this.cursor;
    if (t === null) {
      this.cursorValues.clear();
      this.fillValues();
      return;
    }
    this.valueFetcher.schedule(async (signal) => {
      const ids = [...new Set(this.lines.flatMap((l) => (l.sig ? [l.sig.info.id] : [])))];
      if (!ids.length) return;
      // A window starting at the cursor: its initial values are the values at the cursor.
      const w = await this.api.window(info.id, ids, t, t + 1, 1, signal);
      if (signal.aborted || info !== this.info || t !== this.cursor) return;
      this.cursorValues.clear();
      for (const s of w.signals) this.cursorValues.set(s.id, s.initial);
      this.fillValues();
    });
  }

  private fillValues() {
    const cells = this.rowsEl.querySelectorAll<HTMLElement>(".wave-value");
    cells.forEach((cell, i) => {
      const l = this.lines[i];
      if (!l?.sig) return;
      let v = this.cursorValues.get(l.sig.info.id);
      if (v === undefined && this.cursor !== null) {
        const d = this.data.get(l.sig.info.id);
        v = d ? valueAt(d, this.dataRange.start, this.dataRange.end, this.cursor) ?? undefined : undefined;
      }
      if (v === undefined) {
        cell.textContent = "";
        return;
      }
      const { width, msb, lsb } = l.sig.info;
      const text = l.kind === "bit" ? bitOf(v, width, msb ?? width - 1, lsb ?? 0, l.bit!) : formatValue(v, l.sig.radix, width);
      cell.textContent = text;
      cell.title = text;
      cell.classList.toggle("unknown", /^[xXzZ?]+$/.test(text));
    });
  }

  // ---- drawing ----

  private measure() {
    const r = this.canvasHost.getBoundingClientRect();
    const w = Math.max(1, Math.floor(r.width)), hgt = Math.max(1, Math.floor(r.height));
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(hgt * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(hgt * dpr);
      this.canvas.style.width = w + "px";
      this.canvas.style.height = hgt + "px";
    }
    if (this.vp.width !== w) {
      this.vp.width = w;
      this.refetch();
    }
    this.queueDraw();
  }

  private queueDraw() {
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => {
      this.drawQueued = false;
      this.draw();
    });
  }

  /** A theme change recolours the canvas. */
  private unwatchTheme = onThemeChange(() => {
    readColors();
    this.queueDraw();
  });

  private draw() {
    if (this.disposed) return;
    if (!colorsRead) {
      readColors();
      colorsRead = true;
    }
    this.rangeEl.textContent = this.ready ? `${formatTime(this.vp.start, this.ts)} – ${formatTime(this.vp.end, this.ts)}` : "";
    this.rangeEl.dataset.start = String(this.vp.start);
    this.rangeEl.dataset.end = String(this.vp.end);
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    const W = this.canvas.width / dpr, H = this.canvas.height / dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = colors.bg;
    ctx.fillRect(0, 0, W, H);
    if (!this.ready) return;
    ctx.font = "11px " + getComputedStyle(this.el).getPropertyValue("--font-mono");
    ctx.textBaseline = "middle";

    // Ruler and grid.
    const tk = ticks(this.vp, this.ts);
    ctx.fillStyle = colors.ruler;
    ctx.fillRect(0, 0, W, RULER);
    ctx.strokeStyle = colors.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const t of tk.ticks) {
      const x = Math.round(t.x) + 0.5;
      ctx.moveTo(x, RULER - 8);
      ctx.lineTo(x, H);
    }
    ctx.stroke();
    ctx.fillStyle = colors.dim;
    for (const t of tk.ticks) ctx.fillText(t.label, Math.round(t.x) + 3, 9);

    // Rows.
    const top = this.rowsEl.scrollTop;
    const first = Math.floor(top / RH);
    const last = Math.min(this.lines.length, first + Math.ceil((H - RULER) / RH) + 1);
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, RULER, W, H - RULER);
    ctx.clip();
    for (let i = first; i < last; i++) {
      const l = this.lines[i];
      const y = RULER + i * RH - top;
      if (l.kind !== "bit" && this.selected.has(this.itemOf(l))) {
        ctx.fillStyle = colors.select;
        ctx.fillRect(0, y, W, RH);
      }
      if (!l.sig) continue;
      const d = this.data.get(l.sig.info.id);
      if (!d) continue;
      const { width, msb, lsb } = l.sig.info;
      const pick = l.kind === "bit" ? (v: string) => bitOf(v, width, msb ?? width - 1, lsb ?? 0, l.bit!) : (v: string) => v;
      const segs = segments(d, this.dataRange.start, this.dataRange.end, pick);
      if (l.kind === "bit" || width === 1) this.drawScalar(ctx, segs, y);
      else this.drawBus(ctx, segs, y, l.sig);
    }
    ctx.restore();

    // Markers and cursor.
    const vline = (t: number, color: string, label: string) => {
      const x = Math.round(this.vp.toX(t)) + 0.5;
      if (x < -1 || x > W + 1) return;
      ctx.strokeStyle = color;
      ctx.beginPath();
      ctx.moveTo(x, RULER - 10);
      ctx.lineTo(x, H);
      ctx.stroke();
      ctx.fillStyle = color;
      const tw = ctx.measureText(label).width + 6;
      ctx.fillRect(x - tw / 2, RULER - 11, tw, 11);
      ctx.fillStyle = "#111";
      ctx.fillText(label, x - tw / 2 + 3, RULER - 5);
    };
    this.markers.forEach((m, i) => vline(m, colors.marker, markerName(i)));
    if (this.cursor !== null) vline(this.cursor, colors.cursor, formatTime(this.cursor, this.ts));
  }

  private drawScalar(ctx: CanvasRenderingContext2D, segs: Segment[], y: number) {
    const hi = y + 4, lo = y + RH - 4, mid = y + RH / 2;
    let prevY: number | null = null;
    for (const s of segs) {
      const x0 = this.vp.toX(s.t0), x1 = this.vp.toX(s.t1);
      if (x1 < -2 || x0 > this.vp.width + 2) {
        prevY = null;
        continue;
      }
      const a = Math.max(-2, x0), b = Math.min(this.vp.width + 2, x1);
      if (s.v === MANY) {
        ctx.fillStyle = colors.many;
        ctx.fillRect(a, hi, Math.max(1, b - a), lo - hi);
        prevY = null;
        continue;
      }
      if (s.v === "x" || s.v === "z") {
        ctx.fillStyle = s.v === "x" ? "rgba(241,76,76,.25)" : "rgba(204,167,0,.15)";
        ctx.fillRect(a, hi, b - a, lo - hi);
        ctx.strokeStyle = s.v === "x" ? colors.x : colors.z;
        ctx.beginPath();
        ctx.moveTo(a, mid);
        ctx.lineTo(b, mid);
        ctx.stroke();
        prevY = null;
        continue;
      }
      const yy = s.v === "1" ? hi : lo;
      ctx.strokeStyle = colors.wave;
      ctx.beginPath();
      if (prevY !== null && prevY !== yy) {
        ctx.moveTo(Math.round(a) + 0.5, prevY);
        ctx.lineTo(Math.round(a) + 0.5, yy);
      }
      ctx.moveTo(a, yy + 0.5);
      ctx.lineTo(b, yy + 0.5);
      ctx.stroke();
      prevY = yy;
    }
  }

  private drawBus(ctx: CanvasRenderingContext2D, segs: Segment[], y: number, sig: SigRow) {
    const hi = y + 4, lo = y + RH - 4, mid = y + RH / 2;
    for (const s of segs) {
      const x0 = this.vp.toX(s.t0), x1 = this.vp.toX(s.t1);
      if (x1 < -2 || x0 > this.vp.width + 2) continue;
      const a = Math.max(-4, x0), b = Math.min(this.vp.width + 4, x1);
      if (s.v === MANY) {
        ctx.fillStyle = colors.many;
        ctx.fillRect(a, hi, Math.max(1, b - a), lo - hi);
        continue;
      }
      const unknown = /^[xX]+$/.test(s.v) ? colors.x : /^[zZ]+$/.test(s.v) ? colors.z : null;
      const e = Math.min(3, (b - a) / 2);
      ctx.strokeStyle = unknown ?? colors.bus;
      ctx.fillStyle = unknown === colors.x ? "rgba(241,76,76,.2)" : unknown ? "rgba(204,167,0,.12)" : "rgba(97,175,239,.08)";
      ctx.beginPath();
      ctx.moveTo(a, mid);
      ctx.lineTo(a + e, hi + 0.5);
      ctx.lineTo(b - e, hi + 0.5);
      ctx.lineTo(b, mid);
      ctx.lineTo(b - e, lo - 0.5);
      ctx.lineTo(a + e, lo - 0.5);
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
      const text = formatValue(s.v, sig.radix, sig.info.width);
      const room = b - a - 8;
      if (room > 8) {
        const vis0 = Math.max(a, 0), vis1 = Math.min(b, this.vp.width);
        let shown = text;
        while (shown.length > 1 && ctx.measureText(shown).width > room) shown = shown.slice(0, -2) + "…";
        if (ctx.measureText(shown).width <= room) {
          ctx.fillStyle = colors.text;
          const tw = ctx.measureText(shown).width;
          ctx.fillText(shown, Math.max(vis0 + 4, Math.min((vis0 + vis1) / 2 - tw / 2, vis1 - tw - 4)), mid + 0.5);
        }
      }
    }
  }

  // ---- events ----

  private wire() {
    this.resize = new ResizeObserver(() => this.measure());
    this.resize.observe(this.canvasHost);
    this.el.addEventListener("focusin", () => this.hooks.focused(this));
    this.rowsEl.addEventListener("scroll", () => {
      this.queueDraw();
      this.refetch();
    });
    this.searchEl.addEventListener("input", () => this.runSearch());
    this.searchEl.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        this.searchEl.value = "";
        this.runSearch();
      } else if (e.key === "ArrowDown" || e.key === "Enter") this.treeKey(e);
      e.stopPropagation();
    });
    this.scopesEl.addEventListener("keydown", (e) => this.treeKey(e));
    this.el.addEventListener("keydown", (e) => this.key(e));

    // Canvas: click for the cursor, drag to pan, double-click for a marker, wheel.
    let down: { x: number; start: number; end: number; moved: boolean; id: number } | null = null;
    this.canvas.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      this.canvas.setPointerCapture(e.pointerId);
      down = { x: e.clientX, start: this.vp.start, end: this.vp.end, moved: false, id: e.pointerId };
      this.rowsEl.focus({ preventScroll: true });
    });
    this.canvas.addEventListener("pointermove", (e) => {
      if (!down) return;
      const dx = e.clientX - down.x;
      if (!down.moved && Math.abs(dx) < 4) return;
      down.moved = true;
      this.canvas.style.cursor = "grabbing";
      const dt = (-dx * (down.end - down.start)) / this.vp.width;
      this.vp.set(down.start + dt, down.end + dt);
      this.queueDraw();
      this.refetch();
    });
    this.canvas.addEventListener("pointerup", (e) => {
      if (!down) return;
      const d = down;
      down = null;
      this.canvas.style.cursor = "";
      if (d.moved) {
        this.saveSoon();
        return;
      }
      const x = e.clientX - this.canvas.getBoundingClientRect().left;
      this.setCursor(this.vp.toTime(x));
      const y = e.clientY - this.canvas.getBoundingClientRect().top;
      const li = Math.floor((y - RULER + this.rowsEl.scrollTop) / RH);
      if (y > RULER && li >= 0 && li < this.lines.length) {
        this.focusLine = li;
        this.selected = new Set([this.itemOf(this.lines[li])]);
        this.paintSelection();
      }
    });
    this.canvas.addEventListener("dblclick", (e) => {
      const x = e.clientX - this.canvas.getBoundingClientRect().left;
      this.addMarker(this.vp.toTime(x));
    });
    this.canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const x = e.clientX - this.canvas.getBoundingClientRect().left;
      const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      const dx = e.deltaMode === 1 ? e.deltaX * 16 : e.deltaX;
      if (e.ctrlKey || e.metaKey) this.zoom(Math.exp(dy * 0.002), this.vp.toTime(x));
      else if (e.shiftKey) {
        this.vp.pan(dy || dx);
        this.viewChanged();
      } else if (Math.abs(dx) > Math.abs(dy)) {
        this.vp.pan(dx);
        this.viewChanged();
      } else this.rowsEl.scrollTop += dy;
    }, { passive: false });
    this.rowsEl.addEventListener("wheel", (e) => {
      if (!(e.ctrlKey || e.metaKey || e.shiftKey)) return; // plain wheel scrolls the list
      e.preventDefault();
      const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      if (e.shiftKey) {
        this.vp.pan(dy);
        this.viewChanged();
      } else this.zoom(Math.exp(dy * 0.002));
    }, { passive: false });
  }

  private key(e: KeyboardEvent) {
    const t = e.target as HTMLElement;
    if (t.tagName === "INPUT" || t.closest(".waves-side") || !this.ready) return;
    const mod = e.ctrlKey || e.metaKey;
    const l = this.lines[this.focusLine];
    const pan = (f: number) => {
      this.vp.pan(f * this.vp.width);
      this.viewChanged();
    };
    switch (e.key) {
      case "+":
      case "=":
        this.zoom(0.5);
        break;
      case "-":
      case "_":
        this.zoom(2);
        break;
      case "f":
      case "F":
        if (mod) return;
        this.fit();
        break;
      case "Home":
        this.vp.set(this.vp.min, this.vp.min + this.vp.span);
        this.viewChanged();
        break;
      case "End":
        this.vp.set(this.vp.max - this.vp.span, this.vp.max);
        this.viewChanged();
        break;
      case "ArrowLeft":
        if (mod) void this.jump(-1);
        else pan(e.shiftKey ? -0.5 : -0.1);
        break;
      case "ArrowRight":
        if (mod) void this.jump(1);
        else pan(e.shiftKey ? 0.5 : 0.1);
        break;
      case "[":
        void this.jump(-1);
        break;
      case "]":
        void this.jump(1);
        break;
      case "ArrowUp":
      case "ArrowDown": {
        const dir = e.key === "ArrowUp" ? -1 : 1;
        if (e.altKey) {
          this.move(dir);
          break;
        }
        this.focusLine = Math.max(0, Math.min(this.lines.length - 1, this.focusLine + dir));
        const nl = this.lines[this.focusLine];
        if (nl && nl.kind !== "bit") {
          if (!e.shiftKey) this.selected.clear();
          this.selected.add(this.itemOf(nl));
        }
        this.paintSelection();
        break;
      }
      case "Delete":
      case "Backspace":
        this.removeSelected();
        break;
      case "m":
      case "M":
        if (mod) return;
        this.addMarker();
        break;
      case "g":
      case "G":
        if (mod) return;
        void this.groupSelected();
        break;
      case "Enter":
      case "e":
        if (l) this.toggle(l);
        break;
      case "r":
        if (l?.sig && !mod) {
          const next = radixes[(radixes.indexOf(l.sig.radix) + 1) % radixes.length];
          this.setRadix(this.selected.size ? [...this.selected] : [l.sig], next);
        } else return;
        break;
      case "Escape":
        if (this.cursor === null) return;
        this.setCursor(null);
        break;
      case "ContextMenu":
      case "F10": {
        if (e.key === "F10" && !e.shiftKey) return;
        const row = this.rowsEl.querySelectorAll<HTMLElement>(".wave-row")[this.focusLine];
        if (!l || !row) return;
        const r = row.getBoundingClientRect();
        this.menu(l, r.left + 20, r.bottom);
        break;
      }
      default:
        return;
    }
    e.preventDefault();
    e.stopPropagation();
  }
}

function isGroup2(r: TopRow): r is GroupRow {
  return "signals" in r;
}

export function markerName(i: number): string {
  return "M" + (i + 1);
}

interface Segment {
  t0: number;
  t1: number;
  v: string;
}

/** segments turns a window into constant runs [t0, t1) of a value (pick maps a bus value to one bit). */
function segments(w: WindowSignal, start: number, end: number, pick: (v: string) => string): Segment[] {
  const out: Segment[] = [];
  let t = start, v = pick(w.initial);
  for (const [ct, cv] of w.changes) {
    const nv = pick(cv);
    if (nv === v && nv !== MANY) continue;
    if (ct > t) out.push({ t0: t, t1: ct, v });
    t = ct;
    v = nv;
  }
  if (end > t) out.push({ t0: t, t1: end, v });
  return out;
}

// ---- a small keyboard-driven menu ----

export interface MenuItem {
  label?: string;
  run?: () => void | Promise<void>;
  checked?: boolean;
  key?: string;
  separator?: boolean;
  testid?: string;
}

/** showMenu opens a context menu at (x, y); arrows move, Enter runs, Escape closes. */
export function showMenu(items: MenuItem[], x: number, y: number, closed?: () => void): HTMLElement {
  document.querySelector(".wave-menu")?.remove();
  const menu = h("div.wave-menu", { role: "menu", "data-testid": "wave-menu" });
  const buttons: HTMLButtonElement[] = [];
  const close = () => {
    menu.remove();
    document.removeEventListener("pointerdown", outside, true);
    closed?.();
  };
  const outside = (e: Event) => {
    if (!menu.contains(e.target as Node)) close();
  };
  for (const it of items) {
    if (it.separator) {
      menu.append(h("div.wave-menu-sep", { role: "separator" }));
      continue;
    }
    const b = h("button.wave-menu-item", { role: it.checked === undefined ? "menuitem" : "menuitemradio", "aria-checked": it.checked === undefined ? undefined : String(it.checked), "data-testid": it.testid },
      h("span.wave-menu-check", {}, it.checked ? "✓" : ""), h("span.wave-menu-label", {}, it.label ?? ""), h("span.wave-menu-key", {}, it.key ?? "")) as HTMLButtonElement;
    b.addEventListener("click", () => {
      close();
      void it.run?.();
    });
    buttons.push(b);
    menu.append(b);
  }
  menu.addEventListener("keydown", (e) => {
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === "ArrowDown") buttons[(i + 1) % buttons.length]?.focus();
    else if (e.key === "ArrowUp") buttons[(i - 1 + buttons.length) % buttons.length]?.focus();
    else if (e.key === "Escape" || e.key === "Tab") close();
    else return;
    e.preventDefault();
    e.stopPropagation();
  });
  document.body.append(menu);
  const r = menu.getBoundingClientRect();
  menu.style.left = Math.max(0, Math.min(x, window.innerWidth - r.width - 4)) + "px";
  menu.style.top = Math.max(0, Math.min(y, window.innerHeight - r.height - 4)) + "px";
  setTimeout(() => document.addEventListener("pointerdown", outside, true));
  buttons[0]?.focus();
  return menu;
}
