// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FlatSymbol } from "../src/lsp/symbols";
import {
  Commands, type Command, type FileMatch, fileRow, fuzzyMatch, ideCommands, type IdeActions, matchesShortcut, modeOf, Palette,
  type PaletteHooks, parseGoto, parseShortcut, rankCommands,
} from "../src/ui/palette";

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const keydown = (init: KeyboardEventInit, target: EventTarget = window) => {
  const e = new KeyboardEvent("keydown", { bubbles: true, cancelable: true, ...init });
  target.dispatchEvent(e);
  return e;
};

describe("shortcuts", () => {
  it("parse modifiers and the key", () => {
    expect(parseShortcut("Ctrl+Shift+P")).toEqual({ ctrl: true, shift: true, alt: false, key: "p" });
    expect(parseShortcut("Ctrl+`")).toEqual({ ctrl: true, shift: false, alt: false, key: "`" });
    expect(parseShortcut("Shift+F12")).toEqual({ ctrl: false, shift: true, alt: false, key: "f12" });
    expect(parseShortcut("Ctrl++").key).toBe("+");
    expect(() => parseShortcut("Hyper+P")).toThrow(/unknown modifier/);
  });

  it("match exactly: modifiers must agree, Cmd counts as Ctrl, letters by physical key too", () => {
    const ev = (o: Partial<KeyboardEvent>) => ({ key: "", code: "", ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...o });
    expect(matchesShortcut(ev({ key: "p", ctrlKey: true }), "Ctrl+P")).toBe(true);
    expect(matchesShortcut(ev({ key: "p", metaKey: true }), "Ctrl+P")).toBe(true);
    expect(matchesShortcut(ev({ key: "P", ctrlKey: true, shiftKey: true }), "Ctrl+P")).toBe(false);
    expect(matchesShortcut(ev({ key: "P", ctrlKey: true, shiftKey: true }), "Ctrl+Shift+P")).toBe(true);
    expect(matchesShortcut(ev({ key: "p" }), "Ctrl+P")).toBe(false);
    // macOS: Alt+W types "∑", the code is still KeyW.
    expect(matchesShortcut(ev({ key: "∑", code: "KeyW", ctrlKey: true, altKey: true }), "Ctrl+Alt+W")).toBe(true);
    expect(matchesShortcut(ev({ key: "F12", shiftKey: true }), "Shift+F12")).toBe(true);
  });
});

describe("Commands", () => {
  afterEach(() => document.body.replaceChildren());

  it("refuses a duplicate id and a malformed shortcut", () => {
    const c = new Commands();
    c.add({ id: "a", title: "A", run: () => {} });
    expect(() => c.add({ id: "a", title: "A again", run: () => {} })).toThrow(/twice/);
    expect(() => c.add({ id: "b", title: "B", shortcut: "Meta-Q", run: () => {} })).toThrow(/shortcut/);
  });

  it("runs the command bound to a key, prevents the browser's default, and leaves keys the editor handled", () => {
    const c = new Commands();
    const ran: string[] = [];
    let canWave = false;
    c.add(
      { id: "save", title: "Save", shortcut: "Ctrl+S", run: () => ran.push("save") },
      { id: "outline", title: "Outline", shortcut: "Ctrl+Shift+O", editorKey: true, run: () => ran.push("outline") },
      { id: "wave", title: "Wave", shortcut: "Ctrl+Alt+W", enabled: () => canWave, run: () => ran.push("wave") },
    );
    const off = (e: KeyboardEvent) => c.handleKey(e);
    window.addEventListener("keydown", off);
    try {
      expect(keydown({ key: "s", ctrlKey: true }).defaultPrevented).toBe(true);
      expect(ran).toEqual(["save"]);
      // The editor's keymap saved already (and prevented the default): not twice.
      const input = document.body.appendChild(document.createElement("input"));
      input.addEventListener("keydown", (e) => e.preventDefault());
      keydown({ key: "s", ctrlKey: true }, input);
      expect(ran).toEqual(["save"]);
      // An editor-bound shortcut is only shown.
      expect(keydown({ key: "O", ctrlKey: true, shiftKey: true }).defaultPrevented).toBe(false);
      // Disabled: the key passes through.
      expect(keydown({ key: "w", code: "KeyW", ctrlKey: true, altKey: true }).defaultPrevented).toBe(false);
      canWave = true;
      keydown({ key: "w", code: "KeyW", ctrlKey: true, altKey: true });
      expect(ran).toEqual(["save", "wave"]);
      expect(c.run("outline")).toBe(true);
      expect(c.run("nope")).toBe(false);
      expect(ran).toEqual(["save", "wave", "outline"]);
    } finally {
      window.removeEventListener("keydown", off);
    }
  });

  it("ideCommands: every action once, each shortcut parses and binds one command, the old keybindings are there", () => {
    const calls: string[] = [];
    const a = new Proxy({}, { get: (_t, k) => (k === "hasEditor" || k === "canAddToWaves" ? () => true : (...args: unknown[]) => calls.push([String(k), ...args].join(" "))) }) as IdeActions;
    const cmds = ideCommands(a, () => ({ open: (m: string) => calls.push("palette " + m) }) as unknown as Palette);
    const reg = new Commands();
    reg.add(...cmds); // throws on a duplicate id or a bad shortcut
    const bound = cmds.filter((c) => c.shortcut).map((c) => JSON.stringify(parseShortcut(c.shortcut!)));
    expect(new Set(bound).size).toBe(bound.length);
    const byKey = Object.fromEntries(cmds.filter((c) => c.shortcut).map((c) => [c.shortcut, c.id]));
    expect(byKey).toMatchObject({ "Ctrl+S": "file.save", "Ctrl+`": "view.terminal", "Ctrl+Shift+B": "build.run", "Ctrl+Alt+W": "waves.add", "Ctrl+P": "palette.files", "Ctrl+Shift+P": "palette.commands", "Ctrl+T": "palette.symbols" });
    reg.run("build.run");
    reg.run("view.terminal");
    reg.run("palette.commands");
    reg.run("editor.rename");
    expect(calls).toEqual(["build", "showPanel terminal", "palette commands", "editor rename"]);
  });
});

describe("query parsing and rows", () => {
  it("parseGoto splits path:line[:col] and compiler-style path(line,col)", () => {
    expect(parseGoto("app.ts:12")).toEqual({ query: "app.ts", line: 12, column: undefined });
    expect(parseGoto("src/app.ts:12:5")).toEqual({ query: "src/app.ts", line: 12, column: 5 });
    expect(parseGoto("top.v(30,2)")).toEqual({ query: "top.v", line: 30, column: 2 });
    expect(parseGoto("app.ts:")).toEqual({ query: "app.ts" });
    expect(parseGoto(":7")).toEqual({ query: "", line: 7, column: undefined });
    expect(parseGoto("plain")).toEqual({ query: "plain" });
  });

  it("modeOf reads the prefix", () => {
    expect(modeOf("> build")).toEqual({ mode: "commands", rest: "build" });
    expect(modeOf("#fifo")).toEqual({ mode: "symbols", rest: "fifo" });
    expect(modeOf("app")).toEqual({ mode: "files", rest: "app" });
  });

  it("fileRow puts the base name first and splits the matched positions", () => {
    expect(fileRow({ path: "src/ui/palette.ts", score: 1, positions: [4, 7, 8, 9] })).toEqual({
      label: "palette.ts", labelMatches: [0, 1, 2], detail: "src/ui", detailMatches: [4],
    });
    expect(fileRow({ path: "Makefile", score: 1, positions: [0] })).toEqual({ label: "Makefile", labelMatches: [0], detail: undefined, detailMatches: [] });
  });

  it("fuzzyMatch prefers a run at a word start, then initials", () => {
    expect(fuzzyMatch("term", "View: Show Terminal")?.positions).toEqual([11, 12, 13, 14]);
    expect(fuzzyMatch("sac", "Show All Commands")?.positions).toEqual([0, 5, 9]);
    expect(fuzzyMatch("xyz", "Show All Commands")).toBeNull();
    const cmds: Command[] = ["Build: Run Build", "View: Show Build Report", "Show All Commands", "File: Save"].map((title, i) => ({ id: "c" + i, title, run: () => {} }));
    expect(rankCommands(cmds, "build").map((r) => r.cmd.title)).toEqual(["Build: Run Build", "View: Show Build Report"]);
    expect(rankCommands(cmds, "").length).toBe(4);
    expect(rankCommands([{ id: "d", title: "Build", enabled: () => false, run: () => {} }], "")).toEqual([]);
  });
});

describe("Palette", () => {
  afterEach(() => document.body.replaceChildren());

  const setup = (over: Partial<PaletteHooks> = {}) => {
    const opened: unknown[][] = [];
    const queries: string[] = [];
    const commands = new Commands();
    const ran: string[] = [];
    commands.add({ id: "build.run", title: "Build: Run Build", shortcut: "Ctrl+Shift+B", run: () => ran.push("build") }, { id: "view.terminal", title: "View: Show Terminal", shortcut: "Ctrl+`", run: () => ran.push("terminal") });
    const files: FileMatch[] = [{ path: "src/ui/palette.ts", score: 9, positions: [7, 8, 9] }, { path: "test/palette.test.ts", score: 8, positions: [5, 6, 7] }];
    const hooks: PaletteHooks = {
      commands,
      files: async (q) => (queries.push(q), q ? files : []),
      open: (...args) => opened.push(args),
      activePath: () => "src/app.ts",
      symbols: async () => null,
      openSymbol: (s) => opened.push(["symbol", s.name]),
      ...over,
    };
    return { palette: new Palette(hooks), opened, queries, ran };
  };
  const box = () => document.querySelector('[data-testid="palette"]') as HTMLElement;
  const type = async (text: string) => {
    const input = box().querySelector("input")!;
    input.value = text;
    input.dispatchEvent(new Event("input"));
    await tick(40);
  };
  const enter = async () => {
    keydown({ key: "Enter" }, box().querySelector("input")!);
    await tick();
  };

  it("quick open: a fuzzy query lists files with the matched characters marked; path:line opens at the line", async () => {
    const { palette, opened, queries } = setup();
    palette.open("files");
    await type("pal:12");
    expect(queries.at(-1)).toBe("pal");
    const first = box().querySelector(".quick-pick-item")!;
    expect([...first.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["pal"]);
    expect(first.querySelector(".qp-detail")!.textContent).toBe("src/ui");
    expect(first.querySelector(".qp-hint")!.textContent).toBe(":12");
    keydown({ key: "ArrowDown" }, box().querySelector("input")!);
    await enter();
    expect(opened).toEqual([["test/palette.test.ts", 12, undefined]]);
    expect(box()).toBeNull();
    expect(palette.isOpen).toBe(false);
  });

  it(":line goes to a line of the active file", async () => {
    const { palette, opened } = setup();
    palette.open("files");
    await type(":40:3");
    expect(box().querySelector(".quick-pick-item")!.textContent).toBe("Go to line 40, column 3");
    await enter();
    expect(opened).toEqual([["src/app.ts", 40, 3]]);
  });

  it("the command palette lists commands with their shortcuts and runs the picked one; '>' switches modes", async () => {
    const { palette, ran } = setup();
    palette.open("commands");
    expect(box().querySelector("input")!.value).toBe(">");
    await tick(40);
    expect(box().querySelector(".quick-pick-title")!.textContent).toBe("Command Palette");
    const rows = [...box().querySelectorAll(".quick-pick-item")].map((li) => [li.querySelector(".qp-label")!.textContent, li.querySelector(".qp-hint")?.textContent]);
    expect(rows).toEqual([["Build: Run Build", "Ctrl+Shift+B"], ["View: Show Terminal", "Ctrl+`"]]);
    await type(">term");
    await enter();
    expect(ran).toEqual(["terminal"]);
    // Typing '>' into quick open turns it into the command palette.
    palette.open("files");
    await type("> build");
    expect(box().querySelector(".quick-pick-title")!.textContent).toBe("Command Palette");
    await enter();
    expect(ran).toEqual(["terminal", "build"]);
  });

  it("workspace symbols: '#' asks the language server; without one the palette says so", async () => {
    const sym: FlatSymbol = { name: "fifo_ctrl", kind: 2, container: "", detail: "", uri: "file:///w/rtl/fifo.v", position: { line: 3, character: 7 } };
    const symbols = vi.fn(async (q: string) => ({ symbols: q ? [sym] : [], kindName: () => "module", pathOf: () => "rtl/fifo.v" }));
    const { palette, opened } = setup({ symbols });
    palette.open("symbols");
    await type("#fifo");
    expect(symbols).toHaveBeenLastCalledWith("fifo");
    const li = box().querySelector(".quick-pick-item")!;
    expect(li.querySelector(".qp-kind")!.textContent).toBe("module");
    expect(li.querySelector(".qp-detail")!.textContent).toBe("rtl/fifo.v");
    await enter();
    expect(opened).toEqual([["symbol", "fifo_ctrl"]]);

    const none = setup();
    none.palette.open("symbols");
    await type("#x");
    expect(box().querySelector(".quick-pick-status")!.textContent).toMatch(/No language server/);
  });

  it("a second open replaces the first", async () => {
    const { palette } = setup();
    palette.open("files");
    palette.open("commands");
    await tick(40);
    expect(document.querySelectorAll('[data-testid="palette"]').length).toBe(1);
  });
});
