// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Connection } from "../src/api/conn";
import { describeReplace, preview, queryOf, replaceAll, ResultSet, SearchPanel, type SocketLike, splitGlobs, startSearch } from "../src/ui/search";

const conn: Connection = { base: "http://127.0.0.1:9/", token: "tok" } as Connection;

/** FakeSocket plays the server's side of the search WebSocket. */
class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  onopen: ((ev: Event) => unknown) | null = null;
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  onclose: ((ev: CloseEvent) => unknown) | null = null;
  sent: string[] = [];
  closed: number | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(d: string) {
    this.sent.push(d);
  }
  close(code = 1000) {
    this.closed = code;
  }
  open() {
    this.onopen?.(new Event("open"));
  }
  frame(f: unknown) {
    this.onmessage?.(new MessageEvent("message", { data: typeof f === "string" ? f : JSON.stringify(f) }));
  }
  serverClose(code: number) {
    this.onclose?.(new CloseEvent("close", { code }));
  }
}
const make = (u: string) => new FakeSocket(u);
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const summary = { files: 1, matches: 2, scanned: 3, skipped: 0, truncated: false, ms: 1 };

afterEach(() => {
  FakeSocket.all = [];
  document.body.replaceChildren();
  vi.unstubAllGlobals();
});

describe("startSearch", () => {
  it("sends the query on open and streams file frames, then done", () => {
    const files: string[] = [];
    const done = vi.fn();
    const error = vi.fn();
    startSearch(conn, { pattern: "clk", wholeWord: true }, { file: (f) => files.push(f.path), done, error }, make);
    const s = FakeSocket.all[0];
    expect(s.url).toBe("ws://127.0.0.1:9/api/v1/search?access_token=tok");
    s.open();
    expect(JSON.parse(s.sent[0])).toEqual({ pattern: "clk", wholeWord: true });
    s.frame({ type: "file", path: "a.v", sha256: "x", matches: [{ line: 1, col: 0, len: 3, text: "clk" }] });
    s.frame({ type: "file", path: "b/c.v", sha256: "y", matches: [{ line: 2, col: 1, len: 3, text: " clk" }] });
    s.frame({ type: "done", summary });
    s.serverClose(1000);
    expect(files).toEqual(["a.v", "b/c.v"]);
    expect(done).toHaveBeenCalledOnce();
    expect(done).toHaveBeenCalledWith(summary);
    expect(error).not.toHaveBeenCalled();
  });

  it("reports the server's error frame once, and a close before done as an error", () => {
    const error = vi.fn();
    startSearch(conn, { pattern: "(" }, { file: vi.fn(), done: vi.fn(), error }, make);
    FakeSocket.all[0].frame({ type: "error", error: { code: "bad_request", message: "search: invalid regular expression" } });
    FakeSocket.all[0].serverClose(1000);
    expect(error).toHaveBeenCalledOnce();
    expect(error.mock.calls[0][0].message).toContain("invalid regular expression");

    const error2 = vi.fn();
    startSearch(conn, { pattern: "x" }, { file: vi.fn(), done: vi.fn(), error: error2 }, make);
    FakeSocket.all[1].serverClose(1006);
    expect(error2.mock.calls[0][0].message).toContain("1006");
  });

  it("cancel closes the socket and no handler runs after it", () => {
    const file = vi.fn();
    const done = vi.fn();
    const error = vi.fn();
    const run = startSearch(conn, { pattern: "x" }, { file, done, error }, make);
    const s = FakeSocket.all[0];
    run.cancel();
    expect(s.closed).toBe(1000);
    s.frame({ type: "file", path: "a", sha256: "", matches: [] });
    s.frame({ type: "done", summary });
    s.serverClose(1000);
    expect(file).not.toHaveBeenCalled();
    expect(done).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
  });
});

describe("query and preview", () => {
  it("builds the wire query from the form", () => {
    expect(splitGlobs(" *.v, src/** ,,x ")).toEqual(["*.v", "src/**", "x"]);
    expect(queryOf({ pattern: "", regex: true, caseSensitive: false, wholeWord: false, include: "", exclude: "", replace: null })).toBeNull();
    expect(queryOf({ pattern: "a.b", regex: true, caseSensitive: true, wholeWord: false, include: "*.v", exclude: "build/, gen", replace: "" }, 10))
      .toEqual({ pattern: "a.b", regex: true, caseSensitive: true, include: ["*.v"], exclude: ["build/", "gen"], replace: "", maxResults: 10 });
  });

  it("cuts the preview in UTF-16 units around the match", () => {
    // "😀" is two UTF-16 units, so "clk" starts at col 4.
    expect(preview({ line: 1, col: 4, len: 3, text: "  😀clk = 1;" })).toEqual({ before: "😀", match: "clk", replacement: undefined, after: " = 1;" });
    const long = "x".repeat(100) + "hit" + "tail";
    const p = preview({ line: 1, col: 100, len: 3, text: long, replacement: "HIT" }, 10);
    expect(p.before).toBe("…" + "x".repeat(10));
    expect(p.match).toBe("hit");
    expect(p.replacement).toBe("HIT");
    expect(p.after).toBe("tail");
  });

  it("counts results by file and says when the cap stopped the search", () => {
    const r = new ResultSet();
    r.add({ path: "a", sha256: "", matches: [{ line: 1, col: 0, len: 1, text: "a" }] });
    expect(r.summary(null, null)).toBe("1 result in 1 file so far…");
    r.add({ path: "b", sha256: "", matches: [{ line: 1, col: 0, len: 1, text: "a" }, { line: 2, col: 0, len: 1, text: "a" }] });
    expect(r.summary({ ...summary, truncated: true }, null)).toContain("3 results in 2 files (stopped at the result limit");
    expect(r.summary(summary, "boom")).toBe("boom");
  });

  it("describes a replace-all, naming the files it skipped", () => {
    const d = describeReplace([
      { path: "a.v", status: "replaced", replacements: 3 },
      { path: "b.v", status: "changed", replacements: 0 },
      { path: "c.v", status: "replaced", replacements: 1 },
    ], ["d.v"]);
    expect(d.ok).toBe(false);
    expect(d.text).toContain("Replaced 4 occurrences in 2 files.");
    expect(d.text).toContain("b.v: changed on disk since the search");
    expect(d.text).toContain("d.v: unsaved changes");
    expect(describeReplace([{ path: "a", status: "replaced", replacements: 1 }]).ok).toBe(true);
  });
});

describe("replaceAll", () => {
  it("posts the query without the preview field, and the files' hashes", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ files: [{ path: "a.v", status: "replaced", replacements: 2, sha256: "new" }] }), { status: 200 }));
    vi.stubGlobal("fetch", fetch);
    const res = await replaceAll(conn, { pattern: "clk", replace: "clock" }, "clock", [{ path: "a.v", sha256: "old" }]);
    expect(res[0].status).toBe("replaced");
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://127.0.0.1:9/api/v1/search/replace");
    expect(init.method).toBe("POST");
    expect(JSON.parse(String(init.body))).toEqual({ query: { pattern: "clk" }, replace: "clock", files: [{ path: "a.v", sha256: "old" }] });
  });
});

describe("SearchPanel", () => {
  it("streams results into groups, opens a hit at its line and column, and a new query cancels the old one", async () => {
    const opened: [string, number, number][] = [];
    const panel = new SearchPanel(conn, { open: (p, l, c) => opened.push([p, l, c]), isDirty: () => false, socket: make });
    document.body.append(panel.el);
    panel.show();
    expect(panel.el.hidden).toBe(false);
    const input = panel.el.querySelector<HTMLInputElement>("[data-testid=search-input]")!;
    input.value = "clk";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    const s = FakeSocket.all[0];
    s.open();
    s.frame({ type: "file", path: "src/top.v", sha256: "x", matches: [{ line: 3, col: 8, len: 3, text: "  input clk," }, { line: 9, col: 0, len: 3, text: "clk" }] });
    const summaryEl = panel.el.querySelector("[data-testid=search-summary]")!;
    expect(summaryEl.textContent).toBe("2 results in 1 file so far…");
    s.frame({ type: "done", summary: { ...summary, matches: 2 } });
    expect(summaryEl.textContent).toBe("2 results in 1 file");
    const hits = panel.el.querySelectorAll<HTMLElement>("[data-testid=search-hit]");
    expect(hits.length).toBe(2);
    expect(hits[0].querySelector("mark")!.textContent).toBe("clk");
    hits[0].click();
    expect(opened).toEqual([["src/top.v", 3, 9]]);
    // Replace all stays off without a replacement.
    expect(panel.el.querySelector<HTMLButtonElement>("[data-testid=search-replace-all]")!.disabled).toBe(true);

    // The case toggle re-runs the search, clearing the old results.
    panel.el.querySelector<HTMLButtonElement>("[data-testid=search-case]")!.click();
    const s2 = FakeSocket.all[1];
    s2.open();
    expect(JSON.parse(s2.sent[0])).toMatchObject({ pattern: "clk", caseSensitive: true });
    expect(panel.el.querySelectorAll("[data-testid=search-hit]").length).toBe(0);
    // A new query while one is still running closes its socket, and its
    // late frames are dropped.
    panel.el.querySelector<HTMLButtonElement>("[data-testid=search-word]")!.click();
    expect(s2.closed).toBe(1000);
    s2.frame({ type: "file", path: "late.v", sha256: "x", matches: [{ line: 1, col: 0, len: 3, text: "clk" }] });
    expect(panel.el.querySelectorAll("[data-testid=search-hit]").length).toBe(0);
    expect(FakeSocket.all.length).toBe(3);
  });

  it("shows the replacement next to each match and enables Replace all once done", async () => {
    const panel = new SearchPanel(conn, { open: () => {}, isDirty: () => false, socket: make });
    document.body.append(panel.el);
    const input = panel.el.querySelector<HTMLInputElement>("[data-testid=search-input]")!;
    const repl = panel.el.querySelector<HTMLInputElement>("[data-testid=search-replace]")!;
    input.value = "clk";
    repl.value = "clock";
    repl.dispatchEvent(new Event("input"));
    await tick(300); // debounced
    const s = FakeSocket.all[0];
    s.open();
    expect(JSON.parse(s.sent[0]).replace).toBe("clock");
    s.frame({ type: "file", path: "a.v", sha256: "x", matches: [{ line: 1, col: 0, len: 3, text: "clk", replacement: "clock" }] });
    const btn = panel.el.querySelector<HTMLButtonElement>("[data-testid=search-replace-all]")!;
    expect(btn.disabled).toBe(true); // not before the search is complete
    s.frame({ type: "done", summary: { ...summary, matches: 1 } });
    expect(btn.disabled).toBe(false);
    const hit = panel.el.querySelector("[data-testid=search-hit]")!;
    expect(hit.querySelector("del")!.textContent).toBe("clk");
    expect(hit.querySelector("ins")!.textContent).toBe("clock");
  });
});
