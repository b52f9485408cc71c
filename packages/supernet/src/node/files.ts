import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NasError } from '@nasjs/core'
import { ElasticMbv3 } from '../elastic.js'
import type { NamedArray } from '../elastic.js'
import type { SupernetTrainState } from '../train.js'

/** The header file of a supernet directory. */
export const SUPERNET_JSON = 'supernet.json'
/** The weights file of a supernet directory. */
export const SUPERNET_BIN = 'supernet.bin'

interface Manifest {
  readonly group: 'weights' | 'teacher' | 'momentum'
  readonly name: string
  readonly shape: readonly number[]
  readonly offset: number
}

/**
 * The header of a supernet directory (`supernet.json`): the training state without its arrays,
 * which are in `supernet.bin` (float32, little-endian) at the manifest's offsets.
 * @since 0.1.0
 */
export interface SupernetFileHeader extends Omit<SupernetTrainState, 'weights' | 'teacher' | 'momentum'> {
  readonly totalSteps?: number
  readonly bin: { readonly file: string; readonly bytes: number; readonly sha256: string }
  readonly arrays: readonly Manifest[]
  /** Anything the writer adds (the CLI: the data, the phases, the finished figures). */
  readonly extra?: Record<string, unknown>
}

/**
 * Writes a training state to directory `dir` as `supernet.json` and `supernet.bin`, each written to
 * a temporary file and renamed, the weights before the header, so a process killed while writing
 * leaves the previous checkpoint whole.
 * @since 0.1.0
 * @category files
 */
export function saveSupernetState(
  dir: string,
  state: SupernetTrainState,
  extra?: { readonly totalSteps?: number; readonly extra?: Record<string, unknown> },
): void {
  mkdirSync(dir, { recursive: true })
  const arrays: Manifest[] = []
  const parts: Float32Array[] = []
  let offset = 0
  const put = (group: Manifest['group'], name: string, shape: readonly number[], values: Float32Array) => {
    arrays.push({ group, name, shape: [...shape], offset })
    parts.push(values)
    offset += values.length * 4
  }
  for (const w of state.weights) put('weights', w.name, w.shape, w.values)
  for (const w of state.teacher ?? []) put('teacher', w.name, w.shape, w.values)
  state.momentum.forEach((m, i) => put('momentum', String(i), [m.length], m))
  const bin = Buffer.alloc(offset)
  let at = 0
  for (const p of parts) {
    Buffer.from(p.buffer, p.byteOffset, p.byteLength).copy(bin, at)
    at += p.byteLength
  }
  const { weights: _w, teacher: _t, momentum: _m, ...rest } = state
  const header: SupernetFileHeader = {
    ...rest,
    ...(extra?.totalSteps === undefined ? {} : { totalSteps: extra.totalSteps }),
    bin: { file: SUPERNET_BIN, bytes: bin.length, sha256: createHash('sha256').update(bin).digest('hex') },
    arrays,
    ...(extra?.extra === undefined ? {} : { extra: extra.extra }),
  }
  const binPath = join(dir, SUPERNET_BIN)
  writeFileSync(`${binPath}.tmp`, bin)
  renameSync(`${binPath}.tmp`, binPath)
  const jsonPath = join(dir, SUPERNET_JSON)
  writeFileSync(`${jsonPath}.tmp`, `${JSON.stringify(header, null, 1)}\n`)
  renameSync(`${jsonPath}.tmp`, jsonPath)
}

/**
 * The header of the supernet directory `dir`, or a `DATA_MISSING` / `DATA_CORRUPT` NasError naming
 * the file.
 * @since 0.1.0
 * @category files
 */
export function readSupernetHeader(dir: string): SupernetFileHeader {
  const file = join(dir, SUPERNET_JSON)
  if (!existsSync(file)) {
    throw new NasError({
      code: 'DATA_MISSING',
      message: `${dir} is not a supernet directory: it has no ${SUPERNET_JSON} (nas supernet train --out ${dir} writes one)`,
      value: dir,
    })
  }
  let h: SupernetFileHeader
  try {
    h = JSON.parse(readFileSync(file, 'utf8')) as SupernetFileHeader
  } catch {
    throw new NasError({ code: 'DATA_CORRUPT', message: `${file} is not valid JSON`, value: file })
  }
  if (h.format !== 'nasjs-supernet-train' || h.version !== 1 || !Array.isArray(h.arrays)) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `${file} is not a nasjs supernet (format 'nasjs-supernet-train', version 1)`,
      value: (h as { format?: unknown }).format,
    })
  }
  return h
}

/**
 * The training state saved in `dir` (to resume training), checked against its SHA-256.
 * @since 0.1.0
 * @category files
 */
export function loadSupernetState(dir: string): SupernetTrainState & { readonly header: SupernetFileHeader } {
  const h = readSupernetHeader(dir)
  const binPath = join(dir, h.bin.file)
  let bin: Buffer
  try {
    bin = readFileSync(binPath)
  } catch {
    throw new NasError({ code: 'DATA_MISSING', message: `${binPath} is missing`, value: binPath })
  }
  if (bin.length !== h.bin.bytes || createHash('sha256').update(bin).digest('hex') !== h.bin.sha256) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `${binPath} does not match ${SUPERNET_JSON} (size or SHA-256): the directory was changed or half written`,
      value: binPath,
    })
  }
  const read = (m: Manifest) => {
    const n = m.shape.reduce((p, s) => p * s, 1)
    const values = new Float32Array(n)
    Buffer.from(values.buffer).set(bin.subarray(m.offset, m.offset + n * 4))
    return values
  }
  const group = (g: Manifest['group']): NamedArray[] =>
    h.arrays.filter((m) => m.group === g).map((m) => ({ name: m.name, shape: m.shape, values: read(m) }))
  const teacher = group('teacher')
  const { bin: _b, arrays: _a, extra: _e, totalSteps: _s, ...state } = h
  return {
    ...state,
    header: h,
    weights: group('weights'),
    ...(teacher.length === 0 ? {} : { teacher }),
    momentum: group('momentum').map((m) => m.values),
  }
}

/**
 * The supernet saved in `dir`, ready to evaluate and export (its weights and running statistics).
 * @since 0.1.0
 * @category files
 */
export function loadSupernet(dir: string): { net: ElasticMbv3; header: SupernetFileHeader } {
  const s = loadSupernetState(dir)
  const net = new ElasticMbv3(s.supernet)
  try {
    net.load(s.weights)
  } catch (e) {
    net.dispose()
    throw e
  }
  return { net, header: s.header }
}
