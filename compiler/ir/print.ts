// Pretty-printer for IR graphs: one line per node, `%id = op(operands) attrs : dtype[shape]`, then
// the outputs. Used by ALIGNC_DEBUG=4, `alignc compile --emit ir`, and error messages/tests.
import type { Graph, Node } from './types.js';
import { formatType } from './types.js';

function list(v: readonly number[]): string {
  return `[${v.join(',')}]`;
}

function fmtNumber(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

/** The attributes of a node (everything but id, op, inputs, shape, dtype), as `k=v` text. */
export function formatAttributes(node: Node): string {
  switch (node.op) {
    case 'input':
      return `"${node.name}"`;
    case 'fill':
      return `value=${fmtNumber(node.value)}`;
    case 'literal': {
      const shown = node.values.slice(0, 8).map(fmtNumber).join(',');
      return `values=[${shown}${node.values.length > 8 ? `,…(${node.values.length})` : ''}]`;
    }
    case 'iota':
    case 'argmax':
    case 'concat':
    case 'gather':
    case 'scatter_add':
      return `axis=${node.axis}`;
    case 'random_bits':
    case 'select':
    case 'cast':
    case 'matmul':
    case 'reshape':
    case 'broadcast':
      return '';
    case 'unary':
    case 'binary':
    case 'compare':
      return node.fn;
    case 'reduce':
      return `${node.fn} axes=${list(node.axes)}`;
    case 'conv2d':
    case 'conv_transpose2d':
    case 'conv2d_filter_grad': {
      const base = `stride=${list(node.stride)} padding=${list(node.padding)} dilation=${list(node.dilation)} groups=${node.groups}`;
      if (node.op === 'conv_transpose2d')
        return `${base} outputPadding=${list(node.outputPadding)}`;
      if (node.op === 'conv2d_filter_grad') return `${base} kernel=${list(node.kernelSize)}`;
      return base;
    }
    case 'pool2d':
    case 'max_pool2d_grad': {
      const fn = node.op === 'pool2d' ? `${node.fn} ` : '';
      return `${fn}kernel=${list(node.kernel)} stride=${list(node.stride)} padding=${list(node.padding)}`;
    }
    case 'permute':
      return `perm=${list(node.perm)}`;
    case 'slice':
      return `start=${list(node.start)} stop=${list(node.stop)} step=${list(node.step)}`;
    case 'pad':
      return `low=${list(node.low)} high=${list(node.high)} value=${fmtNumber(node.value)}`;
    case 'roi_align':
    case 'roi_align_grad':
      return `out=${list(node.outputSize)} scale=${node.spatialScale} sampling=${node.samplingRatio} aligned=${node.aligned}`;
    case 'routine': {
      const r = node.routine;
      switch (r.kind) {
        case 'argsort':
          return `argsort axis=${r.axis} descending=${r.descending}`;
        case 'top_k':
          return `top_k k=${r.k}`;
        case 'nms':
          return `nms iou=${r.iouThreshold} max=${r.maxOutput}`;
        default:
          return r satisfies never;
      }
    }
    default:
      return node satisfies never;
  }
}

export function formatNode(node: Node): string {
  const attrs = formatAttributes(node);
  const operands = node.inputs.map((i) => `%${i}`).join(', ');
  return `%${node.id} = ${node.op}(${operands})${attrs ? ' ' + attrs : ''} : ${formatType(node)}`;
}

export function printGraph(graph: Graph): string {
  const lines = graph.nodes.map(formatNode);
  lines.push(`return ${graph.outputs.map((o) => `%${o}`).join(', ')}`);
  return lines.join('\n');
}
