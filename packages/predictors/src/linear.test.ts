import { fc, test } from '@fast-check/vitest'
import { Rng } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { bayesianLinear, ridge } from './linear.js'
import { rmse, syntheticBinary } from './testing-internal/synthetic.js'

describe('ridge', () => {
  it('recovers an exact linear function with a tiny penalty', async () => {
    const X = Array.from({ length: 40 }, (_, i) => [i % 7, (i * 3) % 5, (i * i) % 11])
    const y = X.map(([a, b, c]) => 2 * a! - 3 * b! + 0.5 * c! + 4)
    const fitted = await ridge({ alpha: 1e-8 }).fit(X, y)
    const p = fitted.predict([
      [1, 1, 1],
      [6, 0, 10],
    ])
    expect(p.mean[0]).toBeCloseTo(3.5, 5)
    expect(p.mean[1]).toBeCloseTo(21, 5)
  })

  it('chooses alpha by GCV and generalises on noisy data', async () => {
    const train = syntheticBinary(60, 20, 4, 0.3)
    const test = syntheticBinary(300, 20, 5, 0)
    const gcv = await ridge().fit(train.X, train.y)
    expect(rmse(gcv.predict(test.X).mean, test.y)).toBeLessThan(0.6)
  })

  test.prop([fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: 0.1, max: 10, noNaN: true })])(
    'is equivariant to affine changes of the targets',
    async (shift, scale) => {
      const { X, y } = syntheticBinary(30, 6, 7)
      const a = (await ridge().fit(X, y)).predict(X.slice(0, 5)).mean
      const b = (
        await ridge().fit(
          X,
          y.map((v) => v * scale + shift),
        )
      ).predict(X.slice(0, 5)).mean
      a.forEach((v, i) => expect(b[i]!).toBeCloseTo(v * scale + shift, 6))
    },
  )
})

describe('bayesianLinear', () => {
  it('estimates the noise level and is less certain away from the data', async () => {
    const rng = new Rng(8)
    const X = Array.from({ length: 400 }, () => Array.from({ length: 10 }, () => rng.normal()))
    const y = X.map((x) => x.reduce((s, v, j) => s + (j - 4) * v, 0) + rng.normal(0, 0.2))
    const fitted = await bayesianLinear().fit(X, y)
    const near = fitted.predict(X.slice(0, 50))
    const meanStd = Array.from(near.std!).reduce((s, v) => s + v, 0) / 50
    expect(meanStd).toBeGreaterThan(0.17)
    expect(meanStd).toBeLessThan(0.26)
    const far = fitted.predict([Array.from({ length: 10 }, () => 25)])
    expect(far.std![0]).toBeGreaterThan(2 * meanStd)
  })
})
