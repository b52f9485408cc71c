import { NasError, Rng } from '@nasjs/core'
import { buildModel } from '@nasjs/models'
import type {
  FeatureMatrix,
  FitOptions,
  FittedPredictor,
  Predictor,
  PredictorDefinition,
  Prediction,
} from '@nasjs/predictors'
import type { SearchSpace } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { checkBatch, kernelGradients, passSplits } from './common.js'
import { reinitialize } from './init.js'
import { synflowPerLayerSync } from './proxies.js'
import type { ProxyBatch } from './types.js'

/** The proxies whose per-layer statistics ParZC reads, in feature order. */
export const PARZC_PROXIES = ['grad_norm', 'snip', 'synflow'] as const

/**
 * Per-layer zero-cost statistics of a network, ParZC's input (Dong et al. 2024, "ParZC: Parametric
 * Zero-Cost Proxies for Efficient NAS"): for every convolution and dense kernel in graph order, the
 * L2 norm of its loss gradient (`grad_norm`), the mean of |w * dL/dw| (`snip`) and the mean of
 * SynFlow's |w * dR/dw| (`synflow`).
 * @since 0.1.0
 * @category parzc
 */
export interface LayerwiseStats {
  readonly grad_norm: readonly number[]
  readonly snip: readonly number[]
  readonly synflow: readonly number[]
  /** The whole-network scores from the same passes: sum of grad norms, sum of |w g|, log SynFlow. */
  readonly totals: { readonly grad_norm: number; readonly snip: number; readonly synflow: number }
}

/**
 * Computes {@link LayerwiseStats} of `model` on a labelled batch (ParZC's reference used one fixed
 * batch of 16 images for every architecture).
 * @since 0.1.0
 * @category parzc
 */
export function layerwiseStats(model: tfl.LayersModel, batch: ProxyBatch): Promise<LayerwiseStats> {
  return new Promise((resolve) => resolve(layerwiseStatsSync(model, batch)))
}

/**
 * {@link layerwiseStats}, synchronously (for {@link parzcFeatureSource}, whose features a strategy
 * reads inside its synchronous planning).
 * @since 0.2.0
 * @category parzc
 */
export function layerwiseStatsSync(model: tfl.LayersModel, batch: ProxyBatch): LayerwiseStats {
  const b = checkBatch('parzc', model, batch, true)
  const n = new Map<string, number>()
  const gradNorm: number[] = []
  const snip: number[] = []
  // the gradient of the batch's mean loss, from its splits (each weighted by its share)
  let sum: { weight: tf.Variable; grad: tf.Tensor }[] | undefined
  for (const part of passSplits(model, b)) {
    const next = tf.tidy(() =>
      kernelGradients(model, part, 'batch').map(({ weight, grad }, i) => ({
        weight,
        grad: tf.keep(
          sum === undefined ? tf.mul(grad, part.n / b.n) : tf.add(sum[i]!.grad, tf.mul(grad, part.n / b.n)),
        ),
      })),
    )
    sum?.forEach((s) => s.grad.dispose())
    sum = next
  }
  for (const { weight, grad } of sum!) {
    n.set(weight.name, weight.size)
    gradNorm.push(tf.tidy(() => tf.norm(grad).dataSync()[0]!))
    snip.push(tf.tidy(() => tf.mean(tf.abs(tf.mul(weight, grad))).dataSync()[0]!))
    grad.dispose()
  }
  const sizes = sum!.map((s) => s.weight.size)
  const flow = synflowPerLayerSync(model)
  const synflow = flow.perLayer.map((v, i) => v / sizes[i]!)
  const rawFlow = flow.perLayer.reduce((t, v) => t + v, 0)
  return {
    grad_norm: gradNorm,
    snip,
    synflow,
    totals: {
      grad_norm: gradNorm.reduce((t, v) => t + v, 0),
      snip: snip.reduce((t, v, i) => t + v * sizes[i]!, 0),
      synflow: rawFlow > 0 ? Math.log(rawFlow) - flow.logScale : Number.NaN,
    },
  }
}

/**
 * ParZC's feature vector of one architecture: each proxy's per-layer statistics min-max scaled
 * within the architecture, zero-padded (or cut) to `layers` entries, NaN as 0, the proxies one after
 * another ({@link PARZC_PROXIES} order). The reference pads NB201 to 98 layers (stem, 90 cell
 * convolutions, 6 in the reduction blocks, the head).
 * @since 0.1.0
 * @category parzc
 */
export function parzcFeatures(stats: LayerwiseStats, layers = 98): number[] {
  const out: number[] = []
  for (const p of PARZC_PROXIES) {
    const v = stats[p].map((x) => (Number.isFinite(x) ? x : Number.NaN))
    const finite = v.filter(Number.isFinite)
    const lo = Math.min(...finite)
    const hi = Math.max(...finite)
    for (let i = 0; i < layers; i++) {
      const x = v[i]
      out.push(x === undefined || !Number.isFinite(x) ? 0 : hi > lo ? (x - lo) / (hi - lo) : 0)
    }
  }
  return out
}

/**
 * Config of {@link parzc}. The defaults are the reference's training recipe (Adam, learning rate
 * 1e-4, weight decay 1e-3, cosine schedule, batches of 10, 300 epochs, DiffKendall with alpha 0.5) on
 * a narrower mixer than its 512 wide, 4 blocks, for two CPU cores.
 * @since 0.1.0
 */
export const ParzcConfig = z
  .object({
    kind: z.literal('parzc').default('parzc'),
    projected: z
      .number()
      .int()
      .min(4)
      .default(256)
      .describe('width of the first projection (patches x patch size)'),
    patches: z.number().int().min(1).default(16).describe('patches the projection is cut into'),
    hidden: z.number().int().min(4).default(128).describe('mixer width (the reference: 512)'),
    blocks: z.number().int().min(1).default(2).describe('mixer blocks (the reference: 4)'),
    epochs: z.number().int().min(1).default(300),
    batchSize: z.number().int().min(2).default(10),
    learningRate: z.number().positive().default(1e-4),
    weightDecay: z.number().min(0).default(1e-3),
    alpha: z.number().positive().default(0.5).describe('sharpness of the smooth sign in DiffKendall'),
    samples: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe('weight samples averaged at prediction (Bayesian layers)'),
    seed: z.number().int().default(0),
  })
  .strict()
  .refine((c) => c.projected % c.patches === 0, {
    message: 'projected must be a multiple of patches',
    path: ['projected'],
  })
/** @since 0.1.0 */
export type ParzcConfig = z.infer<typeof ParzcConfig>

const gelu = (x: tf.Tensor) =>
  tf.mul(
    tf.mul(x, 0.5),
    tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))),
  )

/** DiffKendall (ParZC): minus the mean over ordered pairs of smoothsign(prediction gap) * smoothsign(target gap), smoothsign(d) = tanh(alpha d / 2). */
export function diffKendall(pred: tf.Tensor1D, target: tf.Tensor1D, alpha: number): tf.Scalar {
  return tf.tidy(() => {
    const n = pred.shape[0]
    const dp = tf.sub(tf.expandDims(pred, 1), tf.expandDims(pred, 0))
    const dy = tf.sub(tf.expandDims(target, 1), tf.expandDims(target, 0))
    const agree = tf.mul(tf.tanh(tf.mul(dp, alpha / 2)), tf.tanh(tf.mul(dy, alpha / 2)))
    return tf.neg<tf.Scalar>(tf.div(tf.sum(agree), Math.max(1, n * (n - 1))))
  })
}

type Params = Map<string, tf.Variable>

function initParams(features: number, c: ParzcConfig, rng: Rng): Params {
  const p: Params = new Map()
  const seed = () => rng.int(2 ** 31)
  // variables outlive tf.tidy; the tensors they are made from do not
  const variable = (make: () => tf.Tensor) => tf.tidy(() => tf.variable(make()))
  const dense = (name: string, i: number, o: number) => {
    const bound = Math.sqrt(6 / (i + o))
    p.set(
      `${name}.w`,
      variable(() => tf.randomUniform([i, o], -bound, bound, 'float32', seed())),
    )
    p.set(
      `${name}.b`,
      variable(() => tf.zeros([o])),
    )
  }
  const bayes = (name: string, i: number, o: number) => {
    dense(name, i, o)
    p.set(
      `${name}.rho`,
      variable(() => tf.fill([i, o], -5)),
    )
  }
  const norm = (name: string, d: number) => {
    p.set(
      `${name}.g`,
      variable(() => tf.ones([d])),
    )
    p.set(
      `${name}.b`,
      variable(() => tf.zeros([d])),
    )
  }
  dense('proj', features, c.projected)
  bayes('embed', c.projected / c.patches, c.hidden)
  for (let k = 0; k < c.blocks; k++) {
    norm(`b${k}.n1`, c.hidden)
    dense(`b${k}.f1a`, c.hidden, 4 * c.hidden)
    dense(`b${k}.f1b`, 4 * c.hidden, c.hidden)
    norm(`b${k}.n2`, c.hidden)
    dense(`b${k}.f2a`, c.hidden, Math.max(1, c.hidden / 2))
    dense(`b${k}.f2b`, Math.max(1, c.hidden / 2), c.hidden)
  }
  norm('out.n', c.hidden)
  bayes('head', c.hidden, 1)
  return p
}

/** The mixer with Bayesian input and output layers; one weight sample per call (seed). */
function forward(p: Params, x: tf.Tensor2D, c: ParzcConfig, seed: number): tf.Tensor1D {
  const v = (k: string) => p.get(k)!
  let s = seed
  const bayesW = (name: string) =>
    tf.add(
      v(`${name}.w`),
      tf.mul(tf.softplus(v(`${name}.rho`)), tf.randomNormal(v(`${name}.w`).shape, 0, 1, 'float32', s++)),
    )
  const layerNorm = (h: tf.Tensor, name: string) => {
    const m = tf.moments(h, -1, true)
    return tf.add(
      tf.mul(tf.div(tf.sub(h, m.mean), tf.sqrt(tf.add(m.variance, 1e-5))), v(`${name}.g`)),
      v(`${name}.b`),
    )
  }
  const lin = (h: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
    const shape = h.shape
    const flat = tf.reshape(h, [-1, shape[shape.length - 1]!])
    const out = tf.add(tf.matMul(flat as tf.Tensor2D, w as tf.Tensor2D), b)
    return tf.reshape(out, [...shape.slice(0, -1), w.shape[1]!])
  }
  const n = x.shape[0]
  let h: tf.Tensor = lin(x, v('proj.w'), v('proj.b'))
  h = tf.reshape(h, [n, c.patches, c.projected / c.patches])
  h = lin(h, bayesW('embed'), v('embed.b'))
  for (let k = 0; k < c.blocks; k++) {
    h = tf.add(
      h,
      lin(
        gelu(lin(layerNorm(h, `b${k}.n1`), v(`b${k}.f1a.w`), v(`b${k}.f1a.b`))),
        v(`b${k}.f1b.w`),
        v(`b${k}.f1b.b`),
      ),
    )
    h = tf.add(
      h,
      lin(
        gelu(lin(layerNorm(h, `b${k}.n2`), v(`b${k}.f2a.w`), v(`b${k}.f2a.b`))),
        v(`b${k}.f2b.w`),
        v(`b${k}.f2b.b`),
      ),
    )
  }
  h = tf.mean(layerNorm(h, 'out.n'), 1)
  return tf.reshape<tf.Rank.R1>(lin(h, bayesW('head'), v('head.b')), [n])
}

function dense(X: FeatureMatrix, what: string, cols?: number): number[][] {
  if (!Array.isArray(X) || X.length === 0) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `${what} must be a non-empty array of feature rows`,
    })
  }
  const rows = (X as readonly ArrayLike<number>[]).map((r) => Array.from(r))
  const width = cols ?? rows[0]!.length
  rows.forEach((r, i) => {
    if (r.length !== width || r.some((v) => !Number.isFinite(v))) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `${what} row ${i}: ${r.length === width ? 'a value is not a finite number' : `${r.length} features, expected ${width}`}`,
        value: i,
      })
    }
  })
  return rows
}

/**
 * ParZC as a predictor (the scikit-learn contract of `@nasjs/predictors`: `fit(X, y)` returns a
 * fitted model whose `predict` gives mean and standard deviation): the mixer with Bayesian layers of
 * the paper (a linear projection cut into patches, a Bayesian linear embedding, residual
 * layer-normalised GELU feed-forward blocks, mean over patches, a Bayesian linear head; weights
 * w = mu + softplus(rho) * eps, eps drawn anew at every pass) trained with the DiffKendall loss on
 * {@link parzcFeatures}. The trained score ranks; it is mapped to the targets' scale by a least-squares
 * line on the training set, and `std` is the spread over `samples` weight draws.
 *
 * Not the full ParZC-with-PINAT model of the reference code (which adds the mixer's output to a graph
 * transformer over the cell); the standalone mixer the paper calls MABN.
 * @since 0.1.0
 * @category parzc
 */
export function parzc(config: z.input<typeof ParzcConfig> = {}): Predictor {
  const parsed = ParzcConfig.safeParse(config)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `ParZC config '${issue.path.join('.')}': ${issue.message}`,
      path: issue.path.map(String),
    })
  }
  const c = parsed.data
  const fitSync = (X: FeatureMatrix, y: ArrayLike<number>, options?: FitOptions): FittedPredictor => {
    const rows = dense(X, 'X')
    const targets = Array.from(y)
    if (targets.length !== rows.length || targets.length < 2 || targets.some((v) => !Number.isFinite(v))) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `ParZC needs one finite target per row and at least 2 rows, got ${targets.length} for ${rows.length}`,
      })
    }
    const cols = rows[0]!.length
    const rng = options?.rng ?? new Rng(c.seed)
    const mean = targets.reduce((a, b) => a + b, 0) / targets.length
    const sd = Math.sqrt(targets.reduce((a, b) => a + (b - mean) ** 2, 0) / targets.length) || 1
    const z = targets.map((v) => (v - mean) / sd)
    const params = initParams(cols, c, rng)
    const vars = [...params.values()]
    // (variables outlive tf.tidy; the tensors they were made from do not)
    const m = vars.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v))))
    const s2 = vars.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v))))
    const stepsPerEpoch = Math.ceil(rows.length / c.batchSize)
    const total = c.epochs * stepsPerEpoch
    let step = 0
    const order = Array.from({ length: rows.length }, (_, i) => i)
    for (let e = 0; e < c.epochs; e++) {
      const perm = rng.shuffle(order)
      for (let k = 0; k < stepsPerEpoch; k++) {
        const idx = perm.slice(k * c.batchSize, (k + 1) * c.batchSize)
        if (idx.length < 2) continue
        step++
        const lr = 0.5 * c.learningRate * (1 + Math.cos((Math.PI * (step - 1)) / total))
        const seed = rng.int(2 ** 31)
        tf.tidy(() => {
          const xb = tf.tensor2d(idx.map((i) => rows[i]!))
          const yb = tf.tensor1d(idx.map((i) => z[i]!))
          const { grads } = tf.variableGrads(
            () => diffKendall(forward(params, xb, c, seed), yb, c.alpha),
            vars,
          )
          vars.forEach((v, i) => {
            // Adam with L2 weight decay added to the gradient, as torch.optim.Adam's weight_decay
            const g = tf.add(grads[v.name]!, tf.mul(v, c.weightDecay))
            const mi = tf.add(tf.mul(m[i]!, 0.9), tf.mul(g, 0.1))
            const si = tf.add(tf.mul(s2[i]!, 0.999), tf.mul(tf.square(g), 0.001))
            const mh = tf.div(mi, 1 - 0.9 ** step)
            const sh = tf.div(si, 1 - 0.999 ** step)
            v.assign(tf.sub(v, tf.mul(tf.div(mh, tf.add(tf.sqrt(sh), 1e-8)), lr)))
            m[i]!.assign(mi)
            s2[i]!.assign(si)
          })
        })
      }
    }
    m.forEach((t) => t.dispose())
    s2.forEach((t) => t.dispose())
    let disposed = false
    const seedBase = rng.int(2 ** 31)
    const score = (R: number[][]): { mean: Float64Array; std: Float64Array } => {
      const draws = Array.from({ length: c.samples }, (_, k) =>
        tf.tidy(() => forward(params, tf.tensor2d(R), c, seedBase + 7919 * k).dataSync()),
      )
      const mu = new Float64Array(R.length)
      const sd2 = new Float64Array(R.length)
      for (let i = 0; i < R.length; i++) {
        let a = 0
        for (const d of draws) a += d[i]!
        a /= draws.length
        let q = 0
        for (const d of draws) q += (d[i]! - a) ** 2
        mu[i] = a
        sd2[i] = Math.sqrt(q / draws.length)
      }
      return { mean: mu, std: sd2 }
    }
    // a least-squares line from the score to the targets, on the training set
    const train = score(rows)
    const sm = train.mean.reduce((a, b) => a + b, 0) / rows.length
    let sxy = 0
    let sxx = 0
    train.mean.forEach((v, i) => {
      sxy += (v - sm) * (targets[i]! - mean)
      sxx += (v - sm) ** 2
    })
    const slope = sxx > 0 ? sxy / sxx : 0
    return {
      name: 'parzc',
      nFeatures: cols,
      predict(Xp: FeatureMatrix): Prediction {
        if (disposed) throw new NasError({ code: 'NOT_FITTED', message: 'this ParZC model was disposed' })
        const r = score(dense(Xp, 'X', cols))
        return {
          mean: r.mean.map((v) => mean + slope * (v - sm)),
          std: r.std.map((v) => Math.abs(slope) * v),
        }
      },
      dispose() {
        if (disposed) return
        disposed = true
        vars.forEach((v) => v.dispose())
      },
    }
  }
  return {
    name: 'parzc',
    requirements: {
      trainingData: 'labels',
      partialLearningCurve: false,
      uncertainty: true,
      pretraining: false,
    },
    fit: (X, y, options) => new Promise((resolve) => resolve(fitSync(X, y, options))),
    fitSync,
    prepare: () => Promise.resolve(),
    predict(): never {
      throw new NasError({ code: 'NOT_FITTED', message: 'predict with the model that fit returns' })
    },
  }
}

/**
 * ParZC as a model of the predictor-guided strategies of `@nasjs/predictors` (bananas, gpbo, linas):
 * `createStrategyRegistry([...builtinStrategies, ...predictorStrategiesWith([parzcPredictor])])`,
 * then `{ predictor: { kind: 'parzc' }, extraFeatures: 'only' }` with
 * {@link parzcFeatureSource}'s `features` as the strategy's `StrategyContext.features`.
 * @since 0.2.0
 * @category parzc
 */
export const parzcPredictor: PredictorDefinition = {
  kind: 'parzc',
  description: 'ParZC: a mixer over per-layer zero-cost statistics, trained with DiffKendall',
  configSchema: ParzcConfig,
  create: (config) => parzc(config as z.input<typeof ParzcConfig>),
}

/**
 * Options of {@link parzcFeatureSource}.
 * @since 0.2.0
 */
export interface ParzcFeatureOptions<A> {
  readonly space: SearchSpace<A>
  /** The labelled batch every architecture is scored on (ParZC's reference: one fixed batch of 16). */
  readonly batch: ProxyBatch
  /** Builder options of the network (input shape, classes, width); the builder's defaults otherwise. */
  readonly network?: Record<string, unknown>
  /** Initial weights: `pytorch` (PyTorch's defaults, the default) or `builder` (the builder's own). */
  readonly init?: 'pytorch' | 'builder'
  /** Feature length per proxy (see {@link parzcFeatures}); 98 fits NB201. */
  readonly layers?: number
  /** Seeds each architecture's initialisation with (seed, architecture). */
  readonly seed?: number
}

/**
 * ParZC's features of any architecture of a space, computed when first asked for and kept (by the
 * space's hash): the network is built, initialised from (seed, architecture), and its
 * {@link layerwiseStatsSync} on the fixed batch become {@link parzcFeatures}. Synchronous, because
 * strategies read features while they plan; each new architecture costs one gradient pass and one
 * SynFlow pass of its network. `computed()` counts the architectures scored so far.
 * @since 0.2.0
 * @category parzc
 */
export function parzcFeatureSource<A>(options: ParzcFeatureOptions<A>): {
  readonly features: (arch: A) => number[]
  readonly computed: () => number
} {
  const { space, batch } = options
  const seed = options.seed ?? 0
  const cache = new Map<string, number[]>()
  const features = (arch: A): number[] => {
    const key = space.hash(arch)
    const hit = cache.get(key)
    if (hit !== undefined) return hit
    const model = buildModel(space as never, arch as never, { ...(options.network ?? {}), seed })
    try {
      if ((options.init ?? 'pytorch') === 'pytorch') {
        reinitialize(model, 'pytorch', new Rng(`${seed}:${space.format(arch)}`))
      }
      const row = parzcFeatures(layerwiseStatsSync(model, batch), options.layers ?? 98)
      cache.set(key, row)
      return row
    } finally {
      model.dispose()
    }
  }
  return { features, computed: () => cache.size }
}
