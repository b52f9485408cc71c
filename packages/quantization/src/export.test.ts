import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { buildModel, exportArtifacts } from '@nasjs/models'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { float16Bits, quantizeArtifacts } from './export.js'
import { fakeQuantFloat } from './fake-quant.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

/** IEEE half bits to a number (the reference decoding). */
function fromHalf(h: number): number {
  const s = h & 0x8000 ? -1 : 1
  const e = (h >> 10) & 0x1f
  const m = h & 0x3ff
  if (e === 0) return s * m * 2 ** -24
  if (e === 0x1f) return m === 0 ? s * Infinity : NaN
  return s * (1 + m / 1024) * 2 ** (e - 15)
}

describe('float16Bits', () => {
  it('rounds to the nearest half (ties to even), as the float16 simulation does', () => {
    expect(float16Bits(1)).toBe(0x3c00)
    expect(float16Bits(-2)).toBe(0xc000)
    expect(float16Bits(65504)).toBe(0x7bff)
    expect(float16Bits(65520)).toBe(0x7c00) // the tie above the largest half rounds to infinity
    expect(float16Bits(2 ** -24)).toBe(0x0001)
    expect(float16Bits(2 ** -25)).toBe(0x0000) // a tie between 0 and the smallest subnormal: even
    expect(float16Bits(3 * 2 ** -25)).toBe(0x0002)
    expect(float16Bits(1 + 2 ** -11)).toBe(0x3c00) // a tie: the even mantissa
    expect(float16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02)
    expect(Number.isNaN(fromHalf(float16Bits(NaN)))).toBe(true)
    const rng = new Rng(3)
    const values = Array.from(
      { length: 5000 },
      () => (rng.uniform() < 0.5 ? -1 : 1) * 2 ** (rng.uniform() * 40 - 26),
    )
    const x = tf.tensor1d(values)
    const sim = fakeQuantFloat(x, 'fp16').dataSync()
    const xs = x.dataSync()
    xs.forEach((v, i) => expect(fromHalf(float16Bits(v)) + 0).toBe(sim[i]! + 0))
    x.dispose()
  })
})

describe('quantizeArtifacts', () => {
  it('writes weights plain TF.js loads and dequantizes: uint8 in a quarter of the bytes, close to float', async () => {
    const model = buildModel(
      nb201,
      nb201.parse(
        '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|',
      ),
      { channels: 8, cellsPerStage: 1, inputShape: [8, 8, 3], seed: 2 },
    )
    const a = await exportArtifacts(model)
    const x = tf.randomUniform([16, 8, 8, 3], 0, 1, 'float32', 4)
    const want = model.predict(x) as tf.Tensor
    const scale = tf.tidy(() => tf.max(tf.abs(want)).dataSync()[0]!)
    const floatBytes = (a.weightData as ArrayBuffer).byteLength
    const errors: Record<string, number> = {}
    for (const dtype of ['uint8', 'uint16', 'float16'] as const) {
      const q = quantizeArtifacts(a, dtype, { minElements: 0 })
      const bytes = (q.weightData as ArrayBuffer).byteLength
      expect(bytes).toBe(floatBytes / (dtype === 'uint8' ? 4 : 2))
      expect(q.weightSpecs!.every((s) => s.quantization?.dtype === dtype)).toBe(true)
      const loaded = await tfl.loadLayersModel(tf.io.fromMemory(q))
      const got = loaded.predict(x) as tf.Tensor
      errors[dtype] = tf.tidy(() => tf.max(tf.abs(tf.sub(want, got))).dataSync()[0]!) / scale
      got.dispose()
      loaded.dispose()
    }
    expect(errors['uint8']).toBeLessThan(0.1)
    expect(errors['uint16']).toBeLessThan(errors['uint8']!)
    expect(errors['float16']).toBeLessThan(0.01)
    // by default the small tensors (the BatchNorms' 8 channels here) stay float32
    const small = quantizeArtifacts(a, 'uint8')
    for (const s of small.weightSpecs!) {
      const n = s.shape.reduce((p, d) => p * d, 1)
      expect(s.quantization === undefined).toBe(n < 64)
    }
    expect(() => quantizeArtifacts(a, 'int4' as never)).toThrow(/unknown weight dtype/)
    await expectNoLeaks(() => {
      quantizeArtifacts(a, 'uint8')
    })
    tf.dispose([x, want])
    model.dispose()
  })
})
