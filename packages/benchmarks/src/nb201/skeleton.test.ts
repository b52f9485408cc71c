import { fc, test } from '@fast-check/vitest'
import { NB201_OPS, parseNb201, type Nb201Arch } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'

import { nb201Cost, nb201CostCounts } from './skeleton.js'

const arch = fc.tuple(
  ...Array.from({ length: 6 }, () => fc.constantFrom(...NB201_OPS)),
) as unknown as fc.Arbitrary<Nb201Arch>

describe('analytic NB201 cost', () => {
  it('matches the official record of index 0 on every dataset', () => {
    const a = parseNb201(
      '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|',
    )
    expect(nb201CostCounts(a, 'cifar10')).toEqual({ params: 129306, flops: 15647370 })
    expect(nb201Cost(a, 'cifar100')).toEqual({ params: 0.135156, flops: 15.65322 })
    expect(nb201Cost(a, 'imagenet16-120')).toEqual({ params: 0.136456, flops: 3.91948 })
  })

  test.prop([
    arch,
    fc.integer({ min: 0, max: 5 }),
    fc.constantFrom('nor_conv_1x1' as const, 'nor_conv_3x3' as const),
  ])(
    'only convolutions cost, and swapping a parameter-free op for a conv adds exactly its cost',
    (a, edge, conv) => {
      const free = [...a] as Nb201Arch[number][]
      free[edge] = 'skip_connect'
      const withConv = [...free]
      withConv[edge] = conv
      const k = conv === 'nor_conv_1x1' ? 1 : 9
      const d = nb201CostCounts(withConv as unknown as Nb201Arch, 'cifar10')
      const b = nb201CostCounts(free as unknown as Nb201Arch, 'cifar10')
      // 5 cells in each of the 16/32/64-channel stages at 32/16/8 pixels
      expect(d.params - b.params).toBe(5 * [16, 32, 64].reduce((s, c) => s + k * c * c + 2 * c, 0))
      expect(d.flops - b.flops).toBe(5 * [16, 32, 64].reduce((s, c, i) => s + (32 >> i) ** 2 * k * c * c, 0))
      for (const op of ['none', 'avg_pool_3x3'] as const) {
        const other = [...free]
        other[edge] = op
        expect(nb201CostCounts(other as unknown as Nb201Arch, 'cifar10')).toEqual(b)
      }
    },
  )
})
