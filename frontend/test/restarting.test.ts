import { describe, expect, it } from "vitest";
import { classify, sessionIDOf } from "../src/ui/restarting";

describe("sessionIDOf", () => {
  it("finds the session only under the cloud's tunnel", () => {
    expect(sessionIDOf("http://127.0.0.1:8480/s/s_Ab-9_x/")).toBe("s_Ab-9_x");
    expect(sessionIDOf("http://127.0.0.1:7420/")).toBeNull(); // sessiond alone, the desktop app
    expect(sessionIDOf("http://h/s/abc/api/v1/")).toBeNull();
    expect(sessionIDOf("http://h/x/s/abc/")).toBeNull();
    expect(sessionIDOf("http://h/s/a%2fb/")).toBeNull();
    expect(sessionIDOf("not a url")).toBeNull();
  });
});

describe("classify", () => {
  it("reads the tunnel's answers", () => {
    expect(classify(200, "")).toBe("up");
    for (const code of ["restarting", "queued", "starting", "reconnecting"]) expect(classify(503, code)).toBe("waiting");
    expect(classify(503, "busy")).toBe("unreachable"); // not a session state
    expect(classify(502, "tunnel")).toBe("waiting"); // the container does not answer
    expect(classify(502, "bad_gateway")).toBe("unreachable"); // sessiond's own 502s are not the tunnel's
    expect(classify(0, "network")).toBe("unreachable");
    expect(classify(503, "ended")).toBe("ended");
    expect(classify(401, "unauthorized")).toBe("signed_out");
  });
});
