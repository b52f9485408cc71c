import { formatAllowed, type Rng } from '@nasjs/core'
import { z } from 'zod'
import {
  archError,
  checkEncoding,
  decisionError,
  envelope,
  notAllowed,
  openEnvelope,
  sampleError,
  show,
  toNasError,
} from '../internal.js'
import type { Decision, DecisionTree, EncodingKind, SampleError, SearchSpace } from '../types.js'

/** The three NAS-Bench-101 operations, in the benchmark's spelling. @since 0.1.0 */
export const NB101_OPS = ['conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3'] as const
/** A NAS-Bench-101 operation. @since 0.1.0 */
export type Nb101Op = (typeof NB101_OPS)[number]
/** At most 7 vertices (input and output included). @since 0.1.0 */
export const NB101_MAX_VERTICES = 7
/** At most 9 edges. @since 0.1.0 */
export const NB101_MAX_EDGES = 9

/**
 * A NAS-Bench-101 cell in the benchmark's `ModelSpec` form: an upper-triangular 0/1 adjacency matrix
 * and the vertex labels, `'input'` first and `'output'` last. Architectures of the space are
 * pruned: every vertex lies on a path from input to output.
 * @since 0.1.0
 */
export interface Nb101Arch {
  matrix: number[][]
  ops: string[]
}

const ID = 'nb101'
const OP_INDEX: ReadonlyMap<string, number> = new Map(NB101_OPS.map((o, i) => [o, i]))

/** Edge list (i, j), i < j, in row-major order, for n vertices. */
const PAIRS: (readonly [number, number])[][] = []
for (let n = 0; n <= NB101_MAX_VERTICES; n++) {
  const ps: [number, number][] = []
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) ps.push([i, j])
  PAIRS.push(ps)
}

function popcount(x: number): number {
  let c = 0
  while (x) {
    x &= x - 1
    c++
  }
  return c
}

/** Whether the edge mask (MSB = first pair) is a pruned, connected cell with <= 9 edges. */
function maskValid(mask: number, n: number): boolean {
  const ps = PAIRS[n]!
  const T = ps.length
  if (popcount(mask) > NB101_MAX_EDGES) return false
  const fwd = new Array<boolean>(n).fill(false)
  const bwd = new Array<boolean>(n).fill(false)
  fwd[0] = true
  bwd[n - 1] = true
  for (let e = 0; e < T; e++) {
    if ((mask >>> (T - 1 - e)) & 1 && fwd[ps[e]![0]]) fwd[ps[e]![1]] = true
  }
  for (let e = T - 1; e >= 0; e--) {
    if ((mask >>> (T - 1 - e)) & 1 && bwd[ps[e]![1]]) bwd[ps[e]![0]] = true
  }
  for (let v = 0; v < n; v++) if (!fwd[v] || !bwd[v]) return false
  return true
}

const maskCache: (Int32Array | undefined)[] = []
/** All valid edge masks of n-vertex cells, ascending (computed on first use; n = 7 takes ~0.3 s). */
function validMasks(n: number): Int32Array {
  let m = maskCache[n]
  if (m === undefined) {
    const T = PAIRS[n]!.length
    const out: number[] = []
    for (let mask = 0; mask < 2 ** T; mask++) if (maskValid(mask, n)) out.push(mask)
    m = Int32Array.from(out)
    maskCache[n] = m
  }
  return m
}

function lowerBound(a: Int32Array, x: number): number {
  let lo = 0
  let hi = a.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (a[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Whether some valid mask starts with the first `len` bits `prefix`. */
function prefixFeasible(n: number, prefix: number, len: number): boolean {
  const T = PAIRS[n]!.length
  const masks = validMasks(n)
  const lo = prefix * 2 ** (T - len)
  const hi = lo + 2 ** (T - len) - 1
  const i = lowerBound(masks, lo)
  return i < masks.length && masks[i]! <= hi
}

const hasMask = (n: number, mask: number): boolean => {
  const masks = validMasks(n)
  const i = lowerBound(masks, mask)
  return i < masks.length && masks[i] === mask
}

function maskOf(a: Nb101Arch): number {
  const n = a.ops.length
  let mask = 0
  for (const [i, j] of PAIRS[n]!) mask = mask * 2 + (a.matrix[i]![j] ? 1 : 0)
  return mask
}

function fromMask(n: number, mask: number, middle: readonly string[]): Nb101Arch {
  const ps = PAIRS[n]!
  const T = ps.length
  const matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0))
  for (let e = 0; e < T; e++) if ((mask >>> (T - 1 - e)) & 1) matrix[ps[e]![0]]![ps[e]![1]] = 1
  return { matrix, ops: ['input', ...middle, 'output'] }
}

let countsMemo: bigint[] | undefined
/**
 * The number of labelled cells of the space by vertex count: entry n (n = 2..7) counts the valid
 * (matrix, ops) pairs with n vertices; entries 0 and 1 are 0. Their sum is `nb101.size()`.
 * @since 0.1.0
 */
export function nb101CountsByVertices(): readonly bigint[] {
  return countsByVertices()
}

function countsByVertices(): bigint[] {
  if (countsMemo === undefined) {
    const c: bigint[] = [0n, 0n]
    for (let n = 2; n <= NB101_MAX_VERTICES; n++) c.push(BigInt(validMasks(n).length) * 3n ** BigInt(n - 2))
    countsMemo = c
  }
  return countsMemo
}

/**
 * Removes the vertices that lie on no input-to-output path, as NAS-Bench-101's `ModelSpec` does, and
 * checks the result (connected, <= 7 vertices, <= 9 edges, known ops). Accepts any upper-triangular spec.
 * @example nb101Prune({ matrix: [[0, 1, 1], [0, 0, 0], [0, 0, 0]], ops: ['input', 'maxpool3x3', 'output'] })
 * // { matrix: [[0, 1], [0, 0]], ops: ['input', 'output'] }
 * @since 0.1.0
 */
export function nb101Prune(spec: {
  matrix: readonly (readonly number[])[]
  ops: readonly string[]
}): Nb101Arch {
  const e = checkShape(spec, false)
  if (e) throw toNasError(ID, e)
  const n = spec.ops.length
  const fwd = new Array<boolean>(n).fill(false)
  const bwd = new Array<boolean>(n).fill(false)
  fwd[0] = true
  bwd[n - 1] = true
  for (let j = 1; j < n; j++) for (let i = 0; i < j; i++) if (spec.matrix[i]![j] && fwd[i]) fwd[j] = true
  for (let i = n - 2; i >= 0; i--)
    for (let j = i + 1; j < n; j++) if (spec.matrix[i]![j] && bwd[j]) bwd[i] = true
  if (!fwd[n - 1]) {
    throw archError('NB101 cell has no path from input to output', spec, undefined, ['matrix'])
  }
  const keep: number[] = []
  for (let v = 0; v < n; v++) if (fwd[v] && bwd[v]) keep.push(v)
  const out: Nb101Arch = {
    matrix: keep.map((i) => keep.map((j) => (spec.matrix[i]![j] ? 1 : 0))),
    ops: keep.map((v) => spec.ops[v]!),
  }
  const err = checkNb101(out)
  if (err) throw toNasError(ID, err)
  return out
}

/** Checks shape, 0/1 entries, upper-triangularity and labels; with `pruned`, also edges and connectivity. */
function checkShape(x: unknown, pruned: boolean): SampleError | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) {
    return sampleError([], `an NB101 cell is { matrix, ops }, got ${show(x)}`, x)
  }
  for (const k of Object.keys(x)) {
    if (k !== 'matrix' && k !== 'ops')
      return sampleError([k], `unknown field; expected 'matrix' or 'ops'`, k, ['matrix', 'ops'])
  }
  const { matrix, ops } = x as { matrix?: unknown; ops?: unknown }
  if (!Array.isArray(ops) || ops.length < 2 || ops.length > NB101_MAX_VERTICES) {
    return sampleError(['ops'], `an NB101 cell has 2..7 vertex labels, got ${show(ops)}`, ops, [
      2,
      NB101_MAX_VERTICES,
    ])
  }
  const n = ops.length
  if (ops[0] !== 'input') return notAllowed(['ops', 0], ops[0], ['input'])
  if (ops[n - 1] !== 'output') return notAllowed(['ops', n - 1], ops[n - 1], ['output'])
  for (let v = 1; v < n - 1; v++) {
    if (!OP_INDEX.has(ops[v] as string)) return notAllowed(['ops', v], ops[v], NB101_OPS)
  }
  if (!Array.isArray(matrix) || matrix.length !== n) {
    return sampleError(
      ['matrix'],
      `the matrix must be ${n} x ${n} (one row per vertex), got ${show(matrix)}`,
      matrix,
    )
  }
  let edges = 0
  for (let i = 0; i < n; i++) {
    const row: unknown = matrix[i]
    if (!Array.isArray(row) || row.length !== n) {
      return sampleError(['matrix', i], `row ${i} must have ${n} entries, got ${show(row)}`, row)
    }
    for (let j = 0; j < n; j++) {
      const v: unknown = row[j]
      if (v !== 0 && v !== 1) return notAllowed(['matrix', i, j], v, [0, 1])
      if (v === 1 && j <= i) {
        return sampleError(
          ['matrix', i, j],
          `edge ${i}->${j} is not allowed: the matrix must be strictly upper triangular`,
          v,
          [0],
        )
      }
      edges += v
    }
  }
  if (!pruned) return undefined
  if (edges > NB101_MAX_EDGES) {
    return sampleError(['matrix'], `has ${edges} edges; NB101 allows at most ${NB101_MAX_EDGES}`, edges, [
      NB101_MAX_EDGES,
    ])
  }
  return undefined
}

function checkNb101(x: unknown): SampleError | undefined {
  const e = checkShape(x, true)
  if (e) return e
  const a = x as Nb101Arch
  const n = a.ops.length
  if (!hasMask(n, maskOf(a))) {
    return sampleError(
      ['matrix'],
      'some vertex lies on no input-to-output path (or input and output are disconnected); prune it with nb101Prune',
      a.matrix,
    )
  }
  return undefined
}

// ------------------------------------------------------------------------------------------------
// canonical hash: the lexicographically smallest relabelling of the middle vertices

const permCache: number[][][] = []
function permutations(m: number): number[][] {
  let p = permCache[m]
  if (p === undefined) {
    const out: number[][] = []
    const rec = (cur: number[], rest: number[]) => {
      if (rest.length === 0) out.push(cur)
      rest.forEach((r, i) => rec([...cur, r], [...rest.slice(0, i), ...rest.slice(i + 1)]))
    }
    rec(
      [],
      Array.from({ length: m }, (_, i) => i),
    )
    p = out
    permCache[m] = p
  }
  return p
}

const POW2 = Array.from({ length: 64 }, (_, i) => 2 ** i)

/**
 * The canonical form of a pruned NB101 cell: over all relabellings of its middle vertices, the
 * smallest key (ops as base-3 digits, then the adjacency of the relabelled graph as a 42-bit number),
 * written as `<vertices>:<key in base 36>`. Equal exactly for isomorphic cells.
 * @since 0.1.0
 */
export function nb101Canonical(a: Nb101Arch): string {
  const n = a.ops.length
  const m = n - 2
  const edges: [number, number][] = []
  for (const [i, j] of PAIRS[n]!) if (a.matrix[i]![j]) edges.push([i, j])
  const ops = a.ops.map((o) => OP_INDEX.get(o) ?? 0)
  const newOf = new Array<number>(n)
  newOf[0] = 0
  newOf[n - 1] = n - 1
  let best = Infinity
  for (const perm of permutations(m)) {
    // new vertex k (1..m) is old vertex perm[k-1]+1
    let opsCode = 0
    for (let k = 1; k <= m; k++) {
      const old = perm[k - 1]! + 1
      newOf[old] = k
      opsCode = opsCode * 3 + ops[old]!
    }
    let adj = 0
    for (const [u, v] of edges) {
      const i = newOf[u]!
      const j = newOf[v]!
      adj += POW2[i * (n - 1) + (j < i ? j : j - 1)]!
    }
    const key = opsCode * POW2[42]! + adj
    if (key < best) best = key
  }
  return `${n}:${best.toString(36)}`
}

// ------------------------------------------------------------------------------------------------
// encodings (BANANAS): adjacency = 7x7 upper triangle + one-hot ops of the 5 middle slots; path = one
// bit per op sequence along input->output paths (3^0 + ... + 3^5 = 364)

const ADJ_LEN = 21 + 5 * 3
const PATH_OFFSETS = [0, 1, 4, 13, 40, 121]
const PATH_LEN = 364
const ORD_LEN = 21 + 5
const ENCODINGS: readonly EncodingKind[] = ['onehot', 'ordinal', 'adjacency', 'path']
const LENGTHS: Record<EncodingKind, number> = {
  onehot: ADJ_LEN,
  ordinal: ORD_LEN,
  adjacency: ADJ_LEN,
  path: PATH_LEN,
}
const tri7 = (i: number, j: number) => i * 7 - (i * (i + 1)) / 2 + (j - i - 1)
/** Vertex index of a cell in the 7-slot layout: middle vertices keep their index, output goes to 6. */
const slot = (v: number, n: number) => (v === n - 1 ? 6 : v)

function encodeNb101(a: Nb101Arch, kind: EncodingKind): Float32Array {
  const n = a.ops.length
  const out = new Float32Array(LENGTHS[kind])
  if (kind === 'path') {
    const rec = (v: number, idx: number, len: number) => {
      if (v === n - 1) {
        out[PATH_OFFSETS[len]! + idx] = 1
        return
      }
      for (let w = v + 1; w < n; w++) {
        if (!a.matrix[v]![w]) continue
        if (w === n - 1) rec(w, idx, len)
        else rec(w, idx * 3 + OP_INDEX.get(a.ops[w]!)!, len + 1)
      }
    }
    rec(0, 0, 0)
    return out
  }
  const ordinal = kind === 'ordinal'
  for (const [i, j] of PAIRS[n]!) if (a.matrix[i]![j]) out[tri7(slot(i, n), slot(j, n))] = 1
  if (ordinal) out.fill(-1, 21, 26)
  for (let v = 1; v < n - 1; v++) {
    const o = OP_INDEX.get(a.ops[v]!)!
    if (ordinal) out[21 + v - 1] = o
    else out[21 + (v - 1) * 3 + o] = 1
  }
  return out
}

// ------------------------------------------------------------------------------------------------
// decisions: vertex count, the ops of the middle vertices, then each edge whose value is not forced

const VERTEX_DECISION: Decision = { name: 'vertices', size: 6, labels: ['2', '3', '4', '5', '6', '7'] }
const OP_DECISIONS = [1, 2, 3, 4, 5].map((v): Decision => ({ name: `op[${v}]`, size: 3, labels: NB101_OPS }))

class Need extends Error {
  constructor(readonly d: Decision) {
    super(`next decision: ${d.name}`)
  }
}

/** Walks the decision list; returns the arch, or throws Need with the next decision. */
function walk(ds: readonly number[]): { arch: Nb101Arch; used: number } {
  let pos = 0
  const take = (d: Decision) => {
    if (pos >= ds.length) throw new Need(d)
    const v = ds[pos]!
    if (!Number.isInteger(v) || v < 0 || v >= d.size) {
      throw decisionError(ID, `decision ${d.name} is ${show(v)}; expected 0..${d.size - 1}`, v, pos)
    }
    pos++
    return v
  }
  const n = 2 + take(VERTEX_DECISION)
  const middle: string[] = []
  for (let v = 1; v < n - 1; v++) middle.push(NB101_OPS[take(OP_DECISIONS[v - 1]!)]!)
  const ps = PAIRS[n]!
  let prefix = 0
  for (let e = 0; e < ps.length; e++) {
    const can0 = prefixFeasible(n, prefix * 2, e + 1)
    const can1 = prefixFeasible(n, prefix * 2 + 1, e + 1)
    const bit =
      can0 && can1
        ? take({ name: `edge.${ps[e]![0]}->${ps[e]![1]}`, size: 2, labels: ['0', '1'] })
        : can1
          ? 1
          : 0
    prefix = prefix * 2 + bit
  }
  return { arch: fromMask(n, prefix, middle), used: pos }
}

const decisions: DecisionTree<Nb101Arch> = {
  next(prefix) {
    try {
      const { used } = walk(prefix)
      if (used < prefix.length) {
        throw decisionError(
          ID,
          `the decision list is complete after ${used} entries, got ${prefix.length}`,
          prefix,
          used,
        )
      }
      return undefined
    } catch (e) {
      if (e instanceof Need) return e.d
      throw e
    }
  },
  build(ds) {
    try {
      const { arch, used } = walk(ds)
      if (used < ds.length) {
        throw decisionError(
          ID,
          `the decision list is complete after ${used} entries, got ${ds.length}`,
          ds,
          used,
        )
      }
      return arch
    } catch (e) {
      if (e instanceof Need)
        throw decisionError(ID, `the decision list is incomplete: ${e.d.name} is missing`, ds, ds.length)
      throw e
    }
  },
  decide(a) {
    const n = a.ops.length
    const out = [n - 2]
    for (let v = 1; v < n - 1; v++) out.push(OP_INDEX.get(a.ops[v]!)!)
    const ps = PAIRS[n]!
    let prefix = 0
    for (let e = 0; e < ps.length; e++) {
      const bit = a.matrix[ps[e]![0]]![ps[e]![1]] ? 1 : 0
      if (prefixFeasible(n, prefix * 2, e + 1) && prefixFeasible(n, prefix * 2 + 1, e + 1)) out.push(bit)
      prefix = prefix * 2 + bit
    }
    return out
  },
}

function sampleNb101(rng: Rng): Nb101Arch {
  const counts = countsByVertices()
  const weights = counts.map((c) => Number(c))
  const n = rng.weightedIndex(weights)
  const masks = validMasks(n)
  const middle = Array.from({ length: n - 2 }, () => NB101_OPS[rng.int(3)]!)
  return fromMask(n, masks[rng.int(masks.length)]!, middle)
}

function neighborsNb101(a: Nb101Arch): Nb101Arch[] {
  const n = a.ops.length
  const out: Nb101Arch[] = []
  const middle = a.ops.slice(1, -1)
  for (let v = 0; v < middle.length; v++) {
    for (const op of NB101_OPS) {
      if (op === middle[v]) continue
      const m2 = middle.slice()
      m2[v] = op
      out.push({ matrix: a.matrix.map((r) => r.slice()), ops: ['input', ...m2, 'output'] })
    }
  }
  const mask = maskOf(a)
  const T = PAIRS[n]!.length
  for (let e = 0; e < T; e++) {
    const flipped = (mask ^ (1 << (T - 1 - e))) >>> 0
    if (hasMask(n, flipped)) out.push(fromMask(n, flipped, middle))
  }
  return out
}

/** Pads a cell to the 7-slot layout (output at slot 6); absent slots have op undefined. */
function pad(a: Nb101Arch): { bits: number[][]; ops: (string | undefined)[] } {
  const n = a.ops.length
  const bits = Array.from({ length: 7 }, () => new Array<number>(7).fill(0))
  for (const [i, j] of PAIRS[n]!) if (a.matrix[i]![j]) bits[slot(i, n)]![slot(j, n)] = 1
  const ops: (string | undefined)[] = new Array<string | undefined>(7).fill(undefined)
  for (let v = 0; v < n; v++) ops[slot(v, n)] = a.ops[v]
  return { bits, ops }
}

function crossoverNb101(a: Nb101Arch, b: Nb101Arch, rng: Rng): Nb101Arch {
  const pa = pad(a)
  const pb = pad(b)
  for (let attempt = 0; attempt < 32; attempt++) {
    const matrix = Array.from({ length: 7 }, () => new Array<number>(7).fill(0))
    for (const [i, j] of PAIRS[7]!) matrix[i]![j] = rng.uniform() < 0.5 ? pa.bits[i]![j]! : pb.bits[i]![j]!
    const ops = pa.ops.map((o, v) => {
      const p = pb.ops[v]
      if (o !== undefined && p !== undefined) return rng.uniform() < 0.5 ? o : p
      return o ?? p ?? NB101_OPS[0]
    })
    const spec = { matrix, ops: ops }
    // prune by hand (no throwing in the loop)
    const fwd = new Array<boolean>(7).fill(false)
    const bwd = new Array<boolean>(7).fill(false)
    fwd[0] = true
    bwd[6] = true
    for (let j = 1; j < 7; j++) for (let i = 0; i < j; i++) if (matrix[i]![j] && fwd[i]) fwd[j] = true
    for (let i = 5; i >= 0; i--) for (let j = i + 1; j < 7; j++) if (matrix[i]![j] && bwd[j]) bwd[i] = true
    if (!fwd[6]) continue
    const keep: number[] = []
    for (let v = 0; v < 7; v++) if (fwd[v] && bwd[v]) keep.push(v)
    const child: Nb101Arch = {
      matrix: keep.map((i) => keep.map((j) => spec.matrix[i]![j]!)),
      ops: keep.map((v) => spec.ops[v]!),
    }
    if (checkNb101(child) === undefined) return child
  }
  const p = rng.uniform() < 0.5 ? a : b
  return { matrix: p.matrix.map((r) => r.slice()), ops: p.ops.slice() }
}

const Nb101Schema = z
  .object({
    matrix: z
      .array(
        z
          .array(z.union([z.literal(0), z.literal(1)]))
          .min(2)
          .max(7),
      )
      .min(2)
      .max(7),
    ops: z
      .array(z.enum(['input', 'output', ...NB101_OPS]))
      .min(2)
      .max(7),
  })
  .strict()
  .superRefine((v, ctx) => {
    const e = checkNb101(v)
    if (e) ctx.addIssue({ code: 'custom', message: e.message, path: [...e.path] })
  }) as unknown as z.ZodType<Nb101Arch>

const copy = (a: Nb101Arch): Nb101Arch => ({ matrix: a.matrix.map((r) => r.slice()), ops: a.ops.slice() })

/**
 * The NAS-Bench-101 cell space (Ying et al., 2019): DAGs of up to 7 vertices and at most 9 edges,
 * middle vertices labelled conv3x3-bn-relu / conv1x1-bn-relu / maxpool3x3, every vertex on an
 * input-to-output path. `hash` ({@link nb101Canonical}) is equal exactly for isomorphic cells. The
 * text form is the `ModelSpec` as JSON: `{"matrix":[[0,1,...],...],"ops":["input",...,"output"]}`;
 * `parse` prunes unreachable vertices as the benchmark does.
 * @since 0.1.0
 * @category models
 */
export const nb101: SearchSpace<Nb101Arch> = {
  id: ID,
  schema: Nb101Schema,
  encodings: ENCODINGS,
  decisions,
  sample: sampleNb101,
  mutate(a, rng) {
    const ns = neighborsNb101(a)
    if (ns.length > 0) return ns[rng.int(ns.length)]!
    // only the 2-vertex cell (input -> output) has no neighbour: draw another cell
    for (;;) {
      const s = sampleNb101(rng)
      if (s.ops.length !== 2) return s
    }
  },
  crossover: crossoverNb101,
  neighbors: neighborsNb101,
  size: () => countsByVertices().reduce((x, y) => x + y, 0n),
  encode(a, kind = 'onehot') {
    return encodeNb101(a, checkEncoding(ID, kind, ENCODINGS))
  },
  encodingLength: (kind = 'onehot') => LENGTHS[checkEncoding(ID, kind, ENCODINGS)],
  hash: nb101Canonical,
  format: (a) => JSON.stringify({ matrix: a.matrix, ops: a.ops }),
  parse(text) {
    let x: unknown
    try {
      x = JSON.parse(text)
    } catch (e) {
      throw archError(
        `an NB101 cell is JSON {"matrix": [[...]], "ops": [...]}: ${e instanceof Error ? e.message : String(e)}`,
        text,
      )
    }
    return nb101Prune(x as Nb101Arch)
  },
  check: checkNb101,
  validate(x) {
    const e = checkNb101(x)
    if (e) throw toNasError(ID, e)
    return copy(x as Nb101Arch)
  },
  toJSON: (a) => envelope(ID, copy(a)),
  fromJSON: (json) => nb101.validate(openEnvelope(ID, json)),
  describe: () =>
    `nb101: NAS-Bench-101 cell, 2..7 vertices, <= 9 edges, ops ${formatAllowed(NB101_OPS)}; ` +
    `${nb101.size()} labelled cells; encodings onehot(${ADJ_LEN}), ordinal(${ORD_LEN}), adjacency(${ADJ_LEN}), path(${PATH_LEN})`,
}
