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
  CellSupernet,
  CellSupernetConfig,
  type CellSupernetShape,
  type EdgeMixing,
} from './cell-supernet.js'

/**
 * The one-shot methods of {@link searchCell}.
 * @since 0.2.0
 */
export const ONESHOT_METHODS = ['darts', 'gdas', 'proxyless'] as const

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
  readonly supernet: CellSupernetShape
  readonly search: OneShotShape
  readonly step: number
  readonly seconds: number
  /** Network and architecture weights. */
  readonly weights: readonly NamedArray[]
  /** SGD momentum of the network weights, in `CellSupernet.weights` order. */
  readonly momentum: readonly Float32Array[]
  /** Adam's first and second moments of the architecture weights, and its step count. */
  readonly adam: { readonly m: Float32Array; readonly v: Float32Array; readonly t: number }
  /** softmax(alpha) at the end of every epoch so far (epochs x 6 edges x 5 operations). */
  readonly history: readonly (readonly (readonly number[])[])[]
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
export interface OneShotResult {
  readonly status: 'complete' | 'aborted' | 'budget' | 'failed'
  readonly reason?: string
  /** The derived cell: the largest architecture weight of every edge. */
  readonly arch: Nb201Arch
  readonly steps: number
  readonly totalSteps: number
  readonly seconds: number
  readonly history: readonly (readonly (readonly number[])[])[]
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

function checkData(net: CellSupernet, data: Dataset, which: string): void {
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
export async function searchCell(
  net: CellSupernet,
  train: Dataset,
  valid: Dataset,
  config: OneShotConfig = {},
  options: SearchCellOptions = {},
): Promise<OneShotResult> {
  const t = parseConfig(OneShotConfig, config, 'one-shot search option')
  checkData(net, train, 'training')
  checkData(net, valid, 'validation')
  if (t.order === 2 && (t.method !== 'darts' || net.betas !== undefined)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `order 2 (the unrolled gradient) is DARTS's, without edge normalisation; this search is ${t.method}${net.betas === undefined ? '' : ' with edge normalisation'}`,
      value: t.order,
      allowed: [1],
      path: ['order'],
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
      supernet: net.config,
      search: t,
      step,
      seconds: secondsBefore + (performance.now() - t0) / 1000,
      weights: net.state(),
      momentum: momentum.map((m) => new Float32Array(m.dataSync())),
      adam: { m: flat(adamM), v: flat(adamV), t: adamT },
      history,
    })
  }
  const toTensors = (b: Batch) =>
    tf.tidy(() => ({
      x: tf.tensor4d(b.xs, [b.n, ...net.config.inputShape]),
      y: tf.tensor1d(b.ys, 'float32'),
    }))
  /**
   * Loss of a batch and the gradients of `of`, each edge mixed as DARTS does, or (GDAS) by a
   * Gumbel sample drawn inside the differentiated function from stream (seed + which, step).
   */
  const lossAndGrads = (b: Batch, of: tf.Variable[], which: number, tau: number) => {
    const { x, y } = toTensors(b)
    try {
      return tf.variableGrads(() => {
        let mixing: EdgeMixing = { kind: 'softmax' }
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
            ? { kind: 'arch', arch: g.index.map((k) => CELL_OPS[k]!) as unknown as Nb201Arch }
            : { kind: 'weights', weights: g.weights, all: true }
          if (!training && t.latency !== undefined && t.latencyWeight > 0) {
            penalty = tf.mul<tf.Scalar>(
              tf.sum(tf.mul(tf.softmax(net.alphas), tf.tensor2d(t.latency))),
              t.latencyWeight,
            )
          }
        }
        const ce = crossEntropy(net.forward(x, mixing), y, net.config.classes)
        return penalty === undefined ? ce : tf.add<tf.Scalar>(ce, penalty)
      }, of)
    } finally {
      tf.dispose([x, y])
    }
  }
  let status: OneShotResult['status'] = 'complete'
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
      const lr = t.minLr + 0.5 * (t.lr - t.minLr) * (1 + Math.cos((Math.PI * step) / totalSteps))
      const tau = gdasTau(t, e)
      const archStep = (): number => {
        const { value, grads } = lossAndGrads(arch, archVars, 1, tau)
        const v = value.dataSync()[0]!
        value.dispose()
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
      const weightStep = (): number => {
        const { value, grads } = lossAndGrads(base, vars, 2, tau)
        const v = value.dataSync()[0]!
        value.dispose()
        if (Number.isFinite(v)) clippedSgdStep(sgd, vars, grads, momentum, lr, step + 1, t.gradClip)
        tf.dispose(Object.values(grads))
        return v
      }
      let archLoss = Number.NaN
      let loss: number
      const archNow = e >= t.archWarmupEpochs
      if (t.method === 'darts') {
        if (archNow) archLoss = archStep()
        loss = weightStep()
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
    tf.dispose([...momentum, ...adamM, ...adamV])
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

function checkResume(state: OneShotState, net: CellSupernet, t: OneShotShape): void {
  const bad = (why: string, value: unknown) =>
    new NasError({
      code: 'CONFIG_INVALID',
      message: `cannot resume this one-shot search from the checkpoint: ${why}`,
      value,
    })
  if (state.format !== 'nasjs-oneshot' || state.version !== 1)
    throw bad('it is not a one-shot checkpoint', state.format)
  const shape = CellSupernetConfig.safeParse(state.supernet)
  if (!shape.success || JSON.stringify(shape.data) !== JSON.stringify(net.config))
    throw bad('it was made with another supernet config', state.supernet)
  // (parsed again, so a checkpoint from before a field existed compares with its default)
  const saved = OneShotConfig.safeParse(state.search)
  if (!saved.success || JSON.stringify(saved.data) !== JSON.stringify(t))
    throw bad('it was made with another search config', state.search)
  if (state.momentum.length !== net.weights.length)
    throw bad('its optimizer state does not fit', state.momentum.length)
}
