import { afterEach, describe, expect, it, vi } from "vitest";
import { indexSignals, nextChange, type WavesAPI } from "../src/waves/api";
import { instancePaths, moduleAt, moduleOfScope, pickDeclaration } from "../src/waves/hub";
import {
  bitIndex, bitOf, Debounced, formatTime, formatValue, identifierAt, niceStep, padBits, parseTimescale, parseView, pickSignals,
  serializeView, splitBits, ticks, unitFor, valueAt, type ViewState, viewPath, Viewport,
} from "../src/waves/model";

describe("radix formatting", () => {
  it("formats known values in every radix", () => {
    expect(formatValue("10100101", "bin", 8)).toBe("10100101");
    expect(formatValue("10100101", "hex", 8)).toBe("a5");
    expect(formatValue("10100101", "unsigned", 8)).toBe("165");
    expect(formatValue("10100101", "signed", 8)).toBe("-91");
    expect(formatValue("01111111", "signed", 8)).toBe("127");
    expect(formatValue("0100100001101001", "ascii", 16)).toBe("Hi");
    expect(formatValue("00000001", "ascii", 8)).toBe(".");
    // 5 bits: the top hex digit holds one bit.
    expect(formatValue("11111", "hex", 5)).toBe("1f");
  });

  it("extends short values the VCD way before formatting", () => {
    expect(padBits("1", 4)).toBe("0001");
    expect(padBits("x1", 4)).toBe("xxx1");
    expect(padBits("z", 3)).toBe("zzz");
    expect(padBits("110011", 4)).toBe("0011");
    expect(formatValue("1", "hex", 8)).toBe("01");
    expect(formatValue("x", "hex", 8)).toBe("xx");
  });

  it("shows unknown bits as x/z, partly unknown digits in capitals", () => {
    expect(formatValue("xxxx0001", "hex", 8)).toBe("x1");
    expect(formatValue("zzzz0001", "hex", 8)).toBe("z1");
    expect(formatValue("x0010001", "hex", 8)).toBe("X1");
    expect(formatValue("z0z00001", "hex", 8)).toBe("Z1");
    expect(formatValue("xz000001", "hex", 8)).toBe("X1");
    expect(formatValue("xxxxxxxx", "unsigned", 8)).toBe("x");
    expect(formatValue("0000000x", "signed", 8)).toBe("X");
    expect(formatValue("zzzzzzzz", "signed", 8)).toBe("z");
    expect(formatValue("x1000001", "ascii", 8)).toBe("?");
    expect(formatValue("XZ", "bin", 2)).toBe("xz");
  });

  it("keeps scalars, '*' bands, reals and strings as they are", () => {
    expect(formatValue("1", "hex", 1)).toBe("1");
    expect(formatValue("z", "signed", 1)).toBe("z");
    expect(formatValue("*", "hex", 8)).toBe("*");
    expect(formatValue("3.25", "hex", 64)).toBe("3.25");
    expect(formatValue("IDLE", "bin", 0)).toBe("IDLE");
  });

  it("formats wide vectors exactly (BigInt)", () => {
    const bits = "1" + "0".repeat(63);
    expect(formatValue(bits, "unsigned", 64)).toBe("9223372036854775808");
    expect(formatValue(bits, "signed", 64)).toBe("-9223372036854775808");
    expect(formatValue(bits, "hex", 64)).toBe("8000000000000000");
  });
});

describe("bus splitting", () => {
  it("splits MSB first and names bits from the declared range", () => {
    expect(splitBits("1010", 4)).toEqual(["1", "0", "1", "0"]);
    expect(splitBits("1x", 4)).toEqual(["0", "0", "1", "x"]);
    expect(splitBits("*", 3)).toEqual(["*", "*", "*"]);
    expect([0, 1, 2, 3].map((k) => bitIndex(k, 3, 0))).toEqual([3, 2, 1, 0]);
    expect([0, 1, 2, 3].map((k) => bitIndex(k, 0, 3))).toEqual([0, 1, 2, 3]);
    // [7:4] holding 1100: bit 7 is 1, bit 4 is 0.
    expect(bitOf("1100", 4, 7, 4, 7)).toBe("1");
    expect(bitOf("1100", 4, 7, 4, 5)).toBe("0");
    expect(bitOf("1100", 4, 7, 4, 6)).toBe("1");
    // [0:3] (ascending): the first character is bit 0.
    expect(bitOf("1000", 4, 0, 3, 0)).toBe("1");
    expect(bitOf("1000", 4, 0, 3, 3)).toBe("0");
    expect(bitOf("*", 4, 3, 0, 2)).toBe("*");
  });
});

describe("time axis", () => {
  it("reads timescales", () => {
    expect(parseTimescale("1ns")).toEqual({ mult: 1, exp: -9 });
    expect(parseTimescale("10 ps")).toEqual({ mult: 10, exp: -12 });
    expect(parseTimescale("100us")).toEqual({ mult: 100, exp: -6 });
    expect(parseTimescale(undefined)).toEqual({ mult: 1, exp: -9 });
  });

  it("formats times in a fitting unit", () => {
    const ps = parseTimescale("1ps");
    expect(formatTime(0, ps)).toBe("0 ps");
    expect(formatTime(500, ps)).toBe("500 ps");
    expect(formatTime(2500, ps)).toBe("2.5 ns");
    expect(formatTime(3_000_000, ps)).toBe("3 µs");
    expect(formatTime(-1500, ps)).toBe("-1.5 ns");
    expect(formatTime(25, parseTimescale("10ns"))).toBe("250 ns");
    expect(formatTime(2500, ps, -12)).toBe("2500 ps");
    expect(unitFor(999, ps)).toBe(-12);
    expect(unitFor(1000, ps)).toBe(-9);
  });

  it("picks nice steps", () => {
    expect([0.3, 1, 1.2, 3, 7, 12, 4999].map(niceStep)).toEqual([0.5, 1, 2, 5, 10, 20, 5000]);
  });

  it("lays ticks on multiples of a nice step at least minPx apart", () => {
    const vp = new Viewport(0, 1000, 1000);
    const t = ticks(vp, parseTimescale("1ns"), 90);
    expect(t.step).toBe(100);
    expect(t.ticks.map((x) => x.t)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(t.ticks[3]).toEqual({ t: 300, x: 300, label: "300 ns" });
    const vp2 = new Viewport(1234, 1240, 600);
    const t2 = ticks(vp2, parseTimescale("1ns"), 90);
    expect(t2.step).toBe(1); // never below one time unit
    expect(t2.ticks[0].t).toBe(1234);
    const t3 = ticks(new Viewport(0, 5_000_000, 500), parseTimescale("1ps"), 90);
    expect(t3.step).toBe(1_000_000);
    expect(t3.ticks[2].label).toBe("2 µs");
  });
});

describe("viewport", () => {
  it("maps pixels and times both ways", () => {
    const vp = new Viewport(100, 300, 400);
    expect(vp.toX(200)).toBe(200);
    expect(vp.toTime(200)).toBe(200);
    expect(vp.toTime(vp.toX(157))).toBeCloseTo(157);
    expect(vp.scale).toBe(0.5);
  });

  it("zooms around a time keeping its pixel, clamped to the dump", () => {
    const vp = new Viewport(0, 1000, 1000, 0, 1000);
    const x = vp.toX(250);
    vp.zoom(0.5, 250);
    expect(vp.span).toBe(500);
    expect(vp.toX(250)).toBeCloseTo(x);
    vp.zoom(100, 250);
    expect([vp.start, vp.end]).toEqual([0, 1000]);
    vp.zoom(1e-9, 500);
    expect(vp.span).toBe(4); // minimum span
  });

  it("pans by pixels and stops at the ends", () => {
    const vp = new Viewport(0, 100, 100, 0, 1000);
    vp.pan(50);
    expect([vp.start, vp.end]).toEqual([50, 150]);
    vp.pan(-1000);
    expect([vp.start, vp.end]).toEqual([0, 100]);
    vp.pan(1e6);
    expect([vp.start, vp.end]).toEqual([900, 1000]);
    vp.fit();
    expect([vp.start, vp.end]).toEqual([0, 1000]);
  });
});

describe("values from windows", () => {
  it("tells the value at a time unless it falls in a '*' pixel", () => {
    const w = { id: 1, initial: "0", changes: [[10, "1"], [20, "*"], [30, "0"]] as [number, string][] };
    expect(valueAt(w, 0, 40, 5)).toBe("0");
    expect(valueAt(w, 0, 40, 10)).toBe("1");
    expect(valueAt(w, 0, 40, 25)).toBeNull();
    expect(valueAt(w, 0, 40, 35)).toBe("0");
    expect(valueAt(w, 0, 40, 41)).toBeNull();
  });

  it("finds the next change by narrowing '*' bands", async () => {
    // A clock toggling every 5 units from 0 to 1000: in a 10-pixel window every pixel holds several changes.
    const changesIn = (a: number, b: number) => {
      const out: number[] = [];
      for (let t = 5; t <= 1000; t += 5) if (t > a && t <= b) out.push(t);
      return out;
    };
    const calls: [number, number, number][] = [];
    const api = {
      async window(_id: string, _s: number[], a: number, b: number, px: number) {
        calls.push([a, b, px]);
        const per = (b - a) / px;
        const cs = changesIn(a, b);
        const out: [number, string][] = [];
        for (let p = 0; p < px; p++) {
          const lo = a + p * per, hi = a + (p + 1) * per;
          const inPx = cs.filter((t) => t > lo && t <= hi);
          if (inPx.length > 1) out.push([inPx[0], "*"]);
          else if (inPx.length === 1) out.push([inPx[0], String((inPx[0] / 5) % 2)]);
        }
        return { start: a, end: b, signals: [{ id: 1, initial: "0", changes: out }] };
      },
    } as unknown as WavesAPI;
    expect(await nextChange(api, "d", 1, 12, 1000, 10)).toEqual([15, "1"]);
    expect(calls.length).toBeGreaterThan(1);
    expect(await nextChange(api, "d", 1, 1000, 1000, 10)).toBeNull();
  });
});

describe("the saved view", () => {
  it("round-trips through JSON and lives under .ide/waves", () => {
    const v: ViewState = {
      version: 1,
      dump: "build/tb.vcd",
      rows: [{ signal: "tb.clk", radix: "bin" }, { group: "bus", collapsed: true, signals: [{ signal: "tb.data", radix: "hex", expanded: true }] }],
      range: { start: 10, end: 500 },
      cursor: 42,
      markers: [100, 200],
    };
    expect(viewPath("build/tb.vcd")).toBe(".ide/waves/build/tb.vcd.json");
    const text = serializeView(v);
    expect(text.endsWith("\n")).toBe(true);
    expect(parseView(text)).toEqual(v);
  });

  it("drops what it does not understand", () => {
    expect(parseView("not json")).toBeNull();
    expect(parseView('{"version":2,"rows":[]}')).toBeNull();
    const v = parseView(JSON.stringify({
      version: 1, dump: "a.vcd",
      rows: [{ signal: "tb.a", radix: "octal" }, { nope: 1 }, { group: "g", signals: [{ signal: "" }, { signal: "tb.b", expanded: true }] }],
      range: { start: 5, end: 1 }, cursor: "x", markers: [1, "2", 3],
    }))!;
    expect(v.rows).toEqual([{ signal: "tb.a" }, { group: "g", signals: [{ signal: "tb.b", expanded: true }] }]);
    expect(v.range).toBeUndefined();
    expect(v.cursor).toBeUndefined();
    expect(v.markers).toEqual([1, 3]);
  });
});

describe("request debouncing", () => {
  afterEach(() => vi.useRealTimers());

  it("runs only the last job after the delay and aborts the ones before", async () => {
    vi.useFakeTimers();
    const d = new Debounced(50);
    const ran: number[] = [];
    const signals: AbortSignal[] = [];
    for (let i = 0; i < 5; i++) {
      d.schedule((s) => {
        ran.push(i);
        signals.push(s);
      });
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(ran).toEqual([]);
    await vi.advanceTimersByTimeAsync(60);
    expect(ran).toEqual([4]);
    expect(d.started).toBe(1);
    // A job in flight is aborted when a newer one is scheduled.
    let inflight: AbortSignal | null = null;
    d.schedule((s) => {
      inflight = s;
      return new Promise(() => {});
    });
    await vi.advanceTimersByTimeAsync(60);
    expect(inflight!.aborted).toBe(false);
    d.schedule(() => {});
    expect(inflight!.aborted).toBe(true);
    d.cancel();
    await vi.advanceTimersByTimeAsync(100);
    expect(d.started).toBe(2);
  });
});

describe("cross-probing", () => {
  const paths = ["tb.clk", "tb.dut.clk", "tb.dut.core.clk", "tb.dut.count [7:0]", "tb.dut.clk_en"];

  it("matches signals by their last path component", () => {
    expect(pickSignals("clk", paths)).toEqual(["tb.clk", "tb.dut.clk", "tb.dut.core.clk"]);
    expect(pickSignals("COUNT", paths)).toEqual(["tb.dut.count [7:0]"]);
    expect(pickSignals("nothing", paths)).toEqual([]);
  });

  it("prefers the instances of the module around the cursor", () => {
    expect(pickSignals("clk", paths, [["dut", "core"]])).toEqual(["tb.dut.core.clk"]);
    expect(pickSignals("clk", paths, [["tb", "dut"]])).toEqual(["tb.dut.clk"]);
    // An instance path not in the dump: every signal named so.
    expect(pickSignals("clk", paths, [["other"]])).toHaveLength(3);
  });

  it("finds the identifier at the cursor", () => {
    const text = "assign led = cnt[23:20] & $clog2(x);";
    expect(identifierAt(text, text.indexOf("cnt") + 1)).toBe("cnt");
    expect(identifierAt(text, text.indexOf("led") + 3)).toBe("led");
    expect(identifierAt(text, text.indexOf("23"))).toBeNull();
    expect(identifierAt(text, text.indexOf("="))).toBeNull();
  });

  const tree = [{
    name: "tb", module: "tb", uri: "file:///workspace/tb.v", range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    children: [{ name: "dut", module: "blinky", uri: "", range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, children: [] }],
  }];

  it("walks the hierarchy both ways", () => {
    expect(instancePaths(tree, "blinky")).toEqual([["tb", "dut"]]);
    expect(instancePaths(tree, "TB")).toEqual([["tb"]]);
    expect(moduleOfScope(tree, ["tb", "dut"])).toBe("blinky");
    // The dump starts above the workspace's tops.
    expect(moduleOfScope(tree, ["top", "tb", "dut"])).toBe("blinky");
    expect(moduleOfScope(tree, ["tb", "nope"])).toBeNull();
  });

  it("finds the module around a position and the declaration in a module", () => {
    const r = (a: number, b: number) => ({ start: { line: a, character: 0 }, end: { line: b, character: 0 } });
    const syms: Parameters<typeof moduleAt>[0] = [
      { name: "blinky", kind: 2, range: r(0, 20), selectionRange: r(0, 0), children: [{ name: "clk", kind: 13, range: r(1, 1), selectionRange: r(1, 1) }] },
      { name: "tb", kind: 2, range: r(22, 40), selectionRange: r(22, 22) },
    ];
    expect(moduleAt(syms, { line: 5, character: 3 })).toBe("blinky");
    expect(moduleAt(syms, { line: 30, character: 0 })).toBe("tb");
    expect(moduleAt(syms, { line: 21, character: 0 })).toBeNull();
    const res = [
      { name: "clk", containerName: "tb" },
      { name: "clk", containerName: "blinky" },
      { name: "clk_en", containerName: "blinky" },
    ];
    expect(pickDeclaration(res, "clk", "blinky")).toBe(res[1]);
    expect(pickDeclaration(res, "clk", "other")).toBe(res[0]);
    expect(pickDeclaration(res, "led", "blinky")).toBeNull();
  });
});

describe("scope index", () => {
  it("gives every signal its dotted path and scope", () => {
    const m = indexSignals([{ name: "tb", kind: "module", signals: [{ id: 1, name: "clk", width: 1, type: "wire" }], scopes: [{ name: "dut", kind: "module", signals: [{ id: 2, name: "cnt", width: 8, type: "reg", msb: 7, lsb: 0 }] }] }]);
    expect([...m.keys()]).toEqual(["tb.clk", "tb.dut.cnt"]);
    expect(m.get("tb.dut.cnt")).toMatchObject({ id: 2, scope: "tb.dut", width: 8 });
  });
});
