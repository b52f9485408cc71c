import { NasError, Rng } from '@nasjs/core'
import type { Dataset } from '@nasjs/models'
import {
  applyUpdate,
  batches,
  crossEntropy,
  makeDivisible,
  parseConfig,
  parseTrainConfig,
} from '@nasjs/models'
import type { OfaArch, OfaBlock } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { largestArch, smallestArch } from './config.js'
import type { BlockSlotInfo, ElasticMbv3, NamedArray, SuperkernelBlock } from './elastic.js'
import {
  centreMask,
  checkResumeSettings,
  singlePathCosts,
  superkernelResolution,
  type SlotCosts,
} from './oneshot/single-path.js'
import { ComplexitySampler, stepRng, type ComplexityState } from './sampling.js'
import { checkData, imagesAt } from './subnet.js'
import { noDecay } from './train.js'

/**
 * How ShiftNAS trains a supernet together with its architecture generator (zod, strict, every field
 * defaulted). ShiftNAS's paper gives the generator's shape (an LSTM of 64 units emitting one decision
 * at a time, Gumbel-softmax one-hot choices) and its loss (task loss + lambda x the squared gap
 * between the generated subnet's cost and the target); the rest are ours, written down: the
 * generator's Adam at 1e-3, the Gumbel temperature 1, lambda 1 on the squared relative gap, the
 * supernet's recipe (SGD with Nesterov momentum, cosine to 5 % with no warm-up, label smoothing
 * 0.1, weight decay 3e-5), one generated subnet per step, and a fixed resolution. The generator's
 * size and initial weights come from its constructor (`hidden`, `seed`).
 * @since 0.2.0
 * @category supernet
 */
export const ShiftNasConfig = z
  .object({
    epochs: z.number().positive().default(10),
    batchSize: z.number().int().min(1).default(64),
    lr: z.number().positive().default(0.05).describe("the supernet's peak learning rate (SGD, cosine)"),
    momentum: z.number().min(0).max(1).default(0.9),
    weightDecay: z.number().min(0).default(3e-5),
    labelSmoothing: z.number().min(0).lt(1).default(0.1),
    minLrRatio: z.number().min(0).max(1).default(0.05),
    generatorLr: z.number().positive().default(1e-3).describe("the generator's Adam learning rate"),
    tau: z.number().positive().default(1).describe('Gumbel-softmax temperature'),
    costWeight: z
      .number()
      .min(0)
      .default(1)
      .describe("lambda of (cost / target - 1)^2 in the generator's loss"),
    bins: z
      .number()
      .int()
      .min(2)
      .default(8)
      .describe('complexity bins between the smallest and the largest subnet'),
    resolution: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("the input resolution (the supernet's largest)"),
    seed: z.number().int().min(0).default(0),
  })
  .strict()
/** @since 0.2.0 */
export type ShiftNasConfig = z.input<typeof ShiftNasConfig>
type ShiftNasShape = z.output<typeof ShiftNasConfig>

/** One decision the generator makes: a stage's depth, or a block slot's kernel or expand ratio. */
interface Decision {
  readonly kind: 0 | 1 | 2
  readonly stage: number
  readonly slot?: number
  readonly choices: readonly number[]
}

/**
 * The one-hot choices of one generated subnet (straight-through: hard forward, the Gumbel-softmax's
 * gradient backward), in decision order, and the subnet they spell.
 */
interface Generated {
  readonly arch: OfaArch
  /** per stage, the depth one-hot; per slot, the kernel and expand one-hots */
  readonly depth: tf.Tensor1D[]
  readonly kernel: tf.Tensor1D[]
  readonly expand: tf.Tensor1D[]
}

/** The one-hot of the largest entry forward; the gradient passed to the input unchanged backward. */
const straightThroughFn = tf.customGrad(((soft: tf.Tensor, save: tf.GradSaveFunc) => {
  save([])
  const n = soft.size
  const value = tf.cast(tf.reshape(tf.oneHot(tf.reshape(tf.argMax(soft), [1]), n), [n]), 'float32')
  return { value, gradFunc: (dy: tf.Tensor) => dy }
}) as unknown as Parameters<typeof tf.customGrad>[0])
const straightThrough = (soft: tf.Tensor1D): tf.Tensor1D => straightThroughFn(soft) as tf.Tensor1D

/**
 * ShiftNAS's architecture generator (Zhang, Yu, Zhao and Ou, ICCV 2023): an LSTM cell that, given a
 * complexity target, emits the subnet's decisions one at a time (each stage's depth, then each of
 * its block slots' kernel and expand ratio), each a Gumbel-softmax one-hot, so that the loss of the
 * subnet it generates trains it through the supernet's masks (see {@link shiftNasMasks}). Its input
 * at each decision is the target (the bin's one-hot and the target as a share of the largest
 * subnet's cost), the kind of decision and the previous decision's one-hot.
 * @since 0.2.0
 * @category supernet
 */
export class ArchitectureGenerator {
  readonly variables: tf.Variable[]
  private readonly decisions: Decision[]
  private readonly inputSize: number
  private readonly maxChoices: number
  private readonly w: {
    x: tf.Variable
    h: tf.Variable
    b: tf.Variable
    heads: tf.Variable[]
    headBias: tf.Variable[]
  }

  constructor(
    readonly net: ElasticMbv3,
    readonly bins: number,
    readonly hidden = 64,
    seed = 0,
  ) {
    const c = net.config
    const decisions: Decision[] = []
    const slots = net.blockSlots
    for (let s = 0; s < 5; s++) {
      decisions.push({ kind: 0, stage: s, choices: c.depths })
      slots.forEach((slot, i) => {
        if (slot.stage !== s) return
        decisions.push({ kind: 1, stage: s, slot: i, choices: c.kernels })
        decisions.push({ kind: 2, stage: s, slot: i, choices: c.expands })
      })
    }
    this.decisions = decisions
    this.maxChoices = Math.max(c.depths.length, c.kernels.length, c.expands.length)
    this.inputSize = bins + 1 + 3 + this.maxChoices
    const rng = new Rng(seed)
    const init = (shape: number[]) =>
      tfl.initializers.glorotUniform({ seed: rng.int(2 ** 31 - 1) + 1 }).apply(shape)
    const v = (t: tf.Tensor) => {
      const out = tf.variable(t, true)
      t.dispose()
      return out
    }
    const H = hidden
    const heads = [c.depths.length, c.kernels.length, c.expands.length]
    this.w = {
      x: v(init([this.inputSize, 4 * H])),
      h: v(init([H, 4 * H])),
      // the forget gate's bias at 1, as is usual for an LSTM
      b: v(tf.tidy(() => tf.concat([tf.zeros([H]), tf.ones([H]), tf.zeros([2 * H])]))),
      heads: heads.map((n) => v(init([H, n]))),
      headBias: heads.map((n) => v(tf.zeros([n]))),
    }
    this.variables = [this.w.x, this.w.h, this.w.b, ...this.w.heads, ...this.w.headBias]
  }

  /**
   * The decisions' logits for a target in `bin` of cost share `share` (of the largest subnet's),
   * each decision fed the one `pick` makes of the previous logits.
   */
  private unroll(
    bin: number,
    share: number,
    pick: (logits: tf.Tensor1D, d: Decision) => tf.Tensor1D,
  ): tf.Tensor1D[] {
    const H = this.hidden
    const target = tf.concat([
      tf.reshape(tf.oneHot(tf.tensor1d([bin], 'int32'), this.bins), [this.bins]),
      tf.tensor1d([share]),
    ])
    let h = tf.zeros<tf.Rank.R2>([1, H])
    let cell = tf.zeros<tf.Rank.R2>([1, H])
    let prev = tf.zeros<tf.Rank.R1>([this.maxChoices])
    const out: tf.Tensor1D[] = []
    for (const d of this.decisions) {
      const kind = tf.reshape(tf.oneHot(tf.tensor1d([d.kind], 'int32'), 3), [3])
      const x = tf.reshape<tf.Rank.R2>(tf.concat([target, kind, prev]), [1, this.inputSize])
      const z = tf.add<tf.Tensor2D>(tf.add(tf.matMul(x, this.w.x), tf.matMul(h, this.w.h)), this.w.b)
      const [i, f, g, o] = tf.split(z, 4, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]
      cell = tf.add(tf.mul(tf.sigmoid(f), cell), tf.mul(tf.sigmoid(i), tf.tanh(g)))
      h = tf.mul(tf.sigmoid(o), tf.tanh(cell))
      const logits = tf.reshape<tf.Rank.R1>(
        tf.add(tf.matMul(h, this.w.heads[d.kind]!), this.w.headBias[d.kind]!),
        [d.choices.length],
      )
      const chosen = pick(logits, d)
      out.push(chosen)
      prev =
        d.choices.length === this.maxChoices
          ? chosen
          : tf.pad(chosen, [[0, this.maxChoices - d.choices.length]])
    }
    return out
  }

  /**
   * A subnet for a target in `bin` (cost share `share`): each decision a straight-through
   * Gumbel-softmax sample at temperature `tau` (0 for the most probable choice, no noise). Run it
   * inside a gradient computation to train the generator; the one-hots carry the gradient.
   */
  generate(bin: number, share: number, rng: Rng, tau: number, resolution: number): Generated {
    const onehots = this.unroll(bin, share, (logits, d) => {
      const n = d.choices.length
      const oneHot = (t: tf.Tensor1D) =>
        tf.cast<tf.Tensor1D>(tf.reshape(tf.oneHot(tf.reshape(tf.argMax(t), [1]), n), [n]), 'float32')
      if (tau === 0) return oneHot(logits)
      const noise = tf.tensor1d(
        Array.from({ length: n }, () => -Math.log(-Math.log(Math.max(1e-20, rng.uniform())))),
      )
      const soft = tf.softmax<tf.Tensor1D>(tf.div(tf.add(logits, noise), tau))
      return straightThrough(soft)
    })
    const index = onehots.map((t) => tf.argMax(t).dataSync()[0]!)
    const depth: tf.Tensor1D[] = []
    const kernel: tf.Tensor1D[] = []
    const expand: tf.Tensor1D[] = []
    const stages: OfaBlock[][] = [[], [], [], [], []]
    const slots = this.net.blockSlots
    const chosen = new Map<number, { kernel: number; expand: number }>()
    this.decisions.forEach((d, i) => {
      const value = d.choices[index[i]!]!
      if (d.kind === 0) depth.push(onehots[i]!)
      else if (d.kind === 1) {
        kernel.push(onehots[i]!)
        chosen.set(d.slot!, { ...(chosen.get(d.slot!) ?? { expand: 0 }), kernel: value })
      } else {
        expand.push(onehots[i]!)
        chosen.set(d.slot!, { ...(chosen.get(d.slot!) ?? { kernel: 0 }), expand: value })
      }
    })
    const depths = this.decisions.flatMap((d, i) => (d.kind === 0 ? [d.choices[index[i]!]!] : []))
    slots.forEach((slot, i) => {
      if (slot.pos < depths[slot.stage]!) stages[slot.stage]!.push(chosen.get(i)! as OfaBlock)
    })
    const arch = this.net.space.validate({ resolution, stages: stages as OfaArch['stages'] })
    return { arch, depth, kernel, expand }
  }

  /** The weights, to checkpoint. */
  state(): Float32Array[] {
    return this.variables.map((v) => new Float32Array(v.dataSync()))
  }

  load(state: readonly Float32Array[]): void {
    tf.tidy(() => this.variables.forEach((v, i) => v.assign(tf.tensor(state[i]!, v.shape))))
  }

  /**
   * The generator's subnet for a target in `bin` of cost share `share`: the most probable choice at
   * every decision (no noise), with every tensor of the computation freed.
   */
  choose(bin: number, share: number, resolution: number): OfaArch {
    let arch: OfaArch | undefined
    tf.tidy(() => {
      arch = this.generate(bin, share, new Rng(0), 0, resolution).arch
    })
    return arch!
  }

  dispose(): void {
    tf.dispose(this.variables)
  }
}

/**
 * ShiftNAS's matrix mapping: the generated one-hots as the superkernel's masks, so that the network
 * with them computes exactly the generated subnet and their gradients reach the generator. A kernel
 * one-hot p gives the kernel mask sum_j p_j centre(k_j); an expand one-hot the channel mask sum_l p_l
 * [channels < mid_l] (the cumulative keep-masks of ShiftNAS's Eq. 9); a stage's depth one-hot
 * runs slot d when the depth exceeds d.
 * @since 0.2.0
 * @category supernet
 */
export function shiftNasMasks(net: ElasticMbv3, g: Generated): (slot: BlockSlotInfo) => SuperkernelBlock {
  const c = net.config
  const K = c.kernels.at(-1)!
  const centres = c.kernels.map((k) => tf.tensor4d(centreMask(K, k), [K, K, 1, 1]))
  const slots = net.blockSlots
  const blocks = slots.map((slot, i) => {
    const w = net.params.get(`${slot.name}/dw`)! as tf.Tensor as tf.Tensor4D
    const pk = tf.unstack(g.kernel[i]!)
    const pe = tf.unstack(g.expand[i]!)
    const kernelMask = tf.addN(centres.map((m, j) => tf.mul(m, pk[j]!)))
    const mids = c.expands.map((e) => makeDivisible(Math.round(slot.cin * e)))
    const prefix = (n: number, total: number) =>
      tf.tensor1d(Array.from({ length: total }, (_, q) => (q < n ? 1 : 0)))
    const channels = tf.addN<tf.Tensor1D>(mids.map((m, l) => tf.mul(prefix(m, slot.maxMid), pe[l]!)))
    const maxSe = makeDivisible(Math.floor(slot.maxMid / 4))
    const seChannels = slot.se
      ? tf.addN<tf.Tensor1D>(
          mids.map((m, l) => tf.mul(prefix(makeDivisible(Math.floor(m / 4)), maxSe), pe[l]!)),
        )
      : undefined
    let use: tf.Scalar | undefined
    if (slot.pos >= c.depths[0]!) {
      const pd = tf.unstack(g.depth[slot.stage]!) as tf.Scalar[]
      use = tf.addN<tf.Scalar>(c.depths.flatMap((d, j) => (d > slot.pos ? [pd[j]!] : [])))
    }
    return {
      kernel: tf.mul<tf.Tensor4D>(w, kernelMask),
      channels,
      ...(seChannels === undefined ? {} : { seChannels }),
      ...(use === undefined ? {} : { use }),
    }
  })
  return (slot) => blocks[slots.findIndex((s) => s.name === slot.name)]!
}

/**
 * The cost of a generated subnet from its one-hots (exact with one-hots, differentiable in them):
 * the smallest subnet's cost plus, per slot, (runs x) sum_{k,e} p_k p_e table[k][e].
 */
export function shiftNasCost(net: ElasticMbv3, costs: SlotCosts, g: Generated): tf.Scalar {
  const c = net.config
  const terms: tf.Scalar[] = [tf.scalar(costs.base)]
  net.blockSlots.forEach((slot, i) => {
    const table = tf.tensor2d(costs.slots[i]!.table.map((r) => [...r]))
    const pk = tf.reshape<tf.Rank.R2>(g.kernel[i]!, [1, -1])
    const pe = tf.reshape<tf.Rank.R2>(g.expand[i]!, [-1, 1])
    let cost = tf.reshape<tf.Rank.R0>(tf.matMul(tf.matMul(pk, table), pe), [])
    if (slot.pos >= c.depths[0]!) {
      const pd = tf.unstack(g.depth[slot.stage]!)
      cost = tf.mul(tf.addN(c.depths.flatMap((d, j) => (d > slot.pos ? [pd[j]!] : []))), cost)
    }
    terms.push(cost)
  })
  return tf.addN(terms)
}

/**
 * Everything {@link trainShiftNas} needs to continue exactly where it stopped: a checkpoint.
 * @since 0.2.0
 */
export interface ShiftNasState {
  readonly format: 'nasjs-shiftnas-train'
  readonly version: 1
  readonly train: ShiftNasShape
  readonly step: number
  readonly seconds: number
  readonly weights: readonly NamedArray[]
  /** SGD momentum, one per trainable weight, in `trainable` order. */
  readonly momentum: readonly Float32Array[]
  /** The generator's weights and its Adam moments, in `variables` order. */
  readonly generator: readonly Float32Array[]
  readonly adam: { readonly m: readonly Float32Array[]; readonly v: readonly Float32Array[] }
  readonly sampler: ComplexityState
}

/**
 * Progress of {@link trainShiftNas}.
 * @since 0.2.0
 */
export interface ShiftNasProgress {
  readonly step: number
  readonly totalSteps: number
  readonly epoch: number
  readonly loss: number
  /** The generated subnet's cost over its target (1 is on target). */
  readonly costRatio: number
  readonly bin: number
  readonly lr: number
  readonly imagesPerSecond: number
  readonly etaSeconds: number
}

/**
 * What {@link trainShiftNas} did.
 * @since 0.2.0
 */
export interface ShiftNasResult {
  readonly status: 'complete' | 'aborted' | 'failed'
  readonly reason?: string
  readonly steps: number
  readonly seconds: number
  /** The bins' cost ranges and their sampling probabilities at the end. */
  readonly bins: readonly { readonly lo: number; readonly hi: number; readonly probability: number }[]
  /** Per bin, the generator's most probable subnet for the bin's centre, and its cost. */
  readonly generated: readonly { readonly target: number; readonly arch: OfaArch; readonly cost: number }[]
}

/**
 * ShiftNAS (Zhang, Yu, Zhao and Ou, ICCV 2023) on an elastic MobileNetV3 supernet: each step draws a
 * complexity bin by probability shift ({@link ComplexitySampler}: towards the bins whose loss still
 * falls), the {@link ArchitectureGenerator} generates a subnet for the bin's centre, and one loss
 * trains both the supernet (through the subnet's masks) and the generator: cross-entropy + lambda x
 * (cost / target - 1)^2, the cost differentiable in the generated one-hots (exact for a cost that
 * adds up over blocks, as FLOPs). The supernet's weights run as superkernels (centre kernels, prefix
 * channel masks, skipped blocks), so the supernet needs `kernelTransform: false`; after training,
 * `generator.choose(bin, share, resolution)` gives the generator's subnet for any bin without a
 * search. Unlike {@link trainSupernet}'s sliced subnets, the masked network runs every channel: a
 * skipped block's or dropped channel's BatchNorm statistics are still updated, and weight decay and
 * momentum still move the weights the step's subnet does not use.
 *
 * Departures: probability shift follows the loss decrease per bin (ShiftNAS differentiates the
 * validation loss's change through the Gumbel sample of the bin instead); the cost gap is relative
 * rather than absolute; the settings the paper does not give are ours (see {@link ShiftNasConfig}).
 * Resumable: `onCheckpoint` receives a {@link ShiftNasState} every epoch and when stopped, and
 * `resume` continues from one exactly (every step is fixed by the seed and the step alone).
 * @since 0.2.0
 * @category supernet
 */
export async function trainShiftNas(
  net: ElasticMbv3,
  generator: ArchitectureGenerator,
  data: Dataset,
  config: ShiftNasConfig = {},
  options: {
    readonly cost?: (arch: OfaArch) => number
    readonly onProgress?: (p: ShiftNasProgress) => void
    readonly signal?: AbortSignal
    /** Receives a checkpoint every `checkpointEvery` steps (one epoch by default) and when stopped. */
    readonly onCheckpoint?: (state: ShiftNasState) => void | Promise<void>
    readonly checkpointEvery?: number
    /** A checkpoint to continue from (same settings, same supernet and generator shapes). */
    readonly resume?: ShiftNasState
  } = {},
): Promise<ShiftNasResult> {
  checkData(net, data)
  const t: ShiftNasShape = parseConfig(ShiftNasConfig, config, 'ShiftNAS setting')
  const c = net.config
  if (generator.net !== net || generator.bins !== t.bins) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `the generator must be built for this supernet with bins: ${t.bins}`,
      value: generator.bins,
      allowed: [t.bins],
    })
  }
  const resolution = superkernelResolution(net, 'ShiftNAS', t.resolution)
  const costOf = options.cost ?? ((a: OfaArch) => net.cost(a).flops)
  const costs = singlePathCosts(net, resolution, costOf)
  const lo = costOf({ ...smallestArch(c), resolution })
  const hi = costOf({ ...largestArch(c), resolution })
  const width = (hi - lo) / t.bins
  const resume = options.resume
  if (resume !== undefined) {
    checkResumeSettings(
      'a ShiftNAS training',
      resume.format === 'nasjs-shiftnas-train' && resume.version === 1,
      resume.train,
      t,
    )
    net.load(resume.weights)
    generator.load(resume.generator)
  }
  const sampler = new ComplexitySampler(t.bins, costOf, resume?.sampler)
  const weights = net.trainable
  const names = [...net.params.keys()]
  const decayed = names.map((n) => !noDecay(n))
  const sgd = parseTrainConfig({
    optimizer: 'sgd',
    momentum: t.momentum,
    nesterov: true,
    weightDecay: t.weightDecay,
  })
  const adam = parseTrainConfig({ optimizer: 'adam', weightDecay: 0 })
  const slot = (vs: readonly tf.Variable[], saved?: readonly Float32Array[]) =>
    vs.map((v, i) =>
      tf.tidy(() =>
        tf.variable(saved === undefined ? tf.zerosLike(v) : tf.tensor(saved[i]!, v.shape), false),
      ),
    )
  const momentum = slot(weights, resume?.momentum)
  const gm = slot(generator.variables, resume?.adam.m)
  const gv = slot(generator.variables, resume?.adam.v)
  const stepsPerEpoch = Math.ceil(data.y.length / t.batchSize)
  const totalSteps = Math.round(stepsPerEpoch * t.epochs)
  const checkpointEvery = options.checkpointEvery ?? stepsPerEpoch
  if (totalSteps < 1 || !Number.isInteger(checkpointEvery) || checkpointEvery < 1) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message:
        totalSteps < 1
          ? `epochs ${t.epochs} of ${data.y.length} images in batches of ${t.batchSize} is no training step`
          : `checkpointEvery must be an integer >= 1, got ${checkpointEvery}`,
      value: totalSteps < 1 ? t.epochs : checkpointEvery,
    })
  }
  const t0 = performance.now()
  const secondsBefore = resume?.seconds ?? 0
  let step = resume?.step ?? 0
  const read = (vs: readonly tf.Variable[]) => vs.map((v) => new Float32Array(v.dataSync()))
  const checkpoint = async () =>
    options.onCheckpoint?.({
      format: 'nasjs-shiftnas-train',
      version: 1,
      train: t,
      step,
      seconds: secondsBefore + (performance.now() - t0) / 1000,
      weights: net.state(),
      momentum: read(momentum),
      generator: generator.state(),
      adam: { m: read(gm), v: read(gv) },
      sampler: sampler.snapshot(),
    })
  let lastCheckpoint = step
  let status: ShiftNasResult['status'] = 'complete'
  let reason: string | undefined
  try {
    for (let epoch = Math.floor(step / stepsPerEpoch); step < totalSteps && status === 'complete'; epoch++) {
      // epoch e's batch order depends on the seed and e only; a resumed run skips the batches done
      let skip = step - epoch * stepsPerEpoch
      for (const batch of batches(data, {
        batchSize: t.batchSize,
        shuffleSeed: t.seed * 1_000_003 + epoch,
      })) {
        if (skip > 0) {
          skip--
          continue
        }
        if (step >= totalSteps) break
        if (options.signal?.aborted === true) {
          status = 'aborted'
          break
        }
        const rng = stepRng(t.seed, step)
        const bin = rng.weightedIndex(sampler.probabilities())
        const target = lo + (bin + 0.5) * width
        const lr =
          t.minLrRatio * t.lr +
          (1 - t.minLrRatio) * t.lr * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps))
        let ce = NaN
        let ratio = NaN
        const vars = [...weights, ...generator.variables]
        const { value, grads } = tf.variableGrads(() => {
          const g = generator.generate(bin, target / hi, rng, t.tau, resolution)
          const x = imagesAt(batch.xs, batch.n, data.shape, resolution)
          const logits = net.forward({ ...largestArch(c), resolution }, x, {
            training: true,
            seed: rng.int(2 ** 31 - 1) + 1,
            superkernel: shiftNasMasks(net, g),
          })
          const ceT = crossEntropy(logits, tf.tensor1d(batch.ys, 'float32'), c.classes, t.labelSmoothing)
          const cost = shiftNasCost(net, costs, g)
          ce = ceT.dataSync()[0]!
          ratio = cost.dataSync()[0]! / target
          return tf.add(ceT, tf.mul(t.costWeight, tf.square(tf.sub(tf.div(cost, target), 1))))
        }, vars)
        value.dispose()
        if (!Number.isFinite(ce)) {
          tf.dispose(Object.values(grads))
          net.discardRunningStats()
          status = 'failed'
          reason = `the training loss is ${ce} at step ${step}; try a lower learning rate than ${t.lr}`
          break
        }
        const pick = (vs: readonly tf.Variable[], keep: (i: number) => boolean) => {
          const idx = vs.flatMap((v, i) => (grads[v.name] !== undefined && keep(i) ? [i] : []))
          return { idx, vars: idx.map((i) => vs[i]!), grads: idx.map((i) => grads[vs[i]!.name]!) }
        }
        for (const decay of [true, false]) {
          const p = pick(weights, (i) => decayed[i] === decay)
          const cfg = decay ? sgd : { ...sgd, weightDecay: 0 }
          if (p.idx.length > 0)
            applyUpdate(cfg, p.vars, p.grads, { m: p.idx.map((i) => momentum[i]!), v: [] }, lr, step + 1)
        }
        const pg = pick(generator.variables, () => true)
        if (pg.idx.length > 0) {
          applyUpdate(
            adam,
            pg.vars,
            pg.grads,
            { m: pg.idx.map((i) => gm[i]!), v: pg.idx.map((i) => gv[i]!) },
            t.generatorLr,
            step + 1,
          )
        }
        tf.dispose(Object.values(grads))
        net.updateRunningStats()
        sampler.observe(bin, ce)
        step++
        const seconds = (performance.now() - t0) / 1000
        options.onProgress?.({
          step,
          totalSteps,
          epoch: step / stepsPerEpoch,
          loss: ce,
          costRatio: ratio,
          bin,
          lr,
          imagesPerSecond: ((step - (resume?.step ?? 0)) * t.batchSize) / seconds,
          etaSeconds: ((totalSteps - step) * seconds) / Math.max(1, step - (resume?.step ?? 0)),
        })
        if (step % checkpointEvery === 0 || step === totalSteps) {
          await checkpoint()
          lastCheckpoint = step
        }
        if (step % 4 === 0) await new Promise((r) => setTimeout(r, 0))
      }
    }
    if (lastCheckpoint !== step && status !== 'failed') await checkpoint()
  } finally {
    net.discardRunningStats()
    tf.dispose([...momentum, ...gm, ...gv])
  }
  const probabilities = sampler.probabilities()
  const generated = Array.from({ length: t.bins }, (_, b) => {
    const target = lo + (b + 0.5) * width
    const arch = generator.choose(b, target / hi, resolution)
    return { target, arch, cost: costOf(arch) }
  })
  return {
    status,
    ...(reason === undefined ? {} : { reason }),
    steps: step,
    seconds: (performance.now() - t0) / 1000,
    bins: probabilities.map((probability, b) => ({
      lo: lo + b * width,
      hi: lo + (b + 1) * width,
      probability,
    })),
    generated,
  }
}
