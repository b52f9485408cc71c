// A search in a child process, for the kill test: `node --import tsx --conditions=@nasjs/source search-child.ts <journal> <strategy> [resume]`
import { Rng } from '@nasjs/core'
import type { Metrics } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { createStrategyRegistry } from '../../registry.js'
import { syntheticMetrics } from '../../testing/synthetic.js'
import { runSearch } from '../run-search.js'

export const CHILD_TRIALS = 120
export const childConfig: Record<string, unknown> = {
  rea: { populationSize: 10, sampleSize: 3 },
  nsga2: { populationSize: 8 },
  mcts: {},
  ls: { initSamples: 3 },
  random: {},
}
export const childObjectives = (name: string): string[] =>
  name === 'nsga2' ? ['acc:max', 'lat:min'] : ['acc:max']

/** The study every child (and the in-process reference) runs. */
export async function childSearch(journal: string, name: string, resume: boolean): Promise<void> {
  const m = syntheticMetrics(nb201)
  const objectives = childObjectives(name)
  const registry = createStrategyRegistry()
  const strategy = registry.create(name, childConfig[name], {
    space: nb201,
    rng: new Rng(11),
    objectives: objectives.map((o) => ({
      name: o.split(':')[0]!,
      direction: o.split(':')[1] as 'max' | 'min',
    })),
  })
  await runSearch({
    space: nb201,
    strategy,
    objectives,
    evaluator: async (a: Nb201Arch): Promise<Metrics> => {
      await new Promise((res) => setTimeout(res, 3))
      if (a[5] === 'avg_pool_3x3' && a[0] === 'none') throw new Error('synthetic failure')
      return m(a)
    },
    budget: { trials: CHILD_TRIALS },
    journal,
    resume,
    seed: 11,
    snapshotEvery: 7,
    // random search does not learn from tells, so its trials do not depend on the tell order
    concurrency: name === 'random' ? 3 : 1,
  })
}

if (process.argv[1]?.endsWith('search-child.ts')) {
  const [journal, name, resume] = process.argv.slice(2)
  await childSearch(journal!, name!, resume === 'resume')
}
