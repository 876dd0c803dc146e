// Keyboard focus helpers shared by the dialogs, the file tree and the tab
// strip: a focus trap for modal dialogs (Tab and Shift+Tab cycle inside,
// focus that escapes is brought back, the element focused before gets it
// again on release) and the roving-tabindex moves of composite widgets.

const FOCUSABLE = [
  "a[href]", "button", "input", "select", "textarea", "iframe", "summary",
  "[tabindex]", "[contenteditable=''], [contenteditable='true']",
].join(",");

/** tabbable lists root's elements that Tab reaches, in document order. */
export function tabbable(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => {
    if ((el as HTMLButtonElement).disabled) return false;
    if (el.getAttribute("tabindex") === "-1" || el.tabIndex < 0) return false;
    if ((el as HTMLInputElement).type === "hidden") return false;
    if (el.closest("[hidden], [inert]")) return false;
    return true;
  });
}

export interface FocusTrap {
  /** release stops trapping and, unless told otherwise, gives focus back to what had it before. */
  release(restore?: boolean): void;
}

/** The open traps, innermost last: only the innermost one acts. */
const traps: HTMLElement[] = [];

/**
 * trapFocus keeps keyboard focus inside root (a modal dialog) until
 * released: Tab from the last tabbable element goes to the first and
 * Shift+Tab from the first to the last; focus moved outside (a click
 * behind the overlay, a script) comes back to root. initial, when given,
 * is focused at once.
 */
export function trapFocus(root: HTMLElement, initial?: HTMLElement | null): FocusTrap {
  const before = document.activeElement as HTMLElement | null;
  traps.push(root);
  const top = () => traps[traps.length - 1] === root;
  const onKey = (e: KeyboardEvent) => {
    if (e.key !== "Tab" || e.defaultPrevented || !top()) return;
    const items = tabbable(root);
    if (!items.length) {
      e.preventDefault();
      root.focus();
      return;
    }
    const first = items[0], last = items[items.length - 1];
    const at = document.activeElement as HTMLElement | null;
    const inside = !!at && root.contains(at);
    if (e.shiftKey && (!inside || at === first || at === root)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (!inside || at === last)) {
      e.preventDefault();
      first.focus();
    }
  };
  const onFocusIn = (e: FocusEvent) => {
    if (!top() || !root.isConnected) return;
    const t = e.target as Node | null;
    if (t && root.contains(t)) return;
    // Elsewhere in the page (not in a later overlay such as a toast): back inside.
    (tabbable(root)[0] ?? root).focus();
  };
  document.addEventListener("keydown", onKey, true);
  document.addEventListener("focusin", onFocusIn, true);
  if (!root.hasAttribute("tabindex")) root.setAttribute("tabindex", "-1");
  (initial ?? tabbable(root)[0] ?? root).focus();
  let released = false;
  return {
    release(restore = true) {
      if (released) return;
      released = true;
      const i = traps.lastIndexOf(root);
      if (i >= 0) traps.splice(i, 1);
      document.removeEventListener("keydown", onKey, true);
      document.removeEventListener("focusin", onFocusIn, true);
      if (restore && before && before.isConnected && before !== document.body) before.focus();
    },
  };
}

/** A key a composite widget (tree, tab list) moves focus with. */
export type RovingKey = "next" | "prev" | "first" | "last";

/**
 * rovingMove is the index focus moves to from current among count items
 * (null: stays). wrap makes next from the last go to the first and back.
 */
export function rovingMove(key: RovingKey, current: number, count: number, wrap = false): number | null {
  if (count <= 0) return null;
  let i: number;
  switch (key) {
    case "first": i = 0; break;
    case "last": i = count - 1; break;
    case "next": i = current + 1 >= count ? (wrap ? 0 : count - 1) : current + 1; break;
    case "prev": i = current - 1 < 0 ? (wrap ? count - 1 : 0) : current - 1; break;
  }
  if (current < 0 || current >= count) i = key === "prev" || key === "last" ? count - 1 : 0;
  return i === current ? null : i;
}

/** rovingTabindex makes items[active] the one Tab reaches (tabindex 0) and the others reachable by arrows only (-1). */
export function rovingTabindex(items: readonly HTMLElement[], active: number): void {
  const a = active >= 0 && active < items.length ? active : 0;
  items.forEach((el, i) => el.setAttribute("tabindex", i === a ? "0" : "-1"));
}

/**
 * TypeAhead finds the next item whose label starts with what was typed
 * (characters typed within a short pause add up; one repeated character
 * cycles through the items starting with it).
 */
export class TypeAhead {
  private buf = "";
  private last = 0;
  constructor(private pauseMs = 700, private now: () => number = () => Date.now()) {}

  /** key adds a typed character and returns the index to focus, or null when nothing matches. */
  key(ch: string, labels: readonly string[], current: number): number | null {
    const t = this.now();
    if (t - this.last > this.pauseMs) this.buf = "";
    this.last = t;
    this.buf += ch.toLowerCase();
    const same = [...this.buf].every((c) => c === this.buf[0]);
    const q = same ? this.buf[0] : this.buf;
    // A repeated single character moves on; a longer prefix may stay on the current item.
    const startAt = same ? current + 1 : current;
    for (let k = 0; k < labels.length; k++) {
      const i = (((startAt + k) % labels.length) + labels.length) % labels.length;
      if (labels[i].toLowerCase().startsWith(q)) return i;
    }
    return null;
  }
}

/** isTypeAheadKey is true for a printable character typed without Ctrl, Alt or Meta. */
export function isTypeAheadKey(e: Pick<KeyboardEvent, "key" | "ctrlKey" | "altKey" | "metaKey">): boolean {
  return e.key.length === 1 && e.key !== " " && !e.ctrlKey && !e.altKey && !e.metaKey;
}
