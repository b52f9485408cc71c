import { fc, test } from '@fast-check/vitest'
import { Rng, crowdingDistance, nonDominatedSort } from '@nasjs/core'
import { describe, expect, it } from 'vitest'
import { gridSpace } from '../testing/index.js'
import { breedChild, crowdedSurvivors, crowdedTournament, rankAndCrowding } from './nsga2-operators.js'

/** Points with small integer coordinates, so that ties and equal points occur. */
const points = (m: number) =>
  fc.array(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: m, maxLength: m }), {
    minLength: 0,
    maxLength: 30,
  })

describe('rankAndCrowding', () => {
  it('ranks by front and gives crowding distances within each front', () => {
    const { fronts, rank, crowding } = rankAndCrowding([
      [1, 4],
      [2, 2],
      [4, 1],
      [3, 3],
    ])
    expect(fronts).toEqual([[0, 1, 2], [3]])
    expect([...rank]).toEqual([0, 0, 0, 1])
    expect([...crowding]).toEqual([Infinity, 2, Infinity, Infinity])
  })

  test.prop([points(2), fc.boolean()])(
    'agrees with nonDominatedSort and crowdingDistance',
    (pts, constrained) => {
      const violations = pts.map((p) => (p[0]! > 3 ? p[0]! - 3 : 0))
      const opts = constrained ? { violations } : {}
      const r = rankAndCrowding(pts, opts)
      const fronts = nonDominatedSort(pts, opts)
      expect(r.fronts).toEqual(fronts)
      fronts.forEach((front, f) => {
        const cd = crowdingDistance(pts, front)
        front.forEach((i, k) => {
          expect(r.rank[i]).toBe(f)
          expect(r.crowding[i]).toBe(cd[k])
        })
      })
    },
  )
})

describe('crowdedTournament', () => {
  const pop = [
    { id: 'a', rank: 1, crowding: 5 },
    { id: 'b', rank: 0, crowding: 1 },
    { id: 'c', rank: 0, crowding: 3 },
  ]

  it('prefers the lower rank, then the larger crowding distance, and draws like two rng.choice calls', () => {
    for (let seed = 0; seed < 50; seed++) {
      const rng = new Rng(seed)
      const twin = new Rng(seed)
      const x = twin.choice(pop)
      const y = twin.choice(pop)
      const expected = x.rank !== y.rank ? (x.rank < y.rank ? x : y) : x.crowding >= y.crowding ? x : y
      expect(crowdedTournament(pop, rng)).toBe(expected)
      expect(rng.uniform()).toBe(twin.uniform()) // the same number of draws
    }
  })

  it('never returns the worst member of a tournament', () => {
    const rng = new Rng(3)
    const wins = new Map<string, number>()
    for (let t = 0; t < 300; t++) {
      const w = crowdedTournament(pop, rng).id
      wins.set(w, (wins.get(w) ?? 0) + 1)
    }
    // 'a' wins only against itself (1/9), 'c' beats 'b' and 'a'
    expect(wins.get('c')!).toBeGreaterThan(wins.get('b')!)
    expect(wins.get('a')!).toBeLessThan(wins.get('b')!)
  })
})

describe('crowdedSurvivors', () => {
  it('keeps whole fronts, then the least crowded members of the next', () => {
    expect(
      crowdedSurvivors(
        [
          [1, 4],
          [2, 2],
          [4, 1],
          [3, 3],
          [5, 5],
        ],
        4,
      ),
    ).toEqual([0, 1, 2, 3])
    // front 0 has five points; the two extremes (Infinity) and then the largest inner distance
    const line = [
      [0, 10],
      [1, 9],
      [5, 5],
      [9, 1],
      [10, 0],
    ]
    expect(crowdedSurvivors(line, 3)).toEqual([0, 4, 2])
    expect(crowdedSurvivors([], 3)).toEqual([])
  })

  it('sorts preselected points with the candidates but returns only candidates', () => {
    const pts = [
      [0, 5], // preselected
      [5, 0], // preselected
      [1, 6], // dominated by [0, 5]
      [2, 2], // on the joint front
      [3, 3], // behind [2, 2]
    ]
    expect(crowdedSurvivors(pts, 1, { preselected: 2 })).toEqual([3])
    expect(crowdedSurvivors(pts, 2, { preselected: 2 })).toEqual([3, 2])
    expect(crowdedSurvivors(pts, 10, { preselected: 2 })).toEqual([3, 2, 4])
  })

  it('puts feasible points first under constrained domination', () => {
    const pts = [
      [0, 0],
      [5, 5],
      [4, 4],
    ]
    expect(crowdedSurvivors(pts, 1, { violations: [1, 0, 0] })).toEqual([2])
    expect(crowdedSurvivors(pts, 3, { violations: [1, 0, 0] })).toEqual([2, 1, 0])
  })

  test.prop([points(2), fc.nat({ max: 35 }), fc.nat({ max: 10 })])(
    'returns min(size, candidates) distinct candidates, elitist front by front',
    (pts, size, pre0) => {
      const pre = Math.min(pre0, pts.length)
      const out = crowdedSurvivors(pts, size, { preselected: pre })
      expect(out).toHaveLength(Math.min(size, pts.length - pre))
      expect(new Set(out).size).toBe(out.length)
      for (const i of out) expect(i).toBeGreaterThanOrEqual(pre)
      // every candidate of a better front than a chosen one is chosen too
      const { rank } = rankAndCrowding(pts)
      const chosen = new Set(out)
      const worst = Math.max(-1, ...out.map((i) => rank[i]!))
      for (let i = pre; i < pts.length; i++) if (rank[i]! < worst) expect(chosen.has(i)).toBe(true)
      // the output lists fronts in order
      for (let k = 1; k < out.length; k++) expect(rank[out[k]!]!).toBeGreaterThanOrEqual(rank[out[k - 1]!]!)
    },
  )

  test.prop([points(3), fc.integer({ min: 1, max: 30 })])(
    'matches the textbook selection (stable sort of the cut front by crowding distance)',
    (pts, size) => {
      const { fronts } = rankAndCrowding(pts)
      const expected: number[] = []
      for (const front of fronts) {
        if (expected.length + front.length <= size) {
          expected.push(...front)
          continue
        }
        const cd = crowdingDistance(pts, front)
        const order = front.map((i, k) => ({ i, d: cd[k]! })).sort((x, y) => y.d - x.d)
        expected.push(...order.slice(0, size - expected.length).map((o) => o.i))
        break
      }
      expect(crowdedSurvivors(pts, size)).toEqual(expected)
    },
  )
})

describe('breedChild', () => {
  const space = gridSpace(4, 5)
  /** The space's operators, logging their calls. */
  const logged = (log: string[]) => ({
    crossover: (a: number[], b: number[], rng: Rng) => {
      log.push(`crossover ${a.join('')} ${b.join('')}`)
      return space.crossover(a, b, rng)
    },
    mutate: (a: number[], rng: Rng) => {
      log.push(`mutate ${a.join('')}`)
      return space.mutate(a, rng)
    },
  })
  const parents = [
    [0, 0, 0, 0],
    [1, 1, 1, 1],
    [2, 2, 2, 2],
  ]

  it.each([
    [{ crossoverProb: 0 }, ['mutate 0000']],
    [{ crossoverProb: 1 }, ['crossover 0000 1111', 'mutate']],
    [{ crossoverProb: 1, mutationProb: 0 }, ['crossover 0000 1111']],
    [{ crossoverProb: 1, mutationProb: 1 }, ['crossover 0000 1111', 'mutate']],
  ])('with %j calls %j', (opts, calls) => {
    const log: string[] = []
    let next = 0
    breedChild(logged(log), new Rng(1), () => parents[next++]!, opts)
    expect(log.map((l, i) => (calls[i] === 'mutate' ? 'mutate' : l))).toEqual(calls)
    expect(next).toBe(calls[0]!.startsWith('crossover') ? 2 : 1)
  })

  test.prop([
    fc.integer({ min: 0, max: 1000 }),
    fc.double({ min: 0, max: 1 }),
    fc.option(fc.double({ min: 0, max: 1 })),
  ])(
    'draws in the documented order: parent, crossover draw, parent, crossover, mutation draw, mutation',
    (seed, crossoverProb, mutationProb) => {
      const opts = mutationProb === null ? { crossoverProb } : { crossoverProb, mutationProb }
      const rng = new Rng(seed)
      const pick = () => rng.choice(parents)
      const child = breedChild(space, rng, pick, opts)
      // the same steps written out
      const twin = new Rng(seed)
      const first = twin.choice(parents)
      let expected: number[]
      if (twin.uniform() < crossoverProb) {
        expected = space.crossover(first, twin.choice(parents), twin)
        if (mutationProb === null || twin.uniform() < mutationProb) expected = space.mutate(expected, twin)
      } else {
        expected = space.mutate(first, twin)
      }
      expect(child).toEqual(expected)
      expect(rng.uniform()).toBe(twin.uniform())
    },
  )
})
