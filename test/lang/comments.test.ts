// The formatter keeps every comment wherever it is written: a comment is inserted at each token
// boundary of a snippet that uses every construct, in turn, as a block and as a line comment; each
// result must format without error, keep the comment, keep the AST, and be idempotent.

import { expect, test } from 'vitest';
import { formatAlign } from '../../compiler/format/format.js';
import { parseSource } from '../../grammar/parse.js';
import { alignLexer } from '../../grammar/tokens.js';

const SNIPPET = `use std.losses as L
const n = [1, 2..3]
view a = hflip(p: 0.5) >> pad(divisor: 32)
fn f(x: f32[N, 4], t: f32 = 1) -> f32 {
  let s[i] = sum[c](x[i, c]) * -t
  return sum(s)
  backward(g) {
    grad x = g * f32(x > 0)
  }
}
stage s {
  data d, batch: 2
  loss l = L.l1(o.d, o.e, w), weight: 1
  train 1 epochs
}
`;

function meaning(text: string): string {
  const r = parseSource(text, 'c.align');
  if (!r.module) throw new Error(`does not parse: ${r.diagnostics[0]?.message}\n${text}`);
  return JSON.stringify(r.module.items, (k, v: unknown) =>
    k === 'span' || k === 'keywordSpan' || k === 'sourceSpan' ? undefined : v,
  );
}

test('a comment at every token boundary survives formatting', async () => {
  const boundaries = alignLexer.tokenize(SNIPPET).tokens.map((t) => t.endOffset! + 1);
  const expected = meaning(SNIPPET);
  for (const at of boundaries) {
    for (const comment of ['/* c */', '// c\n']) {
      const text = `${SNIPPET.slice(0, at)} ${comment}${SNIPPET.slice(at)}`;
      const where = `comment ${JSON.stringify(comment)} at offset ${at}`;
      let once: string;
      try {
        once = await formatAlign(text, 'c.align');
      } catch (error) {
        throw new Error(`${where}: ${(error as Error).message}`);
      }
      expect(once, where).toContain(comment.trim());
      expect(meaning(once), where).toBe(expected);
      expect(await formatAlign(once, 'c.align'), where).toBe(once);
    }
  }
}, 60_000);
