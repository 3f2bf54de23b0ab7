// Test helper: loads the PyTorch golden fixtures of test/fixtures/core (written by
// scripts/make-core-goldens.py) and rebuilds each case as an IR graph — forward output, then the
// VJP with the fixture's cotangent — so the tests can run it on the CPU reference.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DType, NodeId, Shape } from '../../compiler/ir/index.js';
import { GraphBuilder } from '../../compiler/ir/index.js';
import type { Graph } from '../../compiler/ir/index.js';
import type { TensorData } from '../../runtime/cpu/tensor-data.js';
import { tensorData } from '../../runtime/cpu/tensor-data.js';
import { buildBackward } from '../../runtime/autodiff/backward.js';

export interface FixtureTensor {
  shape: number[];
  dtype: DType;
  data: number[];
}

export interface GoldenCase {
  name: string;
  op: string;
  params: Record<string, unknown>;
  inputs: Record<string, FixtureTensor>;
  output: FixtureTensor;
  seed?: FixtureTensor;
  grads?: Record<string, FixtureTensor>;
}

const here = dirname(fileURLToPath(import.meta.url));

export function loadGoldens(group: string): GoldenCase[] {
  const text = readFileSync(join(here, '..', 'fixtures', 'core', `${group}.json`), 'utf8');
  return (JSON.parse(text) as { cases: GoldenCase[] }).cases;
}

/** Fixture numbers are f32 values printed with 9 digits; `Math.fround` restores the exact f32 value
 * (which PyTorch saw) also when the CPU reference holds it in f64. */
export function fromFixture(t: FixtureTensor, float64 = false): TensorData {
  const values = t.dtype === 'f32' ? t.data.map(Math.fround) : t.data;
  return tensorData(t.shape, values, t.dtype, float64);
}

function num(p: Record<string, unknown>, k: string): number {
  return p[k] as number;
}
function nums(p: Record<string, unknown>, k: string): number[] {
  return p[k] as number[];
}
function pair(p: Record<string, unknown>, k: string): [number, number] {
  const v = nums(p, k);
  return [v[0], v[1]];
}

/** numpy broadcasting of `x` to `shape` with explicit IR nodes (reshape to rank, then broadcast). */
function broadcastTo(b: GraphBuilder, x: NodeId, shape: Shape): NodeId {
  const xs = b.shape(x);
  const padded = [...new Array<number>(shape.length - xs.length).fill(1), ...xs];
  return b.broadcast(b.reshape(x, padded), shape);
}

/** Builds the forward IR of a golden case from its op and params; `v` maps input names to nodes. */
export function buildForward(b: GraphBuilder, c: GoldenCase, v: Record<string, NodeId>): NodeId {
  const p = c.params;
  switch (c.op) {
    case 'unary':
      return b.unary(p.fn as never, v.x);
    case 'binary':
      return b.binary(p.fn as never, v.a, broadcastTo(b, v.b, b.shape(v.a)));
    case 'compare':
      return b.compare(p.fn as never, v.a, v.b);
    case 'select':
      return b.select(v.c, v.a, v.b);
    case 'cast':
      return b.cast(v.x, p.dtype as DType);
    case 'reduce':
      return b.reduce(p.fn as never, v.x, nums(p, 'axes'));
    case 'argmax':
      return b.add({ op: 'argmax', axis: num(p, 'axis'), inputs: [v.x] });
    case 'matmul':
      return b.add({ op: 'matmul', inputs: [v.a, v.b] });
    case 'matmul_permuted':
      return b.add({ op: 'matmul', inputs: [b.permute(v.a, [0, 2, 1]), v.b] });
    case 'conv2d':
    case 'conv_transpose2d': {
      const geometry = {
        stride: pair(p, 'stride'),
        padding: pair(p, 'padding'),
        dilation: pair(p, 'dilation'),
        groups: num(p, 'groups'),
      };
      if (c.op === 'conv2d') return b.add({ op: 'conv2d', ...geometry, inputs: [v.x, v.w] });
      return b.add({
        op: 'conv_transpose2d',
        ...geometry,
        outputPadding: pair(p, 'outputPadding'),
        inputs: [v.x, v.w],
      });
    }
    case 'pool2d':
      return b.add({
        op: 'pool2d',
        fn: p.fn as 'max' | 'avg',
        kernel: pair(p, 'kernel'),
        stride: pair(p, 'stride'),
        padding: pair(p, 'padding'),
        inputs: [v.x],
      });
    case 'reshape':
      return b.reshape(v.x, nums(p, 'shape'));
    case 'permute':
      return b.permute(v.x, nums(p, 'perm'));
    case 'slice':
      return b.add({
        op: 'slice',
        start: nums(p, 'start'),
        stop: nums(p, 'stop'),
        step: nums(p, 'step'),
        inputs: [v.x],
      });
    case 'pad':
      return b.add({
        op: 'pad',
        low: nums(p, 'low'),
        high: nums(p, 'high'),
        value: num(p, 'value'),
        inputs: [v.x],
      });
    case 'broadcast':
      return b.broadcast(v.x, nums(p, 'shape'));
    case 'concat':
      return b.add({ op: 'concat', axis: num(p, 'axis'), inputs: [v.a, v.b, v.c] });
    case 'view_chain': {
      const t = b.permute(v.x, [1, 0]);
      const s = b.add({ op: 'slice', start: [2, 1], stop: [13, 6], step: [3, 1], inputs: [t] });
      return b.reshape(s, [b.shape(s)[0] * b.shape(s)[1]]);
    }
    case 'gather':
      return b.add({ op: 'gather', axis: num(p, 'axis'), inputs: [v.x, v.index] });
    case 'scatter_add':
      return b.add({ op: 'scatter_add', axis: num(p, 'axis'), inputs: [v.base, v.index, v.src] });
    case 'roi_align':
      return b.add({
        op: 'roi_align',
        outputSize: pair(p, 'outputSize'),
        spatialScale: num(p, 'spatialScale'),
        samplingRatio: num(p, 'samplingRatio'),
        aligned: p.aligned as boolean,
        inputs: [v.feat, v.rois],
      });
    case 'argsort':
      return b.add({
        op: 'routine',
        routine: { kind: 'argsort', axis: num(p, 'axis'), descending: p.descending as boolean },
        inputs: [v.x],
      });
    case 'top_k':
      return b.add({ op: 'routine', routine: { kind: 'top_k', k: num(p, 'k') }, inputs: [v.x] });
    case 'nms':
      return b.add({
        op: 'routine',
        routine: {
          kind: 'nms',
          iouThreshold: num(p, 'iouThreshold'),
          maxOutput: num(p, 'maxOutput'),
        },
        inputs: [v.boxes, v.scores],
      });
    default:
      throw new Error(`golden case ${c.name}: unknown op ${c.op}`);
  }
}

export interface CaseGraph {
  /** Inputs: the case's inputs in fixture order, then `seed` when the case has gradients. */
  graph: Graph;
  inputNames: string[];
  /** Names of the inputs whose gradients are outputs 1… (in order). */
  gradNames: string[];
}

/** Forward (output 0) plus, when the fixture has gradients, the VJP with the fixture's seed. */
export function buildCaseGraph(c: GoldenCase): CaseGraph {
  const b = new GraphBuilder();
  const v: Record<string, NodeId> = {};
  const inputNames = Object.keys(c.inputs);
  for (const name of inputNames)
    v[name] = b.input(name, c.inputs[name].shape, c.inputs[name].dtype);
  const out = buildForward(b, c, v);
  if (c.seed === undefined || c.grads === undefined)
    return { graph: b.build([out]), inputNames, gradNames: [] };
  const seed = b.input('seed', c.seed.shape, 'f32');
  const gradNames = Object.keys(c.grads);
  const grads = buildBackward(
    b,
    out,
    gradNames.map((n) => v[n]),
    { seed },
  );
  return { graph: b.build([out, ...grads]), inputNames: [...inputNames, 'seed'], gradNames };
}
