import type { Metrics, Objective } from '@nasjs/core'
import { choice, defineSpace, nb201, ordinal, repeat, struct } from '@nasjs/search-space'
import type { SearchSpace } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { DISTINCT_SPACE_LIMIT, StrategyBase } from './base.js'
import { runSearch } from './driver/run-search.js'
import { make, obj } from './testing-internal/drive.js'
import { conditionalSpace, gridSpace } from './testing/index.js'

/** The search-space README's example: 774 architectures. */
const mlp = defineSpace(
  'my-mlp',
  struct({
    layers: repeat(struct({ units: ordinal([64, 128, 256]), act: choice(['relu', 'gelu']) }), 1, 3),
    dropout: choice([0, 0.1, 0.3]),
  }),
)

/** A deterministic objective of the architecture as written (no two texts share a value by design). */
function objectiveOf<A>(space: SearchSpace<A>, a: A): Metrics {
  let h = 2166136261
  for (const c of space.format(a)) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0
  return { acc: (h % 100_000) / 1000, lat: ((h >>> 7) % 10_000) / 1000 }
}

const twoObjectives: readonly Objective[] = [obj('acc'), { name: 'lat', direction: 'min' }]

describe('distinct proposals in small spaces', () => {
  it('REA on a 774-architecture space: 200 evaluations are 200 trials, none of them a cache hit', async () => {
    expect(mlp.size()).toBe(774n)
    const run = (distinct?: boolean) =>
      runSearch({
        space: mlp,
        strategy: make('rea', mlp, {}, 1, [obj('acc')], distinct),
        evaluator: (a) => Promise.resolve(objectiveOf(mlp, a)),
        objectives: ['acc:max'],
        budget: { evaluations: 200 },
        seed: 1,
      })
    const r = await run()
    expect(r.reason).toBe('budget')
    expect(r.evaluations).toBe(200)
    expect(r.trials).toHaveLength(200)
    expect(r.cacheHits).toBe(0)
    expect(new Set(r.trials.map((t) => mlp.format(t.arch))).size).toBe(200)
    const repeats = (r.study.strategy as StrategyBase<unknown>).repeatsAnswered
    expect(repeats).toBeGreaterThan(0)
    // the same search proposing repeats (as before): the driver's cache answers them, as trials
    const before = await run(false)
    expect(before.cacheHits).toBeGreaterThan(0)
    expect(before.trials.length).toBe(200 + before.cacheHits)
  })

  const endless = { trials: 100_000 }
  for (const [name, objectives] of [
    ['random', [obj('acc')]],
    ['rea', [obj('acc')]],
    ['sa', [obj('acc')]],
    ['reinforce', [obj('acc')]],
    ['nsga2', twoObjectives],
  ] as const) {
    it(`${name} runs out of a small space after proposing every architecture once, and says so`, async () => {
      for (const space of [gridSpace(2, 3), conditionalSpace()]) {
        const r = await runSearch({
          space,
          strategy: make(name, space, {}, 3, objectives),
          evaluator: (a) => Promise.resolve(objectiveOf(space, a)),
          objectives: objectives.map((o) => `${o.name}:${o.direction}` as const) as [
            `${string}:max` | `${string}:min`,
          ],
          budget: endless,
          seed: 3,
        })
        expect(r.reason, `${name} on ${space.id}`).toBe('exhausted')
        expect(BigInt(r.trials.length)).toBe(space.size())
        expect(r.cacheHits).toBe(0)
        expect(new Set(r.trials.map((t) => space.format(t.arch))).size).toBe(r.trials.length)
      }
    })
  }

  it('strategies that end by their own rule never repeat an architecture before they do', async () => {
    const space = conditionalSpace()
    for (const name of ['ls', 'mcts', 'beam', 'grid']) {
      const r = await runSearch({
        space,
        strategy: make(name, space, {}, 5),
        evaluator: (a) => Promise.resolve(objectiveOf(space, a)),
        objectives: ['acc:max'],
        budget: endless,
        seed: 5,
      })
      expect(r.reason, name).toBe('exhausted')
      expect(r.cacheHits, name).toBe(0)
      expect(new Set(r.trials.map((t) => space.format(t.arch))).size, name).toBe(r.trials.length)
    }
  })

  it('successive halving: no (architecture, fidelity) pair twice', async () => {
    const space = gridSpace(2, 3)
    const r = await runSearch({
      space,
      strategy: make('hyperband', space, { maxFidelity: 9, eta: 3 }, 2),
      evaluator: (a, ctx) => Promise.resolve({ acc: objectiveOf(space, a).acc! * (ctx.fidelity ?? 9) }),
      objectives: ['acc:max'],
      budget: { trials: 300 },
      seed: 2,
    })
    const keys = r.trials.map((t) => `${space.format(t.arch)}@${t.fidelity}`)
    expect(new Set(keys).size).toBe(keys.length)
    expect(r.cacheHits).toBe(0)
  })

  it('is off by default above DISTINCT_SPACE_LIMIT (NB201) and can be turned on or off', () => {
    expect(nb201.size()).toBeGreaterThan(DISTINCT_SPACE_LIMIT)
    expect(make('rea', nb201).snapshot()).not.toHaveProperty('distinct')
    expect(make('rea', nb201, {}, 1, [obj('acc')], true).snapshot()).toHaveProperty('distinct')
    expect(make('rea', mlp, {}, 1, [obj('acc')], false).snapshot()).not.toHaveProperty('distinct')
  })

  it('a strategy whose rule only draws repeats proposes the architectures not yet proposed', () => {
    // REA with a population of 1 on 9 architectures: its rule keeps mutating one parent
    const space = gridSpace(2, 3)
    const s = make('rea', space, { populationSize: 2, sampleSize: 1 }, 7)
    const seen = new Set<string>()
    for (let i = 0; i < 100; i++) {
      const [p] = s.ask(1)
      if (p === undefined) break
      const text = space.format(p.arch)
      expect(seen.has(text)).toBe(false)
      seen.add(text)
      s.tell(p.id, { status: 'complete', metrics: objectiveOf(space, p.arch) })
    }
    expect(seen.size).toBe(9)
    expect(s.exhausted()).toBe(true)
    expect(s.ask(1)).toEqual([])
  })
})

describe('a custom evaluator with the default cache', () => {
  it('stores objective(arch) for every one of 2,000 trials (the functional cache would not)', async () => {
    // NB201 cells that compute the same function share a hash; a user's objective of the cell as
    // written does not share values. The default cache for an evaluator that declares nothing is exact.
    const run = (cache?: 'functional') =>
      runSearch({
        space: nb201,
        strategy: make('random', nb201, {}, 11),
        evaluator: (a) => Promise.resolve(objectiveOf(nb201, a)),
        objectives: ['acc:max'],
        budget: { trials: 2000 },
        seed: 11,
        ...(cache === undefined ? {} : { cache }),
      })
    const wrong = (r: Awaited<ReturnType<typeof run>>) =>
      r.trials.filter((t) => {
        const o = t.outcome
        return o?.status !== 'complete' || o.metrics.acc !== objectiveOf(nb201, t.arch).acc
      }).length
    const r = await run()
    expect(r.trials).toHaveLength(2000)
    expect(wrong(r)).toBe(0)
    const functional = await run('functional')
    expect(wrong(functional)).toBeGreaterThan(0)
  })
})

describe('seeded runs stay reproducible with distinct on', () => {
  it('same seed, same trials', async () => {
    const run = () =>
      runSearch({
        space: mlp,
        strategy: make('rea', mlp, { populationSize: 10, sampleSize: 3 }, 4),
        evaluator: (a) => Promise.resolve(objectiveOf(mlp, a)),
        objectives: ['acc:max'],
        budget: { evaluations: 300 },
        seed: 4,
      })
    const a = await run()
    const b = await run()
    expect(b.trials.map((t) => mlp.format(t.arch))).toEqual(a.trials.map((t) => mlp.format(t.arch)))
  })
})
