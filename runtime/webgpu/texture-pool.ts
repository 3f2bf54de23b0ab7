// Scratch rgba32float textures for packed GEMM operands (compiler/wgsl/pack.ts writes them,
// gemm.ts reads them). A texture lives only between its pack and its GEMM dispatch; WebGPU orders
// dispatches, so it can be handed out again as soon as the GEMM is encoded. Pooled by size.

export class TexturePool {
  readonly #device: GPUDevice;
  readonly #free = new Map<string, GPUTexture[]>();
  readonly #all = new Set<GPUTexture>();
  readonly #views = new WeakMap<GPUTexture, GPUTextureView>();

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  acquire(width: number, height: number, label: string): GPUTexture {
    const hit = this.#free.get(`${width}x${height}`)?.pop();
    if (hit) return hit;
    const texture = this.#device.createTexture({
      size: [width, height],
      format: 'rgba32float',
      // Read at call time: the GPUTextureUsage global exists once runtime/gpu has loaded Dawn.
      usage:
        GPUTextureUsage.TEXTURE_BINDING |
        GPUTextureUsage.STORAGE_BINDING |
        GPUTextureUsage.COPY_DST,
      label,
    });
    this.#all.add(texture);
    return texture;
  }

  /** One view per texture, so the batcher's bind-group cache can hit. */
  view(texture: GPUTexture): GPUTextureView {
    let view = this.#views.get(texture);
    if (!view) {
      view = texture.createView();
      this.#views.set(texture, view);
    }
    return view;
  }

  release(texture: GPUTexture): void {
    const key = `${texture.width}x${texture.height}`;
    const list = this.#free.get(key) ?? [];
    list.push(texture);
    this.#free.set(key, list);
  }

  destroyAll(): void {
    for (const texture of this.#all) texture.destroy();
    this.#all.clear();
    this.#free.clear();
  }
}

const pools = new WeakMap<GPUDevice, TexturePool>();

/** The texture pool of a device (made on first use). */
export function texturePool(device: GPUDevice): TexturePool {
  let pool = pools.get(device);
  if (!pool) {
    pool = new TexturePool(device);
    pools.set(device, pool);
  }
  return pool;
}
