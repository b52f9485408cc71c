import type { TrialOutcome } from '@nasjs/core'
import type { Nb201Arch } from '@nasjs/search-space'
import { describe, expectTypeOf, it } from 'vitest'
import type { z } from 'zod'
import type { SearchResult } from './driver/run-search.js'
import type { Runner } from './runner.js'
import type { Nsga2Config, ReaConfig, ReinforceConfig } from './index.js'
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
})
