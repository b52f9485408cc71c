import { initBackend } from '@nasjs/backend'
import { fc, test } from '@fast-check/vitest'
import { buildModel } from '@nasjs/models'
import { nb201 } from '@nasjs/search-space'
import { beforeAll, describe, expect, it } from 'vitest'
import { examplesPerPass, splitBatch } from './common.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

describe('splitting a batch for memory', () => {
  test.prop([fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 12 })])(
    'splitBatch gives consecutive slices that put the batch back together, sizes differing by at most one',
    (n, parts) => {
      const xs = Float32Array.from({ length: n * 2 }, (_, i) => i)
      const ys = Int32Array.from({ length: n }, (_, i) => i % 3)
      const split = splitBatch({ n, shape: [2], xs, ys }, parts)
      expect(split).toHaveLength(parts <= 1 ? 1 : parts)
      expect(split.flatMap((p) => [...p.xs])).toEqual([...xs])
      expect(split.flatMap((p) => [...p.ys!])).toEqual([...ys])
      const sizes = split.map((p) => p.n)
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
    },
  )

  it('examplesPerPass shrinks with the network and grows with the budget', () => {
    const heavy = buildModel(
      nb201,
      nb201.parse(
        '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|',
      ),
      {},
    )
    const light = buildModel(
      nb201,
      nb201.parse('|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|'),
      {},
    )
    expect(examplesPerPass(heavy)).toBeLessThan(examplesPerPass(light))
    expect(examplesPerPass(heavy, 3e9)).toBeGreaterThan(examplesPerPass(heavy))
    expect(examplesPerPass(heavy, 1)).toBe(1)
    heavy.dispose()
    light.dispose()
  })
})
