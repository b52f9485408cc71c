import { Rng, paretoFront } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import { builtinStrategies, createStrategyRegistry, runSearch } from '@nasjs/strategies'
import { conditionalSpace, describeStrategyConformance, gridSpace } from '@nasjs/strategies/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { prepareTf } from '../tf-backend.js'
import { isNasError } from '@nasjs/core'
import { bananas, expectedImprovement, gpbo, linas, predictorStrategies } from './index.js'
import { jointSelection } from './linas.js'

beforeAll(async () => {
  await prepareTf() // the MLP ensemble fits synchronously inside ask()
})

const spaces = [{ space: gridSpace() }, { space: conditionalSpace() }]
const two = [
  { name: 'acc', direction: 'max' },
  { name: 'lat', direction: 'min' },
] as const

describeStrategyConformance(bananas, {
  spaces,
  config: {
    initialSamples: 6,
    batchSize: 4,
    candidates: 20,
    predictor: { kind: 'mlp-ensemble', members: 3, mlp: { epochs: 15, hiddenLayers: [8] } },
  },
})
describeStrategyConformance(gpbo, {
  spaces,
  config: { initialSamples: 6, predictor: { kind: 'gp', restarts: 1, maxIterations: 15 } },
})
describeStrategyConformance(linas, {
  spaces,
  objectives: two,
  config: { initialSamples: 8, batchSize: 5, generations: 5, populationSize: 10 },
})

describeStrategyConformance(linas, {
  spaces,
  objectives: two,
  config: { initialSamples: 8, batchSize: 5, generations: 5, populationSize: 10, identity: 'functional' },
})

describe('predictor strategies', () => {
  it('register next to the builtins', () => {
    const reg = createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
    expect(reg.names()).toEqual(expect.arrayContaining(['bananas', 'gpbo', 'linas', 'rea']))
    expect(reg.describe().find((d) => d.name === 'linas')?.multiObjective).toBe(true)
  })

  it.each([
    { variantShare: 0.3 },
    { variantMinYield: 0.05 },
    { logScale: 'auto' },
    { exploration: 0.5 },
    { innerSearch: 'auto' },
    { selection: 'joint' },
  ])('linas rejects the removed option %j as an unknown key', (config) => {
    const reg = createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
    let e: unknown
    try {
      // the removed options are type errors too; the run-time check is what this test is about
      const name: string = 'linas'
      reg.create(name, config, { space: nb201, rng: new Rng(1), objectives: two })
    } catch (err) {
      e = err
    }
    expect(isNasError(e) && e.code).toBe('CONFIG_INVALID')
    expect(String(e)).toContain(Object.keys(config)[0])
  })

  it('expected improvement matches its closed form', () => {
    expect(expectedImprovement(1, 0, 0.5)).toBe(0.5)
    expect(expectedImprovement(0, 0, 0.5)).toBe(0)
    // z = 0: EI = std * phi(0)
    expect(expectedImprovement(2, 1, 2)).toBeCloseTo(1 / Math.sqrt(2 * Math.PI), 6)
    // far below the incumbent: almost nothing
    expect(expectedImprovement(0, 1, 10)).toBeLessThan(1e-15)
  })

  // A smooth NB201 objective (number of 3x3 convolutions on paths, plus op-wise terms) that the
  // surrogates can learn: guided search must beat random search at equal budget.
  const score = (a: readonly string[]) =>
    a.reduce(
      (s, op, i) =>
        s +
        (op === 'nor_conv_3x3' ? 3 + i * 0.2 : op === 'nor_conv_1x1' ? 1.5 : op === 'skip_connect' ? 0.5 : 0),
      0,
    )
  const evaluator = (a: readonly string[]) =>
    Promise.resolve({ acc: score(a), lat: a.filter((o) => o.startsWith('nor')).length })
  /** The trials of a LINAS run (ridge models, 10 random then batches of 10) on NB201 with `evaluator`. */
  const linasOnNb201 = async (config: object, seed: number, trials: number) => {
    const reg = createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
    const s = reg.create(
      'linas',
      { initialSamples: 10, batchSize: 10, predictor: { kind: 'ridge' }, ...config },
      { space: nb201, rng: new Rng(seed), objectives: two },
    )
    const r = await runSearch({
      space: nb201,
      strategy: s,
      evaluator,
      objectives: two,
      budget: { trials },
      seed,
    })
    return r.trials
  }

  it.each([
    ['bananas', { predictor: { kind: 'mlp-ensemble', members: 3, mlp: { epochs: 60 } } }],
    ['gpbo', { predictor: { kind: 'gp', restarts: 1 } }],
  ] as const)('%s beats random search on a learnable NB201 objective', async (name, config) => {
    const reg = createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
    const best = async (strategy: string, cfg: unknown, seed: number) => {
      const s = reg.create(strategy, cfg, {
        space: nb201,
        rng: new Rng(seed),
        objectives: [{ name: 'acc', direction: 'max' }],
      })
      const r = await runSearch({
        space: nb201,
        strategy: s,
        evaluator,
        objectives: [{ name: 'acc', direction: 'max' }],
        budget: { trials: 40 },
        seed,
      })
      return Math.max(
        ...r.trials
          .filter((t) => t.outcome?.status === 'complete')
          .map((t) => (t.outcome as unknown as { metrics: { acc: number } }).metrics.acc),
      )
    }
    let guided = 0
    let random = 0
    for (const seed of [1, 2, 3]) {
      guided += await best(name, config, seed)
      random += await best('random', {}, seed)
    }
    expect(guided).toBeGreaterThan(random)
    expect(guided / 3).toBeGreaterThan(0.9 * (6 * 3 + 0.2 * 15)) // near the optimum, 21 (all 3x3 convs)
  })

  it('linas takes an average of models for one objective, and the same seed gives the same run', async () => {
    const config = {
      objectivePredictors: [
        {
          kind: 'average',
          members: [
            { kind: 'gradient-boosting', nEstimators: 30 },
            { kind: 'gradient-boosting', nEstimators: 30 },
          ],
        },
        { kind: 'ridge' },
      ],
    }
    const run = async () => (await linasOnNb201(config, 5, 30)).map((t) => JSON.stringify(t.arch))
    const first = await run()
    expect(first).toHaveLength(30)
    expect(new Set(first).size).toBe(30)
    expect(await run()).toEqual(first)
  })

  it('linas covers more of a two-objective NB201 front than random search', async () => {
    const all = [...nb201.enumerate!()]
    const pts = all.map((a) => [-score(a), a.filter((o) => o.startsWith('nor')).length])
    const truth = new Set(paretoFront(pts).map((i) => `${pts[i]![0]},${pts[i]![1]}`))
    const coverage = async (strategy: string, cfg: unknown) => {
      const reg = createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
      const s = reg.create(strategy, cfg, { space: nb201, rng: new Rng(4), objectives: two })
      const r = await runSearch({
        space: nb201,
        strategy: s,
        evaluator,
        objectives: two,
        budget: { trials: 100 },
        seed: 4,
      })
      const found = new Set(
        r.trials
          .filter((t) => t.outcome?.status === 'complete')
          .map((t) => {
            const m = (t.outcome as unknown as { metrics: { acc: number; lat: number } }).metrics
            return `${-m.acc},${m.lat}`
          })
          .filter((k) => truth.has(k)),
      )
      return found.size / truth.size
    }
    const guided = await coverage('linas', {
      batchSize: 10,
      generations: 20,
      predictor: { kind: 'ridge' },
      identity: 'functional',
    })
    expect(guided).toBeGreaterThan(0.6)
    expect(guided).toBeGreaterThan(await coverage('random', {}))
  })

  it('linas joint selection skips candidates that a measured architecture beats', () => {
    const cand = (id: string, f: number[]) => ({ arch: id, hash: id, f })
    const measured = [
      [0, 5],
      [5, 0],
    ]
    const candidates = [
      cand('beaten', [1, 6]), // dominated by [0, 5]
      cand('between', [2, 2]), // on the joint front
      cand('worse', [3, 3]), // behind 'between' only
      cand('edge', [-1, 9]), // on the joint front
    ]
    expect(jointSelection(measured, candidates, 2).map((c) => c.hash)).toEqual(['between', 'edge'])
    // then the second front ('beaten', 'worse'), cut by crowding
    expect(
      jointSelection(measured, candidates, 3)
        .map((c) => c.hash)
        .slice(0, 2),
    ).toEqual(['between', 'edge'])
    expect(jointSelection(measured, candidates, 10).map((c) => c.hash)).toHaveLength(4)
    expect(jointSelection([], candidates, 1)).toHaveLength(1)
  })

  it('linas feeds the free features to the models of the objectives that ask for them', async () => {
    // An accuracy the encoding cannot explain (a hash of the cell) but one free feature reveals.
    const noise = (a: readonly string[]) => {
      let h = 2166136261
      for (const c of a.join('|')) h = Math.imul(h ^ c.charCodeAt(0), 16777619)
      return ((h >>> 0) % 10007) / 10007
    }
    const lat = (a: readonly string[]) => a.filter((o) => o.startsWith('nor')).length
    // Mean accuracy of the planned proposals (after the 20 random ones).
    const plannedAccuracy = async (extraFeatures: boolean[]) => {
      const reg = createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
      const s = reg.create(
        'linas',
        { extraFeatures, batchSize: 10, predictor: { kind: 'ridge' } },
        { space: nb201, rng: new Rng(5), objectives: two, features: (a) => [noise(a)] },
      )
      const r = await runSearch({
        space: nb201,
        strategy: s,
        evaluator: (a: readonly string[]) => Promise.resolve({ acc: noise(a), lat: lat(a) }),
        objectives: two,
        budget: { trials: 60 },
        seed: 5,
      })
      const planned = r.trials.slice(20).map((t) => noise(t.arch))
      return planned.reduce((x, y) => x + y, 0) / planned.length
    }
    const withFeature = await plannedAccuracy([true, false])
    const without = await plannedAccuracy([false, false])
    // random cells average 0.5; the inner NSGA-II finds cells the feature marks as good
    expect(withFeature).toBeGreaterThan(0.7)
    expect(withFeature - without).toBeGreaterThan(0.2)
  })

  it('linas refuses extraFeatures without features from the caller, or with the wrong flag count', () => {
    const reg = createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
    const ctx = { space: nb201, rng: new Rng(1), objectives: two }
    let e: unknown
    try {
      reg.create('linas', { extraFeatures: true }, ctx)
    } catch (err) {
      e = err
    }
    expect(isNasError(e) && e.code).toBe('CONFIG_INVALID')
    expect(String(e)).toMatch(/StrategyContext.features/)
    expect(() => reg.create('linas', { extraFeatures: [true] }, { ...ctx, features: () => [1] })).toThrow(
      /1 flags but there are 2 objectives/,
    )
    expect(() =>
      reg.create('linas', { extraFeatures: [true, false] }, { ...ctx, features: () => [1] }),
    ).not.toThrow()
  })
})
