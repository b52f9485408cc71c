import { Rng } from '@nasjs/core'
import { bench, describe } from 'vitest'
import { PREDICTOR_KINDS, createPredictor } from './registry.js'
import { syntheticBinary } from './testing-internal/synthetic.js'

// Fit time on 1,000 architectures with NB201-sized encodings (30 one-hot features + 4 extras).
const { X, y } = syntheticBinary(1000, 34, 1)

describe('fit on 1,000 rows x 34 features', () => {
  for (const kind of PREDICTOR_KINDS) {
    // The average is timed as the forest + boosting average that LINAS can use for accuracy.
    const p = createPredictor(
      kind === 'average'
        ? { kind, members: [{ kind: 'random-forest' }, { kind: 'gradient-boosting' }] }
        : { kind },
    )
    bench(
      kind,
      async () => {
        const f = await p.fit(X, y, { rng: new Rng(1) })
        f.dispose()
      },
      { iterations: kind.startsWith('mlp') ? 1 : 5, warmupIterations: kind.startsWith('mlp') ? 0 : 1 },
    )
  }
})
