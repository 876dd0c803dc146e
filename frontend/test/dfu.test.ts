import { describe, expect, it } from "vitest";
import { Dfu, DfuError, explain, findTargets, parseFunctionalDescriptor } from "../src/dfu/dfu";
import { chooseAlt, DFU_FILTERS, type DfuFlashOptions, flashDfu, flashWebUSB } from "../src/dfu/flash";
import { addSuffix, checkImage, dfuCrc, parseSuffix } from "../src/dfu/suffix";
import { VirtualClock } from "../src/flash/sim/clock";
import { FakeUSB, inResult, outResult } from "../src/flash/sim/usb";
import { FlashError, type FlashProgress } from "../src/flash/types";
import { Attr, State, Status } from "../src/dfu/protocol";
import { dfuseRegion, DfuSimulator, type SimulatorOptions } from "../src/dfu/simulator";

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
    expect(err.message).toMatch(/^The device could not install the image \(manifestation failed: errVERIFY .*\): flash again/);
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
    expect(err).toBeInstanceOf(FlashError);
    expect(err.code).toBe("cancelled");
    expect(err.message).toBe("The flash was cancelled after 192 of 3200 bytes: the device is idle in DFU mode with an incomplete image. Click Flash to write it again before you use the board.");
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

// --- flashDfu: detach, DfuSe, .dfu suffix, alternates, timeouts, unplug, verify, cancel ---

async function onBus<S extends DfuSimulator = DfuSimulator>(opts: SimulatorOptions, make?: (o: SimulatorOptions) => S) {
  const clock = new VirtualClock();
  const usb = new FakeUSB();
  const o = { clock, usb, ...opts };
  const sim = make ? make(o) : (new DfuSimulator(o) as S);
  usb.plug(sim);
  const device = await usb.requestDevice({ filters: DFU_FILTERS });
  const phases: FlashProgress[] = [];
  const base: DfuFlashOptions = { usb, clock, progress: (p) => phases.push(p) };
  return { clock, usb, sim, device, phases, base };
}

async function flashErr(p: Promise<unknown>): Promise<FlashError> {
  const err = await p.then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(FlashError);
  return err as FlashError;
}

function dnloads(sim: DfuSimulator): number {
  return sim.log.filter((l) => l.startsWith("DNLOAD")).length;
}

describe("DfuError", () => {
  it("is a FlashError with a code", async () => {
    const { dfu } = await openSim({ failAtBlock: 0 });
    const err = await dfu.download(image(100)).catch((e) => e);
    expect(err).toBeInstanceOf(FlashError);
    expect(err).toBeInstanceOf(DfuError);
    expect(err.code).toBe("device_error");
  });
});

describe(".dfu suffix", () => {
  it("uses the spec's CRC-32 (initial 0xFFFFFFFF, no final XOR)", () => {
    // zlib's CRC-32 of "123456789" is 0xCBF43926; without the final XOR it is its complement.
    expect(dfuCrc(new TextEncoder().encode("123456789"))).toBe(~0xcbf43926 >>> 0);
  });

  it("is parsed and stripped; 0xFFFF matches any id", () => {
    const img = image(300);
    const file = addSuffix(img, { idVendor: 0x1209, idProduct: 0x5af0, bcdDevice: 0x0102 });
    expect(file.length).toBe(316);
    expect(Array.from(file.subarray(308, 312))).toEqual([0x55, 0x46, 0x44, 16]);
    const s = parseSuffix(file)!;
    expect(s).toMatchObject({ idVendor: 0x1209, idProduct: 0x5af0, bcdDevice: 0x0102, bcdDFU: 0x0100, length: 16 });
    expect(s.crc).toBe(s.computedCrc);
    expect(checkImage(file, [{ vendorId: 0x1209, productId: 0x5af0 }]).payload).toEqual(img);
    expect(checkImage(addSuffix(img), [{ vendorId: 1, productId: 2 }]).payload).toEqual(img);
    expect(parseSuffix(img)).toBeNull();
    expect(checkImage(img).suffix).toBeNull();
  });

  it("a good file flashes without its suffix", async () => {
    const { sim, device, base } = await onBus({ manifestationTolerant: true });
    const img = image(1000);
    const r = await flashDfu(device, addSuffix(img, { idVendor: 0x1209, idProduct: 0x5af0 }), base);
    expect(sim.manifested).toEqual(img);
    expect(r.bytes).toBe(1000);
    expect(r.summary).toMatch(/suffix checked/);
  });

  it("a bad CRC is refused before the device is touched", async () => {
    const { sim, device, base } = await onBus({ manifestationTolerant: true });
    const file = addSuffix(image(1000), { idVendor: 0x1209, idProduct: 0x5af0 });
    file[10] ^= 0x40;
    const err = await flashErr(flashDfu(device, file, base));
    expect(err.code).toBe("bad_image");
    expect(err.message).toMatch(/damaged.*CRC/);
    expect(sim.log).toEqual([]);
  });

  it("a file for another device is refused, naming both ids", async () => {
    const { sim, device, base } = await onBus({ manifestationTolerant: true });
    const err = await flashErr(flashDfu(device, addSuffix(image(100), { idVendor: 0xdead, idProduct: 0xbeef }), base));
    expect(err.code).toBe("wrong_device");
    expect(err.message).toContain("dead:beef");
    expect(err.message).toContain("1209:5af0");
    expect(dnloads(sim)).toBe(0);
  });

  it("a file naming the bootloader's product id fits a device that detached into it", async () => {
    const { sim, usb, device, base } = await onBus({ runtime: true, productId: 0x5af1, dfuProductId: 0x5af0, manifestationTolerant: true });
    // The bootloader keeps the grant here (the test grants it by hand, as a user choosing it again would).
    const img = image(500);
    const p = flashDfu(device, addSuffix(img, { idVendor: 0x1209, idProduct: 0x5af0 }), { ...base, usb: { getDevices: async () => usb.devices() as unknown as USBDevice[] } });
    await p;
    expect(sim.reenumerated!.manifested).toEqual(img);
  });
});

describe("detach from a run-time interface", () => {
  it("detaches, resets, finds the DFU-mode device and downloads", async () => {
    const { sim, device, phases, base, clock } = await onBus({ runtime: true, manifestationTolerant: true, detachTimeoutMs: 800 });
    expect(findTargets(device)[0].runtime).toBe(true);
    const img = image(3000);
    const r = await flashDfu(device, img, base);
    expect(sim.log).toContain("DETACH(800)");
    expect(sim.log).toContain("RESET");
    expect(sim.gone).toBe(true);
    const dfuMode = sim.reenumerated!;
    expect(dfuMode.manifested).toEqual(img);
    expect(dfuMode.earlyPolls).toBe(0);
    expect(r.summary).toMatch(/detached into DFU mode/);
    const order = [...new Set(phases.map((p) => p.phase))];
    expect(order).toEqual(["connecting", "detaching", "writing", "manifesting", "done"]);
    expect(phases.filter((p) => p.phase === "writing").at(-1)).toEqual({ phase: "writing", done: 3000, total: 3000 });
    expect(r.elapsedMs).toBe(clock.now());
  });

  it("does not reset a device with bitWillDetach", async () => {
    const { sim, device, base } = await onBus({ runtime: true, willDetach: true, manifestationTolerant: true });
    await flashDfu(device, image(100), base);
    expect(sim.log).toContain("DETACH(1000)");
    expect(sim.log).not.toContain("RESET");
    expect(sim.reenumerated!.manifested?.length).toBe(100);
  });

  it("asks for a new choice when the bootloader is a new device to the browser", async () => {
    const { sim, device, base } = await onBus({ runtime: true, productId: 0x5af1, dfuProductId: 0x5af0 });
    const err = await flashErr(flashDfu(device, image(100), base));
    expect(err.code).toBe("permission");
    expect(err.message).toMatch(/click Flash again and choose the board in DFU mode/);
    expect(err.message).toContain("1209:5af0");
    expect(sim.reenumerated).not.toBeNull();
    expect(dnloads(sim.reenumerated!)).toBe(0);
  });

  it("gives up at the deadline when the device never comes back where the page can see it", async () => {
    const clock = new VirtualClock();
    const usb = new FakeUSB();
    // No bus for the simulator: it leaves, and its DFU-mode self appears nowhere (as in Chromium, no connect event without a grant).
    const sim = new DfuSimulator({ clock, runtime: true });
    usb.plug(sim);
    const device = await usb.requestDevice({ filters: DFU_FILTERS });
    const err = await flashErr(flashDfu(device, image(100), { usb, clock, reenumerateTimeoutMs: 3000 }));
    expect(err.code).toBe("permission");
    expect(err.message).toMatch(/did not come back in DFU mode.*3 s/);
    expect(clock.now()).toBeGreaterThanOrEqual(3000);
    expect(clock.now()).toBeLessThan(3300);
  });

  it("a reset after wTimeout leaves the application running (appendix A.1)", async () => {
    const clock = new VirtualClock();
    const sim = new DfuSimulator({ clock, runtime: true, detachTimeoutMs: 500 });
    await sim.open();
    await sim.selectConfiguration(1);
    await sim.claimInterface(0);
    const req = { requestType: "class", recipient: "interface", request: 0, value: 500, index: 0 } as const;
    expect((await sim.controlTransferOut(req)).status).toBe("ok");
    expect(sim.state).toBe(State.appDETACH);
    clock.advance(600);
    await sim.reset();
    await Promise.resolve();
    expect(sim.state).toBe(State.appIDLE);
    expect(sim.reenumerated).toBeNull();
  });
});

describe("DfuSe", () => {
  it("is refused with a sentence and nothing is written", async () => {
    const { sim, device, base } = await onBus({ dfuse: true });
    expect(device.vendorId).toBe(0x0483);
    expect(device.productId).toBe(0xdf11);
    expect(findTargets(device).map((t) => t.name)[0]).toBe("@Internal Flash  /0x08000000/064*0002Kg");
    const err = await flashErr(flashDfu(device, image(100), base));
    expect(err.code).toBe("unsupported");
    expect(err.message).toMatch(/DfuSe.*0x011A.*dfu-util -s.*desktop app/);
    expect(dnloads(sim)).toBe(0);
    expect(sim.opened).toBe(false);
  });

  it("a DfuSe .dfu file is refused", () => {
    expect(() => checkImage(addSuffix(image(10), { bcdDFU: 0x011a }))).toThrow(/DfuSe/);
  });
});

describe("alternate setting", () => {
  const alts = ["Bootloader", "iCE40 bitstream", "SPI flash"];

  it("prefers the alternate named for the bitstream", async () => {
    const { sim, device, base } = await onBus({ alts, manifestationTolerant: true });
    const r = await flashDfu(device, image(200), base);
    expect(sim.alt).toBe(1);
    expect(sim.images.get(1)?.length).toBe(200);
    expect(r.device).toMatch(/alt 1 "iCE40 bitstream"/);
  });

  it("takes o.alt when given", async () => {
    const { sim, device, base } = await onBus({ alts, manifestationTolerant: true });
    await flashDfu(device, image(200), { ...base, alt: 2 });
    expect(sim.alt).toBe(2);
    expect(sim.images.get(2)?.length).toBe(200);
  });

  it("falls back to alt 0", async () => {
    const { sim, device, base } = await onBus({ alts: ["one", "two"], manifestationTolerant: true });
    await flashDfu(device, image(200), base);
    expect(sim.images.get(0)?.length).toBe(200);
  });

  it("lists the alternates when o.alt does not exist", async () => {
    const { device, base } = await onBus({ alts });
    const err = await flashErr(flashDfu(device, image(200), { ...base, alt: 5 }));
    expect(err.message).toContain('no DFU alternate setting 5; it offers 0 "Bootloader", 1 "iCE40 bitstream", 2 "SPI flash"');
    expect(chooseAlt(findTargets(device), 0).name).toBe("Bootloader");
  });
});

describe("timeouts and unplugging", () => {
  it("a DNLOAD that never completes times out on the clock", async () => {
    const { sim, device, base, clock } = await onBus({ hang: { request: "DNLOAD", after: 2 } });
    const err = await flashErr(flashDfu(device, image(2000), { ...base, transferTimeoutMs: 4000 }));
    expect(err.code).toBe("timeout");
    expect(err.message).toMatch(/stopped answering during block 2 \(512 of 2000 bytes written\)/);
    expect(err.offset).toBe(512);
    expect(clock.now()).toBeGreaterThanOrEqual(4000);
    expect(dnloads(sim)).toBe(3);
  });

  it("a GETSTATUS that never completes times out", async () => {
    const { device, base } = await onBus({ hang: { request: "GETSTATUS", after: 4 } });
    const err = await flashErr(flashDfu(device, image(2000), base));
    expect(err.code).toBe("timeout");
  });

  it("a hung DETACH times out and releases the run-time interface", async () => {
    const { sim, device, base } = await onBus({ runtime: true, hang: { request: "DETACH" } });
    const err = await flashErr(flashDfu(device, image(20), base));
    expect(err.code).toBe("timeout");
    expect(err.message).toMatch(/DFU_DETACH within 5000 ms/);
    expect(sim.opened).toBe(false);
  });

  it("unplugging mid-download says which block", async () => {
    const { sim, usb, device, base } = await onBus({ transferSize: 256 });
    const err = await flashErr(
      flashDfu(device, image(4096), {
        ...base,
        progress: (p) => {
          if (p.phase === "writing" && p.done >= 1024) usb.unplug(sim);
        },
      }),
    );
    expect(err.code).toBe("unplugged");
    expect(err.message).toMatch(/disconnected during block 4 \(1024 of 4096 bytes written\).*plug it back in/);
    expect(sim.manifested).toBeNull();
  });
});

describe("read-back verify", () => {
  it("uploads what was written and compares equal", async () => {
    const { sim, device, phases, base } = await onBus({ canUpload: true, manifestationTolerant: true, transferSize: 256 });
    const img = image(1000);
    const r = await flashDfu(device, img, base);
    expect(r.verified).toBe(true);
    expect(r.summary).toMatch(/verified/);
    // 1000 = 3 full blocks + a short one: the short frame ends the upload, no ABORT needed.
    expect(sim.log.filter((l) => l.startsWith("UPLOAD"))).toEqual(["UPLOAD(0, 256)", "UPLOAD(1, 256)", "UPLOAD(2, 256)", "UPLOAD(3, 256)"]);
    expect(sim.log.at(-1)).not.toBe("ABORT");
    expect(sim.state).toBe(State.dfuIDLE);
    expect(phases.filter((p) => p.phase === "verifying").at(-1)).toEqual({ phase: "verifying", done: 1000, total: 1000 });
  });

  it("an image of whole blocks ends the upload with ABORT", async () => {
    const { sim, device, base } = await onBus({ canUpload: true, manifestationTolerant: true, transferSize: 256 });
    const r = await flashDfu(device, image(512), base);
    expect(r.verified).toBe(true);
    expect(sim.log.slice(-1)).toEqual(["ABORT"]);
    expect(sim.state).toBe(State.dfuIDLE);
  });

  it("reports the first differing offset", async () => {
    const { device, base } = await onBus({ canUpload: true, manifestationTolerant: true, corruptAt: 777 });
    const err = await flashErr(flashDfu(device, image(1000), base));
    expect(err.code).toBe("verify_mismatch");
    expect(err.offset).toBe(777);
    expect(err.message).toMatch(/offset 777/);
  });

  it("the upload state machine answers short final blocks (DFU 1.1 §6.2)", async () => {
    const { dfu, sim } = await openSim({ canUpload: true, manifestationTolerant: true, transferSize: 64 });
    await dfu.download(image(100));
    const back = await dfu.upload(1 << 20);
    expect(back).toEqual(image(100));
    expect(sim.state).toBe(State.dfuIDLE);
  });

  it("is skipped when the device resets after manifestation, and said so", async () => {
    const { device, base } = await onBus({ canUpload: true });
    const r = await flashDfu(device, image(300), { ...base, verify: true });
    expect(r.verified).toBe(false);
    expect(r.summary).toMatch(/not read back \(the device restarted/);
  });

  it("is skipped with verify: false", async () => {
    const { sim, device, base } = await onBus({ canUpload: true, manifestationTolerant: true });
    const r = await flashDfu(device, image(300), { ...base, verify: false });
    expect(r.verified).toBe(false);
    expect(sim.log.some((l) => l.startsWith("UPLOAD"))).toBe(false);
  });
});

describe("flashDfu cancel and timing", () => {
  it("cancels between blocks with a FlashError and leaves the device idle", async () => {
    const { sim, device, base } = await onBus({ transferSize: 64 });
    const ac = new AbortController();
    const err = await flashErr(
      flashDfu(device, image(64 * 40), {
        ...base,
        signal: ac.signal,
        progress: (p) => {
          if (p.phase === "writing" && p.done >= 64 * 5) ac.abort();
        },
      }),
    );
    expect(err.code).toBe("cancelled");
    expect(err.message).toBe("The flash was cancelled after 320 of 2560 bytes: the device is idle in DFU mode with an incomplete image. Click Flash to write it again before you use the board.");
    expect(sim.state).toBe(State.dfuIDLE);
    expect(sim.manifested).toBeNull();
    expect(sim.log).toContain("ABORT");
    expect(sim.opened).toBe(false);
  });

  it("a signal aborted before the start touches nothing", async () => {
    const { sim, device, base } = await onBus({});
    const ac = new AbortController();
    ac.abort();
    const err = await flashErr(flashDfu(device, image(10), { ...base, signal: ac.signal }));
    expect(err.code).toBe("cancelled");
    expect(err.message).toBe("The flash was cancelled before anything was sent to the board, which is unchanged. Click Flash to start again.");
    expect(sim.log).toEqual([]);
  });

  it("waits bwPollTimeout on the virtual clock, deterministically", async () => {
    const { sim, device, base, clock } = await onBus({ transferSize: 100, pollTimeoutMs: 7, busyPolls: 2, manifestationTolerant: true, manifestPollMs: 30 });
    const r = await flashDfu(device, image(1000), base);
    expect(sim.earlyPolls).toBe(0);
    // 10 blocks, each busy twice for 7 ms, then manifestation's 30 ms.
    expect(r.elapsedMs).toBe(10 * 2 * 7 + 30);
    expect(clock.now()).toBe(r.elapsedMs);
  });
});

describe("more edges", () => {
  it("a DfuSe run-time interface is refused before it is detached", async () => {
    const { sim, device, base } = await onBus({ dfuse: true, runtime: true });
    const err = await flashErr(flashDfu(device, image(100), base));
    expect(err.code).toBe("unsupported");
    expect(sim.log.some((l) => l.startsWith("DETACH"))).toBe(false);
    expect(sim.reenumerated).toBeNull();
  });

  it("a hung UPLOAD times out during verify and names the block", async () => {
    const { device, base } = await onBus({ canUpload: true, manifestationTolerant: true, hang: { request: "UPLOAD", after: 1 } });
    const err = await flashErr(flashDfu(device, image(1000), { ...base, transferTimeoutMs: 2000 }));
    expect(err.code).toBe("timeout");
    expect(err.message).toMatch(/reading back block 1 \(256 of 1000 bytes read\)/);
  });

  it("explain gives a FlashError's sentence", async () => {
    const { device, base } = await onBus({ dfuse: true });
    const err = await flashDfu(device, image(1), base).catch((e) => e);
    expect(explain(err)).toBe(err.message);
  });

  it("a device without DFU interfaces is refused", async () => {
    const { device } = await onBus({});
    const bare = { ...device, configurations: [], productName: "Keyboard" } as unknown as USBDevice;
    const err = await flashErr(flashDfu(bare, image(1)));
    expect(err.code).toBe("no_device");
    expect(err.message).toMatch(/Keyboard has no DFU interface/);
  });
});

describe("after manifestation", () => {
  it("a detached device that is reset after manifestation comes back as the application", async () => {
    const { sim, usb, device, base } = await onBus({ runtime: true, canUpload: true });
    const img = image(700);
    const r = await flashDfu(device, img, base);
    await Promise.resolve();
    const dfuMode = sim.reenumerated!;
    expect(r.summary).toMatch(/device reset/);
    expect(dfuMode.gone).toBe(true);
    const app = dfuMode.application!;
    expect(app.state).toBe(State.appIDLE);
    expect(usb.devices()).toEqual([app]);
    expect(app.images.get(0)).toEqual(img);
    expect(findTargets(app as unknown as USBDevice)[0].runtime).toBe(true);
  });
});

describe("DfuSe simulator (UM0424 commands)", () => {
  const le32 = (a: number) => [a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff, a >>> 24];

  async function dfuseSession() {
    const clock = new VirtualClock();
    const sim = new DfuSimulator({ dfuse: true, clock });
    const dfu = new Dfu(sim as unknown as USBDevice, findTargets(sim as unknown as USBDevice)[0], { clock });
    await dfu.open();
    return { sim, dfu, clock };
  }

  async function block(dfu: Dfu, clock: VirtualClock, n: number, data: number[] | Uint8Array) {
    await dfu.dnload(n, Uint8Array.from(data));
    for (;;) {
      const st = await dfu.getStatus();
      if (st.state !== State.dfuDNBUSY && st.state !== State.dfuDNLOAD_SYNC) return st;
      await clock.sleep(st.pollTimeout);
    }
  }

  it("reads its memory map from the alternate name", () => {
    const r = dfuseRegion("@Internal Flash  /0x08000000/064*0002Kg")!;
    expect(r.base).toBe(0x08000000);
    expect(r.pageSize).toBe(2048);
    expect(r.memory.length).toBe(128 * 1024);
  });

  it("writes at the address pointer after an erase", async () => {
    const { sim, dfu, clock } = await dfuseSession();
    expect(dfu.descriptor).toMatchObject({ dfuVersion: 0x011a, transferSize: 2048, detachTimeout: 255, attributes: 0x0b });
    const data = image(2048);
    expect((await block(dfu, clock, 0, [0x41, ...le32(0x08000800)])).status).toBe(Status.OK);
    expect((await block(dfu, clock, 0, [0x21, ...le32(0x08000800)])).state).toBe(State.dfuDNLOAD_IDLE);
    expect((await block(dfu, clock, 2, data)).status).toBe(Status.OK);
    expect(sim.dfuseMemory!.memory.subarray(0x800, 0x1000)).toEqual(data);
    // Programming it again without an erase fails: flash cells only go from 1 to 0.
    expect((await block(dfu, clock, 2, data)).status).toBe(Status.errPROG);
  });

  it("takes a plain DFU download's first block as a command", async () => {
    const { sim, dfu } = await dfuseSession();
    const err = await dfu.download(image(4096)).catch((e) => e);
    expect(err).toBeInstanceOf(DfuError);
    expect(sim.status).toBe(Status.errSTALLEDPKT);
    expect(sim.dfuseMemory!.memory.every((b) => b === 0xff)).toBe(true);
  });

  it("refuses an address outside its memory with errTARGET", async () => {
    const { dfu, clock } = await dfuseSession();
    expect((await block(dfu, clock, 0, [0x21, ...le32(0x20000000)])).status).toBe(Status.errTARGET);
  });
});

describe("cancel while waiting for re-enumeration", () => {
  it("stops waiting at once", async () => {
    const clock = new VirtualClock();
    const usb = new FakeUSB();
    const sim = new DfuSimulator({ clock, runtime: true });
    usb.plug(sim);
    const device = await usb.requestDevice({ filters: DFU_FILTERS });
    const ac = new AbortController();
    const p = flashDfu(device, image(100), { usb, clock, signal: ac.signal });
    // Let the detach happen, then cancel while the driver polls getDevices.
    while (!sim.gone) await Promise.resolve();
    ac.abort();
    const err = await flashErr(p);
    expect(err.code).toBe("cancelled");
    expect(err.message).toMatch(/^The flash was cancelled while the board was restarting into its DFU bootloader; nothing was written\..*unplug it and plug it back in.*Click Flash to start again\.$/);
    expect(clock.now()).toBeLessThan(1000);
  });
});

/** A simulator whose replies a test can replace: in/out return a result to send instead of the device's own. */
class TamperedSim extends DfuSimulator {
  in?: (setup: USBControlTransferParameters, sim: TamperedSim) => Promise<USBInTransferResult> | undefined;
  out?: (setup: USBControlTransferParameters, sim: TamperedSim) => Promise<USBOutTransferResult> | undefined;
  override controlTransferIn(setup: USBControlTransferParameters, length: number): Promise<USBInTransferResult> {
    return (this.opened && this.in?.(setup, this)) || super.controlTransferIn(setup, length);
  }
  override controlTransferOut(setup: USBControlTransferParameters, data?: BufferSource): Promise<USBOutTransferResult> {
    return (this.opened && this.out?.(setup, this)) || super.controlTransferOut(setup, data);
  }
}

const isGetStatus = (s: USBControlTransferParameters) => s.requestType === "class" && s.request === 3;
const manifesting = (sim: DfuSimulator) => sim.state === State.dfuMANIFEST_SYNC || sim.state === State.dfuMANIFEST;

describe("manifestation of a non-tolerant device (review)", () => {
  it("a cancel while GETSTATUS is pending is a cancel, not a device that reset", async () => {
    const { sim, device, base } = await onBus({ transferSize: 256 }, (o) => new TamperedSim(o));
    const ac = new AbortController();
    sim.in = (setup, s) => {
      if (!isGetStatus(setup) || !manifesting(s)) return undefined;
      ac.abort();
      return new Promise(() => {}); // the answer never comes; Cancel must end the wait
    };
    const err = await flashErr(flashDfu(device, image(600), { ...base, signal: ac.signal }));
    expect(err.code).toBe("cancelled");
    expect(err.message).toMatch(/^The flash was cancelled while the device was installing the complete image.*unplug the board, plug it back in.*\.$/);
    expect(sim.manifested).toBeNull();
  });

  it("a cancel as manifestation is about to start is a cancel", async () => {
    const { sim, device, base } = await onBus({ transferSize: 256 });
    const ac = new AbortController();
    const err = await flashErr(
      flashDfu(device, image(600), {
        ...base,
        signal: ac.signal,
        progress: (p) => {
          if (p.phase === "manifesting") ac.abort();
        },
      }),
    );
    expect(err.code).toBe("cancelled");
    // The progress report comes before the zero-length DNLOAD: the device was not told to install the image.
    expect(err.message).toBe(
      "The flash was cancelled after all 600 bytes were sent but before the device installed them: the device is idle in DFU mode without the new image. Click Flash to write it again before you use the board.",
    );
    expect(sim.state).toBe(State.dfuIDLE);
    expect(sim.manifested).toBeNull();
    expect(sim.resets).toBe(0);
  });

  it("a short GETSTATUS reply is a device error, not a device that reset", async () => {
    const { sim, device, base } = await onBus({ transferSize: 256 }, (o) => new TamperedSim(o));
    sim.in = (setup, s) => (isGetStatus(setup) && manifesting(s) ? Promise.resolve(inResult("ok", new Uint8Array(3))) : undefined);
    const err = await flashErr(flashDfu(device, image(600), base));
    expect(err.code).toBe("device_error");
    expect(err.message).toMatch(/^The device sent a status reply of 3 bytes instead of 6 \(DFU_GETSTATUS\): unplug it, plug it back in and flash again\.$/);
    expect(sim.manifested).toBeNull();
  });

  it("a device that leaves the bus during manifestation has reset itself (success)", async () => {
    const { sim, device, base } = await onBus({ resetsAfterManifest: true });
    const r = await flashDfu(device, image(300), base);
    expect(r.summary).toMatch(/device reset/);
    expect(sim.manifested).toEqual(image(300));
  });

  it("a GETSTATUS that times out before the device said it is manifesting is an error", async () => {
    const { sim, device, base } = await onBus({ transferSize: 256 }, (o) => new TamperedSim(o));
    sim.in = (setup, s) => (isGetStatus(setup) && s.state === State.dfuMANIFEST_SYNC ? new Promise(() => {}) : undefined);
    const err = await flashErr(flashDfu(device, image(600), base));
    expect(err.code).toBe("timeout");
    expect(err.message).toMatch(/after it received the whole image.*unplug it, plug it back in.*flash again\.$/);
    expect(sim.manifested).toBeNull();
  });
});

describe("detach failures (review)", () => {
  it("a stalled DETACH says what to do and releases the run-time interface", async () => {
    const { sim, device, base } = await onBus({ runtime: true }, (o) => new TamperedSim(o));
    sim.out = (setup) => (setup.requestType === "class" && setup.request === 0 ? Promise.resolve(outResult("stall", 0)) : undefined);
    const err = await flashErr(flashDfu(device, image(20), base));
    expect(err.code).toBe("device_error");
    expect(err.message).toBe(
      "The board refused to restart into its DFU bootloader (it stalled DFU_DETACH): put it in DFU mode by hand (on most boards, hold its button while plugging it in) and flash again.",
    );
    expect(sim.opened).toBe(false);
  });
});

describe("error sentences (review)", () => {
  it("a stalled GETSTATUS during download says what happened and what to do", async () => {
    const { sim, device, base } = await onBus({ transferSize: 256 }, (o) => new TamperedSim(o));
    sim.in = (setup, s) => (isGetStatus(setup) && s.blocks.length >= 1 ? Promise.resolve(inResult("stall")) : undefined);
    const err = await flashErr(flashDfu(device, image(600), base));
    expect(err.code).toBe("device_error");
    expect(err.message).toBe("The device refused to report its status (it stalled DFU_GETSTATUS): unplug it, plug it back in and flash again.");
  });

  it("a short GETSTATUS reply during download says what happened and what to do", async () => {
    const { sim, device, base } = await onBus({ transferSize: 256 }, (o) => new TamperedSim(o));
    sim.in = (setup, s) => (isGetStatus(setup) && s.blocks.length >= 1 ? Promise.resolve(inResult("ok", new Uint8Array(2))) : undefined);
    const err = await flashErr(flashDfu(device, image(600), base));
    expect(err.message).toBe("The device sent a status reply of 2 bytes instead of 6 (DFU_GETSTATUS): unplug it, plug it back in and flash again.");
  });

  it("a DNLOAD that ends in babble says what happened and what to do", async () => {
    const { sim, device, base } = await onBus({ transferSize: 256 }, (o) => new TamperedSim(o));
    sim.out = (setup) => (setup.requestType === "class" && setup.request === 1 ? Promise.resolve(outResult("babble", 0)) : undefined);
    const err = await flashErr(flashDfu(device, image(600), base));
    expect(err.code).toBe("device_error");
    expect(err.message).toBe("The USB transfer of DFU_DNLOAD failed (status babble): unplug the device, plug it back in and flash again.");
  });

  it("a device stuck in dfuERROR whose CLRSTATUS stalls says what to do", async () => {
    const { sim, device, base } = await onBus({ initialState: State.dfuERROR, initialStatus: Status.errPROG }, (o) => new TamperedSim(o));
    sim.out = (setup) => (setup.requestType === "class" && setup.request === 4 ? Promise.resolve(outResult("stall", 0)) : undefined);
    const err = await flashErr(flashDfu(device, image(600), base));
    expect(err.message).toBe("The device would not clear its error (it stalled DFU_CLRSTATUS): unplug it, plug it back in and flash again.");
  });

  it("a cancel during verify says the image was written but not checked", async () => {
    const { sim, device, base } = await onBus({ canUpload: true, manifestationTolerant: true, transferSize: 256 });
    const ac = new AbortController();
    const err = await flashErr(
      flashDfu(device, image(1000), {
        ...base,
        signal: ac.signal,
        progress: (p) => {
          if (p.phase === "verifying" && p.done >= 256) ac.abort();
        },
      }),
    );
    expect(err.code).toBe("cancelled");
    expect(err.message).toBe("The flash was cancelled while the image was being read back: it was written in full but not checked, and the device is idle in DFU mode. Click Flash to write and check it again.");
    expect(sim.state).toBe(State.dfuIDLE);
  });
});
