// The benchmark harness behind `alignc bench` (cli/commands/bench.ts) and the bench/ cases: each
// case measures what a user's program sees — wall clock from encoding the work to having the result
// back on the host — as the median of several rounds after a warm-up. Sits beside the flow, on top of
// runtime/webgpu.

import type { GpuContext } from '../runtime/gpu/index.js';

export interface BenchResult {
  readonly name: string;
  /** Median wall-clock milliseconds per operation, result read back. */
  readonly ms: number;
  readonly minMs: number;
  readonly rounds: number;
  /** The throughput figure and its unit (GFLOP/s, GB/s, µs/dispatch). */
  readonly value: number;
  readonly unit: string;
  readonly note?: string;
}

export interface BenchCase {
  readonly name: string;
  readonly group: string;
  run(ctx: GpuContext, rounds: number): Promise<BenchResult>;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/**
 * Times `op` (which must encode work and read a result back) `rounds` times after one warm-up
 * that also compiles; returns the per-round wall-clock milliseconds.
 */
export async function timeRounds(rounds: number, op: () => Promise<void>): Promise<number[]> {
  await op();
  await op();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await op();
    times.push(performance.now() - t0);
  }
  return times;
}

export function result(
  name: string,
  times: readonly number[],
  perOp: number,
  unit: string,
  amount: (ms: number) => number,
  note?: string,
): BenchResult {
  const ms = median(times) / perOp;
  return {
    name,
    ms: +ms.toFixed(3),
    minMs: +(Math.min(...times) / perOp).toFixed(3),
    rounds: times.length,
    value: +amount(ms).toFixed(2),
    unit,
    ...(note ? { note } : {}),
  };
}

/** Deterministic values in [-1, 1). */
export function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}
