import { nb101, nb201, ofaMbv3 } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { builtinStrategies } from './builtins.js'
import { conditionalSpace, describeStrategyConformance, gridSpace } from './testing/index.js'
import type { ConformanceOptions } from './testing/index.js'

// toy fixed and conditional spaces, NB201, and two conditional spaces of @nasjs/search-space:
// OFA-MobileNetV3 (elastic depth: variable length) and NAS-Bench-101 (graph cells)
const spaces = [
  { space: gridSpace(4, 4) },
  { space: conditionalSpace() },
  { space: nb201 },
  { space: ofaMbv3 },
  { space: nb101 },
]
const twoObjectives: ConformanceOptions['objectives'] = [
  { name: 'acc', direction: 'max' },
  { name: 'lat', direction: 'min' },
]

const options: Record<string, Omit<ConformanceOptions, 'spaces'>> = {
  grid: { seedSensitive: false },
  rea: { config: { populationSize: 8, sampleSize: 3 } },
  ls: { config: { initSamples: 4 } },
  nsga2: { config: { populationSize: 8 }, objectives: twoObjectives },
  beam: { config: { beamWidth: 4, groups: 2 } },
  sh: { config: { minFidelity: 1, maxFidelity: 9, eta: 3 } },
  hyperband: { config: { minFidelity: 1, maxFidelity: 9, eta: 3 } },
  reinforce: {
    config: { reward: { kind: 'mnasnet', accuracy: 'acc', latency: 'lat', target: 5 } },
    objectives: twoObjectives,
  },
}

describe('builtin strategies', () => {
  it('are the ten registered names of the issue, in order', () => {
    expect(builtinStrategies.map((d) => d.name)).toEqual([
      'random',
      'grid',
      'rea',
      'ls',
      'nsga2',
      'mcts',
      'reinforce',
      'beam',
      'sh',
      'hyperband',
    ])
  })
})

for (const def of builtinStrategies) describeStrategyConformance(def, { spaces, ...options[def.name] })
// REINFORCE also with its default (single-objective) reward
describeStrategyConformance(
  builtinStrategies.find((d) => d.name === 'reinforce')!,
  { spaces },
)
