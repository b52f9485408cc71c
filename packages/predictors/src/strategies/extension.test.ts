import { Rng, isNasError } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import { builtinStrategies, createStrategyRegistry, runSearch } from '@nasjs/strategies'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { predictorModels, ridge, type PredictorDefinition } from '../index.js'
import { thrown } from '../testing-internal/thrown.js'
import type { Predictor } from '../types.js'
import { predictorStrategiesWith } from './index.js'

/** A plug-in model that records the width of the rows it is fitted on, then fits a ridge. */
function recordingModel(widths: number[]): PredictorDefinition {
  return {
    kind: 'recording',
    description: 'ridge that records its feature widths',
    configSchema: z
      .object({ kind: z.literal('recording'), alpha: z.number().positive().default(1) })
      .strict(),
    create: (config) => {
      const inner = ridge({ alpha: (config as unknown as { alpha: number }).alpha })
      const p: Predictor = {
        ...inner,
        fitSync: (X, y, o) => {
          widths.push(X[0]!.length)
          return inner.fitSync(X, y, o)
        },
      }
      return p
    },
  }
}

const one = [{ name: 'acc', direction: 'max' }] as const
const hashed = (a: readonly string[]) => {
  let h = 2166136261
  for (const c of a.join('|')) h = Math.imul(h ^ c.charCodeAt(0), 16777619)
  return ((h >>> 0) % 10007) / 10007
}

describe('predictor models from outside the package', () => {
  it('every predictor-guided strategy selects a plug-in model by kind, fed the free features alone', async () => {
    for (const name of ['bananas', 'gpbo', 'linas']) {
      const widths: number[] = []
      const reg = createStrategyRegistry([
        ...builtinStrategies,
        ...predictorStrategiesWith([recordingModel(widths)]),
      ])
      const strategy = reg.create(
        name,
        { predictor: { kind: 'recording' }, extraFeatures: 'only', initialSamples: 6, batchSize: 2 },
        { space: nb201, rng: new Rng(3), objectives: one, features: (a) => [hashed(a), 1, 2] },
      )
      await runSearch({
        space: nb201,
        strategy,
        evaluator: (a: readonly string[]) => Promise.resolve({ acc: hashed(a) }),
        objectives: one,
        budget: { trials: 12 },
        seed: 3,
      })
      expect(widths.length, name).toBeGreaterThan(0)
      expect(new Set(widths), name).toEqual(new Set([3]))
    }
  })

  it("'only' features find what the encoding cannot explain", async () => {
    const reg = createStrategyRegistry([
      ...builtinStrategies,
      ...predictorStrategiesWith([recordingModel([])]),
    ])
    const planned = async (extraFeatures: boolean | 'only') => {
      const strategy = reg.create(
        'bananas',
        { predictor: { kind: 'recording' }, extraFeatures, initialSamples: 10, batchSize: 5, candidates: 60 },
        { space: nb201, rng: new Rng(9), objectives: one, features: (a) => [hashed(a)] },
      )
      const r = await runSearch({
        space: nb201,
        strategy,
        evaluator: (a: readonly string[]) => Promise.resolve({ acc: hashed(a) }),
        objectives: one,
        budget: { trials: 40 },
        seed: 9,
      })
      const xs = r.trials.slice(10).map((t) => hashed(t.arch))
      return xs.reduce((s, v) => s + v, 0) / xs.length
    }
    const only = await planned('only')
    const none = await planned(false)
    expect(only).toBeGreaterThan(0.8)
    expect(only - none).toBeGreaterThan(0.2)
  })

  it('an unknown kind or a bad plug-in config is a NasError naming the allowed kinds', () => {
    const models = predictorModels([recordingModel([])])
    expect(models.kinds).toContain('recording')
    expect(models.kinds).toContain('random-forest')
    const unknown = thrown(() => models.create({ kind: 'nope' }))
    expect(isNasError(unknown) && unknown.code).toBe('NOT_REGISTERED')
    expect(isNasError(unknown) && unknown.allowed).toContain('recording')
    const bad = thrown(() => models.create({ kind: 'recording', alpha: -1 }))
    expect(isNasError(bad) && bad.code).toBe('CONFIG_INVALID')
    const twice = thrown(() => predictorModels([recordingModel([]), recordingModel([])]))
    expect(isNasError(twice) && twice.code).toBe('CONFIG_INVALID')
    const reg = createStrategyRegistry([
      ...builtinStrategies,
      ...predictorStrategiesWith([recordingModel([])]),
    ])
    const viaStrategy = thrown(() =>
      reg.create(
        'bananas',
        { predictor: { kind: 'nope' } },
        { space: nb201, rng: new Rng(1), objectives: one },
      ),
    )
    expect(isNasError(viaStrategy) && viaStrategy.code).toBe('CONFIG_INVALID')
    // the plain definitions keep to the built-ins
    const plain = createStrategyRegistry([...builtinStrategies, ...predictorStrategiesWith([])])
    expect(() =>
      plain.create(
        'bananas',
        { predictor: { kind: 'recording' } },
        { space: nb201, rng: new Rng(1), objectives: one },
      ),
    ).toThrow(/predictor/)
  })
})
