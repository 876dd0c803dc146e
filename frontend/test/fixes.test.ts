// @vitest-environment happy-dom
// Regression tests for issue 15's review findings (one describe per finding).
import { describe, expect, it } from "vitest";
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
