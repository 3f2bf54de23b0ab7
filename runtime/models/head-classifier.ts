// What a dense head's classification branch ends in: either the supervised classifier (one logit
// per class, bias initialised to the focal-loss prior) or AlignDet's projector (embeddings for the
// contrastive loss, spec §3.1). Shared by runtime/models/retina-head.ts and fcos-head.ts.
export type DenseClassifier =
  /** Fine-tuning / supervised: `numClasses` sigmoid logits per prior, bias −log((1 − p) / p). */
  | { readonly kind: 'logits'; readonly numClasses: number; readonly priorProb?: number }
  /** Pre-training: a `dim`-d embedding per prior from a conv → ReLU → conv1×1 projector. */
  | { readonly kind: 'projector'; readonly dim: number; readonly hiddenChannels?: number };

/** Channels the classifier produces per prior. */
export function classifierWidth(c: DenseClassifier): number {
  switch (c.kind) {
    case 'logits':
      return c.numClasses;
    case 'projector':
      return c.dim;
    default:
      return c satisfies never;
  }
}
