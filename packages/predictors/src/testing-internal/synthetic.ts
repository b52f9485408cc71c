import { Rng, kendallTau } from '@nasjs/core'

/** A random binary design with a sparse linear-plus-interaction target and a little noise. */
export function syntheticBinary(
  n: number,
  d: number,
  seed: number,
  noise = 0.05,
): { X: number[][]; y: number[] } {
  const rng = new Rng(seed)
  const w = Array.from({ length: d }, (_, j) => (j % 3 === 0 ? 1 + (j % 5) * 0.3 : j % 3 === 1 ? -0.5 : 0.1))
  const X: number[][] = []
  const y: number[] = []
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: d }, () => (rng.bernoulli(0.4) ? 1 : 0))
    let t = 0
    for (let j = 0; j < d; j++) t += w[j]! * x[j]!
    t += 0.8 * x[0]! * x[1]!
    X.push(x)
    y.push(t + rng.normal(0, noise))
  }
  return { X, y }
}

/** A smooth 1-D function sampled on [0, 1]. */
export function synthetic1d(n: number, seed: number): { X: number[][]; y: number[] } {
  const rng = new Rng(seed)
  const X: number[][] = []
  const y: number[] = []
  for (let i = 0; i < n; i++) {
    const x = rng.uniform()
    X.push([x])
    y.push(Math.sin(6 * x) + 0.02 * rng.normal())
  }
  return { X, y }
}

export const tau = (a: ArrayLike<number>, b: ArrayLike<number>): number => kendallTau(a, b)

export function rmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2
  return Math.sqrt(s / a.length)
}
