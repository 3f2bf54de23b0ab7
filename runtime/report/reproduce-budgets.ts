// The sizes of the BCCD reproduction (`alignc reproduce --budget tiny|small|medium|full`, docs/results.md):
// seeds, labelled fractions, iterations and evaluation sizes, turned into the `--set` overrides of
// each `alignc run` the reproduction makes (runtime/report/reproduce-matrix.ts). Everything not
// named here keeps the value in pipelines/reproduce/*.align.
// Flow: budget → **--set overrides** → plan (runtime/run/overrides.ts) → stage runs → run logs.

export const BUDGET_NAMES = ['tiny', 'small', 'medium', 'full'] as const;
export type BudgetName = (typeof BUDGET_NAMES)[number];

export interface Budget {
  readonly name: BudgetName;
  /** One line for docs/results.md. */
  readonly purpose: string;
  readonly seeds: readonly number[];
  /** Labelled fractions of the BCCD train split for fine-tuning, in percent. */
  readonly fractions: readonly number[];
  /** Every pre-training stage (image-domain and box-domain) runs this many iterations. */
  readonly pretrainIterations: number;
  /** Every fine-tuning stage runs this many iterations: equal budgets for every setting. */
  readonly finetuneIterations: number;
  /** Fine-tuning evaluates every this many iterations (and at the end), for convergence curves. */
  readonly evaluateEvery: number;
  /** `--set` overrides of declarations (datasets, views), the same for every stage run. */
  readonly declarations: readonly string[];
}

const TINY_VIEWS = [
  'byol_view.random_resized_crop.size=64',
  'two_views.resize.short=[64]',
  'two_views.resize.max=96',
  'train_view.resize.short=[64]',
  'train_view.resize.max=96',
];

export const BUDGETS: Readonly<Record<BudgetName, Budget>> = {
  tiny: {
    name: 'tiny',
    purpose: 'a smoke test of the whole machinery (CI): 2 steps per stage at 96×64 — no results',
    seeds: [0, 1],
    fractions: [10, 100],
    pretrainIterations: 2,
    finetuneIterations: 2,
    evaluateEvery: 1,
    declarations: ['unlabelled.fraction=2%', 'held_out.fraction=2%', ...TINY_VIEWS],
  },
  small: {
    name: 'small',
    purpose:
      'sized for about 45 minutes with 2 jobs on a quiet 2-core machine (estimated from one fine-tuning run: ~2 min of CPU)',
    seeds: [0, 1, 2],
    fractions: [10, 100],
    pretrainIterations: 16,
    finetuneIterations: 40,
    evaluateEvery: 20,
    // Evaluation costs ~1.5–2.8 s per image (more than a training step per image), so the
    // convergence curve's two evaluations see 10 val images; docs/results.md says which.
    declarations: ['unlabelled.fraction=25%', 'held_out.fraction=12%'],
  },
  medium: {
    name: 'medium',
    purpose:
      'the smallest budget where the detectors learn (measured: RetinaNet from scratch on 10 % labels reaches 17.6 AP after 300 steps); sized for WebGPU (`--backend webgpu`: ~2 min per fine-tuning run, ~5 min per pre-training chain on lavapipe here)',
    // Five seeds: with three, fine-tuning's seed-to-seed spread (several AP points) hid most
    // differences between the settings (docs/reports.md, run history).
    seeds: [0, 1, 2, 3, 4],
    fractions: [10, 100],
    pretrainIterations: 150,
    finetuneIterations: 300,
    evaluateEvery: 150,
    // Half of val (44 images) keeps an evaluation at ~17 s on lavapipe; the train split whole.
    declarations: ['unlabelled.fraction=100%', 'held_out.fraction=50%'],
  },
  full: {
    name: 'full',
    purpose:
      "the issue's intent: longer pre-training and fine-tuning, the whole val split (estimated ~13 h with 2 jobs on this CPU)",
    seeds: [0, 1, 2],
    fractions: [10, 100],
    pretrainIterations: 300,
    finetuneIterations: 600,
    evaluateEvery: 100,
    declarations: ['unlabelled.fraction=100%', 'held_out.fraction=100%'],
  },
};

export function isBudgetName(name: string): name is BudgetName {
  return (BUDGET_NAMES as readonly string[]).includes(name);
}
