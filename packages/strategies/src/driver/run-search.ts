import { NasError, metricMissingError, parseConstraints, parseObjectives } from '@nasjs/core'
import type { Evaluator, EvaluatorInfo, Metrics, TrialOutcome } from '@nasjs/core'
import type { TrialRecord } from './ledger.js'
import { Study } from './study.js'
import type { StopReason, StudyOptions } from './study.js'

/**
 * Options of {@link runSearch}: a study's options plus the evaluator and how to run it.
 * @since 0.1.0
 * @category driver
 */
export interface RunSearchOptions<A> extends Omit<StudyOptions<A>, 'cache'> {
  /** An async evaluator (for `worker_threads`, see `createWorkerPool` in `@nasjs/strategies/node`). */
  readonly evaluator: Evaluator<A>
  /**
   * Lets the driver check objectives and constraints before the first evaluation, and choose the
   * cache (default: the evaluator's own `info` property, as the benchmark evaluators have).
   */
  readonly evaluatorInfo?: EvaluatorInfo
  /**
   * The result cache: `auto` (default) is `functional` when `evaluatorInfo.functionalCache` says
   * functionally equal architectures may share a result, else `exact`.
   */
  readonly cache?: StudyOptions<A>['cache'] | 'auto'
  /** The metric an evaluation's cost is read from; default: the trial's fidelity, or 1. */
  readonly costMetric?: string
  readonly signal?: AbortSignal
}

/**
 * What {@link runSearch} returns.
 * @since 0.1.0
 * @category driver
 */
export interface SearchResult<A> {
  /** The study, closed: its `ledger` has every trial, the counts, best, front and anytime curve. */
  readonly study: Study<A>
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
  readonly reason: Exclude<StopReason, 'error'>
  readonly resumed: boolean
}

/** `setImmediate` where there is one (Node), else a zero timeout (browsers). */
const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => {
    const g = globalThis as { setImmediate?: (f: () => void) => void }
    if (g.setImmediate !== undefined) g.setImmediate(resolve)
    else setTimeout(resolve, 0)
  })

/** Why an evaluator's result is not a metrics object, or undefined when it is one. */
function badMetrics(m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null || Array.isArray(m))
    return `the evaluator returned ${JSON.stringify(m)}, not a metrics object`
  const r = m as Record<string, unknown>
  for (const k in r) {
    if (typeof r[k] !== 'number')
      return `the evaluator returned metric '${k}' = ${JSON.stringify(r[k])}, not a number`
  }
  return undefined
}

/** Checks objectives and constraints against the evaluator's declared metrics, before anything is written. */
function checkInfo(info: EvaluatorInfo | undefined, opts: RunSearchOptions<unknown>): void {
  if (info === undefined) return
  const available = [...info.metrics, ...(info.cheapMetrics ?? [])]
  for (const o of parseObjectives(opts.objectives))
    if (!available.includes(o.name)) throw metricMissingError(o.name, 'objective', available)
  for (const c of parseConstraints(opts.constraints))
    if (!available.includes(c.metric)) throw metricMissingError(c.metric, 'constraint metric', available)
}

/**
 * Runs a search: a loop over {@link Study}'s `ask` and `tell` that evaluates up to `concurrency`
 * trials at once and stops at the budget, when the strategy is exhausted or stalls, or when `signal`
 * aborts. Everything else (the result cache, cheap constraints, repeats of a trial in flight, the
 * budget, the journal, resume, events) is the study's. Evaluator errors become failed trials; an
 * evaluation abandoned by an abort stays outstanding in the journal and runs first on resume.
 *
 * @example
 * ```ts
 * const registry = createStrategyRegistry()
 * const strategy = registry.create('rea', {}, { space: nb201, rng: new Rng(1), objectives: [parseObjective('valid_acc:max')] })
 * const result = await runSearch({ space: nb201, strategy, evaluator, objectives: ['valid_acc:max'], budget: { trials: 150 }, seed: 1 })
 * console.log(nb201.format(result.best!.arch), result.cacheHits)
 * ```
 * @since 0.1.0
 * @category driver
 */
export async function runSearch<A>(opts: RunSearchOptions<A>): Promise<SearchResult<A>> {
  if (typeof (opts.evaluator as unknown) !== 'function') {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message:
        'evaluator must be a function (arch, ctx) => Promise<metrics>; for worker threads use createWorkerPool from @nasjs/strategies/node',
      value: typeof opts.evaluator,
    })
  }
  const info = opts.evaluatorInfo ?? (opts.evaluator as { info?: EvaluatorInfo }).info
  checkInfo(info, opts as RunSearchOptions<unknown>)
  const cache =
    opts.cache === undefined || opts.cache === 'auto'
      ? info?.functionalCache === true
        ? 'functional'
        : 'exact'
      : opts.cache
  const study = await Study.open({ ...opts, cache })
  try {
    const reason = await drive(opts, study)
    const l = study.ledger
    return {
      study,
      trials: l.trials,
      best: l.best(),
      front: l.front(),
      recommended: opts.strategy.recommend(),
      cacheHits: l.cacheHits,
      failed: l.failed,
      pruned: l.pruned,
      evaluations: l.evaluations,
      cost: l.cost,
      elapsedMs: Math.round(study.elapsedMs()),
      reason,
      resumed: study.resumed,
    }
  } finally {
    await study.close()
  }
}

async function drive<A>(opts: RunSearchOptions<A>, study: Study<A>): Promise<Exclude<StopReason, 'error'>> {
  const concurrency = opts.concurrency ?? 1
  // one controller: the user's signal and the wall-time budget abort running evaluations
  const ctl = new AbortController()
  const onUserAbort = (): void => ctl.abort(opts.signal?.reason)
  if (opts.signal?.aborted === true) ctl.abort(opts.signal.reason)
  opts.signal?.addEventListener('abort', onUserAbort, { once: true })
  const left = study.timeLeftMs()
  const timer =
    left === Infinity
      ? undefined
      : setTimeout(
          () => ctl.abort(new NasError({ code: 'ABORTED', message: 'wall-time budget reached' })),
          left,
        )
  const signal = ctl.signal
  const running = new Set<Promise<void>>()
  let fatal: { error: unknown } | undefined

  const evaluate = async (t: TrialRecord<A>): Promise<void> => {
    const start = performance.now()
    let outcome: TrialOutcome
    let metrics: Metrics | undefined
    try {
      metrics = await opts.evaluator(t.arch, {
        signal,
        report: (step, m) => opts.onEvent?.({ type: 'trial-report', trial: t.id, step, metrics: m }),
        ...(t.fidelity === undefined ? {} : { fidelity: t.fidelity }),
        seed: study.seed,
      })
      const bad = badMetrics(metrics)
      outcome = bad === undefined ? { status: 'complete', metrics } : { status: 'failed', reason: bad }
    } catch (e) {
      if (signal.aborted) return // abandoned: stays outstanding and runs again on resume
      outcome = { status: 'failed', reason: e instanceof Error ? e.message : String(e) }
    }
    const cost =
      opts.costMetric === undefined
        ? (t.fidelity ?? 1)
        : outcome.status === 'complete' && Number.isFinite(metrics?.[opts.costMetric])
          ? metrics![opts.costMetric]!
          : 0
    study.tell(t.id, outcome, { durationMs: performance.now() - start, cost })
  }

  const launch = (t: TrialRecord<A>): void => {
    const p: Promise<void> = evaluate(t)
      .catch((error: unknown) => {
        fatal ??= { error }
        ctl.abort(error)
      })
      .finally(() => running.delete(p))
    running.add(p)
  }

  study.start()
  let reason: Exclude<StopReason, 'error'> = 'budget'
  // Evaluators that answer from memory resolve in microtasks only; yield to the event loop now and
  // then so that signal handlers (Ctrl-C), timers and I/O callbacks still run during a fast search.
  let lastYield = performance.now()
  try {
    for (;;) {
      let stop: 'budget' | 'exhausted' | 'stalled' | undefined
      while (study.inFlight() < concurrency && !signal.aborted) {
        if (performance.now() - lastYield > 25) {
          await yieldToEventLoop()
          lastYield = performance.now()
          if (signal.aborted) break
        }
        const r = study.ask()
        if (r.status === 'evaluate') {
          if (concurrency === 1) await evaluate(r.trial)
          else launch(r.trial)
        } else if (r.status === 'wait') {
          if (study.inFlight() === 0) {
            throw new NasError({
              code: 'INTERNAL',
              message: `strategy '${opts.strategy.name}' proposed nothing although no trial is outstanding`,
            })
          }
          break
        } else if (r.status !== 'done' && r.status !== 'parked') {
          stop = r.status
          break
        }
      }
      if (fatal !== undefined || signal.aborted || running.size === 0) {
        if (stop !== undefined) reason = stop
        break
      }
      await Promise.race(running)
    }
  } catch (error) {
    fatal ??= { error }
  }
  if (running.size > 0) await Promise.allSettled([...running])
  if (timer !== undefined) clearTimeout(timer)
  opts.signal?.removeEventListener('abort', onUserAbort)
  if (fatal !== undefined) {
    await study.finish('error')
    const e = fatal.error
    throw e instanceof Error
      ? e
      : new NasError({ code: 'INTERNAL', message: `search failed: ${JSON.stringify(e)}`, cause: e })
  }
  if (opts.signal?.aborted === true) reason = 'aborted'
  else if (signal.aborted) reason = 'budget' // the wall-time budget
  await study.finish(reason)
  return reason
}
