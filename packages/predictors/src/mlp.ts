import { NasError, Rng } from '@nasjs/core'
import type * as TF from '@tensorflow/tfjs-core'
import { z } from 'zod'
import { activeTf, prepareTf } from './tf-backend.js'
import type {
  FeatureMatrix,
  FitOptions,
  FittedPredictor,
  PretrainData,
  Predictor,
  Prediction,
} from './types.js'
import {
  isArray,
  type Dense,
  Standardizer,
  checkTrainingSet,
  disposedError,
  targetScale,
  toDense,
  makePredictor,
  parseConfig,
} from './validate.js'

/**
 * MLP regressor config. The network is a stack of fully connected ReLU layers trained with Adam
 * (Kingma and Ba 2015) on the mean squared error of standardised targets.
 *
 * - `rankingWeight` > 0 adds a pairwise ranking loss (RankNet, Burges et al. 2005): for every pair in a
 *   minibatch whose targets differ, log(1 + exp(-(f_i - f_j))) where y_i > y_j; the total loss is
 *   `(1 - w) * mse + w * ranking`.
 * - `pretrainEpochs` > 0 with `FitOptions.pretrain` first trains the hidden layers, with a separate
 *   head, to predict free statistics (FLOPs, params) of a larger pool, then trains on the targets
 *   (FBNetV3's predictor pretraining, Dai et al. 2021).
 * @since 0.1.0
 * @category models
 */
export const MlpConfig = z
  .object({
    kind: z.literal('mlp'),
    hiddenLayers: z.array(z.number().int().min(1)).min(1).default([32, 32]),
    epochs: z.number().int().min(1).default(200),
    /** Minibatch size; `'auto'` uses n / 8 clamped to [32, 256] (8 Adam steps per epoch on large sets). */
    batchSize: z.union([z.number().int().min(1), z.literal('auto')]).default('auto'),
    learningRate: z.number().positive().default(0.01),
    weightDecay: z.number().min(0).default(1e-4),
    rankingWeight: z.number().min(0).max(1).default(0),
    pretrainEpochs: z.number().int().min(0).default(0),
    seed: z.number().int().default(0),
  })
  .strict()
/** The parsed {@link MlpConfig} (defaults filled in). @since 0.1.0 */
export type MlpConfig = z.infer<typeof MlpConfig>

/**
 * An ensemble of independently initialised MLPs; the standard deviation is their disagreement, as in
 * BANANAS (White, Neiswanger and Savani 2021), which uses five members.
 * @since 0.1.0
 * @category models
 */
export const MlpEnsembleConfig = z
  .object({
    kind: z.literal('mlp-ensemble'),
    members: z.number().int().min(2).default(5),
    mlp: MlpConfig.omit({ kind: true, seed: true }).prefault({}),
    seed: z.number().int().default(0),
  })
  .strict()
/** The parsed {@link MlpEnsembleConfig} (defaults filled in). @since 0.1.0 */
export type MlpEnsembleConfig = z.infer<typeof MlpEnsembleConfig>

/** Where each dense layer's weights and bias sit in a member's flat parameter vector. */
interface LayerSlot {
  readonly wOff: number
  readonly fanIn: number
  readonly fanOut: number
  readonly bOff: number
}

/**
 * The parameters of all members live in one `[members, size]` variable and every op is batched over
 * the members (`matMul` of rank-3 tensors), so an ensemble of five trains with the same number of
 * TF.js ops as one network and Adam updates everything with a handful of ops per step. On the
 * op-bound small shapes here that is what makes the ensemble affordable inside a search loop.
 */
interface Layout {
  readonly slots: readonly LayerSlot[]
  readonly size: number
}

function layoutOf(widths: readonly number[]): Layout {
  const slots: LayerSlot[] = []
  let off = 0
  for (let k = 0; k + 1 < widths.length; k++) {
    const fanIn = widths[k]!
    const fanOut = widths[k + 1]!
    slots.push({ wOff: off, fanIn, fanOut, bOff: off + fanIn * fanOut })
    off += fanIn * fanOut + fanOut
  }
  return { slots, size: off }
}

/** He-normal weights and zero biases of `members` networks, row-major `[members, size]`. */
function initParams(layout: Layout, members: number, rng: Rng): Float32Array {
  const out = new Float32Array(members * layout.size)
  for (let m = 0; m < members; m++) {
    const base = m * layout.size
    for (const s of layout.slots) {
      const sd = Math.sqrt(2 / s.fanIn)
      for (let i = 0; i < s.fanIn * s.fanOut; i++) out[base + s.wOff + i] = rng.normal(0, sd)
    }
  }
  return out
}

/** A variable holding `init`; the initial tensor is released (the variable keeps its data). */
function variableFrom(tf: typeof TF, init: TF.Tensor): TF.Variable {
  const v = tf.variable(init)
  init.dispose()
  return v
}

function unpackParams(
  tf: typeof TF,
  theta: TF.Tensor2D,
  layout: Layout,
): { w: TF.Tensor3D; b: TF.Tensor3D }[] {
  const M = theta.shape[0]
  return layout.slots.map((s) => ({
    w: tf.reshape(tf.slice(theta, [0, s.wOff], [M, s.fanIn * s.fanOut]), [M, s.fanIn, s.fanOut]),
    b: tf.reshape(tf.slice(theta, [0, s.bOff], [M, s.fanOut]), [M, 1, s.fanOut]),
  }))
}

/** Outputs `[members, rows, outputs]` for inputs `[members or 1, rows, features]`. */
function forward(tf: typeof TF, theta: TF.Tensor2D, layout: Layout, x: TF.Tensor3D): TF.Tensor3D {
  const ps = unpackParams(tf, theta, layout)
  let h = x.shape[0] === theta.shape[0] ? x : tf.tile(x, [theta.shape[0], 1, 1])
  ps.forEach((p, k) => {
    const z: TF.Tensor3D = tf.add(tf.matMul(h, p.w), p.b)
    h = k + 1 < ps.length ? tf.relu(z) : z
  })
  return h
}

function toTensor(tf: typeof TF, X: Dense): TF.Tensor2D {
  return tf.tensor2d(Float32Array.from(X.data), [X.rows, X.cols])
}

type TrainConfig = {
  epochs: number
  batchSize: number | 'auto'
  learningRate: number
  weightDecay: number
  rankingWeight: number
}

/**
 * Trains the `[members, size]` parameters `theta` (laid out as `layout`) on (X, Y) with Adam; Y has
 * one column per output. Each member draws its own minibatches. The gradients are written out by
 * hand (backpropagation through dense ReLU layers), so only forward tfjs-core ops are needed: this
 * works on every backend without registering TF.js's gradient table (which the Node build of
 * tfjs-core does not do). Leaves no tensors behind.
 */
function train(
  tf: typeof TF,
  theta: TF.Variable,
  layout: Layout,
  X: Dense,
  Y: Float32Array,
  cfg: TrainConfig,
  rng: Rng,
): void {
  const n = X.rows
  const M = theta.shape[0]
  const outputs = layout.slots[layout.slots.length - 1]!.fanOut
  const xs = toTensor(tf, X)
  const ys = tf.tensor2d(Y, [n, outputs])
  const m1 = variableFrom(tf, tf.zerosLike(theta))
  const m2 = variableFrom(tf, tf.zerosLike(theta))
  // weight decay applies to weights, not biases
  const decayMask = new Float32Array(layout.size)
  for (const s of layout.slots) decayMask.fill(2 * cfg.weightDecay, s.wOff, s.wOff + s.fanIn * s.fanOut)
  const decay = tf.tensor2d(decayMask, [1, layout.size])
  const beta1 = 0.9
  const beta2 = 0.999
  const eps = 1e-8
  const order = Array.from({ length: n }, (_, i) => i)
  const bs = Math.min(
    cfg.batchSize === 'auto' ? Math.min(256, Math.max(32, Math.ceil(n / 8))) : cfg.batchSize,
    n,
  )
  const rankW = outputs === 1 ? cfg.rankingWeight : 0
  let step = 0
  try {
    for (let e = 0; e < cfg.epochs; e++) {
      const perms = Array.from({ length: M }, () => rng.shuffle(order))
      for (let s = 0; s + 2 <= n || (s === 0 && n >= 1); s += bs) {
        const b = Math.min(bs, n - s)
        if (b < 2 && n >= 2) break
        step++
        const lr = (cfg.learningRate * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step)
        const idxData = new Int32Array(M * b)
        for (let m = 0; m < M; m++) for (let i = 0; i < b; i++) idxData[m * b + i] = perms[m]![s + i]!
        tf.tidy(() => {
          const idx = tf.tensor2d(idxData, [M, b], 'int32')
          const xb = tf.gather(xs, idx) as unknown as TF.Tensor3D // [M, b, d]
          const yb = tf.gather(ys, idx) as unknown as TF.Tensor3D // [M, b, outputs]
          const ps = unpackParams(tf, theta as TF.Tensor2D, layout)
          // forward, keeping every layer's input
          const inputs: TF.Tensor3D[] = [xb]
          let h: TF.Tensor3D = xb
          for (let k = 0; k + 1 < ps.length; k++) {
            h = tf.relu(tf.add(tf.matMul(h, ps[k]!.w), ps[k]!.b))
            inputs.push(h)
          }
          const last = ps[ps.length - 1]!
          const p: TF.Tensor3D = tf.add(tf.matMul(h, last.w), last.b)
          // d loss / d p (each member's loss is a mean over its own minibatch)
          let g: TF.Tensor3D = tf.mul(tf.sub(p, yb), 2 / (b * outputs))
          if (rankW > 0) {
            g = tf.mul(g, 1 - rankW)
            const dp = tf.sub(p, tf.transpose(p, [0, 2, 1])) // [M, b, b]: p_i - p_j
            const mask = tf.cast(tf.greater(tf.sub(yb, tf.transpose(yb, [0, 2, 1])), 0), 'float32') // y_i > y_j
            const pairs = tf.maximum(tf.sum(mask, [1, 2], true), 1) // [M, 1, 1]
            const S = tf.mul(mask, tf.sigmoid(tf.neg(dp))) // d softplus(-(p_i - p_j)) / d p_i = -S_ij
            const gr = tf.div(tf.sub(tf.sum(S, 1), tf.sum(S, 2)), tf.reshape(pairs, [M, 1])) // [M, b]
            g = tf.add(g, tf.mul(tf.reshape(gr, [M, b, 1]), rankW))
          }
          // backward: gradients of every layer, flattened in layout order
          const grads: TF.Tensor2D[] = []
          for (let k = ps.length - 1; k >= 0; k--) {
            const input = inputs[k]!
            const gw = tf.matMul(input, g, true, false) // [M, fanIn, fanOut]
            const gb = tf.sum(g, 1) // [M, fanOut]
            if (k > 0) g = tf.mul(tf.matMul(g, ps[k]!.w, false, true), tf.step(input))
            grads.unshift(tf.reshape(gw, [M, -1]), gb as TF.Tensor2D)
          }
          const grad = tf.add(tf.concat(grads, 1), tf.mul(decay, theta))
          const m = tf.add(tf.mul(m1, beta1), tf.mul(grad, 1 - beta1))
          const v = tf.add(tf.mul(m2, beta2), tf.mul(tf.square(grad), 1 - beta2))
          m1.assign(m)
          m2.assign(v)
          theta.assign(tf.sub(theta, tf.mul(tf.div(m, tf.add(tf.sqrt(v), eps)), lr)))
        })
      }
    }
  } finally {
    for (const t of [m1, m2, decay, xs, ys]) t.dispose()
  }
}

/** A fitted stack of `members` MLPs sharing one parameter variable. */
class FittedMlps implements FittedPredictor {
  private disposed = false
  constructor(
    readonly name: string,
    private readonly tf: typeof TF,
    readonly nFeatures: number,
    private readonly scaler: Standardizer,
    private readonly theta: TF.Variable,
    private readonly layout: Layout,
    private readonly yMean: number,
    private readonly yStd: number,
  ) {}

  predict(Xin: FeatureMatrix): Prediction {
    if (this.disposed) throw disposedError(this.name)
    const X = this.scaler.transform(toDense(Xin, 'X', this.nFeatures))
    const n = X.rows
    const M = this.theta.shape[0]
    if (n === 0)
      return M > 1 ? { mean: new Float64Array(0), std: new Float64Array(0) } : { mean: new Float64Array(0) }
    const tf = this.tf
    const r = tf.tidy(() =>
      forward(
        tf,
        this.theta as TF.Tensor2D,
        this.layout,
        tf.reshape(toTensor(tf, X), [1, n, X.cols]),
      ).dataSync(),
    )
    const mean = new Float64Array(n)
    const std = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      let s = 0
      let s2 = 0
      for (let m = 0; m < M; m++) {
        const v = this.yMean + this.yStd * r[m * n + i]!
        s += v
        s2 += v * v
      }
      mean[i] = s / M
      std[i] = Math.sqrt(Math.max(s2 / M - mean[i]! * mean[i]!, 0))
    }
    return M > 1 ? { mean, std } : { mean }
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.theta.dispose()
  }
}

function checkPretrain(p: PretrainData, cols: number): { X: Dense; T: Float32Array; k: number } {
  const X = toDense(p.X, 'pretrain.X', cols)
  const targets: readonly (readonly number[])[] = isArray(p.targets) ? p.targets : []
  if (!isArray(p.targets) || targets.length !== X.rows) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `pretrain.X has ${X.rows} rows but pretrain.targets has ${isArray(p.targets) ? targets.length : 'no'} rows; they must match`,
      value: isArray(p.targets) ? targets.length : p.targets,
      allowed: [X.rows],
    })
  }
  const k = targets[0]?.length ?? 0
  const T = new Float32Array(X.rows * k)
  for (let i = 0; i < X.rows; i++) {
    const row = targets[i]!
    if (!isArray(row) || row.length !== k || k === 0) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `pretrain.targets[${i}] has ${row.length} statistics; every row needs the same number (>= 1)`,
        value: row.length,
        allowed: [k],
        path: ['pretrain', 'targets', i],
      })
    }
    for (let j = 0; j < k; j++) {
      const v = row[j]!
      if (!Number.isFinite(v)) {
        throw new NasError({
          code: 'INPUT_INVALID',
          message: `pretrain.targets[${i}][${j}] is ${v}; statistics must be finite numbers`,
          value: v,
          path: ['pretrain', 'targets', i, j],
        })
      }
      T[i * k + j] = v
    }
  }
  // Standardise each statistic (log first: FLOPs and params span orders of magnitude when positive).
  for (let j = 0; j < k; j++) {
    let positive = true
    for (let i = 0; i < X.rows; i++) if (!(T[i * k + j]! > 0)) positive = false
    if (positive) for (let i = 0; i < X.rows; i++) T[i * k + j] = Math.log(T[i * k + j]!)
    let m = 0
    for (let i = 0; i < X.rows; i++) m += T[i * k + j]!
    m /= X.rows
    let s = 0
    for (let i = 0; i < X.rows; i++) s += (T[i * k + j]! - m) ** 2
    const sd = Math.sqrt(s / X.rows) || 1
    for (let i = 0; i < X.rows; i++) T[i * k + j] = (T[i * k + j]! - m) / sd
  }
  return { X, T, k }
}

/** Fits `members` MLPs at once (shared by `mlp` and `mlp-ensemble`); needs an active TF.js backend. */
function fitMlps(
  name: string,
  cfg: Omit<MlpConfig, 'kind' | 'seed'>,
  members: number,
  raw: Dense,
  y: Float64Array,
  rng: Rng,
  pretrain: PretrainData | undefined,
): FittedMlps {
  const tf = activeTf()
  const scaler = new Standardizer(raw)
  const X = scaler.transform(raw)
  const ts = targetScale(y)
  const Y = Float32Array.from(y, (v) => (v - ts.mean) / ts.std)
  const pre = pretrain && cfg.pretrainEpochs > 0 ? checkPretrain(pretrain, raw.cols) : undefined
  const layout = layoutOf([X.cols, ...cfg.hiddenLayers, 1])
  const init = initParams(layout, members, rng)
  if (pre) {
    // Train the hidden layers with a head for the k statistics, then keep the hidden layers.
    const preLayout = layoutOf([X.cols, ...cfg.hiddenLayers, pre.k])
    const preTheta = variableFrom(
      tf,
      tf.tensor2d(initParams(preLayout, members, rng), [members, preLayout.size]),
    )
    try {
      train(
        tf,
        preTheta,
        preLayout,
        scaler.transform(pre.X),
        pre.T,
        { ...cfg, epochs: cfg.pretrainEpochs, rankingWeight: 0 },
        rng,
      )
      const trunkLen = preLayout.slots[preLayout.slots.length - 1]!.wOff
      const trained = preTheta.dataSync() as Float32Array
      for (let m = 0; m < members; m++) {
        init.set(trained.subarray(m * preLayout.size, m * preLayout.size + trunkLen), m * layout.size)
      }
    } finally {
      preTheta.dispose()
    }
  }
  const theta = variableFrom(tf, tf.tensor2d(init, [members, layout.size]))
  try {
    train(tf, theta, layout, X, Y, cfg, rng)
  } catch (e) {
    theta.dispose()
    throw e
  }
  return new FittedMlps(name, tf, raw.cols, scaler, theta, layout, ts.mean, ts.std)
}

/**
 * A multilayer perceptron on TF.js (tfjs-core ops and Adam; no tfjs-layers), predicting a mean only.
 * Call `dispose()` on the fitted model to free its weights.
 *
 * @example
 * ```ts
 * const fitted = await mlp({ epochs: 100, rankingWeight: 0.5 }).fit(X, y)
 * fitted.predict(Xtest).mean
 * fitted.dispose()
 * ```
 * @since 0.1.0
 * @category models
 */
export function mlp(config: Omit<z.input<typeof MlpConfig>, 'kind'> = {}): Predictor {
  const cfg = parseConfig(MlpConfig, { ...config, kind: 'mlp' })
  return makePredictor(
    'mlp',
    { pretraining: true, uncertainty: false },
    (Xin, yin, options?: FitOptions) => {
      const { X, y } = checkTrainingSet(Xin, yin, 'mlp')
      return fitMlps('mlp', cfg, 1, X, y, options?.rng ?? new Rng(cfg.seed), options?.pretrain)
    },
    prepareTf,
  )
}

/**
 * An ensemble of MLPs (BANANAS' meta neural network): mean and spread of the members. The members
 * differ in their initial weights and minibatch order, and train together in batched ops.
 *
 * @example
 * ```ts
 * const fitted = await mlpEnsemble({ members: 5 }).fit(X, y)
 * const { mean, std } = fitted.predict(Xtest)
 * fitted.dispose()
 * ```
 * @since 0.1.0
 * @category models
 */
export function mlpEnsemble(config: Omit<z.input<typeof MlpEnsembleConfig>, 'kind'> = {}): Predictor {
  const cfg = parseConfig(MlpEnsembleConfig, { ...config, kind: 'mlp-ensemble' })
  return makePredictor(
    'mlp-ensemble',
    { pretraining: true, uncertainty: true },
    (Xin, yin, options?: FitOptions) => {
      const { X, y } = checkTrainingSet(Xin, yin, 'mlp-ensemble')
      return fitMlps(
        'mlp-ensemble',
        cfg.mlp,
        cfg.members,
        X,
        y,
        options?.rng ?? new Rng(cfg.seed),
        options?.pretrain,
      )
    },
    prepareTf,
  )
}
