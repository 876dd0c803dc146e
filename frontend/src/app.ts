// App: the IDE shell wiring the file tree, editors, panels and status bar to
// one sessiond connection.
import type { Extension } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { ApiError, type Connection, httpURL, onTrouble, requestJSON, wsURL } from "./api/conn";
import { type LspLanguage, Sessiond, type WatchEvent } from "./api/sessiond";
import { ReconnectingSocket } from "./api/socket";
import { StatusHub } from "./api/status";
import { desktopHost, UnsavedReporter } from "./desktop";
import { EditorArea, isDirty, type Tab } from "./editor/area";
import { EditorConfigs } from "./editor/editorconfig";
import type { LanguageInfo } from "./editor/languages";
import type { Diagnostic, LspHealth, LspServer } from "./lsp/lsp";
import { pathFromURI } from "./lsp/paths";
import { serverFor, statusFor } from "./lsp/status";
import { type BuildProblem, HardwarePanel, OutputPanel, showBuildMarks } from "./ui/build";
import { ReportPanel } from "./ui/report";
import { toast } from "./ui/dialog";
import { clear, h } from "./ui/dom";
import { RestartWatch, sessionIDOf } from "./ui/restarting";
import { TelemetryView } from "./ui/telemetry";
import { TerminalPanel } from "./ui/terminal";
import { TrustBanner } from "./ui/trust";
import { Commands, ideCommands, Palette, queryFilenames, runEditorCommand } from "./ui/palette";
import { FileTree } from "./ui/tree";
import { rovingMove } from "./ui/focus";
import "./ui/a11y.css";
import { HierarchyView, type HierarchyResult } from "./ui/hierarchy";
import { SimPanel } from "./ui/sim";
import { SearchPanel } from "./ui/search";
import { UserSettings } from "./ui/settings";
import { GitPanel } from "./ui/git";
import { GitAPI, parseDiffTabPath, diffTabPath } from "./ui/gitapi";
import { GitDiffViewer } from "./editor/gitdiff";
import { FleetPanel, type Preset } from "./ui/fleet";
import { FleetAPI, joinCommand } from "./ui/fleetapi";
import type { Testbench } from "./ui/sim";
import { WavesHub } from "./waves/hub";
import { showMenu } from "./waves/viewer";

type PanelId = "problems" | "output" | "report" | "terminal" | "telemetry" | "fleet";

export class App {
  readonly api: Sessiond;
  readonly status = new StatusHub();
  tree!: FileTree;
  editors!: EditorArea;
  /** The waveform viewers (.vcd/.fst tabs) and cross-probing with the HDL editors. */
  waves!: WavesHub;
  private terminals!: TerminalPanel;
  private output!: OutputPanel;
  private hardware!: HardwarePanel;
  /** The workspace's .editorconfig files, read on demand (a missing one is null). */
  private editorConfigs = new EditorConfigs((p) => this.api.read(p).then((c) => c.text, (err) => (err instanceof ApiError && err.status === 404 ? null : Promise.reject(err))));
  private sim!: SimPanel;
  private search!: SearchPanel;
  private git!: GitPanel;
  private gitDiffs = new Set<GitDiffViewer>();
  private telemetry!: TelemetryView;
  /** Run on the fleet and the user's tasks (the cloud only; ui/fleet.ts). */
  private fleetAPI!: FleetAPI;
  private fleet!: FleetPanel;
  private problemsEl = h("div.problems", { "data-testid": "problems" });
  private problems = new Map<string, Diagnostic[]>();
  /** The latest build's problems, kept apart from the language servers' and merged for display. */
  private buildProblems: BuildProblem[] = [];
  private report = new ReportPanel({ open: (p, l, c) => void this.goto(p, l, c ?? 1) });
  private panelTabs = new Map<PanelId, HTMLElement>();
  private panelBodies = new Map<PanelId, HTMLElement>();
  private panelEl!: HTMLElement;
  private activePanel: PanelId | null = null;
  private cursorEl = h("span.status-item", {});
  private langEl = h("span.status-item", {});
  private pathEl = h("span.status-item.path", {});
  private problemsCount = h("button.status-item.clickable", { title: "Problems: 0 errors, 0 warnings" }, "⊗ 0 ⚠ 0");
  private lspEl = h("span.status-item.lsp-status", { "data-testid": "lsp-status" });
  /** Every configured language server, available or not (the status bar says what is missing). */
  private lspLanguages: Promise<LspLanguage[]>;
  private lspLanguageList: LspLanguage[] | null = null;
  private lspServers = new Map<string, LspServer>();
  private lspStarting = new Map<string, Promise<LspServer>>();
  private lspHealth = new Map<string, LspHealth>();
  private hierarchy!: HierarchyView;
  private hierarchyServer: LspServer | null = null;
  private hierarchyTimer: ReturnType<typeof setTimeout> | null = null;
  private host = desktopHost();
  private unsaved = new UnsavedReporter(this.host);
  private trust!: TrustBanner;
  /** The user's theme, font and tab size (ui/settings.ts). */
  private settings!: UserSettings;
  /** Every action with its shortcut; the palette lists them. */
  readonly commands = new Commands();
  private palette = new Palette({
    commands: this.commands,
    files: async (q) => (await queryFilenames(this.conn, q)).results,
    open: (p, line, col) => void (line ? this.goto(p, line, col ?? 1) : this.editors.open(p)),
    activePath: () => this.editors.active?.path ?? null,
    symbols: async (query) => {
      const s = await this.hdlServer();
      if (!s) return null;
      const { workspaceSymbols, symbolKindName } = await import("./lsp/symbols");
      return { symbols: workspaceSymbols(await s.request("workspace/symbol", { query })), kindName: symbolKindName, pathOf: pathFromURI };
    },
    openSymbol: (sym) => void (sym.uri && this.openAt(sym.uri, sym.position)),
  });

  constructor(readonly conn: Connection, private root: HTMLElement) {
    this.api = new Sessiond(conn);
    this.lspLanguages = this.loadLspLanguages();
  }

  private loadLspLanguages(): Promise<LspLanguage[]> {
    const p = this.api.lspLanguages().then((r) => r.languages ?? [], () => []);
    void p.then((l) => {
      if (this.lspLanguages !== p) return;
      this.lspLanguageList = l;
      this.renderLspStatus();
      if (this.hierarchy) void this.setupHierarchy(l);
    });
    return p;
  }

  async start(): Promise<void> {
    const linkState = (name: string, s: Parameters<StatusHub["set"]>[1]) => this.status.set(name, s);
    this.waves = new WavesHub(this.conn, {
      hdl: () => this.hdlServer(),
      openAt: (uri, pos) => this.openAt(uri, pos),
    });
    this.editors = new EditorArea(this.api, {
      viewer: (path) => this.gitDiffViewer(path) ?? this.waves.viewerFor(path),
      style: (path) => this.editorConfigs.styleFor(path),
      lsp: (path, lang) => this.lspFor(path, lang),
      changed: (tab) => this.onTabChanged(tab),
      saved: (p) => {
        for (const s of this.lspServers.values()) s.didSave(p);
      },
    });
    this.hierarchy = new HierarchyView({
      fetch: () => this.hierarchyServer ? this.hierarchyServer.request<HierarchyResult>("gatewave/hierarchy", {}) : Promise.reject(new Error("the HDL language server is not running")),
      open: (uri, range) => void this.openAt(uri, range.start),
    });
    if (this.lspLanguageList) void this.setupHierarchy(this.lspLanguageList);
    this.tree = new FileTree(this.api, {
      openFile: (p) => this.editors.open(p),
      moved: (a, b) => void this.editors.moved(a, b),
      removed: (p) => this.editors.removed(p),
    });
    this.output = new OutputPanel(this.conn, linkState, {
      open: (p, l, c) => void this.goto(p, l, c ?? 1),
      problems: (_task, list) => this.setBuildProblems(list),
      report: (r) => this.report.show(r),
    });
    this.hardware = new HardwarePanel(this.api, this.output, { showOutput: () => this.showPanel("output"), state: linkState });
    this.fleetAPI = new FleetAPI(this.conn.base);
    this.fleet = new FleetPanel(this.fleetAPI, {
      show: () => this.showPanel("fleet"),
      visible: () => this.activePanel === "fleet",
      saveAll: () => this.saveAll(),
      dockerfiles: async () => (await queryFilenames(this.conn, "Dockerfile", 50)).results.map((r) => r.path).filter((p) => /dockerfile/i.test(p.slice(p.lastIndexOf("/") + 1))),
      presets: () => this.fleetPresets(),
      flash: (name, load) => {
        this.hardware.el.scrollIntoView({ block: "nearest" });
        void this.hardware.flash.flash({ name, load });
      },
      open: (p, l, c) => void this.goto(p, l, c ?? 1),
    });
    this.sim = new SimPanel(this.conn, { output: this.output, showOutput: () => this.showPanel("output"), open: (p, l, c) => void this.goto(p, l, c ?? 1), openWaves: (p) => void this.editors.open(p) });
    this.search = new SearchPanel(this.conn, { open: (p, l, c) => void this.goto(p, l, c), isDirty: (p) => { const t = this.editors.find(p); return !!t && isDirty(t); } });
    this.git = new GitPanel(new GitAPI(this.conn), {
      openDiff: (p, staged) => void this.editors.open(diffTabPath(p, staged)),
      openFile: (p) => void this.editors.open(p),
      changed: () => { for (const d of this.gitDiffs) void d.reload(); },
    });
    this.terminals = new TerminalPanel(this.conn, linkState);
    this.telemetry = new TelemetryView(this.conn, linkState);
    // Once trusted, editors opened from now on get the workspace's languages.
    this.trust = new TrustBanner(this.conn, this.host, () => (this.lspLanguages = this.loadLspLanguages()));
    this.unsaved.report([]);
    this.watchRestarts();
    this.render();
    this.settings = new UserSettings(this.conn, { apply: (s) => {
      this.editors.setPrefs(s);
      this.terminals.setFontSize(s.fontSize);
    } });
    // Just after the first paint: the theme is in place before files open.
    const settingsLoaded = this.settings.load();
    this.commands.add(...this.settings.commands());
    this.watch();
    this.probeHealth();
    window.addEventListener("online", () => this.status.setOnline(true));
    window.addEventListener("offline", () => this.status.setOnline(false));
    window.addEventListener("beforeunload", (e) => {
      if (this.editors.dirtyTabs.length) e.preventDefault();
    });
    this.commands.add(...ideCommands({
      save: () => this.editors.saveActive(),
      closeEditor: () => void (this.editors.active && this.editors.close(this.editors.active)),
      hasEditor: () => !!this.editors.active,
      build: () => void this.hardware.build(),
      simulate: () => void this.sim.run(),
      flash: () => void this.hardware.flash.flash(),
      showPanel: (id) => this.showPanel(id),
      hidePanel: () => this.hidePanel(),
      newTerminal: () => (this.showPanel("terminal"), void this.terminals.add()),
      newFile: () => void this.tree.createFile(),
      newFolder: () => void this.tree.createDir(),
      renameSelected: () => void this.tree.renameSelected(),
      deleteSelected: () => void this.tree.deleteSelected(),
      refreshFiles: () => void this.tree.refreshAll(),
      // Mod-Alt-W: add the signal under the cursor to the waves
      addToWaves: () => void (this.editors.active && this.waves.addFromEditor(this.editors.active.view, this.editors.active.path)),
      canAddToWaves: () => !!this.editors.active,
      editor: (name) => void (this.editors.active && runEditorCommand(this.editors.active.view, name)),
    }, () => this.palette));
    this.commands.add({ id: "search.files", title: "Search: Find in Files", shortcut: "Ctrl+Shift+F", run: () => {
      const v = this.editors.active?.view;
      this.search.show(v ? v.state.sliceDoc(v.state.selection.main.from, v.state.selection.main.to) : undefined);
    } });
    this.commands.add(...this.gitCommands());
    this.commands.add(
      { id: "fleet.run", title: "Fleet: Run on the Fleet…", shortcut: "Ctrl+Alt+B", run: () => this.fleet.runDialog() },
      { id: "fleet.tasks", title: "Fleet: Show Tasks", run: () => this.fleet.showTasks() },
    );
    window.addEventListener("focus", () => this.git.schedule(50)); // git run in a terminal or outside
    this.git.poll();
    this.commands.add(
      { id: "view.focusExplorer", title: "View: Focus Explorer", shortcut: "Ctrl+Shift+E", run: () => this.tree.focus() },
      { id: "view.focusTabs", title: "View: Focus Open Editors (arrows move, Delete closes)", run: () => this.editors.focusTabs() },
      // Chromium keeps Ctrl+Tab and Ctrl+PageDown for its own tabs in a browser window; the desktop app gets them.
      { id: "view.nextEditor", title: "View: Next Editor", shortcut: "Ctrl+PageDown", run: () => this.editors.cycle(1) },
      { id: "view.previousEditor", title: "View: Previous Editor", shortcut: "Ctrl+PageUp", run: () => this.editors.cycle(-1) },
    );
    window.addEventListener("keydown", (e) => this.commands.handleKey(e));
    this.editors.el.addEventListener("contextmenu", (e) => {
      const tab = this.editors.active;
      if (!tab || !this.waves.current || !this.waves.canProbe(tab.path) || !(e.target as Element).closest?.(".cm-content")) return;
      e.preventDefault();
      const pos = tab.view.posAtCoords({ x: e.clientX, y: e.clientY });
      if (pos !== null && !tab.view.state.selection.ranges.some((r) => r.from <= pos && pos <= r.to)) tab.view.dispatch({ selection: { anchor: pos } });
      showMenu([{ label: "Add to waves", key: "Ctrl+Alt+W", testid: "add-to-waves", run: () => this.waves.addFromEditor(tab.view, tab.path) }], e.clientX, e.clientY, () => tab.view.focus());
    });
    await Promise.all([settingsLoaded, this.tree.load(), this.hardware.init(), this.sim.refresh(), this.trust.refresh(), this.git.refresh()]);
    // The last build's report, from before this page was opened.
    this.api.buildReport<Parameters<ReportPanel["show"]>[0]>().then((r) => this.report.show(r), () => {});
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
    // The one live part of the status bar: the connection's state, said politely when it changes.
    const statusItem = h("span.status-item.conn", { role: "status" }, statusDot, statusText);
    this.status.subscribe((s, detail) => {
      statusItem.dataset.state = s;
      statusText.textContent = s;
      statusItem.title = detail;
    });
    this.problemsCount.addEventListener("click", () => this.showPanel("problems"));
    this.renderProblems(); // "No problems" until a language server or a build says otherwise
    this.lspEl.addEventListener("click", () => {
      if (this.lspEl.title) toast(this.lspEl.title, this.lspEl.dataset.level === "error" ? "error" : "info", 10_000);
    });

    const panels: [PanelId, string, HTMLElement][] = [
      ["problems", "Problems", this.problemsEl],
      ["output", "Output", this.output.el],
      ["report", "Report", this.report.el],
      ["terminal", "Terminal", this.terminals.el],
      ["telemetry", "Telemetry", this.telemetry.el],
    ];
    // The fleet is the cloud's: its tab shows under /s/{session}/ only.
    if (this.fleetAPI.session) panels.splice(2, 0, ["fleet", "Fleet", this.fleet.el]);
    const tabs = h("div.panel-tabs", { role: "tablist", "aria-label": "Panels", onkeydown: (e: Event) => panelKeys(e as KeyboardEvent, tabs) });
    const bodies = h("div.panel-bodies", {});
    for (const [id, label, body] of panels) {
      const t = h("button.panel-tab", { role: "tab", id: "panel-tab-" + id, "aria-controls": "panel-" + id, "aria-selected": "false", tabindex: id === "problems" ? 0 : -1, "data-panel": id, onclick: () => this.togglePanel(id) }, label);
      const b = h("div.panel-body", { hidden: true, id: "panel-" + id, role: "tabpanel", "aria-labelledby": "panel-tab-" + id, "data-panel": id }, body);
      this.panelTabs.set(id, t);
      this.panelBodies.set(id, b);
      tabs.append(t);
      bodies.append(b);
    }
    this.panelEl = h("section.panel", { hidden: true, "aria-label": "Panel" },
      h("div.panel-head", {}, tabs, h("span.spacer", {}),
        h("button.icon-btn", { title: "Close panel", "aria-label": "Close panel", onclick: () => this.hidePanel() }, "×")),
      bodies);
    const panelResizer = h("div.resizer.horizontal", { title: "Drag to resize" });
    const sideResizer = h("div.resizer.vertical", { title: "Drag to resize" });
    const sidebar = h("aside.sidebar", { "aria-label": "Side bar" }, this.search.el, this.tree.el, this.git.el, this.hierarchy.el, this.hardware.el, this.sim.el);
    const main = h("main.main", { "aria-label": "Editor" }, this.editors.el, panelResizer, this.panelEl);

    clear(this.root);
    this.root.append(
      h("header.titlebar", {},
        h("h1.brand", {}, h("span", { "aria-hidden": "true" }, "◆ "), "Gatewave"),
        h("span.workspace", {}, new URL(this.conn.base).host),
        h("span.spacer", {}),
        this.hardware.buildBtn,
        this.sim.simBtn,
        h("button.btn.plain", { onclick: () => this.showPanel("terminal"), title: "Terminal (Ctrl+`)", "data-testid": "open-terminal" }, "Terminal"),
        h("button.btn.plain", { onclick: () => this.showPanel("telemetry"), title: "Telemetry", "data-testid": "open-telemetry" }, "Telemetry"),
      ),
      this.trust.el,
      h("div.body", {}, sidebar, sideResizer, main),
      h("footer.statusbar", { "aria-label": "Status bar" }, statusItem, this.pathEl, h("span.spacer", {}), this.problemsCount, this.cursorEl, this.langEl, this.lspEl, this.telemetry.statusEl),
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
    for (const [k, t] of this.panelTabs) {
      t.classList.toggle("active", k === id);
      t.setAttribute("aria-selected", String(k === id));
      t.tabIndex = k === id ? 0 : -1;
    }
    for (const [k, b] of this.panelBodies) b.hidden = k !== id;
    this.telemetry.visible = id === "telemetry";
    if (id === "telemetry") this.telemetry.show();
    if (id === "fleet") this.fleet.shown();
    if (id === "terminal") {
      if (this.terminals.count === 0) void this.terminals.add();
      else this.terminals.fit();
    }
  }

  hidePanel(): void {
    this.activePanel = null;
    this.panelEl.hidden = true;
    this.telemetry.visible = false;
    for (const t of this.panelTabs.values()) {
      t.classList.remove("active");
      t.setAttribute("aria-selected", "false");
    }
  }

  /** saveAll saves every editor with unsaved changes (before the fleet runs the workspace); false when one was not saved. */
  private async saveAll(): Promise<boolean> {
    let ok = true;
    for (const t of this.editors.dirtyTabs) if (!(await this.editors.save(t))) ok = false;
    return ok && !this.editors.dirtyTabs.length;
  }

  /** fleetPresets suggests runs of this workspace: its Makefile's build, each Verilog testbench under iverilog. */
  private async fleetPresets(): Promise<Preset[]> {
    const out: Preset[] = [];
    const make = await this.api.read("Makefile").then((c) => c.text, () => null);
    if (make !== null) {
      const proj = /^\s*PROJ\s*[:?]?=\s*(\S+)/m.exec(make)?.[1];
      out.push({ label: "Build: make BUILD=/out", command: "make BUILD=/out", artifacts: proj ? `${proj}.bin` : "" });
    }
    const tbs = await requestJSON<{ testbenches: Testbench[] }>(this.conn, "GET", "api/v1/sim/testbenches").then((r) => r.testbenches ?? [], () => []);
    for (const tb of tbs) {
      if (tb.error || !tb.simulators.includes("iverilog")) continue;
      // The code is read-only at /code: the run is in a copy (so the
      // testbench reads and writes relative paths as in the workspace),
      // and the dump it writes (its $dumpfile, when relative) is kept.
      const src = await this.api.read(tb.file).then((c) => c.text, () => "");
      const dump = /\$dumpfile\s*\(\s*"([^"]+)"/.exec(src)?.[1] ?? "";
      const keep = dump && !dump.startsWith("/") && !dump.split("/").includes("..") ? dump : "";
      const dir = keep.includes("/") ? keep.slice(0, keep.lastIndexOf("/")) : "";
      const q = (s: string) => joinCommand([s]);
      const sh = `cp -r /code/. /tmp/w && chmod -R u+w /tmp/w && cd /tmp/w && ${dir ? `mkdir -p ${q(dir)} && ` : ""}iverilog -g2012 -o /tmp/tb -s ${tb.top} ${tb.files.map(q).join(" ")} && vvp -n /tmp/tb` +
        (keep ? ` && mkdir -p /out/${dir ? q(dir) : "."} && cp ${q(keep)} /out/${q(keep)}` : "");
      out.push({ label: `Simulate: ${tb.file} (iverilog)`, command: `sh -c "${sh.replace(/["\\$`]/g, "\\$&")}"`, artifacts: keep });
    }
    return out;
  }

  /** The git diff tab for a "⎇diff/..." path (see ui/gitapi.ts), or null. */
  private gitDiffViewer(tab: string) {
    const t = parseDiffTabPath(tab);
    if (!t) return null;
    const v = new GitDiffViewer(new GitAPI(this.conn), t.path, t.staged, {
      changed: () => void this.git.refresh(),
      openFile: (p) => void this.editors.open(p),
    });
    const dispose = v.dispose.bind(v);
    v.dispose = () => (this.gitDiffs.delete(v), dispose());
    this.gitDiffs.add(v);
    return v;
  }

  private gitCommands() {
    const active = () => this.editors.active;
    return [
      { id: "git.focus", title: "Git: Focus Source Control", shortcut: "Ctrl+Shift+G", run: () => this.git.focus() },
      { id: "git.commit", title: "Git: Commit Staged", run: () => this.git.commit() },
      { id: "git.push", title: "Git: Push", run: () => this.git.sync("push") },
      { id: "git.pull", title: "Git: Pull", run: () => this.git.sync("pull") },
      { id: "git.branch", title: "Git: Switch or Create Branch…", run: () => this.git.pickBranch() },
      { id: "git.log", title: "Git: Show Log", run: () => this.git.toggleLog() },
      { id: "git.fileLog", title: "Git: Show Log of This File", enabled: () => !!active(), run: () => this.git.toggleLog(active()!.path) },
      { id: "git.diffFile", title: "Git: Open Changes of This File", enabled: () => !!active(), run: () => void this.editors.open(diffTabPath(active()!.path, false)) },
      { id: "git.blame", title: "Git: Blame This Line", enabled: () => !!active(), run: () => {
        const t = active()!;
        return this.git.blame(t.path, t.view.state.doc.lineAt(t.view.state.selection.main.head).number);
      } },
      { id: "git.refresh", title: "Git: Refresh", run: () => this.git.refresh() },
    ];
  }

  private watch() {
    // Registered before it opens: the status bar says connecting until the watch stream is live.
    this.status.set("file watch", "connecting");
    new ReconnectingSocket(() => wsURL(this.conn, "api/v1/files/watch"), {
      onOpen: (_ws, again) => {
        // Events may have been missed while disconnected: the tree and the open tabs are rechecked.
        if (again) {
          void this.tree.refreshAll();
          void this.editors.refreshAll();
        }
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
        this.git.schedule();
        this.editors.applyEvents(events);
        this.editorConfigs.changed(events.map((e) => e.path));
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
    const server = serverFor(path, lang?.id, await this.lspLanguages);
    // A configured server whose binary is missing: the status bar says so.
    if (!server || !server.available) return null;
    const s = await this.ensureServer(server);
    return s.extension(path, lang?.id ?? server.id);
  }

  /** ensureServer returns the one LspServer for a language, starting it on first use. */
  private ensureServer(server: LspLanguage): Promise<LspServer> {
    const running = this.lspServers.get(server.id);
    if (running) return Promise.resolve(running);
    let p = this.lspStarting.get(server.id);
    if (!p) {
      p = import("./lsp/lsp").then(({ LspServer }) => {
        const s = new LspServer({
          language: server.id,
          url: () => wsURL(this.conn, `api/v1/lsp/${encodeURIComponent(server.id)}`),
          hooks: {
            display: (p) => this.editors.open(p),
            diagnostics: (p, items) => this.setProblems(p, items),
            notify: (m, kind) => toast(m, kind),
            state: (n, st) => this.status.set(n, st),
            read: (p) => this.api.read(p).then((c) => c.text),
            health: (h) => {
              this.lspHealth.set(server.id, h);
              this.renderLspStatus();
              if (this.hierarchyServer && this.lspServers.get(server.id) === this.hierarchyServer) this.hierarchyHealth(h);
            },
          },
        });
        this.lspServers.set(server.id, s);
        this.lspStarting.delete(server.id);
        return s;
      });
      this.lspStarting.set(server.id, p);
    }
    return p;
  }

  /**
   * setupHierarchy shows the design hierarchy when the workspace has the
   * HDL server ("hdl"): that server starts at once (it indexes the
   * workspace itself, no file needs to be open) and the tree follows its
   * gatewave/hierarchyChanged notifications and reconnects.
   */
  private async setupHierarchy(langs: LspLanguage[]) {
    const hdl = langs.find((l) => l.id === "hdl");
    if (!hdl) {
      this.hierarchy.hide();
      return;
    }
    if (!hdl.available) {
      this.hierarchy.message(`The HDL language server (${hdl.command}) is not installed.`, "error");
      return;
    }
    if (this.hierarchyServer) return;
    const s = await this.ensureServer(hdl);
    if (this.hierarchyServer) return;
    this.hierarchyServer = s;
    this.hierarchy.message("Starting the HDL language server…");
    s.onReady(() => void this.hierarchy.refresh());
    s.onNotification("gatewave/hierarchyChanged", () => {
      // Saves of several files come in bursts; fetch once.
      if (this.hierarchyTimer) clearTimeout(this.hierarchyTimer);
      this.hierarchyTimer = setTimeout(() => {
        this.hierarchyTimer = null;
        void this.hierarchy.refresh();
      }, 150);
    });
    if (s.ready) void this.hierarchy.refresh();
  }

  private hierarchyHealth(h: LspHealth) {
    if (h.state === "reconnecting") this.hierarchy.message("HDL language server stopped — reconnecting", h.failures >= 3 ? "error" : "info");
  }

  private renderLspStatus() {
    const st = statusFor(this.editors?.active?.path ?? null, this.lspLanguageList, this.lspHealth);
    this.lspEl.textContent = st.text;
    this.lspEl.title = st.detail;
    this.lspEl.dataset.level = st.level;
    this.lspEl.hidden = !st.text;
    this.lspEl.classList.toggle("clickable", !!st.detail);
  }

  /** hdlServer is the HDL language server ("hdl"), started if needed, or null when the workspace has none. */
  private async hdlServer(): Promise<LspServer | null> {
    const hdl = (await this.lspLanguages).find((l) => l.id === "hdl");
    return hdl?.available ? this.ensureServer(hdl) : null;
  }

  /** openAt opens a workspace URI with the cursor at an LSP position. */
  private async openAt(uri: string, pos: { line: number; character: number }) {
    const path = pathFromURI(uri);
    if (path === null) return;
    const view = await this.editors.open(path);
    if (!view) return;
    const doc = view.state.doc;
    const line = doc.line(Math.min(Math.max(pos.line, 0) + 1, doc.lines));
    const at = line.from + Math.min(Math.max(pos.character, 0), line.length);
    // Centred: a jump target at the viewport's bottom edge hides what follows it.
    view.dispatch({ selection: { anchor: at }, effects: EditorView.scrollIntoView(at, { y: "center" }) });
    view.focus();
  }

  private setProblems(path: string, items: Diagnostic[]) {
    if (items.length) this.problems.set(path, items);
    else this.problems.delete(path);
    this.renderProblems();
  }

  /** setBuildProblems replaces the build's problems (a new run clears the last one's). */
  private setBuildProblems(list: BuildProblem[]) {
    const before = new Set(this.buildProblems.map((p) => p.file ?? ""));
    this.buildProblems = list;
    this.renderProblems();
    for (const p of new Set([...before, ...list.map((p) => p.file ?? "")])) {
      const view = p ? this.editors.find(p)?.view : undefined;
      if (view) showBuildMarks(view, list.filter((b) => b.file === p));
    }
  }

  /** renderProblems merges the language servers' and the build's problems, each tagged with its source. */
  private renderProblems() {
    clear(this.problemsEl);
    let errors = 0, warnings = 0;
    type Row = { severity: string; message: string; source?: string; line: number; character: number; build: boolean };
    const files = new Map<string, Row[]>();
    const add = (p: string, r: Row) => (files.get(p) ?? files.set(p, []).get(p)!).push(r);
    for (const [p, list] of this.problems) for (const d of list) add(p, { ...d, build: false });
    for (const b of this.buildProblems) add(b.file ?? "", { severity: b.severity, message: b.message, source: b.source + (b.code ? " " + b.code : ""), line: b.line ?? 0, character: b.column ?? 1, build: true });
    const all = [...files.entries()].sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : a.localeCompare(b)));
    for (const [p, list] of all) {
      list.sort((a, b) => a.line - b.line || a.character - b.character);
      this.problemsEl.append(h("div.problem-file", {}, p || "Build", h("span.count", {}, String(list.length))));
      for (const d of list) {
        if (d.severity === "error") errors++;
        else if (d.severity === "warning") warnings++;
        this.problemsEl.append(h("div.problem." + d.severity + (d.build ? ".build" : ""), {
          onclick: p && d.line ? () => this.goto(p, d.line, d.character) : undefined,
          title: d.source ?? "",
          "data-testid": d.build ? "build-problem" : "problem",
        }, h("span.sev", {}, d.severity === "error" ? "⊗" : d.severity === "warning" ? "⚠" : "ℹ"), h("span.msg", {}, d.message),
        d.source ? h("span.src", {}, d.source) : null, d.line ? h("span.loc", {}, `[${d.line}, ${d.character}]`) : null));
      }
    }
    if (!all.length) this.problemsEl.append(h("div.muted", {}, "No problems have been detected."));
    this.problemsCount.textContent = `⊗ ${errors} ⚠ ${warnings}`;
    this.problemsCount.title = `Problems: ${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`;
  }

  private async goto(path: string, line: number, ch: number) {
    const view = await this.editors.open(path);
    if (!view) return;
    const l = view.state.doc.line(Math.min(line, view.state.doc.lines));
    const pos = Math.min(l.from + ch - 1, l.to);
    view.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: "center" }) });
    view.focus();
  }

  private onTabChanged(tab: Tab | null) {
    this.unsaved.report(this.editors.dirtyTabs.map((t) => t.path));
    this.renderLspStatus();
    if (tab) showBuildMarks(tab.view, this.buildProblems.filter((b) => b.file === tab.path));
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

/** panelKeys moves along the panel tabs with the arrows, Home and End (Enter or Space shows one). */
function panelKeys(e: KeyboardEvent, list: HTMLElement) {
  const all = [...list.querySelectorAll<HTMLElement>('[role="tab"]')];
  const at = all.indexOf(e.target as HTMLElement);
  const k = ({ ArrowRight: "next", ArrowLeft: "prev", Home: "first", End: "last" } as const)[e.key as "Home"];
  if (at < 0 || !k || e.ctrlKey || e.altKey || e.metaKey) return;
  const i = rovingMove(k, at, all.length, true);
  if (i === null) return;
  e.preventDefault();
  all.forEach((t, j) => (t.tabIndex = j === i ? 0 : -1));
  all[i].focus();
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
