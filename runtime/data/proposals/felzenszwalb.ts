// Felzenszwalb–Huttenlocher graph-based segmentation ("Efficient Graph-Based Image Segmentation",
// IJCV 2004): the initial regions of selective search (data side of the flow: colour-space image →
// initial regions → hierarchical grouping → proposals).
//
// Pixels are the vertices of a 4-connected grid graph (as in OpenCV's ximgproc; the paper uses 8
// neighbours, which on BCCD gave fewer initial regions and lower recall, see docs/proposals.md);
// an edge weighs the Euclidean distance of the Gaussian-smoothed colours of its two pixels. Edges
// are visited in increasing weight and two components merge when the edge is no heavier than either
// component's internal difference plus k / |component|. Components smaller than `minSize` are then
// merged into a neighbour.
//
// The smoothing, the edge list and its sort depend only on the image and sigma, so they are built
// once (`buildEdgeGraph`) and reused for every scale k (`segmentGraph`): selective search's "fast"
// mode segments the same image at three scales.

/**
 * The edge list of one image sorted by increasing weight (ties in raster order): edge i joins
 * pixels `from[i]` and `to[i]`. Stored sorted so that segmenting streams through it in order.
 */
export interface EdgeGraph {
  readonly width: number;
  readonly height: number;
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly weight: Float32Array;
}

/** A label per pixel, 0..count-1, numbered in raster order of each region's first pixel. */
export interface Segmentation {
  readonly width: number;
  readonly height: number;
  readonly labels: Int32Array;
  readonly count: number;
}

/** A normalised 1-D Gaussian kernel of radius ceil(4σ) (the FH reference code's support). */
export function gaussianKernel(sigma: number): Float32Array {
  const s = Math.max(sigma, 0.01);
  const radius = Math.ceil(4 * s);
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * s * s));
    kernel[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  return kernel;
}

/**
 * Separable convolution of one plane with `kx` along rows and `ky` along columns; borders replicate
 * the edge pixel. Returns a new plane.
 */
export function convolveSeparable(
  plane: Float32Array,
  width: number,
  height: number,
  kx: Float32Array,
  ky: Float32Array,
): Float32Array {
  const tmp = new Float32Array(width * height);
  const out = new Float32Array(width * height);
  const rx = (kx.length - 1) >> 1;
  const ry = (ky.length - 1) >> 1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let acc = 0;
      if (x >= rx && x + rx < width) {
        const start = row + x - rx;
        for (let t = 0; t < kx.length; t++) acc += kx[t] * plane[start + t];
      } else {
        for (let t = -rx; t <= rx; t++) {
          const xx = x + t < 0 ? 0 : x + t >= width ? width - 1 : x + t;
          acc += kx[t + rx] * plane[row + xx];
        }
      }
      tmp[row + x] = acc;
    }
  }
  // Column pass row by row, so the inner loop walks memory contiguously.
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let t = -ry; t <= ry; t++) {
      const yy = y + t < 0 ? 0 : y + t >= height ? height - 1 : y + t;
      const weight = ky[t + ry];
      const src = yy * width;
      for (let x = 0; x < width; x++) out[row + x] += weight * tmp[src + x];
    }
  }
  return out;
}

/** Splits an interleaved 8-bit image with `channels` channels into float planes. */
export function toPlanes(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
): Float32Array[] {
  const n = width * height;
  const planes: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    const plane = new Float32Array(n);
    for (let i = 0; i < n; i++) plane[i] = data[i * channels + c];
    planes.push(plane);
  }
  return planes;
}

/** Smooths the image with a Gaussian of `sigma` and builds its sorted 4-connected edge list. */
export function buildEdgeGraph(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  sigma: number,
): EdgeGraph {
  const kernel = gaussianKernel(sigma);
  const planes = toPlanes(data, width, height, channels).map((p) =>
    convolveSeparable(p, width, height, kernel, kernel),
  );
  const capacity = 2 * width * height;
  const from = new Int32Array(capacity);
  const to = new Int32Array(capacity);
  const weight = new Float32Array(capacity);
  let count = 0;
  // Three channels (every colour space here) take an unrolled path; other counts the general one.
  const [p0, p1, p2] = planes.length === 3 ? planes : [planes[0], planes[0], planes[0]];
  const add =
    planes.length === 3
      ? (a: number, b: number): void => {
          const d0 = p0[a] - p0[b];
          const d1 = p1[a] - p1[b];
          const d2 = p2[a] - p2[b];
          from[count] = a;
          to[count] = b;
          weight[count] = Math.sqrt(d0 * d0 + d1 * d1 + d2 * d2);
          count++;
        }
      : (a: number, b: number): void => {
          let sum = 0;
          for (let c = 0; c < planes.length; c++) {
            const d = planes[c][a] - planes[c][b];
            sum += d * d;
          }
          from[count] = a;
          to[count] = b;
          weight[count] = Math.sqrt(sum);
          count++;
        };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (x + 1 < width) add(p, p + 1);
      if (y + 1 < height) add(p, p + width);
    }
  }
  const order = sortByFloatKey(weight.subarray(0, count));
  const sortedFrom = new Int32Array(count);
  const sortedTo = new Int32Array(count);
  const sortedWeight = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const e = order[i];
    sortedFrom[i] = from[e];
    sortedTo[i] = to[e];
    sortedWeight[i] = weight[e];
  }
  return { width, height, from: sortedFrom, to: sortedTo, weight: sortedWeight };
}

/**
 * Indices of non-negative float keys in increasing order, stable: an LSD radix sort (3 passes of 11
 * bits) on the IEEE bit patterns, which order like the numbers for non-negative floats.
 */
export function sortByFloatKey(keys: Float32Array): Uint32Array {
  const n = keys.length;
  const bits = new Uint32Array(keys.buffer, keys.byteOffset, n);
  let src = new Uint32Array(n);
  let dst = new Uint32Array(n);
  for (let i = 0; i < n; i++) src[i] = i;
  const counts = new Uint32Array(2048);
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(bits[i] >>> shift) & 2047]++;
    let total = 0;
    for (let b = 0; b < 2048; b++) {
      const c = counts[b];
      counts[b] = total;
      total += c;
    }
    for (let i = 0; i < n; i++) {
      const idx = src[i];
      dst[counts[(bits[idx] >>> shift) & 2047]++] = idx;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** Root of x's component, halving the path on the way (keeps later finds short). */
function find(parent: Int32Array, x: number): number {
  while (parent[x] !== x) {
    const up = parent[parent[x]];
    parent[x] = up;
    x = up;
  }
  return x;
}

/** Segments a prepared edge graph at scale `k`, then merges components below `minSize` pixels. */
export function segmentGraph(graph: EdgeGraph, k: number, minSize: number): Segmentation {
  const { width, height, from, to, weight } = graph;
  const n = width * height;
  const parent = new Int32Array(n);
  const size = new Int32Array(n).fill(1);
  const threshold = new Float32Array(n).fill(k);
  for (let i = 0; i < n; i++) parent[i] = i;
  const edges = from.length;
  for (let i = 0; i < edges; i++) {
    const a = find(parent, from[i]);
    const b = find(parent, to[i]);
    if (a === b) continue;
    const w = weight[i];
    if (w <= threshold[a] && w <= threshold[b]) {
      // Union by size: the larger component's root stays the root.
      const big = size[a] >= size[b] ? a : b;
      const small = big === a ? b : a;
      parent[small] = big;
      size[big] += size[small];
      threshold[big] = w + k / size[big];
    }
  }
  if (minSize > 1) {
    for (let i = 0; i < edges; i++) {
      const a = find(parent, from[i]);
      const b = find(parent, to[i]);
      if (a !== b && (size[a] < minSize || size[b] < minSize)) {
        const big = size[a] >= size[b] ? a : b;
        const small = big === a ? b : a;
        parent[small] = big;
        size[big] += size[small];
      }
    }
  }
  const labelOfRoot = new Int32Array(n).fill(-1);
  const labels = new Int32Array(n);
  let count = 0;
  for (let p = 0; p < n; p++) {
    const root = find(parent, p);
    if (labelOfRoot[root] < 0) labelOfRoot[root] = count++;
    labels[p] = labelOfRoot[root];
  }
  return { width, height, labels, count };
}
