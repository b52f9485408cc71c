import { EigenvalueDecomposition, Matrix } from 'ml-matrix'
import { z } from 'zod'
import type { FeatureMatrix, FittedPredictor, Predictor, Prediction } from './types.js'
import {
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
 * Ridge regression config. `alpha` is the L2 penalty on standardised features; `'gcv'` picks it
 * from a log grid by generalised cross-validation (Golub, Heath and Wahba 1979).
 * @since 0.1.0
 * @category models
 */
export const RidgeConfig = z
  .object({
    kind: z.literal('ridge'),
    alpha: z.union([z.number().positive(), z.literal('gcv')]).default('gcv'),
  })
  .strict()
/** The parsed {@link RidgeConfig} (defaults filled in). @since 0.1.0 */
export type RidgeConfig = z.infer<typeof RidgeConfig>

/**
 * Bayesian linear regression config: a Gaussian prior N(0, 1/alpha) on the weights and Gaussian noise
 * of precision beta, both set by maximising the evidence (MacKay 1992; Bishop 2006, section 3.5).
 * @since 0.1.0
 * @category models
 */
export const BayesianLinearConfig = z
  .object({
    kind: z.literal('bayesian-linear'),
    maxIterations: z.number().int().min(1).default(300),
    tolerance: z.number().positive().default(1e-6),
  })
  .strict()
/** The parsed {@link BayesianLinearConfig} (defaults filled in). @since 0.1.0 */
export type BayesianLinearConfig = z.infer<typeof BayesianLinearConfig>

/** X^T X and X^T y of a standardised design, with the eigen-decomposition of X^T X. */
function gram(X: Dense, y: Float64Array) {
  const { data, rows, cols } = X
  const xtx = new Float64Array(cols * cols)
  const xty = new Float64Array(cols)
  for (let i = 0; i < rows; i++) {
    const o = i * cols
    const yi = y[i]!
    for (let a = 0; a < cols; a++) {
      const xa = data[o + a]!
      if (xa === 0) continue
      xty[a]! += xa * yi
      for (let b = a; b < cols; b++) xtx[a * cols + b]! += xa * data[o + b]!
    }
  }
  const m = new Matrix(cols, cols)
  for (let a = 0; a < cols; a++)
    for (let b = a; b < cols; b++) {
      m.set(a, b, xtx[a * cols + b]!)
      m.set(b, a, xtx[a * cols + b]!)
    }
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true })
  const lambda = evd.realEigenvalues.map((v) => Math.max(v, 0))
  const V = evd.eigenvectorMatrix
  // z = V^T X^T y
  const z = new Float64Array(cols)
  for (let k = 0; k < cols; k++) {
    let s = 0
    for (let a = 0; a < cols; a++) s += V.get(a, k) * xty[a]!
    z[k] = s
  }
  return { lambda, V, z }
}

/** Weights V diag(1/(beta*lambda + alpha)) (beta z) for a given penalty. */
function weights(
  V: Matrix,
  lambda: readonly number[],
  z: Float64Array,
  alpha: number,
  beta = 1,
): Float64Array {
  const d = lambda.length
  const w = new Float64Array(d)
  for (let k = 0; k < d; k++) {
    const c = (beta * z[k]!) / (beta * lambda[k]! + alpha)
    if (c === 0) continue
    for (let a = 0; a < d; a++) w[a]! += V.get(a, k) * c
  }
  return w
}

function residualSq(X: Dense, y: Float64Array, w: Float64Array): number {
  let r = 0
  for (let i = 0; i < X.rows; i++) {
    let p = 0
    const o = i * X.cols
    for (let a = 0; a < X.cols; a++) p += X.data[o + a]! * w[a]!
    r += (y[i]! - p) * (y[i]! - p)
  }
  return r
}

class LinearModel implements FittedPredictor {
  private disposed = false
  constructor(
    readonly name: string,
    readonly nFeatures: number,
    private readonly scaler: Standardizer,
    private readonly w: Float64Array,
    private readonly yMean: number,
    private readonly yStd: number,
    /** Posterior covariance of the weights (standardised units) and noise variance, for BLR. */
    private readonly posterior?: { cov: Float64Array; noiseVar: number },
  ) {}

  predict(Xin: FeatureMatrix): Prediction {
    if (this.disposed) throw disposedError(this.name)
    const X = this.scaler.transform(toDense(Xin, 'X', this.nFeatures))
    const d = this.nFeatures
    const mean = new Float64Array(X.rows)
    const std = this.posterior ? new Float64Array(X.rows) : undefined
    const tmp = new Float64Array(d)
    for (let i = 0; i < X.rows; i++) {
      const o = i * d
      let p = 0
      for (let a = 0; a < d; a++) p += X.data[o + a]! * this.w[a]!
      mean[i] = this.yMean + this.yStd * p
      if (std && this.posterior) {
        const { cov, noiseVar } = this.posterior
        tmp.fill(0)
        for (let a = 0; a < d; a++) {
          const xa = X.data[o + a]!
          if (xa === 0) continue
          for (let b = 0; b < d; b++) tmp[b]! += xa * cov[a * d + b]!
        }
        let q = 0
        for (let b = 0; b < d; b++) q += tmp[b]! * X.data[o + b]!
        std[i] = this.yStd * Math.sqrt(noiseVar + Math.max(q, 0))
      }
    }
    return std ? { mean, std } : { mean }
  }

  dispose(): void {
    this.disposed = true
  }
}

/**
 * Ridge regression on standardised features with an intercept; no uncertainty.
 *
 * @example
 * ```ts
 * const fitted = await ridge({ alpha: 'gcv' }).fit(X, y)
 * fitted.predict(Xtest).mean
 * ```
 * @since 0.1.0
 * @category models
 */
export function ridge(config: Omit<z.input<typeof RidgeConfig>, 'kind'> = {}): Predictor {
  const cfg = parseConfig(RidgeConfig, { ...config, kind: 'ridge' })
  return makePredictor('ridge', { uncertainty: false, pretraining: false }, (X, y) => {
    return fitRidge(cfg, X, y)
  })
}

function fitRidge(cfg: RidgeConfig, Xin: FeatureMatrix, yin: ArrayLike<number>): FittedPredictor {
  const { X: raw, y } = checkTrainingSet(Xin, yin, 'ridge')
  const scaler = new Standardizer(raw)
  const X = scaler.transform(raw)
  const ts = targetScale(y)
  const yc = y.map((v) => (v - ts.mean) / ts.std)
  const { lambda, V, z } = gram(X, yc)
  let alpha: number
  if (cfg.alpha === 'gcv') {
    let best = Number.POSITIVE_INFINITY
    alpha = 1
    for (let e = -3; e <= 4; e += 0.25) {
      const a = 10 ** e
      const w = weights(V, lambda, z, a)
      let df = 0
      for (const l of lambda) df += l / (l + a)
      const denom = 1 - df / X.rows
      if (denom <= 1e-9) continue
      const gcv = residualSq(X, yc, w) / X.rows / (denom * denom)
      if (gcv < best) {
        best = gcv
        alpha = a
      }
    }
  } else alpha = cfg.alpha
  return new LinearModel('ridge', X.cols, scaler, weights(V, lambda, z, alpha), ts.mean, ts.std)
}

/**
 * Bayesian linear regression (evidence approximation): the predictive standard deviation combines the
 * noise and the posterior uncertainty of the weights.
 *
 * @example
 * ```ts
 * const fitted = await bayesianLinear().fit(X, y)
 * const { mean, std } = fitted.predict(Xtest)
 * ```
 * @since 0.1.0
 * @category models
 */
export function bayesianLinear(config: Omit<z.input<typeof BayesianLinearConfig>, 'kind'> = {}): Predictor {
  const cfg = parseConfig(BayesianLinearConfig, { ...config, kind: 'bayesian-linear' })
  return makePredictor('bayesian-linear', { uncertainty: true, pretraining: false }, (X, y) => {
    return fitBayesianLinear(cfg, X, y)
  })
}

function fitBayesianLinear(
  cfg: BayesianLinearConfig,
  Xin: FeatureMatrix,
  yin: ArrayLike<number>,
): FittedPredictor {
  const { X: raw, y } = checkTrainingSet(Xin, yin, 'bayesian-linear')
  const scaler = new Standardizer(raw)
  const X = scaler.transform(raw)
  const ts = targetScale(y)
  const yc = y.map((v) => (v - ts.mean) / ts.std)
  const { lambda, V, z } = gram(X, yc)
  const n = X.rows
  const d = X.cols
  let alpha = 1
  let beta = 1
  let w = weights(V, lambda, z, alpha, beta)
  for (let it = 0; it < cfg.maxIterations; it++) {
    let gamma = 0
    for (const l of lambda) gamma += (beta * l) / (beta * l + alpha)
    let ww = 0
    for (const v of w) ww += v * v
    const rss = residualSq(X, yc, w)
    const newAlpha = Math.min(Math.max(gamma / Math.max(ww, 1e-12), 1e-8), 1e8)
    const newBeta = Math.min(Math.max((n - gamma) / Math.max(rss, 1e-12), 1e-8), 1e8)
    const change = Math.abs(Math.log(newAlpha / alpha)) + Math.abs(Math.log(newBeta / beta))
    alpha = newAlpha
    beta = newBeta
    w = weights(V, lambda, z, alpha, beta)
    if (change < cfg.tolerance) break
  }
  // Posterior covariance S = V diag(1/(beta*lambda + alpha)) V^T.
  const cov = new Float64Array(d * d)
  for (let k = 0; k < d; k++) {
    const c = 1 / (beta * lambda[k]! + alpha)
    for (let a = 0; a < d; a++) {
      const va = V.get(a, k) * c
      if (va === 0) continue
      for (let b = 0; b < d; b++) cov[a * d + b]! += va * V.get(b, k)
    }
  }
  return new LinearModel('bayesian-linear', d, scaler, w, ts.mean, ts.std, { cov, noiseVar: 1 / beta })
}
