// Errors of the module system (runtime/nn) and the detector blocks built on it (runtime/models):
// a block configured with impossible sizes, or weights that do not fit the parameter registry.
// Runtime end of the flow: these come from a detector a pipeline declares, or a checkpoint it loads.
import { AlignError } from '../errors.js';

/** A block's options cannot build a network (channels not divisible by groups, unknown depth…). */
export class ModelConfigError extends AlignError {
  readonly code = 'E_MODEL_CONFIG';
}

/** Weights do not match the registry: missing or unexpected names, wrong shapes, integer data. */
export class ParameterLoadError extends AlignError {
  readonly code = 'E_MODEL_WEIGHTS';
}

/** A parameter was used before it had a value (neither initialised nor loaded). */
export class UninitializedParameterError extends AlignError {
  readonly code = 'E_MODEL_UNINITIALIZED';
}
