// In-page modal dialogs (not window.confirm, which blocks streams and cannot
// offer more than two choices).
import { h } from "./dom";
import { trapFocus } from "./focus";

let dialogSeq = 0;

export interface Choice<T extends string> {
  id: T;
  label: string;
  kind?: "primary" | "danger" | "plain";
}

/** choose shows a modal and resolves with the chosen id, or null on Escape. */
export function choose<T extends string>(title: string, message: string | Node, choices: Choice<T>[], testid = "dialog"): Promise<T | null> {
  return new Promise((resolve) => {
    const id = `dialog-${++dialogSeq}`;
    const done = (v: T | null) => {
      overlay.remove();
      trap.release();
      resolve(v);
    };
    const buttons = choices.map((c) =>
      h("button", { class: "btn " + (c.kind ?? "plain"), "data-choice": c.id, onclick: () => done(c.id) }, c.label),
    );
    // A question that needs an answer (a choice that loses work, a conflict): an alert dialog.
    const alert = choices.some((c) => c.kind === "danger");
    const box = h("div.dialog", {
      role: alert ? "alertdialog" : "dialog", "aria-modal": "true", "aria-labelledby": id + "-title", "aria-describedby": id + "-body", "data-testid": testid,
    },
      h("h2.dialog-title", { id: id + "-title" }, title),
      h("div.dialog-body", { id: id + "-body" }, message),
      h("div.dialog-buttons", {}, ...buttons),
    );
    const overlay = h("div.overlay", {
      onkeydown: (e: Event) => {
        if ((e as KeyboardEvent).key === "Escape") {
          e.stopPropagation();
          done(null);
        }
      },
    }, box);
    document.body.append(overlay);
    const trap = trapFocus(box, buttons.find((_, i) => choices[i].kind === "primary") ?? buttons[0]);
  });
}

/** confirm asks a yes/no question; resolves true only on the confirming choice. */
export async function confirm(title: string, message: string, yes = "OK", danger = false): Promise<boolean> {
  const r = await choose(title, message, [
    { id: "cancel", label: "Cancel" },
    { id: "yes", label: yes, kind: danger ? "danger" : "primary" },
  ], "confirm");
  return r === "yes";
}

/** prompt asks for one line of text; resolves null when cancelled. */
export function prompt(title: string, label: string, initial = ""): Promise<string | null> {
  return new Promise((resolve) => {
    const id = `dialog-${++dialogSeq}`;
    const input = h("input.text", { type: "text", value: initial, spellcheck: "false", "data-testid": "prompt-input" });
    const done = (v: string | null) => {
      overlay.remove();
      trap.release();
      resolve(v);
    };
    const form = h("form.dialog", { role: "dialog", "aria-modal": "true", "aria-labelledby": id + "-title", "data-testid": "prompt", onsubmit: (e: Event) => {
      e.preventDefault();
      const v = input.value.trim();
      if (v) done(v);
    } },
      h("h2.dialog-title", { id: id + "-title" }, title),
      h("label.dialog-body", {}, label, input),
      h("div.dialog-buttons", {},
        h("button.btn.plain", { type: "button", onclick: () => done(null) }, "Cancel"),
        h("button.btn.primary", { type: "submit" }, "OK"),
      ),
    );
    const overlay = h("div.overlay", { onkeydown: (e: Event) => {
      if ((e as KeyboardEvent).key === "Escape") {
        e.stopPropagation();
        done(null);
      }
    } }, form);
    document.body.append(overlay);
    const trap = trapFocus(form, input);
    const dot = initial.lastIndexOf(".");
    input.setSelectionRange(0, dot > 0 ? dot : initial.length);
  });
}

/** toast shows a transient notice in the corner. */
export function toast(message: string, kind: "info" | "error" | "ok" = "info", ms = 5000): void {
  let host = document.getElementById("toasts");
  if (!host) {
    host = h("div#toasts", { "aria-live": "polite" });
    document.body.append(host);
  }
  const t = h("div.toast." + kind, { role: kind === "error" ? "alert" : "status" }, message);
  host.append(t);
  setTimeout(() => t.remove(), ms);
}
