import { describe, expect, test } from "vitest";
import { aheadBehind, diffTabPath, entryPaths, hunkAnchorLine, parseDiffTabPath } from "../src/ui/gitapi";

describe("git helpers", () => {
  test("a hunk's control sits on its first new line, or after a deletion", () => {
    expect(hunkAnchorLine({ newStart: 5, newLines: 3 }, 20)).toBe(5);
    expect(hunkAnchorLine({ newStart: 4, newLines: 0 }, 20)).toBe(5); // lines deleted after line 4
    expect(hunkAnchorLine({ newStart: 0, newLines: 0 }, 0)).toBe(1); // the whole file deleted
    expect(hunkAnchorLine({ newStart: 20, newLines: 0 }, 20)).toBe(20); // deleted at the end
  });
  test("diff tab paths round-trip, odd names included", () => {
    for (const p of ["a.v", "dir/x y (1).v", "dir/(Index).v"]) {
      for (const staged of [true, false]) expect(parseDiffTabPath(diffTabPath(p, staged))).toEqual({ path: p, staged });
    }
    expect(parseDiffTabPath("src/a.v")).toBeNull();
    expect(diffTabPath("d/a.v", false).split("/").pop()).toBe("a.v (Working Tree)");
  });
  test("ahead/behind and rename paths", () => {
    expect(aheadBehind({ ahead: 1, behind: 2, upstream: "origin/main" })).toBe("↑1 ↓2");
    expect(aheadBehind({ ahead: 1, behind: 0 })).toBe("");
    expect(entryPaths({ path: "new", status: "R", origPath: "old" })).toEqual(["new", "old"]);
  });
});
