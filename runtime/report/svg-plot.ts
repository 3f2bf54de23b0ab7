// Line plots as standalone SVG text (runtime/report: run log → plots → HTML report and docs PNGs).
// Axes with nice ticks, a grid, a legend, linear or log y, optional ±band per series. Points whose
// value cannot be drawn (NaN, ±Infinity, or ≤ 0 on a log axis) break the line and are listed in a
// note under the plot, never silently bridged. Long series are averaged into at most
// `maxPoints` buckets so a 100k-step log stays a small file.

import { linearScale, logScale, type Scale, type ScaleKind } from './scale.js';
import { escapeXml } from './escape.js';

export interface PlotPoint {
  readonly x: number;
  readonly y: number;
}

export interface PlotSeries {
  readonly name: string;
  readonly points: readonly PlotPoint[];
  readonly colour: string;
  readonly dashed?: boolean;
  /** Optional shaded band (e.g. mean ± std over seeds), same x values as `points`. */
  readonly band?: readonly { readonly x: number; readonly low: number; readonly high: number }[];
}

export interface LinePlotSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly PlotSeries[];
  readonly yScale?: ScaleKind;
  readonly width?: number;
  readonly height?: number;
  /** Force the y interval (e.g. [0, 1] for AP); the data may still widen it. */
  readonly yRange?: readonly [number, number];
  readonly maxPoints?: number;
}

/** Where things went: the plot area in pixels and the two scales, for tests and overlays. */
export interface PlotGeometry {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  readonly x: Scale;
  readonly y: Scale;
}

export interface LinePlot {
  readonly svg: string;
  readonly geometry: PlotGeometry;
  /** One line per series with undrawable points, also printed in the SVG. */
  readonly notes: readonly string[];
}

export const PLOT_MARGIN = { left: 64, right: 16, top: 34, bottom: 46 } as const;
const LEGEND_ROW = 18;
const NOTE_ROW = 15;
const FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'";

/** Averages consecutive points into at most `max` buckets of equal count (x and y both averaged). */
export function downsample(points: readonly PlotPoint[], max: number): PlotPoint[] {
  if (points.length <= max) return [...points];
  const out: PlotPoint[] = [];
  for (let b = 0; b < max; b++) {
    const from = Math.floor((b * points.length) / max);
    const to = Math.floor(((b + 1) * points.length) / max);
    let sx = 0;
    let sy = 0;
    for (let i = from; i < to; i++) {
      sx += points[i].x;
      sy += points[i].y;
    }
    out.push({ x: sx / (to - from), y: sy / (to - from) });
  }
  return out;
}

function drawable(y: number, kind: ScaleKind): boolean {
  return Number.isFinite(y) && (kind === 'linear' || y > 0);
}

function fmt(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

export function linePlot(spec: LinePlotSpec): LinePlot {
  const width = spec.width ?? 560;
  // Up to three legend entries per row, fewer when the names would run into each other (11 px
  // DejaVu Sans averages under 7 px per character).
  const longestName = Math.max(0, ...spec.series.map((s) => s.name.length));
  const columnsFit = Math.floor(
    (width - PLOT_MARGIN.left - PLOT_MARGIN.right) / (34 + 7 * longestName),
  );
  const legendColumns = Math.max(1, Math.min(3, columnsFit));
  const legendRows = Math.ceil(spec.series.length / legendColumns);
  const yKind = spec.yScale ?? 'linear';
  const maxPoints = spec.maxPoints ?? 600;
  const notes: string[] = [];

  // Non-drawable points split the series into runs; NaN would poison the bucket means otherwise.
  const runsOf = spec.series.map((s) => {
    const runs: PlotPoint[][] = [];
    let current: PlotPoint[] = [];
    let firstBad: PlotPoint | undefined;
    let bad = 0;
    for (const p of s.points) {
      if (drawable(p.y, yKind) && Number.isFinite(p.x)) current.push(p);
      else {
        bad++;
        firstBad ??= p;
        if (current.length > 0) runs.push(current);
        current = [];
      }
    }
    if (current.length > 0) runs.push(current);
    if (firstBad !== undefined)
      notes.push(
        `${s.name}: ${bad} point${bad === 1 ? '' : 's'} not drawn (first at x = ${firstBad.x}: ${firstBad.y})`,
      );
    const share = Math.max(2, Math.floor(maxPoints / Math.max(1, runs.length)));
    return runs.map((r) => downsample(r, share));
  });

  const xs: number[] = [];
  const ys: number[] = [];
  runsOf.forEach((runs, i) => {
    for (const run of runs) for (const p of run) (xs.push(p.x), ys.push(p.y));
    for (const b of spec.series[i].band ?? [])
      for (const y of [b.low, b.high]) if (drawable(y, yKind)) ys.push(y);
  });
  if (spec.yRange) ys.push(...spec.yRange.filter((y) => drawable(y, yKind)));
  const plotTop = PLOT_MARGIN.top;
  // Legend rows and one line per note are added below the requested height's plot area.
  const height = (spec.height ?? 320) + legendRows * LEGEND_ROW + notes.length * NOTE_ROW;
  const plotHeight = (spec.height ?? 320) - PLOT_MARGIN.top - PLOT_MARGIN.bottom;
  const plotWidth = width - PLOT_MARGIN.left - PLOT_MARGIN.right;
  const xRange: [number, number] = [PLOT_MARGIN.left, PLOT_MARGIN.left + plotWidth];
  const yRange: [number, number] = [plotTop + plotHeight, plotTop];
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const x = linearScale(xMin, xMax, xRange, 6);
  const y =
    yKind === 'log'
      ? logScale(ys.length ? Math.min(...ys) : 1, ys.length ? Math.max(...ys) : 10, yRange)
      : linearScale(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1, yRange);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns='http://www.w3.org/2000/svg' width='${width}' height='${height}' viewBox='0 0 ${width} ${height}' ${FONT} font-size='11'>`,
    `<rect x='0' y='0' width='${width}' height='${height}' fill='#ffffff'/>`,
    `<text x='${width / 2}' y='18' text-anchor='middle' font-size='13' font-weight='bold'>${escapeXml(spec.title)}</text>`,
  );
  // Grid and ticks.
  for (const t of x.ticks) {
    const px = fmt(x.map(t));
    parts.push(
      `<line class='grid' x1='${px}' y1='${plotTop}' x2='${px}' y2='${plotTop + plotHeight}' stroke='#e6e6e6'/>`,
      `<text class='xtick' data-value='${t}' x='${px}' y='${plotTop + plotHeight + 15}' text-anchor='middle'>${x.format(t)}</text>`,
    );
  }
  for (const t of y.ticks) {
    const py = fmt(y.map(t));
    parts.push(
      `<line class='grid' x1='${PLOT_MARGIN.left}' y1='${py}' x2='${PLOT_MARGIN.left + plotWidth}' y2='${py}' stroke='#e6e6e6'/>`,
      `<text class='ytick' data-value='${t}' x='${PLOT_MARGIN.left - 6}' y='${py}' text-anchor='end' dominant-baseline='middle'>${y.format(t)}</text>`,
    );
  }
  parts.push(
    `<rect x='${PLOT_MARGIN.left}' y='${plotTop}' width='${plotWidth}' height='${plotHeight}' fill='none' stroke='#444'/>`,
    `<text x='${PLOT_MARGIN.left + plotWidth / 2}' y='${plotTop + plotHeight + 34}' text-anchor='middle'>${escapeXml(spec.xLabel)}</text>`,
    `<text transform='translate(14 ${plotTop + plotHeight / 2}) rotate(-90)' text-anchor='middle'>${escapeXml(spec.yLabel)}${yKind === 'log' ? ' (log)' : ''}</text>`,
  );
  // Bands under lines.
  spec.series.forEach((s) => {
    const band = (s.band ?? []).filter((b) => drawable(b.low, yKind) && drawable(b.high, yKind));
    if (band.length < 2) return;
    const upper = band.map((b) => `${fmt(x.map(b.x))},${fmt(y.map(b.high))}`);
    const lower = band.map((b) => `${fmt(x.map(b.x))},${fmt(y.map(b.low))}`).reverse();
    parts.push(
      `<polygon class='band' points='${[...upper, ...lower].join(' ')}' fill='${s.colour}' fill-opacity='0.18' stroke='none'/>`,
    );
  });
  runsOf.forEach((runs, i) => {
    const s = spec.series[i];
    const dash = s.dashed ? ` stroke-dasharray='6 4'` : '';
    for (const run of runs) {
      const points = run.map((p) => `${fmt(x.map(p.x))},${fmt(y.map(p.y))}`).join(' ');
      if (run.length === 1) {
        const [px, py] = points.split(',');
        parts.push(
          `<circle data-series='${escapeXml(s.name)}' cx='${px}' cy='${py}' r='3' fill='${s.colour}'/>`,
        );
      } else
        parts.push(
          `<polyline data-series='${escapeXml(s.name)}' points='${points}' fill='none' stroke='${s.colour}' stroke-width='1.6' stroke-linejoin='round'${dash}/>`,
        );
    }
  });
  // Legend rows under the x label, `legendColumns` entries per row.
  const legendTop = plotTop + plotHeight + PLOT_MARGIN.bottom;
  spec.series.forEach((s, i) => {
    const lx = PLOT_MARGIN.left + (i % legendColumns) * Math.floor(plotWidth / legendColumns);
    const ly = legendTop + Math.floor(i / legendColumns) * LEGEND_ROW + 4;
    const dash = s.dashed ? ` stroke-dasharray='6 4'` : '';
    parts.push(
      `<g class='legend'><line x1='${lx}' y1='${ly}' x2='${lx + 22}' y2='${ly}' stroke='${s.colour}' stroke-width='2.5'${dash}/>`,
      `<text x='${lx + 28}' y='${ly}' dominant-baseline='middle'>${escapeXml(s.name)}</text></g>`,
    );
  });
  const notesTop = legendTop + legendRows * LEGEND_ROW + 4;
  notes.forEach((note, i) =>
    parts.push(
      `<text class='note' x='${PLOT_MARGIN.left}' y='${notesTop + i * NOTE_ROW}' dominant-baseline='middle' fill='#b00020'>${escapeXml(note)}</text>`,
    ),
  );
  parts.push('</svg>');
  return {
    svg: parts.join('\n'),
    geometry: { left: PLOT_MARGIN.left, top: plotTop, width: plotWidth, height: plotHeight, x, y },
    notes,
  };
}
