// Tests of `alignc grad` / `alignc check-grad` and the library functions behind them: values and
// gradients against hand-derived numbers, hand-written backward blocks used and checked, a wrong
// backward caught, and the commands' JSON and exit statuses.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectFunctions } from '../../compiler/lower/functions.js';
import { checkGrad, valueAndGrad } from '../../compiler/lower/grad.js';
import { tensorData } from '../../runtime/cpu/tensor-data.js';
import { DiagnosticsError } from '../../compiler/diagnostics.js';
import { packageRoot } from '../../runtime/package-root.js';

const dir = mkdtempSync(join(tmpdir(), 'alignc-grad-'));
const file = join(dir, 'fns.align');
writeFileSync(
  file,
  `// Functions for the gradient tests.
fn weighted(x: f32[N], w: f32[N], scale: f32 = 2) -> f32 {
  return scale * sum(w * x * x)
}

fn good_sqrt(x: f32[N]) -> f32 {
  let y = sqrt(x * x + 1)
  return sum(y)
  backward(dy) {
    grad x = dy * x / y
  }
}

fn bad_sqrt(x: f32[N]) -> f32 {
  let y = sqrt(x * x + 1)
  return sum(y)
  backward(dy) {
    grad x = dy * x / y * 2
  }
}

fn labels_only(x: f32[N], l: i32[N]) -> f32 {
  return sum(where(l >= 0, x, 0))
}

// A straight-through estimator: rounds forward, passes the gradient through unchanged.
fn ste_round(x: f32[N]) -> f32[N] {
  return round(x)
  backward(dy) {
    grad x = dy
  }
}

fn uses_ste(x: f32[N]) -> f32 {
  return sum(ste_round(x * 2) * 3)
}

fn uses_bad_sqrt(x: f32[N]) -> f32 {
  return bad_sqrt(x) * 2
}
`,
);

describe('valueAndGrad', () => {
  const { functions } = collectFunctions(file);

  it('gives the value and d/dx, d/dw of 2·Σ w x²', () => {
    const x = tensorData([3], [1, -2, 3]);
    const w = tensorData([3], [0.5, 1, 2]);
    const r = valueAndGrad(
      functions.get('weighted')!,
      functions,
      new Map([
        ['x', x],
        ['w', w],
      ]),
    );
    expect(r.value.data[0]).toBeCloseTo(2 * (0.5 + 4 + 18), 5);
    expect([...r.grads.get('x')!.data]).toEqual([2, -8, 24]); // 4 w x
    expect([...r.grads.get('w')!.data]).toEqual([2, 8, 18]); // 2 x²
  });

  it('hyperparameters with defaults can be set', () => {
    const x = tensorData([1], [3]);
    const w = tensorData([1], [1]);
    const r = valueAndGrad(
      functions.get('weighted')!,
      functions,
      new Map([
        ['x', x],
        ['w', w],
      ]),
      {
        constants: new Map([['scale', 10]]),
      },
    );
    expect(r.value.data[0]).toBe(90);
  });

  it('uses a hand-written backward block when there is one', () => {
    const x = tensorData([2], [0, 2]);
    const good = valueAndGrad(functions.get('good_sqrt')!, functions, new Map([['x', x]]));
    const bad = valueAndGrad(functions.get('bad_sqrt')!, functions, new Map([['x', x]]));
    expect(good.usedCustomBackward).toBe(true);
    expect(good.grads.get('x')!.data[1]).toBeCloseTo(2 / Math.sqrt(5), 6);
    expect(bad.grads.get('x')!.data[1]).toBeCloseTo(4 / Math.sqrt(5), 6);
  });

  it('has no gradient for integer arguments', () => {
    const r = valueAndGrad(
      functions.get('labels_only')!,
      functions,
      new Map([
        ['x', tensorData([3], [1, 2, 3])],
        ['l', tensorData([3], [0, -1, 2], 'i32')],
      ]),
    );
    expect([...r.grads.keys()]).toEqual(['x']);
    expect([...r.grads.get('x')!.data]).toEqual([1, 0, 1]);
  });
});

describe('backward blocks inside other functions', () => {
  const { functions } = collectFunctions(file);

  it('a called function with a backward block is differentiated by that block', () => {
    const x = tensorData([3], [0.2, 1.4, -2.6]);
    const r = valueAndGrad(functions.get('uses_ste')!, functions, new Map([['x', x]]));
    expect(r.usedCustomBackward).toBe(false); // uses_ste itself has none
    expect(r.value.data[0]).toBeCloseTo(3 * (0 + 3 - 5), 5);
    // round's own derivative is 0; the straight-through backward gives 3 · 2 everywhere.
    expect([...r.grads.get('x')!.data]).toEqual([6, 6, 6]);
  });

  it('check-grad compares with finite differences through the called backward and catches a wrong one', () => {
    const report = checkGrad(functions.get('uses_bad_sqrt')!, functions, { seed: 2 });
    expect(report.ok).toBe(false);
  });
});

describe('checkGrad', () => {
  const { functions } = collectFunctions(file);

  it('passes for autodiff and for a correct backward block', () => {
    expect(checkGrad(functions.get('weighted')!, functions, { seed: 3 }).ok).toBe(true);
    const good = checkGrad(functions.get('good_sqrt')!, functions, { seed: 3 });
    expect(good.usedCustomBackward).toBe(true);
    expect(good.ok).toBe(true);
  });

  it('catches a deliberately wrong backward block', () => {
    const report = checkGrad(functions.get('bad_sqrt')!, functions, { seed: 3 });
    expect(report.ok).toBe(false);
    expect(report.args[0].worstError).toBeGreaterThan(0.01);
  });

  it('is deterministic per seed and honours --dims', () => {
    const a = checkGrad(functions.get('weighted')!, functions, {
      seed: 7,
      dims: new Map([['N', 9]]),
    });
    const b = checkGrad(functions.get('weighted')!, functions, {
      seed: 7,
      dims: new Map([['N', 9]]),
    });
    expect(a).toEqual(b);
    expect(a.args[0].shape).toEqual([9]);
  });
});

describe('function tables', () => {
  it('a syntax error in a used file is reported with its location', () => {
    const broken = join(dir, 'broken.align');
    writeFileSync(broken, 'use "fns.align"\nfn f(x: f32[N]) -> f32 { return sum(x }\n');
    expect(() => collectFunctions(broken)).toThrow(DiagnosticsError);
    try {
      collectFunctions(broken);
    } catch (error) {
      expect((error as DiagnosticsError).render()).toMatch(/broken\.align:2:\d+: error\[E_PARSE/);
    }
  });
});

describe('the grad and check-grad commands', () => {
  const cli = join(packageRoot(), 'dist', 'cli', 'main.js');
  const alignc = (args: string[]) =>
    spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });

  it('alignc grad prints value and grads as JSON', () => {
    const inputs = join(dir, 'in.json');
    writeFileSync(inputs, JSON.stringify({ x: [1, -2, 3], w: [0.5, 1, 2] }));
    const r = alignc(['grad', file, '--fn', 'weighted', '--inputs', inputs]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { value: number; grads: Record<string, number[]> };
    expect(out.value).toBeCloseTo(45, 4);
    expect(out.grads.x).toEqual([2, -8, 24]);
    expect(out.grads.w).toEqual([2, 8, 18]);
  });

  it('alignc grad names a ragged input', () => {
    const inputs = join(dir, 'ragged.json');
    writeFileSync(inputs, JSON.stringify({ x: [[1, 2], [3]], w: [1, 2] }));
    const r = alignc(['grad', file, '--fn', 'weighted', '--inputs', inputs]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ragged.json: x[1] is ragged');
  });

  it('alignc check-grad exits 1 on a wrong backward and 0 on a right one', () => {
    const bad = alignc(['check-grad', file, '--fn', 'bad_sqrt', '--seed', '1']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('FAIL x');
    const good = alignc(['check-grad', file, '--fn', 'good_sqrt', '--json']);
    expect(good.status).toBe(0);
    expect(JSON.parse(good.stdout).ok).toBe(true);
  });
});
