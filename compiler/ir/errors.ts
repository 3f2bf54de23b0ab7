// Errors about IR graphs (compiler/ir): a node whose operands break its shape/dtype rule, or a
// graph that fails verification. The checker should catch user mistakes before lowering, so
// these usually mean a lowering bug — but they still name the node and say what is wrong.
import { AlignError } from '../../runtime/errors.js';

/** A node's operands or attributes break its shape/dtype rule. */
export class IrShapeError extends AlignError {
  readonly code = 'E_IR_SHAPE';
}

/** A graph is malformed (ids out of order, dangling operands, a recorded type that disagrees
 * with its rule…). */
export class IrVerifyError extends AlignError {
  readonly code = 'E_IR_VERIFY';
}

/** An op the IR knows but a transformation (VJP, a backend) does not support. */
export class IrUnsupportedError extends AlignError {
  readonly code = 'E_IR_UNSUPPORTED';
}
