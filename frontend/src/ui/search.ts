// Search across files: the sidebar's Search section (Ctrl+Shift+F). The query
// goes to sessiond's WebSocket GET api/v1/search (wire format in
// sessiond/search's package doc); results stream in grouped by file, and a
// click opens the file at the match. With text in the replace box every match
// shows what it would become (the server expands $1 for a regex), and
// "Replace all" applies it through POST api/v1/search/replace: each file only
// while it still has the content the search saw.
import { type Connection, requestJSON, wsURL } from "../api/conn";
import { confirm, toast } from "./dialog";
import { clear, h } from "./dom";

/** The query as sessiond takes it. */
export interface SearchQuery {
  pattern: string;
  regex?: boolean;
  caseSensitive?: boolean;
  wholeWord?: boolean;
  include?: string[];
  exclude?: string[];
  maxResults?: number;
  /** Asks for a preview: each match carries its replacement. */
  replace?: string;
}

/** One match; col and len count UTF-16 units within the line (0-based col). */
export interface SearchMatch {
  line: number;
  col: number;
  len: number;
  text: string;
  replacement?: string;
}

export interface FileMatches {
  path: string;
  sha256: string;
  matches: SearchMatch[];
}

export interface SearchSummary {
  files: number;
  matches: number;
  scanned: number;
  skipped: number;
  truncated: boolean;
  ms: number;
}

export interface ReplaceResult {
  path: string;
  status: "replaced" | "changed" | "unchanged" | "failed";
  replacements: number;
  sha256?: string;
  error?: string;
}

export interface SearchHandlers {
  file(f: FileMatches): void;
  done(s: SearchSummary): void;
  error(err: Error): void;
}

/** The part of WebSocket a search uses (a fake in tests). */
export interface SocketLike {
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A running search; cancel closes its socket, which stops the server's walk. */
export interface RunningSearch {
  cancel(): void;
}

/**
 * startSearch opens the search socket, sends q and calls handlers as frames
 * arrive. Exactly one of done or error is called, unless cancelled first
 * (then neither).
 */
export function startSearch(conn: Connection, q: SearchQuery, handlers: SearchHandlers, socket: (url: string) => SocketLike = (u) => new WebSocket(u)): RunningSearch {
  const ws = socket(wsURL(conn, "api/v1/search"));
  let ended = false;
  const end = (f: () => void) => {
    if (ended) return;
    ended = true;
    f();
  };
  ws.onopen = () => ws.send(JSON.stringify(q));
  ws.onmessage = (ev) => {
    if (ended) return;
    let f: { type: string; summary?: SearchSummary; error?: { message?: string } } & Partial<FileMatches>;
    try {
      f = JSON.parse(String(ev.data));
    } catch {
      end(() => handlers.error(new Error("search: the server sent a frame that is not JSON")));
      ws.close();
      return;
    }
    if (f.type === "file" && f.path && f.matches) handlers.file({ path: f.path, sha256: f.sha256 ?? "", matches: f.matches });
    else if (f.type === "done" && f.summary) end(() => handlers.done(f.summary!));
    else if (f.type === "error") end(() => handlers.error(new Error(f.error?.message ?? "search failed")));
  };
  ws.onerror = () => end(() => handlers.error(new Error("search: the connection to sessiond failed")));
  ws.onclose = (ev) => end(() => handlers.error(new Error(`search: the connection closed before the search finished (${ev.code})`)));
  return {
    cancel() {
      if (ended) return;
      ended = true;
      ws.close(1000, "cancelled");
    },
  };
}

/** replaceAll applies a replace to the files as the search saw them. */
export async function replaceAll(conn: Connection, q: SearchQuery, replace: string, files: Pick<FileMatches, "path" | "sha256">[]): Promise<ReplaceResult[]> {
  const query = { ...q };
  delete query.replace;
  const r = await requestJSON<{ files: ReplaceResult[] }>(conn, "POST", "api/v1/search/replace", {
    json: { query, replace, files: files.map((f) => ({ path: f.path, sha256: f.sha256 })) },
  });
  return r.files;
}

/** splitGlobs turns "*.v, src/**  ,,x" into ["*.v", "src/**", "x"]. */
export function splitGlobs(s: string): string[] {
  return s.split(",").map((g) => g.trim()).filter((g) => g !== "");
}

/** The form's fields, as typed. */
export interface SearchForm {
  pattern: string;
  regex: boolean;
  caseSensitive: boolean;
  wholeWord: boolean;
  include: string;
  exclude: string;
  /** null: no replace (the box is hidden or empty and not wanted). */
  replace: string | null;
}

/** queryOf builds the wire query, or null when there is nothing to search for. */
export function queryOf(f: SearchForm, maxResults = 5000): SearchQuery | null {
  if (f.pattern === "") return null;
  const q: SearchQuery = { pattern: f.pattern, maxResults };
  if (f.regex) q.regex = true;
  if (f.caseSensitive) q.caseSensitive = true;
  if (f.wholeWord) q.wholeWord = true;
  const inc = splitGlobs(f.include);
  const exc = splitGlobs(f.exclude);
  if (inc.length) q.include = inc;
  if (exc.length) q.exclude = exc;
  if (f.replace !== null) q.replace = f.replace;
  return q;
}

/** The pieces of a match's line preview. */
export interface Preview {
  before: string;
  match: string;
  replacement?: string;
  after: string;
}

/**
 * preview cuts a match's line for display: at most context characters
 * before the match (cut ones shown as "…"), the match, and the rest. col
 * and len are UTF-16 units, which is what JS strings index.
 */
export function preview(m: SearchMatch, context = 30): Preview {
  const start = Math.min(m.col, m.text.length);
  const end = Math.min(start + m.len, m.text.length);
  let before = m.text.slice(0, start).replace(/^\s+/, "");
  if (before.length > context) before = "…" + before.slice(before.length - context);
  return { before, match: m.text.slice(start, end), replacement: m.replacement, after: m.text.slice(end) };
}

/** Results by file in arrival order; the counts the header shows. */
export class ResultSet {
  readonly files = new Map<string, FileMatches>();
  matches = 0;

  add(f: FileMatches): void {
    const had = this.files.get(f.path);
    if (had) this.matches -= had.matches.length;
    this.files.set(f.path, f);
    this.matches += f.matches.length;
  }

  clear(): void {
    this.files.clear();
    this.matches = 0;
  }

  /** summary is the text above the results. */
  summary(s: SearchSummary | null, failed: string | null): string {
    const n = (k: number, w: string) => `${k} ${w}${k === 1 ? "" : "s"}`;
    if (failed) return failed;
    const found = `${n(this.matches, "result")} in ${n(this.files.size, "file")}`;
    if (!s) return found + " so far…";
    return found + (s.truncated ? " (stopped at the result limit: narrow the search)" : "");
  }
}

/** describeReplace says what a replace-all did, for the toast. */
export function describeReplace(res: ReplaceResult[], skippedDirty: string[] = []): { text: string; ok: boolean } {
  const replaced = res.filter((r) => r.status === "replaced");
  const changed = res.filter((r) => r.status === "changed");
  const failed = res.filter((r) => r.status === "failed");
  const count = replaced.reduce((a, r) => a + r.replacements, 0);
  const parts = [`Replaced ${count} occurrence${count === 1 ? "" : "s"} in ${replaced.length} file${replaced.length === 1 ? "" : "s"}.`];
  if (changed.length) parts.push(`Skipped ${changed.map((r) => r.path).join(", ")}: changed on disk since the search; search again to include ${changed.length === 1 ? "it" : "them"}.`);
  if (skippedDirty.length) parts.push(`Skipped ${skippedDirty.join(", ")}: unsaved changes in the editor; save first.`);
  if (failed.length) parts.push(`Failed: ${failed.map((r) => `${r.path} (${r.error ?? "error"})`).join(", ")}.`);
  return { text: parts.join(" "), ok: changed.length + failed.length + skippedDirty.length === 0 };
}

export interface SearchPanelHooks {
  /** open goes to a line and 1-based column. */
  open(path: string, line: number, col: number): void;
  /** isDirty says whether an open editor holds unsaved changes to path (a replace skips it). */
  isDirty(path: string): boolean;
  /** socket makes the WebSocket (tests pass a fake). */
  socket?: (url: string) => SocketLike;
}

/** SearchPanel is the sidebar's Search section, hidden until Ctrl+Shift+F. */
export class SearchPanel {
  readonly el: HTMLElement;
  private input: HTMLInputElement;
  private replaceInput: HTMLInputElement;
  private includeInput: HTMLInputElement;
  private excludeInput: HTMLInputElement;
  private toggles: Record<"caseSensitive" | "wholeWord" | "regex", HTMLButtonElement>;
  private replaceBtn: HTMLButtonElement;
  private summaryEl: HTMLElement;
  private resultsEl: HTMLElement;
  private results = new ResultSet();
  private running: RunningSearch | null = null;
  private summary: SearchSummary | null = null;
  private failed: string | null = null;
  private query: SearchQuery | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private fileEls = new Map<string, HTMLElement>();

  constructor(private conn: Connection, private hooks: SearchPanelHooks) {
    const rerun = () => this.schedule();
    this.input = h("input.input.search-input", { type: "text", placeholder: "Search", "aria-label": "Search", "data-testid": "search-input", spellcheck: "false", oninput: rerun });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.run();
      if (e.key === "Escape") this.hide();
    });
    const toggle = (label: string, title: string, testid: string) => {
      const b = h("button.icon-btn.search-toggle", { title, "aria-pressed": "false", "data-testid": testid, type: "button" }, label);
      b.addEventListener("click", () => {
        b.setAttribute("aria-pressed", String(b.getAttribute("aria-pressed") !== "true"));
        this.run();
      });
      return b;
    };
    this.toggles = {
      caseSensitive: toggle("Aa", "Match case", "search-case"),
      wholeWord: toggle("ab", "Match whole word", "search-word"),
      regex: toggle(".*", "Use regular expression", "search-regex"),
    };
    this.replaceInput = h("input.input.search-input", { type: "text", placeholder: "Replace (preview below)", "aria-label": "Replace", "data-testid": "search-replace", spellcheck: "false", oninput: rerun });
    this.replaceBtn = h("button.btn.plain", { type: "button", title: "Replace every match shown below", "data-testid": "search-replace-all", disabled: true, onclick: () => void this.replaceAllShown() }, "Replace all");
    this.includeInput = h("input.input.search-input", { type: "text", placeholder: "files to include (*.v, src/**)", "aria-label": "Files to include", "data-testid": "search-include", spellcheck: "false", oninput: rerun });
    this.excludeInput = h("input.input.search-input", { type: "text", placeholder: "files to exclude (build/)", "aria-label": "Files to exclude", "data-testid": "search-exclude", spellcheck: "false", oninput: rerun });
    this.summaryEl = h("div.search-summary", { "data-testid": "search-summary", role: "status" });
    this.resultsEl = h("div.search-results", { "data-testid": "search-results", role: "tree", "aria-label": "Search results" });
    this.el = h("section.search-view", { "data-testid": "search", hidden: true },
      h("header.pane-head", {}, h("span.pane-title", {}, "Search"), h("span.spacer", {}),
        h("button.icon-btn", { title: "Close search (Escape)", "aria-label": "Close search", type: "button", onclick: () => this.hide() }, "×")),
      h("div.search-row", {}, this.input, this.toggles.caseSensitive, this.toggles.wholeWord, this.toggles.regex),
      h("div.search-row", {}, this.replaceInput, this.replaceBtn),
      h("div.search-row", {}, this.includeInput),
      h("div.search-row", {}, this.excludeInput),
      this.summaryEl,
      this.resultsEl,
    );
  }

  /** show opens the section and focuses the query, seeded with text (the editor's selection) when given. */
  show(seed?: string): void {
    this.el.hidden = false;
    if (seed && !seed.includes("\n")) {
      this.input.value = seed;
      this.run();
    }
    this.input.focus();
    this.input.select();
  }

  hide(): void {
    this.running?.cancel();
    this.running = null;
    this.el.hidden = true;
  }

  private form(): SearchForm {
    const on = (b: HTMLButtonElement) => b.getAttribute("aria-pressed") === "true";
    return {
      pattern: this.input.value,
      regex: on(this.toggles.regex),
      caseSensitive: on(this.toggles.caseSensitive),
      wholeWord: on(this.toggles.wholeWord),
      include: this.includeInput.value,
      exclude: this.excludeInput.value,
      replace: this.replaceInput.value === "" ? null : this.replaceInput.value,
    };
  }

  private schedule() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), 250);
  }

  /** run starts a search for the form as it is, cancelling the one running. */
  run(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running?.cancel();
    this.running = null;
    this.results.clear();
    this.fileEls.clear();
    clear(this.resultsEl);
    this.summary = null;
    this.failed = null;
    this.query = queryOf(this.form());
    this.replaceBtn.disabled = true;
    if (!this.query) {
      this.summaryEl.textContent = "";
      return;
    }
    const run: RunningSearch = startSearch(this.conn, this.query, {
      file: (f) => {
        this.results.add(f);
        this.renderFile(f);
        this.renderSummary();
      },
      done: (s) => {
        if (this.running === run) this.running = null;
        this.summary = s;
        this.renderSummary();
      },
      error: (err) => {
        if (this.running === run) this.running = null;
        this.failed = err.message;
        this.renderSummary();
      },
    }, this.hooks.socket);
    this.running = run;
    this.renderSummary();
  }

  private renderSummary() {
    this.summaryEl.textContent = this.results.summary(this.summary, this.failed);
    this.summaryEl.classList.toggle("error", !!this.failed);
    this.replaceBtn.disabled = !(this.summary && !this.failed && this.query?.replace !== undefined && this.results.matches > 0);
  }

  private renderFile(f: FileMatches) {
    const slash = f.path.lastIndexOf("/");
    const rows = h("div.search-hits", { role: "group" });
    for (const m of f.matches) {
      const p = preview(m);
      const row = h("div.search-hit", {
        role: "treeitem", tabindex: "0", "data-testid": "search-hit", "data-path": f.path, "data-line": String(m.line),
        title: `${f.path}:${m.line}:${m.col + 1}`,
      },
      h("span.search-line", {}, String(m.line)),
      h("span.search-text", {}, p.before,
        h(p.replacement !== undefined ? "del.search-match" : "mark.search-match", {}, p.match),
        p.replacement !== undefined ? h("ins.search-new", {}, p.replacement) : null,
        p.after));
      const go = () => this.hooks.open(f.path, m.line, m.col + 1);
      row.addEventListener("click", go);
      row.addEventListener("keydown", (e) => {
        if (e.key === "Enter") go();
      });
      rows.append(row);
    }
    const head = h("div.search-file", { "data-testid": "search-file", "data-path": f.path, title: f.path, role: "treeitem", "aria-expanded": "true", tabindex: "0" },
      h("span.search-name", {}, f.path.slice(slash + 1)),
      h("span.search-dir", {}, slash > 0 ? f.path.slice(0, slash) : ""),
      h("span.search-count", {}, String(f.matches.length)));
    const flip = () => {
      rows.hidden = !rows.hidden;
      head.setAttribute("aria-expanded", String(!rows.hidden));
    };
    head.addEventListener("click", flip);
    head.addEventListener("keydown", (e) => {
      if (e.key === "Enter") flip();
    });
    const group = h("div.search-group", {}, head, rows);
    const old = this.fileEls.get(f.path);
    if (old) old.replaceWith(group);
    else this.resultsEl.append(group);
    this.fileEls.set(f.path, group);
  }

  /** replaceAllShown asks, then applies the previewed replace to the files listed. */
  private async replaceAllShown(): Promise<void> {
    const q = this.query;
    if (!q || q.replace === undefined || !this.summary) return;
    const files = [...this.results.files.values()];
    const dirty = files.filter((f) => this.hooks.isDirty(f.path)).map((f) => f.path);
    const todo = files.filter((f) => !dirty.includes(f.path));
    const count = todo.reduce((a, f) => a + f.matches.length, 0);
    const ok = await confirm("Replace all",
      `Replace ${count} occurrence${count === 1 ? "" : "s"} of “${q.pattern}” in ${todo.length} file${todo.length === 1 ? "" : "s"} with “${q.replace}”?` +
      (dirty.length ? ` ${dirty.length} file${dirty.length === 1 ? " has" : "s have"} unsaved changes and will be skipped.` : "") +
      (this.summary.truncated ? " Only the files found before the result limit are covered." : ""),
      "Replace", true);
    if (!ok) return;
    this.replaceBtn.disabled = true;
    try {
      const res = todo.length ? await replaceAll(this.conn, q, q.replace, todo) : [];
      const d = describeReplace(res, dirty);
      toast(d.text, d.ok ? "ok" : "error", d.ok ? 5000 : 12000);
    } catch (err) {
      toast(`Replace failed: ${(err as Error).message}`, "error", 10000);
    }
    this.run();
  }
}
