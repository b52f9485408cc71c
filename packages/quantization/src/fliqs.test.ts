import { initBackend } from '@nasjs/backend'
import { buildModel, train, type Dataset } from '@nasjs/models'
import { loadDataset } from '@nasjs/models/node'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { networkQuantLayers, quantCosts } from './cost.js'
import { fliqsSearch } from './fliqs.js'

let data: { train: Dataset; valid: Dataset }
let weights: tf.Tensor[]
const CELL = nb201.parse(
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
)
const build = () =>
  buildModel(nb201, CELL, { channels: 8, cellsPerStage: 1, inputShape: [8, 8, 1], classes: 10, seed: 2 })
/** A fresh copy of the trained network (the search changes its weights). */
function trained(): tfl.LayersModel {
  const m = build()
  m.setWeights(weights)
  return m
}

beforeAll(async () => {
  await initBackend({ quiet: true })
  const d = await loadDataset('digits', { seed: 1 })
  data = { train: d.train, valid: d.valid }
  const m = build()
  await train(m, d.train, { optimizer: 'sgd', lr: 0.05, epochs: 4, batchSize: 32, seed: 1 })
  weights = m.getWeights().map((w) => w.clone())
  m.dispose()
}, 120_000)

describe('fliqsSearch', () => {
  it('without a cost it keeps the precise format; with a low target it moves to the cheap one', async () => {
    const run = async (beta: number, target: number) => {
      const model = trained()
      const r = await fliqsSearch(model, data, {
        formats: ['int2', 'int8'],
        beta,
        target,
        steps: 80,
        warmup: 0.2,
        controllerLr: 0.1,
        seed: 3,
      })
      const share8 = r.policy.filter((p) => p.weights === 'int8').length / r.policy.length
      r.network.dispose()
      model.dispose()
      return { r, share8 }
    }
    const free = await run(0, 1)
    const cheap = await run(-2, 0.3)
    expect(free.share8).toBeGreaterThan(0.7)
    expect(cheap.share8).toBeLessThan(free.share8 - 0.3)
    expect(cheap.r.cost).toBeLessThan(free.r.cost)
    // near its target: the absolute reward pulls the cost there from either side
    expect(cheap.r.cost / cheap.r.target).toBeGreaterThan(0.8)
    expect(cheap.r.cost / cheap.r.target).toBeLessThan(1.25)
    // the controller's rewards follow the definition; the entropy falls as it settles
    const scored = free.r.history.filter((h) => h.reward !== undefined)
    expect(scored.length).toBe(80 - 16)
    for (const h of scored.slice(0, 5)) expect(h.reward).toBeCloseTo(h.quality!, 12)
    expect(free.r.history.at(-1)!.entropy).toBeLessThan(free.r.history[0]!.entropy)
    // the policy's cost is the one quantCosts gives
    const m = build()
    expect(cheap.r.cost).toBe(quantCosts(networkQuantLayers(m), cheap.r.policy).bytes)
    m.dispose()
  }, 120_000)

  it('same seed, same search; nothing leaks', async () => {
    const once = async () => {
      const model = trained()
      const r = await fliqsSearch(model, data, { steps: 12, warmup: 0.5, seed: 4 })
      const out = { policy: r.policy, probabilities: r.probabilities, history: r.history }
      r.network.dispose()
      model.dispose()
      return out
    }
    const first = await once()
    const before = tf.memory().numTensors
    const second = await once()
    expect(tf.memory().numTensors).toBe(before)
    expect(second).toEqual(first)
  }, 60_000)

  it('rejects bad options with one clear error', async () => {
    const model = trained()
    await expect(fliqsSearch(model, data, { formats: ['int8'] })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    })
    await expect(fliqsSearch(model, data, { formats: ['int8', 'int3x'] })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      value: 'int3x',
    })
    await expect(fliqsSearch(model, data, { formats: ['int8', 'int8'] })).rejects.toThrow(/listed twice/)
    await expect(fliqsSearch(model, data, { beta: 1 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    const empty = { ...data.valid, x: data.valid.x.subarray(0, 0), y: data.valid.y.subarray(0, 0) }
    await expect(fliqsSearch(model, { train: data.train, valid: empty })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      message: expect.stringContaining('valid split is empty'),
    })
    model.dispose()
  })
})
