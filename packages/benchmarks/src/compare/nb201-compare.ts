import type { Objective } from '@nasjs/core'

import type { Nb201ArchLike } from '../nb201/arch.js'
import { createNb201Evaluator } from '../nb201/evaluator.js'
import { assertNb201Dataset } from '../nb201/metrics.js'
import type { Nb201Benchmark } from '../nb201/nb201.js'
import { compare, type CompareOptions, type CompareResult } from './compare.js'
import { toObjectives, trueParetoFront } from './front.js'

/**
 * Options of {@link compareOnNb201}: {@link CompareOptions} without the parts the table supplies.
 * @since 0.1.0
 */
export interface CompareOnNb201Options<A extends Nb201ArchLike> extends Omit<
  CompareOptions<A>,
  'evaluator' | 'evaluatorFor' | 'optimum' | 'populationMean' | 'trueFront' | 'keyOf' | 'benchmark'
> {
  readonly bench: Nb201Benchmark
  readonly dataset: string
  /**
   * Objectives for a multi-objective comparison, e.g. `['valid_acc:max', 'latency.pixel3:min']`:
   * the true front is computed exactly from the table, and each run's found front is scored by relative
   * hypervolume and coverage at every query.
   */
  readonly objectives?: readonly (Objective | string)[]
  /** Extra metrics the evaluator should return (the search, report and objective metrics always are). */
  readonly metrics?: readonly string[]
}

/**
 * {@link compare} on NAS-Bench-201: builds the tabular evaluator for `dataset`, the regret optimum
 * (the table's best report metric), the population mean (Yang et al.'s random-architecture
 * baseline) and, for several objectives, the exact true Pareto front.
 *
 * @example
 * ```ts
 * import { nb201 } from '@nasjs/search-space'
 * const result = await compareOnNb201({
 *   bench: loadNb201(), dataset: 'cifar10', budget: 100, seeds: 50,
 *   runners: { random: randomSamplingRunner(nb201) },
 * })
 * console.log(result.summary[0]!.final) // { mean: ~93.8, std: ~0.26 }
 * ```
 * @since 0.1.0
 * @category comparison
 */
export function compareOnNb201<A extends Nb201ArchLike>(
  opts: CompareOnNb201Options<A>,
): Promise<CompareResult> {
  const { bench, dataset, objectives, metrics, ...rest } = opts
  const ds = assertNb201Dataset(dataset)
  const search = toObjectives([opts.searchMetric ?? 'valid_acc:max'])[0]!
  const report = toObjectives([opts.reportMetric ?? 'test_acc:max'])[0]!
  const objs = objectives === undefined ? undefined : toObjectives(objectives)
  const evaluator = createNb201Evaluator(bench, {
    dataset: ds,
    metrics: [search.name, report.name, ...(objs ?? []).map((o) => o.name), ...(metrics ?? [])],
  })
  const col = bench.column(ds, report.name)
  let sum = 0
  let n = 0
  for (const v of col) {
    if (Number.isNaN(v)) continue
    sum += v
    n++
  }
  return compare<A>({
    ...rest,
    evaluator,
    benchmark: `nb201/${ds}`,
    optimum: bench.best(ds, report.name, report.direction).value,
    populationMean: sum / n,
    ...(objs !== undefined
      ? { trueFront: trueParetoFront(bench, ds, objs), keyOf: (a: A) => bench.indexOf(a) }
      : { keyOf: (a: A) => bench.indexOf(a) }),
  })
}
