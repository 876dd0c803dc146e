// EditorArea: the tabbed editors. Each tab owns one CodeMirror view; saving
// sends If-Match and a conflict is resolved by the user, never silently.
import { isolateHistory } from "@codemirror/commands";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { ApiError } from "../api/conn";
import type { Sessiond, WatchEvent } from "../api/sessiond";
import { basename, clear, formatBytes, h } from "../ui/dom";
import { choose, toast } from "../ui/dialog";
import { rovingMove, type RovingKey } from "../ui/focus";
import { binaryViewer, isBinary, LARGE_TEXT_BYTES } from "./binary";
import { languageFor, type LanguageInfo } from "./languages";
import { baseExtensions, type EditorPrefs, userConf, userExtension } from "./setup";

export interface Tab {
  path: string;
  view: EditorView;
  etag: string;
  /** The text last read from or written to disk. */
  saved: string;
  lang: LanguageInfo | null;
  tabEl: HTMLElement;
  /** Set by the watch stream when the file changed on disk under unsaved edits. */
  stale: boolean;
  deleted: boolean;
  saving: boolean;
  langConf: Compartment;
  lspConf: Compartment;
  /** The content's data-path/aria-label, and the .editorconfig style: both follow a rename. */
  pathConf: Compartment;
  styleConf: Compartment;
}

/** A tab that is not a text editor (the waveform viewer): it draws itself into el. */
export interface Viewer {
  readonly el: HTMLElement;
  focus(): void;
  /** The file changed on disk. */
  changed(): void;
  dispose(): void;
}

interface ViewerTab {
  path: string;
  viewer: Viewer;
  tabEl: HTMLElement;
}

export interface AreaHooks {
  /** The viewer for a file that opens in one instead of a text editor, or null. */
  viewer?(path: string): Viewer | null;
  /** Editor settings the project asks for (its .editorconfig), or null. */
  style?(path: string): Promise<Extension | null>;
  /** The LSP extension for a file, or null when no server handles its language. */
  lsp(path: string, lang: LanguageInfo | null): Promise<Extension | null>;
  /** Called whenever the active tab, its dirty state or its cursor changes. */
  changed(tab: Tab | null): void;
  /** Called after path was written to disk from its tab. */
  saved?(path: string): void;
}

export class EditorArea {
  readonly el: HTMLElement;
  private tabsEl: HTMLElement;
  private host: HTMLElement;
  private empty: HTMLElement;
  private tabs: Tab[] = [];
  active: Tab | null = null;
  private viewerTabs: ViewerTab[] = [];
  /** The viewer tab shown, when one is (then active is null). */
  activeViewer: ViewerTab | null = null;
  private opening = new Map<string, Promise<Tab | null>>();
  private tabSeq = 0;

  constructor(private api: Sessiond, private hooks: AreaHooks) {
    // The WAI-ARIA tabs pattern: the active tab is in the Tab order, arrows move between tabs
    // (showing each), Enter goes into the editor, Delete closes.
    this.tabsEl = h("div.tabs", { role: "tablist", "aria-label": "Open editors", "data-testid": "editor-tabs", onkeydown: (e: Event) => this.onTabKey(e as KeyboardEvent) });
    this.empty = h("div.editor-empty", {},
      h("div.empty-title", {}, "Gatewave"),
      h("div.empty-keys", {},
        h("div", {}, h("kbd", {}, "Ctrl"), "+", h("kbd", {}, "S"), " save"),
        h("div", {}, h("kbd", {}, "Ctrl"), "+", h("kbd", {}, "F"), " find / replace"),
        h("div", {}, h("kbd", {}, "F12"), " go to definition"),
        h("div", {}, h("kbd", {}, "Ctrl"), "+", h("kbd", {}, "Space"), " complete"),
        h("div", {}, h("kbd", {}, "Ctrl"), "+", h("kbd", {}, "."), " quick fix"),
        h("div", {}, h("kbd", {}, "Ctrl"), "+", h("kbd", {}, "Shift"), "+", h("kbd", {}, "O"), " symbols in file"),
      ),
    );
    this.host = h("div.editor-host", { "data-testid": "editor-host" }, this.empty);
    this.el = h("section.editor-area", {}, this.tabsEl, this.host);
  }

  get dirtyTabs(): Tab[] {
    return this.tabs.filter((t) => isDirty(t));
  }

  /** setPrefs applies the user's font and tab size to every open editor (new ones start with them). */
  setPrefs(p: EditorPrefs): void {
    const ext = userExtension(p);
    for (const t of this.tabs) t.view.dispatch({ effects: userConf.reconfigure(ext) });
  }

  find(path: string): Tab | undefined {
    return this.tabs.find((t) => t.path === path);
  }

  /** open shows path in a tab, loading it if needed; resolves to its view (null for a viewer tab). */
  async open(path: string): Promise<EditorView | null> {
    const vt = this.viewerTabs.find((t) => t.path === path);
    if (vt) {
      this.activateViewer(vt);
      return null;
    }
    const viewer = this.find(path) ? null : this.hooks.viewer?.(path);
    if (viewer) {
      this.addViewer(path, viewer);
      return null;
    }
    const existing = this.find(path);
    if (existing) {
      this.activate(existing);
      return existing.view;
    }
    let p = this.opening.get(path);
    if (!p) {
      p = this.load(path).finally(() => this.opening.delete(path));
      this.opening.set(path, p);
    }
    const tab = await p;
    if (tab) this.activate(tab);
    return tab?.view ?? null;
  }

  private async load(path: string): Promise<Tab | null> {
    let content;
    let large = false;
    let size = 0;
    try {
      const { bytes, etag } = await this.api.readBytes(path);
      if (isBinary(bytes)) {
        // Never decode a binary file as text: saving it would corrupt it.
        if (!this.viewerTabs.some((v) => v.path === path)) {
          this.addViewer(path, binaryViewer(path, bytes, () => this.api.readBytes(path).then((r) => r.bytes)));
        }
        return null;
      }
      size = bytes.length;
      large = size > LARGE_TEXT_BYTES;
      content = { text: new TextDecoder().decode(bytes), etag };
    } catch (err) {
      toast(`Open ${path}: ${(err as Error).message}`, "error");
      return null;
    }
    const lang = languageFor(path);
    const langConf = new Compartment();
    const lspConf = new Compartment();
    const styleConf = new Compartment();
    const pathConf = new Compartment();
    const tab = { path, etag: content.etag, saved: content.text, lang, stale: false, deleted: false, saving: false, langConf, lspConf, pathConf, styleConf } as Tab;
    tab.view = new EditorView({
      parent: this.host,
      state: EditorState.create({
        doc: content.text,
        extensions: [
          keymap.of([{ key: "Mod-s", preventDefault: true, run: () => (this.save(tab), true) }]),
          baseExtensions(),
          langConf.of([]),
          lspConf.of([]),
          styleConf.of([]),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) this.renderTab(tab);
            if ((u.docChanged || u.selectionSet || u.focusChanged) && this.active === tab) this.hooks.changed(tab);
          }),
          pathConf.of(pathAttributes(path)),
          // A very large file is shown, not edited: the editor stays responsive and nothing is half-saved.
          large ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : [],
        ],
      }),
    });
    tab.view.dom.hidden = true;
    tab.tabEl = this.tabElement(path);
    this.tabs.push(tab);
    this.tabsEl.append(tab.tabEl);
    this.renderTab(tab);
    if (large) toast(`${path} is ${formatBytes(size)}: it opens read-only (files over ${formatBytes(LARGE_TEXT_BYTES)} are not edited here).`, "info", 8000);
    // Language and LSP arrive asynchronously, so the text is editable at once.
    if (lang) {
      lang.load().then((ext) => tab.view.dispatch({ effects: langConf.reconfigure(ext) }), (err) => console.warn("language", lang.id, err));
    }
    this.attach(tab);
    return tab;
  }

  /** attach connects a tab to its path's language server and .editorconfig (again after a rename); late answers for an old path are dropped. */
  private attach(tab: Tab) {
    const path = tab.path;
    const current = () => this.tabs.includes(tab) && tab.path === path;
    this.hooks.lsp(path, tab.lang).then((ext) => {
      if (ext && current()) tab.view.dispatch({ effects: tab.lspConf.reconfigure(ext) });
    }, (err) => console.warn("lsp", path, err));
    // The project's .editorconfig (indent style and size, tab width), when it has one.
    this.hooks.style?.(path).then((ext) => {
      if (current()) tab.view.dispatch({ effects: tab.styleConf.reconfigure(ext ?? []) });
    }, (err) => console.warn("editorconfig", path, err));
  }

  private addViewer(path: string, viewer: Viewer) {
    const vt: ViewerTab = { path, viewer, tabEl: this.tabElement(path) };
    vt.tabEl.dataset.kind = "viewer";
    vt.tabEl.setAttribute("aria-label", basename(path));
    vt.tabEl.append(
      h("span.tab-name", {}, basename(path)),
      closeControl(path, false, () => this.closeViewer(vt)),
    );
    vt.tabEl.onclick = () => this.activateViewer(vt);
    vt.tabEl.onmousedown = (e) => {
      if (e.button === 1) {
        e.preventDefault();
        this.closeViewer(vt);
      }
    };
    viewer.el.hidden = true;
    this.host.append(viewer.el);
    this.viewerTabs.push(vt);
    this.tabsEl.append(vt.tabEl);
    this.activateViewer(vt);
  }

  /** activateViewer shows a viewer tab; focus goes into it unless the keyboard is moving along the tab strip. */
  activateViewer(vt: ViewerTab, focus = true): void {
    if (this.active) this.active.view.dom.hidden = true;
    this.active = null;
    for (const t of this.viewerTabs) t.viewer.el.hidden = t !== vt;
    this.activeViewer = vt;
    this.empty.hidden = true;
    this.syncTabs(vt.tabEl);
    vt.tabEl.scrollIntoView({ block: "nearest", inline: "nearest" });
    if (focus) vt.viewer.focus();
    this.hooks.changed(null);
  }

  closeViewer(vt: ViewerTab): void {
    const i = this.viewerTabs.indexOf(vt);
    if (i < 0) return;
    this.viewerTabs.splice(i, 1);
    vt.tabEl.remove();
    vt.viewer.el.remove();
    vt.viewer.dispose();
    if (this.activeViewer !== vt) return;
    this.activeViewer = null;
    const next = this.viewerTabs[Math.min(i, this.viewerTabs.length - 1)];
    if (next) this.activateViewer(next);
    else if (this.tabs.length) this.activate(this.tabs[this.tabs.length - 1]);
    else {
      this.empty.hidden = false;
      this.syncTabs(null);
      this.hooks.changed(null);
    }
  }

  /** activate shows a tab; focus goes into its editor unless the keyboard is moving along the tab strip. */
  activate(tab: Tab, focus = true): void {
    if (this.active && this.active !== tab) this.active.view.dom.hidden = true;
    if (this.activeViewer) {
      this.activeViewer.viewer.el.hidden = true;
      this.activeViewer = null;
    }
    this.active = tab;
    this.empty.hidden = true;
    tab.view.dom.hidden = false;
    this.syncTabs(tab.tabEl);
    tab.tabEl.scrollIntoView({ block: "nearest", inline: "nearest" });
    tab.view.requestMeasure();
    if (focus) tab.view.focus();
    this.hooks.changed(tab);
  }

  private renderTab(tab: Tab) {
    const dirty = isDirty(tab);
    clear(tab.tabEl);
    tab.tabEl.classList.toggle("dirty", dirty);
    tab.tabEl.classList.toggle("stale", tab.stale || tab.deleted);
    tab.tabEl.dataset.dirty = String(dirty);
    // What a screen reader says for the tab: its name and whether it holds unsaved or outdated work.
    const state = [dirty && !tab.deleted ? "modified" : "", tab.stale ? "changed on disk" : "", tab.deleted ? "deleted on disk" : ""].filter(Boolean);
    tab.tabEl.setAttribute("aria-label", [basename(tab.path), ...state].join(", "));
    tab.tabEl.append(
      h("span.tab-name", {}, basename(tab.path)),
      closeControl(tab.path, dirty, () => void this.close(tab)),
    );
    tab.tabEl.onmousedown = (e) => {
      if (e.button === 1) {
        e.preventDefault();
        this.close(tab);
      }
    };
    tab.tabEl.onclick = () => this.activate(tab);
  }

  async close(tab: Tab): Promise<boolean> {
    if (isDirty(tab)) {
      const r = await choose("Unsaved changes", `Save the changes to ${tab.path} before closing?`, [
        { id: "cancel", label: "Cancel" },
        { id: "discard", label: "Discard", kind: "danger" },
        { id: "save", label: "Save", kind: "primary" },
      ]);
      if (r === null || r === "cancel") return false;
      if (r === "save" && !(await this.save(tab))) return false;
    }
    const i = this.tabs.indexOf(tab);
    this.tabs.splice(i, 1);
    tab.tabEl.remove();
    tab.view.destroy();
    if (this.active === tab) {
      this.active = null;
      const next = this.tabs[Math.min(i, this.tabs.length - 1)];
      if (next) this.activate(next);
      else if (this.viewerTabs.length) this.activateViewer(this.viewerTabs[this.viewerTabs.length - 1]);
      else {
        this.empty.hidden = false;
        this.syncTabs(null);
        this.hooks.changed(null);
      }
    }
    return true;
  }

  private tabElement(path: string): HTMLElement {
    return h("div.tab", { role: "tab", id: `editor-tab-${++this.tabSeq}`, title: path, "data-path": path, "aria-selected": "false", tabindex: -1, "aria-keyshortcuts": "Delete" });
  }

  /** tabElements are the tab strip's tabs (editors and viewers) in their order on screen. */
  private tabElements(): HTMLElement[] {
    return [...this.tabsEl.querySelectorAll<HTMLElement>('[role="tab"]')];
  }

  /** syncTabs marks active as the selected tab (the one in the Tab order) and names the panel after it. */
  private syncTabs(active: HTMLElement | null) {
    const all = this.tabElements();
    const inOrder = active ?? all[0];
    for (const el of all) {
      el.classList.toggle("active", el === active);
      el.setAttribute("aria-selected", String(el === active));
      el.tabIndex = el === inOrder ? 0 : -1;
    }
    if (active) {
      this.host.setAttribute("role", "tabpanel");
      this.host.setAttribute("aria-labelledby", active.id);
    } else {
      this.host.removeAttribute("role");
      this.host.removeAttribute("aria-labelledby");
    }
  }

  private tabOf(el: HTMLElement): { tab?: Tab; viewer?: ViewerTab } {
    return { tab: this.tabs.find((t) => t.tabEl === el), viewer: this.viewerTabs.find((v) => v.tabEl === el) };
  }

  private show(el: HTMLElement, focus: boolean) {
    const { tab, viewer } = this.tabOf(el);
    if (tab) this.activate(tab, focus);
    else if (viewer) this.activateViewer(viewer, focus);
  }

  /** focusTabs puts keyboard focus on the active tab (false when no tab is open). */
  focusTabs(): boolean {
    const all = this.tabElements();
    const el = all.find((e) => e.getAttribute("aria-selected") === "true") ?? all[0];
    el?.focus();
    return !!el;
  }

  /** cycle shows the next (delta 1) or previous (-1) tab, wrapping, with focus in its editor. */
  cycle(delta: 1 | -1): void {
    const all = this.tabElements();
    if (!all.length) return;
    const at = all.findIndex((e) => e.getAttribute("aria-selected") === "true");
    const i = rovingMove(delta > 0 ? "next" : "prev", at, all.length, true);
    if (i !== null) this.show(all[i], true);
  }

  private onTabKey(e: KeyboardEvent) {
    const el = (e.target as HTMLElement).closest?.<HTMLElement>('[role="tab"]');
    if (!el || e.altKey || e.metaKey) return;
    const all = this.tabElements();
    const at = all.indexOf(el);
    const keys: Record<string, RovingKey> = { ArrowRight: "next", ArrowLeft: "prev", Home: "first", End: "last" };
    if (keys[e.key] && !e.ctrlKey) {
      const i = rovingMove(keys[e.key], at, all.length, true);
      if (i !== null) {
        // Automatic activation: the tab's editor shows at once, focus stays on the strip.
        this.show(all[i], false);
        all[i].focus();
      }
    } else if ((e.key === "Enter" || e.key === " ") && !e.ctrlKey) {
      this.show(el, true);
    } else if ((e.key === "Delete" && !e.ctrlKey) || (e.ctrlKey && (e.key === "w" || e.key === "W" || e.key === "F4"))) {
      const { tab, viewer } = this.tabOf(el);
      const next = () => {
        // Focus stays on the strip, on the tab that took the closed one's place.
        if (!this.focusTabs()) this.host.focus();
      };
      if (tab) void this.close(tab).then((closed) => closed && next());
      else if (viewer) {
        this.closeViewer(viewer);
        next();
      }
    } else return;
    e.preventDefault();
    e.stopPropagation();
  }

  saveActive(): void {
    if (this.active) this.save(this.active);
  }

  /**
   * save writes the tab with If-Match on the etag it was read at. A 412 means
   * someone else changed the file: the user picks reload or overwrite.
   */
  async save(tab: Tab, force?: { etag?: string; create?: boolean }): Promise<boolean> {
    if (tab.saving) return false;
    tab.saving = true;
    const text = tab.view.state.doc.toString();
    try {
      const r = await this.api.write(tab.path, text, force ?? (tab.etag ? { etag: tab.etag } : { create: true }));
      tab.etag = r.etag;
      tab.saved = text;
      tab.stale = false;
      tab.deleted = false;
      this.renderTab(tab);
      this.hooks.changed(this.active);
      this.hooks.saved?.(tab.path);
      return true;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 412 || err.status === 404 || (err.status === 409 && force?.create))) {
        tab.saving = false;
        return this.resolveConflict(tab, err);
      }
      toast(`Save ${tab.path}: ${(err as Error).message}`, "error");
      return false;
    } finally {
      tab.saving = false;
    }
  }

  private async resolveConflict(tab: Tab, err: ApiError): Promise<boolean> {
    let current: { text: string; etag: string } | null = null;
    try {
      current = await this.api.read(tab.path);
    } catch {
      current = null; // deleted on disk
    }
    const gone = current === null;
    const msg = gone
      ? `${tab.path} was deleted on disk after you opened it. Recreate it with your version, or discard your version and close the tab.`
      : `${tab.path} changed on disk since you opened it. Reload takes the disk version (your edits stay in undo history: Ctrl+Z), Overwrite replaces the disk version with yours.`;
    const choice = await choose("Save conflict", msg, gone
      ? [
        { id: "cancel", label: "Keep editing" },
        { id: "close", label: "Discard and close", kind: "danger" },
        { id: "overwrite", label: "Recreate", kind: "primary" },
      ]
      : [
        { id: "cancel", label: "Keep editing" },
        { id: "reload", label: "Reload from disk" },
        { id: "overwrite", label: "Overwrite disk", kind: "primary" },
      ], "conflict");
    if (choice === "reload" && current) {
      this.replaceFromDisk(tab, current.text, current.etag);
      return false;
    }
    if (choice === "overwrite") {
      const etag = (err.details?.current_etag as string | undefined) ?? current?.etag;
      return this.save(tab, gone ? { create: true, etag: undefined } : { etag: etag ? quoteETag(etag) : undefined });
    }
    if (choice === "close") {
      tab.saved = tab.view.state.doc.toString(); // discarding was chosen explicitly
      await this.close(tab);
    }
    return false;
  }

  /** replaceFromDisk swaps in the disk text as one undoable change. */
  private replaceFromDisk(tab: Tab, text: string, etag: string) {
    // Its own undo step, never merged with the user's typing, so Ctrl+Z brings their version back.
    tab.view.dispatch({ changes: { from: 0, to: tab.view.state.doc.length, insert: text }, annotations: isolateHistory.of("full") });
    tab.etag = etag;
    tab.saved = text;
    tab.stale = false;
    tab.deleted = false;
    this.renderTab(tab);
    this.hooks.changed(this.active);
  }

  /** applyEvents reacts to the watch stream: clean tabs follow the disk, dirty ones are flagged. */
  applyEvents(events: WatchEvent[]): void {
    const touched = new Map<string, WatchEvent>();
    for (const ev of events) touched.set(ev.path, ev);
    for (const vt of this.viewerTabs) {
      const ev = touched.get(vt.path);
      if (ev && (ev.op === "write" || ev.op === "create")) vt.viewer.changed();
    }
    for (const tab of this.tabs) {
      const ev = touched.get(tab.path);
      if (!ev || tab.saving) continue;
      if (ev.op === "remove" || ev.op === "rename") {
        tab.deleted = true;
        this.renderTab(tab);
        continue;
      }
      void this.recheck(tab, false);
    }
  }

  /**
   * refreshAll rechecks every open tab against the disk (after a reconnect:
   * the watch events sent while disconnected were missed). Clean tabs reload,
   * modified ones are marked stale (the save conflict flow then decides),
   * files gone are marked deleted; nothing typed is ever overwritten.
   */
  async refreshAll(): Promise<void> {
    await Promise.all(this.tabs.filter((t) => !t.saving).map((t) => this.recheck(t, true)));
  }

  /** recheck reads tab's file and follows the disk if it changed; goneMeansDeleted marks a file that no longer exists. */
  private async recheck(tab: Tab, goneMeansDeleted: boolean): Promise<void> {
    const path = tab.path;
    let cur: { text: string; etag: string };
    try {
      cur = await this.api.read(path);
    } catch (err) {
      if (goneMeansDeleted && (err as { status?: number }).status === 404 && tab.path === path && this.tabs.includes(tab) && !tab.deleted) {
        tab.deleted = true;
        this.renderTab(tab);
        this.hooks.changed(this.active);
      }
      return;
    }
    if (tab.path !== path || !this.tabs.includes(tab) || tab.saving) return;
    if (cur.etag === tab.etag) {
      if (tab.deleted && goneMeansDeleted) {
        tab.deleted = false; // it is back, as it was
        this.renderTab(tab);
        this.hooks.changed(this.active);
      }
      return;
    }
    tab.deleted = false;
    if (!isDirty(tab)) this.replaceFromDisk(tab, cur.text, cur.etag);
    else {
      tab.stale = true;
      this.renderTab(tab);
      this.hooks.changed(this.active);
    }
  }

  /**
   * moved re-points the tabs of a renamed file or folder (every file inside
   * it) at their new paths: the same editors, unsaved edits and undo history
   * kept; language, language server document and .editorconfig follow the
   * new path. Viewer tabs (waves) reopen on the new path.
   */
  async moved(from: string, to: string): Promise<void> {
    const inside = (p: string) => p === from || p.startsWith(from + "/");
    const moved = (p: string) => (inside(p) ? to + p.slice(from.length) : p);
    for (const tab of this.tabs) {
      if (inside(tab.path)) this.retarget(tab, moved(tab.path));
    }
    const activeTab = this.active;
    const activeViewer = this.activeViewer ? moved(this.activeViewer.path) : null;
    let reopened = false;
    for (const vt of [...this.viewerTabs]) {
      if (!inside(vt.path)) continue;
      this.closeViewer(vt);
      await this.open(moved(vt.path));
      reopened = true;
    }
    if (reopened) {
      // Reopening activates each viewer: give the focus back to what had it.
      const vt = activeViewer === null ? undefined : this.viewerTabs.find((v) => v.path === activeViewer);
      if (vt) this.activateViewer(vt);
      else if (activeTab && this.tabs.includes(activeTab)) this.activate(activeTab);
    }
    this.hooks.changed(this.active);
  }

  private retarget(tab: Tab, path: string) {
    const lang = languageFor(path);
    const effects = [
      tab.pathConf.reconfigure(pathAttributes(path)),
      // The server closes the old document (its plugin goes) before attach opens the new one.
      tab.lspConf.reconfigure([]),
      tab.styleConf.reconfigure([]),
    ];
    if (lang?.id !== tab.lang?.id) effects.push(tab.langConf.reconfigure([]));
    tab.view.dispatch({ effects });
    tab.path = path;
    tab.deleted = false;
    tab.tabEl.title = path;
    tab.tabEl.dataset.path = path;
    this.renderTab(tab);
    if (lang?.id !== tab.lang?.id) {
      tab.lang = lang;
      lang?.load().then((ext) => {
        if (tab.path === path) tab.view.dispatch({ effects: tab.langConf.reconfigure(ext) });
      }, (err) => console.warn("language", lang.id, err));
    }
    this.attach(tab);
  }

  removed(path: string): void {
    for (const tab of this.tabs) {
      if (tab.path === path || tab.path.startsWith(path + "/")) {
        tab.deleted = true;
        this.renderTab(tab);
      }
    }
  }
}

/**
 * closeControl is the tab's close mark for the pointer. A tab's content is
 * presentational (ARIA), so it is no button: keyboard and screen-reader
 * users close the focused tab with Delete (the tab says so in
 * aria-keyshortcuts), and the label says whether it is modified.
 */
function closeControl(path: string, dirty: boolean, close: () => void): HTMLElement {
  return h("span.tab-close", {
    title: (dirty ? "Unsaved changes — close " : "Close ") + basename(path),
    "aria-hidden": "true",
    "data-testid": "tab-close",
    onclick: (e: Event) => {
      e.stopPropagation();
      close();
    },
  }, dirty ? "●" : "×");
}

function pathAttributes(path: string): Extension {
  return EditorView.contentAttributes.of({ "data-path": path, "aria-label": path });
}

export function isDirty(tab: Tab): boolean {
  return tab.deleted || tab.view.state.doc.toString() !== tab.saved;
}

function quoteETag(e: string): string {
  return e.startsWith('"') || e.startsWith("W/") ? e : `"${e}"`;
}
