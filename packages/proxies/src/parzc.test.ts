import { initBackend } from '@nasjs/backend'
import { Rng, isNasError, kendallTau } from '@nasjs/core'
import { buildModel } from '@nasjs/models'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { diffKendall, layerwiseStats, parzc, parzcFeatures } from './parzc.js'
import { createProxyRegistry } from './registry.js'
import { randomBatch, scoreProxies } from './score.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

describe('ParZC', () => {
  it('layerwise statistics: one value per kernel, totals equal the whole-network proxies', async () => {
    const model = buildModel(
      nb201,
      nb201.parse(
        '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
      ),
      {
        channels: 4,
        cellsPerStage: 1,
        inputShape: [8, 8, 3],
      },
    )
    const batch = randomBatch([8, 8, 3], 8, 10, new Rng(1))
    const before = tf.memory().numTensors
    const stats = await layerwiseStats(model, batch)
    expect(tf.memory().numTensors).toBe(before)
    const whole = await scoreProxies(
      model,
      createProxyRegistry().parseList('snip,grad_norm,synflow'),
      batch,
      new Rng(2),
    )
    expect(stats.totals.snip).toBeCloseTo(whole[0]!.score, 4)
    expect(stats.totals.grad_norm).toBeCloseTo(whole[1]!.score, 4)
    expect(stats.totals.synflow).toBeCloseTo(whole[2]!.score, 4)
    // stem, 5 cell convolutions x 3 stages, 3 per reduction block x 2, head
    expect(stats.grad_norm).toHaveLength(1 + 15 + 6 + 1)
    expect(stats.snip).toHaveLength(stats.grad_norm.length)
    expect(stats.synflow).toHaveLength(stats.grad_norm.length)
    const f = parzcFeatures(stats, 30)
    expect(f).toHaveLength(90)
    expect(Math.max(...f)).toBe(1)
    expect(Math.min(...f)).toBe(0)
    expect(f.slice(23, 30)).toEqual(Array(7).fill(0)) // padding
    model.dispose()
  })

  it('DiffKendall is minus the smoothed Kendall agreement: -1-ish for equal orders, +1-ish for reversed ones', () => {
    const a = tf.tensor1d([0, 10, 20, 30])
    const same = diffKendall(a, tf.tensor1d([1, 11, 21, 31]), 0.5).dataSync()[0]!
    const reversed = diffKendall(a, tf.tensor1d([31, 21, 11, 1]), 0.5).dataSync()[0]!
    expect(same).toBeLessThan(-0.9)
    expect(reversed).toBeGreaterThan(0.9)
  })

  it('learns a ranking of features it is told about, and predicts with a spread from its Bayesian layers', async () => {
    const rng = new Rng(3)
    const X = Array.from({ length: 60 }, () => Array.from({ length: 12 }, () => rng.uniform()))
    const y = X.map((r) => 3 * r[0]! - 2 * r[5]! + 0.5 * r[7]! * r[7]!)
    const before = tf.memory().numTensors
    const model = await parzc({
      epochs: 60,
      hidden: 16,
      blocks: 1,
      projected: 32,
      patches: 4,
      learningRate: 3e-3,
    }).fit(X.slice(0, 40), y.slice(0, 40))
    const p = model.predict(X.slice(40))
    expect(kendallTau(Array.from(p.mean), y.slice(40))).toBeGreaterThan(0.5)
    expect(p.std!.some((s) => s > 0)).toBe(true)
    model.dispose()
    expect(tf.memory().numTensors).toBe(before)
    let e: unknown
    try {
      parzc({ projected: 30, patches: 4 })
    } catch (err) {
      e = err
    }
    expect(isNasError(e) && e.code === 'CONFIG_INVALID').toBe(true)
    await expect(parzc().fit([[1, 2]], [1])).rejects.toMatchObject({ code: 'INPUT_INVALID' })
  }, 60_000)
})
