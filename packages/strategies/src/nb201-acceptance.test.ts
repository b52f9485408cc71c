// Reduced-size versions of the NB201 acceptance runs of bench/nb201.ts (full figures in BENCHMARKS.md).
import { Rng } from '@nasjs/core'
import type { Metrics } from '@nasjs/core'
import { compareOnNb201, createMultiFidelityBenchmark } from '@nasjs/benchmarks'
import { loadNb201 } from '@nasjs/benchmarks/node'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { runSearch } from './driver/run-search.js'
import { createStrategyRegistry } from './registry.js'
import { strategyRunner } from './runner.js'

const registry = createStrategyRegistry()
const bench = loadNb201()

describe('NB201 CIFAR-10 acceptance (reduced)', () => {
  it('REA and local search beat random search on mean test accuracy (20 seeds x 150 queries)', async () => {
    const runner = (name: string) =>
      strategyRunner(registry, name, {}, { space: nb201, objectives: ['valid_acc:max'] })
    const r = await compareOnNb201<Nb201Arch>({
      bench,
      dataset: 'cifar10',
      runners: { random: runner('random'), rea: runner('rea'), ls: runner('ls') },
      seeds: 20,
      budget: 150,
    })
    const mean = (n: string) => r.summary.find((s) => s.strategy === n)!.final.mean
    expect(mean('rea')).toBeGreaterThan(mean('random'))
    expect(mean('ls')).toBeGreaterThan(mean('random'))
    for (const run of r.runs) expect(run.queries).toBe(150)
  })

  it('NSGA-II on (valid_acc, Pixel 3 latency) covers far more of the true front than random search (6 seeds x 1000)', async () => {
    const objectives = ['valid_acc:max', 'latency.pixel3:min'] as const
    const r = await compareOnNb201<Nb201Arch>({
      bench,
      dataset: 'cifar10',
      objectives,
      runners: {
        random: strategyRunner(registry, 'random', {}, { space: nb201, objectives, cache: 'exact' }),
        nsga2: strategyRunner(
          registry,
          'nsga2',
          { offspringSize: 10 },
          { space: nb201, objectives, cache: 'exact' },
        ),
      },
      seeds: 6,
      budget: 1000,
    })
    const rnd = r.summary.find((s) => s.strategy === 'random')!
    const nsga = r.summary.find((s) => s.strategy === 'nsga2')!
    expect(nsga.coverage!.final.mean).toBeGreaterThan(0.25)
    expect(nsga.coverage!.final.mean).toBeGreaterThan(3 * rnd.coverage!.final.mean)
    for (let k = 100; k <= 1000; k += 100) {
      expect(nsga.hypervolume!.mean[k - 1]!).toBeGreaterThan(rnd.hypervolume!.mean[k - 1]!)
    }
  })
})

describe('synthetic multi-fidelity benchmark', () => {
  it('successive halving and Hyperband beat random search at equal cost in epochs (20 seeds)', async () => {
    const totals: Record<string, number> = { random: 0, sh: 0, hyperband: 0 }
    for (let seed = 0; seed < 20; seed++) {
      const mf = createMultiFidelityBenchmark(nb201, { seed: 10_000 + seed, maxFidelity: 200 })
      for (const name of Object.keys(totals)) {
        const config = name === 'random' ? {} : { minFidelity: 2, maxFidelity: 200, eta: 3 }
        const strategy = registry.create(name, config, {
          space: nb201,
          rng: new Rng(seed),
          objectives: [{ name: 'valid_acc', direction: 'max' }],
        })
        const r = await runSearch({
          space: nb201,
          strategy,
          evaluator: mf.evaluator,
          objectives: ['valid_acc:max'],
          budget: { cost: 200 * 30 },
          costMetric: 'epochs',
        })
        expect(r.cost).toBeGreaterThanOrEqual(200 * 30)
        totals[name]! += (r.best!.outcome as { metrics: Metrics }).metrics.test_acc!
      }
    }
    expect(totals.sh).toBeGreaterThan(totals.random!)
    expect(totals.hyperband).toBeGreaterThan(totals.random!)
  })
})
