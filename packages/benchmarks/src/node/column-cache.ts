import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

import { findWorkspaceRoot } from './data-dir.js'

/**
 * Typed columns stored in the cache.
 * @since 0.1.0
 */
export type CachedColumn = Float64Array | Int32Array

const MAGIC = 'NASJSCC1'

/**
 * The cache directory, `node_modules/.cache/nasjs` (the find-cache-dir convention): under the
 * workspace root of the current directory (found by walking up to `pnpm-workspace.yaml`), else under
 * the current directory when it has a `node_modules`, else under the `node_modules` this package is
 * installed in (a global `npm install -g @nasjs/cli` run from any directory still caches).
 * @since 0.1.0
 */
export function columnCacheDir(): string | undefined {
  const root = findWorkspaceRoot(process.cwd())
  if (root !== undefined) return join(root, 'node_modules', '.cache', 'nasjs')
  if (isDir(join(process.cwd(), 'node_modules')))
    return join(process.cwd(), 'node_modules', '.cache', 'nasjs')
  const own = ownNodeModules()
  return own === undefined ? undefined : join(own, '.cache', 'nasjs')
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** The outermost `node_modules` directory above this module, or the workspace's when run from source. */
function ownNodeModules(): string | undefined {
  let here: string
  try {
    here = dirname(fileURLToPath(import.meta.url))
  } catch {
    return undefined
  }
  const root = findWorkspaceRoot(here)
  if (root !== undefined) return join(root, 'node_modules')
  const parts = here.split(sep)
  const i = parts.indexOf('node_modules')
  return i < 0 ? undefined : parts.slice(0, i + 1).join(sep)
}

/**
 * A key that changes whenever one of `files` changes (path, size, modification time), plus a
 * format version, so a stale or corrupt-source cache is never used.
 * @since 0.1.0
 */
export function fileSetKey(files: readonly string[], version: string): string {
  return JSON.stringify({
    version,
    files: files.map((f) => {
      const s = statSync(f)
      return [f, s.size, s.mtimeMs]
    }),
  })
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(16).padStart(8, '0')
}

const cachePath = (dir: string, name: string, key: string) => join(dir, `${name}-${fnv1a(key)}.bin`)

interface Header {
  readonly key: string
  readonly columns: readonly { name: string; type: 'f64' | 'i32'; length: number; offset: number }[]
}

/**
 * Reads cached columns for `key`, or `undefined` when absent, stale or unreadable.
 * @since 0.1.0
 */
export function readColumnCache(name: string, key: string): Map<string, CachedColumn> | undefined {
  const dir = columnCacheDir()
  if (dir === undefined) return undefined
  try {
    const buf = readFileSync(cachePath(dir, name, key))
    if (buf.toString('latin1', 0, 8) !== MAGIC) return undefined
    const hlen = buf.readUInt32LE(8)
    const header = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as Header
    if (header.key !== key) return undefined
    const base = 12 + hlen
    const out = new Map<string, CachedColumn>()
    for (const c of header.columns) {
      const bytes = c.length * (c.type === 'f64' ? 8 : 4)
      const start = base + c.offset
      if (start + bytes > buf.length) return undefined
      const copy = new ArrayBuffer(bytes)
      new Uint8Array(copy).set(buf.subarray(start, start + bytes))
      out.set(c.name, c.type === 'f64' ? new Float64Array(copy) : new Int32Array(copy))
    }
    return out
  } catch {
    return undefined
  }
}

/**
 * Writes columns for `key`; failures (read-only disk, no node_modules) are ignored.
 * @since 0.1.0
 */
export function writeColumnCache(
  name: string,
  key: string,
  columns: ReadonlyMap<string, CachedColumn>,
): void {
  const dir = columnCacheDir()
  if (dir === undefined) return
  try {
    const meta: Header['columns'][number][] = []
    let offset = 0
    for (const [n, col] of columns) {
      meta.push({ name: n, type: col instanceof Float64Array ? 'f64' : 'i32', length: col.length, offset })
      offset += col.byteLength
      offset = Math.ceil(offset / 8) * 8
    }
    const header = Buffer.from(JSON.stringify({ key, columns: meta } satisfies Header), 'utf8')
    const out = Buffer.alloc(12 + header.length + offset)
    out.write(MAGIC, 0, 'latin1')
    out.writeUInt32LE(header.length, 8)
    header.copy(out, 12)
    let i = 0
    for (const col of columns.values()) {
      const m = meta[i++]!
      Buffer.from(col.buffer, col.byteOffset, col.byteLength).copy(out, 12 + header.length + m.offset)
    }
    mkdirSync(dir, { recursive: true })
    const file = cachePath(dir, name, key)
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, out)
    renameSync(tmp, file)
  } catch {
    // a cache is an optimisation only
  }
}
