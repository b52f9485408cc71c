import { fc, test } from '@fast-check/vitest'
import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { ElasticMbv3 } from './elastic.js'
import { ComplexitySampler, extremeSubnet, sampleSubnet } from './sampling.js'
import { exportSubnet } from './subnet.js'
import { TINY } from './testing-internal/fixtures.js'

let net: ElasticMbv3
beforeAll(async () => {
  await initBackend({ quiet: true })
  net = new ElasticMbv3({ ...TINY, seed: 7 })
  // warm-up: TF.js layers cache a few constants on their first run
  tf.tidy(() => {
    const m = exportSubnet(net, extremeSubnet(net.config, 'smallest', 12))
    m.predict(tf.zeros([1, 12, 12, 1]))
    m.dispose()
  })
})
afterAll(() => net.dispose())

describe('every subnet', () => {
  test.prop([fc.integer({ min: 0, max: 2 ** 30 })], { numRuns: 12 })(
    'is a valid architecture of the space, its exported model has its parameters and outputs, and nothing leaks',
    (seed) => {
      const arch = sampleSubnet(net.config, new Rng(seed))
      expect(net.space.validate(arch)).toEqual(arch)
      const before = tf.memory().numTensors
      const x = tf.randomNormal<tf.Rank.R4>([2, arch.resolution, arch.resolution, 1], 0, 1, 'float32', seed)
      const y = net.forward(arch, x)
      const model = exportSubnet(net, arch)
      const z = model.predict(x) as tf.Tensor
      const weights = model.trainableWeights.reduce(
        (s, w) => s + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1),
        0,
      )
      expect(weights).toBe(net.cost(arch).params)
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(y, z))).dataSync()[0]!)).toBeLessThan(1e-5)
      tf.dispose([x, y, z])
      model.dispose()
      expect(tf.memory().numTensors).toBe(before)
    },
  )

  test.prop([fc.integer({ min: 0, max: 2 ** 30 }), fc.integer({ min: 0, max: 3 })], { numRuns: 30 })(
    'complexity-aware sampling draws a subnet inside its FLOPs bin, the extreme bins included',
    (seed, b) => {
      const flops = (a: Parameters<typeof net.cost>[0]) => net.cost(a).flops
      const sampler = new ComplexitySampler(4, flops)
      const lo = flops(extremeSubnet(net.config, 'smallest', 16))
      const hi = flops(extremeSubnet(net.config, 'largest', 16))
      // a few observations shift the bins' probabilities; every bin keeps at least half its uniform share
      sampler.observe(b, 2)
      sampler.observe(b, 1)
      const p = sampler.probabilities()
      expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9)
      p.forEach((x) => expect(x).toBeGreaterThanOrEqual(0.5 / 4 - 1e-12))
      const { arch, bin } = sampler.sample(net.config, new Rng(seed), { lo, hi }, 16)
      const width = (hi - lo) / 4
      const f = flops(arch)
      expect(arch.resolution).toBe(16)
      expect(f).toBeGreaterThanOrEqual(lo + bin * width - 1e-9)
      expect(f).toBeLessThanOrEqual(lo + (bin + 1) * width + 1e-9)
    },
  )
})
