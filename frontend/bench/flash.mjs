// Flash benchmark: the sample's bitstream (iCE40HX1K, built here by the
// sample's own Makefile) and a full iCE40HX8K image (the same design placed
// for the HX8K, built here too) are flashed into the simulated board at a
// 6 MHz SPI clock. Each flash time, on the simulator's virtual clock, is
// printed as a ratio against the bound the SPI clock and the flash's
// datasheet figures allow for that image, measured in the same run (see
// bench/flash-entry.ts). Prints "name value unit" lines.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { blinky } from "../e2e/harness.mjs";

function tools() {
  for (const t of ["yosys", "nextpnr-ice40", "icepack", "make"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" });
    } catch {
      return t;
    }
  }
  return null;
}

const missingTool = tools();
if (missingTool) {
  console.error(`bench flash: ${missingTool} is not installed (scripts/bootstrap.sh installs the FPGA toolchain)`);
  process.exit(process.env.CI === "true" ? 1 : 0);
}

const work = mkdtempSync(join(tmpdir(), "gatewave-flash-bench-"));
try {
  cpSync(blinky, join(work, "blinky"), { recursive: true });
  execFileSync("make", ["-C", join(work, "blinky"), "build/blinky.bin"], { stdio: ["ignore", "ignore", "pipe"] });
  const hx1k = readFileSync(join(work, "blinky", "build", "blinky.bin"));
  // The same design for the HX8K (CT256 package); nextpnr places the pins itself without a pin file.
  const b = join(work, "blinky");
  execFileSync("yosys", ["-q", "-p", `synth_ice40 -top blinky -json ${join(work, "hx8k.json")}`, join(b, "blinky.v")], { stdio: ["ignore", "ignore", "pipe"] });
  execFileSync("nextpnr-ice40", ["-q", "--hx8k", "--package", "ct256", "--json", join(work, "hx8k.json"), "--asc", join(work, "hx8k.asc")], { stdio: ["ignore", "ignore", "pipe"] });
  execFileSync("icepack", [join(work, "hx8k.asc"), join(work, "hx8k.bin")], { stdio: ["ignore", "ignore", "pipe"] });
  const hx8k = readFileSync(join(work, "hx8k.bin"));

  const { build } = await import("vite");
  await build({
    configFile: false,
    logLevel: "silent",
    build: { outDir: work, emptyOutDir: false, minify: false, lib: { entry: new URL("./flash-entry.ts", import.meta.url).pathname, formats: ["es"], fileName: "flash-entry" } },
  });
  const entry = await import(pathToFileURL(join(work, "flash-entry.js")).href);
  const cases = [
    { name: "flash_sample_hx1k", image: new Uint8Array(hx1k), fpga: "hx1k", flash: "N25Q032", spiHz: 6e6 },
    { name: "flash_full_hx8k", image: new Uint8Array(hx8k), fpga: "hx8k", flash: "N25Q032", spiHz: 6e6 },
    // The same image into a Winbond W25Q128 (the iCEBreaker's part), whose erases are quicker: the driver's overhead shows more.
    { name: "flash_full_hx8k_w25q128", image: new Uint8Array(hx8k), fpga: "hx8k", flash: "W25Q128", spiHz: 6e6 },
  ];
  let worst = 0;
  for (const c of cases) {
    const o = await entry.run(c);
    worst = Math.max(worst, o.ratio);
    console.log(`${o.name}_bytes ${o.bytes} bytes`);
    console.log(`${o.name}_time ${o.elapsedMs.toFixed(1)} ms`);
    console.log(`${o.name}_bound ${o.boundMs.toFixed(1)} ms`);
    console.log(`${o.name}_ratio ${o.ratio.toFixed(3)} x`);
    console.log(`${o.name}_driver_wall ${o.wallMs.toFixed(1)} ms`);
  }
  if (worst > 1.3) {
    console.error(`bench flash: the slowest flash takes ${worst.toFixed(3)}× its bound; the target is 1.3×`);
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
