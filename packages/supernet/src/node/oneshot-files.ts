import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NasError } from '@nasjs/core'
import type { OneShotState } from '../oneshot/search.js'
import { packArrays, readArray, readCheckedBin, type PackedArray } from './binary.js'

/** The header file of a one-shot search directory. */
export const ONESHOT_JSON = 'oneshot.json'

type Slot = PackedArray<'weights' | 'momentum' | 'adam' | 'aux'>

/**
 * The header of a one-shot search directory (`oneshot.json`): the search state without its arrays,
 * which are in the binary file it names (float32, little-endian) at the manifest's offsets.
 * @since 0.2.0
 */
export interface OneShotFileHeader extends Omit<OneShotState, 'weights' | 'momentum' | 'adam' | 'aux'> {
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
  const { bin, arrays, sha256 } = packArrays<Slot['group']>([
    ...state.weights.map((w) => ({ group: 'weights' as const, ...w })),
    ...state.momentum.map((m, i) => ({
      group: 'momentum' as const,
      name: String(i),
      shape: [m.length],
      values: m,
    })),
    { group: 'adam', name: 'm', shape: [state.adam.m.length], values: state.adam.m },
    { group: 'adam', name: 'v', shape: [state.adam.v.length], values: state.adam.v },
    ...(state.aux ?? []).map((a) => ({ group: 'aux' as const, ...a })),
  ])
  const file = `oneshot-${state.step}.bin`
  writeFileSync(join(dir, `${file}.tmp`), bin)
  renameSync(join(dir, `${file}.tmp`), join(dir, file))
  const { weights: _w, momentum: _m, adam, aux: _x, ...rest } = state
  const header: OneShotFileHeader = {
    ...rest,
    adamSteps: adam.t,
    bin: { file, bytes: bin.length, sha256 },
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
  const bin = readCheckedBin(dir, h.bin, ONESHOT_JSON)
  const read = (m: Slot) => readArray(bin, m)
  const group = (g: Slot['group']) => h.arrays.filter((m) => m.group === g)
  const adam = group('adam')
  const aux = group('aux')
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
    ...(aux.length === 0 ? {} : { aux: aux.map((m) => ({ name: m.name, shape: m.shape, values: read(m) })) }),
  }
}
