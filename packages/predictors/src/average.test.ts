import { fc, test } from '@fast-check/vitest'
import { NasError, Rng } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { averagePredictor } from './average.js'
import { gradientBoosting, randomForest } from './forest.js'
import { ridge } from './linear.js'
import { createPredictor } from './registry.js'
import { syntheticBinary } from './testing-internal/synthetic.js'

const { X, y } = syntheticBinary(120, 8, 1)
const test200 = syntheticBinary(50, 8, 2)

const caught = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

describe('averagePredictor', () => {
  it('predicts the weighted mean of its members, each fitted on its own stream of the fit rng', async () => {
    const members = [randomForest({ nTrees: 20 }), gradientBoosting({ nEstimators: 40 })]
    const avg = await averagePredictor(members, [3, 1]).fit(X, y, { rng: new Rng(5) })
    const rng = new Rng(5)
    const a = members[0]!.fitSync(X, y, { rng: rng.fork() }).predict(test200.X).mean
    const b = members[1]!.fitSync(X, y, { rng: rng.fork() }).predict(test200.X).mean
    const got = avg.predict(test200.X).mean
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(0.75 * a[i]! + 0.25 * b[i]!, 10)
  })

  it("gives the mixture's std: half the gap between two members without a std", () => {
    const avg = averagePredictor([ridge(), gradientBoosting({ nEstimators: 30 })]).fitSync(X, y)
    const a = ridge().fitSync(X, y).predict(test200.X).mean
    const b = gradientBoosting({ nEstimators: 30 }).fitSync(X, y).predict(test200.X).mean
    const { std } = avg.predict(test200.X)
    for (let i = 0; i < a.length; i++) expect(std![i]).toBeCloseTo(Math.abs(a[i]! - b[i]!) / 2, 10)
  })

  it('is reproducible: the same seed gives the same predictions', () => {
    const p = createPredictor({
      kind: 'average',
      members: [{ kind: 'random-forest', nTrees: 10 }, { kind: 'ridge' }],
    })
    const one = p.fitSync(X, y, { rng: new Rng(9) }).predict(test200.X)
    const two = p.fitSync(X, y, { rng: new Rng(9) }).predict(test200.X)
    expect(Array.from(one.mean)).toEqual(Array.from(two.mean))
    expect(Array.from(one.std!)).toEqual(Array.from(two.std!))
  })

  test.prop([fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: 3, maxLength: 3 })], {
    numRuns: 20,
  })('its mean lies between the lowest and highest member mean, for any weights', (weights) => {
    const members = [ridge({ alpha: 0.1 }), ridge({ alpha: 10 }), gradientBoosting({ nEstimators: 10 })]
    const parts = members.map((m) => m.fitSync(X, y).predict(test200.X).mean)
    const got = averagePredictor(members, weights).fitSync(X, y).predict(test200.X)
    for (let i = 0; i < got.mean.length; i++) {
      const at = parts.map((p) => p[i]!)
      expect(got.mean[i]).toBeGreaterThanOrEqual(Math.min(...at) - 1e-9)
      expect(got.mean[i]).toBeLessThanOrEqual(Math.max(...at) + 1e-9)
      expect(got.std![i]).toBeGreaterThanOrEqual(0)
    }
  })

  it('disposes its members, and cannot predict afterwards', () => {
    const fitted = averagePredictor([ridge(), ridge({ alpha: 5 })]).fitSync(X, y)
    fitted.dispose()
    expect(caught(() => fitted.predict(test200.X))).toBeInstanceOf(NasError)
  })

  it('refuses fewer than 2 members, weights of the wrong length or sign, and nested averages', () => {
    const codeOf = (f: () => unknown) => (caught(f) as NasError).code
    expect(codeOf(() => averagePredictor([ridge()]))).toBe('CONFIG_INVALID')
    expect(codeOf(() => averagePredictor([ridge(), ridge()], [1]))).toBe('CONFIG_INVALID')
    expect(codeOf(() => averagePredictor([ridge(), ridge()], [1, -1]))).toBe('CONFIG_INVALID')
    const e = caught(() =>
      createPredictor({
        kind: 'average',
        members: [{ kind: 'ridge' }, { kind: 'ridge' }],
        weights: [1, 2, 3],
      }),
    ) as NasError
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.message).toMatch(/weights.*one weight per member/)
    const nested = caught(() =>
      createPredictor({
        kind: 'average',
        // @ts-expect-error an average of averages is not a config
        members: [{ kind: 'ridge' }, { kind: 'average', members: [] }],
      }),
    ) as NasError
    expect(nested.code).toBe('CONFIG_INVALID')
    expect(nested.message).toMatch(/members\.1/)
  })

  it('passes bad training data on as the first member reports it', () => {
    const e = caught(() => averagePredictor([ridge(), ridge()]).fitSync(X, y.slice(1))) as NasError
    expect(e.code).toBe('INPUT_INVALID')
  })
})
