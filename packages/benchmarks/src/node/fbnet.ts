import { FBNET_FILE, FbnetLatencyBenchmark } from '../fbnet/fbnet.js'
import { locateDataFile, type DataDirOptions } from './data-dir.js'
import { readDataText } from './read.js'

const cache = new Map<string, FbnetLatencyBenchmark>()

/**
 * Loads HELP's FBNet latency table (see `FbnetLatencyBenchmark`; `fbnetFromCsv` builds it from text)
 * from the data directory of `resolveDataDir`; cached per file.
 * @example
 * ```ts
 * import { loadFbnet } from '@nasjs/benchmarks/node'
 * const fb = loadFbnet()
 * fb.latency(0, 'pixel3') // 17.5577 ms
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function loadFbnet(opts: DataDirOptions = {}): FbnetLatencyBenchmark {
  const file = locateDataFile(FBNET_FILE, opts)
  const hit = cache.get(file)
  if (hit !== undefined) return hit
  const b = new FbnetLatencyBenchmark(readDataText(file), file)
  cache.set(file, b)
  return b
}
