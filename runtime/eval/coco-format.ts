// The data the evaluator works on (runtime/eval, the last step of the flow: detections → numbers).
// Two layers: the JSON shapes of a COCO ground-truth file and a COCO results file as users write
// them (snake_case, as in the COCO format spec), and the checked, normalised form that
// validate.ts produces and the rest of runtime/eval consumes.

/** `[x, y, width, height]` in pixels, x/y the top-left corner (COCO's bbox convention). */
export type BboxXywh = readonly [number, number, number, number];

/** One entry of a COCO ground truth's `images`. Other fields (file_name, width, …) may be present
 * and are ignored, here and in the types below. */
export interface CocoImageJson {
  readonly id: number;
}

/** One entry of a COCO ground truth's `categories`. */
export interface CocoCategoryJson {
  readonly id: number;
  readonly name?: string;
}

/** One entry of a COCO ground truth's `annotations`. `area` is the area used for the area ranges
 * (pycocotools reads it from here, not from the bbox); `iscrowd` marks crowd regions. */
export interface CocoAnnotationJson {
  readonly id: number;
  readonly image_id: number;
  readonly category_id: number;
  readonly bbox: readonly number[];
  readonly area?: number;
  readonly iscrowd?: number | boolean;
}

/** A COCO ground-truth file (`instances_val2017.json` and the like). */
export interface CocoGroundTruthJson {
  readonly images: readonly CocoImageJson[];
  readonly annotations: readonly CocoAnnotationJson[];
  readonly categories: readonly CocoCategoryJson[];
}

/** One entry of a COCO results file (what `loadRes` reads): a scored box. */
export interface CocoResultJson {
  readonly image_id: number;
  readonly category_id: number;
  readonly bbox: readonly number[];
  readonly score: number;
}

// ---- normalised form (after validate.ts) ----

export interface EvalCategory {
  readonly id: number;
  readonly name: string;
}

export interface EvalGroundTruthBox {
  readonly bbox: BboxXywh;
  /** The annotation's `area` field (bbox w*h when the file has none). */
  readonly area: number;
  readonly crowd: boolean;
}

export interface EvalDetection {
  readonly bbox: BboxXywh;
  /** Always bbox w*h, as pycocotools' loadRes sets it. */
  readonly area: number;
  readonly score: number;
}

/** Boxes of one (image, category) pair, each list in file order. */
export interface EvalCell {
  readonly gt: readonly EvalGroundTruthBox[];
  readonly dt: readonly EvalDetection[];
}

/** Everything one evaluation needs, keyed the way pycocotools keys it. */
export interface EvalInput {
  /** Ground-truth image ids, ascending (pycocotools' `params.imgIds`). */
  readonly imageIds: readonly number[];
  /** Ground-truth categories, ascending by id (pycocotools' `params.catIds`). */
  readonly categories: readonly EvalCategory[];
  /** `cell(imageIndex, categoryIndex)` for every image and category; empty cells have no boxes. */
  cell(imageIndex: number, categoryIndex: number): EvalCell;
}
