// Small HTML building blocks of the run report (runtime/report: run log → HTML): the page shell
// with its inline stylesheet, tables, number formatting and the PNG data: URI. No scripts, no
// external resources: the page renders the same from a file, an e-mail or a CI artifact.

import { escapeXml } from './escape.js';

export const REPORT_CSS = `
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1180px;
  color: #1d1d1f; background: #fafafa; font-size: 14px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
table { border-collapse: collapse; margin: 6px 0 12px; background: #fff; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f0f0f0; font-weight: 600; }
code { font-family: 'DejaVu Sans Mono', monospace; font-size: 12px; }
.status { display: inline-block; padding: 2px 10px; border-radius: 10px; color: #fff; font-weight: 600; }
.status-completed { background: #1b7f3b; } .status-failed { background: #b00020; }
.status-interrupted { background: #b26a00; } .status-unfinished { background: #555; }
.warning { background: #fff4e5; border-left: 4px solid #b26a00; padding: 6px 10px; margin: 8px 0; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.plots figure, .sample figure { margin: 0; background: #fff; border: 1px solid #ddd; }
.sample { display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 16px; }
.sample figcaption { font-size: 12px; padding: 4px 6px; }
.sample img { display: block; }
.legend-swatch { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 10px; vertical-align: middle; }
`;

/** A page with the report's stylesheet. */
export function page(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeXml(title)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    '</head>',
    '<body>',
    body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export type Cell = string | { readonly html: string } | { readonly num: string };

function cell(c: Cell, tag: 'td' | 'th'): string {
  if (typeof c === 'string') return `<${tag}>${escapeXml(c)}</${tag}>`;
  if ('num' in c) return `<${tag} class="num">${escapeXml(c.num)}</${tag}>`;
  return `<${tag}>${c.html}</${tag}>`;
}

/** A table; `head` cells are <th>, each row's cells <td>. */
export function table(
  head: readonly Cell[],
  rows: readonly (readonly Cell[])[],
  id?: string,
): string {
  const idAttr = id ? ` id="${escapeXml(id)}"` : '';
  return [
    `<table${idAttr}>`,
    `<thead><tr>${head.map((h) => cell(h, 'th')).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c) => cell(c, 'td')).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}

/** An AP/AR value with 3 decimals; pycocotools' -1 ("nothing to measure") shows as "n/a". */
export function formatStat(value: number): string {
  if (value === -1) return 'n/a';
  if (!Number.isFinite(value)) return String(value);
  return value.toFixed(3);
}

/** A number in a compact, readable form (losses, lr, throughput). */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) return value.toExponential(3);
  return Number(value.toPrecision(4)).toString();
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${rest} s` : `${rest} s`;
}

export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}
