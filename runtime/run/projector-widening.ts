// The init tweak box-domain stages apply to a narrow detector head's projector (runtime/run: built
// detector → **projector ×10** → box-domain step): the branch whose contrastive loss is scale-free.
// Used by the RetinaNet (`retina_cls.`) and FCOS (`conv_cls.`) box-domain runtimes.
import type { Module } from '../nn/module.js';

/**
 * Multiplies the conv weights of `head`'s projector (state names starting with `projector`) by 10
 * when the head is narrower than 256 channels: with Normal(0.01) at a small width the embeddings
 * are ~1e-4–1e-3 long and the scale-free contrastive loss's gradients ~1e3–1e4 (docs/training.md,
 * _Known limits_); the loss value is unchanged. Only the projector: fine-tuning drops it, while
 * widened towers or regression convs would scale the initial deltas and reach fine-tuning (a
 * RetinaNet runner that widened the whole head started at L1 12.5 instead of 0.68, issue #9).
 */
export function widenNarrowProjector(head: Module, projector: string, headChannels: number): void {
  if (headChannels >= 256) return;
  for (const { name, parameter } of head.state())
    if (name.startsWith(projector) && parameter.shape.length === 4)
      parameter.value = parameter.value!.map((v) => v * 10);
}
