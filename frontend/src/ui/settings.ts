// The user's IDE settings (theme, font size, tab size): loaded from sessiond's
// GET api/v1/settings at start (the cloud answers it from PostgreSQL for the
// session's owner, the desktop from its config dir), applied live, and saved
// whole with PUT from the Settings dialog (Ctrl+,) or the Theme commands.
import { ApiError, type Connection, request, requestJSON } from "../api/conn";
import type { Command } from "./palette";
import { toast } from "./dialog";
import { h } from "./dom";

export type Theme = "dark" | "light" | "high-contrast";

export interface Settings {
  theme: Theme;
  fontSize: number;
  tabSize: number;
}

export const themes: { id: Theme; label: string }[] = [
  { id: "dark", label: "Dark" },
  { id: "light", label: "Light" },
  { id: "high-contrast", label: "High Contrast" },
];

/** The server's bounds (shared/settings), checked here too so a typo is said at once. */
export const limits = { fontSize: [8, 32], tabSize: [1, 8] } as const;

const themeKey = "gatewave.theme";

export function defaults(): Settings {
  return { theme: "dark", fontSize: 13, tabSize: 4 };
}

/** applyTheme marks <html> with the theme; styles.css holds each theme's colours. */
export function applyTheme(t: Theme): void {
  const root = document.documentElement;
  if (t === "dark") delete root.dataset.theme;
  else root.dataset.theme = t;
}

/** currentTheme is the theme <html> is drawn in now. */
export function currentTheme(): Theme {
  const t = document.documentElement.dataset.theme;
  return t === "light" || t === "high-contrast" ? t : "dark";
}

/**
 * onThemeChange calls f after every change of <html>'s data-theme, whoever
 * made it (settings, a test), so canvases and terminals read the new colours.
 */
export function onThemeChange(f: () => void): () => void {
  const mo = new MutationObserver(() => f());
  mo.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  return () => mo.disconnect();
}

/** cssVar reads a colour variable of the current theme. */
export function cssVar(name: string, fallback = ""): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** problem says what is wrong with s, or null. */
export function problem(s: Settings): string | null {
  if (!themes.some((t) => t.id === s.theme)) return `theme ${JSON.stringify(s.theme)} is not one of ${themes.map((t) => t.id).join(", ")}`;
  for (const k of ["fontSize", "tabSize"] as const) {
    const [lo, hi] = limits[k];
    if (!Number.isInteger(s[k]) || s[k] < lo || s[k] > hi) return `${k === "fontSize" ? "Font size" : "Tab size"} must be a whole number from ${lo} to ${hi}`;
  }
  return null;
}

export interface SettingsHooks {
  /** apply makes the IDE follow s (editors, terminals); the theme is applied here. */
  apply(s: Settings): void;
}

/** UserSettings holds the settings in force and saves changes. */
export class UserSettings {
  current = defaults();
  /** Why settings are not kept by this server (501 not_stored), once known. */
  notStored: string | null = null;

  constructor(private conn: Connection, private hooks: SettingsHooks) {}

  /** load reads the saved settings and applies them; on failure the defaults stay and the user is told. */
  async load(): Promise<void> {
    // The last theme this browser drew, at once, so a light user sees no dark flash before the answer.
    const cached = localStorage.getItem(themeKey);
    if (cached && themes.some((t) => t.id === cached)) applyTheme(cached as Theme);
    try {
      const res = await request(this.conn, "GET", "api/v1/settings");
      // A sessiond that keeps no settings says so up front (sessiond/settings: NotStoredHeader).
      this.notStored = res.headers.get("Gatewave-Settings-Not-Stored");
      const s = (await res.json()) as Settings;
      const bad = problem(s);
      if (bad) throw new Error(`the server's settings are not usable: ${bad}`);
      this.current = { theme: s.theme, fontSize: s.fontSize, tabSize: s.tabSize };
    } catch (err) {
      if (err instanceof ApiError && err.code === "not_stored") this.notStored = err.message;
      else toast(`Settings could not be loaded (the defaults are used): ${(err as Error).message}`, "error", 8000);
    }
    this.apply(this.current);
  }

  private apply(s: Settings) {
    applyTheme(s.theme);
    try {
      localStorage.setItem(themeKey, s.theme);
    } catch {
      // storage refused (private mode): the theme still applies
    }
    this.hooks.apply(s);
  }

  /**
   * save applies s and PUTs it; it returns null when saved, or the reason it
   * was not (the server's own message for a 400). A change the server cannot
   * keep (not_stored) stays applied for this page and the user is told so.
   */
  async save(s: Settings): Promise<string | null> {
    const bad = problem(s);
    if (bad) return bad;
    const before = this.current;
    this.current = s;
    this.apply(s);
    try {
      const saved = await requestJSON<Settings>(this.conn, "PUT", "api/v1/settings", { json: s });
      if (!problem(saved)) this.current = saved;
      return null;
    } catch (err) {
      if (err instanceof ApiError && (err.code === "not_stored" || err.status === 501)) {
        this.notStored = err.message;
        return `Settings are not kept here: they apply to this page until it is reloaded (${err.message}).`;
      }
      // Refused or unreachable: back to what the server holds, and say why.
      this.current = before;
      this.apply(before);
      if (err instanceof ApiError && err.status === 400) return `The server refused these settings: ${err.message}`;
      return `Settings were not saved: ${(err as Error).message}`;
    }
  }

  /** setTheme saves a theme change and reports a failure as a toast. */
  async setTheme(t: Theme): Promise<void> {
    const msg = await this.save({ ...this.current, theme: t });
    if (msg) toast(msg, "error", 8000);
  }

  commands(): Command[] {
    return [
      { id: "settings.open", title: "Preferences: Open Settings", shortcut: "Ctrl+,", run: () => this.open() },
      ...themes.map((t) => ({ id: "theme." + t.id, title: "Theme: " + t.label, run: () => this.setTheme(t.id) })),
    ];
  }

  private dialog: HTMLElement | null = null;

  /** open shows the Settings dialog: changes apply as they are made and are saved at once. */
  open(): void {
    if (this.dialog) return;
    const back = document.activeElement as HTMLElement | null;
    const s = this.current;
    const theme = h("select.select", { id: "settings-theme", "data-testid": "settings-theme" },
      ...themes.map((t) => h("option", { value: t.id, ...(t.id === s.theme ? { selected: "" } : {}) }, t.label))) as HTMLSelectElement;
    const num = (id: string, v: number, [lo, hi]: readonly [number, number]) => {
      const el = h("input.text", { id, type: "number", min: String(lo), max: String(hi), step: "1", "data-testid": id }) as HTMLInputElement;
      el.value = String(v);
      return el;
    };
    const font = num("settings-font-size", s.fontSize, limits.fontSize);
    const tab = num("settings-tab-size", s.tabSize, limits.tabSize);
    const error = h("div.settings-error", { role: "alert", "data-testid": "settings-error" });
    const where = h("div.dialog-body", {}, this.notStored
      ? `Settings are not kept here: changes last until this page is reloaded (${this.notStored}).`
      : "Changes apply at once and are saved for you (Ctrl+, opens this again).");
    let seq = 0;
    const change = async () => {
      const next: Settings = { theme: theme.value as Theme, fontSize: Number(font.value), tabSize: Number(tab.value) };
      const bad = problem(next);
      if (bad) {
        error.textContent = bad;
        return;
      }
      const mine = ++seq;
      error.textContent = "";
      const msg = await this.save(next);
      if (mine !== seq) return;
      error.textContent = msg ?? "";
      if (msg && !this.notStored) {
        // Refused: show what is in force again.
        theme.value = this.current.theme;
        font.value = String(this.current.fontSize);
        tab.value = String(this.current.tabSize);
      }
      dlg.dataset.saved = msg ? "no" : "yes";
    };
    theme.addEventListener("change", change);
    font.addEventListener("change", change);
    tab.addEventListener("change", change);
    const close = () => {
      overlay.remove();
      this.dialog = null;
      back?.focus?.();
    };
    const dlg = h("div.dialog", { role: "dialog", "aria-modal": "true", "aria-labelledby": "settings-title", tabindex: "-1", "data-testid": "settings" },
      h("h2.dialog-title", { id: "settings-title" }, "Settings"),
      where,
      h("div.settings-form", {},
        h("label", { for: "settings-theme" }, "Theme"), theme,
        h("label", { for: "settings-font-size" }, `Font size (${limits.fontSize[0]}–${limits.fontSize[1]})`), font,
        h("label", { for: "settings-tab-size" }, `Tab size (${limits.tabSize[0]}–${limits.tabSize[1]}; a file's .editorconfig wins)`), tab,
      ),
      error,
      h("div.dialog-buttons", {}, h("button.btn.primary", { type: "button", "data-testid": "settings-close", onclick: close }, "Close")),
    );
    const overlay = h("div.overlay", { onclick: (e: Event) => e.target === overlay && close() }, dlg);
    dlg.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        close();
      }
    });
    this.dialog = overlay;
    document.body.append(overlay);
    theme.focus();
  }
}
