/**
 * Brute-force reference implementations used only by tests and benchmarks (not exported, not built).
 * Each follows the textbook definition directly, with no cleverness.
 */

const sign = (v: number): number => (v > 0 ? 1 : v < 0 ? -1 : 0)

/** Kendall tau-b by enumerating all n(n-1)/2 pairs. */
export function bruteKendallTau(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length
  let s = 0
  let n0 = 0
  let tx = 0
  let ty = 0
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      n0++
      const a = sign(x[i]! - x[j]!)
      const b = sign(y[i]! - y[j]!)
      s += a * b
      if (a === 0) tx++
      if (b === 0) ty++
    }
  }
  const d = Math.sqrt((n0 - tx) * (n0 - ty))
  return d === 0 ? Number.NaN : s / d
}

/** Average ranks by counting, for each value, how many are smaller and how many equal. */
export function bruteAverageRanks(x: ArrayLike<number>): number[] {
  const n = x.length
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    let less = 0
    let equal = 0
    for (let j = 0; j < n; j++) {
      if (x[j]! < x[i]!) less++
      else if (x[j] === x[i]) equal++
    }
    out.push(less + (equal + 1) / 2)
  }
  return out
}

/** Spearman rho as the textbook Pearson formula on average ranks, computed naively. */
export function bruteSpearmanRho(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const rx = bruteAverageRanks(x)
  const ry = bruteAverageRanks(y)
  const n = rx.length
  const mx = rx.reduce((s, v) => s + v, 0) / n
  const my = ry.reduce((s, v) => s + v, 0) / n
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < n; i++) {
    sxy += (rx[i]! - mx) * (ry[i]! - my)
    sxx += (rx[i]! - mx) ** 2
    syy += (ry[i]! - my) ** 2
  }
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy)
}

function naiveDominates(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  let strictly = false
  for (let j = 0; j < a.length; j++) {
    if (a[j]! > b[j]!) return false
    if (a[j]! < b[j]!) strictly = true
  }
  return strictly
}

/** Deb et al.'s (2002) fast non-dominated sort, O(M N^2), as printed in the NSGA-II paper. */
export function debFastNonDominatedSort(points: readonly ArrayLike<number>[]): number[][] {
  const n = points.length
  const dominatedSets: number[][] = Array.from({ length: n }, () => [])
  const count = new Int32Array(n)
  const fronts: number[][] = [[]]
  for (let p = 0; p < n; p++) {
    for (let q = p + 1; q < n; q++) {
      if (naiveDominates(points[p]!, points[q]!)) {
        dominatedSets[p]!.push(q)
        count[q]!++
      } else if (naiveDominates(points[q]!, points[p]!)) {
        dominatedSets[q]!.push(p)
        count[p]!++
      }
    }
  }
  for (let p = 0; p < n; p++) if (count[p] === 0) fronts[0]!.push(p)
  let i = 0
  while (fronts[i]!.length > 0) {
    const next: number[] = []
    for (const p of fronts[i]!) {
      for (const q of dominatedSets[p]!) {
        count[q]!--
        if (count[q] === 0) next.push(q)
      }
    }
    i++
    fronts.push(next.sort((a, b) => a - b))
  }
  fronts.pop()
  return n === 0 ? [] : fronts
}

/**
 * Hypervolume of integer points by counting unit cells: cell `c` (the box `[c, c+1]`) lies in the
 * dominated region iff some point `p` has `p <= c` componentwise. Only for small integer boxes.
 */
export function gridHypervolume(
  points: readonly (readonly number[])[],
  reference: readonly number[],
): number {
  const m = reference.length
  const lower = reference.map((_, j) => Math.min(reference[j]!, ...points.map((p) => p[j]!)))
  let count = 0
  const c = lower.slice()
  const rec = (j: number): void => {
    if (j === m) {
      if (points.some((p) => p.every((v, t) => v <= c[t]!))) count++
      return
    }
    for (let v = lower[j]!; v < reference[j]!; v++) {
      c[j] = v
      rec(j + 1)
    }
  }
  rec(0)
  return count
}
