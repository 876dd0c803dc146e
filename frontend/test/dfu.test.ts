import { describe, expect, it } from "vitest";
import { Dfu, DfuError, findTargets, parseFunctionalDescriptor } from "../src/dfu/dfu";
import { flashWebUSB } from "../src/dfu/flash";
import { Attr, State, Status } from "../src/dfu/protocol";
import { DfuSimulator, type SimulatorOptions } from "../src/dfu/simulator";

function image(n: number, seed = 7): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

async function openSim(opts: SimulatorOptions = {}) {
  const sim = new DfuSimulator(opts);
  const dfu = new Dfu(sim as unknown as USBDevice, findTargets(sim as unknown as USBDevice)[0]);
  await dfu.open();
  return { sim, dfu };
}

describe("DFU functional descriptor", () => {
  it("is read from the configuration descriptor", async () => {
    const { dfu } = await openSim({ transferSize: 300, manifestationTolerant: true });
    expect(dfu.descriptor).toEqual({ attributes: Attr.canDnload | Attr.manifestationTolerant, detachTimeout: 1000, transferSize: 300, dfuVersion: 0x0110 });
  });

  it("is not confused by descriptors of other interfaces", () => {
    const other = [9, 4, 1, 0, 0, 0xff, 0, 0, 0, 9, 0x21, 0xff, 0, 0, 0x40, 0, 0x10, 0x01];
    const dfu = [9, 4, 0, 0, 0, 0xfe, 1, 2, 0, 9, 0x21, 0x01, 0, 0, 0x00, 0x02, 0x10, 0x01];
    const blob = Uint8Array.from([9, 2, 45, 0, 2, 1, 0, 0x80, 50, ...other, ...dfu]);
    expect(parseFunctionalDescriptor(new DataView(blob.buffer), 0)?.transferSize).toBe(512);
    expect(parseFunctionalDescriptor(new DataView(blob.buffer), 3)).toBeNull();
  });
});

describe("DFU download", () => {
  const cases: { name: string; size: number; opts: SimulatorOptions; reset: boolean }[] = [
    { name: "tolerant device returns to dfuIDLE", size: 1000, opts: { manifestationTolerant: true }, reset: false },
    { name: "non-tolerant device is reset by the host", size: 1000, opts: {}, reset: true },
    { name: "device that resets itself after manifestation", size: 700, opts: { resetsAfterManifest: true }, reset: true },
    { name: "exact multiple of wTransferSize", size: 1024, opts: { transferSize: 256, manifestationTolerant: true }, reset: false },
    { name: "image smaller than one block", size: 10, opts: { transferSize: 4096, manifestationTolerant: true }, reset: false },
    { name: "several busy polls per block", size: 600, opts: { busyPolls: 3, pollTimeoutMs: 3, manifestationTolerant: true }, reset: false },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { sim, dfu } = await openSim(c.opts);
      const img = image(c.size);
      const seen: number[] = [];
      const r = await dfu.download(img, { progress: (sent) => seen.push(sent) });
      expect(r.reset).toBe(c.reset);
      expect(sim.manifested).toEqual(img);
      expect(sim.earlyPolls).toBe(0);
      const ts = c.opts.transferSize ?? 256;
      expect(r.blocks).toBe(Math.ceil(c.size / ts));
      expect(sim.blocks).toEqual([...Array(r.blocks).keys()]);
      // DNLOAD blocks are exactly wTransferSize except the last.
      const sizes = sim.log.filter((l) => l.startsWith("DNLOAD")).map((l) => Number(/, (\d+)\)/.exec(l)![1]));
      expect(sizes.slice(0, -2).every((s) => s === ts)).toBe(true);
      expect(sizes.at(-1)).toBe(0);
      expect(seen.at(-1)).toBe(c.size);
      if (!c.opts.resetsAfterManifest) expect(sim.resets).toBe(c.reset ? 1 : 0);
    });
  }

  it("honours bwPollTimeout before polling again", async () => {
    const { sim, dfu } = await openSim({ pollTimeoutMs: 40, manifestationTolerant: true, transferSize: 64 });
    const t0 = performance.now();
    await dfu.download(image(128));
    // two blocks each busy for 40 ms, plus manifestation
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * 40 - 2);
    expect(sim.earlyPolls).toBe(0);
    expect(sim.state).toBe(State.dfuIDLE);
  });

  it("a driver that ignores bwPollTimeout is caught by the simulator", async () => {
    const { sim, dfu } = await openSim({ pollTimeoutMs: 200 });
    const err = await dfu.download(image(100), { sleep: async () => {} }).catch((e) => e);
    expect(err).toBeInstanceOf(DfuError);
    expect(sim.earlyPolls).toBeGreaterThan(0);
    expect(sim.state).toBe(State.dfuERROR);
    expect(sim.status).toBe(Status.errSTALLEDPKT);
  });

  it("reports the device's DFU status when a write fails", async () => {
    const { sim, dfu } = await openSim({ failAtBlock: 2, failStatus: Status.errWRITE });
    const err = (await dfu.download(image(2000)).catch((e) => e)) as DfuError;
    expect(err).toBeInstanceOf(DfuError);
    expect(err.status).toBe(Status.errWRITE);
    expect(err.state).toBe(State.dfuERROR);
    expect(err.message).toMatch(/errWRITE/);
    expect(sim.manifested).toBeNull();
  });

  it("reports errADDRESS when the image exceeds the device", async () => {
    const { dfu } = await openSim({ capacity: 500 });
    const err = (await dfu.download(image(1000)).catch((e) => e)) as DfuError;
    expect(err.status).toBe(Status.errADDRESS);
  });

  it("reports a failed manifestation", async () => {
    const { dfu } = await openSim({ manifestationTolerant: true, manifestFailStatus: Status.errVERIFY });
    const err = (await dfu.download(image(300)).catch((e) => e)) as DfuError;
    expect(err.message).toMatch(/Manifestation failed: errVERIFY/);
  });

  it("recovers from dfuERROR with CLRSTATUS before downloading", async () => {
    const { sim, dfu } = await openSim({ initialState: State.dfuERROR, initialStatus: Status.errPROG, manifestationTolerant: true });
    const img = image(400);
    await dfu.download(img);
    expect(sim.log.slice(0, 2)).toEqual(["GETSTATUS", "CLRSTATUS"]);
    expect(sim.manifested).toEqual(img);
  });

  it("recovers a download left half-done with ABORT", async () => {
    const { sim, dfu } = await openSim({ initialState: State.dfuDNLOAD_IDLE, manifestationTolerant: true });
    await dfu.download(image(300));
    expect(sim.log.slice(0, 2)).toEqual(["GETSTATUS", "ABORT"]);
    expect(sim.manifested?.byteLength).toBe(300);
  });

  it("a second download after an error succeeds (retry path)", async () => {
    const { sim, dfu } = await openSim({ failAtBlock: 1, manifestationTolerant: true });
    await expect(dfu.download(image(600))).rejects.toThrow(/errWRITE/);
    (sim as unknown as { o: SimulatorOptions }).o.failAtBlock = undefined;
    const img = image(600, 3);
    await dfu.download(img);
    expect(sim.manifested).toEqual(img);
  });

  it("stalls on a zero-length first DNLOAD and the driver clears it", async () => {
    const { sim, dfu } = await openSim({ manifestationTolerant: true });
    expect((await sim.controlTransferOut({ requestType: "class", recipient: "interface", request: 1, value: 0, index: 0 }, new Uint8Array(0))).status).toBe("stall");
    expect(sim.state).toBe(State.dfuERROR);
    await dfu.download(image(50));
    expect(sim.manifested?.byteLength).toBe(50);
  });

  it("refuses devices that cannot download", async () => {
    const { dfu } = await openSim({ canDownload: false });
    await expect(dfu.download(image(10))).rejects.toThrow(/bitCanDnload/);
  });

  it("cancels between blocks and leaves the device idle", async () => {
    const { sim, dfu } = await openSim({ transferSize: 64, pollTimeoutMs: 2 });
    const ac = new AbortController();
    const err = await dfu.download(image(64 * 50), {
      signal: ac.signal,
      progress: (sent) => {
        if (sent >= 64 * 3) ac.abort();
      },
    }).catch((e) => e);
    expect(err.name).toBe("AbortError");
    expect(sim.state).toBe(State.dfuIDLE);
    expect(sim.manifested).toBeNull();
    expect(sim.log).toContain("ABORT");
  });

  it("refuses a device in run-time mode with a clear message", async () => {
    const { dfu } = await openSim({ initialState: State.appIDLE });
    await expect(dfu.download(image(10))).rejects.toThrow(/run-time mode/);
  });
});

describe("flashWebUSB", () => {
  it("explains a browser without WebUSB", async () => {
    await expect(flashWebUSB(image(1), { usb: null })).rejects.toThrow(/no WebUSB/);
  });

  it("explains that no device was chosen", async () => {
    const usb = { requestDevice: async () => { const e = new Error("No device selected."); e.name = "NotFoundError"; throw e; } };
    await expect(flashWebUSB(image(1), { usb })).rejects.toThrow(/No device was chosen/);
  });

  it("flashes the chosen device end to end", async () => {
    const sim = new DfuSimulator({ transferSize: 512 });
    const filters: unknown[] = [];
    const usb = { requestDevice: async (o: USBDeviceRequestOptions) => (filters.push(...o.filters), sim as unknown as USBDevice) };
    const img = image(5000);
    const r = await flashWebUSB(img, { usb });
    expect(filters).toEqual([{ classCode: 0xfe, subclassCode: 0x01 }]);
    expect(r.bytes).toBe(5000);
    expect(sim.manifested).toEqual(img);
    expect(sim.opened).toBe(false);
  });
});
