// Connection to one sessiond: its base URL and bearer token, resolved from
// the desktop app's bound method, the URL fragment, or the session storage.

/** Where sessiond lives and how to authenticate to it. */
export interface Connection {
  /** Base URL ending in '/'; API paths are resolved relative to it. */
  base: string;
  /** Bearer token; empty when the host (the cloud) injects auth itself. */
  token: string;
}

/** An error answered by sessiond in its one JSON shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const tokenKey = "gatewave.token";

type TroubleListener = (err?: ApiError) => void;
const troubleListeners = new Set<TroubleListener>();

/**
 * onTrouble hears every failed request and every dropped stream (err is
 * undefined for a stream): the cloud's restarting overlay tells from them
 * that the session's container went away. Returns the unsubscribe.
 */
export function onTrouble(f: TroubleListener): () => void {
  troubleListeners.add(f);
  return () => troubleListeners.delete(f);
}

/** reportTrouble tells the onTrouble listeners. */
export function reportTrouble(err?: ApiError): void {
  for (const f of troubleListeners) f(err);
}

interface WailsApp {
  Connection(): Promise<{ base_url: string; token: string }>;
}

/**
 * resolveConnection finds sessiond. In the desktop app (Wails) the bound
 * App.Connection method answers; in a browser the base is the document's
 * base URI and the token comes from `#token=` (moved to sessionStorage and
 * removed from the address bar so it is not bookmarked or shared).
 */
export async function resolveConnection(win: Window = window): Promise<Connection> {
  const wails = (win as unknown as { go?: { main?: { App?: WailsApp } } }).go?.main?.App;
  if (wails?.Connection) {
    const c = await wails.Connection();
    return { base: withSlash(c.base_url), token: c.token };
  }
  const base = withSlash(new URL(".", win.document.baseURI).href);
  const frag = new URLSearchParams(win.location.hash.replace(/^#/, ""));
  let token = frag.get("token") ?? "";
  if (token) {
    try {
      win.sessionStorage.setItem(tokenKey, token);
    } catch {
      // storage may be disabled; the token still works for this page
    }
    frag.delete("token");
    const rest = frag.toString();
    const clean = win.location.pathname + win.location.search + (rest ? "#" + rest : "");
    win.history.replaceState(win.history.state, "", clean);
  } else {
    try {
      token = win.sessionStorage.getItem(tokenKey) ?? "";
    } catch {
      token = "";
    }
  }
  return { base, token };
}

function withSlash(u: string): string {
  return u.endsWith("/") ? u : u + "/";
}

/** httpURL builds an API URL relative to the base, with query parameters. */
export function httpURL(c: Connection, path: string, params: Record<string, string | number | boolean | undefined> = {}): string {
  const u = new URL(path, c.base);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined) u.searchParams.set(k, String(v));
  }
  return u.href;
}

/** wsURL builds a WebSocket URL; browsers cannot set headers on WebSockets, so the token goes in the query. */
export function wsURL(c: Connection, path: string, params: Record<string, string | number | boolean | undefined> = {}): string {
  const u = new URL(httpURL(c, path, params));
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  if (c.token) u.searchParams.set("access_token", c.token);
  return u.href;
}

/** request performs an authenticated HTTP request and turns JSON error bodies into ApiError. */
export async function request(c: Connection, method: string, path: string, opts: {
  params?: Record<string, string | number | boolean | undefined>;
  body?: BodyInit | null;
  json?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
} = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (c.token) headers["Authorization"] = "Bearer " + c.token;
  let body = opts.body ?? null;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  }
  let res: Response;
  try {
    res = await fetch(httpURL(c, path, opts.params), { method, headers, body, signal: opts.signal, cache: "no-store" });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    const e = new ApiError(0, "network", `${method} ${path}: sessiond unreachable (${(err as Error).message})`);
    reportTrouble(e);
    throw e;
  }
  if (!res.ok) {
    const e = await toApiError(res, `${method} ${path}`);
    reportTrouble(e);
    throw e;
  }
  return res;
}

async function toApiError(res: Response, what: string): Promise<ApiError> {
  let code = "http_" + res.status;
  let message = `${what}: HTTP ${res.status}`;
  let details: Record<string, unknown> | undefined;
  try {
    const body = await res.json();
    if (body?.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      details = body.error.details;
    }
  } catch {
    // not JSON: keep the generic message
  }
  return new ApiError(res.status, code, message, details);
}

/** requestJSON is request followed by res.json(). */
export async function requestJSON<T>(c: Connection, method: string, path: string, opts: Parameters<typeof request>[3] = {}): Promise<T> {
  const res = await request(c, method, path, opts);
  return (await res.json()) as T;
}
