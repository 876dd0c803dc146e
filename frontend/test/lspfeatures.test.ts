// @vitest-environment happy-dom
// The pure parts of the LSP feature modules: token decoding, hint
// placement, edits, folds, symbols, the status text and the hierarchy rows.
import { Text } from "@codemirror/state";
import { describe, expect, it } from "vitest";
import type { LspLanguage } from "../src/api/sessiond";
import { sortActions } from "../src/lsp/actions";
import { offsetAt, positionAt } from "../src/lsp/context";
import { applyToText, changesFor, editsByURI } from "../src/lsp/edits";
import { foldAt, foldsFor } from "../src/lsp/folding";
import { placeHints } from "../src/lsp/inlay";
import type { LspHealth } from "../src/lsp/lsp";
import { renameTarget } from "../src/lsp/rename";
import { decodeTokens, tokenClass, tokenRanges } from "../src/lsp/semantic";
import { failuresBeforeAdvice, serverFor, statusFor } from "../src/lsp/status";
import { flattenSymbols, referenceRows, workspaceSymbols } from "../src/lsp/symbols";
import { defaultExpanded, type HierarchyResult, paramSuffix, renderRows } from "../src/ui/hierarchy";
import { filterItems, matchScore } from "../src/ui/quickpick";

const doc = (s: string) => Text.of(s.split("\n"));
const pos = (line: number, character: number) => ({ line, character });
const range = (l1: number, c1: number, l2: number, c2: number) => ({ start: pos(l1, c1), end: pos(l2, c2) });

describe("positions", () => {
  const d = doc("module m;\n  wire x;\nendmodule");
  it("clamps the way LSP says", () => {
    expect(offsetAt(d, pos(1, 2))).toBe(12);
    expect(offsetAt(d, pos(1, 999))).toBe(d.line(2).to); // past the line's end: its end
    expect(offsetAt(d, pos(99, 0))).toBe(d.length); // past the last line: the document's end
    expect(offsetAt(d, pos(-1, 5))).toBe(0);
    expect(positionAt(d, 12)).toEqual(pos(1, 2));
  });
  it("counts UTF-16 code units, like CodeMirror", () => {
    const u = doc("// é😀x\nwire y;");
    expect(offsetAt(u, pos(0, 6))).toBe(6); // "// é" is 4 units, the emoji 2
    expect(u.sliceString(6, 7)).toBe("x");
  });
});

describe("semantic tokens", () => {
  const legend = { tokenTypes: ["keyword", "variable", "class", "comment", "parameter"], tokenModifiers: ["declaration", "readonly", "inactive"] };
  it("decodes the relative encoding with the legend", () => {
    // line 0 col 0 len 6 keyword; line 0 col 7 len 3 class+declaration;
    // line 2 col 2 len 4 variable readonly|declaration; line 2 col 8 len 1 parameter
    const data = [0, 0, 6, 0, 0, 0, 7, 3, 2, 1, 2, 2, 4, 1, 3, 0, 6, 1, 4, 0];
    expect(decodeTokens(data, legend)).toEqual([
      { line: 0, character: 0, length: 6, type: "keyword", modifiers: [] },
      { line: 0, character: 7, length: 3, type: "class", modifiers: ["declaration"] },
      { line: 2, character: 2, length: 4, type: "variable", modifiers: ["declaration", "readonly"] },
      { line: 2, character: 8, length: 1, type: "parameter", modifiers: [] },
    ]);
  });
  it("drops types outside the legend and ignores a truncated tail", () => {
    expect(decodeTokens([0, 0, 1, 9, 0, 1, 0, 2, 1, 0, 0, 1], legend)).toEqual([{ line: 1, character: 0, length: 2, type: "variable", modifiers: [] }]);
  });
  it("names classes after type and modifiers", () => {
    expect(tokenClass({ type: "comment", modifiers: ["inactive"] })).toBe("cm-sem-comment cm-sem-mod-inactive");
    expect(tokenClass({ type: "enumMember", modifiers: ["declaration", "readonly"] })).toBe("cm-sem-enumMember cm-sem-mod-declaration cm-sem-mod-readonly");
  });
  it("places tokens in the document, never past a line's end", () => {
    const d = doc("module fifo;\n`ifdef X\n  wire a;\n`endif");
    const toks = decodeTokens([0, 0, 6, 0, 0, 0, 7, 4, 2, 1, 2, 0, 10, 3, 4], legend);
    const r = tokenRanges(d, toks);
    expect(r.map((x) => [d.sliceString(x.from, x.to), x.cls])).toEqual([
      ["module", "cm-sem-keyword"],
      ["fifo", "cm-sem-class cm-sem-mod-declaration"],
      ["  wire a;", "cm-sem-comment cm-sem-mod-inactive"], // length 10 clamped to the line
    ]);
  });
});

describe("inlay hints", () => {
  const d = doc("fifo u_fifo (\n  .clk(clk_i),\n  .data(d)\n);");
  it("maps positions and labels, in position order", () => {
    const hints = placeHints(d, [
      { position: pos(2, 8), label: "in [7:0]", kind: 2, paddingRight: true },
      { position: pos(1, 7), label: [{ value: "in " }, { value: "wire", tooltip: "net type" }], kind: 2, tooltip: "input clk" },
      { position: pos(1, 7), label: "second at same spot" },
      { position: pos(0, 4), label: "", kind: 1 },
    ]);
    expect(hints.map((h) => [d.sliceString(h.pos - 5, h.pos), h.text, h.kind])).toEqual([
      [".clk(", "in wire", "parameter"],
      [".clk(", "second at same spot", "other"],
      ["data(", "in [7:0]", "parameter"],
    ]);
    expect(hints[0].title).toBe("input clk");
    expect(hints[2].padRight).toBe(true);
    expect(hints[2].padLeft).toBe(false);
  });
  it("clamps hints past the end", () => {
    expect(placeHints(d, [{ position: pos(40, 0), label: "x", kind: 1 }])[0].pos).toBe(d.length);
  });
});

describe("workspace edits", () => {
  const a = "file:///workspace/rtl/a.v", b = "file:///workspace/rtl/b.v";
  it("flattens changes and documentChanges, listing file operations it skips", () => {
    expect(editsByURI({ changes: { [a]: [{ range: range(0, 0, 0, 1), newText: "x" }], [b]: [] } }).files.map((f) => f.uri)).toEqual([a]);
    const r = editsByURI({
      documentChanges: [
        { textDocument: { uri: a, version: 3 }, edits: [{ range: range(0, 0, 0, 0), newText: "1" }] },
        { kind: "create", uri: "file:///workspace/new.v" },
        { textDocument: { uri: a, version: 3 }, edits: [{ range: range(0, 1, 0, 1), newText: "2" }] },
      ],
      changes: { [b]: [{ range: range(0, 0, 0, 0), newText: "ignored: documentChanges wins" }] },
    });
    expect(r.files).toEqual([{ uri: a, version: 3, edits: [{ range: range(0, 0, 0, 0), newText: "1" }, { range: range(0, 1, 0, 1), newText: "2" }] }]);
    expect(r.skipped).toEqual(["create file:///workspace/new.v"]);
  });
  it("applies edits that all refer to the original text, in any order", () => {
    const d = doc("fifo u (\n  .clk(clk)\n);");
    const out = applyToText(d, [
      { range: range(1, 11, 1, 11), newText: ",\n  .rst(rst)" },
      { range: range(0, 5, 0, 6), newText: "u_fifo" },
      { range: range(1, 11, 1, 11), newText: ",\n  .en(en)" }, // same spot: after the first, as sent
      { range: range(2, 0, 2, 0), newText: "" },
    ]);
    expect(out.toString()).toBe("fifo u_fifo (\n  .clk(clk),\n  .rst(rst),\n  .en(en)\n);");
  });
  it("declares a signal at a line start and renames across lines", () => {
    const d = doc("module m;\n  assign y = x;\n  assign z = x;\nendmodule");
    expect(applyToText(d, [{ range: range(1, 0, 1, 0), newText: "  logic x;\n" }]).toString()).toBe("module m;\n  logic x;\n  assign y = x;\n  assign z = x;\nendmodule");
    expect(applyToText(d, [{ range: range(1, 13, 1, 14), newText: "a" }, { range: range(2, 13, 2, 14), newText: "a" }]).toString()).toContain("z = a;");
  });
  it("maps edits through typing done after the request", () => {
    const d = doc("wire a;\nwire b;");
    // The user typed "// " at the start after the server computed the edit.
    const typed = (p: number, assoc: number) => (p === 0 && assoc < 0 ? 0 : p + 3);
    expect(changesFor(d, [{ range: range(1, 5, 1, 6), newText: "c" }], typed)).toEqual([{ from: 16, to: 17, insert: "c" }]);
  });
});

describe("code actions", () => {
  it("puts preferred first and disabled last", () => {
    const list = sortActions([
      { title: "Disabled", disabled: { reason: "no" } },
      { title: "Declare signal x", kind: "quickfix" },
      { title: "Run", command: "hdl.run" },
      { title: "Add the missing port connections", kind: "quickfix", isPreferred: true },
    ]);
    expect(list.map((a) => a.title)).toEqual(["Add the missing port connections", "Declare signal x", "Run", "Disabled"]);
  });
});

describe("folding ranges", () => {
  const d = doc("module m;\n  always @* begin\n    a = b;\n  end\nendmodule");
  it("folds from the start line's end to the end line's end", () => {
    const f = foldsFor(d, [{ startLine: 1, endLine: 2 }, { startLine: 0, endLine: 3 }, { startLine: 3, endLine: 2 }, { startLine: 9, endLine: 10 }]);
    expect(f.map((x) => d.sliceString(x.from, x.to))).toEqual(["\n  always @* begin\n    a = b;\n  end", "\n    a = b;"]);
  });
  it("honours start and end characters", () => {
    const f = foldsFor(d, [{ startLine: 1, startCharacter: 17, endLine: 3, endCharacter: 2 }]);
    expect(d.sliceString(f[0].from, f[0].to)).toBe("\n    a = b;\n  ");
  });
  it("finds the outermost fold starting on a line", () => {
    const f = foldsFor(d, [{ startLine: 1, endLine: 2 }, { startLine: 1, endLine: 3 }, { startLine: 0, endLine: 3 }]);
    const l2 = d.line(2);
    expect(foldAt(f, l2.from, l2.to)).toEqual({ from: l2.to, to: d.line(4).to });
    expect(foldAt(f, d.line(3).from, d.line(3).to)).toBeNull();
  });
});

describe("symbols", () => {
  it("flattens the hierarchical outline with containers", () => {
    const s = flattenSymbols([
      { name: "top", kind: 2, range: range(0, 0, 9, 9), selectionRange: range(0, 7, 0, 10), children: [
        { name: "clk", kind: 7, detail: "input", range: range(1, 0, 1, 9), selectionRange: range(1, 8, 1, 11) },
        { name: "u_core", kind: 13, range: range(3, 0, 5, 0), selectionRange: range(3, 5, 3, 11), children: [{ name: "x", kind: 13, range: range(4, 0, 4, 1), selectionRange: range(4, 0, 4, 1) }] },
      ] },
    ]);
    expect(s.map((x) => [x.name, x.container, x.position.line, x.position.character])).toEqual([
      ["top", "", 0, 7], ["clk", "top", 1, 8], ["u_core", "top", 3, 5], ["x", "top › u_core", 4, 0],
    ]);
    expect(s[1].detail).toBe("input");
  });
  it("takes flat SymbolInformation and WorkspaceSymbol", () => {
    const loc = { uri: "file:///workspace/a.v", range: range(2, 3, 2, 4) };
    expect(flattenSymbols([{ name: "a", kind: 13, location: loc, containerName: "m" }])[0]).toMatchObject({ name: "a", container: "m", uri: loc.uri, position: pos(2, 3) });
    expect(workspaceSymbols([{ name: "b", kind: 2, location: { uri: "file:///workspace/b.v" } }])[0]).toMatchObject({ uri: "file:///workspace/b.v", position: pos(0, 0) });
  });
  it("lists references with their line text, sorted by file and line", () => {
    const rows = referenceRows([
      { uri: "file:///workspace/rtl/z.v", range: range(1, 2, 1, 3) },
      { uri: "file:///workspace/rtl/a.v", range: range(0, 0, 0, 1) },
      { uri: "file:///workspace/rtl/gone.v", range: range(0, 0, 0, 1) },
    ], new Map([["file:///workspace/rtl/z.v", doc("x\n  fifo u ();")], ["file:///workspace/rtl/a.v", doc("fifo")]]));
    expect(rows.map((r) => [r.path, r.line, r.text])).toEqual([["rtl/a.v", 1, "fifo"], ["rtl/gone.v", 1, ""], ["rtl/z.v", 2, "fifo u ();"]]);
  });
  it("filters by subsequence, prefix first", () => {
    expect(matchScore("ff", "fifo")).not.toBeNull();
    expect(matchScore("xyz", "fifo")).toBeNull();
    // Prefix, then substrings (earlier first), then scattered matches.
    expect(filterItems(["u_fifo", "fifo", "f_i_f_o", "afifo_b"], "fifo", (s) => s)).toEqual(["fifo", "afifo_b", "u_fifo", "f_i_f_o"]);
  });
});

describe("rename", () => {
  const d = doc("wire data_q;");
  it("reads each prepareRename answer", () => {
    expect(renameTarget(d, range(0, 5, 0, 11), null)).toEqual({ from: 5, to: 11, name: "data_q" });
    expect(renameTarget(d, { range: range(0, 5, 0, 11), placeholder: "data" }, null)).toEqual({ from: 5, to: 11, name: "data" });
    expect(renameTarget(d, { defaultBehavior: true }, { from: 0, to: 4 })).toEqual({ from: 0, to: 4, name: "wire" });
    expect(renameTarget(d, null, { from: 0, to: 4 })).toBeNull();
  });
});

describe("language server status", () => {
  const hdl: LspLanguage = { id: "hdl", command: "gatewave-hdl", extensions: [".v", ".vh", ".sv", ".svh", ".vhd", ".vhdl"], available: true };
  const c: LspLanguage = { id: "c", command: "clangd", extensions: [".c", ".h"], available: true };
  const vhdlMissing: LspLanguage = { id: "vhdl", command: "vhdl_ls", extensions: [".vhd", ".vhdl"], available: false };
  const verilogMissing: LspLanguage = { id: "verilog", command: "verible-verilog-ls", extensions: [".v", ".vh"], available: false };
  const open: LspHealth = { state: "open", ready: true, failures: 0 };
  const health = (h: Record<string, LspHealth>) => new Map(Object.entries(h));

  it("prefers an available server over a configured missing one", () => {
    expect(serverFor("rtl/top.v", "verilog", [verilogMissing, hdl])?.id).toBe("hdl");
    expect(serverFor("rtl/top.v", "verilog", [verilogMissing])?.id).toBe("verilog");
    expect(serverFor("README.md", "markdown", [hdl, c])).toBeNull();
  });
  it("names the running server", () => {
    expect(statusFor("rtl/top.sv", [hdl, c], health({ hdl: open }))).toMatchObject({ text: "HDL: gatewave-hdl", level: "ok" });
    expect(statusFor("src/main.c", [hdl, c], health({ hdl: open, c: open }))).toMatchObject({ text: "C: clangd", level: "ok" });
    expect(statusFor("src/main.c", [c], health({}))).toMatchObject({ text: "C: clangd (starting)", level: "info" });
    expect(statusFor("src/main.c", [c], health({ c: { state: "open", ready: false, failures: 0 } })).text).toBe("C: clangd (starting)");
  });
  it("says what to install when the binary is missing", () => {
    const s = statusFor("rtl/alu.vhd", [vhdlMissing], health({}));
    expect(s).toMatchObject({ text: "No language server for VHDL: `vhdl_ls` is not installed", level: "warn" });
    expect(s.detail).toContain("Install vhdl_ls");
    expect(s.detail).toContain(".ide/languages.toml");
  });
  it("reports a stopped server, then what to do when it keeps failing", () => {
    const stopped = { state: "reconnecting", ready: false, failures: 1, lastClose: { code: 4001, reason: "gatewave-hdl exited with status 2" } } as const;
    expect(statusFor("rtl/top.v", [hdl], health({ hdl: stopped }))).toMatchObject({ text: "HDL language server stopped — reconnecting", level: "warn" });
    const s = statusFor("rtl/top.v", [hdl], health({ hdl: { ...stopped, failures: failuresBeforeAdvice } }));
    expect(s).toMatchObject({ text: "HDL language server is not running", level: "error" });
    expect(s.detail).toContain("gatewave-hdl exited with status 2");
    expect(s.detail).toContain("gatewave-hdl --version");
  });
  it("is quiet for plain text and says when a known language has no server", () => {
    expect(statusFor("notes.txt", [hdl], health({})).text).toBe("");
    expect(statusFor(null, [hdl], health({})).text).toBe("");
    expect(statusFor("rtl/top.v", null, health({})).text).toBe("");
    expect(statusFor("doc/README.md", [hdl], health({}))).toMatchObject({ text: "Markdown: no language server", level: "info" });
  });
});

describe("design hierarchy rows", () => {
  const r = (l: number) => range(l, 0, l, 1);
  const result: HierarchyResult = {
    tops: [{
      name: "top", module: "top", uri: "file:///workspace/rtl/top.sv", range: r(0), children: [
        { name: "u_core", module: "core", uri: "file:///workspace/rtl/top.sv", range: r(5), params: [{ name: "WIDTH", value: "8" }, { name: "DEPTH", value: "16" }], children: [
          { name: "u_fifo", module: "fifo", uri: "file:///workspace/rtl/core.sv", range: r(9), children: [] },
          { name: "u_ghost", module: "ghost", uri: "file:///workspace/rtl/core.sv", range: r(12), children: [], missing: true },
        ] },
      ],
    }, { name: "tb", module: "tb", uri: "file:///workspace/tb/tb.sv", range: r(0), children: [] }],
  };
  const draw = (expanded: string[]) => {
    const el = document.createElement("div");
    const toggled: string[] = [], opened: string[] = [];
    renderRows(el, result, new Set(expanded), { toggle: (p) => toggled.push(p), open: (n) => opened.push(`${n.uri}:${n.range.start.line}`) });
    return { el, toggled, opened };
  };
  it("draws tops and the children of expanded nodes", () => {
    const { el } = draw(defaultExpanded(result));
    expect([...el.querySelectorAll("[data-hier-path]")].map((e) => e.getAttribute("data-hier-path"))).toEqual(["top", "top/u_core", "tb"]);
    const core = el.querySelector('[data-hier-path="top/u_core"]')!;
    expect(core.textContent).toBe("▸u_core : core #(WIDTH=8, DEPTH=16)");
    expect(core.getAttribute("aria-expanded")).toBe("false");
    expect(el.querySelector('[data-hier-path="top"]')!.textContent).toBe("▾top"); // a top is its module
    expect(el.querySelector('[data-hier-path="tb"]')!.hasAttribute("aria-expanded")).toBe(false);
  });
  it("marks missing modules and opens where an instance is written", () => {
    const { el, toggled, opened } = draw(["top", "top/u_core"]);
    const ghost = el.querySelector<HTMLElement>('[data-hier-path="top/u_core/u_ghost"]')!;
    expect(ghost.classList.contains("missing")).toBe(true);
    expect(ghost.title).toBe("Module ghost is not found in the workspace");
    el.querySelector<HTMLElement>('[data-hier-path="top/u_core/u_fifo"]')!.click();
    expect(opened).toEqual(["file:///workspace/rtl/core.sv:9"]);
    el.querySelector<HTMLElement>('[data-hier-path="top/u_core"] .twisty')!.click();
    expect(toggled).toEqual(["top/u_core"]);
    expect(opened).toHaveLength(1); // the twisty only toggles
  });
  it("formats parameters", () => {
    expect(paramSuffix(undefined)).toBe("");
    expect(paramSuffix([{ name: "W", value: "4'b1010" }])).toBe("#(W=4'b1010)");
  });
});
