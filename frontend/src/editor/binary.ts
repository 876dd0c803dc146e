// Files that are not text never open in the text editor: saving a bitstream
// decoded as UTF-8 would corrupt it. They open in a read-only hex view with
// the file's facts instead; very large text files open read-only.
import type { Viewer } from "./area";
import { formatBytes, h } from "../ui/dom";

/** How much of a file decides whether it is text, and how much the hex view shows. */
export const SNIFF_BYTES = 8192;
export const HEX_VIEW_BYTES = 64 * 1024;
/** Text files larger than this open read-only, with a note. */
export const LARGE_TEXT_BYTES = 4 * 1024 * 1024;

/**
 * isBinary reports whether bytes are not text: a NUL byte in the first
 * SNIFF_BYTES (as git and grep decide), or bytes that are not UTF-8 there
 * (a sequence cut at the end of the sample does not count).
 */
export function isBinary(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, SNIFF_BYTES);
  if (head.includes(0)) return true;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: head.length < bytes.length });
    return false;
  } catch {
    return true;
  }
}

/** hexLines formats bytes as `offset  16 hex bytes  |ascii|` lines, from base. */
export function hexLines(bytes: Uint8Array, base = 0): string[] {
  const out: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.subarray(off, off + 16);
    let hex = "";
    let ascii = "";
    for (let i = 0; i < 16; i++) {
      if (i < row.length) {
        hex += row[i].toString(16).padStart(2, "0") + " ";
        ascii += row[i] >= 0x20 && row[i] < 0x7f ? String.fromCharCode(row[i]) : ".";
      } else hex += "   ";
      if (i === 7) hex += " ";
    }
    out.push(`${(base + off).toString(16).padStart(8, "0")}  ${hex} |${ascii}|`);
  }
  return out;
}

/** binaryViewer shows a binary file read-only: its size and the hex of its start. */
export function binaryViewer(path: string, bytes: Uint8Array, reload: () => Promise<Uint8Array>): Viewer {
  const info = h("div.binary-info", { "data-testid": "binary-info" });
  const pre = h("pre.binary-hex", { tabindex: "0", "data-testid": "binary-hex", "aria-label": `${path}, hex view` });
  const el = h("div.binary-view", { "data-path": path }, info, pre);
  const render = (b: Uint8Array) => {
    const shown = b.subarray(0, HEX_VIEW_BYTES);
    info.textContent = `${path}: ${formatBytes(b.length)} (${b.length.toLocaleString("en")} bytes), binary. It opens read-only as hex, never as text, so it cannot be corrupted by a save.${b.length > shown.length ? ` Showing the first ${formatBytes(shown.length)}.` : ""}`;
    pre.textContent = hexLines(shown).join("\n");
  };
  render(bytes);
  return {
    el,
    focus: () => pre.focus(),
    changed: () => {
      reload().then(render, (err) => (info.textContent = `${path}: could not be read again (${(err as Error).message})`));
    },
    dispose: () => el.remove(),
  };
}
