/**
 * A small limited-memory BFGS minimiser (Nocedal and Wright 2006, algorithm 7.4) with a backtracking
 * Armijo line search, for the handful of GP hyperparameters. A non-finite objective (e.g. a failed
 * Cholesky factorisation) makes the line search step back.
 * @internal
 */
export function lbfgs(
  fg: (x: Float64Array) => { f: number; g: Float64Array },
  x0: Float64Array,
  opts: { maxIterations: number; memory?: number; gradTolerance?: number },
): { x: Float64Array; f: number; iterations: number } {
  const m = opts.memory ?? 6
  const tol = opts.gradTolerance ?? 1e-5
  const n = x0.length
  let x = Float64Array.from(x0)
  let cur = fg(x)
  if (!Number.isFinite(cur.f)) return { x, f: cur.f, iterations: 0 }
  const S: Float64Array[] = []
  const Y: Float64Array[] = []
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0
    for (let i = 0; i < n; i++) s += a[i]! * b[i]!
    return s
  }
  let it = 0
  for (; it < opts.maxIterations; it++) {
    const g = cur.g
    if (Math.sqrt(dot(g, g)) < tol) break
    // Two-loop recursion for the direction d = -H g.
    const q = Float64Array.from(g)
    const alphas = new Float64Array(S.length)
    for (let k = S.length - 1; k >= 0; k--) {
      const rho = 1 / dot(Y[k]!, S[k]!)
      const a = rho * dot(S[k]!, q)
      alphas[k] = a
      for (let i = 0; i < n; i++) q[i]! -= a * Y[k]![i]!
    }
    const last = S.length - 1
    const gamma =
      last >= 0 ? dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!) : 1 / Math.max(1, Math.sqrt(dot(g, g)))
    for (let i = 0; i < n; i++) q[i]! *= gamma
    for (let k = 0; k < S.length; k++) {
      const rho = 1 / dot(Y[k]!, S[k]!)
      const b = rho * dot(Y[k]!, q)
      for (let i = 0; i < n; i++) q[i]! += S[k]![i]! * (alphas[k]! - b)
    }
    const d = q.map((v) => -v)
    let slope = dot(g, d)
    if (!(slope < 0)) {
      // Not a descent direction: restart from steepest descent.
      S.length = 0
      Y.length = 0
      for (let i = 0; i < n; i++) d[i] = -g[i]!
      slope = dot(g, d)
    }
    let step = 1
    let next: { f: number; g: Float64Array } | undefined
    let xn = x
    for (let ls = 0; ls < 30; ls++) {
      xn = x.map((v, i) => v + step * d[i]!)
      const trial = fg(xn)
      if (Number.isFinite(trial.f) && trial.f <= cur.f + 1e-4 * step * slope) {
        next = trial
        break
      }
      step *= 0.5
    }
    if (!next) break
    const s = xn.map((v, i) => v - x[i]!)
    const yv = next.g.map((v, i) => v - g[i]!)
    if (dot(s, yv) > 1e-12) {
      S.push(s)
      Y.push(yv)
      if (S.length > m) {
        S.shift()
        Y.shift()
      }
    }
    const improvement = cur.f - next.f
    x = xn
    cur = next
    if (improvement < 1e-9 * Math.max(1, Math.abs(cur.f))) break
  }
  return { x, f: cur.f, iterations: it }
}
