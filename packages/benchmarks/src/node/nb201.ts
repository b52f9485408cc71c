import { NB201_SIZE } from '../nb201/arch.js'
import { NB201_DATASETS, type Nb201Dataset } from '../nb201/metrics.js'
import {
  NB201_FILES,
  Nb201Benchmark,
  nb201RawColumnNames,
  parseNb201Sources,
  type Nb201Data,
} from '../nb201/nb201.js'
import { fileSetKey, readColumnCache, writeColumnCache } from './column-cache.js'
import { dataFileIn, resolveDataDir, type DataDir, type DataDirOptions } from './data-dir.js'
import { readDataText } from './read.js'

const loaded = new Map<string, Nb201Benchmark>()
/** The data directory each loaded benchmark came from (its zero-cost tables are read from there too). */
const dataDirs = new WeakMap<Nb201Benchmark, DataDir>()

/**
 * The data directory {@link loadNb201} read `bench` from, or `undefined` for a benchmark built from
 * texts or bytes.
 * @internal
 */
export function nb201DataDirOf(bench: Nb201Benchmark): DataDir | undefined {
  return dataDirs.get(bench)
}

/**
 * Options of {@link loadNb201}.
 * @since 0.1.0
 */
export interface LoadNb201Options extends DataDirOptions {
  /** Reuse the benchmark already loaded from the same files (default `true`). */
  readonly cache?: boolean
  /**
   * Keep a compact binary copy of the parsed columns under `node_modules/.cache/nasjs`, keyed by the
   * files' paths, sizes and modification times (default `true`). It is re-made whenever a file changes.
   */
  readonly binaryCache?: boolean
}

const CACHE_VERSION = 'nb201-v1'

function readNb201Data(files: readonly string[], parse: () => Nb201Data, useCache: boolean): Nb201Data {
  if (!useCache) return parse()
  let key: string
  try {
    key = fileSetKey(files, CACHE_VERSION)
  } catch {
    return parse()
  }
  const hit = readColumnCache('nb201', key)
  const ord = hit?.get('indexToOrdinal')
  if (hit !== undefined && ord instanceof Int32Array && ord.length === NB201_SIZE) {
    const raw = new Map<string, Float64Array>()
    for (const name of nb201RawColumnNames()) {
      const col = hit.get(name)
      if (!(col instanceof Float64Array) || col.length !== NB201_SIZE) break
      raw.set(name, col)
    }
    if (raw.size === nb201RawColumnNames().length) return { indexToOrdinal: ord, raw }
  }
  const data = parse()
  writeColumnCache(
    'nb201',
    key,
    new Map<string, Float64Array | Int32Array>([['indexToOrdinal', data.indexToOrdinal], ...data.raw]),
  )
  return data
}

/**
 * Loads NAS-Bench-201 with its HW-NAS-Bench and HELP tables from one data directory (the `dataDir`
 * option, else `NASJS_DATA_DIR`, each used alone; else the default search: the installed
 * `@nasjs/benchmark-data` package, then `../shared/data` beside the workspace root), once per set of
 * files: later calls return the same object. A missing or corrupt file is a NasError naming the
 * directory and the file; nothing partial is returned. Parsing the CSVs is skipped when the binary
 * cache under `node_modules/.cache/nasjs` is current. Builds the same benchmark as the platform-free
 * `nb201FromTables`.
 *
 * @example
 * ```ts
 * import { loadNb201 } from '@nasjs/benchmarks/node'
 * const bench = loadNb201()
 * const m = bench.query('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|', 'cifar10')
 * console.log(m.valid_acc, m.test_acc, m['latency.pixel3'])
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function loadNb201(opts: LoadNb201Options = {}): Nb201Benchmark {
  const dataDir = resolveDataDir(opts)
  const master = dataFileIn(dataDir, NB201_FILES.master)
  const hw = {
    cifar10: dataFileIn(dataDir, NB201_FILES.hw.cifar10),
    cifar100: dataFileIn(dataDir, NB201_FILES.hw.cifar100),
    'imagenet16-120': dataFileIn(dataDir, NB201_FILES.hw['imagenet16-120']),
  } satisfies Record<Nb201Dataset, string>
  const help = dataFileIn(dataDir, NB201_FILES.help)
  const files = [master, ...NB201_DATASETS.map((d) => hw[d]), help]
  const key = files.join('\n')
  if (opts.cache !== false) {
    const hit = loaded.get(key)
    if (hit !== undefined) return hit
  }
  const data = readNb201Data(
    files,
    () => {
      const read = (file: string) => ({ text: readDataText(file), file })
      return parseNb201Sources({
        master: read(master),
        hw: {
          cifar10: read(hw.cifar10),
          cifar100: read(hw.cifar100),
          'imagenet16-120': read(hw['imagenet16-120']),
        },
        help: read(help),
      })
    },
    opts.binaryCache !== false,
  )
  const bench = new Nb201Benchmark(data, files)
  dataDirs.set(bench, dataDir)
  if (opts.cache !== false) loaded.set(key, bench)
  return bench
}

/**
 * Forgets the benchmarks {@link loadNb201} has cached (e.g. after the files changed).
 * @since 0.1.0
 */
export function clearNb201Cache(): void {
  loaded.clear()
}
