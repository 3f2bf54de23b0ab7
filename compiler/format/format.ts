// Formatting `.align` text: the API behind `alignc fmt`. Runs Prettier with the `.align` plugin and
// the project's print width; syntax errors come back as a DiagnosticsError (an AlignError).

import { format } from 'prettier';
import { parseSource } from '../../grammar/parse.js';
import { DiagnosticsError } from '../diagnostics.js';
import { alignPlugin } from './plugin.js';

export const PRINT_WIDTH = 100;

export async function formatAlign(text: string, file: string): Promise<string> {
  const parsed = parseSource(text, file);
  if (!parsed.module)
    throw new DiagnosticsError(parsed.diagnostics, (f) => (f === file ? text : undefined));
  return format(text, {
    parser: 'align',
    plugins: [alignPlugin],
    filepath: file,
    printWidth: PRINT_WIDTH,
  });
}
