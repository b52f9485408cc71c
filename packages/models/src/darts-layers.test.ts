import { expectNoLeaks, initBackend } from '@nasjs/backend'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DilatedDepthwiseConv2d, DropPath } from './darts-layers.js'

let tensorsAtStart = 0
beforeAll(async () => {
  await initBackend({ quiet: true })
  tensorsAtStart = tf.memory().numTensors
})
afterAll(() => {
  // every model and layer the tests make is disposed
  const left = tf.memory().numTensors - tensorsAtStart
  if (left !== 0) throw new Error(`${left} tensors leaked by this file's tests`)
})

/** PyTorch's Conv2d(C, C, k, stride, padding, dilation, groups=C) on one NHWC image, by loops. */
function naiveDepthwise(
  x: Float32Array,
  [h, w, c]: [number, number, number],
  kernel: Float32Array,
  k: number,
  { stride, padding, dilation }: { stride: number; padding: number; dilation: number },
): { out: number[]; ho: number; wo: number } {
  const span = dilation * (k - 1) + 1
  const ho = Math.floor((h + 2 * padding - span) / stride) + 1
  const wo = Math.floor((w + 2 * padding - span) / stride) + 1
  const out: number[] = []
  for (let i = 0; i < ho; i++)
    for (let j = 0; j < wo; j++)
      for (let ch = 0; ch < c; ch++) {
        let s = 0
        for (let a = 0; a < k; a++)
          for (let b = 0; b < k; b++) {
            const r = i * stride - padding + a * dilation
            const q = j * stride - padding + b * dilation
            if (r < 0 || r >= h || q < 0 || q >= w) continue
            s += x[(r * w + q) * c + ch]! * kernel[(a * k + b) * c + ch]!
          }
        out.push(s)
      }
  return { out, ho, wo }
}

describe('DilatedDepthwiseConv2d', () => {
  it.each([
    [3, 1, 10],
    [3, 2, 10],
    [5, 1, 9],
    [5, 2, 9],
  ])('k=%i stride %i on %i pixels equals the dilated convolution PyTorch computes', async (k, stride, n) => {
    const c = 3
    const x = tf.randomNormal([1, n, n, c], 0, 1, 'float32', 7)
    const layer = new DilatedDepthwiseConv2d({
      kernelSize: k,
      dilation: 2,
      strides: stride,
      padding: k - 1,
      seed: 3,
    })
    tf.dispose(layer.apply(x) as tf.Tensor) // builds the kernel
    const kernel = layer.getWeights()[0]!.dataSync() as Float32Array
    const ref = naiveDepthwise(x.dataSync() as Float32Array, [n, n, c], kernel, k, {
      stride,
      padding: k - 1,
      dilation: 2,
    })
    await expectNoLeaks(() => {
      const y = layer.apply(x) as tf.Tensor
      expect(y.shape).toEqual([1, ref.ho, ref.wo, c])
      const got = y.dataSync()
      ref.out.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4))
      y.dispose()
    })
    expect(layer.computeOutputShape([null, n, n, c])).toEqual([null, ref.ho, ref.wo, c])
    expect(layer.countParams()).toBe(k * k * c)
    layer.dispose()
    x.dispose()
  })

  it('has a gradient for its kernel (a tap of a dilated kernel reads every second pixel)', () => {
    const x = tf.tensor4d(
      Array.from({ length: 36 }, (_, i) => i),
      [1, 6, 6, 1],
    )
    const layer = new DilatedDepthwiseConv2d({ kernelSize: 3, dilation: 2, strides: 2 })
    tf.dispose(layer.apply(x) as tf.Tensor) // builds the kernel
    const kernel = layer.trainableWeights[0]!.read() as tf.Variable
    const { value, grads } = tf.variableGrads(() => tf.sum<tf.Scalar>(layer.apply(x) as tf.Tensor), [kernel])
    // one output pixel, at (0, 0): tap (a, b) reads x[2a][2b] = 12 a + 2 b
    expect(Array.from(grads[kernel.name]!.dataSync())).toEqual([0, 2, 4, 12, 14, 16, 24, 26, 28])
    tf.dispose([value, grads])
    layer.dispose()
    x.dispose()
  })
})

describe('DropPath', () => {
  it('is the identity at inference and drops whole samples, scaled by 1 / keep, in training', () => {
    const x = tf.randomNormal([64, 3, 3, 2], 0, 1, 'float32', 1)
    const layer = new DropPath({ rate: 0.25, seed: 9 })
    const xs = (x as tf.Tensor4D).arraySync()
    for (const kwargs of [{}, { training: false }]) {
      const y = layer.apply(x, kwargs) as tf.Tensor
      expect(y.arraySync()).toEqual(xs)
      y.dispose()
    }
    const y = layer.apply(x, { training: true }) as tf.Tensor4D
    const ys = y.arraySync()
    const kinds = ys.map((sample, n) => {
      const flat = sample.flat(2)
      const ref = xs[n]!.flat(2)
      if (flat.every((v) => v === 0)) return 'dropped'
      return flat.every((v, i) => Math.abs(v - ref[i]! / 0.75) < 1e-5) ? 'kept' : 'other'
    })
    expect(kinds).not.toContain('other')
    const dropped = kinds.filter((k) => k === 'dropped').length
    expect(dropped).toBeGreaterThan(4) // 16 expected of 64
    expect(dropped).toBeLessThan(32)
    layer.rate = 0
    const same = layer.apply(x, { training: true }) as tf.Tensor
    expect(same.arraySync()).toEqual(xs)
    tf.dispose([x, y, same])
  })

  it('is registered, and its config round-trips', () => {
    const layer = new DropPath({ rate: 0.2, seed: 4 })
    const cls = tf.serialization.SerializationMap.getMap().classNameMap.NasDropPath
    expect(cls).toBeDefined()
    const copy = tfl.layers.Layer.fromConfig(DropPath, layer.getConfig()) as DropPath
    expect([copy.rate, copy.seed]).toEqual([0.2, 4])
    expect(tf.serialization.SerializationMap.getMap().classNameMap.NasDilatedDepthwiseConv2d).toBeDefined()
  })
})
