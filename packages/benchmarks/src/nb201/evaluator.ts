import {
  NasError,
  type Evaluator,
  type EvaluatorContext,
  type EvaluatorInfo,
  type Metrics,
} from '@nasjs/core'

import type { Nb201ArchLike } from './arch.js'
import { assertNb201Dataset, assertNb201Metric, isCheapNb201Metric, type Nb201Dataset } from './metrics.js'
import type { Nb201Benchmark } from './nb201.js'

/**
 * Options of {@link createNb201Evaluator}.
 * @since 0.1.0
 */
export interface Nb201EvaluatorOptions {
  /** `cifar10`, `cifar100` or `imagenet16-120`. */
  readonly dataset: string
  /**
   * The metrics every evaluation returns (checked up front). Default: every metric of the dataset
   * that exists for all 15,625 cells, i.e. all but `latency.edgetpu` and the proxy scores `zen` /
   * `naswot`. Listing a metric that is missing for some cells (e.g. `latency.edgetpu`) makes the
   * evaluation of such a cell reject with a `METRIC_MISSING` NasError.
   */
  readonly metrics?: readonly string[]
  /**
   * Whether the evaluator declares that functionally equal cells (equal `nb201.hash`) may share one
   * result, so a driver with `cache: 'auto'` evaluates each function once (`EvaluatorInfo.functionalCache`).
   * Default: true when every metric is an accuracy (`valid_acc`, `test_acc`): the table's accuracies
   * of equal functions differ only by training noise, which a search then counts once, as with real
   * training. False as soon as a cost is asked for: `params` and `flops` count dead operations, and
   * measured latency and energy include them. Callers that record costs only for display (not as
   * objectives or constraints) may set it to true.
   */
  readonly functionalCache?: boolean
}

/** NB201's accuracy metrics: what equal functions share up to training noise. */
const ACCURACY_METRICS: ReadonlySet<string> = new Set(['valid_acc', 'test_acc'])

/**
 * A tabular NB201 evaluator: an {@link Evaluator} plus its query count and static info.
 * @since 0.1.0
 */
export interface Nb201Evaluator extends Evaluator<Nb201ArchLike> {
  /** How many evaluations were asked for so far (every call counts, repeats too). */
  readonly queries: number
  /** The metrics it returns and which of them need no training (`cheapMetrics`). */
  readonly info: EvaluatorInfo
  /** The dataset it reads. */
  readonly dataset: Nb201Dataset
  /** Sets {@link queries} back to 0. */
  resetQueries(): void
}

/**
 * Wraps an {@link Nb201Benchmark} as an evaluator (the contract in docs/architecture.md): a lookup that returns the
 * chosen metrics of the architecture and counts queries. It accepts every architecture form of
 * {@link Nb201ArchLike}; a malformed architecture rejects with `ARCH_INVALID`, an aborted signal
 * with `ABORTED`.
 *
 * @example
 * ```ts
 * const evaluate = createNb201Evaluator(loadNb201(), { dataset: 'cifar10', metrics: ['valid_acc', 'test_acc', 'latency.pixel3'] })
 * const m = await evaluate(space.sample(new Rng(1)), { signal: new AbortController().signal, report: () => {} })
 * evaluate.queries // 1
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function createNb201Evaluator(bench: Nb201Benchmark, opts: Nb201EvaluatorOptions): Nb201Evaluator {
  const dataset = assertNb201Dataset(opts.dataset)
  const all = bench.metricNames(dataset)
  const metrics =
    opts.metrics === undefined
      ? all.filter((m) => !bench.column(dataset, m).some(Number.isNaN))
      : [...new Set(opts.metrics)]
  if (metrics.length === 0) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `an NB201 evaluator needs at least one metric; expected some of ${all.join(', ')}`,
      allowed: all,
    })
  }
  for (const m of metrics) assertNb201Metric(dataset, m)
  const columns = metrics.map((m) => bench.column(dataset, m))
  const info: EvaluatorInfo = Object.freeze({
    metrics: Object.freeze(metrics),
    cheapMetrics: Object.freeze(metrics.filter(isCheapNb201Metric)),
    functionalCache: opts.functionalCache ?? metrics.every((m) => ACCURACY_METRICS.has(m)),
  })
  let queries = 0
  const evaluate = (arch: Nb201ArchLike, ctx: EvaluatorContext): Promise<Metrics> => {
    queries++
    try {
      if (ctx.signal.aborted) {
        throw new NasError({ code: 'ABORTED', message: 'the NB201 evaluation was aborted before it started' })
      }
      const index = bench.indexOf(arch)
      const out: Metrics = {}
      for (let j = 0; j < metrics.length; j++) {
        const v = columns[j]![index]!
        if (Number.isNaN(v)) {
          const name = metrics[j]!
          const why =
            name === 'latency.edgetpu'
              ? 'HW-NAS-Bench has no Edge TPU measurement for it (-1 in the table)'
              : 'the table has no value for it (a cell with no input-output path has no proxy score)'
          throw new NasError({
            code: 'METRIC_MISSING',
            message: `metric '${name}' is missing for NB201 index ${index} ${bench.archStrAt(index)} on ${dataset}: ${why}`,
            value: name,
            path: [index],
          })
        }
        out[metrics[j]!] = v
      }
      return Promise.resolve(out)
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)))
    }
  }
  Object.defineProperties(evaluate, {
    queries: { get: () => queries, enumerable: true },
    info: { value: info, enumerable: true },
    dataset: { value: dataset, enumerable: true },
    resetQueries: {
      value: () => {
        queries = 0
      },
    },
  })
  return evaluate as Nb201Evaluator
}
