/**
 * The data folder of the installed `@nasjs/benchmark-data` package (the folder holding `nb201/`,
 * `fbnet/` and `quantization/`), or `undefined` when it is not installed.
 *
 * TODO(@nasjs/benchmark-data): the package does not exist yet, so this returns `undefined`. When it
 * lands, this function is the single place to change: resolve the package from here (e.g.
 * `createRequire(import.meta.url).resolve('@nasjs/benchmark-data/package.json')`), return its data
 * folder, and `undefined` when resolving fails. `defaultDataDirCandidates` already puts it after
 * `NASJS_DATA_DIR` and before `../shared/data`, as the design orders them.
 * @internal
 */
export function benchmarkDataPackageDir(): string | undefined {
  return undefined
}
