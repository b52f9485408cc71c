import type { Rng } from '@nasjs/core'
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

/** A `conditional`: an option decision, then the chosen option's sub-space (`{ option, value }`). */
export class ConditionalNode implements Node {
  readonly rule: Rule
  private readonly index: Map<string, number>
  constructor(
    private readonly keys: readonly string[],
    private readonly children: readonly Node[],
  ) {
    this.index = new Map(keys.map((k, i) => [k, i]))
    this.rule = rules.tagged(
      keys,
      children.map((ch) => ch.rule),
    )
  }
  sample(rng: Rng) {
    const i = rng.int(this.keys.length)
    return { option: this.keys[i], value: this.children[i]!.sample(rng) }
  }
  dflt() {
    return { option: this.keys[0], value: this.children[0]!.dflt() }
  }
  private idx(v: unknown) {
    return this.index.get((v as { option: string }).option)!
  }
  decide(v: unknown, out: number[]) {
    const i = this.idx(v)
    if (this.keys.length > 1) out.push(i)
    this.children[i]!.decide((v as { value: unknown }).value, out)
  }
  build(c: Cursor, path: Path) {
    const i =
      this.keys.length > 1
        ? c.take({ name: decisionName(path, 'option'), size: this.keys.length, labels: this.keys })
        : 0
    return { option: this.keys[i], value: this.children[i]!.build(c, [...path, 'value']) }
  }
  sites(v: unknown, wrap: (nv: unknown) => unknown, out: Site[]) {
    const cur = this.idx(v)
    const n = this.keys.length
    const inner = (v as { value: unknown }).value
    if (n > 1) {
      out.push({
        neighbors: () =>
          this.keys
            .map((key, k) => (k === cur ? undefined : wrap({ option: key, value: this.children[k]!.dflt() })))
            .filter((x) => x !== undefined),
      })
    }
    this.children[cur]!.sites(inner, (nv) => wrap({ option: this.keys[cur], value: nv }), out)
  }
  weight(v: unknown) {
    return (
      (this.keys.length > 1 ? 1 : 0) + this.children[this.idx(v)]!.weight((v as { value: unknown }).value)
    )
  }
  mutateAt(v: unknown, r: number, rng: Rng) {
    const cur = this.idx(v)
    if (this.keys.length > 1) {
      if (r === 0) {
        const k = pickOther(rng, this.keys.length, cur)
        return { option: this.keys[k], value: this.children[k]!.sample(rng) }
      }
      r -= 1
    }
    return {
      option: this.keys[cur],
      value: this.children[cur]!.mutateAt((v as { value: unknown }).value, r, rng),
    }
  }
  cross(a: unknown, b: unknown, rng: Rng) {
    const ia = this.idx(a)
    const ib = this.idx(b)
    if (ia === ib) {
      return {
        option: this.keys[ia],
        value: this.children[ia]!.cross(
          (a as { value: unknown }).value,
          (b as { value: unknown }).value,
          rng,
        ),
      }
    }
    return rng.uniform() < 0.5 ? a : b
  }
  count() {
    return this.children.reduce((acc, c) => acc + c.count(), 0n)
  }
  *all() {
    for (let i = 0; i < this.keys.length; i++) {
      for (const value of this.children[i]!.all()) yield { option: this.keys[i], value }
    }
  }
  len(kind: DslEncoding) {
    const head = this.keys.length > 1 ? (kind === 'onehot' ? this.keys.length : 1) : 0
    return head + this.children.reduce((acc, c) => acc + c.len(kind), 0)
  }
  enc(v: unknown, kind: DslEncoding, out: Float32Array, off: number) {
    const cur = this.idx(v)
    let o = off
    if (this.keys.length > 1) {
      if (kind === 'onehot') {
        out[o + cur] = 1
        o += this.keys.length
      } else out[o++] = cur
    }
    this.children.forEach((c, i) => {
      const l = c.len(kind)
      if (i === cur) c.enc((v as { value: unknown }).value, kind, out, o)
      else if (kind === 'ordinal') out.fill(-1, o, o + l)
      o += l
    })
  }
  canon(v: unknown) {
    const i = this.idx(v)
    return `${JSON.stringify(this.keys[i])}:${this.children[i]!.canon((v as { value: unknown }).value)}`
  }
  summary() {
    return `one of { ${this.keys.map((k, i) => `${k}: ${this.children[i]!.summary()}`).join(' | ')} }`
  }
}
