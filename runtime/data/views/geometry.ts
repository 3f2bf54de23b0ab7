// Box geometry for views (data side of the flow: Dataset sample → view → batch). Every geometric op
// of a view (resize, flip, crop) is an axis-aligned affine map x' = sx·x + tx, y' = sy·y + ty of
// 0-based pixel-edge coordinates, so the composition of a view's ops is one such map: it moves boxes
// into the view and, inverted, moves boxes predicted in the view back to the original image. A negative
// sx is a horizontal flip (x1 and x2 swap). Box order is never changed: row i is the same proposal in
// the original and in every view; a box cut away by a crop keeps its row and gets valid = 0.

/** x' = sx·x + tx, y' = sy·y + ty. */
export interface BoxTransform {
  readonly sx: number;
  readonly tx: number;
  readonly sy: number;
  readonly ty: number;
}

export const IDENTITY: BoxTransform = { sx: 1, tx: 0, sy: 1, ty: 0 };

/** `second` after `first`. */
export function compose(first: BoxTransform, second: BoxTransform): BoxTransform {
  return {
    sx: second.sx * first.sx,
    tx: second.sx * first.tx + second.tx,
    sy: second.sy * first.sy,
    ty: second.sy * first.ty + second.ty,
  };
}

export function invert(t: BoxTransform): BoxTransform {
  return { sx: 1 / t.sx, tx: -t.tx / t.sx, sy: 1 / t.sy, ty: -t.ty / t.sy };
}

/** Maps N×4 [x1, y1, x2, y2] boxes; keeps x1 ≤ x2 and y1 ≤ y2 under flips. Returns a new array. */
export function mapBoxes(boxes: Float64Array, t: BoxTransform): Float64Array {
  const out = new Float64Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const xa = t.sx * boxes[i] + t.tx;
    const xb = t.sx * boxes[i + 2] + t.tx;
    const ya = t.sy * boxes[i + 1] + t.ty;
    const yb = t.sy * boxes[i + 3] + t.ty;
    out[i] = Math.min(xa, xb);
    out[i + 1] = Math.min(ya, yb);
    out[i + 2] = Math.max(xa, xb);
    out[i + 3] = Math.max(ya, yb);
  }
  return out;
}

/**
 * Clips boxes to [0, width] × [0, height] in place and clears `valid` for rows with no area left.
 * Rows are never removed, so index correspondence between views survives a crop.
 */
export function clipBoxes(
  boxes: Float64Array,
  valid: Uint8Array,
  width: number,
  height: number,
): void {
  for (let i = 0, r = 0; i < boxes.length; i += 4, r++) {
    boxes[i] = Math.min(Math.max(boxes[i], 0), width);
    boxes[i + 1] = Math.min(Math.max(boxes[i + 1], 0), height);
    boxes[i + 2] = Math.min(Math.max(boxes[i + 2], 0), width);
    boxes[i + 3] = Math.min(Math.max(boxes[i + 3], 0), height);
    if (!(boxes[i + 2] > boxes[i]) || !(boxes[i + 3] > boxes[i + 1])) valid[r] = 0;
  }
}

/** One geometric step as recorded in a view, for inspection and for mapping boxes back. */
export type GeometricStep =
  | { readonly kind: 'resize'; readonly from: Size; readonly to: Size }
  | { readonly kind: 'hflip'; readonly width: number }
  | {
      readonly kind: 'crop';
      readonly x: number;
      readonly y: number;
      readonly width: number;
      readonly height: number;
      readonly to: Size;
    }
  | { readonly kind: 'pad'; readonly from: Size; readonly to: Size };

export interface Size {
  readonly width: number;
  readonly height: number;
}

/** The affine map of one recorded step (pad is the identity on coordinates). */
export function stepTransform(step: GeometricStep): BoxTransform {
  switch (step.kind) {
    case 'resize':
      return {
        sx: step.to.width / step.from.width,
        tx: 0,
        sy: step.to.height / step.from.height,
        ty: 0,
      };
    case 'hflip':
      return { sx: -1, tx: step.width, sy: 1, ty: 0 };
    case 'crop': {
      const sx = step.to.width / step.width;
      const sy = step.to.height / step.height;
      return { sx, tx: -step.x * sx, sy, ty: -step.y * sy };
    }
    case 'pad':
      return IDENTITY;
    default:
      return step satisfies never;
  }
}
