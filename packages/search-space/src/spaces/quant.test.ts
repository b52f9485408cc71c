import { Rng } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { product, space } from '../dsl/constructors.js'
import { defineSpace } from '../dsl/define.js'
import { describeSpaceConformance } from '../testing-internal/conformance.js'
import { nb201 } from './nb201.js'
import { createQuantPolicySpace, parseQuantPolicy, quantPolicy, quantPolicyDef } from './quant.js'

describeSpaceConformance(quantPolicy, { fixedDecisions: true, size: 64n ** 20n })

const joined = defineSpace('nb201-quant', product(space(nb201), quantPolicyDef(6)))
describeSpaceConformance(joined, { fixedDecisions: true, size: 15625n * 64n ** 6n })

describe('quant-policy space', () => {
  it('round-trips weights:activations text and rejects unknown formats', () => {
    const text = 'int8:int8 int4:fp16 fp8_e4m3:fp8_e5m2'
    const p = parseQuantPolicy(text, 3)
    expect(p[2]).toEqual({ weights: 'fp8_e4m3', activations: 'fp8_e5m2' })
    expect(createQuantPolicySpace(3).format(p)).toBe(text)
    expect(() => parseQuantPolicy('int8:int3 int8:int8 int8:int8', 3)).toThrow(
      /layer 0 activations format 'int3'; expected 'int2', 'int4'/,
    )
    expect(() => parseQuantPolicy('int8:int8', 3)).toThrow(/3 'weights:activations' entries, got 1/)
  })

  it('offers a chosen subset of formats', () => {
    const q = createQuantPolicySpace(3, 'q3', ['int4', 'int8'])
    expect(q.size()).toBe(4n ** 3n)
    const rng = new Rng(2)
    for (let i = 0; i < 50; i++) {
      for (const l of q.sample(rng)) {
        expect(['int4', 'int8']).toContain(l.weights)
        expect(['int4', 'int8']).toContain(l.activations)
      }
    }
    expect(q.format(q.parse('int4:int8 int8:int8 int4:int4'))).toBe('int4:int8 int8:int8 int4:int4')
    expect(() => q.parse('fp16:int8 int8:int8 int4:int4')).toThrow(/fp16/)
    expect(() => createQuantPolicySpace(2, 'x', ['int3' as never])).toThrow(/unknown format 'int3'/)
    expect(() => createQuantPolicySpace(2, 'x', [])).toThrow(/at least one format/)
    expect(() => createQuantPolicySpace(2, 'x', ['int8', 'int8'])).toThrow(/listed twice/)
  })

  it('joins with an architecture space by product', () => {
    const rng = new Rng(4)
    const [arch, policy] = joined.sample(rng)
    expect(nb201.check(arch)).toBeUndefined()
    expect(policy.length).toBe(6)
    expect(joined.encodingLength('onehot')).toBe(30 + 6 * 16)
    expect(joined.decisions.next([])).toMatchObject({ name: 'edge.0->1' })
    expect(joined.decisions.next([0, 0, 0, 0, 0, 0])).toMatchObject({ name: '[1][0].weights', size: 8 })
  })
})
