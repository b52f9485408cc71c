import { fc, test } from '@fast-check/vitest'
import { NasError, Rng } from '@nasjs/core'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { cell, choice, conditional, intRange, ordinal, product, repeat, struct } from './constructors.js'
import { defineSpace, spaceJsonSchema } from './define.js'
import { describeSpaceConformance } from '../testing-internal/conformance.js'

const mlp = defineSpace(
  'mlp',
  struct({
    layers: repeat(struct({ units: ordinal([64, 128, 256]), act: choice(['relu', 'gelu']) }), 1, 3),
    dropout: choice([0, 0.1, 0.3]),
  }),
)

const tree = defineSpace(
  'tree',
  struct({
    block: conditional({
      conv: struct({ kernel: ordinal([3, 5]), groups: intRange(1, 4) }),
      pool: choice(['max', 'avg']),
      id: choice(['identity']),
    }),
    width: intRange(8, 32, 8),
    pair: product(choice([true, false]), ordinal(['s', 'm', 'l'])),
  }),
)

const dag = defineSpace(
  'dag',
  struct({
    edgeCell: cell({
      inputs: 1,
      nodes: 3,
      ops: ['a', 'b', 'id', 'zero'],
      identity: 'id',
      zero: 'zero',
      output: 'last',
    }),
    nodeCell: cell({ inputs: 2, nodes: 2, inputsPerNode: 1, ops: ['x', 'y'], opsOn: 'node' }),
  }),
)

describeSpaceConformance(mlp, { size: 3n * (6n + 36n + 216n) })
describeSpaceConformance(tree, { size: (2n * 4n + 2n + 1n) * 4n * 6n })
describeSpaceConformance(dag, { size: 4n ** 6n * (2n * 2n) * (3n * 2n) })

describe('DSL size and enumerate', () => {
  for (const s of [mlp, tree, dag]) {
    it(`${s.id}: enumerate() yields size() distinct valid architectures`, () => {
      const all = [...s.enumerate!()]
      expect(BigInt(all.length)).toBe(s.size())
      expect(new Set(all.map((a) => JSON.stringify(a))).size).toBe(all.length)
      for (const a of all.slice(0, 500)) expect(s.check(a)).toBeUndefined()
    })
  }

  it('the decision tree reaches exactly the enumerated architectures', () => {
    const seen = new Set<string>()
    const rec = (prefix: number[]) => {
      const d = tree.decisions.next(prefix)
      if (d === undefined) {
        seen.add(JSON.stringify(tree.decisions.build(prefix)))
        return
      }
      for (let k = 0; k < d.size; k++) rec([...prefix, k])
    }
    rec([])
    expect(BigInt(seen.size)).toBe(tree.size())
  })

  it('omits enumerate for spaces above the limit', () => {
    const big = defineSpace('big', product(intRange(0, 999), intRange(0, 999), intRange(0, 9)))
    expect('enumerate' in big).toBe(false)
    expect(big.size()).toBe(10_000_000n)
  })
})

describe('DSL semantics', () => {
  it('conditional values are { option, value } and the next decision depends on the option', () => {
    expect(tree.decisions.next([])).toMatchObject({ name: 'block.option', labels: ['conv', 'pool', 'id'] })
    expect(tree.decisions.next([0])).toMatchObject({ name: 'block.value.kernel' })
    expect(tree.decisions.next([1])).toMatchObject({ name: 'block.value', size: 2 })
    // the single-option choice is no decision at all
    expect(tree.decisions.next([2])).toMatchObject({ name: 'width', size: 4 })
    expect(tree.decisions.build([2, 1, 0, 2])).toEqual({
      block: { option: 'id', value: 'identity' },
      width: 16,
      pair: [true, 'l'],
    })
  })

  test.prop([fc.integer({ min: 0, max: 2 ** 31 - 1 })])('neighbors of ordinal values move one step', (s) => {
    const a = mlp.sample(new Rng(s))
    for (const n of mlp.neighbors(a)) {
      if (n.layers.length !== a.layers.length || n.dropout !== a.dropout) continue
      const diffs = n.layers.flatMap((l, i) => {
        const o = a.layers[i]!
        const out: number[] = []
        if (l.units !== o.units) out.push(Math.abs(Math.log2(l.units / o.units)))
        if (l.act !== o.act) out.push(0)
        return out
      })
      expect(diffs.length).toBe(1)
      expect(diffs[0]! <= 1).toBe(true)
    }
  })

  it('the cell hash knows identity and zero ops and ignores node order where the graph allows', () => {
    const h = (edgeCell: unknown) =>
      dag.hash({
        edgeCell,
        nodeCell: [
          { inputs: [0], op: 'x' },
          { inputs: [1], op: 'y' },
        ],
      } as never)
    const base = [
      { inputs: [0], ops: ['a'] },
      { inputs: [0, 1], ops: ['zero', 'id'] },
      { inputs: [0, 1, 2], ops: ['zero', 'zero', 'b'] },
    ]
    // node 2 = id(node 1) = a(x); output = b(a(x)); the same as b applied straight to node 1
    const direct = [
      { inputs: [0], ops: ['a'] },
      { inputs: [0, 1], ops: ['zero', 'zero'] },
      { inputs: [0, 1, 2], ops: ['zero', 'b', 'zero'] },
    ]
    expect(h(direct)).toBe(h(base))
    const other = [
      { inputs: [0], ops: ['b'] },
      { inputs: [0, 1], ops: ['zero', 'id'] },
      { inputs: [0, 1, 2], ops: ['zero', 'zero', 'b'] },
    ]
    expect(h(other)).not.toBe(h(base))
  })

  it('validation errors name the path, the bad value and the allowed values', () => {
    const e = mlp.check({
      layers: [
        { units: 64, act: 'relu' },
        { units: 100, act: 'relu' },
      ],
      dropout: 0,
    })!
    expect(e.path).toEqual(['layers', 1, 'units'])
    expect(e.value).toBe(100)
    expect(e.allowed).toEqual([64, 128, 256])
    expect(e.message).toBe('layers[1].units: got 100; expected 64, 128 or 256')
    expect(mlp.check({ layers: [], dropout: 0 })?.message).toMatch(/0 items; expected 1..3/)
    expect(mlp.check({ layers: [{ units: 64, act: 'relu' }], dropout: 0, extra: 1 })?.path).toEqual(['extra'])
    expect(mlp.check({ layers: [{ units: 64, act: 'relu' }] })?.message).toMatch(/dropout: missing field/)
    expect(tree.check({ block: { option: 'fc', value: 1 }, width: 8, pair: [true, 's'] })?.allowed).toEqual([
      'conv',
      'pool',
      'id',
    ])
    expect(
      tree.check({ block: { option: 'pool', value: 'max' }, width: 9, pair: [true, 's'] })?.message,
    ).toMatch(/width: got 9; expected 8, 16, 24 or 32/)
    const r = mlp.schema.safeParse({ layers: [{ units: 100, act: 'relu' }], dropout: 0 })
    expect(r.success).toBe(false)
    expect(r.error!.issues[0]!.path).toEqual(['layers', 0, 'units'])
    expect(() => mlp.validate({ layers: [{ units: 100, act: 'relu' }], dropout: 0 })).toThrow(
      /not an architecture of space 'mlp': layers\[0\].units: got 100/,
    )
  })

  it('cells check their input ranges', () => {
    const good = dag.sample(new Rng(1))
    const bad = { ...good, nodeCell: [{ inputs: [5], op: 'x' }, good.nodeCell[1]] }
    const e = dag.check(bad)!
    expect(e.path).toEqual(['nodeCell', 0, 'inputs', 0])
    expect(e.allowed).toEqual([0, 1])
  })

  it('bad definitions are CONFIG_INVALID errors', () => {
    expect(() => choice([])).toThrow(NasError)
    expect(() => choice(['a', 'a'])).toThrow(/repeat/)
    expect(() => intRange(0, 10, 3)).toThrow(/multiple of step/)
    // options must be JSON values, so that the JSON Schema's enum can hold them
    expect(() => choice([1, Number.NaN])).toThrow(/strings, booleans or finite numbers/)
    expect(() => ordinal([{} as never])).toThrow(/ordinal values are strings/)
    expect(() => repeat(choice(['a']), 3, 2)).toThrow(/min <= max/)
    expect(() => cell({ inputs: 1, nodes: 2, inputsPerNode: 2, ops: ['a'] })).toThrow(/inputsPerNode/)
    expect(() => cell({ inputs: 1, nodes: 2, ops: ['a'], identity: 'b' as 'a' })).toThrow(/identity op 'b'/)
    expect(() => defineSpace('', choice(['a']))).toThrow(/non-empty id/)
  })

  it('exports a JSON Schema', () => {
    expect(spaceJsonSchema(mlp)).toMatchInlineSnapshot(`
      {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "additionalProperties": false,
        "properties": {
          "dropout": {
            "enum": [
              0,
              0.1,
              0.3,
            ],
            "type": "number",
          },
          "layers": {
            "items": {
              "additionalProperties": false,
              "properties": {
                "act": {
                  "enum": [
                    "relu",
                    "gelu",
                  ],
                  "type": "string",
                },
                "units": {
                  "enum": [
                    64,
                    128,
                    256,
                  ],
                  "type": "number",
                },
              },
              "required": [
                "units",
                "act",
              ],
              "type": "object",
            },
            "maxItems": 3,
            "minItems": 1,
            "type": "array",
          },
        },
        "required": [
          "layers",
          "dropout",
        ],
        "type": "object",
      }
    `)
    expect(mlp.jsonSchema()).toEqual(spaceJsonSchema(mlp))
  })

  it('encodes inactive parts as zeros (one-hot) and -1 (ordinal)', () => {
    const a = mlp.validate({ layers: [{ units: 128, act: 'gelu' }], dropout: 0.1 })
    expect([...mlp.encode(a, 'ordinal')]).toEqual([0, 1, 1, -1, -1, -1, -1, 1])
    const oh = mlp.encode(a, 'onehot')
    expect(oh.length).toBe(3 + 3 * 5 + 3)
    expect([...oh]).toEqual([1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
  })
})

describe('DSL seeded goldens', () => {
  it('samples and mutates the same way for seed 42', () => {
    const rng = new Rng(42)
    const a = tree.sample(rng)
    const b = tree.mutate(a, rng)
    const c = tree.crossover(a, tree.sample(rng), rng)
    expect([a, b, c].map((x) => tree.format(x))).toMatchInlineSnapshot(`
      [
        "{"block":{"option":"conv","value":{"kernel":5,"groups":3}},"width":24,"pair":[true,"s"]}",
        "{"block":{"option":"conv","value":{"kernel":5,"groups":3}},"width":24,"pair":[false,"s"]}",
        "{"block":{"option":"pool","value":"max"},"width":24,"pair":[true,"m"]}",
      ]
    `)
  })
})

describe('DSL types', () => {
  it('infers the architecture type from the definition', () => {
    const a = mlp.sample(new Rng(0))
    expectTypeOf(a).toEqualTypeOf<{
      layers: { units: 64 | 128 | 256; act: 'relu' | 'gelu' }[]
      dropout: 0 | 0.1 | 0.3
    }>()
    expectTypeOf(tree.sample(new Rng(0)).block).toEqualTypeOf<
      | { option: 'conv'; value: { kernel: 3 | 5; groups: number } }
      | { option: 'pool'; value: 'max' | 'avg' }
      | { option: 'id'; value: 'identity' }
    >()
    expectTypeOf(tree.sample(new Rng(0)).pair).toEqualTypeOf<[boolean, 's' | 'm' | 'l']>()
    expect(a.layers.length).toBeGreaterThan(0)
  })
})
