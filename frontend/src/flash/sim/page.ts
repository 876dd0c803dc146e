// The simulated USB and serial buses as a page sees them, for the browser
// end-to-end tests and for trying the flasher without a board: bundled into
// an init script, it replaces navigator.usb and navigator.serial with
// FakeUSB/FakeSerial and exposes the device simulators, so a test plugs in
// the board it wants and reads back what the device received.
import { DfuSimulator, type SimulatorOptions } from "../../dfu/simulator";
import { createIce40Board, type Ice40Board, type Ice40BoardOptions } from "./board";
import { FakeSerial } from "./serial";
import { createTinyFpgaBx } from "./tinyprog";
import { PacedClock } from "./clock";
import { FakeUSB } from "./usb";

export interface PageSim {
  usb: FakeUSB;
  serial: FakeSerial;
  /** plugIce40 plugs in a new FTDI iCE40 board and makes it the current one. */
  plugIce40(o?: Ice40BoardOptions): Ice40Board;
  plugDfu(o?: SimulatorOptions): DfuSimulator;
  plugTinyFpga(o?: Parameters<typeof createTinyFpgaBx>[0]): ReturnType<typeof createTinyFpgaBx>;
  /** unplugAll empties both buses. */
  unplugAll(): void;
  ice40: Ice40Board | null;
  dfu: DfuSimulator | null;
  tiny: ReturnType<typeof createTinyFpgaBx> | null;
}

/** install replaces the page's USB and serial APIs with the simulated buses. */
export function install(win: Window & { __flashSim?: PageSim }): PageSim {
  const usb = new FakeUSB();
  const serial = new FakeSerial();
  const sim: PageSim = {
    usb,
    serial,
    ice40: null,
    dfu: null,
    tiny: null,
    plugIce40(o) {
      const b = createIce40Board({ clock: new PacedClock(), ...o });
      usb.plug(b.device);
      sim.ice40 = b;
      return b;
    },
    plugDfu(o) {
      const d = new DfuSimulator(o);
      usb.plug(d);
      sim.dfu = d;
      return d;
    },
    plugTinyFpga(o) {
      const t = createTinyFpgaBx({ clock: new PacedClock(), ...o });
      serial.plug(t.port);
      sim.tiny = t;
      return t;
    },
    unplugAll() {
      for (const d of [...usb.devices()]) usb.unplug(d);
      for (const p of [...serial.ports()]) serial.unplug(p);
    },
  };
  const proto = (win as unknown as { Navigator: typeof Navigator }).Navigator.prototype;
  Object.defineProperty(proto, "usb", { configurable: true, get: () => usb });
  Object.defineProperty(proto, "serial", { configurable: true, get: () => serial });
  win.__flashSim = sim;
  return sim;
}

install(window);
