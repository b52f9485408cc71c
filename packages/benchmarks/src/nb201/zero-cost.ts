import { NasError, formatAllowed } from '@nasjs/core'
import { formatNb201, nb201Canonical, nb201FromNaslibTuple, parseNb201 } from '@nasjs/search-space'

import { parseCsv } from '../data/csv.js'
import { assertNb201Dataset, type Nb201Dataset } from './metrics.js'
import type { Nb201Benchmark } from './nb201.js'

/**
 * The zero-cost proxy scores of NAS-Bench-Suite-Zero (Krishnakumar et al., 2022) on NB201, by their
 * names there. Each is computed at initialisation from one minibatch, with no training. `nwot` is the
 * suite's NASWOT score; the `naswot` metric of {@link nb201MetricNames} is the score of the NASWOT
 * authors' own release and differs from it. The suite's `flops`, `params` and `zen` columns are left
 * out: the benchmark already has them.
 * @since 0.1.0
 * @category metrics
 */
export const NB201_ZC_PROXIES = [
  'epe_nas',
  'fisher',
  'grad_norm',
  'grasp',
  'jacov',
  'l2_norm',
  'nwot',
  'plain',
  'snip',
  'synflow',
] as const
/**
 * One of {@link NB201_ZC_PROXIES}.
 * @since 0.1.0
 */
export type Nb201ZcProxy = (typeof NB201_ZC_PROXIES)[number]

/**
 * Proxies whose low scores go with high accuracy (`plain`: Spearman rho -0.37 with CIFAR-10
 * validation accuracy); for the others a high score is the good end.
 * @since 0.1.0
 */
export const NB201_ZC_LOWER_IS_BETTER: readonly Nb201ZcProxy[] = ['plain']

/**
 * The NB201 datasets NAS-Bench-Suite-Zero scored.
 * @since 0.1.0
 */
export const NB201_ZC_DATASETS = ['cifar10', 'imagenet16-120'] as const satisfies readonly Nb201Dataset[]

/**
 * The suite's columns that {@link NB201_ZC_PROXIES} leaves out because the benchmark has its own
 * versions of them: `flops` (counted by the suite's own rules, not the benchmark's FLOPs), `params`
 * (equal to the benchmark's) and `zen`. They are in {@link Nb201ZeroCost.suite}, for comparing proxies
 * computed the suite's way against the suite's values.
 * @since 0.1.0
 */
export const NB201_ZC_SUITE_COLUMNS = ['flops', 'params', 'zen'] as const

/**
 * Data-file paths of the zero-cost tables, relative to the data directory.
 * @since 0.1.0
 */
export const NB201_ZC_FILES = {
  cifar10: 'nb201/zc_proxies_cifar10_canonical.csv.gz',
  'imagenet16-120': 'nb201/zc_proxies_imagenet16_120_canonical.csv.gz',
} as const satisfies Record<(typeof NB201_ZC_DATASETS)[number], string>

/**
 * The zero-cost scores of every NB201 cell on one dataset, one `Float64Array` per proxy in official
 * index order. Functionally equal cells that differ only in dead edges share their canonical cell's
 * scores; the 341 cells with no input-to-output path have `NaN` (no score).
 * @since 0.1.0
 * @category models
 */
export interface Nb201ZeroCost {
  readonly dataset: Nb201Dataset
  readonly file: string
  readonly columns: Readonly<Record<Nb201ZcProxy, Float64Array>>
  /** The suite's own `flops`, `params` and `zen` scores, in the same order, NaN where the table lacks the column (see {@link NB201_ZC_SUITE_COLUMNS}). */
  readonly suite: Readonly<Record<(typeof NB201_ZC_SUITE_COLUMNS)[number], Float64Array>>
}

/**
 * Throws a `METRIC_MISSING` NasError unless NAS-Bench-Suite-Zero scored `dataset`.
 * @since 0.1.0
 */
export function assertNb201ZcDataset(dataset: string): (typeof NB201_ZC_DATASETS)[number] {
  const ds = assertNb201Dataset(dataset)
  if ((NB201_ZC_DATASETS as readonly string[]).includes(ds)) return ds as (typeof NB201_ZC_DATASETS)[number]
  throw new NasError({
    code: 'METRIC_MISSING',
    message: `NAS-Bench-Suite-Zero has no zero-cost scores for NB201 ${ds}; expected a dataset of ${formatAllowed(NB201_ZC_DATASETS)}`,
    value: ds,
    allowed: NB201_ZC_DATASETS,
  })
}

/**
 * Parses a NAS-Bench-Suite-Zero table (one row per canonical cell: `net` as a NASLib tuple,
 * optionally `net_str` as an arch_str, then the scores) and spreads it over all 15,625 cells of `bench`. Every
 * row must be a canonical cell whose tuple and arch_str (where given) agree, and every connected cell's canonical
 * form must have a row; otherwise a `DATA_CORRUPT` NasError names the file and the (data) row. In Node,
 * `loadNb201ZeroCost` of `@nasjs/benchmarks/node` finds and reads the file.
 *
 * @example
 * ```ts
 * const res = await fetch(new URL(NB201_ZC_FILES.cifar10, dataUrl))
 * const zc = parseNb201ZeroCost(bench, 'cifar10', await decodeTableText(await res.arrayBuffer(), res.url), res.url)
 * zc.columns.synflow[0] // the synflow score of NB201 index 0
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function parseNb201ZeroCost(
  bench: Nb201Benchmark,
  dataset: string,
  text: string,
  file: string,
): Nb201ZeroCost {
  const ds = assertNb201ZcDataset(dataset)
  // The CIFAR-10 table also spells each cell as an arch_str (`net_str`); when it does, the two must agree.
  const header = text.slice(0, Math.max(0, text.indexOf('\n')))
  const names = header.split(',').map((h) => h.trim().replace(/^"|"$/g, ''))
  const hasStr = names.includes('net_str')
  // the suite's own flops, params and zen, where the table has them (NaN otherwise)
  const suiteColumns = NB201_ZC_SUITE_COLUMNS.filter((c) => names.includes(c))
  const t = parseCsv(
    text,
    { numbers: [...NB201_ZC_PROXIES, ...suiteColumns], strings: hasStr ? ['net', 'net_str'] : ['net'] },
    file,
  )
  const corrupt = (message: string, value?: unknown) =>
    new NasError({
      code: 'DATA_CORRUPT',
      message: `benchmark file '${file}': ${message}`,
      value,
      path: [file],
    })
  const rowOf = new Map<string, number>()
  for (let r = 0; r < t.rowCount; r++) {
    const net = t.strings.net[r]!
    let key: string
    try {
      const arch = nb201FromNaslibTuple(net)
      key = formatNb201(arch)
      const str = hasStr ? (t.strings as Record<string, string[]>)['net_str']![r]! : undefined
      if (str !== undefined && formatNb201(parseNb201(str)) !== key)
        throw new Error(`net ${net} is not ${str}`)
      if (formatNb201(nb201Canonical(arch)) !== key) throw new Error(`${key} is not a canonical cell`)
    } catch (cause) {
      throw corrupt(`row ${r + 1}: ${(cause as Error).message}`, net)
    }
    if (rowOf.has(key)) throw corrupt(`row ${r + 1}: cell ${key} appears twice`, net)
    rowOf.set(key, r)
  }
  const columns = Object.fromEntries(
    NB201_ZC_PROXIES.map((p) => [p, new Float64Array(bench.size).fill(Number.NaN)]),
  ) as Record<Nb201ZcProxy, Float64Array>
  const suite = Object.fromEntries(
    NB201_ZC_SUITE_COLUMNS.map((p) => [p, new Float64Array(bench.size).fill(Number.NaN)]),
  ) as Record<(typeof NB201_ZC_SUITE_COLUMNS)[number], Float64Array>
  for (let i = 0; i < bench.size; i++) {
    const canonical = nb201Canonical(bench.archAt(i))
    if (canonical.every((op) => op === 'none')) continue // no input-to-output path: no score
    const key = formatNb201(canonical)
    const r = rowOf.get(key)
    if (r === undefined) throw corrupt(`no row for canonical cell ${key} (NB201 index ${i})`, key)
    for (const p of NB201_ZC_PROXIES) columns[p][i] = t.numbers[p][r]!
    for (const p of suiteColumns) suite[p][i] = (t.numbers as Record<string, Float64Array | number[]>)[p]![r]!
  }
  return { dataset: ds, file, columns, suite }
}
