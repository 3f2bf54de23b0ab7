// The classification / regression towers of the dense heads (mmdet `cls_convs` / `reg_convs`):
// `count` 3×3 ConvModules (conv → optional norm → ReLU), Normal(std 0.01) weights and zero biases:
// mmdet's head `init_cfg` (Normal on every Conv2d) runs after, and overrides, ConvModule's own
// Kaiming init at construction.
// Shared by runtime/models/retina-head.ts and fcos-head.ts.
import type { ParameterBinding } from '../nn/binding.js';
import { ConvModule } from '../nn/conv-module.js';
import type { Initializer } from '../nn/init.js';
import { ModuleList } from '../nn/module.js';
import type { NormKind } from '../nn/norm.js';
import type { Tensor } from '../tensor/tensor.js';

const NORMAL_001: Initializer = { kind: 'normal', std: 0.01 };
const ZERO: Initializer = { kind: 'constant', value: 0 };

export function headTower(
  inChannels: number,
  featChannels: number,
  count: number,
  norm: NormKind | undefined,
): ModuleList<ConvModule> {
  const convs: ConvModule[] = [];
  for (let i = 0; i < count; i++) {
    convs.push(
      new ConvModule(i === 0 ? inChannels : featChannels, featChannels, 3, {
        padding: 1,
        norm,
        weightInit: NORMAL_001,
        biasInit: ZERO,
      }),
    );
  }
  return new ModuleList(convs);
}

export function runTower(b: ParameterBinding, tower: ModuleList<ConvModule>, x: Tensor): Tensor {
  return tower.items.reduce((y, conv) => conv.forward(b, y), x);
}
