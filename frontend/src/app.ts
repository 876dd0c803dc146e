// App: the IDE shell wiring the file tree, editors, panels and status bar to
// one sessiond connection.
import type { Extension } from "@codemirror/state";
import { type Connection, httpURL, onTrouble, wsURL } from "./api/conn";
import { type LspLanguage, Sessiond, type WatchEvent } from "./api/sessiond";
import { ReconnectingSocket } from "./api/socket";
import { StatusHub } from "./api/status";
import { desktopHost, UnsavedReporter } from "./desktop";
import { EditorArea, isDirty, type Tab } from "./editor/area";
import type { LanguageInfo } from "./editor/languages";
import type { Diagnostic, LspServer } from "./lsp/lsp";
import { HardwarePanel, OutputPanel } from "./ui/build";
import { toast } from "./ui/dialog";
import { clear, h } from "./ui/dom";
import { RestartWatch, sessionIDOf } from "./ui/restarting";
import { TelemetryView } from "./ui/telemetry";
import { TerminalPanel } from "./ui/terminal";
import { TrustBanner } from "./ui/trust";
import { FileTree } from "./ui/tree";

type PanelId = "problems" | "output" | "terminal" | "telemetry";

export class App {
  readonly api: Sessiond;
  readonly status = new StatusHub();
  tree!: FileTree;
  editors!: EditorArea;
  private terminals!: TerminalPanel;
  private output!: OutputPanel;
  private hardware!: HardwarePanel;
  private telemetry!: TelemetryView;
  private problemsEl = h("div.problems", { "data-testid": "problems" });
  private problems = new Map<string, Diagnostic[]>();
  private panelTabs = new Map<PanelId, HTMLElement>();
  private panelBodies = new Map<PanelId, HTMLElement>();
  private panelEl!: HTMLElement;
  private activePanel: PanelId | null = null;
  private cursorEl = h("span.status-item", {});
  private langEl = h("span.status-item", {});
  private pathEl = h("span.status-item.path", {});
  private problemsCount = h("span.status-item.clickable", { title: "Problems" }, "⊗ 0 ⚠ 0");
  private lspLanguages: Promise<LspLanguage[]>;
  private lspServers = new Map<string, LspServer>();
  private host = desktopHost();
  private unsaved = new UnsavedReporter(this.host);
  private trust!: TrustBanner;

  constructor(readonly conn: Connection, private root: HTMLElement) {
    this.api = new Sessiond(conn);
    this.lspLanguages = this.loadLspLanguages();
  }

  private loadLspLanguages(): Promise<LspLanguage[]> {
    return this.api.lspLanguages().then((r) => r.languages.filter((l) => l.available), () => []);
  }

  async start(): Promise<void> {
    const linkState = (name: string, s: Parameters<StatusHub["set"]>[1]) => this.status.set(name, s);
    this.editors = new EditorArea(this.api, {
      lsp: (path, lang) => this.lspFor(path, lang),
      changed: (tab) => this.onTabChanged(tab),
    });
    this.tree = new FileTree(this.api, {
      openFile: (p) => void this.editors.open(p),
      moved: (a, b) => void this.editors.moved(a, b),
      removed: (p) => this.editors.removed(p),
    });
    this.output = new OutputPanel(this.conn, linkState);
    this.hardware = new HardwarePanel(this.api, this.output, { showOutput: () => this.showPanel("output"), state: linkState });
    this.terminals = new TerminalPanel(this.conn, linkState);
    this.telemetry = new TelemetryView(this.conn, linkState);
    // Once trusted, editors opened from now on get the workspace's languages.
    this.trust = new TrustBanner(this.conn, this.host, () => (this.lspLanguages = this.loadLspLanguages()));
    this.unsaved.report([]);
    this.watchRestarts();
    this.render();
    this.watch();
    this.probeHealth();
    window.addEventListener("online", () => this.status.setOnline(true));
    window.addEventListener("offline", () => this.status.setOnline(false));
    window.addEventListener("beforeunload", (e) => {
      if (this.editors.dirtyTabs.length) e.preventDefault();
    });
    window.addEventListener("keydown", (e) => {
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.key === "s") {
        e.preventDefault(); // never the browser's "save page"
        this.editors.saveActive();
      } else if (mod && e.key === "`") {
        e.preventDefault();
        this.showPanel("terminal");
      } else if (mod && e.shiftKey && (e.key === "B" || e.key === "b")) {
        e.preventDefault();
        this.hardware.build();
      }
    });
    await Promise.all([this.tree.load(), this.hardware.init(), this.trust.refresh()]);
    // Deep link: #open=path/in/workspace opens that file.
    const open = new URLSearchParams(location.hash.replace(/^#/, "")).get("open");
    if (open) {
      await this.editors.open(open);
      void this.tree.reveal(open);
    }
  }

  private render() {
    const statusDot = h("span.conn-dot", {});
    const statusText = h("span", { "data-testid": "conn-state" }, "connecting");
    const statusItem = h("span.status-item.conn", {}, statusDot, statusText);
    this.status.subscribe((s, detail) => {
      statusItem.dataset.state = s;
      statusText.textContent = s;
      statusItem.title = detail;
    });
    this.problemsCount.addEventListener("click", () => this.showPanel("problems"));

    const panels: [PanelId, string, HTMLElement][] = [
      ["problems", "Problems", this.problemsEl],
      ["output", "Output", this.output.el],
      ["terminal", "Terminal", this.terminals.el],
      ["telemetry", "Telemetry", this.telemetry.el],
    ];
    const tabs = h("div.panel-tabs", { role: "tablist" });
    const bodies = h("div.panel-bodies", {});
    for (const [id, label, body] of panels) {
      const t = h("button.panel-tab", { role: "tab", "data-panel": id, onclick: () => this.togglePanel(id) }, label);
      const b = h("div.panel-body", { hidden: true, "data-panel": id }, body);
      this.panelTabs.set(id, t);
      this.panelBodies.set(id, b);
      tabs.append(t);
      bodies.append(b);
    }
    this.panelEl = h("section.panel", { hidden: true },
      h("div.panel-head", {}, tabs, h("span.spacer", {}),
        h("button.icon-btn", { title: "Close panel", onclick: () => this.hidePanel() }, "×")),
      bodies);
    const panelResizer = h("div.resizer.horizontal", { title: "Drag to resize" });
    const sideResizer = h("div.resizer.vertical", { title: "Drag to resize" });
    const sidebar = h("aside.sidebar", {}, this.tree.el, this.hardware.el);
    const main = h("main.main", {}, this.editors.el, panelResizer, this.panelEl);

    clear(this.root);
    this.root.append(
      h("header.titlebar", {},
        h("span.brand", {}, "◆ Gatewave"),
        h("span.workspace", {}, new URL(this.conn.base).host),
        h("span.spacer", {}),
        this.hardware.buildBtn,
        h("button.btn.plain", { onclick: () => this.showPanel("terminal"), title: "Terminal (Ctrl+`)", "data-testid": "open-terminal" }, "Terminal"),
        h("button.btn.plain", { onclick: () => this.showPanel("telemetry"), title: "Telemetry", "data-testid": "open-telemetry" }, "Telemetry"),
      ),
      this.trust.el,
      h("div.body", {}, sidebar, sideResizer, main),
      h("footer.statusbar", {}, statusItem, this.pathEl, h("span.spacer", {}), this.problemsCount, this.cursorEl, this.langEl, this.telemetry.statusEl),
    );
    dragResize(sideResizer, "x", (d) => {
      const w = Math.min(600, Math.max(160, sidebar.getBoundingClientRect().width + d));
      sidebar.style.width = w + "px";
    });
    dragResize(panelResizer, "y", (d) => {
      const hgt = Math.min(window.innerHeight - 150, Math.max(100, this.panelEl.getBoundingClientRect().height - d));
      this.panelEl.style.height = hgt + "px";
      this.terminals.fit();
    });
  }

  togglePanel(id: PanelId): void {
    if (this.activePanel === id) this.hidePanel();
    else this.showPanel(id);
  }

  showPanel(id: PanelId): void {
    this.activePanel = id;
    this.panelEl.hidden = false;
    for (const [k, t] of this.panelTabs) t.classList.toggle("active", k === id);
    for (const [k, b] of this.panelBodies) b.hidden = k !== id;
    this.telemetry.visible = id === "telemetry";
    if (id === "telemetry") this.telemetry.show();
    if (id === "terminal") {
      if (this.terminals.count === 0) void this.terminals.add();
      else this.terminals.fit();
    }
  }

  hidePanel(): void {
    this.activePanel = null;
    this.panelEl.hidden = true;
    this.telemetry.visible = false;
    for (const t of this.panelTabs.values()) t.classList.remove("active");
  }

  private watch() {
    new ReconnectingSocket(() => wsURL(this.conn, "api/v1/files/watch"), {
      onOpen: (_ws, again) => {
        // Events may have been missed while disconnected.
        if (again) void this.tree.refreshAll();
      },
      onMessage: (data) => {
        if (typeof data !== "string") return;
        let events: WatchEvent[];
        try {
          events = JSON.parse(data);
        } catch {
          return;
        }
        if (!Array.isArray(events)) return;
        this.tree.applyEvents(events);
        this.editors.applyEvents(events);
        if (events.some((e) => e.path === ".ide" || e.path.startsWith(".ide/"))) void this.trust.refresh();
        if (events.some((e) => /\.(bin|bit|bitstream|fs|svf|dfu|jed)$/i.test(e.path))) void this.hardware.refresh();
      },
      onState: (s) => this.status.set("file watch", s),
    });
  }

  /**
   * watchRestarts shows the restarting overlay, in the cloud only, while
   * the session moves to a fresh container. Once sessiond answers again the
   * page reloads (every stream, language server and terminal starts over
   * against the new container) with the active file reopened; with unsaved
   * tabs it does not reload, which would lose them: the streams reconnect
   * by themselves and the tree is reread.
   */
  private watchRestarts() {
    const session = sessionIDOf(this.conn.base);
    if (!session) return;
    const w = new RestartWatch(session, {
      base: this.conn.base,
      recovered: () => {
        if (this.editors.dirtyTabs.length) {
          ReconnectingSocket.reconnectAll();
          void this.tree.refreshAll();
          toast("The session continues in a fresh container. Your unsaved tabs are kept: save them.", "info", 10_000);
          return;
        }
        const open = this.editors.active?.path;
        w.stop();
        history.replaceState(history.state, "", location.pathname + location.search + (open ? "#open=" + encodeURIComponent(open) : ""));
        location.reload();
      },
    });
    onTrouble((err) => w.notice(err));
  }

  /** probeHealth tells "reconnecting" (streams down) from "offline" (sessiond unreachable). */
  private probeHealth() {
    const probe = async () => {
      try {
        const r = await fetch(httpURL(this.conn, "healthz"), { cache: "no-store" });
        this.status.setReachable(r.ok);
      } catch {
        this.status.setReachable(false);
      }
      setTimeout(probe, this.status.overall === "connected" ? 15_000 : 2_000);
    };
    setTimeout(probe, 2_000);
  }

  private async lspFor(path: string, lang: LanguageInfo | null): Promise<Extension | null> {
    const langs = await this.lspLanguages;
    const ext = path.includes(".") ? path.slice(path.lastIndexOf(".") + 1).toLowerCase() : "";
    const server = langs.find((l) => lang && l.id === lang.id) ??
      langs.find((l) => ext && l.extensions.some((e) => e.replace(/^\./, "").toLowerCase() === ext));
    if (!server) return null;
    let s = this.lspServers.get(server.id);
    if (!s) {
      const { LspServer } = await import("./lsp/lsp");
      s = new LspServer({
        language: server.id,
        url: () => wsURL(this.conn, `api/v1/lsp/${encodeURIComponent(server.id)}`),
        hooks: {
          display: (p) => this.editors.open(p),
          diagnostics: (p, items) => this.setProblems(p, items),
          notify: (m, kind) => toast(m, kind),
          state: (n, st) => this.status.set(n, st),
        },
      });
      this.lspServers.set(server.id, s);
    }
    return s.extension(path, lang?.id ?? server.id);
  }

  private setProblems(path: string, items: Diagnostic[]) {
    if (items.length) this.problems.set(path, items);
    else this.problems.delete(path);
    clear(this.problemsEl);
    let errors = 0, warnings = 0;
    const all = [...this.problems.entries()].sort(([a], [b]) => a.localeCompare(b));
    for (const [p, list] of all) {
      this.problemsEl.append(h("div.problem-file", {}, p, h("span.count", {}, String(list.length))));
      for (const d of list) {
        if (d.severity === "error") errors++;
        else if (d.severity === "warning") warnings++;
        this.problemsEl.append(h("div.problem." + d.severity, {
          onclick: () => this.goto(p, d.line, d.character),
          title: d.source ?? "",
        }, h("span.sev", {}, d.severity === "error" ? "⊗" : d.severity === "warning" ? "⚠" : "ℹ"), h("span.msg", {}, d.message), h("span.loc", {}, `[${d.line}, ${d.character}]`)));
      }
    }
    if (!all.length) this.problemsEl.append(h("div.muted", {}, "No problems have been detected."));
    this.problemsCount.textContent = `⊗ ${errors} ⚠ ${warnings}`;
  }

  private async goto(path: string, line: number, ch: number) {
    const view = await this.editors.open(path);
    if (!view) return;
    const l = view.state.doc.line(Math.min(line, view.state.doc.lines));
    const pos = Math.min(l.from + ch - 1, l.to);
    view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
    view.focus();
  }

  private onTabChanged(tab: Tab | null) {
    this.unsaved.report(this.editors.dirtyTabs.map((t) => t.path));
    if (!tab) {
      this.cursorEl.textContent = "";
      this.langEl.textContent = "";
      this.pathEl.textContent = "";
      document.title = "Gatewave";
      return;
    }
    const st = tab.view.state;
    const head = st.selection.main.head;
    const line = st.doc.lineAt(head);
    this.cursorEl.textContent = `Ln ${line.number}, Col ${head - line.from + 1}`;
    this.langEl.textContent = tab.lang?.name ?? "Plain Text";
    this.pathEl.textContent = tab.path + (tab.stale ? " (changed on disk)" : tab.deleted ? " (deleted on disk)" : "");
    document.title = (isDirty(tab) ? "● " : "") + tab.path + " — Gatewave";
  }
}

function dragResize(handle: HTMLElement, axis: "x" | "y", move: (delta: number) => void) {
  handle.addEventListener("pointerdown", (e) => {
    let last = axis === "x" ? e.clientX : e.clientY;
    handle.setPointerCapture(e.pointerId);
    const onMove = (ev: PointerEvent) => {
      const cur = axis === "x" ? ev.clientX : ev.clientY;
      move(cur - last);
      last = cur;
    };
    const onUp = () => {
      handle.removeEventListener("pointermove", onMove);
      handle.removeEventListener("pointerup", onUp);
    };
    handle.addEventListener("pointermove", onMove);
    handle.addEventListener("pointerup", onUp);
  });
}
