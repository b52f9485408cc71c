import { NasError, dominates, objectiveVector, totalViolation } from '@nasjs/core'
import type { CacheMode, Constraint, Metrics, Objective, TrialOutcome } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'

/**
 * One trial of a study.
 * @since 0.1.0
 * @category driver
 */
export interface TrialRecord<A> {
  readonly id: number
  readonly arch: A
  /** `space.hash(arch)`: functionally equal architectures share it. */
  readonly hash: string
  readonly fidelity?: number
  /** Undefined while the trial is outstanding. */
  readonly outcome?: TrialOutcome
  /** The result cache answered it (no evaluation ran). */
  readonly cached: boolean
  readonly durationMs: number
  /** What the trial counted towards a cost budget. */
  readonly cost: number
  /** A cheap constraint was violated, so the evaluator never ran. */
  readonly skipped?: boolean
}

/** The ledger's own writable view of a trial. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * How a told trial was answered (see {@link TrialLedger.record}).
 * @since 0.1.0
 */
export interface TellInfo {
  readonly cached: boolean
  readonly durationMs: number
  readonly cost: number
  readonly skipped: boolean
}

/**
 * Options of {@link TrialLedger}.
 * @since 0.1.0
 */
export interface LedgerOptions<A> {
  readonly space: SearchSpace<A>
  readonly objectives: readonly Objective[]
  readonly constraints: readonly Constraint[]
  readonly cache: CacheMode
  /**
   * With several objectives: a score of the current front (its feasible members), computed each time
   * the front changes, for the anytime curve; e.g. relative hypervolume against a benchmark's true
   * front. Without it a multi-objective ledger's anytime curve is empty.
   */
  readonly frontScore?: (front: readonly TrialRecord<A>[]) => number
}

interface Member<A> {
  readonly t: TrialRecord<A>
  /** The objectives as a minimisation vector. */
  readonly vec: number[]
  readonly violation: number
  /** Position in tell order. */
  readonly order: number
}

/** Front members with one objective vector and violation (ties: none dominates another). */
interface Group<A> {
  readonly vec: number[]
  readonly violation: number
  readonly members: Member<A>[]
}

/** The best trial and the front among the trials at one fidelity. */
interface Level<A> {
  best: Member<A> | undefined
  /** The front as groups of equal points, so a search that finds one point many times stays fast. */
  front: Group<A>[]
}

const samePoint = (
  a: { vec: number[]; violation: number },
  b: { vec: number[]; violation: number },
): boolean => a.violation === b.violation && a.vec.every((x, j) => x === b.vec[j])

/** Deb's constrained domination (see `constrainedDominates` in `@nasjs/core`). */
function cdom(a: { vec: number[]; violation: number }, b: { vec: number[]; violation: number }): boolean {
  if (a.violation === 0 && b.violation === 0) return dominates(a.vec, b.vec)
  if (a.violation === 0) return true
  if (b.violation === 0) return false
  return a.violation < b.violation
}

/**
 * The record of a study's trials: every trial by id, the told ones in tell order, the counts, the
 * result cache, and the best trial, the Pareto front and the anytime curve, all kept up to date as
 * trials are told (so a summary of 100,000 trials costs nothing extra). It is pure bookkeeping: it
 * never calls a strategy or writes anywhere. {@link Study} owns one; `ledgerFromJournal` rebuilds
 * one from a journal for reports.
 *
 * Which trials count for the best and the front: complete, evaluated (not answered by the cache,
 * which would repeat the original), with finite objectives, at the highest fidelity told (no
 * fidelity means full). Constraints use constrained domination, with the missing-metric rule of
 * `@nasjs/core` (`totalViolation`).
 * @since 0.1.0
 * @category driver
 */
export class TrialLedger<A> {
  readonly space: SearchSpace<A>
  readonly objectives: readonly Objective[]
  readonly constraints: readonly Constraint[]
  readonly cacheMode: CacheMode
  private readonly frontScore: ((front: readonly TrialRecord<A>[]) => number) | undefined
  private readonly byId = new Map<number, Mutable<TrialRecord<A>>>()
  private readonly all: TrialRecord<A>[] = []
  private readonly told: TrialRecord<A>[] = []
  private readonly cache = new Map<string, TrialOutcome>()
  private readonly levels = new Map<number, Level<A>>()
  private top = -Infinity
  private readonly curve: [number, number][] = []
  private n = { evaluations: 0, cacheHits: 0, failed: 0, pruned: 0, skipped: 0 }
  private costSum = 0

  constructor(opts: LedgerOptions<A>) {
    this.space = opts.space
    this.objectives = opts.objectives
    this.constraints = opts.constraints
    this.cacheMode = opts.cache
    this.frontScore = opts.frontScore
  }

  /** Adds an asked trial (outstanding until {@link record}). */
  add(t: { id: number; arch: A; hash: string; fidelity?: number }): TrialRecord<A> {
    if (this.byId.has(t.id)) {
      throw new NasError({ code: 'INTERNAL', message: `trial ${t.id} was asked twice`, value: t.id })
    }
    const rec: Mutable<TrialRecord<A>> = {
      id: t.id,
      arch: t.arch,
      hash: t.hash,
      cached: false,
      durationMs: 0,
      cost: 0,
    }
    if (t.fidelity !== undefined) rec.fidelity = t.fidelity
    this.byId.set(t.id, rec)
    this.all.push(rec)
    return rec
  }

  /** The trial with this id, told or outstanding. */
  get(id: number): TrialRecord<A> | undefined {
    return this.byId.get(id)
  }

  /** Whether `id` is an asked trial that has not been told. */
  isOutstanding(id: number): boolean {
    const t = this.byId.get(id)
    return t !== undefined && t.outcome === undefined
  }

  /** Books a told outcome: counts, cache, best, front and the anytime curve. */
  record(id: number, outcome: TrialOutcome, info: TellInfo): TrialRecord<A> {
    const t = this.byId.get(id)
    if (t === undefined || t.outcome !== undefined) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `tell(${id}): no outstanding trial has this id`,
        value: id,
        allowed: this.all.filter((x) => x.outcome === undefined).map((x) => x.id),
      })
    }
    t.outcome = outcome
    t.cached = info.cached
    t.durationMs = info.durationMs
    t.cost = info.cost
    if (info.skipped) t.skipped = true
    this.told.push(t)
    if (info.cached) this.n.cacheHits++
    else if (info.skipped) this.n.skipped++
    else this.n.evaluations++
    if (outcome.status === 'failed') this.n.failed++
    if (outcome.status === 'pruned') this.n.pruned++
    this.costSum += info.cost
    const key = this.keyOf(t)
    if (key !== undefined && outcome.status === 'complete') this.cache.set(key, outcome)
    if (outcome.status === 'complete' && !info.cached) this.place(t, outcome.metrics)
    return t
  }

  /** Places a complete, evaluated trial in its fidelity level's best and front. */
  private place(t: TrialRecord<A>, metrics: Metrics): void {
    const values = objectiveVector(this.objectives, metrics)
    if (values === undefined) return
    const m: Member<A> = {
      t,
      vec: values.map((x, j) => (this.objectives[j]!.direction === 'max' ? -x : x)),
      violation: totalViolation(this.constraints, metrics),
      order: this.told.length,
    }
    const f = t.fidelity ?? Infinity
    let level = this.levels.get(f)
    if (level === undefined) {
      level = { best: undefined, front: [] }
      this.levels.set(f, level)
    }
    const newTop = f > this.top
    if (newTop) this.top = f
    let changed = newTop
    const b = level.best
    if (
      b === undefined ||
      m.violation < b.violation ||
      (m.violation === b.violation && m.vec[0]! < b.vec[0]!)
    ) {
      level.best = m
      if (this.objectives.length === 1) changed = true
    }
    const same = level.front.find((g) => samePoint(g, m))
    if (same !== undefined) same.members.push(m)
    else if (!level.front.some((g) => cdom(g, m))) {
      level.front = level.front.filter((g) => !cdom(m, g))
      level.front.push({ vec: m.vec, violation: m.violation, members: [m] })
      if (this.objectives.length > 1) changed = true
    }
    if (changed && f === this.top) this.extendCurve()
  }

  private extendCurve(): void {
    const level = this.levels.get(this.top)!
    let value: number | undefined
    if (this.objectives.length === 1) {
      const b = level.best!
      if (b.violation === 0) value = this.objectives[0]!.direction === 'max' ? -b.vec[0]! : b.vec[0]!
    } else if (this.frontScore !== undefined) {
      const feasible = this.members(level)
        .filter((q) => q.violation === 0)
        .map((q) => q.t)
      if (feasible.length > 0) value = this.frontScore(feasible)
    }
    if (value === undefined) return
    const x = this.told.length
    const last = this.curve[this.curve.length - 1]
    if (last !== undefined && last[0] === x) last[1] = value
    else if (last === undefined || last[1] !== value) this.curve.push([x, value])
  }

  /** The cache key of a trial (`undefined` with cache `off`). */
  keyOf(t: Pick<TrialRecord<A>, 'arch' | 'hash' | 'fidelity'>): string | undefined {
    if (this.cacheMode === 'off') return undefined
    const k = this.cacheMode === 'exact' ? `=${this.space.format(t.arch)}` : t.hash
    return t.fidelity === undefined ? k : `${k}@${t.fidelity}`
  }

  /** A complete outcome in the cache for this trial's architecture and fidelity. */
  cached(t: Pick<TrialRecord<A>, 'arch' | 'hash' | 'fidelity'>): TrialOutcome | undefined {
    const k = this.keyOf(t)
    return k === undefined ? undefined : this.cache.get(k)
  }

  /** Told trials, in the order they were told. */
  get trials(): readonly TrialRecord<A>[] {
    return this.told
  }
  /** Every trial in the order asked, outstanding ones included. */
  get allTrials(): readonly TrialRecord<A>[] {
    return this.all
  }
  /** Asked and not yet told. */
  get outstanding(): number {
    return this.all.length - this.told.length
  }
  get evaluations(): number {
    return this.n.evaluations
  }
  get cacheHits(): number {
    return this.n.cacheHits
  }
  get failed(): number {
    return this.n.failed
  }
  get pruned(): number {
    return this.n.pruned
  }
  /** Trials a cheap constraint answered without evaluation. */
  get skipped(): number {
    return this.n.skipped
  }
  get cost(): number {
    return this.costSum
  }

  /** The best trial for the first objective (feasible first, then the smallest violation). */
  best(): TrialRecord<A> | undefined {
    return this.levels.get(this.top)?.best?.t
  }

  /** The Pareto front over all objectives (constrained domination), in the order the trials were told. */
  front(): TrialRecord<A>[] {
    const level = this.levels.get(this.top)
    return level === undefined ? [] : this.members(level).map((m) => m.t)
  }

  /** The number of trials on the front (cheaper than `front().length`). */
  frontSize(): number {
    const level = this.levels.get(this.top)
    let n = 0
    for (const g of level?.front ?? []) n += g.members.length
    return n
  }

  private members(level: Level<A>): Member<A>[] {
    const out = level.front.flatMap((g) => g.members)
    return out.sort((a, b) => a.order - b.order)
  }

  /** Whether a trial satisfies every constraint (the missing-metric rule: a missing metric does not). */
  feasible(t: TrialRecord<A>): boolean {
    const o = t.outcome
    return o?.status === 'complete' && totalViolation(this.constraints, o.metrics) === 0
  }

  /**
   * The anytime curve as change points `[trials told, value]`: the best feasible value of the first
   * objective (one objective), or `frontScore` of the feasible front (several objectives).
   */
  get anytime(): readonly (readonly [number, number])[] {
    return this.curve
  }
}
