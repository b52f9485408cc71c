import { NasError, formatAllowed, formatObjective, parseConstraint } from '@nasjs/core'
import type {
  BudgetDescription,
  Constraint,
  Evaluator,
  EvaluatorInfo,
  Metrics,
  Objective,
  SearchEvent,
  SearchEventListener,
  TrialOutcome,
} from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { z } from 'zod'
import type { Strategy } from '../types.js'
import { Study, parseObjectives } from './study.js'
import type { CacheMode, TrialRecord } from './study.js'
import { createWorkerPool } from './worker-pool.js'
import type { WorkerEvaluatorSpec, WorkerPool } from './worker-pool.js'

/**
 * A search budget; the search stops at the first limit reached. At least one is required.
 * @since 0.1.0
 */
export const Budget = z
  .object({
    trials: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('trials told, cache hits and constraint skips included'),
    evaluations: z.number().int().min(0).optional().describe('trials that run the evaluator'),
    seconds: z.number().positive().optional().describe('wall time, summed over resumed sessions'),
    cost: z.number().positive().optional().describe('summed evaluation cost (see costMetric)'),
  })
  .strict()
/** @since 0.1.0 */
export type Budget = z.infer<typeof Budget>

/**
 * Options of {@link runSearch}.
 * @since 0.1.0
 * @category driver
 */
export interface RunSearchOptions<A> {
  readonly space: SearchSpace<A>
  /** A strategy instance (e.g. `registry.create('rea', {}, { space, rng: new Rng(seed), objectives })`). */
  readonly strategy: Strategy<A>
  /** An async evaluator, or a module + export run in a `worker_threads` pool (CPU-bound evaluators). */
  readonly evaluator: Evaluator<A> | WorkerEvaluatorSpec
  /** Lets the driver check objectives and constraints before the first evaluation. */
  readonly evaluatorInfo?: EvaluatorInfo
  /** `name:max|min` strings or objects. */
  readonly objectives: readonly (Objective | string)[]
  readonly constraints?: readonly (Constraint | string)[]
  readonly budget: Budget
  /** The metric an evaluation's cost is read from; default: the trial's fidelity, or 1. */
  readonly costMetric?: string
  /** Evaluations in flight at once (default 1; the pool size for a worker evaluator). */
  readonly concurrency?: number
  /** JSONL journal path; every ask and tell is appended and flushed. */
  readonly journal?: string
  /** Continue the journal when it exists. */
  readonly resume?: boolean
  /** `fsync` every journal record. */
  readonly fsync?: boolean
  /** Strategy snapshot records in the journal every this many tells (default 0: resume replays the tells). */
  readonly snapshotEvery?: number
  readonly signal?: AbortSignal
  readonly onEvent?: SearchEventListener
  /** Minimum time between `progress` events (default 200 ms). */
  readonly progressIntervalMs?: number
  /** Recorded in the journal and passed to evaluators as `ctx.seed` (default 0). */
  readonly seed?: number
  /** Metrics known before evaluation; constraints on them are checked first. */
  readonly cheapMetrics?: (arch: A) => Metrics
  /** Study name for the journal and events. */
  readonly name?: string
  /** Result cache: `functional` (default, `space.hash`), `exact` (for latency-like metrics) or `off`. */
  readonly cache?: CacheMode
  /**
   * Stop (reason `exhausted`) after this many cache hits in a row: a converged strategy can keep
   * proposing known architectures, which costs no evaluation budget (default 10,000).
   */
  readonly maxConsecutiveCacheHits?: number
}

/**
 * What {@link runSearch} returns.
 * @since 0.1.0
 * @category driver
 */
export interface SearchResult<A> {
  /** Told trials in the order they were told (all sessions). */
  readonly trials: readonly TrialRecord<A>[]
  /** Best complete, evaluated trial for the first objective at the highest fidelity (feasible first). */
  readonly best: TrialRecord<A> | undefined
  /** Pareto front over all objectives (constrained domination) of the complete, evaluated trials. */
  readonly front: readonly TrialRecord<A>[]
  /** The strategy's own recommendation. */
  readonly recommended: A | undefined
  readonly cacheHits: number
  readonly failed: number
  readonly pruned: number
  readonly evaluations: number
  readonly cost: number
  readonly elapsedMs: number
  readonly reason: 'budget' | 'aborted' | 'exhausted'
  readonly resumed: boolean
}

const OptionsShape = z.object({
  concurrency: z.number().int().min(1).optional(),
  progressIntervalMs: z.number().min(0).optional(),
  snapshotEvery: z.number().int().min(0).optional(),
  seed: z.number().int().optional(),
  maxConsecutiveCacheHits: z.number().int().min(1).optional(),
})

function checkBudget(b: unknown): BudgetDescription {
  const r = Budget.safeParse(b)
  if (!r.success) {
    const issue = r.error.issues[0]!
    const field = issue.path.join('.')
    throw new NasError({
      code: 'BUDGET_INVALID',
      message: `invalid budget${field ? ` ${field}` : ''}: ${issue.message} (got ${JSON.stringify(b)}); a budget has trials, evaluations (integers >= 0), seconds or cost (> 0)`,
      value: b,
      allowed: ['trials', 'evaluations', 'seconds', 'cost'],
      path: issue.path.map(String),
    })
  }
  const v = Object.fromEntries(Object.entries(r.data).filter(([, x]) => x !== undefined)) as BudgetDescription
  if (
    v.trials === undefined &&
    v.evaluations === undefined &&
    v.seconds === undefined &&
    v.cost === undefined
  ) {
    throw new NasError({
      code: 'BUDGET_INVALID',
      message: 'a budget needs at least one of trials, evaluations, seconds or cost',
      value: b,
      allowed: ['trials', 'evaluations', 'seconds', 'cost'],
    })
  }
  return v
}

function checkOptions(o: RunSearchOptions<unknown>): void {
  const r = OptionsShape.safeParse(o)
  if (!r.success) {
    const issue = r.error.issues[0]!
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `invalid search option ${issue.path.join('.')}: ${issue.message}`,
      value: (o as unknown as Record<string, unknown>)[String(issue.path[0])],
      path: issue.path.map(String),
    })
  }
}

function metricMissing(name: string, what: string, available: readonly string[]): NasError {
  return new NasError({
    code: 'METRIC_MISSING',
    message: `${what} '${name}' is not produced by the evaluator; it produces ${formatAllowed(available)}`,
    value: name,
    allowed: available,
  })
}

const isWorkerSpec = (e: unknown): e is WorkerEvaluatorSpec =>
  typeof e === 'object' && e !== null && 'module' in e && typeof e !== 'function'

function checkMetrics(m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null || Array.isArray(m))
    return `the evaluator returned ${JSON.stringify(m)}, not a metrics object`
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'number')
      return `the evaluator returned metric '${k}' = ${JSON.stringify(v)}, not a number`
  }
  return undefined
}

/**
 * Runs a search: asks the strategy, evaluates (with the functional-hash cache, cheap constraints
 * first, `concurrency` evaluations in flight, a `worker_threads` pool for module evaluators), tells
 * the outcomes, journals every ask and tell, and stops at the budget, when the strategy is exhausted,
 * or when `signal` aborts. Evaluator errors become failed trials. With `journal` + `resume`, an
 * interrupted search continues with no trial lost or repeated: outstanding trials are evaluated
 * first under their old ids, and the strategy is restored exactly.
 *
 * @example
 * ```ts
 * const registry = createStrategyRegistry()
 * const objectives = ['valid_acc:max']
 * const strategy = registry.create('rea', {}, { space: nb201, rng: new Rng(1), objectives: objectives.map(parseObjective) })
 * const result = await runSearch({ space: nb201, strategy, evaluator, objectives, budget: { trials: 150 }, seed: 1 })
 * console.log(nb201.format(result.best!.arch), result.cacheHits)
 * ```
 * @since 0.1.0
 * @category driver
 */
export async function runSearch<A>(opts: RunSearchOptions<A>): Promise<SearchResult<A>> {
  const budget = checkBudget(opts.budget)
  checkOptions(opts as RunSearchOptions<unknown>)
  const onEvent = opts.onEvent
  // check objectives and constraints against the evaluator's info before a journal is created
  const info = opts.evaluatorInfo
  if (info !== undefined) {
    const available = [...info.metrics, ...(info.cheapMetrics ?? [])]
    for (const o of parseObjectives(opts.objectives)) {
      if (!available.includes(o.name)) throw metricMissing(o.name, 'objective', available)
    }
    for (const c of opts.constraints ?? []) {
      const metric = typeof c === 'string' ? parseConstraint(c).metric : c.metric
      if (!available.includes(metric)) throw metricMissing(metric, 'constraint metric', available)
    }
  }
  const ev = opts.evaluator as unknown
  if (!isWorkerSpec(ev) && typeof ev !== 'function') {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: 'evaluator must be a function (arch, ctx) => Promise<metrics> or { module, export, workers }',
      value: typeof ev,
    })
  }
  const study = Study.create({
    space: opts.space,
    strategy: opts.strategy,
    objectives: opts.objectives,
    ...(opts.constraints !== undefined ? { constraints: opts.constraints } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.journal !== undefined ? { journal: opts.journal } : {}),
    ...(opts.resume !== undefined ? { resume: opts.resume } : {}),
    ...(opts.fsync !== undefined ? { fsync: opts.fsync } : {}),
    ...(opts.snapshotEvery !== undefined ? { snapshotEvery: opts.snapshotEvery } : {}),
    ...(opts.cheapMetrics !== undefined ? { cheapMetrics: opts.cheapMetrics } : {}),
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(onEvent !== undefined ? { onEvent } : {}),
    ...(opts.cache !== undefined ? { cache: opts.cache } : {}),
    budget,
  })
  let pool: WorkerPool<A> | undefined
  try {
    let evaluator: Evaluator<A>
    if (isWorkerSpec(opts.evaluator)) {
      pool = createWorkerPool(opts.evaluator, (a: A) => opts.space.toJSON(a))
      await pool.ready()
      evaluator = pool.evaluator
    } else {
      evaluator = opts.evaluator
    }
    return await drive(opts, study, evaluator, budget, pool?.size ?? 1)
  } finally {
    study.close()
    await pool?.close()
  }
}

async function drive<A>(
  opts: RunSearchOptions<A>,
  study: Study<A>,
  evaluator: Evaluator<A>,
  budget: BudgetDescription,
  defaultConcurrency: number,
): Promise<SearchResult<A>> {
  const { space, onEvent } = opts
  const concurrency = opts.concurrency ?? defaultConcurrency
  const progressEvery = opts.progressIntervalMs ?? 200
  const maxHits = opts.maxConsecutiveCacheHits ?? 10_000
  const t0 = performance.now()
  const elapsed = (): number => study.previousElapsedMs + (performance.now() - t0)
  study.setClock(() => Math.round(elapsed()))

  // one internal controller: the user's signal and the wall-time budget abort evaluations
  const ctl = new AbortController()
  const onUserAbort = (): void => ctl.abort(opts.signal?.reason)
  if (opts.signal?.aborted === true) ctl.abort(opts.signal.reason)
  opts.signal?.addEventListener('abort', onUserAbort, { once: true })
  let timer: ReturnType<typeof setTimeout> | undefined
  let timedOut = false
  if (budget.seconds !== undefined) {
    const left = budget.seconds * 1000 - elapsed()
    timer = setTimeout(
      () => {
        timedOut = true
        ctl.abort(new NasError({ code: 'ABORTED', message: 'wall-time budget reached' }))
      },
      Math.max(0, left),
    )
  }
  const signal = ctl.signal

  const emit = (e: SearchEvent): void => onEvent?.(e)
  emit({
    type: 'search-start',
    study: opts.name ?? opts.journal ?? 'study',
    space: space.id,
    strategy: opts.strategy.name,
    objectives: study.objectives.map(formatObjective),
    budget,
    resumed: study.resumed,
    trialsDone: study.trials.length,
  })

  let lastProgress = performance.now()
  const progress = (force: boolean): void => {
    if (onEvent === undefined) return
    const now = performance.now()
    if (!force && now - lastProgress < progressEvery) return
    lastProgress = now
    const best = study.best()
    const frontSize = study.objectives.length > 1 ? study.front().length : undefined
    emit({
      type: 'progress',
      trialsDone: study.trials.length,
      ...(budget.trials !== undefined ? { trialsTotal: budget.trials } : {}),
      elapsedMs: Math.round(elapsed()),
      cacheHits: study.cacheHits,
      failed: study.failed,
      evaluations: study.evaluations,
      ...(best?.outcome?.status === 'complete' && frontSize === undefined
        ? {
            best: Object.fromEntries(
              study.objectives.map((o) => [o.name, (best.outcome as { metrics: Metrics }).metrics[o.name]!]),
            ),
          }
        : {}),
      ...(frontSize !== undefined ? { frontSize } : {}),
    })
  }

  const endEvent = (t: TrialRecord<A>): void => {
    if (onEvent === undefined) return
    emit({
      type: 'trial-end',
      trial: t.id,
      arch: space.format(t.arch),
      hash: t.hash,
      outcome: t.outcome!,
      cached: t.cached,
      durationMs: t.durationMs,
      ...(t.fidelity === undefined ? {} : { fidelity: t.fidelity }),
    })
  }

  let metricsChecked = opts.evaluatorInfo !== undefined
  let fatal: unknown
  let inFlight = 0
  let inFlightEvals = 0
  const running = new Map<string, Promise<void>>() // by cache key, for in-flight duplicates
  const runningSet = new Set<Promise<void>>()

  const budgetLeft = (): boolean => {
    if (budget.trials !== undefined && study.trials.length + inFlight >= budget.trials) return false
    if (budget.evaluations !== undefined && study.evaluations + inFlightEvals >= budget.evaluations)
      return false
    if (budget.cost !== undefined && study.cost >= budget.cost) return false
    if (budget.seconds !== undefined && (timedOut || elapsed() >= budget.seconds * 1000)) return false
    return true
  }

  const costOf = (t: TrialRecord<A>, metrics: Metrics | undefined): number => {
    if (opts.costMetric !== undefined) {
      const c = metrics?.[opts.costMetric]
      return c !== undefined && Number.isFinite(c) ? c : 0
    }
    return t.fidelity ?? 1
  }

  /** Evaluates one trial; resolves when it is told (or abandoned after an abort). */
  const evaluate = async (t: TrialRecord<A>): Promise<void> => {
    const start = performance.now()
    let outcome: TrialOutcome
    let metrics: Metrics | undefined
    try {
      metrics = await evaluator(t.arch, {
        signal,
        report: (step, m) => emit({ type: 'trial-report', trial: t.id, step, metrics: m }),
        ...(t.fidelity === undefined ? {} : { fidelity: t.fidelity }),
        seed: study.seed,
      })
      const bad = checkMetrics(metrics)
      if (bad !== undefined) {
        outcome = { status: 'failed', reason: bad }
        metrics = undefined
      } else {
        outcome = { status: 'complete', metrics }
      }
    } catch (e) {
      if (signal.aborted) return // abandoned: stays outstanding in the journal and runs again on resume
      outcome = { status: 'failed', reason: e instanceof Error ? e.message : String(e) }
    }
    if (outcome.status === 'complete' && !metricsChecked) {
      metricsChecked = true
      const available = Object.keys(outcome.metrics)
      for (const o of study.objectives)
        if (!(o.name in outcome.metrics)) throw metricMissing(o.name, 'objective', available)
      for (const c of study.constraints) {
        if (!(c.metric in outcome.metrics) && opts.cheapMetrics === undefined) {
          throw metricMissing(c.metric, 'constraint metric', available)
        }
      }
    }
    study.tell(t.id, outcome, { durationMs: performance.now() - start, cost: costOf(t, metrics) })
    endEvent(t)
  }

  /** Waits for the original of an in-flight duplicate, then answers from the cache (or evaluates). */
  const duplicate = async (t: TrialRecord<A>, original: Promise<void>): Promise<void> => {
    await original
    if (signal.aborted) return
    const hit = study.cached(t)
    if (hit !== undefined) {
      study.tell(t.id, hit, { cached: true, cost: 0 })
      endEvent(t)
    } else {
      inFlightEvals++
      try {
        await evaluate(t)
      } finally {
        inFlightEvals--
      }
    }
  }

  const launch = (t: TrialRecord<A>): void => {
    const key = study.keyOf(t)
    const original = t.duplicateOf !== undefined && key !== undefined ? running.get(key) : undefined
    inFlight++
    if (original === undefined) inFlightEvals++
    if (onEvent !== undefined) {
      emit({
        type: 'trial-start',
        trial: t.id,
        arch: space.format(t.arch),
        hash: t.hash,
        ...(t.fidelity === undefined ? {} : { fidelity: t.fidelity }),
      })
    }
    const p = (original !== undefined ? duplicate(t, original) : evaluate(t))
      .catch((e: unknown) => {
        fatal ??= e
        ctl.abort(e)
      })
      .finally(() => {
        inFlight--
        if (original === undefined) inFlightEvals--
        runningSet.delete(p)
        if (key !== undefined && running.get(key) === p) running.delete(key)
      })
    runningSet.add(p)
    if (original === undefined && key !== undefined) running.set(key, p)
  }

  let reason: SearchResult<A>['reason'] = 'budget'
  let consecutiveHits = 0
  // Evaluators that answer from memory resolve in microtasks only; yield to the event loop now and
  // then so that signal handlers (Ctrl-C), timers and I/O callbacks still run during a fast search.
  let lastYield = performance.now()
  try {
    outer: for (;;) {
      while (inFlight < concurrency) {
        if (performance.now() - lastYield > 25) {
          await new Promise<void>((resolve) => setImmediate(resolve))
          lastYield = performance.now()
        }
        if (signal.aborted) break outer
        if (!budgetLeft()) break
        const r = study.ask()
        if (r.status === 'exhausted') {
          if (inFlight === 0) {
            reason = 'exhausted'
            break outer
          }
          break
        }
        if (r.status === 'wait') {
          if (inFlight === 0) {
            // a strategy that waits with nothing outstanding would never continue
            throw new NasError({
              code: 'INTERNAL',
              message: `strategy '${opts.strategy.name}' proposed nothing although no trial is outstanding`,
            })
          }
          break
        }
        if (r.status === 'done') {
          if (onEvent !== undefined) {
            emit({
              type: 'trial-start',
              trial: r.trial.id,
              arch: space.format(r.trial.arch),
              hash: r.trial.hash,
            })
          }
          endEvent(r.trial)
          consecutiveHits = r.trial.cached ? consecutiveHits + 1 : 0
          if (consecutiveHits >= maxHits) {
            reason = 'exhausted'
            break outer
          }
          progress(false)
          continue
        }
        consecutiveHits = 0
        if (concurrency === 1 && r.trial.duplicateOf === undefined) {
          // fast path: no bookkeeping of promises
          inFlight++
          inFlightEvals++
          try {
            await evaluate(r.trial)
          } finally {
            inFlight--
            inFlightEvals--
          }
          progress(false)
          continue
        }
        launch(r.trial)
      }
      if (fatal !== undefined) break
      if (inFlight === 0) break
      await Promise.race(runningSet)
      progress(false)
      if (fatal !== undefined) break
    }
  } catch (e) {
    fatal ??= e
  }
  // let in-flight evaluations finish (or notice the abort)
  if (runningSet.size > 0) await Promise.allSettled([...runningSet])
  if (timer !== undefined) clearTimeout(timer)
  opts.signal?.removeEventListener('abort', onUserAbort)
  if (fatal !== undefined) {
    emit({
      type: 'search-end',
      reason: 'error',
      trialsDone: study.trials.length,
      cacheHits: study.cacheHits,
      failed: study.failed,
      evaluations: study.evaluations,
      elapsedMs: Math.round(elapsed()),
    })
    study.end('error')
    throw fatal instanceof Error
      ? fatal
      : new NasError({ code: 'INTERNAL', message: `search failed: ${JSON.stringify(fatal)}`, cause: fatal })
  }
  if (opts.signal?.aborted === true) reason = 'aborted'
  progress(true)
  const elapsedMs = Math.round(elapsed())
  emit({
    type: 'search-end',
    reason,
    trialsDone: study.trials.length,
    cacheHits: study.cacheHits,
    failed: study.failed,
    evaluations: study.evaluations,
    elapsedMs,
  })
  study.end(reason)
  return {
    trials: study.trials,
    best: study.best(),
    front: study.front(),
    recommended: opts.strategy.recommend(),
    cacheHits: study.cacheHits,
    failed: study.failed,
    pruned: study.pruned,
    evaluations: study.evaluations,
    cost: study.cost,
    elapsedMs,
    reason,
    resumed: study.resumed,
  }
}
