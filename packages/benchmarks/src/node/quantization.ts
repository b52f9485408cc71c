import type { Nb201Benchmark } from '../nb201/nb201.js'
import {
  QUANTIZATION_FILE,
  parseQuantizationTable,
  type QuantizationTable,
} from '../quantization/quantization.js'
import { locateDataFile, type DataDirOptions } from './data-dir.js'
import { readDataText } from './read.js'

/**
 * Loads NATS-Bench-MCU's table of 100 NB201 architectures with FP32 and INT8 accuracy from the data
 * directory of `resolveDataDir` (see `parseQuantizationTable`; CC BY 4.0: credit NATS-Bench-MCU
 * where you use it).
 * @example
 * ```ts
 * import { loadNb201, loadQuantizationTable } from '@nasjs/benchmarks/node'
 * const q = loadQuantizationTable({ nb201: loadNb201() })
 * q.records.filter((r) => !r.cratered).map((r) => r.deltaPp)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function loadQuantizationTable(
  opts: DataDirOptions & { readonly nb201?: Nb201Benchmark } = {},
): QuantizationTable {
  const file = locateDataFile(QUANTIZATION_FILE, opts)
  return parseQuantizationTable(readDataText(file), file, opts.nb201)
}
