import { NasError } from './errors.js'
import { checkPoints } from './input-checks.js'

/**
 * The hypervolume (S-metric) of a set of minimisation vectors: the Lebesgue measure of the region
 * dominated by the points and bounded by `reference`. Points that do not strictly dominate the
 * reference (some coordinate `>= reference`, `+Infinity` included) add nothing and are ignored;
 * dominated points and duplicates are handled (they add nothing either). NaN, a non-finite reference,
 * mismatched dimensions, or a point inside the box with a `-Infinity` coordinate (infinite volume)
 * give a `NasError` (`INPUT_INVALID`).
 *
 * Exact methods:
 * - 1 objective: `reference - min`;
 * - 2 objectives: sort + sweep, O(n log n);
 * - 3 objectives: the dimension-sweep algorithm HV3D (Fonseca, Paquete and López-Ibáñez 2006;
 *   Beume et al. 2009): sweep along the third objective keeping the 2-D staircase of the points seen
 *   so far and its area up to date; O(n log n) comparisons (a sorted array holds the staircase, so
 *   insertions move O(n) elements in the worst case);
 * - 4+ objectives: WFG (While, Bradstreet and Barone 2012): the sum of exclusive hypervolumes, each
 *   the point's box minus the hypervolume of the later points limited to that box, recursing until
 *   three objectives remain. Exponential in the number of objectives in the worst case.
 *
 * @example
 * ```ts
 * hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) // 6
 * ```
 * @since 0.1.0
 * @category pareto
 */
export function hypervolume(points: readonly ArrayLike<number>[], reference: ArrayLike<number>): number {
  const m = checkReference(points, reference)
  const ref = Float64Array.from({ length: m }, (_, j) => reference[j]!)
  const kept = strictlyInside(points, ref)
  return hvRows(kept, ref)
}

/**
 * The exclusive contribution of each point: `hypervolume(points) - hypervolume(points without i)`.
 * Dominated points, duplicates of another point and points outside the reference box contribute 0.
 * Computed by leaving each point out in turn, so it costs `n + 1` hypervolume computations.
 *
 * @example
 * ```ts
 * hypervolumeContributions([[1, 3], [2, 2], [3, 1]], [4, 4]) // Float64Array [1, 1, 1]
 * ```
 * @since 0.1.0
 * @category pareto
 */
export function hypervolumeContributions(
  points: readonly ArrayLike<number>[],
  reference: ArrayLike<number>,
): Float64Array {
  const m = checkReference(points, reference)
  const ref = Float64Array.from({ length: m }, (_, j) => reference[j]!)
  const out = new Float64Array(points.length)
  const inside: number[] = []
  for (let i = 0; i < points.length; i++) if (isInside(points[i]!, ref)) inside.push(i)
  const rows = inside.map((i) => Float64Array.from({ length: m }, (_, j) => points[i]![j]!))
  const total = hvRows(rows, ref)
  for (let t = 0; t < rows.length; t++) {
    const rest = rows.slice(0, t).concat(rows.slice(t + 1))
    out[inside[t]!] = Math.max(0, total - hvRows(rest, ref))
  }
  return out
}

function checkReference(points: readonly ArrayLike<number>[], reference: ArrayLike<number>): number {
  if (reference === null || typeof reference !== 'object' || typeof reference.length !== 'number') {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: 'the hypervolume reference point must be an array of numbers',
      value: reference,
    })
  }
  const m = reference.length
  if (m < 1) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: 'the reference point has no objectives',
      value: reference,
    })
  }
  for (let j = 0; j < m; j++) {
    const r = reference[j]
    if (typeof r !== 'number' || !Number.isFinite(r)) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `reference[${j}] is ${String(r)}; the reference point must be finite`,
        value: r,
        path: [j],
      })
    }
  }
  const pm = checkPoints(points)
  if (points.length > 0 && pm !== m) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the points have ${pm} objectives but the reference point has ${m}`,
      value: pm,
      allowed: [m],
    })
  }
  return m
}

function isInside(p: ArrayLike<number>, ref: Float64Array): boolean {
  for (let j = 0; j < ref.length; j++) if (!(p[j]! < ref[j]!)) return false
  for (let j = 0; j < ref.length; j++) {
    if (p[j] === Number.NEGATIVE_INFINITY) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `a point inside the reference box has coordinate ${j} = -Infinity, which makes the hypervolume infinite; use finite values`,
        value: Array.from(p),
        path: [j],
      })
    }
  }
  return true
}

function strictlyInside(points: readonly ArrayLike<number>[], ref: Float64Array): Float64Array[] {
  const m = ref.length
  const out: Float64Array[] = []
  for (const p of points) {
    if (isInside(p, ref)) out.push(Float64Array.from({ length: m }, (_, j) => p[j]!))
  }
  return out
}

/** Hypervolume of rows that all strictly dominate `ref`. */
function hvRows(rows: Float64Array[], ref: Float64Array): number {
  const m = ref.length
  if (rows.length === 0) return 0
  if (m === 1) {
    let best = Number.POSITIVE_INFINITY
    for (const r of rows) best = Math.min(best, r[0]!)
    return ref[0]! - best
  }
  if (m === 2) return hv2(rows, ref[0]!, ref[1]!)
  if (m === 3) return hv3(rows, ref)
  return wfg(nonDominated(rows), ref)
}

function hv2(rows: Float64Array[], r0: number, r1: number): number {
  const sorted = rows.slice().sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!)
  let area = 0
  let bestY = r1
  for (const p of sorted) {
    const y = p[1]!
    if (y < bestY) {
      area += (r0 - p[0]!) * (bestY - y)
      bestY = y
    }
  }
  return area
}

/**
 * HV3D sweep: points in ascending third objective; the staircase (x ascending, y strictly descending)
 * of the points seen so far and its area w.r.t. (r0, r1) are maintained; between consecutive third
 * coordinates the volume grows by area x height.
 */
function hv3(rows: Float64Array[], ref: Float64Array): number {
  const r0 = ref[0]!
  const r1 = ref[1]!
  const r2 = ref[2]!
  const sorted = rows.slice().sort((a, b) => a[2]! - b[2]!)
  const xs: number[] = []
  const ys: number[] = []
  let area = 0
  let volume = 0
  let prevZ = sorted[0]![2]!
  for (const p of sorted) {
    const z = p[2]!
    volume += area * (z - prevZ)
    prevZ = z
    const x = p[0]!
    const y = p[1]!
    // first staircase index with xs >= x
    let lo = 0
    let hi = xs.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (xs[mid]! < x) lo = mid + 1
      else hi = mid
    }
    if (lo > 0 && ys[lo - 1]! <= y) continue // dominated by the left neighbour
    if (lo < xs.length && xs[lo] === x && ys[lo]! <= y) continue // dominated by or equal to a point
    const yLeft = lo > 0 ? ys[lo - 1]! : r1
    // remove the points p dominates (x' >= x, y' >= y): contiguous from lo
    let end = lo
    while (end < xs.length && ys[end]! >= y) {
      const xRight = end + 1 < xs.length ? xs[end + 1]! : r0
      area -= (xRight - xs[end]!) * (yLeft - ys[end]!)
      end++
    }
    xs.splice(lo, end - lo, x)
    ys.splice(lo, end - lo, y)
    const xRight = lo + 1 < xs.length ? xs[lo + 1]! : r0
    area += (xRight - x) * (yLeft - y)
  }
  volume += area * (r2 - prevZ)
  return volume
}

/** Removes dominated points and duplicates (rows already inside the reference box). */
function nonDominated(rows: Float64Array[]): Float64Array[] {
  const m = rows[0]?.length ?? 0
  const sorted = rows.slice().sort((a, b) => {
    for (let j = 0; j < m; j++) {
      const d = a[j]! - b[j]!
      if (d !== 0) return d
    }
    return 0
  })
  const out: Float64Array[] = []
  for (const q of sorted) {
    let dominatedOrEqual = false
    for (const p of out) {
      // p precedes q lexicographically; p <= q componentwise means p dominates or equals q
      let le = true
      for (let j = 1; j < m; j++) {
        if (p[j]! > q[j]!) {
          le = false
          break
        }
      }
      if (le) {
        dominatedOrEqual = true
        break
      }
    }
    if (!dominatedOrEqual) out.push(q)
  }
  return out
}

/**
 * WFG on a non-dominated set: sorted by the last objective (worst first) so that the limited sets
 * stay small; hv = sum over i of (box(p_i) - hv(limit(p_{i+1..n}, p_i))).
 */
function wfg(rows: Float64Array[], ref: Float64Array): number {
  const m = ref.length
  if (rows.length === 0) return 0
  if (m <= 3) return hvRows(rows, ref)
  const sorted = rows.slice().sort((a, b) => b[m - 1]! - a[m - 1]!)
  let total = 0
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i]!
    let box = 1
    for (let j = 0; j < m; j++) box *= ref[j]! - p[j]!
    const limited: Float64Array[] = []
    for (let t = i + 1; t < sorted.length; t++) {
      const q = sorted[t]!
      const w = new Float64Array(m)
      for (let j = 0; j < m; j++) w[j] = Math.max(p[j]!, q[j]!)
      limited.push(w)
    }
    total += box - wfg(nonDominated(limited), ref)
  }
  return total
}
