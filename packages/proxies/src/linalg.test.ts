import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { corrcoef, slogdet, symmetricEigenvalues } from './linalg.js'

const sym = (n: number, v: number[]) => {
  const a = new Float64Array(n * n)
  let k = 0
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = v[k++ % v.length]!
  return a
}

describe('linalg', () => {
  it('slogdet of known matrices', () => {
    expect(slogdet(Float64Array.from([2, 0, 0, 3]), 2)).toEqual([1, Math.log(6)])
    const [s, l] = slogdet(Float64Array.from([0, 1, 1, 0]), 2)
    expect(s).toBe(-1)
    expect(l).toBeCloseTo(0, 12)
    expect(slogdet(Float64Array.from([1, 2, 2, 4]), 2)).toEqual([0, -Infinity])
  })

  test.prop([
    fc.integer({ min: 1, max: 7 }),
    fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 40 }),
  ])('eigenvalues of a symmetric matrix sum to its trace and multiply to its determinant', (n, v) => {
    const a = sym(n, v)
    const ev = symmetricEigenvalues(a, n)
    let trace = 0
    for (let i = 0; i < n; i++) trace += a[i * n + i]!
    expect(ev.reduce((p, x) => p + x, 0)).toBeCloseTo(trace, 6)
    const [sign, logdet] = slogdet(a, n)
    const prod = ev.reduce((p, x) => p * x, 1)
    const det = sign === 0 ? 0 : sign * Math.exp(logdet)
    expect(Math.abs(det - prod)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(prod)))
    for (let i = 1; i < n; i++) expect(ev[i]!).toBeGreaterThanOrEqual(ev[i - 1]!)
  })

  it('corrcoef is numpy.corrcoef over rows', () => {
    const c = corrcoef(Float64Array.from([1, 2, 3, 2, 4, 6, 3, 2, 1]), 3, 3)
    expect([...c].map((x) => Math.round(x * 1e12) / 1e12)).toEqual([1, 1, -1, 1, 1, -1, -1, -1, 1])
  })
})
