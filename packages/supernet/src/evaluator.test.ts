import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { createStrategyRegistry, runSearch } from '@nasjs/strategies'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { ElasticMbv3 } from './elastic.js'
import { supernetEvaluator } from './evaluator.js'
import { evaluateSubnet, recalibrate } from './subnet.js'
import { caught, quadrants, TINY } from './testing-internal/fixtures.js'
import { trainSupernet } from './train.js'

let net: ElasticMbv3
const train = quadrants(64, 1)
const valid = quadrants(40, 2)
beforeAll(async () => {
  await initBackend({ quiet: true })
  net = new ElasticMbv3({ ...TINY, kernelTransform: false, seed: 5 })
  await trainSupernet(net, train, { schedule: 'bignas', epochs: 2, batchSize: 16, lr: 0.1 })
})

describe('supernetEvaluator', () => {
  it('scores a subnet by its recalibrated accuracy on the held-out images, with cheap costs', async () => {
    const { evaluator, info, cheapMetrics } = supernetEvaluator({
      net,
      data: { calibration: train, valid, test: valid },
      calibrationImages: 32,
    })
    expect(info.metrics).toEqual(['acc', 'test_acc', 'params', 'flops'])
    expect(info.cheapMetrics).toEqual(['params', 'flops'])
    const arch = net.space.sample(new Rng(3))
    const before = tf.memory().numTensors
    const m = await evaluator(arch, { signal: new AbortController().signal, report: () => {} })
    expect(tf.memory().numTensors).toBe(before)
    const bn = recalibrate(net, arch, train, { images: 32 })
    expect(m.acc).toBeCloseTo(100 * evaluateSubnet(net, arch, valid, { bn }).acc, 6)
    expect(m.test_acc).toBe(m.acc)
    expect(cheapMetrics(arch)).toEqual(net.cost(arch))
    expect({ params: m.params, flops: m.flops }).toEqual(net.cost(arch))
    // same subnet, same result
    expect(await evaluator(arch, { signal: new AbortController().signal, report: () => {} })).toEqual(m)
  })

  it('lets NSGA-II search the subnets of a trained supernet', async () => {
    const { evaluator, info, cheapMetrics } = supernetEvaluator({
      net,
      data: { calibration: train, valid },
      calibrationImages: 32,
    })
    const objectives = [
      { name: 'acc', direction: 'max' as const },
      { name: 'flops', direction: 'min' as const },
    ]
    const strategy = createStrategyRegistry().create(
      'nsga2',
      { populationSize: 6 },
      { space: net.space, rng: new Rng(1), objectives },
    )
    const r = await runSearch({
      space: net.space,
      strategy,
      evaluator,
      cheapMetrics,
      objectives: ['acc:max', 'flops:min'],
      budget: { evaluations: 12 },
      seed: 1,
    })
    expect(info.metrics).toContain('acc')
    expect(r.evaluations).toBe(12)
    expect(r.front.length).toBeGreaterThan(0)
  }, 120_000)

  it('refuses data the supernet cannot take', () => {
    const rgb = { ...valid, shape: [16, 16, 3], x: new Float32Array(40 * 768) }
    expect(caught(() => supernetEvaluator({ net, data: { calibration: train, valid: rgb } }))).toMatchObject({
      name: 'NasError',
      code: 'INPUT_INVALID',
    })
  })
})
