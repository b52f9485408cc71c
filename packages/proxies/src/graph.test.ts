import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { buildModel, modelCost } from '@nasjs/models'
import { darts, nb101, nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { countFlops, countTrainableParams } from './cost.js'
import { isRelu, prunableWeights, runGraph } from './graph.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

/** A small NB201 network of a random cell (4 channels, one cell per stage, 8x8 inputs). */
const tinyNb201 = (seed: number) =>
  buildModel(nb201, nb201.sample(new Rng(seed)), {
    channels: 4,
    cellsPerStage: 1,
    inputShape: [8, 8, 3],
    seed: 1,
  })

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)

describe('runGraph', () => {
  it('gives model.predict outputs with moving BatchNorm statistics, and leaves the model untouched in batch mode', () => {
    const model = tinyNb201(3)
    const x = tf.randomNormal([5, 8, 8, 3], 0, 1, 'float32', 7)
    const before = tf.memory().numTensors
    const diff = tf.tidy(() =>
      maxDiff(runGraph(model, x, { batchNorm: 'moving' }).output, model.predict(x) as tf.Tensor),
    )
    expect(diff).toBeLessThan(1e-5)
    const moving = model.getWeights().map((w) => w.dataSync().slice())
    tf.tidy(() => {
      runGraph(model, x, { batchNorm: 'batch' })
    })
    expect(model.getWeights().map((w) => w.dataSync().slice())).toEqual(moving)
    // batch statistics: every BatchNorm output has zero mean per channel
    const taps = tf.tidy(() => {
      const run = runGraph(model, x, {
        batchNorm: 'batch',
        tap: (l) => l.getClassName() === 'BatchNormalization',
      })
      return run.taps.map((t) => tf.max(tf.abs(tf.mean(t.value, [0, 1, 2]))).dataSync()[0]!)
    })
    expect(taps.length).toBeGreaterThan(3)
    for (const m of taps) expect(m).toBeLessThan(1e-4)
    expect(tf.memory().numTensors).toBe(before)
    x.dispose()
    model.dispose()
  })

  it('adds probes to layer outputs, so gradients reach activations', () => {
    const model = tinyNb201(5)
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 7)
    const dense = model.layers.find((l) => l.getClassName() === 'Dense')!
    const out = tf.tidy(() => {
      const probe = tf.zeros([2, 10])
      const g = tf.grad((p: tf.Tensor) =>
        tf.sum(runGraph(model, x, { probes: new Map([[dense.name, p]]) }).output),
      )(probe)
      return g.dataSync()
    })
    expect([...out]).toEqual(Array(20).fill(1))
    x.dispose()
    model.dispose()
  })
  it('holds ReLU activation patterns given as reluMasks', () => {
    const model = tinyNb201(6)
    const x1 = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 8)
    const x2 = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 9)
    const before = tf.memory().numTensors
    const [same, held, zeroed] = tf.tidy(() => {
      const masks = new Map<string, tf.Tensor>()
      const zeros = new Map<string, tf.Tensor>()
      for (const t of runGraph(model, x1, { tap: isRelu }).taps) {
        masks.set(t.layer.name, tf.cast(tf.greater(t.value, 0), 'float32'))
        zeros.set(t.layer.name, tf.zerosLike(t.value))
      }
      expect(masks.size).toBeGreaterThan(3)
      return [
        // at the point where the patterns were taken, masks change nothing
        maxDiff(runGraph(model, x1, { reluMasks: masks }).output, runGraph(model, x1).output),
        // elsewhere the network is linear between the held patterns: different outputs
        maxDiff(runGraph(model, x2, { reluMasks: masks }).output, runGraph(model, x2).output),
        // every unit held off: ReLU outputs are zero
        Math.max(
          ...runGraph(model, x1, { reluMasks: zeros, tap: isRelu }).taps.map(
            (t) => tf.max(tf.abs(t.value)).dataSync()[0]!,
          ),
        ),
      ]
    })
    expect(same).toBeLessThan(1e-5)
    expect(held).toBeGreaterThan(1e-3)
    expect(zeroed).toBe(0)
    expect(tf.memory().numTensors).toBe(before)
    tf.dispose([x1, x2])
    model.dispose()
  })
})

describe('countFlops and countTrainableParams', () => {
  it('equal the analytic counts of @nasjs/models', () => {
    const rng = new Rng(11)
    for (const [space, options] of [
      [nb201, { channels: 16, cellsPerStage: 5 }],
      [nb201, { channels: 8, cellsPerStage: 1, inputShape: [28, 28, 1] }],
      [nb101, { stemChannels: 8, inputShape: [16, 16, 3] }],
      [darts, { channels: 8, layers: 5, inputShape: [16, 16, 3] }],
    ] as const) {
      for (let i = 0; i < 3; i++) {
        const arch = space.sample(rng)
        const model = buildModel(space as never, arch as never, options as never)
        const cost = modelCost(space as never, arch as never, options as never)
        expect(countTrainableParams(model), `${JSON.stringify(options)} params`).toBe(cost.params)
        expect(countFlops(model), `${JSON.stringify(options)} flops`).toBe(cost.flops)
        expect(prunableWeights(model).length).toBeGreaterThan(0)
        model.dispose()
      }
    }
  })
})
