// The cloud's task API (cloud/tasks/http.go), for "Run on the fleet" and the
// Fleet panel (ui/fleet.ts). In the cloud the IDE is served under
// /s/{session}/ and the task API is on the same origin at /api/v1/tasks,
// with the session cookie; POSTs carry the CSRF token GET /api/v1/me tells.
// Outside the cloud (sessiond alone, the desktop app) there is no fleet:
// available() says so in words instead of a request failing oddly.
import { ApiError } from "../api/conn";
import { sessionIDOf } from "./restarting";

/** A task as the cloud answers it (cloud/tasks.Task). */
export interface FleetTask {
  id: number;
  user?: string;
  state: string;
  detail?: string;
  exit_code?: number | null;
  image?: string;
  image_cached?: boolean;
  artifacts?: Record<string, number> | null;
  artifact_paths?: string[] | null;
  node?: string;
  attempt: number;
  max_attempts?: number;
  position?: number;
  created_at: string;
  dispatched_at?: string | null;
  running_at?: string | null;
  finished_at?: string | null;
  command: string[];
  dockerfile_path: string;
  timeout_seconds?: number;
  resources?: { cpus: number; memory_bytes: number; gpus?: number };
}

/** One state change of a task (cloud/tasks.Event). */
export interface FleetEvent {
  attempt: number;
  state: string;
  node?: string;
  detail?: string;
  at: string;
}

/** What "Run on the fleet" submits (a subset of cloud/tasks.Spec). */
export interface FleetSpec {
  save_session: string;
  dockerfile_path: string;
  command: string[];
  resources: { cpus: number; memory_bytes: number };
  timeout_seconds: number;
  artifacts: string[];
}

/** The end states (shared/fleetproto.TaskTerminal). */
export const terminalStates: ReadonlySet<string> = new Set(["succeeded", "failed", "cancelled", "lost"]);

export function isActive(state: string): boolean {
  return !terminalStates.has(state);
}

/** What the commands say outside the cloud. */
export const needsCloud = "Run on the fleet needs the Gatewave cloud";

/**
 * splitCommand splits a command line into argv as a POSIX shell would for
 * words: blanks separate, '...' is literal, "..." keeps blanks and takes
 * \" \\ \$ \` escapes, \ outside quotes escapes the next character. No
 * expansion happens (the fleet runs argv without a shell: write sh -c "..."
 * for pipes and &&). It throws on an unterminated quote.
 */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let word = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error("the command has an unterminated ' quote");
      cur += line.slice(i + 1, end);
      i = end;
      word = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === "\\" && j + 1 < line.length && '"\\$`'.includes(line[j + 1])) j++;
        cur += line[j];
      }
      if (j >= line.length) throw new Error('the command has an unterminated " quote');
      i = j;
      word = true;
    } else if (c === "\\") {
      if (i + 1 < line.length) cur += line[++i];
      word = true;
    } else if (c === " " || c === "\t" || c === "\n") {
      if (word) out.push(cur);
      cur = "";
      word = false;
    } else {
      cur += c;
      word = true;
    }
  }
  if (word) out.push(cur);
  return out;
}

/** joinCommand shows argv as a command line splitCommand reads back. */
export function joinCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : "'" + a.replace(/'/g, "'\\''") + "'")).join(" ");
}

/** parseArtifacts reads "a.bin, b/c.json d.txt" into paths (blanks or commas separate; duplicates dropped). */
export function parseArtifacts(s: string): string[] {
  return [...new Set(s.split(/[\s,]+/).filter(Boolean))];
}

/** formatDuration renders milliseconds for humans: "850 ms", "12 s", "3 min 04 s", "1 h 02 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/**
 * timings says how long a task waited and ran: "queued 2 s · ran 5 s" (so
 * far, against now, while it is not finished).
 */
export function timings(t: Pick<FleetTask, "created_at" | "running_at" | "finished_at" | "state">, now = Date.now()): string {
  const at = (s?: string | null) => (s ? Date.parse(s) : NaN);
  const created = at(t.created_at), running = at(t.running_at), finished = at(t.finished_at);
  const parts: string[] = [];
  if (Number.isFinite(running)) {
    parts.push(`waited ${formatDuration(running - created)}`);
    parts.push(Number.isFinite(finished) ? `ran ${formatDuration(finished - running)}` : `running for ${formatDuration(now - running)}`);
  } else if (Number.isFinite(finished)) parts.push(`ended after ${formatDuration(finished - created)}`);
  else if (Number.isFinite(created)) parts.push(`${t.state} for ${formatDuration(now - created)}`);
  return parts.join(" · ");
}

/** stateLine is a task's state in words: "queued (2nd in line)", "failed, exit 2". */
export function stateLine(t: Pick<FleetTask, "state" | "exit_code" | "position" | "attempt">): string {
  let s = t.state;
  if (t.state === "queued" && t.position) s += ` (${t.position === 1 ? "next" : ordinal(t.position) + " in line"})`;
  if (t.exit_code !== undefined && t.exit_code !== null) s += `, exit ${t.exit_code}`;
  if (t.attempt > 1) s += ` · attempt ${t.attempt}`;
  return s;
}

function ordinal(n: number): string {
  const t = n % 100;
  const suffix = t >= 11 && t <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] ?? "th";
  return n + suffix;
}

/** artifactPath is the URL path of a task's artifact, each segment escaped. */
export function artifactPath(id: number, path: string): string {
  return `/api/v1/tasks/${id}/artifacts/${path.split("/").map(encodeURIComponent).join("/")}`;
}

/** FleetAPI talks to the cloud that serves this IDE. */
export class FleetAPI {
  /** The IDE's session, or null outside the cloud. */
  readonly session: string | null;
  private origin: string;
  private csrf: Promise<string> | null = null;
  private reason: string | null | undefined;

  constructor(base: string, private fetcher: typeof fetch = (...a) => fetch(...a)) {
    this.session = sessionIDOf(base);
    this.origin = new URL(base).origin;
  }

  /**
   * available resolves null when the fleet can be used from here, or the
   * reason it cannot (not in the cloud; signed out).
   */
  async available(): Promise<string | null> {
    if (!this.session) return `${needsCloud}: this IDE runs on sessiond alone or in the desktop app.`;
    if (this.reason !== undefined) return this.reason;
    try {
      await this.token();
      this.reason = null;
    } catch (err) {
      this.csrf = null;
      if (err instanceof ApiError && (err.status === 404 || err.status === 401)) {
        return (this.reason = err.status === 401 ? `${needsCloud}: sign in to the cloud again (${err.message}).` : `${needsCloud}: this server has no cloud API.`);
      }
      return `${needsCloud}, which does not answer now: ${(err as Error).message}`;
    }
    return null;
  }

  /** token is the CSRF token of the signed-in user (GET /api/v1/me). */
  private token(): Promise<string> {
    this.csrf ??= this.json<{ csrf_token?: string }>("GET", "/api/v1/me").then((me) => {
      if (typeof me.csrf_token !== "string" || !me.csrf_token) throw new ApiError(404, "not_cloud", "GET /api/v1/me did not answer a CSRF token");
      return me.csrf_token;
    });
    return this.csrf;
  }

  /** fetch performs a request on the cloud's origin; a JSON error body becomes an ApiError. */
  async fetch(method: string, path: string, init: { json?: unknown; signal?: AbortSignal; accept?: string } = {}): Promise<Response> {
    const headers: Record<string, string> = { Accept: init.accept ?? "application/json" };
    let body: string | undefined;
    if (method !== "GET") {
      headers["X-CSRF-Token"] = await this.token();
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(init.json ?? {});
    }
    let res: Response;
    try {
      res = await this.fetcher(this.origin + path, { method, headers, body, signal: init.signal, credentials: "same-origin", cache: "no-store" });
    } catch (err) {
      if ((err as Error).name === "AbortError") throw err;
      throw new ApiError(0, "network", `the cloud did not answer ${method} ${path}: ${(err as Error).message}`);
    }
    if (res.ok) return res;
    let code = "http_" + res.status;
    let message = `${method} ${path}: HTTP ${res.status}`;
    try {
      const b = await res.json();
      if (b?.error) {
        code = b.error.code ?? code;
        message = b.error.message ?? message;
      }
    } catch {
      // not JSON: keep the generic message
    }
    // A token from before a sign-in again: fetch a fresh one next time.
    if (code === "csrf") this.csrf = null;
    throw new ApiError(res.status, code, message);
  }

  private async json<T>(method: string, path: string, json?: unknown): Promise<T> {
    const res = await this.fetch(method, path, { json });
    const type = res.headers.get("Content-Type") ?? "";
    // sessiond alone answers unknown paths with the IDE's page.
    if (!type.includes("json")) throw new ApiError(404, "not_cloud", `${method} ${path} answered ${type || "no content type"}, not JSON`);
    return (await res.json()) as T;
  }

  list(): Promise<{ tasks: FleetTask[] }> {
    return this.json("GET", "/api/v1/tasks");
  }

  get(id: number): Promise<{ task: FleetTask; events: FleetEvent[] | null }> {
    return this.json("GET", `/api/v1/tasks/${id}`);
  }

  submit(spec: FleetSpec): Promise<FleetTask> {
    return this.json("POST", "/api/v1/tasks", spec);
  }

  cancel(id: number): Promise<FleetTask> {
    return this.json("POST", `/api/v1/tasks/${id}/cancel`);
  }

  /** logs answers the output of the latest attempt, streamed until it ends when follow is set. */
  logs(id: number, follow: boolean, signal?: AbortSignal): Promise<Response> {
    return this.fetch("GET", `/api/v1/tasks/${id}/logs${follow ? "?follow=true" : ""}`, { signal, accept: "text/plain" });
  }

  /** downloadURL is the artifact's link (the cloud redirects it to a short-lived one of the object store). */
  downloadURL(id: number, path: string): string {
    return this.origin + artifactPath(id, path);
  }

  /** artifact reads an artifact's bytes through the cloud (inline=true: same origin, for flashing). */
  async artifact(id: number, path: string, signal?: AbortSignal): Promise<Uint8Array> {
    const res = await this.fetch("GET", artifactPath(id, path) + "?inline=true", { signal, accept: "application/octet-stream" });
    return new Uint8Array(await res.arrayBuffer());
  }
}
