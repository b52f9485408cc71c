import { fc, test } from '@fast-check/vitest'
import { Rng } from '@nasjs/core'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { builtinSpaces } from '../builtins.js'
import { nb101 } from '../spaces/nb101.js'
import { nb201 } from '../spaces/nb201.js'
import { arbitraryCellDef, arbitraryDef, candidates, corrupt } from '../testing-internal/dsl-arbitraries.js'
import type { SearchSpace } from '../types.js'
import { cell, choice, conditional, intRange, product, repeat, space, struct } from './constructors.js'
import { defineSpace, defineSpaceAs, spaceJsonSchema, type DslSpace } from './define.js'

// An independent validator of the exported JSON Schema. `strict: true` also rejects schemas with
// unknown keywords or loose tuples, so every schema below is a clean draft 2020-12 schema.
const ajv = new Ajv2020({ strict: true })
const accepts = (s: SearchSpace<unknown>) => {
  const validate = ajv.compile(spaceJsonSchema(s))
  return (x: unknown) => validate(x)
}

const isDsl = (s: SearchSpace<unknown>): s is DslSpace<unknown> => 'def' in s && 'jsonSchema' in s
const dslBuiltins = builtinSpaces.filter(isDsl)

/** JSON Schema, runtime check and zod schema agree on `x` (on failure, says what each said). */
function expectAgreement(s: SearchSpace<unknown>, json: (x: unknown) => boolean, x: unknown): boolean {
  const runtime = s.check(x)
  const verdict = { json: json(x), runtime: runtime === undefined, zod: s.schema.safeParse(x).success }
  expect(verdict, `${s.id}: ${JSON.stringify(x)}; runtime says ${runtime?.message ?? 'valid'}`).toEqual({
    json: verdict.runtime,
    runtime: verdict.runtime,
    zod: verdict.runtime,
  })
  return verdict.runtime
}

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 })

// The claim under test: for DSL spaces (no embedded non-DSL `space(...)`), the exported JSON Schema
// accepts exactly what the runtime check accepts. Inputs are JSON values (JSON Schema says nothing
// about `undefined`, `NaN` or class instances): valid architectures, corrupted copies of them
// (off-grid or fractional numbers, other strings and options, wrong types, items dropped, repeated or
// swapped, fields missing, extra or renamed) and arbitrary JSON.
describe('the JSON Schema accepts exactly what the runtime check accepts', () => {
  it('covers every DSL-defined built-in space', () => {
    expect(dslBuiltins.map((s) => s.id)).toEqual([
      'darts',
      'ofa-mbv3',
      'fbnet',
      'transformer',
      'vit',
      'gnn',
      'quant-policy',
    ])
  })

  for (const s of dslBuiltins) {
    const json = accepts(s)
    // 100 runs x (6 valid + 12 corrupted + 1 arbitrary) = 1,900 inputs per space
    test.prop([seed, fc.jsonValue({ maxDepth: 3 })], { numRuns: 100 })(
      `${s.id}: on valid, corrupted and arbitrary JSON`,
      (sd, other) => {
        for (const x of candidates(s, new Rng(sd))) expectAgreement(s, json, x)
        expectAgreement(s, json, other)
      },
    )
  }

  // 300 random definitions x (up to 6 valid + 12 corrupted + 1 arbitrary) inputs each
  test.prop([arbitraryDef(), seed, fc.jsonValue({ maxDepth: 2 })], { numRuns: 300 })(
    'random DSL definitions: on valid, corrupted and arbitrary JSON',
    (def, sd, other) => {
      const s = defineSpaceAs<unknown>('random', def)
      expect(JSON.stringify(s.jsonSchema())).not.toContain('$comment')
      const json = accepts(s)
      for (const x of candidates(s, new Rng(sd))) expectAgreement(s, json, x)
      expectAgreement(s, json, other)
    },
  )

  // large cells alone, with more corruptions each: their input lists are where the order rule
  // applies (60 cells x (up to 6 valid + 50 corrupted + 1 arbitrary) inputs; compiling their
  // schemas is what takes the time)
  test.prop([arbitraryCellDef(true), seed, fc.jsonValue({ maxDepth: 2 })], { numRuns: 60 })(
    'random large cells: on valid, corrupted and arbitrary JSON',
    (def, sd, other) => {
      const s = defineSpaceAs<unknown>('random-cell', def)
      const json = accepts(s)
      for (const x of candidates(s, new Rng(sd), 50)) expectAgreement(s, json, x)
      expectAgreement(s, json, other)
    },
  )

  it('the corrupted inputs are mostly, but not all, invalid (the test is not vacuous)', () => {
    let valid = 0
    let total = 0
    for (const s of dslBuiltins) {
      const rng = new Rng(1)
      for (let i = 0; i < 200; i++, total++) if (s.check(corrupt(s.sample(rng), rng)) === undefined) valid++
    }
    expect(valid / total).toBeGreaterThan(0.01)
    expect(valid / total).toBeLessThan(0.3)
  })
})

describe('JSON Schema details', () => {
  it('keeps integer ranges on their grid', () => {
    const onZero = defineSpace('k', struct({ k: intRange(0, 8, 2) }))
    expect(onZero.jsonSchema().properties).toEqual({
      k: { type: 'integer', minimum: 0, maximum: 8, multipleOf: 2 },
    })
    // multipleOf counts from 0: a grid 1, 3, 5, ... is listed
    const offZero = defineSpace('k', struct({ k: intRange(1, 9, 2) }))
    expect(offZero.jsonSchema().properties).toEqual({ k: { type: 'integer', enum: [1, 3, 5, 7, 9] } })
    const json = accepts(offZero)
    expect([json({ k: 2 }), json({ k: 3 }), json({ k: 11 })]).toEqual([false, true, false])
    expect(offZero.check({ k: 2 })?.message).toBe('k: got 2; expected 1, 3, 5, 7 or 9')
  })

  it('fixes the length and order of cell inputs and the number of ops', () => {
    const s = defineSpace('c', cell({ inputs: 2, nodes: 2, inputsPerNode: 2, ops: ['a', 'b'] }))
    const json = accepts(s)
    const good = [
      { inputs: [0, 1], ops: ['a', 'b'] },
      { inputs: [0, 2], ops: ['b', 'b'] },
    ]
    expect(json(good)).toBe(true)
    for (const bad of [
      [good[0], { inputs: [2, 0], ops: ['b', 'b'] }], // out of order
      [good[0], { inputs: [1, 1], ops: ['b', 'b'] }], // repeated
      [good[0], { inputs: [0, 1, 2], ops: ['b', 'b'] }], // too many
      [good[0], { inputs: [0, 2], ops: ['b'] }], // one op short
      [good[0]], // one node short
    ]) {
      expect([json(bad), s.check(bad) === undefined]).toEqual([false, false])
    }
    expect(s.check([good[0], { inputs: [2, 0], ops: ['b', 'b'] }])?.message).toBe(
      '[1].inputs[1]: inputs of node 1 must be distinct and increasing, got [2,0]',
    )
  })

  it('writes many possible input lists as an order rule instead of listing them', () => {
    const s = defineSpace('c', cell({ inputs: 4, nodes: 6, inputsPerNode: 4, ops: ['a'] }))
    const last = (s.jsonSchema() as { prefixItems: { properties: { inputs: object } }[] }).prefixItems[5]!
    expect(last.properties.inputs).toMatchObject({ type: 'array', minItems: 4, maxItems: 4 })
    expect(last.properties.inputs).not.toHaveProperty('enum') // C(9, 4) = 126 lists
    const json = accepts(s)
    const base = s.sample(new Rng(3))
    for (const inputs of [
      [0, 3, 5, 8],
      [0, 3, 3, 8],
      [0, 5, 3, 8],
      [0, 3, 8, 8], // the largest input, repeated
      [0, 3, 8, 5],
      [1, 2, 3, 9],
    ]) {
      const x = [...base.slice(0, 5), { inputs, ops: ['a', 'a', 'a', 'a'] }]
      expectAgreement(s, json, x)
    }
  })

  it('is what zod exports for the space schema, and a fresh copy each time', () => {
    for (const s of dslBuiltins) {
      expect(z.toJSONSchema(s.schema, { unrepresentable: 'any' })).toEqual(s.jsonSchema())
    }
    const a = spaceJsonSchema(dslBuiltins[0]!)
    a.properties = {}
    expect(spaceJsonSchema(dslBuiltins[0]!).properties).not.toEqual({})
  })

  it('tags conditionals by option', () => {
    const s = defineSpace('t', conditional({ x: choice(['p']), y: repeat(choice([1, 2]), 0, 1) }))
    const json = accepts(s)
    expect(json({ option: 'x', value: 'p' })).toBe(true)
    expect(json({ option: 'y', value: 'p' })).toBe(false)
    expect(json({ option: 'y', value: [2] })).toBe(true)
    expect(json({ option: 'y' })).toBe(false)
  })

  // Where JSON Schema must stay looser: an embedded space that is not a DSL space contributes its own
  // zod schema's JSON Schema, marked by a `$comment`. NB101's check also requires every vertex on an
  // input-to-output path and at most 9 edges, which JSON Schema cannot express.
  it('marks embedded non-DSL spaces, whose own runtime check may be stricter', () => {
    const joint = defineSpace('joint', product(space(nb101), space(nb201), choice(['int8', 'fp16'])))
    const parts = (joint.jsonSchema() as { prefixItems: Record<string, unknown>[] }).prefixItems
    expect(parts[0]!.$comment).toBe("space 'nb101': its runtime check may be stricter than this schema")
    expect(parts[2]).not.toHaveProperty('$comment')
    const disconnected = {
      matrix: [
        [0, 0, 0],
        [0, 0, 1],
        [0, 0, 0],
      ],
      ops: ['input', 'conv3x3-bn-relu', 'output'],
    }
    const x = [disconnected, nb201.sample(new Rng(1)), 'int8']
    expect(accepts(joint)(x)).toBe(true)
    expect(joint.check(x)?.path).toEqual([0, 'matrix'])
    // an embedded DSL space stays exact
    const inner = defineSpace('inner', struct({ k: intRange(1, 9, 2) }))
    expect(JSON.stringify(defineSpace('outer', product(space(inner))).jsonSchema())).not.toContain('$comment')
  })
})
