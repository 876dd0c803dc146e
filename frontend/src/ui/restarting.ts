// Restarting: in the cloud the IDE talks to sessiond through /s/{session}/.
// When the session's container dies, the node saves its workspace from the
// disk and the cloud moves the session to a fresh container restored from
// that save; meanwhile the tunnel answers 503 with the session's state as
// the error code ("restarting", then "queued" and "starting"). Every stream
// and request fails during that time, so rather than a burst of error
// toasts the user sees one overlay saying what is happening, and the IDE
// picks up again on its own once sessiond answers.
import type { ApiError } from "../api/conn";
import { h } from "./dom";
import { type FocusTrap, trapFocus } from "./focus";

/** The tunnel's 503 codes while the session moves to another container (or its node's link is down). */
export const waitingCodes: ReadonlySet<string> = new Set(["restarting", "queued", "starting", "reconnecting"]);
/** The tunnel's codes for a session that will not come back. */
export const endedCodes: ReadonlySet<string> = new Set(["ending", "ended"]);

/** What one answer of the tunnel means for the session. */
export type Verdict = "up" | "waiting" | "ended" | "signed_out" | "unreachable";

/** What the overlay shows: the session between containers, back in a fresh one, or over. */
type Shown = "waiting" | "restarted" | "ended" | "signed_out";

/** classify reads an answer of the tunnel (status 0: no answer at all). */
export function classify(status: number, code: string): Verdict {
  if (status >= 200 && status < 300) return "up";
  if (status === 503 && waitingCodes.has(code)) return "waiting";
  // The tunnel's own answer when the container's sessiond does not: the
  // container died and the cloud has not heard it from the node yet.
  if (status === 502 && code === "tunnel") return "waiting";
  if (endedCodes.has(code)) return "ended";
  if (status === 401) return "signed_out";
  return "unreachable";
}

/** sessionIDOf returns the cloud session a base URL /s/{id}/ belongs to, or null outside the cloud. */
export function sessionIDOf(base: string): string | null {
  let p: string;
  try {
    p = new URL(base).pathname;
  } catch {
    return null;
  }
  const m = /^\/s\/([A-Za-z0-9_-]+)\/$/.exec(p);
  return m ? m[1] : null;
}

export interface RestartOptions {
  /** The IDE's base URL (/s/{id}/ in the cloud). */
  base: string;
  /** Called once sessiond answers again after the overlay was shown. */
  recovered(): void;
  /** Delay between probes while waiting; default 1000 ms. */
  pollMs?: number;
  /** The overlay stays at least this long, so it can be read rather than flash; default 1500 ms. */
  minShowMs?: number;
}

/**
 * RestartWatch listens for failed requests and dropped streams, asks the
 * tunnel's /healthz what they mean, and shows the overlay for as long as
 * the session is between containers.
 */
export class RestartWatch {
  /** The overlay, attached to document.body while shown. */
  readonly el: HTMLElement;
  private title = h("h2.dialog-title", { "data-testid": "restarting-title" });
  private box: HTMLElement;
  private trap: FocusTrap | null = null;
  private detail = h("div.restarting-detail", { "data-testid": "restarting-detail" });
  private link = h("a.btn.primary", { hidden: true, "data-testid": "restarting-link" });
  private readonly sessionAPI: string;
  private readonly healthz: string;
  private probing = false;
  private stopped = false;
  /** shown is true while the overlay is up. */
  shown = false;
  private shownAt = 0;
  /** A stream went silent: if sessiond answers at once, it may be a fresh one (the restart was quicker than anything noticed). */
  private suspect = false;
  verdict: Shown | "up" = "up";

  constructor(readonly session: string, private opts: RestartOptions) {
    this.healthz = new URL("healthz", opts.base).href;
    this.sessionAPI = new URL("/api/v1/sessions/" + encodeURIComponent(session), opts.base).href;
    this.title.id = "restarting-title";
    this.detail.id = "restarting-detail";
    this.detail.setAttribute("aria-live", "polite");
    this.box = h("div.dialog", { role: "alertdialog", "aria-modal": "true", "aria-labelledby": "restarting-title", "aria-describedby": "restarting-detail" },
      this.title, h("div.dialog-body", {}, h("div.restarting-row", {}, h("span.spinner", { "aria-hidden": "true" }), this.detail)),
      h("div.dialog-buttons", {}, this.link));
    this.el = h("div.overlay.restarting", { "data-testid": "restarting" }, this.box);
  }

  /** notice is told of every failed request or closed stream; an answer that already says "waiting" skips the probe. */
  notice(err?: ApiError): void {
    if (this.stopped) return;
    if (err && err.status >= 400 && err.status < 500 && err.status !== 401 && !endedCodes.has(err.code)) return; // the request's own fault
    if (err?.code === "stale") this.suspect = true;
    if (err && classify(err.status, err.code) === "waiting") this.show("waiting", "");
    void this.watch();
  }

  /** stop ends the watch for good (the page is going away). */
  stop(): void {
    this.stopped = true;
  }

  /** probe asks the tunnel's /healthz once. */
  async probe(): Promise<Verdict> {
    let res: Response;
    try {
      res = await fetch(this.healthz, { cache: "no-store", credentials: "same-origin" });
    } catch {
      return "unreachable";
    }
    let code = "";
    if (!res.ok) {
      try {
        code = (await res.json())?.error?.code ?? "";
      } catch {
        // not the JSON error shape
      }
    }
    return classify(res.status, code);
  }

  /**
   * watch probes until the session is up again. A failure that turns out
   * to be nothing (sessiond answers at once) shows nothing; an unreachable
   * cloud keeps being probed quietly (the status bar says offline) until
   * it answers one way or the other.
   */
  private async watch(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      let quiet = 0;
      while (!this.stopped) {
        const v = await this.probe();
        if (v === "up") {
          // A silent stream with sessiond answering: its container may
          // have been replaced in between (a tunnelled stream of a dead
          // container is not always closed). Reconnecting is right either
          // way; the overlay says so.
          if (!this.shown && this.suspect) this.show("restarted", await this.sessionDetail());
          this.suspect = false;
          if (this.shown) {
            const left = this.shownAt + (this.opts.minShowMs ?? 1500) - Date.now();
            if (left > 0) await new Promise((r) => setTimeout(r, left));
            this.hide();
            this.opts.recovered();
          }
          return;
        }
        if (v === "ended" || v === "signed_out") {
          this.show(v, await this.sessionDetail());
          return;
        }
        if (v === "waiting") this.show(v, await this.sessionDetail());
        else if (this.shown) this.detail.textContent = "the cloud does not answer; trying again";
        const wait = this.opts.pollMs ?? 1000;
        const backoff = v === "unreachable" && !this.shown ? Math.min(10_000, wait * 2 ** Math.min(quiet++, 4)) : wait;
        await new Promise((r) => setTimeout(r, backoff));
      }
    } finally {
      this.probing = false;
    }
  }

  /** sessionDetail reads the session's state from the cloud's session API ("" when it cannot). */
  private async sessionDetail(): Promise<string> {
    try {
      const r = await fetch(this.sessionAPI, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!r.ok) return "";
      const s = (await r.json()) as { state?: string; detail?: string; position?: number };
      this.el.dataset.session = s.state ?? "";
      const where = s.state === "queued" && s.position ? ` (position ${s.position} in the queue)` : "";
      return (s.detail || s.state || "") + where;
    } catch {
      return "";
    }
  }

  private show(v: Shown, detail: string) {
    this.verdict = v;
    this.el.dataset.state = v;
    if (v === "ended") {
      this.title.textContent = "This session has ended";
      this.detail.textContent = (detail || "the session is over") + ". Your work was saved; start a new session to continue.";
      this.setLink("Back to the start page", "/");
    } else if (v === "signed_out") {
      this.title.textContent = "You are signed out";
      this.detail.textContent = "Sign in again to continue; your work is saved.";
      this.setLink("Sign in", "/signin");
    } else if (v === "restarted") {
      this.title.textContent = "Reconnecting — your work was saved and restored";
      this.detail.textContent = (detail ? detail + "; " : "") + "reconnecting the editor, terminal and file streams";
      this.link.hidden = true;
    } else {
      this.title.textContent = "Restarting — your work is being saved and restored";
      this.detail.textContent = detail || "the session's container stopped; moving it to a fresh one";
      this.link.hidden = true;
    }
    this.el.classList.toggle("final", v === "ended" || v === "signed_out");
    if (!this.shown) {
      this.shown = true;
      this.shownAt = Date.now();
      document.body.append(this.el);
      // Nothing behind it works meanwhile: keyboard focus stays in the overlay.
      this.trap = trapFocus(this.box);
    } else if (!this.link.hidden && document.activeElement === this.box) this.link.focus();
  }

  private setLink(label: string, href: string) {
    this.link.textContent = label;
    this.link.setAttribute("href", href);
    this.link.hidden = false;
  }

  private hide() {
    this.shown = false;
    this.verdict = "up";
    this.el.remove();
    this.trap?.release();
    this.trap = null;
  }
}
