// Report panel: the build report sessiond makes after a place-and-route
// (see sessiond/tasks): utilization bars with the change since the last
// build (+12 LCs in red, −3 in green), Fmax per clock against its
// constraint, and the critical path with clickable source locations.
import { clear, h } from "./dom";

export interface BuildReport {
  created_at: string;
  device?: string;
  package?: string;
  utilization: { resource: string; bel: string; used: number; available: number; delta?: number }[];
  clocks: { name: string; fmax_mhz: number; constraint_mhz: number; pass: boolean; delta_mhz?: number }[];
  critical_paths: {
    from: string;
    to: string;
    delay_ns: number;
    delta_ns?: number;
    steps: { type: string; from: string; to: string; net?: string; delay_ns: number; src?: { file: string; line: number; column?: number }[] }[];
  }[];
  synthesis?: { cells: number; delta?: number; cells_by_type: Record<string, number> };
  previous_at?: string;
}

export type Tone = "worse" | "better" | "same";

/**
 * formatDelta writes a change: "+12" / "−3" (a real minus) / "±0", with its
 * tone. For resources and delays more is worse; for Fmax (higherIsBetter)
 * more is better. undefined (no previous build) is "".
 */
export function formatDelta(d: number | undefined, opts: { higherIsBetter?: boolean; digits?: number; unit?: string } = {}): { text: string; tone: Tone } {
  if (d === undefined || d === null) return { text: "", tone: "same" };
  const digits = opts.digits ?? 0;
  const r = Number(d.toFixed(digits));
  const unit = opts.unit ? " " + opts.unit : "";
  if (r === 0) return { text: "±0" + unit, tone: "same" };
  const mag = Math.abs(r).toFixed(digits);
  const up = r > 0;
  return { text: (up ? "+" : "−") + mag + unit, tone: up === !!opts.higherIsBetter ? "better" : "worse" };
}

/** shortClock names nextpnr's clock net as the user wrote it: "clk$SB_IO_IN_$glb_clk" → "clk". */
export function shortClock(name: string): string {
  return name.replace(/^(posedge|negedge) /, "").split("$")[0] || name;
}

export interface ReportHooks {
  open(path: string, line: number, column?: number): void;
}

export class ReportPanel {
  readonly el = h("div.report", { "data-testid": "report" });

  constructor(private hooks: ReportHooks) {
    this.empty("No build report yet. A build whose nextpnr runs with --report FILE makes one.");
  }

  empty(text: string): void {
    clear(this.el);
    this.el.append(h("div.muted", {}, text));
  }

  show(r: BuildReport): void {
    clear(this.el);
    const when = new Date(r.created_at);
    this.el.append(h("div.report-head", {},
      h("span", {}, `${r.device ?? ""}${r.package ? " " + r.package : ""}`.trim() || "Build report"),
      h("span.muted", {}, ` built ${when.toLocaleTimeString()}` + (r.previous_at ? `, compared with ${new Date(r.previous_at).toLocaleTimeString()}` : ", no previous build to compare")),
    ));

    const util = h("div.report-section", {}, h("h4", {}, "Utilization"));
    for (const u of r.utilization) {
      const frac = u.available ? u.used / u.available : 0;
      const d = formatDelta(u.delta);
      util.append(h("div.util-row", { "data-resource": u.resource, title: u.bel },
        h("span.util-name", {}, u.resource),
        h("span.util-bar", {}, h("span.util-fill" + (frac > 0.9 ? ".high" : ""), { style: `width:${Math.min(100, frac * 100).toFixed(1)}%` })),
        h("span.util-value", { "data-testid": `util-${u.resource}` }, `${u.used} / ${u.available}`),
        h("span.util-pct", {}, `${Math.round(frac * 100)}%`),
        h("span.delta." + d.tone, { "data-testid": `delta-${u.resource}` }, d.text),
      ));
    }
    if (r.synthesis) {
      const d = formatDelta(r.synthesis.delta);
      util.append(h("div.util-row", { title: Object.entries(r.synthesis.cells_by_type).map(([k, v]) => `${k}: ${v}`).join("\n") },
        h("span.util-name", {}, "cells"), h("span.util-bar.none", {}),
        h("span.util-value", {}, String(r.synthesis.cells)), h("span.util-pct", {}, "yosys"),
        h("span.delta." + d.tone, {}, d.text)));
    }
    this.el.append(util);

    const clocks = h("div.report-section", {}, h("h4", {}, "Timing"));
    if (!r.clocks.length) clocks.append(h("div.muted", {}, "No clocks."));
    for (const c of r.clocks) {
      const d = formatDelta(c.delta_mhz, { higherIsBetter: true, digits: 2, unit: "MHz" });
      clocks.append(h("div.clock-row" + (c.pass ? ".pass" : ".fail"), { title: c.name, "data-testid": "clock" },
        h("span.clock-verdict", {}, c.pass ? "PASS" : "FAIL"),
        h("span.clock-name", {}, shortClock(c.name)),
        h("span.clock-fmax", {}, `${c.fmax_mhz.toFixed(2)} MHz`),
        h("span.muted", {}, c.constraint_mhz ? ` (target ${c.constraint_mhz.toFixed(2)} MHz)` : " (no constraint)"),
        h("span.delta." + d.tone, {}, d.text)));
    }
    this.el.append(clocks);

    const cp = r.critical_paths[0];
    if (cp) {
      const d = formatDelta(cp.delta_ns, { digits: 2, unit: "ns" });
      const sec = h("div.report-section", {}, h("h4", {}, "Critical path ",
        h("span.muted", {}, `${shortClock(cp.from)} → ${shortClock(cp.to)}: ${cp.delay_ns.toFixed(2)} ns `), h("span.delta." + d.tone, {}, d.text)));
      const table = h("div.path", { "data-testid": "critical-path" });
      for (const s of cp.steps) {
        const locs = h("span.path-src", {});
        for (const l of s.src ?? []) {
          locs.append(h("a.src-link", { href: "#", onclick: (e: Event) => {
            e.preventDefault();
            this.hooks.open(l.file, l.line, l.column);
          } }, `${l.file}:${l.line}`), " ");
        }
        table.append(h("div.path-step", {},
          h("span.path-delay", {}, s.delay_ns.toFixed(2)),
          h("span.path-type", {}, s.type),
          h("span.path-what", { title: `${s.from} → ${s.to}` }, s.net ?? s.to),
          locs));
      }
      sec.append(table);
      this.el.append(sec);
    }
  }
}
