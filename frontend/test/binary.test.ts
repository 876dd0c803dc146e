import { describe, expect, it } from "vitest";
import { hexLines, isBinary, SNIFF_BYTES } from "../src/editor/binary";

const enc = new TextEncoder();

describe("binary files", () => {
  it("text (ASCII and UTF-8) is text", () => {
    expect(isBinary(enc.encode("module blinky(input clk);\nendmodule\n"))).toBe(false);
    expect(isBinary(enc.encode("// Grüße, 日本語, ✓\n"))).toBe(false);
    expect(isBinary(new Uint8Array(0))).toBe(false);
  });

  it("a NUL byte or bytes that are not UTF-8 make a file binary (an iCE40 bitstream starts FF 00)", () => {
    expect(isBinary(Uint8Array.from([0xff, 0x00, 0x00, 0xff, 0x7e, 0xaa, 0x99, 0x7e]))).toBe(true);
    expect(isBinary(Uint8Array.from([0x41, 0x42, 0xc3, 0x28]))).toBe(true);
  });

  it("a UTF-8 sequence cut at the end of the sample does not make text binary", () => {
    const text = enc.encode("a".repeat(SNIFF_BYTES - 1) + "é and more");
    expect(text[SNIFF_BYTES - 1]).toBe(0xc3); // the sample ends inside "é"
    expect(isBinary(text)).toBe(false);
  });

  it("only the sample decides: a NUL after it does not count", () => {
    const b = new Uint8Array(SNIFF_BYTES + 10).fill(0x61);
    b[SNIFF_BYTES + 5] = 0;
    expect(isBinary(b)).toBe(false);
  });

  it("formats offset, hex and ASCII columns, padding the last line", () => {
    const lines = hexLines(enc.encode("0123456789abcdefXY"), 0x100);
    expect(lines).toEqual([
      "00000100  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|",
      "00000110  58 59                                             |XY|",
    ]);
  });
});
