// @vitest-environment happy-dom
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket as WS, WebSocketServer } from "ws";
import { backoffDelay, type LinkState } from "../src/api/socket";
import { LSPPlugin } from "@codemirror/lsp-client";
import { type Diagnostic, incrementalChanges, LspServer, pathFromURI, uriFor } from "../src/lsp/lsp";

beforeAll(() => {
  // happy-dom's WebSocket is not a real client; use ws against the loopback server.
  (globalThis as unknown as { WebSocket: unknown }).WebSocket = WS;
});

describe("workspace URIs", () => {
  const cases = [
    ["main.c", "file:///workspace/main.c"],
    ["rtl/top level.sv", "file:///workspace/rtl/top%20level.sv"],
    ["ü/#x.v", "file:///workspace/%C3%BC/%23x.v"],
  ];
  for (const [path, uri] of cases) {
    it(path, () => {
      expect(uriFor(path)).toBe(uri);
      expect(pathFromURI(uri)).toBe(path);
    });
  }
  it("rejects URIs outside the workspace", () => {
    expect(pathFromURI("file:///etc/passwd")).toBeNull();
    expect(pathFromURI("file:///workspacex/a")).toBeNull();
  });
});

describe("incrementalChanges", () => {
  it("turns a multi-line change set into ranges a server can apply in order", () => {
    const before = "module a;\n  wire x;\n  wire y;\nendmodule\n".repeat(3);
    const st = EditorState.create({ doc: before });
    const tr = st.update({ changes: [{ from: 3, to: 12, insert: "A\nB" }, { from: 20, to: 40 }, { from: before.length, insert: "// end\n" }] });
    const changes = incrementalChanges(st.doc, tr.changes);
    expect(changes.length).toBe(3);
    for (const c of changes) expect("range" in c).toBe(true);
    expect(applyChanges(before, changes)).toBe(tr.newDoc.toString());
  });
});

describe("backoffDelay", () => {
  it("doubles up to the cap", () => {
    const d = [0, 1, 2, 3, 10, 50].map((n) => backoffDelay(n, { initialMs: 100, maxMs: 1000, jitter: 0 }));
    expect(d).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it("stays within the jitter band", () => {
    for (const r of [0, 0.5, 0.999]) {
      const v = backoffDelay(2, { initialMs: 100, maxMs: 10_000, jitter: 0.2 }, () => r);
      expect(v).toBeGreaterThanOrEqual(320);
      expect(v).toBeLessThanOrEqual(480);
    }
  });
});

/** Hover Markdown from a hostile server (or a hostile doc comment it quotes). */
const HOSTILE_HOVER = [
  "**reg** `count` <img src=x onerror=\"window.__pwned=1\">",
  "<script>window.__pwned=2</script><div onclick=\"window.__pwned=3\" style=\"position:fixed\">clickme</div>",
  "[docs](javascript:window.__pwned=4) [ok](https://example.com/a) [obf](JaVa&#x53;cript:alert(1)) <a href=\"java\tscript:alert(1)\">tab</a>",
  "<iframe src=\"https://evil.example\"></iframe><svg onload=\"window.__pwned=5\"><circle/></svg><form action=x><button>go</button></form>",
  "<details open ontoggle=\"window.__pwned=6\">d</details> [data](data:text/html,<script>1</script>)",
  "",
  "```verilog",
  "reg [7:0] count; // <b>not bold</b>",
  "```",
].join("\n");

/** A scripted language server behind a WebSocket, one JSON-RPC message per frame. */
function fakeServer(sync: 1 | 2 = 2) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  const received: { conn: number; msg: any }[] = [];
  const sockets: WS[] = [];
  let conns = 0;
  wss.on("connection", (ws) => {
    const conn = ++conns;
    sockets.push(ws);
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data));
      received.push({ conn, msg });
      if (msg.method === "initialize") {
        ws.send(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result: { capabilities: { textDocumentSync: sync, completionProvider: { triggerCharacters: ["."] }, hoverProvider: true } } }));
      } else if (msg.method === "textDocument/didOpen") {
        ws.send(JSON.stringify({ jsonrpc: "2.0", method: "textDocument/publishDiagnostics", params: { uri: msg.params.textDocument.uri, diagnostics: [{ range: { start: { line: 0, character: 4 }, end: { line: 0, character: 7 } }, severity: 1, message: "use of undeclared identifier 'foo'", source: "clang" }] } }));
      } else if (msg.method === "textDocument/hover") {
        ws.send(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result: { contents: { kind: "markdown", value: HOSTILE_HOVER } } }));
      } else if (msg.method === "textDocument/completion") {
        ws.send(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result: { isIncomplete: false, items: [{ label: "baud" }, { label: "parity" }] } }));
      }
    });
  });
  const port = () => (wss.address() as { port: number }).port;
  return { wss, received, sockets, port, close: () => new Promise<void>((r) => wss.close(() => r())) };
}

/** applyChanges applies LSP contentChanges to text the way a server does (in order; a change without a range replaces all). */
function applyChanges(text: string, changes: { range?: { start: { line: number; character: number }; end: { line: number; character: number } }; text: string }[]): string {
  for (const c of changes) {
    if (!c.range) {
      text = c.text;
      continue;
    }
    const lines = text.split("\n");
    const off = (p: { line: number; character: number }) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
    text = text.slice(0, off(c.range.start)) + c.text + text.slice(off(c.range.end));
  }
  return text;
}

async function until(f: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("LspServer", () => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup = [];
  });

  it("opens documents, collects diagnostics, and reopens them after the server dies", async () => {
    const srv = fakeServer();
    cleanup.push(srv.close);
    const diags: Record<string, Diagnostic[]> = {};
    const notes: string[] = [];
    const states: LinkState[] = [];
    const lsp = new LspServer({
      language: "c",
      url: () => `ws://127.0.0.1:${srv.port()}/api/v1/lsp/c`,
      backoff: { initialMs: 20, maxMs: 100, jitter: 0 },
      hooks: {
        display: async () => null,
        diagnostics: (p, items) => (diags[p] = items),
        notify: (m) => notes.push(m),
        state: (_n, s) => states.push(s),
      },
    });
    cleanup.push(async () => lsp.close());
    const view = new EditorView({ state: EditorState.create({ doc: "int foo;\n", extensions: [lsp.extension("src/main.c", "c")] }), parent: document.body });
    cleanup.push(async () => view.destroy());

    await until(() => srv.received.some((r) => r.msg.method === "textDocument/didOpen"));
    const open1 = srv.received.find((r) => r.msg.method === "textDocument/didOpen")!.msg.params.textDocument;
    expect(open1).toMatchObject({ uri: "file:///workspace/src/main.c", languageId: "c", text: "int foo;\n" });
    const init = srv.received.find((r) => r.msg.method === "initialize")!.msg;
    expect(init.params.rootUri).toBe("file:///workspace");
    expect(srv.received.findIndex((r) => r.msg.method === "initialized")).toBeLessThan(srv.received.findIndex((r) => r.msg.method === "textDocument/didOpen"));
    await until(() => (diags["src/main.c"] ?? []).length === 1);
    expect(diags["src/main.c"][0]).toMatchObject({ line: 1, character: 5, severity: "error", message: "use of undeclared identifier 'foo'" });

    // Edits are sent as incremental changes (the server asked for them: textDocumentSync 2), even for a small document.
    view.dispatch({ changes: [{ from: 0, insert: "// x\n" }, { from: 4, to: 7, insert: "count" }] });
    await until(() => srv.received.some((r) => r.msg.method === "textDocument/didChange"));
    const change = srv.received.find((r) => r.msg.method === "textDocument/didChange")!.msg.params;
    expect(change.textDocument.version).toBeGreaterThan(open1.version);
    // In the order a server applies them, each against the text the previous one left.
    expect(change.contentChanges).toEqual([
      { range: { start: { line: 0, character: 4 }, end: { line: 0, character: 7 } }, text: "count" },
      { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: "// x\n" },
    ]);
    expect(applyChanges("int foo;\n", change.contentChanges)).toBe(view.state.doc.toString());

    // The language server dies: sessiond closes with 4001 after a showMessage.
    srv.sockets[0].send(JSON.stringify({ jsonrpc: "2.0", method: "window/showMessage", params: { type: 1, message: "clangd exited with status 1" } }));
    srv.sockets[0].close(4001, "clangd exited");
    await until(() => notes.some((n) => /stopped: clangd exited/.test(n)));
    expect(notes.some((n) => /clangd exited with status 1/.test(n))).toBe(true);
    expect(diags["src/main.c"]).toEqual([]); // stale diagnostics are cleared

    // It reconnects by itself, re-initializes and reopens the current text.
    view.dispatch({ changes: { from: view.state.doc.length, insert: "int bar;\n" } });
    await until(() => srv.received.some((r) => r.conn === 2 && r.msg.method === "textDocument/didOpen"));
    const conn2 = srv.received.filter((r) => r.conn === 2).map((r) => r.msg.method);
    expect(conn2.slice(0, 3)).toEqual(["initialize", "initialized", "textDocument/didOpen"]);
    const open2 = srv.received.find((r) => r.conn === 2 && r.msg.method === "textDocument/didOpen")!.msg.params.textDocument;
    expect(open2.text).toBe("// x\nint count;\nint bar;\n");
    expect(open2.version).toBeGreaterThan(open1.version);
    expect(states).toContain("reconnecting");
    expect(states.at(-1)).toBe("open");

    // Requests work on the new connection.
    const res = await lsp.client.request<unknown, { items: { label: string }[] }>("textDocument/completion", { textDocument: { uri: "file:///workspace/src/main.c" }, position: { line: 0, character: 0 } });
    expect(res.items.map((i) => i.label)).toEqual(["baud", "parity"]);
  });

  it("sends the whole text when the server asks for full sync", async () => {
    const srv = fakeServer(1);
    cleanup.push(srv.close);
    const lsp = new LspServer({
      language: "c",
      url: () => `ws://127.0.0.1:${srv.port()}/`,
      hooks: { display: async () => null, diagnostics: () => {}, notify: () => {}, state: () => {} },
    });
    cleanup.push(async () => lsp.close());
    const view = new EditorView({ state: EditorState.create({ doc: "int foo;\n", extensions: [lsp.extension("src/main.c", "c")] }), parent: document.body });
    cleanup.push(async () => view.destroy());
    await until(() => srv.received.some((r) => r.msg.method === "textDocument/didOpen"));
    view.dispatch({ changes: { from: 0, insert: "// x\n" } });
    await until(() => srv.received.some((r) => r.msg.method === "textDocument/didChange"));
    expect(srv.received.find((r) => r.msg.method === "textDocument/didChange")!.msg.params.contentChanges).toEqual([{ text: "// x\nint foo;\n" }]);
  });

  it("renders hostile hover Markdown without raw HTML, scripts, handlers or javascript: links", async () => {
    const srv = fakeServer();
    cleanup.push(srv.close);
    const lsp = new LspServer({
      language: "c",
      url: () => `ws://127.0.0.1:${srv.port()}/`,
      hooks: { display: async () => null, diagnostics: () => {}, notify: () => {}, state: () => {} },
    });
    cleanup.push(async () => lsp.close());
    const view = new EditorView({ state: EditorState.create({ doc: "int count;\n", extensions: [lsp.extension("src/main.c", "c")] }), parent: document.body });
    cleanup.push(async () => view.destroy());
    await until(() => srv.received.some((r) => r.msg.method === "textDocument/didOpen"));
    const hover = await lsp.client.request<unknown, { contents: { kind: "markdown"; value: string } }>("textDocument/hover", { textDocument: { uri: "file:///workspace/src/main.c" }, position: { line: 0, character: 5 } });
    // What the hover tooltip puts into its innerHTML.
    const plugin = LSPPlugin.get(view)!;
    const el = document.createElement("div");
    el.innerHTML = plugin.docToHTML(hover.contents);
    document.body.append(el);
    cleanup.push(async () => el.remove());
    expect(el.querySelector("strong")?.textContent).toBe("reg"); // Markdown still renders
    expect(el.querySelector("pre")?.textContent).toContain("<b>not bold</b>");
    expect(el.querySelectorAll("script, img, iframe, svg, form, button, style, details").length).toBe(0);
    for (const e of el.querySelectorAll("*")) {
      for (const a of e.attributes) {
        expect(a.name).not.toMatch(/^on/i);
        expect(a.name).not.toBe("style");
        expect(a.value).not.toMatch(/^\s*(javascript|data|vbscript):/i);
      }
    }
    const links = [...el.querySelectorAll("a")].map((a) => [a.textContent, a.getAttribute("href")]);
    expect(links).toContainEqual(["ok", "https://example.com/a"]);
    for (const [text, href] of links) if (text !== "ok") expect(href).toBeNull();
    expect(el.querySelector("a[href]")?.getAttribute("rel")).toMatch(/noopener/);
    expect(el.textContent).toContain("clickme"); // the text of an unsafe element is kept, the element is not
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("closes the document when the editor goes away", async () => {
    const srv = fakeServer();
    cleanup.push(srv.close);
    const lsp = new LspServer({
      language: "c",
      url: () => `ws://127.0.0.1:${srv.port()}/`,
      hooks: { display: async () => null, diagnostics: () => {}, notify: () => {}, state: () => {} },
    });
    cleanup.push(async () => lsp.close());
    const view = new EditorView({ state: EditorState.create({ doc: "x", extensions: [lsp.extension("a.c", "c")] }), parent: document.body });
    await until(() => srv.received.some((r) => r.msg.method === "textDocument/didOpen"));
    view.destroy();
    await until(() => srv.received.some((r) => r.msg.method === "textDocument/didClose"));
    expect(srv.received.find((r) => r.msg.method === "textDocument/didClose")!.msg.params.textDocument.uri).toBe("file:///workspace/a.c");
  });
});
