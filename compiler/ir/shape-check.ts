// Small checks shared by the IR shape rules (shape-rules.ts, shape-rules-nn.ts): each throws an
// IrShapeError that names the op and what is wrong.
import { IrShapeError } from './errors.js';
import type { Conv2dParams, DType, NodeSpec, Shape, TensorType } from './types.js';

export function fail(spec: NodeSpec, message: string): never {
  throw new IrShapeError(`${spec.op}: ${message}`);
}

export function fmt(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function checkArity(spec: NodeSpec, operands: readonly TensorType[], n: number): void {
  if (operands.length !== n) fail(spec, `expects ${n} operand(s), got ${operands.length}`);
}

export function checkShape(spec: NodeSpec, shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) fail(spec, `${what} ${fmt(shape)} has a bad dimension ${d}`);
  }
}

export function checkAxis(spec: NodeSpec, axis: number, rank: number): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) {
    fail(spec, `axis ${axis} is outside 0..${rank - 1}`);
  }
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function requireDtype(
  spec: NodeSpec,
  t: TensorType,
  allowed: readonly DType[],
  what: string,
): void {
  if (!allowed.includes(t.dtype)) {
    fail(spec, `${what} must be ${allowed.join(' or ')}, got ${t.dtype}`);
  }
}

export function pair(spec: NodeSpec, p: readonly number[], what: string, min: number): void {
  if (p.length !== 2 || !p.every((v) => Number.isInteger(v) && v >= min)) {
    fail(spec, `${what} must be two integers ≥ ${min}, got [${p.join(',')}]`);
  }
}

export function checkConvParams(spec: NodeSpec, c: Conv2dParams): void {
  pair(spec, c.stride, 'stride', 1);
  pair(spec, c.padding, 'padding', 0);
  pair(spec, c.dilation, 'dilation', 1);
  if (!Number.isInteger(c.groups) || c.groups < 1)
    fail(spec, `groups must be ≥ 1, got ${c.groups}`);
}

/** Output spatial size of a convolution / pooling window along one axis (floor mode). */
export function convOutSize(
  size: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}
