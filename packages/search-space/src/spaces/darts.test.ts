import { fc, test } from '@fast-check/vitest'
import { Rng } from '@nasjs/core'
import { thrown } from '../testing-internal/thrown.js'
import { describe, expect, it } from 'vitest'
import { describeSpaceConformance } from '../testing-internal/conformance.js'
import { darts, parseDartsGenotype, type DartsArch, type DartsCell } from './darts.js'

describeSpaceConformance(darts, { fixedDecisions: true, size: (180n * 7n ** 8n) ** 2n, runs: 30 })

// DARTS-V2 as printed in the DARTS repository (genotypes.py)
const DARTS_V2 =
  "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"

/** Relabels the intermediate nodes 2..5 by `perm` (new node 2+k is old node 2+perm[k]); undefined if not topological. */
function relabelCell(c: DartsCell, perm: number[]): DartsCell | undefined {
  const newOf = (old: number) => (old < 2 ? old : 2 + perm.indexOf(old - 2))
  const out: DartsCell = []
  for (let k = 0; k < 4; k++) {
    const node = c[perm[k]!]!
    const edges = node.inputs.map((i, j) => [newOf(i), node.ops[j]!] as const)
    if (edges.some(([i]) => i >= 2 + k)) return undefined
    const sorted = [...edges].sort((x, y) => x[0] - y[0])
    out.push({ inputs: sorted.map((e) => e[0]), ops: sorted.map((e) => e[1]) })
  }
  return out
}

const perms = (m: number): number[][] =>
  m === 0
    ? [[]]
    : perms(m - 1).flatMap((p) =>
        Array.from({ length: m }, (_, i) => [...p.slice(0, i), m - 1, ...p.slice(i)]),
      )

describe('darts space', () => {
  it('parses DARTS-V2 and formats it with each node`s pairs in input order', () => {
    const a = darts.parse(DARTS_V2)
    expect(a.normal[1]).toEqual({ inputs: [0, 1], ops: ['sep_conv_3x3', 'sep_conv_3x3'] })
    expect(a.normal[2]).toEqual({ inputs: [0, 1], ops: ['skip_connect', 'sep_conv_3x3'] })
    const text = darts.format(a)
    expect(text).toBe(
      "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('skip_connect', 2), ('max_pool_3x3', 1), ('skip_connect', 2)], reduce_concat=[2, 3, 4, 5])",
    )
    expect(darts.format(darts.parse(text))).toBe(text)
    expect(parseDartsGenotype(text.replace(/\[2, 3, 4, 5\]/g, 'range(2, 6)'))).toEqual(a)
  })

  it('rejects an input index out of range, naming the position and the allowed inputs', () => {
    const bad = DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 7)")
    const err = thrown(() => darts.parse(bad))
    expect(err.code).toBe('ARCH_INVALID')
    expect(err.message).toContain('normal[7] (node 5): input 7 is out of range')
    expect(err.allowed).toEqual([0, 1, 2, 3, 4])
    expect(err.path).toEqual(['normal', 7, 1])
  })

  it('rejects unknown ops, `none`, repeated inputs, bad concat and missing cells', () => {
    expect(() => darts.parse(DARTS_V2.replace("('dil_conv_3x3', 2)", "('none', 2)"))).toThrow(
      /unknown op 'none'; expected 'max_pool_3x3'/,
    )
    expect(() => darts.parse(DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 0)"))).toThrow(
      /takes input 0 twice/,
    )
    expect(() => darts.parse(DARTS_V2.replace('normal_concat=[2, 3, 4, 5]', 'normal_concat=[4, 5]'))).toThrow(
      /normal_concat/,
    )
    expect(() => darts.parse('Genotype(normal=[])')).toThrow(/normal=\[...\] and reduce=\[...\]/)
    expect(() => darts.parse(DARTS_V2.replace(", ('dil_conv_3x3', 2)", ''))).toThrow(
      /7 \(op, input\) pairs; expected 8/,
    )
  })

  test.prop([fc.integer({ min: 0, max: 2 ** 31 - 1 })], { numRuns: 40 })(
    'hash is invariant under relabelling the intermediate nodes',
    (s) => {
      const a = darts.sample(new Rng(s))
      const h = darts.hash(a)
      for (const p of perms(4)) {
        const normal = relabelCell(a.normal, p)
        const reduce = relabelCell(a.reduce, p)
        if (normal) expect(darts.hash({ normal, reduce: a.reduce })).toBe(h)
        if (reduce) expect(darts.hash({ normal: a.normal, reduce })).toBe(h)
      }
    },
  )

  it('separates different genotypes and treats skip_connect as identity only in the normal cell', () => {
    const a = darts.parse(DARTS_V2)
    const b: DartsArch = {
      ...a,
      reduce: a.reduce.map((n, k) => (k === 0 ? { ...n, ops: ['avg_pool_3x3', n.ops[1]!] } : n)),
    }
    expect(darts.hash(b)).not.toBe(darts.hash(a))
    expect(darts.hash({ normal: a.reduce, reduce: a.normal })).not.toBe(darts.hash(a))
  })

  it('has 14 input-set or op decisions per node pair and names them by cell and node', () => {
    expect(darts.decisions.next([])).toMatchObject({ name: 'normal[0].ops[0]', size: 7 })
    expect(darts.decisions.next([0, 0])).toMatchObject({
      name: 'normal[1].inputs',
      size: 3,
      labels: ['0,1', '0,2', '1,2'],
    })
    expect(darts.decisions.decide(darts.sample(new Rng(1))).length).toBe(2 * (8 + 3))
  })
})
