// Hierarchical grouping, the core of selective search (Uijlings et al., IJCV 2013, §3.1–3.2): data
// side of the flow, initial regions → a merge hierarchy whose every node's box is a proposal.
//
// Starting from the Felzenszwalb regions, the two most similar neighbouring regions are merged,
// again and again, until one region is left. Similarity is the mean of the enabled measures, each in
// [0, 1]: colour and texture (histogram intersection), size (1 − (|a|+|b|)/|image|, so small regions
// merge first) and fill (1 − (|box(a∪b)| − |a| − |b|)/|image|, so regions that fit together merge
// first). A merged region's histograms are the size-weighted means of its parts.
//
// The pairs wait in a max-heap with lazy deletion: a pair is skipped when popped if either side was
// already merged, so every merge costs O(neighbours · histogram) instead of a full re-sort.

import { COLOUR_HIST_SIZE, TEXTURE_HIST_SIZE } from './region-features.js';
import type { RegionFeatures } from './region-features.js';

/** Which similarity measures a grouping strategy averages. */
export interface SimilarityMeasures {
  readonly colour: boolean;
  readonly texture: boolean;
  readonly size: boolean;
  readonly fill: boolean;
}

/** The nodes of one merge hierarchy, in creation order: the initial regions, then each merge. */
export interface Hierarchy {
  readonly count: number;
  /** x1, y1, x2, y2 per node, x2/y2 exclusive. */
  readonly boxes: Int32Array;
  /** 1 for an initial region, 1 + the larger child level for a merge. */
  readonly levels: Int32Array;
}

/** A binary max-heap of (similarity, a, b) triples on growable typed arrays. */
class PairHeap {
  private keys = new Float64Array(1024);
  private a = new Int32Array(1024);
  private b = new Int32Array(1024);
  size = 0;

  push(key: number, a: number, b: number): void {
    if (this.size === this.keys.length) this.grow();
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.keys[parent] >= key) break;
      this.keys[i] = this.keys[parent];
      this.a[i] = this.a[parent];
      this.b[i] = this.b[parent];
      i = parent;
    }
    this.keys[i] = key;
    this.a[i] = a;
    this.b[i] = b;
  }

  /** Removes the top; its pair is left in `topA`, `topB`. */
  pop(): void {
    this.topA = this.a[0];
    this.topB = this.b[0];
    const last = --this.size;
    const key = this.keys[last];
    const la = this.a[last];
    const lb = this.b[last];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      if (child + 1 < last && this.keys[child + 1] > this.keys[child]) child++;
      if (this.keys[child] <= key) break;
      this.keys[i] = this.keys[child];
      this.a[i] = this.a[child];
      this.b[i] = this.b[child];
      i = child;
    }
    this.keys[i] = key;
    this.a[i] = la;
    this.b[i] = lb;
  }

  topA = -1;
  topB = -1;

  private grow(): void {
    const n = this.keys.length * 2;
    const keys = new Float64Array(n);
    keys.set(this.keys);
    const a = new Int32Array(n);
    a.set(this.a);
    const b = new Int32Array(n);
    b.set(this.b);
    this.keys = keys;
    this.a = a;
    this.b = b;
  }
}

function intersection(h: Float32Array, i: number, j: number, size: number): number {
  let sum = 0;
  const a = i * size;
  const b = j * size;
  for (let t = 0; t < size; t++) {
    const x = h[a + t];
    const y = h[b + t];
    sum += x < y ? x : y;
  }
  return sum;
}

export function groupRegions(features: RegionFeatures, measures: SimilarityMeasures): Hierarchy {
  const n = features.count;
  const capacity = Math.max(1, 2 * n - 1);
  const enabled =
    Number(measures.colour) +
    Number(measures.texture) +
    Number(measures.size) +
    Number(measures.fill);
  if (enabled === 0)
    throw new RangeError('a grouping strategy needs at least one similarity measure');
  const inverseCount = 1 / enabled;
  const imageSize = features.imageSize;

  const sizes = new Float64Array(capacity);
  sizes.set(features.sizes);
  const boxes = new Int32Array(capacity * 4);
  boxes.set(features.boxes);
  const levels = new Int32Array(capacity);
  levels.fill(1, 0, n);
  const colour = measures.colour ? new Float32Array(capacity * COLOUR_HIST_SIZE) : undefined;
  colour?.set(features.colour);
  const texture = measures.texture ? new Float32Array(capacity * TEXTURE_HIST_SIZE) : undefined;
  texture?.set(features.texture);
  const alive = new Uint8Array(capacity);
  alive.fill(1, 0, n);
  const adjacency: Set<number>[] = [];
  for (let i = 0; i < n; i++) adjacency.push(new Set());

  const similarity = (i: number, j: number): number => {
    let s = 0;
    if (colour) s += intersection(colour, i, j, COLOUR_HIST_SIZE);
    if (texture) s += intersection(texture, i, j, TEXTURE_HIST_SIZE);
    if (measures.size) s += 1 - (sizes[i] + sizes[j]) / imageSize;
    if (measures.fill) {
      const w = Math.max(boxes[i * 4 + 2], boxes[j * 4 + 2]) - Math.min(boxes[i * 4], boxes[j * 4]);
      const h =
        Math.max(boxes[i * 4 + 3], boxes[j * 4 + 3]) - Math.min(boxes[i * 4 + 1], boxes[j * 4 + 1]);
      s += 1 - (w * h - sizes[i] - sizes[j]) / imageSize;
    }
    return s * inverseCount;
  };

  const heap = new PairHeap();
  const pairs = features.neighbours;
  for (let p = 0; p < pairs.length; p += 2) {
    const a = pairs[p];
    const b = pairs[p + 1];
    adjacency[a].add(b);
    adjacency[b].add(a);
    heap.push(similarity(a, b), a, b);
  }

  let count = n;
  while (heap.size > 0) {
    heap.pop();
    const a = heap.topA;
    const b = heap.topB;
    if (!alive[a] || !alive[b]) continue;
    const c = count++;
    const sa = sizes[a];
    const sb = sizes[b];
    sizes[c] = sa + sb;
    boxes[c * 4] = Math.min(boxes[a * 4], boxes[b * 4]);
    boxes[c * 4 + 1] = Math.min(boxes[a * 4 + 1], boxes[b * 4 + 1]);
    boxes[c * 4 + 2] = Math.max(boxes[a * 4 + 2], boxes[b * 4 + 2]);
    boxes[c * 4 + 3] = Math.max(boxes[a * 4 + 3], boxes[b * 4 + 3]);
    levels[c] = Math.max(levels[a], levels[b]) + 1;
    const wa = sa / (sa + sb);
    const wb = sb / (sa + sb);
    if (colour) mergeHistogram(colour, a, b, c, wa, wb, COLOUR_HIST_SIZE);
    if (texture) mergeHistogram(texture, a, b, c, wa, wb, TEXTURE_HIST_SIZE);
    alive[a] = 0;
    alive[b] = 0;
    alive[c] = 1;
    const merged = new Set<number>();
    for (const x of adjacency[a]) if (x !== b) merged.add(x);
    for (const x of adjacency[b]) if (x !== a) merged.add(x);
    adjacency[a].clear();
    adjacency[b].clear();
    adjacency.push(merged);
    for (const x of merged) {
      const nx = adjacency[x];
      nx.delete(a);
      nx.delete(b);
      nx.add(c);
      heap.push(similarity(c, x), c, x);
    }
  }
  return { count, boxes: boxes.subarray(0, count * 4), levels: levels.subarray(0, count) };
}

function mergeHistogram(
  h: Float32Array,
  a: number,
  b: number,
  c: number,
  wa: number,
  wb: number,
  size: number,
): void {
  const pa = a * size;
  const pb = b * size;
  const pc = c * size;
  for (let t = 0; t < size; t++) h[pc + t] = h[pa + t] * wa + h[pb + t] * wb;
}
