// Build and flash: the Build button runs sessiond's `build` task and streams
// its log; the bitstream list refreshes when a task ends; Flash writes the
// selected bitstream to a board (ui/flash.ts).
import { StateEffect, StateField, type Range } from "@codemirror/state";
import { Decoration, type DecorationSet, EditorView } from "@codemirror/view";
import { type Connection, wsURL } from "../api/conn";
import type { Bitstream, Sessiond, Task } from "../api/sessiond";
import { ReconnectingSocket, type LinkState } from "../api/socket";
import { desktopHost } from "../desktop";
import { browserEnv } from "../flash/index";
import { clear, formatBytes, h } from "./dom";
import { toast } from "./dialog";
import { FlashControls } from "./flash";
import { LogPanel } from "./log";
import type { BuildReport } from "./report";

/** A problem sessiond matched in a task's output (see sessiond/tasks). */
export interface BuildProblem {
  source: string;
  severity: "error" | "warning" | "info";
  file?: string;
  line?: number;
  column?: number;
  message: string;
  code?: string;
}

/** What the output panel tells the app about a task's run. */
export interface OutputHooks {
  /** open shows a workspace file at a 1-based line (log links). */
  open(path: string, line: number, column?: number): void;
  /** problems replaces the build problems with a run's (so far). */
  problems?(task: string, list: BuildProblem[]): void;
  /** report is called with the report a finished build made. */
  report?(r: BuildReport): void;
}

/** OutputPanel shows the log of the latest task. */
export class OutputPanel {
  readonly el: HTMLElement;
  readonly log: LogPanel;
  private head: HTMLElement;
  private socket: ReconnectingSocket | null = null;
  private dir = "";

  constructor(private conn: Connection, private onState: (name: string, s: LinkState) => void, private hooks: OutputHooks = { open: () => undefined }) {
    this.head = h("div.output-head", {}, "No task has run yet.");
    this.log = new LogPanel({ open: (p, l, c) => this.hooks.open(p, l, c), base: () => this.dir });
    this.el = h("div.output-panel", {}, this.head, this.log.el);
  }

  /** follow streams a task's log until it exits; resolves with the final task state. */
  follow(task: Task, onExit: (state: string, code: number | null) => void, cancel?: () => void): void {
    this.socket?.close();
    this.log.clear();
    this.dir = (task as Task & { dir?: string }).dir ?? "";
    this.setHead(task.name || task.argv.join(" "), "running", cancel);
    let done = false;
    let problems: BuildProblem[] = [];
    // A new run clears the last one's problems.
    this.hooks.problems?.(task.name, problems);
    this.socket = new ReconnectingSocket(() => wsURL(this.conn, `api/v1/tasks/${encodeURIComponent(task.id)}/log?problems=1`), {
      onOpen: (_ws, again) => {
        if (again) {
          // The server replays the log and its problems from the start.
          this.log.clear();
          problems = [];
        }
      },
      onMessage: (data) => {
        if (typeof data !== "string") return;
        let m: { type: string; data?: string; state?: string; exit_code?: number; problems?: BuildProblem[]; report?: BuildReport };
        try {
          m = JSON.parse(data);
        } catch {
          return;
        }
        if (m.type === "output" && m.data) this.append(m.data);
        else if (m.type === "problems" && m.problems) {
          problems = problems.concat(m.problems);
          this.hooks.problems?.(task.name, problems);
        } else if (m.type === "exit") {
          done = true;
          this.log.flush();
          if (m.report) this.hooks.report?.(m.report);
          this.setHead(task.name || task.argv.join(" "), m.state ?? "done", undefined, m.exit_code);
          onExit(m.state ?? "", m.exit_code ?? null);
        }
      },
      onClose: () => (done ? false : undefined),
      onState: (s) => this.onState("task log", s),
    });
  }

  private append(text: string) {
    this.log.append(text);
  }

  note(text: string) {
    this.append(text.endsWith("\n") ? text : text + "\n");
  }

  private setHead(name: string, state: string, cancel?: () => void, code?: number) {
    clear(this.head);
    this.head.append(h("span.task-state." + state, { "data-testid": "task-state" }, state), h("span.task-name", {}, name));
    if (code !== undefined && code !== null) this.head.append(h("span.task-code", {}, `exit ${code}`));
    this.head.append(h("span.spacer", {}));
    if (cancel) this.head.append(h("button.btn.plain.small", { onclick: cancel }, "Cancel"));
  }
}

export interface HardwareHooks {
  showOutput(): void;
  state(name: string, s: LinkState): void;
}

/** HardwarePanel lists bitstreams; its FlashControls write the selected one to a board. */
export class HardwarePanel {
  readonly el: HTMLElement;
  private list: HTMLElement;
  private selected = "";
  private bitstreams: Bitstream[] = [];
  readonly flash: FlashControls;
  readonly buildBtn: HTMLButtonElement;

  constructor(private api: Sessiond, readonly output: OutputPanel, private hooks: HardwareHooks) {
    this.list = h("div.bits-list", { "data-testid": "bitstreams" });
    this.buildBtn = h("button.btn.primary", { onclick: () => this.build(), "data-testid": "build" }, "▶ Build");
    this.flash = new FlashControls(api, {
      selected: () => this.selected,
      showOutput: () => hooks.showOutput(),
      follow: (task, onExit) => output.follow(task, onExit, () => api.cancelTask(task.id).catch((e) => toast(e.message, "error"))),
    }, browserEnv(desktopHost() !== null));
    this.el = h("section.hardware", { "data-testid": "hardware" },
      h("header.pane-head", {}, h("span.pane-title", {}, "Bitstreams"), h("span.spacer", {}),
        h("button.icon-btn", { title: "Refresh", "aria-label": "Refresh bitstreams", onclick: () => this.refresh() }, "⟳")),
      this.list,
      this.flash.el,
    );
  }

  async init(): Promise<void> {
    await this.refresh();
    let files: string[] = [];
    try {
      files = (await this.api.list("")).entries.map((e) => e.path);
    } catch {
      // The board guess falls back to the first board.
    }
    await this.flash.init(files);
  }

  async refresh(): Promise<void> {
    try {
      const { bitstreams } = await this.api.bitstreams();
      this.bitstreams = bitstreams;
    } catch (err) {
      this.bitstreams = [];
      clear(this.list);
      this.list.append(h("div.muted", {}, `Bitstreams unavailable: ${(err as Error).message}`));
      return;
    }
    if (!this.bitstreams.some((b) => b.path === this.selected)) this.selected = this.bitstreams[0]?.path ?? "";
    this.render();
  }

  private render() {
    clear(this.list);
    if (!this.bitstreams.length) {
      this.list.append(h("div.muted", {}, "No bitstreams yet. Build to make one."));
      return;
    }
    for (const b of this.bitstreams) {
      this.list.append(h("label.bits-row" + (b.path === this.selected ? ".selected" : ""), { "data-path": b.path, title: `sha256 ${b.sha256}` },
        h("input", { type: "radio", name: "bitstream", value: b.path, checked: b.path === this.selected, onchange: () => {
          this.selected = b.path;
          this.render();
        } }),
        h("span.bits-name", {}, b.path),
        h("span.bits-size", {}, formatBytes(b.size)),
      ));
    }
  }

  /** build runs the workspace's build task and refreshes the bitstreams when it ends. */
  async build(): Promise<void> {
    // The shortcut (Ctrl+Shift+B) follows the button's rule: one build at a time.
    if (this.buildBtn.disabled) {
      this.hooks.showOutput();
      toast("A build is already running: its output is shown.", "info", 3000);
      return;
    }
    this.buildBtn.disabled = true;
    this.hooks.showOutput();
    try {
      const task = await this.api.startTask({ task: "build" });
      this.output.follow(task, (state) => {
        this.buildBtn.disabled = false;
        toast(`Build ${state}`, state === "succeeded" ? "ok" : "error", 3000);
        this.refresh();
      }, () => this.api.cancelTask(task.id).catch((e) => toast(e.message, "error")));
    } catch (err) {
      this.buildBtn.disabled = false;
      this.output.note(`Build could not start: ${(err as Error).message}`);
      toast(`Build: ${(err as Error).message}`, "error");
    }
  }
}

// Build problems in the editor: their own decorations (a wavy underline of
// the reported line from the column on, the message as its title), apart
// from the language server's lint diagnostics so neither replaces the other.
const setBuildMarks = StateEffect.define<DecorationSet>();
const buildMarks = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update: (deco, tr) => {
    for (const e of tr.effects) if (e.is(setBuildMarks)) return e.value;
    return deco.map(tr.changes);
  },
  provide: (f) => EditorView.decorations.from(f),
});

/** showBuildMarks draws a file's build problems in its editor (an empty list clears them). */
export function showBuildMarks(view: EditorView, list: BuildProblem[]): void {
  const doc = view.state.doc;
  const ranges: Range<Decoration>[] = [];
  for (const p of list) {
    if (!p.line || p.line > doc.lines) continue;
    const line = doc.line(p.line);
    const from = Math.min(line.from + Math.max((p.column ?? 1) - 1, 0), line.to);
    const title = `${p.source}${p.code ? " " + p.code : ""}: ${p.message}`;
    ranges.push(Decoration.line({ class: `cm-build-line cm-build-${p.severity}`, attributes: { title } }).range(line.from));
    if (line.to > from) ranges.push(Decoration.mark({ class: `cm-build-mark cm-build-${p.severity}`, attributes: { title } }).range(from, line.to));
  }
  const deco = Decoration.set(ranges, true);
  if (view.state.field(buildMarks, false) === undefined) {
    if (!ranges.length) return;
    view.dispatch({ effects: StateEffect.appendConfig.of(buildMarks) });
  }
  view.dispatch({ effects: setBuildMarks.of(deco) });
}
