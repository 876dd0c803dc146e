// Code actions (quick fixes): Mod-. (and Ctrl-.) asks the server for the
// actions at the selection, with the diagnostics it touches, and shows them
// in a small menu at the cursor; the chosen one's WorkspaceEdit is applied
// to every file it names (opening files that are not) and its command, if
// any, is run on the server.
import { LSPPlugin, type LSPClient } from "@codemirror/lsp-client";
import type { Command, EditorView, KeyBinding } from "@codemirror/view";
import type * as lsp from "vscode-languageserver-protocol";
import { h } from "../ui/dom";
import { clientContext, positionAt } from "./context";
import { overlapping } from "./diagnostics";
import { applyWorkspaceEdit, Snapshot } from "./edits";

export type Action = lsp.CodeAction | lsp.Command;

function isCommand(a: Action): a is lsp.Command {
  return typeof (a as lsp.Command).command === "string";
}

/** sortActions puts preferred actions first and disabled ones last, keeping the server's order otherwise. */
export function sortActions(list: readonly Action[]): Action[] {
  const rank = (a: Action) => (isCommand(a) ? 1 : a.disabled ? 2 : a.isPreferred ? 0 : 1);
  return list.map((a, i) => ({ a, i })).sort((x, y) => rank(x.a) - rank(y.a) || x.i - y.i).map((x) => x.a);
}

let openMenu: { close(): void } | null = null;

/** closeCodeActions removes the menu if one is open. */
export function closeCodeActions(): void {
  openMenu?.close();
}

/**
 * openCodeActions requests the actions for [from, to] (with only as the
 * diagnostics, or the ones overlapping the range) and shows the menu.
 */
export function openCodeActions(view: EditorView, from: number, to: number, only?: lsp.Diagnostic): void {
  const plugin = LSPPlugin.get(view);
  if (!plugin) return;
  const client = plugin.client;
  const snapshot = new Snapshot(client);
  const doc = view.state.doc;
  const params: lsp.CodeActionParams = {
    textDocument: { uri: plugin.uri },
    range: { start: positionAt(doc, from), end: positionAt(doc, to) },
    context: { diagnostics: only ? [only] : overlapping(view.state, from, to), triggerKind: 1 },
  };
  const menu = showMenu(view, from);
  client.request<lsp.CodeActionParams, Action[] | null>("textDocument/codeAction", params).then((res) => {
    const list = sortActions(res ?? []);
    menu.fill(list, (a) => {
      void run(client, view, a, snapshot).finally(() => snapshot.destroy());
    });
  }, (err) => {
    menu.fail(`Code actions failed: ${err?.message ?? err}`);
    snapshot.destroy();
  });
  menu.onCancel = () => snapshot.destroy();
}

async function run(client: LSPClient, view: EditorView, a: Action, snapshot: Snapshot): Promise<void> {
  const notify = (m: string) => clientContext(client)?.notify(m, "error");
  try {
    let cmd: lsp.Command | undefined;
    if (isCommand(a)) cmd = a;
    else {
      let action = a;
      const provider = client.serverCapabilities?.codeActionProvider;
      if (!action.edit && !action.command && typeof provider === "object" && provider.resolveProvider) {
        action = await client.request<lsp.CodeAction, lsp.CodeAction>("codeAction/resolve", action);
      }
      if (action.edit) {
        const r = await applyWorkspaceEdit(client, action.edit, { snapshot, origin: view, userEvent: "input.codeaction" });
        if (!r.applied || r.failureReason) notify(`${action.title}: ${r.failureReason ?? "not applied"}`);
        if (!r.applied) return;
      }
      cmd = action.command;
    }
    if (cmd) await client.request<lsp.ExecuteCommandParams, unknown>("workspace/executeCommand", { command: cmd.command, arguments: cmd.arguments });
  } catch (err) {
    notify(`${a.title}: ${(err as Error)?.message ?? err}`);
  }
}

interface Menu {
  fill(list: Action[], choose: (a: Action) => void): void;
  fail(message: string): void;
  onCancel: () => void;
}

function showMenu(view: EditorView, pos: number): Menu {
  closeCodeActions();
  const coords = view.coordsAtPos(pos) ?? view.coordsAtPos(view.state.selection.main.head);
  const el = h("div.cm-code-actions", { role: "menu", tabindex: -1, "data-testid": "code-actions" }, h("div.cm-code-actions-status", {}, "Loading code actions…"));
  el.style.left = `${Math.round(coords?.left ?? 100)}px`;
  el.style.top = `${Math.round(coords?.bottom ?? 100) + 2}px`;
  let items: Action[] = [];
  let selected = 0;
  let choose: (a: Action) => void = () => {};
  let ul: HTMLElement | null = null;
  let closed = false;
  const menu: Menu = { fill, fail, onCancel: () => {} };
  const close = (picked: boolean) => {
    if (closed) return;
    closed = true;
    el.remove();
    document.removeEventListener("mousedown", outside, true);
    if (openMenu === handle) openMenu = null;
    if (!picked) menu.onCancel();
    view.focus();
  };
  const handle = { close: () => close(false) };
  const outside = (e: MouseEvent) => {
    if (!el.contains(e.target as Node)) close(false);
  };
  const enabled = (i: number) => !(items[i] as lsp.CodeAction).disabled;
  const mark = () => {
    ul?.querySelectorAll("li").forEach((li, i) => li.setAttribute("aria-selected", String(i === selected)));
  };
  const move = (d: number) => {
    for (let n = 0; n < items.length; n++) {
      selected = (selected + d + items.length) % items.length;
      if (enabled(selected)) break;
    }
    mark();
  };
  const pick = (i: number) => {
    if (!items[i] || !enabled(i)) return;
    close(true);
    choose(items[i]);
  };
  el.addEventListener("keydown", (e) => {
    if (e.key === "Escape") close(false);
    else if (e.key === "ArrowDown") move(1);
    else if (e.key === "ArrowUp") move(-1);
    else if (e.key === "Enter") pick(selected);
    else return;
    e.preventDefault();
    e.stopPropagation();
  });
  function fill(list: Action[], f: (a: Action) => void) {
    if (closed) return;
    items = list;
    choose = f;
    el.replaceChildren();
    if (!list.length) {
      el.append(h("div.cm-code-actions-status", {}, "No code actions available"));
      return;
    }
    ul = h("ul", {});
    list.forEach((a, i) => {
      const action = isCommand(a) ? null : a;
      ul!.append(h("li", {
        role: "menuitem",
        "data-index": i,
        "data-kind": action?.kind ?? "command",
        "data-preferred": action?.isPreferred ? "true" : undefined,
        "aria-disabled": action?.disabled ? "true" : undefined,
        title: action?.disabled?.reason ?? "",
        onmousedown: (e: Event) => e.preventDefault(),
        onclick: () => pick(i),
      }, a.title));
    });
    el.append(ul);
    selected = -1;
    move(1);
    el.focus();
  }
  function fail(message: string) {
    if (closed) return;
    el.replaceChildren(h("div.cm-code-actions-status.error", {}, message));
  }
  document.body.append(el);
  document.addEventListener("mousedown", outside, true);
  el.focus();
  openMenu = handle;
  const clamp = () => {
    // Keep the menu on screen: above the line when there is no room below.
    const r = el.getBoundingClientRect();
    if (r.bottom > window.innerHeight && coords) el.style.top = `${Math.max(0, Math.round(coords.top - r.height - 2))}px`;
    if (r.right > window.innerWidth) el.style.left = `${Math.max(0, window.innerWidth - r.width - 4)}px`;
  };
  menu.fill = ((fill0) => (list, f) => {
    fill0(list, f);
    clamp();
  })(menu.fill);
  return menu;
}

export const codeActionCommand: Command = (view) => {
  const plugin = LSPPlugin.get(view);
  if (!plugin || !plugin.client.serverCapabilities?.codeActionProvider) return false;
  const sel = view.state.selection.main;
  openCodeActions(view, sel.from, sel.to);
  return true;
};

export const codeActionKeymap: readonly KeyBinding[] = [
  { key: "Mod-.", run: codeActionCommand, preventDefault: true },
  { key: "Ctrl-.", run: codeActionCommand, preventDefault: true },
];
