import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NasError } from '@nasjs/core'
import type { NamedArray } from '../base.js'
import { ElasticMbv3 } from '../elastic.js'
import { ElasticFbnet, isFbnetSupernet } from '../fbnet.js'
import type { SupernetTrainState } from '../train.js'
import { packArrays, readArray, readCheckedBin, type PackedArray } from './binary.js'

/** The header file of a supernet directory. */
export const SUPERNET_JSON = 'supernet.json'
/** The weights file of a supernet directory. */
export const SUPERNET_BIN = 'supernet.bin'

type Manifest = PackedArray<'weights' | 'teacher' | 'momentum'>

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
  const { bin, arrays, sha256 } = packArrays<Manifest['group']>([
    ...state.weights.map((w) => ({ group: 'weights' as const, ...w })),
    ...(state.teacher ?? []).map((w) => ({ group: 'teacher' as const, ...w })),
    ...state.momentum.map((m, i) => ({
      group: 'momentum' as const,
      name: String(i),
      shape: [m.length],
      values: m,
    })),
  ])
  const { weights: _w, teacher: _t, momentum: _m, ...rest } = state
  const header: SupernetFileHeader = {
    ...rest,
    ...(extra?.totalSteps === undefined ? {} : { totalSteps: extra.totalSteps }),
    bin: { file: SUPERNET_BIN, bytes: bin.length, sha256 },
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
  const bin = readCheckedBin(dir, h.bin, SUPERNET_JSON)
  const read = (m: Manifest) => readArray(bin, m)
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
 * The supernet saved in `dir`, ready to evaluate and export (its weights and running statistics):
 * an {@link ElasticFbnet} when its shape says `space: 'fbnet'`, else an {@link ElasticMbv3}.
 * @since 0.1.0
 * @category files
 */
export function loadSupernet(dir: string): { net: ElasticMbv3 | ElasticFbnet; header: SupernetFileHeader } {
  const s = loadSupernetState(dir)
  const net = isFbnetSupernet(s.supernet) ? new ElasticFbnet(s.supernet) : new ElasticMbv3(s.supernet)
  try {
    net.load(s.weights)
  } catch (e) {
    net.dispose()
    throw e
  }
  return { net, header: s.header }
}
