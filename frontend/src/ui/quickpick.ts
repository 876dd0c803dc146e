// QuickPick: a small filter list in an overlay (document outline, workspace
// symbols, references). Type to filter, arrows to move, Enter to pick,
// Escape to close.
import { clear, h } from "./dom";
import { trapFocus } from "./focus";

let pickSeq = 0;

export interface PickRow {
  label: string;
  /** Muted text after the label (container, path). */
  detail?: string;
  /** A short kind badge ("module", "port"). */
  kind?: string;
  /** Offsets of characters in label / detail to highlight (a fuzzy match). */
  labelMatches?: readonly number[];
  detailMatches?: readonly number[];
  /** Right-aligned hint, such as a keyboard shortcut. */
  hint?: string;
}

export interface QuickPickOptions<T> {
  title: string;
  placeholder: string;
  testid: string;
  /** The items for a query; filter locally with filterItems or ask a server. */
  source(query: string): Promise<T[]> | T[];
  /** Delay before source is asked again after typing (for server queries). */
  debounceMs?: number;
  row(item: T): PickRow;
  pick(item: T): void;
  /** Shown when source returns nothing. */
  empty?: string;
  /** Called when the list closes without a pick. */
  cancelled?(): void;
  /** Text the input starts with (a mode prefix such as ">"). */
  value?: string;
}

/** highlighted renders text with the characters at the offsets in matches wrapped in <mark>. */
export function highlighted(text: string, matches: readonly number[] | undefined): (string | HTMLElement)[] {
  if (!matches?.length) return [text];
  const at = new Set(matches);
  const out: (string | HTMLElement)[] = [];
  let run = "", marked = false;
  const flush = () => {
    if (run) out.push(marked ? h("mark.qp-match", {}, run) : run);
    run = "";
  };
  for (let i = 0; i < text.length; i++) {
    const m = at.has(i);
    if (m !== marked) {
      flush();
      marked = m;
    }
    run += text[i];
  }
  flush();
  return out;
}

/**
 * matchScore scores query against text: every query character must appear
 * in order (case-insensitive); a contiguous prefix scores best, then a
 * contiguous substring, then a scattered match. null means no match.
 */
export function matchScore(query: string, text: string): number | null {
  if (!query) return 0;
  const q = query.toLowerCase(), t = text.toLowerCase();
  if (t.startsWith(q)) return 3000 - t.length;
  const i = t.indexOf(q);
  if (i >= 0) return 2000 - i - t.length / 100;
  let j = 0, gaps = 0, last = -1;
  for (let k = 0; k < t.length && j < q.length; k++) {
    if (t[k] === q[j]) {
      if (last >= 0 && k !== last + 1) gaps++;
      last = k;
      j++;
    }
  }
  return j === q.length ? 1000 - gaps * 10 - t.length / 100 : null;
}

/** filterItems keeps the items whose key matches query, best first (stable among equals). */
export function filterItems<T>(items: readonly T[], query: string, key: (t: T) => string): T[] {
  if (!query) return [...items];
  const scored: { t: T; s: number; i: number }[] = [];
  items.forEach((t, i) => {
    const s = matchScore(query, key(t));
    if (s !== null) scored.push({ t, s, i });
  });
  scored.sort((a, b) => b.s - a.s || a.i - b.i);
  return scored.map((x) => x.t);
}

/** quickPick opens the list; it closes on pick, Escape or a click outside. */
export function quickPick<T>(o: QuickPickOptions<T>): { close(): void; el: HTMLElement } {
  const id = `quick-pick-${++pickSeq}`;
  const input = h("input.text.quick-pick-input", {
    type: "text", placeholder: o.placeholder, spellcheck: "false", autocomplete: "off",
    role: "combobox", "aria-expanded": "true", "aria-autocomplete": "list", "aria-controls": id + "-list", "aria-labelledby": id + "-title",
  });
  const list = h("ul.quick-pick-list", { role: "listbox", id: id + "-list", "aria-labelledby": id + "-title" });
  const status = h("div.quick-pick-status", { role: "status" });
  const box = h("div.quick-pick", { role: "dialog", "aria-modal": "true", "aria-labelledby": id + "-title", "data-testid": o.testid },
    h("div.quick-pick-title", { id: id + "-title" }, o.title), input, status, list);
  const overlay = h("div.overlay.quick-pick-overlay", {}, box);
  let trap: { release(restore?: boolean): void } | null = null;
  let items: T[] = [];
  let selected = 0;
  let seq = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  /** The load for what is typed now, while it runs (Enter waits for it). */
  let pending: Promise<void> | null = null;

  const close = (picked: boolean) => {
    if (closed) return;
    closed = true;
    if (timer) clearTimeout(timer);
    overlay.remove();
    // A pick moves focus where it leads (the editor); a cancel gives it back.
    trap?.release(!picked);
    if (!picked) o.cancelled?.();
  };
  const render = () => {
    clear(list);
    items.forEach((it, i) => {
      const r = o.row(it);
      const li = h("li.quick-pick-item", {
        role: "option",
        id: `${id}-item-${i}`,
        "data-index": i,
        "aria-selected": String(i === selected),
        onmousedown: (e: Event) => e.preventDefault(),
        onclick: () => choose(i),
      },
        r.kind ? h("span.qp-kind", {}, r.kind) : null,
        h("span.qp-label", {}, ...highlighted(r.label, r.labelMatches)),
        r.detail ? h("span.qp-detail", {}, ...highlighted(r.detail, r.detailMatches)) : null,
        r.hint ? h("kbd.qp-hint", {}, r.hint) : null,
      );
      list.append(li);
    });
    if (items[selected] !== undefined) input.setAttribute("aria-activedescendant", `${id}-item-${selected}`);
    else input.removeAttribute("aria-activedescendant");
    list.children[selected]?.scrollIntoView?.({ block: "nearest" });
  };
  const choose = (i: number) => {
    const it = items[i];
    if (it === undefined) return;
    close(true);
    o.pick(it);
  };
  const load = async () => {
    const mine = ++seq;
    let res: T[];
    try {
      res = await o.source(input.value);
    } catch (err) {
      if (mine !== seq) return;
      status.textContent = (err as Error).message ?? String(err);
      items = [];
      render();
      return;
    }
    if (mine !== seq || closed) return;
    items = res;
    selected = 0;
    status.textContent = items.length ? "" : (o.empty ?? "No matches");
    render();
  };
  const reload = () => {
    const p: Promise<void> = load().finally(() => {
      if (pending === p) pending = null;
    });
    pending = p;
    return p;
  };
  let debounced: { resolve(): void } | null = null;
  input.addEventListener("input", () => {
    if (timer) clearTimeout(timer);
    if (!o.debounceMs) {
      void reload();
      return;
    }
    // Until the debounced query runs, Enter must wait for its answer, not pick a stale row.
    if (!debounced) pending = new Promise<void>((resolve) => (debounced = { resolve }));
    timer = setTimeout(() => {
      timer = null;
      const d = debounced;
      debounced = null;
      void reload().finally(() => d?.resolve());
    }, o.debounceMs);
  });
  overlay.addEventListener("mousedown", (e) => {
    if (e.target === overlay) close(false);
  });
  overlay.addEventListener("keydown", (e) => {
    if (e.key === "Escape") close(false);
    else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (items.length) selected = (selected + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      render();
    } else if (e.key === "PageDown" || e.key === "PageUp") {
      selected = Math.max(0, Math.min(items.length - 1, selected + (e.key === "PageDown" ? 10 : -10)));
      render();
    } else if (e.key === "Enter") {
      if (pending) void pending.then(() => choose(selected));
      else choose(selected);
    } else return;
    e.preventDefault();
    e.stopPropagation();
  });
  document.body.append(overlay);
  if (o.value) input.value = o.value;
  trap = trapFocus(box, input);
  status.textContent = "Loading…";
  void reload();
  return { close: () => close(false), el: box };
}
