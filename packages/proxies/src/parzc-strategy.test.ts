import { initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import { predictorStrategiesWith } from '@nasjs/predictors'
import { nb201, type Nb201Arch } from '@nasjs/search-space'
import { builtinStrategies, createStrategyRegistry, runSearch } from '@nasjs/strategies'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { parzcFeatureSource, parzcPredictor } from './parzc.js'
import { randomBatch } from './score.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const network = { channels: 4, cellsPerStage: 1, inputShape: [8, 8, 3] }
const objectives = [{ name: 'acc', direction: 'max' }] as const
// a stand-in accuracy: convolutions on the cell's edges, more on the later ones
const acc = (a: readonly string[]) =>
  a.reduce((s, op, i) => s + (op.startsWith('nor_conv') ? 1 + i / 6 : 0), 0) / 10

async function search(seed: number) {
  const source = parzcFeatureSource({
    space: nb201,
    batch: randomBatch([8, 8, 3], 8, 10, new Rng(16)),
    network,
    layers: 24,
  })
  const registry = createStrategyRegistry([
    ...builtinStrategies,
    ...predictorStrategiesWith([parzcPredictor]),
  ])
  const strategy = registry.create(
    'bananas',
    {
      predictor: { kind: 'parzc', projected: 16, patches: 4, hidden: 16, blocks: 1, epochs: 15, samples: 4 },
      extraFeatures: 'only',
      initialSamples: 6,
      batchSize: 3,
      candidates: 10,
    },
    { space: nb201, rng: new Rng(seed), objectives, features: source.features },
  )
  const r = await runSearch({
    space: nb201,
    strategy,
    evaluator: (a: Nb201Arch) => Promise.resolve({ acc: acc(a) }),
    objectives,
    budget: { trials: 12 },
    seed,
  })
  return { trials: r.trials.map((t) => nb201.format(t.arch)), computed: source.computed() }
}

describe('ParZC inside a predictor-guided strategy', () => {
  it('bananas selects ParZC by kind, reads its per-layer features, and repeats itself from a seed', async () => {
    const before = tf.memory().numTensors
    const first = await search(4)
    expect(first.trials).toHaveLength(12)
    // the features of the evaluated cells and of the candidates scored at each of the two fits
    expect(first.computed).toBeGreaterThan(12)
    expect(tf.memory().numTensors).toBe(before)
    const again = await search(4)
    expect(again.trials).toEqual(first.trials)
  })

  it('the feature source computes each architecture once, with the shape ParZC reads', () => {
    const source = parzcFeatureSource({
      space: nb201,
      batch: randomBatch([8, 8, 3], 8, 10, new Rng(16)),
      network,
      layers: 24,
    })
    const cell = nb201.sample(new Rng(1))
    const f = source.features(cell)
    expect(f).toHaveLength(3 * 24)
    expect(f.every(Number.isFinite)).toBe(true)
    expect(source.features(cell)).toBe(f)
    expect(source.computed()).toBe(1)
  })
})
