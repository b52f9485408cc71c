import type { Constraint, Objective, Rng, TrialOutcome } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import type { z } from 'zod'

/**
 * A trial's number within one study: 0, 1, 2, ... in the order the strategy proposed them.
 * @since 0.1.0
 */
export type TrialId = number

/**
 * One architecture a strategy wants evaluated.
 * @since 0.1.0
 * @category models
 */
export interface Proposal<A> {
  /** Assigned by the strategy, consecutive from 0; the driver uses it as the trial number. */
  readonly id: TrialId
  readonly arch: A
  /** The fidelity (e.g. training epochs) to evaluate at; absent means full fidelity. */
  readonly fidelity?: number
}

/**
 * The JSON state of a strategy ({@link Strategy.snapshot}); `restore` of it continues exactly.
 * @since 0.1.0
 */
export type StrategyState = { readonly [key: string]: unknown }

/**
 * An ask/tell search strategy. It proposes architectures and learns from outcomes; it never
 * evaluates (the driver, {@link runSearch} or a hand-driven {@link Study}, does).
 *
 * Contract, checked by the conformance suite in `@nasjs/strategies/testing`:
 * - `ask(n)` returns at most `n` proposals with fresh consecutive ids. It may be called again before
 *   earlier proposals are told (parallel workers). It returns fewer than `n` (maybe none) when the
 *   strategy waits for outstanding tells (e.g. the end of an NSGA-II generation) or is exhausted
 *   (see {@link Strategy.exhausted}); an ask that returns nothing leaves the state unchanged
 *   (with `distinct` on, it may have answered repeats from outcomes already told, as tells would).
 * - `ask(n)` is the same as `n` calls of `ask(1)` (so a journal of single asks replays it).
 * - `tell(id, outcome)` exactly once per asked id, in any order; failed and pruned outcomes are data.
 * - Same seed and same tells, same proposals; `restore(snapshot())` on a fresh instance continues
 *   identically.
 *
 * @since 0.1.0
 * @category models
 */
export interface Strategy<A> {
  /** The registered name, e.g. `rea` (recorded in journals). */
  readonly name: string
  /** The parsed config (recorded in journals). */
  readonly config: unknown
  /**
   * Optional: loads what `ask` needs before the first call (e.g. TF.js for a surrogate that fits
   * inside `ask`). The driver awaits it once when a study opens, before any replay; a caller that
   * drives `ask`/`tell` by hand awaits it first. Must not draw from the rng.
   */
  prepare?(): Promise<void>
  ask(n?: number): readonly Proposal<A>[]
  tell(id: TrialId, outcome: TrialOutcome): void
  /** Warm start: an outcome of an architecture this strategy did not propose (e.g. from a benchmark). */
  tellUnasked?(arch: A, outcome: TrialOutcome): void
  /** The best architecture so far (single objective) or one of the current front (several objectives). */
  recommend(): A | undefined
  /** True when the strategy will propose nothing more (e.g. a grid that has been walked). */
  exhausted(): boolean
  /** The complete state as JSON. */
  snapshot(): StrategyState
  /** Replaces the state with a snapshot of a strategy created with the same definition, space and config. */
  restore(state: StrategyState): void
}

/**
 * What a strategy is created with.
 * @since 0.1.0
 */
export interface StrategyContext<A> {
  readonly space: SearchSpace<A>
  /** The strategy's own seeded generator (the driver forks it from the study seed). */
  readonly rng: Rng
  /** At least one; several only for definitions with `multiObjective: true` or a scalarising reward. */
  readonly objectives: readonly Objective[]
  readonly constraints: readonly Constraint[]
  /**
   * Free per-architecture statistics (cost figures such as log params and FLOPs, zero-cost proxy
   * scores): the same number of finite values for every architecture, costing no evaluation.
   * Predictor-guided strategies may feed them to their models. Absent unless the caller has them.
   */
  readonly features?: (arch: A) => readonly number[]
  /**
   * Propose each architecture (at each fidelity) at most once. A repeat the strategy's own rule draws
   * is answered at once from the outcome already told, without a trial, and when the rule keeps
   * drawing repeats, an architecture not yet proposed is proposed instead; once every architecture has
   * been proposed the strategy is exhausted. Default: on for spaces of at most
   * 10,000 architectures (`DISTINCT_SPACE_LIMIT`, where a search can run out), off for larger ones,
   * where a repeat is rare and the driver's cache answers it. Turn it off for a noisy evaluator whose
   * repeats should be evaluated again (with the cache `off`).
   */
  readonly distinct?: boolean
}

/**
 * A registered strategy: a name, a zod config schema (strict, every field defaulted) and a factory
 * that receives the already parsed config.
 *
 * @example
 * ```ts
 * const myStrategy: StrategyDefinition<typeof MyConfig, 'mine'> = {
 *   name: 'mine', description: 'samples uniformly', configSchema: MyConfig,
 *   create: (config, ctx) => new MyStrategy(config, ctx),
 * }
 * const registry = createStrategyRegistry([...builtinStrategies, myStrategy])
 * ```
 * @since 0.1.0
 * @category models
 */
export interface StrategyDefinition<C extends z.ZodType = z.ZodType, N extends string = string> {
  /** The registered name; a literal type (`'rea'`) lets a registry type-check `create`'s config. */
  readonly name: N
  /** One line for `nas strategies`. */
  readonly description: string
  readonly configSchema: C
  /** The strategy handles several objectives itself (Pareto-based). */
  readonly multiObjective?: boolean
  /** The strategy sets `fidelity` on its proposals, so the evaluator must accept one. */
  readonly requiresFidelity?: boolean
  /** The papers it implements, for `describe()` and READMEs. */
  readonly references?: readonly string[]
  create<A>(config: z.output<C>, ctx: StrategyContext<A>): Strategy<A>
}
