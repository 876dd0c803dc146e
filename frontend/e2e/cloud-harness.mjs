// Cloud e2e plumbing: the whole product on loopback, as scripts/run-cloud.sh
// runs it, but everything of the test's own: a fresh PostgreSQL database,
// free ports, a temporary GATEWAVE_DATA_DIR and node state directory, its
// own pool name and a pool image carrying the sessiond (and so the IDE)
// just built. stop() ends every process and container it started and
// drops the database. Under CI=true a missing dependency fails (see
// cloudDepsProblem); the browser side is harness.mjs's.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { chromiumPath, freePort, frontendDir, sessiondBin } from "./harness.mjs";

const run = promisify(execFile);
export const cloudBin = resolve(frontendDir, process.env.CLOUD_BIN || "../bin/cloud");
export const nodegwBin = resolve(frontendDir, process.env.NODEGW_BIN || "../bin/nodegw");
/** The FROM-scratch test image (images/build.sh scratch); the test's image adds the fresh sessiond on top. */
export const baseImage = process.env.GATEWAVE_E2E_BASE_IMAGE || "gatewave/sessiond-scratch";
/** The cluster's admin URL, as the Makefile passes it to every test (scripts/postgres.sh prints it). */
const adminURL = process.env.GATEWAVE_TEST_DATABASE_URL || "";

async function ok(cmd, args) {
  try {
    await run(cmd, args, { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** cloudDepsProblem names the first missing dependency of the cloud e2e, or returns null. */
export async function cloudDepsProblem() {
  for (const [what, bin] of [["sessiond", sessiondBin], ["cloud", cloudBin], ["nodegw", nodegwBin]]) {
    if (!existsSync(bin)) return `${what} binary ${bin} is missing (make build, or set ${what.toUpperCase()}_BIN)`;
  }
  const dist = join(frontendDir, "dist", "index.html");
  if (existsSync(dist) && statSync(dist).mtimeMs > statSync(sessiondBin).mtimeMs) {
    return `${sessiondBin} is older than frontend/dist: the pool would serve a stale IDE (make build)`;
  }
  if (!existsSync(chromiumPath)) return `Chromium at ${chromiumPath} is missing`;
  if (!adminURL) return "GATEWAVE_TEST_DATABASE_URL is not set (make test sets it from scripts/postgres.sh)";
  if (!(await ok("psql", [adminURL, "-XtAc", "SELECT 1"]))) return "PostgreSQL at GATEWAVE_TEST_DATABASE_URL does not answer (or psql is missing)";
  if (!(await ok("docker", ["version", "--format", "{{.Server.Version}}"]))) return "dockerd does not answer (scripts/dockerd.sh)";
  if (!(await ok("docker", ["image", "inspect", baseImage]))) {
    // Only its tini, git and busybox are used (the test's image adds the
    // sessiond under test), so any build of it serves: make one.
    try {
      await run("bash", [join(frontendDir, "..", "images", "build.sh"), "scratch"], { timeout: 600_000 });
    } catch (err) {
      return `image ${baseImage} is missing and images/build.sh scratch failed: ${err.message}`;
    }
  }
  return null;
}

let objectStore = null;

/**
 * objectStoreURL is the S3-compatible object store the cloud keeps task
 * artifacts in (http://ACCESS:SECRET@127.0.0.1:PORT/BUCKET):
 * GATEWAVE_TEST_S3_URL, or what scripts/objstore.sh prints (it starts
 * versitygw, building it once). It resolves {url} or {problem}.
 */
export function objectStoreURL() {
  if (process.env.GATEWAVE_TEST_S3_URL) return Promise.resolve({ url: process.env.GATEWAVE_TEST_S3_URL });
  objectStore ??= run("bash", [join(frontendDir, "..", "scripts", "objstore.sh")], { timeout: 600_000 }).then(
    ({ stdout }) => (stdout.trim() ? { url: stdout.trim() } : { problem: "scripts/objstore.sh printed no URL" }),
    (err) => ({ problem: `scripts/objstore.sh failed: ${err.message}` }),
  );
  return objectStore;
}

/**
 * requireCloudDeps is cloudDepsProblem for a test file: under CI=true a
 * missing dependency adds a failing test named after what (the file's
 * subject); it returns the problem, for describe's skip.
 */
export async function requireCloudDeps(what, { objectStore = false } = {}) {
  let problem = await cloudDepsProblem();
  if (!problem && objectStore) problem = (await objectStoreURL()).problem ?? null;
  if (problem && process.env.CI === "true") {
    test(`${what} dependencies are installed`, () => {
      throw new Error(problem + " (required under CI=true)");
    });
  }
  return problem;
}

/**
 * cloneRepo clones user's repo from the cloud's git host into a new
 * temporary directory, as a user would, with the password in the URL; it
 * returns the directory (the caller removes it).
 */
export async function cloneRepo(h, { user = h.user, password = h.password } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "gwe2e-clone-"));
  await run("git", ["clone", "-q", `http://${user}:${password}@${new URL(h.url).host}/git/${user}.git`, dir], { timeout: 60_000 });
  return dir;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** waitUntil polls f until it returns a truthy value; what names the wait in the error. */
/** readyWith returns a test's guard: false (the test skipped) when the page get() returns was never opened (no cloud or browser). */
export const readyWith = (get) => (t) => {
  if (!get()) {
    t.skip("no cloud or browser");
    return false;
  }
  return true;
};

export async function waitUntil(what, f, { timeout = 60_000, every = 250 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ": " + last.message : ""}`);
    await sleep(every);
  }
}

/** A child process whose output is kept for failure messages. */
function child(name, bin, args, env) {
  const proc = spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (d) => {
    log += d;
    if (log.length > 400_000) log = log.slice(-200_000);
  };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  const exited = new Promise((r) => proc.once("exit", (code, sig) => r({ code, sig })));
  return {
    name,
    proc,
    exited,
    log: () => log,
    /** stop sends SIGTERM and waits up to graceMs before SIGKILL. */
    async stop(graceMs) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      let timer;
      const r = await Promise.race([exited, new Promise((res) => (timer = setTimeout(() => res(null), graceMs)))]);
      clearTimeout(timer); // a pending timer would keep the test process alive
      if (r === null) {
        proc.kill("SIGKILL");
        await exited;
        throw new Error(`${name} did not exit within ${graceMs} ms of SIGTERM`);
      }
    },
  };
}

/**
 * startCloud brings up a cloud and one node gateway with a warm pool of
 * `pool` containers, and a user `user` with a random password. It resolves
 * once the pool reports that many idle containers. With objectStore the
 * cloud keeps task artifacts in the object store (objectStoreURL, passed
 * as GATEWAVE_S3_URL).
 */
export async function startCloud({ user = "e2e", pool = 2, objectStore = false } = {}) {
  const tag = randomBytes(4).toString("hex");
  const h = {
    tag,
    user,
    password: randomBytes(12).toString("hex"),
    poolName: `gw-e2e-${tag}`,
    image: `gatewave/sessiond-e2e:${tag}`,
    db: `gatewave_e2e_${tag}`,
    // Unix socket paths must stay short: the node's state lives under /tmp.
    dir: mkdtempSync(join(tmpdir(), "gwe2e-")),
    procs: [],
  };
  h.stateDir = join(h.dir, "node");
  h.dataDir = join(h.dir, "data");
  mkdirSync(h.stateDir, { mode: 0o700 });
  mkdirSync(h.dataDir, { mode: 0o700 });
  const u = new URL(adminURL);
  u.pathname = "/" + h.db;
  h.databaseURL = u.href;
  h.sql = async (query) => {
    const { stdout } = await run("psql", [h.databaseURL, "-XtAq", "-v", "ON_ERROR_STOP=1", "-c", query], { timeout: 20_000 });
    return stdout.trim();
  };
  h.stop = () => stopCloud(h);
  h.waitIdle = (n) => waitUntil(`${n} idle containers in pool ${h.poolName}`, async () => {
    if (h.nodegw.proc.exitCode !== null) throw new Error(`nodegw exited:\n${h.nodegw.log()}`);
    return Number(await h.sql("SELECT count(*) FROM pool_containers WHERE state = 'idle'")) >= n;
  }, { timeout: 90_000, every: 500 });
  try {
    await run("psql", [adminURL, "-XqAc", `CREATE DATABASE ${h.db}`]);
    h.dbCreated = true;

    // The pool image: the test image with the sessiond just built, whose
    // embedded IDE is the one under test.
    const ctx = join(h.dir, "image");
    mkdirSync(ctx);
    copyFileSync(sessiondBin, join(ctx, "sessiond"));
    writeFileSync(join(ctx, "Dockerfile"), `FROM ${baseImage}\nCOPY sessiond /usr/local/bin/sessiond\n`);
    await run("docker", ["build", "-q", "-t", h.image, ctx], { timeout: 120_000 });
    h.imageBuilt = true;

    const port = await freePort();
    h.url = `http://127.0.0.1:${port}`;
    h.env = {
      ...process.env,
      DATABASE_URL: h.databaseURL,
      GATEWAVE_ADMIN_TOKEN: randomBytes(24).toString("hex"),
      GATEWAVE_DATA_DIR: h.dataDir,
      GATEWAVE_LISTEN: `127.0.0.1:${port}`,
    };
    if (objectStore) {
      const s3 = await objectStoreURL();
      if (!s3.url) throw new Error(`the object store: ${s3.problem}`);
      h.env.GATEWAVE_S3_URL = s3.url;
    }
    await run(cloudBin, ["migrate"], { env: h.env, timeout: 60_000 });
    await new Promise((res, rej) => {
      const p = execFile(cloudBin, ["user", "add", user], { env: h.env, timeout: 60_000 }, (err, _o, stderr) => (err ? rej(new Error(`cloud user add: ${err.message}\n${stderr}`)) : res()));
      p.stdin.end(h.password + "\n");
    });
    const node = `node-${tag}`;
    const { stdout: nodeToken } = await run(cloudBin, ["node", "add", node], { env: h.env, timeout: 60_000 });

    h.cloud = child("cloud", cloudBin, ["serve", "--idle-timeout", "1h"], h.env);
    h.procs.push(h.cloud);
    await waitUntil("the cloud to serve", async () => {
      if (h.cloud.proc.exitCode !== null) throw new Error(`cloud exited:\n${h.cloud.log()}`);
      return (await fetch(h.url + "/healthz")).ok;
    }, { timeout: 30_000, every: 100 });

    h.nodegw = child("nodegw", nodegwBin, [
      "--cloud", h.url, "--name", node, "--image", h.image, "--pool-name", h.poolName, "--state-dir", h.stateDir,
      "--standard-count", String(pool), "--standard-cpus", "0.5", "--standard-memory-mib", "512", "--standard-disk-mib", "512",
      "--oversubscribe", "-1", "--shutdown-pool",
    ], { ...h.env, NODEGW_TOKEN: nodeToken.trim(), GATEWAVE_ADMIN_TOKEN: "", DATABASE_URL: "", GATEWAVE_S3_URL: "" });
    h.procs.push(h.nodegw);
    await h.waitIdle(pool);
  } catch (err) {
    const logs = h.procs.map((p) => `--- ${p.name}\n${p.log().slice(-4000)}`).join("\n");
    await stopCloud(h).catch((e) => console.error("cleanup:", e));
    throw new Error(`${err.message}\n${logs}`);
  }
  return h;
}

/** sessionRow reads a session's row: its state and the container it runs in. */
export async function sessionRow(h, id) {
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(id)) throw new Error(`not a session id: ${JSON.stringify(id)}`);
  const out = await h.sql(`SELECT state || '|' || coalesce(container_id, '') || '|' || coalesce(detail, '') FROM sessions WHERE id = '${id}'`);
  const [state, container, detail] = out.split("|");
  return { state, container, detail };
}

/**
 * stopCloud stops nodegw first and waits for it (--shutdown-pool saves
 * every open workspace while the cloud still takes the saves, then removes
 * the pool), then the cloud; then it removes whatever of the pool is left,
 * the image, the database and the temporary directory. It throws, after
 * cleaning up, when a process would not stop or containers were left.
 */
async function stopCloud(h) {
  const problems = [];
  const t0 = Date.now();
  if (h.nodegw) await h.nodegw.stop(90_000).catch((e) => problems.push(e.message));
  const t1 = Date.now();
  if (h.cloud) await h.cloud.stop(15_000).catch((e) => problems.push(e.message));
  if (process.env.GATEWAVE_E2E_VERBOSE) console.error(`stop: nodegw ${t1 - t0} ms, cloud ${Date.now() - t1} ms\n--- nodegw\n${h.nodegw?.log().slice(-6000)}`);
  if (h.poolName) {
    const { stdout } = await run("docker", ["ps", "-aq", "--filter", `label=dev.gatewave.pool=${h.poolName}`]).catch(() => ({ stdout: "" }));
    const left = stdout.split("\n").filter(Boolean);
    if (left.length) {
      problems.push(`nodegw --shutdown-pool left containers ${left.join(" ")}`);
      await run("docker", ["rm", "-f", "-v", ...left]).catch((e) => problems.push(`docker rm: ${e.message}`));
    }
  }
  if (h.imageBuilt) await run("docker", ["rmi", "-f", h.image]).catch((e) => problems.push(`docker rmi: ${e.message}`));
  if (h.dbCreated) await run("psql", [adminURL, "-XqAc", `DROP DATABASE IF EXISTS ${h.db} WITH (FORCE)`]).catch((e) => problems.push(`drop database: ${e.message}`));
  // The node's disks are loop-mounted under its state dir: nodegw unmounts
  // them when it removes the pool; never delete through a live mount.
  const { stdout: mounts } = await run("sh", ["-c", "cat /proc/self/mounts"]).catch(() => ({ stdout: "" }));
  if (h.dir && !mounts.includes(h.dir + "/")) rmSync(h.dir, { recursive: true, force: true });
  else if (h.dir) problems.push(`mounts left under ${h.dir}`);
  if (problems.length) throw new Error("cloud e2e cleanup: " + problems.join("; "));
}

/**
 * addUser adds another user (random password) with their repo, as `cloud
 * user add` does for the test's first one; it returns {user, password}.
 */
export async function addUser(h, user) {
  const password = randomBytes(12).toString("hex");
  await new Promise((res, rej) => {
    const p = execFile(cloudBin, ["user", "add", user], { env: h.env, timeout: 60_000 }, (err, _o, stderr) => (err ? rej(new Error(`cloud user add ${user}: ${err.message}\n${stderr}`)) : res()));
    p.stdin.end(password + "\n");
  });
  return { user, password };
}

/**
 * pushFiles commits files ({path: string | Buffer}) to the user's repo on
 * the cloud's git host (a clone, a commit, a push of HEAD) over smart HTTP
 * with the user's password, as a user's own git would. A session started
 * afterwards is cloned from it, so the files are in its workspace. The
 * password goes in an Authorization header, never in the remote URL.
 */
export async function pushFiles(h, files, { user = h.user, password = h.password, message = "e2e fixtures" } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "gwe2e-push-"));
  const auth = `http.extraHeader=Authorization: Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  const git = (...args) => run("git", ["-c", auth, "-c", "user.name=e2e", "-c", "user.email=e2e@localhost", "-C", dir, ...args], { timeout: 60_000 });
  try {
    await git("clone", "-q", `${h.url}/git/${user}.git`, ".");
    for (const [path, content] of Object.entries(files)) {
      const full = join(dir, path);
      if (!full.startsWith(dir + "/")) throw new Error(`pushFiles: ${path} is outside the repo`);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
    await git("add", "-A", "--", ".");
    await git("commit", "-q", "-m", message);
    await git("push", "-q", "origin", "HEAD");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * signIn signs a user in through the real sign-in form on page, and checks
 * with GET /api/v1/me that the cookie took.
 */
export async function signIn(h, page, { user = h.user, password = h.password } = {}) {
  await page.goto(h.url + "/signin");
  await page.fill("#name", user);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/signin"), { timeout: 30_000 }), page.click("button[type=submit]")]);
  const me = await page.request.get(h.url + "/api/v1/me", { headers: { Accept: "application/json" } });
  if (!me.ok()) throw new Error(`sign-in as ${user} did not take: GET /api/v1/me ${me.status()} ${await me.text()}`);
  return me.json();
}

/**
 * startSessionAPI starts (or finds) the signed-in user's session through
 * the JSON API, POST /api/v1/sessions with the CSRF token GET /api/v1/me
 * tells, and polls GET /api/v1/sessions/{id} until it is ready; it returns
 * the session ({id, state, url, ...}). The page's cookies are used.
 */
export async function startSessionAPI(h, page, { timeout = 90_000 } = {}) {
  const headers = { Accept: "application/json" };
  const me = await (await page.request.get(h.url + "/api/v1/me", { headers })).json();
  const r = await page.request.post(h.url + "/api/v1/sessions", { headers: { ...headers, "X-CSRF-Token": me.csrf_token } });
  if (r.status() !== 201 && r.status() !== 202 && r.status() !== 200) throw new Error(`POST /api/v1/sessions: ${r.status()} ${await r.text()}`);
  let se = await r.json();
  if (se.state !== "ready") {
    se = await waitUntil(`session ${se.id} to be ready`, async () => {
      const s = await (await page.request.get(`${h.url}/api/v1/sessions/${se.id}`, { headers })).json();
      if (s.state === "ended" || s.state === "failed") throw new Error(`session ${se.id} is ${s.state}: ${s.detail ?? ""}`);
      return s.state === "ready" ? s : null;
    }, { timeout, every: 250 });
  }
  return se;
}

/**
 * openCloudIDE is harness.mjs's openIDE through the cloud: on a new page of
 * browser (harness.mjs launch()), it signs the user in through the sign-in
 * form, first pushes `files` ({path: string | Buffer}, see pushFiles) to the
 * user's repo when given, starts the session through the JSON API, opens
 * the IDE at /s/{id}/ and waits for body[data-ready=true]. It resolves to
 *   {page, id, session, sessionURL, errors, api, readFile, writeFile}
 * where errors collects the page's uncaught errors, api(path, init) is the
 * page's own fetch of a relative URL ("api/v1/...") through the tunnel
 * (resolving to {status, text}), and readFile/writeFile read and write a
 * workspace file through the files API the same way (for files that must
 * not be in the repo, such as .gitignore'd ones, or big ones).
 * user/password default to startCloud's user.
 */
export async function openCloudIDE(h, browser, { user = h.user, password = h.password, files, initScript } = {}) {
  const context = browser.context ?? browser;
  if (files && Object.keys(files).length) await pushFiles(h, files, { user, password });
  if (initScript) await context.addInitScript({ content: initScript });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await signIn(h, page, { user, password });
  const session = await startSessionAPI(h, page);
  const sessionURL = h.url + session.url;
  await page.goto(sessionURL);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
  const api = (path, init = {}) => page.evaluate(async ([p, i]) => {
    const r = await fetch(p, { cache: "no-store", ...i });
    return { status: r.status, text: await r.text() };
  }, [path, init]);
  return {
    page, id: session.id, session, sessionURL, errors, api,
    readFile: (path) => api("api/v1/file?path=" + encodeURIComponent(path)),
    /** writeFile PUTs text (a string) to path, making its directories. */
    async writeFile(path, text) {
      const r = await api(`api/v1/file?path=${encodeURIComponent(path)}&mkdirs=true`, { method: "PUT", body: text });
      if (r.status >= 300) throw new Error(`PUT ${path}: ${r.status} ${r.text}`);
      return r;
    },
  };
}
