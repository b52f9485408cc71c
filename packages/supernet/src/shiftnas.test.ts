import { initBackend } from '@nasjs/backend'
import { NasError, Rng } from '@nasjs/core'
import type { OfaArch } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { largestArch, smallestArch } from './config.js'
import { ElasticMbv3 } from './elastic.js'
import { singlePathCosts } from './oneshot/single-path.js'
import {
  ArchitectureGenerator,
  shiftNasCost,
  shiftNasMasks,
  trainShiftNas,
  type ShiftNasState,
} from './shiftnas.js'
import { quadrants, TINY } from './testing-internal/fixtures.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const CONFIG = { ...TINY, kernelTransform: false, seed: 4 }

describe('ArchitectureGenerator', () => {
  it('generates subnets whose masks run exactly that subnet and whose one-hots price it exactly', () => {
    const net = new ElasticMbv3(CONFIG)
    const gen = new ArchitectureGenerator(net, 4, 16, 3)
    const costs = singlePathCosts(net, 16, (a) => net.cost(a).flops)
    const archs = new Set<string>()
    try {
      for (let seed = 1; seed <= 8; seed++) {
        const rng = new Rng(seed)
        let r: { arch: OfaArch; cost: number; sub: number[][]; masked: number[][] } | undefined
        tf.tidy(() => {
          const g = gen.generate(seed % 4, 0.5, rng, 1, 16)
          const x = tf.randomNormal<tf.Rank.R4>([2, 16, 16, 1], 0, 1, 'float32', seed)
          r = {
            arch: g.arch,
            cost: shiftNasCost(net, costs, g).dataSync()[0]!,
            sub: net.forward(g.arch, x).arraySync(),
            masked: net.forward(g.arch, x, { superkernel: shiftNasMasks(net, g) }).arraySync(),
          }
        })
        const got = r!
        archs.add(net.space.format(got.arch))
        expect(got.cost).toBe(net.cost(got.arch).flops)
        const sub = got.sub.flat()
        got.masked.flat().forEach((v, i) => expect(v).toBeCloseTo(sub[i]!, 4))
      }
      // an untrained generator with Gumbel noise draws varied subnets
      expect(archs.size).toBeGreaterThan(4)
    } finally {
      gen.dispose()
      net.dispose()
    }
  })

  it('passes the cost gradient to its weights through the straight-through one-hots', () => {
    const net = new ElasticMbv3(CONFIG)
    const gen = new ArchitectureGenerator(net, 4, 16, 3)
    const costs = singlePathCosts(net, 16, (a) => net.cost(a).flops)
    try {
      const { value, grads } = tf.variableGrads(
        () => tf.div(shiftNasCost(net, costs, gen.generate(1, 0.5, new Rng(2), 1, 16)), 1e5),
        gen.variables,
      )
      const norms = gen.variables.map((v) => tf.norm(grads[v.name]!).dataSync()[0]!)
      expect(norms.filter((n) => n > 0).length).toBe(gen.variables.length)
      tf.dispose([value, ...Object.values(grads)])
      // the task loss alone reaches the generator through the masks
      const data = quadrants(8, 1)
      const task = tf.variableGrads(() => {
        const g = gen.generate(1, 0.5, new Rng(2), 1, 16)
        const x = tf.tensor4d(data.x, [8, 16, 16, 1])
        const logits = net.forward(g.arch, x, { training: true, superkernel: shiftNasMasks(net, g) })
        return tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(
          tf.oneHot(tf.tensor1d(data.y, 'int32'), 4),
          logits,
        )
      }, gen.variables)
      const taskNorms = gen.variables.map((v) => tf.norm(task.grads[v.name]!).dataSync()[0]!)
      expect(taskNorms.filter((n) => n > 0).length).toBe(gen.variables.length)
      net.discardRunningStats()
      tf.dispose([task.value, ...Object.values(task.grads)])
    } finally {
      gen.dispose()
      net.dispose()
    }
  })
})

describe('trainShiftNas', () => {
  const data = quadrants(32, 5)

  it('trains the generator towards each bin, repeats itself from a seed and leaks nothing', async () => {
    const run = async () => {
      const net = new ElasticMbv3(CONFIG)
      const gen = new ArchitectureGenerator(net, 3, 16, 1)
      const gap = (r: { generated: readonly { target: number; cost: number }[] }) =>
        r.generated.reduce((s, g) => s + Math.abs(g.cost / g.target - 1), 0) / r.generated.length
      try {
        // the untrained generator's subnets for the three bins' centres
        const lo = net.cost({ ...smallestArch(CONFIG), resolution: 16 }).flops
        const hi = net.cost({ ...largestArch(CONFIG), resolution: 16 }).flops
        const before = {
          generated: [0, 1, 2].map((b) => {
            const target = lo + ((b + 0.5) * (hi - lo)) / 3
            return { target, cost: net.cost(gen.choose(b, target / hi, 16)).flops }
          }),
        }
        const r = await trainShiftNas(net, gen, data, {
          epochs: 10,
          bins: 3,
          batchSize: 8,
          generatorLr: 0.05,
          costWeight: 10,
          seed: 2,
        })
        return { before: gap(before), after: gap(r), r, generator: gen.state(), weights: net.state() }
      } finally {
        gen.dispose()
        net.dispose()
      }
    }
    const tensors = tf.memory().numTensors
    const a = await run()
    expect(a.r.status).toBe('complete')
    expect(a.r.steps).toBe(40)
    expect(a.after).toBeLessThan(a.before)
    expect(a.after).toBeLessThan(0.25)
    // the generated subnets grow with the bins
    const costs = a.r.generated.map((g) => g.cost)
    expect(costs[2]!).toBeGreaterThan(costs[0]!)
    const b = await run()
    expect(b.r.generated.map((g) => g.arch)).toEqual(a.r.generated.map((g) => g.arch))
    expect(b.generator).toEqual(a.generator)
    expect(b.weights).toEqual(a.weights)
    expect(tf.memory().numTensors).toBe(tensors)
  })

  it('resumes a stopped run exactly from its checkpoint', async () => {
    const cfg = { epochs: 2, bins: 3, batchSize: 8, seed: 3 }
    const tensors = tf.memory().numTensors
    const fresh = () => {
      const net = new ElasticMbv3(CONFIG)
      return { net, gen: new ArchitectureGenerator(net, 3, 8, 1) }
    }
    const a = fresh()
    const straight = await trainShiftNas(a.net, a.gen, data, cfg)
    const weights = a.net.state()
    const b = fresh()
    const controller = new AbortController()
    let saved: ShiftNasState | undefined
    const stopped = await trainShiftNas(b.net, b.gen, data, cfg, {
      signal: controller.signal,
      checkpointEvery: 3,
      onCheckpoint: (st) => {
        saved = st
        controller.abort()
      },
    })
    expect(stopped.status).toBe('aborted')
    expect(saved!.step).toBe(3)
    // a new process: fresh supernet and generator, the checkpoint as the only state
    const c = fresh()
    const resumed = await trainShiftNas(c.net, c.gen, data, cfg, { resume: saved! })
    expect(resumed.steps).toBe(straight.steps)
    expect(resumed.generated).toEqual(straight.generated)
    expect(c.net.state()).toEqual(weights)
    expect(c.gen.state()).toEqual(a.gen.state())
    await expect(
      trainShiftNas(c.net, c.gen, data, { ...cfg, seed: 4 }, { resume: saved! }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    for (const x of [a, b, c]) {
      x.gen.dispose()
      x.net.dispose()
    }
    expect(tf.memory().numTensors).toBe(tensors)
  })

  it('refuses a kernel-transforming supernet and a generator built for other bins', async () => {
    const transforming = new ElasticMbv3({ ...TINY, kernelTransform: true })
    const plain = new ElasticMbv3(CONFIG)
    const g1 = new ArchitectureGenerator(transforming, 8)
    const g2 = new ArchitectureGenerator(plain, 4)
    try {
      const e1 = await trainShiftNas(transforming, g1, data).catch((e: unknown) => e)
      expect((e1 as NasError).message).toMatch(/kernelTransform: false/)
      const e2 = await trainShiftNas(plain, g2, data, { bins: 8 }).catch((e: unknown) => e)
      expect(e2).toBeInstanceOf(NasError)
      expect((e2 as NasError).allowed).toEqual([8])
      const e3 = await trainShiftNas(plain, g2, data, { bins: 4, epochs: 0.01 }).catch((e: unknown) => e)
      expect((e3 as NasError).message).toMatch(/no training step/)
    } finally {
      g1.dispose()
      g2.dispose()
      transforming.dispose()
      plain.dispose()
    }
  })
})
