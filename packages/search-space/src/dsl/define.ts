import { z } from 'zod'
import {
  archError,
  checkEncoding,
  configError,
  decisionError,
  envelope,
  hash64,
  openEnvelope,
  show,
  toNasError,
} from '../internal.js'
import type { DecisionTree, EncodingKind, SearchSpace } from '../types.js'
import { compile } from './compile.js'
import type { SpaceDef, ValueOf } from './constructors.js'
import { Cursor, NeedDecision, type Site } from './node.js'
import { checkRule, isExact, markExact, ruleJsonSchema } from './rule.js'

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
  /**
   * The JSON Schema (draft 2020-12) of an architecture. It accepts exactly what `check` accepts,
   * except inside an embedded `space(...)` that is not a DSL space: there it is that space's own
   * schema, marked with a `$comment`, and may be looser than its runtime check.
   */
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
  const check = (x: unknown) => checkRule(root.rule, x, [])
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
      // the runtime check, carrying the JSON Schema of the same rule as its metadata, so that
      // `z.toJSONSchema(space.schema)` gives exactly the schema of `jsonSchema()`
      schemaMemo ??= z
        .unknown()
        .superRefine((v, ctx) => {
          const e = check(v)
          if (e) ctx.addIssue({ code: 'custom', message: e.message, path: [...e.path] })
        })
        .meta(deepFreeze(ruleJsonSchema(root.rule))) as z.ZodType<A>
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
    jsonSchema: () => spaceJsonSchema(spaceObj),
  }
  if (isExact(root.rule)) markExact(spaceObj)
  return spaceObj
}

/** Freezes a JSON value in place (the schema metadata zod shares with every `toJSONSchema` result). */
function deepFreeze<T>(x: T): T {
  if (typeof x === 'object' && x !== null && !Object.isFrozen(x)) {
    for (const v of Object.values(x)) deepFreeze(v)
    Object.freeze(x)
  }
  return x
}

/**
 * The JSON Schema (draft 2020-12) of an architecture of any space, from its zod schema: for a DSL
 * space exactly as strict as its runtime check (see {@link DslSpace.jsonSchema}). A fresh copy.
 * @since 0.1.0
 */
export function spaceJsonSchema(s: SearchSpace<unknown>): Record<string, unknown> {
  return structuredClone(z.toJSONSchema(s.schema, { unrepresentable: 'any' }))
}
