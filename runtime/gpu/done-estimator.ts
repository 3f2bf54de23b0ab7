// How long to sleep before waiting on Dawn. dawn.node settles its promises (mapAsync,
// onSubmittedWorkDone) by re-posting a setImmediate poll while any is pending, so a host that
// awaits right after submitting spins one of the two cores that lavapipe needs to run the kernels
// (lavapipe-performance.md measured 1.8x slower GPU work). The runtime therefore sleeps, with no
// promise pending, for most of the time the same work took before, and only then awaits.
//
// Work is identified by a signature (the sequence of kernel labels since the last wait), so a
// replayed training step learns its own duration. Unknown work is awaited directly.

const HISTORY = 5;
/** Work shorter than this is not worth a timer. */
const MIN_SLEEP_MS = 2;
/** Fraction of the expected time to sleep: waking a little early costs a short spin, late costs idle time. */
const SLEEP_FRACTION = 0.85;
/**
 * After an oversleep the real time is unknown but shorter: record this fraction of what was
 * observed. 0.8 took ~10 steps to come down from a slow first replay (1041 ms learned, 250 ms real);
 * 0.6 takes ~3, and undershooting only costs a short spin.
 */
const OVERSLEPT_SHRINK = 0.6;

export class DoneEstimator {
  readonly #history = new Map<string, number[]>();

  /** Milliseconds to sleep before awaiting work with this signature, `elapsed` ms after submit. */
  sleepBefore(signature: string, elapsedMs: number): number {
    const seen = this.#history.get(signature);
    if (!seen || seen.length === 0) return 0;
    const expected = Math.min(...seen) * SLEEP_FRACTION - elapsedMs;
    return expected >= MIN_SLEEP_MS ? expected : 0;
  }

  /**
   * Records how long the work took from submit to settled. `settledAfterSleep` says the promise
   * settled at once after the sleep, i.e. the sleep was already too long and the real time is
   * shorter than observed: the estimate is then shrunk so it converges from above.
   */
  record(signature: string, observedMs: number, settledAfterSleep: boolean): void {
    const value = settledAfterSleep ? observedMs * OVERSLEPT_SHRINK : observedMs;
    const list = this.#history.get(signature) ?? [];
    list.push(value);
    if (list.length > HISTORY) list.shift();
    this.#history.set(signature, list);
    if (this.#history.size > 4096) this.#history.clear();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
