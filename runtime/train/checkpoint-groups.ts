// The tensor groups of a training step, as its checkpoint holds them (runtime/train): every step
// (image domain, box domain, RetinaNet and FCOS fine-tuning) lists its live tensor maps under their
// group prefixes once, and this file turns that list into the groups `saveCheckpoint` writes and
// restores the maps from a loaded checkpoint, checking every tensor's presence and shape first.
// Flow: step state → **checkpoint groups** → checkpoint.ts (file) → `--resume` / `init`.

import type { Shape } from '../../compiler/ir/index.js';
import type { TensorData } from '../cpu/tensor-data.js';
import type { TensorGroups } from './checkpoint.js';
import { TrainSetupError } from './errors.js';

/** A step's tensor maps under their checkpoint group prefixes, in the order they are saved. */
export type GroupList = readonly (readonly [prefix: string, tensors: Map<string, TensorData>])[];

/** The groups a checkpoint saves for `list`. */
export function groupsOf(list: GroupList): TensorGroups {
  return new Map(list);
}

/**
 * Replaces the values of every map of `into` with the checkpoint's tensors of the same names.
 * Everything is checked before anything is replaced, so a checkpoint that does not fit leaves the
 * step as it was. `owner` names the network in the message ("the detector's is [256, 3, 3, 3]").
 */
export function restoreGroups(from: TensorGroups, into: GroupList, owner: string): void {
  const found: [Map<string, TensorData>, string, TensorData][] = [];
  for (const [prefix, tensors] of into) {
    const group = from.get(prefix);
    if (group === undefined)
      throw new TrainSetupError(`checkpoint has no tensor group '${prefix}'`);
    for (const [name, want] of tensors) {
      const t = group.get(name);
      if (t === undefined) throw new TrainSetupError(`checkpoint has no tensor '${prefix}${name}'`);
      if (t.shape.length !== want.shape.length || t.shape.some((d, i) => d !== want.shape[i]))
        throw new TrainSetupError(
          `checkpoint tensor '${prefix}${name}' is [${t.shape.join(', ')}], the ${owner}'s is [${want.shape.join(', ')}]`,
        );
      found.push([tensors, name, t]);
    }
  }
  for (const [tensors, name, t] of found) tensors.set(name, t);
}

/** Name → shape of a group, for a step's `setup()` record (what a resume must match). */
export function shapesOf(tensors: ReadonlyMap<string, TensorData>): Record<string, Shape> {
  return Object.fromEntries([...tensors].map(([k, t]) => [k, t.shape]));
}
