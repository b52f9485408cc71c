import { NasError, hypervolume, paretoFront, parseObjective, type Metrics, type Objective } from '@nasjs/core'

import { assertNb201Dataset, assertNb201Metric } from '../nb201/metrics.js'
import type { Nb201Benchmark } from '../nb201/nb201.js'

/**
 * The exact Pareto front of a whole table for some objectives, with the hypervolume reference point
 * every found front is measured against.
 * @since 0.1.0
 */
export interface TrueParetoFront {
  readonly objectives: readonly Objective[]
  /** Keys of the Pareto-optimal rows (NB201: official indices), sorted by the first objective (best first). */
  readonly keys: readonly number[]
  /** Their minimisation vectors (`max` objectives negated), aligned with `keys`. */
  readonly points: readonly (readonly number[])[]
  /**
   * The reference point (minimisation space): each objective's worst value over the whole table plus
   * 10% of its range, so the extreme points of the front still add volume.
   */
  readonly reference: readonly number[]
  /** The hypervolume of the true front w.r.t. `reference`. */
  readonly hypervolume: number
  /** The number of rows the front was computed from (rows lacking a metric are left out when `missing: 'skip'`). */
  readonly rows: number
}

/**
 * Turns objective specs (`'valid_acc:max'` or objects) into objectives.
 * @since 0.1.0
 */
export function toObjectives(objectives: readonly (Objective | string)[]): Objective[] {
  if (objectives.length === 0) {
    throw new NasError({
      code: 'OBJECTIVE_INVALID',
      message: 'at least one objective is needed',
      value: objectives,
    })
  }
  return objectives.map((o) => (typeof o === 'string' ? parseObjective(o) : o))
}

/**
 * The exact Pareto front of a table given as columns (one value per row for each objective).
 * Rows with a `NaN` in some objective fail with `METRIC_MISSING` unless `missing: 'skip'` drops them.
 * @since 0.1.0
 */
export function paretoFrontOfColumns(
  columns: readonly ArrayLike<number>[],
  objectives: readonly (Objective | string)[],
  opts: { readonly missing?: 'error' | 'skip'; readonly keys?: ArrayLike<number> } = {},
): TrueParetoFront {
  const objs = toObjectives(objectives)
  if (columns.length !== objs.length) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `${columns.length} columns for ${objs.length} objectives`,
      value: columns.length,
    })
  }
  const n = columns[0]?.length ?? 0
  const points: number[][] = []
  const rowKeys: number[] = []
  for (let i = 0; i < n; i++) {
    const p = new Array<number>(objs.length)
    let ok = true
    for (let j = 0; j < objs.length; j++) {
      const v = columns[j]![i]!
      if (Number.isNaN(v)) {
        if (opts.missing === 'skip') {
          ok = false
          break
        }
        throw new NasError({
          code: 'METRIC_MISSING',
          message: `objective '${objs[j]!.name}' is missing for row ${i}; pass missing: 'skip' to compute the front over the rows that have it`,
          value: objs[j]!.name,
          path: [i],
        })
      }
      p[j] = objs[j]!.direction === 'max' ? -v : v
    }
    if (!ok) continue
    points.push(p)
    rowKeys.push(opts.keys === undefined ? i : opts.keys[i]!)
  }
  if (points.length === 0) {
    throw new NasError({
      code: 'METRIC_MISSING',
      message: 'no row has every objective',
      value: objs.map((o) => o.name),
    })
  }
  const lo = objs.map(() => Infinity)
  const hi = objs.map(() => -Infinity)
  for (const p of points) {
    for (let j = 0; j < objs.length; j++) {
      lo[j] = Math.min(lo[j]!, p[j]!)
      hi[j] = Math.max(hi[j]!, p[j]!)
    }
  }
  const reference = hi.map((h, j) => h + 0.1 * Math.max(h - lo[j]!, Math.abs(h) * 1e-9, 1e-12))
  const front = paretoFront(points).sort(
    (a, b) => points[a]![0]! - points[b]![0]! || rowKeys[a]! - rowKeys[b]!,
  )
  const fp = front.map((i) => points[i]!)
  return {
    objectives: objs,
    keys: front.map((i) => rowKeys[i]!),
    points: fp,
    reference,
    hypervolume: hypervolume(fp, reference),
    rows: points.length,
  }
}

/**
 * The exact Pareto front of all 15,625 NB201 cells on `dataset` for the given objectives, e.g.
 * `['valid_acc:max', 'latency.pixel3:min']`.
 *
 * @example
 * ```ts
 * const front = trueParetoFront(loadNb201(), 'cifar10', ['valid_acc:max', 'latency.pixel3:min'])
 * front.keys.length // the number of Pareto-optimal cells
 * ```
 * @since 0.1.0
 */
export function trueParetoFront(
  bench: Nb201Benchmark,
  dataset: string,
  objectives: readonly (Objective | string)[],
  opts: { readonly missing?: 'error' | 'skip' } = {},
): TrueParetoFront {
  const ds = assertNb201Dataset(dataset)
  const objs = toObjectives(objectives)
  for (const o of objs) assertNb201Metric(ds, o.name)
  try {
    return paretoFrontOfColumns(
      objs.map((o) => bench.column(ds, o.name)),
      objs,
      opts,
    )
  } catch (e) {
    if (e instanceof NasError && e.code === 'METRIC_MISSING' && e.path !== undefined) {
      throw new NasError({
        code: 'METRIC_MISSING',
        message: `NB201 ${ds}: ${e.message.replace(/row (\d+)/, (_, i: string) => `index ${i} ${bench.archStrAt(Number(i))}`)}`,
        value: e.value,
        path: e.path,
      })
    }
    throw e
  }
}

/**
 * How good a found front is against the true one.
 * @since 0.1.0
 */
export interface FrontQuality {
  /** HV(found) / HV(true front), both w.r.t. the true front's reference point; 1 when the true front is found. */
  readonly relativeHypervolume: number
  /** The fraction of the true front's rows among the found ones. */
  readonly coverage: number
}

/**
 * Scores found solutions (metric records, with the key of the row each came from) against a
 * {@link TrueParetoFront}. Dominated or repeated found points are harmless.
 * @since 0.1.0
 */
export function frontQuality(
  found: readonly { readonly key: number; readonly metrics: Readonly<Metrics> }[],
  truth: TrueParetoFront,
): FrontQuality {
  const pts = found.map((f) =>
    truth.objectives.map((o) => {
      const v = f.metrics[o.name]
      if (v === undefined) {
        throw new NasError({
          code: 'METRIC_MISSING',
          message: `objective '${o.name}' is missing from a found solution (key ${f.key})`,
          value: o.name,
        })
      }
      return o.direction === 'max' ? -v : v
    }),
  )
  const truthKeys = new Set(truth.keys)
  const hit = new Set(found.map((f) => f.key).filter((k) => truthKeys.has(k)))
  return {
    relativeHypervolume: truth.hypervolume > 0 ? hypervolume(pts, truth.reference) / truth.hypervolume : 0,
    coverage: truth.keys.length > 0 ? hit.size / truth.keys.length : 0,
  }
}
