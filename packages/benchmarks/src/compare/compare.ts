import {
  NasError,
  dominates,
  hypervolume,
  parseObjective,
  type Evaluator,
  type EvaluatorContext,
  type Metrics,
  type Objective,
} from '@nasjs/core'

import { frontQuality, type TrueParetoFront } from './front.js'

/**
 * One evaluated architecture.
 * @since 0.1.0
 */
export interface Trial<A> {
  readonly arch: A
  readonly metrics: Readonly<Metrics>
}

/**
 * What {@link compare} hands a runner for one (strategy, seed) run.
 * @since 0.1.0
 */
export interface RunnerArgs<A> {
  /** The run's seed: same seed, same run. */
  readonly seed: number
  /** The number of evaluator calls (queries) the run may make. */
  readonly budget: number
  /**
   * The benchmark evaluator, wrapped by `compare` to record every query; its `info`
   * (`EvaluatorInfo` of `@nasjs/core`), when the wrapped evaluator has one, is kept.
   */
  readonly evaluator: Evaluator<A>
  /** Aborted when the budget is used up or the comparison is cancelled: stop then. */
  readonly signal: AbortSignal
}

/**
 * A search strategy as the comparison protocol sees it: it gets a seed, a query budget and an
 * evaluator, and returns the trials it evaluated, in query order. `compare` scores the queries it
 * observes through the evaluator (every call counts, repeats included), so a runner cannot
 * under-report its cost; calls beyond the budget are rejected with an `ABORTED` NasError.
 * The `@nasjs/strategies` package wraps its strategies as runners.
 * @since 0.1.0
 */
export type Runner<A> = (args: RunnerArgs<A>) => Promise<readonly Trial<A>[]>

/**
 * Progress of a comparison, after each finished run.
 * @since 0.1.0
 */
export interface CompareProgress {
  readonly strategy: string
  readonly seed: number
  /** Runs finished so far, and in all. */
  readonly done: number
  readonly total: number
  /** The run's final reported value (e.g. test accuracy of its incumbent). */
  readonly final: number
}

/**
 * Options of {@link compare}.
 * @since 0.1.0
 */
export interface CompareOptions<A> {
  /** The strategies, by name. A runner named `random` is the baseline for the relative improvement. */
  readonly runners: Readonly<Record<string, Runner<A>>>
  /** Seeds to run every strategy with: a list, or a count `n` for seeds `0..n-1`. */
  readonly seeds: number | readonly number[]
  /** Queries per run. */
  readonly budget: number
  /** The evaluator every run uses (give this or `evaluatorFor`). */
  readonly evaluator?: Evaluator<A>
  /** A factory called once per run with the run's seed, for stochastic or stateful evaluators. */
  readonly evaluatorFor?: (seed: number) => Evaluator<A>
  /** What picks the incumbent (default `valid_acc:max`). */
  readonly searchMetric?: Objective | string
  /** What the incumbent is reported by (default `test_acc:max`). */
  readonly reportMetric?: Objective | string
  /** The best value of `reportMetric` on the benchmark (e.g. the table's best test accuracy), for regret. */
  readonly optimum?: number
  /**
   * The mean of `reportMetric` over the whole space (the expected score of one random architecture),
   * for Yang et al.'s relative improvement.
   */
  readonly populationMean?: number
  /** The true Pareto front (from {@link trueParetoFront}) for multi-objective scoring. */
  readonly trueFront?: TrueParetoFront
  /** The row key of an architecture (NB201: its official index), to match it with the true front. */
  readonly keyOf?: (arch: A) => number
  /** A label for the benchmark in the result, e.g. `nb201/cifar10`. */
  readonly benchmark?: string
  /** How many runs may be in flight at once (default 1). */
  readonly concurrency?: number
  readonly signal?: AbortSignal
  readonly onProgress?: (p: CompareProgress) => void
}

/**
 * One (strategy, seed) run. Curves have one entry per query (index `k` = after `k + 1` queries);
 * a run that stops early carries its last values forward.
 * @since 0.1.0
 */
export interface RunResult {
  readonly strategy: string
  readonly seed: number
  /** Queries the run made (at most the budget). */
  readonly queries: number
  /** Queries that rejected (failed evaluations). */
  readonly failed: number
  /** Best search metric so far. */
  readonly searchCurve: readonly number[]
  /** The report metric of the incumbent (the best by the search metric so far). */
  readonly reportCurve: readonly number[]
  /** The final incumbent's search and report values, and its regret when the optimum is known. */
  readonly final: {
    readonly search: number
    readonly report: number
    readonly regret?: number
    readonly key?: number
  }
  /** Relative hypervolume of the found front at each query (multi-objective runs). */
  readonly hypervolumeCurve?: readonly number[]
  /** Fraction of the true front found at each query (multi-objective runs). */
  readonly coverageCurve?: readonly number[]
  readonly wallMs: number
}

/**
 * A mean and a sample standard deviation (n - 1; 0 for one run).
 * @since 0.1.0
 */
export interface MeanStd {
  readonly mean: number
  readonly std: number
}

/**
 * Per-strategy aggregates over seeds.
 * @since 0.1.0
 */
export interface StrategySummary {
  readonly strategy: string
  readonly runs: number
  /** Final report metric of the incumbent (e.g. test accuracy). */
  readonly final: MeanStd
  /** Final search metric of the incumbent (e.g. validation accuracy). */
  readonly finalSearch: MeanStd
  /** `optimum - final` (for a `max` report metric), when the optimum is known. */
  readonly regret?: MeanStd
  /** Mean and std of the report curve, per query. */
  readonly curve: { readonly mean: readonly number[]; readonly std: readonly number[] }
  /** Mean regret per query, when the optimum is known. */
  readonly regretCurve?: readonly number[]
  /**
   * Yang et al. (2020): `100 * (final - populationMean) / populationMean`, the relative improvement
   * over the average randomly sampled architecture (sign flipped for a `min` report metric).
   */
  readonly relativeImprovement?: number
  /** The same, relative to the mean final result of the runner named `random` (random search). */
  readonly relativeImprovementOverRandomSearch?: number
  readonly hypervolume?: {
    readonly final: MeanStd
    readonly mean: readonly number[]
    readonly std: readonly number[]
  }
  readonly coverage?: {
    readonly final: MeanStd
    readonly mean: readonly number[]
    readonly std: readonly number[]
  }
}

/**
 * The result of {@link compare}: the settings, every run and per-strategy summaries.
 * @since 0.1.0
 */
export interface CompareResult {
  readonly benchmark?: string
  readonly budget: number
  readonly seeds: readonly number[]
  readonly searchMetric: Objective
  readonly reportMetric: Objective
  readonly optimum?: number
  readonly populationMean?: number
  readonly objectives?: readonly Objective[]
  readonly trueFrontSize?: number
  readonly strategies: readonly string[]
  readonly runs: readonly RunResult[]
  readonly summary: readonly StrategySummary[]
}

const asObjective = (o: Objective | string): Objective => (typeof o === 'string' ? parseObjective(o) : o)

function checkOptions<A>(opts: CompareOptions<A>): number[] {
  const names = Object.keys(opts.runners)
  if (names.length === 0) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: 'compare needs at least one runner',
      value: opts.runners,
    })
  }
  if (!Number.isInteger(opts.budget) || opts.budget < 1) {
    throw new NasError({
      code: 'BUDGET_INVALID',
      message: `the query budget must be a positive integer, got ${opts.budget}`,
      value: opts.budget,
    })
  }
  const seeds =
    typeof opts.seeds === 'number' ? Array.from({ length: opts.seeds }, (_, i) => i) : [...opts.seeds]
  if (
    seeds.length === 0 ||
    (typeof opts.seeds === 'number' && !Number.isInteger(opts.seeds)) ||
    seeds.some((s) => !Number.isInteger(s))
  ) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `seeds must be a positive count or a non-empty list of integers, got ${JSON.stringify(opts.seeds)}`,
      value: opts.seeds,
    })
  }
  if (new Set(seeds).size !== seeds.length) {
    throw new NasError({ code: 'CONFIG_INVALID', message: 'seeds must not repeat', value: seeds })
  }
  if (opts.trueFront !== undefined && opts.keyOf === undefined) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message:
        'a multi-objective comparison (trueFront) also needs keyOf(arch) to match found architectures with the front',
    })
  }
  if ((opts.evaluator === undefined) === (opts.evaluatorFor === undefined)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: 'compare needs exactly one of evaluator and evaluatorFor',
    })
  }
  const c = opts.concurrency ?? 1
  if (!Number.isInteger(c) || c < 1) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `concurrency must be a positive integer, got ${c}`,
      value: c,
    })
  }
  return seeds
}

const meanStd = (xs: readonly number[]): MeanStd => {
  const n = xs.length
  const mean = xs.reduce((a, b) => a + b, 0) / n
  const v = n > 1 ? xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (n - 1) : 0
  return { mean, std: Math.sqrt(v) }
}

const curveStats = (curves: readonly (readonly number[])[], len: number) => {
  const mean: number[] = []
  const std: number[] = []
  for (let k = 0; k < len; k++) {
    const s = meanStd(curves.map((c) => c[k]!))
    mean.push(s.mean)
    std.push(s.std)
  }
  return { mean, std }
}

const metricOf = (m: Readonly<Metrics>, name: string, strategy: string, seed: number): number => {
  const v = m[name]
  if (v === undefined) {
    throw new NasError({
      code: 'METRIC_MISSING',
      message: `the evaluator returned no '${name}' in run ${strategy}/seed ${seed}; it returned ${Object.keys(m).join(', ') || '(nothing)'}`,
      value: name,
      allowed: Object.keys(m),
    })
  }
  return v
}

/**
 * The comparison protocol: every runner x every seed with the same query budget on one benchmark.
 * Each run's incumbent is the architecture with the best search metric (validation accuracy) among
 * its queries so far, and it is reported by the report metric (test accuracy), as NAS-Bench-201
 * prescribes. Returns anytime curves (per query), mean and std over seeds, regret to the optimum,
 * relative improvement over random (Yang et al., "NAS evaluation is frustratingly hard", 2020), and,
 * with a {@link TrueParetoFront}, the found front's relative hypervolume and true-front coverage at
 * every query.
 *
 * @example
 * ```ts
 * const bench = loadNb201()
 * const result = await compareOnNb201({ bench, dataset: 'cifar10', runners: { random: randomSamplingRunner(nb201) }, seeds: 20, budget: 100 })
 * result.summary[0].final // { mean: ~93.8, std: ~0.25 }
 * ```
 * @since 0.1.0
 * @category comparison
 */
export async function compare<A>(opts: CompareOptions<A>): Promise<CompareResult> {
  const seeds = checkOptions(opts)
  const search = asObjective(opts.searchMetric ?? 'valid_acc:max')
  const report = asObjective(opts.reportMetric ?? 'test_acc:max')
  const truth = opts.trueFront
  const strategies = Object.keys(opts.runners)
  const jobs = strategies.flatMap((strategy) => seeds.map((seed) => ({ strategy, seed })))
  const results = new Array<RunResult>(jobs.length)
  let next = 0
  let done = 0
  const worker = async () => {
    while (next < jobs.length) {
      if (opts.signal?.aborted) {
        throw new NasError({ code: 'ABORTED', message: 'the comparison was aborted' })
      }
      const j = next++
      const { strategy, seed } = jobs[j]!
      const r = await runOne(opts, strategy, seed, search, report, truth)
      results[j] = r
      done++
      opts.onProgress?.({ strategy, seed, done, total: jobs.length, final: r.final.report })
    }
  }
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 1, jobs.length) }, worker))

  const summary = strategies.map((strategy) =>
    summarise(strategy, results, opts, report, truth !== undefined),
  )
  const rnd = summary.find((s) => s.strategy === 'random')
  const sign = report.direction === 'max' ? 1 : -1
  const withRs = summary.map((s) =>
    rnd === undefined
      ? s
      : {
          ...s,
          relativeImprovementOverRandomSearch:
            (100 * sign * (s.final.mean - rnd.final.mean)) / Math.abs(rnd.final.mean),
        },
  )
  return {
    ...(opts.benchmark !== undefined ? { benchmark: opts.benchmark } : {}),
    budget: opts.budget,
    seeds,
    searchMetric: search,
    reportMetric: report,
    ...(opts.optimum !== undefined ? { optimum: opts.optimum } : {}),
    ...(opts.populationMean !== undefined ? { populationMean: opts.populationMean } : {}),
    ...(truth !== undefined ? { objectives: truth.objectives, trueFrontSize: truth.keys.length } : {}),
    strategies,
    runs: results,
    summary: withRs,
  }
}

async function runOne<A>(
  opts: CompareOptions<A>,
  strategy: string,
  seed: number,
  search: Objective,
  report: Objective,
  truth: TrueParetoFront | undefined,
): Promise<RunResult> {
  const t0 = performance.now()
  const base = opts.evaluatorFor !== undefined ? opts.evaluatorFor(seed) : opts.evaluator!
  const budget = opts.budget
  const log = new Array<{ arch: A; metrics: Readonly<Metrics> } | null | undefined>(budget)
  let issued = 0
  let settled = 0
  const ac = new AbortController()
  const outer = opts.signal
  const onOuterAbort = () => ac.abort(outer?.reason)
  if (outer?.aborted) ac.abort(outer.reason)
  else outer?.addEventListener('abort', onOuterAbort, { once: true })

  const evaluator: Evaluator<A> = async (arch: A, ctx: EvaluatorContext) => {
    if (issued >= budget) {
      throw new NasError({
        code: 'ABORTED',
        message: `the query budget of ${budget} is used up (run ${strategy}/seed ${seed})`,
      })
    }
    const slot = issued++
    try {
      const metrics = await base(arch, ctx)
      log[slot] = { arch, metrics }
      return metrics
    } catch (e) {
      log[slot] = null
      throw e
    } finally {
      settled++
      if (settled >= budget) ac.abort(new NasError({ code: 'ABORTED', message: 'query budget used up' }))
    }
  }
  // keep the evaluator's static facts (metrics, cheap metrics, fidelities) visible to the runner
  const info: unknown = (base as { info?: unknown }).info
  if (info !== undefined) Object.defineProperty(evaluator, 'info', { value: info, enumerable: true })
  try {
    await opts.runners[strategy]!({ seed, budget, evaluator, signal: ac.signal })
  } catch (e) {
    const budgetStop = settled >= budget && ac.signal.aborted
    const aborted = outer?.aborted === true
    if (!budgetStop || aborted) {
      throw new NasError({
        code: aborted ? 'ABORTED' : 'INTERNAL',
        message: `runner '${strategy}' failed on seed ${seed} after ${issued} queries: ${(e as Error).message}`,
        cause: e,
      })
    }
  } finally {
    outer?.removeEventListener('abort', onOuterAbort)
  }

  const sSign = search.direction === 'max' ? 1 : -1
  const searchCurve: number[] = []
  const reportCurve: number[] = []
  const hvCurve: number[] = []
  const covCurve: number[] = []
  let bestS = -Infinity
  let incumbentReport = Number.NaN
  let incumbentKey: number | undefined
  let failed = 0
  const front: { p: number[]; key: number }[] = []
  const truthKeys = truth === undefined ? undefined : new Set(truth.keys)
  const hitKeys = new Set<number>()
  let hv = 0
  const queries = Math.min(issued, budget)
  for (let k = 0; k < budget; k++) {
    const t = k < queries ? log[k] : undefined
    if (t === null) failed++
    if (t) {
      const s = metricOf(t.metrics, search.name, strategy, seed) * sSign
      if (s > bestS) {
        bestS = s
        incumbentReport = metricOf(t.metrics, report.name, strategy, seed)
        incumbentKey = opts.keyOf?.(t.arch)
      }
      if (truth !== undefined) {
        const key = opts.keyOf!(t.arch)
        if (truthKeys!.has(key)) hitKeys.add(key)
        const p = truth.objectives.map((o) => {
          const v = metricOf(t.metrics, o.name, strategy, seed)
          return o.direction === 'max' ? -v : v
        })
        if (!front.some((f) => dominates(f.p, p) || f.p.every((x, j) => x === p[j]))) {
          for (let i = front.length - 1; i >= 0; i--) if (dominates(p, front[i]!.p)) front.splice(i, 1)
          front.push({ p, key })
          hv =
            truth.hypervolume > 0
              ? hypervolume(
                  front.map((f) => f.p),
                  truth.reference,
                ) / truth.hypervolume
              : 0
        }
      }
    }
    searchCurve.push(bestS === -Infinity ? Number.NaN : bestS * sSign)
    reportCurve.push(incumbentReport)
    if (truth !== undefined) {
      hvCurve.push(hv)
      covCurve.push(truth.keys.length > 0 ? hitKeys.size / truth.keys.length : 0)
    }
  }
  if (truth !== undefined && queries > 0) {
    // cross-check the incremental front against the direct computation
    const q = frontQuality(
      front.map((f) => ({
        key: f.key,
        metrics: Object.fromEntries(
          truth.objectives.map((o, j) => [o.name, o.direction === 'max' ? -f.p[j]! : f.p[j]!]),
        ),
      })),
      truth,
    )
    if (Math.abs(q.relativeHypervolume - hv) > 1e-9) {
      throw new NasError({
        code: 'INTERNAL',
        message: `hypervolume bookkeeping mismatch (${q.relativeHypervolume} vs ${hv})`,
      })
    }
  }
  const final = reportCurve[budget - 1]!
  const rSign = report.direction === 'max' ? 1 : -1
  return {
    strategy,
    seed,
    queries,
    failed,
    searchCurve,
    reportCurve,
    final: {
      search: searchCurve[budget - 1]!,
      report: final,
      ...(opts.optimum !== undefined ? { regret: rSign * (opts.optimum - final) } : {}),
      ...(incumbentKey !== undefined ? { key: incumbentKey } : {}),
    },
    ...(truth !== undefined ? { hypervolumeCurve: hvCurve, coverageCurve: covCurve } : {}),
    wallMs: performance.now() - t0,
  }
}

function summarise<A>(
  strategy: string,
  results: readonly RunResult[],
  opts: CompareOptions<A>,
  report: Objective,
  multi: boolean,
): StrategySummary {
  const runs = results.filter((r) => r.strategy === strategy)
  const len = opts.budget
  const finals = runs.map((r) => r.final.report)
  const final = meanStd(finals)
  const curve = curveStats(
    runs.map((r) => r.reportCurve),
    len,
  )
  const rSign = report.direction === 'max' ? 1 : -1
  const opt = opts.optimum
  const pop = opts.populationMean
  const out: StrategySummary = {
    strategy,
    runs: runs.length,
    final,
    finalSearch: meanStd(runs.map((r) => r.final.search)),
    curve,
    ...(opt !== undefined
      ? {
          regret: meanStd(finals.map((f) => rSign * (opt - f))),
          regretCurve: curve.mean.map((m) => rSign * (opt - m)),
        }
      : {}),
    ...(pop !== undefined ? { relativeImprovement: (100 * rSign * (final.mean - pop)) / Math.abs(pop) } : {}),
  }
  if (!multi) return out
  const hv = curveStats(
    runs.map((r) => r.hypervolumeCurve!),
    len,
  )
  const cov = curveStats(
    runs.map((r) => r.coverageCurve!),
    len,
  )
  return {
    ...out,
    hypervolume: { final: meanStd(runs.map((r) => r.hypervolumeCurve![len - 1]!)), ...hv },
    coverage: { final: meanStd(runs.map((r) => r.coverageCurve![len - 1]!)), ...cov },
  }
}
