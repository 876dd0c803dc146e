// Telemetry: a live stream of sessiond's resource snapshots; status-bar
// figures always, CPU and memory charts (uPlot, loaded lazily) on demand.
import type uPlotType from "uplot";
import { type Connection, wsURL } from "../api/conn";
import type { Telemetry } from "../api/sessiond";
import { ReconnectingSocket, type LinkState } from "../api/socket";
import { clear, formatBytes, h } from "./dom";

const keep = 300; // samples (5 minutes at 1 s)

export class TelemetryView {
  readonly el: HTMLElement;
  readonly statusEl: HTMLElement;
  private samples: { t: number[]; cpu: number[]; mem: number[] } = { t: [], cpu: [], mem: [] };
  private last: Telemetry | null = null;
  private charts: { cpu: uPlotType; mem: uPlotType } | null = null;
  private loading = false;
  private chartsHost: HTMLElement;
  private info: HTMLElement;
  private procs: HTMLElement;
  private socket: ReconnectingSocket;
  visible = false;

  constructor(conn: Connection, onState: (name: string, s: LinkState) => void) {
    this.statusEl = h("span.status-item.telemetry-mini", { title: "CPU and memory of this session, against its limits" }, "cpu – mem –");
    this.chartsHost = h("div.charts", {});
    this.info = h("div.telemetry-info", {});
    this.procs = h("div.procs", {});
    this.el = h("div.telemetry-panel", { "data-testid": "telemetry" }, this.info, h("div.telemetry-row", {}, this.chartsHost, this.procs));
    this.socket = new ReconnectingSocket(() => wsURL(conn, "api/v1/telemetry/stream", { interval_ms: 1000 }), {
      // A sample a second: five seconds of silence is a dead stream.
      staleMs: 5000,
      onMessage: (data) => {
        if (typeof data !== "string") return;
        try {
          this.add(JSON.parse(data));
        } catch {
          // ignore a malformed frame
        }
      },
      onState: (s) => onState("telemetry", s),
    });
    new ResizeObserver(() => this.resize()).observe(this.chartsHost);
  }

  private add(s: Telemetry) {
    this.last = s;
    const t = Date.parse(s.time) / 1000 || Date.now() / 1000;
    const limit = s.cpu.limit_cores || 1;
    const cpu = s.cpu.percent ?? (s.cpu.used_cores / limit) * 100;
    this.samples.t.push(t);
    this.samples.cpu.push(cpu);
    this.samples.mem.push(s.memory.used_bytes);
    if (this.samples.t.length > keep) for (const k of ["t", "cpu", "mem"] as const) this.samples[k].shift();
    this.statusEl.textContent = `cpu ${cpu.toFixed(0)}% of ${limit.toFixed(1)} · mem ${formatBytes(s.memory.used_bytes)} / ${formatBytes(s.memory.limit_bytes)}`;
    if (this.visible) this.draw();
  }

  show(): void {
    this.visible = true;
    if (!this.charts && !this.loading) this.loadCharts();
    else this.draw();
  }

  private async loadCharts() {
    this.loading = true;
    const [{ default: uPlot }] = await Promise.all([import("uplot"), import("uplot/dist/uPlot.min.css")]);
    const common = (title: string, color: string, fmt: (v: number) => string, range: () => [number, number]): uPlotType.Options => ({
      title,
      width: 400,
      height: 150,
      legend: { show: false },
      cursor: { show: true, drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: () => range() } },
      axes: [
        { stroke: "#8b8f98", grid: { stroke: "#2a2d35" }, ticks: { stroke: "#2a2d35" } },
        { stroke: "#8b8f98", grid: { stroke: "#2a2d35" }, ticks: { stroke: "#2a2d35" }, size: 70, values: (_u, vals) => vals.map(fmt) },
      ],
      series: [{}, { stroke: color, fill: color + "33", width: 1.5 }],
    });
    const cpuEl = h("div.chart", { "data-testid": "cpu-chart" });
    const memEl = h("div.chart", { "data-testid": "mem-chart" });
    clear(this.chartsHost);
    this.chartsHost.append(cpuEl, memEl);
    this.charts = {
      // CPU is a percentage of the container's limit_cores: 100% means the limit.
      cpu: new uPlot(common("CPU (% of limit)", "#4fc1ff", (v) => v.toFixed(0) + "%", () => [0, 100]), [[], []], cpuEl),
      mem: new uPlot(common("Memory", "#c586c0", (v) => formatBytes(v), () => [0, this.last?.memory.limit_bytes || Math.max(1, ...this.samples.mem)]), [[], []], memEl),
    };
    this.loading = false;
    this.resize();
    this.draw();
  }

  private resize() {
    if (!this.charts) return;
    const w = Math.max(200, Math.floor(this.chartsHost.clientWidth / 2) - 12);
    const ht = Math.max(80, this.chartsHost.clientHeight - 28); // room for the title
    this.charts.cpu.setSize({ width: w, height: ht });
    this.charts.mem.setSize({ width: w, height: ht });
  }

  private draw() {
    const s = this.last;
    if (s) {
      clear(this.info);
      this.info.append(
        h("span", {}, `source ${s.source}`),
        h("span", {}, `cores ${s.cpu.limit_cores?.toFixed?.(2) ?? "–"}`),
        h("span", {}, `load ${s.load.load1.toFixed(2)} ${s.load.load5.toFixed(2)} ${s.load.load15.toFixed(2)}`),
        h("span", {}, `processes ${s.processes.count}`),
        h("span", {}, `sessiond ${formatBytes(s.sessiond.rss_bytes)}`),
      );
      clear(this.procs);
      const rows = (s.processes.top_cpu ?? []).slice(0, 5).map((p) => h("tr", {}, h("td", {}, String(p.pid)), h("td", {}, p.name), h("td.num", {}, p.cpu_percent.toFixed(1) + "%"), h("td.num", {}, formatBytes(p.rss_bytes))));
      this.procs.append(h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "pid"), h("th", {}, "process"), h("th.num", {}, "cpu"), h("th.num", {}, "rss"))), h("tbody", {}, ...rows)));
    }
    if (!this.charts) return;
    this.charts.cpu.setData([this.samples.t, this.samples.cpu]);
    this.charts.mem.setData([this.samples.t, this.samples.mem]);
  }

  close(): void {
    this.socket.close();
  }
}
