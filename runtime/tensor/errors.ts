// Errors of the runtime Tensor front end (runtime/tensor): misuse a user program can cause.
import { AlignError } from '../errors.js';

/** A traced input was used without a value (e.g. realizing inside a trace). */
export class UnboundInputError extends AlignError {
  readonly code = 'E_TENSOR_UNBOUND';
}

/** Operand shapes that cannot be broadcast together, or a bad axis/argument. */
export class TensorShapeError extends AlignError {
  readonly code = 'E_TENSOR_SHAPE';
}
