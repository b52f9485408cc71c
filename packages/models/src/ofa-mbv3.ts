import type { OfaArch } from '@nasjs/search-space'
import { ofaMbv3 } from '@nasjs/search-space'
import type * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { parseConfig } from './config.js'
import type { MbActivation, MbLayer, MbNetwork } from './mbconv.js'
import { buildMbNetwork, makeDivisible, mbNetworkCost } from './mbconv.js'

/**
 * Options of the Once-for-All MobileNetV3 network. The defaults are OFA's ImageNet network of the
 * `ofa_mbv3_d234_e346_k357_w1.0` supernet: width 1.0, the architecture's resolution, 1,000 classes.
 * `inputShape` and `classes` give a network for other data (any resolution; the architecture's is
 * then ignored).
 * @since 0.1.0
 * @category models
 */
export const OfaMbv3NetworkOptions = z
  .object({
    widthMult: z
      .literal([1, 1.2])
      .default(1)
      .describe(
        'width multiplier of the OFA supernet: 1 (ofa_mbv3_d234_e346_k357_w1.0) or 1.2 (..._w1.2, trained at 160-224 pixels)',
      ),
    inputShape: z
      .tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)])
      .optional()
      .describe("height, width, channels (NHWC); default the architecture's resolution, 3 channels"),
    classes: z.number().int().min(2).default(1000).describe('outputs of the linear classifier (logits)'),
    dropout: z
      .number()
      .min(0)
      .lt(1)
      .default(0.1)
      .describe('dropout rate before the classifier (OFA: 0.1 for the supernet)'),
    seed: z.number().int().default(0).describe('seed of the weight initialisers and the dropout masks'),
  })
  .strict()
/** @since 0.1.0 */
export type OfaMbv3NetworkOptions = z.input<typeof OfaMbv3NetworkOptions>

function parseOptions(options: unknown): z.output<typeof OfaMbv3NetworkOptions> {
  return parseConfig(OfaMbv3NetworkOptions, options, 'OFA-MobileNetV3 network option')
}

/**
 * The fixed layout of the OFA-MobileNetV3 network: `widths` at width 1.0 (the first convolution, the
 * first block, the 5 stages, the final expansion, the feature mix); per first block then stage, the
 * `strides`, `activations` and whether blocks have squeeze-and-excitation (`squeezeExcite`).
 * @since 0.1.0
 * @category models
 */
export const OFA_MBV3_LAYOUT = {
  widths: [16, 16, 24, 40, 80, 112, 160, 960, 1280],
  strides: [1, 2, 2, 2, 1, 2],
  activations: ['relu', 'relu', 'relu', 'h_swish', 'h_swish', 'h_swish'],
  squeezeExcite: [false, false, true, false, true, true],
} as const satisfies {
  widths: readonly number[]
  strides: readonly number[]
  activations: readonly MbActivation[]
  squeezeExcite: readonly boolean[]
}
const BASE_WIDTHS = OFA_MBV3_LAYOUT.widths
const STRIDES = OFA_MBV3_LAYOUT.strides
const ACTIVATIONS: readonly MbActivation[] = OFA_MBV3_LAYOUT.activations
const SQUEEZE_EXCITE = OFA_MBV3_LAYOUT.squeezeExcite

/**
 * The layer-by-layer description of the OFA-MobileNetV3 network of `arch` (what
 * {@link buildOfaMbv3} builds and {@link ofaMbv3Cost} counts).
 * @internal
 */
export function ofaMbv3Network(arch: OfaArch, options?: OfaMbv3NetworkOptions): MbNetwork {
  const a = ofaMbv3.validate(arch)
  const o = parseOptions(options)
  const widths = BASE_WIDTHS.map((b) => makeDivisible(b * o.widthMult))
  const layers: MbLayer[] = [
    {
      kind: 'mbconv',
      cin: widths[0]!,
      cout: widths[1]!,
      mid: widths[0]!,
      kernel: 3,
      stride: STRIDES[0],
      act: ACTIVATIONS[0]!,
      expand: false,
      se: 0,
      groups: 1,
    },
  ]
  let cin = widths[1]!
  a.stages.forEach((blocks, s) => {
    const cout = widths[s + 2]!
    blocks.forEach((b, i) => {
      const mid = makeDivisible(Math.round(cin * b.expand))
      layers.push({
        kind: 'mbconv',
        cin,
        cout,
        mid,
        kernel: b.kernel,
        stride: i === 0 ? STRIDES[s + 1]! : 1,
        act: ACTIVATIONS[s + 1]!,
        expand: true,
        se: SQUEEZE_EXCITE[s + 1] ? makeDivisible(Math.floor(mid / 4)) : 0,
        groups: 1,
      })
      cin = cout
    })
  })
  return {
    name: 'ofa_mbv3',
    inputShape: o.inputShape ?? [a.resolution, a.resolution, 3],
    stem: { cout: widths[0]!, kernel: 3, stride: 2, act: 'h_swish' },
    layers,
    head: { cout: widths[7]!, act: 'h_swish' },
    mix: { cout: widths[8]!, act: 'h_swish' },
    dropout: o.dropout,
    classes: o.classes,
  }
}

/**
 * Exact parameter and FLOP counts of the network {@link buildOfaMbv3} builds, without building it.
 * Parameters are the trainable weights (convolutions, BatchNorm scales and shifts, squeeze-and-excitation
 * and classifier weights and biases), as OFA's `count_parameters` counts them; FLOPs are
 * multiply-accumulates of convolutions and linear layers at the input resolution, biases included as
 * `nb201Cost` counts them. OFA's own counter (`count_net_flops`) leaves the biases out: it gives
 * `flops` minus `classes` minus, for each block with squeeze-and-excitation, its reduced plus its
 * expanded channels. Checked equal to the OFA code for its largest and smallest subnets and its 34
 * published MobileNetV3 specialized networks.
 * @example
 * ```ts
 * // OFA's largest subnet: depth 4, kernel 7, expand 6 everywhere
 * const largest = ofaMbv3.parse(JSON.stringify({ ks: Array(20).fill(7), e: Array(20).fill(6), d: [4, 4, 4, 4, 4], r: [224] }))
 * ofaMbv3Cost(largest) // { params: 7664760, flops: 566180312 }: the OFA code's 566,170,656 MACs + 9,656 biases
 * ofaMbv3Cost(largest, { widthMult: 1.2 }) // { params: 10701632, flops: 843112496 }
 * ```
 * @since 0.1.0
 * @category models
 */
export function ofaMbv3Cost(
  arch: OfaArch,
  options?: OfaMbv3NetworkOptions,
): { params: number; flops: number } {
  return mbNetworkCost(ofaMbv3Network(arch, options))
}

/**
 * The Once-for-All MobileNetV3 subnet of `arch` as a TF.js functional model (Cai et al. 2020, _Once
 * for All: Train One Network and Specialize it for Efficient Deployment_; the reference is
 * `OFAMobileNetV3` / `MobileNetV3` of mit-han-lab/once-for-all): a 3x3 convolution with stride 2,
 * BatchNorm and h-swish; a first MBConv block (3x3 depthwise, no expansion, ReLU); 5 stages of the
 * architecture's 2 to 4 blocks with 24, 40, 80, 112 and 160 channels at width 1.0 (times 1.2 rounded
 * to multiples of 8 at width 1.2) and strides 2, 2, 2, 1, 2; ReLU in stages 1 and 2, h-swish in
 * stages 3 to 5, squeeze-and-excitation in stages 2, 4 and 5. A block of kernel k and expand ratio e
 * expands its input to make_divisible(e x input channels, 8) channels (1x1 convolution, BatchNorm,
 * activation), runs a k x k depthwise convolution (BatchNorm, activation), the squeeze-and-excitation
 * (global average, 1x1 to make_divisible(mid // 4, 8) channels, ReLU, 1x1 back, hard sigmoid, times
 * the input) and a 1x1 projection with BatchNorm; the input is added back when the stride is 1 and
 * the channels are equal. Then a 1x1 convolution to 960 channels (BatchNorm, h-swish), global average
 * pooling, a 1x1 convolution to 1280 features without bias or BatchNorm (h-swish), dropout and a
 * linear classifier (logits); 1152 and 1536 at width 1.2. Only standard TF.js layers (see
 * `buildMbNetwork`); stride-2 convolutions pad as PyTorch does (k // 2 on every side). The input is
 * the architecture's resolution unless `inputShape` says otherwise.
 * @example
 * ```ts
 * const arch = ofaMbv3.sample(new Rng(1))
 * const model = buildOfaMbv3(arch, { inputShape: [32, 32, 3], classes: 10 }) // for CIFAR-sized data
 * ```
 * @since 0.1.0
 * @category models
 */
export function buildOfaMbv3(arch: OfaArch, options?: OfaMbv3NetworkOptions): tfl.LayersModel {
  const net = ofaMbv3Network(arch, options)
  return buildMbNetwork(net, parseOptions(options).seed)
}
