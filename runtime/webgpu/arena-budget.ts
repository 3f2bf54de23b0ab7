// How many captured steps keep their arenas (runtime/gpu/buffer-arena.ts) alive at once. Every
// captured graph holds its intermediates in memory no one else may use; evaluation over images of
// many sizes makes a graph per size, and a training run alternates a few graphs, so the backend
// (backend.ts) keeps the most recently run captured graphs and gives the least recently run one's
// arena back when a capture takes the count or the bytes past their bounds. A graph whose arena
// was given back captures again on its next run (captured-graph.ts).
// Flow: Tensor backend → **arena budget** → captured graphs → buffer arenas.

import type { CapturedGraph } from './captured-graph.js';

export interface ArenaBudgetLimits {
  /** Captured graphs that may hold an arena at once. */
  readonly maxArenas: number;
  /** Bytes all arenas may hold together (the newest capture is kept even when it alone is over). */
  readonly maxBytes: number;
}

/** Enough for a training step's forward + backward + update graphs and a few evaluation shapes. */
export const DEFAULT_ARENA_LIMITS: ArenaBudgetLimits = { maxArenas: 8, maxBytes: 1 << 30 };

export class ArenaBudget {
  readonly #limits: ArenaBudgetLimits;
  /** Captured graphs holding an arena, least recently run first (Map keeps insertion order). */
  readonly #holding = new Map<CapturedGraph, true>();
  #evictions = 0;

  constructor(limits: ArenaBudgetLimits = DEFAULT_ARENA_LIMITS) {
    this.#limits = limits;
  }

  /** Call after every run of `graph`: it becomes the most recent; over-budget arenas go back. */
  touched(graph: CapturedGraph): void {
    this.#holding.delete(graph);
    if (graph.arenaBytes() === 0) return;
    this.#holding.set(graph, true);
    for (const old of this.#holding.keys()) {
      if (old === graph || !this.#over()) break;
      old.release();
      this.#holding.delete(old);
      this.#evictions++;
    }
  }

  /** Forgets `graph` and gives its arena back (the backend evicted its compiled graph). */
  drop(graph: CapturedGraph): void {
    graph.release();
    this.#holding.delete(graph);
  }

  /** Arenas alive, their bytes, and how many were given back for the budget so far. */
  stats(): { readonly arenas: number; readonly bytes: number; readonly evictions: number } {
    return { arenas: this.#holding.size, bytes: this.#bytes(), evictions: this.#evictions };
  }

  #bytes(): number {
    let total = 0;
    for (const g of this.#holding.keys()) total += g.arenaBytes();
    return total;
  }

  #over(): boolean {
    return this.#holding.size > this.#limits.maxArenas || this.#bytes() > this.#limits.maxBytes;
  }
}
