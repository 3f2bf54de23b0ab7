// Per-stage progress on stderr (runtime/train, what the user watches during `alignc run`): step of
// total, percent, ETA, each loss term and images/s. On a terminal one line is redrawn in place; on
// a pipe or file a line is printed at most every `intervalSeconds` (and at the last step), so CI
// logs stay readable. ETA extrapolates the mean step time of this process (a resumed run does not
// count the steps done before it).

export interface ProgressUpdate {
  readonly stage: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly losses: Readonly<Record<string, number>>;
  readonly imagesPerSecond: number;
  /** Wall seconds of this step (data included). */
  readonly stepSeconds: number;
}

export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** `h:mm:ss` or `m:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function formatLoss(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4);
}

/** The progress line for one update (no newline). */
export function progressLine(u: ProgressUpdate, etaSeconds: number): string {
  const width = String(u.totalSteps).length;
  const pct = ((100 * u.step) / Math.max(1, u.totalSteps)).toFixed(0).padStart(3);
  const terms = Object.entries(u.losses);
  const total = terms.reduce((a, [, v]) => a + v, 0);
  const parts = terms.map(([k, v]) => `${k} ${formatLoss(v)}`).join(', ');
  return (
    `${u.stage}  step ${String(u.step).padStart(width)}/${u.totalSteps} ${pct}%  ` +
    `ETA ${formatDuration(etaSeconds)}  loss ${formatLoss(total)} (${parts})  ` +
    `${u.imagesPerSecond.toFixed(1)} img/s`
  );
}

export class ProgressReporter {
  #firstStep: number | undefined;
  #startedAt = 0;
  #lastPrinted = -Infinity;

  constructor(
    readonly sink: ProgressSink = process.stderr,
    readonly intervalSeconds = 10,
    readonly now: () => number = () => performance.now() / 1000,
  ) {}

  update(u: ProgressUpdate): void {
    const t = this.now();
    if (this.#firstStep === undefined) {
      // The clock starts when the first step of this process begins; its time counts too.
      this.#firstStep = u.step - 1;
      this.#startedAt = t - u.stepSeconds;
    }
    const done = u.step - this.#firstStep;
    const eta = ((t - this.#startedAt) / Math.max(1, done)) * (u.totalSteps - u.step);
    const line = progressLine(u, eta);
    const last = u.step >= u.totalSteps;
    if (this.sink.isTTY === true) {
      this.sink.write(`\r\x1b[2K${line}${last ? '\n' : ''}`);
    } else if (last || t - this.#lastPrinted >= this.intervalSeconds) {
      this.sink.write(line + '\n');
      this.#lastPrinted = t;
    }
  }

  /** Ends the current line on a terminal (before other output such as an error). */
  finish(): void {
    if (this.sink.isTTY === true) this.sink.write('\n');
  }
}
