// LSP glue: connects @codemirror/lsp-client to sessiond's LSP WebSocket (one
// JSON-RPC message per text frame), reconnects with backoff and reopens the
// open documents, collects diagnostics for the problems list, and adds what
// lsp-client lacks (inlay hints, semantic tokens, code actions, highlights,
// folding, symbols, rename across files, didSave, server requests).
import {
  formatKeymap, hoverTooltips, jumpToDefinitionKeymap, jumpToTypeDefinition, LSPClient, LSPPlugin, serverCompletion,
  serverDiagnostics, signatureHelp, Workspace, type LSPClientExtension, type Transport, type WorkspaceFile,
} from "@codemirror/lsp-client";
import { type ChangeSet, Prec, type Extension, type Text } from "@codemirror/state";
import { keymap, type EditorView } from "@codemirror/view";
import type * as lsp from "vscode-languageserver-protocol";
import { ReconnectingSocket, type BackoffOptions, type LinkState } from "../api/socket";
import { codeActionKeymap, openCodeActions } from "./actions";
import { serverEvent, setClientContext } from "./context";
import { setQuickFixOpener, showDiagnostics } from "./diagnostics";
import { applyWorkspaceEdit } from "./edits";
import { serverFolding } from "./folding";
import { documentHighlights } from "./highlights";
import { inlayHints } from "./inlay";
import { pathFromURI, uriFor, workspaceRoot } from "./paths";
import { renameKeymap } from "./rename";
import { sanitizeHTML } from "./sanitize";
import { knownTokenModifiers, knownTokenTypes, semanticTokens } from "./semantic";
import { symbolKeymap } from "./symbols";

export { pathFromURI, uriFor, workspaceRoot };

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
  /** Reads a file that may not be open (references list). */
  read?(path: string): Promise<string>;
  /** The server's health changed (status bar). */
  health?(h: LspHealth): void;
}

/** LspHealth is what the status bar says about one server. */
export interface LspHealth {
  state: LinkState;
  /** Initialized since the last (re)connect. */
  ready: boolean;
  /** Connections lost (or refused) in a row without a successful initialize. */
  failures: number;
  /** The last close: code 4001 means the server process ended. */
  lastClose?: { code: number; reason: string };
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

/** The capabilities our own feature modules handle, beyond lsp-client's. */
const extraCapabilities: LSPClientExtension = {
  clientCapabilities: {
    general: { positionEncodings: ["utf-16"] },
    workspace: {
      applyEdit: true,
      workspaceEdit: { documentChanges: true, failureHandling: "abort" },
      symbol: { symbolKind: { valueSet: Array.from({ length: 26 }, (_, i) => i + 1) } },
      executeCommand: {},
      semanticTokens: { refreshSupport: true },
      inlayHint: { refreshSupport: true },
      foldingRange: { refreshSupport: true },
    },
    textDocument: {
      synchronization: { didSave: true, willSave: false, willSaveWaitUntil: false },
      rename: { prepareSupport: true },
      rangeFormatting: {},
      documentSymbol: { hierarchicalDocumentSymbolSupport: true, symbolKind: { valueSet: Array.from({ length: 26 }, (_, i) => i + 1) } },
      documentHighlight: {},
      foldingRange: { lineFoldingOnly: false },
      inlayHint: {},
      semanticTokens: {
        requests: { full: true },
        tokenTypes: knownTokenTypes,
        tokenModifiers: knownTokenModifiers,
        formats: ["relative"],
        multilineTokenSupport: false,
        overlappingTokenSupport: false,
      },
      codeAction: {
        codeActionLiteralSupport: { codeActionKind: { valueSet: ["", "quickfix", "refactor", "refactor.extract", "refactor.inline", "refactor.rewrite", "source", "source.organizeImports"] } },
        isPreferredSupport: true,
        disabledSupport: true,
        dataSupport: true,
        resolveSupport: { properties: ["edit"] },
      },
      publishDiagnostics: { relatedInformation: false, tagSupport: { valueSet: [1, 2] }, codeDescriptionSupport: true, dataSupport: true },
    },
  },
  editorExtension: [
    semanticTokens,
    inlayHints,
    documentHighlights,
    serverFolding(),
    // Ours before lsp-client's (F2, Shift-Alt-f) and the editor's defaults.
    Prec.high(keymap.of([...renameKeymap, ...codeActionKeymap, ...symbolKeymap, { key: "Mod-F12", run: jumpToTypeDefinition, preventDefault: true }])),
  ],
};

setQuickFixOpener((view, from, to, d) => openCodeActions(view, from, to, d));

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
 * IncrementalClient sends incremental didChange notifications whenever the
 * server asks for them (textDocumentSync change 2). lsp-client itself sends
 * the whole text for any document under 1 KiB even then, so a server that
 * relies on ranges would never see one for small files.
 */
class IncrementalClient extends LSPClient {
  override sync(): void {
    const self = this as unknown as { supportSync?: number; activeMappings?: { addChanges(uri: string, c: ChangeSet): void }[] };
    for (const { file, changes, prevDoc } of this.workspace.syncFiles()) {
      for (const m of self.activeMappings ?? []) m.addChanges(file.uri, changes);
      const kind = self.supportSync ?? 0;
      if (!kind) continue; // textDocumentSync none: the server does not want changes
      this.notification("textDocument/didChange", {
        textDocument: { uri: file.uri, version: file.version },
        contentChanges: kind === 2 ? incrementalChanges(prevDoc, changes) : [{ text: file.doc.toString() }],
      });
    }
  }
}

/**
 * incrementalChanges turns a change set against before into LSP content
 * changes. They are listed last first, each in before's coordinates, so a
 * server applying them in order never sees a position moved by an earlier one.
 */
export function incrementalChanges(before: Text, changes: ChangeSet): lsp.TextDocumentContentChangeEvent[] {
  const out: lsp.TextDocumentContentChangeEvent[] = [];
  const pos = (at: number) => {
    const line = before.lineAt(at);
    return { line: line.number - 1, character: at - line.from };
  };
  changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
    out.push({ range: { start: pos(fromA), end: pos(toA) }, text: inserted.toString() });
  });
  return out.reverse();
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
  private listeners = new Map<string, Set<(params: unknown) => void>>();
  private readyListeners = new Set<() => void>();
  private healthState: LspHealth;
  private hooks: LspHooks;

  constructor(o: LspServerOptions) {
    const hooks = (this.hooks = o.hooks);
    this.client = new IncrementalClient({
      rootUri: workspaceRoot,
      timeout: o.timeout ?? 10_000,
      // Server Markdown (hovers, completion and signature docs) may carry raw HTML: never trusted.
      sanitizeHTML,
      workspace: (c) => new EditorWorkspace(c, hooks),
      extensions: [
        serverCompletion(),
        hoverTooltips(),
        keymap.of([...formatKeymap, ...jumpToDefinitionKeymap]),
        signatureHelp(),
        serverDiagnostics(),
        extraCapabilities,
      ],
      unhandledNotification: (_c, method, params) => {
        for (const f of this.listeners.get(method) ?? []) f(params);
      },
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
          // Drawn here (with source and quick fixes) rather than by lsp-client.
          showDiagnostics(this.client, params);
          return true;
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
        const init = this.client.initializing;
        init.then(() => {
          if (init !== this.client.initializing) return;
          this.setHealth({ ready: true, failures: 0 });
          for (const f of this.client.workspace.files) f.getView()?.dispatch({ effects: serverEvent.of("ready") });
          for (const f of this.readyListeners) f();
        }, (err) => hooks.notify(`${o.language}: initialize failed: ${err?.message ?? err}`, "error"));
      },
      onMessage: (data) => {
        const text = typeof data === "string" ? data : new TextDecoder().decode(data);
        if (this.serverRequest(text)) return;
        for (const f of this.handlers) f(text);
      },
      onClose: (ev) => {
        this.client.disconnect();
        // Stale diagnostics would mislead once the server is gone.
        for (const p of this.diagPaths) hooks.diagnostics(p, []);
        this.diagPaths.clear();
        this.setHealth({ ready: false, failures: this.healthState.failures + 1, lastClose: { code: ev.code, reason: ev.reason } });
        if (ev.code === 4001) hooks.notify(`${o.language} language server stopped: ${ev.reason || "no reason given"}; reconnecting`, "error");
      },
      onState: (s) => {
        hooks.state(name, s);
        this.setHealth({ state: s });
      },
    }, o.backoff);
    this.healthState = { state: this.socket.state, ready: false, failures: 0 };
    setClientContext(this.client, {
      read: (p) => (hooks.read ? hooks.read(p) : Promise.reject(new Error("cannot read files"))),
      notify: hooks.notify,
    });
    hooks.state(name, this.socket.state);
    hooks.health?.(this.healthState);
  }

  get health(): LspHealth {
    return this.healthState;
  }

  private setHealth(p: Partial<LspHealth>) {
    this.healthState = { ...this.healthState, ...p };
    this.hooks.health?.(this.healthState);
  }

  /** onNotification subscribes to a server notification lsp-client does not handle (gatewave/hierarchyChanged). */
  onNotification(method: string, f: (params: unknown) => void): () => void {
    let set = this.listeners.get(method);
    if (!set) this.listeners.set(method, (set = new Set()));
    set.add(f);
    return () => set.delete(f);
  }

  /** onReady is called after every successful initialize (the first connect and each reconnect). */
  onReady(f: () => void): () => void {
    this.readyListeners.add(f);
    return () => this.readyListeners.delete(f);
  }

  get ready(): boolean {
    return this.healthState.ready;
  }

  /** request sends a request once the server is initialized (custom ones like gatewave/hierarchy). */
  request<R>(method: string, params: unknown): Promise<R> {
    return this.client.request<unknown, R>(method, params);
  }

  /**
   * serverRequest answers the server-to-client requests lsp-client would
   * refuse: workspace/applyEdit and the refresh requests. It returns false
   * for anything else, which goes on to lsp-client.
   */
  private serverRequest(text: string): boolean {
    if (!text.includes('"method"') || !text.includes('"id"')) return false;
    let msg: { id?: number | string; method?: string; params?: unknown; result?: unknown };
    try {
      msg = JSON.parse(text);
    } catch {
      return false;
    }
    if (msg.id === undefined || typeof msg.method !== "string") return false;
    const reply = (result: unknown) => this.socket.send(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result }));
    const refresh = (what: "semanticTokens" | "inlayHint" | "foldingRange") => {
      for (const f of this.client.workspace.files) f.getView()?.dispatch({ effects: serverEvent.of(what) });
      reply(null);
    };
    switch (msg.method) {
      case "workspace/applyEdit": {
        const p = msg.params as lsp.ApplyWorkspaceEditParams;
        applyWorkspaceEdit(this.client, p.edit, { userEvent: "input.lsp" }).then(
          (r) => reply({ applied: r.applied, failureReason: r.failureReason }),
          (err) => reply({ applied: false, failureReason: String(err?.message ?? err) }),
        );
        return true;
      }
      case "workspace/semanticTokens/refresh":
        refresh("semanticTokens");
        return true;
      case "workspace/inlayHint/refresh":
        refresh("inlayHint");
        return true;
      case "workspace/foldingRange/refresh":
        refresh("foldingRange");
        return true;
      case "window/workDoneProgress/create":
      case "client/registerCapability":
      case "client/unregisterCapability":
        reply(null);
        return true;
    }
    return false;
  }

  /**
   * didSave tells the server path was saved (the HDL server then runs the
   * real tools on it). Pending edits are sent first so the server's text
   * matches the disk. Nothing is sent for a file the server does not have open.
   */
  didSave(path: string): void {
    const uri = uriFor(path);
    const file = this.client.workspace.getFile(uri);
    if (!file || !this.client.connected) return;
    this.client.sync();
    const sync = this.client.serverCapabilities?.textDocumentSync;
    const save = typeof sync === "object" ? sync.save : undefined;
    if (typeof sync === "object" && !save) return; // the server asked not to hear about saves
    const params: lsp.DidSaveTextDocumentParams = { textDocument: { uri } };
    if (typeof save === "object" && save.includeText) params.text = file.doc.toString();
    this.client.notification("textDocument/didSave", params);
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
