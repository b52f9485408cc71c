import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { buildModel } from '@nasjs/models'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { reinitialize } from './init.js'
import { grasp } from './proxies.js'
import { randomBatch } from './score.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

describe('grasp', () => {
  it('equals -sum(W * H g) with the closed-form Hessian of a softmax regression', async () => {
    // logits = X W (no bias): the Hessian of the mean cross-entropy applied to V is
    // (1/n) sum_i x_i (x_i^T V) (diag(p_i) - p_i p_i^T)
    const input = tfl.input({ shape: [5] })
    const out = tfl.layers
      .dense({ units: 3, useBias: false, kernelInitializer: tfl.initializers.randomNormal({ seed: 3 }) })
      .apply(input) as tfl.SymbolicTensor
    const model = tfl.model({ inputs: input, outputs: out })
    const batch = randomBatch([5], 12, 3, new Rng(4))
    const expected = tf.tidy(() => {
      const X = tf.tensor2d(batch.xs, [12, 5])
      const W = model.getWeights()[0] as tf.Tensor2D
      const Y = tf.oneHot(tf.tensor1d(batch.ys!, 'int32'), 3)
      const P = tf.softmax(tf.matMul(X, W))
      const g = tf.div(tf.matMul(X, tf.sub(P, Y), true), 12) // dL/dW
      const XV = tf.matMul(X, g) // x_i^T V for every i, [n, 3]
      const S = tf.sub(tf.mul(P, XV), tf.mul(P, tf.sum(tf.mul(P, XV), 1, true))) // (diag(p) - p p^T) (x_i^T V)
      const Hg = tf.div(tf.matMul(X, S, true), 12)
      return tf.neg(tf.sum(tf.mul(W, Hg))).dataSync()[0]!
    })
    const before = tf.memory().numTensors
    const score = await grasp.score(model, batch, { rng: new Rng(1) })
    expect(tf.memory().numTensors).toBe(before)
    expect(Math.abs(score - expected)).toBeLessThan(1e-3 * Math.max(1, Math.abs(expected)))
    model.dispose()
  })

  it('on an NB201 network: deterministic, finite, and the weights put back', async () => {
    const arch = nb201.parse(
      '|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|',
    )
    const model = buildModel(nb201, arch, { channels: 4, cellsPerStage: 1, inputShape: [8, 8, 3], seed: 2 })
    reinitialize(model, 'pytorch', new Rng(1))
    const batch = randomBatch([8, 8, 3], 6, 10, new Rng(2))
    const weights = model.getWeights().map((w) => w.dataSync().slice())
    const a = await grasp.score(model, batch, { rng: new Rng(1) })
    const b = await grasp.score(model, batch, { rng: new Rng(1) })
    expect(b).toBe(a)
    expect(model.getWeights().map((w) => w.dataSync().slice())).toEqual(weights)
    expect(Number.isFinite(a)).toBe(true)
    model.dispose()
  })
})
