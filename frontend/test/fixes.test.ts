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
