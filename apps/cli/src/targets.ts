import { NasError, parseConstraint, parseObjectives } from '@nasjs/core'
import type { Evaluator, EvaluatorInfo, Metrics, Objective, ObjectiveList } from '@nasjs/core'
import {
  NB201_DATASETS,
  assertNb201Dataset,
  assertNb201Metric,
  createNb201Evaluator,
  frontQuality,
  isCheapNb201Metric,
  trueParetoFront,
} from '@nasjs/benchmarks'
import type { Nb201Benchmark, TrueParetoFront } from '@nasjs/benchmarks'
import { loadNb201, nb201FreeFeatures } from '@nasjs/benchmarks/node'
import { getSpace, nb201 } from '@nasjs/search-space'
import type { Nb201Arch, SearchSpace } from '@nasjs/search-space'

/**
 * What `nas search`, `nas report` and `nas arch` need of a space that a tabular benchmark covers.
 * One entry per benchmarked space; the commands look the space up here and hard-code none.
 */
export interface TableTarget {
  readonly space: SearchSpace<unknown>
  readonly datasets: readonly string[]
  readonly defaultDataset: string
  readonly defaultObjectives: ObjectiveList
  /** The metrics every trial records besides the objectives and constraints. */
  readonly recordMetrics: readonly string[]
  /** Of those, the ones printed beside the objectives. */
  readonly showMetrics: readonly string[]
  /** Checks a dataset and metric names (unknown ones list the allowed ones). */
  checkMetrics(dataset: string, names: readonly string[]): void
  /** Loads the tables (`--data`, NASJS_DATA_DIR, the data package, ../shared/data). */
  open(dataDir: string | undefined): TableSession
}

/** A loaded benchmark, ready to evaluate one dataset's metrics. */
export interface TableSession {
  /**
   * The evaluator of `metrics`; `searched` are the objective and constraint metrics, which decide
   * whether functionally equal architectures may share a result (`EvaluatorInfo.functionalCache`).
   */
  evaluator(
    dataset: string,
    metrics: readonly string[],
    searched: readonly string[],
  ): Evaluator<unknown> & { readonly info: EvaluatorInfo }
  /** Metrics known before evaluation (for cheap constraints), or undefined when none is asked for. */
  cheapMetrics(dataset: string, metrics: readonly string[]): ((arch: unknown) => Metrics) | undefined
  /** Free per-architecture features for predictor-guided strategies. */
  features(dataset: string): (arch: unknown) => readonly number[]
  /** The table's row key of an architecture (NB201: the official index), shown in summaries. */
  indexOf(arch: string): number | undefined
  /** The true Pareto front of the table, when the objectives allow one. */
  truth(dataset: string, objectives: readonly Objective[]): TableTruth | undefined
}

/** A benchmark's true front, to score a found front against. */
export interface TableTruth {
  readonly size: number
  /** Relative hypervolume and coverage of found points (keys are `indexOf` keys). */
  quality(found: readonly { readonly key: number; readonly metrics: Metrics }[]): {
    relativeHypervolume: number
    coverage: number
  }
  /** The true front as (x, y) = (second objective, first objective) for the report's plot. */
  points(): { x: number; y: number }[]
}

function nb201Session(bench: Nb201Benchmark): TableSession {
  return {
    evaluator: (dataset, metrics, searched) =>
      createNb201Evaluator(bench, {
        dataset: assertNb201Dataset(dataset),
        metrics,
        // accuracies of equal functions differ by training noise only; costs count dead operations
        functionalCache: searched.every((m) => m === 'valid_acc' || m === 'test_acc'),
      }) as never,
    cheapMetrics(dataset, metrics) {
      const cheap = metrics.filter(isCheapNb201Metric)
      if (cheap.length === 0) return undefined
      const ds = assertNb201Dataset(dataset)
      return (a) => {
        const m = bench.query(a as Nb201Arch, ds)
        return Object.fromEntries(cheap.flatMap((k) => (m[k] === undefined ? [] : [[k, m[k]]])))
      }
    },
    features: (dataset) =>
      nb201FreeFeatures(bench, assertNb201Dataset(dataset), { structure: true }).of as (
        a: unknown,
      ) => readonly number[],
    indexOf: (arch) => bench.indexOf(arch),
    truth(dataset, objectives) {
      if (objectives.length < 2) return undefined
      const ds = assertNb201Dataset(dataset)
      const tf: TrueParetoFront = trueParetoFront(bench, ds, objectives, { missing: 'skip' })
      return {
        size: tf.keys.length,
        quality: (found) => frontQuality(found, tf),
        points: () => {
          const [ox, oy] = [objectives[1]!, objectives[0]!]
          return tf.keys.map((k) => {
            const m = bench.query(k, ds)
            return { x: m[ox.name]!, y: m[oy.name]! }
          })
        },
      }
    },
  }
}

const TARGETS: Readonly<Record<string, TableTarget>> = {
  nb201: {
    space: nb201,
    datasets: NB201_DATASETS,
    defaultDataset: 'cifar10',
    defaultObjectives: ['valid_acc:max', 'latency.pixel3:min'],
    recordMetrics: ['valid_acc', 'test_acc', 'params', 'flops'],
    showMetrics: ['test_acc', 'params', 'flops'],
    checkMetrics(dataset, names) {
      const ds = assertNb201Dataset(dataset)
      for (const n of names) assertNb201Metric(ds, n)
    },
    open: (dataDir) => nb201Session(loadNb201(dataDir === undefined ? {} : { dataDir })),
  },
}

/** The ids of the spaces a tabular benchmark covers (what `nas search` can run on). */
export const TABLE_SPACES: readonly string[] = Object.keys(TARGETS)

/**
 * The benchmark target of a space: an unknown space id is NOT_REGISTERED listing every space; a
 * space without a benchmark is NOT_REGISTERED listing the benchmarked ones.
 */
export function tableTarget(spaceId: string): TableTarget {
  getSpace(spaceId)
  const t = TARGETS[spaceId]
  if (t === undefined) {
    throw new NasError({
      code: 'NOT_REGISTERED',
      message: `space '${spaceId}' has no benchmark to evaluate architectures on; nas search and nas compare run on ${TABLE_SPACES.map((s) => `'${s}'`).join(', ')}`,
      value: spaceId,
      allowed: TABLE_SPACES,
    })
  }
  return t
}

/** Objective and constraint metric names, checked against the target's dataset. */
export function checkTargetMetrics(
  target: TableTarget,
  dataset: string,
  objectives: readonly (Objective | string)[],
  constraints: readonly string[],
): void {
  target.checkMetrics(dataset, [
    ...parseObjectives(objectives).map((o) => o.name),
    ...constraints.map((c) => parseConstraint(c).metric),
  ])
}

/** The network heads and input shapes of the NB201 datasets (the benchmark's networks). */
export const NB201_NETWORKS: Readonly<
  Record<string, { readonly inputShape: [number, number, number]; readonly classes: number }>
> = {
  cifar10: { inputShape: [32, 32, 3], classes: 10 },
  cifar100: { inputShape: [32, 32, 3], classes: 100 },
  'imagenet16-120': { inputShape: [16, 16, 3], classes: 120 },
}
