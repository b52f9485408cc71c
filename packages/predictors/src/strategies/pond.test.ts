import { Rng } from '@nasjs/core'
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { pondSelection, probNonDominated2 } from './linas.js'

/** Non-dominated, sorted by the first objective (so the second descends). */
const front = (pts: [number, number][]) => {
  const sorted = pts.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const out: [number, number][] = []
  for (const p of sorted) if (out.length === 0 || p[1] < out[out.length - 1]![1]) out.push(p)
  return out
}

describe('probNonDominated2', () => {
  it('is 1 or 0 for certain points off or on the dominated side', () => {
    const f = front([
      [0, 1],
      [1, 0],
    ])
    expect(probNonDominated2([0.5, 0.5], [0, 0], f)).toBe(1)
    expect(probNonDominated2([2, 2], [0, 0], f)).toBe(0)
    expect(probNonDominated2([-1, 5], [0, 0], f)).toBe(1)
    expect(probNonDominated2([3, 3], [1, 1], [])).toBe(1)
  })

  test.prop(
    [
      fc.array(
        fc.tuple(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true })),
        {
          minLength: 1,
          maxLength: 6,
        },
      ),
      fc.tuple(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true })),
      fc.tuple(
        fc.double({ min: 0.05, max: 1.5, noNaN: true }),
        fc.double({ min: 0.05, max: 1.5, noNaN: true }),
      ),
    ],
    { numRuns: 25 },
  )('agrees with Monte Carlo sampling', (pts, m, s) => {
    const f = front(pts)
    const rng = new Rng(7)
    const n = 20000
    let free = 0
    for (let t = 0; t < n; t++) {
      const x = [rng.normal(m[0], s[0]), rng.normal(m[1], s[1])]
      if (!f.some((q) => q[0] <= x[0]! && q[1] <= x[1]!)) free++
    }
    expect(Math.abs(probNonDominated2(m, s, f) - free / n)).toBeLessThan(0.02)
  })
})

describe('pondSelection', () => {
  it('takes the likeliest non-dominated candidate first and spreads the batch along the front', () => {
    const c = (hash: string, f: number[], s: number[]) => ({ arch: hash, hash, f, s })
    const measured = [
      [0, 2],
      [2, 0],
    ]
    const picked = pondSelection(
      measured,
      [
        c('behind', [3, 3], [0.1, 0.1]),
        c('gap', [1, 1], [0.1, 0.1]),
        c('twin', [1.01, 1.01], [0.1, 0.1]), // nearly the same as 'gap'
        c('edge', [-1, 4], [0.1, 0.1]),
      ],
      2,
    ).map((x) => x.hash)
    expect(picked[0]).toBe('gap')
    // once 'gap' joins the front, its twin is likely dominated; the edge is not
    expect(picked[1]).toBe('edge')
  })
})
