// `alignc weights info | extract | resnet` end to end on small safetensors files written by the
// runtime (save → CLI → load), including the AlignDet checkpoint surgery and error exits.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/app.js';
import {
  loadSafetensors,
  saveSafetensors,
  type TensorToSave,
} from '../../runtime/io/safetensors.js';
import { resnetStateEntries } from '../../runtime/io/weight-names.js';

const dir = mkdtempSync(join(tmpdir(), 'alignc-weights-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((s) => (out.push(String(s)), true));
  const e = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((s) => (err.push(String(s)), true));
  try {
    const code = await main(argv);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const t = (n: number): TensorToSave => ({
  tensor: { kind: 'float', shape: [n], data: Float32Array.from({ length: n }, (_, i) => i) },
});

describe('alignc weights', () => {
  it('info lists tensors with dtype and shape', async () => {
    const path = join(dir, 'small.safetensors');
    await saveSafetensors(
      path,
      new Map([
        ['a', t(3)],
        ['b.c', { tensor: { kind: 'int', shape: [], data: Int32Array.from([4]) }, dtype: 'I64' }],
      ]),
    );
    const r = await run('weights', 'info', path);
    expect(r.code).toBe(0);
    expect(r.out).toContain('2 tensors');
    expect(r.out).toMatch(/a\s+F32\s+\[3\]/);
    expect(r.out).toMatch(/b\.c\s+I64\s+\[\]/);
  });

  it('extract drops final layers and the momentum detector', async () => {
    const input = join(dir, 'pretrain.safetensors');
    const output = join(dir, 'finetune.safetensors');
    await saveSafetensors(
      input,
      new Map([
        ['online_backbone.backbone.conv1.weight', t(2)],
        ['online_backbone.bbox_head.reg_convs.0.conv.weight', t(2)],
        ['online_backbone.bbox_head.retina_cls.2.weight', t(2)],
        ['target_backbone.backbone.conv1.weight', t(2)],
      ]),
    );
    const r = await run('weights', 'extract', input, output);
    expect(r.code).toBe(0);
    expect(r.out).toContain('kept 2 tensors, dropped 1');
    const back = await loadSafetensors(output);
    expect([...back.tensors.keys()]).toEqual([
      'backbone.conv1.weight',
      'bbox_head.reg_convs.0.conv.weight',
    ]);
  });

  it('resnet checks a backbone and fails with a located message', async () => {
    const path = join(dir, 'r18.safetensors');
    const entries = resnetStateEntries(18, { widthMultiplier: 0.125 });
    await saveSafetensors(
      path,
      new Map(
        entries.map((e) => [
          e.name,
          {
            tensor: {
              kind: 'float',
              shape: e.shape,
              data: new Float32Array(e.shape.reduce((a, b) => a * b, 1)),
            },
          },
        ]),
      ),
    );
    const ok = await run('weights', 'resnet', path, '--depth', '18', '--width', '0.125');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('ResNet-18 backbone complete');
    const bad = await run('weights', 'resnet', path, '--depth', '18');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/error\[E_WEIGHTS\]: .*r18\.safetensors: not a ResNet-18 checkpoint/);
    const usage = await run('weights', 'frobnicate');
    expect(usage.code).toBe(1);
    expect(usage.err).toContain('error[E_USAGE]');
  });
});
