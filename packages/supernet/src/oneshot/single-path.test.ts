import { initBackend } from '@nasjs/backend'
import { NasError, Rng } from '@nasjs/core'
import { makeDivisible } from '@nasjs/models'
import type { OfaArch } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { largestArch, parseSupernetConfig } from '../config.js'
import { ElasticMbv3, type BlockSlotInfo, type SuperkernelBlock } from '../elastic.js'
import { sampleSubnet } from '../sampling.js'
import { quadrants, TINY } from '../testing-internal/fixtures.js'
import {
  centreMask,
  costTensor,
  createThresholds,
  readArch,
  singlePathCosts,
  singlePathIndicator,
  singlePathSearch,
  slotGates,
  type SinglePathState,
  slotLayout,
} from './single-path.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const CONFIG = { ...TINY, kernelTransform: false, seed: 7 }
const choices = (() => {
  const c = parseSupernetConfig(CONFIG)
  return { kernels: c.kernels, expands: c.expands, depths: c.depths, resolutions: c.resolutions }
})()

/** The superkernel tensors that make the superkernel network compute subnet `arch`. */
function superkernelOf(net: ElasticMbv3, arch: OfaArch): (slot: BlockSlotInfo) => SuperkernelBlock {
  const K = net.config.kernels.at(-1)!
  return (slot) => {
    const block = arch.stages[slot.stage]![slot.pos]
    const kernel = block?.kernel ?? net.config.kernels[0]!
    const mid = makeDivisible(Math.round(slot.cin * (block?.expand ?? net.config.expands[0]!)))
    const maxSe = makeDivisible(Math.floor(slot.maxMid / 4))
    const se = makeDivisible(Math.floor(mid / 4))
    const centre = centreMask(K, kernel)
    const w = net.params.get(`${slot.name}/dw`)!
    return {
      kernel: tf.mul<tf.Tensor4D>(w, tf.tensor4d(centre, [K, K, 1, 1])),
      channels: tf.tensor1d(Array.from({ length: slot.maxMid }, (_, i) => (i < mid ? 1 : 0))),
      ...(slot.se
        ? { seChannels: tf.tensor1d(Array.from({ length: maxSe }, (_, i) => (i < se ? 1 : 0))) }
        : {}),
      ...(slot.pos >= net.config.depths[0]! ? { use: tf.scalar(block === undefined ? 0 : 1) } : {}),
    }
  }
}

describe('the superkernel forward', () => {
  it('with 0/1 decisions computes exactly the chosen subnet (kernel centres, channel groups, skipped blocks)', () => {
    const net = new ElasticMbv3(CONFIG)
    try {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 10_000 }), (seed) => {
          const arch = sampleSubnet(choices, new Rng(seed))
          const [a, b] = tf.tidy(() => {
            const x = tf.randomNormal<tf.Rank.R4>(
              [2, arch.resolution, arch.resolution, 1],
              0,
              1,
              'float32',
              seed,
            )
            const sub = net.forward(arch, x)
            const sk = net.forward(arch, x, { superkernel: superkernelOf(net, arch) })
            return [sub.arraySync(), sk.arraySync()]
          })
          expect(a.flat().length).toBe(8)
          a.flat().forEach((v, i) => expect(b.flat()[i]).toBeCloseTo(v, 4))
        }),
        { numRuns: 8 },
      )
    } finally {
      net.dispose()
    }
  })
})

describe('singlePathCosts', () => {
  it('adds up to the cost of any subnet, for an additive cost (FLOPs, parameters)', () => {
    const net = new ElasticMbv3(CONFIG)
    try {
      for (const measure of [(a: OfaArch) => net.cost(a).flops, (a: OfaArch) => net.cost(a).params]) {
        for (const resolution of choices.resolutions) {
          const costs = singlePathCosts(net, resolution, measure)
          fc.assert(
            fc.property(fc.integer({ min: 1, max: 100_000 }), (seed) => {
              const arch = sampleSubnet(choices, new Rng(seed), resolution)
              let sum = costs.base
              net.blockSlots.forEach((slot, s) => {
                const block = arch.stages[slot.stage]![slot.pos]
                if (block === undefined) return
                const j = choices.kernels.indexOf(block.kernel)
                const e = choices.expands.indexOf(block.expand)
                sum += costs.slots[s]!.table[j]![e]!
              })
              expect(sum).toBe(measure(arch))
            }),
            { numRuns: 50 },
          )
        }
      }
    } finally {
      net.dispose()
    }
  })
})

describe('the decisions of the thresholds', () => {
  // TINY, and a supernet whose expand ratios 3 and 4 round to one width (an empty channel group)
  const configs = [CONFIG, { ...CONFIG, widths: [8, 2, 2, 2, 4, 4, 4, 16, 16] as typeof CONFIG.widths }]

  it('price the architecture they decode, and the superkernel network runs exactly that architecture', () => {
    for (const config of configs) {
      const net = new ElasticMbv3(config)
      const layouts = net.blockSlots.map((slot) => slotLayout(net, slot))
      const thresholds = createThresholds(net, layouts)
      const resolution = 16
      const costs = singlePathCosts(net, resolution, (a) => net.cost(a).flops)
      const archs = new Set<string>()
      try {
        fc.assert(
          fc.property(fc.integer({ min: 1, max: 100_000 }), (seed) => {
            const rng = new Rng(seed)
            // thresholds spread around the norms they are compared with
            for (const t of thresholds.values()) t.assign(tf.scalar(rng.uniform() * 8))
            const arch = readArch(net, layouts, thresholds, resolution)
            archs.add(net.space.format(arch))
            const [priced, sub, sk] = tf.tidy(() => {
              const gates = slotGates(layouts, thresholds, net, 0, rng)
              const x = tf.randomNormal<tf.Rank.R4>([2, resolution, resolution, 1], 0, 1, 'float32', seed)
              return [
                costTensor(costs, layouts, gates).dataSync()[0]!,
                net.forward(arch, x).arraySync(),
                net.forward(arch, x, { superkernel: (slot) => gates.get(slot.name)!.block }).arraySync(),
              ]
            })
            expect(priced).toBe(net.cost(arch).flops)
            sk.flat().forEach((v, i) => expect(v).toBeCloseTo(sub.flat()[i]!, 4))
          }),
          { numRuns: 12 },
        )
        // the draws reached different architectures, not one
        expect(archs.size).toBeGreaterThan(6)
      } finally {
        tf.dispose([...thresholds.values()])
        for (const l of layouts) tf.dispose([...l.rings, ...l.groups, ...l.groupVectors, ...l.seVectors])
        net.dispose()
      }
    }
  })

  it('raising any threshold can only lower the cost: its gradient is never positive', () => {
    const net = new ElasticMbv3(CONFIG)
    const layouts = net.blockSlots.map((slot) => slotLayout(net, slot))
    const thresholds = createThresholds(net, layouts)
    const costs = singlePathCosts(net, 16, (a) => net.cost(a).flops)
    try {
      // near the norms, so the sigmoid's gradient is not vanishingly small
      for (const t of thresholds.values()) t.assign(tf.scalar(3))
      const vars = [...thresholds.values()]
      const { value, grads } = tf.variableGrads(
        () => tf.log(costTensor(costs, layouts, slotGates(layouts, thresholds, net, 0, new Rng(1)))),
        vars,
      )
      const g = vars.map((v) => grads[v.name]!.dataSync()[0]!)
      expect(Math.max(...g)).toBeLessThanOrEqual(0)
      expect(g.filter((x) => x < 0).length).toBeGreaterThan(vars.length / 2)
      tf.dispose([value, ...Object.values(grads)])
    } finally {
      tf.dispose([...thresholds.values()])
      for (const l of layouts) tf.dispose([...l.rings, ...l.groups, ...l.groupVectors, ...l.seVectors])
      net.dispose()
    }
  })
})

describe('singlePathIndicator', () => {
  it("is a hard step forward and the sigmoid's derivative backward", () => {
    const x = tf.tensor1d([-2, -0.1, 0, 0.5, 3])
    const value = singlePathIndicator(x)
    expect(Array.from(value.dataSync())).toEqual([0, 0, 1, 1, 1])
    const g = tf.grad((t: tf.Tensor) => tf.sum(singlePathIndicator(t)))(x)
    const s = (v: number) => 1 / (1 + Math.exp(-v))
    Array.from(g.dataSync()).forEach((v, i) => {
      const xi = [-2, -0.1, 0, 0.5, 3][i]!
      expect(v).toBeCloseTo(s(xi) * (1 - s(xi)), 6)
    })
    tf.dispose([x, value, g])
  })
})

describe('singlePathSearch', () => {
  const data = quadrants(96, 3)
  const run = async (config: Parameters<typeof singlePathSearch>[2]) => {
    const net = new ElasticMbv3(CONFIG)
    try {
      return await singlePathSearch(net, data, { epochs: 2, batchSize: 32, ...config })
    } finally {
      net.dispose()
    }
  }

  it('keeps the largest subnet with no cost term, and shrinks it under a heavy one, repeating itself from a seed', async () => {
    const before = tf.memory().numTensors
    const free = await run({ costWeight: 0, warmup: 0 })
    const net = new ElasticMbv3(CONFIG)
    const largest = { ...largestArch(CONFIG), resolution: 16 }
    const full = net.cost(largest).flops
    net.dispose()
    expect(free.status).toBe('complete')
    expect(free.steps).toBe(6)
    expect(free.arch).toEqual(largest)
    expect(free.cost).toBe(full)
    expect(free.history.map((h) => h.epoch)).toEqual([1, 2])
    const heavy = await run({ costWeight: 500, warmup: 0, lr: 0.5, seed: 2 })
    expect(heavy.cost).toBeLessThan(0.8 * full)
    // thresholds moved up: decisions were dropped because the cost pushed them
    expect(Math.max(...Object.values(heavy.thresholds))).toBeGreaterThan(0)
    const again = await run({ costWeight: 500, warmup: 0, lr: 0.5, seed: 2 })
    expect(again.arch).toEqual(heavy.arch)
    expect(again.thresholds).toEqual(heavy.thresholds)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('warms up with dropped-out decisions and no cost term, reporting progress every step', async () => {
    const steps: number[] = []
    const net = new ElasticMbv3(CONFIG)
    try {
      const r = await singlePathSearch(
        net,
        data,
        { epochs: 1, batchSize: 48, warmup: 1, costWeight: 500, lr: 0.5, seed: 2 },
        { onProgress: (p) => steps.push(p.step) },
      )
      expect(steps).toEqual([1, 2])
      // the same heavy cost as above shrinks nothing while it is held back by the warm-up
      expect(r.arch).toEqual({ ...largestArch(CONFIG), resolution: 16 })
    } finally {
      net.dispose()
    }
  })

  it('continues after its last finished epoch from a checkpoint, exactly', async () => {
    const cfg = { epochs: 3, batchSize: 48, warmup: 0.5, costWeight: 500, lr: 0.5, seed: 2 }
    const a = new ElasticMbv3(CONFIG)
    const straight = await singlePathSearch(a, data, cfg)
    const b = new ElasticMbv3(CONFIG)
    const controller = new AbortController()
    let saved: SinglePathState | undefined
    const stopped = await singlePathSearch(b, data, cfg, {
      signal: controller.signal,
      onCheckpoint: (st) => {
        saved = st
        controller.abort()
      },
    })
    expect(stopped.status).toBe('aborted')
    expect(saved!.epochs).toBe(1)
    const c = new ElasticMbv3(CONFIG)
    const resumed = await singlePathSearch(c, data, cfg, { resume: saved! })
    expect(resumed.thresholds).toEqual(straight.thresholds)
    expect(resumed.arch).toEqual(straight.arch)
    expect(resumed.history).toEqual(straight.history)
    expect(c.state()).toEqual(a.state())
    await expect(singlePathSearch(c, data, { ...cfg, seed: 3 }, { resume: saved! })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    })
    for (const n of [a, b, c]) n.dispose()
  })

  it('refuses a kernel-transforming supernet, a resolution it lacks and a bad setting, each with one clear error', async () => {
    const transforming = new ElasticMbv3({ ...TINY, kernelTransform: true })
    const plain = new ElasticMbv3(CONFIG)
    try {
      const e1 = await singlePathSearch(transforming, data).catch((e: unknown) => e)
      expect(e1).toBeInstanceOf(NasError)
      expect((e1 as NasError).code).toBe('CONFIG_INVALID')
      expect((e1 as NasError).message).toMatch(/kernelTransform: false/)
      const e2 = await singlePathSearch(plain, data, { resolution: 20 }).catch((e: unknown) => e)
      expect((e2 as NasError).allowed).toEqual([12, 16])
      const e3 = await singlePathSearch(plain, data, { costWeight: -1 }).catch((e: unknown) => e)
      expect((e3 as NasError).message).toMatch(/'costWeight'/)
    } finally {
      transforming.dispose()
      plain.dispose()
    }
  })
})
