// The module system detector blocks are written in: a tree of `Module`s, each owning named
// `Parameter`s (trainable tensors) and buffers (BN running statistics), registered under the names
// torchvision / mmdetection use, so a state dict written by PyTorch loads by name and ours loads
// there. Parameters hold host values (Float32Array); a forward pass turns them into Tensors of a
// trace through a ParameterBinding (runtime/nn/binding.ts). Sits between the Tensor front end
// (runtime/tensor) and the blocks (runtime/models); training code takes `trainableParameters()`.
import type { Rng } from '../rng.js';
import { ModelConfigError } from './errors.js';
import type { Initializer } from './init.js';
import { initialValues } from './init.js';

export type ParameterKind = 'parameter' | 'buffer';

/** One named tensor of a module: its shape, how to initialise it, and its current host value. */
export class Parameter {
  /** Current value (row-major); undefined until initialised or loaded. */
  value: Float32Array | undefined = undefined;
  /** requires_grad: false for buffers and for frozen parameters. */
  trainable: boolean;

  constructor(
    readonly shape: readonly number[],
    readonly init: Initializer,
    readonly kind: ParameterKind = 'parameter',
    /** 'int' for PyTorch's int64 counters (BN `num_batches_tracked`); stored as numbers here. */
    readonly dtype: 'float' | 'int' = 'float',
  ) {
    this.trainable = kind === 'parameter';
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

export interface NamedParameter {
  readonly name: string;
  readonly parameter: Parameter;
}

function checkName(name: string, owner: string): void {
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new ModelConfigError(`${owner}: "${name}" is not a valid parameter or module name`);
  }
}

/**
 * A node of the module tree. Subclasses register parameters (`addParameter`, `addBuffer`) and
 * children (`addChild`) in their constructor, in the order PyTorch registers them, so `state()`
 * lists names in `state_dict()` order.
 */
export abstract class Module {
  readonly #entries = new Map<string, Parameter | Module>();
  #training = true;

  protected addParameter(name: string, shape: readonly number[], init: Initializer): Parameter {
    return this.#register(name, new Parameter(shape, init, 'parameter'));
  }

  protected addBuffer(
    name: string,
    shape: readonly number[],
    init: Initializer,
    dtype: 'float' | 'int' = 'float',
  ): Parameter {
    return this.#register(name, new Parameter(shape, init, 'buffer', dtype));
  }

  protected addChild<M extends Module>(name: string, module: M): M {
    return this.#register(name, module);
  }

  #register<T extends Parameter | Module>(name: string, entry: T): T {
    checkName(name, this.constructor.name);
    if (this.#entries.has(name)) {
      throw new ModelConfigError(`${this.constructor.name}: "${name}" is registered twice`);
    }
    this.#entries.set(name, entry);
    return entry;
  }

  /** Direct children, by name. */
  children(): [string, Module][] {
    return [...this.#entries].flatMap(([n, e]) => (e instanceof Module ? [[n, e]] : []));
  }

  /** This module and every module below it, depth first. */
  modules(): Module[] {
    return [this, ...this.children().flatMap(([, child]) => child.modules())];
  }

  /** Every parameter and buffer below this module, with its qualified name, in state-dict order. */
  state(prefix = ''): NamedParameter[] {
    const out: NamedParameter[] = [];
    // torch's state_dict lists a module's own tensors before its children's.
    for (const [name, entry] of this.#entries)
      if (entry instanceof Parameter) out.push({ name: prefix + name, parameter: entry });
    for (const [name, entry] of this.#entries)
      if (entry instanceof Module) out.push(...entry.state(`${prefix}${name}.`));
    return out;
  }

  /** Parameters (not buffers) that receive gradients. */
  trainableParameters(prefix = ''): NamedParameter[] {
    return this.state(prefix).filter((p) => p.parameter.trainable);
  }

  /** Stops gradients to every parameter below this module (mmdet `requires_grad = False`). */
  freeze(): this {
    for (const { parameter } of this.state()) parameter.trainable = false;
    return this;
  }

  /** True when no parameter below this module is trainable (its forward may run under noGrad). */
  get frozen(): boolean {
    return this.state().every((p) => !p.parameter.trainable);
  }

  get training(): boolean {
    return this.#training;
  }

  /** torch's `train(mode)`: sets the mode of this module and every descendant. */
  train(mode = true): this {
    this.#training = mode;
    for (const [, child] of this.children()) child.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Draws every parameter and buffer from its initializer. Each tensor uses the child stream
   * `rng.child(qualifiedName)`, so values do not depend on visiting order.
   */
  initialize(rng: Rng, prefix = ''): this {
    for (const { name, parameter } of this.state(prefix)) {
      parameter.value = initialValues(parameter.init, parameter.shape, rng.child(name), name);
    }
    return this;
  }

  /** Number of scalar parameters (buffers excluded). */
  parameterCount(): number {
    return this.state()
      .filter((p) => p.parameter.kind === 'parameter')
      .reduce((n, p) => n + p.parameter.size, 0);
  }
}

/** A list of modules named 0, 1, 2… (torch.nn.ModuleList / Sequential naming). */
export class ModuleList<M extends Module> extends Module {
  readonly items: readonly M[];
  constructor(items: readonly M[]) {
    super();
    items.forEach((m, i) => this.addChild(String(i), m));
    this.items = items;
  }
}
