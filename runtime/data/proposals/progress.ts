// A progress bar on stderr for long per-image jobs (proposal generation over a dataset). On a
// terminal it redraws one line in place; otherwise (CI logs, pipes) it prints a line every 10 %, so
// logs stay short. stdout is never touched: it may carry machine-readable output.

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export class ProgressBar {
  private done = 0;
  private lastDecile = -1;
  private readonly started = performance.now();

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly stream: ProgressStream = process.stderr,
  ) {}

  tick(count = 1): void {
    this.done = Math.min(this.total, this.done + count);
    this.render();
  }

  /** Ends the bar's line (on a terminal) so later output starts on a fresh line. */
  finish(): void {
    if (this.stream.isTTY === true) this.stream.write('\n');
  }

  /** The text of the bar, e.g. `proposals [#####·····] 120/364 3.1 img/s eta 79 s`. */
  line(): string {
    const width = 24;
    const fraction = this.total > 0 ? this.done / this.total : 1;
    const filled = Math.round(fraction * width);
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const eta = rate > 0 ? Math.round((this.total - this.done) / rate) : undefined;
    const bar = '#'.repeat(filled) + '·'.repeat(width - filled);
    const tail = eta === undefined ? '' : ` eta ${eta} s`;
    return `${this.label} [${bar}] ${this.done}/${this.total} ${rate.toFixed(1)} img/s${tail}`;
  }

  private render(): void {
    if (this.stream.isTTY === true) {
      this.stream.write(`\r${this.line()}`);
      return;
    }
    const decile = this.total > 0 ? Math.floor((10 * this.done) / this.total) : 10;
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${this.line()}\n`);
    }
  }
}
