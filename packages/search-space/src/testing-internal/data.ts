import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { gunzipSync } from 'node:zlib'

/** The shared benchmark data directory (`NASJS_DATA_DIR` or `../shared/data` beside the checkout). */
export const DATA_DIR =
  process.env.NASJS_DATA_DIR ?? resolve(import.meta.dirname, '../../../../../shared/data')

/** The lines of a gzipped CSV file under the data directory (header included). */
export function readGzLines(rel: string): string[] {
  return gunzipSync(readFileSync(resolve(DATA_DIR, rel)))
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
}
