// .editorconfig (https://spec.editorconfig.org): the indentation a project
// asks for, applied to each file's editor. Files are read from the file's
// directory up to the workspace root, or to the first one saying root = true;
// nearer files and later sections win.
import { indentUnit } from "@codemirror/language";
import { EditorState, Prec, type Extension } from "@codemirror/state";

export interface EditorConfigFile {
  /** Directory of the .editorconfig, workspace-relative ("" for the root). */
  dir: string;
  text: string;
}

interface Section {
  glob: string;
  props: Record<string, string>;
}

interface Parsed {
  root: boolean;
  sections: Section[];
}

/** parse reads an .editorconfig's INI text: keys and values are lower-cased (values except for globs). */
export function parse(text: string): Parsed {
  const out: Parsed = { root: false, sections: [] };
  let cur: Section | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const sec = /^\[(.*)\]$/.exec(line);
    if (sec) {
      cur = { glob: sec[1], props: {} };
      out.sections.push(cur);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim().toLowerCase();
    if (!cur) {
      if (key === "root") out.root = value === "true";
      continue;
    }
    cur.props[key] = value;
  }
  return out;
}

/** globToRegExp translates an EditorConfig glob: * ? [seq] [!seq] {a,b} {n..m} and **. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    switch (c) {
      case "*":
        if (glob[i + 1] === "*") {
          re += ".*";
          i++;
        } else re += "[^/]*";
        break;
      case "?":
        re += "[^/]";
        break;
      case "[": {
        const end = glob.indexOf("]", i + 1);
        if (end < 0) {
          re += "\\[";
          break;
        }
        let body = glob.slice(i + 1, end);
        const neg = body.startsWith("!");
        if (neg) body = body.slice(1);
        re += `[${neg ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
        i = end;
        break;
      }
      case "{": {
        const end = glob.indexOf("}", i + 1);
        const range = end > 0 ? /^(-?\d+)\.\.(-?\d+)$/.exec(glob.slice(i + 1, end)) : null;
        if (range) {
          const [lo, hi] = [Number(range[1]), Number(range[2])].sort((a, b) => a - b);
          const alts: string[] = [];
          for (let n = lo; n <= hi && alts.length < 1000; n++) alts.push(String(n));
          re += `(?:${alts.join("|")})`;
          i = end;
        } else if (end > 0 && glob.slice(i + 1, end).includes(",")) {
          re += "(?:";
          depth++;
        } else re += "\\{";
        break;
      }
      case ",":
        re += depth > 0 ? "|" : ",";
        break;
      case "}":
        if (depth > 0) {
          re += ")";
          depth--;
        } else re += "\\}";
        break;
      case "\\":
        if (i + 1 < glob.length) re += glob[++i].replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
        break;
      default:
        re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
  }
  while (depth-- > 0) re += ")";
  return new RegExp(`^${re}$`);
}

/** matches applies a section glob to a path relative to the .editorconfig's directory. */
export function matches(glob: string, rel: string): boolean {
  // A glob without "/" matches the file name at any depth; one with "/" is anchored at the config's directory.
  const g = glob.includes("/") ? glob.replace(/^\//, "") : `**/${glob}`;
  return globToRegExp(g).test(rel) || (!glob.includes("/") && globToRegExp(glob).test(rel));
}

/**
 * resolve gives the properties for path from the .editorconfig files found
 * for it, ordered from the root down (the nearest last).
 */
export function resolve(path: string, files: EditorConfigFile[]): Record<string, string> {
  const parsed = files.map((f) => ({ f, p: parse(f.text) }));
  // Only files below the last root = true count.
  let start = 0;
  parsed.forEach((x, i) => {
    if (x.p.root) start = i;
  });
  const props: Record<string, string> = {};
  for (const { f, p } of parsed.slice(start)) {
    const rel = f.dir ? path.slice(f.dir.length + 1) : path;
    for (const s of p.sections) if (matches(s.glob, rel)) Object.assign(props, s.props);
  }
  return props;
}

/** configDirs lists the directories whose .editorconfig applies to path, from the root down. */
export function configDirs(path: string): string[] {
  const parts = path.split("/").slice(0, -1);
  const out = [""];
  for (let i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}

/** extensionFor turns the properties into editor settings (indent_style, indent_size, tab_width). */
export function extensionFor(props: Record<string, string>): Extension {
  const ext: Extension[] = [];
  const tabWidth = Number(props.tab_width) || (props.indent_size && props.indent_size !== "tab" ? Number(props.indent_size) : 0);
  if (tabWidth > 0 && tabWidth <= 16) ext.push(EditorState.tabSize.of(tabWidth));
  if (props.indent_style === "tab") ext.push(indentUnit.of("\t"));
  else if (props.indent_style === "space") {
    const n = props.indent_size === "tab" ? tabWidth : Number(props.indent_size);
    if (n > 0 && n <= 16) ext.push(indentUnit.of(" ".repeat(n)));
  }
  // Above the editor's defaults and the language's own (a Makefile's tabs stay unless the project says otherwise).
  return Prec.highest(ext);
}

/**
 * EditorConfigs reads and caches a workspace's .editorconfig files; a file
 * event on one drops it from the cache (open tabs keep their settings until
 * reopened).
 */
export class EditorConfigs {
  private cache = new Map<string, Promise<string | null>>();

  /** read returns a file's text, or null when it does not exist. */
  constructor(private read: (path: string) => Promise<string | null>) {}

  async styleFor(path: string): Promise<Extension | null> {
    const files: EditorConfigFile[] = [];
    for (const dir of configDirs(path)) {
      const p = dir ? `${dir}/.editorconfig` : ".editorconfig";
      let text = this.cache.get(p);
      if (!text) {
        text = this.read(p).catch(() => null);
        this.cache.set(p, text);
      }
      const t = await text;
      if (t !== null) files.push({ dir, text: t });
    }
    if (!files.length) return null;
    return extensionFor(resolve(path, files));
  }

  /** changed drops the cached files among paths. */
  changed(paths: string[]): void {
    for (const p of paths) if (p === ".editorconfig" || p.endsWith("/.editorconfig")) this.cache.delete(p);
  }
}
