// The CPU reference interpreter: runs an IR graph (compiler/ir) on host typed arrays, one node at a
// time in graph order. It is the executable definition of every primitive — slow and plain on
// purpose; GPU kernels are tested against it. `float64: true` evaluates all f32 tensors in f64
// (used for finite-difference gradient checks). Flow: IR → **CPU reference** → values.
import type { Graph, Node } from '../../compiler/ir/index.js';
import { IrVerifyError, sizeOf, verifyGraph } from '../../compiler/ir/index.js';
import { conv2d, conv2dFilterGrad, convTranspose2d, maxPool2dGrad, pool2d } from './conv.js';
import { applyBinary, applyCompare, applyUnary, castValue } from './elementwise.js';
import { randomBits } from './random.js';
import { roiAlign, roiAlignGrad } from './roi-align.js';
import { runRoutine } from './routines.js';
import type { Storage, TensorData } from './tensor-data.js';
import { allocate } from './tensor-data.js';
import {
  argmax,
  concat,
  gather,
  iota,
  matmul,
  movement,
  reduce,
  scatterAdd,
} from './tensor-ops.js';

export interface InterpretOptions {
  /** Hold f32 tensors in Float64Array and compute in f64. */
  readonly float64?: boolean;
  /** Skip `verifyGraph` (the caller just verified it). */
  readonly trusted?: boolean;
}

type FloatStorage = Float32Array | Float64Array;

function floats(s: Storage): FloatStorage {
  if (s instanceof Float32Array || s instanceof Float64Array) return s;
  throw new IrVerifyError('internal: expected float storage');
}

function ints(s: Storage): Int32Array {
  if (s instanceof Int32Array) return s;
  throw new IrVerifyError('internal: expected i32 storage');
}

function evalNode(
  node: Node,
  ops: readonly TensorData[],
  inputValue: () => TensorData,
  float64: boolean,
): Storage {
  const out = allocate(node.dtype, sizeOf(node.shape), float64);
  const a = ops[0];
  switch (node.op) {
    case 'input':
      out.set(inputValue().data);
      break;
    case 'fill':
      out.fill(node.value);
      break;
    case 'literal':
      node.values.forEach((v, i) => (out[i] = v));
      break;
    case 'iota':
      iota(node, out);
      break;
    case 'random_bits':
      if (!(out instanceof Uint32Array)) throw new IrVerifyError('internal: random_bits storage');
      randomBits(a.data, out);
      break;
    case 'unary':
      for (let i = 0; i < out.length; i++) out[i] = applyUnary(node.fn, node.dtype, a.data[i]);
      break;
    case 'binary':
      for (let i = 0; i < out.length; i++)
        out[i] = applyBinary(node.fn, node.dtype, a.data[i], ops[1].data[i]);
      break;
    case 'compare':
      for (let i = 0; i < out.length; i++)
        out[i] = applyCompare(node.fn, a.data[i], ops[1].data[i]);
      break;
    case 'select':
      for (let i = 0; i < out.length; i++) out[i] = a.data[i] ? ops[1].data[i] : ops[2].data[i];
      break;
    case 'cast':
      for (let i = 0; i < out.length; i++) out[i] = castValue(a.dtype, node.dtype, a.data[i]);
      break;
    case 'reduce':
      reduce(node, a, out);
      break;
    case 'argmax':
      argmax(node, a, ints(out));
      break;
    case 'matmul':
      matmul(a, ops[1], floats(out));
      break;
    case 'conv2d':
      conv2d(node, a, ops[1], floats(out));
      break;
    case 'conv_transpose2d':
      convTranspose2d(node, a, ops[1], floats(out));
      break;
    case 'conv2d_filter_grad':
      conv2dFilterGrad(node, a, ops[1], floats(out));
      break;
    case 'pool2d':
      pool2d(node, a, floats(out));
      break;
    case 'max_pool2d_grad':
      maxPool2dGrad(node, a, ops[1], floats(out));
      break;
    case 'reshape':
    case 'permute':
    case 'slice':
    case 'pad':
    case 'broadcast':
      movement(node, a, out);
      break;
    case 'concat':
      concat(node, ops, out);
      break;
    case 'gather':
      gather(node, a, ops[1], out);
      break;
    case 'scatter_add':
      scatterAdd(node, a, ops[1], ops[2], out);
      break;
    case 'roi_align':
      roiAlign(node, a, ops[1], floats(out));
      break;
    case 'roi_align_grad':
      roiAlignGrad(node, a, ops[1], floats(out));
      break;
    case 'routine':
      runRoutine(node.routine, ops, ints(out));
      break;
    default:
      return node satisfies never;
  }
  return out;
}

/** Thrown when the values passed for a graph's inputs do not match its input nodes. */
export class InputMismatchError extends IrVerifyError {}

/** Runs `graph` with `inputs[k]` bound to input node `graph.inputs[k]`; returns the outputs in order. */
export function interpret(
  graph: Graph,
  inputs: readonly TensorData[],
  options: InterpretOptions = {},
): TensorData[] {
  if (!options.trusted) verifyGraph(graph);
  const float64 = options.float64 ?? false;
  if (inputs.length !== graph.inputs.length) {
    throw new InputMismatchError(`graph takes ${graph.inputs.length} inputs, got ${inputs.length}`);
  }
  const inputSlot = new Map<number, TensorData>();
  graph.inputs.forEach((id, k) => {
    const node = graph.nodes[id];
    const given = inputs[k];
    const same =
      given.shape.length === node.shape.length && given.shape.every((d, i) => d === node.shape[i]);
    if (!same || given.dtype !== node.dtype) {
      const name = node.op === 'input' ? node.name : String(id);
      throw new InputMismatchError(
        `input "${name}" is ${node.dtype}[${node.shape.join(',')}], got ${given.dtype}[${given.shape.join(',')}]`,
      );
    }
    if (given.data.length !== sizeOf(node.shape)) {
      const name = node.op === 'input' ? node.name : String(id);
      throw new InputMismatchError(
        `input "${name}" has ${given.data.length} elements, its shape needs ${sizeOf(node.shape)}`,
      );
    }
    inputSlot.set(id, given);
  });
  const values: TensorData[] = [];
  for (const node of graph.nodes) {
    const ops = node.inputs.map((i) => values[i]);
    const data = evalNode(node, ops, () => inputSlot.get(node.id) as TensorData, float64);
    values.push({ shape: node.shape, dtype: node.dtype, data });
  }
  return graph.outputs.map((o) => values[o]);
}
