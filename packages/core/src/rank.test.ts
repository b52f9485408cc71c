import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { NasError } from './errors.js'
import { averageRanks, kendallTau, pearson, spearmanRho, topKOverlap } from './rank.js'
import { Rng } from './rng.js'
import { bruteAverageRanks, bruteKendallTau, bruteSpearmanRho } from './testing-internal/brute.js'

const expectInputInvalid = (fn: () => unknown): void => {
  let caught: unknown
  try {
    fn()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(NasError)
  expect((caught as NasError).code).toBe('INPUT_INVALID')
}

/** Paired integer samples from a tiny range: many ties. */
const pairsArb = fc
  .integer({ min: 2, max: 60 })
  .chain((n) =>
    fc.tuple(
      fc.array(fc.integer({ min: 0, max: 5 }), { minLength: n, maxLength: n }),
      fc.array(fc.integer({ min: -3, max: 3 }), { minLength: n, maxLength: n }),
    ),
  )

const expectSame = (a: number, b: number): void => {
  if (Number.isNaN(b)) expect(a).toBeNaN()
  else expect(a).toBeCloseTo(b, 12)
}

describe('averageRanks', () => {
  it('hand-checked', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1])
    expect(Array.from(averageRanks([7, 7, 7]))).toEqual([2, 2, 2])
    expect(Array.from(averageRanks([]))).toEqual([])
  })
  test.prop([fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 40 })])('equals counting ranks', (x) => {
    expect(Array.from(averageRanks(x))).toEqual(bruteAverageRanks(x))
  })
  it('rejects NaN', () => {
    expectInputInvalid(() => averageRanks([1, Number.NaN]))
  })
})

describe('kendallTau (tau-b, Knight 1966)', () => {
  it('hand-checked values', () => {
    expect(kendallTau([1, 2, 3, 4], [10, 30, 20, 40])).toBeCloseTo(4 / 6, 14)
    expect(kendallTau([1, 2, 3], [3, 2, 1])).toBe(-1)
    expect(kendallTau([1, 2, 3], [1, 2, 3])).toBe(1)
    // ties: x = [1,1,2,3], y = [1,2,2,3]; pairs: (0,1) tied x; (0,2) C; (0,3) C; (1,2) tied y; (1,3) C; (2,3) C
    // S = 4, n0 = 6, n1 = 1, n2 = 1 -> 4 / sqrt(5 * 5) = 0.8
    expect(kendallTau([1, 1, 2, 3], [1, 2, 2, 3])).toBeCloseTo(0.8, 14)
    // scipy.stats.kendalltau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]) -> -0.47140452079103173
    expect(kendallTau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])).toBeCloseTo(-0.47140452079103173, 14)
  })
  it('constant input gives NaN (tau-b undefined)', () => {
    expect(kendallTau([1, 1, 1], [1, 2, 3])).toBeNaN()
    expect(kendallTau([1, 2, 3], [5, 5, 5])).toBeNaN()
  })
  it('bad input is an INPUT_INVALID NasError', () => {
    expectInputInvalid(() => kendallTau([1, 2], [1]))
    expectInputInvalid(() => kendallTau([1], [1]))
    expectInputInvalid(() => kendallTau([1, Number.NaN], [1, 2]))
    expectInputInvalid(() => kendallTau([1, 2], [1, Number.POSITIVE_INFINITY]))
  })
  test.prop([pairsArb])('equals the O(n^2) definition on integer data with many ties', ([x, y]) => {
    expectSame(kendallTau(x, y), bruteKendallTau(x, y))
  })
  it('equals the O(n^2) definition on 3,000 random real pairs', () => {
    const rng = new Rng(3)
    const x = Array.from({ length: 3000 }, () => rng.uniform())
    const y = x.map((v) => v + 0.5 * rng.normal())
    expectSame(kendallTau(x, y), bruteKendallTau(x, y))
  })
})

describe('spearmanRho', () => {
  it('hand-checked values', () => {
    expect(spearmanRho([1, 2, 3, 4], [10, 30, 20, 40])).toBeCloseTo(0.8, 14)
    expect(spearmanRho([1, 2, 3], [9, 4, 1])).toBeCloseTo(-1, 14)
    // ranks [1, 2.5, 2.5, 4] and [1, 3, 2, 4]: sxy = 4.5, sxx = 4.5, syy = 5 -> 4.5 / sqrt(22.5)
    expect(spearmanRho([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(22.5), 14)
  })
  it('constant input gives NaN', () => {
    expect(spearmanRho([2, 2, 2], [1, 2, 3])).toBeNaN()
  })
  it('bad input is an INPUT_INVALID NasError', () => {
    expectInputInvalid(() => spearmanRho([1, 2, 3], [1, 2]))
    expectInputInvalid(() => spearmanRho([], []))
  })
  test.prop([pairsArb])('equals the brute-force definition on integer data with many ties', ([x, y]) => {
    expectSame(spearmanRho(x, y), bruteSpearmanRho(x, y))
  })
})

describe('pearson', () => {
  it('hand-checked values', () => {
    // x = [1,2,3], y = [2,4,7]: sxy = 5, sxx = 2, syy = 12.667 -> 5 / sqrt(25.333)
    expect(pearson([1, 2, 3], [2, 4, 7])).toBeCloseTo(5 / Math.sqrt(2 * (38 / 3)), 14)
    expect(pearson([1, 2, 3], [-2, -4, -6])).toBeCloseTo(-1, 14)
    expect(pearson([1, 1], [1, 2])).toBeNaN()
  })
  it('bad input is an INPUT_INVALID NasError', () => {
    expectInputInvalid(() => pearson([1, 2], [Number.NaN, 1]))
  })
  test.prop([
    fc.array(fc.tuple(fc.integer({ min: -50, max: 50 }), fc.integer({ min: -50, max: 50 })), {
      minLength: 2,
    }),
  ])('is symmetric, in [-1, 1] and invariant to positive affine maps', (pairs) => {
    const x = pairs.map(([a]) => a)
    const y = pairs.map(([, b]) => b)
    const r = pearson(x, y)
    if (Number.isNaN(r)) return
    expect(Math.abs(r)).toBeLessThanOrEqual(1)
    expect(pearson(y, x)).toBeCloseTo(r, 12)
    expect(
      pearson(
        x.map((v) => 3 * v + 7),
        y,
      ),
    ).toBeCloseTo(r, 12)
  })
})

describe('topKOverlap (top = largest)', () => {
  it('hand-checked values', () => {
    expect(topKOverlap([4, 3, 2, 1], [4, 1, 3, 2], 2)).toBe(0.5)
    expect(topKOverlap([4, 3, 2, 1], [4, 3, 2, 1], 3)).toBe(1)
    expect(topKOverlap([4, 3, 2, 1], [1, 2, 3, 4], 2)).toBe(0)
    expect(topKOverlap([4, 3, 2, 1], [1, 2, 3, 4], 4)).toBe(1)
    // ties at the cut go to the lower index: top-1 of y = [5, 5, 0] is index 0
    expect(topKOverlap([1, 9, 0], [5, 5, 0], 1)).toBe(0)
  })
  it('k must be an integer in 1..n', () => {
    expectInputInvalid(() => topKOverlap([1, 2], [1, 2], 0))
    expectInputInvalid(() => topKOverlap([1, 2], [1, 2], 3))
    expectInputInvalid(() => topKOverlap([1, 2], [1, 2], 1.5))
  })
  test.prop([pairsArb, fc.nat()])('equals a set-based count', ([x, y], kSeed) => {
    const n = x.length
    const k = (kSeed % n) + 1
    const top = (v: number[]): Set<number> =>
      new Set(
        v
          .map((val, i) => ({ val, i }))
          .sort((a, b) => b.val - a.val || a.i - b.i)
          .slice(0, k)
          .map((e) => e.i),
      )
    const tx = top(x)
    const ty = top(y)
    expect(topKOverlap(x, y, k)).toBe([...tx].filter((i) => ty.has(i)).length / k)
  })
})
