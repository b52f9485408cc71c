import { NasError } from './errors.js'
import type { Evaluator, Metrics } from './evaluation.js'

/**
 * A metric computed from others after each evaluation (an objective transform), e.g. MnasNet's reward.
 * @since 0.1.0
 * @category objectives
 */
export interface DerivedMetric {
  readonly name: string
  /** The metrics it reads. */
  readonly from: readonly string[]
  compute(metrics: Metrics): number
}

/**
 * Options of {@link mnasReward}.
 * @since 0.1.0
 */
export interface MnasRewardOptions {
  /** The accuracy metric (e.g. `valid_acc`). */
  readonly accuracy: string
  /** The latency metric (e.g. `latency.lut`, `latency.tfjs-wasm`, `latency.pixel3`). */
  readonly latency: string
  /** The target latency T, in the latency metric's unit. */
  readonly target: number
  /** The exponent when latency <= T (−0.07, MnasNet's soft constraint). */
  readonly alpha?: number
  /** The exponent when latency > T (−0.07; α = 0, β = −1 is MnasNet's hard constraint). */
  readonly beta?: number
  /** The name of the reward (`reward.mnas`). */
  readonly name?: string
}

/**
 * MnasNet's multi-objective reward (Tan et al. 2019): ACC(m) × (LAT(m) / T)^w, with w = α where the
 * latency meets the target T and β where it does not. With α = β = −0.07 (the paper's choice) a
 * network twice as fast as another is worth about 5 % more accuracy; with α = 0, β = −1 the latency
 * is a hard constraint.
 * @example
 * ```ts
 * const reward = mnasReward({ accuracy: 'valid_acc', latency: 'latency.lut', target: 5 })
 * reward.compute({ valid_acc: 90, 'latency.lut': 10 }) // 90 * 2^-0.07 = 85.7
 * ```
 * @since 0.1.0
 * @category objectives
 */
export function mnasReward(opts: MnasRewardOptions): DerivedMetric {
  const alpha = opts.alpha ?? -0.07
  const beta = opts.beta ?? -0.07
  if (!(opts.target > 0) || !Number.isFinite(opts.target)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `the MnasNet reward's target latency must be a number > 0, got ${opts.target}`,
      value: opts.target,
      allowed: ['number > 0'],
    })
  }
  for (const [k, v] of [
    ['alpha', alpha],
    ['beta', beta],
  ] as const) {
    if (!Number.isFinite(v)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `the MnasNet reward's ${k} must be a number, got ${v}`,
        value: v,
      })
    }
  }
  return {
    name: opts.name ?? 'reward.mnas',
    from: [opts.accuracy, opts.latency],
    compute(m) {
      const acc = m[opts.accuracy]
      const lat = m[opts.latency]
      // a latency of zero or less (a table's prediction can be) has no ratio to the target
      if (acc === undefined || lat === undefined || !(lat > 0)) return Number.NaN
      return acc * (lat / opts.target) ** (lat <= opts.target ? alpha : beta)
    },
  }
}

/**
 * An evaluator that adds derived metrics to another's results, each computed from the metrics the
 * inner evaluator returned (a derived metric whose inputs are missing is NaN).
 * @since 0.1.0
 * @category objectives
 */
export function withDerivedMetrics<A>(
  evaluator: Evaluator<A>,
  derived: readonly DerivedMetric[],
): Evaluator<A> {
  return async (arch, ctx) => {
    const m = await evaluator(arch, ctx)
    const out = { ...m }
    for (const d of derived) out[d.name] = d.compute(out)
    return out
  }
}
