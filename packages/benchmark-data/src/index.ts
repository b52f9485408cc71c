// Platform-free entry: the list of shipped tables and where they are relative to this module.
// Reading them from disk is @nasjs/benchmark-data/node; @nasjs/benchmarks' loaders find the folder
// by package resolution. See README.md for the credits.
export { dataFiles } from './manifest.js'
export type { DataFile } from './manifest.js'

/**
 * The URL of the package's `data/` folder (a `file:` URL in Node; in a bundler, where the bundler
 * puts the package). Append a {@link DataFile.path} to get a table's URL.
 *
 * @example
 * ```ts
 * import { dataUrl } from '@nasjs/benchmark-data'
 * const master = new URL('nb201/nb201_master.csv.gz', dataUrl())
 * ```
 * @since 0.1.0
 * @category data
 */
export function dataUrl(): URL {
  return new URL('../data/', import.meta.url)
}
