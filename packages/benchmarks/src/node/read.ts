import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'

import { NasError } from '@nasjs/core'

import { parseCsv, type CsvSpec, type CsvTable } from '../data/csv.js'

/**
 * Reads a data file as text, gunzipping `.gz` files with Node's zlib (synchronous; the platform-free
 * `decodeTableText` does the same from bytes). I/O and gzip failures become NasErrors naming the file.
 * @since 0.1.0
 */
export function readDataText(path: string): string {
  let raw: Buffer
  try {
    raw = readFileSync(path)
  } catch (cause) {
    throw new NasError({
      code: 'IO',
      message: `cannot read benchmark file '${path}': ${(cause as Error).message}`,
      path: [path],
      cause,
    })
  }
  if (!path.endsWith('.gz')) return raw.toString('utf8')
  try {
    return gunzipSync(raw).toString('utf8')
  } catch (cause) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `benchmark file '${path}': not a valid gzip stream (${(cause as Error).message})`,
      path: [path],
      cause,
    })
  }
}

/**
 * Reads a `.csv` or gzip-compressed `.csv.gz` file and parses it with `parseCsv`. A bad gzip stream
 * is a `DATA_CORRUPT` NasError naming the file.
 * @since 0.1.0
 */
export function readCsvFile<N extends string, S extends string>(
  path: string,
  spec: CsvSpec<N, S>,
): CsvTable<N, S> {
  return parseCsv(readDataText(path), spec, path)
}
