import type { FbnetArch } from '@nasjs/search-space'
import { fbnet } from '@nasjs/search-space'
import type * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { parseConfig } from './config.js'
import type { MbLayer, MbNetwork } from './mbconv.js'
import { buildMbNetwork, mbNetworkCost, mbSegments } from './mbconv.js'
import type { LatencyBlockSpec } from './hardware/block-spec.js'

/**
 * Options of the FBNet network. `macro: 'imagenet'` (the default) is the FBNet paper's ImageNet
 * network: 224x224x3 inputs, 1,000 classes; `macro: 'cifar'` is HW-NAS-Bench's CIFAR-100 one (no
 * stride in the stem and the first searchable stage, a 1,504-channel head): 32x32x3 inputs, 100
 * classes. `inputShape` and `classes` override those defaults.
 * @since 0.1.0
 * @category models
 */
export const FbnetNetworkOptions = z
  .object({
    macro: z
      .enum(['imagenet', 'cifar'])
      .default('imagenet')
      .describe(
        "macro-architecture: 'imagenet' (FBNet, stride-2 stem, 1984-channel head) or 'cifar' (HW-NAS-Bench CIFAR-100: stride-1 stem and first stage, 1504-channel head)",
      ),
    inputShape: z
      .tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)])
      .optional()
      .describe('height, width, channels (NHWC); default 224x224x3 (imagenet) or 32x32x3 (cifar)'),
    classes: z
      .number()
      .int()
      .min(2)
      .optional()
      .describe('outputs of the linear classifier (logits); default 1000 (imagenet) or 100 (cifar)'),
    dropout: z.number().min(0).lt(1).default(0).describe('dropout rate before the classifier'),
    seed: z.number().int().default(0).describe('seed of the weight initialisers and the dropout masks'),
  })
  .strict()
/** @since 0.1.0 */
export type FbnetNetworkOptions = z.input<typeof FbnetNetworkOptions>

function parseOptions(options: unknown): z.output<typeof FbnetNetworkOptions> {
  return parseConfig(FbnetNetworkOptions, options, 'FBNet network option')
}

/** Channels, searchable layers and first stride of the 7 stages (FBNet Table 1). */
const STAGES = [
  [16, 1, 1],
  [24, 4, 2],
  [32, 4, 2],
  [64, 4, 2],
  [112, 4, 1],
  [184, 4, 2],
  [352, 1, 1],
] as const

/** The layer each of the 22 searchable positions builds (`undefined` for an identity `skip`). */
function fbnetLayers(a: FbnetArch, cifar: boolean): (MbLayer | undefined)[] {
  const layers: (MbLayer | undefined)[] = []
  let cin = 16
  let i = 0
  STAGES.forEach(([cout, n, firstStride], s) => {
    for (let b = 0; b < n; b++) {
      const op = a[i++]!
      const stride = b > 0 || (cifar && s === 1) ? 1 : firstStride
      if (op === 'skip') {
        // the identity, or a 1x1 convolution (BatchNorm, ReLU) where the shape changes
        layers.push(
          stride !== 1 || cin !== cout
            ? { kind: 'conv', cin, cout, kernel: 1, stride, act: 'relu' }
            : undefined,
        )
      } else {
        const expansion = Number(op[4])
        layers.push({
          kind: 'mbconv',
          cin,
          cout,
          mid: cin * expansion,
          kernel: Number(op[1]),
          stride,
          act: 'relu',
          expand: true,
          se: 0,
          groups: op.endsWith('_g2') ? 2 : 1,
        })
      }
      cin = cout
    }
  })
  return layers
}

/**
 * The layer-by-layer description of the FBNet network of `arch` (what {@link buildFbnet} builds and
 * {@link fbnetCost} counts).
 * @internal
 */
export function fbnetNetwork(arch: FbnetArch, options?: FbnetNetworkOptions): MbNetwork {
  const a = fbnet.validate(arch)
  const o = parseOptions(options)
  const cifar = o.macro === 'cifar'
  const layers = fbnetLayers(a, cifar).filter((l): l is MbLayer => l !== undefined)
  return {
    name: 'fbnet',
    inputShape: o.inputShape ?? (cifar ? [32, 32, 3] : [224, 224, 3]),
    stem: { cout: 16, kernel: 3, stride: cifar ? 1 : 2, act: 'relu' },
    layers,
    head: { cout: cifar ? 1504 : 1984, act: 'relu' },
    dropout: o.dropout,
    classes: o.classes ?? (cifar ? 100 : 1000),
  }
}

/**
 * Exact parameter and FLOP counts of the network {@link buildFbnet} builds, without building it:
 * parameters are the trainable weights (convolutions, BatchNorm scales and shifts, the classifier);
 * FLOPs are multiply-accumulates of convolutions and the classifier (its bias included, as
 * `nb201Cost` counts them). Checked equal to HW-NAS-Bench's `FBNet_Infer` for FBNet-A, -B, -C and
 * random architectures, both macro-architectures.
 * @example
 * ```ts
 * const c = fbnet.parse('k3_e1 k3_e6 skip k3_e1 k3_e1 k5_e6 k5_e3 k5_e6 k3_e6 k5_e6 k5_e3 k5_e6 k5_e6 k5_e6 k5_e6 k5_e6 k5_e3 k5_e6 k5_e6 k5_e6 k5_e6 k3_e6')
 * fbnetCost(c) // { params: 5572200, flops: 384961160 }: FBNet-C (timm's fbnetc_100: 5.57 M parameters)
 * ```
 * @since 0.1.0
 * @category models
 */
export function fbnetCost(arch: FbnetArch, options?: FbnetNetworkOptions): { params: number; flops: number } {
  return mbNetworkCost(fbnetNetwork(arch, options))
}

/**
 * The FBNet network of `arch` as a TF.js functional model (Wu et al. 2019, _FBNet: Hardware-Aware
 * Efficient ConvNet Design via Differentiable Neural Architecture Search_, Table 1; the reference is
 * HW-NAS-Bench's `FBNet_Infer`, whose measurements the HELP FBNet latency table holds, and
 * maskrcnn-benchmark's FBNet builder): a 3x3 convolution to 16 channels (BatchNorm, ReLU) with stride
 * 2; 22 searchable layers in stages of 1, 4, 4, 4, 4, 4 and 1 layers with 16, 24, 32, 64, 112, 184
 * and 352 channels whose first layers have strides 1, 2, 2, 2, 1, 2, 1; a 1x1 convolution to 1984
 * channels (BatchNorm, ReLU), global average pooling and a linear classifier (logits). A block `kK_eE`
 * is a 1x1 convolution to E x input channels (BatchNorm, ReLU), a K x K depthwise convolution
 * (BatchNorm, ReLU) and a 1x1 convolution to the output channels (BatchNorm), plus the input when the
 * stride is 1 and the channels are equal; `_g2` makes both 1x1 convolutions group convolutions with 2
 * groups and shuffles the channels after the first (ShuffleNet's channel shuffle). `skip` is the
 * identity, or where the layer changes the shape a 1x1 convolution with its stride (BatchNorm, ReLU).
 * With `macro: 'cifar'` the stem and the first layer of the second stage have stride 1 and the head
 * has 1504 channels. Only standard TF.js layers (see `buildMbNetwork`); padding is PyTorch's.
 * @example
 * ```ts
 * const model = buildFbnet(fbnet.sample(new Rng(1)), { macro: 'cifar', classes: 10 }) // 32x32x3 in
 * ```
 * @since 0.1.0
 * @category models
 */
export function buildFbnet(arch: FbnetArch, options?: FbnetNetworkOptions): tfl.LayersModel {
  const net = fbnetNetwork(arch, options)
  return buildMbNetwork(net, parseOptions(options).seed)
}

/**
 * The latency blocks of the FBNet network of `arch`, keyed by layer index and operation as FBNet's
 * own lookup table is (`layer<l>:<op>`; an identity `skip` is a block of nothing), with `stem` and
 * `head`: a layer's place (channels, stride, input size) is fixed by its index once the network setting
 * is, so the published per-layer table and one measured here use the same keys.
 * @internal
 */
export function fbnetBlocks(arch: FbnetArch, options?: FbnetNetworkOptions): LatencyBlockSpec[] {
  const a = fbnet.validate(arch)
  const o = parseOptions(options)
  const segments = mbSegments(fbnetNetwork(a, options))
  const out: LatencyBlockSpec[] = [{ ...segments[0]!, key: 'stem' }]
  let j = 1
  fbnetLayers(a, o.macro === 'cifar').forEach((layer, l) => {
    if (layer === undefined) {
      out.push({ key: `layer${l}:skip`, inputShape: segments[j]!.inputShape, count: 1, apply: (x) => x })
    } else out.push({ ...segments[j++]!, key: `layer${l}:${a[l]!}` })
  })
  out.push({ ...segments[j]!, key: 'head' })
  return out
}
