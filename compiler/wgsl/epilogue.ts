// Epilogues of a GEMM / convolution kernel: what happens to each accumulated value on its way to
// memory (bias, activation, or an elementwise chain that compiler/fuse folds in). compiler/wgsl/
// gemm.ts calls `epilogue(v, b, m, n)` once per output element with the batch, row and column, and
// appends the epilogue's bindings after its own. The key goes into the kernel's cache key.

import type { KernelBinding } from './kernel.js';

export interface Epilogue {
  readonly key: string;
  readonly bindings: readonly KernelBinding[];
  /** Declarations of `bindings` (numbered from `firstBinding`) and `fn epilogue(v: f32, b: u32, m: u32, n: u32) -> f32`. */
  wgsl(firstBinding: number): string;
}

export type Activation = 'none' | 'relu';

function activate(activation: Activation, x: string): string {
  switch (activation) {
    case 'none':
      return x;
    case 'relu':
      return `max(${x}, 0.0)`;
    default:
      return activation satisfies never;
  }
}

export const IDENTITY_EPILOGUE: Epilogue = {
  key: 'id',
  bindings: [],
  wgsl: () => 'fn epilogue(v: f32, b: u32, m: u32, n: u32) -> f32 { return v; }\n',
};

/**
 * Adds a bias vector and applies an activation. `along` picks the bias element: `n` (a matmul's
 * output feature), `bn` (a grouped convolution's output channel: group b, channel n within it),
 * `m` (a row bias).
 */
export function biasActivation(along: 'n' | 'bn' | 'm' | 'none', activation: Activation): Epilogue {
  if (along === 'none') {
    if (activation === 'none') return IDENTITY_EPILOGUE;
    return {
      key: `act-${activation}`,
      bindings: [],
      wgsl: () =>
        `fn epilogue(v: f32, b: u32, m: u32, n: u32) -> f32 { return ${activate(activation, 'v')}; }\n`,
    };
  }
  const index = along === 'n' ? 'n' : along === 'm' ? 'm' : 'b * params.N + n';
  return {
    key: `bias-${along}-${activation}`,
    bindings: [{ name: 'bias', kind: 'storage-read' }],
    wgsl: (first) =>
      `@group(0) @binding(${first}) var<storage, read> bias: array<f32>;\n` +
      `fn epilogue(v: f32, b: u32, m: u32, n: u32) -> f32 { return ${activate(activation, `v + bias[${index}]`)}; }\n`,
  };
}
