import '@tensorflow/tfjs-backend-cpu'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from './init-backend.js'
import { expectNoLeaks } from './leaks.js'
import { relativeError } from './testing-internal/kernel-test-utils.js'
import { mobileNetLike, seedWeights, smallCnn } from './testing-internal/networks.js'

// Every network family nasjs trains (NB201 cells, MobileNet/OFA blocks, CNNs, the MLP predictor,
// attention with embeddings) is differentiated on wasm and on cpu with the same weights and batch,
// and every gradient must agree to 1e-4 relative: a kernel wasm lacks fails here by name. Weights are
// seeded (see seedWeights) and both backends are deterministic, so every run compares the same numbers.

const TOL = 1e-4

beforeAll(async () => {
  delete process.env['NASJS_BACKEND']
  await initBackend({ prefer: 'wasm', quiet: true })
})

afterAll(async () => {
  await tf.setBackend('wasm')
})

/** Gradients of `loss` with respect to `vars`, by value, on `backend`. */
async function gradsOn(backend: string, vars: tf.Variable[], loss: () => tf.Scalar) {
  await tf.setBackend(backend)
  const { value, grads } = tf.variableGrads(loss, vars)
  const out = vars.map((v) => Float32Array.from(grads[v.name]!.dataSync()))
  const lossValue = value.dataSync()[0]!
  tf.dispose([value, ...Object.values(grads)])
  return { out, lossValue }
}

async function expectGradParity(vars: tf.Variable[], loss: () => tf.Scalar) {
  const wasm = await gradsOn('wasm', vars, loss)
  const cpu = await gradsOn('cpu', vars, loss)
  expect(Math.abs(wasm.lossValue - cpu.lossValue)).toBeLessThan(TOL * Math.max(1, Math.abs(cpu.lossValue)))
  vars.forEach((v, i) => {
    expect(relativeError(wasm.out[i]!, cpu.out[i]!), v.name).toBeLessThan(TOL)
  })
}

function expectModelParity(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, seed: number) {
  seedWeights(model, seed)
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable)
  return expectGradParity(vars, () =>
    tf.tidy(() => {
      const pred = model.apply(x, { training: true }) as tf.Tensor
      return tf.losses.meanSquaredError<tf.Tensor, tf.Scalar>(y, pred)
    }),
  )
}

const seeded = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed)

describe('gradients of the networks nasjs trains agree on wasm and cpu', () => {
  it('the benchmark CNN (conv, stride 2, dense)', async () => {
    const model = smallCnn()
    await expectModelParity(model, seeded([4, 28, 28, 1], 1), seeded([4, 10], 2), 1)
    model.dispose()
  })

  it('the MobileNet-style network (depthwise, batch norm, relu6, global pooling)', async () => {
    const model = mobileNetLike()
    await expectModelParity(model, seeded([4, 28, 28, 1], 3), seeded([4, 10], 4), 2)
    model.dispose()
  })

  it('an NB201-style cell (1x1 and 3x3 convs, avg pool, max pool, add, concat)', async () => {
    const input = tfl.input({ shape: [12, 12, 8] })
    // No ReLU in front of a max (ties at 0 would let the backends route the gradient differently).
    const a = tfl.layers.conv2d({ filters: 8, kernelSize: 1 }).apply(input) as tfl.SymbolicTensor
    const relu = tfl.layers.activation({ activation: 'relu' }).apply(a) as tfl.SymbolicTensor
    // No bias in front of batch norm: its true gradient is 0, only rounding noise would be compared.
    const b = tfl.layers
      .conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false })
      .apply(relu) as tfl.SymbolicTensor
    const bn = tfl.layers.batchNormalization().apply(b) as tfl.SymbolicTensor
    const pool = tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(input)
    const sum = tfl.layers.add().apply([bn, pool as tfl.SymbolicTensor]) as tfl.SymbolicTensor
    const cat = tfl.layers.concatenate().apply([sum, a]) as tfl.SymbolicTensor
    const down = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(cat) as tfl.SymbolicTensor
    const sep = tfl.layers
      .separableConv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2 })
      .apply(down) as tfl.SymbolicTensor
    // (No upSampling2d: cpu's ResizeNearestNeighborGrad is wrong; wasm's is checked in its own test.)
    const padded = tfl.layers.zeroPadding2d({ padding: 1 }).apply(sep) as tfl.SymbolicTensor
    const gap = tfl.layers.globalAveragePooling2d({}).apply(padded) as tfl.SymbolicTensor
    const out = tfl.layers.dense({ units: 5, activation: 'softmax' }).apply(gap) as tfl.SymbolicTensor
    const model = tfl.model({ inputs: input, outputs: out })
    await expectModelParity(model, seeded([3, 12, 12, 8], 5), seeded([3, 5], 6), 3)
    model.dispose()
  })

  it('the MLP predictor (dense, every activation)', async () => {
    const acts = [
      'relu',
      'tanh',
      'sigmoid',
      'elu',
      'selu',
      'softplus',
      'swish',
      'mish',
      'gelu',
      'linear',
    ] as const
    const layers: tfl.layers.Layer[] = [tfl.layers.dense({ inputShape: [7], units: 16, activation: 'relu' })]
    for (const activation of acts) layers.push(tfl.layers.dense({ units: 12, activation }))
    layers.push(tfl.layers.layerNormalization(), tfl.layers.dense({ units: 1 }))
    const model = tfl.sequential({ layers })
    await expectModelParity(model, seeded([9, 7], 7), seeded([9, 1], 8), 4)
    model.dispose()
  })

  it('self-attention with token embeddings, layer norm and softmax cross-entropy', async () => {
    const vocab = 11
    const d = 8
    const tokens = tf.tensor2d(
      Array.from({ length: 3 * 5 }, (_, i) => (i * 7) % vocab),
      [3, 5],
      'int32',
    )
    const labels = tf.oneHot(tf.tensor1d([1, 4, 2], 'int32'), 6)
    const v = (shape: number[], seed: number, name: string) => tf.variable(seeded(shape, seed), true, name)
    const emb = v([vocab, d], 9, 'emb')
    const wq = v([d, d], 10, 'wq')
    const wk = v([d, d], 11, 'wk')
    const wv = v([d, d], 12, 'wv')
    const gamma = v([d], 13, 'gamma')
    const wo = v([d, 6], 14, 'wo')
    const loss = () =>
      tf.tidy(() => {
        const x = tf.gather(emb, tokens) // [3, 5, d]
        const { mean, variance } = tf.moments(x, -1, true)
        const normed = tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma)
        const q = tf.reshape(tf.matMul(tf.reshape(normed, [15, d]), wq), [3, 5, d])
        const k = tf.reshape(tf.matMul(tf.reshape(normed, [15, d]), wk), [3, 5, d])
        const val = tf.reshape(tf.matMul(tf.reshape(normed, [15, d]), wv), [3, 5, d])
        const att = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(d)))
        const ctx = tf.mean(tf.matMul(att, val), 1)
        return tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(labels, tf.matMul(ctx, wo))
      })
    await expectGradParity([emb, wq, wk, wv, gamma, wo], loss)
    tf.dispose([tokens, labels, emb, wq, wk, wv, gamma, wo])
  })
})

describe('training on wasm does not leak', () => {
  it('100 optimizer steps through every replaced kernel keep memory flat', async () => {
    await tf.setBackend('wasm')
    const input = tfl.input({ shape: [8, 8, 2] })
    const c = tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }).apply(input)
    const dw = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }).apply(c)
    const bn = tfl.layers.batchNormalization().apply(dw)
    const pooled = tfl.layers.maxPooling2d({ poolSize: 2, padding: 'same' }).apply(bn)
    const up = tfl.layers.upSampling2d({ size: [2, 2] }).apply(pooled)
    const flat = tfl.layers.flatten().apply(up)
    const out = tfl.layers.dense({ units: 3, activation: 'softmax' }).apply(flat)
    const model = tfl.model({ inputs: input, outputs: out as tfl.SymbolicTensor })
    const table = tf.variable(tf.randomNormal([10, 3], 0, 1, 'float32', 1), true, 'table')
    const ids = tf.tensor1d([1, 3, 3, 7], 'int32')
    const x = tf.randomNormal([4, 8, 8, 2], 0, 1, 'float32', 2)
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3)
    const opt = tf.train.adam(0.01)
    const vars = [...model.trainableWeights.map((w) => w.read() as tf.Variable), table]
    const step = () =>
      tf.tidy(() => {
        opt.minimize(
          () =>
            tf.tidy(() => {
              const pred = model.apply(x, { training: true }) as tf.Tensor
              const bias = tf.softmax(tf.gather(table, ids))
              return tf.losses.meanSquaredError<tf.Tensor, tf.Scalar>(y, tf.add(pred, bias))
            }),
          false,
          vars,
        )
      })
    // Warm-up: the optimizer creates its slots and the wasm heap reaches its working size.
    for (let i = 0; i < 5; i++) step()
    await expectNoLeaks(() => {
      for (let i = 0; i < 100; i++) step()
    })
    tf.dispose([table, ids, x, y])
    opt.dispose()
    model.dispose()
  })
})
