import { describe, expect, it } from 'vitest'
import { drive, make } from '../testing-internal/drive.js'
import { conditionalSpace, gridSpace } from '../testing/index.js'

describe('grid search', () => {
  for (const space of [gridSpace(3, 4), conditionalSpace()]) {
    for (const order of ['lexicographic', 'shuffled'] as const) {
      it(`proposes every architecture of ${space.id} exactly once (${order}), then is exhausted`, () => {
        const s = make('grid', space, { order })
        const ps = drive(s, () => ({ acc: 0 }), 10_000)
        expect(BigInt(ps.length)).toBe(space.size())
        expect(new Set(ps.map((p) => space.hash(p.arch))).size).toBe(ps.length)
        expect(s.exhausted()).toBe(true)
        expect(s.ask(3)).toEqual([])
      })
    }
  }

  it('walks in lexicographic order by default', () => {
    const ps = drive(make('grid', gridSpace(2, 3)), () => ({ acc: 0 }), 4)
    expect(ps.map((p) => p.arch)).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
    ])
  })

  it('refuses a shuffled order for a space larger than maxShuffle', () => {
    expect(() => make('grid', gridSpace(4, 4), { order: 'shuffled', maxShuffle: 100 })).toThrow(/maxShuffle/)
  })
})
