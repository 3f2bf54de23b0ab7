// The list of `alignc bench` cases, in the order they run. `--only NAME` matches a case name or
// group (substring).

import { boxStepCase } from './box-step.js';
import { cnnStepCase } from './cnn.js';
import { cnnLayerCases } from './cnn-layers.js';
import { conv2dCase } from './conv2d.js';
import { capturedDispatchCase, dispatchOverheadCase } from './dispatch.js';
import { frontendCase } from './frontend.js';
import { elementwiseChainCase, reductionCase } from './fused.js';
import type { BenchCase } from './harness.js';
import { infonceCase } from './infonce.js';
import { inferenceCase } from './inference.js';
import { matmulCase } from './matmul.js';

export function benchCases(): BenchCase[] {
  return [
    matmulCase(512),
    matmulCase(1024),
    matmulCase(2048),
    conv2dCase(8, 64, 56, 64, 'fwd'),
    conv2dCase(8, 64, 56, 64, 'bwd-input'),
    conv2dCase(8, 64, 56, 64, 'bwd-filter'),
    conv2dCase(8, 128, 28, 128, 'fwd'),
    conv2dCase(8, 64, 56, 128, 'fwd', 2),
    elementwiseChainCase(),
    reductionCase(),
    dispatchOverheadCase(),
    capturedDispatchCase(),
    cnnStepCase(),
    ...cnnLayerCases(),
    frontendCase(),
    inferenceCase('cpu-reference'),
    inferenceCase('webgpu'),
    infonceCase(512),
    infonceCase(4096),
    boxStepCase(),
  ];
}
