import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { transformer, vit } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { exportArtifacts } from './export.js'
import { buildTransformer, buildVit, transformerCost, vitCost } from './vit.js'
import { codeOf, trainableCount } from './testing-internal/model-checks.js'

async function roundTrip(model: tfl.LayersModel, x: tf.Tensor): Promise<number> {
  let saved: tf.io.ModelArtifacts | undefined
  await model.save(
    tf.io.withSaveHandler(
      (a) => (
        (saved = a),
        Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })
      ),
    ),
  )
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!))
  const diff = tf.tidy(() => {
    const a = model.predict(x) as tf.Tensor
    const b = loaded.predict(x) as tf.Tensor
    return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!
  })
  loaded.dispose()
  return diff
}

/** one SGD step on a cross-entropy loss; every trainable weight gets a finite gradient */
function trainStep(model: tfl.LayersModel, x: tf.Tensor, classes: number): void {
  const labels = tf.oneHot(tf.tensor1d([0, 1], 'int32'), classes)
  const opt = tf.train.sgd(0.01)
  const { value, grads } = tf.variableGrads(() =>
    tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(labels, model.predict(x) as tf.Tensor),
  )
  for (const w of model.trainableWeights) {
    const g = grads[w.name]
    expect(g, w.name).toBeDefined()
    expect(g!.shape).toEqual(w.shape)
    expect(
      tf.tidy(() => tf.all(tf.isFinite(g!)).dataSync()[0]),
      w.name,
    ).toBe(1)
  }
  expect(Number.isFinite(value.dataSync()[0]!)).toBe(true)
  opt.applyGradients(grads)
  for (const w of model.trainableWeights) {
    expect(
      tf.tidy(() => tf.all(tf.isFinite(w.read())).dataSync()[0]),
      w.name,
    ).toBe(1)
  }
  tf.dispose([labels, value, ...Object.values(grads)])
  opt.dispose()
}

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const SMALL_VIT = vit.parse('d1-e64-h2-r2-p4 | d2-e96-h12-r3.5-p2')
const SMALL_TEXT = transformer.parse(
  'h128/sa:2:wma/ff512 | h256/l:2:dft/ff512,512 | h128/c:4:5/ff512 | h128/sa:8:sdp/ff512 | h128/l:4:dct/ff512,1024,512',
)

describe('buildVit / vitCost', () => {
  it('analytic params equal the built trainable weights (random architectures)', () => {
    const rng = new Rng(11)
    for (let i = 0; i < 6; i++) {
      const arch = vit.sample(rng)
      const options = { inputShape: [8, 8, 3] as [number, number, number], classes: 3 + i }
      const m = buildVit(arch, options)
      expect(trainableCount(m), vit.format(arch)).toBe(vitCost(arch, options).params)
      expect(m.outputs[0]!.shape).toEqual([null, 3 + i])
      m.dispose()
    }
  })

  it('counts a one-stage ViT by hand (params and FLOPs)', () => {
    // 32x32 input, patch 4: 64 patches + class token, dim 64, 2 heads of 32, MLP 128, 10 classes
    const d = 64
    const n = 65
    const block = 4 * d + 4 * (d * d + d) + (d * 128 + 128) + (128 * d + d)
    const params = 48 * d + d + n * d + d + block + 2 * d + d * 10 + 10
    const flops =
      64 * (48 * d + d) + n * (4 * (d * d + d) + d * 128 + 128 + 128 * d + d) + 2 * n * n * d + d * 10 + 10
    expect(vitCost(vit.parse('d1-e64-h2-r2-p4'))).toEqual({ params, flops })
  })

  it('forward without leaks, a train step with finite gradients for every weight', async () => {
    const m = buildVit(SMALL_VIT, { inputShape: [8, 8, 3], classes: 4, seed: 3 })
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1)
    await expectNoLeaks(() => {
      tf.tidy(() => {
        expect((m.predict(x) as tf.Tensor).shape).toEqual([2, 4])
      })
    })
    trainStep(m, x, 4)
    x.dispose()
    m.dispose()
  })

  it('saves and loads back with equal outputs', async () => {
    const m = buildVit(SMALL_VIT, { inputShape: [8, 8, 3], classes: 4, seed: 5 })
    const x = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 2)
    expect(await roundTrip(m, x)).toBeLessThan(1e-5)
    x.dispose()
    m.dispose()
  })

  it('exportArtifacts refuses the custom layers (NOT_REGISTERED): a saved model loads with @nasjs/models', async () => {
    const m = buildVit(SMALL_VIT, { inputShape: [8, 8, 3] })
    await expect(exportArtifacts(m)).rejects.toMatchObject({ code: 'NOT_REGISTERED' })
    m.dispose()
  })

  it('bad options are one CONFIG_INVALID NasError', () => {
    expect(codeOf(() => buildVit(SMALL_VIT, { classes: 1 }))).toBe('CONFIG_INVALID')
    expect(codeOf(() => buildVit(SMALL_VIT, { patchSize: 4 } as never))).toBe('CONFIG_INVALID')
    expect(codeOf(() => vitCost(SMALL_VIT, { inputShape: [0, 8, 3] }))).toBe('CONFIG_INVALID')
    expect(codeOf(() => vitCost({ stages: [] }))).toBe('ARCH_INVALID')
  })
})

describe('buildTransformer / transformerCost', () => {
  it('analytic params equal the built trainable weights (random architectures, both poolings)', () => {
    const rng = new Rng(12)
    for (let i = 0; i < 6; i++) {
      const arch = transformer.sample(rng)
      const options = {
        vocabSize: 30,
        sequenceLength: 6,
        classes: 2 + i,
        pooling: i % 2 ? 'cls' : 'mean',
      } as const
      const m = buildTransformer(arch, options)
      expect(trainableCount(m), transformer.format(arch)).toBe(transformerCost(arch, options).params)
      expect(m.outputs[0]!.shape).toEqual([null, 2 + i])
      m.dispose()
    }
  })

  it('forward without leaks, a train step with finite gradients for every weight (every attention mode)', async () => {
    for (const pooling of ['mean', 'cls'] as const) {
      const m = buildTransformer(SMALL_TEXT, { vocabSize: 20, sequenceLength: 7, classes: 3, pooling })
      const x = tf.tensor2d([
        [1, 2, 3, 4, 5, 6, 7],
        [19, 0, 0, 3, 3, 8, 1],
      ])
      await expectNoLeaks(() => {
        tf.tidy(() => {
          expect((m.predict(x) as tf.Tensor).shape).toEqual([2, 3])
        })
      })
      trainStep(m, x, 3)
      x.dispose()
      m.dispose()
    }
  })

  it('saves and loads back with equal outputs', async () => {
    const m = buildTransformer(SMALL_TEXT, { vocabSize: 20, sequenceLength: 7, pooling: 'cls', seed: 4 })
    const x = tf.tensor2d([
      [1, 2, 3, 4, 5, 6, 7],
      [19, 0, 0, 3, 3, 8, 1],
    ])
    expect(await roundTrip(m, x)).toBeLessThan(1e-5)
    x.dispose()
    m.dispose()
  })

  it('bad options are one CONFIG_INVALID NasError', () => {
    expect(codeOf(() => buildTransformer(SMALL_TEXT, { vocabSize: 1 }))).toBe('CONFIG_INVALID')
    expect(codeOf(() => buildTransformer(SMALL_TEXT, { pooling: 'max' } as never))).toBe('CONFIG_INVALID')
    expect(codeOf(() => transformerCost(SMALL_TEXT, { sequenceLength: 1.5 }))).toBe('CONFIG_INVALID')
    expect(codeOf(() => transformerCost(SMALL_TEXT, { width: 2 } as never))).toBe('CONFIG_INVALID')
  })
})
