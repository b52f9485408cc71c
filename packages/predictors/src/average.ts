import { NasError } from '@nasjs/core'
import type { FeatureMatrix, FitOptions, FittedPredictor, Predictor, Prediction } from './types.js'
import { disposedError } from './validate.js'

/**
 * Weights of an average: one positive finite number per member, normalised to sum to 1. Throws a
 * `CONFIG_INVALID` NasError otherwise.
 */
function normalisedWeights(n: number, weights: readonly number[] | undefined): Float64Array {
  if (weights === undefined) return new Float64Array(n).fill(1 / n)
  if (weights.length !== n || weights.some((w) => !Number.isFinite(w) || w <= 0)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `an average of ${n} predictors needs ${n} positive finite weights, got [${weights.join(', ')}]`,
      value: weights,
      allowed: [n],
      path: ['weights'],
    })
  }
  const s = weights.reduce((a, b) => a + b, 0)
  return Float64Array.from(weights, (w) => w / s)
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
    // The mixture's moments: mean = sum w_k mu_k, var = sum w_k (sigma_k^2 + mu_k^2) - mean^2, so the
    // spread between members counts as uncertainty even for members that give no std.
    for (let i = 0; i < rows; i++) {
      let m = 0
      let second = 0
      for (let k = 0; k < parts.length; k++) {
        const mu = parts[k]!.mean[i]!
        const sd = parts[k]!.std?.[i] ?? 0
        m += this.weights[k]! * mu
        second += this.weights[k]! * (sd * sd + mu * mu)
      }
      mean[i] = m
      std[i] = Math.sqrt(Math.max(second - m * m, 0))
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
 * A weighted average of other predictors: each member is fitted on the same data (with its own
 * stream of the fit's randomness), and the prediction is the mixture of theirs. Its mean is the
 * weighted mean of the members' means; its std is the mixture's, which includes the spread between
 * the members, so an average of models without uncertainty still has one. Averaging models that err
 * in different ways (trees that split on different features, boosting and bagging) is the plainest
 * ensemble; NASLib's ensembles of predictors work the same way.
 *
 * @example
 * ```ts
 * const p = averagePredictor([randomForest(), gradientBoosting()])
 * const { mean, std } = (await p.fit(X, y)).predict(Xtest)
 * ```
 * @since 0.1.0
 * @category models
 */
export function averagePredictor(members: readonly Predictor[], weights?: readonly number[]): Predictor {
  if (members.length < 2) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `an average needs at least 2 member predictors, got ${members.length}`,
      value: members.map((m) => m.name),
      path: ['members'],
    })
  }
  const w = normalisedWeights(members.length, weights)
  const name = `average(${members.map((m) => m.name).join(', ')})`
  // One child stream per member, drawn in member order, so each member's fit is reproducible.
  const streams = (options?: FitOptions): FitOptions[] => {
    const rng = options?.rng
    return members.map(() => ({ ...options, ...(rng !== undefined ? { rng: rng.fork() } : {}) }))
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
      throw new NasError({
        code: 'NOT_FITTED',
        message: `the ${name} predictor is not fitted: call \`const fitted = await predictor.fit(X, y)\` and predict with \`fitted.predict(X)\``,
      })
    },
  }
}
