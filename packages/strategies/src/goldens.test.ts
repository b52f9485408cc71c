import { Rng } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { builtinStrategies } from './builtins.js'
import { createStrategyRegistry } from './registry.js'
import { syntheticMetrics } from './testing/index.js'

const registry = createStrategyRegistry()
const metrics = syntheticMetrics(nb201)

describe('seeded goldens: the first 8 asks with seed 42 on nb201 (told synthetic metrics in between)', () => {
  for (const def of builtinStrategies) {
    it(`${def.name}`, () => {
      const multi = def.name === 'nsga2'
      const s = registry.create(
        def.name,
        {},
        {
          space: nb201,
          rng: new Rng(42),
          objectives: multi
            ? [
                { name: 'acc', direction: 'max' },
                { name: 'lat', direction: 'min' },
              ]
            : [{ name: 'acc', direction: 'max' }],
        },
      )
      const asks: string[] = []
      for (let i = 0; i < 8; i++) {
        const [p] = s.ask(1)
        if (p === undefined) break
        asks.push(`${p.id} ${nb201.format(p.arch)}${p.fidelity === undefined ? '' : ` @${p.fidelity}`}`)
        s.tell(p.id, { status: 'complete', metrics: metrics(p.arch, p.fidelity) })
      }
      expect(asks).toHaveLength(8)
      expect(asks).toMatchSnapshot()
    })
  }
})
