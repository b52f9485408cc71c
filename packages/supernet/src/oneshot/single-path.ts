import { NasError, Rng } from '@nasjs/core'
import { batches, makeDivisible, type Dataset } from '@nasjs/models'
import type { FbnetArch, FbnetOp, OfaArch, OfaBlock } from '@nasjs/search-space'
import { fbnet } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { z } from 'zod'
import type { BlockSlotInfo, NamedArray, SuperkernelBlock } from '../elastic.js'
import { ElasticMbv3 } from '../elastic.js'
import { ElasticFbnet } from '../fbnet.js'
import { largestArch } from '../config.js'
import { stepRng } from '../sampling.js'
import { noDecay } from '../train.js'
import { checkData, imagesAt } from '../subnet.js'

/**
 * How Single-Path NAS searches (zod, strict, every field defaulted). The defaults follow the
 * reference code (`dstamoulis/single-path-nas`, `nas-search/`) where it has one, scaled to a batch
 * of 64: RMSProp (decay 0.9, momentum 0.9, epsilon 1e-3, mean squares started at 1 as TensorFlow 1
 * does) at 0.016 x 64 / 256, decayed by 0.97 every 2.4 epochs; weight decay 1e-5; no cost term and
 * the decisions dropped with probability 0.4 for the first 62.5 % of the steps (6,255 of the
 * reference's 10,008); 8 epochs; the loss CE + 20 log(cost), the reference README's search
 * (`runtime_lambda_val` 0.020 times its 1e3). The logarithm makes the weight independent of the
 * cost's unit, not of the data: a larger weight gives a cheaper network.
 * @since 0.2.0
 * @category one-shot
 */
export const SinglePathConfig = z
  .object({
    resolution: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("input resolution of the search (the supernet's largest by default)"),
    epochs: z.number().int().min(1).default(8).describe('passes over the training data'),
    batchSize: z.number().int().min(1).default(64),
    lr: z.number().positive().default(0.004).describe('RMSProp learning rate, weights and thresholds alike'),
    lrDecay: z.number().positive().max(1).default(0.97).describe('learning-rate factor every lrDecayEpochs'),
    lrDecayEpochs: z.number().positive().default(2.4),
    weightDecay: z.number().min(0).default(1e-5).describe('L2 on convolution and dense kernels'),
    costWeight: z
      .number()
      .min(0)
      .default(20)
      .describe('lambda of the loss CE + lambda * log(cost) after the warm-up'),
    warmup: z
      .number()
      .min(0)
      .max(1)
      .default(0.625)
      .describe('share of the steps with no cost term and with decisions dropped out'),
    decisionDropout: z
      .number()
      .min(0)
      .lt(1)
      .default(0.4)
      .describe('probability of dropping each decision during the warm-up'),
    seed: z.number().int().min(0).default(1),
  })
  .strict()

/** @since 0.2.0 */
export type SinglePathConfig = z.input<typeof SinglePathConfig>
type SinglePathShape = z.output<typeof SinglePathConfig>

/**
 * One step of a Single-Path search, for progress lines.
 * @since 0.2.0
 */
export interface SinglePathProgress {
  readonly step: number
  readonly totalSteps: number
  readonly epoch: number
  /** Cross-entropy of the step's batch. */
  readonly ce: number
  /** The differentiable cost of the step's decisions (FLOPs, or what `cost` measures). */
  readonly cost: number
  readonly lr: number
  readonly imagesPerSecond: number
  readonly etaSeconds: number
}

/**
 * The architecture the thresholds chose at the end of an epoch.
 * @since 0.2.0
 */
export interface SinglePathEpoch<A = OfaArch> {
  readonly epoch: number
  readonly arch: A
  /** `cost` of `arch`. */
  readonly cost: number
  /** Mean cross-entropy of the epoch's batches. */
  readonly ce: number
}

/**
 * What {@link singlePathSearch} found.
 * @since 0.2.0
 */
export interface SinglePathResult<A = OfaArch> {
  readonly status: 'complete' | 'aborted' | 'failed'
  readonly reason?: string
  /** The architecture read off the thresholds (the decisions without dropout). */
  readonly arch: A
  /** `cost` of `arch`. */
  readonly cost: number
  readonly history: readonly SinglePathEpoch<A>[]
  /** Every threshold by name (`<slot>/t_k<kernel>`, `<slot>/t_e<expand>`, `<slot>/t_use`). */
  readonly thresholds: Readonly<Record<string, number>>
  readonly steps: number
  readonly seconds: number
}

/**
 * Options of {@link singlePathSearch} that are not settings.
 * @since 0.2.0
 */
export interface SinglePathOptions<A = OfaArch> {
  /**
   * The cost the search trades against accuracy: a function of a subnet that adds up over its
   * blocks (FLOPs, or a latency table's prediction), read once per block choice before the search.
   * The subnet's multiply-accumulates by default.
   */
  readonly cost?: (arch: A) => number
  readonly onProgress?: (p: SinglePathProgress) => void
  readonly onEpoch?: (e: SinglePathEpoch<A>) => void
  readonly signal?: AbortSignal
  /** Receives a checkpoint at the end of every epoch. */
  readonly onCheckpoint?: (state: SinglePathState<A>) => void | Promise<void>
  /** A checkpoint to continue from (same settings and supernet shape). */
  readonly resume?: SinglePathState<A>
}

/**
 * Everything {@link singlePathSearch} needs to continue after its last finished epoch.
 * @since 0.2.0
 */
export interface SinglePathState<A = OfaArch> {
  readonly format: 'nasjs-single-path'
  readonly version: 1
  readonly config: SinglePathShape
  readonly epochs: number
  readonly step: number
  readonly seconds: number
  readonly weights: readonly NamedArray[]
  readonly thresholds: Readonly<Record<string, number>>
  /** RMSProp's mean squares and momentum, per variable: the weights in `trainable` order, then the thresholds. */
  readonly ms: readonly Float32Array[]
  readonly mom: readonly Float32Array[]
  readonly history: readonly SinglePathEpoch<A>[]
}

/**
 * The cost of each block choice of each slot, from an additive cost of whole subnets: the smallest
 * subnet at `resolution` costs `base`; a slot its stage always runs adds `table[k][e]` (0 for the
 * smallest kernel and expansion); a slot a shallower depth skips adds `table[k][e]` when it runs.
 */
export interface SlotCosts {
  readonly base: number
  readonly slots: readonly { readonly optional: boolean; readonly table: readonly (readonly number[])[] }[]
}

/**
 * The block choices' costs of supernet `net` at `resolution` under `cost` (see {@link SlotCosts}).
 * Exact for a cost that adds up over blocks: the cost of any subnet is then `base` plus the entries
 * of its blocks.
 */
export function singlePathCosts(
  net: ElasticMbv3,
  resolution: number,
  cost: (arch: OfaArch) => number,
): SlotCosts {
  const c = net.config
  const [k0, e0] = [c.kernels[0]!, c.expands[0]!]
  const d0 = c.depths[0]!
  const small = { kernel: k0, expand: e0 }
  const archOf = (
    depths: readonly number[],
    at?: { stage: number; pos: number; block: OfaBlock },
  ): OfaArch => ({
    resolution,
    stages: depths.map((d, s) =>
      Array.from({ length: d }, (_, p) =>
        at !== undefined && at.stage === s && at.pos === p ? at.block : small,
      ),
    ) as OfaArch['stages'],
  })
  const minDepths = [d0, d0, d0, d0, d0]
  const base = cost(archOf(minDepths))
  const slots = net.blockSlots.map((slot) => {
    const optional = slot.pos >= d0
    const depths = minDepths.map((d, s) => (s === slot.stage ? Math.max(d, slot.pos + 1) : d))
    const without = optional ? cost(archOf(depths.map((d, s) => (s === slot.stage ? slot.pos : d)))) : base
    const table = c.kernels.map((kernel) =>
      c.expands.map((expand) => {
        const block = { kernel, expand }
        return cost(archOf(depths, { stage: slot.stage, pos: slot.pos, block })) - without
      }),
    )
    return { optional, table }
  })
  return { base, slots }
}

/** A hard 0/1 step forward, the sigmoid's derivative backward (the reference's `Indicator`). */
const indicatorFn = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x])
  const value = tf.cast(tf.greaterEqual(x, 0), 'float32')
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const s = tf.sigmoid(saved[0]!)
      return tf.mul(dy, tf.mul(s, tf.sub(1, s)))
    },
  }
}) as unknown as Parameters<typeof tf.customGrad>[0])

/**
 * Single-Path NAS's indicator 1(x >= 0) with the sigmoid's gradient (a straight-through estimator).
 * @since 0.2.0
 * @category one-shot
 */
export const singlePathIndicator = (x: tf.Tensor): tf.Tensor => indicatorFn(x)

/** The chosen values of one slot's decisions, and the tensors a superkernel forward needs. */
export interface SlotGates {
  /** 1(ring j of the kernel is kept), j = 1..kernels-1 */
  readonly kernel: tf.Scalar[]
  /** 1(channel group l is kept), l = 1..expands-1 (1 for a group that is empty) */
  readonly expand: tf.Scalar[]
  /** 1(the slot runs), the product down its stage; absent for a slot its stage always runs */
  readonly use?: tf.Scalar
  readonly block: SuperkernelBlock
}

/**
 * The choices of one superkernel slot: its kernel sizes (each a ring of the largest), its channel
 * groups (the middle widths of its expand ratios, labelled by them), whether a shallower network
 * skips it (`optional`, a `t_use` threshold) and whether it starts a chain of such slots (a stage:
 * a slot runs only if the optional slot before it in the chain runs).
 */
export interface SlotSpec {
  readonly name: string
  /** The stage (chain) the slot is in, for reading the architecture. */
  readonly stage: number
  /** A new chain of optional slots starts here. */
  readonly chainStart: boolean
  readonly optional: boolean
  readonly kernels: readonly number[]
  readonly expandLabels: readonly number[]
  /** Middle channels at each expand ratio, ascending. */
  readonly mids: readonly number[]
  /** Reduced channels of the squeeze-and-excitation at each ratio (slots with one). */
  readonly ses?: readonly number[]
}

/** Constant masks and channel groups of one slot. */
export interface SlotLayout {
  readonly spec: SlotSpec
  /** [K, K, 1, 1] masks: the smallest kernel's centre, then each ring outside the previous size */
  readonly rings: tf.Tensor4D[]
  /** [1, 1, maxMid, 1] masks of the channel groups: up to the smallest expansion, then each step */
  readonly groups: tf.Tensor4D[]
  /** whether group l (l >= 1) has no channel (two expand ratios round to one width) */
  readonly empty: boolean[]
  /** [maxMid] group vectors, and [maxSe] ones for the squeeze-and-excitation */
  readonly groupVectors: tf.Tensor1D[]
  readonly seVectors: tf.Tensor1D[]
  readonly mids: number[]
}

/**
 * Single-Path NAS (Stamoulis et al. 2019) on an elastic MobileNetV3 supernet: one superkernel per
 * block slot holds every choice. The depthwise kernel is the smallest kernel's centre plus each
 * larger ring, each kept when its norm exceeds a learned threshold; the expansion is the middle
 * channels in groups (up to the smallest ratio's width, then each larger ratio's), each further group
 * kept when the chosen kernel's norm over it exceeds its threshold; a slot a shallower depth skips
 * runs when the kernel's norm over the first group exceeds its threshold, and only if the slot before
 * it runs. The decisions are hard in the forward pass and have the sigmoid's gradient; weights and
 * thresholds are trained together on the training data with cross-entropy + `costWeight` x log(cost),
 * the cost being the exact cost of the decisions, linear in each of them. The architecture is read
 * off the thresholds after the last step. The supernet's weights are the superkernels: the chosen
 * subnet runs on them (recalibrate its BatchNorm first) or is exported like any other.
 *
 * Departures from the reference, written down: the kernel can grow past 5 (OFA's 7, a ring per
 * size), the expansion has as many steps as the supernet's ratios, and skipping follows OFA's depth
 * (the last blocks of a stage); dropped channels are zeroed after the depthwise activation (and in
 * the squeeze-and-excitation), not in the kernel before BatchNorm, so the superkernel network with
 * hard decisions computes exactly the chosen subnet; the cost model is the exact sum over the choices
 * (the reference scales the 3x3-to-5x5 difference by the expansion instead).
 * @since 0.2.0
 * @category one-shot
 */
export function singlePathSearch(
  net: ElasticMbv3,
  data: Dataset,
  config?: SinglePathConfig,
  options?: SinglePathOptions<OfaArch>,
): Promise<SinglePathResult<OfaArch>>
export function singlePathSearch(
  net: ElasticFbnet,
  data: Dataset,
  config?: SinglePathConfig,
  options?: SinglePathOptions<FbnetArch>,
): Promise<SinglePathResult<FbnetArch>>
export async function singlePathSearch(
  net: ElasticMbv3 | ElasticFbnet,
  data: Dataset,
  config: SinglePathConfig = {},
  options: SinglePathOptions<OfaArch> | SinglePathOptions<FbnetArch> = {},
): Promise<SinglePathResult<OfaArch> | SinglePathResult<FbnetArch>> {
  checkData(net, data)
  const cfg = parseSinglePathConfig(config)
  if (net instanceof ElasticFbnet) {
    const o = options as SinglePathOptions<FbnetArch>
    return runSuperkernelSearch(fbnetSuperkernel(net, cfg, o.cost), data, cfg, o)
  }
  const o = options as SinglePathOptions<OfaArch>
  return runSuperkernelSearch(ofaSuperkernel(net, cfg, o.cost), data, cfg, o)
}

/** What the Single-Path loop needs of a supernet and its space (internal). */
interface SuperkernelTarget<A> {
  readonly net: ElasticMbv3 | ElasticFbnet
  readonly classes: number
  readonly resolution: number
  readonly layouts: readonly SlotLayout[]
  readonly costs: SlotCosts
  readonly costOf: (arch: A) => number
  forward(x: tf.Tensor4D, gates: ReadonlyMap<string, SlotGates>, seed: number): tf.Tensor2D
  readArch(thresholds: ReadonlyMap<string, tf.Variable>): A
}

function ofaSuperkernel(
  net: ElasticMbv3,
  cfg: SinglePathShape,
  cost?: (arch: OfaArch) => number,
): SuperkernelTarget<OfaArch> {
  const resolution = superkernelResolution(net, 'Single-Path NAS', cfg.resolution)
  const costOf = cost ?? ((a: OfaArch) => net.cost(a).flops)
  // (a superkernel forward takes only the resolution of the architecture it is given)
  const superArch = { ...largestArch(net.config), resolution }
  // the costs first: a cost that throws leaves no mask tensor behind
  const costs = singlePathCosts(net, resolution, costOf)
  const layouts = net.blockSlots.map((slot) => slotLayout(net, slot))
  return {
    net,
    classes: net.config.classes,
    resolution,
    layouts,
    costs,
    costOf,
    forward: (x, gates, seed) =>
      net.forward(superArch, x, { training: true, seed, superkernel: (slot) => gates.get(slot.name)!.block }),
    readArch: (thresholds) => readArch(net, layouts, thresholds, resolution),
  }
}

/**
 * Single-Path NAS on an FBNet supernet: each layer one superkernel of kernel 3 or 5 and expand ratio
 * 1, 3 or 6, and `skip` where it is the identity (a layer that changes the shape always runs a block).
 */
function fbnetSuperkernel(
  net: ElasticFbnet,
  cfg: SinglePathShape,
  cost?: (arch: FbnetArch) => number,
): SuperkernelTarget<FbnetArch> {
  const c = net.config
  if (c.kernelTransform) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message:
        'Single-Path NAS takes the 3x3 kernel as the centre of the 5x5 one as it is; this supernet transforms kernels (build it with kernelTransform: false)',
      value: true,
      allowed: [false],
    })
  }
  if (cfg.resolution !== undefined && cfg.resolution !== c.resolution) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `resolution ${cfg.resolution}: an FBNet supernet has one input side, ${c.resolution}`,
      value: cfg.resolution,
      allowed: [c.resolution],
    })
  }
  const costOf = cost ?? ((a: FbnetArch) => net.cost(a).flops)
  // the costs first: a cost that throws leaves no mask tensor behind
  const costs = fbnetSinglePathCosts(net, costOf)
  const layouts = net.layerSlots.map((slot, i) =>
    layoutOf({
      name: slot.name,
      stage: i,
      chainStart: true,
      optional: !slot.skipConv,
      kernels: [3, 5],
      expandLabels: [1, 3, 6],
      mids: [slot.cin, 3 * slot.cin, 6 * slot.cin],
    }),
  )
  return {
    net,
    classes: c.classes,
    resolution: c.resolution,
    layouts,
    costs,
    costOf,
    forward: (x, gates, seed) =>
      net.forward(net.largestArch(), x, {
        training: true,
        seed,
        superkernel: (slot) => gates.get(slot.name)!.block,
      }),
    readArch: (thresholds) =>
      fbnet.validate(
        readDecisions(net, layouts, thresholds).map((d): FbnetOp =>
          d.use ? (`k${[3, 5][d.kernel]!}_e${[1, 3, 6][d.expand]!}` as FbnetOp) : 'skip',
        ),
      ),
  }
}

/**
 * The block choices' costs of an FBNet supernet under `cost` (see {@link SlotCosts}): the base is
 * `skip` wherever it is the identity and `k3_e1` in the layers that change the shape; a layer's
 * entry is what its block adds to that. Exact for a cost that adds up over layers, as FLOPs do.
 */
export function fbnetSinglePathCosts(net: ElasticFbnet, cost: (arch: FbnetArch) => number): SlotCosts {
  const baseArch = net.layerSlots.map((s): FbnetOp => (s.skipConv ? 'k3_e1' : 'skip'))
  const base = cost(baseArch)
  const slots = net.layerSlots.map((slot, i) => ({
    optional: !slot.skipConv,
    table: [3, 5].map((k) =>
      [1, 3, 6].map((e) => {
        const arch = [...baseArch]
        arch[i] = `k${k}_e${e}` as FbnetOp
        return cost(arch) - base
      }),
    ),
  }))
  return { base, slots }
}

async function runSuperkernelSearch<A>(
  target: SuperkernelTarget<A>,
  data: Dataset,
  cfg: SinglePathShape,
  options: SinglePathOptions<A>,
): Promise<SinglePathResult<A>> {
  const { net, resolution, layouts, costs, costOf } = target
  const thresholds = createThresholds(net, layouts)
  const names = [...net.params.keys()]
  const weights = net.trainable
  const vars = [...weights, ...thresholds.values()]
  const decayed = new Set(names.flatMap((n, i) => (noDecay(n) ? [] : [i])))
  const resume = options.resume
  if (resume !== undefined) {
    checkResumeSettings('a Single-Path search', resume.format === 'nasjs-single-path', resume.config, cfg)
    net.load(resume.weights)
    tf.tidy(() => {
      for (const [name, v] of thresholds) v.assign(tf.scalar(resume.thresholds[name] ?? 0))
    })
  }
  const slots = (init: (v: tf.Variable) => tf.Tensor, saved?: readonly Float32Array[]) =>
    vars.map((v, i) =>
      tf.tidy(() => tf.variable(saved === undefined ? init(v) : tf.tensor(saved[i]!, v.shape), false)),
    )
  const ms = slots((v) => tf.onesLike(v), resume?.ms)
  const mom = slots((v) => tf.zerosLike(v), resume?.mom)
  const stepsPerEpoch = Math.ceil(data.y.length / cfg.batchSize)
  const totalSteps = stepsPerEpoch * cfg.epochs
  const warmupSteps = Math.round(cfg.warmup * totalSteps)
  const history: SinglePathEpoch<A>[] = [...(resume?.history ?? [])]
  const t0 = performance.now()
  let step = resume?.step ?? 0
  let status: SinglePathResult<A>['status'] = 'complete'
  let reason: string | undefined
  try {
    for (let epoch = resume?.epochs ?? 0; epoch < cfg.epochs && status === 'complete'; epoch++) {
      let ceSum = 0
      let ceCount = 0
      for (const batch of batches(data, {
        batchSize: cfg.batchSize,
        shuffleSeed: cfg.seed * 1_000_003 + epoch,
      })) {
        if (options.signal?.aborted === true) {
          status = 'aborted'
          break
        }
        const warm = step < warmupSteps
        const lr = cfg.lr * cfg.lrDecay ** Math.floor(step / (stepsPerEpoch * cfg.lrDecayEpochs))
        const rng = stepRng(cfg.seed, step)
        const dropout = warm ? cfg.decisionDropout : 0
        let ce = NaN
        let cost = NaN
        const { value, grads } = tf.variableGrads(() => {
          const x = imagesAt(batch.xs, batch.n, data.shape, resolution)
          const gates = slotGates(layouts, thresholds, net, dropout, rng)
          const logits = target.forward(x, gates, rng.int(2 ** 31 - 1) + 1)
          const labels = tf.oneHot(tf.tensor1d(batch.ys, 'int32'), target.classes)
          const ceT = tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(labels, logits)
          const costT = costTensor(costs, layouts, gates)
          ce = ceT.dataSync()[0]!
          cost = costT.dataSync()[0]!
          let loss: tf.Scalar = ceT
          if (!warm && cfg.costWeight > 0) loss = tf.add(loss, tf.mul(cfg.costWeight, tf.log(costT)))
          if (cfg.weightDecay > 0) {
            const l2 = tf.addN(weights.filter((_, i) => decayed.has(i)).map((w) => tf.sum(tf.square(w))))
            loss = tf.add(loss, tf.mul(cfg.weightDecay / 2, l2))
          }
          return loss
        }, vars)
        value.dispose()
        if (!Number.isFinite(ce)) {
          tf.dispose(Object.values(grads))
          net.discardRunningStats()
          status = 'failed'
          reason = `the cross-entropy is ${ce} at step ${step}; try a lower learning rate than ${cfg.lr}`
          break
        }
        tf.tidy(() => {
          vars.forEach((v, i) => {
            const g = grads[v.name]
            if (g === undefined) return
            const m2 = tf.add(tf.mul(ms[i]!, 0.9), tf.mul(tf.square(g), 0.1))
            const m1 = tf.add(tf.mul(mom[i]!, 0.9), tf.div(tf.mul(g, lr), tf.sqrt(tf.add(m2, 1e-3))))
            ms[i]!.assign(m2)
            mom[i]!.assign(m1)
            v.assign(tf.sub(v, m1))
          })
        })
        tf.dispose(Object.values(grads))
        net.updateRunningStats()
        step++
        ceSum += ce
        ceCount++
        const seconds = (performance.now() - t0) / 1000
        options.onProgress?.({
          step,
          totalSteps,
          epoch: step / stepsPerEpoch,
          ce,
          cost,
          lr,
          imagesPerSecond: ((step - (resume?.step ?? 0)) * cfg.batchSize) / seconds,
          etaSeconds: ((totalSteps - step) * seconds) / Math.max(1, step - (resume?.step ?? 0)),
        })
        if (step % 4 === 0) await new Promise((r) => setTimeout(r, 0))
      }
      if (ceCount > 0 && status === 'complete') {
        const arch = target.readArch(thresholds)
        const e = { epoch: epoch + 1, arch, cost: costOf(arch), ce: ceSum / ceCount }
        history.push(e)
        options.onEpoch?.(e)
        const read = (vs: readonly tf.Variable[]) => vs.map((v) => new Float32Array(v.dataSync()))
        await options.onCheckpoint?.({
          format: 'nasjs-single-path',
          version: 1,
          config: cfg,
          epochs: epoch + 1,
          step,
          seconds: (resume?.seconds ?? 0) + (performance.now() - t0) / 1000,
          weights: net.state(),
          thresholds: Object.fromEntries([...thresholds].map(([n, v]) => [n, v.dataSync()[0]!])),
          ms: read(ms),
          mom: read(mom),
          history: [...history],
        })
      }
    }
    const arch = target.readArch(thresholds)
    const out: Record<string, number> = {}
    for (const [name, v] of thresholds) out[name] = v.dataSync()[0]!
    return {
      status,
      ...(reason === undefined ? {} : { reason }),
      arch,
      cost: costOf(arch),
      history,
      thresholds: out,
      steps: step,
      seconds: (performance.now() - t0) / 1000,
    }
  } finally {
    net.discardRunningStats()
    tf.dispose([...thresholds.values(), ...ms, ...mom])
    for (const l of layouts) tf.dispose([...l.rings, ...l.groups, ...l.groupVectors, ...l.seVectors])
  }
}

/** Parses a {@link SinglePathConfig}; a bad field is one `CONFIG_INVALID` error naming it. */
export function parseSinglePathConfig(config: unknown): SinglePathShape {
  const r = SinglePathConfig.safeParse(config)
  if (r.success) return r.data
  const issue = r.error.issues[0]!
  const path = issue.path.join('.')
  throw new NasError({
    code: 'CONFIG_INVALID',
    message: `Single-Path NAS setting ${path === '' ? '' : `'${path}' `}is invalid: ${issue.message}`,
    value: path === '' ? config : (config as Record<string, unknown>)[String(issue.path[0])],
  })
}

/**
 * The resolution a superkernel search runs at (`resolution`, or the supernet's largest), after
 * checking that the supernet takes a smaller kernel as the plain centre of the larger one: one
 * `CONFIG_INVALID` error otherwise, naming `method`.
 */
export function superkernelResolution(net: ElasticMbv3, method: string, resolution?: number): number {
  const c = net.config
  if (c.kernelTransform) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${method} takes a smaller kernel as the centre of the larger one as it is; this supernet transforms kernels (build it with kernelTransform: false)`,
      value: true,
      allowed: [false],
    })
  }
  const r = resolution ?? c.resolutions.at(-1)!
  if (!c.resolutions.includes(r)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `resolution ${r} is not one of the supernet's (${c.resolutions.join(', ')})`,
      value: r,
      allowed: c.resolutions,
    })
  }
  return r
}

/**
 * A checkpoint continues only the run it came from: of the right kind (`sameKind`) and with the
 * same settings, or one `CONFIG_INVALID` error naming `what`.
 */
export function checkResumeSettings(what: string, sameKind: boolean, saved: unknown, current: unknown): void {
  if (sameKind && JSON.stringify(saved) === JSON.stringify(current)) return
  throw new NasError({
    code: 'CONFIG_INVALID',
    message: `the checkpoint is not of ${what} with these settings; resume with the settings it was made with`,
    value: saved,
  })
}

/** A K x K mask (row-major) of ones on the centre k x k, zeros around it. */
export function centreMask(K: number, k: number): Float32Array {
  const m = new Float32Array(K * K)
  const lo = (K - k) / 2
  for (let y = lo; y < lo + k; y++) for (let x = lo; x < lo + k; x++) m[y * K + x] = 1
  return m
}

/**
 * The learned thresholds, each a scalar variable started at 0 (as the reference's): per slot, one per
 * larger kernel (`<slot>/t_k<k>`), one per larger expand ratio whose channel group is not empty
 * (`<slot>/t_e<e>`), and `<slot>/t_use` for a slot a shallower depth skips.
 */
export function createThresholds(_net: unknown, layouts: readonly SlotLayout[]): Map<string, tf.Variable> {
  const thresholds = new Map<string, tf.Variable>()
  for (const { spec, empty } of layouts) {
    const add = (name: string) =>
      thresholds.set(
        `${spec.name}/${name}`,
        tf.tidy(() => tf.variable(tf.scalar(0), true)),
      )
    spec.kernels.slice(1).forEach((k) => add(`t_k${k}`))
    spec.expandLabels.slice(1).forEach((e, i) => {
      if (!empty[i + 1]!) add(`t_e${e}`)
    })
    if (spec.optional) add('t_use')
  }
  return thresholds
}

/** The superkernel slot of OFA block slot `slot` of `net`. */
export function ofaSlotSpec(net: ElasticMbv3, slot: BlockSlotInfo): SlotSpec {
  const c = net.config
  const mids = c.expands.map((e) => makeDivisible(Math.round(slot.cin * e)))
  return {
    name: slot.name,
    stage: slot.stage,
    chainStart: slot.pos === 0,
    optional: slot.pos >= c.depths[0]!,
    kernels: c.kernels,
    expandLabels: c.expands,
    mids,
    ...(slot.se ? { ses: mids.map((m) => makeDivisible(Math.floor(m / 4))) } : {}),
  }
}

export function slotLayout(net: ElasticMbv3, slot: BlockSlotInfo): SlotLayout {
  return layoutOf(ofaSlotSpec(net, slot))
}

/** The masks and channel groups of a slot. */
export function layoutOf(spec: SlotSpec): SlotLayout {
  const K = spec.kernels.at(-1)!
  const mids = [...spec.mids]
  const maxMid = mids.at(-1)!
  const centre = (k: number) => centreMask(K, k)
  const rings = spec.kernels.map((k, j) => {
    const m = centre(k)
    if (j > 0) {
      const inner = centre(spec.kernels[j - 1]!)
      for (let i = 0; i < m.length; i++) m[i]! -= inner[i]!
    }
    return tf.tensor4d(m, [K, K, 1, 1])
  })
  const range = (lo: number, hi: number, n: number) => {
    const v = new Float32Array(n)
    for (let i = lo; i < hi; i++) v[i] = 1
    return v
  }
  const groupVectors = mids.map((m, l) => tf.tensor1d(range(l === 0 ? 0 : mids[l - 1]!, m, maxMid)))
  const groups = groupVectors.map((g) => tf.reshape<tf.Rank.R4>(g, [1, 1, maxMid, 1]))
  const ses = spec.ses
  const seVectors =
    ses === undefined ? [] : ses.map((v, l) => tf.tensor1d(range(l === 0 ? 0 : ses[l - 1]!, v, ses.at(-1)!)))
  const empty = mids.map((m, l) => l > 0 && m === mids[l - 1])
  return { spec, rings, groups, empty, groupVectors, seVectors, mids }
}

/**
 * Each slot's decisions and superkernel tensors, from the current weights and thresholds (inside the
 * gradient computation). `kernel`, `expand` and `use` are the thresholds' decisions as they stand
 * (what the cost prices and the architecture reads); during the warm-up the superkernel forward
 * drops each decision with probability `dropout` instead, as the reference's `tf.nn.dropout` on its
 * indicators: a kept kernel ring is scaled by 1 / (1 - dropout) as there, while channel groups and
 * blocks are kept or dropped unscaled (the reference scales them too, but inside the kernel, before
 * the BatchNorm that cancels the scale; here they act after it).
 */
export function slotGates(
  layouts: readonly SlotLayout[],
  thresholds: ReadonlyMap<string, tf.Variable>,
  net: { readonly params: ReadonlyMap<string, tf.Variable> },
  dropout: number,
  rng: Rng,
): Map<string, SlotGates> {
  const out = new Map<string, SlotGates>()
  const indicator = (norm: tf.Scalar, name: string) =>
    singlePathIndicator(tf.sub(norm, thresholds.get(name)!)) as tf.Scalar
  /** the decisions of one slot, each passed through `drop` (kernel rings: scaled when kept) */
  const decisions = (l: SlotLayout, drop: (g: tf.Scalar, scaled: boolean) => tf.Scalar) => {
    const slot = l.spec
    const w = net.params.get(`${slot.name}/dw`)! as tf.Tensor as tf.Tensor4D
    // the kernel: centre + g1 (ring1 + g2 (ring2 + ...)), each ring's decision from its own norm
    const ringParts = l.rings.map((r) => tf.mul<tf.Tensor4D>(w, r))
    const kernelGates = slot.kernels
      .slice(1)
      .map((k, j) => drop(indicator(tf.norm(ringParts[j + 1]!) as tf.Scalar, `${slot.name}/t_k${k}`), true))
    let kernel = ringParts.at(-1)!
    for (let j = ringParts.length - 1; j > 0; j--) {
      kernel = tf.mul(kernelGates[j - 1]!, kernel)
      kernel = j > 1 ? tf.add(ringParts[j - 1]!, kernel) : kernel
    }
    kernel = ringParts.length > 1 ? tf.add(ringParts[0]!, kernel) : ringParts[0]!
    // the expansion: groups of the chosen kernel's channels, each kept by the norm over it
    const expandGates = slot.expandLabels
      .slice(1)
      .map((e, i) =>
        l.empty[i + 1]!
          ? tf.scalar(1)
          : drop(
              indicator(tf.norm(tf.mul(kernel, l.groups[i + 1]!)) as tf.Scalar, `${slot.name}/t_e${e}`),
              false,
            ),
      )
    const own = slot.optional
      ? drop(indicator(tf.norm(tf.mul(kernel, l.groups[0]!)) as tf.Scalar, `${slot.name}/t_use`), false)
      : undefined
    return { kernelGates, kernel, expandGates, own }
  }
  const keep = (g: tf.Scalar) => g
  const dropped = (g: tf.Scalar, scaled: boolean): tf.Scalar =>
    rng.uniform() < dropout ? tf.zerosLike(g) : scaled ? tf.div(g, 1 - dropout) : g
  let stageUse: tf.Scalar | undefined
  let stageRun: tf.Scalar | undefined
  for (const l of layouts) {
    const slot = l.spec
    const raw = decisions(l, keep)
    const run = dropout > 0 ? decisions(l, dropped) : raw
    const nested = (vectors: readonly tf.Tensor1D[]): tf.Tensor1D => {
      let v = vectors.at(-1)!
      for (let i = vectors.length - 1; i > 0; i--) {
        v = tf.mul<tf.Tensor1D>(run.expandGates[i - 1]!, v)
        if (i > 1) v = tf.add<tf.Tensor1D>(vectors[i - 1]!, v)
      }
      return vectors.length > 1 ? tf.add<tf.Tensor1D>(vectors[0]!, v) : vectors[0]!
    }
    if (slot.chainStart) [stageUse, stageRun] = [undefined, undefined]
    let use: tf.Scalar | undefined
    let runs: tf.Scalar | undefined
    if (raw.own !== undefined && run.own !== undefined) {
      use = stageUse === undefined ? raw.own : tf.mul(stageUse, raw.own)
      runs = stageRun === undefined ? run.own : tf.mul(stageRun, run.own)
      ;[stageUse, stageRun] = [use, runs]
    }
    out.set(slot.name, {
      kernel: raw.kernelGates,
      expand: raw.expandGates,
      ...(use === undefined ? {} : { use }),
      block: {
        kernel: run.kernel,
        channels: nested(l.groupVectors),
        ...(l.seVectors.length > 0 ? { seChannels: nested(l.seVectors) } : {}),
        ...(runs === undefined ? {} : { use: runs }),
      },
    })
  }
  return out
}

/**
 * The cost of the decisions: base + the sum over slots of (use x) sum_{k,e} P(k) P(e) table[k][e],
 * where P(k_j) = g_1 ... g_j (1 - g_{j+1}) and likewise for the expansion: with 0/1 decisions the
 * chosen subnet's cost, and linear in each decision.
 */
export function costTensor(
  costs: SlotCosts,
  layouts: readonly SlotLayout[],
  gates: ReadonlyMap<string, SlotGates>,
): tf.Scalar {
  const probs = (g: readonly tf.Scalar[]) => {
    const out: tf.Scalar[] = []
    let prefix: tf.Scalar = tf.scalar(1)
    for (let j = 0; j <= g.length; j++) {
      out.push(j < g.length ? tf.mul(prefix, tf.sub(1, g[j]!)) : prefix)
      if (j < g.length) prefix = tf.mul(prefix, g[j]!)
    }
    return out
  }
  const terms: tf.Scalar[] = [tf.scalar(costs.base)]
  layouts.forEach((l, s) => {
    const g = gates.get(l.spec.name)!
    const pk = probs(g.kernel)
    const pe = probs(g.expand)
    const table = costs.slots[s]!.table
    const parts: tf.Scalar[] = []
    pk.forEach((a, j) => pe.forEach((b, e) => parts.push(tf.mul(tf.mul(a, b), table[j]![e]!))))
    let slotCost = tf.addN<tf.Scalar>(parts)
    if (g.use !== undefined) slotCost = tf.mul(g.use, slotCost)
    terms.push(slotCost)
  })
  return tf.addN<tf.Scalar>(terms)
}

/**
 * The subnet the thresholds choose now: every decision without dropout, the depth of a stage its
 * always-run slots plus the slots that run, an expansion whose group is empty read as the smaller
 * ratio of the same width.
 */
export function readArch(
  net: ElasticMbv3,
  layouts: readonly SlotLayout[],
  thresholds: ReadonlyMap<string, tf.Variable>,
  resolution: number,
): OfaArch {
  const c = net.config
  const stages: OfaBlock[][] = [[], [], [], [], []]
  readDecisions(net, layouts, thresholds).forEach((d, s) => {
    if (d.use) {
      const l = layouts[s]!
      stages[l.spec.stage]!.push({ kernel: c.kernels[d.kernel]!, expand: c.expands[d.expand]! })
    }
  })
  return net.space.validate({ resolution, stages: stages as OfaArch['stages'] })
}

/**
 * Each slot's choice under the thresholds now (every decision without dropout): the index of its
 * kernel and expand ratio (an expansion whose group is empty read as the smaller ratio of the same
 * width), and whether it runs.
 */
export function readDecisions(
  net: { readonly params: ReadonlyMap<string, tf.Variable> },
  layouts: readonly SlotLayout[],
  thresholds: ReadonlyMap<string, tf.Variable>,
): { kernel: number; expand: number; use: boolean }[] {
  const decided = tf.tidy(() => {
    const gates = slotGates(layouts, thresholds, net, 0, new Rng(1))
    return layouts.map((l) => {
      const g = gates.get(l.spec.name)!
      const read = (xs: readonly tf.Scalar[]) => xs.map((x) => x.dataSync()[0]! > 0.5)
      return {
        kernel: read(g.kernel),
        expand: read(g.expand),
        use: g.use === undefined ? true : g.use.dataSync()[0]! > 0.5,
      }
    })
  })
  const upTo = (flags: readonly boolean[]) => {
    let n = 0
    while (n < flags.length && flags[n]!) n++
    return n
  }
  return layouts.map((l, s) => {
    const d = decided[s]!
    let e = upTo(d.expand)
    while (e > 0 && l.mids[e] === l.mids[e - 1]) e--
    return { kernel: upTo(d.kernel), expand: e, use: d.use }
  })
}
