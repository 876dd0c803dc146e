// LSP glue: connects @codemirror/lsp-client to sessiond's LSP WebSocket (one
// JSON-RPC message per text frame), reconnects with backoff and reopens the
// open documents, and collects diagnostics for the problems list.
import { LSPClient, LSPPlugin, Workspace, type Transport, type WorkspaceFile, languageServerExtensions } from "@codemirror/lsp-client";
import type { Extension, Text } from "@codemirror/state";
import type { EditorView } from "@codemirror/view";
import { ReconnectingSocket, type BackoffOptions, type LinkState } from "../api/socket";

/** Documents are always addressed as file:///workspace/<rel path> on the wire. */
export const workspaceRoot = "file:///workspace";

export function uriFor(path: string): string {
  return workspaceRoot + "/" + path.split("/").map(encodeURIComponent).join("/");
}

/** pathFromURI maps a workspace URI back to its relative path, or null if it lies outside. */
export function pathFromURI(uri: string): string | null {
  if (!uri.startsWith(workspaceRoot + "/")) return null;
  return uri.slice(workspaceRoot.length + 1).split("/").map(decodeURIComponent).join("/");
}

export interface Diagnostic {
  path: string;
  line: number; // 1-based
  character: number; // 1-based
  severity: "error" | "warning" | "info" | "hint";
  message: string;
  source?: string;
}

export interface LspHooks {
  /** Open (or focus) an editor on path, for go-to-definition across files. */
  display(path: string): Promise<EditorView | null>;
  /** The diagnostics for path changed (an empty list clears them). */
  diagnostics(path: string, items: Diagnostic[]): void;
  /** A message the user should see (window/showMessage, server died, ...). */
  notify(message: string, kind: "info" | "error"): void;
  state(name: string, s: LinkState): void;
}

export interface LspServerOptions {
  /** Language id in sessiond's api/v1/lsp/{language} route. */
  language: string;
  /** WebSocket URL of that route, with the token. */
  url: () => string;
  hooks: LspHooks;
  backoff?: BackoffOptions;
  /** Request timeout in ms; clangd's first completion can be slow. */
  timeout?: number;
}

function clampRange(doc: Text, r: { start: { line: number; character: number }; end: { line: number; character: number } }) {
  for (const p of [r.start, r.end]) {
    if (p.line >= doc.lines) {
      p.line = doc.lines - 1;
      p.character = Number.MAX_SAFE_INTEGER;
    }
    p.line = Math.max(0, p.line);
    p.character = Math.max(0, Math.min(p.character, doc.line(p.line + 1).length));
  }
}

const severities = ["error", "error", "warning", "info", "hint"] as const;

class FileEntry implements WorkspaceFile {
  constructor(public uri: string, public languageId: string, public version: number, public doc: Text, public view: EditorView) {}
  getView(): EditorView {
    return this.view;
  }
}

/** EditorWorkspace tracks one editor per file and asks the IDE to display files for cross-file jumps. */
class EditorWorkspace extends Workspace {
  files: FileEntry[] = [];
  private versions: Record<string, number> = Object.create(null);

  constructor(client: LSPClient, private hooks: LspHooks) {
    super(client);
  }

  private nextVersion(uri: string) {
    return (this.versions[uri] = (this.versions[uri] ?? -1) + 1);
  }

  syncFiles(): ReturnType<Workspace["syncFiles"]> {
    const out: { file: WorkspaceFile; prevDoc: Text; changes: import("@codemirror/state").ChangeSet }[] = [];
    for (const f of this.files) {
      const plugin = LSPPlugin.get(f.view);
      if (!plugin) continue;
      const changes = plugin.unsyncedChanges;
      if (!changes.empty) {
        out.push({ changes, file: f, prevDoc: f.doc });
        f.doc = f.view.state.doc;
        f.version = this.nextVersion(f.uri);
        plugin.clear();
      }
    }
    return out;
  }

  openFile(uri: string, languageId: string, view: EditorView): void {
    const old = this.getFile(uri) as FileEntry | null;
    if (old) {
      old.view = view; // an editor was recreated for the same file
      return;
    }
    const f = new FileEntry(uri, languageId, this.nextVersion(uri), view.state.doc, view);
    this.files.push(f);
    this.client.didOpen(f);
  }

  closeFile(uri: string, view: EditorView): void {
    const f = this.getFile(uri) as FileEntry | null;
    if (!f || f.view !== view) return;
    this.files = this.files.filter((x) => x !== f);
    this.client.didClose(uri);
  }

  /** connected reopens every document with its current text: the server has forgotten them. */
  connected(): void {
    for (const f of this.files) {
      const plugin = LSPPlugin.get(f.view);
      plugin?.clear();
      f.doc = f.view.state.doc;
      f.version = this.nextVersion(f.uri);
      this.client.didOpen(f);
    }
  }

  async displayFile(uri: string): Promise<EditorView | null> {
    const path = pathFromURI(uri);
    return path === null ? null : this.hooks.display(path);
  }
}

/**
 * LspServer is the client side of one language server behind sessiond. It
 * stays connected while the IDE runs, reconnecting with backoff; each
 * reconnect re-runs initialize and reopens the documents.
 */
export class LspServer {
  readonly client: LSPClient;
  private socket: ReconnectingSocket;
  private handlers = new Set<(m: string) => void>();
  private diagPaths = new Set<string>();

  constructor(o: LspServerOptions) {
    const hooks = o.hooks;
    this.client = new LSPClient({
      rootUri: workspaceRoot,
      timeout: o.timeout ?? 10_000,
      workspace: (c) => new EditorWorkspace(c, hooks),
      extensions: languageServerExtensions(),
      notificationHandlers: {
        // Collect for the problems list; return false so the built-in
        // handler still draws them in the editor.
        "textDocument/publishDiagnostics": (_c, params) => {
          const path = pathFromURI(params.uri);
          const doc = this.client.workspace.getFile(params.uri)?.doc;
          // LSP says out-of-range positions fall back to the line end; the
          // editor would throw on them, so clamp before it sees them.
          if (doc) for (const d of params.diagnostics ?? []) clampRange(doc, d.range);
          if (path !== null) {
            const items: Diagnostic[] = (params.diagnostics ?? []).map((d: { range: { start: { line: number; character: number } }; severity?: number; message: string; source?: string }) => ({
              path,
              line: d.range.start.line + 1,
              character: d.range.start.character + 1,
              severity: severities[d.severity ?? 1] ?? "error",
              message: d.message,
              source: d.source,
            }));
            if (items.length) this.diagPaths.add(path);
            else this.diagPaths.delete(path);
            hooks.diagnostics(path, items);
          }
          return false;
        },
        "window/showMessage": (_c, params) => {
          hooks.notify(`${o.language}: ${params.message}`, params.type === 1 ? "error" : "info");
          return true;
        },
      },
    });
    const transport: Transport = {
      send: (m) => {
        if (!this.socket.send(m)) throw new Error(`${o.language} language server is not connected`);
      },
      subscribe: (f) => this.handlers.add(f),
      unsubscribe: (f) => this.handlers.delete(f),
    };
    const name = "lsp:" + o.language;
    this.socket = new ReconnectingSocket(o.url, {
      onOpen: () => {
        this.client.connect(transport);
        this.client.initializing.catch((err) => hooks.notify(`${o.language}: initialize failed: ${err?.message ?? err}`, "error"));
      },
      onMessage: (data) => {
        const text = typeof data === "string" ? data : new TextDecoder().decode(data);
        for (const f of this.handlers) f(text);
      },
      onClose: (ev) => {
        this.client.disconnect();
        // Stale diagnostics would mislead once the server is gone.
        for (const p of this.diagPaths) hooks.diagnostics(p, []);
        this.diagPaths.clear();
        if (ev.code === 4001) hooks.notify(`${o.language} language server stopped: ${ev.reason || "no reason given"}; reconnecting`, "error");
      },
      onState: (s) => hooks.state(name, s),
    }, o.backoff);
    hooks.state(name, this.socket.state);
  }

  /** extension connects an editor on path to this server. */
  extension(path: string, languageId: string): Extension {
    return this.client.plugin(uriFor(path), languageId);
  }

  close(): void {
    this.socket.close();
    this.client.disconnect();
  }
}
