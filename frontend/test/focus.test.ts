// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { choose } from "../src/ui/dialog";
import { rovingMove, rovingTabindex, tabbable, trapFocus, TypeAhead } from "../src/ui/focus";

const tab = (shift = false) => {
  const e = new KeyboardEvent("keydown", { key: "Tab", shiftKey: shift, bubbles: true, cancelable: true });
  (document.activeElement ?? document.body).dispatchEvent(e);
  return e.defaultPrevented;
};
const btn = (label: string, attrs: Record<string, string> = {}) => {
  const b = document.createElement("button");
  b.textContent = label;
  for (const [k, v] of Object.entries(attrs)) b.setAttribute(k, v);
  return b;
};

describe("trapFocus", () => {
  afterEach(() => document.body.replaceChildren());

  it("cycles Tab and Shift+Tab inside the dialog, skipping what Tab cannot reach, and gives focus back on release", () => {
    const outside = btn("outside");
    const box = document.createElement("div");
    const a = btn("a"), skipped = btn("skipped", { tabindex: "-1" }), off = btn("off", { disabled: "" }), b = btn("b");
    const hid = document.createElement("div");
    hid.hidden = true;
    hid.append(btn("hidden"));
    box.append(a, skipped, off, hid, b);
    document.body.append(outside, box);
    outside.focus();
    expect(tabbable(box)).toEqual([a, b]);
    const trap = trapFocus(box);
    expect(document.activeElement).toBe(a);
    // From the last, Tab wraps to the first; from the first, Shift+Tab wraps to the last.
    b.focus();
    expect(tab()).toBe(true);
    expect(document.activeElement).toBe(a);
    expect(tab(true)).toBe(true);
    expect(document.activeElement).toBe(b);
    // In the middle the browser moves focus itself.
    a.focus();
    expect(tab()).toBe(false);
    // Focus that escapes is brought back.
    outside.focus();
    expect(box.contains(document.activeElement)).toBe(true);
    trap.release();
    expect(document.activeElement).toBe(outside);
    // Released: nothing is trapped any more.
    b.focus();
    expect(tab()).toBe(false);
  });

  it("only the innermost trap acts, and the outer one resumes after", () => {
    const outerBox = document.createElement("div"), innerBox = document.createElement("div");
    const o1 = btn("o1"), o2 = btn("o2"), i1 = btn("i1");
    outerBox.append(o1, o2);
    innerBox.append(i1);
    document.body.append(outerBox, innerBox);
    const outer = trapFocus(outerBox, o2);
    const inner = trapFocus(innerBox);
    expect(document.activeElement).toBe(i1);
    expect(tab()).toBe(true);
    expect(document.activeElement).toBe(i1);
    inner.release();
    expect(document.activeElement).toBe(o2);
    expect(tab()).toBe(true);
    expect(document.activeElement).toBe(o1);
    outer.release(false);
  });

  it("the dialogs are labelled modal dialogs that trap focus, close on Escape and restore focus", async () => {
    const opener = btn("opener");
    document.body.append(opener);
    opener.focus();
    const answer = choose("Unsaved changes", "Save first?", [
      { id: "cancel", label: "Cancel" },
      { id: "discard", label: "Discard", kind: "danger" },
      { id: "save", label: "Save", kind: "primary" },
    ]);
    const box = document.querySelector<HTMLElement>('[data-testid="dialog"]')!;
    expect(box.getAttribute("role")).toBe("alertdialog");
    expect(box.getAttribute("aria-modal")).toBe("true");
    expect(document.getElementById(box.getAttribute("aria-labelledby")!)?.textContent).toBe("Unsaved changes");
    expect(document.getElementById(box.getAttribute("aria-describedby")!)?.textContent).toBe("Save first?");
    expect((document.activeElement as HTMLElement).textContent).toBe("Save");
    expect(tab()).toBe(true); // Save is the last button: wraps to Cancel
    expect((document.activeElement as HTMLElement).textContent).toBe("Cancel");
    document.activeElement!.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(await answer).toBe(null);
    expect(document.activeElement).toBe(opener);
    expect(document.querySelector('[data-testid="dialog"]')).toBe(null);
  });
});

describe("roving tabindex", () => {
  it("moves next, previous, first and last, wrapping only when asked", () => {
    expect(rovingMove("next", 0, 3)).toBe(1);
    expect(rovingMove("next", 2, 3)).toBe(null);
    expect(rovingMove("next", 2, 3, true)).toBe(0);
    expect(rovingMove("prev", 0, 3)).toBe(null);
    expect(rovingMove("prev", 0, 3, true)).toBe(2);
    expect(rovingMove("first", 2, 3)).toBe(0);
    expect(rovingMove("last", 0, 3)).toBe(2);
    expect(rovingMove("last", 2, 3)).toBe(null);
    expect(rovingMove("next", -1, 3)).toBe(0);
    expect(rovingMove("prev", -1, 3)).toBe(2);
    expect(rovingMove("next", 0, 0)).toBe(null);
  });

  it("puts exactly one item in the Tab order", () => {
    const items = [btn("a"), btn("b"), btn("c")];
    rovingTabindex(items, 1);
    expect(items.map((i) => i.getAttribute("tabindex"))).toEqual(["-1", "0", "-1"]);
    rovingTabindex(items, 7);
    expect(items.map((i) => i.getAttribute("tabindex"))).toEqual(["0", "-1", "-1"]);
  });

  it("type-ahead finds by prefix, cycles on a repeated letter and starts over after a pause", () => {
    let now = 0;
    const ta = new TypeAhead(500, () => now);
    const names = ["Makefile", "blinky.v", "blinky_tb.v", "build", "pins.pcf"];
    expect(ta.key("b", names, 0)).toBe(1);
    now += 100;
    expect(ta.key("u", names, 1)).toBe(3); // "bu"
    now += 1000;
    expect(ta.key("b", names, 3)).toBe(1); // a fresh "b" after the pause, wrapping past the end
    now += 100;
    expect(ta.key("b", names, 1)).toBe(2); // "bb": the next item starting with b
    now += 1000;
    expect(ta.key("z", names, 0)).toBe(null);
  });
});
