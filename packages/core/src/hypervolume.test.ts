import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { NasError } from './errors.js'
import { hypervolume, hypervolumeContributions } from './hypervolume.js'
import { Rng } from './rng.js'
import { gridHypervolume } from './testing-internal/brute.js'

const expectNasError = (fn: () => unknown): void => {
  let caught: unknown
  try {
    fn()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(NasError)
  expect((caught as NasError).code).toBe('INPUT_INVALID')
}

/** Integer points in [0, r], some on or beyond the reference so that ignoring them is exercised. */
const intPoints = (m: number, r: number, maxLength: number): fc.Arbitrary<number[][]> =>
  fc.array(fc.array(fc.integer({ min: 0, max: r }), { minLength: m, maxLength: m }), { maxLength })

describe('hypervolume: hand-checked values', () => {
  it('1-D, 2-D, 3-D and 4-D', () => {
    expect(hypervolume([[2], [3]], [5])).toBe(3)
    expect(
      hypervolume(
        [
          [1, 3],
          [2, 2],
          [3, 1],
        ],
        [4, 4],
      ),
    ).toBe(6)
    expect(hypervolume([[1, 1, 1]], [2, 3, 4])).toBe(6)
    // two boxes [0,2]x[0,1]x[0,1] and [0,1]x[0,2]x[0,1] in a [2,2,2] reference: 2 + 2 - 1 = 3 (z from 1 to 2)
    expect(
      hypervolume(
        [
          [0, 1, 1],
          [1, 0, 1],
        ],
        [2, 2, 2],
      ),
    ).toBe(3)
    expect(hypervolume([[0, 0, 0, 0]], [1, 2, 3, 4])).toBe(24)
    // two 4-D boxes of volume 8 overlapping in a 1x1x2x2 = 4 box (in a 2^4 reference)
    expect(
      hypervolume(
        [
          [0, 1, 0, 0],
          [1, 0, 0, 0],
        ],
        [2, 2, 2, 2],
      ),
    ).toBe(8 + 8 - 4)
  })
  it('ignores points that do not strictly dominate the reference, dominated points and duplicates', () => {
    expect(
      hypervolume(
        [
          [1, 3],
          [4, 0],
          [0, 4],
          [5, 5],
        ],
        [4, 4],
      ),
    ).toBe(3)
    expect(
      hypervolume(
        [
          [1, 1],
          [2, 2],
          [1, 1],
          [1, 3],
        ],
        [4, 4],
      ),
    ).toBe(9)
    expect(
      hypervolume(
        [
          [1, 1, 1],
          [2, 2, 2],
          [1, 1, 1],
          [1, 1, 3],
        ],
        [3, 3, 3],
      ),
    ).toBe(8)
    expect(hypervolume([], [1, 1])).toBe(0)
  })
  it('rejects mismatched dimensions, NaN and a non-finite reference', () => {
    expectNasError(() => hypervolume([[1, 2, 3]], [4, 4]))
    expectNasError(() => hypervolume([[1, Number.NaN]], [4, 4]))
    expectNasError(() => hypervolume([[1, 2]], [4, Number.POSITIVE_INFINITY]))
    expectNasError(() => hypervolume([[1, 2]], []))
    expectNasError(() => hypervolume([[Number.NEGATIVE_INFINITY, 2]], [4, 4]))
    expect(
      hypervolume(
        [
          [Number.POSITIVE_INFINITY, 2],
          [1, 1],
        ],
        [4, 4],
      ),
    ).toBe(9)
  })
})

describe('hypervolume equals a brute-force grid count on small integer cases', () => {
  test.prop([intPoints(2, 8, 25), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 })])(
    '2-D (sweep)',
    (ps, r0, r1) => {
      expect(hypervolume(ps, [r0, r1])).toBe(gridHypervolume(ps, [r0, r1]))
    },
  )
  test.prop([intPoints(3, 6, 25), fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 3, maxLength: 3 })])(
    '3-D (HV3D sweep)',
    (ps, ref) => {
      expect(hypervolume(ps, ref)).toBe(gridHypervolume(ps, ref))
    },
  )
  test.prop([intPoints(4, 5, 14), fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 4, maxLength: 4 })], {
    numRuns: 60,
  })('4-D (WFG)', (ps, ref) => {
    expect(hypervolume(ps, ref)).toBe(gridHypervolume(ps, ref))
  })
  test.prop([intPoints(5, 3, 10), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 5, maxLength: 5 })], {
    numRuns: 30,
  })('5-D (WFG)', (ps, ref) => {
    expect(hypervolume(ps, ref)).toBe(gridHypervolume(ps, ref))
  })
})

describe('hypervolume is monotone', () => {
  test.prop([
    fc.integer({ min: 2, max: 4 }).chain((m) =>
      fc.tuple(
        fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: m, maxLength: m }), {
          maxLength: 20,
        }),
        fc.array(fc.double({ min: 0, max: 1.2, noNaN: true }), { minLength: m, maxLength: m }),
      ),
    ),
  ])('adding a point never decreases it', ([ps, extra]) => {
    const ref = extra.map(() => 1)
    const before = hypervolume(ps, ref)
    const after = hypervolume([...ps, extra], ref)
    expect(after).toBeGreaterThanOrEqual(before - 1e-12)
  })
})

describe('3-D and WFG agree with each other on random real fronts', () => {
  it('a 3-D set lifted to 4-D with a constant fourth objective has the same hypervolume (times the depth)', () => {
    const rng = new Rng(5)
    const ps = Array.from({ length: 200 }, () => [rng.uniform(), rng.uniform(), rng.uniform()])
    const hv3 = hypervolume(ps, [1, 1, 1])
    const hv4 = hypervolume(
      ps.map((p) => [...p, 0.5]),
      [1, 1, 1, 2],
    )
    expect(hv4).toBeCloseTo(hv3 * 1.5, 10)
  })
})

describe('hypervolumeContributions', () => {
  it('hand-checked 2-D and 3-D values', () => {
    expect(
      Array.from(
        hypervolumeContributions(
          [
            [1, 3],
            [2, 2],
            [3, 1],
          ],
          [4, 4],
        ),
      ),
    ).toEqual([1, 1, 1])
    expect(
      Array.from(
        hypervolumeContributions(
          [
            [1, 1],
            [2, 2],
            [1, 1],
            [5, 0],
          ],
          [4, 4],
        ),
      ),
    ).toEqual([0, 0, 0, 0])
    expect(
      Array.from(
        hypervolumeContributions(
          [
            [0, 1, 1],
            [1, 0, 1],
          ],
          [2, 2, 2],
        ),
      ),
    ).toEqual([1, 1])
  })
  test.prop([intPoints(3, 5, 12)])('equal to leaving one point out', (ps) => {
    const ref = [5, 5, 5]
    const c = hypervolumeContributions(ps, ref)
    const total = hypervolume(ps, ref)
    ps.forEach((_, i) => {
      expect(c[i]).toBe(total - hypervolume(ps.slice(0, i).concat(ps.slice(i + 1)), ref))
    })
  })
})
