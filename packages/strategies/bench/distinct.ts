// REA on the search-space README's 774-architecture space, 200 evaluations, with and without
// `distinct`: trials, cache hits and the stop reason per seed (the figures in the README).
// Run: cd packages/strategies && npx tsx --conditions=@nasjs/source bench/distinct.ts
import { Rng } from '@nasjs/core'
import { choice, defineSpace, ordinal, repeat, struct } from '@nasjs/search-space'
import { builtinStrategies, createStrategyRegistry, runSearch } from '../src/index.js'

const mlp = defineSpace(
  'my-mlp',
  struct({
    layers: repeat(struct({ units: ordinal([64, 128, 256]), act: choice(['relu', 'gelu']) }), 1, 3),
    dropout: choice([0, 0.1, 0.3]),
  }),
)
const registry = createStrategyRegistry(builtinStrategies)
// a toy objective of the architecture as written
const objective = (a: ReturnType<typeof mlp.sample>) => ({
  acc: ((mlp.format(a).length * 7919) % 1000) / 10 + a.layers.length,
})
for (const distinct of [false, true]) {
  for (const seed of [1, 2, 3]) {
    const r = await runSearch({
      space: mlp,
      strategy: registry.create(
        'rea',
        {},
        { space: mlp, rng: new Rng(seed), objectives: [{ name: 'acc', direction: 'max' }], distinct },
      ),
      evaluator: (a) => Promise.resolve(objective(a)),
      objectives: ['acc:max'],
      budget: { evaluations: 200 },
      seed,
    })
    console.log(
      JSON.stringify({
        distinct,
        seed,
        trials: r.trials.length,
        evaluations: r.evaluations,
        cacheHits: r.cacheHits,
        reason: r.reason,
      }),
    )
  }
}
