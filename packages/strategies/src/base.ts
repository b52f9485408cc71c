import { NasError, Rng, totalViolation } from '@nasjs/core'
import type { Constraint, Objective, RngState, TrialOutcome } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import type { Proposal, Strategy, StrategyContext, StrategyState, TrialId } from './types.js'

/**
 * A single-objective fitness: total constraint violation first (0 = feasible), then the objective
 * value oriented so that larger is better.
 * @since 0.1.0
 */
export interface Fitness {
  readonly violation: number
  readonly value: number
}

/**
 * `> 0` when `a` is better than `b`, `< 0` when worse, 0 when equal (smaller violation wins, then
 * larger value).
 * @since 0.1.0
 */
export function compareFitness(a: Fitness, b: Fitness): number {
  if (a.violation !== b.violation) return b.violation - a.violation
  return a.value - b.value
}

/**
 * Total violation of `constraints` by `metrics`, by the missing-metric rule of `@nasjs/core` (a
 * missing metric violates without bound); re-exported here for strategies.
 * @since 0.1.0
 */
export { totalViolation }

/**
 * The fitness of a complete outcome for the first objective, or `undefined` for failed and pruned
 * outcomes and for metrics that lack the objective or are not finite.
 * @since 0.1.0
 */
export function fitnessOf(
  objectives: readonly Objective[],
  constraints: readonly Constraint[],
  outcome: TrialOutcome,
): Fitness | undefined {
  if (outcome.status !== 'complete') return undefined
  const o = objectives[0]
  if (o === undefined) return undefined
  const x = outcome.metrics[o.name]
  if (x === undefined || !Number.isFinite(x)) return undefined
  return { violation: totalViolation(constraints, outcome.metrics), value: o.direction === 'max' ? x : -x }
}

/**
 * A JSON-safe number (snapshots must survive `JSON.stringify`): infinities become strings.
 * @since 0.1.0
 */
export const jsonNumber = (x: number): number | string => (Number.isFinite(x) ? x : String(x))
/**
 * The inverse of {@link jsonNumber}.
 * @since 0.1.0
 */
export const fromJsonNumber = (x: unknown): number => (typeof x === 'number' ? x : Number(x))

interface Pending<A> {
  readonly arch: A
  readonly fidelity?: number
  /** Proposed by the base (an architecture not yet proposed), not by the subclass's rule. */
  readonly unasked?: true
}

/**
 * Spaces of at most this many architectures are searched without repeats by default (see
 * {@link StrategyContext.distinct}).
 * @since 0.1.0
 */
export const DISTINCT_SPACE_LIMIT = 10_000n

/** Repeats answered in a row within one `ask` before an unproposed architecture is proposed instead. */
const MAX_REPEATS = 1_000
/** Draws of `space.sample` looking for an unproposed architecture in a space without `enumerate`. */
const MAX_FRESH_DRAWS = 1_000

/** The record of every proposal, for {@link StrategyContext.distinct}. */
interface Distinct {
  /** Keys (architecture text, and fidelity) of every proposal. */
  readonly proposed: Set<string>
  /** Complete outcomes told, by key. */
  readonly told: Map<string, TrialOutcome>
  /** Architecture texts of every proposal (any fidelity). */
  readonly archs: Set<string>
  /** Every architecture has been proposed. */
  ranOut: boolean
  /** Repeats answered from `told` without a trial. */
  repeats: number
}

/**
 * What {@link StrategyBase.propose} returns.
 * @since 0.1.0
 */
export interface Proposed<A> {
  readonly arch: A
  readonly fidelity?: number
}

/**
 * The mechanics every builtin strategy shares: trial ids, the outstanding proposals, best-so-far
 * tracking, the seeded generator and the snapshot envelope. A subclass implements `propose` (one
 * proposal or `undefined` to wait; it must not touch the generator or its state when it returns
 * `undefined`), `observe` (learn from an outcome) and `saveState`/`loadState`.
 *
 * @since 0.1.0
 * @category constructors
 */
export abstract class StrategyBase<A> implements Strategy<A> {
  abstract readonly name: string
  abstract readonly config: unknown
  protected rng: Rng
  protected readonly space: SearchSpace<A>
  protected readonly objectives: readonly Objective[]
  protected readonly constraints: readonly Constraint[]
  protected nextId = 0
  protected readonly pending = new Map<TrialId, Pending<A>>()
  protected best: { arch: A; fitness: Fitness } | undefined
  private readonly distinct: Distinct | undefined
  private readonly spaceSize: bigint

  constructor(ctx: StrategyContext<A>) {
    this.rng = ctx.rng
    this.space = ctx.space
    this.objectives = ctx.objectives
    this.constraints = ctx.constraints
    this.spaceSize = ctx.space.size()
    this.distinct =
      (ctx.distinct ?? this.spaceSize <= DISTINCT_SPACE_LIMIT)
        ? { proposed: new Set(), told: new Map(), archs: new Set(), ranOut: false, repeats: 0 }
        : undefined
  }

  /**
   * Repeats of earlier proposals that the strategy's rule drew and that were answered from the
   * outcome already told, without a trial (0 unless {@link StrategyContext.distinct} is on).
   */
  get repeatsAnswered(): number {
    return this.distinct?.repeats ?? 0
  }

  /** One proposal, or `undefined` to wait for tells (or when exhausted). */
  protected abstract propose(): Proposed<A> | undefined
  /** Learns from an outcome; `id` is undefined for unasked tells. */
  protected abstract observe(arch: A, outcome: TrialOutcome, id: TrialId | undefined, fidelity?: number): void
  /** The subclass state as JSON. */
  protected abstract saveState(): StrategyState
  /** Restores {@link saveState}. */
  protected abstract loadState(state: StrategyState): void

  /**
   * True when nothing more will be proposed: with {@link StrategyContext.distinct}, once every
   * architecture of the space has been proposed. Subclasses that end on their own add their rule.
   */
  exhausted(): boolean {
    return this.distinct?.ranOut === true
  }

  ask(n = 1): readonly Proposal<A>[] {
    if (!Number.isInteger(n) || n < 0) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `ask(n) needs a non-negative integer n, got ${String(n)}`,
        value: n,
      })
    }
    const out: Proposal<A>[] = []
    for (let i = 0; i < n; i++) {
      const p = this.distinct === undefined ? this.propose() : this.proposeDistinct(this.distinct)
      if (p === undefined) break
      const id = this.nextId++
      this.pending.set(id, p)
      out.push(p.fidelity === undefined ? { id, arch: p.arch } : { id, arch: p.arch, fidelity: p.fidelity })
    }
    return out
  }

  private keyOf(text: string, fidelity: number | undefined): string {
    return fidelity === undefined ? text : `${text}\u0000${fidelity}`
  }

  /**
   * The subclass's next proposal that repeats no earlier one. A repeat whose outcome is known is
   * answered at once (the subclass observes it under the id it expects, `nextId`, which stays free);
   * a repeat of a trial still in flight, or of one that did not complete, goes to the caller. After
   * {@link MAX_REPEATS} answered repeats in a row, an architecture not yet proposed is proposed instead.
   */
  private proposeDistinct(d: Distinct): Pending<A> | undefined {
    if (d.ranOut) return undefined
    let last: Proposed<A> | undefined
    for (let r = 0; r < MAX_REPEATS; r++) {
      const p = this.propose()
      if (p === undefined) return undefined
      const text = this.space.format(p.arch)
      const key = this.keyOf(text, p.fidelity)
      if (!d.proposed.has(key)) {
        d.proposed.add(key)
        d.archs.add(text)
        return p
      }
      const known = d.told.get(key)
      if (known === undefined) return p
      d.repeats++
      this.track(p.arch, known, p.fidelity)
      this.observe(p.arch, known, this.nextId, p.fidelity)
      last = p
    }
    const fresh = this.unproposed(d)
    return fresh !== undefined || d.ranOut ? fresh : last
  }

  /** A uniformly drawn architecture not yet proposed, or `undefined` (and `ranOut` when none is left). */
  private unproposed(d: Distinct): Pending<A> | undefined {
    const fresh = (a: A): Pending<A> => {
      const text = this.space.format(a)
      d.proposed.add(this.keyOf(text, undefined))
      d.archs.add(text)
      return { arch: a, unasked: true }
    }
    if (BigInt(d.archs.size) >= this.spaceSize) {
      d.ranOut = true
      return undefined
    }
    if (this.space.enumerate !== undefined) {
      const left: A[] = []
      for (const a of this.space.enumerate()) if (!d.archs.has(this.space.format(a))) left.push(a)
      if (left.length === 0) {
        d.ranOut = true
        return undefined
      }
      return fresh(this.rng.choice(left))
    }
    for (let t = 0; t < MAX_FRESH_DRAWS; t++) {
      const a = this.space.sample(this.rng)
      if (!d.archs.has(this.space.format(a))) return fresh(a)
    }
    return undefined
  }

  tell(id: TrialId, outcome: TrialOutcome): void {
    const p = this.pending.get(id)
    if (p === undefined) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `tell(${String(id)}): no outstanding trial has this id (outstanding: ${[...this.pending.keys()].join(', ') || 'none'})`,
        value: id,
        allowed: [...this.pending.keys()],
      })
    }
    checkOutcome(outcome)
    this.pending.delete(id)
    this.remember(p.arch, p.fidelity, outcome)
    this.track(p.arch, outcome, p.fidelity)
    this.observe(p.arch, outcome, p.unasked === true ? undefined : id, p.fidelity)
  }

  tellUnasked(arch: A, outcome: TrialOutcome): void {
    const a = this.space.validate(arch)
    checkOutcome(outcome)
    this.remember(a, undefined, outcome)
    this.track(a, outcome, undefined)
    this.observe(a, outcome, undefined)
  }

  /** Records a told outcome for {@link StrategyContext.distinct}. */
  private remember(arch: A, fidelity: number | undefined, outcome: TrialOutcome): void {
    const d = this.distinct
    if (d === undefined) return
    const text = this.space.format(arch)
    const key = this.keyOf(text, fidelity)
    d.proposed.add(key)
    d.archs.add(text)
    if (outcome.status === 'complete') d.told.set(key, outcome)
  }

  recommend(): A | undefined {
    return this.best?.arch
  }

  /** Whether a told fidelity counts for the best-so-far (full fidelity only by default). */
  protected countsForBest(fidelity: number | undefined): boolean {
    return fidelity === undefined
  }

  private track(arch: A, outcome: TrialOutcome, fidelity: number | undefined): void {
    if (!this.countsForBest(fidelity)) return
    const f = fitnessOf(this.objectives, this.constraints, outcome)
    if (f !== undefined && (this.best === undefined || compareFitness(f, this.best.fitness) > 0)) {
      this.best = { arch, fitness: f }
    }
  }

  snapshot(): StrategyState {
    return {
      v: 1,
      strategy: this.name,
      nextId: this.nextId,
      rng: this.rng.getState(),
      pending: [...this.pending].map(([id, p]) => ({
        id,
        arch: this.space.toJSON(p.arch),
        ...(p.fidelity === undefined ? {} : { fidelity: p.fidelity }),
        ...(p.unasked === true ? { unasked: true } : {}),
      })),
      ...(this.distinct === undefined
        ? {}
        : {
            distinct: {
              proposed: [...this.distinct.proposed],
              told: [...this.distinct.told],
              ranOut: this.distinct.ranOut,
              repeats: this.distinct.repeats,
            },
          }),
      best:
        this.best === undefined
          ? null
          : { arch: this.space.toJSON(this.best.arch), ...fitnessJson(this.best.fitness) },
      state: this.saveState(),
    }
  }

  restore(state: StrategyState): void {
    if (state.v !== 1 || state.strategy !== this.name) {
      throw new NasError({
        code: 'JOURNAL',
        message: `cannot restore a snapshot of strategy '${String(state.strategy)}' (v${String(state.v)}) into '${this.name}' (v1)`,
        value: state.strategy,
        allowed: [this.name],
      })
    }
    this.nextId = state.nextId as number
    this.rng = Rng.fromState(state.rng as RngState)
    this.pending.clear()
    for (const p of state.pending as { id: number; arch: unknown; fidelity?: number; unasked?: true }[]) {
      const arch = this.space.fromJSON(p.arch)
      this.pending.set(p.id, {
        arch,
        ...(p.fidelity === undefined ? {} : { fidelity: p.fidelity }),
        ...(p.unasked === true ? { unasked: true } : {}),
      })
    }
    const d = this.distinct
    if (d !== undefined) {
      const saved = state.distinct as
        | {
            proposed: string[]
            told: [string, TrialOutcome][]
            ranOut: boolean
            repeats: number
          }
        | undefined
      d.proposed.clear()
      d.told.clear()
      d.archs.clear()
      d.ranOut = saved?.ranOut ?? false
      d.repeats = saved?.repeats ?? 0
      for (const k of saved?.proposed ?? []) {
        d.proposed.add(k)
        d.archs.add(k.split('\u0000')[0]!) // a key is the architecture text, then the fidelity
      }
      for (const [k, o] of saved?.told ?? []) d.told.set(k, o)
    }
    const b = state.best as { arch: unknown; violation: unknown; value: unknown } | null
    this.best =
      b === null
        ? undefined
        : {
            arch: this.space.fromJSON(b.arch),
            fitness: { violation: fromJsonNumber(b.violation), value: fromJsonNumber(b.value) },
          }
    this.loadState(state.state as StrategyState)
  }

  /** Architecture to JSON, for subclass snapshots. */
  protected archJson(a: A): unknown {
    return this.space.toJSON(a)
  }

  /** JSON to architecture, for subclass restores. */
  protected archFromJson(j: unknown): A {
    return this.space.fromJSON(j)
  }
}

/**
 * A fitness as JSON.
 * @since 0.1.0
 */
export const fitnessJson = (f: Fitness): { violation: number | string; value: number | string } => ({
  violation: jsonNumber(f.violation),
  value: jsonNumber(f.value),
})

/**
 * The inverse of {@link fitnessJson}.
 * @since 0.1.0
 */
export const fitnessFromJson = (j: unknown): Fitness => {
  const o = j as { violation: unknown; value: unknown }
  return { violation: fromJsonNumber(o.violation), value: fromJsonNumber(o.value) }
}

/**
 * Throws INPUT_INVALID for something that is not a TrialOutcome.
 * @since 0.1.0
 */
export function checkOutcome(outcome: TrialOutcome): void {
  const s = (outcome as { status?: unknown } | null)?.status
  if (s !== 'complete' && s !== 'failed' && s !== 'pruned') {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `a trial outcome has status 'complete', 'failed' or 'pruned', got ${JSON.stringify(s)}`,
      value: s,
      allowed: ['complete', 'failed', 'pruned'],
    })
  }
  const metrics = (outcome as { metrics?: unknown }).metrics
  if (s === 'complete' && (typeof metrics !== 'object' || metrics === null)) {
    throw new NasError({ code: 'INPUT_INVALID', message: 'a complete outcome needs metrics', value: outcome })
  }
}

/**
 * Completes a decision-list prefix with uniformly random choices from `rng` (through `space.decisions`).
 * @since 0.1.0
 */
export function completeRandomly<A>(space: SearchSpace<A>, prefix: readonly number[], rng: Rng): number[] {
  const ds = prefix.slice()
  for (let d = space.decisions.next(ds); d !== undefined; d = space.decisions.next(ds))
    ds.push(rng.int(d.size))
  return ds
}
