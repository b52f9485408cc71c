import { formatAllowed } from '@nasjs/core'
import { cell, struct, type EdgeCellNode } from '../dsl/constructors.js'
import { defineSpaceAs, type DslSpace } from '../dsl/define.js'
import { archError, show } from '../internal.js'

/**
 * The 8 DARTS primitives in the order of the DARTS code (`genotypes.PRIMITIVES`); `none` is the zero
 * op of the supernet and never appears in a derived genotype.
 * @since 0.1.0
 */
export const DARTS_PRIMITIVES = [
  'none',
  'max_pool_3x3',
  'avg_pool_3x3',
  'skip_connect',
  'sep_conv_3x3',
  'sep_conv_5x5',
  'dil_conv_3x3',
  'dil_conv_5x5',
] as const
/** A DARTS primitive. @since 0.1.0 */
export type DartsPrimitive = (typeof DARTS_PRIMITIVES)[number]
/** The 7 ops a DARTS genotype edge can carry (the primitives without `none`). @since 0.1.0 */
export const DARTS_OPS: readonly DartsOp[] = DARTS_PRIMITIVES.filter((p): p is DartsOp => p !== 'none')
/** An op of a DARTS genotype edge. @since 0.1.0 */
export type DartsOp = Exclude<DartsPrimitive, 'none'>

/** One DARTS cell: 4 intermediate nodes, each with 2 distinct inputs (sorted) and one op per input. @since 0.1.0 */
export type DartsCell = EdgeCellNode<DartsOp>[]
/** A DARTS architecture: a normal and a reduction cell. @since 0.1.0 */
export interface DartsArch {
  normal: DartsCell
  reduce: DartsCell
}

const normalCell = cell({
  inputs: 2,
  nodes: 4,
  inputsPerNode: 2,
  ops: DARTS_OPS,
  output: 'concat',
  // in a normal cell skip_connect is the identity; in a reduction cell it is a FactorizedReduce on
  // edges from the cell inputs, so it is treated as an ordinary op there
  identity: 'skip_connect',
})
const reduceCell = cell({ inputs: 2, nodes: 4, inputsPerNode: 2, ops: DARTS_OPS, output: 'concat' })

/**
 * Formats a DARTS architecture as the DARTS genotype text, pairs of each node in increasing input order:
 * `Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])`.
 * @since 0.1.0
 */
export function formatDartsGenotype(a: DartsArch): string {
  const cellText = (c: DartsCell) =>
    `[${c.flatMap((n) => n.inputs.map((i, j) => `('${n.ops[j]}', ${i})`)).join(', ')}]`
  return `Genotype(normal=${cellText(a.normal)}, normal_concat=[2, 3, 4, 5], reduce=${cellText(a.reduce)}, reduce_concat=[2, 3, 4, 5])`
}

const OP_SET: ReadonlySet<string> = new Set(DARTS_OPS)

function parseCell(text: string, which: 'normal' | 'reduce'): DartsCell {
  const pairs = [...text.matchAll(/\(\s*['"]([^'"]*)['"]\s*,\s*(-?\d+)\s*\)/g)]
  const stripped = text.replace(/\(\s*['"][^'"]*['"]\s*,\s*-?\d+\s*\)/g, '').replace(/[\s,]/g, '')
  if (stripped !== '') {
    throw archError(
      `DARTS genotype ${which}: cannot read ${show(stripped)}; expected ('op', input) pairs`,
      text,
      undefined,
      [which],
    )
  }
  if (pairs.length !== 8) {
    throw archError(
      `DARTS genotype ${which} has ${pairs.length} (op, input) pairs; expected 8 (2 for each of the 4 nodes)`,
      pairs.length,
      [8],
      [which],
    )
  }
  const out: DartsCell = []
  for (let k = 0; k < 4; k++) {
    const edges: [number, DartsOp][] = []
    for (let j = 0; j < 2; j++) {
      const pos = 2 * k + j
      const [, op, idx] = pairs[pos]!
      if (!OP_SET.has(op!)) {
        throw archError(
          `DARTS genotype ${which}[${pos}] (node ${k + 2}): unknown op ${show(op)}; expected ${formatAllowed(DARTS_OPS)}`,
          op,
          DARTS_OPS,
          [which, pos, 0],
        )
      }
      const i = Number(idx)
      const allowed = Array.from({ length: k + 2 }, (_, t) => t)
      if (i < 0 || i > k + 1) {
        throw archError(
          `DARTS genotype ${which}[${pos}] (node ${k + 2}): input ${i} is out of range; expected ${formatAllowed(allowed)}`,
          i,
          allowed,
          [which, pos, 1],
        )
      }
      edges.push([i, op as DartsOp])
    }
    if (edges[0]![0] === edges[1]![0]) {
      throw archError(
        `DARTS genotype ${which}[${2 * k}..${2 * k + 1}] (node ${k + 2}) takes input ${edges[0]![0]} twice; the two inputs must differ`,
        edges[0]![0],
        undefined,
        [which, 2 * k + 1, 1],
      )
    }
    edges.sort((x, y) => x[0] - y[0])
    out.push({ inputs: edges.map((e) => e[0]), ops: edges.map((e) => e[1]) })
  }
  return out
}

function checkConcat(text: string | undefined, which: string): void {
  if (text === undefined) return
  const t = text.replace(/\s/g, '')
  if (t !== '[2,3,4,5]' && t !== 'range(2,6)') {
    throw archError(
      `DARTS genotype ${which}_concat is ${show(text)}; nasjs cells concatenate all 4 nodes: [2, 3, 4, 5] or range(2, 6)`,
      text,
      ['[2, 3, 4, 5]', 'range(2, 6)'],
      [`${which}_concat`],
    )
  }
}

/**
 * Parses a DARTS genotype text (`Genotype(normal=[...], normal_concat=..., reduce=[...], reduce_concat=...)`,
 * the `Genotype(` wrapper and the concat fields optional). Errors name the cell, the pair and the allowed values.
 * @example parseDartsGenotype("Genotype(normal=[('sep_conv_3x3', 0), ...], reduce=[...])")
 * @since 0.1.0
 */
export function parseDartsGenotype(text: string): DartsArch {
  if (typeof text !== 'string') throw archError('a DARTS genotype string is required', text)
  const grab = (name: string, re: RegExp) => {
    const m = re.exec(text)
    return m ? m[1] : undefined
  }
  const normal = grab('normal', /\bnormal\s*=\s*\[([^\]]*)\]/)
  const reduce = grab('reduce', /\breduce\s*=\s*\[([^\]]*)\]/)
  if (normal === undefined || reduce === undefined) {
    throw archError(
      `a DARTS genotype needs normal=[...] and reduce=[...], got ${show(text)}`,
      text,
      undefined,
      [normal === undefined ? 'normal' : 'reduce'],
    )
  }
  checkConcat(grab('normal_concat', /\bnormal_concat\s*=\s*(\[[^\]]*\]|range\([^)]*\))/), 'normal')
  checkConcat(grab('reduce_concat', /\breduce_concat\s*=\s*(\[[^\]]*\]|range\([^)]*\))/), 'reduce')
  return { normal: parseCell(normal, 'normal'), reduce: parseCell(reduce, 'reduce') }
}

/**
 * The DARTS space (Liu, Simonyan and Yang, 2019): a normal and a reduction cell, each with 2 inputs
 * and 4 intermediate nodes; node k picks 2 distinct earlier nodes and one of the 7 non-zero ops for
 * each; the output concatenates the 4 nodes. (180 x 7^8)^2, about 1.1 x 10^18 architectures. The hash
 * is invariant under relabelling the intermediate nodes and under the order of a node's two inputs.
 *
 * @example
 * ```ts
 * const g = darts.parse(
 *   "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
 * ) // DARTS-V2
 * ```
 * @since 0.1.0
 * @category models
 */
export const darts: DslSpace<DartsArch> = defineSpaceAs<DartsArch>(
  'darts',
  struct({ normal: normalCell, reduce: reduceCell }),
  {
    title: 'DARTS normal + reduction cells (4 nodes, 2 inputs each, 7 ops)',
    format: formatDartsGenotype,
    parse: parseDartsGenotype,
  },
)
