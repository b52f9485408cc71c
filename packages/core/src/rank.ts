import { NasError } from './errors.js'
import { checkPairs, checkSample } from './input-checks.js'

/**
 * Ranks 1..n with ties given their average rank (the "fractional" ranking): `[10, 20, 20, 5]` ->
 * `[2, 3.5, 3.5, 1]`. Smallest value gets rank 1. NaN and infinities give a `NasError`
 * (`INPUT_INVALID`).
 *
 * @example
 * ```ts
 * averageRanks([10, 20, 20, 5]) // Float64Array [2, 3.5, 3.5, 1]
 * ```
 * @since 0.1.0
 * @category rank metrics
 */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  checkSample(x, 'x')
  const n = x.length
  const xv = Float64Array.from(x)
  const order = new Int32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  order.sort((a, b) => xv[a]! - xv[b]!)
  const ranks = new Float64Array(n)
  let i = 0
  while (i < n) {
    let j = i + 1
    while (j < n && xv[order[j]!] === xv[order[i]!]) j++
    const r = (i + 1 + j) / 2 // average of ranks i+1..j
    for (let t = i; t < j; t++) ranks[order[t]!] = r
    i = j
  }
  return ranks
}

/**
 * Pearson's linear correlation coefficient. Returns `NaN` when either sample is constant (the
 * coefficient is undefined). Mismatched lengths, fewer than 2 pairs, NaN or infinite values give a
 * `NasError` (`INPUT_INVALID`).
 *
 * @example
 * ```ts
 * pearson([1, 2, 3], [2, 4, 7]) // 0.9933...
 * ```
 * @since 0.1.0
 * @category rank metrics
 */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = checkPairs(x, y)
  return pearsonUnchecked(x, y, n)
}

function pearsonUnchecked(x: ArrayLike<number>, y: ArrayLike<number>, n: number): number {
  let mx = 0
  let my = 0
  for (let i = 0; i < n; i++) {
    mx += x[i]!
    my += y[i]!
  }
  mx /= n
  my /= n
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx
    const dy = y[i]! - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  if (sxx === 0 || syy === 0) return Number.NaN
  const r = sxy / Math.sqrt(sxx * syy)
  return Math.max(-1, Math.min(1, r))
}

/**
 * Spearman's rank correlation with ties: Pearson's coefficient of the {@link averageRanks} of `x`
 * and `y`. Returns `NaN` when either sample is constant. Errors as {@link pearson}.
 *
 * @example
 * ```ts
 * spearmanRho([1, 2, 3, 4], [10, 30, 20, 40]) // 0.8
 * ```
 * @since 0.1.0
 * @category rank metrics
 */
export function spearmanRho(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = checkPairs(x, y)
  return pearsonUnchecked(averageRanks(x), averageRanks(y), n)
}

/**
 * Kendall's tau-b, which corrects for ties:
 * `(concordant - discordant) / sqrt((n0 - n1) (n0 - n2))` with `n0 = n(n-1)/2` and `n1`, `n2` the
 * pairs tied in `x`, in `y`. Computed in O(n log n) with Knight's (1966) algorithm: sort the pairs by
 * `x` then `y`, count the tied pairs, then count discordant pairs as the swaps of a merge sort by `y`.
 *
 * Returns `NaN` when either sample is constant (every pair tied; tau-b is undefined). Mismatched
 * lengths, fewer than 2 pairs, NaN or infinite values give a `NasError` (`INPUT_INVALID`).
 *
 * @example
 * ```ts
 * kendallTau([1, 2, 3, 4], [10, 30, 20, 40]) // 0.666... (5 concordant, 1 discordant)
 * ```
 * @since 0.1.0
 * @category rank metrics
 */
export function kendallTau(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = checkPairs(x, y)
  // monomorphic typed copies keep the comparator fast for any ArrayLike input
  const xv = Float64Array.from(x)
  const yv = Float64Array.from(y)
  const order = new Int32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  order.sort((a, b) => xv[a]! - xv[b]! || yv[a]! - yv[b]!)
  const xs = new Float64Array(n)
  const ys = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    xs[i] = xv[order[i]!]!
    ys[i] = yv[order[i]!]!
  }

  // pairs tied in x (n1) and tied in both x and y (n3)
  let n1 = 0
  let n3 = 0
  let i = 0
  while (i < n) {
    let j = i + 1
    while (j < n && xs[j] === xs[i]) j++
    n1 += ((j - i) * (j - i - 1)) / 2
    let s = i
    for (let t = i + 1; t <= j; t++) {
      if (t === j || ys[t] !== ys[s]) {
        n3 += ((t - s) * (t - s - 1)) / 2
        s = t
      }
    }
    i = j
  }

  // discordant pairs = swaps of a stable merge sort of ys (pairs tied in x are already in y order)
  const swaps = mergeSortCountSwaps(ys)

  // ys is now sorted: pairs tied in y (n2)
  let n2 = 0
  i = 0
  while (i < n) {
    let j = i + 1
    while (j < n && ys[j] === ys[i]) j++
    n2 += ((j - i) * (j - i - 1)) / 2
    i = j
  }

  const n0 = (n * (n - 1)) / 2
  const denom = Math.sqrt((n0 - n1) * (n0 - n2))
  if (denom === 0) return Number.NaN
  const tau = (n0 - n1 - n2 + n3 - 2 * swaps) / denom
  return Math.max(-1, Math.min(1, tau))
}

/** Sorts `a` in place (bottom-up merge sort) and returns the number of inversions (i < j, a[i] > a[j]). */
function mergeSortCountSwaps(a: Float64Array): number {
  const n = a.length
  let src: Float64Array = a
  let dst: Float64Array = new Float64Array(n)
  let swaps = 0
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n)
      const hi = Math.min(lo + 2 * width, n)
      let l = lo
      let r = mid
      let k = lo
      while (l < mid && r < hi) {
        if (src[r]! < src[l]!) {
          dst[k++] = src[r++]!
          swaps += mid - l
        } else dst[k++] = src[l++]!
      }
      while (l < mid) dst[k++] = src[l++]!
      while (r < hi) dst[k++] = src[r++]!
    }
    const t = src
    src = dst
    dst = t
  }
  if (src !== a) a.set(src)
  return swaps
}

/**
 * Top-k overlap: the fraction of the `k` items with the **largest** `x` values that are also among
 * the `k` items with the largest `y` values (so with `x` = true accuracy and `y` = predicted score,
 * how many of the truly best `k` the predictor also ranks in its top `k`). Ties at the cut are broken
 * by the lower index. Returns a value in `[0, 1]`. `k` must be an integer in `1..n`; otherwise, and
 * for mismatched lengths, fewer than 2 pairs, NaN or infinite values, a `NasError` (`INPUT_INVALID`).
 * To rank by smallest values (e.g. losses), negate the inputs.
 *
 * @example
 * ```ts
 * topKOverlap([4, 3, 2, 1], [4, 1, 3, 2], 2) // 0.5: top-2 by x is {0, 1}, by y {0, 2}
 * ```
 * @since 0.1.0
 * @category rank metrics
 */
export function topKOverlap(x: ArrayLike<number>, y: ArrayLike<number>, k: number): number {
  const n = checkPairs(x, y)
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `k is ${String(k)}; expected an integer in 1..${n}`,
      value: k,
      allowed: [`1..${n}`],
    })
  }
  const topBy = (v: ArrayLike<number>): Int32Array => {
    const order = new Int32Array(n)
    for (let i = 0; i < n; i++) order[i] = i
    order.sort((a, b) => v[b]! - v[a]! || a - b)
    return order.subarray(0, k)
  }
  const inY = new Uint8Array(n)
  for (const i of topBy(y)) inY[i] = 1
  let hits = 0
  for (const i of topBy(x)) hits += inY[i]!
  return hits / k
}
