// Simulation: lists the workspace's testbenches (sessiond's
// GET api/v1/sim/testbenches), runs the chosen one with the chosen simulator
// (POST api/v1/sim/run) as a task whose log streams into the Output panel,
// then shows the task's result: passed or failed, the reason, a link to the
// first failing line, and "Open waves" when the run wrote a dump.
import { type Connection, requestJSON } from "../api/conn";
import type { Task } from "../api/sessiond";
import type { OutputPanel } from "./build";
import { toast } from "./dialog";
import { clear, h } from "./dom";

/** A testbench as sessiond lists it (see sessiond/sim). */
export interface Testbench {
  file: string;
  top: string;
  lang: string;
  files: string[];
  simulators: string[];
  simulator: string;
  missing?: string[];
  error?: string;
}

/** A finished run's verdict: the "result" of its task. */
export interface SimResult {
  testbench: string;
  top: string;
  simulator: string;
  passed: boolean;
  stage: "compile" | "run";
  reason?: string;
  failure?: { file: string; line: number; column?: number; log: string };
  waves?: string;
}

export interface SimHooks {
  /** The log panel the run streams into, shared with Build. */
  output: OutputPanel;
  showOutput(): void;
  /** open goes to a source line. */
  open(path: string, line: number, col?: number): void;
  /** openWaves opens a dump the way the file tree opens a file, so the waves viewer takes it. */
  openWaves(path: string): void;
}

/** SimPanel is the sidebar's Simulation section and the titlebar's Simulate button. */
export class SimPanel {
  readonly el: HTMLElement;
  readonly simBtn: HTMLButtonElement;
  private tbSel: HTMLSelectElement;
  private simSel: HTMLSelectElement;
  private runBtn: HTMLButtonElement;
  private resultEl: HTMLElement;
  private testbenches: Testbench[] = [];
  private running = false;
  /** The testbench the simulator choice was made for (kept while it stays selected). */
  private simFor = "";

  constructor(private conn: Connection, private hooks: SimHooks) {
    this.tbSel = h("select.select", { title: "Testbench", "aria-label": "Testbench", "data-testid": "sim-testbench", onchange: () => this.fillSimulators() });
    this.simSel = h("select.select", { title: "Simulator", "aria-label": "Simulator", "data-testid": "sim-simulator" });
    this.runBtn = h("button.btn.primary", { onclick: () => void this.run(), "data-testid": "sim-run", title: "Run the testbench" }, "▶ Run");
    this.simBtn = h("button.btn.plain", { onclick: () => void this.run(), "data-testid": "simulate", title: "Simulate the selected testbench" }, "▶ Simulate");
    this.resultEl = h("div.sim-result", { "data-testid": "sim-result", hidden: true });
    this.el = h("section.sim", { "data-testid": "sim" },
      h("header.pane-head", {}, h("span.pane-title", {}, "Simulation"), h("span.spacer", {}),
        h("button.icon-btn", { title: "Find testbenches again", "aria-label": "Find testbenches again", onclick: () => void this.refresh() }, "⟳")),
      h("div.flash-row", {}, this.tbSel),
      h("div.flash-row", {}, this.simSel, this.runBtn),
      this.resultEl,
    );
  }

  /** refresh lists the testbenches again, keeping the selection when it is still there. */
  async refresh(): Promise<void> {
    const keep = this.tbSel.value;
    try {
      const r = await requestJSON<{ testbenches: Testbench[] }>(this.conn, "GET", "api/v1/sim/testbenches");
      this.testbenches = r.testbenches ?? [];
    } catch (err) {
      this.testbenches = [];
      this.note(`Testbenches unavailable: ${(err as Error).message}`);
    }
    clear(this.tbSel);
    if (!this.testbenches.length) this.tbSel.append(h("option", { value: "" }, "no testbenches (*_tb.v, tb_*.sv …)"));
    for (const tb of this.testbenches) {
      this.tbSel.append(h("option", { value: tb.file, title: tb.error ?? `${tb.top}: ${tb.files.join(" ")}` }, tb.file + (tb.error ? " (cannot run)" : "")));
    }
    if (this.testbenches.some((t) => t.file === keep)) this.tbSel.value = keep;
    this.fillSimulators();
  }

  private fillSimulators() {
    const tb = this.testbenches.find((t) => t.file === this.tbSel.value);
    const sims = tb?.simulators ?? [];
    const chosen = this.simFor === tb?.file && sims.includes(this.simSel.value) ? this.simSel.value : tb?.simulator;
    this.simFor = tb?.file ?? "";
    clear(this.simSel);
    for (const s of sims) this.simSel.append(h("option", { value: s, selected: s === chosen }, s));
    this.runBtn.disabled = this.simBtn.disabled = this.running || !tb || !!tb.error;
  }

  /** run starts the selected testbench and shows its verdict when it ends. */
  async run(): Promise<void> {
    const testbench = this.tbSel.value;
    if (!testbench || this.running) return;
    this.setRunning(true);
    this.show(null, "running " + testbench + "…");
    this.hooks.showOutput();
    let task: Task;
    try {
      task = await requestJSON<Task>(this.conn, "POST", "api/v1/sim/run", { json: { testbench, simulator: this.simSel.value } });
    } catch (err) {
      this.setRunning(false);
      this.show(null, `Could not start: ${(err as Error).message}`, true);
      toast(`Simulate: ${(err as Error).message}`, "error");
      return;
    }
    this.hooks.output.follow(task, (state) => void this.finished(task.id, state), () => {
      void requestJSON(this.conn, "DELETE", `api/v1/tasks/${encodeURIComponent(task.id)}`).catch((e) => toast((e as Error).message, "error"));
    });
  }

  private async finished(id: string, state: string) {
    this.setRunning(false);
    let result: SimResult | undefined;
    try {
      result = (await requestJSON<Task & { result?: SimResult }>(this.conn, "GET", `api/v1/tasks/${encodeURIComponent(id)}`)).result;
    } catch (err) {
      this.show(null, `Simulation ${state}; its result is unavailable: ${(err as Error).message}`, true);
      return;
    }
    if (!result) {
      this.show(null, `Simulation ${state}.`, state !== "succeeded");
      return;
    }
    this.show(result, "");
    toast(result.passed ? `${result.testbench}: passed` : `${result.testbench}: ${result.reason ?? "failed"}`, result.passed ? "ok" : "error", 4000);
  }

  private setRunning(on: boolean) {
    this.running = on;
    this.fillSimulators();
  }

  private note(text: string) {
    this.show(null, text, true);
  }

  /** show renders a verdict, or a plain line when r is null. */
  private show(r: SimResult | null, text: string, bad = false) {
    clear(this.resultEl);
    this.resultEl.hidden = false;
    if (!r) {
      this.resultEl.className = "sim-result" + (bad ? " failed" : "");
      this.resultEl.append(h("span", {}, text));
      return;
    }
    this.resultEl.className = "sim-result " + (r.passed ? "passed" : "failed");
    this.resultEl.append(
      h("div.sim-verdict", {},
        h("span.sim-state", { "data-testid": "sim-state" }, r.passed ? "✔ passed" : "✘ failed"),
        h("span.sim-what", {}, `${r.top} · ${r.simulator}${r.passed ? "" : " · " + r.stage}`)),
    );
    if (r.reason) this.resultEl.append(h("div.sim-reason", { "data-testid": "sim-reason" }, r.reason));
    const f = r.failure;
    if (f) {
      this.resultEl.append(h("a.sim-line", {
        href: "#", "data-testid": "sim-failure", title: f.log,
        onclick: (e: Event) => {
          e.preventDefault();
          this.hooks.open(f.file, f.line, f.column || 1);
        },
      }, `${f.file}:${f.line}`));
    }
    if (r.waves) {
      const waves = r.waves;
      this.resultEl.append(h("button.btn.plain.small", { "data-testid": "sim-open-waves", title: waves, onclick: () => this.hooks.openWaves(waves) }, "Open waves"));
    }
  }
}
