// Restricted mode: while the host has not trusted the workspace, sessiond
// ignores its .ide/languages.toml and .ide/tasks.toml (they choose programs
// to run). The banner says so and, in the desktop app, offers to trust the
// folder; the app asks the user natively, so neither this page nor a file in
// the workspace can grant trust by itself.
import { type Connection, requestJSON } from "../api/conn";
import type { DesktopHost } from "../desktop";
import { toast } from "./dialog";
import { h } from "./dom";

/** WorkspaceTrust is GET api/v1/workspace/trust. */
export interface WorkspaceTrust {
  trusted: boolean;
  config_files: string[];
}

export function workspaceTrust(c: Connection): Promise<WorkspaceTrust> {
  return requestJSON(c, "GET", "api/v1/workspace/trust");
}

/** restrictedText is the banner's message for the ignored files. */
export function restrictedText(files: string[]): string {
  const list = files.join(" and ");
  const verb = files.length === 1 ? "is" : "are";
  return `Restricted mode: ${list} ${verb} not used until you trust this folder, so nothing in ${files.length === 1 ? "it" : "them"} runs. Built-in language servers and Build (make) still work.`;
}

export class TrustBanner {
  readonly el: HTMLElement;
  private text = h("span.trust-text", {});
  private button: HTMLButtonElement | null = null;

  /** onTrusted runs once the folder is trusted, to pick up its configuration. */
  constructor(private conn: Connection, private host: DesktopHost | null, private onTrusted: () => void) {
    if (host) {
      this.button = h("button.btn.primary.small", { "data-testid": "trust-folder", onclick: () => void this.trust() }, "Trust this folder…");
    }
    this.el = h("div.trust-banner", { role: "region", "aria-label": "Restricted mode", "data-testid": "trust-banner", hidden: true },
      h("span.trust-icon", {}, "🛡"), this.text, this.button);
  }

  /** refresh asks sessiond again (at start and when .ide/ changes). */
  async refresh(): Promise<void> {
    let t: WorkspaceTrust;
    try {
      t = await workspaceTrust(this.conn);
    } catch {
      return; // an older sessiond without the route is trusted
    }
    this.show(t);
  }

  show(t: WorkspaceTrust): void {
    const restricted = !t.trusted && t.config_files.length > 0;
    this.el.hidden = !restricted;
    if (restricted) this.text.textContent = restrictedText(t.config_files);
  }

  private async trust(): Promise<void> {
    if (!this.host || !this.button) return;
    this.button.disabled = true;
    try {
      if (await this.host.TrustFolder()) {
        this.el.hidden = true;
        toast("Folder trusted: its .ide configuration is in use.", "ok", 3000);
        this.onTrusted();
      }
    } catch (err) {
      toast(`Trust this folder: ${(err as Error).message}`, "error");
    } finally {
      this.button.disabled = false;
      // How many questions have been answered: a state tests can wait for.
      this.el.dataset.answered = String(Number(this.el.dataset.answered ?? 0) + 1);
    }
  }
}
