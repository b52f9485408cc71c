import type { Rng } from '@nasjs/core'
import {
  cartesian,
  decisionName,
  pickOther,
  type Cursor,
  type DslEncoding,
  type Node,
  type Path,
  type Site,
} from './node.js'
import { rules, type Rule } from './rule.js'

/** A `repeat`: a count decision, then that many independent items. */
export class RepeatNode implements Node {
  readonly rule: Rule
  private readonly labels: string[]
  constructor(
    private readonly item: Node,
    private readonly min: number,
    private readonly max: number,
  ) {
    this.rule = rules.list(item.rule, min, max)
    this.labels = []
    for (let c = min; c <= max; c++) this.labels.push(String(c))
  }
  private get choices() {
    return this.max - this.min + 1
  }
  sample(rng: Rng) {
    const c = this.min + rng.int(this.choices)
    const out: unknown[] = []
    for (let i = 0; i < c; i++) out.push(this.item.sample(rng))
    return out
  }
  dflt() {
    return Array.from({ length: this.min }, () => this.item.dflt())
  }
  decide(v: unknown, out: number[]) {
    const a = v as unknown[]
    if (this.choices > 1) out.push(a.length - this.min)
    for (const x of a) this.item.decide(x, out)
  }
  build(c: Cursor, path: Path) {
    const n =
      this.min +
      (this.choices > 1
        ? c.take({ name: decisionName(path, 'count'), size: this.choices, labels: this.labels })
        : 0)
    const out: unknown[] = []
    for (let i = 0; i < n; i++) out.push(this.item.build(c, [...path, i]))
    return out
  }
  sites(v: unknown, wrap: (nv: unknown) => unknown, out: Site[]) {
    const a = v as unknown[]
    if (this.choices > 1) {
      const resize = (n: number, fill: () => unknown) => {
        if (n <= a.length) return wrap(a.slice(0, n))
        const b = a.slice()
        while (b.length < n) b.push(fill())
        return wrap(b)
      }
      const cur = a.length - this.min
      out.push({
        neighbors: () => {
          const res: unknown[] = []
          for (let k = 0; k < this.choices; k++)
            if (k !== cur) res.push(resize(this.min + k, () => this.item.dflt()))
          return res
        },
      })
    }
    for (let i = 0; i < a.length; i++) {
      this.item.sites(
        a[i],
        (nv) => {
          const b = a.slice()
          b[i] = nv
          return wrap(b)
        },
        out,
      )
    }
  }
  weight(v: unknown) {
    let w = this.choices > 1 ? 1 : 0
    for (const x of v as unknown[]) w += this.item.weight(x)
    return w
  }
  mutateAt(v: unknown, r: number, rng: Rng) {
    const a = v as unknown[]
    if (this.choices > 1) {
      if (r === 0) {
        const n = this.min + pickOther(rng, this.choices, a.length - this.min)
        if (n <= a.length) return a.slice(0, n)
        const b = a.slice()
        while (b.length < n) b.push(this.item.sample(rng))
        return b
      }
      r -= 1
    }
    for (let i = 0; i < a.length; i++) {
      const w = this.item.weight(a[i])
      if (r < w) {
        const b = a.slice()
        b[i] = this.item.mutateAt(a[i], r, rng)
        return b
      }
      r -= w
    }
    return a
  }
  cross(a: unknown, b: unknown, rng: Rng) {
    const x = a as unknown[]
    const y = b as unknown[]
    const n = rng.uniform() < 0.5 ? x.length : y.length
    const out: unknown[] = []
    for (let i = 0; i < n; i++) {
      if (i < x.length && i < y.length) out.push(this.item.cross(x[i], y[i], rng))
      else out.push(i < x.length ? x[i] : y[i])
    }
    return out
  }
  count() {
    const s = this.item.count()
    let total = 0n
    for (let c = this.min; c <= this.max; c++) total += s ** BigInt(c)
    return total
  }
  *all() {
    for (let c = this.min; c <= this.max; c++) {
      yield* cartesian(Array.from({ length: c }, () => () => this.item.all()))
    }
  }
  len(kind: DslEncoding) {
    const head = this.choices > 1 ? (kind === 'onehot' ? this.choices : 1) : 0
    return head + this.max * this.item.len(kind)
  }
  enc(v: unknown, kind: DslEncoding, out: Float32Array, off: number) {
    const a = v as unknown[]
    let o = off
    if (this.choices > 1) {
      if (kind === 'onehot') {
        out[o + a.length - this.min] = 1
        o += this.choices
      } else out[o++] = a.length - this.min
    }
    const il = this.item.len(kind)
    for (let i = 0; i < this.max; i++) {
      if (i < a.length) this.item.enc(a[i], kind, out, o + i * il)
      else if (kind === 'ordinal') out.fill(-1, o + i * il, o + (i + 1) * il)
    }
  }
  canon(v: unknown) {
    return `[${(v as unknown[]).map((x) => this.item.canon(x)).join(',')}]`
  }
  summary() {
    return `${this.min === this.max ? this.min : `${this.min}..${this.max}`} x ${this.item.summary()}`
  }
}
