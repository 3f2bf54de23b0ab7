// Errors of the training runtime (runtime/train: the loop `alignc run` drives, after lowering has
// produced the step). Each is something a user can cause or fix: a diverging loss, a damaged or
// missing checkpoint, a resume that does not fit the run it is asked to continue.

import { AlignError } from '../errors.js';

/** A loss term came out NaN or ±Infinity; the run stops and keeps its last good checkpoint. */
export class NonFiniteLossError extends AlignError {
  readonly code = 'E_TRAIN_NONFINITE';
  constructor(
    readonly stage: string,
    readonly step: number,
    readonly term: string,
    readonly value: number,
    readonly lastCheckpoint: string | null,
  ) {
    super(
      `stage ${stage}, step ${step}: loss term '${term}' is ${String(value)}; training stopped`,
      {
        hint:
          (lastCheckpoint === null
            ? 'no checkpoint was written before it; '
            : `the last good checkpoint is ${lastCheckpoint} (resume with --resume); `) +
          'lower the learning rate, add warmup or gradient clipping, or check the inputs of this term',
      },
    );
  }
}

/** A checkpoint file that cannot be written, read, or does not hold what a resume needs. */
export class CheckpointError extends AlignError {
  readonly code = 'E_CHECKPOINT';
}

/** `--resume DIR` that cannot continue: no checkpoint there, or one from a different run setup. */
export class ResumeError extends AlignError {
  readonly code = 'E_RESUME';
}

/** A training setup that cannot run: a missing loss function, mismatched parameter shapes. */
export class TrainSetupError extends AlignError {
  readonly code = 'E_TRAIN_SETUP';
}

/** A tensor of the training state (a parameter, optimizer or EMA buffer) became NaN or ±Infinity. */
export class NonFiniteStateError extends AlignError {
  readonly code = 'E_TRAIN_NONFINITE_STATE';
  constructor(
    readonly stage: string,
    readonly step: number,
    readonly tensor: string,
    lastCheckpoint: string | null,
  ) {
    super(
      `stage ${stage}, step ${step}: tensor '${tensor}' holds NaN or Infinity; not checkpointed`,
      {
        hint:
          (lastCheckpoint === null ? '' : `the last good checkpoint is ${lastCheckpoint}; `) +
          'lower the learning rate or add gradient clipping',
      },
    );
  }
}
