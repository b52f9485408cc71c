import { NasError } from './errors.js'

/**
 * Checks a set of objective vectors: every point has the same number (>= 1) of objectives and no
 * coordinate is NaN. Returns the number of objectives (0 for an empty set).
 * @internal
 */
export function checkPoints(points: readonly ArrayLike<number>[], what = 'points'): number {
  const raw: unknown = points
  if (!Array.isArray(raw)) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `${what} must be an array of objective vectors, got ${typeof points}`,
      value: points,
    })
  }
  if (points.length === 0) return 0
  const m = points[0]?.length ?? 0
  if (m < 1) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `${what}[0] has no objectives; every point needs at least one`,
      value: points[0],
      path: [0],
    })
  }
  for (let i = 0; i < points.length; i++) {
    const p = points[i]
    if (p === undefined || p === null || typeof p.length !== 'number') {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `${what}[${i}] is not an objective vector`,
        value: p,
        path: [i],
      })
    }
    if (p.length !== m) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `${what}[${i}] has ${p.length} objectives but ${what}[0] has ${m}; all points need the same number`,
        value: p,
        allowed: [m],
        path: [i],
      })
    }
    for (let j = 0; j < m; j++) {
      const v = p[j]
      if (typeof v !== 'number' || Number.isNaN(v)) {
        throw new NasError({
          code: 'INPUT_INVALID',
          message: `${what}[${i}][${j}] is ${String(v)}; objective values must be numbers (not NaN)`,
          value: v,
          path: [i, j],
        })
      }
    }
  }
  return m
}

/** Copies points into one row-major Float64Array of `n * m` values. @internal */
export function flatten(points: readonly ArrayLike<number>[], m: number): Float64Array {
  const out = new Float64Array(points.length * m)
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!
    for (let j = 0; j < m; j++) out[i * m + j] = p[j]!
  }
  return out
}

/** Checks a numeric sample for the rank metrics: array-like, finite numbers. @internal */
export function checkSample(x: ArrayLike<number>, name: string): void {
  if (x === null || typeof x !== 'object' || typeof x.length !== 'number') {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `${name} must be an array of numbers, got ${x === null ? 'null' : typeof x}`,
      value: x,
    })
  }
  for (let i = 0; i < x.length; i++) {
    const v = x[i]
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `${name}[${i}] is ${String(v)}; values must be finite numbers (NaN and infinities are rejected)`,
        value: v,
        path: [i],
      })
    }
  }
}

/** Checks two paired samples: same length, at least two pairs, finite numbers. @internal */
export function checkPairs(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkSample(x, 'x')
  checkSample(y, 'y')
  if (x.length !== y.length) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `x and y must have the same length, got ${x.length} and ${y.length}`,
      value: [x.length, y.length],
    })
  }
  if (x.length < 2) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `a rank correlation needs at least 2 pairs, got ${x.length}`,
      value: x.length,
    })
  }
  return x.length
}
