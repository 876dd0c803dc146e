// The git diff tab: both sides of one file (HEAD ↔ index, or index ↔
// working tree) side by side (@codemirror/merge's MergeView) or inline
// (unifiedMergeView), with a Stage / Unstage / Discard control above each
// of git's hunks. The hunks are git's own (GET api/v1/git/diff), so the
// buttons act on exactly what `git apply --cached` will take.
import { MergeView, unifiedMergeView } from "@codemirror/merge";
import { EditorState, type Extension, RangeSetBuilder } from "@codemirror/state";
import { Decoration, EditorView, lineNumbers, WidgetType } from "@codemirror/view";
import type { Viewer } from "./area";
import { type GitAPI, type GitDiff, type GitHunk, hunkAnchorLine } from "../ui/gitapi";
import { h, clear } from "../ui/dom";
import { toast, confirm } from "../ui/dialog";

export interface DiffHooks {
  /** After a hunk or the file was staged, unstaged or discarded. */
  changed(): void;
  /** Open the file itself in an editor. */
  openFile(path: string): void;
}

class HunkWidget extends WidgetType {
  constructor(private hunk: GitHunk, private staged: boolean, private act: (h: GitHunk, op: "stage" | "unstage" | "discard") => void) {
    super();
  }
  eq(o: HunkWidget): boolean {
    return o.hunk.id === this.hunk.id && o.staged === this.staged;
  }
  toDOM(): HTMLElement {
    const btn = (op: "stage" | "unstage" | "discard", label: string) =>
      h("button.btn.plain.hunk-btn", { type: "button", "data-testid": `hunk-${op}`, "aria-label": `${label} ${this.hunk.header}`, onclick: () => this.act(this.hunk, op) }, label);
    return h("div.git-hunk-bar", { "data-hunk": this.hunk.id },
      h("span.git-hunk-header", {}, this.hunk.header),
      ...(this.staged ? [btn("unstage", "Unstage hunk")] : [btn("stage", "Stage hunk"), btn("discard", "Discard hunk")]));
  }
  ignoreEvent(): boolean {
    return true;
  }
}

export class GitDiffViewer implements Viewer {
  readonly el: HTMLElement;
  private body = h("div.git-diff-body", {});
  private info = h("span.git-diff-info", { role: "status" });
  private inline = false;
  private merge: MergeView | null = null;
  private view: EditorView | null = null;
  private diff: GitDiff | null = null;
  private modeBtn: HTMLButtonElement;

  constructor(private api: GitAPI, readonly path: string, readonly staged: boolean, private hooks: DiffHooks) {
    this.modeBtn = h("button.btn.plain", { type: "button", "data-testid": "diff-mode", "aria-pressed": "false", onclick: () => { this.inline = !this.inline; this.modeBtn.setAttribute("aria-pressed", String(this.inline)); this.modeBtn.textContent = this.inline ? "Side by side" : "Inline"; this.render(); } }, "Inline");
    this.el = h("div.git-diff", { "data-testid": "git-diff", "data-path": path, tabindex: "-1" },
      h("div.git-diff-head", {},
        h("span.git-diff-title", {}, `${path} — ${staged ? "HEAD ↔ Index" : "Index ↔ Working Tree"}`),
        this.info, h("span.spacer", {}),
        this.modeBtn,
        h("button.btn.plain", { type: "button", "data-testid": "diff-open-file", onclick: () => hooks.openFile(path) }, "Open file"),
        h("button.btn.plain", { type: "button", "data-testid": "diff-reload", onclick: () => void this.reload() }, "Reload")),
      this.body);
    void this.reload();
  }

  async reload(): Promise<void> {
    try {
      this.diff = await this.api.diff(this.path, this.staged);
    } catch (err) {
      this.diff = null;
      clear(this.body);
      this.body.append(h("p.git-diff-msg", { role: "alert" }, (err as Error).message));
      return;
    }
    this.render();
  }

  private async act(hunk: GitHunk, op: "stage" | "unstage" | "discard") {
    if (op === "discard" && !(await confirm("Discard hunk", `Discard this change to ${this.path}? It cannot be undone.`, "Discard", true))) return;
    try {
      await this.api[op]({ hunk: { path: this.path, id: hunk.id } });
    } catch (err) {
      toast((err as Error).message, "error", 10_000);
    }
    await this.reload();
    this.hooks.changed();
  }

  private hunkBars(docLines: (n: number) => number, lineCount: number): Extension {
    const d = this.diff!;
    const b = new RangeSetBuilder<Decoration>();
    const items = d.hunks.map((hk) => ({ hk, line: hunkAnchorLine(hk, lineCount) })).sort((x, y) => x.line - y.line);
    for (const { hk, line } of items) {
      b.add(docLines(line), docLines(line), Decoration.widget({ widget: new HunkWidget(hk, this.staged, (x, op) => void this.act(x, op)), block: true, side: -1 }));
    }
    return EditorView.decorations.of(b.finish());
  }

  private render() {
    this.merge?.destroy();
    this.view?.destroy();
    this.merge = this.view = null;
    clear(this.body);
    const d = this.diff;
    if (!d) return;
    this.info.textContent = `${d.hunks.length} ${d.hunks.length === 1 ? "hunk" : "hunks"}${d.untracked ? " · untracked (stage the whole file)" : ""}`;
    if (d.binary || d.tooLarge) {
      this.body.append(h("p.git-diff-msg", {}, d.binary ? "Binary file: no text diff." : "The file is too large to show."));
      return;
    }
    const ro = [EditorState.readOnly.of(true), EditorView.editable.of(false), lineNumbers()];
    const newState = EditorState.create({ doc: d.new });
    const lineCount = newState.doc.lines;
    const bars = this.hunkBars((n) => newState.doc.line(n).from, lineCount);
    if (this.inline) {
      this.view = new EditorView({ parent: this.body, doc: d.new, extensions: [...ro, unifiedMergeView({ original: d.old, mergeControls: false }), bars] });
    } else {
      this.merge = new MergeView({ parent: this.body, a: { doc: d.old, extensions: ro }, b: { doc: d.new, extensions: [...ro, bars] }, highlightChanges: true, gutter: true });
    }
  }

  focus(): void {
    (this.body.querySelector<HTMLElement>(".hunk-btn") ?? this.el).focus();
  }
  changed(): void {
    void this.reload();
  }
  dispose(): void {
    this.merge?.destroy();
    this.view?.destroy();
  }
}
