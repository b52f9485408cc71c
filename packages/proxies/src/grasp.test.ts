import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { buildModel } from '@nasjs/models'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { crossEntropy, inputsOf } from './common.js'
import { isRelu, prunableWeights, runGraph } from './graph.js'
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

  it('satisfies BatchNorm scale invariance: for a convolution that feeds BatchNorm, -w . (H g) = |g|^2', () => {
    // the loss does not change when such a kernel is scaled, so w . dL/dw = 0, and differentiating
    // that gives H w = -g within the layer: -w . (H g) = -(H w) . g = |g|^2 (per layer)
    const arch = nb201.parse(
      '|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|',
    )
    const model = buildModel(nb201, arch, { channels: 4, cellsPerStage: 1, inputShape: [8, 8, 3], seed: 2 })
    reinitialize(model, 'pytorch', new Rng(1))
    const b = randomBatch([8, 8, 3], 16, 10, new Rng(2))
    const pw = prunableWeights(model)
    const weights = pw.map((w) => w.variable)
    const x = inputsOf(b)
    const masks = new Map<string, tf.Tensor>()
    for (const t of runGraph(model, x, { tap: isRelu }).taps)
      masks.set(t.layer.name, tf.cast(tf.greater(t.value, 0), 'float32'))
    const grad = () => {
      const { grads } = tf.variableGrads(
        () => crossEntropy(runGraph(model, x, { reluMasks: masks }).output, b.ys!),
        weights,
      )
      return weights.map((w) => grads[w.name]!)
    }
    const g = grad()
    const w0 = weights.map((w) => w.clone())
    const norm = (ts: tf.Tensor[]) =>
      Math.sqrt(ts.reduce((t, a) => t + tf.sum(tf.square(a)).dataSync()[0]!, 0))
    const e = (1e-3 * norm(w0)) / norm(g)
    const at = (sign: number) => {
      weights.forEach((w, i) => w.assign(tf.add(w0[i]!, tf.mul(g[i]!, sign * e))))
      return grad()
    }
    const plus = at(1)
    const minus = at(-1)
    weights.forEach((w, i) => w.assign(w0[i]!))
    let checked = 0
    pw.forEach(({ layer }, i) => {
      const next = model.layers.find((l) => l.inboundNodes[0]?.inboundLayers[0] === layer)
      const g2 = tf.sum(tf.square(g[i]!)).dataSync()[0]!
      if (next?.getClassName() !== 'BatchNormalization' || g2 < 0.05) return
      const term = -tf.sum(tf.mul(w0[i]!, tf.div(tf.sub(plus[i]!, minus[i]!), 2 * e))).dataSync()[0]!
      expect(Math.abs(term - g2) / g2, layer.name).toBeLessThan(0.1)
      checked++
    })
    expect(checked).toBeGreaterThan(5)
    model.dispose()
  })
})
