// Semantic tokens (textDocument/semanticTokens/full): the server's view of
// what each name is (port, parameter, module, package, macro, inactive
// `ifdef branch ...) drawn as classes over the syntax highlighting:
// cm-sem-<type> plus cm-sem-mod-<modifier> for each modifier.
import { RangeSetBuilder, type Text } from "@codemirror/state";
import { Decoration, type DecorationSet, type EditorView, ViewPlugin, type ViewUpdate } from "@codemirror/view";
import { LSPPlugin } from "@codemirror/lsp-client";
import type * as lsp from "vscode-languageserver-protocol";
import { capability, debounce, DocTracker, serverEventIn } from "./context";

export interface SemanticToken {
  line: number;
  character: number;
  length: number;
  type: string;
  modifiers: string[];
}

/**
 * decodeTokens expands LSP's relative encoding (5 integers per token:
 * deltaLine, deltaStart, length, tokenType, tokenModifiers bitset) with the
 * server's legend. Tokens whose type index is outside the legend are dropped.
 */
export function decodeTokens(data: ArrayLike<number>, legend: lsp.SemanticTokensLegend): SemanticToken[] {
  const out: SemanticToken[] = [];
  let line = 0, ch = 0;
  for (let i = 0; i + 4 < data.length; i += 5) {
    const dl = data[i], ds = data[i + 1];
    if (dl > 0) {
      line += dl;
      ch = ds;
    } else ch += ds;
    const type = legend.tokenTypes[data[i + 3]];
    if (type === undefined) continue;
    const modifiers: string[] = [];
    let bits = data[i + 4] >>> 0;
    for (let b = 0; bits !== 0 && b < 32; b++, bits >>>= 1) {
      if (bits & 1 && legend.tokenModifiers[b] !== undefined) modifiers.push(legend.tokenModifiers[b]);
    }
    out.push({ line, character: ch, length: data[i + 2], type, modifiers });
  }
  return out;
}

/** tokenClass is the CSS class list for a token: "cm-sem-variable cm-sem-mod-readonly". */
export function tokenClass(t: Pick<SemanticToken, "type" | "modifiers">): string {
  return ["cm-sem-" + cssName(t.type), ...t.modifiers.map((m) => "cm-sem-mod-" + cssName(m))].join(" ");
}

function cssName(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, "_");
}

/** tokenRanges places tokens in doc (a token never runs past its line's end), sorted by position. */
export function tokenRanges(doc: Text, tokens: SemanticToken[]): { from: number; to: number; cls: string }[] {
  const out: { from: number; to: number; cls: string }[] = [];
  for (const t of tokens) {
    if (t.line >= doc.lines || t.length <= 0) continue;
    const line = doc.line(t.line + 1);
    const from = line.from + Math.min(t.character, line.length);
    const to = Math.min(line.to, from + t.length);
    if (to > from) out.push({ from, to, cls: tokenClass(t) });
  }
  out.sort((a, b) => a.from - b.from || a.to - b.to);
  return out;
}

const marks = new Map<string, Decoration>();
function markFor(cls: string): Decoration {
  let m = marks.get(cls);
  if (!m) marks.set(cls, (m = Decoration.mark({ class: cls })));
  return m;
}

export function buildDecorations(ranges: { from: number; to: number; cls: string }[]): DecorationSet {
  const b = new RangeSetBuilder<Decoration>();
  let last = -1;
  for (const r of ranges) {
    if (r.from < last) continue; // overlapping tokens (not allowed by LSP): keep the first
    b.add(r.from, r.to, markFor(r.cls));
    last = r.to;
  }
  return b.finish();
}

class SemanticPlugin {
  decorations: DecorationSet = Decoration.none;
  private tracker = new DocTracker();
  private schedule = debounce(() => this.fetch(), 250);

  constructor(private view: EditorView) {
    this.schedule();
  }

  update(u: ViewUpdate) {
    this.tracker.update(u);
    if (u.docChanged) {
      this.decorations = this.decorations.map(u.changes);
      this.schedule();
    }
    if (serverEventIn(u, "semanticTokens")) this.schedule();
  }

  private fetch() {
    const plugin = LSPPlugin.get(this.view);
    const provider = plugin && capability(plugin, "semanticTokensProvider");
    if (!plugin || !provider || !provider.full) return;
    const legend = provider.legend;
    const ticket = this.tracker.begin(this.view);
    plugin.client.request<lsp.SemanticTokensParams, lsp.SemanticTokens | null>("textDocument/semanticTokens/full", { textDocument: { uri: plugin.uri } }).then((res) => {
      if (!this.tracker.isCurrent(ticket) || !res) return;
      const ranges = tokenRanges(this.tracker.requestDoc, decodeTokens(res.data, legend));
      const mapped = ranges.map((r) => ({ from: this.tracker.map(r.from, 1), to: this.tracker.map(r.to, -1), cls: r.cls })).filter((r) => r.to > r.from);
      this.decorations = buildDecorations(mapped);
      this.view.dispatch({}); // redraw with the new decorations
    }, () => {});
  }

  destroy() {
    this.schedule.cancel();
    this.tracker.cancel();
  }
}

/** semanticTokens draws the server's semantic tokens, refreshed 250 ms after the text stops changing. */
export const semanticTokens = ViewPlugin.fromClass(SemanticPlugin, { decorations: (p) => p.decorations });

/** The token types and modifiers the IDE styles (announced in the client capabilities). */
export const knownTokenTypes = ["namespace", "type", "class", "enum", "interface", "struct", "typeParameter", "parameter", "variable", "property", "enumMember", "event", "function", "method", "macro", "keyword", "modifier", "comment", "string", "number", "regexp", "operator", "decorator"];
export const knownTokenModifiers = ["declaration", "definition", "readonly", "static", "deprecated", "abstract", "async", "modification", "documentation", "defaultLibrary", "inactive"];
