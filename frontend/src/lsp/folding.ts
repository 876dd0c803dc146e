// Folding ranges from the server (textDocument/foldingRange), cached per
// document version: fetched once the text has been still for 400 ms, kept
// mapped through edits meanwhile, and served to foldGutter via foldService.
import { foldService } from "@codemirror/language";
import { type EditorState, StateEffect, StateField, type Text } from "@codemirror/state";
import { type EditorView, ViewPlugin, type ViewUpdate } from "@codemirror/view";
import { LSPPlugin } from "@codemirror/lsp-client";
import type * as lsp from "vscode-languageserver-protocol";
import { capability, debounce, DocTracker, offsetAt, serverEventIn } from "./context";

export interface Fold {
  from: number;
  to: number;
}

/**
 * foldsFor turns LSP folding ranges into folds over doc: from the end of
 * the start line (or startCharacter) to the end of the end line (or
 * endCharacter). Empty or inverted ranges are dropped; the result is sorted
 * by from, the largest fold first among those starting at one offset.
 */
export function foldsFor(doc: Text, ranges: lsp.FoldingRange[]): Fold[] {
  const out: Fold[] = [];
  for (const r of ranges) {
    if (r.startLine < 0 || r.startLine >= doc.lines || r.endLine < r.startLine) continue;
    const start = doc.line(r.startLine + 1);
    const from = r.startCharacter != null ? offsetAt(doc, { line: r.startLine, character: r.startCharacter }) : start.to;
    const to = r.endCharacter != null ? offsetAt(doc, { line: r.endLine, character: r.endCharacter }) : offsetAt(doc, { line: r.endLine, character: Number.MAX_SAFE_INTEGER });
    if (to > from) out.push({ from, to });
  }
  out.sort((a, b) => a.from - b.from || b.to - a.to);
  return out;
}

/** foldAt returns the fold that starts on the line [lineStart, lineEnd], the outermost one if several do. */
export function foldAt(folds: readonly Fold[], lineStart: number, lineEnd: number): Fold | null {
  let lo = 0, hi = folds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (folds[mid].from < lineStart) lo = mid + 1;
    else hi = mid;
  }
  let best: Fold | null = null;
  for (let i = lo; i < folds.length && folds[i].from <= lineEnd; i++) {
    if (folds[i].to > lineEnd && (!best || folds[i].to > best.to)) best = folds[i];
  }
  return best;
}

export const setServerFolds = StateEffect.define<Fold[]>();

const serverFolds = StateField.define<Fold[]>({
  create: () => [],
  update(folds, tr) {
    for (const e of tr.effects) if (e.is(setServerFolds)) return e.value;
    if (!tr.docChanged || !folds.length) return folds;
    const out: Fold[] = [];
    for (const f of folds) {
      const from = tr.changes.mapPos(f.from, 1), to = tr.changes.mapPos(f.to, -1);
      if (to > from) out.push({ from, to });
    }
    return out;
  },
});

/** foldingChangedBy tells foldGutter to redraw when server folds arrive. */
export function foldingChangedBy(u: ViewUpdate): boolean {
  return u.transactions.some((tr) => tr.effects.some((e) => e.is(setServerFolds)));
}

class FoldFetcher {
  private tracker = new DocTracker();
  private fetchedDoc: Text | null = null;
  private schedule = debounce(() => this.fetch(), 400);

  constructor(private view: EditorView) {
    this.schedule();
  }

  update(u: ViewUpdate) {
    this.tracker.update(u);
    const refresh = serverEventIn(u, "foldingRange");
    if (refresh) this.fetchedDoc = null;
    if (u.docChanged || refresh) this.schedule();
  }

  private fetch() {
    const plugin = LSPPlugin.get(this.view);
    if (!plugin || !capability(plugin, "foldingRangeProvider")) return;
    if (this.fetchedDoc === this.view.state.doc) return;
    const ticket = this.tracker.begin(this.view);
    const doc = this.tracker.requestDoc;
    plugin.client.request<lsp.FoldingRangeParams, lsp.FoldingRange[] | null>("textDocument/foldingRange", { textDocument: { uri: plugin.uri } }).then((res) => {
      if (!this.tracker.isCurrent(ticket)) return;
      const folds = foldsFor(doc, res ?? []).map((f) => ({ from: this.tracker.map(f.from, 1), to: this.tracker.map(f.to, -1) })).filter((f) => f.to > f.from);
      if (!this.tracker.touched(0, doc.length)) this.fetchedDoc = doc;
      this.view.dispatch({ effects: setServerFolds.of(folds) });
    }, () => {});
  }

  destroy() {
    this.schedule.cancel();
    this.tracker.cancel();
  }
}

function serverFold(state: EditorState, lineStart: number, lineEnd: number): { from: number; to: number } | null {
  const folds = state.field(serverFolds, false);
  return folds ? foldAt(folds, lineStart, lineEnd) : null;
}

/** serverFolding serves the server's folding ranges to the fold gutter and fold commands. */
export function serverFolding() {
  return [serverFolds, foldService.of(serverFold), ViewPlugin.fromClass(FoldFetcher)];
}
