import { describe, expect, it } from "vitest";
import { applySGR, findLinks, findMatches, LineBuffer, parseAnsi } from "../src/ui/log";
import { formatDelta, shortClock } from "../src/ui/report";

describe("ANSI SGR parsing", () => {
  it("splits a line into styled segments and carries the state", () => {
    const { segments, style } = parseAnsi("a\x1b[1;31mred\x1b[0m b \x1b[38;5;200mx\x1b[48;2;1;2;3my");
    expect(segments.map((s) => s.text)).toEqual(["a", "red", " b ", "x", "y"]);
    expect(segments[1].style).toEqual({ bold: true, fg: 1 });
    expect(segments[2].style).toEqual({});
    expect(segments[3].style).toEqual({ fg: 200 });
    expect(segments[4].style).toEqual({ fg: 200, bgRGB: "rgb(1,2,3)" });
    expect(style).toEqual({ fg: 200, bgRGB: "rgb(1,2,3)" });
    // The next line starts in the state the last one left.
    expect(parseAnsi("z", { fg: 2 }).segments[0].style).toEqual({ fg: 2 });
  });
  it("drops other escapes and handles resets", () => {
    expect(parseAnsi("a\x1b[2Kb\x1b]0;title\x07c").segments.map((s) => s.text).join("")).toBe("abc");
    expect(applySGR({ fg: 1, bold: true }, "22")).toEqual({ fg: 1 });
    expect(applySGR({ fg: 1 }, "")).toEqual({});
    expect(applySGR({}, "93")).toEqual({ fg: 11 });
  });
});

describe("LineBuffer", () => {
  it("keeps the last max lines and counts the dropped", () => {
    const b = new LineBuffer(3);
    b.append("1\n2\n3\n4");
    expect(b.lines.map((l) => l.text)).toEqual(["1", "2", "3"]);
    expect(b.pending()?.text).toBe("4");
    b.append("4\n5\n");
    expect(b.lines.map((l) => l.text)).toEqual(["3", "44", "5"]);
    expect(b.dropped).toBe(2);
    expect(b.pending()).toBeNull();
  });
  it("keeps colour across chunk and line boundaries, CR rewrites a line", () => {
    const b = new LineBuffer();
    b.append("\x1b[3");
    b.append("2mgreen\nstill\x1b[0m\r\nprogress 10%\rprogress 100%\n");
    expect(b.lines[0].segments[0].style).toEqual({ fg: 2 });
    expect(b.lines[1].segments[0]).toEqual({ text: "still", style: { fg: 2 } });
    expect(b.lines[2].text).toBe("progress 100%");
  });
  it("stays bounded with 100k lines", () => {
    const b = new LineBuffer(10_000);
    for (let i = 0; i < 100; i++) b.append(Array.from({ length: 1000 }, (_, j) => `line ${i * 1000 + j}`).join("\n") + "\n");
    expect(b.lines.length).toBe(10_000);
    expect(b.dropped).toBe(90_000);
    expect(b.lines[0].text).toBe("line 90000");
  });
});

describe("search", () => {
  it("finds every match case-insensitively", () => {
    const m = findMatches([{ text: "ERROR: x error" }, { text: "fine" }, { text: "Error" }], "error");
    expect(m).toEqual([{ line: 0, from: 0, to: 5 }, { line: 0, from: 9, to: 14 }, { line: 2, from: 0, to: 5 }]);
    expect(findMatches([{ text: "x" }], "")).toEqual([]);
  });
});

describe("link detection", () => {
  it("finds the tools' file:line forms", () => {
    expect(findLinks("blinky.v:11: ERROR: syntax error")).toEqual([{ from: 0, to: 11, path: "blinky.v", line: 11, column: undefined }]);
    expect(findLinks("%Warning-WIDTH: rtl/vwarn.v:4:16: Operator")[0]).toMatchObject({ path: "rtl/vwarn.v", line: 4, column: 16 });
    expect(findLinks("Info:   blinky.v:9.20-9.31")[0]).toMatchObject({ path: "blinky.v", line: 9, column: 20 });
    expect(findLinks("make: *** [Makefile:15: build/blinky.asc] Error 1")[0]).toMatchObject({ path: "Makefile", line: 15 });
    expect(findLinks("Warning: width (./warn2.v:6)")[0]).toMatchObject({ path: "warn2.v", line: 6 });
    // yosys' own library files are outside the workspace; times are not paths.
    expect(findLinks("/usr/bin/../share/yosys/ice40/arith_map.v:51.21-51.22")).toEqual([]);
    expect(findLinks("at 12:30:01 done, 0.5 ns")).toEqual([]);
  });
});

describe("delta formatting", () => {
  it("says what the change cost", () => {
    expect(formatDelta(12)).toEqual({ text: "+12", tone: "worse" });
    expect(formatDelta(-3)).toEqual({ text: "−3", tone: "better" });
    expect(formatDelta(0)).toEqual({ text: "±0", tone: "same" });
    expect(formatDelta(undefined)).toEqual({ text: "", tone: "same" });
    expect(formatDelta(-2.104, { higherIsBetter: true, digits: 2, unit: "MHz" })).toEqual({ text: "−2.10 MHz", tone: "worse" });
    expect(formatDelta(0.001, { digits: 2, unit: "ns" })).toEqual({ text: "±0 ns", tone: "same" });
    expect(shortClock("clk$SB_IO_IN_$glb_clk")).toBe("clk");
    expect(shortClock("posedge clk$SB_IO_IN_$glb_clk")).toBe("clk");
  });
});
