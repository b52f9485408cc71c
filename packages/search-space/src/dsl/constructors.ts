import { configError, show } from '../internal.js'
import type { SearchSpace } from '../types.js'

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

/** `Array.isArray` without narrowing (the argument types already say array; this guards JS callers). */
const isList = (x: unknown): boolean => Array.isArray(x)

/** Strings, booleans and finite numbers: the values JSON (and so a JSON Schema `enum`) can hold. */
const isJsonPrimitive = (v: unknown): boolean =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))

/** Checks the option list of `choice` / `ordinal`: non-empty, JSON primitives, no repeats. */
function checkOptions(what: 'choice' | 'ordinal', options: readonly unknown[]): void {
  const noun = what === 'choice' ? 'option' : 'value'
  if (!isList(options) || options.length === 0)
    throw configError(`${what} needs at least one ${noun}`, options)
  const bad = options.findIndex((v) => !isJsonPrimitive(v))
  if (bad >= 0) {
    throw configError(
      `${what} ${noun}s are strings, booleans or finite numbers (JSON values), got ${show(options[bad])}`,
      options[bad],
    )
  }
  if (new Set(options).size !== options.length)
    throw configError(`${what} ${noun}s repeat: ${show(options)}`, options)
}

/**
 * A categorical choice.
 * @example choice(['relu', 'gelu', 'swish'])
 * @since 0.1.0
 * @category constructors
 */
export function choice<const T extends Primitive>(options: readonly T[]): ChoiceDef<T> {
  checkOptions('choice', options)
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
  checkOptions('ordinal', values)
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
