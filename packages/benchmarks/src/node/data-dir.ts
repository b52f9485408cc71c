import { existsSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { NasError } from '@nasjs/core'

import { benchmarkDataPackageDir } from './benchmark-data-package.js'

/**
 * Where to look for the benchmark tables.
 * @since 0.1.0
 */
export interface DataDirOptions {
  /**
   * An explicit data directory (the folder holding `nb201/`, `fbnet/`, `quantization/`). When given,
   * only it is used: a file missing there is a `DATA_MISSING` NasError, never a fallback.
   */
  readonly dataDir?: string
}

/**
 * How a data directory was chosen: the `dataDir` option (`--data` in the CLI), the `NASJS_DATA_DIR`
 * environment variable (both explicit: used alone), or the default search (the installed
 * `@nasjs/benchmark-data` package, then `../shared/data` beside the workspace root).
 * @since 0.1.0
 */
export type DataDirSource = 'option' | 'env' | 'package' | 'workspace'

/**
 * A data directory and how it was chosen.
 * @since 0.1.0
 */
export interface DataDir {
  readonly dir: string
  readonly source: DataDirSource
}

const SOURCE_TEXT: Readonly<Record<DataDirSource, string>> = {
  option: 'given by the dataDir option / --data',
  env: 'given by NASJS_DATA_DIR',
  package: 'of the installed @nasjs/benchmark-data package',
  workspace: 'found beside the workspace root (../shared/data)',
}

/**
 * Walks up from `start` to the folder holding `pnpm-workspace.yaml`, or `undefined`.
 * @since 0.1.0
 */
export function findWorkspaceRoot(start: string): string | undefined {
  let dir = resolve(start)
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

function moduleDir(): string | undefined {
  try {
    return dirname(fileURLToPath(import.meta.url))
  } catch {
    return undefined
  }
}

const isDirectory = (p: string): boolean => {
  try {
    return statSync(p).isDirectory()
  } catch {
    return false
  }
}

/**
 * The data directories of the default search, in order, used only when no directory is given
 * explicitly: the installed `@nasjs/benchmark-data` package, then `../shared/data` beside the
 * workspace root (found from the current directory, then from this module's location).
 * @since 0.1.0
 */
export function defaultDataDirCandidates(): DataDir[] {
  const out: DataDir[] = []
  const pkg = benchmarkDataPackageDir()
  if (pkg !== undefined) out.push({ dir: resolve(pkg), source: 'package' })
  for (const start of [process.cwd(), moduleDir()]) {
    if (start === undefined) continue
    const root = findWorkspaceRoot(start)
    if (root !== undefined) out.push({ dir: resolve(root, '..', 'shared', 'data'), source: 'workspace' })
  }
  return out.filter((c, i) => out.findIndex((o) => o.dir === c.dir) === i)
}

/**
 * The one data directory every table is read from: the `dataDir` option, else `NASJS_DATA_DIR`
 * (either is used alone, whatever it holds), else the first existing directory of
 * {@link defaultDataDirCandidates}. Tables are never mixed from two directories. Throws a
 * `DATA_MISSING` NasError listing the candidates when the default search finds none.
 * @since 0.1.0
 */
export function resolveDataDir(opts: DataDirOptions = {}): DataDir {
  if (opts.dataDir !== undefined) return { dir: resolve(opts.dataDir), source: 'option' }
  const env = process.env['NASJS_DATA_DIR']
  if (env !== undefined && env !== '') return { dir: resolve(env), source: 'env' }
  const candidates = defaultDataDirCandidates()
  const found = candidates.find((c) => isDirectory(c.dir))
  if (found !== undefined) return found
  throw new NasError({
    code: 'DATA_MISSING',
    message: `no benchmark data directory found; tried ${candidates.length === 0 ? '(no candidate directory)' : candidates.map((c) => c.dir).join(', ')}. Set NASJS_DATA_DIR or pass dataDir/--data pointing at the folder holding nb201/, fbnet/ and quantization/.`,
    path: candidates.map((c) => c.dir),
  })
}

/**
 * The path of `relPath` (e.g. `nb201/nb201_master.csv.gz`) in `dataDir`, which is used alone: a
 * missing file (or directory) is a `DATA_MISSING` NasError naming the directory, how it was chosen
 * and the file.
 * @since 0.1.0
 */
export function dataFileIn(dataDir: DataDir, relPath: string): string {
  const path = join(dataDir.dir, relPath)
  if (existsSync(path)) return path
  const where = `the data directory '${dataDir.dir}' ${SOURCE_TEXT[dataDir.source]}`
  const why = isDirectory(dataDir.dir) ? `it is missing from ${where}` : `${where} does not exist`
  const rule =
    dataDir.source === 'option' || dataDir.source === 'env'
      ? 'A data directory given explicitly (dataDir / --data, else NASJS_DATA_DIR) is used alone, never completed from another: put the file there or point it at a complete copy'
      : 'Tables are read from one data directory only: set NASJS_DATA_DIR or pass dataDir / --data pointing at a complete copy'
  throw new NasError({
    code: 'DATA_MISSING',
    message: `benchmark file '${relPath}' not found; tried ${path} (${why}). ${rule} (the folder holding nb201/, fbnet/ and quantization/).`,
    value: relPath,
    path: [path],
  })
}

/**
 * Finds `relPath` (e.g. `nb201/nb201_master.csv.gz`) in the data directory of {@link resolveDataDir}.
 * Throws a `DATA_MISSING` NasError naming the directory and the file when it is not there.
 * @since 0.1.0
 */
export function locateDataFile(relPath: string, opts: DataDirOptions = {}): string {
  return dataFileIn(resolveDataDir(opts), relPath)
}
