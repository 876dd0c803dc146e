// HierarchyView: the "Design hierarchy" sidebar section. It shows the HDL
// server's instance tree (gatewave/hierarchy) as "instance : module" rows
// with parameters as a muted suffix; missing modules are red. Clicking a
// row opens the file where the instance is written. Each row carries
// data-hier-path="top/u_core/u_fifo" for tests.
import type * as lsp from "vscode-languageserver-protocol";
import { clear, h } from "./dom";

export interface HierNode {
  /** Instance name, or the module name for a top. */
  name: string;
  module: string;
  /** Where the instance (or the top module) is written. */
  uri: string;
  range: lsp.Range;
  params?: { name: string; value: string }[];
  children: HierNode[];
  /** The module is not found in the workspace. */
  missing?: boolean;
}

export interface HierarchyResult {
  tops: HierNode[];
}

export interface HierarchyHooks {
  /** Ask the server for the tree. */
  fetch(): Promise<HierarchyResult>;
  /** Open uri with the cursor at range's start. */
  open(uri: string, range: lsp.Range): void;
}

/** The deepest level drawn: a server that fails to cut a recursive instantiation cannot hang the page. */
const maxDepth = 64;

export function paramSuffix(params: HierNode["params"]): string {
  if (!params?.length) return "";
  return "#(" + params.map((p) => `${p.name}=${p.value}`).join(", ") + ")";
}

/**
 * renderRows draws the visible rows of result into parent: every top, and
 * the children of each node whose path is in expanded. It returns the
 * number of rows drawn.
 */
export function renderRows(parent: HTMLElement, result: HierarchyResult, expanded: ReadonlySet<string>, hooks: { toggle(path: string): void; open(n: HierNode): void }): number {
  let count = 0;
  const walk = (nodes: HierNode[], prefix: string, depth: number) => {
    for (const n of nodes) {
      const path = prefix ? `${prefix}/${n.name}` : n.name;
      const hasKids = n.children?.length > 0 && depth < maxDepth;
      const open = hasKids && expanded.has(path);
      const isTop = depth === 0;
      const row = h("div.hier-row", {
        role: "treeitem",
        "data-hier-path": path,
        "data-module": n.module,
        "aria-expanded": hasKids ? String(open) : undefined,
        "aria-level": depth + 1,
        title: n.missing ? `Module ${n.module} is not found in the workspace` : `${path} : ${n.module}`,
        style: `padding-left:${6 + depth * 12}px`,
        onclick: () => hooks.open(n),
      },
        h("span.twisty", {
          onclick: (e: Event) => {
            e.stopPropagation();
            if (hasKids) hooks.toggle(path);
          },
        }, hasKids ? (open ? "▾" : "▸") : ""),
        h("span.hier-name", {}, n.name),
        isTop && n.name === n.module ? null : h("span.hier-module", {}, " : " + n.module),
        n.params?.length ? h("span.hier-params", {}, " " + paramSuffix(n.params)) : null,
      );
      if (n.missing) row.classList.add("missing");
      if (isTop) row.classList.add("top");
      parent.append(row);
      count++;
      if (open) walk(n.children, path, depth + 1);
    }
  };
  walk(result.tops ?? [], "", 0);
  return count;
}

/** defaultExpanded opens the tops, so their instances show at once. */
export function defaultExpanded(result: HierarchyResult): string[] {
  return (result.tops ?? []).filter((t) => t.children?.length).map((t) => t.name);
}

export class HierarchyView {
  readonly el: HTMLElement;
  private list: HTMLElement;
  private status: HTMLElement;
  private result: HierarchyResult | null = null;
  private expanded = new Set<string>();
  private seen = new Set<string>();
  private seq = 0;
  private collapsed = false;

  constructor(private hooks: HierarchyHooks) {
    this.list = h("div.hier-list", { role: "tree", "data-testid": "hierarchy" });
    this.status = h("div.hier-status.muted", {});
    const title = h("span.pane-title.clickable", { onclick: () => this.toggleSection() }, "Design hierarchy");
    this.el = h("section.hierarchy", { "data-testid": "hierarchy-pane", hidden: true },
      h("header.pane-head", {},
        title,
        h("span.spacer", {}),
        h("button.icon-btn", { title: "Refresh", "aria-label": "Refresh the design hierarchy", "data-testid": "hier-refresh", onclick: () => void this.refresh() }, "⟳"),
      ),
      this.status,
      this.list,
    );
  }

  private toggleSection() {
    this.collapsed = !this.collapsed;
    this.el.classList.toggle("collapsed", this.collapsed);
  }

  /** message replaces the tree with a note (server missing, stopped, ...). */
  message(text: string, level: "info" | "error" = "info"): void {
    this.el.hidden = false;
    this.status.textContent = text;
    this.status.classList.toggle("error", level === "error");
    this.status.hidden = !text;
  }

  hide(): void {
    this.el.hidden = true;
  }

  /** refresh fetches the tree again; an older answer arriving late is dropped. */
  async refresh(): Promise<void> {
    this.el.hidden = false;
    const mine = ++this.seq;
    if (!this.result) this.message("Loading…");
    let res: HierarchyResult;
    try {
      res = await this.hooks.fetch();
    } catch (err) {
      if (mine === this.seq) this.message(`Design hierarchy unavailable: ${(err as Error)?.message ?? err}`, "error");
      return;
    }
    if (mine !== this.seq) return;
    this.show(res);
  }

  /** show draws result, keeping what the user expanded and opening new tops. */
  show(res: HierarchyResult): void {
    this.el.hidden = false;
    this.result = res ?? { tops: [] };
    for (const p of defaultExpanded(this.result)) {
      if (!this.seen.has(p)) this.expanded.add(p);
      this.seen.add(p);
    }
    this.message(this.result.tops?.length ? "" : "No modules found in the workspace.");
    this.draw();
  }

  private draw() {
    const scroll = this.list.scrollTop;
    clear(this.list);
    if (this.result) {
      renderRows(this.list, this.result, this.expanded, {
        toggle: (p) => {
          if (this.expanded.has(p)) this.expanded.delete(p);
          else this.expanded.add(p);
          this.draw();
        },
        open: (n) => this.hooks.open(n.uri, n.range),
      });
    }
    this.list.scrollTop = scroll;
  }
}
