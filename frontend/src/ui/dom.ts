// Minimal DOM helpers: the IDE is plain TypeScript, no framework, to keep the
// initial bundle small.

type Attrs = Record<string, string | number | boolean | EventListener | undefined | null>;
type Child = Node | string | null | undefined | false;

/** h creates an element: h("div.cls#id", {title: "x", onclick: f}, ...children). */
export function h<K extends keyof HTMLElementTagNameMap>(sel: K | `${K}.${string}` | `${K}#${string}`, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(sel: string, attrs?: Attrs, ...children: Child[]): HTMLElement;
export function h(sel: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const m = /^([a-z0-9]+)(.*)$/i.exec(sel)!;
  const el = document.createElement(m[1]);
  for (const part of m[2].match(/[.#][^.#]+/g) ?? []) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}

/** formatBytes renders a byte count for humans (1.2 MiB). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + u[i];
}

export function basename(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? p : p.slice(i + 1);
}

export function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
}
