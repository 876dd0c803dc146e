// The Fleet panel: "Run on the fleet" for a build or a simulation of the
// workspace (open editors saved first; the cloud saves the workspace and
// runs exactly that commit on a node), and the user's tasks, polled live
// while any is active. A selected task shows its state, node and timings,
// its events, its log (followed as it streams), and its artifacts with their
// size, a download link and, for a .bin, Flash, which hands the bytes to the
// Bitstreams section's flash controls. Outside the cloud the commands say
// the fleet needs it (ui/fleetapi.ts).
import "./fleet.css";
import { type FleetAPI, type FleetEvent, type FleetSpec, type FleetTask, isActive, joinCommand, parseArtifacts, splitCommand, stateLine, timings } from "./fleetapi";
import { toast } from "./dialog";
import { clear, formatBytes, h } from "./dom";
import { rovingMove, trapFocus } from "./focus";
import { LogPanel } from "./log";

/** What the panel needs of the IDE. */
export interface FleetHooks {
  /** show makes the Fleet panel visible. */
  show(): void;
  /** visible is true while the Fleet panel shows. */
  visible(): boolean;
  /** saveAll saves every open editor with changes; false when one was not saved. */
  saveAll(): Promise<boolean>;
  /** dockerfiles lists the workspace's Dockerfiles (the quick-open index). */
  dockerfiles(): Promise<string[]>;
  /** presets are commands the workspace suggests (its build, its testbenches). */
  presets(): Promise<Preset[]>;
  /** flash writes a bitstream to the board chosen in the Bitstreams section. */
  flash(name: string, load: (signal: AbortSignal) => Promise<Uint8Array>): void;
  /** open shows a workspace file at a line (log links). */
  open(path: string, line: number, column?: number): void;
}

/** A suggested run: a label, its command line and artifacts. */
export interface Preset {
  label: string;
  command: string;
  artifacts: string;
}

/** The dialog's fields, as remembered between runs. */
export interface RunForm {
  dockerfile: string;
  command: string;
  artifacts: string;
  cpus: number;
  memoryMiB: number;
  timeoutMin: number;
}

export const defaultForm: RunForm = { dockerfile: ".gatewave/fleet/Dockerfile", command: "make BUILD=/out", artifacts: "", cpus: 1, memoryMiB: 1024, timeoutMin: 30 };

const formKey = "gatewave.fleet.run";

/** formProblem says what is wrong with the dialog's values, or null; spec is what they submit. */
export function formSpec(f: RunForm, session: string): { spec?: FleetSpec; problem?: string } {
  let command: string[];
  try {
    command = splitCommand(f.command);
  } catch (err) {
    return { problem: `Command: ${(err as Error).message}` };
  }
  if (!command.length) return { problem: "Command: say what to run (for a build, make BUILD=/out)" };
  if (!f.dockerfile.trim()) return { problem: "Dockerfile: name the Dockerfile of the environment (.gatewave/fleet/Dockerfile)" };
  if (!(f.cpus > 0)) return { problem: "CPUs must be more than 0" };
  if (!(f.memoryMiB >= 16)) return { problem: "Memory must be at least 16 MiB" };
  if (!(f.timeoutMin > 0)) return { problem: "Timeout must be more than 0 minutes" };
  return {
    spec: {
      save_session: session,
      dockerfile_path: f.dockerfile.trim().replace(/^\.\//, ""),
      command,
      resources: { cpus: f.cpus, memory_bytes: Math.round(f.memoryMiB * 1024 * 1024) },
      timeout_seconds: Math.max(1, Math.round(f.timeoutMin * 60)),
      artifacts: parseArtifacts(f.artifacts),
    },
  };
}

export function loadForm(): RunForm {
  try {
    const v = JSON.parse(localStorage.getItem(formKey) ?? "null");
    if (v && typeof v === "object") {
      const f = { ...defaultForm };
      for (const k of Object.keys(defaultForm) as (keyof RunForm)[]) {
        if (typeof v[k] === typeof defaultForm[k]) (f as Record<string, unknown>)[k] = v[k];
      }
      return f;
    }
  } catch {
    // storage refused or garbage: the defaults
  }
  return { ...defaultForm };
}

function saveForm(f: RunForm) {
  try {
    localStorage.setItem(formKey, JSON.stringify(f));
  } catch {
    // storage refused (private mode): not remembered
  }
}

const pollMs = 1500;

export class FleetPanel {
  readonly el: HTMLElement;
  private tasks: FleetTask[] = [];
  private rows = new Map<number, HTMLButtonElement>();
  private listEl = h("ul.fleet-tasks", { "aria-label": "Tasks", "data-testid": "fleet-tasks" });
  private noteEl = h("div.fleet-note", { role: "status", "data-testid": "fleet-note" });
  private detailEl: HTMLElement;
  private headEl = h("div.fleet-detail-head", { "data-testid": "fleet-detail-head" });
  private factsEl = h("div.fleet-facts", { "data-testid": "fleet-facts" });
  private eventsEl = h("ol.fleet-events", { "aria-label": "Events", "data-testid": "fleet-events" });
  private timelineSummary = h("summary", {}, "Events");
  private timelineEl = h("details.fleet-timeline", { hidden: true }, this.timelineSummary, this.eventsEl);
  private artifactsEl = h("div.fleet-artifacts", { "data-testid": "fleet-artifacts" });
  private cancelBtn: HTMLButtonElement;
  private stateEl = h("span.task-state", { "data-testid": "fleet-state" });
  private titleEl = h("h2.fleet-title", { "data-testid": "fleet-title" });
  private cmdEl = h("code.fleet-cmd", {});
  private log: LogPanel;
  private selected: number | null = null;
  private follow: AbortController | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private artifactsFor = "";
  private dialogOpen = false;
  private loaded = false;

  constructor(private api: FleetAPI, private hooks: FleetHooks) {
    this.log = new LogPanel({ open: (p, l, c) => hooks.open(p, l, c) }, 10_000, "fleet-log");
    this.cancelBtn = h("button.btn.plain.small", { type: "button", hidden: true, "data-testid": "fleet-cancel", onclick: () => void this.cancelSelected() }, "Cancel");
    this.detailEl = h("div.fleet-detail", { "data-testid": "fleet-detail", hidden: true },
      this.headEl, this.factsEl, this.timelineEl, this.artifactsEl, this.log.el);
    this.listEl.addEventListener("keydown", (e) => this.listKeys(e));
    this.el = h("div.fleet", { "data-testid": "fleet" },
      h("div.fleet-side", {},
        h("div.fleet-side-head", {},
          h("button.btn.primary.small", { type: "button", "data-testid": "fleet-run", title: "Run a build or simulation of the workspace on the fleet (Ctrl+Alt+B)", onclick: () => void this.runDialog() }, "▶ Run on the fleet…"),
          h("span.spacer", {}),
          h("button.icon-btn", { type: "button", title: "Refresh tasks", "aria-label": "Refresh tasks", onclick: () => void this.refresh() }, "⟳")),
        this.noteEl,
        this.listEl),
      this.detailEl);
  }

  /** showTasks shows the panel with the tasks, fresh. */
  async showTasks(): Promise<void> {
    const why = await this.api.available();
    if (why) {
      toast(why, "error", 8000);
      return;
    }
    this.hooks.show();
    await this.refresh();
  }

  /** shown is called when the panel is made visible (its tab): the list is refreshed. */
  shown(): void {
    void this.api.available().then((why) => {
      if (why) this.note(why);
      else void this.refresh();
    });
  }

  private note(text: string) {
    this.noteEl.textContent = text;
  }

  /** refresh reads the task list, redraws it, and polls again while a task is active. */
  async refresh(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      this.tasks = (await this.api.list()).tasks ?? [];
      this.loaded = true;
      this.note(this.tasks.length ? "" : "No tasks yet: Run on the fleet builds or simulates this workspace on a node.");
    } catch (err) {
      this.note(`Tasks unavailable: ${(err as Error).message}`);
    }
    this.renderList();
    const sel = this.tasks.find((t) => t.id === this.selected);
    if (sel) await this.renderDetail(sel);
    if (this.timer) clearTimeout(this.timer);
    this.timer = this.tasks.some((t) => isActive(t.state)) ? setTimeout(() => void this.refresh(), pollMs) : null;
  }

  private renderList() {
    const keep = new Set(this.tasks.map((t) => t.id));
    for (const [id, b] of this.rows) {
      if (!keep.has(id)) {
        b.parentElement?.remove();
        this.rows.delete(id);
      }
    }
    // Newest first, as the cloud lists them; rows stay in place (focus with them).
    let after: Element | null = null;
    for (const t of this.tasks) {
      let b = this.rows.get(t.id);
      if (!b) {
        const id = t.id;
        b = h("button.fleet-task", { type: "button", "data-task-id": String(id), "data-testid": "fleet-task", tabindex: "-1", onclick: () => void this.select(id) });
        this.rows.set(id, b);
        const li = h("li", {}, b);
        if (after) after.after(li);
        else this.listEl.prepend(li);
      }
      after = b.parentElement;
      this.fillRow(b, t);
    }
    const items = this.tasks.map((t) => this.rows.get(t.id)!);
    const cur = items.findIndex((b) => b.getAttribute("tabindex") === "0");
    const sel = this.tasks.findIndex((t) => t.id === this.selected);
    items.forEach((b, i) => b.setAttribute("tabindex", i === (cur >= 0 ? cur : Math.max(sel, 0)) ? "0" : "-1"));
  }

  private fillRow(b: HTMLButtonElement, t: FleetTask) {
    clear(b);
    b.dataset.state = t.state;
    b.setAttribute("aria-current", String(t.id === this.selected));
    b.classList.toggle("selected", t.id === this.selected);
    b.append(
      h("span.fleet-task-top", {},
        h("span.fleet-id", {}, `#${t.id}`),
        h("span.task-state." + t.state, { "data-testid": "fleet-task-state" }, t.state),
        h("span.fleet-cmd", {}, joinCommand(t.command ?? []))),
      h("span.fleet-task-sub", {}, [t.node, timings(t), t.detail].filter(Boolean).join(" · ")),
    );
    b.title = `${stateLine(t)}${t.detail ? ": " + t.detail : ""}`;
  }

  private listKeys(e: KeyboardEvent) {
    const items = [...this.listEl.querySelectorAll<HTMLButtonElement>("button.fleet-task")];
    const at = items.indexOf(e.target as HTMLButtonElement);
    const k = ({ ArrowDown: "next", ArrowUp: "prev", Home: "first", End: "last" } as const)[e.key as "Home"];
    if (at < 0 || !k) return;
    const i = rovingMove(k, at, items.length);
    e.preventDefault();
    if (i === null) return;
    items.forEach((b, j) => b.setAttribute("tabindex", j === i ? "0" : "-1"));
    items[i].focus();
  }

  /** select shows a task: its facts, artifacts and log (followed while it runs). */
  async select(id: number): Promise<void> {
    if (this.selected !== id) {
      this.selected = id;
      this.artifactsFor = "";
      this.follow?.abort();
      this.follow = null;
      this.log.clear();
      clear(this.eventsEl);
      this.timelineEl.hidden = true;
      for (const [tid, b] of this.rows) {
        b.setAttribute("aria-current", String(tid === id));
        b.classList.toggle("selected", tid === id);
        b.setAttribute("tabindex", tid === id ? "0" : "-1");
      }
    }
    let t = this.tasks.find((x) => x.id === id);
    if (!t) {
      try {
        t = (await this.api.get(id)).task;
      } catch (err) {
        this.note(`Task ${id}: ${(err as Error).message}`);
        return;
      }
    }
    this.detailEl.hidden = false;
    await this.renderDetail(t);
    if (!this.follow) void this.followLog(id);
  }

  private async renderDetail(t: FleetTask) {
    // Updated in place: the Cancel button keeps its focus across polls.
    if (!this.headEl.childElementCount) this.headEl.append(this.stateEl, this.titleEl, this.cmdEl, h("span.spacer", {}), this.cancelBtn);
    this.stateEl.className = "task-state " + t.state;
    this.stateEl.textContent = t.state;
    this.titleEl.textContent = `Task #${t.id}`;
    this.cmdEl.textContent = this.cmdEl.title = joinCommand(t.command ?? []);
    this.cancelBtn.hidden = !isActive(t.state);
    this.cancelBtn.setAttribute("aria-label", `Cancel task ${t.id}`);
    clear(this.factsEl);
    const fact = (label: string, value: string | null | undefined, testid?: string) =>
      value ? h("span.fleet-fact", testid ? { "data-testid": testid } : {}, h("span.fleet-fact-label", {}, label + " "), value) : null;
    const image = t.image ? `${t.image}${t.image_cached ? " (cached)" : " (built)"}` : null;
    const facts = [
      fact("State", stateLine(t), "fleet-state-line"),
      fact("Node", t.node),
      fact("Time", timings(t)),
      fact("Image", image, "fleet-image"),
      fact("Dockerfile", t.dockerfile_path),
    ];
    this.factsEl.append(...facts.filter((x): x is HTMLElement => !!x));
    if (t.detail) this.factsEl.append(h("div.fleet-reason" + (t.state === "failed" || t.state === "lost" ? ".bad" : ""), { "data-testid": "fleet-reason" }, t.detail));
    this.renderArtifacts(t);
    // The timeline: fetched while the task moves (and once when it is shown).
    if (isActive(t.state) || !this.eventsEl.childElementCount || this.eventsEl.dataset.final !== "true") {
      try {
        const { task, events } = await this.api.get(t.id);
        if (this.selected === t.id) this.renderEvents(events ?? [], !isActive(task.state));
      } catch {
        // the list's facts stay; the next poll tries again
      }
    }
  }

  private renderEvents(events: FleetEvent[], final: boolean) {
    clear(this.eventsEl);
    this.eventsEl.dataset.final = String(final);
    this.timelineEl.hidden = !events.length;
    const t0 = events.length ? Date.parse(events[0].at) : 0;
    const span = events.length ? (Date.parse(events[events.length - 1].at) - t0) / 1000 : 0;
    this.timelineSummary.textContent = `Events: ${events.map((e) => e.state).join(" → ")} (${span.toFixed(1)} s)`;
    for (const e of events) {
      const dt = Date.parse(e.at) - t0;
      this.eventsEl.append(h("li.fleet-event", { title: new Date(e.at).toLocaleString() },
        h("span.fleet-event-at", {}, `+${(dt / 1000).toFixed(1)} s`),
        h("span.fleet-event-state", {}, e.state + (e.attempt > 1 ? ` (attempt ${e.attempt})` : "")),
        e.detail || e.node ? h("span.fleet-event-detail", {}, [e.node, e.detail].filter(Boolean).join(": ")) : null));
    }
  }

  private renderArtifacts(t: FleetTask) {
    const have = t.artifacts ?? {};
    const asked = t.artifact_paths ?? [];
    const sig = `${t.id}|${t.state}|${JSON.stringify(have)}`;
    if (sig === this.artifactsFor) return;
    this.artifactsFor = sig;
    clear(this.artifactsEl);
    if (!asked.length && !Object.keys(have).length) return;
    this.artifactsEl.append(h("h3.fleet-subhead", {}, "Artifacts"));
    const ul = h("ul.fleet-artifact-list", { "aria-label": `Artifacts of task ${t.id}` });
    for (const p of [...new Set([...Object.keys(have), ...asked])]) {
      const size = have[p];
      const row = h("li.fleet-artifact", { "data-path": p, "data-testid": "fleet-artifact" }, h("span.fleet-artifact-path", {}, p));
      if (size === undefined) {
        row.append(h("span.fleet-artifact-size", {}, isActive(t.state) ? "not yet" : "not made"));
      } else {
        row.append(
          h("span.fleet-artifact-size", { "data-testid": "fleet-artifact-size", "data-bytes": String(size) }, formatBytes(size)),
          h("a.btn.plain.small", { href: this.api.downloadURL(t.id, p), download: p.split("/").pop() ?? p, target: "_blank", rel: "noopener", "data-testid": "fleet-download", "aria-label": `Download ${p}` }, "Download"),
        );
        if (/\.bin$/i.test(p)) {
          row.append(h("button.btn.primary.small", { type: "button", "data-testid": "fleet-flash", "aria-label": `Flash ${p} to the board`, title: "Write it to the board chosen in the Bitstreams section", onclick: () => {
            this.hooks.flash(`${p} (task ${t.id})`, (signal) => this.api.artifact(t.id, p, signal));
          } }, "⚡ Flash"));
        }
      }
      ul.append(row);
    }
    this.artifactsEl.append(ul);
  }

  /**
   * followLog streams the selected task's log until its attempt ends; a
   * task that runs again (its node was lost) is followed into the new
   * attempt, under a line that says so.
   */
  private async followLog(id: number) {
    const ac = new AbortController();
    this.follow = ac;
    let attempt = "";
    try {
      for (;;) {
        const res = await this.api.logs(id, true, ac.signal);
        const a = res.headers.get("X-Task-Attempt") ?? "";
        if (attempt && a === attempt) this.log.clear(); // the same attempt again: it is read from its start
        else if (attempt) this.log.append(`\n── attempt ${a} ──\n`);
        attempt = a;
        const reader = res.body?.getReader();
        const dec = new TextDecoder();
        if (reader) {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            this.log.append(dec.decode(value, { stream: true }));
          }
          const rest = dec.decode();
          if (rest) this.log.append(rest);
        } else this.log.append(await res.text());
        this.log.flush();
        const { task } = await this.api.get(id);
        if (ac.signal.aborted) return;
        if (!isActive(task.state) && String(task.attempt) === attempt) break;
        await new Promise((r) => setTimeout(r, 1000));
        if (ac.signal.aborted) return;
      }
    } catch (err) {
      if (ac.signal.aborted || (err as Error).name === "AbortError") return;
      this.log.append(`\n[the log could not be read: ${(err as Error).message}]\n`);
    } finally {
      if (this.follow === ac) this.follow = null;
    }
    // The attempt ended: the list shows the final state at once.
    if (this.selected === id) void this.refresh();
  }

  private async cancelSelected() {
    const id = this.selected;
    if (id === null) return;
    this.cancelBtn.disabled = true;
    try {
      const t = await this.api.cancel(id);
      toast(`Task ${id}: ${t.state === "cancelled" ? "cancelled" : "cancelling"}`, "info", 3000);
    } catch (err) {
      toast(`Cancel task ${id}: ${(err as Error).message}`, "error", 8000);
    } finally {
      this.cancelBtn.disabled = false;
    }
    await this.refresh();
  }

  /** runDialog asks what to run, saves the open editors, submits, then shows the new task. */
  async runDialog(): Promise<void> {
    if (this.dialogOpen) return;
    const why = await this.api.available();
    if (why || !this.api.session) {
      toast(why ?? "Run on the fleet needs the Gatewave cloud", "error", 8000);
      return;
    }
    const session = this.api.session;
    this.dialogOpen = true;
    const f = loadForm();
    const field = (id: string, label: string, input: HTMLElement, hint?: string) =>
      [h("label", { for: id }, label), h("div.fleet-field", {}, input, hint ? h("span.fleet-hint", { id: id + "-hint" }, hint) : null)];
    const num = (id: string, v: number, min: string, step: string) => {
      const el = h("input.text", { id, type: "number", min, step, "data-testid": id, "aria-describedby": id + "-hint" });
      el.value = String(v);
      return el;
    };
    const dockerfile = h("input.text", { id: "fleet-dockerfile", type: "text", list: "fleet-dockerfiles", spellcheck: "false", autocomplete: "off", "data-testid": "fleet-dockerfile", "aria-describedby": "fleet-dockerfile-hint" });
    dockerfile.value = f.dockerfile;
    const dockerfiles = h("datalist#fleet-dockerfiles", {});
    const command = h("input.text.mono", { id: "fleet-command", type: "text", spellcheck: "false", autocomplete: "off", "data-testid": "fleet-command", "aria-describedby": "fleet-command-hint" });
    command.value = f.command;
    const artifacts = h("input.text.mono", { id: "fleet-artifacts", type: "text", spellcheck: "false", autocomplete: "off", "data-testid": "fleet-artifacts-input", "aria-describedby": "fleet-artifacts-hint" });
    artifacts.value = f.artifacts;
    const cpus = num("fleet-cpus", f.cpus, "0.1", "0.1");
    const memory = num("fleet-memory", f.memoryMiB, "16", "1");
    const timeout = num("fleet-timeout", f.timeoutMin, "0.1", "any");
    const presetSel = h("select.select", { id: "fleet-preset", "data-testid": "fleet-preset" }, h("option", { value: "" }, "Keep the fields below"));
    let presets: Preset[] = [];
    const dockerHint = h("span.fleet-hint", { id: "fleet-dockerfile-hint" }, "The environment the command runs in, from this workspace; built once per commit and kept.");
    const error = h("div.fleet-error", { role: "alert", "data-testid": "fleet-error" });
    const submit = h("button.btn.primary", { type: "submit", "data-testid": "fleet-submit" }, "Run on the fleet");
    const read = (): RunForm => ({ dockerfile: dockerfile.value, command: command.value, artifacts: artifacts.value, cpus: Number(cpus.value), memoryMiB: Number(memory.value), timeoutMin: Number(timeout.value) });
    const back = document.activeElement as HTMLElement | null;
    let busy = false;
    const close = () => {
      if (busy) return;
      overlay.remove();
      trap.release(false);
      this.dialogOpen = false;
      if (back?.isConnected) back.focus();
    };
    const form = h("form.dialog.fleet-dialog", { role: "dialog", "aria-modal": "true", "aria-labelledby": "fleet-dialog-title", "aria-describedby": "fleet-dialog-desc", "data-testid": "fleet-dialog", onsubmit: (e: Event) => {
      e.preventDefault();
      void go();
    } },
      h("h2.dialog-title", { id: "fleet-dialog-title" }, "Run on the fleet"),
      h("div.dialog-body", { id: "fleet-dialog-desc" }, "Your open editors are saved, the workspace is saved to your repo, and that commit runs on a node: the code read-only in /code, artifacts written to /out, no network."),
      h("div.fleet-form", {},
        h("label", { for: "fleet-preset" }, "Suggested"), h("div.fleet-field", {}, presetSel),
        h("label", { for: "fleet-dockerfile" }, "Dockerfile"), h("div.fleet-field", {}, dockerfile, dockerfiles, dockerHint),
        ...field("fleet-command", "Command", command, 'Run without a shell: write sh -c "a && b" for more than one step.'),
        ...field("fleet-artifacts", "Artifacts", artifacts, "Paths under /out to keep, separated by spaces (blinky.bin)."),
        ...field("fleet-cpus", "CPUs", cpus, "Cores the node reserves."),
        ...field("fleet-memory", "Memory (MiB)", memory, "The container's memory limit."),
        ...field("fleet-timeout", "Timeout (minutes)", timeout, "The run is stopped after this long."),
      ),
      error,
      h("div.dialog-buttons", {},
        h("button.btn.plain", { type: "button", "data-testid": "fleet-dialog-cancel", onclick: close }, "Cancel"),
        submit),
    );
    const overlay = h("div.overlay", { onkeydown: (e: Event) => {
      if ((e as KeyboardEvent).key === "Escape") {
        e.stopPropagation();
        close();
      }
    } }, form);
    document.body.append(overlay);
    const trap = trapFocus(form, command);
    command.select();
    presetSel.addEventListener("change", () => {
      const p = presets[Number(presetSel.value)];
      if (!p) return;
      command.value = p.command;
      artifacts.value = p.artifacts;
    });
    // What the workspace offers, filled in as it arrives.
    void this.hooks.dockerfiles().then((list) => {
      for (const p of list) dockerfiles.append(h("option", { value: p }));
      if (!list.length) dockerHint.textContent = "This workspace has no Dockerfile yet: add one (FROM an image the nodes have), e.g. .gatewave/fleet/Dockerfile.";
      else if (!list.includes(dockerfile.value.trim()) && dockerfile.value === defaultForm.dockerfile) dockerfile.value = list[0];
    }, () => {});
    void this.hooks.presets().then((list) => {
      presets = list;
      list.forEach((p, i) => presetSel.append(h("option", { value: String(i) }, p.label)));
      // The command is a suggestion's and no artifact is named yet (the
      // first run): keep what that suggestion makes, the bitstream.
      const same = list.find((p) => p.command === command.value.trim());
      if (same && !artifacts.value.trim()) artifacts.value = same.artifacts;
    }, () => {});

    const go = async () => {
      if (busy) return;
      const values = read();
      const { spec, problem } = formSpec(values, session);
      if (!spec) {
        error.textContent = problem ?? "";
        return;
      }
      busy = true;
      submit.disabled = true;
      form.setAttribute("aria-busy", "true");
      error.textContent = "";
      try {
        submit.textContent = "Saving…";
        if (!(await this.hooks.saveAll())) {
          error.textContent = "An open editor could not be saved: save it (Ctrl+S), then run again.";
          return;
        }
        submit.textContent = "Submitting…";
        const task = await this.api.submit(spec);
        saveForm(values);
        busy = false;
        close();
        this.hooks.show();
        this.tasks = [task, ...this.tasks.filter((t) => t.id !== task.id)];
        this.renderList();
        await this.select(task.id);
        this.rows.get(task.id)?.focus();
        await this.refresh();
      } catch (err) {
        error.textContent = (err as Error).message;
      } finally {
        busy = false;
        submit.disabled = false;
        submit.textContent = "Run on the fleet";
        form.removeAttribute("aria-busy");
      }
    };
  }

  /** loadedOnce tells whether the list has been read (for tests and the status). */
  get ready(): boolean {
    return this.loaded;
  }
}
