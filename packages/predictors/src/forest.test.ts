import { fc, test } from '@fast-check/vitest'
import { Rng } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { gradientBoosting, randomForest } from './forest.js'
import { binFeatures, growTree, predictTree } from './trees.js'
import { rmse, syntheticBinary } from './testing-internal/synthetic.js'
import { toDense } from './validate.js'

describe('histogram trees', () => {
  it('bins distinct values exactly and splits a step function perfectly', () => {
    const X = toDense(
      Array.from({ length: 20 }, (_, i) => [i, i % 2]),
      'X',
    )
    const b = binFeatures(X)
    expect(b.cuts[0]).toHaveLength(19)
    expect(Array.from(b.cuts[1]!)).toEqual([0.5])
    const y = Float64Array.from({ length: 20 }, (_, i) => (i < 7 ? 1 : 5))
    const t = growTree(
      b,
      y,
      Int32Array.from({ length: 20 }, (_, i) => i),
      { maxDepth: 3, minSamplesLeaf: 1, maxFeatures: 2, lambda: 0, minGain: 1e-12 },
      new Rng(1),
    )
    expect(t.feature[0]).toBe(0)
    expect(t.threshold[0]).toBe(6.5)
    for (let i = 0; i < 20; i++) expect(predictTree(t, X, i)).toBe(y[i])
  })

  it('uses quantile cuts when a feature has more distinct values than bins', () => {
    const rng = new Rng(2)
    const X = toDense(
      Array.from({ length: 500 }, () => [rng.uniform()]),
      'X',
    )
    const b = binFeatures(X, 16)
    expect(b.cuts[0]!.length).toBeLessThanOrEqual(15)
    expect(b.cuts[0]!.length).toBeGreaterThan(10)
  })
})

describe('randomForest', () => {
  it('predicts held-out data and its uncertainty shrinks with more data', async () => {
    const test = syntheticBinary(300, 12, 9, 0)
    const small = await randomForest({ nTrees: 50 }).fit(...args(syntheticBinary(40, 12, 1)))
    const large = await randomForest({ nTrees: 50 }).fit(...args(syntheticBinary(600, 12, 1)))
    const ps = small.predict(test.X)
    const pl = large.predict(test.X)
    expect(rmse(pl.mean, test.y)).toBeLessThan(rmse(ps.mean, test.y))
    const avg = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length
    expect(avg(pl.std!)).toBeLessThan(avg(ps.std!))
  })
})

describe('gradientBoosting', () => {
  it('fits an interaction that a linear model cannot', async () => {
    const rng = new Rng(3)
    const X = Array.from({ length: 400 }, () => [
      rng.bernoulli() ? 1 : 0,
      rng.bernoulli() ? 1 : 0,
      rng.uniform(),
    ])
    const y = X.map(([a, b]) => (a !== b ? 1 : 0)) // XOR
    const fitted = await gradientBoosting({ nEstimators: 100, learningRate: 0.2 }).fit(X, y)
    const p = fitted.predict([
      [0, 0, 0.5],
      [0, 1, 0.5],
      [1, 0, 0.5],
      [1, 1, 0.5],
    ])
    expect(Array.from(p.mean, (v) => Math.round(v) + 0)).toEqual([0, 1, 1, 0])
  })
})

function args(d: { X: number[][]; y: number[] }): [number[][], number[]] {
  return [d.X, d.y]
}

describe('tree ensembles (properties)', () => {
  test.prop([fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 5, max: 60 })], { numRuns: 15 })(
    'a forest predicts within the range of its training targets',
    async (seed, n) => {
      const { X, y } = syntheticBinary(n, 5, seed)
      const f = await randomForest({ nTrees: 10 }).fit(X, y, { rng: new Rng(seed) })
      const p = f.predict(syntheticBinary(30, 5, seed + 1).X).mean
      const lo = Math.min(...y)
      const hi = Math.max(...y)
      for (const v of p) {
        expect(v).toBeGreaterThanOrEqual(lo - 1e-9)
        expect(v).toBeLessThanOrEqual(hi + 1e-9)
      }
    },
  )
})
