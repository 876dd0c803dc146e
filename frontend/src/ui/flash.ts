// Flash controls: the board list (from sessiond) decides how the selected
// bitstream reaches the board: from this browser over WebUSB/Web Serial, or
// through sessiond's native programmers (the desktop app, or a node with the
// board attached). Progress shows per phase; Cancel stops either path.
import type { Sessiond, Task } from "../api/sessiond";
import { protocolName, guessBoard, type Board, type NativeDevice } from "../flash/boards";
import { browserEnv, chooseDevice, explainError, flashChosen, obstacle, type FlashEnv } from "../flash/index";
import { FlashError, type FlashProgress } from "../flash/types";
import { choose, toast } from "./dialog";
import { clear, formatBytes, h } from "./dom";

export interface FlashHooks {
  /** The bitstream path selected in the list, or "". */
  selected(): string;
  showOutput(): void;
  /** Follows a sessiond task in the output panel. */
  follow(task: Task, onExit: (state: string, code: number | null) => void): void;
}

/** A bitstream that is not in the workspace's list: a name to show and its bytes. */
export interface FlashSource {
  name: string;
  load(signal: AbortSignal): Promise<Uint8Array>;
}

const phaseWords: Record<string, string> = {
  connecting: "Connecting",
  identifying: "Identifying the flash",
  waking: "Waking the flash",
  erasing: "Erasing",
  writing: "Writing",
  verifying: "Verifying",
  configuring: "Configuring the FPGA",
  detaching: "Restarting into the bootloader",
  manifesting: "Manifesting",
  done: "Done",
};

/** phaseText is a progress line: "Writing 12.0 KB / 31.5 KB". */
export function phaseText(p: FlashProgress): string {
  const word = phaseWords[p.phase] ?? p.phase;
  return p.total > 0 && p.phase !== "done" ? `${word} ${formatBytes(p.done)} / ${formatBytes(p.total)}` : `${word}…`;
}

export class FlashControls {
  readonly el: HTMLElement;
  private boards: Board[] = [];
  private boardSel: HTMLSelectElement;
  private targetSel: HTMLSelectElement;
  private clockSel: HTMLSelectElement;
  private info: HTMLElement;
  private devicesEl: HTMLElement;
  private bar: HTMLElement;
  private label: HTMLElement;
  private cancelBtn: HTMLButtonElement;
  private progress: HTMLElement;
  private running: AbortController | null = null;
  private nativeTask: string | null = null;
  /** What sessiond's host has plugged in, as last listed. */
  private devices: NativeDevice[] = [];

  constructor(private api: Sessiond, private hooks: FlashHooks, private env: FlashEnv = browserEnv()) {
    this.boardSel = h("select.select", { title: "Board", "aria-label": "Board", "data-testid": "flash-board", onchange: () => this.boardChanged(true) });
    this.targetSel = h("select.select", {
      "aria-label": "Write to",
      title: "Write to the configuration flash (kept) or to the FPGA's SRAM (lost at power-off)",
      "data-testid": "flash-target",
      onchange: () => {
        const b = this.board();
        if (b) localStorage.setItem(this.key(`target.${b.id}`), this.targetSel.value);
      },
    });
    this.clockSel = h("select.select", {
      "aria-label": "SPI clock",
      title: "SPI clock between the FTDI bridge and the flash (lower it for long wires or a flaky board; an FT2232D tops out at 6 MHz)",
      "data-testid": "flash-clock",
      onchange: () => localStorage.setItem(this.key("spi"), this.clockSel.value),
    });
    for (const mhz of [1, 3, 6, 10, 15, 30]) this.clockSel.append(h("option", { value: String(mhz * 1e6) }, `SPI ${mhz} MHz`));
    this.clockSel.value = localStorage.getItem(this.key("spi")) ?? "6000000";
    if (!this.clockSel.value) this.clockSel.value = "6000000";
    this.info = h("div.flash-info", { "data-testid": "flash-info" });
    this.devicesEl = h("div.flash-devices", { "data-testid": "flash-devices" });
    this.bar = h("div.progress-bar", {});
    this.label = h("span.progress-label", { "data-testid": "flash-status" }, "");
    this.cancelBtn = h("button.btn.plain.small", { onclick: () => this.cancel(), "data-testid": "flash-cancel" }, "Cancel");
    this.progress = h("div.progress", { hidden: true }, h("div.progress-track", {}, this.bar), h("div.progress-row", {}, this.label, this.cancelBtn));
    this.el = h("div.flash", {},
      h("div.flash-row", {}, this.boardSel),
      h("div.flash-row", {}, this.targetSel, this.clockSel),
      h("div.flash-row", {},
        h("button.btn.primary", { onclick: () => this.flash(), "data-testid": "flash", title: "Write the selected bitstream to the board" }, "⚡ Flash"),
        h("button.btn.plain", { onclick: () => this.flashNative(), "data-testid": "flash-native", title: "Flash with the programmer tools on the sessiond host (the desktop app, or a machine with the board attached)" }, "via sessiond"),
      ),
      this.info,
      this.devicesEl,
      this.progress,
    );
  }

  /** init loads the board list and picks the workspace's board (its pin file, or the last one used). */
  async init(files: string[]): Promise<void> {
    try {
      this.boards = (await this.api.flashBoards()).boards;
    } catch (err) {
      this.boards = [];
      this.info.textContent = `The board list is unavailable: ${(err as Error).message}`;
    }
    clear(this.boardSel);
    for (const b of this.boards) this.boardSel.append(h("option", { value: b.id }, `${b.name} (${protocolName(b.protocol)})`));
    const saved = localStorage.getItem(this.key("board"));
    const pick = this.boards.find((b) => b.id === saved) ?? guessBoard(this.boards, files);
    if (pick) this.boardSel.value = pick.id;
    this.boardChanged(false);
    if (this.env.desktop || !this.env.usb) void this.refreshDevices();
  }

  /**
   * key names a remembered choice for this IDE page: each workspace (each
   * cloud session's /s/{id}/ path, the desktop's folder) keeps its own.
   */
  private key(what: string): string {
    return `gatewave.flash.${what}:${location.pathname}`;
  }

  board(): Board | undefined {
    return this.boards.find((b) => b.id === this.boardSel.value);
  }

  private boardChanged(save: boolean) {
    const b = this.board();
    clear(this.targetSel);
    clear(this.info);
    if (!b) return;
    if (save) localStorage.setItem(this.key("board"), b.id);
    for (const t of b.targets) this.targetSel.append(h("option", { value: t }, t === "flash" ? "to flash" : "to SRAM (volatile)"));
    const target = localStorage.getItem(this.key(`target.${b.id}`));
    if (target && b.targets.includes(target as "flash" | "sram")) this.targetSel.value = target;
    this.targetSel.disabled = b.targets.length < 2;
    this.clockSel.hidden = b.protocol !== "ftdi-spi";
    const why = obstacle(b, this.env);
    // In the desktop app, flashing through sessiond is the way, not an obstacle: say it plainly, not as a warning.
    if (why) this.info.append(h(this.env.desktop ? "div.muted" : "div.flash-obstacle", { "data-testid": "flash-obstacle" }, why));
    const facts = `${b.fpga}${b.flash ? `, ${formatBytes(b.flash.size)} flash` : ""}`;
    this.info.append(b.notes
      ? h("details.flash-notes", {}, h("summary.muted", {}, facts), h("div.muted", {}, b.notes))
      : h("div.muted", {}, facts));
    this.info.append(h("button.btn.plain.small.flash-udev-link", { onclick: () => this.showUdev(), "data-testid": "flash-udev-rules", title: "Linux refuses access to the board? These rules let your user reach it" }, "udev rules"));
  }

  /** refreshDevices shows what sessiond's host has plugged in (the desktop app's machine). */
  async refreshDevices(): Promise<void> {
    clear(this.devicesEl);
    let r: { devices: NativeDevice[]; note?: string };
    try {
      r = await this.api.flashDevices();
    } catch (err) {
      this.devicesEl.append(h("div.muted", {}, `Attached devices unavailable: ${(err as Error).message}`));
      return;
    }
    this.devices = r.devices;
    if (!r.devices.length) {
      this.devicesEl.append(h("div.muted", {}, r.note || "No board is attached to the sessiond host."));
      return;
    }
    for (const d of r.devices) {
      const names = d.boards.map((id) => this.boards.find((b) => b.id === id)?.name ?? id).join(" or ");
      const row = h("div.flash-device", { "data-testid": "flash-device" },
        h("span", {}, `${names || d.product || "USB device"} · ${d.vid}:${d.pid}${d.bus ? ` on bus ${d.bus} address ${d.address}` : ""}`));
      if (d.problem) row.append(h("div.flash-obstacle", {}, d.problem));
      if (!d.accessible) row.append(h("button.btn.plain.small", { onclick: () => this.showUdev(), "data-testid": "flash-udev" }, "udev rules"));
      this.devicesEl.append(row);
      if (d.boards.length && !d.boards.includes(this.boardSel.value)) {
        this.boardSel.value = d.boards[0];
        this.boardChanged(false);
      }
    }
  }

  private async showUdev() {
    try {
      const rules = await this.api.flashUdev();
      await choose("Let your user reach the board (Linux)", h("pre.udev-rules", { "data-testid": "udev-rules" }, rules), [{ id: "ok", label: "Close", kind: "primary" }], "udev-dialog");
    } catch (err) {
      toast(`udev rules: ${(err as Error).message}`, "error");
    }
  }

  private showProgress(frac: number | null, text: string) {
    this.progress.hidden = false;
    this.bar.classList.toggle("indeterminate", frac === null);
    this.bar.style.width = frac === null ? "100%" : `${Math.round(frac * 100)}%`;
    this.label.textContent = text;
  }

  private finish(text: string, ok: boolean, kind?: "info") {
    this.running = null;
    this.nativeTask = null;
    this.boardSel.disabled = false;
    this.clockSel.disabled = false;
    this.targetSel.disabled = (this.board()?.targets.length ?? 0) < 2;
    this.cancelBtn.hidden = true;
    this.label.textContent = text;
    this.bar.classList.remove("indeterminate");
    this.bar.classList.toggle("failed", !ok);
    if (ok) this.bar.style.width = "100%";
    toast(text, kind ?? (ok ? "ok" : "error"));
  }

  private begin(path = this.hooks.selected()): { path: string; board: Board } | null {
    if (this.running || this.nativeTask) {
      toast("A flash is already running.");
      return null;
    }
    const board = this.board();
    if (!path) {
      toast("Select a bitstream first.", "error");
      return null;
    }
    if (!board) {
      toast("Choose a board first.", "error");
      return null;
    }
    this.bar.classList.remove("failed");
    this.cancelBtn.hidden = false;
    // The board and target stay as they are until this flash ends, so its result matches the panel.
    this.boardSel.disabled = true;
    this.targetSel.disabled = true;
    this.clockSel.disabled = true;
    return { path, board };
  }

  /**
   * flash writes from this browser when it can, through sessiond in the
   * desktop app. The device is asked for before the bitstream is fetched, so
   * the click's permission to show the chooser never lapses. source, when
   * given, is a bitstream from elsewhere than the list (a fleet task's
   * artifact): its name and how to read its bytes.
   */
  async flash(source?: FlashSource): Promise<void> {
    const b = this.board();
    if (b && obstacle(b, this.env)) {
      if (this.env.desktop && !source) return this.flashNative();
      this.finish(`Can't flash from this browser: ${obstacle(b, this.env)}`, false);
      this.progress.hidden = false;
      return;
    }
    const job = this.begin(source?.name);
    if (!job) return;
    const ac = new AbortController();
    this.running = ac;
    this.showProgress(null, `Choose ${job.board.name} in the browser's dialog…`);
    let reached: FlashProgress["phase"] | null = null;
    try {
      const chosen = await chooseDevice(job.board, this.env);
      this.showProgress(null, `Fetching ${job.path}…`);
      const image = source ? await source.load(ac.signal) : await this.api.bitstream(job.path, ac.signal);
      const r = await flashChosen(chosen, image, {
        target: this.targetSel.value === "sram" ? "sram" : "flash",
        spiHz: Number(this.clockSel.value) || undefined,
        env: this.env,
        signal: ac.signal,
        progress: (p) => {
          reached = p.phase;
          this.showProgress(p.total ? p.done / p.total : null, phaseText(p));
        },
      });
      this.finish(`Flashed ${job.path} to ${job.board.name}: ${r.summary}`, true);
    } catch (err) {
      if ((err instanceof FlashError && err.code === "cancelled") || (err as Error)?.name === "AbortError") {
        const state = job.board.protocol === "dfu" ? "" : this.cancelState(reached);
        this.finish(`Flash cancelled. ${explainError(err).replace(/^The flash was cancelled\.\s*/, "")}${state}${await this.saveRescue(job.board, err)}`.replace(/\s+/g, " ").trim(), false, "info");
        return;
      }
      this.finish(`Flash failed: ${explainError(err)}${await this.saveRescue(job.board, err)}`, false);
    }
  }

  /** cancelState says what a Cancel left on the board, from the last phase the flasher reported. */
  private cancelState(reached: FlashProgress["phase"] | null): string {
    switch (reached) {
      case "erasing":
      case "writing":
        return " The flash holds part of the image, so the FPGA stays unconfigured until the next flash.";
      case "verifying":
        return " The image was written but not checked.";
      case "configuring":
      case "done":
        return "";
      default:
        return " Nothing was written: the board runs what it ran before.";
    }
  }

  /**
   * saveRescue writes data a flasher could not put back on the board (it
   * shared an erased sector with the image) into the workspace, so it is not
   * lost; it returns the sentence that says where.
   */
  private async saveRescue(b: Board, err: unknown): Promise<string> {
    const rescue = err instanceof FlashError ? err.rescue : undefined;
    if (!rescue?.length) return "";
    // Outside build/ (which `make clean` removes), named by time so a later rescue never replaces an earlier one.
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
    const saved: string[] = [];
    const failed: string[] = [];
    for (const r of rescue) {
      const path = `flash-rescue/${b.id}-${stamp}-0x${r.addr.toString(16)}.bin`;
      try {
        await this.api.write(path, r.data, { mkdirs: true, create: true });
        saved.push(path);
      } catch (e) {
        failed.push(`${path} (${(e as Error).message})`);
      }
    }
    return (saved.length ? ` It was saved to ${saved.join(", ")}: each file goes back at the flash address in its name.` : "") +
      (failed.length ? ` Saving ${failed.join(", ")} failed.` : "");
  }

  /** flashNative asks sessiond to run the board's programmer; its log streams into the output panel. */
  async flashNative(): Promise<void> {
    const job = this.begin();
    if (!job) return;
    this.showProgress(null, `Flashing ${job.board.name} through sessiond…`);
    try {
      // With several boards attached, name the one that is this board (by its place on the bus).
      const mine = this.devices.filter((d) => d.boards.includes(job.board.id) && d.bus && d.address);
      const at = mine.length === 1 ? { bus: mine[0].bus, address: mine[0].address } : {};
      const task = await this.api.flash({ path: job.path, board: job.board.id, target: this.targetSel.value || undefined, ...at });
      this.nativeTask = task.id;
      this.hooks.showOutput();
      this.hooks.follow(task, async (state, code) => {
        const ok = state === "succeeded";
        // The task's error says in words what the programmer's output meant (no device, no permission, ...).
        const info = ok ? null : ((await this.api.task(task.id).catch(() => null)) as (Task & { error?: { message: string } }) | null);
        if (state === "cancelled") {
          this.finish(`Flash cancelled. The programmer was stopped mid-way: if ${job.board.name} does not start, unplug it, plug it back in and flash again.`, false, "info");
        } else {
          this.finish(ok ? `Flashed ${job.path} to ${job.board.name} through sessiond.` : `Flash ${state}${code !== null ? ` (exit ${code})` : ""}: ${info?.error?.message?.replace(/^flash failed: /i, "") ?? "see the output panel"}`, ok);
        }
        void this.refreshDevices();
      });
      void this.pollNative(task.id);
    } catch (err) {
      this.finish(`Flash failed: ${(err as Error).message}`, false);
    }
  }

  /** pollNative mirrors the task's parsed progress (from the tool's own output) in the bar. */
  private async pollNative(id: string) {
    while (this.nativeTask === id) {
      try {
        const t = (await this.api.task(id)) as Task & { progress?: FlashProgress };
        if (t.state !== "running") return;
        if (t.progress) this.showProgress(t.progress.total ? t.progress.done / t.progress.total : null, phaseText(t.progress));
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  cancel(): void {
    if (this.running) this.running.abort();
    else if (this.nativeTask) this.api.cancelTask(this.nativeTask).catch((e) => toast(e.message, "error"));
  }
}
