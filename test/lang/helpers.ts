// Shared helpers of the language tests: check in-memory `.align` sources and list the diagnostics
// as `line:col CODE message` strings, so each test states its golden messages compactly.

import { checkFiles, type CheckedProgram } from '../../compiler/check/index.js';
import { readFromDisk } from '../../compiler/check/modules.js';
import { parseSource } from '../../grammar/parse.js';

export const MAIN = '/virtual/main.align';

/** Checks `files` (path → text; the first is the entry); other paths (the std library) come from disk. */
export function checkVirtual(files: Record<string, string>): CheckedProgram {
  const [entry] = Object.keys(files);
  return checkFiles([entry], (p) => (p in files ? files[p] : readFromDisk(p)));
}

export function diagnosticsOf(source: string, extra: Record<string, string> = {}): string[] {
  const program = checkVirtual({ [MAIN]: source, ...extra });
  return program.diagnostics.map(
    (d) => `${d.span.start.line}:${d.span.start.column} ${d.code} ${d.message}`,
  );
}

export function syntaxErrorsOf(source: string): string[] {
  return parseSource(source, MAIN).diagnostics.map(
    (d) => `${d.span.start.line}:${d.span.start.column} ${d.code} ${d.message}`,
  );
}

/** Declarations most stage tests build on (lines 1–4). */
export const PRELUDE = [
  'dataset d = coco(images: "i", annotations: "a.json")',
  'view aug = resize(short: [800], max: 1333) >> hflip(p: 0.5)',
  'detector det = retinanet(backbone: resnet(depth: 18), neck: fpn(levels: 3..7, channels: 64), head: retina_head(embed: mlp(64, 32)))',
  'detector slow = ema(det, momentum: 0.99)',
].join('\n');
