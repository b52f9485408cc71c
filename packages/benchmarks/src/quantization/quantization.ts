import { NasError } from '@nasjs/core'
import { parseNb201, type Nb201Arch } from '@nasjs/search-space'

import { parseCsv } from '../data/csv.js'
import type { Nb201Benchmark } from '../nb201/nb201.js'

/**
 * The quantization table, relative to the data directory.
 * @since 0.1.0
 */
export const QUANTIZATION_FILE = 'quantization/nats_bench_mcu_int8_100.csv'

/**
 * One architecture of NATS-Bench-MCU's FP32-vs-INT8 table. Accuracies are in percent (the CSV stores
 * fractions; they are multiplied by 100 here).
 * @since 0.1.0
 */
export interface QuantizationRecord {
  /** The official NB201 index. */
  readonly index: number
  readonly archStr: string
  readonly arch: Nb201Arch
  /** NATS-Bench CIFAR-10 test accuracy (%, 200 epochs), as the table quotes it. */
  readonly natsCifar10: number
  /** CIFAR-10 accuracy (%) of NATS-Bench-MCU's own FP32 training run. */
  readonly fp32Acc: number
  /** The same network after full-integer INT8 post-training quantization (%). */
  readonly int8Acc: number
  /** `fp32Acc - int8Acc` in percentage points, as the table gives it (rounded to 0.01). */
  readonly deltaPp: number
  /** Whether the table flags the network as "cratered" (it did not train: chance accuracy). */
  readonly cratered: boolean
}

/**
 * The 100-architecture FP32 vs INT8 table of NATS-Bench-MCU, for quantization studies.
 * @since 0.1.0
 */
export interface QuantizationTable {
  readonly file: string
  readonly records: readonly QuantizationRecord[]
  /** The record of an official NB201 index, if the table has it. */
  byIndex(index: number): QuantizationRecord | undefined
}

/**
 * Parses the quantization CSV text; with `nb201` it also checks every `arch_idx` against the
 * benchmark's arch_str (a mismatch is `DATA_CORRUPT`). In Node, `loadQuantizationTable` of
 * `@nasjs/benchmarks/node` reads it from the data directory. NATS-Bench-MCU's data is CC BY 4.0:
 * credit it where you use it.
 * @since 0.1.0
 * @category constructors
 */
export function parseQuantizationTable(
  text: string,
  file: string,
  nb201?: Nb201Benchmark,
): QuantizationTable {
  const t = parseCsv(
    text,
    {
      numbers: ['arch_idx', 'nats_cifar10', 'fp32_acc', 'int8_acc', 'delta_pp', 'cratered'],
      strings: ['arch_str'],
      rows: 100,
    },
    file,
  )
  const bad = (r: number, m: string) =>
    new NasError({
      code: 'DATA_CORRUPT',
      message: `benchmark file '${file}': row ${r + 1}: ${m}`,
      path: [file],
    })
  const records: QuantizationRecord[] = []
  const map = new Map<number, QuantizationRecord>()
  for (let r = 0; r < t.rowCount; r++) {
    const index = t.numbers.arch_idx[r]!
    if (!Number.isInteger(index) || index < 0 || index >= 15625 || map.has(index)) {
      throw bad(r, `arch_idx ${index} is not an NB201 index 0..15624 or repeats`)
    }
    const archStr = t.strings.arch_str[r]!
    let arch: Nb201Arch
    try {
      arch = parseNb201(archStr)
    } catch (cause) {
      throw bad(r, (cause as Error).message)
    }
    if (nb201 !== undefined && nb201.archStrAt(index) !== archStr) {
      throw bad(r, `arch_str ${archStr} is not NB201 index ${index} (${nb201.archStrAt(index)})`)
    }
    const cr = t.numbers.cratered[r]!
    if (cr !== 0 && cr !== 1) throw bad(r, `cratered must be 0 or 1, got ${cr}`)
    const rec: QuantizationRecord = Object.freeze({
      index,
      archStr,
      arch,
      natsCifar10: t.numbers.nats_cifar10[r]!,
      fp32Acc: 100 * t.numbers.fp32_acc[r]!,
      int8Acc: 100 * t.numbers.int8_acc[r]!,
      deltaPp: t.numbers.delta_pp[r]!,
      cratered: cr === 1,
    })
    records.push(rec)
    map.set(index, rec)
  }
  return Object.freeze({ file, records: Object.freeze(records), byIndex: (i: number) => map.get(i) })
}
