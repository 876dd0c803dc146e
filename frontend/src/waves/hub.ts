// WavesHub: the waveform viewers of the IDE and the cross-probing between
// them and the HDL editors. "Add to waves" takes the identifier at the
// editor's cursor and adds the signals named like it from the dump used
// last, preferring the instances of the module around the cursor (from the
// HDL server's hierarchy); "Go to declaration" from a wave asks the HDL
// server's workspace/symbol for the signal's name and picks the result in
// the module its scope instantiates.
import type { EditorView } from "@codemirror/view";
import type * as lsp from "vscode-languageserver-protocol";
import type { Connection } from "../api/conn";
import type { LspServer } from "../lsp/lsp";
import { uriFor } from "../lsp/paths";
import { toast } from "../ui/dialog";
import { basename } from "../ui/dom";
import type { HierarchyResult, HierNode } from "../ui/hierarchy";
import type { SignalInfo } from "./api";
import { identifierAt } from "./model";
import { isDumpPath, WaveViewer } from "./viewer";

export interface WavesHubHooks {
  /** The HDL language server, started if needed; null when the workspace has none. */
  hdl(): Promise<LspServer | null>;
  /** Open a workspace URI at an LSP position. */
  openAt(uri: string, pos: lsp.Position): Promise<void> | void;
}

const hdlFile = /\.(v|vh|sv|svh|vhd|vhdl)$/i;

export class WavesHub {
  private viewers = new Set<WaveViewer>();
  private last: WaveViewer | null = null;

  constructor(private conn: Connection, private hooks: WavesHubHooks) {}

  /** viewerFor makes the viewer of a .vcd/.fst path, or returns null for other files. */
  viewerFor(path: string): WaveViewer | null {
    if (!isDumpPath(path)) return null;
    const v = new WaveViewer(this.conn, path, {
      gotoDeclaration: (sig) => void this.gotoDeclaration(sig),
      focused: (x) => (this.last = x),
    });
    this.viewers.add(v);
    this.last = v;
    const dispose = v.dispose.bind(v);
    v.dispose = () => {
      dispose();
      this.viewers.delete(v);
      if (this.last === v) this.last = [...this.viewers].pop() ?? null;
    };
    return v;
  }

  /** The viewer that was used last, if any is open. */
  get current(): WaveViewer | null {
    return this.last;
  }

  /** canProbe tells whether "Add to waves" applies to a file. */
  canProbe(path: string): boolean {
    return hdlFile.test(path);
  }

  /** addFromEditor adds the signals named like the identifier at view's cursor (Mod-Alt-W). */
  async addFromEditor(view: EditorView, path: string): Promise<void> {
    const doc = view.state.doc.toString();
    const head = view.state.selection.main.head;
    const name = identifierAt(doc, head);
    if (!name) {
      toast("Put the cursor on a signal name to add it to the waves.");
      return;
    }
    const v = this.last;
    if (!v) {
      toast("Open a waveform (.vcd or .fst) first, then add signals to it from the editor.");
      return;
    }
    const instances = await this.instancesAround(path, view, head).catch(() => []);
    const added = v.addByName(name, instances);
    if (!added.length) toast(`No signal named ${name} in ${basename(v.path)}.`);
    else toast(`Added ${added.join(", ")} to ${basename(v.path)}.`, "ok");
  }

  /**
   * instancesAround gives the instance paths (outermost first) of the module
   * whose text holds the cursor, from the HDL server: its document symbols
   * say which module it is, its hierarchy where that module is used.
   */
  private async instancesAround(path: string, view: EditorView, head: number): Promise<string[][]> {
    const s = await this.hooks.hdl();
    if (!s || !s.ready) return [];
    const line = view.state.doc.lineAt(head);
    const pos = { line: line.number - 1, character: head - line.from };
    const syms = await s.request<(lsp.DocumentSymbol | lsp.SymbolInformation)[] | null>("textDocument/documentSymbol", { textDocument: { uri: uriFor(path) } });
    const module = moduleAt(syms ?? [], pos);
    if (!module) return [];
    const tree = await s.request<HierarchyResult>("gatewave/hierarchy", {});
    return instancePaths(tree?.tops ?? [], module);
  }

  async gotoDeclaration(sig: SignalInfo): Promise<void> {
    const s = await this.hooks.hdl().catch(() => null);
    if (!s) {
      toast("Go to declaration needs the HDL language server, which this workspace does not have.", "error");
      return;
    }
    try {
      const scope = sig.scope.split(".");
      let module = scope[scope.length - 1];
      const tree = await s.request<HierarchyResult>("gatewave/hierarchy", {}).catch(() => null);
      const m = tree ? moduleOfScope(tree.tops ?? [], scope) : null;
      if (m) module = m;
      const res = await s.request<(lsp.SymbolInformation | lsp.WorkspaceSymbol)[] | null>("workspace/symbol", { query: sig.name });
      const hit = pickDeclaration(res ?? [], sig.name, module);
      if (!hit) {
        toast(`No declaration of ${sig.name} found in the HDL sources.`);
        return;
      }
      const pos = "range" in hit.location ? hit.location.range.start : { line: 0, character: 0 };
      await this.hooks.openAt(hit.location.uri, pos);
    } catch (err) {
      toast(`Go to declaration of ${sig.path}: ${(err as Error).message}`, "error");
    }
  }
}

const within = (r: lsp.Range, p: lsp.Position) =>
  (r.start.line < p.line || (r.start.line === p.line && r.start.character <= p.character)) &&
  (r.end.line > p.line || (r.end.line === p.line && r.end.character >= p.character));

/** moduleAt names the innermost module (or entity/architecture's entity) symbol whose range holds pos. */
export function moduleAt(syms: (lsp.DocumentSymbol | lsp.SymbolInformation)[], pos: lsp.Position): string | null {
  let best: string | null = null;
  const walk = (list: (lsp.DocumentSymbol | lsp.SymbolInformation)[]) => {
    for (const s of list) {
      const range = "location" in s ? s.location.range : s.range;
      if (!within(range, pos)) continue;
      // 2 = Module, 5 = Class (VHDL entities/architectures are reported as either by servers).
      if (s.kind === 2 || s.kind === 5) best = s.name.replace(/\s*\(.*\)$/, "");
      if (!("location" in s) && s.children) walk(s.children);
    }
  };
  walk(syms);
  return best;
}

/** instancePaths lists the instance name paths of every node instantiating module (tops by their own name). */
export function instancePaths(tops: HierNode[], module: string): string[][] {
  const out: string[][] = [];
  const m = module.toLowerCase();
  const walk = (nodes: HierNode[], prefix: string[], depth: number) => {
    if (depth > 64) return;
    for (const n of nodes) {
      const p = [...prefix, n.name];
      if (n.module.toLowerCase() === m) out.push(p);
      walk(n.children ?? [], p, depth + 1);
    }
  };
  walk(tops, [], 0);
  return out;
}

/**
 * moduleOfScope finds the module a dump scope (instance names, outermost
 * first) instantiates, by walking the hierarchy from any node named like
 * the scope's first component that the rest of the path follows (a dump
 * may start above the workspace's tops, so later starts are tried too).
 */
export function moduleOfScope(tops: HierNode[], scope: string[]): string | null {
  const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const follow = (n: HierNode, rest: string[]): HierNode | null => {
    let cur: HierNode | undefined = n;
    for (const name of rest) {
      cur = cur?.children?.find((c) => eq(c.name, name));
      if (!cur) return null;
    }
    return cur ?? null;
  };
  const all: HierNode[] = [];
  const collect = (nodes: HierNode[], d: number) => {
    if (d > 64) return;
    for (const n of nodes) {
      all.push(n);
      collect(n.children ?? [], d + 1);
    }
  };
  collect(tops, 0);
  for (let k = 0; k < scope.length; k++) {
    for (const n of all) {
      if (!eq(n.name, scope[k])) continue;
      const hit = follow(n, scope.slice(k + 1));
      if (hit) return hit.module;
    }
  }
  return null;
}

/** pickDeclaration picks the workspace symbol named name whose container is module (else the only, or first, one named so). */
export function pickDeclaration<T extends { name: string; containerName?: string }>(res: T[], name: string, module: string): T | null {
  const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const named = res.filter((s) => eq(s.name.replace(/\s*\[.*\]$/, ""), name));
  if (!named.length) return null;
  const inModule = named.find((s) => (s.containerName ?? "").split(/[\s.›:/]+/).some((c) => c && eq(c, module)));
  return inModule ?? named[0];
}
