import { Rng, paretoFront } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { drive, make, obj, registry } from '../testing-internal/drive.js'
import { gridSpace } from '../testing/index.js'

const space = gridSpace(4, 5)
/** Two conflicting objectives on 4 decisions (both to maximise): sum of x vs sum of (4 - x) weighted. */
const f = (a: number[]) => ({
  acc: a.reduce((s, x) => s + x, 0),
  lat: a.reduce((s, x, k) => s + x * (k + 1), 0) + (a[0] === 1 ? -3 : 0),
})
const objectives = [obj('acc', 'max'), obj('lat', 'min')]

describe('NSGA-II', () => {
  it('runs synchronous generations: ask returns nothing while children are outstanding', () => {
    const s = make('nsga2', space, { populationSize: 6 }, 1, objectives)
    expect(s.ask(10)).toHaveLength(6) // the initial population
    expect(s.ask(1)).toHaveLength(0)
  })

  it('finds most of the true Pareto front of a small space', () => {
    const all = [...space.enumerate!()]
    const pts = all.map((a) => [-f(a).acc, f(a).lat])
    const truth = new Set(paretoFront(pts).map((i) => space.hash(all[i]!)))
    const s = make('nsga2', space, { populationSize: 20 }, 3, objectives)
    const ps = drive(s, f, 400)
    const found = new Set(ps.map((p) => space.hash(p.arch)).filter((h) => truth.has(h)))
    expect(found.size / truth.size).toBeGreaterThan(0.8)
    const front = (s as unknown as { front(): number[][] }).front()
    expect(front.length).toBeGreaterThan(5)
  })

  it('prefers feasible solutions under constraints (constrained domination)', () => {
    const s = registry.create(
      'nsga2',
      { populationSize: 10 },
      {
        space,
        rng: new Rng(4),
        objectives,
        constraints: [{ metric: 'lat', op: '<=', bound: 12 }],
      },
    )
    drive(s, f, 200)
    const front = (s as unknown as { front(): number[][] }).front()
    expect(front.length).toBeGreaterThan(0)
    for (const a of front) expect(f(a).lat).toBeLessThanOrEqual(12)
  })
})
