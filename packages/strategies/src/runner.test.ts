import { NasError } from '@nasjs/core'
import type { Metrics } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { createStrategyRegistry } from './registry.js'
import { strategyRunner } from './runner.js'
import { syntheticMetrics } from './testing/index.js'

const registry = createStrategyRegistry()
const m = syntheticMetrics(nb201)

describe('strategyRunner', () => {
  it('runs a registered strategy through the driver and returns the evaluated trials in query order', async () => {
    const run = strategyRunner(
      registry,
      'rea',
      { populationSize: 10, sampleSize: 3 },
      { space: nb201, objectives: ['acc:max'] },
    )
    const calls: string[] = []
    const evaluator = (a: Nb201Arch): Promise<Metrics> => (calls.push(nb201.format(a)), Promise.resolve(m(a)))
    const trials = await run({ seed: 3, budget: 40, evaluator, signal: new AbortController().signal })
    expect(trials).toHaveLength(40)
    expect(trials.map((t) => nb201.format(t.arch))).toEqual(calls)
    const again = await run({
      seed: 3,
      budget: 40,
      evaluator: (a) => Promise.resolve(m(a)),
      signal: new AbortController().signal,
    })
    expect(again.map((t) => nb201.hash(t.arch))).toEqual(trials.map((t) => nb201.hash(t.arch)))
  })

  it('rejects an unknown strategy or a bad config when created', () => {
    expect(() => strategyRunner(registry, 'nope', {}, { space: nb201, objectives: ['acc:max'] })).toThrow(
      NasError,
    )
    expect(() =>
      strategyRunner(registry, 'rea', { populationSize: 0 }, { space: nb201, objectives: ['acc:max'] }),
    ).toThrow(/populationSize/)
  })

  it('stops when the comparison aborts at the budget', async () => {
    const ctl = new AbortController()
    let n = 0
    const run = strategyRunner(registry, 'random', {}, { space: nb201, objectives: ['acc:max'] })
    const trials = await run({
      seed: 1,
      budget: 1000,
      evaluator: (a) => {
        if (++n === 15) ctl.abort()
        return Promise.resolve(m(a))
      },
      signal: ctl.signal,
    })
    expect(trials).toHaveLength(15)
  })
})
