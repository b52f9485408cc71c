import { NasError } from '@nasjs/core'
import {
  NB201_OPS,
  nb201FromNaslibTuple,
  nb201ToOrdinal,
  parseNb201,
  type Nb201Arch,
  type Nb201Op,
} from '@nasjs/search-space'

/**
 * Every way to name an NB201 architecture: the cell as `@nasjs/search-space`'s `Nb201Arch` (6 ops in
 * arch_str edge order), its arch_str `|op~0|+|op~0|op~1|+|...|`, a NASLib tuple (array of 6 op codes
 * or its text `"(4, 3, 3, 0, 0, 0)"`), or the **official NB201 index** (a number 0..15624).
 * @since 0.1.0
 */
export type Nb201ArchLike = Nb201Arch | readonly Nb201Op[] | string | number | readonly number[]

/**
 * The number of NB201 cells.
 * @since 0.1.0
 */
export const NB201_SIZE = 15625

/** The index of an op in NB201_OPS (`none`, `skip_connect`, `nor_conv_1x1`, `nor_conv_3x3`, `avg_pool_3x3`). */
function opCode(op: string): number | undefined {
  switch (op.charCodeAt(0)) {
    case 110: // n
      return op === 'none' ? 0 : op === 'nor_conv_1x1' ? 2 : op === 'nor_conv_3x3' ? 3 : undefined
    case 115: // s
      return op === 'skip_connect' ? 1 : undefined
    case 97: // a
      return op === 'avg_pool_3x3' ? 4 : undefined
    default:
      return undefined
  }
}

/**
 * The mixed-radix ordinal (`nb201ToOrdinal` of `@nasjs/search-space`, not the official index) of
 * an architecture given in any form except the official index. Throws `ARCH_INVALID`.
 * @since 0.1.0
 */
export function nb201OrdinalOf(arch: Exclude<Nb201ArchLike, number>): number {
  if (typeof arch === 'string') {
    const t = arch.trim()
    if (t.startsWith('|')) return nb201ToOrdinal(parseNb201(t))
    if (t.startsWith('(') || t.startsWith('[')) return nb201ToOrdinal(nb201FromNaslibTuple(t))
    throw new NasError({
      code: 'ARCH_INVALID',
      message: `'${arch}' is not an NB201 architecture; expected an arch_str '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|', a NASLib tuple '(4, 3, 3, 0, 0, 0)' or an official index 0..15624`,
      value: arch,
    })
  }
  if (Array.isArray(arch)) {
    if (arch.length !== 6) {
      throw new NasError({
        code: 'ARCH_INVALID',
        message: `an NB201 cell has 6 edges; got an array of ${arch.length}`,
        value: arch,
      })
    }
    if (typeof arch[0] === 'number') {
      return nb201ToOrdinal(nb201FromNaslibTuple(arch as readonly number[]))
    }
    let k = 0
    for (let i = 0; i < 6; i++) {
      const op: unknown = arch[i]
      const code = typeof op === 'string' ? opCode(op) : undefined
      if (code === undefined) {
        throw new NasError({
          code: 'ARCH_INVALID',
          message: `edge ${i} of the NB201 cell has op '${String(op)}'; expected one of ${NB201_OPS.join(', ')}`,
          value: op,
          allowed: NB201_OPS,
          path: [i],
        })
      }
      k = k * 5 + code
    }
    return k
  }
  throw new NasError({
    code: 'ARCH_INVALID',
    message: `cannot read an NB201 architecture from ${typeof arch}; expected an Nb201Arch (6 op names), an arch_str, a NASLib tuple or an official index`,
    value: arch,
  })
}

/**
 * The ordinal of a canonically spelled arch_str (`|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`) by one scan
 * without allocating, or -1 when the text is spelled any other way (then use the full parser).
 * @since 0.1.0
 */
export function fastArchStrOrdinal(s: string): number {
  let pos = 0
  let k = 0
  for (let node = 1; node <= 3; node++) {
    if (node > 1) {
      if (s.charCodeAt(pos) !== 43) return -1 // '+'
      pos++
    }
    if (s.charCodeAt(pos) !== 124) return -1 // '|'
    pos++
    for (let j = 0; j < node; j++) {
      let code: number
      let len: number
      const c = s.charCodeAt(pos)
      if (c === 110) {
        if (s.startsWith('none~', pos)) {
          code = 0
          len = 4
        } else if (s.startsWith('nor_conv_1x1~', pos)) {
          code = 2
          len = 12
        } else if (s.startsWith('nor_conv_3x3~', pos)) {
          code = 3
          len = 12
        } else return -1
      } else if (c === 115 && s.startsWith('skip_connect~', pos)) {
        code = 1
        len = 12
      } else if (c === 97 && s.startsWith('avg_pool_3x3~', pos)) {
        code = 4
        len = 12
      } else return -1
      pos += len + 1
      if (s.charCodeAt(pos) !== 48 + j || s.charCodeAt(pos + 1) !== 124) return -1 // '<j>|'
      pos += 2
      k = k * 5 + code
    }
  }
  return pos === s.length ? k : -1
}

/** NASLib op code (0=skip 1=none 2=conv3x3 3=conv1x1 4=avgpool) -> NB201_OPS index. */
const NASLIB_TO_CODE = [1, 0, 3, 2, 4]
/** NASLib position i holds arch_str edge NASLIB_EDGE[i]. */
const NASLIB_EDGE = [0, 1, 3, 2, 4, 5]
const RADIX = [3125, 625, 125, 25, 5, 1]

/**
 * The ordinal of a NASLib tuple spelled exactly `(a, b, c, d, e, f)`, or -1 for any other spelling.
 * @since 0.1.0
 */
export function fastNaslibTupleOrdinal(s: string): number {
  if (s.length !== 18 || s.charCodeAt(0) !== 40 || s.charCodeAt(17) !== 41) return -1
  let k = 0
  for (let i = 0; i < 6; i++) {
    const d = s.charCodeAt(1 + 3 * i) - 48
    if (d < 0 || d > 4) return -1
    if (i < 5 && (s.charCodeAt(2 + 3 * i) !== 44 || s.charCodeAt(3 + 3 * i) !== 32)) return -1
    k += NASLIB_TO_CODE[d]! * RADIX[NASLIB_EDGE[i]!]!
  }
  return k
}

/**
 * Checks an official NB201 index.
 * @since 0.1.0
 */
export function assertNb201Index(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= NB201_SIZE) {
    throw new NasError({
      code: 'ARCH_INVALID',
      message: `NB201 index ${index} is outside 0..${NB201_SIZE - 1}`,
      value: index,
    })
  }
  return index
}
