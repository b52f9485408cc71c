import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import type { FbnetArch, FbnetOp } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { ElasticFbnet, type FbnetSlotInfo, type FbnetSupernetConfig } from '../fbnet.js'
import { caught, quadrants, TINY_FBNET } from '../testing-internal/fixtures.js'
import { centreMask, fbnetSinglePathCosts, singlePathSearch } from './single-path.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

/** The plain kernel centre, as Single-Path NAS needs. */
const TINY: FbnetSupernetConfig = { ...TINY_FBNET, kernelTransform: false, seed: 3 }
/** The ops Single-Path NAS can choose (no grouped blocks). */
const OPS: FbnetOp[] = ['k3_e1', 'k3_e3', 'k3_e6', 'k5_e1', 'k5_e3', 'k5_e6', 'skip']

/** A random FBNet architecture of the ops Single-Path NAS chooses, `skip` only where it is the identity. */
function randomArch(net: ElasticFbnet, rng: Rng): FbnetArch {
  return net.layerSlots.map((s) => {
    const op = rng.choice(OPS)
    return s.skipConv && op === 'skip' ? 'k3_e1' : op
  })
}

/** The superkernel tensors that make the superkernel network compute `arch`. */
function superkernelOf(net: ElasticFbnet, arch: FbnetArch) {
  return (slot: FbnetSlotInfo) => {
    const i = Number(slot.name.slice(1))
    const op = arch[i]!
    const [k, e] = op === 'skip' ? [3, 1] : [Number(op[1]), Number(op[4])]
    const mid = slot.cin * e
    const w = net.params.get(`${slot.name}/dw`)!
    return {
      kernel: tf.mul<tf.Tensor4D>(w, tf.tensor4d(centreMask(5, k), [5, 5, 1, 1])),
      channels: tf.tensor1d(Array.from({ length: 6 * slot.cin }, (_, c) => (c < mid ? 1 : 0))),
      ...(slot.skipConv ? {} : { use: tf.scalar(op === 'skip' ? 0 : 1) }),
    }
  }
}

describe('Single-Path NAS on an FBNet supernet', () => {
  it('with 0/1 decisions the superkernel network computes exactly the chosen subnet', () => {
    const net = new ElasticFbnet(TINY)
    try {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 10_000 }), (seed) => {
          const arch = randomArch(net, new Rng(seed))
          const [a, b] = tf.tidy(() => {
            const x = tf.randomNormal<tf.Rank.R4>([2, 16, 16, 1], 0, 1, 'float32', seed)
            const sub = net.forward(arch, x)
            const sk = net.forward(arch, x, { superkernel: superkernelOf(net, arch) })
            return [sub.arraySync(), sk.arraySync()]
          })
          a.flat().forEach((v, i) => expect(b.flat()[i]).toBeCloseTo(v, 4))
        }),
        { numRuns: 6 },
      )
    } finally {
      net.dispose()
    }
  })

  it("prices every layer's choices exactly: any architecture costs the base plus its layers' entries", () => {
    const net = new ElasticFbnet(TINY)
    try {
      const costs = fbnetSinglePathCosts(net, (a) => net.cost(a).flops)
      expect(costs.slots.map((s) => s.optional)).toEqual(net.layerSlots.map((s) => !s.skipConv))
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 10_000 }), (seed) => {
          const arch = randomArch(net, new Rng(seed))
          const sum = arch.reduce((t, op, i) => {
            if (op === 'skip') return t
            return t + costs.slots[i]!.table[op[1] === '3' ? 0 : 1]![[1, 3, 6].indexOf(Number(op[4]))]!
          }, costs.base)
          expect(sum).toBe(net.cost(arch).flops)
        }),
        { numRuns: 30 },
      )
    } finally {
      net.dispose()
    }
  })

  it('keeps the largest blocks without a cost term, shrinks under a heavy one, and repeats itself from a seed', async () => {
    const data = quadrants(64, 3)
    const run = async (config: Parameters<typeof singlePathSearch>[2], resume?: unknown) => {
      const net = new ElasticFbnet(TINY)
      try {
        return await singlePathSearch(net, data, { epochs: 2, batchSize: 32, ...config }, resume as never)
      } finally {
        net.dispose()
      }
    }
    const free = await run({ costWeight: 0, warmup: 0 })
    expect(free.arch).toEqual(new Array(22).fill('k5_e6'))
    const heavy = await run({ costWeight: 500, warmup: 0, lr: 0.5, seed: 2 })
    expect(heavy.cost).toBeLessThan(0.8 * free.cost)
    expect(heavy.arch.some((op) => op !== 'k5_e6')).toBe(true)
    expect(heavy.arch.every((op) => OPS.includes(op))).toBe(true)
    const again = await run({ costWeight: 500, warmup: 0, lr: 0.5, seed: 2 })
    expect(again.thresholds).toEqual(heavy.thresholds)
  })

  it('refuses a kernel-transforming FBNet supernet and another resolution with one clear error', async () => {
    const transforming = new ElasticFbnet({ ...TINY, kernelTransform: true })
    const plain = new ElasticFbnet(TINY)
    const data = quadrants(8)
    try {
      await expect(singlePathSearch(transforming, data)).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        allowed: [false],
      })
      await expect(singlePathSearch(plain, data, { resolution: 20 })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        allowed: [16],
      })
      expect(caught(() => plain.forward(plain.largestArch(), tf.zeros([1, 8, 8, 1])))).toMatchObject({
        code: 'INPUT_INVALID',
      })
    } finally {
      transforming.dispose()
      plain.dispose()
    }
  })
})
