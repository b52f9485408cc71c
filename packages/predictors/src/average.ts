import { NasError, Rng } from '@nasjs/core'
import type { FeatureMatrix, FitOptions, FittedPredictor, Predictor, Prediction } from './types.js'
import { disposedError, notFittedError } from './validate.js'

/**
 * Weights of an average: one positive finite number per member, normalised to sum to 1. Throws a
 * `CONFIG_INVALID` NasError otherwise.
 */
function normalisedWeights(n: number, weights: unknown): Float64Array {
  if (weights === undefined) return new Float64Array(n).fill(1 / n)
  const ok =
    Array.isArray(weights) &&
    weights.length === n &&
    weights.every((w) => typeof w === 'number' && Number.isFinite(w) && w > 0)
  if (!ok) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `an average of ${n} predictors needs ${n} positive finite weights, got ${JSON.stringify(weights)}`,
      value: weights,
      path: ['weights'],
    })
  }
  const ws = weights as number[]
  const s = ws.reduce((a, b) => a + b, 0)
  return Float64Array.from(ws, (w) => w / s)
}

class FittedAverage implements FittedPredictor {
  private disposed = false
  readonly nFeatures: number
  constructor(
    readonly name: string,
    private readonly members: readonly FittedPredictor[],
    private readonly weights: Float64Array,
  ) {
    this.nFeatures = members[0]!.nFeatures
  }

  predict(X: FeatureMatrix): Prediction {
    if (this.disposed) throw disposedError(this.name)
    const parts = this.members.map((m) => m.predict(X))
    const rows = parts[0]!.mean.length
    const mean = new Float64Array(rows)
    const std = new Float64Array(rows)
    // The mixture's moments: mean = sum w_k mu_k, var = sum w_k (sigma_k^2 + (mu_k - mean)^2), so the
    // spread between members counts as uncertainty even for members that give no std. (Two passes:
    // the one-pass E[x^2] - mean^2 cancels badly when the members agree on a large mean.)
    for (let i = 0; i < rows; i++) {
      let m = 0
      for (let k = 0; k < parts.length; k++) m += this.weights[k]! * parts[k]!.mean[i]!
      let v = 0
      for (let k = 0; k < parts.length; k++) {
        const d = parts[k]!.mean[i]! - m
        const sd = parts[k]!.std?.[i] ?? 0
        v += this.weights[k]! * (sd * sd + d * d)
      }
      mean[i] = m
      std[i] = Math.sqrt(v)
    }
    return { mean, std }
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    for (const m of this.members) m.dispose()
  }
}

/**
 * Options of {@link averagePredictor}.
 * @since 0.1.0
 */
export interface AverageOptions {
  /** One positive weight per member, normalised to sum to 1 (default: equal weights). */
  readonly weights?: readonly number[]
  /** Seed of the fit's randomness when `fit` is given no `rng` (default 0). */
  readonly seed?: number
}

/**
 * A weighted average of other predictors: each member is fitted on the same data with its own
 * stream of the fit's randomness (forked in member order from `FitOptions.rng`, or from
 * `new Rng(seed)`), so two members of the same kind differ. The mean is the weighted mean of the
 * members' means; the std is the mixture's, which includes the spread between the members, so an
 * average of models without uncertainty still has one. Averaging models that err in different ways
 * (boosting and bagging, different encodings) is the plainest ensemble.
 *
 * @example
 * ```ts
 * const p = averagePredictor([randomForest(), gradientBoosting()], { weights: [1, 2] })
 * const { mean, std } = (await p.fit(X, y)).predict(Xtest)
 * ```
 * @since 0.1.0
 * @category models
 */
export function averagePredictor(members: readonly Predictor[], options: AverageOptions = {}): Predictor {
  const given: unknown = members
  const count = Array.isArray(given) ? given.length : 0
  if (count < 2) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `an average needs at least 2 member predictors, got ${count}`,
      value: count,
      path: ['members'],
    })
  }
  const w = normalisedWeights(members.length, options.weights)
  const seed = options.seed ?? 0
  const name = `average(${members.map((m) => m.name).join(', ')})`
  // One child stream per member, forked in member order, so each member's fit is reproducible.
  const streams = (fit?: FitOptions): FitOptions[] => {
    const rng = fit?.rng ?? new Rng(seed)
    return members.map(() => ({ ...fit, rng: rng.fork() }))
  }
  const assemble = (fitted: FittedPredictor[]) => new FittedAverage(name, fitted, w)
  return {
    name,
    requirements: {
      trainingData: 'labels',
      partialLearningCurve: false,
      uncertainty: true,
      pretraining: members.some((m) => m.requirements.pretraining),
    },
    fit: async (X, y, options) => {
      const opts = streams(options)
      const fitted: FittedPredictor[] = []
      try {
        for (let k = 0; k < members.length; k++) fitted.push(await members[k]!.fit(X, y, opts[k]))
      } catch (e) {
        for (const f of fitted) f.dispose()
        throw e
      }
      return assemble(fitted)
    },
    prepare: async () => {
      for (const m of members) await m.prepare()
    },
    fitSync: (X, y, options) => {
      const opts = streams(options)
      const fitted: FittedPredictor[] = []
      try {
        for (let k = 0; k < members.length; k++) fitted.push(members[k]!.fitSync(X, y, opts[k]))
      } catch (e) {
        for (const f of fitted) f.dispose()
        throw e
      }
      return assemble(fitted)
    },
    predict(): never {
      throw notFittedError(name)
    },
  }
}
