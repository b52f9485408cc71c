import { fc, test } from '@fast-check/vitest'
import { NasError, Rng } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import { describe, expect, it } from 'vitest'
import { averagePredictor } from './average.js'
import { gradientBoosting, randomForest } from './forest.js'
import { ridge } from './linear.js'
import { mlp } from './mlp.js'
import { createPredictor } from './registry.js'
import { syntheticBinary } from './testing-internal/synthetic.js'
import type { FittedPredictor, Predictor } from './types.js'
import { thrown } from './testing-internal/thrown.js'

const { X, y } = syntheticBinary(120, 8, 1)
const test50 = syntheticBinary(50, 8, 2)

/** A member that predicts a constant, counts disposals, and can be made to fail its fit. */
function stub(value: number, log: string[], fail = false): Predictor {
  const fitted = (): FittedPredictor => ({
    name: `stub${value}`,
    nFeatures: 8,
    predict: (rows) => ({ mean: new Float64Array(rows.length).fill(value) }),
    dispose: () => void log.push(`dispose ${value}`),
  })
  const fitSync = (): FittedPredictor => {
    if (fail) throw new NasError({ code: 'INPUT_INVALID', message: `stub ${value} fails` })
    return fitted()
  }
  return {
    name: `stub${value}`,
    requirements: {
      trainingData: 'labels',
      partialLearningCurve: false,
      uncertainty: false,
      pretraining: false,
    },
    fit: () => Promise.resolve().then(fitSync),
    prepare: () => Promise.resolve(void log.push(`prepare ${value}`)),
    fitSync,
    predict: () => {
      throw new Error('not fitted')
    },
  }
}

describe('averagePredictor', () => {
  it('predicts the weighted mean of its members, each fitted on its own stream of the fit rng', async () => {
    const members = [randomForest({ nTrees: 20 }), gradientBoosting({ nEstimators: 40 })]
    const avg = await averagePredictor(members, { weights: [3, 1] }).fit(X, y, { rng: new Rng(5) })
    const rng = new Rng(5)
    const a = members[0]!.fitSync(X, y, { rng: rng.fork() }).predict(test50.X).mean
    const b = members[1]!.fitSync(X, y, { rng: rng.fork() }).predict(test50.X).mean
    const got = avg.predict(test50.X).mean
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(0.75 * a[i]! + 0.25 * b[i]!, 10)
  })

  it('gives two members of the same kind different streams, from its seed when the fit has no rng', () => {
    const avg = averagePredictor([randomForest({ nTrees: 5 }), randomForest({ nTrees: 5 })], { seed: 3 })
    const { std } = avg.fitSync(X, y).predict(test50.X)
    expect(Math.max(...Array.from(std!))).toBeGreaterThan(0)
    const again = avg.fitSync(X, y).predict(test50.X)
    expect(Array.from(again.std!)).toEqual(Array.from(std!))
  })

  it("gives the mixture's std: half the gap between two members without a std", () => {
    const avg = averagePredictor([ridge(), gradientBoosting({ nEstimators: 30 })]).fitSync(X, y)
    const a = ridge().fitSync(X, y).predict(test50.X).mean
    const rng = new Rng(0)
    rng.fork()
    const b = gradientBoosting({ nEstimators: 30 }).fitSync(X, y, { rng: rng.fork() }).predict(test50.X).mean
    const { std } = avg.predict(test50.X)
    for (let i = 0; i < a.length; i++) expect(std![i]).toBeCloseTo(Math.abs(a[i]! - b[i]!) / 2, 10)
  })

  it('has no std (to rounding) when its members agree exactly', () => {
    const { mean, std } = averagePredictor([stub(82.2742, []), stub(82.2742, []), stub(82.2742, [])])
      .fitSync(X, y)
      .predict(test50.X)
    expect(mean[0]).toBeCloseTo(82.2742, 10)
    // One pass (E[x^2] - mean^2) leaves about 1.6e-6 here; two passes leave rounding of the mean.
    expect(Math.max(...Array.from(std!))).toBeLessThan(1e-12)
  })

  it('is reproducible: the same seed gives the same predictions', () => {
    const p = createPredictor({
      kind: 'average',
      members: [{ kind: 'random-forest', nTrees: 10 }, { kind: 'ridge' }],
    })
    const one = p.fitSync(X, y, { rng: new Rng(9) }).predict(test50.X)
    const two = p.fitSync(X, y, { rng: new Rng(9) }).predict(test50.X)
    expect(Array.from(one.mean)).toEqual(Array.from(two.mean))
    expect(Array.from(one.std!)).toEqual(Array.from(two.std!))
  })

  test.prop([fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: 3, maxLength: 3 })], {
    numRuns: 20,
  })(
    "its mean lies between the members' means and its variance is the mixture's, for any weights",
    (weights) => {
      const members = [
        randomForest({ nTrees: 10 }),
        ridge({ alpha: 10 }),
        gradientBoosting({ nEstimators: 10 }),
      ]
      const got = averagePredictor(members, { weights }).fitSync(X, y).predict(test50.X)
      const rng = new Rng(0)
      const parts = members.map((m) => m.fitSync(X, y, { rng: rng.fork() }).predict(test50.X))
      const total = weights.reduce((a, b) => a + b, 0)
      for (let i = 0; i < got.mean.length; i++) {
        const mus = parts.map((p) => p.mean[i]!)
        expect(got.mean[i]).toBeGreaterThanOrEqual(Math.min(...mus) - 1e-9)
        expect(got.mean[i]).toBeLessThanOrEqual(Math.max(...mus) + 1e-9)
        let v = 0
        parts.forEach(
          (p, k) => (v += (weights[k]! / total) * ((p.std?.[i] ?? 0) ** 2 + (mus[k]! - got.mean[i]!) ** 2)),
        )
        expect(got.std![i]! ** 2).toBeCloseTo(v, 8)
      }
    },
  )

  it('disposes every member, and cannot predict afterwards', () => {
    const log: string[] = []
    const fitted = averagePredictor([stub(1, log), stub(2, log)]).fitSync(X, y)
    fitted.dispose()
    expect(log).toEqual(['dispose 1', 'dispose 2'])
    expect((thrown(() => fitted.predict(test50.X)) as NasError).code).toBe('NOT_FITTED')
  })

  it('disposes the members already fitted when a later one fails, and passes that error on', async () => {
    const log: string[] = []
    const p = averagePredictor([stub(1, log), stub(2, log, true)])
    expect((thrown(() => p.fitSync(X, y)) as NasError).message).toMatch(/stub 2 fails/)
    expect(log).toEqual(['dispose 1'])
    await expect(p.fit(X, y)).rejects.toThrow(/stub 2 fails/)
    expect(log).toEqual(['dispose 1', 'dispose 1'])
  })

  it('leaks no TF.js tensors with MLP members', async () => {
    const p = averagePredictor([
      mlp({ epochs: 10, hiddenLayers: [8] }),
      mlp({ epochs: 10, hiddenLayers: [8] }),
    ])
    await p.fit(X, y) // the first fit initialises the backend
    const before = tf.memory().numTensors
    const fitted = await p.fit(X, y)
    fitted.predict(test50.X)
    fitted.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('refuses fewer than 2 members, weights of the wrong length, sign or type, and nested averages', () => {
    const codeOf = (f: () => unknown) => (thrown(f) as NasError).code
    expect(codeOf(() => averagePredictor([ridge()]))).toBe('CONFIG_INVALID')
    expect(codeOf(() => averagePredictor([ridge(), ridge()], { weights: [1] }))).toBe('CONFIG_INVALID')
    expect(codeOf(() => averagePredictor([ridge(), ridge()], { weights: [1, -1] }))).toBe('CONFIG_INVALID')
    // @ts-expect-error weights from untyped JS
    expect(codeOf(() => averagePredictor([ridge(), ridge()], { weights: 'heavy' }))).toBe('CONFIG_INVALID')
    const e = thrown(() =>
      createPredictor({
        kind: 'average',
        members: [{ kind: 'ridge' }, { kind: 'ridge' }],
        weights: [1, 2, 3],
      }),
    ) as NasError
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.message).toMatch(/weights.*one weight per member/)
    const nested = thrown(() =>
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
    const e = thrown(() => averagePredictor([ridge(), ridge()]).fitSync(X, y.slice(1))) as NasError
    expect(e.code).toBe('INPUT_INVALID')
  })

  it('prepares every member', async () => {
    const log: string[] = []
    await averagePredictor([stub(1, log), stub(2, log)]).prepare()
    expect(log).toEqual(['prepare 1', 'prepare 2'])
  })
})
