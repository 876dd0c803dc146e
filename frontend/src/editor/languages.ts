// Language modes by file name, each loaded on demand (dynamic import) so the
// initial bundle carries none of them.
import { StreamLanguage, type StreamParser } from "@codemirror/language";
import type { Extension } from "@codemirror/state";

export interface LanguageInfo {
  /** LSP languageId and the id sessiond's LSP route uses where one is configured. */
  id: string;
  /** Human name for the status bar. */
  name: string;
  load(): Promise<Extension>;
}

async function legacy(mod: Promise<Record<string, unknown>>, key: string, name: string): Promise<Extension> {
  const parser = (await mod)[key] as StreamParser<unknown>;
  return StreamLanguage.define({ ...parser, name });
}

const c: LanguageInfo = { id: "c", name: "C", load: async () => (await import("@codemirror/lang-cpp")).cpp() };
const cpp: LanguageInfo = { id: "cpp", name: "C++", load: async () => (await import("@codemirror/lang-cpp")).cpp() };
const python: LanguageInfo = { id: "python", name: "Python", load: async () => (await import("@codemirror/lang-python")).python() };
const markdown: LanguageInfo = { id: "markdown", name: "Markdown", load: async () => (await import("@codemirror/lang-markdown")).markdown() };
const verilog: LanguageInfo = { id: "verilog", name: "Verilog", load: () => legacy(import("@codemirror/legacy-modes/mode/verilog"), "verilog", "verilog") };
const systemverilog: LanguageInfo = { id: "systemverilog", name: "SystemVerilog", load: () => legacy(import("@codemirror/legacy-modes/mode/verilog"), "verilog", "systemverilog") };
const vhdl: LanguageInfo = { id: "vhdl", name: "VHDL", load: () => legacy(import("@codemirror/legacy-modes/mode/vhdl"), "vhdl", "vhdl") };
const toml: LanguageInfo = { id: "toml", name: "TOML", load: () => legacy(import("@codemirror/legacy-modes/mode/toml"), "toml", "toml") };
const shell: LanguageInfo = { id: "shellscript", name: "Shell", load: () => legacy(import("@codemirror/legacy-modes/mode/shell"), "shell", "shell") };
const yaml: LanguageInfo = { id: "yaml", name: "YAML", load: () => legacy(import("@codemirror/legacy-modes/mode/yaml"), "yaml", "yaml") };
const makefile: LanguageInfo = { id: "makefile", name: "Makefile", load: async () => (await import("./makefile")).makefile() };
const tcl: LanguageInfo = { id: "tcl", name: "Tcl", load: () => legacy(import("@codemirror/legacy-modes/mode/tcl"), "tcl", "tcl") };
// Pin constraints: iCE40 .pcf lines are Tcl-shaped (set_io clk 21); the HDL
// server completes, explains and checks them.
const pcf: LanguageInfo = { id: "pcf", name: "Pin constraints", load: () => legacy(import("@codemirror/legacy-modes/mode/tcl"), "tcl", "pcf") };

const byExt: Record<string, LanguageInfo> = {
  c, h: c,
  cc: cpp, cpp, cxx: cpp, hpp: cpp, hh: cpp,
  py: python,
  md: markdown, markdown,
  v: verilog, vh: verilog,
  sv: systemverilog, svh: systemverilog,
  vhd: vhdl, vhdl,
  toml,
  sh: shell, bash: shell,
  yml: yaml, yaml,
  mk: makefile,
  tcl, xdc: tcl, sdc: tcl,
  pcf, lpf: pcf, cst: pcf,
};

/** languageFor picks the language of a workspace path, or null for plain text. */
export function languageFor(path: string): LanguageInfo | null {
  const name = path.slice(path.lastIndexOf("/") + 1);
  if (/^(GNU)?makefile$/i.test(name)) return makefile;
  const dot = name.lastIndexOf(".");
  if (dot < 0) return null;
  return byExt[name.slice(dot + 1).toLowerCase()] ?? null;
}
