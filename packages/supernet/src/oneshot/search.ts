import { NasError } from '@nasjs/core'
import type { Batch, Dataset } from '@nasjs/models'
import { applyUpdate, batches, crossEntropy, parseConfig, parseTrainConfig } from '@nasjs/models'
import type { Nb201Arch } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { z } from 'zod'
import type { NamedArray } from '../elastic.js'
import { stepRng } from '../sampling.js'
import {
  CELL_OPS,
  resumeError,
  type CellSupernetShape,
  type EdgeMixing,
  type OneShotSupernet,
} from './cell-supernet.js'
import type { DartsCellSupernetShape } from './darts-supernet.js'

/**
 * The one-shot methods of {@link searchCell}.
 * @since 0.2.0
 */
export const ONESHOT_METHODS = ['darts', 'gdas', 'proxyless', 'rarts'] as const

/**
 * How {@link searchCell} searches (zod, strict, defaults filled in). The defaults are the
 * NAS-Bench-201 code's settings for DARTS and GDAS: network weights by SGD (Nesterov momentum 0.9,
 * learning rate 0.025 cosine to 0.001, weight decay 5e-4, gradient norm clipped at 5), architecture
 * weights by Adam (learning rate 3e-4, betas 0.5 and 0.999, weight decay 1e-3), batches of 64 from
 * each split; GDAS's temperature falls linearly from 10 to 0.1 over the epochs.
 * @since 0.2.0
 * @category one-shot
 */
export const OneShotConfig = z
  .object({
    method: z.enum(ONESHOT_METHODS).default('darts'),
    order: z
      .union([z.literal(1), z.literal(2)])
      .default(1)
      .describe(
        'DARTS: 1 for the first-order approximation, 2 for the second-order (unrolled) architecture gradient',
      ),
    epochs: z.number().int().min(1).default(50),
    batchSize: z.number().int().min(2).default(64),
    lr: z.number().positive().default(0.025).describe('peak learning rate of the network weights'),
    minLr: z.number().min(0).default(0.001).describe('learning rate at the end of the cosine'),
    momentum: z.number().min(0).max(1).default(0.9),
    nesterov: z.boolean().default(true),
    weightDecay: z.number().min(0).default(5e-4),
    gradClip: z
      .number()
      .positive()
      .default(5)
      .describe("the network weights' gradient norm is clipped to this"),
    archLr: z.number().positive().default(3e-4),
    archWeightDecay: z.number().min(0).default(1e-3),
    archBeta1: z.number().min(0).max(1).default(0.5),
    archBeta2: z.number().min(0).max(1).default(0.999),
    tauMax: z.number().positive().default(10).describe('GDAS: Gumbel-softmax temperature at the start'),
    tauMin: z.number().positive().default(0.1).describe('GDAS: temperature at the last epoch'),
    latency: z
      .array(z.array(z.number()).length(5))
      .length(6)
      .optional()
      .describe(
        'ProxylessNAS: the latency (ms) each operation adds on each edge (6 x 5, CELL_OPS order), e.g. from nb201EdgeLatencies',
      ),
    archWarmupEpochs: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'epochs that train the network weights only before the architecture steps start (PC-DARTS: 15 of 50)',
      ),
    latencyWeight: z
      .number()
      .min(0)
      .default(0)
      .describe('ProxylessNAS: lambda of the expected-latency term added to the architecture loss (per ms)'),
    edgeWeighting: z
      .enum(['softmax', 'max-w'])
      .default('softmax')
      .describe(
        "DARTS and RARTS: how an edge weights its operations; 'max-w' is sharpDARTS's Max-W, 1 - max(w) + w_i with w = softmax(alpha)",
      ),
    lrPowerBase: z
      .number()
      .min(1)
      .default(1)
      .describe(
        "the network weights' schedule: 1 is the cosine; above 1 sharpDARTS's cosine power annealing with this base (2 in its CIFAR-10 setting)",
      ),
    rartsLambda: z
      .number()
      .positive()
      .default(1)
      .describe('RARTS: lambda, the weight of the validation network loss in the relaxed objective'),
    rartsBeta: z
      .number()
      .min(0)
      .default(1)
      .describe('RARTS: beta, the weight of the proximity term beta/2 |w - y|^2 between the two networks'),
    teachers: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'SD-DARTS: how many earlier snapshots of the supernet vote as teachers of the weight step (0: no self-distillation)',
      ),
    teacherEvery: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('SD-DARTS: steps between two snapshots (0: one epoch)'),
    distillWeight: z
      .number()
      .min(0)
      .default(1)
      .describe("SD-DARTS: weight of the teachers' KL term beside the cross-entropy"),
    distillTemperature: z
      .number()
      .positive()
      .default(1)
      .describe('SD-DARTS: softmax temperature of the distillation (the KL term is scaled by its square)'),
    seed: z.number().int().default(0),
  })
  .strict()
/** @since 0.2.0 */
export type OneShotConfig = z.input<typeof OneShotConfig>
/** The parsed {@link OneShotConfig}. @since 0.2.0 */
export type OneShotShape = z.output<typeof OneShotConfig>

/**
 * A checkpoint of {@link searchCell}: enough to continue exactly where it stopped.
 * @since 0.2.0
 */
export interface OneShotState {
  readonly format: 'nasjs-oneshot'
  readonly version: 1
  readonly supernet: CellSupernetShape | DartsCellSupernetShape
  readonly search: OneShotShape
  readonly step: number
  readonly seconds: number
  /** Network and architecture weights. */
  readonly weights: readonly NamedArray[]
  /** SGD momentum of the network weights, in `CellSupernet.weights` order. */
  readonly momentum: readonly Float32Array[]
  /** Adam's first and second moments of the architecture weights, and its step count. */
  readonly adam: { readonly m: Float32Array; readonly v: Float32Array; readonly t: number }
  /** softmax(alpha) at the end of every epoch so far (epochs x edges x operations: 6 x 5 on NB201). */
  readonly history: readonly (readonly (readonly number[])[])[]
  /**
   * The other weight sets a method keeps, in `CellSupernet.weights` order: RARTS's validation
   * network `y/<i>` and its momentum `y-momentum/<i>`; SD-DARTS's teacher snapshots
   * `teacher/<k>/<i>` (oldest first; the network weights, then the architecture weights).
   */
  readonly aux?: readonly NamedArray[]
}

/**
 * Progress of {@link searchCell}, after every step.
 * @since 0.2.0
 */
export interface OneShotProgress {
  readonly step: number
  readonly totalSteps: number
  readonly epoch: number
  readonly epochs: number
  /**
   * The network weights' loss on the training batch, and the architecture's on the validation
   * batch (NaN while `archWarmupEpochs` last).
   */
  readonly loss: number
  readonly archLoss: number
  readonly lr: number
  /** GDAS's temperature (undefined for DARTS). */
  readonly tau?: number
  readonly imagesPerSecond: number
  readonly etaSeconds: number
}

/**
 * Options of {@link searchCell}.
 * @since 0.2.0
 */
export interface SearchCellOptions {
  readonly signal?: AbortSignal
  readonly onProgress?: (p: OneShotProgress) => void
  /** Receives a checkpoint at the end of every epoch, and when stopped. */
  readonly onCheckpoint?: (state: OneShotState) => void | Promise<void>
  /** Continue from a checkpoint of the same supernet and config. */
  readonly resume?: OneShotState
  /** Stop (status `budget`, a checkpoint written) after this many steps in all. */
  readonly maxSteps?: number
}

/**
 * What {@link searchCell} found.
 * @since 0.2.0
 */
export interface OneShotResult<A = Nb201Arch> {
  readonly status: 'complete' | 'aborted' | 'budget' | 'failed'
  readonly reason?: string
  /** The derived cell (the supernet's `derive()`). */
  readonly arch: A
  readonly steps: number
  readonly totalSteps: number
  readonly seconds: number
  readonly history: readonly (readonly (readonly number[])[])[]
}

/**
 * The network weights' learning rate at `step` of `totalSteps`: the cosine from `lr` to `minLr`,
 * or with `lrPowerBase` b > 1 sharpDARTS's cosine power annealing (Hundt, Jain and Hager 2019):
 * with c = (1 + cos(pi step / total)) / 2 falling from 1 to 0, the rate is
 * minLr + (lr - minLr) (b^(c+1) - b) / (b^2 - b), which falls faster than the cosine early and
 * slower late (the larger b, the more like an exponential decay).
 * @since 0.2.0
 * @category one-shot
 */
export function oneShotLr(
  t: Pick<OneShotShape, 'lr' | 'minLr' | 'lrPowerBase'>,
  step: number,
  totalSteps: number,
): number {
  const c = 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps))
  const b = t.lrPowerBase
  const share = b === 1 ? c : (b ** (c + 1) - b) / (b * b - b)
  return t.minLr + (t.lr - t.minLr) * share
}

/**
 * sharpDARTS's Max-W weighting of each edge's operations (Hundt, Jain and Hager 2019): with
 * w = softmax(alpha) over the edge, operation i is weighted 1 - max(w) + w_i, so the strongest
 * operation runs at full strength and the others as far below it as their weights are below its.
 * With `mask` (an edge's allowed operations, as `CellSupernetConfig.opMask`), the softmax runs over
 * the allowed operations and the others weigh exactly 0.
 * @since 0.2.0
 * @category one-shot
 */
export function maxWWeights(alphas: tf.Tensor2D, mask?: readonly (readonly boolean[])[]): tf.Tensor2D {
  return tf.tidy(() => {
    if (mask === undefined) {
      const w = tf.softmax(alphas)
      return tf.add<tf.Tensor2D>(tf.sub(1, tf.max(w, 1, true)), w)
    }
    const keep = tf.tensor2d(mask.map((r) => r.map((b) => (b ? 1 : 0))))
    const w = tf.softmax(tf.add(alphas, tf.mul(tf.sub(keep, 1), 1e9)))
    return tf.mul<tf.Tensor2D>(tf.add(tf.sub(1, tf.max(w, 1, true)), w), keep)
  })
}

/** GDAS's temperature at epoch `e` (linear from tauMax to tauMin over the epochs). */
export function gdasTau(t: OneShotShape, epoch: number): number {
  if (t.epochs === 1) return t.tauMin
  return t.tauMax - ((t.tauMax - t.tauMin) * epoch) / (t.epochs - 1)
}

/**
 * One straight-through Gumbel-softmax sample per edge (GDAS, Dong and Yang 2019): with g Gumbel(0, 1)
 * noise, p = softmax((log_softmax(alpha) + g) / tau); the edge runs operation argmax p, weighted by
 * one_hot - p + p, whose value is the one-hot vector and whose gradient is p's. The noise comes from
 * `rng`'s uniform draws, so a sample is reproducible.
 * @since 0.2.0
 * @category one-shot
 */
export function gumbelSample(
  alphas: tf.Tensor2D,
  tau: number,
  uniform: () => number,
): { weights: tf.Tensor2D; index: number[] } {
  const [edges, ops] = alphas.shape
  const g = new Float32Array(edges * ops)
  for (let i = 0; i < g.length; i++) {
    const u = Math.min(Math.max(uniform(), 1e-12), 1 - 1e-12)
    g[i] = -Math.log(-Math.log(u))
  }
  return tf.tidy(() => {
    const probs = tf.softmax(tf.div(tf.add(tf.logSoftmax(alphas), tf.tensor2d(g, [edges, ops])), tau))
    const values = probs.arraySync() as number[][]
    const index = values.map((row) => row.indexOf(Math.max(...row)))
    // the one-hot rows minus p's values (a constant) plus p: value one-hot, gradient p's
    const oneHot = tf.cast(tf.oneHot(tf.tensor1d(index, 'int32'), ops), 'float32')
    const weights = tf.add<tf.Tensor2D>(tf.sub(oneHot, tf.tensor2d(values)), probs)
    return { weights, index }
  })
}

/**
 * ProxylessNAS's binary gates (Cai, Zhu and Han 2019): one operation per edge drawn from the
 * multinomial softmax(alpha), as weights one_hot - p + p: one-hot in value, with p's gradient, so
 * that with every operation's output in the sum the architecture weights get the BinaryConnect
 * estimate dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i).
 * @since 0.2.0
 * @category one-shot
 */
export function binaryGates(
  alphas: tf.Tensor2D,
  uniform: () => number,
): { weights: tf.Tensor2D; index: number[] } {
  return tf.tidy(() => {
    const probs = tf.softmax(alphas)
    const values = probs.arraySync()
    const index = values.map((row) => {
      const u = uniform()
      let c = 0
      for (let k = 0; k < row.length; k++) {
        c += row[k]!
        if (u < c) return k
      }
      return row.length - 1
    })
    const oneHot = tf.cast(tf.oneHot(tf.tensor1d(index, 'int32'), alphas.shape[1]), 'float32')
    return { weights: tf.add<tf.Tensor2D>(tf.sub(oneHot, tf.tensor2d(values)), probs), index }
  })
}

/**
 * The latency each operation adds on each edge of an NB201 cell (6 x 5 ms, CELL_OPS order), fitted
 * to whole-network latencies: the main effects of a least-squares fit of latency on the edges'
 * operations, which for the full NB201 space (every combination once, a balanced design) are the
 * mean latency of the cells with that operation on that edge minus the mean of all. Cells whose
 * latency is not finite are left out. With ProxylessNAS's `latencyWeight`, the expected latency
 * sum_e sum_o softmax(alpha)_eo * latency[e][o] joins the architecture loss.
 * @since 0.2.0
 * @category one-shot
 */
export function nb201EdgeLatencies(cells: readonly Nb201Arch[], latency: ArrayLike<number>): number[][] {
  const sum = Array.from({ length: 6 }, () => new Array<number>(CELL_OPS.length).fill(0))
  const count = Array.from({ length: 6 }, () => new Array<number>(CELL_OPS.length).fill(0))
  let total = 0
  let n = 0
  cells.forEach((cell, i) => {
    const v = latency[i]!
    if (!Number.isFinite(v)) return
    total += v
    n++
    cell.forEach((op, e) => {
      const k = CELL_OPS.indexOf(op)
      sum[e]![k]! += v
      count[e]![k]!++
    })
  })
  if (n === 0) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: 'no cell has a finite latency',
      value: latency.length,
    })
  }
  const mean = total / n
  return sum.map((row, e) => row.map((v, k) => (count[e]![k]! > 0 ? v / count[e]![k]! - mean : 0)))
}

function checkData(net: OneShotSupernet<unknown>, data: Dataset, which: string): void {
  const c = net.config
  if (data.shape.join('x') !== c.inputShape.join('x') || data.classes !== c.classes) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the cell supernet takes ${c.inputShape.join('x')} images of ${c.classes} classes; the ${which} data '${data.name}' has ${data.shape.join('x')} and ${data.classes}`,
      value: { shape: data.shape, classes: data.classes },
      allowed: [{ shape: c.inputShape, classes: c.classes }],
    })
  }
  if (data.y.length < 2) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the ${which} data '${data.name}' has ${data.y.length} examples; at least 2 are needed`,
      value: data.y.length,
    })
  }
}

/**
 * Differentiable cell search on the NAS-Bench-201 space: bilevel optimisation of a
 * {@link CellSupernet}'s network weights on `train` and its architecture weights on `valid`,
 * alternating one step of each per batch, as the NAS-Bench-201 code runs its one-shot baselines.
 *
 * - `darts` (Liu, Simonyan and Yang 2019, first order): every edge is the softmax(alpha)-weighted sum
 *   of its operations; the architecture step comes first on a validation batch, then the weight step
 *   on a training batch.
 * - `gdas` (Dong and Yang 2019, "Searching for a Robust Neural Architecture in Four GPU Hours"): every
 *   forward samples one operation per edge by the straight-through Gumbel-softmax
 *   ({@link gumbelSample}), so only that operation runs; the weight step comes first, then the
 *   architecture step, each with its own sample; the temperature falls linearly from `tauMax` to
 *   `tauMin`.
 *
 * The derived cell takes the largest architecture weight on every edge. Every step is reproducible
 * from the seed and the step (batch orders, Gumbel noise), so a run resumed from a checkpoint ends
 * with the weights and alphas of one run straight through. Leaks no tensor.
 * @since 0.2.0
 * @category one-shot
 */
export async function searchCell<A = Nb201Arch>(
  net: OneShotSupernet<A>,
  train: Dataset,
  valid: Dataset,
  config: OneShotConfig = {},
  options: SearchCellOptions = {},
): Promise<OneShotResult<A>> {
  const t = parseConfig(OneShotConfig, config, 'one-shot search option')
  checkData(net, train, 'training')
  checkData(net, valid, 'validation')
  if (t.method === 'proxyless' && net.spaceId !== 'nb201') {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `ProxylessNAS's binary gates run one operation per edge, which is an NB201 cell; on the ${net.spaceId} space use darts, gdas or rarts`,
      value: t.method,
      allowed: ['darts', 'gdas', 'rarts'],
      path: ['method'],
    })
  }
  if (t.order === 2 && (t.method !== 'darts' || net.betas !== undefined)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `order 2 (the unrolled gradient) is DARTS's, without edge normalisation; this search is ${t.method}${net.betas === undefined ? '' : ' with edge normalisation'}`,
      value: t.order,
      allowed: [1],
      path: ['order'],
    })
  }
  const mixedByAlphas = t.method === 'darts' || t.method === 'rarts'
  if (!mixedByAlphas && (t.edgeWeighting !== 'softmax' || t.teachers > 0)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `Max-W weighting and self-distillation (teachers) apply to DARTS and RARTS, whose edges mix every operation; this search is ${t.method}`,
      value: { method: t.method, edgeWeighting: t.edgeWeighting, teachers: t.teachers },
      allowed: ['darts', 'rarts'],
      path: ['method'],
    })
  }
  if (!mixedByAlphas && net.config.opMask !== undefined) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `a supernet with an operation mask (a few-shot split) is searched by DARTS or RARTS; this search is ${t.method}`,
      value: t.method,
      allowed: ['darts', 'rarts'],
      path: ['method'],
    })
  }
  const stepsPerEpoch = Math.ceil(train.y.length / t.batchSize)
  const validPerEpoch = Math.ceil(valid.y.length / t.batchSize)
  const totalSteps = stepsPerEpoch * t.epochs
  const vars = net.weights
  const resume = options.resume
  if (resume !== undefined) checkResume(resume, net, t)
  if (resume !== undefined) net.load(resume.weights)
  let step = resume?.step ?? 0
  const history: (readonly (readonly number[])[])[] = [...(resume?.history ?? [])]
  const momentum = vars.map((v, i) =>
    tf.tidy(() =>
      tf.variable(resume === undefined ? tf.zerosLike(v) : tf.tensor(resume.momentum[i]!, v.shape), false),
    ),
  )
  // Adam's moments of every architecture variable (alphas, and betas with edge normalisation),
  // saved as one array in that order
  const archVars = net.archVariables
  const slots = (saved: Float32Array | undefined) => {
    let at = 0
    return archVars.map((a) =>
      tf.tidy(() => {
        const part = saved?.subarray(at, at + a.size)
        at += a.size
        return tf.variable(part === undefined ? tf.zerosLike(a) : tf.tensor(part, a.shape), false)
      }),
    )
  }
  const adamM = slots(resume?.adam.m)
  const adamV = slots(resume?.adam.v)
  const flat = (vs: readonly tf.Variable[]) => {
    const out = new Float32Array(vs.reduce((n, v) => n + v.size, 0))
    let at = 0
    for (const v of vs) {
      out.set(v.dataSync(), at)
      at += v.size
    }
    return out
  }
  let adamT = resume?.adam.t ?? 0
  // RARTS: the validation network y (starting as w) and its momentum
  const aux = new Map((resume?.aux ?? []).map((a) => [a.name, a]))
  const fromAux = (name: string, like: tf.Variable, fallback: () => tf.Tensor) =>
    tf.tidy(() => {
      const a = aux.get(name)
      return tf.variable(a === undefined ? fallback() : tf.tensor(a.values, like.shape), false)
    })
  const yVars = t.method === 'rarts' ? vars.map((w, i) => fromAux(`y/${i}`, w, () => tf.clone(w))) : []
  const yMomentum =
    t.method === 'rarts' ? vars.map((w, i) => fromAux(`y-momentum/${i}`, w, () => tf.zerosLike(w))) : []
  // SD-DARTS: snapshots of the supernet (network and architecture weights), oldest first
  const snapshotOf = [...vars, ...archVars]
  const teachers: tf.Tensor[][] = []
  for (let k = 0; aux.has(`teacher/${k}/0`); k++) {
    teachers.push(
      snapshotOf.map((v, i) => {
        const a = aux.get(`teacher/${k}/${i}`)
        if (a === undefined) throw resumeError(`teacher ${k} lacks array ${i}`, k)
        return tf.tensor(a.values, v.shape)
      }),
    )
  }
  const teacherEvery = t.teacherEvery === 0 ? stepsPerEpoch : t.teacherEvery
  const sgd = parseTrainConfig({
    optimizer: 'sgd',
    momentum: t.momentum,
    nesterov: t.nesterov,
    weightDecay: t.weightDecay,
  })
  const adam = parseTrainConfig({
    optimizer: 'adam',
    beta1: t.archBeta1,
    beta2: t.archBeta2,
    weightDecay: t.archWeightDecay,
  })
  const t0 = performance.now()
  const secondsBefore = resume?.seconds ?? 0
  let images = 0
  const checkpoint = async () => {
    if (options.onCheckpoint === undefined) return
    await options.onCheckpoint({
      format: 'nasjs-oneshot',
      version: 1,
      supernet: net.config as CellSupernetShape | DartsCellSupernetShape,
      search: t,
      step,
      seconds: secondsBefore + (performance.now() - t0) / 1000,
      weights: net.state(),
      momentum: momentum.map((m) => new Float32Array(m.dataSync())),
      adam: { m: flat(adamM), v: flat(adamV), t: adamT },
      history,
      ...(yVars.length + teachers.length === 0
        ? {}
        : {
            aux: [
              ...named('y', yVars),
              ...named('y-momentum', yMomentum),
              ...teachers.flatMap((s, k) => named(`teacher/${k}`, s)),
            ],
          }),
    })
  }
  const named = (prefix: string, ts: readonly tf.Tensor[]): NamedArray[] =>
    ts.map((v, i) => ({
      name: `${prefix}/${i}`,
      shape: [...v.shape],
      values: new Float32Array(v.dataSync()),
    }))
  /** Runs `fn` with `values` in the variables `targets`, which get their own values back after. */
  const swapped = <R>(targets: readonly tf.Variable[], values: readonly tf.Tensor[], fn: () => R): R => {
    const saved = targets.map((v) => tf.keep(tf.clone(v)))
    tf.tidy(() => targets.forEach((v, i) => v.assign(values[i]!)))
    try {
      return fn()
    } finally {
      tf.tidy(() => targets.forEach((v, i) => v.assign(saved[i]!)))
      tf.dispose(saved)
    }
  }
  const toTensors = (b: Batch) =>
    tf.tidy(() => ({
      x: tf.tensor4d(b.xs, [b.n, ...net.config.inputShape]),
      y: tf.tensor1d(b.ys, 'float32'),
    }))
  /** DARTS's and RARTS's mixing of every operation: softmax(alpha), or sharpDARTS's Max-W. */
  const edgeMixing = (): EdgeMixing<A> =>
    t.edgeWeighting === 'max-w'
      ? {
          kind: 'weights',
          weights: maxWWeights(net.alphas, net.config.opMask),
          // with a mask, the operations it leaves out (weight exactly 0) are not run
          all: net.config.opMask === undefined,
        }
      : { kind: 'softmax' }
  /**
   * Loss of a batch and the gradients of `of`, each edge mixed as DARTS does, or (GDAS) by a
   * Gumbel sample drawn inside the differentiated function from stream (seed + which, step).
   */
  const lossAndGrads = (
    b: Batch,
    of: tf.Variable[],
    which: number,
    tau: number,
    extra: { readonly distill?: boolean; readonly scale?: number } = {},
  ) => {
    const { x, y } = toTensors(b)
    const T = t.distillTemperature
    // SD-DARTS's voting teachers: the mean of the snapshots' softened predictions
    const target =
      extra.distill === true && teachers.length > 0
        ? tf.tidy(() => {
            const probs = teachers.map((snap) =>
              swapped(snapshotOf, snap, () =>
                tf.tidy(() => tf.softmax(tf.div(net.forward(x, edgeMixing()), T))),
              ),
            )
            return tf.div<tf.Tensor2D>(tf.addN(probs), probs.length)
          })
        : undefined
    try {
      return tf.variableGrads(() => {
        let mixing: EdgeMixing<A> = edgeMixing()
        let penalty: tf.Scalar | undefined
        if (t.method === 'gdas') {
          const rng = stepRng(t.seed + which, step)
          const s = gumbelSample(net.alphas, tau, () => rng.uniform())
          mixing = { kind: 'hard', weights: s.weights, index: s.index }
        } else if (t.method === 'proxyless') {
          const rng = stepRng(t.seed + which, step)
          const g = binaryGates(net.alphas, () => rng.uniform())
          const training = of.some((v) => !archVars.includes(v))
          // the weight step runs the sampled path alone; the architecture step every path, with
          // the gates' gradient (BinaryConnect), and the expected latency
          mixing = training
            ? { kind: 'arch', arch: g.index.map((k) => CELL_OPS[k]!) as unknown as A }
            : { kind: 'weights', weights: g.weights, all: true }
          if (!training && t.latency !== undefined && t.latencyWeight > 0) {
            penalty = tf.mul<tf.Scalar>(
              tf.sum(tf.mul(tf.softmax(net.alphas), tf.tensor2d(t.latency))),
              t.latencyWeight,
            )
          }
        }
        const logits = net.forward(x, mixing)
        let loss = crossEntropy(logits, y, net.config.classes)
        if (extra.scale !== undefined) loss = tf.mul<tf.Scalar>(loss, extra.scale)
        if (target !== undefined) {
          // KL(teachers || student) at temperature T, scaled by T^2 (Hinton et al.'s distillation)
          const logP = tf.logSoftmax(tf.div(logits, T))
          const kl = tf.mean(tf.sum(tf.mul(target, tf.sub(tf.log(tf.add(target, 1e-12)), logP)), 1))
          loss = tf.add<tf.Scalar>(loss, tf.mul(kl, t.distillWeight * T * T))
        }
        return penalty === undefined ? loss : tf.add<tf.Scalar>(loss, penalty)
      }, of)
    } finally {
      tf.dispose([x, y])
      target?.dispose()
    }
  }
  let status: OneShotResult<A>['status'] = 'complete'
  let reason: string | undefined
  let lastCheckpoint = step
  try {
    let epoch = -1
    let trainIt: Generator<Batch> | undefined
    let validIt: Generator<Batch> | undefined
    while (step < totalSteps) {
      if (options.signal?.aborted === true) {
        status = 'aborted'
        break
      }
      if (options.maxSteps !== undefined && step >= options.maxSteps) {
        status = 'budget'
        break
      }
      const e = Math.floor(step / stepsPerEpoch)
      const k = step % stepsPerEpoch
      if (e !== epoch || trainIt === undefined || validIt === undefined) {
        epoch = e
        trainIt = batches(train, { batchSize: t.batchSize, shuffleSeed: t.seed * 1_000_003 + e })
        for (let i = 0; i < k; i++) trainIt.next()
        validIt = undefined
      }
      // the validation split cycles with its own order: pass p = floor(global index / its length)
      const vIndex = step
      const pass = Math.floor(vIndex / validPerEpoch)
      if (validIt === undefined || vIndex % validPerEpoch === 0) {
        validIt = batches(valid, { batchSize: t.batchSize, shuffleSeed: t.seed * 1_000_003 + 500_009 + pass })
        for (let i = 0; i < vIndex % validPerEpoch; i++) validIt.next()
      }
      const base = trainIt.next().value as Batch
      const arch = validIt.next().value as Batch
      const lr = oneShotLr(t, step, totalSteps)
      const tau = gdasTau(t, e)
      /**
       * The architecture's loss and gradients: on the validation batch (DARTS, GDAS, ProxylessNAS),
       * or RARTS's L_train(w, alpha) on the training batch plus lambda L_valid(y, alpha) of the
       * validation network on the validation batch (the loss reported is L_valid(y, alpha)).
       */
      const archLossAndGrads = (): { v: number; grads: tf.NamedTensorMap } => {
        if (t.method !== 'rarts') {
          const { value, grads } = lossAndGrads(arch, archVars, 1, tau)
          const v = value.dataSync()[0]!
          value.dispose()
          return { v, grads }
        }
        const onTrain = lossAndGrads(base, archVars, 1, tau)
        const onValid = swapped(vars, yVars, () =>
          lossAndGrads(arch, archVars, 6, tau, { scale: t.rartsLambda }),
        )
        const lt = onTrain.value.dataSync()[0]!
        const v = Number.isFinite(lt) ? onValid.value.dataSync()[0]! / t.rartsLambda : lt
        tf.dispose([onTrain.value, onValid.value])
        const grads: tf.NamedTensorMap = {}
        for (const a of archVars) {
          const g1 = onTrain.grads[a.name]
          const g2 = onValid.grads[a.name]
          if (g1 !== undefined && g2 !== undefined) grads[a.name] = tf.add(g1, g2)
          else if (g1 !== undefined || g2 !== undefined) grads[a.name] = tf.clone((g1 ?? g2)!)
        }
        tf.dispose([...Object.values(onTrain.grads), ...Object.values(onValid.grads)])
        return { v, grads }
      }
      const archStep = (): number => {
        const { v, grads } = archLossAndGrads()
        if (Number.isFinite(v) && t.method === 'darts' && t.order === 2) {
          const direct = grads[net.alphas.name]
          grads[net.alphas.name] = unrolledGradient(base, arch, lr)
          direct?.dispose()
        }
        const idx = archVars.flatMap((a, i) => (grads[a.name] === undefined ? [] : [i]))
        if (idx.length > 0 && Number.isFinite(v)) {
          adamT++
          applyUpdate(
            adam,
            idx.map((i) => archVars[i]!),
            idx.map((i) => grads[archVars[i]!.name]!),
            { m: idx.map((i) => adamM[i]!), v: idx.map((i) => adamV[i]!) },
            t.archLr,
            adamT,
          )
        }
        tf.dispose(Object.values(grads))
        return v
      }
      /**
       * DARTS's second-order architecture gradient (Liu et al. 2019, eq. 7-8): the validation loss
       * at the weights after one virtual SGD step on the training batch, w' = w - xi (momentum +
       * dL_train/dw + wd w), differentiated in alpha, minus xi times the mixed second derivative,
       * by the finite difference (dL_train/dalpha (w+) - dL_train/dalpha (w-)) / (2 eps) with
       * w+- = w +- eps dL_val/dw' and eps = 0.01 / |dL_val/dw'|. The weights are put back.
       */
      const unrolledGradient = (trainBatch: Batch, validBatch: Batch, xi: number): tf.Tensor => {
        const saved = vars.map((w) => tf.keep(tf.clone(w)))
        const assign = (f: (w: tf.Tensor, i: number) => tf.Tensor) =>
          tf.tidy(() => vars.forEach((w, i) => w.assign(f(saved[i]!, i))))
        try {
          const gt = lossAndGrads(trainBatch, vars, 3, tau)
          gt.value.dispose()
          assign((w, i) => {
            const d = gt.grads[vars[i]!.name]
            const dtheta = tf.add(d ?? tf.zerosLike(w), tf.mul(w, t.weightDecay))
            return tf.sub(w, tf.mul(tf.add(tf.mul(momentum[i]!, t.momentum), dtheta), xi))
          })
          tf.dispose(Object.values(gt.grads))
          const gv = lossAndGrads(validBatch, [...vars, net.alphas], 4, tau)
          gv.value.dispose()
          const dw = vars.map((w) => gv.grads[w.name] ?? tf.zerosLike(w))
          const direct = gv.grads[net.alphas.name]!
          const norm = Math.sqrt(
            tf.tidy(() => dw.reduce((acc, d) => acc + tf.sum(tf.square(d)).dataSync()[0]!, 0)),
          )
          const eps = 0.01 / Math.max(norm, 1e-12)
          const alphaGradAt = (sign: number) => {
            assign((w, i) => tf.add(w, tf.mul(dw[i]!, sign * eps)))
            const r = lossAndGrads(trainBatch, [net.alphas], 5, tau)
            r.value.dispose()
            return r.grads[net.alphas.name]!
          }
          const plus = alphaGradAt(1)
          const minus = alphaGradAt(-1)
          const out = tf.tidy(() => tf.sub(direct, tf.mul(tf.div(tf.sub(plus, minus), 2 * eps), xi)))
          tf.dispose([...dw, direct, plus, minus, ...Object.values(gv.grads)])
          return out
        } finally {
          assign((w) => w)
          tf.dispose(saved)
        }
      }
      /**
       * RARTS's proximity term beta/2 |a - b|^2 added to the gradients of `of` (which hold a):
       * beta (a - b).
       */
      const addProximity = (
        grads: tf.NamedTensorMap,
        of: readonly tf.Variable[],
        other: readonly tf.Tensor[],
      ) => {
        if (t.rartsBeta === 0) return
        of.forEach((w, i) => {
          const g = grads[w.name]
          const pull = tf.tidy(() => tf.mul(tf.sub(w, other[i]!), t.rartsBeta))
          grads[w.name] = g === undefined ? pull : tf.add(g, pull)
          if (g !== undefined) {
            g.dispose()
            pull.dispose()
          }
        })
      }
      const weightStep = (): number => {
        const { value, grads } = lossAndGrads(base, vars, 2, tau, { distill: t.teachers > 0 })
        const v = value.dataSync()[0]!
        value.dispose()
        if (t.method === 'rarts') addProximity(grads, vars, yVars)
        if (Number.isFinite(v)) clippedSgdStep(sgd, vars, grads, momentum, lr, step + 1, t.gradClip)
        tf.dispose(Object.values(grads))
        return v
      }
      /**
       * RARTS's step of the validation network y: lambda L_valid(y, alpha) + beta/2 |y - w|^2 on
       * the validation batch, by the same SGD as the weights (its own momentum), at the new w.
       */
      const yStep = (): number => {
        const w = vars.map((v) => tf.keep(tf.clone(v)))
        try {
          return swapped(vars, yVars, () => {
            const { value, grads } = lossAndGrads(arch, vars, 7, tau, { scale: t.rartsLambda })
            const v = value.dataSync()[0]! / t.rartsLambda
            value.dispose()
            addProximity(grads, vars, w)
            if (Number.isFinite(v)) clippedSgdStep(sgd, vars, grads, yMomentum, lr, step + 1, t.gradClip)
            tf.dispose(Object.values(grads))
            tf.tidy(() => yVars.forEach((y, i) => y.assign(vars[i]!)))
            return v
          })
        } finally {
          tf.dispose(w)
        }
      }
      let archLoss = Number.NaN
      let loss: number
      const archNow = e >= t.archWarmupEpochs
      if (t.method === 'darts') {
        if (archNow) archLoss = archStep()
        loss = weightStep()
      } else if (t.method === 'rarts') {
        // Gauss-Seidel: w, then y at the new w, then alpha at the new w and y
        loss = weightStep()
        const yLoss = yStep()
        if (!Number.isFinite(yLoss)) loss = yLoss
        else if (archNow) archLoss = archStep()
      } else {
        loss = weightStep()
        if (archNow) archLoss = archStep()
      }
      if (!Number.isFinite(loss) || (archNow && !Number.isFinite(archLoss))) {
        status = 'failed'
        reason = `the loss is ${Number.isFinite(loss) ? archLoss : loss} at step ${step}; try a lower learning rate than ${t.lr}`
        break
      }
      step++
      images += base.n + arch.n
      if (t.teachers > 0 && step % teacherEvery === 0 && step < totalSteps) {
        teachers.push(snapshotOf.map((v) => tf.keep(tf.clone(v))))
        while (teachers.length > t.teachers) tf.dispose(teachers.shift())
      }
      const seconds = (performance.now() - t0) / 1000
      options.onProgress?.({
        step,
        totalSteps,
        epoch: step / stepsPerEpoch,
        epochs: t.epochs,
        loss,
        archLoss,
        lr,
        ...(t.method === 'gdas' ? { tau } : {}),
        imagesPerSecond: images / seconds,
        etaSeconds: ((totalSteps - step) * seconds) / Math.max(1, step - (resume?.step ?? 0)),
      })
      if (step % stepsPerEpoch === 0) {
        history.push(net.opWeights())
        await checkpoint()
        lastCheckpoint = step
      }
      if (step % 4 === 0) await new Promise((r) => setTimeout(r, 0)) // let signals and timers run
    }
    if (lastCheckpoint !== step && status !== 'failed') await checkpoint()
  } finally {
    tf.dispose([...momentum, ...adamM, ...adamV, ...yVars, ...yMomentum, ...teachers.flat()])
  }
  return {
    status,
    ...(reason === undefined ? {} : { reason }),
    arch: net.derive(),
    steps: step,
    totalSteps,
    seconds: (performance.now() - t0) / 1000,
    history,
  }
}

/**
 * One SGD step of the variables that have a gradient, the gradients scaled together so that their
 * global norm is at most `clip` (PyTorch's `clip_grad_norm_`). @internal
 */
export function clippedSgdStep(
  sgd: ReturnType<typeof parseTrainConfig>,
  vars: readonly tf.Variable[],
  grads: tf.NamedTensorMap,
  momentum: readonly tf.Variable[],
  lr: number,
  step: number,
  clip: number,
): void {
  tf.tidy(() => {
    const idx = vars.flatMap((w, i) => (grads[w.name] === undefined ? [] : [i]))
    const gs = idx.map((i) => grads[vars[i]!.name]!)
    const norm = Math.sqrt(gs.reduce((s, g) => s + tf.sum(tf.square(g)).dataSync()[0]!, 0))
    const scale = norm > clip ? clip / (norm + 1e-6) : 1
    applyUpdate(
      sgd,
      idx.map((i) => vars[i]!),
      scale === 1 ? gs : gs.map((g) => tf.mul(g, scale)),
      { m: idx.map((i) => momentum[i]!), v: [] },
      lr,
      step,
    )
  })
}

function checkResume(state: OneShotState, net: OneShotSupernet<unknown>, t: OneShotShape): void {
  if (state.format !== 'nasjs-oneshot' || state.version !== 1)
    throw resumeError('it is not a one-shot checkpoint', state.format)
  net.checkCheckpointShape(state.supernet)
  // (parsed again, so a checkpoint from before a field existed compares with its default)
  const saved = OneShotConfig.safeParse(state.search)
  if (!saved.success || JSON.stringify(saved.data) !== JSON.stringify(t))
    throw resumeError('it was made with another search config', state.search)
  if (state.momentum.length !== net.weights.length)
    throw resumeError('its optimizer state does not fit', state.momentum.length)
}
