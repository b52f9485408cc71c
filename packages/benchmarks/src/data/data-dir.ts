import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { NasError } from '@nasjs/core'

/**
 * Where to look for the benchmark tables.
 * @since 0.1.0
 */
export interface DataDirOptions {
  /** An explicit data directory (the folder holding `nb201/`, `fbnet/`, `quantization/`). When given, only it is tried. */
  readonly dataDir?: string
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

/**
 * The data directories to try, in order: the explicit `dataDir` (alone, when given), then
 * `NASJS_DATA_DIR`, then `../shared/data` beside the workspace root (found from the current
 * directory, then from this module's location).
 * @since 0.1.0
 */
export function dataDirCandidates(opts: DataDirOptions = {}): string[] {
  if (opts.dataDir !== undefined) return [resolve(opts.dataDir)]
  const out: string[] = []
  const env = process.env['NASJS_DATA_DIR']
  if (env !== undefined && env !== '') out.push(resolve(env))
  for (const start of [process.cwd(), moduleDir()]) {
    if (start === undefined) continue
    const root = findWorkspaceRoot(start)
    if (root !== undefined) out.push(resolve(root, '..', 'shared', 'data'))
  }
  return [...new Set(out)]
}

/**
 * Finds `relPath` (e.g. `nb201/nb201_master.csv.gz`) in the first candidate directory that has it.
 * Throws a `DATA_MISSING` NasError naming the file and every path tried.
 * @since 0.1.0
 */
export function locateDataFile(relPath: string, opts: DataDirOptions = {}): string {
  const candidates = dataDirCandidates(opts)
  const tried = candidates.map((d) => join(d, relPath))
  for (const p of tried) if (existsSync(p)) return p
  const how =
    opts.dataDir !== undefined
      ? 'the dataDir option'
      : 'NASJS_DATA_DIR, then ../shared/data beside the workspace root'
  throw new NasError({
    code: 'DATA_MISSING',
    message:
      `benchmark file '${relPath}' not found; tried ${tried.length === 0 ? '(no candidate directory)' : tried.join(', ')} ` +
      `(searched ${how}). Set NASJS_DATA_DIR or pass dataDir/--data pointing at the folder holding nb201/, fbnet/ and quantization/.`,
    value: relPath,
    path: tried,
  })
}
