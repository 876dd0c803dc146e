// WorkspaceEdit application: code actions, rename and workspace/applyEdit
// all come back as edits over several files. Files that are not open are
// opened (through the workspace's displayFile, i.e. a new tab) and edited
// there, so the user sees and saves every change.
import type { LSPClient } from "@codemirror/lsp-client";
import { ChangeSet, type ChangeSpec, type Text } from "@codemirror/state";
import type { EditorView } from "@codemirror/view";
import type * as lsp from "vscode-languageserver-protocol";
import { offsetAt } from "./context";

export interface FileEdits {
  uri: string;
  /** The version the edits were computed for, when the server said (documentChanges). */
  version?: number | null;
  edits: lsp.TextEdit[];
}

/**
 * editsByURI flattens a WorkspaceEdit into the text edits per document, in
 * the order the server gave them. documentChanges wins over changes when
 * both are present (LSP 3.17). Create/rename/delete file operations are not
 * applied; they are listed in skipped so the caller can say so.
 */
export function editsByURI(edit: lsp.WorkspaceEdit): { files: FileEdits[]; skipped: string[] } {
  const files: FileEdits[] = [];
  const skipped: string[] = [];
  const add = (uri: string, edits: lsp.TextEdit[], version?: number | null) => {
    const f = files.find((x) => x.uri === uri);
    if (f) f.edits.push(...edits);
    else files.push({ uri, edits: [...edits], version });
  };
  if (edit.documentChanges) {
    for (const dc of edit.documentChanges) {
      if ("textDocument" in dc) add(dc.textDocument.uri, dc.edits as lsp.TextEdit[], dc.textDocument.version);
      else skipped.push(`${dc.kind} ${"uri" in dc ? dc.uri : dc.oldUri}`);
    }
  } else if (edit.changes) {
    for (const uri of Object.keys(edit.changes)) add(uri, edit.changes[uri]);
  }
  return { files: files.filter((f) => f.edits.length), skipped };
}

/**
 * changesFor turns text edits (whose ranges all refer to doc, as LSP
 * requires) into one CodeMirror change set over doc. map, when given, takes
 * an offset in doc to the editor's current document (for edits that
 * arrive after the user typed on).
 */
export function changesFor(doc: Text, edits: lsp.TextEdit[], map?: (pos: number, assoc: number) => number): ChangeSpec[] {
  const out: { from: number; to: number; insert: string; i: number }[] = [];
  edits.forEach((e, i) => {
    let from = offsetAt(doc, e.range.start);
    let to = offsetAt(doc, e.range.end);
    if (to < from) [from, to] = [to, from];
    if (map) {
      from = map(from, 1);
      to = Math.max(from, map(to, -1));
    }
    out.push({ from, to, insert: e.newText, i });
  });
  // Stable by position, keeping the server's order for inserts at one spot.
  out.sort((a, b) => a.from - b.from || a.i - b.i);
  return out.map(({ from, to, insert }) => ({ from, to, insert }));
}

/** applyToText applies edits to a Text (what a tab gets), for tests and previews. */
export function applyToText(doc: Text, edits: lsp.TextEdit[]): Text {
  return ChangeSet.of(changesFor(doc, edits), doc.length).apply(doc);
}

export interface ApplyResult {
  applied: boolean;
  /** Workspace-relative URIs that were edited. */
  files: string[];
  failureReason?: string;
}

/**
 * Snapshot records, before a request, the synced document of every open
 * file and then tracks the changes made to it, so edits computed against
 * the snapshot apply to the text the user has now.
 */
export class Snapshot {
  private docs = new Map<string, Text>();
  private mapping: ReturnType<LSPClient["workspaceMapping"]>;

  constructor(readonly client: LSPClient) {
    client.sync();
    for (const f of client.workspace.files) this.docs.set(f.uri, f.doc);
    this.mapping = client.workspaceMapping();
  }

  /** mapper for uri: snapshot doc and a function to the current document, or null when the file was not open. */
  mapperFor(uri: string): { doc: Text; map: (pos: number, assoc: number) => number } | null {
    const doc = this.docs.get(uri);
    const m = this.mapping.getMapping(uri);
    if (!doc || !m) return null;
    return { doc, map: (pos, assoc) => m.mapPos(pos, assoc) };
  }

  destroy(): void {
    this.mapping.destroy();
  }
}

/**
 * applyWorkspaceEdit applies edit to the open editors, opening the files
 * that are not (each in its tab, left unsaved), then puts origin back in
 * front. snapshot maps edits computed before the user's latest typing.
 */
export async function applyWorkspaceEdit(client: LSPClient, edit: lsp.WorkspaceEdit, opt: { snapshot?: Snapshot; origin?: EditorView; userEvent?: string } = {}): Promise<ApplyResult> {
  const { files, skipped } = editsByURI(edit);
  const done: string[] = [];
  let opened = false;
  for (const f of files) {
    let view = client.workspace.getFile(f.uri)?.getView() ?? null;
    if (!view) {
      view = await client.workspace.displayFile(f.uri);
      opened = true;
    }
    if (!view) return { applied: false, files: done, failureReason: `cannot open ${f.uri}` };
    const m = opt.snapshot?.mapperFor(f.uri);
    const changes = m ? changesFor(m.doc, f.edits, m.map) : changesFor(view.state.doc, f.edits);
    try {
      view.dispatch({ changes, userEvent: opt.userEvent ?? "input.lsp", scrollIntoView: view === opt.origin });
    } catch (err) {
      return { applied: false, files: done, failureReason: `${f.uri}: ${(err as Error).message}` };
    }
    done.push(f.uri);
  }
  if (opened && opt.origin) {
    const uri = client.workspace.files.find((x) => x.getView() === opt.origin)?.uri;
    if (uri) await client.workspace.displayFile(uri);
    opt.origin.focus();
  }
  if (skipped.length) return { applied: done.length > 0, files: done, failureReason: "file operations are not supported: " + skipped.join(", ") };
  return { applied: true, files: done };
}
