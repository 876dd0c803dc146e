// Rename (F2) with prepareRename, applied to every file the server's
// WorkspaceEdit names (lsp-client's own rename only edits open files and
// ignores documentChanges), and range formatting (Mod-k Mod-f, or
// Shift-Alt-f with a selection).
import { formatDocument, LSPPlugin } from "@codemirror/lsp-client";
import { getIndentUnit, indentUnit } from "@codemirror/language";
import { type Command, type EditorView, getDialog, type KeyBinding, showDialog } from "@codemirror/view";
import type * as lsp from "vscode-languageserver-protocol";
import { clientContext, offsetAt, positionAt } from "./context";
import { applyWorkspaceEdit, changesFor, Snapshot } from "./edits";

type Prepared = lsp.Range | { range: lsp.Range; placeholder: string } | { defaultBehavior: boolean } | null;

/** renameTarget reads a prepareRename answer: the range to rename and the proposed name, or null when the server refuses. */
export function renameTarget(doc: import("@codemirror/state").Text, res: Prepared, word: { from: number; to: number } | null): { from: number; to: number; name: string } | null {
  if (!res) return null;
  if ("defaultBehavior" in res) return word ? { ...word, name: doc.sliceString(word.from, word.to) } : null;
  const range = "range" in res ? res.range : res;
  const from = offsetAt(doc, range.start), to = offsetAt(doc, range.end);
  return { from, to, name: "placeholder" in res ? res.placeholder : doc.sliceString(from, to) };
}

export const renameSymbol: Command = (view) => {
  const plugin = LSPPlugin.get(view);
  const provider = plugin?.client.serverCapabilities?.renameProvider;
  if (!plugin || !provider) return false;
  const head = view.state.selection.main.head;
  const word = view.state.wordAt(head);
  const client = plugin.client;
  const notify = (m: string) => clientContext(client)?.notify(m, "error");
  client.sync();
  const prepared: Promise<Prepared> = typeof provider === "object" && provider.prepareProvider
    ? client.request<lsp.PrepareRenameParams, Prepared>("textDocument/prepareRename", { textDocument: { uri: plugin.uri }, position: positionAt(view.state.doc, head) })
    : Promise.resolve(word ? { defaultBehavior: true } : null);
  const doc = view.state.doc;
  prepared.then((res) => {
    if (view.state.doc !== doc) return; // the user typed on; F2 again
    const target = renameTarget(doc, res, word);
    if (!target) {
      notify("Nothing to rename here.");
      return;
    }
    ask(view, target.name, (newName) => {
      if (!newName || newName === target.name) return;
      const snapshot = new Snapshot(client);
      client.request<lsp.RenameParams, lsp.WorkspaceEdit | null>("textDocument/rename", {
        textDocument: { uri: plugin.uri },
        position: positionAt(doc, target.from),
        newName,
      }).then(async (edit) => {
        if (!edit) return notify(`Rename to ${newName}: the server made no changes.`);
        const r = await applyWorkspaceEdit(client, edit, { snapshot, origin: view, userEvent: "rename" });
        if (r.failureReason) notify(`Rename to ${newName}: ${r.failureReason}`);
      }, (err) => notify(`Rename to ${newName}: ${err?.message ?? err}`)).finally(() => snapshot.destroy());
    });
  }, (err) => notify(`Rename: ${err?.message ?? err}`));
  return true;
};

function ask(view: EditorView, value: string, done: (name: string | null) => void) {
  const open = getDialog(view, "cm-lsp-rename-panel");
  if (open) {
    const input = open.dom.querySelector("[name=name]") as HTMLInputElement;
    input.value = value;
    input.select();
    return;
  }
  const { close, result } = showDialog(view, {
    label: view.state.phrase("New name"),
    input: { name: "name", value },
    focus: true,
    submitLabel: view.state.phrase("rename"),
    class: "cm-lsp-rename-panel",
  });
  result.then((form) => {
    view.dispatch({ effects: close });
    view.focus();
    done(form ? (form.elements.namedItem("name") as HTMLInputElement).value.trim() : null);
  });
}

/** formatSelection asks for textDocument/rangeFormatting over the selection (the whole document when it is empty). */
export const formatSelection: Command = (view) => {
  const plugin = LSPPlugin.get(view);
  const sel = view.state.selection.main;
  if (!plugin) return false;
  if (sel.empty || !plugin.client.serverCapabilities?.documentRangeFormattingProvider) return formatDocument(view);
  const client = plugin.client;
  client.sync();
  const doc = view.state.doc;
  client.request<lsp.DocumentRangeFormattingParams, lsp.TextEdit[] | null>("textDocument/rangeFormatting", {
    textDocument: { uri: plugin.uri },
    range: { start: positionAt(doc, sel.from), end: positionAt(doc, sel.to) },
    options: { tabSize: getIndentUnit(view.state), insertSpaces: view.state.facet(indentUnit).indexOf("\t") < 0 },
  }).then((edits) => {
    if (!edits?.length || view.state.doc !== doc) return; // never format text that changed under the request
    view.dispatch({ changes: changesFor(doc, edits), userEvent: "format" });
  }, (err) => clientContext(client)?.notify(`Format: ${err?.message ?? err}`, "error"));
  return true;
};

export const renameKeymap: readonly KeyBinding[] = [
  { key: "F2", run: renameSymbol, preventDefault: true },
  { key: "Mod-k Mod-f", run: formatSelection, preventDefault: true },
  { key: "Shift-Alt-f", run: (v) => (v.state.selection.main.empty ? formatDocument(v) : formatSelection(v)), preventDefault: true },
];
