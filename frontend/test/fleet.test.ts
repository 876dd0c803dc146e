import { describe, expect, it } from "vitest";
import { defaultForm, formSpec } from "../src/ui/fleet";
import { artifactPath, FleetAPI, formatDuration, joinCommand, needsCloud, parseArtifacts, splitCommand, stateLine, timings } from "../src/ui/fleetapi";

describe("splitCommand", () => {
  it("splits words as a shell would, without expanding anything", () => {
    expect(splitCommand("make BUILD=/out")).toEqual(["make", "BUILD=/out"]);
    expect(splitCommand('  sh -c "iverilog -o /tmp/tb blinky_tb.v blinky.v && vvp /tmp/tb"  ')).toEqual(["sh", "-c", "iverilog -o /tmp/tb blinky_tb.v blinky.v && vvp /tmp/tb"]);
    expect(splitCommand(`echo 'a "b"' "it's" a\\ b "\\"q\\" \\$HOME \\n"`)).toEqual(["echo", 'a "b"', "it's", "a b", '"q" $HOME \\n']);
    expect(splitCommand(`x '' ""`)).toEqual(["x", "", ""]);
    expect(splitCommand("echo $HOME *.v")).toEqual(["echo", "$HOME", "*.v"]);
    expect(splitCommand("")).toEqual([]);
  });
  it("refuses an unterminated quote", () => {
    expect(() => splitCommand("sh -c 'echo")).toThrow(/unterminated ' quote/);
    expect(() => splitCommand('sh -c "echo')).toThrow(/unterminated " quote/);
  });
  it("reads back what joinCommand shows", () => {
    for (const argv of [["make", "BUILD=/out"], ["sh", "-c", "cat /code/a > /out/top.bin && echo built it"], ["echo", "it's", "", "a\"b"]]) {
      expect(splitCommand(joinCommand(argv))).toEqual(argv);
    }
    expect(joinCommand(["sh", "-c", "echo hi"])).toBe("sh -c 'echo hi'");
  });
});

describe("helpers", () => {
  it("reads artifact lists", () => {
    expect(parseArtifacts(" top.bin, build/report.json  top.bin\nx")).toEqual(["top.bin", "build/report.json", "x"]);
    expect(parseArtifacts("  ")).toEqual([]);
  });
  it("escapes artifact paths segment by segment", () => {
    expect(artifactPath(7, "build/a b#1.bin")).toBe("/api/v1/tasks/7/artifacts/build/a%20b%231.bin");
  });
  it("says durations and timings in words", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(12_400)).toBe("12 s");
    expect(formatDuration(184_000)).toBe("3 min 04 s");
    expect(formatDuration(3_720_000)).toBe("1 h 02 min");
    expect(formatDuration(-1)).toBe("–");
    const t = { state: "succeeded", created_at: "2026-12-03T10:00:00Z", running_at: "2026-12-03T10:00:02Z", finished_at: "2026-12-03T10:00:07Z" };
    expect(timings(t)).toBe("waited 2 s · ran 5 s");
    expect(timings({ ...t, state: "running", finished_at: null }, Date.parse("2026-12-03T10:00:12Z"))).toBe("waited 2 s · running for 10 s");
    expect(timings({ ...t, state: "queued", running_at: null, finished_at: null }, Date.parse("2026-12-03T10:00:03Z"))).toBe("queued for 3 s");
    expect(timings({ ...t, state: "cancelled", running_at: null })).toBe("ended after 7 s");
  });
  it("says the state with its queue place, exit code and attempt", () => {
    expect(stateLine({ state: "queued", position: 1, attempt: 1 })).toBe("queued (next)");
    expect(stateLine({ state: "queued", position: 2, attempt: 1 })).toBe("queued (2nd in line)");
    expect(stateLine({ state: "queued", position: 12, attempt: 1 })).toBe("queued (12th in line)");
    expect(stateLine({ state: "failed", exit_code: 3, attempt: 2 })).toBe("failed, exit 3 · attempt 2");
    expect(stateLine({ state: "succeeded", exit_code: 0, attempt: 1 })).toBe("succeeded, exit 0");
  });
});

describe("formSpec", () => {
  it("builds the spec the cloud takes", () => {
    const { spec, problem } = formSpec({ ...defaultForm, command: `sh -c "cat /code/n.txt > /out/top.bin"`, artifacts: "top.bin", cpus: 0.5, memoryMiB: 256, timeoutMin: 2, dockerfile: "./.gatewave/fleet/Dockerfile" }, "s_abc");
    expect(problem).toBeUndefined();
    expect(spec).toEqual({
      save_session: "s_abc", dockerfile_path: ".gatewave/fleet/Dockerfile", command: ["sh", "-c", "cat /code/n.txt > /out/top.bin"],
      resources: { cpus: 0.5, memory_bytes: 256 << 20 }, timeout_seconds: 120, artifacts: ["top.bin"],
    });
  });
  it("says what is wrong", () => {
    expect(formSpec({ ...defaultForm, command: " " }, "s").problem).toMatch(/^Command: say what to run/);
    expect(formSpec({ ...defaultForm, command: "sh -c 'x" }, "s").problem).toMatch(/unterminated/);
    expect(formSpec({ ...defaultForm, dockerfile: "" }, "s").problem).toMatch(/^Dockerfile/);
    expect(formSpec({ ...defaultForm, cpus: 0 }, "s").problem).toMatch(/^CPUs/);
    expect(formSpec({ ...defaultForm, memoryMiB: Number.NaN }, "s").problem).toMatch(/^Memory/);
    expect(formSpec({ ...defaultForm, timeoutMin: -1 }, "s").problem).toMatch(/^Timeout/);
  });
});

describe("FleetAPI", () => {
  const answer = (status: number, body: unknown, type = "application/json") =>
    new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "Content-Type": type } });

  it("is not available outside the cloud, without asking anything", async () => {
    const calls: string[] = [];
    const api = new FleetAPI("http://127.0.0.1:7420/", async (u) => (calls.push(String(u)), answer(200, {})));
    expect(api.session).toBeNull();
    expect(await api.available()).toMatch(new RegExp(`^${needsCloud}: this IDE runs on sessiond alone or in the desktop app`));
    expect(calls).toEqual([]);
  });

  it("says so when /api/v1/me is missing, answers the page, or wants a sign-in", async () => {
    expect(await new FleetAPI("http://h/s/abc123/", async () => answer(404, { error: { code: "not_found", message: "no route" } })).available()).toMatch(/needs the Gatewave cloud: this server has no cloud API/);
    expect(await new FleetAPI("http://h/s/abc123/", async () => answer(200, "<!doctype html>", "text/html")).available()).toMatch(/no cloud API/);
    expect(await new FleetAPI("http://h/s/abc123/", async () => answer(401, { error: { code: "unauthorized", message: "sign in first" } })).available()).toMatch(/sign in to the cloud again \(sign in first\)/);
  });

  it("sends the CSRF token with POSTs, to the origin's /api/v1, and turns error bodies into messages", async () => {
    const seen: { url: string; method: string; headers: Record<string, string>; body?: string }[] = [];
    const api = new FleetAPI("http://h:8480/s/abc123/", async (u, init) => {
      seen.push({ url: String(u), method: init?.method ?? "GET", headers: init?.headers as Record<string, string>, body: init?.body as string | undefined });
      if (String(u).endsWith("/api/v1/me")) return answer(200, { user: { name: "ada" }, csrf_token: "tok" });
      return answer(400, { error: { code: "bad_request", message: "dockerfile_path \"x\": no such file in ada.git at 0123456789ab" } });
    });
    expect(await api.available()).toBeNull();
    await expect(api.submit({ save_session: "abc123", dockerfile_path: "x", command: ["true"], resources: { cpus: 1, memory_bytes: 1 << 20 }, timeout_seconds: 60, artifacts: [] }))
      .rejects.toThrow(/^dockerfile_path "x": no such file in ada.git/);
    const post = seen.find((s) => s.method === "POST")!;
    expect(post.url).toBe("http://h:8480/api/v1/tasks");
    expect(post.headers["X-CSRF-Token"]).toBe("tok");
    expect(post.headers["Content-Type"]).toBe("application/json");
    expect(JSON.parse(post.body!).save_session).toBe("abc123");
    expect(seen.filter((s) => s.url.endsWith("/api/v1/me")).length).toBe(1);
  });
});
