// The report's plotting code (runtime/report/scale.ts, svg-plot.ts): nice ticks, and that the SVG's
// polyline points land where the axes say the data values are, computed here from the plot area
// by hand and cross-checked against the tick marks drawn in the same SVG.

import { describe, expect, it } from 'vitest';
import { linearScale, logScale, niceStep } from '../../runtime/report/scale.js';
import { downsample, linePlot, PLOT_MARGIN } from '../../runtime/report/svg-plot.js';

function attributes(svg: string, tag: string): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<${tag}\\s([^>]*?)/?>`, 'g'))].map((m) =>
    Object.fromEntries([...m[1].matchAll(/([\w-]+)='([^']*)'/g)].map((a) => [a[1], a[2]])),
  );
}

function polylinePoints(svg: string): [number, number][][] {
  return attributes(svg, 'polyline').map((a) =>
    a.points.split(' ').map((p) => p.split(',').map(Number) as [number, number]),
  );
}

/** Tick label → pixel position, read from the <text class='xtick'|'ytick'> elements. */
function ticks(svg: string, axis: 'x' | 'y'): Map<number, number> {
  const out = new Map<number, number>();
  for (const a of attributes(svg, 'text'))
    if (a.class === `${axis}tick`) out.set(Number(a['data-value']), Number(a[axis]));
  return out;
}

describe('scales', () => {
  it('picks 1-2-5 steps and ticks without float noise', () => {
    expect(niceStep(1, 5)).toBe(0.2);
    expect(niceStep(970, 6)).toBe(200);
    expect(niceStep(0.0031, 5)).toBe(0.001);
    const s = linearScale(0.03, 0.97, [300, 0]);
    expect(s.ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(s.ticks.map((t) => s.format(t))).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    expect(s.map(0)).toBe(300);
    expect(s.map(1)).toBe(0);
    expect(s.map(0.25)).toBeCloseTo(225, 12);
    expect(linearScale(-0.3, 0.1, [0, 1]).ticks).toEqual([-0.3, -0.2, -0.1, 0, 0.1]);
  });

  it('widens a flat series so it is drawn mid-plot', () => {
    const s = linearScale(2, 2, [100, 0]);
    expect(s.domain[0]).toBeLessThan(2);
    expect(s.domain[1]).toBeGreaterThan(2);
  });

  it('log scale: 1-2-5 ticks hugging short ranges, decades on long ones, log10 mapping', () => {
    const s = logScale(0.13, 1.8, [200, 0]);
    expect(s.domain).toEqual([0.1, 2]);
    expect(s.ticks).toEqual([0.1, 0.2, 0.5, 1, 2]);
    // log10(1 / 0.1) / log10(2 / 0.1) of the way up from the bottom (200) to the top (0).
    expect(s.map(1)).toBeCloseTo(200 - 200 / Math.log10(20), 12);
    expect(s.map(0.1)).toBeCloseTo(200, 12);
    expect(s.map(2)).toBeCloseTo(0, 12);
    expect(logScale(0.2, 0.2, [0, 1]).ticks).toEqual([0.2, 0.5]);
    expect(logScale(0.3, 4, [0, 1]).ticks).toEqual([0.2, 0.5, 1, 2, 5]);
    expect(logScale(0.3, 40, [0, 1]).ticks).toEqual([0.1, 1, 10, 100]);
    const long = logScale(1e-5, 3, [0, 1]);
    expect(long.ticks).toEqual([1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10]);
    expect(long.map(1e-3)).toBeCloseTo(2 / 6, 12);
  });
});

describe('line plot geometry', () => {
  const points = [
    { x: 0, y: 0.1 },
    { x: 250, y: 0.45 },
    { x: 500, y: 0.8 },
    { x: 1000, y: 0.9 },
  ];
  const plot = linePlot({
    title: 'AP',
    xLabel: 'step',
    yLabel: 'AP',
    series: [{ name: 'AP', colour: '#000000', points }],
    width: 560,
    height: 320,
    yRange: [0, 1],
  });

  it('maps data to pixels inside the plot area', () => {
    // One legend row of 18 px under the 320 px: plot height = 320 - 34 - 46.
    const left = PLOT_MARGIN.left;
    const width = 560 - PLOT_MARGIN.left - PLOT_MARGIN.right;
    const top = PLOT_MARGIN.top;
    const height = 320 - PLOT_MARGIN.top - PLOT_MARGIN.bottom;
    expect(plot.geometry).toMatchObject({ left, top, width, height });
    // x domain 0..1000 and y domain 0..1 are already nice, so no widening.
    const expected = points.map((p) => [
      Math.round((left + (p.x / 1000) * width) * 100) / 100,
      Math.round((top + height - p.y * height) * 100) / 100,
    ]);
    const lines = polylinePoints(plot.svg);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toEqual(expected);
  });

  it('puts data values on the ticks that carry the same labels', () => {
    const xt = ticks(plot.svg, 'x');
    const yt = ticks(plot.svg, 'y');
    expect([...xt.keys()]).toEqual([0, 200, 400, 600, 800, 1000]);
    expect([...yt.keys()]).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const [[x0, y0], , , [x3, y3]] = polylinePoints(plot.svg)[0];
    expect(x0).toBe(xt.get(0));
    expect(x3).toBe(xt.get(1000));
    // y = 0.9 lies midway between the 0.8 and 1.0 ticks; 0.1 midway between 0 and 0.2.
    expect(y3).toBeCloseTo(((yt.get(0.8) ?? 0) + (yt.get(1) ?? 0)) / 2, 1);
    expect(y0).toBeCloseTo(((yt.get(0) ?? 0) + (yt.get(0.2) ?? 0)) / 2, 1);
  });

  it('breaks the line at NaN and at non-positive values on a log axis, and says so', () => {
    const p = linePlot({
      title: 'loss',
      xLabel: 'step',
      yLabel: 'loss',
      yScale: 'log',
      series: [
        {
          name: 'cls',
          colour: '#ff0000',
          points: [1, 0.5, NaN, 0.3, 0.2, 0, 0.1].map((y, i) => ({ x: i + 1, y })),
        },
      ],
    });
    expect(polylinePoints(p.svg).map((l) => l.length)).toEqual([2, 2]);
    expect(attributes(p.svg, 'circle')).toHaveLength(1); // the lone point after the 0
    expect(p.notes).toEqual(['cls: 2 points not drawn (first at x = 3: NaN)']);
    expect(p.svg).toContain('2 points not drawn');
    // On the log axis 1 is a decade above 0.1: the first point is one decade-height above the last.
    const y1 = p.geometry.y.map(1);
    const y01 = p.geometry.y.map(0.1);
    expect(polylinePoints(p.svg)[0][0][1]).toBeCloseTo(y1, 1);
    expect(Number(attributes(p.svg, 'circle')[0].cy)).toBeCloseTo(y01, 1);
  });

  it('escapes names and averages long series into buckets', () => {
    const p = linePlot({
      title: '<b>',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'a&b',
          colour: '#000000',
          points: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
      ],
    });
    expect(p.svg).toContain('&lt;b&gt;');
    expect(p.svg).toContain('a&amp;b');
    expect(p.svg).not.toContain('<b>');
    const long = Array.from({ length: 10 }, (_, i) => ({ x: i, y: i * 2 }));
    expect(downsample(long, 5)).toEqual([
      { x: 0.5, y: 1 },
      { x: 2.5, y: 5 },
      { x: 4.5, y: 9 },
      { x: 6.5, y: 13 },
      { x: 8.5, y: 17 },
    ]);
  });
});

describe('legend layout', () => {
  const legendYs = (names: string[]) => {
    const svg = linePlot({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: names.map((name) => ({ name, colour: '#000', points: [{ x: 0, y: 1 }] })),
    }).svg;
    return [...svg.matchAll(/<g class='legend'><line x1='(\d+)' y1='(\d+)'/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
  };

  it('puts three short names in a row, and long ones in a row each so they cannot overlap', () => {
    const short = legendYs(['AP', 'AP50', 'AP75']);
    expect(new Set(short.map(([, y]) => y)).size).toBe(1);
    expect(short.map(([x]) => x)).toEqual([64, 64 + 160, 64 + 320]); // (560 - 64 - 16) / 3 = 160
    const long = legendYs([
      '(a) random init (n=3)',
      '(b) image-domain only (n=3)',
      '(c) image + box domain (AlignDet) (n=3)',
    ]);
    // 39 characters need 34 + 273 px: one entry per 480 px row.
    expect(long.map(([x]) => x)).toEqual([64, 64, 64]);
    expect(long.map(([, y]) => y)).toEqual([long[0][1], long[0][1] + 18, long[0][1] + 36]);
  });
});
