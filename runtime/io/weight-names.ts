// Parameter names and shapes of ResNet backbones, in torchvision's naming, and the mapping to
// mmdetection's names, so that a user's ImageNet ResNet in safetensors loads into alignc and an
// alignc checkpoint loads into mmdetection (`load_state_dict(strict=False)`). The I/O end of the
// flow, next to safetensors.ts.
//
// mmdetection's ResNet (pytorch style, BN) registers its modules under the same names as
// torchvision's (conv1, bn1, layerN.B.convK / bnK, layerN.B.downsample.0 / .1), inside the detector's
// `backbone.` prefix; it has no `fc` classifier. So the mapping is a prefix, minus `fc.*`.

import { AlignError } from '../errors.js';
import type { HostTensor } from './safetensors.js';

export class WeightNameError extends AlignError {
  readonly code = 'E_WEIGHTS';
}

export type ResnetDepth = 18 | 34 | 50;

export interface StateEntry {
  readonly name: string;
  readonly shape: readonly number[];
  /** Trainable parameter, or a BN buffer (running statistics, batch counter). */
  readonly kind: 'parameter' | 'buffer';
}

const STAGES: Record<
  ResnetDepth,
  { readonly blocks: readonly number[]; readonly bottleneck: boolean }
> = {
  18: { blocks: [2, 2, 2, 2], bottleneck: false },
  34: { blocks: [3, 4, 6, 3], bottleneck: false },
  50: { blocks: [3, 4, 6, 3], bottleneck: true },
};

export interface ResnetNamingOptions {
  /** Multiplies every channel count (64·m in the stem); small detectors for tests use 1/8 or 1/4. */
  readonly widthMultiplier?: number;
  /** Include torchvision's `fc` classifier (1000 classes). */
  readonly includeClassifier?: boolean;
  readonly numClasses?: number;
}

function batchNorm(out: StateEntry[], prefix: string, channels: number): void {
  out.push({ name: `${prefix}.weight`, shape: [channels], kind: 'parameter' });
  out.push({ name: `${prefix}.bias`, shape: [channels], kind: 'parameter' });
  out.push({ name: `${prefix}.running_mean`, shape: [channels], kind: 'buffer' });
  out.push({ name: `${prefix}.running_var`, shape: [channels], kind: 'buffer' });
  out.push({ name: `${prefix}.num_batches_tracked`, shape: [], kind: 'buffer' });
}

/** The state-dict entries of a torchvision ResNet, in torchvision's order. */
export function resnetStateEntries(
  depth: ResnetDepth,
  options: ResnetNamingOptions = {},
): StateEntry[] {
  const spec = STAGES[depth];
  if (spec === undefined) {
    throw new WeightNameError(`ResNet depth ${String(depth)} is not supported (18, 34 or 50)`);
  }
  const m = options.widthMultiplier ?? 1;
  const stemWidth = Math.round(64 * m);
  if (!(stemWidth >= 1))
    throw new WeightNameError(`ResNet width multiplier ${m} leaves no channels`);
  const out: StateEntry[] = [];
  out.push({ name: 'conv1.weight', shape: [stemWidth, 3, 7, 7], kind: 'parameter' });
  batchNorm(out, 'bn1', stemWidth);
  let inplanes = stemWidth;
  const expansion = spec.bottleneck ? 4 : 1;
  spec.blocks.forEach((count, s) => {
    const planes = Math.round(64 * 2 ** s * m);
    for (let b = 0; b < count; b++) {
      const p = `layer${s + 1}.${b}`;
      const stride = s > 0 && b === 0 ? 2 : 1;
      if (spec.bottleneck) {
        out.push({ name: `${p}.conv1.weight`, shape: [planes, inplanes, 1, 1], kind: 'parameter' });
        batchNorm(out, `${p}.bn1`, planes);
        out.push({ name: `${p}.conv2.weight`, shape: [planes, planes, 3, 3], kind: 'parameter' });
        batchNorm(out, `${p}.bn2`, planes);
        out.push({
          name: `${p}.conv3.weight`,
          shape: [planes * 4, planes, 1, 1],
          kind: 'parameter',
        });
        batchNorm(out, `${p}.bn3`, planes * 4);
      } else {
        out.push({ name: `${p}.conv1.weight`, shape: [planes, inplanes, 3, 3], kind: 'parameter' });
        batchNorm(out, `${p}.bn1`, planes);
        out.push({ name: `${p}.conv2.weight`, shape: [planes, planes, 3, 3], kind: 'parameter' });
        batchNorm(out, `${p}.bn2`, planes);
      }
      if (stride !== 1 || inplanes !== planes * expansion) {
        out.push({
          name: `${p}.downsample.0.weight`,
          shape: [planes * expansion, inplanes, 1, 1],
          kind: 'parameter',
        });
        batchNorm(out, `${p}.downsample.1`, planes * expansion);
      }
      inplanes = planes * expansion;
    }
  });
  if (options.includeClassifier === true) {
    const classes = options.numClasses ?? 1000;
    out.push({ name: 'fc.weight', shape: [classes, inplanes], kind: 'parameter' });
    out.push({ name: 'fc.bias', shape: [classes], kind: 'parameter' });
  }
  return out;
}

export const MMDET_BACKBONE_PREFIX = 'backbone.';

/** torchvision ResNet name → mmdetection detector name; undefined for the classifier (`fc.*`). */
export function torchvisionToMmdet(name: string): string | undefined {
  if (name.startsWith('fc.')) return undefined;
  return MMDET_BACKBONE_PREFIX + name;
}

/** mmdetection detector name → torchvision ResNet name; undefined outside the backbone. */
export function mmdetToTorchvision(name: string): string | undefined {
  return name.startsWith(MMDET_BACKBONE_PREFIX)
    ? name.slice(MMDET_BACKBONE_PREFIX.length)
    : undefined;
}

export interface BackboneMatch {
  /** Expected entries found with the right shape, by torchvision name. */
  readonly tensors: ReadonlyMap<string, HostTensor>;
  /** Names in the checkpoint that are not part of the backbone (e.g. `fc.*`, heads). */
  readonly unused: readonly string[];
}

/**
 * Picks a ResNet's tensors out of a checkpoint written with either torchvision names or mmdet
 * names (`backbone.` prefix), checking every expected parameter is present with its shape. BN
 * `num_batches_tracked` may be missing (it is not used by frozen BN). Errors list every problem.
 */
export function matchResnetBackbone(
  checkpoint: ReadonlyMap<string, HostTensor>,
  depth: ResnetDepth,
  file: string,
  options: ResnetNamingOptions = {},
): BackboneMatch {
  const expected = resnetStateEntries(depth, { ...options, includeClassifier: false });
  const mmdetStyle = [...checkpoint.keys()].some((k) => k.startsWith(MMDET_BACKBONE_PREFIX));
  const lookup = (tv: string): string => (mmdetStyle ? MMDET_BACKBONE_PREFIX + tv : tv);
  const problems: string[] = [];
  const tensors = new Map<string, HostTensor>();
  const used = new Set<string>();
  for (const entry of expected) {
    const key = lookup(entry.name);
    const t = checkpoint.get(key);
    if (t === undefined) {
      if (!entry.name.endsWith('num_batches_tracked')) problems.push(`missing "${key}"`);
      continue;
    }
    used.add(key);
    if (t.shape.length !== entry.shape.length || t.shape.some((d, i) => d !== entry.shape[i])) {
      problems.push(
        `"${key}" has shape [${t.shape.join(', ')}], expected [${entry.shape.join(', ')}]`,
      );
      continue;
    }
    tensors.set(entry.name, t);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 8).join('; ');
    const more = problems.length > 8 ? `; and ${problems.length - 8} more` : '';
    throw new WeightNameError(
      `${file}: not a ResNet-${depth}${options.widthMultiplier !== undefined ? ` (width ×${options.widthMultiplier})` : ''} checkpoint: ${shown}${more}`,
      { hint: 'check the depth and width in the pipeline match the checkpoint' },
    );
  }
  const unused = [...checkpoint.keys()].filter((k) => !used.has(k));
  return { tensors, unused };
}
