import { NasError, type Metrics } from '@nasjs/core'
import {
  formatNb201,
  nb201FromOrdinal,
  nb201ToOrdinal,
  parseNb201,
  type Nb201Arch,
} from '@nasjs/search-space'

import { parseCsv } from '../data/csv.js'
import { decodeTableText, type TableInput } from '../data/table-text.js'
import {
  NB201_SIZE,
  assertNb201Index,
  fastArchStrOrdinal,
  fastNaslibTupleOrdinal,
  nb201OrdinalOf,
  type Nb201ArchLike,
} from './arch.js'
import {
  HELP_ONLY_NB201_SETTINGS,
  HW_NAS_BENCH_DEVICES,
  HW_NAS_BENCH_ENERGY_DEVICES,
  NB201_DATASETS,
  assertNb201Dataset,
  assertNb201Metric,
  nb201MetricNames,
  type Nb201Dataset,
} from './metrics.js'
import { nb201CostFromConvCounts } from './skeleton.js'

/**
 * Data-file paths relative to the data directory.
 * @since 0.1.0
 */
export const NB201_FILES = {
  master: 'nb201/nb201_master.csv.gz',
  hw: {
    cifar10: 'nb201/hw_nas_bench_cifar10.csv.gz',
    cifar100: 'nb201/hw_nas_bench_cifar100.csv.gz',
    'imagenet16-120': 'nb201/hw_nas_bench_imagenet16_120.csv.gz',
  },
  help: 'nb201/help_latency_27devices.csv.gz',
} as const satisfies { master: string; hw: Record<Nb201Dataset, string>; help: string }

const DS_SUFFIX: Readonly<Record<Nb201Dataset, string>> = {
  cifar10: 'cifar10',
  cifar100: 'cifar100',
  'imagenet16-120': 'imagenet16_120',
}

const MASTER_NUMBERS = [
  'nb201_index',
  'test_acc_cifar10',
  'test_acc_cifar100',
  'test_acc_imagenet16_120',
  'c10valid_val_acc_nb201v10',
  'c10valid_test_acc_nb201v10',
  'params_cifar10_M',
  'naswot_v1_score_cifar10',
  'naslib_val_acc_cifar10',
  'naslib_val_acc_cifar100',
  'naslib_val_acc_imagenet16_120',
  'zen_cifar10',
  'zen_cifar100',
  'zen_imagenet16_120',
] as const
type MasterNumber = (typeof MASTER_NUMBERS)[number]
const MASTER_NULLABLE = [
  'naswot_v1_score_cifar10',
  'zen_cifar10',
  'zen_cifar100',
  'zen_imagenet16_120',
] as const satisfies readonly MasterNumber[]

const HW_NUMBERS = [
  'edgegpu_latency',
  'edgegpu_energy',
  'raspi4_latency',
  'edgetpu_latency',
  'pixel3_latency',
  'eyeriss_latency',
  'eyeriss_energy',
  'eyeriss_arithmetic_intensity',
  'fpga_latency',
  'fpga_energy',
] as const
type HwNumber = (typeof HW_NUMBERS)[number]

const HELP_NUMBERS = ['nb201_index', ...HELP_ONLY_NB201_SETTINGS.map((s) => `${s}_ms` as const)] as const

/**
 * The raw CSV texts of the NB201 tables, for environments without a file system (e.g. a browser
 * that fetched them). Keys name the file each text came from in errors.
 * @since 0.1.0
 */
export interface Nb201Sources {
  readonly master: { readonly text: string; readonly file: string }
  readonly hw: Readonly<Record<Nb201Dataset, { readonly text: string; readonly file: string }>>
  readonly help: { readonly text: string; readonly file: string }
}

/**
 * A fast lookup result: the best row of a column.
 * @since 0.1.0
 */
export interface Nb201Best {
  readonly index: number
  readonly value: number
}

const corrupt = (file: string, message: string) =>
  new NasError({ code: 'DATA_CORRUPT', message: `benchmark file '${file}': ${message}`, path: [file] })

/**
 * The parsed, validated NB201 tables: the official-index -> ordinal map and the raw columns in
 * official-index order. This is what the binary cache stores.
 * @since 0.1.0
 */
export interface Nb201Data {
  readonly indexToOrdinal: Int32Array
  readonly raw: ReadonlyMap<string, Float64Array>
}

/**
 * Parses and cross-checks the NB201 CSV texts (index bijection, NASLib tuples, HW-NAS-Bench and HELP
 * rows against the master table). Throws `DATA_CORRUPT` NasErrors naming the file and row.
 * @since 0.1.0
 */
export function parseNb201Sources(sources: Nb201Sources): Nb201Data {
  const mf = sources.master.file
  const master = parseCsv(
    sources.master.text,
    {
      numbers: MASTER_NUMBERS,
      strings: ['arch_str', 'naslib_tuple'],
      nullable: MASTER_NULLABLE,
      rows: NB201_SIZE,
    },
    mf,
  )

  // official index <-> ordinal, checked to be a bijection consistent with the NASLib tuples
  const ordinalToIndex = new Int32Array(NB201_SIZE).fill(-1)
  const indexToOrdinal = new Int32Array(NB201_SIZE).fill(-1)
  const rowOfIndex = new Int32Array(NB201_SIZE)
  const archStrs = new Array<string>(NB201_SIZE)
  const idxCol = master.numbers.nb201_index
  for (let r = 0; r < NB201_SIZE; r++) {
    const idx = idxCol[r]!
    if (!Number.isInteger(idx) || idx < 0 || idx >= NB201_SIZE || indexToOrdinal[idx] !== -1) {
      throw corrupt(mf, `row ${r + 1}: nb201_index ${idx} is out of range or repeated`)
    }
    const str = master.strings.arch_str[r]!
    // canonical spellings are read by one scan; anything else goes through the full parser (with its errors)
    let ord = fastArchStrOrdinal(str)
    if (ord < 0) {
      try {
        ord = nb201ToOrdinal(parseNb201(str))
      } catch (cause) {
        throw corrupt(mf, `row ${r + 1}: bad arch_str (${(cause as Error).message})`)
      }
    }
    if (ordinalToIndex[ord] !== -1) {
      throw corrupt(mf, `row ${r + 1}: arch_str ${str} appears twice`)
    }
    const tuple = master.strings.naslib_tuple[r]!
    let tupleOrd = fastNaslibTupleOrdinal(tuple)
    if (tupleOrd < 0) {
      try {
        tupleOrd = nb201OrdinalOf(tuple)
      } catch (cause) {
        throw corrupt(mf, `row ${r + 1}: bad naslib_tuple (${(cause as Error).message})`)
      }
    }
    if (tupleOrd !== ord) {
      throw corrupt(mf, `row ${r + 1}: naslib_tuple ${tuple} is not arch_str ${str}`)
    }
    ordinalToIndex[ord] = idx
    indexToOrdinal[idx] = ord
    rowOfIndex[idx] = r
    archStrs[idx] = fastArchStrOrdinal(str) >= 0 ? str : formatNb201(nb201FromOrdinal(ord))
  }

  const byIndex = (col: Float64Array): Float64Array => {
    const out = new Float64Array(NB201_SIZE)
    for (let i = 0; i < NB201_SIZE; i++) out[i] = col[rowOfIndex[i]!]!
    return out
  }
  const raw = new Map<string, Float64Array>()
  for (const n of MASTER_NUMBERS) if (n !== 'nb201_index') raw.set(n, byIndex(master.numbers[n]))

  // HW-NAS-Bench: one row per official index, in order
  for (const ds of NB201_DATASETS) {
    const { text, file } = sources.hw[ds]
    const t = parseCsv(text, { numbers: HW_NUMBERS, strings: ['net'], rows: NB201_SIZE }, file)
    for (let i = 0; i < NB201_SIZE; i++) {
      const net = t.strings.net[i]!
      const expected = master.strings.naslib_tuple[rowOfIndex[i]!]!
      if (net !== expected) {
        let ok: boolean
        try {
          ok = nb201OrdinalOf(net) === indexToOrdinal[i]
        } catch {
          ok = false
        }
        if (!ok) throw corrupt(file, `row ${i + 1}: net ${net} is not NB201 index ${i} (${expected})`)
      }
    }
    for (const n of HW_NUMBERS) raw.set(`hw_${DS_SUFFIX[ds]}.${n}`, t.numbers[n])
  }

  // HELP: latencies on CIFAR-10 inputs
  const hf = sources.help.file
  const help = parseCsv(
    sources.help.text,
    { numbers: HELP_NUMBERS, strings: ['arch_str'], rows: NB201_SIZE },
    hf,
  )
  const helpByIndex = new Int32Array(NB201_SIZE).fill(-1)
  for (let r = 0; r < NB201_SIZE; r++) {
    const idx = help.numbers.nb201_index[r]!
    if (!Number.isInteger(idx) || idx < 0 || idx >= NB201_SIZE || helpByIndex[idx] !== -1) {
      throw corrupt(hf, `row ${r + 1}: nb201_index ${idx} is out of range or repeated`)
    }
    if (help.strings.arch_str[r] !== archStrs[idx]) {
      throw corrupt(
        hf,
        `row ${r + 1}: arch_str ${help.strings.arch_str[r]} is not NB201 index ${idx} (${archStrs[idx]})`,
      )
    }
    helpByIndex[idx] = r
  }
  for (const s of HELP_ONLY_NB201_SETTINGS) {
    const col = help.numbers[`${s}_ms`]
    const out = new Float64Array(NB201_SIZE)
    for (let i = 0; i < NB201_SIZE; i++) out[i] = col[helpByIndex[i]!]!
    raw.set(`help.${s}_ms`, out)
  }
  return { indexToOrdinal, raw }
}

/**
 * NAS-Bench-201 / NATS-Bench topology space with HW-NAS-Bench and HELP hardware metrics: all
 * 15,625 cells on CIFAR-10, CIFAR-100 and ImageNet16-120, kept as `Float64Array` columns in
 * official-index order. In Node, load it with `loadNb201` of `@nasjs/benchmarks/node`; anywhere
 * (e.g. a browser that fetched the files), build it with {@link nb201FromTables}.
 *
 * @example
 * ```ts
 * import { loadNb201 } from '@nasjs/benchmarks/node'
 * const bench = loadNb201()
 * bench.query(0, 'cifar10').test_acc // 85.8633
 * bench.query('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|', 'cifar10')
 * bench.column('cifar100', 'latency.pixel3') // Float64Array(15625)
 * ```
 * @since 0.1.0
 * @category models
 */
export class Nb201Benchmark {
  /** The number of architectures (15,625). */
  readonly size = NB201_SIZE
  /** The datasets this benchmark covers. */
  readonly datasets: readonly Nb201Dataset[] = NB201_DATASETS
  /** The files the tables were read from. */
  readonly files: readonly string[]

  private readonly ordinalToIndex: Int32Array
  private readonly indexToOrdinal: Int32Array
  private readonly archStrs: readonly string[]
  private readonly columns: ReadonlyMap<Nb201Dataset, ReadonlyMap<string, Float64Array>>
  private readonly raw: ReadonlyMap<string, Float64Array>
  private strIndex: Map<string, number> | undefined
  private readonly cache: Map<Nb201Dataset, (Readonly<Metrics> | undefined)[]> = new Map()

  /** @internal use `loadNb201` of `@nasjs/benchmarks/node`, {@link nb201FromTables} or {@link nb201FromSources}. */
  constructor(data: Nb201Data, files: readonly string[]) {
    this.files = files
    const indexToOrdinal = data.indexToOrdinal
    const raw = data.raw
    if (indexToOrdinal.length !== NB201_SIZE) {
      throw new NasError({
        code: 'INTERNAL',
        message: `NB201 data has ${indexToOrdinal.length} rows; expected ${NB201_SIZE}`,
      })
    }
    const ordinalToIndex = new Int32Array(NB201_SIZE).fill(-1)
    const archStrs = new Array<string>(NB201_SIZE)
    for (let i = 0; i < NB201_SIZE; i++) {
      const ord = indexToOrdinal[i]!
      ordinalToIndex[ord] = i
      archStrs[i] = formatNb201(nb201FromOrdinal(ord))
    }
    this.ordinalToIndex = ordinalToIndex
    this.indexToOrdinal = indexToOrdinal
    this.archStrs = archStrs
    this.raw = raw

    // named metric columns per dataset
    const n1 = new Uint8Array(NB201_SIZE)
    const n3 = new Uint8Array(NB201_SIZE)
    for (let i = 0; i < NB201_SIZE; i++) {
      let ord = indexToOrdinal[i]!
      for (let e = 0; e < 6; e++) {
        const op = ord % 5
        ord = (ord - op) / 5
        if (op === 2) n1[i]!++
        else if (op === 3) n3[i]!++
      }
    }
    const columns = new Map<Nb201Dataset, Map<string, Float64Array>>()
    for (const ds of NB201_DATASETS) {
      const sfx = DS_SUFFIX[ds]
      const m = new Map<string, Float64Array>()
      m.set('valid_acc', raw.get(ds === 'cifar10' ? 'c10valid_val_acc_nb201v10' : `naslib_val_acc_${sfx}`)!)
      m.set('test_acc', raw.get(`test_acc_${sfx}`)!)
      const params = new Float64Array(NB201_SIZE)
      const flops = new Float64Array(NB201_SIZE)
      for (let i = 0; i < NB201_SIZE; i++) {
        const c = nb201CostFromConvCounts(n1[i]!, n3[i]!, ds)
        params[i] = c.params / 1e6
        flops[i] = c.flops / 1e6
      }
      m.set('params', params)
      m.set('flops', flops)
      const hw = (n: HwNumber) => raw.get(`hw_${sfx}.${n}`)!
      for (const d of HW_NAS_BENCH_DEVICES) {
        const src = hw(`${d}_latency`)
        // HW-NAS-Bench writes -1 where it has no Edge TPU measurement: an absent metric
        const col = d === 'edgetpu' ? src.map((v) => (v < 0 ? Number.NaN : v)) : src
        m.set(`latency.${d}`, col)
      }
      for (const d of HW_NAS_BENCH_ENERGY_DEVICES) m.set(`energy.${d}`, hw(`${d}_energy`))
      m.set('arithmetic_intensity.eyeriss', hw('eyeriss_arithmetic_intensity'))
      if (ds === 'cifar10')
        for (const s of HELP_ONLY_NB201_SETTINGS) m.set(`latency.${s}`, raw.get(`help.${s}_ms`)!)
      m.set('zen', raw.get(`zen_${sfx}`)!)
      if (ds === 'cifar10') m.set('naswot', raw.get('naswot_v1_score_cifar10')!)
      const names = nb201MetricNames(ds)
      if (names.length !== m.size || names.some((n) => !m.has(n))) {
        throw new NasError({
          code: 'INTERNAL',
          message: `NB201 ${ds}: metric columns disagree with nb201MetricNames`,
        })
      }
      columns.set(ds, m)
    }
    this.columns = columns
  }

  /** The metric names of `dataset` (see {@link nb201MetricNames}). */
  metricNames(dataset: string): readonly string[] {
    return nb201MetricNames(dataset)
  }

  /**
   * The official NB201 index of an architecture given in any form ({@link Nb201ArchLike}); a number
   * is taken as an official index and checked.
   */
  indexOf(arch: Nb201ArchLike): number {
    if (typeof arch === 'number') return assertNb201Index(arch)
    if (typeof arch === 'string') {
      let map = this.strIndex
      if (map === undefined) {
        map = new Map(this.archStrs.map((s, i) => [s, i]))
        this.strIndex = map
      }
      const hit = map.get(arch)
      if (hit !== undefined) return hit
    }
    return this.ordinalToIndex[nb201OrdinalOf(arch)]!
  }

  /** The architecture at an official index. */
  archAt(index: number): Nb201Arch {
    return nb201FromOrdinal(this.indexToOrdinal[assertNb201Index(index)]!)
  }

  /** The arch_str at an official index. */
  archStrAt(index: number): string {
    return this.archStrs[assertNb201Index(index)]!
  }

  /** The official index of a mixed-radix ordinal (`nb201ToOrdinal`); the inverse of {@link ordinalAt}. */
  indexOfOrdinal(ordinal: number): number {
    const i = this.ordinalToIndex[ordinal]
    if (i === undefined || !Number.isInteger(ordinal)) {
      throw new NasError({
        code: 'ARCH_INVALID',
        message: `NB201 ordinal ${ordinal} is outside 0..15624`,
        value: ordinal,
      })
    }
    return i
  }

  /** The mixed-radix ordinal (`nb201ToOrdinal`) of the architecture at an official index. */
  ordinalAt(index: number): number {
    return this.indexToOrdinal[assertNb201Index(index)]!
  }

  /**
   * All metrics of one architecture on `dataset`. Metrics the tables lack for it (Edge TPU latency
   * for 4,699 cells, proxy scores of disconnected cells) are absent, not `NaN`. The result is frozen
   * and cached: repeated queries are a property lookup.
   */
  query(arch: Nb201ArchLike, dataset: string): Readonly<Metrics> {
    const ds = assertNb201Dataset(dataset)
    const index = typeof arch === 'number' ? assertNb201Index(arch) : this.indexOf(arch)
    let rows = this.cache.get(ds)
    if (rows === undefined) {
      rows = new Array<Readonly<Metrics> | undefined>(NB201_SIZE)
      this.cache.set(ds, rows)
    }
    const hit = rows[index]
    if (hit !== undefined) return hit
    const out: Metrics = {}
    for (const [name, col] of this.columns.get(ds)!) {
      const v = col[index]!
      if (!Number.isNaN(v)) out[name] = v
    }
    const frozen = Object.freeze(out)
    rows[index] = frozen
    return frozen
  }

  /**
   * A metric over all 15,625 architectures in official-index order (`NaN` where missing). The array
   * is shared: do not modify it.
   */
  column(dataset: string, metric: string): Float64Array {
    const ds = assertNb201Dataset(dataset)
    assertNb201Metric(ds, metric)
    return this.columns.get(ds)!.get(metric)!
  }

  /**
   * A raw table column in official-index order: master columns by their CSV name (e.g.
   * `c10valid_val_acc_nb201v10`, `naslib_val_acc_cifar10`, `params_cifar10_M`), HW-NAS-Bench ones as
   * `hw_<cifar10|cifar100|imagenet16_120>.<column>` (edgetpu keeps its -1), HELP ones as `help.<column>`.
   */
  rawColumn(name: string): Float64Array {
    const c = this.raw.get(name)
    if (c === undefined) {
      throw new NasError({
        code: 'NOT_REGISTERED',
        message: `unknown raw NB201 column '${name}'; expected one of ${[...this.raw.keys()].join(', ')}`,
        value: name,
        allowed: [...this.raw.keys()],
      })
    }
    return c
  }

  /** The names {@link rawColumn} accepts. */
  rawColumnNames(): readonly string[] {
    return [...this.raw.keys()]
  }

  /** The architecture with the highest (`max`) or lowest (`min`) value of a metric; ties go to the lower index. */
  best(dataset: string, metric: string, direction: 'max' | 'min' = 'max'): Nb201Best {
    const col = this.column(dataset, metric)
    let bi = -1
    let bv = direction === 'max' ? -Infinity : Infinity
    for (let i = 0; i < col.length; i++) {
      const v = col[i]!
      if (direction === 'max' ? v > bv : v < bv) {
        bv = v
        bi = i
      }
    }
    return { index: bi, value: bv }
  }
}

const NB201_RAW_COLUMN_NAMES: readonly string[] = Object.freeze([
  ...MASTER_NUMBERS.filter((n) => n !== 'nb201_index'),
  ...NB201_DATASETS.flatMap((ds) => HW_NUMBERS.map((n) => `hw_${DS_SUFFIX[ds]}.${n}`)),
  ...HELP_ONLY_NB201_SETTINGS.map((s) => `help.${s}_ms`),
])

/**
 * The raw column names {@link parseNb201Sources} produces, in its order (what
 * {@link Nb201Benchmark.rawColumn} accepts), without loading anything.
 * @since 0.1.0
 * @category models
 */
export function nb201RawColumnNames(): readonly string[] {
  return NB201_RAW_COLUMN_NAMES
}

/**
 * Builds the benchmark from CSV texts already in memory (no file system needed).
 * @since 0.1.0
 * @category constructors
 */
export function nb201FromSources(sources: Nb201Sources): Nb201Benchmark {
  return new Nb201Benchmark(parseNb201Sources(sources), [
    sources.master.file,
    ...NB201_DATASETS.map((d) => sources.hw[d].file),
    sources.help.file,
  ])
}

/**
 * The five NB201 tables (the files of {@link NB201_FILES}) as text or bytes, gzip-compressed or not.
 * @since 0.1.0
 */
export interface Nb201Tables {
  readonly master: TableInput
  readonly hw: Readonly<Record<Nb201Dataset, TableInput>>
  readonly help: TableInput
}

/**
 * Builds the same benchmark as `loadNb201` of `@nasjs/benchmarks/node` from the five tables' texts
 * or bytes, with no file system: a browser fetches the files (see {@link NB201_FILES}) and passes
 * what it got. Gzip-compressed bytes are unzipped with `DecompressionStream` (see
 * {@link decodeTableText}). `base` (e.g. the URL of the data folder) is put before each
 * {@link NB201_FILES} path to name the files in errors and in `files`. Throws (rejects) like
 * `loadNb201`: a `DATA_CORRUPT` NasError naming the file and row.
 *
 * @example
 * ```ts
 * const base = new URL('/data/', location.href)
 * const get = async (rel: string) => (await fetch(new URL(rel, base))).arrayBuffer()
 * const bench = await nb201FromTables(
 *   {
 *     master: await get(NB201_FILES.master),
 *     hw: {
 *       cifar10: await get(NB201_FILES.hw.cifar10),
 *       cifar100: await get(NB201_FILES.hw.cifar100),
 *       'imagenet16-120': await get(NB201_FILES.hw['imagenet16-120']),
 *     },
 *     help: await get(NB201_FILES.help),
 *   },
 *   { base: base.href },
 * )
 * bench.query(0, 'cifar10').test_acc // 85.8633
 * ```
 * @since 0.1.0
 * @category constructors
 */
export async function nb201FromTables(
  tables: Nb201Tables,
  opts: { readonly base?: string } = {},
): Promise<Nb201Benchmark> {
  const name = (rel: string) => (opts.base === undefined ? rel : `${opts.base.replace(/[/\\]+$/, '')}/${rel}`)
  const source = async (input: TableInput, rel: string) => {
    const file = name(rel)
    return { text: await decodeTableText(input, file), file }
  }
  const [master, cifar10, cifar100, imagenet, help] = await Promise.all([
    source(tables.master, NB201_FILES.master),
    source(tables.hw.cifar10, NB201_FILES.hw.cifar10),
    source(tables.hw.cifar100, NB201_FILES.hw.cifar100),
    source(tables.hw['imagenet16-120'], NB201_FILES.hw['imagenet16-120']),
    source(tables.help, NB201_FILES.help),
  ])
  return nb201FromSources({ master, hw: { cifar10, cifar100, 'imagenet16-120': imagenet }, help })
}
