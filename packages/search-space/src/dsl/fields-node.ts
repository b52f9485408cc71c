import { formatAllowed, type Rng } from '@nasjs/core'
import { cartesian, type Cursor, type DslEncoding, type Node, type Path, type Site } from './node.js'
import { rules, type Rule } from './rule.js'

/** A `struct` (named fields) or a `product` (a tuple): every child is active. */
export class FieldsNode implements Node {
  readonly rule: Rule
  /** For a struct the keys are field names; for a product they are indices. */
  constructor(
    private readonly keys: readonly (string | number)[],
    private readonly children: readonly Node[],
    private readonly tuple: boolean,
  ) {
    const childRules = children.map((c) => c.rule)
    this.rule = tuple
      ? rules.tuple(childRules, `expected an array of ${keys.length} parts`)
      : rules.object(
          keys as readonly string[],
          childRules,
          `expected an object with fields ${formatAllowed(keys)}`,
          keys,
        )
  }
  private make(vals: unknown[]): unknown {
    if (this.tuple) return vals
    const o: Record<string, unknown> = {}
    this.keys.forEach((k, i) => (o[k] = vals[i]))
    return o
  }
  private get(v: unknown, i: number): unknown {
    return this.tuple ? (v as unknown[])[i] : (v as Record<string, unknown>)[this.keys[i] as string]
  }
  sample(rng: Rng) {
    return this.make(this.children.map((c) => c.sample(rng)))
  }
  dflt() {
    return this.make(this.children.map((c) => c.dflt()))
  }
  decide(v: unknown, out: number[]) {
    this.children.forEach((c, i) => c.decide(this.get(v, i), out))
  }
  build(c: Cursor, path: Path) {
    return this.make(this.children.map((ch, i) => ch.build(c, [...path, this.keys[i]!])))
  }
  sites(v: unknown, wrap: (nv: unknown) => unknown, out: Site[]) {
    const vals = this.children.map((_, i) => this.get(v, i))
    this.children.forEach((c, i) =>
      c.sites(
        vals[i],
        (nv) => {
          const b = vals.slice()
          b[i] = nv
          return wrap(this.make(b))
        },
        out,
      ),
    )
  }
  weight(v: unknown) {
    let w = 0
    for (let i = 0; i < this.children.length; i++) w += this.children[i]!.weight(this.get(v, i))
    return w
  }
  mutateAt(v: unknown, r: number, rng: Rng) {
    const vals = this.children.map((_, i) => this.get(v, i))
    for (let i = 0; i < this.children.length; i++) {
      const w = this.children[i]!.weight(vals[i])
      if (r < w) {
        vals[i] = this.children[i]!.mutateAt(vals[i], r, rng)
        return this.make(vals)
      }
      r -= w
    }
    return v
  }
  cross(a: unknown, b: unknown, rng: Rng) {
    return this.make(this.children.map((c, i) => c.cross(this.get(a, i), this.get(b, i), rng)))
  }
  count() {
    return this.children.reduce((acc, c) => acc * c.count(), 1n)
  }
  *all() {
    for (const vals of cartesian(this.children.map((c) => () => c.all()))) yield this.make(vals)
  }
  len(kind: DslEncoding) {
    return this.children.reduce((acc, c) => acc + c.len(kind), 0)
  }
  enc(v: unknown, kind: DslEncoding, out: Float32Array, off: number) {
    let o = off
    this.children.forEach((c, i) => {
      c.enc(this.get(v, i), kind, out, o)
      o += c.len(kind)
    })
  }
  canon(v: unknown) {
    const parts = this.children.map((c, i) => c.canon(this.get(v, i)))
    return this.tuple ? `(${parts.join(',')})` : `{${parts.map((p, i) => `${this.keys[i]}:${p}`).join(',')}}`
  }
  summary() {
    const parts = this.children.map((c) => c.summary())
    if (this.tuple) {
      if (parts.length > 1 && parts.every((p) => p === parts[0])) return `${parts.length} x (${parts[0]})`
      return `(${parts.join(', ')})`
    }
    return `{ ${parts.map((p, i) => `${this.keys[i]}: ${p}`).join('; ')} }`
  }
}
