// A search in a child process, for the kill test: `node --import tsx --conditions=@nasjs/source search-child.ts <journal> <strategy> [resume]`
import { Rng, parseObjectives } from '@nasjs/core'
import type { Metrics, ObjectiveList } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { createStrategyRegistry } from '../../registry.js'
import { syntheticMetrics } from '../../testing/synthetic.js'
import { runSearch } from '../../driver/run-search.js'
import { fileStorage } from '../file-storage.js'

export const CHILD_TRIALS = 120
export const childConfig: Record<string, unknown> = {
  rea: { populationSize: 10, sampleSize: 3 },
  nsga2: { populationSize: 8 },
  mcts: {},
  ls: { initSamples: 3 },
  random: {},
}
export const childObjectives = (name: string): ObjectiveList =>
  name === 'nsga2' ? ['acc:max', 'lat:min'] : ['acc:max']

/** The study every child (and the in-process reference) runs. */
export async function childSearch(journal: string, name: string, resume: boolean): Promise<void> {
  const m = syntheticMetrics(nb201)
  const objectives = childObjectives(name)
  const registry = createStrategyRegistry()
  const strategy = registry.create(name, childConfig[name], {
    space: nb201,
    rng: new Rng(11),
    objectives: parseObjectives(objectives),
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
    storage: fileStorage(journal),
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
