// Which language server serves a file, and what the status bar says about
// it: its name when it runs, what to install when it is missing, and what
// to do when it keeps stopping. Pure, so it is tested without a browser.
import type { LspLanguage } from "../api/sessiond";
import { languageFor } from "../editor/languages";
import type { LspHealth } from "./lsp";

export type StatusLevel = "ok" | "info" | "warn" | "error";

export interface LspStatus {
  /** The status bar text; "" when there is nothing to say (no file, plain text). */
  text: string;
  level: StatusLevel;
  /** The longer explanation (tooltip, click). */
  detail: string;
}

/** After this many lost connections in a row the status stops saying "reconnecting" and says what to do. */
export const failuresBeforeAdvice = 3;

const names: Record<string, string> = {
  hdl: "HDL", c: "C", cpp: "C++", go: "Go", python: "Python", verilog: "Verilog", systemverilog: "SystemVerilog", vhdl: "VHDL", rust: "Rust",
};

/** serverName is how the status bar names a configured language ("hdl" → "HDL"). */
export function serverName(id: string): string {
  return names[id] ?? id;
}

export function commandName(cmd: LspLanguage["command"]): string {
  return Array.isArray(cmd) ? (cmd[0] ?? "") : cmd;
}

function extOf(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot < 0 ? "" : base.slice(dot + 1).toLowerCase();
}

function covers(l: LspLanguage, ext: string): boolean {
  return !!ext && l.extensions.some((e) => e.replace(/^\./, "").toLowerCase() === ext);
}

/**
 * serverFor picks the configured language server for path: an available
 * one first (by language id, then by extension, so the "hdl" server serves
 * .v files even while a "verilog" entry names a missing binary), else the
 * configured but unavailable one, else null.
 */
export function serverFor(path: string, languageId: string | null | undefined, languages: readonly LspLanguage[]): LspLanguage | null {
  const ext = extOf(path);
  const byId = (l: LspLanguage) => !!languageId && l.id === languageId;
  const byExt = (l: LspLanguage) => covers(l, ext);
  return languages.find((l) => l.available && byId(l)) ??
    languages.find((l) => l.available && byExt(l)) ??
    languages.find(byId) ??
    languages.find(byExt) ??
    null;
}

/**
 * statusFor says which language server serves path. health holds the live
 * servers by language id (absent: not started yet).
 */
export function statusFor(path: string | null, languages: readonly LspLanguage[] | null, health: ReadonlyMap<string, LspHealth>): LspStatus {
  if (!path) return { text: "", level: "info", detail: "" };
  const lang = languageFor(path);
  const langName = lang?.name ?? (extOf(path) ? "." + extOf(path) : "this file");
  if (!languages) return { text: "", level: "info", detail: "" };
  const server = serverFor(path, lang?.id, languages);
  if (!server) {
    if (!lang) return { text: "", level: "info", detail: "" };
    return { text: `${langName}: no language server`, level: "info", detail: `No language server is configured for ${langName}. Configure one in .ide/languages.toml (the workspace must be trusted).` };
  }
  const name = serverName(server.id);
  const cmd = commandName(server.command);
  if (!server.available) {
    return {
      text: `No language server for ${langName}: \`${cmd}\` is not installed`,
      level: "warn",
      detail: `Install ${cmd} where sessiond finds it (its PATH or Go's bin directory), or configure another server for ${server.extensions.join(" ")} in .ide/languages.toml; then reopen the file.`,
    };
  }
  const h = health.get(server.id);
  if (!h || h.state === "connecting" || (h.state === "open" && !h.ready)) {
    return { text: `${name}: ${cmd} (starting)`, level: "info", detail: `${cmd} is starting for ${path}.` };
  }
  if (h.state === "open") return { text: `${name}: ${cmd}`, level: "ok", detail: `${cmd} serves ${path}.` };
  if (h.state === "closed") return { text: `${name}: ${cmd} (closed)`, level: "info", detail: `The connection to ${cmd} was closed; reload the page to start it again.` };
  // Reconnecting.
  const why = h.lastClose?.code === 4001 ? (h.lastClose.reason || "it exited") : h.lastClose?.reason || "the connection was lost";
  if (h.failures >= failuresBeforeAdvice) {
    return {
      text: `${name} language server is not running`,
      level: "error",
      detail: `${cmd} stopped ${h.failures} times in a row (last: ${why}). Run \`${cmd} --version\` in the terminal to see whether it starts; reinstall it or change its command in .ide/languages.toml. The IDE keeps retrying.`,
    };
  }
  return { text: `${name} language server stopped — reconnecting`, level: "warn", detail: `${cmd} stopped (${why}); reconnecting.` };
}
