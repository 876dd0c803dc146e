// FileTree: a lazily loaded workspace tree, kept live by the watch stream.
import type { Entry, Sessiond, WatchEvent } from "../api/sessiond";
import { basename, clear, dirname, h } from "./dom";
import { confirm, prompt, toast } from "./dialog";
import { isTypeAheadKey, rovingMove, type RovingKey, TypeAhead } from "./focus";

interface DirState {
  entries: Entry[] | null; // null: not loaded yet
  open: boolean;
  loading?: Promise<void>;
}

export interface TreeHooks {
  openFile(path: string): void | Promise<unknown>;
  /** Called after a rename or move so open editors follow the file. */
  moved(from: string, to: string): void;
  /** Called after a delete so open editors can react. */
  removed(path: string): void;
}

export class FileTree {
  readonly el: HTMLElement;
  private list: HTMLElement;
  private dirs = new Map<string, DirState>([["", { entries: null, open: true }]]);
  private selected = "";
  private selectedType: Entry["type"] = "dir";
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private pendingRefresh = new Set<string>();
  private typeAhead = new TypeAhead();

  constructor(private api: Sessiond, private hooks: TreeHooks) {
    const tool = (label: string, title: string, f: () => void, id: string) =>
      h("button.icon-btn", { title, "aria-label": title, "data-testid": id, onclick: f }, label);
    // The WAI-ARIA tree pattern: one row is in the Tab order (roving tabindex), arrows move between rows.
    this.list = h("div.tree-list", { role: "tree", "aria-label": "Files", onkeydown: (e: Event) => this.onKey(e as KeyboardEvent) });
    this.el = h("section.tree", { "data-testid": "file-tree", "aria-labelledby": "explorer-title" },
      h("div.pane-head", {},
        h("h2.pane-title", { id: "explorer-title" }, "Explorer"),
        h("span.spacer", {}),
        tool("+", "New file", () => this.createFile(), "tree-new-file"),
        tool("▣", "New folder", () => this.createDir(), "tree-new-dir"),
        tool("✎", "Rename", () => this.renameSelected(), "tree-rename"),
        tool("✕", "Delete", () => this.deleteSelected(), "tree-delete"),
        tool("⟳", "Refresh", () => this.refreshAll(), "tree-refresh"),
      ),
      this.list,
    );
  }

  async load(): Promise<void> {
    await this.loadDir("");
    this.render();
  }

  /** applyEvents refreshes the loaded directories that the watch events touch. */
  applyEvents(events: WatchEvent[]): void {
    for (const ev of events) {
      const parent = dirname(ev.path);
      if (this.dirs.get(parent)?.entries) this.pendingRefresh.add(parent);
      if (ev.op === "remove" || ev.op === "rename") {
        for (const k of [...this.dirs.keys()]) if (k === ev.path || k.startsWith(ev.path + "/")) this.dirs.delete(k);
      }
    }
    if (this.pendingRefresh.size && !this.refreshTimer) {
      this.refreshTimer = setTimeout(() => {
        this.refreshTimer = null;
        const dirs = [...this.pendingRefresh];
        this.pendingRefresh.clear();
        Promise.all(dirs.map((d) => this.loadDir(d, true))).then(() => this.render(), () => this.render());
      }, 50);
    }
  }

  /** refreshAll reloads every loaded directory (after a reconnect, events may have been missed). */
  async refreshAll(): Promise<void> {
    const loaded = [...this.dirs].filter(([, s]) => s.entries).map(([p]) => p);
    await Promise.all(loaded.map((p) => this.loadDir(p, true)));
    this.render();
  }

  private async loadDir(path: string, force = false): Promise<void> {
    let st = this.dirs.get(path);
    if (!st) {
      st = { entries: null, open: false };
      this.dirs.set(path, st);
    }
    if (st.entries && !force) return;
    if (st.loading) return st.loading;
    const s = st;
    s.loading = this.api.list(path, { stat: false }).then(
      (r) => {
        // Git's own directory is hidden, as VS Code's files.exclude does:
        // Source Control shows what is in it.
        s.entries = r.entries.filter((e) => e.name !== ".git");
      },
      (err) => {
        if (path === "" || !force) toast(`List ${path || "workspace"}: ${err.message}`, "error");
        if ((err as { status?: number }).status === 404) this.dirs.delete(path);
      },
    ).finally(() => {
      s.loading = undefined;
    });
    return s.loading;
  }

  private render() {
    const scroll = this.list.scrollTop;
    // The rows are rebuilt: keyboard focus on one moves to its new element.
    const hadFocus = this.list.contains(document.activeElement);
    clear(this.list);
    this.renderDir("", 0, this.list);
    const rows = this.rows();
    const current = rows.find((r) => r.dataset.path === this.selected) ?? rows[0];
    for (const r of rows) r.tabIndex = r === current ? 0 : -1;
    // An empty workspace has no tree (ARIA wants items in one), only its message, still reachable by Tab.
    this.list.setAttribute("role", rows.length ? "tree" : "region");
    if (rows.length) this.list.removeAttribute("tabindex");
    else this.list.tabIndex = 0;
    this.list.scrollTop = scroll;
    if (hadFocus) (current ?? this.list).focus({ preventScroll: true });
  }

  private renderDir(path: string, depth: number, into: HTMLElement) {
    const st = this.dirs.get(path);
    if (!st?.entries) return;
    if (path === "" && st.entries.length === 0) {
      into.append(h("div.tree-empty", {}, "The workspace is empty."));
    }
    st.entries.forEach((e, i) => {
      const isDir = e.type === "dir";
      const sub = this.dirs.get(e.path);
      const open = isDir && !!sub?.open;
      const row = h("div.tree-row", {
        role: "treeitem",
        "data-path": e.path,
        "data-type": e.type,
        "aria-expanded": isDir ? String(open) : undefined,
        "aria-selected": String(this.selected === e.path),
        "aria-level": depth + 1,
        "aria-setsize": st.entries!.length,
        "aria-posinset": i + 1,
        tabindex: -1,
        title: e.path,
        style: `padding-left:${8 + depth * 12}px`,
        onclick: () => void this.activate(e),
      },
        h("span.twisty", { "aria-hidden": "true" }, isDir ? (open ? "▾" : "▸") : ""),
        h("span.file-icon." + iconClass(e), { "aria-hidden": "true" }),
        h("span.tree-name", {}, e.name),
      );
      if (this.selected === e.path) row.classList.add("selected");
      into.append(row);
      if (open) {
        const group = h("div.tree-group", { role: "group", "aria-label": e.name });
        into.append(group);
        this.renderDir(e.path, depth + 1, group);
      }
    });
  }

  /** rows are the visible tree items, top to bottom. */
  private rows(): HTMLElement[] {
    return [...this.list.querySelectorAll<HTMLElement>('[role="treeitem"]')];
  }

  private entryOf(path: string): Entry | undefined {
    return this.dirs.get(dirname(path))?.entries?.find((e) => e.path === path);
  }

  /** select makes path the selected row (and the one in the Tab order), focused when focus is in the tree. */
  private select(path: string, type: Entry["type"]) {
    this.selected = path;
    this.selectedType = type;
    for (const r of this.rows()) {
      const on = r.dataset.path === path;
      r.classList.toggle("selected", on);
      r.setAttribute("aria-selected", String(on));
      r.tabIndex = on ? 0 : -1;
      if (on) {
        r.focus({ preventScroll: true });
        r.scrollIntoView?.({ block: "nearest" });
      }
    }
  }

  /** focus puts keyboard focus on the selected row (or the first). */
  focus(): void {
    const rows = this.rows();
    (rows.find((r) => r.dataset.path === this.selected) ?? rows[0] ?? this.list).focus();
  }

  /** refocus brings focus back to the tree after a dialog when it was left nowhere (its row went away). */
  private refocus() {
    const a = document.activeElement;
    if (!a || a === document.body) this.focus();
  }

  private async activate(e: Entry) {
    this.selected = e.path;
    this.selectedType = e.type;
    if (e.type === "dir") {
      await this.setOpen(e.path, !this.dirs.get(e.path)?.open);
    } else {
      this.hooks.openFile(e.path);
    }
    this.render();
  }

  private async setOpen(path: string, open: boolean) {
    let st = this.dirs.get(path);
    if (!st) {
      st = { entries: null, open: false };
      this.dirs.set(path, st);
    }
    st.open = open;
    if (open) await this.loadDir(path);
  }

  private onKey(e: KeyboardEvent) {
    const rows = this.rows();
    const row = (e.target as HTMLElement).closest?.<HTMLElement>('[role="treeitem"]');
    const at = row ? rows.indexOf(row) : rows.findIndex((r) => r.dataset.path === this.selected);
    const cur = at >= 0 ? rows[at] : null;
    const path = cur?.dataset.path ?? "";
    const entry = cur ? this.entryOf(path) : undefined;
    const isDir = cur?.dataset.type === "dir";
    const open = cur?.getAttribute("aria-expanded") === "true";
    const move = (k: RovingKey) => {
      const i = rovingMove(k, at, rows.length);
      if (i !== null) this.select(rows[i].dataset.path!, rows[i].dataset.type as Entry["type"]);
    };
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    switch (e.key) {
      case "ArrowDown": move("next"); break;
      case "ArrowUp": move("prev"); break;
      case "Home": move("first"); break;
      case "End": move("last"); break;
      case "ArrowRight":
        if (!cur || !isDir) break;
        if (!open) void this.setOpen(path, true).then(() => this.render());
        else if (rows[at + 1] && dirname(rows[at + 1].dataset.path!) === path) move("next");
        break;
      case "ArrowLeft": {
        if (!cur) break;
        if (isDir && open) void this.setOpen(path, false).then(() => this.render());
        else {
          const parent = dirname(path);
          if (parent) this.select(parent, "dir");
        }
        break;
      }
      case "Enter":
      case " ":
        if (!entry) break;
        if (entry.type === "dir") void this.activate(entry);
        else {
          this.select(entry.path, entry.type);
          const opened = this.hooks.openFile(entry.path);
          // Space opens the file and keeps the focus in the tree (a preview); Enter goes to the editor.
          if (e.key === " ") void Promise.resolve(opened).finally(() => this.focus());
        }
        break;
      case "F2": void this.renameSelected().finally(() => this.refocus()); break;
      case "Delete": void this.deleteSelected().finally(() => this.refocus()); break;
      default:
        if (!isTypeAheadKey(e)) return;
        {
          const i = this.typeAhead.key(e.key, rows.map((r) => r.querySelector(".tree-name")?.textContent ?? ""), at);
          if (i !== null) this.select(rows[i].dataset.path!, rows[i].dataset.type as Entry["type"]);
        }
    }
    e.preventDefault();
    e.stopPropagation();
  }

  /** targetDir is where new entries go: the selected directory, or the selected file's directory. */
  private targetDir(): string {
    if (!this.selected) return "";
    return this.selectedType === "dir" ? this.selected : dirname(this.selected);
  }

  private join(dir: string, name: string) {
    return dir ? dir + "/" + name : name;
  }

  async createFile(): Promise<void> {
    const dir = this.targetDir();
    const name = await prompt("New file", `Name in /${dir}`);
    if (!name) return;
    const path = this.join(dir, name);
    try {
      await this.api.write(path, "", { create: true, mkdirs: true });
      await this.reveal(path);
      this.hooks.openFile(path);
    } catch (err) {
      toast(`Create ${path}: ${(err as Error).message}`, "error");
    }
  }

  async createDir(): Promise<void> {
    const dir = this.targetDir();
    const name = await prompt("New folder", `Name in /${dir}`);
    if (!name) return;
    const path = this.join(dir, name);
    try {
      await this.api.mkdir(path, true);
      await this.reveal(path);
    } catch (err) {
      toast(`Create folder ${path}: ${(err as Error).message}`, "error");
    }
  }

  async renameSelected(): Promise<void> {
    const from = this.selected;
    if (!from) return toast("Select a file or folder to rename.");
    const to = await prompt("Rename", `New path for ${from}`, from);
    if (!to || to === from) return;
    try {
      await this.api.move(from, to, false);
      this.hooks.moved(from, to);
      this.selected = to;
      await this.loadDir(dirname(from), true);
      await this.reveal(to);
    } catch (err) {
      toast(`Rename ${from}: ${(err as Error).message}`, "error");
    }
  }

  async deleteSelected(): Promise<void> {
    const path = this.selected;
    if (!path) return toast("Select a file or folder to delete.");
    const isDir = this.selectedType === "dir";
    const ok = await confirm("Delete", `Delete ${isDir ? "the folder" : ""} “${basename(path)}”${isDir ? " and everything in it" : ""}? This cannot be undone.`, "Delete", true);
    if (!ok) return;
    try {
      await this.api.remove(path, isDir);
      this.hooks.removed(path);
      this.selected = "";
      this.dirs.delete(path);
      await this.loadDir(dirname(path), true);
      this.render();
    } catch (err) {
      toast(`Delete ${path}: ${(err as Error).message}`, "error");
    }
  }

  /** reveal opens every ancestor of path and selects it. */
  async reveal(path: string): Promise<void> {
    const parts = path.split("/");
    let cur = "";
    await this.loadDir("", true);
    for (let i = 0; i < parts.length - 1; i++) {
      cur = this.join(cur, parts[i]);
      await this.loadDir(cur, true);
      this.dirs.get(cur)!.open = true;
    }
    this.selected = path;
    this.render();
    this.list.querySelector(`[data-path="${CSS.escape(path)}"]`)?.scrollIntoView({ block: "nearest" });
  }
}

function iconClass(e: Entry): string {
  if (e.type === "dir") return "dir";
  const ext = e.name.includes(".") ? e.name.slice(e.name.lastIndexOf(".") + 1).toLowerCase() : e.name.toLowerCase();
  if (["v", "sv", "svh", "vh"].includes(ext)) return "hdl";
  if (["vhd", "vhdl"].includes(ext)) return "hdl";
  if (["c", "h", "cc", "cpp", "hpp"].includes(ext)) return "c";
  if (["bin", "bit", "bitstream", "fs", "svf", "dfu", "jed"].includes(ext)) return "bits";
  if (ext === "makefile" || ext === "mk") return "make";
  return "file";
}
