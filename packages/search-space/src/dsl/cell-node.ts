import type { Rng } from '@nasjs/core'
import { hash64 } from '../internal.js'
import type { CellDef } from './constructors.js'
import {
  cartesian,
  combinations,
  decisionName,
  pickOther,
  type Cursor,
  type DslEncoding,
  type Node,
  type Path,
  type Site,
} from './node.js'
import { rules, type Rule } from './rule.js'

type AnyCellNode = { inputs: number[]; ops?: string[]; op?: string }

/** A `cell`: per computed node, an inputs decision and one op decision per edge (or per node). */
export class CellNode implements Node {
  readonly rule: Rule
  private readonly combos: number[][][]
  private readonly comboIndex: Map<string, number>[]
  private readonly opIndex: Map<string, number>
  private readonly edge: boolean
  constructor(private readonly def: CellDef) {
    this.edge = def.opsOn === 'edge'
    this.opIndex = new Map(def.ops.map((o, i) => [o, i]))
    this.combos = []
    this.comboIndex = []
    for (let k = 0; k < def.nodes; k++) {
      const avail = def.inputs + k
      const cs =
        def.inputsPerNode === 'all'
          ? [Array.from({ length: avail }, (_, i) => i)]
          : combinations(avail, def.inputsPerNode)
      this.combos.push(cs)
      this.comboIndex.push(new Map(cs.map((c, i) => [c.join(','), i])))
    }
    this.rule = this.makeRule()
  }
  /** Node k: `{ inputs, ops }` (or `{ inputs, op }`), its inputs increasing among the nodes before it. */
  private makeRule(): Rule {
    const d = this.def
    const op = rules.enum(d.ops)
    const opKey = this.edge ? 'ops' : 'op'
    const nodes = this.combos.map((_, k) => {
      const m = this.m(k)
      const ops = this.edge
        ? rules.tuple(
            Array.from({ length: m }, () => op),
            `node ${k} has one op per input (${m})`,
            d.ops,
          )
        : op
      return rules.object(
        ['inputs', opKey],
        [rules.inputs(k, m, d.inputs + k), ops],
        `expected { inputs, ${opKey} }`,
      )
    })
    return rules.tuple(nodes, `expected an array of ${d.nodes} cell nodes`)
  }
  private m(k: number): number {
    return this.combos[k]![0]!.length
  }
  private node(inputs: number[], ops: string[]): AnyCellNode {
    return this.edge ? { inputs, ops } : { inputs, op: ops[0]! }
  }
  private opsOf(n: AnyCellNode): string[] {
    return this.edge ? n.ops! : [n.op!]
  }
  private nOpSlots(k: number) {
    return this.edge ? this.m(k) : 1
  }
  sample(rng: Rng) {
    const ops = this.def.ops
    return this.combos.map((cs, k) => {
      const inputs = cs[rng.int(cs.length)]!.slice()
      const chosen = Array.from({ length: this.nOpSlots(k) }, () => ops[rng.int(ops.length)]!)
      return this.node(inputs, chosen)
    })
  }
  dflt() {
    return this.combos.map((cs, k) =>
      this.node(
        cs[0]!.slice(),
        Array.from({ length: this.nOpSlots(k) }, () => this.def.ops[0]!),
      ),
    )
  }
  decide(v: unknown, out: number[]) {
    ;(v as AnyCellNode[]).forEach((n, k) => {
      if (this.combos[k]!.length > 1) out.push(this.comboIndex[k]!.get(n.inputs.join(','))!)
      if (this.def.ops.length > 1) for (const op of this.opsOf(n)) out.push(this.opIndex.get(op)!)
    })
  }
  build(c: Cursor, path: Path) {
    const d = this.def
    const out: AnyCellNode[] = []
    for (let k = 0; k < d.nodes; k++) {
      const cs = this.combos[k]!
      const ci =
        cs.length > 1
          ? c.take({
              name: decisionName([...path, k], 'inputs'),
              size: cs.length,
              labels: cs.map((x) => x.join(',')),
            })
          : 0
      const ops: string[] = []
      for (let j = 0; j < this.nOpSlots(k); j++) {
        const name = decisionName([...path, k], this.edge ? `ops[${j}]` : 'op')
        ops.push(d.ops[d.ops.length > 1 ? c.take({ name, size: d.ops.length, labels: d.ops }) : 0]!)
      }
      out.push(this.node(cs[ci]!.slice(), ops))
    }
    return out
  }
  sites(v: unknown, wrap: (nv: unknown) => unknown, out: Site[]) {
    const nodes = v as AnyCellNode[]
    const ops = this.def.ops
    const replace = (k: number, n: AnyCellNode) => {
      const b = nodes.slice()
      b[k] = n
      return wrap(b)
    }
    nodes.forEach((n, k) => {
      const cs = this.combos[k]!
      const nodeOps = this.opsOf(n)
      if (cs.length > 1) {
        const cur = this.comboIndex[k]!.get(n.inputs.join(','))!
        out.push({
          neighbors: () =>
            cs.filter((_, i) => i !== cur).map((c) => replace(k, this.node(c.slice(), nodeOps))),
        })
      }
      if (ops.length > 1) {
        nodeOps.forEach((op, j) => {
          const cur = this.opIndex.get(op)!
          const withOp = (o: string) => {
            const b = nodeOps.slice()
            b[j] = o
            return replace(k, this.node(n.inputs, b))
          }
          out.push({
            neighbors: () => ops.filter((_, i) => i !== cur).map(withOp),
          })
        })
      }
    })
  }
  private nodeWeight(k: number) {
    return (this.combos[k]!.length > 1 ? 1 : 0) + (this.def.ops.length > 1 ? this.nOpSlots(k) : 0)
  }
  weight() {
    let w = 0
    for (let k = 0; k < this.def.nodes; k++) w += this.nodeWeight(k)
    return w
  }
  mutateAt(v: unknown, r: number, rng: Rng) {
    const nodes = (v as AnyCellNode[]).slice()
    for (let k = 0; k < nodes.length; k++) {
      const w = this.nodeWeight(k)
      if (r >= w) {
        r -= w
        continue
      }
      const n = nodes[k]!
      const cs = this.combos[k]!
      const ops = this.opsOf(n).slice()
      if (cs.length > 1) {
        if (r === 0) {
          const cur = this.comboIndex[k]!.get(n.inputs.join(','))!
          nodes[k] = this.node(cs[pickOther(rng, cs.length, cur)]!.slice(), ops)
          return nodes
        }
        r -= 1
      }
      const all = this.def.ops
      ops[r] = all[pickOther(rng, all.length, this.opIndex.get(ops[r]!)!)]!
      nodes[k] = this.node(n.inputs.slice(), ops)
      return nodes
    }
    return v
  }
  cross(a: unknown, b: unknown, rng: Rng) {
    const x = a as AnyCellNode[]
    const y = b as AnyCellNode[]
    return x.map((nx, k) => {
      const ny = y[k]!
      const inputs = (rng.uniform() < 0.5 ? nx : ny).inputs.slice()
      const ox = this.opsOf(nx)
      const oy = this.opsOf(ny)
      return this.node(
        inputs,
        ox.map((o, j) => (rng.uniform() < 0.5 ? o : oy[j]!)),
      )
    })
  }
  count() {
    const nOps = BigInt(this.def.ops.length)
    let total = 1n
    for (let k = 0; k < this.def.nodes; k++)
      total *= BigInt(this.combos[k]!.length) * nOps ** BigInt(this.nOpSlots(k))
    return total
  }
  *all() {
    const perNode = this.combos.map((cs, k) => () => {
      const res: AnyCellNode[] = []
      const slots = this.nOpSlots(k)
      for (const c of cs) {
        for (const ops of cartesian(Array.from({ length: slots }, () => () => this.def.ops))) {
          res.push(this.node(c.slice(), ops as string[]))
        }
      }
      return res
    })
    yield* cartesian(perNode)
  }
  len(kind: DslEncoding) {
    let total = 0
    const nOps = this.def.ops.length
    for (let k = 0; k < this.def.nodes; k++) {
      const avail = this.def.inputs + k
      const multi = this.combos[k]!.length > 1
      if (kind === 'onehot') total += (multi ? avail : 0) + (this.edge ? avail * nOps : nOps)
      else total += (multi ? 1 : 0) + this.nOpSlots(k)
    }
    return total
  }
  enc(v: unknown, kind: DslEncoding, out: Float32Array, off: number) {
    const nOps = this.def.ops.length
    let o = off
    ;(v as AnyCellNode[]).forEach((n, k) => {
      const avail = this.def.inputs + k
      const multi = this.combos[k]!.length > 1
      const ops = this.opsOf(n)
      if (kind === 'onehot') {
        if (multi) {
          for (const i of n.inputs) out[o + i] = 1
          o += avail
        }
        if (this.edge) {
          n.inputs.forEach((i, j) => (out[o + i * nOps + this.opIndex.get(ops[j]!)!] = 1))
          o += avail * nOps
        } else {
          out[o + this.opIndex.get(ops[0]!)!] = 1
          o += nOps
        }
      } else {
        if (multi) out[o++] = this.comboIndex[k]!.get(n.inputs.join(','))!
        for (const op of ops) out[o++] = this.opIndex.get(op)!
      }
    })
  }
  /**
   * The functional form of the cell: each node is a sorted multiset of terms `op(source)`, the
   * identity op passes its source's terms through, the zero op and zero sources vanish; the output
   * is the sorted multiset of computed nodes (concat) or the last node. Invariant under relabelling
   * the computed nodes.
   */
  canon(v: unknown) {
    const d = this.def
    const terms: string[][] = []
    for (let i = 0; i < d.inputs; i++) terms.push([`in${i}`])
    const idOf = (t: string[]) => {
      if (t.length === 0) return '0'
      const s = t.join('+')
      return s.length > 48 ? `#${hash64(s)}` : s
    }
    for (const n of v as AnyCellNode[]) {
      const ops = this.opsOf(n)
      const acc: string[] = []
      if (this.edge) {
        n.inputs.forEach((i, j) => {
          const src = terms[i]!
          const op = ops[j]!
          if (src.length === 0 || op === d.zero) return
          if (op === d.identity) acc.push(...src)
          else acc.push(`${op}(${idOf(src)})`)
        })
      } else {
        const sum: string[] = []
        for (const i of n.inputs) sum.push(...terms[i]!)
        sum.sort()
        const op = ops[0]!
        if (sum.length > 0 && op !== d.zero) {
          if (op === d.identity) acc.push(...sum)
          else acc.push(`${op}(${idOf(sum)})`)
        }
      }
      acc.sort()
      terms.push(acc)
    }
    const computed = terms.slice(d.inputs)
    if (d.output === 'last') return `cell<${idOf(computed[computed.length - 1]!)}>`
    return `cell<${computed
      .map((t) => idOf(t))
      .sort()
      .join('|')}>`
  }
  summary() {
    const d = this.def
    const per = d.inputsPerNode === 'all' ? 'all earlier nodes' : `${d.inputsPerNode} inputs`
    return `cell(${d.inputs} inputs, ${d.nodes} nodes, ${per} each, ${d.ops.length} ops per ${d.opsOn}, output ${d.output})`
  }
}
