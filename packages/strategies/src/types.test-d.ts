import { Rng } from '@nasjs/core'
import type { TrialOutcome } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { describe, expectTypeOf, it } from 'vitest'
import type { z } from 'zod'
import { runSearch } from './driver/run-search.js'
import type { SearchResult } from './driver/run-search.js'
import type { Runner } from './runner.js'
import { createStrategyRegistry } from './index.js'
import type { Nsga2Config, ReaConfig, ReinforceConfig, StrategyDefinition } from './index.js'
import type { Proposal, Strategy } from './types.js'

describe('public types', () => {
  it('configs infer their parsed and input shapes', () => {
    expectTypeOf<ReaConfig>().toEqualTypeOf<{ populationSize: number; sampleSize: number }>()
    expectTypeOf<z.input<typeof ReaConfig>>().toEqualTypeOf<{
      populationSize?: number | undefined
      sampleSize?: number | undefined
    }>()
    expectTypeOf<Nsga2Config['offspringSize']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<ReinforceConfig['reward']['kind']>().toEqualTypeOf<'objective' | 'mnasnet'>()
  })

  it('strategies and results keep the architecture type', () => {
    expectTypeOf<ReturnType<Strategy<Nb201Arch>['ask']>>().toEqualTypeOf<readonly Proposal<Nb201Arch>[]>()
    expectTypeOf<Parameters<Strategy<Nb201Arch>['tell']>[1]>().toEqualTypeOf<TrialOutcome>()
    expectTypeOf<SearchResult<Nb201Arch>['best']>().toEqualTypeOf<
      SearchResult<Nb201Arch>['trials'][number] | undefined
    >()
    expectTypeOf<Awaited<ReturnType<Runner<Nb201Arch>>>[number]['arch']>().toEqualTypeOf<Nb201Arch>()
  })

  it('a registry type-checks the config of every strategy it knows by name', () => {
    const opts = { space: nb201, rng: new Rng(1), objectives: [{ name: 'acc', direction: 'max' as const }] }
    const registry = createStrategyRegistry()
    expectTypeOf(registry.create('rea', { populationSize: 20 }, opts)).toEqualTypeOf<Strategy<Nb201Arch>>()
    registry.create('nsga2', undefined, opts)
    // @ts-expect-error populationSize is a number
    registry.create('rea', { populationSize: 'x' }, opts)
    // @ts-expect-error rea has no field mutationProb
    registry.create('rea', { mutationProb: 0.5 }, opts)
    // a name only known at run time (a command line) is checked at run time
    const fromCli: string = 'rea'
    registry.create(fromCli, { populationSize: 'x' }, opts)
    // definitions typed with a plain string name add no compile-time names
    const loose: StrategyDefinition[] = []
    createStrategyRegistry(loose).create('rea', { anything: 1 }, opts)
  })

  it('a search needs at least one budget limit and one objective; objective strings are typed', () => {
    // compiled, never called
    const check = (strategy: Strategy<Nb201Arch>) => {
      const evaluator = () => Promise.resolve({ acc: 1, lat: 2 })
      const base = { space: nb201, strategy, evaluator }
      void runSearch({
        ...base,
        objectives: ['acc:max', { name: 'lat', direction: 'min' }],
        budget: { trials: 9 },
      })
      // @ts-expect-error an empty budget
      void runSearch({ ...base, objectives: ['acc:max'], budget: {} })
      // @ts-expect-error no objective
      void runSearch({ ...base, objectives: [], budget: { trials: 9 } })
      // @ts-expect-error a direction is max or min
      void runSearch({ ...base, objectives: ['acc:up'], budget: { trials: 9 } })
    }
    expectTypeOf(check).toBeFunction()
  })
})
