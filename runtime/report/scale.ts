// Axis scales and tick choice for the report's plots (runtime/report: run log → plots → HTML).
// A scale maps a data interval onto a pixel interval, linearly or by log10, and proposes "nice"
// tick values (1, 2, 5 × 10^k for linear; powers of ten, plus 2 and 5 multiples when the range is
// short, for log) with labels that have no float noise.

export type ScaleKind = 'linear' | 'log';

export interface Scale {
  readonly kind: ScaleKind;
  /** The data interval shown, after widening to nice tick values. */
  readonly domain: readonly [number, number];
  /** The pixel interval; for a y axis the first value is the bottom (larger pixel). */
  readonly range: readonly [number, number];
  /** Data value → pixel. */
  map(value: number): number;
  readonly ticks: readonly number[];
  /** A label for each tick. */
  format(value: number): string;
}

/** The nice step (1, 2 or 5 × 10^k) giving about `count` intervals over `span`. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/** Number of decimals needed to print multiples of `step` exactly. */
function decimalsFor(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

function formatNumber(value: number, decimals: number): string {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-4)) return value.toExponential(0).replace('e+', 'e');
  return value.toFixed(Math.min(decimals, 10));
}

/**
 * A linear scale whose domain covers [min, max] widened to multiples of a nice step. A degenerate
 * interval (min = max) is widened around its value so a flat line is still drawn mid-plot.
 */
export function linearScale(
  min: number,
  max: number,
  range: readonly [number, number],
  tickCount = 5,
): Scale {
  let lo = min;
  let hi = max;
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo, tickCount);
  const start = Math.floor(lo / step + 1e-9) * step;
  const stop = Math.ceil(hi / step - 1e-9) * step;
  const n = Math.round((stop - start) / step);
  // Ticks as integer multiples of the step, rounded to the step's decimals: no 0.30000000000000004.
  const decimals = decimalsFor(step);
  const ticks = Array.from({ length: n + 1 }, (_, i) =>
    Number(((Math.round(start / step) + i) * step).toFixed(Math.min(decimals + 2, 15))),
  );
  const d0 = ticks[0];
  const d1 = ticks[ticks.length - 1];
  const [r0, r1] = range;
  return {
    kind: 'linear',
    domain: [d0, d1],
    range,
    map: (v) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0),
    ticks,
    format: (v) => formatNumber(v, decimals),
  };
}

/**
 * A log10 scale over [min, max] (both > 0). Up to two decades it runs from the nearest 1-2-5 tick
 * at or below min to the one at or above max (ticks 1, 2, 5 × 10^k), so a loss between 0.13 and
 * 1.8 fills the plot; longer ranges are widened to whole decades with a tick per decade.
 */
export function logScale(min: number, max: number, range: readonly [number, number]): Scale {
  if (!(min > 0) || !(max > 0))
    throw new Error(`log scale needs positive bounds, got ${min}..${max}`);
  const e0 = Math.floor(Math.log10(min) + 1e-9);
  let e1 = Math.ceil(Math.log10(max) - 1e-9);
  if (e1 === e0) e1 = e0 + 1;
  const multiples = e1 - e0 <= 2 ? [1, 2, 5] : [1];
  const candidates: number[] = [];
  for (let e = e0; e <= e1; e++)
    for (const m of multiples) {
      if (e === e1 && m !== 1) break;
      candidates.push(Number((m * Math.pow(10, e)).toPrecision(12)));
    }
  // The tightest candidate interval around [min, max], at least one step wide.
  let lo = candidates.filter((c) => c <= min * (1 + 1e-9)).length - 1;
  let hi = candidates.findIndex((c) => c >= max * (1 - 1e-9));
  if (hi <= lo) {
    // min = max on a tick: show the step above it (or below, at the top of the candidates).
    if (lo + 1 < candidates.length) hi = lo + 1;
    else lo = hi - 1;
  }
  const ticks = candidates.slice(lo, hi + 1);
  const l0 = Math.log10(ticks[0]);
  const l1 = Math.log10(ticks[ticks.length - 1]);
  const [r0, r1] = range;
  return {
    kind: 'log',
    domain: [ticks[0], ticks[ticks.length - 1]],
    range,
    map: (v) => r0 + ((Math.log10(v) - l0) / (l1 - l0)) * (r1 - r0),
    ticks,
    format: (v) => {
      const e = Math.floor(Math.log10(v) + 1e-9);
      return e >= -3 && e <= 4
        ? formatNumber(v, Math.max(0, -e))
        : v.toExponential(0).replace('e+', 'e');
    },
  };
}
