// Real iCE40 bitstreams for the flasher tests, built here by the FPGA
// toolchain from the sample project (nothing built is committed). Each is
// built once into test-results/bitstreams/ and reused; a missing tool is a
// failure that says what to install.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const blinky = resolve(__dirname, "../../examples/blinky");
const out = resolve(__dirname, "../test-results/bitstreams");

function run(cmd: string, args: string[]): Buffer {
  try {
    return execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`${cmd} is not installed: the flasher tests build real bitstreams with yosys, nextpnr-ice40 and icepack (scripts/bootstrap.sh installs them)`);
    }
    throw new Error(`${cmd} ${args.join(" ")} failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
  }
}

/** cached builds name once (atomically, so parallel test workers may race) and returns its bytes. */
function cached(name: string, build: (dir: string) => Buffer): Uint8Array {
  const file = join(out, name);
  if (!existsSync(file)) {
    mkdirSync(out, { recursive: true });
    const dir = mkdtempSync(join(out, ".build-"));
    try {
      writeFileSync(join(dir, name), build(dir));
      renameSync(join(dir, name), file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return new Uint8Array(readFileSync(file));
}

/** blinkyHx1k is the sample built as its Makefile does: iCE40HX1K, TQ144, the iCEstick's pins (32,220 bytes). */
export function blinkyHx1k(): Uint8Array {
  return cached("blinky-hx1k.bin", (dir) => {
    run("yosys", ["-q", "-p", `synth_ice40 -top blinky -json ${join(dir, "b.json")}`, join(blinky, "blinky.v")]);
    run("nextpnr-ice40", ["-q", "--hx1k", "--package", "tq144", "--pcf", join(blinky, "icestick.pcf"), "--json", join(dir, "b.json"), "--asc", join(dir, "b.asc")]);
    run("icepack", [join(dir, "b.asc"), join(dir, "b.bin")]);
    return readFileSync(join(dir, "b.bin"));
  });
}

/** icemultiHx1k is a multi-boot file: `icemulti -p0` of the sample twice (five 32-byte warm-boot headers, then the images). */
export function icemultiHx1k(): Uint8Array {
  const one = blinkyHx1k();
  return cached("icemulti-hx1k.bin", (dir) => {
    writeFileSync(join(dir, "a.bin"), one);
    return run("icemulti", ["-p0", join(dir, "a.bin"), join(dir, "a.bin")]);
  });
}
