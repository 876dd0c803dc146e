// sanitizeHTML makes the HTML that lsp-client renders from a server's
// Markdown (hovers, completion and signature documentation) safe to insert:
// a language server is not trusted with the page. Only an allow-list of
// formatting elements survives; every attribute but a few harmless ones is
// dropped (no event handlers, no style); links keep only http(s) and mailto
// targets; images, scripts, frames, forms and SVG are removed.

/** Elements kept (attributes filtered); anything else unknown is unwrapped to its children. */
const KEEP = new Set([
  "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6",
  "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "samp", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
  "tfoot", "th", "thead", "tr", "u", "ul", "var",
]);

/** Elements dropped with everything inside them. */
const DROP = new Set([
  "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "template", "svg", "math", "form", "input",
  "button", "textarea", "select", "option", "link", "meta", "base", "noscript", "img", "picture", "video", "audio", "source",
  "track", "canvas", "dialog", "portal", "title", "head",
]);

/** Attributes kept, per element ("*" = any kept element). */
const ATTRS: Record<string, Set<string>> = {
  "*": new Set(["class", "title"]),
  a: new Set(["href"]),
  code: new Set([]),
  td: new Set(["align"]),
  th: new Set(["align"]),
  ol: new Set(["start"]),
};

/** safeHref returns href when it is an http(s) or mailto URL (or a same-document #fragment), else null. */
export function safeHref(href: string): string | null {
  // Browsers ignore control characters and whitespace inside the scheme ("java\tscript:").
  const compact = href.replace(/[\u0000-\u0020\u007f-\u009f]/g, "");
  if (compact.startsWith("#")) return href;
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(compact);
  if (!m) return null; // relative URLs would resolve against the IDE's own origin
  const scheme = m[1].toLowerCase();
  return scheme === "http" || scheme === "https" || scheme === "mailto" ? href : null;
}

/** sanitizeHTML returns html reduced to the allowed elements and attributes. */
export function sanitizeHTML(html: string): string {
  const tpl = document.createElement("template");
  tpl.innerHTML = html;
  clean(tpl.content);
  const out = document.createElement("div");
  out.append(tpl.content);
  return out.innerHTML;
}

function clean(parent: Node) {
  for (const node of [...parent.childNodes]) {
    if (node.nodeType === Node.TEXT_NODE) continue;
    if (node.nodeType !== Node.ELEMENT_NODE) {
      node.parentNode?.removeChild(node); // comments, processing instructions, CDATA
      continue;
    }
    const el = node as Element;
    const tag = el.localName.toLowerCase();
    if (DROP.has(tag) || el.namespaceURI !== "http://www.w3.org/1999/xhtml") {
      el.remove();
      continue;
    }
    clean(el);
    if (!KEEP.has(tag)) {
      el.replaceWith(...el.childNodes);
      continue;
    }
    for (const a of [...el.attributes]) {
      const name = a.name.toLowerCase();
      if (!ATTRS["*"].has(name) && !ATTRS[tag]?.has(name)) el.removeAttribute(a.name);
    }
    if (tag === "a") {
      const href = el.getAttribute("href");
      const safe = href === null ? null : safeHref(href);
      if (safe === null) el.removeAttribute("href");
      else if (!safe.startsWith("#")) {
        el.setAttribute("target", "_blank");
        el.setAttribute("rel", "noopener noreferrer nofollow");
      }
    }
  }
}
