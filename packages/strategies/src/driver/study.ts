import { basename } from 'node:path'
import {
  NasError,
  formatConstraint,
  formatObjective,
  paretoFrontOfMetrics,
  parseConstraint,
  parseObjective,
} from '@nasjs/core'
import type { Constraint, Metrics, Objective, SearchEventListener, TrialOutcome } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { compareFitness, fitnessOf, totalViolation } from '../base.js'
import type { Strategy } from '../types.js'
import { JournalWriter, journalExists, readJournal } from './journal.js'
import type { JournalHeader } from './journal.js'

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
  outcome?: TrialOutcome
  /** The functional-hash cache answered it (no evaluation ran). */
  cached: boolean
  durationMs: number
  /** What the trial counted towards a cost budget. */
  cost: number
  /** A cheap constraint was violated, so the evaluator never ran. */
  skipped?: boolean
  /** Set while another outstanding trial with the same hash and fidelity is being evaluated. */
  duplicateOf?: number
}

/**
 * What {@link Study.ask} returns.
 * @since 0.1.0
 */
export type AskResult<A> =
  /** Evaluate `trial.arch` (at `trial.fidelity`) and `tell` the outcome. */
  | { readonly status: 'evaluate'; readonly trial: TrialRecord<A> }
  /** The trial was answered without evaluation (cache hit or a violated cheap constraint) and is told. */
  | { readonly status: 'done'; readonly trial: TrialRecord<A> }
  /** The strategy waits for outstanding trials to be told. */
  | { readonly status: 'wait' }
  /** The strategy will propose nothing more. */
  | { readonly status: 'exhausted' }

/**
 * Options of {@link Study.create}.
 * @since 0.1.0
 */
export interface StudyOptions<A> {
  readonly space: SearchSpace<A>
  readonly strategy: Strategy<A>
  /** `name:max|min` strings or objects; at least one. */
  readonly objectives: readonly (Objective | string)[]
  /** `metric<=bound` strings or objects. */
  readonly constraints?: readonly (Constraint | string)[]
  /** Recorded in the journal header and given to evaluators as `ctx.seed`. */
  readonly seed?: number
  /** JSONL journal path (`trials.jsonl`). */
  readonly journal?: string
  /** Continue the journal if it exists (a missing file starts a new study). */
  readonly resume?: boolean
  /** Force every journal record to disk (`fsync`); slower, survives power loss. */
  readonly fsync?: boolean
  /** Write a strategy snapshot into the journal every this many tells (0 = never; resume replays). */
  readonly snapshotEvery?: number
  /**
   * Metrics that are cheap to know before evaluation (e.g. a latency table lookup): constraints on
   * them are checked first, and a violating architecture is never evaluated (it is told as pruned at
   * step 0 with these metrics).
   */
  readonly cheapMetrics?: (arch: A) => Metrics
  /** A study name for the journal header (default: the journal's file name). */
  readonly name?: string
  /** Recorded in the journal header. */
  readonly budget?: JournalHeader['budget']
  /** Where constraint-skip events go. */
  readonly onEvent?: SearchEventListener
  /**
   * What the result cache keys on: `functional` (default) = `space.hash`, so functionally equal
   * architectures are evaluated once per study (Unified Functional Hashing); `exact` = the
   * architecture itself (`space.format`), for metrics that differ between functionally equal
   * architectures, such as measured latency (dead ops still run); `off` = evaluate every trial.
   */
  readonly cache?: CacheMode
}

/**
 * How a study's result cache identifies architectures (see {@link StudyOptions.cache}).
 * @since 0.1.0
 */
export type CacheMode = 'functional' | 'exact' | 'off'

/**
 * Stable JSON: object keys sorted, for comparing configs.
 * @since 0.1.0
 */
export function stableJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(stableJson).join(',')}]`
  if (x !== null && typeof x === 'object') {
    const o = x as Record<string, unknown>
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(x) ?? 'null'
}

/**
 * A study: one strategy on one space with its objectives, constraints, functional-hash cache and
 * journal, driven by hand with `ask`/`tell` (what {@link runSearch} does in a loop).
 *
 * @example
 * ```ts
 * const study = Study.create({ space: nb201, strategy, objectives: ['valid_acc:max'], journal: 'trials.jsonl' })
 * for (let i = 0; i < 100; i++) {
 *   const r = study.ask()
 *   if (r.status !== 'evaluate') continue
 *   study.tell(r.trial.id, { status: 'complete', metrics: await evaluate(r.trial.arch) })
 * }
 * study.close()
 * ```
 * @since 0.1.0
 * @category driver
 */
export class Study<A> {
  readonly space: SearchSpace<A>
  readonly strategy: Strategy<A>
  readonly objectives: readonly Objective[]
  readonly constraints: readonly Constraint[]
  readonly seed: number
  /** True when the study continued a journal. */
  readonly resumed: boolean
  /** Search time of earlier sessions (from the journal). */
  readonly previousElapsedMs: number
  private readonly all: TrialRecord<A>[] = []
  private readonly told: TrialRecord<A>[] = []
  private readonly byId = new Map<number, TrialRecord<A>>()
  private readonly cache = new Map<string, TrialOutcome>()
  private readonly inflight = new Map<string, number>()
  private readonly resumedPending: TrialRecord<A>[] = []
  private readonly journal: JournalWriter | undefined
  private readonly snapshotEvery: number
  private readonly cheapMetrics: ((arch: A) => Metrics) | undefined
  private readonly onEvent: SearchEventListener | undefined
  private hits = 0
  private nFailed = 0
  private nPruned = 0
  private nEvaluations = 0
  private costSum = 0
  private elapsedNow: () => number = () => 0
  readonly cacheMode: CacheMode

  private constructor(opts: StudyOptions<A>) {
    this.space = opts.space
    this.strategy = opts.strategy
    this.objectives = parseObjectives(opts.objectives)
    this.constraints = (opts.constraints ?? []).map((c) => (typeof c === 'string' ? parseConstraint(c) : c))
    this.seed = opts.seed ?? 0
    this.snapshotEvery = opts.snapshotEvery ?? 0
    this.cheapMetrics = opts.cheapMetrics
    this.onEvent = opts.onEvent
    this.cacheMode = opts.cache ?? 'functional'

    const header: JournalHeader = {
      v: 1,
      type: 'header',
      study: opts.name ?? (opts.journal !== undefined ? basename(opts.journal) : 'study'),
      created: new Date().toISOString(),
      space: this.space.id,
      strategy: { name: this.strategy.name, config: this.strategy.config },
      objectives: this.objectives.map(formatObjective),
      constraints: this.constraints.map(formatConstraint),
      seed: this.seed,
      budget: opts.budget ?? {},
      cache: this.cacheMode,
    }
    let resumed = false
    let previousElapsedMs = 0
    if (opts.journal !== undefined) {
      const exists = journalExists(opts.journal)
      if (exists && opts.resume !== true) {
        throw new NasError({
          code: 'JOURNAL',
          message: `journal ${opts.journal} already exists; pass resume: true (--resume) to continue it, or choose another path`,
          path: [opts.journal],
        })
      }
      if (exists) {
        const j = readJournal(opts.journal)
        checkHeader(opts.journal, j.header, header)
        previousElapsedMs = this.replay(j.records, opts.journal)
        this.journal = JournalWriter.open(opts.journal, {
          fsync: opts.fsync === true,
          ...(j.tornTail ? { truncateTo: j.validBytes } : {}),
        })
        this.journal.write({
          v: 1,
          type: 'resume',
          at: new Date().toISOString(),
          trialsDone: this.told.length,
        })
        resumed = true
      } else {
        this.journal = JournalWriter.open(opts.journal, { fsync: opts.fsync === true })
        this.journal.write(header)
      }
    }
    this.resumed = resumed
    this.previousElapsedMs = previousElapsedMs
  }

  /**
   * Creates a study; with `journal` and `resume: true` and an existing journal, checks that the
   * journal belongs to the same space, strategy (name and config), objectives, constraints and seed
   * (else `SPACE_MISMATCH` / `JOURNAL` naming both), restores the strategy from the last snapshot and
   * replays the asks and tells after it, so the strategy continues exactly.
   */
  static create<A>(opts: StudyOptions<A>): Study<A> {
    return new Study(opts)
  }

  /** Sets the clock that tell records store as `elapsedMs` (the driver's). */
  setClock(now: () => number): void {
    this.elapsedNow = now
  }

  private replay(
    records: readonly Exclude<import('./journal.js').JournalRecord, JournalHeader>[],
    path: string,
  ): number {
    let lastSnap = -1
    records.forEach((r, i) => {
      if (r.type === 'snapshot') lastSnap = i
    })
    if (lastSnap >= 0) {
      const snap = records[lastSnap]
      if (snap?.type === 'snapshot') this.strategy.restore(snap.state)
    }
    let elapsed = 0
    records.forEach((r, i) => {
      const live = i > lastSnap
      if (r.type === 'ask') {
        const arch = this.space.fromJSON(r.arch)
        const t: TrialRecord<A> = {
          id: r.trial,
          arch,
          hash: r.hash,
          ...(r.fidelity === undefined ? {} : { fidelity: r.fidelity }),
          cached: false,
          durationMs: 0,
          cost: 0,
        }
        if (live) {
          const [p] = this.strategy.ask(1)
          const h = p === undefined ? undefined : this.space.hash(p.arch)
          if (p === undefined || p.id !== r.trial || h !== r.hash || p.fidelity !== r.fidelity) {
            throw new NasError({
              code: 'JOURNAL',
              message:
                `cannot resume ${path}: replaying the strategy diverged at trial ${r.trial}: the journal has ` +
                `${this.space.format(arch)}${r.fidelity === undefined ? '' : ` @${r.fidelity}`}, the strategy proposed ` +
                (p === undefined
                  ? 'nothing'
                  : `trial ${p.id} ${this.space.format(p.arch)}${p.fidelity === undefined ? '' : ` @${p.fidelity}`}`) +
                ' (is the strategy created with the same seed and config, and deterministic?)',
              path: [path],
            })
          }
        }
        this.all.push(t)
        this.byId.set(t.id, t)
      } else if (r.type === 'tell') {
        const t = this.byId.get(r.trial)
        if (t === undefined || t.outcome !== undefined) {
          throw new NasError({
            code: 'JOURNAL',
            message: `journal ${path}: a tell of trial ${r.trial} without an outstanding ask`,
            path: [path],
          })
        }
        if (live) this.strategy.tell(r.trial, r.outcome)
        this.record(t, r.outcome, r.cached, r.durationMs, r.cost, r.skipped === true)
        elapsed = r.elapsedMs
      } else if (r.type === 'end') {
        elapsed = Math.max(elapsed, r.elapsedMs)
      }
    })
    for (const t of this.all) if (t.outcome === undefined) this.resumedPending.push(t)
    return elapsed
  }

  /** Books a told outcome in the study's own state (no strategy call, no journal). */
  private record(
    t: TrialRecord<A>,
    outcome: TrialOutcome,
    cached: boolean,
    durationMs: number,
    cost: number,
    skipped: boolean,
  ): void {
    t.outcome = outcome
    t.cached = cached
    t.durationMs = durationMs
    t.cost = cost
    if (skipped) t.skipped = true
    this.told.push(t)
    if (cached) this.hits++
    else if (!skipped) this.nEvaluations++
    if (outcome.status === 'failed') this.nFailed++
    if (outcome.status === 'pruned') this.nPruned++
    this.costSum += cost
    const key = this.keyOf(t)
    if (key === undefined) return
    if (outcome.status === 'complete') this.cache.set(key, outcome)
    if (this.inflight.get(key) === t.id) this.inflight.delete(key)
  }

  /**
   * The next trial. Trials left outstanding by an interrupted session come first (same ids), then
   * new proposals. Cache hits and trials that violate a cheap constraint are told right away
   * (`status: 'done'`).
   */
  ask(): AskResult<A> {
    let t = this.resumedPending.shift()
    if (t === undefined) {
      const [p] = this.strategy.ask(1)
      if (p === undefined) {
        return this.strategy.exhausted() && this.outstanding() === 0
          ? { status: 'exhausted' }
          : { status: 'wait' }
      }
      t = {
        id: p.id,
        arch: p.arch,
        hash: this.space.hash(p.arch),
        ...(p.fidelity === undefined ? {} : { fidelity: p.fidelity }),
        cached: false,
        durationMs: 0,
        cost: 0,
      }
      this.all.push(t)
      this.byId.set(t.id, t)
      this.journal?.write({
        v: 1,
        type: 'ask',
        trial: t.id,
        arch: this.space.toJSON(t.arch),
        hash: t.hash,
        ...(t.fidelity === undefined ? {} : { fidelity: t.fidelity }),
      })
    }
    const key = this.keyOf(t)
    const hit = key === undefined ? undefined : this.cache.get(key)
    if (hit !== undefined) {
      this.tellInternal(t, hit, true, 0, 0)
      return { status: 'done', trial: t }
    }
    if (this.cheapMetrics !== undefined && this.constraints.length > 0) {
      const cm = this.cheapMetrics(t.arch)
      const bad = this.constraints.find((c) => c.metric in cm && totalViolation([c], cm) > 0)
      if (bad !== undefined) {
        this.onEvent?.({
          type: 'constraint-skip',
          trial: t.id,
          arch: this.space.format(t.arch),
          constraint: formatConstraint(bad),
          value: cm[bad.metric]!,
        })
        this.tellInternal(t, { status: 'pruned', step: 0, metrics: cm }, false, 0, 0, true)
        return { status: 'done', trial: t }
      }
    }
    if (key !== undefined) {
      const first = this.inflight.get(key)
      if (first !== undefined) t.duplicateOf = first
      else this.inflight.set(key, t.id)
    }
    return { status: 'evaluate', trial: t }
  }

  /** Tells the outcome of an evaluated trial (`cost` counts towards a cost budget, default 1). */
  tell(
    id: number,
    outcome: TrialOutcome,
    info: { durationMs?: number; cost?: number; cached?: boolean } = {},
  ): TrialRecord<A> {
    const t = this.byId.get(id)
    if (t === undefined || t.outcome !== undefined) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `tell(${id}): no outstanding trial has this id`,
        value: id,
        allowed: this.all.filter((x) => x.outcome === undefined).map((x) => x.id),
      })
    }
    this.tellInternal(
      t,
      outcome,
      info.cached === true,
      info.durationMs ?? 0,
      info.cost ?? (info.cached === true ? 0 : 1),
    )
    return t
  }

  private tellInternal(
    t: TrialRecord<A>,
    outcome: TrialOutcome,
    cached: boolean,
    durationMs: number,
    cost: number,
    skipped = false,
  ): void {
    delete t.duplicateOf
    this.strategy.tell(t.id, outcome)
    this.record(t, outcome, cached, durationMs, cost, skipped)
    this.journal?.write({
      v: 1,
      type: 'tell',
      trial: t.id,
      outcome,
      cached,
      durationMs,
      elapsedMs: this.elapsedNow(),
      cost,
      ...(skipped ? { skipped: true as const } : {}),
    })
    if (this.journal !== undefined && this.snapshotEvery > 0 && this.told.length % this.snapshotEvery === 0) {
      this.journal.write({
        v: 1,
        type: 'snapshot',
        trials: this.told.length,
        state: this.strategy.snapshot(),
      })
    }
  }

  /** The cache key of a trial (`undefined` with `cache: 'off'`). */
  keyOf(t: Pick<TrialRecord<A>, 'arch' | 'hash' | 'fidelity'>): string | undefined {
    if (this.cacheMode === 'off') return undefined
    const k = this.cacheMode === 'exact' ? `=${this.space.format(t.arch)}` : t.hash
    return t.fidelity === undefined ? k : `${k}@${t.fidelity}`
  }

  /** A complete outcome already in the cache for this trial's architecture and fidelity. */
  cached(t: Pick<TrialRecord<A>, 'arch' | 'hash' | 'fidelity'>): TrialOutcome | undefined {
    const k = this.keyOf(t)
    return k === undefined ? undefined : this.cache.get(k)
  }

  /** Writes an `end` record (the journal stays resumable). */
  end(reason: string): void {
    this.journal?.write({
      v: 1,
      type: 'end',
      reason,
      trialsDone: this.told.length,
      elapsedMs: this.elapsedNow(),
    })
  }

  close(): void {
    this.journal?.close()
  }

  /** Told trials, in the order they were told. */
  get trials(): readonly TrialRecord<A>[] {
    return this.told
  }
  /** Every trial by id order of asking, outstanding ones included. */
  get allTrials(): readonly TrialRecord<A>[] {
    return this.all
  }
  outstanding(): number {
    return this.all.length - this.told.length
  }
  get cacheHits(): number {
    return this.hits
  }
  get failed(): number {
    return this.nFailed
  }
  get pruned(): number {
    return this.nPruned
  }
  /** Trials that ran the evaluator (not cached, not skipped by a cheap constraint). */
  get evaluations(): number {
    return this.nEvaluations
  }
  get cost(): number {
    return this.costSum
  }

  /** The trials that count for best/front: complete, and at the highest fidelity seen (absent = full). */
  private finalTrials(): TrialRecord<A>[] {
    const done = this.told.filter((t) => t.outcome?.status === 'complete')
    let top = -Infinity
    for (const t of done) top = Math.max(top, t.fidelity ?? Infinity)
    return done.filter((t) => (t.fidelity ?? Infinity) === top && !t.cached)
  }

  /** The best complete trial for the first objective (feasible first). */
  best(): TrialRecord<A> | undefined {
    let best: TrialRecord<A> | undefined
    let bf: ReturnType<typeof fitnessOf>
    for (const t of this.finalTrials()) {
      const f = fitnessOf(this.objectives, this.constraints, t.outcome!)
      if (f !== undefined && (bf === undefined || compareFitness(f, bf) > 0)) {
        best = t
        bf = f
      }
    }
    return best
  }

  /** The Pareto front of the complete trials over all objectives (constrained domination). */
  front(): TrialRecord<A>[] {
    const ts = this.finalTrials().filter((t) =>
      this.objectives.every((o) => Number.isFinite((t.outcome as { metrics: Metrics }).metrics[o.name])),
    )
    if (ts.length === 0) return []
    const idx = paretoFrontOfMetrics(
      ts.map((t) => (t.outcome as { metrics: Metrics }).metrics),
      this.objectives,
      this.constraints.length > 0 ? { constraints: this.constraints } : {},
    )
    return idx.map((i) => ts[i]!)
  }
}

/**
 * Parses objectives given as strings or objects; at least one, no duplicates.
 * @since 0.1.0
 */
export function parseObjectives(list: readonly (Objective | string)[]): Objective[] {
  const n = (list as { length?: unknown } | undefined)?.length
  if (typeof n !== 'number' || n === 0) {
    throw new NasError({
      code: 'OBJECTIVE_INVALID',
      message: 'a search needs at least one objective, e.g. valid_acc:max',
      value: list,
    })
  }
  const out = list.map((o) => (typeof o === 'string' ? parseObjective(o) : o))
  const names = out.map((o) => o.name)
  const dup = names.find((n, i) => names.indexOf(n) !== i)
  if (dup !== undefined) {
    throw new NasError({
      code: 'OBJECTIVE_INVALID',
      message: `objective '${dup}' is given twice`,
      value: dup,
    })
  }
  return out
}

function checkHeader(path: string, have: JournalHeader, want: JournalHeader): void {
  if (have.space !== want.space) {
    throw new NasError({
      code: 'SPACE_MISMATCH',
      message: `journal ${path} was written for space '${have.space}'; this search uses space '${want.space}'`,
      value: want.space,
      allowed: [have.space],
      path: [path],
    })
  }
  const pairs: [string, unknown, unknown][] = [
    ['strategy', have.strategy.name, want.strategy.name],
    ['strategy config', have.strategy.config, want.strategy.config],
    ['objectives', have.objectives, want.objectives],
    ['constraints', have.constraints, want.constraints],
    ['seed', have.seed, want.seed],
    ['cache', have.cache ?? 'functional', want.cache ?? 'functional'],
  ]
  for (const [what, a, b] of pairs) {
    if (stableJson(a) !== stableJson(b)) {
      throw new NasError({
        code: 'JOURNAL',
        message: `journal ${path} was written with ${what} ${stableJson(a)}; this search uses ${what} ${stableJson(b)}`,
        value: b,
        allowed: [a],
        path: [path],
      })
    }
  }
}
