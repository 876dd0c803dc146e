// Source Control: the sidebar's Git section (Ctrl+Shift+G), as VS Code's
// Source Control view: branch with ahead/behind, Conflicts / Staged /
// Changes / Untracked with per-file Stage, Unstage and Discard, a commit box
// (Ctrl+Enter commits), Push and Pull with git's output, a branch picker and
// the log. A file opens its diff in a tab (editor/gitdiff.ts); a conflicted
// one opens in the editor with its markers. Refreshed after every operation,
// debounced on file watcher events, and every few seconds while visible
// (git run in the terminal changes only .git, which the watcher leaves out).
import { ApiError } from "../api/conn";
import "./git.css";
import { confirm, prompt, toast } from "./dialog";
import { filterItems, quickPick } from "./quickpick";
import { clear, h } from "./dom";
import { aheadBehind, entryPaths, type GitAPI, type GitFile, type GitStatus } from "./gitapi";

export interface GitPanelHooks {
  openDiff(path: string, staged: boolean): void;
  openFile(path: string): void;
  /** After the index or working tree changed through the panel. */
  changed(): void;
}

type Section = "conflicts" | "staged" | "changes" | "untracked";

const sectionTitles: Record<Section, string> = { conflicts: "Merge Changes", staged: "Staged Changes", changes: "Changes", untracked: "Untracked" };

export class GitPanel {
  readonly el: HTMLElement;
  status: GitStatus | null = null;
  private branchBtn: HTMLButtonElement;
  private syncEl = h("span.git-sync", { "data-testid": "git-sync" });
  private message: HTMLTextAreaElement;
  private listEl = h("div.git-lists", { "data-testid": "git-lists" });
  private outputEl = h("pre.git-output", { "data-testid": "git-output", role: "log", "aria-label": "Git output", hidden: true });
  private logEl = h("div.git-log", { "data-testid": "git-log", hidden: true });
  private timer: ReturnType<typeof setTimeout> | null = null;
  private busy = false;
  /** The last push was rejected (the remote moved on): Pull is what to do next. */
  private rejected = false;
  private pullBtn: HTMLButtonElement;
  private actionBtns: HTMLButtonElement[];

  constructor(private api: GitAPI, private hooks: GitPanelHooks) {
    this.branchBtn = h("button.btn.plain.git-branch", { type: "button", "data-testid": "git-branch", title: "Branch: pick or create", onclick: () => void this.pickBranch() }, "…");
    this.message = h("textarea.input.git-message", { "data-testid": "git-message", "aria-label": "Commit message", placeholder: "Message (Ctrl+Enter to commit)", rows: 2, spellcheck: "false" });
    this.message.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        void this.commit();
      }
    });
    const btn = (label: string, testid: string, aria: string, run: () => unknown) =>
      h("button.btn.plain", { type: "button", "data-testid": testid, "aria-label": aria, title: aria, onclick: () => void run() }, label);
    const pushBtn = btn("Push", "git-push", "Push", () => this.sync("push"));
    this.pullBtn = btn("Pull", "git-pull", "Pull", () => this.sync("pull"));
    const commitBtn = btn("✓ Commit", "git-commit", "Commit the staged changes (Ctrl+Enter)", () => this.commit());
    const amendBtn = btn("Amend", "git-amend", "Amend the last commit", () => this.commit(true));
    this.actionBtns = [pushBtn, this.pullBtn, commitBtn, amendBtn];
    this.el = h("section.git-view", { "data-testid": "git", "aria-label": "Source Control" },
      h("header.pane-head", {}, h("span.pane-title", { id: "git-title" }, "Source Control"), h("span.spacer", {}),
        btn("↻", "git-refresh", "Refresh source control", () => this.refresh()),
        btn("Log", "git-log-btn", "Show the log", () => this.toggleLog())),
      h("div.git-row", {}, this.branchBtn, this.syncEl, h("span.spacer", {}),
        this.pullBtn, pushBtn),
      h("div.git-row", {}, this.message),
      h("div.git-row", {}, commitBtn, amendBtn),
      this.outputEl, this.listEl, this.logEl);
  }

  focus(): void {
    this.el.hidden = false;
    this.el.scrollIntoView({ block: "nearest" });
    this.message.focus();
  }

  /**
   * poll refreshes every ms while the page is visible: the file watcher
   * leaves .git out, so a commit or checkout in the terminal shows up here.
   */
  poll(ms = 10_000): void {
    setInterval(() => {
      if (document.visibilityState === "visible" && !this.timer && !this.busy) void this.refresh();
    }, ms);
  }

  /** Refresh soon (watcher events come in bursts). */
  schedule(ms = 300): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, ms);
  }

  async refresh(): Promise<void> {
    try {
      this.render(await this.api.status());
    } catch (err) {
      clear(this.listEl);
      this.listEl.append(h("p.git-empty", {}, (err as Error).message));
    }
  }

  private render(st: GitStatus) {
    this.status = st;
    clear(this.listEl);
    if (!st.repo) {
      this.branchBtn.textContent = "no repository";
      this.listEl.append(h("p.git-empty", {}, "The workspace is not a git repository."));
      return;
    }
    this.branchBtn.textContent = "⎇ " + (st.detached ? "(detached " + st.commit.slice(0, 7) + ")" : st.branch) + (st.merging ? " (merging)" : "");
    this.syncEl.textContent = aheadBehind(st);
    this.syncEl.title = st.upstream ? `${st.upstream}: ${st.ahead} ahead, ${st.behind} behind` : "no upstream";
    this.markPull(this.rejected || st.behind > 0);
    for (const sec of ["conflicts", "staged", "changes", "untracked"] as Section[]) {
      const files = st[sec];
      if (!files.length) continue;
      const head = h("div.git-section-head", {}, h("span", {}, `${sectionTitles[sec]} `), h("span.git-count", {}, String(files.length)), h("span.spacer", {}));
      if (sec === "staged") head.append(this.fileBtn("−", "Unstage all", "unstage-all", () => this.op("unstage", files.flatMap(entryPaths))));
      else head.append(this.fileBtn("+", `Stage all ${sectionTitles[sec].toLowerCase()}`, `stage-all-${sec}`, () => this.op("stage", files.flatMap(entryPaths))));
      const ul = h("ul.git-files", { "aria-label": sectionTitles[sec] });
      for (const f of files) ul.append(this.fileRow(sec, f));
      this.listEl.append(h("div.git-section", { "data-testid": `git-${sec}` }, head, ul));
    }
    if (!st.staged.length && !st.changes.length && !st.untracked.length && !st.conflicts.length) this.listEl.append(h("p.git-empty", {}, "No changes."));
    if (st.truncated) this.listEl.append(h("p.git-empty", {}, "More files changed than shown."));
  }

  private fileBtn(label: string, aria: string, testid: string, run: () => unknown) {
    return h("button.icon-btn.git-file-btn", { type: "button", "aria-label": aria, title: aria, "data-testid": testid, onclick: (e: Event) => { e.stopPropagation(); void run(); } }, label);
  }

  private fileRow(sec: Section, f: GitFile) {
    const name = f.path.split("/").pop()!;
    const dir = f.path.slice(0, f.path.length - name.length);
    const open = () => (sec === "conflicts" ? this.hooks.openFile(f.path) : this.hooks.openDiff(f.path, sec === "staged"));
    const label = h("button.git-file-name", { type: "button", "data-testid": "git-file", "data-path": f.path, "aria-label": `${f.path}, ${sec === "conflicts" ? "conflicted" : statusWord(f.status)}: open ${sec === "conflicts" ? "it" : "its diff"}`, onclick: open },
      h("span", {}, name), h("span.git-file-dir", {}, dir.replace(/\/$/, "")));
    const btns: HTMLElement[] = [];
    if (sec === "staged") btns.push(this.fileBtn("−", `Unstage ${f.path}`, "unstage", () => this.op("unstage", entryPaths(f))));
    else {
      if (sec !== "conflicts") btns.push(this.fileBtn("↶", `Discard changes to ${f.path}`, "discard", () => this.discard(f, sec)));
      btns.push(this.fileBtn("+", sec === "conflicts" ? `Mark ${f.path} resolved (stage it)` : `Stage ${f.path}`, "stage", () => this.op("stage", [f.path])));
    }
    return h("li.git-file", { "data-path": f.path }, label, h("span.spacer", {}), ...btns, h("span.git-letter", { "aria-hidden": "true", title: statusWord(f.status) }, f.status));
  }

  private async discard(f: GitFile, sec: Section) {
    const what = sec === "untracked" ? `Delete the untracked file ${f.path}?` : `Discard the changes to ${f.path}?`;
    if (!(await confirm("Discard changes", what + " This cannot be undone.", sec === "untracked" ? "Delete file" : "Discard", true))) return;
    await this.op("discard", [f.path]);
  }

  private async op(kind: "stage" | "unstage" | "discard", paths: string[]) {
    try {
      this.render(await this.api[kind]({ paths }));
    } catch (err) {
      toast((err as Error).message, "error", 10_000);
    }
    this.hooks.changed();
  }

  /** setBusy disables the panel's actions while one runs, so that they show it. */
  private setBusy(on: boolean) {
    this.busy = on;
    for (const b of this.actionBtns) b.disabled = on;
    if (on) this.el.setAttribute("aria-busy", "true");
    else this.el.removeAttribute("aria-busy");
  }

  /** markPull points at Pull when the remote has commits this branch lacks. */
  private markPull(on: boolean) {
    this.pullBtn.classList.toggle("attention", on);
    this.pullBtn.title = on ? "Pull: the remote has commits this branch lacks; pull them in, then push" : "Pull";
  }

  async commit(amend = false): Promise<void> {
    if (this.busy) return;
    // As VS Code's smart commit: nothing staged but changes made, so offer to commit them all.
    const st = this.status;
    const unstaged = st ? [...st.changes, ...st.untracked] : [];
    if (!amend && st && !st.staged.length && !st.conflicts.length && unstaged.length) {
      const n = unstaged.length;
      if (!(await confirm("Commit all changes?", `Nothing is staged. Stage all changes (${n} file${n === 1 ? "" : "s"}) and commit them?`, "Stage all and commit"))) return;
      try {
        this.render(await this.api.stage({ paths: unstaged.flatMap(entryPaths) }));
      } catch (err) {
        this.show((err as Error).message, true);
        toast((err as Error).message, "error", 10_000);
        return;
      }
    }
    this.setBusy(true);
    try {
      const r = await this.api.commit(this.message.value, amend);
      this.message.value = "";
      this.show(`Committed ${r.commit.slice(0, 7)} ${r.summary}`);
      toast(`Committed: ${r.summary}`, "ok");
    } catch (err) {
      this.show((err as Error).message, true);
      toast((err as Error).message, "error", 10_000);
    } finally {
      this.setBusy(false);
    }
    await this.refresh();
    this.hooks.changed();
  }

  async sync(kind: "push" | "pull"): Promise<void> {
    if (this.busy) return;
    this.setBusy(true);
    this.show(kind === "push" ? "Pushing…" : "Pulling…");
    try {
      const r = await this.api[kind](this.status?.branch || undefined);
      const tail = r.conflicts.length ? `\nConflicts in: ${r.conflicts.join(", ")} — resolve them, then stage each file.` : "";
      this.show((r.output || (kind === "push" ? "Pushed." : "Up to date.")) + tail, r.conflicts.length > 0);
      toast(r.conflicts.length ? `${kind === "pull" ? "Pull" : "Merge"} left ${r.conflicts.length} conflicted file(s)` : kind === "push" ? "Pushed" : "Pulled", r.conflicts.length ? "error" : "ok");
      this.rejected = false;
    } catch (err) {
      const e = err as ApiError;
      if (kind === "push" && e.code === "rejected") this.rejected = true;
      const out = (e.details as { output?: string } | undefined)?.output;
      this.show(e.message + (out ? "\n" + out : ""), true);
      toast(e.message, "error", 10_000);
    } finally {
      this.setBusy(false);
    }
    await this.refresh();
    this.hooks.changed();
  }

  private show(text: string, error = false) {
    this.outputEl.hidden = false;
    this.outputEl.textContent = text;
    this.outputEl.classList.toggle("error", error);
  }

  async pickBranch(): Promise<void> {
    let list;
    try {
      list = (await this.api.branches()).branches;
    } catch (err) {
      toast((err as Error).message, "error");
      return;
    }
    type Item = { id: string; label: string; detail?: string; kind?: string };
    const items: Item[] = [{ id: "+new", label: "+ Create new branch…" },
      ...list.filter((b) => !b.current).map((b) => ({ id: b.name, label: b.name, detail: b.subject, kind: b.remote ? "remote" : "branch" }))];
    const pick = await new Promise<string | null>((resolve) => {
      quickPick<Item>({
        title: "Switch branch", placeholder: "Branch to switch to, or create one", testid: "git-branch-picker",
        source: (q) => filterItems(items, q, (i) => i.label),
        row: (i) => ({ label: i.label, detail: i.detail, kind: i.kind }),
        pick: (i) => resolve(i.id),
        cancelled: () => resolve(null),
        empty: "No such branch",
      });
    });
    if (!pick) return;
    try {
      if (pick === "+new") {
        const name = await prompt("Create branch", "Branch name");
        if (!name) return;
        await this.api.createBranch(name, true);
      } else await this.api.switchTo(pick);
    } catch (err) {
      toast((err as Error).message, "error", 15_000);
      this.show((err as Error).message, true);
    }
    await this.refresh();
    this.hooks.changed();
  }

  async toggleLog(path?: string): Promise<void> {
    if (!this.logEl.hidden && !path) {
      this.logEl.hidden = true;
      return;
    }
    this.logEl.hidden = false;
    clear(this.logEl);
    this.logEl.append(h("div.git-section-head", {}, h("span", {}, path ? `Log: ${path}` : "Log")));
    const ul = h("ul.git-commits", { "aria-label": "Commits" });
    this.logEl.append(ul);
    let skip = 0;
    const more = h("button.btn.plain", { type: "button", "data-testid": "git-log-more", onclick: () => void load() }, "Older commits");
    const load = async () => {
      try {
        const page = await this.api.log(skip, 50, path);
        skip += page.commits.length;
        for (const c of page.commits) ul.append(h("li.git-commit", { title: `${c.hash}\n${c.author} <${c.email}>\n${c.date}` }, h("code", {}, c.short), " ", c.subject, h("span.git-file-dir", {}, ` ${c.author}, ${c.date.slice(0, 10)}`)));
        more.hidden = !page.more;
      } catch (err) {
        ul.append(h("li", {}, (err as Error).message));
      }
    };
    this.logEl.append(more);
    await load();
  }

  /** blame shows who last changed a line. */
  async blame(path: string, line: number): Promise<void> {
    try {
      const b = await this.api.blame(path, line);
      const text = b.uncommitted ? `Line ${line}: not committed yet` : `Line ${line}: ${b.author}, ${b.date.slice(0, 10)} — ${b.summary} (${b.hash.slice(0, 7)})`;
      this.show(text);
      toast(text, "info", 10_000);
    } catch (err) {
      toast((err as Error).message, "error");
    }
  }
}

function statusWord(s: string): string {
  return ({ M: "modified", A: "added", D: "deleted", R: "renamed", C: "copied", T: "type changed", "?": "untracked" } as Record<string, string>)[s] ?? "conflicted";
}
