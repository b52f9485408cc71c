import {
  NasError,
  formatConstraint,
  formatObjective,
  metricMissingError,
  missingMetrics,
  parseBudget,
  parseConstraints,
  parseObjectives,
  totalViolation,
} from '@nasjs/core'
import type {
  Budget,
  CacheMode,
  Constraint,
  Metrics,
  Objective,
  ObjectiveList,
  SearchEvent,
  SearchEventListener,
  TrialOutcome,
} from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { checkOutcome } from '../base.js'
import type { Strategy } from '../types.js'
import { TrialLedger } from './ledger.js'
import { replayInto } from './replay.js'
import type { TrialRecord } from './ledger.js'
import { JOURNAL_VERSION, outcomeJson } from './records.js'
import type { JournalEntry, JournalHeader, JournalRecord } from './records.js'
import { discardStorage } from './storage.js'
import type { StoredJournal, TrialStorage } from './storage.js'

/**
 * What {@link Study.ask} returns.
 * @since 0.1.0
 */
export type AskResult<A> =
  /** Evaluate `trial.arch` (at `trial.fidelity`) and `tell` the outcome. */
  | { readonly status: 'evaluate'; readonly trial: TrialRecord<A> }
  /** The trial was answered without evaluation (the result cache or a violated cheap constraint) and is told. */
  | { readonly status: 'done'; readonly trial: TrialRecord<A> }
  /**
   * The same architecture is being evaluated by an earlier trial: this one is answered from its
   * result when that is told (or handed out again by `ask` if it fails).
   */
  | { readonly status: 'parked'; readonly trial: TrialRecord<A> }
  /** Nothing to do until outstanding trials are told. */
  | { readonly status: 'wait' }
  /** The budget allows no more trials. */
  | { readonly status: 'budget' }
  /** The strategy will propose nothing more. */
  | { readonly status: 'exhausted' }
  /** The strategy proposed only known architectures `maxConsecutiveCacheHits` times in a row. */
  | { readonly status: 'stalled' }

/**
 * Why a search stopped.
 * @since 0.1.0
 */
export type StopReason = 'budget' | 'aborted' | 'exhausted' | 'stalled' | 'error'

/**
 * Options of {@link Study.open}.
 * @since 0.1.0
 */
export interface StudyOptions<A> {
  readonly space: SearchSpace<A>
  readonly strategy: Strategy<A>
  /** `name:max|min` strings or objects; at least one. */
  readonly objectives: ObjectiveList
  /** `metric<=bound` strings or objects. */
  readonly constraints?: readonly (Constraint | string)[]
  /**
   * Where the search stops. Required for a new study; on resume it may be left out (the stored one
   * holds) or changed, which is journaled; a limit below what is already used is `BUDGET_INVALID`.
   */
  readonly budget?: Budget
  /** Recorded in the journal and given to evaluators as `ctx.seed` (default 0). */
  readonly seed?: number
  /**
   * Where trials are kept so that the study can be resumed: `memoryStorage()`, or `fileStorage(path)`
   * from `@nasjs/strategies/node`. Without one nothing is written (the ledger still has everything).
   */
  readonly storage?: TrialStorage
  /** Continue what `storage` holds (an empty store starts a new study). Without it, a non-empty store is an error. */
  readonly resume?: boolean
  /** A strategy snapshot every this many tells, so a resume replays at most that many (default 1000; 0 = never). */
  readonly snapshotEvery?: number
  /**
   * Metrics known before evaluation (e.g. a latency table lookup): constraints on them are checked
   * first, and a violating architecture is never evaluated (told as pruned at step 0, `skipped`).
   * They also fill in a constraint metric the evaluator does not return.
   */
  readonly cheapMetrics?: (arch: A) => Metrics
  /** A study name for the journal header and events (default: the storage's location). */
  readonly name?: string
  readonly onEvent?: SearchEventListener
  /** Minimum time between `progress` events (default 200 ms). */
  readonly progressIntervalMs?: number
  /** What the result cache keys on (default `exact`; see `CacheMode` in `@nasjs/core`). */
  readonly cache?: CacheMode
  /** Evaluations run at once; recorded, and checked on resume (default 1). */
  readonly concurrency?: number
  /** The caller's own settings, recorded in the header and checked on resume (e.g. a dataset). */
  readonly meta?: Readonly<Record<string, unknown>>
  /** Stop (`stalled`) after this many cache hits in a row (default 10,000). */
  readonly maxConsecutiveCacheHits?: number
  /** Scores the front for the anytime curve with several objectives (see `TrialLedger`). */
  readonly frontScore?: (front: readonly TrialRecord<A>[]) => number
}

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

const now = (): number => performance.now()

/**
 * A study: the single owner of a search's state. It holds the {@link TrialLedger} (trials, counts,
 * cache, best, front, anytime curve), the trials in flight, the budget, the clock, the storage and
 * the events, and drives the strategy through `ask`/`tell`. {@link runSearch} is a loop over these
 * two calls; a study can also be driven by hand.
 *
 * @example
 * ```ts
 * const study = await Study.open({ space: nb201, strategy, objectives: ['valid_acc:max'], budget: { trials: 100 } })
 * for (let r = study.ask(); r.status !== 'budget' && r.status !== 'exhausted'; r = study.ask()) {
 *   if (r.status === 'evaluate') study.tell(r.trial.id, { status: 'complete', metrics: await evaluate(r.trial.arch) })
 * }
 * console.log(study.ledger.best())
 * await study.close()
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
  readonly ledger: TrialLedger<A>
  readonly storage: TrialStorage
  /** The study's name (header, events). */
  readonly name: string
  /** True when the study continued stored trials. */
  readonly resumed: boolean
  /** False without a storage: then no record is even built. */
  private readonly keep: boolean
  private budgetNow: Budget
  private readonly snapshotEvery: number
  private readonly cheapMetrics: ((arch: A) => Metrics) | undefined
  private readonly onEvent: SearchEventListener | undefined
  private readonly progressEvery: number
  private readonly maxHits: number
  /** The objective and constraint metrics every complete outcome must hold. */
  private readonly needed: readonly string[]
  /** Outstanding trials to hand out again: left by an earlier session, or whose original failed. */
  private readonly queue: TrialRecord<A>[] = []
  /** Trials being evaluated, by cache key (or by id with the cache off). */
  private readonly running = new Map<string, number>()
  /** Trials waiting for the running trial with the same key. */
  private readonly parked = new Map<string, TrialRecord<A>[]>()
  private nParked = 0
  private consecutiveHits = 0
  private previousMs = 0
  private t0 = now()
  private lastProgress = -Infinity
  private sawComplete = false
  private closed = false

  private constructor(opts: StudyOptions<A>, storage: TrialStorage, resumed: boolean) {
    this.space = opts.space
    this.strategy = opts.strategy
    this.objectives = parseObjectives(opts.objectives)
    this.constraints = parseConstraints(opts.constraints)
    this.seed = opts.seed ?? 0
    this.storage = storage
    this.keep = opts.storage !== undefined
    this.name = opts.name ?? storage.location
    this.resumed = resumed
    this.budgetNow = { trials: Number.MAX_SAFE_INTEGER }
    this.snapshotEvery = opts.snapshotEvery ?? 1000
    this.cheapMetrics = opts.cheapMetrics
    this.onEvent = opts.onEvent
    this.progressEvery = opts.progressIntervalMs ?? 200
    this.maxHits = opts.maxConsecutiveCacheHits ?? 10_000
    this.needed = [
      ...new Set([...this.objectives.map((o) => o.name), ...this.constraints.map((c) => c.metric)]),
    ]
    this.ledger = new TrialLedger({
      space: opts.space,
      objectives: this.objectives,
      constraints: this.constraints,
      cache: opts.cache ?? 'exact',
      ...(opts.frontScore === undefined ? {} : { frontScore: opts.frontScore }),
    })
  }

  /**
   * Opens a study on `storage`: takes its lock, and either starts a new study (writing the header)
   * or, with `resume`, checks that the stored study has the same space, strategy and config,
   * objectives, constraints, seed, cache, concurrency and `meta` (else a `SPACE_MISMATCH` or
   * `JOURNAL` error naming both values), validates every record (each ask's hash against its
   * architecture), rebuilds the ledger, restores the strategy from the last snapshot and replays the
   * records after it, so the strategy continues exactly. A failed open releases the lock and writes
   * nothing.
   */
  static async open<A>(opts: StudyOptions<A>): Promise<Study<A>> {
    const storage = opts.storage ?? discardStorage()
    // settings first: a bad objective or budget is an error before anything is touched
    parseObjectives(opts.objectives)
    parseConstraints(opts.constraints)
    const budget = opts.budget === undefined ? undefined : parseBudget(opts.budget)
    checkInt(opts.snapshotEvery, 'snapshotEvery', 0)
    checkInt(opts.concurrency, 'concurrency', 1)
    checkInt(opts.maxConsecutiveCacheHits, 'maxConsecutiveCacheHits', 1)
    checkInt(opts.seed, 'seed', Number.MIN_SAFE_INTEGER)
    await storage.lock()
    try {
      const stored = await storage.read()
      if (stored !== undefined && opts.resume !== true) {
        throw new NasError({
          code: 'JOURNAL',
          message: `${storage.location} already holds a study (${stored.header.study}); resume it (resume: true, --resume) or choose another place`,
          path: [storage.location],
        })
      }
      const study = new Study(opts, storage, stored !== undefined)
      const header = study.header(opts, budget)
      // what ask needs (e.g. TF.js for a surrogate) is loaded before the first ask, replays included
      await opts.strategy.prepare?.()
      if (stored === undefined) {
        if (budget === undefined) {
          throw new NasError({
            code: 'BUDGET_INVALID',
            message: 'a new study needs a budget, e.g. { trials: 100 }',
            allowed: ['trials', 'evaluations', 'seconds', 'cost'],
          })
        }
        study.budgetNow = budget
        storage.append(header)
      } else {
        checkHeader(storage.location, stored.header, header)
        study.replay(stored)
        if (budget !== undefined && stableJson(budget) !== stableJson(study.budgetNow)) {
          study.changeBudget(budget)
        }
        study.write({
          v: JOURNAL_VERSION,
          type: 'resume',
          at: new Date().toISOString(),
          trialsDone: study.ledger.trials.length,
        })
      }
      await storage.flush()
      study.t0 = now()
      study.lastProgress = study.t0
      return study
    } catch (e) {
      await storage.close()
      throw e
    }
  }

  private header(opts: StudyOptions<A>, budget: Budget | undefined): JournalHeader {
    return {
      v: JOURNAL_VERSION,
      type: 'header',
      study: this.name,
      created: new Date().toISOString(),
      space: this.space.id,
      strategy: { name: this.strategy.name, config: this.strategy.config },
      objectives: this.objectives.map(formatObjective),
      constraints: this.constraints.map(formatConstraint),
      seed: this.seed,
      budget: budget ?? { trials: 1 },
      cache: this.ledger.cacheMode,
      concurrency: opts.concurrency ?? 1,
      ...(opts.meta === undefined ? {} : { meta: opts.meta }),
    }
  }

  /** Rebuilds the ledger from stored records and brings the strategy to the state after them. */
  private replay(stored: StoredJournal): void {
    const where = this.storage.location
    let lastSnap = -1
    stored.entries.forEach((r, i) => {
      if (r.type === 'snapshot') lastSnap = i
    })
    if (lastSnap >= 0) {
      const snap = stored.entries[lastSnap] as Extract<JournalEntry, { type: 'snapshot' }>
      try {
        this.strategy.restore(snap.state)
      } catch (cause) {
        throw new NasError({
          code: 'JOURNAL',
          message: `journal ${where} line ${stored.lines[lastSnap]}: the strategy snapshot cannot be restored: ${cause instanceof Error ? cause.message : String(cause)}`,
          path: [where, stored.lines[lastSnap]!],
          cause,
        })
      }
    }
    const state = replayInto(this.ledger, stored, where, {
      ask: (r, arch, i) => {
        if (i <= lastSnap) return
        const [p] = this.strategy.ask(1)
        if (
          p === undefined ||
          p.id !== r.trial ||
          this.space.hash(p.arch) !== r.hash ||
          p.fidelity !== r.fidelity
        ) {
          throw new NasError({
            code: 'JOURNAL',
            message:
              `cannot resume ${where}: replaying the strategy diverged at trial ${r.trial} (line ${stored.lines[i]}): the journal has ` +
              `${this.space.format(arch)}${r.fidelity === undefined ? '' : ` @${r.fidelity}`}, the strategy proposed ` +
              (p === undefined
                ? 'nothing'
                : `trial ${p.id} ${this.space.format(p.arch)}${p.fidelity === undefined ? '' : ` @${p.fidelity}`}`) +
              ' (is the strategy created with the same seed and config, and deterministic?)',
            path: [where, stored.lines[i]!],
          })
        }
      },
      tell: (r, i) => {
        if (i > lastSnap) this.strategy.tell(r.trial, r.outcome)
        if (r.outcome.status === 'complete') this.sawComplete = true
      },
    })
    this.budgetNow = state.budget
    this.previousMs = state.elapsedMs
    for (const t of this.ledger.allTrials) if (t.outcome === undefined) this.queue.push(t)
  }

  /** The budget in force (the header's, or the last journaled change). */
  get budget(): Budget {
    return this.budgetNow
  }

  /**
   * Changes the budget (journaled). A limit below what is already used is a `BUDGET_INVALID` error.
   */
  changeBudget(budget: Budget): void {
    const b = parseBudget(budget)
    const used: [keyof Budget, number, string][] = [
      ['trials', this.ledger.trials.length, 'trials done'],
      ['evaluations', this.ledger.evaluations, 'evaluations done'],
      ['cost', this.ledger.cost, 'cost spent'],
      ['seconds', this.elapsedMs() / 1000, 'seconds used'],
    ]
    for (const [k, u, what] of used) {
      const v = b[k]
      if (v !== undefined && v < u) {
        throw new NasError({
          code: 'BUDGET_INVALID',
          message: `budget ${k} ${v} is below the ${Number.isInteger(u) ? u : u.toFixed(1)} ${what} in ${this.storage.location}; give at least ${Math.ceil(u)}`,
          value: v,
          allowed: [`>= ${Math.ceil(u)}`],
          path: [k],
        })
      }
    }
    this.budgetNow = b
    this.write({ v: JOURNAL_VERSION, type: 'budget', at: new Date().toISOString(), budget: b })
  }

  /** Search time of every session so far, in milliseconds. */
  elapsedMs(): number {
    return this.previousMs + (now() - this.t0)
  }

  /** Milliseconds left of a `seconds` budget (`Infinity` without one). */
  timeLeftMs(): number {
    const s = this.budgetNow.seconds
    return s === undefined ? Infinity : Math.max(0, s * 1000 - this.elapsedMs())
  }

  /** Trials being evaluated or waiting for a running duplicate (what `concurrency` bounds). */
  inFlight(): number {
    return this.running.size + this.nParked
  }

  /** Whether the budget allows another trial (counting those in flight and queued). */
  private budgetLeft(extra: number): boolean {
    const b = this.budgetNow
    const l = this.ledger
    if (b.trials !== undefined && l.trials.length + this.inFlight() + extra >= b.trials) return false
    if (b.evaluations !== undefined && l.evaluations + this.running.size >= b.evaluations) return false
    if (b.cost !== undefined && l.cost >= b.cost) return false
    if (b.seconds !== undefined && this.timeLeftMs() <= 0) return false
    return true
  }

  /**
   * The next trial. Outstanding trials from an earlier session come first (same ids), then new
   * proposals. Cache hits and trials that violate a cheap constraint are told at once (`done`); a
   * repeat of a trial in flight is `parked`.
   */
  ask(): AskResult<A> {
    this.checkOpen()
    const queued = this.queue[0]
    if (queued !== undefined) {
      if (!this.budgetLeft(0)) return { status: 'budget' }
      this.queue.shift()
      return this.resolve(queued)
    }
    if (this.consecutiveHits >= this.maxHits) return { status: 'stalled' }
    if (!this.budgetLeft(0)) return { status: 'budget' }
    const [p] = this.strategy.ask(1)
    if (p === undefined) {
      return this.strategy.exhausted() && this.ledger.outstanding === 0
        ? { status: 'exhausted' }
        : { status: 'wait' }
    }
    const t = this.ledger.add({
      id: p.id,
      arch: p.arch,
      hash: this.space.hash(p.arch),
      ...(p.fidelity === undefined ? {} : { fidelity: p.fidelity }),
    })
    if (this.keep)
      this.write({
        v: JOURNAL_VERSION,
        type: 'ask',
        trial: t.id,
        arch: this.space.toJSON(t.arch),
        hash: t.hash,
        ...(t.fidelity === undefined ? {} : { fidelity: t.fidelity }),
      })
    return this.resolve(t)
  }

  private resolve(t: TrialRecord<A>): AskResult<A> {
    const hit = this.ledger.cached(t)
    if (hit !== undefined) {
      this.emitStart(t)
      this.answer(t, hit, { cached: true, durationMs: 0, cost: 0, skipped: false })
      this.consecutiveHits++
      return { status: 'done', trial: t }
    }
    this.consecutiveHits = 0
    if (this.cheapMetrics !== undefined && this.constraints.length > 0) {
      const cm = this.cheapMetrics(t.arch)
      const bad = this.constraints.find((c) => c.metric in cm && totalViolation([c], cm) > 0)
      if (bad !== undefined) {
        this.emitStart(t)
        this.emit({
          type: 'constraint-skip',
          trial: t.id,
          arch: this.space.format(t.arch),
          constraint: formatConstraint(bad),
          value: cm[bad.metric]!,
        })
        this.answer(
          t,
          { status: 'pruned', step: 0, metrics: cm },
          { cached: false, durationMs: 0, cost: 0, skipped: true },
        )
        return { status: 'done', trial: t }
      }
    }
    const key = this.ledger.keyOf(t) ?? `#${t.id}`
    if (this.running.has(key)) {
      const list = this.parked.get(key)
      if (list === undefined) this.parked.set(key, [t])
      else list.push(t)
      this.nParked++
      this.emitStart(t)
      return { status: 'parked', trial: t }
    }
    this.running.set(key, t.id)
    this.emitStart(t)
    return { status: 'evaluate', trial: t }
  }

  /**
   * Tells the outcome of an evaluated trial; `cost` counts towards a cost budget (default 1). A
   * complete outcome must hold every objective and constraint metric (cheap metrics fill in the
   * ones the evaluator leaves out): the first one that does not is a `METRIC_MISSING` error (the
   * evaluator does not fit the objectives), later ones are recorded as failed trials.
   */
  tell(id: number, outcome: TrialOutcome, info: { durationMs?: number; cost?: number } = {}): TrialRecord<A> {
    this.checkOpen()
    checkOutcome(outcome)
    const t = this.ledger.get(id)
    const key = t === undefined ? undefined : (this.ledger.keyOf(t) ?? `#${t.id}`)
    if (t === undefined || key === undefined || this.running.get(key) !== id) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `tell(${id}): no trial with this id is being evaluated`,
        value: id,
        allowed: [...this.running.values()],
      })
    }
    let o = outcome
    if (o.status === 'complete') o = this.completeMetrics(t, o)
    this.running.delete(key)
    this.answer(t, o, {
      cached: false,
      durationMs: info.durationMs ?? 0,
      cost: info.cost ?? 1,
      skipped: false,
    })
    const waiting = this.parked.get(key)
    if (waiting !== undefined) {
      this.parked.delete(key)
      this.nParked -= waiting.length
      const hit = this.ledger.cached(t)
      for (const d of waiting) {
        if (hit !== undefined) this.answer(d, hit, { cached: true, durationMs: 0, cost: 0, skipped: false })
        else this.queue.push(d)
      }
    }
    return this.ledger.get(id)!
  }

  /** Applies the missing-metric rule to a complete outcome (see {@link tell}). */
  private completeMetrics(t: TrialRecord<A>, o: Extract<TrialOutcome, { status: 'complete' }>): TrialOutcome {
    let metrics = o.metrics
    if (this.hasAll(metrics)) {
      this.sawComplete = true
      return o
    }
    let missing = missingMetrics(this.objectives, this.constraints, metrics)
    if (this.cheapMetrics !== undefined) {
      const cm = this.cheapMetrics(t.arch)
      metrics = { ...cm, ...metrics }
      missing = missingMetrics(this.objectives, this.constraints, metrics)
    }
    if (missing.length === 0) {
      this.sawComplete = true
      return { status: 'complete', metrics }
    }
    const available = Object.keys(metrics)
    if (!this.sawComplete) {
      const name = missing[0]!
      throw metricMissingError(
        name,
        this.objectives.some((x) => x.name === name) ? 'objective' : 'constraint metric',
        available,
      )
    }
    return {
      status: 'failed',
      reason: `the evaluator returned no ${missing.map((n) => `'${n}'`).join(', ')} (it returned ${available.join(', ') || 'nothing'})`,
    }
  }

  /** Whether `metrics` has every objective and constraint metric (the common case, without allocating). */
  private hasAll(metrics: Metrics): boolean {
    for (const n of this.needed) if (!(n in metrics)) return false
    return true
  }

  /** Tells the strategy, books the outcome, journals it, snapshots, and emits `trial-end`. */
  private answer(
    t: TrialRecord<A>,
    outcome: TrialOutcome,
    info: { cached: boolean; durationMs: number; cost: number; skipped: boolean },
  ): void {
    this.strategy.tell(t.id, outcome)
    this.ledger.record(t.id, outcome, info)
    if (this.keep)
      this.write({
        v: JOURNAL_VERSION,
        type: 'tell',
        trial: t.id,
        outcome: outcomeJson(outcome) as TrialOutcome,
        cached: info.cached,
        durationMs: info.durationMs,
        elapsedMs: Math.round(this.elapsedMs()),
        cost: info.cost,
        ...(info.skipped ? { skipped: true as const } : {}),
      })
    const told = this.ledger.trials.length
    if (this.keep && this.snapshotEvery > 0 && told % this.snapshotEvery === 0) {
      this.storage.snapshot({
        v: JOURNAL_VERSION,
        type: 'snapshot',
        trials: told,
        state: this.strategy.snapshot(),
      })
    }
    if (this.onEvent !== undefined) {
      this.emit({
        type: 'trial-end',
        trial: t.id,
        arch: this.space.format(t.arch),
        hash: t.hash,
        outcome,
        cached: info.cached,
        durationMs: info.durationMs,
        ...(t.fidelity === undefined ? {} : { fidelity: t.fidelity }),
      })
      this.progress(false)
    }
  }

  private write(r: JournalRecord): void {
    this.storage.append(r)
  }

  private emit(e: SearchEvent): void {
    this.onEvent?.(e)
  }

  private emitStart(t: TrialRecord<A>): void {
    if (this.onEvent === undefined) return
    this.emit({
      type: 'trial-start',
      trial: t.id,
      arch: this.space.format(t.arch),
      hash: t.hash,
      ...(t.fidelity === undefined ? {} : { fidelity: t.fidelity }),
    })
  }

  /** Emits `search-start` (the driver calls it once per session). */
  start(strategyName = this.strategy.name): void {
    this.emit({
      type: 'search-start',
      study: this.name,
      space: this.space.id,
      strategy: strategyName,
      objectives: this.objectives.map(formatObjective),
      budget: this.budgetNow,
      resumed: this.resumed,
      trialsDone: this.ledger.trials.length,
    })
  }

  /** Emits a `progress` event, at most every `progressIntervalMs` unless `force`. */
  progress(force: boolean): void {
    if (this.onEvent === undefined) return
    const t = now()
    if (!force && t - this.lastProgress < this.progressEvery) return
    this.lastProgress = t
    const l = this.ledger
    const best = l.best()
    const multi = this.objectives.length > 1
    this.emit({
      type: 'progress',
      trialsDone: l.trials.length,
      ...(this.budgetNow.trials !== undefined ? { trialsTotal: this.budgetNow.trials } : {}),
      elapsedMs: Math.round(this.elapsedMs()),
      cacheHits: l.cacheHits,
      failed: l.failed,
      evaluations: l.evaluations,
      ...(!multi && best?.outcome?.status === 'complete'
        ? {
            best: Object.fromEntries(
              this.objectives.map((o) => [o.name, (best.outcome as { metrics: Metrics }).metrics[o.name]!]),
            ),
          }
        : {}),
      ...(multi ? { frontSize: l.frontSize() } : {}),
    })
  }

  /** Ends the session: a last progress event, an `end` record, `search-end`, and a flush. */
  async finish(reason: StopReason): Promise<void> {
    this.checkOpen()
    this.progress(true)
    const l = this.ledger
    const elapsedMs = Math.round(this.elapsedMs())
    if (this.keep)
      this.write({ v: JOURNAL_VERSION, type: 'end', reason, trialsDone: l.trials.length, elapsedMs })
    this.emit({
      type: 'search-end',
      reason,
      trialsDone: l.trials.length,
      cacheHits: l.cacheHits,
      failed: l.failed,
      evaluations: l.evaluations,
      elapsedMs,
    })
    await this.storage.flush()
  }

  /** Flushes the storage and releases its lock; the study cannot be used after. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.storage.close()
  }

  private checkOpen(): void {
    if (this.closed) throw new NasError({ code: 'JOURNAL', message: `study ${this.name} is closed` })
  }
}

function checkInt(v: number | undefined, name: string, min: number): void {
  if (v === undefined) return
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`,
      value: v,
      allowed: [`integer >= ${min}`],
      path: [name],
    })
  }
}

function checkHeader(where: string, have: JournalHeader, want: JournalHeader): void {
  if (have.space !== want.space) {
    throw new NasError({
      code: 'SPACE_MISMATCH',
      message: `${where} was written for space '${have.space}'; this search uses space '${want.space}'`,
      value: want.space,
      allowed: [have.space],
      path: [where],
    })
  }
  const pairs: [string, unknown, unknown][] = [
    ['strategy', have.strategy.name, want.strategy.name],
    ['strategy config', have.strategy.config, want.strategy.config],
    ['objectives', have.objectives, want.objectives],
    ['constraints', have.constraints, want.constraints],
    ['seed', have.seed, want.seed],
    ['cache', have.cache, want.cache],
    ['concurrency', have.concurrency, want.concurrency],
  ]
  const keys = new Set([...Object.keys(have.meta ?? {}), ...Object.keys(want.meta ?? {})])
  for (const k of [...keys].sort()) pairs.push([k, have.meta?.[k], want.meta?.[k]])
  for (const [what, a, b] of pairs) {
    if (stableJson(a) !== stableJson(b)) {
      throw new NasError({
        code: 'JOURNAL',
        message: `${where} was written with ${what} ${stableJson(a)}; this search uses ${what} ${stableJson(b)} (a resume keeps the run's settings; only the budget may change)`,
        value: b,
        allowed: [a],
        path: [where, what],
      })
    }
  }
}
