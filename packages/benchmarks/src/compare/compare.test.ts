import { NasError, Rng, isNasError, type Evaluator, type Metrics } from '@nasjs/core'
import { nb201, type Nb201Arch } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'

import { createNb201Evaluator } from '../nb201/evaluator.js'
import { loadNb201 } from '../node/nb201.js'
import { compare, type Runner } from './compare.js'
import { compareOnNb201 } from './nb201-compare.js'
import { randomSamplingRunner } from './random-runner.js'

const bench = loadNb201()

/**
 * The exact expected CIFAR-10 test accuracy of "best of n uniform draws (with replacement) by
 * validation accuracy": order statistics of the validation ranking; tied validation values share
 * their mean test accuracy.
 */
function expectedBestOf(n: number): { mean: number; std: number } {
  const v = bench.column('cifar10', 'valid_acc')
  const t = bench.column('cifar10', 'test_acc')
  const order = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a]! - v[b]!)
  const N = v.length
  let mean = 0
  let sq = 0
  let i = 0
  while (i < N) {
    let j = i
    let s = 0
    while (j < N && v[order[j]!] === v[order[i]!]) s += t[order[j++]!]!
    const p = (j / N) ** n - (i / N) ** n
    const m = s / (j - i)
    mean += p * m
    sq += p * m * m
    i = j
  }
  return { mean, std: Math.sqrt(sq - mean * mean) }
}

describe('compare on NB201', () => {
  it('reproduces random search, best of 100 by validation accuracy (fast version of the 500-seed bench)', async () => {
    const exact = expectedBestOf(100)
    expect(Math.abs(exact.mean - 93.84)).toBeLessThan(0.1)
    const result = await compareOnNb201({
      bench,
      dataset: 'cifar10',
      budget: 100,
      seeds: 200,
      runners: { random: randomSamplingRunner(nb201) },
    })
    const s = result.summary[0]!
    expect(s.runs).toBe(200)
    const se = exact.std / Math.sqrt(200)
    expect(Math.abs(s.final.mean - exact.mean)).toBeLessThan(4 * se)
    expect(s.final.std).toBeGreaterThan(0.15)
    expect(s.final.std).toBeLessThan(0.4)
    expect(result.optimum).toBeCloseTo(94.3733, 4)
    expect(s.regret!.mean).toBeCloseTo(94.3733 - s.final.mean, 9)
    // Yang et al.: relative to the average architecture (87.06 on CIFAR-10)
    expect(s.relativeImprovement).toBeCloseTo((100 * (s.final.mean - 87.0629308)) / 87.0629308, 4)
    expect(s.relativeImprovementOverRandomSearch).toBe(0)
  })

  it('keeps anytime curves monotone in the search metric and reports the incumbent', async () => {
    const result = await compareOnNb201({
      bench,
      dataset: 'cifar100',
      budget: 30,
      seeds: [3, 4],
      runners: { random: randomSamplingRunner(nb201), greedy: greedyRunner },
    })
    for (const r of result.runs) {
      expect(r.searchCurve.length).toBe(30)
      for (let k = 1; k < 30; k++) expect(r.searchCurve[k]!).toBeGreaterThanOrEqual(r.searchCurve[k - 1]!)
      const inc = r.final.key!
      expect(bench.query(inc, 'cifar100').test_acc).toBe(r.final.report)
      expect(bench.query(inc, 'cifar100').valid_acc).toBe(r.final.search)
    }
    const greedy = result.summary.find((s) => s.strategy === 'greedy')!
    expect(greedy.relativeImprovementOverRandomSearch).toBeCloseTo(
      (100 * (greedy.final.mean - result.summary[0]!.final.mean)) / result.summary[0]!.final.mean,
      9,
    )
  })

  it('is reproducible: same seeds, same result', async () => {
    const run = () =>
      compareOnNb201({
        bench,
        dataset: 'cifar10',
        budget: 20,
        seeds: 3,
        runners: { random: randomSamplingRunner(nb201) },
      })
    const [a, b] = await Promise.all([run(), run()])
    expect(a.runs.map((r) => r.reportCurve)).toEqual(b.runs.map((r) => r.reportCurve))
    // seeded golden: each run's incumbent (official index) and its test accuracy
    expect(a.runs.map((r) => [r.final.key, r.final.report])).toEqual([
      [7048, 92.8133],
      [15291, 93.3167],
      [235, 92.9967],
    ])
    expect(a.summary[0]!.final.mean).toBe(b.summary[0]!.final.mean)
  })

  it('scores multi-objective runs by relative hypervolume and true-front coverage at every query', async () => {
    const result = await compareOnNb201({
      bench,
      dataset: 'cifar10',
      budget: 200,
      seeds: 4,
      objectives: ['valid_acc:max', 'latency.pixel3:min'],
      runners: { random: randomSamplingRunner(nb201), all: enumerateRunner },
    })
    expect(result.trueFrontSize).toBe(50)
    for (const r of result.runs) {
      const hv = r.hypervolumeCurve!
      const cov = r.coverageCurve!
      for (let k = 1; k < hv.length; k++) {
        expect(hv[k]!).toBeGreaterThanOrEqual(hv[k - 1]! - 1e-12)
        expect(cov[k]!).toBeGreaterThanOrEqual(cov[k - 1]!)
      }
      expect(hv[hv.length - 1]!).toBeLessThanOrEqual(1)
    }
    const rs = result.summary.find((s) => s.strategy === 'random')!
    expect(rs.hypervolume!.final.mean).toBeGreaterThan(0.8)
    expect(rs.hypervolume!.final.mean).toBeLessThan(1)
  })

  it('gives the whole-table runner a relative hypervolume of exactly 1', async () => {
    const result = await compareOnNb201({
      bench,
      dataset: 'cifar10',
      budget: 15625,
      seeds: 1,
      objectives: ['valid_acc:max', 'latency.pixel3:min'],
      runners: { all: enumerateRunner },
    })
    expect(result.summary[0]!.hypervolume!.final.mean).toBe(1)
    expect(result.summary[0]!.coverage!.final.mean).toBe(1)
    expect(result.summary[0]!.final.mean).toBe(
      bench.query(bench.best('cifar10', 'valid_acc').index, 'cifar10').test_acc,
    )
  })
})

/** Evaluates the official indices 0, 1, 2, ... in order (the whole table for a budget of 15,625). */
const enumerateRunner: Runner<Nb201Arch> = async ({ budget, evaluator, signal }) => {
  const out = []
  for (let i = 0; i < budget && !signal.aborted; i++) {
    const arch = bench.archAt(i)
    out.push({ arch, metrics: await evaluator(arch, { signal, report: () => undefined }) })
  }
  return out
}

/** A tiny hill climber, to have a second strategy. */
const greedyRunner: Runner<Nb201Arch> = async ({ seed, budget, evaluator, signal }) => {
  const rng = new Rng(seed)
  const ctx = { signal, report: () => undefined }
  let cur = nb201.sample(rng)
  let curV = (await evaluator(cur, ctx)).valid_acc!
  const out = [{ arch: cur, metrics: {} as Metrics }]
  for (let k = 1; k < budget && !signal.aborted; k++) {
    const cand = nb201.mutate(cur, rng)
    const m = await evaluator(cand, ctx)
    out.push({ arch: cand, metrics: m })
    if (m.valid_acc! > curV) {
      cur = cand
      curV = m.valid_acc!
    }
  }
  return out
}

describe('compare (protocol rules)', () => {
  const evaluator = createNb201Evaluator(bench, { dataset: 'cifar10', metrics: ['valid_acc', 'test_acc'] })

  it('counts every evaluator call and rejects calls beyond the budget', async () => {
    let rejected = 0
    const greedy: Runner<Nb201Arch> = async ({ evaluator: ev, signal }) => {
      const out = []
      for (let i = 0; i < 15; i++) {
        try {
          out.push({
            arch: bench.archAt(i),
            metrics: await ev(bench.archAt(i), { signal, report: () => undefined }),
          })
        } catch (e) {
          if (isNasError(e) && e.code === 'ABORTED') rejected++
          else throw e
        }
      }
      return out
    }
    const r = await compare({ runners: { greedy }, seeds: 1, budget: 10, evaluator })
    expect(r.runs[0]!.queries).toBe(10)
    expect(rejected).toBe(5)
  })

  it("shows the runner the wrapped evaluator's info", async () => {
    let seen: unknown
    const peek: Runner<Nb201Arch> = ({ evaluator: ev }) => {
      seen = (ev as { info?: unknown }).info
      return Promise.resolve([])
    }
    await compare({ runners: { peek }, seeds: 1, budget: 3, evaluator })
    expect(seen).toEqual(evaluator.info)
    expect(seen).toMatchObject({ metrics: ['valid_acc', 'test_acc'], cheapMetrics: [] })
  })

  it('carries the last values forward when a runner stops early, and counts failed queries', async () => {
    const flaky: Evaluator<Nb201Arch> = async (a, ctx) => {
      if (bench.indexOf(a) === 1) throw new Error('training diverged')
      return evaluator(a, ctx)
    }
    const short: Runner<Nb201Arch> = async ({ evaluator: ev, signal }) => {
      const out = []
      for (let i = 0; i < 3; i++) {
        try {
          out.push({
            arch: bench.archAt(i),
            metrics: await ev(bench.archAt(i), { signal, report: () => undefined }),
          })
        } catch {
          // a failed trial
        }
      }
      return out
    }
    const r = await compare({ runners: { short }, seeds: 1, budget: 8, evaluator: flaky })
    const run = r.runs[0]!
    expect(run.queries).toBe(3)
    expect(run.failed).toBe(1)
    expect(run.reportCurve.length).toBe(8)
    expect(run.reportCurve[7]).toBe(run.reportCurve[2])
  })

  it('wraps a failing runner into a NasError naming the strategy and the seed', async () => {
    const broken: Runner<Nb201Arch> = () => Promise.reject(new Error('boom'))
    await expect(compare({ runners: { broken }, seeds: [7], budget: 5, evaluator })).rejects.toThrow(
      /runner 'broken' failed on seed 7 after 0 queries: boom/,
    )
  })

  it('rejects bad options', async () => {
    const runners = { random: randomSamplingRunner(nb201) }
    const bad = async (o: object) => {
      try {
        await compare({ runners, seeds: 2, budget: 5, evaluator, ...o })
      } catch (e) {
        return e as NasError
      }
      throw new Error('accepted')
    }
    expect((await bad({ budget: -1 })).code).toBe('BUDGET_INVALID')
    expect((await bad({ budget: 2.5 })).code).toBe('BUDGET_INVALID')
    expect((await bad({ seeds: 0 })).message).toMatch(/seeds/)
    expect((await bad({ seeds: [1, 1] })).message).toMatch(/repeat/)
    expect((await bad({ runners: {} })).message).toMatch(/at least one runner/)
    expect((await bad({ evaluatorFor: () => evaluator })).message).toMatch(/exactly one of evaluator/)
    expect((await bad({ concurrency: 0 })).message).toMatch(/concurrency/)
    expect((await bad({ searchMetric: 'latency.pixel3:min' })).code).toBe('METRIC_MISSING')
    const ac = new AbortController()
    ac.abort()
    expect((await bad({ signal: ac.signal })).code).toBe('ABORTED')
  })

  it('runs several runs at once with the same results', async () => {
    const runners = { random: randomSamplingRunner(nb201) }
    const a = await compare({ runners, seeds: 6, budget: 25, evaluator, concurrency: 3 })
    const b = await compare({ runners, seeds: 6, budget: 25, evaluator })
    expect(a.runs.map((r) => r.final)).toEqual(b.runs.map((r) => r.final))
  })
})
