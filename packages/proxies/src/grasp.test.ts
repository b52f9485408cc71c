import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { buildModel } from '@nasjs/models'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { crossEntropy, inputsOf, splitBatch } from './common.js'
import { prunableWeights, runGraph } from './graph.js'
import { reinitialize } from './init.js'
import { grasp, graspPerLayer } from './proxies.js'
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

  it('equals PyTorch double backward through BatchNorm, ReLU and the head (golden)', () => {
    // dense-BN-ReLU-dense-BN-ReLU-dense, seeded. The expected terms are PyTorch's, in float64, on the
    // same weights and batch: g = dL/dw, H g by autograd.grad of g . dL/dw (create_graph), -w . H g
    // per kernel, as NAS-Bench-Suite-Zero computes GraSP. (TF.js's own nested gradients disagree with
    // both on the head's term, so they cannot serve as the reference.)
    const [n, d, h, k] = [48, 12, 32, 5]
    const input = tfl.input({ shape: [d] })
    let t: tfl.SymbolicTensor = input
    let seed = 1
    const dense = (units: number) =>
      tfl.layers.dense({
        units,
        useBias: false,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed++ }),
      })
    for (const units of [h, h]) {
      t = dense(units).apply(t) as tfl.SymbolicTensor
      t = tfl.layers.batchNormalization({ epsilon: 1e-5 }).apply(t) as tfl.SymbolicTensor
      t = tfl.layers.reLU().apply(t) as tfl.SymbolicTensor
    }
    const model = tfl.model({ inputs: input, outputs: dense(k).apply(t) as tfl.SymbolicTensor })
    const batch = randomBatch([d], n, k, new Rng(5))
    const terms = graspPerLayer(model, batch)
    const pytorch = [0.5671832112178568, 0.47380094794943745, -1.3023086278303242]
    for (const [i, v] of pytorch.entries()) {
      expect(Math.abs(terms[i]! - v), `kernel ${i}: ${terms[i]} against ${v}`).toBeLessThan(
        1e-3 * Math.abs(v),
      )
    }
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
    for (const splits of [0, 1.5, 7]) {
      expect(() => graspPerLayer(model, batch, { splits }), String(splits)).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID', value: splits }),
      )
    }
    expect(Number.isFinite(a)).toBe(true)
    model.dispose()
  })

  it('satisfies BatchNorm scale invariance: for a convolution that feeds BatchNorm, -w . (H g) = |g|^2', () => {
    // the loss does not change when such a kernel is scaled, so w . dL/dw = 0, and differentiating
    // that gives H w = -g within the layer: -w . (H g) = -(H w) . g = |g|^2 (per layer). Checked on
    // graspPerLayer itself, with the batch in two splits whose gradients are weighted by their shares.
    const arch = nb201.parse(
      '|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|',
    )
    const model = buildModel(nb201, arch, { channels: 8, cellsPerStage: 2, inputShape: [16, 16, 3], seed: 2 })
    reinitialize(model, 'pytorch', new Rng(1))
    const b = randomBatch([16, 16, 3], 24, 10, new Rng(2))
    const parts = splitBatch(b, 2)
    const pw = prunableWeights(model)
    const weights = pw.map((w) => w.variable)
    // the gradient of the two halves' mean losses, weighted by their shares (as graspPerLayer splits)
    const g = tf.tidy(() =>
      parts
        .map((part) => {
          const { grads } = tf.variableGrads(
            () => crossEntropy(runGraph(model, inputsOf(part)).output, part.ys!),
            weights,
          )
          return weights.map((w) => tf.mul(grads[w.name]!, part.n / b.n))
        })
        .reduce((acc, gs) => acc.map((t, i) => tf.add(t, gs[i]!))),
    )
    const terms = graspPerLayer(model, b, { splits: 2 })
    const g2s = g.map((t) => tf.sum(tf.square(t)).dataSync()[0]!)
    const feedsBatchNorm = pw.map(
      ({ layer }) =>
        model.layers.find((l) => l.inboundNodes[0]?.inboundLayers[0] === layer)?.getClassName() ===
        'BatchNormalization',
    )
    // float32 differences of gradients are a few per cent off on layers whose gradient is a few per
    // cent of the largest; the others are checked to 1 %
    const floor = 0.05 * Math.max(...g2s.filter((_, i) => feedsBatchNorm[i]))
    let checked = 0
    pw.forEach(({ layer }, i) => {
      const g2 = g2s[i]!
      if (!feedsBatchNorm[i] || g2 < floor) return
      expect(Math.abs(terms[i]! - g2) / g2, layer.name).toBeLessThan(0.01)
      checked++
    })
    expect(checked).toBeGreaterThan(8)
    tf.dispose(g)
    model.dispose()
  })
})
