import { fc } from '@fast-check/vitest'
import type { Rng } from '@nasjs/core'
import {
  cell,
  choice,
  conditional,
  intRange,
  ordinal,
  product,
  repeat,
  space,
  struct,
  type Primitive,
  type SpaceDef,
} from '../dsl/constructors.js'
import { defineSpaceAs } from '../dsl/define.js'
import type { SearchSpace } from '../types.js'

// Keys are plain identifiers (a `__proto__` field is out of scope); some collide with the field
// names of conditionals and cells on purpose.
const KEYS = ['a', 'b', 'c', 'option', 'value', 'inputs', 'ops', 'op'] as const

const primitive: fc.Arbitrary<Primitive> = fc.oneof(
  fc.string({ maxLength: 3 }),
  fc.integer({ min: -5, max: 300 }),
  fc.constantFrom(0.1, 0.5, 1.5, -2.25),
  fc.boolean(),
)
const options = fc.uniqueArray(primitive, { minLength: 1, maxLength: 5 })

/** Integer ranges, some with more than 30 values, some on a grid that does not start at a multiple of `step`. */
const intDef = fc
  .tuple(fc.integer({ min: -20, max: 20 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 40 }))
  .map(([min, step, n]) => intRange(min, min + step * (n - 1), step))

const leaf: fc.Arbitrary<SpaceDef> = fc.oneof(options.map(choice), options.map(ordinal), intDef)

/**
 * Cells small enough to sample. `large` cells (3..5 inputs, 4..6 nodes, 3..5 inputs per node) mostly
 * have nodes with more than 64 possible input lists, where the JSON Schema states the order of the
 * inputs as a rule instead of listing the lists.
 */
export function arbitraryCellDef(large = false): fc.Arbitrary<SpaceDef> {
  return fc
    .record({
      inputs: large ? fc.integer({ min: 3, max: 5 }) : fc.integer({ min: 1, max: 5 }),
      nodes: large ? fc.integer({ min: 4, max: 6 }) : fc.integer({ min: 1, max: 6 }),
      per: large
        ? fc.integer({ min: 3, max: 5 })
        : fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
      ops: fc.uniqueArray(fc.constantFrom('conv', 'pool', 'skip', 'zero', 'id'), {
        minLength: 1,
        maxLength: 4,
      }),
      opsOn: fc.constantFrom('edge' as const, 'node' as const),
      output: fc.constantFrom('concat' as const, 'last' as const),
    })
    .map(({ inputs, nodes, per, ops, opsOn, output }) =>
      cell({
        inputs,
        nodes,
        ops,
        inputsPerNode: per === undefined ? 'all' : Math.min(per, inputs),
        opsOn,
        output,
        ...(ops.includes('id') ? { identity: 'id' } : {}),
        ...(ops.includes('zero') ? { zero: 'zero' } : {}),
      }),
    )
}

const fields = (item: fc.Arbitrary<SpaceDef>, minKeys: number) =>
  fc
    .uniqueArray(fc.constantFrom(...KEYS), { minLength: minKeys, maxLength: 3 })
    .chain((keys) =>
      fc.tuple(...keys.map(() => item)).map((defs) => Object.fromEntries(keys.map((k, i) => [k, defs[i]!]))),
    )

/**
 * Random DSL definitions of every kind, nested up to `depth` levels: choice, ordinal, intRange,
 * repeat, struct, conditional, product, cell, and `space(...)` of a DSL space (whose JSON Schema is
 * exact too). Embedded non-DSL spaces are left out: their JSON Schema is their own zod schema's.
 */
export function arbitraryDef(depth = 3): fc.Arbitrary<SpaceDef> {
  if (depth === 0) return fc.oneof(leaf, arbitraryCellDef())
  const inner = arbitraryDef(depth - 1)
  return fc.oneof(
    { arbitrary: leaf, weight: 3 },
    { arbitrary: arbitraryCellDef(), weight: 1 },
    {
      arbitrary: fc
        .tuple(inner, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 3 }))
        .map(([item, min, extra]) => repeat(item, min, min + extra)),
      weight: 2,
    },
    { arbitrary: fields(inner, 0).map((f) => struct(f)), weight: 2 },
    { arbitrary: fields(inner, 1).map((f) => conditional(f)), weight: 2 },
    { arbitrary: fc.array(inner, { maxLength: 3 }).map((parts) => product(...parts)), weight: 2 },
    { arbitrary: inner.map((d) => space(defineSpaceAs<unknown>('inner', d))), weight: 1 },
  )
}

/** Every string and key in a JSON value (material for plausible corruptions). */
function vocabulary(x: unknown, out = new Set<string>(['extra', 'option', 'value', 'inputs', 'ops', 'op'])) {
  if (typeof x === 'string') out.add(x)
  else if (Array.isArray(x)) for (const v of x) vocabulary(v, out)
  else if (typeof x === 'object' && x !== null) {
    for (const [k, v] of Object.entries(x)) {
      out.add(k)
      vocabulary(v, out)
    }
  }
  return out
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!

/** Every sub-value of a JSON value, the value itself first. */
function subvalues(x: unknown, out: unknown[] = []): unknown[] {
  out.push(x)
  if (Array.isArray(x)) for (const v of x) subvalues(v, out)
  else if (typeof x === 'object' && x !== null) for (const v of Object.values(x)) subvalues(v, out)
  return out
}

/** One local change of a JSON leaf or container (may still be valid, e.g. another option). */
function corruptHere(x: unknown, rng: Rng, words: readonly string[], parts: readonly unknown[]): unknown {
  if (rng.uniform() < 0.1) return structuredClone(pick(rng, parts)) // another sub-value: wrong type or shape
  if (typeof x === 'number') {
    return pick(rng, [x + 1, x - 1, x + 2, x + 3, x + 0.5, -x - 1, x * 2, 1e9, String(x), null, true])
  }
  if (typeof x === 'string') return pick(rng, [pick(rng, words), pick(rng, words), `${x}_`, 1, null, ''])
  if (typeof x === 'boolean') return pick(rng, [!x, 0, 1, 'true'])
  if (x === null) return pick(rng, [0, 'null', {}])
  if (Array.isArray(x)) {
    const a: unknown[] = x.slice()
    const i = rng.int(Math.max(1, a.length))
    const j = rng.int(Math.max(1, a.length))
    const k = Math.min(i + 1, a.length - 1) // the item after i
    switch (rng.int(10)) {
      case 0:
        a.splice(i, 1) // one item fewer
        return a
      case 1:
        if (a.length > 0) a.splice(i, 0, structuredClone(a[i])) // a repeated item, one more
        return a
      case 2:
        a.push(a.length > 0 ? structuredClone(a[j]) : 0)
        return a
      case 3:
        ;[a[i], a[j]] = [a[j], a[i]] // out of order
        return a
      case 4:
        if (a.length > 0) a[i] = structuredClone(a[j]) // a duplicate
        return a
      case 5:
        ;[a[i], a[k]] = [a[k], a[i]] // two neighbours out of order
        return a
      case 6:
        a[k] = a[i] // a neighbour repeated
        return a
      case 7:
        return a.reverse()
      case 8:
        return Object.fromEntries(a.map((v, n) => [String(n), v]))
      default:
        return []
    }
  }
  if (typeof x === 'object') {
    const o = { ...(x as Record<string, unknown>) }
    const keys = Object.keys(o)
    const k = keys.length > 0 ? pick(rng, keys) : undefined
    switch (rng.int(5)) {
      case 0:
        if (k !== undefined) delete o[k] // a missing field
        return o
      case 1:
        o[pick(rng, words)] = k === undefined ? 0 : structuredClone(o[k]) // an extra (or overwritten) field
        return o
      case 2:
        if (k !== undefined) {
          const v = o[k]
          delete o[k]
          o[pick(rng, words)] = v // a renamed field
        }
        return o
      case 3:
        return Object.values(o)
      default:
        return {}
    }
  }
  return null
}

/** Replaces one randomly chosen sub-value of `x` (deeper ones as likely as shallow ones). */
function corruptSomewhere(
  x: unknown,
  rng: Rng,
  words: readonly string[],
  parts: readonly unknown[],
): unknown {
  const children: [string | number, unknown][] = Array.isArray(x)
    ? x.map((v, i) => [i, v])
    : typeof x === 'object' && x !== null
      ? Object.entries(x)
      : []
  if (children.length === 0 || rng.uniform() < 0.25) return corruptHere(x, rng, words, parts)
  const [k, v] = pick(rng, children)
  const changed = corruptSomewhere(v, rng, words, parts)
  if (Array.isArray(x)) {
    const a = x.slice()
    a[k as number] = changed
    return a
  }
  return { ...(x as Record<string, unknown>), [k]: changed }
}

/**
 * A JSON copy of `a` with 1..3 random local changes: off-grid or non-integer numbers, other strings
 * (often other options), wrong types, items dropped / repeated / swapped, fields missing / extra /
 * renamed, sub-values moved elsewhere. Many results are invalid; some are still valid.
 */
export function corrupt(a: unknown, rng: Rng): unknown {
  let x: unknown = JSON.parse(JSON.stringify(a))
  const words = [...vocabulary(x)]
  const parts = subvalues(x)
  const n = 1 + rng.int(3)
  for (let i = 0; i < n; i++) x = corruptSomewhere(x, rng, words, parts)
  return x
}

/**
 * Valid architectures of `s` (samples, a mutant, a crossover, neighbours, a random walk of the
 * decision tree) and `corruptions` corrupted copies of them.
 */
export function candidates(s: SearchSpace<unknown>, rng: Rng, corruptions = 12): unknown[] {
  const a = s.sample(rng)
  const b = s.sample(rng)
  const ns = s.neighbors(a)
  const ds: number[] = []
  for (let d = s.decisions.next(ds); d !== undefined; d = s.decisions.next(ds)) ds.push(rng.int(d.size))
  const valid = [a, b, s.mutate(a, rng), s.crossover(a, b, rng), s.decisions.build(ds)]
  if (ns.length > 0) valid.push(pick(rng, ns))
  const bad = Array.from({ length: corruptions }, () => corrupt(pick(rng, valid), rng))
  return [...valid.map((v) => JSON.parse(JSON.stringify(v)) as unknown), ...bad]
}
