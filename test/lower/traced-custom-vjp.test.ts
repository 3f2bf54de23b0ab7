// A `.align` function with a backward block, called from a loss inside a traced training step
// (runtime/train/lowered-loss.ts copies the lowered graph into the step's trace): the trace keeps
// the hand-written VJP, so the step's gradient is the backward block's, not round()'s zero.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectFunctions } from '../../compiler/lower/functions.js';
import { traceValueAndGrad } from '../../runtime/autodiff/grad.js';
import { interpret } from '../../runtime/cpu/interpret.js';
import { tensorData } from '../../runtime/cpu/tensor-data.js';
import { LoweredLoss } from '../../runtime/train/lowered-loss.js';

const dir = mkdtempSync(join(tmpdir(), 'alignc-vjp-'));
const file = join(dir, 'ste.align');
writeFileSync(
  file,
  `fn ste_round(x: f32[N]) -> f32[N] {
  return round(x)
  backward(dy) {
    grad x = dy
  }
}

fn quantised_l2(x: f32[N]) -> f32 {
  let q = ste_round(x)
  return sum(q * q)
}
`,
);

describe('custom VJPs in traced steps', () => {
  it('the traced gradient uses the backward block of a called function', () => {
    const { functions } = collectFunctions(file);
    const loss = new LoweredLoss(functions.get('quantised_l2')!, functions);
    const traced = traceValueAndGrad((x) => loss.call({ x }), [{ shape: [3], dtype: 'f32' }]);
    const [value, grad] = interpret(traced.graph, [
      tensorData([3], [0.4, 1.6, -2.2]),
      ...traced.constants,
    ]);
    expect(value.data[0]).toBeCloseTo(0 + 4 + 4, 5);
    // d/dx round(x)² with the straight-through backward: 2·round(x).
    expect([...grad.data]).toEqual([0, 4, -4]);
  });
});
