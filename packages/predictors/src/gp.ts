import { Rng } from '@nasjs/core'
import { z } from 'zod'
import { backSolve, choleskyInPlace, forwardSolve, inverseFromCholesky } from './linalg.js'
import { lbfgs } from './optim.js'
import type { FeatureMatrix, FitOptions, FittedPredictor, Predictor, Prediction } from './types.js'
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
 * Gaussian-process regression config (Rasmussen and Williams 2006). Hyperparameters (length
 * scale(s), signal variance, noise variance) maximise the log marginal likelihood with L-BFGS from
 * `restarts` starting points. With more than `optimizeSubset` training points the hyperparameters
 * are fitted on a random subset of that size and the final posterior uses all points, which keeps a
 * 1,000-point fit to a few seconds.
 * @since 0.1.0
 * @category models
 */
export const GpConfig = z
  .object({
    kind: z.literal('gp'),
    kernel: z.enum(['rbf', 'matern52']).default('matern52'),
    /** One length scale per feature (automatic relevance determination) instead of a shared one. */
    ard: z.boolean().default(false),
    restarts: z.number().int().min(1).max(20).default(3),
    maxIterations: z.number().int().min(1).default(60),
    optimizeSubset: z.number().int().min(10).default(400),
    seed: z.number().int().default(0),
  })
  .strict()
/** The parsed {@link GpConfig} (defaults filled in). @since 0.1.0 */
export type GpConfig = z.infer<typeof GpConfig>

const LOG_2PI = Math.log(2 * Math.PI)
const SQRT5 = Math.sqrt(5)

interface Hyper {
  /** log length scales (1 or d entries), log signal variance, log noise variance. */
  readonly logLength: Float64Array
  readonly logSignal: number
  readonly logNoise: number
}

function unpack(theta: Float64Array, nLen: number): Hyper {
  return { logLength: theta.slice(0, nLen), logSignal: theta[nLen]!, logNoise: theta[nLen + 1]! }
}

/** The kernel value at scaled squared distance `r2` = sum_d (dx_d / l_d)^2, with signal variance `s2`. */
function kernelValue(kind: GpConfig['kernel'], r2: number, s2: number): number {
  if (kind === 'rbf') return s2 * Math.exp(-0.5 * r2)
  const r = Math.sqrt(r2)
  return s2 * (1 + SQRT5 * r + (5 / 3) * r2) * Math.exp(-SQRT5 * r)
}

/** -2 d k / d r2, so that d k / d log l_d = base * (dx_d / l_d)^2. */
function kernelBase(kind: GpConfig['kernel'], r2: number, s2: number): number {
  if (kind === 'rbf') return s2 * Math.exp(-0.5 * r2)
  const r = Math.sqrt(r2)
  return s2 * (5 / 3) * (1 + SQRT5 * r) * Math.exp(-SQRT5 * r)
}

function scaledR2(X: Dense, i: number, xj: Float64Array, jOff: number, invL2: Float64Array): number {
  const d = X.cols
  const o = i * d
  let r2 = 0
  if (invL2.length === 1) {
    for (let a = 0; a < d; a++) {
      const t = X.data[o + a]! - xj[jOff + a]!
      r2 += t * t
    }
    return r2 * invL2[0]!
  }
  for (let a = 0; a < d; a++) {
    const t = X.data[o + a]! - xj[jOff + a]!
    r2 += t * t * invL2[a]!
  }
  return r2
}

/** Negative log marginal likelihood and its gradient w.r.t. the log hyperparameters. */
function negLogMarginal(
  kind: GpConfig['kernel'],
  X: Dense,
  y: Float64Array,
  theta: Float64Array,
  nLen: number,
  bounds: { lo: Float64Array; hi: Float64Array },
): { f: number; g: Float64Array } {
  // Soft box: evaluate at the clamped point, add a quadratic penalty for the excess.
  const clamped = theta.map((v, i) => Math.min(Math.max(v, bounds.lo[i]!), bounds.hi[i]!))
  let penalty = 0
  const pg = new Float64Array(theta.length)
  for (let i = 0; i < theta.length; i++) {
    const e = theta[i]! - clamped[i]!
    penalty += 5 * e * e
    pg[i] = 10 * e
  }
  const h = unpack(clamped, nLen)
  const n = X.rows
  const d = X.cols
  const s2 = Math.exp(h.logSignal)
  const noise = Math.exp(h.logNoise)
  const invL2 = h.logLength.map((l) => Math.exp(-2 * l))
  const K = new Float64Array(n * n)
  const B = new Float64Array(n * n) // kernel base for the length-scale gradient
  const R2 = nLen === 1 ? new Float64Array(n * n) : undefined
  for (let i = 0; i < n; i++) {
    K[i * n + i] = s2 + noise
    B[i * n + i] = 0
    for (let j = 0; j < i; j++) {
      const r2 = scaledR2(X, i, X.data, j * d, invL2)
      const k = kernelValue(kind, r2, s2)
      K[i * n + j] = k
      K[j * n + i] = k
      B[i * n + j] = kernelBase(kind, r2, s2)
      if (R2) R2[i * n + j] = r2
    }
  }
  const L = Float64Array.from(K)
  if (!choleskyInPlace(L, n)) return { f: Number.POSITIVE_INFINITY, g: new Float64Array(theta.length) }
  const alpha = Float64Array.from(y)
  forwardSolve(L, n, alpha)
  let quad = 0
  for (let i = 0; i < n; i++) quad += alpha[i]! * alpha[i]!
  backSolve(L, n, alpha)
  let logDet = 0
  for (let i = 0; i < n; i++) logDet += Math.log(L[i * n + i]!)
  const f = 0.5 * quad + logDet + 0.5 * n * LOG_2PI
  // W = alpha alpha^T - K^{-1}; dNLML/dtheta = -0.5 tr(W dK/dtheta).
  const Kinv = inverseFromCholesky(L, n)
  const g = new Float64Array(theta.length)
  let gSignal = 0
  let gNoise = 0
  const gLen = new Float64Array(nLen)
  for (let i = 0; i < n; i++) {
    const wii = alpha[i]! * alpha[i]! - Kinv[i * n + i]!
    gSignal += wii * s2
    gNoise += wii * noise
    for (let j = 0; j < i; j++) {
      const wij = 2 * (alpha[i]! * alpha[j]! - Kinv[i * n + j]!) // both triangles
      gSignal += wij * K[i * n + j]!
      const b = B[i * n + j]!
      if (R2) gLen[0]! += wij * b * R2[i * n + j]!
      else {
        const oi = i * d
        const oj = j * d
        for (let a = 0; a < d; a++) {
          const t = X.data[oi + a]! - X.data[oj + a]!
          gLen[a]! += wij * b * t * t * invL2[a]!
        }
      }
    }
  }
  for (let a = 0; a < nLen; a++) g[a] = -0.5 * gLen[a]!
  g[nLen] = -0.5 * gSignal
  g[nLen + 1] = -0.5 * gNoise
  for (let i = 0; i < theta.length; i++) {
    // Outside the box the clamped coordinate does not move the likelihood; only the penalty does.
    if (theta[i] !== clamped[i]) g[i] = 0
    g[i]! += pg[i]!
  }
  return { f: f + penalty, g }
}

class FittedGp implements FittedPredictor {
  readonly name: string
  private disposed = false
  constructor(
    private readonly kind: GpConfig['kernel'],
    readonly nFeatures: number,
    private readonly scaler: Standardizer,
    private readonly X: Dense,
    private readonly L: Float64Array,
    private readonly alpha: Float64Array,
    private readonly hyper: Hyper,
    private readonly yMean: number,
    private readonly yStd: number,
  ) {
    this.name = `gp-${kind}`
  }

  /** The fitted hyperparameters in standardised units (length scales, signal and noise variance). */
  get hyperparameters(): { lengthScales: number[]; signalVariance: number; noiseVariance: number } {
    return {
      lengthScales: Array.from(this.hyper.logLength, (l) => Math.exp(l)),
      signalVariance: Math.exp(this.hyper.logSignal),
      noiseVariance: Math.exp(this.hyper.logNoise),
    }
  }

  predict(Xin: FeatureMatrix): Prediction {
    if (this.disposed) throw disposedError(this.name)
    const Q = this.scaler.transform(toDense(Xin, 'X', this.nFeatures))
    const n = this.X.rows
    const s2 = Math.exp(this.hyper.logSignal)
    const invL2 = this.hyper.logLength.map((l) => Math.exp(-2 * l))
    const mean = new Float64Array(Q.rows)
    const std = new Float64Array(Q.rows)
    const ks = new Float64Array(n)
    for (let q = 0; q < Q.rows; q++) {
      let m = 0
      for (let i = 0; i < n; i++) {
        const k = kernelValue(this.kind, scaledR2(this.X, i, Q.data, q * Q.cols, invL2), s2)
        ks[i] = k
        m += k * this.alpha[i]!
      }
      forwardSolve(this.L, n, ks)
      let vv = 0
      for (let i = 0; i < n; i++) vv += ks[i]! * ks[i]!
      mean[q] = this.yMean + this.yStd * m
      std[q] = this.yStd * Math.sqrt(Math.max(s2 - vv, 1e-12))
    }
    return { mean, std }
  }

  dispose(): void {
    this.disposed = true
  }
}

/**
 * Gaussian-process regression with an RBF or Matern-5/2 kernel; `predict` returns the posterior mean
 * and the standard deviation of the latent function (without the observation noise).
 *
 * @example
 * ```ts
 * const fitted = await gaussianProcess({ kernel: 'matern52' }).fit(X, y)
 * const { mean, std } = fitted.predict(Xtest)
 * ```
 * @since 0.1.0
 * @category models
 */
export function gaussianProcess(config: Omit<z.input<typeof GpConfig>, 'kind'> = {}): Predictor {
  const cfg = parseConfig(GpConfig, { ...config, kind: 'gp' })
  return makePredictor(
    `gp-${cfg.kernel}`,
    { uncertainty: true, pretraining: false },
    (X, y, options?: FitOptions) => {
      return fitGp(cfg, X, y, options?.rng ?? new Rng(cfg.seed))
    },
  )
}

function subsetRows(X: Dense, y: Float64Array, idx: readonly number[]): { X: Dense; y: Float64Array } {
  const data = new Float64Array(idx.length * X.cols)
  const ys = new Float64Array(idx.length)
  idx.forEach((r, i) => {
    data.set(X.data.subarray(r * X.cols, (r + 1) * X.cols), i * X.cols)
    ys[i] = y[r]!
  })
  return { X: { data, rows: idx.length, cols: X.cols }, y: ys }
}

function fitGp(cfg: GpConfig, Xin: FeatureMatrix, yin: ArrayLike<number>, rng: Rng): FittedPredictor {
  const { X: raw, y: yRaw } = checkTrainingSet(Xin, yin, 'gp')
  const scaler = new Standardizer(raw, 'range')
  const X = scaler.transform(raw)
  const ts = targetScale(yRaw)
  const y = yRaw.map((v) => (v - ts.mean) / ts.std)
  const d = X.cols
  const nLen = cfg.ard ? d : 1
  const lenInit = Math.log(Math.sqrt(d))
  const lo = new Float64Array(nLen + 2)
  const hi = new Float64Array(nLen + 2)
  for (let a = 0; a < nLen; a++) {
    lo[a] = lenInit + Math.log(0.02)
    hi[a] = lenInit + Math.log(cfg.ard ? 1000 : 50)
  }
  lo[nLen] = Math.log(0.01)
  hi[nLen] = Math.log(100)
  lo[nLen + 1] = Math.log(1e-6)
  hi[nLen + 1] = Math.log(10)
  const opt =
    X.rows > cfg.optimizeSubset
      ? subsetRows(
          X,
          y,
          rng.sample(
            Array.from({ length: X.rows }, (_, i) => i),
            cfg.optimizeSubset,
          ),
        )
      : { X, y }
  let best: { x: Float64Array; f: number } | undefined
  for (let r = 0; r < cfg.restarts; r++) {
    const x0 = new Float64Array(nLen + 2)
    if (r === 0) {
      x0.fill(lenInit, 0, nLen)
      x0[nLen] = 0
      x0[nLen + 1] = Math.log(0.1)
    } else {
      for (let i = 0; i < nLen + 2; i++) x0[i] = rng.uniformIn(lo[i]!, hi[i]!)
      x0[nLen] = rng.uniformIn(Math.log(0.3), Math.log(3))
      x0[nLen + 1] = rng.uniformIn(Math.log(1e-3), Math.log(0.5))
    }
    const res = lbfgs((t) => negLogMarginal(cfg.kernel, opt.X, opt.y, t, nLen, { lo, hi }), x0, {
      maxIterations: cfg.maxIterations,
    })
    if (Number.isFinite(res.f) && (!best || res.f < best.f)) best = res
  }
  const theta = best
    ? best.x.map((v, i) => Math.min(Math.max(v, lo[i]!), hi[i]!))
    : new Float64Array(nLen + 2)
  if (!best) {
    theta.fill(lenInit, 0, nLen)
    theta[nLen + 1] = Math.log(0.1)
  }
  // Final posterior on all points; add jitter until the factorisation succeeds.
  let hyper = unpack(theta, nLen)
  const n = X.rows
  const s2 = Math.exp(hyper.logSignal)
  const invL2 = hyper.logLength.map((l) => Math.exp(-2 * l))
  const K = new Float64Array(n * n)
  for (let i = 0; i < n; i++)
    for (let j = 0; j < i; j++) {
      const k = kernelValue(cfg.kernel, scaledR2(X, i, X.data, j * d, invL2), s2)
      K[i * n + j] = k
      K[j * n + i] = k
    }
  let noise = Math.exp(hyper.logNoise)
  let L = new Float64Array(0)
  for (let attempt = 0; attempt < 10; attempt++) {
    L = Float64Array.from(K)
    for (let i = 0; i < n; i++) L[i * n + i] = s2 + noise
    if (choleskyInPlace(L, n)) break
    noise = Math.max(noise * 10, 1e-6)
  }
  hyper = { ...hyper, logNoise: Math.log(noise) }
  const alpha = Float64Array.from(y)
  forwardSolve(L, n, alpha)
  backSolve(L, n, alpha)
  return new FittedGp(cfg.kernel, d, scaler, X, L, alpha, hyper, ts.mean, ts.std)
}
