import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { darts } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildDarts, dartsCost, type DartsNetworkOptions } from './darts.js'
import { errorOf, modelMacs, size, trainableCount } from './testing-internal/model-checks.js'

/** DARTS (second order), `DARTS_V2` of the DARTS code's genotypes.py. */
const DARTS_V2 = darts.parse(
  "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
)
/** PC-DARTS on CIFAR-10, `PC_DARTS_cifar` of the PC-DARTS code's genotypes.py. */
const PC_DARTS = darts.parse(
  "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))",
)

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

describe('dartsCost and buildDarts: the published networks', () => {
  // count_parameters_in_MB of the reference code leaves the auxiliary head out: 3.349342 and
  // 3.634678 (the papers: 3.3 M and 3.6 M)
  it.each([
    ['DARTS (V2)', DARTS_V2, 3_349_342, 528_359_050, 3_825_768, 529_054_868],
    ['PC-DARTS', PC_DARTS, 3_634_678, 556_670_602, 4_111_104, 557_366_420],
  ] as const)('%s at 36 channels, 20 cells, CIFAR-10', (_, arch, params, flops, auxParams, auxFlops) => {
    expect(dartsCost(arch)).toEqual({ params, flops })
    expect(dartsCost(arch, { auxiliary: true })).toEqual({ params: auxParams, flops: auxFlops })
    for (const auxiliary of [false, true]) {
      const model = buildDarts(arch, { auxiliary })
      const cost = dartsCost(arch, { auxiliary })
      expect(trainableCount(model)).toBe(cost.params)
      expect(modelMacs(model)).toBe(cost.flops)
      // countParams() also counts BatchNorm's moving mean and variance, which are not parameters
      const moving = model.nonTrainableWeights
      expect(moving.every((w) => /moving_(mean|variance)/.test(w.originalName))).toBe(true)
      expect(model.countParams()).toBe(cost.params + moving.reduce((s, w) => s + size(w.shape), 0))
      expect(model.outputs.map((o) => o.shape)).toEqual(
        auxiliary
          ? [
              [null, 10],
              [null, 10],
            ]
          : [[null, 10]],
      )
      model.dispose()
    }
  })
})

describe('buildDarts', () => {
  it('countParams() and the layers MACs equal dartsCost for random architectures', () => {
    const rng = new Rng(11)
    const sizes: DartsNetworkOptions[] = [
      { channels: 8, layers: 5, inputShape: [16, 16, 1], classes: 3 },
      { channels: 6, layers: 8, auxiliary: true, dropPath: 0.2 },
      { channels: 3, layers: 1, inputShape: [8, 12, 2] }, // one reduction cell
      { channels: 5, layers: 2, inputShape: [8, 8, 3] }, // two reduction cells in a row
    ]
    for (let i = 0; i < 8; i++) {
      const arch = darts.sample(rng)
      const options = { ...sizes[i % sizes.length]!, seed: i }
      const model = buildDarts(arch, options)
      const cost = dartsCost(arch, options)
      expect(trainableCount(model), darts.format(arch)).toBe(cost.params)
      expect(modelMacs(model), darts.format(arch)).toBe(cost.flops)
      model.dispose()
    }
  })

  it('pools with stride 2 as PyTorch (windows centred on even pixels; the average leaves padding out)', () => {
    const avgV2 = darts.validate({
      normal: DARTS_V2.normal,
      reduce: DARTS_V2.reduce.map((n) => ({
        inputs: n.inputs,
        ops: n.ops.map((op) => (op === 'max_pool_3x3' ? 'avg_pool_3x3' : op)),
      })),
    })
    const x = tf.randomNormal([1, 6, 6, 1], 0, 1, 'float32', 5)
    const v = x.dataSync()
    for (const [arch, kind] of [
      [DARTS_V2, 'MaxPooling2D'],
      [avgV2, 'AveragePooling2D'],
    ] as const) {
      const model = buildDarts(arch, { channels: 2, layers: 3 })
      const subsample = model.layers.find(
        (l) => l.getClassName() === kind && (l.getConfig().strides as number[])[0] === 2,
      )!
      const pool = subsample.inboundNodes[0]!.inboundLayers[0]!
      expect(pool.getConfig()).toMatchObject({ poolSize: [3, 3], strides: [1, 1], padding: 'same' })
      const y = tf.tidy(() => Array.from((subsample.apply(pool.apply(x)) as tf.Tensor).dataSync()))
      const expected: number[] = []
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++) {
          const window: number[] = []
          for (let r = 2 * i - 1; r <= 2 * i + 1; r++)
            for (let q = 2 * j - 1; q <= 2 * j + 1; q++)
              if (r >= 0 && r < 6 && q >= 0 && q < 6) window.push(v[r * 6 + q]!)
          expected.push(
            kind === 'MaxPooling2D' ? Math.max(...window) : window.reduce((s, t) => s + t) / window.length,
          )
        }
      y.forEach((t, i) => expect(t).toBeCloseTo(expected[i]!, 5))
      model.dispose()
    }
    x.dispose()
  })

  it('runs forward without leaking tensors, and saves and loads back with equal outputs', async () => {
    const model = buildDarts(PC_DARTS, { channels: 4, layers: 3, auxiliary: true, dropPath: 0.3, seed: 5 })
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 2)
    await expectNoLeaks(() => {
      tf.tidy(() => {
        const ys = model.predict(x) as tf.Tensor[]
        expect(ys.map((y) => y.shape)).toEqual([
          [2, 10],
          [2, 10],
        ])
      })
    })
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
    const diffs = tf.tidy(() => {
      const a = model.predict(x) as tf.Tensor[]
      const b = loaded.predict(x) as tf.Tensor[]
      return a.map((t, i) => tf.max(tf.abs(tf.sub(t, b[i]!))).dataSync()[0]!)
    })
    expect(diffs).toHaveLength(2)
    for (const d of diffs) expect(d).toBeLessThan(1e-5)
    expect(loaded.layers.filter((l) => l.getClassName() === 'NasDropPath').length).toBeGreaterThan(0)
    x.dispose()
    model.dispose()
    loaded.dispose()
  })

  it('drop-path is the identity at inference and active in training', () => {
    const options = { channels: 4, layers: 3, inputShape: [16, 16, 3] as [number, number, number] }
    const plain = buildDarts(PC_DARTS, options)
    const dropped = buildDarts(PC_DARTS, { ...options, dropPath: 0.5 })
    expect(dropped.layers.filter((l) => l.getClassName() === 'NasDropPath').length).toBe(7 + 8 + 8) // every op but the normal cell's identity
    expect(dropped.getWeights().map((w) => w.shape)).toEqual(plain.getWeights().map((w) => w.shape))
    dropped.setWeights(plain.getWeights())
    const x = tf.randomNormal([4, 16, 16, 3], 0, 1, 'float32', 3)
    const maxDiff = (training: boolean) =>
      tf.tidy(() => {
        const a = plain.apply(x, { training }) as tf.Tensor
        const b = dropped.apply(x, { training }) as tf.Tensor
        return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!
      })
    expect(maxDiff(false)).toBe(0)
    expect(maxDiff(true)).toBeGreaterThan(1e-3)
    x.dispose()
    plain.dispose()
    dropped.dispose()
  })

  it('trains: every weight gets a finite gradient, the dilated kernels a non-zero one', () => {
    const model = buildDarts(PC_DARTS, { channels: 4, layers: 3, inputShape: [16, 16, 3], dropPath: 0.2 })
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 4)
    const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([1, 7], 'int32'), 10))
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable)
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor),
      vars,
    )
    expect(Number.isFinite(value.dataSync()[0])).toBe(true)
    expect(Object.keys(grads)).toHaveLength(vars.length)
    for (const g of Object.values(grads)) expect(tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0])).toBe(1)
    const dilated = model.layers.filter((l) => l.getClassName() === 'NasDilatedDepthwiseConv2d')
    expect(dilated.length).toBeGreaterThan(0)
    for (const l of dilated) {
      const g = grads[(l.trainableWeights[0]!.read() as tf.Variable).name]!
      expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])).toBeGreaterThan(0)
    }
    tf.dispose([x, labels, value, grads])
    model.dispose()
  })

  it('same seed, same weights; another seed, other weights', () => {
    const w = (seed: number) => {
      const m = buildDarts(DARTS_V2, { channels: 2, layers: 3, seed })
      const v = Array.from(m.getWeights()[0]!.dataSync())
      m.dispose()
      return v
    }
    expect(w(1)).toEqual(w(1))
    expect(w(2)).not.toEqual(w(1))
  })

  it('bad options are one CONFIG_INVALID NasError naming the field and the value', () => {
    const cases: [DartsNetworkOptions, string, unknown][] = [
      [{ channels: 0 }, 'channels', 0],
      [{ layers: 2.5 }, 'layers', 2.5],
      [{ inputShape: [30, 30, 3] }, 'inputShape', [30, 30, 3]],
      [{ dropPath: 1 }, 'dropPath', 1],
      [{ auxiliary: true, inputShape: [64, 64, 3] }, 'inputShape', [64, 64, 3]],
      [{ width: 2 } as never, 'width', { width: 2 }], // an unknown field: the value is the whole input
    ]
    for (const [options, field, value] of cases) {
      for (const f of [() => buildDarts(DARTS_V2, options), () => dartsCost(DARTS_V2, options)]) {
        const e = errorOf(f)
        expect(e.code).toBe('CONFIG_INVALID')
        expect(e.message).toContain(field)
        expect(e.value).toEqual(value)
      }
    }
    expect(
      errorOf(() => buildDarts(DARTS_V2, { auxiliary: true, inputShape: [64, 64, 3] })).message,
    ).toContain('64x64 inputs give 16x16')
    expect(errorOf(() => buildDarts({ normal: [], reduce: [] })).code).toBe('ARCH_INVALID')
  })
})
