// Tests of the GPU device layer on the real Dawn adapter (lavapipe on CI): device acquisition,
// verified dispatches, batching, readback, the buffer pool, the pipeline cache and typed errors.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acquireGpu,
  GpuValidationError,
  KernelCompileError,
  releaseGpu,
  sizeClass,
  type GpuContext,
} from '../../runtime/gpu/index.js';
import { checkDispatch } from '../../runtime/gpu/doctor.js';

const ADD_ONE = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < arrayLength(&x)) { x[id.x] = x[id.x] + 1.0; }
}`;

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await acquireGpu();
});
afterAll(async () => {
  await releaseGpu(ctx);
});

describe('device', () => {
  it('reports the adapter and requests the optional features it has', () => {
    expect(ctx.info.device.length).toBeGreaterThan(0);
    for (const f of ctx.features) expect(ctx.adapter.features.has(f)).toBe(true);
    expect(ctx.limits.maxStorageBuffersPerShaderStage).toBe(
      ctx.adapter.limits.maxStorageBuffersPerShaderStage,
    );
  });

  it('dispatches a kernel and its numbers match the CPU', async () => {
    const check = await checkDispatch(ctx, 4099);
    expect(check.ok).toBe(true);
    expect(check.maxAbsError).toBeLessThan(1e-4);
  });
});

describe('command batcher', () => {
  it('keeps order across many dispatches and automatic flushes', async () => {
    const pipeline = await ctx.pipelines.get({
      key: 'test.add_one',
      label: 'add_one',
      wgsl: ADD_ONE,
    });
    const n = 130;
    const x = ctx.buffers.upload(new Float32Array(n).fill(0.5), 'x');
    const before = ctx.queue.stats().submits;
    for (let i = 0; i < 600; i++) {
      ctx.queue.dispatch({
        pipeline,
        label: 'add_one',
        buffers: [x],
        workgroups: [Math.ceil(n / 64)],
      });
    }
    const out = new Float32Array(await ctx.queue.read(x, n * 4));
    expect(ctx.queue.stats().submits - before).toBeGreaterThanOrEqual(3);
    expect([...out].every((v) => v === 600.5)).toBe(true);
    ctx.buffers.release(x);
  });

  it('reads back a sub-range at an offset', async () => {
    const data = Float32Array.from({ length: 100 }, (_, i) => i * 2);
    const buffer = ctx.buffers.upload(data);
    const part = new Float32Array(await ctx.queue.read(buffer, 10 * 4, 40 * 4));
    expect([...part]).toEqual([...data.slice(40, 50)]);
    ctx.buffers.release(buffer);
  });

  it('waits for work without a read (onDone)', async () => {
    const pipeline = await ctx.pipelines.get({
      key: 'test.add_one',
      label: 'add_one',
      wgsl: ADD_ONE,
    });
    const x = ctx.buffers.upload(new Float32Array(64), 'x');
    ctx.queue.dispatch({ pipeline, label: 'add_one', buffers: [x], workgroups: [1] });
    await ctx.queue.onDone();
    expect(new Float32Array(await ctx.queue.read(x, 4))[0]).toBe(1);
    ctx.buffers.release(x);
  });

  it('learns how long repeated work takes and still returns correct results', async () => {
    const pipeline = await ctx.pipelines.get({
      key: 'test.add_one',
      label: 'add_one',
      wgsl: ADD_ONE,
    });
    const n = 1 << 16;
    const x = ctx.buffers.upload(new Float32Array(n), 'x');
    for (let round = 1; round <= 4; round++) {
      for (let i = 0; i < 50; i++) {
        ctx.queue.dispatch({ pipeline, label: 'add_one', buffers: [x], workgroups: [n / 64] });
      }
      const out = new Float32Array(await ctx.queue.read(x, n * 4));
      expect(out[n - 1]).toBe(round * 50);
    }
    ctx.buffers.release(x);
  });
});

describe('errors name the kernel', () => {
  it('a shader that does not compile gives KernelCompileError with the label and the line', async () => {
    const wgsl =
      'fn helper() -> f32 { return 1.0; }\n@compute @workgroup_size(1)\nfn main() { let x: f32 = helper( ; }';
    const error = await ctx.pipelines
      .get({ key: 'test.broken', label: 'broken_softmax', wgsl })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(KernelCompileError);
    const compileError = error as KernelCompileError;
    expect(compileError.kernel).toBe('broken_softmax');
    expect(compileError.code).toBe('E_GPU_KERNEL_COMPILE');
    expect(compileError.message).toContain("kernel 'broken_softmax' does not compile");
    expect(compileError.message).toMatch(/broken_softmax\.wgsl:3:\d+/);
    expect(compileError.message).toContain('^');
  });

  it('a pipeline that exceeds limits gives KernelCompileError naming it', async () => {
    const wgsl = '@compute @workgroup_size(4096) fn main() { }';
    await expect(
      ctx.pipelines.get({ key: 'test.too_big', label: 'huge_workgroup', wgsl }),
    ).rejects.toThrow(/huge_workgroup/);
  });

  it('a binding of the wrong kind gives GpuValidationError naming the kernel', async () => {
    const pipeline = await ctx.pipelines.get({
      key: 'test.add_one',
      label: 'add_one',
      wgsl: ADD_ONE,
    });
    const wrong = ctx.buffers.uniform(new Float32Array(4));
    ctx.queue.dispatch({ pipeline, label: 'scale_boxes', buffers: [wrong], workgroups: [1] });
    const error = await ctx.queue.onDone().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GpuValidationError);
    expect((error as GpuValidationError).kernels).toContain('scale_boxes');
    expect((error as GpuValidationError).message).toContain('scale_boxes');
    // The batcher recovers: the next work runs normally.
    const x = ctx.buffers.upload(new Float32Array(4), 'x');
    ctx.queue.dispatch({ pipeline, label: 'add_one', buffers: [x], workgroups: [1] });
    expect(new Float32Array(await ctx.queue.read(x, 16))[3]).toBe(1);
    ctx.buffers.release(x);
  });

  it('a grid over the per-dimension limit is refused before it reaches Dawn', async () => {
    const pipeline = await ctx.pipelines.get({
      key: 'test.add_one',
      label: 'add_one',
      wgsl: ADD_ONE,
    });
    const x = ctx.buffers.acquire(64);
    expect(() =>
      ctx.queue.dispatch({ pipeline, label: 'wide_kernel', buffers: [x], workgroups: [70000] }),
    ).toThrow(/wide_kernel.*70000x1x1/);
    ctx.buffers.release(x);
  });
});

describe('buffer reuse and queue order', () => {
  it('an upload into a reused buffer does not overtake dispatches encoded before it', async () => {
    const copy = await ctx.pipelines.get({
      key: 'test.copy',
      label: 'copy',
      wgsl: `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < arrayLength(&y)) { y[id.x] = x[id.x]; }
}`,
    });
    const first = ctx.buffers.upload(new Float32Array(64).fill(1), 'first');
    const y = ctx.buffers.acquire(64 * 4, 'y');
    ctx.queue.dispatch({ pipeline: copy, label: 'copy', buffers: [first, y], workgroups: [1] });
    ctx.buffers.release(first);
    // Same size class: the pool hands `first` out again; its write must wait for the copy above.
    const second = ctx.buffers.upload(new Float32Array(64).fill(2), 'second');
    expect(second).toBe(first);
    const out = new Float32Array(await ctx.queue.read(y, 64 * 4));
    expect([...out].every((v) => v === 1)).toBe(true);
    ctx.buffers.release(second);
    ctx.buffers.release(y);
  });
});

describe('pipeline cache', () => {
  it('compiles once per key and refuses one key for two sources', async () => {
    const a = await ctx.pipelines.get({ key: 'test.cache', label: 'add_one', wgsl: ADD_ONE });
    const hits = ctx.pipelines.stats().hits;
    const b = await ctx.pipelines.get({ key: 'test.cache', label: 'add_one', wgsl: ADD_ONE });
    expect(b).toBe(a);
    expect(ctx.pipelines.stats().hits).toBe(hits + 1);
    await expect(
      ctx.pipelines.get({ key: 'test.cache', label: 'other', wgsl: ADD_ONE + '\n' }),
    ).rejects.toThrow(/collision/);
  });
});

describe('buffer pool', () => {
  it('size classes are stable and waste at most a quarter', () => {
    expect(sizeClass(1)).toBe(256);
    expect(sizeClass(4096)).toBe(4096);
    for (const n of [4097, 10_000, 123_457, 9_999_999]) {
      const c = sizeClass(n);
      expect(c).toBeGreaterThanOrEqual(n);
      expect(c).toBeLessThanOrEqual(n * 1.25 + 256);
      expect(sizeClass(c)).toBe(c);
    }
  });

  it('reuses released buffers and refuses double release', () => {
    const a = ctx.buffers.acquire(10_000, 'a');
    ctx.buffers.release(a);
    const created = ctx.buffers.stats().created;
    const b = ctx.buffers.acquire(9_000, 'b');
    expect(b).toBe(a);
    expect(ctx.buffers.stats().created).toBe(created);
    ctx.buffers.release(b);
    expect(() => ctx.buffers.release(b)).toThrow(/twice/);
  });

  it('uniform buffers are shared by content', () => {
    const u1 = ctx.buffers.uniform(new Uint32Array([1, 2, 3, 4]));
    const u2 = ctx.buffers.uniform(new Uint32Array([1, 2, 3, 4]));
    const u3 = ctx.buffers.uniform(new Uint32Array([1, 2, 3, 5]));
    expect(u2).toBe(u1);
    expect(u3).not.toBe(u1);
  });

  it('uploads data whose length is not a multiple of 4 bytes', async () => {
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
    const buffer = ctx.buffers.upload(bytes);
    const back = new Uint8Array(await ctx.queue.read(buffer, 8));
    expect([...back.slice(0, 7)]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    ctx.buffers.release(buffer);
  });
});
