import {
  nb201FreeFeatures as nb201FreeFeaturesFromTables,
  type Nb201FreeFeatures,
  type Nb201FreeFeaturesOptions,
} from '../nb201/free-features.js'
import type { Nb201Benchmark } from '../nb201/nb201.js'
import {
  NB201_ZC_FILES,
  NB201_ZC_PROXIES,
  assertNb201ZcDataset,
  parseNb201ZeroCost,
  type Nb201ZeroCost,
} from '../nb201/zero-cost.js'
import { dataFileIn, resolveDataDir, type DataDirOptions } from './data-dir.js'
import { nb201DataDirOf } from './nb201.js'
import { readDataText } from './read.js'

/** Per benchmark (its index order), per dataset and file: the spread tables. */
const loaded = new WeakMap<Nb201Benchmark, Map<string, Nb201ZeroCost>>()

/**
 * Loads the NAS-Bench-Suite-Zero scores of every NB201 cell on `dataset` (`cifar10` or
 * `imagenet16-120`; see `parseNb201ZeroCost`). The table is read from one directory: `opts.dataDir`
 * when given, else the data directory `bench` was loaded from by `loadNb201`, else (a benchmark
 * built from texts) the one `resolveDataDir` picks. A missing table is a `DATA_MISSING` NasError
 * naming that directory; there is no fallback. Parsed once per benchmark, dataset and file.
 *
 * @example
 * ```ts
 * import { loadNb201, loadNb201ZeroCost } from '@nasjs/benchmarks/node'
 * const zc = loadNb201ZeroCost(loadNb201(), 'cifar10')
 * zc.columns.synflow[0] // the synflow score of NB201 index 0
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function loadNb201ZeroCost(
  bench: Nb201Benchmark,
  dataset: string,
  opts: DataDirOptions = {},
): Nb201ZeroCost {
  const ds = assertNb201ZcDataset(dataset)
  const dir = opts.dataDir !== undefined ? resolveDataDir(opts) : (nb201DataDirOf(bench) ?? resolveDataDir())
  const file = dataFileIn(dir, NB201_ZC_FILES[ds])
  let perBench = loaded.get(bench)
  if (perBench === undefined) {
    perBench = new Map()
    loaded.set(bench, perBench)
  }
  const key = `${ds}\n${file}`
  const hit = perBench.get(key)
  if (hit !== undefined) return hit
  const zc = parseNb201ZeroCost(bench, ds, readDataText(file), file)
  perBench.set(key, zc)
  return zc
}

const isZcProxy = (m: string): boolean => (NB201_ZC_PROXIES as readonly string[]).includes(m)

/**
 * The platform-free `nb201FreeFeatures`, reading the NAS-Bench-Suite-Zero table with
 * {@link loadNb201ZeroCost} (from `dataDir`, else beside the benchmark's tables) when `metrics` names
 * one of its proxies and no `zeroCost` table is given.
 *
 * @example
 * ```ts
 * import { loadNb201, nb201FreeFeatures } from '@nasjs/benchmarks/node'
 * const free = nb201FreeFeatures(loadNb201(), 'cifar10', { metrics: ['params', 'synflow', 'jacov'] })
 * ```
 * @since 0.1.0
 */
export function nb201FreeFeatures(
  bench: Nb201Benchmark,
  dataset = 'cifar10',
  opts: Nb201FreeFeaturesOptions & DataDirOptions = {},
): Nb201FreeFeatures {
  const { dataDir, ...rest } = opts
  if (rest.zeroCost !== undefined || !(rest.metrics ?? []).some(isZcProxy)) {
    return nb201FreeFeaturesFromTables(bench, dataset, rest)
  }
  const zeroCost = loadNb201ZeroCost(bench, dataset, dataDir !== undefined ? { dataDir } : {})
  return nb201FreeFeaturesFromTables(bench, dataset, { ...rest, zeroCost })
}
