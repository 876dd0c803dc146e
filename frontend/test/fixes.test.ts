// @vitest-environment happy-dom
// Regression tests for issue 15's review findings (one describe per finding).
import { afterAll, describe, expect, it } from "vitest";
import type { Sessiond, Task } from "../src/api/sessiond";
import { HardwarePanel, type OutputPanel } from "../src/ui/build";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("build shortcut while a build runs", () => {
  it("does not start a second build; says one is running", async () => {
    let started = 0;
    let exit: ((state: string, code: number | null) => void) | null = null;
    const api = {
      startTask: async () => ({ id: "t" + ++started, name: "build", argv: ["make"] }) as unknown as Task,
      bitstreams: async () => ({ bitstreams: [] }),
      cancelTask: async () => undefined,
    } as unknown as Sessiond;
    const output = { follow: (_t: Task, onExit: typeof exit) => (exit = onExit), note: () => {} } as unknown as OutputPanel;
    let shown = 0;
    const hw = new HardwarePanel(api, output, { showOutput: () => shown++, state: () => {} });
    await hw.build();
    expect(started).toBe(1);
    expect(hw.buildBtn.disabled).toBe(true);
    await hw.build(); // Ctrl+Shift+B again while it runs
    expect(started).toBe(1);
    expect(shown).toBe(2); // the running build's output is shown instead
    expect(document.getElementById("toasts")?.textContent).toMatch(/A build is already running/);
    exit!("succeeded", 0);
    await tick();
    expect(hw.buildBtn.disabled).toBe(false);
    await hw.build();
    expect(started).toBe(2);
  });
  it("a second call while the first is still starting is refused too", async () => {
    let started = 0;
    const api = {
      startTask: async () => (await tick(), { id: "t" + ++started, name: "build", argv: ["make"] }) as unknown as Task,
      bitstreams: async () => ({ bitstreams: [] }),
    } as unknown as Sessiond;
    const output = { follow: () => {}, note: () => {} } as unknown as OutputPanel;
    const hw = new HardwarePanel(api, output, { showOutput: () => {}, state: () => {} });
    await Promise.all([hw.build(), hw.build()]);
    expect(started).toBe(1);
  });
});

describe("status bar before any stream is open", () => {
  it("says connecting until the first stream opens", async () => {
    const { StatusHub } = await import("../src/api/status");
    const hub = new StatusHub();
    const seen: string[] = [];
    hub.subscribe((s) => seen.push(s));
    expect(hub.overall).toBe("connecting");
    hub.set("file watch", "connecting");
    expect(hub.overall).toBe("connecting");
    hub.set("terminal", "connecting");
    expect(hub.overall).toBe("connecting");
    hub.set("terminal", "open"); // another stream first: the watch stream is still not open
    expect(hub.overall).toBe("connecting");
    hub.set("file watch", "open");
    hub.set("terminal", "open");
    expect(hub.overall).toBe("connected");
    hub.set("file watch", "reconnecting");
    expect(hub.overall).toBe("reconnecting");
    expect(seen[0]).toBe("connecting");
    expect(seen.indexOf("connected")).toBeGreaterThan(seen.lastIndexOf("connecting"));
  });
  it("a stream that has not opened yet is not connected, even with none registered", async () => {
    const { StatusHub } = await import("../src/api/status");
    const hub = new StatusHub();
    hub.set("telemetry", "closed");
    expect(hub.overall).toBe("connecting");
    hub.setReachable(false);
    expect(hub.overall).toBe("offline");
  });
});

/** A workspace on disk for EditorArea: read, readBytes and write with content etags, like sessiond. */
function fakeDisk(files: Record<string, string>) {
  const disk = new Map(Object.entries(files));
  let n = 0;
  const etags = new Map<string, string>();
  const etag = (p: string) => etags.get(p) ?? etags.set(p, `"e${++n}"`).get(p)!;
  const notFound = () => Object.assign(new Error("not found"), { status: 404 });
  const api = {
    read: async (p: string) => {
      if (!disk.has(p)) throw notFound();
      return { text: disk.get(p)!, etag: etag(p) };
    },
    readBytes: async (p: string) => {
      if (!disk.has(p)) throw notFound();
      return { bytes: new TextEncoder().encode(disk.get(p)!), etag: etag(p) };
    },
    write: async (p: string, text: string, o: { etag?: string }) => {
      writes.push({ path: p, text, etag: o.etag });
      disk.set(p, text);
      etags.delete(p);
      return { etag: etag(p) };
    },
  } as unknown as Sessiond;
  const writes: { path: string; text: string; etag?: string }[] = [];
  return {
    api,
    writes,
    /** change edits a file behind the IDE's back (a new etag). */
    change(p: string, text: string) {
      disk.set(p, text);
      etags.delete(p);
    },
    remove(p: string) {
      disk.delete(p);
      etags.delete(p);
    },
    /** move renames a file or folder keeping its content (and so its etag). */
    move(from: string, to: string) {
      for (const [p, t] of [...disk]) {
        if (p !== from && !p.startsWith(from + "/")) continue;
        const q = to + p.slice(from.length);
        disk.delete(p);
        disk.set(q, t);
        etags.set(q, etag(p));
        etags.delete(p);
      }
    },
  };
}

async function until(f: () => boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const areas: import("../src/editor/area").EditorArea[] = [];

async function area(files: Record<string, string>) {
  const { EditorArea } = await import("../src/editor/area");
  const disk = fakeDisk(files);
  const lspCalls: string[] = [];
  const ed = new EditorArea(disk.api, { lsp: async (p) => (lspCalls.push(p), null), changed: () => {} });
  document.body.append(ed.el);
  areas.push(ed);
  return { ed, disk, lspCalls };
}

// The editors load their languages asynchronously: let those land while the DOM is still here,
// then take the views down, so nothing touches the DOM after the environment is torn down.
afterAll(async () => {
  const paths = ["a.v", "b.v", "c.v", "d.v", "hw/a.v", "hw/sub/b.v", "rtl2/x.v", "top.v", "b.sv"];
  const tabs = areas.flatMap((ed) => paths.map((p) => ed.find(p)).filter((t) => t !== undefined));
  // Each language's module loads once: awaiting it again resolves after the editor's own load did.
  await Promise.all(tabs.map((t) => t.lang?.load().catch(() => null)));
  await new Promise((r) => setTimeout(r, 20));
  for (const t of tabs) t.view.destroy();
});

const typeAt = (view: import("@codemirror/view").EditorView, text: string) => view.dispatch({ changes: { from: 0, insert: text } });

describe("a reconnect refreshes open tabs", () => {
  it("reloads clean tabs, marks modified ones stale without touching them, and flags deleted files", async () => {
    const { isDirty } = await import("../src/editor/area");
    const { ed, disk } = await area({ "a.v": "module a;\n", "b.v": "module b;\n", "c.v": "module c;\n", "d.v": "module d;\n" });
    for (const p of ["a.v", "b.v", "c.v", "d.v"]) await ed.open(p);
    typeAt(ed.find("b.v")!.view, "// mine\n");
    // While the watch stream was down (no events arrive):
    disk.change("a.v", "module a2;\n");
    disk.change("b.v", "module b2;\n");
    disk.remove("c.v");
    await ed.refreshAll();
    const [a, b, c, d] = ["a.v", "b.v", "c.v", "d.v"].map((p) => ed.find(p)!);
    expect(a.view.state.doc.toString()).toBe("module a2;\n");
    expect(isDirty(a)).toBe(false);
    expect(b.view.state.doc.toString()).toBe("// mine\nmodule b;\n"); // never overwritten
    expect(b.stale).toBe(true);
    expect(b.tabEl.classList.contains("stale")).toBe(true);
    expect(c.deleted).toBe(true);
    expect(c.view.state.doc.toString()).toBe("module c;\n");
    expect(d.view.state.doc.toString()).toBe("module d;\n");
    expect(d.stale || d.deleted).toBe(false);
    // A file that comes back is no longer deleted.
    disk.change("c.v", "module c;\n");
    await ed.refreshAll();
    expect(c.deleted).toBe(false);
  });
});

describe("renaming a folder keeps its tabs", () => {
  it("re-points the tabs inside it, with unsaved edits, and saves to the new path", async () => {
    const { isDirty } = await import("../src/editor/area");
    const { ed, disk, lspCalls } = await area({ "rtl/a.v": "module a;\n", "rtl/sub/b.v": "module b;\n", "top.v": "module top;\n", "rtl2/x.v": "x\n" });
    for (const p of ["rtl/a.v", "rtl/sub/b.v", "rtl2/x.v", "top.v"]) await ed.open(p);
    const a = ed.find("rtl/a.v")!, b = ed.find("rtl/sub/b.v")!;
    typeAt(b.view, "// unsaved\n");
    await ed.open("rtl/a.v"); // the active one
    disk.move("rtl", "hw");
    await ed.moved("rtl", "hw");
    expect(ed.find("hw/a.v")).toBe(a); // the same tab and view, not a reopened one
    expect(ed.find("hw/sub/b.v")).toBe(b);
    expect(ed.find("rtl/a.v")).toBeUndefined();
    expect(ed.find("rtl2/x.v")).toBeDefined(); // a sibling whose name only starts the same stays
    expect(ed.find("top.v")).toBeDefined();
    expect(ed.active).toBe(a);
    expect(b.view.state.doc.toString()).toBe("// unsaved\nmodule b;\n");
    expect(isDirty(b)).toBe(true);
    expect(b.deleted).toBe(false);
    expect(isDirty(a)).toBe(false);
    expect(b.tabEl.dataset.path).toBe("hw/sub/b.v");
    expect(b.tabEl.textContent).toContain("b.v");
    expect(b.view.contentDOM.getAttribute("data-path")).toBe("hw/sub/b.v");
    await until(() => lspCalls.includes("hw/sub/b.v"));
    const tabs = [...ed.el.querySelectorAll<HTMLElement>("[data-testid=editor-tabs] .tab")].map((t) => t.dataset.path);
    expect(tabs).toEqual(["hw/a.v", "hw/sub/b.v", "rtl2/x.v", "top.v"]);
    expect(await ed.save(b)).toBe(true);
    expect(disk.writes.at(-1)).toMatchObject({ path: "hw/sub/b.v", text: "// unsaved\nmodule b;\n" });
    expect(disk.writes.at(-1)!.etag).toBeTruthy(); // still If-Match on the etag it was read at
    expect(isDirty(b)).toBe(false);
  });
  it("renaming one file re-points its tab", async () => {
    const { ed, disk } = await area({ "a.v": "module a;\n" });
    await ed.open("a.v");
    const a = ed.find("a.v")!;
    disk.move("a.v", "b.sv");
    await ed.moved("a.v", "b.sv");
    expect(ed.find("b.sv")).toBe(a);
    const { languageFor } = await import("../src/editor/languages");
    expect(a.lang?.id).toBe(languageFor("b.sv")?.id);
    expect(a.view.contentDOM.getAttribute("data-path")).toBe("b.sv");
  });
});
