import { formatAllowed, type Rng } from '@nasjs/core'
import { z } from 'zod'
import {
  checkEncoding,
  decisionError,
  envelope,
  hash64,
  notAllowed,
  openEnvelope,
  sampleError,
  toNasError,
} from '../internal.js'
import type { Decision, DecisionTree, EncodingKind, SampleError, SearchSpace } from '../types.js'
import {
  NB201_EDGES,
  NB201_OPS,
  formatNb201,
  nb201FromOrdinal,
  nb201ToOrdinal,
  parseNb201,
  type Nb201Arch,
  type Nb201Op,
} from './nb201-codec.js'

const ID = 'nb201'
const N_OPS = 5
const N_EDGES = 6
const SIZE = 15625
const OP_INDEX: ReadonlyMap<string, number> = new Map(NB201_OPS.map((op, i) => [op, i]))
/** Short op names used in the functional form. */
const OP_SHORT = ['0', 'id', 'c1', 'c3', 'ap'] as const

/**
 * The name of the decision for each edge, in arch_str order: `edge.0->1`, `edge.0->2`, ...
 * @since 0.1.0
 */
export const NB201_EDGE_NAMES: readonly string[] = NB201_EDGES.map(([i, j]) => `edge.${i}->${j}`)

const DECISIONS: readonly Decision[] = NB201_EDGE_NAMES.map((name) => ({
  name,
  size: N_OPS,
  labels: NB201_OPS,
}))

const opIndexOf = (a: Nb201Arch, k: number): number => OP_INDEX.get(a[k]!)!

/**
 * The canonical form of an NB201 cell: every edge that cannot lie on a path from the input (node 0)
 * to the output (node 3) through non-`none` edges becomes `none`. Such edges never influence the
 * output, so a cell and its canonical form compute the same function. This is the form the
 * NAS-Bench-Suite-Zero "canonical" tables are keyed by.
 *
 * @example
 * ```ts
 * nb201Canonical(parseNb201('|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|'))
 * // ['none', 'none', 'none', 'skip_connect', 'none', 'none']: edge 0->1 leads nowhere
 * ```
 * @since 0.1.0
 */
export function nb201Canonical(a: Nb201Arch): Nb201Arch {
  // forward reachability from node 0, backward reachability to node 3, over non-none edges
  const from = [true, false, false, false]
  for (let k = 0; k < N_EDGES; k++) {
    const [i, j] = NB201_EDGES[k]!
    if (a[k] !== 'none' && from[i]) from[j] = true
  }
  const to = [false, false, false, true]
  for (let k = N_EDGES - 1; k >= 0; k--) {
    const [i, j] = NB201_EDGES[k]!
    if (a[k] !== 'none' && to[j]) to[i] = true
  }
  const out = a.map((op, k) => {
    const [i, j] = NB201_EDGES[k]!
    return op !== 'none' && from[i]! && to[j]! ? op : 'none'
  })
  return out as unknown as Nb201Arch
}

/**
 * The functional form of an NB201 cell: the cell's output as an expression of its input `x`, where
 * `none` is zero, `skip_connect` is the identity, sums are commutative and associative, and every
 * other op (`c1` = nor_conv_1x1, `c3` = nor_conv_3x3, `ap` = avg_pool_3x3) is an opaque function
 * with its own weights, with `op(0) = 0`. Two cells with the same form compute the same function
 * (up to the values of their weights). Cells with no input-to-output path all give `0`.
 *
 * @example
 * ```ts
 * nb201FunctionalForm(parseNb201('|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|'))
 * // 'c3(x)'
 * ```
 * @since 0.1.0
 */
export function nb201FunctionalForm(a: Nb201Arch): string {
  const terms: string[][] = [['x'], [], [], []]
  for (let k = 0; k < N_EDGES; k++) {
    const [i, j] = NB201_EDGES[k]!
    const src = terms[i]!
    if (src.length === 0) continue
    const op = opIndexOf(a, k)
    if (op === 0) continue
    const dst = terms[j]!
    if (op === 1) {
      for (const t of src) dst.push(t)
    } else {
      dst.push(`${OP_SHORT[op]}(${src.join('+')})`)
    }
    // keep every node's terms sorted so equal sums print equally
    dst.sort()
  }
  const out = terms[3]!
  return out.length === 0 ? '0' : out.join('+')
}

let hashTable: string[] | undefined
/** The functional hash of each cell, by ordinal; built on first use. */
function hashOf(k: number): string {
  if (hashTable === undefined) {
    const table = new Array<string>(SIZE)
    for (let i = 0; i < SIZE; i++) table[i] = hash64(nb201FunctionalForm(nb201FromOrdinal(i)))
    hashTable = table
  }
  return hashTable[k]!
}

/**
 * The number of functional-hash classes over all 15,625 NB201 cells (computed, not stored).
 * @since 0.1.0
 */
export function nb201HashClassCount(): number {
  const seen = new Set<string>()
  for (let i = 0; i < SIZE; i++) seen.add(hashOf(i))
  return seen.size
}

// BANANAS path encoding: the 4 input->output paths of the cell, as edge lists (arch_str positions)
const PATHS: readonly (readonly number[])[] = [[3], [0, 4], [1, 5], [0, 2, 5]]
const PATH_LEN = 4 + 16 + 64
// adjacency encoding: the op-as-node graph (input, 6 edge nodes, output): 28 upper-triangle bits + 6x5 ops
const ADJ_NODES = 8
const ADJ_BITS = (ADJ_NODES * (ADJ_NODES - 1)) / 2
const ADJ_LEN = ADJ_BITS + N_EDGES * N_OPS
const triIndex = (r: number, c: number): number => r * ADJ_NODES - (r * (r + 1)) / 2 + (c - r - 1)

const ENCODINGS: readonly EncodingKind[] = ['onehot', 'ordinal', 'adjacency', 'path']
const LENGTHS: Record<EncodingKind, number> = {
  onehot: N_EDGES * N_OPS,
  ordinal: N_EDGES,
  adjacency: ADJ_LEN,
  path: PATH_LEN,
}

function encodeNb201(a: Nb201Arch, kind: EncodingKind): Float32Array {
  const v = new Float32Array(LENGTHS[kind])
  switch (kind) {
    case 'onehot':
      for (let k = 0; k < N_EDGES; k++) v[k * N_OPS + opIndexOf(a, k)] = 1
      return v
    case 'ordinal':
      for (let k = 0; k < N_EDGES; k++) v[k] = opIndexOf(a, k)
      return v
    case 'path': {
      for (const path of PATHS) {
        let idx = 0
        let ok = true
        for (const e of path) {
          const op = opIndexOf(a, e)
          if (op === 0) {
            ok = false
            break
          }
          idx = idx * 4 + (op - 1)
        }
        if (!ok) continue
        const offset = path.length === 1 ? 0 : path.length === 2 ? 4 : 20
        v[offset + idx] = 1
      }
      return v
    }
    case 'adjacency': {
      for (let k = 0; k < N_EDGES; k++) {
        const op = opIndexOf(a, k)
        v[ADJ_BITS + k * N_OPS + op] = 1
        if (op === 0) continue
        const [i, j] = NB201_EDGES[k]!
        if (i === 0) v[triIndex(0, k + 1)] = 1
        if (j === 3) v[triIndex(k + 1, ADJ_NODES - 1)] = 1
        for (let m = k + 1; m < N_EDGES; m++) {
          if (NB201_EDGES[m]![0] === j && opIndexOf(a, m) !== 0) v[triIndex(k + 1, m + 1)] = 1
        }
      }
      return v
    }
  }
}

/** Validates an NB201 cell given as a value; returns the problem or `undefined`. */
function checkNb201(x: unknown): SampleError | undefined {
  if (!Array.isArray(x)) {
    return sampleError([], `an NB201 cell is an array of 6 ops, got ${typeof x}`, x)
  }
  if (x.length !== N_EDGES) {
    return sampleError([], `an NB201 cell has 6 edges, got ${x.length}`, x.length, [N_EDGES])
  }
  for (let k = 0; k < N_EDGES; k++) {
    const op: unknown = x[k]
    if (typeof op !== 'string' || !OP_INDEX.has(op)) return notAllowed([k], op, NB201_OPS)
  }
  return undefined
}

const Nb201ArchSchema = z.tuple([
  z.enum(NB201_OPS),
  z.enum(NB201_OPS),
  z.enum(NB201_OPS),
  z.enum(NB201_OPS),
  z.enum(NB201_OPS),
  z.enum(NB201_OPS),
]) as unknown as z.ZodType<Nb201Arch>

const decisions: DecisionTree<Nb201Arch> = {
  next: (prefix) => DECISIONS[prefix.length],
  build(ds) {
    if (ds.length !== N_EDGES) {
      throw decisionError(ID, `an NB201 decision list has 6 entries, got ${ds.length}`, ds, ds.length)
    }
    const ops = new Array<Nb201Op>(N_EDGES)
    for (let k = 0; k < N_EDGES; k++) {
      const d = ds[k]!
      const op = NB201_OPS[d]
      if (!Number.isInteger(d) || op === undefined) {
        throw decisionError(ID, `decision ${DECISIONS[k]!.name} is ${d}; expected 0..4`, d, k)
      }
      ops[k] = op
    }
    return ops as unknown as Nb201Arch
  },
  decide: (a) => a.map((op) => OP_INDEX.get(op)!),
}

function withOp(a: Nb201Arch, k: number, op: Nb201Op): Nb201Arch {
  const out = a.slice()
  out[k] = op
  return out as unknown as Nb201Arch
}

/**
 * The NAS-Bench-201 cell space (Dong and Yang, 2020): a 4-node cell, each of its 6 edges one of 5 ops,
 * 15,625 cells. Architectures are 6-op arrays in arch_str edge order; the text form is the benchmark's
 * `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. `hash` is the functional hash ({@link nb201FunctionalForm}).
 *
 * @example
 * ```ts
 * import { Rng } from '@nasjs/core'
 * const a = nb201.sample(new Rng(1))
 * nb201.format(a)              // '|...~0|+|...~0|...~1|+|...~0|...~1|...~2|'
 * nb201.encode(a, 'onehot')    // Float32Array(30)
 * ```
 * @since 0.1.0
 * @category models
 */
export const nb201: SearchSpace<Nb201Arch> = {
  id: ID,
  schema: Nb201ArchSchema,
  encodings: ENCODINGS,
  decisions,
  sample: (rng: Rng) => nb201FromOrdinal(rng.int(SIZE)),
  mutate(a, rng) {
    const k = rng.int(N_EDGES)
    const cur = opIndexOf(a, k)
    const r = rng.int(N_OPS - 1)
    return withOp(a, k, NB201_OPS[r >= cur ? r + 1 : r]!)
  },
  crossover(a, b, rng) {
    const out = new Array<Nb201Op>(N_EDGES)
    for (let k = 0; k < N_EDGES; k++) out[k] = rng.uniform() < 0.5 ? a[k]! : b[k]!
    return out as unknown as Nb201Arch
  },
  neighbors(a) {
    const out: Nb201Arch[] = []
    for (let k = 0; k < N_EDGES; k++) {
      for (const op of NB201_OPS) if (op !== a[k]) out.push(withOp(a, k, op))
    }
    return out
  },
  size: () => BigInt(SIZE),
  *enumerate() {
    for (let i = 0; i < SIZE; i++) yield nb201FromOrdinal(i)
  },
  encode(a, kind = 'onehot') {
    return encodeNb201(a, checkEncoding(ID, kind, ENCODINGS))
  },
  encodingLength(kind = 'onehot') {
    return LENGTHS[checkEncoding(ID, kind, ENCODINGS)]
  },
  hash: (a) => hashOf(nb201ToOrdinal(a)),
  format: formatNb201,
  parse: parseNb201,
  check: checkNb201,
  validate(x) {
    const e = checkNb201(x)
    if (e) throw toNasError(ID, e)
    return (x as Nb201Arch).slice() as unknown as Nb201Arch
  },
  toJSON: (a) => envelope(ID, a.slice()),
  fromJSON(json) {
    return nb201.validate(openEnvelope(ID, json))
  },
  describe: () =>
    `nb201: NAS-Bench-201 cell, 6 edges x 5 ops (${formatAllowed(NB201_OPS)}), 15625 architectures; ` +
    `encodings onehot(30), ordinal(6), adjacency(${ADJ_LEN}), path(${PATH_LEN})`,
}
