import { NasError } from './errors.js'
import type { Metrics } from './evaluation.js'
import { checkPoints } from './input-checks.js'
import { toMinimization } from './objectives.js'
import { totalViolation } from './search-rules.js'
import type { Constraint, Objective } from './objectives.js'

/**
 * Pareto dominance for minimisation: `a` dominates `b` when `a` is no worse in every objective and
 * strictly better in at least one. Equal vectors do not dominate each other.
 *
 * @example
 * ```ts
 * dominates([1, 2], [2, 2]) // true
 * dominates([1, 3], [2, 2]) // false (a trade-off)
 * ```
 * @since 0.1.0
 * @category pareto
 */
export function dominates(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `cannot compare a ${a.length}-objective vector with a ${b.length}-objective vector`,
      value: [a.length, b.length],
    })
  }
  let strictly = false
  for (let j = 0; j < a.length; j++) {
    const x = a[j]!
    const y = b[j]!
    if (x > y) return false
    if (x < y) strictly = true
  }
  return strictly
}

function checkViolation(v: number, name: string): void {
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `${name} is ${String(v)}; a constraint violation is a number >= 0 (0 means feasible)`,
      value: v,
    })
  }
}

/**
 * Constrained domination (Deb, Pratap, Agarwal and Meyarivan 2002, NSGA-II): with total
 * constraint violations `violationA`, `violationB` (0 = feasible),
 * 1. a feasible solution dominates an infeasible one;
 * 2. of two infeasible solutions, the one with the strictly smaller violation dominates
 *    (equal violations: neither dominates);
 * 3. of two feasible solutions, ordinary Pareto {@link dominates}.
 *
 * @example
 * ```ts
 * constrainedDominates([9, 9], [1, 1], 0, 0.5) // true: feasible beats infeasible
 * ```
 * @since 0.1.0
 * @category pareto
 */
export function constrainedDominates(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  violationA: number,
  violationB: number,
): boolean {
  checkViolation(violationA, 'violationA')
  checkViolation(violationB, 'violationB')
  const fa = violationA === 0
  const fb = violationB === 0
  if (fa && fb) return dominates(a, b)
  if (fa) return true
  if (fb) return false
  return violationA < violationB
}

/**
 * Options of {@link nonDominatedSort}.
 * @since 0.1.0
 * @category pareto
 */
export interface NonDominatedSortOptions {
  /**
   * Total constraint violation per point (0 = feasible, `> 0` infeasible). When given, sorting uses
   * {@link constrainedDominates}: all feasible points come first (sorted by Pareto dominance), then
   * the infeasible points in fronts of equal violation, smallest first.
   */
  readonly violations?: ArrayLike<number>
}

/**
 * Sorts points (minimisation vectors) into non-dominated fronts, as NSGA-II's fast non-dominated
 * sort does (Deb et al. 2002): front 0 holds the points no other point dominates, front 1 those
 * dominated only by front 0, and so on. Returns the fronts as lists of indices into `points`
 * (ascending within each front); equal points share a front.
 *
 * Algorithms (same result as Deb's O(M N^2) procedure, faster):
 * - 1 objective: a sort, O(N log N);
 * - 2 objectives: lexicographic sort plus a binary search over the fronts' last members, O(N log N);
 * - 3+ objectives: Efficient Non-dominated Sort with binary search (ENS-BS, Zhang, Tian, Cheng and
 *   Jin 2015) on a row-major `Float64Array`: O(M N^2) in the worst case, about O(M N sqrt(N)) on
 *   random data; 10,000 points in 3 objectives take a few tens of milliseconds (see the README).
 *
 * @example
 * ```ts
 * nonDominatedSort([[1, 4], [2, 2], [3, 3], [4, 1], [5, 5]]) // [[0, 1, 3], [2], [4]]
 * ```
 * @since 0.1.0
 * @category pareto
 */
export function nonDominatedSort(
  points: readonly ArrayLike<number>[],
  opts: NonDominatedSortOptions = {},
): number[][] {
  const m = checkPoints(points)
  const n = points.length
  if (n === 0) return []
  const v = opts.violations
  if (v === undefined) return sortIndices(points, m, allIndices(n))
  if (v.length !== n) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `violations has ${v.length} entries but there are ${n} points`,
      value: v.length,
      allowed: [n],
    })
  }
  const feasible: number[] = []
  const infeasible: number[] = []
  for (let i = 0; i < n; i++) {
    const vi = v[i]!
    checkViolation(vi, `violations[${i}]`)
    if (vi === 0) feasible.push(i)
    else infeasible.push(i)
  }
  const fronts = feasible.length > 0 ? sortIndices(points, m, feasible) : []
  infeasible.sort((a, b) => v[a]! - v[b]! || a - b)
  let k = 0
  while (k < infeasible.length) {
    const front = [infeasible[k]!]
    const vk = v[infeasible[k]!]!
    k++
    while (k < infeasible.length && v[infeasible[k]!] === vk) front.push(infeasible[k++]!)
    front.sort((a, b) => a - b)
    fronts.push(front)
  }
  return fronts
}

function allIndices(n: number): number[] {
  const idx = new Array<number>(n)
  for (let i = 0; i < n; i++) idx[i] = i
  return idx
}

/** Sorts the points `subset` (indices into `points`) into fronts. */
function sortIndices(points: readonly ArrayLike<number>[], m: number, subset: readonly number[]): number[][] {
  const n = subset.length
  const flat = new Float64Array(n * m)
  for (let i = 0; i < n; i++) {
    const p = points[subset[i]!]!
    for (let j = 0; j < m; j++) flat[i * m + j] = p[j]!
  }
  const local = m === 1 ? sort1(flat, n) : m === 2 ? sort2(flat, n) : sortEnsBs(flat, n, m)
  return local.map((front) => front.map((i) => subset[i]!).sort((a, b) => a - b))
}

/** Indices 0..n-1 in lexicographic order of their rows (ties by index, so the order is stable). */
function lexOrder(flat: Float64Array, n: number, m: number): Int32Array {
  const order = new Int32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  // comparisons, not subtraction: Infinity - Infinity would be NaN and break the order
  return order.sort((a, b) => {
    const oa = a * m
    const ob = b * m
    for (let j = 0; j < m; j++) {
      const u = flat[oa + j]!
      const v = flat[ob + j]!
      if (u < v) return -1
      if (u > v) return 1
    }
    return a - b
  })
}

function sort1(flat: Float64Array, n: number): number[][] {
  const order = lexOrder(flat, n, 1)
  const fronts: number[][] = []
  let prev = Number.NaN
  for (const i of order) {
    if (flat[i] !== prev) fronts.push([])
    fronts[fronts.length - 1]!.push(i)
    prev = flat[i]!
  }
  return fronts
}

/**
 * Two objectives. In lexicographic order, the members of a front have non-increasing f2, so a front
 * dominates the next point q exactly when its last member does; and if front k dominates q, so does
 * every earlier front. A binary search finds q's front.
 */
function sort2(flat: Float64Array, n: number): number[][] {
  const order = lexOrder(flat, n, 2)
  const fronts: number[][] = []
  const lastF1: number[] = []
  const lastF2: number[] = []
  for (const q of order) {
    const x = flat[2 * q]!
    const y = flat[2 * q + 1]!
    let lo = 0
    let hi = fronts.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const ly = lastF2[mid]!
      if (ly < y || (ly === y && lastF1[mid]! < x)) lo = mid + 1
      else hi = mid
    }
    if (lo === fronts.length) {
      fronts.push([q])
      lastF1.push(x)
      lastF2.push(y)
    } else {
      fronts[lo]!.push(q)
      lastF1[lo] = x
      lastF2[lo] = y
    }
  }
  return fronts
}

/**
 * ENS-BS. Points are visited in lexicographic order, so no later point can dominate an earlier one;
 * each point goes to the first front none of whose members dominates it (binary search, valid
 * because domination by front k implies domination by front k-1). Members are compared newest
 * first, as those are the closest in the sort order.
 */
function sortEnsBs(flat: Float64Array, n: number, m: number): number[][] {
  const order = lexOrder(flat, n, m)
  const fronts: number[][] = []
  const dominatedByFront = (front: number[], q: number): boolean => {
    const oq = q * m
    for (let t = front.length - 1; t >= 0; t--) {
      const op = front[t]! * m
      // p precedes q lexicographically, so p dominates q iff p <= q componentwise and p != q.
      let le = true
      let strict = false
      for (let j = 0; j < m; j++) {
        const a = flat[op + j]!
        const b = flat[oq + j]!
        if (a > b) {
          le = false
          break
        }
        if (a < b) strict = true
      }
      if (le && strict) return true
    }
    return false
  }
  for (const q of order) {
    let lo = 0
    let hi = fronts.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (dominatedByFront(fronts[mid]!, q)) lo = mid + 1
      else hi = mid
    }
    if (lo === fronts.length) fronts.push([q])
    else fronts[lo]!.push(q)
  }
  return fronts
}

/**
 * Indices of the non-dominated points (the first front of {@link nonDominatedSort}), ascending.
 *
 * @example
 * ```ts
 * paretoFront([[1, 4], [2, 2], [3, 3]]) // [0, 1]
 * ```
 * @since 0.1.0
 * @category pareto
 */
export function paretoFront(points: readonly ArrayLike<number>[]): number[] {
  return nonDominatedSort(points)[0] ?? []
}

/**
 * NSGA-II crowding distance (Deb et al. 2002) of the points `front` (indices into `points`, usually
 * one front). For each objective the front is sorted; the two boundary points get `Infinity` and each
 * inner point adds the gap between its neighbours divided by the objective's range (an objective with
 * zero range adds 0 to inner points). Fronts of one or two points are all `Infinity`. The result is
 * aligned with `front`: `result[k]` belongs to `points[front[k]]`.
 *
 * @example
 * ```ts
 * crowdingDistance([[0, 4], [1, 2], [4, 0]], [0, 1, 2]) // Float64Array [Infinity, 2, Infinity]
 * ```
 * @since 0.1.0
 * @category pareto
 */
export function crowdingDistance(
  points: readonly ArrayLike<number>[],
  front: readonly number[],
): Float64Array {
  const m = checkPoints(points)
  const k = front.length
  const dist = new Float64Array(k)
  for (let t = 0; t < k; t++) {
    const i = front[t]
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= points.length) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `front[${t}] is ${String(i)}; expected an index in 0..${points.length - 1}`,
        value: i,
        path: [t],
      })
    }
  }
  if (k <= 2) return dist.fill(Number.POSITIVE_INFINITY)
  const order = new Int32Array(k)
  for (let j = 0; j < m; j++) {
    for (let t = 0; t < k; t++) order[t] = t
    const val = (t: number): number => points[front[t]!]![j]!
    order.sort((a, b) => val(a) - val(b) || a - b)
    const lo = val(order[0]!)
    const hi = val(order[k - 1]!)
    dist[order[0]!] = Number.POSITIVE_INFINITY
    dist[order[k - 1]!] = Number.POSITIVE_INFINITY
    const range = hi - lo
    if (!(range > 0) || !Number.isFinite(range)) continue
    for (let t = 1; t < k - 1; t++) {
      dist[order[t]!]! += (val(order[t + 1]!) - val(order[t - 1]!)) / range
    }
  }
  return dist
}

/**
 * Options of {@link paretoFrontOfMetrics}.
 * @since 0.1.0
 * @category pareto
 */
export interface ParetoFrontOfMetricsOptions {
  /** Constraints; when given, Deb's constrained domination is used (see {@link nonDominatedSort}). */
  readonly constraints?: readonly Constraint[]
}

/**
 * The indices of the Pareto-optimal items among metric records, for directed objectives (each item
 * is turned into a minimisation vector with {@link toMinimization}). With constraints, the first
 * front under Deb's constrained domination: the feasible non-dominated items, or if no item is
 * feasible, the items with the smallest total violation.
 *
 * @example
 * ```ts
 * const items = [{ acc: 90, params: 3 }, { acc: 92, params: 5 }, { acc: 89, params: 4 }]
 * paretoFrontOfMetrics(items, [{ name: 'acc', direction: 'max' }, { name: 'params', direction: 'min' }]) // [0, 1]
 * ```
 * @since 0.1.0
 * @category pareto
 */
export function paretoFrontOfMetrics(
  items: readonly Readonly<Metrics>[],
  objectives: readonly Objective[],
  opts: ParetoFrontOfMetricsOptions = {},
): number[] {
  if (objectives.length === 0) {
    throw new NasError({
      code: 'OBJECTIVE_INVALID',
      message: 'paretoFrontOfMetrics needs at least one objective',
      value: objectives,
    })
  }
  const points = items.map((it) => toMinimization(objectives, it))
  const cs = opts.constraints
  if (cs === undefined || cs.length === 0) return paretoFront(points)
  // the one missing-metric rule (search-rules.ts): a missing constraint metric is an unbounded violation
  const violations = items.map((it) => totalViolation(cs, it))
  return nonDominatedSort(points, { violations })[0] ?? []
}
