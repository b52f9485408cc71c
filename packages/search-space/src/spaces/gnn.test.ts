import { describe, expect, it } from 'vitest'
import { describeSpaceConformance } from '../testing-internal/conformance.js'
import { gnn, parseGnn } from './gnn.js'

describeSpaceConformance(gnn, { fixedDecisions: true, size: (7n * 4n * 8n * 6n * 7n) ** 2n })

describe('gnn space', () => {
  it('round-trips the GraphNAS-style list form', () => {
    const text = '[gat, sum, relu, 8, 64, gcn, mean, elu, 1, 16]'
    const a = parseGnn(text)
    expect(a[0]).toEqual({ attention: 'gat', aggregator: 'sum', activation: 'relu', heads: 8, hidden: 64 })
    expect(gnn.format(a)).toBe(text)
    expect(parseGnn("['gat', 'sum', 'relu', 8, 64, 'gcn', 'mean', 'elu', 1, 16]")).toEqual(a)
  })

  it('rejects bad entries naming the layer, the field and the allowed values', () => {
    expect(() => parseGnn('[gat, sum, relu, 3, 64, gcn, mean, elu, 1, 16]')).toThrow(
      /GNN layer 0 heads is '3'; expected 1, 2, 4, 6, 8 or 16/,
    )
    expect(() => parseGnn('[gat, sum]')).toThrow(/10 entries/)
  })
})
