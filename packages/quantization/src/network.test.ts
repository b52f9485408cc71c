import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { buildModel, evaluateLogits, train, type Dataset } from '@nasjs/models'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { networkQuantLayers } from './cost.js'
import { fakeQuantInt, quantParams } from './fake-quant.js'
import { quantizationAwareTraining, quantizeNetwork } from './ptq.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const CELL = nb201.parse(
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|',
)

/** A small NB201 network whose BatchNorms have non-trivial moving statistics and affine weights. */
function network(): tfl.LayersModel {
  const model = buildModel(nb201, CELL, { channels: 8, cellsPerStage: 1, inputShape: [8, 8, 3], seed: 3 })
  const rng = new Rng(4)
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue
    layer.setWeights(
      layer.getWeights().map((w) => {
        const name = w.shape[0]
        const v = Float32Array.from({ length: name }, () => 0.5 + rng.uniform())
        return tf.tensor1d(v)
      }),
    )
  }
  return model
}
const images = (n: number, seed: number) => tf.randomUniform([n, 8, 8, 3], -1, 1, 'float32', seed)
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)

describe('quantizeNetwork', () => {
  it('in float32 with every BatchNorm folded, computes what the model computes', () => {
    const model = network()
    const x = images(16, 5)
    const q = quantizeNetwork(model, images(32, 6), { weights: 'fp32', activations: 'fp32' })
    const want = model.predict(x) as tf.Tensor
    const got = q.predict(x)
    expect(maxDiff(want, got)).toBeLessThan(1e-4)
    // every BatchNorm right after a convolution is folded into it; the others (after an addition)
    // and the convolutions without one (the reductions' shortcuts) are not
    const afterConv = model.layers.filter(
      (l) =>
        l.getClassName() === 'BatchNormalization' &&
        l.inboundNodes[0]!.inboundLayers[0]!.getClassName() === 'Conv2D',
    )
    const folded = q.layers.filter((l) => l.folded !== undefined)
    expect(folded.length).toBeGreaterThan(10)
    expect(folded.map((l) => l.folded).sort()).toEqual(afterConv.map((l) => l.name).sort())
    tf.dispose([x, want, got])
    q.dispose()
    model.dispose()
  })

  it('int8 stays close to float and stores the weights in about a quarter of the bytes; fewer bits err more', () => {
    const model = network()
    const x = images(64, 7)
    const want = model.predict(x) as tf.Tensor
    const err = (weights: string, activations: string) => {
      const q = quantizeNetwork(model, images(128, 8), { weights, activations })
      const y = q.predict(x)
      const e = maxDiff(want, y)
      const bytes = q.weightBytes / q.float32Bytes
      y.dispose()
      q.dispose()
      return { e, bytes }
    }
    const scale = tf.tidy(() => tf.max(tf.abs(want)).dataSync()[0]!)
    const i16 = err('int16', 'int16')
    const i8 = err('int8', 'int8')
    const i4 = err('int4', 'int4')
    expect(i16.e).toBeLessThan(i8.e)
    expect(i8.e).toBeLessThan(i4.e)
    expect(i8.e).toBeLessThan(0.1 * scale)
    expect(i8.bytes).toBeGreaterThan(0.25)
    expect(i8.bytes).toBeLessThan(0.3)
    expect(err('fp8_e4m3', 'fp8_e4m3').e).toBeLessThan(0.2 * scale)
    tf.dispose([x, want])
    model.dispose()
  })

  it('every activation has a calibrated range, and nothing leaks', async () => {
    const model = network()
    const cal = images(32, 9)
    const q = quantizeNetwork(model, cal, { calibration: 'percentile', percentile: 99.9 })
    const relu = q.layers.filter((l) => l.className === 'ReLU')
    expect(relu.every((l) => l.range !== undefined && l.range.min >= 0)).toBe(true)
    expect(
      q.layers.filter((l) => l.className === 'BatchNormalization' && l.range === undefined).length,
    ).toBeGreaterThan(0)
    const x = images(4, 10)
    await expectNoLeaks(() => tf.dispose(q.predict(x)))
    q.dispose()
    expect(() => q.predict(x)).toThrow(/disposed/)
    await expectNoLeaks(() => quantizeNetwork(model, cal).dispose())
    tf.dispose([x, cal])
    model.dispose()
  })
})

describe('quantizeNetwork with a mixed-precision policy', () => {
  const policy = (n: number, at: Record<number, string>, rest = 'fp32:fp32') =>
    Array.from({ length: n }, (_, i) => {
      const [weights, activations] = (at[i] ?? rest).split(':') as [string, string]
      return { weights, activations }
    })

  it("quantizes each layer's weights in its format and its input in its activation format, nothing else", () => {
    const model = network()
    const layers = networkQuantLayers(model)
    const cal = images(32, 11)
    const x = images(8, 12)
    const want = model.predict(x) as tf.Tensor
    // all float: the float network
    const f = quantizeNetwork(model, cal, { layers: policy(layers.length, {}) })
    const fy = f.predict(x)
    expect(maxDiff(want, fy)).toBeLessThan(1e-4)
    // only the first layer's input in int8 (the network input, minmax over the calibration images):
    // the float network applied to the fake-quantized images
    const q = quantizeNetwork(model, cal, {
      layers: policy(layers.length, { 0: 'fp32:int8' }),
      foldBatchNorm: false,
    })
    const r = tf.tidy(() => [tf.min(cal).dataSync()[0]!, tf.max(cal).dataSync()[0]!] as const)
    const xq = fakeQuantInt(x, quantParams(r[0], r[1], { bits: 8, symmetric: false }))
    const ref = model.predict(xq) as tf.Tensor
    const qy = q.predict(x)
    expect(maxDiff(ref, qy)).toBeLessThan(1e-4)
    expect(maxDiff(want, qy)).toBeGreaterThan(1e-4)
    expect(q.layers.find((l) => l.name === layers[0]!.name)!.input).toEqual({
      format: 'int8',
      range: { min: r[0], max: r[1] },
    })
    // one layer's weights in int4: its bits, and only its bits, shrink
    const k = layers.findIndex((l) => l.params > 100)
    const w4 = quantizeNetwork(model, cal, { layers: policy(layers.length, { [k]: 'int4:fp32' }) })
    expect(f.weightBytes - w4.weightBytes).toBe((layers[k]!.params * (32 - 4)) / 8)
    expect(w4.layers.find((l) => l.name === layers[k]!.name)!.weights!.format).toBe('int4')
    // fewer bits in one layer's input err more
    const err = (fmt: string) => {
      const m = quantizeNetwork(model, cal, { layers: policy(layers.length, { [k]: `fp32:${fmt}` }) })
      const y = m.predict(x)
      const e = maxDiff(want, y)
      tf.dispose(y)
      m.dispose()
      return e
    }
    expect(err('int2')).toBeGreaterThan(err('int8'))
    tf.dispose([cal, x, want, fy, xq, ref, qy])
    for (const n of [f, q, w4]) n.dispose()
    model.dispose()
  })

  it('a policy of the wrong length is one clear error', () => {
    const model = network()
    const n = networkQuantLayers(model).length
    const cal = images(4, 13)
    expect(() => quantizeNetwork(model, cal, { layers: policy(n - 1, {}) })).toThrow(
      expect.objectContaining({ code: 'INPUT_INVALID', allowed: [n] }),
    )
    expect(() => quantizeNetwork(model, cal, { layers: policy(n, { 0: 'int17:int8' }) })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', value: 'int17' }),
    )
    cal.dispose()
    model.dispose()
  })
})

describe('quantizationAwareTraining', () => {
  /** 8x8x3 images of 4 classes: the bright quadrant is the class. */
  const quadrants = (n: number, seed: number): Dataset => {
    const rng = new Rng(seed)
    const x = new Float32Array(n * 192)
    const y = new Int32Array(n)
    for (let i = 0; i < n; i++) {
      y[i] = rng.int(4)
      for (let p = 0; p < 64; p++) {
        const q = (p < 32 ? 0 : 2) + (p % 8 < 4 ? 0 : 1)
        for (let ch = 0; ch < 3; ch++) x[i * 192 + p * 3 + ch] = (q === y[i] ? 1 : 0) + 0.5 * rng.normal()
      }
    }
    return { name: 'quadrants', shape: [8, 8, 3], classes: 4, x, y }
  }

  it('fine-tunes under quantization: the int4 network loses less than its post-training quantization', async () => {
    const data = quadrants(96, 1)
    const model = buildModel(nb201, CELL, {
      channels: 8,
      cellsPerStage: 1,
      inputShape: [8, 8, 3],
      classes: 4,
      seed: 3,
    })
    await train(model, data, { optimizer: 'sgd', lr: 0.05, epochs: 3, batchSize: 16, seed: 1 })
    const int4 = { weights: 'int4', activations: 'int4' }
    const ptq = quantizeNetwork(model, data, int4)
    const before = evaluateLogits(data, (x) => ptq.predict(x) as tf.Tensor2D).loss
    ptq.dispose()
    const steps: number[] = []
    const r = await quantizationAwareTraining(
      model,
      data,
      { ...int4, epochs: 3, lr: 0.01, trainBatchSize: 16 },
      { onProgress: (p) => steps.push(p.step) },
    )
    expect(r.steps).toBe(18)
    expect(steps).toEqual(Array.from({ length: 18 }, (_, i) => i + 1))
    const after = evaluateLogits(data, (x) => r.network.predict(x) as tf.Tensor2D).loss
    expect(after).toBeLessThan(before)
    r.network.dispose()
    await expectNoLeaks(async () => {
      const one = await quantizationAwareTraining(model, data, { ...int4, steps: 1, trainBatchSize: 16 })
      one.network.dispose()
    })
    model.dispose()
  })
})
