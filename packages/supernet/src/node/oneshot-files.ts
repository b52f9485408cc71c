import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NasError } from '@nasjs/core'
import type { OneShotState } from '../oneshot/search.js'

/** The header file of a one-shot search directory. */
export const ONESHOT_JSON = 'oneshot.json'

interface Slot {
  readonly group: 'weights' | 'momentum' | 'adam'
  readonly name: string
  readonly shape: readonly number[]
  readonly offset: number
}

/**
 * The header of a one-shot search directory (`oneshot.json`): the search state without its arrays,
 * which are in the binary file it names (float32, little-endian) at the manifest's offsets.
 * @since 0.2.0
 */
export interface OneShotFileHeader extends Omit<OneShotState, 'weights' | 'momentum' | 'adam'> {
  readonly adamSteps: number
  readonly bin: { readonly file: string; readonly bytes: number; readonly sha256: string }
  readonly arrays: readonly Slot[]
  /** Anything the writer adds (the CLI: the data, the result). */
  readonly extra?: Record<string, unknown>
}

/**
 * Writes a one-shot search state to `dir`: the arrays to `oneshot-<step>.bin`, then the header
 * `oneshot.json` (to a temporary file, renamed), then removes older binaries, so a process killed
 * at any point leaves a whole checkpoint behind.
 * @since 0.2.0
 * @category files
 */
export function saveOneShotState(dir: string, state: OneShotState, extra?: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true })
  const arrays: Slot[] = []
  const parts: Float32Array[] = []
  let offset = 0
  const put = (group: Slot['group'], name: string, shape: readonly number[], values: Float32Array) => {
    arrays.push({ group, name, shape: [...shape], offset })
    parts.push(values)
    offset += values.length * 4
  }
  for (const w of state.weights) put('weights', w.name, w.shape, w.values)
  state.momentum.forEach((m, i) => put('momentum', String(i), [m.length], m))
  put('adam', 'm', [state.adam.m.length], state.adam.m)
  put('adam', 'v', [state.adam.v.length], state.adam.v)
  const bin = Buffer.alloc(offset)
  let at = 0
  for (const p of parts) {
    Buffer.from(p.buffer, p.byteOffset, p.byteLength).copy(bin, at)
    at += p.byteLength
  }
  const file = `oneshot-${state.step}.bin`
  writeFileSync(join(dir, `${file}.tmp`), bin)
  renameSync(join(dir, `${file}.tmp`), join(dir, file))
  const { weights: _w, momentum: _m, adam, ...rest } = state
  const header: OneShotFileHeader = {
    ...rest,
    adamSteps: adam.t,
    bin: { file, bytes: bin.length, sha256: createHash('sha256').update(bin).digest('hex') },
    arrays,
    ...(extra === undefined ? {} : { extra }),
  }
  const json = join(dir, ONESHOT_JSON)
  writeFileSync(`${json}.tmp`, `${JSON.stringify(header)}\n`)
  renameSync(`${json}.tmp`, json)
  for (const f of readdirSync(dir)) {
    if (/^oneshot-\d+\.bin$/.test(f) && f !== file) rmSync(join(dir, f), { force: true })
  }
}

/**
 * The header of the one-shot search in `dir` (`DATA_MISSING` when there is none, `DATA_CORRUPT`
 * when it is not one).
 * @since 0.2.0
 * @category files
 */
export function readOneShotHeader(dir: string): OneShotFileHeader {
  const path = join(dir, ONESHOT_JSON)
  if (!existsSync(path)) {
    throw new NasError({
      code: 'DATA_MISSING',
      message: `${dir} holds no one-shot search (${ONESHOT_JSON})`,
      value: dir,
    })
  }
  let h: OneShotFileHeader
  try {
    h = JSON.parse(readFileSync(path, 'utf8')) as OneShotFileHeader
  } catch {
    throw new NasError({ code: 'DATA_CORRUPT', message: `${path} is not JSON`, value: path })
  }
  if (h.format !== 'nasjs-oneshot' || h.version !== 1 || !Array.isArray(h.arrays)) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `${path} is not a one-shot search header`,
      value: path,
    })
  }
  return h
}

/**
 * Reads the one-shot search state in `dir` (see {@link saveOneShotState}), checking the binary's
 * size and SHA-256 against the header.
 * @since 0.2.0
 * @category files
 */
export function loadOneShotState(dir: string): OneShotState & { readonly header: OneShotFileHeader } {
  const h = readOneShotHeader(dir)
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
      message: `${binPath} does not match ${ONESHOT_JSON} (size or SHA-256): the directory was changed`,
      value: binPath,
    })
  }
  const read = (m: Slot) => {
    const n = m.shape.reduce((p, s) => p * s, 1)
    const values = new Float32Array(n)
    Buffer.from(values.buffer).set(bin.subarray(m.offset, m.offset + n * 4))
    return values
  }
  const group = (g: Slot['group']) => h.arrays.filter((m) => m.group === g)
  const adam = group('adam')
  const { bin: _b, arrays: _a, extra: _e, adamSteps, ...state } = h
  return {
    ...state,
    header: h,
    weights: group('weights').map((m) => ({ name: m.name, shape: m.shape, values: read(m) })),
    momentum: group('momentum').map(read),
    adam: {
      m: read(adam.find((m) => m.name === 'm')!),
      v: read(adam.find((m) => m.name === 'v')!),
      t: adamSteps,
    },
  }
}
