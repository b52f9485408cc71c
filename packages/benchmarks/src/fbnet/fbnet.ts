import { NasError, type Metrics } from '@nasjs/core'
import { FBNET_LAYERS, FBNET_OPS } from '@nasjs/search-space'

import { parseCsv } from '../data/csv.js'

/**
 * The 27 HELP device settings of the FBNet latency table (`<device>_<batch>` for GPUs, batch
 * 1 / 32 / 64; the device alone otherwise). Metric names are `latency.<setting>`.
 * @since 0.1.0
 */
export const FBNET_SETTINGS = [
  '1080ti_1',
  '1080ti_32',
  '1080ti_64',
  '2080ti_1',
  '2080ti_32',
  '2080ti_64',
  'essential_ph_1',
  'eyeriss',
  'fpga',
  'gold_6226',
  'gold_6240',
  'pixel2',
  'pixel3',
  'raspi4',
  'samsung_a50',
  'samsung_s7',
  'silver_4114',
  'silver_4210r',
  'titan_rtx_1',
  'titan_rtx_32',
  'titan_rtx_64',
  'titanx_1',
  'titanx_32',
  'titanx_64',
  'titanxp_1',
  'titanxp_32',
  'titanxp_64',
] as const
/**
 * One of {@link FBNET_SETTINGS}.
 * @since 0.1.0
 */
export type FbnetSetting = (typeof FBNET_SETTINGS)[number]

/**
 * An FBNet architecture: 22 op indices into `FBNET_OPS` of `@nasjs/search-space` (the HELP CSV's op
 * order), 22 op names (e.g. the search space's `FbnetArch`), or the names/indices as one
 * space-separated string (the CSV's `arch_str` / `op_idx_list`).
 * @since 0.1.0
 */
export type FbnetArchLike = readonly number[] | readonly string[] | string

/**
 * The FBNet latency file, relative to the data directory.
 * @since 0.1.0
 */
export const FBNET_FILE = 'fbnet/help_fbnet_latency_27devices.csv.gz'

const FBNET_ROWS = 5000
const OP_INDEX: Readonly<Record<string, number>> = Object.fromEntries(FBNET_OPS.map((o, i) => [o, i]))

/**
 * Reads an FBNet architecture in any {@link FbnetArchLike} form as 22 op indices. Throws `ARCH_INVALID`
 * naming the layer and the allowed ops.
 * @since 0.1.0
 */
export function parseFbnetArch(arch: FbnetArchLike): number[] {
  const items: readonly (string | number)[] =
    typeof arch === 'string' ? arch.trim().split(/[\s,]+/) : Array.isArray(arch) ? arch : []
  if (!Array.isArray(arch) && typeof arch !== 'string') {
    throw new NasError({
      code: 'ARCH_INVALID',
      message: `cannot read an FBNet architecture from ${typeof arch}; expected 22 op indices or op names`,
      value: arch,
    })
  }
  if (items.length !== FBNET_LAYERS) {
    throw new NasError({
      code: 'ARCH_INVALID',
      message: `an FBNet architecture has ${FBNET_LAYERS} layers; got ${items.length}`,
      value: arch,
    })
  }
  return items.map((it, l) => {
    const k = typeof it === 'number' ? it : /^\d+$/.test(it) ? Number(it) : OP_INDEX[it]
    if (k === undefined || !Number.isInteger(k) || k < 0 || k >= FBNET_OPS.length) {
      throw new NasError({
        code: 'ARCH_INVALID',
        message: `FBNet layer ${l} has op '${String(it)}'; expected an index 0..8 or one of ${FBNET_OPS.join(', ')}`,
        value: it,
        allowed: FBNET_OPS,
        path: [l],
      })
    }
    return k
  })
}

/**
 * HELP's FBNet latency set: 5,000 sampled architectures of the FBNet space (22 layers x 9 blocks)
 * with measured latencies on 27 device settings. Latency only, no accuracies.
 * @since 0.1.0
 * @category models
 */
export class FbnetLatencyBenchmark {
  /** The number of sampled architectures (5,000). */
  readonly size: number
  readonly settings: readonly FbnetSetting[] = FBNET_SETTINGS
  /** The file it was read from. */
  readonly file: string
  /** Op indices, row-major: `ops[i * 22 + l]` is layer `l` of sample `i`. */
  readonly ops: Uint8Array
  private readonly columns: ReadonlyMap<FbnetSetting, Float64Array>
  private readonly byKey: ReadonlyMap<string, number>

  /** @internal use {@link fbnetFromCsv} or `loadFbnet` of `@nasjs/benchmarks/node`. */
  constructor(text: string, file: string) {
    const t = parseCsv(
      text,
      {
        numbers: ['fbnet_sample_index', ...FBNET_SETTINGS.map((s) => `${s}_ms` as const)],
        strings: ['op_idx_list', 'arch_str'],
        rows: FBNET_ROWS,
      },
      file,
    )
    const bad = (r: number, m: string) =>
      new NasError({
        code: 'DATA_CORRUPT',
        message: `benchmark file '${file}': row ${r + 1}: ${m}`,
        path: [file],
      })
    const ops = new Uint8Array(FBNET_ROWS * FBNET_LAYERS)
    const byKey = new Map<string, number>()
    const rowOf = new Int32Array(FBNET_ROWS).fill(-1)
    for (let r = 0; r < FBNET_ROWS; r++) {
      const idx = t.numbers.fbnet_sample_index[r]!
      if (!Number.isInteger(idx) || idx < 0 || idx >= FBNET_ROWS || rowOf[idx] !== -1) {
        throw bad(r, `fbnet_sample_index ${idx} is out of range or repeated`)
      }
      rowOf[idx] = r
      let a: number[]
      let b: number[]
      try {
        a = parseFbnetArch(t.strings.op_idx_list[r]!)
        b = parseFbnetArch(t.strings.arch_str[r]!)
      } catch (cause) {
        throw bad(r, (cause as Error).message)
      }
      if (a.some((k, l) => b[l] !== k)) throw bad(r, `op_idx_list and arch_str disagree`)
      ops.set(a, idx * FBNET_LAYERS)
      const key = a.join(',')
      if (!byKey.has(key)) byKey.set(key, idx)
    }
    const columns = new Map<FbnetSetting, Float64Array>()
    for (const s of FBNET_SETTINGS) {
      const src = t.numbers[`${s}_ms`]
      const col = new Float64Array(FBNET_ROWS)
      for (let i = 0; i < FBNET_ROWS; i++) col[i] = src[rowOf[i]!]!
      columns.set(s, col)
    }
    this.size = FBNET_ROWS
    this.file = file
    this.ops = ops
    this.columns = columns
    this.byKey = byKey
  }

  /** The op indices of sample `index`. */
  archAt(index: number): number[] {
    this.checkIndex(index)
    return Array.from(this.ops.subarray(index * FBNET_LAYERS, (index + 1) * FBNET_LAYERS))
  }

  /** The sample index of an architecture, or `undefined` when it is not among the 5,000 samples. */
  indexOf(arch: FbnetArchLike): number | undefined {
    return this.byKey.get(parseFbnetArch(arch).join(','))
  }

  /**
   * The measured latency (ms) of a sample (by index or architecture) on a device setting. An
   * architecture outside the sample set throws `ARCH_INVALID` (use a fitted LUT to predict it).
   */
  latency(arch: FbnetArchLike | number, setting: string): number {
    return this.column(setting)[this.resolve(arch)]!
  }

  /** All 27 latencies of a sample as `latency.<setting>` metrics. */
  query(arch: FbnetArchLike | number): Metrics {
    const i = this.resolve(arch)
    const out: Metrics = {}
    for (const [s, col] of this.columns) out[`latency.${s}`] = col[i]!
    return out
  }

  /** The latencies of all samples on one setting, in sample-index order (shared; do not modify). */
  column(setting: string): Float64Array {
    const c = this.columns.get(setting as FbnetSetting)
    if (c === undefined) {
      throw new NasError({
        code: 'NOT_REGISTERED',
        message: `unknown FBNet device setting '${setting}'; expected one of ${FBNET_SETTINGS.join(', ')}`,
        value: setting,
        allowed: FBNET_SETTINGS,
      })
    }
    return c
  }

  private resolve(arch: FbnetArchLike | number): number {
    if (typeof arch === 'number') return this.checkIndex(arch)
    const i = this.indexOf(arch)
    if (i === undefined) {
      throw new NasError({
        code: 'ARCH_INVALID',
        message: `this FBNet architecture is not among the ${this.size} measured samples; predict its latency with fitLatencyLut`,
        value: arch,
      })
    }
    return i
  }

  private checkIndex(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new NasError({
        code: 'ARCH_INVALID',
        message: `FBNet sample index ${index} is outside 0..${this.size - 1}`,
        value: index,
      })
    }
    return index
  }
}

/**
 * Builds the FBNet latency benchmark from CSV text already in memory (e.g. the fetched file, through
 * `decodeTableText`); in Node, `loadFbnet` of `@nasjs/benchmarks/node` reads it from the data
 * directory.
 * @example
 * ```ts
 * const res = await fetch(new URL(FBNET_FILE, dataUrl))
 * const fb = fbnetFromCsv(await decodeTableText(await res.arrayBuffer(), res.url), res.url)
 * fb.latency(0, 'pixel3') // 17.5577 ms
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function fbnetFromCsv(text: string, file = 'fbnet.csv'): FbnetLatencyBenchmark {
  return new FbnetLatencyBenchmark(text, file)
}
