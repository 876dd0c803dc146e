// Inlay hints (textDocument/inlayHint) for the visible part of the
// document: muted widgets such as a port's direction and width after
// `.clk(` in an instance. Requested 150 ms after the text or the viewport
// changes; a response to an older request is dropped.
import type { Text } from "@codemirror/state";
import { Decoration, type DecorationSet, type EditorView, ViewPlugin, type ViewUpdate, WidgetType } from "@codemirror/view";
import { LSPPlugin } from "@codemirror/lsp-client";
import type * as lsp from "vscode-languageserver-protocol";
import { capability, debounce, DocTracker, offsetAt, positionAt, serverEventIn } from "./context";

export interface PlacedHint {
  pos: number;
  text: string;
  kind: "type" | "parameter" | "other";
  padLeft: boolean;
  padRight: boolean;
  title: string;
}

function labelText(label: string | lsp.InlayHintLabelPart[]): string {
  return typeof label === "string" ? label : label.map((p) => p.value).join("");
}

function tooltipText(t: string | lsp.MarkupContent | undefined): string {
  if (!t) return "";
  return typeof t === "string" ? t : t.value;
}

/**
 * placeHints converts the server's hints (positions in doc) to offsets,
 * sorted by position with the server's order kept at one position. Hints
 * with an empty label are dropped.
 */
export function placeHints(doc: Text, hints: lsp.InlayHint[]): PlacedHint[] {
  const out: (PlacedHint & { i: number })[] = [];
  hints.forEach((h, i) => {
    const text = labelText(h.label);
    if (!text) return;
    const partTips = typeof h.label === "string" ? "" : h.label.map((p) => tooltipText(p.tooltip)).filter(Boolean).join("\n");
    out.push({
      pos: offsetAt(doc, h.position),
      text,
      kind: h.kind === 1 ? "type" : h.kind === 2 ? "parameter" : "other",
      padLeft: !!h.paddingLeft,
      padRight: !!h.paddingRight,
      title: tooltipText(h.tooltip) || partTips,
      i,
    });
  });
  out.sort((a, b) => a.pos - b.pos || a.i - b.i);
  return out.map(({ i: _i, ...p }) => p);
}

class HintWidget extends WidgetType {
  constructor(readonly hint: PlacedHint) {
    super();
  }
  eq(o: HintWidget) {
    const a = this.hint, b = o.hint;
    return a.text === b.text && a.kind === b.kind && a.padLeft === b.padLeft && a.padRight === b.padRight && a.title === b.title;
  }
  toDOM() {
    const el = document.createElement("span");
    el.className = `cm-inlay-hint cm-inlay-hint-${this.hint.kind}`;
    if (this.hint.padLeft) el.classList.add("cm-inlay-pad-left");
    if (this.hint.padRight) el.classList.add("cm-inlay-pad-right");
    el.textContent = this.hint.text;
    if (this.hint.title) el.title = this.hint.title;
    el.setAttribute("aria-hidden", "true");
    return el;
  }
  ignoreEvent() {
    return false;
  }
}

export function hintDecorations(hints: PlacedHint[]): DecorationSet {
  // A parameter hint precedes the text after it (the cursor at its
  // position sits after the hint); other hints follow the text before them.
  return Decoration.set(hints.map((h) => Decoration.widget({ widget: new HintWidget(h), side: h.kind === "parameter" ? -1 : 1 }).range(h.pos)), true);
}

class InlayPlugin {
  decorations: DecorationSet = Decoration.none;
  private tracker = new DocTracker();
  private schedule = debounce(() => this.fetch(), 150);

  constructor(private view: EditorView) {
    this.schedule();
  }

  update(u: ViewUpdate) {
    this.tracker.update(u);
    if (u.docChanged) this.decorations = this.decorations.map(u.changes);
    if (u.docChanged || u.viewportChanged || serverEventIn(u, "inlayHint")) this.schedule();
  }

  private fetch() {
    const plugin = LSPPlugin.get(this.view);
    if (!plugin || !capability(plugin, "inlayHintProvider")) return;
    const ticket = this.tracker.begin(this.view);
    const doc = this.tracker.requestDoc;
    const { from, to } = this.view.viewport;
    plugin.client.request<lsp.InlayHintParams, lsp.InlayHint[] | null>("textDocument/inlayHint", {
      textDocument: { uri: plugin.uri },
      range: { start: positionAt(doc, from), end: positionAt(doc, to) },
    }).then((res) => {
      if (!this.tracker.isCurrent(ticket)) return;
      const placed = placeHints(doc, res ?? []).map((h) => ({ ...h, pos: this.tracker.map(h.pos, h.kind === "parameter" ? 1 : -1) }));
      this.decorations = hintDecorations(placed);
      this.view.dispatch({});
    }, () => {});
  }

  destroy() {
    this.schedule.cancel();
    this.tracker.cancel();
  }
}

export const inlayHints = ViewPlugin.fromClass(InlayPlugin, { decorations: (p) => p.decorations });
