import { NasError, formatAllowed } from '@nasjs/core'

/**
 * NAS-Bench-201 operations, in the order nasjs uses for one-hot and ordinal encodings.
 * @since 0.1.0
 */
export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const
/** An NB201 operation. @since 0.1.0 */
export type Nb201Op = (typeof NB201_OPS)[number]

/**
 * An NB201 cell: the ops of its 6 edges in the **arch_str order**
 * (0->1), (0->2), (1->2), (0->3), (1->3), (2->3).
 * @since 0.1.0
 */
export type Nb201Arch = readonly [Nb201Op, Nb201Op, Nb201Op, Nb201Op, Nb201Op, Nb201Op]

/** The (from, to) node pair of each edge, in arch_str order. @since 0.1.0 */
export const NB201_EDGES: readonly (readonly [number, number])[] = [
  [0, 1],
  [0, 2],
  [1, 2],
  [0, 3],
  [1, 3],
  [2, 3],
]

/** NASLib's op codes: 0=skip_connect 1=none 2=nor_conv_3x3 3=nor_conv_1x1 4=avg_pool_3x3. @since 0.1.0 */
export const NASLIB_OPS: readonly Nb201Op[] = [
  'skip_connect',
  'none',
  'nor_conv_3x3',
  'nor_conv_1x1',
  'avg_pool_3x3',
]
/**
 * NASLib orders the edges (0->1, 0->2, 0->3, 1->2, 1->3, 2->3); entry i is the arch_str position of
 * NASLib position i.
 * @since 0.1.0
 */
export const NASLIB_TO_ARCHSTR_EDGE = [0, 1, 3, 2, 4, 5] as const

const OP_SET: ReadonlySet<string> = new Set(NB201_OPS)

const archError = (
  message: string,
  value: unknown,
  allowed?: readonly unknown[],
  path?: (string | number)[],
) =>
  new NasError({
    code: 'ARCH_INVALID',
    message,
    value,
    ...(allowed ? { allowed } : {}),
    ...(path ? { path } : {}),
  })

/**
 * Parses `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. Errors name the node, the edge and the allowed ops.
 * @example parseNb201('|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|')
 * @since 0.1.0
 */
export function parseNb201(text: string): Nb201Arch {
  if (typeof text !== 'string') throw archError('an NB201 architecture string is required', text)
  const nodes = text.trim().split('+')
  if (nodes.length !== 3) {
    throw archError(
      `NB201 string '${text}' has ${nodes.length} node groups separated by '+'; expected 3 (|op~0|+|op~0|op~1|+|op~0|op~1|op~2|)`,
      text,
    )
  }
  const ops: Nb201Op[] = []
  for (let n = 0; n < 3; n++) {
    const group = nodes[n]!
    if (!group.startsWith('|') || !group.endsWith('|') || group.length < 2) {
      throw archError(`NB201 node ${n + 1} group '${group}' must start and end with '|'`, group, undefined, [
        n + 1,
      ])
    }
    const edges = group.slice(1, -1).split('|')
    if (edges.length !== n + 1) {
      throw archError(
        `NB201 node ${n + 1} has ${edges.length} incoming edge(s) in '${group}'; expected ${n + 1} (6 edges in all)`,
        group,
        undefined,
        [n + 1],
      )
    }
    for (let j = 0; j <= n; j++) {
      const e = edges[j]!
      const tilde = e.lastIndexOf('~')
      const op = tilde < 0 ? e : e.slice(0, tilde)
      const src = tilde < 0 ? '' : e.slice(tilde + 1)
      if (!OP_SET.has(op)) {
        throw archError(
          `unknown NB201 op '${op}' on edge ${j}->${n + 1}; expected ${formatAllowed(NB201_OPS)}`,
          op,
          NB201_OPS,
          [n + 1, j],
        )
      }
      if (src !== String(j)) {
        throw archError(
          `NB201 edge '${e}' into node ${n + 1} must come from node ${j} (written '${op}~${j}')`,
          e,
          [`${op}~${j}`],
          [n + 1, j],
        )
      }
      ops.push(op as Nb201Op)
    }
  }
  return ops as unknown as Nb201Arch
}

/** Formats an NB201 cell as its arch_str. @since 0.1.0 */
export function formatNb201(a: Nb201Arch): string {
  return `|${a[0]}~0|+|${a[1]}~0|${a[2]}~1|+|${a[3]}~0|${a[4]}~1|${a[5]}~2|`
}

/** Converts a NASLib tuple (array or its text `"(4, 3, 3, 0, 0, 0)"`) to an NB201 cell. @since 0.1.0 */
export function nb201FromNaslibTuple(tuple: readonly number[] | string): Nb201Arch {
  const codes =
    typeof tuple === 'string'
      ? tuple
          .replace(/[()[\]\s]/g, '')
          .split(',')
          .filter((s) => s !== '')
          .map(Number)
      : tuple
  if (codes.length !== 6) throw archError(`a NASLib NB201 tuple has 6 entries, got ${codes.length}`, tuple)
  const ops = new Array<Nb201Op>(6)
  for (let i = 0; i < 6; i++) {
    const c = codes[i]!
    const op = NASLIB_OPS[c]
    if (!Number.isInteger(c) || op === undefined) {
      throw archError(`NASLib op code ${c} at position ${i}; expected 0..4`, c, [0, 1, 2, 3, 4], [i])
    }
    ops[NASLIB_TO_ARCHSTR_EDGE[i]!] = op
  }
  return ops as unknown as Nb201Arch
}

/** Converts an NB201 cell to its NASLib tuple. @since 0.1.0 */
export function nb201ToNaslibTuple(a: Nb201Arch): number[] {
  return NASLIB_TO_ARCHSTR_EDGE.map((p) => NASLIB_OPS.indexOf(a[p]))
}

/** Mixed-radix index of a cell in [0, 15625): edge 0 is the most significant digit, ops in NB201_OPS order. @since 0.1.0 */
export function nb201ToOrdinal(a: Nb201Arch): number {
  let k = 0
  for (let i = 0; i < 6; i++) k = k * 5 + NB201_OPS.indexOf(a[i]!)
  return k
}

/** Inverse of {@link nb201ToOrdinal}. @since 0.1.0 */
export function nb201FromOrdinal(k: number): Nb201Arch {
  if (!Number.isInteger(k) || k < 0 || k >= 15625) {
    throw archError(`NB201 ordinal ${k} is outside 0..15624`, k)
  }
  const ops = new Array<Nb201Op>(6)
  for (let i = 5; i >= 0; i--) {
    ops[i] = NB201_OPS[k % 5]!
    k = Math.floor(k / 5)
  }
  return ops as unknown as Nb201Arch
}
