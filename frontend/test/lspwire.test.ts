// @vitest-environment happy-dom
// The LSP feature modules against a scripted HDL server over a loopback
// WebSocket: what the client sends, and what the editor shows.
import { forEachDiagnostic } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket as WS, WebSocketServer } from "ws";
import { codeActionCommand } from "../src/lsp/actions";
import { type LspHealth, LspServer } from "../src/lsp/lsp";
import { renameSymbol } from "../src/lsp/rename";
import { findAllReferences } from "../src/lsp/symbols";

beforeAll(() => {
  (globalThis as unknown as { WebSocket: unknown }).WebSocket = WS;
});

const A = "file:///workspace/rtl/a.v";
const B = "file:///workspace/rtl/b.v";
const legend = { tokenTypes: ["keyword", "class", "variable", "comment"], tokenModifiers: ["declaration", "inactive"] };

type Msg = { id?: number; method?: string; params?: any; result?: any };

function hdlServer() {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  const received: Msg[] = [];
  const replies: Msg[] = [];
  let sock: WS | null = null;
  const send = (m: object) => sock!.send(JSON.stringify({ jsonrpc: "2.0", ...m }));
  wss.on("connection", (ws) => {
    sock = ws;
    ws.on("message", (data) => {
      const msg: Msg = JSON.parse(String(data));
      if (!msg.method) {
        replies.push(msg);
        return;
      }
      received.push(msg);
      const reply = (result: unknown) => send({ id: msg.id, result });
      switch (msg.method) {
        case "initialize":
          return reply({
            capabilities: {
              textDocumentSync: { openClose: true, change: 2, save: { includeText: false } },
              semanticTokensProvider: { legend, full: true },
              inlayHintProvider: true,
              codeActionProvider: { codeActionKinds: ["quickfix"] },
              documentHighlightProvider: true,
              foldingRangeProvider: true,
              workspaceSymbolProvider: true,
              documentSymbolProvider: true,
              renameProvider: { prepareProvider: true },
              referencesProvider: true,
            },
            serverInfo: { name: "gatewave-hdl" },
          });
        case "textDocument/semanticTokens/full":
          // "module" keyword, "a" class+declaration
          return reply({ data: [0, 0, 6, 0, 0, 0, 7, 1, 1, 1] });
        case "textDocument/inlayHint":
          return reply([{ position: { line: 1, character: 7 }, label: "in [7:0]", kind: 2 }]);
        case "textDocument/codeAction":
          return reply([{
            title: "Declare signal x",
            kind: "quickfix",
            isPreferred: true,
            edit: { documentChanges: [
              { textDocument: { uri: A, version: null }, edits: [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, newText: "  logic x;\n" }] },
              { textDocument: { uri: B, version: null }, edits: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, newText: "// touched\n" }] },
            ] },
          }, { title: "Not now", kind: "quickfix", disabled: { reason: "nothing to do" } }]);
        case "textDocument/documentHighlight":
        case "textDocument/foldingRange":
          return reply([]);
        case "textDocument/prepareRename":
          return reply({ range: { start: { line: 0, character: 7 }, end: { line: 0, character: 8 } }, placeholder: "a" });
        case "textDocument/rename":
          return reply({ changes: {
            [A]: [{ range: { start: { line: 0, character: 7 }, end: { line: 0, character: 8 } }, newText: msg.params.newName }],
            [B]: [{ range: { start: { line: 1, character: 2 }, end: { line: 1, character: 3 } }, newText: msg.params.newName }],
          } });
        case "textDocument/references":
          return reply([
            { uri: B, range: { start: { line: 1, character: 2 }, end: { line: 1, character: 3 } } },
            { uri: A, range: { start: { line: 0, character: 7 }, end: { line: 0, character: 8 } } },
          ]);
        case "gatewave/hierarchy":
          return reply({ tops: [{ name: "a", module: "a", uri: A, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 8 } }, children: [] }] });
      }
    });
  });
  const port = () => (wss.address() as { port: number }).port;
  return { received, replies, send, port, drop: (code: number, reason: string) => sock!.close(code, reason), close: () => new Promise<void>((r) => wss.close(() => r())) };
}

async function until(f: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("HDL features over the wire", () => {
  const cleanup: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  it("draws hints and tokens, applies a quick fix to an unopened file, sends didSave, follows custom notifications", async () => {
    const srv = hdlServer();
    cleanup.push(srv.close);
    const views = new Map<string, EditorView>();
    const notes: string[] = [];
    let lsp!: LspServer;
    const open = (path: string, text: string) => {
      const v = new EditorView({ state: EditorState.create({ doc: text, extensions: [lsp.extension(path, "verilog")] }), parent: document.body });
      views.set(path, v);
      cleanup.push(() => v.destroy());
      return v;
    };
    lsp = new LspServer({
      language: "hdl",
      url: () => `ws://127.0.0.1:${srv.port()}/api/v1/lsp/hdl`,
      backoff: { initialMs: 20, maxMs: 100, jitter: 0 },
      hooks: {
        // The IDE opens a tab: here, a new editor on the disk text.
        display: async (p) => views.get(p) ?? (p === "rtl/b.v" ? open(p, "module b;\nendmodule\n") : null),
        diagnostics: () => {},
        notify: (m) => notes.push(m),
        state: () => {},
      },
    });
    cleanup.push(() => lsp.close());
    const hierarchyChanged: unknown[] = [];
    lsp.onNotification("gatewave/hierarchyChanged", (p) => hierarchyChanged.push(p ?? null));
    let ready = 0;
    lsp.onReady(() => ready++);

    const view = open("rtl/a.v", "module a;\n  fifo u (.clk(clk));\nendmodule\n");
    await until(() => ready === 1);
    const init = srv.received.find((m) => m.method === "initialize")!.params.capabilities;
    expect(init.textDocument.semanticTokens.requests.full).toBe(true);
    expect(init.textDocument.inlayHint).toBeDefined();
    expect(init.textDocument.synchronization.didSave).toBe(true);
    expect(init.textDocument.codeAction.codeActionLiteralSupport.codeActionKind.valueSet).toContain("quickfix");
    expect(init.textDocument.documentSymbol.hierarchicalDocumentSymbolSupport).toBe(true);
    expect(init.textDocument.rename.prepareSupport).toBe(true);
    expect(init.workspace.workspaceEdit.documentChanges).toBe(true);

    // Inlay hints and semantic tokens arrive and are drawn.
    await until(() => !!view.dom.querySelector(".cm-inlay-hint") && !!view.dom.querySelector(".cm-sem-class"));
    expect(view.dom.querySelector(".cm-inlay-hint")!.textContent).toBe("in [7:0]");
    expect(view.dom.querySelector(".cm-sem-class")!.textContent).toBe("a");
    expect(view.dom.querySelector(".cm-sem-class")!.className).toContain("cm-sem-mod-declaration");
    expect(view.dom.querySelector(".cm-sem-keyword")!.textContent).toBe("module");
    const hintReq = srv.received.find((m) => m.method === "textDocument/inlayHint")!;
    expect(hintReq.params.textDocument.uri).toBe(A);

    // Diagnostics keep their source for the tooltip and the code action context.
    srv.send({ method: "textDocument/publishDiagnostics", params: { uri: A, diagnostics: [{ range: { start: { line: 1, character: 15 }, end: { line: 1, character: 18 } }, severity: 1, message: "x is not declared", source: "hdl", code: "undeclared" }] } });
    await until(() => {
      let n = 0;
      forEachDiagnostic(view.state, () => n++);
      return n === 1;
    });
    let source: string | undefined;
    forEachDiagnostic(view.state, (d) => (source = d.source));
    expect(source).toBe("hdl undeclared");

    // Ctrl-. on the diagnostic: the menu lists the actions, preferred first.
    view.dispatch({ selection: { anchor: view.state.doc.line(2).from + 16 } });
    expect(codeActionCommand(view)).toBe(true);
    await until(() => document.querySelectorAll(".cm-code-actions li").length === 2);
    const caReq = srv.received.find((m) => m.method === "textDocument/codeAction")!;
    expect(caReq.params.context.diagnostics).toEqual([expect.objectContaining({ message: "x is not declared", source: "hdl" })]);
    const items = [...document.querySelectorAll<HTMLElement>(".cm-code-actions li")];
    expect(items.map((li) => li.textContent)).toEqual(["Declare signal x", "Not now"]);
    expect(items[0].getAttribute("aria-selected")).toBe("true");
    expect(items[1].getAttribute("aria-disabled")).toBe("true");
    items[0].click();
    await until(() => views.get("rtl/b.v")?.state.doc.toString().startsWith("// touched\n") === true);
    expect(view.state.doc.toString()).toBe("module a;\n  logic x;\n  fifo u (.clk(clk));\nendmodule\n");
    expect(document.querySelector(".cm-code-actions")).toBeNull();

    // didSave after a save, with the edits synced first.
    lsp.didSave("rtl/a.v");
    await until(() => srv.received.some((m) => m.method === "textDocument/didSave"));
    const saveIdx = srv.received.findIndex((m) => m.method === "textDocument/didSave");
    expect(srv.received[saveIdx].params).toEqual({ textDocument: { uri: A } });
    const lastChange = srv.received.slice(0, saveIdx).filter((m) => m.method === "textDocument/didChange" && m.params.textDocument.uri === A).at(-1)!;
    expect(lastChange).toBeDefined();
    lsp.didSave("rtl/never-opened.v"); // not open: nothing is sent

    // The custom request and notification.
    const h = await lsp.request<{ tops: { name: string }[] }>("gatewave/hierarchy", {});
    expect(h.tops.map((t) => t.name)).toEqual(["a"]);
    srv.send({ method: "gatewave/hierarchyChanged" });
    await until(() => hierarchyChanged.length === 1);

    // A server-initiated edit is applied and answered.
    srv.send({ id: 77, method: "workspace/applyEdit", params: { edit: { changes: { [A]: [{ range: { start: { line: 0, character: 7 }, end: { line: 0, character: 8 } }, newText: "alu" }] } } } });
    await until(() => srv.replies.some((r) => r.id === 77));
    expect(srv.replies.find((r) => r.id === 77)!.result).toEqual({ applied: true });
    expect(view.state.doc.line(1).text).toBe("module alu;");

    // A refresh request is answered and re-fetches.
    const before = srv.received.filter((m) => m.method === "textDocument/semanticTokens/full").length;
    srv.send({ id: 78, method: "workspace/semanticTokens/refresh" });
    await until(() => srv.replies.some((r) => r.id === 78) && srv.received.filter((m) => m.method === "textDocument/semanticTokens/full").length > before);
    expect(srv.received.filter((m) => m.method === "textDocument/didSave")).toHaveLength(1);
    expect(notes).toEqual([]);
  });

  it("renames across an unopened file, lists references from disk, and reports a server that stops", async () => {
    const srv = hdlServer();
    cleanup.push(srv.close);
    const views = new Map<string, EditorView>();
    const disk: Record<string, string> = { "rtl/b.v": "module b;\n  a u_a ();\nendmodule\n" };
    const health: LspHealth[] = [];
    let lsp!: LspServer;
    const open = (path: string, text: string) => {
      const v = new EditorView({ state: EditorState.create({ doc: text, extensions: [lsp.extension(path, "verilog")] }), parent: document.body });
      views.set(path, v);
      cleanup.push(() => v.destroy());
      return v;
    };
    lsp = new LspServer({
      language: "hdl",
      url: () => `ws://127.0.0.1:${srv.port()}/api/v1/lsp/hdl`,
      backoff: { initialMs: 20, maxMs: 50, jitter: 0 },
      hooks: {
        display: async (p) => views.get(p) ?? (disk[p] !== undefined ? open(p, disk[p]) : null),
        read: async (p) => disk[p] ?? Promise.reject(new Error("no such file")),
        diagnostics: () => {},
        notify: () => {},
        state: () => {},
        health: (h) => health.push(h),
      },
    });
    cleanup.push(() => lsp.close());
    const view = open("rtl/a.v", "module a;\nendmodule\n");
    await until(() => lsp.ready);

    // References: the unopened file's line comes from disk, nothing is opened for it.
    view.dispatch({ selection: { anchor: 7 } });
    expect(findAllReferences(view)).toBe(true);
    await until(() => document.querySelectorAll('[data-testid="references"] .quick-pick-item').length === 2);
    expect([...document.querySelectorAll('[data-testid="references"] .quick-pick-item')].map((li) => li.textContent)).toEqual(["module a;rtl/a.v:1", "a u_a ();rtl/b.v:2"]);
    expect(views.has("rtl/b.v")).toBe(false);
    document.querySelector<HTMLElement>('[data-testid="references"] input')!.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));

    // Rename: prepareRename's placeholder fills the dialog; both files change.
    expect(renameSymbol(view)).toBe(true);
    await until(() => !!view.dom.querySelector(".cm-lsp-rename-panel input"));
    const input = view.dom.querySelector<HTMLInputElement>(".cm-lsp-rename-panel input")!;
    expect(input.value).toBe("a");
    input.value = "alu";
    input.form!.requestSubmit();
    await until(() => views.get("rtl/b.v")?.state.doc.toString() === "module b;\n  alu u_a ();\nendmodule\n");
    expect(view.state.doc.toString()).toBe("module alu;\nendmodule\n");
    const renameReq = srv.received.find((m) => m.method === "textDocument/rename")!;
    expect(renameReq.params).toMatchObject({ newName: "alu", position: { line: 0, character: 7 }, textDocument: { uri: A } });

    // The server process ends (sessiond closes with 4001): unhealthy, then healthy again after the reconnect.
    health.length = 0;
    srv.drop(4001, "gatewave-hdl exited");
    await until(() => health.some((h) => h.state === "reconnecting" && h.failures === 1 && h.lastClose?.code === 4001 && !h.ready));
    await until(() => health.at(-1)?.ready === true);
    expect(health.at(-1)).toMatchObject({ state: "open", failures: 0 });
  });
});
