// Typed calls to the sessiond HTTP API (see the API contract in the repo docs).
import type { Board, NativeDevice } from "../flash/boards";
import { type Connection, request, requestJSON } from "./conn";

export interface Entry {
  name: string;
  path: string;
  type: "file" | "dir" | "symlink" | "other";
  /** Absent from names-only listings (stat: false). */
  size?: number;
  mtime?: number;
}

export interface FileContent {
  text: string;
  etag: string;
}

export interface WriteResult {
  path: string;
  size: number;
  sha256: string;
  created: boolean;
  etag: string;
}

export interface WatchEvent {
  op: "create" | "write" | "remove" | "rename";
  path: string;
  type: "file" | "dir" | "";
}

export interface Task {
  id: string;
  name: string;
  argv: string[];
  state: "running" | "succeeded" | "failed" | "cancelled";
  exit_code: number | null;
  started_at: string;
  ended_at?: string | null;
}

export interface Bitstream {
  path: string;
  size: number;
  mtime: number;
  sha256: string;
}

export interface Programmer {
  id: string;
  binary: string;
  available: boolean;
}

export interface Telemetry {
  time: string;
  source: string;
  cpu: { percent: number; limit_cores: number; used_cores: number };
  memory: { used_bytes: number; limit_bytes: number; percent: number };
  load: { load1: number; load5: number; load15: number };
  processes: { count: number; top_cpu: ProcInfo[]; top_rss: ProcInfo[] };
  sessiond: { rss_bytes: number; uptime_seconds: number };
  uptime_seconds: number;
}

export interface ProcInfo {
  pid: number;
  name: string;
  cpu_percent: number;
  rss_bytes: number;
}

export interface LspLanguage {
  id: string;
  command: string[] | string;
  extensions: string[];
  available: boolean;
}

/** Sessiond wraps the HTTP API of one session. */
export class Sessiond {
  constructor(readonly conn: Connection) {}

  /** list reads one directory level; stat: false skips sizes and times, which is much faster on huge directories. */
  list(path: string, opt: { stat?: boolean } = {}): Promise<{ path: string; entries: Entry[] }> {
    return requestJSON(this.conn, "GET", "api/v1/files", { params: { path, stat: opt.stat ?? true } });
  }

  async read(path: string): Promise<FileContent> {
    const { bytes, etag } = await this.readBytes(path);
    return { text: new TextDecoder().decode(bytes), etag };
  }

  /** readBytes is a file's exact bytes and its ETag. */
  async readBytes(path: string): Promise<{ bytes: Uint8Array; etag: string }> {
    const res = await request(this.conn, "GET", "api/v1/file", { params: { path } });
    return { bytes: new Uint8Array(await res.arrayBuffer()), etag: res.headers.get("ETag") ?? "" };
  }

  /**
   * write saves a file. With etag it sends If-Match (the server answers 412 on
   * a conflicting change); with create it sends If-None-Match: * so an
   * existing file is never replaced by accident.
   */
  async write(path: string, body: string | Uint8Array, opt: { etag?: string; create?: boolean; mkdirs?: boolean } = {}): Promise<WriteResult> {
    const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
    if (opt.etag) headers["If-Match"] = opt.etag;
    if (opt.create) headers["If-None-Match"] = "*";
    const res = await request(this.conn, "PUT", "api/v1/file", {
      params: { path, mkdirs: opt.mkdirs ? "true" : undefined },
      body: body as BodyInit,
      headers,
    });
    const json = await res.json();
    return { ...json, etag: res.headers.get("ETag") ?? `"${json.sha256}"` };
  }

  mkdir(path: string, parents = true): Promise<{ path: string }> {
    return requestJSON(this.conn, "POST", "api/v1/files/mkdir", { json: { path, parents } });
  }

  move(from: string, to: string, overwrite = false): Promise<{ from: string; to: string }> {
    return requestJSON(this.conn, "POST", "api/v1/files/move", { json: { from, to, overwrite } });
  }

  remove(path: string, recursive = false): Promise<{ path: string }> {
    return requestJSON(this.conn, "DELETE", "api/v1/file", { params: { path, recursive: recursive ? "true" : undefined } });
  }

  startTask(spec: { task: string } | { command: string[] }): Promise<Task> {
    return requestJSON(this.conn, "POST", "api/v1/tasks", { json: spec });
  }

  task(id: string): Promise<Task> {
    return requestJSON(this.conn, "GET", `api/v1/tasks/${encodeURIComponent(id)}`);
  }

  async cancelTask(id: string): Promise<void> {
    await request(this.conn, "DELETE", `api/v1/tasks/${encodeURIComponent(id)}`);
  }

  bitstreams(): Promise<{ bitstreams: Bitstream[] }> {
    return requestJSON(this.conn, "GET", "api/v1/bitstreams");
  }

  async bitstream(path: string, signal?: AbortSignal): Promise<Uint8Array> {
    const res = await request(this.conn, "GET", "api/v1/bitstream", { params: { path }, signal });
    return new Uint8Array(await res.arrayBuffer());
  }

  programmers(): Promise<{ programmers: Programmer[] }> {
    return requestJSON(this.conn, "GET", "api/v1/flash/programmers");
  }

  flash(spec: { path: string; board?: string; target?: string; bus?: number; address?: number; programmer?: string; cable?: string; vidpid?: string }): Promise<Task> {
    return requestJSON(this.conn, "POST", "api/v1/flash", { json: spec });
  }

  /** flashBoards is the board list (sessiond/flash/boards.json). */
  flashBoards(): Promise<{ boards: Board[] }> {
    return requestJSON(this.conn, "GET", "api/v1/flash/boards");
  }

  /** flashDevices lists the boards plugged into sessiond's host. */
  flashDevices(): Promise<{ devices: NativeDevice[]; note?: string }> {
    return requestJSON(this.conn, "GET", "api/v1/flash/devices");
  }

  /** flashUdev is a udev rules file that lets a Linux user reach every known board. */
  async flashUdev(): Promise<string> {
    const res = await request(this.conn, "GET", "api/v1/flash/udev");
    return res.text();
  }

  lspLanguages(): Promise<{ languages: LspLanguage[] }> {
    return requestJSON(this.conn, "GET", "api/v1/lsp");
  }

  /** buildReport is the latest build's report; it rejects (404) before any build made one. */
  buildReport<T>(): Promise<T> {
    return requestJSON(this.conn, "GET", "api/v1/build/report");
  }

  telemetry(): Promise<Telemetry> {
    return requestJSON(this.conn, "GET", "api/v1/telemetry");
  }
}
