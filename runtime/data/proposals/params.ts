// The parameters of proposal generation (selective search + AlignDet's filters, NMS and top-k), their
// defaults, validation and a canonical form for cache keys. Data side of the flow: these arrive from
// the CLI (`alignc proposals`) or a `.align` `selective_search(...)` call and travel to every worker.

import { AlignError } from '../../errors.js';

/**
 * `fast`: OpenCV / Uijlings "fast" diversification, HSV and Lab × scales k/2, k, 3k/2 × strategies
 * colour+texture+size+fill and texture+size+fill (12 hierarchies).
 * `single`: one hierarchy, HSV, scale k, colour+texture+size+fill (close to SoCo's single run).
 */
export type SearchMode = 'fast' | 'single';

export interface ProposalParams {
  readonly mode: SearchMode;
  /** Felzenszwalb scale k (the middle scale in `fast` mode). */
  readonly scale: number;
  /** Gaussian smoothing before segmentation, in pixels. */
  readonly sigma: number;
  /** Felzenszwalb minimum component size, in pixels. */
  readonly minSize: number;
  /** Keep a box only if both sides are at least this many pixels. */
  readonly minSide: number;
  /** Keep a box only if 1/maxAspect ≤ w/h ≤ maxAspect. */
  readonly maxAspect: number;
  /** Keep a box only if minRelSize ≤ √(w·h) / √(W·H) ≤ maxRelSize. */
  readonly minRelSize: number;
  readonly maxRelSize: number;
  /** Greedy NMS IoU threshold in rank order (a box overlapping a kept one by more is dropped); 1 = off. */
  readonly nms: number;
  /** At most this many boxes per image (after filters and NMS); 0 = no cap. */
  readonly top: number;
  /** Seed of the random ranking of hierarchy nodes. */
  readonly seed: number;
}

export const defaultProposalParams: ProposalParams = {
  mode: 'fast',
  scale: 300,
  sigma: 0.8,
  minSize: 100,
  minSide: 32,
  maxAspect: 3,
  minRelSize: 0,
  maxRelSize: 0.8,
  nms: 0.5,
  top: 100,
  seed: 0,
};

export class ProposalParamError extends AlignError {
  readonly code = 'E_PROPOSALS_PARAM';
}

/** Fills defaults and checks ranges; the error names the parameter and the allowed range. */
export function resolveProposalParams(partial: Partial<ProposalParams> = {}): ProposalParams {
  const p: ProposalParams = { ...defaultProposalParams, ...definedOnly(partial) };
  if (p.mode !== 'fast' && p.mode !== 'single') {
    throw new ProposalParamError(`unknown selective-search mode '${String(p.mode)}'`, {
      hint: "use 'fast' or 'single'",
    });
  }
  const check = (name: keyof ProposalParams, ok: boolean, range: string): void => {
    if (!ok) {
      throw new ProposalParamError(
        `proposal parameter ${name} = ${String(p[name])} is out of range`,
        {
          hint: `${name} must be ${range}`,
        },
      );
    }
  };
  const finite = (v: number): boolean => Number.isFinite(v);
  check('scale', finite(p.scale) && p.scale > 0, 'a positive number');
  check('sigma', finite(p.sigma) && p.sigma >= 0 && p.sigma <= 10, 'in [0, 10]');
  check('minSize', Number.isInteger(p.minSize) && p.minSize >= 0, 'a non-negative integer');
  check('minSide', finite(p.minSide) && p.minSide >= 0, 'a non-negative number');
  check('maxAspect', finite(p.maxAspect) && p.maxAspect >= 1, 'a number ≥ 1');
  check('minRelSize', finite(p.minRelSize) && p.minRelSize >= 0, 'a number ≥ 0');
  check(
    'maxRelSize',
    finite(p.maxRelSize) && p.maxRelSize >= p.minRelSize,
    'a number ≥ minRelSize',
  );
  check('nms', finite(p.nms) && p.nms > 0 && p.nms <= 1, 'in (0, 1]');
  check('top', Number.isInteger(p.top) && p.top >= 0, 'a non-negative integer');
  check('seed', Number.isSafeInteger(p.seed) && p.seed >= 0, 'a non-negative integer');
  return p;
}

function definedOnly(partial: Partial<ProposalParams>): Partial<ProposalParams> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) out[k] = v;
  return out as Partial<ProposalParams>;
}

/** The parameters as JSON with a fixed key order, for cache keys and the cache file's header. */
export function canonicalParams(p: ProposalParams): string {
  const keys = Object.keys(defaultProposalParams).sort() as (keyof ProposalParams)[];
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, p[k]])));
}
