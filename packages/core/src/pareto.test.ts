import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { NasError } from './errors.js'
import {
  constrainedDominates,
  crowdingDistance,
  dominates,
  nonDominatedSort,
  paretoFront,
  paretoFrontOfMetrics,
} from './pareto.js'
import { Rng } from './rng.js'
import { debFastNonDominatedSort } from './testing-internal/brute.js'

const expectNasError = (fn: () => unknown, code: string): void => {
  let caught: unknown
  try {
    fn()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(NasError)
  expect((caught as NasError).code).toBe(code)
}

/** Integer points in a small range, so that ties and duplicates are common. */
const pointsArb = (m: number, maxLen = 60): fc.Arbitrary<number[][]> =>
  fc.array(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: m, maxLength: m }), { maxLength: maxLen })

const pointsAnyDim = fc.integer({ min: 1, max: 5 }).chain((m) => pointsArb(m))

describe('dominates', () => {
  it('hand-checked cases', () => {
    expect(dominates([1, 2], [2, 2])).toBe(true)
    expect(dominates([2, 2], [1, 2])).toBe(false)
    expect(dominates([1, 3], [2, 2])).toBe(false)
    expect(dominates([1, 2], [1, 2])).toBe(false)
    expect(dominates([0, 0, 0], [0, 0, 1])).toBe(true)
    expect(dominates([-Infinity], [0])).toBe(true)
  })
  it('rejects vectors of different lengths', () => {
    expectNasError(() => dominates([1], [1, 2]), 'INPUT_INVALID')
  })
  test.prop([pointsArb(3, 2)])('is irreflexive and asymmetric', (ps) => {
    for (const a of ps) {
      expect(dominates(a, a)).toBe(false)
      for (const b of ps) expect(dominates(a, b) && dominates(b, a)).toBe(false)
    }
  })
})

describe('constrainedDominates (Deb rules)', () => {
  it('hand-checked cases', () => {
    expect(constrainedDominates([9, 9], [1, 1], 0, 0.5)).toBe(true)
    expect(constrainedDominates([1, 1], [9, 9], 0.5, 0)).toBe(false)
    expect(constrainedDominates([9, 9], [1, 1], 0.1, 0.5)).toBe(true)
    expect(constrainedDominates([1, 1], [9, 9], 0.5, 0.5)).toBe(false)
    expect(constrainedDominates([1, 1], [2, 2], 0, 0)).toBe(true)
    expect(constrainedDominates([1, 3], [2, 2], 0, 0)).toBe(false)
  })
  it('rejects negative or NaN violations', () => {
    expectNasError(() => constrainedDominates([1], [2], -1, 0), 'INPUT_INVALID')
    expectNasError(() => constrainedDominates([1], [2], 0, Number.NaN), 'INPUT_INVALID')
  })
  const viol = fc.oneof(
    fc.constant(0),
    fc.integer({ min: 0, max: 3 }),
    fc.double({ min: 0, max: 5, noNaN: true }),
  )
  const vec = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 2, maxLength: 2 })
  test.prop([vec, vec, viol, viol])('follows the three rules', (a, b, va, vb) => {
    const r = constrainedDominates(a, b, va, vb)
    if (va === 0 && vb === 0) expect(r).toBe(dominates(a, b))
    else if (va === 0) expect(r).toBe(true)
    else if (vb === 0) expect(r).toBe(false)
    else expect(r).toBe(va < vb)
    // never both ways
    expect(r && constrainedDominates(b, a, vb, va)).toBe(false)
  })
  test.prop([fc.array(fc.tuple(vec, viol), { maxLength: 30 })])(
    'nonDominatedSort with violations: no member of a front is constrained-dominated by a later or same front, each later member by an earlier front',
    (items) => {
      const points = items.map(([p]) => p)
      const v = items.map(([, x]) => x)
      const fronts = nonDominatedSort(points, { violations: v })
      expect(fronts.flat().sort((a, b) => a - b)).toEqual(points.map((_, i) => i))
      const frontOf = new Map<number, number>()
      fronts.forEach((f, k) => f.forEach((i) => frontOf.set(i, k)))
      for (let i = 0; i < points.length; i++) {
        for (let j = 0; j < points.length; j++) {
          if (constrainedDominates(points[i]!, points[j]!, v[i]!, v[j]!)) {
            expect(frontOf.get(i)!).toBeLessThan(frontOf.get(j)!)
          }
        }
      }
      for (let k = 1; k < fronts.length; k++) {
        for (const j of fronts[k]!) {
          expect(fronts[k - 1]!.some((i) => constrainedDominates(points[i]!, points[j]!, v[i]!, v[j]!))).toBe(
            true,
          )
        }
      }
    },
  )
})

describe('nonDominatedSort', () => {
  it('hand-checked 2-D example', () => {
    expect(
      nonDominatedSort([
        [1, 4],
        [2, 2],
        [3, 3],
        [4, 1],
        [5, 5],
      ]),
    ).toEqual([[0, 1, 3], [2], [4]])
  })
  it('hand-checked 3-D example with duplicates', () => {
    const ps = [
      [1, 1, 1],
      [2, 2, 2],
      [1, 1, 1],
      [0, 3, 3],
      [3, 3, 0],
      [3, 3, 3],
    ]
    expect(nonDominatedSort(ps)).toEqual([[0, 2, 3, 4], [1], [5]])
  })
  it('one objective: fronts are groups of equal values', () => {
    expect(nonDominatedSort([[3], [1], [2], [1]])).toEqual([[1, 3], [2], [0]])
  })
  it('empty input gives no fronts', () => {
    expect(nonDominatedSort([])).toEqual([])
    expect(paretoFront([])).toEqual([])
  })
  it('constrained: feasible first, then infeasible by violation', () => {
    const ps = [
      [1, 1],
      [5, 5],
      [0, 0],
      [2, 0],
      [0, 9],
    ]
    expect(nonDominatedSort(ps, { violations: [0, 0, 2, 1, 2] })).toEqual([[0], [1], [3], [2, 4]])
  })
  it('rejects ragged points, NaN and bad violations', () => {
    expectNasError(() => nonDominatedSort([[1, 2], [1]]), 'INPUT_INVALID')
    expectNasError(() => nonDominatedSort([[1, Number.NaN]]), 'INPUT_INVALID')
    expectNasError(() => nonDominatedSort([[]]), 'INPUT_INVALID')
    expectNasError(() => nonDominatedSort([[1], [2]], { violations: [0] }), 'INPUT_INVALID')
    expectNasError(() => nonDominatedSort([[1], [2]], { violations: [0, -1] }), 'INPUT_INVALID')
  })
  it('names the bad point in the error', () => {
    let caught: unknown
    try {
      nonDominatedSort([
        [1, 2],
        [3, Number.NaN],
      ])
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(NasError)
    expect((caught as NasError).path).toEqual([1, 1])
    expect((caught as NasError).message).toContain('points[1][1]')
  })

  test.prop([pointsAnyDim])(
    'first front: members are non-dominated, non-members are dominated by a member',
    (ps) => {
      const front = paretoFront(ps)
      const inFront = new Set(front)
      for (let i = 0; i < ps.length; i++) {
        const dominatedByAny = ps.some((q) => dominates(q, ps[i]!))
        if (inFront.has(i)) expect(dominatedByAny).toBe(false)
        else expect(front.some((j) => dominates(ps[j]!, ps[i]!))).toBe(true)
      }
    },
  )

  test.prop([pointsAnyDim])(
    'fronts partition the points; each later front is dominated by the earlier ones',
    (ps) => {
      const fronts = nonDominatedSort(ps)
      expect(fronts.flat().sort((a, b) => a - b)).toEqual(ps.map((_, i) => i))
      for (const f of fronts) expect(f.length).toBeGreaterThan(0)
      for (let k = 0; k < fronts.length; k++) {
        const f = fronts[k]!
        // within a front nobody dominates anybody
        for (const i of f) for (const j of f) expect(dominates(ps[i]!, ps[j]!)).toBe(false)
        // every member of front k > 0 is dominated by some member of front k-1, and no member of a
        // later front dominates a member of an earlier one
        if (k > 0) for (const j of f) expect(fronts[k - 1]!.some((i) => dominates(ps[i]!, ps[j]!))).toBe(true)
        for (let l = k + 1; l < fronts.length; l++) {
          for (const i of fronts[l]!) for (const j of f) expect(dominates(ps[i]!, ps[j]!)).toBe(false)
        }
      }
    },
  )

  test.prop([pointsAnyDim])('agrees with Deb et al. 2002 fast non-dominated sort', (ps) => {
    expect(nonDominatedSort(ps)).toEqual(debFastNonDominatedSort(ps))
  })

  it('agrees with Deb et al. 2002 on 1,500 random real points in 2, 3 and 4 objectives', () => {
    const rng = new Rng(11)
    for (const m of [2, 3, 4]) {
      const ps = Array.from({ length: 1500 }, () => Array.from({ length: m }, () => rng.uniform()))
      expect(nonDominatedSort(ps)).toEqual(debFastNonDominatedSort(ps))
    }
  })

  it('handles infinite objective values', () => {
    const inf = Number.POSITIVE_INFINITY
    const ps = [
      [inf, 2, 0],
      [inf, 1, 0],
      [-inf, 5, 5],
      [inf, 1, 0],
    ]
    expect(nonDominatedSort(ps)).toEqual([[1, 2, 3], [0]])
    expect(nonDominatedSort(ps)).toEqual(debFastNonDominatedSort(ps))
    expect(
      nonDominatedSort([
        [inf, 2],
        [inf, 1],
      ]),
    ).toEqual([[1], [0]])
  })

  it('accepts typed arrays as points', () => {
    const ps = [Float64Array.of(1, 2), Float64Array.of(2, 1), Float64Array.of(2, 2)]
    expect(nonDominatedSort(ps)).toEqual([[0, 1], [2]])
  })
})

describe('crowdingDistance', () => {
  it('hand-checked values', () => {
    const ps = [
      [0, 4],
      [1, 2],
      [4, 0],
    ]
    expect(Array.from(crowdingDistance(ps, [0, 1, 2]))).toEqual([Infinity, 2, Infinity])
    // 5 points on a line: inner distances (x_{i+1} - x_{i-1}) / 4 + same for y
    const line = [
      [0, 4],
      [1, 3],
      [2, 2],
      [3, 1],
      [4, 0],
    ]
    expect(Array.from(crowdingDistance(line, [4, 3, 2, 1, 0]))).toEqual([Infinity, 1, 1, 1, Infinity])
  })
  it('result aligned with the front order, boundaries infinite, small fronts all infinite', () => {
    const ps = [
      [0, 10],
      [6, 4],
      [2, 8],
      [10, 0],
    ]
    const d = crowdingDistance(ps, [1, 3, 0, 2])
    expect(d[1]).toBe(Infinity)
    expect(d[2]).toBe(Infinity)
    expect(d[0]).toBeCloseTo((10 - 2) / 10 + (8 - 0) / 10)
    expect(d[3]).toBeCloseTo((6 - 0) / 10 + (10 - 4) / 10)
    expect(Array.from(crowdingDistance(ps, [0, 1]))).toEqual([Infinity, Infinity])
    expect(crowdingDistance(ps, []).length).toBe(0)
  })
  it('rejects bad indices', () => {
    expectNasError(() => crowdingDistance([[1, 2]], [1]), 'INPUT_INVALID')
    expectNasError(() => crowdingDistance([[1, 2]], [0.5]), 'INPUT_INVALID')
  })
})

describe('paretoFrontOfMetrics', () => {
  const objectives = [
    { name: 'acc', direction: 'max' as const },
    { name: 'params', direction: 'min' as const },
  ]
  it('uses the objective directions', () => {
    const items = [
      { acc: 90, params: 3 },
      { acc: 92, params: 5 },
      { acc: 89, params: 4 },
      { acc: 92, params: 6 },
    ]
    expect(paretoFrontOfMetrics(items, objectives)).toEqual([0, 1])
  })
  it('with constraints, infeasible items lose', () => {
    const items = [
      { acc: 90, params: 3, lat: 9 },
      { acc: 92, params: 5, lat: 2 },
      { acc: 89, params: 4, lat: 1 },
    ]
    const constraints = [{ metric: 'lat', op: '<=' as const, bound: 5 }]
    expect(paretoFrontOfMetrics(items, objectives, { constraints })).toEqual([1, 2])
    // nothing feasible: the smallest violation wins
    const tight = [{ metric: 'lat', op: '<=' as const, bound: 0 }]
    expect(paretoFrontOfMetrics(items, objectives, { constraints: tight })).toEqual([2])
  })
  it('a missing objective and no objectives are errors; a missing constraint metric is infeasible', () => {
    expectNasError(() => paretoFrontOfMetrics([{ acc: 1 }], objectives), 'METRIC_MISSING')
    const constraints = [{ metric: 'lat', op: '<=' as const, bound: 1 }]
    // the item without 'lat' is dominated by any item that has it, however far that one violates
    expect(
      paretoFrontOfMetrics(
        [
          { acc: 9, params: 1 },
          { acc: 1, params: 2, lat: 100 },
        ],
        objectives,
        { constraints },
      ),
    ).toEqual([1])
    expectNasError(() => paretoFrontOfMetrics([{ acc: 1 }], []), 'OBJECTIVE_INVALID')
  })
})
