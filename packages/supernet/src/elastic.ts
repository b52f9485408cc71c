import { NasError } from '@nasjs/core'
import type { MbActivation, MbLayer, MbNetwork } from '@nasjs/models'
import { makeDivisible, mbNetworkCost, OFA_MBV3_LAYOUT } from '@nasjs/models'
import type { DslSpace, OfaArch } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import type { BatchNormOptions, BnStats, ElasticSupernet } from './base.js'
import { centreKernel, conv, depthwise, leading, slice1, SupernetWeights } from './base.js'
import type { SupernetConfig, SupernetShape } from './config.js'
import { parseSupernetConfig, supernetSpace } from './config.js'

export type { BnStats, NamedArray } from './base.js'

/** One elastic MBConv block slot of the supernet, with its activation (internal). */
interface BlockSlot extends BlockSlotInfo {
  readonly act: MbActivation
}

/**
 * How {@link ElasticMbv3.forward} runs.
 * @since 0.1.0
 */
export interface ForwardOptions extends BatchNormOptions {
  /**
   * Runs the supernet as one superkernel network (Single-Path NAS): every block slot at the
   * architecture's resolution, with all its middle channels and the depthwise kernel, channel factors
   * and residual factor this function gives for the slot. `arch` then chooses only the resolution.
   */
  readonly superkernel?: (slot: BlockSlotInfo) => SuperkernelBlock
}

/**
 * One MBConv block slot of an {@link ElasticMbv3} (a stage has as many as its largest depth).
 * @since 0.2.0
 */
export interface BlockSlotInfo {
  /** `s<stage>b<position>`, 1-based; the prefix of the slot's weight names. */
  readonly name: string
  /** Stage index (0-based) and position in the stage (0-based). */
  readonly stage: number
  readonly pos: number
  readonly cin: number
  readonly cout: number
  /** Middle channels at the largest expand ratio. */
  readonly maxMid: number
  readonly stride: number
  /** Whether the slot has a squeeze-and-excitation. */
  readonly se: boolean
}

/**
 * How one block slot runs in a superkernel forward ({@link ForwardOptions.superkernel}).
 * @since 0.2.0
 */
export interface SuperkernelBlock {
  /** The depthwise kernel, of the largest size, over all `maxMid` middle channels. */
  readonly kernel: tf.Tensor4D
  /** A factor per middle channel, applied after the depthwise activation (0 drops the channel). */
  readonly channels: tf.Tensor1D
  /** A factor per reduced channel of the squeeze-and-excitation (slots with one). */
  readonly seChannels?: tf.Tensor1D
  /** The factor of the block's residual branch (a slot a shallower depth skips); 1 when absent. */
  readonly use?: tf.Scalar
}

type T4 = tf.Tensor4D

const hSwish = (x: tf.Tensor) => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6))
const hSigmoid = (x: tf.Tensor) => tf.div(tf.relu6(tf.add(x, 3)), 6)
const act = (x: tf.Tensor, a: MbActivation) => (a === 'relu' ? tf.relu(x) : hSwish(x))

/**
 * The elastic MobileNetV3 supernet of Once-for-All (Cai et al. 2020) with one set of weights, in
 * TF.js variables. A subnet (`OfaArch`) runs by slicing those weights, never copying them:
 *
 * - **elastic depth**: stage s runs its first d blocks;
 * - **elastic expansion**: a block of expand ratio e uses the first make_divisible(e x input channels)
 *   middle channels of its 1x1 expansion, depthwise kernel, BatchNorms and squeeze-and-excitation
 *   (whose reduced width follows, as OFA's `DynamicSE`); {@link sortChannels} puts the most important
 *   channels first before the expansion is made elastic;
 * - **elastic kernel**: a kernel k < 7 is the centre of the next larger one, transformed by a
 *   learned k^2 x k^2 matrix per block and step (7 to 5, 5 to 3; OFA's kernel transformation, started
 *   at the identity), or the plain centre crop when `kernelTransform` is off (BigNAS);
 * - **elastic resolution**: the input is any of the config's resolutions.
 *
 * BatchNorm slices its scale, shift and running statistics with the channels, as OFA's
 * `DynamicBatchNorm2d`. The largest subnet is the network `buildOfaMbv3` builds (same layers and
 * counts); {@link exportSubnet} writes any subnet as a standalone TF.js model.
 * @since 0.1.0
 * @category supernet
 */
export class ElasticMbv3 extends SupernetWeights implements ElasticSupernet<OfaArch> {
  readonly config: SupernetShape
  /** The space of this supernet's subnets. */
  readonly space: DslSpace<OfaArch>
  private readonly slots: readonly BlockSlot[]

  constructor(config: SupernetConfig = {}) {
    const c = parseSupernetConfig(config)
    super(c.seed)
    this.config = c
    this.space = supernetSpace(c)
    const add = (name: string, init: tf.Tensor) => this.add(name, init)
    const bn = (name: string, channels: number, gamma = 1) => this.addBn(name, channels, gamma)
    const heFanOut = (shape: number[]) => this.heFanOut(shape)
    const glorot = (shape: number[]) => this.glorot(shape)
    const W = c.widths
    const L = OFA_MBV3_LAYOUT
    add('stem/conv', heFanOut([3, 3, c.inputChannels, W[0]]))
    bn('stem/bn', W[0])
    add('first/dw', heFanOut([3, 3, W[0], 1]))
    bn('first/dw_bn', W[0])
    add('first/project', heFanOut([1, 1, W[0], W[1]]))
    bn('first/project_bn', W[1], c.zeroInitResidual && W[0] === W[1] ? 0 : 1)
    const maxDepth = c.depths.at(-1)!
    const maxKernel = c.kernels.at(-1)!
    const maxExpand = c.expands.at(-1)!
    const slots: BlockSlot[] = []
    let cin = W[1]
    for (let s = 0; s < 5; s++) {
      const cout = W[s + 2]!
      for (let pos = 0; pos < maxDepth; pos++) {
        const name = `s${s + 1}b${pos + 1}`
        const maxMid = makeDivisible(Math.round(cin * maxExpand))
        const slot: BlockSlot = {
          name,
          stage: s,
          pos,
          cin,
          cout,
          maxMid,
          stride: pos === 0 ? L.strides[s + 1]! : 1,
          act: L.activations[s + 1]!,
          se: L.squeezeExcite[s + 1]!,
        }
        slots.push(slot)
        add(`${name}/expand`, heFanOut([1, 1, cin, maxMid]))
        bn(`${name}/expand_bn`, maxMid)
        add(`${name}/dw`, heFanOut([maxKernel, maxKernel, maxMid, 1]))
        bn(`${name}/dw_bn`, maxMid)
        if (slot.se) {
          const maxSe = makeDivisible(Math.floor(maxMid / 4))
          add(`${name}/se_reduce`, glorot([maxMid, maxSe]))
          add(`${name}/se_reduce_bias`, tf.zeros([maxSe]))
          add(`${name}/se_expand`, glorot([maxSe, maxMid]))
          add(`${name}/se_expand_bias`, tf.zeros([maxMid]))
        }
        add(`${name}/project`, heFanOut([1, 1, maxMid, cout]))
        const residual = slot.stride === 1 && cin === cout
        bn(`${name}/project_bn`, cout, c.zeroInitResidual && residual ? 0 : 1)
        if (c.kernelTransform) {
          for (let i = c.kernels.length - 1; i > 0; i--) {
            const [big, small] = [c.kernels[i]!, c.kernels[i - 1]!]
            add(`${name}/dw_${big}to${small}`, tf.eye(small * small))
          }
        }
        cin = cout
      }
    }
    add('head/conv', heFanOut([1, 1, W[6], W[7]]))
    bn('head/bn', W[7])
    add('mix/dense', glorot([W[7], W[8]]))
    add('classifier/kernel', glorot([W[8], c.classes]))
    add('classifier/bias', tf.zeros([c.classes]))
    this.slots = slots
  }

  /** The input side of subnet `arch`: its resolution. */
  resolutionOf(arch: OfaArch): number {
    return arch.resolution
  }

  /** The block slots, stage by stage, each as many as the stage's largest depth. */
  get blockSlots(): readonly BlockSlotInfo[] {
    return this.slots.map(({ name, stage, pos, cin, cout, maxMid, stride, se }) => ({
      name,
      stage,
      pos,
      cin,
      cout,
      maxMid,
      stride,
      se,
    }))
  }

  private checkArch(arch: OfaArch): OfaArch {
    this.assertAlive()
    return this.space.validate(arch)
  }

  /**
   * The layer-by-layer description of subnet `arch` (what `buildMbNetwork` of `@nasjs/models` builds
   * and `mbNetworkCost` counts).
   */
  network(arch: OfaArch): MbNetwork {
    const a = this.checkArch(arch)
    const c = this.config
    const W = c.widths
    const L = OFA_MBV3_LAYOUT
    const layers: MbLayer[] = [
      {
        kind: 'mbconv',
        cin: W[0],
        cout: W[1],
        mid: W[0],
        kernel: 3,
        stride: L.strides[0],
        act: L.activations[0],
        expand: false,
        se: 0,
        groups: 1,
      },
    ]
    for (const { slot, block } of this.activeBlocks(a)) {
      const mid = makeDivisible(Math.round(slot.cin * block.expand))
      layers.push({
        kind: 'mbconv',
        cin: slot.cin,
        cout: slot.cout,
        mid,
        kernel: block.kernel,
        stride: slot.stride,
        act: slot.act,
        expand: true,
        se: slot.se ? makeDivisible(Math.floor(mid / 4)) : 0,
        groups: 1,
      })
    }
    return {
      name: 'ofa_mbv3_subnet',
      inputShape: [a.resolution, a.resolution, c.inputChannels],
      stem: { cout: W[0], kernel: 3, stride: 2, act: 'h_swish' },
      layers,
      head: { cout: W[7], act: 'h_swish' },
      mix: { cout: W[8], act: 'h_swish' },
      dropout: c.dropout,
      classes: c.classes,
    }
  }

  /** Exact parameters and FLOPs (multiply-accumulates) of subnet `arch`, as `mbNetworkCost` counts. */
  cost(arch: OfaArch): { params: number; flops: number } {
    return mbNetworkCost(this.network(arch))
  }

  private *activeBlocks(a: OfaArch) {
    const maxDepth = this.config.depths.at(-1)!
    for (let s = 0; s < 5; s++) {
      const blocks = a.stages[s]!
      for (let pos = 0; pos < blocks.length; pos++) {
        yield { slot: this.slots[s * maxDepth + pos]!, block: blocks[pos]! }
      }
    }
  }

  /**
   * The depthwise kernel of `slot` at size `k` over its first `mid` channels: the centre of the
   * largest kernel, stepped down one size at a time, each step through its transformation matrix
   * (OFA's `get_active_filter`: the k^2 values of each channel times the transposed matrix).
   */
  private dwKernel(slot: BlockSlot, k: number, mid: number): T4 {
    const kernels = this.config.kernels
    let w = this.p(`${slot.name}/dw`) as tf.Tensor as T4
    let size = kernels.at(-1)!
    if (mid < slot.maxMid) w = tf.slice(w, [0, 0, 0, 0], [size, size, mid, 1])
    for (let i = kernels.length - 1; i > 0 && size > k; i--) {
      const small = kernels[i - 1]!
      const transform = this.config.kernelTransform ? this.p(`${slot.name}/dw_${size}to${small}`) : undefined
      w = centreKernel(w, small, transform)
      size = small
    }
    return w
  }

  /**
   * The logits of subnet `arch` for the images `x` (NHWC at the subnet's resolution; see
   * {@link resizeImages}). Run it inside `tf.tidy` or dispose the result.
   */
  forward(arch: OfaArch, x: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor2D {
    const a = this.checkArch(arch)
    const c = this.config
    if (x.shape[1] !== a.resolution || x.shape[2] !== a.resolution || x.shape[3] !== c.inputChannels) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `subnet at resolution ${a.resolution} takes images of ${a.resolution}x${a.resolution}x${c.inputChannels}, got ${x.shape.slice(1).join('x')}`,
        value: x.shape,
      })
    }
    const training = options.training === true
    const { bn, keepBatchStats } = this.batchNorm(options)
    const logits = tf.tidy(() => {
      let h = hSwish(bn('stem/bn', conv(x, this.p('stem/conv') as tf.Tensor as T4, 2))) as T4
      // the first block: depthwise 3x3, projection, the input added back when the widths agree
      let y = tf.relu<T4>(bn('first/dw_bn', depthwise(h, this.p('first/dw') as tf.Tensor as T4, 1)))
      y = bn('first/project_bn', conv(y, this.p('first/project') as tf.Tensor as T4, 1))
      h = c.widths[0] === c.widths[1] ? tf.add(h, y) : y
      const superkernel = options.superkernel
      const blocks =
        superkernel === undefined
          ? this.activeBlocks(a)
          : this.slots.map((slot) => ({
              slot,
              block: { kernel: c.kernels.at(-1)!, expand: c.expands.at(-1)! },
            }))
      for (const { slot, block } of blocks) {
        const n = slot.name
        const sk = superkernel?.(slot)
        const mid = sk === undefined ? makeDivisible(Math.round(slot.cin * block.expand)) : slot.maxMid
        const full = mid === slot.maxMid
        const sliceOut = (v: tf.Variable) =>
          (full ? v : tf.slice(v, [0, 0, 0, 0], [1, 1, slot.cin, mid])) as tf.Tensor as T4
        let z = act(bn(`${n}/expand_bn`, conv(h, sliceOut(this.p(`${n}/expand`)), 1)), slot.act) as T4
        const kernel = sk === undefined ? this.dwKernel(slot, block.kernel, mid) : sk.kernel
        z = act(bn(`${n}/dw_bn`, depthwise(z, kernel, slot.stride)), slot.act) as T4
        if (sk !== undefined) z = tf.mul(z, sk.channels)
        if (slot.se) {
          const se = makeDivisible(Math.floor(mid / 4))
          const pooled = tf.mean<tf.Tensor2D>(z, [1, 2])
          const r = this.p(`${n}/se_reduce`)
          const e = this.p(`${n}/se_expand`)
          const w1 = (
            r.shape[0] === mid && r.shape[1] === se ? r : tf.slice(r, [0, 0], [mid, se])
          ) as tf.Tensor2D
          const w2 = (
            e.shape[0] === se && e.shape[1] === mid ? e : tf.slice(e, [0, 0], [se, mid])
          ) as tf.Tensor2D
          let hidden = tf.relu(tf.add(tf.matMul(pooled, w1), slice1(this.p(`${n}/se_reduce_bias`), se)))
          if (sk?.seChannels !== undefined) hidden = tf.mul(hidden, sk.seChannels)
          const gate = hSigmoid(
            tf.add(tf.matMul(hidden as tf.Tensor2D, w2), slice1(this.p(`${n}/se_expand_bias`), mid)),
          )
          z = tf.mul(z, tf.reshape(gate, [-1, 1, 1, mid]))
        }
        const pw = this.p(`${n}/project`)
        const wp = (full ? pw : tf.slice(pw, [0, 0, 0, 0], [1, 1, mid, slot.cout])) as tf.Tensor as T4
        z = bn(`${n}/project_bn`, conv(z, wp, 1))
        if (sk?.use !== undefined) z = tf.mul(z, sk.use)
        h = slot.stride === 1 && slot.cin === slot.cout ? tf.add(h, z) : z
      }
      h = hSwish(bn('head/bn', conv(h, this.p('head/conv') as tf.Tensor as T4, 1))) as T4
      let f = hSwish(tf.matMul(tf.mean<tf.Tensor2D>(h, [1, 2]), this.p('mix/dense'))) as tf.Tensor2D
      const rate = training ? (options.dropout ?? c.dropout) : 0
      // (TF.js treats seed 0 as no seed and draws one at random: 0 maps to another fixed seed)
      const seed = options.seed ?? 0
      if (rate > 0) f = tf.dropout(f, rate, undefined, seed === 0 ? 0x7fffffff : seed) as tf.Tensor2D
      return tf.add<tf.Tensor2D>(tf.matMul(f, this.p('classifier/kernel')), this.p('classifier/bias'))
    })
    keepBatchStats()
    return logits
  }

  /**
   * Sorts every block's middle channels by importance, most important first, so that a smaller
   * expand ratio keeps the channels that matter (OFA's `re_organize_middle_weights`): importance is
   * the L1 norm of a channel's projection weights; the expansion, the depthwise kernel, both
   * BatchNorms and the squeeze-and-excitation follow the order, and the squeeze-and-excitation's
   * reduced channels are sorted the same way by their expansion weights. `stage` k > 0 keeps the
   * channels of the k-th largest expand ratio ahead of the rest (the order an earlier stage of
   * progressive shrinking made), as OFA does from its second expand stage. The function of every
   * subnet with the largest expand ratio is unchanged.
   */
  sortChannels(stage = 0): void {
    const c = this.config
    const byExpand = [...c.expands].sort((x, y) => y - x)
    tf.tidy(() => {
      for (const slot of this.slots) {
        const n = slot.name
        const importance = Array.from(
          tf.sum(tf.abs(this.p(`${n}/project`)), [0, 1, 3]).dataSync() as Float32Array,
        )
        const widths = byExpand.map((e) => makeDivisible(Math.round(slot.cin * e)))
        let right = importance.length
        let base = -widths.length * 1e5
        for (let i = 0; i <= Math.min(stage, widths.length - 1); i++) {
          const left = widths[i]!
          for (let j = left; j < right; j++) importance[j]! += base
          base += 1e5
          right = left
        }
        const order = importance.map((v, i) => [v, i] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1])
        const idx = tf.tensor1d(
          order.map(([, i]) => i),
          'int32',
        )
        const take = (name: string, axis: number, v = this.params.get(name) ?? this.buffers.get(name)!) =>
          v.assign(tf.gather(v, idx, axis))
        take(`${n}/expand`, 3)
        take(`${n}/dw`, 2)
        take(`${n}/project`, 2)
        for (const bn of ['expand_bn', 'dw_bn']) {
          for (const k of ['gamma', 'beta']) take(`${n}/${bn}/${k}`, 0)
          for (const k of ['mean', 'variance']) take(`${n}/${bn}/${k}`, 0)
        }
        if (slot.se) {
          take(`${n}/se_reduce`, 0)
          take(`${n}/se_expand`, 1)
          take(`${n}/se_expand_bias`, 0)
          const seImportance = tf.sum(tf.abs(this.p(`${n}/se_expand`)), 1).dataSync() as Float32Array
          const seOrder = Array.from(seImportance)
            .map((v, i) => [v, i] as const)
            .sort((x, y) => y[0] - x[0] || x[1] - y[1])
          const seIdx = tf.tensor1d(
            seOrder.map(([, i]) => i),
            'int32',
          )
          for (const [name, axis] of [
            [`${n}/se_expand`, 0],
            [`${n}/se_reduce`, 1],
            [`${n}/se_reduce_bias`, 0],
          ] as const) {
            const v = this.p(name)
            v.assign(tf.gather(v, seIdx, axis))
          }
        }
      }
    })
  }

  /**
   * The weights of subnet `arch` in the order `buildMbNetwork(this.network(arch))`'s model holds
   * them (each BatchNorm's scale, shift, mean and variance; the mean and variance from `bn` when
   * given, else the running statistics): what {@link exportSubnet} loads into the standalone model.
   * New tensors: the caller disposes them.
   */
  subnetWeights(arch: OfaArch, bn?: BnStats): tf.Tensor[] {
    const a = this.checkArch(arch)
    return tf.tidy(() => {
      const out: tf.Tensor[] = []
      const slice = leading
      const bnOut = (name: string, ch: number) => out.push(...this.bnWeights(name, ch, bn))
      const W = this.config.widths
      out.push(this.p('stem/conv').clone())
      bnOut('stem/bn', W[0])
      out.push(this.p('first/dw').clone())
      bnOut('first/dw_bn', W[0])
      out.push(this.p('first/project').clone())
      bnOut('first/project_bn', W[1])
      for (const { slot, block } of this.activeBlocks(a)) {
        const n = slot.name
        const mid = makeDivisible(Math.round(slot.cin * block.expand))
        out.push(slice(this.p(`${n}/expand`), [1, 1, slot.cin, mid]))
        bnOut(`${n}/expand_bn`, mid)
        out.push(tf.clone(this.dwKernel(slot, block.kernel, mid)))
        bnOut(`${n}/dw_bn`, mid)
        if (slot.se) {
          const se = makeDivisible(Math.floor(mid / 4))
          out.push(slice(this.p(`${n}/se_reduce`), [mid, se]), slice(this.p(`${n}/se_reduce_bias`), [se]))
          out.push(slice(this.p(`${n}/se_expand`), [se, mid]), slice(this.p(`${n}/se_expand_bias`), [mid]))
        }
        out.push(slice(this.p(`${n}/project`), [1, 1, mid, slot.cout]))
        bnOut(`${n}/project_bn`, slot.cout)
      }
      out.push(this.p('head/conv').clone())
      bnOut('head/bn', W[7])
      out.push(
        this.p('mix/dense').clone(),
        this.p('classifier/kernel').clone(),
        this.p('classifier/bias').clone(),
      )
      return out
    })
  }
}

/**
 * `images` (NHWC) resized to `side` x `side` with bilinear interpolation (half-pixel centres, as
 * PyTorch's `interpolate(..., align_corners=False)`); the same tensor when it already has that side.
 * @since 0.1.0
 * @category supernet
 */
export function resizeImages(images: tf.Tensor4D, side: number): tf.Tensor4D {
  if (images.shape[1] === side && images.shape[2] === side) return images
  return tf.image.resizeBilinear(images, [side, side], false, true)
}
