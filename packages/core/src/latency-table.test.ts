import { fc } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { NasError } from './errors.js'
import {
  LATENCY_TABLE_FORMAT,
  parseLatencyTable,
  predictFromTable,
  type LatencyTable,
} from './latency-table.js'

const table = (entries: Record<string, number>, overhead = 1.5): LatencyTable =>
  parseLatencyTable({
    format: LATENCY_TABLE_FORMAT,
    version: 1,
    space: 'nb201',
    source: 'measured',
    device: { name: 'tfjs-wasm', backend: 'wasm' },
    versions: { '@tensorflow/tfjs-core': '4.22.0' },
    setting: { batch: 1, inputShape: [32, 32, 3] },
    unit: 'ms',
    overhead,
    entries: Object.fromEntries(Object.entries(entries).map(([k, ms]) => [k, { ms }])),
  })

describe('latency tables', () => {
  it('predicts the overhead plus count times entry of every block', () => {
    const t = table({ stem: 0.25, 'stage0:nor_conv_3x3': 0.5 })
    expect(predictFromTable(t, [])).toBe(1.5)
    expect(
      predictFromTable(t, [
        { key: 'stem', count: 1 },
        { key: 'stage0:nor_conv_3x3', count: 10 },
      ]),
    ).toBeCloseTo(1.5 + 0.25 + 5, 12)
  })

  it('is additive: the prediction of two block lists joined is the sum of both minus one overhead', () => {
    const keys = ['a', 'b', 'c', 'd']
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { minLength: 4, maxLength: 4 }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.array(fc.record({ key: fc.constantFrom(...keys), count: fc.nat(20) }), { maxLength: 8 }),
        fc.array(fc.record({ key: fc.constantFrom(...keys), count: fc.nat(20) }), { maxLength: 8 }),
        (ms, overhead, x, y) => {
          const t = table(Object.fromEntries(keys.map((k, i) => [k, ms[i]!])), overhead)
          const joined = predictFromTable(t, [...x, ...y])
          const apart = predictFromTable(t, x) + predictFromTable(t, y) - overhead
          expect(joined).toBeCloseTo(apart, 9)
        },
      ),
    )
  })

  it('applies the fitted scale to the sum of the entries, not to the overhead', () => {
    const t = { ...table({ stem: 0.25, conv: 0.5 }), scale: 1.1 }
    expect(
      predictFromTable(t, [
        { key: 'stem', count: 1 },
        { key: 'conv', count: 2 },
      ]),
    ).toBeCloseTo(1.5 + 1.1 * 1.25, 12)
    expect(() => parseLatencyTable({ ...t, scale: 0 })).toThrow(/scale/)
  })

  it('names a block it has no entry for', () => {
    const t = table({ stem: 0.25 })
    expect(() => predictFromTable(t, [{ key: 'stage2:avg_pool_3x3', count: 1 }])).toThrow(
      expect.objectContaining({ code: 'METRIC_MISSING', value: 'stage2:avg_pool_3x3' }) as Error,
    )
  })

  it('refuses another format version and a malformed table with one DATA_CORRUPT error each', () => {
    const good = table({ stem: 1 })
    expect(() => parseLatencyTable({ ...good, version: 2 }, 'lut.json')).toThrow(/lut.json is version 2/)
    const noUnit = { ...good } as Record<string, unknown>
    delete noUnit['unit']
    expect(() => parseLatencyTable(noUnit)).toThrow(NasError)
    expect(() => parseLatencyTable(noUnit)).toThrow(/unit/)
    expect(() => parseLatencyTable({ ...good, entries: { stem: { ms: 'fast' } } })).toThrow(
      /entries\.stem\.ms/,
    )
    expect(() => parseLatencyTable(null)).toThrow(expect.objectContaining({ code: 'DATA_CORRUPT' }) as Error)
  })
})
