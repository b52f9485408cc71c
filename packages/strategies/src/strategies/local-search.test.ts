import { describe, expect, it } from 'vitest'
import { drive, make } from '../testing-internal/drive.js'
import { gridSpace } from '../testing/index.js'

/** Unimodal on gridSpace: the optimum is all 2s. */
const unimodal = (a: number[]): number => -a.reduce((s, x) => s + Math.abs(x - 2), 0)

describe('local search', () => {
  it('climbs a unimodal landscape to the optimum', () => {
    const space = gridSpace(5, 5)
    const s = make('ls', space, { initSamples: 1 }, 3)
    drive(s, (a) => ({ acc: unimodal(a) }), 200)
    expect(s.recommend()).toEqual([2, 2, 2, 2, 2])
  })

  it('evaluates the whole neighbourhood of the start before moving', () => {
    const space = gridSpace(3, 4)
    const s = make('ls', space, { initSamples: 1 }, 5)
    const ps = drive(s, (a) => ({ acc: unimodal(a) }), 1 + 9)
    const start = ps[0]!.arch
    const nbrs = new Set(space.neighbors(start).map((a) => space.hash(a)))
    expect(new Set(ps.slice(1).map((p) => space.hash(p.arch)))).toEqual(nbrs)
  })

  it('never proposes an architecture twice and restarts at local optima', () => {
    const space = gridSpace(3, 3)
    // two local optima: all 0 and all 2 (in between is worse)
    const bimodal = (a: number[]): number =>
      Math.max(...[0, 2].map((t) => -a.reduce((s, x) => s + Math.abs(x - t), 0)))
    const s = make('ls', space, { initSamples: 1 }, 1)
    const ps = drive(s, (a) => ({ acc: bimodal(a) }), 100)
    const hashes = ps.map((p) => space.hash(p.arch))
    expect(new Set(hashes).size).toBe(hashes.length)
    expect(ps.length).toBe(27) // restarts keep it going until the whole space is visited
    expect(s.exhausted()).toBe(true)
  })

  it('with firstImprovement moves at the first better neighbour', () => {
    const space = gridSpace(4, 5)
    const a = make('ls', space, { initSamples: 1, firstImprovement: true }, 2)
    const b = make('ls', space, { initSamples: 1 }, 2)
    const na = drive(a, (x) => ({ acc: unimodal(x) }), 400)
    const nb = drive(b, (x) => ({ acc: unimodal(x) }), 400)
    const reach = (ps: { arch: number[] }[]) => ps.findIndex((p) => unimodal(p.arch) === 0)
    expect(reach(na)).toBeGreaterThan(0)
    expect(reach(na)).toBeLessThan(reach(nb))
  })
})
