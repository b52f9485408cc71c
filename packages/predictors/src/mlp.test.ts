import { NasError, Rng } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { mlp, mlpEnsemble } from './mlp.js'
import { prepareTf } from './tf-backend.js'
import { syntheticBinary, tau } from './testing-internal/synthetic.js'

beforeAll(async () => {
  await prepareTf()
})

const tiny = { hiddenLayers: [16], epochs: 60 }

describe('mlp', () => {
  it('learns a ranking and leaks no tensors across fit, predict and dispose', async () => {
    const before = tf.memory().numTensors
    const train = syntheticBinary(100, 10, 1)
    const test = syntheticBinary(200, 10, 2)
    const fitted = await mlp(tiny).fit(train.X, train.y)
    const p = fitted.predict(test.X)
    expect(tau(p.mean, test.y)).toBeGreaterThan(0.7)
    expect(tf.memory().numTensors).toBe(before + 1) // one flat parameter vector
    fitted.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('trains with the pairwise ranking loss', async () => {
    const train = syntheticBinary(100, 10, 3)
    const test = syntheticBinary(200, 10, 4)
    // A pure ranking loss fixes only the order; the mean is then off, but the ranking is learned.
    const fitted = await mlp({ ...tiny, rankingWeight: 1 }).fit(train.X, train.y)
    expect(tau(fitted.predict(test.X).mean, test.y)).toBeGreaterThan(0.7)
    fitted.dispose()
  })

  it('pretrains on free statistics before fitting the targets (FBNetV3) without leaks', async () => {
    const before = tf.memory().numTensors
    const rng = new Rng(5)
    const pool = syntheticBinary(400, 10, 6)
    // a "free" statistic correlated with the target, known for the whole pool
    const targets = pool.X.map((x) => [
      1 + x.reduce((s, v, j) => s + (j % 3 === 0 ? v : 0), 0),
      rng.uniform() + 1,
    ])
    const train = syntheticBinary(20, 10, 7)
    const test = syntheticBinary(200, 10, 8)
    const plain = await mlp({ ...tiny, epochs: 100 }).fit(train.X, train.y, { rng: new Rng(1) })
    const pre = await mlp({ ...tiny, epochs: 100, pretrainEpochs: 30 }).fit(train.X, train.y, {
      rng: new Rng(1),
      pretrain: { X: pool.X, targets },
    })
    const tPlain = tau(plain.predict(test.X).mean, test.y)
    const tPre = tau(pre.predict(test.X).mean, test.y)
    expect(tPre).toBeGreaterThan(0.5)
    expect(Number.isFinite(tPlain)).toBe(true)
    plain.dispose()
    pre.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('rejects malformed pretraining data with a NasError', async () => {
    const before = tf.memory().numTensors
    const { X, y } = syntheticBinary(20, 4, 1)
    const err = await mlp({ ...tiny, pretrainEpochs: 5 })
      .fit(X, y, { pretrain: { X, targets: [[1]] } })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NasError)
    expect((err as NasError).message).toMatch(/pretrain.X has 20 rows but pretrain.targets has 1 rows/)
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('mlpEnsemble', () => {
  it('reports disagreement as uncertainty, larger far from the data, and frees every member', async () => {
    const before = tf.memory().numTensors
    const train = syntheticBinary(60, 6, 1)
    const fitted = await mlpEnsemble({ members: 3, mlp: tiny }).fit(train.X, train.y)
    const near = fitted.predict(train.X)
    const far = fitted.predict([[20, -20, 20, -20, 20, -20]])
    const avg = Array.from(near.std!).reduce((s, v) => s + v, 0) / near.std!.length
    expect(far.std![0]).toBeGreaterThan(3 * avg)
    fitted.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
