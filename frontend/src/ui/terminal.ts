// Terminals: xterm.js (loaded lazily) over sessiond's PTY WebSocket, with
// resize, reattach-on-reconnect (the server replays recent scrollback) and tabs.
import type { Terminal } from "@xterm/xterm";
import type { FitAddon } from "@xterm/addon-fit";
import { type Connection, request, requestJSON, wsURL } from "../api/conn";
import { ReconnectingSocket, type LinkState } from "../api/socket";
import { clear, h } from "./dom";
import { cssVar, currentTheme, onThemeChange } from "./settings";

/** termTheme is xterm's colours from the page's theme (styles.css); light pages get ANSI colours readable on white. */
function termTheme() {
  const base = { background: cssVar("--bg-panel", "#1b1d23"), foreground: cssVar("--fg", "#d4d4d4"), cursor: cssVar("--cursor", "#aeafad"), cursorAccent: cssVar("--bg-panel", "#1b1d23"), selectionBackground: cssVar("--selection", "#264f78") };
  if (currentTheme() !== "light") return base;
  return { ...base, black: "#1f2328", red: "#c0161c", green: "#2b7a0b", yellow: "#7a5600", blue: "#2f5fc9", magenta: "#a626a4", cyan: "#0e6e80", white: "#555c66",
    brightBlack: "#555c66", brightRed: "#a4121a", brightGreen: "#226406", brightYellow: "#6a4a00", brightBlue: "#1f4fb0", brightMagenta: "#8a1f88", brightCyan: "#0b5a68", brightWhite: "#1f2328" };
}

/** The terminals' font size (the user's settings); new terminals start with it. */
let fontSize = 13;

type XtermModules = { Terminal: typeof Terminal; FitAddon: typeof FitAddon };
let xterm: Promise<XtermModules> | null = null;
function loadXterm(): Promise<XtermModules> {
  xterm ??= Promise.all([import("@xterm/xterm"), import("@xterm/addon-fit"), import("@xterm/xterm/css/xterm.css")]).then(([a, b]) => ({ Terminal: a.Terminal, FitAddon: b.FitAddon }));
  return xterm;
}

class TermSession {
  id = "";
  term!: Terminal;
  fit!: FitAddon;
  socket!: ReconnectingSocket;
  readonly el = h("div.term-host", { "data-testid": "terminal" });
  exited = false;
  private enc = new TextEncoder();

  constructor(readonly name: string, private conn: Connection, private onState: (name: string, s: LinkState) => void) {}

  async start(): Promise<void> {
    const { Terminal, FitAddon } = await loadXterm();
    this.term = new Terminal({
      fontFamily: "'JetBrains Mono', 'DejaVu Sans Mono', Menlo, monospace",
      fontSize,
      cursorBlink: true,
      scrollback: 5000,
      allowProposedApi: false,
      theme: termTheme(),
    });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);
    this.term.open(this.el);
    this.safeFit();
    this.term.onData((d) => this.socket.send(this.enc.encode(d)));
    this.term.onBinary((d) => this.socket.send(Uint8Array.from(d, (c) => c.charCodeAt(0))));
    this.term.onResize(({ cols, rows }) => this.socket.send(JSON.stringify({ type: "resize", cols, rows })));
    this.socket = new ReconnectingSocket(
      () => wsURL(this.conn, "api/v1/pty", { id: this.id || undefined, cols: this.term.cols, rows: this.term.rows }),
      {
        onOpen: (_ws, again) => {
          // The server replays recent scrollback on reattach: start clean.
          if (again) this.term.reset();
        },
        onMessage: (data) => {
          if (typeof data !== "string") {
            this.term.write(new Uint8Array(data));
            return;
          }
          let msg: { type: string; id?: string; status?: number };
          try {
            msg = JSON.parse(data);
          } catch {
            return;
          }
          if (msg.type === "hello" && msg.id) this.id = msg.id;
          else if (msg.type === "exit") {
            this.exited = true;
            this.term.write(`\r\n\x1b[2m[process exited with status ${msg.status}]\x1b[0m\r\n`);
          }
        },
        onClose: () => {
          if (this.exited) return false;
          this.checkAlive();
        },
        onState: (s) => this.onState("terminal " + this.name, s),
      },
    );
  }

  /** checkAlive forgets the shell id if sessiond no longer has it (restarted), so the next attempt opens a new shell. */
  private checkAlive() {
    if (!this.id) return;
    const id = this.id;
    requestJSON<{ ptys?: { id: string }[] } | { id: string }[]>(this.conn, "GET", "api/v1/ptys").then((r) => {
      const list = Array.isArray(r) ? r : r.ptys ?? [];
      if (this.id === id && !list.some((p) => p.id === id)) {
        this.id = "";
        this.term.write("\r\n\x1b[2m[the previous shell is gone; starting a new one]\x1b[0m\r\n");
      }
    }, () => {});
  }

  safeFit() {
    if (!this.el.isConnected || this.el.offsetParent === null) return;
    try {
      this.fit.fit();
    } catch {
      // not laid out yet
    }
  }

  dispose() {
    this.socket?.close();
    this.term?.dispose();
  }
}

/** TerminalPanel holds several terminal tabs. */
export class TerminalPanel {
  readonly el: HTMLElement;
  private bar: HTMLElement;
  private body: HTMLElement;
  private sessions: TermSession[] = [];
  private active: TermSession | null = null;
  private counter = 0;

  constructor(private conn: Connection, private onState: (name: string, s: LinkState) => void) {
    this.bar = h("div.subtabs", {});
    this.body = h("div.term-body", {});
    this.el = h("div.terminal-panel", {}, this.bar, this.body);
    new ResizeObserver(() => this.active?.safeFit()).observe(this.body);
    onThemeChange(() => {
      const theme = termTheme();
      for (const s of this.sessions) if (s.term) s.term.options.theme = theme;
    });
  }

  /** setFontSize changes every open terminal's font (and refits it) and the size new ones start with. */
  setFontSize(n: number) {
    fontSize = n;
    for (const s of this.sessions) {
      if (!s.term || s.term.options.fontSize === n) continue;
      s.term.options.fontSize = n;
      s.safeFit();
    }
  }

  get count(): number {
    return this.sessions.length;
  }

  async add(): Promise<void> {
    const s = new TermSession(String(++this.counter), this.conn, this.onState);
    this.sessions.push(s);
    this.body.append(s.el);
    this.show(s);
    await s.start();
    s.safeFit();
    s.term.focus();
  }

  show(s: TermSession) {
    this.active = s;
    for (const x of this.sessions) x.el.hidden = x !== s;
    this.renderBar();
    requestAnimationFrame(() => {
      s.safeFit();
      s.term?.focus();
    });
  }

  fit() {
    this.active?.safeFit();
  }

  private close(s: TermSession) {
    // "Kill terminal" ends the shell on sessiond too, not just this view.
    if (s.id) request(this.conn, "DELETE", `api/v1/ptys/${encodeURIComponent(s.id)}`).catch(() => {});
    s.dispose();
    s.el.remove();
    this.sessions = this.sessions.filter((x) => x !== s);
    if (this.active === s) {
      this.active = null;
      if (this.sessions.length) this.show(this.sessions[this.sessions.length - 1]);
    }
    this.renderBar();
  }

  private renderBar() {
    clear(this.bar);
    for (const s of this.sessions) {
      this.bar.append(h("div.subtab" + (s === this.active ? ".active" : ""), { onclick: () => this.show(s) },
        h("button.subtab-name", { type: "button", "aria-pressed": String(s === this.active), onclick: () => this.show(s) }, "bash " + s.name),
        h("button.tab-close", { title: "Kill terminal", "aria-label": "Kill terminal", onclick: (e: Event) => {
          e.stopPropagation();
          this.close(s);
        } }, "×"),
      ));
    }
    this.bar.append(h("button.icon-btn", { title: "New terminal", "aria-label": "New terminal", "data-testid": "new-terminal", onclick: () => this.add() }, "+"));
  }
}
