import { formatAllowed } from '@nasjs/core'
import { choice, type SpaceDef } from '../dsl/constructors.js'
import { defineSpaceAs, type DslSpace } from '../dsl/define.js'
import { archError, show } from '../internal.js'

/**
 * The 9 FBNet block types, in the order (and with the names) of the HELP FBNet latency table
 * (`op_idx_list` indexes this list): kernel k3/k5, expansion e1/e3/e6, g2 = group convolution.
 * @since 0.1.0
 */
export const FBNET_OPS = [
  'k3_e1',
  'k3_e1_g2',
  'k3_e3',
  'k3_e6',
  'k5_e1',
  'k5_e1_g2',
  'k5_e3',
  'k5_e6',
  'skip',
] as const
/** An FBNet block type. @since 0.1.0 */
export type FbnetOp = (typeof FBNET_OPS)[number]
/** The number of searchable FBNet layers. @since 0.1.0 */
export const FBNET_LAYERS = 22
/** An FBNet architecture: the block type of each of the 22 searchable layers. @since 0.1.0 */
export type FbnetArch = FbnetOp[]

const op = choice(FBNET_OPS)
const OP_INDEX: ReadonlyMap<string, number> = new Map(FBNET_OPS.map((o, i) => [o, i]))

/** Formats as the HELP table's `arch_str`: the 22 op names separated by spaces. @since 0.1.0 */
export function formatFbnet(a: FbnetArch): string {
  return a.join(' ')
}

/** Parses the `arch_str` form (22 op names separated by spaces). @since 0.1.0 */
export function parseFbnet(text: string): FbnetArch {
  const names = String(text)
    .trim()
    .split(/\s+/)
    .filter((s) => s !== '')
  if (names.length !== FBNET_LAYERS) {
    throw archError(`an FBNet arch_str has ${FBNET_LAYERS} ops, got ${names.length}`, text, [FBNET_LAYERS])
  }
  names.forEach((n, i) => {
    if (!OP_INDEX.has(n)) {
      throw archError(
        `FBNet layer ${i}: unknown op ${show(n)}; expected ${formatAllowed(FBNET_OPS)}`,
        n,
        FBNET_OPS,
        [i],
      )
    }
  })
  return names as FbnetArch
}

/** The HELP table's `op_idx_list` (e.g. `"7 8 1 ..."`) of an architecture. @since 0.1.0 */
export function fbnetToOpIndices(a: FbnetArch): number[] {
  return a.map((o) => OP_INDEX.get(o)!)
}

/** Builds an architecture from an `op_idx_list` (array or space-separated text). @since 0.1.0 */
export function fbnetFromOpIndices(list: readonly number[] | string): FbnetArch {
  const idx = typeof list === 'string' ? list.trim().split(/\s+/).map(Number) : list
  if (idx.length !== FBNET_LAYERS) {
    throw archError(`an FBNet op_idx_list has ${FBNET_LAYERS} entries, got ${idx.length}`, list, [
      FBNET_LAYERS,
    ])
  }
  return idx.map((k, i) => {
    const o = FBNET_OPS[k]
    if (!Number.isInteger(k) || o === undefined) {
      throw archError(
        `FBNet op index ${show(k)} at layer ${i}; expected 0..8`,
        k,
        [0, 1, 2, 3, 4, 5, 6, 7, 8],
        [i],
      )
    }
    return o
  })
}

/**
 * The FBNet space (Wu et al., 2019): 22 searchable layers, each one of 9 block types, 9^22 (about
 * 9.8 x 10^20) architectures; op names and order match the HELP FBNet latency table so latencies
 * can be looked up by `op_idx_list`.
 * @since 0.1.0
 * @category models
 */
export const fbnet: DslSpace<FbnetArch> = defineSpaceAs<FbnetArch>(
  'fbnet',
  { kind: 'product', parts: Array.from({ length: FBNET_LAYERS }, (): SpaceDef => op) },
  {
    title: 'FBNet (22 searchable layers x 9 block types)',
    format: formatFbnet,
    parse: parseFbnet,
  },
)
