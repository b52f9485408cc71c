import { Rng } from '@nasjs/core'
import { z } from 'zod'
import { type Tree, binFeatures, growTree, predictTree } from './trees.js'
import type { FeatureMatrix, FitOptions, FittedPredictor, Predictor, Prediction } from './types.js'
import { checkTrainingSet, disposedError, toDense, makePredictor, parseConfig } from './validate.js'

/**
 * Random-forest regression config (Breiman 2001): bootstrap samples, a random subset of
 * `maxFeatures` (a fraction of the features) per split. The standard deviation is the spread of the
 * per-tree predictions.
 * @since 0.1.0
 * @category models
 */
export const RandomForestConfig = z
  .object({
    kind: z.literal('random-forest'),
    nTrees: z.number().int().min(1).default(200),
    maxDepth: z.number().int().min(1).default(24),
    minSamplesLeaf: z.number().int().min(1).default(2),
    maxFeatures: z.number().gt(0).max(1).default(0.5),
    bootstrap: z.boolean().default(true),
    seed: z.number().int().default(0),
  })
  .strict()
/** The parsed {@link RandomForestConfig} (defaults filled in). @since 0.1.0 */
export type RandomForestConfig = z.infer<typeof RandomForestConfig>

/**
 * Gradient-boosted regression trees on the squared loss (Friedman 2001) with shrinkage, row
 * subsampling and an L2 penalty on leaf values (as in XGBoost, Chen and Guestrin 2016).
 * @since 0.1.0
 * @category models
 */
export const GradientBoostingConfig = z
  .object({
    kind: z.literal('gradient-boosting'),
    nEstimators: z.number().int().min(1).default(400),
    learningRate: z.number().gt(0).max(1).default(0.05),
    maxDepth: z.number().int().min(1).default(5),
    minSamplesLeaf: z.number().int().min(1).default(3),
    subsample: z.number().gt(0).max(1).default(0.8),
    maxFeatures: z.number().gt(0).max(1).default(0.8),
    lambda: z.number().min(0).default(1),
    seed: z.number().int().default(0),
  })
  .strict()
/** The parsed {@link GradientBoostingConfig} (defaults filled in). @since 0.1.0 */
export type GradientBoostingConfig = z.infer<typeof GradientBoostingConfig>

class FittedTrees implements FittedPredictor {
  private disposed = false
  constructor(
    readonly name: string,
    readonly nFeatures: number,
    private readonly trees: readonly Tree[],
    private readonly combine: 'mean' | 'sum',
    private readonly base: number,
    private readonly shrink: number,
  ) {}

  predict(Xin: FeatureMatrix): Prediction {
    if (this.disposed) throw disposedError(this.name)
    const X = toDense(Xin, 'X', this.nFeatures)
    const mean = new Float64Array(X.rows)
    if (this.combine === 'sum') {
      for (let i = 0; i < X.rows; i++) {
        let s = this.base
        for (const t of this.trees) s += this.shrink * predictTree(t, X, i)
        mean[i] = s
      }
      return { mean }
    }
    const std = new Float64Array(X.rows)
    const T = this.trees.length
    for (let i = 0; i < X.rows; i++) {
      let s = 0
      let s2 = 0
      for (const t of this.trees) {
        const p = predictTree(t, X, i)
        s += p
        s2 += p * p
      }
      const m = s / T
      mean[i] = m
      std[i] = Math.sqrt(Math.max(s2 / T - m * m, 0))
    }
    return { mean, std }
  }

  dispose(): void {
    this.disposed = true
  }
}

/**
 * A random forest of histogram regression trees with uncertainty from the tree spread.
 *
 * @example
 * ```ts
 * const fitted = await randomForest({ nTrees: 100 }).fit(X, y, { rng: new Rng(1) })
 * const { mean, std } = fitted.predict(Xtest)
 * ```
 * @since 0.1.0
 * @category models
 */
export function randomForest(config: Omit<z.input<typeof RandomForestConfig>, 'kind'> = {}): Predictor {
  const cfg = parseConfig(RandomForestConfig, { ...config, kind: 'random-forest' })
  return makePredictor(
    'random-forest',
    { uncertainty: true, pretraining: false },
    (Xin, yin, options?: FitOptions) => {
      const rng = options?.rng ?? new Rng(cfg.seed)
      const { X, y } = checkTrainingSet(Xin, yin, 'random-forest')
      const b = binFeatures(X)
      const n = X.rows
      const opts = {
        maxDepth: cfg.maxDepth,
        minSamplesLeaf: cfg.minSamplesLeaf,
        maxFeatures: Math.max(1, Math.round(cfg.maxFeatures * X.cols)),
        lambda: 0,
        minGain: 1e-12,
      }
      const trees: Tree[] = []
      const sample = new Int32Array(n)
      for (let t = 0; t < cfg.nTrees; t++) {
        for (let i = 0; i < n; i++) sample[i] = cfg.bootstrap ? rng.int(n) : i
        trees.push(growTree(b, y, sample, opts, rng))
      }
      return new FittedTrees('random-forest', X.cols, trees, 'mean', 0, 1)
    },
  )
}

/**
 * Gradient-boosted trees (squared loss); predicts a mean only.
 *
 * @example
 * ```ts
 * const fitted = await gradientBoosting({ nEstimators: 300 }).fit(X, y)
 * fitted.predict(Xtest).mean
 * ```
 * @since 0.1.0
 * @category models
 */
export function gradientBoosting(
  config: Omit<z.input<typeof GradientBoostingConfig>, 'kind'> = {},
): Predictor {
  const cfg = parseConfig(GradientBoostingConfig, { ...config, kind: 'gradient-boosting' })
  return makePredictor(
    'gradient-boosting',
    { uncertainty: false, pretraining: false },
    (Xin, yin, options?: FitOptions) => {
      const rng = options?.rng ?? new Rng(cfg.seed)
      const { X, y } = checkTrainingSet(Xin, yin, 'gradient-boosting')
      const b = binFeatures(X)
      const n = X.rows
      let base = 0
      for (const v of y) base += v
      base /= n
      const pred = new Float64Array(n).fill(base)
      const resid = new Float64Array(n)
      const opts = {
        maxDepth: cfg.maxDepth,
        minSamplesLeaf: cfg.minSamplesLeaf,
        maxFeatures: Math.max(1, Math.round(cfg.maxFeatures * X.cols)),
        lambda: cfg.lambda,
        minGain: 1e-12,
      }
      const all = Array.from({ length: n }, (_, i) => i)
      const m = Math.max(2, Math.round(cfg.subsample * n))
      const trees: Tree[] = []
      for (let t = 0; t < cfg.nEstimators; t++) {
        for (let i = 0; i < n; i++) resid[i] = y[i]! - pred[i]!
        const sample = Int32Array.from(cfg.subsample < 1 ? rng.sample(all, m) : all)
        const tree = growTree(b, resid, sample, opts, rng)
        trees.push(tree)
        for (let i = 0; i < n; i++) pred[i]! += cfg.learningRate * predictTree(tree, X, i)
      }
      return new FittedTrees('gradient-boosting', X.cols, trees, 'sum', base, cfg.learningRate)
    },
  )
}
