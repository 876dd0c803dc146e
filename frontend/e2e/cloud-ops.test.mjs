// The operator dashboard in Chromium, on a real cloud and node (PostgreSQL,
// dockerd): an admin follows the link from the home page to /admin/ops and
// sees the node online with its version, its warm pool (one idle
// container) and live CPU and memory for the node and the pool's
// container, as the node's stats arrive; a user who is not an admin is
// refused. Then the node gateway is stopped and the same page, never
// reloaded, shows the link lost and the node offline once the offline
// window (6 s here) has passed. axe finds no serious violation.
// Screenshots: test-results/cloud-ops-*.png.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cloudBin, readyWith, requireCloudDeps, signIn, startCloud, waitUntil } from "./cloud-harness.mjs";
import { freePort, frontendDir, launch, screenshot } from "./harness.mjs";

const problem = await requireCloudDeps("cloud operator dashboard e2e");
const axePath = join(frontendDir, "node_modules", "axe-core", "axe.min.js");

/** addAdmin adds an admin with a random password, as `cloud user add --admin` does. */
function addAdmin(h, user) {
  const password = randomBytes(12).toString("hex");
  return new Promise((res, rej) => {
    const p = execFile(cloudBin, ["user", "add", user, "--admin"], { env: h.env, timeout: 60_000 }, (err, _o, stderr) => (err ? rej(new Error(`cloud user add --admin: ${err.message}\n${stderr}`)) : res({ user, password })));
    p.stdin.end(password + "\n");
  });
}

async function axeSerious(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ path: axePath });
  const r = await page.evaluate(() => window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }, resultTypes: ["violations"] }));
  return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `[${v.impact}] ${v.id}: ${v.help}\n` + v.nodes.slice(0, 6).map((n) => `    ${n.target.join(" ")}`).join("\n"));
}

describe("the operator dashboard", { timeout: 300_000, skip: problem ?? false }, () => {
  let h, browser, page, node, admin, metricsURL;

  before(async () => {
    // A short offline window, so the node goes offline within the test
    // (the cloud reads these from its environment).
    process.env.GATEWAVE_HEARTBEAT_INTERVAL = "1s";
    process.env.GATEWAVE_OFFLINE_AFTER = "6s";
    // The gateway's own metrics, on loopback (nodegw reads its environment too).
    const port = await freePort();
    process.env.NODEGW_METRICS_LISTEN = `127.0.0.1:${port}`;
    metricsURL = `http://127.0.0.1:${port}/metrics`;
    h = await startCloud({ user: "olga", pool: 1 });
    node = (await h.sql("SELECT name FROM nodes")).trim();
    admin = await addAdmin(h, "root-ops");
    browser = await launch();
    page = await browser.context.newPage();
  });

  after(async () => {
    if (h && process.env.GATEWAVE_E2E_VERBOSE) console.error(`--- nodegw\n${h.nodegw?.log().slice(-6000)}\n--- cloud\n${h.cloud?.log().slice(-6000)}`);
    await browser?.close();
    await h?.stop();
  });

  const ready = readyWith(() => page);
  const row = () => page.locator(`#ops-nodes tr[data-node="${node}"]`);

  test("a user who is not an admin is refused", async (t) => {
    if (!ready(t)) return;
    await signIn(h, page, { user: h.user, password: h.password });
    assert.equal(await page.locator("#ops-link").count(), 0, "the dashboard is offered to a user who is not an admin");
    const r = await page.goto(h.url + "/admin/ops");
    assert.equal(r.status(), 403);
    assert.match(await page.textContent("main"), /only an admin/);
    const live = await page.request.get(h.url + "/admin/ops/live", { headers: { Accept: "text/html" } });
    assert.equal(live.status(), 403);
    await page.context().clearCookies();
  });

  test("an admin sees the node online, its pool and live CPU and memory", async (t) => {
    if (!ready(t)) return;
    await signIn(h, page, admin);
    await Promise.all([page.waitForURL((u) => u.pathname === "/admin/ops"), page.click("#ops-link")]);
    await page.evaluate(() => { window.__notReloaded = true; });
    await row().waitFor();
    assert.equal(await row().getAttribute("data-state"), "online");
    assert.equal((await row().getByTestId("node-state").textContent()).trim(), "online");
    await waitUntil("the pool's idle container on the page", async () => (await row().locator('td[data-pool="idle"]').textContent()).trim() === "1", { timeout: 30_000 });
    // The node's stats come every 5 s and the page polls every 2 s.
    await waitUntil("live CPU and memory on the page", async () => {
      const cpu = await row().getByTestId("node-cpu").textContent();
      const mem = await row().getByTestId("node-mem").textContent();
      return /of \d+ cores \(\d+%\)/.test(cpu) && /GiB|MiB/.test(mem);
    }, { timeout: 30_000 });
    const containers = page.locator("tr[data-container]");
    await waitUntil("the pool container's live figures", async () => (await containers.count()) === 1, { timeout: 30_000 });
    const ctr = await containers.first().textContent();
    assert.match(ctr, /session/);
    assert.match(ctr, /of 0\.5 cores/, "the container's CPU limit (--standard-cpus 0.5)");
    assert.match(ctr, /of 512 MiB/, "the container's memory limit");
    assert.match(await page.textContent("#ops-nodes"), /\d+ cores, [\d.]+ GiB/, "declared resources");
    assert.match(await page.textContent("#ops-session-counts"), /0 queued/);
    const serious = await axeSerious(page);
    assert.deepEqual(serious, [], serious.join("\n"));
    await screenshot(page, "cloud-ops-01-online");
  });

  test("the gateway's metrics say the same", async (t) => {
    if (!ready(t)) return;
    const text = await (await fetch(metricsURL)).text();
    const value = (name) => {
      const line = text.split("\n").find((l) => l.startsWith(name + " "));
      return line === undefined ? undefined : Number(line.slice(name.length + 1));
    };
    assert.equal(value("gatewave_gateway_connected"), 1);
    assert.equal(value('gatewave_gateway_pool_containers{state="idle"}'), 1);
    assert.ok(value("gatewave_gateway_heartbeats_total") > 0, "no heartbeat acknowledged");
    assert.ok(value("gatewave_gateway_node_memory_bytes") > 0);
    assert.match(text, /^gatewave_gateway_container_memory_limit_bytes\{container="[0-9a-f]{12}",kind="session",name="gw-e2e-[^"]+"\} 5\.36870912e\+08$/m);
  });

  test("the node goes offline on the same page, without a reload", async (t) => {
    if (!ready(t)) return;
    const stopped = Date.now();
    // --shutdown-pool saves and removes the pool, then the link closes.
    h.nodegw.proc.kill("SIGTERM");
    await h.nodegw.exited;
    await waitUntil("the node offline on the page", async () => (await row().getAttribute("data-state")) === "offline", { timeout: 60_000, every: 500 });
    assert.equal((await row().getByTestId("node-state").textContent()).trim(), "offline");
    assert.match(await row().getByTestId("node-cpu").textContent(), /^last known: /, "a dead link's figures are not shown as live");
    assert.equal(await page.evaluate(() => window.__notReloaded), true, "the page was reloaded");
    // Within the offline window (6 s) and a sweep, a poll and the
    // shutdown's saves after the stop.
    assert.ok(Date.now() - stopped < 60_000);
    await assert.rejects(fetch(metricsURL), "the gateway's metrics outlived it");
    await screenshot(page, "cloud-ops-02-offline");
  });
});
