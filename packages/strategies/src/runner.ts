import { Rng, parseConstraints, parseObjectives } from '@nasjs/core'
import type { CacheMode, Constraint, Evaluator, Metrics, ObjectiveList } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { runSearch } from './driver/run-search.js'
import type { StrategyRegistry } from './registry.js'

/**
 * What a {@link Runner} is given (the shape `@nasjs/benchmarks`' `compare` uses).
 * @since 0.1.0
 */
export interface RunnerArgs<A> {
  readonly seed: number
  /** Evaluator calls the run may make. */
  readonly budget: number
  readonly evaluator: Evaluator<A>
  readonly signal: AbortSignal
}

/**
 * One search run as the benchmark comparison protocol sees it (structurally the `Runner` of
 * `@nasjs/benchmarks`): returns the evaluated trials in query order.
 * @since 0.1.0
 */
export type Runner<A> = (
  args: RunnerArgs<A>,
) => Promise<readonly { readonly arch: A; readonly metrics: Readonly<Metrics> }[]>

/**
 * Options of {@link strategyRunner}.
 * @since 0.1.0
 */
export interface StrategyRunnerOptions<A> {
  readonly space: SearchSpace<A>
  readonly objectives: ObjectiveList
  readonly constraints?: readonly (Constraint | string)[]
  /** Evaluations in flight (default 1, which keeps runs reproducible). */
  readonly concurrency?: number
  /** The driver's result cache (default `auto`: see `runSearch`). */
  readonly cache?: CacheMode | 'auto'
  /** Stop after this many cache hits in a row (see `runSearch`). */
  readonly maxConsecutiveCacheHits?: number
  /** Free per-architecture statistics for predictor-guided strategies (see `StrategyContext.features`). */
  readonly features?: (arch: A) => readonly number[]
}

/**
 * Turns a registered strategy and its config into a {@link Runner} that runs the real driver:
 * `budget` counts evaluator calls (`budget.evaluations`), so architectures the functional-hash cache
 * answers cost nothing, and the strategy is seeded with the run's seed.
 *
 * @example
 * ```ts
 * const registry = createStrategyRegistry()
 * const runners = Object.fromEntries(
 *   registry.names().filter((n) => !registry.get(n).requiresFidelity)
 *     .map((n) => [n, strategyRunner(registry, n, {}, { space: nb201, objectives: ['valid_acc:max'] })]),
 * )
 * await compare({ runners, seeds: 20, budget: 150, evaluator })
 * ```
 * @since 0.1.0
 * @category driver
 */
export function strategyRunner<A>(
  registry: StrategyRegistry,
  name: string,
  config: unknown,
  opts: StrategyRunnerOptions<A>,
): Runner<A> {
  const def = registry.get(name)
  registry.parseConfig(name, config) // fail early on a bad config
  const objectives = parseObjectives(opts.objectives)
  const constraints = parseConstraints(opts.constraints)
  return async ({ seed, budget, evaluator, signal }) => {
    const strategy = registry.create(def.name, config, {
      space: opts.space,
      rng: new Rng(seed),
      objectives,
      constraints,
      ...(opts.features !== undefined ? { features: opts.features } : {}),
    })
    const r = await runSearch({
      space: opts.space,
      strategy,
      evaluator,
      objectives,
      constraints,
      budget: { evaluations: budget },
      signal,
      seed,
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.cache !== undefined ? { cache: opts.cache } : {}),
      ...(opts.maxConsecutiveCacheHits !== undefined
        ? { maxConsecutiveCacheHits: opts.maxConsecutiveCacheHits }
        : {}),
    })
    const out: { arch: A; metrics: Readonly<Metrics> }[] = []
    for (const t of r.trials) {
      if (!t.cached && t.skipped !== true && t.outcome?.status === 'complete')
        out.push({ arch: t.arch, metrics: t.outcome.metrics })
    }
    return out
  }
}
