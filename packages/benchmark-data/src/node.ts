import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { dataUrl } from './index.js'
import { dataFiles } from './manifest.js'

export { dataFiles, dataUrl } from './index.js'
export type { DataFile } from './index.js'

/**
 * The package's `data/` folder on disk: the folder holding `nb201/`, `fbnet/` and `quantization/`,
 * as `@nasjs/benchmarks`' loaders and `NASJS_DATA_DIR` expect it.
 *
 * @example
 * ```ts
 * import { dataDir } from '@nasjs/benchmark-data/node'
 * console.log(dataDir()) // .../node_modules/@nasjs/benchmark-data/data
 * ```
 * @since 0.1.0
 * @category data
 */
export function dataDir(): string {
  return fileURLToPath(dataUrl())
}

/**
 * A file whose bytes do not match the manifest (see {@link verifyData}).
 * @since 0.1.0
 * @category data
 */
export interface DataMismatch {
  readonly path: string
  /** What was found: the SHA-256, or `missing`. */
  readonly found: string
  readonly expected: string
}

/**
 * Checks every shipped table in `dir` (default: this package's {@link dataDir}) against its SHA-256;
 * returns the files that differ or are missing (an empty list when all match).
 * @since 0.1.0
 * @category data
 */
export function verifyData(dir: string = dataDir()): DataMismatch[] {
  const bad: DataMismatch[] = []
  for (const f of dataFiles) {
    let found: string
    try {
      found = createHash('sha256')
        .update(readFileSync(join(dir, ...f.path.split('/'))))
        .digest('hex')
    } catch {
      found = 'missing'
    }
    if (found !== f.sha256) bad.push({ path: f.path, found, expected: f.sha256 })
  }
  return bad
}
