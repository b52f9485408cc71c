import { NasError, Rng } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { createFeaturizer } from './features.js'

describe('createFeaturizer', () => {
  const a = nb201.sample(new Rng(1))

  it('concatenates encodings and extra features', () => {
    const f = createFeaturizer(nb201, { encoding: ['onehot', 'path'], extra: () => [1.5, 2] })
    const row = f(a)
    const len = nb201.encodingLength('onehot') + nb201.encodingLength('path')
    expect(row).toHaveLength(len + 2)
    expect(Array.from(row.subarray(0, 30))).toEqual(Array.from(nb201.encode(a, 'onehot')))
    expect(Array.from(row.subarray(len))).toEqual([1.5, 2])
    expect(createFeaturizer(nb201)(a)).toHaveLength(30)
  })

  it('rejects unknown encodings and bad extra features with a NasError', () => {
    expect(() => createFeaturizer(nb201, { encoding: 'graph' as never })).toThrow(/has no 'graph' encoding/)
    const f = createFeaturizer(nb201, { extra: (x) => (x === a ? [1] : [Number.NaN]) })
    f(a)
    expect(() => f(nb201.sample(new Rng(2)))).toThrow(NasError)
    const g = createFeaturizer(nb201, { extra: (x) => (x === a ? [1] : [1, 2]) })
    g(a)
    expect(() => g(nb201.sample(new Rng(3)))).toThrow(/have 2 values; earlier architectures had 1/)
  })
})
