// Flattening a dense head's per-level maps into one row per prior, in the order runtime/detect
// lays priors out (level by level; within a level location-major `(y·W + x)·A + a`): mmdet's
// `permute(0, 2, 3, 1).reshape(N, -1, C)` per level, concatenated over levels. Labels, targets and
// embeddings of a batch must all be flattened this way (image-major), so the reference's
// level-major/image-major mix-up (spec §10.6) cannot happen. Between runtime/models heads and the
// losses / runtime/detect post-processing.
import { Tensor } from '../tensor/tensor.js';
import { ModelConfigError } from '../nn/errors.js';

/**
 * `[N, A·C, H, W]` maps (one per level) → `[N, Σ H·W·A, C]`: for each image, every prior of every
 * level, `C` values per prior (`perPrior` = C).
 */
export function flattenPriors(levels: readonly Tensor[], perPrior: number): Tensor {
  const rows = levels.map((t) => {
    const [n, ac, h, w] = t.shape;
    if (ac % perPrior !== 0) {
      throw new ModelConfigError(
        `a head output with ${ac} channels does not hold ${perPrior} values per prior`,
      );
    }
    return t.permute([0, 2, 3, 1]).reshape([n, h * w * (ac / perPrior), perPrior]);
  });
  return rows.length === 1 ? rows[0] : Tensor.concat(rows, 1);
}
