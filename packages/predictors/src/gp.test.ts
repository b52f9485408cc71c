import { Rng } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { gaussianProcess } from './gp.js'
import { rmse, synthetic1d, syntheticBinary, tau } from './testing-internal/synthetic.js'

describe('gaussianProcess', () => {
  it.each(['rbf', 'matern52'] as const)(
    'interpolates a smooth function (%s) with calibrated uncertainty',
    async (kernel) => {
      const train = synthetic1d(30, 1)
      const test = synthetic1d(100, 2)
      const fitted = await gaussianProcess({ kernel }).fit(train.X, train.y)
      const p = fitted.predict(test.X)
      expect(rmse(p.mean, test.y)).toBeLessThan(0.05)
      // the noise variance was learned small and the std is small inside the data, large outside
      expect(Math.max(...p.std!)).toBeLessThan(0.1)
      const out = fitted.predict([[3]])
      expect(out.std![0]).toBeGreaterThan(0.5)
      const h = (fitted as unknown as { hyperparameters: { noiseVariance: number } }).hyperparameters
      expect(h.noiseVariance).toBeLessThan(0.01)
    },
  )

  it('learns per-feature length scales with ARD (irrelevant features get long ones)', async () => {
    const rng = new Rng(5)
    const X = Array.from({ length: 60 }, () => [rng.uniform(), rng.uniform(), rng.uniform()])
    const y = X.map(([a]) => Math.sin(5 * a!))
    const fitted = await gaussianProcess({ ard: true, kernel: 'rbf' }).fit(X, y)
    const { lengthScales } = (fitted as unknown as { hyperparameters: { lengthScales: number[] } })
      .hyperparameters
    expect(lengthScales[1]!).toBeGreaterThan(5 * lengthScales[0]!)
    expect(lengthScales[2]!).toBeGreaterThan(5 * lengthScales[0]!)
  })

  it('fits more points than optimizeSubset (hyperparameters on a subset, posterior on all)', async () => {
    const train = syntheticBinary(150, 10, 3, 0.05)
    const test = syntheticBinary(200, 10, 4, 0)
    const fitted = await gaussianProcess({ optimizeSubset: 50, restarts: 1 }).fit(train.X, train.y)
    expect(tau(fitted.predict(test.X).mean, test.y)).toBeGreaterThan(0.8)
  })
})
