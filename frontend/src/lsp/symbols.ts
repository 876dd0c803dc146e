// Symbol navigation in a filter list: the document outline
// (textDocument/documentSymbol, Mod-Shift-o), workspace symbols
// (workspace/symbol, queried as you type, Mod-t / Mod-Alt-o) and references
// (textDocument/references, Shift-F12) across every file, open or not.
import { LSPPlugin, type LSPClient } from "@codemirror/lsp-client";
import { Text } from "@codemirror/state";
import type { Command, EditorView, KeyBinding } from "@codemirror/view";
import type * as lsp from "vscode-languageserver-protocol";
import { filterItems, quickPick } from "../ui/quickpick";
import { clientContext, offsetAt, positionAt } from "./context";
import { pathFromURI } from "./paths";

const kindNames = ["", "file", "module", "namespace", "package", "class", "method", "property", "field", "constructor", "enum", "interface", "function", "variable", "constant", "string", "number", "boolean", "array", "object", "key", "null", "enum member", "struct", "event", "operator", "type parameter"];

export function symbolKindName(k: number | undefined): string {
  return kindNames[k ?? 0] ?? "";
}

export interface FlatSymbol {
  name: string;
  kind: number;
  /** Enclosing symbols, outermost first, joined with " › ". */
  container: string;
  detail: string;
  uri?: string;
  /** Where to put the cursor. */
  position: lsp.Position;
}

/**
 * flattenSymbols lists a documentSymbol result in document order, children
 * after their parent with the parent as container. It takes both the
 * hierarchical form (DocumentSymbol[]) and the flat one (SymbolInformation[]).
 */
export function flattenSymbols(res: (lsp.DocumentSymbol | lsp.SymbolInformation)[] | null): FlatSymbol[] {
  const out: FlatSymbol[] = [];
  const walk = (list: lsp.DocumentSymbol[], path: string[]) => {
    for (const s of list) {
      out.push({ name: s.name, kind: s.kind, container: path.join(" › "), detail: s.detail ?? "", position: (s.selectionRange ?? s.range).start });
      if (s.children?.length) walk(s.children, [...path, s.name]);
    }
  };
  const hier: lsp.DocumentSymbol[] = [];
  for (const s of res ?? []) {
    if ("location" in s) out.push({ name: s.name, kind: s.kind, container: s.containerName ?? "", detail: "", uri: s.location.uri, position: s.location.range.start });
    else hier.push(s);
  }
  walk(hier, []);
  return out;
}

/** workspaceSymbols normalizes a workspace/symbol result (SymbolInformation or WorkspaceSymbol). */
export function workspaceSymbols(res: (lsp.SymbolInformation | lsp.WorkspaceSymbol)[] | null): FlatSymbol[] {
  return (res ?? []).map((s) => ({
    name: s.name,
    kind: s.kind,
    container: s.containerName ?? "",
    detail: "",
    uri: s.location.uri,
    position: "range" in s.location ? s.location.range.start : { line: 0, character: 0 },
  }));
}

/** goto shows uri (opening it when needed) with the cursor at pos. */
export async function goto(view: EditorView, uri: string, pos: lsp.Position | number): Promise<void> {
  const plugin = LSPPlugin.get(view);
  if (!plugin) return;
  const target = uri === plugin.uri ? view : await plugin.client.workspace.displayFile(uri);
  if (!target) return;
  const off = typeof pos === "number" ? pos : offsetAt(target.state.doc, pos);
  target.dispatch({ selection: { anchor: Math.min(off, target.state.doc.length) }, scrollIntoView: true, userEvent: "select.symbol" });
  target.focus();
}

function failed(client: LSPClient, what: string, err: unknown) {
  clientContext(client)?.notify(`${what}: ${(err as Error)?.message ?? err}`, "error");
}

export const documentOutline: Command = (view) => {
  const plugin = LSPPlugin.get(view);
  if (!plugin || plugin.client.serverCapabilities?.documentSymbolProvider === undefined) return false;
  plugin.client.sync();
  const req = plugin.client.request<lsp.DocumentSymbolParams, (lsp.DocumentSymbol | lsp.SymbolInformation)[] | null>("textDocument/documentSymbol", { textDocument: { uri: plugin.uri } })
    .then((r) => flattenSymbols(r));
  req.catch((err) => failed(plugin.client, "Outline", err));
  quickPick<FlatSymbol>({
    title: "Go to symbol in file",
    placeholder: "Filter symbols",
    testid: "symbol-outline",
    empty: "No symbols",
    source: async (q) => filterItems(await req, q, (s) => s.name),
    row: (s) => ({ label: s.name, kind: symbolKindName(s.kind), detail: [s.container, s.detail].filter(Boolean).join(" · ") }),
    pick: (s) => void goto(view, s.uri ?? plugin.uri, s.position),
    cancelled: () => view.focus(),
  });
  return true;
};

export const workspaceSymbolSearch: Command = (view) => {
  const plugin = LSPPlugin.get(view);
  if (!plugin || plugin.client.serverCapabilities?.workspaceSymbolProvider === undefined) return false;
  const client = plugin.client;
  quickPick<FlatSymbol>({
    title: "Go to symbol in workspace",
    placeholder: "Symbol name",
    testid: "symbol-workspace",
    empty: "No symbols match",
    debounceMs: 150,
    source: async (query) => workspaceSymbols(await client.request<lsp.WorkspaceSymbolParams, (lsp.SymbolInformation | lsp.WorkspaceSymbol)[] | null>("workspace/symbol", { query })),
    row: (s) => ({ label: s.name, kind: symbolKindName(s.kind), detail: [s.container, s.uri ? pathFromURI(s.uri) ?? s.uri : ""].filter(Boolean).join(" · ") }),
    pick: (s) => void goto(view, s.uri!, s.position),
    cancelled: () => view.focus(),
  });
  return true;
};

export interface RefRow {
  uri: string;
  path: string;
  line: number; // 1-based
  text: string;
  position: lsp.Position;
}

/** referenceRows gives each location its line's text; docs are the texts by URI (missing ones get an empty line). */
export function referenceRows(locs: lsp.Location[], docs: Map<string, Text>): RefRow[] {
  return locs.map((l) => {
    const doc = docs.get(l.uri);
    const line = doc && l.range.start.line < doc.lines ? doc.line(l.range.start.line + 1).text.trim() : "";
    return { uri: l.uri, path: pathFromURI(l.uri) ?? l.uri, line: l.range.start.line + 1, text: line, position: l.range.start };
  }).sort((a, b) => a.path.localeCompare(b.path) || a.line - b.line || a.position.character - b.position.character);
}

export const findAllReferences: Command = (view) => {
  const plugin = LSPPlugin.get(view);
  if (!plugin || plugin.client.serverCapabilities?.referencesProvider === undefined) return false;
  const client = plugin.client;
  plugin.client.sync();
  const pos = positionAt(view.state.doc, view.state.selection.main.head);
  const rows = client.request<lsp.ReferenceParams, lsp.Location[] | null>("textDocument/references", {
    textDocument: { uri: plugin.uri },
    position: pos,
    context: { includeDeclaration: true },
  }).then(async (locs) => {
    const docs = new Map<string, Text>();
    const ctx = clientContext(client);
    for (const uri of new Set((locs ?? []).map((l) => l.uri))) {
      const f = client.workspace.getFile(uri);
      if (f) docs.set(uri, f.doc);
      else {
        const p = pathFromURI(uri);
        if (p !== null && ctx) docs.set(uri, Text.of((await ctx.read(p).catch(() => "")).split(/\r?\n/)));
      }
    }
    return referenceRows(locs ?? [], docs);
  });
  rows.catch((err) => failed(client, "References", err));
  quickPick<RefRow>({
    title: "References",
    placeholder: "Filter by file or text",
    testid: "references",
    empty: "No references",
    source: async (q) => filterItems(await rows, q, (r) => r.path + " " + r.text),
    row: (r) => ({ label: r.text || "(empty line)", detail: `${r.path}:${r.line}` }),
    pick: (r) => void goto(view, r.uri, r.position),
    cancelled: () => view.focus(),
  });
  return true;
};

export const symbolKeymap: readonly KeyBinding[] = [
  { key: "Mod-Shift-o", run: documentOutline, preventDefault: true },
  { key: "Mod-t", run: workspaceSymbolSearch, preventDefault: true },
  // Browsers keep Ctrl-T for a new tab; this one always reaches the page.
  { key: "Mod-Alt-o", run: workspaceSymbolSearch, preventDefault: true },
  { key: "Shift-F12", run: findAllReferences, preventDefault: true },
];
