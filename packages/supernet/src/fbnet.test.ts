import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { fbnetCost } from '@nasjs/models'
import type { FbnetArch } from '@nasjs/search-space'
import { FBNET_OPS, fbnet } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { supernetEvaluator } from './evaluator.js'
import { ElasticFbnet, FBNET_FMNIST, fbnetSupernetSpace } from './fbnet.js'
import { evaluateSubnet, exportSubnet, recalibrate } from './subnet.js'
import { caught, expectExportMatches, quadrants, TINY_FBNET } from './testing-internal/fixtures.js'
import type { SupernetTrainState } from './train.js'
import { trainSupernet } from './train.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

/** FBNet-C (the FBNet paper's Figure 4). */
const FBNET_C = fbnet.parse(
  'k3_e1 k3_e6 skip k3_e1 k3_e1 k5_e6 k5_e3 k5_e6 k3_e6 k5_e6 k5_e3 k5_e6 k5_e6 k5_e6 k5_e6 k5_e6 k5_e3 k5_e6 k5_e6 k5_e6 k5_e6 k3_e6',
)

/** An architecture with every op somewhere, the grouped ones and `skip` on shape-changing layers. */
function everyOp(): FbnetArch {
  const a = Array.from({ length: 22 }, (_, i) => FBNET_OPS[i % FBNET_OPS.length]!)
  a[1] = 'skip' // the first layer of stage 2: stride 2 and new channels, so a 1x1 convolution
  a[5] = 'k3_e1_g2'
  return a
}

describe('ElasticFbnet', () => {
  it("counts any subnet as buildFbnet does, and holds the largest block's weights in every layer", () => {
    const net = new ElasticFbnet()
    try {
      // FBNet's own network is the fbnet space; another network names itself
      expect(net.space.id).toBe('fbnet')
      expect(fbnetSupernetSpace(FBNET_FMNIST).id).toBe('fbnet@imagenet:w8,8,12,16,32,56,92,176,256:r28')
      const rng = new Rng(2)
      for (const arch of [FBNET_C, net.largestArch(), net.smallestArch(), everyOp(), fbnet.sample(rng)]) {
        expect(net.cost(arch)).toEqual(fbnetCost(arch))
      }
      const cifar = new ElasticFbnet({
        macro: 'cifar',
        widths: [16, 16, 24, 32, 64, 112, 184, 352, 1504],
        resolution: 32,
        classes: 100,
        seed: 1,
      })
      expect(cifar.cost(FBNET_C)).toEqual(fbnetCost(FBNET_C, { macro: 'cifar' }))
      cifar.dispose()
      // the largest subnet's weights, the 22 kernel matrices and the strided skips' 1x1 convolutions
      const skips = net.layerSlots.filter((s) => s.skipConv)
      const skipWeights = skips.reduce((s, l) => s + l.cin * l.cout + 2 * l.cout, 0)
      const weights = net.trainable.reduce((s, v) => s + v.size, 0)
      expect(skips.map((s) => s.name)).toEqual(['l1', 'l5', 'l9', 'l13', 'l17', 'l21'])
      expect(weights - 22 * 81 - skipWeights).toBe(fbnetCost(net.largestArch()).params)
    } finally {
      net.dispose()
    }
  })

  it('runs every block type by slicing, and the exported model gives the same outputs', () => {
    const net = new ElasticFbnet({ ...TINY_FBNET, seed: 3 })
    const rng = new Rng(5)
    // warm-up: TF.js layers cache a few constants on their first run
    tf.tidy(() => {
      const m = exportSubnet(net, net.smallestArch())
      m.predict(tf.zeros([1, 16, 16, 1]))
      m.dispose()
    })
    try {
      const archs = [net.largestArch(), net.smallestArch(), everyOp(), fbnet.sample(rng), fbnet.sample(rng)]
      archs.forEach((arch, i) => {
        const x = tf.randomNormal<tf.Rank.R4>([3, 16, 16, 1], 0, 1, 'float32', i + 1)
        // BatchNorm with statistics that are not the identity, so a channel mix-up shows
        expectExportMatches(net, arch, x, recalibrate(net, arch, quadrants(32, i)), i)
        x.dispose()
      })
    } finally {
      net.dispose()
    }
  })

  it('masks a grouped block to two groups: an input channel of one group does not reach the other', () => {
    const net = new ElasticFbnet({ ...TINY_FBNET, seed: 4 })
    try {
      // layer 3 (stage 2, 6 channels in and out, stride 1): k3_e1_g2 alone, everything else skipped
      const slot = net.layerSlots[3]!
      expect([slot.cin, slot.cout, slot.stride]).toEqual([6, 6, 1])
      const w = tf.tidy(() => {
        const grouped = net.subnetWeights([
          'skip',
          'skip',
          'skip',
          'k3_e1_g2',
          ...new Array(18).fill('skip'),
        ] as FbnetArch)
        return grouped
          .filter((t) => t.shape.length === 4 && t.shape[2] === 6 && t.shape[3] === 3)
          .map((t) => t.clone())
      })
      // the expansion and the projection, each [1, 1, 6, 3]: the grouped layout of @nasjs/models
      expect(w.map((t) => t.shape)).toEqual([
        [1, 1, 6, 3],
        [1, 1, 6, 3],
      ])
      const full = net.params.get('l3/expand')!.arraySync() as number[][][][]
      const first = w[0]!.arraySync() as number[][][][]
      // input 4 (group 2) feeds outputs 3..5: the grouped weight of (4, j) is the full one of (4, 3 + j)
      expect(first[0]![0]![4]).toEqual(full[0]![0]![4]!.slice(3, 6))
      expect(first[0]![0]![1]).toEqual(full[0]![0]![1]!.slice(0, 3))
      tf.dispose(w)
    } finally {
      net.dispose()
    }
  })

  it('trains with the sandwich rule and feeds the search driver; resuming gives the same weights', async () => {
    const data = quadrants(64)
    // (an FBNet supernet's schedule is the sandwich rule without being asked)
    const config = { epochs: 2, batchSize: 32, sandwichRandom: 1, lr: 0.05 }
    const straight = new ElasticFbnet({ ...TINY_FBNET, seed: 6 })
    const resumed = new ElasticFbnet({ ...TINY_FBNET, seed: 6 })
    try {
      const r = await trainSupernet(straight, data, config)
      expect(r).toMatchObject({ status: 'complete', steps: 4, totalSteps: 4 })
      expect(Number.isFinite(r.loss)).toBe(true)
      let saved: SupernetTrainState | undefined
      await trainSupernet(resumed, data, config, { maxSteps: 2, onCheckpoint: (s) => void (saved = s) })
      expect(saved?.step).toBe(2)
      expect(saved?.supernet).toMatchObject({ space: 'fbnet' })
      await trainSupernet(resumed, data, config, { resume: saved! })
      const a = straight.state()
      const b = resumed.state()
      expect(b.map((s) => s.name)).toEqual(a.map((s) => s.name))
      a.forEach((s, i) => {
        const d = s.values.reduce((m, v, j) => Math.max(m, Math.abs(v - b[i]!.values[j]!)), 0)
        expect([s.name, d]).toEqual([s.name, 0])
      })
      // the wasm heap has its working size now: another epoch must not grow it or leak a tensor
      await expectNoLeaks(() => trainSupernet(resumed, data, { ...config, epochs: 1 }))
      const { evaluator, info, cheapMetrics } = supernetEvaluator({
        net: straight,
        data: { calibration: data, valid: quadrants(40, 1) },
        calibrationImages: 32,
      })
      expect(info.metrics).toEqual(['acc', 'params', 'flops'])
      const arch = everyOp()
      const m = await evaluator(arch, { signal: new AbortController().signal } as never)
      expect(m).toMatchObject(cheapMetrics(arch))
      expect(m.acc).toBeGreaterThanOrEqual(0)
      expect(m.acc).toBeLessThanOrEqual(100)
      const bn = recalibrate(straight, arch, data, { images: 32 })
      expect(evaluateSubnet(straight, arch, quadrants(40, 1), { bn }).acc * 100).toBeCloseTo(m.acc!, 6)
    } finally {
      straight.dispose()
      resumed.dispose()
    }
  })

  it('gives one clear error for a bad config, a bad architecture, the wrong input or schedule', async () => {
    expect(caught(() => new ElasticFbnet({ widths: [3, 4, 6, 8, 8, 12, 16, 16, 24] }))).toMatchObject({
      code: 'CONFIG_INVALID',
    })
    expect(caught(() => new ElasticFbnet({ macro: 'mobile' as never }))).toMatchObject({
      code: 'CONFIG_INVALID',
    })
    const net = new ElasticFbnet({ ...TINY_FBNET, seed: 7 })
    try {
      expect(caught(() => net.cost(['k7_e6'] as never))).toMatchObject({ code: 'ARCH_INVALID' })
      const x = tf.zeros<tf.Rank.R4>([1, 20, 20, 1])
      expect(caught(() => net.forward(net.largestArch(), x))).toMatchObject({ code: 'INPUT_INVALID' })
      x.dispose()
      const data = quadrants(8)
      await expect(trainSupernet(net, data, { schedule: 'progressive', epochs: 1 })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        allowed: ['bignas'],
      })
      await expect(
        trainSupernet(net, data, { schedule: 'bignas', sampling: 'complexity', epochs: 1 }),
      ).rejects.toMatchObject({ code: 'CONFIG_INVALID', allowed: ['uniform'] })
    } finally {
      net.dispose()
    }
    expect(caught(() => net.cost(net.largestArch()))).toMatchObject({ code: 'CONFIG_INVALID' })
  })
})
