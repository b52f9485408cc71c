import { formatAllowed } from '@nasjs/core'
import { z } from 'zod'
import { formatPath, notAllowed, sampleError, show } from '../internal.js'
import type { SampleError, SearchSpace } from '../types.js'
import type { Primitive } from './constructors.js'
import { combinations } from './node.js'

/**
 * What one compiled DSL node accepts, as data: the single source of truth of validation. Every kind
 * is a JSON Schema construct, and two interpreters read it: {@link checkRule} (the runtime check,
 * whose errors name the path, the bad value and the allowed values) and {@link ruleJsonSchema} (the
 * exported JSON Schema). So the JSON Schema is exactly as strict as the runtime check, except inside
 * an embedded `space(...)` that is not itself a DSL space (`space` rules delegate to that space's own
 * `check` and its own zod schema's JSON Schema).
 *
 * The `shape` strings only phrase the error for a value of the wrong shape (`${shape}, got ...`).
 */
export type Rule =
  /** One of `values` (JSON `enum`). */
  | { readonly kind: 'enum'; readonly values: readonly Primitive[]; readonly set: ReadonlySet<unknown> }
  /** An integer in `min..max` on the grid `min + k * step`. */
  | { readonly kind: 'int'; readonly min: number; readonly max: number; readonly step: number }
  /** An array of `min..max` items, each accepted by `item`. */
  | { readonly kind: 'list'; readonly item: Rule; readonly min: number; readonly max: number }
  /** An array of exactly `items.length` entries, entry i accepted by `items[i]`. */
  | {
      readonly kind: 'tuple'
      readonly items: readonly Rule[]
      readonly shape: string
      readonly allowed?: readonly unknown[]
    }
  /** An object with exactly these fields, all required, no others. */
  | {
      readonly kind: 'object'
      readonly keys: readonly string[]
      readonly fields: readonly Rule[]
      readonly shape: string
      readonly allowed?: readonly unknown[]
    }
  /** `{ option, value }` where `option` is one of `keys` and `value` is accepted by its rule. */
  | { readonly kind: 'tagged'; readonly keys: readonly string[]; readonly options: readonly Rule[] }
  /** The inputs of cell node `node`: `count` distinct integers in `0..below-1`, increasing. */
  | { readonly kind: 'inputs'; readonly node: number; readonly count: number; readonly below: number }
  /** Whatever an embedded space accepts (its own `check`). */
  | { readonly kind: 'space'; readonly space: SearchSpace<unknown> }

/** A JSON Schema (draft 2020-12) object. */
export type JsonSchema = Record<string, unknown>

type Path = readonly (string | number)[]

/** Rule constructors (the `set` of an enum is derived, for O(1) membership). */
export const rules = {
  enum: (values: readonly Primitive[]): Rule => ({ kind: 'enum', values, set: new Set(values) }),
  int: (min: number, max: number, step: number): Rule => ({ kind: 'int', min, max, step }),
  list: (item: Rule, min: number, max: number): Rule => ({ kind: 'list', item, min, max }),
  tuple: (items: readonly Rule[], shape: string, allowed?: readonly unknown[]): Rule => ({
    kind: 'tuple',
    items,
    shape,
    ...(allowed ? { allowed } : {}),
  }),
  object: (
    keys: readonly string[],
    fields: readonly Rule[],
    shape: string,
    allowed?: readonly unknown[],
  ): Rule => ({ kind: 'object', keys, fields, shape, ...(allowed ? { allowed } : {}) }),
  tagged: (keys: readonly string[], options: readonly Rule[]): Rule => ({ kind: 'tagged', keys, options }),
  inputs: (node: number, count: number, below: number): Rule => ({ kind: 'inputs', node, count, below }),
  space: (space: SearchSpace<unknown>): Rule => ({ kind: 'space', space }),
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)

const range = (from: number, to: number, step = 1): number[] => {
  const out: number[] = []
  for (let v = from; v <= to; v += step) out.push(v)
  return out
}

/** Integer ranges with more values than this are reported as a range, not as a list. */
const LIST_INT_VALUES_UP_TO = 30

/**
 * The runtime check: `undefined` if `rule` accepts `x`, else the first problem (depth first, in
 * field order), with its path, the bad value and the allowed values.
 */
export function checkRule(rule: Rule, x: unknown, path: Path): SampleError | undefined {
  switch (rule.kind) {
    case 'enum':
      return rule.set.has(x) ? undefined : notAllowed(path, x, rule.values)
    case 'int': {
      const { min, max, step } = rule
      if (typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max && (x - min) % step === 0) {
        return undefined
      }
      if ((max - min) / step + 1 <= LIST_INT_VALUES_UP_TO) return notAllowed(path, x, range(min, max, step))
      const grid = step > 1 ? ` in steps of ${step}` : ''
      return sampleError(path, `got ${show(x)}; expected an integer in ${min}..${max}${grid}`, x, [min, max])
    }
    case 'list': {
      const { min, max } = rule
      if (!Array.isArray(x))
        return sampleError(path, `expected an array of ${min}..${max} items, got ${show(x)}`, x)
      if (x.length < min || x.length > max) {
        return sampleError(path, `has ${x.length} items; expected ${min}..${max}`, x.length, range(min, max))
      }
      for (let i = 0; i < x.length; i++) {
        const e = checkRule(rule.item, x[i], [...path, i])
        if (e) return e
      }
      return undefined
    }
    case 'tuple': {
      if (!Array.isArray(x) || x.length !== rule.items.length) {
        return sampleError(path, `${rule.shape}, got ${show(x)}`, x, rule.allowed)
      }
      for (let i = 0; i < x.length; i++) {
        const e = checkRule(rule.items[i]!, x[i], [...path, i])
        if (e) return e
      }
      return undefined
    }
    case 'object': {
      const { keys } = rule
      if (!isRecord(x)) return sampleError(path, `${rule.shape}, got ${show(x)}`, x, rule.allowed)
      for (const k of Object.keys(x)) {
        if (!keys.includes(k)) {
          return sampleError([...path, k], `unknown field; expected ${formatAllowed(keys)}`, k, keys)
        }
      }
      for (const k of keys) {
        if (!Object.hasOwn(x, k)) return sampleError([...path, k], 'missing field', undefined, [k])
      }
      for (let i = 0; i < keys.length; i++) {
        const e = checkRule(rule.fields[i]!, x[keys[i]!], [...path, keys[i]!])
        if (e) return e
      }
      return undefined
    }
    case 'tagged': {
      const { keys } = rule
      if (!isRecord(x)) {
        const shape = `expected { option, value } with option ${formatAllowed(keys)}`
        return sampleError(path, `${shape}, got ${show(x)}`, x, keys)
      }
      for (const k of Object.keys(x)) {
        if (k !== 'option' && k !== 'value') {
          return sampleError([...path, k], `unknown field; expected 'option' or 'value'`, k)
        }
      }
      const i = typeof x.option === 'string' && Object.hasOwn(x, 'option') ? keys.indexOf(x.option) : -1
      if (i < 0) return notAllowed([...path, 'option'], x.option, keys)
      if (!Object.hasOwn(x, 'value')) return sampleError([...path, 'value'], 'missing field', undefined)
      return checkRule(rule.options[i]!, x.value, [...path, 'value'])
    }
    case 'inputs':
      return checkInputs(rule, x, path)
    case 'space': {
      const e = rule.space.check(x)
      if (!e) return undefined
      return { ...e, path: [...path, ...e.path], message: `${formatPath(path)}: ${e.message}` }
    }
  }
}

function checkInputs(
  rule: Extract<Rule, { kind: 'inputs' }>,
  x: unknown,
  path: Path,
): SampleError | undefined {
  const { node, count, below } = rule
  const allowed = range(0, below - 1)
  if (!Array.isArray(x) || x.length !== count) {
    return sampleError(
      path,
      `node ${node} takes ${count} distinct inputs among 0..${below - 1}, got ${show(x)}`,
      x,
      allowed,
    )
  }
  for (let j = 0; j < count; j++) {
    const i: unknown = x[j]
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= below) {
      return sampleError(
        [...path, j],
        `input ${show(i)} of node ${node} is out of range; expected 0..${below - 1}`,
        i,
        allowed,
      )
    }
    if (j > 0 && i <= (x[j - 1] as number)) {
      return sampleError(
        [...path, j],
        `inputs of node ${node} must be distinct and increasing, got ${show(x)}`,
        x,
      )
    }
  }
  return undefined
}

/** Cell input lists with at most this many possibilities are written as an `enum` of the lists. */
const ENUM_INPUT_LISTS_UP_TO = 64

/** The JSON Schema (draft 2020-12, without `$schema`) that accepts exactly what `rule` accepts. */
export function ruleJsonSchema(rule: Rule): JsonSchema {
  switch (rule.kind) {
    case 'enum': {
      const types = new Set(rule.values.map((v) => typeof v))
      const [type] = types
      return { ...(types.size === 1 ? { type } : {}), enum: [...rule.values] }
    }
    case 'int': {
      const { min, max, step } = rule
      // `multipleOf` counts from 0, so an off-zero grid (e.g. 1, 4, 7) is listed instead
      if (step > 1 && min % step !== 0) return { type: 'integer', enum: range(min, max, step) }
      return { type: 'integer', minimum: min, maximum: max, ...(step > 1 ? { multipleOf: step } : {}) }
    }
    case 'list':
      return { type: 'array', items: ruleJsonSchema(rule.item), minItems: rule.min, maxItems: rule.max }
    case 'tuple': {
      const n = rule.items.length
      const items = rule.items.map(ruleJsonSchema)
      if (n === 0) return { type: 'array', maxItems: 0 }
      const first = JSON.stringify(items[0])
      if (items.every((s) => JSON.stringify(s) === first)) {
        return { type: 'array', items: items[0], minItems: n, maxItems: n }
      }
      return { type: 'array', prefixItems: items, minItems: n, maxItems: n }
    }
    case 'object':
      return {
        type: 'object',
        properties: Object.fromEntries(rule.keys.map((k, i) => [k, ruleJsonSchema(rule.fields[i]!)])),
        required: [...rule.keys],
        additionalProperties: false,
      }
    case 'tagged': {
      const options = rule.keys.map((k, i) => ({
        type: 'object',
        properties: { option: { const: k }, value: ruleJsonSchema(rule.options[i]!) },
        required: ['option', 'value'],
        additionalProperties: false,
      }))
      return options.length === 1 ? options[0]! : { oneOf: options }
    }
    case 'inputs':
      return inputsJsonSchema(rule)
    case 'space':
      return embeddedJsonSchema(rule.space)
  }
}

/** The number of `m`-subsets of `n` things, or `Infinity` past `limit`. */
function binomial(n: number, m: number, limit: number): number {
  let c = 1
  for (let i = 1; i <= m; i++) {
    c = (c * (n - m + i)) / i
    if (c > limit) return Infinity
  }
  return c
}

/**
 * Increasing lists of distinct inputs: few possibilities are an `enum` of the lists; otherwise the
 * order is written as "if entry j-1 is v, entry j is at least v + 1", for every j and v.
 */
function inputsJsonSchema({ count, below }: Extract<Rule, { kind: 'inputs' }>): JsonSchema {
  if (binomial(below, count, ENUM_INPUT_LISTS_UP_TO) <= ENUM_INPUT_LISTS_UP_TO) {
    return { type: 'array', enum: combinations(below, count) }
  }
  // a full-length tuple with `entry` at position j (full length keeps ajv's strictTuples happy)
  const at = (j: number, entry: JsonSchema): JsonSchema => ({
    prefixItems: Array.from({ length: count }, (_, i) => (i === j ? entry : true)),
    minItems: count,
    maxItems: count,
  })
  const order: JsonSchema[] = []
  for (let j = 1; j < count; j++) {
    for (let v = 0; v < below; v++) {
      order.push({ if: at(j - 1, { const: v }), then: at(j, { type: 'integer', minimum: v + 1 }) })
    }
  }
  return {
    type: 'array',
    items: { type: 'integer', minimum: 0, maximum: below - 1 },
    minItems: count,
    maxItems: count,
    ...(order.length > 0 ? { allOf: order } : {}),
  }
}

/** DSL spaces whose JSON Schema is exactly as strict as their check (set by `defineSpace`). */
const exactSpaces = new WeakSet<SearchSpace<unknown>>()

/** Records that `space`'s JSON Schema is exact (called by `defineSpace` for exact rules). */
export function markExact(space: SearchSpace<unknown>): void {
  exactSpaces.add(space)
}

/** Whether {@link ruleJsonSchema} of `rule` accepts exactly what {@link checkRule} accepts. */
export function isExact(rule: Rule): boolean {
  switch (rule.kind) {
    case 'list':
      return isExact(rule.item)
    case 'tuple':
      return rule.items.every(isExact)
    case 'object':
      return rule.fields.every(isExact)
    case 'tagged':
      return rule.options.every(isExact)
    case 'space':
      return exactSpaces.has(rule.space)
    default:
      return true
  }
}

/**
 * An embedded space's JSON Schema: its zod schema's (for a DSL space, its exact rule's). A schema
 * with `$defs` cannot be nested (its `$ref`s point at the root) and becomes `{}`; a space not known to
 * be exact gets a `$comment` saying its runtime check may be stricter.
 */
function embeddedJsonSchema(space: SearchSpace<unknown>): JsonSchema {
  const { $schema: _, ...js } = z.toJSONSchema(space.schema, { unrepresentable: 'any' }) as JsonSchema
  if (exactSpaces.has(space)) return js
  const note = `space '${space.id}': its runtime check may be stricter than this schema`
  if ('$defs' in js) return { $comment: note }
  return { $comment: note, ...js }
}
