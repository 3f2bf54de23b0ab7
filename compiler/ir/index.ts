// The public surface of the primitive IR (compiler/ir): node types, the builder, shape rules, the
// pretty-printer, the verifier and view index maps. Consumers import from here.
export * from './types.js';
export * from './errors.js';
export { GraphBuilder } from './builder.js';
export { inferType, convOutSize } from './shape-rules.js';
export { printGraph, formatNode, formatAttributes } from './print.js';
export { verifyGraph } from './verify.js';
export { movementSourceIndex, movementAsStridedView, unravel, ravel } from './view.js';
export type { MovementNode } from './view.js';
export { usesOf, reachableFrom } from './graph-utils.js';
export { simplifyGraph } from './simplify.js';
