import { NasError, formatAllowed } from '@nasjs/core'

import type { Nb201ArchLike } from './arch.js'
import { assertNb201Dataset, assertNb201Metric } from './metrics.js'
import type { Nb201Benchmark } from './nb201.js'

/**
 * NB201 metrics that cost no training: parameter and FLOP counts and the zero-cost proxy scores.
 * @since 0.1.0
 */
export const NB201_FREE_METRICS = ['params', 'flops', 'naswot', 'zen'] as const

/**
 * Free per-architecture statistics of NB201, ready as model inputs for predictor-guided strategies
 * (`StrategyContext.features` in `@nasjs/strategies`).
 * @since 0.1.0
 */
export interface Nb201FreeFeatures {
  /** What each value is, e.g. `['log params', 'log flops', 'naswot', 'zen']`. */
  readonly names: readonly string[]
  /** The values for one architecture (always `names.length` finite numbers). */
  readonly of: (arch: Nb201ArchLike) => number[]
}

/**
 * The free statistics of every NB201 architecture on `dataset`: log params, log FLOPs and the
 * zero-cost scores (NASWOT on CIFAR-10 only, Zen-NAS), or the `metrics` asked for. The 341
 * disconnected cells have no zero-cost score; they get the column's lowest (worst) score.
 *
 * @example
 * ```ts
 * const free = nb201FreeFeatures(loadNb201(), 'cifar10')
 * free.names // ['log params', 'log flops', 'naswot', 'zen']
 * strategyRunner(registry, 'linas', { extraFeatures: [true, false] }, { space: nb201, objectives, features: free.of })
 * ```
 * @since 0.1.0
 */
export function nb201FreeFeatures(
  bench: Nb201Benchmark,
  dataset = 'cifar10',
  opts: { readonly metrics?: readonly string[] } = {},
): Nb201FreeFeatures {
  const ds = assertNb201Dataset(dataset)
  const metrics = opts.metrics ?? NB201_FREE_METRICS.filter((m) => m !== 'naswot' || ds === 'cifar10')
  if (metrics.length === 0) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `no metrics asked for; expected some of ${formatAllowed(NB201_FREE_METRICS)}`,
      value: metrics,
      allowed: NB201_FREE_METRICS,
    })
  }
  for (const m of metrics) {
    if (!(NB201_FREE_METRICS as readonly string[]).includes(m)) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `'${m}' is not a free NB201 metric (it needs training or a device); expected ${formatAllowed(NB201_FREE_METRICS)}`,
        value: m,
        allowed: NB201_FREE_METRICS,
      })
    }
    assertNb201Metric(ds, m)
  }
  const logOf = (m: string) => m === 'params' || m === 'flops'
  const columns = metrics.map((m) => {
    const raw = bench.column(ds, m)
    let lowest = Number.POSITIVE_INFINITY
    for (const v of raw) if (Number.isFinite(v) && v < lowest) lowest = v
    return Float64Array.from(raw, (v) => {
      const x = Number.isFinite(v) ? v : lowest
      return logOf(m) ? Math.log(Math.max(x, 1e-12)) : x
    })
  })
  return {
    names: metrics.map((m) => (logOf(m) ? `log ${m}` : m)),
    of: (arch) => {
      const i = bench.indexOf(arch)
      return columns.map((c) => c[i]!)
    },
  }
}
