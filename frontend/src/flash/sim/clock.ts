// A virtual clock for the device simulators: time advances only when a
// simulated bus transfer or device operation takes time, or when the driver
// sleeps, so flash times are deterministic and independent of the machine.
import { abortError, type Clock } from "../types";

export class VirtualClock implements Clock {
  /** Virtual milliseconds since the simulation began. */
  private t = 0;

  now(): number {
    return this.t;
  }

  /** advance moves time forward by ms (device work, bus time). */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`VirtualClock.advance(${ms})`);
    this.t += ms;
  }

  /** until moves time forward to t if it is in the future. */
  until(t: number): void {
    if (t > this.t) this.t = t;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError();
    this.advance(Math.max(0, ms));
    // Yield, so a sleeping loop still lets other tasks (and aborts) run.
    await Promise.resolve();
    if (signal?.aborted) throw abortError();
  }
}

/**
 * PacedClock is virtual time that never falls behind the wall clock: for a
 * simulator serving a driver that waits on real time (the page, where the
 * IDE uses realClock), so a flash chip's busy time also ends for a driver
 * that sleeps instead of polling.
 */
export class PacedClock extends VirtualClock {
  private origin = performance.now();

  private catchUp() {
    this.until(performance.now() - this.origin);
  }

  now(): number {
    this.catchUp();
    return super.now();
  }

  advance(ms: number): void {
    this.catchUp();
    super.advance(ms);
  }
}
