import { NasError, type Rng } from '@nasjs/core'
import type { MbLayer, MbNetwork } from '@nasjs/models'
import { mbNetworkCost, parseConfig } from '@nasjs/models'
import type { DslSpace, FbnetArch, FbnetOp } from '@nasjs/search-space'
import {
  FBNET_LAYERS,
  FBNET_OPS,
  choice,
  defineSpaceAs,
  fbnet,
  formatFbnet,
  parseFbnet,
} from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { z } from 'zod'
import type { BatchNormOptions, BnStats, ElasticSupernet } from './base.js'
import type { SuperkernelBlock } from './elastic.js'
import { centreKernel, conv, depthwise, leading, SupernetWeights } from './base.js'

type T4 = tf.Tensor4D

const width = z.number().int().min(2).multipleOf(2)

/**
 * The shape of an elastic FBNet supernet (zod, strict, every field defaulted). The defaults are the
 * FBNet paper's ImageNet network (Table 1: a 16-channel stem, stages of 16, 24, 32, 64, 112, 184 and
 * 352 channels, a 1,984-channel head, 224x224x3 in, 1,000 classes), whose largest subnet (`k5_e6` in
 * every layer) is the network `buildFbnet` of `@nasjs/models` builds for that architecture. A smaller
 * supernet keeps the 22 layers, their stages and strides and changes the widths and the input.
 * Widths are even: the `_g2` blocks split their channels into two groups.
 * @since 0.2.0
 * @category supernet
 */
export const FbnetSupernetConfig = z
  .object({
    space: z.literal('fbnet').default('fbnet').describe("the subnets' space (this supernet's kind)"),
    macro: z
      .enum(['imagenet', 'cifar'])
      .default('imagenet')
      .describe(
        "strides: 'imagenet' (stride-2 stem, FBNet) or 'cifar' (stride 1 in the stem and the second stage, HW-NAS-Bench)",
      ),
    widths: z
      .tuple([width, width, width, width, width, width, width, width, width])
      .default([16, 16, 24, 32, 64, 112, 184, 352, 1984])
      .describe('channels of the stem, the 7 stages and the head'),
    resolution: z.number().int().min(8).default(224).describe('input side'),
    inputChannels: z.number().int().min(1).default(3),
    classes: z.number().int().min(2).default(1000),
    dropout: z.number().min(0).lt(1).default(0).describe('dropout before the classifier'),
    kernelTransform: z
      .boolean()
      .default(true)
      .describe(
        "the 3x3 kernel is the 5x5's centre times a learned matrix (OFA); off: the plain centre (BigNAS)",
      ),
    seed: z.number().int().default(0).describe('seed of the initial weights'),
  })
  .strict()
/** @since 0.2.0 */
export type FbnetSupernetConfig = z.input<typeof FbnetSupernetConfig>
/** @since 0.2.0 */
export type FbnetSupernetShape = z.output<typeof FbnetSupernetConfig>

/**
 * Checks an FBNet supernet config: one `CONFIG_INVALID` NasError names the bad fields.
 * @since 0.2.0
 * @category supernet
 */
export function parseFbnetSupernetConfig(config: unknown): FbnetSupernetShape {
  return parseConfig(FbnetSupernetConfig, config, 'FBNet supernet config')
}

/**
 * The space of an FBNet supernet's subnets: the `fbnet` space itself for the default config (FBNet's
 * ImageNet network), else the same architectures under an id that names the supernet's network
 * (`fbnet@` followed by the macro, the widths and the resolution), so that nothing made for FBNet's
 * own network (a latency table, say) is taken for this one's.
 * @since 0.2.0
 * @category supernet
 */
export function fbnetSupernetSpace(config: FbnetSupernetConfig = {}): DslSpace<FbnetArch> {
  const c = parseFbnetSupernetConfig(config)
  const d = parseFbnetSupernetConfig({})
  const same = c.macro === d.macro && c.resolution === d.resolution && c.widths.join() === d.widths.join()
  if (same) return fbnet
  const op = choice(FBNET_OPS)
  return defineSpaceAs<FbnetArch>(
    `fbnet@${c.macro}:w${c.widths.join(',')}:r${c.resolution}`,
    { kind: 'product', parts: Array.from({ length: FBNET_LAYERS }, () => op) },
    {
      title: `FBNet subnets (${c.macro} strides, widths ${c.widths.join('/')}, ${c.resolution} pixels)`,
      format: formatFbnet,
      parse: parseFbnet,
    },
  )
}

/**
 * Whether a saved supernet shape (a checkpoint's `supernet`) is an FBNet supernet's.
 * @since 0.2.0
 * @category supernet
 */
export function isFbnetSupernet(shape: unknown): shape is FbnetSupernetShape {
  return typeof shape === 'object' && shape !== null && (shape as { space?: unknown }).space === 'fbnet'
}

/**
 * The scaled-down FBNet supernet nasjs trains on Fashion-MNIST on two cores: the 22 layers of FBNet
 * with its ImageNet strides (a stride-2 stem), half of FBNet's stage widths rounded to even (8, 8,
 * 12, 16, 32, 56, 92, 176 channels), a 256-channel head, grey 28x28 images, 10 classes. Its largest
 * subnet costs 3.0 MFLOPs, about OFA_MBV3_FMNIST's largest (2.3 MFLOPs at 32 pixels).
 * @since 0.2.0
 * @category supernet
 */
export const FBNET_FMNIST: FbnetSupernetConfig = {
  widths: [8, 8, 12, 16, 32, 56, 92, 176, 256],
  resolution: 28,
  inputChannels: 1,
  classes: 10,
}

/**
 * How {@link ElasticFbnet.forward} runs: BatchNorm and dropout as every supernet's, and optionally
 * as one superkernel network (Single-Path NAS).
 * @since 0.2.0
 */
export interface FbnetForwardOptions extends BatchNormOptions {
  /**
   * Runs every layer as its largest block (`k5_e6`, all 6 x input middle channels) with the 5x5
   * depthwise kernel, channel factors and residual factor this function gives for the layer
   * (Single-Path NAS); `use` applies to layers whose `skip` is the identity. `arch` is then ignored.
   */
  readonly superkernel?: (slot: FbnetSlotInfo) => SuperkernelBlock
}

/** Searchable layers per stage and the stride of each stage's first layer (FBNet Table 1). */
const STAGES = [
  [1, 1],
  [4, 2],
  [4, 2],
  [4, 2],
  [4, 1],
  [4, 2],
  [1, 1],
] as const

/** The kernels, expand ratios and groups of the `fbnet` ops (kernel 0 for `skip`). */
function opShape(op: FbnetOp): { kernel: number; expand: number; groups: number } {
  if (op === 'skip') return { kernel: 0, expand: 0, groups: 1 }
  return { kernel: Number(op[1]), expand: Number(op[4]), groups: op.endsWith('_g2') ? 2 : 1 }
}

/**
 * One of the 22 searchable layers of an {@link ElasticFbnet}.
 * @since 0.2.0
 */
export interface FbnetSlotInfo {
  /** `l<index>`, 0-based: the prefix of the layer's weight names. */
  readonly name: string
  readonly stage: number
  readonly cin: number
  readonly cout: number
  readonly stride: number
  /** Whether `skip` is a 1x1 convolution here (the layer changes the shape), not the identity. */
  readonly skipConv: boolean
}

/**
 * The FBNet space (Wu et al. 2019, _FBNet: Hardware-Aware Efficient ConvNet Design via
 * Differentiable Neural Architecture Search_) as one elastic weight-sharing supernet with the
 * elastic layers of {@link ElasticMbv3}: each of the 22 layers holds one block of the largest
 * choice (`k5_e6`) and every one of the 9 block types runs on slices of its weights, never copies:
 *
 * - **expansion** e1/e3/e6: the first e x input channels of the 1x1 expansion, the depthwise kernel,
 *   both BatchNorms and the projection (channels sorted by importance are not needed: the supernet
 *   trains every width from the start, as BigNAS);
 * - **kernel** k3/k5: the 3x3 kernel is the centre of the 5x5 one, times a learned 9x9 matrix per
 *   layer (OFA's kernel transformation, started at the identity) unless `kernelTransform` is off;
 * - **group convolution** (`_g2`): the e1 block's two 1x1 convolutions with their weights masked to
 *   the two diagonal blocks (a grouped convolution's weights are exactly those), and ShuffleNet's
 *   channel shuffle after the first, as FBNet's block;
 * - **skip**: the identity, which drops the layer (elastic depth), or where the layer changes the
 *   shape a 1x1 convolution with the stride (BatchNorm, ReLU), a weight of its own.
 *
 * BatchNorm slices its scale, shift and statistics with the channels. Any subnet's network is the one
 * `buildFbnet` of `@nasjs/models` builds for its architecture at this supernet's widths;
 * `exportSubnet` writes it as a standalone TF.js model with the supernet's weights.
 * @since 0.2.0
 * @category supernet
 */
export class ElasticFbnet extends SupernetWeights implements ElasticSupernet<FbnetArch> {
  readonly config: FbnetSupernetShape
  /** The space of this supernet's subnets ({@link fbnetSupernetSpace}). */
  readonly space: DslSpace<FbnetArch>
  private readonly slots: readonly FbnetSlotInfo[]
  private readonly masks = new Map<string, tf.Tensor4D>()

  constructor(config: FbnetSupernetConfig = {}) {
    const c = parseFbnetSupernetConfig(config)
    super(c.seed)
    this.config = c
    this.space = fbnetSupernetSpace(c)
    const W = c.widths
    const cifar = c.macro === 'cifar'
    this.add('stem/conv', this.heFanOut([3, 3, c.inputChannels, W[0]]))
    this.addBn('stem/bn', W[0])
    const slots: FbnetSlotInfo[] = []
    let cin = W[0]
    STAGES.forEach(([n, firstStride], s) => {
      const cout = W[s + 1]!
      for (let b = 0; b < n; b++) {
        const stride = b > 0 || (cifar && s === 1) ? 1 : firstStride
        const slot = {
          name: `l${slots.length}`,
          stage: s,
          cin,
          cout,
          stride,
          skipConv: stride !== 1 || cin !== cout,
        }
        slots.push(slot)
        const mid = 6 * cin
        this.add(`${slot.name}/expand`, this.heFanOut([1, 1, cin, mid]))
        this.addBn(`${slot.name}/expand_bn`, mid)
        this.add(`${slot.name}/dw`, this.heFanOut([5, 5, mid, 1]))
        this.addBn(`${slot.name}/dw_bn`, mid)
        this.add(`${slot.name}/project`, this.heFanOut([1, 1, mid, cout]))
        this.addBn(`${slot.name}/project_bn`, cout)
        if (c.kernelTransform) this.add(`${slot.name}/dw_5to3`, tf.eye(9))
        if (slot.skipConv) {
          this.add(`${slot.name}/skip`, this.heFanOut([1, 1, cin, cout]))
          this.addBn(`${slot.name}/skip_bn`, cout)
        }
        // the masks of its grouped block (e1: cin middle channels), made once
        this.groupMask(cin, cin)
        this.groupMask(cin, cout)
        cin = cout
      }
    })
    this.add('head/conv', this.heFanOut([1, 1, W[7], W[8]]))
    this.addBn('head/bn', W[8])
    this.add('classifier/kernel', this.glorot([W[8], c.classes]))
    this.add('classifier/bias', tf.zeros([c.classes]))
    this.slots = slots
  }

  /** The 22 searchable layers, in order. */
  get layerSlots(): readonly FbnetSlotInfo[] {
    return this.slots
  }

  /** The input side of every subnet (the config's resolution). */
  resolutionOf(_arch: FbnetArch): number {
    return this.config.resolution
  }

  /** The largest subnet: `k5_e6` in every layer. */
  largestArch(): FbnetArch {
    return new Array<FbnetOp>(FBNET_LAYERS).fill('k5_e6')
  }

  /** The smallest subnet: `skip` in every layer (the identity, or a 1x1 convolution where the shape changes). */
  smallestArch(): FbnetArch {
    return new Array<FbnetOp>(FBNET_LAYERS).fill('skip')
  }

  /** A subnet drawn uniformly: each layer one of the 9 block types. */
  sampleArch(rng: Rng): FbnetArch {
    return this.space.sample(rng)
  }

  private checkArch(arch: FbnetArch): FbnetArch {
    this.assertAlive()
    return this.space.validate(arch)
  }

  /**
   * The layer-by-layer description of subnet `arch` (what `buildMbNetwork` of `@nasjs/models` builds
   * and `mbNetworkCost` counts): `buildFbnet`'s network at this supernet's widths and input.
   */
  network(arch: FbnetArch): MbNetwork {
    const a = this.checkArch(arch)
    const c = this.config
    const layers: MbLayer[] = []
    this.slots.forEach((slot, i) => {
      const op = a[i]!
      const { kernel, expand, groups } = opShape(op)
      const { cin, cout, stride } = slot
      if (op === 'skip') {
        if (slot.skipConv) layers.push({ kind: 'conv', cin, cout, kernel: 1, stride, act: 'relu' })
        return
      }
      layers.push({
        kind: 'mbconv',
        cin,
        cout,
        mid: cin * expand,
        kernel,
        stride,
        act: 'relu',
        expand: true,
        se: 0,
        groups,
      })
    })
    return {
      name: 'fbnet_subnet',
      inputShape: [c.resolution, c.resolution, c.inputChannels],
      stem: { cout: c.widths[0], kernel: 3, stride: c.macro === 'cifar' ? 1 : 2, act: 'relu' },
      layers,
      head: { cout: c.widths[8], act: 'relu' },
      dropout: c.dropout,
      classes: c.classes,
    }
  }

  /** Exact parameters and FLOPs (multiply-accumulates) of subnet `arch`, as `fbnetCost` counts. */
  cost(arch: FbnetArch): { params: number; flops: number } {
    return mbNetworkCost(this.network(arch))
  }

  /** 1 where a 1x1 convolution from `cin` to `cout` channels in 2 groups has a weight, else 0. */
  private groupMask(cin: number, cout: number): T4 {
    const key = `${cin}x${cout}`
    let m = this.masks.get(key)
    if (m === undefined) {
      const v = new Float32Array(cin * cout)
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < cout; o++) {
          v[i * cout + o] = Math.floor((2 * i) / cin) === Math.floor((2 * o) / cout) ? 1 : 0
        }
      }
      m = tf.keep(tf.tensor4d(v, [1, 1, cin, cout]))
      this.masks.set(key, m)
    }
    return m
  }

  /** The 1x1 weights `name` over `cin` x `cout`, masked to 2 groups when `groups` is 2. */
  private pointwise(name: string, cin: number, cout: number, groups: number): T4 {
    const w = this.p(name) as tf.Tensor as T4
    const sliced =
      w.shape[2] === cin && w.shape[3] === cout ? w : tf.slice(w, [0, 0, 0, 0], [1, 1, cin, cout])
    return groups === 1 ? sliced : tf.mul(sliced, this.groupMask(cin, cout))
  }

  /** The depthwise kernel of `slot` at size `k` over its first `mid` channels. */
  private dwKernel(slot: FbnetSlotInfo, k: number, mid: number): T4 {
    let w = this.p(`${slot.name}/dw`) as tf.Tensor as T4
    if (mid < w.shape[2]) w = tf.slice(w, [0, 0, 0, 0], [5, 5, mid, 1])
    if (k === 5) return w
    return centreKernel(w, 3, this.config.kernelTransform ? this.p(`${slot.name}/dw_5to3`) : undefined)
  }

  /**
   * The logits of subnet `arch` for images `x` (NHWC at the config's resolution). Run it inside
   * `tf.tidy` or dispose the result.
   */
  forward(arch: FbnetArch, x: tf.Tensor4D, options: FbnetForwardOptions = {}): tf.Tensor2D {
    const a = this.checkArch(arch)
    const c = this.config
    if (x.shape[1] !== c.resolution || x.shape[2] !== c.resolution || x.shape[3] !== c.inputChannels) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `the FBNet supernet takes images of ${c.resolution}x${c.resolution}x${c.inputChannels}, got ${x.shape.slice(1).join('x')}`,
        value: x.shape,
      })
    }
    const { bn, keepBatchStats } = this.batchNorm(options)
    const logits = tf.tidy(() => {
      let h = tf.relu<T4>(
        bn('stem/bn', conv(x, this.p('stem/conv') as tf.Tensor as T4, c.macro === 'cifar' ? 1 : 2)),
      )
      this.slots.forEach((slot, i) => {
        const sk = options.superkernel?.(slot)
        const op = sk === undefined ? a[i]! : 'k5_e6'
        const n = slot.name
        if (op === 'skip') {
          if (slot.skipConv)
            h = tf.relu<T4>(bn(`${n}/skip_bn`, conv(h, this.p(`${n}/skip`) as tf.Tensor as T4, slot.stride)))
          return
        }
        const { kernel, expand, groups } = opShape(op)
        const mid = slot.cin * expand
        let z = tf.relu<T4>(
          bn(`${n}/expand_bn`, conv(h, this.pointwise(`${n}/expand`, slot.cin, mid, groups), 1)),
        )
        if (groups > 1) z = channelShuffle(z, groups)
        const dw = sk === undefined ? this.dwKernel(slot, kernel, mid) : sk.kernel
        z = tf.relu<T4>(bn(`${n}/dw_bn`, depthwise(z, dw, slot.stride)))
        if (sk !== undefined) z = tf.mul(z, sk.channels)
        z = bn(`${n}/project_bn`, conv(z, this.pointwise(`${n}/project`, mid, slot.cout, groups), 1))
        const residual = slot.stride === 1 && slot.cin === slot.cout
        if (sk?.use !== undefined && residual) z = tf.mul(z, sk.use)
        h = residual ? tf.add(h, z) : z
      })
      h = tf.relu<T4>(bn('head/bn', conv(h, this.p('head/conv') as tf.Tensor as T4, 1)))
      let f = tf.mean<tf.Tensor2D>(h, [1, 2])
      const rate = options.training === true ? (options.dropout ?? c.dropout) : 0
      // (TF.js treats seed 0 as no seed and draws one at random: 0 maps to another fixed seed)
      const seed = options.seed ?? 0
      if (rate > 0) f = tf.dropout(f, rate, undefined, seed === 0 ? 0x7fffffff : seed) as tf.Tensor2D
      return tf.add<tf.Tensor2D>(tf.matMul(f, this.p('classifier/kernel')), this.p('classifier/bias'))
    })
    keepBatchStats()
    return logits
  }

  /**
   * The weights of subnet `arch` in the order `buildMbNetwork(this.network(arch))`'s model holds
   * them: what `exportSubnet` loads into the standalone model. A grouped 1x1 convolution's weights
   * are the two diagonal blocks, in `@nasjs/models`' layout (`[1, 1, cin, cout / 2]`). New tensors:
   * the caller disposes them.
   */
  subnetWeights(arch: FbnetArch, bn?: BnStats): tf.Tensor[] {
    const a = this.checkArch(arch)
    const W = this.config.widths
    return tf.tidy(() => {
      const out: tf.Tensor[] = []
      const bnOut = (name: string, ch: number) => out.push(...this.bnWeights(name, ch, bn))
      const pointwiseOut = (name: string, cin: number, cout: number, groups: number) => {
        const w = leading(this.p(name), [1, 1, cin, cout])
        if (groups === 1) return out.push(w)
        const [hi, ho] = [cin / 2, cout / 2]
        return out.push(
          tf.concat(
            [tf.slice(w, [0, 0, 0, 0], [1, 1, hi, ho]), tf.slice(w, [0, 0, hi, ho], [1, 1, hi, ho])],
            2,
          ),
        )
      }
      out.push(this.p('stem/conv').clone())
      bnOut('stem/bn', W[0])
      this.slots.forEach((slot, i) => {
        const op = a[i]!
        const n = slot.name
        if (op === 'skip') {
          if (slot.skipConv) {
            out.push(this.p(`${n}/skip`).clone())
            bnOut(`${n}/skip_bn`, slot.cout)
          }
          return
        }
        const { kernel, expand, groups } = opShape(op)
        const mid = slot.cin * expand
        pointwiseOut(`${n}/expand`, slot.cin, mid, groups)
        bnOut(`${n}/expand_bn`, mid)
        out.push(tf.clone(this.dwKernel(slot, kernel, mid)))
        bnOut(`${n}/dw_bn`, mid)
        pointwiseOut(`${n}/project`, mid, slot.cout, groups)
        bnOut(`${n}/project_bn`, slot.cout)
      })
      out.push(this.p('head/conv').clone())
      bnOut('head/bn', W[8])
      out.push(this.p('classifier/kernel').clone(), this.p('classifier/bias').clone())
      return out
    })
  }

  protected override disposeExtra(): void {
    tf.dispose([...this.masks.values()])
    this.masks.clear()
  }
}

/** ShuffleNet's channel shuffle: channel g (c / groups) + j moves to j groups + g. */
function channelShuffle(x: T4, groups: number): T4 {
  const [n, h, w, c] = x.shape
  const split = tf.reshape(x, [n, h, w, groups, c / groups])
  return tf.reshape(tf.transpose(split, [0, 1, 2, 4, 3]), [n, h, w, c])
}
