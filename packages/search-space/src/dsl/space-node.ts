import type { Rng } from '@nasjs/core'
import { configError } from '../internal.js'
import type { SearchSpace } from '../types.js'
import type { Cursor, DslEncoding, Node, Site } from './node.js'
import { rules, type Rule } from './rule.js'

/** An embedded `space(...)`: its decisions, operators, encodings and check are the space's own. */
export class SpaceNode implements Node {
  readonly rule: Rule
  constructor(private readonly s: SearchSpace<unknown>) {
    this.rule = rules.space(s)
  }
  sample(rng: Rng) {
    return this.s.sample(rng)
  }
  dflt() {
    const ds: number[] = []
    for (let d = this.s.decisions.next(ds); d !== undefined; d = this.s.decisions.next(ds)) ds.push(0)
    return this.s.decisions.build(ds)
  }
  decide(v: unknown, out: number[]) {
    for (const d of this.s.decisions.decide(v)) out.push(d)
  }
  build(c: Cursor) {
    const ds: number[] = []
    for (let d = this.s.decisions.next(ds); d !== undefined; d = this.s.decisions.next(ds)) ds.push(c.take(d))
    return this.s.decisions.build(ds)
  }
  sites(v: unknown, wrap: (nv: unknown) => unknown, out: Site[]) {
    out.push({
      neighbors: () => this.s.neighbors(v).map(wrap),
    })
  }
  weight(v: unknown) {
    return Math.max(1, this.s.decisions.decide(v).length)
  }
  mutateAt(v: unknown, _r: number, rng: Rng) {
    return this.s.mutate(v, rng)
  }
  cross(a: unknown, b: unknown, rng: Rng) {
    return this.s.crossover(a, b, rng)
  }
  count() {
    return this.s.size()
  }
  all(): Iterable<unknown> {
    if (!this.s.enumerate) throw configError(`space '${this.s.id}' cannot be enumerated`)
    return this.s.enumerate()
  }
  len(kind: DslEncoding) {
    return this.s.encodingLength(kind)
  }
  enc(v: unknown, kind: DslEncoding, out: Float32Array, off: number) {
    out.set(this.s.encode(v, kind), off)
  }
  canon(v: unknown) {
    return `${this.s.id}:${this.s.hash(v)}`
  }
  summary() {
    return `space ${this.s.id} (${this.s.size()} architectures)`
  }
}
