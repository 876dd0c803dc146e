// Load benchmark: time from navigation start to an editor that is focused and
// accepts input, over several cold loads, and the gzip size of everything the
// page fetched before that moment. Prints one "name value unit" line each.
import { gzipSync } from "node:zlib";
import { depsProblem, launch, startSessiond } from "../e2e/harness.mjs";

const loads = Number(process.env.BENCH_LOADS || 7);

// Under CI=true a missing sessiond or Chromium throws (non-zero exit); otherwise it skips.
const problem = depsProblem();
if (problem) {
  console.error("bench: " + problem);
  process.exit(process.env.CI === "true" ? 1 : 0);
}

const s = await startSessiond();
const b = await launch();
const times = [];
let gz = 0, raw = 0, requests = 0, assetGz = 0;
try {
  for (let i = 0; i < loads; i++) {
    const page = await b.context.newPage();
    // Cold: no HTTP cache between loads.
    const cdp = await b.context.newCDPSession(page);
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    const responses = [];
    page.on("response", (r) => responses.push(r));
    await page.goto(`${s.base}#token=${s.token}&open=main.c`, { waitUntil: "commit" });
    await page.waitForFunction(() => document.activeElement?.classList.contains("cm-content"), null, { timeout: 30_000, polling: "raf" });
    await page.keyboard.type("x");
    const ms = await page.evaluate(() => {
      const tab = window.gatewave.editors.find("main.c");
      if (!tab.view.state.doc.toString().includes("x")) throw new Error("the editor did not take the input");
      return performance.now();
    });
    times.push(ms);
    if (i === 0) {
      const seen = responses.slice();
      for (const r of seen) {
        let body;
        try {
          body = await r.body();
        } catch {
          continue; // redirects and WebSocket upgrades have no body
        }
        const z = gzipSync(body, { level: 9 }).byteLength;
        raw += body.byteLength;
        gz += z;
        if (!r.url().includes("/api/")) assetGz += z;
        requests++;
      }
    }
    await page.close();
  }
} finally {
  await b.close();
  await s.stop();
}
times.sort((a, z) => a - z);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
console.log(`load_to_interactive_p50 ${q(0.5).toFixed(1)} ms`);
console.log(`load_to_interactive_max ${times.at(-1).toFixed(1)} ms`);
console.log(`load_to_interactive_min ${times[0].toFixed(1)} ms`);
console.log(`initial_load_gzip ${(gz / 1024).toFixed(1)} KiB`);
console.log(`initial_assets_gzip ${(assetGz / 1024).toFixed(1)} KiB`);
console.log(`initial_load_raw ${(raw / 1024).toFixed(1)} KiB`);
console.log(`initial_load_requests ${requests} count`);
console.log(`loads ${times.length} count`);
