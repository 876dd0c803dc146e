import { indentUnit } from "@codemirror/language";
import { EditorState } from "@codemirror/state";
import { describe, expect, it } from "vitest";
import { baseExtensions } from "../src/editor/setup";
import { configDirs, extensionFor, globToRegExp, matches, resolve } from "../src/editor/editorconfig";
import { makefile } from "../src/editor/makefile";

describe(".editorconfig", () => {
  it("translates the spec's globs", () => {
    expect(globToRegExp("*.{v,sv}").test("top.sv")).toBe(true);
    expect(globToRegExp("*.{v,sv}").test("top.vhd")).toBe(false);
    expect(globToRegExp("file[0-9].txt").test("file7.txt")).toBe(true);
    expect(globToRegExp("file[!0-9].txt").test("file7.txt")).toBe(false);
    expect(globToRegExp("rtl/**.v").test("rtl/a/b/c.v")).toBe(true);
    expect(globToRegExp("x{1..3}").test("x2")).toBe(true);
    expect(globToRegExp("x{1..3}").test("x4")).toBe(false);
  });

  it("a glob without / matches at any depth; with / it is anchored at the file's directory", () => {
    expect(matches("*.v", "blinky.v")).toBe(true);
    expect(matches("*.v", "rtl/deep/blinky.v")).toBe(true);
    expect(matches("rtl/*.v", "rtl/a.v")).toBe(true);
    expect(matches("rtl/*.v", "x/rtl/a.v")).toBe(false);
    expect(matches("Makefile", "sub/Makefile")).toBe(true);
  });

  it("nearer files and later sections win, and root = true stops the search", () => {
    const files = [
      { dir: "", text: "root = true\n[*]\nindent_style = space\nindent_size = 4\n[*.v]\nindent_size = 2\n" },
      { dir: "rtl", text: "[*.v]\nindent_style = tab\ntab_width = 8\n" },
    ];
    expect(resolve("top.v", files)).toEqual({ indent_style: "space", indent_size: "2" });
    expect(resolve("rtl/core.v", files)).toEqual({ indent_style: "tab", indent_size: "2", tab_width: "8" });
    const outer = [{ dir: "", text: "[*]\nindent_size = 3\n" }, { dir: "sub", text: "root = true\n[*]\nindent_style = tab\n" }];
    expect(resolve("sub/a.c", outer)).toEqual({ indent_style: "tab" });
    expect(configDirs("rtl/core/a.v")).toEqual(["", "rtl", "rtl/core"]);
  });

  it("sets the editor's indent unit and tab size over the defaults", () => {
    const state = (props: Record<string, string>) => EditorState.create({ extensions: [baseExtensions(), extensionFor(props)] });
    expect(state({ indent_style: "space", indent_size: "2" }).facet(indentUnit)).toBe("  ");
    const tabs = state({ indent_style: "tab", tab_width: "8" });
    expect(tabs.facet(indentUnit)).toBe("\t");
    expect(tabs.tabSize).toBe(8);
    expect(state({}).facet(indentUnit)).toBe("    ");
  });
});

describe("Makefiles", () => {
  it("indent with a real tab, over the editor's four spaces", () => {
    const s = EditorState.create({ extensions: [baseExtensions(), makefile()] });
    expect(s.facet(indentUnit)).toBe("\t");
  });
});
