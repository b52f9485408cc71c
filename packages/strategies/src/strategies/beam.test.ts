import { describe, expect, it } from 'vitest'
import { drive, make } from '../testing-internal/drive.js'
import { gridSpace } from '../testing/index.js'
import { diverseBeamSearch } from './beam.js'

const space = gridSpace(4, 4)
const separable = (a: number[]) => ({ acc: a.reduce((s, x, k) => s + (x === k % 4 ? 1 : 0) + x * 0.01, 0) })

describe('diverse beam search', () => {
  it('finds the optimum of a separable objective in one round', async () => {
    const set = await diverseBeamSearch(space, separable, {
      objective: { name: 'acc', direction: 'max' },
      seed: 1,
    })
    expect(set[0]).toEqual([0, 1, 2, 3])
  })

  it('returns beamWidth distinct architectures, and groups differ with a diversity penalty', async () => {
    const config = { beamWidth: 4, groups: 4, diversityStrength: 2 }
    const set = await diverseBeamSearch(space, separable, {
      objective: { name: 'acc', direction: 'max' },
      seed: 1,
      config,
    })
    expect(set).toHaveLength(4)
    // with a strong penalty every group takes a different first decision
    expect(new Set(set.map((a) => a[0])).size).toBe(4)
    const plain = await diverseBeamSearch(space, separable, {
      objective: { name: 'acc', direction: 'max' },
      seed: 1,
      config: { ...config, diversityStrength: 0 },
    })
    expect(new Set(plain.map((a) => a[0])).size).toBeLessThan(4)
  })

  it('evaluates each step as beams x options random completions', () => {
    const s = make('beam', space, { beamWidth: 2, groups: 1 }, 1)
    // step 0: 4 candidates from the empty prefix; later steps: 2 beams x 4 options
    expect(s.ask(100)).toHaveLength(4)
  })

  it('starts a new round after the last decision and keeps the diverse set', () => {
    const s = make('beam', space, { beamWidth: 2, groups: 2 }, 1)
    drive(s, separable, 200)
    expect((s as unknown as { diverseSet(): number[][] }).diverseSet().length).toBeGreaterThan(0)
  })
})
