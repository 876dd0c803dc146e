// The sessiond git API (routes and shapes in sessiond/git/http.go). The
// frontend calls the relative api/v1/git URLs; in the cloud the tunnel
// answers push and pull itself.
import { type Connection, requestJSON } from "../api/conn";

export interface GitFile {
  path: string;
  status: string;
  origPath?: string;
}

export interface GitStatus {
  repo: boolean;
  branch: string;
  detached: boolean;
  commit: string;
  upstream?: string;
  ahead: number;
  behind: number;
  merging: boolean;
  staged: GitFile[];
  changes: GitFile[];
  untracked: GitFile[];
  conflicts: GitFile[];
  truncated: boolean;
}

export interface GitHunk {
  id: string;
  header: string;
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: string[];
}

export interface GitDiff {
  path: string;
  staged: boolean;
  old: string;
  new: string;
  oldExists: boolean;
  newExists: boolean;
  untracked: boolean;
  binary: boolean;
  tooLarge: boolean;
  hunks: GitHunk[];
}

export interface GitBranch {
  name: string;
  commit: string;
  subject: string;
  remote: boolean;
  current: boolean;
  upstream?: string;
  track?: string;
}

export interface GitCommit {
  hash: string;
  short: string;
  author: string;
  email: string;
  date: string;
  subject: string;
  parents: string[];
}

export interface GitBlame {
  line: number;
  hash: string;
  author: string;
  email: string;
  date: string;
  time: number;
  summary: string;
  uncommitted: boolean;
}

export interface SyncResult {
  output: string;
  conflicts: string[];
}

type Target = { paths: string[] } | { hunk: { path: string; id: string } };

export class GitAPI {
  constructor(private conn: Connection) {}
  status = () => requestJSON<GitStatus>(this.conn, "GET", "api/v1/git/status");
  diff = (path: string, staged: boolean) => requestJSON<GitDiff>(this.conn, "GET", "api/v1/git/diff", { params: { path, staged } });
  stage = (t: Target) => requestJSON<GitStatus>(this.conn, "POST", "api/v1/git/stage", { json: t });
  unstage = (t: Target) => requestJSON<GitStatus>(this.conn, "POST", "api/v1/git/unstage", { json: t });
  discard = (t: Target) => requestJSON<GitStatus>(this.conn, "POST", "api/v1/git/discard", { json: t });
  commit = (message: string, amend = false) => requestJSON<{ commit: string; summary: string }>(this.conn, "POST", "api/v1/git/commit", { json: { message, amend } });
  branches = () => requestJSON<{ branches: GitBranch[] }>(this.conn, "GET", "api/v1/git/branches");
  createBranch = (name: string, checkout: boolean) => requestJSON<{ branches: GitBranch[] }>(this.conn, "POST", "api/v1/git/branches", { json: { name, checkout } });
  switchTo = (branch: string) => requestJSON<GitStatus>(this.conn, "POST", "api/v1/git/switch", { json: { branch } });
  log = (skip: number, limit: number, path?: string) => requestJSON<{ commits: GitCommit[]; more: boolean }>(this.conn, "GET", "api/v1/git/log", { params: { skip, limit, path } });
  blame = (path: string, line: number) => requestJSON<GitBlame>(this.conn, "GET", "api/v1/git/blame", { params: { path, line } });
  push = (branch?: string) => requestJSON<SyncResult>(this.conn, "POST", "api/v1/git/push", { json: branch ? { branch } : {} });
  pull = (branch?: string) => requestJSON<SyncResult>(this.conn, "POST", "api/v1/git/pull", { json: branch ? { branch } : {} });
}

/**
 * hunkAnchorLine is the 1-based line of the new side where a hunk's
 * Stage/Unstage control goes: its first line, or for a pure deletion the
 * line after the deleted ones (git's newStart is the line before them),
 * clamped to the document.
 */
export function hunkAnchorLine(h: Pick<GitHunk, "newStart" | "newLines">, docLines: number): number {
  const line = h.newLines === 0 ? h.newStart + 1 : h.newStart;
  return Math.max(1, Math.min(line, Math.max(1, docLines)));
}

/** The paths one status entry stands for (a rename is both of its paths). */
export function entryPaths(f: GitFile): string[] {
  return f.origPath ? [f.path, f.origPath] : [f.path];
}

/** aheadBehind is "↑1 ↓2" for the status line, "" when in step. */
export function aheadBehind(s: Pick<GitStatus, "ahead" | "behind" | "upstream">): string {
  if (!s.upstream) return "";
  const parts = [];
  if (s.ahead) parts.push("↑" + s.ahead);
  if (s.behind) parts.push("↓" + s.behind);
  return parts.join(" ");
}

/**
 * The diff tab's path, "⎇diff/changes/PATH (Working Tree)": the tab shows
 * its last part, "name (Working Tree)"; no workspace path starts with "⎇diff/"
 * that the IDE would open as a diff, since only the panel opens these.
 */
export function diffTabPath(path: string, staged: boolean): string {
  return `⎇diff/${staged ? "index" : "changes"}/${path} (${staged ? "Index" : "Working Tree"})`;
}

export function parseDiffTabPath(tab: string): { path: string; staged: boolean } | null {
  const m = /^⎇diff\/(index|changes)\/(.*) \((Index|Working Tree)\)$/s.exec(tab);
  return m ? { path: m[2], staged: m[1] === "index" } : null;
}
