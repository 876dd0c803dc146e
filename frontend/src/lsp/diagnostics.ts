// Diagnostics in the editor: the server's publishDiagnostics drawn with
// their source ("verilator", "yosys", ...) and code, each offering the
// quick fixes for it; the raw LSP diagnostic stays attached so code actions
// can send it back in their context.
import type { LSPClient } from "@codemirror/lsp-client";
import { LSPPlugin } from "@codemirror/lsp-client";
import { type Diagnostic as CMDiagnostic, forEachDiagnostic, setDiagnostics } from "@codemirror/lint";
import type { EditorState } from "@codemirror/state";
import type { EditorView } from "@codemirror/view";
import type * as lsp from "vscode-languageserver-protocol";
import { offsetAt } from "./context";

const raw = new WeakMap<CMDiagnostic, lsp.Diagnostic>();

/** A hook code actions install: opens the quick fix menu for one diagnostic. */
let quickFix: ((view: EditorView, from: number, to: number, d: lsp.Diagnostic) => void) | null = null;
export function setQuickFixOpener(f: typeof quickFix): void {
  quickFix = f;
}

const severity = ["error", "error", "warning", "info", "hint"] as const;

export function sourceLabel(d: lsp.Diagnostic): string | undefined {
  const code = d.code !== undefined && d.code !== "" ? String(d.code) : "";
  if (!d.source) return code || undefined;
  return code ? `${d.source} ${code}` : d.source;
}

/**
 * showDiagnostics draws params in the file's editor, mapped from the
 * document the server saw to the current one. It returns false when the
 * file is not open or the diagnostics are for another version.
 */
export function showDiagnostics(client: LSPClient, params: lsp.PublishDiagnosticsParams): boolean {
  const file = client.workspace.getFile(params.uri);
  if (!file || (params.version != null && params.version !== file.version)) return false;
  const view = file.getView();
  const plugin = view && LSPPlugin.get(view);
  if (!view || !plugin) return false;
  const fixes = !!client.serverCapabilities?.codeActionProvider;
  const doc = plugin.syncedDoc;
  const list: CMDiagnostic[] = params.diagnostics.map((item) => {
    const from = plugin.unsyncedChanges.mapPos(offsetAt(doc, item.range.start), 1);
    const to = Math.max(from, plugin.unsyncedChanges.mapPos(offsetAt(doc, item.range.end), -1));
    const tags = item.tags ?? [];
    const d: CMDiagnostic = {
      from,
      to,
      severity: severity[item.severity ?? 1] ?? "error",
      message: typeof item.message === "string" ? item.message : (item.message as { value: string }).value,
      source: sourceLabel(item),
      markClass: tags.includes(1) ? "cm-lsp-unnecessary" : tags.includes(2) ? "cm-lsp-deprecated" : undefined,
      actions: fixes && quickFix ? [{ name: "Quick fix…", apply: (v, f, t) => quickFix?.(v, f, t, item) }] : undefined,
    };
    raw.set(d, item);
    return d;
  });
  view.dispatch(setDiagnostics(view.state, list));
  return true;
}

/** overlapping returns the LSP diagnostics touching [from, to] in state (a cursor touches a diagnostic it sits at either end of). */
export function overlapping(state: EditorState, from: number, to: number): lsp.Diagnostic[] {
  const out: lsp.Diagnostic[] = [];
  forEachDiagnostic(state, (d, dfrom, dto) => {
    const r = raw.get(d);
    if (r && dfrom <= to && dto >= from) out.push(r);
  });
  return out;
}
