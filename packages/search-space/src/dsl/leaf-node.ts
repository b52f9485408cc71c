import type { Rng } from '@nasjs/core'
import type { Decision } from '../types.js'
import type { IntDef, Primitive } from './constructors.js'
import {
  decisionName,
  pickOther,
  type Cursor,
  type DslEncoding,
  type Node,
  type Path,
  type Site,
} from './node.js'
import { rules, type Rule } from './rule.js'

/** A `choice`, `ordinal` or `intRange`: one decision among `values` (ordered ones move one step). */
export class LeafNode implements Node {
  readonly rule: Rule
  private readonly index = new Map<unknown, number>()
  private readonly labels: string[]
  constructor(
    private readonly values: readonly Primitive[],
    private readonly ordered: boolean,
    private readonly int: IntDef | undefined,
  ) {
    values.forEach((v, i) => this.index.set(v, i))
    this.labels = values.map(String)
    this.rule = int ? rules.int(int.min, int.max, int.step) : rules.enum(values)
  }
  private decision(path: Path): Decision {
    return { name: decisionName(path), size: this.values.length, labels: this.labels }
  }
  sample(rng: Rng) {
    return this.values[rng.int(this.values.length)]
  }
  dflt() {
    return this.values[0]
  }
  decide(v: unknown, out: number[]) {
    if (this.values.length > 1) out.push(this.index.get(v)!)
  }
  build(c: Cursor, path: Path) {
    return this.values.length > 1 ? this.values[c.take(this.decision(path))] : this.values[0]
  }
  sites(v: unknown, wrap: (nv: unknown) => unknown, out: Site[]) {
    const n = this.values.length
    if (n < 2) return
    const cur = this.index.get(v)!
    const vals = this.values
    const moves = this.ordered ? [cur - 1, cur + 1].filter((k) => k >= 0 && k < n) : undefined
    out.push({
      neighbors: () =>
        moves ? moves.map((k) => wrap(vals[k])) : vals.filter((_, k) => k !== cur).map((x) => wrap(x)),
    })
  }
  weight() {
    return this.values.length > 1 ? 1 : 0
  }
  mutateAt(v: unknown, _r: number, rng: Rng) {
    const n = this.values.length
    const cur = this.index.get(v)!
    if (!this.ordered) return this.values[pickOther(rng, n, cur)]
    if (cur === 0) return this.values[1]
    if (cur === n - 1) return this.values[n - 2]
    return this.values[rng.uniform() < 0.5 ? cur - 1 : cur + 1]
  }
  cross(a: unknown, b: unknown, rng: Rng) {
    return rng.uniform() < 0.5 ? a : b
  }
  count() {
    return BigInt(this.values.length)
  }
  all() {
    return this.values
  }
  len(kind: DslEncoding) {
    return kind === 'onehot' ? this.values.length : 1
  }
  enc(v: unknown, kind: DslEncoding, out: Float32Array, off: number) {
    const k = this.index.get(v)!
    if (kind === 'onehot') out[off + k] = 1
    else out[off] = k
  }
  canon(v: unknown) {
    return JSON.stringify(v)
  }
  summary() {
    if (this.int) {
      const { min, max, step } = this.int
      return `int ${min}..${max}${step > 1 ? ` step ${step}` : ''}`
    }
    const shown = this.labels.length > 12 ? [...this.labels.slice(0, 12), '...'] : this.labels
    return this.ordered ? `<${shown.join(', ')}>` : `{${shown.join(' | ')}}`
  }
}
