// Shared plumbing for the LSP feature modules (inlay hints, semantic tokens,
// code actions, ...): the effect that tells editors their server is ready,
// the per-client context the IDE attaches, and a tracker that maps a
// response computed against an older document onto the current one.
import { LSPPlugin, type LSPClient } from "@codemirror/lsp-client";
import { ChangeSet, StateEffect, type Text } from "@codemirror/state";
import type { EditorView, ViewUpdate } from "@codemirror/view";
import type * as lsp from "vscode-languageserver-protocol";

/**
 * serverEvent is dispatched into every editor of a client when its server
 * finished initialize ("ready", after each (re)connect) or asked for a
 * refresh of one feature (workspace/semanticTokens/refresh, ...).
 */
export const serverEvent = StateEffect.define<"ready" | "semanticTokens" | "inlayHint" | "foldingRange">();

/** serverEventIn reports whether update carries e (or "ready", which refreshes everything). */
export function serverEventIn(u: ViewUpdate, e: "semanticTokens" | "inlayHint" | "foldingRange" | "ready"): boolean {
  for (const tr of u.transactions) for (const ef of tr.effects) if (ef.is(serverEvent) && (ef.value === e || ef.value === "ready")) return true;
  return false;
}

/** What the IDE lends the feature modules for one client (set by LspServer). */
export interface ClientContext {
  /** Reads a workspace file that may not be open, for references and previews. */
  read(path: string): Promise<string>;
  /** A message for the user. */
  notify(message: string, kind: "info" | "error"): void;
}

const contexts = new WeakMap<LSPClient, ClientContext>();

export function setClientContext(c: LSPClient, ctx: ClientContext): void {
  contexts.set(c, ctx);
}

export function clientContext(c: LSPClient): ClientContext | null {
  return contexts.get(c) ?? null;
}

/** capability reads one server capability, or undefined before initialize. */
export function capability<K extends keyof lsp.ServerCapabilities>(plugin: LSPPlugin, key: K): lsp.ServerCapabilities[K] | undefined {
  return plugin.client.serverCapabilities?.[key];
}

/**
 * offsetAt converts an LSP position to an offset in doc, clamping the way
 * LSP asks: a line past the end means the document's end, a character past
 * the line's end means the line's end.
 */
export function offsetAt(doc: Text, p: lsp.Position): number {
  if (p.line < 0) return 0;
  if (p.line >= doc.lines) return doc.length;
  const line = doc.line(p.line + 1);
  return line.from + Math.max(0, Math.min(p.character, line.length));
}

export function positionAt(doc: Text, pos: number): lsp.Position {
  const line = doc.lineAt(Math.max(0, Math.min(pos, doc.length)));
  return { line: line.number - 1, character: pos - line.from };
}

/**
 * DocTracker remembers the document a request was sent against and every
 * change made since, so a late response lands on the text it was meant for.
 * Only the newest request counts: an older one is stale (isCurrent false).
 */
export class DocTracker {
  private seq = 0;
  private doc: Text | null = null;
  private changes: ChangeSet | null = null;

  /** begin syncs the client and starts a request against the current document; returns its ticket. */
  begin(view: EditorView): number {
    LSPPlugin.get(view)?.client.sync();
    this.doc = view.state.doc;
    this.changes = ChangeSet.empty(this.doc.length);
    return ++this.seq;
  }

  /** cancel makes every outstanding request stale. */
  cancel(): void {
    this.seq++;
  }

  update(u: ViewUpdate): void {
    if (u.docChanged && this.changes) this.changes = this.changes.compose(u.changes);
  }

  isCurrent(ticket: number): boolean {
    return ticket === this.seq && this.doc !== null;
  }

  /** requestDoc is the document the current request was computed against. */
  get requestDoc(): Text {
    return this.doc!;
  }

  /** map takes an offset in requestDoc to the current document. */
  map(pos: number, assoc = -1): number {
    return this.changes ? this.changes.mapPos(pos, assoc) : pos;
  }

  /** touched reports whether the text between from and to (in requestDoc) was edited since. */
  touched(from: number, to: number): boolean {
    return !!this.changes && this.changes.touchesRange(from, to) !== false;
  }
}

/** debounce runs f once, ms after the last call; cancel drops a pending run. */
export function debounce(f: () => void, ms: number): { (): void; cancel(): void } {
  let t: ReturnType<typeof setTimeout> | null = null;
  const run = () => {
    if (t) clearTimeout(t);
    t = setTimeout(() => {
      t = null;
      f();
    }, ms);
  };
  run.cancel = () => {
    if (t) clearTimeout(t);
    t = null;
  };
  return run;
}
