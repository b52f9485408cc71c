import { describe, expect, it } from 'vitest'
import { drive, make } from '../testing-internal/drive.js'
import { conditionalSpace, gridSpace } from '../testing/index.js'

describe('MCTS', () => {
  it('without revisit visits every leaf exactly once, then is exhausted', () => {
    for (const space of [gridSpace(3, 3), conditionalSpace()]) {
      const s = make('mcts', space)
      const ps = drive(s, (a) => ({ acc: a.reduce((x, y) => x + y, 0) }), 10_000)
      expect(BigInt(ps.length)).toBe(space.size())
      expect(new Set(ps.map((p) => space.hash(p.arch))).size).toBe(ps.length)
      expect(s.exhausted()).toBe(true)
    }
  })

  it('concentrates visits on the better subtree (UCT)', () => {
    const space = gridSpace(4, 4)
    // the first decision matters most: option 3 is far better
    const f = (a: number[]) => ({ acc: (a[0] === 3 ? 10 : 0) + a.slice(1).reduce((x, y) => x + y, 0) * 0.1 })
    const s = make('mcts', space, { revisit: true, exploration: 0.5 }, 2)
    drive(s, f, 200)
    const stats = (s as unknown as { rootStats(): { visits: number }[] }).rootStats()
    expect(stats[3]!.visits).toBeGreaterThan(stats[0]!.visits + stats[1]!.visits + stats[2]!.visits)
  })

  it('finds the optimum of a small space faster than enumerating it', () => {
    const space = gridSpace(4, 4)
    const f = (a: number[]) => ({ acc: -a.reduce((x, y, k) => x + Math.abs(y - (k % 4)), 0) })
    const s = make('mcts', space, {}, 7)
    const ps = drive(s, f, 256)
    const first = ps.findIndex((p) => f(p.arch).acc === 0)
    expect(first).toBeGreaterThanOrEqual(0)
    expect(first).toBeLessThan(128)
  })
})
