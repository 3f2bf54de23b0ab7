// Checkpoint surgery between pre-training and fine-tuning (AlignDet
// `tools/model_converters/extract_detector_weights.py`, spec §7.3): keep the online detector's
// weights, strip its prefix, and drop the final prediction layers (cls / reg / centerness
// projectors and predictors), which pre-training repurposed and fine-tuning re-initialises. The I/O
// end of the flow, applied to a loaded safetensors state.

import { AlignError } from '../errors.js';

export class CheckpointSurgeryError extends AlignError {
  readonly code = 'E_CHECKPOINT_SURGERY';
}

/**
 * The reference's drop list: a key containing any of these is dropped. The last two are the
 * Deformable-DETR branch names (mmdet `cls_branches` / `reg_branches`); the reference's exact
 * strings for them were not recovered (spec §7.3 "plus Deformable-DETR branch names").
 */
export const FINAL_LAYER_PATTERNS: readonly string[] = [
  'retina_cls',
  'retina_reg',
  'conv_cls',
  'conv_reg',
  'conv_centerness',
  'fc_cls',
  'fc_reg',
  'cls_branches',
  'reg_branches',
];

/** The reference's prefix of the online detector f_q. */
export const ONLINE_PREFIX = 'online_backbone.';

export interface SurgeryOptions {
  /** Prefix of the weights to keep (stripped); '' keeps every key. */
  readonly prefix?: string;
  /** Keep the final layers too (the reference's `--keep-heads`). */
  readonly keepHeads?: boolean;
  readonly dropPatterns?: readonly string[];
}

export interface SurgeryResult<T> {
  readonly kept: Map<string, T>;
  /** Keys under the prefix dropped as final layers (prefix stripped). */
  readonly dropped: readonly string[];
  /** Keys outside the prefix, ignored (e.g. the momentum detector `target_backbone.*`). */
  readonly ignored: readonly string[];
}

/** Extracts the fine-tuning weights from a pre-training checkpoint (`file` names it in errors). */
export function extractDetectorWeights<T>(
  checkpoint: ReadonlyMap<string, T>,
  file: string,
  options: SurgeryOptions = {},
): SurgeryResult<T> {
  const prefix = options.prefix ?? ONLINE_PREFIX;
  const patterns = options.keepHeads === true ? [] : (options.dropPatterns ?? FINAL_LAYER_PATTERNS);
  const kept = new Map<string, T>();
  const dropped: string[] = [];
  const ignored: string[] = [];
  for (const [key, value] of checkpoint) {
    if (!key.startsWith(prefix)) {
      ignored.push(key);
      continue;
    }
    const name = key.slice(prefix.length);
    if (patterns.some((p) => name.includes(p))) dropped.push(name);
    else kept.set(name, value);
  }
  if (kept.size === 0) {
    throw new CheckpointSurgeryError(
      `${file}: no weights left under prefix "${prefix}" (${checkpoint.size} keys, ${dropped.length} dropped as final layers)`,
      {
        hint: 'pass the prefix the checkpoint uses (alignc and AlignDet write "online_backbone.")',
      },
    );
  }
  return { kept, dropped, ignored };
}
