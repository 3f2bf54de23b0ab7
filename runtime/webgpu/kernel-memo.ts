// A memo of generated kernels: the GEMM and pack generators are pure functions of their spec and
// target, and a training step asks for the same ones every step. Generating a GEMM builds ~30 KB of
// WGSL; the memo turns that into a JSON key and a Map lookup. Flow: runtime/webgpu ops → **memo** →
// compiler/wgsl generators.

import type { Kernel, KernelTarget } from '../../compiler/wgsl/kernel.js';

const MAX_ENTRIES = 2048;
const memo = new Map<string, Kernel>();

/**
 * `generate(spec, target)`, cached by the JSON of spec and target (functions in the spec — an
 * epilogue's WGSL builder — are represented by the spec's `key` fields, which name their output).
 */
export function memoKernel<S>(
  name: string,
  spec: S,
  target: KernelTarget,
  generate: (spec: S, target: KernelTarget) => Kernel,
): Kernel {
  const key = `${name}|${JSON.stringify(spec)}|${JSON.stringify(target)}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const kernel = generate(spec, target);
  if (memo.size >= MAX_ENTRIES) memo.clear();
  memo.set(key, kernel);
  return kernel;
}
