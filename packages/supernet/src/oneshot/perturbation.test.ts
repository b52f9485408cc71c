import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { nb201 } from '@nasjs/search-space'
import { beforeAll, describe, expect, it } from 'vitest'
import { quadrants, TINY_CELL as TINY } from '../testing-internal/fixtures.js'
import { CELL_OPS, CellSupernet } from './cell-supernet.js'
import { perturbationSelect } from './perturbation.js'
import { searchCell } from './search.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const train = quadrants(48, 1)
const valid = quadrants(40, 2)

async function searched(): Promise<CellSupernet> {
  const net = new CellSupernet(TINY)
  await searchCell(net, train, valid, { epochs: 2, batchSize: 16, seed: 5 })
  return net
}

describe('perturbationSelect', () => {
  it('keeps on each edge the operation whose removal costs the most accuracy, and leaves alpha alone', async () => {
    const net = await searched()
    const alphas = net.alphas.arraySync()
    const r = await perturbationSelect(net, train, valid, { seed: 1, tuneSteps: 2, batchSize: 16 })
    expect(r.edges.map((d) => d.edge).sort()).toEqual([0, 1, 2, 3, 4, 5])
    expect(nb201.validate(r.arch)).toEqual(r.arch)
    for (const d of r.edges) {
      expect(d.removed).toHaveLength(CELL_OPS.length)
      expect(d.chosen).toBe(CELL_OPS[d.removed.indexOf(Math.min(...d.removed))])
      expect(r.arch[d.edge]).toBe(d.chosen)
      // 'none' adds nothing, so removing it changes nothing
      expect(d.removed[0]).toBe(d.base)
    }
    expect(net.alphas.arraySync()).toEqual(alphas)
    net.dispose()
  })

  it('repeats itself from a seed and leaks nothing', async () => {
    const a = await searched()
    const b = await searched()
    const ra = await expectNoLeaks(() =>
      perturbationSelect(a, train, valid, { seed: 2, tuneSteps: 1, batchSize: 16 }),
    )
    const rb = await perturbationSelect(b, train, valid, { seed: 2, tuneSteps: 1, batchSize: 16 })
    expect(rb.edges).toEqual(ra.edges)
    expect(b.state()).toEqual(a.state())
    a.dispose()
    b.dispose()
  })

  it('refuses bad options', async () => {
    const net = new CellSupernet(TINY)
    await expect(perturbationSelect(net, train, valid, { tuneSteps: -1 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    })
    await expect(perturbationSelect(net, train, valid, { evalBatch: 1 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    })
    net.dispose()
  })
})
