// The checks behind `alignc doctor`: acquire the device, describe adapter, driver, backend, limits
// and optional features, dispatch a tiny kernel through the real pipeline cache and command batcher,
// verify its numbers against the CPU, and reach a one-line verdict. Also used by setup and tests.

import { AlignError } from '../errors.js';
import type { AdapterReport } from './adapter-report.js';
import { acquireGpu, releaseGpu, type GpuContext } from './device.js';

export interface DispatchCheck {
  readonly ok: boolean;
  readonly elements: number;
  readonly maxAbsError: number;
  readonly milliseconds: number;
  readonly detail: string;
}

export interface DoctorReport {
  readonly ok: boolean;
  readonly verdict: string;
  readonly adapter: AdapterReport | undefined;
  readonly dispatch: DispatchCheck | undefined;
  readonly error:
    { readonly code: string; readonly message: string; readonly hint?: string } | undefined;
  readonly node: string;
  readonly platform: string;
}

const CHECK_WGSL = /* wgsl */ `
struct Params { n: u32, scale: f32, shift: f32, _pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x;
  if (i >= params.n) { return; }
  y[i] = fma(x[i], params.scale, params.shift) + f32(i % 7u);
}
`;

/** Dispatches y = x * scale + shift + (i mod 7) over an odd-sized vector and checks every element. */
export async function checkDispatch(context: GpuContext, elements = 1031): Promise<DispatchCheck> {
  const started = performance.now();
  const x = new Float32Array(elements);
  for (let i = 0; i < elements; i++) x[i] = Math.sin(i) * 10;
  const scale = 1.5;
  const shift = -0.25;
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 1)[0] = elements;
  new Float32Array(params, 4, 2).set([scale, shift]);
  const pipeline = await context.pipelines.get({
    key: 'doctor.affine_mod7',
    label: 'doctor_check',
    wgsl: CHECK_WGSL,
  });
  const xBuffer = context.buffers.upload(x, 'doctor_x');
  const yBuffer = context.buffers.acquire(x.byteLength, 'doctor_y');
  context.queue.dispatch({
    pipeline,
    label: 'doctor_check',
    buffers: [xBuffer, yBuffer, context.buffers.uniform(new Uint8Array(params))],
    workgroups: [Math.ceil(elements / 64)],
  });
  const y = new Float32Array(await context.queue.read(yBuffer, x.byteLength));
  context.buffers.release(xBuffer);
  context.buffers.release(yBuffer);
  let maxAbsError = 0;
  let firstBad = -1;
  for (let i = 0; i < elements; i++) {
    const expected = Math.fround(Math.fround(x[i] * scale + shift) + (i % 7));
    const error = Math.abs(y[i] - expected);
    if (!(error <= 1e-4) && firstBad < 0) firstBad = i;
    maxAbsError = Math.max(maxAbsError, Number.isNaN(error) ? Infinity : error);
  }
  const ok = firstBad < 0;
  return {
    ok,
    elements,
    maxAbsError,
    milliseconds: performance.now() - started,
    detail: ok
      ? `${elements} elements verified against the CPU (max |error| ${maxAbsError.toExponential(1)})`
      : `element ${firstBad} is ${y[firstBad]}, expected ${x[firstBad] * scale + shift + (firstBad % 7)}`,
  };
}

export async function runDoctor(): Promise<DoctorReport> {
  const base = { node: process.version, platform: `${process.platform}-${process.arch}` };
  let context: GpuContext;
  try {
    context = await acquireGpu();
  } catch (error) {
    if (!(error instanceof AlignError)) throw error;
    return {
      ...base,
      ok: false,
      verdict: 'NOT READY: no WebGPU device',
      adapter: undefined,
      dispatch: undefined,
      error: { code: error.code, message: error.message, hint: error.hint },
    };
  }
  try {
    let dispatch: DispatchCheck;
    try {
      dispatch = await checkDispatch(context);
    } catch (error) {
      if (!(error instanceof AlignError)) throw error;
      return {
        ...base,
        ok: false,
        verdict: `NOT READY: a WebGPU device exists (${context.info.device}) but a test kernel failed`,
        adapter: context.info,
        dispatch: undefined,
        error: { code: error.code, message: error.message, hint: error.hint },
      };
    }
    const kind = context.isSoftware ? 'software adapter (CPU-speed kernels)' : 'hardware GPU';
    return {
      ...base,
      ok: dispatch.ok,
      verdict: dispatch.ok
        ? `READY: ${context.info.device} via ${context.info.backend}, ${kind}; test kernel verified`
        : `NOT READY: the test kernel computed wrong numbers on ${context.info.device}`,
      adapter: context.info,
      dispatch,
      error: undefined,
    };
  } finally {
    await releaseGpu(context);
  }
}
