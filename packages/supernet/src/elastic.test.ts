import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { ofaMbv3Cost } from '@nasjs/models'
import { ofaMbv3 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { largestArch, smallestArch } from './config.js'
import { ElasticMbv3 } from './elastic.js'
import { exportSubnet } from './subnet.js'
import { expectExportMatches } from './testing-internal/fixtures.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const tiny = {
  widths: [8, 8, 8, 8, 16, 16, 16, 32, 32] as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ],
  resolutions: [16, 20],
  inputChannels: 1,
  classes: 5,
}

describe('ElasticMbv3', () => {
  it("counts OFA's largest and smallest subnets as buildOfaMbv3 does", () => {
    const net = new ElasticMbv3()
    try {
      for (const a of [largestArch(), smallestArch()]) {
        const arch = { ...a, resolution: a.resolution }
        const ofa = ofaMbv3.validate(arch)
        expect(net.cost(arch)).toEqual(ofaMbv3Cost(ofa))
      }
      // the supernet holds the largest subnet's weights plus the kernel transformation matrices
      const weights = net.trainable.reduce((s, v) => s + v.size, 0)
      const matrices = 20 * (25 * 25 + 9 * 9)
      expect(weights - matrices).toBe(ofaMbv3Cost(ofaMbv3.validate(largestArch())).params)
    } finally {
      net.dispose()
    }
  })

  it('runs any subnet by slicing, and the exported model gives the same outputs', () => {
    const net = new ElasticMbv3({ ...tiny, seed: 3 })
    const rng = new Rng(5)
    // warm-up: TF.js layers cache a few constants on their first run
    tf.tidy(() => {
      const m = exportSubnet(net, smallestArch(tiny))
      m.predict(tf.zeros([1, 16, 16, 1]))
      m.dispose()
    })
    try {
      for (let i = 0; i < 4; i++) {
        const arch = i === 0 ? largestArch(tiny) : i === 1 ? smallestArch(tiny) : net.space.sample(rng)
        const x = tf.randomNormal<tf.Rank.R4>([3, arch.resolution, arch.resolution, 1], 0, 1, 'float32', i)
        const y = net.forward(arch, x)
        expect(y.shape).toEqual([3, 5])
        y.dispose()
        expectExportMatches(net, arch, x, undefined, i)
        x.dispose()
      }
    } finally {
      net.dispose()
    }
  })

  it('sortChannels keeps the function of the largest expand ratio', () => {
    const net = new ElasticMbv3({ ...tiny, seed: 4 })
    try {
      const arch = largestArch(tiny)
      const x = tf.randomNormal<tf.Rank.R4>([2, 20, 20, 1], 0, 1, 'float32', 9)
      const y0 = net.forward(arch, x, { training: true, dropout: 0 })
      net.discardRunningStats()
      net.sortChannels()
      const y1 = net.forward(arch, x, { training: true, dropout: 0 })
      net.discardRunningStats()
      expect(tf.max(tf.abs(tf.sub(y0, y1))).dataSync()[0]).toBeLessThan(1e-4)
      tf.dispose([x, y0, y1])
    } finally {
      net.dispose()
    }
  })
})
