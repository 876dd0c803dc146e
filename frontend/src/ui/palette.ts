// The palette: quick open (Ctrl+P: files by a fuzzy query, ranked by
// sessiond's filenames index; "path:line" jumps to the line, ":line" moves
// in the active file), the command palette (Ctrl+Shift+P or ">": every
// action of the IDE with its shortcut) and workspace symbols (Ctrl+T or
// "#": the HDL language server's workspace/symbol). One picker, as in VS
// Code: the first character of the input chooses the mode.
import type { EditorView } from "@codemirror/view";
import { type Connection, requestJSON } from "../api/conn";
import type { FlatSymbol } from "../lsp/symbols";
import { type PickRow, quickPick } from "./quickpick";

/** A command the IDE offers: in the palette, and on its shortcut. */
export interface Command {
  /** Stable id, "area.verb" ("file.save"). */
  id: string;
  /** What the palette shows, with the category first ("File: Save"). */
  title: string;
  /** As shown: modifiers in the order Ctrl, Shift, Alt, then the key ("Ctrl+Shift+P", "F2", "Ctrl+`"). */
  shortcut?: string;
  /**
   * The shortcut belongs to the focused editor (a CodeMirror keymap binds
   * it there); the registry shows it but does not bind it.
   */
  editorKey?: boolean;
  /** Whether the command can run now; absent means always. */
  enabled?(): boolean;
  run(): unknown;
}

interface Chord {
  ctrl: boolean;
  shift: boolean;
  alt: boolean;
  /** Lower-cased key ("p", "`", "f2"). */
  key: string;
}

/** parseShortcut reads "Ctrl+Shift+P"; "Ctrl" also matches Cmd on macOS. */
export function parseShortcut(s: string): Chord {
  const parts = s.split("+");
  // "Ctrl++" would be the plus key.
  const key = (s.endsWith("++") ? "+" : parts[parts.length - 1]).toLowerCase();
  const mods = new Set(parts.slice(0, s.endsWith("++") ? -2 : -1).map((m) => m.toLowerCase()));
  for (const m of mods) if (!["ctrl", "shift", "alt"].includes(m)) throw new Error(`shortcut ${JSON.stringify(s)}: unknown modifier ${m}`);
  if (!/^(.|f\d{1,2}|enter|escape|tab|space|backspace|delete|insert|home|end|pageup|pagedown|arrow(up|down|left|right))$/u.test(key)) {
    throw new Error(`shortcut ${JSON.stringify(s)}: ${JSON.stringify(key)} is not a key (write "Ctrl+Shift+P", "F2")`);
  }
  return { ctrl: mods.has("ctrl"), shift: mods.has("shift"), alt: mods.has("alt"), key };
}

/** matchesShortcut reports whether a keydown is the shortcut (letters by physical key too, since Alt changes e.key on macOS). */
export function matchesShortcut(e: Pick<KeyboardEvent, "key" | "code" | "ctrlKey" | "metaKey" | "shiftKey" | "altKey">, shortcut: string): boolean {
  const c = parseShortcut(shortcut);
  if (c.ctrl !== (e.ctrlKey || e.metaKey) || c.shift !== e.shiftKey || c.alt !== e.altKey) return false;
  if (e.key?.toLowerCase() === c.key) return true;
  return /^[a-z]$/.test(c.key) && e.code === "Key" + c.key.toUpperCase();
}

/** Commands is the registry of every action, and the one global keydown handler for their shortcuts. */
export class Commands {
  private list: Command[] = [];

  add(...cmds: Command[]): void {
    for (const c of cmds) {
      if (this.list.some((x) => x.id === c.id)) throw new Error(`command ${c.id} is registered twice`);
      if (c.shortcut) parseShortcut(c.shortcut); // refuse a malformed one now, not on a keypress
      this.list.push(c);
    }
  }

  /** all lists the commands in registration order. */
  all(): readonly Command[] {
    return this.list;
  }

  get(id: string): Command | undefined {
    return this.list.find((c) => c.id === id);
  }

  /** run runs a command by id; false when there is none or it is disabled. */
  run(id: string): boolean {
    const c = this.get(id);
    if (!c || (c.enabled && !c.enabled())) return false;
    void c.run();
    return true;
  }

  /**
   * handleKey runs the command bound to a keydown, unless something
   * (the editor's keymap) has handled the key already.
   */
  handleKey(e: KeyboardEvent): boolean {
    if (e.defaultPrevented) return false;
    for (const c of this.list) {
      if (!c.shortcut || c.editorKey || !matchesShortcut(e, c.shortcut)) continue;
      if (c.enabled && !c.enabled()) continue;
      e.preventDefault(); // never the browser's print, save page, ...
      void c.run();
      return true;
    }
    return false;
  }
}

/** One path in a quick-open answer (GET api/v1/filenames). */
export interface FileMatch {
  path: string;
  score: number;
  /** Matched characters of path, as string indexes, ascending. */
  positions: number[];
}

export interface FilenamesResponse {
  results: FileMatch[];
  total: number;
  files: number;
  truncated: boolean;
  buildMs: number;
}

/** queryFilenames asks sessiond for the best limit paths for q. */
export function queryFilenames(conn: Connection, q: string, limit = 50): Promise<FilenamesResponse> {
  return requestJSON<FilenamesResponse>(conn, "GET", "api/v1/filenames", { params: { q, limit } });
}

/**
 * parseGoto splits "path:line[:column]" (also "path(line,col)" as
 * compilers print it) into the file query and the position. A trailing ':'
 * being typed is dropped from the query.
 */
export function parseGoto(input: string): { query: string; line?: number; column?: number } {
  const s = input.trim();
  let m = /^(.*?):(\d+)(?::(\d+))?:?$/.exec(s) ?? /^(.*?)\((\d+)(?:,\s*(\d+))?\)$/.exec(s);
  if (m) return { query: m[1], line: Number(m[2]), column: m[3] ? Number(m[3]) : undefined };
  m = /^(.*?):$/.exec(s);
  return { query: m ? m[1] : s };
}

/** fileRow shows a match as VS Code does: base name, then the directory, each with its matched characters. */
export function fileRow(m: FileMatch): PickRow {
  const slash = m.path.lastIndexOf("/");
  const base = slash + 1;
  return {
    label: m.path.slice(base),
    labelMatches: m.positions.filter((p) => p >= base).map((p) => p - base),
    detail: slash > 0 ? m.path.slice(0, slash) : undefined,
    detailMatches: m.positions.filter((p) => p < slash),
  };
}

/**
 * fuzzyMatch finds query's characters in text, in order and
 * case-insensitively, preferring a contiguous run, then word starts. It
 * returns the score (higher is better) and the matched offsets, or null.
 */
export function fuzzyMatch(query: string, text: string): { score: number; positions: number[] } | null {
  const q = query.toLowerCase().replace(/\s+/g, ""), t = text.toLowerCase();
  if (!q) return { score: 0, positions: [] };
  const run = (at: number) => Array.from({ length: q.length }, (_, k) => at + k);
  const wordStart = (i: number) => i === 0 || /[\s:_\-./()]/.test(text[i - 1]) || (/[a-z]/.test(text[i - 1]) && /[A-Z]/.test(text[i]));
  // A contiguous run, at a word start first.
  let best = -1;
  for (let i = t.indexOf(q); i >= 0; i = t.indexOf(q, i + 1)) {
    if (wordStart(i)) {
      best = i;
      break;
    }
    if (best < 0) best = i;
  }
  if (best >= 0) return { score: 3000 + (wordStart(best) ? 500 : 0) - best - text.length / 100, positions: run(best) };
  // Word starts greedily (the initials of "View: Toggle Problems" for "vtp"), else any occurrence.
  const positions: number[] = [];
  let k = 0, starts = 0;
  for (let i = 0; i < t.length && k < q.length; i++) {
    if (t[i] !== q[k]) continue;
    const later = wordStart(i) ? -1 : findWordStart(t, q[k], i + 1, wordStart);
    // Skip to a later word start of the same letter if the rest still fits after it.
    if (later >= 0 && fits(q, k + 1, t, later + 1)) i = later;
    if (wordStart(i)) starts++;
    positions.push(i);
    k++;
  }
  if (k < q.length) return null;
  let gaps = 0;
  for (let j = 1; j < positions.length; j++) if (positions[j] !== positions[j - 1] + 1) gaps++;
  return { score: 1000 + starts * 50 - gaps * 10 - text.length / 100, positions };
}

function findWordStart(t: string, c: string, from: number, wordStart: (i: number) => boolean): number {
  for (let i = from; i < t.length; i++) if (t[i] === c && wordStart(i)) return i;
  return -1;
}

function fits(q: string, k: number, t: string, from: number): boolean {
  for (let i = from; i < t.length && k < q.length; i++) if (t[i] === q[k]) k++;
  return k === q.length;
}

/** rankCommands filters and orders commands for a query (best first; registration order among equals). */
export function rankCommands(cmds: readonly Command[], query: string): { cmd: Command; positions: number[] }[] {
  const out: { cmd: Command; positions: number[]; score: number; i: number }[] = [];
  cmds.forEach((cmd, i) => {
    if (cmd.enabled && !cmd.enabled()) return;
    const m = fuzzyMatch(query, cmd.title);
    if (m) out.push({ cmd, positions: m.positions, score: m.score, i });
  });
  out.sort((a, b) => b.score - a.score || a.i - b.i);
  return out.map(({ cmd, positions }) => ({ cmd, positions }));
}

/** What the palette lists. */
export type PaletteItem =
  | { kind: "file"; match: FileMatch; line?: number; column?: number }
  | { kind: "line"; line: number; column?: number }
  | { kind: "command"; cmd: Command; positions: number[] }
  | { kind: "symbol"; symbol: FlatSymbol; path: string | null; symbolKind: string };

export type PaletteMode = "files" | "commands" | "symbols";

/** modeOf reads the mode from the input's first character and returns the rest. */
export function modeOf(input: string): { mode: PaletteMode; rest: string } {
  if (input.startsWith(">")) return { mode: "commands", rest: input.slice(1).trimStart() };
  if (input.startsWith("#")) return { mode: "symbols", rest: input.slice(1).trimStart() };
  return { mode: "files", rest: input };
}

const titles: Record<PaletteMode, string> = { files: "Go to File", commands: "Command Palette", symbols: "Go to Symbol in Workspace" };
const prefixes: Record<PaletteMode, string> = { files: "", commands: ">", symbols: "#" };

export interface PaletteHooks {
  commands: Commands;
  /** The best paths for a fuzzy query. */
  files(query: string): Promise<FileMatch[]>;
  /** Opens a workspace file, at a 1-based line and column when given. */
  open(path: string, line?: number, column?: number): void;
  /** The active editor's path, for ":line". */
  activePath(): string | null;
  /**
   * Workspace symbols for a query; null when no language server offers
   * workspace/symbol (the palette says so).
   */
  symbols(query: string): Promise<{ symbols: FlatSymbol[]; kindName(k: number): string; pathOf(uri: string): string | null } | null>;
  openSymbol(s: FlatSymbol): void;
}

/** Palette opens the one picker in a mode. */
export class Palette {
  private current: { close(): void } | null = null;

  constructor(private hooks: PaletteHooks) {}

  /** items answers what the input holds now. */
  async items(input: string): Promise<PaletteItem[]> {
    const { mode, rest } = modeOf(input);
    if (mode === "commands") return rankCommands(this.hooks.commands.all(), rest).map(({ cmd, positions }) => ({ kind: "command", cmd, positions }));
    if (mode === "symbols") {
      const r = await this.hooks.symbols(rest);
      if (!r) throw new Error("No language server here answers workspace symbols (the HDL language server does, for Verilog, SystemVerilog and VHDL).");
      return r.symbols.map((s) => ({ kind: "symbol", symbol: s, path: s.uri ? r.pathOf(s.uri) : null, symbolKind: r.kindName(s.kind) }));
    }
    const g = parseGoto(rest);
    if (!g.query && g.line !== undefined) {
      return this.hooks.activePath() ? [{ kind: "line", line: g.line, column: g.column }] : [];
    }
    const files = await this.hooks.files(g.query);
    return files.map((match) => ({ kind: "file", match, line: g.line, column: g.column }));
  }

  /** open shows the picker in a mode (a second call while one is open switches it). */
  open(mode: PaletteMode): void {
    this.current?.close();
    let titleEl: Element | null = null;
    const qp = quickPick<PaletteItem>({
      title: titles[mode],
      placeholder: "File name (path:line to go to a line) · > commands · # symbols",
      testid: "palette",
      value: prefixes[mode],
      debounceMs: 25,
      empty: "No matches",
      source: (input) => {
        if (titleEl) titleEl.textContent = titles[modeOf(input).mode];
        return this.items(input);
      },
      row: (it) => rowOf(it),
      pick: (it) => {
        this.current = null;
        this.pick(it);
      },
      cancelled: () => (this.current = null),
    });
    titleEl = qp.el.querySelector(".quick-pick-title");
    this.current = qp;
  }

  get isOpen(): boolean {
    return this.current !== null;
  }

  private pick(it: PaletteItem) {
    switch (it.kind) {
      case "file":
        return this.hooks.open(it.match.path, it.line, it.column);
      case "line": {
        const p = this.hooks.activePath();
        if (p) this.hooks.open(p, it.line, it.column);
        return;
      }
      case "command":
        return void it.cmd.run();
      case "symbol":
        return this.hooks.openSymbol(it.symbol);
    }
  }
}

function rowOf(it: PaletteItem): PickRow {
  switch (it.kind) {
    case "file": {
      const r = fileRow(it.match);
      if (it.line !== undefined) r.hint = `:${it.line}${it.column !== undefined ? ":" + it.column : ""}`;
      return r;
    }
    case "line":
      return { label: `Go to line ${it.line}${it.column !== undefined ? ", column " + it.column : ""}` };
    case "command":
      return { label: it.cmd.title, labelMatches: it.positions, hint: it.cmd.shortcut };
    case "symbol":
      return { label: it.symbol.name, kind: it.symbolKind, detail: [it.symbol.container, it.path ?? ""].filter(Boolean).join(" · ") };
  }
}

/** The actions the IDE's commands run (App provides them). */
export interface IdeActions {
  save(): void;
  closeEditor(): void;
  hasEditor(): boolean;
  build(): void;
  simulate(): void;
  flash(): void;
  showPanel(id: "problems" | "output" | "report" | "terminal" | "telemetry"): void;
  hidePanel(): void;
  newTerminal(): void;
  newFile(): void;
  newFolder(): void;
  renameSelected(): void;
  deleteSelected(): void;
  refreshFiles(): void;
  addToWaves(): void;
  canAddToWaves(): boolean;
  /** Runs a CodeMirror command on the active editor. */
  editor(name: EditorCommand): void;
}

export type EditorCommand = "find" | "gotoLine" | "toggleComment" | "selectNext" | "outline" | "references" | "rename" | "format" | "codeAction" | "typeDefinition";

/** ideCommands is every action of the IDE, with the shortcuts it answers to. */
export function ideCommands(a: IdeActions, palette: () => Palette): Command[] {
  const ed = (id: string, title: string, name: EditorCommand, shortcut?: string): Command => ({ id, title, shortcut, editorKey: true, enabled: a.hasEditor, run: () => a.editor(name) });
  const panel = (id: "problems" | "output" | "report" | "telemetry", title: string): Command => ({ id: "view." + id, title: "View: Show " + title, run: () => a.showPanel(id) });
  return [
    { id: "palette.files", title: "Go to File…", shortcut: "Ctrl+P", run: () => palette().open("files") },
    { id: "palette.commands", title: "Show All Commands", shortcut: "Ctrl+Shift+P", run: () => palette().open("commands") },
    { id: "palette.symbols", title: "Go to Symbol in Workspace…", shortcut: "Ctrl+T", run: () => palette().open("symbols") },
    { id: "file.save", title: "File: Save", shortcut: "Ctrl+S", run: a.save },
    { id: "file.close", title: "File: Close Editor", enabled: a.hasEditor, run: a.closeEditor },
    { id: "file.new", title: "File: New File…", run: a.newFile },
    { id: "file.newFolder", title: "File: New Folder…", run: a.newFolder },
    { id: "file.rename", title: "File: Rename Selected…", run: a.renameSelected },
    { id: "file.delete", title: "File: Delete Selected…", run: a.deleteSelected },
    { id: "file.refresh", title: "File: Refresh Explorer", run: a.refreshFiles },
    { id: "build.run", title: "Build: Run Build", shortcut: "Ctrl+Shift+B", run: a.build },
    { id: "build.flash", title: "Build: Flash Board", run: a.flash },
    { id: "sim.run", title: "Simulation: Run Testbench", run: a.simulate },
    { id: "waves.add", title: "Waves: Add Signal Under Cursor", shortcut: "Ctrl+Alt+W", enabled: a.canAddToWaves, run: a.addToWaves },
    { id: "view.terminal", title: "View: Show Terminal", shortcut: "Ctrl+`", run: () => a.showPanel("terminal") },
    { id: "terminal.new", title: "Terminal: New Terminal", run: a.newTerminal },
    panel("problems", "Problems"),
    panel("output", "Output"),
    panel("report", "Build Report"),
    panel("telemetry", "Telemetry"),
    { id: "view.closePanel", title: "View: Close Panel", run: a.hidePanel },
    ed("editor.find", "Editor: Find / Replace", "find", "Ctrl+F"),
    ed("editor.gotoLine", "Editor: Go to Line…", "gotoLine", "Ctrl+Alt+G"),
    ed("editor.toggleComment", "Editor: Toggle Line Comment", "toggleComment", "Ctrl+/"),
    ed("editor.selectNext", "Editor: Add Next Occurrence to Selection", "selectNext", "Ctrl+D"),
    ed("editor.outline", "Go to Symbol in File…", "outline", "Ctrl+Shift+O"),
    ed("editor.references", "Editor: Find All References", "references", "Shift+F12"),
    ed("editor.rename", "Editor: Rename Symbol", "rename", "F2"),
    ed("editor.format", "Editor: Format Document", "format", "Shift+Alt+F"),
    ed("editor.codeAction", "Editor: Quick Fix…", "codeAction", "Ctrl+."),
    ed("editor.typeDefinition", "Editor: Go to Type Definition", "typeDefinition", "Ctrl+F12"),
  ];
}

/**
 * runEditorCommand runs an editor command on view, loading its module on
 * first use (the language-server ones stay out of the first bundle). False
 * when the editor cannot do it now (no language server, say).
 */
export async function runEditorCommand(view: EditorView, name: EditorCommand): Promise<boolean> {
  view.focus();
  switch (name) {
    case "find":
      return (await import("@codemirror/search")).openSearchPanel(view);
    case "gotoLine":
      return (await import("@codemirror/search")).gotoLine(view);
    case "selectNext":
      return (await import("@codemirror/search")).selectNextOccurrence(view);
    case "toggleComment":
      return (await import("@codemirror/commands")).toggleComment(view);
    case "outline":
      return (await import("../lsp/symbols")).documentOutline(view);
    case "references":
      return (await import("../lsp/symbols")).findAllReferences(view);
    case "rename":
      return (await import("../lsp/rename")).renameSymbol(view);
    case "format":
      return (await import("@codemirror/lsp-client")).formatDocument(view);
    case "codeAction":
      return (await import("../lsp/actions")).codeActionCommand(view);
    case "typeDefinition":
      return (await import("@codemirror/lsp-client")).jumpToTypeDefinition(view);
  }
}
