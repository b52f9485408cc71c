import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const PACKAGE = '@nasjs/benchmark-data/package.json'

/**
 * The data folder of the installed `@nasjs/benchmark-data` package (the folder holding `nb201/`,
 * `fbnet/` and `quantization/`), or `undefined` when it is not installed.
 *
 * The package is an optional peer of `@nasjs/benchmarks`, so it is resolved from three places in
 * turn: this module (a flat `node_modules`, or a peer that the package manager linked), the program
 * being run (`process.argv[1]`: a CLI that depends on the data, installed globally), and the current
 * directory (a project that installed both packages).
 * @internal
 */
export function benchmarkDataPackageDir(): string | undefined {
  const bases: string[] = [import.meta.url]
  const main = process.argv[1]
  if (main !== undefined && main !== '') bases.push(pathToFileURL(resolve(main)).href)
  bases.push(pathToFileURL(join(process.cwd(), 'noop.js')).href)
  for (const base of bases) {
    try {
      return join(dirname(createRequire(base).resolve(PACKAGE)), 'data')
    } catch {
      // not resolvable from here: try the next base
    }
  }
  return undefined
}
