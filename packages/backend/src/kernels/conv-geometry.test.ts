import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { filterGradAxis, inputGradAxis } from './conv-geometry.js'

describe('inputGradAxis', () => {
  it('splits a stride-2 3-tap axis into two phases (SAME, 4 -> 2)', () => {
    expect(inputGradAxis(4, 2, 3, 2, 1, 0)).toEqual({
      rows: 2,
      dilation: 1,
      phases: [
        { r: 0, a0: 0, taps: 2, padBefore: 1, padAfter: 0 },
        { r: 1, a0: 1, taps: 1, padBefore: 0, padAfter: 0 },
      ],
    })
  })

  test.prop([fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 3 })])(
    'every filter tap lands in exactly one phase',
    (k, s, p) => {
      const { phases } = inputGradAxis(12, 6, k, s, 1, p)
      const taps = phases
        .flatMap((ph) => Array.from({ length: ph.taps }, (_, t) => ph.a0 + t * s))
        .sort((a, b) => a - b)
      expect(taps).toEqual(Array.from({ length: k }, (_, i) => i))
    },
  )

  it('asks for an upsampled dy when stride and dilation are both above 1', () => {
    expect(() => inputGradAxis(8, 4, 3, 2, 2, 1)).toThrow(RangeError)
  })
})

describe('filterGradAxis', () => {
  it('crops the rows a VALID stride-2 convolution never reads', () => {
    // 6 rows, 3 taps, stride 2: outputs read rows 0..4, row 5 is unused.
    expect(filterGradAxis(6, 2, 3, 2, 1, 0)).toEqual({ used: 5, padBefore: 0, padAfter: 0 })
  })
})
