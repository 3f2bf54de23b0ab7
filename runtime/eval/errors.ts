// The errors a user can cause when evaluating detections (runtime/eval): a ground-truth or results
// file that is not valid JSON, or whose content is not a usable COCO ground truth / results list.
// Each message names the file and the entry (`results[12]`, `annotations[3]`) it is about.

import { AlignError } from '../errors.js';

/** A file that exists but is not valid JSON. */
export class EvalJsonError extends AlignError {
  readonly code = 'E_EVAL_JSON';
}

/** A COCO ground truth that cannot be evaluated against: missing lists, bad boxes, unknown ids. */
export class EvalGroundTruthError extends AlignError {
  readonly code = 'E_EVAL_GT';
}

/** A COCO results entry that cannot be scored: bad bbox, NaN score, unknown image or category. */
export class EvalResultsError extends AlignError {
  readonly code = 'E_EVAL_RESULTS';
}
