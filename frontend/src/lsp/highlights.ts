// Document highlights (textDocument/documentHighlight): the other
// occurrences of the symbol under the cursor, marked 200 ms after the
// cursor settles; reads and writes get their own classes.
import { Decoration, type DecorationSet, type EditorView, ViewPlugin, type ViewUpdate } from "@codemirror/view";
import { LSPPlugin } from "@codemirror/lsp-client";
import type * as lsp from "vscode-languageserver-protocol";
import { capability, debounce, DocTracker, offsetAt, positionAt } from "./context";

const kinds: Record<number, Decoration> = {
  1: Decoration.mark({ class: "cm-doc-highlight cm-doc-highlight-text" }),
  2: Decoration.mark({ class: "cm-doc-highlight cm-doc-highlight-read" }),
  3: Decoration.mark({ class: "cm-doc-highlight cm-doc-highlight-write" }),
};

class HighlightPlugin {
  decorations: DecorationSet = Decoration.none;
  private tracker = new DocTracker();
  private schedule = debounce(() => this.fetch(), 200);

  constructor(private view: EditorView) {}

  update(u: ViewUpdate) {
    this.tracker.update(u);
    if (u.docChanged) this.decorations = this.decorations.map(u.changes);
    if (!u.selectionSet && !u.docChanged) return;
    const sel = u.state.selection.main;
    // Drop the marks at once when the cursor leaves them; the server's answer follows.
    let inside = false;
    this.decorations.between(sel.head, sel.head, () => {
      inside = true;
      return false;
    });
    if (!inside || u.docChanged) {
      this.decorations = Decoration.none;
      this.tracker.cancel();
    }
    if (sel.empty && u.state.selection.ranges.length === 1) this.schedule();
    else this.schedule.cancel();
  }

  private fetch() {
    const plugin = LSPPlugin.get(this.view);
    if (!plugin || !capability(plugin, "documentHighlightProvider")) return;
    const head = this.view.state.selection.main.head;
    const ticket = this.tracker.begin(this.view);
    const doc = this.tracker.requestDoc;
    plugin.client.request<lsp.DocumentHighlightParams, lsp.DocumentHighlight[] | null>("textDocument/documentHighlight", {
      textDocument: { uri: plugin.uri },
      position: positionAt(doc, head),
    }).then((res) => {
      if (!this.tracker.isCurrent(ticket)) return;
      const ranges = (res ?? []).map((h) => ({
        from: this.tracker.map(offsetAt(doc, h.range.start), 1),
        to: this.tracker.map(offsetAt(doc, h.range.end), -1),
        deco: kinds[h.kind ?? 1] ?? kinds[1],
      })).filter((r) => r.to > r.from);
      this.decorations = Decoration.set(ranges.map((r) => r.deco.range(r.from, r.to)), true);
      this.view.dispatch({});
    }, () => {});
  }

  destroy() {
    this.schedule.cancel();
    this.tracker.cancel();
  }
}

export const documentHighlights = ViewPlugin.fromClass(HighlightPlugin, { decorations: (p) => p.decorations });
