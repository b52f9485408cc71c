import { NasError, formatAllowed, type Rng } from '@nasjs/core'
import { z } from 'zod'
import {
  archError,
  checkEncoding,
  decisionError,
  envelope,
  formatPath,
  hash64,
  notAllowed,
  openEnvelope,
  sampleError,
  show,
  toNasError,
} from './internal.js'
import type { Decision, DecisionTree, EncodingKind, SampleError, SearchSpace } from './types.js'

/** A value a categorical or ordinal choice can take. @since 0.1.0 */
export type Primitive = string | number | boolean

/** A categorical choice among unordered options. @since 0.1.0 @category models */
export interface ChoiceDef<T extends Primitive = Primitive> {
  readonly kind: 'choice'
  readonly options: readonly T[]
}
/** An integer in `[min, max]` on a grid of `step`. Ordered: mutation moves one step. @since 0.1.0 @category models */
export interface IntDef {
  readonly kind: 'int'
  readonly min: number
  readonly max: number
  readonly step: number
}
/** An ordered list of values. Ordered: mutation moves to an adjacent value. @since 0.1.0 @category models */
export interface OrdinalDef<T extends Primitive = Primitive> {
  readonly kind: 'ordinal'
  readonly values: readonly T[]
}
/** A variable number (`min..max`) of independent copies of a sub-space. @since 0.1.0 @category models */
export interface RepeatDef<I extends SpaceDef = SpaceDef> {
  readonly kind: 'repeat'
  readonly item: I
  readonly min: number
  readonly max: number
}
/** Named fields, each its own sub-space. @since 0.1.0 @category models */
export interface StructDef<
  F extends Readonly<Record<string, SpaceDef>> = Readonly<Record<string, SpaceDef>>,
> {
  readonly kind: 'struct'
  readonly fields: F
}
/**
 * A choice that selects which sub-space applies (DeepArchitect's tree-structured spaces). Its value
 * is `{ option, value }`.
 * @since 0.1.0
 * @category models
 */
export interface ConditionalDef<
  O extends Readonly<Record<string, SpaceDef>> = Readonly<Record<string, SpaceDef>>,
> {
  readonly kind: 'conditional'
  readonly options: O
}
/** A fixed tuple of sub-spaces. @since 0.1.0 @category models */
export interface ProductDef<P extends readonly SpaceDef[] = readonly SpaceDef[]> {
  readonly kind: 'product'
  readonly parts: P
}
/**
 * A cell DAG: `inputs` input nodes, then `nodes` computed nodes; node k chooses `inputsPerNode`
 * distinct inputs among the `inputs + k` nodes before it (or takes all of them), and applies either
 * one op per chosen input edge (`opsOn: 'edge'`, DARTS/NB201 style) or one op to the sum of its
 * inputs (`opsOn: 'node'`). The cell output concatenates every computed node (`'concat'`) or is the
 * last node (`'last'`). `identity` / `zero` name the ops that are the identity / the zero map, for the
 * functional hash.
 * @since 0.1.0
 * @category models
 */
export interface CellDef<Op extends string = string, On extends 'edge' | 'node' = 'edge' | 'node'> {
  readonly kind: 'cell'
  readonly inputs: number
  readonly nodes: number
  readonly ops: readonly Op[]
  readonly inputsPerNode: number | 'all'
  readonly opsOn: On
  readonly output: 'concat' | 'last'
  readonly identity?: Op
  readonly zero?: Op
}
/** An existing {@link SearchSpace} used as a part of a DSL space (e.g. `product(space(nb201), quant)`). @since 0.1.0 */
export interface SubspaceDef<A = unknown> {
  readonly kind: 'space'
  readonly space: SearchSpace<A>
}

/** Any definition of the DSL. @since 0.1.0 @category models */
export type SpaceDef =
  | ChoiceDef
  | IntDef
  | OrdinalDef
  | RepeatDef
  | StructDef
  | ConditionalDef
  | ProductDef
  | CellDef
  | SubspaceDef

/** A computed node of an edge-op cell: sorted distinct inputs and one op per input. @since 0.1.0 */
export interface EdgeCellNode<Op extends string = string> {
  inputs: number[]
  ops: Op[]
}
/** A computed node of a node-op cell: sorted distinct inputs and one op. @since 0.1.0 */
export interface NodeCellNode<Op extends string = string> {
  inputs: number[]
  op: Op
}

/**
 * The architecture type a definition describes.
 * @since 0.1.0
 */
export type ValueOf<D> =
  D extends ChoiceDef<infer T>
    ? T
    : D extends IntDef
      ? number
      : D extends OrdinalDef<infer T>
        ? T
        : D extends RepeatDef<infer I>
          ? ValueOf<I>[]
          : D extends StructDef<infer F>
            ? { -readonly [K in keyof F]: ValueOf<F[K]> }
            : D extends ConditionalDef<infer O>
              ? { [K in keyof O]: { option: K; value: ValueOf<O[K]> } }[keyof O]
              : D extends ProductDef<infer P>
                ? { -readonly [K in keyof P]: ValueOf<P[K]> }
                : D extends CellDef<infer Op, infer On>
                  ? (On extends 'node' ? NodeCellNode<Op> : EdgeCellNode<Op>)[]
                  : D extends SubspaceDef<infer A>
                    ? A
                    : never

// ---------------------------------------------------------------------------------------------
// constructors

/** `Array.isArray` without narrowing (the argument types already say array; this guards JS callers). */
const isList = (x: unknown): boolean => Array.isArray(x)

const configError = (message: string, value?: unknown): NasError =>
  new NasError({ code: 'CONFIG_INVALID', message, value })

/**
 * A categorical choice.
 * @example choice(['relu', 'gelu', 'swish'])
 * @since 0.1.0
 * @category constructors
 */
export function choice<const T extends Primitive>(options: readonly T[]): ChoiceDef<T> {
  if (!isList(options) || options.length === 0) throw configError('choice needs at least one option', options)
  if (new Set(options).size !== options.length)
    throw configError(`choice options repeat: ${show(options)}`, options)
  return { kind: 'choice', options: [...options] }
}

/**
 * An integer range `min..max` (inclusive) on a grid of `step`.
 * @example intRange(128, 224, 4) // 25 resolutions
 * @since 0.1.0
 * @category constructors
 */
export function intRange(min: number, max: number, step = 1): IntDef {
  if (![min, max, step].every(Number.isSafeInteger) || step < 1 || max < min || (max - min) % step !== 0) {
    throw configError(
      `intRange(${min}, ${max}, ${step}) needs integers min <= max, step >= 1 and max - min a multiple of step`,
    )
  }
  if ((max - min) / step + 1 > 65536)
    throw configError(`intRange(${min}, ${max}, ${step}) has more than 65536 values`)
  return { kind: 'int', min, max, step }
}

/**
 * An ordered list of values (mutation and neighbours move to adjacent values).
 * @example ordinal([3, 5, 7])
 * @since 0.1.0
 * @category constructors
 */
export function ordinal<const T extends Primitive>(values: readonly T[]): OrdinalDef<T> {
  if (!isList(values) || values.length === 0) throw configError('ordinal needs at least one value', values)
  if (new Set(values).size !== values.length)
    throw configError(`ordinal values repeat: ${show(values)}`, values)
  return { kind: 'ordinal', values: [...values] }
}

/**
 * `min..max` copies of `item` (each copy chosen independently).
 * @example repeat(struct({ kernel: ordinal([3, 5, 7]) }), 2, 4)
 * @since 0.1.0
 * @category constructors
 */
export function repeat<const I extends SpaceDef>(item: I, min: number, max: number): RepeatDef<I> {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min || max > 4096) {
    throw configError(`repeat(${min}, ${max}) needs integers 0 <= min <= max <= 4096`)
  }
  return { kind: 'repeat', item, min, max }
}

/**
 * Named fields.
 * @example struct({ depth: ordinal([2, 3, 4]), width: choice([0.5, 1]) })
 * @since 0.1.0
 * @category constructors
 */
export function struct<const F extends Readonly<Record<string, SpaceDef>>>(fields: F): StructDef<F> {
  if (typeof fields !== 'object' || fields === null)
    throw configError('struct needs an object of fields', fields)
  return { kind: 'struct', fields }
}

/**
 * A choice that selects which sub-space applies; its value is `{ option, value }`.
 * @example conditional({ conv: struct({ kernel: ordinal([3, 5]) }), pool: choice(['max', 'avg']) })
 * @since 0.1.0
 * @category constructors
 */
export function conditional<const O extends Readonly<Record<string, SpaceDef>>>(
  options: O,
): ConditionalDef<O> {
  if (typeof options !== 'object' || options === null || Object.keys(options).length === 0) {
    throw configError('conditional needs at least one option', options)
  }
  return { kind: 'conditional', options }
}

/**
 * A fixed tuple of sub-spaces.
 * @example product(choice(['a', 'b']), intRange(1, 3))
 * @since 0.1.0
 * @category constructors
 */
export function product<const P extends readonly SpaceDef[]>(...parts: P): ProductDef<P> {
  return { kind: 'product', parts }
}

/**
 * A cell-DAG; see {@link CellDef}.
 * @example cell({ inputs: 2, nodes: 4, inputsPerNode: 2, ops: ['sep_conv_3x3', 'max_pool_3x3'] })
 * @since 0.1.0
 * @category constructors
 */
export function cell<const Op extends string, const On extends 'edge' | 'node' = 'edge'>(opts: {
  inputs: number
  nodes: number
  ops: readonly Op[]
  inputsPerNode?: number | 'all'
  opsOn?: On
  output?: 'concat' | 'last'
  identity?: Op
  zero?: Op
}): CellDef<Op, On> {
  const { inputs, nodes, ops } = opts
  const per = opts.inputsPerNode ?? 'all'
  if (
    !Number.isSafeInteger(inputs) ||
    inputs < 1 ||
    !Number.isSafeInteger(nodes) ||
    nodes < 1 ||
    nodes > 32
  ) {
    throw configError(`cell needs inputs >= 1 and 1 <= nodes <= 32, got inputs ${inputs}, nodes ${nodes}`)
  }
  if (per !== 'all' && (!Number.isSafeInteger(per) || per < 1 || per > inputs)) {
    throw configError(
      `cell inputsPerNode must be 'all' or 1..${inputs} (the inputs of the first node), got ${show(per)}`,
    )
  }
  if (!isList(ops) || ops.length === 0 || new Set(ops).size !== ops.length) {
    throw configError('cell needs a non-empty list of distinct ops', ops)
  }
  for (const k of ['identity', 'zero'] as const) {
    const op = opts[k]
    if (op !== undefined && !ops.includes(op))
      throw configError(`cell ${k} op ${show(op)} is not one of the ops`, op)
  }
  return {
    kind: 'cell',
    inputs,
    nodes,
    ops: [...ops],
    inputsPerNode: per,
    opsOn: opts.opsOn ?? ('edge' as On),
    output: opts.output ?? 'concat',
    ...(opts.identity !== undefined ? { identity: opts.identity } : {}),
    ...(opts.zero !== undefined ? { zero: opts.zero } : {}),
  }
}

/**
 * Embeds an existing space as a part of a DSL definition.
 * @example product(space(nb201), quantPolicyDef(20))
 * @since 0.1.0
 * @category constructors
 */
export function space<A>(s: SearchSpace<A>): SubspaceDef<A> {
  return { kind: 'space', space: s }
}

// ---------------------------------------------------------------------------------------------
// compiled nodes

type Path = readonly (string | number)[]
type DslEncoding = 'onehot' | 'ordinal'

/** Thrown inside `build` when the decision list runs out: carries the next decision. */
class NeedDecision extends Error {
  constructor(readonly decision: Decision) {
    super(`next decision: ${decision.name}`)
  }
}

class Cursor {
  i = 0
  constructor(
    readonly ds: readonly number[],
    readonly spaceId: string,
  ) {}
  take(d: Decision): number {
    if (this.i >= this.ds.length) throw new NeedDecision(d)
    const v = this.ds[this.i]!
    if (!Number.isInteger(v) || v < 0 || v >= d.size) {
      throw decisionError(
        this.spaceId,
        `decision ${d.name} is ${show(v)}; expected 0..${d.size - 1}`,
        v,
        this.i,
      )
    }
    this.i++
    return v
  }
}

/** One active decision (or embedded space): its single-change neighbours. */
interface Site {
  neighbors(): unknown[]
}

interface Node {
  sample(rng: Rng): unknown
  dflt(): unknown
  check(x: unknown, path: Path): SampleError | undefined
  decide(v: unknown, out: number[]): void
  build(c: Cursor, path: Path): unknown
  sites(v: unknown, wrap: (nv: unknown) => unknown, out: Site[]): void
  /** The number of active decisions (embedded spaces count with their decisions). */
  weight(v: unknown): number
  /** Changes the active decision number `r` (0 <= r < weight(v)), sampling newly active parts. */
  mutateAt(v: unknown, r: number, rng: Rng): unknown
  cross(a: unknown, b: unknown, rng: Rng): unknown
  count(): bigint
  all(): Iterable<unknown>
  len(kind: DslEncoding): number
  enc(v: unknown, kind: DslEncoding, out: Float32Array, off: number): void
  canon(v: unknown): string
  zod(): z.ZodType
  summary(): string
}

const decisionName = (path: Path, suffix?: string): string => {
  const base = path.length === 0 ? '' : formatPath(path)
  if (suffix === undefined) return base === '' ? 'value' : base
  return base === '' ? suffix : `${base}.${suffix}`
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)

function* cartesian(
  parts: readonly (() => Iterable<unknown>)[],
  i = 0,
  acc: unknown[] = [],
): Generator<unknown[]> {
  if (i === parts.length) {
    yield acc.slice()
    return
  }
  for (const v of parts[i]!()) {
    acc.push(v)
    yield* cartesian(parts, i + 1, acc)
    acc.pop()
  }
}

function pickOther(rng: Rng, n: number, cur: number): number {
  const r = rng.int(n - 1)
  return r >= cur ? r + 1 : r
}

class LeafNode implements Node {
  private readonly index = new Map<unknown, number>()
  private readonly labels: string[]
  constructor(
    private readonly values: readonly Primitive[],
    private readonly ordered: boolean,
    private readonly int: IntDef | undefined,
  ) {
    values.forEach((v, i) => this.index.set(v, i))
    this.labels = values.map(String)
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
  check(x: unknown, path: Path) {
    if (this.index.has(x)) return undefined
    if (this.int && this.values.length > 30) {
      const { min, max, step } = this.int
      return sampleError(
        path,
        `got ${show(x)}; expected an integer in ${min}..${max}${step > 1 ? ` in steps of ${step}` : ''}`,
        x,
        [min, max],
      )
    }
    return notAllowed(path, x, this.values)
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
  zod(): z.ZodType {
    if (this.int) {
      const { min, max, step } = this.int
      let s = z.number().int().min(min).max(max)
      if (step > 1 && min % step === 0) s = s.multipleOf(step)
      return s
    }
    if (this.values.every((v) => typeof v === 'string')) return z.enum(this.values as [string, ...string[]])
    return z.literal(this.values as [Primitive, ...Primitive[]])
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

class RepeatNode implements Node {
  private readonly labels: string[]
  constructor(
    private readonly item: Node,
    private readonly min: number,
    private readonly max: number,
  ) {
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
  check(x: unknown, path: Path) {
    if (!Array.isArray(x))
      return sampleError(path, `expected an array of ${this.min}..${this.max} items, got ${show(x)}`, x)
    if (x.length < this.min || x.length > this.max) {
      return sampleError(
        path,
        `has ${x.length} items; expected ${this.min}..${this.max}`,
        x.length,
        this.labels.map(Number),
      )
    }
    for (let i = 0; i < x.length; i++) {
      const e = this.item.check(x[i], [...path, i])
      if (e) return e
    }
    return undefined
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
  zod(): z.ZodType {
    return z.array(this.item.zod()).min(this.min).max(this.max)
  }
  summary() {
    return `${this.min === this.max ? this.min : `${this.min}..${this.max}`} x ${this.item.summary()}`
  }
}

class FieldsNode implements Node {
  /** For a struct the keys are field names; for a product they are indices. */
  constructor(
    private readonly keys: readonly (string | number)[],
    private readonly children: readonly Node[],
    private readonly tuple: boolean,
  ) {}
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
  check(x: unknown, path: Path) {
    if (this.tuple) {
      if (!Array.isArray(x) || x.length !== this.keys.length) {
        return sampleError(path, `expected an array of ${this.keys.length} parts, got ${show(x)}`, x)
      }
    } else {
      if (!isRecord(x)) {
        return sampleError(
          path,
          `expected an object with fields ${formatAllowed(this.keys)}, got ${show(x)}`,
          x,
          this.keys,
        )
      }
      for (const k of Object.keys(x)) {
        if (!this.keys.includes(k))
          return sampleError(
            [...path, k],
            `unknown field; expected ${formatAllowed(this.keys)}`,
            k,
            this.keys,
          )
      }
      for (const k of this.keys) {
        if (!(k in x)) return sampleError([...path, k], 'missing field', undefined, [k])
      }
    }
    for (let i = 0; i < this.children.length; i++) {
      const e = this.children[i]!.check(this.get(x, i), [...path, this.keys[i]!])
      if (e) return e
    }
    return undefined
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
  zod(): z.ZodType {
    if (this.tuple) return z.tuple(this.children.map((c) => c.zod()) as [z.ZodType, ...z.ZodType[]])
    const shape: Record<string, z.ZodType> = {}
    this.children.forEach((c, i) => (shape[this.keys[i] as string] = c.zod()))
    return z.object(shape).strict()
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

class ConditionalNode implements Node {
  private readonly index: Map<string, number>
  constructor(
    private readonly keys: readonly string[],
    private readonly children: readonly Node[],
  ) {
    this.index = new Map(keys.map((k, i) => [k, i]))
  }
  sample(rng: Rng) {
    const i = rng.int(this.keys.length)
    return { option: this.keys[i], value: this.children[i]!.sample(rng) }
  }
  dflt() {
    return { option: this.keys[0], value: this.children[0]!.dflt() }
  }
  check(x: unknown, path: Path) {
    if (!isRecord(x)) {
      return sampleError(
        path,
        `expected { option, value } with option ${formatAllowed(this.keys)}, got ${show(x)}`,
        x,
        this.keys,
      )
    }
    for (const k of Object.keys(x)) {
      if (k !== 'option' && k !== 'value')
        return sampleError([...path, k], `unknown field; expected 'option' or 'value'`, k)
    }
    const i = typeof x.option === 'string' ? this.index.get(x.option) : undefined
    if (i === undefined) return notAllowed([...path, 'option'], x.option, this.keys)
    if (!('value' in x)) return sampleError([...path, 'value'], 'missing field', undefined)
    return this.children[i]!.check(x.value, [...path, 'value'])
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
  zod(): z.ZodType {
    const opts = this.keys.map((k, i) =>
      z.object({ option: z.literal(k), value: this.children[i]!.zod() }).strict(),
    )
    if (opts.length === 1) return opts[0]!
    return z.discriminatedUnion('option', opts as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]])
  }
  summary() {
    return `one of { ${this.keys.map((k, i) => `${k}: ${this.children[i]!.summary()}`).join(' | ')} }`
  }
}

/** All m-subsets of 0..n-1, sorted, in lexicographic order. */
function combinations(n: number, m: number): number[][] {
  const out: number[][] = []
  const cur: number[] = []
  const rec = (start: number) => {
    if (cur.length === m) {
      out.push(cur.slice())
      return
    }
    for (let i = start; i <= n - (m - cur.length); i++) {
      cur.push(i)
      rec(i + 1)
      cur.pop()
    }
  }
  rec(0)
  return out
}

type AnyCellNode = { inputs: number[]; ops?: string[]; op?: string }

class CellNode implements Node {
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
  check(x: unknown, path: Path) {
    const d = this.def
    if (!Array.isArray(x) || x.length !== d.nodes) {
      return sampleError(path, `expected an array of ${d.nodes} cell nodes, got ${show(x)}`, x)
    }
    for (let k = 0; k < d.nodes; k++) {
      const n: unknown = x[k]
      const p = [...path, k]
      const opKey = this.edge ? 'ops' : 'op'
      if (!isRecord(n)) return sampleError(p, `expected { inputs, ${opKey} }, got ${show(n)}`, n)
      for (const key of Object.keys(n)) {
        if (key !== 'inputs' && key !== opKey)
          return sampleError([...p, key], `unknown field; expected 'inputs' or '${opKey}'`, key)
      }
      const avail = d.inputs + k
      const m = this.m(k)
      const allowedInputs = Array.from({ length: avail }, (_, i) => i)
      if (!Array.isArray(n.inputs) || n.inputs.length !== m) {
        return sampleError(
          [...p, 'inputs'],
          `node ${k} takes ${m} distinct inputs among 0..${avail - 1}, got ${show(n.inputs)}`,
          n.inputs,
          allowedInputs,
        )
      }
      for (let j = 0; j < m; j++) {
        const i: unknown = n.inputs[j]
        if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= avail) {
          return sampleError(
            [...p, 'inputs', j],
            `input ${show(i)} of node ${k} is out of range; expected 0..${avail - 1}`,
            i,
            allowedInputs,
          )
        }
        if (j > 0 && i <= (n.inputs[j - 1] as number)) {
          return sampleError(
            [...p, 'inputs', j],
            `inputs of node ${k} must be distinct and increasing, got ${show(n.inputs)}`,
            n.inputs,
          )
        }
      }
      if (this.edge) {
        if (!Array.isArray(n.ops) || n.ops.length !== m) {
          return sampleError(
            [...p, 'ops'],
            `node ${k} has one op per input (${m}), got ${show(n.ops)}`,
            n.ops,
            d.ops,
          )
        }
        for (let j = 0; j < m; j++) {
          if (!this.opIndex.has(n.ops[j] as string)) return notAllowed([...p, 'ops', j], n.ops[j], d.ops)
        }
      } else if (!this.opIndex.has(n.op as string)) return notAllowed([...p, 'op'], n.op, d.ops)
    }
    return undefined
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
  zod(): z.ZodType {
    const d = this.def
    const op = z.enum(d.ops as [string, ...string[]])
    const inputs = z.array(
      z
        .number()
        .int()
        .min(0)
        .max(d.inputs + d.nodes - 2),
    )
    const node = this.edge
      ? z.object({ inputs, ops: z.array(op) }).strict()
      : z.object({ inputs, op }).strict()
    return z.array(node).length(d.nodes)
  }
  summary() {
    const d = this.def
    const per = d.inputsPerNode === 'all' ? 'all earlier nodes' : `${d.inputsPerNode} inputs`
    return `cell(${d.inputs} inputs, ${d.nodes} nodes, ${per} each, ${d.ops.length} ops per ${d.opsOn}, output ${d.output})`
  }
}

class SpaceNode implements Node {
  constructor(private readonly s: SearchSpace<unknown>) {}
  sample(rng: Rng) {
    return this.s.sample(rng)
  }
  dflt() {
    const ds: number[] = []
    for (let d = this.s.decisions.next(ds); d !== undefined; d = this.s.decisions.next(ds)) ds.push(0)
    return this.s.decisions.build(ds)
  }
  check(x: unknown, path: Path) {
    const e = this.s.check(x)
    if (!e) return undefined
    return { ...e, path: [...path, ...e.path], message: `${formatPath(path)}: ${e.message}` }
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
  zod(): z.ZodType {
    return this.s.schema
  }
  summary() {
    return `space ${this.s.id} (${this.s.size()} architectures)`
  }
}

function compile(def: SpaceDef, path: Path): Node {
  if (typeof def !== 'object' || def === null || !('kind' in def)) {
    throw configError(`${formatPath(path)}: not a space definition: ${show(def)}`, def)
  }
  switch (def.kind) {
    case 'choice':
      return new LeafNode(def.options, false, undefined)
    case 'ordinal':
      return new LeafNode(def.values, true, undefined)
    case 'int': {
      const vals: number[] = []
      for (let v = def.min; v <= def.max; v += def.step) vals.push(v)
      return new LeafNode(vals, true, def)
    }
    case 'repeat':
      return new RepeatNode(compile(def.item, [...path, '*']), def.min, def.max)
    case 'struct': {
      const keys = Object.keys(def.fields)
      return new FieldsNode(
        keys,
        keys.map((k) => compile(def.fields[k]!, [...path, k])),
        false,
      )
    }
    case 'product':
      return new FieldsNode(
        def.parts.map((_, i) => i),
        def.parts.map((p, i) => compile(p, [...path, i])),
        true,
      )
    case 'conditional': {
      const keys = Object.keys(def.options)
      return new ConditionalNode(
        keys,
        keys.map((k) => compile(def.options[k]!, [...path, 'value'])),
      )
    }
    case 'cell':
      return new CellNode(def)
    case 'space':
      return new SpaceNode(def.space)
    default:
      throw configError(
        `${formatPath(path)}: unknown definition kind ${show((def as { kind: unknown }).kind)}`,
      )
  }
}

/**
 * Extra behaviour for a DSL space: a paper's text form, a domain-specific hash, more encodings.
 * @since 0.1.0
 */
export interface DefineSpaceOptions<A> {
  /** One line for `describe()`, e.g. the paper the space comes from. */
  readonly title?: string
  /** The paper's text form (default: compact JSON). */
  format?(a: A): string
  /** Inverse of `format`; must throw a NasError naming the position and the allowed values. */
  parse?(text: string): A
  /** A domain-specific canonical hash (default: the structural/functional hash of the DSL). */
  hash?(a: A): string
  /** Extra encodings (e.g. `adjacency`, `path` for cell spaces). */
  readonly encodings?: Partial<
    Record<'adjacency' | 'path', { readonly length: number; encode(a: A): Float32Array }>
  >
  /** Spaces with at most this many architectures get `enumerate()` (default 1,000,000). */
  readonly enumerateLimit?: bigint
}

/**
 * A search space built with the DSL: a full {@link SearchSpace} plus its definition.
 * @since 0.1.0
 * @category models
 */
export interface DslSpace<A> extends SearchSpace<A> {
  readonly def: SpaceDef
  /** The JSON Schema of an architecture (from the zod schema). */
  jsonSchema(): Record<string, unknown>
}

/**
 * Turns a definition into a complete {@link SearchSpace}: zod schema, sample, mutate (exactly one
 * active decision), uniform crossover, neighbours, exact size, enumerate (small spaces), one-hot and
 * ordinal encodings of constant length, a canonical hash, text form, JSON (tagged with the space id)
 * and the sequential decision tree.
 *
 * @example
 * ```ts
 * const mySpace = defineSpace('my-mlp', struct({
 *   layers: repeat(struct({ units: ordinal([64, 128, 256]), act: choice(['relu', 'gelu']) }), 1, 4),
 *   dropout: choice([0, 0.1, 0.3]),
 * }))
 * mySpace.size() // 3n * (6n + 36n + 216n + 1296n)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function defineSpace<const D extends SpaceDef>(
  id: string,
  def: D,
  options: DefineSpaceOptions<ValueOf<D>> = {},
): DslSpace<ValueOf<D>> {
  return defineUntyped(id, def, options) as DslSpace<ValueOf<D>>
}

/**
 * {@link defineSpace} with the architecture type given explicitly instead of inferred: for definitions
 * built programmatically (e.g. `product(...Array(22).fill(op))`), where inference would be too deep.
 * The caller vouches that `A` matches the definition.
 * @since 0.1.0
 * @category constructors
 */
export function defineSpaceAs<A>(
  id: string,
  def: SpaceDef,
  options: DefineSpaceOptions<A> = {},
): DslSpace<A> {
  return defineUntyped(id, def, options) as DslSpace<A>
}

type A = unknown
function defineUntyped(id: string, def: SpaceDef, options: DefineSpaceOptions<unknown>): DslSpace<unknown> {
  if (typeof id !== 'string' || id.length === 0) throw configError('a space needs a non-empty id', id)
  const root = compile(def, [])
  const extra = options.encodings ?? {}
  const encodings: EncodingKind[] = ['onehot', 'ordinal', ...(Object.keys(extra) as EncodingKind[])]
  let sizeMemo: bigint | undefined
  const size = () => (sizeMemo ??= root.count())
  let schemaMemo: z.ZodType<A> | undefined
  const check = (x: unknown) => root.check(x, [])
  const validate = (x: unknown): A => {
    const e = check(x)
    if (e) throw toNasError(id, e)
    return JSON.parse(JSON.stringify(x)) as A
  }
  const defaultHash = (a: A) => hash64(root.canon(a))
  const hash = options.hash ? (a: A) => options.hash!(a) : defaultHash
  const enumerateLimit = options.enumerateLimit ?? 1_000_000n

  const decisions: DecisionTree<A> = {
    next(prefix) {
      const c = new Cursor(prefix, id)
      try {
        root.build(c, [])
      } catch (e) {
        if (e instanceof NeedDecision) return e.decision
        throw e
      }
      if (c.i < prefix.length) {
        throw decisionError(
          id,
          `the decision list is complete after ${c.i} entries, got ${prefix.length}`,
          prefix,
          c.i,
        )
      }
      return undefined
    },
    build(ds) {
      const c = new Cursor(ds, id)
      let v: unknown
      try {
        v = root.build(c, [])
      } catch (e) {
        if (e instanceof NeedDecision) {
          throw decisionError(
            id,
            `the decision list is incomplete: ${e.decision.name} is missing`,
            ds,
            ds.length,
          )
        }
        throw e
      }
      if (c.i < ds.length) {
        throw decisionError(
          id,
          `the decision list is complete after ${c.i} entries, got ${ds.length}`,
          ds,
          c.i,
        )
      }
      return v
    },
    decide(a) {
      const out: number[] = []
      root.decide(a, out)
      return out
    },
  }

  const sitesOf = (a: A) => {
    const out: Site[] = []
    root.sites(a, (nv) => nv, out)
    return out
  }

  const spaceObj: DslSpace<A> = {
    id,
    def,
    get schema() {
      if (schemaMemo === undefined) {
        schemaMemo = root.zod().superRefine((v, ctx) => {
          const e = check(v)
          if (e) ctx.addIssue({ code: 'custom', message: e.message, path: [...e.path] })
        })
      }
      return schemaMemo
    },
    encodings,
    decisions,
    sample: (rng) => root.sample(rng),
    mutate(a, rng) {
      const total = root.weight(a)
      if (total === 0) return a
      return root.mutateAt(a, rng.int(total), rng)
    },
    crossover: (a, b, rng) => root.cross(a, b, rng),
    neighbors: (a) => sitesOf(a).flatMap((s) => s.neighbors()),
    size,
    ...(size() <= enumerateLimit ? { enumerate: () => root.all() } : {}),
    encode(a, kind = 'onehot') {
      const k = checkEncoding(id, kind, encodings)
      if (k === 'adjacency' || k === 'path') return extra[k]!.encode(a)
      const out = new Float32Array(root.len(k))
      root.enc(a, k, out, 0)
      return out
    },
    encodingLength(kind = 'onehot') {
      const k = checkEncoding(id, kind, encodings)
      if (k === 'adjacency' || k === 'path') return extra[k]!.length
      return root.len(k)
    },
    hash,
    format: (a) => (options.format ? options.format(a) : JSON.stringify(a)),
    parse: (text) => {
      if (options.parse) return validate(options.parse(text))
      let x: unknown
      try {
        x = JSON.parse(text)
      } catch (e) {
        throw archError(
          `space '${id}': cannot parse ${show(text)} as JSON: ${e instanceof Error ? e.message : String(e)}`,
          text,
        )
      }
      return validate(x)
    },
    check,
    validate,
    toJSON: (a) => envelope(id, JSON.parse(JSON.stringify(a))),
    fromJSON: (json) => validate(openEnvelope(id, json)),
    describe: () =>
      `${id}: ${options.title ? `${options.title}; ` : ''}${root.summary()}; ${size()} architectures; ` +
      `encodings ${encodings.map((e) => `${e}(${spaceObj.encodingLength(e)})`).join(', ')}`,
    jsonSchema: () => z.toJSONSchema(spaceObj.schema, { unrepresentable: 'any' }),
  }
  return spaceObj
}

/**
 * The JSON Schema (draft 2020-12) of an architecture of any space.
 * @since 0.1.0
 */
export function spaceJsonSchema(s: SearchSpace<unknown>): Record<string, unknown> {
  return z.toJSONSchema(s.schema, { unrepresentable: 'any' })
}
