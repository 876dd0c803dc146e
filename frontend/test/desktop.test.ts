// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { type DesktopHost, desktopHost, UnsavedReporter } from "../src/desktop";
import { restrictedText, TrustBanner } from "../src/ui/trust";

// What the Go side records when the page calls its bound methods.
class RecordingHost implements DesktopHost {
  calls: string[][] = [];
  trustAnswer = false;
  async SetUnsaved(paths: string[]): Promise<void> {
    this.calls.push(paths);
  }
  async TrustFolder(): Promise<boolean> {
    return this.trustAnswer;
  }
}

describe("desktopHost", () => {
  it("is null in a browser and with a partial binding", () => {
    expect(desktopHost(window)).toBeNull();
    const w = { go: { main: { App: { Connection: () => Promise.resolve({}) } } } } as unknown as Window;
    expect(desktopHost(w)).toBeNull();
  });
  it("finds the bound methods", () => {
    const app = new RecordingHost();
    expect(desktopHost({ go: { main: { App: app } } } as unknown as Window)).toBe(app);
  });
});

describe("UnsavedReporter", () => {
  it("reports each change of the unsaved set once, sorted", () => {
    const host = new RecordingHost();
    const r = new UnsavedReporter(host);
    r.report([]);
    r.report(["b.v", "a.v"]);
    r.report(["a.v", "b.v"]); // same set: a keystroke in an already dirty tab
    r.report(["a.v"]);
    r.report([]);
    expect(host.calls).toEqual([[], ["a.v", "b.v"], ["a.v"], []]);
  });
  it("does nothing without a host", () => {
    expect(() => new UnsavedReporter(null).report(["a.v"])).not.toThrow();
  });
});

describe("TrustBanner", () => {
  const conn = { base: "http://127.0.0.1:1/", token: "t" };
  it("shows only while untrusted config files exist", () => {
    const b = new TrustBanner(conn, new RecordingHost(), () => {});
    b.show({ trusted: false, config_files: [".ide/tasks.toml"] });
    expect(b.el.hidden).toBe(false);
    expect(b.el.textContent).toContain(".ide/tasks.toml is not used until you trust this folder");
    expect(b.el.querySelector('[data-testid="trust-folder"]')).not.toBeNull();
    b.show({ trusted: true, config_files: [".ide/tasks.toml"] });
    expect(b.el.hidden).toBe(true);
    b.show({ trusted: false, config_files: [] });
    expect(b.el.hidden).toBe(true);
  });
  it("offers no trust button outside the desktop app", () => {
    const b = new TrustBanner(conn, null, () => {});
    b.show({ trusted: false, config_files: [".ide/languages.toml", ".ide/tasks.toml"] });
    expect(b.el.querySelector("button")).toBeNull();
    expect(b.el.getAttribute("role")).not.toBe("alert");
  });
  it("hides and reloads the configuration only after a yes", async () => {
    const host = new RecordingHost();
    let reloaded = 0;
    const b = new TrustBanner(conn, host, () => reloaded++);
    b.show({ trusted: false, config_files: [".ide/tasks.toml"] });
    const btn = b.el.querySelector<HTMLButtonElement>('[data-testid="trust-folder"]')!;
    btn.click();
    await new Promise((r) => setTimeout(r, 0));
    expect(b.el.hidden).toBe(false);
    expect(reloaded).toBe(0);
    host.trustAnswer = true;
    btn.click();
    await new Promise((r) => setTimeout(r, 0));
    expect(b.el.hidden).toBe(true);
    expect(reloaded).toBe(1);
  });
  it("words one and two files", () => {
    expect(restrictedText([".ide/a", ".ide/b"])).toContain(".ide/a and .ide/b are not used");
  });
});
