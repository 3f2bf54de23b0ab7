// The run report opened in a real browser: Debian's headless Chromium renders the fixture run's
// page; its DOM after rendering must hold the results table, the plots and the pictures, and a
// screenshot must show more than a blank page. Skipped, with the reason printed, when
// /usr/bin/chromium is absent (CI installs it: see docs/reports.md).

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRunReport } from '../../runtime/report/run-report.js';

const CHROMIUM = '/usr/bin/chromium';
const FIXTURE = join(import.meta.dirname, '../fixtures/report/run');
const available = existsSync(CHROMIUM);
if (!available)
  console.warn(
    `browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium to run it)`,
  );

const dir = mkdtempSync(join(tmpdir(), 'alignc-report-browser-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = promisify(execFile);

/** Chromium flags for a quiet, offline, throw-away headless run. */
function chromiumArgs(profile: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    `--user-data-dir=${profile}`,
    '--window-size=1200,1600',
  ];
}

describe.skipIf(!available)('report in headless Chromium', () => {
  it('renders the tables, plots and pictures, and a non-blank screenshot', async () => {
    const report = await buildRunReport(FIXTURE);
    const page = join(dir, 'report.html');
    writeFileSync(page, report.html);
    const url = pathToFileURL(page).href;

    const dom = await run(CHROMIUM, [...chromiumArgs(join(dir, 'p1')), '--dump-dom', url], {
      timeout: 90_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const html = dom.stdout;
    expect(html).toContain('<table id="results-finetune">');
    expect(html).toContain('<table id="per-class-finetune">');
    expect(html.match(/<svg /g)).toHaveLength(5);
    expect(html.match(/<polyline /g)?.length ?? 0).toBeGreaterThanOrEqual(10);
    expect(html.match(/<img src="data:image\/png;base64,/g)).toHaveLength(3);

    const shot = join(dir, 'report.png');
    await run(CHROMIUM, [...chromiumArgs(join(dir, 'p2')), `--screenshot=${shot}`, url], {
      timeout: 90_000,
    });
    const meta = await sharp(shot).metadata();
    expect([meta.width, meta.height]).toEqual([1200, 1600]);
    const stats = await sharp(shot).stats();
    // A blank page is one colour: zero deviation, near-zero entropy. Text, plots and the dark
    // status badge give both a clear spread.
    expect(stats.channels[0].stdev).toBeGreaterThan(10);
    expect(stats.entropy).toBeGreaterThan(0.5);
    // The top-left region (title, status badge, metadata table) is not all background.
    const top = await sharp(shot).extract({ left: 0, top: 0, width: 600, height: 200 }).stats();
    expect(top.channels[1].min).toBeLessThan(100);
  });
});
