import { bench, describe } from 'vitest'
import { hypervolume } from './hypervolume.js'
import { nonDominatedSort } from './pareto.js'
import { Rng } from './rng.js'
import { debFastNonDominatedSort } from './testing-internal/brute.js'

const rng = new Rng(2026)
const cube = (n: number, m: number): number[][] =>
  Array.from({ length: n }, () => Array.from({ length: m }, () => rng.uniform()))

const points10k3 = cube(10_000, 3)
const points10k2 = cube(10_000, 2)
const points2k3 = cube(2_000, 3)

/** 1,000 mutually non-dominated points on the positive unit sphere (minimisation, reference 1.1). */
const sphereFront = Array.from({ length: 1_000 }, () => {
  const v = [Math.abs(rng.normal()), Math.abs(rng.normal()), Math.abs(rng.normal())]
  const norm = Math.hypot(v[0]!, v[1]!, v[2]!)
  return v.map((x) => x / norm)
})
const sphere4 = Array.from({ length: 100 }, () => {
  const v = [0, 0, 0, 0].map(() => Math.abs(rng.normal()))
  const norm = Math.hypot(...v)
  return v.map((x) => x / norm)
})

describe('non-dominated sort, 10,000 uniform random points', () => {
  bench('nonDominatedSort, 3 objectives (ENS-BS)', () => {
    nonDominatedSort(points10k3)
  })
  bench('nonDominatedSort, 2 objectives (O(n log n) sweep)', () => {
    nonDominatedSort(points10k2)
  })
})

describe('non-dominated sort vs Deb et al. 2002 O(M N^2), 2,000 points x 3 objectives', () => {
  bench('nonDominatedSort (ENS-BS)', () => {
    nonDominatedSort(points2k3)
  })
  bench('Deb fast non-dominated sort (reference)', () => {
    debFastNonDominatedSort(points2k3)
  })
})

describe('hypervolume', () => {
  bench('3-D front of 1,000 points (HV3D sweep)', () => {
    hypervolume(sphereFront, [1.1, 1.1, 1.1])
  })
  bench('4-D front of 100 points (WFG)', () => {
    hypervolume(sphere4, [1.1, 1.1, 1.1, 1.1])
  })
})
