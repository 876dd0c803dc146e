// Every transfer a flasher makes is bounded: by a timeout on the flash's
// clock and by the user's Cancel.
import type { Clock } from "./types";

export interface DeadlineOptions {
  clock: Clock;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Microtask turns an answer gets before a timer is started; default 32. */
  settleTurns?: number;
  /** The error for an answer that did not come in time. */
  timeout(): Error;
  /** The error for a cancelled wait. */
  aborted(): Error;
}

/**
 * deadline waits for p, the timeout and the signal. p first gets some
 * microtask turns to settle, so an answer already there (the simulators;
 * most real replies already queued) never starts a timer: with a virtual
 * clock that keeps time from jumping by the timeout on every call.
 */
export async function deadline<T>(p: Promise<T>, o: DeadlineOptions): Promise<T> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  const turns = o.settleTurns ?? 32;
  for (let i = 0; i < turns && !settled; i++) await Promise.resolve();
  if (settled) return p;
  const ac = new AbortController();
  const timer = o.clock.sleep(o.timeoutMs, ac.signal).then(
    () => {
      throw o.timeout();
    },
    () => new Promise<never>(() => {}),
  );
  const racers: Promise<T>[] = [p, timer];
  const signal = o.signal;
  let onAbort: (() => void) | undefined;
  if (signal) {
    racers.push(
      new Promise<never>((_, reject) => {
        onAbort = () => reject(o.aborted());
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }),
    );
  }
  try {
    return await Promise.race(racers);
  } finally {
    ac.abort();
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

/** bounded runs call under deadline, turning whatever it throws or rejects with into mapError's error. */
export function bounded<T>(call: () => Promise<T>, mapError: (err: unknown) => Error, o: DeadlineOptions): Promise<T> {
  let p: Promise<T>;
  try {
    p = call();
  } catch (err) {
    return Promise.reject(mapError(err));
  }
  return deadline(
    p.catch((err) => {
      throw mapError(err);
    }),
    o,
  );
}
