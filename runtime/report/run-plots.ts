// The plots of one run (runtime/report: run log → these plots → HTML report, or PNG/SVG files for
// the docs with `alignc report --plots DIR`). Per stage: every loss term and their sum against
// step, the learning rate, the gradient norm before clipping (logs that record it), and the COCO
// AP curves of its evaluations.

import type { RunLog } from '../io/run-log-reader.js';
import type { EvalRecord, StepRecord } from '../io/run-log.js';
import { categoryColours, seriesColour, SUMMARY_COLOURS } from './colours.js';
import { linePlot, type LinePlot, type PlotSeries } from './svg-plot.js';
import type { ScaleKind } from './scale.js';

export interface NamedPlot {
  /** File-name-safe id, e.g. `finetune-loss`. */
  readonly id: string;
  readonly stage: string;
  readonly plot: LinePlot;
}

export interface RunPlotOptions {
  /** y scale of the loss plots. Default log: losses fall over orders of magnitude. */
  readonly lossScale?: ScaleKind;
  readonly width?: number;
  /** Colours of the per-category AP curves (the report passes the ones its pictures use). */
  readonly categoryColours?: ReadonlyMap<string, string>;
}

/** Stages in the order they first appear in the log. */
export function stagesOf(log: RunLog): string[] {
  const seen = new Set<string>();
  for (const r of log.records) if (r.kind !== 'end') seen.add(r.stage);
  return [...seen];
}

function safeId(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, '_');
}

function lossSeries(steps: readonly StepRecord[]): PlotSeries[] {
  const names: string[] = [];
  for (const s of steps)
    for (const n of Object.keys(s.losses)) if (!names.includes(n)) names.push(n);
  const series: PlotSeries[] = names.map((name, i) => ({
    name,
    colour: seriesColour(i + 1),
    points: steps.filter((s) => name in s.losses).map((s) => ({ x: s.step, y: s.losses[name] })),
  }));
  if (names.length > 1)
    series.unshift({
      name: 'total',
      colour: seriesColour(0),
      points: steps.map((s) => ({
        x: s.step,
        y: Object.values(s.losses).reduce((a, b) => a + b, 0),
      })),
    });
  return series;
}

const AP_CURVES = ['AP', 'AP50', 'AP75'] as const;

function apSeries(
  evals: readonly EvalRecord[],
  given: ReadonlyMap<string, string> | undefined,
): PlotSeries[] {
  const series: PlotSeries[] = AP_CURVES.map((name) => ({
    name,
    colour: SUMMARY_COLOURS[name],
    points: evals.map((e) => ({ x: e.step, y: e.stats[name] })),
  }));
  const categories = evals[evals.length - 1]?.perCategory.map((c) => c.name) ?? [];
  const colours = categoryColours(categories, given);
  categories.forEach((name) =>
    series.push({
      name: `AP ${name}`,
      colour: colours.get(name) ?? seriesColour(0),
      dashed: true,
      points: evals.flatMap((e) => {
        const c = e.perCategory.find((p) => p.name === name);
        return c ? [{ x: e.step, y: c.ap }] : [];
      }),
    }),
  );
  // -1 is pycocotools' "nothing to measure": leave those points out rather than plot them at -1.
  return series.map((s) => ({ ...s, points: s.points.filter((p) => p.y !== -1) }));
}

export function runPlots(log: RunLog, options: RunPlotOptions = {}): NamedPlot[] {
  const plots: NamedPlot[] = [];
  const width = options.width ?? 560;
  for (const stage of stagesOf(log)) {
    const steps = log.steps.filter((s) => s.stage === stage);
    const evals = log.evals.filter((e) => e.stage === stage);
    const id = safeId(stage);
    if (steps.length > 0) {
      plots.push({
        id: `${id}-loss`,
        stage,
        plot: linePlot({
          title: `${stage}: training loss`,
          xLabel: 'step',
          yLabel: 'loss',
          yScale: options.lossScale ?? 'log',
          series: lossSeries(steps),
          width,
        }),
      });
      plots.push({
        id: `${id}-lr`,
        stage,
        plot: linePlot({
          title: `${stage}: learning rate`,
          xLabel: 'step',
          yLabel: 'lr',
          series: [
            {
              name: 'lr',
              colour: seriesColour(0),
              points: steps.map((s) => ({ x: s.step, y: s.lr })),
            },
          ],
          width,
          height: 220,
        }),
      });
      const norms = steps.flatMap((s) =>
        s.gradNorm === undefined ? [] : [{ x: s.step, y: s.gradNorm }],
      );
      if (norms.length > 0)
        plots.push({
          id: `${id}-grad-norm`,
          stage,
          plot: linePlot({
            title: `${stage}: gradient norm before clipping`,
            xLabel: 'step',
            yLabel: '‖g‖₂',
            yScale: 'log',
            series: [
              {
                name: 'grad norm',
                colour: seriesColour(0),
                points: norms,
              },
            ],
            width,
            height: 220,
          }),
        });
    }
    if (evals.length > 0)
      plots.push({
        id: `${id}-map`,
        stage,
        plot: linePlot({
          title: `${stage}: COCO AP on ${evals[evals.length - 1].split}`,
          xLabel: 'step',
          yLabel: 'AP',
          yRange: [0, 0.1],
          series: apSeries(evals, options.categoryColours),
          width,
        }),
      });
  }
  return plots;
}
