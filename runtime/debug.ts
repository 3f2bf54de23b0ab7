// ALIGNC_DEBUG levels, read once from the environment. Every layer of the flow logs through here:
// 1 = timings, 2 = kernels launched, 3 = generated WGSL, 4 = IR. Output goes to stderr so that
// machine-readable stdout (JSON from `alignc grad`, `alignc eval --json`) stays clean.

export const DebugLevel = {
  off: 0,
  timings: 1,
  kernels: 2,
  wgsl: 3,
  ir: 4,
} as const;
export type DebugLevel = (typeof DebugLevel)[keyof typeof DebugLevel];

function parseLevel(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, 4) : 0;
}

let level = parseLevel(process.env.ALIGNC_DEBUG);

export function debugLevel(): number {
  return level;
}

/** For tests and the CLI's `--debug N`. */
export function setDebugLevel(n: number): void {
  level = Math.max(0, Math.min(4, Math.trunc(n)));
}

export function debugEnabled(at: DebugLevel): boolean {
  return level >= at;
}

/** Logs `message()` (lazily built) to stderr when the level is at least `at`. */
export function debugLog(at: DebugLevel, tag: string, message: () => string): void {
  if (level >= at) process.stderr.write(`[alignc:${tag}] ${message()}\n`);
}
