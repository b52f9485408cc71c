import { fc, test } from '@fast-check/vitest'
import { Rng, kendallTau, type Metrics } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'

import { createMultiFidelityBenchmark, createSyntheticBenchmark } from './synthetic.js'

const ctx = (fidelity?: number, log?: [number, Metrics][]) => ({
  signal: new AbortController().signal,
  report: (s: number, m: Metrics) => log?.push([s, m]),
  ...(fidelity !== undefined ? { fidelity } : {}),
})

describe('synthetic benchmark', () => {
  it('has its known optimum as the global maximum over the whole NB201 space', () => {
    const syn = createSyntheticBenchmark(nb201, { seed: 7 })
    let best = -Infinity
    for (const a of nb201.enumerate!()) best = Math.max(best, syn.query(a).test_acc!)
    expect(best).toBe(95)
    expect(syn.query(syn.optimum.arch).test_acc).toBe(95)
    expect(syn.optimum.test_acc).toBe(95)
  })

  test.prop([fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e6 })], { numRuns: 25 })(
    'is deterministic per seed, bounded, and its noise only touches valid_acc',
    (seed, archSeed) => {
      const a = createSyntheticBenchmark(nb201, { seed, noise: 1 })
      const b = createSyntheticBenchmark(nb201, { seed, noise: 1 })
      const arch = nb201.sample(new Rng(archSeed))
      const m = a.query(arch)
      expect(b.query(arch)).toEqual(m)
      expect(m.test_acc).toBeGreaterThanOrEqual(10)
      expect(m.test_acc).toBeLessThanOrEqual(95)
      expect(m.cost).toBeGreaterThan(0)
      expect(createSyntheticBenchmark(nb201, { seed, noise: 0 }).query(arch).valid_acc).toBe(m.test_acc)
    },
  )

  it('counts queries and validates options', async () => {
    const syn = createSyntheticBenchmark(nb201, { seed: 1 })
    await syn.evaluator(nb201.sample(new Rng(1)), ctx())
    await syn.evaluator(nb201.sample(new Rng(2)), ctx())
    expect(syn.evaluator.queries).toBe(2)
    expect(syn.evaluator.info.metrics).toEqual(['valid_acc', 'test_acc', 'cost'])
    expect(() => createSyntheticBenchmark(nb201, { seed: 1.5 })).toThrow(/seed must be an integer/)
    expect(() => createSyntheticBenchmark(nb201, { seed: 1, peaks: 0 })).toThrow(/peaks/)
    expect(() => createSyntheticBenchmark(nb201, { seed: 1, floor: 90, top: 50 })).toThrow(/top > floor/)
  })
})

describe('multi-fidelity synthetic benchmark', () => {
  const mf = createMultiFidelityBenchmark(nb201, { seed: 11, maxFidelity: 200 })

  it('reaches the final score at the highest fidelity and learns monotonically', () => {
    const syn = createSyntheticBenchmark(nb201, { seed: 11, noise: 0 })
    const a = nb201.sample(new Rng(3))
    expect(mf.queryAt(a, 200).test_acc).toBeCloseTo(syn.query(a).test_acc!, 9)
    let prev = -Infinity
    for (const e of [1, 2, 5, 12, 50, 100, 200]) {
      const t = mf.queryAt(a, e).test_acc!
      expect(t).toBeGreaterThan(prev)
      prev = t
    }
    expect(mf.query(mf.optimum.arch).test_acc).toBeCloseTo(95, 9)
  })

  it('ranks better at higher fidelity', () => {
    const rng = new Rng(9)
    const archs = Array.from({ length: 150 }, () => nb201.sample(rng))
    const final = archs.map((a) => mf.queryAt(a, 200).test_acc!)
    const tau = (e: number) =>
      kendallTau(
        archs.map((a) => mf.queryAt(a, e).valid_acc!),
        final,
      )
    expect(tau(1)).toBeLessThan(tau(50))
    expect(tau(50)).toBeLessThan(tau(200))
  })

  it('reads the fidelity from the evaluator context and reports every epoch', async () => {
    const log: [number, Metrics][] = []
    const a = nb201.sample(new Rng(4))
    const m = await mf.evaluator(a, ctx(12, log))
    expect(m.epochs).toBe(12)
    expect(log.map(([s]) => s)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    expect(log[11]![1]).toEqual(m)
    expect((await mf.evaluator(a, ctx())).epochs).toBe(200)
    await expect(mf.evaluator(a, ctx(0))).rejects.toThrow(/fidelity 0 is outside 1..200/)
    await expect(mf.evaluator(a, ctx(2.5))).rejects.toThrow(/outside/)
    expect(mf.evaluator.info.fidelities!.length).toBe(200)
    expect(() => createMultiFidelityBenchmark(nb201, { seed: 1, minFidelity: 5, maxFidelity: 2 })).toThrow(
      /fidelities/,
    )
  })
})
