// What alignc knows about the WebGPU adapter it runs on: identity, backend, whether it is a
// software rasterizer (lavapipe), optional features and limits. `alignc doctor` prints it; the
// code generator reads `isSoftware` to pick a kernel strategy (register blocking without shared
// memory on lavapipe, shared-memory tiles on real GPUs).

/** Optional features alignc requests when the adapter has them. */
export const OPTIONAL_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

/** Limits alignc raises from the WebGPU defaults to the adapter's maximum. */
export const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
  'maxBindingsPerBindGroup',
  'maxTextureDimension2D',
] as const;
export type RaisedLimit = (typeof RAISED_LIMITS)[number];

export interface AdapterReport {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** The driver family as far as it can be told from the adapter strings. */
  readonly backend: string;
  readonly isFallbackAdapter: boolean;
  /** lavapipe / llvmpipe / SwiftShader or any adapter that declares itself a fallback. */
  readonly isSoftware: boolean;
  readonly subgroupMinSize: number | undefined;
  readonly subgroupMaxSize: number | undefined;
  /** Every feature the adapter offers, sorted. */
  readonly adapterFeatures: readonly string[];
  /** The optional features alignc requested (those of OPTIONAL_FEATURES the adapter has). */
  readonly enabledFeatures: readonly OptionalFeature[];
  readonly limits: Readonly<Record<RaisedLimit, number>>;
}

function describeBackend(info: GPUAdapterInfo): string {
  const text =
    `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  if (text.includes('llvmpipe')) return 'Vulkan (Mesa lavapipe, software)';
  if (text.includes('swiftshader')) return 'Vulkan (SwiftShader, software)';
  if (text.includes('nvidia')) return 'Vulkan (NVIDIA)';
  if (text.includes('radv') || text.includes('amd')) return 'Vulkan (AMD)';
  if (text.includes('intel')) return 'Vulkan (Intel)';
  if (text.includes('apple') || text.includes('metal')) return 'Metal';
  return 'unknown';
}

export function reportAdapter(adapter: GPUAdapter): AdapterReport {
  const info = adapter.info;
  // dawn.node puts isFallbackAdapter on the info object (newer spec); older builds on the adapter.
  const fallback = Boolean(
    (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ??
    (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter,
  );
  const text = `${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  const isSoftware =
    fallback ||
    info.architecture === 'software' ||
    text.includes('llvmpipe') ||
    text.includes('swiftshader');
  const limits = {} as Record<RaisedLimit, number>;
  for (const name of RAISED_LIMITS) limits[name] = adapter.limits[name];
  const adapterFeatures = [...adapter.features].map(String).sort();
  const enabledFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const sub = info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    backend: describeBackend(info),
    isFallbackAdapter: fallback,
    isSoftware,
    subgroupMinSize: sub.subgroupMinSize,
    subgroupMaxSize: sub.subgroupMaxSize,
    adapterFeatures,
    enabledFeatures,
    limits,
  };
}
