// End-to-end: the editor follows the project's indentation. A Makefile
// indents with a real tab; a .editorconfig asking for tabs (or two spaces)
// is honoured in the files it names. Screenshots go to test-results/editor-*.png.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openIDE, requireDeps, screenshot } from "./harness.mjs";
import { typeAtEnd as type } from "./ide-steps.mjs";

const problem = requireDeps();

describe("editor indentation end to end", { timeout: 120_000, skip: problem ?? false }, () => {
  let ide, s, page, errors;

  before(async () => {
    ide = await openIDE();
    ({ s, page, errors } = ide);
  });

  after(async () => {
    await ide?.close();
  });

  const typeAtEnd = (path, keys) => type(page, path, keys);

  test("Tab in a Makefile inserts a real tab", async () => {
    await typeAtEnd("Makefile", ["@Enter", "lint:", "@Enter", "@Home", "@Tab", "echo ok"]);
    assert.match(readFileSync(join(s.dir, "Makefile"), "utf8"), /\nlint:\n\techo ok$/);
  });

  test("a .editorconfig asking for two spaces in C files is honoured", async () => {
    writeFileSync(join(s.dir, ".editorconfig"), "root = true\n\n[*.c]\nindent_style = space\nindent_size = 2\n");
    await page.locator('.tree-row[data-path=".editorconfig"]').waitFor({ timeout: 10_000 });
    await typeAtEnd("main.c", ["@Enter", "@Home", "@Tab", "int gatewave_indent;"]);
    assert.match(readFileSync(join(s.dir, "main.c"), "utf8"), /\n {2}int gatewave_indent;$/);
    await screenshot(page, "editor-editorconfig");
  });

  test("no uncaught page errors", () => {
    assert.deepEqual(errors, []);
  });
});
