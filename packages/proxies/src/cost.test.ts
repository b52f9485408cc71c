import { initBackend } from '@nasjs/backend'
import { loadNb201, loadNb201ZeroCost } from '@nasjs/benchmarks/node'
import { Rng } from '@nasjs/core'
import { buildModel } from '@nasjs/models'
import { nb201, nb201Canonical } from '@nasjs/search-space'
import { beforeAll, describe, expect, it } from 'vitest'
import { countSuiteFlops, countTrainableParams } from './cost.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

describe('countSuiteFlops', () => {
  it("equals NAS-Bench-Suite-Zero's flops column, and params its params column, on 40 random cells", () => {
    const bench = loadNb201()
    const zc = loadNb201ZeroCost(bench, 'cifar10')
    const rng = new Rng(4)
    let checked = 0
    while (checked < 40) {
      const i = rng.int(bench.size)
      if (!Number.isFinite(zc.suite.flops[i]!)) continue
      const model = buildModel(nb201, nb201Canonical(bench.archAt(i)), {}) // the suite scored canonical cells
      expect(countSuiteFlops(model) / 1e6).toBeCloseTo(zc.suite.flops[i]!, 6)
      expect(countTrainableParams(model) / 1e6).toBeCloseTo(zc.suite.params[i]!, 6)
      model.dispose()
      checked++
    }
  })
})
