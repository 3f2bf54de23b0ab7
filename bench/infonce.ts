// Benchmark case `infonce-N`: value and gradients of AlignDet's box InfoNCE (`box_infonce` in
// pipelines/std/losses.align) with N = M rows of D = 32 on the WebGPU executor, built as a training
// step builds its loss (compiler/lower gradient graph, simplified as runtime/train does). N = 4096
// is AlignDet's RetinaNet sample size (2048 anchors per image, batch 2). Inputs are drawn as
// `alignc check-grad` draws them (labels in [-1, 3)); the cost does not depend on their values.
// Beside the flow: .align → compiler/lower → compiler/fuse + wgsl → runtime/webgpu.

import type { FnDecl } from '../grammar/ast.js';
import { simplifyGraph } from '../compiler/ir/index.js';
import { collectFunctions, stdModulePath } from '../compiler/lower/functions.js';
import { declaredArgTypes, drawArguments, gradientGraph } from '../compiler/lower/grad.js';
import { withFloatPrecision } from '../runtime/cpu/tensor-data.js';
import type { GpuContext } from '../runtime/gpu/index.js';
import { Rng } from '../runtime/rng.js';
import { GraphExecutor } from '../runtime/webgpu/executor.js';
import { result, timeRounds, type BenchCase } from './harness.js';

const EMBED = 32;

/**
 * Per-round milliseconds of value + gradients of `name` from `functions` (a box_infonce-shaped
 * function) at N = M = `rows`; exported so a before/after comparison can time another version.
 */
export async function timeInfonce(
  ctx: GpuContext,
  fn: FnDecl,
  functions: ReadonlyMap<string, FnDecl>,
  rows: number,
  rounds: number,
): Promise<number[]> {
  const dims = new Map([
    ['N', rows],
    ['M', rows],
    ['D', EMBED],
  ]);
  const { lowered, graph } = gradientGraph(fn, declaredArgTypes(fn, dims).types, functions);
  const executor = await GraphExecutor.compile(ctx, simplifyGraph(graph));
  const args = drawArguments(fn, Rng.fromSeed(7), dims);
  const inputs = lowered.params.map((p) => withFloatPrecision(args.get(p.name)!, false));
  return timeRounds(rounds, async () => {
    await executor.run(inputs);
  });
}

export function infonceCase(rows: number): BenchCase {
  return {
    name: `infonce-${rows}`,
    group: 'losses',
    async run(ctx, rounds) {
      const { functions } = collectFunctions(stdModulePath(['std', 'losses']));
      const fn = functions.get('box_infonce');
      if (!fn) throw new Error('std.losses has no box_infonce');
      const times = await timeInfonce(ctx, fn, functions, rows, rounds);
      return result(
        `box_infonce value + gradients, N = M = ${rows}, D = ${EMBED}`,
        times,
        1,
        'Mpairs/s',
        (ms) => (rows * 2 * rows) / (ms * 1e3),
      );
    },
  };
}
