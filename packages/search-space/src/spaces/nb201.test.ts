import { fc, test } from '@fast-check/vitest'
import { Rng } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { describeSpaceConformance } from '../testing-internal/conformance.js'
import { readGzLines } from '../testing-internal/data.js'
import { formatNb201, nb201FromOrdinal, parseNb201, type Nb201Arch } from './nb201-codec.js'
import { nb201, nb201Canonical, nb201FunctionalForm, nb201HashClassCount, NB201_EDGE_NAMES } from './nb201.js'

describeSpaceConformance(nb201, { fixedDecisions: true, size: 15625n, runs: 60 })

const arch = (s: string) => parseNb201(s)
/** Swaps nodes 1 and 2 (an isomorphism when the edge 1->2 is `none`). */
const swap12 = (a: Nb201Arch): Nb201Arch => [a[1], a[0], a[2], a[3], a[5], a[4]]

describe('nb201 space', () => {
  it('enumerates the 15,625 distinct cells', () => {
    const all = [...nb201.enumerate!()]
    expect(all.length).toBe(15625)
    expect(new Set(all.map(formatNb201)).size).toBe(15625)
  })

  it('has 24 neighbours, one per single-edge change', () => {
    const a = nb201FromOrdinal(1234)
    const ns = nb201.neighbors(a)
    expect(ns.length).toBe(24)
    for (const n of ns) expect(n.filter((op, k) => op !== a[k]).length).toBe(1)
    expect(new Set(ns.map(formatNb201)).size).toBe(24)
  })

  it('names its 6 decisions by edge', () => {
    expect(NB201_EDGE_NAMES).toEqual([
      'edge.0->1',
      'edge.0->2',
      'edge.1->2',
      'edge.0->3',
      'edge.1->3',
      'edge.2->3',
    ])
    expect(nb201.decisions.next([])).toEqual({
      name: 'edge.0->1',
      size: 5,
      labels: ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'],
    })
    expect(nb201.decisions.next([0, 1, 2, 3, 4])!.name).toBe('edge.2->3')
    expect(() => nb201.decisions.build([0, 1, 2, 3, 4, 5])).toThrow(/edge.2->3 is 5; expected 0..4/)
  })

  it('canonicalises edges off every input-output path to none', () => {
    const a = arch('|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|')
    // node 1 leads nowhere, node 2 is never reached
    expect(formatNb201(nb201Canonical(a))).toBe('|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|')
    const full = arch(
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|',
    )
    expect(nb201Canonical(full)).toEqual(full)
  })

  it('gives 9,445 canonical cells, the row count of the NAS-Bench-Suite-Zero canonical tables', () => {
    const canon = new Set<string>()
    for (const a of nb201.enumerate!()) canon.add(formatNb201(nb201Canonical(a)))
    expect(canon.size).toBe(9445)
    expect(readGzLines('nb201/zc_proxies_cifar10_canonical.csv.gz').length - 1).toBe(9445)
  })

  it('gives 4,930 functional-hash classes over the 15,625 cells', () => {
    expect(nb201HashClassCount()).toBe(4930)
  })

  it('writes the functional form as an expression of the input', () => {
    expect(
      nb201FunctionalForm(arch('|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|')),
    ).toBe('c3(x)')
    expect(nb201FunctionalForm(arch('|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|'))).toBe('0')
    // a skip from a node that sums two branches passes both terms on
    expect(
      nb201FunctionalForm(
        arch('|nor_conv_1x1~0|+|skip_connect~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|'),
      ),
    ).toBe('ap(c1(x)+x)')
  })

  test.prop([fc.integer({ min: 0, max: 15624 })])('hash is invariant under swapping nodes 1 and 2', (k) => {
    const a = nb201FromOrdinal(k)
    fc.pre(a[2] === 'none')
    expect(nb201.hash(swap12(a))).toBe(nb201.hash(a))
  })

  test.prop([fc.integer({ min: 0, max: 15624 })])('hash equals the hash of the canonical form', (k) => {
    const a = nb201FromOrdinal(k)
    expect(nb201.hash(nb201Canonical(a))).toBe(nb201.hash(a))
  })

  it('separates cells that compute different functions', () => {
    const c3 = arch('|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|')
    const c1 = arch('|nor_conv_1x1~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|')
    const twice = arch('|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|')
    expect(new Set([c3, c1, twice].map((a) => nb201.hash(a))).size).toBe(3)
  })

  it('encodes one-hot, ordinal, adjacency and BANANAS paths', () => {
    const a = arch('|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|')
    const oh = nb201.encode(a, 'onehot')
    expect(oh.length).toBe(30)
    expect([...oh].reduce((x, y) => x + y, 0)).toBe(6)
    expect([...nb201.encode(a, 'ordinal')]).toEqual([3, 0, 1, 4, 0, 2])
    // paths: 0->3 (avg_pool) and 0->1->2->3 (conv3, skip, conv1); 0->2->3 and 0->1->3 are cut by none
    const path = nb201.encode(a, 'path')
    expect(path.length).toBe(84)
    expect([...path].reduce((x, y) => x + y, 0)).toBe(2)
    expect(path[3]).toBe(1) // length-1 path, op avg_pool (index 3 among the 4 non-none ops)
    expect(path[20 + 2 * 16 + 0 * 4 + 1]).toBe(1) // conv3 -> skip -> conv1
    const adj = nb201.encode(a, 'adjacency')
    expect(adj.length).toBe(nb201.encodingLength('adjacency'))
  })

  it('samples uniformly enough over the ops', () => {
    const rng = new Rng(3)
    const counts = new Array<number>(5).fill(0)
    for (let i = 0; i < 5000; i++)
      for (const op of nb201.sample(rng)) counts[nb201.decisions.decide([op, op, op, op, op, op])[0]!]!++
    for (const c of counts) expect(c).toBeGreaterThan(5400)
  })

  it('rejects JSON of the wrong shape naming the position and the allowed ops', () => {
    expect(nb201.check(['none', 'none', 'none', 'none', 'none'])?.message).toMatch(/6 edges, got 5/)
    const e = nb201.check(['none', 'none', 'conv', 'none', 'none', 'none'])!
    expect(e.path).toEqual([2])
    expect(e.allowed).toContain('nor_conv_3x3')
    expect(() => nb201.fromJSON({ space: 'nb201', arch: ['none'] })).toThrow(
      expect.objectContaining({ code: 'ARCH_INVALID' }) as Error,
    )
    const r = nb201.schema.safeParse(['none', 'none', 'conv', 'none', 'none', 'none'])
    expect(r.success).toBe(false)
    expect(r.error!.issues[0]!.path).toEqual([2])
  })
})

describe('nb201 seeded goldens', () => {
  it('samples, mutates and crosses over the same way for seed 42', () => {
    const rng = new Rng(42)
    const a = nb201.sample(rng)
    const b = nb201.sample(rng)
    const out = [a, b, nb201.mutate(a, rng), nb201.crossover(a, b, rng)].map(formatNb201)
    expect(out).toMatchInlineSnapshot(`
      [
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|avg_pool_3x3~2|",
        "|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|",
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|avg_pool_3x3~2|",
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_1x1~2|",
      ]
    `)
  })
})
