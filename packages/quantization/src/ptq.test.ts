import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { createQuantPolicySpace } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { RangeObserver, calibrateRange } from './calibrate.js'
import { networkQuantLayers, quantCosts } from './cost.js'
import { fakeQuantInt, quantParams } from './fake-quant.js'
import { foldBatchNorm } from './fold.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const normal = (n: number, seed: number) => {
  const rng = new Rng(seed)
  return Float32Array.from({ length: n }, () => rng.normal())
}
const mse = (v: Float32Array, r: { min: number; max: number }, bits: number) => {
  const x = tf.tensor1d(v)
  const y = fakeQuantInt(x, quantParams(r.min, r.max, { bits, symmetric: true }))
  const e = tf.tidy(() => tf.mean(tf.square(tf.sub(x, y))).dataSync()[0]!)
  tf.dispose([x, y])
  return e
}

describe('calibration', () => {
  it('min-max takes the extremes; percentile clips an outlier; MSE finds a range of less error than either', () => {
    const v = normal(20_000, 1)
    v[7] = 40 // one outlier
    const fmt = { bits: 4, symmetric: true }
    const mm = calibrateRange(v, 'minmax', fmt)
    expect(mm.max).toBe(40)
    const pc = calibrateRange(v, 'percentile', fmt, { percentile: 99.9 })
    expect(pc.max).toBeGreaterThan(3)
    expect(pc.max).toBeLessThan(4)
    expect(pc.min).toBe(-pc.max)
    const ms = calibrateRange(v, 'mse', fmt)
    expect(mse(v, ms, 4)).toBeLessThan(mse(v, mm, 4))
    expect(mse(v, ms, 4)).toBeLessThanOrEqual(mse(v, pc, 4) * 1.02)
    // asymmetric percentile clips each tail on its own
    const shifted = v.map((x) => x + 5)
    const ap = calibrateRange(shifted, 'percentile', { bits: 8, symmetric: false }, { percentile: 99 })
    expect(ap.min).toBeGreaterThan(2)
    expect(ap.max).toBeLessThan(8)
  })

  it('an observer over batches gives the extremes of all of them, and the same sample for the same seed', () => {
    const fmt = { bits: 8, symmetric: true }
    const a = new RangeObserver('minmax', fmt)
    const b1 = normal(1000, 2)
    const b2 = normal(1000, 3).map((x) => 3 * x)
    a.observe(b1)
    const t = tf.tensor1d(b2)
    a.observe(t)
    t.dispose()
    expect(a.count).toBe(2000)
    expect(a.range()).toEqual(calibrateRange(Float32Array.from([...b1, ...b2]), 'minmax', fmt))
    const p1 = new RangeObserver('percentile', fmt, { sample: 500, seed: 4 })
    const p2 = new RangeObserver('percentile', fmt, { sample: 500, seed: 4 })
    for (const o of [p1, p2]) {
      o.observe(b1)
      o.observe(b2)
    }
    expect(p1.range()).toEqual(p2.range())
    expect(() => new RangeObserver('kl' as never, fmt)).toThrow(/unknown calibration method/)
    expect(() => new RangeObserver('mse', fmt).range()).toThrow(/no finite value/)
  })
})

describe('BatchNorm folding', () => {
  it('a convolution and a BatchNorm equal the folded convolution', () => {
    const rng = new Rng(5)
    const r = (n: number, lo = -1, hi = 1) =>
      Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform())
    const x = tf.tensor4d(r(2 * 6 * 6 * 3), [2, 6, 6, 3])
    const k = tf.tensor4d(r(3 * 3 * 3 * 4), [3, 3, 3, 4])
    const bias = tf.tensor1d(r(4))
    const bn = {
      gamma: tf.tensor1d(r(4, 0.5, 2)),
      beta: tf.tensor1d(r(4)),
      mean: tf.tensor1d(r(4)),
      variance: tf.tensor1d(r(4, 0.1, 3)),
      epsilon: 1e-3,
    }
    const plain = tf.tidy(() =>
      tf.batchNorm(tf.add(tf.conv2d(x, k, 1, 'same'), bias), bn.mean, bn.variance, bn.beta, bn.gamma, 1e-3),
    )
    const f = foldBatchNorm(k, bias, bn)
    const folded = tf.tidy(() => tf.add(tf.conv2d(x, f.kernel, 1, 'same'), f.bias))
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(plain, folded))).dataSync()[0]!)).toBeLessThan(1e-5)
    // a dense layer without bias
    const w = tf.tensor2d(r(3 * 4), [3, 4])
    const xd = tf.tensor2d(r(5 * 3), [5, 3])
    const fd = foldBatchNorm(w, undefined, bn)
    const a = tf.tidy(() => tf.batchNorm(tf.matMul(xd, w), bn.mean, bn.variance, bn.beta, bn.gamma, 1e-3))
    const b = tf.tidy(() => tf.add(tf.matMul(xd, fd.kernel), fd.bias))
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)).toBeLessThan(1e-5)
    expect(() => foldBatchNorm(w, tf.tensor1d([1, 2]), bn)).toThrow(/has 2 channels, the kernel 4/)
    tf.dispose([
      x,
      k,
      bias,
      ...Object.values(bn).filter((v) => v instanceof tf.Tensor),
      plain,
      f.kernel,
      f.bias,
      folded,
      w,
      xd,
      fd.kernel,
      fd.bias,
      a,
      b,
    ])
  })
})

describe('costs', () => {
  const layers = [
    { params: 864, biases: 32, macs: 27_648, inputElements: 3072, outputElements: 32_768 },
    { params: 9216, macs: 2_359_296, inputElements: 32_768, outputElements: 8192 },
  ]
  it('counts bytes, bit-operations and the peak activation memory of a policy', () => {
    const fp32 = quantCosts(layers, [
      { weights: 'fp32', activations: 'fp32' },
      { weights: 'fp32', activations: 'fp32' },
    ])
    expect(fp32.bytes).toBe((864 + 32 + 9216) * 4)
    expect(fp32.bitOps).toBe((27_648 + 2_359_296) * 32 * 32)
    expect(fp32.peakActivationBytes).toBe((32_768 + 8192) * 4)
    const space = createQuantPolicySpace(2)
    const mixed = space.parse('int8:int8 int4:fp8_e4m3')
    const c = quantCosts(layers, mixed)
    expect(c.bytes).toBe(864 + 32 * 4 + 9216 / 2)
    expect(c.bitOps).toBe(27_648 * 64 + 2_359_296 * 4 * 8)
    expect(c.peakActivationBytes).toBe(32_768 + 8192) // the second layer at 8 bits
    expect(() => quantCosts(layers, mixed.slice(1))).toThrow(/1 layer formats for a network of 2/)
  })
})

describe('networkQuantLayers', () => {
  it('describes the weighted layers of a built network: weights, MACs, activation sizes', async () => {
    const { buildModel } = await import('@nasjs/models')
    const { nb201 } = await import('@nasjs/search-space')
    const model = buildModel(
      nb201,
      nb201.parse(
        '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|',
      ),
      { channels: 4, cellsPerStage: 1, inputShape: [8, 8, 3], seed: 1 },
    )
    const layers = networkQuantLayers(model)
    expect(layers.map((l) => l.className)).toEqual(
      model.layers.map((l) => l.getClassName()).filter((c) => c === 'Conv2D' || c === 'Dense'),
    )
    // the stem: 3x3x3x4 weights, 8x8 positions
    expect(layers[0]).toMatchObject({
      params: 108,
      biases: 0,
      macs: 64 * 108,
      inputElements: 192,
      outputElements: 256,
    })
    const dense = layers.at(-1)!
    expect(dense).toMatchObject({
      className: 'Dense',
      params: 16 * 10,
      biases: 10,
      macs: 160,
      outputElements: 10,
    })
    const bn = model.layers
      .filter((l) => l.getClassName() === 'BatchNormalization')
      .reduce((s, l) => s + l.countParams(), 0)
    expect(layers.reduce((s, l) => s + l.params + (l.biases ?? 0), 0)).toBe(model.countParams() - bn)
    const int8 = quantCosts(
      layers,
      layers.map(() => ({ weights: 'int8', activations: 'int8' })),
    )
    const fp32 = quantCosts(
      layers,
      layers.map(() => ({ weights: 'fp32', activations: 'fp32' })),
    )
    expect(int8.bitOps * 16).toBe(fp32.bitOps)
    model.dispose()
  })
})
