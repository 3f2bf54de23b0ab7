// The HTML report of one run (runtime/report, the end of the flow: `runs/NAME/log.jsonl` +
// `runs/NAME/images/*.json` → one self-contained HTML file; `alignc report` is its front end).
// Sections: status and metadata, per stage the loss / lr / AP plots and a throughput summary, the
// results table (12 COCO stats and per-class AP of each stage's last evaluation), checkpoints, and
// the drawn samples. Images are embedded as data: URIs so the page is one file (see
// docs/reports.md for why).

import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AlignError } from '../errors.js';
import type { RunLog } from '../io/run-log-reader.js';
import { COCO_STAT_NAMES, type EvalRecord } from '../io/run-log.js';
import { escapeXml } from './escape.js';
import {
  formatDuration,
  formatStat,
  formatValue,
  page,
  pngDataUri,
  table,
  type Cell,
} from './html-parts.js';
import { categoryColours } from './colours.js';
import { readRunDirLog, segmentWallSeconds, type MergedRunLog } from './merged-run-log.js';
import { renderSample, type RenderedSample } from './render-sample.js';
import { runPlots, stagesOf, type NamedPlot } from './run-plots.js';
import { readSampleRecord, type SampleRecord } from './sample-record.js';
import type { ScaleKind } from './scale.js';

export interface RunReportOptions {
  /** At most this many samples are drawn (the latest steps first). Default 6. */
  readonly maxSamples?: number;
  readonly lossScale?: ScaleKind;
  readonly scoreThreshold?: number;
}

export interface RunReport {
  readonly html: string;
  /** Every log file of the run directory, merged (`log.jsonl` and `log.resume-N.jsonl`). */
  readonly log: MergedRunLog;
  readonly plots: readonly NamedPlot[];
  readonly samplesShown: number;
  /** Problems that did not stop the report (a bad sample file, a missing image); also in the page. */
  readonly warnings: readonly string[];
}

function statusBlock(log: RunLog): string {
  const status = log.end?.status ?? 'unfinished';
  const label = log.end === null ? 'no end record: still running, or killed' : `${log.end.status}`;
  const message = log.end?.message ? ` — ${escapeXml(log.end.message)}` : '';
  return `<p><span class="status status-${status}">${escapeXml(label)}</span>${message}</p>`;
}

/** "log.jsonl (3 min 2 s, interrupted) + log.resume-1.jsonl (1 min 5 s, completed)": the processes. */
function segmentsText(log: MergedRunLog): string {
  return log.segments
    .map(
      (s) =>
        `${basename(s.path)} (${formatDuration(segmentWallSeconds(s))}, ${s.end?.status ?? 'no end record'})`,
    )
    .join(' + ');
}

function metadataTable(log: MergedRunLog): string {
  const h = log.header;
  const m = h.machine;
  const rows: Cell[][] = [
    ['run id', { html: `<code>${escapeXml(h.runId)}</code>` }],
    [
      'pipeline',
      {
        html: `<code>${escapeXml(h.pipeline)}</code> (sha256 ${escapeXml(h.pipelineSha256.slice(0, 12))}…)`,
      },
    ],
    ['seed', String(h.seed)],
    ['command', { html: `<code>${escapeXml(h.command.join(' '))}</code>` }],
    ['started', h.startedAt],
    // The processes' own times: the gaps between a run and its continuation are not the run's.
    ['wall time', formatDuration(log.segments.reduce((t, g) => t + segmentWallSeconds(g), 0))],
    ...(log.segments.length > 1 ? [['log files', segmentsText(log)] satisfies Cell[]] : []),
    [
      'machine',
      `${m.platform}, ${m.cpu} × ${m.cpuCount}, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}`,
    ],
    ['adapter', m.adapter ?? 'none'],
    ...Object.entries(h.settings).map(([k, v]): Cell[] => [k, String(v)]),
  ];
  return table(['', 'value'], rows, 'metadata');
}

function median(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2;
}

function stageSummary(log: RunLog, stage: string): string {
  const steps = log.steps.filter((s) => s.stage === stage);
  if (steps.length === 0) return '';
  const mean = (f: (s: (typeof steps)[number]) => number) =>
    steps.reduce((a, s) => a + f(s), 0) / steps.length;
  const shares = {
    data: mean((s) => s.timeShare.data),
    forward: mean((s) => s.timeShare.forward),
    backward: mean((s) => s.timeShare.backward),
    optimizer: mean((s) => s.timeShare.optimizer),
  };
  const other = Math.max(0, 1 - shares.data - shares.forward - shares.backward - shares.optimizer);
  const last = steps[steps.length - 1];
  const pct = (v: number): Cell => ({ num: `${(v * 100).toFixed(1)} %` });
  return table(
    [
      'steps logged',
      'last step',
      'epochs',
      'median images/s',
      'data',
      'forward',
      'backward',
      'optimizer',
      'other',
    ],
    [
      [
        { num: String(steps.length) },
        { num: String(last.step) },
        { num: String(last.epoch + 1) },
        { num: formatValue(median(steps.map((s) => s.imagesPerSecond))) },
        pct(shares.data),
        pct(shares.forward),
        pct(shares.backward),
        pct(shares.optimizer),
        pct(other),
      ],
    ],
  );
}

function resultsTables(stage: string, evals: readonly EvalRecord[]): string {
  if (evals.length === 0) return '<p>No evaluation in this stage.</p>';
  const last = evals[evals.length - 1];
  const best = evals.reduce((a, e) => (e.stats.AP > a.stats.AP ? e : a), evals[0]);
  const id = stage.replace(/[^A-Za-z0-9_-]+/g, '_');
  const statsTable = table(
    ['step', ...COCO_STAT_NAMES, 'VOC AP50'],
    [last, ...(best === last ? [] : [best])].map((e) => [
      e === last ? `${e.step} (last)` : `${e.step} (best AP)`,
      ...COCO_STAT_NAMES.map((n): Cell => ({ num: formatStat(e.stats[n]) })),
      { num: formatStat(e.vocAp50) },
    ]),
    `results-${id}`,
  );
  const classTable = table(
    ['category', 'AP', 'AP50', 'AP75', 'VOC AP50'],
    last.perCategory.map((c) => [
      c.name,
      { num: formatStat(c.ap) },
      { num: formatStat(c.ap50) },
      { num: formatStat(c.ap75) },
      { num: formatStat(c.vocAp50) },
    ]),
    `per-class-${id}`,
  );
  const c = last.counts;
  return [
    `<p>Evaluated on <b>${escapeXml(last.split)}</b>: ${c.images} images, ${c.groundTruth} ground-truth boxes, ${c.detections} detections (step ${last.step}).</p>`,
    statsTable,
    '<h3>Per-class AP (last evaluation)</h3>',
    classTable,
  ].join('\n');
}

function sampleBlock(s: RenderedSample, colours: ReadonlyMap<string, string>): string {
  const r = s.record;
  const legend = [...colours]
    .map(
      ([name, colour]) =>
        `<span class="legend-swatch" style="background:${colour}"></span>${escapeXml(name)}`,
    )
    .join('');
  const figures = s.panels.map(
    (p) =>
      `<figure style="width:${p.width}px"><img src="${pngDataUri(p.png)}" width="${p.width}" height="${p.height}" alt="${escapeXml(p.title)}"><figcaption>${escapeXml(p.title)}</figcaption></figure>`,
  );
  return [
    `<h3>${escapeXml(r.image)} <small>(${escapeXml(r.stage)}, step ${r.step}, ${s.originalWidth}×${s.originalHeight})</small></h3>`,
    `<p>${r.groundTruth.length} ground-truth boxes, ${r.proposals.length} proposals, ${r.matches.length} matches, ${r.predictions.length} predictions. ${legend}</p>`,
    `<div class="sample">${figures.join('\n')}</div>`,
  ].join('\n');
}

/** Loads the sample records of `runDir/images`, the latest steps first; bad files become warnings. */
function loadSamples(runDir: string, warnings: string[]): SampleRecord[] {
  let names: string[];
  try {
    names = readdirSync(join(runDir, 'images'))
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch (error) {
    // No images/ folder: a run that drew no samples. Anything else is worth hearing about.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    warnings.push(`cannot list ${join(runDir, 'images')}: ${String(error)}`);
    return [];
  }
  const records: SampleRecord[] = [];
  for (const name of names) {
    try {
      records.push(readSampleRecord(join(runDir, 'images', name)));
    } catch (error) {
      if (!(error instanceof AlignError)) throw error;
      warnings.push(error.message);
    }
  }
  return records.sort((a, b) => b.step - a.step);
}

export async function buildRunReport(
  runDir: string,
  options: RunReportOptions = {},
): Promise<RunReport> {
  const log = readRunDirLog(runDir);
  const warnings: string[] = [];
  for (const segment of log.segments)
    if (segment.truncatedLastLine)
      warnings.push(
        `${segment.path}:${segment.truncatedLastLine.line}: the last line is incomplete (the run was killed while writing it) and was left out`,
      );
  const records = loadSamples(runDir, warnings).slice(0, options.maxSamples ?? 6);
  // One colour per category across the AP plot and every picture.
  const colours = categoryColours([
    ...log.evals.flatMap((e) => e.perCategory.map((c) => c.name)),
    ...records.flatMap((r) => [
      ...r.groundTruth.map((g) => g.label),
      ...r.predictions.map((p) => p.label),
    ]),
  ]);
  const plots = runPlots(log, { lossScale: options.lossScale, categoryColours: colours });
  for (const p of plots) for (const note of p.plot.notes) warnings.push(`${p.id}: ${note}`);

  const rendered: RenderedSample[] = [];
  for (const record of records) {
    try {
      rendered.push(
        await renderSample(record, runDir, {
          categoryColours: colours,
          scoreThreshold: options.scoreThreshold,
        }),
      );
    } catch (error) {
      if (!(error instanceof AlignError)) throw error;
      warnings.push(`sample ${record.image}: ${error.message}`);
    }
  }

  const body: string[] = [
    `<h1>Run ${escapeXml(log.header.name)}</h1>`,
    statusBlock(log),
    ...warnings.map((w) => `<div class="warning">${escapeXml(w)}</div>`),
    '<h2>Run</h2>',
    metadataTable(log),
  ];
  for (const stage of stagesOf(log)) {
    body.push(
      `<h2 id="stage-${escapeXml(stage)}">Stage ${escapeXml(stage)}</h2>`,
      stageSummary(log, stage),
    );
    const stagePlots = plots.filter((p) => p.stage === stage);
    if (stagePlots.length > 0)
      body.push(
        '<div class="plots">',
        ...stagePlots.map((p) => `<figure id="plot-${escapeXml(p.id)}">${p.plot.svg}</figure>`),
        '</div>',
      );
    body.push(
      '<h3>Results</h3>',
      resultsTables(
        stage,
        log.evals.filter((e) => e.stage === stage),
      ),
    );
  }
  if (log.checkpoints.length > 0)
    body.push(
      '<h2>Checkpoints</h2>',
      table(
        ['stage', 'step', 'file'],
        log.checkpoints.map((c) => [
          c.stage,
          { num: String(c.step) },
          { html: `<code>${escapeXml(c.path)}</code>` },
        ]),
        'checkpoints',
      ),
    );
  if (rendered.length > 0) {
    body.push('<h2>Samples</h2>', ...rendered.map((s) => sampleBlock(s, colours)));
  }
  body.push(
    `<p><small>Made by <code>alignc report</code> from ${log.segments.map((g) => `<code>${escapeXml(g.path)}</code>`).join(', ')}.</small></p>`,
  );
  return {
    html: page(`alignc run ${log.header.name}`, body.join('\n')),
    log,
    plots,
    samplesShown: rendered.length,
    warnings,
  };
}
